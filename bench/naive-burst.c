/* SPDX-License-Identifier: MIT */
/*
 * The naive way to start N units: one connection, every StartTransientUnit sent at once, and
 * all N start jobs queued in the manager together. Each unit runs `STAMP OUTDIR/<n>`.
 *
 *   naive-burst N STAMP OUTDIR [--user]
 *
 * With NAIVE_IN_FLIGHT=K in the environment, at most K calls are outstanding at once: the
 * manager's throughput when it is not flooded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

static unsigned replies;

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
        r = argc > 4 && strcmp(argv[4], "--user") == 0 ? sd_bus_open_user(&bus)
                                                        : sd_bus_open_system(&bus);
        if (r < 0)
                return 1;
        if (getenv("NAIVE_SUBSCRIBE"))
                (void) sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                          "org.freedesktop.systemd1.Manager", "Subscribe", NULL,
                                          NULL, "");
        for (unsigned i = 0; i < n; i++) {
                char unit[256], out[8192];

                while (i - replies >= in_flight) {
                        r = sd_bus_process(bus, NULL);
                        if (r < 0)
                                return 1;
                        if (r == 0)
                                (void) sd_bus_wait(bus, (uint64_t) -1);
                }
                const char *av[] = { argv[2], out, NULL };
                sd_bus_message *m = NULL;

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
                if (r >= 0)
                        r = sd_bus_message_append(m, "(sv)", "Type", "s", "exec");
                /* Counted arrays: one command line each, flag "ignore failure" for the
                 * stop-post command as sluiced sets it. */
                if (r >= 0 && getenv("NAIVE_STOP_POST"))
                        r = sd_bus_message_append(m, "(sv)", "ExecStopPost", "a(sasb)", 1,
                                                  getenv("NAIVE_STOP_POST"), 1,
                                                  getenv("NAIVE_STOP_POST"), 1);
                if (r >= 0)
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
