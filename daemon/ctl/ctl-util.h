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

/* What the daemon is doing, if one answers: unit, state, unit, state, ...; and what is there
 * but does not count yet, as only it knows: pipeline, target, location, why, ... (control.c). */
int ctl_live_states(const CtlOptions *o, char ***ret_states, char ***ret_held);

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
