/* SPDX-License-Identifier: MIT */
/*
 * Mapping expressions: parsing and the canonical printed form, typing against a task's
 * parameters with the exact messages users see, exact forward and inverse values, and the
 * property the daemon rests on: y is among the values of e at x exactly when x is among the
 * inverse values of e at y, checked over every day of 2024-2027, hours around year and month
 * ends, and weeks across 53-week years. Week and month truncations are also checked against
 * glibc's strftime() as an independent oracle.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mapping.h"
#include "param.h"
#include "util/macro.h"
#include "util/strv.h"

/* The task parameters every expression here is checked against. */
static const struct {
        const char *name;
        ParamSpec spec;
} task_params[] = {
        { "day", { .type = PARAM_DATE } },   { "hour", { .type = PARAM_HOUR } },
        { "week", { .type = PARAM_WEEK } },  { "month", { .type = PARAM_MONTH } },
        { "n", { .type = PARAM_INT } },      { "name", { .type = PARAM_STRING } },
};

/* Passed as userdata, to see that it reaches the callback unchanged. */
static int lookup_token;

static const ParamSpec *lookup(const char *name, void *userdata) {
        assert_ptr_equal(userdata, &lookup_token);
        for (size_t i = 0; i < ELEMENTSOF(task_params); i++)
                if (streq(task_params[i].name, name))
                        return &task_params[i].spec;
        return NULL;
}

static Expr *parse(const char *s) {
        _cleanup_free_ char *err = NULL;
        Expr *e = NULL;

        assert_int_equal(expr_parse(s, strlen(s), &e, &err), 0);
        assert_null(err);
        assert_non_null(e);
        return e;
}

/* Parsed and typed; the caller frees. */
static Expr *checked(const char *s, ParamType expected_type) {
        _cleanup_free_ char *err = NULL;
        Expr *e = parse(s);

        if (expr_check(e, lookup, &lookup_token, &err) != 0)
                fail_msg("expr_check('%s'): %s", s, strna(err));
        assert_null(err);
        assert_int_equal(e->type, expected_type);
        return e;
}

static ParamType type_of(const char *s) {
        _cleanup_(expr_freep) Expr *e = parse(s);
        _cleanup_free_ char *err = NULL;

        assert_int_equal(expr_check(e, lookup, &lookup_token, &err), 0);
        assert_null(err);
        return e->type;
}

static void assert_prints(const char *s, const char *expected) {
        _cleanup_(expr_freep) Expr *e = parse(s), *again = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL;

        assert_int_equal(expr_to_string(e, &text), 0);
        assert_string_equal(text, expected);
        /* The printed form is a fixed point: it parses and prints as itself. */
        again = parse(text);
        assert_int_equal(expr_to_string(again, &text2), 0);
        assert_string_equal(text2, expected);
}

static void assert_parse_fails(const char *s, const char *expected_error) {
        _cleanup_free_ char *err = NULL;
        Expr *e = NULL;

        assert_int_equal(expr_parse(s, strlen(s), &e, &err), -EINVAL);
        assert_null(e);         /* ret_ untouched on failure */
        assert_non_null(err);
        assert_string_equal(err, expected_error);
}

static void assert_check_fails(const char *s, const char *expected_error) {
        _cleanup_(expr_freep) Expr *e = parse(s);
        _cleanup_free_ char *err = NULL;

        assert_int_equal(expr_check(e, lookup, &lookup_token, &err), -EINVAL);
        assert_non_null(err);
        assert_string_equal(err, expected_error);
}

/* The list as one line, so that a mismatch shows both whole. */
static char *joined(char * const *l) {
        char *s = NULL;

        assert_int_equal(strv_join(l, " ", &s), 0);
        assert_non_null(s);
        return s;
}

static void assert_values(char * const *got, const char *expected) {
        _cleanup_free_ char *s = NULL;

        assert_non_null(got);
        s = joined(got);
        assert_string_equal(s, expected);
}

static void assert_eval(const char *expr, ParamType type, const char *value,
                        const char *expected) {
        _cleanup_(expr_freep) Expr *e = checked(expr, type);
        _cleanup_strv_free_ char **l = NULL;

        assert_int_equal(expr_eval(e, value, &l), 0);
        assert_values(l, expected);
}

static void assert_invert(const char *expr, ParamType type, const char *value,
                          const char *expected) {
        _cleanup_(expr_freep) Expr *e = checked(expr, type);
        _cleanup_strv_free_ char **l = NULL;

        assert_int_equal(expr_invert(e, value, &l), 0);
        assert_values(l, expected);
}

/* "2026-11-27T00 2026-11-27T01 ... 2026-11-27T23" */
static char *hours_of(const char *day) {
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        assert_non_null(f);
        for (int h = 0; h < 24; h++)
                fprintf(f, "%s%sT%02d", h > 0 ? " " : "", day, h);
        assert_int_equal(fclose(f), 0);
        return s;
}

/* "2024-02-01 ... 2024-02-29" */
static char *days_of_month(const char *month, unsigned n) {
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        assert_non_null(f);
        for (unsigned d = 1; d <= n; d++)
                fprintf(f, "%s%s-%02u", d > 1 ? " " : "", month, d);
        assert_int_equal(fclose(f), 0);
        return s;
}

/* Every value of type t from first to last, through ordinals. */
static char **domain(ParamType t, const char *first, const char *last) {
        int64_t a, b;
        char **l;

        assert_int_equal(param_to_ordinal(t, first, &a), 0);
        assert_int_equal(param_to_ordinal(t, last, &b), 0);
        assert_true(a <= b);
        l = calloc((size_t) (b - a) + 2, sizeof(char *));
        assert_non_null(l);
        for (int64_t v = a; v <= b; v++)
                assert_int_equal(param_from_ordinal(t, v, &l[v - a]), 0);
        assert_string_equal(l[b - a], last);
        return l;
}

static void test_print(void **state) {
        assert_prints("${day}", "${day}");
        /* A shift inside or outside the braces is the same expression, printed outside. */
        assert_prints("${day - 1d}", "${day} - 1d");
        assert_prints("${day} - 1d", "${day} - 1d");
        assert_prints("${hour + 1h}", "${hour} + 1h");
        assert_prints("${month - 1m}", "${month} - 1m");
        assert_prints("${week - 1w}", "${week} - 1w");
        assert_prints("${n + 3}", "${n} + 3");
        assert_prints("hours(${day})", "hours(${day})");
        assert_prints("days(${week})", "days(${week})");
        assert_prints("days(${month})", "days(${month})");
        assert_prints("day(${hour})", "day(${hour})");
        assert_prints("week(${day})", "week(${day})");
        assert_prints("month(${day})", "month(${day})");
        assert_prints("month(${hour})", "month(${hour})");
        assert_prints("range(${day} - 6d, ${day})", "range(${day} - 6d, ${day})");
        assert_prints("hours(${day - 1d})", "hours(${day} - 1d)");

        /* Spacing is free; the printed form has one spelling. */
        assert_prints("  ${ day-1d }  ", "${day} - 1d");
        assert_prints("range(${day-6d},${day})", "range(${day} - 6d, ${day})");
        assert_prints("hours ( ${day} )", "hours(${day})");
        assert_prints("${n - 0}", "${n} + 0");      /* zero has one sign */
        assert_prints("${n + 0}", "${n} + 0");
        assert_prints("${day + 10000000000d}", "${day} + 10000000000d");
}

