/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int journal_match_unit(sd_journal *j, const char *unit) {
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
        return r;
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
