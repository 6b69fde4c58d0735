/* SPDX-License-Identifier: MIT */
/* The "path" target kind: what its files share */
#pragma once

#include <string.h>
#include <sys/stat.h>

#include "complete.h"
#include "target.h"
#include "util/fs-util.h"
#include "util/time-util.h"

#define LOCAL_TMP_PREFIX ".sluice-"
/* How long a file a scan finds, changed that recently, must be left alone to count without a
 * close (watched targets under "close"): a writer active at the scan changes it more often. */
#define LOCAL_SCAN_SETTLE (2 * USEC_PER_SEC)

/* When a file counts as having arrived (complete.h's, as a path target takes them). */
typedef enum LocalPolicy {
        LOCAL_CLOSE = COMPLETE_CLOSE,   /* closed after writing, or moved into place (default) */
        LOCAL_MOVED = COMPLETE_MOVED,   /* moved into place only: for producers that write a
                                         * temporary first */
        LOCAL_QUIET = COMPLETE_QUIET,   /* size and mtime unchanged for a quiet period: for
                                         * appenders */
        LOCAL_FLAG = COMPLETE_FLAG,     /* a sibling done-flag (Hadoop's _SUCCESS) exists in its
                                         * directory */
} LocalPolicy;

typedef struct SeenFile SeenFile;
typedef struct ClosedFile ClosedFile;
typedef struct InPlaceFile InPlaceFile;
typedef struct LocalMount LocalMount;

typedef struct LocalTarget {
        Target target;
        size_t root_level;      /* first component with a wildcard, or the last one */
        LocalPolicy policy;
        usec_t quiet;           /* LOCAL_QUIET */
        char *flag;             /* LOCAL_FLAG: the flag's file name */
        /* Scanned every scan_interval, besides what watches it has: out of inotify watches, or
         * on a file system where changes made elsewhere raise no inotify event. */
        sd_event_source *poll;
        bool watches_short;     /* out of watches: a reload tries them again */
        const char *network_fs; /* the name of that file system, or NULL */
        LocalMount *mounts;     /* the network file systems its directories are on */
        size_t n_mounts;
        usec_t polled;          /* CLOCK_REALTIME of the last of those scans */
        SeenFile *seen;         /* the files those scans found (local-poll.c) */
        bool seen_loaded;
        bool watch_failed;      /* a directory could not be watched (not for want of watches) */
        ClosedFile *closed;     /* closes seen a moment ago (local-closed.c) */
} LocalTarget;

static inline LocalTarget *LOCAL(Target *t) {
        return (LocalTarget *) t;
}

static inline size_t last_level(const LocalTarget *lt) {
        return lt->target.template->n_components - 1;
}

static inline usec_t usec_of(const struct timespec *ts) {
        return (usec_t) ts->tv_sec * USEC_PER_SEC + (usec_t) ts->tv_nsec / NSEC_PER_USEC;
}

static inline usec_t mtime_of(const struct stat *st) {
        return usec_of(&st->st_mtim);
}

/*
 * How long a file a scan finds must have been left unchanged before it counts: the quiet
 * period under "quiet:". And while the target is scanned instead of watched (out of inotify
 * watches), one scan_interval under "close" and "moved" too: no event says a writer closed it
 * or renamed it into place, and one still writing must not be taken half-written. A pause in
 * writing longer than that still looks like the end, as it does under "quiet:".
 */
static inline usec_t local_settle(const LocalTarget *lt) {
        if (lt->policy == LOCAL_QUIET)
                return lt->quiet;
        if (lt->poll && lt->policy != LOCAL_FLAG && lt->target.host)
                return lt->target.host->scan_interval;
        return 0;
}

/* "rel/name", or "name" when rel is NULL; NULL when out of memory. */
static inline char *local_join_rel(const char *rel, const char *name) {
        char *p = NULL;

        if (!rel)
                return strdup(name);
        (void) path_join(rel, name, &p);
        return p;
}

/* Whether a name is never taken for an arrival (temporaries, our own staging files). */
bool local_name_ignored(const LocalTarget *lt, const char *name);
/* The literal path of components [1, n): the directory whose entries match component n. */
char *local_components_path(const Template *t, size_t n);
/* local-scan.c: files at level `level` and below that match, each given to f. */
int local_scan_tree(LocalTarget *lt, size_t level, const char *dir, const Binding *partial,
                    target_scan_func f, void *userdata);
