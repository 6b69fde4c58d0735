/* SPDX-License-Identifier: MIT */
/*
 * Parameter types: names, specs, the one canonical spelling of every value, and the ordinal
 * arithmetic of the time types. Calendar results are checked against glibc (gmtime_r(),
 * strftime() with %G-W%V) as an independent oracle, day by day over three decades.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "param.h"
#include "util/macro.h"
#include "util/strv.h"

static bool valid(ParamType t, const char *s) {
        const ParamSpec spec = { .type = t };

        return param_value_valid(&spec, s, strlen(s));
}

static int64_t ordinal(ParamType t, const char *s) {
        int64_t v = INT64_MIN;

        assert_int_equal(param_to_ordinal(t, s, &v), 0);
        return v;
}

static void assert_from_ordinal(ParamType t, int64_t v, const char *expected) {
        _cleanup_free_ char *s = NULL;

        assert_int_equal(param_from_ordinal(t, v, &s), 0);
        assert_non_null(s);
        assert_string_equal(s, expected);
}

/* Parses s as t and formats its ordinal again: the spelling must survive unchanged. */
static void assert_round_trip(ParamType t, const char *s) {
        assert_true(valid(t, s));
        assert_from_ordinal(t, ordinal(t, s), s);
}

/* b is the successor of a, both ways. */
static void assert_successor(ParamType t, const char *a, const char *b) {
        int64_t x = ordinal(t, a);

        assert_int_equal(ordinal(t, b), x + 1);
        assert_from_ordinal(t, x + 1, b);
        assert_from_ordinal(t, x, a);
}

static int64_t floordiv7(int64_t a) {
        return a >= 0 ? a / 7 : -((-a + 6) / 7);
}

static void spec_parse_fails(const char *s, const char *expected_error) {
        ParamSpec spec = { .type = _PARAM_TYPE_INVALID };
        const char *err = NULL;

        assert_int_equal(param_spec_parse(s, strlen(s), &spec, &err), -EINVAL);
        assert_non_null(err);
        assert_string_equal(err, expected_error);
        /* ret_ untouched on failure */
        assert_int_equal(spec.type, _PARAM_TYPE_INVALID);
        assert_null(spec.enum_values);
}

static void test_type_names(void **state) {
        static const char * const names[] = {
                "string", "int", "date", "hour", "month", "week", "enum", "path",
        };

        assert_int_equal(ELEMENTSOF(names), _PARAM_TYPE_MAX);
        for (ParamType t = 0; t < _PARAM_TYPE_MAX; t++) {
                assert_string_equal(param_type_to_string(t), names[t]);
                assert_int_equal(param_type_from_string(names[t]), t);
                assert_int_equal(param_type_from_string(param_type_to_string(t)), t);
        }
        assert_null(param_type_to_string(_PARAM_TYPE_MAX));
        assert_null(param_type_to_string(_PARAM_TYPE_INVALID));
        assert_int_equal(param_type_from_string("bogus"), _PARAM_TYPE_INVALID);
        assert_int_equal(param_type_from_string("Date"), _PARAM_TYPE_INVALID);
        assert_int_equal(param_type_from_string(""), _PARAM_TYPE_INVALID);
        assert_int_equal(param_type_from_string("enum(a)"), _PARAM_TYPE_INVALID);
}

static void test_type_properties(void **state) {
        assert_int_equal(param_fixed_width(PARAM_DATE), 10);
        assert_int_equal(param_fixed_width(PARAM_HOUR), 13);
        assert_int_equal(param_fixed_width(PARAM_MONTH), 7);
        assert_int_equal(param_fixed_width(PARAM_WEEK), 8);
        assert_int_equal(param_fixed_width(PARAM_STRING), 0);
        assert_int_equal(param_fixed_width(PARAM_INT), 0);
        assert_int_equal(param_fixed_width(PARAM_ENUM), 0);
        assert_int_equal(param_fixed_width(PARAM_PATH), 0);

        assert_true(param_type_is_ordinal(PARAM_INT));
        assert_true(param_type_is_ordinal(PARAM_DATE));
        assert_true(param_type_is_ordinal(PARAM_HOUR));
        assert_true(param_type_is_ordinal(PARAM_MONTH));
        assert_true(param_type_is_ordinal(PARAM_WEEK));
        assert_false(param_type_is_ordinal(PARAM_STRING));
        assert_false(param_type_is_ordinal(PARAM_ENUM));
        assert_false(param_type_is_ordinal(PARAM_PATH));
}

static void test_spec_parse_simple(void **state) {
        for (ParamType t = 0; t < _PARAM_TYPE_MAX; t++) {
                _cleanup_(param_spec_done) ParamSpec spec = {};
                _cleanup_free_ char *back = NULL;
                const char *name = param_type_to_string(t), *err = NULL;

                if (t == PARAM_ENUM)
                        continue;
                assert_int_equal(param_spec_parse(name, strlen(name), &spec, &err), 0);
                assert_null(err);
                assert_int_equal(spec.type, t);
                assert_null(spec.enum_values);
                assert_int_equal(param_spec_to_string(&spec, &back), 0);
                assert_string_equal(back, name);
        }
}

