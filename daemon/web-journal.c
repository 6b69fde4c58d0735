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

/* Of this daemon's pipelines only, or of one task, or of one unit: other daemons on the host
 * write run records too. */
json_object *web_history(Web *w, struct MHD_Connection *c, const char **ret_error) {
        const char *task = web_arg(c, "task"), *unit = web_arg(c, "unit"), *slash;
        unsigned long limit = count_arg(c, "limit", WEB_HISTORY_DEFAULT, WEB_HISTORY_MAX);
        sd_journal *j = open_journal(ret_error);
        json_object *a;
        int r;

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
                json_object *o = json_object_new_object();
                uint64_t t = 0;

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
        return a;
}

typedef struct LogLine {
        uint64_t time;
        char ident[128];
        uint64_t pid;
        int priority;
        char *message;
        JournalEntryKind kind;
        bool keep;
} LogLine;

static uint64_t number_field(sd_journal *j, const char *name, uint64_t def) {
        char buf[32];

        return journal_field(j, name, buf, sizeof(buf))[0] ? strtoull(buf, NULL, 10) : def;
}

/*
 * The unit's lines: those that name it, and those under the task's syslog identifier that
 * name no unit and lie within one of its runs (journal_match_unit() says why). Read backwards
 * from the end, then sorted out oldest first; lines before the first run boundary read belong
 * to the unit if that boundary is the end of a run.
 */
json_object *web_logs(Web *w, struct MHD_Connection *c, unsigned *ret_code,
                      const char **ret_error) {
        const char *unit = web_arg(c, "unit");
        unsigned long lines = count_arg(c, "lines", WEB_LOG_LINES_DEFAULT, WEB_LOG_LINES_MAX);
        _cleanup_free_ char *ident = NULL;
        LogLine *l = NULL;
        Task *task;
        size_t n = 0, kept = 0, scanned = 0;
        int inside = -1;        /* not known yet */
        sd_journal *j;
        json_object *a;
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
        if (asprintf(&ident, "%s.%s", task->pipeline->name, task->name) < 0) {
                *ret_error = "out of memory";
                return NULL;
        }
        j = open_journal(ret_error);
        if (!j)
                return NULL;
        r = journal_match_unit(j, unit, ident);
        if (r >= 0)
                r = sd_journal_seek_tail(j);
        if (r < 0) {
                sd_journal_close(j);
                *ret_error = "cannot read the journal";
                return NULL;
        }
        /* Far enough back for the lines asked for, and then some for other instances'. */
        while (scanned++ < lines * 10 && sd_journal_previous(j) > 0) {
                char msg[WEB_LOG_LINE_MAX];

                if (n % 64 == 0) {
                        LogLine *more = reallocarray(l, n + 64, sizeof(LogLine));
                        if (!more)
                                break;
                        l = more;
                }
                l[n] = (LogLine){ .pid = number_field(j, "_PID", 0),
                                  .priority = (int) number_field(j, "PRIORITY", 6),
                                  .kind = journal_entry_kind(j, unit) };
                if (l[n].kind == JOURNAL_ENTRY_FOREIGN)
                        continue;
                (void) sd_journal_get_realtime_usec(j, &l[n].time);
                journal_field(j, "SYSLOG_IDENTIFIER", l[n].ident, sizeof(l[n].ident));
                l[n].message = strdup(journal_field(j, "MESSAGE", msg, sizeof(msg)));
                if (l[n++].kind != JOURNAL_ENTRY_OTHER && ++kept >= lines)
                        break;
        }
        sd_journal_close(j);
        for (size_t k = n; k-- > 0;) {
                switch (l[k].kind) {
                case JOURNAL_ENTRY_RUN_STARTED:
                        for (size_t p = k + 1; p < n && l[p].time + JOURNAL_START_SLACK >= l[k].time;
                             p++)
                                if (l[p].kind == JOURNAL_ENTRY_OTHER)
                                        l[p].keep = true;
                        inside = 1;
                        break;
                case JOURNAL_ENTRY_RUN_FINISHED:
                        /* Read from within a run: what came before was its. */
                        for (size_t p = k + 1; inside < 0 && p < n; p++)
                                l[p].keep = true;
                        inside = 0;
                        break;
                case JOURNAL_ENTRY_OTHER:
                        l[k].keep = inside > 0;
                        continue;
                default:
                        break;
                }
                l[k].keep = true;
        }
        a = json_object_new_array();
        kept = 0;
        for (size_t k = 0; k < n; k++)
                kept += l[k].keep;
        for (size_t k = n; k-- > 0;) {
                json_object *o;

                if (!l[k].keep || kept-- > lines)
                        continue;
                o = json_object_new_object();
                json_object_object_add(o, "time_usec", json_object_new_uint64(l[k].time));
                json_object_object_add(o, "ident", json_object_new_string(l[k].ident));
                json_object_object_add(o, "pid", json_object_new_uint64(l[k].pid));
                json_object_object_add(o, "priority", json_object_new_int(l[k].priority));
                json_object_object_add(o, "message", json_object_new_string(strempty(l[k].message)));
                json_object_array_add(a, o);
        }
        for (size_t k = 0; k < n; k++)
                free(l[k].message);
        free(l);
        return a;
}
