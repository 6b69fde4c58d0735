/* SPDX-License-Identifier: MIT */
/*
 * The pipeline file loader. libconfig gives the syntax tree with line numbers; this file reads
 * it into Targets and Tasks, checking as it goes, and keeps going after a problem so that one
 * run reports all of them. The result is used only if the file had no error at all. Pure: the
 * caller prints or logs the Diag.
 */
#include <dirent.h>
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <string.h>

#include "config-internal.h"
#include "util/fs-util.h"
#include "util/strv.h"

static config_t *config_free(config_t *c) {
        if (c) {
                config_destroy(c);
                free(c);
        }
        return NULL;
}
DEFINE_POINTER_CLEANUP(config_t, config_free);

/* The setting whose line was asked last: a problem reported at that line is in its file, which
 * for a member of a definition may be one the definition @includes (locate()). */
static const config_setting_t *located;

unsigned line_of(const config_setting_t *s) {
        located = s;
        return s ? config_setting_source_line(s) : 0;
}

static const char *locate(Diag *d, unsigned line) {
        if (!located || config_setting_source_line(located) != line ||
            !config_setting_source_file(located))
                return NULL;
        return loader_source(d->locate_data, located);
}

/*
 * An included file's name as libconfig records it: as written in @include (1.5) or joined to
 * the include directory (later versions). Made the second, without a leading "./", in messages
 * whatever the version, so that they name a file one can open from where the pipeline was
 * named.
 */
static char *included_path(const char *include_dir, const char *f) {
        size_t n = include_dir ? strlen(include_dir) : 0;
        char *j = NULL;

        if (n > 0 && f[0] != '/' && !(strneq(f, include_dir, n) && f[n] == '/')) {
                if (asprintf(&j, "%s/%s", include_dir, f) < 0)
                        return NULL;
                f = j;
        }
        while (f[0] == '.' && f[1] == '/')
                f += 2;
        f = strdup(f);
        free(j);
        return (char *) f;
}

const char *loader_source(Loader *l, const config_setting_t *s) {
        Pipeline *p = l->pipeline;
        const char *f = s ? config_setting_source_file(s) : NULL;
        char *name;

        /* The pipeline's own text is read from memory, and has no file name in libconfig. */
        if (!p || !f)
                return l->diag->file;
        name = included_path(l->include_dir, f);
        if (!name)
                return p->file;         /* out of memory: the including file, as before */
        STRV_FOREACH(i, p->includes)
                if (streq(*i, name)) {
                        free(name);
                        return *i;
                }
        if (strv_consume(&p->includes, name) < 0)
                return p->file;
        return p->includes[strv_length(p->includes) - 1];
}

const char *type_name(const config_setting_t *s) {
        switch (config_setting_type(s)) {
        case CONFIG_TYPE_GROUP:
                return "a group { ... }";
        case CONFIG_TYPE_ARRAY:
                return "an array [ ... ]";
        case CONFIG_TYPE_LIST:
                return "a list ( ... )";
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
                return "a number";
        case CONFIG_TYPE_FLOAT:
                return "a decimal number";
        case CONFIG_TYPE_STRING:
                return "a string";
        case CONFIG_TYPE_BOOL:
                return "a boolean";
        default:
                return "something else";
        }
}

void check_keys(Loader *l, const config_setting_t *s, char * const *known, const char *subject) {
        Diag *d = l->diag;

        for (int i = 0; i < config_setting_length(s); i++) {
                const config_setting_t *m = config_setting_get_elem(s, (unsigned) i);
                const char *name = config_setting_name(m), *guess;

                if (!name || strv_contains(known, name))
                        continue;
                guess = strv_find_closest(known, name);
                if (guess)
                        diag_error_in(d, loader_source(l, m), line_of(m),
                                      "%sunknown key '%s' (did you mean '%s'?)", subject, name,
                                      guess);
                else
                        diag_error_in(d, loader_source(l, m), line_of(m),
                                      "%sunknown key '%s'", subject, name);
        }
}

