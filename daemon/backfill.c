/* SPDX-License-Identifier: MIT */
/*
 * Backfills. A range is walked once, at the start, exactly as `sluicectl run` walks one
 * instance: what is ready is queued, what waits for an upstream output runs when that lands.
 * Every unit the walks visit becomes a member, so the scheduler gives their runs the backfill
 * treatment however they come to be queued (walk, arrival, retry). Progress is read, not
 * counted: from the instances the daemon knows and the targets on disk, so nothing can drift.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "demand.h"
#include "evaluate.h"
#include "executor.h"
#include "log.h"
#include "task-params.h"
#include "util/escape.h"
#include "unit-props.h"
#include "util/strv.h"

/* Finished backfills kept for `sluicectl status` and a client that comes back to ask. */
#define BACKFILL_KEEP_FINISHED 16

static Backfill *backfill_free(Backfill *bf) {
        BackfillMember *x, *tmp;

        if (!bf)
                return NULL;
        HASH_ITER(hh, bf->members, x, tmp) {
                HASH_DEL(bf->members, x);
                free(x->unit);
                free(x);
        }
        strv_free(bf->units);
        bindings_free(bf->bindings);
        free(bf->pipeline);
        free(bf->task);
        free(bf->param);
        free(bf->from);
        free(bf->to);
        free(bf);
        return NULL;
}

void backfills_free(Manager *m) {
        while (m->backfills) {
                Backfill *next = m->backfills->next;
                backfill_free(m->backfills);
                m->backfills = next;
        }
}

Backfill *backfill_find(Manager *m, uint32_t id) {
        for (Backfill *bf = m->backfills; bf; bf = bf->next)
                if (bf->id == id)
                        return bf;
        return NULL;
}

int backfill_add_member(Backfill *bf, const char *unit) {
        BackfillMember *x;

        HASH_FIND_STR(bf->members, unit, x);
        if (x)
                return 0;
        x = calloc(1, sizeof(*x));
        if (!x || !(x->unit = strdup(unit))) {
                free(x);
                return -ENOMEM;
        }
        HASH_ADD_KEYPTR(hh, bf->members, x->unit, strlen(x->unit), x);
        return 0;
}

bool backfill_claims(Manager *m, const char *unit) {
        for (Backfill *bf = m->backfills; bf; bf = bf->next) {
                BackfillMember *x;

                if (bf->finished_realtime)
                        continue;
                HASH_FIND_STR(bf->members, unit, x);
                if (x)
                        return true;
        }
        return false;
}

int pipeline_backfill_slice_name(const Pipeline *p, char **ret) {
        _cleanup_free_ char *e = NULL;

        if (unit_escape_value(p->name, &e) < 0)
                return -ENOMEM;
        return asprintf(ret, "sluice-%s-backfill.slice", e) < 0 ? -ENOMEM : 0;
}

/* The one ordinal parameter params leave open; its name, or NULL with *ret_error set. */
static const TaskParam *open_param(const Task *task, char * const *params, char **ret_error) {
        const TaskParam *found = NULL;
        _cleanup_strv_free_ char **open = NULL;

        for (size_t k = 0; k < task->n_params; k++) {
                const TaskParam *tp = &task->params[k];
                size_t n = strlen(tp->name);
                bool given = false;

                STRV_FOREACH(p, params)
                        given = given || (strneq(*p, tp->name, n) && (*p)[n] == '=');
                if (given)
                        continue;
                if (!param_type_is_ordinal(tp->spec.type)) {
                        (void) asprintf(ret_error, "task '%s' needs --param %s=VALUE: a backfill "
                                        "ranges over a date, hour, month, week or int parameter",
                                        task->name, tp->name);
                        return NULL;
                }
                if (strv_extend(&open, tp->name) < 0)
                        return NULL;
                found = tp;
        }
        if (strv_length(open) == 1)
                return found;
        /* A report over every sample (all()) has one instance: nothing to range over. */
        if (task->n_params == 0)
                (void) asprintf(ret_error, "task '%s' has no parameters: its one instance runs "
                                "with 'sluicectl run %s/%s', not a backfill", task->name,
                                task->pipeline->name, task->name);
        else if (!open)
                (void) asprintf(ret_error, "task '%s' has no parameter left to range over: every "
                                "one is given with --param", task->name);
        else {
                _cleanup_free_ char *names = NULL;
                (void) strv_join(open, ", ", &names);
                (void) asprintf(ret_error, "task '%s' has several parameters to range over (%s): "
                                "give all but one with --param", task->name, strna(names));
        }
        return NULL;
}

