/* SPDX-License-Identifier: MIT */
/*
 * libcurl's multi interface driven by sd-event: libcurl says which sockets it waits on and
 * when it next needs the clock (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION), sd-event
 * wakes for exactly those, and nothing polls. An idle loop has no sources at all.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include <utlist.h>

#include "curl-loop.h"
#include "util/hash.h"
#include "util/macro.h"
#include "util/time-util.h"

/* The requests of one owner waiting for one server, oldest first. */
struct CurlLane {
        const void *owner;
        CurlRequest *queue;
        CurlLane *prev, *next;          /* in turn order */
        UT_hash_handle hh;
};

/* One per server (scheme, host and port) the loop has talked to; a handful per daemon. */
struct CurlServer {
        char *key;
        unsigned active;
        CurlRequest *sent;              /* the active ones */
        CurlLane *turns;                /* lanes with requests waiting; the head goes next */
        CurlLane *lanes;                /* the same, by owner */
        UT_hash_handle hh;
};

struct CurlLoop {
        CURLM *multi;
        sd_event *event;
        sd_event_source *timer;
        sd_event_source *pump;          /* sends what waits, once slots are free */
        CurlServer *servers;
};

/* A slot was freed: what waits is sent from the loop, not from inside the caller (a done
 * callback or a request being freed), which may be walking its own list of requests. */
static void slot_freed(CurlRequest *r) {
        if (!r->active)
                return;
        r->active = false;
        r->server->active--;
        DL_DELETE(r->server->sent, r);
        if (r->server->turns)
                (void) sd_event_source_set_enabled(r->loop->pump, SD_EVENT_ONESHOT);
}

static void lane_free(CurlServer *server, CurlLane *lane) {
        DL_DELETE(server->turns, lane);
        HASH_DEL(server->lanes, lane);
        free(lane);
}

static int enqueue(CurlServer *server, CurlRequest *r) {
        CurlLane *lane;

        HASH_FIND_PTR(server->lanes, &r->owner, lane);
        if (!lane) {
                lane = calloc(1, sizeof(*lane));
                if (!lane)
                        return -ENOMEM;
                lane->owner = r->owner;
                HASH_ADD_PTR(server->lanes, owner, lane);
                DL_APPEND(server->turns, lane);
        }
        DL_APPEND(lane->queue, r);
        r->lane = lane;
        return 0;
}

static void dequeue(CurlServer *server, CurlRequest *r) {
        CurlLane *lane = r->lane;

        DL_DELETE(lane->queue, r);
        r->lane = NULL;
        if (!lane->queue)
                lane_free(server, lane);
}

/* The oldest request of the lane whose turn it is; that lane goes to the back. */
static CurlRequest *next_turn(CurlServer *server) {
        CurlLane *lane = server->turns;
        CurlRequest *r = lane->queue;

        if (r->next) {
                DL_DELETE(server->turns, lane);
                DL_APPEND(server->turns, lane);
        }
        dequeue(server, r);     /* frees the lane if r was its last */
        return r;
}

