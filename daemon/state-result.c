/* SPDX-License-Identifier: MIT */
/*
 * A run's result file, runs/RUN_ID.result: written in the unit by sluice-result, which links
 * this file alone of the state directory's code, and read by the daemon if it missed the end.
 * key=value lines, values escaped, replaced with rename(2) and not fsync'ed (state.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state-internal.h"
#include "util/escape.h"
#include "util/fs-util.h"

int state_replace_file(const char *path, const char *data, size_t n) {
        return write_file_replace(path, data, n, 0600, false);
}

int state_run_path(const char *dir, const char *run_id, const char *suffix, char **ret) {
        return asprintf(ret, "%s/runs/%s%s", dir, run_id, suffix) < 0 ? -ENOMEM : 0;
}

/* key=value lines, values escaped; in a memstream. */
static void put(FILE *f, const char *key, const char *value) {
        _cleanup_free_ char *e = field_escape(value);

        fprintf(f, "%s=%s\n", key, strempty(e));
}

int state_parse_lines(char *text, int (*f)(const char *key, char *value, void *userdata),
                      void *userdata) {
        char *save = NULL;

        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');
                int r;

                if (!eq)
                        return -EBADMSG;
                *eq = 0;
                r = f(line, eq + 1, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

int state_set_field(char **field, const char *value) {
        free(*field);
        return field_unescape(value, field);
}

void run_result_done(RunResult *r) {
        free(r->service_result);
        free(r->exit_code);
        free(r->exit_status);
}

int state_record_result(const char *dir, const char *run_id, const char *service_result,
                        const char *exit_code, const char *exit_status, uint64_t cpu_usec,
                        uint64_t rss_peak, bool journal_behind) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        r = state_run_path(dir, run_id, ".result", &path);
        if (r < 0)
                return r;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        put(f, "service_result", strempty(service_result));
        put(f, "exit_code", strempty(exit_code));
        put(f, "exit_status", strempty(exit_status));
        fprintf(f, "realtime=%llu\n", (unsigned long long) now_usec(CLOCK_REALTIME));
        if (cpu_usec != UINT64_MAX)
                fprintf(f, "cpu_usec=%llu\n", (unsigned long long) cpu_usec);
        if (rss_peak != UINT64_MAX)
                fprintf(f, "rss_peak=%llu\n", (unsigned long long) rss_peak);
        if (journal_behind)
                fputs("journal_behind=1\n", f);
        if (fclose(f) != 0)
                return -ENOMEM;
        r = state_replace_file(path, buf, len);
        if (r != -ENOSPC && r != -EDQUOT)
                return r;
        /* The file system is full, and the run's work may be done: the daemon's reserve is
         * given up for its end, which says so, and the daemon makes the reserve again. */
        _cleanup_free_ char *reserve = NULL, *marked = NULL;
        if (path_join(dir, STATE_RESERVE_NAME, &reserve) < 0 ||
            asprintf(&marked, "%.*sreserve_used=1\n", (int) len, buf) < 0)
                return -ENOMEM;
        if (truncate(reserve, 0) < 0)
                return r;
        return state_replace_file(path, marked, strlen(marked));
}

bool state_has_result(const char *dir, const char *run_id) {
        _cleanup_free_ char *path = NULL;

        return state_run_path(dir, run_id, ".result", &path) >= 0 && access(path, F_OK) == 0;
}

static int result_field(const char *key, char *value, void *userdata) {
        RunResult *r = userdata;

        if (streq(key, "service_result"))
                return state_set_field(&r->service_result, value);
        if (streq(key, "exit_code"))
                return state_set_field(&r->exit_code, value);
        if (streq(key, "exit_status"))
                return state_set_field(&r->exit_status, value);
        if (streq(key, "realtime"))
                r->realtime = strtoull(value, NULL, 10);
        if (streq(key, "cpu_usec"))
                r->cpu_usec = strtoull(value, NULL, 10);
        if (streq(key, "rss_peak"))
                r->rss_peak = strtoull(value, NULL, 10);
        if (streq(key, "journal_behind"))
                r->journal_behind = streq(value, "1");
        if (streq(key, "reserve_used"))
                r->reserve_used = streq(value, "1");
        return 0;
}

int state_read_result(const char *dir, const char *run_id, RunResult *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        RunResult r = { .cpu_usec = UINT64_MAX, .rss_peak = UINT64_MAX };
        int k;

        k = state_run_path(dir, run_id, ".result", &path);
        if (k < 0)
                return k;
        k = read_file(path, STATE_MAX_FILE, &text, NULL);
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k;
        k = state_parse_lines(text, result_field, &r);
        if (k < 0 || !r.service_result) {
                run_result_done(&r);
                return k < 0 ? k : -EBADMSG;
        }
        *ret = r;
        return 1;
}

