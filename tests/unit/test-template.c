/* SPDX-License-Identifier: MIT */
/*
 * Templates: what parses and with which message it fails, exact anchored matching (one
 * canonical split, no partial matches, nothing across '/' but a path tail), and formatting
 * that can never produce a name outside the template's directories.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "binding.h"
#include "template.h"
#include "util/macro.h"

static Template *parse_ok(const char *s) {
        Template *t = NULL;
        char *err = NULL;

        assert_int_equal(template_parse(s, &t, &err), 0);
        assert_null(err);
        assert_non_null(t);
        return t;
}

/* expected_error NULL: any message, as long as there is one. */
static void parse_fails(const char *s, const char *expected_error) {
        _cleanup_free_ char *err = NULL;
        Template *t = NULL;

        assert_int_equal(template_parse(s, &t, &err), -EINVAL);
        assert_null(t);                                         /* ret_ untouched */
        assert_non_null(err);
        if (expected_error)
                assert_string_equal(err, expected_error);
}

static char *binding_text(const Binding *b) {
        char *s = NULL;

        assert_int_equal(binding_to_string(b, &s), 0);
        return s;
}

/*
 * Matches name against template; expected is the binding as "k=v k=v" (sorted by name), or
 * NULL when the name must not match. A match must format back to the same name.
 */
static void assert_match(const char *template, const char *name, const char *expected) {
        _cleanup_(template_freep) Template *t = parse_ok(template);
        _cleanup_(binding_freep) Binding *b = NULL;
        _cleanup_free_ char *text = NULL, *formatted = NULL;

        if (!expected) {
                assert_int_equal(template_match(t, name, &b), 0);
                assert_null(b);                                 /* ret_ untouched */
                return;
        }
        assert_int_equal(template_match(t, name, &b), 1);
        assert_non_null(b);
        text = binding_text(b);
        assert_string_equal(text, expected);
        assert_int_equal(template_format(t, b, &formatted), 0);
        assert_string_equal(formatted, name);
}

static void assert_format(const char *template, const char *expected, int expected_r, ...) {
        _cleanup_(template_freep) Template *t = parse_ok(template);
        _cleanup_(binding_freep) Binding *b = NULL;
        _cleanup_free_ char *s = NULL;
        const char *k;
        va_list ap;

        assert_int_equal(binding_new(&b), 0);
        va_start(ap, expected_r);
        while ((k = va_arg(ap, const char *))) {
                const char *v = va_arg(ap, const char *);

                assert_int_equal(binding_set(b, k, v), 0);
        }
        va_end(ap);

        assert_int_equal(template_format(t, b, &s), expected_r);
        if (expected_r < 0) {
                assert_null(s);                                 /* ret_ untouched */
                return;
        }
        assert_string_equal(s, expected);
}

static void test_parse_structure(void **state) {
        _cleanup_(template_freep) Template *t = parse_ok("/logs/{day:date}/{name}.log");
        const TemplateParam *p;

        assert_string_equal(t->text, "/logs/{day:date}/{name}.log");
        assert_int_equal(t->n_params, 2);
        assert_int_equal(t->n_components, 4);
        assert_true(template_component_is_literal(t, 0));
        assert_string_equal(template_component_literal(t, 0), "");
        assert_true(template_component_is_literal(t, 1));
        assert_string_equal(template_component_literal(t, 1), "logs");
        assert_false(template_component_is_literal(t, 2));
        assert_false(template_component_is_literal(t, 3));
        assert_false(template_has_path_tail(t));

        p = template_find_param(t, "day");
        assert_non_null(p);
        assert_string_equal(p->name, "day");
        assert_int_equal(p->spec.type, PARAM_DATE);
        p = template_find_param(t, "name");
        assert_non_null(p);
        assert_int_equal(p->spec.type, PARAM_STRING);
        assert_null(template_find_param(t, "nope"));
        assert_null(template_find_param(t, "da"));
}

