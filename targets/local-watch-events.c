/* SPDX-License-Identifier: MIT */
/*
 * The inotify queue of the path targets: reading it, and what each event means to the targets
 * whose watch saw it. In a target's last-level directory, a file closed after writing, moved
 * in, linked, created (being written, or in place under "moved"), changed (under "quiet:") or
 * gone; the done-flag of "flag:"; in any directory, a subdirectory that appeared (watched,
 * then scanned) or was renamed away (its watches dropped, what it held gone); and a target's
 * root removed or renamed, watched for again from what is left of its prefix. Every event is
 * only a hint (target_hint()): the core checks the file itself before it acts. When the queue
 * overflows, events were lost: every started target is watched from its root again and
 * scanned, at most once per RESCAN_MIN_INTERVAL however many overflows come.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local-watch-internal.h"
#include "log.h"

#define RESCAN_MIN_INTERVAL USEC_PER_SEC

static int hint_fresh(Target *t, const Binding *b, void *userdata) {
        target_hint(t, b, true);
        return 0;
}

/* The done-flag landed in dir: every matching file of that directory may be complete now. */
static void flag_arrived(LocalTarget *lt, const char *dir, const Binding *partial) {
        int r = local_scan_tail(lt, dir, NULL, partial, hint_fresh, NULL);

        if (r < 0)
                log_warning_errno(r, "Cannot scan '%s' after its done-flag arrived: %m", dir);
}

typedef enum Created {
        CREATED_OTHER,  /* gone again, or not a file */
        CREATED_FILE,   /* a new file, being written */
        CREATED_LINK,   /* made whole in one step, as a rename is */
} Created;

/* A symbolic link, or another name of a file (a hard link; a file being written has one name
 * until it is closed, so this cannot take it early), is whole when it appears. */
static Created created(const char *path, struct stat *st) {
        if (lstat(path, st) < 0)
                return CREATED_OTHER;
        if (S_ISLNK(st->st_mode) || (S_ISREG(st->st_mode) && st->st_nlink > 1))
                return CREATED_LINK;
        return S_ISREG(st->st_mode) ? CREATED_FILE : CREATED_OTHER;
}

static void file_event(LocalState *s, LocalTarget *lt, const struct inotify_event *ev,
                       const WatchEntry *e, const char *name, const char *path) {
        _cleanup_(binding_freep) Binding *b = NULL;
        int r;

        if (lt->policy == LOCAL_FLAG && !e->rel && streq(ev->name, lt->flag)) {
                struct stat st;

                /* A flag linked into place (ln, ln -s) makes no event but its creation. */
                if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO) ||
                    (ev->mask & IN_CREATE && created(path, &st) == CREATED_LINK))
                        flag_arrived(lt, e->dir, e->partial);
                return;
        }
        if (local_name_ignored(lt, ev->name))
                return;
        r = template_match_component(lt->target.template, e->level, name, e->partial, &b);
        if (r <= 0)
                return;
        if (lt->policy == LOCAL_CLOSE && ev->mask & (IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                                     IN_CLOSE_WRITE)) {
                QuietFile *q = local_quiet_find(s, lt, path), *o = local_quiet_find(s, NULL, path);
                if (q)
                        local_quiet_free(s, q);
                if (o)
                        local_quiet_free(s, o);
                if (ev->mask & (IN_MOVED_TO | IN_CLOSE_WRITE))
                        local_closed_note(lt, path);
        }
        if (lt->policy == LOCAL_MOVED && ev->mask & (IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO))
                local_in_place_drop(lt, path);
        if (lt->policy == LOCAL_MOVED && ev->mask & IN_MOVED_TO)
                local_closed_note(lt, path);    /* seen put in place: whole, scanned or not */
        if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
                local_seen_drop(lt, path);
                target_gone(&lt->target, b);
                return;
        }
        if (lt->policy == LOCAL_QUIET) {
                QuietFile *q = local_quiet_touch(s, lt, path, b, now_usec(CLOCK_REALTIME),
                                                 local_settle(lt), false);
                if (q)
                        q->found = false;       /* written to while watched: an arrival */
                return;
        }
        if (ev->mask & IN_CREATE) {
                struct stat st;
                Created c = created(path, &st);

                if (c == CREATED_LINK) {
                        if (lt->policy == LOCAL_CLOSE)
                                local_closed_note(lt, path);
                        if (lt->policy == LOCAL_MOVED)
                                local_in_place_drop(lt, path);
                        target_hint(&lt->target, b, true);
                }
                else if (c == CREATED_FILE && lt->policy == LOCAL_MOVED)
                        local_in_place_note(lt, path, &st);
                else if (c == CREATED_FILE && lt->policy == LOCAL_CLOSE) {
                        /* Being written until its IN_CLOSE_WRITE, or, should that never come,
                         * until it has not changed for a scan_interval. */
                        QuietFile *q = local_quiet_touch(s, lt, path, b,
                                                         now_usec(CLOCK_REALTIME),
                                                         s->host->scan_interval, true);
                        if (q) {
                                q->dev = st.st_dev;
                                q->ino = st.st_ino;
                                q->found = false;
                        }
                }
                return;
        }
        if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
                target_hint(&lt->target, b, true);
}

