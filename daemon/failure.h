/* SPDX-License-Identifier: MIT */
/* Why a run failed: its class, for the retry policy, and the reason, in words */
#pragma once

#include "executor.h"
#include "retry.h"

/* The class of a failed run of i, whose unit ended as res; start_realtime: when it started, to
 * find the kernel's oom-kill line since. May wait a little for that line (a bounded budget). */
FailureClass failure_classify(Instance *i, const UnitResult *res, usec_t start_realtime);
/* "exit-code (status 3)", "signal (SIGTERM)", "oom-kill (MemoryMax=64M)"; NULL without
 * memory. */
char *failure_describe(Instance *i, FailureClass c, const UnitResult *res);
