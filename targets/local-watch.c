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
 * This file holds the inotify instance that all targets share, the watch of the mount table,
 * and the start and stop of a target. The watches themselves are kept in local-watch-table.c,
 * the events are read and dispatched in local-watch-events.c, the files waiting to be left
 * alone long enough (a quiet period, a file being written) are in local-quiet.c, the scans
 * besides or instead of watches in local-poll.c; what those share with this file, in
 * local-watch-internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local-watch-internal.h"
#include "log.h"
#include "util/hash.h"

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

/*
 * A mount came or went. One that appeared over a watched directory hides it: its watch sees
 * nothing of the files there, as on any network file system. A watched directory whose device
 * changed has its file system asked for again, so such a target is scanned from now on (a
 * reload then watches the directory as it is now). One that a target's directories were on
 * and that went away holds that target, and one that is back lets it go on (local-mount.c).
 * The mount table is read once for all of them, and only if one of them needs it.
 */
static int on_mounts(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        _cleanup_(mount_table_done) MountTable table = {};
        LocalState *s = userdata;
        char buf[4096];
        Watch *w, *tmp;

        /* Read to the end, or the change stays signalled. */
        if (lseek(fd, 0, SEEK_SET) == 0)
                while (read(fd, buf, sizeof(buf)) > 0)
                        ;
        for (size_t i = 0; i < s->n_started; i++) {
                bool back;

                if (!local_mounts_away(s->started[i], &table, &back) && back)
                        local_poll_mount_back(s, s->started[i]);
        }
        HASH_ITER(hh, s->watches, w, tmp)
                for (size_t i = 0; i < w->n_entries; i++) {
                        WatchEntry *e = &w->entries[i];
                        struct stat st;

                        if (stat(e->dir, &st) < 0 || st.st_dev == e->dev)
                                continue;
                        e->dev = st.st_dev;
                        local_poll_network_fs(s, e->target, e->dir, st.st_dev, &table);
                }
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
        r = sd_event_add_io(h->event, &s->source, s->fd, EPOLLIN, local_watch_on_inotify, s);
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

bool local_watch_away(TargetHost *h, const char *path) {
        LocalState *s = h ? h->kind_state[TARGET_KIND_PATH] : NULL;

        for (size_t i = 0; s && i < s->n_started; i++)
                if (local_mount_away(&s->started[i]->target, path))
                        return true;
        return false;
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
