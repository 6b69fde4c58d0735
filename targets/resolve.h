/* SPDX-License-Identifier: MIT */
/* Host names resolved off the event loop */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

typedef struct Resolve Resolve;

/* error is NULL, or why the name has no address; addresses is "a1,a2,..." (numeric, at most
 * RESOLVE_MAX_ADDRESSES, in the resolver's order), valid during the call. */
typedef void (*resolve_done_func)(const char *error, const char *addresses, void *userdata);

#define RESOLVE_MAX_ADDRESSES 8

/* Whether host is a name to look up: not an address, not a socket path, one host only. */
bool resolve_wanted(const char *host);

/* Looks host up in a thread of its own; done is called from the loop, never from here.
 * -EAGAIN when too many lookups are under way already (a DNS server not answering). */
int resolve_start(sd_event *e, const char *host, resolve_done_func done, void *userdata,
                  Resolve **ret);
/* done is not called; a lookup under way ends on its own and is freed then. */
void resolve_cancel(Resolve *r);
