/* SPDX-License-Identifier: MIT */
/*
 * The directory listings a scan reads instead of a stat per file: stats for the first checks
 * into a directory, then answers from one reading of it, exact for files, directories, links
 * and names that are not there, and nothing kept once the scan is over.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local.h"

static char dir[] = "/tmp/sluice-listing-XXXXXX";

static void touch(const char *name) {
        char path[256];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        close(fd);
}

static int find(TargetHost *h, const char *name, unsigned char *type) {
        char path[256];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return local_listing_find(h, path, type);
}

static void test_listing(void **state) {
        TargetHost h = { .scanning = 1 };
        unsigned char type = 0;
        char name[32], path[256];
        int r;

        assert_non_null(mkdtemp(dir));
        for (int i = 0; i < 40; i++) {
                snprintf(name, sizeof(name), "f%d", i);
                touch(name);
        }
        snprintf(path, sizeof(path), "%s/sub", dir);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/link", dir);
        assert_int_equal(symlink("f0", path), 0);

        /* A few checks into a directory are cheaper as stats: the caller is told to stat. */
        assert_int_equal(find(&h, "f0", &type), -EAGAIN);
        for (int i = 0; i < 64 && (r = find(&h, "f1", &type)) == -EAGAIN; i++)
                ;
        assert_int_equal(r, 1);
        assert_int_equal(type, DT_REG);
        assert_int_equal(find(&h, "f39", &type), 1);
        assert_int_equal(find(&h, "f40", &type), 0);
        assert_int_equal(find(&h, "sub", &type), 1);
        assert_int_equal(type, DT_DIR);
        assert_int_equal(find(&h, "link", &type), 1);
        assert_int_equal(type, DT_LNK);
        assert_int_equal(find(&h, ".", &type), 0);
        /* Read once: a file made since is not seen until the next scan. */
        touch("late");
        assert_int_equal(find(&h, "late", &type), 0);
        local_listings_free(&h);
        assert_null(h.scan_state[TARGET_KIND_PATH]);

        /* A directory that is not there holds nothing, however often it is asked. */
        for (int i = 0; i < 64; i++)
                assert_true(local_listing_find(&h, "/nonexistent-sluice/x", &type) <= 0);
        assert_int_equal(local_listing_find(&h, "/nonexistent-sluice/x", &type), 0);
        local_listings_free(&h);

        snprintf(path, sizeof(path), "rm -rf %s", dir);
        assert_int_equal(system(path), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_listing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
