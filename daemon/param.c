/* SPDX-License-Identifier: MIT */
/*
 * Parameter types. Every type has exactly one spelling per value (no leading zeros dropped or
 * added, no lower-case 't' in an hour), so a file name either matches a template or it does
 * not, and formatting a parsed value gives back the same name. Pure: no I/O, no logging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "param.h"
#include "util/escape.h"
#include "util/macro.h"
#include "util/strv.h"

static const char * const param_type_table[_PARAM_TYPE_MAX] = {
        [PARAM_STRING] = "string", [PARAM_INT] = "int",     [PARAM_DATE] = "date",
        [PARAM_HOUR] = "hour",     [PARAM_MONTH] = "month", [PARAM_WEEK] = "week",
        [PARAM_ENUM] = "enum",     [PARAM_PATH] = "path",
};

const char *param_type_to_string(ParamType t) {
        if (t < 0 || t >= _PARAM_TYPE_MAX)
                return NULL;
        return param_type_table[t];
}

ParamType param_type_from_string(const char *s) {
        for (int i = 0; i < _PARAM_TYPE_MAX; i++)
                if (streq(param_type_table[i], s))
                        return (ParamType) i;
        return _PARAM_TYPE_INVALID;
}

void param_spec_done(ParamSpec *p) {
        p->enum_values = strv_free(p->enum_values);
}

int param_spec_copy(const ParamSpec *p, ParamSpec *ret) {
        ParamSpec c = { .type = p->type };

        if (p->enum_values && strv_copy(p->enum_values, &c.enum_values) < 0)
                return -ENOMEM;
        *ret = c;
        return 0;
}

bool param_spec_equal(const ParamSpec *a, const ParamSpec *b) {
        size_t n;

        if (a->type != b->type)
                return false;
        n = strv_length(a->enum_values);
        if (n != strv_length(b->enum_values))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a->enum_values[i], b->enum_values[i]))
                        return false;
        return true;
}

static bool enum_value_ok(const char *s, size_t n) {
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                return false;
        _cleanup_free_ char *c = NULL;

        for (size_t i = 0; i < n; i++)
                if (s[i] == '/' || s[i] == ',' || s[i] == ')' || s[i] == '{' || s[i] == '}' ||
                    (unsigned char) s[i] < 0x20)
                        return false;
        /* Values reach tasks over D-Bus, which carries only UTF-8. */
        c = strndup(s, n);
        return c && utf8_is_valid(c);
}

int param_spec_parse(const char *s, size_t n, ParamSpec *ret, const char **ret_error) {
        _cleanup_strv_free_ char **values = NULL;
        _cleanup_free_ char *name = NULL;
        const char *open = memchr(s, '(', n);
        ParamType t;

        name = strndup(s, open ? (size_t) (open - s) : n);
        if (!name)
                return -ENOMEM;
        t = param_type_from_string(name);
        if (t < 0) {
                *ret_error = "unknown parameter type (expected string, int, date, hour, month, "
                             "week, path or enum(...))";
                return -EINVAL;
        }
        if ((t == PARAM_ENUM) != !!open) {
                *ret_error = t == PARAM_ENUM ? "enum needs its values: enum(a,b,...)"
                                             : "only enum takes values in parentheses";
                return -EINVAL;
        }
        if (open) {
                const char *p = open + 1, *end = s + n - 1;

                if (*end != ')') {
                        *ret_error = "enum(...) is missing its closing ')'";
                        return -EINVAL;
                }
                while (p <= end) {
                        const char *e = memchr(p, ',', (size_t) (end - p));
                        size_t k;

                        if (!e)
                                e = end;
                        k = (size_t) (e - p);
                        if (!enum_value_ok(p, k)) {
                                *ret_error = "enum values must be non-empty and contain no "
                                             "'/', ',', ')', braces or control characters";
                                return -EINVAL;
                        }
                        _cleanup_free_ char *v = strndup(p, k);
                        if (!v)
                                return -ENOMEM;
                        if (strv_contains(values, v)) {
                                *ret_error = "enum lists a value twice";
                                return -EINVAL;
                        }
                        if (strv_consume(&values, TAKE_PTR(v)) < 0)
                                return -ENOMEM;
                        p = e + 1;
                }
        }
        *ret = (ParamSpec){ .type = t, .enum_values = TAKE_PTR(values) };
        return 0;
}

int param_spec_to_string(const ParamSpec *p, char **ret) {
        _cleanup_free_ char *j = NULL;

        if (p->type != PARAM_ENUM) {
                *ret = strdup(param_type_to_string(p->type));
                return *ret ? 0 : -ENOMEM;
        }
        if (strv_join(p->enum_values, ",", &j) < 0)
                return -ENOMEM;
        return asprintf(ret, "enum(%s)", j) < 0 ? -ENOMEM : 0;
}

