/* SPDX-License-Identifier: MIT */
/*
 * What a run left beside its staged outputs. A task told to write ${output} (the staged name,
 * ".sluice-<run id>-c.bam") often writes files named after it too: an index ("${output}.bai"),
 * a temporary it renames. Only the declared outputs are moved into place; the rest, hidden by
 * their dot, would stay in the output's directory for ever, one set per run. Each ended run's
 * staged names start with a prefix of its own, so whatever carries that prefix and is none of
 * its declared outputs is the run's leftover, and goes, with a notice once per task saying to
 * declare it as an output to keep it.
 *
 * No system call finds the names with a given prefix short of reading the whole directory, and
 * an output directory can hold many thousands of files, each written by a run of its own:
 * read once per run that ends, that is quadratic. So the ended runs are gathered per directory
 * and each directory is read once per sweep, whatever the number of runs that ended in it, a
 * second after the first of them (more, if the last sweep took long: at most about 1% of the
 * loop's time goes here). What was left in the meantime is not read by anything: its names
 * are ignored by every path target (local_name_ignored()). A stop sweeps what is pending.
 *
 * A directory on a network file system that is away (unmounted under a run, local-mount.c)
 * cannot be read: it is swept once its mount is back. So are the staged outputs of a run that
 * failed meanwhile, which discard() could not reach: the run is made again under another id,
 * and they would stay, hidden, for ever.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "local.h"
#include "log.h"
#include "util/escape.h"
#include "util/fs-util.h"
#include "util/rm-rf.h"
#include "util/strv.h"

/* ".sluice-" + the run id's 32 hex digits + "-" (local_stage()) */
#define RUN_PREFIX_LEN (sizeof(LOCAL_TMP_PREFIX) - 1 + 32 + 1)
#define LEFTOVERS_DELAY USEC_PER_SEC
/* The next sweep waits this many times as long as the last one took, so that reading huge
 * directories takes at most about 1% of the loop's time. */
#define LEFTOVERS_COST_FACTOR 100

typedef struct LeftoverRun {
        char prefix[RUN_PREFIX_LEN + 1];        /* key */
        char **staged;          /* base names of its declared outputs in the directory */
        char **discard;         /* those of them it failed to write, out of reach: they go */
        FsIdentity user;        /* whose credentials remove them (StageAs.user) */
        bool as_user;
        char *who;              /* its task, "pipeline/task", for the notice; NULL: not told
                                 * of the run's end, which leaves only discard to remove */
        UT_hash_handle hh;
} LeftoverRun;

typedef struct LeftoverDir {
        char *path;             /* key */
        LeftoverRun *runs;
        UT_hash_handle hh;
} LeftoverDir;

typedef struct Leftovers {
        TargetHost *host;
        sd_event_source *timer;
        LeftoverDir *dirs;
        char **told;            /* tasks whose notice was logged */
        char **warned;          /* tasks a leftover of which could not be removed, said so */
        usec_t cost;            /* how long the last sweep took */
} Leftovers;

static void leftover_run_free(LeftoverRun *r) {
        strv_free(r->staged);
        strv_free(r->discard);
        fs_identity_done(&r->user);
        free(r->who);
        free(r);
}

static void dir_free(Leftovers *l, LeftoverDir *d) {
        LeftoverRun *r, *tmp;

        HASH_ITER(hh, d->runs, r, tmp) {
                HASH_DEL(d->runs, r);
                leftover_run_free(r);
        }
        HASH_DEL(l->dirs, d);
        free(d->path);
        free(d);
}

/* The leftover name, removed from dir: said once per task. */
static void tell(Leftovers *l, const LeftoverRun *r, const char *dir, const char *name) {
        _cleanup_free_ char *n = NULL, *as = NULL;

        if (strv_contains(l->told, r->who))
                return;
        (void) strv_extend(&l->told, r->who);
        n = cescape(name);
        as = cescape(name + RUN_PREFIX_LEN);
        log_notice("Removed '%s/%s': a run of %s wrote it beside its staged output, and no "
                   "output of the task declares it; to keep it, declare it as an output (in "
                   "place, its name would be '%s'). Told once per task",
                   dir, strna(n), r->who, strna(as));
}

