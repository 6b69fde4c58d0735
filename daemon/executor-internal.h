/* SPDX-License-Identifier: MIT */
/* What starting a run (executor.c), building its unit (executor-unit.c) and ending it
 * (executor-end.c) share */
#pragma once

#include "executor.h"
#include "unit-props.h"

/* What a start failed at: a fixed phrase, or the output it could not prepare. */
typedef struct StartError {
        const char *what;
        const char *output;
        bool daemon_side;       /* the daemon's trouble (its state directory full), not the task's */
} StartError;

/* The journal fields that name i's run: SLUICE_PIPELINE=, SLUICE_TASK=, ... */
char **executor_run_fields(Instance *i);
/* Removes what i's run staged, for a run that will not commit it. */
void executor_discard_staged(Instance *i);

/* executor-unit.c: locations, staging, argv, environment and the run record (record: written
 * now, not when sending again after a reset), then executor_send_start(). On failure,
 * *ret_error says what failed, for fail_start(). */
int executor_start_unit(Manager *m, Instance *i, bool record, StartError *ret_error);
/* Sends StartTransientUnit for spec, after a ResetFailedUnit where an earlier unit may hold the
 * name; the reply comes to executor.c. */
int executor_send_start(Manager *m, Instance *i, const UnitSpec *spec);

/* executor-end.c: the run is over and accounted for: decide what comes next for the instance.
 * i may be freed. */
void executor_run_ended(Manager *m, Instance *i, bool ok, FailureClass class, const char *reason,
                        bool lost_output);
