/* SPDX-License-Identifier: MIT */
/*
 * Evaluation: every event is a hint. For each task that reads the target, the inverse of the
 * input's mapping names the task instance concerned, and that one instance is checked against
 * the targets themselves (outputs present? inputs present?) before anything is queued. The
 * cost is per consumer of the target that changed, never per instance of the graph, and a
 * lost, repeated or reordered event can delay nothing and duplicate nothing. An instance that
 * still misses inputs is kept in waiting.c with the ones it misses, so that each arrival
 * strikes one off instead of checking them all again (a fan-in of n inputs: n checks, not n²).
 */
#include <string.h>
#include <utlist.h>

#include "evaluate.h"
#include "log.h"
#include "scheduler.h"
#include "util/escape.h"
#include "util/strv.h"
#include "waiting.h"

/* Luigi's rule: complete when every output exists; with rerun = "newer", make's: and none is
 * older than an input. */
bool evaluate_outputs_complete(Task *task, const Binding *b) {
        usec_t newest = task->rerun_newer ? task_newest_input(task, b, NULL) : 0;

        for (size_t i = 0; i < task->n_outputs; i++) {
                _cleanup_free_ char *loc = NULL;
                Target *t = task->outputs[i];
                usec_t m;

                if (task_output_location(task, i, b, &loc) < 0 || !evaluate_target_exists(t, loc))
                        return false;
                if (task->rerun_newer && t->kind->mtime && t->kind->mtime(t, loc, &m) >= 0 &&
                    m < newest)
                        return false;
        }
        return true;
}

bool evaluate_inputs_exist(Task *task, const Binding *b, char **ret_missing) {
        for (size_t i = 0; i < task->n_inputs; i++) {
                _cleanup_strv_free_ char **locs = NULL;
                Target *t = task->inputs[i].target;

                if (task_input_locations(task, i, b, &locs) < 0) {
                        if (ret_missing)
                                *ret_missing = NULL;
                        return false;
                }
                STRV_FOREACH(l, locs) {
                        char why[TARGET_PENDING_MAX];
                        const char *pending;

                        if (evaluate_target_exists(t, *l))
                                continue;
                        if (!ret_missing)
                                return false;
                        pending = target_pending(t, *l, why, sizeof(why));
                        if (asprintf(ret_missing, "input '%s' at '%s' %s%s",
                                     task->inputs[i].name, *l,
                                     pending ? "does not count yet: " : "is not there",
                                     pending ?: "") < 0)
                                *ret_missing = NULL;
                        return false;
                }
        }
        if (ret_missing)
                *ret_missing = NULL;
        return true;
}

/* 1 there, 0 not, <0 not known: an error checking, logged. */
static int check_target(Target *t, const char *location) {
        int r = t->kind->check(t, location);

        if (r < 0)
                log_warning_errno(r, "Cannot check target '%s' at '%s', taking it as missing: %m",
                                  t->name, location);
        return r;
}

static int missing_add(MissingInput **missing, size_t *n, Target *t, const char *location) {
        MissingInput *a = reallocarray(*missing, *n + 1, sizeof(MissingInput));

        if (!a)
                return -ENOMEM;
        *missing = a;
        a[*n] = (MissingInput){ .target = t, .location = strdup(location) };
        if (!a[*n].location)
                return -ENOMEM;
        (*n)++;
        return 0;
}

/*
 * Checks every input; 1 when all are there. Otherwise records the instance as waiting for the
 * ones that are missing, and returns 0; an input that could not be checked is not known to be
 * missing, so then nothing is recorded and the next arrival checks everything again.
 */
static int inputs_ready(Manager *m, Task *task, const Binding *b, const char *id) {
        MissingInput *missing = NULL;
        bool unsure = false;
        size_t n = 0;
        int r = 0;

        for (size_t k = 0; k < task->n_inputs && r >= 0; k++) {
                _cleanup_strv_free_ char **locs = NULL;
                Target *t = task->inputs[k].target;

                r = task_input_locations(task, k, b, &locs);
                for (char **l = locs; r >= 0 && l && *l; l++) {
                        int e = check_target(t, *l);

                        unsure = unsure || e < 0;
                        if (e <= 0)
                                r = missing_add(&missing, &n, t, *l);
                }
        }
        if (r >= 0 && n > 0 && !unsure) {
                /* A task without parameters has one instance, whose id is empty. */
                log_debug("%s%s of task '%s' misses %zu input(s)",
                          id[0] ? "Instance " : "The instance", id, task->name, n);
                r = waiting_record(m, task, id, b, missing, n);    /* takes them */
                return r < 0 ? r : 0;
        }
        if (r >= 0)
                waiting_forget(m, task, id);
        for (size_t k = 0; k < n; k++)
                free(missing[k].location);
        free(missing);
        return r < 0 ? r : n == 0;
}

