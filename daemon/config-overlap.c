/* SPDX-License-Identifier: MIT */
/*
 * Targets whose templates name the same files. What a task writes to one target is an arrival
 * at every other target that matches it: "/w/{s}.fastq" matches what a task writes to
 * "/w/{s}.trimmed.fastq", with s = "S1.trimmed". When the task that reads that other target
 * leads back to the writer, each run's output starts the next run, without end (until the
 * names outgrow the file system): an error, where Snakemake would stop at an ambiguous rule.
 * Otherwise a warning, since one task reading another's outputs that way may be meant.
 *
 * Found by writing one name of each output template with plain values and matching it against
 * the other templates: it finds the shapes people write (a suffix or a prefix in one
 * directory), not every pair of templates that could share a name.
 */
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "mapping.h"
#include "template.h"
#include "util/hash.h"

/* Plain values of each type, the kind a file name holds. */
static const char *sample_value(const ParamSpec *p) {
        switch (p->type) {
        case PARAM_INT:
                return "7";
        case PARAM_DATE:
                return "2026-11-27";
        case PARAM_HOUR:
                return "2026-11-27T13";
        case PARAM_MONTH:
                return "2026-11";
        case PARAM_WEEK:
                return "2026-W48";
        case PARAM_ENUM:
                return p->enum_values && p->enum_values[0] ? p->enum_values[0] : "x";
        case PARAM_PATH:
                return "a/b";
        default:
                return "s1";
        }
}

static char *sample_name(const Template *t) {
        _cleanup_(binding_freep) Binding *b = NULL;
        char *name = NULL;

        if (binding_new(&b) < 0)
                return NULL;
        for (size_t i = 0; i < t->n_params; i++)
                if (binding_set(b, t->params[i].name, sample_value(&t->params[i].spec)) < 0)
                        return NULL;
        return template_format(t, b, &name) < 0 ? NULL : name;
}

/* Whether the outputs of from lead to to, through the tasks that read them. */
static bool leads_to(const Pipeline *p, const Task *from, const Task *to, uint8_t *seen) {
        size_t idx = 0;

        if (from == to)
                return true;
        while (p->tasks[idx] != from)
                idx++;
        if (seen[idx])
                return false;
        seen[idx] = 1;
        for (size_t i = 0; i < from->n_outputs; i++)
                for (size_t j = 0; j < from->outputs[i]->n_consumers; j++)
                        if (leads_to(p, from->outputs[i]->consumers[j], to, seen))
                                return true;
        return false;
}

/* The targets that tasks read, by the literal text their template starts with: a name can only
 * match a template whose leading text it starts with, so each output's name is matched against
 * those found under its own prefixes, not against every target of the file (a generated file
 * of 10,000 tasks would take seconds). */
typedef struct Lead {
        const char *text;       /* the key: the template's text up to its first wildcard */
        size_t len;
        const Target **targets;
        size_t n;
        UT_hash_handle hh;
} Lead;

static void leads_free(Lead **index) {
        Lead *l, *tmp;

        HASH_ITER(hh, *index, l, tmp) {
                HASH_DEL(*index, l);
                free(l->targets);
                free(l);
        }
}

static int leads_add(Lead **index, const Pipeline *p) {
        for (size_t i = 0; i < p->n_targets; i++) {
                const Target *t = p->targets[i];
                size_t len = strcspn(t->template->text, "{");
                const Target **n;
                Lead *l;

                if (t->n_consumers == 0)
                        continue;
                HASH_FIND(hh, *index, t->template->text, len, l);
                if (!l) {
                        l = calloc(1, sizeof(Lead));
                        if (!l)
                                return -ENOMEM;
                        l->text = t->template->text;
                        l->len = len;
                        HASH_ADD_KEYPTR(hh, *index, l->text, l->len, l);
                }
                n = reallocarray(l->targets, l->n + 1, sizeof(Target *));
                if (!n)
                        return -ENOMEM;
                l->targets = n;
                l->targets[l->n++] = t;
        }
        return 0;
}

/* Whether reader takes the instance b of other: an input of it on other whose constants (source
 * = web) all agree with b. A name that matches the template but not the constant concerns no
 * instance of the reader. */
static bool reader_takes(const Task *reader, const Target *other, const Binding *b) {
        for (size_t k = 0; k < reader->n_inputs; k++) {
                const TaskInput *in = &reader->inputs[k];
                bool agree = in->target == other;

                for (size_t j = 0; agree && j < in->n_maps; j++)
                        agree = in->maps[j].expr->kind != EXPR_CONST ||
                                streq_ptr(binding_get(b, in->maps[j].param),
                                          in->maps[j].expr->value);
                if (agree)
                        return true;
        }
        return false;
}

