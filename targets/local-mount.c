/* SPDX-License-Identifier: MIT */
/*
 * The network file systems a local target's directories are on, each noted as the directory it
 * is mounted on and its device. Unmounted while the daemon runs (or covered by another mount),
 * one would look like every file under it deleted at once: to the scans of such a target (it is
 * scanned as well as watched), an output gone, its instance run again, and its task writing to
 * the bare mount point on the local disk. So a mount that is no longer there holds its target:
 * its scans report nothing gone (local-watch.c), and no task is started that writes under it
 * (TargetKind.away, asked by the scheduler). It is back when the same device is there again, or
 * the same file system, source and root under another device (FUSE and NFS take whichever
 * number is free): the target is watched and scanned again then, and what landed meanwhile is
 * an arrival. A reload takes the directory as it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include "local.h"
#include "log.h"

struct LocalMount {
        char *path;     /* where it is mounted (mount_top()), as the target's paths spell it */
        dev_t dev;
        const char *fs; /* local_network_fs()'s */
        char *source;   /* file system, source and root, as the mount table says; NULL: unknown */
        char *away;     /* while it is away, why, for status and held starts; NULL: mounted */
};

DEFINE_POINTER_CLEANUP(FILE, fclose);

const char *local_network_fs(const char *dir) {
        static const struct {
                unsigned long magic;
                const char *name;
        } table[] = {
                { NFS_SUPER_MAGIC, "nfs" },     { SMB_SUPER_MAGIC, "smb" },
                { CIFS_SUPER_MAGIC, "cifs" },   { SMB2_SUPER_MAGIC, "smb2" },
                { FUSE_SUPER_MAGIC, "fuse" },   { CEPH_SUPER_MAGIC, "ceph" },
                { AFS_SUPER_MAGIC, "afs" },     { AFS_FS_MAGIC, "afs" },
                { CODA_SUPER_MAGIC, "coda" },   { V9FS_MAGIC, "9p" },
                { OCFS2_SUPER_MAGIC, "ocfs2" }, { 0x01161970, "gfs2" },
                { 0x0bd00bd0, "lustre" },
        };
        struct statfs sf;

        if (statfs(dir, &sf) < 0)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if ((unsigned long) sf.f_type == table[i].magic)
                        return table[i].name;
        return NULL;
}

/* Whether path is dir or lies below it. */
static bool path_below(const char *path, const char *dir) {
        size_t n = strlen(dir);

        return strneq(path, dir, n) && (path[n] == '/' || !path[n] || streq(dir, "/"));
}

/* Whether the kernel says path is the root of a mount (since Linux 5.8): two mounts of one NFS
 * export share a device, which does not tell them apart. */
static bool mount_root(const char *path) {
        struct statx sx;

        return statx(AT_FDCWD, path, 0, 0, &sx) == 0 &&
               sx.stx_attributes_mask & sx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
}

/* Where dir's file system, on dev, is mounted: the root of that mount up dir's path, or else
 * the topmost directory of it still on dev; NULL when out of memory. */
static char *mount_top(const char *dir, dev_t dev) {
        char *p = strdup(dir), *slash;

        while (p && !mount_root(p) && (slash = strrchr(p, '/')) && slash != p) {
                struct stat st;

                *slash = '\0';
                if (stat(p, &st) < 0 || st.st_dev != dev) {
                        *slash = '/';
                        break;
                }
        }
        return p;
}

/* /proc/self/mountinfo escapes a space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s) {
        char *o = s;

        for (; *s; s++, o++)
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
                    s[3] >= '0' && s[3] <= '7') {
                        *o = (char) ((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
                        s += 3;
                } else
                        *o = *s;
        *o = '\0';
}

/* What the mount table says is mounted at path with dev: "fstype source root", or NULL. */
static char *mount_source(const char *path, dev_t dev) {
        _cleanup_free_ char *real = realpath(path, NULL), *line = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        size_t size = 0;

        if (!real || !(f = fopen("/proc/self/mountinfo", "re")))
                return NULL;
        /* 36 35 98:0 /export /mnt/data rw,noatime shared:1 - nfs4 server:/export rw,... */
        while (getline(&line, &size, f) > 0) {
                _cleanup_free_ char *root = NULL, *point = NULL, *type = NULL, *source = NULL;
                unsigned maj, min;
                char *rest, *s;

                if (sscanf(line, "%*u %*u %u:%u %ms %ms", &maj, &min, &root, &point) != 4 ||
                    makedev(maj, min) != dev)
                        continue;
                unescape_octal(point);
                rest = strstr(line, " - ");
                if (!streq(point, real) || !rest ||
                    sscanf(rest, " - %ms %ms", &type, &source) != 2 ||
                    asprintf(&s, "%s %s %s", type, source, root) < 0)
                        continue;
                return s;
        }
        return NULL;
}

