/* SPDX-License-Identifier: MIT */
/*
 * Whether a file of a path target counts as arrived under the target's policy
 * (local_complete()): the core asks before it acts on any hint (TargetKind.check), and a scan
 * asks of every file it finds. Under "moved" a file written in place does not count
 * (local-inplace.c); under "quiet:" its mtime must be older than the period; under "flag:" the
 * flag must be in its directory; under "close", the default, a file created and not closed yet
 * counts as not there (local_watch_writing()).
 *
 * What no event says is the hard part under "close": whether a file a scan finds, changed a
 * moment ago, or one an arrival elsewhere makes the daemon look at, is still being written.
 * The kernel knows when a read lease can be taken (local_open_for_write()); where it cannot
 * tell, the file waits to be left unchanged a while. During a scan the directory listings
 * (local-listing.c) stand in for a stat where the policy needs no mtime.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local.h"
#include "util/fs-util.h"

/* During a scan: 1 a regular file, 0 not there, <0 cannot tell without a stat. */
static int listed_regular(TargetHost *h, const char *path) {
        unsigned char type;
        int r;

        r = local_listing_find(h, path, &type);
        if (r <= 0)
                return r;
        if (type == DT_REG)
                return 1;
        return type == DT_LNK || type == DT_UNKNOWN ? -EAGAIN : 0;
}

/* A scan of a watched input under "close" cannot see whether a file that changed a moment ago
 * is still being written (its writer may have been at it as the daemon started, or while
 * events were lost): that one waits for its close, or for LOCAL_SCAN_SETTLE unchanged. The
 * scans that stand in for watches wait on their own (local_settle()); the daemon's outputs are
 * put in place whole. */
static bool watched_close_input(const LocalTarget *lt) {
        return lt->policy == LOCAL_CLOSE && !lt->poll && !lt->target.producer;
}

/* Changed a moment ago by someone whose close was not seen (local-closed.c), and after the
 * inotify queue was last read empty, so that its IN_CREATE may be there unread: on a watched
 * input, where a close would have been. The daemon's outputs are put in place whole. */
static bool unseen_recent(LocalTarget *lt, const char *path, const struct stat *st) {
        usec_t ctime = usec_of(&st->st_ctim), now = now_usec(CLOCK_REALTIME);

        return watched_close_input(lt) && now < ctime + LOCAL_UNSEEN_SPAN &&
               local_watch_drained(lt) <= ctime + LOCAL_CTIME_SLACK &&
               !local_closed_seen(lt, path);
}

/*
 * Whether anyone has path open for writing, as the kernel knows it: a read lease cannot be had
 * on a file open for writing (fcntl(2), F_SETLEASE). 1 yes, 0 no, <0 it cannot tell (neither
 * the file's owner nor CAP_LEASE, a file system without leases): the heuristics then. Held for
 * the moment between two calls; a writer opening the file meanwhile waits that long, and the
 * SIGIO of the lease's break is ignored (manager.c).
 */
int local_open_for_write(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

        if (fd < 0)
                return -errno;
        if (fcntl(fd, F_SETLEASE, F_RDLCK) < 0)
                return errno == EAGAIN ? 1 : -errno;
        (void) fcntl(fd, F_SETLEASE, F_UNLCK);
        return 0;
}

/* For a watched input under "close" that changed within scan_interval and whose close was not
 * seen: 1 whole, 0 still being written (its close, which the watch will see, makes it count),
 * <0 when the kernel cannot tell. Exact where the heuristics below guess: a file found in a
 * directory made a moment ago, or by a start-up scan, while its writer pauses; one created a
 * moment ago whose IN_CREATE is unread; an O_TMPFILE linked into place. */
static int whole_by_lease(LocalTarget *lt, const char *path, const struct stat *st) {
        TargetHost *h = lt->target.host;
        usec_t changed = MAX(mtime_of(st), usec_of(&st->st_ctim));
        int r;

        if (!h || !watched_close_input(lt) || now_usec(CLOCK_REALTIME) >= changed + h->scan_interval ||
            local_closed_seen(lt, path))
                return -EAGAIN;
        r = local_open_for_write(path);
        if (r > 0)
                local_watch_writing_pending(lt, path, changed, h->scan_interval);
        return r < 0 ? r : !r;
}

int local_complete(LocalTarget *lt, const char *path) {
        TargetHost *h = lt->target.host;
        struct stat st;
        int r;

        if (lt->policy == LOCAL_CLOSE && local_watch_writing(lt, path) > 0)
                return 0;
        if (lt->policy == LOCAL_MOVED && local_in_place(lt, path))
                return 0;
        /* The quiet policy needs the mtime, which only a stat gives. */
        if (h && h->scanning && lt->policy != LOCAL_QUIET) {
                r = listed_regular(h, path);

                if (r == 0)
                        return 0;
                if (r > 0 && lt->policy != LOCAL_FLAG && !watched_close_input(lt))
                        return 1;
                if (r > 0 && lt->policy == LOCAL_FLAG) {
                        _cleanup_free_ char *dir = NULL, *flag = NULL;
                        unsigned char type;

                        if (path_split(path, &dir, NULL) < 0 || path_join(dir, lt->flag, &flag) < 0)
                                return -ENOMEM;
                        r = local_listing_find(h, flag, &type);
                        if (r >= 0)
                                return r;
                }
        }
        r = h && h->scanning ? local_listing_stat(h, path, &st) : stat(path, &st) < 0 ? -errno : 0;
        /* A name too long for the file system names no file: not there, nothing to warn of. */
        if (r < 0)
                return r == -ENOENT || r == -ENOTDIR || r == -ENAMETOOLONG ? 0 : r;
        if (!S_ISREG(st.st_mode))
                return 0;
        switch (lt->policy) {
        case LOCAL_QUIET:
                return now_usec(CLOCK_REALTIME) >= mtime_of(&st) + lt->quiet;
        case LOCAL_FLAG: {
                _cleanup_free_ char *dir = NULL, *flag = NULL;

                if (path_split(path, &dir, NULL) < 0 || path_join(dir, lt->flag, &flag) < 0)
                        return -ENOMEM;
                return access(flag, F_OK) == 0;
        }
        default:
                r = whole_by_lease(lt, path, &st);
                if (r >= 0)
                        return r;
                if (h && h->scanning && watched_close_input(lt) &&
                    now_usec(CLOCK_REALTIME) < mtime_of(&st) + LOCAL_SCAN_SETTLE) {
                        local_watch_writing_pending(lt, path, mtime_of(&st), LOCAL_SCAN_SETTLE);
                        return 0;
                }
                /* Scanned, an input from outside is whole once left alone for the interval
                 * (local_settle()), whoever asks: the scheduler's last check too; unless a
                 * watch saw it closed or put in place a moment ago. (The daemon's own outputs
                 * are put in place whole.) */
                if (lt->poll && !lt->target.producer && !local_closed_seen(lt, path) &&
                    now_usec(CLOCK_REALTIME) < mtime_of(&st) + local_settle(lt))
                        return 0;
                if (h && !h->scanning && unseen_recent(lt, path, &st)) {
                        local_watch_writing_pending(lt, path, usec_of(&st.st_ctim),
                                                    LOCAL_UNSEEN_SPAN);
                        return 0;
                }
                return 1;
        }
}