bool name_ok(const char *s, bool dash) {
        if (!*s || strlen(s) > 64)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || *s == '_' || (dash && *s == '-')))
                        return false;
        return true;
}

/* Two variable-width wildcards in one component split at the first separator that fits; a
 * value holding that separator is then read as two. Legal, but worth saying. */
static void warn_ambiguous(const Target *t, unsigned line, const char *subject, Diag *d) {
        const Template *tp = t->template;

        for (size_t c = 0; c < tp->n_components; c++) {
                const TemplateComponent *comp = &tp->components[c];
                const char *first = NULL;

                for (size_t i = comp->first; i < comp->first + comp->n; i++) {
                        const TemplatePart *part = &tp->parts[i];
                        const TemplateParam *param;

                        if (part->literal)
                                continue;
                        param = &tp->params[part->param];
                        if (param_fixed_width(param->spec.type) > 0 ||
                            param->spec.type == PARAM_ENUM)
                                continue;
                        if (first) {
                                diag_warning(d, line, "%s'{%s}' and '{%s}' share a path "
                                                      "component: a name is split at the first "
                                                      "separator that fits, so '{%s}' never "
                                                      "holds one",
                                             subject, first, param->name, first);
                                return;
                        }
                        first = param->name;
                }
        }
}

/* deadline = "30h"; on_late = [ "ops" ]: for a target with one time parameter. */
static void parse_deadline(Loader *l, Target *t, const config_setting_t *s, const char *subject) {
        const config_setting_t *dl = config_setting_get_member(s, "deadline"),
                               *late = config_setting_get_member(s, "on_late");
        const Template *tp = t->template;

        if (!dl && !late)
                return;
        if (!dl || !late) {
                diag_error(l->diag, line_of(dl ?: late), "%s'deadline' and 'on_late' go together: "
                           "by when an instance must exist, and whom to tell", subject);
                return;
        }
        if (tp->n_params != 1 || !param_type_is_ordinal(tp->params[0].spec.type) ||
            tp->params[0].spec.type == PARAM_INT) {
                diag_error(l->diag, line_of(dl), "%sa deadline needs a template with one date, "
                           "hour, week or month parameter and no other", subject);
                return;
        }
        if (config_get_span(l, dl, subject, &t->deadline) < 0)
                return;
        t->on_late = string_list(l, late, subject, "on_late", "[ \"ops\" ]");
        for (char **n = t->on_late; n && *n; n++)
                if (l->daemon && !daemon_config_find_notifier(l->daemon, *n))
                        diag_error(l->diag, line_of(late), "%son_late: no notifier '%s' in "
                                   "sluiced.conf", subject, *n);
}

