/* SPDX-License-Identifier: MIT */
/*
 * The executor: one run is one transient service started with StartTransientUnit. The daemon
 * never forks a task; systemd is the parent, applies the limits and sends stdout and stderr to
 * the journal.
 *
 * A run is recorded in the state directory before its unit is started, and sluice-result
 * writes its result there from inside the unit, so a daemon killed at any moment can account for
 * every run at its next start (recover.c). Outputs are atomic: the task writes staged paths,
 * and only a successful run's outputs are renamed into place, so a consumer never sees a
 * half-written or failed output.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-journal.h>

#include "backfill.h"
#include "commit.h"
#include "evaluate.h"
#include "confirm.h"
#include "executor.h"
#include "failure.h"
#include "log.h"
#include "notify.h"
#include "web.h"
#include "recover.h"
#include "scheduler.h"
#include "state.h"
#include "subst.h"
#include "unit-props.h"
#include "util/escape.h"
#include "util/strv.h"


void unit_result_done(UnitResult *r) {
        free(r->result);
        free(r->run_id);
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

static void discard_staged(Instance *i) {
        Task *task = i->task;
        const StageAs *as;

        /* Not as root where the task's user is unknown now: leave the file. */
        if (!i->run || run_stage_as(i, &as) < 0)
                return;
        for (size_t k = 0; k < task->n_outputs && i->run->staged && i->run->staged[k]; k++)
                if (task->outputs[k]->kind->discard)
                        task->outputs[k]->kind->discard(task->outputs[k], i->run->staged[k], as);
}

static char **run_fields(Instance *i) {
        char **f = NULL;

        (void) strv_extendf(&f, "SLUICE_PIPELINE=%s", i->task->pipeline->name);
        (void) strv_extendf(&f, "SLUICE_TASK=%s", i->task->name);
        (void) strv_extendf(&f, "SLUICE_INSTANCE=%s", i->id);
        (void) strv_extendf(&f, "SLUICE_UNIT=%s", i->unit);
        /* Whose: another daemon on the host may run a pipeline of the same name. */
        (void) strv_extendf(&f, "SLUICE_CONFIG_DIRECTORY=%s", i->manager->config_dir);
        if (i->run) {
                (void) strv_extendf(&f, "SLUICE_RUN_ID=%s", i->run->id_str);
                (void) strv_extendf(&f, "SLUICE_ATTEMPT=%u", i->run->attempt);
        }
        return f;
}

/*
 * The run's output directory was renamed away (or removed) while it wrote there, so what it
 * wrote went along: the instance is incomplete, as when an output is deleted by hand, and runs
 * again at once, as a new series. Once per series (until a new arrival or `retry` starts the
 * next; a restart forgets it): a task that removes the directory itself must fail, not loop.
 */
/* The run is over; the instance is queued again at once, as a new series (lost_output: for
 * the reason rerun_lost_output() says). */
static void run_again(Manager *m, Instance *i, bool lost_output) {
        uint64_t memory_max = i->memory_max;

        i->run = run_free(i->run);
        /* Cannot fail for a known instance. A limit raised after an oom-kill stays. */
        (void) evaluate_enqueue(m, i->task, i->binding, i->id, i->unit, i, NULL);
        i->memory_max = memory_max;
        i->lost_output = lost_output;
        /* An input changed in the run: its outputs are there, made from the version before. */
        i->forced = i->forced || !lost_output;
        /* Under the version a reload made of its task, or gone with it. */
        if (m->n_retired > 0)
                manager_settle_instance(m, i);
        scheduler_schedule(m);
}

static bool rerun_lost_output(Manager *m, Instance *i, const char *reason) {
        if (i->cancelled || i->lost_output)
                return false;
        m->n_runs_failed++;     /* as the journal has it */
        log_notice("%s: %s; running it again", i->unit, reason);
        run_again(m, i, true);
        return true;
}

/* Long enough for a shutdown to end the daemon first (a start now would be refused, and count):
 * its mark is saved as waiting to retry, and the next boot runs it. A stop that was not the
 * system's after all costs this much delay. */
#define INTERRUPTED_RETRY_DELAY (30 * USEC_PER_SEC)

/* Stopped by the system's shutdown, or not started for the daemon's own trouble: not the task's
 * failure, so not an attempt, and nobody is told; it runs again (after the next boot). */
