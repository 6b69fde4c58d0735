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
 * Values are computed through ordinals (param.h); the four time types convert through the
 * date, whose ordinal is a day count. Pure: no I/O, no logging.
 */
#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mapping.h"
#include "util/strv.h"

/* A bound on any one expansion: a range over ten years of hours is a mistake, not a pipeline. */
#define EXPR_MAX_VALUES 10000

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

/* --- parsing --- */

typedef struct Parser {
        const char *s;
        size_t n, pos;
        unsigned depth;         /* of function calls, bounded to keep recursion shallow */
        char **error;
} Parser;

#define EXPR_MAX_DEPTH 16
#define EXPR_MAX_SHIFTS 16

static int perr(Parser *p, const char *format, ...) _printf_(2, 3);
static int perr(Parser *p, const char *format, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&m, format, ap) < 0)
                m = NULL;
        va_end(ap);
        if (asprintf(p->error, "%s at column %zu of '%.*s'", m ?: "syntax error", p->pos + 1,
                     (int) p->n, p->s) < 0)
                *p->error = NULL;
        return -EINVAL;
}

static void skip_space(Parser *p) {
        while (p->pos < p->n && isspace((unsigned char) p->s[p->pos]))
                p->pos++;
}

static bool accept(Parser *p, char c) {
        skip_space(p);
        if (p->pos < p->n && p->s[p->pos] == c) {
                p->pos++;
                return true;
        }
        return false;
}

static size_t ident_len(const Parser *p) {
        size_t k = 0;

        while (p->pos + k < p->n) {
                char c = p->s[p->pos + k];
                if (!(isalnum((unsigned char) c) || c == '_'))
                        break;
                k++;
        }
        return k;
}

/* What a bare constant may not hold: spaces and the characters that delimit, quote or begin a
 * reference; braces too, since '{day}' is a template's wildcard and never meant as a value. */
static bool bare_char(char c) {
        return c != 0 && !isspace((unsigned char) c) && !strchr(",()'\"${}=", c);
}

static size_t bare_len(const Parser *p) {
        size_t k = 0;

        while (p->pos + k < p->n && bare_char(p->s[p->pos + k]))
                k++;
        return k;
}

static int new_expr(ExprKind kind, Expr **ret) {
        Expr *e = calloc(1, sizeof(Expr));

        if (!e)
                return -ENOMEM;
        e->kind = kind;
        e->type = _PARAM_TYPE_INVALID;
        e->to = _PARAM_TYPE_INVALID;
        *ret = e;
        return 0;
}

int expr_new_ref(const char *param, Expr **ret) {
        _cleanup_(expr_freep) Expr *e = NULL;
        int r;

        r = new_expr(EXPR_REF, &e);
        if (r < 0)
                return r;
        e->param = strdup(param);
        if (!e->param)
                return -ENOMEM;
        *ret = TAKE_PTR(e);
        return 0;
}

/* An optional "+ 1d" / "- 6d" / "+ 2"; returns 1 when one was there. */
static int parse_shift(Parser *p, int64_t *ret, char *ret_unit) {
        int64_t v = 0, sign;
        size_t digits = 0;

        skip_space(p);
        if (p->pos >= p->n || (p->s[p->pos] != '+' && p->s[p->pos] != '-'))
                return 0;
        sign = p->s[p->pos] == '-' ? -1 : 1;
        p->pos++;
        skip_space(p);
        while (p->pos < p->n && isdigit((unsigned char) p->s[p->pos])) {
                if (v > 1000000000LL)
                        return perr(p, "shift too large");
                v = v * 10 + (p->s[p->pos++] - '0');
                digits++;
        }
        if (digits == 0)
                return perr(p, "expected a number after '%c'", sign < 0 ? '-' : '+');
        *ret_unit = 0;
        if (p->pos < p->n && strchr("hdwm", p->s[p->pos]) && p->s[p->pos] != 0) {
                *ret_unit = p->s[p->pos++];
                if (p->pos < p->n && isalnum((unsigned char) p->s[p->pos]))
                        return perr(p, "unknown unit (h, d, w or m)");
        } else if (p->pos < p->n && isalpha((unsigned char) p->s[p->pos]))
                return perr(p, "unknown unit (h, d, w or m)");
        *ret = sign * v;
        return 1;
}

