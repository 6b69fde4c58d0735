/* SPDX-License-Identifier: MIT */
/* `sluicectl run` and `sluicectl why`: one task instance, and what it needs, now */
#pragma once

#include "manager.h"

/* One line of the answer: what is (or would be) done about one instance or one input. */
typedef struct DemandStep {
        char *kind;     /* queued, starting, running, complete, waiting, ready, failed, retry,
                         * missing, external, limit */
        char *subject;  /* "task day=2026-11-27", or an input's location */
        char *detail;   /* the unit, the reason, what produces the input */
        unsigned depth; /* 0: the instance asked about; 1: what it needs; ... */
} DemandStep;

typedef struct Demand {
        DemandStep *steps;
        size_t n_steps;
        char **seen;    /* unit names visited */
        struct Backfill *backfill;      /* set by the caller: every unit visited joins it */
} Demand;

void demand_done(Demand *d);

/*
 * Walks from the instance (task, b) upstream through missing inputs. With act, queues every
 * instance on the way whose inputs exist and whose outputs do not, the first one even when
 * complete if force is set; without, only explains. What waits for an upstream output runs
 * when that output lands, like any arrival. d starts empty but for its backfill.
 */
int demand_instance(Manager *m, Task *task, const Binding *b, bool act, bool force, Demand *d);