static void parse_target_in(Loader *l, const config_setting_t *s) {
        Pipeline *p = l->pipeline;
        Diag *d = l->diag;
        _cleanup_strv_free_ char **known = NULL;
        _cleanup_(target_freep) Target *t = NULL;
        const char *name = config_setting_name(s), *text;
        const config_setting_t *key = NULL;
        const TargetKind *kind = NULL;
        _cleanup_free_ char *subject = NULL, *err = NULL;
        int r;

        if (asprintf(&subject, "target '%s': ", name) < 0)
                return;
        /* Until it is added at the end, the target counts as broken: a task naming it gets no
         * second message for the same problem. */
        (void) strv_extend(&l->broken_targets, name);
        if (!config_setting_is_group(s)) {
                diag_error(d, line_of(s), "%smust be a group like { path = \"...\"; }, not %s",
                           subject, type_name(s));
                return;
        }
        for (size_t i = 0; target_kinds[i]; i++) {
                const config_setting_t *k = config_setting_get_member(s, target_kinds[i]->name);

                (void) strv_extend(&known, target_kinds[i]->name);
                if (!k)
                        continue;
                if (kind) {
                        diag_error(d, line_of(k), "%sis both '%s' and '%s'; choose one", subject,
                                   kind->name, target_kinds[i]->name);
                        return;
                }
                kind = target_kinds[i];
                key = k;
        }
        if (!kind) {
                _cleanup_free_ char *kinds = NULL;

                (void) strv_join(known, ", ", &kinds);
                /* A kind's key mistyped ("pth") is the likely cause: named, where it is. */
                for (int i = 0; i < config_setting_length(s); i++) {
                        const config_setting_t *m = config_setting_get_elem(s, (unsigned) i);
                        const char *n = config_setting_name(m), *guess;

                        guess = n ? strv_find_closest(known, n) : NULL;
                        if (guess) {
                                diag_error(d, line_of(m), "%sunknown key '%s' (did you mean "
                                           "'%s'?): a target says where its data is with one "
                                           "of: %s", subject, n, guess, strempty(kinds));
                                return;
                        }
                }
                diag_error(d, line_of(s), "%ssays where its data is with one of: %s", subject,
                           strempty(kinds));
                return;
        }
        for (const char * const *k = kind->keys; k && *k; k++)
                (void) strv_extend(&known, *k);
        (void) strv_extend(&known, "deadline");
        (void) strv_extend(&known, "on_late");
        check_keys(l, s, known, subject);

        text = config_setting_get_string(key);
        if (!text) {
                diag_error(d, line_of(key), "%s'%s' must be a string, not %s", subject,
                           kind->name, type_name(key));
                return;
        }
        if (target_new(kind, &t) < 0)
                return;
        t->name = strdup(name);
        t->file = l->diag->file ? strdup(l->diag->file) : NULL;
        t->line = line_of(s);
        t->pipeline = p;
        if (!t->name || (l->diag->file && !t->file))
                return;
        r = template_parse(text, &t->template, &err);
        if (r < 0) {
                diag_error(d, line_of(key), "%s%s '%s': %s", subject, kind->name, text,
                           err ?: "out of memory");
                return;
        }
        warn_ambiguous(t, line_of(key), subject, d);
        parse_deadline(l, t, s, subject);
        if (kind->parse) {
                unsigned before = d->n_errors;
                r = kind->parse(t, s, d);
                if (r < 0 || d->n_errors > before)
                        return;
        }
        if (pipeline_add_target(p, t) < 0)
                return;
        TAKE_PTR(t);
        free(l->broken_targets[strv_length(l->broken_targets) - 1]);
        l->broken_targets[strv_length(l->broken_targets) - 1] = NULL;
}

/* A definition in an @included file is reported there: libconfig knows each setting's file. */
static void parse_target(Loader *l, const config_setting_t *s) {
        const char *saved = l->diag->file;

        l->diag->file = loader_source(l, s);
        parse_target_in(l, s);
        l->diag->file = saved;
}

/* Producers, consumers, and the checks that need all tasks: one producer per target, no cycle. */
void loader_note_task(Loader *l, Task *task, bool rejected) {
        Task **n = reallocarray(l->tasks, l->n_tasks + 1, sizeof(Task *));
        Task **b = rejected ? reallocarray(l->broken, l->n_broken + 1, sizeof(Task *)) : NULL;

        if (n)
                l->tasks = n;
        if (b)
                l->broken = b;
        if (!n || (rejected && !b)) {
                if (rejected)
                        task_free(task);
                return;         /* out of memory: only a cross-check is lost */
        }
        l->tasks[l->n_tasks++] = task;
        if (rejected)
                l->broken[l->n_broken++] = task;
}

Task *loader_find_task(const Loader *l, const char *name) {
        for (size_t i = 0; i < l->n_tasks; i++)
                if (streq(l->tasks[i]->name, name))
                        return l->tasks[i];
        return NULL;
}

void loader_done(Loader *l) {
        for (size_t i = 0; i < l->n_broken; i++)
                task_free(l->broken[i]);
        free(l->broken);
        free(l->tasks);
        strv_free(l->broken_targets);
}

