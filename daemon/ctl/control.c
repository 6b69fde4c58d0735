/* SPDX-License-Identifier: MIT */
/*
 * The sluicectl verbs that talk to a running sluiced over its D-Bus API (daemon/bus-api.c):
 * status, list, run, why, retry, cancel, reload. Tables for people, --json for scripts.
 * Exit status: 0 done, 1 the daemon refused or failed (the reason on stderr), 2 a usage
 * error, 3 no daemon to talk to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "bus-api.h"
#include "config.h"
#include "ctl-util.h"
#include "util/strv.h"
#include "util/time-util.h"
#include "verbs.h"

const char *ctl_bus_name(void) {
        return getenv("SLUICE_BUS_NAME") ?: SLUICE_BUS_NAME;
}

/* Which bus the last connection was to, for ctl_report()'s hint. */
static bool connected_user;

int ctl_connect(const CtlOptions *o, sd_bus **ret) {
        int r;

        connected_user = o->user;
        r = o->user ? sd_bus_open_user(ret) : sd_bus_open_system(ret);
        if (r < 0) {
                fprintf(stderr, "sluicectl: cannot connect to the %s bus: %s\n",
                        o->user ? "user" : "system", strerror(-r));
                return -EXIT_NO_DAEMON;
        }
        return 0;
}

int ctl_daemon_config_dir(const CtlOptions *o, char **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = o->user ? sd_bus_open_user(&bus) : sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        return sd_bus_get_property_string(bus, ctl_bus_name(), SLUICE_BUS_PATH,
                                          SLUICE_BUS_INTERFACE, "ConfigDirectory", NULL, ret);
}

int ctl_report(const char *what, int r, const sd_bus_error *e) {
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                fprintf(stderr, "sluicectl: no sluiced answers as %s on the %s bus (%s)\n",
                        ctl_bus_name(), connected_user ? "user" : "system",
                        connected_user ? "one started with --bus-name: set SLUICE_BUS_NAME; a "
                                         "system daemon: leave out --user"
                                       : "a user daemon: try --user");
                return EXIT_NO_DAEMON;
        }
        /* The bus daemon's own refusal dumps its rule match; say what it means instead. */
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED) && e->message &&
            strneq(e->message, "Rejected send message", strlen("Rejected send message"))) {
                fprintf(stderr, "sluicectl: %s: permission denied: only root and members of the "
                        "group sluice may change anything (see sluiced.conf(5), control_group)\n",
                        what);
                return EXIT_REFUSED;
        }
        if (!e || !e->message)
                fprintf(stderr, "sluicectl: %s: %s\n", what, strerror(-r));
        /* The daemon's words may quote a parameter as given: each of its lines escaped. */
        for (const char *l = e ? e->message : NULL; l; ) {
                const char *nl = strchr(l, '\n');
                _cleanup_free_ char *line = strndup(l, nl ? (size_t) (nl - l) : strlen(l));

                if (line)
                        fprintf(stderr, "sluicectl: %s: %s\n", what, ctl_shown(line));
                l = nl ? nl + 1 : NULL;
        }
        return sd_bus_error_has_name(e, SD_BUS_ERROR_INVALID_ARGS) ? EXIT_USAGE : EXIT_REFUSED;
}

static const char *state_color(const char *state) {
        if (!ctl_colors())
                return "";
        if (streq(state, "failed"))
                return ANSI_RED;
        if (streq(state, "running") || streq(state, "starting"))
                return ANSI_GREEN;
        if (streq(state, "retry") || streq(state, "retrying"))
                return ANSI_BOLD;
        return "";
}

static int get_counter(sd_bus *bus, const char *name, uint32_t *ret, sd_bus_error *e) {
        return sd_bus_get_property_trivial(bus, ctl_bus_name(), SLUICE_BUS_PATH,
                                           SLUICE_BUS_INTERFACE, name, e, 'u', ret);
}

typedef struct NextRetry {
        uint64_t wake;
        char *line;
} NextRetry;

static int compare_retry(const void *a, const void *b) {
        const NextRetry *x = a, *y = b;
        return x->wake < y->wake ? -1 : x->wake > y->wake;
}

