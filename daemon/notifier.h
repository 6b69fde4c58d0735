/* SPDX-License-Identifier: MIT */
/* Notifiers: defined once in sluiced.conf, referenced by tasks (on_failure = [ "ops" ]) */
#pragma once

#include <libconfig.h>
#include <stdbool.h>

#include "diag.h"
#include "util/time-util.h"

typedef enum NotifierKind {
        NOTIFIER_EXEC,          /* a command, the details in its environment */
        NOTIFIER_WEBHOOK,       /* a JSON POST */
        NOTIFIER_EMAIL,         /* a mail through sendmail(8) */
        NOTIFIER_UNIT,          /* OnFailure= to a template unit, on the last attempt's unit */
} NotifierKind;

typedef struct Notifier {
        char *name;
        NotifierKind kind;
        char **argv;            /* exec */
        char *url;              /* webhook */
        bool slack;             /* webhook: {"text": ...}, as Slack's incoming webhooks take */
        char *to, *from;        /* email */
        char **sendmail;        /* email: the program and its options; -t -i are added */
        char *subject, *body;   /* email: templates over ${event}, ${unit}, ${log}... */
        char *unit;             /* unit: a template, "sluice-notify@.service" */
        usec_t timeout;         /* per delivery attempt */
        unsigned retries;       /* after the first attempt, with back-off */
        usec_t window;          /* storms: at most one message per window, then a summary */
} Notifier;

/* The events a task can be notified of, as its keys say them. */
typedef enum NotifyEvent {
        NOTIFY_FAILURE,         /* on_failure: failed for good, after the last attempt */
        NOTIFY_SUCCESS,         /* on_success */
        NOTIFY_RECOVERY,        /* on_recovery: succeeded after failing */
        NOTIFY_RETRY,           /* on_retry: failed, another attempt is due */
        _NOTIFY_EVENT_MAX,
} NotifyEvent;

const char *notify_event_to_string(NotifyEvent e);
/* "on_failure" ... */
const char *notify_event_key(NotifyEvent e);

void notifier_done(Notifier *n);
/* The notifiers group of sluiced.conf, into *ret (*ret_n of them); problems in d. */
int notifiers_parse(const config_setting_t *s, Diag *d, Notifier **ret, size_t *ret_n);
