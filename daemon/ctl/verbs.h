/* SPDX-License-Identifier: MIT */
/* sluicectl verbs */
#pragma once

#include <stdbool.h>

typedef struct CtlOptions {
        bool user;
        bool quiet;
        const char *config_dir;
} CtlOptions;

/* Each returns a process exit status. */
int verb_check(const CtlOptions *o, int argc, char *argv[]);
