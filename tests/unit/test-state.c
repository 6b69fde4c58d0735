/* SPDX-License-Identifier: MIT */
/*
 * The state directory's files: run records, results and instance marks round-trip whatever the
 * names hold (tabs, newlines, backslashes), a record cut short by a kill is ignored, the log is
 * rewritten with the open runs, the lock keeps a second daemon out, and the temporaries of a
 * writer killed mid-write are cleared at the next open. Damage (zeroed bytes, a cut record, a
 * bent word) costs the damaged line only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "util/strv.h"

static char dir[] = "/tmp/sluice-state-XXXXXX";

static int setup(void **state) {
        StateDir *s = NULL;

        assert_non_null(mkdtemp(dir));
        assert_int_equal(state_open(dir, &s), 0);
        *state = s;
        return 0;
}

static int teardown(void **state) {
        char cmd[128];

        state_close(*state);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        return system(cmd);
}

static void test_lock(void **state) {
        StateDir *s = NULL;

        assert_int_equal(state_open(dir, &s), -EBUSY);
        assert_null(s);
}

static void touch(const char *d, const char *name) {
        char path[256];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", d, name);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
}

static bool exists(const char *d, const char *name) {
        char path[256];

        snprintf(path, sizeof(path), "%s/%s", d, name);
        return access(path, F_OK) == 0;
}

static void test_stale_temporaries(void **state) {
        char other[] = "/tmp/sluice-state-XXXXXX", cmd[128];
        StateDir *s = NULL;

        assert_non_null(mkdtemp(other));
        touch(other, "instances.new4242");
        touch(other, "runs.log.new17");
        touch(other, "notes.new");      /* not one of ours: no pid */
        touch(other, "new1");
        assert_int_equal(state_open(other, &s), 0);
        assert_false(exists(other, "instances.new4242"));
        assert_false(exists(other, "runs.log.new17"));
        assert_true(exists(other, "notes.new"));
        assert_true(exists(other, "new1"));
        assert_true(exists(other, "runs.log"));
        state_close(s);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", other);
        assert_int_equal(system(cmd), 0);
}

static void test_run_record_round_trip(void **state) {
        char *outputs[] = { "/o/a\tb\nc.tsv", "/o/back\\slash", NULL };
        char *staged[] = { "/o/.sluice-1-a\tb\nc.tsv", "/o/.sluice-1-back\\slash", NULL };
        RunRecord r = { .run_id = "0123abcd", .unit = "sluice-p-t@a\\x20b.service",
                        .pipeline = "p", .task = "t", .instance = "a\\x20b", .attempt = 3,
                        .memory_max = 1 << 20, .outputs = outputs, .staged = staged };
        RunRecord two = r, **l = NULL;
        StateDir *sd = *state;
        char path[256];
        FILE *f;

        assert_int_equal(state_write_run(sd, &r), 0);
        two.run_id = "ended";
        assert_int_equal(state_write_run(sd, &two), 0);
        assert_int_equal(state_remove_run(sd, "ended"), 0);
        /* A cancel, noted before its run ends: read back, and kept through a compaction. */
        assert_int_equal(state_cancel_run(sd, "0123abcd"), 0);
        assert_int_equal(state_cancel_run(sd, "ended"), -ENOENT);
        /* A line a killed daemon could not finish: ignored. */
        snprintf(path, sizeof(path), "%s/runs.log", dir);
        f = fopen(path, "a");
        assert_non_null(f);
        fputs("start\tcut\tunit=sluice-p-t@x.serv", f);
        fclose(f);

        assert_int_equal(state_read_runs(sd, &l), 0);
        assert_non_null(l[0]);
        assert_null(l[1]);
        assert_string_equal(l[0]->run_id, "0123abcd");
        assert_string_equal(l[0]->unit, r.unit);
        assert_string_equal(l[0]->instance, "a\\x20b");
        assert_int_equal(l[0]->attempt, 3);
        assert_int_equal(l[0]->memory_max, 1 << 20);
        assert_true(l[0]->cancelled);
        assert_int_equal(strv_length(l[0]->outputs), 2);
        assert_string_equal(l[0]->outputs[0], outputs[0]);
        assert_string_equal(l[0]->staged[1], staged[1]);
        run_records_free(l);
        assert_int_equal(sd->open_runs, 1);

        /* The last open run ends: the log is emptied. */
        assert_int_equal(state_remove_run(sd, "0123abcd"), 0);
        assert_int_equal(sd->open_runs, 0);
        f = fopen(path, "r");
        assert_non_null(f);
        assert_int_equal(fgetc(f), EOF);
        fclose(f);
        assert_int_equal(state_read_runs(sd, &l), 0);
        assert_null(l[0]);
        run_records_free(l);
}

