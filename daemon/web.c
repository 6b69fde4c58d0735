/* SPDX-License-Identifier: MIT */
/*
 * The daemon's HTTP server (libmicrohttpd), off unless sluiced.conf says where to listen: the
 * dashboard (daemon/web/, compiled in), its JSON API under /api/ and Prometheus metrics at
 * /metrics. It runs on the event loop, not in threads of its own (MHD's epoll descriptor is
 * one more source of sd-event), so a handler reads the daemon's state as it is, with no
 * locking.
 *
 * Changing anything (POST /api/run, /api/retry, /api/cancel, /api/reset-failed) is off unless
 * http.control is set, and then takes the token /api/status hands out, in an X-Sluice-CSRF
 * header: a page of another origin can neither read the token nor send that header without a
 * CORS preflight, which this server never grants. Requests must name this server in Host
 * (host_allowed()), so a DNS-rebinding page cannot read the token either; pages may not be
 * framed (clickjacking).
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include "control.h"
#include "daemon-config.h"
#include "demand.h"
#include "log.h"
#include "pause.h"
#include "util/macro.h"
#include "util/strv.h"
#include "web-assets.h"
#include "web-internal.h"
#include "web.h"

static const double latency_bounds_ms[WEB_LATENCY_BUCKETS] = { 0.5, 1, 2, 5, 10, 25, 50, 100,
                                                               250, 1000 };

void web_observe_latency(Manager *m, usec_t usec) {
        for (size_t k = 0; k < WEB_LATENCY_BUCKETS; k++)
                if ((double) usec / 1000.0 <= latency_bounds_ms[k])
                        m->latency_buckets[k]++;
        m->latency_count++;
        m->latency_sum_usec += usec;
}

static void metrics(Manager *m, FILE *f) {
        fprintf(f, "# HELP sluice_runs_total Runs that ended since the daemon started.\n"
                   "# TYPE sluice_runs_total counter\n"
                   "sluice_runs_total{result=\"success\"} %llu\n"
                   "sluice_runs_total{result=\"failed\"} %llu\n",
                m->n_runs_ok, m->n_runs_failed);
        fprintf(f, "# HELP sluice_instances Instances the daemon is acting on, by state.\n"
                   "# TYPE sluice_instances gauge\n"
                   "sluice_instances{state=\"queued\"} %u\n"
                   "sluice_instances{state=\"running\"} %u\n"
                   "sluice_instances{state=\"starting\"} %u\n"
                   "sluice_instances{state=\"retrying\"} %u\n"
                   "sluice_instances{state=\"failed\"} %u\n"
                   "sluice_instances{state=\"waiting\"} %u\n",
                m->n_queued, m->n_active - m->n_starting, m->n_starting, m->n_retrying,
                m->n_failed, web_waiting_count(m));
        fprintf(f, "# HELP sluice_queue_length Ready instances waiting for a slot.\n"
                   "# TYPE sluice_queue_length gauge\n"
                   "sluice_queue_length %u\n"
                   "# HELP sluice_units_running Task units starting or running.\n"
                   "# TYPE sluice_units_running gauge\n"
                   "sluice_units_running %u\n",
                m->n_queued, m->n_active);
        fprintf(f, "# HELP sluice_event_to_start_seconds From an input's event to the unit's "
                   "start call, inside the daemon.\n"
                   "# TYPE sluice_event_to_start_seconds histogram\n");
        for (size_t k = 0; k < WEB_LATENCY_BUCKETS; k++)
                fprintf(f, "sluice_event_to_start_seconds_bucket{le=\"%g\"} %llu\n",
                        latency_bounds_ms[k] / 1000.0, m->latency_buckets[k]);
        fprintf(f, "sluice_event_to_start_seconds_bucket{le=\"+Inf\"} %llu\n"
                   "sluice_event_to_start_seconds_sum %.6f\n"
                   "sluice_event_to_start_seconds_count %llu\n",
                m->latency_count, (double) m->latency_sum_usec / 1e6, m->latency_count);
        fprintf(f, "# HELP sluice_target_poll_failures Consecutive failed polls of a polled "
                   "target.\n# TYPE sluice_target_poll_failures gauge\n");
        for (size_t k = 0; k < m->n_pipelines; k++)
                for (size_t j = 0; j < m->pipelines[k]->n_targets; j++) {
                        Target *t = m->pipelines[k]->targets[j];
                        TargetStatus st;

                        if (t->kind->status && t->host && t->kind->status(t, &st) > 0)
                                fprintf(f, "sluice_target_poll_failures{pipeline=\"%s\","
                                           "target=\"%s\",kind=\"%s\"} %u\n",
                                        m->pipelines[k]->name, t->name, t->kind->name,
                                        st.failures);
                }
        /* For an alert on a pause forgotten after maintenance. */
        fprintf(f, "# HELP sluice_pipeline_paused 1 while a pipeline is paused (sluicectl "
                   "pause).\n# TYPE sluice_pipeline_paused gauge\n");
        for (size_t k = 0; k < m->n_pipelines; k++)
                fprintf(f, "sluice_pipeline_paused{pipeline=\"%s\"} %d\n", m->pipelines[k]->name,
                        pause_holds(m, m->pipelines[k]));
}

