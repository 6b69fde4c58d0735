/* SPDX-License-Identifier: MIT */
/*
 * sluicectl graph: the dependency tree of one task instance, read from the targets themselves
 * (like Luigi's deps_tree), or the whole pipeline as Graphviz with --dot. A missing input that
 * some task produces is expanded into that task's instance, down to what is missing at the
 * bottom; present inputs are not expanded unless --all. When a daemon answers on the bus, each
 * instance it is acting on says so: {sluiced: running}, {sluiced: failed}..., a file it
 * knows not to count (written in place under complete = "moved") is shown pending, as it is,
 * and so is what lies where a target is stored that is away (a network file system
 * unmounted): an instance whose output is there is held, in the words of `sluicectl why`.
 */
#include <stdio.h>
#include <string.h>

#include "ctl-util.h"
#include "util/fs-util.h"
#include "util/strv.h"

typedef struct Tree {
        const CtlOptions *o;
        bool color;
        const char *branch, *last, *pipe, *space;
        unsigned lines;
        CtlLive live;   /* from the daemon, if one answered */
} Tree;

/* The daemon's state of the instance: queued, running, retry, failed...; NULL if idle. */
static const char *live_state(const Tree *tr, const Task *task, const Binding *b) {
        _cleanup_free_ char *id = NULL, *unit = NULL;

        if (!tr->live.states || task_instance_id(task, b, &id) < 0 ||
            task_unit_name(task, id, &unit) < 0)
                return NULL;
        for (char **l = tr->live.states; l[0] && l[1]; l += 2)
                if (streq(l[0], unit))
                        return l[1];
        return NULL;
}

#define TREE_MAX_LINES 100000

/* Whether location lies in dir, "DIR/" as ListHeld() says a place that is away: where the
 * daemon's path leads, links followed. */
static bool held_below(const char *location, const char *dir) {
        _cleanup_free_ char *top = strndup(dir, strlen(dir) - 1), *real = NULL;

        return top && path_resolve(location, &real) >= 0 && path_below(real, *top ? top : "/");
}

/* Why the daemon does not count what is at location, or NULL; *ret_away: because where it is
 * stored is away. */
static const char *held_why_away(const Tree *tr, const Target *t, const char *location,
                                 bool *ret_away) {
        for (char **l = tr->live.held; l && l[0] && l[1] && l[2] && l[3]; l += 4) {
                bool dir = l[2][0] && l[2][strlen(l[2]) - 1] == '/';

                if (!streq(l[0], t->pipeline->name) || !streq(l[1], t->name) ||
                    !(dir ? held_below(location, l[2]) : streq(l[2], location)))
                        continue;
                if (ret_away)
                        *ret_away = dir;
                return l[3];
        }
        return NULL;
}

static const char *held_why(const Tree *tr, const Target *t, const char *location) {
        return held_why_away(tr, t, location, NULL);
}

static bool exists(Tree *tr, Target *t, const char *location) {
        CtlPolled *p = ctl_live_polled(&tr->live, t);
        int r = p ? ctl_live_has(&tr->live, p, location) : -ENODATA;

        if (r < 0)
                r = t->kind->check(t, location) > 0;
        return r > 0 && !held_why(tr, t, location);
}

typedef enum InstanceStatus {
        STATUS_COMPLETE,
        STATUS_COMPLETE_OLDER,  /* an output older than an input, which rerun = "missing" keeps */
        STATUS_OLDER,           /* the same under rerun = "newer": out of date, to run */
        STATUS_READY,
        STATUS_WAITING,
        STATUS_HELD,            /* where an output is stored is away: nothing of it starts */
} InstanceStatus;

/* Complete when its outputs exist; else ready when its inputs do, unless where an output is
 * stored is away (why, in *ret_held); else the missing count. */