static void dir_event(LocalState *s, LocalTarget *lt, const struct inotify_event *ev,
                      const WatchEntry *e, const char *name, const char *path) {
        const Template *t = lt->target.template;
        bool last = e->level == last_level(lt);
        _cleanup_(binding_freep) Binding *b = NULL;

        if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
                /* Moved away whole, what it held went without an event of its own: only a
                 * scan can tell. Not when it was removed: each file in it went first, with
                 * its IN_DELETE, in a directory that was watched; and not for a directory
                 * that could hold nothing of the target's (a rescan per directory of an
                 * rm -r of thousands kept the daemon busy for a minute). */
                if (!(ev->mask & IN_MOVED_FROM))
                        return;
                local_watch_forget_dir(s, path);
                if (ev->name[0] == '.')
                        return;
                if (last ? template_has_path_tail(t)
                         : template_match_component(t, e->level, ev->name, e->partial, &b) > 0)
                        target_gone_below(&lt->target, b ?: e->partial);
                return;
        }
        if (!(ev->mask & (IN_CREATE | IN_MOVED_TO)))
                return;
        if (ev->name[0] == '.' && (last || !template_component_is_literal(t, e->level)))
                return;
        /* Watch first, then scan: a file landing in between is seen by both, and hints are
         * idempotent. */
        if (last) {
                if (template_has_path_tail(t)) {
                        (void) local_watch_tail(s, lt, path, name, e->partial);
                        (void) local_scan_tail(lt, path, name, e->partial, hint_fresh, NULL);
                }
                return;
        }
        if (template_match_component(t, e->level, ev->name, e->partial, &b) <= 0)
                return;
        (void) local_watch_dir(s, lt, e->level + 1, path, b);
        (void) local_scan_tree(lt, e->level + 1, path, b, hint_fresh, NULL);
}

static void handle_event(LocalState *s, const struct inotify_event *ev) {
        Watch *w;

        HASH_FIND_INT(s->watches, &ev->wd, w);
        if (!w)
                return;
        if (ev->mask & IN_IGNORED) {
                /* The directory went. Below the template's root, its parent's watch sees it
                 * come back; the root or one of its parents (rm -r of the whole tree) is
                 * watched for again from the deepest part of the prefix that is left. */
                _cleanup_free_ LocalTarget **again = calloc(w->n_entries + 1,
                                                            sizeof(LocalTarget *));
                size_t n_again = 0;

                for (size_t i = 0; again && i < w->n_entries; i++)
                        if (at_root_or_above(&w->entries[i]))
                                again[n_again++] = w->entries[i].target;
                local_watch_free(s, w);
                for (size_t i = 0; i < n_again; i++) {
                        (void) local_watch_from_root(s, again[i]);
                        /* Made again before the new watch existed: its contents are news. */
                        target_rescan_lost(&again[i]->target, lost_from(s, s->drained));
                }
                return;
        }
        if (ev->mask & IN_MOVE_SELF) {
                /* Only asked for at the root and above; the path, since w goes. */
                _cleanup_free_ char *dir = w->n_entries > 0 ? strdup(w->entries[0].dir) : NULL;

                if (dir)
                        local_watch_forget_dir(s, dir);
                return;
        }
        if (ev->len == 0)
                return;
        if (ev->name[0] == '#' && ev->mask & IN_CLOSE_WRITE && w->n_entries > 0) {
                local_quiet_tmpfile_closed(s, w->entries[0].dir, ev->name);
                return;
        }

        /* Index, not pointer: local_watch_dir() below may add entries to other watches. */
        for (size_t i = 0; i < w->n_entries; i++) {
                WatchEntry e = w->entries[i];
                _cleanup_free_ char *path = NULL, *name = NULL;

                name = local_join_rel(e.rel, ev->name);
                path = local_join_rel(e.dir, ev->name);
                if (!name || !path) {
                        log_oom();
                        return;
                }
                if (ev->mask & IN_ISDIR)
                        dir_event(s, e.target, ev, &e, name, path);
                else if (e.level == last_level(e.target))
                        file_event(s, e.target, ev, &e, name, path);
        }
}

