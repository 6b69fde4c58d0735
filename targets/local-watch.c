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
 * The files waiting to be left alone long enough (a quiet period, a file being written) are
 * in local-quiet.c; what they share with this file, in local-watch-internal.h.
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

static void watch_entry_done(WatchEntry *e) {
        free(e->dir);
        free(e->rel);
        binding_free(e->partial);
}

static void watch_free(LocalState *s, Watch *w) {
        HASH_DEL(s->watches, w);
        for (size_t i = 0; i < w->n_entries; i++)
                watch_entry_done(&w->entries[i]);
        free(w->entries);
        free(w);
}

/* Takes the entries match() picks out of every watch; a watch left without entries goes. */
static void drop_entries(LocalState *s, bool (*match)(const WatchEntry *e, const void *data),
                         const void *data) {
        Watch *w, *tmp;

        HASH_ITER(hh, s->watches, w, tmp) {
                for (size_t i = 0; i < w->n_entries;) {
                        if (!match(&w->entries[i], data)) {
                                i++;
                                continue;
                        }
                        watch_entry_done(&w->entries[i]);
                        memmove(&w->entries[i], &w->entries[i + 1],
                                (w->n_entries - i - 1) * sizeof(WatchEntry));
                        w->n_entries--;
                }
                if (w->n_entries == 0) {
                        (void) inotify_rm_watch(s->fd, w->wd);
                        watch_free(s, w);
                }
        }
}

static bool entry_of(const WatchEntry *e, const void *lt) {
        return e->target == lt;
}

