/* SPDX-License-Identifier: MIT */
/*
 * Reloading pipelines.d. A file that loads replaces its pipeline; a file with errors keeps the
 * previous version running; a file that is gone takes its pipeline with it; a file whose text
 * did not change leaves its pipeline running as it is: rebuilding it would drop and re-add
 * every watch (pushing pipelines into the scan fallback near the watch limit), re-poll every
 * remote object and rescan every file, for nothing. Instances in
 * flight follow their task into the new version when it has the same parameters; a running one
 * whose task changed shape or went away finishes under the old version, which is kept (retired)
 * until no run uses it.
 */
#include <string.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "log.h"
#include "pause.h"
#include "manager.h"
#include "recover.h"
#include "scheduler.h"
#include "remote.h"
#include "util/fs-util.h"
#include "util/strv.h"
#include "waiting.h"

static bool same_params(const Task *a, const Task *b) {
        if (a->n_params != b->n_params)
                return false;
        for (size_t i = 0; i < a->n_params; i++)
                if (!streq(a->params[i].name, b->params[i].name) ||
                    !param_spec_equal(&a->params[i].spec, &b->params[i].spec))
                        return false;
        return true;
}

static Task *find_successor(Pipeline **list, size_t n, const Task *old) {
        for (size_t i = 0; i < n; i++) {
                Task *t;

                if (!streq(list[i]->name, old->pipeline->name))
                        continue;
                t = pipeline_find_task(list[i], old->name);
                return t && same_params(t, old) ? t : NULL;
        }
        return NULL;
}

static bool in_list(Pipeline **list, size_t n, const Pipeline *p) {
        for (size_t i = 0; i < n; i++)
                if (list[i] == p)
                        return true;
        return false;
}

/* Whether a run started under a can end under b: its outputs are committed and its resource
 * claims given back by its task's, so those must be the same, in the same order. */
static bool same_run_shape(const Task *a, const Task *b) {
        if (a->n_outputs != b->n_outputs || a->n_claims != b->n_claims)
                return false;
        for (size_t k = 0; k < a->n_outputs; k++)
                if (a->outputs[k]->kind != b->outputs[k]->kind ||
                    !streq(a->outputs[k]->template->text, b->outputs[k]->template->text))
                        return false;
        for (size_t k = 0; k < a->n_claims; k++)
                if (!streq(a->claims[k].pool, b->claims[k].pool) ||
                    a->claims[k].amount != b->claims[k].amount)
                        return false;
        return true;
}

/* An instance of a retired pipeline follows its task into the new version, or, when the task
 * is gone or changed shape, is forgotten, unless a run is in flight: that one finishes under
 * the version it started with (also when only its outputs or resource claims changed), and
 * settles when it ends. */
static void settle(Manager *m, Instance *i) {
        Task *t = find_successor(m->pipelines, m->n_pipelines, i->task);

        /* A confirmation under way asks the old version's target, which must live on. */
        if (t && i->run && (i->run->confirming || !same_run_shape(i->task, t)))
                return;
        if (t) {
                /* A run's share of its task's max_parallel moves with it. */
                if (i->run && i->run->counted) {
                        i->task->n_running--;
                        t->n_running++;
                }
                i->task = t;
        }
        else if (i->state == INSTANCE_QUEUED || i->state == INSTANCE_FAILED ||
                 i->state == INSTANCE_RETRY)
                manager_remove_instance(m, i);
}

Task *manager_successor(Manager *m, const Task *t) {
        if (!in_list(m->retired, m->n_retired, t->pipeline))
                return NULL;
        return find_successor(m->pipelines, m->n_pipelines, t);
}

void manager_settle_instance(Manager *m, Instance *i) {
        if (in_list(m->retired, m->n_retired, i->task->pipeline))
                settle(m, i);
        manager_gc_retired(m);
}

static void repoint_instances(Manager *m, Pipeline **retired, size_t n_retired) {
        Instance *i, *tmp;

        HASH_ITER(hh, m->instances, i, tmp)
                if (in_list(retired, n_retired, i->task->pipeline))
                        settle(m, i);
}

void manager_gc_retired(Manager *m) {
        /* Walks every instance per retired pipeline: only after a reload, while old runs end. */
        for (size_t k = 0; k < m->n_retired;) {
                Instance *i, *tmp;
                bool used = false;

                HASH_ITER(hh, m->instances, i, tmp)
                        if (i->task->pipeline == m->retired[k]) {
                                used = true;
                                break;
                        }
                if (used) {
                        k++;
                        continue;
                }
                log_debug("Freeing retired pipeline '%s'", m->retired[k]->name);
                pipeline_free(m->retired[k]);
                m->retired[k] = m->retired[--m->n_retired];
        }
}

/* A target that a running pipeline should have started (manager_start_targets(),
 * deadline_start()) but could not: its pipeline must start afresh to try again. */
static bool target_wanted_idle(const Target *t) {
        return !t->host && (t->n_consumers > 0 || t->producer || t->on_late);
}

/* The running version of fresh when the reload can leave it as it runs, with its watches,
 * what its polls and scans learnt and what waits: the same file, the same text, and nothing
 * in it that a reload is asked to start again. */
