/* SPDX-License-Identifier: MIT */
/*
 * The end of a run, and what comes after it. A unit's result (follow.c, recover.c), once the
 * outputs a server holds are confirmed (confirm.c), commits the staged outputs or discards
 * them (commit.c) and is logged with the run's fields; then the instance is done, retried
 * after the policy's delay, failed for good, or queued again at once: an input changed while
 * it ran, its output's directory went away, or the system's shutdown stopped it. A start that
 * failed (executor.c) ends here too.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "commit.h"
#include "confirm.h"
#include "evaluate.h"
#include "executor-internal.h"
#include "failure.h"
#include "log.h"
#include "notify.h"
#include "scheduler.h"
#include "state.h"
#include "util/strv.h"

/*
 * The run's output directory was renamed away (or removed) while it wrote there, so what it
 * wrote went along: the instance is incomplete, as when an output is deleted by hand, and runs
 * again at once, as a new series. Once per series (until a new arrival or `retry` starts the
 * next; a restart forgets it): a task that removes the directory itself must fail, not loop.
 */
/* The run is over; the instance is queued again at once, as a new series (lost_output: for
 * the reason rerun_lost_output() says). */
static void run_again(Manager *m, Instance *i, bool lost_output) {
        uint64_t memory_max = i->memory_max;

        i->run = run_free(i->run);
        /* Cannot fail for a known instance. A limit raised after an oom-kill stays. */
        (void) evaluate_enqueue(m, i->task, i->binding, i->id, i->unit, i, NULL);
        i->memory_max = memory_max;
        i->lost_output = lost_output;
        /* An input changed in the run: its outputs are there, made from the version before. */
        i->forced = i->forced || !lost_output;
        /* Under the version a reload made of its task, or gone with it. */
        if (m->n_retired > 0)
                manager_settle_instance(m, i);
        scheduler_schedule(m);
}

static bool rerun_lost_output(Manager *m, Instance *i, const char *reason) {
        if (i->cancelled || i->lost_output)
                return false;
        m->n_runs_failed++;     /* as the journal has it */
        log_notice("%s: %s; running it again", i->unit, reason);
        run_again(m, i, true);
        return true;
}

/* Long enough for a shutdown to end the daemon first (a start now would be refused, and count):
 * its mark is saved as waiting to retry, and the next boot runs it. A stop that was not the
 * system's after all costs this much delay. */
#define INTERRUPTED_RETRY_DELAY (30 * USEC_PER_SEC)

/* Stopped by the system's shutdown, or not started for the daemon's own trouble: not the task's
 * failure, so not an attempt, and nobody is told; it runs again (after the next boot). */
static void run_interrupted(Manager *m, Instance *i, const char *reason) {
        /* Read after the boot, when the shutdown is over: at once. */
        usec_t delay = i->run->exit_realtime > 0 &&
                                       i->run->exit_realtime < m->manager_started_realtime
                               ? 0 : INTERRUPTED_RETRY_DELAY;
        char span[FORMAT_TIMESPAN_MAX];

        log_notice("%s: %s; it runs again %s%s, not counted as an attempt", i->unit, reason,
                   delay ? "in " : "now", delay ? format_timespan(span, sizeof(span), delay) : "");
        i->attempts = i->run->attempt - 1;
        free(i->reason);
        i->reason = strdup(reason);
        i->run = run_free(i->run);
        manager_set_state(m, i, INSTANCE_RETRY);
        (void) manager_set_wake(m, i, now_usec(CLOCK_REALTIME) + delay);
        if (m->n_retired > 0)
                manager_settle_instance(m, i);
}

/*
 * The run is over and accounted for: decide what comes next for the instance. ok: it is
 * complete and forgotten. Otherwise the retry policy decides between another attempt later
 * and failing for good; lost_output: see rerun_lost_output().
 */
