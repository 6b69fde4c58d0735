/* SPDX-License-Identifier: MIT */
/* The daemon's HTTP server: the dashboard, its JSON API under /api/, and /metrics */
#pragma once

#include "manager.h"

/* Listens where sluiced.conf's http = { listen = ...; } says; nothing when it says nothing.
 * An address it cannot listen on (the port taken) is logged and the daemon runs on without
 * the server: 0; <0 only when the daemon itself is short of memory or broken. */
int web_start(Manager *m);
void web_stop(Manager *m);
/* One event-to-start latency, for the histogram of /metrics. */
void web_observe_latency(Manager *m, usec_t usec);