static void check_pair(const Pipeline *p, Task *task, const Target *out, const Target *other,
                       const char *name, Diag *d) {
        _cleanup_(binding_freep) Binding *b = NULL;

        if (other == out || other->kind != out->kind ||
            template_match(other->template, name, &b) <= 0)
                return;
        for (size_t j = 0; j < other->n_consumers; j++) {
                Task *reader = other->consumers[j];
                _cleanup_free_ uint8_t *seen = NULL;
                const char *saved = d->file;

                if (!reader_takes(reader, other, b))
                        continue;
                seen = calloc(p->n_tasks, 1);
                if (!seen)
                        return;
                d->file = task->file;
                if (leads_to(p, reader, task, seen))
                        diag_error(d, task->line,
                                   "task '%s': what it writes to '%s' is also target '%s' "
                                   "(a name such as '%s' matches both), which task '%s' "
                                   "reads: each run's output would start another run, "
                                   "without end. Keep the two apart: another directory, "
                                   "prefix or suffix, or a parameter type that cannot "
                                   "match the other's names",
                                   task->name, out->name, other->name, name, reader->name);
                else
                        diag_warning(d, task->line,
                                     "task '%s': what it writes to '%s' is also target "
                                     "'%s' (a name such as '%s' matches both): task '%s' "
                                     "runs on it too",
                                     task->name, out->name, other->name, name, reader->name);
                d->file = saved;
        }
}

static void check_output(const Pipeline *p, Lead *index, Task *task, const Target *out,
                         Diag *d) {
        _cleanup_free_ char *name = sample_name(out->template);

        if (!name)
                return;
        for (size_t k = 0, len = strlen(name); k <= len; k++) {
                Lead *l;

                HASH_FIND(hh, index, name, k, l);
                for (size_t i = 0; l && i < l->n; i++)
                        check_pair(p, task, out, l->targets[i], name, d);
        }
}

void check_overlapping_targets(const Pipeline *p, Diag *d) {
        Lead *index = NULL;

        if (leads_add(&index, p) < 0) {
                leads_free(&index);
                return;
        }
        for (size_t i = 0; i < p->n_tasks; i++)
                for (size_t j = 0; j < p->tasks[i]->n_outputs; j++)
                        check_output(p, index, p->tasks[i], p->tasks[i]->outputs[j], d);
        leads_free(&index);
}

/*
 * Across files: one pipeline's output that another pipeline's target also names is an arrival
 * there, which is how pipelines chain. When that leads back, through the other file's tasks
 * and any number of files, to the task that wrote it, the chain runs without end (two files
 * with rerun = "newer", each reading what the other writes, ran 73 times in 5 s). Found by a
 * depth-first search over every task of every file: the edges of each file, and the edges
 * between files that the names of outputs give.
 */
typedef struct TaskIndex {
        const Task *task;       /* the key */
        size_t idx;
        UT_hash_handle hh;
} TaskIndex;

typedef struct Walk {
        TaskIndex *by_task;     /* a task's place in all: looked up at every step */
        TaskIndex *slots;
        Pipeline **list;
        size_t n_list;
        Lead *index;
        Task **all;             /* every task, in the order of list */
        size_t n_all;
        uint8_t *state;         /* per task: 1 on the path, 2 done */
        Task **path;            /* the path, and whether the edge into each step crosses files */
        bool *crossed;
        bool *bad;
        Diag *d;
} Walk;

static size_t task_index(const Walk *w, const Task *t) {
        TaskIndex *x;

        HASH_FIND_PTR(w->by_task, &t, x);
        return x ? x->idx : SIZE_MAX;
}

static size_t pipeline_index(const Walk *w, const Pipeline *p) {
        size_t k = 0;

        while (w->list[k] != p)
                k++;
        return k;
}

