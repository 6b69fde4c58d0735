/* SPDX-License-Identifier: MIT */
/* Reading the journal, for sluicectl history/logs and the dashboard alike */
#pragma once

#include <stddef.h>
#include <systemd/sd-journal.h>

/* The value of FIELD in the current entry, copied into buf ("" when absent). */
const char *journal_field(sd_journal *j, const char *name, char *buf, size_t n);
/* Matches what a task unit wrote (as a system or user unit) and the daemon's entries on it. */
int journal_match_unit(sd_journal *j, const char *unit);
/* Matches the daemon's run-finished entries; of one task when task is set, of one instance when
 * unit is. */
int journal_match_runs(sd_journal *j, const char *pipeline, const char *task, const char *unit);
