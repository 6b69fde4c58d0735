/* SPDX-License-Identifier: MIT */
/*
 * Recovery. Task units are systemd's, so they outlive the daemon; the state directory says
 * which runs the daemon had started (a record is written before every start) and how those
 * that ended while it was away ended (sluice-result writes it from the unit). At start-up, and
 * after losing the bus, every run is matched against what systemd has:
 *
 *   unit there, same run id       -> follow it again; if it has ended, read its result
 *   unit gone, result file        -> finish the run with that result
 *   unit gone, no result          -> it never started (killed before the call reached
 *                                    systemd): forget it, the instance is evaluated afresh
 *
 * The run id is compared through the unit's environment, so a failed unit left by an earlier
 * attempt of the same instance is never mistaken for the run that followed it.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "evaluate.h"
#include "executor.h"
#include "log.h"
#include "notify.h"
#include "recover.h"
#include "scheduler.h"
#include "state.h"
#include "unit-props.h"
#include "util/signal-name.h"
#include "util/strv.h"

#define LOST_START_FIRST_CHECK (1 * USEC_PER_SEC)
#define LOST_START_MAX_DELAY (30 * USEC_PER_SEC)


/* Makes mk an instance again; false when its task went away or changed (nothing to keep). */
static bool restore_mark(Manager *m, InstanceMark *mk) {
        Task *task = manager_find_task(m, mk->pipeline, mk->task);
        Instance *i;

        if (!task || manager_instance_from_id(m, task, mk->instance, &i) < 0)
                return false;
        i->attempts = mk->attempts;
        i->memory_max = mk->memory_max;
        i->forced = mk->forced;         /* its outputs from before do not stop it */
        free(i->reason);
        i->reason = TAKE_PTR(mk->reason);
        i->failed_before = true;
        manager_set_state(m, i, mk->failed ? INSTANCE_FAILED : INSTANCE_RETRY);
        /* Failed for good means told so (a cancel is not a failure anyone was told), unless
         * the daemon before died with the notice still waiting (a notifier's window): it is
         * told now, once. */
        if (mk->failed && mk->untold && !streq_ptr(i->reason, "cancelled")) {
                log_info("%s failed for good before a restart, and its notifiers were not told "
                         "yet: telling them now", i->unit);
                notify_instance(m, i, NOTIFY_FAILURE, i->reason);
        } else if (mk->failed && !streq_ptr(i->reason, "cancelled"))
                notify_restore_told(m, i);
        if (mk->wake_realtime > 0 || !mk->failed)
                /* A retry that fell due while the daemon was away fires at once. */
                (void) manager_set_wake(m, i, MAX(mk->wake_realtime, (usec_t) 1));
        return true;
}

/* A mark of a pipeline that is not running (its file has errors, now or at start): kept, not
 * lost, or the instance would run again, failed for good, once the file is mended. */
static void keep_mark(Manager *m, InstanceMark **mk) {
        InstanceMark **l = reallocarray(m->kept_marks, m->n_kept_marks + 1, sizeof(*l));

        if (!l)
                return;
        m->kept_marks = l;
        m->kept_marks[m->n_kept_marks++] = TAKE_PTR(*mk);
}

void recover_marks(Manager *m) {
        InstanceMark **marks = NULL;
        size_t n = 0, kept = 0;
        int r;

        r = state_read_marks(m->state_dir, &marks, &n);
        if (r < 0) {
                log_warning_errno(r, "Cannot read the instance marks in '%s', starting without "
                                     "them: %m", m->state_dir);
                return;
        }
        for (size_t k = 0; k < n; k++) {
                if (manager_find_pipeline(m, marks[k]->pipeline))
                        (void) restore_mark(m, marks[k]);
                else {
                        keep_mark(m, &marks[k]);
                        kept++;
                }
        }
        instance_marks_free(marks, n);
        if (n > kept)
                log_info("Restored %zu failed or retrying instance(s)", n - kept);
        if (kept > 0)
                log_notice("Kept %zu failed or retrying mark(s) of pipelines not running, for "
                           "when they are", kept);
}

