/* SPDX-License-Identifier: MIT */
/*
 * Past runs and a run's log lines, read from the journal like sluicectl history and logs: the
 * journal is the record (the daemon's run-finished entries and the units' own lines), so the
 * dashboard shows what journalctl shows, restarts included. Each request reads from the tail
 * a bounded number of entries, through the journal's field indexes.
 */
#include <stdlib.h>
#include <string.h>

#include "journal-util.h"
#include "log.h"
#include "web-internal.h"

#define WEB_HISTORY_DEFAULT 200
#define WEB_HISTORY_FRESH (5 * USEC_PER_SEC)
#define WEB_HISTORY_MAX 5000
#define WEB_LOG_LINES_DEFAULT 200
#define WEB_LOG_LINES_MAX 2000
/* Of each line; the journal may hold far longer ones. */
#define WEB_LOG_LINE_MAX 2048

static unsigned long count_arg(struct MHD_Connection *c, const char *name, unsigned long def,
                               unsigned long max) {
        const char *s = web_arg(c, name);
        unsigned long v = s ? strtoul(s, NULL, 10) : def;

        return v == 0 ? def : MIN(v, max);
}

static void put_number_field(sd_journal *j, json_object *o, const char *key, const char *field) {
        char buf[32];

        journal_field(j, field, buf, sizeof(buf));
        /* Absent, or "unknown" (UINT64_MAX) as early versions wrote it: null. */
        json_object_object_add(o, key, buf[0] && strtoull(buf, NULL, 10) < UINT64_MAX / 1000
                                               ? json_object_new_uint64(strtoull(buf, NULL, 10))
                                               : NULL);
}

static void put_string_field(sd_journal *j, json_object *o, const char *key, const char *field) {
        char buf[2048];

        json_object_object_add(o, key, json_object_new_string(journal_field(j, field, buf,
                                                                             sizeof(buf))));
}

static sd_journal *open_journal(const char **ret_error) {
        sd_journal *j = NULL;

        if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY) < 0) {
                *ret_error = "cannot open the journal";
                return NULL;
        }
        return j;
}

void web_history_done(Web *w) {
        w->history_key = mfree(w->history_key);
        json_object_put(w->history);
        w->history = NULL;
}

/*
 * Of this daemon's pipelines only, or of one task, or of one unit: other daemons on the host
 * write run records too. Reading 200 records takes ~10 ms, so every open dashboard asking
 * every 2 s shares one answer, until a run ends (and at most WEB_HISTORY_FRESH: journald
 * files a record a moment after the daemon counts the run).
 */
json_object *web_history(Web *w, struct MHD_Connection *c, const char **ret_error) {
        const char *task = web_arg(c, "task"), *unit = web_arg(c, "unit"), *slash;
        unsigned long limit = count_arg(c, "limit", WEB_HISTORY_DEFAULT, WEB_HISTORY_MAX);
        unsigned long long runs = w->manager->n_runs_ok + w->manager->n_runs_failed;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        _cleanup_free_ char *key = NULL;
        sd_journal *j;
        json_object *a;
        int r;

        if (asprintf(&key, "%s\n%s\n%lu", strempty(task), strempty(unit), limit) < 0) {
                *ret_error = "out of memory";
                return NULL;
        }
        if (w->history && streq(w->history_key, key) && w->history_runs == runs &&
            now - w->history_at < WEB_HISTORY_FRESH)
                return json_object_get(w->history);
        j = open_journal(ret_error);
        if (!j)
                return NULL;
        slash = task ? strchr(task, '/') : NULL;
        r = journal_match_runs(j, slash ? strndupa(task, (size_t) (slash - task)) : NULL,
                               slash ? slash + 1 : task, unit);
        /* Matches of one field are alternatives: any of the pipelines. */
        for (size_t k = 0; r >= 0 && !task && !unit && k < w->manager->n_pipelines; k++) {
                _cleanup_free_ char *match = NULL;
                if (asprintf(&match, "SLUICE_PIPELINE=%s", w->manager->pipelines[k]->name) < 0)
                        r = -ENOMEM;
                else
                        r = sd_journal_add_match(j, match, 0);
        }
        if (r >= 0 && !task && !unit && w->manager->n_pipelines == 0) {
                sd_journal_close(j);
                return json_object_new_array();
        }
        if (r >= 0)
                r = sd_journal_seek_tail(j);
        if (r < 0) {
                sd_journal_close(j);
                *ret_error = "cannot read the journal";
                return NULL;
        }
        a = json_object_new_array();
        while (json_object_array_length(a) < limit && sd_journal_previous(j) > 0) {
                json_object *o;
                uint64_t t = 0;

                if (!journal_entry_of_config(j, w->manager->config_dir))
                        continue;
                o = json_object_new_object();

                (void) sd_journal_get_realtime_usec(j, &t);
                json_object_object_add(o, "finished_usec", json_object_new_uint64(t));
                put_string_field(j, o, "pipeline", "SLUICE_PIPELINE");
                put_string_field(j, o, "task", "SLUICE_TASK");
                put_string_field(j, o, "instance", "SLUICE_INSTANCE");
                put_string_field(j, o, "unit", "SLUICE_UNIT");
                put_string_field(j, o, "result", "SLUICE_RESULT");
                put_string_field(j, o, "failure", "SLUICE_FAILURE");
                put_string_field(j, o, "message", "MESSAGE");
                put_number_field(j, o, "duration_usec", "SLUICE_DURATION_USEC");
                put_number_field(j, o, "cpu_usec", "SLUICE_CPU_USEC");
                put_number_field(j, o, "memory_peak", "SLUICE_MEMORY_PEAK");
                put_number_field(j, o, "memory_max", "SLUICE_MEMORY_MAX");
                json_object_array_add(a, o);
        }
        sd_journal_close(j);
        web_history_done(w);
        w->history_key = TAKE_PTR(key);
        w->history = json_object_get(a);
        w->history_at = now;
        w->history_runs = runs;
        return a;
}

