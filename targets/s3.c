/* SPDX-License-Identifier: MIT */
/*
 * The "s3" target kind: objects in an S3 bucket (AWS, or any endpoint that speaks the API),
 * polled with ListObjectsV2 under the template's literal prefix, page by page, and signed
 * with AWS Signature V4 by libcurl. Credentials come from a file or a systemd credential,
 * never from the pipeline file. An output on S3 is written by its task; the daemon confirms
 * with a HEAD that it exists before anything downstream starts.
 */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "log.h"
#include "aws-credentials.h"
#include "remote.h"
#include "util/fs-util.h"

/* libcurl 7.88 signs S3 requests only with the payload's hash given: that of no payload. */
#define EMPTY_SHA256 "x-amz-content-sha256: " \
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_MAX_BODY (16u << 20)

typedef struct S3Target {
        RemoteTarget remote;
        char *bucket;
        char *prefix;                   /* the key's literal start, for ListObjectsV2 */
        char *endpoint;                 /* scheme://host[:port], no trailing '/' */
        char *region;
        bool path_style;
        char *credentials_file;         /* or */
        char *credential;               /* the name of a systemd credential */
        char *profile;                  /* the [section] of it to read; "default" */
        char *userpwd;                  /* "KEY_ID:SECRET", read at start */
        char *token_header;             /* temporary credentials' session token, or NULL */
        char *sigv4;                    /* "aws:amz:REGION:s3" */
        unsigned page_size;             /* max-keys */
        CurlRequest *req;               /* the page in flight */
        RemoteObject *found;
} S3Target;

static inline S3Target *S3(Target *t) {
        return (S3Target *) t;
}

static CurlOptions options_of(S3Target *st, usec_t timeout) {
        return (CurlOptions){
                .connect_timeout_ms = (long) (st->remote.connect_timeout / USEC_PER_MSEC),
                .timeout_ms = (long) (timeout / USEC_PER_MSEC),
                .max_body = S3_MAX_BODY,
                .tls_verify = true,
                .aws_sigv4 = st->sigv4,
                .userpwd = st->userpwd,
                .owner = st,
        };
}

/* What every request carries besides its signature: the hash SigV4 wants for S3 (libcurl 7.88
 * does not add it), and the session token of temporary credentials (STS, an instance role),
 * which libcurl signs with the other headers. */
static int add_headers(S3Target *st, CurlRequest *req) {
        int r = curl_request_add_header(req, EMPTY_SHA256);

        if (r >= 0 && st->token_header)
                r = curl_request_add_header(req, st->token_header);
        return r;
}

/* The URL of the bucket (path style: ENDPOINT/BUCKET, else SCHEME://BUCKET.HOST), then rest. */
static char *bucket_url(S3Target *st, const char *rest) {
        char *u = NULL;

        if (st->path_style)
                return asprintf(&u, "%s/%s%s", st->endpoint, st->bucket, rest) < 0 ? NULL : u;
        const char *host = strstr(st->endpoint, "://");
        host = host ? host + 3 : st->endpoint;
        return asprintf(&u, "%.*s%s.%s%s", (int) (host - st->endpoint), st->endpoint, st->bucket,
                        host, rest) < 0 ? NULL : u;
}

static const char *child_text(xmlNode *n, const char *name, xmlChar **keep) {
        for (xmlNode *c = n->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, (const xmlChar *) name)) {
                        *keep = xmlNodeGetContent(c);
                        return (const char *) *keep;
                }
        return NULL;
}

/* One page: its objects into found; the next page's token, or NULL at the end. On an S3
 * error document, *ret_error says what S3 said. */
