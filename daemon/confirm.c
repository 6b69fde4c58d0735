/* SPDX-License-Identifier: MIT */
/*
 * Outputs a server holds (S3 objects, PostgreSQL marker rows) are the task's to write and the
 * daemon's to confirm before the run counts as a success. The questions go out together when
 * the unit ends and are answered through the loop: a server that hangs delays that run's end,
 * for at most its target's timeouts, and nothing else the daemon does. The run keeps its slot
 * meanwhile; local outputs are moved into place, and what the servers hold is made known to
 * what reads it, only once every answer is in and the run has succeeded, so that nothing
 * downstream starts on a run that then fails.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confirm.h"
#include "log.h"

struct Confirming {
        Instance *instance;
        UnitResult ended;               /* how the unit ended, told once the answers are in */
        TargetConfirm **pending;        /* one per task output; NULL where none */
        char **tags;                    /* what the answers found, for confirmed() */
        size_t n_outputs;
        unsigned n_pending;
        char *reason;                   /* the first answer that failed the run */
};

Confirming *confirming_free(Confirming *c) {
        if (!c)
                return NULL;
        for (size_t k = 0; k < c->n_outputs; k++) {
                target_confirm_cancel(c->pending[k]);
                if (c->tags)
                        free(c->tags[k]);
        }
        free(c->pending);
        free(c->tags);
        unit_result_done(&c->ended);
        free(c->reason);
        free(c);
        return NULL;
}

static char *failure_reason(const Target *t, int r, const char *why) {
        char *s;

        if (r == -ENOENT)
                r = asprintf(&s, "exited 0 but did not write output '%s'", t->name);
        else
                r = asprintf(&s, "cannot confirm output '%s': %s", t->name, why ?: strerror(-r));
        return r < 0 ? NULL : s;
}

static void on_answer(TargetConfirm *tc, int r, const char *tag, const char *why,
                      void *userdata) {
        Confirming *c = userdata;
        Instance *i = c->instance;
        size_t k = 0;

        while (k < c->n_outputs && c->pending[k] != tc)
                k++;
        assert(k < c->n_outputs);
        c->pending[k] = NULL;           /* its kind frees it after this */
        c->n_pending--;
        if (r >= 0 && !(c->tags[k] = strdup(strempty(tag))))
                r = -ENOMEM;
        if (r < 0 && !c->reason) {
                c->reason = failure_reason(i->task->outputs[k], r, why) ?: strdup("out of memory");
                /* One missing output fails the run: the other answers would change nothing. */
                for (size_t o = 0; o < c->n_outputs; o++)
                        c->pending[o] = target_confirm_cancel(c->pending[o]);
                c->n_pending = 0;
        }
        if (c->n_pending > 0)
                return;
        i->run->confirming = NULL;
        executor_finish_with(i->manager, i, &c->ended, c->reason, c->reason ? NULL : c->tags);
        confirming_free(c);
}

void executor_confirm_abort(Manager *m, Instance *i, const char *reason) {
        Confirming *c = TAKE_PTR(i->run->confirming);

        executor_finish_with(m, i, &c->ended, reason, NULL);
        confirming_free(c);
}

static int copy_result(const UnitResult *from, UnitResult *to) {
        *to = *from;
        to->result = from->result ? strdup(from->result) : NULL;
        to->run_id = from->run_id ? strdup(from->run_id) : NULL;
        if ((from->result && !to->result) || (from->run_id && !to->run_id)) {
                unit_result_done(to);
                *to = UNIT_RESULT_UNKNOWN;
                return -ENOMEM;
        }
        return 0;
}

int executor_confirm(Manager *m, Instance *i, const UnitResult *res, char **ret_reason) {
        Task *task = i->task;
        Confirming *c;
        int r = 0;

        for (size_t k = 0; k < task->n_outputs && r == 0; k++)
                r = !!task->outputs[k]->kind->confirm;
        if (r == 0)
                return 0;
        c = calloc(1, sizeof(Confirming));
        if (!c || !(c->pending = calloc(task->n_outputs, sizeof(TargetConfirm *))) ||
            !(c->tags = calloc(task->n_outputs, sizeof(char *))) ||
            copy_result(res, &c->ended) < 0) {
                confirming_free(c);
                return -ENOMEM;
        }
        c->instance = i;
        c->n_outputs = task->n_outputs;
        for (size_t k = 0; k < task->n_outputs; k++) {
                Target *t = task->outputs[k];

                if (!t->kind->confirm)
                        continue;
                _cleanup_free_ char *why = NULL;

                r = t->kind->confirm(t, &m->host, i->run->outputs[k], on_answer, c,
                                     &c->pending[k], &why);
                if (r < 0) {
                        *ret_reason = failure_reason(t, r, why);
                        confirming_free(c);
                        return r;
                }
                c->n_pending++;
        }
        log_debug("%s ended; confirming %u output(s) with their servers", i->unit, c->n_pending);
        i->run->confirming = c;
        return 1;
}