static void test_parse_good(void **state) {
        static const char * const good[] = {
                "/logs/x.log",
                "/",
                "",
                "relative/{a}",
                "/logs/{day:date}/{name}.log",
                "/x/{d:date}{h}",                       /* date is fixed width */
                "/x/{d:date}{h:hour}{m:month}{w:week}",
                "/x/{a}-{b}.log",
                "/x/{a}_{b:int}_{c:enum(x,y)}",
                "/{d:date}/{d}.tsv",
                "/{d:date}/{d:date}.tsv",               /* same type again is fine */
                "/{a}/{a}",
                "/logs/{name:path}.log",
                "/logs/{day:date}/{rest:path}",
                "{p:path}",
                "/x/{A_1}/{_b}",
                "/x/{a:string}",
                "/x/{e:enum(a b,c.d)}.log",
                "/x//y",
                "/x/../{a}",                    /* the template is trusted; values are not */
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_(template_freep) Template *t = parse_ok(good[i]);

                assert_string_equal(t->text, good[i]);
        }
}

static void test_parse_types(void **state) {
        _cleanup_(template_freep) Template *t =
                parse_ok("/{d:date}/{d}-{n:int}-{e:enum(a,b)}/{h:hour}{rest:path}");
        const TemplateParam *d = template_find_param(t, "d"), *e = template_find_param(t, "e"),
                            *rest = template_find_param(t, "rest");

        assert_int_equal(t->n_params, 5);
        /* An untyped use of a typed name keeps the type. */
        assert_int_equal(d->spec.type, PARAM_DATE);
        assert_int_equal(template_find_param(t, "n")->spec.type, PARAM_INT);
        assert_int_equal(e->spec.type, PARAM_ENUM);
        assert_string_equal(e->spec.enum_values[0], "a");
        assert_string_equal(e->spec.enum_values[1], "b");
        assert_null(e->spec.enum_values[2]);
        assert_int_equal(template_find_param(t, "h")->spec.type, PARAM_HOUR);
        assert_int_equal(rest->spec.type, PARAM_PATH);
        assert_true(template_has_path_tail(t));
}

static void test_parse_errors(void **state) {
        parse_fails("/x/{a", "unterminated '{' at column 4");
        parse_fails("/x/{a/b}", "unterminated '{' at column 4");
        parse_fails("{a{b}", "unterminated '{' at column 1");
        parse_fails("/x/{", "unterminated '{' at column 4");
        parse_fails("/x/a}", "unbalanced '}' at column 5");
        parse_fails("/x/{a}}", "unbalanced '}' at column 7");
        parse_fails("}", "unbalanced '}' at column 1");
        parse_fails("/x/{1x}", "bad parameter name '{1x}' (letters, digits and '_')");
        parse_fails("/x/{a-b}", "bad parameter name '{a-b}' (letters, digits and '_')");
        parse_fails("/x/{}", "bad parameter name '{}' (letters, digits and '_')");
        parse_fails("/x/{:date}", "bad parameter name '{:date}' (letters, digits and '_')");
        parse_fails("/x/{a b}", "bad parameter name '{a b}' (letters, digits and '_')");
        parse_fails("/x/{a}{b}",
                    "'{a}' is directly followed by '{b}': put a literal between them, or the "
                    "split is ambiguous");
        parse_fails("/x/{a:int}{b:date}",
                    "'{a}' is directly followed by '{b}': put a literal between them, or the "
                    "split is ambiguous");
        parse_fails("/x/{a}_{a}",
                    "'{a}' appears twice between two '/'; it may appear once per path "
                    "component");
        parse_fails("/x/{a:date}{a}",
                    "'{a}' appears twice between two '/'; it may appear once per path "
                    "component");
        parse_fails("/{a:date}/{a:int}", "'{a:int}' was declared with another type before");
        parse_fails("/{a}/{a:date}", "'{a:date}' was declared with another type before");
        parse_fails("/{e:enum(a,b)}/{e:enum(b,a)}",
                    "'{e:enum(b,a)}' was declared with another type before");
        parse_fails("/x/{p:path}/x",
                    "'{p:path}' may only be in the last component (after the last '/')");
        parse_fails("{p:path}/x",
                    "'{p:path}' may only be in the last component (after the last '/')");
        parse_fails("/x/{p:path}{q}",
                    "'{p}' is directly followed by '{q}': put a literal between them, or the "
                    "split is ambiguous");
        parse_fails("/x/{a:bogus}",
                    "'{a:bogus}': unknown parameter type (expected string, int, date, hour, "
                    "month, week, path or enum(...))");
        parse_fails("/x/{a:}",
                    "'{a:}': unknown parameter type (expected string, int, date, hour, month, "
                    "week, path or enum(...))");
        parse_fails("/x/{a:enum}", "'{a:enum}': enum needs its values: enum(a,b,...)");
        parse_fails("/x/{a:enum()}",
                    "'{a:enum()}': enum values must be non-empty and contain no '/', ',', ')', "
                    "braces or control characters");
        parse_fails("/x/{a:enum(a,a)}", "'{a:enum(a,a)}': enum lists a value twice");
        parse_fails("/x/{a:date(x)}", "'{a:date(x)}': only enum takes values in parentheses");
}

