/* SPDX-License-Identifier: MIT */
/*
 * dropper DIR COUNT INTERVAL_MS PREFIX SUFFIX: writes a small file in DIR/.incoming, then
 * renames it into DIR as PREFIX<n>SUFFIX, COUNT times, INTERVAL_MS apart; prints "<name>
 * <CLOCK_REALTIME ns of the rename>" per file. With INTERVAL_MS 0 all files are written first
 * and renamed in a burst. A PREFIX of "@YYYY" names the files by hour instead: the n-th hour of
 * that year as YYYY-MM-DDTHH, then SUFFIX (for hourly templates).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void write_file(const char *path, int n) {
        char buf[64];
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int len = snprintf(buf, sizeof(buf), "event %d\n", n);

        if (fd < 0 || write(fd, buf, (size_t) len) != len || close(fd) < 0) {
                fprintf(stderr, "dropper: %s: %s\n", path, strerror(errno));
                exit(1);
        }
}

/* The n-th file's name, without the directory. */
static void name_of(char *buf, size_t size, const char *prefix, const char *suffix, int n) {
        if (prefix[0] == '@') {
                struct tm tm = { .tm_year = atoi(prefix + 1) - 1900, .tm_mday = 1, .tm_hour = n };
                time_t t = timegm(&tm);
                char hour[32];

                gmtime_r(&t, &tm);
                strftime(hour, sizeof(hour), "%Y-%m-%dT%H", &tm);
                snprintf(buf, size, "%s%s", hour, suffix);
        } else
                snprintf(buf, size, "%s%d%s", prefix, n, suffix);
}

int main(int argc, char *argv[]) {
        char staging[4096], name[256], from[8400], to[8400];
        long long *stamps;
        int count, interval;

        if (argc != 6) {
                fprintf(stderr, "usage: dropper DIR COUNT INTERVAL_MS PREFIX SUFFIX\n");
                return 2;
        }
        count = atoi(argv[2]);
        interval = atoi(argv[3]);
        stamps = calloc((size_t) count, sizeof(long long));
        snprintf(staging, sizeof(staging), "%s/.incoming", argv[1]);
        if (!stamps || (mkdir(staging, 0755) < 0 && errno != EEXIST))
                return 1;
        if (interval == 0)
                for (int i = 0; i < count; i++) {
                        name_of(name, sizeof(name), argv[4], argv[5], i);
                        snprintf(from, sizeof(from), "%s/%s", staging, name);
                        write_file(from, i);
                }
        for (int i = 0; i < count; i++) {
                name_of(name, sizeof(name), argv[4], argv[5], i);
                snprintf(from, sizeof(from), "%s/%s", staging, name);
                snprintf(to, sizeof(to), "%s/%s", argv[1], name);
                if (interval > 0)
                        write_file(from, i);
                stamps[i] = now_ns();
                if (rename(from, to) < 0) {
                        fprintf(stderr, "dropper: rename %s: %s\n", from, strerror(errno));
                        return 1;
                }
                if (interval > 0)
                        usleep((useconds_t) interval * 1000);
        }
        for (int i = 0; i < count; i++) {
                name_of(name, sizeof(name), argv[4], argv[5], i);
                printf("%s %lld\n", name, stamps[i]);
        }
        return 0;
}
