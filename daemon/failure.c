/* SPDX-License-Identifier: MIT */
/*
 * Why a run failed, as the retry policy sorts it (retry.h) and as a person reads it: from what
 * systemd says of the unit, and, where cgroup v1 blurs an oom-kill into a SIGKILL or a task
 * at its TasksMax= fails in its own words, from the kernel's line in the journal.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-journal.h>

#include "failure.h"
#include "kernel-log.h"
#include "unit-props.h"
#include "manager.h"
#include "state.h"
#include "util/exit-status.h"

static const char *format_size(char *buf, size_t n, uint64_t v) {
        static const char units[] = "KMGTPE";
        size_t u = 0;

        if (v < 1024 || v % 1024 != 0) {
                snprintf(buf, n, "%llu", (unsigned long long) v);
                return buf;
        }
        while (v >= 1024 && v % 1024 == 0 && u < sizeof(units) - 1) {
                v /= 1024;
                u++;
        }
        snprintf(buf, n, "%llu%c", (unsigned long long) v, units[u - 1]);
        return buf;
}

/*
 * Whether the kernel's journal has a line since since_realtime with marker that names unit's
 * cgroup, where the kernel's own log cannot tell (kernel-log.c). journald reads the kernel's
 * ring buffer asynchronously: with wait, it is given a little time to.
 */
static bool journal_kernel_named(const char *unit, const char *marker, usec_t since_realtime,
                                 bool wait) {
        sd_journal *j = NULL;
        bool found = false;

        if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY) < 0)
                return false;
        (void) sd_journal_add_match(j, "_TRANSPORT=kernel", 0);
        for (int round = 0; round < (wait ? 5 : 1) && !found; round++) {
                (void) sd_journal_seek_realtime_usec(j, since_realtime);
                while (!found && sd_journal_next(j) > 0) {
                        const char *data;
                        size_t len;

                        if (sd_journal_get_data(j, "MESSAGE", (const void **) &data, &len) >= 0)
                                found = kernel_line_names(data, len, marker, unit);
                }
                if (!found && wait)
                        (void) sd_journal_wait(j, 100 * USEC_PER_MSEC);
        }
        sd_journal_close(j);
        return found;
}

/* Time the loop spends reading the journal, counted per second against a budget: a burst of
 * failures must not hold the loop up to the watchdog. */
typedef struct JournalBudget {
        usec_t limit, window, spent;
} JournalBudget;

/* Whether any of the second's budget is left, at now (CLOCK_MONOTONIC). */
static bool budget_left(JournalBudget *b, usec_t now) {
        if (now >= b->window + USEC_PER_SEC) {
                b->window = now;
                b->spent = 0;
        }
        return b->spent < b->limit;
}

static void budget_spend(JournalBudget *b, usec_t since) {
        b->spent += now_usec(CLOCK_MONOTONIC) - since;
}

/*
 * On a host with cgroup v2 systemd says Result=oom-kill. Under cgroup v1 (these CI machines)
 * a task killed at MemoryMax= ends with Result=signal and SIGKILL, or, when the process killed
 * was a child of the main one (a shell pipeline), with exit status 137; only the kernel's
 * line "oom-kill:...,oom_memcg=/.../<unit>,..." tells why. Look for it since the run started,
 * in the kernel's log, or else in the journal: when the result looks like a SIGKILL, wait a
 * little for journald to have read it.
 */
/* The loop waits for kernel lines at most this long in any second: a burst of SIGKILLed runs
 * must not hold it for 0.5 s each, up to the watchdog. Past it, the journal is read once. */
#define OOM_WAIT_BUDGET (300 * USEC_PER_MSEC)

static bool killed_at_memory_max(Instance *i, usec_t since_realtime, bool wait) {
        static JournalBudget waits = { .limit = OOM_WAIT_BUDGET };
        usec_t now = now_usec(CLOCK_MONOTONIC);
        bool found;
        int r;

        r = kernel_log_named(i->unit, KERNEL_LINE_OOM, i->run->kernel_mark);
        if (r >= 0)
                return r > 0;
        wait = wait && budget_left(&waits, now);
        found = journal_kernel_named(i->unit, KERNEL_LINE_OOM, since_realtime, wait);
        if (wait)
                budget_spend(&waits, now);
        return found;
}

/* How long in any second the loop may spend looking for refused forks: each lookup opens the
 * journal and reads the kernel's lines since the run started, and a burst of failures of
 * long runs must not keep the loop at it. Past it, the reason goes without the hint. */
#define FORK_LOOKUP_BUDGET (100 * USEC_PER_MSEC)