static void test_parse_limits(void **state) {
        char big[4200], params[33 * 8 + 1], *p = params;

        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        parse_fails(big, "template is longer than 4096 characters");

        for (int i = 0; i < 33; i++)
                p += sprintf(p, "/{p%d}", i);
        parse_fails(params, "more than 32 parameters");

        /* 64 characters is the longest name. */
        parse_fails("/{a123456789012345678901234567890123456789012345678901234567890123x}",
                    NULL);
        {
                _cleanup_(template_freep) Template *t =
                        parse_ok("/{a123456789012345678901234567890123456789"
                                 "012345678901234567890123}");

                assert_non_null(template_find_param(t, "a123456789012345678901234567890123456789"
                                                       "012345678901234567890123"));
        }
}

static void test_match_basic(void **state) {
        assert_match("/logs/{day:date}/{name}.log", "/logs/2026-11-27/a b.log",
                     "day=2026-11-27 name=a b");
        assert_match("/logs/{day:date}/{name}.log", "/logs/2026-11-27/a.log.1", NULL);
        assert_match("/logs/{day:date}/{name}.log", "/logs/2026-11-27/sub/a.log", NULL);
        assert_match("/logs/{day:date}/{name}.log", "/logs/2026-13-01/a.log", NULL);
        assert_match("/logs/{day:date}/{name}.log", "/logs/2026-11-27/.log", NULL);
        assert_match("/logs/{day:date}/{name}.log", "/logs/2026-11-27/a.log/", NULL);
        assert_match("/logs/{day:date}/{name}.log", "/logs/2026-11-27", NULL);
        assert_match("/logs/{day:date}/{name}.log", "/logs/2026-11-27/", NULL);
        assert_match("/logs/{day:date}/{name}.log", "logs/2026-11-27/a.log", NULL);
        assert_match("/logs/{day:date}/{name}.log", "/logs//2026-11-27/a.log", NULL);
        assert_match("/logs/{day:date}/{name}.log", "/Logs/2026-11-27/a.log", NULL);
        assert_match("/logs/{day:date}/{name}.log", "/logs/2026-11-27/a.LOG", NULL);
        assert_match("/logs/{day:date}/{name}.log", "/logs/2026-11-27/\xff.log", NULL);
        assert_match("/logs/{day:date}/{name}.log", "", NULL);
        assert_match("/logs/{day:date}/{name}.log", "/logs/2026-11-27/..log", NULL);
        assert_match("/logs/{day:date}/{name}.log", "/logs/2026-11-27/.a.log",
                     "day=2026-11-27 name=.a");
        assert_match("/logs/{day:date}/{name}.log", "/logs/2026-11-27/a.log.log",
                     "day=2026-11-27 name=a.log");

        /* The STYLE.md example: ret_ untouched when nothing matched. */
        assert_match("/logs/{day:date}.log", "/logs/2023-02-29.log", NULL);
        assert_match("/logs/{day:date}.log", "/logs/2024-02-29.log", "day=2024-02-29");

        assert_match("/logs/x.log", "/logs/x.log", "");
        assert_match("/logs/x.log", "/logs/x.lo", NULL);
        assert_match("/logs/x.log", "/logs/x.logx", NULL);
        assert_match("/", "/", "");
        assert_match("/", "", NULL);
        assert_match("/x", "/x/", NULL);
}

