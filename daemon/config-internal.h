/* SPDX-License-Identifier: MIT */
/* What the two halves of the pipeline loader share */
#pragma once

#include <libconfig.h>

#include "config.h"
#include "daemon-config.h"

typedef struct Loader {
        Pipeline *pipeline;
        Diag *diag;
        char **broken_targets;  /* defined but rejected: references to them say nothing more */
        Task **tasks;           /* every task read, in order, rejected ones too; not owned */
        size_t n_tasks;
        Task **broken;          /* the rejected tasks: checked against the others all the same */
        size_t n_broken;
        const DaemonConfig *daemon;     /* for pools; NULL: not checked */
        const char *include_dir;        /* where @include looks, for the names of included files */
} Loader;

unsigned line_of(const config_setting_t *s);
/* The file s was read from: the pipeline's own, or one it @includes (kept in the pipeline). */
const char *loader_source(Loader *l, const config_setting_t *s);
/* A task read, with or without errors, for the checks across tasks (names, producers); takes
 * task when it is rejected. */
void loader_note_task(Loader *l, Task *task, bool rejected);
Task *loader_find_task(const Loader *l, const char *name);
void loader_done(Loader *l);
const char *type_name(const config_setting_t *s);
bool name_ok(const char *s, bool dash);
/* Reports why libconfig could not read a file, at its line: its bare "syntax error" with what
 * usually causes one, since the line it names is often past the mistake. */
void config_report_read_error(Diag *d, const config_t *cfg);
/* Reports each member of group s that is not in known, with a suggestion. */
/* Errors for outputs that another target also names and whose readers lead back to their
 * writer; warnings for the others (config-overlap.c). */
void check_overlapping_targets(const Pipeline *p, Diag *d);
/* The same across files: a loop through several files marks each of them bad, with an error. */
void reject_loops_across_files(Pipeline **list, size_t n, bool *bad, Diag *d);
void check_keys(Loader *l, const config_setting_t *s, char * const *known, const char *subject);
/* A list or array of strings; NULL (and a diagnostic) for anything else. */
char **string_list(Loader *l, const config_setting_t *s, const char *subject, const char *key,
                   const char *example);
/* The target of that name; NULL, with a diagnostic unless it is a broken one, otherwise. */
Target *lookup_target(Loader *l, const char *name, unsigned line, const char *subject,
                      const char *key);

/* config-task.c: one element of `tasks`. */
void parse_task(Loader *l, const config_setting_t *s, size_t index);

/* config-settings.c: values shared by pipelines and sluiced.conf. Each reports its own error
 * and returns <0 when the value is bad. */
int config_get_uint(Loader *l, const config_setting_t *s, const char *subject, unsigned long min,
                    unsigned long max, unsigned long *ret);
int config_get_span(Loader *l, const config_setting_t *s, const char *subject, usec_t *ret);
int config_get_size(Loader *l, const config_setting_t *s, const char *subject, uint64_t *ret);
void config_parse_limits(Loader *l, Limits *limits, const config_setting_t *s,
                         const char *subject, bool per_unit);
void config_parse_retry(Loader *l, RetryPolicy *retry, const config_setting_t *s,
                        const char *subject);
