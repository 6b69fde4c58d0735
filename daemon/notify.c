/* SPDX-License-Identifier: MIT */
/*
 * What is told, and when. A notifier sends at most three messages at once per window (60 s by
 * default); what follows within the window is held and sent as one summary when it ends, so
 * 500 failures in a minute are four messages, not 500. A failure of an instance already told
 * about is not told again until that instance has succeeded. A failure's notice carries the
 * run's last log lines, and waits for journald to have written them (run-log.h); the notices
 * behind it wait with it, so that all are handed on in the order of their events (a window's
 * summary, a retried delivery and commands that run at the same time can still arrive in
 * another). How a message gets to its receiver is notify-deliver.c's.
 *
 * A reload keeps a notifier's channel (its window, what it holds, what it was told) when the
 * new sluiced.conf has one of that name and kind, and points it at the new settings; one that
 * went away (or changed kind) is retired: it sends what it held at once, its deliveries under
 * way finish with the settings they started with, and it is freed after the last of them. A
 * notice still waiting for its lines goes to the notifier of that name when it is done
 * waiting, and is dropped, said in the log, when there is none any more.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "deadline.h"
#include "log.h"
#include "pause.h"
#include "notify-internal.h"
#include "unit-props.h"
#include "util/strv.h"

#define LOG_LINES 10
/* How long a failure notice waits for journald to write the run's lines (run-log.h): it has
 * them in well under a millisecond when idle; a busy one, on a loaded machine, can take a
 * while. The daemon's own entry on the run's end can also be dropped (journald's rate limit),
 * and then the notice goes after this long with the lines written by then.
 * $SLUICE_NOTICE_WAIT_MS overrides it (sluiced(8)). */
#define LOG_WAIT_MAX (3 * USEC_PER_SEC)
/* journald tells readers of its writes about every 250 ms (it coalesces them), and the entry
 * waited for is usually there within a millisecond: the journal is looked at again after 1 ms,
 * 2 ms, 4 ms... up to every 64 ms, as well as when it says it changed. */
#define LOG_POLL_MIN USEC_PER_MSEC
#define LOG_POLL_MAX (64 * USEC_PER_MSEC)
#define HELD_LINES 20
/* Messages a notifier sends at once in a window before holding the rest for its summary:
 * a retry and then the final failure of one instance both go out promptly. */
#define WINDOW_ALLOWANCE 3

/* A notice waiting for its run's last lines, or behind one that waits. */
struct Pending {
        struct Pending *prev, *next;
        char **channels;        /* names of the notifiers to tell */
        Message msg;            /* its SLUICE_LOG still empty */
        char *run_id;           /* NULL: no lines wanted */
        char *unit, *ident;
        char *failed;           /* "GEN\tUNIT": the failure for good it tells, to note as told */
        usec_t since;           /* the run's start, CLOCK_REALTIME */
        usec_t deadline;        /* CLOCK_MONOTONIC */
        bool behind;            /* journald was behind on the run's output: wait till then */
        bool waiting;
};

void notify_message_done(Message *msg) {
        strv_free(msg->env);
        free(msg->text);
        free(msg->json);
}

void notify_channel_free(Channel *ch) {
        Told *t, *tmp;

        DL_DELETE(ch->manager->notify->channels, ch);
        sd_event_source_disable_unref(ch->window);
        strv_free(ch->held_lines);
        strv_free(ch->held_units);
        HASH_ITER(hh, ch->told, t, tmp) {
                HASH_DEL(ch->told, t);
                free(t->key);
                free(t);
        }
        notifier_done(&ch->own);
        free(ch);
}

/* One notifier has told unit's failure for good (or has gone): once all have, the instance's
 * mark says so, and a restart does not tell it again (restore_mark()). */
