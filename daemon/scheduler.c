/* SPDX-License-Identifier: MIT */
/*
 * The ready queue. Instances wait here until they may start: a global slot (max_parallel), a
 * slot under their task's own max_parallel, and their share of every resource pool they claim.
 * The queue is ordered by priority, then age, and an instance that must wait for its task or a
 * pool does not hold up those behind it. Starts in flight are bounded too (max_starting):
 * systemd starts units fastest with a modest number of start jobs queued, so the daemon keeps
 * the backlog itself rather than handing the manager ten thousand jobs at once. Backfill runs
 * queue behind every live one and hold at most half of max_parallel, so a backfill of years
 * can never keep a fresh arrival waiting for more than one run to end.
 */
#include <utlist.h>

#include "backfill.h"
#include "evaluate.h"
#include "executor.h"
#include "log.h"
#include "pause.h"
#include "scheduler.h"
#include "util/strv.h"
#include "waiting.h"

/* Whether a goes strictly before b: live before backfill, then by priority. */
static bool ranks_before(const Instance *a, const Instance *b) {
        if (a->backfill != b->backfill)
                return !a->backfill;
        return a->task->priority > b->task->priority;
}

static unsigned backfill_slots(const Manager *m) {
        return m->config.max_parallel > 1 ? m->config.max_parallel / 2 : 1;
}

void scheduler_enqueue(Manager *m, Instance *i) {
        Instance *after;

        /* Queued by any path (a retry, a backfill, sluicectl): hints stop at a queued
         * instance, so a list of what it waits for would go stale; the start checks anyway. */
        waiting_forget(m, i->task, i->id);
        manager_set_state(m, i, INSTANCE_QUEUED);
        i->queued_usec = now_usec(CLOCK_MONOTONIC);
        i->backfill = m->backfills && backfill_claims(m, i->unit);
        /* A late arrival a restart would not find again (a backfill is asked for again). */
        i->queued_kept = !i->backfill && evaluate_outside_lookback(i->task, i->binding);
        if (i->queued_kept)
                manager_save_marks(m);
        /* From the tail: with one kind and priority (the usual case) this is O(1). */
        for (after = m->queue ? m->queue->prev : NULL; after && ranks_before(i, after);
             after = after == m->queue ? NULL : after->prev)
                ;
        if (!after)
                DL_PREPEND(m->queue, i);
        else if (after == m->queue->prev)
                DL_APPEND(m->queue, i);
        else
                DL_APPEND_ELEM(m->queue, after, i);
        m->n_queued++;
        log_debug("Queued %s (priority %d%s, %u queued)", i->unit, i->task->priority,
                  i->backfill ? ", backfill" : "", m->n_queued);
        scheduler_schedule(m);
}

void scheduler_dequeue(Manager *m, Instance *i) {
        if (i->parked)
                DL_DELETE(m->parked, i);
        else
                DL_DELETE(m->queue, i);
        i->parked = false;
        i->prev = i->next = NULL;
        m->n_queued--;
}

/* A paused pipeline's instances leave the walk each dispatch makes: with 20,000 of them
 * queued, 100 arrivals elsewhere cost 0.37-0.45 s of CPU in that walk, 0.27 s without it.
 * They stay queued (counted, shown). */
static void park(Manager *m, Instance *i) {
        DL_DELETE(m->queue, i);
        DL_APPEND(m->parked, i);
        i->parked = true;
}

static int queue_order(const Instance *a, const Instance *b) {
        if (ranks_before(a, b))
                return -1;
        if (ranks_before(b, a))
                return 1;
        return a->queued_usec < b->queued_usec ? -1 : a->queued_usec > b->queued_usec;
}

void scheduler_unpark(Manager *m) {
        Instance *i, *tmp;
        bool back = false;

        DL_FOREACH_SAFE(m->parked, i, tmp) {
                if (pause_holds(m, i->task->pipeline))
                        continue;
                DL_DELETE(m->parked, i);
                DL_APPEND(m->queue, i);
                i->parked = false;
                back = true;
        }
        /* Once per resume; a merge sort, and the queue is in this order already but for them. */
        if (back)
                DL_SORT(m->queue, queue_order);
        scheduler_schedule(m);
}

static bool pools_free(Manager *m, const Task *t) {
        for (size_t c = 0; c < t->n_claims; c++)
                for (size_t p = 0; p < m->config.n_pools; p++)
                        if (streq(m->config.pools[p].name, t->claims[c].pool) &&
                            m->pool_used[p] + t->claims[c].amount > m->config.pools[p].size)
                                return false;
        return true;
}

static void pools_adjust(Manager *m, const Task *t, int sign) {
        for (size_t c = 0; c < t->n_claims; c++)
                for (size_t p = 0; p < m->config.n_pools; p++)
                        if (streq(m->config.pools[p].name, t->claims[c].pool)) {
                                /* A pool a reload removed and brought back starts at zero:
                                 * a run started before must not take it below. */
                                if (sign < 0 && m->pool_used[p] < t->claims[c].amount)
                                        m->pool_used[p] = 0;
                                else
                                        m->pool_used[p] += (unsigned) sign * t->claims[c].amount;
                        }
}

void scheduler_take(Manager *m, Instance *i) {
        if (i->run->counted)
                return;
        i->run->counted = true;
        i->run->backfill = i->backfill;
        m->n_active++;
        m->n_backfill_active += i->run->backfill;
        i->task->n_running++;
        pools_adjust(m, i->task, +1);
}

