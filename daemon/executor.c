/* SPDX-License-Identifier: MIT */
/*
 * The executor: one run is one transient service started with StartTransientUnit. The daemon
 * never forks a task; systemd is the parent, applies the limits and sends stdout and stderr to
 * the journal. The unit is pinned with AddRef=yes so it cannot be garbage-collected before its
 * result is read; once read, Unref() lets a successful unit go, while a failed one stays
 * loaded for `systemctl --failed` until the next attempt resets it.
 *
 * Outputs are atomic: the task writes staged paths, and only a successful run's outputs are
 * renamed into place, so a consumer never sees a half-written or failed output.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "executor.h"
#include "log.h"
#include "scheduler.h"
#include "subst.h"
#include "util/escape.h"
#include "util/strv.h"

#define SYSTEMD_DEST "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define UNIT_PATH_PREFIX "/org/freedesktop/systemd1/unit"

/* What systemd says about a unit that ended. */
typedef struct UnitResult {
        char *result;           /* "success", "exit-code", "signal", "timeout", "oom-kill", ... */
        int exec_code;          /* CLD_EXITED, CLD_KILLED, CLD_DUMPED */
        int exec_status;
        uint64_t start_usec, exit_usec;  /* CLOCK_REALTIME */
        uint64_t cpu_nsec;
} UnitResult;

static void unit_result_done(UnitResult *r) {
        free(r->result);
}

static char *env_name(const char *prefix, const char *name) {
        char *s;

        if (asprintf(&s, "%s%s", prefix, name) < 0)
                return NULL;
        for (char *p = s + strlen(prefix); *p; p++)
                *p = *p == '-' ? '_' : (*p >= 'a' && *p <= 'z') ? (char) (*p - 'a' + 'A') : *p;
        return s;
}

/* The environment contract: the same values as the argv substitutions, by name. */
static int build_env(Manager *m, Instance *i, char * const * const *inputs, char ***ret) {
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

static int append_exec(sd_bus_message *msg, char * const *argv) {
        int r;

        r = sd_bus_message_open_container(msg, 'r', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "s", "ExecStart");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'v', "a(sasb)");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'a', "(sasb)");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'r', "sasb");
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "s", argv[0]);
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(msg, (char **) argv);
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "b", 0);
        if (r < 0)
                return r;
        for (int k = 0; k < 4; k++) {
                r = sd_bus_message_close_container(msg);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int append_strv_property(sd_bus_message *msg, const char *name, char * const *l) {
        int r;

        r = sd_bus_message_open_container(msg, 'r', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "s", name);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'v', "as");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(msg, (char **) l);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(msg);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(msg);
}

/* LogExtraFields is an array of byte arrays (aay), not of strings. */
static int append_fields_property(sd_bus_message *msg, char * const *l) {
        int r;

        r = sd_bus_message_open_container(msg, 'r', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "s", "LogExtraFields");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'v', "aay");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'a', "ay");
        if (r < 0)
                return r;
        STRV_FOREACH(f, l) {
                r = sd_bus_message_append_array(msg, 'y', *f, strlen(*f));
                if (r < 0)
                        return r;
        }
        for (int k = 0; k < 3; k++) {
                r = sd_bus_message_close_container(msg);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int append_properties(sd_bus_message *msg, Instance *i, char * const *argv,
                             char * const *env) {
        _cleanup_strv_free_ char **extra = NULL;
        _cleanup_free_ char *desc = NULL, *params = NULL, *ident = NULL;
        const Limits *l = &i->task->limits;
        int r;

        (void) binding_to_string(i->binding, &params);
        if (asprintf(&desc, "sluice %s/%s %s", i->task->pipeline->name, i->task->name,
                     strempty(params)) < 0 ||
            asprintf(&ident, "%s.%s", i->task->pipeline->name, i->task->name) < 0)
                return -ENOMEM;
        /* Journal fields for the task's own lines (system units only, as of systemd 252). */
        if (strv_extendf(&extra, "SLUICE_PIPELINE=%s", i->task->pipeline->name) < 0 ||
            strv_extendf(&extra, "SLUICE_TASK=%s", i->task->name) < 0 ||
            strv_extendf(&extra, "SLUICE_INSTANCE=%s", i->id) < 0 ||
            strv_extendf(&extra, "SLUICE_RUN_ID=%s", i->run->id_str) < 0)
                return -ENOMEM;

        r = sd_bus_message_append(msg, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)",
                                  "Description", "s", desc,
                                  "Type", "s", "exec",
                                  "AddRef", "b", 1,
                                  "CollectMode", "s", "inactive",
                                  "StandardOutput", "s", "journal",
                                  "StandardError", "s", "journal",
                                  "SyslogIdentifier", "s", ident,
                                  "CPUAccounting", "b", 1);
        if (r < 0)
                return r;
        if (l->memory_max != UINT64_MAX) {
                r = sd_bus_message_append(msg, "(sv)", "MemoryMax", "t", l->memory_max);
                if (r < 0)
                        return r;
        }
        if (l->cpu_quota_permille > 0) {
                r = sd_bus_message_append(msg, "(sv)", "CPUQuotaPerSecUSec", "t",
                                          (uint64_t) l->cpu_quota_permille * USEC_PER_SEC / 1000);
                if (r < 0)
                        return r;
        }
        if (l->runtime_max != USEC_INFINITY) {
                r = sd_bus_message_append(msg, "(sv)", "RuntimeMaxUSec", "t", l->runtime_max);
                if (r < 0)
                        return r;
        }
        r = append_strv_property(msg, "Environment", env);
        if (r < 0)
                return r;
        r = append_fields_property(msg, extra);
        if (r < 0)
                return r;
        return append_exec(msg, argv);
}

