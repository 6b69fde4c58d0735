/* SPDX-License-Identifier: MIT */
/*
 * The state directory. Everything here is small and only ever a hint for what the targets
 * cannot say: which runs may still be out there, how many attempts an instance has had. Losing
 * it never makes completed work run again, since completion is read from the targets.
 *
 *   runs.log            a line appended before a unit starts, and one when its end is
 *                       accounted for; rewritten with the open runs at start-up and whenever
 *                       it has grown well past them (a daemon that always has a run open
 *                       would otherwise grow it without bound), emptied whenever none is open
 *   runs/RUN_ID.result  written in the unit by sluice-result, read if the daemon missed the end
 *   instances           failed and retrying instances with their attempt counts
 *   lock                one daemon per directory
 *
 * An append is one write(2) of a whole line, so a daemon killed mid-way leaves the line whole
 * or not at all (a partial last line is skipped, and one cut short by a full disk is cut off
 * again); other files are replaced with rename(2).
 * Nothing is fsync'ed: this guards against the daemon being killed, not the machine.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state-internal.h"
#include "util/escape.h"
#include "util/fs-util.h"
#include "util/hash.h"
#include "util/strv.h"

/* runs.log is rewritten with the open runs once it is this long and four times their size. */
#define RUNS_LOG_COMPACT (1 << 20)

/* A run whose start is in runs.log and whose end is not: its line, to write it again when the
 * log is compacted. */
struct OpenRun {
        char *id;
        char *line;
        size_t len;
        UT_hash_handle hh;
};

static void open_run_free(StateDir *s, OpenRun *o) {
        HASH_DEL(s->open, o);
        s->open_runs--;
        s->open_bytes -= o->len;
        free(o->id);
        free(o->line);
        free(o);
}

/* Takes line. */
static int open_run_add(StateDir *s, const char *id, char *line, size_t len) {
        OpenRun *o;

        HASH_FIND_STR(s->open, id, o);
        if (o)
                open_run_free(s, o);
        o = calloc(1, sizeof(OpenRun));
        if (!o || !(o->id = strdup(id))) {
                free(o);
                free(line);
                return -ENOMEM;
        }
        o->line = line;
        o->len = len;
        HASH_ADD_KEYPTR(hh, s->open, o->id, strlen(o->id), o);
        s->open_runs++;
        s->open_bytes += len;
        return 0;
}

void run_record_done(RunRecord *r) {
        free(r->run_id);
        free(r->unit);
        free(r->pipeline);
        free(r->task);
        free(r->instance);
        strv_free(r->outputs);
        strv_free(r->staged);
}

void instance_mark_done(InstanceMark *m) {
        if (!m)
                return;
        free(m->pipeline);
        free(m->task);
        free(m->instance);
        free(m->reason);
}

StateDir *state_close(StateDir *s) {
        if (!s)
                return NULL;
        while (s->open)
                open_run_free(s, s->open);
        safe_close(s->log_fd);
        safe_close(s->lock_fd);
        free(s->path);
        free(s);
        return NULL;
}

/* A writer killed between writing and renaming leaves NAME.newPID (write_file_replace); under
 * the lock, no other daemon writes here. runs/ is sluice-result's too, and left alone. */
static void remove_stale_temporaries(const char *path) {
        _cleanup_(closedirp) DIR *d = opendir(path);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                const char *p = strstr(de->d_name, ".new");
                if (p && p[4] && strspn(p + 4, "0123456789") == strlen(p + 4))
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        }
}

/* Not zeros: a compressing file system (ZFS, btrfs) stores those as nothing. */
static int write_filler(int fd, off_t size) {
        static char block[65536];

        for (size_t k = 0; k < sizeof(block); k++)
                block[k] = (char) (k * 2654435761u >> 13);
        for (off_t at = 0; at < size; at += sizeof(block)) {
                ssize_t k = pwrite(fd, block, sizeof(block), at);

                if (k < 0)
                        return -errno;
                if (k != (ssize_t) sizeof(block))
                        return -ENOSPC;
        }
        return 0;
}

