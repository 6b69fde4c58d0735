/* SPDX-License-Identifier: MIT */
/* What makes a remote target's failure new, to be logged again: not curl's milliseconds; and
 * how precisely polls are timed. */
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"
#include "graph.h"
#include "remote.h"
#include "util/rm-rf.h"

static void test_durations_do_not_count(void **state) {
        assert_true(remote_same_failure("http://h/: Operation timed out after 3002 milliseconds "
                                        "with 0 bytes received",
                                        "http://h/: Operation timed out after 10243 milliseconds "
                                        "with 0 bytes received"));
        assert_true(remote_same_failure("Failed to connect to h port 80 after 0 ms: refused",
                                        "Failed to connect to h port 80 after 12 ms: refused"));
}

static void test_other_numbers_do(void **state) {
        assert_false(remote_same_failure("http://h/x: HTTP status 401", "http://h/x: HTTP status 503"));
        assert_false(remote_same_failure("http://h/2024/05/: HTTP status 500",
                                         "http://h/2024/06/: HTTP status 500"));
        assert_false(remote_same_failure("port 80 after 3 ms", "port 81 after 3 ms"));
        assert_false(remote_same_failure("timed out after 3 milliseconds", "timed out after 3"));
        assert_true(remote_same_failure("same words", "same words"));
}

/* Back-off grows from 5 s, and its cap follows the interval: poll = "2s" came back up to 15
 * minutes late after an outage. */
static void test_backoff_follows_interval(void **state) {
        assert_int_equal(remote_backoff(2 * USEC_PER_SEC, 0), 2 * USEC_PER_SEC);
        assert_int_equal(remote_backoff(2 * USEC_PER_SEC, 1), 2 * USEC_PER_SEC);
        assert_int_equal(remote_backoff(2 * USEC_PER_SEC, 3), 8 * USEC_PER_SEC);
        assert_int_equal(remote_backoff(2 * USEC_PER_SEC, 50), 20 * USEC_PER_SEC);
        assert_int_equal(remote_backoff(60 * USEC_PER_SEC, 1), 5 * USEC_PER_SEC);
        assert_int_equal(remote_backoff(60 * USEC_PER_SEC, 50), 10 * USEC_PER_MINUTE);
        assert_int_equal(remote_backoff(5 * USEC_PER_MINUTE, 50), 15 * USEC_PER_MINUTE);
        /* Never more often than when healthy. */
        assert_int_equal(remote_backoff(USEC_PER_HOUR, 1), 5 * USEC_PER_SEC);
        assert_int_equal(remote_backoff(USEC_PER_HOUR, 50), USEC_PER_HOUR);
}

/* The poll timer's leeway, which sd-event uses whole (it batches wake-ups at the end of it):
 * its default, 250 ms, made poll = "2s" 2.25 s on average; a configured value, no timing. */
static void check_leeway(RemoteTarget *rt) {
        usec_t at, accuracy, now;

        assert_int_equal(sd_event_source_get_time(rt->timer, &at), 0);
        assert_int_equal(sd_event_source_get_time_accuracy(rt->timer, &accuracy), 0);
        assert_true(sd_event_now(rt->target.host->event, CLOCK_MONOTONIC, &now) >= 0);
        assert_true(accuracy > 0);
        assert_true(accuracy <= (at - now) / 50 + 1);
}

static void test_poll_timer_leeway(void **state) {
        _cleanup_(pipeline_freep) Pipeline *p = NULL;
        TargetHost h = {};
        RemoteTarget *rt;
        Diag d = {};

        assert_int_equal(config_load_pipeline_text("p.conf", "targets = { one = { url = "
                                                   "\"http://127.0.0.1:9/x.csv\"; poll = "
                                                   "\"2s\"; }; }; tasks = ();", NULL, NULL,
                                                   &p, &d), 0);
        diag_done(&d);
        assert_int_equal(sd_event_new(&h.event), 0);
        rt = REMOTE(p->targets[0]);
        assert_int_equal(target_start(&rt->target, &h), 0);
        /* What a good poll and a failed one arm next (not the first poll, which is at once). */
        remote_poll_done(rt, NULL, NULL);
        check_leeway(rt);
        remote_poll_done(rt, NULL, "refused");
        check_leeway(rt);
        target_stop(&rt->target);
        target_host_done(&h);
        sd_event_unref(h.event);
}

