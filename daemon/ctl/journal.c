/* SPDX-License-Identifier: MIT */
/*
 * The sluicectl verbs that read the journal with sd-journal, no daemon needed: history (the
 * daemon's structured run-finished entries, MESSAGE_ID=f1220f81...) and logs (what a task
 * instance's units wrote, and the daemon's entries about them; -f follows).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl-util.h"
#include "journal-util.h"
#include "log.h"
#include "util/escape.h"
#include "util/fs-util.h"
#include "util/strv.h"
#include "util/time-util.h"

/* Nothing found, and the system's journal is one the caller may not read (only root and the
 * groups systemd-journal, adm and wheel may): the runs may well be there. Said on stderr, as
 * journalctl hints, rather than an empty answer taken for the truth. */
static void hint_unreadable(void) {
        char path[128];
        sd_id128_t id;

        if (geteuid() == 0 || sd_id128_get_machine(&id) < 0)
                return;
        for (const char *const *dir = (const char *const[]){ "/var/log/journal", "/run/log/journal",
                                                             NULL };
             *dir; dir++) {
                snprintf(path, sizeof(path), "%s/" SD_ID128_FORMAT_STR "/system.journal", *dir,
                         SD_ID128_FORMAT_VAL(id));
                if (access(path, R_OK) == 0)
                        return;
        }
        fprintf(stderr, "sluicectl: you may not read the system's journal, where the daemon and "
                        "its tasks write (members of the groups systemd-journal, adm or wheel "
                        "may): nothing shown is not nothing there\n");
}
#include "verbs.h"

/* --since: "2026-11-27", "2026-11-27 06:00[:00]" (or with ISO 8601's 'T', and then 'Z' for
 * UTC), "today", "yesterday", or a span back from now ("2h", "3d"). Local time otherwise. */
static int parse_since(const char *s, uint64_t *ret) {
        static const char * const formats[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                                                "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d" };
        time_t now = time(NULL);
        struct tm tm;
        usec_t span;

        if (parse_timespan(s, &span) >= 0) {
                *ret = now_usec(CLOCK_REALTIME) - MIN(span, now_usec(CLOCK_REALTIME));
                return 0;
        }
        if (streq(s, "today") || streq(s, "yesterday")) {
                if (!localtime_r(&now, &tm))
                        return -EINVAL;
                tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
                tm.tm_mday -= streq(s, "yesterday");    /* mktime() carries into the month */
                tm.tm_isdst = -1;
                *ret = (uint64_t) mktime(&tm) * USEC_PER_SEC;
                return 0;
        }
        for (size_t k = 0; k < ELEMENTSOF(formats); k++) {
                const char *end;
                struct tm asked;
                bool utc;
                time_t t;

                tm = (struct tm){};
                end = strptime(s, formats[k], &tm);
                utc = end && streq(end, "Z") && k < 4;     /* ISO 8601's UTC, with a time */
                if (!end || (*end && !utc))
                        continue;
                tm.tm_isdst = -1;
                asked = tm;
                t = utc ? timegm(&tm) : mktime(&tm);
                /* mktime() would take 2026-02-30 for March 2nd. */
                if (t == (time_t) -1 || tm.tm_mday != asked.tm_mday || tm.tm_mon != asked.tm_mon)
                        return -EINVAL;
                *ret = (uint64_t) t * USEC_PER_SEC;
                return 0;
        }
        return -EINVAL;
}

static const char *format_usec(char *buf, size_t n, const char *usec) {
        unsigned long long v = strtoull(usec, NULL, 10);

        /* Absent, or "unknown" (UINT64_MAX nanoseconds) as early versions wrote it. */
        if (!usec[0] || v >= UINT64_MAX / 1000)
                return "-";
        return format_timespan_short(buf, n, v);
}

/* A size field in bytes, for people; "-" when absent. */
static const char *format_bytes_field(char *buf, size_t n, const char *bytes) {
        if (!bytes[0])
                return "-";
        return format_bytes(buf, n, strtoull(bytes, NULL, 10));
}

