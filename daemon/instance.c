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