/* The soonest retries, for status: when, which instance, after which attempt and why. */
static int print_next_retries(const CtlOptions *o, sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *pipeline, *task, *params, *state, *unit, *reason;
        NextRetry *l = NULL;
        size_t n = 0;
        uint32_t attempts;
        uint64_t wake;
        int r;

        r = sd_bus_call_method(bus, ctl_bus_name(), SLUICE_BUS_PATH, SLUICE_BUS_INTERFACE,
                               "ListInstances", &e, &reply, "");
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(sssssuts)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(sssssuts)", &pipeline, &task, &params,
                                                  &state, &unit, &attempts, &wake, &reason)) > 0) {
                char when[FORMAT_REALTIME_MAX];
                NextRetry *x;

                if (!streq(state, "retrying"))
                        continue;
                x = reallocarray(l, n + 1, sizeof(*l));
                if (!x) {
                        r = -ENOMEM;
                        break;
                }
                l = x;
                format_realtime(when, sizeof(when), wake);
                l[n].wake = wake;
                if (asprintf(&l[n].line, "  %s  %s/%s %s (after attempt %u: %s)", when, pipeline,
                             task, ctl_shown(params), attempts, ctl_shown(reason)) < 0) {
                        r = -ENOMEM;
                        break;
                }
                n++;
        }
        if (r >= 0 && n > 0) {
                qsort(l, n, sizeof(*l), compare_retry);
                printf("\nNext retries:\n");
                for (size_t k = 0; k < n && k < 5; k++)
                        printf("%s\n", l[k].line);
                if (n > 5)
                        printf("  ... and %zu more (sluicectl list --state retry)\n", n - 5);
        }
        for (size_t k = 0; k < n; k++)
                free(l[k].line);
        free(l);
        return r < 0 ? ctl_report("status", r, &e) : 0;
}

/* When the next poll comes; one already due is under way (a slow listing takes a while), and
 * a time in the past would look like a daemon stuck. */
static void format_next(char *buf, size_t n, usec_t next, const char *what) {
        char t[FORMAT_REALTIME_MAX];

        format_realtime(t, sizeof(t), next);
        if (next > 0 && next <= now_usec(CLOCK_REALTIME))
                snprintf(buf, n, "polling since %s", t);
        else
                snprintf(buf, n, "%s %s", what, t);
}

static int live_held(sd_bus *bus, char ***ret);

/* How many objects of a target a poll listed that do not count yet (complete = "quiet:...",
 * "flag:..."): counting only the others, status would say a server has nothing while it has
 * what is being written. */
static unsigned held_count(char **held, const char *pipeline, const char *target) {
        unsigned n = 0;

        for (char **l = held; l && l[0] && l[1] && l[2] && l[3]; l += 4)
                n += streq(l[0], pipeline) && streq(l[1], target);
        return n;
}

/* Polled targets, for status: how many objects, when last polled, and failures in words. */
static int print_targets(const CtlOptions *o, sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **held = NULL;
        const char *pipeline, *target, *kind, *where, *error, *scanned;
        uint64_t last_ok, next;
        uint32_t objects, failures;
        bool first = true, color = ctl_colors();
        int r;

        /* None from a daemon older than its polled targets' held ones: the count alone, then. */
        if (live_held(bus, &held) < 0)
                held = strv_free(held);
        r = sd_bus_call_method(bus, ctl_bus_name(), SLUICE_BUS_PATH, SLUICE_BUS_INTERFACE,
                               "ListTargets", &e, &reply, "");
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ssssuttuss)");
        if (r < 0)
                return ctl_report("status", r, &e);
        if (o->json)
                printf(",\"targets\":[");
        while ((r = sd_bus_message_read(reply, "(ssssuttuss)", &pipeline, &target, &kind, &where,
                                        &objects, &last_ok, &next, &failures, &error,
                                        &scanned)) > 0) {
                char when[FORMAT_REALTIME_MAX], next_s[FORMAT_REALTIME_MAX + 16];
                unsigned n_held = scanned[0] ? 0 : held_count(held, pipeline, target);

                if (o->json) {
                        printf("%s{\"pipeline\":", first ? "" : ",");
                        ctl_json_string(pipeline);
                        printf(",\"target\":");
                        ctl_json_string(target);
                        printf(",\"kind\":");
                        ctl_json_string(kind);
                        printf(",\"location\":");
                        ctl_json_string(where);
                        printf(",\"objects\":%u,\"held\":%u,\"last_ok_usec\":%llu,"
                               "\"next_poll_usec\":%llu,\"failures\":%u,\"error\":", objects,
                               n_held, (unsigned long long) last_ok, (unsigned long long) next,
                               failures);
                        ctl_json_string(error);
                        if (scanned[0]) {
                                printf(",\"scanned\":");
                                ctl_json_string(scanned);
                        }
                        putchar('}');
                        first = false;
                        continue;
                }
                if (first)
                        printf("\nPolled targets:\n");
                first = false;
                format_realtime(when, sizeof(when), last_ok);
                printf("  %s/%s (%s %s)\n      ", pipeline, target, kind, where);
                if (scanned[0]) {
                        /* Out of watches is trouble; a network file system is only so. */
                        bool trouble = color && strneq(scanned, "instead", 7);
                        format_realtime(next_s, sizeof(next_s), next);
                        printf("%sscanned%s %s; last scan %s, next %s\n",
                               trouble ? ANSI_RED : "", trouble ? ANSI_RESET : "", scanned,
                               when, next_s);
                        /* A mount of its went away: its scans are held. */
                        if (error[0])
                                printf("      %sheld%s: %s\n", color ? ANSI_RED : "",
                                       color ? ANSI_RESET : "", ctl_shown(error));
                } else if (error[0]) {
                        format_next(next_s, sizeof(next_s), next, "next try");
                        printf("%sfailing%s after %u poll(s): %s; last good poll %s, %s\n",
                               color ? ANSI_RED : "", color ? ANSI_RESET : "", failures,
                               ctl_shown(error), when, next_s);
                } else {
                        format_next(next_s, sizeof(next_s), next, "next");
                        printf("%u object(s)", objects);
                        if (n_held > 0)
                                printf(", %u held (listed, not counted yet under "
                                       "'complete')", n_held);
                        printf("; last good poll %s, %s\n", when, next_s);
                }
        }
        if (o->json)
                putchar(']');
        return r < 0 ? ctl_report("status", r, NULL) : 0;
}

