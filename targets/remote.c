/* SPDX-License-Identifier: MIT */
/*
 * Polling, shared by the remote kinds: when to poll (the interval with ±10% jitter, so that
 * thousands of targets never poll in step; exponential back-off while a server fails), what
 * a poll changed (a new or changed object is an arrival, a vanished one is gone), and keeping
 * what was seen across restarts. A kind only says how to list what exists.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-internal.h"
#include "log.h"
#include "remote.h"
#include "util/escape.h"
#include "util/fs-util.h"
#include "util/strv.h"

#define REMOTE_DEFAULT_INTERVAL (60 * USEC_PER_SEC)
#define REMOTE_DEFAULT_TIMEOUT (30 * USEC_PER_SEC)
#define REMOTE_DEFAULT_CONNECT_TIMEOUT (10 * USEC_PER_SEC)
/* Back-off starts at REMOTE_FIRST_RETRY and stops growing at this many intervals, or here
 * (but never below the interval): see remote_backoff(). */
#define REMOTE_BACKOFF_INTERVALS 10
#define REMOTE_MAX_BACKOFF (15 * USEC_PER_MINUTE)
#define REMOTE_FIRST_RETRY (5 * USEC_PER_SEC)
/* After a start or a reload, a target known from before polls first within this (or its
 * interval, if shorter): see remote_start(). */
#define REMOTE_FIRST_SPREAD (30 * USEC_PER_SEC)
#define REMOTE_MAX_STATE (64u << 20)
/* A poll that a deadline waits for, when the next one is further away than this, is made at
 * once: a target polled every 10 minutes is judged when due, not up to 10 minutes later, and
 * those polled every minute (the default) keep their spread rather than poll in step. */
#define REMOTE_JUDGE_WAIT (60 * USEC_PER_SEC)

CurlLoop *target_host_curl_loop(TargetHost *h) {
        CurlLoop *l = h->kind_state[TARGET_KIND_URL];

        if (!l && curl_loop_new(h->event, &l) >= 0)
                h->kind_state[TARGET_KIND_URL] = l;
        return l;
}

int remote_object_add(RemoteObject **set, const char *location, const char *tag) {
        RemoteObject *o;

        HASH_FIND_STR(*set, location, o);
        if (o)
                return 0;
        o = calloc(1, sizeof(*o));
        if (!o || !(o->location = strdup(location)) || !(o->tag = strdup(strempty(tag)))) {
                if (o)
                        free(o->location);
                free(o);
                return -ENOMEM;
        }
        HASH_ADD_KEYPTR(hh, *set, o->location, strlen(o->location), o);
        return 1;
}

void remote_object_free(RemoteObject *o) {
        free(o->location);
        free(o->tag);
        free(o);
}

void remote_objects_free(RemoteObject **set) {
        RemoteObject *o, *tmp;

        HASH_ITER(hh, *set, o, tmp) {
                HASH_DEL(*set, o);
                remote_object_free(o);
        }
}

static int span_key(const config_setting_t *s, const char *key, const char *target, Diag *d,
                    usec_t *ret) {
        const config_setting_t *k = config_setting_get_member(s, key);
        const char *v;

        if (!k)
                return 0;
        v = config_setting_get_string(k);
        if (!v || parse_timespan(v, ret) < 0 || *ret == 0)
                diag_error(d, line_of(k), "target '%s': '%s' must be a time span such as "
                                          "\"30s\" or \"5min\"", target, key);
        return 0;
}

int remote_parse(RemoteTarget *rt, const config_setting_t *s, Diag *d) {
        const char *name = rt->target.name;

        rt->interval = REMOTE_DEFAULT_INTERVAL;
        rt->timeout = REMOTE_DEFAULT_TIMEOUT;
        rt->connect_timeout = REMOTE_DEFAULT_CONNECT_TIMEOUT;
        rt->complete.policy = COMPLETE_AT_ONCE;
        (void) span_key(s, "poll", name, d, &rt->interval);
        (void) span_key(s, "timeout", name, d, &rt->timeout);
        (void) span_key(s, "connect_timeout", name, d, &rt->connect_timeout);
        return 0;
}

/* STATE_DIR/remote/PIPELINE.TARGET */
static int state_path(RemoteTarget *rt, char **ret) {
        _cleanup_free_ char *p = NULL, *t = NULL;
        const char *dir = rt->target.host ? rt->target.host->state_dir : NULL;

        if (!dir)
                return -ENOENT;
        if (unit_escape_value(rt->target.pipeline->name, &p) < 0 ||
            unit_escape_value(rt->target.name, &t) < 0)
                return -ENOMEM;
        return asprintf(ret, "%s/remote/%s.%s", dir, p, t) < 0 ? -ENOMEM : 0;
}