void notify_told_one(Manager *m, const char *failed) {
        const char *unit = failed ? strchr(failed, '\t') : NULL;
        Instance *i;

        if (failed && strneq(failed, "late\t", 5)) {
                deadline_told(m, failed + 5);
                return;
        }
        i = unit ? manager_find_instance(m, unit + 1) : NULL;
        /* Of that failure, not of a later one of the same unit (a new series since). */
        if (i && i->failure_gen != (unsigned) strtoul(failed, NULL, 10))
                return;
        if (i && i->untold > 0 && --i->untold == 0)
                manager_save_marks(m);
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
                notify_message_done(&msg);
        else
                notify_deliver(ch, &msg, TAKE_PTR(ch->held_units));
        ch->held = 0;
        ch->held_lines = strv_free(ch->held_lines);
        /* Not sent (out of memory): told as far as anyone will tell it. */
        STRV_FOREACH(u, ch->held_units)
                notify_told_one(ch->manager, *u);
        ch->held_units = strv_free(ch->held_units);
}

static int on_window(sd_event_source *s, uint64_t usec, void *userdata) {
        Channel *ch = userdata;

        if (ch->held == 0) {
                ch->open = false;
                return 0;
        }
        /* The summary is this window's first message: a trickle of one event per window after a
         * storm goes out as itself again, not as a summary a window late. */
        ch->sent = 1;
        send_summary(ch);
        (void) sd_event_source_set_time_relative(s, ch->n->window);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static NotifyState *notify_state_new(void) {
        NotifyState *st = calloc(1, sizeof(*st));
        const char *e = getenv("SLUICE_NOTICE_WAIT_MS");
        char *end;
        unsigned long long ms;

        if (!st)
                return NULL;
        st->log_wait = LOG_WAIT_MAX;
        if (e) {
                errno = 0;
                ms = strtoull(e, &end, 10);
                if (errno != 0 || end == e || *end || ms > UINT64_MAX / USEC_PER_MSEC)
                        log_warning("$SLUICE_NOTICE_WAIT_MS=%s is no number of milliseconds: "
                                    "notices wait at most %llu ms for journald", e,
                                    (unsigned long long) (LOG_WAIT_MAX / USEC_PER_MSEC));
                else
                        st->log_wait = ms * USEC_PER_MSEC;
        }
        return st;
}

static Channel *channel_of(Manager *m, const char *name) {
        const Notifier *n;
        Channel *ch;

        if (!m->notify && !(m->notify = notify_state_new()))
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
                        notify_channel_free(ch);
        }
}

/* Handed on now; failed (see send_or_hold()) noted as told once delivered. */
static void deliver_now(Channel *ch, Message *msg, const char *failed) {
        char **l = NULL;

        if (failed && strv_extend(&l, failed) < 0)
                notify_told_one(ch->manager, failed);
        notify_deliver(ch, msg, l);
}

/* Storms: the first few messages of a window go, the others wait for its end. failed: the
 * unit whose failure for good msg tells, noted as told once it goes. */
static void send_or_hold(Channel *ch, Message *msg, const char *failed) {
        if (ch->open && ch->sent < WINDOW_ALLOWANCE) {
                ch->sent++;
                deliver_now(ch, msg, failed);
                return;
        }
        if (ch->open) {
                if (ch->held++ < HELD_LINES)
                        (void) strv_extend(&ch->held_lines, msg->text);
                if (failed && strv_extend(&ch->held_units, failed) < 0)
                        notify_told_one(ch->manager, failed);
                notify_message_done(msg);
                return;
        }
        if (!ch->window &&
            sd_event_add_time_relative(ch->manager->event, &ch->window, CLOCK_MONOTONIC,
                                       ch->n->window, 0, on_window, ch) < 0) {
                deliver_now(ch, msg, failed);
                return;
        }
        (void) sd_event_source_set_time_relative(ch->window, ch->n->window);
        (void) sd_event_source_set_enabled(ch->window, SD_EVENT_ONESHOT);
        ch->open = true;
        ch->sent = 1;
        deliver_now(ch, msg, failed);
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
        _cleanup_free_ char *params = NULL, *logs = NULL;
        Task *t = i->task;
        Message msg = {};
        int r;

        (void) task_params_to_string(i->task, i->binding, &params);
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
            instance_command(i, "logs", &logs) < 0 ||
            strv_extendf(&msg.env, "SLUICE_LOGS_COMMAND=%s", logs) < 0 ||
            strv_extendf(&msg.env, "SLUICE_TEXT=%s", msg.text) < 0) {
                notify_message_done(&msg);
                return -ENOMEM;
        }
        *ret = msg;
        return 0;
}

