/* SPDX-License-Identifier: MIT */
/*
 * Mapping expressions. An input of a task binds each of its parameters with an expression over
 * one task parameter; events arrive at inputs, so every expression has an inverse, from "this
 * input value appeared" to "these task values may be ready now":
 *
 *   ${day}                 forward: the day            inverse: the same day
 *   ${day - 1d}            forward: the day before     inverse: the day after
 *   day(${hour})           forward: the hour's day     inverse: the 24 hours of the day
 *   hours(${day})          forward: 24 hours (fan-in)  inverse: the hour's day
 *   range(${day} - 6d, ${day})   forward: 7 days       inverse: the 7 days it is in the range of
 *   web, 2026-11-27, 'a b' forward: the value itself   inverse: none (it reads no parameter)
 *   all()                  forward: every enum value   inverse: none (it reads no parameter)
 *
 * A constant binds an input parameter to one value of its own type: an input value other than
 * it concerns no task instance, and the caller filters by comparing (graph.c). all() binds an
 * enum parameter to each of its values, Snakemake's expand(): it is a fan-in whose arrivals all
 * concern the same task instances, those the input's other bindings name.
 *
 * This file types an expression once the task's parameters are known, which is where a mapping
 * that cannot be evaluated or inverted is refused. The text of expressions and of input specs
 * is mapping-parse.c's; computing values forward and back, mapping-eval.c's. Pure: no I/O, no
 * logging.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mapping-internal.h"
#include "util/strv.h"

Expr *expr_free(Expr *e) {
        if (!e)
                return NULL;
        expr_free(e->a);
        expr_free(e->b);
        free(e->param);
        free(e->value);
        strv_free(e->values);
        free(e);
        return NULL;
}

/* --- types --- */

static bool is_time(ParamType t) {
        return t == PARAM_HOUR || t == PARAM_DATE || t == PARAM_WEEK || t == PARAM_MONTH;
}

/* Coarseness: a truncation goes up this order, an expansion down. */
int expr_type_rank(ParamType t) {
        switch (t) {
        case PARAM_HOUR:
                return 0;
        case PARAM_DATE:
                return 1;
        case PARAM_WEEK:
        case PARAM_MONTH:
                return 2;
        default:
                return -1;
        }
}

/* "a date", "an hour": the type as a noun with its article. */
static const char *a_type(ParamType t) {
        static const char * const names[_PARAM_TYPE_MAX] = {
                [PARAM_STRING] = "a string", [PARAM_INT] = "an int",  [PARAM_DATE] = "a date",
                [PARAM_HOUR] = "an hour",    [PARAM_MONTH] = "a month", [PARAM_WEEK] = "a week",
                [PARAM_ENUM] = "an enum",    [PARAM_PATH] = "a path",
        };

        return t >= 0 && t < _PARAM_TYPE_MAX ? names[t] : "a value";
}

static int cfail(char **ret_error, const Expr *e, const char *format, ...) _printf_(3, 4);
static int cfail(char **ret_error, const Expr *e, const char *format, ...) {
        _cleanup_free_ char *m = NULL, *text = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&m, format, ap) < 0)
                m = NULL;
        va_end(ap);
        (void) expr_to_string(e, &text);
        if (asprintf(ret_error, "%s: %s", strna(text), strna(m)) < 0)
                *ret_error = NULL;
        return -EINVAL;
}

/* Converts a shift written in one unit into units of the type shifted. */
static int shift_units(ParamType t, char unit, int64_t *shift) {
        int64_t f;

        switch (t) {
        case PARAM_INT:
                f = unit == 0 ? 1 : 0;
                break;
        case PARAM_HOUR:
                f = unit == 'h' ? 1 : unit == 'd' ? 24 : unit == 'w' ? 168 : 0;
                break;
        case PARAM_DATE:
                f = unit == 'd' ? 1 : unit == 'w' ? 7 : 0;
                break;
        case PARAM_WEEK:
                f = unit == 'w' ? 1 : 0;
                break;
        case PARAM_MONTH:
                f = unit == 'm' ? 1 : 0;
                break;
        default:
                f = 0;
        }
        if (f == 0)
                return -EINVAL;
        *shift *= f;
        return 0;
}

static const char *unit_hint(ParamType t) {
        switch (t) {
        case PARAM_INT:
                return "a plain number";
        case PARAM_HOUR:
                return "h, d or w";
        case PARAM_DATE:
                return "d or w";
        case PARAM_WEEK:
                return "w";
        case PARAM_MONTH:
                return "m";
        default:
                return "nothing: only int and time parameters shift";
        }
}

