/* SPDX-License-Identifier: MIT */
/* Logging to the journal with structured fields, plain lines on a terminal */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "util/macro.h"

/* Message IDs: explained for journalctl -x in units/sluice.catalog. */
#define SLUICE_MESSAGE_RUN_STARTED_STR "4c95ad7e41c047b3a3af4162941b77e0"
#define SLUICE_MESSAGE_RUN_FINISHED_STR "f1220f814d0a400e8db049236917e2c7"
#define SLUICE_MESSAGE_CONFIG_ERROR_STR "4357e884d3a94c11bd5b09ed71a2e781"
#define SLUICE_MESSAGE_RUN_START_FAILED_STR "801f4c0ce73949bb8b8e17e6972d4d1a"

typedef enum LogTarget {
        LOG_TARGET_AUTO,    /* journal, plus stderr when stderr is not the journal */
        LOG_TARGET_STDERR,  /* sluicectl: plain lines only */
} LogTarget;

void log_setup(LogTarget target, const char *identifier);
void log_set_max_level(int level);
int log_get_max_level(void);

/*
 * Logs once; returns -|error| when error is non-zero, else 0, so that a failing path can
 * "return log_error_errno(r, ...)". fields is a strv of extra "KEY=value" journal fields or NULL.
 * %m in the format means error.
 */
int log_internal(int level, int error, const char *file, int line, const char *func,
                 char * const *fields, const char *format, ...) _printf_(7, 8);

#define log_full_errno(level, error, ...) \
        log_internal(level, error, __FILE__, __LINE__, __func__, NULL, __VA_ARGS__)
#define log_struct(level, fields, ...) \
        log_internal(level, 0, __FILE__, __LINE__, __func__, fields, __VA_ARGS__)
#define log_struct_errno(level, error, fields, ...) \
        log_internal(level, error, __FILE__, __LINE__, __func__, fields, __VA_ARGS__)

#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)
#define log_oom() log_error_errno(ENOMEM, "Out of memory")
