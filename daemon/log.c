/* SPDX-License-Identifier: MIT */
/*
 * The daemon's one way to say anything. Entries go to the journal with CODE_* location and any
 * SLUICE_* fields; the same message is printed as a plain line on stderr unless stderr already
 * is the journal (JOURNAL_STREAM), so nothing is logged twice under systemd and a developer
 * running sluiced in a terminal still sees everything.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "util/strv.h"

static int log_max_level = LOG_INFO;
static bool log_to_stderr = true;
static bool log_to_journal = false;
static const char *log_identifier = "sluice";

static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

void log_setup(LogTarget target, const char *identifier) {
        const char *e;

        log_identifier = identifier;
        log_to_journal = target == LOG_TARGET_AUTO;
        log_to_stderr = target == LOG_TARGET_STDERR || !stderr_is_journal();

        e = getenv("SLUICE_LOG_LEVEL");
        if (e && streq(e, "debug"))
                log_max_level = LOG_DEBUG;
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 char * const *fields, const char *format, ...) {
        char msg[2048];
        va_list ap;
        int saved = errno;

        if (error < 0)
                error = -error;
        if (level > log_max_level)
                return error > 0 ? -error : 0;

        errno = error;
        va_start(ap, format);
        (void) vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);

        /* First: a journald that does not read (stopped, overloaded) blocks the send, and a
         * terminal or a log file should have the line meanwhile. */
        if (log_to_stderr)
                fprintf(stderr, "%s\n", msg);
        if (log_to_journal) {
                size_t n = strv_length(fields);
                struct iovec iov[n + 4];
                char prio[16], id[64], errfield[32], *m = NULL;
                int k = 0;

                snprintf(prio, sizeof(prio), "PRIORITY=%i", level);
                snprintf(id, sizeof(id), "SYSLOG_IDENTIFIER=%s", log_identifier);
                if (asprintf(&m, "MESSAGE=%s", msg) >= 0) {
                        char cf[512], cl[32];

                        iov[k++] = (struct iovec){ m, strlen(m) };
                        iov[k++] = (struct iovec){ prio, strlen(prio) };
                        iov[k++] = (struct iovec){ id, strlen(id) };
                        if (error > 0) {
                                snprintf(errfield, sizeof(errfield), "ERRNO=%i", error);
                                iov[k++] = (struct iovec){ errfield, strlen(errfield) };
                        }
                        STRV_FOREACH(f, fields)
                                iov[k++] = (struct iovec){ *f, strlen(*f) };
                        snprintf(cf, sizeof(cf), "CODE_FILE=%s", file);
                        snprintf(cl, sizeof(cl), "CODE_LINE=%i", line);
                        /* No journal socket (sluicectl on a bare machine): stderr suffices. */
                        (void) sd_journal_sendv_with_location(cf, cl, func, iov, k);
                        free(m);
                }
        }
        errno = saved;
        return error > 0 ? -error : 0;
}