static Pipeline *unchanged(Manager *m, const Pipeline *fresh) {
        for (size_t i = 0; i < m->n_pipelines; i++) {
                Pipeline *old = m->pipelines[i];

                if (!streq(old->file, fresh->file))
                        continue;
                if (!old->source || !fresh->source || !streq(old->source, fresh->source))
                        return NULL;
                for (size_t t = 0; t < old->n_targets; t++)
                        if (target_wanted_idle(old->targets[t]) ||
                            target_reload_afresh(old->targets[t]))
                                return NULL;
                return old;
        }
        return NULL;
}

void manager_reload(Manager *m, char ***ret_kept) {
        _cleanup_strv_free_ char **rejected = NULL;
        Pipeline **fresh = NULL, **final = NULL, **retired = NULL;
        size_t n_fresh = 0, n_new = 0, n_final = 0, n_retired = 0;
        unsigned kept = 0, same = 0;
        bool settings_kept;
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading",
                          (unsigned long long) now_usec(CLOCK_MONOTONIC));
        settings_kept = manager_reload_config(m) < 0;
        log_notice("Reloading pipelines from '%s'", m->pipelines_dir);

        r = manager_load_pipelines(m, &fresh, &n_fresh, &rejected);
        if (r >= 0) {
                /* NULL when none is: "not loaded: " with nothing after would say one is. */
                m->rejected = strv_free(m->rejected);
                if (rejected && rejected[0] && strv_copy(rejected, &m->rejected) < 0)
                        m->rejected = NULL;
        }
        final = calloc(n_fresh + m->n_pipelines + 1, sizeof(Pipeline *));
        retired = calloc(m->n_pipelines + 1, sizeof(Pipeline *));
        if (r < 0 || !final || !retired) {
                log_error_errno(r < 0 ? r : -ENOMEM, "Reload failed, keeping the pipelines "
                                                     "that run now: %m");
                pipelines_free(fresh, n_fresh);
                free(final);
                free(retired);
                (void) sd_notify(false, "READY=1");
                manager_notify_status(m);
                return;
        }

        /* fresh keeps only the pipelines that start now; an unchanged one runs on as it is. */
        for (size_t i = 0; i < n_fresh; i++) {
                Pipeline *old = unchanged(m, fresh[i]);

                if (old) {
                        log_info("Pipeline '%s' is unchanged: it runs on as it is", old->name);
                        pipeline_free(fresh[i]);
                        final[n_final++] = old;
                        same++;
                } else
                        final[n_final++] = fresh[n_new++] = fresh[i];
        }
        for (size_t i = 0; i < m->n_pipelines; i++) {
                Pipeline *old = m->pipelines[i];

                if (in_list(final, n_final, old))
                        continue;
                if (strv_contains(rejected, old->file)) {
                        log_warning("Keeping the running version of pipeline '%s': its file "
                                    "has errors", old->name);
                        final[n_final++] = old;
                        kept++;
                } else {
                        bool replaced = false;

                        for (size_t k = 0; k < n_final && !replaced; k++)
                                replaced = streq(final[k]->name, old->name);
                        if (!replaced)
                                log_notice("Pipeline '%s' stopped: its file '%s' is gone",
                                           old->name, old->file);
                        retired[n_retired++] = old;
                }
        }
        for (size_t i = 0; i < n_retired; i++) {
                for (size_t t = 0; t < retired[i]->n_targets; t++)
                        target_stop(retired[i]->targets[t]);
                /* A cache: the reconciliation of the new version below records it again. */
                waiting_drop_pipeline(m, retired[i]);
        }
        free(m->pipelines);
        m->pipelines = final;
        m->n_pipelines = n_final;

        repoint_instances(m, retired, n_retired);
        for (size_t i = 0; i < n_retired; i++) {
                Pipeline **n = reallocarray(m->retired, m->n_retired + 1, sizeof(Pipeline *));
                if (!n) {
                        /* Cannot keep it around: it must not be freed under a run either,
                         * so it leaks, which is the lesser harm. */
                        log_oom();
                        continue;
                }
                m->retired = n;
                m->retired[m->n_retired++] = retired[i];
        }
        free(retired);
        manager_gc_retired(m);

        /* Before the scans, which would queue an instance that failed for good again. */
        recover_kept_marks(m);
        recover_kept_runs(m);
        /* Watch before scanning, as at start-up: arrivals in between are seen twice at worst. */
        for (size_t i = 0; i < n_new; i++) {
                manager_setup_slice(m, fresh[i]);
                manager_start_targets(m, fresh[i]);
        }
        for (size_t i = 0; i < n_new; i++)
                manager_reconcile(m, fresh[i]);
        free(fresh);
        /* What no new version took (a target removed, renamed, or pointed elsewhere) would be
         * stale by the time it came back. */
        remote_memory_free(&m->host);

        pause_check_names(m);
        scheduler_unpark(m);     /* a paused pipeline renamed is not paused */
        log_notice("Reloaded: %zu pipeline(s) running (%u unchanged), %u kept at their previous "
                   "version", m->n_pipelines, same, kept);
        if (ret_kept) {
                /* sluiced.conf among the files with errors: `sluicectl reload` must not say
                 * all went well when the daemon kept its old settings. */
                _cleanup_free_ char *conf = NULL;
                if (settings_kept && path_join(m->config_dir, "sluiced.conf", &conf) >= 0)
                        (void) strv_consume(&rejected, TAKE_PTR(conf));
                *ret_kept = TAKE_PTR(rejected);
        }
        (void) sd_notify(false, "READY=1");
        manager_notify_status(m);
}
