/* SPDX-License-Identifier: MIT */
/*
 * Outputs that went without an event of their own: a directory of them moved away whole
 * (mv out/2026-11-01 /trash/). The kernel reports the directory only, and nothing keeps a list
 * of the files a directory held, so the instances that wrote into it are found from the other
 * end: the producer's inputs are scanned, and each instance they feed that lies below the
 * directory is checked as if its output had been deleted by hand. Moves in a burst are checked
 * together, once a second at most, since a scan costs what the inputs hold; so is what reads the
 * target, which a rescan of it checks again (inputs can go with a directory too).
 */
#include <stdlib.h>

#include "evaluate.h"
#include "log.h"
#include "outputs-gone.h"
#include "util/hash.h"
#include "util/time-util.h"

#define GONE_MIN_INTERVAL USEC_PER_SEC

typedef struct Checked {
        char *id;
        UT_hash_handle hh;
} Checked;

typedef struct GoneScan {
        Manager *manager;
        Target *output;
        Checked *checked;       /* instances decided on in this pass */
} GoneScan;

/* Whether instance b lies at or below the directory partial stands for. */
static bool below(const Binding *b, const Binding *partial) {
        for (size_t k = 0; k < partial->n; k++) {
                const char *v = binding_get(b, partial->entries[k].name);

                if (v && !streq(v, partial->entries[k].value))
                        return false;
        }
        return true;
}

static bool below_any(const Target *t, const Binding *b) {
        for (size_t k = 0; k < t->n_gone_below; k++)
                if (below(b, t->gone_below[k]))
                        return true;
        return false;
}

/* Once per instance in a pass: a fan-in finds it through each of its inputs. */
static bool first_time(GoneScan *g, Task *task, const Binding *b) {
        _cleanup_free_ char *id = NULL;
        Checked *c;

        if (task_instance_id(task, b, &id) < 0)
                return true;
        HASH_FIND_STR(g->checked, id, c);
        if (c)
                return false;
        c = calloc(1, sizeof(*c));
        if (!c)
                return true;
        c->id = TAKE_PTR(id);
        HASH_ADD_KEYPTR(hh, g->checked, c->id, strlen(c->id), c);
        return true;
}

static int gone_one(Target *in, const Binding *b, void *userdata) {
        GoneScan *g = userdata;
        Task *task = g->output->producer;

        for (size_t k = 0; k < task->n_inputs; k++) {
                _cleanup_(bindings_freep) Binding **l = NULL;

                if (task->inputs[k].target != in || task_instances_from_input(task, k, b, &l) < 0)
                        continue;
                for (Binding **tb = l; *tb; tb++) {
                        int r;

                        if (!below_any(g->output, *tb) || !first_time(g, task, *tb))
                                continue;
                        r = evaluate_output_gone(g->manager, task, *tb);
                        if (r < 0)
                                log_warning_errno(r, "Cannot evaluate task '%s', ignoring: %m",
                                                  task->name);
                }
        }
        return 0;
}

static int on_gone_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Target *t = userdata;
        Manager *m = container_of(t->host, Manager, host);
        GoneScan g = { .manager = m, .output = t };
        Task *task = t->producer;
        Checked *c, *tmp;

        /* The timer is the target's, and goes with it: the target is started here. */
        evaluate_rescan(&m->host, t, 0);
        if (!task || task->n_inputs == 0)
                goto done;
        log_info("Directories of output '%s' of task '%s' were moved away (%zu); checking its "
                 "instances under them", t->name, task->name, t->n_gone_below);
        target_host_scan_begin(&m->host);
        for (size_t k = 0; k < task->n_inputs; k++) {
                Target *in = task->inputs[k].target;
                bool done = false;
                int r;

                for (size_t j = 0; j < k; j++)
                        done = done || task->inputs[j].target == in;
                if (done || !in->kind->scan)
                        continue;
                r = in->kind->scan(in, gone_one, &g);
                if (r < 0)
                        log_warning_errno(r, "Cannot scan target '%s': %m", in->name);
        }
        target_host_scan_end(&m->host);
        HASH_ITER(hh, g.checked, c, tmp) {
                HASH_DEL(g.checked, c);
                free(c->id);
                free(c);
        }
done:
        target_gone_below_clear(t);
        t->gone_checked = now_usec(CLOCK_MONOTONIC);
        return 0;
}

void evaluate_gone_below(TargetHost *h, Target *t, const Binding *partial) {
        Binding *copy, **l;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        int r;

        l = reallocarray(t->gone_below, t->n_gone_below + 1, sizeof(Binding *));
        if (!l || binding_copy(partial, &copy) < 0) {
                if (l)
                        t->gone_below = l;
                log_oom();
                return;
        }
        t->gone_below = l;
        t->gone_below[t->n_gone_below++] = copy;
        if (t->gone_timer)
                return;         /* a check is due: it takes this one too */
        r = sd_event_add_time(h->event, &t->gone_timer, CLOCK_MONOTONIC,
                              MAX(now, t->gone_checked + GONE_MIN_INTERVAL), 0, on_gone_timer, t);
        if (r < 0) {
                log_warning_errno(r, "Cannot schedule the check of moved-away outputs, checking "
                                     "now: %m");
                (void) on_gone_timer(NULL, 0, t);
        }
}