static void test_parse_structure(void **state) {
        _cleanup_(expr_freep) Expr *shift = parse("${day - 6d}"), *range = NULL, *ref = NULL,
                                   *prefix = NULL;
        _cleanup_free_ char *text = NULL, *err = NULL;

        assert_int_equal(shift->kind, EXPR_SHIFT);
        assert_int_equal(shift->shift, -6);
        assert_int_equal(shift->shift_unit, 'd');
        assert_int_equal(shift->a->kind, EXPR_REF);
        assert_string_equal(shift->a->param, "day");
        assert_null(shift->b);
        /* Untyped until checked. */
        assert_int_equal(shift->type, _PARAM_TYPE_INVALID);

        range = parse("range(${day} - 6d, ${day})");
        assert_int_equal(range->kind, EXPR_RANGE);
        assert_int_equal(range->a->kind, EXPR_SHIFT);
        assert_int_equal(range->b->kind, EXPR_REF);

        assert_int_equal(expr_new_ref("hour", &ref), 0);
        assert_int_equal(ref->kind, EXPR_REF);
        assert_string_equal(ref->param, "hour");
        assert_int_equal(expr_to_string(ref, &text), 0);
        assert_string_equal(text, "${hour}");

        /* Only s[0..n) is read. */
        assert_int_equal(expr_parse("${n}garbage", 4, &prefix, &err), 0);
        assert_null(err);
        assert_int_equal(prefix->kind, EXPR_REF);
        assert_string_equal(prefix->param, "n");
}

static void test_parse_errors(void **state) {
        assert_parse_fails("", "expected ${name}, a function or a constant at column 1 of ''");
        assert_parse_fails("${", "expected a parameter name after '${' at column 3 of '${'");
        assert_parse_fails("${day", "expected '}' at column 6 of '${day'");
        assert_parse_fails("${day - }", "expected a number after '-' at column 9 of '${day - }'");
        assert_parse_fails("${day - 1x}", "unknown unit (h, d, w or m) at column 10 of "
                                          "'${day - 1x}'");
        assert_parse_fails("hourz(${day})", "unknown function 'hourz' (hours, days, day, week, "
                                            "month, range, all) at column 1 of 'hourz(${day})'");
        assert_parse_fails("hours(${day}", "expected ')' at column 13 of 'hours(${day}'");
        assert_parse_fails("range(${day})", "range() takes two arguments: expected ',' at "
                                            "column 13 of 'range(${day})'");
        assert_parse_fails("${day} extra", "unexpected text at column 8 of '${day} extra'");

        /* And a few more corners. */
        assert_parse_fails("${day + 1dd}", "unknown unit (h, d, w or m) at column 11 of "
                                           "'${day + 1dd}'");
        assert_parse_fails("${day} +", "expected a number after '+' at column 9 of '${day} +'");
        assert_parse_fails("hours ${day}", "expected '(' after 'hours' at column 7 of "
                                           "'hours ${day}'");
        assert_parse_fails("$day", "expected ${name}, a function or a constant at column 1 of "
                                   "'$day'");
        assert_parse_fails("${day + 100000000000d}", "shift too large at column 20 of "
                                                     "'${day + 100000000000d}'");
        assert_parse_fails("range(${day}, ${day}, ${day})",
                           "expected ')' at column 21 of 'range(${day}, ${day}, ${day})'");
        assert_parse_fails("hours(${day}) - 1d",
                           "unexpected text at column 15 of 'hours(${day}) - 1d'");
}

static void test_check_types(void **state) {
        assert_int_equal(type_of("${day}"), PARAM_DATE);
        assert_int_equal(type_of("${name}"), PARAM_STRING);
        assert_int_equal(type_of("${day - 1d}"), PARAM_DATE);
        assert_int_equal(type_of("${day} - 1d"), PARAM_DATE);
        assert_int_equal(type_of("${day} + 2w"), PARAM_DATE);
        assert_int_equal(type_of("${hour + 1h}"), PARAM_HOUR);
        assert_int_equal(type_of("${hour - 1d}"), PARAM_HOUR);
        assert_int_equal(type_of("${hour - 1w}"), PARAM_HOUR);
        assert_int_equal(type_of("${month - 1m}"), PARAM_MONTH);
        assert_int_equal(type_of("${week - 1w}"), PARAM_WEEK);
        assert_int_equal(type_of("${n + 3}"), PARAM_INT);
        assert_int_equal(type_of("hours(${day})"), PARAM_HOUR);
        assert_int_equal(type_of("hours(${week})"), PARAM_HOUR);
        assert_int_equal(type_of("hours(${month})"), PARAM_HOUR);
        assert_int_equal(type_of("days(${week})"), PARAM_DATE);
        assert_int_equal(type_of("days(${month})"), PARAM_DATE);
        assert_int_equal(type_of("day(${hour})"), PARAM_DATE);
        assert_int_equal(type_of("week(${day})"), PARAM_WEEK);
        assert_int_equal(type_of("week(${hour})"), PARAM_WEEK);
        assert_int_equal(type_of("month(${day})"), PARAM_MONTH);
        assert_int_equal(type_of("month(${hour})"), PARAM_MONTH);
        assert_int_equal(type_of("range(${day} - 6d, ${day})"), PARAM_DATE);
        assert_int_equal(type_of("range(${n} - 2, ${n} + 2)"), PARAM_INT);
        assert_int_equal(type_of("range(${day}, ${day})"), PARAM_DATE);
        assert_int_equal(type_of("hours(${day - 1d})"), PARAM_HOUR);
        assert_int_equal(type_of("week(${day} - 3d)"), PARAM_WEEK);
}

static void test_check_errors(void **state) {
        assert_check_fails("${missing}", "${missing}: needs 'missing', which no output binds");
        assert_check_fails("${day - 1m}", "${day} - 1m: a date shifts by d or w");
        assert_check_fails("${name + 1}", "${name} + 1: a string shifts by nothing: only int and "
                                          "time parameters shift");
        assert_check_fails("week(${week})", "week(${week}): cannot truncate a week to weeks");
        assert_check_fails("hours(${hour})", "hours(${hour}): cannot expand an hour to hours");
        assert_check_fails("week(${month})", "week(${month}): cannot truncate a month to weeks");
        assert_check_fails("day(hours(${day}))", "day(hours(${day})): functions apply to one "
                                                 "value, not a fan-in");
        assert_check_fails("range(${day}, ${n})", "range(${day}, ${n}): both ends must be the "
                                                  "same parameter, shifted: range(${day} - 6d, "
                                                  "${day})");
        assert_check_fails("range(${day}, ${day} - 1d)", "range(${day}, ${day} - 1d): the range "
                                                         "is empty (its start is after its end)");
        assert_check_fails("hours(${name})", "hours(${name}): needs an hour, date, week or "
                                             "month, not a string");

        /* More of the same family. */
        assert_check_fails("${n + 1d}", "${n} + 1d: an int shifts by a plain number");
        assert_check_fails("${hour + 1m}", "${hour} + 1m: an hour shifts by h, d or w");
        assert_check_fails("${week + 1d}", "${week} + 1d: a week shifts by w");
        assert_check_fails("${month + 1}", "${month} + 1: a month shifts by m");
        assert_check_fails("${day + 1}", "${day} + 1: a date shifts by d or w");
        assert_check_fails("day(${week})", "day(${week}): cannot truncate a week to dates");
        assert_check_fails("days(${hour})", "days(${hour}): cannot expand an hour to dates");
        assert_check_fails("month(${month})", "month(${month}): cannot truncate a month to "
                                              "months");
        assert_check_fails("days(${n})", "days(${n}): needs an hour, date, week or month, not "
                                         "an int");
        assert_check_fails("hours(days(${week}))", "hours(days(${week})): functions apply to one "
                                                   "value, not a fan-in");
        assert_check_fails("range(${name}, ${name})", "range(${name}, ${name}): a range needs an "
                                                      "int or time parameter");
        assert_check_fails("range(day(${hour}), ${day})",
                           "range(day(${hour}), ${day}): both ends must be the same parameter, "
                           "shifted: range(${day} - 6d, ${day})");
        assert_check_fails("range(${n}, ${n} + 100000)", "range(${n}, ${n} + 100000): more than "
                                                         "10000 values");
        /* The first problem found is the one reported, innermost first. */
        assert_check_fails("hours(${missing} - 1d)", "${missing}: needs 'missing', which no "
                                                     "output binds");
}

