/* SPDX-License-Identifier: MIT */
/* The target-kind interface: one table per kind of data location */
#pragma once

#include <libconfig.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "binding.h"
#include "diag.h"
#include "template.h"
#include "util/fs-identity.h"
#include "util/hash.h"
#include "util/time-util.h"

typedef struct Target Target;
typedef struct TargetHost TargetHost;
struct Task;
struct Pipeline;

typedef enum TargetKindId {
        TARGET_KIND_PATH,
        TARGET_KIND_URL,
        TARGET_KIND_S3,
        TARGET_KIND_COMMAND,
        TARGET_KIND_POSTGRES,
        _TARGET_KIND_MAX,
} TargetKindId;

/* An output's confirmation under way (confirm() below); each kind's begins with this. */
typedef struct TargetConfirm TargetConfirm;
struct TargetConfirm {
        void (*cancel)(TargetConfirm *c);       /* frees it; its done() is never called */
};
/* r: 0 the output is there, with tag (its ETag, its row's time) for confirmed(); -ENOENT it is
 * not; another -errno the server could not say, and why, in its words (else NULL). */
typedef void (*target_confirm_func)(TargetConfirm *c, int r, const char *tag, const char *why,
                                    void *userdata);

static inline TargetConfirm *target_confirm_cancel(TargetConfirm *c) {
        if (c)
                c->cancel(c);
        return NULL;
}

/* Called by scan() for each instance that exists now. */
typedef int (*target_scan_func)(Target *t, const Binding *b, void *userdata);

/* How a polled target is doing, for `sluicectl status`. */
/*
 * How a kind that stages outputs acts for a run whose task is not the daemon's own user: the
 * task may not create files where its outputs go, so stage() makes each staged file for it,
 * empty, with its modification time at the epoch, and the task writes into it.
 */
typedef struct StageAs {
        /* The task's user: stage(), commit(), placeable() and discard() act with its file
         * system credentials, so that they do nothing the task's user could not do (a link
         * in a directory someone else controls leads nowhere it could not write), and the
         * staged file is its own, to chmod as it likes. NULL: with the daemon's. */
        const FsIdentity *user;
        /* The group the staged file is given, (gid_t) -1: the one it is made with. */
        gid_t group;
        mode_t mode;            /* of the staged file */
        /* Group and others lose write permission before the commit: the file is the
         * daemon's, and the task could not take it away itself. */
        bool tighten;
} StageAs;

typedef struct TargetStatus {
        unsigned objects;               /* known to exist now */
        usec_t last_ok_realtime;        /* the last good poll; 0 never */
        usec_t next_poll_realtime;
        unsigned failures;              /* consecutive failed polls */
        const char *error;              /* of the last poll; NULL when it went well */
        const char *scanned;            /* a local target's: why it is scanned; NULL: it is not */
} TargetStatus;

