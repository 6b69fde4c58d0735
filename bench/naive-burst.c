/* SPDX-License-Identifier: MIT */
/*
 * The naive way to start N units: one connection, every StartTransientUnit sent at once, and
 * all N start jobs queued in the manager together. Each unit runs `STAMP OUTDIR/<n>`.
 *
 *   naive-burst N STAMP OUTDIR [--user]
 *
 * With NAIVE_IN_FLIGHT=K in the environment, at most K calls are outstanding at once: the
 * manager's throughput when it is not flooded. With NAIVE_BY_JOB=1 a start counts as
 * outstanding until its JobRemoved, as sluiced counts its starts (max_starting).
 *
 * NAIVE_WRAPPER=SLUICE_RESULT NAIVE_STATE=DIR make each unit the one sluiced would start for
 * a task of one parameter, built by sluiced's own code, under a template instance's name.
 * Against sluiced's own row, this tells sluiced's cost from its units'.
 *
 * Two variations, for measuring what the manager's work per unit depends on:
 * NAIVE_PRIVATE=unix:path=$XDG_RUNTIME_DIR/systemd/private talks to the manager directly, as
 * systemctl does as root, instead of through the bus daemon; NAIVE_NOACCT=1 turns off the
 * memory and tasks accounting the manager enables for every unit by default.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "unit-props.h"

static unsigned replies, removed;

static int on_removed(sd_bus_message *m, void *userdata, sd_bus_error *e) {
        removed++;
        return 0;
}

/* The unit sluiced starts for a task of one parameter, by sluiced's own code (unit-props.c):
 * description, journal output, identifier, slice, 15 environment variables with the staged
 * output first (sluice-result syncs it), 4 log fields, the task behind sluice-result --run. */
static int append_sluiced_unit(sd_bus_message *m, unsigned i, const char *wrapper,
                               const char *state, const char *stamp, const char *out) {
        char description[64], run_id[32], env[15][160];
        char *envv[16], *argv[] = { (char *) wrapper, "--run", (char *) state, run_id,
                                    (char *) stamp, (char *) out, NULL };

        snprintf(description, sizeof(description), "sluice naive/stamp n=%u", i);
        snprintf(run_id, sizeof(run_id), "naive%u", i);
        snprintf(env[0], sizeof(env[0]), "SLUICE_OUTPUTS=%.120s", out);
        for (int k = 0; k < 15; k++) {
                if (k > 0)
                        snprintf(env[k], sizeof(env[k]), "SLUICE_VAR%d=%.120s", k, out);
                envv[k] = env[k];
        }
        envv[15] = NULL;
        char *log_fields[] = { env[1], env[2], env[3], env[4], NULL };
        UnitSpec spec = {
                .description = description,
                .slice = "sluice-naive.slice",
                .syslog_identifier = "naive.stamp",
                .argv = argv,
                .environment = envv,
                .log_fields = log_fields,
                .limits = LIMITS_UNSET,
        };
        return unit_props_append(m, &spec);
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *e) {
        replies++;
        if (sd_bus_message_is_method_error(m, NULL))
                fprintf(stderr, "naive-burst: %s\n", sd_bus_message_get_error(m)->message);
        return 0;
}

int main(int argc, char *argv[]) {
        sd_bus *bus = NULL;
        unsigned n;
        int r;

        if (argc < 4)
                return 2;
        n = (unsigned) atoi(argv[1]);
        unsigned in_flight = getenv("NAIVE_IN_FLIGHT") ? (unsigned) atoi(getenv("NAIVE_IN_FLIGHT")) : n;
        if (getenv("NAIVE_PRIVATE")) {
                r = sd_bus_new(&bus);
                if (r >= 0)
                        r = sd_bus_set_address(bus, getenv("NAIVE_PRIVATE"));
                if (r >= 0)
                        r = sd_bus_start(bus);
        } else
                r = argc > 4 && strcmp(argv[4], "--user") == 0 ? sd_bus_open_user(&bus)
                                                                : sd_bus_open_system(&bus);
        if (r < 0)
                return 1;
        if (getenv("NAIVE_SUBSCRIBE"))
                (void) sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                          "org.freedesktop.systemd1.Manager", "Subscribe", NULL,
                                          NULL, "");
        bool by_job = getenv("NAIVE_BY_JOB") != NULL;
        const char *wrapper = getenv("NAIVE_WRAPPER"), *state = getenv("NAIVE_STATE");
        if (wrapper && !state)
                return 2;
        if (by_job && sd_bus_match_signal(bus, NULL, "org.freedesktop.systemd1",
                                          "/org/freedesktop/systemd1",
                                          "org.freedesktop.systemd1.Manager", "JobRemoved",
                                          on_removed, NULL) < 0)
                return 1;
        for (unsigned i = 0; i < n; i++) {
                char unit[256], out[8192];

                while (i - (by_job ? removed : replies) >= in_flight) {
                        r = sd_bus_process(bus, NULL);
                        if (r < 0)
                                return 1;
                        if (r == 0)
                                (void) sd_bus_wait(bus, (uint64_t) -1);
                }
                const char *av[] = { argv[2], out, NULL };
                sd_bus_message *m = NULL;

                if (wrapper)
                        snprintf(unit, sizeof(unit), "naive-%u-stamp@%u.service",
                                 (unsigned) getpid(), i);
                else
                        snprintf(unit, sizeof(unit), "naive-%u-%u.service", (unsigned) getpid(), i);
                snprintf(out, sizeof(out), "%s/%u", argv[3], i);
                r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1",
                                                   "/org/freedesktop/systemd1",
                                                   "org.freedesktop.systemd1.Manager",
                                                   "StartTransientUnit");
                if (r >= 0)
                        r = sd_bus_message_append(m, "ss", unit, "fail");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "(sv)");
                if (r >= 0 && wrapper)
                        r = append_sluiced_unit(m, i, wrapper, state, argv[2], out);
                else if (r >= 0)
                        r = sd_bus_message_append(m, "(sv)", "Type", "s", "exec");
                /* Counted arrays: one command line each, flag "ignore failure" for the
                 * stop-post command as sluiced sets it. */
                if (r >= 0 && getenv("NAIVE_NOACCT"))
                        r = sd_bus_message_append(m, "(sv)(sv)", "MemoryAccounting", "b", 0,
                                                  "TasksAccounting", "b", 0);
                if (r >= 0 && !wrapper && getenv("NAIVE_STOP_POST"))
                        r = sd_bus_message_append(m, "(sv)", "ExecStopPost", "a(sasb)", 1,
                                                  getenv("NAIVE_STOP_POST"), 1,
                                                  getenv("NAIVE_STOP_POST"), 1);
                if (r >= 0 && !wrapper)
                        r = sd_bus_message_append(m, "(sv)", "ExecStart", "a(sasb)", 1, av[0], 2,
                                                  av[0], av[1], 0);
                if (r >= 0)
                        r = sd_bus_message_close_container(m); /* the properties */
                if (r >= 0)
                        r = sd_bus_message_append(m, "a(sa(sv))", 0);
                if (r >= 0)
                        r = sd_bus_call_async(bus, NULL, m, on_reply, NULL, 900 * 1000000ULL);
                sd_bus_message_unref(m);
                if (r < 0) {
                        fprintf(stderr, "naive-burst: %s\n", strerror(-r));
                        return 1;
                }
        }
        while (replies < n) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return 1;
                if (r == 0)
                        (void) sd_bus_wait(bus, (uint64_t) -1);
        }
        sd_bus_flush_close_unref(bus);
        return 0;
}