bool evaluate_target_exists(Target *t, const char *location) {
        return check_target(t, location) > 0;
}

bool evaluate_outside_lookback(const Task *task, const Binding *b) {
        int64_t t;

        return task->lookback > 0 && task_instance_time(task, b, &t) >= 0 &&
               t < (int64_t) now_usec(CLOCK_REALTIME) - (int64_t) task->lookback;
}

/* A scan passes over history: out of the look-back window, or complete. */
static bool scan_passes_over(Task *task, const Binding *b) {
        return evaluate_outside_lookback(task, b) || evaluate_outputs_complete(task, b);
}

/* The instances one scan has decided on already. */
typedef struct Seen {
        char *key;              /* task pointer and instance id */
        bool fresh;             /* decided on as an arrival (a file changed while events were
                                 * lost), which a later file cannot add to */
        UT_hash_handle hh;
} Seen;

typedef struct Hint {
        Target *target;
        Seen **seen;            /* a scan's: an instance found through several of its files
                                 * (a fan-in, a range) is decided once, not once per file */
        const char *location;   /* an arrival there, or NULL: a scan's full check */
        bool fresh;
        int present;            /* whether the arrival is there: -1 until checked, once */
        /* A scan for lost events: when what it found changed (CLOCK_REALTIME), 0 for an
         * event. A file older than an instance's last run is no news to it. */
        usec_t changed;
} Hint;

/*
 * An arrival for a waiting instance: 1 when it was the last input the instance waited for, 0
 * when it waits for more, -ENOENT when it is not known to wait (or the arrival is not there
 * after all: a hint is checked before it counts, once for all the instances it feeds).
 */
static int arrived(Manager *m, Task *task, const char *id, Hint *h) {
        Waiting *w = h && h->location ? waiting_find(m, task, id) : NULL;
        size_t n;

        if (!w)
                return -ENOENT;
        if (h->present < 0)
                h->present = evaluate_target_exists(h->target, h->location);
        if (!h->present)
                return -ENOENT;
        n = waiting_strike(m, w, h->target, h->location);
        if (n > 0)
                log_debug("%s%s of task '%s' waits for %zu more input(s)",
                          id[0] ? "Instance " : "The instance", id, task->name, n);
        return n == 0;
}

/* evaluate_instance() for a hint (NULL: no arrival, a full check). */
static int evaluate_instance_at(Manager *m, Task *task, const Binding *b, bool fresh, Hint *h) {
        _cleanup_free_ char *id = NULL, *unit = NULL;
        Instance *i;
        int r;

        /* First, before naming the instance: a scan of 100,000 complete instances is mostly
         * this, and whether one is known does not change the answer for a scan. */
        if (!fresh && scan_passes_over(task, b))
                return 0;
        r = task_instance_id(task, b, &id);
        if (r < 0)
                return r;
        if (h && h->seen) {
                _cleanup_free_ char *key = NULL;
                Seen *s;

                if (asprintf(&key, "%p\t%s", (void *) task, id) < 0)
                        return -ENOMEM;
                HASH_FIND_STR(*h->seen, key, s);
                if (s && (s->fresh || !fresh))
                        return 0;
                if (!s) {
                        s = calloc(1, sizeof(Seen));
                        if (!s)
                                return -ENOMEM;
                        s->key = TAKE_PTR(key);
                        HASH_ADD_KEYPTR(hh, *h->seen, s->key, strlen(s->key), s);
                }
                s->fresh = fresh;
        }
        r = task_unit_name(task, id, &unit);
        if (r < 0)
                return r;

        i = manager_find_instance(m, unit);
        /* In flight under "newer": its outputs will be newer than this input, yet may be made
         * from the version before; it runs again once this run succeeds (executor-end.c). */
        /* (An input's arrival: not an output gone, nor a change a rescan dates before the run;
         * those carry the time of the change in h->changed.) */
        if (i && fresh && task->rerun_newer && !i->changed_in_run && i->run &&
            (i->state == INSTANCE_STARTING || i->state == INSTANCE_RUNNING) &&
            (!h || h->changed == 0 || h->changed > i->run->start_realtime)) {
                log_info("%s: an input changed while it runs; it runs again once this run "
                         "succeeds (rerun = \"newer\")", unit);
                i->changed_in_run = true;
        }
        if (i && i->state != INSTANCE_FAILED && i->state != INSTANCE_RETRY)
                return 0;               /* already queued or in flight */
        if (i && !fresh)
                return 0;               /* failed or waiting: only a new arrival re-arms it */
        if (i && h && h->changed > 0 && h->changed <= i->last_start_realtime)
                return 0;
        if (fresh && evaluate_outputs_complete(task, b)) {
                if (i)
                        manager_remove_instance(m, i);
                waiting_forget(m, task, id);
                return 0;
        }
        /* The last missing input: the scheduler checks them all on disk before the start. */
        r = arrived(m, task, id, h);
        if (r == 0)
                return 0;
        if (r == -ENOENT)
                r = inputs_ready(m, task, b, id);
        if (r <= 0)
                return r;

        if (i)
                log_info("%s is re-armed by a new arrival of one of its inputs", i->unit);
        r = evaluate_enqueue(m, task, b, id, unit, i, &i);
        if (r < 0)
                return r;
        /* The daemon's own share of event-to-start latency is for events, not rescans. */
        i->event_usec = fresh && !(h && h->changed > 0) ? m->host.event_usec : 0;
        return 1;
}

