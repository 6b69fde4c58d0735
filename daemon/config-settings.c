/* SPDX-License-Identifier: MIT */
/*
 * Values that pipeline files and sluiced.conf share: numbers, time spans, sizes, resource
 * limits and retry policies. Each accepts only what systemd would accept for the property it
 * becomes, so a file that checks never has a unit refused by the manager.
 */
#include <math.h>
#include <string.h>

#include "config-internal.h"

int config_get_uint(Loader *l, const config_setting_t *s, const char *subject, unsigned long min,
                    unsigned long max, unsigned long *ret) {
        long long v;

        if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64) {
                diag_error(l->diag, line_of(s), "%s'%s' must be a whole number from %lu to %lu, "
                                                "not %s",
                           subject, config_setting_name(s), min, max, type_name(s));
                return -EINVAL;
        }
        v = config_setting_get_int64(s);
        if (v < (long long) min || v > (long long) max) {
                diag_error(l->diag, line_of(s), "%s'%s' must be from %lu to %lu, not %lld",
                           subject, config_setting_name(s), min, max, v);
                return -ERANGE;
        }
        *ret = (unsigned long) v;
        return 0;
}

int config_get_span(Loader *l, const config_setting_t *s, const char *subject, usec_t *ret) {
        const char *v = config_setting_get_string(s);

        if (!v || parse_timespan(v, ret) < 0) {
                diag_error(l->diag, line_of(s), "%s'%s' must be a time span like \"30s\", \"20m\" "
                                                "or \"1h 30min\", not %s%s%s",
                           subject, config_setting_name(s), v ? "'" : "", v ?: type_name(s),
                           v ? "'" : "");
                return -EINVAL;
        }
        return 0;
}

int config_get_size(Loader *l, const config_setting_t *s, const char *subject, uint64_t *ret) {
        const char *v = config_setting_get_string(s);

        if (!v || parse_size(v, ret) < 0 || *ret == 0) {
                diag_error(l->diag, line_of(s), "%s'%s' must be a size like \"512M\" or \"2G\" "
                                                "(bytes, K, M, G, T), not %s%s%s",
                           subject, config_setting_name(s), v ? "'" : "", v ?: type_name(s),
                           v ? "'" : "");
                return -EINVAL;
        }
        return 0;
}

static int get_double(Loader *l, const config_setting_t *s, const char *subject, double min,
                      double max, double *ret) {
        double v;

        if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
                v = config_setting_get_float(s);
        else if (config_setting_type(s) == CONFIG_TYPE_INT ||
                 config_setting_type(s) == CONFIG_TYPE_INT64)
                v = (double) config_setting_get_int64(s);
        else {
                diag_error(l->diag, line_of(s), "%s'%s' must be a number like 2.0, not %s",
                           subject, config_setting_name(s), type_name(s));
                return -EINVAL;
        }
        if (!(v >= min && v <= max)) {
                diag_error(l->diag, line_of(s), "%s'%s' must be from %g to %g, not %g", subject,
                           config_setting_name(s), min, max, v);
                return -ERANGE;
        }
        *ret = v;
        return 0;
}