/*
 * A task at its TasksMax= fails in its own words ("fork: Resource temporarily unavailable",
 * any exit status); the kernel says why, once per cgroup: "cgroup: fork rejected by pids
 * controller in /.../<unit>", naming the unit whether the task's own TasksMax= or its pipeline
 * slice's was reached. Which limits could have been, in words; else NULL.
 */
static char *refused_fork_at(Instance *i, usec_t since_realtime) {
        static JournalBudget lookups = { .limit = FORK_LOOKUP_BUDGET };
        uint64_t own = i->task->limits.tasks_max, slice = i->task->pipeline->limits.tasks_max;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        char *s = NULL;
        int r;

        if (own == UINT64_MAX)
                own = i->manager->config.default_limits.tasks_max;
        if (own == UINT64_MAX && slice == UINT64_MAX)
                return NULL;
        r = kernel_log_named(i->unit, KERNEL_LINE_FORK, i->run->kernel_mark);
        if (r < 0) {
                if (!budget_left(&lookups, now))
                        return NULL;
                r = journal_kernel_named(i->unit, KERNEL_LINE_FORK, since_realtime, false);
                budget_spend(&lookups, now);
        }
        if (r == 0)
                return NULL;
        if (own != UINT64_MAX && slice != UINT64_MAX)
                (void) asprintf(&s, "at tasks_max = %llu, or its pipeline's %llu for all its runs",
                                (unsigned long long) own, (unsigned long long) slice);
        else if (own != UINT64_MAX)
                (void) asprintf(&s, "at tasks_max = %llu", (unsigned long long) own);
        else
                (void) asprintf(&s, "at its pipeline's tasks_max = %llu for all its runs",
                                (unsigned long long) slice);
        return s;
}

/*
 * A task that sluice-result wrapped says only that it was stopped by a signal when systemd
 * stopped it at RuntimeMaxSec=; the manager's Result=timeout is the wrapper's to guess: a stop
 * signal once the run had had all its time.
 */
static bool stopped_at_runtime_max(Instance *i, const UnitResult *res) {
        Manager *m = i->manager;
        usec_t max = i->task->limits.runtime_max;

        if (max == USEC_INFINITY)
                max = m->config.default_limits.runtime_max;
        if (max == USEC_INFINITY || res->exec_code != CLD_KILLED ||
            (res->exec_status != SIGTERM && res->exec_status != SIGKILL))
                return false;
        return res->exit_usec > res->start_usec && res->exit_usec - res->start_usec >= max;
}

/* Whether the manager is on its way down: a shutdown or reboot (or the user manager's own stop).
 * Asked with a short timeout, since it is asked on the loop; not knowing is "no". The answer
 * holds for a second: at a shutdown every run ends at once, and each would ask. */
static bool manager_stopping(Manager *m) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        static usec_t asked;
        static bool stopping;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        const char *state = NULL;

        if (asked > 0 && now < asked + USEC_PER_SEC)
                return stopping;
        asked = now;
        stopping = m->bus &&
                   sd_bus_message_new_method_call(m->bus, &call, SYSTEMD_DEST, SYSTEMD_PATH,
                                                  "org.freedesktop.DBus.Properties",
                                                  "Get") >= 0 &&
                   sd_bus_message_append(call, "ss", SYSTEMD_MANAGER, "SystemState") >= 0 &&
                   sd_bus_call(m->bus, call, USEC_PER_SEC, NULL, &reply) >= 0 &&
                   sd_bus_message_read(reply, "v", "s", &state) >= 0 &&
                   streq_ptr(state, "stopping");
        return stopping;
}

/*
 * Stopped by the system going down (SIGTERM, or SIGKILL once the stop timed out), not failed:
 * the manager was stopping when the end came, or the end came before the manager now running
 * started (read after a reboot, from the result sluice-result left).
 */
static bool stopped_by_shutdown(Instance *i, const UnitResult *res) {
        Manager *m = i->manager;

        /* Killed, or a JVM's way of saying so (it handles SIGTERM and exits 143). */
        bool killed = res->exec_code == CLD_KILLED &&
                      (res->exec_status == SIGTERM || res->exec_status == SIGKILL);
        bool exited_so = res->exec_code == CLD_EXITED &&
                         (res->exec_status == 128 + SIGTERM || res->exec_status == 128 + SIGKILL);

        if (i->cancelled || (!killed && !exited_so))
                return false;
        if (res->exit_usec > 0 && m->manager_started_realtime > 0 &&
            res->exit_usec < m->manager_started_realtime)
                return true;
        return manager_stopping(m);
}

