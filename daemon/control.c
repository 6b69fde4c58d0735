/* SPDX-License-Identifier: MIT */
/*
 * The changes an operator may ask for, decided in one place so that sluicectl (over D-Bus) and
 * the dashboard (over HTTP) refuse the same things with the same words. Who may ask is the
 * caller's business: bus-api.c checks the bus credentials, web.c its CSRF token.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "evaluate.h"
#include "executor.h"
#include "log.h"
#include "task-params.h"
#include "unit-props.h"
#include "util/strv.h"

int control_refuse(ControlError *e, const char *name, const char *fmt, ...) {
        va_list ap;

        e->name = name;
        va_start(ap, fmt);
        (void) vsnprintf(e->message, sizeof(e->message), fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* "no task 'x' (did you mean 'y'?)", as sluicectl says it when it reads the files itself. */
static void refuse_unknown(Manager *m, const char *name, ControlError *e) {
        _cleanup_strv_free_ char **all = NULL;
        const char *guess;

        for (size_t k = 0; k < m->n_pipelines; k++)
                for (size_t i = 0; i < m->pipelines[k]->n_tasks; i++) {
                        const Task *t = m->pipelines[k]->tasks[i];
                        (void) strv_extendf(&all, "%s/%s", t->pipeline->name, t->name);
                        (void) strv_extend(&all, t->name);
                }
        _cleanup_free_ char *files = NULL;

        guess = strv_find_closest(all, name);
        /* It may be in one of them: said, rather than that it does not exist. */
        if (m->rejected && m->rejected[0])
                (void) strv_join(m->rejected, ", ", &files);
        (void) control_refuse(e, CONTROL_NO_SUCH_TASK, "no task '%s'%s%s%s%s%s", name,
                      guess ? " (did you mean '" : "", strempty(guess), guess ? "'?)" : "",
                      files ? "; not loaded, with errors (see sluicectl check): " : "",
                      strempty(files));
}

/* The items of l, each followed by suffix, as one says them: "a, b and c" (last " and "). */
static char *say_list(char * const *l, const char *suffix, const char *last) {
        size_t n = strv_length(l), len = 0;
        char *s = NULL;
        FILE *f = open_memstream(&s, &len);

        if (!f)
                return NULL;
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s%s", i == 0 ? "" : i == n - 1 ? last : ", ", l[i], suffix);
        if (fclose(f) != 0)
                return mfree(s);
        return s;
}

Task *control_find_task(Manager *m, const char *name, ControlError *e) {
        const char *slash = strchr(name, '/');
        _cleanup_strv_free_ char **in = NULL;
        _cleanup_free_ char *names = NULL, *choices = NULL, *suffix = NULL;
        Task *found = NULL;
        size_t n;

        if (slash) {
                _cleanup_free_ char *p = strndup(name, (size_t) (slash - name));
                Task *t = p ? manager_find_task(m, p, slash + 1) : NULL;
                if (!t)
                        refuse_unknown(m, name, e);
                return t;
        }
        for (size_t k = 0; k < m->n_pipelines; k++) {
                Task *t = pipeline_find_task(m->pipelines[k], name);
                if (t) {
                        found = t;
                        if (strv_extend(&in, t->pipeline->name) < 0) {
                                (void) control_refuse(e, CONTROL_FAILED, "Out of memory");
                                return NULL;
                        }
                }
        }
        n = strv_length(in);
        if (n == 1)
                return found;
        if (n == 0) {
                refuse_unknown(m, name, e);
                return NULL;
        }
        names = say_list(in, "", " and ");
        if (asprintf(&suffix, "/%s", name) < 0)
                suffix = NULL;
        else
                choices = say_list(in, suffix, " or ");
        (void) control_refuse(e, CONTROL_NO_SUCH_TASK,
                              "Task '%s' is in pipelines %s: say which, %s", name,
                              strna(names), strna(choices));
        return NULL;
}

int control_resolve(Manager *m, const char *name, char **params, ControlError *e,
                    Task **ret_task, Binding **ret_binding, char **ret_unit, Instance **ret) {
        _cleanup_(binding_freep) Binding *b = NULL;
        _cleanup_free_ char *problems = NULL, *id = NULL, *unit = NULL;
        Task *task;
        int r;

        task = control_find_task(m, name, e);
        if (!task)
                return -ENOENT;
        r = task_binding_from_params(task, params, &b, &problems);
        if (r == -EINVAL)
                return control_refuse(e, CONTROL_INVALID_ARGS, "%s", problems);
        if (r >= 0)
                r = task_instance_id(task, b, &id);
        if (r >= 0)
                r = task_unit_name(task, id, &unit);
        if (r < 0)
                return control_refuse(e, CONTROL_FAILED, "%s: %s", name, strerror(-r));
        *ret_task = task;
        *ret = manager_find_instance(m, unit);
        *ret_binding = TAKE_PTR(b);
        *ret_unit = TAKE_PTR(unit);
        return 0;
}