typedef struct LogLine {
        uint64_t time;
        size_t seq;             /* journal order among equal times (journald stamps a
                                 * stream's burst of lines with one time) */
        char ident[128];
        uint64_t pid;
        int priority;
        char *message;
} LogLine;

typedef struct LogLines {
        LogLine *l;
        size_t n, allocated;
} LogLines;

/* A window of one run: from its start (less the slack) to its end. */
typedef struct RunWindow {
        uint64_t from, to;
} RunWindow;

static uint64_t number_field(sd_journal *j, const char *name, uint64_t def) {
        char buf[32];

        return journal_field(j, name, buf, sizeof(buf))[0] ? strtoull(buf, NULL, 10) : def;
}

static int add_line(LogLines *ls, sd_journal *j, uint64_t t) {
        char msg[WEB_LOG_LINE_MAX];
        LogLine *x;

        if (ls->n == ls->allocated) {
                size_t n = MAX(ls->allocated * 2, (size_t) 64);
                LogLine *more = reallocarray(ls->l, n, sizeof(LogLine));
                if (!more)
                        return -ENOMEM;
                ls->l = more;
                ls->allocated = n;
        }
        x = &ls->l[ls->n];
        *x = (LogLine){ .time = t, .seq = ls->n, .pid = number_field(j, "_PID", 0),
                        .priority = (int) number_field(j, "PRIORITY", 6) };
        journal_field(j, "SYSLOG_IDENTIFIER", x->ident, sizeof(x->ident));
        x->message = strdup(journal_field(j, "MESSAGE", msg, sizeof(msg)));
        if (!x->message)
                return -ENOMEM;
        ls->n++;
        return 0;
}