void local_state_free(void *p) {
        LocalState *s = p;
        Watch *w, *tmp;
        QuietFile *q, *qtmp;

        HASH_ITER(hh, s->watches, w, tmp)
                watch_free(s, w);
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

static int watch_dir(LocalState *s, LocalTarget *lt, size_t level, const char *dir,
                     const Binding *partial);

static uint32_t watch_mask(const LocalTarget *lt, size_t level) {
        /* IN_CREATE at the last level too: a link (ln, ln -s, cp -l, rsync --link-dest) makes
         * no other event, and a quiet period starts at creation. */
        /* IN_MOVED_FROM at every level: a directory renamed keeps its watch (the inode's),
         * which must not go on reporting under the old name. */
        uint32_t m = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_ONLYDIR;

        /* The root, or a directory above it, renamed: no watch of the target's sees that from
         * above, and its watch would follow the tree to where it went. */
        if (level <= lt->root_level)
                m |= IN_MOVE_SELF;
        if (level != last_level(lt))
                return m;
        m |= IN_DELETE | IN_MOVED_FROM;
        if (lt->policy != LOCAL_MOVED)
                m |= IN_CLOSE_WRITE;
        if (lt->policy == LOCAL_QUIET)
                m |= IN_MODIFY;         /* appenders that never close */
        return m;
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

static int watch_from_root(LocalState *s, LocalTarget *lt);

/* A mount of the target's that went away is back: its watches went with it, what landed there
 * meanwhile is news (since the last scan before it went), and what waited for it may start. */
static void mount_back(LocalState *s, LocalTarget *lt) {
        (void) watch_from_root(s, lt);
        scan_again(s, lt);
        target_back(&lt->target);
}

static int on_poll(sd_event_source *source, uint64_t usec, void *userdata) {
        LocalTarget *lt = userdata;
        LocalState *s = lt->target.host->kind_state[TARGET_KIND_PATH];
        bool back;

        /* Not while a mount of its is away: every file under it would be missing from the
         * scan, and taken as deleted. */
        if (!local_mounts_away(lt, &back)) {
                if (back)
                        mount_back(s, lt);
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
static void fall_back_to_polling(LocalState *s, LocalTarget *lt, const char *dir) {
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
static void scan_network_fs(LocalState *s, LocalTarget *lt, const char *dir) {
        char interval[FORMAT_TIMESPAN_MAX];
        const char *fs = local_network_fs(dir);

        if (!fs)
                return;
        local_mount_note(lt, dir, fs);
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

static int watch_add_entry(Watch *w, LocalTarget *lt, size_t level, const char *dir,
                           const char *rel, const Binding *partial) {
        WatchEntry *n;
        WatchEntry e = { .target = lt, .level = level };
        int r;

        for (size_t i = 0; i < w->n_entries; i++) {
                WatchEntry *x = &w->entries[i];

                if (x->target != lt || x->level != level)
                        continue;
                if (streq(x->dir, dir) && streq(strempty(x->rel), strempty(rel)))
                        return 0;
                /* The same directory under another name: renamed, with the watch its inode
                 * kept. It reports under the new name, with the values the new one binds. */
                if (streq(strempty(x->rel), strempty(rel)) || !streq(x->dir, dir)) {
                        _cleanup_(binding_freep) Binding *p = NULL;
                        char *d = strdup(dir), *rl = rel ? strdup(rel) : NULL;

                        if (!d || (rel && !rl) || binding_copy(partial, &p) < 0) {
                                free(d);
                                free(rl);
                                return -ENOMEM;
                        }
                        free(x->dir);
                        free(x->rel);
                        binding_free(x->partial);
                        x->dir = d;
                        x->rel = rl;
                        x->partial = TAKE_PTR(p);
                        return 0;
                }
        }
        e.dir = strdup(dir);
        e.rel = rel ? strdup(rel) : NULL;
        if (!e.dir || (rel && !e.rel)) {
                watch_entry_done(&e);
                return -ENOMEM;
        }
        r = binding_copy(partial, &e.partial);
        if (r < 0) {
                watch_entry_done(&e);
                return r;
        }
        n = reallocarray(w->entries, w->n_entries + 1, sizeof(WatchEntry));
        if (!n) {
                watch_entry_done(&e);
                return -ENOMEM;
        }
        w->entries = n;
        w->entries[w->n_entries++] = e;
        return 0;
}

/* 1 when watched, 0 when the directory is gone or watches ran out, <0 on error. */
static int add_watch(LocalState *s, LocalTarget *lt, size_t level, const char *dir,
                     const char *rel, const Binding *partial) {
        Watch *w;
        int wd;

        /* The same directory may get the mask of several targets: add to it, never replace. */
        wd = inotify_add_watch(s->fd, dir, watch_mask(lt, level) | IN_MASK_ADD);
        if (wd < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;       /* gone again before we got to it */
                if (errno == ENOSPC) {
                        fall_back_to_polling(s, lt, dir);
                        return 0;
                }
                lt->watch_failed = true;
                return log_error_errno(errno, "Cannot watch '%s': %m", dir);
        }
        scan_network_fs(s, lt, dir);
        HASH_FIND_INT(s->watches, &wd, w);
        if (!w) {
                w = calloc(1, sizeof(Watch));
                if (!w)
                        return log_oom();
                w->wd = wd;
                HASH_ADD_INT(s->watches, wd, w);
        }
        if (watch_add_entry(w, lt, level, dir, rel, partial) < 0)
                return log_oom();
        return 1;
}

/* A {x:path} tail matches files at any depth below the last level's directory: watch it all. */
static int watch_tail(LocalState *s, LocalTarget *lt, const char *dir, const char *rel,
                      const Binding *partial) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        r = add_watch(s, lt, last_level(lt), dir, rel, partial);
        if (r <= 0 || !template_has_path_tail(lt->target.template))
                return r;
        d = opendir(dir);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                _cleanup_free_ char *sub = NULL, *subrel = NULL;

                if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
                        continue;
                sub = local_join_rel(dir, de->d_name);
                subrel = local_join_rel(rel, de->d_name);
                if (!sub || !subrel)
                        return log_oom();
                (void) watch_tail(s, lt, sub, subrel, partial);
        }
        return 0;
}

/* Watches dir, whose entries are matched against component `level`, and what lies below it. */
static int watch_dir(LocalState *s, LocalTarget *lt, size_t level, const char *dir,
                     const Binding *partial) {
        const Template *t = lt->target.template;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        if (level == last_level(lt))
                return watch_tail(s, lt, dir, NULL, partial);
        r = add_watch(s, lt, level, dir, NULL, partial);
        if (r <= 0)
                return r;

        if (template_component_is_literal(t, level)) {
                _cleanup_free_ char *sub = NULL;
                struct stat st;

                if (path_join(dir, template_component_literal(t, level), &sub) < 0)
                        return log_oom();
                if (stat(sub, &st) < 0 || !S_ISDIR(st.st_mode))
                        return 0;
                return watch_dir(s, lt, level + 1, sub, partial);
        }
        d = opendir(dir);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                _cleanup_(binding_freep) Binding *b = NULL;
                _cleanup_free_ char *sub = NULL;

                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                if (de->d_name[0] == '.')       /* a literal component was handled above */
                        continue;
                r = template_match_component(t, level, de->d_name, partial, &b);
                if (r <= 0)
                        continue;
                if (path_join(dir, de->d_name, &sub) < 0)
                        return log_oom();
                (void) watch_dir(s, lt, level + 1, sub, b);
        }
        return 0;
}

/* From the deepest directory of the template's literal prefix that exists now; what is
 * missing below it is watched for as it is created. Idempotent: watches already there stay. */
static int watch_from_root(LocalState *s, LocalTarget *lt) {
        _cleanup_(binding_freep) Binding *empty = NULL;
        int r;

        r = binding_new(&empty);
        if (r < 0)
                return r;
        for (size_t level = lt->root_level; level >= 1; level--) {
                _cleanup_free_ char *dir = local_components_path(lt->target.template, level);
                struct stat st;

                if (!dir)
                        return -ENOMEM;
                if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
                        return watch_dir(s, lt, level, dir, empty);
        }
        return 0;
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

/* A directory renamed away: the watches at and below it, which would report under its old
 * name, go (its new place, if watched, watches it again). */
static bool entry_below(const WatchEntry *e, const void *path) {
        size_t n = strlen(path);

        return strneq(e->dir, path, n) && (!e->dir[n] || e->dir[n] == '/');
}

/* The root's own watch, or one above it: not a directory of a {x:path} tail, whose level is
 * the root's too when the root is the last level. */
static bool at_root_or_above(const WatchEntry *e) {
        return e->level < e->target->root_level ||
               (e->level == e->target->root_level && !e->rel);
}

/*
 * The watches at and below it go. A target whose root was among them (mv out out.old, mv out
 * /trash/, seen by its parent's watch, another target's, or by the root's own IN_MOVE_SELF) is
 * no longer where its template says, though those watches would follow the tree: it is watched
 * again from what is left of its prefix, and whatever it held counts as gone, as for a
 * directory renamed away below a root.
 */
static void forget_dir(LocalState *s, const char *path) {
        _cleanup_free_ LocalTarget **moved = NULL;
        _cleanup_(binding_freep) Binding *all = NULL;
        size_t n = 0, cap = 0;
        Watch *w, *tmp;

        HASH_ITER(hh, s->watches, w, tmp)
                for (size_t i = 0; i < w->n_entries; i++) {
                        LocalTarget *lt = w->entries[i].target;
                        bool known = false;

                        if (!entry_below(&w->entries[i], path) ||
                            !at_root_or_above(&w->entries[i]))
                                continue;
                        for (size_t k = 0; k < n && !known; k++)
                                known = moved[k] == lt;
                        if (known)
                                continue;
                        if (n == cap) {
                                LocalTarget **m = reallocarray(moved, cap * 2 + 4,
                                                               sizeof(LocalTarget *));
                                if (!m) {
                                        log_oom();
                                        break;
                                }
                                moved = m;
                                cap = cap * 2 + 4;
                        }
                        moved[n++] = lt;
                }
        drop_entries(s, entry_below, path);
        if (n > 0 && binding_new(&all) < 0) {
                log_oom();
                return;
        }
        for (size_t k = 0; k < n; k++) {
                log_info("Target '%s': %s was renamed away; watching for it again",
                         moved[k]->target.name, path);
                (void) watch_from_root(s, moved[k]);
                target_gone_below(&moved[k]->target, all);
        }
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
                forget_dir(s, path);
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
                        (void) watch_tail(s, lt, path, name, e->partial);
                        (void) local_scan_tail(lt, path, name, e->partial, hint_fresh, NULL);
                }
                return;
        }
        if (template_match_component(t, e->level, ev->name, e->partial, &b) <= 0)
                return;
        (void) watch_dir(s, lt, e->level + 1, path, b);
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
                watch_free(s, w);
                for (size_t i = 0; i < n_again; i++) {
                        (void) watch_from_root(s, again[i]);
                        /* Made again before the new watch existed: its contents are news. */
                        target_rescan_lost(&again[i]->target, lost_from(s, s->drained));
                }
                return;
        }
        if (ev->mask & IN_MOVE_SELF) {
                /* Only asked for at the root and above; the path, since w goes. */
                _cleanup_free_ char *dir = w->n_entries > 0 ? strdup(w->entries[0].dir) : NULL;

                if (dir)
                        forget_dir(s, dir);
                return;
        }
        if (ev->len == 0)
                return;
        if (ev->name[0] == '#' && ev->mask & IN_CLOSE_WRITE && w->n_entries > 0) {
                local_quiet_tmpfile_closed(s, w->entries[0].dir, ev->name);
                return;
        }

        /* Index, not pointer: watch_dir() below may add entries to other watches. */
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
                (void) watch_from_root(s, s->started[i]);
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
                        mount_back(s, s->started[i]);
        }
        HASH_ITER(hh, s->watches, w, tmp)
                for (size_t i = 0; i < w->n_entries; i++)
                        scan_network_fs(s, w->entries[i].target, w->entries[i].dir);
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
        r = watch_from_root(s, lt);
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
        drop_entries(s, entry_of, lt);
        for (size_t i = 0; i < s->n_started; i++)
                if (s->started[i] == lt) {
                        s->started[i] = s->started[--s->n_started];
                        break;
                }
}
