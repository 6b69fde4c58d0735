/* SPDX-License-Identifier: MIT */
/*
 * Watching local targets with inotify.
 *
 * A template /data/{day:date}/{name}.log is a chain of components; a directory at level L is one
 * whose entries are matched against component L. Every directory that can lead to a match gets
 * a watch, with the parameters bound on the way down; a new matching directory is watched and
 * then scanned, because files can land in it before its watch exists. One inotify descriptor
 * serves all targets of a daemon (the per-user instance limit is 128), and one watch may serve
 * several targets that share a directory.
 *
 * Under the default policy a file counts as arrived on IN_CLOSE_WRITE or IN_MOVED_TO, never
 * on IN_CREATE, so a half-written file never starts anything; and from its IN_CREATE to its
 * IN_CLOSE_WRITE it counts as not there, so that an instance which another input's arrival
 * makes ready does not start with this one half-written. Every event is only a hint: the
 * core checks the file itself before acting. A file deleted or moved away is reported too, so
 * that an output removed by hand makes its instance incomplete again. When the kernel's queue
 * overflows, every target is scanned again; when the watches run out, the target that could not
 * get one is scanned periodically instead. A target on a network file system is scanned as well,
 * except while a mount it is on is away (local-mount.c): then every file there would be gone.
 *
 * The watches themselves are kept in local-watch-table.c, the files waiting to be left alone
 * long enough (a quiet period, a file being written) in local-quiet.c, the scans besides or
 * instead of watches in local-poll.c; what those share with this file, in
 * local-watch-internal.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local-watch-internal.h"
#include "log.h"
#include "util/fs-util.h"
#include "util/hash.h"
#include "util/strv.h"

#define RESCAN_MIN_INTERVAL USEC_PER_SEC

void local_state_free(void *p) {
        LocalState *s = p;
        Watch *w, *tmp;
        QuietFile *q, *qtmp;

        HASH_ITER(hh, s->watches, w, tmp)
                local_watch_free(s, w);
        HASH_ITER(hh, s->quiet, q, qtmp)
                local_quiet_free(s, q);
        sd_event_source_disable_unref(s->source);
        sd_event_source_disable_unref(s->rescan_source);
        sd_event_source_disable_unref(s->mounts_source);
        sd_event_source_disable_unref(s->prune_source);
        safe_close(s->mounts_fd);
        safe_close(s->fd);
        free(s->started);
        local_in_place_free(&s->in_place);
        free(s);
}

InPlaceFile **local_watch_in_place(LocalTarget *lt) {
        LocalState *s = lt->target.host ? lt->target.host->kind_state[TARGET_KIND_PATH] : NULL;

        return s ? &s->in_place : NULL;
}

usec_t local_watch_drained(LocalTarget *lt) {
        LocalState *s = lt->target.host ? lt->target.host->kind_state[TARGET_KIND_PATH] : NULL;

        return s ? s->drained : 0;
}

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
static int on_inotify(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
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

/*
 * A mount came or went. One that appeared over a watched directory hides it: its watch sees
 * nothing of the files there, as on any network file system. Every watched directory's file
 * system is asked for again, so such a target is scanned from now on (a reload then watches
 * the directory as it is now). One that a target's directories were on and that went away
 * holds that target, and one that is back lets it go on (local-mount.c).
 */
static int on_mounts(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        LocalState *s = userdata;
        char buf[4096];
        Watch *w, *tmp;

        /* Read to the end, or the change stays signalled. */
        if (lseek(fd, 0, SEEK_SET) == 0)
                while (read(fd, buf, sizeof(buf)) > 0)
                        ;
        for (size_t i = 0; i < s->n_started; i++) {
                bool back;

                if (!local_mounts_away(s->started[i], &back) && back)
                        local_poll_mount_back(s, s->started[i]);
        }
        HASH_ITER(hh, s->watches, w, tmp)
                for (size_t i = 0; i < w->n_entries; i++)
                        local_poll_network_fs(s, w->entries[i].target, w->entries[i].dir);
        return 0;
}

