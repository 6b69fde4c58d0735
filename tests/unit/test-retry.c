/* SPDX-License-Identifier: MIT */
/* Retry arithmetic: delays with back-off and cap, oom-kill growth and its cap, attempts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "retry.h"

#define MiB (1024ULL * 1024ULL)

static void test_default_is_no_retry(void **state) {
        RetryPolicy p = RETRY_DEFAULT;
        RetryDecision d = retry_decide(&p, FAILURE_EXIT_CODE, 1, UINT64_MAX);

        assert_false(d.retry);
        assert_string_equal(d.why, "no retries configured");
}

static void test_backoff_and_cap(void **state) {
        RetryPolicy p = RETRY_DEFAULT;
        uint64_t expected[] = { 30, 60, 120, 240, 300, 300 };

        p.attempts = 7;
        p.max_delay = 300 * USEC_PER_SEC;
        for (unsigned a = 1; a <= 6; a++) {
                RetryDecision d = retry_decide(&p, FAILURE_TIMEOUT, a, UINT64_MAX);
                assert_true(d.retry);
                assert_int_equal(d.delay_usec, expected[a - 1] * USEC_PER_SEC);
                assert_int_equal(d.memory_max, UINT64_MAX);
        }
        /* The 7th run was the last one allowed. */
        assert_false(retry_decide(&p, FAILURE_TIMEOUT, 7, UINT64_MAX).retry);
        assert_string_equal(retry_decide(&p, FAILURE_TIMEOUT, 7, UINT64_MAX).why,
                            "no attempts left");
}

static void test_every_class_but_oom_follows_the_policy(void **state) {
        RetryPolicy p = RETRY_DEFAULT;

        p.attempts = 2;
        for (FailureClass c = 0; c < _FAILURE_CLASS_MAX; c++) {
                RetryDecision d = retry_decide(&p, c, 1, 64 * MiB);
                assert_int_equal(d.retry, c != FAILURE_OOM);
        }
}

static void test_oom_never_retried_at_the_same_limit(void **state) {
        RetryPolicy p = RETRY_DEFAULT;
        RetryDecision d;

        p.attempts = 5;
        d = retry_decide(&p, FAILURE_OOM, 1, 64 * MiB);
        assert_false(d.retry);
        assert_string_equal(d.why, "killed at its memory limit, which a retry would hit again");

        /* With memory_grow: a larger limit each time, up to the cap, then final. */
        p.memory_grow = 4.0;
        p.memory_cap = 1024 * MiB;
        d = retry_decide(&p, FAILURE_OOM, 1, 32 * MiB);
        assert_true(d.retry);
        assert_int_equal(d.memory_max, 128 * MiB);
        d = retry_decide(&p, FAILURE_OOM, 2, 512 * MiB);
        assert_true(d.retry);
        assert_int_equal(d.memory_max, 1024 * MiB);      /* 2 GiB capped */
        d = retry_decide(&p, FAILURE_OOM, 3, 1024 * MiB);
        assert_false(d.retry);
        assert_string_equal(d.why, "killed at its memory limit, already at memory_cap");

        /* No limit at all: nothing to grow. */
        assert_false(retry_decide(&p, FAILURE_OOM, 1, UINT64_MAX).retry);
        /* Attempts still bound it. */
        assert_false(retry_decide(&p, FAILURE_OOM, 5, 32 * MiB).retry);
}

static void test_class_names(void **state) {
        for (FailureClass c = 0; c < _FAILURE_CLASS_MAX; c++)
                assert_int_equal(failure_class_from_string(failure_class_to_string(c)), c);
        assert_string_equal(failure_class_to_string(FAILURE_OOM), "oom-kill");
        assert_int_equal(failure_class_from_string("bogus"), _FAILURE_CLASS_INVALID);
        assert_null(failure_class_to_string(_FAILURE_CLASS_MAX));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_is_no_retry),
                cmocka_unit_test(test_backoff_and_cap),
                cmocka_unit_test(test_every_class_but_oom_follows_the_policy),
                cmocka_unit_test(test_oom_never_retried_at_the_same_limit),
                cmocka_unit_test(test_class_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
