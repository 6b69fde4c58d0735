/* SPDX-License-Identifier: MIT */
/* What an operator may ask of the daemon, over D-Bus or HTTP alike: find, retry, cancel */
#pragma once

#include "manager.h"

/* Why a request was refused: an error name of the D-Bus API ("NoSuchTask") and a message. */
typedef struct ControlError {
        const char *name;
        char message[512];
} ControlError;

/* Error names; D-Bus prefixes them with its interface, HTTP turns them into status codes. */
#define CONTROL_NO_SUCH_TASK "NoSuchTask"
#define CONTROL_INVALID_ARGS "InvalidArgs"
#define CONTROL_NOT_FAILED "NotFailed"
#define CONTROL_INPUTS_MISSING "InputsMissing"
#define CONTROL_NOT_ACTIVE "NotActive"
#define CONTROL_FAILED "Failed"

/* Fills e and returns -EINVAL: a request refused. */
int control_refuse(ControlError *e, const char *name, const char *fmt, ...) _printf_(3, 4);
/* "task" or "pipeline/task", among the running pipelines; NULL and e set when none or several. */
Task *control_find_task(Manager *m, const char *name, ControlError *e);
/*
 * Resolves a task name and its parameters ("day=2026-11-27"...) to the instance: its binding,
 * its unit name, and the instance when the daemon holds one (else NULL). <0 with e set.
 */
int control_resolve(Manager *m, const char *name, char **params, ControlError *e,
                    Task **ret_task, Binding **ret_binding, char **ret_unit, Instance **ret);
/* Runs a failed instance (or one waiting to retry) again now. */
int control_retry(Manager *m, Task *task, const Binding *b, const char *unit, Instance *i,
                  ControlError *e);
/* Forgets a failed instance's failure, as `systemctl reset-failed` does a unit's: no longer
 * listed or counted, and what its files say decides from then on (an arrival, a scan). */
int control_reset_failed(Manager *m, const char *unit, Instance *i, ControlError *e);
/* control_retry() (retry) or control_reset_failed() for every failed instance of task, and for
 * a retry every one waiting to retry too, in the units' natural order (@2 before @10): the units
 * done in *ret_done, those refused as pairs (unit, why) in *ret_refused. */
int control_each_failed(Manager *m, Task *task, bool retry, char ***ret_done, char ***ret_refused);
/* Stops a queued or running instance, or one waiting to retry; its end is final. */
int control_cancel(Manager *m, const char *unit, Instance *i, ControlError *e);
