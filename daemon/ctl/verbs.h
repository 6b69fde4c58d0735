/* SPDX-License-Identifier: MIT */
/* sluicectl verbs */
#pragma once

#include <stdbool.h>

typedef struct CtlOptions {
        bool user;
        bool quiet;
        bool dot;               /* graph --dot */
        bool all;               /* graph --all: expand what is complete too */
        const char *config_dir;
        char **params;          /* --param NAME=VALUE, in order */
} CtlOptions;

/* Each returns a process exit status. */
int verb_check(const CtlOptions *o, int argc, char *argv[]);
int verb_graph(const CtlOptions *o, int argc, char *argv[]);
