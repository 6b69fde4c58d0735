/* SPDX-License-Identifier: MIT */
/*
 * The ready queue. Instances wait here, oldest first, until a slot is free: systemd starts
 * units fastest with a modest number of start jobs in flight, so the daemon keeps the backlog
 * itself rather than handing the manager ten thousand jobs at once.
 */
#include <utlist.h>

#include "executor.h"
#include "log.h"
#include "scheduler.h"

void scheduler_enqueue(Manager *m, Instance *i) {
        i->state = INSTANCE_QUEUED;
        DL_APPEND(m->queue, i);
        m->n_queued++;
        scheduler_schedule(m);
}

void scheduler_dequeue(Manager *m, Instance *i) {
        if (i->state != INSTANCE_QUEUED)
                return;
        DL_DELETE(m->queue, i);
        i->prev = i->next = NULL;
        m->n_queued--;
}

static int on_dispatch(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        while (m->queue && m->n_active < m->max_parallel) {
                Instance *i = m->queue;

                scheduler_dequeue(m, i);
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
