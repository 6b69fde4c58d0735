/* SPDX-License-Identifier: MIT */
/*
 * The graph of loaded pipelines: task parameters from outputs, inputs with their mappings
 * (fan-ins, aliases, a task reading its own earlier output), the target -> consumer index, and
 * the translation between task instances and input instances in both directions, which must
 * agree: every input instance an instance reads leads back to that instance.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "graph.h"
#include "util/macro.h"
#include "util/strv.h"

static Pipeline *load(const char *name) {
        _cleanup_free_ char *path = NULL;
        Pipeline *p = NULL;
        Diag d = {};

        assert_true(asprintf(&path, CONFIG_TEST_DIR "/good/%s", name) > 0);
        assert_int_equal(config_load_pipeline(path, NULL, &p, &d), 0);
        if (d.n_entries > 0) {
                diag_print(&d, stderr);
                fail_msg("%s: %zu diagnostics", name, d.n_entries);
        }
        diag_done(&d);
        assert_non_null(p);
        return p;
}

static Task *task(const Pipeline *p, const char *name) {
        Task *t = pipeline_find_task(p, name);

        if (!t)
                fail_msg("no task '%s'", name);
        return t;
}

static Target *target(const Pipeline *p, const char *name) {
        Target *t = pipeline_find_target(p, name);

        if (!t)
                fail_msg("no target '%s'", name);
        return t;
}

/* A binding from "name", "value", ... NULL. */
static Binding *binding(const char *name, ...) {
        Binding *b = NULL;
        va_list ap;

        assert_int_equal(binding_new(&b), 0);
        va_start(ap, name);
        for (const char *n = name; n; n = va_arg(ap, const char *)) {
                const char *v = va_arg(ap, const char *);
                assert_int_equal(binding_set(b, n, v), 0);
        }
        va_end(ap);
        return b;
}

/* "day=2026-11-27 | day=2026-11-28": the whole list, so that a mismatch shows both whole. */
static char *bindings_text(Binding * const *l) {
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        assert_non_null(f);
        assert_non_null(l);
        for (size_t i = 0; l[i]; i++) {
                _cleanup_free_ char *one = NULL;

                assert_int_equal(binding_to_string(l[i], &one), 0);
                fprintf(f, "%s%s", i > 0 ? " | " : "", one);
        }
        assert_int_equal(fclose(f), 0);
        return s;
}

static void assert_bindings(Binding * const *l, const char *expected) {
        _cleanup_free_ char *s = bindings_text(l);

        assert_string_equal(s, expected);
}

/* The input's index by name. */
static size_t input_index(const Task *t, const char *name) {
        for (size_t i = 0; i < t->n_inputs; i++)
                if (streq(t->inputs[i].name, name))
                        return i;
        fail_msg("task '%s' has no input '%s'", t->name, name);
        return SIZE_MAX;
}

static void assert_from_input(const Task *t, const char *input, Binding *in,
                              const char *expected) {
        _cleanup_(binding_freep) _unused_ Binding *owned = in;
        _cleanup_(bindings_freep) Binding **l = NULL;

        assert_int_equal(task_instances_from_input(t, input_index(t, input), in, &l), 0);
        assert_bindings(l, expected);
}

static void assert_input_bindings(const Task *t, const char *input, Binding *instance,
                                  const char *expected) {
        _cleanup_(binding_freep) _unused_ Binding *owned = instance;
        _cleanup_(bindings_freep) Binding **l = NULL;

        assert_int_equal(task_input_bindings(t, input_index(t, input), instance, &l), 0);
        assert_bindings(l, expected);
}

static void assert_expr(const TaskInput *in, size_t k, const char *param, const char *text) {
        _cleanup_free_ char *s = NULL;

        assert_true(k < in->n_maps);
        assert_string_equal(in->maps[k].param, param);
        assert_int_equal(expr_to_string(in->maps[k].expr, &s), 0);
        assert_string_equal(s, text);
}

static void assert_param(const Task *t, size_t i, const char *name, ParamType type) {
        assert_true(i < t->n_params);
        assert_string_equal(t->params[i].name, name);
        assert_int_equal(t->params[i].spec.type, type);
}