static int parse_page(S3Target *st, const char *body, size_t size, char **ret_token,
                      char **ret_error) {
        xmlDoc *doc = xmlReadMemory(body, (int) size, NULL, NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
        xmlChar *a = NULL, *b = NULL;
        int r = 0;

        *ret_token = NULL;
        *ret_error = NULL;
        if (!root) {
                xmlFreeDoc(doc);
                return -EBADMSG;
        }
        if (xmlStrEqual(root->name, (const xmlChar *) "Error")) {
                const char *code = child_text(root, "Code", &a), *msg = child_text(root, "Message", &b);
                if (asprintf(ret_error, "%s: %s", code ?: "error", msg ?: "") < 0)
                        r = -ENOMEM;
                goto out;
        }
        for (xmlNode *c = root->children; c && r >= 0; c = c->next) {
                xmlChar *key = NULL, *etag = NULL;
                _cleanup_(binding_freep) Binding *match = NULL;
                _cleanup_free_ char *loc = NULL;
                const char *k, *e;

                if (c->type != XML_ELEMENT_NODE || !xmlStrEqual(c->name, (const xmlChar *) "Contents"))
                        continue;
                k = child_text(c, "Key", &key);
                e = child_text(c, "ETag", &etag);
                if (k && asprintf(&loc, "s3://%s/%s", st->bucket, k) < 0)
                        r = -ENOMEM;
                /* Only what the template names: the listing is of its literal prefix, which
                 * may be the whole bucket, and all of it would be kept and saved. And flags
                 * (complete = "flag:..."), which remote.c takes out again. */
                else if (k && (template_match(st->remote.target.template, loc, &match) > 0 ||
                               remote_is_flag(&st->remote, loc)))
                        r = remote_object_add(&st->found, loc, e ?: "");
                xmlFree(key);
                xmlFree(etag);
        }
        if (r >= 0) {
                const char *truncated = child_text(root, "IsTruncated", &a);
                const char *next = child_text(root, "NextContinuationToken", &b);
                /* Truncated without a token (a server that ignores list-type=2): what is
                 * past the page is unknown, and must not be taken for gone. */
                if (truncated && streq(truncated, "true") && !next)
                        r = -EPROTO;
                else if (truncated && streq(truncated, "true") && !(*ret_token = strdup(next)))
                        r = -ENOMEM;
        }
out:
        xmlFree(a);
        xmlFree(b);
        xmlFreeDoc(doc);
        return r;
}

static int request_page(S3Target *st, const char *token);

static void on_page(CurlRequest *req, const char *error, void *userdata) {
        S3Target *st = userdata;
        _cleanup_free_ char *token = NULL, *s3_error = NULL, *msg = NULL;
        int r = 0;

        if (!error) {
                r = parse_page(st, req->body ?: "", req->size, &token, &s3_error);
                if (s3_error)
                        (void) asprintf(&msg, "%s: HTTP status %ld, %s", req->url, req->status,
                                        s3_error);
                else if (req->status / 100 != 2)
                        (void) asprintf(&msg, "%s: HTTP status %ld", req->url, req->status);
                else if (r == -EPROTO)
                        (void) asprintf(&msg, "%s: a truncated listing without a "
                                        "NextContinuationToken (does the server know "
                                        "ListObjectsV2?)", req->url);
                else if (r < 0)
                        (void) asprintf(&msg, "%s: not a ListObjectsV2 answer", req->url);
        } else
                (void) asprintf(&msg, "%s: %s", req->url, error);
        st->req = curl_request_free(st->req);
        if (!msg && token && request_page(st, token) >= 0)
                return;         /* the next page */
        if (!msg && token)
                msg = strdup("cannot request the next page");
        remote_poll_done(&st->remote, TAKE_PTR(st->found), msg ?: error);
}

static int request_page(S3Target *st, const char *token) {
        _cleanup_free_ char *rest = NULL, *url = NULL;
        CurlOptions o = options_of(st, st->remote.timeout);
        CurlLoop *l = target_host_curl_loop(st->remote.target.host);
        char *p, *t = NULL;
        int r;

        if (!l)
                return -ENOMEM;
        p = curl_easy_escape(NULL, st->prefix, 0);
        if (token)
                t = curl_easy_escape(NULL, token, 0);
        if (!p || (token && !t) ||
            /* In the order SigV4 sorts them: libcurl 7.88 signs the query as it is, and S3
             * checks it sorted (page 2 on would fail on a server that checks signatures). */
            asprintf(&rest, "?%s%s%slist-type=2&max-keys=%u&prefix=%s",
                     t ? "continuation-token=" : "", t ?: "", t ? "&" : "", st->page_size,
                     p) < 0)
                rest = NULL;
        curl_free(p);
        curl_free(t);
        url = rest ? bucket_url(st, rest) : NULL;
        if (!url)
                return -ENOMEM;
        r = curl_request_new(l, url, false, &o, &st->req);
        if (r >= 0)
                r = add_headers(st, st->req);
        if (r >= 0)
                r = curl_request_start(st->req, on_page, st);
        if (r < 0)
                st->req = curl_request_free(st->req);
        return r;
}

static int load_credentials(S3Target *st, char **ret_error);

static int s3_poll(RemoteTarget *rt) {
        return request_page((S3Target *) rt, NULL);
}

static int s3_prepare(RemoteTarget *rt, char **ret_error) {
        S3Target *st = (S3Target *) rt;

        return st->userpwd ? 0 : load_credentials(st, ret_error);
}

static void s3_cancel(RemoteTarget *rt) {
        S3Target *st = (S3Target *) rt;

        st->req = curl_request_free(st->req);
        remote_objects_free(&st->found);
}

static const RemoteOps s3_ops = {
        .poll = s3_poll,
        .cancel = s3_cancel,
        .prepare = s3_prepare,
};

static int string_key(const config_setting_t *s, const char *key, const char *target, Diag *d,
                      char **ret) {
        const config_setting_t *k = config_setting_get_member(s, key);
        const char *v;

        if (!k)
                return 0;
        v = config_setting_get_string(k);
        if (!v || !v[0]) {
                diag_error(d, line_of(k), "target '%s': '%s' must be a non-empty string", target,
                           key);
                return 0;
        }
        free(*ret);
        *ret = strdup(v);
        return *ret ? 1 : -ENOMEM;
}

static int s3_parse(Target *t, const config_setting_t *s, Diag *d) {
        S3Target *st = S3(t);
        const Template *tp = t->template;
        const char *text = tp->text, *slash, *brace;
        unsigned line = line_of(config_setting_get_member(s, "s3"));
        _cleanup_free_ char *addressing = NULL;
        const config_setting_t *k;
        int r;

        st->remote.ops = &s3_ops;
        if (!strneq(text, "s3://", 5) || !(slash = strchr(text + 5, '/')) || slash == text + 5 ||
            !slash[1]) {
                diag_error(d, line, "target '%s': s3 must be s3://BUCKET/KEY, not '%s'", t->name,
                           text);
                return 0;
        }
        st->bucket = strndup(text + 5, (size_t) (slash - text - 5));
        brace = strchr(text, '{');
        if (brace && brace < slash) {
                diag_error(d, line, "target '%s': the bucket cannot have a wildcard", t->name);
                return 0;
        }
        st->prefix = brace ? strndup(slash + 1, (size_t) (brace - slash - 1)) : strdup(slash + 1);
        if (!st->bucket || !st->prefix)
                return -ENOMEM;
        (void) remote_parse(&st->remote, s, d);
        if (remote_complete_parse(&st->remote, config_setting_get_member(s, "complete"), d) < 0)
                return -ENOMEM;
        if (st->remote.complete.policy == COMPLETE_FLAG) {
                /* The flag is in the objects' directory, which "data/part-{n}" does not list
                 * under "data/part-": from its last '/'. */
                char *last = strrchr(st->prefix, '/');
                *(last ? last + 1 : st->prefix) = 0;
        }
        if ((r = string_key(s, "region", t->name, d, &st->region)) < 0 ||
            (r = string_key(s, "endpoint", t->name, d, &st->endpoint)) < 0 ||
            (r = string_key(s, "addressing", t->name, d, &addressing)) < 0 ||
            (r = string_key(s, "credentials_file", t->name, d, &st->credentials_file)) < 0 ||
            (r = string_key(s, "credential", t->name, d, &st->credential)) < 0 ||
            (r = string_key(s, "profile", t->name, d, &st->profile)) < 0)
                return r;
        if (!st->profile && !(st->profile = strdup("default")))
                return -ENOMEM;
        st->page_size = 1000;
        if ((k = config_setting_get_member(s, "page_size"))) {
                int v = config_setting_get_int(k);
                if (config_setting_type(k) != CONFIG_TYPE_INT || v < 1 || v > 1000)
                        diag_error(d, line_of(k), "target '%s': 'page_size' must be a number "
                                   "from 1 to 1000", t->name);
                else
                        st->page_size = (unsigned) v;
        }
        if (!st->region && !(st->region = strdup("us-east-1")))
                return -ENOMEM;
        /* A custom endpoint (MinIO, Ceph, s3rver) speaks path style; AWS prefers virtual hosts. */
        st->path_style = !!st->endpoint;
        if (addressing && (streq(addressing, "path") || streq(addressing, "virtual")))
                st->path_style = streq(addressing, "path");
        else if (addressing)
                diag_error(d, line_of(config_setting_get_member(s, "addressing")),
                           "target '%s': 'addressing' must be \"path\" or \"virtual\"", t->name);
        if (!st->endpoint && asprintf(&st->endpoint, "https://s3.%s.amazonaws.com", st->region) < 0)
                return -ENOMEM;
        if (!strneq(st->endpoint, "http://", 7) && !strneq(st->endpoint, "https://", 8))
                diag_error(d, line_of(config_setting_get_member(s, "endpoint")),
                           "target '%s': 'endpoint' must start with http:// or https://",
                           t->name);
        else if (st->endpoint[strlen(st->endpoint) - 1] == '/')
                st->endpoint[strlen(st->endpoint) - 1] = 0;
        if (!!st->credentials_file == !!st->credential)
                diag_error(d, line, "target '%s': say where its credentials are, with "
                           "credentials_file (a path) or credential (a systemd credential's "
                           "name), one of them", t->name);
        else if (st->credentials_file && st->credentials_file[0] != '/')
                diag_error(d, line, "target '%s': 'credentials_file' must be an absolute path",
                           t->name);
        if (asprintf(&st->sigv4, "aws:amz:%s:s3", st->region) < 0)
                return -ENOMEM;
        return 0;
}

/* Read for the target's profile (aws-credentials.c); -EBADMSG when the keys are not there. */
static int read_credentials(S3Target *st, const char *path) {
        _cleanup_free_ char *text = NULL;
        AwsCredentials c;
        int r;

        r = read_file(path, 64 * 1024, &text, NULL);
        if (r >= 0)
                r = aws_credentials_parse(text, st->profile, &c);
        if (r < 0)
                return r;
        free(st->userpwd);
        st->token_header = mfree(st->token_header);
        r = asprintf(&st->userpwd, "%s:%s", c.access_key_id, c.secret_access_key) < 0 ? -ENOMEM
                                                                                        : 0;
        if (r < 0)
                st->userpwd = NULL;
        else if (c.session_token &&
                 asprintf(&st->token_header, "x-amz-security-token: %s", c.session_token) < 0) {
                st->token_header = NULL;
                st->userpwd = mfree(st->userpwd);       /* not without its token */
                r = -ENOMEM;
        }
        aws_credentials_done(&c);
        return r;
}

static int load_credentials(S3Target *st, char **ret_error) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (st->credential) {
                const char *dir = getenv("CREDENTIALS_DIRECTORY");

                if (!dir)
                        return asprintf(ret_error, "no systemd credentials "
                                        "(LoadCredential=%s:...)", st->credential) < 0
                                       ? -ENOMEM : -ENOENT;
                if (path_join(dir, st->credential, &path) < 0)
                        return -ENOMEM;
        } else if (!(path = strdup(st->credentials_file)))
                return -ENOMEM;
        r = read_credentials(st, path);
        if (r == -ENOMEM)
                return r;
        if (r == -EBADMSG)
                return asprintf(ret_error, "no access_key_id and secret_access_key for profile "
                                "'%s' in %s", st->profile, path) < 0 ? -ENOMEM : r;
        if (r < 0) {
                errno = -r;
                return asprintf(ret_error, "cannot read credentials (access_key_id and "
                                "secret_access_key) from %s: %m", path) < 0 ? -ENOMEM : r;
        }
        return 0;
}