static void discard_staged(Instance *i) {
        Task *task = i->task;

        for (size_t k = 0; i->run && k < task->n_outputs && i->run->staged[k]; k++)
                if (task->outputs[k]->kind->discard)
                        task->outputs[k]->kind->discard(task->outputs[k], i->run->staged[k]);
}

static char **run_fields(Instance *i) {
        char **f = NULL;

        (void) strv_extendf(&f, "SLUICE_PIPELINE=%s", i->task->pipeline->name);
        (void) strv_extendf(&f, "SLUICE_TASK=%s", i->task->name);
        (void) strv_extendf(&f, "SLUICE_INSTANCE=%s", i->id);
        (void) strv_extendf(&f, "SLUICE_UNIT=%s", i->unit);
        if (i->run)
                (void) strv_extendf(&f, "SLUICE_RUN_ID=%s", i->run->id_str);
        return f;
}

/* The run is over, either way: account for it and let the next one start. */
static void run_ended(Manager *m, Instance *i, bool ok, const char *reason) {
        i->run = run_free(i->run);
        m->n_active--;
        if (ok) {
                m->n_runs_ok++;
                manager_remove_instance(m, i);
        } else {
                m->n_runs_failed++;
                free(i->reason);
                i->reason = strdup(reason);
                i->state = INSTANCE_FAILED;
                m->n_failed++;
        }
        if (m->n_retired > 0) {
                if (ok)
                        manager_gc_retired(m);
                else
                        manager_settle_instance(m, i);
        }
        scheduler_schedule(m);
}

static void fail_start(Manager *m, Instance *i, int error, const char *what) {
        _cleanup_strv_free_ char **f = run_fields(i);
        _cleanup_free_ char *reason = NULL;

        (void) strv_extend(&f, "MESSAGE_ID=" SLUICE_MESSAGE_RUN_START_FAILED_STR);
        log_struct_errno(LOG_ERR, error, f, "Failed to start %s: %s", i->unit, what);
        if (asprintf(&reason, "start failed: %s", what) < 0)
                reason = NULL;
        discard_staged(i);
        run_ended(m, i, false, reason ?: "start failed");
}

static int on_start_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Instance *i = userdata;
        Manager *m = i->run->manager;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *job;
        int r;

        i->run->slot = sd_bus_slot_unref(i->run->slot);
        if (e) {
                fail_start(m, i, sd_bus_error_get_errno(e), e->message ?: e->name);
                return 0;
        }
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0) {
                fail_start(m, i, r, "cannot read the reply to StartTransientUnit");
                return 0;
        }
        i->run->job = strdup(job);
        i->state = INSTANCE_RUNNING;
        return 0;
}

static void inputs_freep(char ****p) {
        for (char ***l = *p; l && *l; l++)
                strv_free(*l);
        free(*p);
}