static void test_rollup_graph(void **state) {
        _cleanup_(pipeline_freep) Pipeline *p = load("rollup.conf");
        Task *count = task(p, "count"), *day = task(p, "day_rollup"),
             *week = task(p, "week_rollup"), *month = task(p, "month_rollup"),
             *annotate = task(p, "annotate");
        Target *logs = target(p, "logs"), *counts = target(p, "counts"),
               *daily = target(p, "daily"), *weekly = target(p, "weekly");
        const TaskInput *in;

        assert_string_equal(p->name, "rollup");
        assert_int_equal(p->n_targets, 6);
        assert_int_equal(p->n_tasks, 5);

        /* A task's parameters are its outputs'. */
        assert_int_equal(count->n_params, 1);
        assert_param(count, 0, "hour", PARAM_HOUR);
        assert_int_equal(day->n_params, 1);
        assert_param(day, 0, "day", PARAM_DATE);
        assert_int_equal(week->n_params, 1);
        assert_param(week, 0, "week", PARAM_WEEK);
        assert_int_equal(month->n_params, 1);
        assert_param(month, 0, "month", PARAM_MONTH);
        assert_int_equal(annotate->n_params, 1);
        assert_param(annotate, 0, "hour", PARAM_HOUR);

        /* Inputs: identity by default, fan-ins where an expansion is. */
        assert_int_equal(count->n_inputs, 1);
        in = &count->inputs[0];
        assert_string_equal(in->name, "logs");
        assert_ptr_equal(in->target, logs);
        assert_false(in->multi);
        assert_false(in->earlier);
        assert_int_equal(in->n_maps, 1);
        assert_expr(in, 0, "hour", "${hour}");

        assert_int_equal(day->n_inputs, 1);
        in = &day->inputs[0];
        assert_string_equal(in->name, "counts");
        assert_ptr_equal(in->target, counts);
        assert_true(in->multi);
        assert_false(in->earlier);
        assert_int_equal(in->n_maps, 1);
        assert_expr(in, 0, "hour", "hours(${day})");
        assert_int_equal(in->line, 18);

        in = &week->inputs[0];
        assert_string_equal(in->name, "daily");
        assert_ptr_equal(in->target, daily);
        assert_true(in->multi);
        assert_false(in->earlier);
        assert_expr(in, 0, "day", "days(${week})");

        in = &month->inputs[0];
        assert_true(in->multi);
        assert_expr(in, 0, "day", "days(${month})");

        /* A truncation is no fan-in: an hour reads one day. */
        assert_int_equal(annotate->n_inputs, 2);
        assert_string_equal(annotate->inputs[0].name, "counts");
        assert_false(annotate->inputs[0].multi);
        in = &annotate->inputs[1];
        assert_string_equal(in->name, "day");
        assert_ptr_equal(in->target, daily);
        assert_false(in->multi);
        assert_false(in->earlier);
        assert_expr(in, 0, "day", "day(${hour})");

        /* Producers and consumers, consumers in task order. */
        assert_null(logs->producer);
        assert_int_equal(logs->n_consumers, 1);
        assert_ptr_equal(logs->consumers[0], count);
        assert_ptr_equal(counts->producer, count);
        assert_int_equal(counts->n_consumers, 2);
        assert_ptr_equal(counts->consumers[0], day);
        assert_ptr_equal(counts->consumers[1], annotate);
        assert_ptr_equal(daily->producer, day);
        assert_int_equal(daily->n_consumers, 3);
        assert_ptr_equal(daily->consumers[0], week);
        assert_ptr_equal(daily->consumers[1], month);
        assert_ptr_equal(daily->consumers[2], annotate);
        assert_ptr_equal(weekly->producer, week);
        assert_int_equal(weekly->n_consumers, 0);
}

static void test_running_graph(void **state) {
        _cleanup_(pipeline_freep) Pipeline *p = load("running.conf");
        Task *running = task(p, "running");
        Target *sales = target(p, "sales"), *total = target(p, "total");

        assert_int_equal(running->n_params, 1);
        assert_param(running, 0, "day", PARAM_DATE);
        assert_int_equal(running->n_outputs, 1);
        assert_ptr_equal(running->outputs[0], total);

        assert_int_equal(running->n_inputs, 2);
        assert_string_equal(running->inputs[0].name, "sales");
        assert_ptr_equal(running->inputs[0].target, sales);
        assert_false(running->inputs[0].multi);
        assert_false(running->inputs[0].earlier);
        assert_expr(&running->inputs[0], 0, "day", "${day}");

        /* Its own output, of the day before: allowed, and marked. */
        assert_string_equal(running->inputs[1].name, "prev");
        assert_ptr_equal(running->inputs[1].target, total);
        assert_false(running->inputs[1].multi);
        assert_true(running->inputs[1].earlier);
        assert_expr(&running->inputs[1], 0, "day", "${day} - 1d");

        /* The task both writes and reads total. */
        assert_ptr_equal(total->producer, running);
        assert_int_equal(total->n_consumers, 1);
        assert_ptr_equal(total->consumers[0], running);
        assert_null(sales->producer);
        assert_int_equal(sales->n_consumers, 1);
        assert_ptr_equal(sales->consumers[0], running);
}