static void test_spec_parse_length_bounded(void **state) {
        _cleanup_(param_spec_done) ParamSpec spec = {};
        _cleanup_(param_spec_done) ParamSpec e = {};
        const char *err = NULL;

        /* Only s[0..n) counts: the parser is handed the inside of "{day:date}". */
        assert_int_equal(param_spec_parse("date}/x", 4, &spec, &err), 0);
        assert_int_equal(spec.type, PARAM_DATE);
        assert_int_equal(param_spec_parse("enum(a,b)}", 9, &e, &err), 0);
        assert_int_equal(e.type, PARAM_ENUM);
        assert_int_equal(strv_length(e.enum_values), 2);
}

static void test_spec_parse_enum(void **state) {
        _cleanup_(param_spec_done) ParamSpec spec = {}, copy = {}, other = {}, single = {};
        _cleanup_free_ char *back = NULL;
        const char *err = NULL;

        assert_int_equal(param_spec_parse("enum(a,b)", 9, &spec, &err), 0);
        assert_null(err);
        assert_int_equal(spec.type, PARAM_ENUM);
        assert_non_null(spec.enum_values);
        assert_string_equal(spec.enum_values[0], "a");
        assert_string_equal(spec.enum_values[1], "b");
        assert_null(spec.enum_values[2]);
        assert_int_equal(param_spec_to_string(&spec, &back), 0);
        assert_string_equal(back, "enum(a,b)");

        assert_int_equal(param_spec_copy(&spec, &copy), 0);
        assert_true(param_spec_equal(&spec, &copy));
        assert_ptr_not_equal(copy.enum_values, spec.enum_values);

        assert_int_equal(param_spec_parse("enum(b,a)", 9, &other, &err), 0);
        assert_false(param_spec_equal(&spec, &other));
        assert_int_equal(param_spec_parse("enum(a)", 7, &single, &err), 0);
        assert_false(param_spec_equal(&spec, &single));
        assert_string_equal(single.enum_values[0], "a");
        assert_null(single.enum_values[1]);

        /* Values are taken as written: spaces and dots inside are fine. */
        {
                _cleanup_(param_spec_done) ParamSpec s2 = {};
                const char *v = "enum(dev, prod,v1.2)";

                assert_int_equal(param_spec_parse(v, strlen(v), &s2, &err), 0);
                assert_string_equal(s2.enum_values[0], "dev");
                assert_string_equal(s2.enum_values[1], " prod");
                assert_string_equal(s2.enum_values[2], "v1.2");
                assert_null(s2.enum_values[3]);
        }
}

static void test_spec_equal(void **state) {
        const ParamSpec date = { .type = PARAM_DATE }, date2 = { .type = PARAM_DATE },
                        hour = { .type = PARAM_HOUR };

        assert_true(param_spec_equal(&date, &date2));
        assert_false(param_spec_equal(&date, &hour));
}

static void test_spec_parse_errors(void **state) {
        static const char unknown[] = "unknown parameter type (expected string, int, date, "
                                      "hour, month, week, path or enum(...))";
        static const char bad_value[] = "enum values must be non-empty and contain no '/', "
                                        "',', ')', braces or control characters";

        spec_parse_fails("enum", "enum needs its values: enum(a,b,...)");
        spec_parse_fails("enum()", bad_value);
        spec_parse_fails("enum(a,a)", "enum lists a value twice");
        spec_parse_fails("date(x)", "only enum takes values in parentheses");
        spec_parse_fails("bogus", unknown);
        spec_parse_fails("", unknown);
        spec_parse_fails("Date", unknown);
        spec_parse_fails("(a)", unknown);
        spec_parse_fails("enum(a,b", "enum(...) is missing its closing ')'");
        spec_parse_fails("enum(", "enum(...) is missing its closing ')'");
        spec_parse_fails("enum(a,)", bad_value);
        spec_parse_fails("enum(,a)", bad_value);
        spec_parse_fails("enum(a,,b)", bad_value);
        spec_parse_fails("enum(a,b))", bad_value);
        spec_parse_fails("enum(.)", bad_value);
        spec_parse_fails("enum(a,..)", bad_value);
        spec_parse_fails("enum(a/b)", bad_value);
        spec_parse_fails("enum(a{b)", bad_value);
        spec_parse_fails("enum(a\tb)", bad_value);
}

