/* SPDX-License-Identifier: MIT */
/* What typing mappings (mapping.c) and evaluating them (mapping-eval.c) share */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "mapping.h"

/* A bound on any one expansion: a range over ten years of hours is a mistake, not a pipeline. */
#define EXPR_MAX_VALUES 10000

/* Coarseness: a truncation goes up this order, an expansion down. -1 for a type that is not
 * one of time. */
int expr_type_rank(ParamType t);
/* A range's ends: the same parameter, shifted by constants. */
bool expr_shifted_ref(const Expr *e, const char **ret_param, int64_t *ret_shift);
