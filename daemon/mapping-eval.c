/* SPDX-License-Identifier: MIT */
/*
 * Evaluating mappings (mapping.c): the values an expression takes for a task parameter's value,
 * and the inverse, the task values for which it takes an input's value. Values are computed
 * through ordinals (param.h); the four time types convert through the date, whose ordinal is a
 * day count. Pure: no I/O, no logging.
 */
#include <stdlib.h>

#include "mapping-internal.h"
#include "util/strv.h"

/* --- evaluation, through ordinals --- */

typedef struct Values {
        int64_t *v;
        size_t n;
} Values;

static void values_done(Values *v) {
        free(v->v);
}

/* Appends; duplicates are removed once, at the end (values_sort_unique). */
static int values_add(Values *vs, int64_t v) {
        int64_t *n;

        if (vs->n >= EXPR_MAX_VALUES)
                return -E2BIG;
        n = reallocarray(vs->v, vs->n + 1, sizeof(int64_t));
        if (!n)
                return -ENOMEM;
        vs->v = n;
        vs->v[vs->n++] = v;
        return 0;
}

static int64_t floordiv(int64_t a, int64_t b) {
        int64_t q = a / b;

        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The days an ordinal of a time type covers: [*first, *last]. */
static void days_of(ParamType t, int64_t v, int64_t *first, int64_t *last) {
        switch (t) {
        case PARAM_HOUR:
                *first = *last = floordiv(v, 24);
                return;
        case PARAM_DATE:
                *first = *last = v;
                return;
        case PARAM_WEEK:
                *first = v * 7 - 3;     /* 1970-W01 began on day -3 */
                *last = *first + 6;
                return;
        case PARAM_MONTH: {
                int64_t y = floordiv(v, 12);
                unsigned m = (unsigned) (v - y * 12) + 1;
                *first = days_from_civil(y, m, 1);
                *last = (m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1)) - 1;
                return;
        }
        default:
                *first = *last = 0;
        }
}

/* The ordinal of type t that contains day d. */
static int64_t from_day(ParamType t, int64_t d) {
        int64_t y;
        unsigned m, day;

        switch (t) {
        case PARAM_DATE:
                return d;
        case PARAM_WEEK:
                return floordiv(d + 3, 7);
        case PARAM_MONTH:
                civil_from_days(d, &y, &m, &day);
                return y * 12 + (int64_t) m - 1;
        default:
                return 0;
        }
}

/* Every ordinal of type `to` within ordinal v of type `from` (to is finer), or the one that
 * contains it (to is coarser). */
