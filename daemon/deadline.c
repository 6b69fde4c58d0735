/* SPDX-License-Identifier: MIT */
/*
 * Deadlines: "daily/{day}.tsv must exist by 06:00 the next day" is deadline = "30h" on that
 * target. The daemon checks the target itself at each deadline, so it alerts even when an
 * upstream input never came and no task ever failed. Each period is checked once: the last
 * one checked is kept in the state directory, so a restart neither repeats an alert nor
 * digs up old periods (a daemon that was away checks only the latest one due). An alert that
 * not every notifier has delivered yet (held in a window, a webhook still trying) is kept as
 * "PERIOD untold", and a restart checks that period again rather than lose it. Which alerts
 * are under way, and to how many notifiers, is the daemon's rather than the target's: a reload
 * that starts a pipeline afresh gives it new targets, which must neither tell an alert under
 * way a second time nor leave it untold once it is delivered.
 *
 * A polled target knows only what its last poll found, which may be older than the deadline
 * (polled every 10 minutes), or nothing at all (just started): an instance it has not seen is
 * judged missing only once a poll begun at or after the due time has ended, and its period is
 * checked only then (deadline_polled()). When that poll failed, whether the instance is there
 * is unknown, and the alert says so, and why.
 *
 * A target never checked before (a new one: added by a reload, or while the daemon was away)
 * is not told late for a period whose deadline passed before it was defined, which is when its
 * file was last changed: nobody asked for that one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "deadline.h"
#include "log.h"
#include "notify.h"
#include "util/escape.h"
#include "util/fs-util.h"
#include "util/hash.h"

/* An alert not yet delivered by every notifier it went to. */
typedef struct LateAlert {
        char *key;              /* "PERIOD\tPIPELINE\tTARGET" */
        int untold;             /* notifiers still to deliver it (below 0 while asking) */
        bool asking;            /* being asked of them (hold()) */
        UT_hash_handle hh;
} LateAlert;

static int alert_key(Target *t, int64_t period, char **ret) {
        return asprintf(ret, "%lld\t%s\t%s", (long long) period, t->pipeline->name, t->name) < 0
                       ? -ENOMEM
                       : 0;
}

static LateAlert *find_alert(Manager *m, const char *key) {
        LateAlert *a;

        HASH_FIND_STR(m->late_alerts, key, a);
        return a;
}

static void alert_free(Manager *m, LateAlert *a) {
        HASH_DEL(m->late_alerts, a);
        free(a->key);
        free(a);
}

static int mark_path(Manager *m, const char *pipeline, const char *target, char **ret) {
        _cleanup_free_ char *p = NULL, *n = NULL;

        if (unit_escape_value(pipeline, &p) < 0 || unit_escape_value(target, &n) < 0)
                return -ENOMEM;
        return asprintf(ret, "%s/deadlines/%s.%s", m->state_dir, p, n) < 0 ? -ENOMEM : 0;
}

/* The ordinal of the period now falls in (UTC, as time parameters are). */
static int current_period(ParamType type, usec_t now, int64_t *ret) {
        int64_t days = (int64_t) (now / USEC_PER_DAY), y;
        unsigned mo, d;
        char buf[32];

        if (type == PARAM_WEEK) {
                /* Weeks count from 1970-W01, which began on Monday 1969-12-29. */
                *ret = (days + 3) / 7;
                return 0;
        }
        civil_from_days(days, &y, &mo, &d);
        if (type == PARAM_DATE)
                snprintf(buf, sizeof(buf), "%04lld-%02u-%02u", (long long) y, mo, d);
        else if (type == PARAM_HOUR)
                snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02u", (long long) y, mo, d,
                         (unsigned) (now / USEC_PER_HOUR % 24));
        else
                snprintf(buf, sizeof(buf), "%04lld-%02u", (long long) y, mo);
        return param_to_ordinal(type, buf, ret);
}

static int due_at(ParamType type, int64_t v, usec_t after, usec_t *ret) {
        _cleanup_free_ char *s = NULL;
        int64_t start;
        int r;

        r = param_from_ordinal(type, v, &s);
        if (r >= 0)
                r = param_to_realtime(type, s, &start);
        if (r < 0)
                return r;
        *ret = (usec_t) start + after;
        return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata);

static void save(Manager *m, const char *pipeline, const char *target, int64_t v, bool untold) {
        _cleanup_free_ char *path = NULL, *text = NULL, *dir = NULL;

        if (mark_path(m, pipeline, target, &path) >= 0 &&
            asprintf(&text, "%lld%s\n", (long long) v, untold ? " untold" : "") >= 0 &&
            path_split(path, &dir, NULL) >= 0 && mkdir_p(dir, 0700) >= 0)
                (void) write_file_replace(path, text, strlen(text), 0644, true);
}

/* Follows the alert key names while it is being asked of its notifiers, which can deliver
 * it, or give up, before they return: those are counted, and nothing is concluded till then
 * (release()). NULL when out of memory: its mark then stays untold, and a restart tells it
 * again. */
static LateAlert *hold(Manager *m, const char *key) {
        LateAlert *a = find_alert(m, key);

        if (!a) {
                a = calloc(1, sizeof(*a));
                if (!a || !(a->key = strdup(key))) {
                        free(a);
                        log_oom();
                        return NULL;
                }
                HASH_ADD_KEYPTR(hh, m->late_alerts, a->key, strlen(a->key), a);
        }
        /* Found: the same period again (its mark could not be read), and both count. */
        a->asking = true;
        return a;
}

/* a was asked of n notifiers: whether some of them have not delivered it yet. */
static bool release(Manager *m, LateAlert *a, unsigned n) {
        if (!a)
                return n > 0;
        a->asking = false;
        a->untold += (int) n;
        if (a->untold > 0)
                return true;
        alert_free(m, a);
        return false;
}

