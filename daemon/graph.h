/* SPDX-License-Identifier: MIT */
/* Pipelines, tasks and the mapping between task instances and target instances */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "binding.h"
#include "mapping.h"
#include "notifier.h"
#include "param.h"
#include "target.h"
#include "util/time-util.h"

typedef struct Pipeline Pipeline;
typedef struct Task Task;

/* Resource limits set on a unit or slice; UINT64_MAX, 0 or USEC_INFINITY mean "not set". */
typedef struct Limits {
        uint64_t memory_max;
        uint64_t memory_high;
        unsigned cpu_quota_permille;
        uint64_t cpu_weight;    /* 1-10000, 0 unset */
        uint64_t io_weight;     /* 1-10000, 0 unset */
        uint64_t tasks_max;
        usec_t runtime_max;
        int nice;
        bool nice_set;
} Limits;

#define LIMITS_UNSET                                                                   \
        (Limits) {                                                                     \
                .memory_max = UINT64_MAX, .memory_high = UINT64_MAX,                   \
                .tasks_max = UINT64_MAX, .runtime_max = USEC_INFINITY,                 \
        }

/* Each unset field of a takes b's. */
void limits_merge(Limits *a, const Limits *b);

/* What happens after a failed run. */
typedef struct RetryPolicy {
        unsigned attempts;      /* runs in all, first included; 1: no retry */
        usec_t delay;           /* before the first retry */
        double backoff;         /* factor on the delay after each further failure */
        usec_t max_delay;
        usec_t disable_window;  /* failed instances are re-armed after this; 0: never by time */
        double memory_grow;     /* after an oom-kill, retry with MemoryMax times this; 0: final */
        uint64_t memory_cap;    /* never grow beyond; UINT64_MAX: no cap */
} RetryPolicy;

#define RETRY_DEFAULT                                                                  \
        (RetryPolicy) {                                                                \
                .attempts = 1, .delay = 30 * USEC_PER_SEC, .backoff = 2.0,             \
                .max_delay = USEC_PER_HOUR, .memory_cap = UINT64_MAX,                  \
        }

/* A share of a named resource pool of sluiced.conf ("db = 1"). */
typedef struct ResourceClaim {
        char *pool;
        unsigned amount;
} ResourceClaim;

typedef struct TaskParam {
        char *name;
        ParamSpec spec;
} TaskParam;

/* One parameter of an input target, bound by an expression over one task parameter. */
typedef struct InputMap {
        char *param;
        Expr *expr;
} InputMap;

typedef struct TaskInput {
        Target *target;     /* not owned: the pipeline owns its targets */
        char *name;         /* the alias, or the target's name: ${input.NAME} */
        unsigned line;
        InputMap *maps;     /* one per parameter of the target, in the template's order */
        size_t n_maps;
        bool multi;         /* a fan-in: one task instance reads several instances of it */
        bool earlier;       /* the task's own output, of earlier instances only */
} TaskInput;

struct Task {
        Pipeline *pipeline; /* owner, not freed */
        char *name;
        char *file;         /* where it is defined: its pipeline's file or one that includes */
        unsigned line;
        TaskParam *params;  /* those of its outputs (every output has them all) */
        size_t n_params;
        TaskInput *inputs;
        size_t n_inputs;
        Target **outputs;   /* not owned */
        size_t n_outputs;
        char **exec;
        unsigned exec_line;
        Limits limits;
        RetryPolicy retry;
        unsigned max_parallel;  /* 0: no limit of its own */
        int priority;           /* higher first */
        ResourceClaim *claims;
        size_t n_claims;
        char *user, *group;
        /* user and group resolved (commit.c), kept a while: a lookup by NSS (LDAP, sssd) on
         * the loop for every start would hold up the daemon. */
        struct FsIdentity *user_cache;
        usec_t user_cache_usec;         /* CLOCK_MONOTONIC, when resolved */
        bool dynamic_user;
        char *working_directory;
        bool sandbox;           /* ProtectSystem=strict, PrivateTmp, NoNewPrivileges */
        bool rerun_newer;       /* complete only while outputs are newer than inputs (make) */
        usec_t lookback;        /* scans evaluate only instances this recent; 0: all */
        char **notify[_NOTIFY_EVENT_MAX];       /* notifier names, per event (on_failure...) */

