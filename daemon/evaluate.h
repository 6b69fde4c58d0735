/* SPDX-License-Identifier: MIT */
/* From "this target instance may exist now" to "these task instances are ready" */
#pragma once

#include "manager.h"

/* The TargetHost hint callback: level-triggered, idempotent. */
void evaluate_hint(TargetHost *h, Target *t, const Binding *b, bool fresh);
/* The TargetHost gone callback: an instance of t disappeared. */
void evaluate_gone(TargetHost *h, Target *t, const Binding *b);
/* Whether every input of the instance exists now. */
bool evaluate_inputs_exist(Task *task, const Binding *b);
/* Re-checks everything the target feeds (after a lost event, at start-up). */
void evaluate_rescan(TargetHost *h, Target *t);

/*
 * Decides about one task instance: complete (outputs exist), not ready (an input is missing),
 * already in flight, or ready, in which case it is queued. A failed instance is queued again
 * only on a fresh event.
 */
int evaluate_instance(Manager *m, Task *task, const Binding *b, bool fresh);
