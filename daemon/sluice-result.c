/* SPDX-License-Identifier: MIT */
/*
 * sluice-result records how a run ended in STATE_DIR/runs, where the daemon watches for it, and
 * where a daemon that was away finds it later. Two forms:
 *
 *   sluice-result --run STATE_DIR RUN_ID COMMAND [ARG...]
 *       The unit's ExecStart= when the task runs as the daemon's own user, unsandboxed: runs
 *       COMMAND as a child, and records its end itself. The manager spawns one process per run.
 *
 *   sluice-result STATE_DIR RUN_ID
 *       The unit's ExecStopPost= (privileged) for tasks under another user or a sandbox, which
 *       cannot write the state directory: records $SERVICE_RESULT, $EXIT_CODE, $EXIT_STATUS.
 *       Every ExecStopPost= is one more process the manager forks per run, and that costs it
 *       about 40% of its start rate (bench/RESULTS.md), so the first form is preferred.
 *
 *   sluice-result --exec COMMAND [ARG...]
 *       The ExecStart= beside that ExecStopPost=: becomes COMMAND, leaving a watcher that holds
 *       the run's end until journald has read the task's output (watch(), below).
 *
 *   --run and --exec take COMMAND [ARG...] as "--hex BLOB" too: see command_of().
 *
 * Tiny on purpose: it runs once per task run, in front of the task. Linked statically, and
 * with musl where musl-gcc is installed: glibc's start-up probes the CPU's caches with cpuid,
 * a trap to the hypervisor on a VM, ~0.3 ms before the task's first instruction (bench/RESULTS.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#include "state.h"
#include "util/fs-util.h"
#include "util/signal-name.h"

/* systemd's exit status for "could not execute the command", so both forms report it alike. */
#define EXIT_EXEC 203

#ifndef SIOCOUTQ
#define SIOCOUTQ TIOCOUTQ       /* as <linux/sockios.h> has it, which musl's headers lack */
#endif
/* How long a run's end may wait for journald to read the task's output (below); tests set
 * $SLUICE_RESULT_DRAIN_MS to tell the wait from its bound. */
#define DRAIN_MAX_NSEC (2 * 1000000000LL)
/* sysexits.h's EX_IOERR: a task whose outputs could not be written out has failed. */
#define EXIT_IOERR 74
#define EXIT_IOERR_STR "74"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434      /* one number on every architecture (Linux 5.3) */
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };

