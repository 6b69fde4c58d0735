/* SPDX-License-Identifier: MIT */
/*
 * Following units over D-Bus: the connection to the bus, systemd's PropertiesChanged and
 * JobRemoved signals, and reading a unit's result when it ends. When the bus connection drops
 * or the manager re-executes, the daemon reconnects and asks about every run it was following,
 * so a run that ended meanwhile is accounted for exactly once.
 */
#include <string.h>

#include "executor.h"
#include "log.h"
#include "recover.h"
#include "scheduler.h"
#include "unit-props.h"

#define SYSTEMD_DEST "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define UNIT_PATH_PREFIX "/org/freedesktop/systemd1/unit"

#define RECONNECT_MAX_DELAY (30 * USEC_PER_SEC)

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

/* The reply to GetAll(Unit) then GetAll(Service): ended or not, and how. */
static int on_service_props(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Instance *i = userdata;
        Manager *m = i->manager;
        UnitResult res = UNIT_RESULT_UNKNOWN;
        int r;

        i->run->slot = sd_bus_slot_unref(i->run->slot);
        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);
                log_warning("Cannot read the result of %s: %s", i->unit, e->message ?: e->name);
                /* Gone before we could read it (not pinned: taken back from an earlier
                 * daemon): its ExecStopPost= left the result in the state directory. */
                recover_from_result_file(m, i);
                return 0;
        }
        r = read_result(reply, &res);
        if (r < 0)
                log_warning_errno(r, "Cannot parse the result of %s: %m", i->unit);
        if (!res.run_id || !streq(res.run_id, i->run->id_str)) {
                /* Not our run's unit: ours was collected, and asking about its name loaded an
                 * empty one. Its ExecStopPost= left the result in the state directory. */
                unit_result_done(&res);
                recover_from_result_file(m, i);
                return 0;
        }
        executor_finish(m, i, &res);
        unit_result_done(&res);
        return 0;
}

static void query_service(Manager *m, Instance *i) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sd_bus_path_encode(UNIT_PATH_PREFIX, i->unit, &path);
        if (r >= 0)
                r = sd_bus_call_method_async(m->bus, &i->run->slot, SYSTEMD_DEST, path,
                                             "org.freedesktop.DBus.Properties", "GetAll",
                                             on_service_props, i, "s",
                                             "org.freedesktop.systemd1.Service");
        if (r < 0) {
                log_warning_errno(r, "Cannot ask for the result of %s: %m", i->unit);
                recover_from_result_file(m, i);
        }
}

/* The reply to Get(ActiveState): still running, or ended. */
static int on_active_state(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Instance *i = userdata;
        Manager *m = i->manager;
        const char *state;

        i->run->slot = sd_bus_slot_unref(i->run->slot);
        if (sd_bus_message_is_method_error(reply, NULL) ||
            sd_bus_message_read(reply, "v", "s", &state) < 0) {
                recover_from_result_file(m, i);
                return 0;
        }
        i->run->job_done = true;
        if (streq(state, "inactive") || streq(state, "failed"))
                query_service(m, i);
        return 0;
}

void executor_query(Manager *m, Instance *i) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (i->run->slot)
                return;         /* a question is on its way already */
        r = sd_bus_path_encode(UNIT_PATH_PREFIX, i->unit, &path);
        if (r >= 0)
                r = sd_bus_call_method_async(m->bus, &i->run->slot, SYSTEMD_DEST, path,
                                             "org.freedesktop.DBus.Properties", "Get",
                                             on_active_state, i, "ss",
                                             "org.freedesktop.systemd1.Unit", "ActiveState");
        if (r < 0) {
                log_warning_errno(r, "Cannot ask about %s: %m", i->unit);
                recover_from_result_file(m, i);
        }
}