static int wrap_shift(Expr **e, int64_t shift, char unit) {
        Expr *s;
        int r;

        r = new_expr(EXPR_SHIFT, &s);
        if (r < 0)
                return r;
        s->shift = shift;
        s->shift_unit = unit;
        s->a = *e;
        *e = s;
        return 0;
}

static int parse_expr(Parser *p, Expr **ret);

/* "web", "2026-11-27", "-1", or any text between single or double quotes, without escapes: a
 * value with a quote of one kind is written in the other. Its type is checked by the caller. */
static int parse_const(Parser *p, Expr **ret) {
        _cleanup_(expr_freep) Expr *e = NULL;
        char quote = 0;
        size_t start = p->pos, k;
        int r;

        if (p->s[p->pos] == '\'' || p->s[p->pos] == '"') {
                const char *end;

                quote = p->s[p->pos];
                start++;
                end = memchr(p->s + start, quote, p->n - start);
                if (!end)
                        return perr(p, "unterminated quote");
                k = (size_t) (end - (p->s + start));
        } else
                k = bare_len(p);
        r = new_expr(EXPR_CONST, &e);
        if (r < 0)
                return r;
        e->value = strndup(p->s + start, k);
        if (!e->value)
                return -ENOMEM;
        e->quote = quote;
        p->pos = start + k + (quote ? 1 : 0);
        *ret = TAKE_PTR(e);
        return 0;
}

/* "${name}", "${name - 1d}", optionally followed by a shift outside the braces. */
static int parse_ref(Parser *p, Expr **ret) {
        _cleanup_(expr_freep) Expr *e = NULL;
        unsigned shifts = 0;
        int64_t shift = 0;
        char unit = 0;
        size_t k;
        int r;

        p->pos += 2;    /* "${" */
        skip_space(p);
        k = ident_len(p);
        if (k == 0)
                return perr(p, "expected a parameter name after '${'");
        r = new_expr(EXPR_REF, &e);
        if (r < 0)
                return r;
        e->param = strndup(p->s + p->pos, k);
        if (!e->param)
                return -ENOMEM;
        p->pos += k;
        /* Shifts inside the braces and after them mean the same; several add up. */
        for (bool braces = true;; braces = false) {
                while ((r = parse_shift(p, &shift, &unit)) > 0) {
                        if (++shifts > EXPR_MAX_SHIFTS)
                                return perr(p, "more than %d shifts", EXPR_MAX_SHIFTS);
                        if (wrap_shift(&e, shift, unit) < 0)
                                return -ENOMEM;
                }
                if (r < 0)
                        return r;
                if (!braces)
                        break;
                if (!accept(p, '}'))
                        return perr(p, "expected '}'");
        }
        *ret = TAKE_PTR(e);
        return 0;
}

static const struct {
        const char *name;
        ExprKind kind;
        ParamType to;
} functions[] = {
        { "hours", EXPR_EXPAND, PARAM_HOUR },
        { "days", EXPR_EXPAND, PARAM_DATE },
        { "day", EXPR_TRUNC, PARAM_DATE },
        { "week", EXPR_TRUNC, PARAM_WEEK },
        { "month", EXPR_TRUNC, PARAM_MONTH },
        { "range", EXPR_RANGE, _PARAM_TYPE_INVALID },
        { "all", EXPR_ALL, _PARAM_TYPE_INVALID },
};

/*
 * Whether the word of k characters at p is a function call: a word followed by '(', or the name
 * of a function, which is never a bare constant: "day = day" is a forgotten ${}, not a value.
 */
static bool is_call(const Parser *p, size_t k) {
        size_t after = p->pos + k;

        /* "web-1(" and "day-1": longer words, constants (the first then a syntax error). */
        if (k == 0 || bare_len(p) != k)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(functions); i++)
                if (strlen(functions[i].name) == k && strneq(p->s + p->pos, functions[i].name, k))
                        return true;
        while (after < p->n && isspace((unsigned char) p->s[after]))
                after++;
        return after < p->n && p->s[after] == '(';
}

