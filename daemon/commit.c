/* SPDX-License-Identifier: MIT */
/*
 * The end of a successful run: its staged outputs checked, readied and only then moved into
 * place, all or none, so that a consumer never sees a failed run's output or half of a file.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit.h"
#include "log.h"
#include "manager.h"
#include "util/fs-util.h"

/*
 * A task under user= gets its staged files made with its user's credentials: its own, mode
 * 0640 (its group may read, nobody else), to chmod as it likes, and what it gives them is what
 * the outputs have in place.
 *
 * A dynamic_user task's user is allocated when its unit starts, too late to make a file its
 * own; it could not even be named in an ACL. Its staged files are root's, group
 * SLUICE_STAGE_GROUP, mode 0660, and its unit joins that group (SupplementaryGroups=): no
 * other local user can read or write them, only other dynamic_user runs of sluice, which their
 * sandbox (ProtectSystem=strict) keeps out of every output directory but their own. They are
 * 0640 in place. A name that others cannot guess would not do: the task's command line, where
 * the staged name is, is in /proc for anyone to read. Without the group, such runs cannot
 * start, rather than have their outputs writable by anyone.
 */
/* How long a task's user, as resolved, is taken for: a user given a group starts its runs with
 * it this much later at most. */
#define USER_CACHE_USEC (60 * USEC_PER_SEC)

static int resolve_stage_as(Task *task, Run *run) {
        if (task->dynamic_user) {
                struct group *gr;

                errno = 0;
                gr = getgrnam(SLUICE_STAGE_GROUP);
                if (!gr)
                        return errno > 0 ? -errno : -ESRCH;
                run->stage_as = (StageAs){ .group = gr->gr_gid, .mode = 0660, .tighten = true };
        } else if (task->user) {
                usec_t now = now_usec(CLOCK_MONOTONIC);
                FsIdentity *c = task->user_cache;

                if (!c || now >= task->user_cache_usec + USER_CACHE_USEC) {
                        FsIdentity fresh;
                        int r = fs_identity_resolve(task->user, task->group, &fresh);
                        if (r < 0)
                                return r;
                        if (!c && !(c = task->user_cache = calloc(1, sizeof(FsIdentity)))) {
                                fs_identity_done(&fresh);
                                return -ENOMEM;
                        }
                        fs_identity_done(c);
                        *c = fresh;
                        task->user_cache_usec = now;
                }
                run->stage_user = *c;
                run->stage_user.groups = NULL;
                if (c->n_groups > 0) {
                        run->stage_user.groups = malloc(c->n_groups * sizeof(gid_t));
                        if (!run->stage_user.groups)
                                return -ENOMEM;
                        memcpy(run->stage_user.groups, c->groups, c->n_groups * sizeof(gid_t));
                }
                run->stage_as = (StageAs){ .user = &run->stage_user, .group = (gid_t) -1,
                                           .mode = 0640 };
        } else
                return 0;
        return 1;
}

int run_stage_as(Instance *i, const StageAs **ret) {
        Run *run = i->run;

        if (!run->stage_as_known) {
                int r = resolve_stage_as(i->task, run);
                if (r < 0)
                        return r;
                run->stage_as_set = r > 0;
                run->stage_as_known = true;
        }
        *ret = run->stage_as_set ? &run->stage_as : NULL;
        return 0;
}

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

/* A file's change time is stamped from a coarse clock, up to a tick (10 ms at HZ=100) behind. */
#define CHANGE_TIME_SLACK (10 * USEC_PER_MSEC)

/*
 * Output k was not written where the task was told to (its staged name), but its final place
 * changed while the run was on: the task wrote there itself, ignoring ${output}. Not taken (a
 * file the daemon did not see finished could be half of one, and a consumer may have read it
 * already), but said so, rather than "did not write" of a file plainly there.
 */
static bool wrote_final_itself(Instance *i, size_t k) {
        Target *t = i->task->outputs[k];
        usec_t changed;

        return t->kind->changed && i->run->start_realtime > 0 &&
               t->kind->changed(t, i->run->outputs[k], &changed) >= 0 &&
               changed + CHANGE_TIME_SLACK >= i->run->start_realtime;
}

/* What a failed run wrote in place itself is not left where it counts as the output: the next
 * scan, or a reader's arrival, would take it for a whole one. Moved to a hidden name beside it,
 * which no target reads, for whoever wants to see it; the name, or NULL when it stays. */
static char *move_aside(Instance *i, size_t k, const StageAs *as) {
        _cleanup_(fs_identity_leavep) FsIdentitySaved saved = {};
        _cleanup_free_ char *dir = NULL, *base = NULL;
        char *aside = NULL;

        /* As the task's user, as every other step at its outputs: the directory is the user's
         * to change, links included. A name too long for the prefix is cut, as staging does. */
        if (i->task->outputs[k]->kind->id != TARGET_KIND_PATH ||
            path_split(i->run->outputs[k], &dir, &base) < 0 ||
            asprintf(&aside, "%s/.sluice-rejected-%s-%.200s", dir, i->run->id_str, base) < 0)
                return NULL;
        if (as && as->user && fs_identity_enter(as->user, &saved) < 0)
                return mfree(aside);
        if (rename(i->run->outputs[k], aside) < 0) {
                log_warning_errno(errno, "Cannot move '%s', which a failed run of %s wrote in "
                                  "place, out of the way: %m", i->run->outputs[k], i->unit);
                return mfree(aside);
        }
        return aside;
}