/* One producer per target, told in the file's order, among every task read, rejected or not. */
static void check_producers(const Loader *l) {
        for (size_t i = 0; i < l->n_tasks; i++)
                for (size_t j = 0; j < l->tasks[i]->n_outputs; j++) {
                        const Target *t = l->tasks[i]->outputs[j];
                        const Task *first = NULL;

                        for (size_t k = 0; k < i && !first; k++)
                                for (size_t o = 0; o < l->tasks[k]->n_outputs; o++)
                                        if (l->tasks[k]->outputs[o] == t)
                                                first = l->tasks[k];
                        if (first)
                                diag_error_in(l->diag, l->tasks[i]->file, l->tasks[i]->line,
                                              "task '%s': target '%s' is already produced by "
                                              "task '%s'", l->tasks[i]->name, t->name,
                                              first->name);
                }
}

static void link_tasks(Pipeline *p, Diag *d) {
        for (size_t i = 0; i < p->n_tasks; i++) {
                Task *task = p->tasks[i];

                for (size_t j = 0; j < task->n_outputs; j++) {
                        Target *t = task->outputs[j];

                        /* One producer: check_producers() said otherwise before. */
                        t->producer = task;
                        if (t->kind->check_output) {
                                const char *saved = d->file;

                                d->file = t->file;
                                t->kind->check_output(t, task->name, d);
                                d->file = saved;
                        }
                }
                for (size_t j = 0; j < task->n_inputs; j++) {
                        Target *t = task->inputs[j].target;
                        Task **n;
                        bool have = false;

                        for (size_t k = 0; k < t->n_consumers; k++)
                                have = have || t->consumers[k] == task;
                        if (have)
                                continue;
                        n = reallocarray(t->consumers, t->n_consumers + 1, sizeof(Task *));
                        if (!n)
                                return;
                        t->consumers = n;
                        n[t->n_consumers++] = task;
                }
        }
}

/* Whether task reads t only for earlier instances of itself (checked in config-task.c). */
static bool reads_only_earlier(const Task *task, const Target *t) {
        for (size_t i = 0; i < task->n_inputs; i++)
                if (task->inputs[i].target == t && !task->inputs[i].earlier)
                        return false;
        return true;
}

/* Depth-first search over task -> consumers of its outputs; state 1 = on the path, which
 * path[0 .. depth) holds, for the message. */
static bool find_cycle(Task *task, uint8_t *state, Task **path, size_t depth, Pipeline *p,
                       Diag *d) {
        size_t idx = 0;

        while (p->tasks[idx] != task)
                idx++;
        if (state[idx] == 1) {
                _cleanup_free_ char *chain = NULL;
                size_t from = 0;
                FILE *f;
                size_t len;

                while (path[from] != task)
                        from++;
                f = open_memstream(&chain, &len);
                for (size_t k = from; f && k < depth; k++)
                        fprintf(f, "%s -> ", path[k]->name);
                if (f)
                        fprintf(f, "%s", task->name);
                if (f && fclose(f) != 0)
                        chain = mfree(chain);
                diag_error_in(d, task->file, task->line,
                              "task '%s' depends on its own outputs (a cycle: %s)", task->name,
                              strna(chain));
                return true;
        }
        if (state[idx] == 2)
                return false;
        state[idx] = 1;
        path[depth] = task;
        for (size_t i = 0; i < task->n_outputs; i++)
                for (size_t j = 0; j < task->outputs[i]->n_consumers; j++) {
                        Task *c = task->outputs[i]->consumers[j];

                        if (c == task && reads_only_earlier(c, task->outputs[i]))
                                continue;
                        if (find_cycle(c, state, path, depth + 1, p, d))
                                return true;
                }
        state[idx] = 2;
        return false;
}

static void check_cycles(Pipeline *p, Diag *d) {
        _cleanup_free_ uint8_t *state = calloc(p->n_tasks + 1, 1);
        _cleanup_free_ Task **path = calloc(p->n_tasks + 1, sizeof(Task *));

        if (!state || !path)
                return;
        for (size_t i = 0; i < p->n_tasks; i++)
                if (find_cycle(p->tasks[i], state, path, 0, p, d))
                        return;
}

static int pipeline_name_from_path(const char *path, char **ret) {
        _cleanup_free_ char *base = NULL;
        char *dot;
        int r;

        r = path_split(path, NULL, &base);
        if (r < 0)
                return r;
        dot = strrchr(base, '.');
        if (dot && streq(dot, ".conf"))
                *dot = 0;
        *ret = TAKE_PTR(base);
        return 0;
}

