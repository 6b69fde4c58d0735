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
 *
 * This file starts a run and takes the manager's answers: the start call, its reply (a name
 * still taken, a bus that refused the call, a manager that did not answer), the start job's
 * end, and a cancel. What the unit is made of is executor-unit.c's; how a run ends and what
 * comes after, executor-end.c's; following the unit in between, follow.c's.
 */
#include <stdio.h>
#include <string.h>

#include "commit.h"
#include "confirm.h"
#include "evaluate.h"
#include "executor-internal.h"
#include "log.h"
#include "recover.h"
#include "scheduler.h"
#include "state.h"
#include "web.h"
#include "util/strv.h"

void unit_result_done(UnitResult *r) {
        free(r->result);
        free(r->run_id);
}

void executor_discard_staged(Instance *i) {
        Task *task = i->task;
        const StageAs *as;

        /* Not as root where the task's user is unknown now: leave the file. */
        if (!i->run || run_stage_as(i, &as) < 0)
                return;
        for (size_t k = 0; k < task->n_outputs && i->run->staged && i->run->staged[k]; k++)
                if (task->outputs[k]->kind->discard)
                        task->outputs[k]->kind->discard(task->outputs[k], i->run->staged[k], as);
}

char **executor_run_fields(Instance *i) {
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

static void log_run_started(Instance *i) {
        _cleanup_strv_free_ char **f = executor_run_fields(i);

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

static void fail_start(Manager *m, Instance *i, int error, const StartError *e) {
        _cleanup_strv_free_ char **f = executor_run_fields(i);
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
        executor_discard_staged(i);
        i->journal_behind = false;
        i->name_waits = 0;
        /* Not an attempt of the task's: a full state directory would burn every attempt of
         * every instance in seconds. It waits, as a run the shutdown stopped does. */
        executor_run_ended(m, i, false, e->daemon_side ? FAILURE_INTERRUPTED : FAILURE_START,
                           reason ?: "start failed", false);
}

void executor_forget_start(Manager *m, Instance *i) {
        executor_start_settled(m, i, "forgotten");
        (void) state_remove_run(m->state, i->run->id_str);
        executor_discard_staged(i);
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
                r = executor_start_unit(m, i, false, &what);
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

int executor_send_start(Manager *m, Instance *i, const UnitSpec *spec) {
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

        r = executor_start_unit(m, i, true, &what);
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
