/* SPDX-License-Identifier: MIT */
/* What the state directory's files share: state.c (the daemon's) and state-result.c (the unit's) */
#pragma once

#include <stdio.h>

#include "state.h"

#define STATE_MAX_FILE (4 << 20)
/* Room for a few hundred result files and the daemon's lines that end their runs. */
#define STATE_RESERVE_SIZE (1 << 20)
#define STATE_RESERVE_NAME "reserve"

/* Replaced with rename(2), not fsync'ed: this guards against the daemon being killed. */
int state_replace_file(const char *path, const char *data, size_t n);
/* DIR/runs/RUN_IDSUFFIX */
int state_run_path(const char *dir, const char *run_id, const char *suffix, char **ret);
/* Calls f(key, value) for each "key=value" line of text. */
int state_parse_lines(char *text, int (*f)(const char *key, char *value, void *userdata),
                      void *userdata);
/* Replaces *field with value unescaped. */
int state_set_field(char **field, const char *value);