/* told: a leftover, said once per task; else a staged output of the run's own. */
static void remove_leftover(Leftovers *l, int fd, const char *dir, const LeftoverRun *r,
                            const char *name, bool told) {
        _cleanup_(fs_identity_leavep) FsIdentitySaved saved = {};
        int q;

        /* With the task user's credentials, as its outputs were staged and moved. */
        q = r->as_user ? fs_identity_enter(&r->user, &saved) : 0;
        if (q >= 0)
                q = rm_rf_at(fd, name);
        fs_identity_leave(&saved);
        if (q < 0 && q != -ENOENT && !strv_contains(l->warned, strempty(r->who))) {
                _cleanup_free_ char *n = cescape(name);

                /* Once per task: a burst of runs would each say the same. */
                (void) strv_extend(&l->warned, strempty(r->who));
                log_warning_errno(q, "Cannot remove '%s/%s', which a run of %s left %s: %m (said "
                                     "once per task)", dir, strna(n), r->who ?: "a task",
                                  told ? "beside its staged output"
                                       : "unfinished while its mount was away");
                return;
        }
        if (q >= 0 && told)
                tell(l, r, dir, name);
}

/* false: d waits for its mount to be back (keep_away). */
static bool sweep_dir(Leftovers *l, LeftoverDir *d, bool keep_away) {
        _cleanup_(closedirp) DIR *dir = NULL;
        struct dirent *de;
        int fd;

        /* Asked before the directory is opened, not when it cannot be: the mount point itself
         * (an output template right at the mount's root) is there, bare and empty, while its
         * mount is away, or covered by another file system; read then, it would drop what is
         * to go from the mount once it is back. */
        if (keep_away && local_watch_away(l->host, d->path))
                return false;
        fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return true;    /* gone with all it held, or not ours to read */
        dir = fdopendir(fd);
        if (!dir) {
                (void) close(fd);
                return true;
        }
        while ((de = readdir(dir))) {
                char prefix[RUN_PREFIX_LEN + 1];
                LeftoverRun *r;

                if (!strneq(de->d_name, LOCAL_TMP_PREFIX, strlen(LOCAL_TMP_PREFIX)) ||
                    strlen(de->d_name) <= RUN_PREFIX_LEN)
                        continue;
                memcpy(prefix, de->d_name, RUN_PREFIX_LEN);
                prefix[RUN_PREFIX_LEN] = 0;
                HASH_FIND_STR(d->runs, prefix, r);
                if (r && strv_contains(r->discard, de->d_name))
                        remove_leftover(l, dirfd(dir), d->path, r, de->d_name, false);
                else if (r && r->who && !strv_contains(r->staged, de->d_name))
                        remove_leftover(l, dirfd(dir), d->path, r, de->d_name, true);
        }
        return true;
}

/* keep_away: a directory whose mount is away stays, for its sweep once it is back. */
static void sweep(Leftovers *l, bool keep_away) {
        usec_t start = now_usec(CLOCK_MONOTONIC);
        LeftoverDir *d, *tmp;

        HASH_ITER(hh, l->dirs, d, tmp)
                if (sweep_dir(l, d, keep_away))
                        dir_free(l, d);
        l->cost = now_usec(CLOCK_MONOTONIC) - start;
}

static int on_sweep(sd_event_source *s, uint64_t usec, void *userdata) {
        Leftovers *l = userdata;

        l->timer = sd_event_source_disable_unref(l->timer);
        sweep(l, true);
        return 0;
}

static int leftovers_get(TargetHost *h, Leftovers **ret) {
        Leftovers *l = h->local_leftovers;

        if (!l) {
                l = h->local_leftovers = calloc(1, sizeof(Leftovers));
                if (!l)
                        return -ENOMEM;
                l->host = h;
        }
        if (!l->timer) {
                int r = sd_event_add_time_relative(h->event, &l->timer, CLOCK_MONOTONIC,
                                                   MAX(LEFTOVERS_DELAY,
                                                       l->cost * LEFTOVERS_COST_FACTOR),
                                                   USEC_PER_SEC / 10, on_sweep, l);
                if (r < 0)
                        return r;
        }
        *ret = l;
        return 0;
}

static int identity_copy(const FsIdentity *from, FsIdentity *to) {
        *to = *from;
        to->groups = NULL;
        if (from->n_groups == 0)
                return 0;
        to->groups = malloc(from->n_groups * sizeof(gid_t));
        if (!to->groups)
                return -ENOMEM;
        memcpy(to->groups, from->groups, from->n_groups * sizeof(gid_t));
        return 0;
}