static void test_string_values(void **state) {
        const ParamSpec spec = { .type = PARAM_STRING };

        assert_true(valid(PARAM_STRING, "a"));
        assert_true(valid(PARAM_STRING, "a b"));
        assert_true(valid(PARAM_STRING, "it's \"quoted\""));
        assert_false(valid(PARAM_STRING, "$(touch /tmp/owned)"));  /* has a '/' */
        assert_true(valid(PARAM_STRING, "$(touch owned);x`id`"));
        assert_true(valid(PARAM_STRING, "..."));
        assert_true(valid(PARAM_STRING, ".a"));
        assert_true(valid(PARAM_STRING, "a.."));
        assert_true(valid(PARAM_STRING, "-rf"));
        assert_true(valid(PARAM_STRING, "caf\xc3\xa9"));           /* U+00E9 */
        assert_true(valid(PARAM_STRING, "\xe2\x82\xac"));          /* U+20AC */
        assert_true(valid(PARAM_STRING, "\xf0\x9f\x98\x80"));      /* U+1F600 */

        assert_false(valid(PARAM_STRING, ""));
        assert_false(valid(PARAM_STRING, "."));
        assert_false(valid(PARAM_STRING, ".."));
        assert_false(valid(PARAM_STRING, "/"));
        assert_false(valid(PARAM_STRING, "a/b"));
        assert_false(valid(PARAM_STRING, "a/"));
        assert_false(valid(PARAM_STRING, "\xff"));
        assert_false(valid(PARAM_STRING, "a\xff"));
        assert_false(valid(PARAM_STRING, "\xc3"));                 /* truncated */
        assert_false(valid(PARAM_STRING, "\xc0\xaf"));             /* overlong '/' */
        assert_false(valid(PARAM_STRING, "\xe0\x80\xaf"));         /* overlong '/' */
        assert_false(valid(PARAM_STRING, "\xed\xa0\x80"));         /* surrogate */
        assert_false(valid(PARAM_STRING, "\xf4\x90\x80\x80"));     /* past U+10FFFF */
        assert_false(valid(PARAM_STRING, "\x80"));                 /* lone continuation */

        /* An embedded NUL is not part of any name. */
        assert_false(param_value_valid(&spec, "a\0b", 3));
        /* Only s[0..n) counts. */
        assert_true(param_value_valid(&spec, "ab/c", 2));
        assert_false(param_value_valid(&spec, "ab/c", 3));
        assert_false(param_value_valid(&spec, "..x", 2));
        assert_true(param_value_valid(&spec, "..x", 3));
}

static void test_int_values(void **state) {
        assert_true(valid(PARAM_INT, "0"));
        assert_true(valid(PARAM_INT, "-5"));
        assert_true(valid(PARAM_INT, "12"));
        assert_true(valid(PARAM_INT, "10"));
        assert_true(valid(PARAM_INT, "-10"));
        assert_true(valid(PARAM_INT, "999999999999999999"));      /* 18 digits */
        assert_true(valid(PARAM_INT, "-999999999999999999"));

        assert_false(valid(PARAM_INT, "007"));
        assert_false(valid(PARAM_INT, "00"));
        assert_false(valid(PARAM_INT, "-0"));
        assert_false(valid(PARAM_INT, "-05"));
        assert_false(valid(PARAM_INT, ""));
        assert_false(valid(PARAM_INT, "-"));
        assert_false(valid(PARAM_INT, "1a"));
        assert_false(valid(PARAM_INT, "+1"));
        assert_false(valid(PARAM_INT, " 1"));
        assert_false(valid(PARAM_INT, "1 "));
        assert_false(valid(PARAM_INT, "--1"));
        assert_false(valid(PARAM_INT, "0x10"));
        assert_false(valid(PARAM_INT, "1e3"));
        assert_false(valid(PARAM_INT, "1000000000000000000"));    /* 19 digits */
        assert_false(valid(PARAM_INT, "-1000000000000000000"));
}

static void test_date_values(void **state) {
        const ParamSpec spec = { .type = PARAM_DATE };

        assert_true(valid(PARAM_DATE, "2026-11-27"));
        assert_true(valid(PARAM_DATE, "2024-02-29"));
        assert_true(valid(PARAM_DATE, "2000-02-29"));              /* divisible by 400 */
        assert_true(valid(PARAM_DATE, "0001-01-01"));
        assert_true(valid(PARAM_DATE, "9999-12-31"));
        assert_true(valid(PARAM_DATE, "2026-01-31"));
        assert_true(valid(PARAM_DATE, "2026-04-30"));

        assert_false(valid(PARAM_DATE, "2023-02-29"));
        assert_false(valid(PARAM_DATE, "1900-02-29"));             /* divisible by 100 */
        assert_false(valid(PARAM_DATE, "2024-02-30"));
        assert_false(valid(PARAM_DATE, "2026-04-31"));
        assert_false(valid(PARAM_DATE, "2026-13-01"));
        assert_false(valid(PARAM_DATE, "2026-00-01"));
        assert_false(valid(PARAM_DATE, "2026-01-00"));
        assert_false(valid(PARAM_DATE, "2026-01-32"));
        assert_false(valid(PARAM_DATE, "2026-1-01"));
        assert_false(valid(PARAM_DATE, "2026-01-1"));
        assert_false(valid(PARAM_DATE, "0000-01-01"));
        assert_false(valid(PARAM_DATE, "26-01-01"));
        assert_false(valid(PARAM_DATE, "12026-01-01"));
        assert_false(valid(PARAM_DATE, "2026/01/01"));
        assert_false(valid(PARAM_DATE, "20260101"));
        assert_false(valid(PARAM_DATE, "2026-01-01T00"));
        assert_false(valid(PARAM_DATE, "2026-0a-01"));
        assert_false(valid(PARAM_DATE, "-026-01-01"));
        assert_false(valid(PARAM_DATE, " 2026-01-01"));
        assert_false(valid(PARAM_DATE, ""));

        /* Only s[0..n) counts: the matcher hands it a window of the name. */
        assert_true(param_value_valid(&spec, "2026-11-27.log", 10));
        assert_false(param_value_valid(&spec, "2026-11-27", 9));
}