static void test_window_graph(void **state) {
        _cleanup_(pipeline_freep) Pipeline *p = load("window.conf");
        Task *avg = task(p, "average"), *wow = task(p, "week_over_week");
        Target *daily = target(p, "daily");

        assert_int_equal(avg->n_inputs, 2);
        assert_string_equal(avg->inputs[0].name, "today");
        assert_ptr_equal(avg->inputs[0].target, daily);
        assert_false(avg->inputs[0].multi);
        assert_expr(&avg->inputs[0], 0, "day", "${day}");
        assert_string_equal(avg->inputs[1].name, "window");
        assert_ptr_equal(avg->inputs[1].target, daily);
        assert_true(avg->inputs[1].multi);
        assert_false(avg->inputs[1].earlier);
        assert_expr(&avg->inputs[1], 0, "day", "range(${day} - 6d, ${day})");

        assert_int_equal(wow->n_inputs, 2);
        assert_string_equal(wow->inputs[0].name, "daily");
        assert_string_equal(wow->inputs[1].name, "last_week");
        assert_ptr_equal(wow->inputs[1].target, daily);
        assert_false(wow->inputs[1].multi);
        /* Reading back in time is "earlier" only for the task's own outputs. */
        assert_false(wow->inputs[1].earlier);

        /* Two inputs of one task on one target: the task is listed once. */
        assert_null(daily->producer);
        assert_int_equal(daily->n_consumers, 2);
        assert_ptr_equal(daily->consumers[0], avg);
        assert_ptr_equal(daily->consumers[1], wow);
}

static void test_hosts_graph(void **state) {
        _cleanup_(pipeline_freep) Pipeline *p = load("hosts.conf");
        Task *recent = task(p, "recent"), *zone = task(p, "zone_rollup");

        /* In the order of the output's template. */
        assert_int_equal(recent->n_params, 2);
        assert_param(recent, 0, "host", PARAM_STRING);
        assert_param(recent, 1, "day", PARAM_DATE);
        assert_int_equal(recent->inputs[0].n_maps, 2);
        assert_expr(&recent->inputs[0], 0, "host", "${host}");
        assert_expr(&recent->inputs[0], 1, "day", "range(${day} - 2d, ${day})");
        assert_true(recent->inputs[0].multi);
        {
                _cleanup_(binding_freep) Binding *b = NULL;
                _cleanup_free_ char *s = NULL, *id = NULL;

                /* Shown as the unit name has them, not as the binding keeps them (by name). */
                assert_int_equal(binding_new(&b), 0);
                assert_int_equal(binding_set(b, "day", "2026-12-07"), 0);
                assert_int_equal(binding_set(b, "host", "web1"), 0);
                assert_int_equal(task_params_to_string(recent, b, &s), 0);
                assert_string_equal(s, "host=web1 day=2026-12-07");
                assert_int_equal(task_instance_id(recent, b, &id), 0);
                assert_string_equal(id, "web1-2026\\x2d12\\x2d07");
        }

        assert_int_equal(zone->n_params, 2);
        assert_param(zone, 0, "zone", PARAM_ENUM);
        assert_param(zone, 1, "day", PARAM_DATE);
        assert_expr(&zone->inputs[0], 0, "zone", "${zone}");
        assert_expr(&zone->inputs[0], 1, "hour", "hours(${day})");
}

static void test_input_locations(void **state) {
        _cleanup_(pipeline_freep) Pipeline *rollup = load("rollup.conf"),
                                           *running = load("running.conf"),
                                           *window = load("window.conf");
        _cleanup_(binding_freep) Binding *d = binding("day", "2026-11-27", NULL),
                                         *w = binding("week", "2026-W53", NULL),
                                         *h = binding("hour", "2026-11-27T13", NULL),
                                         *m = binding("day", "2026-03-02", NULL);
        _cleanup_strv_free_ char **hours = NULL, **days = NULL, **prev = NULL, **win = NULL,
                                 **one = NULL, **sales = NULL;
        Task *day = task(rollup, "day_rollup");

        assert_int_equal(task_input_locations(day, 0, d, &hours), 0);
        assert_int_equal(strv_length(hours), 24);
        for (int i = 0; i < 24; i++) {
                _cleanup_free_ char *expected = NULL;

                assert_true(asprintf(&expected, "/srv/rollup/counts/2026-11-27T%02d.tsv", i) > 0);
                assert_string_equal(hours[i], expected);
        }

        assert_int_equal(task_input_locations(task(rollup, "week_rollup"), 0, w, &days), 0);
        assert_int_equal(strv_length(days), 7);
        assert_string_equal(days[0], "/srv/rollup/daily/2026-12-28.tsv");
        assert_string_equal(days[3], "/srv/rollup/daily/2026-12-31.tsv");
        assert_string_equal(days[4], "/srv/rollup/daily/2027-01-01.tsv");
        assert_string_equal(days[6], "/srv/rollup/daily/2027-01-03.tsv");

        assert_int_equal(task_input_locations(task(rollup, "annotate"), 1, h, &one), 0);
        assert_int_equal(strv_length(one), 1);
        assert_string_equal(one[0], "/srv/rollup/daily/2026-11-27.tsv");

        assert_int_equal(task_input_locations(task(running, "running"), 0, d, &sales), 0);
        assert_int_equal(strv_length(sales), 1);
        assert_string_equal(sales[0], "/srv/running/sales/2026-11-27.tsv");
        assert_int_equal(task_input_locations(task(running, "running"), 1, d, &prev), 0);
        assert_int_equal(strv_length(prev), 1);
        assert_string_equal(prev[0], "/srv/running/total/2026-11-26.tsv");

        assert_int_equal(task_input_locations(task(window, "average"), 1, m, &win), 0);
        assert_int_equal(strv_length(win), 7);
        assert_string_equal(win[0], "/srv/window/daily/2026-02-24.tsv");
        assert_string_equal(win[4], "/srv/window/daily/2026-02-28.tsv");
        assert_string_equal(win[5], "/srv/window/daily/2026-03-01.tsv");
        assert_string_equal(win[6], "/srv/window/daily/2026-03-02.tsv");
}

