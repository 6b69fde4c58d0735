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

char *template_shape(const Template *t) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        if (!f)
                return NULL;
        for (size_t k = 0; k < t->n_parts; k++) {
                _cleanup_free_ char *spec = NULL;

                if (t->parts[k].literal)
                        fputs(t->parts[k].literal, f);
                else if (param_spec_to_string(&t->params[t->parts[k].param].spec, &spec) >= 0)
                        fprintf(f, "{:%s}", spec);
                else
                        fputs("{:?}", f);
        }
        if (fclose(f) != 0) {
                free(out);
                return NULL;
        }
        return out;
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
 * The backtracking matcher. values[] holds what is bound so far (borrowed pointers into the
 * name or into the partial binding, with lengths). Components are matched left to right, and a
 * component's split is revisited when a later component cannot match, since a parameter may
 * repeat there ("/{a}-{b}/{b}" against "/p-q-r/r" needs a="p-q").
 *
 * Whether parts [i, end) of component c can match from position pos is fixed, unless c shares
 * a parameter with another component. In that common case failures are memoised, which keeps a name full of separators linear in (parts x length)
 * instead of exponential; otherwise a step budget bounds the search.
 */
typedef struct Slot {
        const char *s;
        size_t n;
} Slot;

#define MATCH_BUDGET 1000000

typedef struct Matcher {
        const Template *t;
        char **names;           /* one per component in [first, end) */
        size_t first, end;      /* components to match */
        Slot *values;
        uint8_t **failed;       /* per component: [(i - c.first) * (len + 1) + pos], or NULL */
        size_t budget;
} Matcher;

static bool match_from(Matcher *m, size_t c);

static bool match_parts(Matcher *m, size_t c, size_t i, size_t pos) {
        const Template *t = m->t;
        const TemplateComponent *comp = &t->components[c];
        const char *name = m->names[c - m->first], *s = name + pos;
        size_t len = strlen(name), rest = len - pos, end = comp->first + comp->n, w;
        const TemplatePart *part;
        uint8_t *memo = NULL;

        if (m->budget == 0)
                return false;
        m->budget--;
        if (i == end)
                return rest == 0 && match_from(m, c + 1);
        if (m->failed[c - m->first]) {
                memo = &m->failed[c - m->first][(i - comp->first) * (len + 1) + pos];
                if (*memo)
                        return false;
        }
        part = &t->parts[i];
        if (part->literal) {
                size_t k = strlen(part->literal);
                if (strneq(s, part->literal, k) && match_parts(m, c, i + 1, pos + k))
                        return true;
        } else if (m->values[part->param].s) {
                Slot v = m->values[part->param];
                if (rest >= v.n && memcmp(s, v.s, v.n) == 0 && match_parts(m, c, i + 1, pos + v.n))
                        return true;
        } else {
                const TemplateParam *param = &t->params[part->param];

                w = param_fixed_width(param->spec.type);
                for (size_t n = w ? w : 1; n <= rest && (!w || n == w); n++) {
                        /* Skip ends where the next literal cannot start. */
                        if (i + 1 < end && t->parts[i + 1].literal &&
                            s[n] != t->parts[i + 1].literal[0])
                                continue;
                        if (i + 1 == end && n != rest)
                                continue;
                        if (!param_value_valid(&param->spec, s, n))
                                continue;
                        m->values[part->param] = (Slot){ s, n };
                        if (match_parts(m, c, i + 1, pos + n))
                                return true;
                        m->values[part->param] = (Slot){ NULL, 0 };
                }
        }
        if (memo)
                *memo = 1;
        return false;
}

static bool match_from(Matcher *m, size_t c) {
        if (c == m->end)
                return true;
        return match_parts(m, c, m->t->components[c].first, 0);
}

/* Whether component c shares a parameter with another component in [first, end): then what it
 * can match depends on choices made elsewhere, and its failures cannot be memoised. */
static bool shares_params(const Template *t, size_t c, size_t first, size_t end) {
        const TemplateComponent *a = &t->components[c];
        size_t lo = t->components[first].first;
        size_t hi = t->components[end - 1].first + t->components[end - 1].n;

        for (size_t i = a->first; i < a->first + a->n; i++) {
                if (t->parts[i].literal)
                        continue;
                for (size_t j = lo; j < hi; j++)
                        if ((j < a->first || j >= a->first + a->n) && !t->parts[j].literal &&
                            t->parts[j].param == t->parts[i].param)
                                return true;
        }
        return false;
}

