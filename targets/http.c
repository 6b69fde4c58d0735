/* SPDX-License-Identifier: MIT */
/*
 * The "url" target kind: objects on an HTTP(S) server, polled. Without a wildcard, one HEAD
 * per poll (its ETag or Last-Modified tells versions apart). With wildcards, the directories
 * on the way are listed as nginx lists them with `autoindex_format json` (name, type, mtime,
 * size), level by level, entering only directories whose names fit the template.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-internal.h"
#include "curl-loop.h"
#include "log.h"
#include "remote.h"
#include "util/fs-util.h"
#include "util/strv.h"
#include <utlist.h>

#define HTTP_DEFAULT_MAX_BODY (16u << 20)

typedef struct HttpListing HttpListing;

typedef struct HttpTarget {
        RemoteTarget remote;
        size_t max_body;
        bool tls_verify;
        bool follow_redirects;
        char *ca_file;                  /* CURLOPT_CAINFO, or NULL: the system's trust store */
        char *headers_file;
        struct curl_slist *headers;     /* from headers_file, read at start or at a poll */
        bool headers_read;              /* ... whole: until then, every poll tries again */
        size_t first_wild;              /* first component with a wildcard; n: none */
        /* The poll in flight. */
        HttpListing *listings;          /* requests in flight */
        RemoteObject *found;
        char *error;
} HttpTarget;

struct HttpListing {
        HttpTarget *ht;
        CurlRequest *req;
        size_t level;                   /* the component its entries are matched against */
        char *dir;                      /* the location of the directory, ending in '/'; of
                                         * the object, for a HEAD */
        char *url;                      /* the same, for a request: names escaped */
        Binding *partial;
        HttpListing *prev, *next;
};

static inline void curl_freep(char **p) {
        curl_free(*p);
}

static inline HttpTarget *HTTP(Target *t) {
        return (HttpTarget *) t;
}

static CurlOptions options_of(HttpTarget *ht) {
        return (CurlOptions){
                .connect_timeout_ms = (long) (ht->remote.connect_timeout / USEC_PER_MSEC),
                .timeout_ms = (long) (ht->remote.timeout / USEC_PER_MSEC),
                .max_body = ht->max_body,
                .tls_verify = ht->tls_verify,
                .ca_file = ht->ca_file,
                .no_redirects = !ht->follow_redirects,
                .headers = ht->headers,
                .owner = ht,
        };
}

static void listing_free(HttpListing *x) {
        curl_request_free(x->req);
        free(x->dir);
        free(x->url);
        binding_free(x->partial);
        free(x);
}

static void set_error(HttpTarget *ht, const char *format, ...) _printf_(2, 3);
static void set_error(HttpTarget *ht, const char *format, ...) {
        va_list ap;

        if (ht->error)
                return;         /* the first one says it */
        va_start(ap, format);
        if (vasprintf(&ht->error, format, ap) < 0)
                ht->error = NULL;
        va_end(ap);
        if (!ht->error)
                ht->error = strdup("out of memory");
}

/* The poll is over when nothing is in flight any more, or as soon as one request of it failed:
 * the rest could not make it good, and on a slow server they would hold back the other
 * targets' requests there. */
static void maybe_done(HttpTarget *ht) {
        _cleanup_free_ char *error = NULL;
        RemoteObject *found;
        HttpListing *x, *tmp;

        if (ht->error)
                DL_FOREACH_SAFE(ht->listings, x, tmp) {
                        DL_DELETE(ht->listings, x);
                        listing_free(x);
                }
        if (ht->listings)
                return;
        error = TAKE_PTR(ht->error);
        found = TAKE_PTR(ht->found);
        remote_poll_done(&ht->remote, found, error);
}

static int list_dir(HttpTarget *ht, size_t level, char *dir, char *url, Binding *partial);

