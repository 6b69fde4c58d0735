/* SPDX-License-Identifier: MIT */
/*
 * A path target's outputs, from staging to their place (TargetKind.stage to .commit). A run
 * writes each output under a staged name in the output's own directory, ".sluice-<run id>-"
 * and the base name, which no path target takes for an arrival (local_name_ignored()); once the
 * run succeeded, the daemon renames it into place, which readers see whole, or discards it.
 * Apart from local.c because none of this decides what a target holds: only what the daemon
 * writes there. For a task under another user every step is taken with that user's file
 * system credentials (StageAs), so that a run never gets the daemon to write where its user
 * could not.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local.h"
#include "log.h"
#include "util/fs-util.h"
#include "util/rm-rf.h"

/*
 * A run under another user may not be allowed to create files in an output's directory: the
 * daemon makes the staged file for it, as as says (target.h), with its modification time at
 * the epoch. Any write, even truncating it to nothing, moves the time; a file still at the
 * epoch was never written. Made with the task user's credentials, it is that user's (its
 * group's, or the directory's under set-group-ID), and nobody else can write it.
 */
static int precreate(const char *tmp, const StageAs *as) {
        _cleanup_close_ int fd = -EBADF;
        struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { 0, 0 } };
        struct stat st;

        /* Made new; or, for a run staged again after a reset, its own file found again, and only
         * then emptied: a file there already must be one that whoever made it for the run made,
         * not a link put there to one that truncating would harm. */
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0 && errno == EEXIST)
                fd = open(tmp, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_nlink != 1 ||
            st.st_uid != (as->user ? as->user->uid : geteuid()))
                return -EEXIST;
        if (st.st_size > 0 && ftruncate(fd, 0) < 0)
                return -errno;
        if (as->group != (gid_t) -1 && fchown(fd, (uid_t) -1, as->group) < 0)
                return -errno;
        if (fchmod(fd, as->mode) < 0 || futimens(fd, ts) < 0)
                return -errno;
        return 0;
}

/* With the task user's file system credentials, while it lasts (StageAs). */
static int act_as(const StageAs *as, FsIdentitySaved *ret) {
        *ret = (FsIdentitySaved){};
        return as && as->user ? fs_identity_enter(as->user, ret) : 0;
}

int local_stage(Target *t, const char *location, const char *run_id, const StageAs *as,
                char **ret_tmp) {
        _cleanup_(fs_identity_leavep) FsIdentitySaved saved = {};
        _cleanup_free_ char *dir = NULL, *base = NULL, *tmp = NULL;
        size_t room;
        int r;

        r = path_split(location, &dir, &base);
        if (r < 0)
                return r;
        /* It could never be moved into place: fail now, not once the task has run. */
        if (strlen(base) > NAME_MAX)
                return -ENAMETOOLONG;
        /* NAME_MAX is 255: keep the prefix and run id whole, cut the base name. */
        room = 255 - strlen(LOCAL_TMP_PREFIX) - strlen(run_id) - 1;
        if (asprintf(&tmp, "%s/" LOCAL_TMP_PREFIX "%s-%.*s", streq(dir, "/") ? "" : dir,
                     run_id, (int) MIN(room, strlen(base)), base) < 0)
                return -ENOMEM;
        r = act_as(as, &saved);
        if (r < 0)
                return r;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        if (as) {
                r = precreate(tmp, as);
                if (r < 0)
                        return r;
        }
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

/* The staged file open, if the run wrote it. */
static int open_written(const char *tmp, struct stat *st) {
        _cleanup_close_ int fd = -EBADF;

        /* Without blocking: a task that made its output a FIFO would hold the loop in open()
         * until someone wrote to it. */
        fd = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, st) < 0)
                return -errno;
        if (S_ISDIR(st->st_mode))
                return -EISDIR;
        if (!S_ISREG(st->st_mode))
                return -EBADFD;
        /* Made for a run under another user, and never written (see precreate()). */
        if (st->st_mtim.tv_sec == 0 && st->st_mtim.tv_nsec == 0 && st->st_size == 0)
                return -ENOENT;
        return TAKE_FD(fd);
}

/* Everything that can fail but the rename: a run whose later output fails here has moved
 * none into place yet. */