/* The end of a run whose start failed before its record was written: nothing to end, and the
 * records of the runs still open stay. */
static void test_unrecorded_end(void **state) {
        RunRecord r = { .run_id = "open1", .unit = "u.service", .pipeline = "p", .task = "t",
                        .instance = "i" }, **l = NULL;
        StateDir *sd = *state;

        assert_int_equal(state_write_run(sd, &r), 0);
        assert_int_equal(state_remove_run(sd, "never-recorded"), 0);
        assert_int_equal(sd->open_runs, 1);
        assert_int_equal(state_read_runs(sd, &l), 0);
        assert_non_null(l[0]);
        assert_string_equal(l[0]->run_id, "open1");
        assert_null(l[1]);
        run_records_free(l);
        assert_int_equal(state_remove_run(sd, "open1"), 0);
        assert_int_equal(sd->open_runs, 0);
}

static off_t log_size(void) {
        char path[256];
        struct stat st;

        snprintf(path, sizeof(path), "%s/runs.log", dir);
        assert_int_equal(stat(path, &st), 0);
        return st.st_size;
}

/* A daemon that always has a run open never sees the log empty: it is compacted instead. */
static void test_log_compacted(void **state) {
        RunRecord r = { .run_id = "long", .unit = "u.service", .pipeline = "p", .task = "t",
                        .instance = "i" }, **l = NULL;
        StateDir *sd = *state;
        char id[32];

        assert_int_equal(state_write_run(sd, &r), 0);
        for (int k = 0; k < 30000; k++) {
                RunRecord b = r;
                snprintf(id, sizeof(id), "short%d", k);
                b.run_id = id;
                assert_int_equal(state_write_run(sd, &b), 0);
                assert_int_equal(state_remove_run(sd, id), 0);
        }
        assert_int_equal(sd->open_runs, 1);
        assert_true(log_size() < (1 << 20));
        assert_int_equal((off_t) sd->log_size, log_size());
        assert_int_equal(state_read_runs(sd, &l), 0);
        assert_non_null(l[0]);
        assert_string_equal(l[0]->run_id, "long");
        assert_null(l[1]);
        run_records_free(l);
        assert_int_equal(state_remove_run(sd, "long"), 0);
        assert_int_equal(log_size(), 0);
}

/* A record cut short (here by RLIMIT_FSIZE, as a full disk would) is cut off: the next one is
 * whole, not glued to it. */
static void test_short_write(void **state) {
        RunRecord a = { .run_id = "cut", .unit = "u.service", .pipeline = "p", .task = "t",
                        .instance = "i" }, b = a, **l = NULL;
        StateDir *sd = *state;
        struct rlimit old, lim;

        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
        signal(SIGXFSZ, SIG_IGN);
        lim = old;
        lim.rlim_cur = (rlim_t) log_size() + 10;
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        assert_true(state_write_run(sd, &a) < 0);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        signal(SIGXFSZ, SIG_DFL);
        assert_int_equal(sd->open_runs, 0);
        b.run_id = "whole";
        assert_int_equal(state_write_run(sd, &b), 0);
        assert_int_equal(state_read_runs(sd, &l), 0);
        assert_non_null(l[0]);
        assert_string_equal(l[0]->run_id, "whole");
        assert_null(l[1]);
        run_records_free(l);
        assert_int_equal(state_remove_run(sd, "whole"), 0);
}

/* At start-up, results no open record names go; those of open runs stay to be read. */
static void test_stray_results(void **state) {
        RunRecord r = { .run_id = "open2", .unit = "u.service", .pipeline = "p", .task = "t",
                        .instance = "i" };
        StateDir *sd = *state;

        assert_int_equal(state_write_run(sd, &r), 0);
        assert_int_equal(state_record_result(dir, "open2", "success", "exited", "0", UINT64_MAX,
                                             UINT64_MAX, false), 0);
        assert_int_equal(state_record_result(dir, "stray", "success", "exited", "0", UINT64_MAX,
                                             UINT64_MAX, false), 0);
        state_remove_stray_results(sd);
        assert_true(state_has_result(dir, "open2"));
        assert_false(state_has_result(dir, "stray"));
        assert_int_equal(state_remove_run(sd, "open2"), 0);
        assert_false(state_has_result(dir, "open2"));
}

