/* SPDX-License-Identifier: MIT */
/* libcurl's multi interface on the daemon's sd-event loop: many transfers, no threads */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

typedef struct CurlLoop CurlLoop;
typedef struct CurlRequest CurlRequest;
typedef struct CurlServer CurlServer;
typedef struct CurlLane CurlLane;

/* Requests sent to one server at once; more wait in the loop's own queue, where their timeout
 * has not started yet (libcurl would hold them pending a connection, their timeout running).
 * The queue takes turns between owners, so one target's wide listing cannot make another
 * target on the same server wait for all of it. */
#define CURL_SERVER_MAX_ACTIVE 8

/* Called once per request when it ends; error is NULL on a complete HTTP exchange (whatever
 * its status), else what went wrong, for people. The request may be freed inside. */
typedef void (*curl_done_func)(CurlRequest *req, const char *error, void *userdata);

typedef struct CurlOptions {
        long connect_timeout_ms;
        long timeout_ms;
        size_t max_body;                /* a larger body fails the request */
        bool tls_verify;
        const char *ca_file;            /* CURLOPT_CAINFO (not copied), or NULL */
        bool no_redirects;              /* a 3xx is the answer; implied by headers */
        struct curl_slist *headers;     /* not owned */
        const char *aws_sigv4;          /* CURLOPT_AWS_SIGV4, or NULL */
        const char *userpwd;            /* CURLOPT_USERPWD, or NULL */
        const char *post_json;          /* a POST of this JSON body (copied), or NULL */
        const void *owner;              /* whose turn it waits for (a target); NULL: its own */
} CurlOptions;

struct CurlRequest {
        CurlLoop *loop;
        CURL *easy;
        char *url;
        long status;            /* the HTTP status, once done */
        char *body;             /* NUL-terminated */
        size_t size;
        size_t max_body;
        bool too_big;
        char *etag, *last_modified;
        struct curl_slist *extra_headers;       /* owned */
        curl_done_func done;
        void *userdata;
        char errbuf[CURL_ERROR_SIZE];
        /* The loop's: sent (active, in its server's list) or waiting (in its owner's lane). */
        const void *owner;
        CurlServer *server;
        CurlLane *lane;
        bool active;
        CurlRequest *prev, *next;
};

int curl_loop_new(sd_event *event, CurlLoop **ret);
void curl_loop_free(CurlLoop *l);

/* A GET (or with head, a HEAD) of url; start it with curl_request_start(), on loop l, or
 * perform it on its own (curl_easy_perform) with l NULL. */
int curl_request_new(CurlLoop *l, const char *url, bool head, const CurlOptions *o,
                     CurlRequest **ret);
/* Adds a header for this request only ("Name: value"). */
int curl_request_add_header(CurlRequest *r, const char *header);
/* Sends it, or, when its server has CURL_SERVER_MAX_ACTIVE in flight or requests waiting
 * already, queues it for its owner's turn; done is always called later, from the loop, never
 * from here. */
int curl_request_start(CurlRequest *r, curl_done_func done, void *userdata);
/* Cancels it if in flight; never calls done. */
CurlRequest *curl_request_free(CurlRequest *r);