void local_mount_note(LocalTarget *lt, const char *dir, const char *fs) {
        LocalMount m = { .fs = fs }, *n;
        struct stat st;

        if (stat(dir, &st) < 0)
                return;
        /* Once per mount; none while one away is covered by another (that one is not it). */
        for (size_t k = 0; k < lt->n_mounts; k++)
                if (path_below(dir, lt->mounts[k].path) &&
                    (lt->mounts[k].dev == st.st_dev || lt->mounts[k].away))
                        return;
        m.dev = st.st_dev;
        m.path = mount_top(dir, st.st_dev);
        n = m.path ? reallocarray(lt->mounts, lt->n_mounts + 1, sizeof(LocalMount)) : NULL;
        if (!n) {
                free(m.path);
                log_oom();
                return;
        }
        m.source = mount_source(m.path, m.dev);
        lt->mounts = n;
        lt->mounts[lt->n_mounts++] = m;
}

typedef enum MountState {
        MOUNT_THERE,
        MOUNT_AGAIN,    /* the same, under another device: unmounted and mounted again */
        MOUNT_AWAY,
} MountState;

static MountState mount_state(const LocalMount *m, dev_t *ret_dev) {
        _cleanup_free_ char *source = NULL;
        struct stat st;

        if (stat(m->path, &st) < 0)
                return MOUNT_AWAY;
        *ret_dev = st.st_dev;
        if (st.st_dev == m->dev)
                return MOUNT_THERE;
        source = m->source ? mount_source(m->path, st.st_dev) : NULL;
        return source && streq(source, m->source) ? MOUNT_AGAIN : MOUNT_AWAY;
}

static void went_away(LocalTarget *lt, LocalMount *m) {
        if (asprintf(&m->away, "'%s' is no longer on the file system it was on (%s): its mount "
                               "went away? Files there are not taken as deleted, nor written, "
                               "until it is back or `sluicectl reload`",
                     m->path, m->fs) < 0) {
                m->away = NULL;
                log_oom();
                return;
        }
        log_warning("'%s' of target '%s' is no longer on the file system it was on (%s): its "
                    "mount went away? Its files are not taken as deleted, nor are tasks started "
                    "that write there, until it is back, or until `sluicectl reload` takes the "
                    "directory as it is",
                    m->path, lt->target.name, m->fs);
}

bool local_mounts_away(LocalTarget *lt, bool *ret_back) {
        bool away = false, back = false;

        for (size_t k = 0; k < lt->n_mounts; k++) {
                LocalMount *m = &lt->mounts[k];
                dev_t dev = m->dev;
                MountState state = mount_state(m, &dev);

                if (state == MOUNT_AWAY && !m->away)
                        went_away(lt, m);
                else if (state != MOUNT_AWAY && (m->away || state == MOUNT_AGAIN)) {
                        /* Its watches went with it (IN_UNMOUNT), or watch the covered
                         * directory now. */
                        if (m->away)
                                log_notice("'%s' of target '%s' is back on its file system "
                                           "(%s): watching and scanning it again",
                                           m->path, lt->target.name, m->fs);
                        m->away = mfree(m->away);
                        m->dev = dev;
                        back = true;
                }
                away = away || m->away;
        }
        *ret_back = back;
        return away;
}

const char *local_mounts_held(LocalTarget *lt) {
        for (size_t k = 0; k < lt->n_mounts; k++)
                if (lt->mounts[k].away)
                        return lt->mounts[k].away;
        return NULL;
}

const char *local_mount_away(Target *t, const char *location) {
        LocalTarget *lt = LOCAL(t);

        if (!location)
                return lt->n_mounts > 0 ? "" : NULL;
        /* Looked at now, not at the last scan or mount table change: a start in between
         * would write to the bare mount point. Only the way back waits for those. */
        for (size_t k = 0; k < lt->n_mounts; k++) {
                LocalMount *m = &lt->mounts[k];
                dev_t dev;

                if (!path_below(location, m->path))
                        continue;
                if (!m->away && mount_state(m, &dev) == MOUNT_AWAY)
                        went_away(lt, m);
                if (m->away)
                        return m->away;
        }
        return NULL;
}

void local_mounts_forget(LocalTarget *lt) {
        for (size_t k = 0; k < lt->n_mounts; k++) {
                free(lt->mounts[k].path);
                free(lt->mounts[k].source);
                free(lt->mounts[k].away);
        }
        lt->mounts = mfree(lt->mounts);
        lt->n_mounts = 0;
}