int verb_status(const CtlOptions *o, int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *version = NULL;
        _cleanup_strv_free_ char **stale = NULL, **rejected = NULL, **files = NULL,
                                 **paused = NULL, **names = NULL;
        uint32_t running = 0, queued = 0, retrying = 0, failed = 0, tasks;
        uint64_t ok = 0, bad = 0;
        const char *name, *file;
        bool first = true;
        int r;

        if (argc > 0) {
                fprintf(stderr, "sluicectl: status takes no arguments\n");
                return EXIT_USAGE;
        }
        r = ctl_connect(o, &bus);
        if (r < 0)
                return -r;
        r = sd_bus_get_property_string(bus, ctl_bus_name(), SLUICE_BUS_PATH, SLUICE_BUS_INTERFACE,
                                       "Version", &e, &version);
        if (r >= 0)
                r = get_counter(bus, "Running", &running, &e);
        if (r >= 0)
                r = get_counter(bus, "Queued", &queued, &e);
        if (r >= 0)
                r = get_counter(bus, "Retrying", &retrying, &e);
        if (r >= 0)
                r = get_counter(bus, "Failed", &failed, &e);
        if (r >= 0)
                r = sd_bus_get_property_trivial(bus, ctl_bus_name(), SLUICE_BUS_PATH,
                                                SLUICE_BUS_INTERFACE, "RunsSucceeded", &e, 't', &ok);
        if (r >= 0)
                r = sd_bus_get_property_trivial(bus, ctl_bus_name(), SLUICE_BUS_PATH,
                                                SLUICE_BUS_INTERFACE, "RunsFailed", &e, 't', &bad);
        if (r >= 0)
                r = sd_bus_call_method(bus, ctl_bus_name(), SLUICE_BUS_PATH, SLUICE_BUS_INTERFACE,
                                       "ListPipelines", &e, &reply, "");
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ssu)");
        if (r < 0)
                return ctl_report("status", r, &e);
        /* Quietly: a daemon from before the property has none to tell. */
        (void) sd_bus_get_property_strv(bus, ctl_bus_name(), SLUICE_BUS_PATH,
                                        SLUICE_BUS_INTERFACE, "StalePipelines", NULL, &stale);
        (void) sd_bus_get_property_strv(bus, ctl_bus_name(), SLUICE_BUS_PATH,
                                        SLUICE_BUS_INTERFACE, "RejectedFiles", NULL, &rejected);
        (void) sd_bus_get_property_strv(bus, ctl_bus_name(), SLUICE_BUS_PATH,
                                        SLUICE_BUS_INTERFACE, "PausedPipelines", NULL, &paused);

        if (o->json)
                printf("{\"version\":\"%s\",\"running\":%u,\"queued\":%u,\"retrying\":%u,"
                       "\"failed\":%u,\"runs_succeeded\":%llu,\"runs_failed\":%llu,\"pipelines\":[",
                       version, running, queued, retrying, failed, (unsigned long long) ok,
                       (unsigned long long) bad);
        else
                printf("sluiced %s: %u running, %u queued, %u retrying, %u failed "
                       "(%llu runs succeeded, %llu failed since it started)\n\nPipelines:\n",
                       version, running, queued, retrying, failed, (unsigned long long) ok,
                       (unsigned long long) bad);
        while ((r = sd_bus_message_read(reply, "(ssu)", &name, &file, &tasks)) > 0) {
                if (o->json) {
                        printf("%s{\"name\":", first ? "" : ",");
                        ctl_json_string(name);
                        printf(",\"file\":");
                        ctl_json_string(file);
                        printf(",\"tasks\":%u,\"stale\":%s,\"paused\":%s}", tasks,
                               strv_contains(stale, name) ? "true" : "false",
                               strv_contains(paused, name) ? "true" : "false");
                } else
                        printf("  %-24s %3u task(s)  %s%s%s\n", name, tasks, file,
                               strv_contains(paused, name)
                                       ? "  (paused: nothing of it starts; sluicectl resume)"
                                       : "",
                               strv_contains(stale, name)
                                       ? "  (its file has errors: the version before runs; "
                                         "see sluicectl check)"
                                       : "");
                (void) strv_extend(&files, file);
                (void) strv_extend(&names, name);
                first = false;
        }
        if (r < 0)
                return ctl_report("status", r, NULL);
        /* Files with errors and no version running: their pipelines are not there at all. */
        STRV_FOREACH(f, rejected) {
                if (strv_contains(files, *f))
                        continue;
                if (o->json) {
                        printf("%s{\"file\":", first ? "" : ",");
                        ctl_json_string(*f);
                        printf(",\"tasks\":0,\"not_running\":true}");
                } else {
                        const char *base = strrchr(*f, '/') ? strrchr(*f, '/') + 1 : *f;
                        _cleanup_free_ char *pipe = strndup(base, strcspn(base, "."));

                        printf("  %-24s   - task(s)  %s  (not running: the file has errors; "
                               "see sluicectl check)\n", ctl_shown(strempty(pipe)),
                               ctl_shown(*f));
                }
                first = false;
        }
        /* Paused by a name no file loads now (renamed): the pause waits for it. */
        STRV_FOREACH(n, paused) {
                if (strv_contains(names, *n))
                        continue;
                if (o->json) {
                        printf("%s{\"name\":", first ? "" : ",");
                        ctl_json_string(*n);
                        printf(",\"tasks\":0,\"paused\":true,\"not_running\":true}");
                } else
                        printf("  %-24s   - task(s)  (paused, and no file loads it: the pause "
                               "waits for it; sluicectl resume %s forgets it)\n",
                               ctl_shown(*n), ctl_shown(*n));
                first = false;
        }
        if (o->json) {
                putchar(']');
                r = print_targets(o, bus);
                printf("}\n");
                return r;
        }
        if (first)
                printf("  (none)\n");
        r = print_targets(o, bus);
        if (r == 0)
                r = print_next_retries(o, bus);
        if (r == 0)
                r = ctl_print_backfills(o, bus, true);
        return r;
}

