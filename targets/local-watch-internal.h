/* SPDX-License-Identifier: MIT */
/*
 * What the watching of path targets shares: local-watch.c (the inotify instance, the mount
 * table, starting and stopping targets), local-watch-table.c (the watches),
 * local-watch-events.c (reading and dispatching the events), local-quiet.c (files waiting to
 * be left alone long enough) and local-poll.c (the scans that watching needs besides).
 */
#pragma once

#include "local.h"
#include "util/hash.h"

typedef struct WatchEntry {
        LocalTarget *target;    /* not owned */
        size_t level;
        dev_t dev;              /* dir's, when last looked at: a mount over it changes it */
        char *dir;
        char *rel;              /* below the last level's directory, for a {x:path} tail */
        Binding *partial;
} WatchEntry;

typedef struct Watch {
        int wd;
        WatchEntry *entries;
        size_t n_entries;
        UT_hash_handle hh;
} Watch;

/* A file waiting to be left alone long enough: under a quiet-period policy, found by a scan
 * that cannot see its writer close it, or created and not closed yet (writing). */
struct LocalState;

typedef struct QuietFile {
        struct LocalState *state;       /* owner */
        char *key;              /* target pointer and path: two targets may share a file */
        LocalTarget *target;    /* not owned */
        char *path;
        Binding *binding;
        sd_event_source *timer;
        usec_t settle;          /* how long unchanged counts as done */
        bool writing;           /* created under "close": not there until closed or settled */
        bool found;             /* by a scan, changed last before the watching began, and no
                                 * event since: once settled, what a start-up scan finds (the
                                 * look-back window applies), not an arrival */
        dev_t dev;              /* of a file seen created: an O_TMPFILE's close names only */
        ino_t ino;              /* these (local_quiet_tmpfile_closed) */
        UT_hash_handle hh;
} QuietFile;

typedef struct LocalState {
        int fd;
        sd_event_source *source;
        sd_event *event;
        TargetHost *host;
        Watch *watches;         /* by wd */
        QuietFile *quiet;       /* by key */
        LocalTarget **started;  /* for IN_Q_OVERFLOW; not owned */
        size_t n_started;
        sd_event_source *rescan_source; /* the rescan after overflows, pending */
        usec_t last_rescan;     /* CLOCK_MONOTONIC */
        unsigned overflows;     /* since the last rescan */
        usec_t created;         /* CLOCK_REALTIME: what changed before, start-up scans saw */
        usec_t drained;         /* CLOCK_REALTIME: the queue was last read empty */
        usec_t lost_since;      /* CLOCK_REALTIME: events may be lost from then on; 0: none */
        InPlaceFile *in_place;  /* under "moved", by path (local-inplace.c) */
        int mounts_fd;          /* /proc/self/mountinfo: it polls "priority" when it changes */
        sd_event_source *mounts_source;
        sd_event_source *prune_source;  /* notes of mounts to drop: once the starts are done */
} LocalState;

/* ctime is stamped from a coarse clock up to a tick behind CLOCK_REALTIME: a change just after
 * a moment may carry a time just before it. Counting a little more as changed costs nothing
 * (hints are idempotent, and a failed run is re-armed only by a change after it started). */
#define CHANGE_CLOCK_SLACK USEC_PER_SEC

/* Events lost from `from` on: what changed since, less the slack, and never before the watching
 * began, which the start-up scan covered as what it was (no arrival). */
static inline usec_t lost_from(const LocalState *s, usec_t from) {
        return MAX(from - MIN(from, CHANGE_CLOCK_SLACK), s->created);
}

/* The root's own watch, or one above it: not a directory of a {x:path} tail, whose level is
 * the root's too when the root is the last level. */
static inline bool at_root_or_above(const WatchEntry *e) {
        return e->level < e->target->root_level ||
               (e->level == e->target->root_level && !e->rel);
}

/* local-watch-table.c */
void local_watch_free(LocalState *s, Watch *w);
/* Every entry of lt's goes, and every watch left without one. */
void local_watch_drop_target(LocalState *s, LocalTarget *lt);
int local_watch_tail(LocalState *s, LocalTarget *lt, const char *dir, const char *rel,
                     const Binding *partial);
int local_watch_dir(LocalState *s, LocalTarget *lt, size_t level, const char *dir,
                    const Binding *partial);
int local_watch_from_root(LocalState *s, LocalTarget *lt);
/* A directory renamed away, or the root moved (IN_MOVE_SELF): the watches at and below it go. */
void local_watch_forget_dir(LocalState *s, const char *path);

/* local-watch-events.c: the sd-event handler of the inotify descriptor. */
int local_watch_on_inotify(sd_event_source *source, int fd, uint32_t revents, void *userdata);

/* local-poll.c: where watching is not enough, scans. */
void local_poll_fall_back(LocalState *s, LocalTarget *lt, const char *dir);
/* dir, watched, is on dev; table: see local_mount_note(). */
void local_poll_network_fs(LocalState *s, LocalTarget *lt, const char *dir, dev_t dev,
                           MountTable *table);
void local_poll_mount_back(LocalState *s, LocalTarget *lt);

/* local-quiet.c */
void local_quiet_free(LocalState *s, QuietFile *q);
QuietFile *local_quiet_find(LocalState *s, const LocalTarget *lt, const char *path);
QuietFile *local_quiet_touch(LocalState *s, LocalTarget *lt, const char *path,
                             const Binding *b, usec_t mtime, usec_t settle, bool writing);
/* A file being written whose target stopped: known by path alone until its close or its wait
 * ends, then every target that matches it is told. */
void local_quiet_orphan(LocalState *s, QuietFile *q);
/* The close of an O_TMPFILE, named "#<inode>" in dir, linked into place since. */
void local_quiet_tmpfile_closed(LocalState *s, const char *dir, const char *name);
