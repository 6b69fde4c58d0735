/* SPDX-License-Identifier: MIT */
/*
 * The "path" target kind: local files. This file reads a target's settings, says which names
 * never count and why a file that is there does not count yet, and fills the kind's table.
 * Whether a file is there and complete is decided in local-complete.c, the scans for what
 * exists walk the tree in local-scan.c, staging and committing outputs is in local-stage.c,
 * watching in local-watch.c.
 *
 * Names of editors' and rsync's temporaries and the daemon's own staging files never match,
 * whatever the template says, and a file counts as complete according to the target's policy:
 * closed after writing (the default), moved into place, left alone for a quiet period, or
 * accompanied by a done-flag in its directory.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "local.h"
#include "util/strv.h"

/* Names the kind never takes as an arrival: dot files (rsync's .name.XXXXXX, vim's .x.swp, our
 * own staging files), emacs' #x# and .#x, and backups ending in '~'. The rule for how a name
 * begins, apart: a constant value at the start of a name is checked against it. */
static bool start_ignored(const LocalTarget *lt, const char *name) {
        const Template *t = lt->target.template;
        const TemplateComponent *c = &t->components[last_level(lt)];
        bool dot_ok = c->n > 0 && t->parts[c->first].literal && t->parts[c->first].literal[0] == '.';

        if (strneq(name, LOCAL_TMP_PREFIX, strlen(LOCAL_TMP_PREFIX)))
                return true;
        return (name[0] == '.' && !dot_ok) || name[0] == '#';
}

bool local_name_ignored(const LocalTarget *lt, const char *name) {
        return start_ignored(lt, name) || name[strlen(name) - 1] == '~';
}

/* A value that makes a name local_name_ignored() passes over, wherever the template puts it:
 * "sites(site = .hidden)" would wait for ever. Each '/'-separated piece of a path value is a
 * name's start or end when the value is, or when it is inside. */
static const char *local_value_ignored(Target *t, size_t param, const char *value) {
        const Template *tpl = t->template;

        for (size_t c = 0; c < tpl->n_components; c++) {
                const TemplateComponent *comp = &tpl->components[c];

                for (size_t j = 0; j < comp->n; j++) {
                        const TemplatePart *part = &tpl->parts[comp->first + j];

                        if (part->literal || part->param != param)
                                continue;
                        for (const char *p = value;; p += strcspn(p, "/") + 1) {
                                size_t n = strcspn(p, "/");

                                if ((j == 0 || p != value) && start_ignored(LOCAL(t), p))
                                        return "names that begin with '.' or '#' (dot files, "
                                               "editors' and rsync's temporary files)";
                                if ((j == comp->n - 1 || p[n]) && n > 0 && p[n - 1] == '~')
                                        return "names that end in '~' (editors' backups)";
                                if (!p[n])
                                        break;
                        }
                }
        }
        return NULL;
}

char *local_components_path(const Template *t, size_t n) {
        char *p = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&p, &len);

        if (!f)
                return NULL;
        for (size_t i = 1; i < n; i++)
                fprintf(f, "/%s", template_component_literal(t, i));
        if (n <= 1)
                fputc('/', f);
        if (fclose(f) != 0) {
                free(p);
                return NULL;
        }
        return p;
}

static int local_scan(Target *t, target_scan_func f, void *userdata) {
        LocalTarget *lt = LOCAL(t);
        _cleanup_(binding_freep) Binding *empty = NULL;
        _cleanup_free_ char *root = local_components_path(t->template, lt->root_level);
        int r;

        if (!root)
                return -ENOMEM;
        r = binding_new(&empty);
        if (r < 0)
                return r;
        return local_scan_tree(lt, lt->root_level, root, empty, f, userdata);
}

static int local_mtime(Target *t, const char *location, usec_t *ret) {
        struct stat st;

        if (stat(location, &st) < 0)
                return -errno;
        *ret = mtime_of(&st);
        return 0;
}

/* ctime: a rename into place changes it, where it keeps the mtime the producer gave. */
static int local_changed(Target *t, const char *location, usec_t *ret) {
        struct stat st;

        if (stat(location, &st) < 0)
                return -errno;
        *ret = usec_of(&st.st_ctim);
        return 0;
}

static int local_check(Target *t, const char *location) {
        return local_complete(LOCAL(t), location);
}

/* complete = "close" | "moved" | "quiet:30s" | "flag:_SUCCESS": all of them. */
static int parse_policy(LocalTarget *lt, const config_setting_t *s, Diag *d) {
        Complete c = { .policy = COMPLETE_CLOSE };
        int r;

        r = complete_parse(&lt->target, s,
                           COMPLETE_TAKES(COMPLETE_CLOSE) | COMPLETE_TAKES(COMPLETE_MOVED) |
                           COMPLETE_TAKES(COMPLETE_QUIET) | COMPLETE_TAKES(COMPLETE_FLAG),
                           NULL, d, &c);
        lt->policy = (LocalPolicy) c.policy;
        lt->quiet = c.quiet;
        lt->flag = c.flag;
        return r;
}

