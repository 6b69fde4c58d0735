/* SPDX-License-Identifier: MIT */
/*
 * The network file systems a local target's directories are on, each noted as the directory it
 * is mounted on and its device, with its type, source and root from the mount table. Unmounted
 * while the daemon runs (or covered by another mount), one would look like every file under it
 * deleted at once: to the scans of such a target (it is scanned as well as watched), an output
 * gone, its instance run again, and its task writing to the bare mount point on the local disk.
 * So a mount that is no longer there holds its target: its scans report nothing gone
 * (local-poll.c), and no task is started that writes under it (TargetKind.away, asked by the
 * scheduler). It is back when the same file system, source and root are mounted there again,
 * under whichever device (FUSE and NFS take whichever number is free, and give a freed one to
 * the next mount, which may be another file system): the target is watched and scanned again
 * then, and what landed meanwhile is an arrival.
 *
 * The notes are kept in STATE_DIR/mounts too, so that a restart, or a reload that starts the
 * target afresh, while the mount is away holds the target from its start rather than taking
 * the bare mount point for the directory. A note goes when no started target is on that mount
 * any more (the pipeline's paths changed), or when its line is deleted and a reload follows.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "local.h"
#include "log.h"
#include "util/fs-util.h"
#include "util/strv.h"

#define MOUNTS_FILE "mounts"
#define MOUNTS_HEADER "# sluice mounts 1: mount point, type, source, root (as in mountinfo)"

typedef enum MountState {
        MOUNT_THERE,
        MOUNT_AGAIN,    /* the same, under another device: unmounted and mounted again */
        MOUNT_AWAY,     /* nothing mounted there any more */
        MOUNT_OTHER,    /* another file system mounted there, maybe under the same device */
} MountState;

struct LocalMount {
        char *path;     /* where it is mounted (mount_top()), links followed (path_resolve()) */
        dev_t dev;      /* 0 for one held from a note (not seen mounted since the start) */
        char *fs;       /* local_network_fs()'s, or the type of a note */
        char *source;   /* file system, source and root, as the mount table says; NULL: unknown */
        char *away;     /* while it is away, why, for status and held starts; NULL: mounted */
        MountState said;        /* MOUNT_AWAY or MOUNT_OTHER, while away */
};

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

/* Whether the kernel says path is the root of a mount (since Linux 5.8): two mounts of one NFS
 * export share a device, which does not tell them apart. */
static bool mount_root(const char *path) {
        struct statx sx;

        return statx(AT_FDCWD, path, 0, 0, &sx) == 0 &&
               sx.stx_attributes_mask & sx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
}

/* Where dir's file system, on dev, is mounted, where the mount table does not say: the root of
 * that mount up dir's path, or else the topmost directory of it still on dev; NULL when out of
 * memory. */
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

/* The inverse of mount_table_unescape(), for a path in the notes. */
static char *escape_octal(const char *s) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        for (; *s; s++)
                if (strchr(" \t\n\\", *s))
                        fprintf(f, "\\%03o", (unsigned char) *s);
                else
                        fputc(*s, f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static int notes_path(TargetHost *h, char **ret) {
        if (!h || !h->state_dir)
                return -ENOENT;
        return path_join(h->state_dir, MOUNTS_FILE, ret);
}

/* The lines of STATE_DIR/mounts, each "POINT TYPE SOURCE ROOT"; NULL when there are none. */
static char **notes_read(TargetHost *h) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        char **l, **w;
        int r;

        if (notes_path(h, &path) < 0)
                return NULL;
        r = read_file(path, 1 << 20, &text, NULL);
        if (r < 0) {
                if (r != -ENOENT)
                        log_warning_errno(r, "Cannot read the notes of network file systems "
                                             "from '%s': %m; a mount away at the start is not "
                                             "seen", path);
                return NULL;
        }
        l = strv_split_newlines(text);
        w = l;
        STRV_FOREACH(x, l)
                if (!**x || **x == '#')
                        free(*x);
                else
                        *w++ = *x;
        if (w)
                *w = NULL;
        return l;
}

