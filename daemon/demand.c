/* SPDX-License-Identifier: MIT */
/*
 * Running an instance on request, with what it needs (Luigi runs a task's requirements
 * first; here an upstream instance is queued and the requested one follows when its outputs
 * land, as for any arrival), and explaining why an instance has or has not run, like
 * `snakemake -n -r` but from the daemon's live state. Both walk the same way and stop after
 * DEMAND_MAX instances, so a request about the end of a long chain of days stays bounded.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backfill.h"
#include "demand.h"
#include "evaluate.h"
#include "log.h"
#include "pause.h"
#include "scheduler.h"
#include "util/strv.h"
#include "template.h"
#include "util/time-util.h"

#define DEMAND_MAX 1000

void demand_done(Demand *d) {
        for (size_t k = 0; k < d->n_steps; k++) {
                free(d->steps[k].kind);
                free(d->steps[k].subject);
                free(d->steps[k].detail);
        }
        free(d->steps);
        strv_free(d->seen);
        *d = (Demand){ .backfill = d->backfill };
}

static int step(Demand *d, unsigned depth, const char *kind, const char *subject,
                const char *format, ...) _printf_(5, 6);
static int step(Demand *d, unsigned depth, const char *kind, const char *subject,
                const char *format, ...) {
        DemandStep *n = reallocarray(d->steps, d->n_steps + 1, sizeof(DemandStep));
        DemandStep s = { .depth = depth };
        va_list ap;
        int r;

        if (!n)
                return -ENOMEM;
        d->steps = n;
        va_start(ap, format);
        r = vasprintf(&s.detail, format, ap);
        va_end(ap);
        s.kind = strdup(kind);
        s.subject = strdup(subject);
        if (r < 0 || !s.kind || !s.subject) {
                free(s.kind);
                free(s.subject);
                free(r < 0 ? NULL : s.detail);
                return -ENOMEM;
        }
        d->steps[d->n_steps++] = s;
        return 0;
}

/* What an instance known to the daemon is doing, in a step; 0 when it is doing nothing. */
static int known_state(Demand *d, unsigned depth, const Instance *i, const char *subject) {
        char when[FORMAT_REALTIME_MAX] = "";

        switch (i->state) {
        case INSTANCE_QUEUED:
                if (pause_holds(i->manager, i->task->pipeline))
                        return step(d, depth, "queued", subject, "%s, held: its pipeline is "
                                    "paused; it starts once `sluicectl resume %s`", i->unit,
                                    i->task->pipeline->name) ?: 1;
                if (i->held)
                        return step(d, depth, "queued", subject, "%s, held: %s", i->unit,
                                    i->held) ?: 1;
                return step(d, depth, "queued", subject, "%s, waiting for a slot", i->unit) ?: 1;
        case INSTANCE_STARTING:
                return step(d, depth, "starting", subject, "%s", i->unit) ?: 1;
        case INSTANCE_RUNNING:
                if (i->run && i->run->confirming)
                        return step(d, depth, "running", subject, "%s ended; its outputs are "
                                    "being confirmed with their servers (attempt %u)", i->unit,
                                    i->attempts) ?: 1;
                return step(d, depth, "running", subject, "%s (attempt %u)", i->unit,
                            i->attempts) ?: 1;
        case INSTANCE_RETRY:
                format_realtime(when, sizeof(when), i->wake_realtime);
                return step(d, depth, "retry", subject, "attempt %u failed: %s; next attempt at %s",
                            i->attempts, strna(i->reason), when) ?: 1;
        case INSTANCE_FAILED: {
                _cleanup_free_ char *retry = NULL;

                if (instance_command(i, "retry", &retry) < 0)
                        return -ENOMEM;
                if (streq_ptr(i->reason, "cancelled"))
                        return step(d, depth, "failed", subject,
                                    "cancelled on request; `%s` or a new arrival of an input "
                                    "runs it again", retry) ?: 1;
                return step(d, depth, "failed", subject,
                            "failed for good after %u attempt(s): %s; `%s` or a new arrival of "
                            "an input runs it again", i->attempts, strna(i->reason), retry) ?: 1;
        }
        default:
                return 0;
        }
}

