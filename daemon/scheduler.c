/* SPDX-License-Identifier: MIT */
/*
 * The ready queue. Instances wait here until they may start: a global slot (max_parallel), a
 * slot under their task's own max_parallel, and their share of every resource pool they claim.
 * The queue is ordered by priority, then age, and an instance that must wait for its task or a
 * pool does not hold up those behind it. Starts in flight are bounded too (max_starting):
 * systemd starts units fastest with a modest number of start jobs queued, so the daemon keeps
 * the backlog itself rather than handing the manager ten thousand jobs at once.
 */
#include <utlist.h>

#include "evaluate.h"
#include "executor.h"
#include "log.h"
#include "scheduler.h"

void scheduler_enqueue(Manager *m, Instance *i) {
        Instance *after;

        manager_set_state(m, i, INSTANCE_QUEUED);
        i->queued_usec = now_usec(CLOCK_MONOTONIC);
        /* From the tail: with one priority (the usual case) this is O(1). */
        for (after = m->queue ? m->queue->prev : NULL;
             after && after->task->priority < i->task->priority;
             after = after == m->queue ? NULL : after->prev)
                ;
        if (!after)
                DL_PREPEND(m->queue, i);
        else if (after == m->queue->prev)
                DL_APPEND(m->queue, i);
        else
                DL_APPEND_ELEM(m->queue, after, i);
        m->n_queued++;
        log_debug("Queued %s (priority %d, %u queued)", i->unit, i->task->priority, m->n_queued);
        scheduler_schedule(m);
}

void scheduler_dequeue(Manager *m, Instance *i) {
        DL_DELETE(m->queue, i);
        i->prev = i->next = NULL;
        m->n_queued--;
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
                        if (streq(m->config.pools[p].name, t->claims[c].pool))
                                m->pool_used[p] += (unsigned) sign * t->claims[c].amount;
}

void scheduler_take(Manager *m, Instance *i) {
        if (i->run->counted)
                return;
        i->run->counted = true;
        m->n_active++;
        i->task->n_running++;
        pools_adjust(m, i->task, +1);
}

void scheduler_release(Manager *m, Instance *i) {
        if (!i->run || !i->run->counted)
                return;
        i->run->counted = false;
        m->n_active--;
        i->task->n_running--;
        pools_adjust(m, i->task, -1);
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
                if (t->max_parallel > 0 && t->n_running >= t->max_parallel)
                        continue;
                if (!pools_free(m, t))
                        continue;
                /* Level-triggered to the end: an input may have gone since it was queued. */
                if (!evaluate_inputs_exist(t, i->binding)) {
                        log_info("%s no longer has all its inputs; not starting it", i->unit);
                        manager_remove_instance(m, i);
                        continue;
                }
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