static int send_start(Manager *m, Instance *i, char * const *argv, char * const *env) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        /* A failed unit of the previous attempt still holds the name: reset it first. The bus
         * keeps order, so the manager has done so before it sees the start. */
        r = sd_bus_call_method_async(m->bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                     "ResetFailedUnit", NULL, NULL, "s", i->unit);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(m->bus, &msg, SYSTEMD_DEST, SYSTEMD_PATH,
                                           SYSTEMD_MANAGER, "StartTransientUnit");
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "ss", i->unit, "fail");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'a', "(sv)");
        if (r < 0)
                return r;
        r = append_properties(msg, i, argv, env);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(msg);
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "a(sa(sv))", 0);
        if (r < 0)
                return r;
        return sd_bus_call_async(m->bus, &i->run->slot, msg, on_start_reply, i, 0);
}

/* Locations, staging, argv and environment of the run, then the start call. */
static int start_unit(Manager *m, Instance *i, const char **ret_what) {
        _cleanup_(inputs_freep) char ***inputs = NULL;
        _cleanup_strv_free_ char **argv = NULL, **env = NULL;
        Task *task = i->task;
        Run *run = i->run;
        int r;

        *ret_what = "out of memory";
        inputs = calloc(task->n_inputs + 1, sizeof(char **));
        run->outputs = calloc(task->n_outputs + 1, sizeof(char *));
        run->staged = calloc(task->n_outputs + 1, sizeof(char *));
        if (!inputs || !run->outputs || !run->staged)
                return -ENOMEM;
        for (size_t k = 0; k < task->n_inputs; k++) {
                r = task_input_locations(task, k, i->binding, &inputs[k]);
                if (r < 0)
                        return r;
        }
        *ret_what = "cannot prepare an output location";
        for (size_t k = 0; k < task->n_outputs; k++) {
                Target *t = task->outputs[k];

                r = task_output_location(task, k, i->binding, &run->outputs[k]);
                if (r < 0)
                        return r;
                if (t->kind->stage)
                        r = t->kind->stage(t, run->outputs[k], run->id_str, &run->staged[k]);
                else
                        r = (run->staged[k] = strdup(run->outputs[k])) ? 0 : -ENOMEM;
                if (r < 0)
                        return log_error_errno(r, "Cannot prepare output '%s': %m",
                                               run->outputs[k]);
        }
        *ret_what = "cannot build the command line";
        r = subst_expand(task->exec,
                         &(SubstContext){ .task = task, .binding = i->binding,
                                          .inputs = (char * const * const *) inputs,
                                          .outputs = run->staged },
                         &argv);
        if (r < 0)
                return r;
        r = build_env(m, i, (char * const * const *) inputs, &env);
        if (r < 0)
                return r;
        *ret_what = "cannot send StartTransientUnit";
        return send_start(m, i, argv, env);
}

int executor_start(Manager *m, Instance *i) {
        _cleanup_strv_free_ char **f = NULL;
        const char *what;
        Run *run;
        int r;

        run = calloc(1, sizeof(Run));
        if (!run)
                return log_oom();
        run->manager = m;
        run->start_usec = now_usec(CLOCK_MONOTONIC);
        (void) sd_id128_randomize(&run->id);
        sd_id128_to_string(run->id, run->id_str);
        i->run = run;
        i->state = INSTANCE_STARTING;
        m->n_active++;

        r = start_unit(m, i, &what);
        if (r < 0) {
                fail_start(m, i, r, what);
                return r;
        }
        f = run_fields(i);
        (void) strv_extend(&f, "MESSAGE_ID=" SLUICE_MESSAGE_RUN_STARTED_STR);
        log_struct(LOG_INFO, f, "Starting %s", i->unit);
        return 0;
}