        unsigned n_running;     /* runtime: its units starting or running now */
        unsigned long long n_succeeded; /* runtime: its runs that succeeded */
        UT_hash_handle hh;      /* in its pipeline's index by name */
};

struct Pipeline {
        char *name;         /* the file name without ".conf" */
        char *file;
        /* The file's text, which tells a reload whether anything changed; NULL when it
         * @includes others, whose changes it cannot see (always loaded afresh then). */
        char *source;
        char **includes;    /* the files it @includes that define something, for messages */
        Limits limits;      /* aggregate, on the pipeline's slice */
        Target **targets;
        size_t n_targets;
        Task **tasks;
        size_t n_tasks;
        /* By name: finding each input and output of 10,000 tasks by a walk was quadratic. */
        Target *target_index;
        Task *task_index;
};

Pipeline *pipeline_free(Pipeline *p);
DEFINE_POINTER_CLEANUP(Pipeline, pipeline_free);
/* Appends, and indexes by name; 0 or -ENOMEM (the caller still owns it then). */
int pipeline_add_target(Pipeline *p, Target *t);
int pipeline_add_task(Pipeline *p, Task *task);
Target *pipeline_find_target(const Pipeline *p, const char *name) _pure_;
Task *pipeline_find_task(const Pipeline *p, const char *name) _pure_;

Task *task_free(Task *t);
DEFINE_POINTER_CLEANUP(Task, task_free);
const TaskParam *task_find_param(const Task *t, const char *name) _pure_;

void task_input_done(TaskInput *in);

/*
 * From an input instance to the task instances that read it, through the inverse of the
 * input's mapping: one for an identity or a shift, several for the inverse of a truncation or
 * a range, none when the instance lies outside every instance's reach. A NULL-terminated array.
 */
int task_instances_from_input(const Task *task, size_t input, const Binding *input_binding,
                              Binding ***ret);
Binding **bindings_free(Binding **l);
DEFINE_POINTER_CLEANUP(Binding *, bindings_free);
/* The input instances a task instance reads (several for a fan-in), as bindings of the input
 * target, oldest first. */
int task_input_bindings(const Task *task, size_t input, const Binding *b, Binding ***ret);
/* Where they live. */
int task_input_locations(const Task *task, size_t input, const Binding *b, char ***ret);
/* Where the task finds them (${input}, $SLUICE_INPUT): the same, but for a kind that names
 * them otherwise for a program (a URL's values percent-encoded). */
int task_input_task_locations(const Task *task, size_t input, const Binding *b, char ***ret);
int task_output_location(const Task *task, size_t output, const Binding *b, char **ret);
/* The newest input's modification time (its index in *ret_input), 0 when no kind can tell;
 * inputs read from earlier instances of the task itself are not counted. */
usec_t task_newest_input(const Task *task, const Binding *b, size_t *ret_input);
/* An output that exists and is older than the newest input, make's "out of date": its index,
 * and the input's in *ret_input; -1 when none is. */
ssize_t task_output_older(const Task *task, const Binding *b, size_t *ret_input);

/* When the instance's period begins (its latest time parameter), or -ENODATA without one. */
int task_instance_time(const Task *task, const Binding *b, int64_t *ret);

/* "name=value ..." in the task's parameter order, the order of its unit name's values (a
 * binding keeps them by name); anything the task does not declare last. */
int task_params_to_string(const Task *task, const Binding *b, char **ret);
/* The instance string: the values in parameter order, escaped for a unit name. */
int task_instance_id(const Task *task, const Binding *b, char **ret);
/* sluice-<pipeline>-<task>@<instance>.service, with a digest for an instance too long. */
int task_unit_name(const Task *task, const char *instance_id, char **ret);
/* The prefix every unit of a task starts with: "sluice-<pipeline>-<task>@". */
int task_unit_prefix(const Task *task, char **ret);
