/* SPDX-License-Identifier: MIT */
/*
 * Small file system helpers. Everything durable here is written the same way: a temporary name
 * in the same directory, fsync of the file, rename(2), fsync of the directory, so a crash leaves
 * either the old or the new contents, never a torn file.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-util.h"
#include "macro.h"

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);
        struct stat st;

        if (!p)
                return -ENOMEM;
        if (stat(p, &st) == 0)
                return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int path_split(const char *path, char **ret_dir, char **ret_base) {
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *d = NULL, *b = NULL;

        if (!slash)
                d = strdup(".");
        else if (slash == path)
                d = strdup("/");
        else
                d = strndup(path, (size_t) (slash - path));
        b = strdup(slash ? slash + 1 : path);
        if (!d || !b)
                return -ENOMEM;
        if (ret_dir)
                *ret_dir = TAKE_PTR(d);
        if (ret_base)
                *ret_base = TAKE_PTR(b);
        return 0;
}

int path_join(const char *a, const char *b, char **ret) {
        size_t n = strlen(a);
        bool slash = n > 0 && a[n - 1] == '/';

        return asprintf(ret, "%s%s%s", a, slash ? "" : "/", b) < 0 ? -ENOMEM : 0;
}

bool path_below(const char *path, const char *dir) {
        size_t n = strlen(dir);

        return strneq(path, dir, n) && (path[n] == '/' || !path[n] || streq(dir, "/"));
}

char *path_absolute(const char *path) {
        _cleanup_free_ char *cwd = NULL;
        char *r = NULL;

        if (path[0] == '/')
                return strdup(path);
        cwd = get_current_dir_name();
        if (!cwd || path_join(cwd, path, &r) < 0)
                return NULL;
        return r;
}

int fsync_directory_of(const char *path) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = path_split(path, &dir, NULL);
        if (r < 0)
                return r;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return RET_NERRNO(fsync(fd));
}

int write_file_replace(const char *path, const char *data, size_t n, mode_t mode,
                       bool durable) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;

        /* The pid keeps two processes writing the same file (sluiced, sluice-result) apart. */
        if (asprintf(&tmp, "%s.new%d", path, (int) getpid()) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        for (size_t done = 0; done < n;) {
                ssize_t k = write(fd, data + done, n - done);
                if (k < 0) {
                        int r = -errno;
                        (void) unlink(tmp);
                        return r;
                }
                done += (size_t) k;
        }
        if ((durable && fsync(fd) < 0) || rename(tmp, path) < 0) {
                int r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return durable ? fsync_directory_of(path) : 0;
}

/* As the kernel gives up (ELOOP). */
#define RESOLVE_LINKS_MAX 40
/* Components looked at in all, those the links bring included. A path within PATH_MAX has at
 * most half as many, and no real one comes near; a planted link chain, each link's target
 * thousands of components long, would cost the event loop that many system calls. */
#define RESOLVE_STEPS_MAX 4096

/* done, a path without links, "." or "..", with its last component dropped: its parent. */
static void drop_last(char *done) {
        char *slash = strrchr(done, '/');

        slash[slash == done ? 1 : 0] = 0;
}

/* done (PATH_MAX long) with the n characters of name added as a component. */
static int append(char *done, const char *name, size_t n) {
        size_t k = strlen(done);

        if (k > 1)
                done[k++] = '/';
        if (k + n >= PATH_MAX)
                return -ENAMETOOLONG;
        memcpy(done + k, name, n);
        done[k + n] = 0;
        return 0;
}

/* Component by component, as the kernel walks a path and as systemd's chase() does, never
 * recursing: what is left to walk is todo from p on; done is the way so far, links followed.
 * A link's target takes the place of the link in todo. Once a component is missing, nothing
 * below it is on the disk either: the rest is taken as spelled, ".." dropping what is before. */
int path_resolve(const char *path, char **ret) {
        _cleanup_free_ char *done = NULL, *todo = NULL;
        unsigned links = 0, steps = 0;
        bool exists = true;     /* done is on the disk: the next component is looked up */
        const char *p;

        if (strlen(path) >= PATH_MAX)
                return -ENAMETOOLONG;
        done = malloc(PATH_MAX);
        todo = strdup(path);
        if (!done || !todo)
                return -ENOMEM;
        if (path[0] == '/')
                strcpy(done, "/");
        else if (!getcwd(done, PATH_MAX))
                return -errno;
        for (p = todo;;) {
                _cleanup_free_ char *target = NULL, *next = NULL;
                struct stat st;
                size_t n;
                int r;

                p += strspn(p, "/");
                if (!*p)
                        break;
                if (++steps > RESOLVE_STEPS_MAX)
                        return -ELOOP;
                n = strcspn(p, "/");
                if (n == 1 && p[0] == '.') {
                        p += n;
                        continue;
                }
                if (n == 2 && strneq(p, "..", 2)) {
                        drop_last(done);
                        p += n;
                        continue;
                }
                r = append(done, p, n);
                if (r < 0)
                        return r;
                p += n;
                if (!exists)
                        continue;
                if (lstat(done, &st) < 0) {
                        if (errno != ENOENT)
                                return -errno;
                        exists = false;
                        continue;
                }
                if (!S_ISLNK(st.st_mode)) {
                        /* "file/x", "file/..", "file/": as realpath(3) says of them. */
                        if (!S_ISDIR(st.st_mode) && *p)
                                return -ENOTDIR;
                        continue;
                }
                /* Followed whether what it leads to exists or not (yet): a mount away. */
                if (++links > RESOLVE_LINKS_MAX)
                        return -ELOOP;
                r = readlink_malloc(done, &target);
                if (r < 0)
                        return r;
                drop_last(done);
                if (target[0] == '/')
                        strcpy(done, "/");
                if (strlen(target) + strlen(p) >= PATH_MAX)
                        return -ENAMETOOLONG;
                if (asprintf(&next, "%s%s", target, p) < 0)
                        return -ENOMEM;
                free(todo);
                p = todo = TAKE_PTR(next);
        }
        *ret = strdup(done);
        return *ret ? 0 : -ENOMEM;
}

int read_file(const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, max - n);
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n == max)
                        return -EFBIG;
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = n;
        return 0;
}

unsigned text_blank_nul_lines(char *text, size_t size) {
        unsigned n = 0;

        for (size_t start = 0; start < size;) {
                char *nl = memchr(text + start, '\n', size - start);
                size_t end = nl ? (size_t) (nl - text) : size;

                if (memchr(text + start, 0, end - start)) {
                        memset(text + start, '#', end - start);
                        n++;
                }
                start = end + 1;
        }
        return n;
}

int readlink_malloc(const char *path, char **ret) {
        for (size_t size = 256; size <= 65536; size *= 2) {
                _cleanup_free_ char *buf = malloc(size);
                ssize_t n;

                if (!buf)
                        return -ENOMEM;
                n = readlink(path, buf, size);
                if (n < 0)
                        return -errno;
                if ((size_t) n < size) {
                        buf[n] = 0;
                        *ret = TAKE_PTR(buf);
                        return 0;
                }
        }
        return -ENAMETOOLONG;
}