int state_reserve(StateDir *s) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r = 0;

        s->reserve_missing = true;
        s->reserve_full = false;
        if (path_join(s->path, STATE_RESERVE_NAME, &path) < 0)
                return -ENOMEM;
        fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 || fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size >= STATE_RESERVE_SIZE && (uint64_t) st.st_blocks * 512 >= STATE_RESERVE_SIZE) {
                s->reserve_missing = false;
                return 0;
        }
        /* Written out where the file system cannot allocate without writing. */
        if (fallocate(fd, 0, 0, STATE_RESERVE_SIZE) < 0)
                r = errno == EOPNOTSUPP || errno == ENOSYS ? write_filler(fd, STATE_RESERVE_SIZE)
                                                           : -errno;
        /* Allocated, not only promised: a file system that makes it sparse holds nothing. */
        if (r >= 0 && (fstat(fd, &st) < 0 || (uint64_t) st.st_blocks * 512 < STATE_RESERVE_SIZE))
                r = -EOPNOTSUPP;
        if (r < 0) {
                /* Half a reserve would be taken for a whole one. */
                (void) ftruncate(fd, 0);
                s->reserve_full = r == -ENOSPC || r == -EDQUOT;
                return r;
        }
        s->reserve_missing = false;
        return 0;
}

int state_open(const char *path, StateDir **ret) {
        _cleanup_(state_closep) StateDir *s = NULL;
        _cleanup_free_ char *runs = NULL, *lock = NULL, *log = NULL;
        int r;

        s = calloc(1, sizeof(StateDir));
        if (!s)
                return -ENOMEM;
        s->lock_fd = s->log_fd = -EBADF;
        s->path = strdup(path);
        if (!s->path || path_join(path, "runs", &runs) < 0 || path_join(path, "lock", &lock) < 0 ||
            path_join(path, "runs.log", &log) < 0)
                return -ENOMEM;
        r = mkdir_p(runs, 0700);
        if (r < 0)
                return r;
        /* One daemon per state directory: a second would take the first one's runs for
         * leftovers. The lock lives as long as the descriptor. */
        s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (s->lock_fd < 0)
                return -errno;
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;
        s->log_fd = open(log, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (s->log_fd < 0)
                return -errno;
        s->log_size = (size_t) MAX(lseek(s->log_fd, 0, SEEK_END), (off_t) 0);
        remove_stale_temporaries(s->path);
        *ret = TAKE_PTR(s);
        return 0;
}

static void put_value(FILE *f, const char *value) {
        _cleanup_free_ char *e = field_escape(value);

        fputs(strempty(e), f);
}

/* One line: "start\tRUN_ID\tkey=value\t...", values escaped (no tab, no newline inside). */
static int format_run(const RunRecord *r, char **ret, size_t *ret_len) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return -ENOMEM;
        fprintf(f, "start\t%s", r->run_id);
        fputs("\tunit=", f);
        put_value(f, r->unit);
        fputs("\tpipeline=", f);
        put_value(f, r->pipeline);
        fputs("\ttask=", f);
        put_value(f, r->task);
        fputs("\tinstance=", f);
        put_value(f, r->instance);
        fprintf(f, "\tattempt=%u\tmemory_max=%llu\tstart_realtime=%llu", r->attempt,
                (unsigned long long) r->memory_max, (unsigned long long) r->start_realtime);
        if (r->cancelled)
                fputs("\tcancelled=1", f);
        /* So that a record cut short after a whole output is not read as one with fewer. */
        fprintf(f, "\toutputs=%zu", strv_length(r->outputs));
        for (size_t i = 0; r->outputs && r->outputs[i]; i++) {
                fputs("\toutput=", f);
                put_value(f, r->outputs[i]);
                fputs("\tstaged=", f);
                put_value(f, r->staged[i]);
        }
        fputc('\n', f);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

/* A write cut short (a full disk) is cut off again: the next line must not be glued to it. */
static int append(StateDir *s, const char *line, size_t len) {
        ssize_t k = write(s->log_fd, line, len);

        if (k >= 0 && (size_t) k == len) {
                s->log_size += len;
                return 0;
        }
        if (k > 0)
                (void) ftruncate(s->log_fd, (off_t) s->log_size);
        return k < 0 ? -errno : -ENOSPC;
}

int state_write_run(StateDir *s, const RunRecord *r) {
        _cleanup_free_ char *line = NULL;
        size_t len;
        int k;

        k = format_run(r, &line, &len);
        if (k < 0)
                return k;
        k = append(s, line, len);
        if (k < 0)
                return k;
        return open_run_add(s, r->run_id, TAKE_PTR(line), len);
}

/* Opens path afresh as the log (the descriptor still points at the file it replaced). */
static int reopen_log(StateDir *s, const char *path) {
        int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        safe_close(s->log_fd);
        s->log_fd = fd;
        s->log_size = (size_t) MAX(lseek(fd, 0, SEEK_END), (off_t) 0);
        return 0;
}

/* Replaces runs.log with the lines of the open runs. */
static int rewrite_log(StateDir *s) {
        _cleanup_free_ char *log = NULL, *buf = NULL;
        size_t len = 0;
        OpenRun *o, *tmp;
        FILE *f;

        if (path_join(s->path, "runs.log", &log) < 0)
                return -ENOMEM;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        HASH_ITER(hh, s->open, o, tmp)
                fwrite(o->line, 1, o->len, f);
        if (fclose(f) != 0)
                return -ENOMEM;
        if (state_replace_file(log, buf ?: "", len) < 0)
                return -EIO;
        return reopen_log(s, log);
}

int state_cancel_run(StateDir *s, const char *run_id) {
        _cleanup_free_ char *line = NULL;
        OpenRun *o;
        char *marked;
        int k;

        HASH_FIND_STR(s->open, run_id, o);
        if (!o)
                return -ENOENT;
        if (asprintf(&line, "cancel\t%s\n", run_id) < 0 ||
            asprintf(&marked, "%.*s\tcancelled=1\n", (int) (o->len - 1), o->line) < 0)
                return -ENOMEM;
        k = append(s, line, strlen(line));
        if (k < 0) {
                free(marked);
                return k;
        }
        /* Kept so in the open run's line too, which a compaction writes out again. */
        s->open_bytes += strlen(marked) - o->len;
        free(o->line);
        o->line = marked;
        o->len = strlen(marked);
        return fsync(s->log_fd) < 0 ? -errno : 0;
}

int state_remove_run(StateDir *s, const char *run_id) {
        _cleanup_free_ char *result = NULL, *line = NULL;
        OpenRun *o;
        int k;

        if (state_run_path(s->path, run_id, ".result", &result) < 0 ||
            asprintf(&line, "end\t%s\n", run_id) < 0)
                return -ENOMEM;
        HASH_FIND_STR(s->open, run_id, o);
        if (!o) {
                /* Never recorded (its start failed before), so no end to write either. */
                (void) unlink(result);
                return 0;
        }
        open_run_free(s, o);
        /* The end first: a daemon killed between the two then leaves a stray result file,
         * not a run that looks as if it never started. */
        k = append(s, line, strlen(line));
        if (k < 0)
                return k;
        (void) unlink(result);
        if (s->open_runs == 0) {
                /* Nothing open: the log starts afresh. */
                if (ftruncate(s->log_fd, 0) >= 0)
                        s->log_size = 0;
        } else if (s->log_size >= RUNS_LOG_COMPACT && s->log_size / 4 > s->open_bytes)
                (void) rewrite_log(s);
        return 0;
}

static int run_field(const char *key, char *value, void *userdata) {
        RunRecord *r = userdata;

        if (streq(key, "cancelled")) {
                r->cancelled = streq(value, "1");
                return 0;
        }
        if (streq(key, "unit"))
                return state_set_field(&r->unit, value);
        if (streq(key, "pipeline"))
                return state_set_field(&r->pipeline, value);
        if (streq(key, "task"))
                return state_set_field(&r->task, value);
        if (streq(key, "instance"))
                return state_set_field(&r->instance, value);
        if (streq(key, "attempt"))
                return (r->attempt = (unsigned) strtoul(value, NULL, 10)), 0;
        if (streq(key, "memory_max"))
                return (r->memory_max = strtoull(value, NULL, 10)), 0;
        if (streq(key, "start_realtime"))
                return (r->start_realtime = strtoull(value, NULL, 10)), 0;
        if (streq(key, "outputs")) {
                r->n_outputs = strtoull(value, NULL, 10);
                r->has_n_outputs = true;
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

static RunRecord *run_record_free(RunRecord *r) {
        if (r) {
                run_record_done(r);
                free(r);
        }
        return NULL;
}
DEFINE_POINTER_CLEANUP(RunRecord, run_record_free);

/* A "start" line into a record; NULL for a damaged one. */
static RunRecord *parse_run(char *line) {
        _cleanup_(run_record_freep) RunRecord *r = calloc(1, sizeof(RunRecord));
        char *save = NULL, *field;

        if (!r)
                return NULL;
        r->memory_max = UINT64_MAX;
        (void) strtok_r(line, "\t", &save);            /* "start" */
        field = strtok_r(NULL, "\t", &save);
        if (!field || !(r->run_id = strdup(field)))
                return NULL;
        while ((field = strtok_r(NULL, "\t", &save))) {
                char *eq = strchr(field, '=');
                char *v = NULL;

                if (!eq)
                        return NULL;
                *eq = 0;
                if (streq(field, "output") || streq(field, "staged")) {
                        if (field_unescape(eq + 1, &v) < 0 ||
                            strv_consume(streq(field, "output") ? &r->outputs : &r->staged, v) < 0)
                                return NULL;
                } else if (run_field(field, eq + 1, r) < 0)
                        return NULL;
        }
        if (!r->unit || !r->task || !r->pipeline || !r->instance ||
            strv_length(r->outputs) != strv_length(r->staged) ||
            (r->has_n_outputs && r->n_outputs != strv_length(r->outputs)))
                return NULL;
        return TAKE_PTR(r);
}

void state_remove_stray_results(StateDir *s) {
        _cleanup_free_ char *runs = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        if (path_join(s->path, "runs", &runs) < 0 || !(d = opendir(runs)))
                return;
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                _cleanup_free_ char *id = NULL;
                OpenRun *o;

                if (n <= 7 || !streq(de->d_name + n - 7, ".result") ||
                    !(id = strndup(de->d_name, n - 7)))
                        continue;
                HASH_FIND_STR(s->open, id, o);
                if (!o)
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        }
}

int state_read_runs(StateDir *s, RunRecord ***ret) {
        _cleanup_free_ char *log = NULL, *text = NULL;
        RunRecord **list = NULL;
        size_t n = 0, size = 0;
        unsigned damaged;
        char *save = NULL;
        int r;

        if (path_join(s->path, "runs.log", &log) < 0)
                return -ENOMEM;
        r = read_file(log, STATE_MAX_FILE * 64, &text, &size);
        if (r < 0 && r != -ENOENT)
                return r;
        damaged = text ? text_blank_nul_lines(text, size) : 0;
        list = calloc(1, sizeof(RunRecord *));
        if (!list)
                return -ENOMEM;
        /* A last line without its newline was cut short by a kill: it never happened. */
        if (text) {
                char *nl = strrchr(text, '\n');
                if (nl)
                        nl[1] = 0;
                else
                        text[0] = 0;
        }
        for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
             line = strtok_r(NULL, "\n", &save)) {
                if (strneq(line, "start\t", 6)) {
                        RunRecord *rec = parse_run(line), **m;
                        if (!rec) {
                                damaged++;
                                continue;
                        }
                        m = reallocarray(list, n + 2, sizeof(RunRecord *));
                        if (!m) {
                                run_record_free(rec);
                                break;
                        }
                        list = m;
                        list[n++] = rec;
                        list[n] = NULL;
                } else if (strneq(line, "cancel\t", 7)) {
                        for (size_t k = 0; k < n; k++)
                                if (streq(list[k]->run_id, line + 7))
                                        list[k]->cancelled = true;
                } else if (strneq(line, "end\t", 4)) {
                        for (size_t k = 0; k < n; k++)
                                if (streq(list[k]->run_id, line + 4)) {
                                        run_record_free(list[k]);
                                        list[k] = list[--n];
                                        list[n] = NULL;
                                        break;
                                }
                }
        }
        if (damaged > 0) {
                /* Kept for whoever looks into it: the rewrite below drops what it could not read. */
                _cleanup_free_ char *copy = NULL;

                /* The file as it is: the rewrite replaces it by a rename, this name stays. */
                if (asprintf(&copy, "%s.damaged", log) >= 0) {
                        (void) unlink(copy);
                        (void) link(log, copy);
                }
                log_warning("%s: %u damaged line(s) skipped (a copy is in %s.damaged): a run "
                            "one of them recorded is not followed, and its instance may run "
                            "again", log, damaged, log);
        }
        /* Rewrite the log with just the open runs. A log that cannot be rewritten is still
         * read right: it is appended to as it is. */
        while (s->open)
                open_run_free(s, s->open);
        for (size_t k = 0; k < n; k++) {
                char *line = NULL;
                size_t l;

                r = format_run(list[k], &line, &l);
                if (r >= 0)
                        r = open_run_add(s, list[k]->run_id, line, l);
                if (r < 0) {
                        run_records_free(list);
                        return r;
                }
        }
        r = rewrite_log(s);
        if (r < 0)
                log_warning_errno(r, "Cannot rewrite '%s', appending to it as it is: %m", log);
        *ret = list;
        return 0;
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
                        strempty(id),
                        m->failed ? m->untold ? "failed-untold" : "failed"
                                  : m->forced ? "retry-forced" : "retry",
                        m->attempts,
                        (unsigned long long) m->wake_realtime,
                        (unsigned long long) m->memory_max, strempty(why));
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        return state_replace_file(path, buf, len);
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
        unsigned damaged;       /* lines that are no mark */
} MarkList;

