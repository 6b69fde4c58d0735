/* SPDX-License-Identifier: MIT */
/* sluiced.conf: the daemon's own settings */
#pragma once

#include <netinet/in.h>

#include "diag.h"
#include "graph.h"
#include "notifier.h"

typedef struct Pool {
        char *name;
        unsigned size;
} Pool;

typedef enum BusScope {
        BUS_SCOPE_UNSET,
        BUS_SCOPE_SYSTEM,
        BUS_SCOPE_USER,
} BusScope;

typedef struct DaemonConfig {
        unsigned max_parallel;  /* task units starting or running at once */
        unsigned max_starting;  /* StartTransientUnit calls in flight at once */
        Pool *pools;
        size_t n_pools;
        Limits default_limits;  /* for what a task leaves unset */
        char *state_directory;  /* NULL: the default for the scope */
        char *control_group;    /* may run, retry, cancel and reload over D-Bus, besides root */
        usec_t scan_interval;   /* for targets that cannot be watched */
        char *http_listen;      /* "127.0.0.1:8642": the HTTP server's address; NULL: off */
        bool http_control;      /* the dashboard's run, retry and cancel buttons work */
        Notifier *notifiers;
        size_t n_notifiers;
        BusScope scope;
} DaemonConfig;

#define DAEMON_CONFIG_DEFAULT                                                          \
        (DaemonConfig) {                                                               \
                .max_parallel = 16, .max_starting = 32, .default_limits = LIMITS_UNSET, \
                .scan_interval = 30 * USEC_PER_SEC,                                    \
        }

void daemon_config_done(DaemonConfig *c);
/* Reads path into *c (which holds the defaults); a missing file is not an error. -EINVAL when
 * the file has errors, all of them in d. */
int daemon_config_load(const char *path, DaemonConfig *c, Diag *d);
/* The same, every problem logged as "file:line: message". */
int daemon_config_load_logged(const char *path, DaemonConfig *c);
/* "IPV4:PORT" (http.listen) as an address to bind; -EINVAL for anything else (a host name,
 * IPv6, a port out of range). ret may be NULL: only checked. */
int daemon_config_parse_listen(const char *s, struct sockaddr_in *ret);
const Pool *daemon_config_find_pool(const DaemonConfig *c, const char *name) _pure_;
const Notifier *daemon_config_find_notifier(const DaemonConfig *c, const char *name) _pure_;
