/* SPDX-License-Identifier: MIT */
/* sluicectl verbs */
#pragma once

#include <stdbool.h>

typedef struct CtlOptions {
        bool user;
        bool quiet;
        bool dot;               /* graph --dot */
        bool all;               /* graph --all: expand what is complete too */
        bool json;              /* machine-readable output */
        bool force;             /* run --force: even when complete */
        const char *state;      /* list --state */
        const char *since;      /* history --since */
        bool follow;            /* logs -f */
        const char *from, *to;  /* backfill --from, --to */
        bool no_wait;           /* backfill --no-wait */
        const char *cancel;     /* backfill --cancel ID */
        const char *config_dir;
        bool config_dir_given;  /* -C: else the running daemon's, where one answers */
        char **params;          /* --param NAME=VALUE, in order */
} CtlOptions;

/* The configuration directory of the daemon answering on o's bus, quietly; <0 when none does. */
int ctl_daemon_config_dir(const CtlOptions *o, char **ret);

/* Each returns a process exit status. */
int verb_check(const CtlOptions *o, int argc, char *argv[]);
int verb_graph(const CtlOptions *o, int argc, char *argv[]);
/* control.c: through the daemon's D-Bus API */
int verb_status(const CtlOptions *o, int argc, char *argv[]);
int verb_list(const CtlOptions *o, int argc, char *argv[]);
int verb_run(const CtlOptions *o, int argc, char *argv[]);
int verb_why(const CtlOptions *o, int argc, char *argv[]);
int verb_show(const CtlOptions *o, int argc, char *argv[]);
int verb_retry(const CtlOptions *o, int argc, char *argv[]);
int verb_reset_failed(const CtlOptions *o, int argc, char *argv[]);
int verb_cancel(const CtlOptions *o, int argc, char *argv[]);
int verb_reload(const CtlOptions *o, int argc, char *argv[]);
int verb_pause(const CtlOptions *o, int argc, char *argv[]);
int verb_resume(const CtlOptions *o, int argc, char *argv[]);
/* backfill.c */
int verb_backfill(const CtlOptions *o, int argc, char *argv[]);
/* journal.c: from the journal */
int verb_history(const CtlOptions *o, int argc, char *argv[]);
int verb_logs(const CtlOptions *o, int argc, char *argv[]);