void recover_kept_marks(Manager *m) {
        size_t n = 0, restored = 0;

        for (size_t k = 0; k < m->n_kept_marks; k++) {
                InstanceMark *mk = m->kept_marks[k];

                if (!manager_find_pipeline(m, mk->pipeline)) {
                        m->kept_marks[n++] = mk;
                        continue;
                }
                restored += restore_mark(m, mk);
                instance_mark_done(mk);
                free(mk);
        }
        m->n_kept_marks = n;
        if (restored > 0) {
                log_info("Restored %zu failed or retrying instance(s) of pipelines now running",
                         restored);
                manager_save_marks(m);
        }
}

/* What systemd has under that name: its run id (from its environment) and its ActiveState.
 * 0 when no unit of that name is loaded. */
static int unit_status(Manager *m, const char *unit, char **ret_run_id, char **ret_state) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **env = NULL;
        const char *path;
        int r;

        r = sd_bus_call_method(m->bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "GetUnit", &e,
                               &reply, "s", unit);
        if (r < 0)
                return sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit") ? 0 : r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property_string(m->bus, SYSTEMD_DEST, path, "org.freedesktop.systemd1.Unit",
                                       "ActiveState", &e, ret_state);
        if (r < 0)
                return r;
        r = sd_bus_get_property_strv(m->bus, SYSTEMD_DEST, path,
                                     "org.freedesktop.systemd1.Service", "Environment", &e, &env);
        if (r < 0)
                return r;
        *ret_run_id = NULL;
        STRV_FOREACH(v, env)
                if (strneq(*v, "SLUICE_RUN_ID=", 14))
                        *ret_run_id = strdup(*v + 14);
        return 1;
}

/* The state directory's file system is full: told once, and the reserve made again as soon
 * as there is room, here or at the next sweep (follow.c). */
static void reserve_spent(Manager *m, Instance *i) {
        bool told = m->state->reserve_missing;
        int r = state_reserve(m->state);

        if (!told)
                log_warning("The file system of the state directory '%s' was full when %s "
                            "ended: its end was recorded in the space held in reserve%s",
                            m->state_dir, i->unit,
                            r >= 0 ? ", which is held again"
                                   : ". Free space there: until then, starts are held, and a "
                                     "run whose end cannot be recorded runs again");
}

void recover_from_result_file(Manager *m, Instance *i) {
        UnitResult res = UNIT_RESULT_UNKNOWN;
        RunResult rr = {};
        int r;

        if (run_end_taken(i->run))
                return;         /* its result was read; its outputs are being confirmed */
        r = state_read_result(m->state_dir, i->run->id_str, &rr);
        if (r <= 0) {
                if (r < 0)
                        log_warning_errno(r, "Cannot read the result of run %s: %m",
                                          i->run->id_str);
                executor_lost(m, i);
                return;
        }
        /* systemd's $EXIT_CODE and $EXIT_STATUS: "exited" and a number, or "killed"/"dumped"
         * and a signal name. */
        res.result = TAKE_PTR(rr.service_result);
        /* Timestamps of the run, as near as the daemon knows them: when it was started, and
         * when sluice-result recorded its end. */
        res.start_usec = i->run->start_realtime;
        res.exit_usec = rr.realtime;
        if (rr.cpu_usec != UINT64_MAX)
                res.cpu_nsec = rr.cpu_usec * NSEC_PER_USEC;
        res.rss_peak = rr.rss_peak;
        res.journal_behind = rr.journal_behind;
        if (rr.exit_code && streq(rr.exit_code, "exited")) {
                res.exec_code = CLD_EXITED;
                res.exec_status = atoi(strempty(rr.exit_status));
        } else if (rr.exit_code && (streq(rr.exit_code, "killed") || streq(rr.exit_code, "dumped"))) {
                res.exec_code = streq(rr.exit_code, "killed") ? CLD_KILLED : CLD_DUMPED;
                res.exec_status = signal_from_name(strempty(rr.exit_status));
        }
        if (rr.reserve_used)
                reserve_spent(m, i);
        log_debug("%s ended: %s", i->unit, strna(res.result));
        executor_finish(m, i, &res);
        unit_result_done(&res);
        run_result_done(&rr);
}

/* Holds the instance as RUNNING with this run, as if the daemon had started it. */
static void adopt(Manager *m, Instance *i, Run *run) {
        if (i->state == INSTANCE_QUEUED || i->state == INSTANCE_RETRY ||
            i->state == INSTANCE_FAILED)
                (void) manager_set_wake(m, i, 0);
        run->adopted = true;
        i->run = run;
        i->attempts = MAX(i->attempts, run->attempt);
        /* Under "newer", an input written while the daemon was away and the run went on:
         * what a watching daemon would have seen (evaluate.c). */
        i->changed_in_run = i->task->rerun_newer && run->start_realtime > 0 &&
                            task_newest_input(i->task, i->binding, NULL) > run->start_realtime;
        manager_set_state(m, i, INSTANCE_RUNNING);
        scheduler_take(m, i);
}