static int parse_expr(Parser *p, Expr **ret) {
        _cleanup_(expr_freep) Expr *e = NULL;
        size_t k;
        int r;

        skip_space(p);
        if (p->pos + 1 < p->n && p->s[p->pos] == '$' && p->s[p->pos + 1] == '{')
                return parse_ref(p, ret);
        k = ident_len(p);
        if (!is_call(p, k) && p->pos < p->n &&
            (p->s[p->pos] == '\'' || p->s[p->pos] == '"' || bare_char(p->s[p->pos]))) {
                /* A constant binds a whole parameter: it is never a function's argument. */
                if (p->depth > 0)
                        return perr(p, "a function takes ${name}, not a constant");
                return parse_const(p, ret);
        }
        for (size_t i = 0; i < ELEMENTSOF(functions); i++) {
                if (strlen(functions[i].name) != k || !strneq(p->s + p->pos, functions[i].name, k))
                        continue;
                p->pos += k;
                if (!accept(p, '('))
                        return perr(p, "expected '(' after '%s'", functions[i].name);
                if (++p->depth > EXPR_MAX_DEPTH)
                        return perr(p, "nested more than %d deep", EXPR_MAX_DEPTH);
                r = new_expr(functions[i].kind, &e);
                if (r < 0)
                        return r;
                e->to = functions[i].to;
                if (functions[i].kind == EXPR_ALL) {
                        /* Like a constant, it binds a whole parameter, of the target's. */
                        if (p->depth > 1)
                                return perr(p, "a function takes ${name}, not all()");
                        skip_space(p);
                        if (p->pos >= p->n)
                                return perr(p, "expected ')'");
                        if (!accept(p, ')'))
                                return perr(p, "all() takes no argument: it reads every value "
                                               "of the parameter it binds");
                        p->depth--;
                        *ret = TAKE_PTR(e);
                        return 0;
                }
                r = parse_expr(p, &e->a);
                if (r < 0)
                        return r;
                if (functions[i].kind == EXPR_RANGE) {
                        if (!accept(p, ','))
                                return perr(p, "range() takes two arguments: expected ','");
                        r = parse_expr(p, &e->b);
                        if (r < 0)
                                return r;
                }
                if (!accept(p, ')'))
                        return perr(p, "expected ')'");
                p->depth--;
                *ret = TAKE_PTR(e);
                return 0;
        }
        if (k > 0)
                return perr(p, "unknown function '%.*s' (hours, days, day, week, month, range, "
                               "all)",
                            (int) k, p->s + p->pos);
        return perr(p, p->depth > 0 ? "expected ${name} or a function"
                                    : "expected ${name}, a function or a constant");
}

int expr_parse(const char *s, size_t n, Expr **ret, char **ret_error) {
        _cleanup_(expr_freep) Expr *e = NULL;
        Parser p = { .s = s, .n = n, .error = ret_error };
        int r;

        *ret_error = NULL;
        if (n > 8192)
                return perr(&p, "expression too long");
        r = parse_expr(&p, &e);
        if (r < 0)
                return r;
        skip_space(&p);
        if (p.pos != n)
                return perr(&p, "unexpected text");
        *ret = TAKE_PTR(e);
        return 0;
}

/* --- printing --- */

static void print_expr(const Expr *e, FILE *f) {
        switch (e->kind) {
        case EXPR_REF:
                fprintf(f, "${%s}", e->param);
                return;
        case EXPR_CONST:
                /* As written: a bare word is never a function's name, so it parses back. */
                if (e->quote)
                        fprintf(f, "%c%s%c", e->quote, e->value, e->quote);
                else
                        fputs(e->value, f);
                return;
        case EXPR_ALL:
                fputs("all()", f);
                return;
        case EXPR_SHIFT:
                print_expr(e->a, f);
                fprintf(f, " %c %lld", e->shift < 0 ? '-' : '+',
                        (long long) (e->shift < 0 ? -e->shift : e->shift));
                if (e->shift_unit)
                        fputc(e->shift_unit, f);
                return;
        default:
                for (size_t i = 0; i < ELEMENTSOF(functions); i++)
                        if (functions[i].kind == e->kind && functions[i].to == e->to) {
                                fprintf(f, "%s(", functions[i].name);
                                break;
                        }
                print_expr(e->a, f);
                if (e->b) {
                        fputs(", ", f);
                        print_expr(e->b, f);
                }
                fputc(')', f);
        }
}