static void notes_write(TargetHost *h, char **l) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        if (notes_path(h, &path) < 0)
                return;
        if (!l || !l[0]) {
                if (unlink(path) < 0 && errno != ENOENT)
                        log_warning_errno(errno, "Cannot remove '%s': %m", path);
                return;
        }
        f = open_memstream(&buf, &len);
        if (!f)
                return (void) log_oom();
        fprintf(f, "%s\n", MOUNTS_HEADER);
        STRV_FOREACH(x, l)
                fprintf(f, "%s\n", *x);
        if (fclose(f) != 0)
                return (void) log_oom();
        r = write_file_replace(path, buf, len, 0644, true);
        if (r < 0)
                log_warning_errno(r, "Cannot keep the notes of network file systems in '%s': "
                                     "%m; a restart while one is away does not see it", path);
}

/* "POINT " of a note, escaped as in the file. */
static char *note_key(const char *point) {
        _cleanup_free_ char *e = escape_octal(point);
        char *k;

        return e && asprintf(&k, "%s ", e) >= 0 ? k : NULL;
}

/* A mount noted with what is mounted there: kept, replacing a note of the same point. */
static void note_save(LocalTarget *lt, const LocalMount *m) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *key = NULL, *line = NULL;
        char **w;

        if (!m->source || !lt->target.host || !lt->target.host->state_dir)
                return;
        key = note_key(m->path);
        if (!key || asprintf(&line, "%s%s", key, m->source) < 0)
                return (void) log_oom();
        l = notes_read(lt->target.host);
        if (strv_contains(l, line))
                return;
        w = l;
        STRV_FOREACH(x, l)
                if (strneq(*x, key, strlen(key)))
                        free(*x);
                else
                        *w++ = *x;
        if (w)
                *w = NULL;
        if (strv_extend(&l, line) < 0)
                return (void) log_oom();
        notes_write(lt->target.host, l);
}

void local_mount_note(LocalTarget *lt, const char *dir, const char *fs, dev_t dev,
                      MountTable *table) {
        _cleanup_(mount_table_done) MountTable own = {};
        _cleanup_free_ char *real = NULL;
        LocalMount m = { .dev = dev }, *n;
        const char *point = NULL, *source;

        /* Up the path the kernel took, not the one spelled: where a link leads (/data ->
         * /mnt/nfs/data) the mount is the one the mount table names (/mnt/nfs). */
        if (path_resolve(dir, &real) < 0)
                return;
        /* Once per mount; none while one away is covered by another (that one is not it). */
        for (size_t k = 0; k < lt->n_mounts; k++)
                if (path_below(real, lt->mounts[k].path) &&
                    (lt->mounts[k].dev == dev || lt->mounts[k].away))
                        return;
        source = mount_table_find(table ?: &own, real, dev, &point);
        m.path = point ? strdup(point) : mount_top(real, dev);
        m.source = source ? strdup(source) : NULL;
        m.fs = strdup(fs);
        n = m.path && m.fs && (m.source || !source)
                    ? reallocarray(lt->mounts, lt->n_mounts + 1, sizeof(LocalMount))
                    : NULL;
        if (!n) {
                free(m.path);
                free(m.fs);
                free(m.source);
                log_oom();
                return;
        }
        lt->mounts = n;
        lt->mounts[lt->n_mounts++] = m;
        note_save(lt, &m);
}

/* Back only as the same file system, source and root, whatever the device: a device number
 * freed by an unmount is given to the next FUSE or NFS mount, which may be another one. */
static MountState mount_state(const LocalMount *m, MountTable *table, dev_t *ret_dev,
                              char **ret_source) {
        _cleanup_(mount_table_done) MountTable own = {};
        const char *source;
        struct stat st;

        if (stat(m->path, &st) < 0)
                return MOUNT_AWAY;
        *ret_dev = st.st_dev;
        if (!m->source)
                return st.st_dev == m->dev ? MOUNT_THERE : MOUNT_AWAY;
        /* Still on the device it was on: the same mount, unless another took the number an
         * unmount freed meanwhile, which only a change of the mount table looks for (it reads
         * the table anyway), not every start and scan. Not so once it went: the next mount
         * there may well get that number. */
        if (st.st_dev == m->dev && !table && !m->away)
                return MOUNT_THERE;
        source = mount_table_at(table ?: &own, m->path, st.st_dev);
        if (!source)
                return MOUNT_AWAY;
        if (!streq(source, m->source)) {
                if (ret_source)
                        *ret_source = strdup(source);
                return MOUNT_OTHER;
        }
        return st.st_dev == m->dev ? MOUNT_THERE : MOUNT_AGAIN;
}