static Run *run_from_record(Manager *m, RunRecord *rec) {
        Run *run = calloc(1, sizeof(Run));

        if (!run)
                return NULL;
        run->manager = m;
        snprintf(run->id_str, sizeof(run->id_str), "%s", rec->run_id);
        run->attempt = MAX(rec->attempt, 1u);
        run->memory_max = rec->memory_max;
        run->start_realtime = rec->start_realtime;
        run->outputs = TAKE_PTR(rec->outputs);
        run->staged = TAKE_PTR(rec->staged);
        run->start_usec = now_usec(CLOCK_MONOTONIC);
        return run;
}

/* Removes what a run that never started left: its staged outputs and its record. Without its
 * task (gone from the configuration), a staged file of the daemon's own naming is removed all
 * the same: nothing would ever commit it. */
static void forget_run(Manager *m, RunRecord *rec, Task *task) {
        for (size_t k = 0; rec->staged && rec->staged[k]; k++) {
                Target *t = task && k < task->n_outputs ? task->outputs[k] : NULL;
                const char *base = strrchr(rec->staged[k], '/');

                /* With the daemon's credentials, as for a task gone: the name holds the
                 * run's random id, which nobody could have put a file of their own under. */
                if (t && t->kind->discard)
                        t->kind->discard(t, rec->staged[k], NULL);
                else if (!t && rec->staged[k][0] == '/' && base && strneq(base + 1, ".sluice-", 8))
                        (void) unlink(rec->staged[k]);
        }
        (void) state_remove_run(m->state, rec->run_id);
}

/* A pipeline not running whose file is there: it has errors, and a reload may start it. */
static bool pipeline_file_there(Manager *m, const char *name) {
        _cleanup_free_ char *file = NULL;

        if (asprintf(&file, "%s/%s.conf", m->pipelines_dir, name) < 0)
                return true;    /* kept, rather than a run lost */
        return access(file, F_OK) == 0;
}

/* Taken over (rec is left empty): its unit runs on, and writes its result, meanwhile. */
static void keep_run(Manager *m, RunRecord *rec) {
        RunRecord **l = reallocarray(m->kept_runs, m->n_kept_runs + 1, sizeof(*l));
        RunRecord *copy = malloc(sizeof(RunRecord));

        if (!l || !copy) {
                free(copy);
                if (l)
                        m->kept_runs = l;
                return;         /* still open in runs.log: the next start finds it */
        }
        *copy = *rec;
        *rec = (RunRecord){};
        m->kept_runs = l;
        m->kept_runs[m->n_kept_runs++] = copy;
}