static void test_hour_values(void **state) {
        assert_true(valid(PARAM_HOUR, "2026-11-27T13"));
        assert_true(valid(PARAM_HOUR, "2026-11-27T00"));
        assert_true(valid(PARAM_HOUR, "2026-11-27T23"));
        assert_true(valid(PARAM_HOUR, "2024-02-29T05"));

        assert_false(valid(PARAM_HOUR, "2026-11-27T24"));
        assert_false(valid(PARAM_HOUR, "2026-11-27t13"));
        assert_false(valid(PARAM_HOUR, "2026-11-27 13"));
        assert_false(valid(PARAM_HOUR, "2026-11-27T1"));
        assert_false(valid(PARAM_HOUR, "2026-11-27T013"));
        assert_false(valid(PARAM_HOUR, "2026-11-27T1a"));
        assert_false(valid(PARAM_HOUR, "2026-11-27T13:00"));
        assert_false(valid(PARAM_HOUR, "2023-02-29T13"));
        assert_false(valid(PARAM_HOUR, "0000-01-01T00"));
        assert_false(valid(PARAM_HOUR, "2026-11-27"));
        assert_false(valid(PARAM_HOUR, "2026-11-27T"));
}

static void test_month_values(void **state) {
        assert_true(valid(PARAM_MONTH, "2026-11"));
        assert_true(valid(PARAM_MONTH, "2026-01"));
        assert_true(valid(PARAM_MONTH, "2026-12"));
        assert_true(valid(PARAM_MONTH, "0001-01"));
        assert_true(valid(PARAM_MONTH, "9999-12"));

        assert_false(valid(PARAM_MONTH, "2026-13"));
        assert_false(valid(PARAM_MONTH, "2026-00"));
        assert_false(valid(PARAM_MONTH, "2026-1"));
        assert_false(valid(PARAM_MONTH, "2026-011"));
        assert_false(valid(PARAM_MONTH, "0000-01"));
        assert_false(valid(PARAM_MONTH, "2026_11"));
        assert_false(valid(PARAM_MONTH, "2026-11-01"));
        assert_false(valid(PARAM_MONTH, "202611"));
        assert_false(valid(PARAM_MONTH, ""));
}

static void test_week_values(void **state) {
        assert_true(valid(PARAM_WEEK, "2026-W48"));
        assert_true(valid(PARAM_WEEK, "2026-W01"));
        assert_true(valid(PARAM_WEEK, "2026-W53"));                /* 2026 starts on a Thursday */
        assert_true(valid(PARAM_WEEK, "2020-W53"));                /* leap year, Wednesday */
        assert_true(valid(PARAM_WEEK, "2015-W53"));
        assert_true(valid(PARAM_WEEK, "2021-W52"));
        assert_true(valid(PARAM_WEEK, "0001-W01"));
        assert_true(valid(PARAM_WEEK, "9999-W52"));

        assert_false(valid(PARAM_WEEK, "2021-W53"));
        assert_false(valid(PARAM_WEEK, "2027-W53"));
        assert_false(valid(PARAM_WEEK, "2024-W53"));               /* leap, but Monday */
        assert_false(valid(PARAM_WEEK, "9999-W53"));
        assert_false(valid(PARAM_WEEK, "2026-W00"));
        assert_false(valid(PARAM_WEEK, "2026-W54"));
        assert_false(valid(PARAM_WEEK, "2026-W99"));
        assert_false(valid(PARAM_WEEK, "2026-W1"));
        assert_false(valid(PARAM_WEEK, "2026-w48"));
        assert_false(valid(PARAM_WEEK, "2026W48"));
        assert_false(valid(PARAM_WEEK, "2026-48"));
        assert_false(valid(PARAM_WEEK, "2026-W48-1"));
        assert_false(valid(PARAM_WEEK, "0000-W01"));
        assert_false(valid(PARAM_WEEK, ""));
}

static void test_enum_values(void **state) {
        _cleanup_(param_spec_done) ParamSpec spec = {};
        const char *err = NULL;

        assert_int_equal(param_spec_parse("enum(dev,prod,a b)", 18, &spec, &err), 0);
        assert_true(param_value_valid(&spec, "dev", 3));
        assert_true(param_value_valid(&spec, "prod", 4));
        assert_true(param_value_valid(&spec, "a b", 3));
        assert_false(param_value_valid(&spec, "de", 2));
        assert_false(param_value_valid(&spec, "devx", 4));
        assert_false(param_value_valid(&spec, "Dev", 3));
        assert_false(param_value_valid(&spec, "test", 4));
        assert_false(param_value_valid(&spec, "", 0));
        /* Only s[0..n) counts. */
        assert_true(param_value_valid(&spec, "prod.log", 4));
        assert_true(param_value_valid(&spec, "devx", 3));
}

