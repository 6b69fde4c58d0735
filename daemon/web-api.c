/* SPDX-License-Identifier: MIT */
/*
 * The JSON the dashboard draws from: /api/status (counters, slots, pools, the head of the
 * queue, backfills), /api/graph (every pipeline's targets and tasks, each task with its
 * instances counted by state) and /api/instances (one task's instances, for the grid). An
 * instance the daemon holds says its own state; a complete one is no object in the daemon
 * (instance.h), so those are found by scanning the task's first output (complete_instances()),
 * up to WEB_SCAN_CAP and not at every request, so that dashboards left open cost little.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "log.h"
#include "pause.h"
#include "sluice-config.h"
#include "util/strv.h"
#include "waiting.h"
#include "web-internal.h"

#define WEB_COUNT_TTL (15 * USEC_PER_SEC)
#define WEB_COUNT_MIN_AGE (2 * USEC_PER_SEC)
#define WEB_QUEUE_SHOWN 100
#define WEB_INSTANCES_DEFAULT 2000
#define WEB_INSTANCES_MAX 10000
/* A task's cached instances are dropped when nobody asked for them this long. */
#define WEB_COUNT_FORGET (5 * USEC_PER_MINUTE)

static void put_str(json_object *o, const char *key, const char *value) {
        json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

static void put_u64(json_object *o, const char *key, uint64_t value) {
        json_object_object_add(o, key, json_object_new_uint64(value));
}

json_object *web_params(const Binding *b) {
        json_object *a = json_object_new_array();

        for (size_t k = 0; b && k < b->n; k++) {
                _cleanup_free_ char *s = NULL;
                if (asprintf(&s, "%s=%s", b->entries[k].name, b->entries[k].value) >= 0)
                        json_object_array_add(a, json_object_new_string(s));
        }
        return a;
}

static json_object *instance_json(const Instance *i) {
        json_object *o = json_object_new_object();

        put_str(o, "pipeline", i->task->pipeline->name);
        put_str(o, "task", i->task->name);
        json_object_object_add(o, "params", web_params(i->binding));
        put_str(o, "id", i->id);
        put_str(o, "unit", i->unit);
        put_str(o, "state", instance_state_to_string(i->state));
        put_u64(o, "attempts", i->attempts);
        put_u64(o, "wake_usec", i->wake_realtime);
        put_u64(o, "started_usec", i->run ? i->run->start_realtime : i->last_start_realtime);
        put_str(o, "reason", i->reason);
        json_object_object_add(o, "backfill", json_object_new_boolean(i->backfill));
        return o;
}

static int count_waiting(Task *task, const char *unit, const Binding *b, const char *reason,
                         void *userdata) {
        (*(unsigned *) userdata)++;
        return 0;
}

unsigned web_waiting_count(Manager *m) {
        unsigned n = 0;

        (void) waiting_foreach_shown(m, NULL, count_waiting, &n);
        return n;
}

json_object *web_status(Web *w) {
        Manager *m = w->manager;
        json_object *o = json_object_new_object(), *a;
        unsigned shown = 0;

        put_str(o, "version", SLUICE_VERSION);
        json_object_object_add(o, "control", json_object_new_boolean(m->config.http_control));
        if (m->config.http_control)
                put_str(o, "csrf", w->csrf);
        put_u64(o, "running", m->n_active - m->n_starting);
        put_u64(o, "starting", m->n_starting);
        put_u64(o, "queued", m->n_queued);
        put_u64(o, "retrying", m->n_retrying);
        put_u64(o, "failed", m->n_failed);
        put_u64(o, "waiting", web_waiting_count(m));
        put_u64(o, "runs_succeeded", m->n_runs_ok);
        put_u64(o, "runs_failed", m->n_runs_failed);
        put_u64(o, "max_parallel", m->config.max_parallel);
        put_u64(o, "max_starting", m->config.max_starting);

        a = json_object_new_array();
        for (size_t k = 0; k < m->n_pipelines; k++) {
                json_object *p = json_object_new_object();
                put_str(p, "name", m->pipelines[k]->name);
                put_u64(p, "tasks", m->pipelines[k]->n_tasks);
                json_object_object_add(p, "paused",
                                       json_object_new_boolean(pause_holds(m, m->pipelines[k])));
                json_object_array_add(a, p);
        }
        json_object_object_add(o, "pipelines", a);

        a = json_object_new_array();
        for (size_t k = 0; k < m->config.n_pools; k++) {
                json_object *p = json_object_new_object();
                put_str(p, "name", m->config.pools[k].name);
                put_u64(p, "size", m->config.pools[k].size);
                put_u64(p, "used", m->pool_used ? m->pool_used[k] : 0);
                json_object_array_add(a, p);
        }
        json_object_object_add(o, "pools", a);

        a = json_object_new_array();
        for (Instance *i = m->queue; i && shown < WEB_QUEUE_SHOWN; i = i->next, shown++)
                json_object_array_add(a, instance_json(i));
        for (Instance *i = m->parked; i && shown < WEB_QUEUE_SHOWN; i = i->next, shown++)
                json_object_array_add(a, instance_json(i));
        json_object_object_add(o, "queue", a);

        a = json_object_new_array();
        for (Backfill *bf = m->backfills; bf; bf = bf->next) {
                json_object *b = json_object_new_object();
                BackfillProgress p;

                backfill_progress(m, bf, &p);
                put_u64(b, "id", bf->id);
                put_str(b, "pipeline", bf->pipeline);
                put_str(b, "task", bf->task);
                put_str(b, "from", bf->from);
                put_str(b, "to", bf->to);
                put_u64(b, "started_usec", bf->started_realtime);
                put_u64(b, "finished_usec", bf->finished_realtime);
                put_u64(b, "total", p.total);
                put_u64(b, "complete", p.complete);
                put_u64(b, "running", p.running + p.queued);
                put_u64(b, "failed", p.failed);
                put_u64(b, "upstream", p.upstream);
                put_u64(b, "cancelled", p.cancelled);
                json_object_array_add(a, b);
        }
        json_object_object_add(o, "backfills", a);
        return o;
}

typedef struct ScanCount {
        unsigned n;
        bool list;
        char **ids;
        size_t n_ids, n_allocated;
} ScanCount;

/* An instance's parameters as one string that sorts by them: "day=...", joined by \x1f
 * (which no value of a file name or URL carries). */
static char *params_key(const Binding *b) {
        size_t len = 1;
        char *s, *p;

        /* By hand, not open_memstream(): this runs for each of 100,000 instances in a scan. */
        for (size_t k = 0; k < b->n; k++)
                len += strlen(b->entries[k].name) + strlen(b->entries[k].value) + 2;
        s = p = malloc(len);
        if (!s)
                return NULL;
        for (size_t k = 0; k < b->n; k++)
                p += sprintf(p, "%s%s=%s", k ? "\x1f" : "", b->entries[k].name,
                             b->entries[k].value);
        *p = 0;
        return s;
}

static int scan_one(Target *t, const Binding *b, void *userdata) {
        ScanCount *sc = userdata;

        if (sc->n >= WEB_SCAN_CAP)
                return -ECANCELED;
        sc->n++;
        if (!sc->list)
                return 0;
        if (sc->n_ids == sc->n_allocated) {
                size_t n = MAX(sc->n_allocated * 2, (size_t) 64);
                char **l = reallocarray(sc->ids, n, sizeof(char *));
                if (!l)
                        return -ENOMEM;
                sc->ids = l;
                sc->n_allocated = n;
        }
        sc->ids[sc->n_ids] = params_key(b);
        if (!sc->ids[sc->n_ids])
                return -ENOMEM;
        sc->n_ids++;
        return 0;
}

static int compare_desc(const void *a, const void *b) {
        return strcmp(*(char * const *) b, *(char * const *) a);
}

static void free_ids(char **ids, size_t n) {
        for (size_t k = 0; k < n; k++)
                free(ids[k]);
        free(ids);
}

void web_counts_free(Web *w) {
        WebCount *c, *tmp;

        HASH_ITER(hh, w->counts, c, tmp) {
                HASH_DEL(w->counts, c);
                free_ids(c->ids, c->n_ids);
                free(c->key);
                free(c);
        }
}

/* Drops what no page asked for a while: tasks a reload removed, panels closed. */
static void forget_counts(Web *w) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        WebCount *c, *tmp;

        HASH_ITER(hh, w->counts, c, tmp) {
                if (now - c->at < WEB_COUNT_FORGET)
                        continue;
                HASH_DEL(w->counts, c);
                free_ids(c->ids, c->n_ids);
                free(c->key);
                free(c);
        }
}

