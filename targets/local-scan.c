/* SPDX-License-Identifier: MIT */
/*
 * The walk of a path target's directory tree for the files that match its template: the
 * start-up scan, a rescan after lost events, the scans of a target scanned instead of (or as
 * well as) watched, and a directory that appeared with files in it already. Level by level as
 * the watches go (local-watch-table.c), and, as they do, never through a symbolic link to a
 * directory. The directory entry's type spares a stat per file; a file that changed less than
 * the settling time ago (local_settle()) is not reported but waits out the rest
 * (local_watch_quiet_pending()).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "local.h"
#include "log.h"
#include "util/fs-util.h"

/* A directory that cannot be read (another user's, lost+found) is passed over, not the end of
 * the whole scan: what the others hold still counts. */
static int scan_dir_failed(const LocalTarget *lt, const char *dir) {
        if (errno != ENOENT && errno != ENOTDIR)
                log_warning_errno(errno, "Cannot scan '%s' for target '%s', passing it over: %m",
                                  dir, lt->target.name);
        return 0;
}

int local_scan_tail(LocalTarget *lt, const char *dir, const char *rel, const Binding *partial,
                    target_scan_func f, void *userdata) {
        const Template *t = lt->target.template;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        usec_t settle = local_settle(lt);

        d = opendir(dir);
        if (!d)
                return scan_dir_failed(lt, dir);
        while ((de = readdir(d))) {
                _cleanup_(binding_freep) Binding *b = NULL;
                _cleanup_free_ char *name = NULL, *sub = NULL;
                struct stat st = {};
                unsigned char type = de->d_type;
                bool link = type == DT_LNK;

                if (local_name_ignored(lt, de->d_name))
                        continue;
                /* The directory entry's type spares a stat per file, the bulk of a scan's
                 * cost; symbolic links, unknown types and a settling time's mtime need one. */
                if (type == DT_UNKNOWN && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                        link = S_ISLNK(st.st_mode);
                if (type == DT_UNKNOWN || type == DT_LNK || settle > 0) {
                        if (fstatat(dirfd(d), de->d_name, &st, 0) < 0)
                                continue;
                        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
                }
                name = local_join_rel(rel, de->d_name);
                if (!name)
                        return -ENOMEM;
                if (type == DT_DIR) {
                        /* Not through a link: watches do not follow one either, and a link
                         * to a directory above would go round for ever. */
                        if (!template_has_path_tail(t) || link)
                                continue;
                        sub = local_join_rel(dir, de->d_name);
                        if (!sub)
                                return -ENOMEM;
                        r = local_scan_tail(lt, sub, name, partial, f, userdata);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (type != DT_REG)
                        continue;
                r = template_match_component(t, last_level(lt), name, partial, &b);
                if (r < 0)
                        return r;
                if (r > 0 && settle > 0 && now_usec(CLOCK_REALTIME) < mtime_of(&st) + settle) {
                        /* Still being written, maybe: nothing says when it stops but time. */
                        _cleanup_free_ char *path = local_join_rel(dir, de->d_name);
                        if (!path)
                                return -ENOMEM;
                        local_watch_quiet_pending(lt, path, b, mtime_of(&st));
                        continue;
                }
                if (r > 0) {
                        r = f(&lt->target, b, userdata);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int local_scan_tree(LocalTarget *lt, size_t level, const char *dir, const Binding *partial,
                    target_scan_func f, void *userdata) {
        const Template *t = lt->target.template;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        if (level == last_level(lt))
                return local_scan_tail(lt, dir, NULL, partial, f, userdata);
        if (template_component_is_literal(t, level)) {
                _cleanup_free_ char *sub = NULL;

                if (path_join(dir, template_component_literal(t, level), &sub) < 0)
                        return -ENOMEM;
                return local_scan_tree(lt, level + 1, sub, partial, f, userdata);
        }
        d = opendir(dir);
        if (!d)
                return scan_dir_failed(lt, dir);
        while ((de = readdir(d))) {
                _cleanup_(binding_freep) Binding *b = NULL;
                _cleanup_free_ char *sub = NULL;
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                r = template_match_component(t, level, de->d_name, partial, &b);
                if (r < 0)
                        return r;
                /* A link to a directory is not followed, as watches do not follow it. */
                if (r == 0 || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISDIR(st.st_mode))
                        continue;
                if (path_join(dir, de->d_name, &sub) < 0)
                        return -ENOMEM;
                r = local_scan_tree(lt, level + 1, sub, b, f, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}
