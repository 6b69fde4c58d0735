/* SPDX-License-Identifier: MIT */
/* Shared by notify.c (what is told, and when) and notify-deliver.c (how it gets there) */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "notify.h"
#include "run-log.h"
#include "util/hash.h"

typedef struct Told {
        char *key;              /* "failure unit" */
        UT_hash_handle hh;
} Told;

typedef struct Channel {
        struct Channel *prev, *next;
        Manager *manager;
        const Notifier *n;      /* in manager->config, or own once retired */
        Notifier own;
        bool retired;
        unsigned n_deliveries;
        sd_event_source *window;
        bool open;
        unsigned sent;          /* in this window */
        unsigned held;
        char **held_lines;
        char **held_units;      /* whose failure the summary tells (notify_told) */
        Told *told;
} Channel;

typedef struct Message {
        char **env;             /* SLUICE_*=... */
        char *text;             /* one line (a summary: several) for people */
        char *json;
} Message;

typedef struct Delivery Delivery;
typedef struct Pending Pending;

typedef struct NotifyState {
        Channel *channels;      /* made on first use, one per notifier in use */
        Delivery *deliveries;   /* in flight or waiting to retry */
        Pending *pending;       /* oldest first */
        RunLog *log;            /* open while notices wait */
        sd_event_source *log_timer;
        usec_t log_wait;        /* the longest a notice waits for journald */
        usec_t poll;            /* the current pause between looks at the journal */
        bool blind;             /* the daemon cannot read its own entries */
        unsigned failures;      /* failures for good told so far, to tell them apart */
        bool told_blind;
} NotifyState;

void notify_message_done(Message *msg);
/* Frees a channel, retired or at shutdown, with all it held. */
void notify_channel_free(Channel *ch);
/* Sends msg (taken) through ch's notifier: a command, a mail or a POST, tried again with
 * back-off when it fails; a retired channel is freed after its last delivery. failed (taken):
 * the failures for good it tells, noted as told once it is delivered or given up on, and not
 * when the daemon stops first (they are told again at the next start). */
void notify_deliver(Channel *ch, Message *msg, char **failed);
/* One notifier has told failed ("GEN\tUNIT"), or has gone (notify.c). */
void notify_told_one(Manager *m, const char *failed);
void notify_delivery_free(Delivery *d);
/* sluiced stops: frees every delivery, saying which could not be made. */
void notify_deliveries_stop(NotifyState *st);
