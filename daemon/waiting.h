/* SPDX-License-Identifier: MIT */
/* Task instances that wait for inputs, and which ones: an arrival costs a lookup, not a check */
#pragma once

#include "manager.h"

/*
 * A cache over the targets, never the truth: the scheduler checks every input on disk before
 * a start, a full evaluation (a scan) records an instance afresh, a deleted input drops the
 * instances that read it, a queued instance drops its own, and a pipeline a reload replaces
 * drops those of its tasks.
 */

typedef struct MissingInput {
        Target *target;         /* compared, never followed */
        char *location;
} MissingInput;

typedef struct Waiting Waiting;

/* Instance id (binding b) of task waits for missing[0..n) (taken, freed here whatever
 * happens). */
int waiting_record(Manager *m, Task *task, const char *id, const Binding *b,
                   MissingInput *missing, size_t n);
Waiting *waiting_find(Manager *m, const Task *task, const char *id);
/* Input t arrived at location: how many inputs w still waits for; at 0, w is freed. */
size_t waiting_strike(Manager *m, Waiting *w, const Target *t, const char *location);
void waiting_forget(Manager *m, const Task *task, const char *id);
/* Every instance known to wait, for `sluicectl list`; f must not change what waits. */
typedef int (*waiting_func)(Manager *m, Task *task, const char *id, const Binding *b,
                            const MissingInput *missing, size_t n, void *userdata);
int waiting_foreach(Manager *m, waiting_func f, void *userdata);
/* Those of task (NULL: of every task) to show as waiting: the index is a cache, so what has
 * become complete or is acted on meanwhile is left out. unit: the instance's unit name;
 * reason: "N input(s) not there yet: <first>". */
typedef int (*waiting_shown_func)(Task *task, const char *unit, const Binding *b,
                                  const char *reason, void *userdata);
int waiting_foreach_shown(Manager *m, const Task *task, waiting_shown_func f, void *userdata);
void waiting_clear(Manager *m);
/* Before p goes: keyed by task pointer, an entry of a freed task could match a new one. */
void waiting_drop_pipeline(Manager *m, const Pipeline *p);
