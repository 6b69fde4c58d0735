/* SPDX-License-Identifier: MIT */
/* The ready queue and the slots that bound what runs at once */
#pragma once

#include "manager.h"

void scheduler_enqueue(Manager *m, Instance *i);
void scheduler_dequeue(Manager *m, Instance *i);
/* Starts queued instances while slots are free; runs once per event loop iteration. */
void scheduler_schedule(Manager *m);
int scheduler_setup(Manager *m);