/* The credentials may have been rotated since they were read. */
static bool s3_reload_afresh(Target *t) {
        return true;
}

/* Whether an output the task wrote is there, asked when its run ends: downstream must not
 * start on the word of a poll that has not happened yet. Through the loop, so that a server
 * that hangs holds up this run's end and nothing else. */
typedef struct S3Confirm {
        TargetConfirm base;
        S3Target *st;
        char *location;
        CurlRequest *req;
        target_confirm_func done;
        void *userdata;
} S3Confirm;

static void s3_confirm_cancel(TargetConfirm *base) {
        S3Confirm *c = (S3Confirm *) base;

        curl_request_free(c->req);
        free(c->location);
        free(c);
}

static void on_confirm_answer(CurlRequest *req, const char *error, void *userdata) {
        S3Confirm *c = userdata;
        _cleanup_free_ char *why = NULL;
        int r;

        if (!error && req->status / 100 == 2)
                r = 0;
        else if (!error && req->status == 404)
                r = -ENOENT;
        else {
                /* As a poll's failure says it: the request, then what went wrong. */
                if (error ? asprintf(&why, "%s: %s", req->url, error) < 0
                          : asprintf(&why, "%s: HTTP status %ld", req->url, req->status) < 0)
                        why = NULL;
                r = -EIO;
        }
        c->done(&c->base, r, r >= 0 ? req->etag ?: "" : NULL, why, c->userdata);
        s3_confirm_cancel(&c->base);
}