static void test_path_values(void **state) {
        assert_true(valid(PARAM_PATH, "a"));
        assert_true(valid(PARAM_PATH, "a/b/c"));
        assert_true(valid(PARAM_PATH, "a b/$(touch owned)/c;d"));
        assert_true(valid(PARAM_PATH, ".a/b..c/..."));

        assert_false(valid(PARAM_PATH, ""));
        assert_false(valid(PARAM_PATH, "a//b"));
        assert_false(valid(PARAM_PATH, "/a"));
        assert_false(valid(PARAM_PATH, "a/"));
        assert_false(valid(PARAM_PATH, "/"));
        assert_false(valid(PARAM_PATH, "a/../b"));
        assert_false(valid(PARAM_PATH, "a/./b"));
        assert_false(valid(PARAM_PATH, "."));
        assert_false(valid(PARAM_PATH, ".."));
        assert_false(valid(PARAM_PATH, "../a"));
        assert_false(valid(PARAM_PATH, "a/.."));
        assert_false(valid(PARAM_PATH, "a/\xff/b"));
}

static void test_ordinal_unsupported_and_invalid(void **state) {
        _cleanup_free_ char *s = NULL;
        int64_t v = 42;

        assert_int_equal(param_to_ordinal(PARAM_STRING, "a", &v), -EOPNOTSUPP);
        assert_int_equal(param_to_ordinal(PARAM_PATH, "a/b", &v), -EOPNOTSUPP);
        assert_int_equal(param_to_ordinal(PARAM_ENUM, "a", &v), -EOPNOTSUPP);
        assert_int_equal(param_from_ordinal(PARAM_STRING, 1, &s), -EOPNOTSUPP);
        assert_int_equal(param_from_ordinal(PARAM_PATH, 1, &s), -EOPNOTSUPP);
        assert_int_equal(param_from_ordinal(PARAM_ENUM, 1, &s), -EOPNOTSUPP);

        assert_int_equal(param_to_ordinal(PARAM_DATE, "2023-02-29", &v), -EINVAL);
        assert_int_equal(param_to_ordinal(PARAM_INT, "007", &v), -EINVAL);
        assert_int_equal(param_to_ordinal(PARAM_HOUR, "2026-11-27T24", &v), -EINVAL);
        assert_int_equal(param_to_ordinal(PARAM_MONTH, "2026-13", &v), -EINVAL);
        assert_int_equal(param_to_ordinal(PARAM_WEEK, "2021-W53", &v), -EINVAL);
        assert_int_equal(v, 42);                                 /* ret_ untouched */
        assert_null(s);
}

static void test_ordinal_anchors(void **state) {
        /* The documented origins of each ordinal. */
        assert_int_equal(ordinal(PARAM_DATE, "1970-01-01"), 0);
        assert_int_equal(ordinal(PARAM_DATE, "1969-12-31"), -1);
        assert_int_equal(ordinal(PARAM_DATE, "2026-11-27"), 20784);
        assert_int_equal(ordinal(PARAM_DATE, "2000-02-29"), 11016);
        assert_int_equal(ordinal(PARAM_DATE, "0001-01-01"), -719162);
        assert_int_equal(ordinal(PARAM_DATE, "9999-12-31"), 2932896);
        assert_int_equal(ordinal(PARAM_HOUR, "1970-01-01T00"), 0);
        assert_int_equal(ordinal(PARAM_HOUR, "1970-01-01T13"), 13);
        assert_int_equal(ordinal(PARAM_HOUR, "1969-12-31T23"), -1);
        assert_int_equal(ordinal(PARAM_HOUR, "2026-11-27T13"), 20784 * 24 + 13);
        assert_int_equal(ordinal(PARAM_MONTH, "1970-01"), 1970 * 12);
        assert_int_equal(ordinal(PARAM_MONTH, "2026-11"), 2026 * 12 + 10);
        assert_int_equal(ordinal(PARAM_MONTH, "0001-01"), 12);
        assert_int_equal(ordinal(PARAM_INT, "0"), 0);
        assert_int_equal(ordinal(PARAM_INT, "-5"), -5);
        assert_int_equal(ordinal(PARAM_INT, "12"), 12);
        assert_int_equal(ordinal(PARAM_INT, "999999999999999999"), 999999999999999999LL);
        assert_int_equal(ordinal(PARAM_INT, "-999999999999999999"), -999999999999999999LL);

        /* Weeks are consistent with days, whatever the origin. */
        assert_int_equal(ordinal(PARAM_WEEK, "1970-W02") - ordinal(PARAM_WEEK, "1970-W01"), 1);
        assert_int_equal(ordinal(PARAM_WEEK, "2026-W48") - ordinal(PARAM_WEEK, "1970-W01"),
                         (20780 - -3) / 7);        /* Mondays 2026-11-23 and 1969-12-29 */
}

static void test_week_ordinal_origin(void **state) {
        /* 1970-W01 (Monday 1969-12-29 .. Sunday 1970-01-04) is week 0, as param.h says. */
        assert_int_equal(ordinal(PARAM_WEEK, "1970-W01"), 0);
        assert_int_equal(ordinal(PARAM_WEEK, "2026-W48"), 2969);
        assert_from_ordinal(PARAM_WEEK, 0, "1970-W01");
}