/* The same, with note added to its detail. */
static int known_state_noted(Demand *d, unsigned depth, const Instance *i, const char *subject,
                             const char *note) {
        DemandStep *last;
        char *detail;
        int r;

        r = known_state(d, depth, i, subject);
        if (r <= 0)
                return r;
        last = &d->steps[d->n_steps - 1];
        if (asprintf(&detail, "%s%s", last->detail, note) < 0)
                return -ENOMEM;
        free(last->detail);
        last->detail = detail;
        return r;
}

static int walk(Manager *m, Demand *d, Task *task, const Binding *b, unsigned depth, bool act,
                bool force);

/* An input from outside the pipeline, not there: for a polled target, how its polls go. */
static int external_step(Demand *d, unsigned depth, const TaskInput *in, const char *loc) {
        _cleanup_free_ char *said = NULL;
        Target *t = in->target;
        TargetStatus st;

        if (t->kind->status && t->host && t->kind->status(t, &st) > 0 && !st.scanned) {
                said = target_polls_said(t->name, &st);
                if (!said)
                        return -ENOMEM;
        }
        return step(d, depth, "external", loc, "input '%s' comes from outside the pipeline: %s",
                    in->name, said ?: "waiting for it to arrive");
}

/* Each missing input: an output of another task (walked in turn) or external (waited for). */
static int walk_inputs(Manager *m, Demand *d, Task *task, const Binding *b, unsigned depth,
                       bool act) {
        for (size_t k = 0; k < task->n_inputs; k++) {
                const TaskInput *in = &task->inputs[k];
                _cleanup_(bindings_freep) Binding **l = NULL;
                int r;

                r = task_input_bindings(task, k, b, &l);
                if (r < 0)
                        return r;
                for (Binding **x = l; *x; x++) {
                        _cleanup_free_ char *loc = NULL;

                        char why[TARGET_PENDING_MAX];
                        const char *pending;

                        r = template_format(in->target->template, *x, &loc);
                        if (r < 0)
                                return r;
                        if (evaluate_target_exists(in->target, loc))
                                continue;
                        pending = target_pending(in->target, loc, why, sizeof(why));
                        if (pending)
                                r = step(d, depth + 1, "pending", loc, "input '%s' is there but "
                                         "does not count yet: %s", in->name, pending);
                        else if (!in->target->producer)
                                r = external_step(d, depth + 1, in, loc);
                        else {
                                r = step(d, depth + 1, "missing", loc, "input '%s', an output of %s",
                                         in->name, in->target->producer->name);
                                /* An output's binding is its producer's instance. */
                                if (r >= 0)
                                        r = walk(m, d, in->target->producer, *x, depth + 2, act,
                                                 false);
                        }
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Whether an output of task at b changed since its last run started (since; 0: unknown, after
 * a restart): not by sluiced, which moves no failed run's outputs into place. The task wrote
 * its final path itself, or someone else did. */
static bool outputs_changed_since(Task *task, const Binding *b, usec_t since) {
        for (size_t k = 0; since > 0 && k < task->n_outputs; k++) {
                _cleanup_free_ char *loc = NULL;
                Target *t = task->outputs[k];
                usec_t changed;

                if (t->kind->changed && task_output_location(task, k, b, &loc) >= 0 &&
                    t->kind->changed(t, loc, &changed) >= 0 && changed >= since)
                        return true;
        }
        return false;
}

static int walk(Manager *m, Demand *d, Task *task, const Binding *b, unsigned depth, bool act,
                bool force) {
        _cleanup_free_ char *id = NULL, *unit = NULL, *params = NULL, *subject = NULL;
        unsigned missing = 0;
        ssize_t older;
        size_t in = 0;
        Instance *i;
        int r;

        r = task_instance_id(task, b, &id);
        if (r >= 0)
                r = task_unit_name(task, id, &unit);
        if (r < 0)
                return r;
        if (strv_contains(d->seen, unit))
                return 0;
        if (strv_length(d->seen) >= DEMAND_MAX)
                return step(d, depth, "limit", task->name, "stopped after %d instances",
                            DEMAND_MAX);
        r = strv_extend(&d->seen, unit);
        if (r >= 0 && d->backfill)
                r = backfill_add_member(d->backfill, unit);
        if (r < 0)
                return r;
        (void) task_params_to_string(task, b, &params);
        if (asprintf(&subject, "%s/%s%s%s", task->pipeline->name, task->name,
                     params && *params ? " " : "", strempty(params)) < 0)
                return -ENOMEM;

        i = manager_find_instance(m, unit);
        if (i && (i->state == INSTANCE_QUEUED || i->state == INSTANCE_STARTING ||
                  i->state == INSTANCE_RUNNING))
                return force ? known_state_noted(d, depth, i, subject,
                                                 "; --force does nothing more while it is "
                                                 "under way (cancel it first to start over)")
                             : known_state(d, depth, i, subject);
        if (!force && evaluate_outputs_complete(task, b)) {
                /* A forced run of it failed, or is retrying: `list` says so, and so must this,
                 * though the outputs of an earlier run are there. */
                if (i && !act && (i->state == INSTANCE_FAILED || i->state == INSTANCE_RETRY))
                        return known_state_noted(d, depth, i, subject,
                                                 outputs_changed_since(task, b,
                                                                       i->last_start_realtime)
                                                 ? "; its outputs are there, put there since "
                                                   "its last run started, not by sluiced"
                                                 : "; its outputs are there, from an earlier "
                                                   "run");
                if (!task->rerun_newer && (older = task_output_older(task, b, &in)) >= 0)
                        return step(d, depth, "complete", subject,
                                    "its outputs exist, though input '%s' is newer than output "
                                    "'%s': with rerun = \"missing\" (the default) that runs "
                                    "nothing again; `sluicectl run --force` does, and rerun = "
                                    "\"newer\" would by itself", task->inputs[in].name,
                                    task->outputs[older]->name);
                return step(d, depth, "complete", subject, "its outputs exist");
        }

        for (size_t k = 0; k < task->n_inputs; k++) {
                _cleanup_strv_free_ char **locs = NULL;
                r = task_input_locations(task, k, b, &locs);
                if (r < 0)
                        return r;
                STRV_FOREACH(l, locs)
                        missing += !evaluate_target_exists(task->inputs[k].target, *l);
        }
        if (missing > 0 && i && i->state == INSTANCE_FAILED && !act) {
                /* What `list` says of it, and the way out when its input is gone for good. */
                r = step(d, depth, "failed", subject,
                         "failed for good after %u attempt(s): %s; %u input(s) missing now, so "
                         "it can run again only once they are there (`sluicectl reset-failed` "
                         "forgets the failure)", i->attempts, strna(i->reason), missing);
                if (r < 0)
                        return r;
                return walk_inputs(m, d, task, b, depth, act);
        }
        if (missing > 0) {
                r = step(d, depth, "waiting", subject, "%u input(s) missing%s", missing,
                         act ? "; it runs when they land" : "");
                if (r < 0)
                        return r;
                return walk_inputs(m, d, task, b, depth, act);
        }
        if (i && !act)
                return known_state(d, depth, i, subject);
        /* Its outputs may be there, out of sight: a mount of theirs is away (a run queues it,
         * held as the scheduler holds it). */
        _cleanup_free_ char *away = NULL;
        r = act ? 0 : scheduler_output_away(task, b, &away);
        if (r < 0)
                return r;
        if (r > 0)
                return step(d, depth, "waiting", subject, "%s; it waits for it to be back, and "
                            "nothing of it starts until then", away);
        if (!act && task->rerun_newer && (older = task_output_older(task, b, &in)) >= 0)
                return step(d, depth, "ready", subject,
                            "output '%s' is older than input '%s' (rerun = \"newer\"): "
                            "sluiced queues it when an input arrives (or at start-up, within "
                            "the look-back window); `sluicectl run` queues it now",
                            task->outputs[older]->name, task->inputs[in].name);
        if (!act)
                return step(d, depth, "ready", subject,
                            "its inputs exist and its outputs do not: sluiced queues it when an "
                            "input arrives (or at start-up, within the look-back window); "
                            "`sluicectl run` queues it now");
        r = evaluate_enqueue(m, task, b, id, unit, i, &i);
        if (r < 0)
                return r;
        i->forced = i->forced || force;
        log_info("%s queued on request%s", unit, force ? " (forced: its outputs are replaced)" : "");
        if (pause_holds(m, task->pipeline))
                return step(d, depth, "queued", subject, "%s; its pipeline is paused: it starts "
                            "once `sluicectl resume %s`", unit, task->pipeline->name);
        return step(d, depth, "queued", subject, "%s", unit);
}

int demand_instance(Manager *m, Task *task, const Binding *b, bool act, bool force, Demand *d) {
        int r;

        r = walk(m, d, task, b, 0, act, force);
        if (r < 0)
                demand_done(d);
        return r;
}
