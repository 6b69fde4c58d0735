/* SPDX-License-Identifier: MIT */
/* The "postgres" target kind's own state, shared by its poll (postgres.c) and its
 * confirmations (postgres-confirm.c) */
#pragma once

#include <libpq-fe.h>

#include "remote.h"
#include "resolve.h"

typedef enum PgState {
        PG_IDLE,                /* no connection */
        PG_RESOLVING,           /* the host name, off the loop (resolve.c) */
        PG_CONNECTING,
        PG_LISTENING,           /* LISTEN sent */
        PG_READY,               /* connected, nothing in flight */
        PG_QUERYING,            /* the poll's SELECT in flight */
} PgState;

typedef struct PgTarget {
        RemoteTarget remote;
        char *conninfo;
        char *table;            /* quoted for SQL */
        char *channel;          /* quoted for SQL, or NULL */
        char *prefix;           /* the update_id's literal start, as a LIKE pattern */
        PGconn *conn;
        char *lookup_host;      /* the name looked up here (host_to_resolve), or NULL */
        Resolve *resolve;
        char *addresses;        /* lookup_host's, as last resolved: "a1,a2,..." */
        PgState state;
        bool want_poll;         /* a poll waits for the connection */
        int fd;
        sd_event_source *io, *deadline;
        RemoteObject *found;
        char *query_error;      /* the poll's query failed: told once all its results are in */
} PgTarget;

static inline PgTarget *PG(Target *t) {
        return (PgTarget *) t;
}

/* Begins connecting to pt's server, at addresses (resolved here; NULL: as the connection
 * string says), as PQconnectStartParams() does; NULL without memory. What the server says
 * outside any query goes to the log under pt's name. */
PGconn *pg_connect_start(PgTarget *pt, const char *addresses);

/* Watches conn's socket for events through *io, *io_fd being the socket it watched last. */
int pg_watch(sd_event *e, PGconn *conn, bool connecting, sd_event_source **io, int *io_fd,
             uint32_t events, sd_event_io_handler_t handler, void *userdata);

/* postgres-confirm.c: whether a task's marker row is there, asked on a connection of its
 * own. */
int pg_confirm(Target *t, TargetHost *h, const char *location, target_confirm_func done,
               void *userdata, TargetConfirm **ret, char **ret_why);
