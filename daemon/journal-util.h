/* SPDX-License-Identifier: MIT */
/* Reading the journal, for sluicectl history/logs and the dashboard alike */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-journal.h>

/* The value of FIELD in the current entry, copied into buf ("" when absent). */
const char *journal_field(sd_journal *j, const char *name, char *buf, size_t n);
/*
 * Matches what a task unit wrote (as a system or user unit), the daemon's entries on it, and,
 * with ident set, every line under the task's syslog identifier ("pipeline.task"): journald
 * tags a stream's lines with the unit only if the process still lives when it looks, and a
 * user manager attaches no LogExtraFields (SLUICE_UNIT), so a quick task's lines name no unit.
 * journal_entry_kind() sorts them out.
 */
int journal_match_unit(sd_journal *j, const char *unit, const char *ident);

typedef enum JournalEntryKind {
        JOURNAL_ENTRY_OTHER,            /* names no unit, from a stdout stream: the unit's if
                                         * inside one of its runs */
        JOURNAL_ENTRY_FOREIGN,          /* names another unit, or none and is no stream's */
        JOURNAL_ENTRY_UNIT,             /* names the unit */
        JOURNAL_ENTRY_RUN_STARTED,      /* the daemon's: a run of the unit starts */
        JOURNAL_ENTRY_RUN_FINISHED,     /* ... and ends */
} JournalEntryKind;

/* What the current entry is to unit. Reading forward, a line of kind OTHER between
 * RUN_STARTED and RUN_FINISHED is the unit's (or, on a user manager, one of another instance of
 * the task running at the same time: SLUICE_UNIT tells them apart on a system manager), and so
 * is one up to JOURNAL_START_SLACK before RUN_STARTED: the daemon writes that entry when
 * systemd answers the start, and a quick task's first lines can reach journald sooner. */
#define JOURNAL_START_SLACK (2 * 1000000ULL)
/* And the other way: journald reads a stream after the datagram of the daemon's run-finished
 * entry when it is busy, so a task's last lines can come up to this much after that. */
#define JOURNAL_END_SLACK (1 * 1000000ULL)
JournalEntryKind journal_entry_kind(sd_journal *j, const char *unit);
/* Whether the current entry is of the daemon whose configuration directory is config_dir (by
 * SLUICE_CONFIG_DIRECTORY, the same path or the same directory): daemons on one host may run
 * pipelines of the same name. Entries from before that field are taken, as they were. */
bool journal_entry_of_config(sd_journal *j, const char *config_dir);
/* Matches the daemon's run-finished entries; of one task when task is set, of one instance when
 * unit is. */
int journal_match_runs(sd_journal *j, const char *pipeline, const char *task, const char *unit);