/*
 * The task's complete instances: those of its first output that exist now, counted (and with
 * list, listed newest first) by a scan, which is done again only when the last one is older
 * than WEB_COUNT_TTL, or when the task has succeeded since and the last one is older than
 * WEB_COUNT_MIN_AGE; both grow with what the last scan cost, since scanning and sorting
 * 100,000 files holds the loop up for over 100 ms.
 */
static WebCount *complete_instances(Web *w, Task *task, bool list) {
        _cleanup_free_ char *key = NULL;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        Target *t = task->n_outputs > 0 ? task->outputs[0] : NULL;
        ScanCount sc = {};
        WebCount *c;
        int r = 0;

        if (asprintf(&key, "%s/%s", task->pipeline->name, task->name) < 0)
                return NULL;
        HASH_FIND_STR(w->counts, key, c);
        /* Once listed, always listed: the page that asked for the list asks again. */
        sc.list = list || (c && c->ids);
        /* A scan that takes the loop long is done less often: at most ~1% of its time. */
        if (c && (!list || c->ids) && now - c->at < MAX(WEB_COUNT_TTL, 200 * c->cost) &&
            (c->runs == task->n_succeeded || now - c->at < MAX(WEB_COUNT_MIN_AGE, 50 * c->cost)))
                return c;
        if (t && t->kind->scan) {
                target_host_scan_begin(&w->manager->host);
                r = t->kind->scan(t, scan_one, &sc);
                target_host_scan_end(&w->manager->host);
        }
        if (r < 0 && r != -ECANCELED)
                log_debug_errno(r, "Cannot scan the complete instances of %s: %m", key);
        if (sc.ids)
                qsort(sc.ids, sc.n_ids, sizeof(char *), compare_desc);
        if (!c) {
                c = calloc(1, sizeof(*c));
                if (!c) {
                        free_ids(sc.ids, sc.n_ids);
                        return NULL;
                }
                c->key = TAKE_PTR(key);
                HASH_ADD_KEYPTR(hh, w->counts, c->key, strlen(c->key), c);
        }
        free_ids(c->ids, c->n_ids);
        c->ids = sc.ids;
        c->n_ids = sc.n_ids;
        if (sc.list && !c->ids)
                c->ids = calloc(1, sizeof(char *));     /* listed, and none */
        c->complete = sc.n;
        c->cost = now_usec(CLOCK_MONOTONIC) - now;
        c->capped = r == -ECANCELED;
        c->at = now;
        c->runs = task->n_succeeded;
        return c;
}

