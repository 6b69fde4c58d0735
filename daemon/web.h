/* SPDX-License-Identifier: MIT */
/* The daemon's HTTP server: the dashboard, its JSON API under /api/, and /metrics */
#pragma once

#include "manager.h"

/* Listens where sluiced.conf's http = { listen = ...; } says; nothing when it says nothing. */
int web_start(Manager *m);
void web_stop(Manager *m);
/* One event-to-start latency, for the histogram of /metrics. */
void web_observe_latency(Manager *m, usec_t usec);
