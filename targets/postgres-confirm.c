/* SPDX-License-Identifier: MIT */
/*
 * Whether a task's marker row is there, asked when its run ends, before anything downstream
 * starts on it. On a connection of its own, not the target's: the target may be stopped (a
 * run that ends under a pipeline a reload retired), and its connection busy with a poll. All
 * of it without holding the loop: a server or DNS that hangs holds up this run's end only, for
 * at most connect_timeout and then the target's timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "postgres.h"

typedef enum ConfirmState {
        CONFIRM_RESOLVING,
        CONFIRM_CONNECTING,
        CONFIRM_LIMITS,         /* statement and lock timeouts, so the server gives up too */
        CONFIRM_SELECT,
} ConfirmState;

typedef struct PgConfirm {
        TargetConfirm base;
        PgTarget *pt;
        sd_event *event;
        char *location;
        ConfirmState state;
        Resolve *resolve;
        PGconn *conn;
        int fd;
        sd_event_source *begin, *io, *deadline;
        int result;             /* of the SELECT, once its results are in */
        char *tag;              /* ... the row's time when it is there */
        char *error;            /* ... and why it failed */
        target_confirm_func done;
        void *userdata;
} PgConfirm;

static void confirm_free(PgConfirm *c) {
        resolve_cancel(c->resolve);
        sd_event_source_disable_unref(c->begin);
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->deadline);
        if (c->conn)
                PQfinish(c->conn);
        free(c->location);
        free(c->tag);
        free(c->error);
        free(c);
}

static void confirm_cancel(TargetConfirm *base) {
        confirm_free((PgConfirm *) base);
}

static void finish(PgConfirm *c, int r, const char *why) {
        c->done(&c->base, r, r >= 0 ? strempty(c->tag) : NULL, why, c->userdata);
        confirm_free(c);
}

/* It cannot say: what failed, in libpq's words where it has some. */
static void fail(PgConfirm *c, const char *what, int r) {
        _cleanup_free_ char *msg = NULL;
        const char *why = c->conn ? PQerrorMessage(c->conn) : "";

        if (asprintf(&msg, "%s%s%.*s", what, why[0] ? ": " : "", (int) strcspn(why, "\n"),
                     why) < 0)
                msg = NULL;
        finish(c, r, msg ?: what);
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        PgConfirm *c = userdata;

        fail(c, c->state == CONFIRM_RESOLVING ? "cannot resolve the host name: timed out" :
                c->state == CONFIRM_CONNECTING ? "cannot connect: timed out" : "query timed out",
             -ETIMEDOUT);
        return 0;
}