static void run_interrupted(Manager *m, Instance *i, const char *reason) {
        /* Read after the boot, when the shutdown is over: at once. */
        usec_t delay = i->run->exit_realtime > 0 &&
                                       i->run->exit_realtime < m->manager_started_realtime
                               ? 0 : INTERRUPTED_RETRY_DELAY;
        char span[FORMAT_TIMESPAN_MAX];

        log_notice("%s: %s; it runs again %s%s, not counted as an attempt", i->unit, reason,
                   delay ? "in " : "now", delay ? format_timespan(span, sizeof(span), delay) : "");
        i->attempts = i->run->attempt - 1;
        free(i->reason);
        i->reason = strdup(reason);
        i->run = run_free(i->run);
        manager_set_state(m, i, INSTANCE_RETRY);
        (void) manager_set_wake(m, i, now_usec(CLOCK_REALTIME) + delay);
        if (m->n_retired > 0)
                manager_settle_instance(m, i);
}

/*
 * The run is over and accounted for: decide what comes next for the instance. ok: it is
 * complete and forgotten. Otherwise the retry policy decides between another attempt later
 * and failing for good; lost_output: see rerun_lost_output().
 */
static void run_ended(Manager *m, Instance *i, bool ok, FailureClass class, const char *reason,
                      bool lost_output) {
        Run *run = i->run;
        usec_t exit_realtime;
        RetryDecision d;
        char when[FORMAT_TIMESPAN_MAX];

        executor_start_settled(m, i, "the run ended");
        /* A failure's record ends with the marks' next save (instances.c), which the state
         * change below asks for. */
        if (ok || (lost_output && !i->cancelled && !i->lost_output) ||
            strv_extend(&m->ends_after_save, run->id_str) < 0)
                (void) state_remove_run(m->state, run->id_str);
        else
                manager_save_marks(m);
        free(i->last_run_id);
        i->last_run_id = strdup(run->id_str);
        i->last_start_realtime = run->start_realtime;
        scheduler_release(m, i);
        if (ok) {
                m->n_runs_ok++;
                i->task->n_succeeded++;
                if (i->failed_before)
                        notify_instance(m, i, NOTIFY_RECOVERY, NULL);
                notify_instance(m, i, NOTIFY_SUCCESS, NULL);
                if (i->changed_in_run) {
                        log_info("%s: an input changed while it ran (rerun = \"newer\"); "
                                 "running it again", i->unit);
                        i->changed_in_run = false;
                        i->failed_before = false;
                        run_again(m, i, false);
                        return;
                }
                if (m->n_retired > 0) {
                        /* Ended under the version of its task a reload replaced: the new one
                         * may want more of the instance (an output added), so it decides. */
                        Task *next = manager_successor(m, i->task);
                        _cleanup_(binding_freep) Binding *b = NULL;

                        if (next && binding_copy(i->binding, &b) < 0)
                                b = NULL;
                        manager_remove_instance(m, i);
                        manager_gc_retired(m);
                        if (next && b)
                                (void) evaluate_instance(m, next, b, false);
                } else
                        manager_remove_instance(m, i);
                scheduler_schedule(m);
                return;
        }
        if (lost_output && rerun_lost_output(m, i, reason))
                return;
        if (class == FAILURE_INTERRUPTED) {
                run_interrupted(m, i, reason);
                return;
        }

        m->n_runs_failed++;
        free(i->reason);
        i->reason = i->cancelled ? strdup("cancelled") : strdup(reason);
        d = i->cancelled ? (RetryDecision){ .why = "cancelled on request" }
                         : retry_decide(&i->task->retry, class, run->attempt, run->memory_max);
        exit_realtime = run->exit_realtime;
        i->run = run_free(i->run);
        i->failed_before = true;
        if (d.retry) {
                /* From the end of the run: one that ended while the daemon was away has waited
                 * part of its delay already. */
                usec_t now = now_usec(CLOCK_REALTIME);
                usec_t waited = exit_realtime > 0 && exit_realtime < now ? now - exit_realtime : 0;
                usec_t wake = waited < USEC_PER_SEC ? now + d.delay_usec
                                                    : MAX(now - waited + d.delay_usec, now);

                i->memory_max = d.memory_max;
                manager_set_state(m, i, INSTANCE_RETRY);
                (void) manager_set_wake(m, i, wake);
                log_warning("%s failed (%s), attempt %u of %u; retrying %s%s", i->unit, reason,
                            i->attempts, i->task->retry.attempts, wake > now ? "in " : "now",
                            wake > now ? format_timespan(when, sizeof(when), wake - now) : "");
                notify_instance(m, i, NOTIFY_RETRY, reason);
        } else if (i->cancelled && evaluate_outputs_complete(i->task, i->binding)) {
                /* A forced run's: the outputs from before stay, and so it is complete. */
                log_notice("%s cancelled on request; its outputs from before stay", i->unit);
                manager_remove_instance(m, i);
                manager_gc_retired(m);
                scheduler_schedule(m);
                return;
        } else if (i->cancelled) {
                /* Asked for, not a failure anyone must be told of: a cancel of a queued or
                 * retrying instance tells no notifier either. */
                manager_set_state(m, i, INSTANCE_FAILED);
                log_notice("%s cancelled on request, after %u attempt(s)", i->unit, i->attempts);
        } else {
                manager_set_state(m, i, INSTANCE_FAILED);
                if (i->task->retry.disable_window > 0)
                        (void) manager_set_wake(m, i,
                                                now_usec(CLOCK_REALTIME) +
                                                        i->task->retry.disable_window);
                log_error("%s failed for good after %u attempt(s): %s (%s)", i->unit, i->attempts,
                          reason, d.why);
                notify_instance(m, i, NOTIFY_FAILURE, i->reason);
        }
        if (m->n_retired > 0)
                manager_settle_instance(m, i);
        scheduler_schedule(m);
}