/* The run whose staged name (local_stage()) base is, in dir, made if new (with as). */
static int run_of(TargetHost *h, const char *dir, const char *base, const StageAs *as,
                  LeftoverRun **ret) {
        LeftoverDir *d;
        LeftoverRun *r;
        Leftovers *l;
        int q;

        q = leftovers_get(h, &l);
        if (q < 0)
                return q;
        HASH_FIND_STR(l->dirs, dir, d);
        if (!d) {
                d = calloc(1, sizeof(LeftoverDir));
                if (!d || !(d->path = strdup(dir))) {
                        free(d);
                        return -ENOMEM;
                }
                HASH_ADD_KEYPTR(hh, l->dirs, d->path, strlen(d->path), d);
        }
        HASH_FIND(hh, d->runs, base, RUN_PREFIX_LEN, r);
        if (!r) {
                r = calloc(1, sizeof(LeftoverRun));
                if (!r)
                        return -ENOMEM;
                memcpy(r->prefix, base, RUN_PREFIX_LEN);
                r->as_user = as && as->user;
                if (r->as_user && identity_copy(as->user, &r->user) < 0) {
                        leftover_run_free(r);
                        return -ENOMEM;
                }
                HASH_ADD_STR(d->runs, prefix, r);
        }
        *ret = r;
        return 0;
}

static int note(TargetHost *h, const char *tmp, const char *run_id, const StageAs *as,
                const char *who) {
        _cleanup_free_ char *dir = NULL, *base = NULL;
        char prefix[RUN_PREFIX_LEN + 1];
        LeftoverRun *r;
        int q;

        q = path_split(tmp, &dir, &base);
        if (q < 0)
                return q;
        /* The run's own staged name (local_stage()), or nothing to look for: a name of another
         * run's is never taken for this one's. */
        if (strlen(run_id) != 32 ||
            snprintf(prefix, sizeof(prefix), LOCAL_TMP_PREFIX "%s-", run_id) != RUN_PREFIX_LEN ||
            !strneq(base, prefix, RUN_PREFIX_LEN))
                return 0;
        q = run_of(h, dir, base, as, &r);
        if (q < 0)
                return q;
        if (!r->who && !(r->who = strdup(who)))
                return -ENOMEM;
        return strv_extend(&r->staged, base);
}

void local_leftovers_discard(TargetHost *h, const char *tmp, const StageAs *as) {
        _cleanup_free_ char *dir = NULL, *base = NULL;
        LeftoverRun *r;
        int q;

        q = path_split(tmp, &dir, &base);
        /* Only a name of the daemon's own making (local_stage()). */
        if (q >= 0 && (!strneq(base, LOCAL_TMP_PREFIX, strlen(LOCAL_TMP_PREFIX)) ||
                       strlen(base) <= RUN_PREFIX_LEN || base[RUN_PREFIX_LEN - 1] != '-'))
                return;
        if (q >= 0)
                q = run_of(h, dir, base, as, &r);
        if (q >= 0)
                q = strv_extend(&r->discard, base);
        if (q < 0)
                log_debug_errno(q, "Cannot note '%s' to remove once its mount is back: %m", tmp);
}

void local_leftovers(Target *t, TargetHost *h, const char *tmp, const char *run_id,
                     const StageAs *as, const char *who) {
        int r = note(h, tmp, run_id, as, who);

        if (r < 0)
                log_debug_errno(r, "Cannot note what the run of '%s' may have left: %m", tmp);
}

void local_leftovers_back(TargetHost *h) {
        Leftovers *l = h->local_leftovers;

        if (l && l->dirs && leftovers_get(h, &l) < 0)
                log_debug("Cannot arm the sweep of what runs left on a mount that is back");
}

void local_leftovers_free(TargetHost *h) {
        Leftovers *l = h->local_leftovers;

        if (!l)
                return;
        /* Removed now rather than never: nothing remembers them past the stop. */
        sweep(l, false);
        sd_event_source_disable_unref(l->timer);
        strv_free(l->told);
        strv_free(l->warned);
        free(l);
        h->local_leftovers = NULL;
}
