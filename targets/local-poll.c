/* SPDX-License-Identifier: MIT */
/*
 * Path targets scanned every scan_interval besides what watches they have: one that ran out of
 * inotify watches (fs.inotify.max_user_watches), where the scans stand in for the watches it
 * could not get, and one on a network file system, where files written from other machines
 * raise no inotify event here. What changed since the scan before is news to the core, as if
 * its events had been lost (target_rescan_lost()); not while a mount the target is on is away
 * (local-mount.c), and when it is back, the target is watched and scanned again.
 *
 * And what such a target had at its last scan. Arrivals show in a scan as they are (what
 * changed since the scan before), but a file deleted or renamed away shows only as an absence:
 * a watched directory says IN_DELETE, a scanned one says nothing. So each scan of such a target
 * is compared with the one before it, and what went is reported as gone, as its event would
 * have been; above all an output removed by hand, which must make its instance incomplete
 * again whether or not anything reads the target.
 *
 * A name per file that exists, kept only for outputs (a task's target) that ran out of
 * watches: an input that went unnoticed costs nothing, since every input of an instance is
 * checked on disk before it starts.
 */
#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "local-watch-internal.h"
#include "log.h"
#include "util/hash.h"

struct SeenFile {
        UT_hash_handle hh;
        char path[];
};

static void seen_free(SeenFile **set) {
        SeenFile *f, *tmp;

        HASH_ITER(hh, *set, f, tmp) {
                HASH_DEL(*set, f);
                free(f);
        }
}

static int seen_insert(SeenFile **set, const char *path) {
        size_t len = strlen(path);
        SeenFile *f;

        HASH_FIND(hh, *set, path, len, f);
        if (f)
                return 0;
        f = malloc(sizeof(SeenFile) + len + 1);
        if (!f)
                return -ENOMEM;
        memcpy(f->path, path, len + 1);
        HASH_ADD_KEYPTR(hh, *set, f->path, len, f);
        return 0;
}

static int seen_add(Target *t, const Binding *b, void *userdata) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = template_format(t->template, b, &path);
        if (r < 0)
                return r;
        return seen_insert(userdata, path);
}

int local_seen_refresh(LocalTarget *lt) {
        Target *t = &lt->target;
        SeenFile *now = NULL, *was, *f, *tmp;
        int r;

        if (!t->producer)
                return 0;
        r = t->kind->scan(t, seen_add, &now);
        if (r < 0) {
                /* Keep the last good set: a scan that failed says nothing went. */
                seen_free(&now);
                return r;
        }
        /* The new set in place first: what the gone files set off may note outputs. (The
         * first scan has nothing before it to compare with.) */
        was = lt->seen;
        lt->seen = now;
        lt->seen_loaded = true;
        HASH_ITER(hh, was, f, tmp) {
                _cleanup_(binding_freep) Binding *b = NULL;
                SeenFile *still;
                struct stat st;

                HASH_FIND(hh, lt->seen, f->path, strlen(f->path), still);
                if (still)
                        continue;
                /* Absent from a scan is not yet gone: a file in its quiet period, one under a
                 * name scans pass over, a directory that could not be read all say nothing. */
                if (lstat(f->path, &st) == 0 || errno != ENOENT) {
                        (void) seen_insert(&lt->seen, f->path);
                        continue;
                }
                if (template_match(t->template, f->path, &b) <= 0)
                        continue;
                log_debug("Target '%s': '%s' is gone (found by scanning)", t->name, f->path);
                target_gone(t, b);
        }
        seen_free(&was);
        return 0;
}

int local_seen_note(LocalTarget *lt, const char *path) {
        return lt->seen_loaded ? seen_insert(&lt->seen, path) : 0;
}

void local_seen_drop(LocalTarget *lt, const char *path) {
        SeenFile *f;

        HASH_FIND(hh, lt->seen, path, strlen(path), f);
        if (f) {
                HASH_DEL(lt->seen, f);
                free(f);
        }
}

void local_seen_forget(LocalTarget *lt) {
        seen_free(&lt->seen);
        lt->seen_loaded = false;
}

/* A scanned target shows in status, as a polled remote target does; held (a mount of its went
 * away) as a poll that failed: its last scan is older than an interval then. */