typedef struct ListRow {
        const char *pipeline, *task, *params, *state, *unit, *reason;
        uint32_t attempts;
        uint64_t wake;
} ListRow;

/* By task, then parameters: the daemon answers in no order, and dates sort as text. */
static int compare_rows(const void *a, const void *b) {
        const ListRow *x = a, *y = b;

        return strcmp(x->pipeline, y->pipeline) ?: strcmp(x->task, y->task) ?:
               strcmp(x->params, y->params);
}

int verb_list(const CtlOptions *o, int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ ListRow *rows = NULL;
        size_t n_rows = 0;
        ListRow row;
        static const char *const states[] = { "waiting", "queued", "starting", "running",
                                              "retrying", "retry", "failed", NULL };
        /* "retry", as the verb and `why` say it, names the state too. */
        const char *want = o->state && streq(o->state, "retry") ? "retrying" : o->state;
        bool first = true, color = ctl_colors();
        unsigned n = 0;
        int r;

        if (argc > 0) {
                fprintf(stderr, "sluicectl: list takes no arguments (filter with --state)\n");
                return EXIT_USAGE;
        }
        if (o->state && !strv_contains((char **) states, o->state)) {
                fprintf(stderr, "sluicectl: --state must be one of waiting, queued, starting, "
                                "running, retrying, failed\n");
                return EXIT_USAGE;
        }
        r = ctl_connect(o, &bus);
        if (r < 0)
                return -r;
        r = sd_bus_call_method(bus, ctl_bus_name(), SLUICE_BUS_PATH, SLUICE_BUS_INTERFACE,
                               "ListInstances", &e, &reply, "");
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(sssssuts)");
        if (r < 0)
                return ctl_report("list", r, &e);
        while ((r = sd_bus_message_read(reply, "(sssssuts)", &row.pipeline, &row.task,
                                        &row.params, &row.state, &row.unit, &row.attempts,
                                        &row.wake, &row.reason)) > 0) {
                ListRow *l;

                if (want && !streq(want, row.state))
                        continue;
                l = reallocarray(rows, n_rows + 1, sizeof(ListRow));
                if (!l)
                        return ctl_report("list", -ENOMEM, NULL);
                rows = l;
                rows[n_rows++] = row;
        }
        if (r < 0)
                return ctl_report("list", r, NULL);
        if (rows)
                qsort(rows, n_rows, sizeof(ListRow), compare_rows);
        if (o->json)
                putchar('[');
        else
                printf("%s%-9s %-32s %-28s %8s  %s%s\n", color ? ANSI_BOLD : "", "STATE", "TASK",
                       "PARAMETERS", "ATTEMPTS", "NEXT RETRY / REASON", color ? ANSI_RESET : "");
        for (size_t k = 0; k < n_rows; k++) {
                const char *pipeline = rows[k].pipeline, *task = rows[k].task,
                           *params = rows[k].params, *state = rows[k].state,
                           *unit = rows[k].unit, *reason = rows[k].reason;
                uint32_t attempts = rows[k].attempts;
                uint64_t wake = rows[k].wake;
                char when[64], name[256];
                bool retrying = streq(state, "retrying");

                n++;
                format_realtime(when, sizeof(when), wake);
                if (o->json) {
                        printf("%s{\"pipeline\":", first ? "" : ",");
                        ctl_json_string(pipeline);
                        printf(",\"task\":");
                        ctl_json_string(task);
                        printf(",\"parameters\":");
                        ctl_json_string(params);
                        printf(",\"state\":");
                        ctl_json_string(state);
                        printf(",\"unit\":");
                        ctl_json_string(unit);
                        printf(",\"attempts\":%u,\"next_attempt_usec\":%llu,\"reason\":", attempts,
                               (unsigned long long) (streq(state, "retrying") ? wake : 0));
                        ctl_json_string(reason);
                        putchar('}');
                        first = false;
                        continue;
                }
                snprintf(name, sizeof(name), "%s/%s", pipeline, task);
                printf("%s%-9s%s %-32s %-28s %8u  %s%s%s\n", state_color(state), state,
                       color ? ANSI_RESET : "", name, ctl_shown(params), attempts,
                       retrying ? when : "", retrying && reason[0] ? ": " : "", ctl_shown(reason));
        }
        if (o->json)
                printf("]\n");
        else
                printf("\n%u instance(s)%s%s. Complete instances are not listed: "
                       "their outputs exist.\n", n, want ? " in state " : "", strempty(want));
        return 0;
}

