/* SPDX-License-Identifier: MIT */
/* Signal names as sluice-result writes them and as systemd's $EXIT_STATUS spells them */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>

#include "util/signal-name.h"

static void test_round_trip(void **state) {
        char buf[16];

        for (int sig = 1; sig <= SIGRTMAX; sig++) {
                const char *n = signal_to_name(sig, buf);

                assert_non_null(n);
                assert_int_equal(signal_from_name(n), sig);
        }
        assert_string_equal(signal_to_name(SIGKILL, buf), "KILL");
        assert_null(signal_to_name(0, buf));
        assert_null(signal_to_name(SIGRTMAX + 1, buf));
}

static void test_systemd_spellings(void **state) {
        /* What systemd writes (ExecStopPost= form), and glibc's sigabbrev_np() names. */
        assert_int_equal(signal_from_name("TERM"), SIGTERM);
        assert_int_equal(signal_from_name("SIGSEGV"), SIGSEGV);
        assert_int_equal(signal_from_name("IO"), SIGIO);
        assert_int_equal(signal_from_name("POLL"), SIGIO);
        assert_int_equal(signal_from_name("RTMIN"), SIGRTMIN);
        assert_int_equal(signal_from_name("RTMIN+3"), SIGRTMIN + 3);
        assert_int_equal(signal_from_name("RTMAX-1"), SIGRTMAX - 1);
        assert_int_equal(signal_from_name("40"), 40);
}

static void test_not_signals(void **state) {
        assert_int_equal(signal_from_name(NULL), 0);
        assert_int_equal(signal_from_name(""), 0);
        assert_int_equal(signal_from_name("NOPE"), 0);
        assert_int_equal(signal_from_name("RTMIN+"), 0);
        assert_int_equal(signal_from_name("RTMIN+999"), 0);
        assert_int_equal(signal_from_name("RTMIN+-1"), 0);
        assert_int_equal(signal_from_name("0"), 0);
        assert_int_equal(signal_from_name("9x"), 0);
        assert_int_equal(signal_from_name("999"), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_systemd_spellings),
                cmocka_unit_test(test_not_signals),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
