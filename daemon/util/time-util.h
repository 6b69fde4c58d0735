/* SPDX-License-Identifier: MIT */
/* Microsecond time, and the span and size syntax of pipeline files */
#pragma once

#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;

#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR (60ULL * USEC_PER_MINUTE)
#define USEC_PER_DAY (24ULL * USEC_PER_HOUR)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)

usec_t now_usec(clockid_t clock);

/*
 * "30s", "20m", "1h 30min", "500ms", "2d": systemd's time span syntax, a subset. A bare number is
 * seconds. Returns -EINVAL for anything else, -ERANGE on overflow.
 */
int parse_timespan(const char *s, usec_t *ret);
/* "512M", "1G", "1024" (bytes), base 1024 as systemd reads MemoryMax=. */
int parse_size(const char *s, uint64_t *ret);
/* Formats a size for people, rounded, "1.5M", "512K", "100B", into buf; returns buf. */
char *format_bytes(char *buf, size_t len, uint64_t bytes);
#define FORMAT_BYTES_MAX 16
/* "50%", "250%": returns the per-mille value, 0 < v. */
int parse_percent(const char *s, unsigned *ret_permille);

/* Formats a span as "1h 30min 2s" into buf, to the second from a minute up and to the
 * millisecond from a millisecond up; returns buf. */
char *format_timespan(char *buf, size_t len, usec_t t);
#define FORMAT_TIMESPAN_MAX 64
/* The same in at most 10 characters, for a table's column: the two largest units, or one
 * below a minute ("147ms", "12.3s", "4min 7s", "2h 5min"); returns buf. */
char *format_timespan_short(char *buf, size_t len, usec_t t);
/* Formats a CLOCK_REALTIME time as local "2026-11-27 06:00:00" into buf, "-" for 0; returns
 * buf. */
char *format_realtime(char *buf, size_t len, usec_t t);
#define FORMAT_REALTIME_MAX 32
