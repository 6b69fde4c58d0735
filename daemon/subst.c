/* SPDX-License-Identifier: MIT */
/*
 * Substitution of parameters and locations into a task's argv. Values go into argv elements
 * as they are: no word splitting, no quoting, no shell, so a file named "$(touch x);" is only
 * ever a string. One tokenizer serves both the load-time check and the expansion, so whatever
 * passes the check expands.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "exec-code.h"
#include "mapping.h"
#include "subst.h"
#include "util/strv.h"

typedef enum RefKind {
        REF_PARAM,
        REF_INPUT,      /* ${input}: the only input */
        REF_INPUTS,     /* ${inputs}: every input location */
        REF_INPUT_NAMED,
        REF_OUTPUT,
        REF_OUTPUTS,
        REF_OUTPUT_NAMED,
} RefKind;

typedef struct Ref {
        RefKind kind;
        size_t index;   /* parameter, input or output index */
} Ref;

static int fail(char **ret_error, const char *format, ...) _printf_(2, 3);
static int fail(char **ret_error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EINVAL;
}

/* What ${...} could have meant, for a typo's message; NULL when nothing is close. */
static char *closest_reference(const Task *task, const char *name, size_t n) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *typed = strndup(name, n);
        const char *guess;
        int r = 0;

        if (!typed)
                return NULL;
        /* Only what would be accepted: ${input} needs a task of one input. */
        r |= strv_extend(&l, "inputs") | strv_extend(&l, "outputs");
        if (task->n_inputs == 1)
                r |= strv_extend(&l, "input");
        if (task->n_outputs == 1)
                r |= strv_extend(&l, "output");
        for (size_t i = 0; i < task->n_params; i++)
                r |= strv_extend(&l, task->params[i].name);
        for (size_t i = 0; i < task->n_inputs; i++)
                r |= strv_extendf(&l, "input.%s", task->inputs[i].name);
        for (size_t i = 0; i < task->n_outputs; i++)
                r |= strv_extendf(&l, "output.%s", task->outputs[i]->name);
        guess = r < 0 ? NULL : strv_find_closest(l, typed);
        return guess ? strdup(guess) : NULL;
}

static int resolve(const Task *task, const char *name, size_t n, Ref *ret, char **ret_error) {
        _cleanup_free_ char *guess = NULL;      /* for a typo in a plain ${name} */

        if (n == 5 && strneq(name, "input", 5)) {
                if (task->n_inputs != 1)
                        return fail(ret_error, "${input} needs exactly one input (this task has "
                                               "%zu); use ${input.NAME} or ${inputs}",
                                    task->n_inputs);
                *ret = (Ref){ REF_INPUT, 0 };
                return 0;
        }
        if (n == 6 && strneq(name, "output", 6)) {
                if (task->n_outputs != 1)
                        return fail(ret_error, "${output} needs exactly one output (this task has "
                                               "%zu); use ${output.NAME} or ${outputs}",
                                    task->n_outputs);
                *ret = (Ref){ REF_OUTPUT, 0 };
                return 0;
        }
        if (n == 6 && strneq(name, "inputs", 6)) {
                *ret = (Ref){ REF_INPUTS, 0 };
                return 0;
        }
        if (n == 7 && strneq(name, "outputs", 7)) {
                *ret = (Ref){ REF_OUTPUTS, 0 };
                return 0;
        }
        if (n > 6 && strneq(name, "input.", 6)) {
                for (size_t i = 0; i < task->n_inputs; i++)
                        if (strlen(task->inputs[i].name) == n - 6 &&
                            strneq(task->inputs[i].name, name + 6, n - 6)) {
                                *ret = (Ref){ REF_INPUT_NAMED, i };
                                return 0;
                        }
                return fail(ret_error, "${%.*s}: '%.*s' is not an input of this task", (int) n,
                            name, (int) n - 6, name + 6);
        }
        if (n > 7 && strneq(name, "output.", 7)) {
                for (size_t i = 0; i < task->n_outputs; i++)
                        if (strlen(task->outputs[i]->name) == n - 7 &&
                            strneq(task->outputs[i]->name, name + 7, n - 7)) {
                                *ret = (Ref){ REF_OUTPUT_NAMED, i };
                                return 0;
                        }
                return fail(ret_error, "${%.*s}: '%.*s' is not an output of this task", (int) n,
                            name, (int) n - 7, name + 7);
        }
        for (size_t i = 0; i < task->n_params; i++)
                if (strlen(task->params[i].name) == n && strneq(task->params[i].name, name, n)) {
                        *ret = (Ref){ REF_PARAM, i };
                        return 0;
                }
        guess = closest_reference(task, name, n);
        if (guess)
                return fail(ret_error, "unknown reference ${%.*s} (did you mean ${%s}?)", (int) n,
                            name, guess);
        return fail(ret_error,
                    "unknown reference ${%.*s} (parameters of this task, input, inputs, "
                    "input.NAME, output, outputs, output.NAME; write $$ for a literal '$')",
                    (int) n, name);
}