static int read_result(sd_bus_message *reply, UnitResult *res) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "Result")) {
                        const char *v;
                        r = sd_bus_message_read(reply, "v", "s", &v);
                        if (r >= 0 && !(res->result = strdup(v)))
                                r = -ENOMEM;
                } else if (streq(key, "ExecMainCode"))
                        r = sd_bus_message_read(reply, "v", "i", &res->exec_code);
                else if (streq(key, "ExecMainStatus"))
                        r = sd_bus_message_read(reply, "v", "i", &res->exec_status);
                else if (streq(key, "ExecMainStartTimestamp"))
                        r = sd_bus_message_read(reply, "v", "t", &res->start_usec);
                else if (streq(key, "ExecMainExitTimestamp"))
                        r = sd_bus_message_read(reply, "v", "t", &res->exit_usec);
                else if (streq(key, "CPUUsageNSec"))
                        r = sd_bus_message_read(reply, "v", "t", &res->cpu_nsec);
                else
                        r = sd_bus_message_skip(reply, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

/* "exit-code (status 3)", "signal (SIGKILL)", "timeout": for logs, the CLI and hooks. */
static char *describe(const UnitResult *res) {
        char *s = NULL;
        int r;

        if (res->exec_code == CLD_KILLED || res->exec_code == CLD_DUMPED)
                r = asprintf(&s, "%s (SIG%s)", strna(res->result),
                             sigabbrev_np(res->exec_status) ?: "?");
        else if (res->exec_code == CLD_EXITED && res->exec_status != 0)
                r = asprintf(&s, "%s (status %d)", strna(res->result), res->exec_status);
        else
                r = asprintf(&s, "%s", strna(res->result));
        return r < 0 ? NULL : s;
}

/* Moves every staged output into place; the reason on failure. */
static int commit_outputs(Instance *i, char **ret_reason) {
        Task *task = i->task;
        Run *run = i->run;

        for (size_t k = 0; k < task->n_outputs; k++) {
                Target *t = task->outputs[k];
                int r;

                if (!t->kind->commit) {
                        r = t->kind->check(t, run->outputs[k]);
                        if (r > 0)
                                continue;
                } else {
                        r = t->kind->commit(t, run->staged[k], run->outputs[k]);
                        if (r >= 0)
                                continue;
                }
                if (r == 0 || r == -ENOENT)
                        return asprintf(ret_reason, "exited 0 but did not write output '%s'",
                                        t->name) < 0 ? -ENOMEM : -ENOENT;
                errno = -r;
                return asprintf(ret_reason, "cannot move output '%s' into place: %m", t->name) < 0
                               ? -ENOMEM
                               : r;
        }
        return 0;
}

static void finish(Manager *m, Instance *i, const UnitResult *res) {
        _cleanup_strv_free_ char **f = run_fields(i);
        _cleanup_free_ char *reason = NULL, *unit_path = NULL;
        bool ok = res->result && streq(res->result, "success") && res->exec_code == CLD_EXITED &&
                  res->exec_status == 0;
        usec_t duration = res->exit_usec > res->start_usec ? res->exit_usec - res->start_usec : 0;
        char dur[FORMAT_TIMESPAN_MAX], cpu[FORMAT_TIMESPAN_MAX + 8];

        if (ok && commit_outputs(i, &reason) < 0)
                ok = false;
        if (!ok) {
                discard_staged(i);
                if (!reason)
                        reason = describe(res);
        }
        (void) strv_extend(&f, "MESSAGE_ID=" SLUICE_MESSAGE_RUN_FINISHED_STR);
        (void) strv_extendf(&f, "SLUICE_RESULT=%s", ok ? "success" : "failed");
        (void) strv_extendf(&f, "SLUICE_UNIT_RESULT=%s", strna(res->result));
        (void) strv_extendf(&f, "SLUICE_EXIT_CODE=%d", res->exec_code);
        (void) strv_extendf(&f, "SLUICE_EXIT_STATUS=%d", res->exec_status);
        (void) strv_extendf(&f, "SLUICE_DURATION_USEC=%llu", (unsigned long long) duration);
        if (res->cpu_nsec != UINT64_MAX)
                (void) strv_extendf(&f, "SLUICE_CPU_USEC=%llu",
                                    (unsigned long long) (res->cpu_nsec / NSEC_PER_USEC));
        format_timespan(dur, sizeof(dur), duration);
        /* CPU time only where systemd accounts it (not under a cgroup-v1 user manager). */
        cpu[0] = 0;
        if (res->cpu_nsec != UINT64_MAX) {
                char t[FORMAT_TIMESPAN_MAX];
                snprintf(cpu, sizeof(cpu), " (CPU %s)",
                         format_timespan(t, sizeof(t), res->cpu_nsec / NSEC_PER_USEC));
        }
        if (ok)
                log_struct(LOG_INFO, f, "%s succeeded after %s%s", i->unit, dur, cpu);
        else
                log_struct(LOG_ERR, f, "%s failed: %s", i->unit, strna(reason));

        if (sd_bus_path_encode(UNIT_PATH_PREFIX, i->unit, &unit_path) >= 0)
                (void) sd_bus_call_method_async(m->bus, NULL, SYSTEMD_DEST, unit_path,
                                                "org.freedesktop.systemd1.Unit", "Unref", NULL,
                                                NULL, "");
        run_ended(m, i, ok, strna(reason));
}

static int on_result(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Instance *i = userdata;
        Manager *m = i->run->manager;
        UnitResult res = { .exec_code = -1, .cpu_nsec = UINT64_MAX };
        int r;

        i->run->slot = sd_bus_slot_unref(i->run->slot);
        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);
                log_warning("Cannot read the result of %s: %s", i->unit, e->message ?: e->name);
        } else {
                r = read_result(reply, &res);
                if (r < 0)
                        log_warning_errno(r, "Cannot parse the result of %s: %m", i->unit);
        }
        finish(m, i, &res);
        unit_result_done(&res);
        return 0;
}

