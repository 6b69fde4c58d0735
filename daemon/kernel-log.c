/* SPDX-License-Identifier: MIT */
/*
 * The kernel says why a task died where systemd cannot: an oom-kill under cgroup v1 (which
 * systemd sees as a SIGKILL), a fork refused at TasksMax= (which the task reports in its own
 * words). journald has those lines too, but reads the kernel's ring buffer on its own time:
 * on a busy machine it lags by a good part of a second, so a lookup at the run's end had to
 * wait for it with the loop held, or missed the line. /dev/kmsg has the line the moment the
 * kernel wrote it, before the task could exit. So the lines of interest are read from there,
 * only the new ones each time (none or a few records), and the last few hundred kept, by the
 * kernel's sequence number: a mark taken when a run starts tells its lines from those of an
 * earlier run of the same unit without comparing clocks (the kernel's timestamps drift from
 * CLOCK_MONOTONIC over a long uptime). Where /dev/kmsg cannot be read, the journal answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel-log.h"
#include "util/macro.h"

#define KEPT_LINES 256
/* Records read at one go: a flood of kernel messages must not hold the loop. */
#define DRAIN_MAX 4096

typedef struct KernelLine {
        uint64_t seq;           /* the kernel's sequence number, +1 (0: an empty slot) */
        char *text;             /* unescaped */
} KernelLine;

/* One reader for the process: the kernel's log is one, and only this file needs to know it. */
static struct {
        bool opened;
        int fd;                 /* -errno: cannot be read here */
        uint64_t next_seq;      /* the sequence number of the next record; 0: none read yet */
        uint64_t lost_below;    /* records numbered below this may have gone unread */
        KernelLine kept[KEPT_LINES];
        size_t next;            /* where the next kept line goes, round */
} klog;

bool kernel_line_names(const char *text, size_t len, const char *marker, const char *unit) {
        size_t n = strlen(unit);
        const char *end = text + len;

        if (!memmem(text, len, marker, strlen(marker)))
                return false;
        /* Every "/<unit>" in the line: the one that counts ends the path. */
        for (const char *at = text; (at = memchr(at, '/', (size_t) (end - at))); at++)
                if ((size_t) (end - at - 1) >= n && memcmp(at + 1, unit, n) == 0 &&
                    (at + 1 + n == end || at[1 + n] == ','))
                        return true;
        return false;
}

static int hex(char c) {
        return c >= '0' && c <= '9' ? c - '0' :
               c >= 'a' && c <= 'f' ? c - 'a' + 10 :
               c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The kernel writes bytes outside printable ASCII and '\\' as "\xNN" in /dev/kmsg; the
 * journal keeps them as they were, and unit names hold '\\' (systemd's escaping). */
static char *unescape(const char *s, size_t len) {
        char *r = malloc(len + 1), *w = r;

        if (!r)
                return NULL;
        for (size_t k = 0; k < len; k++)
                if (s[k] == '\\' && k + 3 < len && s[k + 1] == 'x' && hex(s[k + 2]) >= 0 &&
                    hex(s[k + 3]) >= 0) {
                        *w++ = (char) (hex(s[k + 2]) << 4 | hex(s[k + 3]));
                        k += 3;
                } else
                        *w++ = s[k];
        *w = 0;
        return r;
}

static void keep(uint64_t seq, const char *text, size_t len) {
        KernelLine *l = &klog.kept[klog.next];
        char *t = unescape(text, len);

        if (!t)
                return;
        /* A line pushed out leaves its time unknown, as one the kernel overwrote does. */
        if (l->seq > klog.lost_below)
                klog.lost_below = l->seq;
        free(l->text);
        *l = (KernelLine) { .seq = seq, .text = t };
        klog.next = (klog.next + 1) % KEPT_LINES;
}

/* A record: "PRIORITY,SEQUENCE,TIMESTAMP_USEC,FLAGS[,...];MESSAGE\n", then continuation lines
 * (" KEY=VALUE"). One read() returns one record. */
static void take(const char *rec, size_t len) {
        const char *msg = memchr(rec, ';', len), *nl;
        unsigned long long seq;
        size_t n;

        if (!msg || sscanf(rec, "%*u,%llu,", &seq) != 1)
                return;
        /* The first record read, or the first after a gap: what came before it is unknown,
         * unless it is the first the kernel ever wrote. */
        if (seq != klog.next_seq && seq > 0 && seq > klog.lost_below)
                klog.lost_below = seq;
        klog.next_seq = seq + 1;
        msg++;
        nl = memchr(msg, '\n', len - (size_t) (msg - rec));
        n = nl ? (size_t) (nl - msg) : len - (size_t) (msg - rec);
        if (memmem(msg, n, KERNEL_LINE_OOM, strlen(KERNEL_LINE_OOM)) ||
            memmem(msg, n, KERNEL_LINE_FORK, strlen(KERNEL_LINE_FORK)))
                keep(seq + 1, msg, n);
}

/* 0 when all was read, 1 when DRAIN_MAX records were and more may wait, or -errno. */
static int drain(void) {
        char rec[8192 + 1];     /* the kernel's longest record (CONSOLE_EXT_LOG_MAX) */

        if (!klog.opened) {
                int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
                struct stat st;

                klog.opened = true;
                klog.fd = fd < 0 ? -errno : fd;
                /* systemd-nspawn makes it a FIFO for the container's journald: reading that
                 * would take its lines, and it is not the kernel's log anyway. */
                if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode))) {
                        safe_close(fd);
                        klog.fd = -ENOTTY;
                }
        }
        if (klog.fd < 0)
                return klog.fd;
        for (unsigned k = 0;; k++) {
                ssize_t n;

                if (k >= DRAIN_MAX)
                        return 1;
                n = read(klog.fd, rec, sizeof(rec) - 1);

                /* EPIPE: overwritten before it was read; the next read goes on after the
                 * gap, which take() notes from the sequence numbers. */
                if (n < 0 && (errno == EINTR || errno == EPIPE))
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n <= 0) {
                        /* Not a log after all (a container's /dev/kmsg may be anything). */
                        int r = n < 0 ? -errno : -ENODATA;
                        safe_close(klog.fd);
                        klog.fd = r;
                        return r;
                }
                rec[n] = 0;
                take(rec, (size_t) n);
        }
}

uint64_t kernel_log_mark(void) {
        /* The first record read must be known: an empty log gives nothing to mark by. Nor
         * does a flood not read to its end: a line before the start could pass for one after. */
        if (drain() != 0 || klog.next_seq == 0)
                return 0;
        return klog.next_seq;
}

int kernel_log_named(const char *unit, const char *marker, uint64_t mark) {
        int r;

        if (mark == 0)
                return -ENODATA;
        /* A flood not read to its end may hide the run's line: the journal is asked. */
        r = drain();
        if (r != 0)
                return r < 0 ? r : -EAGAIN;
        /* Lines of the run's time were lost (the ring overwrote them unread, or so many were
         * kept since that the run's were pushed out). */
        if (mark < klog.lost_below)
                return -ESTALE;
        for (size_t k = 0; k < KEPT_LINES; k++) {
                const KernelLine *l = &klog.kept[k];
                if (l->seq > mark && kernel_line_names(l->text, strlen(l->text), marker, unit))
                        return 1;
        }
        return 0;
}
