/* SPDX-License-Identifier: MIT */
/*
 * Running units with live CPU and memory, as systemd accounts them (CPUUsageNSec,
 * MemoryCurrent, TasksCurrent of each unit). Asking systemd costs a bus call per unit, so the
 * daemon samples only while someone looks: every WEB_SAMPLE_EVERY for WEB_SAMPLE_FOR after
 * the last /api/units, asynchronously, and an idle daemon stays idle. CPU is reported as a
 * share of one CPU over the last interval, from two samples.
 *
 * Under cgroup v1 the daemon leaves CPUAccounting= off (it costs every start 5-20 ms there,
 * unit-props.c), so systemd has no CPUUsageNSec; then the CPU of the unit's processes as
 * systemd lists them (GetUnitProcesses), each with the children it has reaped (/proc/PID/stat),
 * stands in, and the answer says which it is.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "web-internal.h"

#define WEB_SAMPLE_EVERY (2 * USEC_PER_SEC)
#define WEB_SAMPLE_FOR (15 * USEC_PER_SEC)
#define WEB_UNITS_MAX 512

static WebUnit *web_unit_free(Web *w, WebUnit *u) {
        if (!u)
                return NULL;
        HASH_DEL(w->units, u);
        sd_bus_slot_unref(u->slot);
        free(u->unit);
        free(u);
        return NULL;
}

/* utime + stime + cutime + cstime of a process, in nanoseconds; UINT64_MAX if it is gone. */
static uint64_t process_cpu_nsec(uint32_t pid) {
        unsigned long long ut, st, cut, cst;
        char path[64], buf[1024], *p;
        FILE *f;
        size_t n;
        long hz = sysconf(_SC_CLK_TCK);

        (void) snprintf(path, sizeof(path), "/proc/%" PRIu32 "/stat", pid);
        f = fopen(path, "re");
        if (!f)
                return UINT64_MAX;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        /* After the command name, which may hold anything but ends at the last ')'. */
        p = strrchr(buf, ')');
        if (!p || hz <= 0 ||
            sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &ut,
                   &st, &cut, &cst) != 4)
                return UINT64_MAX;
        return (ut + st + cut + cst) * (1000000000ULL / (unsigned long long) hz);
}

static void take_cpu(WebUnit *u, uint64_t cpu, bool from_processes) {
        u->cpu_from_process = from_processes;
        u->prev_cpu_nsec = u->cpu_nsec;
        u->prev_at = u->at;
        u->cpu_nsec = cpu;
        u->at = now_usec(CLOCK_MONOTONIC);
}

/* GetUnitProcesses -> a(sus): (cgroup, pid, command line) */
static int on_processes(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        WebUnit *u = userdata;
        uint64_t sum = 0;
        uint32_t pid;
        int r;

        u->slot = sd_bus_slot_unref(u->slot);
        if (sd_bus_message_is_method_error(reply, NULL))
                return 0;
        r = sd_bus_message_enter_container(reply, 'a', "(sus)");
        while (r > 0 && (r = sd_bus_message_read(reply, "(sus)", NULL, &pid, NULL)) > 0) {
                uint64_t v = process_cpu_nsec(pid);
                if (v != UINT64_MAX)
                        sum += v;
        }
        if (r < 0)
                return 0;
        take_cpu(u, sum, true);
        return 0;
}

static int on_properties(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        WebUnit *u = userdata;
        uint64_t cpu = UINT64_MAX, memory = UINT64_MAX, tasks = UINT64_MAX;
        const char *name;
        int r;

        u->slot = sd_bus_slot_unref(u->slot);
        if (sd_bus_message_is_method_error(reply, NULL))
                return 0;       /* the unit ended meanwhile */
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r > 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                uint64_t *dest = NULL;

                r = sd_bus_message_read(reply, "s", &name);
                if (r < 0)
                        break;
                if (streq(name, "CPUUsageNSec"))
                        dest = &cpu;
                else if (streq(name, "MemoryCurrent"))
                        dest = &memory;
                else if (streq(name, "TasksCurrent"))
                        dest = &tasks;
                r = dest ? sd_bus_message_read(reply, "v", "t", dest)
                         : sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0) {
                log_debug_errno(r, "Cannot read %s's accounting: %m", u->unit);
                return 0;
        }
        u->memory = memory;
        u->tasks = tasks;
        if (cpu != UINT64_MAX) {
                take_cpu(u, cpu, false);
                return 0;
        }
        r = sd_bus_call_method_async(u->web->manager->bus, &u->slot, "org.freedesktop.systemd1",
                                     "/org/freedesktop/systemd1",
                                     "org.freedesktop.systemd1.Manager", "GetUnitProcesses",
                                     on_processes, u, "s", u->unit);
        if (r < 0)
                log_debug_errno(r, "Cannot ask for %s's processes: %m", u->unit);
        return 0;
}

