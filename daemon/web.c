/* SPDX-License-Identifier: MIT */
/*
 * The daemon's HTTP server (libmicrohttpd), off unless sluiced.conf says where to listen:
 * Prometheus metrics at /metrics and the state as JSON at /api/status. It runs on the event
 * loop, not in threads of its own (MHD's epoll descriptor is one more source of sd-event), so
 * a handler reads the daemon's state as it is, with no locking.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "log.h"
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
                   "sluice_instances{state=\"failed\"} %u\n",
                m->n_queued, m->n_active, m->n_starting, m->n_retrying, m->n_failed);
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
}

static void status_json(Manager *m, FILE *f) {
        fprintf(f, "{\"running\":%u,\"starting\":%u,\"queued\":%u,\"retrying\":%u,\"failed\":%u,"
                   "\"runs_succeeded\":%llu,\"runs_failed\":%llu,\"pipelines\":[",
                m->n_active, m->n_starting, m->n_queued, m->n_retrying, m->n_failed,
                m->n_runs_ok, m->n_runs_failed);
        /* Pipeline names are file names: letters, digits, '-', '_' (config.c checks). */
        for (size_t k = 0; k < m->n_pipelines; k++)
                fprintf(f, "%s{\"name\":\"%s\",\"tasks\":%zu}", k ? "," : "",
                        m->pipelines[k]->name, m->pipelines[k]->n_tasks);
        fprintf(f, "]}\n");
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
        ret = MHD_queue_response(c, code, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **state) {
        Manager *m = cls;
        char *body = NULL;
        size_t len = 0;
        FILE *f;

        if (!streq(method, "GET") && !streq(method, "HEAD"))
                return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                             strdup("GET only\n"), strlen("GET only\n"));
        f = open_memstream(&body, &len);
        if (!f)
                return MHD_NO;
        if (streq(url, "/metrics"))
                metrics(m, f);
        else if (streq(url, "/api/status"))
                status_json(m, f);
        else {
                fputs("not found: /metrics and /api/status are\n", f);
                if (fclose(f) != 0)
                        return MHD_NO;
                return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", body, len);
        }
        if (fclose(f) != 0)
                return MHD_NO;
        return reply(c, MHD_HTTP_OK,
                     streq(url, "/metrics") ? "text/plain; version=0.0.4" : "application/json",
                     body, len);
}

static void arm(Manager *m);

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;

        (void) MHD_run(m->web);
        arm(m);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        (void) MHD_run(m->web);
        arm(m);
        return 0;
}

/* MHD's next timeout (idle connections), as a one-shot timer; none when it has none. */
static void arm(Manager *m) {
        MHD_UNSIGNED_LONG_LONG ms;

        if (MHD_get_timeout(m->web, &ms) != MHD_YES) {
                (void) sd_event_source_set_enabled(m->web_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time_relative(m->web_timer, (uint64_t) ms * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(m->web_timer, SD_EVENT_ONESHOT);
}

int web_start(Manager *m) {
        const union MHD_DaemonInfo *info;
        struct sockaddr_in sa = { .sin_family = AF_INET };
        const char *listen = m->config.http_listen, *colon;
        int r;

        if (!listen)
                return 0;
        colon = strrchr(listen, ':');
        if (!colon || inet_pton(AF_INET, strndupa(listen, (size_t) (colon - listen)),
                                &sa.sin_addr) != 1)
                return log_error_errno(-EINVAL, "http listen '%s': expected ADDRESS:PORT", listen);
        sa.sin_port = htons((uint16_t) atoi(colon + 1));
        m->web = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL,
                                  on_request, m, MHD_OPTION_SOCK_ADDR, &sa,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 30,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned) 64, MHD_OPTION_END);
        if (!m->web)
                return log_error_errno(-EADDRNOTAVAIL, "Cannot listen for HTTP on %s", listen);
        info = MHD_get_daemon_info(m->web, MHD_DAEMON_INFO_EPOLL_FD);
        r = info ? sd_event_add_io(m->event, &m->web_io, info->epoll_fd, EPOLLIN, on_io, m)
                 : -EIO;
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &m->web_timer, CLOCK_MONOTONIC, 0, 0,
                                               on_timer, m);
        if (r < 0)
                return log_error_errno(r, "Cannot serve HTTP on %s: %m", listen);
        arm(m);
        log_info("Serving /metrics and /api/status on http://%s/", listen);
        return 0;
}

void web_stop(Manager *m) {
        m->web_io = sd_event_source_disable_unref(m->web_io);
        m->web_timer = sd_event_source_disable_unref(m->web_timer);
        if (m->web)
                MHD_stop_daemon(m->web);
        m->web = NULL;
}
