/* SPDX-License-Identifier: MIT */
/*
 * Following runs to their end. In every task unit sluice-result writes how the run ended into
 * the state directory, and the daemon watches that directory with inotify. sluice-result wraps
 * the task itself where it can (same user, no sandbox), which costs the manager nothing; else
 * it is the unit's ExecStopPost=, one more process for the manager to fork per run. Following
 * units over D-Bus instead would make the manager send every subscriber a stream of
 * PropertiesChanged signals for every unit: measured here, subscribing cost it 45% of its start
 * rate, the ExecStopPost= 40% (bench/RESULTS.md). A result file also serves a daemon that was
 * away: it waits for it.
 *
 * A sweep every SWEEP_INTERVAL catches what inotify cannot: a result written while the watch
 * was overflowing, and a unit that ended without a result (the wrapper was SIGKILLed with its
 * task, at the end of a stop timeout, or the manager lost the unit). A unit that failed before
 * its command ran leaves no result either, but its failed start job says so at once
 * (executor_query_failed_start()).
 *
 * The bus connection itself is watched too: when it drops, the daemon reconnects with back-off
 * and checks every run in flight (recover.c).
 */
#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "bus-api.h"
#include "executor.h"
#include "log.h"
#include "recover.h"
#include "scheduler.h"
#include "state.h"
#include "unit-props.h"
#include "util/fs-util.h"

#define RECONNECT_MAX_DELAY (30 * USEC_PER_SEC)
#define SWEEP_INTERVAL (30 * USEC_PER_SEC)
#define RESULTS_POLL_INTERVAL USEC_PER_SEC

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
                else if (streq(key, "Environment")) {
                        r = sd_bus_message_enter_container(reply, 'v', "as");
                        if (r < 0)
                                return r;
                        r = sd_bus_message_enter_container(reply, 'a', "s");
                        if (r < 0)
                                return r;
                        for (;;) {
                                const char *e;
                                r = sd_bus_message_read(reply, "s", &e);
                                if (r <= 0)
                                        break;
                                if (strneq(e, "SLUICE_RUN_ID=", 14) && !res->run_id &&
                                    !(res->run_id = strdup(e + 14)))
                                        r = -ENOMEM;
                        }
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                } else
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

/*
 * An error asking about a run's unit says it is gone only when the manager says so; a timeout,
 * a manager off the bus for a moment (daemon-reexec, as a systemd upgrade does), or our own
 * connection dropping (sd-bus fails every call in flight before it says so) say nothing about
 * the run. Then, short of a result file, the run stays as it is and the next sweep asks again:
 * taking it for lost would discard the outputs of a task still running.
 */
static bool answer_inconclusive(Manager *m, Instance *i, sd_bus_message *reply) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (!e || sd_bus_error_has_names(e, "org.freedesktop.systemd1.NoSuchUnit",
                                         SD_BUS_ERROR_UNKNOWN_OBJECT) ||
            state_has_result(m->state_dir, i->run->id_str))
                return false;
        log_warning("Cannot ask the manager about %s (%s); asking again later", i->unit,
                    e->message ?: e->name);
        return true;
}

/* The reply to GetAll(Service), asked when no result file came: how the unit ended. */
static int on_service_props(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Instance *i = userdata;
        Manager *m = i->manager;
        UnitResult res = UNIT_RESULT_UNKNOWN;
        int r;

        i->run->slot = sd_bus_slot_unref(i->run->slot);
        if (answer_inconclusive(m, i, reply))
                return 0;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                recover_from_result_file(m, i);
                return 0;
        }
        r = read_result(reply, &res);
        if (r < 0)
                log_warning_errno(r, "Cannot parse the result of %s: %m", i->unit);
        if (!res.run_id || !streq(res.run_id, i->run->id_str)) {
                /* Not our run's unit: ours is gone, and asking loaded an empty one. */
                unit_result_done(&res);
                recover_from_result_file(m, i);
                return 0;
        }
        executor_finish(m, i, &res);
        unit_result_done(&res);
        return 0;
}

