/* SPDX-License-Identifier: MIT */
/*
 * The "path" target kind: local files, watched with inotify.
 *
 * A template /data/{day:date}/{name}.log is a chain of components; a directory at level L is one
 * whose entries are matched against component L. Every directory that can lead to a match gets
 * a watch, with the parameters bound on the way down; a new matching directory is watched and
 * then scanned, because files can land in it before its watch exists. One inotify descriptor
 * serves all targets of a daemon (the per-user instance limit is 128), and one watch may serve
 * several targets that share a directory.
 *
 * A file counts as arrived on IN_CLOSE_WRITE or IN_MOVED_TO, never on IN_CREATE, so a
 * half-written file never starts anything. Names of editors' and rsync's temporaries and the
 * daemon's own staging files never match.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include "util/hash.h"

#include "log.h"
#include "target.h"
#include "util/fs-util.h"
#include "util/strv.h"

#define LOCAL_TMP_PREFIX ".sluice-"

typedef struct LocalTarget {
        Target target;
        size_t root_level;      /* first component with a wildcard, or the last one */
} LocalTarget;

typedef struct WatchEntry {
        LocalTarget *target;    /* not owned */
        size_t level;
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

typedef struct LocalState {
        int fd;
        sd_event_source *source;
        Watch *watches;         /* by wd */
        LocalTarget **started;  /* for IN_Q_OVERFLOW; not owned */
        size_t n_started;
} LocalState;

static LocalTarget *LOCAL(Target *t) {
        return (LocalTarget *) t;
}

static size_t last_level(const LocalTarget *lt) {
        return lt->target.template->n_components - 1;
}

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

static void local_state_free(void *p) {
        LocalState *s = p;
        Watch *w, *tmp;

        HASH_ITER(hh, s->watches, w, tmp)
                watch_free(s, w);
        sd_event_source_disable_unref(s->source);
        safe_close(s->fd);
        free(s->started);
        free(s);
}

/* Names the kind never takes as an arrival: dot files (rsync's .name.XXXXXX, vim's .x.swp, our
 * own staging files), emacs' #x# and .#x, and backups ending in '~'. */
static bool name_ignored(const LocalTarget *lt, const char *name) {
        const Template *t = lt->target.template;
        const TemplateComponent *c = &t->components[last_level(lt)];
        bool dot_ok = c->n > 0 && t->parts[c->first].literal && t->parts[c->first].literal[0] == '.';

        if (strneq(name, LOCAL_TMP_PREFIX, strlen(LOCAL_TMP_PREFIX)))
                return true;
        if (name[0] == '.' && !dot_ok)
                return true;
        return name[0] == '#' || name[strlen(name) - 1] == '~';
}

static int local_scan_tree(LocalTarget *lt, size_t level, const char *dir, const Binding *partial,
                           target_scan_func f, void *userdata);
static int scan_tail(LocalTarget *lt, const char *dir, const char *rel, const Binding *partial,
                     target_scan_func f, void *userdata);
static int watch_dir(LocalState *s, LocalTarget *lt, size_t level, const char *dir,
                     const Binding *partial);

/* "rel/name", or "name" when rel is NULL. */
static char *join_rel(const char *rel, const char *name) {
        char *s = NULL;

        if (!rel)
                return strdup(name);
        (void) path_join(rel, name, &s);
        return s;
}

static const uint32_t watch_mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR;

static int watch_add_entry(Watch *w, LocalTarget *lt, size_t level, const char *dir,
                           const char *rel, const Binding *partial) {
        WatchEntry *n;
        WatchEntry e = { .target = lt, .level = level };
        int r;

        for (size_t i = 0; i < w->n_entries; i++)
                if (w->entries[i].target == lt && w->entries[i].level == level &&
                    streq(strempty(w->entries[i].rel), strempty(rel)))
                        return 0;
        e.dir = strdup(dir);
        e.rel = rel ? strdup(rel) : NULL;
        if (!e.dir || (rel && !e.rel)) {
                watch_entry_done(&e);
                return -ENOMEM;
        }
        r = binding_copy(partial, &e.partial);
        if (r < 0) {
                free(e.dir);
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

static int add_watch(LocalState *s, LocalTarget *lt, size_t level, const char *dir,
                     const char *rel, const Binding *partial) {
        Watch *w;
        int wd;

        wd = inotify_add_watch(s->fd, dir, watch_mask);
        if (wd < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;       /* gone again before we got to it */
                if (errno == ENOSPC)
                        return log_error_errno(errno,
                                               "Cannot watch '%s' for target '%s': out of inotify "
                                               "watches (fs.inotify.max_user_watches)",
                                               dir, lt->target.name);
                return log_error_errno(errno, "Cannot watch '%s': %m", dir);
        }
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
                sub = join_rel(dir, de->d_name);
                subrel = join_rel(rel, de->d_name);
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

static int hint_fresh(Target *t, const Binding *b, void *userdata) {
        target_hint(t, b, true);
        return 0;
}

static void handle_event(LocalState *s, const struct inotify_event *ev) {
        Watch *w;

        HASH_FIND_INT(s->watches, &ev->wd, w);
        if (!w)
                return;
        if (ev->mask & IN_IGNORED) {
                watch_free(s, w);
                return;
        }
        if (ev->len == 0)
                return;

        /* Index, not pointer: watch_dir() below may add entries to other watches. */
        for (size_t i = 0; i < w->n_entries; i++) {
                LocalTarget *lt = w->entries[i].target;
                const Template *t = lt->target.template;
                size_t level = w->entries[i].level;
                bool last = level == last_level(lt);
                _cleanup_(binding_freep) Binding *b = NULL;
                _cleanup_free_ char *path = NULL, *name = NULL;
                int r;

                name = join_rel(w->entries[i].rel, ev->name);
                path = join_rel(w->entries[i].dir, ev->name);
                if (!name || !path) {
                        log_oom();
                        return;
                }
                if (ev->mask & IN_ISDIR) {
                        if (!(ev->mask & (IN_CREATE | IN_MOVED_TO)))
                                continue;
                        if (ev->name[0] == '.' && (last || !template_component_is_literal(t, level)))
                                continue;
                        /* Watch first, then scan: a file landing in between is seen by both,
                         * and hints are idempotent. */
                        if (last && template_has_path_tail(t)) {
                                (void) watch_tail(s, lt, path, name, w->entries[i].partial);
                                (void) scan_tail(lt, path, name, w->entries[i].partial,
                                                 hint_fresh, NULL);
                                continue;
                        }
                        if (last)
                                continue;
                        r = template_match_component(t, level, ev->name, w->entries[i].partial,
                                                     &b);
                        if (r <= 0)
                                continue;
                        (void) watch_dir(s, lt, level + 1, path, b);
                        (void) local_scan_tree(lt, level + 1, path, b, hint_fresh, NULL);
                        continue;
                }
                if (!(ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) || !last)
                        continue;
                if (name_ignored(lt, ev->name))
                        continue;
                r = template_match_component(t, level, name, w->entries[i].partial, &b);
                if (r <= 0)
                        continue;
                target_hint(&lt->target, b, true);
        }
}

static int on_inotify(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        LocalState *s = userdata;
        char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));

        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return log_error_errno(errno, "Failed to read inotify events: %m");
                }
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;

                        p += sizeof(struct inotify_event) + ev->len;
                        if (ev->mask & IN_Q_OVERFLOW) {
                                log_warning("inotify queue overflowed, rescanning every local "
                                            "target");
                                for (size_t i = 0; i < s->n_started; i++)
                                        target_rescan(&s->started[i]->target);
                                continue;
                        }
                        handle_event(s, ev);
                }
        }
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
        h->kind_state[TARGET_KIND_PATH] = s;
        *ret = s;
        return 0;
}

