/* SPDX-License-Identifier: MIT */
/*
 * The static graph: pipelines own their targets and tasks; tasks point at targets. Task
 * instances are not objects here: one is a Task plus a Binding of its parameters, and the
 * functions below translate between that and target instances in both directions. Pure.
 */
#include <stdio.h>
#include <string.h>

#include "graph.h"
#include "util/fs-identity.h"
#include "util/escape.h"
#include "util/strv.h"

void task_input_done(TaskInput *in) {
        for (size_t i = 0; i < in->n_maps; i++) {
                free(in->maps[i].param);
                expr_free(in->maps[i].expr);
        }
        free(in->maps);
        free(in->name);
}

void limits_merge(Limits *a, const Limits *b) {
        if (a->memory_max == UINT64_MAX)
                a->memory_max = b->memory_max;
        if (a->memory_high == UINT64_MAX)
                a->memory_high = b->memory_high;
        if (a->cpu_quota_permille == 0)
                a->cpu_quota_permille = b->cpu_quota_permille;
        if (a->cpu_weight == 0)
                a->cpu_weight = b->cpu_weight;
        if (a->io_weight == 0)
                a->io_weight = b->io_weight;
        if (a->tasks_max == UINT64_MAX)
                a->tasks_max = b->tasks_max;
        if (a->runtime_max == USEC_INFINITY)
                a->runtime_max = b->runtime_max;
        if (!a->nice_set) {
                a->nice = b->nice;
                a->nice_set = b->nice_set;
        }
}

Task *task_free(Task *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_claims; i++)
                free(t->claims[i].pool);
        free(t->claims);
        free(t->user);
        free(t->group);
        fs_identity_done(t->user_cache);
        free(t->user_cache);
        free(t->working_directory);
        for (size_t i = 0; i < t->n_inputs; i++)
                task_input_done(&t->inputs[i]);
        for (size_t i = 0; i < t->n_params; i++) {
                free(t->params[i].name);
                param_spec_done(&t->params[i].spec);
        }
        free(t->params);
        free(t->inputs);
        free(t->outputs);
        strv_free(t->exec);
        for (size_t e = 0; e < _NOTIFY_EVENT_MAX; e++)
                strv_free(t->notify[e]);
        free(t->name);
        free(t->file);
        free(t);
        return NULL;
}

Pipeline *pipeline_free(Pipeline *p) {
        if (!p)
                return NULL;
        HASH_CLEAR(hh, p->task_index);
        HASH_CLEAR(hh, p->target_index);
        for (size_t i = 0; i < p->n_tasks; i++)
                task_free(p->tasks[i]);
        for (size_t i = 0; i < p->n_targets; i++)
                target_free(p->targets[i]);
        free(p->tasks);
        free(p->targets);
        free(p->name);
        free(p->file);
        free(p->source);
        strv_free(p->includes);
        free(p);
        return NULL;
}

/* Room for one more in *array of n: doubling, since one more slot at a time was quadratic for
 * large pipelines. */
static int grow(void *array, size_t n, size_t size) {
        void **a = array, *bigger;

        if (n & (n - 1))
                return 0;       /* not a power of two: there is room */
        bigger = reallocarray(*a, n ? 2 * n : 1, size);
        if (!bigger)
                return -ENOMEM;
        *a = bigger;
        return 0;
}

int pipeline_add_target(Pipeline *p, Target *t) {
        if (grow(&p->targets, p->n_targets, sizeof(Target *)) < 0)
                return -ENOMEM;
        p->targets[p->n_targets++] = t;
        HASH_ADD_KEYPTR(hh, p->target_index, t->name, strlen(t->name), t);
        return 0;
}

int pipeline_add_task(Pipeline *p, Task *task) {
        if (grow(&p->tasks, p->n_tasks, sizeof(Task *)) < 0)
                return -ENOMEM;
        p->tasks[p->n_tasks++] = task;
        HASH_ADD_KEYPTR(hh, p->task_index, task->name, strlen(task->name), task);
        return 0;
}

Target *pipeline_find_target(const Pipeline *p, const char *name) {
        Target *t;

        HASH_FIND_STR(p->target_index, name, t);
        return t;
}

Task *pipeline_find_task(const Pipeline *p, const char *name) {
        Task *t;

        HASH_FIND_STR(p->task_index, name, t);
        return t;
}

const TaskParam *task_find_param(const Task *t, const char *name) {
        for (size_t i = 0; i < t->n_params; i++)
                if (streq(t->params[i].name, name))
                        return &t->params[i];
        return NULL;
}