/* The steps of Run and Why, indented by depth. */
static int print_steps(const CtlOptions *o, sd_bus_message *reply) {
        const char *kind, *subject, *detail;
        bool first = true, color = ctl_colors();
        uint32_t depth;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "(usss)");
        if (r < 0)
                return r;
        if (o->json)
                putchar('[');
        while ((r = sd_bus_message_read(reply, "(usss)", &depth, &kind, &subject, &detail)) > 0) {
                if (o->json) {
                        printf("%s{\"depth\":%u,\"kind\":", first ? "" : ",", depth);
                        ctl_json_string(kind);
                        printf(",\"subject\":");
                        ctl_json_string(subject);
                        printf(",\"detail\":");
                        ctl_json_string(detail);
                        putchar('}');
                } else
                        printf("%*s%s%-9s%s %s: %s\n", (int) depth * 2, "",
                               color ? state_color(kind) : "", kind, color ? ANSI_RESET : "",
                               ctl_shown(subject), ctl_shown(detail));
                first = false;
        }
        if (o->json)
                printf("]\n");
        return r;
}

/* TASK and --param, for the verbs about one instance. */
static int instance_args(const char *verb, int argc, char *argv[], const char **ret_task) {
        if (argc != 1) {
                fprintf(stderr, "sluicectl: %s needs one task: %s TASK --param NAME=VALUE...\n",
                        verb, verb);
                return -EXIT_USAGE;
        }
        *ret_task = argv[0];
        return 0;
}

/* Connects and builds METHOD(s task, as params) for TASK of argv; a negative exit status on
 * failure, the error said. */
static int instance_call(const CtlOptions *o, const char *verb, const char *method, int argc,
                         char *argv[], sd_bus **ret_bus, sd_bus_message **ret_call) {
        const char *task;
        int r;

        r = instance_args(verb, argc, argv, &task);
        if (r >= 0)
                r = ctl_connect(o, ret_bus);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(*ret_bus, ret_call, ctl_bus_name(), SLUICE_BUS_PATH,
                                           SLUICE_BUS_INTERFACE, method);
        if (r >= 0)
                r = sd_bus_message_append(*ret_call, "s", task);
        if (r >= 0)
                r = sd_bus_message_append_strv(*ret_call, o->params);
        return r < 0 ? -ctl_report(verb, r, NULL) : 0;
}

static int call_steps(const CtlOptions *o, const char *verb, const char *method, int argc,
                      char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        int r;

        r = instance_call(o, verb, method, argc, argv, &bus, &call);
        if (r < 0)
                return -r;
        if (streq(method, "Run"))
                r = sd_bus_message_append(call, "b", o->force);
        if (r >= 0)
                r = sd_bus_call(bus, call, 0, &e, &reply);
        if (r >= 0)
                r = print_steps(o, reply);
        return r < 0 ? ctl_report(verb, r, &e) : 0;
}

int verb_run(const CtlOptions *o, int argc, char *argv[]) {
        return call_steps(o, "run", "Run", argc, argv);
}

int verb_why(const CtlOptions *o, int argc, char *argv[]) {
        return call_steps(o, "why", "Why", argc, argv);
}

