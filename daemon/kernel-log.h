/* SPDX-License-Identifier: MIT */
/* The kernel's own lines about a unit (an oom-kill, a refused fork), read from /dev/kmsg */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The lines asked about; only lines holding one of these are kept. */
#define KERNEL_LINE_OOM "oom_memcg="
#define KERNEL_LINE_FORK "fork rejected by pids controller"

/* Whether the text of a kernel line holds marker and names unit's cgroup: a path ending in
 * "/<unit>", at the end of the line or before a comma. */
bool kernel_line_names(const char *text, size_t len, const char *marker, const char *unit);

/* Where the kernel's log is now, for kernel_log_named(): taken just before a run starts, so
 * that a line of an earlier run of the same unit does not count. 0 where the log cannot be
 * read here (not root, a container). */
uint64_t kernel_log_mark(void);

/*
 * Whether the kernel logged a line holding marker (one of KERNEL_LINE_*) that names unit's
 * cgroup since mark: 1 if so, 0 if not, -errno when that cannot be told from the kernel's log
 * (no mark, the log unreadable, lines of that time overwritten before they were read): then
 * the journal is the one to ask.
 */
int kernel_log_named(const char *unit, const char *marker, uint64_t mark);