static int set_deadline(PgConfirm *c, usec_t after) {
        c->deadline = sd_event_source_disable_unref(c->deadline);
        return sd_event_add_time_relative(c->event, &c->deadline, CLOCK_MONOTONIC, after, 0,
                                          on_deadline, c);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static int watch(PgConfirm *c, uint32_t events) {
        return pg_watch(c->event, c->conn, c->state == CONFIRM_CONNECTING, &c->io, &c->fd, events,
                        on_io, c);
}

/* What libpq could not write at once goes when the socket takes it (EPOLLOUT). */
static int flush(PgConfirm *c) {
        int r = PQflush(c->conn);

        if (r < 0)
                return -EIO;
        return watch(c, r > 0 ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

/* The limits, then the SELECT: one deadline, timeout, for both. */
static int send_next(PgConfirm *c) {
        _cleanup_free_ char *sql = NULL;
        unsigned long long ms = MAX(c->pt->remote.timeout / USEC_PER_MSEC, 1u);
        int r;

        if (c->state == CONFIRM_CONNECTING) {
                if (asprintf(&sql, "SET statement_timeout = %llu; SET lock_timeout = %llu", ms,
                             ms) < 0)
                        return -ENOMEM;
                if (!PQsendQuery(c->conn, sql))
                        return -EIO;
                c->state = CONFIRM_LIMITS;
                r = set_deadline(c, c->pt->remote.timeout);
                if (r < 0)
                        return r;
        } else {
                const char *params[] = { c->location };

                if (asprintf(&sql, "SELECT inserted::text FROM %s WHERE update_id = $1",
                             c->pt->table) < 0)
                        return -ENOMEM;
                if (!PQsendQueryParams(c->conn, sql, 1, NULL, params, NULL, NULL, 0))
                        return -EIO;
                c->state = CONFIRM_SELECT;
        }
        return flush(c);
}

static void take_result(PgConfirm *c, PGresult *res) {
        if (c->state != CONFIRM_SELECT)
                return;         /* the limits: without them the deadline still holds */
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                const char *e = PQresultErrorMessage(res);

                free(c->error);
                c->error = strndup(e, strcspn(e, "\n"));
                c->result = -EIO;
        } else if (PQntuples(res) == 0)
                c->result = -ENOENT;
        else {
                free(c->tag);
                c->tag = strdup(PQgetvalue(res, 0, 0));
                c->result = c->tag ? 0 : -ENOMEM;
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        PgConfirm *c = userdata;

        if (c->state == CONFIRM_CONNECTING) {
                switch (PQconnectPoll(c->conn)) {
                case PGRES_POLLING_READING:
                        (void) watch(c, EPOLLIN);
                        return 0;
                case PGRES_POLLING_WRITING:
                        (void) watch(c, EPOLLOUT);
                        return 0;
                case PGRES_POLLING_OK:
                        if (send_next(c) < 0)
                                fail(c, "cannot send the query", -EIO);
                        return 0;
                default:
                        fail(c, "cannot connect", -ECONNREFUSED);
                        return 0;
                }
        }
        if ((revents & EPOLLOUT && flush(c) < 0) || !PQconsumeInput(c->conn)) {
                fail(c, "connection lost", -EIO);
                return 0;
        }
        while (!PQisBusy(c->conn)) {
                PGresult *res = PQgetResult(c->conn);

                if (res) {
                        take_result(c, res);
                        PQclear(res);
                } else if (c->state == CONFIRM_LIMITS) {
                        if (send_next(c) < 0)
                                fail(c, "cannot send the query", -EIO);
                        return 0;
                } else {
                        finish(c, c->result, c->error);
                        return 0;
                }
        }
        return 0;
}

static void connect_start(PgConfirm *c, const char *addresses) {
        c->conn = pg_connect_start(c->pt, addresses);
        c->state = CONFIRM_CONNECTING;
        /* After a lookup, its deadline stands: connect_timeout bounds the two together. */
        if (!c->conn || PQstatus(c->conn) == CONNECTION_BAD || PQsetnonblocking(c->conn, 1) != 0 ||
            (!c->deadline && set_deadline(c, c->pt->remote.connect_timeout) < 0) ||
            watch(c, EPOLLOUT) < 0)
                fail(c, "cannot connect", -ECONNREFUSED);
}

static void on_resolved(const char *error, const char *addresses, void *userdata) {
        PgConfirm *c = userdata;

        c->resolve = NULL;      /* the resolver frees it */
        if (error) {
                fail(c, error, -ECONNREFUSED);
                return;
        }
        connect_start(c, addresses);
}

/* Starts on the next turn of the loop, so that done() is never called from here. */
static int on_begin(sd_event_source *s, void *userdata) {
        PgConfirm *c = userdata;
        int r;

        /* The addresses the target's last poll found; before any, a lookup of our own, never
         * libpq's on the loop's thread. */
        if (!c->pt->lookup_host || c->pt->addresses) {
                connect_start(c, c->pt->addresses);
                return 0;
        }
        c->state = CONFIRM_RESOLVING;
        r = resolve_start(c->event, c->pt->lookup_host, on_resolved, c, &c->resolve);
        if (r >= 0)
                r = set_deadline(c, c->pt->remote.connect_timeout);
        if (r < 0)
                fail(c, r == -EAGAIN ? "cannot resolve the host name: too many lookups under way"
                                     : "cannot resolve the host name", -ECONNREFUSED);
        return 0;
}

int pg_confirm(Target *t, TargetHost *h, const char *location, target_confirm_func done,
               void *userdata, TargetConfirm **ret, char **ret_why) {
        PgConfirm *c = calloc(1, sizeof(PgConfirm));
        int r;

        if (!c)
                return -ENOMEM;
        *c = (PgConfirm){
                .base.cancel = confirm_cancel,
                .pt = PG(t),
                .event = h->event,
                .location = strdup(location),
                .fd = -1,
                .done = done,
                .userdata = userdata,
        };
        if (!c->location) {
                confirm_free(c);
                return -ENOMEM;
        }
        r = sd_event_add_defer(h->event, &c->begin, on_begin, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->begin, SD_EVENT_ONESHOT);
        if (r < 0) {
                confirm_free(c);
                return r;
        }
        *ret = &c->base;
        return 0;
}
