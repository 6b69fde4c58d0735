/* SPDX-License-Identifier: MIT */
/*
 * The "postgres" target kind: Luigi's marker table. An instance exists when its update_id is a
 * row of the table (table_updates by default). One connection per target, driven through the
 * event loop with libpq's non-blocking calls: a poll is one SELECT of the update_ids under the
 * template's literal prefix, and with a channel, LISTEN makes a row inserted by anyone (through
 * the trigger in contrib/postgres/marker-table.sql) a poll at once. A task marks its own
 * completion by inserting its row; the daemon confirms it before anything downstream starts.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "config-internal.h"
#include "log.h"
#include "remote.h"
#include "postgres.h"
#include "resolve.h"

static void drop(PgTarget *pt) {
        resolve_cancel(pt->resolve);
        pt->resolve = NULL;
        pt->io = sd_event_source_disable_unref(pt->io);
        pt->deadline = sd_event_source_disable_unref(pt->deadline);
        if (pt->conn)
                PQfinish(pt->conn);
        pt->conn = NULL;
        pt->state = PG_IDLE;
        pt->fd = -1;
        remote_objects_free(&pt->found);
        pt->query_error = mfree(pt->query_error);
}

/* The connection failed or was lost: the poll waiting for it fails with the reason. */
static void fail(PgTarget *pt, const char *what) {
        _cleanup_free_ char *msg = NULL;
        const char *why = pt->conn ? PQerrorMessage(pt->conn) : "";
        bool polling = pt->remote.polling;

        (void) asprintf(&msg, "%s%s%.*s", what, why[0] ? ": " : "",
                        (int) strcspn(why, "\n"), why);
        drop(pt);
        pt->want_poll = false;
        if (polling)
                remote_poll_done(&pt->remote, NULL, msg ?: what);
        else {
                /* Lost while idle: say so now, and let the poll timer reconnect. */
                log_warning("Target '%s': %s", pt->remote.target.name, msg ?: what);
                remote_poll_now(&pt->remote);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

int pg_watch(sd_event *e, PGconn *conn, bool connecting, sd_event_source **io, int *io_fd,
             uint32_t events, sd_event_io_handler_t handler, void *userdata) {
        int fd = PQsocket(conn);

        if (fd < 0)
                return -EBADF;
        /* libpq may open a new socket while connecting (the next address or host), most
         * often under the same number as the one it closed, which epoll has forgotten: while
         * connecting, the source is made anew at every step. */
        if (*io && (fd != *io_fd || connecting))
                *io = sd_event_source_disable_unref(*io);
        *io_fd = fd;
        if (*io)
                return sd_event_source_set_io_events(*io, events);
        return sd_event_add_io(e, io, fd, events, handler, userdata);
}

static int watch(PgTarget *pt, uint32_t events) {
        return pg_watch(pt->remote.target.host->event, pt->conn, pt->state == PG_CONNECTING,
                        &pt->io, &pt->fd, events, on_io, pt);
}

/* What a nonblocking libpq could not write at once goes when the socket takes it. */
static int flush(PgTarget *pt) {
        int r = PQflush(pt->conn);

        if (r < 0)
                return -EIO;
        return watch(pt, r > 0 ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        PgTarget *pt = userdata;

        fail(pt, pt->state == PG_RESOLVING ? "cannot resolve the host name: timed out" :
                 pt->state == PG_CONNECTING ? "cannot connect: timed out" : "query timed out");
        return 0;
}

static void set_deadline(PgTarget *pt, usec_t after) {
        pt->deadline = sd_event_source_disable_unref(pt->deadline);
        (void) sd_event_add_time_relative(pt->remote.target.host->event, &pt->deadline,
                                          CLOCK_MONOTONIC, after, 0, on_deadline, pt);
}

static int send_select(PgTarget *pt) {
        _cleanup_free_ char *sql = NULL;
        const char *params[] = { pt->prefix };

        if (asprintf(&sql, "SELECT update_id, inserted::text FROM %s WHERE update_id LIKE $1",
                     pt->table) < 0)
                return -ENOMEM;
        if (!PQsendQueryParams(pt->conn, sql, 1, NULL, params, NULL, NULL, 0))
                return -EIO;
        pt->state = PG_QUERYING;
        if (flush(pt) < 0)
                return -EIO;
        pt->want_poll = false;
        set_deadline(pt, pt->remote.timeout);
        return 0;
}

/* Connected: LISTEN first, if there is a channel, then the poll that waited. */
static void connected(PgTarget *pt) {
        _cleanup_free_ char *sql = NULL;

        pt->deadline = sd_event_source_disable_unref(pt->deadline);
        pt->state = PG_READY;
        if (pt->channel && asprintf(&sql, "LISTEN %s", pt->channel) >= 0 &&
            PQsendQuery(pt->conn, sql)) {
                pt->state = PG_LISTENING;
                if (flush(pt) < 0) {
                        fail(pt, "connection lost");
                        return;
                }
                set_deadline(pt, pt->remote.timeout);
                return;
        }
        if (pt->want_poll && send_select(pt) < 0)
                fail(pt, "cannot send the query");
}

static void take_result(PgTarget *pt, PGresult *res) {
        ExecStatusType st = PQresultStatus(res);

        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
                _cleanup_free_ char *msg = NULL;
                const char *e = PQresultErrorMessage(res);
                (void) asprintf(&msg, "%s failed: %.*s",
                                pt->state == PG_LISTENING ? "LISTEN" : "the query",
                                (int) strcspn(e, "\n"), e);
                /* The poll ends once every result is read (command_done): libpq takes no
                 * new command before, and the connection would refuse every poll after. */
                if (pt->state == PG_QUERYING) {
                        if (!pt->query_error)
                                pt->query_error = msg ? TAKE_PTR(msg) : strdup("query failed");
                } else
                        pt->channel = mfree(pt->channel);       /* poll without it */
                return;
        }
        if (pt->state != PG_QUERYING)
                return;
        for (int k = 0; k < PQntuples(res); k++) {
                _cleanup_(binding_freep) Binding *b = NULL;
                const char *id = PQgetvalue(res, k, 0);

                if (template_match(pt->remote.target.template, id, &b) > 0 &&
                    remote_object_add(&pt->found, id, PQgetvalue(res, k, 1)) < 0)
                        break;
        }
}

/* All results of the command in flight are in. */
static void command_done(PgTarget *pt) {
        pt->deadline = sd_event_source_disable_unref(pt->deadline);
        if (pt->state == PG_LISTENING) {
                pt->state = PG_READY;
                if (pt->want_poll && send_select(pt) < 0)
                        fail(pt, "cannot send the query");
        } else if (pt->state == PG_QUERYING) {
                _cleanup_free_ char *error = TAKE_PTR(pt->query_error);

                pt->state = PG_READY;
                if (error) {
                        remote_objects_free(&pt->found);
                        remote_poll_done(&pt->remote, NULL, error);
                } else
                        remote_poll_done(&pt->remote, TAKE_PTR(pt->found), NULL);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        PgTarget *pt = userdata;
        PGnotify *n;
        bool notified = false;

        if (pt->state == PG_CONNECTING) {
                switch (PQconnectPoll(pt->conn)) {
                case PGRES_POLLING_READING:
                        (void) watch(pt, EPOLLIN);
                        return 0;
                case PGRES_POLLING_WRITING:
                        (void) watch(pt, EPOLLOUT);
                        return 0;
                case PGRES_POLLING_OK:
                        (void) watch(pt, EPOLLIN);
                        connected(pt);
                        return 0;
                default:
                        fail(pt, "cannot connect");
                        return 0;
                }
        }
        if ((revents & EPOLLOUT && flush(pt) < 0) || !PQconsumeInput(pt->conn)) {
                fail(pt, "connection lost");
                return 0;
        }
        while ((n = PQnotifies(pt->conn))) {
                notified = true;
                PQfreemem(n);
        }
        while ((pt->state == PG_LISTENING || pt->state == PG_QUERYING) && !PQisBusy(pt->conn)) {
                PGresult *res = PQgetResult(pt->conn);
                if (!res) {
                        command_done(pt);
                        break;
                }
                take_result(pt, res);
                PQclear(res);
        }
        if (notified) {
                log_debug("Target '%s': notified on its channel", pt->remote.target.name);
                remote_poll_now(&pt->remote);
        }
        return 0;
}

/* The parameters of a connection: the connection string as the user wrote it (a URI too),
 * expanded by libpq as before, with what follows it overriding it. */
typedef struct PgParams {
        const char *keys[4], *values[4];
        char *hosts;
} PgParams;

static void pg_params_done(PgParams *p) {
        free(p->hosts);
}

/* With addresses (resolved here), hostaddr is given and host repeated once per address, as
 * libpq pairs the two lists; it then tries them in order, as it would have. */
static int pg_params_build(const PgTarget *pt, const char *addresses, PgParams *p) {
        const char *host = addresses ? pt->lookup_host : NULL;
        size_t k = 0, n = 1;

        *p = (PgParams){};
        p->keys[k] = "dbname";
        p->values[k++] = pt->conninfo;
        if (host) {
                size_t len = strlen(host) + 1;

                for (const char *c = addresses; *c; c++)
                        n += *c == ',';

                p->hosts = calloc(n, len);
                if (!p->hosts)
                        return -ENOMEM;
                for (unsigned i = 0; i < n; i++) {
                        memcpy(p->hosts + i * len, host, len - 1);
                        p->hosts[i * len + len - 1] = i + 1 < n ? ',' : 0;
                }
                p->keys[k] = "host";
                p->values[k++] = p->hosts;
                p->keys[k] = "hostaddr";
                p->values[k++] = addresses;
        }
        return 0;
}

/* libpq's default prints what the server says outside a query to stderr, bare: a NOTICE, or
 * the FATAL of a server shutting down just before the connection drops ("terminating
 * connection due to administrator command"), with nothing to tell whose connection it was. */
static void on_notice(void *userdata, const PGresult *res) {
        const PgTarget *pt = userdata;
        const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED),
                   *shown = PQresultErrorField(res, PG_DIAG_SEVERITY),
                   *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        /* NOTICE, INFO, LOG and DEBUG are news; WARNING and worse are trouble. */
        bool trouble = severity && (streq(severity, "WARNING") || streq(severity, "ERROR") ||
                                    streq(severity, "FATAL") || streq(severity, "PANIC"));

        log_full_errno(trouble ? LOG_WARNING : LOG_INFO, 0, "Target '%s': the server says: %s: %s",
                       pt->remote.target.name, shown ?: strna(severity), strna(message));
}

PGconn *pg_connect_start(PgTarget *pt, const char *addresses) {
        PGconn *conn = NULL;
        PgParams p;

        if (pg_params_build(pt, addresses, &p) >= 0)
                conn = PQconnectStartParams(p.keys, p.values, 1);
        pg_params_done(&p);
        if (conn)
                (void) PQsetNoticeReceiver(conn, on_notice, pt);
        return conn;
}

/* The host name libpq would look up itself, on the loop's thread, or NULL. */
static char *host_to_resolve(const char *conninfo) {
        PQconninfoOption *options = PQconninfoParse(conninfo, NULL);
        const char *host = NULL, *hostaddr = NULL;
        char *r = NULL;

        for (const PQconninfoOption *o = options; o && o->keyword; o++)
                if (streq(o->keyword, "host"))
                        host = o->val;
                else if (streq(o->keyword, "hostaddr"))
                        hostaddr = o->val;
        if (resolve_wanted(host) && !(hostaddr && hostaddr[0]))
                r = strdup(host);
        PQconninfoFree(options);
        return r;
}

static void connect_start(PgTarget *pt, const char *addresses) {
        pt->conn = pg_connect_start(pt, addresses);
        if (!pt->conn || PQstatus(pt->conn) == CONNECTION_BAD ||
            PQsetnonblocking(pt->conn, 1) != 0) {
                fail(pt, "cannot connect");
                return;
        }
        pt->state = PG_CONNECTING;
        set_deadline(pt, pt->remote.connect_timeout);
        if (watch(pt, EPOLLOUT) < 0)
                fail(pt, "cannot connect");
}

static void on_resolved(const char *error, const char *addresses, void *userdata) {
        PgTarget *pt = userdata;

        pt->resolve = NULL;     /* the resolver frees it */
        if (error) {
                fail(pt, error);
                return;
        }
        /* Kept for the confirmations, which connect on their own and must not block on DNS. */
        free(pt->addresses);
        pt->addresses = strdup(addresses);
        pt->deadline = sd_event_source_disable_unref(pt->deadline);
        connect_start(pt, addresses);
}

static int pg_poll(RemoteTarget *rt) {
        PgTarget *pt = (PgTarget *) rt;
        int r;

        pt->want_poll = true;
        switch (pt->state) {
        case PG_READY:
                return send_select(pt);
        case PG_IDLE:
                break;
        default:
                return 0;       /* sent when the connection is up */
        }
        if (!pt->lookup_host) {
                connect_start(pt, NULL);        /* an address, a socket, or a list of hosts */
                return 0;
        }
        r = resolve_start(rt->target.host->event, pt->lookup_host, on_resolved, pt,
                          &pt->resolve);
        if (r < 0) {
                /* Not libpq's lookup on this thread instead: that is what this avoids. */
                fail(pt, r == -EAGAIN ? "cannot resolve the host name: too many lookups under "
                                        "way (is the DNS server answering?)"
                                      : "cannot resolve the host name: out of resources");
                return 0;
        }
        pt->state = PG_RESOLVING;
        set_deadline(pt, rt->connect_timeout);
        return 0;
}

static void pg_cancel(RemoteTarget *rt) {
        drop((PgTarget *) rt);
}

static const RemoteOps pg_ops = {
        .poll = pg_poll,
        .cancel = pg_cancel,
};

/* An SQL identifier, possibly schema-qualified, quoted part by part. */
static char *quote_ident(const char *name) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        if (!f)
                return NULL;
        for (const char *p = name; *p;) {
                size_t n = strcspn(p, ".");
                fputc('"', f);
                for (size_t k = 0; k < n; k++) {
                        if (p[k] == '"')
                                fputc('"', f);
                        fputc(p[k], f);
                }
                fputc('"', f);
                p += n;
                if (*p == '.') {
                        fputc('.', f);
                        p++;
                }
        }
        if (fclose(f) != 0) {
                free(out);
                return NULL;
        }
        return out;
}

static int pg_parse(Target *t, const config_setting_t *s, Diag *d) {
        PgTarget *pt = PG(t);
        const char *text = t->template->text, *brace = strchr(text, '{');
        const char *conn = NULL, *table = "table_updates", *channel = NULL;
        const config_setting_t *k;
        size_t n = brace ? (size_t) (brace - text) : strlen(text);
        char *p;

        pt->remote.ops = &pg_ops;
        pt->fd = -1;
        (void) remote_parse(&pt->remote, s, d);
        if ((k = config_setting_get_member(s, "connection")))
                conn = config_setting_get_string(k);
        if (!conn || !conn[0])
                diag_error(d, line_of(k ?: s), "target '%s': 'connection' must be a libpq "
                           "connection string, such as \"host=db dbname=etl user=sluice\"",
                           t->name);
        else if (strstr(conn, "password"))
                diag_error(d, line_of(k), "target '%s': no password in a pipeline file: libpq "
                           "reads it from ~/.pgpass or PGPASSFILE", t->name);
        if ((k = config_setting_get_member(s, "table")) && !(table = config_setting_get_string(k)))
                diag_error(d, line_of(k), "target '%s': 'table' must be a table name", t->name);
        if ((k = config_setting_get_member(s, "channel")) &&
            !(channel = config_setting_get_string(k)))
                diag_error(d, line_of(k), "target '%s': 'channel' must be a channel name",
                           t->name);
        if (!conn || !table)
                return 0;
        pt->conninfo = strdup(conn);
        /* Once: the connection string does not change while the target lives. */
        pt->lookup_host = host_to_resolve(conn);
        pt->table = quote_ident(table);
        pt->channel = channel ? quote_ident(channel) : NULL;
        /* The literal start, as a LIKE pattern: its own % and _ escaped, then %. */
        pt->prefix = p = calloc(2 * n + 2, 1);
        if (!pt->conninfo || !pt->table || (channel && !pt->channel) || !p)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (text[i] == '%' || text[i] == '_' || text[i] == '\\')
                        *p++ = '\\';
                *p++ = text[i];
        }
        *p = '%';
        return 0;
}