/* The instance as its values read, "2026-11-27 3", rather than as its unit name's escaped
 * instance part, "2026\x2d11\x2d27-3"; the raw text where it does not unescape. */
static char *instance_display(const char *inst) {
        _cleanup_strv_free_ char **values = NULL;
        char *joined = NULL;

        for (const char *p = inst;;) {
                size_t n = strcspn(p, "-");
                char *v = NULL;

                if (unit_unescape_value(p, n, &v) < 0 || strv_consume(&values, v) < 0)
                        return strdup(inst);
                if (!p[n])
                        break;
                p += n + 1;
        }
        return strv_join(values, " ", &joined) < 0 ? strdup(inst) : joined;
}

/* Of the pipelines the configuration directory defines, working or not: other daemons on the
 * host write run records too. Matches of one field are alternatives. 1, said, when the
 * directory cannot be read. */
static int match_own_pipelines(const CtlOptions *o, sd_journal *j) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *dir = NULL;
        int r = 0;

        if (path_join(o->config_dir, "pipelines.d", &dir) < 0)
                return -ENOMEM;
        /* Not every run on the host instead: said, as a usage error. */
        r = config_pipeline_names(dir, &names);
        if (r < 0) {
                fprintf(stderr, "sluicectl: cannot read the pipelines in %s: %s (-C names the "
                                "configuration directory; pipeline/task names one of "
                                "another)\n", ctl_shown(dir), strerror(-r));
                return 1;
        }
        STRV_FOREACH(name, names) {
                _cleanup_free_ char *match = NULL;

                if (asprintf(&match, "SLUICE_PIPELINE=%s", *name) < 0)
                        return -ENOMEM;
                r = sd_journal_add_match(j, match, 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

int verb_history(const CtlOptions *o, int argc, char *argv[]) {
        _cleanup_(ctl_pipelines_done) CtlPipelines p = {};
        _cleanup_free_ char *id = NULL, *unit = NULL;
        sd_journal *j = NULL;
        bool first = true, color = ctl_colors(), own = true;
        uint64_t since = 0;
        unsigned n = 0;
        int r;

        if (argc > 1) {
                fprintf(stderr, "sluicectl: history takes at most one task\n");
                return 2;
        }
        if (o->since && parse_since(o->since, &since) < 0) {
                fprintf(stderr, "sluicectl: --since '%s': expected YYYY-MM-DD[ HH:MM[:SS]], "
                                "today, yesterday, or a span such as 2h or 3d\n",
                        ctl_shown(o->since));
                return 2;
        }
        if (argc == 1 && o->params) {
                Task *task;
                if (ctl_load_pipelines(o, &p) < 0 || !(task = ctl_find_task(&p, argv[0])))
                        return 1;
                if (ctl_instance_names(task, o->params, &id, &unit) < 0)
                        return 1;
        }
        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0) {
                fprintf(stderr, "sluicectl: cannot open the journal: %s\n", strerror(-r));
                return 1;
        }
        if (unit)
                r = journal_match_runs(j, NULL, NULL, unit);
        else if (argc == 1) {
                const char *slash = strchr(argv[0], '/');
                r = journal_match_runs(j, slash ? strndupa(argv[0], (size_t) (slash - argv[0]))
                                                : NULL,
                                       slash ? slash + 1 : argv[0], NULL);
                /* A task named alone: of this configuration's pipelines, as without a task. */
                if (r >= 0 && !slash)
                        r = match_own_pipelines(o, j);
                own = !slash;
        } else {
                r = journal_match_runs(j, NULL, NULL, NULL);
                if (r >= 0)
                        r = match_own_pipelines(o, j);
        }
        if (r > 0) {
                sd_journal_close(j);
                return EXIT_USAGE;
        }
        if (r >= 0)
                r = since ? sd_journal_seek_realtime_usec(j, since) : sd_journal_seek_head(j);
        if (r < 0) {
                fprintf(stderr, "sluicectl: cannot read the journal: %s\n", strerror(-r));
                sd_journal_close(j);
                return 1;
        }
        if (o->json)
                putchar('[');
        else
                printf("%s%-19s  %-30s %-26s %-8s %-10s %-10s %-6s %-6s  %s%s\n",
                       color ? ANSI_BOLD : "", "FINISHED", "TASK", "INSTANCE", "RESULT",
                       "DURATION", "CPU", "PEAK", "MEMMAX", "WHY", color ? ANSI_RESET : "");
        while (sd_journal_next(j) > 0) {
                char pipeline[256], task[256], inst[512], result[32], failure[64], dur[32],
                        cpu[32], mem[32], peak[32], reason[1024], when[64], name[520], b1[64],
                        b2[64], b3[FORMAT_BYTES_MAX], b4[FORMAT_BYTES_MAX];
                _cleanup_free_ char *shown = NULL;
                uint64_t t = 0;

                if (own && !journal_entry_of_config(j, o->config_dir))
                        continue;
                (void) sd_journal_get_realtime_usec(j, &t);
                journal_field(j, "SLUICE_PIPELINE", pipeline, sizeof(pipeline));
                journal_field(j, "SLUICE_TASK", task, sizeof(task));
                journal_field(j, "SLUICE_INSTANCE", inst, sizeof(inst));
                journal_field(j, "SLUICE_RESULT", result, sizeof(result));
                journal_field(j, "SLUICE_FAILURE", failure, sizeof(failure));
                journal_field(j, "SLUICE_DURATION_USEC", dur, sizeof(dur));
                journal_field(j, "SLUICE_CPU_USEC", cpu, sizeof(cpu));
                journal_field(j, "SLUICE_MEMORY_MAX", mem, sizeof(mem));
                journal_field(j, "SLUICE_MEMORY_PEAK", peak, sizeof(peak));
                journal_field(j, "MESSAGE", reason, sizeof(reason));
                format_realtime(when, sizeof(when), t);
                n++;
                if (o->json) {
                        printf("%s{\"finished_usec\":%llu,\"pipeline\":", first ? "" : ",",
                               (unsigned long long) t);
                        ctl_json_string(pipeline);
                        printf(",\"task\":");
                        ctl_json_string(task);
                        printf(",\"instance\":");
                        ctl_json_string(inst);
                        printf(",\"result\":");
                        ctl_json_string(result);
                        printf(",\"failure\":");
                        ctl_json_string(failure);
                        printf(",\"duration_usec\":%s,\"cpu_usec\":%s,\"memory_peak\":%s,"
                               "\"memory_max\":%s,\"message\":", dur[0] ? dur : "null",
                               cpu[0] ? cpu : "null", peak[0] ? peak : "null",
                               mem[0] ? mem : "null");
                        ctl_json_string(reason);
                        putchar('}');
                        first = false;
                        continue;
                }
                snprintf(name, sizeof(name), "%s/%s", pipeline, task);
                shown = instance_display(inst);
                printf("%-19s  %-30s %-26s %s%-8s%s %-10s %-10s %-6s %-6s  %s\n", when, name,
                       ctl_shown(shown ?: inst), color && streq(result, "failed") ? ANSI_RED : "", result,
                       color ? ANSI_RESET : "", format_usec(b1, sizeof(b1), dur),
                       format_usec(b2, sizeof(b2), cpu),
                       format_bytes_field(b3, sizeof(b3), peak),
                       format_bytes_field(b4, sizeof(b4), mem),
                       streq(result, "failed") ? failure : "");
        }
        sd_journal_close(j);
        if (o->json)
                printf("]\n");
        else if (n == 0)
                printf("(no runs%s)\n", since ? " since then" : "");
        if (n == 0)
                hint_unreadable();
        return 0;
}

/* A line that names no unit, read outside the unit's runs: it is the unit's if a run-started
 * entry follows within JOURNAL_START_SLACK (journal-util.h). */
typedef struct Pending {
        uint64_t time;
        char *text;
} Pending;

#define PENDING_MAX 64

static void pending_drop_before(Pending *p, size_t *n, uint64_t t) {
        size_t k = 0;

        while (k < *n && (p[k].time < t || *n - k > PENDING_MAX - 1))
                free(p[k++].text);
        memmove(p, p + k, (*n - k) * sizeof(Pending));
        *n -= k;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) {
        interrupted = 1;
}

int verb_logs(const CtlOptions *o, int argc, char *argv[]) {
        _cleanup_(ctl_pipelines_done) CtlPipelines p = {};
        _cleanup_free_ char *id = NULL, *unit = NULL, *ident = NULL;
        Pending pending[PENDING_MAX];
        size_t n_pending = 0;
        uint64_t until = 0;     /* the last run's end, and the slack after it */
        bool inside = false, shown = false;
        sd_journal *j = NULL;
        Task *task;
        int r;

        if (argc != 1) {
                fprintf(stderr, "sluicectl: logs needs one task: logs TASK --param NAME=VALUE... "
                                "[-f]\n");
                return 2;
        }
        if (ctl_load_pipelines(o, &p) < 0 || !(task = ctl_find_task(&p, argv[0])))
                return 1;
        if (ctl_instance_names(task, o->params, &id, &unit) < 0)
                return 1;
        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0) {
                fprintf(stderr, "sluicectl: cannot open the journal: %s\n", strerror(-r));
                return 1;
        }
        /* The unit's own lines, and the daemon's entries about it (started, finished). */
        if (asprintf(&ident, "%s.%s", task->pipeline->name, task->name) < 0)
                r = -ENOMEM;
        else
                r = journal_match_unit(j, unit, ident);
        if (r >= 0)
                r = sd_journal_seek_head(j);
        if (r < 0) {
                fprintf(stderr, "sluicectl: cannot read the journal: %s\n", strerror(-r));
                sd_journal_close(j);
                return 1;
        }
        (void) signal(SIGINT, on_interrupt);
        (void) signal(SIGTERM, on_interrupt);
        while (!interrupted) {
                r = sd_journal_next(j);
                if (r < 0)
                        break;
                if (r == 0) {
                        if (!o->follow)
                                break;
                        fflush(stdout);
                        (void) sd_journal_wait(j, 250 * USEC_PER_MSEC);
                        continue;
                }
                char name[256], pid[32], msg[8192], when[64], *line = NULL;
                JournalEntryKind kind = journal_entry_kind(j, unit);
                uint64_t t = 0;

                if (kind == JOURNAL_ENTRY_FOREIGN)
                        continue;
                (void) sd_journal_get_realtime_usec(j, &t);
                format_realtime(when, sizeof(when), t);
                journal_field(j, "SYSLOG_IDENTIFIER", name, sizeof(name));
                journal_field(j, "_PID", pid, sizeof(pid));
                journal_field(j, "MESSAGE", msg, sizeof(msg));
                if (asprintf(&line, "%s %s[%s]: %s", when, name, pid, msg) < 0) {
                        r = log_oom();
                        break;
                }
                /* Lines that name no unit are this one's within its runs (journal-util.h). */
                pending_drop_before(pending, &n_pending, t > JOURNAL_START_SLACK ?
                                                                 t - JOURNAL_START_SLACK : 0);
                if (kind == JOURNAL_ENTRY_OTHER && !inside && t > until) {
                        pending[n_pending++] = (Pending){ .time = t, .text = line };
                        continue;
                }
                if (kind == JOURNAL_ENTRY_RUN_STARTED) {
                        for (size_t k = 0; k < n_pending; k++)
                                puts(pending[k].text);
                        pending_drop_before(pending, &n_pending, UINT64_MAX);
                        inside = true;
                } else if (kind == JOURNAL_ENTRY_RUN_FINISHED) {
                        inside = false;
                        until = t + JOURNAL_END_SLACK;
                }
                puts(line);
                free(line);
                shown = true;
        }
        pending_drop_before(pending, &n_pending, UINT64_MAX);
        sd_journal_close(j);
        if (!shown)
                hint_unreadable();
        return r < 0 ? 1 : 0;
}
