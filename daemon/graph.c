/* SPDX-License-Identifier: MIT */
/*
 * The static graph: pipelines own their targets and tasks; tasks point at targets. Task
 * instances are not objects here: one is a Task plus a Binding of its parameters, and the
 * functions below translate between that and target instances in both directions. Pure.
 */
#include <stdio.h>
#include <string.h>

#include "graph.h"
#include "util/escape.h"
#include "util/strv.h"

Task *task_free(Task *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_params; i++) {
                free(t->params[i].name);
                param_spec_done(&t->params[i].spec);
        }
        free(t->params);
        free(t->inputs);
        free(t->outputs);
        strv_free(t->exec);
        free(t->name);
        free(t);
        return NULL;
}

Pipeline *pipeline_free(Pipeline *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_tasks; i++)
                task_free(p->tasks[i]);
        for (size_t i = 0; i < p->n_targets; i++)
                target_free(p->targets[i]);
        free(p->tasks);
        free(p->targets);
        free(p->name);
        free(p->file);
        free(p);
        return NULL;
}

Target *pipeline_find_target(const Pipeline *p, const char *name) {
        for (size_t i = 0; i < p->n_targets; i++)
                if (streq(p->targets[i]->name, name))
                        return p->targets[i];
        return NULL;
}

Task *pipeline_find_task(const Pipeline *p, const char *name) {
        for (size_t i = 0; i < p->n_tasks; i++)
                if (streq(p->tasks[i]->name, name))
                        return p->tasks[i];
        return NULL;
}

const TaskParam *task_find_param(const Task *t, const char *name) {
        for (size_t i = 0; i < t->n_params; i++)
                if (streq(t->params[i].name, name))
                        return &t->params[i];
        return NULL;
}

int task_instance_from_input(const Task *task, size_t input, const Binding *input_binding,
                             Binding **ret) {
        _cleanup_(binding_freep) Binding *b = NULL;
        int r;

        /* Identity mapping: the input binds every parameter of the task (checked at load). */
        r = binding_new(&b);
        if (r < 0)
                return r;
        for (size_t i = 0; i < task->n_params; i++) {
                const char *v = binding_get(input_binding, task->params[i].name);
                if (!v)
                        return 0;
                r = binding_set(b, task->params[i].name, v);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(b);
        return 1;
}

int task_input_locations(const Task *task, size_t input, const Binding *b, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        char *s;
        int r;

        r = template_format(task->inputs[input].target->template, b, &s);
        if (r < 0)
                return r;
        r = strv_consume(&l, s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

int task_output_location(const Task *task, size_t output, const Binding *b, char **ret) {
        return template_format(task->outputs[output]->template, b, ret);
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