int control_retry(Manager *m, Task *task, const Binding *b, const char *unit, Instance *i,
                  ControlError *e) {
        _cleanup_free_ char *missing = NULL;
        int r;

        if (!i || (i->state != INSTANCE_FAILED && i->state != INSTANCE_RETRY))
                return control_refuse(e, CONTROL_NOT_FAILED, "%s has not failed%s%s", unit,
                              i ? ": it is " : "", i ? instance_state_to_string(i->state) : "");
        if (!evaluate_inputs_exist(task, b, &missing))
                return control_refuse(e, CONTROL_INPUTS_MISSING,
                              "%s cannot run again: %s (see `sluicectl why`; `sluicectl "
                              "reset-failed` forgets its failure)", unit,
                              missing ?: "an input is missing");
        log_info("%s retried on request", unit);
        r = evaluate_enqueue(m, task, b, NULL, unit, i, NULL);
        if (r < 0)
                return control_refuse(e, CONTROL_FAILED, "Cannot queue %s: %s", unit, strerror(-r));
        i->forced = true;       /* asked for: a forced run's outputs from before do not stop it */
        return 0;
}

/* Natural order: @2 before @10, as one counts, not as characters sort. */
static int compare_units(const void *a, const void *b) {
        return strverscmp(*(char * const *) a, *(char * const *) b);
}

int control_each_failed(Manager *m, Task *task, bool retry, char ***ret_done, char ***ret_refused) {
        _cleanup_strv_free_ char **units = NULL, **done = NULL, **refused = NULL;
        Instance *i, *tmp;

        /* Named first, changed after: a change adds and removes instances. */
        HASH_ITER(hh, m->instances, i, tmp)
                if (i->task == task &&
                    (i->state == INSTANCE_FAILED || (retry && i->state == INSTANCE_RETRY)) &&
                    strv_extend(&units, i->unit) < 0)
                        return -ENOMEM;
        if (units)
                qsort(units, strv_length(units), sizeof(char *), compare_units);
        STRV_FOREACH(u, units) {
                _cleanup_(binding_freep) Binding *b = NULL;
                ControlError e = {};
                int r;

                i = manager_find_instance(m, *u);
                if (!i)
                        continue;
                if (binding_copy(i->binding, &b) < 0)
                        return -ENOMEM;
                r = retry ? control_retry(m, task, b, *u, i, &e)
                          : control_reset_failed(m, *u, i, &e);
                if (r < 0 ? strv_extend(&refused, *u) < 0 || strv_extend(&refused, e.message) < 0
                          : strv_extend(&done, *u) < 0)
                        return -ENOMEM;
        }
        *ret_done = TAKE_PTR(done);
        *ret_refused = TAKE_PTR(refused);
        return 0;
}

int control_reset_failed(Manager *m, const char *unit, Instance *i, ControlError *e) {
        if (!i || i->state != INSTANCE_FAILED)
                return control_refuse(e, CONTROL_NOT_FAILED, "%s has not failed%s%s", unit,
                              i ? ": it is " : "", i ? instance_state_to_string(i->state) : "");
        log_notice("%s: its failure forgotten on request (%s)", unit, strna(i->reason));
        /* And systemd's, as `systemctl reset-failed` would: no longer in `systemctl --failed`.
         * Not there any more (collected, or never started): nothing to say. */
        if (m->bus)
                (void) sd_bus_call_method_async(m->bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH,
                                                SYSTEMD_MANAGER, "ResetFailedUnit", NULL, NULL,
                                                "s", unit);
        manager_remove_instance(m, i);
        manager_gc_retired(m);  /* it may have held a pipeline a reload replaced */
        return 0;
}

int control_cancel(Manager *m, const char *unit, Instance *i, ControlError *e) {
        int r;

        if (!i || i->state == INSTANCE_FAILED)
                return control_refuse(e, CONTROL_NOT_ACTIVE,
                              "%s is neither queued, running nor waiting to retry", unit);
        log_notice("%s cancelled on request", unit);
        r = executor_cancel(m, i);
        if (r < 0)
                return control_refuse(e, CONTROL_FAILED, "Cannot stop %s: %s", unit, strerror(-r));
        return 0;
}
