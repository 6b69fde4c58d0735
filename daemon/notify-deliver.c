/* SPDX-License-Identifier: MIT */
/*
 * Deliveries. A delivery that fails is logged and tried again with back-off (1 s, 2 s, 4 s...),
 * `retries` times; a command is killed at `timeout`. Nothing here waits: commands are children
 * watched through pidfds, webhooks go through libcurl's multi interface.
 */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <systemd/sd-id128.h>
#include <unistd.h>
#include <utlist.h>

#include "log.h"
#include "notify-internal.h"
#include "remote.h"
#include "util/spawn.h"
#include "util/strv.h"

extern char **environ;

struct Delivery {
        struct Delivery *prev, *next;
        Channel *ch;
        Message msg;
        unsigned attempt;
        pid_t pid;
        int pid_fd;
        sd_event_source *io, *timer;
        CurlRequest *req;
        char **failed;          /* what it tells, for notify_told_one() */
        /* "Idempotency-Key: ID", the same for every attempt: a POST that timed out may have
         * been taken all the same, and its receiver can tell the next one is no news. */
        char idempotency[64];
        bool timed_out;         /* its command was killed at the notifier's timeout */
};

void notify_delivery_free(Delivery *d) {
        Channel *ch = d->ch;

        DL_DELETE(ch->manager->notify->deliveries, d);
        if (d->pid_fd >= 0)
                close(d->pid_fd);
        sd_event_source_disable_unref(d->io);
        sd_event_source_disable_unref(d->timer);
        curl_request_free(d->req);
        notify_message_done(&d->msg);
        strv_free(d->failed);
        free(d);
        if (--ch->n_deliveries == 0 && ch->retired)
                notify_channel_free(ch);
}

static void attempt(Delivery *d);

/* Delivered, or given up on: either way, its failures are told. */
static void delivery_done(Delivery *d) {
        STRV_FOREACH(f, d->failed)
                notify_told_one(d->ch->manager, *f);
        notify_delivery_free(d);
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Delivery *d = userdata;

        d->timer = sd_event_source_disable_unref(d->timer);
        attempt(d);
        return 0;
}

/* A delivery failed: again later, or given up, said in the log either way. */
static void failed(Delivery *d, const char *why) {
        const Notifier *n = d->ch->n;
        usec_t delay = USEC_PER_SEC << MIN(d->attempt - 1, 10u);

        if (d->attempt > n->retries) {
                log_error("Notifier '%s' failed %u time(s), giving up on: %s (%s)", n->name,
                          d->attempt, d->msg.text, why);
                delivery_done(d);
                return;
        }
        log_warning("Notifier '%s' failed (%s); trying again in %llu s", n->name, why,
                    (unsigned long long) (delay / USEC_PER_SEC));
        /* Refused once the loop has ended (stopping): not told, so told at the next start. */
        if (sd_event_add_time_relative(d->ch->manager->event, &d->timer, CLOCK_MONOTONIC, delay,
                                       0, on_retry_timer, d) < 0)
                notify_delivery_free(d);
}

static int on_child(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Delivery *d = userdata;
        _cleanup_free_ char *why = NULL;
        int status;

        if (waitpid(d->pid, &status, WNOHANG) <= 0)
                return 0;
        d->io = sd_event_source_disable_unref(d->io);
        d->timer = sd_event_source_disable_unref(d->timer);
        close(d->pid_fd);
        d->pid_fd = -1;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                delivery_done(d);
                return 0;
        }
        const char *prog = (d->ch->n->kind == NOTIFIER_EMAIL ? d->ch->n->sendmail
                                                             : d->ch->n->argv)[0];
        if (WIFEXITED(status))
                (void) asprintf(&why, "%s exited with status %d", prog, WEXITSTATUS(status));
        else if (d->timed_out)
                (void) asprintf(&why, "%s did not finish within the notifier's timeout, and was "
                                "killed", prog);
        else
                (void) asprintf(&why, "%s was killed by signal %s", prog,
                                sigabbrev_np(WTERMSIG(status)) ?: "?");
        failed(d, why ?: "it failed");
        return 0;
}

static int on_child_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Delivery *d = userdata;

        d->timed_out = true;
        (void) kill(d->pid, SIGKILL);
        return 0;
}

