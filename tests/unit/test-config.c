/* SPDX-License-Identifier: MIT */
/*
 * The pipeline loader: every malformed file in config/bad/ must give exactly the diagnostics in
 * its .expected file (all of them, with lines), and the good files load into the graph the
 * daemon runs. Also instance ids, unit names and exec substitution, which hang off a loaded task.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon-config.h"
#include "subst.h"
#include "util/escape.h"
#include "util/fs-util.h"
#include "util/strv.h"

static char *diag_text(Diag *d) {
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        assert_non_null(f);
        diag_sort(d);
        diag_print(d, f);
        fclose(f);
        return s;
}

/* Every FILE.conf in dir gives exactly the diagnostics in FILE.expected; it loads (with
 * warnings only) or is rejected whole, as loads says. daemon: sluiced.conf files, not
 * pipelines. */
static void check_dir(const char *dir, bool loads, bool daemon) {
        struct dirent **names = NULL;
        int n, checked = 0, failed = 0;

        assert_int_equal(chdir(dir), 0);
        n = scandir(".", &names, NULL, alphasort);
        assert_true(n > 0);
        for (int i = 0; i < n; i++) {
                const char *name = names[i]->d_name;
                size_t l = strlen(name);

                if (l > 5 && streq(name + l - 5, ".conf")) {
                        _cleanup_free_ char *expected_path = NULL, *expected = NULL, *got = NULL;
                        DaemonConfig c = DAEMON_CONFIG_DEFAULT;
                        Pipeline *p = NULL;
                        Diag d = {};
                        int r;

                        assert_true(asprintf(&expected_path, "%.*s.expected", (int) l - 5, name) > 0);
                        assert_int_equal(read_file(expected_path, 1 << 16, &expected, NULL), 0);
                        if (daemon) {
                                r = daemon_config_load(name, &c, &d);
                                daemon_config_done(&c);
                        } else
                                r = config_load_pipeline(name, NULL, &p, &d);
                        got = diag_text(&d);
                        if (!streq(got, expected)) {
                                fprintf(stderr, "%s: expected:\n%s---\ngot:\n%s---\n", name,
                                        expected, got);
                                failed++;
                        }
                        if (loads) {
                                assert_int_equal(r, 0);
                                assert_true(daemon || p);
                                pipeline_free(p);
                        } else {
                                /* Rejected whole: no pipeline comes back with an error. */
                                assert_int_equal(r, -EINVAL);
                                assert_null(p);
                        }
                        diag_done(&d);
                        checked++;
                }
                free(names[i]);
        }
        free(names);
        assert_int_equal(failed, 0);
        assert_true(checked >= 1);
}

static void test_bad_files(void **state) {
        check_dir(CONFIG_TEST_DIR "/bad", false, false);
}

static void test_warning_files(void **state) {
        check_dir(CONFIG_TEST_DIR "/warn", true, false);
}

/* sluiced.conf: refused as `sluicectl check`, the daemon's start and its reload refuse it. */
static void test_daemon_bad_files(void **state) {
        check_dir(CONFIG_TEST_DIR "/daemon-bad", false, true);
}

static void test_daemon_listen(void **state) {
        struct sockaddr_in sa;

        assert_int_equal(daemon_config_parse_listen("127.0.0.1:8642", &sa), 0);
        assert_int_equal(ntohs(sa.sin_port), 8642);
        assert_int_equal(ntohl(sa.sin_addr.s_addr), INADDR_LOOPBACK);
        assert_int_equal(daemon_config_parse_listen("0.0.0.0:65535", NULL), 0);
        assert_int_equal(daemon_config_parse_listen("localhost:8642", NULL), -EINVAL);
        assert_int_equal(daemon_config_parse_listen("[::1]:8642", NULL), -EINVAL);
        assert_int_equal(daemon_config_parse_listen("::1:8642", NULL), -EINVAL);
        assert_int_equal(daemon_config_parse_listen("127.0.0.1", NULL), -EINVAL);
        assert_int_equal(daemon_config_parse_listen("127.0.0.1:", NULL), -EINVAL);
        assert_int_equal(daemon_config_parse_listen("127.0.0.1:0", NULL), -EINVAL);
        assert_int_equal(daemon_config_parse_listen("127.0.0.1:65536", NULL), -EINVAL);
        assert_int_equal(daemon_config_parse_listen("127.0.0.1:-1", NULL), -EINVAL);
        assert_int_equal(daemon_config_parse_listen("127.0.0.1:80x", NULL), -EINVAL);
}

