/* SPDX-License-Identifier: MIT */
/*
 * The end of a successful run: its staged outputs checked, readied and only then moved into
 * place, all or none, so that a consumer never sees a failed run's output or half of a file.
 */
#include <errno.h>
#include <stdio.h>

#include "commit.h"
#include "manager.h"

/* The output whose place (directory) was moved or removed since the run was staged; NULL. */
const char *outputs_lost_place(Instance *i) {
        Task *task = i->task;
        Run *run = i->run;

        for (size_t k = 0; run->staged && k < task->n_outputs; k++) {
                Target *t = task->outputs[k];

                if (t->kind->stage_lost &&
                    t->kind->stage_lost(t, run->staged[k], run->marks ? run->marks[k] : NULL))
                        return t->name;
        }
        return NULL;
}

/* Whether output k of i's run is there to be committed: 1 yes, 2 it is in place already (a
 * daemon killed halfway through committing, last time), else why not, in *ret_reason. */
static int output_ready(Instance *i, size_t k, char **ret_reason, bool *ret_lost) {
        Target *t = i->task->outputs[k];
        Run *run = i->run;
        int r;

        if (!t->kind->commit)
                r = t->kind->check(t, run->outputs[k]);
        else {
                r = t->kind->written ? t->kind->written(t, run->staged[k]) : 1;
                /* Only then: otherwise a run that wrote nothing would pass for one that did,
                 * wherever an older output is there (run --force, "newer"). */
                if (r == 0 && run->adopted && t->kind->check(t, run->outputs[k]) > 0)
                        return 2;
        }
        if (r > 0)
                return 1;
        if (r == 0 && t->kind->stage_lost &&
            t->kind->stage_lost(t, run->staged[k], run->marks ? run->marks[k] : NULL)) {
                *ret_lost = true;
                return asprintf(ret_reason, "the directory of output '%s' was moved or removed "
                                "while it ran", t->name) < 0 ? -ENOMEM : -ENOENT;
        }
        if (r == 0)
                return asprintf(ret_reason, "exited 0 but did not write output '%s'",
                                t->name) < 0 ? -ENOMEM : -ENOENT;
        errno = -r;
        return asprintf(ret_reason, "cannot read output '%s': %m", t->name) < 0 ? -ENOMEM : r;
}

/* Moves every staged output into place, once all of them are there: a run that misses one
 * commits none, so nothing downstream starts on a failed run. The reason on failure, and with
 * *ret_lost set when an output's directory was moved or removed while the run wrote in it. */
int outputs_commit(Instance *i, char **ret_reason, bool *ret_lost) {
        Task *task = i->task;
        Run *run = i->run;
        _cleanup_free_ int *ready = calloc(task->n_outputs ?: 1, sizeof(int));

        if (!ready)
                return -ENOMEM;
        for (size_t k = 0; k < task->n_outputs; k++) {
                /* Confirmed already (confirm.c): a server holds it. */
                if (task->outputs[k]->kind->confirm)
                        continue;
                ready[k] = output_ready(i, k, ret_reason, ret_lost);
                if (ready[k] < 0)
                        return ready[k];
        }
        /* A rename that would fail for a later output must not leave an earlier one moved. */
        for (size_t k = 0; k < task->n_outputs; k++) {
                Target *t = task->outputs[k];
                int r;

                if (ready[k] != 1 || !t->kind->placeable)
                        continue;
                r = t->kind->placeable(t, run->outputs[k]);
                if (r < 0) {
                        errno = -r;
                        return asprintf(ret_reason, "cannot move output '%s' into place: %m",
                                        t->name) < 0 ? -ENOMEM : r;
                }
        }
        for (size_t k = 0; k < task->n_outputs; k++) {
                Target *t = task->outputs[k];
                int r;

                if (ready[k] != 1 || !t->kind->commit)
                        continue;
                r = t->kind->commit(t, run->staged[k], run->outputs[k]);
                if (r < 0) {
                        errno = -r;
                        return asprintf(ret_reason, "cannot move output '%s' into place: %m",
                                        t->name) < 0 ? -ENOMEM : r;
                }
        }
        return 0;
}
