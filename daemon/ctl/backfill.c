/* SPDX-License-Identifier: MIT */
/*
 * sluicectl backfill: start one (and watch its progress), list them, cancel one. The daemon
 * keeps the backfill; this command only asks and shows, so interrupting it stops nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus-api.h"
#include "ctl-util.h"
#include "util/time-util.h"

typedef struct Progress {
        uint32_t id;
        const char *pipeline, *task, *param, *from, *to;
        uint64_t started, finished;
        uint32_t total, complete, queued, running, retrying, failed, waiting, upstream, cancelled;
} Progress;

#define PROGRESS_SIGNATURE "(usssssttuuuuuuuuu)"

static int read_progress(sd_bus_message *reply, Progress *p) {
        return sd_bus_message_read(reply, PROGRESS_SIGNATURE, &p->id, &p->pipeline, &p->task,
                                   &p->param, &p->from, &p->to, &p->started, &p->finished,
                                   &p->total, &p->complete, &p->queued, &p->running,
                                   &p->retrying, &p->failed, &p->waiting, &p->upstream,
                                   &p->cancelled);
}

static void print_json(const Progress *p) {
        printf("{\"id\":%u,\"pipeline\":", p->id);
        ctl_json_string(p->pipeline);
        printf(",\"task\":");
        ctl_json_string(p->task);
        printf(",\"param\":");
        ctl_json_string(p->param);
        printf(",\"from\":");
        ctl_json_string(p->from);
        printf(",\"to\":");
        ctl_json_string(p->to);
        printf(",\"started_usec\":%llu,\"finished_usec\":%llu,\"total\":%u,\"complete\":%u,"
               "\"queued\":%u,\"running\":%u,\"retrying\":%u,\"failed\":%u,\"waiting\":%u,"
               "\"upstream\":%u,\"cancelled\":%u}",
               (unsigned long long) p->started, (unsigned long long) p->finished, p->total,
               p->complete, p->queued, p->running, p->retrying, p->failed, p->waiting,
               p->upstream, p->cancelled);
}

static void print_counts(const Progress *p) {
        const char *red = ctl_colors() && p->failed ? ANSI_RED : "";

        if (p->cancelled > 0) {
                printf("cancelled: %u/%u complete, %s%u failed%s, %u cancelled", p->complete,
                       p->total, red, p->failed, *red ? ANSI_RESET : "", p->cancelled);
                return;
        }
        printf("%u/%u complete, %u running, %u queued, %u retrying, %s%u failed%s, %u waiting "
               "for inputs", p->complete, p->total, p->running, p->queued, p->retrying, red,
               p->failed, *red ? ANSI_RESET : "", p->waiting);
        if (p->upstream > 0)
                printf(" (%u run(s) upstream under way)", p->upstream);
}

/* Calls ListBackfills and enters its array. */
static int list(sd_bus *bus, sd_bus_error *e, sd_bus_message **ret_reply) {
        int r;

        r = sd_bus_call_method(bus, ctl_bus_name(), SLUICE_BUS_PATH, SLUICE_BUS_INTERFACE,
                               "ListBackfills", e, ret_reply, "");
        if (r >= 0)
                r = sd_bus_message_enter_container(*ret_reply, 'a', PROGRESS_SIGNATURE);
        return r;
}

/* The progress of backfill id, from a fresh ListBackfills. */
static int find(sd_bus *bus, uint32_t id, sd_bus_error *e, sd_bus_message **ret_reply,
                Progress *ret) {
        int r;

        *ret_reply = sd_bus_message_unref(*ret_reply);
        r = list(bus, e, ret_reply);
        while (r >= 0 && (r = read_progress(*ret_reply, ret)) > 0)
                if (ret->id == id)
                        return 1;
        return r < 0 ? r : -ESRCH;
}

int ctl_print_backfills(const CtlOptions *o, sd_bus *bus, bool active_only) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        bool first = true;
        Progress p;
        int r;

        r = list(bus, &e, &reply);
        if (r < 0)
                return ctl_report("backfill", r, &e);
        if (o->json)
                putchar('[');
        while ((r = read_progress(reply, &p)) > 0) {
                char when[FORMAT_REALTIME_MAX];

                if (active_only && p.finished)
                        continue;
                if (o->json) {
                        printf("%s", first ? "" : ",");
                        print_json(&p);
                        first = false;
                        continue;
                }
                if (first && active_only)
                        printf("\nBackfills:\n");
                first = false;
                format_realtime(when, sizeof(when), p.started);
                printf("  %u  %s/%s %s=%s..%s  started %s%s\n      ", p.id, p.pipeline, p.task,
                       p.param, p.from, p.to, when,
                       p.cancelled > 0 ? ", cancelled" : p.finished ? ", finished" : "");
                print_counts(&p);
                putchar('\n');
        }
        if (o->json)
                printf("]\n");
        else if (first && !active_only)
                printf("No backfills since sluiced started.\n");
        return r < 0 ? ctl_report("backfill", r, NULL) : 0;
}

/* The bus dropped (a restart of it), or the daemon is not on it for the moment (it reconnects):
 * worth asking again. */
static bool bus_gone(int r, const sd_bus_error *e) {
        return r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE || r == -ECONNREFUSED ||
               sd_bus_error_has_names(e, "org.freedesktop.DBus.Error.ServiceUnknown",
                                      "org.freedesktop.DBus.Error.NameHasNoOwner",
                                      "org.freedesktop.DBus.Error.NoReply");
}

