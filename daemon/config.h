/* SPDX-License-Identifier: MIT */
/* Pipeline files -> Pipeline; every problem as file:line */
#pragma once

#include "diag.h"
#include "daemon-config.h"
#include "graph.h"

/*
 * Loads one pipeline file. dc, when not NULL, is checked against (resource pools). Every problem found goes to d; the pipeline is returned only when
 * the file had none (-EINVAL otherwise), so a file with errors is rejected whole.
 */
int config_load_pipeline(const char *path, const DaemonConfig *dc, Pipeline **ret, Diag *d);
/* The same, from text already read; path names the pipeline and its diagnostics. */
int config_load_pipeline_text(const char *path, const char *text, const char *include_dir,
                              const DaemonConfig *dc, Pipeline **ret, Diag *d);

/* Pipeline files are small; anything bigger is a mistake (a log dropped in the wrong place). */
#define CONFIG_MAX_SIZE (16 << 20)

/* The names of the pipelines DIR's files define, loadable or not (none: NULL). */
int config_pipeline_names(const char *dir, char ***ret);

/*
 * Loads every *.conf in dir, in name order. Files with errors are left out of *ret (and said
 * in d, and named in *ret_rejected when that is not NULL); the good ones are returned. Returns
 * the number of files rejected.
 */
int config_load_directory(const char *dir, const DaemonConfig *dc, Pipeline ***ret, size_t *ret_n,
                          char ***ret_rejected, Diag *d);

void pipelines_free(Pipeline **p, size_t n);