static void report_loop(Walk *w, size_t from, size_t depth, Task *back) {
        _cleanup_free_ char *chain = NULL;
        size_t len = 0, cross = depth - 1;      /* else the edge that closes it crosses */
        FILE *f = open_memstream(&chain, &len);

        for (size_t k = from; f && k < depth; k++)
                fprintf(f, "%s/%s -> ", w->path[k]->pipeline->name, w->path[k]->name);
        if (f)
                fprintf(f, "%s/%s", back->pipeline->name, back->name);
        if (f && fclose(f) != 0)
                chain = mfree(chain);
        /* Said at the task whose output leaves its file first. */
        for (size_t k = from + 1; k < depth; k++)
                if (w->crossed[k]) {
                        cross = k - 1;
                        break;
                }
        for (size_t k = from; k < depth; k++)
                w->bad[pipeline_index(w, w->path[k]->pipeline)] = true;
        diag_error_in(w->d, w->path[cross]->file, w->path[cross]->line,
                      "task '%s': what it writes is read by another pipeline's task, and that "
                      "leads back to it (%s): each run's output would start another run, "
                      "without end, so every file of the loop is refused. Keep what one writes "
                      "apart from what the other reads: another directory, prefix or suffix",
                      w->path[cross]->name, strna(chain));
}

static void walk_from(Walk *w, Task *t, size_t depth, bool crossed);

/* The edge into next, which would be step depth of the path. Each edge is taken once, so a
 * loop is said once, at the edge that closes it. */
static void step_to(Walk *w, Task *next, size_t depth, bool crossed) {
        size_t idx = task_index(w, next);

        if (idx == SIZE_MAX)
                return;         /* not of a file being loaded */
        if (w->state[idx] == 1) {
                bool any = crossed;
                size_t from = depth;

                while (from > 0 && w->path[from - 1] != next) {
                        from--;
                        any = any || w->crossed[from];
                }
                /* Within one file, a loop is that file's error, said when it loaded. */
                if (from > 0 && any)
                        report_loop(w, from - 1, depth, next);
                return;
        }
        if (w->state[idx] == 0)
                walk_from(w, next, depth, crossed);
}

static void walk_from(Walk *w, Task *t, size_t depth, bool crossed) {
        size_t idx = task_index(w, t);

        w->state[idx] = 1;
        w->path[depth] = t;
        w->crossed[depth] = crossed;
        for (size_t i = 0; i < t->n_outputs; i++) {
                const Target *out = t->outputs[i];
                _cleanup_free_ char *name = sample_name(out->template);

                for (size_t j = 0; j < out->n_consumers; j++)
                        if (out->consumers[j] != t)
                                step_to(w, out->consumers[j], depth + 1, false);
                for (size_t k = 0, len = name ? strlen(name) : 0; name && k <= len; k++) {
                        Lead *l;

                        HASH_FIND(hh, w->index, name, k, l);
                        for (size_t m = 0; l && m < l->n; m++) {
                                const Target *other = l->targets[m];
                                _cleanup_(binding_freep) Binding *b = NULL;

                                if (other->pipeline == t->pipeline || other->kind != out->kind ||
                                    template_match(other->template, name, &b) <= 0)
                                        continue;
                                for (size_t c = 0; c < other->n_consumers; c++)
                                        if (reader_takes(other->consumers[c], other, b))
                                                step_to(w, other->consumers[c], depth + 1, true);
                        }
                }
        }
        w->state[idx] = 2;
}

void reject_loops_across_files(Pipeline **list, size_t n, bool *bad, Diag *d) {
        Walk w = { .list = list, .n_list = n, .bad = bad, .d = d };

        for (size_t i = 0; i < n; i++) {
                Task **more = reallocarray(w.all, w.n_all + list[i]->n_tasks + 1, sizeof(Task *));

                if (!more || leads_add(&w.index, list[i]) < 0)
                        goto done;
                w.all = more;
                for (size_t k = 0; k < list[i]->n_tasks; k++)
                        w.all[w.n_all++] = list[i]->tasks[k];
        }
        w.slots = calloc(w.n_all + 1, sizeof(TaskIndex));
        if (!w.slots)
                goto done;
        for (size_t k = 0; k < w.n_all; k++) {
                w.slots[k] = (TaskIndex){ .task = w.all[k], .idx = k };
                HASH_ADD_PTR(w.by_task, task, &w.slots[k]);
        }
        w.state = calloc(w.n_all + 1, 1);
        w.path = calloc(w.n_all + 2, sizeof(Task *));
        w.crossed = calloc(w.n_all + 2, sizeof(bool));
        if (!w.state || !w.path || !w.crossed)
                goto done;
        for (size_t k = 0; k < w.n_all; k++)
                if (w.state[k] == 0)
                        walk_from(&w, w.all[k], 0, false);
done:
        HASH_CLEAR(hh, w.by_task);
        free(w.slots);
        leads_free(&w.index);
        free(w.all);
        free(w.state);
        free(w.path);
        free(w.crossed);
}