static void unit_call(Manager *m, const char *unit, const char *method) {
        _cleanup_free_ char *path = NULL;

        if (!m->bus || sd_bus_path_encode(UNIT_PATH_PREFIX, unit, &path) < 0)
                return;
        (void) sd_bus_call_method_async(m->bus, NULL, SYSTEMD_DEST, path,
                                        "org.freedesktop.systemd1.Unit", method, NULL, NULL, "");
}

void executor_ref(Manager *m, const char *unit) {
        unit_call(m, unit, "Ref");
}

void executor_unref(Manager *m, const char *unit) {
        unit_call(m, unit, "Unref");
}

/* Our unit, if we follow a run of it; NULL for anything else. */
static Instance *followed(Manager *m, const char *unit) {
        Instance *i;

        if (!strneq(unit, "sluice-", 7))
                return NULL;
        i = manager_find_instance(m, unit);
        return i && i->state == INSTANCE_RUNNING && i->run ? i : NULL;
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
        i = followed(m, unit);
        /* Until its start job is gone, "inactive" is the state of a unit not yet started. */
        if (!i || !i->run->job_done || i->run->slot)
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
                                query_service(m, i);
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
        i = followed(m, unit);
        if (!i || !i->run->job || !streq(job, i->run->job))
                return 0;
        /* systemd flushes the unit's pending state changes before JobRemoved, so every state
         * change from here on belongs to the running process. */
        i->run->job_done = true;
        /* A start job that did not get the unit running (canceled, exec failed): no further
         * state change need follow, so ask now. */
        if (!streq(result, "done") && !i->run->slot)
                query_service(m, i);
        return 0;
}

static int subscribe(Manager *m) {
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

static void schedule_reconnect(Manager *m);

static void drop_bus(Manager *m) {
        m->match_properties = sd_bus_slot_unref(m->match_properties);
        m->match_job_removed = sd_bus_slot_unref(m->match_job_removed);
        m->match_disconnected = sd_bus_slot_unref(m->match_disconnected);
        m->match_reloading = sd_bus_slot_unref(m->match_reloading);
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

/* systemd re-executing or reloading forgets subscriptions, and units may have ended
 * meanwhile: subscribe again and ask about every run. */
static int on_reloading(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        int active;

        if (sd_bus_message_read(msg, "b", &active) < 0 || active)
                return 0;
        log_notice("The systemd manager reloaded; checking the runs in flight");
        (void) sd_bus_call_method(m->bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                  "Subscribe", NULL, NULL, "");
        recover_in_flight(m);
        return 0;
}

static int open_bus(Manager *m) {
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
        r = sd_bus_match_signal_async(m->bus, &m->match_reloading, SYSTEMD_DEST, SYSTEMD_PATH,
                                      SYSTEMD_MANAGER, "Reloading", on_reloading, NULL, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the manager: %m");
        return subscribe(m);
}

int executor_connect(Manager *m) {
        int r = open_bus(m);

        if (r < 0)
                drop_bus(m);
        return r;
}

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->reconnect_source = sd_event_source_disable_unref(m->reconnect_source);
        if (open_bus(m) < 0) {
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

void manager_setup_slice(Manager *m, Pipeline *p) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *slice = NULL, *desc = NULL;
        const Limits *l = &p->limits;
        int r;

        if (l->memory_max == UINT64_MAX && l->memory_high == UINT64_MAX &&
            l->cpu_quota_permille == 0 && l->cpu_weight == 0 && l->io_weight == 0 &&
            l->tasks_max == UINT64_MAX)
                return;         /* systemd creates the slice by itself as its first unit starts */
        if (!m->bus || pipeline_slice_name(p, &slice) < 0 ||
            asprintf(&desc, "sluice pipeline %s", p->name) < 0)
                return;
        /* SetUnitProperties works on a loaded slice and on one that exists only by name, and
         * applies the limits at once to what already runs in it. */
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
                r = sd_bus_call(m->bus, msg, 0, &e, NULL);
        if (r < 0)
                log_warning_errno(r, "Cannot set the limits of %s: %s", slice,
                                  e.message ?: strerror(-r));
}