/* A pipeline of one url target, defined by its keys, started on h. */
static RemoteTarget *start_url(Pipeline **p, TargetHost *h, const char *keys) {
        _cleanup_free_ char *text = NULL;
        RemoteTarget *rt;
        Diag d = {};

        assert_true(asprintf(&text, "targets = { one = { url = \"http://127.0.0.1:9/d/{x}.csv\"; "
                                    "%s }; }; tasks = ();", keys) > 0);
        assert_int_equal(config_load_pipeline_text("p.conf", text, NULL, NULL, p, &d), 0);
        assert_int_equal(d.n_errors, 0);
        diag_done(&d);
        if (!h->event)
                assert_int_equal(sd_event_new(&h->event), 0);
        rt = REMOTE((*p)->targets[0]);
        assert_int_equal(target_start(&rt->target, h), 0);
        return rt;
}

static RemoteObject *objects(const char *location, const char *tag) {
        RemoteObject *set = NULL;

        assert_int_equal(remote_object_add(&set, location, tag), 1);
        return set;
}

/* An output a commit confirmed while the target's first poll was out, which that poll's
 * answer, older, did not list: still known (it was dropped, and leaked, on that path). */
static void test_confirmed_during_first_poll(void **state) {
        _cleanup_(pipeline_freep) Pipeline *p = NULL;
        TargetHost h = {};
        RemoteTarget *rt = start_url(&p, &h, "");

        rt->polling = true;
        rt->poll_started = now_usec(CLOCK_MONOTONIC);
        assert_int_equal(remote_confirmed(rt, "http://127.0.0.1:9/d/out.csv", "v1"), 0);
        remote_poll_done(rt, objects("http://127.0.0.1:9/d/in.csv", "a"), NULL);
        assert_true(rt->loaded);
        assert_int_equal(remote_check(&rt->target, "http://127.0.0.1:9/d/out.csv"), 1);
        assert_int_equal(remote_check(&rt->target, "http://127.0.0.1:9/d/in.csv"), 1);
        target_stop(&rt->target);
        target_host_done(&h);
        sd_event_unref(h.event);
}

/* The flag beside a single object: in its directory, not in its query. */
static void test_flag_location(void **state) {
        const struct {
                const char *location, *flag;
        } cases[] = {
                { "http://h/d/x.csv?p=/a/b", "http://h/d/_SUCCESS" },
                { "http://h/d/x.csv", "http://h/d/_SUCCESS" },
                { "bucket/x.csv", "bucket/_SUCCESS" },
                { "x.csv", "_SUCCESS" },
        };

        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                _cleanup_free_ char *f = complete_flag_location(cases[k].location, "_SUCCESS");

                assert_non_null(f);
                assert_string_equal(f, cases[k].flag);
        }
}

/* How long until the next poll, as armed. */
static usec_t next_poll_in(RemoteTarget *rt) {
        usec_t at, now;

        assert_int_equal(sd_event_source_get_time(rt->timer, &at), 0);
        assert_true(sd_event_now(rt->target.host->event, CLOCK_MONOTONIC, &now) >= 0);
        return at > now ? at - now : 0;
}

/* Under "quiet:", a poll is brought forward to the end of the span for a version first found,
 * not for one that replaced a held version: an object that keeps changing would have the
 * target listed every span for as long as it changes. */