static void finish_done(CurlLoop *l) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(l->multi, &left))) {
                CurlRequest *r = NULL;
                const char *error = NULL;
                CURLcode code = msg->data.result;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                (void) curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &r);
                (void) curl_multi_remove_handle(l->multi, msg->easy_handle);
                if (!r)
                        continue;
                slot_freed(r);
                (void) curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
                if (r->too_big)
                        error = "the response is larger than max_body";
                else if (code != CURLE_OK)
                        error = r->errbuf[0] ? r->errbuf : curl_easy_strerror(code);
                r->done(r, error, r->userdata);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CurlLoop *l = userdata;
        int flags = 0, running;

        if (revents & EPOLLIN)
                flags |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                flags |= CURL_CSELECT_ERR;
        (void) curl_multi_socket_action(l->multi, fd, flags, &running);
        finish_done(l);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        CurlLoop *l = userdata;
        int running;

        (void) curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        finish_done(l);
        return 0;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        CurlLoop *l = userp;
        sd_event_source *s = socketp;
        uint32_t events = 0;
        int r;

        if (what == CURL_POLL_REMOVE) {
                sd_event_source_disable_unref(s);
                (void) curl_multi_assign(l->multi, fd, NULL);
                return 0;
        }
        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;
        if (s)
                return sd_event_source_set_io_events(s, events) < 0 ? -1 : 0;
        r = sd_event_add_io(l->event, &s, fd, events, on_io, l);
        if (r < 0)
                return -1;
        (void) sd_event_source_set_description(s, "curl-socket");
        (void) curl_multi_assign(l->multi, fd, s);
        return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
        CurlLoop *l = userp;
        int r;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(l->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        r = sd_event_source_set_time_relative(l->timer, (uint64_t) timeout_ms * USEC_PER_MSEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
        return r < 0 ? -1 : 0;
}

static int send_request(CurlRequest *r) {
        if (curl_multi_add_handle(r->loop->multi, r->easy) != CURLM_OK)
                return -ENOMEM;
        r->active = true;
        r->server->active++;
        DL_APPEND(r->server->sent, r);
        return 0;
}

static int on_pump(sd_event_source *s, void *userdata) {
        CurlLoop *l = userdata;
        CurlServer *server, *tmp;

        HASH_ITER(hh, l->servers, server, tmp)
                while (server->turns && server->active < CURL_SERVER_MAX_ACTIVE) {
                        CurlRequest *r = next_turn(server);

                        if (send_request(r) < 0)
                                r->done(r, "out of memory", r->userdata);
                }
        return 0;
}

int curl_loop_new(sd_event *event, CurlLoop **ret) {
        CurlLoop *l;
        int r;

        /* Once per process; later calls only count. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->event = sd_event_ref(event);
        l->multi = curl_multi_init();
        /* To the millisecond, as libcurl counts: a request just added (libcurl's "at once")
         * would wait for sd-event's default leeway, 250 ms, before it is sent. */
        r = l->multi ? sd_event_add_time_relative(event, &l->timer, CLOCK_MONOTONIC, 0,
                                                   USEC_PER_MSEC, on_timer, l)
                     : -ENOMEM;
        if (r >= 0)
                r = sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_defer(event, &l->pump, on_pump, l);
        if (r >= 0)
                r = sd_event_source_set_enabled(l->pump, SD_EVENT_OFF);
        if (r < 0) {
                curl_loop_free(l);
                return r;
        }
        (void) curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
        (void) curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
        (void) curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        (void) curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
        /* Many targets on one server share its connections. */
        (void) curl_multi_setopt(l->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                                 (long) CURL_SERVER_MAX_ACTIVE);
        *ret = l;
        return 0;
}

void curl_loop_free(CurlLoop *l) {
        CurlServer *server, *tmp;

        if (!l)
                return;
        HASH_ITER(hh, l->servers, server, tmp) {
                CurlRequest *r, *rtmp;

                /* Requests outliving their loop are their owners' to free; nothing sends or
                 * ends them. */
                while (server->turns) {
                        r = server->turns->queue;
                        dequeue(server, r);
                        r->server = NULL;
                }
                DL_FOREACH_SAFE(server->sent, r, rtmp) {
                        DL_DELETE(server->sent, r);
                        (void) curl_multi_remove_handle(l->multi, r->easy);
                        r->active = false;
                        r->server = NULL;
                        r->loop = NULL;
                }
                HASH_DEL(l->servers, server);
                free(server->key);
                free(server);
        }
        if (l->multi)
                curl_multi_cleanup(l->multi);
        sd_event_source_disable_unref(l->timer);
        sd_event_source_disable_unref(l->pump);
        sd_event_unref(l->event);
        free(l);
        curl_global_cleanup();
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata) {
        CurlRequest *r = userdata;
        size_t len = size * n;
        char *b;

        if (r->size + len > r->max_body) {
                r->too_big = true;
                return 0;       /* aborts the transfer */
        }
        b = realloc(r->body, r->size + len + 1);
        if (!b)
                return 0;
        memcpy(b + r->size, data, len);
        r->size += len;
        b[r->size] = 0;
        r->body = b;
        return len;
}

/* "ETag: value\r\n": the value, trimmed. */
static char *header_value(const char *line, size_t len, const char *name) {
        size_t n = strlen(name);
        const char *v, *end = line + len;

        if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
                return NULL;
        for (v = line + n + 1; v < end && (*v == ' ' || *v == '\t'); v++)
                ;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
                end--;
        return strndup(v, (size_t) (end - v));
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata) {
        CurlRequest *r = userdata;
        size_t len = size * n;
        char *v;

        /* A new response (a redirect followed) starts over. */
        if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
                r->etag = mfree(r->etag);
                r->last_modified = mfree(r->last_modified);
        } else if ((v = header_value(data, len, "ETag"))) {
                free(r->etag);
                r->etag = v;
        } else if ((v = header_value(data, len, "Last-Modified"))) {
                free(r->last_modified);
                r->last_modified = v;
        }
        return len;
}

