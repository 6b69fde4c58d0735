/* SPDX-License-Identifier: MIT */
/* The daemon's D-Bus API (sluicectl's side is daemon/ctl/control.c) */
#pragma once

#include "manager.h"

#define SLUICE_BUS_NAME "org.sluice.sluice1"
#define SLUICE_BUS_PATH "/org/sluice/sluice1"
#define SLUICE_BUS_INTERFACE "org.sluice.sluice1.Manager"

/* Publishes the object and takes the name, on every (re)connection. At start, the name held by
 * another sluiced is an error (-EEXIST); later, a warning. */
int bus_api_attach(Manager *m, bool at_start);
