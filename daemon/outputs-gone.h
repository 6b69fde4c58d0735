/* SPDX-License-Identifier: MIT */
/* Outputs that went with a directory moved away whole */
#pragma once

#include "manager.h"

/* The TargetHost gone_below callback: what reads t, and the producer's instances below
 * partial, are checked again at once, or a second after the last check, with any other
 * directory gone meanwhile. */
void evaluate_gone_below(TargetHost *h, Target *t, const Binding *partial);
