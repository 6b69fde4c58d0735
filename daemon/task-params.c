/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task-params.h"
#include "util/strv.h"

int task_binding_from_params(const Task *task, char * const *params, Binding **ret,
                             char **ret_error) {
        _cleanup_(binding_freep) Binding *b = NULL;
        _cleanup_strv_free_ char **given = NULL, **problems = NULL;
        int r;

        *ret_error = NULL;
        r = binding_new(&b);
        if (r < 0)
                return r;
        STRV_FOREACH(p, params) {
                const char *eq = strchr(*p, '=');
                _cleanup_free_ char *name = NULL, *spec = NULL;
                const TaskParam *tp;

                if (!eq) {
                        r = strv_extendf(&problems, "--param '%s': expected NAME=VALUE", *p);
                        if (r < 0)
                                return r;
                        continue;
                }
                name = strndup(*p, (size_t) (eq - *p));
                if (!name || strv_extend(&given, name) < 0)
                        return -ENOMEM;
                tp = task_find_param(task, name);
                if (!tp) {
                        _cleanup_strv_free_ char **names = NULL;
                        const char *guess;

                        for (size_t i = 0; i < task->n_params; i++)
                                if (strv_extend(&names, task->params[i].name) < 0)
                                        return -ENOMEM;
                        guess = strv_find_closest(names, name);
                        r = guess ? strv_extendf(&problems, "task '%s' has no parameter '%s' (did "
                                                            "you mean '%s'?)", task->name, name,
                                                 guess)
                                  : strv_extendf(&problems, "task '%s' has no parameter '%s'",
                                                 task->name, name);
                } else if (!param_value_valid(&tp->spec, eq + 1, strlen(eq + 1))) {
                        (void) param_spec_to_string(&tp->spec, &spec);
                        r = strv_extendf(&problems, "--param %s: '%s' is not a valid %s", name, eq + 1,
                                    strna(spec));
                } else
                        r = binding_set(b, name, eq + 1);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < task->n_params; i++)
                if (!strv_contains(given, task->params[i].name)) {
                        _cleanup_free_ char *spec = NULL;

                        (void) param_spec_to_string(&task->params[i].spec, &spec);
                        r = strv_extendf(&problems, "task '%s' needs --param %s=VALUE (%s)", task->name,
                                    task->params[i].name, strna(spec));
                        if (r < 0)
                                return r;
                }
        if (problems) {
                r = strv_join(problems, "\n", ret_error);
                return r < 0 ? r : -EINVAL;
        }
        *ret = TAKE_PTR(b);
        return 0;
}