/* After a failed start job, how often and how soon a unit still on its way down is asked
 * about again: 50 ms doubling, 3 s in all, then the sweep's turn. */
#define FAILED_START_ASKS 6
#define FAILED_START_FIRST_ASK (50 * USEC_PER_MSEC)

static int on_ask_again(sd_event_source *s, uint64_t usec, void *userdata) {
        Instance *i = userdata;

        i->run->ask_timer = sd_event_source_disable_unref(i->run->ask_timer);
        executor_query(i->manager, i);
        return 0;
}

static void ask_again_soon(Manager *m, Instance *i) {
        Run *run = i->run;

        if (run->ask_timer || run->start_failed_asks >= FAILED_START_ASKS)
                return;
        if (sd_event_add_time_relative(m->event, &run->ask_timer, CLOCK_MONOTONIC,
                                       FAILED_START_FIRST_ASK << run->start_failed_asks, 0,
                                       on_ask_again, i) >= 0)
                run->start_failed_asks++;
}

/* The reply to Get(ActiveState), for a run whose result is overdue. */
static int on_active_state(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Instance *i = userdata;
        Manager *m = i->manager;
        _cleanup_free_ char *path = NULL;
        const char *state;
        int r;

        i->run->slot = sd_bus_slot_unref(i->run->slot);
        if (answer_inconclusive(m, i, reply))
                return 0;
        if (sd_bus_message_is_method_error(reply, NULL) ||
            sd_bus_message_read(reply, "v", "s", &state) < 0) {
                recover_from_result_file(m, i);
                return 0;
        }
        if (!streq(state, "inactive") && !streq(state, "failed")) {
                /* Still running, or on its way down after a failed start (its ExecStopPost=
                 * records the end, or fails as the command did): its result will come. */
                if (i->run->start_failed)
                        ask_again_soon(m, i);
                return 0;
        }
        /* Written between the question and the answer (the ExecStopPost= form): the result
         * file says more than the manager (the task's CPU time and peak memory). */
        if (state_has_result(m->state_dir, i->run->id_str)) {
                recover_from_result_file(m, i);
                return 0;
        }
        /* Over, and no result file: sluice-result was killed or could not write, or never
         * ran (the unit could not be set up: systemd's statuses 200-245). */
        r = sd_bus_path_encode(UNIT_PATH_PREFIX, i->unit, &path);
        if (r >= 0)
                r = sd_bus_call_method_async(m->bus, &i->run->slot, SYSTEMD_DEST, path,
                                             "org.freedesktop.DBus.Properties", "GetAll",
                                             on_service_props, i, "s",
                                             "org.freedesktop.systemd1.Service");
        if (r < 0)
                recover_from_result_file(m, i);
        return 0;
}

int executor_ask_unit(Manager *m, Instance *i, const char *interface, const char *property,
                      sd_bus_message_handler_t callback) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sd_bus_path_encode(UNIT_PATH_PREFIX, i->unit, &path);
        if (r < 0)
                return r;
        return sd_bus_call_method_async(m->bus, &i->run->slot, SYSTEMD_DEST, path,
                                        "org.freedesktop.DBus.Properties", "Get", callback, i,
                                        "ss", interface, property);
}

void executor_query(Manager *m, Instance *i) {
        int r;

        if (i->run->slot || run_end_taken(i->run) || !m->bus)
                return;         /* a question is on its way already, or no bus to ask */
        if (state_has_result(m->state_dir, i->run->id_str)) {
                recover_from_result_file(m, i);
                return;
        }
        r = executor_ask_unit(m, i, "org.freedesktop.systemd1.Unit", "ActiveState",
                              on_active_state);
        if (r < 0)
                log_warning_errno(r, "Cannot ask about %s: %m", i->unit);
}

/*
 * Units are Type=exec: their start job fails when the unit's process could not be set up to
 * run the command (no such working directory, user or group: systemd's statuses 200-245), and
 * then no sluice-result ran to write a result file, so the run would wait for the sweep. Its
 * unit is asked about at once instead. A command that ran and exited at once can fail its
 * start job too (the manager may see its exit before its exec): its result file is there
 * already (sluice-result writes it before it exits), or comes from the unit's ExecStopPost=,
 * and is read as ever. Whichever way the end is read first ends the run, once: a result file
 * read cancels the question in flight (result_arrived()), and an answer read first leaves no
 * run for the result file to end.
 */
