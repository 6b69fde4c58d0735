/* SPDX-License-Identifier: MIT */
/*
 * The inotify watches of path targets, by watch descriptor. A template's directories are
 * watched from the deepest one of its literal prefix that exists, each matching directory with
 * the parameters bound on the way down, and each watch's entries say which target sees the
 * directory, at which level and under which name: one watch serves every target that shares
 * its directory (the kernel gives one descriptor per inode, the mask of all of them added
 * up). A directory renamed keeps its watch, so a rename away drops the entries at and below
 * it, and a target whose root went is watched for again from what is left of its prefix.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "local-watch-internal.h"
#include "log.h"
#include "util/fs-util.h"

static void watch_entry_done(WatchEntry *e) {
        free(e->dir);
        free(e->rel);
        binding_free(e->partial);
}

void local_watch_free(LocalState *s, Watch *w) {
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
                        local_watch_free(s, w);
                }
        }
}

static bool entry_of(const WatchEntry *e, const void *lt) {
        return e->target == lt;
}

void local_watch_drop_target(LocalState *s, LocalTarget *lt) {
        drop_entries(s, entry_of, lt);
}

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

static int watch_add_entry(Watch *w, LocalTarget *lt, size_t level, const char *dir,
                           dev_t dev, const char *rel, const Binding *partial) {
        WatchEntry *n;
        WatchEntry e = { .target = lt, .level = level, .dev = dev };
        int r;

        for (size_t i = 0; i < w->n_entries; i++) {
                WatchEntry *x = &w->entries[i];

                if (x->target != lt || x->level != level)
                        continue;
                x->dev = dev;
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
        struct stat st;
        Watch *w;
        int wd;

        /* The same directory may get the mask of several targets: add to it, never replace. */
        wd = inotify_add_watch(s->fd, dir, watch_mask(lt, level) | IN_MASK_ADD);
        if (wd < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;       /* gone again before we got to it */
                if (errno == ENOSPC) {
                        local_poll_fall_back(s, lt, dir);
                        return 0;
                }
                lt->watch_failed = true;
                return log_error_errno(errno, "Cannot watch '%s': %m", dir);
        }
        /* Gone again: its watch goes too (IN_IGNORED). */
        if (stat(dir, &st) < 0)
                st.st_dev = 0;
        else
                local_poll_network_fs(s, lt, dir, st.st_dev, NULL);
        HASH_FIND_INT(s->watches, &wd, w);
        if (!w) {
                w = calloc(1, sizeof(Watch));
                if (!w)
                        return log_oom();
                w->wd = wd;
                HASH_ADD_INT(s->watches, wd, w);
        }
        if (watch_add_entry(w, lt, level, dir, st.st_dev, rel, partial) < 0)
                return log_oom();
        return 1;
}

/* A {x:path} tail matches files at any depth below the last level's directory: watch it all. */
int local_watch_tail(LocalState *s, LocalTarget *lt, const char *dir, const char *rel,
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
                (void) local_watch_tail(s, lt, sub, subrel, partial);
        }
        return 0;
}

/* Watches dir, whose entries are matched against component `level`, and what lies below it. */
int local_watch_dir(LocalState *s, LocalTarget *lt, size_t level, const char *dir,
                    const Binding *partial) {
        const Template *t = lt->target.template;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        if (level == last_level(lt))
                return local_watch_tail(s, lt, dir, NULL, partial);
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
                return local_watch_dir(s, lt, level + 1, sub, partial);
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
                (void) local_watch_dir(s, lt, level + 1, sub, b);
        }
        return 0;
}

/* From the deepest directory of the template's literal prefix that exists now; what is
 * missing below it is watched for as it is created. Idempotent: watches already there stay. */
int local_watch_from_root(LocalState *s, LocalTarget *lt) {
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
                        return local_watch_dir(s, lt, level, dir, empty);
        }
        return 0;
}

/* A directory renamed away: the watches at and below it, which would report under its old
 * name, go (its new place, if watched, watches it again). */
static bool entry_below(const WatchEntry *e, const void *path) {
        size_t n = strlen(path);

        return strneq(e->dir, path, n) && (!e->dir[n] || e->dir[n] == '/');
}

/*
 * The watches at and below it go. A target whose root was among them (mv out out.old, mv out
 * /trash/, seen by its parent's watch, another target's, or by the root's own IN_MOVE_SELF) is
 * no longer where its template says, though those watches would follow the tree: it is watched
 * again from what is left of its prefix, and whatever it held counts as gone, as for a
 * directory renamed away below a root.
 */
void local_watch_forget_dir(LocalState *s, const char *path) {
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
                (void) local_watch_from_root(s, moved[k]);
                target_gone_below(&moved[k]->target, all);
        }
}