static void check(Manager *m, Target *t) {
        const TemplateParam *p = &t->template->params[0];
        _cleanup_free_ char *path = NULL, *text = NULL, *value = NULL, *loc = NULL, *key = NULL;
        _cleanup_(binding_freep) Binding *b = NULL;
        usec_t now = now_usec(CLOCK_REALTIME), due, next;
        const char *unknown = NULL;
        int64_t v, last = INT64_MIN;
        int r;

        /* The latest period whose deadline has passed. */
        r = current_period(p->spec.type, now, &v);
        while (r >= 0 && (r = due_at(p->spec.type, v, t->deadline, &due)) >= 0 && due > now)
                v--;
        if (r >= 0)
                r = param_from_ordinal(p->spec.type, v, &value);
        if (r < 0) {
                log_warning_errno(r, "Target '%s': cannot work out its deadline: %m", t->name);
                return;
        }
        r = mark_path(m, t->pipeline->name, t->name, &path);
        if (r >= 0)
                r = read_file(path, 64, &text, NULL);
        if (r >= 0) {
                last = strtoll(text, NULL, 10);
                /* Its alert was not delivered everywhere: that period is checked again, unless
                 * this daemon still has the alert under way (a reload started the target
                 * afresh), which is told once, and then saved as told. */
                if (strstr(text, " untold") && last > INT64_MIN &&
                    (alert_key(t, last, &key) < 0 || !find_alert(m, key)))
                        last--;
                key = mfree(key);
        } else if (r == -ENOENT && due < t->defined) {
                log_info("Target '%s': %s=%s was due before the target was defined (%s was "
                         "changed after that), and is not checked", t->name, p->name, value,
                         t->file);
                save(m, t->pipeline->name, t->name, v, false);
                last = v;
        }
        t->late_waits = false;
        if (v > last && alert_key(t, v, &key) >= 0 && binding_new(&b) >= 0 &&
            binding_set(b, p->name, value) >= 0 && template_format(t->template, b, &loc) >= 0) {
                int there = t->kind->check(t, loc);

                /* Not there by a polled target's word: that may be older than the due time, and
                 * it is neither judged nor kept as checked until it is not. (There, it was by
                 * then.) A poll since that failed leaves it unknown. */
                t->late_waits = there == 0 && t->kind->known_since &&
                                t->kind->known_since(t, due, &unknown) == 0;
                if (!t->late_waits) {
                        bool untold = false;

                        if (there == 0) {
                                LateAlert *a = hold(m, key);

                                if (unknown)
                                        log_warning("Target '%s': %s was due by its deadline and "
                                                    "its state is unknown: %s", t->name, loc,
                                                    unknown);
                                else
                                        log_warning("Target '%s': %s was due by its deadline and "
                                                    "is missing", t->name, loc);
                                untold = release(m, a,
                                                 notify_target_late(m, t, loc, due, key, unknown));
                        }
                        save(m, t->pipeline->name, t->name, v, untold);
                }
        }
        if (due_at(p->spec.type, v + 1, t->deadline, &next) < 0)
                return;
        if (!t->deadline_timer)
                r = sd_event_add_time(m->event, &t->deadline_timer, CLOCK_REALTIME, next,
                                      USEC_PER_SEC, on_deadline, t);
        else {
                r = sd_event_source_set_time(t->deadline_timer, next);
                if (r >= 0)
                        r = sd_event_source_set_enabled(t->deadline_timer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                log_warning_errno(r, "Target '%s': cannot arm its deadline: %m", t->name);
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        Target *t = userdata;

        /* The timer is the target's: it goes with it, so the target is alive here. */
        check(container_of(t->host, Manager, host), t);
        return 0;
}

void deadline_polled(TargetHost *h, Target *t) {
        if (t->on_late && t->late_waits)
                check(container_of(h, Manager, host), t);
}

void deadline_told(Manager *m, const char *key) {
        _cleanup_free_ char *pipeline = NULL, *path = NULL, *text = NULL;
        const char *tab = strchr(key, '\t'), *name;
        int64_t v = strtoll(key, NULL, 10);
        LateAlert *a = find_alert(m, key);

        if (!a || --a->untold > 0 || a->asking)
                return;
        alert_free(m, a);
        if (!tab || !(name = strchr(tab + 1, '\t')) ||
            !(pipeline = strndup(tab + 1, (size_t) (name - tab - 1))))
                return;
        name++;
        /* Only if that is still the period kept: a later one may be there. By name: the target
         * it was told for may have been replaced by a reload since, or removed. */
        if (mark_path(m, pipeline, name, &path) >= 0 && read_file(path, 64, &text, NULL) >= 0 &&
            strtoll(text, NULL, 10) == v)
                save(m, pipeline, name, v, false);
}

void deadline_free(Manager *m) {
        while (m->late_alerts)
                alert_free(m, m->late_alerts);
}

void deadline_start(Manager *m, Pipeline *p) {
        for (size_t j = 0; j < p->n_targets; j++) {
                Target *t = p->targets[j];
                struct stat st;

                if (!t->on_late)
                        continue;
                if (t->file && stat(t->file, &st) >= 0)
                        t->defined = (usec_t) st.st_mtim.tv_sec * USEC_PER_SEC +
                                     (usec_t) st.st_mtim.tv_nsec / NSEC_PER_USEC;
                /* Its state comes from the kind: a target nothing reads is started for the
                 * deadline's sake. */
                if (!t->host && target_start(t, &m->host) < 0) {
                        log_warning("Target '%s': cannot start it, so its deadline is not watched",
                                    t->name);
                        continue;
                }
                check(m, t);
        }
}