/* ${name} in a template, from the message's SLUICE_NAME; unknown names stay as they are. */
static char *expand(const char *template, const Message *msg) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        if (!f)
                return NULL;
        for (const char *p = template; *p;) {
                const char *end = strneq(p, "${", 2) ? strchr(p, '}') : NULL;
                const char *value = NULL;

                if (end) {
                        STRV_FOREACH(x, msg->env) {
                                const char *eq = strchr(*x, '=');
                                size_t n = (size_t) (eq - *x) - strlen("SLUICE_");
                                if (n == (size_t) (end - p - 2) &&
                                    strncasecmp(*x + strlen("SLUICE_"), p + 2, n) == 0)
                                        value = eq + 1;
                        }
                }
                if (value) {
                        fputs(value, f);
                        p = end + 1;
                } else
                        fputc(*p++, f);
        }
        if (fclose(f) != 0) {
                free(out);
                return NULL;
        }
        return out;
}

/* The mail, headers and body, as sendmail -t reads it. */
static char *build_mail(const Notifier *n, const Message *msg) {
        _cleanup_free_ char *subject = expand(n->subject, msg), *body = expand(n->body, msg);
        char *mail = NULL;

        if (!subject || !body)
                return NULL;
        subject[strcspn(subject, "\r\n")] = 0;
        if (asprintf(&mail, "To: %s\n%s%s%sSubject: %.200s\nMIME-Version: 1.0\n"
                     "Content-Type: text/plain; charset=utf-8\n\n%.32768s\n", n->to,
                     n->from ? "From: " : "", strempty(n->from), n->from ? "\n" : "", subject,
                     body) < 0)
                return NULL;
        return mail;
}

static void spawn(Delivery *d) {
        _cleanup_strv_free_ char **env = NULL, **argv = NULL;
        const Notifier *n = d->ch->n;
        sd_event *e = d->ch->manager->event;
        posix_spawn_file_actions_t fa;
        int in[2] = { -1, -1 }, r;

        d->timed_out = false;
        if (strv_copy(environ, &env) < 0) {
                failed(d, "out of memory");
                return;
        }
        STRV_FOREACH(x, d->msg.env)
                if (strv_extend(&env, *x) < 0) {
                        failed(d, "out of memory");
                        return;
                }
        if (n->kind == NOTIFIER_EMAIL) {
                /* The mail goes down a pipe: far smaller than its 64 KiB, so one write. */
                if (strv_copy(n->sendmail, &argv) < 0 || strv_extend(&argv, "-t") < 0 ||
                    strv_extend(&argv, "-i") < 0 || pipe2(in, O_CLOEXEC) < 0) {
                        failed(d, "cannot prepare sendmail");
                        return;
                }
        } else if (strv_copy(n->argv, &argv) < 0) {
                failed(d, "out of memory");
                return;
        }
        r = posix_spawn_file_actions_init(&fa);
        if (r == 0)
                r = in[0] >= 0 ? posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO)
                               : posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
                                                                  O_RDONLY, 0);
        if (r == 0)
                r = spawn_program(&d->pid, argv[0], &fa, argv, env);
        (void) posix_spawn_file_actions_destroy(&fa);
        if (in[0] >= 0)
                close(in[0]);
        if (r == 0 && in[1] >= 0) {
                _cleanup_free_ char *mail = build_mail(n, &d->msg);
                if (!mail || write(in[1], mail, strlen(mail)) != (ssize_t) strlen(mail))
                        log_warning("Notifier '%s': cannot hand the mail to %s: %m", n->name,
                                    argv[0]);
        }
        if (in[1] >= 0)
                close(in[1]);
        if (r != 0) {
                failed(d, strerror(r));
                return;
        }
        d->pid_fd = (int) syscall(SYS_pidfd_open, d->pid, 0);
        if (d->pid_fd < 0 ||
            sd_event_add_io(e, &d->io, d->pid_fd, EPOLLIN, on_child, d) < 0 ||
            sd_event_add_time_relative(e, &d->timer, CLOCK_MONOTONIC, d->ch->n->timeout, 0,
                                       on_child_timeout, d) < 0) {
                /* Cannot watch it: let it run, reaped by nobody is worse than unwatched. */
                (void) waitpid(d->pid, NULL, 0);
                delivery_done(d);
        }
}