int local_poll_status(Target *t, TargetStatus *ret) {
        LocalTarget *lt = LOCAL(t);
        usec_t next = lt->polled + t->host->scan_interval, at;

        if (!lt->poll)
                return 0;
        if (sd_event_source_get_time(lt->poll, &at) >= 0) {
                usec_t now = now_usec(CLOCK_MONOTONIC);
                next = now_usec(CLOCK_REALTIME) + (at > now ? at - now : 0);
        }
        *ret = (TargetStatus){
                .objects = HASH_COUNT(lt->seen),
                .last_ok_realtime = lt->polled,
                .next_poll_realtime = next,
                .error = local_mounts_held(lt),
                .scanned = lt->watches_short ? "instead of watched (out of inotify watches)" :
                           "as well as watched (on a network file system, where files written "
                           "from other machines raise no inotify event)",
        };
        return 1;
}


/* What changed since the last scan is news, and what the last scan found and this one does
 * not is gone (for the directories that have no watch, or see no other machine's writers). */
static void scan_again(LocalState *s, LocalTarget *lt) {
        usec_t since = lt->polled;
        int r;

        lt->polled = now_usec(CLOCK_REALTIME);
        r = local_seen_refresh(lt);
        if (r < 0)
                log_warning_errno(r, "Cannot scan target '%s' for files gone: %m",
                                  lt->target.name);
        target_rescan_lost(&lt->target, lost_from(s, since));
}

/* A mount of the target's that went away is back: its watches went with it, what landed there
 * meanwhile is news (since the last scan before it went), and what waited for it may start. */
void local_poll_mount_back(LocalState *s, LocalTarget *lt) {
        (void) local_watch_from_root(s, lt);
        scan_again(s, lt);
        local_leftovers_back(s->host);
        target_back(&lt->target);
}

static int on_poll(sd_event_source *source, uint64_t usec, void *userdata) {
        LocalTarget *lt = userdata;
        LocalState *s = lt->target.host->kind_state[TARGET_KIND_PATH];
        bool back;

        /* Not while a mount of its is away: every file under it would be missing from the
         * scan, and taken as deleted. */
        if (!local_mounts_away(lt, NULL, &back)) {
                if (back)
                        local_poll_mount_back(s, lt);
                else
                        scan_again(s, lt);
        }
        (void) sd_event_source_set_time_relative(source, lt->target.host->scan_interval);
        (void) sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
        return 0;
}

/* A network file system too: a watch on a directory a mount covered since sees nothing, and a
 * reload makes the watches again. Not while a mount of it is away, though: started afresh, it
 * would be held again from the note (a pipeline unchanged keeps what waits), unless that note
 * was deleted to let it go. */
bool local_reload_afresh(Target *t) {
        LocalTarget *lt = LOCAL(t);

        if (lt->watches_short || lt->watch_failed || local_mounts_released(lt))
                return true;
        return lt->network_fs && !local_mounts_held(lt);
}

/* Scanned every scan_interval from now on, besides what watches it has. */
static void start_scanning(LocalState *s, LocalTarget *lt) {
        usec_t every = s->host->scan_interval;
        int r;

        lt->polled = now_usec(CLOCK_REALTIME);
        r = local_seen_refresh(lt);
        if (r < 0)
                log_warning_errno(r, "Cannot scan target '%s': %m", lt->target.name);
        if (sd_event_add_time_relative(s->event, &lt->poll, CLOCK_MONOTONIC, every,
                                       every / 20, on_poll, lt) < 0)
                log_error("Cannot arm the scan timer of target '%s'", lt->target.name);
}

/* Out of inotify watches: the target is scanned every scan_interval instead. */
void local_poll_fall_back(LocalState *s, LocalTarget *lt, const char *dir) {
        char interval[FORMAT_TIMESPAN_MAX];

        if (lt->watches_short)
                return;
        lt->watches_short = true;
        log_error("Cannot watch '%s' for target '%s': out of inotify watches "
                  "(fs.inotify.max_user_watches); scanning the target every %s instead",
                  dir, lt->target.name,
                  format_timespan(interval, sizeof(interval), s->host->scan_interval));
        if (!lt->poll)
                start_scanning(s, lt);
}

/* On such a file system, the watches see this machine's writers at once and the scans the
 * others'. */
void local_poll_network_fs(LocalState *s, LocalTarget *lt, const char *dir, dev_t dev,
                           MountTable *table) {
        char interval[FORMAT_TIMESPAN_MAX];
        const char *fs = local_network_fs(dir);

        if (!fs)
                return;
        local_mount_note(lt, dir, fs, dev, table);
        if (lt->network_fs)
                return;
        lt->network_fs = fs;
        log_notice("'%s' of target '%s' is on a network file system (%s), where files written "
                   "from other machines raise no inotify event: scanning the target every %s "
                   "as well as watching it", dir, lt->target.name, fs,
                   format_timespan(interval, sizeof(interval), s->host->scan_interval));
        if (!lt->poll)
                start_scanning(s, lt);
}