/*
 * Walks one element: literal text goes to f, each reference is resolved. Calls back with
 * (literal, n, NULL) and (NULL, 0, ref).
 */
typedef int (*token_func)(const char *lit, size_t n, const Ref *ref, void *userdata);

static int tokenize(const Task *task, const char *s, token_func f, void *userdata,
                    char **ret_error) {
        const char *p = s;
        int r;

        while (*p) {
                const char *dollar = strchr(p, '$'), *end;
                Ref ref;

                if (!dollar)
                        return f(p, strlen(p), NULL, userdata);
                if (dollar[1] == '$') {
                        r = f(p, (size_t) (dollar - p) + 1, NULL, userdata);
                        if (r < 0)
                                return r;
                        p = dollar + 2;
                        continue;
                }
                if (dollar[1] != '{') {
                        r = f(p, (size_t) (dollar - p) + 1, NULL, userdata);
                        if (r < 0)
                                return r;
                        p = dollar + 1;
                        continue;
                }
                end = strchr(dollar + 2, '}');
                if (!end)
                        return fail(ret_error, "unterminated '${' in '%s'", s);
                r = f(p, (size_t) (dollar - p), NULL, userdata);
                if (r < 0)
                        return r;
                r = resolve(task, dollar + 2, (size_t) (end - dollar - 2), &ref, ret_error);
                if (r < 0)
                        return r;
                r = f(NULL, 0, &ref, userdata);
                if (r < 0)
                        return r;
                p = end + 1;
        }
        return 0;
}

/* References that can stand for several locations, and become one argument each. */
static bool ref_is_list(const Task *task, const Ref *ref) {
        return ref->kind == REF_INPUTS || ref->kind == REF_OUTPUTS ||
               ((ref->kind == REF_INPUT || ref->kind == REF_INPUT_NAMED) &&
                task->inputs[ref->index].multi);
}

typedef struct CheckState {
        const Task *task;
        size_t n_tokens;
        bool has_list;
} CheckState;

static int check_token(const char *lit, size_t n, const Ref *ref, void *userdata) {
        CheckState *c = userdata;

        if (lit && n == 0)
                return 0;
        c->n_tokens++;
        if (ref && ref_is_list(c->task, ref))
                c->has_list = true;
        return 0;
}

/* 1 when the element is a lone list reference, 0 when it is text, <0 when it mixes them. */
static int classify(const Task *task, const char *element, char **ret_error) {
        CheckState c = { .task = task };
        int r;

        r = tokenize(task, element, check_token, &c, ret_error);
        if (r < 0)
                return r;
        if (c.has_list && c.n_tokens > 1)
                return fail(ret_error,
                            "'%s': ${inputs}, ${outputs} and fan-in inputs expand to several "
                            "arguments and must stand alone in their element",
                            element);
        return c.has_list;
}

int subst_check(const Task *task, const char *element, char **ret_error) {
        int r;

        *ret_error = NULL;
        r = classify(task, element, ret_error);
        return r < 0 ? r : 0;
}

typedef struct ExpandState {
        const SubstContext *ctx;
        FILE *f;
        char ***argv;   /* for list references */
} ExpandState;

static int expand_token(const char *lit, size_t n, const Ref *ref, void *userdata) {
        ExpandState *e = userdata;
        const SubstContext *c = e->ctx;

        if (lit) {
                /* A list element has no text around its reference, only empty chunks. */
                if (n > 0)
                        fwrite(lit, 1, n, e->f);
                return 0;
        }
        switch (ref->kind) {
        case REF_PARAM:
                fputs(strempty(binding_get(c->binding, c->task->params[ref->index].name)), e->f);
                return 0;
        case REF_INPUT:
        case REF_INPUT_NAMED:
                /* A fan-in stands alone (checked at load): one argument per location. */
                if (!e->f) {
                        STRV_FOREACH(l, c->inputs[ref->index])
                                if (strv_extend(e->argv, *l) < 0)
                                        return -ENOMEM;
                        return 0;
                }
                fputs(strempty(c->inputs[ref->index][0]), e->f);
                return 0;
        case REF_OUTPUT:
        case REF_OUTPUT_NAMED:
                fputs(c->outputs[ref->index], e->f);
                return 0;
        case REF_INPUTS:
                for (size_t i = 0; i < c->task->n_inputs; i++)
                        STRV_FOREACH(l, c->inputs[i])
                                if (strv_extend(e->argv, *l) < 0)
                                        return -ENOMEM;
                return 0;
        case REF_OUTPUTS:
                for (size_t i = 0; i < c->task->n_outputs; i++)
                        if (strv_extend(e->argv, c->outputs[i]) < 0)
                                return -ENOMEM;
                return 0;
        }
        return -EINVAL;
}

