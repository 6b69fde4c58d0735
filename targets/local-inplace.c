/* SPDX-License-Identifier: MIT */
/*
 * Under complete = "moved", the files of a target that were created where they are (written in
 * place) rather than renamed or linked there. Such a file makes no arrival, and it must not
 * count either when another input's arrival has the daemon look at it on disk: half-written or
 * whole, it is not what the producer promised (a rename into place). It counts once it is
 * renamed over, linked, or removed and made again that way; as an event can be lost (a queue
 * overflow), the file itself says so too: another inode at the path is not the one noted.
 * Kept until then, by the watching rather than by the target, so that a reload that builds
 * the target anew does not forget them: these are files an atomic producer should not leave,
 * so the set stays small.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "local.h"
#include "util/hash.h"

struct InPlaceFile {
        UT_hash_handle hh;
        dev_t dev;
        ino_t ino;
        char path[];
};

static InPlaceFile *find(InPlaceFile **set, const char *path) {
        InPlaceFile *f = NULL;

        if (set && *set)
                HASH_FIND_STR(*set, path, f);
        return f;
}

static void drop(InPlaceFile **set, InPlaceFile *f) {
        HASH_DEL(*set, f);
        free(f);
}

void local_in_place_note(LocalTarget *lt, const char *path, const struct stat *st) {
        InPlaceFile **set = local_watch_in_place(lt), *f = find(set, path);
        size_t len = strlen(path);

        if (!set)
                return;
        if (f)
                drop(set, f);
        f = malloc(sizeof(InPlaceFile) + len + 1);
        if (!f)
                return;         /* it counts as its producer's rename would have made it */
        f->dev = st->st_dev;
        f->ino = st->st_ino;
        memcpy(f->path, path, len + 1);
        HASH_ADD_KEYPTR(hh, *set, f->path, len, f);
}

bool local_in_place(LocalTarget *lt, const char *path) {
        InPlaceFile **set = local_watch_in_place(lt), *f = find(set, path);
        struct stat st;

        if (!f)
                return false;
        if (lstat(path, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino)
                return true;
        drop(set, f);           /* renamed over (or gone) while the event was lost */
        return false;
}

void local_in_place_drop(LocalTarget *lt, const char *path) {
        InPlaceFile **set = local_watch_in_place(lt), *f = find(set, path);

        if (f)
                drop(set, f);
}

int local_in_place_foreach(LocalTarget *lt, int (*f)(const char *path, void *userdata),
                           void *userdata) {
        InPlaceFile **set = local_watch_in_place(lt), *x, *tmp;

        if (!set)
                return 0;
        HASH_ITER(hh, *set, x, tmp) {
                _cleanup_(binding_freep) Binding *b = NULL;
                int r;

                /* The set is the host's: only this target's files. */
                if (template_match(lt->target.template, x->path, &b) <= 0)
                        continue;
                /* Checked on disk as local_in_place() does, which may drop it. */
                if (!local_in_place(lt, x->path))
                        continue;
                r = f(x->path, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

void local_in_place_free(InPlaceFile **set) {
        InPlaceFile *f, *tmp;

        HASH_ITER(hh, *set, f, tmp)
                drop(set, f);
}
