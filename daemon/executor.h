/* SPDX-License-Identifier: MIT */
/* Runs an instance as a transient unit and follows the unit to its end */
#pragma once

#include "manager.h"

/* Subscribes to the manager's unit and job signals; once per bus connection. */
int executor_setup(Manager *m);
/* Stages outputs and sends StartTransientUnit. The instance becomes STARTING. */
int executor_start(Manager *m, Instance *i);