static void log_run_started(Instance *i) {
        _cleanup_strv_free_ char **f = run_fields(i);

        (void) strv_extend(&f, "MESSAGE_ID=" SLUICE_MESSAGE_RUN_STARTED_STR);
        /* The daemon's own share of event-to-start latency: from waking up for the event to
         * calling StartTransientUnit. Apart, up to the return of the write: a write to a Unix
         * socket may hand the CPU straight to the bus daemon it wakes (about 0.2 ms here). */
        if (i->run->event_usec > 0) {
                web_observe_latency(i->manager, i->run->call_usec - i->run->event_usec);
                (void) strv_extendf(&f, "SLUICE_EVENT_TO_START_USEC=%llu",
                                    (unsigned long long) (i->run->call_usec - i->run->event_usec));
                (void) strv_extendf(&f, "SLUICE_EVENT_TO_SENT_USEC=%llu",
                                    (unsigned long long) (i->run->sent_usec - i->run->event_usec));
        }
        log_struct(LOG_INFO, f, "Started %s", i->unit);
}

void executor_started_unanswered(Manager *m, Instance *i) {
        manager_set_state(m, i, INSTANCE_RUNNING);
        log_run_started(i);
        executor_query(m, i);
}

/* What a start failed at: a fixed phrase, or the output it could not prepare. */
typedef struct StartError {
        const char *what;
        const char *output;
        bool daemon_side;       /* the daemon's trouble (its state directory full), not the task's */
} StartError;

static void fail_start(Manager *m, Instance *i, int error, const StartError *e) {
        _cleanup_strv_free_ char **f = run_fields(i);
        _cleanup_free_ char *reason = NULL, *named = NULL, *as_user = NULL;
        const char *what = e->what;

        /* Made as the task's user: its directory must be one that user may write, which one
         * an earlier sluiced made as root is not. */
        if (error == -EACCES && i->task->user &&
            asprintf(&as_user, " as user '%s', who may not write its directory",
                     i->task->user) < 0)
                as_user = NULL;
        if (e->output &&
            asprintf(&named, "cannot prepare output '%s'%s", e->output, strempty(as_user)) >= 0)
                what = named;
        /* A lookup that found no such entry: ESRCH's "No such process" would mislead. */
        else if (error == -ESRCH && i->task->user && !i->task->dynamic_user &&
                 (i->task->group ? asprintf(&named, "no user '%s', or no group '%s', on this "
                                            "machine", i->task->user, i->task->group)
                                 : asprintf(&named, "no user '%s' on this machine",
                                            i->task->user)) >= 0) {
                what = named;
                error = 0;
        }

        (void) strv_extend(&f, "MESSAGE_ID=" SLUICE_MESSAGE_RUN_START_FAILED_STR);
        log_struct_errno(LOG_ERR, error, f, "Failed to start %s: %s", i->unit, what);
        /* The cause too, where it is not the manager's to tell (a name too long, say). */
        if ((error == -ENOMEM || error == 0 ? asprintf(&reason, "start failed: %s", what)
                                            : asprintf(&reason, "start failed: %s (%s)", what,
                                                       strerror(-error))) < 0)
                reason = NULL;
        discard_staged(i);
        i->journal_behind = false;
        i->name_waits = 0;
        /* Not an attempt of the task's: a full state directory would burn every attempt of
         * every instance in seconds. It waits, as a run the shutdown stopped does. */
        run_ended(m, i, false, e->daemon_side ? FAILURE_INTERRUPTED : FAILURE_START,
                  reason ?: "start failed", false);
}

