/* SPDX-License-Identifier: MIT */
/*
 * Paused pipelines, as Airflow pauses a DAG: during maintenance (a clean-up of an output tree,
 * a broken upstream) nothing of theirs starts, while their inputs are still watched and what
 * becomes due is queued, to start once they are resumed. Runs under way go on. Kept by name in
 * STATE_DIR/paused, one per line, so that a restart or a reload does not resume them, and a
 * pipeline whose file is gone for a while is still paused when it is back.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pause.h"
#include "scheduler.h"
#include "util/fs-util.h"
#include "util/strv.h"

#define PAUSED_FILE "paused"

static int save(Manager *m) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        if (path_join(m->state_dir, PAUSED_FILE, &path) < 0)
                return -ENOMEM;
        if (!m->paused)
                return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
        r = strv_join(m->paused, "\n", &text);
        if (r < 0)
                return r;
        /* The last line ends too, as a text file's does. */
        _cleanup_free_ char *whole = NULL;
        if (asprintf(&whole, "%s\n", text) < 0)
                return -ENOMEM;
        return write_file_replace(path, whole, strlen(whole), 0600, true);
}

void pause_load(Manager *m) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        if (path_join(m->state_dir, PAUSED_FILE, &path) < 0)
                return;
        r = read_file(path, 1 << 20, &text, NULL);
        if (r == -ENOENT)
                return;
        if (r < 0) {
                log_warning_errno(r, "Cannot read the paused pipelines from '%s': %m; none is "
                                     "paused", path);
                return;
        }
        strv_free(m->paused);
        m->paused = strv_split_newlines(text);
        if (m->paused && !m->paused[0])
                m->paused = strv_free(m->paused);
        STRV_FOREACH(n, m->paused)
                log_notice("Pipeline '%s' is paused: nothing of it starts until `sluicectl "
                           "resume %s`", *n, *n);
}

bool pause_holds(const Manager *m, const Pipeline *p) {
        return m->paused && strv_contains(m->paused, p->name);
}

char *pause_reason(const Manager *m, const Instance *i) {
        char *s = NULL;

        if (i->state != INSTANCE_QUEUED || !pause_holds(m, i->task->pipeline) ||
            asprintf(&s, "its pipeline is paused (`sluicectl resume %s`)",
                     i->task->pipeline->name) < 0)
                return NULL;
        return s;
}

void pause_check_names(Manager *m) {
        STRV_FOREACH(n, m->paused)
                if (!manager_find_pipeline(m, *n))
                        log_warning("Pipeline '%s' is paused, but no file loads a pipeline of "
                                    "that name (renamed?): the pause waits for one; `sluicectl "
                                    "resume %s` forgets it", *n, *n);
}

static void remove_name(char **l, const char *name) {
        char **w = l;

        STRV_FOREACH(n, l)
                if (streq(*n, name))
                        free(*n);
                else
                        *w++ = *n;
        if (w)
                *w = NULL;
}


int pause_set(Manager *m, char * const *names, bool pause, ControlError *e) {
        _cleanup_strv_free_ char **next = NULL;
        int r;

        if (!names || !names[0])
                return control_refuse(e, CONTROL_INVALID_ARGS, "name the pipelines to %s",
                                      pause ? "pause" : "resume");
        STRV_FOREACH(n, names)
                if (pause ? !manager_find_pipeline(m, *n) && !strv_contains(m->paused, *n)
                          : !strv_contains(m->paused, *n))
                        return control_refuse(e, pause ? CONTROL_NO_SUCH_TASK : CONTROL_NOT_ACTIVE,
                                              pause ? "no pipeline '%s'" : "pipeline '%s' is not "
                                              "paused", *n);
        r = strv_copy(m->paused, &next);
        STRV_FOREACH(n, names) {
                if (r < 0)
                        break;
                if (pause && !strv_contains(next, *n))
                        r = strv_extend(&next, *n);
                else if (!pause)
                        remove_name(next, *n);
        }
        if (r < 0)
                return control_refuse(e, CONTROL_FAILED, "out of memory");
        if (next && !next[0])
                next = strv_free(next);
        /* Kept before it counts: a pause the next start would forget is refused. */
        char **before = m->paused;
        m->paused = next;
        r = save(m);
        if (r < 0) {
                m->paused = before;
                errno = -r;
                return control_refuse(e, CONTROL_FAILED, "cannot keep the paused pipelines in "
                                      "'%s' (%m): nothing changed", m->state_dir);
        }
        strv_free(before);
        next = NULL;
        STRV_FOREACH(n, names)
                log_notice("Pipeline '%s' %s on request", *n, pause ? "paused" : "resumed");
        if (!pause)
                scheduler_unpark(m);
        return 0;
}
