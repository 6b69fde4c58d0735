/* SPDX-License-Identifier: MIT */
/* Deadlines on targets: an instance missing at its deadline is told to on_late's notifiers */
#pragma once

#include "manager.h"

/* Checks p's targets with a deadline now, and arms each for its next one. */
void deadline_start(Manager *m, Pipeline *p);
/* A poll of t ended: a deadline that waited for it is judged (TargetHost.polled). */
void deadline_polled(TargetHost *h, Target *t);
/* One notifier delivered (or gave up on) the alert key names: "PERIOD\tPIPELINE\tTARGET". */
void deadline_told(Manager *m, const char *key);
/* Forgets the alerts under way (sluiced stops: their marks say untold). */
void deadline_free(Manager *m);
