/* SPDX-License-Identifier: MIT */
/*
 * The list of target kinds and the generic half of a Target. The core reaches kinds only
 * through this table, and kinds reach the core only through the TargetHost they are lent, so
 * adding a kind is one file and one line below.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "local.h"
#include "remote.h"
#include "target.h"
#include "util/macro.h"
#include "util/strv.h"

extern const TargetKind target_kind_path, target_kind_url, target_kind_s3,
        target_kind_command, target_kind_postgres;

const TargetKind * const target_kinds[] = {
        &target_kind_path,
        &target_kind_url,
        &target_kind_s3,
        &target_kind_command,
        &target_kind_postgres,
        NULL,
};

const TargetKind *target_kind_find(const char *name) {
        for (size_t i = 0; target_kinds[i]; i++)
                if (streq(target_kinds[i]->name, name))
                        return target_kinds[i];
        return NULL;
}

int target_new(const TargetKind *kind, Target **ret) {
        Target *t = calloc(1, kind->object_size);

        if (!t)
                return -ENOMEM;
        t->kind = kind;
        *ret = t;
        return 0;
}

Target *target_free(Target *t) {
        if (!t)
                return NULL;
        target_stop(t);
        if (t->kind->done)
                t->kind->done(t);
        template_free(t->template);
        free(t->consumers);
        strv_free(t->on_late);
        free(t->name);
        free(t->file);
        free(t);
        return NULL;
}

int target_start(Target *t, TargetHost *h) {
        int r;

        if (t->host)
                return 0;
        t->host = h;
        if (!t->kind->start)
                return 0;
        r = t->kind->start(t);
        if (r < 0)
                t->host = NULL;
        return r;
}

void target_stop(Target *t) {
        /* A deadline is watched while its target is started: a retired pipeline's target,
         * kept for a run in flight, must not report late (and has no host to report to). */
        t->deadline_timer = sd_event_source_disable_unref(t->deadline_timer);
        target_gone_below_clear(t);
        if (!t->host)
                return;
        if (t->kind->stop)
                t->kind->stop(t);
        t->host = NULL;
}

bool target_reload_afresh(Target *t) {
        return t->host && t->kind->reload_afresh && t->kind->reload_afresh(t);
}

void target_host_done(TargetHost *h) {
        for (size_t i = 0; target_kinds[i]; i++) {
                const TargetKind *k = target_kinds[i];
                if (h->kind_state[k->id] && k->host_done)
                        k->host_done(h->kind_state[k->id]);
                h->kind_state[k->id] = NULL;
        }
        remote_memory_free(h);
        local_leftovers_free(h);
}

void target_host_scan_begin(TargetHost *h) {
        h->scanning++;
}

void target_host_scan_end(TargetHost *h) {
        assert(h->scanning > 0);
        if (--h->scanning > 0)
                return;
        for (size_t i = 0; target_kinds[i]; i++)
                if (target_kinds[i]->scan_done)
                        target_kinds[i]->scan_done(h);
}

void target_hint(Target *t, const Binding *b, bool fresh) {
        if (t->host && t->host->hint)
                t->host->hint(t->host, t, b, fresh);
}

void target_gone(Target *t, const Binding *b) {
        if (t->host && t->host->gone)
                t->host->gone(t->host, t, b);
}

const char *target_pending(Target *t, const char *location, char *buf, size_t size) {
        return t->kind->pending ? t->kind->pending(t, location, buf, size) : NULL;
}

char *target_polls_said(const char *name, const TargetStatus *st) {
        char last[FORMAT_REALTIME_MAX], next[FORMAT_REALTIME_MAX];
        /* A time past for the next poll: one is under way, as `sluicectl status` says. */
        bool polling = st->next_poll_realtime > 0 &&
                       st->next_poll_realtime <= now_usec(CLOCK_REALTIME);
        char *s = NULL;
        int r;

        format_realtime(last, sizeof(last), st->last_ok_realtime);
        format_realtime(next, sizeof(next), st->next_poll_realtime);
        if (st->error)
                r = asprintf(&s, "the polls of target '%s' are failing (%u in a row): %s; %s %s",
                             name, st->failures, st->error,
                             polling ? "trying again since" : "next try at", next);
        else if (st->last_ok_realtime == 0)
                r = asprintf(&s, "waiting for it to arrive; target '%s' not polled yet, %s %s",
                             name, polling ? "its first poll under way since" : "first poll at",
                             next);
        else
                r = asprintf(&s, "waiting for it to arrive; not there at the last poll of target "
                             "'%s', %s; %s %s", name, last, polling ? "polling since" : "next at",
                             next);
        return r < 0 ? NULL : s;
}

void target_rescan(Target *t) {
        target_rescan_lost(t, 0);
}

void target_gone_below(Target *t, const Binding *partial) {
        if (t->host && t->host->gone_below)
                t->host->gone_below(t->host, t, partial);
}

void target_gone_below_clear(Target *t) {
        t->gone_timer = sd_event_source_disable_unref(t->gone_timer);
        for (size_t k = 0; k < t->n_gone_below; k++)
                binding_free(t->gone_below[k]);
        t->gone_below = mfree(t->gone_below);
        t->n_gone_below = 0;
}

void target_rescan_lost(Target *t, usec_t since) {
        if (t->host && t->host->rescan)
                t->host->rescan(t->host, t, since);
}

void target_back(Target *t) {
        if (t->host && t->host->back)
                t->host->back(t->host, t);
}

void target_polled(Target *t) {
        if (t->host && t->host->polled)
                t->host->polled(t->host, t);
}