/* Sends p's message to each of its notifiers still configured, with the run's lines. */
static void send_pending(Manager *m, Pending *p, const char *logs) {
        for (char **x = p->msg.env; logs && x && *x; x++)
                if (strneq(*x, "SLUICE_LOG=", 11)) {
                        char *filled = NULL;

                        if (asprintf(&filled, "SLUICE_LOG=%s", logs) >= 0) {
                                free(*x);
                                *x = filled;
                        }
                }
        STRV_FOREACH(name, p->channels) {
                Channel *ch = channel_of(m, *name);
                Message msg = {};

                /* A reload since the event can have removed the notifier, or made it a unit. */
                if (!ch || ch->n->kind == NOTIFIER_UNIT) {
                        log_warning("No notifier '%s' in sluiced.conf any more to tell: %s",
                                    *name, p->msg.text);
                        notify_told_one(m, p->failed);
                        continue;
                }
                if (strv_copy(p->msg.env, &msg.env) < 0 || !(msg.text = strdup(p->msg.text))) {
                        notify_message_done(&msg);
                        log_oom();
                        notify_told_one(m, p->failed);
                        continue;
                }
                send_or_hold(ch, &msg, p->failed);
        }
}

static void pending_free(NotifyState *st, Pending *p) {
        DL_DELETE(st->pending, p);
        strv_free(p->channels);
        notify_message_done(&p->msg);
        free(p->run_id);
        free(p->unit);
        free(p->ident);
        free(p->failed);
        free(p);
}

static void pending_advance(Manager *m);

static void on_log_changed(void *userdata) {
        pending_advance(userdata);
}

static int on_log_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        pending_advance(userdata);
        return 0;
}

static int arm_log_timer(Manager *m, usec_t when) {
        NotifyState *st = m->notify;
        int r;

        if (!st->log_timer)
                return sd_event_add_time(m->event, &st->log_timer, CLOCK_MONOTONIC, when,
                                         USEC_PER_MSEC, on_log_timer, m);
        r = sd_event_source_set_time(st->log_timer, when);
        if (r >= 0)
                r = sd_event_source_set_enabled(st->log_timer, SD_EVENT_ONESHOT);
        return r;
}

/* The journal for the waiting notices; NULL when it cannot be read. */
static RunLog *open_log(Manager *m) {
        NotifyState *st = m->notify;
        int r;

        if (st->log)
                return st->log;
        r = run_log_open(m->event, on_log_changed, m, &st->log);
        if (r < 0) {
                log_warning_errno(r, "Cannot read the journal, notices go without log lines: %m");
                return NULL;
        }
        /* The wait is for the daemon's own entry: one that cannot see those (its user may not
         * read the file journald puts them in) would wait the whole bound for nothing. */
        st->blind = run_log_sees_pid(st->log, getpid()) <= 0;
        if (st->blind && !st->told_blind) {
                log_notice("This daemon's own entries are not in the journal it can read: "
                           "failure notices do not wait for journald to write a run's lines");
                st->told_blind = true;
        }
        return st->log;
}

/*
 * p's run's lines: up to its end's entry where that is known to follow them all, else up to the
 * next run's start (a retry can start before the notice of the last one goes).
 */
static char *last_lines(RunLog *l, Pending *p, usec_t end) {
        usec_t until = end != USEC_INFINITY ? end + 1
                                            : run_log_next_start(l, p->unit, p->run_id, p->since);

        return run_log_last_lines(l, p->unit, p->ident, p->since, until, LOG_LINES);
}

/* Whether p waits on for its lines, with the next look at the journal set up. */
static bool keep_waiting(Manager *m, Pending *p) {
        NotifyState *st = m->notify;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        if (now >= p->deadline)
                return false;
        if (!p->waiting) {
                if (p->behind)
                        log_info("%s: journald had not read all the run wrote when it ended: its "
                                 "notice waits for its last lines", p->unit);
                else
                        log_debug("%s: its notice waits for journald to write the run's last "
                                  "lines", p->unit);
                p->waiting = true;
                st->poll = LOG_POLL_MIN;
        } else
                st->poll = MIN(st->poll * 2, LOG_POLL_MAX);
        /* Without a timer a journal that stays still could hold it for good: it goes now. */
        return arm_log_timer(m, p->behind ? p->deadline : MIN(p->deadline, now + st->poll)) >= 0;
}

