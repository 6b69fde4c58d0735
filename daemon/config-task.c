/* SPDX-License-Identifier: MIT */
/*
 * The task half of the pipeline loader: names, outputs (which define a task's parameters),
 * inputs with their mappings, exec and limits. The rule that makes the daemon work is checked
 * here: every input must determine the task instances it feeds (its mapping has an inverse for
 * every task parameter), since events arrive at inputs.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config-internal.h"
#include "subst.h"
#include "util/strv.h"

char **string_list(Loader *l, const config_setting_t *s, const char *subject, const char *key,
                   const char *example) {
        _cleanup_strv_free_ char **list = NULL;
        Diag *d = l->diag;

        if (!config_setting_is_aggregate(s) || config_setting_is_group(s)) {
                diag_error(d, line_of(s), "%s'%s' must be a list of strings like %s, not %s",
                           subject, key, example, type_name(s));
                return NULL;
        }
        for (int i = 0; i < config_setting_length(s); i++) {
                const config_setting_t *e = config_setting_get_elem(s, (unsigned) i);
                const char *v = config_setting_get_string(e);

                if (!v) {
                        diag_error(d, line_of(e), "%s'%s' must hold strings, but element %d is %s",
                                   subject, key, i + 1, type_name(e));
                        return NULL;
                }
                if (strv_extend(&list, v) < 0)
                        return NULL;
        }
        if (!list) {
                diag_error(d, line_of(s), "%s'%s' is empty", subject, key);
                return NULL;
        }
        return TAKE_PTR(list);
}

Target *lookup_target(Loader *l, const char *name, unsigned line, const char *subject,
                      const char *key) {
        _cleanup_strv_free_ char **names = NULL;
        Pipeline *p = l->pipeline;
        Target *t = pipeline_find_target(p, name);
        const char *guess;

        if (t || strv_contains(l->broken_targets, name))
                return t;
        for (size_t i = 0; i < p->n_targets; i++)
                (void) strv_extend(&names, p->targets[i]->name);
        guess = strv_find_closest(names, name);
        if (guess)
                diag_error(l->diag, line, "%sunknown target '%s' in %s (did you mean '%s'?)",
                           subject, name, key, guess);
        else
                diag_error(l->diag, line, "%sunknown target '%s' in %s", subject, name, key);
        return NULL;
}

static int add_param(Task *task, const TemplateParam *tp) {
        TaskParam *n = reallocarray(task->params, task->n_params + 1, sizeof(TaskParam));

        if (!n)
                return -ENOMEM;
        task->params = n;
        n[task->n_params] = (TaskParam){ .name = strdup(tp->name) };
        if (!n[task->n_params].name || param_spec_copy(&tp->spec, &n[task->n_params].spec) < 0) {
                free(n[task->n_params].name);
                return -ENOMEM;
        }
        task->n_params++;
        return 0;
}

static char *spec_string(const ParamSpec *s) {
        char *t = NULL;

        (void) param_spec_to_string(s, &t);
        return t;
}

/*
 * The task's parameters are its outputs': each instance writes one instance of every output,
 * so every output must have the same parameters, or two instances would write one file.
 */
static void parse_outputs(Loader *l, Task *task, const config_setting_t *s, const char *subject) {
        _cleanup_strv_free_ char **names = string_list(l, s, subject, "outputs", "[ \"counts\" ]");

        for (size_t i = 0; names && names[i]; i++) {
                unsigned line = line_of(config_setting_get_elem(s, (unsigned) i));
                Target *t = lookup_target(l, names[i], line, subject, "outputs");
                const Template *tp;
                Target **n;

                if (!t)
                        continue;
                for (size_t k = 0; k < task->n_outputs; k++)
                        if (task->outputs[k] == t) {
                                diag_error(l->diag, line, "%soutput '%s' is listed twice",
                                           subject, t->name);
                                t = NULL;
                                break;
                        }
                if (!t)
                        continue;
                tp = t->template;
                if (task->n_outputs == 0) {
                        for (size_t k = 0; k < tp->n_params; k++)
                                if (add_param(task, &tp->params[k]) < 0)
                                        return;
                } else {
                        bool same = tp->n_params == task->n_params;

                        for (size_t k = 0; same && k < tp->n_params; k++) {
                                const TaskParam *have = task_find_param(task, tp->params[k].name);
                                same = have && param_spec_equal(&have->spec, &tp->params[k].spec);
                        }
                        if (!same)
                                diag_error(l->diag, line,
                                           "%soutputs '%s' and '%s' have different parameters; "
                                           "every instance writes one of each, so they must "
                                           "have the same",
                                           subject, task->outputs[0]->name, t->name);
                }
                n = reallocarray(task->outputs, task->n_outputs + 1, sizeof(Target *));
                if (!n)
                        return;
                task->outputs = n;
                n[task->n_outputs++] = t;
        }
}