const char *web_arg(struct MHD_Connection *c, const char *name) {
        return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type,
                             char *body, size_t len) {
        struct MHD_Response *r = MHD_create_response_from_buffer(len, body,
                                                                 MHD_RESPMEM_MUST_FREE);
        enum MHD_Result ret;

        if (!r) {
                free(body);
                return MHD_NO;
        }
        (void) MHD_add_response_header(r, "Content-Type", type);
        (void) MHD_add_response_header(r, "Cache-Control", "no-store");
        (void) MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        ret = MHD_queue_response(c, code, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned code, json_object *o) {
        size_t len = 0;
        const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
                                                                     JSON_C_TO_STRING_NOSLASHESCAPE,
                                                          &len);
        char *body = s ? strndup(s, len) : NULL;

        json_object_put(o);
        if (!body)
                return MHD_NO;
        return reply(c, code, "application/json", body, len);
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned code, const char *message) {
        json_object *o = json_object_new_object();

        if (!o)
                return MHD_NO;
        json_object_object_add(o, "error", json_object_new_string(message));
        return reply_json(c, code, o);
}

static enum MHD_Result reply_asset(struct MHD_Connection *c, const WebAsset *a) {
        struct MHD_Response *r = MHD_create_response_from_buffer(a->size, (void *) a->data,
                                                                 MHD_RESPMEM_PERSISTENT);
        enum MHD_Result ret;

