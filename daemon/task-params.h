/* SPDX-License-Identifier: MIT */
/* Naming a task instance from NAME=VALUE strings, as the CLI and the D-Bus API take them */
#pragma once

#include "graph.h"

/*
 * The binding of params ("NAME=VALUE" each), every value checked against its parameter's type
 * and every parameter of the task given. On -EINVAL, *ret_error says what is wrong, one problem
 * per line, in words for the person who typed the parameters.
 */
int task_binding_from_params(const Task *task, char * const *params, Binding **ret,
                             char **ret_error);
