/* SPDX-License-Identifier: MIT */
/*
 * Instance and Run lifetimes. An Instance is owned by the manager's table; a Run by its
 * Instance, for as long as a unit is starting or running for it.
 */
#include <string.h>

#include "confirm.h"
#include "instance.h"
#include "util/strv.h"

static const char * const instance_state_table[_INSTANCE_STATE_MAX] = {
        [INSTANCE_QUEUED] = "queued",
        [INSTANCE_STARTING] = "starting",
        [INSTANCE_RUNNING] = "running",
        [INSTANCE_RETRY] = "retrying",
        [INSTANCE_FAILED] = "failed",
};

const char *instance_state_to_string(InstanceState s) {
        if (s < 0 || s >= _INSTANCE_STATE_MAX)
                return NULL;
        return instance_state_table[s];
}

int instance_new(Task *task, const Binding *b, const char *id, const char *unit,
                 Instance **ret) {
        Instance *i = calloc(1, sizeof(Instance));

        if (!i)
                return -ENOMEM;
        i->task = task;
        i->memory_max = UINT64_MAX;
        i->unit = strdup(unit);
        i->id = strdup(id);
        if (!i->unit || !i->id || binding_copy(b, &i->binding) < 0) {
                instance_free(i);
                return -ENOMEM;
        }
        *ret = i;
        return 0;
}

Run *run_free(Run *r) {
        if (!r)
                return NULL;
        sd_bus_slot_unref(r->slot);
        sd_event_source_disable_unref(r->ask_timer);
        confirming_free(r->confirming);
        strv_free(r->outputs);
        strv_free(r->staged);
        strv_free(r->marks);
        fs_identity_done(&r->stage_user);
        free(r->job);
        free(r);
        return NULL;
}

Instance *instance_free(Instance *i) {
        if (!i)
                return NULL;
        run_free(i->run);
        sd_event_source_disable_unref(i->timer);
        binding_free(i->binding);
        free(i->last_run_id);
        free(i->unit);
        free(i->id);
        free(i->reason);
        free(i->held);
        free(i);
        return NULL;
}

/* A word a shell takes as it is: quoted, unless it is plain. */
static int shell_word(const char *s, char **ret) {
        FILE *f;
        char *buf = NULL;
        size_t len = 0;

        if (*s && !s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789._:/=@+-")])
                return (*ret = strdup(s)) ? 0 : -ENOMEM;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        fputc('\'', f);
        for (const char *c = s; *c; c++)
                if (*c == '\'')
                        fputs("'\\''", f);
                else
                        fputc(*c, f);
        fputc('\'', f);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

int instance_command(const Instance *i, const char *verb, char **ret) {
        _cleanup_strv_free_ char **words = NULL;
        const Task *t = i->task;
        int r;

        r = strv_extendf(&words, "sluicectl%s %s %s/%s", i->manager->user ? " --user" : "",
                         verb, t->pipeline->name, t->name);
        for (size_t k = 0; r >= 0 && k < t->n_params; k++) {
                const char *v = binding_get(i->binding, t->params[k].name);
                _cleanup_free_ char *p = NULL, *w = NULL;

                if (!v)
                        continue;
                if (asprintf(&p, "%s=%s", t->params[k].name, v) < 0 || shell_word(p, &w) < 0)
                        return -ENOMEM;
                r = strv_extendf(&words, "-p %s", w);
        }
        return r < 0 ? r : strv_join(words, " ", ret);
}
