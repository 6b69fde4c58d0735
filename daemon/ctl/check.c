/* SPDX-License-Identifier: MIT */
/*
 * sluicectl check: the daemon's own loaders run over sluiced.conf and pipeline files, without
 * a daemon. Exit 0 when everything is good, 1 when a file has an error (an unreadable file
 * included), 2 when the pipelines directory cannot be read.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util/fs-util.h"
#include "verbs.h"

static const char *plural(size_t n, const char *one, const char *many) {
        return n == 1 ? one : many;
}

static void say_ok(const CtlOptions *o, const Pipeline *p) {
        if (!o->quiet)
                printf("%s: OK (%zu %s, %zu %s)\n", p->file, p->n_targets,
                       plural(p->n_targets, "target", "targets"), p->n_tasks,
                       plural(p->n_tasks, "task", "tasks"));
}

/* sluiced.conf of the configuration directory, when there is one: its pools are what
 * pipelines' resources refer to. 1 when it has errors. */
static int load_daemon_config(const CtlOptions *o, DaemonConfig *dc) {
        _cleanup_free_ char *path = NULL;
        Diag d = {};
        int r;

        if (path_join(o->config_dir, "sluiced.conf", &path) < 0)
                return -ENOMEM;
        r = daemon_config_load(path, dc, &d);
        diag_sort(&d);
        diag_print(&d, stderr);
        diag_done(&d);
        if (r >= 0 && !o->quiet && access(path, F_OK) == 0)
                printf("%s: OK\n", path);
        return r < 0 ? 1 : 0;
}

int verb_check(const CtlOptions *o, int argc, char *argv[]) {
        DaemonConfig dc = DAEMON_CONFIG_DEFAULT;
        const DaemonConfig *against;
        _cleanup_free_ char *dir = NULL;
        Pipeline **list = NULL;
        size_t n = 0;
        Diag d = {};
        int ret, rejected;

        ret = load_daemon_config(o, &dc);
        if (ret < 0) {
                daemon_config_done(&dc);
                return 2;
        }
        /* A sluiced.conf with errors says nothing of the pools and notifiers it meant to
         * define: the pipelines' references to them go unchecked, rather than each reported
         * missing (its own errors are told above). */
        against = ret > 0 ? NULL : &dc;
        for (int k = 0; k < argc; k++) {
                _cleanup_(pipeline_freep) Pipeline *p = NULL;
                Diag one = {};

                if (config_load_pipeline(argv[k], against, &p, &one) < 0 || one.n_errors > 0)
                        ret = 1;
                else
                        say_ok(o, p);
                diag_sort(&one);
                diag_print(&one, stderr);
                diag_done(&one);
        }
        if (argc > 0) {
                daemon_config_done(&dc);
                return ret;
        }

        if (path_join(o->config_dir, "pipelines.d", &dir) < 0) {
                daemon_config_done(&dc);
                return 2;
        }
        rejected = config_load_directory(dir, against, &list, &n, NULL, &d);
        diag_sort(&d);
        diag_print(&d, stderr);
        for (size_t k = 0; k < n; k++)
                say_ok(o, list[k]);
        pipelines_free(list, n);
        diag_done(&d);
        daemon_config_done(&dc);
        if (rejected < 0)
                return 2;
        return rejected > 0 ? 1 : ret;
}