int expr_to_string(const Expr *e, char **ret) {
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        if (!f)
                return -ENOMEM;
        print_expr(e, f);
        if (fclose(f) != 0) {
                free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

/* --- types --- */

static bool is_time(ParamType t) {
        return t == PARAM_HOUR || t == PARAM_DATE || t == PARAM_WEEK || t == PARAM_MONTH;
}

/* Coarseness: a truncation goes up this order, an expansion down. */
static int rank(ParamType t) {
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
static bool shifted_ref(const Expr *e, const char **ret_param, int64_t *ret_shift) {
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
                if (e->kind == EXPR_TRUNC ? rank(e->to) <= rank(e->a->type)
                                          : rank(e->to) >= rank(e->a->type))
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
                if (!shifted_ref(e->a, &pa, &sa) || !shifted_ref(e->b, &pb, &sb) ||
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
        if (rank(to) > rank(from))
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

                (void) shifted_ref(e->a, &p, &lo);
                (void) shifted_ref(e->b, &p, &hi);
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

                (void) shifted_ref(e->a, &p, &lo);
                (void) shifted_ref(e->b, &p, &hi);
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

/* --- input specs --- */

InputSpec *input_spec_free(InputSpec *spec) {
        if (!spec)
                return NULL;
        for (size_t i = 0; i < spec->n; i++)
                expr_free(spec->exprs[i]);
        free(spec->exprs);
        strv_free(spec->params);
        free(spec->alias);
        free(spec->target);
        free(spec);
        return NULL;
}

static int parse_name(Parser *p, const char *what, char **ret) {
        size_t k;

        skip_space(p);
        /* Target names may hold '-', as libconfig setting names do. */
        k = 0;
        while (p->pos + k < p->n &&
               (isalnum((unsigned char) p->s[p->pos + k]) || p->s[p->pos + k] == '_' ||
                p->s[p->pos + k] == '-'))
                k++;
        if (k == 0)
                return perr(p, "expected %s", what);
        *ret = strndup(p->s + p->pos, k);
        if (!*ret)
                return -ENOMEM;
        p->pos += k;
        return 0;
}

int input_spec_parse(const char *s, InputSpec **ret, char **ret_error) {
        _cleanup_(input_spec_freep) InputSpec *spec = NULL;
        Parser p = { .s = s, .n = strlen(s), .error = ret_error };
        _cleanup_free_ char *first = NULL;
        int r;

        *ret_error = NULL;
        if (p.n > 4096)
                return perr(&p, "input too long");
        spec = calloc(1, sizeof(InputSpec));
        if (!spec)
                return -ENOMEM;
        r = parse_name(&p, "a target name", &first);
        if (r < 0)
                return r;
        if (accept(&p, '=')) {
                spec->alias = TAKE_PTR(first);
                r = parse_name(&p, "a target name after '='", &spec->target);
                if (r < 0)
                        return r;
        } else
                spec->target = TAKE_PTR(first);

        if (accept(&p, '(')) {
                do {
                        _cleanup_(expr_freep) Expr *e = NULL;
                        _cleanup_free_ char *param = NULL;
                        Expr **n;

                        r = parse_name(&p, "a parameter name", &param);
                        if (r < 0)
                                return r;
                        if (strv_contains(spec->params, param))
                                return perr(&p, "'%s' is bound twice", param);
                        if (!accept(&p, '='))
                                return perr(&p, "expected '=' after '%s'", param);
                        r = parse_expr(&p, &e);
                        if (r < 0)
                                return r;
                        n = reallocarray(spec->exprs, spec->n + 1, sizeof(Expr *));
                        if (!n)
                                return -ENOMEM;
                        spec->exprs = n;
                        r = strv_consume(&spec->params, TAKE_PTR(param));
                        if (r < 0)
                                return r;
                        spec->exprs[spec->n++] = TAKE_PTR(e);
                } while (accept(&p, ','));
                if (!accept(&p, ')'))
                        return perr(&p, "expected ',' or ')'");
        }
        skip_space(&p);
        if (p.pos != p.n)
                return perr(&p, "unexpected text");
        *ret = TAKE_PTR(spec);
        return 0;
}