Binding **bindings_free(Binding **l) {
        for (Binding **b = l; b && *b; b++)
                binding_free(*b);
        free(l);
        return NULL;
}

static int bindings_add(Binding ***l, size_t *n, Binding *b) {
        Binding **m = reallocarray(*l, *n + 2, sizeof(Binding *));

        if (!m) {
                binding_free(b);
                return -ENOMEM;
        }
        m[(*n)++] = b;
        m[*n] = NULL;
        *l = m;
        return 0;
}

/*
 * Every combination of one value from each list: names[i] takes a value from values[i]. With
 * a base binding copied into each. Lists are small: fan-ins of a day's hours or a week's days.
 */
static int product(char **names, char ***values, size_t n, const Binding *base, Binding ***ret) {
        _cleanup_(bindings_freep) Binding **out = NULL;
        size_t idx[n ?: 1], count = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                idx[i] = 0;
                if (!values[i] || !values[i][0]) {
                        *ret = calloc(1, sizeof(Binding *));
                        return *ret ? 0 : -ENOMEM;
                }
        }
        for (;;) {
                Binding *b;
                size_t k;

                r = binding_copy(base, &b);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n && r >= 0; i++)
                        r = binding_set(b, names[i], values[i][idx[i]]);
                if (r < 0) {
                        binding_free(b);
                        return r;
                }
                r = bindings_add(&out, &count, b);
                if (r < 0)
                        return r;
                /* The odometer: last list fastest. */
                for (k = n; k > 0; k--) {
                        if (values[k - 1][++idx[k - 1]])
                                break;
                        idx[k - 1] = 0;
                }
                if (k == 0)
                        break;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

static void values_freep(char ****p) {
        for (char ***l = *p; l && *l; l++)
                strv_free(*l);
        free(*p);
}

int task_input_bindings(const Task *task, size_t input, const Binding *b, Binding ***ret) {
        const TaskInput *in = &task->inputs[input];
        _cleanup_(values_freep) char ***values = NULL;
        _cleanup_strv_free_ char **names = NULL;
        int r;

        values = calloc(in->n_maps + 1, sizeof(char **));
        if (!values)
                return -ENOMEM;
        for (size_t i = 0; i < in->n_maps; i++) {
                const char *p = expr_param(in->maps[i].expr), *v = NULL;

                if (p && !(v = binding_get(b, p)))
                        return -ENOKEY;
                r = expr_eval(in->maps[i].expr, v, &values[i]);
                if (r < 0)
                        return r;
                r = strv_extend(&names, in->maps[i].param);
                if (r < 0)
                        return r;
        }
        return product(names, values, in->n_maps, NULL, ret);
}

/* Whether the input instance `b` is one of those the task instance `tb` reads. */
static int reads(const Task *task, size_t input, const Binding *tb, const Binding *b) {
        _cleanup_(bindings_freep) Binding **l = NULL;
        int r;

        r = task_input_bindings(task, input, tb, &l);
        if (r < 0)
                return r;
        for (Binding **x = l; *x; x++)
                if (binding_equal(*x, b))
                        return 1;
        return 0;
}

/*
 * task_instances_from_input() where every expression of the input is a plain ${param}, a
 * constant or all(), as most are: the values carry over unchanged, and the one candidate is
 * read when every expression agrees with the input instance. The same answer without the
 * product and the forward pass, which a scan would otherwise pay once per file.
 */
static int instances_by_reference(const Task *task, const TaskInput *in, const Binding *ib,
                                  Binding ***ret) {
        _cleanup_(binding_freep) Binding *b = NULL;
        Binding **out;
        int r;

        r = binding_new(&b);
        if (r < 0)
                return r;
        for (size_t j = 0; j < task->n_params; j++) {
                const char *v = NULL;

                for (size_t i = 0; i < in->n_maps && !v; i++)
                        if (streq_ptr(expr_param(in->maps[i].expr), task->params[j].name))
                                v = binding_get(ib, in->maps[i].param);
                if (!v)
                        return -ENOKEY;
                r = binding_set(b, task->params[j].name, v);
                if (r < 0)
                        return r;
        }
        out = calloc(2, sizeof(Binding *));
        if (!out)
                return -ENOMEM;
        bool agree = ib->n == in->n_maps;
        for (size_t i = 0; i < in->n_maps && agree; i++) {
                const char *v = binding_get(ib, in->maps[i].param);

                if (!expr_param(in->maps[i].expr))
                        continue;       /* a constant or all(): compared by the caller */
                agree = v && streq(v, binding_get(b, expr_param(in->maps[i].expr)));
        }
        if (agree)
                out[0] = TAKE_PTR(b);
        *ret = out;
        return 0;
}

