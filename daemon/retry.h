/* SPDX-License-Identifier: MIT */
/* Failure classes and the retry arithmetic (pure) */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"

typedef enum FailureClass {
        FAILURE_EXIT_CODE,      /* exited with a status other than 0 */
        FAILURE_SIGNAL,         /* killed by a signal */
        FAILURE_CORE_DUMP,
        FAILURE_TIMEOUT,        /* RuntimeMaxSec= passed */
        FAILURE_OOM,            /* killed at MemoryMax= */
        FAILURE_OUTPUT,         /* exited 0 without writing an output, or it could not be moved */
        FAILURE_START,          /* the unit could not be started */
        FAILURE_LOST,           /* it ended while nobody was looking and left no result */
        FAILURE_INTERRUPTED,    /* stopped by the system's shutdown: no failure, runs again */
        _FAILURE_CLASS_MAX,
        _FAILURE_CLASS_INVALID = -EINVAL,
} FailureClass;

const char *failure_class_to_string(FailureClass c);
FailureClass failure_class_from_string(const char *s);

typedef struct RetryDecision {
        bool retry;
        uint64_t delay_usec;    /* when retry */
        uint64_t memory_max;    /* for the next attempt; UINT64_MAX: the task's own */
        const char *why;        /* when not: static text for the reason */
} RetryDecision;

/*
 * After the attempt-th run (counting from 1) failed with class c at memory limit memory_max
 * (UINT64_MAX for none): retry, when, and with what limit. An oom-kill is never retried at the
 * limit it hit: with memory_grow set it is retried with a larger one up to memory_cap, without
 * it the failure is final at once.
 */
RetryDecision retry_decide(const RetryPolicy *p, FailureClass c, unsigned attempt,
                           uint64_t memory_max);