/* What is at m->path instead of it: "'PATH'OF is ...", OF naming the target in the log. */
static char *what_is_there(const LocalMount *m, MountState state, const char *other,
                           const char *of) {
        char *s;
        int r;

        if (state == MOUNT_OTHER)
                r = asprintf(&s, "'%s'%s is on another file system (%s) than the one it was on "
                                 "(%s): another one is mounted there?",
                             m->path, of, strna(other), m->source);
        else
                r = asprintf(&s, "'%s'%s is no longer on the file system it was on (%s): its "
                                 "mount went away?", m->path, of, m->fs);
        return r < 0 ? NULL : s;
}

static void went_away(LocalTarget *lt, LocalMount *m, MountState state, const char *other) {
        _cleanup_free_ char *what = what_is_there(m, state, other, ""), *of = NULL, *logged = NULL;
        const char *dir = lt->target.host ? lt->target.host->state_dir : NULL;

        m->away = mfree(m->away);
        if (asprintf(&of, " of target '%s'", lt->target.name) < 0 ||
            !(logged = what_is_there(m, state, other, of)) || !what ||
            asprintf(&m->away, "%s Files there are not taken as deleted, nor written, until it "
                               "is back", what) < 0) {
                m->away = NULL;
                log_oom();
                return;
        }
        m->said = state;
        log_warning("%s Its files are not taken as deleted, nor are tasks started that write "
                    "there, until it is back; if they moved for good, change the pipeline's "
                    "paths, or delete the line of '%s' in '%s/" MOUNTS_FILE "' and `sluicectl "
                    "reload`", logged, m->path, dir ?: "STATE_DIR");
}

/* Said once when it goes, and again when what is there changes (away, or another mount). */
static bool still_away(LocalTarget *lt, LocalMount *m, MountState state, const char *other) {
        if (state != MOUNT_AWAY && state != MOUNT_OTHER)
                return false;
        if (!m->away || m->said != state)
                went_away(lt, m, state, other);
        return true;
}