static int range_bounds(const TaskParam *tp, const char *from, const char *to, int64_t *ret_a,
                        int64_t *ret_b, char **ret_error) {
        _cleanup_free_ char *spec = NULL;
        const char *bad = NULL;

        (void) param_spec_to_string(&tp->spec, &spec);
        if (!param_value_valid(&tp->spec, from, strlen(from)) ||
            param_to_ordinal(tp->spec.type, from, ret_a) < 0)
                bad = from;
        else if (!param_value_valid(&tp->spec, to, strlen(to)) ||
                 param_to_ordinal(tp->spec.type, to, ret_b) < 0)
                bad = to;
        if (bad) {
                (void) asprintf(ret_error, "'%s' is not a valid %s (parameter %s)", bad, strna(spec),
                                tp->name);
                return -EINVAL;
        }
        if (*ret_a > *ret_b) {
                (void) asprintf(ret_error, "--from %s comes after --to %s", from, to);
                return -EINVAL;
        }
        if ((uint64_t) (*ret_b - *ret_a) >= BACKFILL_MAX) {
                (void) asprintf(ret_error, "%s..%s holds more than %u instances: split the range",
                                from, to, BACKFILL_MAX);
                return -EINVAL;
        }
        return 0;
}

/* The task's instances in the range, before anything is queued: a bad range changes nothing. */
static int enumerate(Backfill *bf, const Task *task, const Binding *fixed, const TaskParam *tp,
                     int64_t a, int64_t b) {
        bf->bindings = calloc((size_t) (b - a) + 2, sizeof(Binding *));
        if (!bf->bindings)
                return -ENOMEM;
        for (int64_t v = a; v <= b; v++) {
                _cleanup_free_ char *value = NULL, *id = NULL, *unit = NULL;
                Binding *x = NULL;
                int r;

                r = param_from_ordinal(tp->spec.type, v, &value);
                if (r >= 0)
                        r = binding_copy(fixed, &x);
                if (r >= 0)
                        bf->bindings[bf->n_units] = x;
                if (r >= 0)
                        r = binding_set(x, tp->name, value);
                if (r >= 0)
                        r = task_instance_id(task, x, &id);
                if (r >= 0)
                        r = task_unit_name(task, id, &unit);
                if (r >= 0)
                        r = strv_consume(&bf->units, TAKE_PTR(unit));
                if (r < 0)
                        return r;
                bf->n_units++;
        }
        return 0;
}

/* A lower weight than the live units beside it: when both want the CPU or the disk, live
 * runs get it. Slices exist by name, so this works before the first backfill unit starts. */
static void weigh_slice(Manager *m, const Pipeline *p) {
        _cleanup_free_ char *slice = NULL, *desc = NULL;
        int r;

        if (!m->bus || pipeline_backfill_slice_name(p, &slice) < 0 ||
            asprintf(&desc, "sluice backfills of pipeline %s", p->name) < 0)
                return;
        r = sd_bus_call_method_async(m->bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                     "SetUnitProperties", NULL, NULL, "sba(sv)", slice, 1, 3,
                                     "Description", "s", desc, "CPUWeight", "t", (uint64_t) 20,
                                     "IOWeight", "t", (uint64_t) 20);
        if (r < 0)
                log_warning_errno(r, "Cannot set the weights of %s: %m", slice);
}

/* Drops the oldest finished backfills beyond what is kept. */
static void gc(Manager *m) {
        unsigned finished = 0;

        for (Backfill **p = &m->backfills; *p;) {
                if ((*p)->finished_realtime && ++finished > BACKFILL_KEEP_FINISHED) {
                        Backfill *next = (*p)->next;
                        backfill_free(*p);
                        *p = next;
                } else
                        p = &(*p)->next;
        }
}

int backfill_start(Manager *m, Task *task, char * const *params, const char *from,
                   const char *to, bool force, Backfill **ret, char **ret_error) {
        _cleanup_(binding_freep) Binding *fixed = NULL;
        _cleanup_strv_free_ char **all = NULL;
        const TaskParam *tp;
        Backfill *bf;
        int64_t a, b;
        int r;

        *ret_error = NULL;
        tp = open_param(task, params, ret_error);
        if (!tp)
                return *ret_error ? -EINVAL : -ENOMEM;
        r = range_bounds(tp, from, to, &a, &b, ret_error);
        if (r < 0)
                return r;
        /* Checks the other parameters, with the range's first value for the open one. */
        if (strv_copy(params, &all) < 0 || strv_extendf(&all, "%s=%s", tp->name, from) < 0)
                return -ENOMEM;
        r = task_binding_from_params(task, all, &fixed, ret_error);
        if (r < 0)
                return r;

        bf = calloc(1, sizeof(*bf));
        if (!bf)
                return -ENOMEM;
        bf->id = ++m->backfill_last_id;
        bf->started_realtime = now_usec(CLOCK_REALTIME);
        bf->pipeline = strdup(task->pipeline->name);
        bf->task = strdup(task->name);
        bf->param = strdup(tp->name);
        bf->from = strdup(from);
        bf->to = strdup(to);
        if (!bf->pipeline || !bf->task || !bf->param || !bf->from || !bf->to)
                r = -ENOMEM;
        if (r >= 0)
                r = enumerate(bf, task, fixed, tp, a, b);
        if (r < 0) {
                backfill_free(bf);
                return r;
        }
        bf->next = m->backfills;
        m->backfills = bf;
        weigh_slice(m, task->pipeline);

        for (size_t k = 0; k < bf->n_units; k++) {
                _cleanup_(demand_done) Demand d = { .backfill = bf };

                r = demand_instance(m, task, bf->bindings[k], true, force, &d);
                if (r < 0)
                        return log_error_errno(r, "Backfill %u stopped at %s: %m", bf->id,
                                               bf->units[k]);
        }
        log_info("Backfill %u of %s/%s, %s %s..%s: %zu instance(s), %u queued in all", bf->id,
                 bf->pipeline, bf->task, bf->param, from, to, bf->n_units, m->n_queued);
        gc(m);
        *ret = bf;
        return 0;
}

