/* SPDX-License-Identifier: MIT */
/*
 * Under complete = "moved", the files of a target that were created where they are (written in
 * place) rather than renamed or linked there. Such a file makes no arrival, and it must not
 * count either when another input's arrival has the daemon look at it on disk: half-written or
 * whole, it is not what the producer promised (a rename into place). It counts once it is
 * renamed over, linked, or removed and made again that way. Kept until then: these are files
 * an atomic producer should not leave, so the set stays small.
 */
#include <stdlib.h>
#include <string.h>

#include "local.h"
#include "util/hash.h"

struct InPlaceFile {
        UT_hash_handle hh;
        char path[];
};

void local_in_place_note(LocalTarget *lt, const char *path) {
        size_t len = strlen(path);
        InPlaceFile *f;

        HASH_FIND(hh, lt->in_place, path, len, f);
        if (f)
                return;
        f = malloc(sizeof(InPlaceFile) + len + 1);
        if (!f)
                return;         /* it counts as its producer's rename would have made it */
        memcpy(f->path, path, len + 1);
        HASH_ADD_KEYPTR(hh, lt->in_place, f->path, len, f);
}

bool local_in_place(LocalTarget *lt, const char *path) {
        InPlaceFile *f = NULL;

        if (lt->in_place)
                HASH_FIND_STR(lt->in_place, path, f);
        return f;
}

void local_in_place_drop(LocalTarget *lt, const char *path) {
        InPlaceFile *f = NULL;

        if (lt->in_place)
                HASH_FIND_STR(lt->in_place, path, f);
        if (f) {
                HASH_DEL(lt->in_place, f);
                free(f);
        }
}

void local_in_place_forget(LocalTarget *lt) {
        InPlaceFile *f, *tmp;

        HASH_ITER(hh, lt->in_place, f, tmp) {
                HASH_DEL(lt->in_place, f);
                free(f);
        }
}