static int mark_field(const char *key, char *value, void *userdata) {
        MarkList *ml = userdata;
        char *f[8] = {}, *p;
        InstanceMark *m, **n;
        size_t k = 0;

        if (!streq(key, "mark")) {
                ml->damaged++;
                return 0;
        }
        /* strsep, not strtok: a field may be empty (the instance of a task without parameters,
         * a mark without a reason), and must not take the place of the next. */
        while (k < 8 && (p = strsep(&value, "\t")))
                f[k++] = p;
        /* A state word that is none is not to be guessed: a failure for good read as a retry
         * would run at once. */
        if (k < 7 || (!streq(f[3], "failed") && !streq(f[3], "failed-untold") &&
                       !streq(f[3], "retry") && !streq(f[3], "retry-forced"))) {
                ml->damaged++;
                return 0;       /* damaged: forgotten, which only costs a retry count */
        }
        m = calloc(1, sizeof(InstanceMark));
        if (!m)
                return -ENOMEM;
        if (field_unescape(f[0], &m->pipeline) < 0 || field_unescape(f[1], &m->task) < 0 ||
            field_unescape(f[2], &m->instance) < 0 ||
            (f[7] && *f[7] && field_unescape(f[7], &m->reason) < 0) ||
            !(n = reallocarray(ml->l, ml->n + 1, sizeof(InstanceMark *)))) {
                instance_mark_done(m);
                free(m);
                return 0;
        }
        m->untold = streq(f[3], "failed-untold");
        m->failed = m->untold || streq(f[3], "failed");
        m->forced = streq(f[3], "retry-forced");
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
        size_t size = 0;
        int r;

        if (path_join(dir, "instances", &path) < 0)
                return -ENOMEM;
        r = read_file(path, STATE_MAX_FILE * 16, &text, &size);
        if (r == -ENOENT) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (r < 0)
                return r;
        /* Line by line: one damaged line (an editor, a full disk, a crash) costs that line only. */
        ml.damaged = text_blank_nul_lines(text, size);
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');

                if (!eq) {
                        ml.damaged++;
                        continue;
                }
                *eq = 0;
                r = mark_field(line, eq + 1, &ml);
                if (r < 0) {
                        instance_marks_free(ml.l, ml.n);
                        return r;
                }
        }
        if (ml.damaged > 0)
                log_warning("%s: %u damaged line(s) skipped; the other marks are taken", path,
                            ml.damaged);
        *ret = ml.l;
        *ret_n = ml.n;
        return 0;
}