bool local_mounts_away(LocalTarget *lt, MountTable *table, bool *ret_back) {
        bool away = false, back = false;

        for (size_t k = 0; k < lt->n_mounts; k++) {
                LocalMount *m = &lt->mounts[k];
                _cleanup_free_ char *other = NULL;
                dev_t dev = m->dev;
                MountState state = mount_state(m, table, &dev, &other);

                if (still_away(lt, m, state, other))
                        ;
                else if (m->away || state == MOUNT_AGAIN) {
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

/* Why m is away, looked at now, not at the last scan or mount table change: a start in between
 * would write to the bare mount point, or to another file system. Only the way back waits for
 * those. NULL: it is there. */
static const char *away_now(LocalTarget *lt, LocalMount *m) {
        _cleanup_free_ char *other = NULL;
        dev_t dev;

        if (!m->away)
                (void) still_away(lt, m, mount_state(m, NULL, &dev, &other), other);
        return m->away;
}

const char *local_mount_away(Target *t, const char *location) {
        _cleanup_free_ char *real = NULL;
        LocalTarget *lt = LOCAL(t);

        if (!location || lt->n_mounts == 0)
                return lt->n_mounts > 0 ? "" : NULL;
        /* Where it leads, through a link too that leads nowhere while the mount is away. */
        if (path_resolve(location, &real) >= 0)
                location = real;
        for (size_t k = 0; k < lt->n_mounts; k++)
                if (path_below(location, lt->mounts[k].path) && away_now(lt, &lt->mounts[k]))
                        return lt->mounts[k].away;
        return NULL;
}

int local_mounts_foreach_away(LocalTarget *lt,
                              int (*f)(const char *location, const char *why, void *userdata),
                              void *userdata) {
        for (size_t k = 0; k < lt->n_mounts; k++) {
                _cleanup_free_ char *dir = NULL;
                LocalMount *m = &lt->mounts[k];
                int r;

                if (!away_now(lt, m))
                        continue;
                /* "/" of a root file system away stays "/". */
                if (asprintf(&dir, "%s%s", m->path, streq(m->path, "/") ? "" : "/") < 0)
                        return -ENOMEM;
                r = f(dir, m->away, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

static size_t n_components(const char *path) {
        size_t n = 0;

        for (; *path; path++)
                n += *path == '/' && path[1];
        return n;
}

/* Whether point is one of lt's directories, or above them (where they lead). */
static bool mount_of(const LocalTarget *lt, const char *point) {
        _cleanup_free_ char *spelled = local_components_path(lt->target.template, lt->root_level),
                            *root = NULL;
        size_t level;

        if (!spelled)
                return false;
        if (path_resolve(spelled, &root) < 0 && !(root = strdup(spelled)))
                return false;
        if (path_below(root, point))
                return true;
        /* A directory of the template's below the root: the file's level is not one. */
        level = n_components(spelled) + n_components(point) - n_components(root);
        return path_below(point, root) && level + 2 <= lt->target.template->n_components;
}

/* Splits a note into its point and "TYPE SOURCE ROOT"; false when it is not one. */
static bool note_parse(const char *line, char **ret_point, char **ret_source, char **ret_fs) {
        const char *sp = strchr(line, ' ');
        char *point, *fs;

        if (!sp || sp == line || !sp[1] || !strchr(sp + 1, ' '))
                return false;
        point = strndup(line, sp - line);
        fs = strndup(sp + 1, strcspn(sp + 1, " "));
        if (!point || !fs) {
                free(point);
                free(fs);
                return false;
        }
        mount_table_unescape(point);
        *ret_point = point;
        *ret_fs = fs;
        *ret_source = strdup(sp + 1);
        return *ret_source != NULL;
}

void local_mounts_check_notes(LocalTarget *lt) {
        _cleanup_strv_free_ char **l = notes_read(lt->target.host);
        _cleanup_(mount_table_done) MountTable table = {};

        STRV_FOREACH(x, l) {
                LocalMount m = {}, *n;
                _cleanup_free_ char *other = NULL;
                MountState state;
                dev_t dev = 0;

                if (!note_parse(*x, &m.path, &m.source, &m.fs)) {
                        free(m.path);
                        free(m.fs);
                        continue;
                }
                if (!mount_of(lt, m.path) ||
                    (state = mount_state(&m, &table, &dev, &other)) == MOUNT_THERE ||
                    state == MOUNT_AGAIN ||
                    !(n = reallocarray(lt->mounts, lt->n_mounts + 1, sizeof(LocalMount)))) {
                        /* Mounted as noted: noted again as its directories are watched. */
                        free(m.path);
                        free(m.fs);
                        free(m.source);
                        continue;
                }
                lt->mounts = n;
                lt->mounts[lt->n_mounts] = m;
                (void) still_away(lt, &lt->mounts[lt->n_mounts++], state, other);
        }
}

bool local_mounts_released(LocalTarget *lt) {
        _cleanup_strv_free_ char **l = NULL;
        bool read = false;

        for (size_t k = 0; k < lt->n_mounts; k++) {
                _cleanup_free_ char *key = NULL;
                bool found = false;

                if (!lt->mounts[k].away || !lt->mounts[k].source)
                        continue;
                if (!read) {
                        l = notes_read(lt->target.host);
                        read = true;
                }
                key = note_key(lt->mounts[k].path);
                STRV_FOREACH(x, l)
                        found = found || (key && strneq(*x, key, strlen(key)));
                if (key && !found)
                        return true;
        }
        return false;
}

void local_mounts_prune(TargetHost *h, LocalTarget **started, size_t n_started) {
        _cleanup_strv_free_ char **l = notes_read(h);
        char **w = l;
        bool dropped = false;

        STRV_FOREACH(x, l) {
                _cleanup_free_ char *point = NULL, *source = NULL, *fs = NULL;
                bool used = false;

                if (note_parse(*x, &point, &source, &fs))
                        for (size_t i = 0; i < n_started && !used; i++)
                                for (size_t k = 0; k < started[i]->n_mounts && !used; k++)
                                        used = streq(started[i]->mounts[k].path, point);
                if (used) {
                        *w++ = *x;
                        continue;
                }
                log_info("No target is on the network file system noted at '%s' any more: its "
                         "note is dropped", point ?: *x);
                free(*x);
                dropped = true;
        }
        if (w)
                *w = NULL;
        if (dropped)
                notes_write(h, l);
}

void local_mounts_forget(LocalTarget *lt) {
        for (size_t k = 0; k < lt->n_mounts; k++) {
                free(lt->mounts[k].path);
                free(lt->mounts[k].fs);
                free(lt->mounts[k].source);
                free(lt->mounts[k].away);
        }
        lt->mounts = mfree(lt->mounts);
        lt->n_mounts = 0;
}
