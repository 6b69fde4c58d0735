/* SPDX-License-Identifier: MIT */
/* Paused pipelines: nothing of theirs starts until they are resumed; kept across restarts */
#pragma once

#include "control.h"

/* Reads the paused pipelines from the state directory, at start-up. */
void pause_load(Manager *m);
/* Pauses or resumes the pipelines named; those unknown (resumed: not paused) are refused, and
 * nothing changes. Durable before it returns. */
int pause_set(Manager *m, char * const *names, bool pause, ControlError *e);
/* Whether p is paused: its queued instances wait, its runs under way go on. */
bool pause_holds(const Manager *m, const Pipeline *p);
/* "its pipeline is paused (`sluicectl resume P`)" for a queued instance of a paused pipeline,
 * else NULL; a new string. */
char *pause_reason(const Manager *m, const Instance *i);
/* After a load or reload: says which paused names no pipeline has (a renamed file). */
void pause_check_names(Manager *m);
