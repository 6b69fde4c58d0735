/* SPDX-License-Identifier: MIT */
/* The daemon's state: event loop, bus, loaded pipelines, instances in flight */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "daemon-config.h"
#include "graph.h"
#include "instance.h"

typedef struct ManagerOptions {
        BusScope scope;         /* UNSET: sluiced.conf's, else the system */
        const char *config_dir; /* holds sluiced.conf and pipelines.d/ */
        const char *state_dir;  /* NULL: sluiced.conf's, else the scope's default */
        unsigned max_parallel;  /* 0: sluiced.conf's */
        const char *bus_name;   /* NULL: SLUICE_BUS_NAME */
} ManagerOptions;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        bool user;
        usec_t manager_started_realtime;        /* the systemd manager's UserspaceTimestamp */
        char *config_dir;
        char *pipelines_dir;
        char *state_dir;
        char *bus_name;         /* the API's, on the bus */
        char *result_helper;    /* sluice-result: wraps tasks, or their ExecStopPost= */
        bool helper_everywhere; /* runnable under any user and private /tmp (executor-unit.c) */
        bool told_unwatched;
        struct StateDir *state;
        DaemonConfig config;
        unsigned max_parallel_override; /* from the command line: outlasts reloads */
        unsigned *pool_used;    /* per pool of config.pools */

        Pipeline **pipelines;
        size_t n_pipelines;
        Pipeline **retired;     /* replaced by a reload, kept while a run still uses them */
        size_t n_retired;
        /* Failed and retrying marks of pipelines not running (their files had errors): saved
         * with the others, restored when a reload starts them (recover.c). */
        struct InstanceMark **kept_marks;
        size_t n_kept_marks;
        /* Run records of pipelines not running for the same reason: their runs are taken
         * back when a reload starts them, dropped once their file is gone (recover.c). */
        struct RunRecord **kept_runs;
        size_t n_kept_runs;
        TargetHost host;

        Instance *instances;    /* by unit name; owned */
        Instance *queue;        /* ready instances: highest priority, then oldest, first */
        Instance *parked;       /* queued instances of paused pipelines, out of the dispatch
                                 * walk until the resume (scheduler_unpark()) */
        unsigned n_queued;      /* in queue or parked */
        unsigned n_active;      /* holding a slot: starting or running */
        unsigned n_starting;    /* StartTransientUnit calls without a reply */
        unsigned n_retrying;
        unsigned n_failed;
        unsigned long long n_runs_ok, n_runs_failed;
        struct Backfill *backfills;     /* newest first; owned */
        uint32_t backfill_last_id;
        unsigned n_backfill_active;     /* slots held by backfill runs */
        struct NotifyState *notify;     /* notifiers' windows and deliveries (notify.c) */
        struct LateAlert *late_alerts;  /* deadline alerts under way, by key (deadline.c) */
        struct Waiting *waiting;        /* instances missing inputs, by task and id (waiting.c) */
        struct Web *web;                /* the HTTP server (web.c), when configured */
#define WEB_LATENCY_BUCKETS 10
        unsigned long long latency_buckets[WEB_LATENCY_BUCKETS], latency_count;
        unsigned long long latency_sum_usec;

        sd_event_source *dispatch_source;
        sd_event_source *save_source;   /* writes the instance marks, once per loop iteration */
        bool marks_dirty;               /* a save is due (the loop may have ended) */
        /* Failed runs whose records are ended only once the marks that account for them are
         * written: a daemon killed in between finds the run again, not an instance that
         * forgot it failed. */
        char **ends_after_save;
        /* Pipeline files with errors, as the last load found them: not running, or running
         * the version before (sluicectl status, and the answer for a task not found). */
        char **rejected;
        char **paused;          /* pipelines paused by name (pause.c) */
        sd_event_source *reconnect_source;
        usec_t reconnect_delay;
        int results_fd;                 /* inotify on the state directory's runs/ */
        sd_event_source *results_source;
        sd_event_source *sweep_source;
        sd_event_source *results_poll;  /* runs/ looked at every second: no inotify watch */
        sd_bus_slot *match_disconnected;
        sd_bus_slot *match_job_removed;
} Manager;

int manager_new(const ManagerOptions *o, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_POINTER_CLEANUP(Manager, manager_free);

/* Loads the pipelines, connects to systemd, takes back its runs, starts watching, runs what is
 * due. */
int manager_startup(Manager *m);
int manager_run(Manager *m);

/* Loads pipelines.d and logs every problem; *ret_rejected names the files with errors. */
int manager_load_pipelines(Manager *m, Pipeline ***ret, size_t *ret_n, char ***ret_rejected);
void manager_start_targets(Manager *m, Pipeline *p);
/* Scans every target of p and evaluates what exists, as at start-up. */
void manager_reconcile(Manager *m, Pipeline *p);
/* Sets up p's slice with its aggregate limits, when it has any. */
void manager_setup_slice(Manager *m, Pipeline *p);
/* The slice a pipeline's units run in: sluice-<pipeline>.slice, under sluice.slice. */
int pipeline_slice_name(const Pipeline *p, char **ret);

/*
 * Reloads pipelines.d (SIGHUP): changed files replace their pipelines, new ones start, removed
 * ones stop; a file with errors keeps its previous version running. Runs in flight finish
 * under the pipeline they started with. *ret_kept, unless NULL: the files kept at their
 * previous version.
 */
void manager_reload(Manager *m, char ***ret_kept);
/* Re-reads sluiced.conf (reload-config.c): what can change live does; errors change nothing. */
int manager_reload_config(Manager *m);
/* Frees retired pipelines that no instance uses any more. */
void manager_gc_retired(Manager *m);
/* After a run of i ended (i may be freed): moves it off a retired pipeline, frees what is
 * no longer used. */
void manager_settle_instance(Manager *m, Instance *i);
/* The task of the new version that an instance of t moves to, when t's pipeline is retired and
 * the task is still there with the same parameters; NULL otherwise. */
Task *manager_successor(Manager *m, const Task *t);

Instance *manager_find_instance(Manager *m, const char *unit);
/* The task whose unit that is, among the running pipelines; NULL when none (not sluice's). */
Task *manager_task_of_unit(Manager *m, const char *unit);
/* Finds the task of that pipeline and name, among the running pipelines. */
/* A running pipeline by name, or NULL. */
Pipeline *manager_find_pipeline(const Manager *m, const char *name);
Task *manager_find_task(Manager *m, const char *pipeline, const char *task);
/* The instance of task for the escaped instance id (as in unit names and records): 1 when it
 * is created (in a state the caller must set), 0 when it existed. */
int manager_instance_from_id(Manager *m, Task *task, const char *id, Instance **ret);
/* Drops an instance from the table and the queue, and frees it. */
void manager_remove_instance(Manager *m, Instance *i);
/* Moves an instance to a state, keeping the counters and the persistent marks right. */
void manager_set_state(Manager *m, Instance *i, InstanceState s);
/* Arms (or, with 0, disarms) the instance's wake-up at a CLOCK_REALTIME time. */
int manager_set_wake(Manager *m, Instance *i, usec_t realtime);
/* Schedules writing the instance marks to the state directory. */
void manager_save_marks(Manager *m);
/* Now, if a save is due: the loop will not run again (stopping). */
void manager_save_marks_pending(Manager *m);
/* Tells systemd (sd_notify STATUS=) how many are running, queued and failed. */
void manager_notify_status(Manager *m);
