/* SPDX-License-Identifier: MIT */
/* systemd's exit statuses in words, for a failure's reason */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "util/exit-status.h"

static void test_systemd_statuses(void **state) {
        assert_string_equal(exit_status_meaning(EXIT_STATUS_CHDIR),
                            "could not change to the working directory");
        assert_string_equal(exit_status_meaning(203), "the command could not be executed");
        assert_non_null(exit_status_meaning(216));     /* GROUP */
        assert_non_null(exit_status_meaning(217));     /* USER */
        assert_non_null(exit_status_meaning(226));     /* NAMESPACE */
        assert_non_null(exit_status_meaning(227));     /* NO_NEW_PRIVILEGES */
        assert_non_null(exit_status_meaning(228));     /* SECCOMP */
        assert_non_null(exit_status_meaning(233));     /* RUNTIME_DIRECTORY */
        assert_non_null(exit_status_meaning(238));     /* STATE_DIRECTORY */
        assert_non_null(exit_status_meaning(245));     /* BPF */
}

static void test_not_systemds(void **state) {
        /* A command's own statuses, and the numbers systemd leaves unused. */
        assert_null(exit_status_meaning(0));
        assert_null(exit_status_meaning(1));
        assert_null(exit_status_meaning(199));
        assert_null(exit_status_meaning(223));
        assert_null(exit_status_meaning(234));
        assert_null(exit_status_meaning(244));
        assert_null(exit_status_meaning(246));
        assert_null(exit_status_meaning(255));
        assert_null(exit_status_meaning(-1));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_systemd_statuses),
                cmocka_unit_test(test_not_systemds),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