/* A first line REMOTE_STATE_HEADER, then one line per object: SEEN, a tab, TAG, a tab,
 * LOCATION; tags hold no tab, and neither holds a newline. SEEN "-": held since the target's
 * first poll (complete = "quiet:..."), which is history after a restart too, not an arrival.
 * Without the header (the format before): TAG, a tab, LOCATION, seen before the target's first
 * poll. */
#define REMOTE_STATE_HEADER "# sluice remote 2\n"
#define REMOTE_STATE_HISTORY "-"

static void save(RemoteTarget *rt) {
        _cleanup_free_ char *path = NULL, *dir = NULL, *buf = NULL;
        RemoteObject *o, *tmp;
        size_t len = 0;
        FILE *f;
        int r;

        if (state_path(rt, &path) < 0 || path_split(path, &dir, NULL) < 0)
                return;
        f = open_memstream(&buf, &len);
        if (!f)
                return;
        fputs(REMOTE_STATE_HEADER, f);
        HASH_ITER(hh, rt->known, o, tmp)
                if (!strpbrk(o->tag, "\t\n") && !strchr(o->location, '\n'))
                        fprintf(f, "%" PRIu64 "\t%s\t%s\n", (uint64_t) o->seen, o->tag, o->location);
        HASH_ITER(hh, rt->held, o, tmp)
                if (o->history && !strpbrk(o->tag, "\t\n") && !strchr(o->location, '\n'))
                        fprintf(f, REMOTE_STATE_HISTORY "\t%s\t%s\n", o->tag, o->location);
        if (fclose(f) != 0)
                return;
        r = mkdir_p(dir, 0700);
        if (r >= 0)
                r = write_file_replace(path, buf ?: "", len, 0644, true);
        if (r < 0)
                log_warning_errno(r, "Cannot keep what target '%s' has seen in %s: %m",
                                  rt->target.name, path);
}

static void load(RemoteTarget *rt) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        char *line, *next;
        bool dated;

        if (state_path(rt, &path) < 0 || read_file(path, REMOTE_MAX_STATE, &text, NULL) < 0)
                return;
        dated = strneq(text, REMOTE_STATE_HEADER, strlen(REMOTE_STATE_HEADER));
        for (line = text + (dated ? strlen(REMOTE_STATE_HEADER) : 0); line && *line;
             line = next) {
                char *tab, *nl = strchr(line, '\n');
                RemoteObject *o, **set = &rt->known;
                usec_t seen = 0;
                bool history = false;

                next = nl ? nl + 1 : NULL;
                if (nl)
                        *nl = 0;
                if (dated) {
                        /* A damaged time is only a time unknown: the object is still there. */
                        tab = strchr(line, '\t');
                        if (!tab)
                                continue;
                        *tab = 0;
                        history = streq(line, REMOTE_STATE_HISTORY);
                        seen = strtoull(line, NULL, 10);
                        line = tab + 1;
                }
                tab = strchr(line, '\t');
                if (!tab)
                        continue;
                *tab = 0;
                /* Held again, its span from now; or, with 'complete' gone from the target,
                 * as the first poll would have found it. */
                if (history && rt->complete.policy != COMPLETE_AT_ONCE)
                        set = &rt->held;
                if (remote_object_add(set, tab + 1, line) < 0)
                        break;
                HASH_FIND_STR(*set, tab + 1, o);
                if (o) {
                        o->seen = seen;
                        o->history = history;
                        o->since = now_usec(CLOCK_MONOTONIC);
                }
        }
        rt->loaded = true;
        log_debug("Target '%s': %u object(s) known from before", rt->target.name,
                  HASH_COUNT(rt->known));
}

/* A uniformly random point in [0, n). */
static usec_t random_below(usec_t n) {
        uint64_t x;

        if (n == 0)
                return 0;
        x = ((uint64_t) random() << 31) ^ (uint64_t) random();
        return x % n;
}

