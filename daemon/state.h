/* SPDX-License-Identifier: MIT */
/* The daemon's small persistent state: run records, run results, instance marks */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util/macro.h"
#include "util/time-util.h"

/*
 * A run record is written before a unit is started and removed once its end is accounted for,
 * so a daemon killed at any moment finds, at its next start, every run it may have left
 * behind: still running (re-attach), finished (its result), or never started (forget it).
 */
typedef struct RunRecord {
        char *run_id;
        char *unit;
        char *pipeline;
        char *task;
        char *instance;         /* the escaped instance id */
        unsigned attempt;
        uint64_t memory_max;    /* the limit this attempt ran with, UINT64_MAX for none */
        char **outputs;         /* final locations */
        char **staged;          /* where the run writes them, same order */
} RunRecord;

void run_record_done(RunRecord *r);

/* What ExecStopPost= wrote for a run: systemd's $SERVICE_RESULT, $EXIT_CODE, $EXIT_STATUS. */
typedef struct RunResult {
        char *service_result;   /* "success", "exit-code", "signal", "timeout", "oom-kill" */
        char *exit_code;        /* "exited", "killed", "dumped" */
        char *exit_status;      /* a number or a signal name ("KILL") */
} RunResult;

void run_result_done(RunResult *r);

/* An instance's marks: failed or waiting to retry, with its attempt count. */
typedef struct InstanceMark {
        char *pipeline, *task, *instance;
        bool failed;            /* false: waiting to retry */
        unsigned attempts;
        usec_t wake_realtime;   /* next retry, or the end of the disable window; 0 for none */
        uint64_t memory_max;    /* raised after an oom-kill; UINT64_MAX for the task's own */
        char *reason;
} InstanceMark;

void instance_mark_done(InstanceMark *m);

/* Creates the directory and locks it for this process; -EBUSY when another daemon has it. */
int state_setup(const char *dir, int *ret_lock_fd);
int state_write_run(const char *dir, const RunRecord *r);
int state_remove_run(const char *dir, const char *run_id);
/* Every run record in the directory; unreadable ones are skipped. NULL-terminated. */
int state_read_runs(const char *dir, RunRecord ***ret);
void run_records_free(RunRecord **l);

/* The ExecStopPost= side: records the environment systemd gives it. */
int state_record_result(const char *dir, const char *run_id);
bool state_has_result(const char *dir, const char *run_id);
/* 1 and *ret when a result file exists, 0 when not. */
int state_read_result(const char *dir, const char *run_id, RunResult *ret);

int state_write_marks(const char *dir, InstanceMark * const *marks, size_t n);
int state_read_marks(const char *dir, InstanceMark ***ret, size_t *ret_n);
void instance_marks_free(InstanceMark **l, size_t n);
