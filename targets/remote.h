/* SPDX-License-Identifier: MIT */
/* What every polled target kind (url, and the remote kinds after it) shares */
#pragma once

#include "complete.h"
#include "curl-loop.h"
#include "target.h"
#include "util/hash.h"

/* An object seen by a poll: where, and what tells one version from the next. */
typedef struct RemoteObject {
        char *location;
        char *tag;              /* ETag, or Last-Modified and size; "" when the server says none */
        usec_t confirmed;       /* CLOCK_MONOTONIC, when a task's commit confirmed it; or 0 */
        /* CLOCK_REALTIME, when the daemon first saw this version (tag) of it: its modification
         * time, for rerun = "newer". 0: there before the target's first poll, or unknown. */
        usec_t seen;
        /* Held, not counted yet (remote-complete.c): CLOCK_MONOTONIC, the end of the poll that
         * first found this version. */
        usec_t since;
        bool history;           /* held since the target's first poll: counts as scanned */
        /* Held as a version that replaced another held one: no poll is brought forward for it
         * (remote_complete_due()). */
        bool restless;
        UT_hash_handle hh;
} RemoteObject;

typedef struct RemoteTarget RemoteTarget;

typedef struct RemoteOps {
        /* Begins one poll; it ends with remote_poll_done(), exactly once, possibly inside. */
        int (*poll)(RemoteTarget *rt);
        /* Abandons the poll in flight, if any, without calling remote_poll_done(), and lets go
         * of what the kind holds between polls (a connection). */
        void (*cancel)(RemoteTarget *rt);
        /* Reads what polling needs, kept between polls (a headers file, credentials), when it
         * has not been read whole yet: 0 ready, -ENOMEM, or another error with *ret_error
         * saying why. Until it is ready, each poll fails with that reason, in the log and the
         * status, and tries again with back-off: no reload is needed once it can be read.
         * May be NULL. */
        int (*prepare)(RemoteTarget *rt, char **ret_error);
} RemoteOps;

/*
 * A polled target. What the last successful poll found is the target's truth between polls:
 * check() and scan() answer from it without a request, so evaluation never waits for the
 * network. It is kept in the state directory, so a restarted daemon knows what it had seen
 * (an object that appeared meanwhile is new to it, and runs) and need not poll everything at
 * once: each target's first poll comes at a random point of the first 30 s (or of its
 * interval, if shorter).
 */
struct RemoteTarget {
        Target target;
        const RemoteOps *ops;
        usec_t interval;                /* poll = "60s" */
        usec_t timeout, connect_timeout;
        RemoteObject *known;            /* what counts: check() and scan() answer from it */
        Complete complete;              /* COMPLETE_AT_ONCE, _QUIET or _FLAG */
        RemoteObject *held;             /* listed by the last poll, not counted yet */
        RemoteObject *vanished;         /* counted once, not found since (remote-vanished.c) */
        bool loaded;                    /* known comes from a poll or the state directory */
        sd_event_source *timer;
        bool polling;
        usec_t poll_started;            /* CLOCK_MONOTONIC, of the poll in flight */
        /* CLOCK_REALTIME, when the poll in flight began, and when the last one that ended did
         * (0: none yet): what it found was there by then at least. */
        usec_t poll_began, last_poll_began;
        unsigned failures;              /* consecutive */
        char *error;                    /* of the last poll, NULL after a good one */
        usec_t last_ok_realtime, next_poll_realtime;
        bool again;                     /* poll again as soon as this poll ends */
        bool told_untagged;             /* warned that "quiet:" sees no versions here */
        char **confirmed;               /* outputs confirmed since the loop last ran */
        sd_event_source *confirm_source;
};

static inline RemoteTarget *REMOTE(Target *t) {
        return (RemoteTarget *) t;
}