static int start_unit(Manager *m, Instance *i, bool record, StartError *ret_error);

void executor_forget_start(Manager *m, Instance *i) {
        executor_start_settled(m, i, "forgotten");
        (void) state_remove_run(m->state, i->run->id_str);
        discard_staged(i);
        scheduler_release(m, i);
        i->attempts--;
        i->run = run_free(i->run);
}

/* How often a start waits for the unit of the run before to go (on_start_reply). */
#define NAME_WAITS_MAX 40

/* The manager did not take this start: the same attempt goes again after delay. */
static void start_again(Manager *m, Instance *i, usec_t delay) {
        executor_forget_start(m, i);
        manager_set_state(m, i, INSTANCE_RETRY);
        (void) manager_set_wake(m, i, now_usec(CLOCK_REALTIME) + delay);
        /* Of a pipeline a reload retired meanwhile: it goes on under the new version, or
         * goes, as any instance without a run does. */
        if (m->n_retired > 0)
                manager_settle_instance(m, i);
        scheduler_schedule(m);
}

static int on_start_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Instance *i = userdata;
        Manager *m = i->manager;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *job;
        int r;

        i->run->slot = sd_bus_slot_unref(i->run->slot);
        if (e && i->cancelled) {
                /* Cancelled meanwhile: nothing to start again, or to ask about. */
                fail_start(m, i, sd_bus_error_get_errno(e),
                           &(StartError) { e->message ?: e->name });
                return 0;
        }
        if (e && sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists") &&
            !i->run->reset) {
                /* A failed unit of this name, from before this daemon's time: reset, retry. */
                StartError what;

                i->run->reset = true;
                r = start_unit(m, i, false, &what);
                if (r >= 0)
                        return 0;
                fail_start(m, i, r, &what);
                return 0;
        }
        if (e && sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists") &&
            i->name_waits < NAME_WAITS_MAX) {
                /* Reset and still there: the unit of the run before has not gone yet (its
                 * result comes before its processes are reaped, and a stop timeout can hold
                 * it for minutes). This start waits for the name, 0.1 s, 0.2 s... up to 3.2 s
                 * apart, for about two minutes. */
                usec_t delay = (USEC_PER_SEC / 10) << MIN(i->name_waits, 5u);

                if (i->name_waits++ == 0)
                        log_info("%s is still there from its run before; starting it again "
                                 "once it is gone", i->unit);
                start_again(m, i, delay);
                return 0;
        }
        if (e && sd_bus_error_has_name(e, SD_BUS_ERROR_LIMITS_EXCEEDED)) {
                /* The bus daemon refused the call, so the manager never saw it (the system
                 * bus lets one connection wait for at most 128 replies): the same attempt
                 * goes again once some of the calls in flight have been answered. */
                log_warning("The bus refused the start of %s (%s); trying again in 1 s",
                            i->unit, e->message ?: e->name);
                start_again(m, i, USEC_PER_SEC);
                return 0;
        }
        if (e && sd_bus_error_has_names(e, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT,
                                        SD_BUS_ERROR_DISCONNECTED, SD_BUS_ERROR_SERVICE_UNKNOWN,
                                        SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                /* Timed out, or the manager fell off the bus with the call in flight (or was
                 * off it for a moment, as in a daemon-reexec): the unit may exist or not.
                 * Not a failure of the task's either way. */
                log_warning("No answer from the manager to the start of %s (%s); asking it "
                            "about the unit", i->unit, e->message ?: e->name);
                recover_lost_start(m, i);
                return 0;
        }
        if (e) {
                fail_start(m, i, sd_bus_error_get_errno(e),
                           &(StartError) { e->message ?: e->name });
                return 0;
        }
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0) {
                fail_start(m, i, r, &(StartError) { "cannot read the reply to StartTransientUnit" });
                return 0;
        }
        i->run->job = strdup(job);
        i->name_waits = 0;
        manager_set_state(m, i, INSTANCE_RUNNING);
        log_run_started(i);
        /* A run quick enough to end before this reply was read left its result already. */
        if (state_has_result(m->state_dir, i->run->id_str))
                recover_from_result_file(m, i);
        return 0;
}

