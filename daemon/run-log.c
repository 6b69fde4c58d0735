/* SPDX-License-Identifier: MIT */
/*
 * A failure notice carries the run's last lines, and the daemon learns that a run ended a little
 * before journald may have written them: journald reads a task's stream in chunks and writes a
 * chunk's lines after reading it, milliseconds later when it is busy. The daemon's own entry on
 * the run's end marks the point after which they are all in the journal (run_log_has_end).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "journal-util.h"
#include "log.h"
#include "run-log.h"
#include "util/macro.h"
#include "util/strv.h"

struct RunLog {
        sd_journal *j;
        sd_event_source *io;
        void (*changed)(void *userdata);
        void *userdata;
};

static int on_journal(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        RunLog *l = userdata;

        /* Takes in files journald added (rotation); entries appended to open ones are seen
         * without it. */
        if (sd_journal_process(l->j) != SD_JOURNAL_NOP)
                l->changed(l->userdata);
        return 0;
}

int run_log_open(sd_event *e, void (*changed)(void *userdata), void *userdata, RunLog **ret) {
        _cleanup_(run_log_freep) RunLog *l = calloc(1, sizeof(*l));
        int r, fd;

        if (!l)
                return -ENOMEM;
        l->changed = changed;
        l->userdata = userdata;
        r = sd_journal_open(&l->j, SD_JOURNAL_LOCAL_ONLY);
        if (r >= 0)
                r = fd = sd_journal_get_fd(l->j);
        if (r >= 0)
                r = sd_journal_get_events(l->j);
        if (r >= 0)
                r = sd_event_add_io(e, &l->io, fd, (uint32_t) r, on_journal, l);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

RunLog *run_log_free(RunLog *l) {
        if (!l)
                return NULL;
        sd_event_source_disable_unref(l->io);
        sd_journal_close(l->j);
        free(l);
        return NULL;
}

/* 1 when an entry matches all of matches ("FIELD=value"; one field's values ORed), positioned
 * on the newest such; 0 when none does; -errno. */
static int set_matches(sd_journal *j, char * const *matches) {
        int r = 0;

        sd_journal_flush_matches(j);
        STRV_FOREACH(x, matches)
                if (r >= 0)
                        r = sd_journal_add_match(j, *x, 0);
        return r;
}

static int any_entry(sd_journal *j, char * const *matches) {
        int r = set_matches(j, matches);

        if (r >= 0)
                r = sd_journal_seek_tail(j);
        if (r >= 0)
                r = sd_journal_previous(j);
        return r < 0 ? r : r > 0;
}

int run_log_has_end(RunLog *l, const char *run_id, usec_t *ret_when) {
        _cleanup_free_ char *m = NULL;
        int r;

        if (asprintf(&m, "SLUICE_RUN_ID=%s", run_id) < 0)
                return -ENOMEM;
        r = any_entry(l->j, STRV_MAKE("MESSAGE_ID=" SLUICE_MESSAGE_RUN_FINISHED_STR,
                                      "MESSAGE_ID=" SLUICE_MESSAGE_RUN_START_FAILED_STR, m));
        if (r > 0 && sd_journal_get_realtime_usec(l->j, ret_when) < 0)
                *ret_when = USEC_INFINITY;
        return r;
}

usec_t run_log_next_start(RunLog *l, const char *unit, const char *run_id, usec_t since) {
        _cleanup_free_ char *m = NULL;
        char id[64];
        uint64_t t;

        if (asprintf(&m, "SLUICE_UNIT=%s", unit) < 0)
                return USEC_INFINITY;
        if (set_matches(l->j, STRV_MAKE("MESSAGE_ID=" SLUICE_MESSAGE_RUN_STARTED_STR, m)) < 0 ||
            sd_journal_seek_realtime_usec(l->j, since) < 0)
                return USEC_INFINITY;
        while (sd_journal_next(l->j) > 0)
                if (!streq(journal_field(l->j, "SLUICE_RUN_ID", id, sizeof(id)), run_id) &&
                    sd_journal_get_realtime_usec(l->j, &t) >= 0 && t >= since)
                        return t;
        return USEC_INFINITY;
}

int run_log_sees_pid(RunLog *l, pid_t pid) {
        _cleanup_free_ char *m = NULL, *b = NULL;
        sd_id128_t boot;
        int r;

        /* This boot's: a container's daemon can have the same pid at every boot. */
        r = sd_id128_get_boot(&boot);
        if (r < 0)
                return r;
        if (asprintf(&m, "_PID=%d", (int) pid) < 0 ||
            asprintf(&b, "_BOOT_ID=" SD_ID128_FORMAT_STR, SD_ID128_FORMAT_VAL(boot)) < 0)
                return -ENOMEM;
        return any_entry(l->j, STRV_MAKE(m, b));
}

char *run_log_last_lines(RunLog *l, const char *unit, const char *ident, usec_t since,
                         usec_t until, size_t n) {
        _cleanup_strv_free_ char **lines = NULL;
        char *out = NULL, id[64];
        const void *data;
        size_t len;
        uint64_t t;

        sd_journal_flush_matches(l->j);
        if (journal_match_unit(l->j, unit, ident) < 0 ||
            (until == USEC_INFINITY ? sd_journal_seek_tail(l->j)
                                    : sd_journal_seek_realtime_usec(l->j, until)) < 0)
                return NULL;
        while (strv_length(lines) < n && sd_journal_previous(l->j) > 0) {
                if (sd_journal_get_realtime_usec(l->j, &t) >= 0 && t < since)
                        break;
                /* The task's lines: not another unit's, nor the daemon's entries on the run. */
                JournalEntryKind kind = journal_entry_kind(l->j, unit);
                if ((kind != JOURNAL_ENTRY_UNIT && kind != JOURNAL_ENTRY_OTHER) ||
                    streq(journal_field(l->j, "MESSAGE_ID", id, sizeof(id)),
                          SLUICE_MESSAGE_RUN_START_FAILED_STR))
                        continue;
                if (sd_journal_get_data(l->j, "MESSAGE", &data, &len) >= 0 && len > 8)
                        (void) strv_extendf(&lines, "%.*s", (int) (len - 8),
                                            (const char *) data + 8);
        }
        /* Read newest first: put them back in order. */
        for (size_t a = 0, b = strv_length(lines); b > 1 && a < --b; a++) {
                char *x = lines[a];
                lines[a] = lines[b];
                lines[b] = x;
        }
        (void) strv_join(lines, "\n", &out);
        return out;
}
