/* SPDX-License-Identifier: MIT */
/*
 * Small file system helpers. Everything durable here is written the same way: a temporary name
 * in the same directory, fsync of the file, rename(2), fsync of the directory, so a crash leaves
 * either the old or the new contents, never a torn file.
 */
#include <fcntl.h>
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

static int resolve(const char *path, unsigned *links, char **ret) {
        _cleanup_free_ char *dir = NULL, *base = NULL, *up = NULL, *target = NULL,
                            *next = NULL;
        char *real = realpath(path, NULL);
        int r;

        if (real) {
                *ret = real;
                return 0;
        }
        if (errno != ENOENT)
                return -errno;
        r = path_split(path, &dir, &base);
        if (r < 0)
                return r;
        /* It is a link, to a place that does not exist (yet): on from where it points. */
        if (readlink_malloc(path, &target) >= 0) {
                if (++*links > RESOLVE_LINKS_MAX)
                        return -ELOOP;
                if (target[0] == '/')
                        return resolve(target, links, ret);
                r = path_join(dir, target, &next);
                return r < 0 ? r : resolve(next, links, ret);
        }
        r = resolve(dir, links, &up);
        if (r < 0)
                return r;
        if (!*base || streq(base, ".")) {
                *ret = TAKE_PTR(up);
                return 0;
        }
        if (streq(base, ".."))
                return path_split(up, ret, NULL);
        return path_join(up, base, ret);
}

int path_resolve(const char *path, char **ret) {
        unsigned links = 0;

        return resolve(path, &links, ret);
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
