/* SPDX-License-Identifier: MIT */
/* Task instances that wait for inputs, and which ones: an arrival costs a lookup, not a check */
#pragma once

#include "manager.h"

/*
 * A cache over the targets, never the truth: the scheduler checks every input on disk before
 * a start, a full evaluation (a scan) records an instance afresh, a deleted input drops the
 * instances that read it, and a reload drops everything.
 */

/* Instance id of task waits for inputs[k] at locations[k] (k < n, both taken, freed here). */
int waiting_record(Manager *m, Task *task, const char *id, Target **inputs, char **locations,
                   size_t n);
/*
 * Input t at location arrived for instance id of task: -ENOENT when the instance is not known
 * to wait, else how many inputs it still waits for; at 0 it is forgotten.
 */
int waiting_arrived(Manager *m, Task *task, const char *id, const Target *t, const char *location);
void waiting_forget(Manager *m, Task *task, const char *id);
bool waiting_has(Manager *m, const Task *task, const char *id);
/* How many instances wait: for the log and the tests. */
size_t waiting_count(Manager *m);
void waiting_clear(Manager *m);