static int record(const char *dir, const char *run_id, const char *result, const char *code,
                  const char *status, const struct rusage *ru, bool journal_behind) {
        uint64_t cpu = UINT64_MAX, rss = UINT64_MAX;
        int r;

        if (ru) {
                cpu = (uint64_t) (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000u +
                      (uint64_t) (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec);
                rss = (uint64_t) ru->ru_maxrss * 1024u;        /* Linux counts KiB */
        }
        r = state_record_result(dir, run_id, result, code, status, cpu, rss, journal_behind);

        if (r < 0)
                fprintf(stderr, "sluice-result: cannot record the result of run %s in %s: %s\n",
                        run_id, dir, strerror(-r));
        return r;
}

/* Ends this process the way the task ended, so the manager's view of the unit is the task's. */
static _Noreturn void end_like(int status) {
        if (WIFSIGNALED(status)) {
                int sig = WTERMSIG(status);
                sigset_t all;

                /* The core, if any, was the task's; this process has none worth keeping. */
                (void) setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
                (void) signal(sig, SIG_DFL);
                sigfillset(&all);
                (void) sigprocmask(SIG_UNBLOCK, &all, NULL);
                (void) raise(sig);
                _exit(128 + sig);
        }
        _exit(WEXITSTATUS(status));
}

static bool is(const char *a, const char *b) {
        return a && strcmp(a, b) == 0;
}

static long long now_nsec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Waits until journald has read all the task wrote. Its output goes down a stream socket that
 * journald reads when it gets to it, and the daemon, told by the result file that the run
 * ended, reads the task's last lines from the journal for the failure notice: recorded
 * earlier, the notice could lack them. SIOCOUTQ is what the reader has not taken yet. What
 * journald has read it may not have written yet; the daemon waits for that (run-log.h).
 * Bounded, so a stuck journald delays a run's end but never holds it. A last line without its
 * newline stays in journald's buffer until the stream closes, and is missed.
 */
static bool drain(int fd, long long deadline) {
        long pause = 50000;     /* ns, doubling to 5 ms */
        int queued;

        while (ioctl(fd, SIOCOUTQ, &queued) == 0 && queued > 0) {
                if (now_nsec() >= deadline)
                        return false;
                (void) nanosleep(&(struct timespec){ 0, pause }, NULL);
                pause = pause < 5000000 ? pause * 2 : pause;
        }
        return true;
}

/* false when journald had not read it all by the bound. */
static bool wait_for_journal(void) {
        const char *max_ms = getenv("SLUICE_RESULT_DRAIN_MS");
        long long deadline = now_nsec() + (max_ms ? atoll(max_ms) * 1000000LL : DRAIN_MAX_NSEC);
        struct stat out, err;
        bool out_ok = fstat(STDOUT_FILENO, &out) == 0, err_ok = fstat(STDERR_FILENO, &err) == 0;
        bool read_all = true;

        if (out_ok && S_ISSOCK(out.st_mode))
                read_all = drain(STDOUT_FILENO, deadline);
        /* systemd hands both the same stream, as a rule */
        if (err_ok && S_ISSOCK(err.st_mode) &&
            !(out_ok && err.st_dev == out.st_dev && err.st_ino == out.st_ino))
                read_all = drain(STDERR_FILENO, deadline) && read_all;
        return read_all;
}

/*
 * Puts what a successful task wrote on disk before its end is recorded. The daemon fsyncs each
 * staged output again before renaming it into place (targets/local-stage.c), and finds nothing left
 * to write; done there alone, each run's write-out blocks the daemon's one loop, for as long
 * as a large output takes to reach the disk, and a burst of small ones kept it in fsync 30%
 * of the time (3.7 s of 12.6 s for 3,000 runs; 2.4 s with this). Here it runs in the unit,
 * beside the other runs. $SLUICE_OUTPUTS lists the staged outputs, one per line; an entry that
 * is not a local regular file (an s3:// one, a FIFO) is not this program's to sync.
 */
static int sync_output(const char *path) {
        struct stat st, st2;
        int fd, r = 0;

        /* O_PATH first: opening a FIFO for reading, even without blocking, would let a writer
         * waiting in open() go on, into a broken pipe. */
        fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return 0;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return 0;
        }
        close(fd);
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return 0;
        /* The error is told once, to the first to ask: the daemon's own fsync would not see
         * it, so the run fails here. */
        if (fstat(fd, &st2) == 0 && st2.st_dev == st.st_dev && st2.st_ino == st.st_ino &&
            fsync(fd) < 0 && errno != EINVAL && errno != EROFS) {
                fprintf(stderr, "sluice-result: cannot write out %s: %s\n", path, strerror(errno));
                r = -EIO;
        }
        close(fd);
        return r;
}

/* f for each local staged output in $SLUICE_OUTPUTS; -EIO when f failed for any. */
static int foreach_output(int (*f)(const char *path)) {
        const char *outputs = getenv("SLUICE_OUTPUTS");
        char path[4096];
        int ret = 0;

        for (const char *p = outputs; p && *p;) {
                size_t n = strcspn(p, "\n");

                if (p[0] == '/' && n < sizeof(path)) {
                        memcpy(path, p, n);
                        path[n] = 0;
                        if (f(path) < 0)
                                ret = -EIO;
                }
                p += n;
                p += *p == '\n';
        }
        return ret;
}

/*
 * The daemon made the output's directory when it staged the run, but it may be gone since:
 * `rm -r` of an output tree makes the daemon stage runs again as each file goes, then removes
 * the directory they are to write in. Made again here, right before the task starts, instead
 * of every such run failing. A directory that cannot be made is the task's error to report.
 */
static int make_output_dir(const char *path) {
        char dir[4096];
        const char *slash = strrchr(path, '/');
        struct stat st;

        if (!slash || slash == path || (size_t) (slash - path) >= sizeof(dir))
                return 0;
        memcpy(dir, path, slash - path);
        dir[slash - path] = 0;
        if (stat(dir, &st) < 0 && errno == ENOENT)
                (void) mkdir_p(dir, 0755);
        return 0;
}