static InstanceStatus status_of(Tree *tr, const Task *task, const Binding *b,
                                size_t *ret_missing, size_t *ret_total, char **ret_held) {
        _cleanup_free_ char *held = NULL;
        bool complete = true;
        size_t missing = 0, total = 0;

        for (size_t i = 0; i < task->n_outputs; i++) {
                _cleanup_free_ char *loc = NULL;
                const char *why;
                bool away = false;

                if (task_output_location(task, i, b, &loc) < 0 || !exists(tr, task->outputs[i], loc))
                        complete = false;
                if (loc && !held && (why = held_why_away(tr, task->outputs[i], loc, &away)) &&
                    away && asprintf(&held, TARGET_AWAY_FORMAT, task->outputs[i]->name, loc,
                                     why) < 0)
                        held = NULL;
        }
        for (size_t i = 0; i < task->n_inputs; i++) {
                _cleanup_strv_free_ char **locs = NULL;
                if (task_input_locations(task, i, b, &locs) < 0)
                        continue;
                STRV_FOREACH(l, locs) {
                        total++;
                        missing += !exists(tr, task->inputs[i].target, *l);
                }
        }
        *ret_missing = missing;
        *ret_total = total;
        if (complete && task_output_older(task, b, NULL) >= 0)
                return !task->rerun_newer ? STATUS_COMPLETE_OLDER
                                          : missing == 0 ? STATUS_OLDER : STATUS_WAITING;
        if (complete)
                return STATUS_COMPLETE;
        if (missing > 0)
                return STATUS_WAITING;
        /* As `why` has it: inputs missing come first, then the output held. */
        if (held) {
                *ret_held = TAKE_PTR(held);
                return STATUS_HELD;
        }
        return STATUS_READY;
}

static void print_instance(Tree *tr, const Task *task, const Binding *b, const char *prefix,
                           const char *connector);

static void print_task_line(Tree *tr, const Task *task, const Binding *b, InstanceStatus s,
                            size_t missing, size_t total, const char *held) {
        _cleanup_free_ char *params = NULL;

        const char *live = live_state(tr, task, b);

        (void) task_params_to_string(task, b, &params);
        /* A task without parameters has one instance, named by the task alone. */
        printf("%s%s%s%s%s  ", tr->color ? ANSI_BOLD : "", task->name, tr->color ? ANSI_RESET : "",
               params && *params ? " " : "", params && *params ? ctl_shown(params) : "");
        if (live)
                printf("%s{sluiced: %s}%s ", tr->color ? ANSI_BOLD : "", live,
                       tr->color ? ANSI_RESET : "");
        switch (s) {
        case STATUS_COMPLETE:
                printf("%s[complete]%s\n", tr->color ? ANSI_GREEN : "", tr->color ? ANSI_RESET : "");
                break;
        case STATUS_COMPLETE_OLDER:
                printf("%s[complete, though an input is newer than an output: rerun = "
                       "\"missing\" keeps it]%s\n", tr->color ? ANSI_GREEN : "",
                       tr->color ? ANSI_RESET : "");
                break;
        case STATUS_OLDER:
                printf("[ready: an output is older than an input (rerun = \"newer\")]\n");
                break;
        case STATUS_READY:
                printf("[ready: inputs present, outputs missing]\n");
                break;
        case STATUS_WAITING:
                printf("%s[waiting: %zu of %zu inputs missing]%s\n", tr->color ? ANSI_RED : "",
                       missing, total, tr->color ? ANSI_RESET : "");
                break;
        case STATUS_HELD:
                printf("%s[held: %s]%s\n", tr->color ? ANSI_RED : "", ctl_shown(held),
                       tr->color ? ANSI_RESET : "");
        }
}

