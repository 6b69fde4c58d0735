/* SPDX-License-Identifier: MIT */
/* A run's last log lines, read once journald has written all of them */
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include "util/macro.h"
#include "util/time-util.h"

typedef struct RunLog RunLog;

/*
 * Opens the journal and watches it through the event loop: changed(userdata) runs when journald
 * says it wrote something (it coalesces those, about every 250 ms) or added a file. changed may
 * free the RunLog.
 */
int run_log_open(sd_event *e, void (*changed)(void *userdata), void *userdata, RunLog **ret);
RunLog *run_log_free(RunLog *l);
static inline void run_log_freep(RunLog **l) {
        run_log_free(*l);
}

/*
 * Whether journald has written every line the run run_id wrote: 1 once the daemon's own entry
 * on the run's end is in the journal (its time in *ret_when), 0 before, -errno. sluice-result
 * records the end once journald has read the task's whole stream (SIOCOUTQ 0), the daemon
 * sends that entry after reading the record, and journald, one thread, writes what it read
 * before it takes the next datagram. Not when journald was too far behind to read it all
 * within sluice-result's bound (2 s), nor for a task run without sluice-result: their last
 * lines can come after the entry.
 */
int run_log_has_end(RunLog *l, const char *run_id, usec_t *ret_when);

/* When the next run of unit after run_id (started at since) started, by the daemon's entry;
 * USEC_INFINITY when none has (yet). */
usec_t run_log_next_start(RunLog *l, const char *unit, const char *run_id, usec_t since);

/* Whether the journal has any entry of process pid: 1, 0, -errno. */
int run_log_sees_pid(RunLog *l, pid_t pid);

/* The last n lines unit wrote from since until before until (CLOCK_REALTIME; USEC_INFINITY:
 * up to now), oldest first, one per line; NULL when there are none. ident is the task's syslog
 * identifier ("pipeline.task"), for the lines journald could not tie to the unit. */
char *run_log_last_lines(RunLog *l, const char *unit, const char *ident, usec_t since,
                         usec_t until, size_t n);