FailureClass failure_classify(Instance *i, const UnitResult *res, usec_t start_realtime) {
        const char *r = res->result;

        /* Its end could not be recorded with the state directory full: the daemon's trouble. */
        if (!r)
                return i->manager->state->reserve_full ? FAILURE_INTERRUPTED : FAILURE_LOST;
        if (streq(r, "oom-kill"))
                return FAILURE_OOM;
        if (streq(r, "timeout"))
                return FAILURE_TIMEOUT;
        if (streq(r, "core-dump") || res->exec_code == CLD_DUMPED)
                return FAILURE_CORE_DUMP;
        if (stopped_at_runtime_max(i, res))
                return FAILURE_TIMEOUT;
        if (i->run->memory_max != UINT64_MAX) {
                bool sigkill = (res->exec_code == CLD_KILLED && res->exec_status == SIGKILL) ||
                               (res->exec_code == CLD_EXITED && res->exec_status == 128 + SIGKILL);
                if (killed_at_memory_max(i, start_realtime, sigkill))
                        return FAILURE_OOM;
        }
        if (stopped_by_shutdown(i, res))
                return FAILURE_INTERRUPTED;
        if (streq(r, "signal") || res->exec_code == CLD_KILLED)
                return FAILURE_SIGNAL;
        return FAILURE_EXIT_CODE;
}

/* "exit-code (status 3)", "signal (SIGTERM)", "oom-kill (MemoryMax=64M)": the reason kept for
 * the CLI and notifications. */
char *failure_describe(Instance *i, FailureClass c, const UnitResult *res) {
        bool chdir_failed = res->exec_status == EXIT_STATUS_CHDIR && i->task->working_directory;
        const char *meaning;
        char size[32], *s = NULL;
        int r;

        if (c == FAILURE_OOM)
                r = asprintf(&s, "oom-kill (MemoryMax=%s)",
                             format_size(size, sizeof(size), i->run->memory_max));
        else if (c == FAILURE_INTERRUPTED && !res->result)
                r = asprintf(&s, "its end could not be recorded: the state directory's file "
                             "system was full");
        else if (c == FAILURE_INTERRUPTED && res->exec_code == CLD_EXITED)
                r = asprintf(&s, "stopped by the system's shutdown (status %d)",
                             res->exec_status);
        else if (c == FAILURE_INTERRUPTED)
                r = asprintf(&s, "stopped by the system's shutdown (SIG%s)",
                             sigabbrev_np(res->exec_status) ?: "?");
        else if (c == FAILURE_LOST)
                r = asprintf(&s, "lost (its unit is gone, and no result of it could be read)");
        else if (c == FAILURE_TIMEOUT && !streq_ptr(res->result, "timeout") &&
                 res->exit_usec > res->start_usec) {
                /* sluice-result saw a signal; systemd, which sent it, says timeout. */
                char span[FORMAT_TIMESPAN_MAX];
                r = asprintf(&s, "timeout (stopped after %s, at runtime_max)",
                             format_timespan(span, sizeof(span),
                                             res->exit_usec - res->start_usec));
        }
        else if (res->exec_code == CLD_KILLED || res->exec_code == CLD_DUMPED)
                r = asprintf(&s, "%s (SIG%s)", strna(res->result),
                             sigabbrev_np(res->exec_status) ?: "?");
        else if (res->exec_code == CLD_EXITED && (meaning = exit_status_meaning(res->exec_status)))
                /* systemd's own statuses (EXIT_EXEC, which sluice-result gives too, EXIT_CHDIR,
                 * ...): the command never ran. In a list or a failure notice "status 200" alone
                 * sends people to systemd's documentation; the unit's log has systemd's line. */
                r = asprintf(&s, "%s (status %d: %s%s%s%s; its log says why)",
                             strna(res->result), res->exec_status, meaning,
                             chdir_failed ? " '" : "",
                             chdir_failed ? i->task->working_directory : "",
                             chdir_failed ? "'" : "");
        else if (res->exec_code == CLD_EXITED && res->exec_status != 0)
                r = asprintf(&s, "%s (status %d)", strna(res->result), res->exec_status);
        else
                r = asprintf(&s, "%s", strna(res->result));
        if (r < 0)
                return NULL;
        if (c == FAILURE_EXIT_CODE || c == FAILURE_SIGNAL) {
                usec_t since = res->start_usec ?: now_usec(CLOCK_REALTIME) - USEC_PER_HOUR;
                _cleanup_free_ char *at = refused_fork_at(i, since);
                char *more;

                if (at && asprintf(&more, "%s, after the kernel refused it a new process %s", s,
                                   at) >= 0) {
                        free(s);
                        s = more;
                }
        }
        return s;
}