static char *components_path(const Template *t, size_t n) {
        char *p = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&p, &len);

        if (!f)
                return NULL;
        for (size_t i = 1; i < n; i++)
                fprintf(f, "/%s", template_component_literal(t, i));
        if (n <= 1)
                fputc('/', f);
        if (fclose(f) != 0) {
                free(p);
                return NULL;
        }
        return p;
}

static int local_start(Target *t) {
        LocalTarget *lt = LOCAL(t);
        _cleanup_(binding_freep) Binding *empty = NULL;
        LocalTarget **n;
        LocalState *s = NULL;
        int r;

        r = local_state_get(t->host, &s);
        if (r < 0)
                return r;
        r = binding_new(&empty);
        if (r < 0)
                return r;
        n = reallocarray(s->started, s->n_started + 1, sizeof(LocalTarget *));
        if (!n)
                return -ENOMEM;
        s->started = n;
        s->started[s->n_started++] = lt;

        /* The deepest directory of the literal prefix that exists now; what is missing below it
         * is watched for as it is created. */
        for (size_t level = lt->root_level; level >= 1; level--) {
                _cleanup_free_ char *dir = components_path(t->template, level);
                struct stat st;

                if (!dir)
                        return -ENOMEM;
                if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
                        return watch_dir(s, lt, level, dir, empty);
        }
        return 0;
}