static void test_match_types(void **state) {
        assert_match("/x/{n:int}.log", "/x/-12.log", "n=-12");
        assert_match("/x/{n:int}.log", "/x/007.log", NULL);
        assert_match("/x/{n:int}.log", "/x/-0.log", NULL);
        /* Hadoop's and Spark's part files, as the documentation's example names them: zero
         * padded, so a string, never an int. */
        assert_match("/in/{day:date}/part-{n}", "/in/2026-11-27/part-00000",
                     "day=2026-11-27 n=00000");
        assert_match("/in/{day:date}/part-{n:int}", "/in/2026-11-27/part-00000", NULL);
        assert_match("/x/{h:hour}.log", "/x/2026-11-27T13.log", "h=2026-11-27T13");
        assert_match("/x/{h:hour}.log", "/x/2026-11-27t13.log", NULL);
        assert_match("/x/{h:hour}.log", "/x/2026-11-27T24.log", NULL);
        assert_match("/x/{m:month}", "/x/2026-12", "m=2026-12");
        assert_match("/x/{m:month}", "/x/2026-13", NULL);
        assert_match("/x/{w:week}.csv", "/x/2020-W53.csv", "w=2020-W53");
        assert_match("/x/{w:week}.csv", "/x/2021-W53.csv", NULL);
        assert_match("/x/{e:enum(dev,prod)}.log", "/x/dev.log", "e=dev");
        assert_match("/x/{e:enum(dev,prod)}.log", "/x/prod.log", "e=prod");
        assert_match("/x/{e:enum(dev,prod)}.log", "/x/test.log", NULL);
        assert_match("/x/{e:enum(dev,prod)}.log", "/x/devprod.log", NULL);
        /* Fixed width before a variable one needs no separator. */
        assert_match("/x/{d:date}{h}", "/x/2026-11-27foo", "d=2026-11-27 h=foo");
        assert_match("/x/{d:date}{h}", "/x/2026-11-27", NULL);
        assert_match("/x/{d:date}{h}", "/x/2026-11-2Xfoo", NULL);
        assert_match("/x/{d:date}{w:week}", "/x/2026-11-272026-W48",
                     "d=2026-11-27 w=2026-W48");
}

static void test_match_shortest_leftmost(void **state) {
        assert_match("/x/{a}-{b}.log", "/x/p-q-r.log", "a=p b=q-r");
        assert_match("/x/{a}-{b}.log", "/x/p-q.log", "a=p b=q");
        assert_match("/x/{a}-{b}.log", "/x/-p-q.log", "a=-p b=q");
        assert_match("/x/{a}-{b}.log", "/x/p--q.log", "a=p b=-q");
        assert_match("/x/{a}-{b}.log", "/x/p-.log", NULL);
        assert_match("/x/{a}-{b}.log", "/x/pq.log", NULL);
        /* The shortest value is taken only when the rest still fits. */
        assert_match("/x/{a}-{n:int}.log", "/x/p-q-7.log", "a=p-q n=7");
        assert_match("/x/{a}.{b}.{c}", "/x/1.2.3.4", "a=1 b=2 c=3.4");
        assert_match("/x/{a}.{b}", "/x/...", NULL);                /* b would be "." or "" */
        assert_match("/x/{a}.{b}", "/x/....", NULL);
        assert_match("/x/{a}.{b}", "/x/...x.y", "a=...x b=y");
}

static void test_match_repeated(void **state) {
        assert_match("/{d:date}/{d}.tsv", "/2026-11-27/2026-11-27.tsv", "d=2026-11-27");
        assert_match("/{d:date}/{d}.tsv", "/2026-11-27/2026-11-28.tsv", NULL);
        assert_match("/{d:date}/{d}.tsv", "/2026-11-27/2026-11-27x.tsv", NULL);
        assert_match("/{a}/{a}", "/p/p", "a=p");
        assert_match("/{a}/{a}", "/p/q", NULL);
        assert_match("/{a}/{a}", "/p/pp", NULL);
        assert_match("/{a}/x-{a}-{b}", "/p-q/x-p-q-r", "a=p-q b=r");
        assert_match("/{a}/x-{a}-{b}", "/p-q/x-p-r", NULL);
}

static void test_match_repeated_across_components(void **state) {
        /* The first component alone is ambiguous; the second decides. */
        assert_match("/{a}-{b}/{b}", "/p-q-r/q-r", "a=p b=q-r");
        assert_match("/{a}-{b}/{b}", "/p-q/q", "a=p b=q");
        assert_match("/{a}-{b}/{b}", "/p-q-r/s", NULL);
}