static void query_result(Manager *m, Instance *i) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (i->run->slot)
                return;         /* a query is on its way already */
        r = sd_bus_path_encode(UNIT_PATH_PREFIX, i->unit, &path);
        if (r >= 0)
                r = sd_bus_call_method_async(m->bus, &i->run->slot, SYSTEMD_DEST, path,
                                             "org.freedesktop.DBus.Properties", "GetAll",
                                             on_result, i, "s", "org.freedesktop.systemd1.Service");
        if (r < 0) {
                UnitResult res = { .exec_code = -1, .cpu_nsec = UINT64_MAX };
                log_warning_errno(r, "Cannot ask for the result of %s: %m", i->unit);
                finish(m, i, &res);
        }
}

/* Our unit, if it is running; NULL for anything else. */
static Instance *running_instance(Manager *m, const char *unit) {
        Instance *i;

        if (!strneq(unit, "sluice-", 7))
                return NULL;
        i = manager_find_instance(m, unit);
        return i && i->state == INSTANCE_RUNNING ? i : NULL;
}

static int on_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        _cleanup_free_ char *unit = NULL;
        const char *iface;
        Instance *i;
        int r;

        r = sd_bus_path_decode(sd_bus_message_get_path(msg), UNIT_PATH_PREFIX, &unit);
        if (r <= 0)
                return 0;
        i = running_instance(m, unit);
        /* Until its start job is gone, "inactive" is the state of a unit not yet started. */
        if (!i || !i->run->job_done)
                return 0;
        r = sd_bus_message_read(msg, "s", &iface);
        if (r < 0 || !streq(iface, "org.freedesktop.systemd1.Unit"))
                return 0;
        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return 0;
        while (sd_bus_message_enter_container(msg, 'e', "sv") > 0) {
                const char *key, *state;

                if (sd_bus_message_read(msg, "s", &key) < 0)
                        return 0;
                if (!streq(key, "ActiveState")) {
                        if (sd_bus_message_skip(msg, "v") < 0)
                                return 0;
                } else {
                        if (sd_bus_message_read(msg, "v", "s", &state) < 0)
                                return 0;
                        if (streq(state, "inactive") || streq(state, "failed")) {
                                query_result(m, i);
                                return 0;
                        }
                }
                if (sd_bus_message_exit_container(msg) < 0)
                        return 0;
        }
        return 0;
}

static int on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *job, *unit, *result;
        uint32_t id;
        Instance *i;

        if (sd_bus_message_read(msg, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        i = running_instance(m, unit);
        if (!i || !i->run->job || !streq(job, i->run->job))
                return 0;
        /* systemd flushes the unit's pending state changes before JobRemoved, so every state
         * change from here on belongs to the running process. */
        i->run->job_done = true;
        /* A start job that did not get the unit running (canceled, exec failed): no further
         * state change need follow, so ask now. */
        if (!streq(result, "done"))
                query_result(m, i);
        return 0;
}

int executor_setup(Manager *m) {
        int r;

        r = sd_bus_match_signal_async(m->bus, &m->match_properties, SYSTEMD_DEST, NULL,
                                      "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                      on_properties_changed, NULL, m);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to unit changes: %m");
        r = sd_bus_match_signal_async(m->bus, &m->match_job_removed, SYSTEMD_DEST, SYSTEMD_PATH,
                                      SYSTEMD_MANAGER, "JobRemoved", on_job_removed, NULL, m);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to job changes: %m");
        /* The manager sends unit signals only while some client has subscribed. */
        r = sd_bus_call_method(m->bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "Subscribe",
                               NULL, NULL, "");
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to the systemd manager: %m");
        return 0;
}