/* One recorded run: follow its unit again, or finish it from its result, or forget it. */
static void recover_record(Manager *m, RunRecord *rec) {
        _cleanup_free_ char *run_id = NULL, *state = NULL;
        Task *task = manager_find_task(m, rec->pipeline, rec->task);
        Instance *i = NULL;
        bool created;
        Run *run;
        int r;

        if (!task && !manager_find_pipeline(m, rec->pipeline) &&
            pipeline_file_there(m, rec->pipeline)) {
                log_notice("Run %s of %s is kept until pipeline '%s' runs again (its file has "
                           "errors): its outputs are taken then", rec->run_id, rec->unit,
                           rec->pipeline);
                keep_run(m, rec);
                return;
        }
        r = task ? manager_instance_from_id(m, task, rec->instance, &i) : -ENOENT;
        created = r > 0;
        if (r < 0 || !streq(i->unit, rec->unit) || strv_length(rec->staged) != task->n_outputs) {
                bool reshaped = r >= 0 && streq(i->unit, rec->unit);

                if (created)
                        manager_remove_instance(m, i);
                /* Renamed, moved to another file, removed, or given other outputs while the
                 * daemon was away: its outputs are no task's now, and the task under its new
                 * name would write them beside it. Stopped, so that only one run makes them;
                 * not for want of memory, which says nothing about the task. */
                if (r == -ENOMEM) {
                        log_oom();
                        return;
                }
                log_notice("Run %s of %s belongs to no loaded task any more (%s): stopping its "
                           "unit, and dropping it", rec->run_id, rec->unit,
                           reshaped ? "its outputs changed" : "renamed or removed");
                (void) executor_stop_unit_name(m, rec->unit);
                forget_run(m, rec, NULL);
                return;
        }
        if (i->run) {
                /* The same instance twice (a unit found earlier): this record is stale. */
                forget_run(m, rec, task);
                return;
        }
        r = unit_status(m, rec->unit, &run_id, &state);
        if (r < 0) {
                /* Not knowing is not "never started": that would start it a second time
                 * beside a unit still running. Followed, it is asked about again. */
                log_warning_errno(r, "Cannot ask systemd about %s: %m; asking again later",
                                  rec->unit);
                run = run_from_record(m, rec);
                if (!run) {
                        log_oom();
                        return;
                }
                adopt(m, i, run);
                i->cancelled = rec->cancelled;
                if (i->cancelled)
                        (void) executor_stop_unit(m, i);
                executor_arm_sweep(m);
                return;
        }
        /* No unit with this run: it ended and was collected, or it never started. Only a
         * result file tells them apart; without one the run never happened, and the
         * instance is left to be evaluated afresh. */
        if (!(r > 0 && run_id && streq(run_id, rec->run_id)) &&
            !state_has_result(m->state_dir, rec->run_id)) {
                log_info("Run %s of %s never started; dropping it (%s)", rec->run_id, rec->unit,
                         r > 0 ? "its name holds another run" : "no such unit");
                forget_run(m, rec, task);
                if (rec->cancelled && !i->run) {
                        /* Cancelled before it got its unit: cancelled, as a queued instance
                         * is, not run by the next scan. */
                        free(i->reason);
                        i->reason = strdup("cancelled");
                        manager_set_state(m, i, INSTANCE_FAILED);
                } else if (created)
                        manager_remove_instance(m, i);
                return;
        }
        run = run_from_record(m, rec);
        if (!run) {
                log_oom();
                return;
        }
        adopt(m, i, run);
        i->cancelled = rec->cancelled;
        if (r > 0 && run_id && streq(run_id, rec->run_id)) {
                log_info("Following %s again (run %s, %s)%s", rec->unit, rec->run_id, state,
                         i->cancelled ? "; it was cancelled, stopping it" : "");
                /* The stop asked for before may have died with the daemon that asked. */
                if (i->cancelled && executor_stop_unit(m, i) < 0)
                        log_warning("Cannot stop %s, cancelled before a restart", i->unit);
                executor_query(m, i);
                return;
        }
        recover_from_result_file(m, i);
}

/* Units of loaded pipelines that no record names (the state directory was lost, or is new):
 * those still running are followed from what their environment says. */
