/* SPDX-License-Identifier: MIT */
/*
 * Time spans, sizes and percentages as they appear in pipeline files. The accepted syntax is a
 * strict subset of what systemd accepts for the matching unit properties, so a value that parses
 * here is never rejected by the manager later.
 */
#include <time.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "time-util.h"

usec_t now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}

static const struct {
        const char *suffix;
        usec_t usec;
} time_units[] = {
        /* Longer suffixes first, so "min" wins over "m" and "ms" over "m". */
        { "msec", USEC_PER_MSEC },
        { "ms", USEC_PER_MSEC },
        { "usec", 1 },
        { "us", 1 },
        { "seconds", USEC_PER_SEC },
        { "second", USEC_PER_SEC },
        { "sec", USEC_PER_SEC },
        { "s", USEC_PER_SEC },
        { "minutes", USEC_PER_MINUTE },
        { "minute", USEC_PER_MINUTE },
        { "min", USEC_PER_MINUTE },
        { "m", USEC_PER_MINUTE },
        { "hours", USEC_PER_HOUR },
        { "hour", USEC_PER_HOUR },
        { "hr", USEC_PER_HOUR },
        { "h", USEC_PER_HOUR },
        { "days", USEC_PER_DAY },
        { "day", USEC_PER_DAY },
        { "d", USEC_PER_DAY },
        { "weeks", 7 * USEC_PER_DAY },
        { "week", 7 * USEC_PER_DAY },
        { "w", 7 * USEC_PER_DAY },
};

static int parse_uint(const char **p, uint64_t *ret) {
        uint64_t v = 0;
        const char *s = *p;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        for (; isdigit((unsigned char) *s); s++) {
                if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *p = s;
        *ret = v;
        return 0;
}

int parse_timespan(const char *s, usec_t *ret) {
        usec_t total = 0;
        bool any = false;
        int r;

        for (;;) {
                uint64_t v;
                usec_t mult = USEC_PER_SEC;
                size_t k = 0;

                s += strspn(s, " ");
                if (!*s)
                        break;
                r = parse_uint(&s, &v);
                if (r < 0)
                        return r;
                s += strspn(s, " ");
                for (size_t i = 0; i < ELEMENTSOF(time_units); i++) {
                        size_t l = strlen(time_units[i].suffix);
                        if (strneq(s, time_units[i].suffix, l) && !isalpha((unsigned char) s[l])) {
                                mult = time_units[i].usec;
                                k = l;
                                break;
                        }
                }
                if (k == 0 && isalpha((unsigned char) *s))
                        return -EINVAL;
                s += k;
                if (v > (USEC_INFINITY - 1 - total) / mult)
                        return -ERANGE;
                total += v * mult;
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret = total;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const char suffixes[] = "KMGTPE";
        uint64_t v, mult = 1;
        const char *e;
        int r;

        r = parse_uint(&s, &v);
        if (r < 0)
                return r;
        if (*s) {
                e = strchr(suffixes, *s);
                if (!e || s[1])
                        return -EINVAL;
                for (ptrdiff_t i = 0; i <= e - suffixes; i++)
                        mult *= 1024;
        }
        if (v > UINT64_MAX / mult - 1)
                return -ERANGE;
        *ret = v * mult;
        return 0;
}

char *format_bytes(char *buf, size_t len, uint64_t bytes) {
        static const char suffixes[] = "KMGTPE";
        double v = (double) bytes;
        int k = -1;

        while (v >= 1024 && k < (int) sizeof(suffixes) - 2) {
                v /= 1024;
                k++;
        }
        if (k < 0)
                snprintf(buf, len, "%lluB", (unsigned long long) bytes);
        else
                snprintf(buf, len, v < 10 ? "%.1f%c" : "%.0f%c", v, suffixes[k]);
        return buf;
}

int parse_percent(const char *s, unsigned *ret_permille) {
        uint64_t v;
        int r;

        r = parse_uint(&s, &v);
        if (r < 0)
                return r;
        if (!streq(s, "%"))
                return -EINVAL;
        if (v == 0 || v > 100000)
                return -ERANGE;
        *ret_permille = (unsigned) v * 10;
        return 0;
}

char *format_timespan(char *buf, size_t len, usec_t t) {
        static const struct {
                const char *suffix;
                usec_t usec;
        } table[] = {
                { "d", USEC_PER_DAY }, { "h", USEC_PER_HOUR }, { "min", USEC_PER_MINUTE },
                { "s", USEC_PER_SEC }, { "ms", USEC_PER_MSEC }, { "us", 1 },
        };
        size_t n = 0;

        if (t == USEC_INFINITY) {
                snprintf(buf, len, "infinity");
                return buf;
        }
        /* For people: microseconds of a second are noise, and milliseconds of a minute. */
        if (t >= USEC_PER_MINUTE)
                t -= t % USEC_PER_SEC;
        else if (t >= USEC_PER_MSEC)
                t -= t % USEC_PER_MSEC;
        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(table) && n < len; i++) {
                usec_t v = t / table[i].usec;
                if (v == 0)
                        continue;
                n += (size_t) snprintf(buf + n, len - n, "%s%llu%s", n > 0 ? " " : "",
                                       (unsigned long long) v, table[i].suffix);
                t %= table[i].usec;
        }
        if (n == 0)
                snprintf(buf, len, "0");
        return buf;
}

char *format_timespan_short(char *buf, size_t len, usec_t t) {
        unsigned long long v = t;

        if (t == USEC_INFINITY)
                snprintf(buf, len, "infinity");
        else if (t < USEC_PER_MSEC)
                snprintf(buf, len, "%lluus", v);
        else if (t < USEC_PER_SEC)
                snprintf(buf, len, "%llums", v / USEC_PER_MSEC);
        else if (t < USEC_PER_MINUTE)
                /* Tenths, truncated: 59.99 s must not read as a minute. */
                snprintf(buf, len, "%llu.%llus", v / USEC_PER_SEC,
                         v % USEC_PER_SEC / (USEC_PER_SEC / 10));
        else if (t < USEC_PER_HOUR)
                snprintf(buf, len, "%llumin %llus", v / USEC_PER_MINUTE,
                         v % USEC_PER_MINUTE / USEC_PER_SEC);
        else if (t < USEC_PER_DAY)
                snprintf(buf, len, "%lluh %llumin", v / USEC_PER_HOUR,
                         v % USEC_PER_HOUR / USEC_PER_MINUTE);
        else
                snprintf(buf, len, "%llud %lluh", v / USEC_PER_DAY, v % USEC_PER_DAY / USEC_PER_HOUR);
        return buf;
}

char *format_realtime(char *buf, size_t len, usec_t t) {
        time_t secs = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        if (t == 0 || !localtime_r(&secs, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, len, "-");
        return buf;
}