int local_written(Target *t, const char *tmp, const StageAs *as) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = open_written(tmp, &st);
        if (fd < 0)
                return fd == -ENOENT ? 0 : fd;
        /* A file of the task user's own keeps the mode the task gave it. One of the daemon's
         * that the run could not chmod loses the write permission it was given for the run;
         * and, as ever, a file the task made world-writable under the daemon's user loses it. */
        if (!(as && as->user) || st.st_uid != as->user->uid) {
                /* (Not the task user's: staged 0666 by a daemon of the version before.) */
                mode_t loose = as && as->tighten ? 0022 : 0002;

                if ((st.st_mode & loose) && fchmod(fd, st.st_mode & 0755) < 0)
                        return -errno;
        }
        if (fsync(fd) < 0)
                return -errno;
        return 1;
}

int local_placeable(Target *t, const char *location, const StageAs *as) {
        _cleanup_(fs_identity_leavep) FsIdentitySaved saved = {};
        _cleanup_free_ char *dir = NULL;
        struct stat st;
        int r;

        if (path_split(location, &dir, NULL) < 0)
                return -ENOMEM;
        r = act_as(as, &saved);
        if (r < 0)
                return r;
        if (lstat(location, &st) == 0 && S_ISDIR(st.st_mode))
                return -EISDIR;
        /* The effective ids, as rename() will use (the file system ones: the task user's
         * under as): EACCES, or EROFS for a read-only mount. */
        if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0)
                return -errno;
        return 0;
}

/* After local_written() and local_placeable(). With the task user's credentials: a directory
 * of the path swapped for a link since the run was staged leads nowhere that user could not
 * write. */
int local_commit(Target *t, const char *tmp, const char *location, const StageAs *as) {
        _cleanup_(fs_identity_leavep) FsIdentitySaved saved = {};
        int r;

        r = act_as(as, &saved);
        if (r < 0)
                return r;
        if (rename(tmp, location) < 0)
                return -errno;
        fs_identity_leave(&saved);
        (void) local_seen_note(LOCAL(t), location);
        return fsync_directory_of(location);
}

/*
 * A staged output the task made a directory of (mkdir "${output}", as tools that write a
 * report directory do) goes whole, or every failed attempt would leave one behind, hidden.
 * Only under a name of the daemon's own making, never through a link (rm_rf_at()), and with
 * the task user's credentials: nothing goes that that user could not remove itself.
 */
static void discard_directory(const char *tmp) {
        _cleanup_free_ char *dir = NULL, *base = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (path_split(tmp, &dir, &base) < 0 ||
            !strneq(base, LOCAL_TMP_PREFIX, strlen(LOCAL_TMP_PREFIX)))
                return;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        r = rm_rf_at(fd, base);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Cannot remove all of '%s', a directory a run made of its "
                                     "staged output: %m", tmp);
}

void local_discard(Target *t, const char *tmp, const StageAs *as) {
        _cleanup_(fs_identity_leavep) FsIdentitySaved saved = {};

        if (act_as(as, &saved) < 0 || unlink(tmp) >= 0)
                return;
        if (errno == EISDIR)
                return discard_directory(tmp);
        if (errno != ENOENT && errno != ENOTDIR)
                return;
        fs_identity_leave(&saved);
        /* Out of reach on a mount that went away under the run: removed once it is back. */
        if (t->host && local_mount_away(t, tmp))
                local_leftovers_discard(t->host, tmp, as);
}

/* The directory tmp is in: device, inode and birth time, since an inode number freed by an
 * `rm -r` may be given to the directory made again there. */
static int dir_identity(const char *tmp, char **ret) {
        _cleanup_free_ char *dir = NULL;
        struct statx sx;

        if (path_split(tmp, &dir, NULL) < 0)
                return -ENOMEM;
        if (statx(AT_FDCWD, dir, 0, STATX_INO | STATX_BTIME, &sx) < 0)
                return -errno;
        if (!(sx.stx_mask & STATX_BTIME))
                sx.stx_btime = (struct statx_timestamp){};
        return asprintf(ret, "%u:%u:%llu:%lld.%09u", sx.stx_dev_major, sx.stx_dev_minor,
                        (unsigned long long) sx.stx_ino, (long long) sx.stx_btime.tv_sec,
                        sx.stx_btime.tv_nsec) < 0 ? -ENOMEM : 0;
}

char *local_stage_mark(Target *t, const char *tmp) {
        char *mark = NULL;

        return dir_identity(tmp, &mark) < 0 ? strdup("") : mark;
}

/* The directory the run was writing in is gone (renamed away, or removed), or is another one
 * (made again since, by a sibling's run staged after the move). */
bool local_stage_lost(Target *t, const char *tmp, const char *mark) {
        _cleanup_free_ char *now = NULL;
        int r = dir_identity(tmp, &now);

        if (r == -ENOENT || r == -ENOTDIR)
                return true;
        return r >= 0 && mark && mark[0] && !streq(mark, now);
}
