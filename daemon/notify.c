/* SPDX-License-Identifier: MIT */
/*
 * Deliveries. A notifier sends at most three messages at once per window (60 s by default);
 * what follows within the window is held and sent as one summary when it ends, so 500
 * failures in a minute are four messages, not 500. A failure of an instance already
 * told about is not told again until that instance has succeeded. A delivery that fails is
 * logged and tried again with back-off (1 s, 2 s, 4 s...), `retries` times; a command is
 * killed at `timeout`. Nothing here waits: commands are children watched through pidfds,
 * webhooks go through libcurl's multi interface.
 *
 * A reload keeps a notifier's channel (its window, what it holds, what it was told) when the
 * new sluiced.conf has one of that name and kind, and points it at the new settings; one that
 * went away (or changed kind) is retired: it sends what it held at once, its deliveries under
 * way finish with the settings they started with, and it is freed after the last of them.
 */
#include <assert.h>
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
#include <unistd.h>
#include <utlist.h>

#include "log.h"
#include "notify.h"
#include "remote.h"
#include "run-log.h"
#include "util/hash.h"
#include "util/strv.h"

extern char **environ;

#define LOG_LINES 10
/* How long a failure notice waits for journald to write the run's lines (run-log.h): it has
 * them in well under a millisecond when idle; a busy one, on a loaded machine, can take a
 * while. The daemon's own entry on the run's end can also be dropped (journald's rate limit),
 * and then the notice goes after this long with the lines written by then.
 * $SLUICE_NOTICE_WAIT_MS overrides it (sluiced(8)). */
#define LOG_WAIT_MAX (3 * USEC_PER_SEC)
#define HELD_LINES 20
/* Messages a notifier sends at once in a window before holding the rest for its summary:
 * a retry and then the final failure of one instance both go out promptly. */
#define WINDOW_ALLOWANCE 3

typedef struct Told {
        char *key;              /* "failure unit" */
        UT_hash_handle hh;
} Told;

typedef struct Channel {
        struct Channel *prev, *next;
        Manager *manager;
        const Notifier *n;      /* in manager->config, or own once retired */
        Notifier own;
        bool retired;
        unsigned n_deliveries;
        sd_event_source *window;
        bool open;
        unsigned sent;          /* in this window */
        unsigned held;
        char **held_lines;
        Told *told;
} Channel;

typedef struct Message {
        char **env;             /* SLUICE_*=... */
        char *text;             /* one line (a summary: several) for people */
        char *json;
} Message;

typedef struct Delivery {
        struct Delivery *prev, *next;
        Channel *ch;
        Message msg;
        unsigned attempt;
        pid_t pid;
        int pid_fd;
        sd_event_source *io, *timer;
        CurlRequest *req;
} Delivery;

/* A notice waiting for its run's last lines, or behind one that waits. */
typedef struct Pending {
        struct Pending *prev, *next;
        char **channels;        /* names of the notifiers to tell */
        Message msg;            /* its SLUICE_LOG still empty */
        char *run_id;           /* NULL: no lines wanted */
        char *unit, *ident;
        usec_t since;           /* the run's start, CLOCK_REALTIME */
        usec_t deadline;        /* CLOCK_MONOTONIC */
} Pending;

typedef struct NotifyState {
        Channel *channels;      /* made on first use, one per notifier in use */
        Delivery *deliveries;   /* in flight or waiting to retry */
        Pending *pending;       /* oldest first */
        RunLog *log;            /* open while notices wait */
        sd_event_source *log_timer;
} NotifyState;

static void message_done(Message *msg) {
        strv_free(msg->env);
        free(msg->text);
        free(msg->json);
}

static void channel_free(Channel *ch) {
        Told *t, *tmp;

        DL_DELETE(ch->manager->notify->channels, ch);
        sd_event_source_disable_unref(ch->window);
        strv_free(ch->held_lines);
        HASH_ITER(hh, ch->told, t, tmp) {
                HASH_DEL(ch->told, t);
                free(t->key);
                free(t);
        }
        notifier_done(&ch->own);
        free(ch);
}