        if (!r)
                return MHD_NO;
        (void) MHD_add_response_header(r, "Content-Type", a->type);
        (void) MHD_add_response_header(r, "Cache-Control", "no-cache");
        (void) MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        (void) MHD_add_response_header(r, "X-Frame-Options", "DENY");
        (void) MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
        (void) MHD_add_response_header(r, "Content-Security-Policy",
                                       "default-src 'self'; img-src 'self' data:; "
                                       "frame-ancestors 'none'; base-uri 'none'; "
                                       "form-action 'none'");
        ret = MHD_queue_response(c, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result reply_metrics(Manager *m, struct MHD_Connection *c) {
        char *body = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&body, &len);

        if (!f)
                return MHD_NO;
        metrics(m, f);
        if (fclose(f) != 0) {
                free(body);
                return MHD_NO;
        }
        return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4", body, len);
}

/*
 * Host names this server: its address, or localhost, with its port. Listening on every
 * address, any address of the machine will do, or its host name; never another name, since a
 * DNS-rebinding page reaches this server under a name of the attacker's.
 */
static bool host_allowed(Web *w, const char *host) {
        const char *listen = w->manager->config.http_listen;
        const char *colon = host ? strrchr(host, ':') : NULL;
        char name[256], self[HOST_NAME_MAX + 1];
        struct in_addr a4;
        struct in6_addr a6;
        size_t n;

        if (!colon || !streq(colon + 1, w->port))
                return false;
        if (streq(host, listen))
                return true;
        n = (size_t) (colon - host);
        if (n == 0 || n >= sizeof(name))
                return false;
        memcpy(name, host, n);
        name[n] = 0;
        if (streq(name, "localhost") || streq(name, "127.0.0.1") || streq(name, "[::1]"))
                return true;
        if (!w->any_host)
                return false;
        if (inet_pton(AF_INET, name, &a4) == 1)
                return true;
        if (name[0] == '[' && name[n - 1] == ']') {
                name[n - 1] = 0;
                return inet_pton(AF_INET6, name + 1, &a6) == 1;
        }
        if (gethostname(self, sizeof(self)) < 0)
                return false;
        self[sizeof(self) - 1] = 0;
        /* "build1", or "build1.example.com" for a host named build1. */
        return strneq(name, self, strlen(self)) &&
               (name[strlen(self)] == 0 || name[strlen(self)] == '.');
}

/* The token, in constant time: how much of it matched must not show in the reply's timing. */
static bool token_ok(Web *w, const char *token) {
        unsigned char diff = 0;
        size_t n = strlen(w->csrf);

        if (!token || strlen(token) != n)
                return false;
        for (size_t k = 0; k < n; k++)
                diff |= (unsigned char) (token[k] ^ w->csrf[k]);
        return diff == 0;
}

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
        char ***params = cls;

        if (streq(key, "param") && value && strv_extend(params, value) < 0)
                return MHD_NO;
        return MHD_YES;
}

static unsigned control_status(const ControlError *e) {
        if (streq(e->name, CONTROL_NO_SUCH_TASK))
                return MHD_HTTP_NOT_FOUND;
        if (streq(e->name, CONTROL_INVALID_ARGS))
                return MHD_HTTP_BAD_REQUEST;
        if (streq(e->name, CONTROL_FAILED))
                return MHD_HTTP_INTERNAL_SERVER_ERROR;
        return MHD_HTTP_CONFLICT;
}

static json_object *steps_json(const Demand *d) {
        json_object *a = json_object_new_array();

        for (size_t k = 0; k < d->n_steps; k++) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "depth", json_object_new_int((int) d->steps[k].depth));
                json_object_object_add(o, "kind", json_object_new_string(d->steps[k].kind));
                json_object_object_add(o, "subject", json_object_new_string(d->steps[k].subject));
                json_object_object_add(o, "detail", json_object_new_string(d->steps[k].detail));
                json_object_array_add(a, o);
        }
        return a;
}

/* POST /api/run|retry|cancel?task=PIPELINE/TASK&param=NAME=VALUE...[&force=1] */
static enum MHD_Result post(Web *w, struct MHD_Connection *c, const char *url) {
        Manager *m = w->manager;
        _cleanup_strv_free_ char **params = NULL;
        _cleanup_(binding_freep) Binding *b = NULL;
        _cleanup_free_ char *unit = NULL;
        _cleanup_(demand_done) Demand d = {};
        const char *task_name = web_arg(c, "task"), *force = web_arg(c, "force");
        const char *origin, *host;
        ControlError e = {};
        int n_args;
        json_object *o;
        Instance *i;
        Task *task;
        int r;