/* A range's ends: the same parameter, shifted by constants. */
bool expr_shifted_ref(const Expr *e, const char **ret_param, int64_t *ret_shift) {
        int64_t total = 0;

        while (e->kind == EXPR_SHIFT) {
                total += e->delta;
                e = e->a;
        }
        if (e->kind != EXPR_REF)
                return false;
        *ret_param = e->param;
        *ret_shift = total;
        return true;
}

int expr_check(Expr *e, expr_lookup_func lookup, void *userdata, char **ret_error) {
        const ParamSpec *spec;
        int r;

        *ret_error = NULL;
        switch (e->kind) {
        case EXPR_REF:
                spec = lookup(e->param, userdata);
                if (!spec)
                        return cfail(ret_error, e, "needs '%s', which no output binds", e->param);
                e->type = spec->type;
                return 0;
        case EXPR_SHIFT:
                r = expr_check(e->a, lookup, userdata, ret_error);
                if (r < 0)
                        return r;
                e->type = e->a->type;
                e->delta = e->shift;
                if (shift_units(e->type, e->shift_unit, &e->delta) < 0)
                        return cfail(ret_error, e, "%s shifts by %s", a_type(e->type),
                                     unit_hint(e->type));
                /* The grammar shifts only ${...}, never a function's result: a fan-in is never
                 * shifted, and range() is how to move a window. */
                return 0;
        case EXPR_TRUNC:
        case EXPR_EXPAND:
                r = expr_check(e->a, lookup, userdata, ret_error);
                if (r < 0)
                        return r;
                if (expr_is_multi(e->a))
                        return cfail(ret_error, e, "functions apply to one value, not a fan-in");
                if (!is_time(e->a->type))
                        return cfail(ret_error, e, "needs an hour, date, week or month, not %s",
                                     a_type(e->a->type));
                if (e->kind == EXPR_TRUNC ? expr_type_rank(e->to) <= expr_type_rank(e->a->type)
                                          : expr_type_rank(e->to) >= expr_type_rank(e->a->type))
                        return cfail(ret_error, e, "cannot %s %s to %ss",
                                     e->kind == EXPR_TRUNC ? "truncate" : "expand",
                                     a_type(e->a->type), param_type_to_string(e->to));
                e->type = e->to;
                return 0;
        case EXPR_RANGE: {
                const char *pa, *pb;
                int64_t sa, sb;

                r = expr_check(e->a, lookup, userdata, ret_error);
                if (r < 0)
                        return r;
                r = expr_check(e->b, lookup, userdata, ret_error);
                if (r < 0)
                        return r;
                if (!expr_shifted_ref(e->a, &pa, &sa) || !expr_shifted_ref(e->b, &pb, &sb) ||
                    !streq(pa, pb))
                        return cfail(ret_error, e, "both ends must be the same parameter, "
                                                   "shifted: range(${day} - 6d, ${day})");
                if (!param_type_is_ordinal(e->a->type))
                        return cfail(ret_error, e, "a range needs an int or time parameter");
                if (sa > sb)
                        return cfail(ret_error, e, "the range is empty (its start is after its "
                                                   "end)");
                if (sb - sa >= EXPR_MAX_VALUES)
                        return cfail(ret_error, e, "more than %d values", EXPR_MAX_VALUES);
                e->type = e->a->type;
                return 0;
        }
        case EXPR_CONST:
                return cfail(ret_error, e, "a constant takes the type of the parameter it binds");
        case EXPR_ALL:
                return cfail(ret_error, e, "all() takes the values of the parameter it binds");
        default:
                return -EINVAL;
        }
}

int expr_set_all(Expr *e, const ParamSpec *spec) {
        char **values;
        int r;

        assert(e->kind == EXPR_ALL);
        if (spec->type != PARAM_ENUM)
                return -EINVAL;
        r = strv_copy(spec->enum_values, &values);
        if (r < 0)
                return r;
        strv_free(e->values);
        e->values = values;
        e->type = PARAM_ENUM;
        return 0;
}

const char *expr_param(const Expr *e) {
        while (e->kind != EXPR_REF) {
                if (e->kind == EXPR_CONST || e->kind == EXPR_ALL)
                        return NULL;
                e = e->a;
        }
        return e->param;
}

bool expr_is_multi(const Expr *e) {
        if (e->kind == EXPR_EXPAND || e->kind == EXPR_RANGE || e->kind == EXPR_ALL)
                return true;
        return e->a && expr_is_multi(e->a);
}