static const ParamSpec *lookup_task_param(const char *name, void *userdata) {
        const TaskParam *p = task_find_param(userdata, name);

        return p ? &p->spec : NULL;
}

static bool is_output(const Task *task, const Target *t) {
        for (size_t i = 0; i < task->n_outputs; i++)
                if (task->outputs[i] == t)
                        return true;
        return false;
}

/* The largest offset of an expression from its parameter, or false when it has none (a
 * truncation or an expansion reaches anything in its period). */
static bool max_offset(const Expr *e, int64_t *ret) {
        int64_t sub;

        switch (e->kind) {
        case EXPR_REF:
                *ret = 0;
                return true;
        case EXPR_SHIFT:
                if (!max_offset(e->a, &sub))
                        return false;
                *ret = sub + e->delta;
                return true;
        case EXPR_RANGE:
                return max_offset(e->b, ret);
        default:
                return false;
        }
}

/*
 * A task may read its own output target only for earlier instances: the previous day's
 * running total. Otherwise an instance would wait for itself.
 */
static bool only_earlier(const TaskInput *in) {
        bool back = false;

        for (size_t i = 0; i < in->n_maps; i++) {
                int64_t off;

                if (!max_offset(in->maps[i].expr, &off) || off > 0)
                        return false;
                back = back || off < 0;
        }
        return back;
}

/* What a value of the type looks like, for a constant that is not one. */
static const char *value_hint(ParamType t) {
        switch (t) {
        case PARAM_STRING:
                return " (any text without '/', quoted if it has spaces or punctuation)";
        case PARAM_INT:
                return " (like 42 or -1, without leading zeros)";
        case PARAM_DATE:
                return " (like 2026-11-27)";
        case PARAM_HOUR:
                return " (like 2026-11-27T13)";
        case PARAM_MONTH:
                return " (like 2026-11)";
        case PARAM_WEEK:
                return " (like 2026-W48)";
        case PARAM_PATH:
                return " (names joined by '/')";
        default:
                return "";
        }
}

/* A constant binds the target's parameter to one value of the parameter's own type. */
static int check_constant(Loader *l, const Task *task, const TaskInput *in,
                          const TemplateParam *param, Expr *e, const char *subject) {
        const Template *tpl = in->target->template;
        _cleanup_free_ char *want = NULL;
        const char *why;

        if (!param_value_valid(&param->spec, e->value, strlen(e->value))) {
                want = spec_string(&param->spec);
                diag_error(l->diag, in->line,
                           "%sinput '%s': '%s' is not a value of '%s' of target '%s', which is "
                           "%s%s",
                           subject, in->name, e->value, param->name, in->target->name,
                           strna(want), value_hint(param->spec.type));
                return -EINVAL;
        }
        why = in->target->kind->value_ignored
                      ? in->target->kind->value_ignored(in->target,
                                                        (size_t) (param - tpl->params), e->value)
                      : NULL;
        if (why) {
                diag_error(l->diag, in->line,
                           "%sinput '%s': %s = %s would never arrive: target '%s' passes over %s",
                           subject, in->name, param->name, e->value, in->target->name, why);
                return -EINVAL;
        }
        e->type = param->spec.type;
        /* A bare word that names a task parameter is most likely a ${} left out; quoted, the
         * value is meant. */
        if (!e->quote && task_find_param(task, e->value))
                diag_warning(l->diag, in->line,
                             "%sinput '%s': %s = %s binds the value '%s', not the task "
                             "parameter ${%s}; quote the value if it is meant: %s = '%s'",
                             subject, in->name, param->name, e->value, e->value, e->value,
                             param->name, e->value);
        return 0;
}

