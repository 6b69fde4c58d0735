/* SPDX-License-Identifier: MIT */
/*
 * The table of instances the daemon is acting on: lookup, creation from a recorded id, state
 * changes with their counters, wake-up timers for retries and disable windows, and the marks
 * kept in the state directory so that attempt counts and failures survive a restart.
 */
#include <string.h>

#include "evaluate.h"
#include "executor.h"
#include "log.h"
#include "manager.h"
#include "scheduler.h"
#include "state.h"
#include "util/escape.h"
#include "util/strv.h"

Instance *manager_find_instance(Manager *m, const char *unit) {
        Instance *i;

        HASH_FIND_STR(m->instances, unit, i);
        return i;
}

Pipeline *manager_find_pipeline(const Manager *m, const char *name) {
        for (size_t k = 0; k < m->n_pipelines; k++)
                if (streq(m->pipelines[k]->name, name))
                        return m->pipelines[k];
        return NULL;
}

Task *manager_find_task(Manager *m, const char *pipeline, const char *task) {
        Pipeline *p = manager_find_pipeline(m, pipeline);

        return p ? pipeline_find_task(p, task) : NULL;
}

Task *manager_task_of_unit(Manager *m, const char *unit) {
        Instance *i = manager_find_instance(m, unit);
        size_t len = strlen(unit);

        if (i)
                return i->task;
        for (size_t k = 0; k < m->n_pipelines; k++)
                for (size_t j = 0; j < m->pipelines[k]->n_tasks; j++) {
                        Task *t = m->pipelines[k]->tasks[j];
                        _cleanup_free_ char *name = NULL;
                        size_t n;

                        /* sluice-P-T.service without parameters, sluice-P-T@ID.service with. */
                        if (task_unit_name(t, "", &name) < 0)
                                return NULL;
                        n = strlen(name) - strlen(".service");
                        if (streq(unit, name))
                                return t;
                        if (t->n_params > 0 && len > n + 1 + strlen(".service") &&
                            strneq(unit, name, n) && unit[n] == '@' &&
                            streq(unit + len - strlen(".service"), ".service"))
                                return t;
                }
        return NULL;
}

int manager_instance_from_id(Manager *m, Task *task, const char *id, Instance **ret) {
        _cleanup_(binding_freep) Binding *b = NULL;
        _cleanup_free_ char *unit = NULL;
        const char *p = id;
        Instance *i;
        int r;

        r = binding_new(&b);
        if (r < 0)
                return r;
        /* Escaped values never hold '-': it separates them. */
        for (size_t k = 0; k < task->n_params; k++) {
                const char *end = strchrnul(p, '-');
                _cleanup_free_ char *v = NULL;

                if ((*end == 0) != (k + 1 == task->n_params))
                        return -EINVAL;
                r = unit_unescape_value(p, (size_t) (end - p), &v);
                if (r < 0)
                        return r;
                if (!param_value_valid(&task->params[k].spec, v, strlen(v)))
                        return -EINVAL;
                r = binding_set(b, task->params[k].name, v);
                if (r < 0)
                        return r;
                p = *end ? end + 1 : end;
        }
        if (task->n_params == 0 && *id)
                return -EINVAL;
        r = task_unit_name(task, id, &unit);
        if (r < 0)
                return r;
        i = manager_find_instance(m, unit);
        if (i) {
                *ret = i;
                return 0;
        }
        r = instance_new(task, b, id, unit, &i);
        if (r < 0)
                return r;
        i->manager = m;
        /* A state that no counter or queue tracks until the caller sets the real one. */
        i->state = INSTANCE_STARTING;
        HASH_ADD_KEYPTR(hh, m->instances, i->unit, strlen(i->unit), i);
        *ret = i;
        return 1;
}

static void leave_state(Manager *m, Instance *i) {
        switch (i->state) {
        case INSTANCE_QUEUED:
                scheduler_dequeue(m, i);
                i->held = mfree(i->held);       /* said of this stay in the queue only */
                if (i->queued_kept || i->attempts > 0)
                        manager_save_marks(m);
                i->queued_kept = false;
                break;
        case INSTANCE_RETRY:
                m->n_retrying--;
                manager_save_marks(m);
                break;
        case INSTANCE_FAILED:
                m->n_failed--;
                manager_save_marks(m);
                break;
        default:
                break;
        }
}

void manager_set_state(Manager *m, Instance *i, InstanceState s) {
        if (i->state == s)
                return;
        leave_state(m, i);
        i->state = s;
        if (s == INSTANCE_RETRY) {
                m->n_retrying++;
                manager_save_marks(m);
        } else if (s == INSTANCE_FAILED) {
                m->n_failed++;
                manager_save_marks(m);
        } else if (s == INSTANCE_STARTING || s == INSTANCE_RUNNING)
                executor_arm_sweep(m);  /* a run in flight: the sweep looks out for it */
}

void manager_remove_instance(Manager *m, Instance *i) {
        leave_state(m, i);
        HASH_DEL(m->instances, i);
        instance_free(i);
}

/*
 * A retry's time has come, or a failed instance's disable window is over: evaluate it as if an
 * input had arrived, so it runs if it is still incomplete and its inputs are still there.
 */