static void test_ordinal_round_trips(void **state) {
        static const char * const dates[] = {
                "2026-11-27", "1970-01-01", "1969-12-31", "2000-02-29", "2024-02-29",
                "2100-03-01", "1600-02-29", "0001-01-01", "9999-12-31", "2020-12-31",
        };
        static const char * const hours[] = {
                "2026-11-27T13", "1970-01-01T00", "1969-12-31T23", "2024-02-29T23",
                "0001-01-01T00", "9999-12-31T23", "2026-12-31T23",
        };
        static const char * const months[] = {
                "2026-11", "2026-12", "2027-01", "1970-01", "1969-12", "0001-01", "9999-12",
        };
        static const char * const weeks[] = {
                "2026-W48", "2020-W53", "2021-W01", "2026-W01", "2026-W53", "1970-W01",
                "1969-W52", "0001-W01", "9999-W52", "2004-W53", "2005-W01",
        };
        static const char * const ints[] = {
                "0", "1", "-1", "-5", "12", "100", "-100", "999999999999999999",
                "-999999999999999999", "2147483648", "-2147483649",
        };

        for (size_t i = 0; i < ELEMENTSOF(dates); i++)
                assert_round_trip(PARAM_DATE, dates[i]);
        for (size_t i = 0; i < ELEMENTSOF(hours); i++)
                assert_round_trip(PARAM_HOUR, hours[i]);
        for (size_t i = 0; i < ELEMENTSOF(months); i++)
                assert_round_trip(PARAM_MONTH, months[i]);
        for (size_t i = 0; i < ELEMENTSOF(weeks); i++)
                assert_round_trip(PARAM_WEEK, weeks[i]);
        for (size_t i = 0; i < ELEMENTSOF(ints); i++)
                assert_round_trip(PARAM_INT, ints[i]);
}

static void test_ordinal_successors(void **state) {
        assert_successor(PARAM_DATE, "2020-12-31", "2021-01-01");
        assert_successor(PARAM_DATE, "2024-02-28", "2024-02-29");
        assert_successor(PARAM_DATE, "2024-02-29", "2024-03-01");
        assert_successor(PARAM_DATE, "2023-02-28", "2023-03-01");
        assert_successor(PARAM_DATE, "1900-02-28", "1900-03-01");
        assert_successor(PARAM_DATE, "2000-02-28", "2000-02-29");
        assert_successor(PARAM_DATE, "1969-12-31", "1970-01-01");
        assert_successor(PARAM_DATE, "2026-04-30", "2026-05-01");

        assert_successor(PARAM_HOUR, "2026-12-31T23", "2027-01-01T00");
        assert_successor(PARAM_HOUR, "2026-11-27T09", "2026-11-27T10");
        assert_successor(PARAM_HOUR, "2024-02-29T23", "2024-03-01T00");
        assert_successor(PARAM_HOUR, "1969-12-31T23", "1970-01-01T00");

        assert_successor(PARAM_MONTH, "2026-12", "2027-01");
        assert_successor(PARAM_MONTH, "2026-09", "2026-10");
        assert_successor(PARAM_MONTH, "1969-12", "1970-01");

        assert_successor(PARAM_WEEK, "2020-W53", "2021-W01");
        assert_successor(PARAM_WEEK, "2021-W52", "2022-W01");
        assert_successor(PARAM_WEEK, "2026-W52", "2026-W53");
        assert_successor(PARAM_WEEK, "2026-W53", "2027-W01");
        assert_successor(PARAM_WEEK, "2026-W09", "2026-W10");
        assert_successor(PARAM_WEEK, "1969-W52", "1970-W01");
        assert_successor(PARAM_WEEK, "1970-W01", "1970-W02");

        assert_successor(PARAM_INT, "-1", "0");
        assert_successor(PARAM_INT, "0", "1");
        assert_successor(PARAM_INT, "9", "10");
        assert_successor(PARAM_INT, "-10", "-9");
}

static void test_ordinal_range_limits(void **state) {
        _cleanup_free_ char *s = NULL;

        /* Years are four digits: one step past either end is out of range. */
        assert_int_equal(param_from_ordinal(PARAM_DATE, ordinal(PARAM_DATE, "0001-01-01") - 1, &s),
                         -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_DATE, ordinal(PARAM_DATE, "9999-12-31") + 1, &s),
                         -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_HOUR,
                                            ordinal(PARAM_HOUR, "0001-01-01T00") - 1, &s),
                         -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_HOUR,
                                            ordinal(PARAM_HOUR, "9999-12-31T23") + 1, &s),
                         -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_MONTH, ordinal(PARAM_MONTH, "0001-01") - 1, &s),
                         -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_MONTH, ordinal(PARAM_MONTH, "9999-12") + 1, &s),
                         -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_WEEK, ordinal(PARAM_WEEK, "0001-W01") - 1, &s),
                         -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_WEEK, ordinal(PARAM_WEEK, "9999-W52") + 1, &s),
                         -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_INT, 1000000000000000000LL, &s), -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_INT, -1000000000000000000LL, &s), -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_INT, INT64_MAX, &s), -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_INT, INT64_MIN, &s), -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_DATE, INT64_MAX / 1000, &s), -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_DATE, INT64_MIN / 1000, &s), -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_DATE, INT64_MIN, &s), -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_HOUR, INT64_MAX, &s), -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_HOUR, INT64_MIN, &s), -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_MONTH, INT64_MAX, &s), -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_MONTH, INT64_MIN, &s), -ERANGE);
        assert_null(s);                                          /* ret_ untouched */
}