static int on_rescan(sd_event_source *source, uint64_t usec, void *userdata) {
        LocalState *s = userdata;
        usec_t since;

        s->rescan_source = sd_event_source_disable_unref(s->rescan_source);
        log_warning("inotify queue overflowed (%u time(s)), rescanning every local target",
                    s->overflows);
        s->overflows = 0;
        since = s->lost_since;
        s->lost_since = 0;
        /* Directories made while events were lost have no watch yet: watch, then scan. */
        for (size_t i = 0; i < s->n_started; i++)
                (void) local_watch_from_root(s, s->started[i]);
        for (size_t i = 0; i < s->n_started; i++)
                target_rescan_lost(&s->started[i]->target, since);
        s->last_rescan = now_usec(CLOCK_MONOTONIC);
        return 0;
}

/*
 * Events were lost: everything is scanned again, since every event is only a hint. A storm of
 * overflows (a tiny max_queued_events, a producer dropping files faster than anything reads)
 * is met with one rescan per RESCAN_MIN_INTERVAL, not one per overflow: a rescan costs what
 * exists, and the one after the last overflow sees everything that arrived before it.
 */
static void overflowed(LocalState *s) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        int r;

        s->overflows++;
        if (s->lost_since == 0)
                s->lost_since = lost_from(s, s->drained);
        if (s->rescan_source)
                return;
        r = sd_event_add_time(s->event, &s->rescan_source, CLOCK_MONOTONIC,
                              MAX(now, s->last_rescan + RESCAN_MIN_INTERVAL), 0, on_rescan, s);
        if (r < 0) {
                log_error_errno(r, "Cannot schedule the rescan after an overflow, rescanning now: "
                                   "%m");
                (void) on_rescan(NULL, 0, s);
        }
}

/*
 * One buffer of events (~500) per call, and then back to the loop, which calls again while the
 * queue holds more. Reading it dry in one call would let a producer that writes faster than
 * the events are handled keep it from ever going dry, and starts, the bus and results would
 * wait until the producer paused. A short read is followed by one more, to learn that the
 * queue was read empty (s->drained).
 */
int local_watch_on_inotify(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        LocalState *s = userdata;
        char buf[16 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));

        for (int reads = 0; reads < 2; reads++) {
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n < 0) {
                        if (errno == EAGAIN)
                                s->drained = now_usec(CLOCK_REALTIME);
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return log_error_errno(errno, "Failed to read inotify events: %m");
                }
                /* For the daemon's own share of event-to-start latency. */
                s->host->event_usec = now_usec(CLOCK_MONOTONIC);
                bool full = (size_t) n > sizeof(buf) - sizeof(struct inotify_event) - NAME_MAX - 1;
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;

                        p += sizeof(struct inotify_event) + ev->len;
                        if (ev->mask & IN_Q_OVERFLOW) {
                                overflowed(s);
                                continue;
                        }
                        handle_event(s, ev);
                }
                if (full)
                        break;
        }
        return 0;
}
