/* SPDX-License-Identifier: MIT */
/* Runs an instance as a transient unit, follows the unit, and accounts for its end */
#pragma once

#include "manager.h"
#include "retry.h"

/* What systemd says about a unit that ended. */
typedef struct UnitResult {
        char *result;           /* "success", "exit-code", "signal", "timeout", "oom-kill", ... */
        int exec_code;          /* CLD_EXITED, CLD_KILLED, CLD_DUMPED; -1 unknown */
        int exec_status;
        uint64_t start_usec, exit_usec;  /* CLOCK_REALTIME; 0 unknown */
        uint64_t cpu_nsec;      /* UINT64_MAX unknown */
        uint64_t rss_peak;      /* bytes, the largest process's (sluice-result); UINT64_MAX unknown */
        char *run_id;           /* SLUICE_RUN_ID= of the unit's environment */
        bool journal_behind;    /* journald had not read all the task wrote (sluice-result) */
} UnitResult;

#define UNIT_RESULT_UNKNOWN \
        (UnitResult){ .exec_code = -1, .cpu_nsec = UINT64_MAX, .rss_peak = UINT64_MAX }

void unit_result_done(UnitResult *r);

/* follow.c: the bus connection (reconnecting when it goes away), and the results that the
 * units' sluice-result writes into the state directory. */
int executor_connect(Manager *m);
int executor_watch_results(Manager *m);
void executor_arm_sweep(Manager *m);
/* Asks the manager for one property of i's unit; the call is i's run's pending one. */
int executor_ask_unit(Manager *m, Instance *i, const char *interface, const char *property,
                      sd_bus_message_handler_t callback);
/* Finishes i's run from its result file, or asks systemd how the unit is doing. */
void executor_query(Manager *m, Instance *i);
/* The same for a run whose start job failed: asked again shortly while its unit goes down. */
void executor_query_failed_start(Manager *m, Instance *i);

/* executor.c */
/* Stages outputs, records the run and sends StartTransientUnit. i becomes STARTING. */
int executor_start(Manager *m, Instance *i);
/* The manager never answered i's start, but the unit is there: i's run is RUNNING, logged as
 * started, and followed. */
void executor_started_unanswered(Manager *m, Instance *i);
/* Forgets i's run as if it had never been started: its record, staged outputs, slot and
 * attempt. Only for a start that never reached the manager. */
void executor_forget_start(Manager *m, Instance *i);
/* The start job of i's run is over, or will never be heard of: its max_starting share is
 * free. why: the job's result, or what else settled it. */
void executor_start_settled(Manager *m, Instance *i, const char *why);
/* The bus match callback for the manager's JobRemoved signals. */
int executor_on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error);
/* The run of i ended with res: move outputs into place or discard them, log, decide about a
 * retry. i may be freed. Outputs a server holds are confirmed first, through the loop; then
 * all of this happens later, and a second call meanwhile is ignored. */
void executor_finish(Manager *m, Instance *i, const UnitResult *res);
/* The same once its outputs on servers are confirmed (confirm.c), with what was found there
 * (per output, NULL where none; published once the run succeeds), or failed with failure. */
void executor_finish_with(Manager *m, Instance *i, const UnitResult *res, const char *failure,
                          char * const *confirmed);
/* The run of i ended without anyone seeing how (no unit, no result): a failure of class
 * FAILURE_LOST. */
void executor_lost(Manager *m, Instance *i);
/* Drops a queued instance, ends a retry series, or stops a run (failed as "cancelled"). */
int executor_cancel(Manager *m, Instance *i);
/* Asks the manager to stop i's unit; how the run ends comes as for any end. */
int executor_stop_unit(Manager *m, Instance *i);
int executor_stop_unit_name(Manager *m, const char *unit);
/* A unit of a pipeline's slice with its aggregate limits. */