static json_object *names_of(Target **targets, size_t n) {
        json_object *a = json_object_new_array();

        for (size_t k = 0; k < n; k++)
                json_object_array_add(a, json_object_new_string(targets[k]->name));
        return a;
}

static json_object *task_json(Web *w, Task *task, const unsigned *counts, unsigned waiting) {
        json_object *o = json_object_new_object(), *a, *c;
        WebCount *done = complete_instances(w, task, false);

        put_str(o, "name", task->name);
        a = json_object_new_array();
        for (size_t k = 0; k < task->n_inputs; k++)
                json_object_array_add(a, json_object_new_string(task->inputs[k].target->name));
        json_object_object_add(o, "inputs", a);
        json_object_object_add(o, "outputs", names_of(task->outputs, task->n_outputs));
        a = json_object_new_array();
        for (size_t k = 0; k < task->n_params; k++)
                json_object_array_add(a, json_object_new_string(task->params[k].name));
        json_object_object_add(o, "params", a);
        c = json_object_new_object();
        put_u64(c, "complete", done ? done->complete : 0);
        for (InstanceState s = 0; s < _INSTANCE_STATE_MAX; s++)
                put_u64(c, instance_state_to_string(s), counts[s]);
        put_u64(c, "waiting", waiting);
        json_object_object_add(o, "counts", c);
        json_object_object_add(o, "complete_capped",
                               json_object_new_boolean(done && done->capped));
        return o;
}

