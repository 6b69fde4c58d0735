/* SPDX-License-Identifier: MIT */
/* Task instances the daemon is acting on, and their runs */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>
#include "util/hash.h"

#include "graph.h"

typedef enum InstanceState {
        INSTANCE_QUEUED,    /* ready, waiting for a slot */
        INSTANCE_STARTING,  /* StartTransientUnit sent, no reply yet */
        INSTANCE_RUNNING,   /* the unit exists; following it to its end */
        INSTANCE_FAILED,    /* the last run failed; waits for a fresh input event */
        _INSTANCE_STATE_MAX,
        _INSTANCE_STATE_INVALID = -EINVAL,
} InstanceState;

const char *instance_state_to_string(InstanceState s);

struct Manager;

typedef struct Run {
        struct Manager *manager;        /* not owned */
        sd_id128_t id;
        char id_str[SD_ID128_STRING_MAX];
        char **outputs;         /* final locations, one per task output */
        char **staged;          /* where the task writes them */
        char *job;              /* the start job's object path */
        bool job_done;          /* JobRemoved seen: unit state changes are this run's now */
        usec_t queued_usec;     /* CLOCK_MONOTONIC */
        usec_t start_usec;
        sd_bus_slot *slot;      /* the pending call; owned */
} Run;

/*
 * Only instances the daemon is doing something about live here: queued, starting, running or
 * failed. A complete instance is no object at all (its outputs exist), so memory follows the
 * work in flight, not the size of the graph.
 */
typedef struct Instance {
        char *unit;             /* key */
        Task *task;             /* not owned */
        Binding *binding;
        char *id;               /* escaped instance string */
        InstanceState state;
        Run *run;
        char *reason;           /* why the last run failed */
        struct Instance *prev, *next;   /* ready queue */
        UT_hash_handle hh;
} Instance;

int instance_new(Task *task, const Binding *b, const char *id, const char *unit,
                 Instance **ret);
Instance *instance_free(Instance *i);
Run *run_free(Run *r);