static int local_parse(Target *t, const config_setting_t *s, Diag *d) {
        LocalTarget *lt = LOCAL(t);
        const Template *tp = t->template;
        unsigned line = config_setting_source_line(config_setting_get_member(s, "path"));

        if (tp->text[0] != '/') {
                diag_error(d, line, "target '%s': path must be absolute: '%s'", t->name, tp->text);
                return 0;
        }
        for (size_t i = 1; i < tp->n_components; i++) {
                const char *lit = template_component_is_literal(tp, i)
                                          ? template_component_literal(tp, i)
                                          : NULL;
                if (lit && (streq(lit, "") || streq(lit, ".") || streq(lit, ".."))) {
                        diag_error(d, line,
                                   "target '%s': path '%s' has an empty, '.' or '..' component",
                                   t->name, tp->text);
                        return 0;
                }
        }
        if (tp->n_components < 2) {
                diag_error(d, line, "target '%s': path '%s' names no file", t->name, tp->text);
                return 0;
        }
        lt->root_level = 1;
        while (lt->root_level < tp->n_components - 1 &&
               template_component_is_literal(tp, lt->root_level))
                lt->root_level++;
        return parse_policy(lt, config_setting_get_member(s, "complete"), d);
}

#define IN_PLACE_WHY "written in place; counts once renamed into place (complete = \"moved\")"

static const char *local_pending(Target *t, const char *location, char *buf, size_t size) {
        LocalTarget *lt = LOCAL(t);
        usec_t settle;
        char span[FORMAT_TIMESPAN_MAX], left[FORMAT_TIMESPAN_MAX];
        struct stat st;

        if (stat(location, &st) < 0 || !S_ISREG(st.st_mode))
                return NULL;
        if (lt->policy == LOCAL_QUIET) {
                usec_t until = mtime_of(&st) + lt->quiet, now = now_usec(CLOCK_REALTIME);
                snprintf(buf, size, "written; counts once left unchanged for %s (%s more)",
                         format_timespan(span, sizeof(span), lt->quiet),
                         format_timespan(left, sizeof(left), until > now ? until - now : 0));
        } else if (lt->policy == LOCAL_FLAG)
                snprintf(buf, size, "written; counts once its flag '%s' is in its directory",
                         lt->flag);
        else if (lt->policy == LOCAL_MOVED && local_in_place(lt, location))
                snprintf(buf, size, "%s", IN_PLACE_WHY);
        else if (lt->policy == LOCAL_CLOSE && (settle = local_watch_writing(lt, location)) > 0)
                snprintf(buf, size, "being written; counts once its writer closes it (or it "
                         "is left unchanged for %s)",
                         format_timespan(span, sizeof(span), settle));
        else
                return NULL;
        return buf;
}

typedef struct HeldVisit {
        int (*f)(const char *location, const char *why, void *userdata);
        void *userdata;
} HeldVisit;

static int held_one(const char *path, void *userdata) {
        HeldVisit *v = userdata;

        return v->f(path, IN_PLACE_WHY, v->userdata);
}

static int local_foreach_held(Target *t, int (*f)(const char *location, const char *why,
                                                  void *userdata),
                              void *userdata) {
        LocalTarget *lt = LOCAL(t);
        int r;

        /* Where it is stored, away: a client looking at the disk alone sees nothing there. */
        r = local_mounts_foreach_away(lt, f, userdata);
        if (r < 0 || lt->policy != LOCAL_MOVED)
                return r;
        return local_in_place_foreach(lt, held_one, &(HeldVisit){ f, userdata });
}

/* The daemon renames a run's outputs into place whole, so only "close" and "moved" fit one;
 * "flag:" can, for a task that writes the flag itself. Under "quiet:" an output counts as
 * not there for its span after every run, and a rescan in that time starts its task again. */
static void local_check_output(Target *t, const char *producer, Diag *d) {
        if (LOCAL(t)->policy == LOCAL_QUIET)
                diag_warning(d, t->line, "target '%s' is the output of task '%s', which "
                                         "sluiced puts in place whole: with complete = "
                                         "\"quiet:...\" it counts as missing for that long "
                                         "after each run, and a rescan then runs the task "
                                         "again; leave 'complete' out",
                             t->name, producer);
        else
                complete_check_output(t, &(Complete){ .policy = (CompletePolicy) LOCAL(t)->policy,
                                                      .flag = LOCAL(t)->flag },
                                      producer, d);
}

static void local_done(Target *t) {
        local_closed_forget(LOCAL(t));
        local_mounts_forget(LOCAL(t));
        free(LOCAL(t)->flag);
}

static int local_start(Target *t) {
        return local_watch_start(t);
}

static void local_stop(Target *t) {
        local_watch_stop(t);
}

static const char * const local_keys[] = { "complete", NULL };

const TargetKind target_kind_path = {
        .name = "path",
        .id = TARGET_KIND_PATH,
        .object_size = sizeof(LocalTarget),
        .keys = local_keys,
        .parse = local_parse,
        .check_output = local_check_output,
        .value_ignored = local_value_ignored,
        .pending = local_pending,
        .away = local_mount_away,
        .foreach_held = local_foreach_held,
        .status = local_poll_status,
        .reload_afresh = local_reload_afresh,
        .start = local_start,
        .stop = local_stop,
        .check = local_check,
        .mtime = local_mtime,
        .changed = local_changed,
        .scan = local_scan,
        .stage = local_stage,
        .written = local_written,
        .placeable = local_placeable,
        .commit = local_commit,
        .discard = local_discard,
        .leftovers = local_leftovers,
        .stage_mark = local_stage_mark,
        .stage_lost = local_stage_lost,
        .done = local_done,
        .host_done = local_state_free,
        .scan_done = local_listings_free,
};