static int on_wake(sd_event_source *s, uint64_t usec, void *userdata) {
        Instance *i = userdata;
        Manager *m = i->manager;
        _cleanup_(binding_freep) Binding *b = NULL;
        Task *task = i->task;
        bool retry = i->state == INSTANCE_RETRY;
        int r;

        i->timer = sd_event_source_disable_unref(i->timer);
        i->wake_realtime = 0;
        if (retry) {
                /* Keeps its attempt count: this is the same series. */
                scheduler_enqueue(m, i);
                return 0;
        }
        if (binding_copy(i->binding, &b) < 0)
                return 0;
        log_info("Disable window of %s is over, evaluating it again", i->unit);
        r = evaluate_instance(m, task, b, true);
        if (r < 0)
                log_warning_errno(r, "Cannot evaluate %s: %m", i->unit);
        return 0;
}

int manager_set_wake(Manager *m, Instance *i, usec_t realtime) {
        int r;

        i->timer = sd_event_source_disable_unref(i->timer);
        i->wake_realtime = realtime;
        if (realtime == 0)
                return 0;
        r = sd_event_add_time(m->event, &i->timer, CLOCK_REALTIME, realtime, USEC_PER_MSEC * 10,
                              on_wake, i);
        if (r < 0)
                return log_error_errno(r, "Cannot arm a timer for %s: %m", i->unit);
        return 0;
}

static int on_save(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ InstanceMark **marks = NULL;
        InstanceMark *storage = NULL;
        Instance *i, *tmp;
        size_t n = 0, kept = 0, max;
        int r;

        /* Queued late data is looked at afresh: one queued inside the window may have left it
         * since, and no start-up scan would find it again. A queued retry keeps its series'
         * attempts (it may wait long, in a paused pipeline or behind a full queue). */
        HASH_ITER(hh, m->instances, i, tmp)
                kept += i->state == INSTANCE_QUEUED && !i->backfill &&
                        (i->queued_kept || i->attempts > 0 ||
                         evaluate_outside_lookback(i->task, i->binding));
        max = m->n_failed + m->n_retrying + kept;
        marks = calloc(max + m->n_kept_marks + 1, sizeof(InstanceMark *));
        storage = calloc(max + 1, sizeof(InstanceMark));
        if (!marks || !storage) {
                free(storage);
                return log_oom();
        }
        HASH_ITER(hh, m->instances, i, tmp) {
                bool queued = i->state == INSTANCE_QUEUED && !i->backfill &&
                              (i->queued_kept || i->attempts > 0 ||
                               evaluate_outside_lookback(i->task, i->binding));

                if (i->state != INSTANCE_FAILED && i->state != INSTANCE_RETRY && !queued)
                        continue;
                if (n >= max)
                        break;
                storage[n] = (InstanceMark){
                        .pipeline = i->task->pipeline->name, .task = i->task->name,
                        .instance = i->id, .failed = i->state == INSTANCE_FAILED,
                        .untold = i->state == INSTANCE_FAILED && i->untold > 0,
                        .forced = i->state != INSTANCE_FAILED && i->forced,
                        /* Queued: a retry due at once, which the next start evaluates. */
                        .attempts = i->attempts, .wake_realtime = queued ? 0 : i->wake_realtime,
                        .memory_max = i->memory_max, .reason = i->reason,
                };
                marks[n] = &storage[n];
                n++;
        }
        for (size_t k = 0; k < m->n_kept_marks; k++)
                marks[n++] = m->kept_marks[k];
        r = state_write_marks(m->state_dir, marks, n);
        free(storage);      /* the marks borrowed the instances' strings */
        if (r < 0) {
                /* Unsaved, the records stay: the next save, or start, accounts for their runs. */
                log_warning_errno(r, "Cannot save instance marks in '%s': %m", m->state_dir);
                return 0;
        }
        m->marks_dirty = false;
        STRV_FOREACH(id, m->ends_after_save)
                (void) state_remove_run(m->state, *id);
        m->ends_after_save = strv_free(m->ends_after_save);
        return 0;
}

void manager_save_marks_pending(Manager *m) {
        /* What waits in the queue may have aged out of its window since the last save. */
        if (m->n_queued > 0)
                m->marks_dirty = true;
        /* The loop has ended: sd-event takes no new source and enables none any more. */
        if (m->marks_dirty) {
                if (m->save_source)
                        (void) sd_event_source_set_enabled(m->save_source, SD_EVENT_OFF);
                (void) on_save(m->save_source, m);
        }
}

void manager_save_marks(Manager *m) {
        int r;

        m->marks_dirty = true;
        if (sd_event_get_state(m->event) == SD_EVENT_FINISHED)
                return;         /* stopping: manager_save_marks_pending() writes them */
        /* Once per loop iteration, however many instances changed in it. */
        if (!m->save_source) {
                r = sd_event_add_defer(m->event, &m->save_source, on_save, m);
                if (r < 0) {
                        log_warning_errno(r, "Cannot schedule saving the instance marks: %m");
                        return;
                }
        }
        (void) sd_event_source_set_enabled(m->save_source, SD_EVENT_ONESHOT);
}
