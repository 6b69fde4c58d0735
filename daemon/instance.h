/* SPDX-License-Identifier: MIT */
/* Task instances the daemon is acting on, and their runs */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "graph.h"
#include "util/hash.h"

typedef enum InstanceState {
        INSTANCE_QUEUED,    /* ready, waiting for a slot */
        INSTANCE_STARTING,  /* StartTransientUnit sent, no reply yet */
        INSTANCE_RUNNING,   /* the unit exists; following it to its end */
        INSTANCE_RETRY,     /* failed; runs again when its retry timer fires */
        INSTANCE_FAILED,    /* failed for good, until an input arrives anew or a retry is asked */
        _INSTANCE_STATE_MAX,
        _INSTANCE_STATE_INVALID = -EINVAL,
} InstanceState;

const char *instance_state_to_string(InstanceState s);

struct Manager;
/* confirm.c's: a run's outputs being confirmed with their servers. */
typedef struct Confirming Confirming;

typedef struct Run {
        struct Manager *manager;        /* not owned */
        char id_str[SD_ID128_STRING_MAX];
        unsigned attempt;               /* 1 for the first run of a series */
        uint64_t memory_max;            /* the limit it runs with; UINT64_MAX: none */
        uint64_t kernel_mark;           /* the kernel's log before it started, where a limit
                                         * could make the kernel say why it failed; 0: none */
        char **outputs;                 /* final locations, one per task output */
        char **staged;                  /* where the task writes them */
        char **marks;                   /* what the places were at the start (stage_mark) */
        char *job;                      /* the start job's object path */
        bool starting;                  /* holds one of max_starting, until its JobRemoved */
        bool counted;                   /* holds a slot, the task's count and its pools */
        bool backfill;                  /* ... and the slot is one of the backfills' */
        bool reset;                     /* ResetFailedUnit sent before the start */
        bool adopted;                   /* started by an earlier sluiced, followed again */
        usec_t start_usec;              /* CLOCK_MONOTONIC, when sent */
        usec_t start_realtime;          /* the same, CLOCK_REALTIME */
        usec_t event_usec;              /* CLOCK_MONOTONIC of the event behind it; 0: a scan */
        usec_t call_usec;               /* CLOCK_MONOTONIC, StartTransientUnit built, being sent */
        usec_t sent_usec;               /* CLOCK_MONOTONIC, its write to the bus returned */
        usec_t exit_realtime;           /* when its unit ended, once known; 0 unknown */
        sd_bus_slot *slot;              /* the pending call; owned */
        /* Its start job failed: its unit may never have run the command (follow.c). */
        bool start_failed;
        unsigned start_failed_asks;     /* ... and how often its unit was asked about since */
        sd_event_source *ask_timer;     /* ... the next time; owned */
        usec_t check_delay;             /* a start without an answer: until the next check */
        Confirming *confirming;         /* its unit ended; its outputs are being confirmed */
        /* How its outputs are staged and committed for the task's user (run_stage_as()). */
        bool stage_as_known;
        bool stage_as_set;
        StageAs stage_as;
        FsIdentity stage_user;
} Run;

/* Its unit's end has been read and is being acted on (its outputs confirmed with their
 * servers): every way an end can arrive (the manager's answer, the result file, the poll of
 * runs/) must leave it alone, or the run would end twice. */
static inline bool run_end_taken(const Run *r) {
        return r->confirming;
}

/*
 * Only instances the daemon is doing something about live here: queued, in flight, waiting to
 * retry, or failed. A complete instance is no object at all (its outputs exist), so memory
 * follows the work, not the size of the graph.
 */
typedef struct Instance {
        struct Manager *manager;        /* owner */
        char *unit;             /* key */
        Task *task;             /* not owned */
        Binding *binding;
        char *id;               /* escaped instance string */
        InstanceState state;
        Run *run;
        unsigned attempts;      /* runs in the current series */
        unsigned name_waits;    /* starts put off while the unit of the run before was there */
        uint64_t memory_max;    /* raised after an oom-kill; UINT64_MAX: the task's own */
        char *reason;           /* why the last run failed */
        bool cancelled;         /* stopped on request: the run's end is final */
        bool forced;            /* runs though its outputs exist: run --force, retry, or an
                                 * input changed while the run before was in flight */
        bool held_logged;       /* "waits for the run of the version before" said */
        char *held;             /* queued, not started while an output cannot be written (its
                                 * network file system unmounted): why, as said once */
        bool queued_kept;       /* queued out of the look-back window, where no start-up scan
                                 * would find it again: kept in the marks, as due now */
        bool backfill;          /* queued for a backfill: after live runs, in its slice */
        bool parked;            /* queued, in Manager.parked: its pipeline is paused */
        bool failed_before;     /* a run of it failed: its next success is a recovery */
        unsigned untold;        /* notifiers not yet handed its failure for good (notify.c) */
        unsigned failure_gen;   /* which failure for good untold counts down for (notify.c) */
        bool changed_in_run;    /* rerun = "newer": an input arrived while a run of it was in
                                 * flight, which may have read the version before */
        bool lost_output;       /* this series ran again once for an output directory lost */
        usec_t last_start_realtime;     /* of the run that ended last */
        char *last_run_id;      /* of the last run whose end was accounted for */
        bool journal_behind;    /* ... and journald had not read all it wrote by then */
        usec_t wake_realtime;   /* RETRY: next attempt; FAILED: end of the disable window */
        sd_event_source *timer; /* for wake_realtime; owned */
        usec_t queued_usec;     /* CLOCK_MONOTONIC, for oldest-first */
        usec_t event_usec;      /* CLOCK_MONOTONIC of the event that queued it; 0 for a scan */
        struct Instance *prev, *next;   /* ready queue, or the parked list */
        UT_hash_handle hh;
} Instance;

/* The sluicectl command line that does verb to i: "sluicectl logs PIPELINE/TASK -p N=V ...",
 * each word quoted where a shell would read it otherwise. */
int instance_command(const Instance *i, const char *verb, char **ret);
int instance_new(Task *task, const Binding *b, const char *id, const char *unit,
                 Instance **ret);
Instance *instance_free(Instance *i);
Run *run_free(Run *r);
