/* SPDX-License-Identifier: MIT */
/* Pipelines, tasks and the mapping between task instances and target instances */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "binding.h"
#include "param.h"
#include "target.h"
#include "util/time-util.h"

typedef struct Pipeline Pipeline;
typedef struct Task Task;

/* Resource limits set on the unit; UINT64_MAX / 0 / USEC_INFINITY mean "not set". */
typedef struct Limits {
        uint64_t memory_max;
        unsigned cpu_quota_permille;
        usec_t runtime_max;
} Limits;

#define LIMITS_UNSET                                                                   \
        (Limits) {                                                                     \
                .memory_max = UINT64_MAX, .cpu_quota_permille = 0,                     \
                .runtime_max = USEC_INFINITY,                                          \
        }

typedef struct TaskParam {
        char *name;
        ParamSpec spec;
} TaskParam;

typedef struct TaskInput {
        Target *target;     /* not owned: the pipeline owns its targets */
        unsigned line;
} TaskInput;

struct Task {
        Pipeline *pipeline; /* owner, not freed */
        char *name;
        unsigned line;
        TaskParam *params;  /* in order of first appearance: outputs, then inputs */
        size_t n_params;
        TaskInput *inputs;
        size_t n_inputs;
        Target **outputs;   /* not owned */
        size_t n_outputs;
        char **exec;
        unsigned exec_line;
        Limits limits;
};

struct Pipeline {
        char *name;         /* the file name without ".conf" */
        char *file;
        Target **targets;
        size_t n_targets;
        Task **tasks;
        size_t n_tasks;
};

Pipeline *pipeline_free(Pipeline *p);
DEFINE_POINTER_CLEANUP(Pipeline, pipeline_free);
Target *pipeline_find_target(const Pipeline *p, const char *name) _pure_;
Task *pipeline_find_task(const Pipeline *p, const char *name) _pure_;

Task *task_free(Task *t);
DEFINE_POINTER_CLEANUP(Task, task_free);
const TaskParam *task_find_param(const Task *t, const char *name) _pure_;

/*
 * From an input instance to the task instance it belongs to (the inverse of the input's
 * mapping). 1 and *ret on success; 0 when the input instance determines no instance.
 */
int task_instance_from_input(const Task *task, size_t input, const Binding *input_binding,
                             Binding **ret);
/* Where the input instances of a task instance live (several for a fan-in). */
int task_input_locations(const Task *task, size_t input, const Binding *b, char ***ret);
int task_output_location(const Task *task, size_t output, const Binding *b, char **ret);

/* The instance string: the values in parameter order, escaped for a unit name. */
int task_instance_id(const Task *task, const Binding *b, char **ret);
/* sluice-<pipeline>-<task>@<instance>.service, with a digest for an instance too long. */
int task_unit_name(const Task *task, const char *instance_id, char **ret);
/* The prefix every unit of a task starts with: "sluice-<pipeline>-<task>@". */
int task_unit_prefix(const Task *task, char **ret);