static void watch_mounts(LocalState *s) {
        s->mounts_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (s->mounts_fd < 0 ||
            sd_event_add_io(s->event, &s->mounts_source, s->mounts_fd, EPOLLPRI, on_mounts,
                            s) < 0)
                log_warning("Cannot watch the mount table: a network file system mounted over "
                            "a watched directory from now on is not seen until a reload");
}

static int local_state_get(TargetHost *h, LocalState **ret) {
        LocalState *s = h->kind_state[TARGET_KIND_PATH];
        int r;

        if (s) {
                *ret = s;
                return 0;
        }
        s = calloc(1, sizeof(LocalState));
        if (!s)
                return -ENOMEM;
        s->event = h->event;
        s->host = h;
        s->mounts_fd = -EBADF;
        s->created = s->drained = now_usec(CLOCK_REALTIME);
        s->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (s->fd < 0) {
                r = -errno;
                free(s);
                return log_error_errno(r, "Failed to create inotify instance: %m");
        }
        r = sd_event_add_io(h->event, &s->source, s->fd, EPOLLIN, on_inotify, s);
        if (r < 0) {
                local_state_free(s);
                return log_error_errno(r, "Failed to watch inotify descriptor: %m");
        }
        watch_mounts(s);
        h->kind_state[TARGET_KIND_PATH] = s;
        *ret = s;
        return 0;
}

static int on_prune(sd_event_source *source, void *userdata) {
        LocalState *s = userdata;

        local_mounts_prune(s->host, s->started, s->n_started);
        return 0;
}

/* After the starts and stops of this turn of the loop (a reload stops a target, then starts
 * it afresh): a note of a mount is dropped only once no target started is on it. */
static void prune_later(LocalState *s) {
        if (!s->host->state_dir)
                return;
        if (!s->prune_source &&
            sd_event_add_defer(s->event, &s->prune_source, on_prune, s) < 0)
                return;
        (void) sd_event_source_set_enabled(s->prune_source, SD_EVENT_ONESHOT);
}

int local_watch_start(Target *t) {
        LocalTarget *lt = LOCAL(t);
        LocalTarget **n;
        LocalState *s = NULL;
        int r;

        r = local_state_get(t->host, &s);
        if (r < 0)
                return r;
        n = reallocarray(s->started, s->n_started + 1, sizeof(LocalTarget *));
        if (!n)
                return -ENOMEM;
        s->started = n;
        s->started[s->n_started++] = lt;
        /* Before the watches note what the directories are on now: the bare mount point of a
         * mount away since the daemon last ran, or since the target was last started. */
        local_mounts_check_notes(lt);
        prune_later(s);
        r = local_watch_from_root(s, lt);
        /* Not started after all: out of the list and the watches, or a rescan would walk a
         * target that a reload then frees. */
        if (r < 0)
                local_watch_stop(t);
        return r;
}

void local_watch_stop(Target *t) {
        LocalState *s = t->host->kind_state[TARGET_KIND_PATH];
        LocalTarget *lt = LOCAL(t);
        QuietFile *q, *qtmp;

        lt->poll = sd_event_source_disable_unref(lt->poll);
        lt->watches_short = false;
        lt->network_fs = NULL;
        local_mounts_forget(lt);
        local_seen_forget(lt);
        local_closed_forget(lt);
        if (!s)
                return;
        prune_later(s);
        HASH_ITER(hh, s->quiet, q, qtmp)
                if (q->target == lt && q->writing && lt->policy == LOCAL_CLOSE)
                        local_quiet_orphan(s, q);
                else if (q->target == lt)
                        local_quiet_free(s, q);
        local_watch_drop_target(s, lt);
        for (size_t i = 0; i < s->n_started; i++)
                if (s->started[i] == lt) {
                        s->started[i] = s->started[--s->n_started];
                        break;
                }
}