int config_load_pipeline(const char *path, const DaemonConfig *dc, Pipeline **ret, Diag *d) {
        _cleanup_free_ char *text = NULL, *dir = NULL;
        const char *saved = d->file;
        int r;

        r = read_file(path, CONFIG_MAX_SIZE, &text, NULL);
        if (r < 0) {
                d->file = path;
                errno = -r;
                if (r == -EFBIG)
                        diag_error(d, 0, "larger than %d MiB; not a pipeline file",
                                   CONFIG_MAX_SIZE >> 20);
                else
                        diag_error(d, 0, "cannot read: %m");
                d->file = saved;
                return -EINVAL;
        }
        /* @include "x.conf" means x.conf next to the file, not in the daemon's directory. */
        r = path_split(path, &dir, NULL);
        if (r < 0)
                return r;
        return config_load_pipeline_text(path, text, dir, dc, ret, d);
}

/* libconfig says only "cannot open include file": name it, from the line it points at. Debian's
 * libconfig 1.5 puts the include directory in front of an absolute path too. */
static void report_include_error(Diag *d, const config_t *cfg, const char *text,
                                 const char *include_dir) {
        unsigned line = (unsigned) config_error_line(cfg);
        const char *l = text, *q, *end;

        for (unsigned k = 1; l && k < line; k++)
                l = (l = strchr(l, '\n')) ? l + 1 : NULL;
        q = l ? strstr(l, "@include") : NULL;
        end = l ? strchrnul(l, '\n') : NULL;
        if (q && q < end && (q = strchr(q, '"')) && q < end && (end = strchr(q + 1, '"'))) {
                int n = (int) (end - q - 1);

                if (q[1] == '/' && include_dir)
                        diag_error(d, line, "cannot read the included file '%.*s': it is looked "
                                   "for as '%s/%.*s' (libconfig reads an absolute path under "
                                   "the pipeline file's directory); give it relative to that "
                                   "directory", n, q + 1, include_dir, n, q + 1);
                else
                        diag_error(d, line, "cannot read the included file '%.*s' (looked for "
                                   "under '%s')", n, q + 1, strempty(include_dir));
                return;
        }
        config_report_read_error(d, cfg);
}