/* all() binds the target's parameter to every value of its enum, the only type whose values
 * are all known when the pipeline loads. */
static int check_all(Loader *l, const TaskInput *in, const TemplateParam *param, Expr *e,
                     const char *subject) {
        _cleanup_free_ char *have = NULL, *instead = NULL;
        int r;

        r = expr_set_all(e, &param->spec);
        if (r != -EINVAL)
                return r;
        switch (param->spec.type) {
        case PARAM_DATE:
        case PARAM_HOUR:
        case PARAM_MONTH:
        case PARAM_WEEK:
                instead = strdup("time is open-ended: read a period with hours(), days() or "
                                 "range()");
                r = instead ? 0 : -ENOMEM;
                break;
        case PARAM_INT:
                r = asprintf(&instead, "an int's values are open-ended: list them as an enum, "
                             "{%s:enum(1,2,3)}, or read a window of them with range()",
                             param->name);
                break;
        default:
                r = asprintf(&instead, "its values are open-ended (any name a file has): list "
                             "them as an enum, {%s:enum(a,b,c)}", param->name);
        }
        if (r < 0)
                instead = NULL;
        have = spec_string(&param->spec);
        diag_error(l->diag, in->line,
                   "%sinput '%s': all() reads every value of an enum, but '%s' of target '%s' "
                   "is %s: %s",
                   subject, in->name, param->name, in->target->name, strna(have),
                   strna(instead));
        return -EINVAL;
}

/* Builds the maps of one input: explicit expressions, and identity for the rest. */

/* A task parameter whose name is a near miss for name ({sampel} in an output's template and
 * {sample} in an input's), or NULL. */