static void print_inputs(Tree *tr, const Task *task, const Binding *b, const char *prefix) {
        for (size_t i = 0; i < task->n_inputs; i++) {
                const TaskInput *in = &task->inputs[i];
                _cleanup_(bindings_freep) Binding **l = NULL;

                if (task_input_bindings(task, i, b, &l) < 0)
                        continue;
                for (Binding **x = l; *x; x++) {
                        _cleanup_free_ char *loc = NULL, *sub = NULL, *polls = NULL,
                                           *external = NULL;
                        bool last = i + 1 == task->n_inputs && !x[1];
                        const char *pending = NULL, *note;
                        char why[TARGET_PENDING_MAX];
                        bool present;

                        if (template_format(in->target->template, *x, &loc) < 0)
                                continue;
                        if (++tr->lines > TREE_MAX_LINES)
                                return;
                        present = exists(tr, in->target, loc);
                        if (!present)
                                pending = held_why(tr, in->target, loc) ?:
                                          target_pending(in->target, loc, why, sizeof(why));
                        if (!present && !pending && !in->target->producer) {
                                /* As why says it: the polls, where the trouble may be. */
                                CtlPolled *p = ctl_live_polled(&tr->live, in->target);

                                polls = p ? target_polls_said(p->target, &p->status) : NULL;
                                if (asprintf(&external, "external: %s",
                                             polls ?: "waits for it to arrive") < 0)
                                        return;
                        }
                        note = pending ?: external;
                        printf("%s%s%s%s%s %s %s%s%s%s\n", prefix, last ? tr->last : tr->branch,
                               tr->color ? (present ? ANSI_GREEN : ANSI_RED) : "",
                               present ? "present" : pending ? "PENDING" : "MISSING",
                               tr->color ? ANSI_RESET : "", in->name, ctl_shown(loc),
                               note ? "  (" : "", note ? ctl_shown(note) : "", note ? ")" : "");
                        /* An earlier instance of the task itself (yesterday's running total)
                         * would lead back to the first day: it is named, not expanded. */
                        if (!in->target->producer || (present && !tr->o->all) || in->earlier)
                                continue;
                        if (asprintf(&sub, "%s%s", prefix, last ? tr->space : tr->pipe) < 0)
                                return;
                        /* An output's binding is its producer's instance: every output of a
                         * task has all of the task's parameters. */
                        print_instance(tr, in->target->producer, *x, sub, tr->last);
                }
        }
}

static void print_instance(Tree *tr, const Task *task, const Binding *b, const char *prefix,
                           const char *connector) {
        _cleanup_free_ char *sub = NULL, *held = NULL;
        size_t missing, total;
        InstanceStatus s = status_of(tr, task, b, &missing, &total, &held);

        if (++tr->lines > TREE_MAX_LINES)
                return;
        printf("%s%s", prefix, connector);
        print_task_line(tr, task, b, s, missing, total, held);
        if ((s == STATUS_COMPLETE || s == STATUS_COMPLETE_OLDER) && !tr->o->all)
                return;
        if (asprintf(&sub, "%s%s", prefix, connector[0] ? tr->space : "") < 0)
                return;
        print_inputs(tr, task, b, sub);
}

/* Graphviz wants quotes and backslashes escaped in labels. */
static void dot_string(const char *s) {
        putchar('"');
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        putchar('\\');
                if (*s == '\n')
                        fputs("\\n", stdout);
                else
                        putchar(*s);
        }
        putchar('"');
}