void backfill_progress(Manager *m, Backfill *bf, BackfillProgress *ret) {
        Task *task = manager_find_task(m, bf->pipeline, bf->task);
        BackfillMember *x, *tmp;
        uint32_t active = 0;

        if (bf->cancelled) {
                *ret = bf->at_cancel;
                return;
        }
        *ret = (BackfillProgress){ .total = (uint32_t) bf->n_units };
        for (size_t k = 0; k < bf->n_units; k++) {
                Instance *i = manager_find_instance(m, bf->units[k]);

                switch (i ? i->state : _INSTANCE_STATE_INVALID) {
                case INSTANCE_QUEUED:
                        ret->queued++;
                        break;
                case INSTANCE_STARTING:
                case INSTANCE_RUNNING:
                        ret->running++;
                        break;
                case INSTANCE_RETRY:
                        ret->retrying++;
                        break;
                case INSTANCE_FAILED:
                        ret->failed++;
                        break;
                default:
                        /* Removed from the pipelines by a reload: it waits for nothing. */
                        if (task && evaluate_outputs_complete(task, bf->bindings[k]))
                                ret->complete++;
                        else
                                ret->waiting++;
                }
        }
        /* Upstream members count too: a waiting instance may be about to be fed. */
        HASH_ITER(hh, bf->members, x, tmp) {
                Instance *i = manager_find_instance(m, x->unit);
                active += i && i->state != INSTANCE_FAILED;
        }
        /* The instances asked for are members as well. */
        ret->upstream = active - MIN(active, ret->queued + ret->running + ret->retrying);
        if (!active && !bf->finished_realtime) {
                bf->finished_realtime = now_usec(CLOCK_REALTIME);
                log_info("Backfill %u of %s/%s finished: %u complete, %u failed, %u waiting for "
                         "inputs", bf->id, bf->pipeline, bf->task, ret->complete, ret->failed,
                         ret->waiting);
        }
        ret->finished = !active;
}

unsigned backfill_cancel(Manager *m, Backfill *bf) {
        BackfillMember *x, *tmp;
        unsigned n = 0;

        /* Before: a cancel makes the retrying ones failed ("cancelled"), which they were not. */
        backfill_progress(m, bf, &bf->at_cancel);
        HASH_ITER(hh, bf->members, x, tmp) {
                Instance *i = manager_find_instance(m, x->unit);

                if (!i || i->state == INSTANCE_FAILED)
                        continue;
                /* What waits in the queue is dropped, not marked cancelled one by one: a
                 * cancelled backfill of years must not leave that many failed instances. */
                if (i->state == INSTANCE_QUEUED) {
                        manager_remove_instance(m, i);
                        n++;
                } else if (executor_cancel(m, i) >= 0)
                        n++;
        }
        /* Fixed now: a later backfill of the same range, or an arrival, is not this one's. */
        bf->at_cancel.cancelled = bf->at_cancel.total - bf->at_cancel.complete - bf->at_cancel.failed;
        bf->at_cancel.queued = bf->at_cancel.running = bf->at_cancel.retrying = 0;
        bf->at_cancel.waiting = bf->at_cancel.upstream = 0;
        bf->at_cancel.finished = true;
        bf->cancelled = true;
        if (!bf->finished_realtime)
                bf->finished_realtime = now_usec(CLOCK_REALTIME);
        log_notice("Backfill %u of %s/%s cancelled on request: %u complete, %u failed, %u "
                   "cancelled (%u run(s) stopped or dropped)", bf->id, bf->pipeline, bf->task,
                   bf->at_cancel.complete, bf->at_cancel.failed, bf->at_cancel.cancelled, n);
        return n;
}