/* Sends the waiting notices, in order, up to the first whose lines journald has not written. */
static void pending_advance(Manager *m) {
        NotifyState *st = m->notify;
        Pending *p;

        while ((p = st->pending)) {
                _cleanup_free_ char *logs = NULL;
                RunLog *l = p->run_id ? open_log(m) : NULL;

                if (l) {
                        /* Behind, journald may write the daemon's entry before the run's last
                         * lines (it reads the two sockets in no set order): nothing tells when
                         * it has them all, and the notice gives it the whole bound. */
                        usec_t end = USEC_INFINITY;
                        int r = p->behind ? 0 : st->blind ? 1 : run_log_has_end(l, p->run_id, &end);

                        if (r == 0 && keep_waiting(m, p))
                                return;
                        if (r == 0 && !p->behind)
                                log_notice("%s: the journal still lacks the end of run %s; its "
                                           "notice goes with the lines there so far", p->unit,
                                           p->run_id);
                        logs = last_lines(l, p, r > 0 ? end : USEC_INFINITY);
                }
                send_pending(m, p, logs);
                pending_free(st, p);
        }
        st->log_timer = sd_event_source_disable_unref(st->log_timer);
        st->log = run_log_free(st->log);
}

/* Queues a notice to the notifiers named (taken) with msg (taken); with run_id, for the run's
 * lines, which it waits for. */
static void queue(Manager *m, char **channels, Message *msg, Instance *i, bool failure,
                  char *told_key) {
        NotifyState *st = m->notify;
        Pending *p = calloc(1, sizeof(*p));

        if (!p) {
                strv_free(channels);
                notify_message_done(msg);
                log_oom();
                return;
        }
        p->channels = channels;
        p->msg = *msg;
        *msg = (Message){};
        DL_APPEND(st->pending, p);
        p->failed = told_key;   /* taken */
        if (!told_key && i && failure &&
            asprintf(&p->failed, "%u\t%s", i->failure_gen, i->unit) < 0) {
                p->failed = NULL;
                i->untold = 0;  /* cannot follow it: as before, a restart will not tell it */
        }
        if (i && i->last_run_id) {
                p->run_id = strdup(i->last_run_id);
                p->unit = strdup(i->unit);
                if (asprintf(&p->ident, "%s.%s", i->task->pipeline->name, i->task->name) < 0)
                        p->ident = NULL;
                if (!p->run_id || !p->unit || !p->ident) {
                        /* Told without the lines rather than not at all. */
                        p->run_id = mfree(p->run_id);
                        log_oom();
                }
                p->since = i->last_start_realtime;
                p->deadline = now_usec(CLOCK_MONOTONIC) + st->log_wait;
                p->behind = i->journal_behind;
        }
        pending_advance(m);
}

void notify_restore_told(Manager *m, Instance *i) {
        STRV_FOREACH(name, i->task->notify[NOTIFY_FAILURE]) {
                Channel *ch = channel_of(m, *name);

                if (ch && ch->n->kind != NOTIFIER_UNIT)
                        (void) told_before(ch, NOTIFY_FAILURE, i->unit);
        }
}