void config_parse_limits(Loader *l, Limits *limits, const config_setting_t *s,
                         const char *subject, bool per_unit) {
        static char * const unit_keys[] = { "memory_max", "memory_high", "cpu_quota",
                                            "cpu_weight", "io_weight", "tasks_max",
                                            "runtime_max", "nice", NULL };
        /* A slice runs no process: no run time, no nice. */
        static char * const slice_keys[] = { "memory_max", "memory_high", "cpu_quota",
                                             "cpu_weight", "io_weight", "tasks_max", NULL };
        const config_setting_t *m;
        unsigned long v;
        uint64_t sz;
        usec_t t;

        if (!config_setting_is_group(s)) {
                diag_error(l->diag, line_of(s), "%s'limits' must be a group like { memory_max = "
                                                "\"512M\"; }, not %s",
                           subject, type_name(s));
                return;
        }
        check_keys(l, s, per_unit ? unit_keys : slice_keys, subject);

        if ((m = config_setting_get_member(s, "memory_max")) &&
            config_get_size(l, m, subject, &sz) >= 0)
                limits->memory_max = sz;
        if ((m = config_setting_get_member(s, "memory_high")) &&
            config_get_size(l, m, subject, &sz) >= 0)
                limits->memory_high = sz;
        if ((m = config_setting_get_member(s, "cpu_quota"))) {
                const char *q = config_setting_get_string(m);
                if (!q || parse_percent(q, &limits->cpu_quota_permille) < 0)
                        diag_error(l->diag, line_of(m),
                                   "%scpu_quota must be a percentage of one CPU like \"50%%\" or "
                                   "\"200%%\", not %s%s%s",
                                   subject, q ? "'" : "", q ?: type_name(m), q ? "'" : "");
        }
        /* systemd's CPUWeight= and IOWeight= take 1 to 10000. */
        if ((m = config_setting_get_member(s, "cpu_weight")) &&
            config_get_uint(l, m, subject, 1, 10000, &v) >= 0)
                limits->cpu_weight = v;
        if ((m = config_setting_get_member(s, "io_weight")) &&
            config_get_uint(l, m, subject, 1, 10000, &v) >= 0)
                limits->io_weight = v;
        if ((m = config_setting_get_member(s, "tasks_max")) &&
            config_get_uint(l, m, subject, 1, 4194304, &v) >= 0)
                limits->tasks_max = v;
        if ((m = config_setting_get_member(s, "runtime_max")) &&
            config_get_span(l, m, subject, &t) >= 0) {
                if (t == 0)
                        diag_error(l->diag, line_of(m), "%sruntime_max must be longer than 0",
                                   subject);
                else
                        limits->runtime_max = t;
        }
        if ((m = config_setting_get_member(s, "nice"))) {
                long long n = config_setting_get_int64(m);
                if (config_setting_type(m) != CONFIG_TYPE_INT)
                        diag_error(l->diag, line_of(m), "%snice must be a whole number from -20 "
                                                        "to 19, not %s",
                                   subject, type_name(m));
                else if (n < -20 || n > 19)
                        diag_error(l->diag, line_of(m), "%snice must be a whole number from -20 "
                                                        "to 19, not %lld",
                                   subject, n);
                else {
                        limits->nice = (int) n;
                        limits->nice_set = true;
                }
        }
}

void config_parse_retry(Loader *l, RetryPolicy *retry, const config_setting_t *s,
                        const char *subject) {
        static char * const keys[] = { "attempts", "delay", "backoff", "max_delay",
                                       "disable_window", "memory_grow", "memory_cap", NULL };
        const config_setting_t *m;
        unsigned long v;

        if (!config_setting_is_group(s)) {
                diag_error(l->diag, line_of(s), "%s'retry' must be a group like { attempts = 3; "
                                                "delay = \"30s\"; }, not %s",
                           subject, type_name(s));
                return;
        }
        check_keys(l, s, keys, subject);
        if ((m = config_setting_get_member(s, "attempts")) &&
            config_get_uint(l, m, subject, 1, 1000, &v) >= 0)
                retry->attempts = (unsigned) v;
        if ((m = config_setting_get_member(s, "delay")))
                (void) config_get_span(l, m, subject, &retry->delay);
        if ((m = config_setting_get_member(s, "backoff")))
                (void) get_double(l, m, subject, 1.0, 100.0, &retry->backoff);
        if ((m = config_setting_get_member(s, "max_delay")))
                (void) config_get_span(l, m, subject, &retry->max_delay);
        if ((m = config_setting_get_member(s, "disable_window")))
                (void) config_get_span(l, m, subject, &retry->disable_window);
        if ((m = config_setting_get_member(s, "memory_grow")))
                (void) get_double(l, m, subject, 1.1, 100.0, &retry->memory_grow);
        if ((m = config_setting_get_member(s, "memory_cap")))
                (void) config_get_size(l, m, subject, &retry->memory_cap);
}
