/* SPDX-License-Identifier: MIT */
/* A run's last log lines, read once journald has written all of them */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "util/time-util.h"

/*
 * One journal handle, watched through the event loop while failure notices wait for their
 * lines. Opening one costs a few milliseconds (every journal file), so the notices that wait
 * at the same time share it.
 */
typedef struct RunLog RunLog;

/* changed(userdata) runs whenever journald has written something new. */
int run_log_open(sd_event *e, void (*changed)(void *userdata), void *userdata, RunLog **ret);
RunLog *run_log_close(RunLog *l);

/*
 * Whether journald has written every line the run run_id wrote: 1 once the daemon's own entry
 * on the run's end is in the journal. sluice-result records the end only after journald has
 * read the task's whole stream (SIOCOUTQ 0), the daemon sends that entry only after reading
 * the record, and journald, one thread, finishes writing what it read before it takes the
 * next datagram. 0 before; -errno.
 */
int run_log_has_end(RunLog *l, const char *run_id);

/* The last n lines unit wrote since since (CLOCK_REALTIME), oldest first, one per line;
 * NULL when there are none. ident is the task's syslog identifier ("pipeline.task"), for the
 * lines journald could not tie to the unit. */
char *run_log_last_lines(RunLog *l, const char *unit, const char *ident, usec_t since, size_t n);
