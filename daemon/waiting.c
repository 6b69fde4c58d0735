/* SPDX-License-Identifier: MIT */
/*
 * The index from a task instance to its still-missing inputs. Without it every arrival would
 * check every input of the instances it feeds, and an instance reading a week of hourly files
 * would check 168 of them for each of its 168 arrivals; with it an arrival strikes one
 * location off a short list, and the inputs are checked once, by the scheduler, before the
 * start. Keyed by task and instance id; the missing inputs of one instance are few enough
 * (and shrink as they arrive) that a list serves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util/hash.h"
#include "util/strv.h"
#include "waiting.h"

typedef struct Waiting {
        char *key;              /* task pointer and instance id */
        Target **inputs;
        char **locations;
        size_t n;
        UT_hash_handle hh;
} Waiting;

static char *key_of(const Task *task, const char *id) {
        char *key = NULL;

        return asprintf(&key, "%p\t%s", (const void *) task, id) < 0 ? NULL : key;
}

static Waiting *find(Manager *m, const Task *task, const char *id) {
        _cleanup_free_ char *key = key_of(task, id);
        Waiting *w = NULL;

        if (key)
                HASH_FIND_STR(m->waiting, key, w);
        return w;
}

static void waiting_free(Manager *m, Waiting *w) {
        HASH_DEL(m->waiting, w);
        for (size_t k = 0; k < w->n; k++)
                free(w->locations[k]);
        free(w->locations);
        free(w->inputs);
        free(w->key);
        free(w);
}

int waiting_record(Manager *m, Task *task, const char *id, Target **inputs, char **locations,
                   size_t n) {
        Waiting *w = find(m, task, id);

        if (w)
                waiting_free(m, w);
        w = calloc(1, sizeof(Waiting));
        if (!w || !(w->key = key_of(task, id))) {
                free(w);
                for (size_t k = 0; k < n; k++)
                        free(locations[k]);
                free(locations);
                free(inputs);
                return -ENOMEM;
        }
        w->inputs = inputs;
        w->locations = locations;
        w->n = n;
        HASH_ADD_KEYPTR(hh, m->waiting, w->key, strlen(w->key), w);
        return 0;
}

int waiting_arrived(Manager *m, Task *task, const char *id, const Target *t, const char *location) {
        Waiting *w = find(m, task, id);
        int n;

        if (!w)
                return -ENOENT;
        /* The same target may be read twice (two mappings): every match goes. */
        for (size_t k = 0; k < w->n;)
                if (w->inputs[k] == t && streq(w->locations[k], location)) {
                        free(w->locations[k]);
                        w->n--;
                        w->inputs[k] = w->inputs[w->n];
                        w->locations[k] = w->locations[w->n];
                } else
                        k++;
        n = (int) w->n;
        if (n == 0)
                waiting_free(m, w);
        return n;
}

bool waiting_has(Manager *m, const Task *task, const char *id) {
        return m->waiting && find(m, task, id);
}

void waiting_forget(Manager *m, Task *task, const char *id) {
        Waiting *w = find(m, task, id);

        if (w)
                waiting_free(m, w);
}

size_t waiting_count(Manager *m) {
        return HASH_COUNT(m->waiting);
}

void waiting_clear(Manager *m) {
        Waiting *w, *tmp;

        HASH_ITER(hh, m->waiting, w, tmp)
                waiting_free(m, w);
}