/* An entry of a listing: an object at the last level, a directory to enter before it. */
static int take_entry(HttpListing *x, const char *name, const char *type, const char *tag) {
        HttpTarget *ht = x->ht;
        const Template *t = ht->remote.target.template;
        size_t last = t->n_components - 1;
        _cleanup_(binding_freep) Binding *b = NULL;
        _cleanup_free_ char *sub = NULL, *sub_url = NULL;
        _cleanup_(curl_freep) char *escaped = NULL;
        size_t level = x->level;
        int r;

        if (!name[0] || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                return 0;
        /* Beside the objects: their done-flag (complete = "flag:..."). */
        if (level == last && streq(type, "file") && ht->remote.complete.policy == COMPLETE_FLAG &&
            streq(name, ht->remote.complete.flag)) {
                if (asprintf(&sub, "%s%s", x->dir, name) < 0)
                        return -ENOMEM;
                return remote_object_add(&ht->found, sub, tag);
        }
        r = template_match_component(t, level, name, x->partial, &b);
        if (r <= 0)
                return r;
        if (level == last) {
                if (!streq(type, "file"))
                        return 0;
                if (asprintf(&sub, "%s%s", x->dir, name) < 0)
                        return -ENOMEM;
                return remote_object_add(&ht->found, sub, tag);
        }
        if (!streq(type, "directory"))
                return 0;
        escaped = curl_easy_escape(NULL, name, 0);
        if (!escaped || asprintf(&sub, "%s%s/", x->dir, name) < 0 ||
            asprintf(&sub_url, "%s%s/", x->url, escaped) < 0)
                return -ENOMEM;
        /* Literal directories on the way need no listing of their own. */
        for (level++; level < last && template_component_is_literal(t, level); level++) {
                const char *lit = template_component_literal(t, level);
                char *p, *q;

                if (asprintf(&p, "%s%s/", sub, lit) < 0)
                        return -ENOMEM;
                free(sub);
                sub = p;
                if (asprintf(&q, "%s%s/", sub_url, lit) < 0)
                        return -ENOMEM;
                free(sub_url);
                sub_url = q;
        }
        return list_dir(ht, level, TAKE_PTR(sub), TAKE_PTR(sub_url), TAKE_PTR(b));
}

static void parse_listing(HttpListing *x) {
        json_object *root = json_tokener_parse(x->req->body ?: "");
        size_t n;

        if (!root || !json_object_is_type(root, json_type_array)) {
                set_error(x->ht, "%s: not a JSON directory listing (nginx: autoindex on; "
                          "autoindex_format json;)", x->req->url);
                json_object_put(root);
                return;
        }
        n = json_object_array_length(root);
        for (size_t k = 0; k < n; k++) {
                json_object *e = json_object_array_get_idx(root, k), *v;
                const char *name = NULL, *type = "file", *mtime = "";
                _cleanup_free_ char *tag = NULL;
                int64_t size = -1;

                if (json_object_object_get_ex(e, "name", &v))
                        name = json_object_get_string(v);
                if (json_object_object_get_ex(e, "type", &v))
                        type = json_object_get_string(v);
                if (json_object_object_get_ex(e, "mtime", &v))
                        mtime = json_object_get_string(v);
                if (json_object_object_get_ex(e, "size", &v))
                        size = json_object_get_int64(v);
                if (!name || !type)
                        continue;
                if (asprintf(&tag, "%s %lld", strempty(mtime), (long long) size) < 0 ||
                    take_entry(x, name, type, tag) < 0) {
                        set_error(x->ht, "out of memory");
                        break;
                }
        }
        json_object_put(root);
}

/* Not followed unless asked: a login or maintenance page answers 200 for any name it is sent
 * from, and every object would be there, and run, with that page for its data. */
static void set_redirect_error(HttpTarget *ht, CurlRequest *req) {
        char *to = NULL;

        (void) curl_easy_getinfo(req->easy, CURLINFO_REDIRECT_URL, &to);
        /* Not a redirect: the requests carry no If-None-Match or If-Modified-Since, so "not
         * modified" answers a question not asked (a cache in between, most likely). */
        if (req->status == 304)
                set_error(ht, "%s: HTTP status 304 (not modified), though the request made no "
                          "condition (no If-None-Match, no If-Modified-Since): a cache in "
                          "between, or the server, answers wrongly", req->url);
        /* Following leads nowhere when nowhere is said (300 without a choice made, say). */
        else if (!to)
                set_error(ht, "%s: HTTP status %ld, which names no location to go to",
                          req->url, req->status);
        else
                set_error(ht, "%s: HTTP status %ld, a redirect to %s, not followed (%s)",
                          req->url, req->status, to,
                          ht->headers_file ? "never with headers_file" :
                          "follow_redirects = true follows redirects");
}

static void on_listing(CurlRequest *req, const char *error, void *userdata) {
        HttpListing *x = userdata;
        HttpTarget *ht = x->ht;

        if (error)
                set_error(ht, "%s: %s", req->url, error);
        else if (req->status == 404 || req->status == 410)
                ;       /* the directory is not there (yet): nothing in it */
        else if (req->status / 100 == 3)
                set_redirect_error(ht, req);
        else if (req->status / 100 != 2)
                set_error(ht, "%s: HTTP status %ld", req->url, req->status);
        else
                parse_listing(x);
        DL_DELETE(ht->listings, x);
        listing_free(x);
        maybe_done(ht);
}

/* Requests a directory listing; takes dir, url and partial. */
static int list_dir(HttpTarget *ht, size_t level, char *dir, char *url, Binding *partial) {
        HttpListing *x = calloc(1, sizeof(*x));
        CurlOptions o = options_of(ht);
        CurlLoop *l = target_host_curl_loop(ht->remote.target.host);
        int r;

        if (!x || !l) {
                free(x);
                free(dir);
                free(url);
                binding_free(partial);
                return -ENOMEM;
        }
        x->ht = ht;
        x->level = level;
        x->dir = dir;
        x->url = url;
        x->partial = partial;
        r = curl_request_new(l, url, false, &o, &x->req);
        if (r < 0) {
                listing_free(x);
                return r;
        }
        DL_APPEND(ht->listings, x);
        r = curl_request_start(x->req, on_listing, x);
        if (r < 0) {
                DL_DELETE(ht->listings, x);
                listing_free(x);
        }
        return r;
}

static void on_head(CurlRequest *req, const char *error, void *userdata) {
        HttpListing *x = userdata;
        HttpTarget *ht = x->ht;

        if (error)
                set_error(ht, "%s: %s", req->url, error);
        else if (req->status / 100 == 2) {
                /* Without an ETag, the modification time and the size: Last-Modified is to the
                 * second, and a copy that keeps the mtime (cp -p, rsync -t) changes only the
                 * size. */
                _cleanup_free_ char *tag = NULL;
                curl_off_t size = -1;

                (void) curl_easy_getinfo(req->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &size);
                if (req->etag)
                        tag = strdup(req->etag);
                else if (asprintf(&tag, "%s %lld", strempty(req->last_modified),
                                  (long long) size) < 0)
                        tag = NULL;
                if (!tag || remote_object_add(&ht->found, x->dir, tag) < 0)
                        set_error(ht, "out of memory");
        } else if (req->status / 100 == 3)
                set_redirect_error(ht, req);
        else if (req->status != 404 && req->status != 410)
                set_error(ht, "%s: HTTP status %ld", req->url, req->status);
        DL_DELETE(ht->listings, x);
        listing_free(x);
        maybe_done(ht);
}

static void http_cancel(RemoteTarget *rt);

/* A HEAD of url, for the object at location (taken). */
static int head(HttpTarget *ht, const char *url, char *location) {
        CurlLoop *l = target_host_curl_loop(ht->remote.target.host);
        CurlOptions o = options_of(ht);
        HttpListing *x = calloc(1, sizeof(*x));
        int r;

        if (!l || !x) {
                free(x);
                free(location);
                return -ENOMEM;
        }
        x->ht = ht;
        x->dir = location;
        r = curl_request_new(l, url, true, &o, &x->req);
        if (r >= 0) {
                DL_APPEND(ht->listings, x);
                r = curl_request_start(x->req, on_head, x);
                if (r < 0)
                        DL_DELETE(ht->listings, x);
        }
        if (r < 0)
                listing_free(x);
        return r;
}

/* The flag beside a single object (complete = "flag:..."): a HEAD of its own. */
static int head_flag(HttpTarget *ht) {
        const char *text = ht->remote.target.template->text;
        _cleanup_(curl_freep) char *escaped = curl_easy_escape(NULL, ht->remote.complete.flag, 0);
        _cleanup_free_ char *url = NULL;
        char *location;

        if (!escaped || !(url = complete_flag_location(text, escaped)) ||
            !(location = complete_flag_location(text, ht->remote.complete.flag)))
                return -ENOMEM;
        return head(ht, url, location);
}

static int http_poll(RemoteTarget *rt) {
        HttpTarget *ht = (HttpTarget *) rt;
        const Template *t = rt->target.template;
        _cleanup_free_ char *dir = NULL, *url = NULL;
        Binding *empty = NULL;
        char *location;
        int r;

        if (ht->first_wild < t->n_components) {
                /* The literal prefix, as written: it is a URL already. */
                for (size_t k = 0; k < ht->first_wild; k++) {
                        char *p;
                        if (asprintf(&p, "%s%s/", strempty(dir),
                                     template_component_literal(t, k)) < 0)
                                return -ENOMEM;
                        free(dir);
                        dir = p;
                }
                url = strdup(dir);
                if (!url || binding_new(&empty) < 0)
                        return -ENOMEM;
                r = list_dir(ht, ht->first_wild, TAKE_PTR(dir), TAKE_PTR(url), empty);
                if (r < 0)
                        return r;
                maybe_done(ht);         /* cannot end here: the request is in flight */
                return 0;
        }
        location = strdup(t->text);
        if (!location)
                return -ENOMEM;
        r = head(ht, t->text, location);
        if (r >= 0 && rt->complete.policy == COMPLETE_FLAG) {
                r = head_flag(ht);
                if (r < 0)
                        http_cancel(rt);        /* the object's HEAD, which would end the poll */
        }
        return r;
}

static void http_cancel(RemoteTarget *rt) {
        HttpTarget *ht = (HttpTarget *) rt;
        HttpListing *x, *tmp;

        DL_FOREACH_SAFE(ht->listings, x, tmp) {
                DL_DELETE(ht->listings, x);
                listing_free(x);
        }
        remote_objects_free(&ht->found);
        ht->error = mfree(ht->error);
}

/* "Name: value" lines; blank lines and '#' comments skipped. Never logged: they are secrets.
 * On failure, why, for the poll's error. */
static int read_headers(HttpTarget *ht, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        struct curl_slist *list = NULL;
        int r;

        r = read_file(ht->headers_file, 64 * 1024, &text, NULL);
        for (char *line = r < 0 ? NULL : strtok(text, "\r\n"); line;
             line = strtok(NULL, "\r\n")) {
                struct curl_slist *l;

                if (!line[0] || line[0] == '#')
                        continue;
                if (!strchr(line, ':')) {
                        r = -EBADMSG;
                        break;
                }
                l = curl_slist_append(list, line);
                if (!l) {
                        r = -ENOMEM;
                        break;
                }
                list = l;
        }
        if (r < 0) {
                curl_slist_free_all(list);
                errno = -r;
                if (r != -ENOMEM && asprintf(ret_error, "cannot read headers_file %s (\"Name: "
                                             "value\" lines): %m", ht->headers_file) < 0)
                        r = -ENOMEM;
                return r;
        }
        curl_slist_free_all(ht->headers);
        ht->headers = list;
        ht->headers_read = true;
        return 0;
}

static int http_prepare(RemoteTarget *rt, char **ret_error) {
        HttpTarget *ht = (HttpTarget *) rt;

        return ht->headers_file && !ht->headers_read ? read_headers(ht, ret_error) : 0;
}

static const RemoteOps http_ops = {
        .poll = http_poll,
        .cancel = http_cancel,
        .prepare = http_prepare,
};

static int http_parse(Target *t, const config_setting_t *s, Diag *d) {
        HttpTarget *ht = HTTP(t);
        const Template *tp = t->template;
        const config_setting_t *k;
        unsigned line = line_of(config_setting_get_member(s, "url"));
        const char *query;

        ht->remote.ops = &http_ops;
        ht->max_body = HTTP_DEFAULT_MAX_BODY;
        ht->tls_verify = true;
        if (!strneq(tp->text, "http://", 7) && !strneq(tp->text, "https://", 8)) {
                diag_error(d, line, "target '%s': url must start with http:// or https://: '%s'",
                           t->name, tp->text);
                return 0;
        }
        /* "http:", "", "host[:port]", then the path. */
        if (tp->n_components < 4 || !template_component_is_literal(tp, 2) ||
            !template_component_literal(tp, 2)[0]) {
                diag_error(d, line, "target '%s': url '%s' needs a literal host and a path",
                           t->name, tp->text);
                return 0;
        }
        if (template_has_path_tail(tp)) {
                diag_error(d, line, "target '%s': a {name:path} wildcard cannot be listed over "
                           "HTTP; use one wildcard per directory level", t->name);
                return 0;
        }
        /* Wildcards are found by listing directories, and a listing names files, not queries:
         * what follows the '?' would have to be part of a file's name, and nothing would ever
         * match. Objects known only by asking for each (an API's ?day=) are not listed. */
        query = strchr(tp->text, '?');
        if (query && tp->n_params > 0) {
                if (strchr(query, '{'))
                        diag_error(d, line, "target '%s': url '%s' has a wildcard in its query "
                                   "string, which cannot be polled: wildcards are found by "
                                   "listing directories, and a listing names no queries; use a "
                                   "command target whose list program asks the server, or a "
                                   "literal query", t->name, tp->text);
                else
                        diag_error(d, line, "target '%s': url '%s' has wildcards and a query "
                                   "string: wildcards are found by listing directories, whose "
                                   "entries have no query, so nothing would ever match; drop "
                                   "the query (a task may add it to ${input})", t->name,
                                   tp->text);
                return 0;
        }
        for (ht->first_wild = 3; ht->first_wild < tp->n_components &&
                                 template_component_is_literal(tp, ht->first_wild);
             ht->first_wild++)
                ;
        (void) remote_parse(&ht->remote, s, d);
        if (remote_complete_parse(&ht->remote, config_setting_get_member(s, "complete"), d) < 0)
                return -ENOMEM;
        if ((k = config_setting_get_member(s, "max_body"))) {
                const char *v = config_setting_get_string(k);
                uint64_t n;
                if (!v || parse_size(v, &n) < 0 || n == 0 || n > SIZE_MAX / 2)
                        diag_error(d, line_of(k), "target '%s': 'max_body' must be a size such "
                                   "as \"16M\"", t->name);
                else
                        ht->max_body = (size_t) n;
        }
        if ((k = config_setting_get_member(s, "tls_verify"))) {
                if (config_setting_type(k) != CONFIG_TYPE_BOOL)
                        diag_error(d, line_of(k), "target '%s': 'tls_verify' must be true or "
                                   "false", t->name);
                else
                        ht->tls_verify = config_setting_get_bool(k);
        }
        /* Checked here, unlike headers_file: a CA file is not rotated behind the daemon's back,
         * and a typo in its path would otherwise only show as every poll failing TLS. */
        if ((k = config_setting_get_member(s, "ca_file"))) {
                const char *v = config_setting_get_string(k);
                if (!v || v[0] != '/')
                        diag_error(d, line_of(k), "target '%s': 'ca_file' must be an absolute "
                                   "path", t->name);
                else if (access(v, R_OK) < 0)
                        diag_error(d, line_of(k), "target '%s': 'ca_file' '%s' cannot be read: "
                                   "%s", t->name, v, strerror(errno));
                else if (!(ht->ca_file = strdup(v)))
                        return -ENOMEM;
        }
        if ((k = config_setting_get_member(s, "follow_redirects"))) {
                if (config_setting_type(k) != CONFIG_TYPE_BOOL)
                        diag_error(d, line_of(k), "target '%s': 'follow_redirects' must be true "
                                   "or false", t->name);
                else if ((ht->follow_redirects = config_setting_get_bool(k)) &&
                         config_setting_get_member(s, "headers_file"))
                        diag_error(d, line_of(k), "target '%s': 'follow_redirects' cannot be "
                                   "used with 'headers_file', whose headers would be sent "
                                   "wherever a redirect leads", t->name);
        }
        if ((k = config_setting_get_member(s, "headers_file"))) {
                const char *v = config_setting_get_string(k);
                if (!v || v[0] != '/')
                        diag_error(d, line_of(k), "target '%s': 'headers_file' must be an "
                                   "absolute path", t->name);
                else if (!(ht->headers_file = strdup(v)))
                        return -ENOMEM;
        }
        return 0;
}

static bool http_reload_afresh(Target *t) {
        return HTTP(t)->headers_file;
}

static void http_done(Target *t) {
        HttpTarget *ht = HTTP(t);

        http_cancel(&ht->remote);
        remote_done(t);
        curl_slist_free_all(ht->headers);
        free(ht->ca_file);
        free(ht->headers_file);
}

static void http_host_done(void *state) {
        curl_loop_free(state);
}

static const char * const http_keys[] = { REMOTE_KEYS, "complete", "max_body", "tls_verify",
                                          "ca_file", "follow_redirects", "headers_file", NULL };

/* A value as a URL's path has it: every byte but the unreserved ones and '/' (a path
 * parameter's directories) percent-encoded, as the daemon's own requests name it. */
static char *url_escape_value(const char *v) {
        static const char hex[] = "0123456789ABCDEF";
        char *e = malloc(strlen(v) * 3 + 1), *p = e;

        if (!e)
                return NULL;
        for (const unsigned char *c = (const unsigned char *) v; *c; c++)
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    (*c >= '0' && *c <= '9') || strchr("-._~/", *c))
                        *p++ = (char) *c;
                else {
                        *p++ = '%';
                        *p++ = hex[*c >> 4];
                        *p++ = hex[*c & 15];
                }
        *p = 0;
        return e;
}

/* The task fetches what the location names: a value with '%', ' ', '#' or '?' in it must
 * reach it encoded, or it names another object (c%41 is cA) or none. */
static int url_task_location(Target *t, const Binding *b, char **ret) {
        return template_format_escaped(t->template, b, url_escape_value, ret);
}

const TargetKind target_kind_url = {
        .name = "url",
        .id = TARGET_KIND_URL,
        .object_size = sizeof(HttpTarget),
        .keys = http_keys,
        .parse = http_parse,
        .check_output = remote_check_output,
        .pending = remote_pending,
        .foreach_held = remote_foreach_held,
        .start = remote_start,
        .reload_afresh = http_reload_afresh,
        .stop = remote_stop,
        .check = remote_check,
        .mtime = remote_mtime,
        .task_location = url_task_location,
        .scan = remote_scan,
        .status = remote_status,
        .known_since = remote_known_since,
        .done = http_done,
        .host_done = http_host_done,
};
