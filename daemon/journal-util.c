/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "journal-util.h"
#include "log.h"
#include "util/macro.h"

const char *journal_field(sd_journal *j, const char *name, char *buf, size_t n) {
        size_t len = strlen(name);
        const void *data;
        size_t size;

        buf[0] = 0;
        if (sd_journal_get_data(j, name, &data, &size) >= 0 && size > len &&
            ((const char *) data)[len] == '=')
                snprintf(buf, n, "%.*s", (int) (size - len - 1), (const char *) data + len + 1);
        return buf;
}

static int add_match(sd_journal *j, const char *field, const char *value) {
        _cleanup_free_ char *m = NULL;

        if (asprintf(&m, "%s=%s", field, value) < 0)
                return -ENOMEM;
        return sd_journal_add_match(j, m, 0);
}

int journal_match_unit(sd_journal *j, const char *unit, const char *ident) {
        int r;

        /* systemd tags a system unit's lines with _SYSTEMD_UNIT, a user unit's with
         * _SYSTEMD_USER_UNIT; the daemon's own entries carry SLUICE_UNIT. */
        r = add_match(j, "_SYSTEMD_UNIT", unit);
        if (r >= 0)
                r = sd_journal_add_disjunction(j);
        if (r >= 0)
                r = add_match(j, "_SYSTEMD_USER_UNIT", unit);
        if (r >= 0)
                r = sd_journal_add_disjunction(j);
        if (r >= 0)
                r = add_match(j, "SLUICE_UNIT", unit);
        if (r >= 0 && ident) {
                r = sd_journal_add_disjunction(j);
                if (r >= 0)
                        r = add_match(j, "SYSLOG_IDENTIFIER", ident);
        }
        return r;
}

JournalEntryKind journal_entry_kind(sd_journal *j, const char *unit) {
        static const char * const fields[] = { "SLUICE_UNIT", "_SYSTEMD_UNIT",
                                                "_SYSTEMD_USER_UNIT" };
        bool named = false;
        char buf[512];

        for (size_t k = 0; k < ELEMENTSOF(fields); k++) {
                if (!journal_field(j, fields[k], buf, sizeof(buf))[0])
                        continue;
                if (!streq(buf, unit)) {
                        /* A user unit's lines carry its manager's _SYSTEMD_UNIT too
                         * (user@0.service): only another task unit makes a line foreign. */
                        if (!streq(fields[k], "_SYSTEMD_UNIT") || strneq(buf, "sluice-", 7))
                                return JOURNAL_ENTRY_FOREIGN;
                        continue;
                }
                named = true;
        }
        /* A task's output comes in through a stdout stream: lines sent under its identifier
         * by syslog or the journal API (logger -t) are not its. A local user can still open a
         * stream under that identifier (systemd-cat -t) during a run; only the fields journald
         * adds for a live unit, or SLUICE_UNIT on a system manager, are beyond forging. */
        if (!named)
                return streq(journal_field(j, "_TRANSPORT", buf, sizeof(buf)), "stdout")
                               ? JOURNAL_ENTRY_OTHER
                               : JOURNAL_ENTRY_FOREIGN;
        journal_field(j, "MESSAGE_ID", buf, sizeof(buf));
        if (streq(buf, SLUICE_MESSAGE_RUN_STARTED_STR))
                return JOURNAL_ENTRY_RUN_STARTED;
        if (streq(buf, SLUICE_MESSAGE_RUN_FINISHED_STR))
                return JOURNAL_ENTRY_RUN_FINISHED;
        return JOURNAL_ENTRY_UNIT;
}

int journal_match_runs(sd_journal *j, const char *pipeline, const char *task, const char *unit) {
        int r = sd_journal_add_match(j, "MESSAGE_ID=" SLUICE_MESSAGE_RUN_FINISHED_STR, 0);

        if (r >= 0 && unit)
                return add_match(j, "SLUICE_UNIT", unit);
        if (r >= 0 && pipeline)
                r = add_match(j, "SLUICE_PIPELINE", pipeline);
        if (r >= 0 && task)
                r = add_match(j, "SLUICE_TASK", task);
        return r;
}

bool journal_entry_of_config(sd_journal *j, const char *config_dir) {
        char dir[PATH_MAX];
        struct stat a, b;

        journal_field(j, "SLUICE_CONFIG_DIRECTORY", dir, sizeof(dir));
        if (!dir[0] || !config_dir || streq(dir, config_dir))
                return true;
        return stat(dir, &a) == 0 && stat(config_dir, &b) == 0 && a.st_dev == b.st_dev &&
               a.st_ino == b.st_ino;
}
