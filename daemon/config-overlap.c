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
#include <string.h>

#include "config-internal.h"
#include "template.h"

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

static void check_output(const Pipeline *p, Task *task, const Target *out, Diag *d) {
        _cleanup_free_ char *name = sample_name(out->template);

        if (!name)
                return;
        for (size_t i = 0; i < p->n_targets; i++) {
                const Target *other = p->targets[i];
                _cleanup_(binding_freep) Binding *b = NULL;

                if (other == out || other->kind != out->kind || other->n_consumers == 0 ||
                    template_match(other->template, name, &b) <= 0)
                        continue;
                for (size_t j = 0; j < other->n_consumers; j++) {
                        Task *reader = other->consumers[j];
                        _cleanup_free_ uint8_t *seen = calloc(p->n_tasks, 1);
                        const char *saved = d->file;

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
                                           task->name, out->name, other->name, name,
                                           reader->name);
                        else
                                diag_warning(d, task->line,
                                             "task '%s': what it writes to '%s' is also target "
                                             "'%s' (a name such as '%s' matches both): task '%s' "
                                             "runs on it too",
                                             task->name, out->name, other->name, name,
                                             reader->name);
                        d->file = saved;
                }
        }
}

void check_overlapping_targets(const Pipeline *p, Diag *d) {
        for (size_t i = 0; i < p->n_tasks; i++)
                for (size_t j = 0; j < p->tasks[i]->n_outputs; j++)
                        check_output(p, p->tasks[i], p->tasks[i]->outputs[j], d);
}
