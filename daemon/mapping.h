/* SPDX-License-Identifier: MIT */
/* Input mappings: expressions from task parameters to input parameters, and their inverses */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "param.h"
#include "util/macro.h"

typedef enum ExprKind {
        EXPR_REF,       /* ${day} */
        EXPR_SHIFT,     /* ${day - 1d}, ${day} - 1d */
        EXPR_TRUNC,     /* day(${hour}), week(${day}), month(${day}) */
        EXPR_EXPAND,    /* hours(${day}), days(${week}), days(${month}) */
        EXPR_RANGE,     /* range(${day} - 6d, ${day}) */
        EXPR_CONST,     /* web, 2026-11-27, 'a b': a fixed value, reading no task parameter */
        EXPR_ALL,       /* all(): every value of the enum it binds (a fan-in), reading none */
        _EXPR_KIND_MAX,
        _EXPR_KIND_INVALID = -EINVAL,
} ExprKind;

typedef struct Expr {
        ExprKind kind;
        ParamType type;         /* of the result; set by expr_check() */
        char *param;            /* EXPR_REF: the task parameter */
        char *value;            /* EXPR_CONST: the value, without its quotes */
        char quote;             /* EXPR_CONST: the quote it was written in, or 0 when bare */
        char **values;          /* EXPR_ALL: the enum's values, in its order; expr_set_all() */
        int64_t shift;          /* EXPR_SHIFT: amount, as written */
        char shift_unit;        /* as written: 'h', 'd', 'w', 'm' or 0 */
        int64_t delta;          /* EXPR_SHIFT: the amount in units of type; set by expr_check() */
        ParamType to;           /* EXPR_TRUNC, EXPR_EXPAND: the type converted to */
        struct Expr *a, *b;     /* operands; b only for EXPR_RANGE */
} Expr;

Expr *expr_free(Expr *e);
/* ${param}: the identity. */
int expr_new_ref(const char *param, Expr **ret);
DEFINE_POINTER_CLEANUP(Expr, expr_free);

/*
 * Parses s[0..n). On -EINVAL *ret_error says what is wrong and where. Types are not known yet:
 * expr_check() assigns them once the task's parameters are known. A constant is a whole
 * expression only, never a function's argument.
 */
int expr_parse(const char *s, size_t n, Expr **ret, char **ret_error);
/* The expression as the user would write it, for messages and graphs. */
int expr_to_string(const Expr *e, char **ret);

/* Looks a task parameter's spec up by name; NULL when the task has no such parameter. */
typedef const ParamSpec *(*expr_lookup_func)(const char *name, void *userdata);

/*
 * Types the expression; on -EINVAL *ret_error says why it cannot be evaluated or inverted. A
 * constant and all() are refused: their type is that of the target parameter they bind, which
 * the caller checks them against (param_value_valid(), expr_set_all()) and sets.
 */
int expr_check(Expr *e, expr_lookup_func lookup, void *userdata, char **ret_error);

/*
 * all() binding a parameter of this spec: it takes the enum's values, in the enum's order.
 * -EINVAL for any other type, whose values are open-ended: there is no "every value" to read.
 */
int expr_set_all(Expr *e, const ParamSpec *spec);

/* The task parameter an expression reads: exactly one, or NULL for a constant or all(). */
const char *expr_param(const Expr *e) _pure_;
/* Whether it can give more than one value (a fan-in). */
bool expr_is_multi(const Expr *e) _pure_;

/*
 * Forward: the values the expression takes for a task parameter's value (one unless a fan-in).
 * A constant takes its own, and all() every value of its enum, whatever the value (NULL then).
 */
int expr_eval(const Expr *e, const char *value, char ***ret);
/*
 * Inverse: the values of the task parameter for which the expression takes `value` among its
 * values (several for a truncation's inverse, or a range's). Empty when none. -EOPNOTSUPP for
 * a constant or all(), which read no parameter: an input value either is among their values or
 * concerns no instance, which the caller tells by comparing (expr_takes()).
 */
int expr_invert(const Expr *e, const char *value, char ***ret);
/* Whether a constant or all() takes value; true for the others, whose inverse tells. */
bool expr_takes(const Expr *e, const char *value) _pure_;

/* One element of a task's inputs: "[alias =] target[(param = expr, ...)]". */
typedef struct InputSpec {
        char *alias;            /* NULL when not named */
        char *target;
        char **params;          /* the target's parameters bound explicitly */
        Expr **exprs;           /* and their expressions, as many as params */
        size_t n;
} InputSpec;

int input_spec_parse(const char *s, InputSpec **ret, char **ret_error);
InputSpec *input_spec_free(InputSpec *spec);
DEFINE_POINTER_CLEANUP(InputSpec, input_spec_free);
