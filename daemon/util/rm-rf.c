/* SPDX-License-Identifier: MIT */
/*
 * Recursive removal for what a task left under a name the daemon chose (a staged output it
 * made a directory of). Everything below that name is the task's to have put there, links
 * included: each is opened relative to its parent's descriptor with O_NOFOLLOW, so a link, or
 * a directory swapped for one meanwhile, is removed as the link it is and never leads anywhere
 * else. A directory on another file system (mounted there) is left alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"
#include "util/rm-rf.h"

#define RM_RF_MAX_DEPTH 64

static int keep_first(int r, int e) {
        return r < 0 ? r : e;
}

static int rm_children(int fd, dev_t dev, unsigned depth);

static int rm_at(int dfd, const char *name, dev_t dev, unsigned depth) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        if (unlinkat(dfd, name, 0) == 0)
                return 0;
        if (errno != EISDIR)    /* Linux's answer for a directory */
                return -errno;
        if (depth >= RM_RF_MAX_DEPTH)
                return -ELOOP;
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)             /* ENOTDIR, ELOOP: swapped for a file or a link meanwhile */
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_dev != dev)
                return -EXDEV;
        r = rm_children(TAKE_FD(fd), dev, depth + 1);
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
                r = keep_first(r, -errno);
        return r;
}

/* Takes fd. */
static int rm_children(int fd, dev_t dev, unsigned depth) {
        _cleanup_(closedirp) DIR *d = fdopendir(fd);
        struct dirent *de;
        int r = 0;

        if (!d) {
                r = -errno;
                (void) close(fd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                int q;

                if (de->d_name[0] == '.' &&
                    (de->d_name[1] == 0 || (de->d_name[1] == '.' && de->d_name[2] == 0)))
                        continue;
                q = rm_at(dirfd(d), de->d_name, dev, depth);
                if (q < 0 && q != -ENOENT)
                        r = keep_first(r, q);
        }
        if (errno > 0)
                r = keep_first(r, -errno);
        return r;
}

int rm_rf_at(int dfd, const char *name) {
        struct stat st;

        if (fstat(dfd, &st) < 0)
                return -errno;
        return rm_at(dfd, name, st.st_dev, 0);
}