void executor_start_settled(Manager *m, Instance *i, const char *why) {
        if (!i->run || !i->run->starting)
                return;
        i->run->starting = false;
        m->n_starting--;
        log_debug("Start of %s settled: %s", i->unit, why);
        scheduler_schedule(m);
}

/*
 * The manager answers StartTransientUnit as soon as the job is queued, and keeps a start job
 * until the unit's process is running. Bounding only the calls in flight would let jobs pile
 * up in the manager behind the replies, where they slow every start (the manager runs its job
 * queue only when no bus message waits) and where, on the system bus, each one costs the
 * manager a D-Bus match on its requester: past dbus-daemon's 512 per connection the manager
 * falls off the bus with every call in flight. So a start holds its max_starting share until
 * its JobRemoved. The manager broadcasts that signal for any job a client on the bus asked
 * for, subscribed or not, so receiving it costs the manager nothing more.
 */
int executor_on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *job, *unit, *result;
        uint32_t id;
        Instance *i;

        if (sd_bus_message_read(msg, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        i = manager_find_instance(m, unit);
        if (!i || !i->run || !i->run->starting || !i->run->job || !streq(i->run->job, job))
                return 0;
        executor_start_settled(m, i, result);
        /* Not "done": the command may never have run, and nothing would say so before the
         * sweep (follow.c). */
        if (!streq(result, "done") && i->state == INSTANCE_RUNNING)
                executor_query_failed_start(m, i);
        return 0;
}

static void inputs_freep(char ****p) {
        for (char ***l = *p; l && *l; l++)
                strv_free(*l);
        free(*p);
}

static int send_start(Manager *m, Instance *i, const UnitSpec *spec) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        /* A failed unit of an earlier attempt still holds the name: reset it first (the bus
         * keeps order, so the manager has done so before it sees the start). Only then: it
         * costs the manager a round before every start. A failed unit nobody knew of makes
         * the start fail with UnitExists, and the start is sent again after a reset. */
        if (i->run->reset || i->attempts > 1 || i->last_run_id) {
                i->run->reset = true;
                r = sd_bus_call_method_async(m->bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH,
                                             SYSTEMD_MANAGER, "ResetFailedUnit", NULL, NULL, "s",
                                             i->unit);
                if (r < 0)
                        return r;
        }
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
        r = unit_props_append(msg, spec);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(msg);
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "a(sa(sv))", 0);
        if (r < 0)
                return r;
        i->run->call_usec = now_usec(CLOCK_MONOTONIC);
        return sd_bus_call_async(m->bus, &i->run->slot, msg, on_start_reply, i, 0);
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
static int start_unit(Manager *m, Instance *i, bool record, StartError *ret_error) {
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
        return send_start(m, i, &spec);
}

int executor_start(Manager *m, Instance *i) {
        sd_id128_t id;
        StartError what;
        Run *run;
        int r;

        run = calloc(1, sizeof(Run));
        if (!run)
                return log_oom();
        run->manager = m;
        run->start_usec = now_usec(CLOCK_MONOTONIC);
        run->start_realtime = now_usec(CLOCK_REALTIME);
        i->changed_in_run = false;      /* this run reads what is there now */
        (void) sd_id128_randomize(&id);
        sd_id128_to_string(id, run->id_str);
        run->attempt = ++i->attempts;
        run->memory_max = UINT64_MAX;
        i->run = run;
        manager_set_state(m, i, INSTANCE_STARTING);
        scheduler_take(m, i);
        run->starting = true;
        m->n_starting++;

        r = start_unit(m, i, true, &what);
        if (r < 0) {
                fail_start(m, i, r, &what);
                return r;
        }
        /* The run-started entry waits for the reply: written now, it would compete with the
         * manager for the CPU while the manager forks the task. */
        i->run->event_usec = i->event_usec;
        i->run->sent_usec = now_usec(CLOCK_MONOTONIC);
        i->event_usec = 0;
        log_debug("Sent the start of %s", i->unit);
        return 0;
}

