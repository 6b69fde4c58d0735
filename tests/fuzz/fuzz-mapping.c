/* SPDX-License-Identifier: MIT */
/*
 * The input-spec and expression parser, and the algebra behind it. Input: an input spec like
 * `prev = daily(day = ${day - 1d})`. Whatever parses and type-checks against a fixed set of
 * task parameters is evaluated on sample values, and every value it gives must invert back to
 * the value it came from: the property the daemon relies on to go from an event to a task. A
 * constant must print and parse back to itself and evaluate to itself; all(), bound to an enum,
 * to the enum's values in order, each of which it takes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mapping.h"
#include "util/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
        const char *name;
        ParamSpec spec;
        const char *sample;
} params[] = {
        { "day", { PARAM_DATE, NULL }, "2024-02-29" },
        { "hour", { PARAM_HOUR, NULL }, "2026-12-31T23" },
        { "week", { PARAM_WEEK, NULL }, "2026-W53" },
        { "month", { PARAM_MONTH, NULL }, "2026-01" },
        { "n", { PARAM_INT, NULL }, "-7" },
        { "name", { PARAM_STRING, NULL }, "a b" },
};

static const ParamSpec *lookup(const char *name, void *userdata) {
        for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
                if (strcmp(params[i].name, name) == 0)
                        return &params[i].spec;
        return NULL;
}

static const char *sample(const char *name) {
        for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
                if (strcmp(params[i].name, name) == 0)
                        return params[i].sample;
        return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(input_spec_freep) InputSpec *spec = NULL;
        _cleanup_free_ char *text = NULL, *err = NULL;

        if (size > 4096)
                return 0;
        text = strndup((const char *) data, size);
        if (!text || input_spec_parse(text, &spec, &err) < 0)
                return 0;
        for (size_t i = 0; i < spec->n; i++) {
                _cleanup_strv_free_ char **values = NULL;
                _cleanup_free_ char *e = NULL, *printed = NULL;
                _cleanup_(expr_freep) Expr *again = NULL;
                const char *x;

                /* Printing gives text that parses back. */
                if (expr_to_string(spec->exprs[i], &printed) < 0)
                        continue;
                if (expr_parse(printed, strlen(printed), &again, &e) < 0)
                        abort();
                free(e);
                e = NULL;
                if (spec->exprs[i]->kind == EXPR_CONST) {
                        /* The same value back, and as its one value, whatever the task's. */
                        if (again->kind != EXPR_CONST ||
                            strcmp(again->value, spec->exprs[i]->value) != 0 ||
                            expr_eval(spec->exprs[i], NULL, &values) < 0 || !values[0] ||
                            values[1] || strcmp(values[0], spec->exprs[i]->value) != 0)
                                abort();
                        continue;
                }
                if (spec->exprs[i]->kind == EXPR_ALL) {
                        static char *enum_values[] = { "b", "a", "c", NULL };
                        const ParamSpec any = { PARAM_ENUM, enum_values };

                        if (again->kind != EXPR_ALL ||
                            expr_set_all(spec->exprs[i], &any) < 0 ||
                            expr_eval(spec->exprs[i], NULL, &values) < 0 ||
                            strv_length(values) != strv_length(enum_values))
                                abort();
                        for (size_t k = 0; values[k]; k++)
                                if (strcmp(values[k], enum_values[k]) != 0 ||
                                    !expr_takes(spec->exprs[i], values[k]))
                                        abort();
                        if (expr_takes(spec->exprs[i], "d"))
                                abort();
                        continue;
                }
                if (expr_check(spec->exprs[i], lookup, NULL, &e) < 0)
                        continue;
                x = sample(expr_param(spec->exprs[i]));
                if (expr_eval(spec->exprs[i], x, &values) < 0)
                        continue;
                /* A sample of a big fan-in is enough; each inverse is as big again. */
                for (char **y = values; *y && y < values + 64; y++) {
                        _cleanup_strv_free_ char **back = NULL;

                        if (expr_invert(spec->exprs[i], *y, &back) < 0 || !strv_contains(back, x))
                                abort();
                }
        }
        return 0;
}