static void test_print_after_check(void **state) {
        /* Checking converts a shift into the type's units for evaluation, but messages print
         * the expression as it was written ("${hour - 1d}", not 24 of something). */

        static const struct {
                const char *expr;
                ParamType type;
        } cases[] = {
                { "${hour - 1d}", PARAM_HOUR },
                { "${day} + 2w", PARAM_DATE },
                { "${hour} - 1w", PARAM_HOUR },
                { "range(${day} - 1w, ${day})", PARAM_DATE },
                { "hours(${day - 1w})", PARAM_HOUR },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(expr_freep) Expr *e = checked(cases[i].expr, cases[i].type),
                                           *plain = parse(cases[i].expr);
                _cleanup_free_ char *got = NULL, *expected = NULL;

                assert_int_equal(expr_to_string(plain, &expected), 0);
                assert_int_equal(expr_to_string(e, &got), 0);
                assert_string_equal(got, expected);
        }
        assert_check_fails("range(${hour} - 1d, ${n})",
                           "range(${hour} - 1d, ${n}): both ends must be the same parameter, "
                           "shifted: range(${day} - 6d, ${day})");
        assert_check_fails("range(${day}, ${day} - 1w)", "range(${day}, ${day} - 1w): the range "
                                                         "is empty (its start is after its end)");
}

static void test_print_double_shift(void **state) {
        /* A shift inside the braces and one after them print as a chain that parses back. */

        _cleanup_(expr_freep) Expr *e = parse("${day - 1d} + 2d"), *again = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL, *err = NULL;

        assert_int_equal(expr_to_string(e, &text), 0);
        assert_int_equal(expr_parse(text, strlen(text), &again, &err), 0);
        assert_null(err);
        assert_int_equal(expr_to_string(again, &text2), 0);
        assert_string_equal(text2, text);
}

static void test_param_and_multi(void **state) {
        static const struct {
                const char *expr;
                const char *param;
                bool multi;
                ParamType type;
        } cases[] = {
                { "${day}", "day", false, PARAM_DATE },
                { "${day - 1d}", "day", false, PARAM_DATE },
                { "${n + 3}", "n", false, PARAM_INT },
                { "day(${hour})", "hour", false, PARAM_DATE },
                { "week(${day} - 3d)", "day", false, PARAM_WEEK },
                { "month(${hour})", "hour", false, PARAM_MONTH },
                { "hours(${day})", "day", true, PARAM_HOUR },
                { "hours(${day - 1d})", "day", true, PARAM_HOUR },
                { "days(${week})", "week", true, PARAM_DATE },
                { "days(${month})", "month", true, PARAM_DATE },
                { "range(${day} - 6d, ${day})", "day", true, PARAM_DATE },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(expr_freep) Expr *e = checked(cases[i].expr, cases[i].type);

                assert_string_equal(expr_param(e), cases[i].param);
                assert_int_equal(expr_is_multi(e), cases[i].multi);
        }
}

static void test_eval(void **state) {
        _cleanup_free_ char *hours = hours_of("2026-11-27"), *feb = NULL;

        assert_eval("hours(${day})", PARAM_HOUR, "2026-11-27", hours);
        assert_eval("days(${week})", PARAM_DATE, "2026-W48",
                    "2026-11-23 2026-11-24 2026-11-25 2026-11-26 2026-11-27 2026-11-28 "
                    "2026-11-29");
        feb = days_of_month("2024-02", 29);
        assert_eval("days(${month})", PARAM_DATE, "2024-02", feb);
        assert_eval("range(${day} - 6d, ${day})", PARAM_DATE, "2026-03-02",
                    "2026-02-24 2026-02-25 2026-02-26 2026-02-27 2026-02-28 2026-03-01 "
                    "2026-03-02");
        assert_eval("${day - 1d}", PARAM_DATE, "2026-01-01", "2025-12-31");
        /* 2026 began on a Thursday: it has 53 ISO weeks (date -d 2027-01-01 +%G-W%V). */
        assert_eval("week(${day})", PARAM_WEEK, "2027-01-01", "2026-W53");
        assert_eval("month(${hour})", PARAM_MONTH, "2026-11-30T23", "2026-11");
        assert_eval("${n + 3}", PARAM_INT, "-2", "1");

        /* Shifts in other units, converted to the parameter's. */
        assert_eval("${hour + 1h}", PARAM_HOUR, "2026-12-31T23", "2027-01-01T00");
        assert_eval("${hour - 1d}", PARAM_HOUR, "2026-03-01T05", "2026-02-28T05");
        assert_eval("${hour} + 1w", PARAM_HOUR, "2026-11-27T13", "2026-12-04T13");
        assert_eval("${day} + 2w", PARAM_DATE, "2026-12-25", "2027-01-08");
        assert_eval("${month - 1m}", PARAM_MONTH, "2026-01", "2025-12");
        assert_eval("${month} + 13m", PARAM_MONTH, "2026-12", "2028-01");
        assert_eval("${week - 1w}", PARAM_WEEK, "2027-W01", "2026-W53");
        assert_eval("${week + 1w}", PARAM_WEEK, "2026-W53", "2027-W01");
        assert_eval("${n - 3}", PARAM_INT, "2", "-1");
        assert_eval("${n}", PARAM_INT, "0", "0");
        assert_eval("${name}", PARAM_STRING, "a b", "a b");

        /* Other conversions. */
        assert_eval("day(${hour})", PARAM_DATE, "2026-11-27T00", "2026-11-27");
        assert_eval("week(${hour})", PARAM_WEEK, "2026-11-29T23", "2026-W48");
        assert_eval("week(${hour})", PARAM_WEEK, "2026-11-30T00", "2026-W49");
        assert_eval("week(${day})", PARAM_WEEK, "2024-12-30", "2025-W01");
        assert_eval("month(${day})", PARAM_MONTH, "2024-02-29", "2024-02");
        assert_eval("week(${day} - 3d)", PARAM_WEEK, "2027-01-04", "2026-W53");
        assert_eval("days(${week})", PARAM_DATE, "2026-W53",
                    "2026-12-28 2026-12-29 2026-12-30 2026-12-31 2027-01-01 2027-01-02 "
                    "2027-01-03");
        assert_eval("days(${week})", PARAM_DATE, "2025-W01",
                    "2024-12-30 2024-12-31 2025-01-01 2025-01-02 2025-01-03 2025-01-04 "
                    "2025-01-05");
        assert_eval("range(${n} - 2, ${n} + 2)", PARAM_INT, "0", "-2 -1 0 1 2");
        assert_eval("range(${day}, ${day})", PARAM_DATE, "2026-11-27", "2026-11-27");
        assert_eval("range(${hour} - 2h, ${hour})", PARAM_HOUR, "2027-01-01T01",
                    "2026-12-31T23 2027-01-01T00 2027-01-01T01");
        {
                _cleanup_free_ char *prev = hours_of("2026-11-26");
                assert_eval("hours(${day - 1d})", PARAM_HOUR, "2026-11-27", prev);
        }

        /* Counts of the big fan-ins. */
        {
                _cleanup_(expr_freep) Expr *w = checked("hours(${week})", PARAM_HOUR),
                                           *m = checked("hours(${month})", PARAM_HOUR),
                                           *md = checked("days(${month})", PARAM_DATE);
                _cleanup_strv_free_ char **lw = NULL, **lm = NULL, **l2 = NULL, **l3 = NULL;

                assert_int_equal(expr_eval(w, "2026-W48", &lw), 0);
                assert_int_equal(strv_length(lw), 168);
                assert_string_equal(lw[0], "2026-11-23T00");
                assert_string_equal(lw[167], "2026-11-29T23");
                assert_int_equal(expr_eval(m, "2026-02", &lm), 0);
                assert_int_equal(strv_length(lm), 28 * 24);
                assert_string_equal(lm[0], "2026-02-01T00");
                assert_string_equal(lm[28 * 24 - 1], "2026-02-28T23");
                assert_int_equal(expr_eval(md, "2100-02", &l2), 0);     /* not a leap year */
                assert_int_equal(strv_length(l2), 28);
                assert_int_equal(expr_eval(md, "2000-02", &l3), 0);     /* but this one is */
                assert_int_equal(strv_length(l3), 29);
        }
}