void executor_run_ended(Manager *m, Instance *i, bool ok, FailureClass class, const char *reason,
                        bool lost_output) {
        Run *run = i->run;
        usec_t exit_realtime;
        RetryDecision d;
        char when[FORMAT_TIMESPAN_MAX];

        executor_start_settled(m, i, "the run ended");
        /* A failure's record ends with the marks' next save (instances.c), which the state
         * change below asks for. */
        if (ok || (lost_output && !i->cancelled && !i->lost_output) ||
            strv_extend(&m->ends_after_save, run->id_str) < 0)
                (void) state_remove_run(m->state, run->id_str);
        else
                manager_save_marks(m);
        free(i->last_run_id);
        i->last_run_id = strdup(run->id_str);
        i->last_start_realtime = run->start_realtime;
        scheduler_release(m, i);
        if (ok) {
                m->n_runs_ok++;
                i->task->n_succeeded++;
                if (i->failed_before)
                        notify_instance(m, i, NOTIFY_RECOVERY, NULL);
                notify_instance(m, i, NOTIFY_SUCCESS, NULL);
                if (i->changed_in_run) {
                        log_info("%s: an input changed while it ran (rerun = \"newer\"); "
                                 "running it again", i->unit);
                        i->changed_in_run = false;
                        i->failed_before = false;
                        run_again(m, i, false);
                        return;
                }
                if (m->n_retired > 0) {
                        /* Ended under the version of its task a reload replaced: the new one
                         * may want more of the instance (an output added), so it decides. */
                        Task *next = manager_successor(m, i->task);
                        _cleanup_(binding_freep) Binding *b = NULL;

                        if (next && binding_copy(i->binding, &b) < 0)
                                b = NULL;
                        manager_remove_instance(m, i);
                        manager_gc_retired(m);
                        if (next && b)
                                (void) evaluate_instance(m, next, b, false);
                } else
                        manager_remove_instance(m, i);
                scheduler_schedule(m);
                return;
        }
        if (lost_output && rerun_lost_output(m, i, reason))
                return;
        if (class == FAILURE_INTERRUPTED) {
                run_interrupted(m, i, reason);
                return;
        }

        m->n_runs_failed++;
        free(i->reason);
        i->reason = i->cancelled ? strdup("cancelled") : strdup(reason);
        d = i->cancelled ? (RetryDecision){ .why = "cancelled on request" }
                         : retry_decide(&i->task->retry, class, run->attempt, run->memory_max);
        exit_realtime = run->exit_realtime;
        i->run = run_free(i->run);
        i->failed_before = true;
        if (d.retry) {
                /* From the end of the run: one that ended while the daemon was away has waited
                 * part of its delay already. */
                usec_t now = now_usec(CLOCK_REALTIME);
                usec_t waited = exit_realtime > 0 && exit_realtime < now ? now - exit_realtime : 0;
                usec_t wake = waited < USEC_PER_SEC ? now + d.delay_usec
                                                    : MAX(now - waited + d.delay_usec, now);

                i->memory_max = d.memory_max;
                manager_set_state(m, i, INSTANCE_RETRY);
                (void) manager_set_wake(m, i, wake);
                log_warning("%s failed (%s), attempt %u of %u; retrying %s%s", i->unit, reason,
                            i->attempts, i->task->retry.attempts, wake > now ? "in " : "now",
                            wake > now ? format_timespan(when, sizeof(when), wake - now) : "");
                notify_instance(m, i, NOTIFY_RETRY, reason);
        } else if (i->cancelled && evaluate_outputs_complete(i->task, i->binding)) {
                /* A forced run's: the outputs from before stay, and so it is complete. */
                log_notice("%s cancelled on request; its outputs from before stay", i->unit);
                manager_remove_instance(m, i);
                manager_gc_retired(m);
                scheduler_schedule(m);
                return;
        } else if (i->cancelled) {
                /* Asked for, not a failure anyone must be told of: a cancel of a queued or
                 * retrying instance tells no notifier either. */
                manager_set_state(m, i, INSTANCE_FAILED);
                log_notice("%s cancelled on request, after %u attempt(s)", i->unit, i->attempts);
        } else {
                manager_set_state(m, i, INSTANCE_FAILED);
                if (i->task->retry.disable_window > 0)
                        (void) manager_set_wake(m, i,
                                                now_usec(CLOCK_REALTIME) +
                                                        i->task->retry.disable_window);
                log_error("%s failed for good after %u attempt(s): %s (%s)", i->unit, i->attempts,
                          reason, d.why);
                notify_instance(m, i, NOTIFY_FAILURE, i->reason);
        }
        if (m->n_retired > 0)
                manager_settle_instance(m, i);
        scheduler_schedule(m);
}

static bool unit_succeeded(const UnitResult *res) {
        return res->result && streq(res->result, "success") && res->exec_code == CLD_EXITED &&
               res->exec_status == 0;
}

void executor_finish(Manager *m, Instance *i, const UnitResult *res) {
        _cleanup_free_ char *reason = NULL;
        int r;

        if (run_end_taken(i->run))
                return;         /* told already; its outputs' servers are being asked */
        r = unit_succeeded(res) ? executor_confirm(m, i, res, &reason) : 0;
        if (r > 0)
                return;
        executor_finish_with(m, i, res, r < 0 ? reason ?: "cannot confirm its outputs" : NULL,
                             NULL);
}

/* What servers hold of a run that succeeded, made known to what reads it. Under the task's
 * current version, where a reload replaced the one it ran under: the old one's targets are
 * stopped, and would tell no one. */
static void publish_confirmed(Manager *m, Instance *i, char * const *confirmed) {
        Task *task = i->task, *next = m->n_retired > 0 ? manager_successor(m, task) : NULL;

        for (size_t k = 0; confirmed && k < task->n_outputs; k++) {
                Target *t = task->outputs[k];
                int r;

                if (!confirmed[k] || !t->kind->confirmed)
                        continue;
                if (next && k < next->n_outputs && next->outputs[k]->kind == t->kind)
                        t = next->outputs[k];
                r = t->kind->confirmed(t, i->run->outputs[k], confirmed[k]);
                if (r < 0)
                        log_warning_errno(r, "Cannot note output '%s' of %s as there: %m",
                                          t->name, i->unit);
        }
}

