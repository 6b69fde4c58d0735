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
#include "util/escape.h"
#include "task-params.h"
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
        if (r < 0 && !o->config_dir_given)
                fprintf(stderr, "sluicectl: no sluiced answered%s to say where its files are; "
                                "give them with -C DIR\n", o->user ? " on the user bus" : "");
        return r < 0 ? r : 0;
}

Task *ctl_find_task(const CtlPipelines *p, const char *name) {
        _cleanup_strv_free_ char **all = NULL, **in = NULL;
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
                                (void) strv_extend(&in, t->pipeline->name);
                        }
                }
        if (matches == 1)
                return found;
        if (matches > 1) {
                /* As the daemon says it: "in pipelines p3 and p4: say which, p3/b or p4/b". */
                size_t n = strv_length(in);

                fprintf(stderr, "sluicectl: task '%s' is in pipelines", ctl_shown(name));
                for (size_t i = 0; i < n; i++)
                        fprintf(stderr, "%s%s", i == 0 ? " " : i == n - 1 ? " and " : ", ", in[i]);
                fprintf(stderr, ": say which,");
                for (size_t i = 0; i < n; i++)
                        fprintf(stderr, "%s%s/%s", i == 0 ? " " : i == n - 1 ? " or " : ", ", in[i],
                                ctl_shown(name));
                fputc('\n', stderr);
                return NULL;
        }
        {
                const char *guess = strv_find_closest(all, name);
                fprintf(stderr, "sluicectl: no task '%s'%s%s%s\n", ctl_shown(name),
                        guess ? " (did you mean '" : "", strempty(guess), guess ? "'?)" : "");
        }
        return NULL;
}

int ctl_task_binding(const Task *task, char * const *params, Binding **ret) {
        _cleanup_free_ char *error = NULL;
        int r;

        r = task_binding_from_params(task, params, ret, &error);
        if (r == -EINVAL) {
                _cleanup_strv_free_ char **lines = strv_split_newlines(error);
                STRV_FOREACH(l, lines)
                        fprintf(stderr, "sluicectl: %s\n", ctl_shown(*l));
        }
        return r;
}

int ctl_instance_names(const Task *task, char * const *params, char **ret_id, char **ret_unit) {
        _cleanup_(binding_freep) Binding *b = NULL;
        int r;

        r = ctl_task_binding(task, params, &b);
        if (r < 0)
                return r;
        r = task_instance_id(task, b, ret_id);
        if (r >= 0)
                r = task_unit_name(task, *ret_id, ret_unit);
        return r;
}

const char *ctl_shown(const char *s) {
        static char *ring[16];
        static unsigned next;
        char *e = s ? display_escape(s) : NULL;

        if (!e)
                return s;
        free(ring[next]);
        ring[next] = e;
        next = (next + 1) % ELEMENTSOF(ring);
        return e;
}

void ctl_json_string(const char *s) {
        putchar('"');
        for (; s && *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '"' || c == '\\')
                        printf("\\%c", c);
                else if (c < 0x20)
                        printf("\\u%04x", c);
                else
                        putchar(c);
        }
        putchar('"');
}

bool ctl_colors(void) {
        const char *t = getenv("TERM");

        return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && t && !streq(t, "dumb");
}

bool ctl_unicode(void) {
        return streq(nl_langinfo(CODESET), "UTF-8");
}