void scheduler_release(Manager *m, Instance *i) {
        if (!i->run || !i->run->counted)
                return;
        i->run->counted = false;
        m->n_active--;
        m->n_backfill_active -= i->run->backfill;
        i->task->n_running--;
        pools_adjust(m, i->task, -1);
}

/* A run under the version before a reload (a task renamed, or moved to another file) may still
 * be writing one of i's outputs: i waits for its end, which schedules again, and is complete
 * then. Only retired pipelines can hold such a run: one target has one producer. */
static bool output_in_flight(Manager *m, Instance *i) {
        _cleanup_strv_free_ char **mine = NULL;
        bool mine_made = false;
        Instance *x, *tmp;

        if (m->n_retired == 0)
                return false;
        HASH_ITER(hh, m->instances, x, tmp) {
                bool retired = false;

                if (x == i || !x->run || !x->run->outputs)
                        continue;
                for (size_t k = 0; k < m->n_retired && !retired; k++)
                        retired = x->task->pipeline == m->retired[k];
                if (!retired)
                        continue;
                /* All of them, once: a later output may be the one in common. */
                for (size_t k = 0; !mine_made && k < i->task->n_outputs; k++) {
                        char *loc;
                        if (task_output_location(i->task, k, i->binding, &loc) < 0 ||
                            strv_consume(&mine, loc) < 0)
                                return false;   /* out of memory: started, as before */
                }
                mine_made = true;
                STRV_FOREACH(o, x->run->outputs)
                        if (strv_contains(mine, *o)) {
                                if (!i->held_logged)
                                        log_info("%s waits: %s, of the pipeline's version "
                                                 "before the reload, is still writing %s",
                                                 i->unit, x->unit, *o);
                                i->held_logged = true;
                                return true;
                        }
        }
        return false;
}

int scheduler_output_away(Task *t, const Binding *b, char **ret_why) {
        for (size_t k = 0; k < t->n_outputs; k++) {
                _cleanup_free_ char *loc = NULL;
                const char *why;

                /* Most targets have no mount to lose: no location made for them. */
                if (!t->outputs[k]->kind->away || !t->outputs[k]->kind->away(t->outputs[k], NULL) ||
                    task_output_location(t, k, b, &loc) < 0 ||
                    !(why = t->outputs[k]->kind->away(t->outputs[k], loc)))
                        continue;
                if (ret_why && asprintf(ret_why, TARGET_AWAY_FORMAT, t->outputs[k]->name, loc,
                                        why) < 0)
                        return -ENOMEM;
                return 1;
        }
        return 0;
}

/* Where an output of i is stored went away (a network file system unmounted: the task would
 * write to the bare mount point on the local disk): i stays queued, not started and no attempt
 * counted, until it is back, which schedules again (scheduler_target_back()). */
static bool output_away(Instance *i) {
        _cleanup_free_ char *why = NULL;
        int r;

        r = scheduler_output_away(i->task, i->binding, i->held ? NULL : &why);
        if (r == 0) {
                i->held = mfree(i->held);
                return false;
        }
        if (why) {
                log_info("%s waits: %s", i->unit, why);
                i->held = TAKE_PTR(why);
        }
        return true;
}

void scheduler_target_back(TargetHost *h, Target *t) {
        scheduler_schedule(container_of(h, Manager, host));
}

static int on_dispatch(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        Instance *i, *next;

        /* Without a bus (reconnecting), nothing can start: the queue waits, and reconnecting
         * schedules this again. */
        if (!m->bus)
                return 0;
        for (i = m->queue; i && m->n_active < m->config.max_parallel &&
                           m->n_starting < m->config.max_starting;
             i = next) {
                Task *t = i->task;

                next = i->next;
                /* Said where it is shown (pause_reason()): a text kept here would outlive
                 * the pause, or hide why it waits once resumed. */
                if (pause_holds(m, t->pipeline)) {
                        park(m, i);
                        continue;
                }
                /* Backfills queue last: nothing behind this one may start either. */
                if (i->backfill && m->n_backfill_active >= backfill_slots(m))
                        break;
                if (t->max_parallel > 0 && t->n_running >= t->max_parallel)
                        continue;
                if (!pools_free(m, t))
                        continue;
                /* Level-triggered to the end: an input may have gone since it was queued. */
                _cleanup_free_ char *missing = NULL;
                if (!evaluate_inputs_exist(t, i->binding, &missing)) {
                        /* It is queued again when that input arrives or counts. */
                        log_info("%s not started: %s; it waits for it", i->unit,
                                 missing ?: "an input is missing");
                        manager_remove_instance(m, i);
                        continue;
                }
                /* ...and its outputs may have come meanwhile: by hand, or from a run of the
                 * version before a reload. */
                if (!i->forced && evaluate_outputs_complete(t, i->binding)) {
                        log_info("%s not started: its outputs are there now", i->unit);
                        manager_remove_instance(m, i);
                        continue;
                }
                if (output_in_flight(m, i) || output_away(i))
                        continue;
                (void) executor_start(m, i);
        }
        manager_notify_status(m);
        return 0;
}

void scheduler_schedule(Manager *m) {
        /* Deferred to the loop: a burst of hints queues everything first, then starts. */
        if (m->dispatch_source)
                (void) sd_event_source_set_enabled(m->dispatch_source, SD_EVENT_ONESHOT);
}

int scheduler_setup(Manager *m) {
        int r;

        r = sd_event_add_defer(m->event, &m->dispatch_source, on_dispatch, m);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(m->dispatch_source, SD_EVENT_OFF);
}
