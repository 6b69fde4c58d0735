/* SPDX-License-Identifier: MIT */
/*
 * Templates: literal text with {name:type} wildcards, split into '/'-separated components.
 * Values never contain '/', so a name is matched component by component, each one anchored at
 * both ends. Within a component a variable-width wildcard must be followed by a literal or end
 * the component; that keeps matching a short, bounded backtrack.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "template.h"
#include "util/strv.h"

/* Bounds that keep a hostile template (fuzzed or typed) cheap to match. */
#define TEMPLATE_MAX_LEN 4096
#define TEMPLATE_MAX_PARAMS 32

static void template_param_done(TemplateParam *p) {
        free(p->name);
        param_spec_done(&p->spec);
}

Template *template_free(Template *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_params; i++)
                template_param_done(&t->params[i]);
        for (size_t i = 0; i < t->n_parts; i++)
                free(t->parts[i].literal);
        free(t->params);
        free(t->parts);
        free(t->components);
        free(t->text);
        free(t);
        return NULL;
}

const TemplateParam *template_find_param(const Template *t, const char *name) {
        for (size_t i = 0; i < t->n_params; i++)
                if (streq(t->params[i].name, name))
                        return &t->params[i];
        return NULL;
}

static bool param_name_ok(const char *s, size_t n) {
        if (n == 0 || n > 64 || (s[0] >= '0' && s[0] <= '9'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        return true;
}

static int add_part(Template *t, char *literal, size_t param) {
        TemplatePart *p = reallocarray(t->parts, t->n_parts + 1, sizeof(TemplatePart));

        if (!p) {
                free(literal);
                return -ENOMEM;
        }
        t->parts = p;
        t->parts[t->n_parts++] = (TemplatePart){ .literal = literal, .param = param };
        return 0;
}

static int add_component(Template *t, size_t first) {
        TemplateComponent *c =
                reallocarray(t->components, t->n_components + 1, sizeof(TemplateComponent));

        if (!c)
                return -ENOMEM;
        t->components = c;
        t->components[t->n_components++] =
                (TemplateComponent){ .first = first, .n = t->n_parts - first };
        return 0;
}

static int fail(char **ret_error, const char *format, ...) _printf_(2, 3);
static int fail(char **ret_error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EINVAL;
}

/* Parses one wildcard body "name" or "name:type" and returns its parameter index. */
static int parse_wildcard(Template *t, const char *s, size_t n, size_t *ret, char **ret_error) {
        const char *colon = memchr(s, ':', n);
        size_t name_len = colon ? (size_t) (colon - s) : n;
        ParamSpec spec = { .type = PARAM_STRING };
        TemplateParam *p;
        const char *err;
        int r;

        if (!param_name_ok(s, name_len))
                return fail(ret_error, "bad parameter name '{%.*s}' (letters, digits and '_')",
                            (int) n, s);
        if (colon) {
                r = param_spec_parse(colon + 1, n - name_len - 1, &spec, &err);
                if (r == -EINVAL)
                        return fail(ret_error, "'{%.*s}': %s", (int) n, s, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < t->n_params; i++) {
                if (strlen(t->params[i].name) != name_len ||
                    memcmp(t->params[i].name, s, name_len) != 0)
                        continue;
                if (colon && !param_spec_equal(&spec, &t->params[i].spec)) {
                        param_spec_done(&spec);
                        return fail(ret_error, "'{%.*s}' was declared with another type before",
                                    (int) n, s);
                }
                param_spec_done(&spec);
                *ret = i;
                return 0;
        }
        if (t->n_params >= TEMPLATE_MAX_PARAMS) {
                param_spec_done(&spec);
                return fail(ret_error, "more than %d parameters", TEMPLATE_MAX_PARAMS);
        }
        p = reallocarray(t->params, t->n_params + 1, sizeof(TemplateParam));
        if (!p) {
                param_spec_done(&spec);
                return -ENOMEM;
        }
        t->params = p;
        p[t->n_params] = (TemplateParam){ .name = strndup(s, name_len), .spec = spec };
        if (!p[t->n_params].name) {
                param_spec_done(&spec);
                return -ENOMEM;
        }
        *ret = t->n_params++;
        return 0;
}

/*
 * A variable-width wildcard directly before another wildcard could split anywhere; a parameter
 * twice in one component would make a match depend on the path the matcher took.
 */
static int check_component(const Template *t, const TemplateComponent *c, char **ret_error) {
        for (size_t i = c->first; i < c->first + c->n; i++)
                for (size_t j = i + 1; j < c->first + c->n; j++)
                        if (!t->parts[i].literal && !t->parts[j].literal &&
                            t->parts[i].param == t->parts[j].param)
                                return fail(ret_error,
                                            "'{%s}' appears twice between two '/'; it may "
                                            "appear once per path component",
                                            t->params[t->parts[i].param].name);
        for (size_t i = c->first; i + 1 < c->first + c->n; i++) {
                const TemplatePart *a = &t->parts[i], *b = &t->parts[i + 1];

                if (!a->literal && !b->literal &&
                    param_fixed_width(t->params[a->param].spec.type) == 0)
                        return fail(ret_error,
                                    "'{%s}' is directly followed by '{%s}': put a literal "
                                    "between them, or the split is ambiguous",
                                    t->params[a->param].name, t->params[b->param].name);
        }
        return 0;
}

int template_parse(const char *s, Template **ret, char **ret_error) {
        _cleanup_(template_freep) Template *t = NULL;
        size_t component_start = 0;
        const char *p = s;
        int r;

        *ret_error = NULL;
        if (strlen(s) > TEMPLATE_MAX_LEN)
                return fail(ret_error, "template is longer than %d characters", TEMPLATE_MAX_LEN);
        t = calloc(1, sizeof(Template));
        if (!t)
                return -ENOMEM;
        t->text = strdup(s);
        if (!t->text)
                return -ENOMEM;

        for (;;) {
                size_t lit = strcspn(p, "{}/");
                size_t idx = 0;

                if (lit > 0) {
                        r = add_part(t, strndup(p, lit), 0);
                        if (r < 0)
                                return r;
                        p += lit;
                }
                if (*p == '}')
                        return fail(ret_error, "unbalanced '}' at column %zu", (size_t) (p - s) + 1);
                if (*p == '{') {
                        const char *end = strpbrk(p + 1, "{}/");

                        if (!end || *end != '}')
                                return fail(ret_error, "unterminated '{' at column %zu",
                                            (size_t) (p - s) + 1);
                        r = parse_wildcard(t, p + 1, (size_t) (end - p - 1), &idx, ret_error);
                        if (r < 0)
                                return r;
                        r = add_part(t, NULL, idx);
                        if (r < 0)
                                return r;
                        p = end + 1;
                        continue;
                }
                /* '/' or the end closes a component. */
                r = add_component(t, component_start);
                if (r < 0)
                        return r;
                r = check_component(t, &t->components[t->n_components - 1], ret_error);
                if (r < 0)
                        return r;
                component_start = t->n_parts;
                if (*p == 0)
                        break;
                p++;
        }
        /* A path value spans directories; in the last component the matcher knows where it
         * ends (at the name's end), anywhere else it would not. */
        for (size_t i = 0; i < t->n_parts; i++) {
                const TemplatePart *part = &t->parts[i];

                if (part->literal || t->params[part->param].spec.type != PARAM_PATH)
                        continue;
                if (i < t->components[t->n_components - 1].first)
                        return fail(ret_error, "'{%s:path}' may only be in the last component "
                                               "(after the last '/')",
                                    t->params[part->param].name);
        }
        *ret = TAKE_PTR(t);
        return 0;
}

bool template_has_path_tail(const Template *t) {
        const TemplateComponent *c = &t->components[t->n_components - 1];

        for (size_t i = c->first; i < c->first + c->n; i++)
                if (!t->parts[i].literal && t->params[t->parts[i].param].spec.type == PARAM_PATH)
                        return true;
        return false;
}

bool template_component_is_literal(const Template *t, size_t idx) {
        const TemplateComponent *c = &t->components[idx];

        return c->n == 0 || (c->n == 1 && t->parts[c->first].literal);
}

const char *template_component_literal(const Template *t, size_t idx) {
        const TemplateComponent *c = &t->components[idx];

        if (c->n == 0)
                return "";
        return t->parts[c->first].literal;
}

/*
 * Backtracking matcher for one component. values[] holds what is bound so far (borrowed
 * pointers into the name or into the partial binding, with lengths). A parameter occurs at most
 * once per component, so whether parts [i, end) can match from position pos does not depend on
 * the path taken to get there: failures are memoised, which keeps a name with many separators
 * linear in (parts x length) instead of exponential.
 */
typedef struct Slot {
        const char *s;
        size_t n;
} Slot;

typedef struct MatchCtx {
        const Template *t;
        size_t first, end;
        const char *base;
        size_t len;
        Slot *values;
        uint8_t *failed;        /* [(i - first) * (len + 1) + pos] */
} MatchCtx;

static bool match_parts(MatchCtx *m, size_t i, size_t pos) {
        const Template *t = m->t;
        const char *s = m->base + pos;
        size_t rest = m->len - pos, w;
        const TemplatePart *part;
        const TemplateParam *param;
        uint8_t *memo;

        if (i == m->end)
                return rest == 0;
        memo = &m->failed[(i - m->first) * (m->len + 1) + pos];
        if (*memo)
                return false;
        part = &t->parts[i];
        if (part->literal) {
                size_t k = strlen(part->literal);
                if (strneq(s, part->literal, k) && match_parts(m, i + 1, pos + k))
                        return true;
                *memo = 1;
                return false;
        }
        param = &t->params[part->param];
        if (m->values[part->param].s) {
                Slot v = m->values[part->param];
                if (rest >= v.n && memcmp(s, v.s, v.n) == 0 && match_parts(m, i + 1, pos + v.n))
                        return true;
                *memo = 1;
                return false;
        }
        w = param_fixed_width(param->spec.type);
        for (size_t n = w ? w : 1; n <= rest && (!w || n == w); n++) {
                /* Skip ends where the next literal cannot start. */
                if (i + 1 < m->end && t->parts[i + 1].literal &&
                    s[n] != t->parts[i + 1].literal[0])
                        continue;
                if (i + 1 == m->end && n != rest)
                        continue;
                if (!param_value_valid(&param->spec, s, n))
                        continue;
                m->values[part->param] = (Slot){ s, n };
                if (match_parts(m, i + 1, pos + n))
                        return true;
                m->values[part->param] = (Slot){ NULL, 0 };
        }
        *memo = 1;
        return false;
}

static int match_component(const Template *t, const TemplateComponent *c, const char *name,
                           Slot *values) {
        _cleanup_free_ uint8_t *failed = NULL;
        size_t len = strlen(name);
        MatchCtx m = {
                .t = t, .first = c->first, .end = c->first + c->n,
                .base = name, .len = len, .values = values,
        };

        failed = calloc((c->n + 1) * (len + 1), 1);
        if (!failed)
                return -ENOMEM;
        m.failed = failed;
        return match_parts(&m, c->first, 0);
}

static int slots_to_binding(const Template *t, const Slot *values, Binding **ret) {
        _cleanup_(binding_freep) Binding *b = NULL;
        int r;

        r = binding_new(&b);
        if (r < 0)
                return r;
        for (size_t i = 0; i < t->n_params; i++) {
                if (!values[i].s)
                        continue;
                r = binding_setn(b, t->params[i].name, values[i].s, values[i].n);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(b);
        return 0;
}

int template_match_component(const Template *t, size_t idx, const char *name,
                             const Binding *partial, Binding **ret) {
        const TemplateComponent *c = &t->components[idx];
        Slot values[TEMPLATE_MAX_PARAMS] = {};
        int r;

        if (strchr(name, '/') && !(idx == t->n_components - 1 && template_has_path_tail(t)))
                return 0;
        for (size_t i = 0; i < t->n_params; i++) {
                const char *v = binding_get(partial, t->params[i].name);
                if (v)
                        values[i] = (Slot){ v, strlen(v) };
        }
        r = match_component(t, c, name, values);
        if (r <= 0)
                return r;
        return slots_to_binding(t, values, ret) < 0 ? -ENOMEM : 1;
}

int template_match(const Template *t, const char *name, Binding **ret) {
        Slot values[TEMPLATE_MAX_PARAMS] = {};
        _cleanup_free_ char *copy = NULL;
        char *p;
        size_t i = 0;

        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        p = copy;
        for (;;) {
                /* The last component of a template with a path tail takes the rest. */
                bool tail = i + 1 == t->n_components && template_has_path_tail(t);
                char *slash = tail ? NULL : strchr(p, '/');
                const TemplateComponent *c;
                int r;

                if (i >= t->n_components)
                        return 0;
                if (slash)
                        *slash = 0;
                c = &t->components[i++];
                r = match_component(t, c, p, values);
                if (r <= 0)
                        return r;
                if (!slash)
                        break;
                p = slash + 1;
        }
        if (i != t->n_components)
                return 0;
        return slots_to_binding(t, values, ret) < 0 ? -ENOMEM : 1;
}

int template_format(const Template *t, const Binding *b, char **ret) {
        char *s = NULL;
        size_t len = 0;
        FILE *f;
        int r = 0;

        f = open_memstream(&s, &len);
        if (!f)
                return -ENOMEM;
        for (size_t c = 0; c < t->n_components && r == 0; c++) {
                const TemplateComponent *comp = &t->components[c];

                if (c > 0)
                        fputc('/', f);
                for (size_t i = comp->first; i < comp->first + comp->n; i++) {
                        const TemplatePart *part = &t->parts[i];
                        const TemplateParam *param;
                        const char *v;

                        if (part->literal) {
                                fputs(part->literal, f);
                                continue;
                        }
                        param = &t->params[part->param];
                        v = binding_get(b, param->name);
                        if (!v) {
                                r = -ENOKEY;
                                break;
                        }
                        if (!param_value_valid(&param->spec, v, strlen(v))) {
                                r = -EINVAL;
                                break;
                        }
                        fputs(v, f);
                }
        }
        if (fclose(f) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0) {
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}
