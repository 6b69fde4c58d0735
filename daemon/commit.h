/* SPDX-License-Identifier: MIT */
/* Moving a successful run's outputs into place, all or none */
#pragma once

#include "instance.h"

/* The output whose place (directory) was moved or removed since i's run was staged; NULL. */
const char *outputs_lost_place(Instance *i);
/* Moves every staged output of i's run into place once all of them are there and can be
 * moved; else moves none and says why in *ret_reason, with *ret_lost set when an output's
 * directory was moved or removed while the run wrote in it. */
int outputs_commit(Instance *i, char **ret_reason, bool *ret_lost);