/* The keys every polled kind takes: poll, timeout, connect_timeout. */
#define REMOTE_KEYS "poll", "timeout", "connect_timeout"
int remote_parse(RemoteTarget *rt, const config_setting_t *s, Diag *d);
/* complete = "quiet:SPAN" | "flag:NAME", for the kinds that list what they poll (url, s3). */
int remote_complete_parse(RemoteTarget *rt, const config_setting_t *s, Diag *d);

int remote_start(Target *t);
/* What stopped targets left for the next version of them (reload.c starts it afresh). */
void remote_memory_free(TargetHost *h);
void remote_stop(Target *t);
int remote_check(Target *t, const char *location);
int remote_mtime(Target *t, const char *location, usec_t *ret);
int remote_scan(Target *t, target_scan_func f, void *userdata);
int remote_status(Target *t, TargetStatus *ret);
int remote_known_since(Target *t, usec_t when, const char **ret_error);
void remote_done(Target *t);

/* The event loop's libcurl multi handle, shared by every HTTP-speaking kind and the daemon's
 * webhooks; it lives in the url kind's slot of the host, whose host_done frees it. NULL when
 * out of memory. */
CurlLoop *target_host_curl_loop(TargetHost *h);

int remote_object_add(RemoteObject **set, const char *location, const char *tag);
void remote_object_free(RemoteObject *o);
void remote_objects_free(RemoteObject **set);
/* Something said the target changed (a notification): poll at once, or right after the poll
 * in flight. */
void remote_poll_now(RemoteTarget *rt);
/* An output the daemon has just seen to exist: known at once, and an arrival for what reads
 * it as soon as the loop runs again (not inside the run's accounting). */
int remote_confirmed(RemoteTarget *rt, const char *location, const char *tag);
/* The same as TargetKind.confirmed. */
int remote_kind_confirmed(Target *t, const char *location, const char *tag);
/* The same failure, told in the same words but for how long something took (curl's "timed out
 * after 3002 milliseconds"). Other numbers (an HTTP status, a date in a path) tell failures
 * apart. */
bool remote_same_failure(const char *a, const char *b);
/* How long after a poll the next one comes, before jitter: the interval, or after that many
 * failures in a row, the back-off. */
usec_t remote_backoff(usec_t interval, unsigned failures);
/* remote-complete.c: whether location is a flag (complete = "flag:NAME"), which a kind must
 * list beside the objects (it matches no template). */
bool remote_is_flag(RemoteTarget *rt, const char *location);
/* Of what a poll found: what counts under the target's policy stays in *found, what does not
 * count yet goes to rt->held (replacing what was held), flags go. old: what counted before the
 * poll; first: the target's first poll ever. -ENOMEM. */
int remote_complete_sort(RemoteTarget *rt, RemoteObject **found, RemoteObject *old, bool first);
/* How long until an object held under "quiet:" may count, for a poll then; USEC_INFINITY. */
usec_t remote_complete_due(RemoteTarget *rt);
void remote_held_drop(RemoteTarget *rt, const char *location);
/* TargetKind.pending and .check_output of the kinds that take complete. */
const char *remote_pending(Target *t, const char *location, char *buf, size_t size);
int remote_foreach_held(Target *t, int (*f)(const char *location, const char *why, void *userdata),
                        void *userdata);
void remote_check_output(Target *t, const char *producer, Diag *d);
/* remote-vanished.c: o, counted, was not found by a poll. */
void remote_vanished_note(RemoteTarget *rt, const RemoteObject *o);
/* After notes of a poll of a target that had `had` objects before it: the oldest forgotten. */
void remote_vanished_trim(RemoteTarget *rt, size_t had);
/* Whether o, found by a poll, went and came back the same version. */
bool remote_vanished_as_was(RemoteTarget *rt, const RemoteObject *o);
/* The same, and if so o takes the time its version was first seen; forgotten either way. */
bool remote_vanished_back(RemoteTarget *rt, RemoteObject *o);
/* A poll ended: found (taken over) is everything that exists now, or error says why not. */
void remote_poll_done(RemoteTarget *rt, RemoteObject *found, const char *error);
