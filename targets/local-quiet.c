/* SPDX-License-Identifier: MIT */
/*
 * The files of watched path targets that wait to be left alone long enough before they count,
 * each with a timer at its last change plus its settling time: under "quiet:", every file, from
 * each change the watch reports or that a scan finds recent; under "close", a file created and
 * not closed yet, which counts as not there until its close (local_watch_writing()), or, should
 * that never come (lost with an overflowed queue, an O_TMPFILE linked into place, a writer
 * that only paused), until it has stopped changing and nobody has it open for writing; and a
 * file a scan finds changed a moment ago, which may still be being written.
 *
 * Kept by the inotify instance (LocalState), not by the target: a file being written whose
 * target a reload stops stays known as such, by path alone, for the target built anew.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "local-watch-internal.h"
#include "log.h"

void local_quiet_free(LocalState *s, QuietFile *q) {
        HASH_DEL(s->quiet, q);
        sd_event_source_disable_unref(q->timer);
        binding_free(q->binding);
        free(q->path);
        free(q->key);
        free(q);
}

static int on_quiet(sd_event_source *source, uint64_t usec, void *userdata);

QuietFile *local_quiet_find(LocalState *s, const LocalTarget *lt, const char *path) {
        _cleanup_free_ char *key = NULL;
        QuietFile *q = NULL;

        if (s->quiet && asprintf(&key, "%p:%s", (const void *) lt, path) >= 0)
                HASH_FIND_STR(s->quiet, key, q);
        return q;
}

/* A file changed at mtime, and counts once left alone for settle: (re)start its wait. */
QuietFile *local_quiet_touch(LocalState *s, LocalTarget *lt, const char *path,
                             const Binding *b, usec_t mtime, usec_t settle, bool writing) {
        _cleanup_free_ char *key = NULL;
        QuietFile *q;

        if (asprintf(&key, "%p:%s", (void *) lt, path) < 0)
                return NULL;
        HASH_FIND_STR(s->quiet, key, q);
        if (!q) {
                q = calloc(1, sizeof(QuietFile));
                if (!q || !(q->path = strdup(path)) || binding_copy(b, &q->binding) < 0 ||
                    sd_event_add_time(s->event, &q->timer, CLOCK_REALTIME, mtime + settle,
                                      USEC_PER_MSEC * 100, on_quiet, q) < 0) {
                        if (q) {
                                binding_free(q->binding);
                                free(q->path);
                                free(q);
                        }
                        log_oom();
                        return NULL;
                }
                q->key = TAKE_PTR(key);
                q->target = lt;
                q->state = s;
                q->settle = settle;
                q->writing = writing;
                HASH_ADD_KEYPTR(hh, s->quiet, q->key, strlen(q->key), q);
                return q;
        }
        q->settle = settle;
        q->writing = q->writing || writing;
        (void) sd_event_source_set_time(q->timer, mtime + settle);
        (void) sd_event_source_set_enabled(q->timer, SD_EVENT_ONESHOT);
        return q;
}

usec_t local_watch_writing(LocalTarget *lt, const char *path) {
        LocalState *s = lt->target.host ? lt->target.host->kind_state[TARGET_KIND_PATH] : NULL;
        QuietFile *q = s ? local_quiet_find(s, lt, path) ?: local_quiet_find(s, NULL, path) : NULL;

        return q && q->writing ? q->settle : 0;
}

/* A scan found a file changed less than the quiet period ago: it waits out the rest. */
void local_watch_quiet_pending(LocalTarget *lt, const char *path, const Binding *b,
                               usec_t mtime) {
        LocalState *s = lt->target.host ? lt->target.host->kind_state[TARGET_KIND_PATH] : NULL;

        QuietFile *q;

        if (!s)
                return;
        q = local_quiet_find(s, lt, path);
        if (q) {
                (void) local_quiet_touch(s, lt, path, b, mtime, local_settle(lt), false);
                return;
        }
        q = local_quiet_touch(s, lt, path, b, mtime, local_settle(lt), false);
        if (q)
                q->found = mtime < s->created;
}

void local_watch_writing_pending(LocalTarget *lt, const char *path, usec_t changed,
                                 usec_t settle) {
        LocalState *s = lt->target.host ? lt->target.host->kind_state[TARGET_KIND_PATH] : NULL;
        _cleanup_(binding_freep) Binding *b = NULL;

        QuietFile *q;

        if (!s || template_match(lt->target.template, path, &b) <= 0)
                return;
        if (local_quiet_find(s, lt, path)) {
                (void) local_quiet_touch(s, lt, path, b, changed, settle, true);
                return;
        }
        q = local_quiet_touch(s, lt, path, b, changed, settle, true);
        if (q)
                q->found = changed < s->created;
}