static bool unit_succeeded(const UnitResult *res) {
        return res->result && streq(res->result, "success") && res->exec_code == CLD_EXITED &&
               res->exec_status == 0;
}

void executor_finish(Manager *m, Instance *i, const UnitResult *res) {
        _cleanup_free_ char *reason = NULL;
        int r;

        if (run_end_taken(i->run))
                return;         /* told already; its outputs' servers are being asked */
        r = unit_succeeded(res) ? executor_confirm(m, i, res, &reason) : 0;
        if (r > 0)
                return;
        executor_finish_with(m, i, res, r < 0 ? reason ?: "cannot confirm its outputs" : NULL,
                             NULL);
}

/* What servers hold of a run that succeeded, made known to what reads it. Under the task's
 * current version, where a reload replaced the one it ran under: the old one's targets are
 * stopped, and would tell no one. */
static void publish_confirmed(Manager *m, Instance *i, char * const *confirmed) {
        Task *task = i->task, *next = m->n_retired > 0 ? manager_successor(m, task) : NULL;

        for (size_t k = 0; confirmed && k < task->n_outputs; k++) {
                Target *t = task->outputs[k];
                int r;

                if (!confirmed[k] || !t->kind->confirmed)
                        continue;
                if (next && k < next->n_outputs && next->outputs[k]->kind == t->kind)
                        t = next->outputs[k];
                r = t->kind->confirmed(t, i->run->outputs[k], confirmed[k]);
                if (r < 0)
                        log_warning_errno(r, "Cannot note output '%s' of %s as there: %m",
                                          t->name, i->unit);
        }
}

void executor_finish_with(Manager *m, Instance *i, const UnitResult *res, const char *failure,
                          char * const *confirmed) {
        _cleanup_strv_free_ char **f = run_fields(i);
        _cleanup_free_ char *reason = failure ? strdup(failure) : NULL;
        /* Cancelled, it was told so: what it wrote before the stop reached it is not taken. */
        bool ok = unit_succeeded(res) && !failure && !i->cancelled;
        /* Without a start (a run recovered without its record), no duration: not since 1970. */
        usec_t duration = res->start_usec > 0 && res->exit_usec > res->start_usec
                                  ? res->exit_usec - res->start_usec : 0;
        char dur[FORMAT_TIMESPAN_MAX], cpu[FORMAT_TIMESPAN_MAX + 8];
        FailureClass class = FAILURE_OUTPUT;
        bool lost = false;

        if (ok && outputs_commit(i, &reason, &lost) < 0)
                ok = false;
        if (ok)
                publish_confirmed(m, i, confirmed);
        i->journal_behind = res->journal_behind;
        i->run->exit_realtime = res->exit_usec;
        if (!ok)
                discard_staged(i);
        outputs_leftovers(i);
        if (!ok) {
                if (!reason) {
                        /* Without a start time, the last hour is plenty for a kernel line. */
                        class = failure_classify(i, res,
                                         res->start_usec ?: now_usec(CLOCK_REALTIME) -
                                                                    USEC_PER_HOUR);
                        reason = failure_describe(i, class, res);
                }
                /* A task that opens its output by path when its directory has gone fails
                 * ("Directory nonexistent"), and is no more to blame than one that exits 0. */
                if (!lost && class == FAILURE_EXIT_CODE && reason) {
                        const char *name = outputs_lost_place(i);
                        char *more = NULL;

                        if (name && asprintf(&more, "%s, after the directory of output '%s' "
                                             "was moved or removed", reason, name) >= 0) {
                                free(reason);
                                reason = more;
                                lost = true;
                        }
                }
        }
        (void) strv_extend(&f, "MESSAGE_ID=" SLUICE_MESSAGE_RUN_FINISHED_STR);
        (void) strv_extendf(&f, "SLUICE_RESULT=%s", ok ? "success" : "failed");
        /* Asked for: history shows it as such, not as the signal the stop sent. */
        if (!ok)
                (void) strv_extendf(&f, "SLUICE_FAILURE=%s", i->cancelled
                                            ? "cancelled" : failure_class_to_string(class));
        /* The unit's Result as systemd has it: what sluice-result saw as a signal at
         * runtime_max is systemd's timeout. */
        (void) strv_extendf(&f, "SLUICE_UNIT_RESULT=%s",
                            !ok && class == FAILURE_TIMEOUT ? "timeout" : strna(res->result));
        (void) strv_extendf(&f, "SLUICE_EXIT_CODE=%d", res->exec_code);
        (void) strv_extendf(&f, "SLUICE_EXIT_STATUS=%d", res->exec_status);
        (void) strv_extendf(&f, "SLUICE_DURATION_USEC=%llu", (unsigned long long) duration);
        if (res->cpu_nsec != UINT64_MAX)
                (void) strv_extendf(&f, "SLUICE_CPU_USEC=%llu",
                                    (unsigned long long) (res->cpu_nsec / NSEC_PER_USEC));
        if (i->run->memory_max != UINT64_MAX)
                (void) strv_extendf(&f, "SLUICE_MEMORY_MAX=%llu",
                                    (unsigned long long) i->run->memory_max);
        if (res->rss_peak != UINT64_MAX)
                (void) strv_extendf(&f, "SLUICE_MEMORY_PEAK=%llu",
                                    (unsigned long long) res->rss_peak);
        format_timespan(dur, sizeof(dur), duration);
        /* CPU time where systemd accounts it or sluice-result measured it. */
        cpu[0] = 0;
        if (res->cpu_nsec != UINT64_MAX) {
                char t[FORMAT_TIMESPAN_MAX];
                snprintf(cpu, sizeof(cpu), " (CPU %s)",
                         format_timespan(t, sizeof(t), res->cpu_nsec / NSEC_PER_USEC));
        }
        if (ok)
                log_struct(LOG_INFO, f, "%s succeeded after %s%s", i->unit, dur, cpu);
        else if (i->cancelled)
                log_struct(LOG_NOTICE, f, "%s was cancelled: %s", i->unit, strna(reason));
        else if (class == FAILURE_INTERRUPTED)
                log_struct(LOG_NOTICE, f, "%s was interrupted: %s", i->unit, strna(reason));
        else
                log_struct(LOG_ERR, f, "%s failed: %s", i->unit, strna(reason));

        run_ended(m, i, ok, class, strna(reason), lost);
}

