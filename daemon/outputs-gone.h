/* SPDX-License-Identifier: MIT */
/* Outputs that went with a directory moved away whole */
#pragma once

#include "manager.h"

/* The TargetHost gone_below callback: what reads t below partial is checked again now, and
 * the producer's instances below it within a second (with any other directory gone meanwhile). */
void evaluate_gone_below(TargetHost *h, Target *t, const Binding *partial);
