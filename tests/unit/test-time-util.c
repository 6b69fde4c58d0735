/* SPDX-License-Identifier: MIT */
/* Spans and sizes as pipeline files write them, and sizes as sluicectl shows them */
#include <stdarg.h>
#include <string.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>

#include "util/time-util.h"

static void test_parse_size(void **state) {
        uint64_t v;

        assert_int_equal(parse_size("1024", &v), 0);
        assert_int_equal(v, 1024);
        assert_int_equal(parse_size("512M", &v), 0);
        assert_int_equal(v, 512ULL << 20);
        assert_int_equal(parse_size("2G", &v), 0);
        assert_int_equal(v, 2ULL << 30);
        assert_int_equal(parse_size("5MB", &v), -EINVAL);
        assert_int_equal(parse_size("M", &v), -EINVAL);
        assert_int_equal(parse_size("99999999E", &v), -ERANGE);
}

static void test_format_bytes(void **state) {
        char b[FORMAT_BYTES_MAX];

        assert_string_equal(format_bytes(b, sizeof(b), 0), "0B");
        assert_string_equal(format_bytes(b, sizeof(b), 1023), "1023B");
        assert_string_equal(format_bytes(b, sizeof(b), 1024), "1.0K");
        assert_string_equal(format_bytes(b, sizeof(b), 1536 * 1024), "1.5M");
        assert_string_equal(format_bytes(b, sizeof(b), 300ULL << 20), "300M");
        assert_string_equal(format_bytes(b, sizeof(b), 5ULL << 40), "5.0T");
        assert_string_equal(format_bytes(b, sizeof(b), UINT64_MAX), "16E");
}

static void test_timespan(void **state) {
        char b[FORMAT_TIMESPAN_MAX];
        usec_t t;

        assert_int_equal(parse_timespan("1h 30min", &t), 0);
        assert_int_equal(t, 90 * USEC_PER_MINUTE);
        assert_int_equal(parse_timespan("soon", &t), -EINVAL);
        assert_string_equal(format_timespan(b, sizeof(b), 90 * USEC_PER_MINUTE), "1h 30min");
        /* Rounded down for people: no microseconds of a second, no milliseconds of a minute. */
        assert_string_equal(format_timespan(b, sizeof(b), 1443766), "1s 443ms");
        assert_string_equal(format_timespan(b, sizeof(b), 376946), "376ms");
        assert_string_equal(format_timespan(b, sizeof(b), 999), "999us");
        assert_string_equal(format_timespan(b, sizeof(b), 61 * USEC_PER_SEC + 5), "1min 1s");
}

/* sluicectl history's columns: never wider than 10. */
static void test_timespan_short(void **state) {
        char b[FORMAT_TIMESPAN_MAX];

        assert_string_equal(format_timespan_short(b, sizeof(b), 999), "999us");
        assert_string_equal(format_timespan_short(b, sizeof(b), 147 * USEC_PER_MSEC + 112), "147ms");
        assert_string_equal(format_timespan_short(b, sizeof(b), 59999 * USEC_PER_MSEC), "59.9s");
        assert_string_equal(format_timespan_short(b, sizeof(b), 12 * USEC_PER_SEC + 345678),
                            "12.3s");
        assert_string_equal(format_timespan_short(b, sizeof(b), 247 * USEC_PER_SEC + 5), "4min 7s");
        assert_string_equal(format_timespan_short(b, sizeof(b),
                                                  (23 * 60 + 59) * USEC_PER_MINUTE + 59 * USEC_PER_SEC),
                            "23h 59min");
        assert_string_equal(format_timespan_short(b, sizeof(b), 3 * USEC_PER_DAY + 5 * USEC_PER_HOUR),
                            "3d 5h");
        for (usec_t t = 1; t < 400 * USEC_PER_DAY; t = t * 3 + 7)
                assert_true(strlen(format_timespan_short(b, sizeof(b), t)) <= 10);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_size),
                cmocka_unit_test(test_format_bytes),
                cmocka_unit_test(test_timespan),
                cmocka_unit_test(test_timespan_short),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
