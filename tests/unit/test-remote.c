/* SPDX-License-Identifier: MIT */
/* What makes a remote target's failure new, to be logged again: not curl's milliseconds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "remote.h"

static void test_durations_do_not_count(void **state) {
        assert_true(remote_same_failure("http://h/: Operation timed out after 3002 milliseconds "
                                        "with 0 bytes received",
                                        "http://h/: Operation timed out after 10243 milliseconds "
                                        "with 0 bytes received"));
        assert_true(remote_same_failure("Failed to connect to h port 80 after 0 ms: refused",
                                        "Failed to connect to h port 80 after 12 ms: refused"));
}

static void test_other_numbers_do(void **state) {
        assert_false(remote_same_failure("http://h/x: HTTP status 401", "http://h/x: HTTP status 503"));
        assert_false(remote_same_failure("http://h/2024/05/: HTTP status 500",
                                         "http://h/2024/06/: HTTP status 500"));
        assert_false(remote_same_failure("port 80 after 3 ms", "port 81 after 3 ms"));
        assert_false(remote_same_failure("timed out after 3 milliseconds", "timed out after 3"));
        assert_true(remote_same_failure("same words", "same words"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_durations_do_not_count),
                cmocka_unit_test(test_other_numbers_do),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
