/* SPDX-License-Identifier: MIT */
/*
 * The files of a target whose close (or rename or link into place) was seen a moment ago.
 *
 * A producer writing one file right after another (`cmd1 > a; cmd2 > b`) creates b while the
 * daemon handles a's close: b is there, empty or half-written, and its IN_CREATE not read yet,
 * so nothing says it is being written. What tells it apart from a file that is whole: it
 * changed a moment ago, and no close of it was seen. Such a file waits a moment (its
 * IN_CREATE, read meanwhile, then makes it wait for its close); one whose close was seen, the
 * usual case right after an event, does not. Kept for CLOSED_KEEP, which is far longer than
 * the moment.
 */
#include <stdlib.h>
#include <string.h>

#include "local.h"
#include "util/hash.h"

#define CLOSED_KEEP USEC_PER_SEC

struct ClosedFile {
        UT_hash_handle hh;
        usec_t when;            /* CLOCK_MONOTONIC */
        char path[];
};

static void closed_free(LocalTarget *lt, ClosedFile *c) {
        HASH_DEL(lt->closed, c);
        free(c);
}

void local_closed_note(LocalTarget *lt, const char *path) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        size_t len = strlen(path);
        ClosedFile *c, *tmp;

        /* In the order noted, so the oldest go first. */
        HASH_ITER(hh, lt->closed, c, tmp) {
                if (c->when + CLOSED_KEEP > now)
                        break;
                closed_free(lt, c);
        }
        HASH_FIND(hh, lt->closed, path, len, c);
        if (c)
                closed_free(lt, c);
        c = malloc(sizeof(ClosedFile) + len + 1);
        if (!c)
                return;         /* the file waits a moment: no harm */
        c->when = now;
        memcpy(c->path, path, len + 1);
        HASH_ADD_KEYPTR(hh, lt->closed, c->path, len, c);
}

bool local_closed_seen(LocalTarget *lt, const char *path) {
        ClosedFile *c = NULL;

        if (lt->closed)
                HASH_FIND_STR(lt->closed, path, c);
        return c && c->when + CLOSED_KEEP > now_usec(CLOCK_MONOTONIC);
}

void local_closed_forget(LocalTarget *lt) {
        ClosedFile *c, *tmp;

        HASH_ITER(hh, lt->closed, c, tmp)
                closed_free(lt, c);
}