/* Whether output k of i's run is there to be committed: 1 yes, 2 it is in place already (a
 * daemon killed halfway through committing, last time), else why not, in *ret_reason. */
static int output_ready(Instance *i, size_t k, const StageAs *as, char **ret_reason,
                        bool *ret_lost) {
        Target *t = i->task->outputs[k];
        Run *run = i->run;
        int r;

        if (!t->kind->commit)
                r = t->kind->check(t, run->outputs[k]);
        else {
                r = t->kind->written ? t->kind->written(t, run->staged[k], as) : 1;
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
        if (r == 0 && wrote_final_itself(i, k)) {
                _cleanup_free_ char *ref = NULL, *aside = NULL;

                if (i->task->n_outputs == 1)
                        ref = strdup("${output}");
                else if (asprintf(&ref, "${output.%s}", t->name) < 0)
                        ref = NULL;
                if (!ref)
                        return -ENOMEM;
                aside = move_aside(i, k, as);
                return asprintf(ret_reason, "exited 0 but did not write output '%s' to %s (its "
                                "staged name); it wrote '%s' itself, which is not taken%s%s%s: "
                                "write to %s", t->name, ref, run->outputs[k],
                                aside ? " (moved to '" : "", strempty(aside), aside ? "')" : "",
                                ref) < 0
                                ? -ENOMEM : -ENOENT;
        }
        if (r == 0)
                return asprintf(ret_reason, "exited 0 but did not write output '%s'",
                                t->name) < 0 ? -ENOMEM : -ENOENT;
        if (r == -EISDIR)
                /* mkdir "${output}": the run fails, and its directory goes (discard()). */
                return asprintf(ret_reason, "output '%s' is a directory: a path target is one "
                                "file (write a file, or an archive of the directory)",
                                t->name) < 0 ? -ENOMEM : r;
        if (r == -EBADFD)
                return asprintf(ret_reason, "output '%s' is not a regular file (a FIFO, a socket "
                                "or a device): a path target is one file", t->name) < 0
                                ? -ENOMEM : r;
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
        const StageAs *as;
        int r;

        if (!ready)
                return -ENOMEM;
        r = run_stage_as(i, &as);
        if (r < 0) {
                errno = -r;
                return asprintf(ret_reason, "cannot resolve the user '%s' to move its outputs "
                                "into place as: %m", task->user ?: SLUICE_STAGE_GROUP) < 0
                                ? -ENOMEM : r;
        }
        for (size_t k = 0; k < task->n_outputs; k++) {
                /* Confirmed already (confirm.c): a server holds it. */
                if (task->outputs[k]->kind->confirm)
                        continue;
                ready[k] = output_ready(i, k, as, ret_reason, ret_lost);
                if (ready[k] < 0)
                        return ready[k];
        }
        /* A rename that would fail for a later output must not leave an earlier one moved. */
        for (size_t k = 0; k < task->n_outputs; k++) {
                Target *t = task->outputs[k];

                if (ready[k] != 1 || !t->kind->placeable)
                        continue;
                r = t->kind->placeable(t, run->outputs[k], as);
                if (r < 0) {
                        errno = -r;
                        return asprintf(ret_reason, "cannot move output '%s' into place: %m",
                                        t->name) < 0 ? -ENOMEM : r;
                }
        }
        for (size_t k = 0; k < task->n_outputs; k++) {
                Target *t = task->outputs[k];

                if (ready[k] != 1 || !t->kind->commit)
                        continue;
                r = t->kind->commit(t, run->staged[k], run->outputs[k], as);
                if (r < 0) {
                        errno = -r;
                        return asprintf(ret_reason, "cannot move output '%s' into place: %m",
                                        t->name) < 0 ? -ENOMEM : r;
                }
        }
        return 0;
}

void outputs_leftovers(Instance *i) {
        _cleanup_free_ char *who = NULL;
        Task *task = i->task;
        Run *run = i->run;
        const StageAs *as;

        /* Not as root where the task's user is unknown now, as executor_discard_staged(). */
        if (!run->staged || run_stage_as(i, &as) < 0 ||
            asprintf(&who, "%s/%s", task->pipeline->name, task->name) < 0)
                return;
        for (size_t k = 0; k < task->n_outputs && run->staged[k]; k++) {
                Target *t = task->outputs[k];

                if (t->kind->leftovers)
                        t->kind->leftovers(t, &i->manager->host, run->staged[k], run->id_str,
                                           as, who);
        }
}