static void recover_unrecorded(Manager *m) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *name, *desc, *load, *active, *sub, *follow, *path, *jtype, *jpath;
        uint32_t jid;
        int r;

        r = sd_bus_call_method(m->bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                               "ListUnitsByPatterns", &e, &reply, "asas", 0, 1, "sluice-*");
        if (r < 0) {
                log_warning_errno(r, "Cannot list sluice units: %s", e.message ?: strerror(-r));
                return;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                return;
        while (sd_bus_message_read(reply, "(ssssssouso)", &name, &desc, &load, &active, &sub,
                                   &follow, &path, &jid, &jtype, &jpath) > 0) {
                _cleanup_strv_free_ char **env = NULL;
                const char *id = NULL, *run_id = NULL, *pipeline = NULL, *task_name = NULL;
                const char *outputs = NULL, *staged = NULL, *attempt = NULL;
                Instance *i;
                Task *task;
                Run *run;

                if (!streq(active, "active") && !streq(active, "activating") &&
                    !streq(active, "deactivating"))
                        continue;
                if (manager_find_instance(m, name) && manager_find_instance(m, name)->run)
                        continue;       /* recorded, and followed already */
                if (sd_bus_get_property_strv(m->bus, SYSTEMD_DEST, path,
                                             "org.freedesktop.systemd1.Service", "Environment",
                                             NULL, &env) < 0)
                        continue;
                STRV_FOREACH(v, env) {
                        if (strneq(*v, "SLUICE_INSTANCE=", 16))
                                id = *v + 16;
                        else if (strneq(*v, "SLUICE_RUN_ID=", 14))
                                run_id = *v + 14;
                        else if (strneq(*v, "SLUICE_PIPELINE=", 16))
                                pipeline = *v + 16;
                        else if (strneq(*v, "SLUICE_TASK=", 12))
                                task_name = *v + 12;
                        else if (strneq(*v, "SLUICE_FINAL_OUTPUTS=", 21))
                                outputs = *v + 21;
                        else if (strneq(*v, "SLUICE_OUTPUTS=", 15))
                                staged = *v + 15;
                        else if (strneq(*v, "SLUICE_ATTEMPT=", 15))
                                attempt = *v + 15;
                }
                if (!id || !run_id || !pipeline || !task_name || !outputs || !staged)
                        continue;
                task = manager_find_task(m, pipeline, task_name);
                if (!task)
                        continue;
                r = manager_instance_from_id(m, task, id, &i);
                if (r < 0)
                        continue;
                if (!streq(i->unit, name)) {
                        if (r > 0)
                                manager_remove_instance(m, i);
                        continue;
                }
                run = calloc(1, sizeof(Run));
                if (!run)
                        return;
                run->manager = m;
                snprintf(run->id_str, sizeof(run->id_str), "%s", run_id);
                run->attempt = attempt ? (unsigned) atoi(attempt) : 1;
                run->memory_max = UINT64_MAX;
                run->start_usec = now_usec(CLOCK_MONOTONIC);
                /* Output paths never hold a newline: the environment lists them one a line. */
                run->outputs = strv_split_newlines(outputs);
                run->staged = strv_split_newlines(staged);
                if (strv_length(run->outputs) != task->n_outputs ||
                    strv_length(run->staged) != task->n_outputs) {
                        run_free(run);
                        if (r > 0)
                                manager_remove_instance(m, i);
                        continue;
                }
                log_info("Following %s again (run %s, found without a record)", name, run_id);
                adopt(m, i, run);
                (void) state_write_run(m->state,
                                       &(RunRecord){ .run_id = run->id_str, .unit = i->unit,
                                                     .pipeline = task->pipeline->name,
                                                     .task = task->name, .instance = i->id,
                                                     .attempt = run->attempt,
                                                     .memory_max = UINT64_MAX,
                                                     .outputs = run->outputs,
                                                     .staged = run->staged });
                executor_query(m, i);
        }
}

void recover_kept_runs(Manager *m) {
        size_t n = 0;

        for (size_t k = 0; k < m->n_kept_runs; k++) {
                RunRecord *rec = m->kept_runs[k];

                if (!manager_find_pipeline(m, rec->pipeline) &&
                    pipeline_file_there(m, rec->pipeline)) {
                        m->kept_runs[n++] = rec;
                        continue;
                }
                /* Started now (taken back), or its file gone (dropped, as at start-up). */
                if (m->bus)
                        recover_record(m, rec);
                else
                        m->kept_runs[n++] = TAKE_PTR(rec);
                if (rec) {
                        run_record_done(rec);
                        free(rec);
                }
        }
        m->n_kept_runs = n;
}

void recover_runs(Manager *m) {
        RunRecord **records = NULL;
        size_t n = 0;
        int r;

        if (!m->bus)
                return;
        r = state_read_runs(m->state, &records);
        if (r < 0)
                log_warning_errno(r, "Cannot read the run records in '%s': %m", m->state_dir);
        for (RunRecord **rec = records; rec && *rec; rec++, n++)
                recover_record(m, *rec);
        run_records_free(records);
        recover_unrecorded(m);
        state_remove_stray_results(m->state);
        if (n > 0)
                log_info("Accounted for %zu run(s) left by an earlier sluiced", n);
}

static int on_check_lost_start(sd_event_source *s, uint64_t usec, void *userdata);

static void check_lost_start_later(Manager *m, Instance *i) {
        i->run->check_delay = MIN(i->run->check_delay * 2, LOST_START_MAX_DELAY);
        (void) sd_event_add_time_relative(m->event, &i->timer, CLOCK_MONOTONIC,
                                          i->run->check_delay, 0, on_check_lost_start, i);
}

