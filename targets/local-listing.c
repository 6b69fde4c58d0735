/* SPDX-License-Identifier: MIT */
/*
 * Directory listings for the length of one scan. A start-up scan over 100,000 complete
 * instances checks 100,000 outputs; a stat(2) costs about 3.4 us on these machines, path walk
 * included, where reading the whole directory once costs about 0.1 us an entry. So while the
 * host is scanning, a check reads the directory it looks into once, and looks the name up.
 * Only from the LISTING_AFTER-th check into a directory on: a scan that checks a handful of
 * files in a directory of a million should not read all of them.
 *
 * This is as exact as a stat: the scan runs within one iteration of the event loop, and every
 * change after a directory was read comes as an inotify event after the scan, since the
 * watches are in place first. The listings are dropped when the scan ends.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "local.h"
#include "util/hash.h"

#define LISTING_AFTER 32

typedef struct ListedName {
        UT_hash_handle hh;
        unsigned char type;     /* d_type */
        char name[];
} ListedName;

typedef struct Listing {
        UT_hash_handle hh;
        char *dir;
        unsigned checks;        /* how often it was looked into */
        bool read;
        int error;              /* reading it failed: 0, or -errno */
        ListedName *names;
} Listing;

static void listing_free(Listing *l) {
        ListedName *n, *tmp;

        HASH_ITER(hh, l->names, n, tmp) {
                HASH_DEL(l->names, n);
                free(n);
        }
        free(l->dir);
        free(l);
}

static int listing_read(Listing *l) {
        DIR *d = opendir(l->dir);
        struct dirent *de;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                ListedName *n;

                if (de->d_name[0] == '.' && (len == 1 || (len == 2 && de->d_name[1] == '.')))
                        continue;
                n = malloc(sizeof(ListedName) + len + 1);
                if (!n) {
                        closedir(d);
                        return -ENOMEM;
                }
                n->type = de->d_type;
                memcpy(n->name, de->d_name, len + 1);
                HASH_ADD_KEYPTR(hh, l->names, n->name, len, n);
        }
        closedir(d);
        return 0;
}

typedef struct Listings {
        Listing *by_dir;
        Listing *last;          /* checks come in runs into one directory */
        char *stat_dir;         /* the directory stat_fd is open on, for local_listing_stat() */
        int stat_fd;
} Listings;

static Listing *listing_get(Listings *c, const char *dir, size_t len) {
        Listing *l = c->last;

        if (l && strlen(l->dir) == len && memcmp(l->dir, dir, len) == 0)
                return l;
        HASH_FIND(hh, c->by_dir, dir, len, l);
        if (!l) {
                l = calloc(1, sizeof(Listing));
                if (!l || !(l->dir = strndup(dir, len))) {
                        free(l);
                        return NULL;
                }
                HASH_ADD_KEYPTR(hh, c->by_dir, l->dir, len, l);
        }
        return c->last = l;
}

static Listings *listings_get(TargetHost *h) {
        Listings *c = h->scan_state[TARGET_KIND_PATH];

        if (!c) {
                c = h->scan_state[TARGET_KIND_PATH] = calloc(1, sizeof(Listings));
                if (c)
                        c->stat_fd = -EBADF;
        }
        return c;
}

/* A stat relative to the directory, kept open while checks stay in it: without the path walk,
 * a third of the cost. One descriptor at a time, whatever the number of directories. */
int local_listing_stat(TargetHost *h, const char *path, struct stat *ret) {
        Listings *c = listings_get(h);
        const char *slash = strrchr(path, '/');
        size_t len;

        if (!c || !slash || slash == path)
                return stat(path, ret) < 0 ? -errno : 0;
        len = (size_t) (slash - path);
        if (!c->stat_dir || strlen(c->stat_dir) != len || memcmp(c->stat_dir, path, len) != 0) {
                free(c->stat_dir);
                if (c->stat_fd >= 0)
                        close(c->stat_fd);
                c->stat_dir = strndup(path, len);
                c->stat_fd = c->stat_dir ? open(c->stat_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                         : -ENOMEM;
        }
        if (c->stat_fd < 0)
                return stat(path, ret) < 0 ? -errno : 0;
        return fstatat(c->stat_fd, slash + 1, ret, 0) < 0 ? -errno : 0;
}

int local_listing_find(TargetHost *h, const char *path, unsigned char *ret_type) {
        const char *slash = strrchr(path, '/');
        Listings *c;
        ListedName *n;
        Listing *l;

        if (!slash || slash == path)
                return -EINVAL;         /* not worth it at the root */
        c = listings_get(h);
        if (!c)
                return -ENOMEM;
        l = listing_get(c, path, (size_t) (slash - path));
        if (!l)
                return -ENOMEM;
        if (!l->read) {
                if (++l->checks < LISTING_AFTER)
                        return -EAGAIN;         /* a stat is cheaper, so far */
                l->error = listing_read(l);
                l->read = true;
        }
        if (l->error == -ENOENT || l->error == -ENOTDIR)
                return 0;
        if (l->error < 0)
                return l->error;        /* unreadable, say: the caller stats instead */
        HASH_FIND_STR(l->names, slash + 1, n);
        if (!n)
                return 0;
        *ret_type = n->type;
        return 1;
}

void local_listings_free(TargetHost *h) {
        Listings *c = h->scan_state[TARGET_KIND_PATH];
        Listing *l, *tmp;

        if (!c)
                return;
        HASH_ITER(hh, c->by_dir, l, tmp) {
                HASH_DEL(c->by_dir, l);
                listing_free(l);
        }
        if (c->stat_fd >= 0)
                close(c->stat_fd);
        free(c->stat_dir);
        free(c);
        h->scan_state[TARGET_KIND_PATH] = NULL;
}
