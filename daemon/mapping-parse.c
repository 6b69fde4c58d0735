/* SPDX-License-Identifier: MIT */
/*
 * The text of mappings (mapping.c): expressions and a task's input specs parsed into Expr trees,
 * with errors that name the column, and expressions printed back as the user would write them.
 * One recursive-descent parser serves both, so an input spec's bindings are read exactly as a
 * lone expression is. Types are not known here: expr_check() assigns them. Pure: no I/O, no
 * logging.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mapping.h"
#include "util/strv.h"

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
