/* SPDX-License-Identifier: MIT */
/* Parameter types: strict parse and format, and the ordinal arithmetic of time types */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ParamType {
        PARAM_STRING,
        PARAM_INT,
        PARAM_DATE,   /* 2026-11-27 */
        PARAM_HOUR,   /* 2026-11-27T13 */
        PARAM_MONTH,  /* 2026-11 */
        PARAM_WEEK,   /* 2026-W48, ISO 8601 */
        PARAM_ENUM,   /* enum(a,b,c) */
        PARAM_PATH,   /* a/b/c: one or more names; the only type whose values hold '/' */
        _PARAM_TYPE_MAX,
        _PARAM_TYPE_INVALID = -EINVAL,
} ParamType;

const char *param_type_to_string(ParamType t);
ParamType param_type_from_string(const char *s);

typedef struct ParamSpec {
        ParamType type;
        char **enum_values;   /* PARAM_ENUM only; owned */
} ParamSpec;

void param_spec_done(ParamSpec *p);
int param_spec_copy(const ParamSpec *p, ParamSpec *ret);
bool param_spec_equal(const ParamSpec *a, const ParamSpec *b);
/* "date", "enum(a,b)": on -EINVAL, *ret_error (static text) says why. */
int param_spec_parse(const char *s, size_t n, ParamSpec *ret, const char **ret_error);
/* The spec as written in a template: "date", "enum(a,b)". */
int param_spec_to_string(const ParamSpec *p, char **ret);

/* Whether s[0..n) is a value of this type in its one canonical spelling. */
bool param_value_valid(const ParamSpec *p, const char *s, size_t n);
/* Characters a value always has, or 0 when it varies. */
size_t param_fixed_width(ParamType t);
/* Whether the type has a successor function (date, hour, month, week, int). */
bool param_type_is_ordinal(ParamType t);

/*
 * Ordinals: days since 1970-01-01 for a date, hours for an hour, months since year 0 for a
 * month, weeks since 1970-W01 (which began on Monday 1969-12-29) for a week, the value for an
 * int. -EINVAL for a value that is not valid, -EOPNOTSUPP for a type without ordinals;
 * param_from_ordinal() gives -ERANGE outside years 0001-9999.
 */
int param_to_ordinal(ParamType t, const char *s, int64_t *ret);
int param_from_ordinal(ParamType t, int64_t v, char **ret);

/* When a value of a time type begins, in CLOCK_REALTIME microseconds (UTC); -EOPNOTSUPP for
 * other types. */
int param_to_realtime(ParamType t, const char *s, int64_t *ret);

/* Calendar helpers shared by mappings. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d);
