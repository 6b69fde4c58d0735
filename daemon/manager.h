/* SPDX-License-Identifier: MIT */
/* The daemon's state: event loop, bus, loaded pipelines, instances in flight */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "graph.h"
#include "instance.h"

typedef struct ManagerOptions {
        bool user;              /* the user manager on the user bus, else the system manager */
        const char *config_dir; /* holds pipelines.d/ */
        unsigned max_parallel;
} ManagerOptions;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        bool user;
        char *pipelines_dir;
        Pipeline **pipelines;
        size_t n_pipelines;
        Pipeline **retired;     /* replaced by a reload, kept while a run still uses them */
        size_t n_retired;
        TargetHost host;

        Instance *instances;    /* by unit name; owned */
        Instance *queue;        /* ready instances, oldest first (utlist) */
        unsigned n_queued;
        unsigned n_active;      /* starting or running */
        unsigned n_failed;
        unsigned max_parallel;
        unsigned long long n_runs_ok, n_runs_failed;

        sd_event_source *dispatch_source;
        sd_bus_slot *match_properties;
        sd_bus_slot *match_job_removed;
} Manager;

int manager_new(const ManagerOptions *o, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_POINTER_CLEANUP(Manager, manager_free);

/* Loads the pipelines, connects to systemd, starts watching, runs what is due. */
int manager_startup(Manager *m);
int manager_run(Manager *m);

/* Loads pipelines.d and logs every problem; *ret_rejected names the files with errors. */
int manager_load_pipelines(Manager *m, Pipeline ***ret, size_t *ret_n, char ***ret_rejected);
void manager_start_targets(Manager *m, Pipeline *p);
/* Scans every target of p and evaluates what exists, as at start-up. */
void manager_reconcile(Manager *m, Pipeline *p);

/*
 * Reloads pipelines.d (SIGHUP): changed files replace their pipelines, new ones start, removed
 * ones stop; a file with errors keeps its previous version running. Runs in flight finish
 * under the pipeline they started with.
 */
void manager_reload(Manager *m);
/* Frees retired pipelines that no instance uses any more. */
void manager_gc_retired(Manager *m);
/* After a run of i ended (i may be freed): moves it off a retired pipeline, frees what is
 * no longer used. */
void manager_settle_instance(Manager *m, Instance *i);

Instance *manager_find_instance(Manager *m, const char *unit);
/* Drops an instance from the table and the queue, and frees it. */
void manager_remove_instance(Manager *m, Instance *i);
/* Tells systemd (sd_notify STATUS=) how many are running, queued and failed. */
void manager_notify_status(Manager *m);
