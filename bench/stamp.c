/* SPDX-License-Identifier: MIT */
/*
 * The benchmark task: records, as its first act, when it started (CLOCK_REALTIME, in
 * nanoseconds) in the file named by its first argument. Tiny and static in behaviour, so that
 * what is measured is everything before it.
 *
 *   stamp FILE [RUNS NAME]          RUNS: a file this run appends NAME to, so that how often
 *                                   each instance ran is told by the tasks themselves
 *   stamp --consume INDIR OUTDIR    for a .path unit, which cannot say which file arrived:
 *                                   stamps OUTDIR/NAME for each file in INDIR and moves the
 *                                   file to INDIR/.done, so the directory empties again
 */
#include <dirent.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_stamp(const char *path, const char *buf, int n) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0 || write(fd, buf, (size_t) n) != n || close(fd) < 0)
                return 1;
        return 0;
}

int main(int argc, char *argv[]) {
        struct timespec ts;
        char buf[32];
        int n;

        clock_gettime(CLOCK_REALTIME, &ts);
        n = snprintf(buf, sizeof(buf), "%lld\n", (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec);
        if (argc == 4 && strcmp(argv[1], "--consume") == 0) {
                char done[4096], from[8192], to[8192], out[8192];
                struct dirent *de;
                DIR *d = opendir(argv[2]);

                if (!d)
                        return 1;
                snprintf(done, sizeof(done), "%s/.done", argv[2]);
                (void) mkdir(done, 0755);
                while ((de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        snprintf(out, sizeof(out), "%s/%s", argv[3], de->d_name);
                        snprintf(from, sizeof(from), "%s/%s", argv[2], de->d_name);
                        snprintf(to, sizeof(to), "%s/%s", done, de->d_name);
                        if (write_stamp(out, buf, n) || rename(from, to) < 0)
                                return 1;
                }
                closedir(d);
                return 0;
        }
        if (argc != 2 && argc != 4)
                return 2;
        if (write_stamp(argv[1], buf, n))
                return 1;
        if (argc == 4) {
                /* O_APPEND: one write per run, whole, whatever runs at the same time. */
                char line[256];
                int fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                int k = snprintf(line, sizeof(line), "%s\n", argv[3]);

                if (fd < 0 || k < 0 || k >= (int) sizeof(line) ||
                    write(fd, line, (size_t) k) != k || close(fd) < 0)
                        return 1;
        }
        return 0;
}