void executor_query_failed_start(Manager *m, Instance *i) {
        i->run->start_failed = true;
        executor_query(m, i);
}

/* A result file arrived: the run of that id is over. */
static void result_arrived(Manager *m, const char *name) {
        size_t n = strlen(name);
        char run_id[SD_ID128_STRING_MAX];
        Instance *i, *tmp;

        if (n != 32 + 7 || !streq(name + 32, ".result"))
                return;
        memcpy(run_id, name, 32);
        run_id[32] = 0;
        /* Per result, a walk of the instances in flight; a table by run id would save it. */
        HASH_ITER(hh, m->instances, i, tmp)
                if (i->run && streq(i->run->id_str, run_id) &&
                    (i->state == INSTANCE_RUNNING || i->state == INSTANCE_STARTING)) {
                        if (i->state == INSTANCE_STARTING)
                                return;         /* the start reply comes first; see there */
                        i->run->slot = sd_bus_slot_unref(i->run->slot);
                        recover_from_result_file(m, i);
                        return;
                }
}

static int on_results(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));

        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;

                        p += sizeof(*ev) + ev->len;
                        if (ev->mask & IN_Q_OVERFLOW) {
                                /* Results were lost: sweep now. */
                                (void) sd_event_source_set_time_relative(m->sweep_source, 0);
                                (void) sd_event_source_set_enabled(m->sweep_source,
                                                                   SD_EVENT_ONESHOT);
                        }
                        else if (ev->len > 0)
                                result_arrived(m, ev->name);
                }
        }
}

/* Every SWEEP_INTERVAL: runs whose result did not arrive by inotify are asked about. */
static int on_sweep(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        Instance *i, *tmp;
        bool any = false;

        HASH_ITER(hh, m->instances, i, tmp) {
                if (!i->run)
                        continue;
                any = true;
                /* Not while its start job is still queued: the unit is "inactive" then, as if
                 * it had ended (JobRemoved settles it, or a reconnect does). */
                if (i->state == INSTANCE_RUNNING && !i->run->starting &&
                    now - i->run->start_usec >= SWEEP_INTERVAL)
                        executor_query(m, i);
        }
        if (m->state->reserve_missing)
                (void) state_reserve(m->state);
        /* With nothing in flight an idle daemon wakes for nothing; a start re-arms it. */
        if (any)
                executor_arm_sweep(m);
        return 0;
}

/*
 * Without a watch on runs/ (out of inotify watches or instances when the daemon started), a
 * result file is looked for every second while runs are in flight: the sweep's 30 s would
 * hold up every chain that long. Once per result, the walk starts again: finishing a run may
 * add or remove instances.
 */