void notify_instance(Manager *m, Instance *i, NotifyEvent event, const char *reason) {
        _cleanup_strv_free_ char **names = NULL;
        Message msg;

        STRV_FOREACH(name, i->task->notify[event]) {
                Channel *ch = channel_of(m, *name);

                if (!ch) {
                        log_warning("%s: no notifier '%s' in sluiced.conf (any more)", i->unit,
                                    *name);
                        continue;
                }
                if (ch->n->kind == NOTIFIER_UNIT)
                        continue;       /* systemd's OnFailure= does it (executor-unit.c) */
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
        if (build(i, event, reason, &msg) < 0) {
                log_oom();
                return;
        }
        if (event == NOTIFY_FAILURE) {
                /* Daemon-wide: an instance removed and made again starts no count afresh. */
                i->failure_gen = ++m->notify->failures;
                i->untold = strv_length(names);
        }
        queue(m, TAKE_PTR(names), &msg,
              event == NOTIFY_FAILURE || event == NOTIFY_RETRY ? i : NULL,
              event == NOTIFY_FAILURE, NULL);
}

unsigned notify_target_late(Manager *m, Target *t, const char *location, usec_t due,
                            const char *key, const char *unknown) {
        _cleanup_strv_free_ char **names = NULL;
        char when[FORMAT_REALTIME_MAX], *told = NULL;
        Message msg = {};
        unsigned n;

        format_realtime(when, sizeof(when), due);
        STRV_FOREACH(name, t->on_late) {
                Channel *ch = channel_of(m, *name);

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
                if (strv_extend(&names, *name) < 0) {
                        log_oom();
                        return 0;
                }
        }
        if (!names)
                return 0;
        /* Late because the pipeline is paused, perhaps: whoever is told should know. */
        bool paused = pause_holds(m, t->pipeline);
        if (asprintf(&msg.text, "sluice: %s (pipeline %s, target %s) was due by %s and %s%s%s",
                     location, t->pipeline->name, t->name, when,
                     unknown ? "its state is unknown: " : "is missing", strempty(unknown),
                     paused ? " (the pipeline is paused)" : "") < 0 ||
            strv_extend(&msg.env, "SLUICE_EVENT=late") < 0 ||
            strv_extendf(&msg.env, "SLUICE_STATE=%s", unknown ? "unknown" : "missing") < 0 ||
            (unknown && strv_extendf(&msg.env, "SLUICE_REASON=%s", unknown) < 0) ||
            (paused && strv_extend(&msg.env, "SLUICE_PAUSED=1") < 0) ||
            strv_extendf(&msg.env, "SLUICE_PIPELINE=%s", t->pipeline->name) < 0 ||
            strv_extendf(&msg.env, "SLUICE_TARGET=%s", t->name) < 0 ||
            strv_extendf(&msg.env, "SLUICE_LOCATION=%s", location) < 0 ||
            strv_extendf(&msg.env, "SLUICE_DUE=%s", when) < 0 ||
            strv_extendf(&msg.env, "SLUICE_TEXT=%s", msg.text) < 0 ||
            asprintf(&told, "late\t%s", key) < 0) {
                notify_message_done(&msg);
                log_oom();
                return 0;
        }
        n = strv_length(names);
        queue(m, TAKE_PTR(names), &msg, NULL, false, told);
        return n;
}

void notify_check_unit_templates(Manager *m) {
        if (!m->bus)
                return;
        for (size_t k = 0; k < m->config.n_notifiers; k++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                const Notifier *n = &m->config.notifiers[k];

                if (n->kind != NOTIFIER_UNIT ||
                    sd_bus_call_method(m->bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                       "GetUnitFileState", &e, &reply, "s", n->unit) >= 0 ||
                    !sd_bus_error_has_name(&e, SD_BUS_ERROR_FILE_NOT_FOUND))
                        continue;
                log_warning("Notifier '%s': the manager has no unit '%s', so a failure it is "
                            "to tell starts nothing (install the template, then "
                            "systemctl%s daemon-reload)", n->name, n->unit,
                            m->user ? " --user" : "");
        }
}

void notify_free(Manager *m) {
        NotifyState *st = m->notify;

        if (!st)
                return;
        /* Stopping: what waits goes now, with the lines written so far, and what a window holds
         * as its summary; commands and mails are started and run on. */
        while (st->pending) {
                Pending *p = st->pending;
                _cleanup_free_ char *logs = p->run_id && st->log
                                                    ? last_lines(st->log, p, USEC_INFINITY)
                                                    : NULL;

                send_pending(m, p, logs);
                pending_free(st, p);
        }
        sd_event_source_disable_unref(st->log_timer);
        run_log_free(st->log);
        for (Channel *ch = st->channels; ch; ch = ch->next)
                if (ch->held > 0)
                        send_summary(ch);
        notify_deliveries_stop(st);
        while (st->channels)
                notify_channel_free(st->channels);
        free(st);
        m->notify = NULL;
}