static bool digits(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

static unsigned num(const char *s, size_t n) {
        unsigned v = 0;

        for (size_t i = 0; i < n; i++)
                v = v * 10 + (unsigned) (s[i] - '0');
        return v;
}

static bool leap(int64_t y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m) {
        static const unsigned d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Howard Hinnant's days_from_civil: proleptic Gregorian, day 0 = 1970-01-01. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        int64_t era, yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d) {
        int64_t era, doe, yoe, y, doy, mp;
        unsigned m;

        z += 719468;
        era = (z >= 0 ? z : z - 146096) / 146097;
        doe = z - era * 146097;
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        y = yoe + era * 400;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        *ret_d = (unsigned) (doy - (153 * mp + 2) / 5 + 1);
        m = (unsigned) (mp < 10 ? mp + 3 : mp - 9);
        *ret_m = m;
        *ret_y = y + (m <= 2);
}

/* Monday = 0. */
static unsigned weekday(int64_t days) {
        int64_t w = (days + 3) % 7; /* 1970-01-01 was a Thursday */

        return (unsigned) (w < 0 ? w + 7 : w);
}

static int64_t iso_week1_monday(int64_t y) {
        int64_t jan4 = days_from_civil(y, 1, 4);

        return jan4 - weekday(jan4);
}

static unsigned iso_weeks_in_year(int64_t y) {
        return (unsigned) ((iso_week1_monday(y + 1) - iso_week1_monday(y)) / 7);
}

/* Years 0001-9999 only: four digits, always. */
static bool year_ok(const char *s) {
        return digits(s, 4) && num(s, 4) >= 1;
}

static bool date_ok(const char *s, size_t n) {
        unsigned y, m, d;

        if (n != 10 || s[4] != '-' || s[7] != '-' || !year_ok(s) || !digits(s + 5, 2) ||
            !digits(s + 8, 2))
                return false;
        y = num(s, 4);
        m = num(s + 5, 2);
        d = num(s + 8, 2);
        return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

static bool int_ok(const char *s, size_t n) {
        size_t i = 0;

        if (n > 0 && s[0] == '-')
                i = 1;
        if (n == i || n - i > 18 || !digits(s + i, n - i))
                return false;
        /* Canonical: no leading zeros, no "-0". */
        if (s[i] == '0')
                return n - i == 1 && i == 0;
        return true;
}

static bool string_ok(const char *s, size_t n) {
        _cleanup_free_ char *c = NULL;

        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                return false;
        if (memchr(s, '/', n) || memchr(s, 0, n))
                return false;
        /* D-Bus carries only UTF-8, so a value that is not cannot be handed to a task. */
        c = strndup(s, n);
        return c && utf8_is_valid(c);
}

/* Names joined by '/': no empty, "." or ".." segment, so a value never climbs out of the
 * directory it is placed in. */
static bool path_ok(const char *s, size_t n) {
        size_t start = 0;

        for (size_t i = 0; i <= n; i++) {
                if (i < n && s[i] != '/')
                        continue;
                if (!string_ok(s + start, i - start))
                        return false;
                start = i + 1;
        }
        return true;
}

bool param_value_valid(const ParamSpec *p, const char *s, size_t n) {
        switch (p->type) {
        case PARAM_STRING:
                return string_ok(s, n);
        case PARAM_PATH:
                return path_ok(s, n);
        case PARAM_INT:
                return int_ok(s, n);
        case PARAM_DATE:
                return date_ok(s, n);
        case PARAM_HOUR:
                return n == 13 && date_ok(s, 10) && s[10] == 'T' && digits(s + 11, 2) &&
                       num(s + 11, 2) < 24;
        case PARAM_MONTH:
                return n == 7 && year_ok(s) && s[4] == '-' && digits(s + 5, 2) &&
                       num(s + 5, 2) >= 1 && num(s + 5, 2) <= 12;
        case PARAM_WEEK:
                return n == 8 && year_ok(s) && s[4] == '-' && s[5] == 'W' && digits(s + 6, 2) &&
                       num(s + 6, 2) >= 1 && num(s + 6, 2) <= iso_weeks_in_year(num(s, 4));
        case PARAM_ENUM:
                STRV_FOREACH(v, p->enum_values)
                        if (strlen(*v) == n && memcmp(*v, s, n) == 0)
                                return true;
                return false;
        default:
                return false;
        }
}

size_t param_fixed_width(ParamType t) {
        switch (t) {
        case PARAM_DATE:
                return 10;
        case PARAM_HOUR:
                return 13;
        case PARAM_MONTH:
                return 7;
        case PARAM_WEEK:
                return 8;
        default:
                return 0;
        }
}

bool param_type_is_ordinal(ParamType t) {
        return t == PARAM_INT || t == PARAM_DATE || t == PARAM_HOUR || t == PARAM_MONTH ||
               t == PARAM_WEEK;
}

int param_to_ordinal(ParamType t, const char *s, int64_t *ret) {
        const ParamSpec spec = { .type = t };
        size_t n = strlen(s);

        if (!param_type_is_ordinal(t))
                return -EOPNOTSUPP;
        if (!param_value_valid(&spec, s, n))
                return -EINVAL;
        switch (t) {
        case PARAM_INT:
                *ret = strtoll(s, NULL, 10);
                return 0;
        case PARAM_DATE:
                *ret = days_from_civil(num(s, 4), num(s + 5, 2), num(s + 8, 2));
                return 0;
        case PARAM_HOUR:
                *ret = days_from_civil(num(s, 4), num(s + 5, 2), num(s + 8, 2)) * 24 +
                       num(s + 11, 2);
                return 0;
        case PARAM_MONTH:
                *ret = (int64_t) num(s, 4) * 12 + num(s + 5, 2) - 1;
                return 0;
        case PARAM_WEEK:
                /* 1970-W01 began on Monday 1969-12-29, day -3: Mondays are days 7k - 3. */
                *ret = (iso_week1_monday(num(s, 4)) + (int64_t) (num(s + 6, 2) - 1) * 7 + 3) / 7;
                return 0;
        default:
                return -EOPNOTSUPP;
        }
}

static int64_t floordiv(int64_t a, int64_t b, int64_t *ret_rem) {
        int64_t q = a / b, r = a % b;

        if (r < 0) {
                q--;
                r += b;
        }
        if (ret_rem)
                *ret_rem = r;
        return q;
}

/* Days of 0001-01-01 and 9999-12-31: every ordinal is checked against these before any
 * arithmetic, so a shift from a mapping can never overflow. */
#define DAYS_MIN (-719162LL)
#define DAYS_MAX 2932896LL

int param_from_ordinal(ParamType t, int64_t v, char **ret) {
        int64_t y, rem;
        unsigned m, d;
        int r;

        if ((t == PARAM_DATE && (v < DAYS_MIN || v > DAYS_MAX)) ||
            (t == PARAM_HOUR && (v < DAYS_MIN * 24 || v > DAYS_MAX * 24 + 23)) ||
            (t == PARAM_MONTH && (v < 12 || v > 9999 * 12 + 11)) ||
            (t == PARAM_WEEK && (v < DAYS_MIN / 7 - 1 || v > DAYS_MAX / 7 + 1)))
                return -ERANGE;

        switch (t) {
        case PARAM_INT:
                if (v <= -1000000000000000000LL || v >= 1000000000000000000LL)
                        return -ERANGE;
                r = asprintf(ret, "%lld", (long long) v);
                break;
        case PARAM_DATE:
                civil_from_days(v, &y, &m, &d);
                if (y < 1 || y > 9999)
                        return -ERANGE;
                r = asprintf(ret, "%04lld-%02u-%02u", (long long) y, m, d);
                break;
        case PARAM_HOUR: {
                int64_t days = floordiv(v, 24, &rem);
                civil_from_days(days, &y, &m, &d);
                if (y < 1 || y > 9999)
                        return -ERANGE;
                r = asprintf(ret, "%04lld-%02u-%02uT%02lld", (long long) y, m, d, (long long) rem);
                break;
        }
        case PARAM_MONTH:
                y = floordiv(v, 12, &rem);
                if (y < 1 || y > 9999)
                        return -ERANGE;
                r = asprintf(ret, "%04lld-%02lld", (long long) y, (long long) rem + 1);
                break;
        case PARAM_WEEK: {
                int64_t monday = v * 7 - 3, thursday = monday + 3;
                civil_from_days(thursday, &y, &m, &d);
                if (y < 1 || y > 9999)
                        return -ERANGE;
                r = asprintf(ret, "%04lld-W%02lld", (long long) y,
                             (long long) ((monday - iso_week1_monday(y)) / 7 + 1));
                break;
        }
        default:
                return -EOPNOTSUPP;
        }
        return r < 0 ? -ENOMEM : 0;
}

int param_to_realtime(ParamType t, const char *s, int64_t *ret) {
        int64_t v, days;
        int r;

        if (t != PARAM_DATE && t != PARAM_HOUR && t != PARAM_WEEK && t != PARAM_MONTH)
                return -EOPNOTSUPP;
        r = param_to_ordinal(t, s, &v);
        if (r < 0)
                return r;
        switch (t) {
        case PARAM_HOUR:
                *ret = v * 3600 * 1000000LL;
                return 0;
        case PARAM_WEEK:
                days = v * 7 - 3;       /* 1970-W01 began on day -3 */
                break;
        case PARAM_MONTH:
                days = days_from_civil(floordiv(v, 12, NULL), (unsigned) (v - floordiv(v, 12, NULL) * 12) + 1, 1);
                break;
        default:
                days = v;
        }
        *ret = days * 86400 * 1000000LL;
        return 0;
}
