/* SPDX-License-Identifier: MIT */
/*
 * Retry arithmetic: delay * backoff^(attempt - 1), capped, and the failure classes read from
 * systemd's Result=. Pure, so that every branch is a unit test.
 */
#include <math.h>
#include <string.h>

#include "retry.h"

static const char * const failure_class_table[_FAILURE_CLASS_MAX] = {
        [FAILURE_EXIT_CODE] = "exit-code", [FAILURE_SIGNAL] = "signal",
        [FAILURE_CORE_DUMP] = "core-dump", [FAILURE_TIMEOUT] = "timeout",
        [FAILURE_OOM] = "oom-kill",        [FAILURE_OUTPUT] = "output",
        [FAILURE_START] = "start",         [FAILURE_LOST] = "lost",
        [FAILURE_INTERRUPTED] = "interrupted",
};

const char *failure_class_to_string(FailureClass c) {
        if (c < 0 || c >= _FAILURE_CLASS_MAX)
                return NULL;
        return failure_class_table[c];
}

FailureClass failure_class_from_string(const char *s) {
        for (int i = 0; i < _FAILURE_CLASS_MAX; i++)
                if (streq(failure_class_table[i], s))
                        return (FailureClass) i;
        return _FAILURE_CLASS_INVALID;
}

RetryDecision retry_decide(const RetryPolicy *p, FailureClass c, unsigned attempt,
                           uint64_t memory_max) {
        RetryDecision d = { .memory_max = memory_max };
        double delay;

        if (attempt >= p->attempts) {
                d.why = p->attempts > 1 ? "no attempts left" : "no retries configured";
                return d;
        }
        if (c == FAILURE_OOM) {
                double grown;

                if (p->memory_grow <= 1.0 || memory_max == UINT64_MAX) {
                        d.why = "killed at its memory limit, which a retry would hit again";
                        return d;
                }
                if (memory_max >= p->memory_cap) {
                        d.why = "killed at its memory limit, already at memory_cap";
                        return d;
                }
                grown = (double) memory_max * p->memory_grow;
                d.memory_max = grown >= (double) p->memory_cap ? p->memory_cap : (uint64_t) grown;
        }
        delay = (double) p->delay * pow(p->backoff, (double) (attempt - 1));
        if (delay > (double) p->max_delay)
                delay = (double) p->max_delay;
        d.retry = true;
        d.delay_usec = (uint64_t) delay;
        return d;
}
