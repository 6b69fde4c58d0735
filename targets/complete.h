/* SPDX-License-Identifier: MIT */
/* complete = "...": when an object that has appeared counts as written, read alike for every
 * kind that takes it (path, url, s3) */
#pragma once

#include <libconfig.h>

#include "diag.h"
#include "target.h"

typedef enum CompletePolicy {
        COMPLETE_CLOSE,         /* closed after writing, or moved into place (path's default) */
        COMPLETE_MOVED,         /* moved into place only */
        COMPLETE_QUIET,         /* unchanged for a quiet period */
        COMPLETE_FLAG,          /* a sibling done-flag (Hadoop's _SUCCESS) in its directory */
        COMPLETE_AT_ONCE,       /* a polled kind's default: as soon as a poll finds it */
} CompletePolicy;

#define COMPLETE_TAKES(p) (1u << (p))

typedef struct Complete {
        CompletePolicy policy;
        usec_t quiet;           /* COMPLETE_QUIET */
        char *flag;             /* COMPLETE_FLAG: the flag's name; owned */
} Complete;

/*
 * Reads complete = "close" | "moved" | "quiet:30s" | "flag:_SUCCESS" from s (NULL: c is left
 * as the kind's default). takes is the mask of the policies the kind can tell apart; another
 * is an error that says why not (why_not: "its polls see no close or rename"). -ENOMEM only:
 * a wrong value is an error in d.
 */
int complete_parse(Target *t, const config_setting_t *s, unsigned takes, const char *why_not,
                   Diag *d, Complete *c);
/* The flag's location beside location (same directory); NULL when out of memory. */
char *complete_flag_location(const char *location, const char *flag);
/* TargetKind.check_output's part for complete = "flag:...": the daemon never writes the flag. */
void complete_check_output(Target *t, const Complete *c, const char *producer, Diag *d);
