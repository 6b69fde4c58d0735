/* SPDX-License-Identifier: MIT */
/*
 * Helpers of sluicectl's verbs. Everything here reads configuration and prints; nothing talks
 * to the daemon, so these verbs work where no daemon runs.
 */
#include <langinfo.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl-util.h"
#include "util/fs-util.h"
#include "util/strv.h"

void ctl_pipelines_done(CtlPipelines *p) {
        pipelines_free(p->list, p->n);
        p->list = NULL;
        p->n = 0;
}

int ctl_load_pipelines(const CtlOptions *o, CtlPipelines *ret) {
        _cleanup_free_ char *dir = NULL;
        Diag d = {};
        int r;

        if (path_join(o->config_dir, "pipelines.d", &dir) < 0)
                return -ENOMEM;
        r = config_load_directory(dir, NULL, &ret->list, &ret->n, NULL, &d);
        diag_sort(&d);
        diag_print(&d, stderr);
        diag_done(&d);
        if (r > 0)
                fprintf(stderr, "sluicectl: %d pipeline file(s) in %s have errors and are left "
                                "out\n", r, dir);
        return r < 0 ? r : 0;
}

Task *ctl_find_task(const CtlPipelines *p, const char *name) {
        _cleanup_strv_free_ char **all = NULL;
        const char *slash = strchr(name, '/');
        Task *found = NULL;
        size_t matches = 0;

        for (size_t i = 0; i < p->n; i++)
                for (size_t k = 0; k < p->list[i]->n_tasks; k++) {
                        Task *t = p->list[i]->tasks[k];
                        bool match = slash ? strlen(t->pipeline->name) == (size_t) (slash - name) &&
                                                     strneq(t->pipeline->name, name,
                                                            (size_t) (slash - name)) &&
                                                     streq(t->name, slash + 1)
                                           : streq(t->name, name);

                        (void) strv_extendf(&all, "%s/%s", t->pipeline->name, t->name);
                        (void) strv_extend(&all, t->name);
                        if (match) {
                                found = t;
                                matches++;
                        }
                }
        if (matches == 1)
                return found;
        if (matches > 1) {
                fprintf(stderr, "sluicectl: task '%s' is in several pipelines; say which: "
                                "PIPELINE/%s\n", name, name);
                return NULL;
        }
        {
                const char *guess = strv_find_closest(all, name);
                fprintf(stderr, "sluicectl: no task '%s'%s%s%s\n", name,
                        guess ? " (did you mean '" : "", strempty(guess), guess ? "'?)" : "");
        }
        return NULL;
}

int ctl_task_binding(const Task *task, char * const *params, Binding **ret) {
        _cleanup_(binding_freep) Binding *b = NULL;
        _cleanup_strv_free_ char **given = NULL;
        bool bad = false;
        int r;

        r = binding_new(&b);
        if (r < 0)
                return r;
        STRV_FOREACH(p, params) {
                const char *eq = strchr(*p, '=');
                _cleanup_free_ char *name = NULL, *spec = NULL;
                const TaskParam *tp;

                if (!eq) {
                        fprintf(stderr, "sluicectl: --param '%s': expected NAME=VALUE\n", *p);
                        bad = true;
                        continue;
                }
                name = strndup(*p, (size_t) (eq - *p));
                if (!name || strv_extend(&given, name) < 0)
                        return -ENOMEM;
                tp = task_find_param(task, name);
                if (!tp) {
                        fprintf(stderr, "sluicectl: task '%s' has no parameter '%s'\n",
                                task->name, name);
                        bad = true;
                        continue;
                }
                if (!param_value_valid(&tp->spec, eq + 1, strlen(eq + 1))) {
                        (void) param_spec_to_string(&tp->spec, &spec);
                        fprintf(stderr, "sluicectl: --param %s: '%s' is not a valid %s\n", name,
                                eq + 1, strna(spec));
                        bad = true;
                        continue;
                }
                r = binding_set(b, name, eq + 1);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < task->n_params; i++)
                if (!strv_contains(given, task->params[i].name)) {
                        _cleanup_free_ char *spec = NULL;
                        (void) param_spec_to_string(&task->params[i].spec, &spec);
                        fprintf(stderr, "sluicectl: task '%s' needs --param %s=VALUE (%s)\n",
                                task->name, task->params[i].name, strna(spec));
                        bad = true;
                }
        if (bad)
                return -EINVAL;
        *ret = TAKE_PTR(b);
        return 0;
}

bool ctl_colors(void) {
        const char *t = getenv("TERM");

        return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && t && !streq(t, "dumb");
}

bool ctl_unicode(void) {
        return streq(nl_langinfo(CODESET), "UTF-8");
}
