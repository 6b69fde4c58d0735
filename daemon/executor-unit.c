/* SPDX-License-Identifier: MIT */
/*
 * What a run's transient unit is made of (executor.c starts it): the locations of its inputs
 * and outputs, the outputs staged where the task writes them, the command line and environment
 * with their values substituted, sluice-result in front of the task or after it, the unit's
 * properties and limits, and the run's record in the state directory, written before the start
 * so that a daemon killed meanwhile finds the run at its next start (recover.c).
 */
#include <stdio.h>
#include <string.h>

#include "backfill.h"
#include "commit.h"
#include "executor-internal.h"
#include "kernel-log.h"
#include "log.h"
#include "notifier.h"
#include "state.h"
#include "subst.h"
#include "util/escape.h"
#include "util/strv.h"

static char *env_name(const char *prefix, const char *name) {
        char *s;

        if (asprintf(&s, "%s%s", prefix, name) < 0)
                return NULL;
        for (char *p = s + strlen(prefix); *p; p++)
                *p = *p == '-' ? '_' : (*p >= 'a' && *p <= 'z') ? (char) (*p - 'a' + 'A') : *p;
        return s;
}

/* The environment contract: the same values as the argv substitutions, by name. */
static int build_env(Instance *i, char * const * const *inputs, char ***ret) {
        _cleanup_strv_free_ char **env = NULL, **all_in = NULL;
        _cleanup_free_ char *in = NULL, *out = NULL, *fin = NULL;
        Task *task = i->task;
        Run *run = i->run;
        int r = 0;

        r |= strv_extendf(&env, "SLUICE_PIPELINE=%s", task->pipeline->name);
        r |= strv_extendf(&env, "SLUICE_TASK=%s", task->name);
        r |= strv_extendf(&env, "SLUICE_INSTANCE=%s", i->id);
        r |= strv_extendf(&env, "SLUICE_RUN_ID=%s", run->id_str);
        r |= strv_extendf(&env, "SLUICE_UNIT=%s", i->unit);
        r |= strv_extendf(&env, "SLUICE_ATTEMPT=%u", run->attempt);
        for (size_t k = 0; k < task->n_params; k++) {
                _cleanup_free_ char *n = env_name("SLUICE_PARAM_", task->params[k].name);
                if (!n)
                        return -ENOMEM;
                r |= strv_extendf(&env, "%s=%s", n,
                                  strempty(binding_get(i->binding, task->params[k].name)));
        }
        for (size_t k = 0; k < task->n_inputs; k++) {
                _cleanup_free_ char *n = env_name("SLUICE_INPUT_", task->inputs[k].name);
                _cleanup_free_ char *j = NULL;
                if (!n || strv_join(inputs[k], "\n", &j) < 0)
                        return -ENOMEM;
                r |= strv_extendf(&env, "%s=%s", n, j);
                STRV_FOREACH(l, inputs[k])
                        r |= strv_extend(&all_in, *l);
        }
        for (size_t k = 0; k < task->n_outputs; k++) {
                _cleanup_free_ char *n = env_name("SLUICE_OUTPUT_", task->outputs[k]->name);
                if (!n)
                        return -ENOMEM;
                r |= strv_extendf(&env, "%s=%s", n, run->staged[k]);
        }
        if (r < 0 || strv_join(all_in, "\n", &in) < 0 || strv_join(run->staged, "\n", &out) < 0 ||
            strv_join(run->outputs, "\n", &fin) < 0)
                return -ENOMEM;
        r |= strv_extendf(&env, "SLUICE_INPUTS=%s", in);
        r |= strv_extendf(&env, "SLUICE_OUTPUTS=%s", out);
        r |= strv_extendf(&env, "SLUICE_FINAL_OUTPUTS=%s", fin);
        if (strv_length(all_in) == 1)
                r |= strv_extendf(&env, "SLUICE_INPUT=%s", all_in[0]);
        if (task->n_outputs == 1)
                r |= strv_extendf(&env, "SLUICE_OUTPUT=%s", run->staged[0]);
        if (r < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(env);
        return 0;
}

static void inputs_freep(char ****p) {
        for (char ***l = *p; l && *l; l++)
                strv_free(*l);
        free(*p);
}

/* The directories a sandboxed run may write: those of its outputs. */
static char **output_dirs(char * const *outputs) {
        char **l = NULL;

        STRV_FOREACH(o, outputs) {
                const char *slash = strrchr(*o, '/');
                _cleanup_free_ char *d = strndup(*o, slash && slash != *o ? (size_t) (slash - *o) : 1);

                if (d && !strv_contains(l, d))
                        (void) strv_extend(&l, d);
        }
        return l;
}

static int argv_prepend(char ***argv, char * const *prefix) {
        _cleanup_strv_free_ char **l = NULL;

        if (strv_copy(prefix, &l) < 0)
                return -ENOMEM;
        STRV_FOREACH(a, *argv)
                if (strv_extend(&l, *a) < 0)
                        return -ENOMEM;
        strv_free(*argv);
        *argv = TAKE_PTR(l);
        return 0;
}

/*
 * Whether the unit's own process can write the state directory: it runs as the daemon's user
 * and outside a sandbox. Then sluice-result wraps the task (ExecStart=) and the manager forks
 * once per run; otherwise it is a privileged ExecStopPost=, a second fork that costs the
 * manager about 40% of its start rate.
 */
static bool can_record_itself(const Task *task) {
        return !task->user && !task->dynamic_user && !task->sandbox;
}

/* Locations, staging, argv, environment and the run record, then the start call. */
int executor_start_unit(Manager *m, Instance *i, bool record, StartError *ret_error) {
        _cleanup_(inputs_freep) char ***inputs = NULL;
        _cleanup_strv_free_ char **argv = NULL, **env = NULL, **fields = NULL, **dirs = NULL,
                                 **stop_post = NULL, **on_failure = NULL;
        _cleanup_free_ char *desc = NULL, *params = NULL, *ident = NULL, *slice = NULL;
        Task *task = i->task;
        Run *run = i->run;
        const StageAs *as;
        UnitSpec spec;
        bool wrapped;
        int r;

        *ret_error = (StartError) { "out of memory" };
        /* Called again after a reset: start over from the locations. */
        run->outputs = strv_free(run->outputs);
        run->staged = strv_free(run->staged);
        run->marks = strv_free(run->marks);
        inputs = calloc(task->n_inputs + 1, sizeof(char **));
        run->outputs = calloc(task->n_outputs + 1, sizeof(char *));
        run->staged = calloc(task->n_outputs + 1, sizeof(char *));
        run->marks = calloc(task->n_outputs + 1, sizeof(char *));
        if (!inputs || !run->outputs || !run->staged || !run->marks)
                return -ENOMEM;
        for (size_t k = 0; k < task->n_inputs; k++) {
                r = task_input_task_locations(task, k, i->binding, &inputs[k]);
                if (r < 0)
                        return r;
        }
        *ret_error = task->dynamic_user
                ? (StartError) { "no group '" SLUICE_STAGE_GROUP "' for its staged outputs" }
                : (StartError) { "cannot resolve its user or group" };
        r = run_stage_as(i, &as);
        if (r < 0)
                return log_error_errno(r, "Cannot stage the outputs of %s for %s: %m", i->unit,
                                       task->dynamic_user ? "group '" SLUICE_STAGE_GROUP "'"
                                                          : task->user);
        *ret_error = (StartError) { "cannot prepare an output location" };
        for (size_t k = 0; k < task->n_outputs; k++) {
                Target *t = task->outputs[k];

                r = task_output_location(task, k, i->binding, &run->outputs[k]);
                if (r < 0)
                        return r;
                if (t->kind->stage)
                        r = t->kind->stage(t, run->outputs[k], run->id_str, as,
                                           &run->staged[k]);
                else
                        r = (run->staged[k] = strdup(run->outputs[k])) ? 0 : -ENOMEM;
                if (r < 0) {
                        ret_error->output = t->name;
                        return log_error_errno(r, "Cannot prepare output '%s': %m",
                                               run->outputs[k]);
                }
        }
        /* After every output's: two outputs may share a directory. A run adopted after a
         * restart has none, and can only tell a directory gone. */
        for (size_t k = 0; k < task->n_outputs; k++) {
                Target *t = task->outputs[k];

                run->marks[k] = t->kind->stage_mark ? t->kind->stage_mark(t, run->staged[k])
                                                    : strdup("");
                if (!run->marks[k])
                        return -ENOMEM;
        }
        *ret_error = (StartError) { "cannot build the command line" };
        r = subst_expand(task->exec,
                         &(SubstContext){ .task = task, .binding = i->binding,
                                          .inputs = (char * const * const *) inputs,
                                          .outputs = run->staged },
                         &argv);
        if (r < 0)
                return r;
        r = build_env(i, (char * const * const *) inputs, &env);
        if (r < 0)
                return r;

        *ret_error = (StartError) { "out of memory" };
        (void) task_params_to_string(i->task, i->binding, &params);
        if (asprintf(&desc, "sluice %s/%s %s", task->pipeline->name, task->name,
                     strempty(params)) < 0 ||
            asprintf(&ident, "%s.%s", task->pipeline->name, task->name) < 0 ||
            (i->backfill ? pipeline_backfill_slice_name(task->pipeline, &slice)
                         : pipeline_slice_name(task->pipeline, &slice)) < 0)
                return -ENOMEM;
        /* Journal fields for the task's own lines. journald takes them from a file that only a
         * system manager writes: a user manager ignores them, so they are not sent there. */
        if (!m->user &&
            (strv_extendf(&fields, "SLUICE_PIPELINE=%s", task->pipeline->name) < 0 ||
             strv_extendf(&fields, "SLUICE_TASK=%s", task->name) < 0 ||
             strv_extendf(&fields, "SLUICE_INSTANCE=%s", i->id) < 0 ||
             strv_extendf(&fields, "SLUICE_RUN_ID=%s", run->id_str) < 0))
                return -ENOMEM;
        wrapped = can_record_itself(task) || m->helper_everywhere;
        if (wrapped && unit_props_encode_command(&argv) < 0)
                return -ENOMEM;
        if (can_record_itself(task))
                /* sluice-result runs the task and records its end: no ExecStopPost=. */
                r = argv_prepend(&argv, STRV_MAKE(m->result_helper, "--run", m->state_dir,
                                                  run->id_str));
        else {
                /* A privileged ExecStopPost= records the end; sluice-result --exec, where the
                 * task can run it, holds that back until journald has read the task's output,
                 * for the failure notice's last lines (run-log.h). */
                r = strv_copy(STRV_MAKE(m->result_helper, m->state_dir, run->id_str), &stop_post);
                if (r >= 0 && wrapped)
                        r = argv_prepend(&argv, STRV_MAKE(m->result_helper, "--exec"));
                else if (r >= 0 && !m->told_unwatched) {
                        log_notice("%s cannot be run by other users or with a private /tmp: "
                                   "tasks with user=, dynamic_user= or sandbox= run without it, "
                                   "and their failure notices can miss their last lines",
                                   m->result_helper);
                        m->told_unwatched = true;
                }
        }
        if (r < 0)
                return -ENOMEM;
        dirs = output_dirs(run->outputs);
        /* Notifiers of the unit kind: systemd starts their template when the last attempt's
         * unit fails, with its name as the instance, less ".service": the hook unit reads
         * sluice-notify@<unit>.service, and the template adds the suffix back (%I.service). */
        if (run->attempt >= MAX(task->retry.attempts, 1u))
                STRV_FOREACH(name, task->notify[NOTIFY_FAILURE]) {
                        const Notifier *n = daemon_config_find_notifier(&m->config, *name);
                        _cleanup_free_ char *esc = NULL, *stem = NULL;
                        size_t at, len = strlen(i->unit);

                        if (!n || n->kind != NOTIFIER_UNIT)
                                continue;
                        at = strlen(n->unit) - strlen("@.service");
                        if (len > strlen(".service") &&
                            streq(i->unit + len - strlen(".service"), ".service"))
                                len -= strlen(".service");
                        stem = strndup(i->unit, len);
                        if (!stem || unit_escape_value(stem, &esc) < 0 ||
                            strv_extendf(&on_failure, "%.*s@%s.service", (int) at, n->unit,
                                         esc) < 0)
                                return -ENOMEM;
                }

        spec = (UnitSpec){
                .description = desc,
                .slice = slice,
                .syslog_identifier = ident,
                .argv = argv,
                .environment = env,
                .log_fields = fields,
                .limits = task->limits,
                .user = task->user,
                .group = task->group,
                .dynamic_user = task->dynamic_user,
                .supplementary_group = task->dynamic_user ? SLUICE_STAGE_GROUP : NULL,
                .working_directory = task->working_directory,
                .sandbox = task->sandbox,
                .writable = dirs,
                .stop_post = stop_post,
                .on_failure = on_failure,
        };
        limits_merge(&spec.limits, &m->config.default_limits);
        /* sluice-result in the unit, beside the task, is not the task's to count: a task
         * whose tasks_max was just enough before it was wrapped must not fail to fork. */
        if (wrapped && spec.limits.tasks_max != UINT64_MAX)
                spec.limits.tasks_max++;
        if (i->memory_max != UINT64_MAX)
                spec.limits.memory_max = i->memory_max;     /* raised after an oom-kill */
        run->memory_max = spec.limits.memory_max;
        /* A run the kernel may stop at a limit: its lines are told from an earlier run's of
         * the same unit by where the kernel's log was now (kernel-log.c). */
        run->kernel_mark = spec.limits.memory_max != UINT64_MAX ||
                           spec.limits.tasks_max != UINT64_MAX ||
                           task->pipeline->limits.tasks_max != UINT64_MAX ? kernel_log_mark() : 0;

        /* Its end could not be recorded: held as a start the daemon cannot record is, until
         * there is room for the reserve again (state.h). */
        *ret_error = (StartError) { "the state directory's file system is full (the space held "
                                    "for the ends of runs is spent)", .daemon_side = true };
        /* Only for want of room: a file system that cannot hold a reserve at all (said at
         * start-up) runs without one. */
        if (record && m->state->reserve_missing && (r = state_reserve(m->state)) < 0 &&
            m->state->reserve_full)
                return log_error_errno(r, "Not starting %s: the file system of '%s' is full: %m",
                                       i->unit, m->state_dir);
        *ret_error = (StartError) { "cannot write the run record", .daemon_side = true };
        r = !record ? 0 : state_write_run(m->state,
                            &(RunRecord){ .run_id = run->id_str, .unit = i->unit,
                                          .pipeline = task->pipeline->name, .task = task->name,
                                          .instance = i->id, .attempt = run->attempt,
                                          .memory_max = run->memory_max,
                                          .start_realtime = run->start_realtime,
                                          .outputs = run->outputs, .staged = run->staged });
        if (r < 0)
                return log_error_errno(r, "Cannot record run %s in '%s': %m", run->id_str,
                                       m->state_dir);
        *ret_error = (StartError) { "cannot send StartTransientUnit" };
        return executor_send_start(m, i, &spec);
}