static int convert(ParamType from, int64_t v, ParamType to, Values *out) {
        int64_t first, last;
        int r;

        if (from == to)
                return values_add(out, v);
        if (from == PARAM_HOUR)
                return values_add(out, from_day(to, floordiv(v, 24)));
        days_of(from, v, &first, &last);
        if (to == PARAM_HOUR) {
                for (int64_t d = first; d <= last; d++)
                        for (int h = 0; h < 24; h++) {
                                r = values_add(out, d * 24 + h);
                                if (r < 0)
                                        return r;
                        }
                return 0;
        }
        if (expr_type_rank(to) > expr_type_rank(from))
                return values_add(out, from_day(to, first));
        for (int64_t d = first; d <= last; d++) {
                r = values_add(out, from_day(to, d));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Forward over ordinals: the values of e for the parameter's ordinal x. */
static int eval_ordinal(const Expr *e, int64_t x, Values *out) {
        _cleanup_(values_done) Values in = {};
        int r;

        switch (e->kind) {
        case EXPR_REF:
                return values_add(out, x);
        case EXPR_SHIFT:
                r = eval_ordinal(e->a, x, &in);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < in.n; i++) {
                        r = values_add(out, in.v[i] + e->delta);
                        if (r < 0)
                                return r;
                }
                return 0;
        case EXPR_TRUNC:
        case EXPR_EXPAND:
                r = eval_ordinal(e->a, x, &in);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < in.n; i++) {
                        r = convert(e->a->type, in.v[i], e->to, out);
                        if (r < 0)
                                return r;
                }
                return 0;
        case EXPR_RANGE: {
                const char *p;
                int64_t lo = 0, hi = -1;

                (void) expr_shifted_ref(e->a, &p, &lo);
                (void) expr_shifted_ref(e->b, &p, &hi);
                for (int64_t v = x + lo; v <= x + hi; v++) {
                        r = values_add(out, v);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        default:
                return -EINVAL;
        }
}

/* Inverse over ordinals: the parameter's ordinals for which e takes value y. */
static int invert_ordinal(const Expr *e, int64_t y, Values *out) {
        _cleanup_(values_done) Values mid = {};
        int r;

        switch (e->kind) {
        case EXPR_REF:
                return values_add(out, y);
        case EXPR_SHIFT:
                return invert_ordinal(e->a, y - e->delta, out);
        case EXPR_TRUNC:
        case EXPR_EXPAND:
                /* The operand values that convert to (or contain) y. */
                r = convert(e->to, y, e->a->type, &mid);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < mid.n; i++) {
                        r = invert_ordinal(e->a, mid.v[i], out);
                        if (r < 0)
                                return r;
                }
                return 0;
        case EXPR_RANGE: {
                const char *p;
                int64_t lo = 0, hi = -1;

                (void) expr_shifted_ref(e->a, &p, &lo);
                (void) expr_shifted_ref(e->b, &p, &hi);
                for (int64_t x = y - hi; x <= y - lo; x++) {
                        r = values_add(out, x);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        default:
                return -EINVAL;
        }
}

static int compare_int64(const void *a, const void *b) {
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

        return (x > y) - (x < y);
}

/* In order, each once: fan-in inputs are listed to the task oldest first. */
static void values_sort_unique(Values *vs) {
        size_t k = 0;

        if (vs->n == 0)
                return;
        qsort(vs->v, vs->n, sizeof(int64_t), compare_int64);
        for (size_t i = 1; i < vs->n; i++)
                if (vs->v[i] != vs->v[k])
                        vs->v[++k] = vs->v[i];
        vs->n = k + 1;
}

static ParamType ref_type(const Expr *e) {
        while (e->kind != EXPR_REF)
                e = e->a;
        return e->type;
}

static int to_strings(ParamType t, Values *vs, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        values_sort_unique(vs);
        l = calloc(vs->n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0, k = 0; i < vs->n; i++) {
                r = param_from_ordinal(t, vs->v[i], &l[k]);
                if (r == -ERANGE)
                        continue;       /* before year 1 or after 9999: no such instance */
                if (r < 0)
                        return r;
                k++;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int expr_eval(const Expr *e, const char *value, char ***ret) {
        _cleanup_(values_done) Values out = {};
        int64_t x;
        int r;

        /* In the enum's order, which the task's ${input} keeps: not sorted as ordinals are. */
        if (e->kind == EXPR_ALL)
                return e->values ? strv_copy(e->values, ret) : -EINVAL;
        if (e->kind == EXPR_REF || e->kind == EXPR_CONST) {
                char **l = NULL;
                r = strv_extend(&l, e->kind == EXPR_CONST ? e->value : value);
                if (r < 0)
                        return r;
                *ret = l;
                return 0;
        }
        r = param_to_ordinal(ref_type(e), value, &x);
        if (r < 0)
                return r;
        r = eval_ordinal(e, x, &out);
        if (r < 0)
                return r;
        return to_strings(e->type, &out, ret);
}

int expr_invert(const Expr *e, const char *value, char ***ret) {
        _cleanup_(values_done) Values out = {};
        int64_t y;
        int r;

        if (e->kind == EXPR_CONST || e->kind == EXPR_ALL)
                return -EOPNOTSUPP;
        if (e->kind == EXPR_REF) {
                char **l = NULL;
                r = strv_extend(&l, value);
                if (r < 0)
                        return r;
                *ret = l;
                return 0;
        }
        r = param_to_ordinal(e->type, value, &y);
        if (r < 0)
                return r;
        r = invert_ordinal(e, y, &out);
        if (r < 0)
                return r;
        return to_strings(ref_type(e), &out, ret);
}

bool expr_takes(const Expr *e, const char *value) {
        switch (e->kind) {
        case EXPR_CONST:
                return streq(e->value, value);
        case EXPR_ALL:
                return strv_contains(e->values, value);
        default:
                return true;
        }
}