/* Shows progress until the daemon says the backfill is finished. The daemon keeps the backfill
 * whatever becomes of this command, so a bus that drops meanwhile is opened again, for a while,
 * rather than giving up on watching. */
static int watch(const CtlOptions *o, sd_bus *bus, uint32_t id) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *again = NULL;
        bool tty = isatty(STDOUT_FILENO) && !o->json;
        usec_t lost = 0;
        Progress p, last = {};
        int r;

        for (;;) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                r = find(again ?: bus, id, &e, &reply, &p);
                if (r < 0 && bus_gone(r, &e) &&
                    (lost == 0 || now_usec(CLOCK_MONOTONIC) < lost + 60 * USEC_PER_SEC)) {
                        if (lost == 0) {
                                fprintf(stderr, "sluicectl: lost the bus; watching backfill %u "
                                        "again when the daemon answers\n", id);
                                lost = now_usec(CLOCK_MONOTONIC);
                        }
                        again = sd_bus_flush_close_unref(again);
                        if ((o->user ? sd_bus_open_user(&again) : sd_bus_open_system(&again)) < 0)
                                again = NULL;
                        (void) usleep(USEC_PER_SEC);
                        continue;
                }
                if (r == -ESRCH && lost > 0) {
                        fprintf(stderr, "sluicectl: backfill %u is gone: the daemon restarted, "
                                "and a backfill does not outlive it; ask for it again (what is "
                                "complete is skipped)\n", id);
                        return EXIT_REFUSED;
                }
                if (r < 0)
                        return ctl_report("backfill", r, &e);
                lost = 0;
                if (!o->json && !o->quiet &&
                    (p.complete != last.complete || p.running != last.running ||
                     p.queued != last.queued || p.retrying != last.retrying ||
                     p.failed != last.failed || p.waiting != last.waiting || p.finished ||
                     (tty && p.upstream != last.upstream))) {
                        if (tty)
                                printf("\r\033[K");
                        print_counts(&p);
                        if (!tty || p.finished)
                                putchar('\n');
                        fflush(stdout);
                }
                last = p;
                if (p.finished)
                        break;
                /* A person's progress line, not a synchronisation: once a second is plenty. */
                (void) usleep(USEC_PER_SEC);
        }
        if (o->json) {
                print_json(&p);
                putchar('\n');
        } else if (p.complete < p.total)
                fprintf(stderr, "sluicectl: backfill %u finished with %u failed and %u waiting "
                        "for inputs; `sluicectl why` says why, `sluicectl list --state failed` "
                        "lists the failures\n", id, p.failed, p.waiting);
        return p.complete == p.total ? 0 : EXIT_REFUSED;
}

static int cancel(const CtlOptions *o, sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char *end;
        unsigned long id = strtoul(o->cancel, &end, 10);
        uint32_t n;
        int r;

        if (!*o->cancel || *end || id == 0 || id > UINT32_MAX) {
                fprintf(stderr, "sluicectl: --cancel needs a backfill number, not '%s'\n",
                        o->cancel);
                return EXIT_USAGE;
        }
        r = sd_bus_call_method(bus, ctl_bus_name(), SLUICE_BUS_PATH, SLUICE_BUS_INTERFACE,
                               "CancelBackfill", &e, &reply, "u", (uint32_t) id);
        if (r >= 0)
                r = sd_bus_message_read(reply, "u", &n);
        if (r < 0)
                return ctl_report("backfill --cancel", r, &e);
        if (o->json)
                printf("{\"id\":%lu,\"stopped\":%u}\n", id, n);
        else if (!o->quiet)
                printf("Backfill %lu cancelled: %u run(s) stopped or dropped from the queue.\n",
                       id, n);
        return 0;
}

int verb_backfill(const CtlOptions *o, int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        uint32_t id, total;
        int r;

        if (argc > 1 || (argc == 1) != (o->from && o->to) || (argc == 1 && o->cancel) ||
            (argc == 0 && (o->from || o->to || o->params))) {
                fprintf(stderr, "sluicectl: backfill TASK --from A --to B [-p NAME=VALUE...], or "
                        "backfill --cancel ID, or backfill alone to list them\n");
                return EXIT_USAGE;
        }
        r = ctl_connect(o, &bus);
        if (r < 0)
                return -r;
        if (o->cancel)
                return cancel(o, bus);
        if (argc == 0)
                return ctl_print_backfills(o, bus, false);

        r = sd_bus_message_new_method_call(bus, &call, ctl_bus_name(), SLUICE_BUS_PATH,
                                           SLUICE_BUS_INTERFACE, "Backfill");
        if (r >= 0)
                r = sd_bus_message_append(call, "s", argv[0]);
        if (r >= 0)
                r = sd_bus_message_append_strv(call, o->params);
        if (r >= 0)
                r = sd_bus_message_append(call, "ssb", o->from, o->to, o->force);
        if (r >= 0)
                r = sd_bus_call(bus, call, 0, &e, &reply);
        if (r >= 0)
                r = sd_bus_message_read(reply, "uu", &id, &total);
        if (r < 0)
                return ctl_report("backfill", r, &e);
        if (!o->json && !o->quiet)
                printf("Backfill %u: %s from %s to %s, %u instance(s)%s\n", id, argv[0], o->from,
                       o->to, total, o->no_wait ? "" : "; interrupting this does not stop it");
        if (o->no_wait) {
                if (o->json)
                        printf("{\"id\":%u,\"total\":%u}\n", id, total);
                return 0;
        }
        return watch(o, bus, id);
}