static void on_posted(CurlRequest *req, const char *error, void *userdata) {
        Delivery *d = userdata;
        _cleanup_free_ char *why = NULL;

        if (!error && req->status / 100 == 2) {
                d->req = NULL;
                curl_request_free(req);
                delivery_done(d);
                return;
        }
        if (error)
                (void) asprintf(&why, "%s: %s", d->ch->n->url, error);
        else
                (void) asprintf(&why, "%s: HTTP status %ld", d->ch->n->url, req->status);
        d->req = curl_request_free(d->req);
        failed(d, why ?: "the POST failed");
}

static char *build_json(const Notifier *n, const Message *msg);

static void post(Delivery *d) {
        const Notifier *n = d->ch->n;
        CurlLoop *l = target_host_curl_loop(&d->ch->manager->host);
        CurlOptions o = {
                .connect_timeout_ms = (long) (n->timeout / USEC_PER_MSEC),
                .timeout_ms = (long) (n->timeout / USEC_PER_MSEC),
                .max_body = 1 << 20,
                .tls_verify = true,
                .owner = d->ch,         /* one channel's alerts take one turn */
        };

        /* Built for each attempt: a reload may have changed the form (slack) since the last. */
        free(d->msg.json);
        o.post_json = d->msg.json = build_json(n, &d->msg);
        if (!l || !o.post_json || curl_request_new(l, n->url, false, &o, &d->req) < 0 ||
            curl_request_add_header(d->req, d->idempotency) < 0 ||
            curl_request_start(d->req, on_posted, d) < 0) {
                d->req = curl_request_free(d->req);
                failed(d, "cannot start the POST");
        }
}

static void attempt(Delivery *d) {
        d->attempt++;
        if (d->ch->n->kind == NOTIFIER_WEBHOOK)
                post(d);
        else
                spawn(d);
}

static void json_field(FILE *f, const char *key, const char *value, bool first) {
        fprintf(f, "%s\"%s\":\"", first ? "" : ",", key);
        for (const unsigned char *p = (const unsigned char *) strempty(value); *p; p++)
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p < 0x20)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        fputc('"', f);
}

/* The JSON body: Slack's {"text": ...}, or the message's fields. */
static char *build_json(const Notifier *n, const Message *msg) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        fputc('{', f);
        if (n->slack)
                json_field(f, "text", msg->text, true);
        else {
                json_field(f, "text", msg->text, true);
                STRV_FOREACH(x, msg->env) {
                        const char *eq = strchr(*x, '=');
                        _cleanup_free_ char *key = strndup(*x, (size_t) (eq - *x));
                        /* "text" is first already: a key twice is JSON parsers' guess. */
                        if (!key || streq(key, "SLUICE_TEXT"))
                                continue;
                        for (char *k = key; *k; k++)
                                *k = (char) (*k >= 'A' && *k <= 'Z' ? *k - 'A' + 'a' : *k);
                        json_field(f, key + strlen("sluice_"), eq + 1, false);
                }
        }
        fputc('}', f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* One id for the delivery, whatever its attempts: the webhook's Idempotency-Key header and
 * "id" member, a command's SLUICE_ID. */
static void identify(Delivery *d, Message *msg) {
        char s[SD_ID128_STRING_MAX];
        sd_id128_t id;

        (void) sd_id128_randomize(&id);
        sd_id128_to_string(id, s);
        snprintf(d->idempotency, sizeof(d->idempotency), "Idempotency-Key: %s", s);
        (void) strv_extendf(&msg->env, "SLUICE_ID=%s", s);
}

void notify_deliver(Channel *ch, Message *msg, char **failed) {
        Delivery *d = calloc(1, sizeof(*d));

        if (!d) {
                notify_message_done(msg);
                STRV_FOREACH(f, failed)
                        notify_told_one(ch->manager, *f);
                strv_free(failed);
                return;
        }
        d->failed = failed;
        identify(d, msg);
        d->ch = ch;
        ch->n_deliveries++;
        DL_APPEND(ch->manager->notify->deliveries, d);
        d->pid_fd = -1;
        d->msg = *msg;
        *msg = (Message){};
        attempt(d);
}

void notify_deliveries_stop(NotifyState *st) {
        while (st->deliveries) {
                Delivery *d = st->deliveries;

                /* A command or mail program under way runs on, unwatched (under systemd, until
                 * the service's stop kills it); the rest is lost. Either way its failures stay
                 * untold, and the next start tells them: twice rather than never. */
                if (d->pid_fd < 0)
                        log_warning("Notifier '%s' cannot deliver, sluiced is stopping: %s",
                                    d->ch->n->name, d->msg.text);
                notify_delivery_free(d);
        }
}