static void dot_pipeline(const Pipeline *p) {
        printf("  subgraph \"cluster_%s\" {\n    label=", p->name);
        dot_string(p->name);
        printf(";\n");
        for (size_t i = 0; i < p->n_targets; i++) {
                const Target *t = p->targets[i];
                _cleanup_free_ char *label = NULL;

                if (asprintf(&label, "%s\n%s", t->name, t->template->text) < 0)
                        return;
                printf("    \"t:%s/%s\" [shape=note, label=", p->name, t->name);
                dot_string(label);
                printf("%s];\n", t->producer ? "" : ", style=filled, fillcolor=\"#e8e8e8\"");
        }
        for (size_t i = 0; i < p->n_tasks; i++) {
                const Task *task = p->tasks[i];

                printf("    \"T:%s/%s\" [shape=box, style=\"rounded,bold\", label=", p->name,
                       task->name);
                dot_string(task->name);
                printf("];\n");
                for (size_t k = 0; k < task->n_inputs; k++) {
                        const TaskInput *in = &task->inputs[k];
                        _cleanup_free_ char *label = NULL;
                        FILE *f;
                        size_t len = 0;

                        f = open_memstream(&label, &len);
                        if (!f)
                                return;
                        /* As the pipeline file says it: "window = daily(day = range(...))". */
                        bool alias = !streq(in->name, in->target->name);
                        size_t n = 0;

                        if (alias)
                                fprintf(f, "%s = %s", in->name, in->target->name);
                        for (size_t j = 0; j < in->n_maps; j++) {
                                _cleanup_free_ char *e = NULL;
                                const Expr *x = in->maps[j].expr;

                                if (x->kind == EXPR_REF && streq(x->param, in->maps[j].param))
                                        continue;       /* identity: nothing to say */
                                (void) expr_to_string(x, &e);
                                fprintf(f, "%s%s = %s", n++ > 0 ? ", " : alias ? "(" : "",
                                        in->maps[j].param, strna(e));
                        }
                        if (alias && n > 0)
                                fputc(')', f);
                        fclose(f);
                        printf("    \"t:%s/%s\" -> \"T:%s/%s\"", p->name, in->target->name,
                               p->name, task->name);
                        if (label && label[0]) {
                                printf(" [label=");
                                dot_string(label);
                                printf("%s]", in->earlier ? ", style=dashed" : "");
                        }
                        printf(";\n");
                }
                for (size_t k = 0; k < task->n_outputs; k++)
                        printf("    \"T:%s/%s\" -> \"t:%s/%s\";\n", p->name, task->name, p->name,
                               task->outputs[k]->name);
        }
        printf("  }\n");
}

int verb_graph(const CtlOptions *o, int argc, char *argv[]) {
        _cleanup_(ctl_pipelines_done) CtlPipelines p = {};
        _cleanup_(binding_freep) Binding *b = NULL;
        bool unicode = ctl_unicode();
        Tree tr = {
                .o = o,
                .color = ctl_colors(),
                .branch = unicode ? "├─ " : "|- ",
                .last = unicode ? "└─ " : "`- ",
                .pipe = unicode ? "│  " : "|  ",
                .space = "   ",
        };
        Task *task;

        if (ctl_load_pipelines(o, &p) < 0) {
                fprintf(stderr, "sluicectl: cannot read the pipelines in %s\n", o->config_dir);
                return 2;
        }
        if (o->dot) {
                if (argc > 0) {
                        fprintf(stderr, "sluicectl: graph --dot draws whole pipelines; it takes "
                                        "no task\n");
                        return 2;
                }
                printf("digraph sluice {\n  rankdir=LR;\n  node [fontname=\"sans-serif\"];\n"
                       "  edge [fontname=\"sans-serif\", fontsize=10];\n");
                for (size_t i = 0; i < p.n; i++)
                        dot_pipeline(p.list[i]);
                printf("}\n");
                return 0;
        }
        if (argc != 1) {
                fprintf(stderr, "sluicectl: graph needs one task (graph TASK --param NAME=VALUE "
                                "...), or --dot\n");
                return 2;
        }
        task = ctl_find_task(&p, argv[0]);
        if (!task)
                return 1;
        if (ctl_task_binding(task, o->params, &b) < 0)
                return 1;
        (void) ctl_live_read(o, &tr.live);
        print_instance(&tr, task, b, "", "");
        ctl_live_done(&tr.live);
        if (tr.lines > TREE_MAX_LINES)
                printf("... (more than %d lines; cut)\n", TREE_MAX_LINES);
        return 0;
}