static void sample(Web *w) {
        Manager *m = w->manager;
        WebUnit *u, *tmp;
        Instance *i, *itmp;
        unsigned n = 0;

        /* Forget units that no longer run. */
        HASH_ITER(hh, w->units, u, tmp) {
                i = manager_find_instance(m, u->unit);
                if (!i || i->state != INSTANCE_RUNNING)
                        web_unit_free(w, u);
        }
        if (!m->bus)
                return;
        HASH_ITER(hh, m->instances, i, itmp) {
                _cleanup_free_ char *path = NULL;
                int r;

                if (i->state != INSTANCE_RUNNING || n++ >= WEB_UNITS_MAX)
                        continue;
                HASH_FIND_STR(w->units, i->unit, u);
                if (!u) {
                        u = calloc(1, sizeof(*u));
                        if (!u || !(u->unit = strdup(i->unit))) {
                                free(u);
                                return;
                        }
                        u->web = w;
                        u->cpu_nsec = u->prev_cpu_nsec = u->memory = u->tasks = UINT64_MAX;
                        HASH_ADD_KEYPTR(hh, w->units, u->unit, strlen(u->unit), u);
                }
                if (u->slot)
                        continue;       /* the last question is still out */
                r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", i->unit, &path);
                if (r >= 0)
                        r = sd_bus_call_method_async(m->bus, &u->slot, "org.freedesktop.systemd1",
                                                     path, "org.freedesktop.DBus.Properties",
                                                     "GetAll", on_properties, u, "s",
                                                     "org.freedesktop.systemd1.Service");
                if (r < 0)
                        log_debug_errno(r, "Cannot ask for %s's accounting: %m", i->unit);
        }
}

static int on_sample(sd_event_source *s, uint64_t usec, void *userdata) {
        Web *w = userdata;
        int r;

        if (now_usec(CLOCK_MONOTONIC) - w->units_asked > WEB_SAMPLE_FOR) {
                while (w->units)
                        web_unit_free(w, w->units);
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        sample(w);
        r = sd_event_source_set_time_relative(s, WEB_SAMPLE_EVERY);
        return r < 0 ? r : sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static void put_known(json_object *o, const char *key, uint64_t v) {
        json_object_object_add(o, key, v == UINT64_MAX ? NULL : json_object_new_uint64(v));
}

json_object *web_units(Web *w) {
        Manager *m = w->manager;
        json_object *a = json_object_new_array();
        Instance *i, *tmp;
        int r = 0;

        w->units_asked = now_usec(CLOCK_MONOTONIC);
        if (!w->sample_timer) {
                /* Fires at once, then every WEB_SAMPLE_EVERY while asked (on_sample). */
                r = sd_event_add_time_relative(m->event, &w->sample_timer, CLOCK_MONOTONIC, 0, 0,
                                               on_sample, w);
        } else if (sd_event_source_get_enabled(w->sample_timer, NULL) == 0) {
                r = sd_event_source_set_time_relative(w->sample_timer, 0);
                if (r >= 0)
                        r = sd_event_source_set_enabled(w->sample_timer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                log_warning_errno(r, "Cannot sample the running units: %m");

        HASH_ITER(hh, m->instances, i, tmp) {
                json_object *o;
                WebUnit *u;

                if (i->state != INSTANCE_RUNNING && i->state != INSTANCE_STARTING)
                        continue;
                HASH_FIND_STR(w->units, i->unit, u);
                o = json_object_new_object();
                json_object_object_add(o, "unit", json_object_new_string(i->unit));
                json_object_object_add(o, "pipeline", json_object_new_string(i->task->pipeline->name));
                json_object_object_add(o, "task", json_object_new_string(i->task->name));
                json_object_object_add(o, "params", web_params(i->binding));
                json_object_object_add(o, "state", json_object_new_string(
                                                           instance_state_to_string(i->state)));
                json_object_object_add(o, "started_usec", json_object_new_uint64(
                                                                  i->run ? i->run->start_realtime : 0));
                put_known(o, "cpu_nsec", u ? u->cpu_nsec : UINT64_MAX);
                if (u && u->cpu_nsec != UINT64_MAX)
                        json_object_object_add(o, "cpu_source", json_object_new_string(
                                                       u->cpu_from_process ? "process" : "systemd"));
                put_known(o, "memory_bytes", u ? u->memory : UINT64_MAX);
                put_known(o, "tasks", u ? u->tasks : UINT64_MAX);
                if (u && u->cpu_nsec != UINT64_MAX && u->prev_cpu_nsec != UINT64_MAX &&
                    u->at > u->prev_at && u->cpu_nsec >= u->prev_cpu_nsec)
                        json_object_object_add(o, "cpu_percent", json_object_new_double(
                                (double) (u->cpu_nsec - u->prev_cpu_nsec) / 10.0 /
                                (double) (u->at - u->prev_at)));
                json_object_array_add(a, o);
        }
        return a;
}

void web_units_done(Web *w) {
        while (w->units)
                web_unit_free(w, w->units);
        w->sample_timer = sd_event_source_disable_unref(w->sample_timer);
}
