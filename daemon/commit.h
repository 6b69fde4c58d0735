/* SPDX-License-Identifier: MIT */
/* Moving a successful run's outputs into place, all or none */
#pragma once

#include "instance.h"

/* The group that staged outputs of dynamic_user tasks are given, and their units join: the
 * only way to let a user allocated when the unit starts write a file made before. */
#define SLUICE_STAGE_GROUP "sluice-stage"

/* How i's run stages and commits its outputs for its task's user (targets/target.h), resolved
 * once per run: *ret NULL, as the daemon. -ESRCH for a user or group nobody has. */
int run_stage_as(Instance *i, const StageAs **ret);

/* The output whose place (directory) was moved or removed since i's run was staged; NULL. */
const char *outputs_lost_place(Instance *i);
/* Moves every staged output of i's run into place once all of them are there and can be
 * moved; else moves none and says why in *ret_reason, with *ret_lost set when an output's
 * directory was moved or removed while the run wrote in it. */
int outputs_commit(Instance *i, char **ret_reason, bool *ret_lost);
/* i's run is over, its outputs moved into place or discarded: what its task left beside
 * them under their staged names, declared as no output, is to be removed (TargetKind.leftovers). */
void outputs_leftovers(Instance *i);