static void test_input_bindings(void **state) {
        _cleanup_(pipeline_freep) Pipeline *rollup = load("rollup.conf"),
                                           *running = load("running.conf"),
                                           *hosts = load("hosts.conf");
        _cleanup_(binding_freep) Binding *wrong = binding("week", "2026-W48", NULL),
                                         *bad = binding("day", "2026-02-30", NULL);
        _cleanup_(bindings_freep) Binding **l = NULL, **l2 = NULL;
        Task *day = task(rollup, "day_rollup");

        assert_input_bindings(task(running, "running"), "prev",
                              binding("day", "2026-01-01", NULL), "day=2025-12-31");
        assert_input_bindings(task(rollup, "month_rollup"), "daily",
                              binding("month", "2026-02", NULL),
                              "day=2026-02-01 | day=2026-02-02 | day=2026-02-03 | "
                              "day=2026-02-04 | day=2026-02-05 | day=2026-02-06 | "
                              "day=2026-02-07 | day=2026-02-08 | day=2026-02-09 | "
                              "day=2026-02-10 | day=2026-02-11 | day=2026-02-12 | "
                              "day=2026-02-13 | day=2026-02-14 | day=2026-02-15 | "
                              "day=2026-02-16 | day=2026-02-17 | day=2026-02-18 | "
                              "day=2026-02-19 | day=2026-02-20 | day=2026-02-21 | "
                              "day=2026-02-22 | day=2026-02-23 | day=2026-02-24 | "
                              "day=2026-02-25 | day=2026-02-26 | day=2026-02-27 | "
                              "day=2026-02-28");
        /* The other parameter passes through into every member of the fan-in. */
        assert_input_bindings(task(hosts, "recent"), "raw",
                              binding("host", "web 1", "day", "2026-01-01", NULL),
                              "day=2025-12-30 host=web 1 | day=2025-12-31 host=web 1 | "
                              "day=2026-01-01 host=web 1");
        assert_input_bindings(task(hosts, "zone_rollup"), "region",
                              binding("zone", "us", "day", "2026-11-27", NULL),
                              "hour=2026-11-27T00 zone=us | hour=2026-11-27T01 zone=us | "
                              "hour=2026-11-27T02 zone=us | hour=2026-11-27T03 zone=us | "
                              "hour=2026-11-27T04 zone=us | hour=2026-11-27T05 zone=us | "
                              "hour=2026-11-27T06 zone=us | hour=2026-11-27T07 zone=us | "
                              "hour=2026-11-27T08 zone=us | hour=2026-11-27T09 zone=us | "
                              "hour=2026-11-27T10 zone=us | hour=2026-11-27T11 zone=us | "
                              "hour=2026-11-27T12 zone=us | hour=2026-11-27T13 zone=us | "
                              "hour=2026-11-27T14 zone=us | hour=2026-11-27T15 zone=us | "
                              "hour=2026-11-27T16 zone=us | hour=2026-11-27T17 zone=us | "
                              "hour=2026-11-27T18 zone=us | hour=2026-11-27T19 zone=us | "
                              "hour=2026-11-27T20 zone=us | hour=2026-11-27T21 zone=us | "
                              "hour=2026-11-27T22 zone=us | hour=2026-11-27T23 zone=us");

        /* The running total of the first day there is reads no earlier total. */
        assert_input_bindings(task(running, "running"), "prev",
                              binding("day", "0001-01-01", NULL), "");

        /* An instance without the parameter, or with a value that is not one. */
        assert_int_equal(task_input_bindings(day, 0, wrong, &l), -ENOKEY);
        assert_null(l);
        assert_int_equal(task_input_bindings(day, 0, bad, &l2), -EINVAL);
        assert_null(l2);
}