typedef struct TargetKind {
        const char *name;           /* key in a pipeline file: "path", "url", "s3" */
        TargetKindId id;
        size_t object_size;         /* sizeof(LocalTarget); Target is its first member */
        const char * const *keys;   /* further keys the kind reads, NULL-terminated */

        /* Reads the kind's keys; the core has parsed t->template from the kind's key already. */
        int (*parse)(Target *t, const config_setting_t *s, Diag *d);
        /* Once the target is known to be the output of the task named producer: warns of
         * settings that make no sense for what the daemon itself writes. May be NULL. */
        void (*check_output)(Target *t, const char *producer, Diag *d);
        /* Why a location where parameter param (an index into t->template's) is value would
         * never count as arrived, in words: "names that begin with '.'"; NULL when it would.
         * Asked of constants in input bindings, at load. May be NULL. */
        const char *(*value_ignored)(Target *t, size_t param, const char *value);
        /* Begin watching or polling; report arrivals with target_hint(). */
        int (*start)(Target *t);
        void (*stop)(Target *t);
        /* 1 exists, 0 not, <0 -errno: the fact that every hint is checked against. */
        int (*check)(Target *t, const char *location);
        /* For an object there that check() does not count yet: why, in a few words, written
         * into buf; NULL when it is simply not there. May be NULL. */
        const char *(*pending)(Target *t, const char *location, char *buf, size_t size);
        /* Why nothing may be written to location now, or NULL: where it is stored went away
         * (a network file system unmounted, and a task would write to the bare mount point on
         * the local disk). The text is the target's, valid until the loop runs again. With
         * location NULL, non-NULL when some location of t could be away (asked first, so that
         * no location is made for the others). May be NULL. */
        const char *(*away)(Target *t, const char *location);
        /* Objects there that only the watching process knows not to count (files written in
         * place under complete = "moved", objects a poll listed and holds under "quiet:" or
         * "flag:"): f(location, why) for each, so that a client looking at the disk alone
         * (sluicectl graph) or at a poll's count (status) can be told. A location that ends in
         * '/' is a directory where the target is stored that is away (away()): everything
         * under it, its links followed, with away()'s why. May be NULL. */
        int (*foreach_held)(Target *t, int (*f)(const char *location, const char *why,
                                                void *userdata),
                            void *userdata);
        /* Where a task finds the instance at b, when that is not the location (a URL's values
         * percent-encoded); NULL: the location. */
        int (*task_location)(Target *t, const Binding *b, char **ret);
        /* The last modification, for rerun = "newer"; NULL when the kind cannot tell. */
        int (*mtime)(Target *t, const char *location, usec_t *ret);
        /* The last change of any kind (CLOCK_REALTIME), a rename into place included, for scans
         * that stand in for lost events; NULL when the kind cannot tell. */
        int (*changed)(Target *t, const char *location, usec_t *ret);
        /* Enumerates the instances that exist now (start-up reconciliation, rescans). */
        int (*scan)(Target *t, target_scan_func f, void *userdata);

        /*
         * Atomic outputs: stage() prepares a place for a run to write (creating directories)
         * and returns where the task must write; with as set the task runs as another user
         * than the daemon, and stage() makes the file for it (see StageAs). commit() makes it
         * the real location, durably; discard() removes what a failed run left.
         */
        int (*stage)(Target *t, const char *location, const char *run_id, const StageAs *as,
                     char **ret_tmp);
        int (*commit)(Target *t, const char *tmp, const char *location, const StageAs *as);
        /* 1 the run wrote tmp, readied for commit() (permissions, fsync), which then only moves
         * it; 0 it did not; <0 -errno. Asked of every output before any is committed, so that
         * a run missing one commits none. NULL: 1. */
        int (*written)(Target *t, const char *tmp, const StageAs *as);
        /* 0 when commit() can move an output to location (its directory writable, no
         * directory in its way), else -errno: asked before any output is moved, like
         * written(). NULL: 0. */
        int (*placeable)(Target *t, const char *location, const StageAs *as);
        /* Instead of commit(), for an output that a server holds (the task wrote it there):
         * asks whether location exists, without holding the loop (h's), and calls done from
         * the loop, never from here, unless cancelled first. Works on a stopped target too
         * (a run that ends under a pipeline a reload retired), or not started yet (a run
         * that ended while the daemon was away): the target outlives it. <0 when it cannot
         * even ask, and why in *ret_why where there is more to say than the errno. */
        int (*confirm)(Target *t, TargetHost *h, const char *location, target_confirm_func done,
                       void *userdata, TargetConfirm **ret, char **ret_why);
        /* What confirm() found, once the whole run succeeded (not before: what reads it must
         * not start on a run that fails yet): known at once, and an arrival for its readers. */
        int (*confirmed)(Target *t, const char *location, const char *tag);
        void (*discard)(Target *t, const char *tmp, const StageAs *as);
        /* The run run_id, which staged tmp, is over, its outputs moved into place or
         * discarded: what its task left beside tmp under the run's staged names, declared as
         * no output, is removed (with as, as discard() does), soon; who, "pipeline/task", is
         * told once to declare it. h: the host, which outlives t. May be NULL. */
        void (*leftovers)(Target *t, TargetHost *h, const char *tmp, const char *run_id,
                          const StageAs *as, const char *who);
        /* What identifies the place stage() prepared for tmp (for a file, its directory), taken
         * right after; "" when there is nothing to say. After commit() found nothing at tmp,
         * stage_lost() says whether that place was moved or removed since (mark "": whether it
         * is gone), so that what the run wrote went with it. NULL when the kind cannot tell. */
        char *(*stage_mark)(Target *t, const char *tmp);
        bool (*stage_lost)(Target *t, const char *tmp, const char *mark);

        /* 1 and *ret for a polled target, 0 for one with nothing to say (watched). */
        int (*status)(Target *t, TargetStatus *ret);
        /* For a polled target, whose check() answers from its last poll: 1 when a poll begun at
         * or after when (CLOCK_REALTIME) has ended, with *ret_error NULL when it went well (so
         * check() says what was there by then) or why it failed, the target's until its next
         * poll; 0 not yet, and one that begins soon is asked for (host->polled is called as
         * each poll ends). NULL: check() looks at the thing itself. */
        int (*known_since)(Target *t, usec_t when, const char **ret_error);
        /* Whether a reload must start it afresh although its pipeline's file is unchanged:
         * it is scanned because watches ran out (a reload tries them again), or it read a
         * secret at start that may have been replaced since. NULL: never. */
        bool (*reload_afresh)(Target *t);

        void (*done)(Target *t);    /* frees kind-private state, never t itself */
        void (*host_done)(void *state); /* frees what the kind kept in host->kind_state */
        /* Frees what the kind kept in host->scan_state for the scan that has ended. */
        void (*scan_done)(TargetHost *h);
} TargetKind;

