/* SPDX-License-Identifier: MIT */
/*
 * The state directory. Everything here is small and only ever a hint for what the targets
 * cannot say: which runs may still be out there, how many attempts an instance has had. Losing
 * it never makes completed work run again, since completion is read from the targets.
 *
 *   runs/RUN_ID.run     written before a unit starts, removed when its end is accounted for
 *   runs/RUN_ID.result  written by the unit's ExecStopPost=, read if the daemon missed the end
 *   instances           failed and retrying instances with their attempt counts
 *
 * Files are replaced with rename(2), so a reader sees the old or the new version, never a torn
 * one. They are not fsync'ed: they guard against the daemon being killed, not the machine.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "util/escape.h"
#include "util/fs-util.h"
#include "util/strv.h"

#define STATE_MAX_FILE (4 << 20)

void run_record_done(RunRecord *r) {
        free(r->run_id);
        free(r->unit);
        free(r->pipeline);
        free(r->task);
        free(r->instance);
        strv_free(r->outputs);
        strv_free(r->staged);
}

void run_result_done(RunResult *r) {
        free(r->service_result);
        free(r->exit_code);
        free(r->exit_status);
}

void instance_mark_done(InstanceMark *m) {
        free(m->pipeline);
        free(m->task);
        free(m->instance);
        free(m->reason);
}

int state_setup(const char *dir, int *ret_lock_fd) {
        _cleanup_free_ char *runs = NULL, *lock = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = path_join(dir, "runs", &runs);
        if (r < 0)
                return r;
        r = mkdir_p(runs, 0700);
        if (r < 0)
                return r;
        /* One daemon per state directory: a second would take the first one's runs for
         * leftovers. The lock lives as long as the descriptor. */
        r = path_join(dir, "lock", &lock);
        if (r < 0)
                return r;
        fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;
        *ret_lock_fd = TAKE_FD(fd);
        return 0;
}