static int s3_confirm(Target *t, TargetHost *h, const char *location, target_confirm_func done,
                      void *userdata, TargetConfirm **ret, char **ret_why) {
        S3Target *st = S3(t);
        CurlOptions o = options_of(st, st->remote.timeout);
        _cleanup_free_ char *rest = NULL, *url = NULL;
        const char *key = location + 5 + strlen(st->bucket) + 1;
        S3Confirm *c;
        CurlLoop *l;
        char *e;
        int r;

        /* Not read yet (a run recovered at start, before the target starts), or they could
         * not be: read now, a file read. */
        if (!st->userpwd) {
                r = load_credentials(st, ret_why);
                if (r < 0)
                        return r;
        }
        e = curl_easy_escape(NULL, key, 0);
        if (!e || asprintf(&rest, "/%s", e) < 0)
                rest = NULL;
        curl_free(e);
        url = rest ? bucket_url(st, rest) : NULL;
        if (!url)
                return -ENOMEM;
        /* Keys keep their '/': S3 signs the path as it is sent. */
        for (char *p = strstr(url, "%2F"); p; p = strstr(p, "%2F")) {
                *p = '/';
                memmove(p + 1, p + 3, strlen(p + 3) + 1);
        }
        c = calloc(1, sizeof(S3Confirm));
        if (!c)
                return -ENOMEM;
        *c = (S3Confirm){ .base.cancel = s3_confirm_cancel, .st = st, .done = done,
                          .userdata = userdata, .location = strdup(location) };
        /* A lane of its own: not behind the pages of its target's listing, which its
         * timeout would not cover. */
        o.owner = NULL;
        l = target_host_curl_loop(h);
        r = c->location && l ? curl_request_new(l, url, true, &o, &c->req) : -ENOMEM;
        if (r >= 0)
                r = add_headers(st, c->req);
        if (r >= 0)
                r = curl_request_start(c->req, on_confirm_answer, c);
        if (r < 0) {
                s3_confirm_cancel(&c->base);
                return r;
        }
        *ret = &c->base;
        return 0;
}

static void s3_done(Target *t) {
        S3Target *st = S3(t);

        s3_cancel(&st->remote);
        remote_done(t);
        free(st->bucket);
        free(st->prefix);
        free(st->endpoint);
        free(st->region);
        free(st->credentials_file);
        free(st->profile);
        free(st->credential);
        free(st->userpwd);
        free(st->token_header);
        free(st->sigv4);
}

static const char * const s3_keys[] = { REMOTE_KEYS, "complete", "endpoint", "region",
                                        "addressing", "credentials_file", "credential",
                                        "profile", "page_size", NULL };

const TargetKind target_kind_s3 = {
        .name = "s3",
        .id = TARGET_KIND_S3,
        .object_size = sizeof(S3Target),
        .keys = s3_keys,
        .parse = s3_parse,
        .check_output = remote_check_output,
        .pending = remote_pending,
        .foreach_held = remote_foreach_held,
        .start = remote_start,
        .reload_afresh = s3_reload_afresh,
        .stop = remote_stop,
        .check = remote_check,
        .mtime = remote_mtime,
        .scan = remote_scan,
        .confirm = s3_confirm,
        .confirmed = remote_kind_confirmed,
        .status = remote_status,
        .known_since = remote_known_since,
        .done = s3_done,
};