/* What the core lends to every kind: the event loop and where to report. */
struct TargetHost {
        sd_event *event;
        void (*hint)(TargetHost *h, Target *t, const Binding *b, bool fresh);
        void (*gone)(TargetHost *h, Target *t, const Binding *b);
        void (*rescan)(TargetHost *h, Target *t, usec_t lost_since);
        void (*gone_below)(TargetHost *h, Target *t, const Binding *partial);
        void (*back)(TargetHost *h, Target *t);
        /* A poll of a polled target ended, well or not (a deadline may wait for one). */
        void (*polled)(TargetHost *h, Target *t);
        usec_t event_usec;          /* CLOCK_MONOTONIC when the kind woke for what it reports */
        usec_t scan_interval;       /* for a target that cannot be watched, how often to scan */
        const char *state_dir;      /* where kinds may keep what they learnt; NULL: nowhere */
        void *kind_state[_TARGET_KIND_MAX];
        void *remote_memory;        /* remote.c's: what stopped polled targets knew */
        void *local_leftovers;      /* local-leftovers.c's: where ended runs may have left files */
        /* While scanning (a start-up reconciliation, a rescan), the file system is read in
         * bulk and nothing else happens in between: kinds may cache what they read here. */
        unsigned scanning;
        void *scan_state[_TARGET_KIND_MAX];
};

struct Target {
        const TargetKind *kind;
        char *name;
        char *file;                 /* where it is defined (its pipeline's, or included) */
        unsigned line;
        Template *template;
        struct Pipeline *pipeline;  /* owner, not freed */
        TargetHost *host;           /* set while started */
        struct Task *producer;      /* the task that writes it, or NULL for external inputs */
        struct Task **consumers;    /* tasks that read it; the array is owned */
        size_t n_consumers;
        /* Freshness: an instance must exist this long after its period begins, or the
         * notifiers on_late names are told (daemon/deadline.c); only with on_late. */
        usec_t deadline;
        char **on_late;
        sd_event_source *deadline_timer;
        bool late_waits;                /* for a poll to judge its last period due */
        /* CLOCK_REALTIME, when its file was last changed, as its deadline started to be
         * watched: a period due before that is none of its business. 0: unknown. */
        usec_t defined;
        /* Directories of outputs that went whole, checked together once a second at most
         * (daemon/outputs-gone.c); the core's, while the target is started. */
        Binding **gone_below;
        size_t n_gone_below;
        sd_event_source *gone_timer;
        usec_t gone_checked;        /* CLOCK_MONOTONIC */
        UT_hash_handle hh;          /* in its pipeline's index by name */
};

extern const TargetKind * const target_kinds[];

const TargetKind *target_kind_find(const char *name);
int target_new(const TargetKind *kind, Target **ret);
Target *target_free(Target *t);
DEFINE_POINTER_CLEANUP(Target, target_free);

int target_start(Target *t, TargetHost *h);
void target_stop(Target *t);
bool target_reload_afresh(Target *t);
void target_host_done(TargetHost *h);
void target_host_scan_begin(TargetHost *h);
void target_host_scan_end(TargetHost *h);

/*
 * A kind saw something at b: a hint, not a fact. fresh is true for an observed change (a file
 * closed, an object appeared), false for what a scan merely found there; only fresh hints
 * re-arm instances that failed.
 */
void target_hint(Target *t, const Binding *b, bool fresh);
/* An instance disappeared (deleted, moved away): a hint too. */
void target_gone(Target *t, const Binding *b);
/* Why an object that is there does not count yet, or NULL (see TargetKind.pending); buf of
 * TARGET_PENDING_MAX. */
#define TARGET_PENDING_MAX 160

/* Why an instance is held, as `sluicectl why` and `graph` say it: its output's name, that
 * output's location, and why TargetKind.away() gives. */
#define TARGET_AWAY_FORMAT "output '%s' at '%s' cannot be written: %s"
const char *target_pending(Target *t, const char *location, char *buf, size_t size);
/* An input not there whose target, name, is polled (st: its status, not a scan's): what the
 * polls say, for `why` and `graph`, since "waiting for it to arrive" while they fail sends one
 * looking upstream for what is not the trouble. Allocated; NULL when out of memory. */
char *target_polls_said(const char *name, const TargetStatus *st);
/* A kind lost track: the core rescans everything the target feeds. */
void target_rescan(Target *t);
/* A directory went with whatever it held (moved away: no event tells what was in it): every
 * instance at or below partial may have gone, inputs and outputs. */
void target_gone_below(Target *t, const Binding *partial);
/* Forgets the directories pending (the target stops, or they were checked). */
void target_gone_below_clear(Target *t);
/* Events were lost from since (CLOCK_REALTIME) on (queue overflow, polling instead of
 * watching): a rescan in which what changed after since counts as an arrival. */
void target_rescan_lost(Target *t, usec_t since);
/* Where t is stored is back (TargetKind.away says NULL again): what waited for it may start. */
void target_back(Target *t);
/* A polled target's poll ended (TargetHost.polled). */
void target_polled(Target *t);
