/* SPDX-License-Identifier: MIT */
/*
 * When an object a poll lists counts as arrived, for the polled kinds that take complete
 * (url, s3). By default at once. A poll sees no writer close an object or rename it into
 * place, only what the listing or HEAD says of it now, so the policies that fit are those a
 * listing can tell: "quiet:SPAN", once polls have found the same version (ETag, or
 * Last-Modified and size) for at least SPAN, which takes two polls at least, the second SPAN
 * after the first; and "flag:NAME", once a flag is listed in its directory (the kinds list it
 * beside the objects). What does not count yet is held: not in the target's known set, so
 * check() and scan() do not see it, nor kept in the state directory (a restarted daemon holds
 * it again, from its first poll), but for what the target's first poll ever found: that is
 * history, and must stay so after a restart inside its span, not run as a fresh arrival.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "remote.h"

int remote_complete_parse(RemoteTarget *rt, const config_setting_t *s, Diag *d) {
        return complete_parse(&rt->target, s,
                              COMPLETE_TAKES(COMPLETE_QUIET) | COMPLETE_TAKES(COMPLETE_FLAG),
                              "its polls see no writer close an object or rename it into place",
                              d, &rt->complete);
}

bool remote_is_flag(RemoteTarget *rt, const char *location) {
        const char *slash = strrchr(location, '/');

        return rt->complete.policy == COMPLETE_FLAG && slash && streq(slash + 1, rt->complete.flag);
}

static void held_add(RemoteObject **set, RemoteObject *o) {
        HASH_ADD_KEYPTR(hh, *set, o->location, strlen(o->location), o);
}

/* A tag that tells no version from the next: none, or what http.c makes of no Last-Modified
 * and no length (" -1"). */
static bool untagged(const RemoteObject *o) {
        return !o->tag[0] || streq(o->tag, " -1");
}

/* Under "quiet:": whether o, listed by this poll, counts. */
static bool quiet_counts(RemoteTarget *rt, const RemoteObject *o, const RemoteObject *was,
                         const RemoteObject *held) {
        /* Counted before as this version (maybe before it went for a moment): nothing to wait
         * for. */
        if ((was && streq(was->tag, o->tag)) || (!was && remote_vanished_as_was(rt, o)))
                return true;
        /* This poll began at least the span after the end of the one that first found this
         * version: unchanged all that time. */
        return held && streq(held->tag, o->tag) &&
               rt->poll_started >= held->since + rt->complete.quiet;
}

int remote_complete_sort(RemoteTarget *rt, RemoteObject **found, RemoteObject *old, bool first) {
        RemoteObject *flags = NULL, *held = NULL, *o, *tmp;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        if (rt->complete.policy == COMPLETE_AT_ONCE) {
                remote_objects_free(&rt->held);
                return 0;
        }
        HASH_ITER(hh, *found, o, tmp)
                if (remote_is_flag(rt, o->location)) {
                        HASH_DEL(*found, o);
                        held_add(&flags, o);
                }
        HASH_ITER(hh, *found, o, tmp) {
                RemoteObject *was, *h;
                bool counts;

                HASH_FIND_STR(old, o->location, was);
                HASH_FIND_STR(rt->held, o->location, h);
                if (rt->complete.policy == COMPLETE_FLAG) {
                        _cleanup_free_ char *flag = complete_flag_location(o->location,
                                                                           rt->complete.flag);
                        RemoteObject *f;

                        if (!flag) {
                                remote_objects_free(&flags);
                                remote_objects_free(&held);
                                return -ENOMEM;
                        }
                        HASH_FIND_STR(flags, flag, f);
                        counts = f;
                } else {
                        counts = quiet_counts(rt, o, was, h);
                        /* Unchanged, always: it counts the span after it was first listed, a
                         * delay, which is what can be done short of never counting it (its
                         * readers would never run). */
                        if (untagged(o) && !rt->told_untagged) {
                                log_warning("Target '%s': the server tells no version of %s "
                                            "(no ETag, Last-Modified or Content-Length), so "
                                            "complete = \"quiet:...\" cannot tell whether it "
                                            "still changes: it counts the span after a poll "
                                            "first listed it, written whole or not",
                                            rt->target.name, o->location);
                                rt->told_untagged = true;
                        }
                }
                /* The same version that waited since the first poll is still history, as a
                 * file a start-up scan finds is; a new version is news. */
                if (h && streq(h->tag, o->tag)) {
                        o->since = h->since;
                        o->history = h->history;
                } else {
                        o->since = now;
                        o->history = first;
                        o->restless = h != NULL;
                }
                if (counts)
                        continue;
                HASH_DEL(*found, o);
                held_add(&held, o);
        }
        remote_objects_free(&flags);
        remote_objects_free(&rt->held);
        rt->held = held;
        return 0;
}

usec_t remote_complete_due(RemoteTarget *rt) {
        usec_t due = USEC_INFINITY, now = now_usec(CLOCK_MONOTONIC);
        RemoteObject *o, *tmp;

        if (rt->complete.policy != COMPLETE_QUIET)
                return USEC_INFINITY;
        HASH_ITER(hh, rt->held, o, tmp) {
                usec_t at = o->since + rt->complete.quiet;

                /* One that changed since the last poll (an appended log the template matches)
                 * may go on changing for hours: polling every span for it would be a listing
                 * every few seconds. It waits for the interval, and for a version that a poll
                 * found unchanged, at most once. */
                if (o->restless)
                        continue;
                due = MIN(due, at > now ? at - now : 0);
        }
        return due;
}

void remote_held_drop(RemoteTarget *rt, const char *location) {
        RemoteObject *o;

        HASH_FIND_STR(rt->held, location, o);
        if (!o)
                return;
        HASH_DEL(rt->held, o);
        remote_object_free(o);
}

const char *remote_pending(Target *t, const char *location, char *buf, size_t size) {
        RemoteTarget *rt = REMOTE(t);
        char span[FORMAT_TIMESPAN_MAX], left[FORMAT_TIMESPAN_MAX];
        usec_t until, now = now_usec(CLOCK_MONOTONIC);
        RemoteObject *o;

        HASH_FIND_STR(rt->held, location, o);
        if (!o)
                return NULL;
        if (rt->complete.policy == COMPLETE_FLAG) {
                snprintf(buf, size, "listed; counts once its flag '%s' is listed in its "
                         "directory", rt->complete.flag);
                return buf;
        }
        until = o->since + rt->complete.quiet;
        snprintf(buf, size, "listed; counts once polls find it unchanged for %s (%s more, "
                 "then a poll)%s",
                 format_timespan(span, sizeof(span), rt->complete.quiet),
                 format_timespan(left, sizeof(left), until > now ? until - now : 0),
                 untagged(o) ? "; the server tells no version of it (no ETag, Last-Modified "
                               "or Content-Length), so it counts then, changed or not" : "");
        return buf;
}

/* The held ones, for ListHeld(): a client sees a server's objects only through the polls, and
 * without this `sluicectl status` and `graph` could not tell "held" from "not there". */
int remote_foreach_held(Target *t, int (*f)(const char *location, const char *why, void *userdata),
                        void *userdata) {
        RemoteObject *o, *tmp;
        int r;

        HASH_ITER(hh, REMOTE(t)->held, o, tmp) {
                char why[TARGET_PENDING_MAX];

                r = f(o->location, remote_pending(t, o->location, why, sizeof(why)), userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

void remote_check_output(Target *t, const char *producer, Diag *d) {
        complete_check_output(t, &REMOTE(t)->complete, producer, d);
}
