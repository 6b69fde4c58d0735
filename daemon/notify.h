/* SPDX-License-Identifier: MIT */
/* Telling people: a task's notifiers, on its instances' failures, retries, successes */
#pragma once

#include "manager.h"
#include "notifier.h"

/*
 * Tells every notifier the task names for event about instance i, whose last run ended so
 * (reason: why it failed, or NULL). Never blocks: deliveries go through the event loop. A
 * storm (more than three messages per notifier per window) becomes one summary at the
 * window's end; the same failure of the same instance is told once until it recovers.
 */
void notify_instance(Manager *m, Instance *i, NotifyEvent event, const char *reason);
/* i was restored failed at start-up: its notifiers were told of that failure by the daemon
 * before, and are not told again until it has succeeded. */
void notify_restore_told(Manager *m, Instance *i);
/* Tells t's on_late notifiers that location, due by due (CLOCK_REALTIME), is missing, or with
 * unknown set, that whether it is there is unknown, and why (its polls fail): each that has
 * delivered it calls deadline_told() with key ("PERIOD\tPIPELINE\tTARGET"). How many it
 * asked; 0 when none could be. */
unsigned notify_target_late(Manager *m, Target *t, const char *location, usec_t due,
                            const char *key, const char *unknown);
/* Says which notifiers of the unit kind name a template the manager has not got. */
void notify_check_unit_templates(Manager *m);
/* sluiced.conf was reloaded: m->config has the new notifiers, old (n_old of them) the ones
 * being replaced, of which it takes what retired channels still need. */
void notify_reload(Manager *m, Notifier *old, size_t n_old);
void notify_free(Manager *m);
