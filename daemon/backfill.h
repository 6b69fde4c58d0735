/* SPDX-License-Identifier: MIT */
/* `sluicectl backfill`: every instance of a task over a range of its time parameter */
#pragma once

#include "manager.h"
#include "util/hash.h"

/* A unit a backfill asked for, or walked through to what it needs. */
typedef struct BackfillMember {
        char *unit;
        UT_hash_handle hh;
} BackfillMember;

typedef struct BackfillProgress {
        uint32_t total, complete, queued, running, retrying, failed, waiting;
        /* What the waiting ones need, queued, running or waiting to retry upstream. */
        uint32_t upstream;
        uint32_t cancelled;     /* after a cancel: neither complete nor failed by then */
        bool finished;  /* nothing of it queued, running or waiting to retry */
} BackfillProgress;

/*
 * Like Luigi's RangeDaily, but the daemon keeps it: its instances, and the upstream ones they
 * need, run as backfill (after every live run, on at most half of max_parallel, in the
 * pipeline's backfill slice with a lower CPU and IO weight) until it is finished. It holds
 * names, not pointers, so a reload cannot leave it dangling. It does not outlive the daemon:
 * asked again, complete instances are skipped.
 */
typedef struct Backfill {
        uint32_t id;
        char *pipeline, *task, *param, *from, *to;
        char **units;                   /* the task's instances in the range, in order */
        Binding **bindings;             /* the same, NULL-terminated */
        size_t n_units;
        BackfillMember *members;        /* units and everything walked upstream of them */
        usec_t started_realtime, finished_realtime;
        bool cancelled;
        BackfillProgress at_cancel;     /* what it had come to: later runs are not its own */
        struct Backfill *next;
} Backfill;


/* More instances than this in one range are refused: split the range. */
#define BACKFILL_MAX 100000u

/*
 * Starts a backfill of task from..to (inclusive) over its one time parameter that params
 * (NAME=VALUE) leave open. On -EINVAL, *ret_error says why in words for the person asking.
 */
int backfill_start(Manager *m, Task *task, char * const *params, const char *from,
                   const char *to, bool force, Backfill **ret, char **ret_error);
/* Adds a unit to the backfill; the scheduler treats its runs as backfill. */
int backfill_add_member(Backfill *bf, const char *unit);
/* Whether a unit belongs to a backfill that is not finished. */
bool backfill_claims(Manager *m, const char *unit);
/* Counts, read from the live state and the targets; marks it finished when it is. */
void backfill_progress(Manager *m, Backfill *bf, BackfillProgress *ret);
/* Stops everything of it that is queued, running or waiting to retry; how many. */
unsigned backfill_cancel(Manager *m, Backfill *bf);
Backfill *backfill_find(Manager *m, uint32_t id);
void backfills_free(Manager *m);
/* sluice-<pipeline>-backfill.slice, under the pipeline's own. */
int pipeline_backfill_slice_name(const Pipeline *p, char **ret);
