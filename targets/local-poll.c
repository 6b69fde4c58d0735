/* SPDX-License-Identifier: MIT */
/*
 * What a target scanned instead of watched had at its last scan. Arrivals show in a scan as
 * they are (what changed since the scan before), but a file deleted or renamed away shows
 * only as an absence: a watched directory says IN_DELETE, a scanned one says nothing. So each
 * scan of such a target is compared with the one before it, and what went is reported as gone,
 * as its event would have been; above all an output removed by hand, which must make its
 * instance incomplete again whether or not anything reads the target.
 *
 * A name per file that exists, kept only for outputs (a task's target) that ran out of
 * watches: an input that went unnoticed costs nothing, since every input of an instance is
 * checked on disk before it starts.
 */
#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "local.h"
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