/* Written without fsync, see above: write, then rename over. */
static int replace_file(const char *path, const char *data, size_t n) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (asprintf(&tmp, "%s.new", path) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        for (size_t done = 0; done < n;) {
                ssize_t k = write(fd, data + done, n - done);
                if (k < 0) {
                        int r = -errno;
                        (void) unlink(tmp);
                        return r;
                }
                done += (size_t) k;
        }
        if (rename(tmp, path) < 0) {
                int r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

static int run_path(const char *dir, const char *run_id, const char *suffix, char **ret) {
        return asprintf(ret, "%s/runs/%s%s", dir, run_id, suffix) < 0 ? -ENOMEM : 0;
}

/* key=value lines, values escaped; in a memstream. */
static void put(FILE *f, const char *key, const char *value) {
        _cleanup_free_ char *e = field_escape(value);

        fprintf(f, "%s=%s\n", key, strempty(e));
}

int state_write_run(const char *dir, const RunRecord *r) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        size_t len = 0;
        FILE *f;
        int k;

        k = run_path(dir, r->run_id, ".run", &path);
        if (k < 0)
                return k;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        put(f, "unit", r->unit);
        put(f, "pipeline", r->pipeline);
        put(f, "task", r->task);
        put(f, "instance", r->instance);
        fprintf(f, "attempt=%u\n", r->attempt);
        fprintf(f, "memory_max=%llu\n", (unsigned long long) r->memory_max);
        for (size_t i = 0; r->outputs && r->outputs[i]; i++) {
                _cleanup_free_ char *a = field_escape(r->outputs[i]),
                                    *b = field_escape(r->staged[i]);
                fprintf(f, "output=%s\t%s\n", strempty(a), strempty(b));
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        return replace_file(path, buf, len);
}

int state_remove_run(const char *dir, const char *run_id) {
        _cleanup_free_ char *path = NULL, *result = NULL;

        if (run_path(dir, run_id, ".run", &path) < 0 || run_path(dir, run_id, ".result", &result) < 0)
                return -ENOMEM;
        (void) unlink(result);
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* Calls f(key, value) for each "key=value" line, the value unescaped. */
static int parse_lines(char *text, int (*f)(const char *key, char *value, void *userdata),
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

static int set_field(char **field, const char *value) {
        free(*field);
        return field_unescape(value, field);
}

static int run_field(const char *key, char *value, void *userdata) {
        RunRecord *r = userdata;

        if (streq(key, "unit"))
                return set_field(&r->unit, value);
        if (streq(key, "pipeline"))
                return set_field(&r->pipeline, value);
        if (streq(key, "task"))
                return set_field(&r->task, value);
        if (streq(key, "instance"))
                return set_field(&r->instance, value);
        if (streq(key, "attempt"))
                return (r->attempt = (unsigned) strtoul(value, NULL, 10)), 0;
        if (streq(key, "memory_max"))
                return (r->memory_max = strtoull(value, NULL, 10)), 0;
        if (streq(key, "output")) {
                char *tab = strchr(value, '\t');
                char *a = NULL, *b = NULL;

                if (!tab)
                        return -EBADMSG;
                *tab = 0;
                if (field_unescape(value, &a) < 0 || field_unescape(tab + 1, &b) < 0) {
                        free(a);
                        return -EBADMSG;
                }
                if (strv_consume(&r->outputs, a) < 0 || strv_consume(&r->staged, b) < 0)
                        return -ENOMEM;
                return 0;
        }
        return 0;       /* a key from a newer version: ignored */
}

void run_records_free(RunRecord **l) {
        for (RunRecord **r = l; r && *r; r++) {
                run_record_done(*r);
                free(*r);
        }
        free(l);
}

int state_read_runs(const char *dir, RunRecord ***ret) {
        _cleanup_free_ char *runs = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        RunRecord **list = NULL;
        size_t n = 0;
        struct dirent *de;

        if (path_join(dir, "runs", &runs) < 0)
                return -ENOMEM;
        d = opendir(runs);
        if (!d) {
                *ret = calloc(1, sizeof(RunRecord *));
                return errno == ENOENT ? (*ret ? 0 : -ENOMEM) : -errno;
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                size_t l = strlen(de->d_name);
                RunRecord *r, **m;

                /* Half-written by a daemon killed between write and rename: never valid. Only
                 * records: a unit's ExecStopPost= may be writing its .result.new right now. */
                if (l > 8 && streq(de->d_name + l - 8, ".run.new")) {
                        (void) unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                if (l <= 4 || !streq(de->d_name + l - 4, ".run"))
                        continue;
                if (path_join(runs, de->d_name, &path) < 0 ||
                    read_file(path, STATE_MAX_FILE, &text, NULL) < 0)
                        continue;
                r = calloc(1, sizeof(RunRecord));
                if (!r)
                        break;
                r->memory_max = UINT64_MAX;
                r->run_id = strndup(de->d_name, l - 4);
                if (!r->run_id || parse_lines(text, run_field, r) < 0 || !r->unit || !r->task ||
                    !r->pipeline || !r->instance ||
                    strv_length(r->outputs) != strv_length(r->staged) ||
                    !(m = reallocarray(list, n + 2, sizeof(RunRecord *)))) {
                        run_record_done(r);
                        free(r);
                        continue;
                }
                list = m;
                list[n++] = r;
                list[n] = NULL;
        }
        if (!list)
                list = calloc(1, sizeof(RunRecord *));
        *ret = list;
        return list ? 0 : -ENOMEM;
}

int state_record_result(const char *dir, const char *run_id) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        r = run_path(dir, run_id, ".result", &path);
        if (r < 0)
                return r;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        put(f, "service_result", strempty(getenv("SERVICE_RESULT")));
        put(f, "exit_code", strempty(getenv("EXIT_CODE")));
        put(f, "exit_status", strempty(getenv("EXIT_STATUS")));
        if (fclose(f) != 0)
                return -ENOMEM;
        return replace_file(path, buf, len);
}

bool state_has_result(const char *dir, const char *run_id) {
        _cleanup_free_ char *path = NULL;

        return run_path(dir, run_id, ".result", &path) >= 0 && access(path, F_OK) == 0;
}

static int result_field(const char *key, char *value, void *userdata) {
        RunResult *r = userdata;

        if (streq(key, "service_result"))
                return set_field(&r->service_result, value);
        if (streq(key, "exit_code"))
                return set_field(&r->exit_code, value);
        if (streq(key, "exit_status"))
                return set_field(&r->exit_status, value);
        return 0;
}

int state_read_result(const char *dir, const char *run_id, RunResult *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        RunResult r = {};
        int k;

        k = run_path(dir, run_id, ".result", &path);
        if (k < 0)
                return k;
        k = read_file(path, STATE_MAX_FILE, &text, NULL);
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k;
        k = parse_lines(text, result_field, &r);
        if (k < 0 || !r.service_result) {
                run_result_done(&r);
                return k < 0 ? k : -EBADMSG;
        }
        *ret = r;
        return 1;
}

int state_write_marks(const char *dir, InstanceMark * const *marks, size_t n) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        size_t len = 0;
        FILE *f;

        if (path_join(dir, "instances", &path) < 0)
                return -ENOMEM;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const InstanceMark *m = marks[i];
                _cleanup_free_ char *p = field_escape(m->pipeline), *t = field_escape(m->task),
                                    *id = field_escape(m->instance),
                                    *why = field_escape(strempty(m->reason));

                fprintf(f, "mark=%s\t%s\t%s\t%s\t%u\t%llu\t%llu\t%s\n", strempty(p), strempty(t),
                        strempty(id), m->failed ? "failed" : "retry", m->attempts,
                        (unsigned long long) m->wake_realtime,
                        (unsigned long long) m->memory_max, strempty(why));
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        return replace_file(path, buf, len);
}

void instance_marks_free(InstanceMark **l, size_t n) {
        for (size_t i = 0; i < n; i++) {
                instance_mark_done(l[i]);
                free(l[i]);
        }
        free(l);
}

typedef struct MarkList {
        InstanceMark **l;
        size_t n;
} MarkList;

static int mark_field(const char *key, char *value, void *userdata) {
        MarkList *ml = userdata;
        char *f[8] = {}, *save = NULL;
        InstanceMark *m, **n;
        size_t k = 0;

        if (!streq(key, "mark"))
                return 0;
        for (char *p = strtok_r(value, "\t", &save); p && k < 8; p = strtok_r(NULL, "\t", &save))
                f[k++] = p;
        if (k < 7)
                return 0;       /* damaged: forgotten, which only costs a retry count */
        m = calloc(1, sizeof(InstanceMark));
        if (!m)
                return -ENOMEM;
        if (field_unescape(f[0], &m->pipeline) < 0 || field_unescape(f[1], &m->task) < 0 ||
            field_unescape(f[2], &m->instance) < 0 ||
            (f[7] && field_unescape(f[7], &m->reason) < 0) ||
            !(n = reallocarray(ml->l, ml->n + 1, sizeof(InstanceMark *)))) {
                instance_mark_done(m);
                free(m);
                return 0;
        }
        m->failed = streq(f[3], "failed");
        m->attempts = (unsigned) strtoul(f[4], NULL, 10);
        m->wake_realtime = strtoull(f[5], NULL, 10);
        m->memory_max = strtoull(f[6], NULL, 10);
        ml->l = n;
        ml->l[ml->n++] = m;
        return 0;
}

int state_read_marks(const char *dir, InstanceMark ***ret, size_t *ret_n) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        MarkList ml = {};
        int r;

        if (path_join(dir, "instances", &path) < 0)
                return -ENOMEM;
        r = read_file(path, STATE_MAX_FILE * 16, &text, NULL);
        if (r == -ENOENT) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (r < 0)
                return r;
        r = parse_lines(text, mark_field, &ml);
        if (r < 0) {
                instance_marks_free(ml.l, ml.n);
                return r;
        }
        *ret = ml.l;
        *ret_n = ml.n;
        return 0;
}