static void test_ordinal_extremes(void **state) {
        _cleanup_free_ char *s = NULL;

        /* Any int64_t (an ordinal plus a shift from a mapping) gives -ERANGE near the ends,
         * never signed overflow (UBSan in CI would abort). */
        assert_int_equal(param_from_ordinal(PARAM_DATE, INT64_MAX, &s), -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_DATE, INT64_MAX - 719468 + 1, &s), -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_WEEK, INT64_MAX, &s), -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_WEEK, INT64_MIN, &s), -ERANGE);
        assert_int_equal(param_from_ordinal(PARAM_WEEK, INT64_MAX / 7 + 1, &s), -ERANGE);
        assert_null(s);
}

static void test_civil_helpers(void **state) {
        int64_t y;
        unsigned m, d;

        assert_int_equal(days_from_civil(1970, 1, 1), 0);
        assert_int_equal(days_from_civil(1969, 12, 31), -1);
        assert_int_equal(days_from_civil(2000, 3, 1), 11017);
        assert_int_equal(days_from_civil(2026, 11, 27), 20784);
        assert_int_equal(days_from_civil(1, 1, 1), -719162);
        civil_from_days(20784, &y, &m, &d);
        assert_int_equal(y, 2026);
        assert_int_equal(m, 11);
        assert_int_equal(d, 27);
        civil_from_days(-719162, &y, &m, &d);
        assert_int_equal(y, 1);
        assert_int_equal(m, 1);
        assert_int_equal(d, 1);
        civil_from_days(11016, &y, &m, &d);
        assert_int_equal(y, 2000);
        assert_int_equal(m, 2);
        assert_int_equal(d, 29);
        for (int64_t z = -800000; z <= 3000000; z += 997) {
                civil_from_days(z, &y, &m, &d);
                assert_int_equal(days_from_civil(y, m, d), z);
        }
}

/* glibc's calendar as an independent oracle. */
static struct tm oracle_tm(int64_t day) {
        time_t t = (time_t) (day * 86400);
        struct tm tm;

        assert_non_null(gmtime_r(&t, &tm));
        return tm;
}

/*
 * Every day from 1999-12-01 to 2031-01-31 against glibc: the date, its hours, its month and
 * its ISO week. Covers leap days, 2000 (leap by the 400 rule) and years with 53 ISO weeks.
 */
static void test_every_day(void **state) {
        int64_t first = ordinal(PARAM_DATE, "1999-12-01"), last = ordinal(PARAM_DATE, "2031-01-31");
        int64_t prev_week = INT64_MIN, prev_month = INT64_MIN;
        size_t n_days = 0, n_w53 = 0, n_feb29 = 0;

        assert_int_equal(first, (int64_t) (timegm(&(struct tm){ .tm_year = 99, .tm_mon = 11,
                                                                 .tm_mday = 1 }) / 86400));
        for (int64_t d = first; d <= last; d++) {
                char date[32], month[32], week[32], hour[32];
                _cleanup_free_ char *s = NULL;
                struct tm tm = oracle_tm(d);
                int64_t w, m;

                assert_int_not_equal(strftime(date, sizeof(date), "%Y-%m-%d", &tm), 0);
                assert_int_not_equal(strftime(month, sizeof(month), "%Y-%m", &tm), 0);
                assert_int_not_equal(strftime(week, sizeof(week), "%G-W%V", &tm), 0);

                /* date: string <-> ordinal */
                assert_true(valid(PARAM_DATE, date));
                assert_int_equal(param_from_ordinal(PARAM_DATE, d, &s), 0);
                assert_string_equal(s, date);
                assert_int_equal(ordinal(PARAM_DATE, date), d);

                /* hour: the first and last hour of the day */
                snprintf(hour, sizeof(hour), "%sT00", date);
                assert_int_equal(ordinal(PARAM_HOUR, hour), d * 24);
                assert_from_ordinal(PARAM_HOUR, d * 24, hour);
                snprintf(hour, sizeof(hour), "%sT23", date);
                assert_int_equal(ordinal(PARAM_HOUR, hour), d * 24 + 23);
                assert_from_ordinal(PARAM_HOUR, d * 24 + 23, hour);

                /* month: steps by one on the 1st, stays otherwise */
                m = ordinal(PARAM_MONTH, month);
                assert_from_ordinal(PARAM_MONTH, m, month);
                if (prev_month != INT64_MIN)
                        assert_int_equal(m, prev_month + (strcmp(date + 8, "01") == 0));
                prev_month = m;

                /* ISO week: steps by one on Mondays, stays otherwise, and the ordinal of the
                 * week is the ordinal of its Monday divided by 7 (up to a constant). */
                assert_true(valid(PARAM_WEEK, week));
                w = ordinal(PARAM_WEEK, week);
                assert_from_ordinal(PARAM_WEEK, w, week);
                if (prev_week != INT64_MIN)
                        assert_int_equal(w, prev_week + (tm.tm_wday == 1));
                prev_week = w;
                assert_int_equal(w - ordinal(PARAM_WEEK, "1970-W01"), floordiv7(d + 3));

                if (strcmp(week + 5, "W53") == 0)
                        n_w53++;
                if (strcmp(date + 5, "02-29") == 0)
                        n_feb29++;
                n_days++;
        }
        assert_int_equal(n_days, 11385);
        assert_int_equal(n_feb29, 8);       /* 2000, 2004, ..., 2028 */
        assert_int_equal(n_w53, 5 * 7);     /* 2004 2009 2015 2020 2026 */
}

