/* SPDX-License-Identifier: MIT */
/* Removing what a task made of a staged name: all of it, and nothing a link in it points at */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"
#include "util/rm-rf.h"

static char top[] = "/tmp/sluice-rm-rf-XXXXXX";

static void put(const char *rel, const char *text) {
        _cleanup_free_ char *p = NULL;
        FILE *f;

        assert_true(asprintf(&p, "%s/%s", top, rel) > 0);
        f = fopen(p, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

static bool there(const char *rel) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        assert_true(asprintf(&p, "%s/%s", top, rel) > 0);
        return lstat(p, &st) == 0;
}

static void make(const char *rel) {
        _cleanup_free_ char *p = NULL;

        assert_true(asprintf(&p, "%s/%s", top, rel) > 0);
        assert_int_equal(mkdir(p, 0755), 0);
}

static void link_to(const char *target, const char *rel) {
        _cleanup_free_ char *p = NULL, *t = NULL;

        assert_true(asprintf(&p, "%s/%s", top, rel) > 0);
        assert_true(asprintf(&t, "%s/%s", top, target) > 0);
        assert_int_equal(symlink(t, p), 0);
}

static void test_tree_goes_links_lead_nowhere(void **state) {
        _cleanup_close_ int fd = -EBADF;

        assert_non_null(mkdtemp(top));
        make("keep");
        put("keep/file", "kept\n");
        make("out");
        make("out/.sluice-x-qc");
        make("out/.sluice-x-qc/sub");
        make("out/.sluice-x-qc/sub/deeper");
        put("out/.sluice-x-qc/report", "r\n");
        put("out/.sluice-x-qc/sub/deeper/data", "d\n");
        link_to("keep", "out/.sluice-x-qc/link");
        link_to("keep", "out/.sluice-x-qc/sub/link");
        link_to("keep/file", "out/.sluice-x-qc/sub/deeper/file-link");
        put("out/sibling", "s\n");

        fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        {
                _cleanup_close_ int out = openat(fd, "out", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                assert_true(out >= 0);
                assert_int_equal(rm_rf_at(out, ".sluice-x-qc"), 0);
                assert_int_equal(rm_rf_at(out, ".sluice-x-qc"), -ENOENT);
                /* A file, and a link, go as themselves. */
                assert_int_equal(rm_rf_at(out, "sibling"), 0);
        }
        assert_false(there("out/.sluice-x-qc"));
        assert_false(there("out/sibling"));
        assert_true(there("out"));
        assert_true(there("keep/file"));

        /* A staged name that is itself a link: the link goes, not the directory. */
        link_to("keep", "out/.sluice-y-qc");
        {
                _cleanup_close_ int out = openat(fd, "out", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                assert_true(out >= 0);
                assert_int_equal(rm_rf_at(out, ".sluice-y-qc"), 0);
        }
        assert_false(there("out/.sluice-y-qc"));
        assert_true(there("keep/file"));

        assert_int_equal(rm_rf_at(fd, "keep"), 0);
        assert_int_equal(rm_rf_at(fd, "out"), 0);
        assert_int_equal(rmdir(top), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tree_goes_links_lead_nowhere),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