static void test_instances_from_input(void **state) {
        _cleanup_(pipeline_freep) Pipeline *rollup = load("rollup.conf"),
                                           *running = load("running.conf"),
                                           *window = load("window.conf"),
                                           *hosts = load("hosts.conf");
        _cleanup_(binding_freep) Binding *wrong = binding("day", "2026-11-27", NULL);
        _cleanup_(bindings_freep) Binding **l = NULL;
        Task *sum = task(running, "running"), *avg = task(window, "average");

        /* One hour of counts belongs to exactly one day's roll-up. */
        assert_from_input(task(rollup, "day_rollup"), "counts",
                          binding("hour", "2026-11-27T13", NULL), "day=2026-11-27");
        assert_from_input(task(rollup, "day_rollup"), "counts",
                          binding("hour", "2026-11-27T00", NULL), "day=2026-11-27");
        assert_from_input(task(rollup, "day_rollup"), "counts",
                          binding("hour", "2026-11-27T23", NULL), "day=2026-11-27");
        assert_from_input(task(rollup, "count"), "logs", binding("hour", "2026-11-27T13", NULL),
                          "hour=2026-11-27T13");
        assert_from_input(task(rollup, "week_rollup"), "daily",
                          binding("day", "2027-01-01", NULL), "week=2026-W53");
        assert_from_input(task(rollup, "month_rollup"), "daily",
                          binding("day", "2024-02-29", NULL), "month=2024-02");
        /* A day feeds every hour it annotates. */
        assert_from_input(task(rollup, "annotate"), "day", binding("day", "2026-11-27", NULL),
                          "hour=2026-11-27T00 | hour=2026-11-27T01 | hour=2026-11-27T02 | "
                          "hour=2026-11-27T03 | hour=2026-11-27T04 | hour=2026-11-27T05 | "
                          "hour=2026-11-27T06 | hour=2026-11-27T07 | hour=2026-11-27T08 | "
                          "hour=2026-11-27T09 | hour=2026-11-27T10 | hour=2026-11-27T11 | "
                          "hour=2026-11-27T12 | hour=2026-11-27T13 | hour=2026-11-27T14 | "
                          "hour=2026-11-27T15 | hour=2026-11-27T16 | hour=2026-11-27T17 | "
                          "hour=2026-11-27T18 | hour=2026-11-27T19 | hour=2026-11-27T20 | "
                          "hour=2026-11-27T21 | hour=2026-11-27T22 | hour=2026-11-27T23");

        /* The running total: its own output feeds the next day, the sales the same day. */
        assert_from_input(sum, "prev", binding("day", "2026-11-27", NULL), "day=2026-11-28");
        assert_from_input(sum, "prev", binding("day", "2026-12-31", NULL), "day=2027-01-01");
        assert_from_input(sum, "sales", binding("day", "2026-11-27", NULL), "day=2026-11-27");
        /* The last day there is feeds no later instance. */
        assert_from_input(sum, "prev", binding("day", "9999-12-31", NULL), "");

        /* A day in a seven-day window is in seven windows. */
        assert_from_input(avg, "window", binding("day", "2026-11-27", NULL),
                          "day=2026-11-27 | day=2026-11-28 | day=2026-11-29 | day=2026-11-30 | "
                          "day=2026-12-01 | day=2026-12-02 | day=2026-12-03");
        assert_from_input(avg, "today", binding("day", "2026-11-27", NULL), "day=2026-11-27");
        assert_from_input(task(window, "week_over_week"), "last_week",
                          binding("day", "2026-12-31", NULL), "day=2027-01-07");
        assert_from_input(task(window, "week_over_week"), "daily",
                          binding("day", "2026-12-31", NULL), "day=2026-12-31");

        /* Two parameters: the window over one, the other passes through. */
        assert_from_input(task(hosts, "recent"), "raw",
                          binding("host", "web 1", "day", "2026-12-31", NULL),
                          "day=2026-12-31 host=web 1 | day=2027-01-01 host=web 1 | "
                          "day=2027-01-02 host=web 1");
        assert_from_input(task(hosts, "zone_rollup"), "region",
                          binding("zone", "eu", "hour", "2027-01-01T00", NULL),
                          "day=2027-01-01 zone=eu");

        /* A parameter read twice: only the instances on the diagonal. */
        assert_from_input(task(hosts, "self"), "pair", binding("a", "x", "b", "x", NULL),
                          "host=x");
        assert_from_input(task(hosts, "self"), "pair", binding("a", "x", "b", "y", NULL), "");
        /* An input binding with a parameter its target does not have. */
        assert_from_input(task(hosts, "self"), "pair",
                          binding("a", "x", "b", "x", "c", "x", NULL), "");

        /* An input binding without the target's parameter. */
        assert_int_equal(task_instances_from_input(task(rollup, "day_rollup"), 0, wrong, &l),
                         -ENOKEY);
        assert_null(l);
}

/* How many instances of a task the input instance b of its first input leads to. */
static size_t instances_from(const Task *t, Binding *b) {
        _cleanup_(binding_freep) _unused_ Binding *owned = b;
        _cleanup_(bindings_freep) Binding **l = NULL;
        size_t n = 0;

        assert_int_equal(task_instances_from_input(t, 0, b, &l), 0);
        while (l[n])
                n++;
        return n;
}

/*
 * Constants: an instance with another value concerns no task instance (an arrival of source=api
 * runs nothing that reads source=web), one with the constant's value is mapped as the rest of
 * the input says, and the forward direction puts the constant in.
 */