int task_instances_from_input(const Task *task, size_t input, const Binding *input_binding,
                              Binding ***ret) {
        const TaskInput *in = &task->inputs[input];
        _cleanup_(values_freep) char ***values = NULL;
        _cleanup_(bindings_freep) Binding **candidates = NULL, **out = NULL;
        _cleanup_strv_free_ char **names = NULL;
        bool references = true, exact = true;
        size_t n = 0;
        int r;

        /* An instance without a constant's value concerns no task instance: "raw(source =
         * web)" reads nothing of source=api. One comparison per constant, first, since a
         * constant has no inverse to ask; all() has none either, and takes any value of its
         * enum (a look-up in the enum's few values): "counts(sample = all())" reads every
         * sample, so which one arrived leaves the task instances to the other bindings, and
         * to none at all in a task without parameters, whose one instance it is. */
        for (size_t i = 0; i < in->n_maps; i++) {
                const Expr *e = in->maps[i].expr;
                const char *v;

                if (expr_param(e))
                        continue;
                v = binding_get(input_binding, in->maps[i].param);
                if (!v)
                        return -ENOKEY;
                if (!expr_takes(e, v)) {
                        *ret = calloc(1, sizeof(Binding *));
                        return *ret ? 0 : -ENOMEM;
                }
        }
        for (size_t i = 0; i < in->n_maps; i++)
                references = references && (in->maps[i].expr->kind == EXPR_REF ||
                                            !expr_param(in->maps[i].expr));
        if (references)
                return instances_by_reference(task, in, input_binding, ret);

        /* Each task parameter from the first expression that reads it (the loader checked
         * there is one): the candidates' product, filtered by the forward direction, which
         * also checks every other expression that reads the same parameter. */
        values = calloc(task->n_params + 1, sizeof(char **));
        if (!values)
                return -ENOMEM;
        for (size_t j = 0; j < task->n_params; j++) {
                unsigned readers = 0;

                for (size_t i = 0; i < in->n_maps; i++) {
                        const char *v;

                        if (!streq_ptr(expr_param(in->maps[i].expr), task->params[j].name))
                                continue;
                        if (readers++ > 0)
                                continue;
                        v = binding_get(input_binding, in->maps[i].param);
                        if (!v)
                                return -ENOKEY;
                        r = expr_invert(in->maps[i].expr, v, &values[j]);
                        if (r < 0)
                                return r;
                }
                if (!values[j])
                        return -ENOKEY;
                /* Read by one expression only, its inverse is exact (expr_invert()): the
                 * forward pass, a whole window's expansion per candidate, would only agree. */
                exact = exact && readers == 1;
                r = strv_extend(&names, task->params[j].name);
                if (r < 0)
                        return r;
        }
        r = product(names, values, task->n_params, NULL, &candidates);
        if (r < 0)
                return r;
        out = calloc(1, sizeof(Binding *));
        if (!out)
                return -ENOMEM;
        for (Binding **c = candidates; *c; c++) {
                r = exact ? 1 : reads(task, input, *c, input_binding);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                r = bindings_add(&out, &n, TAKE_PTR(*c));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

static int input_locations(const Task *task, size_t input, const Binding *b, bool for_task,
                           char ***ret) {
        _cleanup_(bindings_freep) Binding **l = NULL;
        _cleanup_strv_free_ char **locs = NULL;
        Target *t = task->inputs[input].target;
        int r;

        r = task_input_bindings(task, input, b, &l);
        if (r < 0)
                return r;
        for (Binding **x = l; *x; x++) {
                char *s;

                r = for_task && t->kind->task_location ? t->kind->task_location(t, *x, &s)
                                                       : template_format(t->template, *x, &s);
                if (r < 0)
                        return r;
                r = strv_consume(&locs, s);
                if (r < 0)
                        return r;
        }
        if (!locs && !(locs = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(locs);
        return 0;
}

int task_input_locations(const Task *task, size_t input, const Binding *b, char ***ret) {
        return input_locations(task, input, b, false, ret);
}

int task_input_task_locations(const Task *task, size_t input, const Binding *b, char ***ret) {
        return input_locations(task, input, b, true, ret);
}

int task_output_location(const Task *task, size_t output, const Binding *b, char **ret) {
        return template_format(task->outputs[output]->template, b, ret);
}

usec_t task_newest_input(const Task *task, const Binding *b, size_t *ret_input) {
        usec_t newest = 0;

        for (size_t i = 0; i < task->n_inputs; i++) {
                _cleanup_strv_free_ char **locs = NULL;
                Target *t = task->inputs[i].target;

                if (!t->kind->mtime || task->inputs[i].earlier ||
                    task_input_locations(task, i, b, &locs) < 0)
                        continue;
                STRV_FOREACH(l, locs) {
                        usec_t m;

                        if (t->kind->mtime(t, *l, &m) >= 0 && m > newest) {
                                newest = m;
                                if (ret_input)
                                        *ret_input = i;
                        }
                }
        }
        return newest;
}

ssize_t task_output_older(const Task *task, const Binding *b, size_t *ret_input) {
        usec_t newest = task_newest_input(task, b, ret_input);

        for (size_t i = 0; newest > 0 && i < task->n_outputs; i++) {
                _cleanup_free_ char *loc = NULL;
                Target *t = task->outputs[i];
                usec_t m;

                if (t->kind->mtime && task_output_location(task, i, b, &loc) >= 0 &&
                    t->kind->mtime(t, loc, &m) >= 0 && m < newest)
                        return (ssize_t) i;
        }
        return -1;
}

int task_instance_time(const Task *task, const Binding *b, int64_t *ret) {
        bool any = false;
        int64_t latest = 0;

        for (size_t i = 0; i < task->n_params; i++) {
                const char *v = binding_get(b, task->params[i].name);
                int64_t t;

                if (!v || param_to_realtime(task->params[i].spec.type, v, &t) < 0)
                        continue;
                latest = any ? MAX(latest, t) : t;
                any = true;
        }
        if (!any)
                return -ENODATA;
        *ret = latest;
        return 0;
}

int task_params_to_string(const Task *task, const Binding *b, char **ret) {
        _cleanup_strv_free_ char **parts = NULL;
        int r = 0;

        for (size_t i = 0; i < task->n_params && r >= 0; i++) {
                const char *v = binding_get(b, task->params[i].name);

                if (v)
                        r = strv_extendf(&parts, "%s=%s", task->params[i].name, v);
        }
        for (size_t i = 0; b && i < b->n && r >= 0; i++)
                if (!task_find_param(task, b->entries[i].name))
                        r = strv_extendf(&parts, "%s=%s", b->entries[i].name,
                                         b->entries[i].value);
        if (r < 0)
                return r;
        if (!parts)
                return (*ret = strdup("")) ? 0 : -ENOMEM;
        return strv_join(parts, " ", ret);
}

int task_instance_id(const Task *task, const Binding *b, char **ret) {
        _cleanup_strv_free_ char **parts = NULL;
        int r;

        for (size_t i = 0; i < task->n_params; i++) {
                const char *v = binding_get(b, task->params[i].name);
                char *e;

                if (!v)
                        return -ENOKEY;
                r = unit_escape_value(v, &e);
                if (r < 0)
                        return r;
                r = strv_consume(&parts, e);
                if (r < 0)
                        return r;
        }
        if (!parts)
                return (*ret = strdup("")) ? 0 : -ENOMEM;
        return strv_join(parts, "-", ret);
}

int task_unit_prefix(const Task *task, char **ret) {
        return asprintf(ret, "sluice-%s-%s@", task->pipeline->name, task->name) < 0 ? -ENOMEM : 0;
}

int task_unit_name(const Task *task, const char *instance_id, char **ret) {
        _cleanup_free_ char *prefix = NULL;
        char digest[33];
        int r;

        if (instance_id[0] == 0)
                return asprintf(ret, "sluice-%s-%s.service", task->pipeline->name, task->name) < 0
                               ? -ENOMEM
                               : 0;
        r = task_unit_prefix(task, &prefix);
        if (r < 0)
                return r;
        if (strlen(prefix) + strlen(instance_id) + strlen(".service") <= UNIT_NAME_MAX)
                return asprintf(ret, "%s%s.service", prefix, instance_id) < 0 ? -ENOMEM : 0;
        /* Too long for systemd: a digest stands in, and SLUICE_INSTANCE in the unit's
         * environment keeps the real instance. Escaped values never begin with '.', so the
         * leading '.' keeps digests apart from real instances. */
        hash_hex(instance_id, digest);
        return asprintf(ret, "%s.%s.service", prefix, digest) < 0 ? -ENOMEM : 0;
}
