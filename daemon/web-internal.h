/* SPDX-License-Identifier: MIT */
/* Shared by the HTTP server's modules: web.c (serving), web-api.c, web-units.c, web-journal.c */
#pragma once

#include <json-c/json.h>
#include <microhttpd.h>

#include "manager.h"
#include "util/hash.h"

/* A running unit's figures as systemd last told them, and the ones before, for a rate. */
typedef struct WebUnit {
        char *unit;
        uint64_t cpu_nsec, prev_cpu_nsec;       /* CPUUsageNSec; UINT64_MAX: not known */
        usec_t at, prev_at;                     /* CLOCK_MONOTONIC of those answers */
        uint64_t memory;                        /* MemoryCurrent; UINT64_MAX: not known */
        uint64_t tasks;                         /* TasksCurrent; UINT64_MAX: not known */
        bool cpu_from_process;                  /* no CPUUsageNSec: its processes' sum */
        sd_bus_slot *slot;                      /* the GetAll in flight */
        struct Web *web;
        UT_hash_handle hh;
} WebUnit;

/*
 * A task's complete instances, as a scan of its first output found them, kept a while; with
 * their parameters ("day=...\x1fsrc=...", newest first) once the instance list was asked for.
 */
typedef struct WebCount {
        char *key;              /* "pipeline/task" */
        unsigned complete;
        bool capped;            /* the scan stopped at WEB_SCAN_CAP */
        usec_t at;              /* CLOCK_MONOTONIC */
        usec_t cost;            /* how long that scan held the loop */
        unsigned long long runs;        /* the task's successful runs when counted */
        char **ids;             /* NULL unless listed */
        size_t n_ids;
        UT_hash_handle hh;
} WebCount;

typedef struct Web {
        Manager *manager;
        struct MHD_Daemon *mhd;
        sd_event_source *io, *timer;
        char csrf[33];                  /* the token POSTs must carry (X-Sluice-CSRF) */
        char port[8];
        bool any_host;                  /* listening on 0.0.0.0: Host is not checked */
        WebUnit *units;                 /* by unit name */
        sd_event_source *sample_timer;
        usec_t units_asked;             /* CLOCK_MONOTONIC: sampling runs while someone looks */
        WebCount *counts;
        /* The last /api/history answer: the same question gets it again until a run ends. */
        char *history_key;
        json_object *history;
        usec_t history_at;
        unsigned long long history_runs;
} Web;

/* Scans of complete instances stop here: the dashboard says "100000+". */
#define WEB_SCAN_CAP 100000

/* The value of a query argument, or NULL. */
const char *web_arg(struct MHD_Connection *c, const char *name);

/* web-api.c: the JSON of /api/status, /api/graph and /api/instances. */
json_object *web_status(Web *w);
/* Instances some of whose inputs are there and others not, as `sluicectl list` shows them. */
unsigned web_waiting_count(Manager *m);
json_object *web_graph(Web *w);
/* NULL and *ret_code, *ret_error set when the request is wrong. */
json_object *web_instances(Web *w, struct MHD_Connection *c, unsigned *ret_code,
                           const char **ret_error);
void web_counts_free(Web *w);
/* ["day=2026-11-27", ...]: an instance's parameters as sluicectl --param takes them. */
json_object *web_params(const Binding *b);

/* web-units.c: running units with CPU and memory from systemd, sampled while asked for. */
json_object *web_units(Web *w);
void web_units_done(Web *w);

/* web-journal.c: past runs and a unit's log lines, read from the journal. */
json_object *web_history(Web *w, struct MHD_Connection *c, const char **ret_error);
void web_history_done(Web *w);
json_object *web_logs(Web *w, struct MHD_Connection *c, unsigned *ret_code,
                      const char **ret_error);