static void test_match_repeated_needs_backtracking(void **state) {
        /* A later component that repeats a parameter can need another split of an earlier
         * one: the only fit of "/p-q-r/r" is a="p-q" b="r", so format(match) round-trips. */
        assert_match("/{a}-{b}/{b}", "/p-q-r/r", "a=p-q b=r");
        assert_match("/{a}-{b}/{a}", "/p-q-r/p-q", "a=p-q b=r");
        assert_match("/{a}-{b}/{a}.{b}", "/x-y-z/x-y.z", "a=x-y b=z");
}

static void test_match_path_tail(void **state) {
        assert_match("/logs/{name:path}.log", "/logs/a/b/c.log", "name=a/b/c");
        assert_match("/logs/{name:path}.log", "/logs/a.log", "name=a");
        assert_match("/logs/{name:path}.log", "/logs/a b $(touch /tmp/owned) ;x.log",
                     "name=a b $(touch /tmp/owned) ;x");
        assert_match("/logs/{name:path}.log", "/logs/a/b.log/c.log", "name=a/b.log/c");
        assert_match("/logs/{name:path}.log", "/logs/a/../b.log", NULL);
        assert_match("/logs/{name:path}.log", "/logs/../b.log", NULL);
        assert_match("/logs/{name:path}.log", "/logs/./b.log", NULL);
        assert_match("/logs/{name:path}.log", "/logs//b.log", NULL);
        assert_match("/logs/{name:path}.log", "/logs/a//b.log", NULL);
        assert_match("/logs/{name:path}.log", "/logs/a/.log", NULL);
        assert_match("/logs/{name:path}.log", "/logs/.log", NULL);
        assert_match("/logs/{name:path}.log", "/logs/a/b.txt", NULL);
        assert_match("/logs/{name:path}.log", "/logs", NULL);
        assert_match("/logs/{name:path}.log", "/other/a.log", NULL);
        assert_match("/logs/{day:date}/{rest:path}", "/logs/2026-11-27/x/y",
                     "day=2026-11-27 rest=x/y");
        assert_match("/logs/{day:date}/{rest:path}", "/logs/2026-11-27/x/", NULL);
        assert_match("{p:path}", "a/b", "p=a/b");
        assert_match("{p:path}", "/a/b", NULL);
        /* A string beside a path tail still holds no '/'. */
        assert_match("/logs/{p:path}-{s}.log", "/logs/a/b-c.log", "p=a/b s=c");
        assert_match("/logs/{p:path}-{s}.log", "/logs/a-b/c.log", NULL);
}

static void test_match_string_never_spans_slash(void **state) {
        assert_match("/x/{a}", "/x/a/b", NULL);
        assert_match("/x/{a}.log", "/x/a/b.log", NULL);
        assert_match("/x/{a}-{b}", "/x/p-q/r", NULL);
        assert_match("/{a}", "//", NULL);
        assert_match("/x/{a}/y", "/x/a/b/y", NULL);
        assert_match("/x/{e:enum(a,b)}", "/x/a/b", NULL);
}

static void test_match_dot_components(void **state) {
        /* A wildcard never binds "." or "..", so a name never climbs out. */
        assert_match("/x/{a}", "/x/..", NULL);
        assert_match("/x/{a}", "/x/.", NULL);
        assert_match("/x/{a}/y", "/x/../y", NULL);
        assert_match("/x/{a}", "/x/...", "a=...");
        assert_match("/x/{a}", "/x/.a", "a=.a");
}