/* The reserve is made whole, kept as it is, and made again once sluice-result spent it. */
static void test_reserve(void **state) {
        StateDir *sd = *state;
        char path[64];
        struct stat st;

        snprintf(path, sizeof(path), "%s/reserve", dir);
        assert_int_equal(state_reserve(sd), 0);
        assert_false(sd->reserve_missing);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 1 << 20);
        assert_true((uint64_t) st.st_blocks * 512 >= 1 << 20);
        assert_int_equal(state_reserve(sd), 0);
        assert_int_equal(truncate(path, 0), 0);
        assert_int_equal(state_reserve(sd), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 1 << 20);
}

static void test_result_round_trip(void **state) {
        RunResult rr = {};

        assert_false(state_has_result(dir, "r1"));
        assert_int_equal(state_read_result(dir, "r1", &rr), 0);
        /* What systemd gives ExecStopPost=, in its words. */
        assert_int_equal(state_record_result(dir, "r1", "signal", "killed", "KILL", 1500,
                                             4096 * 1024, true), 0);
        assert_true(state_has_result(dir, "r1"));
        assert_int_equal(state_read_result(dir, "r1", &rr), 1);
        assert_string_equal(rr.service_result, "signal");
        assert_string_equal(rr.exit_code, "killed");
        assert_string_equal(rr.exit_status, "KILL");
        assert_int_equal(rr.cpu_usec, 1500);
        assert_int_equal(rr.rss_peak, 4096 * 1024);
        assert_true(rr.journal_behind);
        run_result_done(&rr);
        /* ExecStopPost= knows neither. */
        assert_int_equal(state_record_result(dir, "r2", "success", "exited", "0", UINT64_MAX,
                                             UINT64_MAX, false), 0);
        assert_int_equal(state_read_result(dir, "r2", &rr), 1);
        assert_true(rr.cpu_usec == UINT64_MAX && rr.rss_peak == UINT64_MAX);
        assert_false(rr.journal_behind);
        run_result_done(&rr);
}