static const char *closest_task_param(const Task *task, const char *name) {
        _cleanup_free_ char **names = calloc(task->n_params + 1, sizeof(char *));

        if (!names)
                return NULL;
        for (size_t i = 0; i < task->n_params; i++)
                names[i] = task->params[i].name;
        return strv_find_closest(names, name);
}
static int build_maps(Loader *l, Task *task, TaskInput *in, InputSpec *spec,
                      const char *subject, bool outputs_whole) {
        const Template *tp = in->target->template;
        Diag *d = l->diag;
        int r;

        for (size_t k = 0; k < spec->n; k++)
                if (!template_find_param(tp, spec->params[k])) {
                        diag_error(d, in->line, "%sinput '%s': target '%s' has no parameter '%s'",
                                   subject, in->name, in->target->name, spec->params[k]);
                        return -EINVAL;
                }
        /* The task's parameters come from its outputs: with one left out for its own error,
         * whatever would be said of the mappings is that error's echo. */
        if (!outputs_whole)
                return -EINVAL;
        in->maps = calloc(tp->n_params, sizeof(InputMap));
        if (!in->maps)
                return -ENOMEM;
        for (size_t k = 0; k < tp->n_params; k++) {
                const TemplateParam *param = &tp->params[k];
                InputMap *m = &in->maps[in->n_maps];
                _cleanup_free_ char *err = NULL, *text = NULL, *want = NULL, *got = NULL;

                m->param = strdup(param->name);
                if (!m->param)
                        return -ENOMEM;
                for (size_t j = 0; j < spec->n; j++)
                        if (streq(spec->params[j], param->name))
                                m->expr = TAKE_PTR(spec->exprs[j]);
                if (!m->expr) {
                        /* Not bound explicitly: the task parameter of the same name. */
                        if (!task_find_param(task, param->name)) {
                                const char *typo = closest_task_param(task, param->name);

                                in->n_maps++;
                                if (typo)
                                        diag_error(d, in->line,
                                                   "%sinput '%s': its parameter '%s' is bound by "
                                                   "no output, whose templates have '%s': a typo "
                                                   "in one of the two templates? (Or bind it: "
                                                   "%s(%s = ${%s}).)",
                                                   subject, in->name, param->name, typo,
                                                   in->target->name, param->name, typo);
                                else
                                        diag_error(d, in->line,
                                                   "%sinput '%s': its parameter '%s' is bound by "
                                                   "no output; bind it: %s(%s = ...)",
                                                   subject, in->name, param->name,
                                                   in->target->name, param->name);
                                return -EINVAL;
                        }
                        r = expr_new_ref(param->name, &m->expr);
                        if (r < 0)
                                return r;
                }
                in->n_maps++;
                if (m->expr->kind == EXPR_CONST) {
                        r = check_constant(l, task, in, param, m->expr, subject);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (m->expr->kind == EXPR_ALL) {
                        r = check_all(l, in, param, m->expr, subject);
                        if (r < 0)
                                return r;
                        in->multi = true;
                        continue;
                }
                r = expr_check(m->expr, lookup_task_param, task, &err);
                if (r < 0) {
                        diag_error(d, in->line, "%sinput '%s': %s", subject, in->name,
                                   err ?: "out of memory");
                        return r;
                }
                if (m->expr->type != param->spec.type ||
                    (param->spec.type == PARAM_ENUM &&
                     !param_spec_equal(&task_find_param(task, expr_param(m->expr))->spec,
                                       &param->spec))) {
                        (void) expr_to_string(m->expr, &text);
                        want = spec_string(&param->spec);
                        got = m->expr->kind == EXPR_REF
                                      ? spec_string(&task_find_param(task, m->expr->param)->spec)
                                      : strdup(param_type_to_string(m->expr->type));
                        diag_error(d, in->line,
                                   "%sinput '%s': '%s' of target '%s' is %s, but %s gives %s",
                                   subject, in->name, param->name, in->target->name, strna(want),
                                   strna(text), strna(got));
                        return -EINVAL;
                }
                in->multi = in->multi || expr_is_multi(m->expr);
        }
        /* The inverse: each task parameter must be read by some expression of this input, or
         * the input's arrival could not say which instances to evaluate. A constant reads none. */
        for (size_t j = 0; j < task->n_params; j++) {
                bool found = false;

                for (size_t k = 0; k < in->n_maps && !found; k++)
                        found = streq_ptr(expr_param(in->maps[k].expr), task->params[j].name);
                if (!found) {
                        const InputMap *same = NULL;

                        for (size_t k = 0; k < in->n_maps; k++)
                                if (streq(in->maps[k].param, task->params[j].name))
                                        same = &in->maps[k];
                        /* counts(sample = all()) in a task of its own {sample}: each instance
                         * would read every sample, and one arrival concern them all. */
                        if (same && same->expr->kind == EXPR_ALL)
                                diag_error(d, in->line,
                                           "%sinput '%s' does not determine '%s', so its "
                                           "arrival cannot tell which instance to run: all() "
                                           "reads every '%s' of '%s', none of the task's; a "
                                           "task that reads them all has no '%s' of its own",
                                           subject, in->name, task->params[j].name,
                                           same->param, in->target->name, same->param);
                        else
                                diag_error(d, in->line,
                                           "%sinput '%s' does not determine '%s', so its "
                                           "arrival cannot tell which instance to run",
                                           subject, in->name, task->params[j].name);
                        return -EINVAL;
                }
        }
        return 0;
}

static void parse_inputs(Loader *l, Task *task, const config_setting_t *s, const char *subject,
                         bool outputs_whole) {
        _cleanup_strv_free_ char **texts =
                string_list(l, s, subject, "inputs", "[ \"raw\" ]");
        Diag *d = l->diag;

        task->inputs = calloc(strv_length(texts) + 1, sizeof(TaskInput));
        if (!task->inputs)
                return;
        for (size_t i = 0; texts && texts[i]; i++) {
                _cleanup_(input_spec_freep) InputSpec *spec = NULL;
                _cleanup_free_ char *err = NULL;
                unsigned line = line_of(config_setting_get_elem(s, (unsigned) i));
                TaskInput *in = &task->inputs[task->n_inputs];
                Target *t;

                if (input_spec_parse(texts[i], &spec, &err) < 0) {
                        diag_error(d, line, "%sinputs: %s", subject, err ?: "out of memory");
                        continue;
                }
                t = lookup_target(l, spec->target, line, subject, "inputs");
                if (!t)
                        continue;
                *in = (TaskInput){ .target = t, .line = line,
                                   .name = strdup(spec->alias ?: spec->target) };
                task->n_inputs++;
                if (!in->name)
                        return;
                for (size_t k = 0; k + 1 < task->n_inputs; k++)
                        if (streq(task->inputs[k].name, in->name)) {
                                diag_error(d, line, "%sinput '%s' appears twice; name the "
                                                    "second one: other = %s(...)",
                                           subject, in->name, t->name);
                                break;
                        }
                if (build_maps(l, task, in, spec, subject, outputs_whole) < 0)
                        continue;
                if (is_output(task, t)) {
                        in->earlier = only_earlier(in);
                        if (!in->earlier)
                                diag_error(d, line, "%sinput '%s' is the task's own output; "
                                                    "it may read only earlier instances "
                                                    "(like ${day - 1d})",
                                           subject, in->name);
                }
        }
}

/* Warnings, not errors: a program may be installed later, a directory made later, either may
 * be on a mount that is not there yet. Where it cannot tell (no permission), it says nothing. */
static void check_program(Loader *l, const char *path, unsigned line, const char *subject) {
        struct stat st;

        if (stat(path, &st) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        diag_warning(l->diag, line, "%sexec[0] '%s' does not exist: its runs "
                                     "will fail (status 203) until it does", subject, path);
        } else if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                diag_warning(l->diag, line, "%sexec[0] '%s' is not an executable file: its runs "
                             "will fail (status 203)", subject, path);
}

static void check_working_directory(Loader *l, const char *path, unsigned line,
                                    const char *subject) {
        struct stat st;

        if (stat(path, &st) < 0) {
                if (errno == ENOENT)
                        diag_warning(l->diag, line, "%sworking_directory '%s' does not exist: "
                                     "its runs will fail (status 200) until it does",
                                     subject, path);
                else if (errno == ENOTDIR)
                        diag_warning(l->diag, line, "%sworking_directory '%s' is not a "
                                     "directory: its runs will fail (status 200)", subject, path);
        } else if (!S_ISDIR(st.st_mode))
                diag_warning(l->diag, line, "%sworking_directory '%s' is not a directory: its "
                             "runs will fail (status 200)", subject, path);
}

static void parse_exec(Loader *l, Task *task, const config_setting_t *s, const char *subject) {
        task->exec = string_list(l, s, subject, "exec", "[ \"/usr/bin/prog\", \"${input}\" ]");
        task->exec_line = line_of(s);
        if (!task->exec)
                return;
        if (task->exec[0][0] != '/')
                diag_error(l->diag, line_of(s),
                           "%sexec[0] must be an absolute path, not '%s' (systemd does not "
                           "search $PATH for transient units)",
                           subject, task->exec[0]);
        else if (strstr(task->exec[0], "${"))
                /* libconfig joins "a" "b" into "ab": a comma left out makes one program name. */
                diag_warning(l->diag, line_of(s),
                             "%sexec[0] '%s' holds a ${...}: is a comma missing between two "
                             "elements? (strings side by side are joined into one)",
                             subject, task->exec[0]);
        else
                check_program(l, task->exec[0], line_of(s), subject);
}

static int get_string(Loader *l, const config_setting_t *s, const char *subject, char **ret) {
        const char *v = config_setting_get_string(s);

        if (!v || !*v) {
                diag_error(l->diag, line_of(s), "%s'%s' must be a non-empty string, not %s",
                           subject, config_setting_name(s), v ? "an empty one" : type_name(s));
                return -EINVAL;
        }
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

static int get_bool(Loader *l, const config_setting_t *s, const char *subject, bool *ret) {
        if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
                diag_error(l->diag, line_of(s), "%s'%s' must be true or false, not %s", subject,
                           config_setting_name(s), type_name(s));
                return -EINVAL;
        }
        *ret = config_setting_get_bool(s);
        return 0;
}

/* resources = { db = 1; }: shares of the pools of sluiced.conf. */
static void parse_claims(Loader *l, Task *task, const config_setting_t *s, const char *subject) {
        if (!config_setting_is_group(s)) {
                diag_error(l->diag, line_of(s), "%s'resources' must be a group like { db = 1; }, "
                                                "not %s",
                           subject, type_name(s));
                return;
        }
        task->claims = calloc((size_t) config_setting_length(s) + 1, sizeof(ResourceClaim));
        if (!task->claims)
                return;
        for (int i = 0; i < config_setting_length(s); i++) {
                const config_setting_t *m = config_setting_get_elem(s, (unsigned) i);
                const Pool *pool = NULL;
                unsigned long v;

                if (config_get_uint(l, m, subject, 1, 1000000, &v) < 0)
                        continue;
                if (l->daemon) {
                        pool = daemon_config_find_pool(l->daemon, config_setting_name(m));
                        if (!pool) {
                                diag_error(l->diag, line_of(m),
                                           "%sno resource pool '%s' in sluiced.conf "
                                           "(resources = { %s = N; })",
                                           subject, config_setting_name(m), config_setting_name(m));
                                continue;
                        }
                        if (v > pool->size) {
                                diag_error(l->diag, line_of(m),
                                           "%stakes %lu of pool '%s', which has %u: it could "
                                           "never run",
                                           subject, v, pool->name, pool->size);
                                continue;
                        }
                }
                task->claims[task->n_claims].pool = strdup(config_setting_name(m));
                if (!task->claims[task->n_claims].pool)
                        return;
                task->claims[task->n_claims++].amount = (unsigned) v;
        }
}

/* A retry policy for oom-kills that can never act, said while it is being written: otherwise
 * it only shows when a run fails for good. */
static void check_memory_retry(Loader *l, const Task *task, const config_setting_t *retry,
                               const char *subject) {
        const Limits *dl = l->daemon ? &l->daemon->default_limits : NULL;
        uint64_t max = task->limits.memory_max != UINT64_MAX ? task->limits.memory_max
                       : dl                                   ? dl->memory_max
                                                              : UINT64_MAX;
        const RetryPolicy *p = &task->retry;

        if (p->memory_grow <= 1.0) {
                if (p->memory_cap != UINT64_MAX)
                        diag_warning(l->diag, line_of(retry), "%sretry: memory_cap without "
                                                              "memory_grow caps nothing",
                                     subject);
                return;
        }
        if (p->attempts <= 1)
                diag_warning(l->diag, line_of(retry), "%sretry: memory_grow with attempts = 1: "
                                                      "there is no retry to grow the limit for",
                             subject);
        if (max == UINT64_MAX && l->daemon)
                diag_warning(l->diag, line_of(retry), "%sretry: memory_grow has no limit to grow: "
                                                      "set limits.memory_max (without one, an "
                                                      "oom-kill is the machine's, and final)",
                             subject);
        else if (max != UINT64_MAX && p->memory_cap <= max)
                diag_warning(l->diag, line_of(retry), "%sretry: memory_cap is not above "
                                                      "memory_max: an oom-kill is never retried "
                                                      "with more memory",
                             subject);
}

/* How the task runs: retries, concurrency, identity, sandbox. */
static void parse_execution(Loader *l, Task *task, const config_setting_t *s,
                            const char *subject) {
        const config_setting_t *m;
        unsigned long v;

        if ((m = config_setting_get_member(s, "retry"))) {
                config_parse_retry(l, &task->retry, m, subject);
                check_memory_retry(l, task, m, subject);
        }
        if ((m = config_setting_get_member(s, "max_parallel")) &&
            config_get_uint(l, m, subject, 1, 100000, &v) >= 0)
                task->max_parallel = (unsigned) v;
        if ((m = config_setting_get_member(s, "priority"))) {
                long long p = config_setting_get_int64(m);
                if (config_setting_type(m) != CONFIG_TYPE_INT || p < -1000 || p > 1000)
                        diag_error(l->diag, line_of(m), "%spriority must be a whole number from "
                                                        "-1000 to 1000 (higher runs first)",
                                   subject);
                else
                        task->priority = (int) p;
        }
        if ((m = config_setting_get_member(s, "resources")))
                parse_claims(l, task, m, subject);
        for (NotifyEvent e = 0; e < _NOTIFY_EVENT_MAX; e++) {
                const char *key = notify_event_key(e);
                const config_setting_t *list = config_setting_get_member(s, key);

                if (!list)
                        continue;
                task->notify[e] = string_list(l, list, subject, key, "[ \"ops\" ]");
                STRV_FOREACH(n, task->notify[e])
                        if (l->daemon && !daemon_config_find_notifier(l->daemon, *n))
                                diag_error(l->diag, line_of(list),
                                           "%s%s: no notifier '%s' in sluiced.conf "
                                           "(notifiers = { %s = { ... }; })",
                                           subject, key, *n, *n);
        }
        if ((m = config_setting_get_member(s, "user")) &&
            get_string(l, m, subject, &task->user) >= 0 &&
            !getpwnam(task->user) && task->user[strspn(task->user, "0123456789")])
                diag_warning(l->diag, line_of(m), "%sno user '%s' on this machine: its runs "
                             "will fail to start", subject, task->user);
        if ((m = config_setting_get_member(s, "group")))
                (void) get_string(l, m, subject, &task->group);
        if ((m = config_setting_get_member(s, "dynamic_user")))
                (void) get_bool(l, m, subject, &task->dynamic_user);
        if ((m = config_setting_get_member(s, "sandbox")))
                (void) get_bool(l, m, subject, &task->sandbox);
        if ((m = config_setting_get_member(s, "working_directory")) &&
            get_string(l, m, subject, &task->working_directory) >= 0 &&
            task->working_directory[0] != '/')
                diag_error(l->diag, line_of(m), "%sworking_directory must be an absolute path, "
                                                "not '%s'",
                           subject, task->working_directory);
        else if (task->working_directory)
                check_working_directory(l, task->working_directory, line_of(m), subject);
        if ((m = config_setting_get_member(s, "rerun"))) {
                const char *rerun = config_setting_get_string(m);
                if (rerun && streq(rerun, "newer"))
                        task->rerun_newer = true;
                else if (!rerun || !streq(rerun, "missing"))
                        diag_error(l->diag, line_of(m), "%srerun must be \"missing\" (outputs "
                                                        "exist: done) or \"newer\" (outputs newer "
                                                        "than inputs: done)",
                                   subject);
        }
        if ((m = config_setting_get_member(s, "lookback")) &&
            config_get_span(l, m, subject, &task->lookback) >= 0) {
                bool timed = false;
                for (size_t k = 0; k < task->n_params; k++)
                        timed = timed || task->params[k].spec.type == PARAM_DATE ||
                                task->params[k].spec.type == PARAM_HOUR ||
                                task->params[k].spec.type == PARAM_WEEK ||
                                task->params[k].spec.type == PARAM_MONTH;
                if (!timed)
                        diag_error(l->diag, line_of(m), "%slookback needs a date, hour, week or "
                                                        "month parameter to measure instances by",
                                   subject);
        }
        if (task->dynamic_user && task->user)
                diag_error(l->diag, line_of(s), "%s'user' and 'dynamic_user' exclude each other",
                           subject);
        /* PrivateTmp= (set by sandbox and implied by DynamicUser=) gives the task /tmp and
         * /var/tmp of its own: outputs there would vanish with it. */
        for (size_t k = 0; (task->sandbox || task->dynamic_user) && k < task->n_outputs; k++) {
                const char *p = task->outputs[k]->template->text;
                if (strneq(p, "/tmp/", 5) || strneq(p, "/var/tmp/", 9))
                        diag_error(l->diag, line_of(s),
                                   "%soutput '%s' is under /tmp or /var/tmp, which a %s task "
                                   "gets a private copy of",
                                   subject, task->outputs[k]->name,
                                   task->sandbox ? "sandboxed" : "dynamic_user");
        }
}

static void parse_task_in(Loader *l, const config_setting_t *s, size_t index) {
        static char * const known[] = { "name", "inputs", "outputs", "exec", "limits",
                                        "retry", "max_parallel", "priority", "resources",
                                        "user", "group", "dynamic_user", "working_directory",
                                        "sandbox", "rerun", "lookback", "on_failure",
                                        "on_success", "on_recovery", "on_retry", NULL };
        _cleanup_(task_freep) Task *task = NULL;
        _cleanup_free_ char *subject = NULL;
        const config_setting_t *m, *inputs;
        Pipeline *p = l->pipeline;
        Diag *d = l->diag;
        const char *name;
        size_t errors = d->n_errors, shape_errors;
        bool shape_ok;

        if (!config_setting_is_group(s)) {
                diag_error(d, line_of(s), "task %zu must be a group { name = ...; }, not %s",
                           index + 1, type_name(s));
                return;
        }
        m = config_setting_get_member(s, "name");
        name = m ? config_setting_get_string(m) : NULL;
        if (!name) {
                diag_error(d, line_of(m ?: s), "task %zu: 'name' is %s", index + 1,
                           m ? "not a string" : "missing");
                return;
        }
        if (asprintf(&subject, "task '%s': ", name) < 0)
                return;
        /* Rejected, and read on all the same: every other problem of the task in one pass. */
        if (!name_ok(name, false))
                diag_error(d, line_of(m), "%sa task name has 1 to 64 letters, digits and '_' "
                                          "only (it becomes part of unit names)",
                           subject);
        if (loader_find_task(l, name)) {
                diag_error(d, line_of(m), "%sa task of this name is already defined", subject);
                return;
        }
        check_keys(l, s, known, subject);

        task = calloc(1, sizeof(Task));
        if (!task)
                return;
        task->pipeline = p;
        task->file = d->file ? strdup(d->file) : NULL;
        task->line = line_of(s);
        task->limits = LIMITS_UNSET;
        task->retry = RETRY_DEFAULT;
        task->name = strdup(name);
        if (!task->name)
                return;

        shape_errors = d->n_errors;
        m = config_setting_get_member(s, "outputs");
        if (m)
                parse_outputs(l, task, m, subject);
        else
                diag_error(d, task->line, "%s'outputs' is missing: a task is complete when its "
                                          "outputs exist",
                           subject);
        inputs = config_setting_get_member(s, "inputs");
        if (!inputs)
                diag_error(d, task->line, "%s'inputs' is missing: a task runs when its inputs "
                                          "arrive",
                           subject);
        else            /* mappings are checked against the outputs' parameters, if whole */
                parse_inputs(l, task, inputs, subject,
                             m && task->n_outputs == (size_t) config_setting_length(m));
        /* The command line refers to the parameters, inputs and outputs read above: checked
         * whenever those loaded (a program given without its path included), so that one
         * pass shows every problem of the task. */
        shape_ok = d->n_errors == shape_errors;
        /* An input or output naming a target rejected for its own errors is left out, and
         * said nothing more of: the command line's references would be judged without it. */
        m = config_setting_get_member(s, "outputs");
        shape_ok = shape_ok && m && (size_t) config_setting_length(m) == task->n_outputs &&
                   inputs && (size_t) config_setting_length(inputs) == task->n_inputs;
        m = config_setting_get_member(s, "exec");
        if (m)
                parse_exec(l, task, m, subject);
        else
                diag_error(d, task->line, "%s'exec' is missing", subject);
        m = config_setting_get_member(s, "limits");
        if (m)
                config_parse_limits(l, &task->limits, m, subject, true);
        parse_execution(l, task, s, subject);

        for (size_t i = 0; shape_ok && task->exec && task->exec[i]; i++) {
                _cleanup_free_ char *err = NULL;

                if (subst_check(task, task->exec[i], &err) < 0)
                        diag_error(d, task->exec_line, "%sexec: %s", subject,
                                   err ?: "out of memory");
        }
        if (shape_ok && task->exec && d->n_errors == errors) {
                _cleanup_free_ char *err = NULL;

                if (subst_check_code(task, &err) < 0)
                        diag_error(d, task->exec_line, "%sexec: %s", subject,
                                   err ?: "out of memory");
        }
        /* Rejected, it is still checked against the others: one pass shows every problem. */
        if (d->n_errors > errors) {
                loader_note_task(l, TAKE_PTR(task), true);
                return;
        }
        if (pipeline_add_task(p, task) < 0)
                return;
        loader_note_task(l, TAKE_PTR(task), false);
}

/* A definition in an @included file is reported there: libconfig knows each setting's file. */
void parse_task(Loader *l, const config_setting_t *s, size_t index) {
        const char *saved = l->diag->file;

        l->diag->file = loader_source(l, s);
        parse_task_in(l, s, index);
        l->diag->file = saved;
}