int curl_request_new(CurlLoop *l, const char *url, bool head, const CurlOptions *o,
                     CurlRequest **ret) {
        CurlRequest *r = calloc(1, sizeof(*r));

        if (!r)
                return -ENOMEM;
        r->loop = l;
        /* Without one, a request is an owner of its own: it takes a turn like a target. */
        r->owner = o->owner ?: r;
        r->max_body = o->max_body;
        r->url = strdup(url);
        r->easy = curl_easy_init();
        if (!r->url || !r->easy) {
                curl_request_free(r);
                return -ENOMEM;
        }
        (void) curl_easy_setopt(r->easy, CURLOPT_URL, url);
        /* As written: an S3 key may hold "./" or "../", which libcurl would fold away. */
        (void) curl_easy_setopt(r->easy, CURLOPT_PATH_AS_IS, 1L);
        (void) curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
        (void) curl_easy_setopt(r->easy, CURLOPT_NOBODY, head ? 1L : 0L);
        (void) curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
        (void) curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
        (void) curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
        (void) curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
        (void) curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
        (void) curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 1L);
        (void) curl_easy_setopt(r->easy, CURLOPT_MAXREDIRS, 5L);
        (void) curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
        (void) curl_easy_setopt(r->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        (void) curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "sluiced");
        (void) curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
        (void) curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, o->timeout_ms);
        (void) curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, o->tls_verify ? 1L : 0L);
        (void) curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, o->tls_verify ? 2L : 0L);
        if (o->ca_file)
                (void) curl_easy_setopt(r->easy, CURLOPT_CAINFO, o->ca_file);
        /* Not for a HEAD: libcurl holds its Content-Length to the limit as well, and an object
         * over it could never be confirmed. */
        if (!head)
                (void) curl_easy_setopt(r->easy, CURLOPT_MAXFILESIZE_LARGE,
                                        (curl_off_t) o->max_body);
        if (o->aws_sigv4)
                (void) curl_easy_setopt(r->easy, CURLOPT_AWS_SIGV4, o->aws_sigv4);
        if (o->userpwd)
                (void) curl_easy_setopt(r->easy, CURLOPT_USERPWD, o->userpwd);
        if (o->post_json) {
                (void) curl_easy_setopt(r->easy, CURLOPT_COPYPOSTFIELDS, o->post_json);
                if (curl_request_add_header(r, "Content-Type: application/json") < 0) {
                        curl_request_free(r);
                        return -ENOMEM;
                }
        }
        /* libcurl drops only Authorization and Cookie when a redirect leads to another
         * host: the headers of a headers_file (API keys under any name) would follow it. */
        if (o->headers || o->no_redirects)
                (void) curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
        for (const struct curl_slist *h = o->headers; h; h = h->next)
                if (curl_request_add_header(r, h->data) < 0) {
                        curl_request_free(r);
                        return -ENOMEM;
                }
        *ret = r;
        return 0;
}

int curl_request_add_header(CurlRequest *r, const char *header) {
        struct curl_slist *l = curl_slist_append(r->extra_headers, header);

        if (!l)
                return -ENOMEM;
        r->extra_headers = l;
        return 0;
}

/* "scheme://host:port", as libcurl tells connections apart; one key for what it cannot parse. */
static char *server_key(const char *url) {
        CURLU *u = curl_url();
        char *scheme = NULL, *host = NULL, *port = NULL, *key = NULL;

        if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
                (void) curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
                (void) curl_url_get(u, CURLUPART_HOST, &host, 0);
                (void) curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
        }
        if (asprintf(&key, "%s://%s:%s", strempty(scheme), strempty(host), strempty(port)) < 0)
                key = NULL;
        /* Host names are compared as libcurl compares them: without case. */
        for (char *c = key; c && *c; c++)
                *c = (char) tolower((unsigned char) *c);
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(u);
        return key;
}

static CurlServer *server_of(CurlLoop *l, const char *url) {
        _cleanup_free_ char *key = server_key(url);
        CurlServer *server;

        if (!key)
                return NULL;
        HASH_FIND_STR(l->servers, key, server);
        if (server)
                return server;
        server = calloc(1, sizeof(*server));
        if (!server)
                return NULL;
        server->key = TAKE_PTR(key);
        HASH_ADD_KEYPTR(hh, l->servers, server->key, strlen(server->key), server);
        return server;
}

int curl_request_start(CurlRequest *r, curl_done_func done, void *userdata) {
        r->done = done;
        r->userdata = userdata;
        (void) curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->extra_headers);
        r->server = server_of(r->loop, r->url);
        if (!r->server)
                return -ENOMEM;
        if (r->server->active < CURL_SERVER_MAX_ACTIVE && !r->server->turns)
                return send_request(r);
        return enqueue(r->server, r);
}

CurlRequest *curl_request_free(CurlRequest *r) {
        if (!r)
                return NULL;
        if (r->lane)
                dequeue(r->server, r);
        if (r->active) {
                (void) curl_multi_remove_handle(r->loop->multi, r->easy);
                slot_freed(r);
        }
        /* Without a loop: a request performed on its own (curl_easy_perform). */
        curl_easy_cleanup(r->easy);
        curl_slist_free_all(r->extra_headers);
        free(r->url);
        free(r->body);
        free(r->etag);
        free(r->last_modified);
        free(r);
        return NULL;
}