static void pg_done(Target *t) {
        PgTarget *pt = PG(t);

        drop(pt);
        remote_done(t);
        free(pt->addresses);
        free(pt->lookup_host);
        free(pt->conninfo);
        free(pt->table);
        free(pt->channel);
        free(pt->prefix);
}

/* LISTEN is sent on the connection a poll opens, and a restart or reload puts the first poll
 * at a random point of the first 30 s, deaf to the channel until then: a target with a channel
 * polls, and so connects and listens, at once. */
static int pg_start(Target *t) {
        int r = remote_start(t);

        if (r >= 0 && PG(t)->channel)
                remote_poll_now(REMOTE(t));
        return r;
}

static const char * const pg_keys[] = { REMOTE_KEYS, "connection", "table", "channel", NULL };

const TargetKind target_kind_postgres = {
        .name = "postgres",
        .id = TARGET_KIND_POSTGRES,
        .object_size = sizeof(PgTarget),
        .keys = pg_keys,
        .parse = pg_parse,
        .start = pg_start,
        .stop = remote_stop,
        .check = remote_check,
        .mtime = remote_mtime,
        .scan = remote_scan,
        .confirm = pg_confirm,
        .confirmed = remote_kind_confirmed,
        .status = remote_status,
        .known_since = remote_known_since,
        .done = pg_done,
};