static void test_constants(void **state) {
        _cleanup_(pipeline_freep) Pipeline *p = load("constants.conf");
        Task *web = task(p, "web_daily"), *week = task(p, "web_week"), *home = task(p, "home"),
             *base = task(p, "baseline");
        Target *raw = target(p, "raw");
        _cleanup_(binding_freep) Binding *partial = binding("day", "2026-11-27", NULL);
        _cleanup_(bindings_freep) Binding **l = NULL;
        _cleanup_strv_free_ char **locs = NULL;

        /* The constants are the parameters' own, typed by them and printed as written. */
        assert_int_equal(web->n_params, 1);
        assert_param(web, 0, "day", PARAM_DATE);
        assert_expr(&web->inputs[0], 0, "source", "web");
        assert_int_equal(web->inputs[0].maps[0].expr->type, PARAM_ENUM);
        assert_expr(&web->inputs[0], 1, "day", "${day}");
        assert_false(web->inputs[0].multi);
        assert_expr(&week->inputs[1], 0, "year", "2026");
        assert_int_equal(week->inputs[1].maps[0].expr->type, PARAM_INT);
        assert_expr(&home->inputs[0], 0, "site", "'home page'");
        assert_true(home->inputs[0].multi);
        assert_int_equal(base->n_params, 0);
        assert_expr(&base->inputs[0], 0, "source", "\"api\"");
        assert_expr(&base->inputs[0], 1, "day", "2026-01-01");

        /* The index from the target lists every task that reads it, whatever the constant: the
         * mapping, one comparison, sorts them out per arrival. */
        assert_int_equal(raw->n_consumers, 3);

        assert_from_input(web, "raw", binding("source", "api", "day", "2026-11-27", NULL), "");
        assert_from_input(web, "raw", binding("source", "web", "day", "2026-11-27", NULL),
                          "day=2026-11-27");
        assert_from_input(week, "raw", binding("source", "api", "day", "2026-11-27", NULL), "");
        assert_from_input(week, "raw", binding("source", "web", "day", "2026-11-27", NULL),
                          "day=2026-11-27 | day=2026-11-28 | day=2026-11-29 | day=2026-11-30 | "
                          "day=2026-12-01 | day=2026-12-02 | day=2026-12-03");
        assert_from_input(week, "calendar", binding("year", "2025", "day", "2026-11-27", NULL),
                          "");
        assert_from_input(week, "calendar", binding("year", "2026", "day", "2026-11-27", NULL),
                          "day=2026-11-27");
        assert_from_input(home, "sites", binding("site", "home", "hour", "2026-11-27T13", NULL),
                          "");
        assert_from_input(home, "sites",
                          binding("site", "home page", "hour", "2026-11-27T13", NULL),
                          "day=2026-11-27");
        /* No parameters: its one instance (printed as nothing, so counted), for the one input
         * instance it reads. */
        assert_int_equal(instances_from(base, binding("source", "api", "day", "2026-01-01", NULL)),
                         1);
        assert_int_equal(instances_from(base, binding("source", "api", "day", "2026-01-02", NULL)),
                         0);
        assert_int_equal(instances_from(base, binding("source", "web", "day", "2026-01-01", NULL)),
                         0);

        assert_input_bindings(web, "raw", binding("day", "2026-11-27", NULL),
                              "day=2026-11-27 source=web");
        assert_input_bindings(week, "raw", binding("day", "2026-11-27", NULL),
                              "day=2026-11-21 source=web | day=2026-11-22 source=web | "
                              "day=2026-11-23 source=web | day=2026-11-24 source=web | "
                              "day=2026-11-25 source=web | day=2026-11-26 source=web | "
                              "day=2026-11-27 source=web");
        assert_input_bindings(base, "raw", binding(NULL), "day=2026-01-01 source=api");
        assert_int_equal(task_input_locations(home, 0, partial, &locs), 0);
        assert_int_equal(strv_length(locs), 24);
        assert_string_equal(locs[0], "/srv/const/sites/home page/2026-11-27T00.log");

        /* An input instance without the constant's parameter. */
        assert_int_equal(task_instances_from_input(web, 0, partial, &l), -ENOKEY);
        assert_null(l);
}

/*
 * all(): a task instance reads one input instance per value of the enum, in the enum's order,
 * and each of them leads back to it: the one instance of a task without parameters, or the
 * instance the input's other bindings name. A value outside the enum concerns none.
 */