static void test_quiet_restless_object(void **state) {
        _cleanup_(pipeline_freep) Pipeline *p = NULL;
        TargetHost h = {};
        RemoteTarget *rt = start_url(&p, &h, "poll = \"60s\"; complete = \"quiet:2s\";");
        const char *log = "http://127.0.0.1:9/d/app.csv";

        rt->poll_started = now_usec(CLOCK_MONOTONIC);
        remote_poll_done(rt, objects(log, "v1"), NULL);
        assert_int_equal(remote_check(&rt->target, log), 0);
        assert_true(next_poll_in(rt) <= 2 * USEC_PER_SEC);

        rt->poll_started = now_usec(CLOCK_MONOTONIC);
        remote_poll_done(rt, objects(log, "v2"), NULL);
        assert_int_equal(remote_check(&rt->target, log), 0);
        assert_true(next_poll_in(rt) >= 50 * USEC_PER_SEC);

        /* Found unchanged: its span may end before the interval does. */
        rt->poll_started = now_usec(CLOCK_MONOTONIC);
        remote_poll_done(rt, objects(log, "v2"), NULL);
        assert_true(next_poll_in(rt) <= 2 * USEC_PER_SEC);
        target_stop(&rt->target);
        target_host_done(&h);
        sd_event_unref(h.event);
}

/* A poll that finds location unchanged still holds it as history; then the target stops. */
static void poll_holds_history(RemoteTarget *rt, const char *location) {
        TargetHost *h = rt->target.host;
        RemoteObject *o;

        rt->poll_started = now_usec(CLOCK_MONOTONIC);
        remote_poll_done(rt, objects(location, "v1"), NULL);
        HASH_FIND_STR(rt->held, location, o);
        assert_non_null(o);
        assert_true(o->history);
        target_stop(&rt->target);
        target_host_done(h);
        sd_event_unref(h->event);
}

/* Held since the target's first poll ever: history (as a start-up scan finds), after a restart
 * inside its span too; it came back as a fresh arrival, the state saying nothing of it. */
static void test_first_poll_held_survives_restart(void **state) {
        _cleanup_(pipeline_freep) Pipeline *p = NULL, *q = NULL;
        char dir[] = "/tmp/test-remote-XXXXXX";
        const char *old = "http://127.0.0.1:9/d/old.csv";
        TargetHost h = {}, g = {};
        RemoteTarget *rt;
        int tmp;

        assert_non_null(mkdtemp(dir));
        h.state_dir = g.state_dir = dir;
        poll_holds_history(start_url(&p, &h, "complete = \"quiet:1h\";"), old);

        /* A restart: a new host, nothing remembered but the state directory. */
        rt = start_url(&q, &g, "complete = \"quiet:1h\";");
        assert_true(rt->loaded);
        poll_holds_history(rt, old);
        tmp = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(tmp >= 0);
        assert_int_equal(rm_rf_at(tmp, dir + strlen("/tmp/")), 0);
        close(tmp);
}

/* Under "quiet:", an object of which the server tells no version (no ETag, Last-Modified or
 * length: http.c's " -1") is unchanged at every poll: it counts the span after it was first
 * listed, and what it waits for says so. */
static void test_quiet_untagged(void **state) {
        _cleanup_(pipeline_freep) Pipeline *p = NULL;
        TargetHost h = {};
        RemoteTarget *rt = start_url(&p, &h, "complete = \"quiet:1h\";");
        const char *x = "http://127.0.0.1:9/d/x.csv", *why;
        char buf[512];

        rt->poll_started = now_usec(CLOCK_MONOTONIC);
        remote_poll_done(rt, objects(x, " -1"), NULL);
        why = remote_pending(&rt->target, x, buf, sizeof(buf));
        assert_non_null(why);
        assert_non_null(strstr(why, "tells no version"));
        assert_true(rt->told_untagged);
        target_stop(&rt->target);
        target_host_done(&h);
        sd_event_unref(h.event);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_durations_do_not_count),
                cmocka_unit_test(test_other_numbers_do),
                cmocka_unit_test(test_backoff_follows_interval),
                cmocka_unit_test(test_poll_timer_leeway),
                cmocka_unit_test(test_confirmed_during_first_poll),
                cmocka_unit_test(test_flag_location),
                cmocka_unit_test(test_quiet_restless_object),
                cmocka_unit_test(test_first_poll_held_survives_restart),
                cmocka_unit_test(test_quiet_untagged),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