static int run(const char *dir, const char *run_id, char **argv) {
        posix_spawnattr_t attr;
        struct rusage ru;
        sigset_t stop, old;
        char number[16];
        int status, r;
        pid_t pid;

        /* Blocked across the spawn, so that a stop request cannot kill this process before it
         * ignores them; the child gets the old mask back, and default actions, before exec.
         * posix_spawn rather than fork: no copy of this process's page tables on the way to
         * the task's first instruction. */
        sigemptyset(&stop);
        for (size_t k = 0; k < sizeof(stop_signals) / sizeof(stop_signals[0]); k++)
                sigaddset(&stop, stop_signals[k]);
        (void) foreach_output(make_output_dir);
        (void) sigprocmask(SIG_BLOCK, &stop, &old);
        r = posix_spawnattr_init(&attr);
        if (r == 0)
                r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &old);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &stop);
        if (r == 0)
                r = posix_spawnp(&pid, argv[0], NULL, &attr, argv, environ);
        (void) posix_spawnattr_destroy(&attr);
        if (r != 0) {
                /* As systemd reports an ExecStart= it cannot execute. */
                fprintf(stderr, "sluice-result: cannot execute %s: %s\n", argv[0], strerror(r));
                (void) record(dir, run_id, "exit-code", "exited", "203", NULL, false);
                return EXIT_EXEC;
        }
        /* systemd sends a stop to every process of the unit, the task included: this one stays
         * to record how the task took it. */
        for (size_t k = 0; k < sizeof(stop_signals) / sizeof(stop_signals[0]); k++)
                (void) signal(stop_signals[k], SIG_IGN);
        (void) sigprocmask(SIG_SETMASK, &old, NULL);

        /* wait4: the task's resource use, for `sluicectl history`, which a cgroup-v1 manager
         * does not account (CPU) and systemd 252 does not keep (peak memory) anywhere. It
         * covers the task and every descendant it waited for. */
        while (wait4(pid, &status, 0, &ru) < 0)
                if (errno != EINTR) {
                        fprintf(stderr, "sluice-result: cannot wait for %s: %s\n", argv[0],
                                strerror(errno));
                        return EXIT_FAILURE;
                }
        bool io_error = WIFEXITED(status) && WEXITSTATUS(status) == 0 && foreach_output(sync_output) < 0;
        bool behind = !wait_for_journal();
        if (io_error) {
                (void) record(dir, run_id, "exit-code", "exited", EXIT_IOERR_STR, &ru, behind);
                return EXIT_IOERR;
        }
        if (WIFSIGNALED(status)) {
                bool dumped = WCOREDUMP(status);
                char buf[16];

                (void) record(dir, run_id, dumped ? "core-dump" : "signal",
                              dumped ? "dumped" : "killed",
                              signal_to_name(WTERMSIG(status), buf) ?: "", &ru, behind);
        } else {
                snprintf(number, sizeof(number), "%d", WEXITSTATUS(status));
                (void) record(dir, run_id, WEXITSTATUS(status) == 0 ? "success" : "exit-code",
                              "exited", number, &ru, behind);
        }
        end_like(status);
}

/*
 * The watcher --exec leaves: it holds a copy of the task's output stream, so journald cannot
 * see its end early, and once the task is gone waits until journald has read it all. The
 * manager starts ExecStopPost=, which records the run's end, when no process of the unit is
 * left, this one included, so the end is recorded after the task's last lines are in the
 * journal, as in the --run form. Every signal stays blocked (systemd's stop signals reach the
 * whole unit when the task ends, `systemctl kill` any signal); its final SIGKILL is not.
 * A fork-style copy of this process made by a raw clone3: system calls only from here on,
 * nothing of libc that keeps state.
 */
static _Noreturn void watch(int pidfd) {
        struct pollfd task = { .fd = pidfd, .events = POLLIN };

        /* Nothing but the stream: no descriptor of the unit's is held past the task. */
        (void) close(STDIN_FILENO);
        if (pidfd > 3)
                (void) syscall(SYS_close_range, 3u, (unsigned) pidfd - 1, 0u);
        (void) syscall(SYS_close_range, (unsigned) pidfd + 1, ~0u, 0u);
        while (poll(&task, 1, -1) < 0 && errno == EINTR)
                ;
        (void) wait_for_journal();
        _exit(EXIT_SUCCESS);
}

/* The watcher as the caller's sibling: 0 in it, its pid in the caller, -errno. */
static long clone_sibling(void) {
        struct { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
                 tls; } args = { .flags = CLONE_PARENT };      /* clone3's struct clone_args */
        long r = syscall(SYS_clone3, &args, sizeof(args));

#if !defined(__s390__) && !defined(__CRIS__)    /* clone's first argument is the stack there */
        /* clone3 is newer than some seccomp filters (containers'), which refuse it. */
        if (r < 0 && (errno == ENOSYS || errno == EPERM))
                r = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
#endif
        return r < 0 ? -errno : r;
}