/* show: the unit's name, what the daemon says of the instance (why), and its recent runs. */
int verb_show(const CtlOptions *o, int argc, char *argv[]) {
        _cleanup_(ctl_pipelines_done) CtlPipelines p = {};
        _cleanup_free_ char *id = NULL, *unit = NULL;
        const char *name;
        Task *task;
        int r;

        r = instance_args("show", argc, argv, &name);
        if (r < 0)
                return -r;
        if (ctl_load_pipelines(o, &p) < 0 || !(task = ctl_find_task(&p, name)))
                return EXIT_REFUSED;
        if (ctl_instance_names(task, o->params, &id, &unit) < 0)
                return EXIT_USAGE;
        if (o->json) {
                printf("{\"unit\":");
                ctl_json_string(unit);
                printf(",\"steps\":");
        } else
                printf("Unit: %s\n\n", unit);
        fflush(stdout);
        r = call_steps(o, "show", "Why", argc, argv);
        if (r != 0)
                return r;
        if (o->json)
                printf(",\"runs\":");
        else
                printf("\nRuns:\n");
        fflush(stdout);
        r = verb_history(o, argc, argv);
        if (o->json)
                printf("}\n");
        return r;
}

/* After a retry: what a paused pipeline queues waits, which "queued again" alone hides. */
static void note_paused(const CtlOptions *o, sd_bus *bus) {
        _cleanup_strv_free_ char **paused = NULL;
        _cleanup_free_ char *list = NULL;

        if (o->quiet || o->json ||
            sd_bus_get_property_strv(bus, ctl_bus_name(), SLUICE_BUS_PATH, SLUICE_BUS_INTERFACE,
                                     "PausedPipelines", NULL, &paused) < 0 ||
            !paused || strv_join(paused, ", ", &list) < 0)
                return;
        fprintf(stderr, "sluicectl: note: paused: %s; what a paused pipeline queues starts once "
                        "it is resumed (sluicectl resume)\n", list);
}

static int call_unit(const CtlOptions *o, const char *verb, const char *method, const char *done,
                     int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        const char *unit;
        int r;

        r = instance_call(o, verb, method, argc, argv, &bus, &call);
        if (r < 0)
                return -r;
        r = sd_bus_call(bus, call, 0, &e, &reply);
        if (r >= 0)
                r = sd_bus_message_read(reply, "s", &unit);
        if (r < 0)
                return ctl_report(verb, r, &e);
        if (o->json) {
                printf("{\"unit\":");
                ctl_json_string(unit);
                printf("}\n");
        } else if (!o->quiet)
                printf("%s %s\n", unit, done);
        if (streq(verb, "retry"))
                note_paused(o, bus);
        return 0;
}

/* retry and reset-failed without --param: every failed instance of the task, through METHOD
 * (RetryTask, ResetFailedTask). Refused when none was changed. */
static int call_task(const CtlOptions *o, const char *verb, const char *method, const char *done,
                     int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **units = NULL, **refused = NULL;
        const char *task;
        int r;

        r = instance_args(verb, argc, argv, &task);
        if (r >= 0)
                r = ctl_connect(o, &bus);
        if (r < 0)
                return -r;
        r = sd_bus_call_method(bus, ctl_bus_name(), SLUICE_BUS_PATH, SLUICE_BUS_INTERFACE, method,
                               &e, &reply, "s", task);
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, &units);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ss)");
        while (r >= 0) {
                const char *unit, *why;

                r = sd_bus_message_read(reply, "(ss)", &unit, &why);
                if (r <= 0)
                        break;
                if (strv_extend(&refused, unit) < 0 || strv_extend(&refused, why) < 0)
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return ctl_report(verb, r, &e);
        if (o->json) {
                printf("{\"units\":[");
                STRV_FOREACH(u, units) {
                        if (u != units)
                                putchar(',');
                        ctl_json_string(*u);
                }
                printf("],\"refused\":[");
                for (char **u = refused; u && u[0] && u[1]; u += 2) {
                        printf("%s{\"unit\":", u != refused ? "," : "");
                        ctl_json_string(u[0]);
                        printf(",\"reason\":");
                        ctl_json_string(u[1]);
                        putchar('}');
                }
                printf("]}\n");
        } else if (!o->quiet)
                STRV_FOREACH(u, units)
                        printf("%s %s\n", *u, done);
        if (units && streq(verb, "retry"))
                note_paused(o, bus);
        /* The reason names its unit: "x.service cannot run again: ..." */
        for (char **u = refused; u && u[0] && u[1]; u += 2)
                fprintf(stderr, "sluicectl: %s: %s\n", verb, u[1]);
        if (!units && !refused)
                fprintf(stderr, "sluicectl: %s: no instance of task '%s' has failed\n", verb, task);
        return units ? 0 : EXIT_REFUSED;
}

int verb_retry(const CtlOptions *o, int argc, char *argv[]) {
        if (strv_length(o->params) == 0)
                return call_task(o, "retry", "RetryTask", "queued again (a new series of attempts)",
                                 argc, argv);
        return call_unit(o, "retry", "Retry", "queued again (a new series of attempts)", argc, argv);
}

int verb_cancel(const CtlOptions *o, int argc, char *argv[]) {
        return call_unit(o, "cancel", "Cancel", "cancelled", argc, argv);
}

int verb_reset_failed(const CtlOptions *o, int argc, char *argv[]) {
        if (strv_length(o->params) == 0)
                return call_task(o, "reset-failed", "ResetFailedTask",
                                 "forgotten: no longer failed; its files decide, as for an "
                                 "instance that never ran", argc, argv);
        return call_unit(o, "reset-failed", "ResetFailed",
                         "forgotten: no longer failed; its files decide, as for an instance "
                         "that never ran", argc, argv);
}

