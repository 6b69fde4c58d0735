/* SPDX-License-Identifier: MIT */
/*
 * The index from a task instance to its still-missing inputs. Without it every arrival would
 * check every input of the instances it feeds, and an instance reading a week of hourly files
 * would check up to 168 of them at each of its 168 arrivals; with it an arrival strikes one
 * location off a short list, and the inputs are checked once more, by the scheduler, before
 * the start. Keyed by task and instance id; the missing inputs of one instance are few enough
 * (and shrink as they arrive) that a list serves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"
#include "util/hash.h"
#include "waiting.h"

struct Waiting {
        char *key;              /* task pointer and instance id */
        Task *task;
        Binding *binding;
        MissingInput *missing;
        size_t n;
        UT_hash_handle hh;
};

static void missing_free(MissingInput *missing, size_t n) {
        for (size_t k = 0; k < n; k++)
                free(missing[k].location);
        free(missing);
}

static char *key_of(const Task *task, const char *id) {
        char *key = NULL;

        return asprintf(&key, "%p\t%s", (const void *) task, id) < 0 ? NULL : key;
}

Waiting *waiting_find(Manager *m, const Task *task, const char *id) {
        _cleanup_free_ char *key = m->waiting ? key_of(task, id) : NULL;
        Waiting *w = NULL;

        if (key)
                HASH_FIND_STR(m->waiting, key, w);
        return w;
}

static void waiting_free(Manager *m, Waiting *w) {
        HASH_DEL(m->waiting, w);
        missing_free(w->missing, w->n);
        binding_free(w->binding);
        free(w->key);
        free(w);
}

int waiting_record(Manager *m, Task *task, const char *id, const Binding *b,
                   MissingInput *missing, size_t n) {
        Waiting *w;

        waiting_forget(m, task, id);
        w = calloc(1, sizeof(Waiting));
        if (!w || !(w->key = key_of(task, id)) || binding_copy(b, &w->binding) < 0) {
                if (w)
                        free(w->key);
                free(w);
                missing_free(missing, n);
                return -ENOMEM;
        }
        w->task = task;
        w->missing = missing;
        w->n = n;
        HASH_ADD_KEYPTR(hh, m->waiting, w->key, strlen(w->key), w);
        return 0;
}

size_t waiting_strike(Manager *m, Waiting *w, const Target *t, const char *location) {
        size_t n;

        /* The same target may be read twice (two mappings): every match goes. */
        for (size_t k = 0; k < w->n;)
                if (w->missing[k].target == t && streq(w->missing[k].location, location)) {
                        /* In order, so that `list` names the first one still to come. */
                        free(w->missing[k].location);
                        memmove(&w->missing[k], &w->missing[k + 1],
                                (--w->n - k) * sizeof(MissingInput));
                } else
                        k++;
        n = w->n;
        if (n == 0)
                waiting_free(m, w);
        return n;
}

void waiting_forget(Manager *m, const Task *task, const char *id) {
        Waiting *w = waiting_find(m, task, id);

        if (w)
                waiting_free(m, w);
}

int waiting_foreach(Manager *m, waiting_func f, void *userdata) {
        Waiting *w, *tmp;

        HASH_ITER(hh, m->waiting, w, tmp) {
                int r = f(m, w->task, strchr(w->key, '\t') + 1, w->binding, w->missing, w->n,
                          userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

int waiting_foreach_shown(Manager *m, const Task *task, waiting_shown_func f, void *userdata) {
        Waiting *w, *tmp;

        HASH_ITER(hh, m->waiting, w, tmp) {
                _cleanup_free_ char *unit = NULL, *reason = NULL;
                int r;

                if (task && w->task != task)
                        continue;
                if (task_unit_name(w->task, strchr(w->key, '\t') + 1, &unit) < 0)
                        return -ENOMEM;
                if (manager_find_instance(m, unit) ||
                    evaluate_outputs_complete(w->task, w->binding))
                        continue;
                if (asprintf(&reason, "%zu input(s) not there yet: %s%s", w->n,
                             w->missing[0].location, w->n > 1 ? ", ..." : "") < 0)
                        return -ENOMEM;
                r = f(w->task, unit, w->binding, reason, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

void waiting_clear(Manager *m) {
        Waiting *w, *tmp;

        HASH_ITER(hh, m->waiting, w, tmp)
                waiting_free(m, w);
}

void waiting_drop_pipeline(Manager *m, const Pipeline *p) {
        Waiting *w, *tmp;

        HASH_ITER(hh, m->waiting, w, tmp)
                if (w->task->pipeline == p)
                        waiting_free(m, w);
}