static void test_match_component(void **state) {
        _cleanup_(template_freep) Template *t = parse_ok("/logs/{d:date}/{d}-{name}.tsv");
        _cleanup_(binding_freep) Binding *partial = NULL, *b = NULL, *none = NULL,
                                         *first = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL;

        assert_int_equal(t->n_components, 4);
        assert_int_equal(template_match_component(t, 2, "2026-11-27", NULL, &first), 1);
        text2 = binding_text(first);
        assert_string_equal(text2, "d=2026-11-27");
        assert_int_equal(template_match_component(t, 2, "2026-02-30", NULL, &none), 0);
        assert_null(none);

        assert_int_equal(binding_new(&partial), 0);
        assert_int_equal(binding_set(partial, "d", "2026-11-27"), 0);
        assert_int_equal(template_match_component(t, 3, "2026-11-27-a b.tsv", partial, &b), 1);
        text = binding_text(b);
        assert_string_equal(text, "d=2026-11-27 name=a b");
        /* partial itself is not changed */
        assert_int_equal(partial->n, 1);

        /* The bound value must repeat. */
        assert_int_equal(template_match_component(t, 3, "2026-11-28-a.tsv", partial, &none), 0);
        assert_null(none);
        /* Without the partial binding the component binds d itself. */
        {
                _cleanup_(binding_freep) Binding *c = NULL;
                _cleanup_free_ char *s = NULL;

                assert_int_equal(template_match_component(t, 3, "2026-11-28-a.tsv", NULL, &c),
                                 1);
                s = binding_text(c);
                assert_string_equal(s, "d=2026-11-28 name=a");
        }
        /* No '/' in a component without a path tail. */
        assert_int_equal(template_match_component(t, 3, "2026-11-27-a/b.tsv", partial, &none),
                         0);
        assert_null(none);
        assert_int_equal(template_match_component(t, 1, "logs", NULL, &none), 1);
        none = binding_free(none);
        assert_int_equal(template_match_component(t, 1, "logz", NULL, &none), 0);
        assert_null(none);
}

static void test_match_component_path_tail(void **state) {
        _cleanup_(template_freep) Template *t = parse_ok("/logs/{d:date}/{p:path}.log");
        _cleanup_(binding_freep) Binding *partial = NULL, *b = NULL, *none = NULL;
        _cleanup_free_ char *text = NULL;

        assert_true(template_has_path_tail(t));
        assert_int_equal(binding_new(&partial), 0);
        assert_int_equal(binding_set(partial, "d", "2026-11-27"), 0);
        assert_int_equal(template_match_component(t, 3, "a/b.log", partial, &b), 1);
        text = binding_text(b);
        assert_string_equal(text, "d=2026-11-27 p=a/b");
        assert_int_equal(template_match_component(t, 3, "a/../b.log", partial, &none), 0);
        assert_null(none);
        /* Only the last component takes '/'. */
        assert_int_equal(template_match_component(t, 2, "2026-11-27/x", NULL, &none), 0);
        assert_null(none);
}

static void test_format(void **state) {
        assert_format("/logs/{day:date}/{name}.log", "/logs/2026-11-27/a b.log", 0,
                      "day", "2026-11-27", "name", "a b", NULL);
        /* Extra values are ignored. */
        assert_format("/logs/{day:date}.log", "/logs/2026-11-27.log", 0,
                      "day", "2026-11-27", "other", "..", NULL);
        assert_format("/logs/x.log", "/logs/x.log", 0, NULL);
        assert_format("/{d:date}/{d}.tsv", "/2026-11-27/2026-11-27.tsv", 0,
                      "d", "2026-11-27", NULL);
        assert_format("/logs/{p:path}.log", "/logs/a/b/c.log", 0, "p", "a/b/c", NULL);
        assert_format("/x/{e:enum(dev,prod)}", "/x/prod", 0, "e", "prod", NULL);

        assert_format("/logs/{day:date}/{name}.log", NULL, -ENOKEY, "day", "2026-11-27", NULL);
        assert_format("/logs/{day:date}/{name}.log", NULL, -ENOKEY, "name", "a", NULL);
        assert_format("/logs/{day:date}/{name}.log", NULL, -ENOKEY, NULL);

        /* Nothing from outside climbs out of the template's directories. */
        assert_format("/x/{a}.log", NULL, -EINVAL, "a", "a/b", NULL);
        assert_format("/x/{a}", NULL, -EINVAL, "a", "..", NULL);
        assert_format("/x/{a}", NULL, -EINVAL, "a", ".", NULL);
        assert_format("/x/{a}", NULL, -EINVAL, "a", "", NULL);
        assert_format("/x/{a}", NULL, -EINVAL, "a", "../../etc/passwd", NULL);
        assert_format("/x/{a}", NULL, -EINVAL, "a", "\xff", NULL);
        assert_format("/x/{d:date}", NULL, -EINVAL, "d", "2026-02-30", NULL);
        assert_format("/x/{d:date}", NULL, -EINVAL, "d", "../x", NULL);
        assert_format("/x/{n:int}", NULL, -EINVAL, "n", "007", NULL);
        assert_format("/x/{h:hour}", NULL, -EINVAL, "h", "2026-11-27t13", NULL);
        assert_format("/x/{e:enum(dev,prod)}", NULL, -EINVAL, "e", "test", NULL);
        assert_format("/x/{p:path}", NULL, -EINVAL, "p", "a/../../b", NULL);
        assert_format("/x/{p:path}", NULL, -EINVAL, "p", "/etc/passwd", NULL);
        assert_format("/x/{p:path}", NULL, -EINVAL, "p", "a/", NULL);
}