static void arm(RemoteTarget *rt, usec_t delay) {
        int r;

        rt->next_poll_realtime = now_usec(CLOCK_REALTIME) + delay;
        /* sd-event's default leeway, 250 ms, is an eighth of poll = "2s", always late (its
         * timers wake at the end of their window, to batch): 1% of the delay, far inside the
         * jitter. 0 would mean the default. */
        r = sd_event_source_set_time_accuracy(rt->timer, MAX(delay / 100, 1));
        if (r >= 0)
                r = sd_event_source_set_time_relative(rt->timer, delay);
        if (r >= 0)
                r = sd_event_source_set_enabled(rt->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Cannot schedule polling target '%s': %m", rt->target.name);
}

/*
 * After failures: from 5 seconds (or the interval, if shorter), doubling, up to ten intervals
 * but not past 15 minutes, and never below the interval. Starting small matters for a target
 * polled hourly that lost its connection: it should notice the server's return in seconds.
 * The cap is relative to the interval because the back-off spares the server and the log, not
 * the user's deadline: polled at a tenth of its usual rate, a failing target costs a server a
 * tenth of what it did when healthy, and it notices the server's return within ten intervals,
 * as one chose poll = "2s" for (20 s late, not 15 minutes). From poll = "90s" on, 15 minutes.
 */
usec_t remote_backoff(usec_t interval, unsigned failures) {
        usec_t d, cap = MAX(interval, MIN(REMOTE_MAX_BACKOFF, REMOTE_BACKOFF_INTERVALS * interval));

        if (failures == 0)
                return interval;
        d = MIN(interval, REMOTE_FIRST_RETRY);
        for (unsigned k = 1; k < failures && d < cap; k++)
                d *= 2;
        return MIN(d, cap);
}

/* The interval or the back-off, ±10%. */
static usec_t next_delay(RemoteTarget *rt) {
        usec_t d = remote_backoff(rt->interval, rt->failures);

        return d - d / 10 + random_below(d / 5 + 1);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        RemoteTarget *rt = userdata;
        int r;

        if (rt->polling)
                return 0;
        rt->polling = true;
        rt->poll_started = now_usec(CLOCK_MONOTONIC);
        rt->poll_began = now_usec(CLOCK_REALTIME);
        if (rt->ops->prepare) {
                _cleanup_free_ char *why = NULL;

                r = rt->ops->prepare(rt, &why);
                if (r < 0) {
                        remote_poll_done(rt, NULL, why ?: strerror(-r));
                        return 0;
                }
        }
        r = rt->ops->poll(rt);
        if (r < 0 && rt->polling) {
                _cleanup_free_ char *msg = NULL;
                (void) asprintf(&msg, "cannot start polling: %s", strerror(-r));
                remote_poll_done(rt, NULL, msg ?: "cannot start polling");
        }
        return 0;
}

void remote_poll_now(RemoteTarget *rt) {
        if (rt->polling)
                rt->again = true;
        else if (rt->timer)
                arm(rt, 0);
}

/* After a good poll: the interval, or at once when a change was announced meanwhile; sooner
 * when an object held under "quiet:" may count by then, so that it counts at the end of its
 * span, not at the next poll after it. */
static void arm_next(RemoteTarget *rt) {
        arm(rt, rt->again ? 0 : MIN(next_delay(rt), remote_complete_due(rt)));
        rt->again = false;
}

/* A run of digits that counts time ("3002 milliseconds", "after 10 ms"): its end, or NULL. */
static const char *duration_end(const char *p) {
        while (isdigit((unsigned char) *p))
                p++;
        return strneq(p, " ms", 3) || strneq(p, " millisecond", 12) ? p : NULL;
}

/* Said once, not at every poll: see remote.h. */
bool remote_same_failure(const char *a, const char *b) {
        while (*a && *b) {
                const char *ea = isdigit((unsigned char) *a) ? duration_end(a) : NULL;
                const char *eb = isdigit((unsigned char) *b) ? duration_end(b) : NULL;

                if (ea && eb) {
                        a = ea;
                        b = eb;
                } else if (*a++ != *b++)
                        return false;
        }
        return *a == *b;
}

/* o, of what counted before the poll: kept when the poll did not find it but a task's commit
 * confirmed it while the poll was out. The poll's answer is older than that, and must not take
 * it back (downstream would run twice). */
static bool keep_confirmed(RemoteTarget *rt, const RemoteObject *o) {
        RemoteObject *now;

        HASH_FIND_STR(rt->known, o->location, now);
        if (now)
                return true;
        if (o->confirmed < rt->poll_started || o->confirmed == 0)
                return false;
        if (remote_object_add(&rt->known, o->location, o->tag) > 0) {
                HASH_FIND_STR(rt->known, o->location, now);
                now->confirmed = o->confirmed;
                now->seen = o->seen;
        }
        remote_held_drop(rt, o->location);
        return true;
}

void remote_poll_done(RemoteTarget *rt, RemoteObject *found, const char *error) {
        Target *t = &rt->target;
        RemoteObject *o, *tmp, *old;
        bool changed = false, vanished = false;

        rt->polling = false;
        rt->last_poll_began = rt->poll_began;
        if (error) {
                /* Nothing is concluded from a failed poll: what was there is still there. */
                remote_objects_free(&found);
                rt->failures++;
                if (!rt->error || !remote_same_failure(rt->error, error))
                        log_warning("Cannot poll target '%s' (%s): %s; trying again with "
                                    "back-off", t->name, t->template->text, error);
                free(rt->error);
                rt->error = strdup(error);
                rt->again = false;
                arm(rt, next_delay(rt));
                target_polled(t);
                return;
        }
        if (rt->error)
                log_notice("Target '%s' answers again, after %u failed poll(s)", t->name,
                           rt->failures);
        rt->error = mfree(rt->error);
        rt->failures = 0;
        rt->last_ok_realtime = now_usec(CLOCK_REALTIME);
        t->host->event_usec = now_usec(CLOCK_MONOTONIC);

        /* The new set first, then the hints: evaluation asks check(), which must see it. */
        old = rt->known;
        if (remote_complete_sort(rt, &found, old, !rt->loaded) < 0) {
                /* Nothing concluded, as from a failed poll; and soon again. */
                log_oom();
                remote_objects_free(&found);
                arm(rt, next_delay(rt));
                /* It did end: a deadline waiting for a poll begun by then must not wait for
                 * the next one too. */
                target_polled(t);
                return;
        }
        rt->known = found;
        if (!rt->loaded) {
                /* Never polled before: what exists is history, not arrivals. It is evaluated
                 * as a start-up scan is, within each task's look-back window. What old holds
                 * is only what commits confirmed meanwhile. */
                HASH_ITER(hh, old, o, tmp)
                        (void) keep_confirmed(rt, o);
                remote_objects_free(&old);
                rt->loaded = true;
                save(rt);
                target_rescan(t);
                arm_next(rt);
                target_polled(t);
                return;
        }
        HASH_ITER(hh, rt->known, o, tmp) {
                _cleanup_(binding_freep) Binding *b = NULL;
                RemoteObject *was;

                HASH_FIND_STR(old, o->location, was);
                if (was && streq(was->tag, o->tag)) {
                        o->seen = was->seen;
                        continue;
                }
                changed = true;
                /* Gone for a moment (a listing that answered 404) and back as it was: no news,
                 * but what waits for it may go on, as after a scan that found it. */
                if (!was && remote_vanished_back(rt, o)) {
                        if (template_match(t->template, o->location, &b) > 0)
                                target_hint(t, b, false);
                        continue;
                }
                /* Held since the first poll ("quiet:", "flag:"): as what that poll found. */
                o->seen = o->history ? 0 : rt->last_ok_realtime;
                if (template_match(t->template, o->location, &b) > 0)
                        target_hint(t, b, !o->history);
        }
        HASH_ITER(hh, old, o, tmp) {
                _cleanup_(binding_freep) Binding *b = NULL;
                RemoteObject *now;

                if (keep_confirmed(rt, o))
                        continue;
                changed = true;
                HASH_FIND_STR(rt->held, o->location, now);
                /* Still there, changing or without its flag: not gone, but not counted until it
                 * counts again, as a local file being written again. */
                if (now)
                        continue;
                remote_vanished_note(rt, o);
                vanished = true;
                if (template_match(t->template, o->location, &b) > 0)
                        target_gone(t, b);
        }
        if (vanished)
                remote_vanished_trim(rt, HASH_COUNT(old));
        remote_objects_free(&old);
        if (changed)
                save(rt);
        arm_next(rt);
        target_polled(t);
}

static int on_confirmed(sd_event_source *s, void *userdata) {
        RemoteTarget *rt = userdata;
        char **l = TAKE_PTR(rt->confirmed);

        rt->target.host->event_usec = now_usec(CLOCK_MONOTONIC);
        for (char **x = l; x && *x; x++) {
                _cleanup_(binding_freep) Binding *b = NULL;
                if (template_match(rt->target.template, *x, &b) > 0)
                        target_hint(&rt->target, b, true);
        }
        strv_free(l);
        return 0;
}

int remote_kind_confirmed(Target *t, const char *location, const char *tag) {
        return remote_confirmed(REMOTE(t), location, tag);
}

int remote_confirmed(RemoteTarget *rt, const char *location, const char *tag) {
        RemoteObject *o;
        int r;

        HASH_FIND_STR(rt->known, location, o);
        if (o) {
                free(o->tag);
                o->tag = strdup(strempty(tag));
                r = o->tag ? 0 : -ENOMEM;
        } else {
                r = remote_object_add(&rt->known, location, tag);
                HASH_FIND_STR(rt->known, location, o);
        }
        if (r < 0)
                return r;
        if (o) {
                o->confirmed = now_usec(CLOCK_MONOTONIC);
                o->seen = now_usec(CLOCK_REALTIME);     /* just written */
        }
        remote_held_drop(rt, location);
        save(rt);
        /* A stopped target (its run finished under a retired pipeline) tells no one. */
        if (!rt->target.host)
                return 0;
        r = strv_extend(&rt->confirmed, location);
        if (r < 0)
                return r;
        if (!rt->confirm_source) {
                r = sd_event_add_defer(rt->target.host->event, &rt->confirm_source, on_confirmed,
                                       rt);
                if (r < 0)
                        return r;
        }
        return sd_event_source_set_enabled(rt->confirm_source, SD_EVENT_ONESHOT);
}

/*
 * When a polled target last polled well, and how it is failing, kept when it stops for the
 * version of it that a reload starts (the same pipeline, name and location): `sluicectl status`
 * would otherwise say "never" until that version's first poll, which for one polled hourly is
 * up to an hour away; and a reload that mends a failing target (new credentials) would never
 * say that it answers again, while its failure count dropped to 0 and rose again if not.
 * Not across restarts: there, "never" until the first poll is the truth of this process.
 * And what it held (complete = "quiet:..."): an s3 target is started afresh at every reload,
 * and reloads more often than its span would hold an object for ever; and what went
 * (remote-vanished.c), which may come back after the reload.
 */
typedef struct Remembered {
        char *key;
        usec_t last_ok;
        unsigned failures;
        char *error;
        RemoteObject *held, *vanished;
        UT_hash_handle hh;
} Remembered;

static void remembered_free(Remembered **set, Remembered *m) {
        HASH_DEL(*set, m);
        free(m->key);
        free(m->error);
        remote_objects_free(&m->held);
        remote_objects_free(&m->vanished);
        free(m);
}

static char *memory_key(const RemoteTarget *rt) {
        char *key;

        if (asprintf(&key, "%s\t%s\t%s", rt->target.pipeline->name, rt->target.name,
                     rt->target.template->text) < 0)
                return NULL;
        return key;
}

static void remember(RemoteTarget *rt) {
        Remembered **set = (Remembered **) &rt->target.host->remote_memory, *m;
        _cleanup_free_ char *key = NULL;

        if ((rt->last_ok_realtime == 0 && rt->failures == 0) || !(key = memory_key(rt)))
                return;
        HASH_FIND_STR(*set, key, m);
        if (!m) {
                m = calloc(1, sizeof(*m));
                if (!m)
                        return;
                m->key = TAKE_PTR(key);
                HASH_ADD_KEYPTR(hh, *set, m->key, strlen(m->key), m);
        }
        m->last_ok = rt->last_ok_realtime;
        m->failures = rt->failures;
        free(m->error);
        m->error = rt->error ? strdup(rt->error) : NULL;
        remote_objects_free(&m->held);
        m->held = TAKE_PTR(rt->held);
        remote_objects_free(&m->vanished);
        m->vanished = TAKE_PTR(rt->vanished);
}

static void recall(RemoteTarget *rt) {
        Remembered **set = (Remembered **) &rt->target.host->remote_memory, *m;
        _cleanup_free_ char *key = memory_key(rt);

        if (!key)
                return;
        HASH_FIND_STR(*set, key, m);
        if (!m)
                return;
        if (rt->last_ok_realtime == 0)
                rt->last_ok_realtime = m->last_ok;
        if (rt->failures == 0 && m->error) {
                rt->failures = m->failures;
                free(rt->error);
                rt->error = TAKE_PTR(m->error);
        }
        /* Fresher than what the state directory holds of it. */
        if (rt->complete.policy != COMPLETE_AT_ONCE && m->held) {
                remote_objects_free(&rt->held);
                rt->held = TAKE_PTR(m->held);
        }
        if (!rt->vanished)
                rt->vanished = TAKE_PTR(m->vanished);
        remembered_free(set, m);
}

void remote_memory_free(TargetHost *h) {
        Remembered **set = (Remembered **) &h->remote_memory, *m, *tmp;

        HASH_ITER(hh, *set, m, tmp)
                remembered_free(set, m);
}

int remote_start(Target *t) {
        static bool seeded;
        RemoteTarget *rt = REMOTE(t);
        bool ready = true;
        int r;

        if (!seeded) {
                srandom((unsigned) (now_usec(CLOCK_REALTIME) ^ (usec_t) getpid()));
                seeded = true;
        }
        if (!rt->loaded)
                load(rt);
        recall(rt);
        if (rt->ops->prepare) {
                _cleanup_free_ char *why = NULL;

                r = rt->ops->prepare(rt, &why);
                if (r == -ENOMEM)
                        return r;
                /* Not ready: the first poll, at once, says why. */
                ready = r >= 0;
        }
        r = sd_event_add_time_relative(t->host->event, &rt->timer, CLOCK_MONOTONIC, 0, 0,
                                       on_timer, rt);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(rt->timer, "remote-poll");
        /* Known from before: the first poll at random within 30 s (or the interval), so a
         * restart with thousands of targets is no thundering herd, yet one polled hourly is
         * checked at once after a restart, as a sensor would be, not up to an hour later; 30 s
         * spreads 10,000 targets to about 300 polls a second. Never seen: poll now. Failing
         * before a reload that may have mended it: within seconds. */
        arm(rt, !rt->loaded || !ready ? 0 :
                rt->failures == 0 ? random_below(MIN(rt->interval, REMOTE_FIRST_SPREAD)) :
                /* Soon, but not every failing target of a reload at the same instant. */
                random_below(MIN(rt->interval, REMOTE_FIRST_RETRY)));
        return 0;
}

void remote_stop(Target *t) {
        RemoteTarget *rt = REMOTE(t);

        /* Also when no poll is in flight: a kind may hold a connection between polls. */
        if (rt->ops->cancel)
                rt->ops->cancel(rt);
        rt->polling = false;
        rt->timer = sd_event_source_disable_unref(rt->timer);
        rt->confirm_source = sd_event_source_disable_unref(rt->confirm_source);
        rt->confirmed = strv_free(rt->confirmed);
        if (t->host)
                remember(rt);
}

int remote_check(Target *t, const char *location) {
        RemoteObject *o;

        HASH_FIND_STR(REMOTE(t)->known, location, o);
        return !!o;
}

/* Not the server's clock, which need not agree with this machine's that dates outputs: a
 * version is as new as when this daemon first saw it. */
int remote_mtime(Target *t, const char *location, usec_t *ret) {
        RemoteObject *o;

        HASH_FIND_STR(REMOTE(t)->known, location, o);
        if (!o)
                return -ENOENT;
        if (o->seen == 0)
                return -ENODATA;
        *ret = o->seen;
        return 0;
}

int remote_scan(Target *t, target_scan_func f, void *userdata) {
        RemoteObject *o, *tmp;

        HASH_ITER(hh, REMOTE(t)->known, o, tmp) {
                _cleanup_(binding_freep) Binding *b = NULL;
                int r = template_match(t->template, o->location, &b);

                if (r > 0)
                        r = f(t, b, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

int remote_status(Target *t, TargetStatus *ret) {
        RemoteTarget *rt = REMOTE(t);

        *ret = (TargetStatus){
                .objects = HASH_COUNT(rt->known),
                .last_ok_realtime = rt->last_ok_realtime,
                .next_poll_realtime = rt->next_poll_realtime,
                .failures = rt->failures,
                .error = rt->error,
        };
        return 1;
}

int remote_known_since(Target *t, usec_t when, const char **ret_error) {
        RemoteTarget *rt = REMOTE(t);
        usec_t now = now_usec(CLOCK_REALTIME);

        if (rt->last_poll_began >= when && rt->last_poll_began > 0) {
                *ret_error = rt->error;
                return 1;
        }
        /* One in flight began earlier: right after it, unless its successor comes soon. */
        if (rt->polling ? rt->poll_began < when && (rt->interval > REMOTE_JUDGE_WAIT ||
                                                    rt->failures > 0)
                        : rt->next_poll_realtime > MAX(now, when) + REMOTE_JUDGE_WAIT)
                remote_poll_now(rt);
        return 0;
}

void remote_done(Target *t) {
        RemoteTarget *rt = REMOTE(t);

        remote_objects_free(&rt->known);
        remote_objects_free(&rt->held);
        remote_objects_free(&rt->vanished);
        free(rt->complete.flag);
        free(rt->error);
}