static void delivery_free(Delivery *d) {
        Channel *ch = d->ch;

        DL_DELETE(ch->manager->notify->deliveries, d);
        if (d->pid_fd >= 0)
                close(d->pid_fd);
        sd_event_source_disable_unref(d->io);
        sd_event_source_disable_unref(d->timer);
        curl_request_free(d->req);
        message_done(&d->msg);
        free(d);
        if (--ch->n_deliveries == 0 && ch->retired)
                channel_free(ch);
}

static void attempt(Delivery *d);

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
                delivery_free(d);
                return;
        }
        log_warning("Notifier '%s' failed (%s); trying again in %llu s", n->name, why,
                    (unsigned long long) (delay / USEC_PER_SEC));
        if (sd_event_add_time_relative(d->ch->manager->event, &d->timer, CLOCK_MONOTONIC, delay,
                                       0, on_retry_timer, d) < 0)
                delivery_free(d);
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
                delivery_free(d);
                return 0;
        }
        const char *prog = (d->ch->n->kind == NOTIFIER_EMAIL ? d->ch->n->sendmail
                                                             : d->ch->n->argv)[0];
        if (WIFEXITED(status))
                (void) asprintf(&why, "%s exited with status %d", prog, WEXITSTATUS(status));
        else
                (void) asprintf(&why, "%s was killed by signal %s", prog,
                                sigabbrev_np(WTERMSIG(status)) ?: "?");
        failed(d, why ?: "it failed");
        return 0;
}

static int on_child_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Delivery *d = userdata;

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
                r = posix_spawn(&d->pid, argv[0], &fa, NULL, argv, env);
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
                delivery_free(d);
        }
}