/* The files of one last-level directory (and below, for a path tail) that match. */
int local_scan_tail(LocalTarget *lt, const char *dir, const char *rel, const Binding *partial,
                    target_scan_func f, void *userdata);
/* local-complete.c: whether the file at path counts as arrived under the target's policy:
 * 1 yes, 0 not (yet), <0 -errno. */
int local_complete(LocalTarget *lt, const char *path);

/* local-poll.c: a scan of a target that could not be watched, compared with the one before;
 * what went is reported gone. The first only records. */
int local_seen_refresh(LocalTarget *lt);
/* An output the daemon put in place: known at once, so that its removal before the next scan is
 * seen by that scan. */
int local_seen_note(LocalTarget *lt, const char *path);
/* Reported gone by its event, where a directory of the target is watched: not twice. */
void local_seen_drop(LocalTarget *lt, const char *path);
void local_seen_forget(LocalTarget *lt);
int local_poll_status(Target *t, TargetStatus *ret);
/* Scanned because watches ran out, or a directory could not be watched: a reload tries again. */
bool local_reload_afresh(Target *t);

/* 1 when someone has path open for writing, 0 when not, <0 when the kernel cannot tell (a read
 * lease taken for an instant, local-complete.c). */
int local_open_for_write(const char *path);

/* local-inplace.c: under "moved", files created where they are, which do not count. Kept by
 * the watching (local_watch_in_place()), not by the target, so that a target a reload builds
 * anew still knows them. */
void local_in_place_note(LocalTarget *lt, const char *path, const struct stat *st);
bool local_in_place(LocalTarget *lt, const char *path);
void local_in_place_drop(LocalTarget *lt, const char *path);
void local_in_place_free(InPlaceFile **set);
/* Each of them still as noted, for TargetKind.foreach_held. */
int local_in_place_foreach(LocalTarget *lt, int (*f)(const char *path, void *userdata),
                           void *userdata);
/* local-watch.c: where that set is; NULL for a target not started. */
InPlaceFile **local_watch_in_place(LocalTarget *lt);

/* local-mount-table.c: /proc/self/mountinfo, read when first asked, for as long as the
 * caller holds it (one change of the table). Empty: {}. */
typedef struct MountEntry MountEntry;
typedef struct MountTable {
        bool read;
        MountEntry *entries;
        size_t n;
} MountTable;
void mount_table_done(MountTable *t);
/* What is mounted at point on dev, "TYPE SOURCE ROOT" as the table spells them; NULL: nothing
 * (or no table to read). Owned by the table. */
const char *mount_table_at(MountTable *t, const char *point, dev_t dev);
/* The same of the mount path lies on (links followed), which must be on dev, and where that is
 * mounted, in *ret_point. */
const char *mount_table_find(MountTable *t, const char *path, dev_t dev, const char **ret_point);
/* The table's (and the notes') \ooo escapes, undone in place. */
void mount_table_unescape(char *s);

/* local-mount.c: the name of dir's file system when it is a network one, where files written
 * from other machines raise no inotify event here; NULL for the others. */
const char *local_network_fs(const char *dir);
/* Notes the mount of that file system (fs) that dir, on dev, is on, once per mount; table: the
 * one read for this change of it, or NULL. */
void local_mount_note(LocalTarget *lt, const char *dir, const char *fs, dev_t dev,
                      MountTable *table);
/* Whether one of those mounts is away (unmounted, or covered by another), said once when it
 * goes: the target is held. *ret_back: one was mounted again since the last look, its
 * directories to be watched and the target scanned again. table: after a change of the mount
 * table, as read for it (a mount on the device it was on may be another one that took the
 * number an unmount freed); NULL: its device alone says (a scan, a start). */
bool local_mounts_away(LocalTarget *lt, MountTable *table, bool *ret_back);
/* At the start: holds lt for each mount noted in STATE_DIR/mounts that one of its directories
 * is on (or under) and that is not mounted there as noted now. */
