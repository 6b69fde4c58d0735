/* SPDX-License-Identifier: MIT */
/* path_resolve(): links followed as far as the path exists, and through a link that leads
 * nowhere yet (a mount away under it); a bound on the links and the components it walks */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
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

/* path_resolve() of top/rel fails with error. */
static void fails(const char *rel, int error) {
        _cleanup_free_ char *p = NULL, *got = NULL;

        assert_true(asprintf(&p, "%s/%s", top, rel) > 0);
        assert_int_equal(path_resolve(p, &got), error);
        assert_null(got);
}

/* n times s, then end. */
static char *repeat(const char *s, size_t n, const char *end) {
        size_t k = strlen(s);
        char *r = malloc(k * n + strlen(end) + 1);

        assert_non_null(r);
        for (size_t i = 0; i < n; i++)
                memcpy(r + i * k, s, k);
        strcpy(r + k * n, end);
        return r;
}

static void test_chain(void **state) {
        _cleanup_free_ char *file = NULL;
        _cleanup_close_ int fd = -EBADF;

        /* As far as the kernel follows links: 40, the last leading nowhere (yet), and no more. */
        for (int i = 1; i <= 40; i++) {
                _cleanup_free_ char *name = NULL, *to = NULL;

                assert_true(asprintf(&name, "chain%d", i) > 0);
                assert_true(asprintf(&to, i < 40 ? "chain%d" : "real/dir/away/end", i + 1) > 0);
                link_at(to, name);
        }
        resolves("chain1/x", "real/dir/away/end/x");
        link_at("chain1", "chain0");
        fails("chain0/x", -ELOOP);
        link_at("ping", "pong");
        link_at("pong", "ping");
        fails("ping", -ELOOP);
        fails("pong/x/y", -ELOOP);
        /* What is not a directory has nothing below it, as realpath(3) says. */
        assert_true(asprintf(&file, "%s/real/file", top) > 0);
        fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        resolves("real/file", "real/file");
        resolves("real/./dir/../file", "real/file");
        fails("real/file/x", -ENOTDIR);
        fails("real/file/..", -ENOTDIR);
}

static void test_long(void **state) {
        _cleanup_free_ char *deep = NULL, *up = NULL, *too = NULL, *over = NULL;

        /* A dangling link with a thousand components and more, as spelled. */
        deep = repeat("m/", 1500, "end");
        link_at(deep, "deep");
        resolves("deep", deep);
        up = repeat("m/", 1500, "up");
        resolves("deep/../up", up);
        /* Longer than a path can be, once resolved, or as given. */
        too = repeat("m/", (PATH_MAX - 16) / 2, "end");
        link_at(too, "too");
        fails("too", -ENAMETOOLONG);
        over = repeat("a/", PATH_MAX / 2, "end");
        fails(over, -ENAMETOOLONG);
        /* 40 links, each a thousand components long: more in all than any real path walks, and
         * refused, rather than costing the event loop tens of thousands of calls (hundreds of
         * thousands before, when each link walked the rest of the chain again). */
        for (int i = 1; i <= 40; i++) {
                _cleanup_free_ char *name = NULL, *next = NULL, *to = NULL;

                assert_true(asprintf(&name, "many%d", i) > 0);
                assert_true(asprintf(&next, i < 40 ? "many%d" : "end", i + 1) > 0);
                to = repeat("./", 1000, next);
                link_at(to, name);
        }
        fails("many1", -ELOOP);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_resolve),
                cmocka_unit_test(test_chain),
                cmocka_unit_test(test_long),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