static json_object *target_json(Target *t) {
        json_object *o = json_object_new_object();
        TargetStatus st;

        put_str(o, "name", t->name);
        put_str(o, "kind", t->kind->name);
        put_str(o, "template", t->template->text);
        put_str(o, "producer", t->producer ? t->producer->name : NULL);
        if (t->kind->status && t->host && t->kind->status(t, &st) > 0) {
                put_u64(o, "objects", st.objects);
                put_u64(o, "poll_failures", st.failures);
                put_str(o, "poll_error", st.error);
                put_str(o, "scanned", st.scanned);
        }
        return o;
}

/* Per task, the instances the daemon holds by state: one pass over them all. */
typedef struct TaskCounts {
        const Task *task;
        unsigned counts[_INSTANCE_STATE_MAX];
        unsigned waiting;       /* some inputs there, others not (waiting.h) */
        UT_hash_handle hh;
} TaskCounts;

static TaskCounts *task_counts(TaskCounts **by_task, const Task *task) {
        TaskCounts *tc;

        HASH_FIND_PTR(*by_task, &task, tc);
        if (tc)
                return tc;
        tc = calloc(1, sizeof(*tc));
        if (!tc)
                return NULL;
        tc->task = task;
        HASH_ADD_PTR(*by_task, task, tc);
        return tc;
}

static int count_task_waiting(Task *task, const char *unit, const Binding *b, const char *reason,
                              void *userdata) {
        TaskCounts *tc = task_counts(userdata, task);

        if (!tc)
                return -ENOMEM;
        tc->waiting++;
        return 0;
}

json_object *web_graph(Web *w) {
        Manager *m = w->manager;
        json_object *root = json_object_new_object(), *pipelines = json_object_new_array();
        TaskCounts *by_task = NULL, *tc, *tmp;
        static const unsigned none[_INSTANCE_STATE_MAX];
        Instance *i, *itmp;

        HASH_ITER(hh, m->instances, i, itmp) {
                tc = task_counts(&by_task, i->task);
                if (!tc)
                        break;
                tc->counts[i->state]++;
        }
        (void) waiting_foreach_shown(m, NULL, count_task_waiting, &by_task);
        for (size_t k = 0; k < m->n_pipelines; k++) {
                Pipeline *p = m->pipelines[k];
                json_object *o = json_object_new_object(), *a;

                put_str(o, "name", p->name);
                json_object_object_add(o, "paused", json_object_new_boolean(pause_holds(m, p)));
                a = json_object_new_array();
                for (size_t j = 0; j < p->n_targets; j++)
                        json_object_array_add(a, target_json(p->targets[j]));
                json_object_object_add(o, "targets", a);
                a = json_object_new_array();
                for (size_t j = 0; j < p->n_tasks; j++) {
                        HASH_FIND_PTR(by_task, &p->tasks[j], tc);
                        json_object_array_add(a, task_json(w, p->tasks[j],
                                                           tc ? tc->counts : none,
                                                           tc ? tc->waiting : 0));
                }
                json_object_object_add(o, "tasks", a);
                json_object_array_add(pipelines, o);
        }
        HASH_ITER(hh, by_task, tc, tmp) {
                HASH_DEL(by_task, tc);
                free(tc);
        }
        forget_counts(w);
        json_object_object_add(root, "pipelines", pipelines);
        return root;
}