static int compare_lines(const void *a, const void *b) {
        const LogLine *x = a, *y = b;

        if (x->time != y->time)
                return x->time < y->time ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * What names the unit, newest first: its own lines, and the daemon's entries on it, whose
 * run-started and run-finished pairs give the windows of its runs, newest first.
 */
static int read_named(sd_journal *j, const char *unit, unsigned long lines, LogLines *ls,
                      RunWindow **ret_windows, size_t *ret_n) {
        RunWindow *windows = NULL;
        size_t n = 0;
        uint64_t end = UINT64_MAX, t = 0, oldest = 0;     /* UINT64_MAX: a run going on */
        bool open = true;
        int r;

        r = journal_match_unit(j, unit, NULL);
        if (r >= 0)
                r = sd_journal_seek_tail(j);
        while (r >= 0 && ls->n < lines && (r = sd_journal_previous(j)) > 0) {
                JournalEntryKind kind = journal_entry_kind(j, unit);

                if (kind == JOURNAL_ENTRY_FOREIGN || kind == JOURNAL_ENTRY_OTHER)
                        continue;
                (void) sd_journal_get_realtime_usec(j, &t);
                oldest = t;
                if (kind == JOURNAL_ENTRY_RUN_FINISHED) {
                        end = t;
                        open = true;
                } else if (kind == JOURNAL_ENTRY_RUN_STARTED && open) {
                        RunWindow *more = reallocarray(windows, n + 1, sizeof(RunWindow));
                        if (!more) {
                                r = -ENOMEM;
                                break;
                        }
                        windows = more;
                        windows[n++] = (RunWindow){ t > JOURNAL_START_SLACK ?
                                                            t - JOURNAL_START_SLACK : 0, end };
                        open = false;
                }
                r = add_line(ls, j, t);
        }
        /* A run that ended, whose start lies further back than was read. */
        if (r >= 0 && open && end != UINT64_MAX) {
                RunWindow *more = reallocarray(windows, n + 1, sizeof(RunWindow));
                if (more) {
                        windows = more;
                        windows[n++] = (RunWindow){ oldest, end };
                }
        }
        /* Read backwards: journal order is the reverse of the reading order. */
        for (size_t k = 0; k < ls->n; k++)
                ls->l[k].seq = ls->n - 1 - k;
        *ret_windows = windows;
        *ret_n = n;
        return r < 0 ? r : 0;
}

/* When the next run of the task (any instance) started after t; UINT64_MAX if none did. */
static uint64_t next_run_start(sd_journal *j, const Task *task, uint64_t t) {
        _cleanup_free_ char *m1 = NULL, *m2 = NULL;
        uint64_t next = UINT64_MAX;

        sd_journal_flush_matches(j);
        if (asprintf(&m1, "SLUICE_PIPELINE=%s", task->pipeline->name) < 0 ||
            asprintf(&m2, "SLUICE_TASK=%s", task->name) < 0)
                return UINT64_MAX;
        if (sd_journal_add_match(j, "MESSAGE_ID=" SLUICE_MESSAGE_RUN_STARTED_STR, 0) < 0 ||
            sd_journal_add_match(j, m1, 0) < 0 || sd_journal_add_match(j, m2, 0) < 0 ||
            sd_journal_seek_realtime_usec(j, t + 1) < 0 || sd_journal_next(j) <= 0 ||
            sd_journal_get_realtime_usec(j, &next) < 0)
                return UINT64_MAX;
        return next;
}

/*
 * The lines of the task's stdout streams that name no unit, within each window, newest
 * first; a window reaches JOURNAL_END_SLACK past its run's end, unless another run of the
 * task started sooner.
 */
static int read_windows(sd_journal *j, const char *unit, const Task *task,
                        const RunWindow *windows, size_t n, unsigned long lines, LogLines *ls) {
        _cleanup_free_ char *match = NULL;
        int r = 0;

        if (asprintf(&match, "SYSLOG_IDENTIFIER=%s.%s", task->pipeline->name, task->name) < 0)
                return -ENOMEM;
        for (size_t k = 0; r >= 0 && k < n && ls->n < 2 * lines; k++) {
                uint64_t t = 0, to = windows[k].to;

                if (to != UINT64_MAX)
                        to = MIN(to + JOURNAL_END_SLACK, next_run_start(j, task, to));
                sd_journal_flush_matches(j);
                r = sd_journal_add_match(j, match, 0);
                if (r >= 0)
                        r = sd_journal_add_match(j, "_TRANSPORT=stdout", 0);
                if (r >= 0)
                        r = sd_journal_seek_realtime_usec(j, windows[k].from);
                while (r >= 0 && (r = sd_journal_next(j)) > 0) {
                        (void) sd_journal_get_realtime_usec(j, &t);
                        if (t > to)
                                break;
                        if (journal_entry_kind(j, unit) == JOURNAL_ENTRY_OTHER)
                                r = add_line(ls, j, t);
                }
        }
        return r < 0 ? r : 0;
}

/*
 * The unit's lines: those that name it, and those of the task's stdout streams that name no
 * unit and lie within one of its runs (journal_match_unit() says why): first what names the
 * unit, which also gives its runs, then each run's window, newest first, through the journal's
 * indexes; so other instances of a busy task cost nothing but the windows they share.
 */
json_object *web_logs(Web *w, struct MHD_Connection *c, unsigned *ret_code,
                      const char **ret_error) {
        const char *unit = web_arg(c, "unit");
        unsigned long lines = count_arg(c, "lines", WEB_LOG_LINES_DEFAULT, WEB_LOG_LINES_MAX);
        _cleanup_free_ RunWindow *windows = NULL;
        LogLines ls = {};
        size_t n_windows = 0;
        json_object *a = NULL;
        sd_journal *j;
        Task *task;
        int r;

        if (!unit || !unit[0]) {
                *ret_code = MHD_HTTP_BAD_REQUEST;
                *ret_error = "give ?unit=UNIT";
                return NULL;
        }
        /* Only task units: the daemon reads the whole journal, its clients may not. */
        task = manager_task_of_unit(w->manager, unit);
        if (!task) {
                *ret_code = MHD_HTTP_NOT_FOUND;
                *ret_error = "not a unit of this daemon's tasks";
                return NULL;
        }
        j = open_journal(ret_error);
        if (!j)
                return NULL;
        r = read_named(j, unit, lines, &ls, &windows, &n_windows);
        if (r >= 0)
                r = read_windows(j, unit, task, windows, n_windows, lines, &ls);
        sd_journal_close(j);
        if (r < 0)
                *ret_error = "cannot read the journal";
        else {
                qsort(ls.l, ls.n, sizeof(LogLine), compare_lines);
                a = json_object_new_array();
                for (size_t k = ls.n > lines ? ls.n - lines : 0; a && k < ls.n; k++) {
                        json_object *o = json_object_new_object();

                        json_object_object_add(o, "time_usec", json_object_new_uint64(ls.l[k].time));
                        json_object_object_add(o, "ident", json_object_new_string(ls.l[k].ident));
                        json_object_object_add(o, "pid", json_object_new_uint64(ls.l[k].pid));
                        json_object_object_add(o, "priority", json_object_new_int(ls.l[k].priority));
                        json_object_object_add(o, "message", json_object_new_string(ls.l[k].message));
                        json_object_array_add(a, o);
                }
        }
        for (size_t k = 0; k < ls.n; k++)
                free(ls.l[k].message);
        free(ls.l);
        return a;
}