/* pause and resume PIPELINE...: Pause or Resume(as). */
static int call_pause(const CtlOptions *o, const char *verb, const char *method, const char *done,
                      int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        int r;

        if (argc == 0) {
                fprintf(stderr, "sluicectl: %s needs the pipelines: %s PIPELINE...\n", verb, verb);
                return EXIT_USAGE;
        }
        r = ctl_connect(o, &bus);
        if (r < 0)
                return -r;
        r = sd_bus_message_new_method_call(bus, &call, ctl_bus_name(), SLUICE_BUS_PATH,
                                           SLUICE_BUS_INTERFACE, method);
        if (r >= 0)
                r = sd_bus_message_append_strv(call, argv);
        if (r >= 0)
                r = sd_bus_call(bus, call, 0, &e, &reply);
        if (r < 0)
                return ctl_report(verb, r, &e);
        if (o->json) {
                printf("{\"pipelines\":[");
                for (int k = 0; k < argc; k++) {
                        if (k > 0)
                                putchar(',');
                        ctl_json_string(argv[k]);
                }
                printf("],\"paused\":%s}\n", streq(method, "Pause") ? "true" : "false");
        } else
                for (int k = 0; k < argc && !o->quiet; k++)
                        printf("%s %s\n", argv[k], done);
        return 0;
}

int verb_pause(const CtlOptions *o, int argc, char *argv[]) {
        return call_pause(o, "pause", "Pause",
                          "paused: nothing of it starts until it is resumed (runs under way go "
                          "on; what becomes due is queued)", argc, argv);
}

int verb_resume(const CtlOptions *o, int argc, char *argv[]) {
        return call_pause(o, "resume", "Resume", "resumed: what is queued starts", argc, argv);
}

int verb_reload(const CtlOptions *o, int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **kept = NULL;
        _cleanup_free_ char *dir = NULL;
        uint32_t running;
        int r;

        if (argc > 0) {
                fprintf(stderr, "sluicectl: reload takes no arguments\n");
                return EXIT_USAGE;
        }
        r = ctl_connect(o, &bus);
        if (r < 0)
                return -r;
        /* Validated here first, so that every problem is shown as file:line; the daemon
         * validates again and keeps the running version of a file with errors. The daemon's
         * files, wherever -C points: they are what it reloads. */
        r = sd_bus_get_property_string(bus, ctl_bus_name(), SLUICE_BUS_PATH, SLUICE_BUS_INTERFACE,
                                       "ConfigDirectory", NULL, &dir);
        (void) verb_check(&(CtlOptions){ .config_dir = r >= 0 ? dir : o->config_dir,
                                         .quiet = true }, 0, NULL);
        r = sd_bus_call_method(bus, ctl_bus_name(), SLUICE_BUS_PATH, SLUICE_BUS_INTERFACE,
                               "Reload", &e, &reply, "");
        if (r >= 0)
                r = sd_bus_message_read(reply, "u", &running);
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, &kept);
        if (r < 0)
                return ctl_report("reload", r, &e);
        STRV_FOREACH(k, kept)
                /* `check` of the whole directory: an error may be between two files. */
                fprintf(stderr, "sluicectl: %s has errors (see `sluicectl check`); its "
                                "running version, if any, is kept\n", ctl_shown(*k));
        /* "Reloaded" alone beside those errors would read as if all of it was taken. */
        if (!o->quiet && kept)
                printf("Partly reloaded: %u pipeline(s) running, %zu file(s) with errors not "
                       "taken\n", running, strv_length(kept));
        else if (!o->quiet)
                printf("Reloaded: %u pipeline(s) running\n", running);
        return kept ? EXIT_REFUSED : 0;
}

/* A read the daemon (or the bus's policy) refused: said, since the graph printed without it
 * would look complete and be wrong. A daemon that is not there, or older than the method, is
 * no news: the files alone speak, quietly. */
static void note_refused(const char *method, const sd_bus_error *e) {
        if (!sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED))
                return;
        fprintf(stderr, "sluicectl: the daemon refused %s (access denied: is the D-Bus policy "
                        "org.sluice.sluice1.conf current, and dbus reloaded?); %s\n", method,
                streq(method, "ListHeld")
                        ? "a file that is there but does not count yet is shown as present"
                        : "states are what the files say, not what the daemon does");
}

/* ListHeld(): nothing from a daemon older than it. */
static int live_held(sd_bus *bus, char ***ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **l = NULL;
        const char *pipeline, *target, *location, *why;
        int r;

        r = sd_bus_call_method(bus, ctl_bus_name(), SLUICE_BUS_PATH, SLUICE_BUS_INTERFACE,
                               "ListHeld", &e, &reply, "");
        if (r < 0)
                note_refused("ListHeld", &e);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ssss)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssss)", &pipeline, &target, &location,
                                                  &why)) > 0)
                if (strv_extend(&l, pipeline) < 0 || strv_extend(&l, target) < 0 ||
                    strv_extend(&l, location) < 0 || strv_extend(&l, why) < 0)
                        return -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