static int on_lost_start_env(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        _cleanup_strv_free_ char **env = NULL;
        Instance *i = userdata;
        Manager *m = i->manager;
        bool ours = false;

        i->run->slot = sd_bus_slot_unref(i->run->slot);
        if (e && !sd_bus_error_has_name(e, "org.freedesktop.DBus.Error.UnknownObject") &&
            !sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit")) {
                log_warning("Still no answer about %s (%s); asking again later", i->unit,
                            e->message ?: e->name);
                check_lost_start_later(m, i);
                return 0;
        }
        if (!e && sd_bus_message_enter_container(reply, 'v', "as") >= 0 &&
            sd_bus_message_read_strv(reply, &env) >= 0)
                STRV_FOREACH(v, env)
                        ours = ours || (strneq(*v, "SLUICE_RUN_ID=", 14) &&
                                        streq(*v + 14, i->run->id_str));
        executor_start_settled(m, i, "no answer to the start");
        if (ours || state_has_result(m->state_dir, i->run->id_str)) {
                log_notice("%s was started all the same", i->unit);
                executor_started_unanswered(m, i);
                return 0;
        }
        if (i->cancelled) {
                /* Cancelled meanwhile: it ends here, as cancelled, not queued again. */
                executor_lost(m, i);
                return 0;
        }
        log_notice("The start of %s never reached the manager; queueing it again", i->unit);
        executor_forget_start(m, i);
        scheduler_enqueue(m, i);
        return 0;
}

/* Asked on the connection the start went out on, so answered only after the manager has
 * dealt with the start, or after the start was lost with the manager's connection. A unit
 * that does not exist reads as one without our run id. Asynchronous: a manager too busy to
 * answer must not stall the daemon. */
static int on_check_lost_start(sd_event_source *s, uint64_t usec, void *userdata) {
        Instance *i = userdata;
        Manager *m = i->manager;
        int r;

        i->timer = sd_event_source_disable_unref(i->timer);
        /* Without a bus, recover_in_flight() settles it after reconnecting. */
        if (!m->bus || i->state != INSTANCE_STARTING || !i->run || i->run->slot)
                return 0;
        r = executor_ask_unit(m, i, "org.freedesktop.systemd1.Service", "Environment",
                              on_lost_start_env);
        if (r < 0) {
                log_warning_errno(r, "Cannot ask about %s: %m; trying again later", i->unit);
                check_lost_start_later(m, i);
        }
        return 0;
}

void recover_lost_start(Manager *m, Instance *i) {
        i->run->check_delay = LOST_START_FIRST_CHECK / 2;     /* doubled before use */
        i->timer = sd_event_source_disable_unref(i->timer);
        check_lost_start_later(m, i);
}

void recover_in_flight(Manager *m) {
        Instance *i, *tmp;

        HASH_ITER(hh, m->instances, i, tmp) {
                _cleanup_free_ char *run_id = NULL, *state = NULL;
                int r;

                if (!i->run || (i->state != INSTANCE_RUNNING && i->state != INSTANCE_STARTING))
                        continue;
                i->run->slot = sd_bus_slot_unref(i->run->slot);
                if (i->state == INSTANCE_STARTING)     /* a lost start's check: done here */
                        i->timer = sd_event_source_disable_unref(i->timer);
                /* A JobRemoved still to come was lost with the connection. */
                executor_start_settled(m, i, "the bus connection was lost");
                r = unit_status(m, i->unit, &run_id, &state);
                if (r < 0) {
                        /* Unknown, not gone: a start is checked on later, as one that had
                         * no answer; a run is asked about again by the sweep. */
                        log_warning_errno(r, "Cannot ask systemd about %s: %m; asking again "
                                          "later", i->unit);
                        if (i->state == INSTANCE_STARTING)
                                recover_lost_start(m, i);
                        executor_arm_sweep(m);
                        continue;
                }
                if (r > 0 && run_id && streq(run_id, i->run->id_str)) {
                        if (i->state == INSTANCE_STARTING)
                                manager_set_state(m, i, INSTANCE_RUNNING);
                        executor_query(m, i);
                        continue;
                }
                if (i->state == INSTANCE_STARTING) {
                        if (!state_has_result(m->state_dir, i->run->id_str) && i->cancelled) {
                                executor_lost(m, i);
                                continue;
                        }
                        if (!state_has_result(m->state_dir, i->run->id_str)) {
                                /* The call was lost with the connection: start it again. */
                                log_notice("The start of %s was lost with the bus; queueing it "
                                           "again", i->unit);
                                executor_forget_start(m, i);
                                scheduler_enqueue(m, i);
                                continue;
                        }
                }
                manager_set_state(m, i, INSTANCE_RUNNING);
                recover_from_result_file(m, i);
        }
}
