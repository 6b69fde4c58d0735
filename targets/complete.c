/* SPDX-License-Identifier: MIT */
/*
 * complete = "close" | "moved" | "quiet:30s" | "flag:_SUCCESS", read alike for every kind that
 * takes it: a local target tells all four apart; a polled one sees no close or rename, only
 * what each poll lists, and so takes "quiet:" and "flag:" alone.
 */
#include <stdio.h>
#include <string.h>

#include "complete.h"
#include "config-internal.h"
#include "util/strv.h"

static const char * const words[] = {
        [COMPLETE_CLOSE] = "close",
        [COMPLETE_MOVED] = "moved",
        [COMPLETE_QUIET] = "quiet",
        [COMPLETE_FLAG] = "flag",
};

static const char * const shown[] = {
        [COMPLETE_CLOSE] = "close",
        [COMPLETE_MOVED] = "moved",
        [COMPLETE_QUIET] = "quiet:SPAN",
        [COMPLETE_FLAG] = "flag:NAME",
};

/* "\"close\", \"moved\" or \"quiet:SPAN\"": the policies in takes, for a message. */
static void list_taken(unsigned takes, char *buf, size_t size) {
        size_t n = 0, k = 0, len = 0;

        for (size_t p = 0; p < ELEMENTSOF(shown); p++)
                n += !!(takes & COMPLETE_TAKES(p));
        buf[0] = 0;
        for (size_t p = 0; p < ELEMENTSOF(shown) && len < size; p++) {
                if (!(takes & COMPLETE_TAKES(p)))
                        continue;
                k++;
                len += (size_t) snprintf(buf + len, size - len, "%s\"%s\"",
                                         k == 1 ? "" : k == n ? " or " : ", ", shown[p]);
        }
}

/* Which policy v names, its argument after the ':' in *ret_arg; -1 none. */
static int policy_of(const char *v, const char **ret_arg) {
        *ret_arg = NULL;
        if (streq(v, "close"))
                return COMPLETE_CLOSE;
        if (streq(v, "moved"))
                return COMPLETE_MOVED;
        if (strneq(v, "quiet:", 6)) {
                *ret_arg = v + 6;
                return COMPLETE_QUIET;
        }
        if (strneq(v, "flag:", 5)) {
                *ret_arg = v + 5;
                return COMPLETE_FLAG;
        }
        return -1;
}

int complete_parse(Target *t, const config_setting_t *s, unsigned takes, const char *why_not,
                   Diag *d, Complete *c) {
        const char *v, *arg = NULL, *name = t->name;
        char taken[96];
        unsigned line;
        int p;

        if (!s)
                return 0;
        line = line_of(s);
        v = config_setting_get_string(s);
        p = v ? policy_of(v, &arg) : -1;
        list_taken(takes, taken, sizeof(taken));
        if (p < 0) {
                char *known[ELEMENTSOF(words) + 1] = {};
                _cleanup_free_ char *word = v ? strndup(v, strcspn(v, ":")) : NULL;
                const char *guess = NULL;
                size_t n = 0;

                for (size_t k = 0; k < ELEMENTSOF(words); k++)
                        if (takes & COMPLETE_TAKES(k))
                                known[n++] = (char *) words[k];
                /* By the word before the ':', so that "quite:30s" and "quiet" are told
                 * "quiet:SPAN". */
                if (word && (guess = strv_find_closest(known, word)))
                        for (size_t k = 0; k < ELEMENTSOF(words); k++)
                                if (streq(words[k], guess))
                                        guess = shown[k];
                diag_error(d, line, "target '%s': 'complete' must be %s, not %s%s%s%s%s%s",
                           name, taken, v ? "'" : "", v ?: "something else", v ? "'" : "",
                           guess ? " (did you mean '" : "", strempty(guess),
                           guess ? "'?)" : "");
                return 0;
        }
        if (!(takes & COMPLETE_TAKES(p))) {
                diag_error(d, line, "target '%s': 'complete' must be %s for %s targets, not "
                                    "'%s': %s",
                           name, taken, t->kind->name, v, why_not);
                return 0;
        }
        c->policy = (CompletePolicy) p;
        if (p == COMPLETE_QUIET) {
                if (parse_timespan(arg, &c->quiet) < 0 || c->quiet == 0)
                        diag_error(d, line, "target '%s': 'quiet:' needs a time span, like "
                                            "\"quiet:30s\", not '%s'",
                                   name, arg);
        } else if (p == COMPLETE_FLAG) {
                _cleanup_(binding_freep) Binding *b = NULL;
                const Template *tp = t->template;

                free(c->flag);
                c->flag = strdup(arg);
                if (!c->flag)
                        return -ENOMEM;
                if (!arg[0] || strchr(arg, '/') || streq(arg, ".") || streq(arg, ".."))
                        diag_error(d, line, "target '%s': 'flag:' needs a file name, like "
                                            "\"flag:_SUCCESS\", not '%s'",
                                   name, arg);
                else if (template_match_component(tp, tp->n_components - 1, arg, NULL, &b) > 0)
                        diag_error(d, line, "target '%s': the flag '%s' would itself match "
                                            "'%s'",
                                   name, arg, tp->text);
        }
        return 0;
}

char *complete_flag_location(const char *location, const char *flag) {
        /* The directory is before a query, which may hold '/' of its own (?p=/a/b). */
        size_t n = strcspn(location, "?");
        const char *slash = memrchr(location, '/', n);
        char *p;

        if (asprintf(&p, "%.*s%s", slash ? (int) (slash - location + 1) : 0, location, flag) < 0)
                return NULL;
        return p;
}

void complete_check_output(Target *t, const Complete *c, const char *producer, Diag *d) {
        if (c->policy == COMPLETE_FLAG)
                diag_warning(d, t->line, "target '%s' is the output of task '%s': with complete "
                                         "= \"flag:%s\" it counts only once '%s' is in its "
                                         "directory, which sluiced does not write; unless the "
                                         "task writes it there itself, its readers never run "
                                         "and every start-up scan runs the task again; leave "
                                         "'complete' out",
                             t->name, producer, c->flag, c->flag);
}