static void local_stop(Target *t) {
        LocalState *s = t->host->kind_state[TARGET_KIND_PATH];
        Watch *w, *tmp;

        if (!s)
                return;
        HASH_ITER(hh, s->watches, w, tmp) {
                for (size_t i = 0; i < w->n_entries;) {
                        if (w->entries[i].target != LOCAL(t)) {
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
        for (size_t i = 0; i < s->n_started; i++)
                if (s->started[i] == LOCAL(t)) {
                        s->started[i] = s->started[--s->n_started];
                        break;
                }
}

/* Files at the last level, and below it for a {x:path} tail; rel is their path there. */
static int scan_tail(LocalTarget *lt, const char *dir, const char *rel, const Binding *partial,
                     target_scan_func f, void *userdata) {
        const Template *t = lt->target.template;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        while ((de = readdir(d))) {
                _cleanup_(binding_freep) Binding *b = NULL;
                _cleanup_free_ char *name = NULL, *sub = NULL;
                struct stat st;

                if (name_ignored(lt, de->d_name) || fstatat(dirfd(d), de->d_name, &st, 0) < 0)
                        continue;
                name = join_rel(rel, de->d_name);
                if (!name)
                        return -ENOMEM;
                if (S_ISDIR(st.st_mode)) {
                        if (!template_has_path_tail(t))
                                continue;
                        sub = join_rel(dir, de->d_name);
                        if (!sub)
                                return -ENOMEM;
                        r = scan_tail(lt, sub, name, partial, f, userdata);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!S_ISREG(st.st_mode))
                        continue;
                r = template_match_component(t, last_level(lt), name, partial, &b);
                if (r < 0)
                        return r;
                if (r > 0) {
                        r = f(&lt->target, b, userdata);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int local_scan_tree(LocalTarget *lt, size_t level, const char *dir, const Binding *partial,
                           target_scan_func f, void *userdata) {
        const Template *t = lt->target.template;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        if (level == last_level(lt))
                return scan_tail(lt, dir, NULL, partial, f, userdata);
        if (template_component_is_literal(t, level)) {
                _cleanup_free_ char *sub = NULL;

                if (path_join(dir, template_component_literal(t, level), &sub) < 0)
                        return -ENOMEM;
                return local_scan_tree(lt, level + 1, sub, partial, f, userdata);
        }
        d = opendir(dir);
        if (!d)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        while ((de = readdir(d))) {
                _cleanup_(binding_freep) Binding *b = NULL;
                _cleanup_free_ char *sub = NULL;
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                r = template_match_component(t, level, de->d_name, partial, &b);
                if (r < 0)
                        return r;
                if (r == 0 || fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                if (path_join(dir, de->d_name, &sub) < 0)
                        return -ENOMEM;
                r = local_scan_tree(lt, level + 1, sub, b, f, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int local_scan(Target *t, target_scan_func f, void *userdata) {
        LocalTarget *lt = LOCAL(t);
        _cleanup_(binding_freep) Binding *empty = NULL;
        _cleanup_free_ char *root = components_path(t->template, lt->root_level);
        int r;

        if (!root)
                return -ENOMEM;
        r = binding_new(&empty);
        if (r < 0)
                return r;
        return local_scan_tree(lt, lt->root_level, root, empty, f, userdata);
}

static int local_check(Target *t, const char *location) {
        struct stat st;

        if (stat(location, &st) < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        return S_ISREG(st.st_mode);
}

/*
 * A run under another user cannot create files in the daemon's directories: the daemon creates
 * the staged file for it, writable by anyone, with its modification time at the epoch. Any
 * write, even truncating it to nothing, moves the time; a file still at the epoch was never
 * written.
 */
static int precreate(const char *tmp) {
        _cleanup_close_ int fd = -EBADF;
        struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { 0, 0 } };

        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, 0666) < 0 || futimens(fd, ts) < 0)
                return -errno;
        return 0;
}

static int local_stage(Target *t, const char *location, const char *run_id, bool foreign,
                       char **ret_tmp) {
        _cleanup_free_ char *dir = NULL, *base = NULL;
        size_t room;
        int r;

        r = path_split(location, &dir, &base);
        if (r < 0)
                return r;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        /* NAME_MAX is 255: keep the prefix and run id whole, cut the base name. */
        room = 255 - strlen(LOCAL_TMP_PREFIX) - strlen(run_id) - 1;
        if (asprintf(ret_tmp, "%s/" LOCAL_TMP_PREFIX "%s-%.*s", streq(dir, "/") ? "" : dir,
                     run_id, (int) MIN(room, strlen(base)), base) < 0)
                return -ENOMEM;
        if (foreign) {
                r = precreate(*ret_tmp);
                if (r < 0) {
                        *ret_tmp = mfree(*ret_tmp);
                        return r;
                }
        }
        return 0;
}

static int local_commit(Target *t, const char *tmp, const char *location) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EISDIR;
        /* Precreated for a run under another user, and never written (see precreate()). */
        if (st.st_mtim.tv_sec == 0 && st.st_mtim.tv_nsec == 0 && st.st_size == 0)
                return -ENOENT;
        /* Writable by anyone while the run needed it; no longer. */
        if ((st.st_mode & 0002) && fchmod(fd, st.st_mode & 0755) < 0)
                return -errno;
        if (fsync(fd) < 0)
                return -errno;
        if (rename(tmp, location) < 0)
                return -errno;
        return fsync_directory_of(location);
}

static void local_discard(Target *t, const char *tmp) {
        (void) unlink(tmp);
}

static int local_parse(Target *t, const config_setting_t *s, Diag *d) {
        LocalTarget *lt = LOCAL(t);
        const Template *tp = t->template;
        unsigned line = config_setting_source_line(config_setting_get_member(s, "path"));

        if (tp->text[0] != '/') {
                diag_error(d, line, "target '%s': path must be absolute: '%s'", t->name, tp->text);
                return 0;
        }
        for (size_t i = 1; i < tp->n_components; i++) {
                const char *lit = template_component_is_literal(tp, i)
                                          ? template_component_literal(tp, i)
                                          : NULL;
                if (lit && (streq(lit, "") || streq(lit, ".") || streq(lit, ".."))) {
                        diag_error(d, line,
                                   "target '%s': path '%s' has an empty, '.' or '..' component",
                                   t->name, tp->text);
                        return 0;
                }
        }
        if (tp->n_components < 2) {
                diag_error(d, line, "target '%s': path '%s' names no file", t->name, tp->text);
                return 0;
        }
        lt->root_level = 1;
        while (lt->root_level < tp->n_components - 1 &&
               template_component_is_literal(tp, lt->root_level))
                lt->root_level++;
        return 0;
}

const TargetKind target_kind_path = {
        .name = "path",
        .id = TARGET_KIND_PATH,
        .object_size = sizeof(LocalTarget),
        .parse = local_parse,
        .start = local_start,
        .stop = local_stop,
        .check = local_check,
        .scan = local_scan,
        .stage = local_stage,
        .commit = local_commit,
        .discard = local_discard,
        .host_done = local_state_free,
};