        if (!streq(url, "/api/run") && !streq(url, "/api/retry") && !streq(url, "/api/cancel") &&
            !streq(url, "/api/reset-failed"))
                return reply_error(c, MHD_HTTP_NOT_FOUND, "POST goes to /api/run, /api/retry, "
                                                          "/api/cancel or /api/reset-failed");
        if (!m->config.http_control)
                return reply_error(c, MHD_HTTP_FORBIDDEN, "control is off: set http.control "
                                                          "= true in sluiced.conf");
        host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
        origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
        if (origin && (!host || !strneq(origin, "http://", 7) || !streq(origin + 7, host)))
                return reply_error(c, MHD_HTTP_FORBIDDEN, "cross-origin request refused");
        if (!token_ok(w, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Sluice-CSRF")))
                return reply_error(c, MHD_HTTP_FORBIDDEN, "missing or wrong X-Sluice-CSRF "
                                                          "token (see /api/status)");
        if (!task_name)
                return reply_error(c, MHD_HTTP_BAD_REQUEST, "give ?task=PIPELINE/TASK");
        /* Fewer parameters than asked for would name another instance: all, or none. */
        n_args = MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL);
        if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_param, &params) !=
            n_args)
                return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        r = control_resolve(m, task_name, params, &e, &task, &b, &unit, &i);
        if (r >= 0 && streq(url, "/api/retry"))
                r = control_retry(m, task, b, unit, i, &e);
        else if (r >= 0 && streq(url, "/api/cancel"))
                r = control_cancel(m, unit, i, &e);
        else if (r >= 0 && streq(url, "/api/reset-failed"))
                r = control_reset_failed(m, unit, i, &e);
        else if (r >= 0) {
                log_info("%s asked to run over HTTP", unit);
                r = demand_instance(m, task, b, true, force && streq(force, "1"), &d);
                if (r < 0)
                        (void) snprintf(e.message, sizeof(e.message), "Cannot run %s: %s", unit,
                                        strerror(-r));
                e.name = CONTROL_FAILED;
        }
        if (r < 0)
                return reply_error(c, control_status(&e), e.message);
        o = json_object_new_object();
        json_object_object_add(o, "unit", json_object_new_string(unit));
        if (streq(url, "/api/run"))
                json_object_object_add(o, "steps", steps_json(&d));
        return reply_json(c, MHD_HTTP_OK, o);
}

static enum MHD_Result get(Web *w, struct MHD_Connection *c, const char *url) {
        const char *error = NULL;
        unsigned code = MHD_HTTP_INTERNAL_SERVER_ERROR;
        json_object *o;