static void test_eval_bad_values(void **state) {
        static const struct {
                const char *expr;
                ParamType type;
                const char *value;
        } cases[] = {
                { "${day - 1d}", PARAM_DATE, "2026-02-29" },
                { "${day - 1d}", PARAM_DATE, "2026-11-27T00" },
                { "hours(${day})", PARAM_HOUR, "" },
                { "week(${day})", PARAM_WEEK, "2026-W54" },
                { "days(${week})", PARAM_DATE, "2025-W53" },        /* 2025 has 52 weeks */
                { "${n + 3}", PARAM_INT, "03" },
                { "${n + 3}", PARAM_INT, "-0" },
                { "days(${month})", PARAM_DATE, "2026-13" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(expr_freep) Expr *e = checked(cases[i].expr, cases[i].type);
                char **l = NULL;

                assert_int_equal(expr_eval(e, cases[i].value, &l), -EINVAL);
                assert_null(l);
                assert_int_equal(expr_invert(e, cases[i].value, &l), -EINVAL);
                assert_null(l);
        }
}

static void test_invert(void **state) {
        _cleanup_free_ char *hours = hours_of("2026-11-27");

        assert_invert("hours(${day})", PARAM_HOUR, "2026-11-27T05", "2026-11-27");
        assert_invert("day(${hour})", PARAM_DATE, "2026-11-27", hours);
        assert_invert("${day - 1d}", PARAM_DATE, "2026-11-27", "2026-11-28");
        assert_invert("range(${day} - 6d, ${day})", PARAM_DATE, "2026-11-27",
                      "2026-11-27 2026-11-28 2026-11-29 2026-11-30 2026-12-01 2026-12-02 "
                      "2026-12-03");
        assert_invert("week(${day})", PARAM_WEEK, "2026-W48",
                      "2026-11-23 2026-11-24 2026-11-25 2026-11-26 2026-11-27 2026-11-28 "
                      "2026-11-29");
        assert_invert("days(${month})", PARAM_DATE, "2026-02-14", "2026-02");

        assert_invert("${day}", PARAM_DATE, "2026-11-27", "2026-11-27");
        assert_invert("${hour - 1d}", PARAM_HOUR, "2026-02-28T05", "2026-03-01T05");
        assert_invert("${week - 1w}", PARAM_WEEK, "2026-W53", "2027-W01");
        assert_invert("${month} + 1m", PARAM_MONTH, "2027-01", "2026-12");
        assert_invert("${n + 3}", PARAM_INT, "1", "-2");
        assert_invert("days(${week})", PARAM_DATE, "2027-01-01", "2026-W53");
        assert_invert("hours(${day - 1d})", PARAM_HOUR, "2026-11-27T05", "2026-11-28");
        assert_invert("hours(${month})", PARAM_HOUR, "2026-12-31T23", "2026-12");
        assert_invert("hours(${week})", PARAM_HOUR, "2027-01-03T23", "2026-W53");
        assert_invert("month(${day})", PARAM_MONTH, "2024-02",
                      "2024-02-01 2024-02-02 2024-02-03 2024-02-04 2024-02-05 2024-02-06 "
                      "2024-02-07 2024-02-08 2024-02-09 2024-02-10 2024-02-11 2024-02-12 "
                      "2024-02-13 2024-02-14 2024-02-15 2024-02-16 2024-02-17 2024-02-18 "
                      "2024-02-19 2024-02-20 2024-02-21 2024-02-22 2024-02-23 2024-02-24 "
                      "2024-02-25 2024-02-26 2024-02-27 2024-02-28 2024-02-29");
        assert_invert("week(${day} - 3d)", PARAM_WEEK, "2026-W48",
                      "2026-11-26 2026-11-27 2026-11-28 2026-11-29 2026-11-30 2026-12-01 "
                      "2026-12-02");
        assert_invert("range(${n} - 2, ${n} + 2)", PARAM_INT, "0", "-2 -1 0 1 2");
        assert_invert("range(${hour} - 2h, ${hour})", PARAM_HOUR, "2026-12-31T23",
                      "2026-12-31T23 2027-01-01T00 2027-01-01T01");
        {
                _cleanup_(expr_freep) Expr *w = checked("week(${hour})", PARAM_WEEK),
                                           *m = checked("month(${hour})", PARAM_MONTH);
                _cleanup_strv_free_ char **lw = NULL, **lm = NULL;

                assert_int_equal(expr_invert(w, "2026-W53", &lw), 0);
                assert_int_equal(strv_length(lw), 168);
                assert_string_equal(lw[0], "2026-12-28T00");
                assert_string_equal(lw[167], "2027-01-03T23");
                assert_int_equal(expr_invert(m, "2024-02", &lm), 0);
                assert_int_equal(strv_length(lm), 29 * 24);
                assert_string_equal(lm[0], "2024-02-01T00");
                assert_string_equal(lm[29 * 24 - 1], "2024-02-29T23");
        }
}

/* Truncations against glibc: ISO week (%G-W%V) and month of every day of 2024-2027. */
static void test_truncations_against_libc(void **state) {
        _cleanup_(expr_freep) Expr *week = checked("week(${day})", PARAM_WEEK),
                                   *month = checked("month(${day})", PARAM_MONTH),
                                   *hweek = checked("week(${hour})", PARAM_WEEK),
                                   *days = checked("days(${month})", PARAM_DATE);
        _cleanup_strv_free_ char **all = domain(PARAM_DATE, "2024-01-01", "2027-12-31");
        size_t n = 0;

        STRV_FOREACH(d, all) {
                _cleanup_strv_free_ char **w = NULL, **m = NULL, **hw = NULL;
                _cleanup_free_ char *noon = NULL;
                char iso[16], ym[16], ymd[16];
                struct tm tm;
                time_t t = (time_t) (days_from_civil(2024, 1, 1) + (int64_t) n) * 86400;

                assert_non_null(gmtime_r(&t, &tm));
                assert_true(strftime(ymd, sizeof(ymd), "%Y-%m-%d", &tm) > 0);
                assert_string_equal(*d, ymd);
                assert_true(strftime(iso, sizeof(iso), "%G-W%V", &tm) > 0);
                assert_true(strftime(ym, sizeof(ym), "%Y-%m", &tm) > 0);

                assert_int_equal(expr_eval(week, *d, &w), 0);
                assert_values(w, iso);
                assert_int_equal(expr_eval(month, *d, &m), 0);
                assert_values(m, ym);
                assert_true(asprintf(&noon, "%sT12", *d) > 0);
                assert_int_equal(expr_eval(hweek, noon, &hw), 0);
                assert_values(hw, iso);

                /* On the first of a month, the month's length from glibc. */
                if (tm.tm_mday == 1) {
                        _cleanup_strv_free_ char **l = NULL;
                        struct tm next = tm;
                        time_t tn;

                        next.tm_mon++;
                        next.tm_mday = 0;       /* the last day of this month */
                        tn = timegm(&next);
                        assert_true(tn != (time_t) -1);
                        assert_int_equal(expr_eval(days, ym, &l), 0);
                        assert_int_equal(strv_length(l), next.tm_mday);
                        assert_string_equal(l[0], ymd);
                }
                n++;
        }
        assert_int_equal(n, 366 + 365 + 365 + 365);
}

/* Whether the values of type t in l are strictly increasing (oldest first, each once). */
static void assert_ordered(ParamType t, char * const *l) {
        int64_t prev = INT64_MIN, v;

        STRV_FOREACH(s, l) {
                assert_int_equal(param_to_ordinal(t, *s, &v), 0);
                assert_true(v > prev);
                prev = v;
        }
}

/* The last list computed, by its argument: neighbouring hours share a day, month or week. */
typedef struct Memo {
        char *key;
        char **values;
} Memo;

static void memo_done(Memo *m) {
        free(m->key);
        strv_free(m->values);
}

static char * const *memo_get(Memo *m, const Expr *e, bool inverse, ParamType t,
                              const char *key) {
        if (m->key && streq(m->key, key))
                return m->values;
        free(m->key);
        m->key = NULL;
        m->values = strv_free(m->values);
        if (inverse)
                assert_int_equal(expr_invert(e, key, &m->values), 0);
        else
                assert_int_equal(expr_eval(e, key, &m->values), 0);
        assert_non_null(m->values);
        assert_ordered(t, m->values);
        m->key = strdup(key);
        assert_non_null(m->key);
        return m->values;
}

/*
 * For every x in xs and y in eval(e, x): x in invert(e, y). For every y in ys and x in
 * invert(e, y): y in eval(e, x). And eval() at any x in xs reaches some y.
 */
static void assert_galois(const char *expr, ParamType x_type, ParamType y_type, char * const *xs,
                          char * const *ys) {
        _cleanup_(expr_freep) Expr *e = checked(expr, y_type);
        _cleanup_(memo_done) Memo fwd = {}, back = {};
        size_t pairs = 0;

        STRV_FOREACH(x, xs) {
                char * const *f = memo_get(&fwd, e, false, y_type, *x);

                assert_non_null(f[0]);
                STRV_FOREACH(y, f) {
                        if (!strv_contains(memo_get(&back, e, true, x_type, *y), *x))
                                fail_msg("%s: %s is a value at %s, but the inverse at %s "
                                         "misses it", expr, *y, *x, *y);
                        pairs++;
                }
        }
        STRV_FOREACH(y, ys) {
                char * const *b = memo_get(&back, e, true, x_type, *y);

                STRV_FOREACH(x, b) {
                        if (!strv_contains(memo_get(&fwd, e, false, y_type, *x), *y))
                                fail_msg("%s: %s is in the inverse at %s, but the values at "
                                         "%s miss it", expr, *x, *y, *x);
                        pairs++;
                }
        }
        assert_true(pairs > 0);
}

/* Hours around ends of years and months, leap days included, as one list. */
static char **some_hours(void) {
        static const char * const windows[][2] = {
                { "2024-02-28T00", "2024-03-01T23" },
                { "2025-12-31T00", "2026-01-01T23" },
                { "2026-11-29T00", "2026-12-01T23" },
                { "2026-12-31T00", "2027-01-04T23" },
        };
        char **all = NULL;

        for (size_t i = 0; i < ELEMENTSOF(windows); i++) {
                _cleanup_strv_free_ char **l = domain(PARAM_HOUR, windows[i][0], windows[i][1]);

                STRV_FOREACH(h, l)
                        assert_int_equal(strv_extend(&all, *h), 0);
        }
        return all;
}

static int compare_int64(const void *a, const void *b) {
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

        return (x > y) - (x < y);
}

/*
 * The values e takes over xs, each widened by one on both sides: the part of a coarse domain
 * that a few hours reach, and its edges, instead of every month's 744 hours.
 */
static char **near_image(const char *expr, ParamType y_type, char * const *xs) {
        _cleanup_(expr_freep) Expr *e = checked(expr, y_type);
        _cleanup_free_ int64_t *v = NULL;
        size_t n = 0, k = 0;
        char **l;

        STRV_FOREACH(x, xs) {
                _cleanup_strv_free_ char **fwd = NULL;

                assert_int_equal(expr_eval(e, *x, &fwd), 0);
                STRV_FOREACH(y, fwd) {
                        int64_t o;

                        assert_int_equal(param_to_ordinal(y_type, *y, &o), 0);
                        v = reallocarray(v, n + 3, sizeof(int64_t));
                        assert_non_null(v);
                        v[n++] = o - 1;
                        v[n++] = o;
                        v[n++] = o + 1;
                }
        }
        assert_true(n > 0);
        qsort(v, n, sizeof(int64_t), compare_int64);
        l = calloc(n + 1, sizeof(char *));
        assert_non_null(l);
        for (size_t i = 0; i < n; i++)
                if (i == 0 || v[i] != v[i - 1])
                        assert_int_equal(param_from_ordinal(y_type, v[i], &l[k++]), 0);
        return l;
}

static void test_round_trip_properties(void **state) {
        _cleanup_strv_free_ char **days = domain(PARAM_DATE, "2024-01-01", "2027-12-31"),
                                 **hours = some_hours(),
                                 **weeks = domain(PARAM_WEEK, "2024-W01", "2027-W52"),
                                 **months = domain(PARAM_MONTH, "2024-01", "2027-12"),
                                 **ints = domain(PARAM_INT, "-30", "30");
        static const struct {
                const char *expr;
                ParamType x, y;
        } cases[] = {
                { "${day}", PARAM_DATE, PARAM_DATE },
                { "${day - 1d}", PARAM_DATE, PARAM_DATE },
                { "${day} + 2w", PARAM_DATE, PARAM_DATE },
                { "hours(${day})", PARAM_DATE, PARAM_HOUR },
                { "hours(${day - 1d})", PARAM_DATE, PARAM_HOUR },
                { "week(${day})", PARAM_DATE, PARAM_WEEK },
                { "week(${day} - 3d)", PARAM_DATE, PARAM_WEEK },
                { "month(${day})", PARAM_DATE, PARAM_MONTH },
                { "month(${day + 1w})", PARAM_DATE, PARAM_MONTH },
                { "range(${day} - 6d, ${day})", PARAM_DATE, PARAM_DATE },
                { "range(${day} - 1w, ${day} + 1d)", PARAM_DATE, PARAM_DATE },
                { "range(${day} + 1d, ${day} + 3d)", PARAM_DATE, PARAM_DATE },
                { "${hour}", PARAM_HOUR, PARAM_HOUR },
                { "${hour + 1h}", PARAM_HOUR, PARAM_HOUR },
                { "${hour - 1d}", PARAM_HOUR, PARAM_HOUR },
                { "day(${hour})", PARAM_HOUR, PARAM_DATE },
                { "day(${hour} - 6h)", PARAM_HOUR, PARAM_DATE },
                { "week(${hour})", PARAM_HOUR, PARAM_WEEK },
                { "month(${hour})", PARAM_HOUR, PARAM_MONTH },
                { "month(${hour - 1h})", PARAM_HOUR, PARAM_MONTH },
                { "range(${hour} - 23h, ${hour})", PARAM_HOUR, PARAM_HOUR },
                { "${week - 1w}", PARAM_WEEK, PARAM_WEEK },
                { "days(${week})", PARAM_WEEK, PARAM_DATE },
                { "days(${week + 1w})", PARAM_WEEK, PARAM_DATE },
                { "hours(${week})", PARAM_WEEK, PARAM_HOUR },
                { "range(${week} - 3w, ${week})", PARAM_WEEK, PARAM_WEEK },
                { "${month - 1m}", PARAM_MONTH, PARAM_MONTH },
                { "days(${month})", PARAM_MONTH, PARAM_DATE },
                { "days(${month - 12m})", PARAM_MONTH, PARAM_DATE },
                { "hours(${month})", PARAM_MONTH, PARAM_HOUR },
                { "range(${month} - 2m, ${month})", PARAM_MONTH, PARAM_MONTH },
                { "${n}", PARAM_INT, PARAM_INT },
                { "${n + 3}", PARAM_INT, PARAM_INT },
                { "range(${n} - 2, ${n} + 2)", PARAM_INT, PARAM_INT },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char **domains[_PARAM_TYPE_MAX] = {
                        [PARAM_DATE] = days, [PARAM_HOUR] = hours, [PARAM_WEEK] = weeks,
                        [PARAM_MONTH] = months, [PARAM_INT] = ints,
                };

                _cleanup_strv_free_ char **near = NULL;

                /* The few hours reach a few days, weeks and months: those, not four years. */
                if (cases[i].x == PARAM_HOUR && cases[i].y != PARAM_HOUR)
                        near = near_image(cases[i].expr, cases[i].y, hours);
                assert_galois(cases[i].expr, cases[i].x, cases[i].y, domains[cases[i].x],
                              near ?: domains[cases[i].y]);
        }
}

/* Near 0001-01-01 and 9999-12-31: values outside years 1-9999 are dropped, nothing breaks. */
static void test_year_edges(void **state) {
        _cleanup_free_ char *first_hours = hours_of("0001-01-01"), *last_hours = NULL;

        /* Shifted out of range: no value at all, which is not an error. */
        assert_eval("${day - 1d}", PARAM_DATE, "0001-01-01", "");
        assert_eval("${day + 1d}", PARAM_DATE, "9999-12-31", "");
        assert_eval("${hour - 1h}", PARAM_HOUR, "0001-01-01T00", "");
        assert_eval("${hour + 1h}", PARAM_HOUR, "9999-12-31T23", "");
        assert_eval("${week - 1w}", PARAM_WEEK, "0001-W01", "");
        assert_eval("${week + 1w}", PARAM_WEEK, "9999-W52", "");
        assert_eval("${month - 1m}", PARAM_MONTH, "0001-01", "");
        assert_eval("${month + 1m}", PARAM_MONTH, "9999-12", "");
        assert_invert("${day - 1d}", PARAM_DATE, "9999-12-31", "");
        assert_invert("${day + 1d}", PARAM_DATE, "0001-01-01", "");
        assert_eval("${day + 1000000000d}", PARAM_DATE, "2026-11-27", "");
        assert_eval("${hour - 1000000000w}", PARAM_HOUR, "2026-11-27T13", "");
        assert_eval("${month} + 9999999999m", PARAM_MONTH, "0001-01", "");
        assert_invert("${day + 1000000000d}", PARAM_DATE, "2026-11-27", "");
        assert_eval("${n + 1}", PARAM_INT, "999999999999999999", "");
        assert_eval("${n - 1}", PARAM_INT, "-999999999999999999", "");
        assert_eval("${n - 1}", PARAM_INT, "999999999999999999", "999999999999999998");

        /* Just inside. */
        assert_eval("${day + 1d}", PARAM_DATE, "9999-12-30", "9999-12-31");
        assert_eval("${day - 1d}", PARAM_DATE, "0001-01-02", "0001-01-01");
        assert_eval("${week - 1w}", PARAM_WEEK, "0001-W02", "0001-W01");
        assert_eval("${month + 1m}", PARAM_MONTH, "9999-11", "9999-12");

        /* Fan-ins and ranges lose the part outside, keep the rest. */
        assert_eval("hours(${day})", PARAM_HOUR, "0001-01-01", first_hours);
        last_hours = hours_of("9999-12-31");
        assert_eval("hours(${day})", PARAM_HOUR, "9999-12-31", last_hours);
        /* 9999-12-31 is a Friday: the week of 9999-W52 runs into year 10000. */
        assert_eval("days(${week})", PARAM_DATE, "9999-W52",
                    "9999-12-27 9999-12-28 9999-12-29 9999-12-30 9999-12-31");
        /* 0001-01-01 was a Monday: 0001-W01 starts with the year. */
        assert_eval("days(${week})", PARAM_DATE, "0001-W01",
                    "0001-01-01 0001-01-02 0001-01-03 0001-01-04 0001-01-05 0001-01-06 "
                    "0001-01-07");
        assert_eval("week(${day})", PARAM_WEEK, "0001-01-01", "0001-W01");
        assert_eval("week(${day})", PARAM_WEEK, "9999-12-31", "9999-W52");
        assert_eval("month(${hour})", PARAM_MONTH, "0001-01-01T00", "0001-01");
        assert_eval("month(${hour})", PARAM_MONTH, "9999-12-31T23", "9999-12");
        assert_eval("day(${hour})", PARAM_DATE, "9999-12-31T23", "9999-12-31");
        assert_eval("range(${day} - 6d, ${day})", PARAM_DATE, "0001-01-03",
                    "0001-01-01 0001-01-02 0001-01-03");
        assert_eval("range(${day}, ${day} + 6d)", PARAM_DATE, "9999-12-30",
                    "9999-12-30 9999-12-31");
        assert_eval("week(${day} - 1d)", PARAM_WEEK, "0001-01-01", "");
        assert_eval("hours(${day - 1d})", PARAM_HOUR, "0001-01-01", "");
        assert_invert("range(${day} - 6d, ${day})", PARAM_DATE, "9999-12-30",
                      "9999-12-30 9999-12-31");
        assert_invert("range(${day} - 6d, ${day})", PARAM_DATE, "0001-01-01",
                      "0001-01-01 0001-01-02 0001-01-03 0001-01-04 0001-01-05 0001-01-06 "
                      "0001-01-07");
        assert_invert("week(${day})", PARAM_WEEK, "9999-W52",
                      "9999-12-27 9999-12-28 9999-12-29 9999-12-30 9999-12-31");
        assert_invert("days(${week})", PARAM_DATE, "0001-01-01", "0001-W01");
        assert_invert("days(${week})", PARAM_DATE, "9999-12-31", "9999-W52");
        assert_invert("days(${month})", PARAM_DATE, "9999-12-31", "9999-12");
        assert_invert("hours(${day})", PARAM_HOUR, "0001-01-01T00", "0001-01-01");
        assert_invert("day(${hour})", PARAM_DATE, "0001-01-01", first_hours);
        assert_invert("days(${week - 1w})", PARAM_DATE, "9999-12-31", "");
        assert_invert("hours(${day + 1d})", PARAM_HOUR, "0001-01-01T05", "");

        /* Whole sweeps over the first and last weeks of the calendar, both directions. */
        {
                _cleanup_strv_free_ char **first = domain(PARAM_DATE, "0001-01-01", "0001-01-14"),
                                         **last = domain(PARAM_DATE, "9999-12-18", "9999-12-31");
                static const char * const exprs[] = {
                        "${day - 1d}", "${day + 1d}", "range(${day} - 6d, ${day} + 6d)",
                        "week(${day})", "month(${day})", "hours(${day})",
                };

                for (size_t i = 0; i < ELEMENTSOF(exprs); i++) {
                        _cleanup_(expr_freep) Expr *e = parse(exprs[i]);
                        _cleanup_free_ char *err = NULL;

                        assert_int_equal(expr_check(e, lookup, &lookup_token, &err), 0);
                        for (char **l = first; l; l = l == first ? last : NULL)
                                STRV_FOREACH(x, l) {
                                        _cleanup_strv_free_ char **fwd = NULL;

                                        assert_int_equal(expr_eval(e, *x, &fwd), 0);
                                        assert_non_null(fwd);
                                        STRV_FOREACH(y, fwd) {
                                                _cleanup_strv_free_ char **back = NULL;

                                                assert_int_equal(expr_invert(e, *y, &back), 0);
                                                assert_true(strv_contains(back, *x));
                                        }
                                }
                }
        }
}

/* A constant: a bare word or number, or quoted text; no parameter, one value, no inverse. */
static void test_constants(void **state) {
        static const struct {
                const char *text, *value;
                char quote;
        } cases[] = {
                { "web", "web", 0 },
                { "  web  ", "web", 0 },
                { "2026-11-27", "2026-11-27", 0 },
                { "2026-11-27T13", "2026-11-27T13", 0 },
                { "2026-W48", "2026-W48", 0 },
                { "-1", "-1", 0 },
                { "a/b.c", "a/b.c", 0 },
                { "caf\xc3\xa9", "caf\xc3\xa9", 0 },
                { "'a b, c'", "a b, c", '\'' },
                { "\"it's\"", "it's", '"' },
                { "'day'", "day", '\'' },         /* a function's name, quoted */
                { "day-1", "day-1", 0 },           /* longer than one */
                { "hours2", "hours2", 0 },
                { "'${day}'", "${day}", '\'' },
                { "''", "", '\'' },               /* parses; no type has it */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(expr_freep) Expr *e = parse(cases[i].text);
                _cleanup_strv_free_ char **l = NULL, **l2 = NULL, **back = NULL;
                _cleanup_free_ char *err = NULL, *text = NULL;

                assert_int_equal(e->kind, EXPR_CONST);
                assert_string_equal(e->value, cases[i].value);
                assert_int_equal(e->quote, cases[i].quote);
                assert_null(expr_param(e));
                assert_false(expr_is_multi(e));
                /* Printed as written, quotes and all, and parsed back the same. */
                assert_int_equal(expr_to_string(e, &text), 0);
                assert_prints(text, text);
                /* Its own value, whatever the task's; no inverse. */
                assert_int_equal(expr_eval(e, NULL, &l), 0);
                assert_values(l, cases[i].value);
                assert_int_equal(expr_eval(e, "2026-01-01", &l2), 0);
                assert_values(l2, cases[i].value);
                assert_int_equal(expr_invert(e, cases[i].value, &back), -EOPNOTSUPP);
                assert_null(back);
                /* Typed by the target parameter it binds (config-task.c), not here. */
                assert_int_equal(expr_check(e, lookup, &lookup_token, &err), -EINVAL);
                assert_non_null(err);
        }

        assert_parse_fails("'web", "unterminated quote at column 1 of ''web'");
        assert_parse_fails("web site", "unexpected text at column 5 of 'web site'");
        assert_parse_fails("web)", "unexpected text at column 4 of 'web)'");
        assert_parse_fails("{day}", "expected ${name}, a function or a constant at column 1 of "
                                    "'{day}'");
        /* A function's name is never a bare value: "day = day" is a forgotten ${}. */
        assert_parse_fails("day", "expected '(' after 'day' at column 4 of 'day'");
        assert_parse_fails("webx(${day})", "unknown function 'webx' (hours, days, day, week, "
                                           "month, range, all) at column 1 of 'webx(${day})'");
        /* Only a whole binding is constant, never an argument or a shifted value. */
        assert_parse_fails("hours(2026-11-27)", "a function takes ${name}, not a constant at "
                                                "column 7 of 'hours(2026-11-27)'");
        assert_parse_fails("range(${n}, 5)", "a function takes ${name}, not a constant at "
                                             "column 13 of 'range(${n}, 5)'");
        assert_parse_fails("hours()", "expected ${name} or a function at column 7 of 'hours()'");
        assert_parse_fails("2026-11-27 - 1d", "unexpected text at column 12 of "
                                              "'2026-11-27 - 1d'");
}

/*
 * all(): every value of the enum it binds, in the enum's order (what a task's ${input} lists),
 * whatever the task's values; no inverse, since it reads no task parameter, but it takes each
 * of its values and no other. Only a whole binding, and without arguments.
 */
static void test_all(void **state) {
        static const char * const texts[] = { "all()", "all( )", "  all ()  " };
        static char *values[] = { "web", "api", "ftp site", NULL };
        const ParamSpec sources = { .type = PARAM_ENUM, .enum_values = values };
        const ParamSpec words = { .type = PARAM_STRING };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                _cleanup_(expr_freep) Expr *e = parse(texts[i]);
                _cleanup_strv_free_ char **none = NULL, **l = NULL, **l2 = NULL, **back = NULL;
                _cleanup_free_ char *err = NULL, *text = NULL;

                assert_int_equal(e->kind, EXPR_ALL);
                assert_null(expr_param(e));
                assert_true(expr_is_multi(e));
                assert_int_equal(expr_to_string(e, &text), 0);
                assert_string_equal(text, "all()");
                assert_prints(texts[i], "all()");
                /* Typed by the target parameter it binds (config-task.c), not here. */
                assert_int_equal(expr_check(e, lookup, &lookup_token, &err), -EINVAL);
                assert_string_equal(err, "all(): all() takes the values of the parameter it "
                                         "binds");
                /* Nothing to list before it knows its enum. */
                assert_int_equal(expr_eval(e, NULL, &none), -EINVAL);
                assert_null(none);
                /* Open-ended types have no "every value". */
                assert_int_equal(expr_set_all(e, &words), -EINVAL);
                assert_null(e->values);
                assert_int_equal(expr_set_all(e, &sources), 0);
                assert_int_equal(e->type, PARAM_ENUM);
                /* The enum's order, not sorted; the same for any task value. */
                assert_int_equal(expr_eval(e, NULL, &l), 0);
                assert_values(l, "web api ftp site");
                assert_int_equal(expr_eval(e, "2026-11-27", &l2), 0);
                assert_values(l2, "web api ftp site");
                assert_int_equal(expr_invert(e, "api", &back), -EOPNOTSUPP);
                assert_null(back);
                assert_true(expr_takes(e, "web"));
                assert_true(expr_takes(e, "ftp site"));
                assert_false(expr_takes(e, "ftp"));
                assert_false(expr_takes(e, ""));
        }
        /* A constant takes its value only; the others leave it to their inverse. */
        {
                _cleanup_(expr_freep) Expr *c = parse("web"), *r = parse("${day}");

                assert_true(expr_takes(c, "web"));
                assert_false(expr_takes(c, "api"));
                assert_true(expr_takes(r, "anything"));
        }

        assert_parse_fails("all(${day})", "all() takes no argument: it reads every value of the "
                                          "parameter it binds at column 5 of 'all(${day})'");
        assert_parse_fails("all(", "expected ')' at column 5 of 'all('");
        assert_parse_fails("all() x", "unexpected text at column 7 of 'all() x'");
        /* A function's name, so never a bare value: 'all' is the value, quoted. */
        assert_parse_fails("all", "expected '(' after 'all' at column 4 of 'all'");
        assert_parse_fails("days(all())", "a function takes ${name}, not all() at column 10 of "
                                          "'days(all())'");
        assert_parse_fails("range(all(), ${day})", "a function takes ${name}, not all() at "
                                                   "column 11 of 'range(all(), ${day})'");
        {
                _cleanup_(expr_freep) Expr *quoted = parse("'all'");

                assert_int_equal(quoted->kind, EXPR_CONST);
                assert_string_equal(quoted->value, "all");
        }
}