static Pipeline *load_good(const char *name) {
        _cleanup_free_ char *path = NULL;
        Pipeline *p = NULL;
        Diag d = {};

        assert_true(asprintf(&path, CONFIG_TEST_DIR "/good/%s", name) > 0);
        assert_int_equal(config_load_pipeline(path, NULL, &p, &d), 0);
        assert_int_equal(d.n_entries, 0);
        diag_done(&d);
        return p;
}

static void test_good_chain(void **state) {
        _cleanup_(pipeline_freep) Pipeline *p = load_good("chain.conf");
        Task *wc, *sum;
        Target *logs, *counts;

        assert_string_equal(p->name, "chain");
        assert_int_equal(p->n_targets, 3);
        assert_int_equal(p->n_tasks, 2);
        wc = pipeline_find_task(p, "wordcount");
        sum = pipeline_find_task(p, "summary");
        logs = pipeline_find_target(p, "logs");
        counts = pipeline_find_target(p, "counts");
        assert_non_null(wc);
        assert_non_null(sum);

        /* Parameters in order of first appearance, outputs first. */
        assert_int_equal(wc->n_params, 2);
        assert_string_equal(wc->params[0].name, "day");
        assert_int_equal(wc->params[0].spec.type, PARAM_DATE);
        assert_string_equal(wc->params[1].name, "name");
        assert_int_equal(sum->n_params, 2);
        assert_string_equal(sum->params[0].name, "name");

        assert_int_equal(wc->limits.memory_max, 512ULL << 20);
        assert_int_equal(wc->limits.cpu_quota_permille, 1500);
        assert_int_equal(wc->limits.runtime_max, 90 * USEC_PER_MINUTE);
        assert_int_equal(sum->limits.memory_max, UINT64_MAX);

        /* The index from target to the tasks that read it, and who writes what. */
        assert_int_equal(logs->n_consumers, 1);
        assert_ptr_equal(logs->consumers[0], wc);
        assert_null(logs->producer);
        assert_int_equal(counts->n_consumers, 1);
        assert_ptr_equal(counts->consumers[0], sum);
        assert_ptr_equal(counts->producer, wc);
}

static void test_instance_and_unit_names(void **state) {
        _cleanup_(pipeline_freep) Pipeline *p = load_good("chain.conf");
        _cleanup_(binding_freep) Binding *b = NULL;
        _cleanup_(bindings_freep) Binding **back = NULL;
        _cleanup_free_ char *id = NULL, *unit = NULL, *longname = NULL, *longid = NULL,
                            *longunit = NULL, *again = NULL;
        Task *wc = pipeline_find_task(p, "wordcount");

        assert_int_equal(binding_new(&b), 0);
        assert_int_equal(binding_set(b, "day", "2026-11-27"), 0);
        assert_int_equal(binding_set(b, "name", "a b/$(x);'"), 0);
        assert_int_equal(task_instance_id(wc, b, &id), 0);
        /* Values in parameter order, each escaped like systemd-escape plus '/', joined by '-'. */
        assert_string_equal(id, "2026\\x2d11\\x2d27-a\\x20b\\x2f\\x24\\x28x\\x29\\x3b\\x27");
        assert_int_equal(task_unit_name(wc, id, &unit), 0);
        assert_string_equal(unit,
                            "sluice-chain-wordcount@2026\\x2d11\\x2d27-a\\x20b\\x2f\\x24\\x28x\\x29"
                            "\\x3b\\x27.service");

        /* Too long for a unit name: a stable digest after a '.', which escaping never starts
         * an instance with. */
        longname = malloc(201);
        memset(longname, '%', 200);
        longname[200] = 0;
        assert_int_equal(binding_set(b, "name", longname), 0);
        assert_int_equal(task_instance_id(wc, b, &longid), 0);
        assert_int_equal(task_unit_name(wc, longid, &longunit), 0);
        assert_true(strlen(longunit) <= UNIT_NAME_MAX);
        assert_true(strneq(longunit, "sluice-chain-wordcount@.", 24));
        assert_int_equal(task_unit_name(wc, longid, &again), 0);
        assert_string_equal(longunit, again);

        /* The input's binding names the task instance (identity mapping). */
        assert_int_equal(task_instances_from_input(wc, 0, b, &back), 0);
        assert_non_null(back[0]);
        assert_true(binding_equal(b, back[0]));
        assert_null(back[1]);
}