static void test_all(void **state) {
        _cleanup_(pipeline_freep) Pipeline *p = load("all.conf");
        Task *report = task(p, "report"), *day = task(p, "day_report"),
             *week = task(p, "web_week");
        _cleanup_(binding_freep) Binding *none = binding(NULL),
                                         *d27 = binding("day", "2026-11-27", NULL);
        _cleanup_(bindings_freep) Binding **l = NULL;
        _cleanup_strv_free_ char **locs = NULL, **dlocs = NULL;
        _cleanup_free_ char *id = NULL, *unit = NULL;

        assert_int_equal(report->n_params, 0);
        assert_expr(&report->inputs[0], 0, "sample", "all()");
        assert_int_equal(report->inputs[0].maps[0].expr->type, PARAM_ENUM);
        assert_true(report->inputs[0].multi);
        assert_false(report->inputs[0].earlier);
        assert_int_equal(target(p, "counts")->n_consumers, 1);
        assert_ptr_equal(target(p, "counts")->consumers[0], report);

        /* Forward: every sample, in the enum's order. */
        assert_input_bindings(report, "counts", binding(NULL),
                              "sample=A | sample=B | sample=C");
        assert_int_equal(task_input_locations(report, 0, none, &locs), 0);
        assert_int_equal(strv_length(locs), 3);
        assert_string_equal(locs[0], "/srv/all/counts/A.tsv");
        assert_string_equal(locs[2], "/srv/all/counts/C.tsv");
        /* Inverse: whichever sample arrives, the one instance, named by nothing. */
        assert_int_equal(instances_from(report, binding("sample", "A", NULL)), 1);
        assert_int_equal(instances_from(report, binding("sample", "C", NULL)), 1);
        assert_int_equal(instances_from(report, binding("sample", "D", NULL)), 0);
        assert_int_equal(task_instance_id(report, none, &id), 0);
        assert_string_equal(id, "");
        assert_int_equal(task_unit_name(report, id, &unit), 0);
        assert_string_equal(unit, "sluice-all-report.service");

        /* Beside the identity: the day's instance, reading the day of every sample (B first,
         * as the enum has it). */
        assert_expr(&day->inputs[0], 0, "sample", "all()");
        assert_expr(&day->inputs[0], 1, "day", "${day}");
        assert_true(day->inputs[0].multi);
        assert_from_input(day, "d", binding("sample", "A", "day", "2026-11-27", NULL),
                          "day=2026-11-27");
        assert_from_input(day, "d", binding("sample", "B", "day", "2026-11-28", NULL),
                          "day=2026-11-28");
        assert_from_input(day, "d", binding("sample", "C", "day", "2026-11-28", NULL), "");
        assert_input_bindings(day, "d", binding("day", "2026-11-27", NULL),
                              "day=2026-11-27 sample=B | day=2026-11-27 sample=A");
        assert_int_equal(task_input_locations(day, 0, d27, &dlocs), 0);
        assert_int_equal(strv_length(dlocs), 2);
        assert_string_equal(dlocs[0], "/srv/all/daily/B/2026-11-27.tsv");

        /* Beside a constant and a window: the constant first, then the window's inverse. */
        assert_from_input(week, "raw",
                          binding("source", "api", "lane", "1", "day", "2026-11-27", NULL), "");
        assert_from_input(week, "raw",
                          binding("source", "web", "lane", "2", "day", "2026-11-27", NULL),
                          "day=2026-11-27 | day=2026-11-28 | day=2026-11-29 | day=2026-11-30 | "
                          "day=2026-12-01 | day=2026-12-02 | day=2026-12-03");
        assert_int_equal(task_input_bindings(week, 0, d27, &l), 0);
        for (size_t i = 0; i < 14; i++)
                assert_non_null(l[i]);
        assert_null(l[14]);
}

/* Sample values of a parameter: around the end of a year with 53 ISO weeks, and a leap day. */
static char **samples(const ParamSpec *spec) {
        static const char * const dates[] = { "2024-02-29", "2026-12-31", "2027-01-01", NULL };
        static const char * const hours[] = { "2026-12-31T23", "2027-01-01T00", NULL };
        static const char * const weeks[] = { "2026-W53", "2027-W01", NULL };
        static const char * const months[] = { "2024-02", "2026-12", NULL };
        static const char * const ints[] = { "-1", "0", "7", NULL };
        static const char * const strings[] = { "web 1", "x", NULL };
        const char * const *list;
        char **l = NULL;

        switch (spec->type) {
        case PARAM_DATE:
                list = dates;
                break;
        case PARAM_HOUR:
                list = hours;
                break;
        case PARAM_WEEK:
                list = weeks;
                break;
        case PARAM_MONTH:
                list = months;
                break;
        case PARAM_INT:
                list = ints;
                break;
        case PARAM_ENUM:
                assert_int_equal(strv_copy(spec->enum_values, &l), 0);
                return l;
        default:
                list = strings;
        }
        for (; *list; list++)
                assert_int_equal(strv_extend(&l, *list), 0);
        return l;
}

/* Every combination of sample values of the parameters, as bindings. */
static void combinations(const char * const *names, const ParamSpec * const *specs, size_t n,
                         const Binding *base, Binding ***out, size_t *n_out) {
        _cleanup_strv_free_ char **values = NULL;

        if (n == 0) {
                Binding *b = NULL;

                assert_int_equal(binding_copy(base, &b), 0);
                *out = reallocarray(*out, *n_out + 2, sizeof(Binding *));
                assert_non_null(*out);
                (*out)[(*n_out)++] = b;
                (*out)[*n_out] = NULL;
                return;
        }
        values = samples(specs[0]);
        STRV_FOREACH(v, values) {
                _cleanup_(binding_freep) Binding *b = NULL;

                assert_int_equal(binding_copy(base, &b), 0);
                assert_int_equal(binding_set(b, names[0], *v), 0);
                combinations(names + 1, specs + 1, n - 1, b, out, n_out);
        }
}