static void on_posted(CurlRequest *req, const char *error, void *userdata) {
        Delivery *d = userdata;
        _cleanup_free_ char *why = NULL;

        if (!error && req->status / 100 == 2) {
                d->req = NULL;
                curl_request_free(req);
                delivery_free(d);
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
        };

        /* Built for each attempt: a reload may have changed the form (slack) since the last. */
        free(d->msg.json);
        o.post_json = d->msg.json = build_json(n, &d->msg);
        if (!l || !o.post_json || curl_request_new(l, n->url, false, &o, &d->req) < 0 ||
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
                        if (!key)
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

static void deliver(Channel *ch, Message *msg) {
        Delivery *d = calloc(1, sizeof(*d));

        if (!d) {
                message_done(msg);
                return;
        }
        d->ch = ch;
        ch->n_deliveries++;
        DL_APPEND(ch->manager->notify->deliveries, d);
        d->pid_fd = -1;
        d->msg = *msg;
        *msg = (Message){};
        attempt(d);
}

/* What the channel held in this window, as one message. */
static void send_summary(Channel *ch) {
        _cleanup_free_ char *lines = NULL;
        Message msg = {};

        (void) strv_join(ch->held_lines, "\n", &lines);
        if (asprintf(&msg.text, "sluice: %u more notification(s) in the last %llu s:\n%s%s",
                     ch->held, (unsigned long long) (ch->n->window / USEC_PER_SEC),
                     strempty(lines), ch->held > HELD_LINES ? "\n..." : "") < 0 ||
            strv_extend(&msg.env, "SLUICE_EVENT=summary") < 0 ||
            strv_extendf(&msg.env, "SLUICE_COUNT=%u", ch->held) < 0 ||
            strv_extendf(&msg.env, "SLUICE_TEXT=%s", msg.text) < 0)
                message_done(&msg);
        else
                deliver(ch, &msg);
        ch->held = 0;
        ch->held_lines = strv_free(ch->held_lines);
}

static int on_window(sd_event_source *s, uint64_t usec, void *userdata) {
        Channel *ch = userdata;

        if (ch->held == 0) {
                ch->open = false;
                return 0;
        }
        ch->sent = WINDOW_ALLOWANCE;    /* the summary's window holds everything */
        send_summary(ch);
        (void) sd_event_source_set_time_relative(s, ch->n->window);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static Channel *channel_of(Manager *m, const char *name) {
        const Notifier *n;
        Channel *ch;

        if (!m->notify && !(m->notify = calloc(1, sizeof(NotifyState))))
                return NULL;
        DL_FOREACH(m->notify->channels, ch)
                if (!ch->retired && streq(ch->n->name, name))
                        return ch;
        n = daemon_config_find_notifier(&m->config, name);
        if (!n || !(ch = calloc(1, sizeof(*ch))))
                return NULL;
        ch->manager = m;
        ch->n = n;
        DL_APPEND(m->notify->channels, ch);
        return ch;
}

void notify_reload(Manager *m, Notifier *old, size_t n_old) {
        Channel *ch, *tmp;

        if (!m->notify)
                return;
        DL_FOREACH_SAFE(m->notify->channels, ch, tmp) {
                const Notifier *n;
                size_t k;

                if (ch->retired)
                        continue;
                n = daemon_config_find_notifier(&m->config, ch->n->name);
                if (n && n->kind == ch->n->kind) {
                        ch->n = n;
                        continue;
                }
                log_info("Notifier '%s' is %s%s", ch->n->name, n ? "of another kind now" : "gone",
                         ch->held > 0 || ch->n_deliveries > 0
                                 ? "; what it has under way goes out as before" : "");
                /* Still under its old settings, and not retired, so it outlives this. */
                if (ch->held > 0)
                        send_summary(ch);
                ch->window = sd_event_source_disable_unref(ch->window);
                k = (size_t) (ch->n - old);
                assert(k < n_old);
                ch->own = old[k];
                old[k] = (Notifier){};
                ch->n = &ch->own;
                ch->retired = true;
                if (ch->n_deliveries == 0)
                        channel_free(ch);
        }
}

/* Storms: the first few messages of a window go, the others wait for its end. */
static void send_or_hold(Channel *ch, Message *msg) {
        if (ch->open && ch->sent < WINDOW_ALLOWANCE) {
                ch->sent++;
                deliver(ch, msg);
                return;
        }
        if (ch->open) {
                if (ch->held++ < HELD_LINES)
                        (void) strv_extend(&ch->held_lines, msg->text);
                message_done(msg);
                return;
        }
        if (!ch->window &&
            sd_event_add_time_relative(ch->manager->event, &ch->window, CLOCK_MONOTONIC,
                                       ch->n->window, 0, on_window, ch) < 0) {
                deliver(ch, msg);
                return;
        }
        (void) sd_event_source_set_time_relative(ch->window, ch->n->window);
        (void) sd_event_source_set_enabled(ch->window, SD_EVENT_ONESHOT);
        ch->open = true;
        ch->sent = 1;
        deliver(ch, msg);
}

/* 1 when told before (and so not again), 0 when not; remembers it. A success forgets. */
static int told_before(Channel *ch, NotifyEvent event, const char *unit) {
        _cleanup_free_ char *key = NULL;
        Told *t;

        /* Only failures are remembered: every retry is news (its attempt count changes). */
        if (asprintf(&key, "failure %s", unit) < 0)
                return -ENOMEM;
        HASH_FIND_STR(ch->told, key, t);
        if (event == NOTIFY_SUCCESS || event == NOTIFY_RECOVERY) {
                if (t) {
                        HASH_DEL(ch->told, t);
                        free(t->key);
                        free(t);
                }
                return 0;
        }
        if (event != NOTIFY_FAILURE)
                return 0;
        if (t)
                return 1;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->key = TAKE_PTR(key);
        HASH_ADD_KEYPTR(hh, ch->told, t->key, strlen(t->key), t);
        return 0;
}

/* The message about i, with an empty SLUICE_LOG that the run's lines fill in later. */
static int build(Instance *i, NotifyEvent event, const char *reason, Message *ret) {
        _cleanup_free_ char *params = NULL;
        Task *t = i->task;
        Message msg = {};
        int r;

        (void) binding_to_string(i->binding, &params);
        switch (event) {
        case NOTIFY_FAILURE:
                r = asprintf(&msg.text, "sluice: %s/%s %s failed for good after %u attempt(s): "
                             "%s", t->pipeline->name, t->name, strempty(params), i->attempts,
                             strna(reason));
                break;
        case NOTIFY_RETRY:
                r = asprintf(&msg.text, "sluice: %s/%s %s failed (attempt %u of %u): %s; "
                             "retrying", t->pipeline->name, t->name, strempty(params),
                             i->attempts, t->retry.attempts, strna(reason));
                break;
        case NOTIFY_RECOVERY:
                r = asprintf(&msg.text, "sluice: %s/%s %s succeeded again", t->pipeline->name,
                             t->name, strempty(params));
                break;
        default:
                r = asprintf(&msg.text, "sluice: %s/%s %s succeeded", t->pipeline->name,
                             t->name, strempty(params));
        }
        if (r < 0)
                return -ENOMEM;
        if (strv_extendf(&msg.env, "SLUICE_EVENT=%s", notify_event_to_string(event)) < 0 ||
            strv_extendf(&msg.env, "SLUICE_PIPELINE=%s", t->pipeline->name) < 0 ||
            strv_extendf(&msg.env, "SLUICE_TASK=%s", t->name) < 0 ||
            strv_extendf(&msg.env, "SLUICE_PARAMETERS=%s", strempty(params)) < 0 ||
            strv_extendf(&msg.env, "SLUICE_UNIT=%s", i->unit) < 0 ||
            strv_extendf(&msg.env, "SLUICE_ATTEMPTS=%u", i->attempts) < 0 ||
            strv_extendf(&msg.env, "SLUICE_REASON=%s", strempty(reason)) < 0 ||
            strv_extend(&msg.env, "SLUICE_LOG=") < 0 ||
            strv_extendf(&msg.env, "SLUICE_TEXT=%s", msg.text) < 0) {
                message_done(&msg);
                return -ENOMEM;
        }
        *ret = msg;
        return 0;
}

/* Sends p's message to each of its notifiers still configured, with the run's lines. */
static void send_pending(Manager *m, Pending *p, const char *logs) {
        STRV_FOREACH(name, p->channels) {
                Channel *ch = channel_of(m, *name);
                Message msg = {};

                if (!ch)
                        continue;       /* gone in a reload since */
                if (strv_copy(p->msg.env, &msg.env) < 0 || !(msg.text = strdup(p->msg.text))) {
                        message_done(&msg);
                        log_oom();
                        continue;
                }
                for (char **x = msg.env; logs && x && *x; x++)
                        if (strneq(*x, "SLUICE_LOG=", 11)) {
                                char *filled = NULL;

                                if (asprintf(&filled, "SLUICE_LOG=%s", logs) >= 0) {
                                        free(*x);
                                        *x = filled;
                                }
                        }
                send_or_hold(ch, &msg);
        }
}

static void pending_free(NotifyState *st, Pending *p) {
        DL_DELETE(st->pending, p);
        strv_free(p->channels);
        message_done(&p->msg);
        free(p->run_id);
        free(p->unit);
        free(p->ident);
        free(p);
}

static void pending_advance(Manager *m);

static usec_t log_wait_max(void) {
        const char *e = getenv("SLUICE_NOTICE_WAIT_MS");
        char *end;
        unsigned long long ms;

        if (!e)
                return LOG_WAIT_MAX;
        errno = 0;
        ms = strtoull(e, &end, 10);
        if (errno != 0 || end == e || *end || ms > UINT64_MAX / USEC_PER_MSEC)
                return LOG_WAIT_MAX;
        return ms * USEC_PER_MSEC;
}

static void on_log_changed(void *userdata) {
        pending_advance(userdata);
}

static int on_log_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        pending_advance(userdata);
        return 0;
}

/* Sends the waiting notices, in order, up to the first whose lines journald has not written. */
static void pending_advance(Manager *m) {
        NotifyState *st = m->notify;
        Pending *p;
        int r;

        while ((p = st->pending)) {
                _cleanup_free_ char *logs = NULL;

                if (p->run_id && !st->log) {
                        r = run_log_open(m->event, on_log_changed, m, &st->log);
                        if (r < 0)
                                log_warning_errno(r, "Cannot read the journal, notices go without "
                                                  "log lines: %m");
                }
                if (p->run_id && st->log) {
                        r = run_log_has_end(st->log, p->run_id);
                        if (r == 0 && now_usec(CLOCK_MONOTONIC) < p->deadline) {
                                if (st->log_timer) {
                                        (void) sd_event_source_set_time(st->log_timer, p->deadline);
                                        (void) sd_event_source_set_enabled(st->log_timer,
                                                                           SD_EVENT_ONESHOT);
                                } else
                                        (void) sd_event_add_time(m->event, &st->log_timer,
                                                                 CLOCK_MONOTONIC, p->deadline, 0,
                                                                 on_log_timer, m);
                                return;
                        }
                        if (r == 0)
                                log_notice("%s: the journal still lacks the end of run %s; its "
                                           "notice goes with the lines there so far", p->unit,
                                           p->run_id);
                        logs = run_log_last_lines(st->log, p->unit, p->ident, p->since, LOG_LINES);
                }
                send_pending(m, p, logs);
                pending_free(st, p);
        }
        st->log_timer = sd_event_source_disable_unref(st->log_timer);
        st->log = run_log_close(st->log);
}

void notify_instance(Manager *m, Instance *i, NotifyEvent event, const char *reason) {
        _cleanup_strv_free_ char **names = NULL;
        Pending *p;

        STRV_FOREACH(name, i->task->notify[event]) {
                Channel *ch = channel_of(m, *name);

                if (!ch) {
                        log_warning("%s: no notifier '%s' in sluiced.conf (any more)", i->unit,
                                    *name);
                        continue;
                }
                if (ch->n->kind == NOTIFIER_UNIT)
                        continue;       /* systemd's OnFailure= does it (executor.c) */
                if (told_before(ch, event, i->unit) > 0) {
                        log_info("%s failed again: notifier '%s' was told already, and is "
                                 "told again once it has succeeded", i->unit, *name);
                        continue;
                }
                if (strv_extend(&names, *name) < 0) {
                        log_oom();
                        return;
                }
        }
        if (!names)
                return;
        p = calloc(1, sizeof(*p));
        if (!p || build(i, event, reason, &p->msg) < 0) {
                free(p);
                log_oom();
                return;
        }
        p->channels = TAKE_PTR(names);
        DL_APPEND(m->notify->pending, p);
        /* A failure's lines, read once journald has them all (run-log.h). Every notice queues
         * behind one that waits: they go out in the order of their events. */
        if ((event == NOTIFY_FAILURE || event == NOTIFY_RETRY) && i->last_run_id &&
            (!(p->run_id = strdup(i->last_run_id)) || !(p->unit = strdup(i->unit)) ||
             asprintf(&p->ident, "%s.%s", i->task->pipeline->name, i->task->name) < 0)) {
                pending_free(m->notify, p);
                log_oom();
                return;
        }
        p->since = i->last_start_realtime;
        p->deadline = now_usec(CLOCK_MONOTONIC) + log_wait_max();
        pending_advance(m);
}

void notify_target_late(Manager *m, Target *t, const char *location, usec_t due) {
        char when[FORMAT_REALTIME_MAX];

        format_realtime(when, sizeof(when), due);
        STRV_FOREACH(name, t->on_late) {
                Channel *ch = channel_of(m, *name);
                Message msg = {};

                if (!ch) {
                        log_warning("Target '%s': no notifier '%s' in sluiced.conf (any more)",
                                    t->name, *name);
                        continue;
                }
                if (ch->n->kind == NOTIFIER_UNIT) {
                        log_warning("Target '%s': notifier '%s' cannot tell about deadlines",
                                    t->name, *name);
                        continue;
                }
                if (asprintf(&msg.text, "sluice: %s (pipeline %s, target %s) was due by %s and "
                             "is missing", location, t->pipeline->name, t->name, when) < 0 ||
                    strv_extend(&msg.env, "SLUICE_EVENT=late") < 0 ||
                    strv_extendf(&msg.env, "SLUICE_PIPELINE=%s", t->pipeline->name) < 0 ||
                    strv_extendf(&msg.env, "SLUICE_TARGET=%s", t->name) < 0 ||
                    strv_extendf(&msg.env, "SLUICE_LOCATION=%s", location) < 0 ||
                    strv_extendf(&msg.env, "SLUICE_DUE=%s", when) < 0 ||
                    strv_extendf(&msg.env, "SLUICE_TEXT=%s", msg.text) < 0) {
                        message_done(&msg);
                        log_oom();
                        continue;
                }
                send_or_hold(ch, &msg);
        }
}

void notify_free(Manager *m) {
        NotifyState *st = m->notify;

        if (!st)
                return;
        while (st->pending)
                pending_free(st, st->pending);
        sd_event_source_disable_unref(st->log_timer);
        run_log_close(st->log);
        while (st->deliveries)
                delivery_free(st->deliveries);
        while (st->channels)
                channel_free(st->channels);
        free(st);
        m->notify = NULL;
}
