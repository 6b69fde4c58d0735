/* SPDX-License-Identifier: MIT */
/*
 * sluicectl check: the daemon's own loader run over pipeline files, without a daemon. Exit 0
 * when every file is good, 1 when any has an error (an unreadable file included), 2 when the
 * pipelines directory cannot be read.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "util/fs-util.h"
#include "verbs.h"

static int check_one(const CtlOptions *o, const char *path, Diag *d) {
        _cleanup_(pipeline_freep) Pipeline *p = NULL;
        size_t before = d->n_errors;
        int r;

        r = config_load_pipeline(path, NULL, &p, d);
        if (r < 0 || d->n_errors > before)
                return 1;
        if (!o->quiet)
                printf("%s: OK (%zu targets, %zu tasks)\n", path, p->n_targets, p->n_tasks);
        return 0;
}

int verb_check(const CtlOptions *o, int argc, char *argv[]) {
        _cleanup_free_ char *dir = NULL;
        Diag d = {};
        int ret = 0;

        if (argc > 0) {
                for (int k = 0; k < argc; k++) {
                        Diag one = {};
                        if (check_one(o, argv[k], &one) != 0)
                                ret = 1;
                        diag_sort(&one);
                        diag_print(&one, stderr);
                        diag_done(&one);
                }
                return ret;
        }

        if (path_join(o->config_dir, "pipelines.d", &dir) < 0)
                return 2;
        {
                Pipeline **list = NULL;
                size_t n = 0;
                int rejected = config_load_directory(dir, NULL, &list, &n, NULL, &d);

                diag_sort(&d);
                diag_print(&d, stderr);
                for (size_t k = 0; k < n && !o->quiet; k++)
                        printf("%s: OK (%zu targets, %zu tasks)\n", list[k]->file,
                               list[k]->n_targets, list[k]->n_tasks);
                pipelines_free(list, n);
                diag_done(&d);
                if (rejected < 0)
                        return 2;
                return rejected > 0 ? 1 : 0;
        }
}