/* ListTargets(): the polled targets, not the scanned ones. */
static int live_polled(sd_bus *bus, CtlPolled **ret, size_t *ret_n) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *pipeline, *target, *kind, *where, *error, *scanned;
        uint64_t last_ok, next;
        uint32_t objects, failures;
        int r;

        r = sd_bus_call_method(bus, ctl_bus_name(), SLUICE_BUS_PATH, SLUICE_BUS_INTERFACE,
                               "ListTargets", &e, &reply, "");
        if (r < 0)
                note_refused("ListTargets", &e);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ssssuttuss)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssssuttuss)", &pipeline, &target,
                                                  &kind, &where, &objects, &last_ok, &next,
                                                  &failures, &error, &scanned)) > 0) {
                CtlPolled *l = reallocarray(*ret, *ret_n + 1, sizeof(CtlPolled)), *x;

                if (!l)
                        return -ENOMEM;
                *ret = l;
                if (scanned[0])
                        continue;
                x = &l[(*ret_n)++];
                *x = (CtlPolled){
                        .pipeline = strdup(pipeline),
                        .target = strdup(target),
                        .error = error[0] ? strdup(error) : NULL,
                        .status = { .objects = objects, .last_ok_realtime = last_ok,
                                    .next_poll_realtime = next, .failures = failures },
                };
                x->status.error = x->error;
                if (!x->pipeline || !x->target || (error[0] && !x->error))
                        return -ENOMEM;
        }
        return r;
}

int ctl_live_read(const CtlOptions *o, CtlLive *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *pipeline, *task, *params, *state, *unit, *reason;
        uint32_t attempts;
        uint64_t wake;
        int r;

        /* Without a daemon the graph is what the files say, quietly, as it always was. */
        r = o->user ? sd_bus_open_user(&ret->bus) : sd_bus_open_system(&ret->bus);
        if (r >= 0) {
                r = sd_bus_call_method(ret->bus, ctl_bus_name(), SLUICE_BUS_PATH,
                                       SLUICE_BUS_INTERFACE, "ListInstances", &e, &reply, "");
                if (r < 0)
                        note_refused("ListInstances", &e);
        }
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(sssssuts)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(sssssuts)", &pipeline, &task, &params,
                                                  &state, &unit, &attempts, &wake, &reason)) > 0)
                if (strv_extend(&ret->states, unit) < 0 || strv_extend(&ret->states, state) < 0)
                        return -ENOMEM;
        if (r < 0) {
                ret->states = strv_free(ret->states);
                return r;
        }
        if (live_held(ret->bus, &ret->held) < 0)
                ret->held = strv_free(ret->held);
        if (live_polled(ret->bus, &ret->polled, &ret->n_polled) == -ENOMEM)
                return -ENOMEM;
        return 0;
}

void ctl_live_done(CtlLive *l) {
        for (size_t k = 0; k < l->n_polled; k++) {
                free(l->polled[k].pipeline);
                free(l->polled[k].target);
                free(l->polled[k].error);
                strv_free(l->polled[k].objects);
        }
        free(l->polled);
        strv_free(l->states);
        strv_free(l->held);
        sd_bus_flush_close_unref(l->bus);
        *l = (CtlLive){};
}

CtlPolled *ctl_live_polled(const CtlLive *l, const Target *t) {
        for (size_t k = 0; k < l->n_polled; k++)
                if (streq(l->polled[k].pipeline, t->pipeline->name) &&
                    streq(l->polled[k].target, t->name))
                        return &l->polled[k];
        return NULL;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

int ctl_live_has(CtlLive *l, CtlPolled *p, const char *location) {
        if (!p->asked) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                int r;

                p->asked = true;
                r = sd_bus_call_method(l->bus, ctl_bus_name(), SLUICE_BUS_PATH,
                                       SLUICE_BUS_INTERFACE, "ListObjects", &e, &reply, "ss",
                                       p->pipeline, p->target);
                if (r < 0)
                        note_refused("ListObjects", &e);
                if (r >= 0)
                        r = sd_bus_message_read_strv(reply, &p->objects);
                /* None known is an answer too (read as no list at all). */
                if (r >= 0 && !p->objects && !(p->objects = calloc(1, sizeof(char *))))
                        r = -ENOMEM;
                if (r < 0)
                        return r;
                /* Asked of every input instance of a wide fan-in: looked up, not scanned. */
                if (p->objects[0])
                        qsort(p->objects, strv_length(p->objects), sizeof(char *),
                              compare_strings);
        }
        if (!p->objects)
                return -ENODATA;
        return p->objects[0] && bsearch(&location, p->objects, strv_length(p->objects),
                                        sizeof(char *), compare_strings);
}