/* Matches names[] against components [first, end); 1 on a match with values[] filled. */
static int run_matcher(const Template *t, char **names, size_t first, size_t end,
                       Slot *values) {
        uint8_t *failed[end - first];
        Matcher m = {
                .t = t, .names = names, .first = first, .end = end,
                .values = values, .failed = failed, .budget = MATCH_BUDGET,
        };
        bool ok;

        for (size_t c = first; c < end; c++) {
                failed[c - first] = NULL;
                if (shares_params(t, c, first, end))
                        continue;
                failed[c - first] = calloc((t->components[c].n + 1) * (strlen(names[c - first]) + 1),
                                           1);
                if (!failed[c - first]) {
                        for (size_t k = first; k < c; k++)
                                free(failed[k - first]);
                        return -ENOMEM;
                }
        }
        ok = match_from(&m, first);
        for (size_t c = first; c < end; c++)
                free(failed[c - first]);
        return ok;
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
        Slot values[TEMPLATE_MAX_PARAMS] = {};
        char *names[] = { (char *) name };
        int r;

        if (strchr(name, '/') && !(idx == t->n_components - 1 && template_has_path_tail(t)))
                return 0;
        for (size_t i = 0; i < t->n_params; i++) {
                const char *v = binding_get(partial, t->params[i].name);
                if (v)
                        values[i] = (Slot){ v, strlen(v) };
        }
        r = run_matcher(t, names, idx, idx + 1, values);
        if (r <= 0)
                return r;
        return slots_to_binding(t, values, ret) < 0 ? -ENOMEM : 1;
}

int template_match(const Template *t, const char *name, Binding **ret) {
        Slot values[TEMPLATE_MAX_PARAMS] = {};
        _cleanup_free_ char *copy = NULL;
        char *names[t->n_components], *p;
        size_t n = 0;
        int r;

        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        /* Split into components; the last one of a template with a path tail takes the rest. */
        for (p = copy; n < t->n_components; n++) {
                bool tail = n + 1 == t->n_components && template_has_path_tail(t);
                char *slash = tail ? NULL : strchr(p, '/');

                names[n] = p;
                if (!slash) {
                        n++;
                        break;
                }
                *slash = 0;
                p = slash + 1;
                if (n + 1 == t->n_components)
                        return 0;       /* more components than the template has */
        }
        if (n != t->n_components)
                return 0;
        r = run_matcher(t, names, 0, t->n_components, values);
        if (r <= 0)
                return r;
        return slots_to_binding(t, values, ret) < 0 ? -ENOMEM : 1;
}

/* The piece of the location that part i stands for; NULL with *r set when it cannot. */
static const char *part_text(const Template *t, size_t i, const Binding *b, int *r) {
        const TemplatePart *part = &t->parts[i];
        const TemplateParam *param;
        const char *v;

        if (part->literal)
                return part->literal;
        param = &t->params[part->param];
        v = binding_get(b, param->name);
        if (!v)
                *r = -ENOKEY;
        else if (!param_value_valid(&param->spec, v, strlen(v)))
                *r = -EINVAL;
        return *r < 0 ? NULL : v;
}

int template_format_escaped(const Template *t, const Binding *b, char *(*escape)(const char *v),
                            char **ret) {
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);
        int r = 0;

        if (!f)
                return -ENOMEM;
        for (size_t c = 0; c < t->n_components && r >= 0; c++) {
                const TemplateComponent *comp = &t->components[c];

                if (c > 0)
                        fputc('/', f);
                for (size_t i = comp->first; i < comp->first + comp->n && r >= 0; i++) {
                        const char *v = part_text(t, i, b, &r);
                        char *e;

                        if (!v)
                                break;
                        if (t->parts[i].literal) {
                                fputs(v, f);
                                continue;
                        }
                        e = escape(v);
                        if (!e)
                                r = -ENOMEM;
                        else
                                fputs(e, f);
                        free(e);
                }
        }
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int template_format(const Template *t, const Binding *b, char **ret) {
        size_t len = 0;
        char *s, *p;
        int r = 0;

        /* Measured, then written: this runs for every output a scan checks. */
        for (size_t c = 0; c < t->n_components; c++) {
                const TemplateComponent *comp = &t->components[c];

                len += c > 0;
                for (size_t i = comp->first; i < comp->first + comp->n; i++) {
                        const char *v = part_text(t, i, b, &r);
                        if (!v)
                                return r;
                        len += strlen(v);
                }
        }
        s = p = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        for (size_t c = 0; c < t->n_components; c++) {
                const TemplateComponent *comp = &t->components[c];

                if (c > 0)
                        *p++ = '/';
                for (size_t i = comp->first; i < comp->first + comp->n; i++)
                        p = stpcpy(p, part_text(t, i, b, &r));
        }
        *p = 0;
        *ret = s;
        return 0;
}