static void test_marks_round_trip(void **state) {
        InstanceMark a = { .pipeline = "p", .task = "t", .instance = "x", .failed = true,
                           .attempts = 3, .wake_realtime = 0, .memory_max = UINT64_MAX,
                           .reason = "exit-code (status 3)\twith\na newline" };
        InstanceMark b = { .pipeline = "p", .task = "u", .instance = "2026\\x2d11\\x2d27",
                           .failed = false, .attempts = 1, .wake_realtime = 1800000000000000ULL,
                           .memory_max = 128 << 20, .reason = NULL, .forced = true };
        InstanceMark *in[] = { &a, &b }, **out = NULL;
        size_t n = 0;

        assert_int_equal(state_write_marks(dir, in, 2), 0);
        assert_int_equal(state_read_marks(dir, &out, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(out[0]->task, "t");
        assert_true(out[0]->failed);
        assert_int_equal(out[0]->attempts, 3);
        assert_string_equal(out[0]->reason, a.reason);
        assert_false(out[0]->untold);
        assert_string_equal(out[1]->instance, b.instance);
        assert_false(out[1]->failed);
        assert_true(out[1]->forced);    /* a forced run's retry: its old outputs do not stop it */
        assert_false(out[0]->forced);
        assert_int_equal(out[1]->wake_realtime, b.wake_realtime);
        assert_int_equal(out[1]->memory_max, b.memory_max);
        assert_null(out[1]->reason);
        instance_marks_free(out, n);

        /* A task without parameters: its instance id is empty, and the fields after it must
         * keep their places. */
        InstanceMark c = { .pipeline = "p", .task = "once", .instance = "", .failed = true,
                           .attempts = 2, .memory_max = UINT64_MAX, .reason = "exit-code" };
        InstanceMark *one[] = { &c };
        assert_int_equal(state_write_marks(dir, one, 1), 0);
        assert_int_equal(state_read_marks(dir, &out, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(out[0]->task, "once");
        assert_string_equal(out[0]->instance, "");
        assert_true(out[0]->failed);
        assert_int_equal(out[0]->attempts, 2);
        assert_string_equal(out[0]->reason, "exit-code");
        instance_marks_free(out, n);

        /* Failed, and its notifiers not told yet: so it reads back. */
        c.untold = true;
        assert_int_equal(state_write_marks(dir, one, 1), 0);
        assert_int_equal(state_read_marks(dir, &out, &n), 0);
        assert_int_equal(n, 1);
        assert_true(out[0]->failed);
        assert_true(out[0]->untold);
        instance_marks_free(out, n);

        /* Damaged lines cost themselves only, not the marks beside them. */
        {
                char path[256];
                FILE *f;

                snprintf(path, sizeof(path), "%s/instances", dir);
                f = fopen(path, "a");
                assert_non_null(f);
                fputs("garbage without an equals sign\nother=thing\nmark=short\n", f);
                fclose(f);
        }
        assert_int_equal(state_read_marks(dir, &out, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(out[0]->task, "once");
        instance_marks_free(out, n);

        /* A crash's zeroed bytes before a mark, and a state word that is none: those lines
         * only. A failure for good misread as a retry would run at once. */
        {
                static const char text[] = "x\0y\nmark=p\tlater\t\tfailed\t1\t0\t0\twhy\n"
                                           "mark=p\tbent\t\tfialed\t1\t0\t0\twhy\n";
                char path[256];
                FILE *f;

                snprintf(path, sizeof(path), "%s/instances", dir);
                f = fopen(path, "w");
                assert_non_null(f);
                assert_int_equal(fwrite(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
                fclose(f);
        }
        assert_int_equal(state_read_marks(dir, &out, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(out[0]->task, "later");
        assert_true(out[0]->failed);
        instance_marks_free(out, n);
}

/* A run record after a crash's zeroed bytes is still read; one cut short after a whole output
 * is damaged, not a record with fewer outputs; one from before the count is read as it was. */
static void test_damaged_runs(void **state) {
        char *outputs[] = { "/o/a", "/o/b", NULL };
        char *staged[] = { "/o/.sluice-2-a", "/o/.sluice-2-b", NULL };
        RunRecord r = { .run_id = "beef", .unit = "sluice-p-t@a.service", .pipeline = "p",
                        .task = "t", .instance = "a", .attempt = 1, .memory_max = UINT64_MAX,
                        .outputs = outputs, .staged = staged };
        StateDir *sd = *state;
        RunRecord **l = NULL;
        char path[256], *text = NULL, *cut;
        size_t size = 0;
        FILE *f;

        assert_int_equal(state_write_run(sd, &r), 0);
        snprintf(path, sizeof(path), "%s/runs.log", dir);
        f = fopen(path, "r");
        assert_non_null(f);
        assert_int_equal(getline(&text, &size, f) > 0, 1);
        fclose(f);
        f = fopen(path, "w");
        assert_non_null(f);
        fwrite("\0\0\0\0\n", 1, 5, f);
        fputs(text, f);
        /* The same record, cut after its first output, and a whole line. */
        cut = strstr(text, "\toutput=/o/b");
        assert_non_null(cut);
        fprintf(f, "start\tcut%.*s\n", (int) (cut - strchr(text, '\t') - strlen("\tbeef")),
                strchr(text, '\t') + strlen("\tbeef"));
        /* A record of the version before: no count. */
        fputs("start\told\tunit=sluice-p-t@b.service\tpipeline=p\ttask=t\tinstance=b"
              "\tattempt=1\toutput=/o/x\tstaged=/o/.sluice-3-x\n", f);
        fclose(f);
        free(text);

        assert_int_equal(state_read_runs(sd, &l), 0);
        assert_non_null(l[0]);
        assert_non_null(l[1]);
        assert_null(l[2]);
        assert_true(streq(l[0]->run_id, "beef") || streq(l[1]->run_id, "beef"));
        assert_true(streq(l[0]->run_id, "old") || streq(l[1]->run_id, "old"));
        run_records_free(l);
        snprintf(path, sizeof(path), "%s/runs.log.damaged", dir);
        assert_int_equal(access(path, F_OK), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lock),
                cmocka_unit_test(test_stale_temporaries),
                cmocka_unit_test(test_run_record_round_trip),
                cmocka_unit_test(test_unrecorded_end),
                cmocka_unit_test(test_log_compacted),
                cmocka_unit_test(test_short_write),
                cmocka_unit_test(test_stray_results),
                cmocka_unit_test(test_reserve),
                cmocka_unit_test(test_result_round_trip),
                cmocka_unit_test(test_marks_round_trip),
                cmocka_unit_test(test_damaged_runs),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