/* year-Wnum follows prev_year-Wprev_num: the next week of the year, or W01 after the last. */
static void assert_next_week(unsigned prev_year, unsigned prev_num, unsigned year, unsigned num) {
        char past_last[16];

        if (year == prev_year) {
                assert_int_equal(num, prev_num + 1);
                return;
        }
        assert_int_equal(year, prev_year + 1);
        assert_int_equal(num, 1);
        assert_true(prev_num == 52 || prev_num == 53);
        /* the year had exactly prev_num weeks */
        snprintf(past_last, sizeof(past_last), "%04u-W%02u", prev_year, prev_num + 1);
        assert_false(valid(PARAM_WEEK, past_last));
}

/* Week ordinals over the same span: string round trip, validity, week numbers in order. */
static void test_every_week(void **state) {
        int64_t first = ordinal(PARAM_WEEK, "1999-W48"), last = ordinal(PARAM_WEEK, "2031-W05");
        unsigned prev_year = 0, prev_num = 0;

        assert_int_equal(last - first, (ordinal(PARAM_DATE, "2031-01-27") -
                                        ordinal(PARAM_DATE, "1999-11-29")) / 7);
        for (int64_t w = first; w <= last; w++) {
                _cleanup_free_ char *s = NULL;
                unsigned year, num;

                assert_int_equal(param_from_ordinal(PARAM_WEEK, w, &s), 0);
                assert_true(valid(PARAM_WEEK, s));
                assert_int_equal(ordinal(PARAM_WEEK, s), w);
                assert_int_equal(sscanf(s, "%4u-W%2u", &year, &num), 2);
                if (prev_year != 0)
                        assert_next_week(prev_year, prev_num, year, num);
                prev_year = year;
                prev_num = num;
        }
}

/* The whole four-digit range of months and weeks: every ordinal formats, parses back. */
static void test_every_month_and_week(void **state) {
        int64_t m0 = ordinal(PARAM_MONTH, "0001-01"), m1 = ordinal(PARAM_MONTH, "9999-12");
        int64_t w0 = ordinal(PARAM_WEEK, "0001-W01"), w1 = ordinal(PARAM_WEEK, "9999-W52");
        size_t n_w53 = 0;

        assert_int_equal(m1 - m0 + 1, 9999 * 12);
        for (int64_t m = m0; m <= m1; m++) {
                _cleanup_free_ char *s = NULL;
                char expected[16];

                assert_int_equal(param_from_ordinal(PARAM_MONTH, m, &s), 0);
                snprintf(expected, sizeof(expected), "%04d-%02d", (int) (m / 12),
                         (int) (m % 12) + 1);
                assert_string_equal(s, expected);
                assert_int_equal(ordinal(PARAM_MONTH, s), m);
        }
        for (int64_t w = w0; w <= w1; w++) {
                _cleanup_free_ char *s = NULL;

                assert_int_equal(param_from_ordinal(PARAM_WEEK, w, &s), 0);
                assert_true(valid(PARAM_WEEK, s));
                assert_int_equal(ordinal(PARAM_WEEK, s), w);
                n_w53 += strcmp(s + 5, "W53") == 0;
        }
        /* 71 of every 400 years have 53 ISO weeks. */
        assert_int_equal(w1 - w0 + 1, 9999 * 52 + n_w53);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_type_names),
                cmocka_unit_test(test_type_properties),
                cmocka_unit_test(test_spec_parse_simple),
                cmocka_unit_test(test_spec_parse_length_bounded),
                cmocka_unit_test(test_spec_parse_enum),
                cmocka_unit_test(test_spec_equal),
                cmocka_unit_test(test_spec_parse_errors),
                cmocka_unit_test(test_string_values),
                cmocka_unit_test(test_int_values),
                cmocka_unit_test(test_date_values),
                cmocka_unit_test(test_hour_values),
                cmocka_unit_test(test_month_values),
                cmocka_unit_test(test_week_values),
                cmocka_unit_test(test_enum_values),
                cmocka_unit_test(test_path_values),
                cmocka_unit_test(test_ordinal_unsupported_and_invalid),
                cmocka_unit_test(test_ordinal_anchors),
                cmocka_unit_test(test_week_ordinal_origin),
                cmocka_unit_test(test_ordinal_round_trips),
                cmocka_unit_test(test_ordinal_successors),
                cmocka_unit_test(test_ordinal_range_limits),
                cmocka_unit_test(test_ordinal_extremes),
                cmocka_unit_test(test_civil_helpers),
                cmocka_unit_test(test_every_day),
                cmocka_unit_test(test_every_week),
                cmocka_unit_test(test_every_month_and_week),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