static bool contains(Binding * const *l, const Binding *b) {
        for (size_t i = 0; l[i]; i++)
                if (binding_equal(l[i], b))
                        return true;
        return false;
}

static void fail_with(const char *what, const Task *t, const TaskInput *in, const Binding *a,
                      const Binding *b) {
        _cleanup_free_ char *sa = NULL, *sb = NULL;

        (void) binding_to_string(a, &sa);
        (void) binding_to_string(b, &sb);
        fail_msg("task '%s', input '%s': %s: %s / %s", t->name, in->name, what, strna(sa),
                 strna(sb));
}

/*
 * For each instance: every input instance it reads leads back to it, and its locations are
 * those instances formatted. For each input instance: every task instance it leads to reads it.
 */
static void check_task_round_trip(const Task *t) {
        _cleanup_(bindings_freep) Binding **instances = NULL;
        const char *names[t->n_params ?: 1];
        const ParamSpec *specs[t->n_params ?: 1];
        size_t n = 0, checked = 0;

        for (size_t i = 0; i < t->n_params; i++) {
                names[i] = t->params[i].name;
                specs[i] = &t->params[i].spec;
        }
        combinations(names, specs, t->n_params, NULL, &instances, &n);
        assert_true(n > 0);

        for (size_t i = 0; i < t->n_inputs; i++) {
                const TaskInput *in = &t->inputs[i];
                const Template *tp = in->target->template;
                _cleanup_(bindings_freep) Binding **arrivals = NULL;
                const char *inames[tp->n_params ?: 1];
                const ParamSpec *ispecs[tp->n_params ?: 1];
                size_t n_arrivals = 0;

                for (size_t k = 0; k < n; k++) {
                        _cleanup_(bindings_freep) Binding **reads = NULL;
                        _cleanup_strv_free_ char **locations = NULL;
                        size_t n_reads = 0;

                        assert_int_equal(task_input_bindings(t, i, instances[k], &reads), 0);
                        assert_int_equal(task_input_locations(t, i, instances[k], &locations),
                                         0);
                        for (Binding **r = reads; *r; r++, n_reads++) {
                                _cleanup_(bindings_freep) Binding **back = NULL;
                                _cleanup_(binding_freep) Binding *matched = NULL;

                                assert_int_equal(task_instances_from_input(t, i, *r, &back), 0);
                                if (!contains(back, instances[k]))
                                        fail_with("the instance is not among those its input "
                                                  "leads to",
                                                  t, in, instances[k], *r);
                                /* The location parses back into the same input instance. */
                                assert_non_null(locations[n_reads]);
                                assert_int_equal(template_match(tp, locations[n_reads],
                                                                &matched),
                                                 1);
                                assert_true(binding_equal(matched, *r));
                                checked++;
                        }
                        assert_int_equal(strv_length(locations), n_reads);
                        assert_true(n_reads > 0);
                        if (!in->multi)
                                assert_int_equal(n_reads, 1);
                }

                for (size_t k = 0; k < tp->n_params; k++) {
                        inames[k] = tp->params[k].name;
                        ispecs[k] = &tp->params[k].spec;
                }
                combinations(inames, ispecs, tp->n_params, NULL, &arrivals, &n_arrivals);
                for (size_t k = 0; k < n_arrivals; k++) {
                        _cleanup_(bindings_freep) Binding **fed = NULL;

                        assert_int_equal(task_instances_from_input(t, i, arrivals[k], &fed), 0);
                        assert_non_null(fed);
                        for (Binding **f = fed; *f; f++) {
                                _cleanup_(bindings_freep) Binding **reads = NULL;

                                assert_int_equal(task_input_bindings(t, i, *f, &reads), 0);
                                if (!contains(reads, arrivals[k]))
                                        fail_with("an instance the input leads to does not "
                                                  "read it",
                                                  t, in, *f, arrivals[k]);
                                checked++;
                        }
                }
        }
        assert_true(checked > 0);
}

static void test_round_trip(void **state) {
        static const char * const files[] = {
                "rollup.conf", "running.conf", "window.conf", "hosts.conf", "chain.conf",
                "constants.conf", "all.conf",
        };

        for (size_t f = 0; f < ELEMENTSOF(files); f++) {
                _cleanup_(pipeline_freep) Pipeline *p = load(files[f]);

                for (size_t i = 0; i < p->n_tasks; i++)
                        check_task_round_trip(p->tasks[i]);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rollup_graph),
                cmocka_unit_test(test_running_graph),
                cmocka_unit_test(test_window_graph),
                cmocka_unit_test(test_hosts_graph),
                cmocka_unit_test(test_input_locations),
                cmocka_unit_test(test_input_bindings),
                cmocka_unit_test(test_instances_from_input),
                cmocka_unit_test(test_constants),
                cmocka_unit_test(test_all),
                cmocka_unit_test(test_round_trip),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
