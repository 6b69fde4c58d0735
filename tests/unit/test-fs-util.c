/* SPDX-License-Identifier: MIT */
/* path_resolve(): links followed as far as the path exists, and through a link that leads
 * nowhere yet (a mount away under it) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"
#include "util/rm-rf.h"

static char top[] = "/tmp/sluice-fs-util-XXXXXX";
static char *real_top;

static int setup(void **state) {
        _cleanup_free_ char *dir = NULL;

        assert_non_null(mkdtemp(top));
        real_top = realpath(top, NULL);
        assert_non_null(real_top);
        assert_true(asprintf(&dir, "%s/real/dir", top) > 0);
        assert_int_equal(mkdir_p(dir, 0755), 0);
        return 0;
}

static int teardown(void **state) {
        _cleanup_close_ int fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(rm_rf_at(fd, top + strlen("/tmp/")), 0);
        free(real_top);
        return 0;
}

static void link_at(const char *target, const char *rel) {
        _cleanup_free_ char *p = NULL;

        assert_true(asprintf(&p, "%s/%s", top, rel) > 0);
        assert_int_equal(symlink(target, p), 0);
}

/* path_resolve() of top/rel is real_top/want. */
static void resolves(const char *rel, const char *want) {
        _cleanup_free_ char *p = NULL, *w = NULL, *got = NULL;

        assert_true(asprintf(&p, "%s/%s", top, rel) > 0);
        assert_true(asprintf(&w, "%s/%s", real_top, want) > 0);
        assert_int_equal(path_resolve(p, &got), 0);
        assert_string_equal(got, w);
}

static void test_resolve(void **state) {
        _cleanup_free_ char *abs = NULL, *p = NULL, *got = NULL;

        /* As it is, where it all exists; the missing rest as spelled. */
        resolves("real/dir", "real/dir");
        resolves("real/dir/a/b", "real/dir/a/b");
        resolves("real/dir/a/../b", "real/dir/b");
        /* Through links, relative and absolute, to what exists and to what does not. */
        link_at("real/dir", "rel");
        resolves("rel/x", "real/dir/x");
        assert_true(asprintf(&abs, "%s/real/dir/away/data", top) > 0);
        link_at(abs, "data");
        resolves("data", "real/dir/away/data");
        resolves("data/kept/b", "real/dir/away/data/kept/b");
        link_at("../real/dir/away", "real/up");
        resolves("real/up/y", "real/dir/away/y");
        /* A loop ends. */
        link_at("loop", "loop");
        assert_true(asprintf(&p, "%s/loop/z", top) > 0);
        assert_int_equal(path_resolve(p, &got), -ELOOP);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_resolve),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