static void test_input_spec(void **state) {
        _cleanup_(input_spec_freep) InputSpec *plain = NULL, *aliased = NULL, *two = NULL;
        _cleanup_free_ char *err = NULL, *text = NULL;
        InputSpec *bad = NULL;

        assert_int_equal(input_spec_parse("sales", &plain, &err), 0);
        assert_null(err);
        assert_null(plain->alias);
        assert_string_equal(plain->target, "sales");
        assert_int_equal(plain->n, 0);
        assert_null(plain->params);

        assert_int_equal(input_spec_parse("prev = total(day = ${day - 1d})", &aliased, &err), 0);
        assert_string_equal(aliased->alias, "prev");
        assert_string_equal(aliased->target, "total");
        assert_int_equal(aliased->n, 1);
        assert_string_equal(aliased->params[0], "day");
        assert_null(aliased->params[1]);
        assert_int_equal(expr_to_string(aliased->exprs[0], &text), 0);
        assert_string_equal(text, "${day} - 1d");

        assert_int_equal(input_spec_parse("raw-logs(day = range(${day} - 6d, ${day}), host = "
                                          "${host})",
                                          &two, &err),
                         0);
        assert_null(two->alias);
        assert_string_equal(two->target, "raw-logs");
        assert_int_equal(two->n, 2);
        assert_string_equal(two->params[0], "day");
        assert_string_equal(two->params[1], "host");
        assert_int_equal(two->exprs[0]->kind, EXPR_RANGE);
        assert_int_equal(two->exprs[1]->kind, EXPR_REF);

        assert_int_equal(input_spec_parse("total(day = ${day}) x", &bad, &err), -EINVAL);
        assert_null(bad);
        assert_string_equal(err, "unexpected text at column 21 of 'total(day = ${day}) x'");
        free(err);
        err = NULL;
        assert_int_equal(input_spec_parse("total(day ${day})", &bad, &err), -EINVAL);
        assert_null(bad);
        assert_string_equal(err, "expected '=' after 'day' at column 11 of 'total(day ${day})'");
        free(err);
        err = NULL;

        /* Constants beside references, bare or quoted. */
        {
                _cleanup_(input_spec_freep) InputSpec *c = NULL;

                assert_int_equal(input_spec_parse("web = raw(source = web, day = ${day}, "
                                                  "site = 'a, b')",
                                                  &c, &err),
                                 0);
                assert_int_equal(c->n, 3);
                assert_int_equal(c->exprs[0]->kind, EXPR_CONST);
                assert_string_equal(c->exprs[0]->value, "web");
                assert_int_equal(c->exprs[1]->kind, EXPR_REF);
                assert_int_equal(c->exprs[2]->kind, EXPR_CONST);
                assert_string_equal(c->exprs[2]->value, "a, b");
        }
        /* all() beside a reference, and the input it makes a fan-in of. */
        {
                _cleanup_(input_spec_freep) InputSpec *a = NULL;

                assert_int_equal(input_spec_parse("d = daily(sample = all(), day = ${day})", &a,
                                                  &err),
                                 0);
                assert_string_equal(a->alias, "d");
                assert_int_equal(a->n, 2);
                assert_string_equal(a->params[0], "sample");
                assert_int_equal(a->exprs[0]->kind, EXPR_ALL);
                assert_int_equal(a->exprs[1]->kind, EXPR_REF);
        }
        assert_int_equal(input_spec_parse("raw(source = web day = ${day})", &bad, &err), -EINVAL);
        assert_null(bad);
        assert_string_equal(err, "expected ',' or ')' at column 18 of "
                                 "'raw(source = web day = ${day})'");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_print),
                cmocka_unit_test(test_parse_structure),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_check_types),
                cmocka_unit_test(test_check_errors),
                cmocka_unit_test(test_print_after_check),
                cmocka_unit_test(test_print_double_shift),
                cmocka_unit_test(test_param_and_multi),
                cmocka_unit_test(test_eval),
                cmocka_unit_test(test_eval_bad_values),
                cmocka_unit_test(test_invert),
                cmocka_unit_test(test_truncations_against_libc),
                cmocka_unit_test(test_round_trip_properties),
                cmocka_unit_test(test_year_edges),
                cmocka_unit_test(test_constants),
                cmocka_unit_test(test_all),
                cmocka_unit_test(test_input_spec),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