int evaluate_instance(Manager *m, Task *task, const Binding *b, bool fresh) {
        return evaluate_instance_at(m, task, b, fresh, NULL);
}

int evaluate_enqueue(Manager *m, Task *task, const Binding *b, const char *id, const char *unit,
                     Instance *i, Instance **ret) {
        int r;

        if (!i) {
                r = instance_new(task, b, id, unit, &i);
                if (r < 0)
                        return log_oom();
                i->manager = m;
                i->state = INSTANCE_STARTING;   /* untracked until queued below */
                HASH_ADD_KEYPTR(hh, m->instances, i->unit, strlen(i->unit), i);
        } else {
                /* A new series: attempts and a raised limit reset. */
                (void) manager_set_wake(m, i, 0);
                i->attempts = 0;
                i->memory_max = UINT64_MAX;
                i->lost_output = false;
                /* The last series' reason is not this one's (list showed "cancelled" beside
                 * a run of a cancelled instance retried). */
                i->reason = mfree(i->reason);
        }
        i->event_usec = 0;
        i->cancelled = false;
        scheduler_enqueue(m, i);
        if (ret)
                *ret = i;
        return 0;
}

/* Calls f for every task instance that reads t at b. */
static void for_each_reader(Target *t, const Binding *b,
                            void (*f)(Manager *m, Task *task, const Binding *tb, void *userdata),
                            Manager *m, void *userdata) {
        for (size_t c = 0; c < t->n_consumers; c++) {
                Task *task = t->consumers[c];

                for (size_t k = 0; k < task->n_inputs; k++) {
                        _cleanup_(bindings_freep) Binding **l = NULL;
                        int r;

                        if (task->inputs[k].target != t)
                                continue;
                        r = task_instances_from_input(task, k, b, &l);
                        if (r < 0) {
                                log_warning_errno(r, "Cannot map an instance of '%s' to task "
                                                     "'%s', ignoring: %m", t->name, task->name);
                                continue;
                        }
                        for (Binding **tb = l; *tb; tb++)
                                f(m, task, *tb, userdata);
                }
        }
}

static void evaluate_reader(Manager *m, Task *task, const Binding *tb, void *userdata) {
        Hint *h = userdata;
        int r = evaluate_instance_at(m, task, tb, h->fresh, h);

        if (r < 0)
                log_warning_errno(r, "Cannot evaluate task '%s', ignoring: %m", task->name);
}

/* Whether the instance that writes t's instance b is running now, its end not yet taken: a file
 * there meanwhile is not its output (that comes by a rename when the run has succeeded) but one
 * its task wrote in place itself, or someone else; the run's end decides (commit.c). */
static bool producer_running(Manager *m, Target *t, const Binding *b) {
        _cleanup_free_ char *id = NULL, *unit = NULL;
        Instance *i;

        /* Only where the run's end announces its outputs itself (a rename into place, a
         * confirmation): elsewhere (url, command) a poll is the only news of them. */
        if (!t->producer || (!t->kind->commit && !t->kind->confirm) ||
            task_instance_id(t->producer, b, &id) < 0 ||
            task_unit_name(t->producer, id, &unit) < 0)
                return false;
        i = manager_find_instance(m, unit);
        return i && i->run && (i->state == INSTANCE_STARTING || i->state == INSTANCE_RUNNING) &&
               !run_end_taken(i->run);
}