/* A file being written whose target stopped (its pipeline rebuilt by a reload) stays known as
 * being written, by path alone, until its close or its wait ends: the new version of the
 * target would otherwise take it half-written in its first scan. Then every target that
 * matches it is told. */
void local_quiet_orphan(LocalState *s, QuietFile *q) {
        _cleanup_free_ char *key = NULL;

        if (local_quiet_find(s, NULL, q->path) || asprintf(&key, "%p:%s", NULL, q->path) < 0) {
                local_quiet_free(s, q);
                return;
        }
        HASH_DEL(s->quiet, q);
        free(q->key);
        q->key = TAKE_PTR(key);
        q->target = NULL;
        HASH_ADD_KEYPTR(hh, s->quiet, q->key, strlen(q->key), q);
}

static void orphan_settled(LocalState *s, const char *path) {
        for (size_t i = 0; i < s->n_started; i++) {
                LocalTarget *lt = s->started[i];
                _cleanup_(binding_freep) Binding *b = NULL;

                if (lt->policy == LOCAL_CLOSE && template_match(lt->target.template, path, &b) > 0 &&
                    local_complete(lt, path) > 0) {
                        s->host->event_usec = now_usec(CLOCK_MONOTONIC);
                        target_hint(&lt->target, b, true);
                }
        }
}

/* The wait has passed since the last event; the file's mtime has the last word. A file being
 * written that nobody closed (its close lost with an overflowed queue, a writer that linked an
 * O_TMPFILE into place, one that paused that long) counts once it stopped changing. */
static int on_quiet(sd_event_source *source, uint64_t usec, void *userdata) {
        QuietFile *q = userdata;
        LocalState *s = q->state;
        LocalTarget *lt = q->target;
        _cleanup_(binding_freep) Binding *b = NULL;
        _cleanup_free_ char *path = NULL;
        struct stat st;
        bool fresh;

        if (stat(q->path, &st) < 0) {
                local_quiet_free(s, q);
                return 0;
        }
        usec_t until = mtime_of(&st) + q->settle, now = now_usec(CLOCK_REALTIME);

        if (now < until) {
                /* Written to without our noticing (IN_MODIFY coalesced, or no watch at all):
                 * wait out the rest. Never a time gone by: that would fire at once, forever. */
                (void) sd_event_source_set_time(source, until);
                (void) sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
                return 0;
        }
        if (q->writing && local_open_for_write(q->path) > 0) {
                /* Unchanged that long, and still open for writing: a writer that pauses (a
                 * download, an export) is not done. Its close ends the wait. */
                (void) sd_event_source_set_time(source, now + q->settle);
                (void) sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
                return 0;
        }
        if (q->writing) {
                /* Taken for want of a close: say so, a writer that paused this long would
                 * have its file taken unfinished. */
                char span[32];
                log_notice("'%s' counts now: no close of it was seen, and it has not changed "
                           "for %s", q->path, format_timespan(span, sizeof(span), q->settle));
        }
        /* Gone from the list first: while listed as being written it does not count. */
        b = TAKE_PTR(q->binding);
        path = TAKE_PTR(q->path);
        /* Changed since the watching began (written without an event: mmap, a lost one): an
         * arrival after all. */
        fresh = !q->found || mtime_of(&st) >= s->created;
        local_quiet_free(s, q);
        if (!lt) {
                orphan_settled(s, path);
                return 0;
        }
        if (local_complete(lt, path) <= 0)
                return 0;
        s->host->event_usec = now_usec(CLOCK_MONOTONIC);
        target_hint(&lt->target, b, fresh);
        return 0;
}

/*
 * A file made with O_TMPFILE and linked into place (linkat) appears with one name, as a new
 * file does, and is waited for as being written; but its writer's close is reported under the
 * name the kernel gave it while it had none, "#<inode>", in the directory it was made in.
 */
void local_quiet_tmpfile_closed(LocalState *s, const char *dir, const char *name) {
        QuietFile *q, *tmp;
        unsigned long long ino;
        struct stat st;
        char *end;

        errno = 0;
        ino = strtoull(name + 1, &end, 10);
        if (errno != 0 || end == name + 1 || *end || stat(dir, &st) < 0)
                return;
        /* Every target that waits for it (two may read the file), one at a time: a hint may
         * change what waits. */
        for (;;) {
                _cleanup_(binding_freep) Binding *b = NULL;
                _cleanup_free_ char *path = NULL;
                LocalTarget *lt;

                HASH_ITER(hh, s->quiet, q, tmp)
                        if (q->writing && q->ino == ino && q->dev == st.st_dev)
                                break;
                if (!q)
                        return;
                lt = q->target;
                b = TAKE_PTR(q->binding);
                path = TAKE_PTR(q->path);
                local_quiet_free(s, q);
                if (!lt) {
                        orphan_settled(s, path);
                        continue;
                }
                local_closed_note(lt, path);
                target_hint(&lt->target, b, true);
        }
}
