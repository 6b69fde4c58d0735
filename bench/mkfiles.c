/* SPDX-License-Identifier: MIT */
/*
 * mkfiles DIR SOURCES HOURS SUFFIX: DIR/src<s>/<YYYY-MM-DDTHH><SUFFIX> for SOURCES sources and
 * HOURS hours back from 2026-01-01T00, empty. Fast enough for a million files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
        time_t end = 1767225600;        /* 2026-01-01T00:00:00Z */
        int sources, hours;

        if (argc != 5)
                return 2;
        sources = atoi(argv[2]);
        hours = atoi(argv[3]);
        for (int s = 0; s < sources; s++) {
                char dir[4096];

                snprintf(dir, sizeof(dir), "%s/src%d", argv[1], s);
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        return 1;
                for (int h = 1; h <= hours; h++) {
                        time_t t = end - (time_t) h * 3600;
                        struct tm tm;
                        char path[4200];
                        int fd;

                        gmtime_r(&t, &tm);
                        snprintf(path, sizeof(path), "%s/%04d-%02d-%02dT%02d%s", dir,
                                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                 argv[4]);
                        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                        if (fd < 0)
                                return 1;
                        close(fd);
                }
        }
        return 0;
}