void executor_finish_with(Manager *m, Instance *i, const UnitResult *res, const char *failure,
                          char * const *confirmed) {
        _cleanup_strv_free_ char **f = executor_run_fields(i);
        _cleanup_free_ char *reason = failure ? strdup(failure) : NULL;
        /* Cancelled, it was told so: what it wrote before the stop reached it is not taken. */
        bool ok = unit_succeeded(res) && !failure && !i->cancelled;
        /* Without a start (a run recovered without its record), no duration: not since 1970. */
        usec_t duration = res->start_usec > 0 && res->exit_usec > res->start_usec
                                  ? res->exit_usec - res->start_usec : 0;
        char dur[FORMAT_TIMESPAN_MAX], cpu[FORMAT_TIMESPAN_MAX + 8];
        FailureClass class = FAILURE_OUTPUT;
        bool lost = false;

        if (ok && outputs_commit(i, &reason, &lost) < 0)
                ok = false;
        if (ok)
                publish_confirmed(m, i, confirmed);
        i->journal_behind = res->journal_behind;
        i->run->exit_realtime = res->exit_usec;
        if (!ok)
                executor_discard_staged(i);
        outputs_leftovers(i);
        if (!ok) {
                if (!reason) {
                        /* Without a start time, the last hour is plenty for a kernel line. */
                        class = failure_classify(i, res,
                                         res->start_usec ?: now_usec(CLOCK_REALTIME) -
                                                                    USEC_PER_HOUR);
                        reason = failure_describe(i, class, res);
                }
                /* A task that opens its output by path when its directory has gone fails
                 * ("Directory nonexistent"), and is no more to blame than one that exits 0. */
                if (!lost && class == FAILURE_EXIT_CODE && reason) {
                        const char *name = outputs_lost_place(i);
                        char *more = NULL;

                        if (name && asprintf(&more, "%s, after the directory of output '%s' "
                                             "was moved or removed", reason, name) >= 0) {
                                free(reason);
                                reason = more;
                                lost = true;
                        }
                }
        }
        (void) strv_extend(&f, "MESSAGE_ID=" SLUICE_MESSAGE_RUN_FINISHED_STR);
        (void) strv_extendf(&f, "SLUICE_RESULT=%s", ok ? "success" : "failed");
        /* Asked for: history shows it as such, not as the signal the stop sent. */
        if (!ok)
                (void) strv_extendf(&f, "SLUICE_FAILURE=%s", i->cancelled
                                            ? "cancelled" : failure_class_to_string(class));
        /* The unit's Result as systemd has it: what sluice-result saw as a signal at
         * runtime_max is systemd's timeout. */
        (void) strv_extendf(&f, "SLUICE_UNIT_RESULT=%s",
                            !ok && class == FAILURE_TIMEOUT ? "timeout" : strna(res->result));
        (void) strv_extendf(&f, "SLUICE_EXIT_CODE=%d", res->exec_code);
        (void) strv_extendf(&f, "SLUICE_EXIT_STATUS=%d", res->exec_status);
        (void) strv_extendf(&f, "SLUICE_DURATION_USEC=%llu", (unsigned long long) duration);
        if (res->cpu_nsec != UINT64_MAX)
                (void) strv_extendf(&f, "SLUICE_CPU_USEC=%llu",
                                    (unsigned long long) (res->cpu_nsec / NSEC_PER_USEC));
        if (i->run->memory_max != UINT64_MAX)
                (void) strv_extendf(&f, "SLUICE_MEMORY_MAX=%llu",
                                    (unsigned long long) i->run->memory_max);
        if (res->rss_peak != UINT64_MAX)
                (void) strv_extendf(&f, "SLUICE_MEMORY_PEAK=%llu",
                                    (unsigned long long) res->rss_peak);
        format_timespan(dur, sizeof(dur), duration);
        /* CPU time where systemd accounts it or sluice-result measured it. */
        cpu[0] = 0;
        if (res->cpu_nsec != UINT64_MAX) {
                char t[FORMAT_TIMESPAN_MAX];
                snprintf(cpu, sizeof(cpu), " (CPU %s)",
                         format_timespan(t, sizeof(t), res->cpu_nsec / NSEC_PER_USEC));
        }
        if (ok)
                log_struct(LOG_INFO, f, "%s succeeded after %s%s", i->unit, dur, cpu);
        else if (i->cancelled)
                log_struct(LOG_NOTICE, f, "%s was cancelled: %s", i->unit, strna(reason));
        else if (class == FAILURE_INTERRUPTED)
                log_struct(LOG_NOTICE, f, "%s was interrupted: %s", i->unit, strna(reason));
        else
                log_struct(LOG_ERR, f, "%s failed: %s", i->unit, strna(reason));

        executor_run_ended(m, i, ok, class, strna(reason), lost);
}

void executor_lost(Manager *m, Instance *i) {
        UnitResult res = UNIT_RESULT_UNKNOWN;

        executor_finish(m, i, &res);
}
