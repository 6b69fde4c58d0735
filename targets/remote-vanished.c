/* SPDX-License-Identifier: MIT */
/*
 * Objects a poll no longer found, with the version (tag) they had and when the daemon first saw
 * it. A listing that answers 404 for a moment (a directory moved away and back, a server
 * restarting its storage), or a single object that does, takes every object under it away; when
 * they come back as they were, they are not new: under rerun = "newer" each would otherwise be
 * newer than its outputs and run again. So one that comes back with the tag it went with keeps
 * the time it was first seen, and is found again as a scan finds it, not as an arrival.
 *
 * Only while the daemon runs (and across a reload, with the target's other memory): the state
 * directory keeps what exists. At most as many as the target had before the poll that lost
 * them, or REMOTE_VANISHED_MIN, the oldest forgotten first, so that a target whose objects come
 * and go for good does not grow without end.
 */
#include <string.h>

#include "remote.h"

#define REMOTE_VANISHED_MIN 256u

void remote_vanished_note(RemoteTarget *rt, const RemoteObject *o) {
        RemoteObject *v;

        /* Gone again: to the end of the line, the newest. */
        HASH_FIND_STR(rt->vanished, o->location, v);
        if (v) {
                HASH_DEL(rt->vanished, v);
                remote_object_free(v);
        }
        if (remote_object_add(&rt->vanished, o->location, o->tag) <= 0)
                return;         /* out of memory: it would only be new when it comes back */
        HASH_FIND_STR(rt->vanished, o->location, v);
        v->seen = o->seen;
}

void remote_vanished_trim(RemoteTarget *rt, size_t had) {
        size_t keep = MAX((size_t) REMOTE_VANISHED_MIN, had);
        RemoteObject *v, *tmp;

        /* uthash iterates in the order of insertion: the oldest first. */
        HASH_ITER(hh, rt->vanished, v, tmp) {
                if (HASH_COUNT(rt->vanished) <= keep)
                        break;
                HASH_DEL(rt->vanished, v);
                remote_object_free(v);
        }
}

bool remote_vanished_as_was(RemoteTarget *rt, const RemoteObject *o) {
        RemoteObject *v;

        HASH_FIND_STR(rt->vanished, o->location, v);
        return v && streq(v->tag, o->tag);
}

bool remote_vanished_back(RemoteTarget *rt, RemoteObject *o) {
        RemoteObject *v;
        bool same;

        HASH_FIND_STR(rt->vanished, o->location, v);
        if (!v)
                return false;
        same = streq(v->tag, o->tag);
        if (same)
                o->seen = v->seen;
        HASH_DEL(rt->vanished, v);
        remote_object_free(v);
        return same;
}