static void test_round_trip(void **state) {
        static const struct {
                const char *template, *name;
        } cases[] = {
                { "/logs/{day:date}/{name}.log", "/logs/2026-11-27/a b.log" },
                { "/logs/{day:date}/{name}.log", "/logs/2024-02-29/$(id);'\".log" },
                { "/x/{a}-{b}.log", "/x/p-q-r.log" },
                { "/x/{d:date}{h}", "/x/2026-11-27foo" },
                { "/{d:date}/{d}.tsv", "/2026-11-27/2026-11-27.tsv" },
                { "/logs/{name:path}.log", "/logs/a/b/c.log" },
                { "/x/{h:hour}/{w:week}/{m:month}/{n:int}",
                  "/x/2026-11-27T13/2026-W48/2026-11/-4" },
                { "/x/{e:enum(dev,prod)}-{a}", "/x/dev-caf\xc3\xa9" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(template_freep) Template *t = parse_ok(cases[i].template);
                _cleanup_(binding_freep) Binding *b = NULL, *again = NULL;
                _cleanup_free_ char *s = NULL;

                assert_int_equal(template_match(t, cases[i].name, &b), 1);
                assert_int_equal(template_format(t, b, &s), 0);
                assert_string_equal(s, cases[i].name);
                assert_int_equal(template_match(t, s, &again), 1);
                assert_true(binding_equal(b, again));
        }
}

/*
 * Six variable-width wildcards and a long name full of separators that does not match: without
 * the memo the matcher would try every way of placing five '-' among ~125, billions of splits.
 */
static void test_match_many_separators(void **state) {
        _cleanup_(template_freep) Template *t = parse_ok("/x/{a}-{b}-{c}-{d}-{e}-{f}.log");
        _cleanup_(binding_freep) Binding *b = NULL, *ok = NULL;
        _cleanup_free_ char *text = NULL;
        char name[3 + 250 + 1], expected[300];
        size_t n = 0;

        n += (size_t) sprintf(name, "/x/");
        while (n < 3 + 246) {
                name[n++] = 'x';
                name[n++] = '-';
        }
        memcpy(name + n, ".txt", 5);
        assert_int_equal(strlen(name), 3 + 250);
        assert_int_equal(template_match(t, name, &b), 0);
        assert_null(b);

        /* The same name ending in .log matches: five shortest values, the rest to f. */
        memcpy(name + n, ".log", 5);
        assert_int_equal(template_match(t, name, &ok), 1);
        text = binding_text(ok);
        snprintf(expected, sizeof(expected), "a=x b=x c=x d=x e=x f=%.*s", (int) (n - 3 - 10),
                 name + 3 + 10);
        assert_string_equal(text, expected);

        /* All dashes, too. */
        {
                _cleanup_(binding_freep) Binding *none = NULL;
                char dashes[3 + 250 + 1];

                memcpy(dashes, "/x/", 3);
                memset(dashes + 3, '-', 246);
                memcpy(dashes + 3 + 246, ".txt", 5);
                assert_int_equal(template_match(t, dashes, &none), 0);
                assert_null(none);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_structure),
                cmocka_unit_test(test_parse_good),
                cmocka_unit_test(test_parse_types),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_parse_limits),
                cmocka_unit_test(test_match_basic),
                cmocka_unit_test(test_match_types),
                cmocka_unit_test(test_match_shortest_leftmost),
                cmocka_unit_test(test_match_repeated),
                cmocka_unit_test(test_match_repeated_across_components),
                cmocka_unit_test(test_match_repeated_needs_backtracking),
                cmocka_unit_test(test_match_path_tail),
                cmocka_unit_test(test_match_string_never_spans_slash),
                cmocka_unit_test(test_match_dot_components),
                cmocka_unit_test(test_match_component),
                cmocka_unit_test(test_match_component_path_tail),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_match_many_separators),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
