/* SPDX-License-Identifier: MIT */
/* ${...} substitution into exec argv elements, never through a shell */
#pragma once

#include "graph.h"

typedef struct SubstContext {
        const Task *task;
        const Binding *binding;
        char * const * const *inputs;   /* per task input: its locations */
        char * const *outputs;          /* per task output: where the run writes it */
} SubstContext;

/*
 * Checks one exec element against the task at load time. On -EINVAL *ret_error says what is
 * wrong with it; the caller adds file and line.
 */
int subst_check(const Task *task, const char *element, char **ret_error);

/*
 * Checks that no ${...} whose value can be any text (a string or path parameter, from a file
 * name) is put into code an interpreter parses: "sh -c SCRIPT", "python3 -c CODE", "perl -e".
 * There a file named "x $(reboot)" is a command. -EINVAL and *ret_error when one is.
 */
int subst_check_code(const Task *task, char **ret_error);

/*
 * Expands every element. "${inputs}" and "${outputs}" (alone in an element) become one element
 * per location; everything else substitutes within its element. "$$" is a literal '$', and a
 * '$' not followed by '{' stays as it is, so "$HOME" in a sh -c script reaches the shell.
 */
int subst_expand(char * const *exec, const SubstContext *c, char ***ret);
