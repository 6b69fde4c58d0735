/* SPDX-License-Identifier: MIT */
/* The daemon's small persistent state: run records, run results, instance marks */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util/macro.h"
#include "util/time-util.h"

typedef struct OpenRun OpenRun;

/* The state directory, opened and locked by one daemon. */
typedef struct StateDir {
        char *path;
        int lock_fd;
        int log_fd;             /* runs.log, appended to */
        OpenRun *open;          /* records in runs.log whose end is not written yet, by id */
        unsigned open_runs;     /* how many */
        size_t open_bytes;      /* the length of their lines together */
        size_t log_size;        /* runs.log's length */
        bool reserve_missing;   /* the reserve (state_reserve()) is spent or could not be made */
        bool reserve_full;      /* ...for want of room (ENOSPC, EDQUOT): the file system is full */
} StateDir;

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
        uint64_t start_realtime;        /* when it was started, CLOCK_REALTIME */
        char **outputs;         /* final locations */
        char **staged;          /* where the run writes them, same order */
        bool cancelled;         /* a cancel was asked for: its end is final, whatever it is */
        size_t n_outputs;       /* as the record says, when it does */
        bool has_n_outputs;
} RunRecord;

void run_record_done(RunRecord *r);

/* What sluice-result wrote for a run: systemd's $SERVICE_RESULT, $EXIT_CODE, $EXIT_STATUS. */
typedef struct RunResult {
        char *service_result;   /* "success", "exit-code", "signal", "timeout", "oom-kill" */
        char *exit_code;        /* "exited", "killed", "dumped" */
        char *exit_status;      /* a number or a signal name ("KILL") */
        uint64_t realtime;      /* when sluice-result recorded it, CLOCK_REALTIME */
        uint64_t cpu_usec;      /* the task's user + system time; UINT64_MAX unknown */
        uint64_t rss_peak;      /* the largest resident set of its processes, bytes; or unknown */
        bool journal_behind;    /* journald had not read all the task wrote when it was recorded */
        bool reserve_used;      /* written only once the reserve was given up: the disk is full */
} RunResult;

void run_result_done(RunResult *r);

/* An instance's marks: failed or waiting to retry, with its attempt count. */
typedef struct InstanceMark {
        char *pipeline, *task, *instance;
        bool failed;            /* false: waiting to retry */
        bool untold;            /* failed, and its notifiers not yet told (a crash meanwhile) */
        bool forced;            /* waiting to retry a run asked for though its outputs exist */
        unsigned attempts;
        usec_t wake_realtime;   /* next retry, or the end of the disable window; 0 for none */
        uint64_t memory_max;    /* raised after an oom-kill; UINT64_MAX for the task's own */
        char *reason;
} InstanceMark;

void instance_mark_done(InstanceMark *m);

/* Creates the directory and locks it for this process; -EBUSY when another daemon has it. */
int state_open(const char *path, StateDir **ret);
StateDir *state_close(StateDir *s);
DEFINE_POINTER_CLEANUP(StateDir, state_close);
/*
 * Holds STATE_RESERVE_SIZE of the state directory's file system in the file "reserve", which
 * sluice-result gives up when that file system is full (state_record_result()): the end of a
 * run that did its work is recorded, not lost. Made again when spent, once there is room.
 */
int state_reserve(StateDir *s);
/* Appends a record to runs.log: one write(2), no file to create on the way to a start. */
int state_write_run(StateDir *s, const RunRecord *r);
/* Appends the end of a run recorded by state_write_run() or found by state_read_runs(), and
 * removes its result file; for a run never recorded, only the latter. */
int state_remove_run(StateDir *s, const char *run_id);
/* Notes that run_id (recorded, not ended) was cancelled, durably before the caller answers:
 * a daemon killed before the stop took effect stops it again, and ends it as cancelled.
 * -ENOENT when no such run is open. */
int state_cancel_run(StateDir *s, const char *run_id);
/*
 * The runs whose start is recorded and whose end is not, NULL-terminated; runs.log is then
 * rewritten with just those (should that fail, it is appended to as it is). Damaged lines (a
 * daemon killed mid-write) are skipped.
 */
int state_read_runs(StateDir *s, RunRecord ***ret);
void run_records_free(RunRecord **l);
/* Removes the result files of runs no open record names: left by a run whose record was
 * dropped (its task gone from the configuration), or ended while its end was being written. */
void state_remove_stray_results(StateDir *s);

/* The unit's side (sluice-result): how the run ended, in systemd's words: $SERVICE_RESULT
 * ("success", "exit-code", "signal", ...), $EXIT_CODE ("exited", "killed", "dumped") and
 * $EXIT_STATUS (a number or a signal name); with what it used, when known (else UINT64_MAX),
 * and whether journald was still behind on the task's output. On a full file system the
 * reserve is given up for it. */
int state_record_result(const char *dir, const char *run_id, const char *service_result,
                        const char *exit_code, const char *exit_status, uint64_t cpu_usec,
                        uint64_t rss_peak, bool journal_behind);
bool state_has_result(const char *dir, const char *run_id);
/* 1 and *ret when a result file exists, 0 when not. */
int state_read_result(const char *dir, const char *run_id, RunResult *ret);

int state_write_marks(const char *dir, InstanceMark * const *marks, size_t n);
int state_read_marks(const char *dir, InstanceMark ***ret, size_t *ret_n);
void instance_marks_free(InstanceMark **l, size_t n);