int config_load_pipeline_text(const char *path, const char *text, const char *include_dir,
                              const DaemonConfig *dc, Pipeline **ret, Diag *d) {
        static char * const known[] = { "targets", "tasks", "limits", NULL };
        _cleanup_(pipeline_freep) Pipeline *p = NULL;
        _cleanup_(config_freep) config_t *cfg = NULL;
        const config_setting_t *root, *s;
        Loader l = { .diag = d, .daemon = dc, .include_dir = include_dir };
        size_t errors = d->n_errors;
        const char *saved = d->file, *saved_top = d->top;
        int r;

        p = calloc(1, sizeof(Pipeline));
        if (!p)
                return -ENOMEM;
        p->file = strdup(path);
        if (!p->file)
                return -ENOMEM;
        r = pipeline_name_from_path(path, &p->name);
        if (r < 0)
                return r;
        if (!strstr(text, "@include")) {
                p->source = strdup(text);
                if (!p->source)
                        return -ENOMEM;
        }
        l.pipeline = p;
        cfg = malloc(sizeof(config_t));
        if (!cfg)
                return -ENOMEM;
        config_init(cfg);
        if (include_dir)
                config_set_include_dir(cfg, include_dir);
        d->file = d->top = path;
        if (!config_read_string(cfg, text)) {
                const char *in = config_error_file(cfg);
                _cleanup_free_ char *in_path = in ? included_path(include_dir, in) : NULL,
                                    *in_text = NULL;

                /* In an @included file (a nested @include among them): there, in its text. */
                if (in_path) {
                        d->file = in_path;
                        (void) read_file(in_path, CONFIG_MAX_SIZE, &in_text, NULL);
                }
                if (config_error_type(cfg) == CONFIG_ERR_FILE_IO ||
                    strstr(strempty(config_error_text(cfg)), "include"))
                        report_include_error(d, cfg, in_path ? in_text : text, include_dir);
                else
                        config_report_read_error(d, cfg);
                d->file = saved;
                d->top = saved_top;
                return -EINVAL;
        }
        /* From here on a problem's line names its setting's file. Not before: located may be
         * a setting of a configuration freed since. */
        located = NULL;
        d->locate = locate;
        d->locate_data = &l;
        if (!name_ok(p->name, true))
                diag_error(d, 0, "pipeline name '%s' (from the file name) may have 1 to 64 "
                                 "letters, digits, '_' and '-' only: it becomes part of unit "
                                 "names", p->name);

        root = config_root_setting(cfg);
        check_keys(&l, root, known, "");
        s = config_setting_get_member(root, "targets");
        if (!s)
                diag_error(d, 0, "no 'targets' group");
        else if (!config_setting_is_group(s))
                diag_error_in(d, loader_source(&l, s), line_of(s),
                              "'targets' must be a group { name = { ... }; }, not %s",
                              type_name(s));
        else
                for (int i = 0; i < config_setting_length(s); i++)
                        parse_target(&l, config_setting_get_elem(s, (unsigned) i));
        p->limits = LIMITS_UNSET;
        s = config_setting_get_member(root, "limits");
        if (s) {
                d->file = loader_source(&l, s);
                config_parse_limits(&l, &p->limits, s, "pipeline: ", false);
                d->file = path;
        }
        s = config_setting_get_member(root, "tasks");
        if (!s)
                diag_error(d, 0, "no 'tasks' list");
        else if (!config_setting_is_list(s))
                diag_error_in(d, loader_source(&l, s), line_of(s),
                              "'tasks' must be a list ( { ... }, { ... } ), not %s",
                              type_name(s));
        else
                for (int i = 0; i < config_setting_length(s); i++)
                        parse_task(&l, config_setting_get_elem(s, (unsigned) i), (size_t) i);

        check_producers(&l);
        if (d->n_errors == errors) {
                link_tasks(p, d);
                if (d->n_errors == errors)
                        check_cycles(p, d);
                if (d->n_errors == errors)
                        check_overlapping_targets(p, d);
        }
        d->file = saved;
        d->top = saved_top;
        d->locate = NULL;
        d->locate_data = NULL;
        located = NULL;
        loader_done(&l);
        if (d->n_errors > errors)
                return -EINVAL;
        *ret = TAKE_PTR(p);
        return 0;
}

void pipelines_free(Pipeline **p, size_t n) {
        for (size_t i = 0; i < n; i++)
                pipeline_free(p[i]);
        free(p);
}

void config_report_read_error(Diag *d, const config_t *cfg) {
        unsigned line = (unsigned) config_error_line(cfg);
        const char *text = config_error_text(cfg);

        if (config_error_type(cfg) == CONFIG_ERR_FILE_IO)
                diag_error(d, line, "cannot read an included file");
        else if (text && streq(text, "syntax error"))
                diag_error(d, line, "syntax error at or before this line (a missing ';' or "
                                    "',', an unclosed '{', '(', '[' or '\"', a ',' after the "
                                    "last element of a list, or a mismatched closing bracket)");
        else
                diag_error(d, line, "%s", strna(text));
}

static int conf_filter(const struct dirent *de) {
        size_t n = strlen(de->d_name);

        return de->d_name[0] != '.' && n > 5 && streq(de->d_name + n - 5, ".conf");
}

