/* SPDX-License-Identifier: MIT */
/*
 * The floor of event-to-start latency through systemd: one resident sd-bus connection, one
 * inotify watch, and for each file moved into DIR one StartTransientUnit of `STAMP OUTDIR/NAME`,
 * asynchronously, with nothing else around it: no parsing, no evaluation, no bookkeeping.
 *
 *   floor DIR STAMP OUTDIR [--user]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

static sd_bus *bus;
static const char *stamp, *outdir;
static unsigned serial;

static int start(const char *name) {
        sd_bus_message *m = NULL;
        char unit[256], out[8192];
        const char *argv[] = { stamp, out, NULL };
        int r;

        snprintf(unit, sizeof(unit), "floor-%u-%u.service", (unsigned) getpid(), serial++);
        snprintf(out, sizeof(out), "%s/%s", outdir, name);
        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1",
                                           "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager",
                                           "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)", "Type", "s", "exec", "CollectMode", "s",
                                          "inactive-or-failed");
        /* Experiments: the properties sluiced adds, one by one. */
        if (r >= 0 && getenv("FLOOR_CPUACCT"))
                r = sd_bus_message_append(m, "(sv)", "CPUAccounting", "b", 1);
        if (r >= 0 && getenv("FLOOR_SLICE"))
                r = sd_bus_message_append(m, "(sv)", "Slice", "s", "floor-x.slice");
        if (r >= 0 && getenv("FLOOR_ADDREF"))
                r = sd_bus_message_append(m, "(sv)", "AddRef", "b", 1);
        if (r >= 0 && getenv("FLOOR_FIELDS")) {
                const char *f[] = { "SLUICE_PIPELINE=x", "SLUICE_TASK=y", "SLUICE_INSTANCE=z",
                                    "SLUICE_RUN_ID=0123456789abcdef0123456789abcdef" };
                r = sd_bus_message_open_container(m, 'r', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "LogExtraFields");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "aay");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "ay");
                for (int k = 0; k < 4 && r >= 0; k++)
                        r = sd_bus_message_append_array(m, 'y', f[k], strlen(f[k]));
                for (int k = 0; k < 3 && r >= 0; k++)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && getenv("FLOOR_ENV")) {
                char *env[31];
                char buf[31][64];
                for (int k = 0; k < 30; k++) {
                        snprintf(buf[k], sizeof(buf[k]), "SLUICE_VAR_%d=/var/lib/some/path/%d", k, k);
                        env[k] = buf[k];
                }
                env[30] = NULL;
                r = sd_bus_message_open_container(m, 'r', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "Environment");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, env);
                for (int k = 0; k < 2 && r >= 0; k++)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && getenv("FLOOR_JOURNAL"))
                r = sd_bus_message_append(m, "(sv)(sv)(sv)", "StandardOutput", "s", "journal",
                                          "StandardError", "s", "journal", "SyslogIdentifier",
                                          "s", "floor");
        if (r >= 0 && getenv("FLOOR_WRAP"))     /* sluice-result: the wrapper's own cost */
                r = sd_bus_message_append(m, "(sv)", "ExecStart", "a(sasb)", 1,
                                          getenv("FLOOR_WRAP"), 6, getenv("FLOOR_WRAP"), "--run",
                                          "/run/floor-results",
                                          "0123456789abcdef0123456789abcdef", argv[0], argv[1], 0);
        else if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "ExecStart", "a(sasb)", 1, stamp, 2, argv[0],
                                          argv[1], 0);
        if (r >= 0)
                r = sd_bus_message_close_container(m); /* the properties */
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r >= 0)
                r = sd_bus_call_async(bus, NULL, m, NULL, NULL, 0);
        sd_bus_message_unref(m);
        return r;
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n = read(fd, buf, sizeof(buf));

        for (char *p = buf; n > 0 && p < buf + n;) {
                struct inotify_event *ev = (struct inotify_event *) p;
                p += sizeof(*ev) + ev->len;
                if (ev->len > 0 && ev->name[0] != '.' && start(ev->name) < 0)
                        fprintf(stderr, "floor: cannot start a unit for %s\n", ev->name);
        }
        return 0;
}

int main(int argc, char *argv[]) {
        sd_event *e = NULL;
        int fd, r;

        if (argc < 4)
                return 2;
        stamp = argv[2];
        outdir = argv[3];
        /* Where a wrapped task's result goes (sluice-result writes into STATE_DIR/runs). */
        if (getenv("FLOOR_WRAP") && ((mkdir("/run/floor-results", 0755) < 0 && errno != EEXIST) ||
                                     (mkdir("/run/floor-results/runs", 0755) < 0 && errno != EEXIST)))
                return 1;
        r = argc > 4 && strcmp(argv[4], "--user") == 0 ? sd_bus_open_user(&bus)
                                                        : sd_bus_open_system(&bus);
        if (r < 0 || sd_event_default(&e) < 0 || sd_bus_attach_event(bus, e, 0) < 0)
                return 1;
        fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0 || inotify_add_watch(fd, argv[1], IN_MOVED_TO) < 0 ||
            sd_event_add_io(e, NULL, fd, EPOLLIN, on_inotify, NULL) < 0)
                return 1;
        fprintf(stderr, "floor: ready\n");
        return sd_event_loop(e) < 0;
}