void local_mounts_check_notes(LocalTarget *lt);
/* Whether a mount holding lt has had its note deleted by hand: a reload starts it afresh. */
bool local_mounts_released(LocalTarget *lt);
/* Drops the notes of mounts that none of the started targets is on any more. */
void local_mounts_prune(TargetHost *h, LocalTarget **started, size_t n_started);
/* Why the target is held, for status; NULL when it is not. */
const char *local_mounts_held(LocalTarget *lt);
/* TargetKind.away: location is under a mount that is away (looked at now). */
const char *local_mount_away(Target *t, const char *location);
/* f("MOUNT/", why) for each of those mounts that is away, for TargetKind.foreach_held. */
int local_mounts_foreach_away(LocalTarget *lt,
                              int (*f)(const char *location, const char *why, void *userdata),
                              void *userdata);
void local_mounts_forget(LocalTarget *lt);
/* local-leftovers.c: TargetKind.leftovers, and the sweep of what is pending when the host
 * goes (target_host_done()). */
void local_leftovers(Target *t, TargetHost *h, const char *tmp, const char *run_id,
                     const StageAs *as, const char *who);
void local_leftovers_free(TargetHost *h);
/* tmp, a staged output that discard() could not remove (its mount is away): removed once the
 * mount is back, with as. */
void local_leftovers_discard(TargetHost *h, const char *tmp, const StageAs *as);
/* A mount is back: the directories on it that were waiting are swept. */
void local_leftovers_back(TargetHost *h);

/* local-stage.c: a run's outputs from their staged names to their place (TargetKind.stage,
 * .written, .placeable, .commit, .discard, .stage_mark, .stage_lost). */
int local_stage(Target *t, const char *location, const char *run_id, const StageAs *as,
                char **ret_tmp);
int local_written(Target *t, const char *tmp, const StageAs *as);
int local_placeable(Target *t, const char *location, const StageAs *as);
int local_commit(Target *t, const char *tmp, const char *location, const StageAs *as);
void local_discard(Target *t, const char *tmp, const StageAs *as);
char *local_stage_mark(Target *t, const char *tmp);
bool local_stage_lost(Target *t, const char *tmp, const char *mark);

/* local-closed.c: files whose close, rename or link into place was seen a moment ago. */
void local_closed_note(LocalTarget *lt, const char *path);
bool local_closed_seen(LocalTarget *lt, const char *path);
void local_closed_forget(LocalTarget *lt);
/* A file that changed this recently, and whose close was not seen, may have been created a
 * moment ago, its IN_CREATE not read yet: it waits that long before it counts. */
#define LOCAL_UNSEEN_SPAN (50 * USEC_PER_MSEC)
/* ctime is stamped from a coarse clock, up to a tick (10 ms at HZ=100) behind the change. */
#define LOCAL_CTIME_SLACK (10 * USEC_PER_MSEC)

/* local-listing.c */
int local_listing_find(TargetHost *h, const char *path, unsigned char *ret_type);
/* stat(2) of path during a scan, cheaper where many files of one directory are looked at. */
int local_listing_stat(TargetHost *h, const char *path, struct stat *ret);
void local_listings_free(TargetHost *h);

/* local-watch.c */
int local_watch_start(Target *t);
/* CLOCK_REALTIME when the inotify queue was last read empty: every event of a change made
 * before was read by then. */
usec_t local_watch_drained(LocalTarget *lt);
void local_watch_stop(Target *t);
/* Whether path lies under a mount of a started target's that is away. */
bool local_watch_away(TargetHost *h, const char *path);
void local_state_free(void *p);
/* local-quiet.c: files that wait to be left alone long enough. */
void local_watch_quiet_pending(LocalTarget *lt, const char *path, const Binding *b,
                               usec_t mtime);
/* Created under "close" and not closed yet, so not there: how long it must be left unchanged
 * to count all the same; 0 when it is not being written. */
usec_t local_watch_writing(LocalTarget *lt, const char *path);
/* Under "close", changed at `changed`, maybe still being written: waits for its close or for
 * settle unchanged. */
void local_watch_writing_pending(LocalTarget *lt, const char *path, usec_t changed,
                                 usec_t settle);