/* A complete instance, for the grid: its parameters from params_key(). */
static json_object *complete_json(const char *key) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();

        for (const char *p = key, *end; *p; p = *end ? end + 1 : end) {
                end = strchrnul(p, '\x1f');
                json_object_array_add(a, json_object_new_string_len(p, (int) (end - p)));
        }
        json_object_object_add(o, "params", a);
        put_str(o, "state", "complete");
        return o;
}

typedef struct WaitingList {
        json_object *array;
        unsigned long limit;
} WaitingList;

static int list_waiting(Task *task, const char *unit, const Binding *b, const char *reason,
                        void *userdata) {
        WaitingList *l = userdata;
        json_object *o;

        if (json_object_array_length(l->array) >= l->limit)
                return 0;
        o = json_object_new_object();
        put_str(o, "pipeline", task->pipeline->name);
        put_str(o, "task", task->name);
        json_object_object_add(o, "params", web_params(b));
        put_str(o, "unit", unit);
        put_str(o, "state", "waiting");
        put_u64(o, "attempts", 0);
        put_str(o, "reason", reason);
        json_object_array_add(l->array, o);
        return 0;
}

json_object *web_instances(Web *w, struct MHD_Connection *c, unsigned *ret_code,
                           const char **ret_error) {
        Manager *m = w->manager;
        const char *name = web_arg(c, "task"), *limit_arg = web_arg(c, "limit");
        unsigned long limit = MIN(limit_arg ? strtoul(limit_arg, NULL, 10) : WEB_INSTANCES_DEFAULT,
                                  (unsigned long) WEB_INSTANCES_MAX);
        char **held = NULL;
        size_t n_held = 0;
        json_object *o, *a;
        Instance *i, *tmp;
        const char *slash;
        WebCount *done;
        Task *task;

        slash = name ? strchr(name, '/') : NULL;
        task = slash ? manager_find_task(m, strndupa(name, (size_t) (slash - name)), slash + 1)
                     : NULL;
        if (!task) {
                *ret_code = MHD_HTTP_NOT_FOUND;
                *ret_error = "no such task: give ?task=PIPELINE/TASK";
                return NULL;
        }
        o = json_object_new_object();
        put_str(o, "pipeline", task->pipeline->name);
        put_str(o, "task", task->name);
        a = json_object_new_array();
        HASH_ITER(hh, m->instances, i, tmp) {
                char **l;
                if (i->task != task)
                        continue;
                if (json_object_array_length(a) < limit)
                        json_object_array_add(a, instance_json(i));
                l = reallocarray(held, n_held + 2, sizeof(char *));
                if (!l)
                        continue;
                held = l;
                held[n_held] = params_key(i->binding);
                if (held[n_held])
                        n_held++;
                held[n_held] = NULL;
        }
        /* Not complete, nor held: the grid shows them beside the others. */
        (void) waiting_foreach_shown(m, task, list_waiting, &(WaitingList){ a, limit });
        json_object_object_add(o, "instances", a);

        /* Newest first: parameter values that are times sort as text too. What the daemon
         * holds (a forced re-run, say) is listed above with its own state, not here. */
        done = complete_instances(w, task, true);
        if (held)
                qsort(held, n_held, sizeof(char *), compare_desc);
        a = json_object_new_array();
        for (size_t k = 0; done && k < done->n_ids && json_object_array_length(a) < limit; k++)
                if (!held || !bsearch(&done->ids[k], held, n_held, sizeof(char *), compare_desc))
                        json_object_array_add(a, complete_json(done->ids[k]));
        json_object_object_add(o, "complete", a);
        put_u64(o, "complete_total", done ? done->complete : 0);
        json_object_object_add(o, "complete_capped",
                               json_object_new_boolean(done && done->capped));
        strv_free(held);
        return o;
}
