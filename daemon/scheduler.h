/* SPDX-License-Identifier: MIT */
/* The ready queue and the slots, per-task limits and resource pools that bound what runs */
#pragma once

#include "manager.h"

/* Queues an instance, in order: highest priority first, then oldest. */
void scheduler_enqueue(Manager *m, Instance *i);
/* Takes an instance out of the queue (on leaving INSTANCE_QUEUED). */
void scheduler_dequeue(Manager *m, Instance *i);
/* Puts back in the queue, in their places, the parked instances whose pipeline is no longer
 * paused (resumed, or renamed by a reload), and schedules. */
void scheduler_unpark(Manager *m);
/* Starts queued instances while there is room; runs once per event loop iteration. */
void scheduler_schedule(Manager *m);
int scheduler_setup(Manager *m);
/* 1 when an output of t's instance b cannot be written now (where it is stored went away: a
 * network file system unmounted), with why in *ret_why if asked; 0 when all can be. */
int scheduler_output_away(Task *t, const Binding *b, char **ret_why);
/* TargetHost.back: instances held for where t is stored may start now. */
void scheduler_target_back(TargetHost *h, Target *t);

/* A run takes a slot, a share of its task's maximum and of its pools, until it ends. */
void scheduler_take(Manager *m, Instance *i);
void scheduler_release(Manager *m, Instance *i);
