/* SPDX-License-Identifier: MIT */
/* From "this target instance may exist now" to "these task instances are ready" */
#pragma once

#include "manager.h"

/* The TargetHost hint callback: level-triggered, idempotent. */
void evaluate_hint(TargetHost *h, Target *t, const Binding *b, bool fresh);
/* The TargetHost gone callback: an instance of t disappeared. */
void evaluate_gone(TargetHost *h, Target *t, const Binding *b);
/* An output of task's instance b went: incomplete again, it runs if its inputs are there. */
int evaluate_output_gone(Manager *m, Task *task, const Binding *b);
/* Whether every input of the instance exists now; if not, and ret_missing is given, which one
 * does not and why, for a message (NULL if out of memory). */
bool evaluate_inputs_exist(Task *task, const Binding *b, char **ret_missing);
/* Whether a target instance exists (an error checking counts as missing, and is logged). */
bool evaluate_target_exists(Target *t, const char *location);
/* Luigi's rule: every output exists (and, with rerun = "newer", none is older than an input). */
bool evaluate_outputs_complete(Task *task, const Binding *b);
/* Older than the task's look-back window: a start-up scan passes over it. */
bool evaluate_outside_lookback(const Task *task, const Binding *b);
/* Queues an instance now: i when it is known (failed, retrying: a new series), else a new one. */
int evaluate_enqueue(Manager *m, Task *task, const Binding *b, const char *id, const char *unit,
                     Instance *i, Instance **ret);
/* Re-checks everything the target feeds (after a lost event, at start-up); lost_since, when
 * not 0, is when events began to be lost (CLOCK_REALTIME): what changed after is an arrival. */
void evaluate_rescan(TargetHost *h, Target *t, usec_t lost_since);

/*
 * Decides about one task instance: complete (outputs exist), not ready (an input is missing),
 * already in flight, or ready, in which case it is queued. A failed instance is queued again
 * only on a fresh event.
 */
int evaluate_instance(Manager *m, Task *task, const Binding *b, bool fresh);