int subst_expand(char * const *exec, const SubstContext *c, char ***ret) {
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        STRV_FOREACH(s, exec) {
                _cleanup_free_ char *err = NULL;
                char *buf = NULL;
                size_t len = 0;
                ExpandState e = { .ctx = c, .argv = &argv };

                r = classify(c->task, *s, &err);
                if (r < 0)
                        return r;
                if (r > 0) {
                        r = tokenize(c->task, *s, expand_token, &e, &err);
                        if (r < 0)
                                return r;
                        continue;
                }
                e.f = open_memstream(&buf, &len);
                if (!e.f)
                        return -ENOMEM;
                r = tokenize(c->task, *s, expand_token, &e, &err);
                if (fclose(e.f) != 0 && r >= 0)
                        r = -ENOMEM;
                if (r < 0) {
                        free(buf);
                        return r;
                }
                r = strv_consume(&argv, buf);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(argv);
        return 0;
}

/* Whether a value of this type can be any text a file name holds. */
static bool free_text(ParamType t) {
        return t == PARAM_STRING || t == PARAM_PATH;
}

typedef struct FreeText {
        const Task *task;
        Ref ref;                /* the first reference that can be any text */
        bool found;
        const char *param;      /* the parameter that makes it so */
} FreeText;

static int find_free_text(const char *lit, size_t n, const Ref *ref, void *userdata) {
        FreeText *f = userdata;
        const Task *t = f->task;
        const Template *tpl = NULL;
        const TaskInput *in = NULL;

        if (!ref || f->found)
                return 0;
        switch (ref->kind) {
        case REF_PARAM:
                if (free_text(t->params[ref->index].spec.type)) {
                        f->ref = *ref;
                        f->found = true;
                        f->param = t->params[ref->index].name;
                }
                return 0;
        case REF_INPUT:
        case REF_INPUT_NAMED:
                in = &t->inputs[ref->index];
                tpl = in->target->template;
                break;
        case REF_OUTPUT:
        case REF_OUTPUT_NAMED:
                tpl = t->outputs[ref->index]->template;
                break;
        default:
                return 0;
        }
        for (size_t i = 0; tpl && i < tpl->n_params && !f->found; i++) {
                bool constant = false;

                /* A constant binding is the configuration's own text. */
                for (size_t k = 0; in && k < in->n_maps; k++)
                        constant = constant || (streq(in->maps[k].param, tpl->params[i].name) &&
                                                in->maps[k].expr->kind == EXPR_CONST);
                if (free_text(tpl->params[i].spec.type) && !constant) {
                        f->ref = *ref;
                        f->found = true;
                        f->param = tpl->params[i].name;
                }
        }
        return 0;
}

/* "${input.raw}", as the configuration wrote the reference. */
static const char *ref_name(const Task *task, const Ref *ref, char *buf, size_t size) {
        switch (ref->kind) {
        case REF_PARAM:
                snprintf(buf, size, "${%s}", task->params[ref->index].name);
                break;
        case REF_INPUT_NAMED:
                snprintf(buf, size, "${input.%s}", task->inputs[ref->index].name);
                break;
        case REF_OUTPUT_NAMED:
                snprintf(buf, size, "${output.%s}", task->outputs[ref->index]->name);
                break;
        default:
                snprintf(buf, size, ref->kind == REF_INPUT ? "${input}" : "${output}");
        }
        return buf;
}

typedef struct CodeCheck {
        const Task *task;
        char **ret_error;
} CodeCheck;

static int check_code(const ExecCode *code, void *userdata) {
        CodeCheck *c = userdata;
        const Task *task = c->task;
        FreeText f = { .task = task };
        _cleanup_free_ char *err = NULL;
        char name[256];

        if (tokenize(task, task->exec[code->index] + code->offset, find_free_text, &f, &err) < 0 ||
            !f.found)
                return 0;
        if (code->advice)
                return fail(c->ret_error,
                            "%s is in the code that %s runs (exec[%zu]), and its value comes "
                            "from a file name ('%s' is any text): a file named 'x $(reboot)' "
                            "would run as a command. %s",
                            ref_name(task, &f.ref, name, sizeof(name)), code->runner,
                            code->index, f.param, code->advice);
        return fail(c->ret_error,
                    "%s is in the code that %s runs (exec[%zu]), and its value comes from a "
                    "file name ('%s' is any text): a file named 'x $(reboot)' would run as a "
                    "command. Pass it as an argument after the code and read it there (%s)%s",
                    ref_name(task, &f.ref, name, sizeof(name)), code->runner, code->index,
                    f.param, code->hint,
                    code->example ? ", as in [ \"/bin/sh\", \"-c\", \"sort \\\"$1\\\"\", "
                                    "\"sh\", \"${input}\" ]" : "");
}

int subst_check_code(const Task *task, char **ret_error) {
        CodeCheck c = { .task = task, .ret_error = ret_error };

        *ret_error = NULL;
        return exec_code_foreach(task->exec, check_code, &c);
}
