/* SPDX-License-Identifier: MIT */
/* The kernel's lines about a unit: matching a line, and reading them from the real /dev/kmsg */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kernel-log.h"

#define UNIT "sluice-p-t@a\\x2db.service"

static bool names(const char *line, const char *marker, const char *unit) {
        return kernel_line_names(line, strlen(line), marker, unit);
}

static void test_line_names(void **state) {
        /* The oom line names the cgroup in the middle, the fork line at the end. */
        assert_true(names("oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/sluice.slice/" UNIT
                          ",task_memcg=/sluice.slice/" UNIT ",task=tail,pid=1", KERNEL_LINE_OOM,
                          UNIT));
        assert_true(names("cgroup: fork rejected by pids controller in /app.slice/x.slice/" UNIT,
                          KERNEL_LINE_FORK, UNIT));
        /* Another unit whose name starts with this one's, or the other marker: no. */
        assert_false(names("cgroup: fork rejected by pids controller in /app.slice/" UNIT "x",
                           KERNEL_LINE_FORK, UNIT));
        assert_false(names("cgroup: fork rejected by pids controller in /app.slice/x" UNIT,
                           KERNEL_LINE_FORK, UNIT));
        assert_false(names("oom-kill:oom_memcg=/sluice.slice/" UNIT, KERNEL_LINE_FORK, UNIT));
        assert_false(names("", KERNEL_LINE_OOM, UNIT));
}

/* A line put into the kernel's log as the kernel would write it; false where this process
 * may not (not root). */
static bool log_line(const char *line) {
        int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
        bool ok = fd >= 0 && write(fd, line, strlen(line)) == (ssize_t) strlen(line);

        if (fd >= 0)
                close(fd);
        return ok;
}

static void test_read_from_kmsg(void **state) {
        const char *line = "sluice unit test: fork rejected by pids controller in "
                           "/sluice.slice/" UNIT "\n";
        uint64_t before = kernel_log_mark(), after;

        if (before == 0 || !log_line(line)) {
                skip();
                return;
        }
        /* The line is there the moment it was written, '\\' and all (the kernel escapes it as
         * "\x5c" in /dev/kmsg): no waiting for journald. */
        assert_int_equal(kernel_log_named(UNIT, KERNEL_LINE_FORK, before), 1);
        assert_int_equal(kernel_log_named(UNIT, KERNEL_LINE_OOM, before), 0);
        assert_int_equal(kernel_log_named("sluice-p-t@other.service", KERNEL_LINE_FORK, before),
                         0);
        /* A run started after it: an earlier run's line does not count. */
        after = kernel_log_mark();
        assert_true(after > before);
        assert_int_equal(kernel_log_named(UNIT, KERNEL_LINE_FORK, after), 0);
        /* No mark: the journal must be asked. */
        assert_true(kernel_log_named(UNIT, KERNEL_LINE_FORK, 0) < 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_line_names),
                cmocka_unit_test(test_read_from_kmsg),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