void evaluate_hint(TargetHost *host, Target *t, const Binding *b, bool fresh) {
        Manager *m = container_of(host, Manager, host);
        _cleanup_free_ char *location = NULL;
        Hint h = { .target = t, .fresh = fresh, .present = -1 };

        /* Without its location, an arrival is evaluated in full, which is never wrong. */
        if (template_format(t->template, b, &location) >= 0)
                h.location = location;
        if (producer_running(m, t, b)) {
                log_debug("'%s' of target '%s' changed while the run that writes it runs: its "
                          "end decides", strna(location), t->name);
                return;
        }
        for_each_reader(t, b, evaluate_reader, m, &h);
}

static void forget_reader(Manager *m, Task *task, const Binding *tb, void *userdata) {
        _cleanup_free_ char *id = NULL;

        if (task_instance_id(task, tb, &id) >= 0)
                waiting_forget(m, task, id);
}

void evaluate_gone(TargetHost *host, Target *t, const Binding *b) {
        Manager *m = container_of(host, Manager, host);
        _cleanup_free_ char *location = NULL;
        int r;

        /* An input that went: what waits for more inputs is checked in full at the next
         * arrival, since the one that went counted as there (a queued instance is checked again
         * before it starts). */
        for_each_reader(t, b, forget_reader, m, NULL);
        /* An output went (deleted by hand, moved away): its instance is incomplete again, and
         * under the "missing" rule it runs again if its inputs are still there. */
        if (!t->producer)
                return;
        if (template_format(t->template, b, &location) < 0)
                location = NULL;
        log_info("Output '%s' of task '%s' is gone (%s); evaluating its instance again",
                 t->name, t->producer->name, strna(location));
        r = evaluate_output_gone(m, t->producer, b);
        if (r < 0)
                log_warning_errno(r, "Cannot evaluate task '%s': %m", t->producer->name);
}

int evaluate_output_gone(Manager *m, Task *task, const Binding *b) {
        Hint h = { .fresh = true, .present = -1, .changed = 1 };

        /* An event: acted on past the look-back window, as an arrival is. But no news to an
         * instance that failed (changed at the epoch, before any run of it): only a new input
         * re-arms that. */
        return evaluate_instance_at(m, task, b, true, &h);
}

/* In a rescan for lost events: when b changed, if after they began to be lost; else 0. */
static usec_t changed_after_loss(usec_t lost_since, Target *t, const Binding *b) {
        _cleanup_free_ char *location = NULL;
        usec_t changed;

        if (lost_since == 0 || !t->kind->changed ||
            template_format(t->template, b, &location) < 0 ||
            t->kind->changed(t, location, &changed) < 0)
                return 0;
        return changed >= lost_since ? changed : 0;
}

typedef struct Rescan {
        Manager *manager;
        usec_t lost_since;
        Seen *seen;
} Rescan;

/* A scan, for lost events or at start-up: a full check of what reads each instance found,
 * which also renews what waits; what changed while events were lost is an arrival, as its
 * event would have been. */
static int rescan_one(Target *t, const Binding *b, void *userdata) {
        Rescan *rs = userdata;
        Manager *m = rs->manager;
        Hint h = { .target = t, .present = -1, .seen = &rs->seen,
                   .changed = changed_after_loss(rs->lost_since, t, b) };

        h.fresh = h.changed > 0;
        for_each_reader(t, b, evaluate_reader, m, &h);
        /* An output that exists may be older than its inputs (rerun = "newer"). */
        if (t->producer && t->producer->rerun_newer)
                (void) evaluate_instance(m, t->producer, b, false);
        return 0;
}

void evaluate_rescan(TargetHost *h, Target *t, usec_t lost_since) {
        Rescan rs = { .manager = container_of(h, Manager, host), .lost_since = lost_since };
        Seen *s, *tmp;
        int r;

        /* An output that nothing reads matters to a scan only under make's rule, where it may
         * be older than its inputs: otherwise the scan of the inputs checks it. */
        if (!t->kind->scan || (t->n_consumers == 0 && !(t->producer && t->producer->rerun_newer)))
                return;
        target_host_scan_begin(h);
        r = t->kind->scan(t, rescan_one, &rs);
        target_host_scan_end(h);
        HASH_ITER(hh, rs.seen, s, tmp) {
                HASH_DEL(rs.seen, s);
                free(s->key);
                free(s);
        }
        if (r < 0)
                log_warning_errno(r, "Cannot scan target '%s': %m", t->name);
}