static void test_unescape_round_trip(void **state) {
        const char *values[] = { "plain", "a b", ".hidden", "x-y_z:1.2", "\n\t\\", "ü€", "$(x)" };

        for (size_t k = 0; k < ELEMENTSOF(values); k++) {
                _cleanup_free_ char *e = NULL, *u = NULL;

                assert_int_equal(unit_escape_value(values[k], &e), 0);
                assert_null(strchr(e, '-'));
                assert_null(strchr(e, '/'));
                assert_true(e[0] != '.');
                assert_int_equal(unit_unescape_value(e, strlen(e), &u), 0);
                assert_string_equal(u, values[k]);
        }
}


/* A directory made by the shell command setup, where "%1$s" stands for it; drop_dir removes it. */
static void make_dir(char dir[static 24], const char *setup) {
        _cleanup_free_ char *cmd = NULL;

        strcpy(dir, "/tmp/sluice-test-XXXXXX");
        assert_non_null(mkdtemp(dir));
        assert_non_null(cmd = strdup(setup));
        for (char *p; (p = strstr(cmd, "%1$s"));) {
                char *next = NULL;

                assert_true(asprintf(&next, "%.*s%s%s", (int) (p - cmd), cmd, dir, p + 4) > 0);
                free(cmd);
                cmd = next;
        }
        assert_int_equal(system(cmd), 0);
}

static void drop_dir(const char *dir) {
        _cleanup_free_ char *cmd = NULL;

        assert_true(asprintf(&cmd, "rm -rf %s", dir) > 0);
        assert_int_equal(system(cmd), 0);
}

static void test_directory_rejects_bad_keeps_good(void **state) {
        char dir[24];
        Pipeline **list = NULL;
        size_t n = 0;
        Diag d = {};
        int r;

        make_dir(dir, "cp " CONFIG_TEST_DIR "/good/chain.conf " CONFIG_TEST_DIR
                      "/bad/cycle.conf %1$s/ && touch %1$s/ignored.txt");
        r = config_load_directory(dir, NULL, &list, &n, NULL, &d);
        assert_int_equal(r, 1);
        assert_int_equal(n, 1);
        assert_string_equal(list[0]->name, "chain");
        assert_int_equal(d.n_errors, 1);
        pipelines_free(list, n);
        diag_done(&d);
        drop_dir(dir);
}

/* A pipeline file copied beside its original: both produce the same outputs, and both are
 * refused, with an error at each output in each file. */
static void test_directory_rejects_shared_outputs(void **state) {
        _cleanup_strv_free_ char **rejected = NULL;
        char dir[24];
        Pipeline **list = NULL;
        size_t n = 0;
        Diag d = {};
        int r;

        /* The copy calls its wildcards otherwise: the locations are the same. */
        make_dir(dir, "cp " CONFIG_TEST_DIR "/good/chain.conf " CONFIG_TEST_DIR
                      "/good/window.conf %1$s/ && sed 's/{name}/{n}/g; s/\\${name}/${n}/g' "
                      CONFIG_TEST_DIR "/good/chain.conf > %1$s/chain-v2.conf");
        r = config_load_directory(dir, NULL, &list, &n, &rejected, &d);
        assert_int_equal(r, 2);
        assert_int_equal(n, 1);
        assert_string_equal(list[0]->name, "window");
        assert_int_equal(strv_length(rejected), 2);
        /* counts and summary, told in both files. */
        assert_int_equal(d.n_errors, 4);
        pipelines_free(list, n);
        diag_done(&d);
        drop_dir(dir);
}

/* Two files each reading what the other writes: a loop across files, both refused, said once;
 * a third that reads from the loop but leads nowhere back is kept. */
static void test_directory_rejects_loops_across_files(void **state) {
        _cleanup_strv_free_ char **rejected = NULL;
        char dir[24];
        Pipeline **list = NULL;
        size_t n = 0;
        Diag d = {};
        int r;

        make_dir(dir, "cp " CONFIG_TEST_DIR "/loop/*.conf %1$s/");
        r = config_load_directory(dir, NULL, &list, &n, &rejected, &d);
        assert_int_equal(r, 2);
        assert_int_equal(n, 1);
        assert_string_equal(list[0]->name, "chain3");
        assert_int_equal(strv_length(rejected), 2);
        assert_int_equal(d.n_errors, 1);
        assert_non_null(strstr(d.entries[0].message, "(cyc1/ab -> cyc2/ba -> cyc1/ab)"));
        pipelines_free(list, n);
        diag_done(&d);
        drop_dir(dir);
}

