/* SPDX-License-Identifier: MIT */
/* What several sluicectl verbs share: loading pipelines, naming a task instance, output */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "graph.h"
#include "verbs.h"

typedef struct CtlPipelines {
        Pipeline **list;
        size_t n;
} CtlPipelines;

void ctl_pipelines_done(CtlPipelines *p);
/* Loads CONFIG_DIR/pipelines.d; files with errors are skipped with their problems on stderr. */
int ctl_load_pipelines(const CtlOptions *o, CtlPipelines *ret);
/* "task" or "pipeline/task"; prints why not (unknown, ambiguous) and returns NULL. */
Task *ctl_find_task(const CtlPipelines *p, const char *name);
/* The binding of --param NAME=VALUE options, each value checked against its type. */
int ctl_task_binding(const Task *task, char * const *params, Binding **ret);
/* The instance id and unit name of those --param options, as the daemon names them. */
int ctl_instance_names(const Task *task, char * const *params, char **ret_id, char **ret_unit);

/* control.c: talking to the daemon. */
#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_NO_DAEMON 3
/* $SLUICE_BUS_NAME: a daemon started with --bus-name, where several share a bus. */
const char *ctl_bus_name(void);
/* Connects to the bus of o (system, or user); -EXIT_NO_DAEMON, said, when it cannot. */
int ctl_connect(const CtlOptions *o, sd_bus **ret);
/* The daemon's error, said plainly; the exit status that goes with it. */
int ctl_report(const char *what, int r, const sd_bus_error *e);

/* The backfills the daemon keeps, with their progress (backfill.c); active_only: those not
 * finished, under a heading, nothing when there are none. */
int ctl_print_backfills(const CtlOptions *o, sd_bus *bus, bool active_only);

/* A polled target as the daemon tells it (ListTargets). */
typedef struct CtlPolled {
        char *pipeline, *target, *error;
        TargetStatus status;            /* its error is error */
        char **objects;                 /* what it knows to exist (ListObjects), sorted */
        bool asked;                     /* for objects, once */
} CtlPolled;

/* What the daemon knows beyond the files, if one answers (control.c). */
typedef struct CtlLive {
        sd_bus *bus;
        char **states;                  /* what it is doing: unit, state, unit, state, ... */
        char **held;                    /* there, not counted yet: pipeline, target, location,
                                         * why, ... */
        CtlPolled *polled;
        size_t n_polled;
} CtlLive;

/* <0 when no daemon answered: ret is left empty then (but for a refusal, said). */
int ctl_live_read(const CtlOptions *o, CtlLive *ret);
void ctl_live_done(CtlLive *l);
/* The daemon's account of polled target t; NULL: t is not polled, or no daemon said. */
CtlPolled *ctl_live_polled(const CtlLive *l, const Target *t);
/* Whether p knows of an object at location (1, 0): its polls are the only word on a remote
 * object, which a look at the files cannot see; <0 when the daemon did not say. */
int ctl_live_has(CtlLive *l, CtlPolled *p, const char *location);

/* s as it may be shown on a terminal (display_escape()): s itself, or a copy that lives
 * until 16 more calls; for printf's arguments. */
const char *ctl_shown(const char *s);

/* s as a JSON string, quoted and escaped, on stdout. */
void ctl_json_string(const char *s);

/* Whether to decorate output for a person: colour, and box drawing where the locale has it. */
bool ctl_colors(void);
bool ctl_unicode(void);
#define ANSI_GREEN "\033[32m"
#define ANSI_RED "\033[31m"
#define ANSI_BOLD "\033[1m"
#define ANSI_GREY "\033[2m"
#define ANSI_RESET "\033[0m"