void executor_lost(Manager *m, Instance *i) {
        UnitResult res = UNIT_RESULT_UNKNOWN;

        executor_finish(m, i, &res);
}

int executor_cancel(Manager *m, Instance *i) {
        switch (i->state) {
        case INSTANCE_QUEUED:
        case INSTANCE_RETRY:
                /* Queued by run --force: complete as it was, nothing to mark. */
                if (evaluate_outputs_complete(i->task, i->binding)) {
                        manager_remove_instance(m, i);
                        return 0;
                }
                /* Failed, "cancelled", as a cancelled run is: kept across restarts, run again
                 * by `retry` or a new arrival, not by the next scan (a queued instance was
                 * dropped, and the start-up scan queued it again). */
                (void) manager_set_wake(m, i, 0);
                free(i->reason);
                i->reason = strdup("cancelled");
                manager_set_state(m, i, INSTANCE_FAILED);
                return 0;
        case INSTANCE_STARTING:
        case INSTANCE_RUNNING:
                /* Noted in its record before the answer: a daemon killed before the run ends
                 * stops it again at its next start (recover.c), and ends it as cancelled. Not
                 * when it is refused for want of a bus, below. */
                if (i->run && (i->run->confirming || m->bus)) {
                        int r = state_cancel_run(m->state, i->run->id_str);

                        if (r < 0 && r != -ENOENT)
                                log_warning_errno(r, "Cannot note the cancel of %s in its run "
                                                     "record: %m", i->unit);
                }
                if (i->run && i->run->confirming) {
                        /* Its unit is gone: what is left of the run is the questions. */
                        i->cancelled = true;
                        executor_confirm_abort(m, i, "cancelled while its outputs were being "
                                                     "confirmed");
                        return 0;
                }
                if (!m->bus)
                        return -ENOTCONN;
                /* The run ends as the stop makes it end, then counts as failed, not retried.
                 * After a start call on the same connection, the manager sees the stop second. */
                i->cancelled = true;
                return executor_stop_unit(m, i);
        default:
                return -ESRCH;
        }
}

int executor_stop_unit_name(Manager *m, const char *unit) {
        return sd_bus_call_method_async(m->bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                        "StopUnit", NULL, NULL, "ss", unit, "replace");
}

int executor_stop_unit(Manager *m, Instance *i) {
        return executor_stop_unit_name(m, i->unit);
}