static void test_display_escape(void **state) {
        _cleanup_free_ char *a = display_escape("esc\x1b[31mRED\r\nZZ\x7f"),
                            *b = display_escape("csi\xc2\x9b" "2J"),
                            *c = display_escape("\xc2\xa0\xc3\xbc \\x1b");

        assert_string_equal(a, "esc\\x1b[31mRED\\x0d\\x0aZZ\\x7f");
        assert_string_equal(b, "csi\\u009b2J");
        /* Bytes of no valid UTF-8: a raw 0x9b is CSI to an 8-bit terminal. */
        _cleanup_free_ char *d = display_escape("bad\xff\x9b" "2J\xe2\x82");

        assert_string_equal(d, "bad\\xff\\x9b2J\\xe2\\x82");
        /* A right-to-left override would reorder the rest of a table's row. */
        _cleanup_free_ char *o = display_escape("ab\xe2\x80\xae" "cd\xe2\x81\xa9");

        assert_string_equal(o, "ab\\u202ecd\\u2069");
        /* Nothing to escape: no copy. U+00A0 and a backslash are not controls. */
        assert_null(c);
        assert_null(display_escape("plain ü€"));
}

static void test_subst_expand(void **state) {
        _cleanup_(pipeline_freep) Pipeline *p = load_good("chain.conf");
        _cleanup_(binding_freep) Binding *b = NULL;
        _cleanup_strv_free_ char **argv = NULL, **argv2 = NULL;
        char *in0[] = { "/srv/logs/2026-11-27/a b.log", NULL };
        char * const *inputs[] = { in0, NULL };
        char *outputs[] = { "/srv/counts/2026-11-27/.sluice-1-a b.tsv", NULL };
        Task *wc = pipeline_find_task(p, "wordcount"), *sum = pipeline_find_task(p, "summary");
        char *in1[] = { "/c/1.tsv", "/c/2.tsv", NULL };
        char * const *inputs2[] = { in1, NULL };
        char *outputs2[] = { "/s/x.txt", NULL };

        assert_int_equal(binding_new(&b), 0);
        assert_int_equal(binding_set(b, "day", "2026-11-27"), 0);
        assert_int_equal(binding_set(b, "name", "a b"), 0);

        assert_int_equal(subst_expand(wc->exec,
                                      &(SubstContext){ .task = wc, .binding = b, .inputs = inputs,
                                                       .outputs = outputs },
                                      &argv),
                         0);
        assert_int_equal(strv_length(argv), 6);
        assert_string_equal(argv[0], "/usr/bin/wc");
        assert_string_equal(argv[2], "/srv/logs/2026-11-27/a b.log");  /* one element */
        assert_string_equal(argv[3], "--out=/srv/counts/2026-11-27/.sluice-1-a b.tsv");
        assert_string_equal(argv[4], "$HOME");  /* not ours: left for a shell to read */
        assert_string_equal(argv[5], "${x}");   /* $$ is a literal $ */

        assert_int_equal(subst_expand(sum->exec,
                                      &(SubstContext){ .task = sum, .binding = b,
                                                       .inputs = inputs2, .outputs = outputs2 },
                                      &argv2),
                         0);
        /* ${inputs} becomes one element per location. */
        assert_int_equal(strv_length(argv2), 5);
        assert_string_equal(argv2[1], "/c/1.tsv");
        assert_string_equal(argv2[2], "/c/2.tsv");
        assert_string_equal(argv2[3], "/s/x.txt");
        assert_string_equal(argv2[4], "a b/2026-11-27");
}


int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bad_files),
                cmocka_unit_test(test_daemon_bad_files),
                cmocka_unit_test(test_daemon_listen),
                cmocka_unit_test(test_warning_files),
                cmocka_unit_test(test_good_chain),
                cmocka_unit_test(test_instance_and_unit_names),
                cmocka_unit_test(test_unescape_round_trip),
                cmocka_unit_test(test_display_escape),
                cmocka_unit_test(test_subst_expand),
                cmocka_unit_test(test_directory_rejects_bad_keeps_good),
                cmocka_unit_test(test_directory_rejects_shared_outputs),
                cmocka_unit_test(test_directory_rejects_loops_across_files),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