static int on_results_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        bool any = false;

        for (;;) {
                Instance *i, *tmp, *done = NULL;

                any = false;
                HASH_ITER(hh, m->instances, i, tmp) {
                        if (!i->run)
                                continue;
                        any = true;
                        /* One being confirmed has its result already: it would be found
                         * again and again, and the loop never left. */
                        if (i->state == INSTANCE_RUNNING && !i->run->slot &&
                            !run_end_taken(i->run) &&
                            state_has_result(m->state_dir, i->run->id_str)) {
                                done = i;
                                break;
                        }
                }
                if (!done)
                        break;
                recover_from_result_file(m, done);
        }
        if (any) {
                (void) sd_event_source_set_time_relative(s, RESULTS_POLL_INTERVAL);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

void executor_arm_sweep(Manager *m) {
        int enabled = SD_EVENT_OFF;

        if (m->results_poll && sd_event_source_get_enabled(m->results_poll, &enabled) >= 0 &&
            enabled == SD_EVENT_OFF) {
                (void) sd_event_source_set_time_relative(m->results_poll, RESULTS_POLL_INTERVAL);
                (void) sd_event_source_set_enabled(m->results_poll, SD_EVENT_ONESHOT);
        }
        enabled = SD_EVENT_OFF;

        if (!m->sweep_source)
                return;
        (void) sd_event_source_get_enabled(m->sweep_source, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        (void) sd_event_source_set_time_relative(m->sweep_source, SWEEP_INTERVAL);
        (void) sd_event_source_set_enabled(m->sweep_source, SD_EVENT_ONESHOT);
}

int executor_watch_results(Manager *m) {
        _cleanup_free_ char *runs = NULL;
        int r;

        if (path_join(m->state_dir, "runs", &runs) < 0)
                return log_oom();
        r = sd_event_add_time_relative(m->event, &m->sweep_source, CLOCK_MONOTONIC, SWEEP_INTERVAL,
                                       USEC_PER_SEC, on_sweep, m);
        if (r < 0)
                return log_error_errno(r, "Cannot arm the sweep: %m");
        r = sd_event_source_set_enabled(m->sweep_source, SD_EVENT_OFF);
        if (r < 0)
                return r;
        /* The helper writes a temporary file and renames it into place (write_file_replace). */
        m->results_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (m->results_fd < 0 || inotify_add_watch(m->results_fd, runs, IN_MOVED_TO) < 0) {
                if (errno != ENOSPC && errno != EMFILE)
                        return log_error_errno(errno, "Cannot watch '%s': %m", runs);
                /* Out of watches or instances (the pipelines' targets fall back to scanning
                 * the same way): not a reason to refuse to start. */
                log_warning_errno(errno, "Cannot watch '%s' (%m): run results are looked for "
                                  "every second instead", runs);
                m->results_fd = safe_close(m->results_fd);
                r = sd_event_add_time_relative(m->event, &m->results_poll, CLOCK_MONOTONIC,
                                               RESULTS_POLL_INTERVAL, USEC_PER_MSEC * 10,
                                               on_results_poll, m);
                if (r < 0)
                        return log_error_errno(r, "Cannot arm the look for results: %m");
                return sd_event_source_set_enabled(m->results_poll, SD_EVENT_OFF);
        }
        r = sd_event_add_io(m->event, &m->results_source, m->results_fd, EPOLLIN, on_results, m);
        if (r < 0)
                return log_error_errno(r, "Cannot watch for results: %m");
        return 0;
}


static void schedule_reconnect(Manager *m);

static void drop_bus(Manager *m) {
        m->match_disconnected = sd_bus_slot_unref(m->match_disconnected);
        m->match_job_removed = sd_bus_slot_unref(m->match_job_removed);
        m->bus = sd_bus_flush_close_unref(m->bus);
}

static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        Instance *i, *tmp;

        log_warning("Lost the connection to the %s bus; reconnecting",
                    m->user ? "user" : "system");
        /* Pending calls die with the connection; they are asked again after reconnecting. */
        HASH_ITER(hh, m->instances, i, tmp)
                if (i->run)
                        i->run->slot = sd_bus_slot_unref(i->run->slot);
        drop_bus(m);
        schedule_reconnect(m);
        return 0;
}

static int open_bus(Manager *m, bool at_start) {
        int r;

        r = m->user ? sd_bus_open_user(&m->bus) : sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the %s bus: %m%s",
                                       m->user ? "user" : "system",
                                       m->user ? " (is a user manager running? see "
                                                 "contrib/systemd-up)"
                                               : "");
        (void) sd_bus_set_description(m->bus, "sluiced");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        r = sd_bus_match_signal_async(m->bus, &m->match_disconnected, "org.freedesktop.DBus.Local",
                                      NULL, "org.freedesktop.DBus.Local", "Disconnected",
                                      on_disconnected, NULL, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the bus connection: %m");
        /* Synchronous: a start must not be sent before the bus delivers its JobRemoved. */
        r = sd_bus_match_signal(m->bus, &m->match_job_removed, SYSTEMD_DEST, SYSTEMD_PATH,
                                SYSTEMD_MANAGER, "JobRemoved", executor_on_job_removed, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the manager's jobs: %m");
        r = bus_api_attach(m, at_start);
        if (r < 0)
                return r;
        /* Not Subscribe(): no unit signal is needed, and every subscriber slows the manager. */
        r = sd_bus_call_method(m->bus, SYSTEMD_DEST, SYSTEMD_PATH, "org.freedesktop.DBus.Peer",
                               "Ping", NULL, NULL, "");
        if (r < 0)
                return log_error_errno(r, "The systemd manager does not answer on the %s bus: %m",
                                       m->user ? "user" : "system");
        /* A run that ended before it started was stopped by the shutdown before (failure.c). */
        r = sd_bus_get_property_trivial(m->bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                        "UserspaceTimestamp", NULL, 't',
                                        &m->manager_started_realtime);
        if (r < 0)
                m->manager_started_realtime = 0;
        return 0;
}

int executor_connect(Manager *m) {
        int r = open_bus(m, true);

        if (r < 0)
                drop_bus(m);
        return r;
}

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->reconnect_source = sd_event_source_disable_unref(m->reconnect_source);
        if (open_bus(m, false) < 0) {
                drop_bus(m);
                m->reconnect_delay = MIN(m->reconnect_delay * 2, RECONNECT_MAX_DELAY);
                schedule_reconnect(m);
                return 0;
        }
        log_notice("Reconnected to the %s bus", m->user ? "user" : "system");
        m->reconnect_delay = USEC_PER_SEC;
        for (size_t k = 0; k < m->n_pipelines; k++)
                manager_setup_slice(m, m->pipelines[k]);
        recover_in_flight(m);
        /* A reload without a bus kept them though their pipeline runs now: taken back before
         * the queue starts their instances a second time. */
        recover_kept_runs(m);
        scheduler_schedule(m);
        return 0;
}

static void schedule_reconnect(Manager *m) {
        int r;

        if (m->reconnect_source)
                return;
        r = sd_event_add_time_relative(m->event, &m->reconnect_source, CLOCK_MONOTONIC,
                                       m->reconnect_delay, 0, on_reconnect, m);
        if (r < 0)
                log_error_errno(r, "Cannot schedule reconnecting to the bus: %m");
}

static int on_slice_set(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                log_warning_errno(sd_bus_error_get_errno(e), "Cannot set the limits of %s: %s",
                                  (const char *) userdata, e->message ?: e->name);
        return 0;
}

void manager_setup_slice(Manager *m, Pipeline *p) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_free_ char *slice = NULL, *desc = NULL;
        const Limits *l = &p->limits;
        int r;

        /* Even with no limits: the slice may keep those of an earlier version of the file (the
         * manager keeps them in /run until reboot), and every unset one is sent as a reset. */
        if (!m->bus || pipeline_slice_name(p, &slice) < 0 ||
            asprintf(&desc, "sluice pipeline %s", p->name) < 0)
                return;
        /* SetUnitProperties works on a loaded slice and on one that exists only by name, and
         * applies the limits at once to what already runs in it. Not waited for: a manager or
         * bus that does not answer would stop the loop for the bus timeout, at every reload and
         * for every pipeline. Nothing needs to wait: the manager handles one connection's calls
         * in the order they were sent, so a run's start, sent later, finds the limits set. */
        r = sd_bus_message_new_method_call(m->bus, &msg, SYSTEMD_DEST, SYSTEMD_PATH,
                                           SYSTEMD_MANAGER, "SetUnitProperties");
        if (r >= 0)
                r = sd_bus_message_append(msg, "sb", slice, 1);
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'a', "(sv)");
        if (r >= 0)
                r = unit_props_append_slice(msg, desc, l);
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        if (r >= 0)
                r = sd_bus_call_async(m->bus, &slot, msg, on_slice_set, slice, 0);
        if (r < 0) {
                log_warning_errno(r, "Cannot set the limits of %s: %m", slice);
                return;
        }
        /* The slot, and the name the reply is logged with, go with the reply, or with the
         * connection. */
        (void) sd_bus_slot_set_destroy_callback(slot, free);
        TAKE_PTR(slice);
        (void) sd_bus_slot_set_floating(slot, 1);
}