/*
 * This process becomes the task, so that its exit status, signal and core dump are the
 * unit's, unchanged. The watcher is made the manager's child, the task's sibling
 * (CLONE_PARENT): as the task's child it would hang a task that waits for all its children.
 * Without pidfds (Linux before 5.3) or clone there is no watcher, and the run's end can be
 * recorded before journald has read the task's last lines: said in the task's log.
 */
static int exec_watched(char **argv) {
        sigset_t all, old;
        long r = -ENOSYS;
        int pidfd;

        /* Blocked from before the watcher exists; the task gets the old mask back. */
        sigfillset(&all);
        (void) sigprocmask(SIG_BLOCK, &all, &old);
        pidfd = (int) syscall(SYS_pidfd_open, getpid(), 0);
        if (pidfd < 0)
                r = -errno;
        else {
                r = clone_sibling();
                if (r == 0)
                        watch(pidfd);
                (void) close(pidfd);
        }
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                fprintf(stderr, "sluice-result: cannot hold the task's output for journald (%s): "
                                "a failure notice may miss its last lines\n", strerror((int) -r));
        execvp(argv[0], argv);
        fprintf(stderr, "sluice-result: cannot execute %s: %s\n", argv[0], strerror(errno));
        return EXIT_EXEC;
}

static int hex_digit(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "--hex BLOB": the command, NUL-separated and in hex, as the daemon sends one that systemd 252
 * could not keep unchanged in a transient unit file (unit-props.c); decoded in place. Else the
 * command as it is. NULL if the blob is not one. */
static char **command_of(char **argv) {
        char *blob, *out, **l;
        size_t n = 0, k = 0;

        if (!argv[0] || strcmp(argv[0], "--hex") != 0)
                return argv;
        blob = argv[1];
        if (!blob || argv[2] || strlen(blob) % 2 != 0)
                return NULL;
        out = blob;
        for (size_t i = 0; blob[i]; i += 2) {
                int hi = hex_digit(blob[i]), lo = hex_digit(blob[i + 1]);

                if (hi < 0 || lo < 0)
                        return NULL;
                out[k] = (char) (hi << 4 | lo);
                n += out[k++] == 0;
        }
        if (n == 0 || out[k - 1] != 0)
                return NULL;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return NULL;
        for (size_t i = 0, j = 0; j < n; i += strlen(out + i) + 1)
                l[j++] = out + i;
        return l;
}

int main(int argc, char *argv[]) {
        if ((argc >= 5 && strcmp(argv[1], "--run") == 0) ||
            (argc >= 3 && strcmp(argv[1], "--exec") == 0)) {
                bool exec = strcmp(argv[1], "--exec") == 0;
                char **command = command_of(argv + (exec ? 2 : 4));

                if (!command) {
                        fprintf(stderr, "sluice-result: a --hex command that is not one\n");
                        return EXIT_FAILURE;
                }
                return exec ? exec_watched(command) : run(argv[2], argv[3], command);
        }
        if (argc != 3) {
                fprintf(stderr, "usage: sluice-result --run STATE_DIR RUN_ID COMMAND [ARG...]\n"
                                "       sluice-result --exec COMMAND [ARG...]\n"
                                "       (COMMAND [ARG...] may be --hex BLOB)\n"
                                "       sluice-result STATE_DIR RUN_ID  (as ExecStopPost=)\n");
                return EXIT_FAILURE;
        }
        const char *result = getenv("SERVICE_RESULT"), *status = getenv("EXIT_STATUS");

        /* "success" also covers a task stopped by SIGTERM (systemd's clean signals): only an
         * exit with status 0 has outputs to keep. */
        if (is(result, "success") && is(getenv("EXIT_CODE"), "exited") && is(status, "0") &&
            foreach_output(sync_output) < 0) {
                result = "exit-code";
                status = EXIT_IOERR_STR;
        }
        /* The watcher (--exec) cannot tell this process whether journald read it all. */
        if (record(argv[1], argv[2], result, getenv("EXIT_CODE"), status, NULL, false) < 0)
                return EXIT_FAILURE;
        return EXIT_SUCCESS;
}