        for (const WebAsset *a = web_assets; a->path; a++)
                if (streq(url, a->path))
                        return reply_asset(c, a);
        if (streq(url, "/metrics"))
                return reply_metrics(w->manager, c);
        if (streq(url, "/api/status"))
                o = web_status(w);
        else if (streq(url, "/api/graph"))
                o = web_graph(w);
        else if (streq(url, "/api/instances"))
                o = web_instances(w, c, &code, &error);
        else if (streq(url, "/api/units"))
                o = web_units(w);
        else if (streq(url, "/api/history"))
                o = web_history(w, c, &error);
        else if (streq(url, "/api/logs"))
                o = web_logs(w, c, &code, &error);
        else
                return reply_error(c, MHD_HTTP_NOT_FOUND,
                                   "not found: /, /metrics, /api/status, /api/graph, "
                                   "/api/instances, /api/units, /api/history and /api/logs are");
        if (!o)
                return reply_error(c, code, error ?: "out of memory");
        return reply_json(c, MHD_HTTP_OK, o);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **state) {
        static char seen;
        Web *w = cls;

        if (!host_allowed(w, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host")))
                return reply_error(c, MHD_HTTP_MISDIRECTED_REQUEST,
                                   "this server answers to its own address and localhost only");
        if (streq(method, "GET") || streq(method, "HEAD"))
                return get(w, c, url);
        if (!streq(method, "POST"))
                return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD and POST only");
        /* A POST's body arrives in further calls; everything is in the URL, so it is read and
         * dropped, and the request is answered on the last call. */
        if (!*state) {
                *state = &seen;
                return MHD_YES;
        }
        if (*upload_size > 0) {
                *upload_size = 0;
                return MHD_YES;
        }
        return post(w, c, url);
}

static void arm(Web *w);

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Web *w = userdata;

        (void) MHD_run(w->mhd);
        arm(w);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Web *w = userdata;

        (void) MHD_run(w->mhd);
        arm(w);
        return 0;
}

/* MHD's next timeout (idle connections), as a one-shot timer; none when it has none. */
static void arm(Web *w) {
        MHD_UNSIGNED_LONG_LONG ms;

        if (MHD_get_timeout(w->mhd, &ms) != MHD_YES) {
                (void) sd_event_source_set_enabled(w->timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time_relative(w->timer, (uint64_t) ms * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
}

static Web *web_free(Web *w) {
        if (!w)
                return NULL;
        web_units_done(w);
        web_history_done(w);
        w->io = sd_event_source_disable_unref(w->io);
        w->timer = sd_event_source_disable_unref(w->timer);
        if (w->mhd)
                MHD_stop_daemon(w->mhd);
        web_counts_free(w);
        free(w);
        return NULL;
}

/* Why the server could not listen on sa: libmicrohttpd says only that it failed, so the bind
 * is tried again here for its errno (EADDRINUSE, EADDRNOTAVAIL, EACCES below port 1024). 0
 * when it binds now: the failure was something else. */
static int bind_error(const struct sockaddr_in *sa) {
        _cleanup_close_ int fd = -EBADF;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
        if (bind(fd, (const struct sockaddr *) sa, sizeof(*sa)) < 0)
                return -errno;
        return 0;
}

int web_start(Manager *m) {
        const union MHD_DaemonInfo *info;
        struct sockaddr_in sa;
        const char *listen = m->config.http_listen;
        sd_id128_t token;
        Web *w;
        int r;

        if (!listen)
                return 0;
        /* The parser let through only what this takes. */
        r = daemon_config_parse_listen(listen, &sa);
        if (r < 0)
                return log_error_errno(r, "http listen '%s': expected IPV4:PORT", listen);
        w = calloc(1, sizeof(*w));
        if (!w)
                return log_oom();
        w->manager = m;
        w->any_host = sa.sin_addr.s_addr == htonl(INADDR_ANY);
        (void) snprintf(w->port, sizeof(w->port), "%u", (unsigned) ntohs(sa.sin_port));
        r = sd_id128_randomize(&token);
        if (r < 0) {
                web_free(w);
                return log_error_errno(r, "Cannot make the HTTP control token: %m");
        }
        sd_id128_to_string(token, w->csrf);
        w->mhd = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, on_request, w,
                                  MHD_OPTION_SOCK_ADDR, &sa,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 30,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned) 64, MHD_OPTION_END);
        /* The dashboard is a window on the pipelines, not one of them: a port taken by
         * something else stops neither the start nor a reload; the daemon runs on without it
         * until a reload with the port free. */
        if (!w->mhd) {
                web_free(w);
                r = bind_error(&sa);
                if (r < 0)
                        log_error_errno(r, "Cannot listen for HTTP on %s: %m; running without the "
                                           "dashboard, its API and /metrics", listen);
                else
                        log_error("Cannot start the HTTP server on %s; running without the "
                                  "dashboard, its API and /metrics", listen);
                return 0;
        }
        info = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        r = info ? sd_event_add_io(m->event, &w->io, info->epoll_fd, EPOLLIN, on_io, w) : -EIO;
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &w->timer, CLOCK_MONOTONIC, 0, 0,
                                               on_timer, w);
        if (r < 0) {
                web_free(w);
                return log_error_errno(r, "Cannot serve HTTP on %s: %m", listen);
        }
        m->web = w;
        arm(w);
        log_info("Serving the dashboard, its API and /metrics on http://%s/ (control %s)", listen,
                 m->config.http_control ? "on" : "off");
        return 0;
}

void web_stop(Manager *m) {
        m->web = web_free(m->web);
}