int config_pipeline_names(const char *dir, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        struct dirent **names = NULL;
        int n, r = 0;

        n = scandir(dir, &names, conf_filter, alphasort);
        if (n < 0)
                return -errno;
        for (int i = 0; i < n; i++) {
                char *name = NULL;

                if (r >= 0)
                        r = pipeline_name_from_path(names[i]->d_name, &name);
                if (r >= 0)
                        r = strv_consume(&l, name);
                free(names[i]);
        }
        free(names);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

typedef struct Produced {
        UT_hash_handle hh;
        Target *target;
        size_t pipeline;        /* index into the list */
        char key[];             /* kind, then the template's shape */
} Produced;

static void shared_output(Diag *d, const Target *t, const Pipeline *p, const Target *other,
                          const Pipeline *other_p) {
        diag_error_in(d, t->file ?: p->file, t->line, "target '%s' (%s) is also produced by task "
                      "'%s' of pipeline '%s' (%s:%u): both would run and write it; keep one of "
                      "them", t->name, t->template->text, other->producer->name, other_p->name,
                      other->file ?: other_p->file, other->line);
}

/* Files that two pipeline files both produce (a file copied to try a change, say): both
 * files are refused, so that neither runs alongside the other (each would run every task
 * and overwrite the other's outputs), and a running version of either is kept as it is. */
static void reject_shared_outputs(Pipeline **list, size_t n, bool *bad, Diag *d) {
        Produced *seen = NULL, *x, *tmp;

        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < list[i]->n_targets; k++) {
                        Target *t = list[i]->targets[k];
                        _cleanup_free_ char *shape = NULL;
                        Produced *p;
                        size_t len;

                        /* Files only: for the other kinds the template alone does not say
                         * where (a postgres target's database, an s3 target's endpoint). */
                        if (!t->producer || t->kind->id != TARGET_KIND_PATH ||
                            !(shape = template_shape(t->template)))
                                continue;
                        len = strlen(t->kind->name) + 1 + strlen(shape);
                        p = malloc(sizeof(Produced) + len + 1);
                        if (!p)
                                continue;
                        snprintf(p->key, len + 1, "%s\t%s", t->kind->name, shape);
                        HASH_FIND(hh, seen, p->key, len, x);
                        if (x && x->pipeline != i) {
                                bad[i] = bad[x->pipeline] = true;
                                shared_output(d, t, list[i], x->target, list[x->pipeline]);
                                shared_output(d, x->target, list[x->pipeline], t, list[i]);
                        }
                        if (x) {
                                free(p);
                                continue;
                        }
                        p->target = t;
                        p->pipeline = i;
                        HASH_ADD(hh, seen, key, len, p);
                }
        HASH_ITER(hh, seen, x, tmp) {
                HASH_DEL(seen, x);
                free(x);
        }
}

int config_load_directory(const char *dir, const DaemonConfig *dc, Pipeline ***ret, size_t *ret_n,
                          char ***ret_rejected, Diag *d) {
        _cleanup_strv_free_ char **bad = NULL;
        struct dirent **names = NULL;
        Pipeline **list = NULL;
        size_t n_list = 0;
        int n, rejected = 0;

        n = scandir(dir, &names, conf_filter, alphasort);
        if (n < 0) {
                int r = -errno;
                d->file = dir;
                diag_error(d, 0, "cannot read directory: %m");
                d->file = NULL;
                return r;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                Pipeline *p = NULL, **m;

                if (path_join(dir, names[i]->d_name, &path) >= 0 &&
                    config_load_pipeline(path, dc, &p, d) >= 0 &&
                    (m = reallocarray(list, n_list + 1, sizeof(Pipeline *)))) {
                        list = m;
                        list[n_list++] = p;
                } else {
                        pipeline_free(p);
                        rejected++;
                        if (path)
                                (void) strv_extend(&bad, path);
                }
                free(names[i]);
        }
        free(names);
        if (n_list > 1) {
                _cleanup_free_ bool *shared = calloc(n_list, sizeof(bool));
                size_t kept = 0;

                if (shared) {
                        reject_shared_outputs(list, n_list, shared, d);
                        reject_loops_across_files(list, n_list, shared, d);
                }
                for (size_t i = 0; i < n_list; i++) {
                        if (!shared || !shared[i]) {
                                list[kept++] = list[i];
                                continue;
                        }
                        rejected++;
                        (void) strv_extend(&bad, list[i]->file);
                        pipeline_free(list[i]);
                }
                n_list = kept;
        }
        *ret = list;
        *ret_n = n_list;
        if (ret_rejected)
                *ret_rejected = TAKE_PTR(bad);
        return rejected;
}
