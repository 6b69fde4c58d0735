/* SPDX-License-Identifier: MIT */
/*
 * sluice-result, run for real with its output on a stream socket, as systemd gives it one to
 * journald: a run's end is recorded only after the reader has taken what the task wrote, so
 * that a failure notice built from the journal has the task's last lines; and a reader that
 * never reads delays the end but does not hold it. The --exec form (tasks under another user
 * or a sandbox) becomes the task and leaves a watcher holding the stream the same way.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"

extern char **environ;

static bool with_outputs;
/* The bound on the wait for the reader: long, so that the wait is told from its bound. */
static const char *drain_ms = "30000";

typedef struct Run {
        char dir[64];
        int reader;
        pid_t pid;
} Run;

static bool exists(const Run *run, const char *name) {
        char path[128];

        snprintf(path, sizeof(path), "%s/%s", run->dir, name);
        return access(path, F_OK) == 0;
}

static void pause_ms(long ms) {
        (void) nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000 }, NULL);
}

/* The wrapper's exit status, once it has exited within ms; -1 if it has not. */
static int exited_within(Run *run, long ms) {
        for (long waited = 0;; waited += 10) {
                int status;
                pid_t r = waitpid(run->pid, &status, WNOHANG);

                assert_true(r >= 0);
                if (r == run->pid) {
                        run->pid = 0;
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 256;
                }
                if (waited >= ms)
                        return -1;
                pause_ms(10);
        }
}

/* sluice-result runs a task that writes a line and then leaves a mark in the directory. */
static int setup(void **state) {
        Run *run = calloc(1, sizeof(*run));
        posix_spawn_file_actions_t fa;
        char runs[96], task[256];
        int sv[2];

        assert_non_null(run);
        strcpy(run->dir, "/tmp/test-result.XXXXXX");
        assert_non_null(mkdtemp(run->dir));
        snprintf(runs, sizeof(runs), "%s/runs", run->dir);
        assert_int_equal(mkdir(runs, 0755), 0);
        if (with_outputs) {
                char fifo[96], outputs[512];

                snprintf(fifo, sizeof(fifo), "%s/fifo", run->dir);
                assert_int_equal(mkfifo(fifo, 0600), 0);
                snprintf(outputs, sizeof(outputs), "/tmp\n%s\n%s/missing\ns3://bucket/key\n"
                         "relative/path\n%s/runs/../fifo\n\n/etc/hostname", fifo, run->dir,
                         run->dir);
                assert_int_equal(setenv("SLUICE_OUTPUTS", outputs, 1), 0);
        }
        snprintf(task, sizeof(task), "echo 'last words'; : > %s/exited", run->dir);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(setenv("SLUICE_RESULT_DRAIN_MS", drain_ms, 1), 0);

        char *argv[] = { getenv("SLUICE_RESULT"), "--run", run->dir, "r1", "/bin/sh", "-c",
                         task, NULL };
        assert_non_null(argv[0]);
        assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
        assert_int_equal(posix_spawn_file_actions_adddup2(&fa, sv[1], STDOUT_FILENO), 0);
        assert_int_equal(posix_spawn_file_actions_adddup2(&fa, sv[1], STDERR_FILENO), 0);
        assert_int_equal(posix_spawn(&run->pid, argv[0], &fa, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        close(sv[1]);
        run->reader = sv[0];

        /* The task has written and ended. A failed setup has no teardown: nothing is left. */
        for (int k = 0; !exists(run, "exited"); k++) {
                if (k >= 1000) {
                        kill(run->pid, SIGKILL);
                        (void) waitpid(run->pid, NULL, 0);
                        fail_msg("the task did not end within 10 s");
                }
                pause_ms(10);
        }
        *state = run;
        return 0;
}

/* The same, with $SLUICE_OUTPUTS naming what a run may leave: a file, which is synced, and a
 * directory, a FIFO, a missing file and a remote location, which are passed over. */
static int setup_outputs(void **state) {
        with_outputs = true;
        return setup(state);
}

static int teardown(void **state) {
        Run *run = *state;
        char cmd[128];

        if (run->pid > 0) {
                kill(run->pid, SIGKILL);
                (void) waitpid(run->pid, NULL, 0);
        }
        close(run->reader);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", run->dir);
        assert_int_equal(system(cmd), 0);
        free(run);
        return 0;
}

static void test_end_waits_for_the_reader(void **state) {
        Run *run = *state;
        char buf[64] = {};

        /* Unread, the task's line holds the end back: without the wait, the wrapper would be
         * gone in a millisecond. */
        assert_int_equal(exited_within(run, 300), -1);
        assert_false(exists(run, "runs/r1.result"));

        /* Read, it lets go at once, long before the bound. */
        assert_int_equal(read(run->reader, buf, sizeof(buf) - 1), strlen("last words\n"));
        assert_string_equal(buf, "last words\n");
        assert_int_equal(exited_within(run, 5000), 0);
        assert_true(exists(run, "runs/r1.result"));
}

static int setup_short_bound(void **state) {
        drain_ms = "1000";
        return setup(state);
}

static void test_unread_output_delays_but_does_not_hold(void **state) {
        Run *run = *state;
        _cleanup_free_ char *result = NULL;
        char path[128];
        struct timespec a, b;

        drain_ms = "30000";
        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &a), 0);
        assert_int_equal(exited_within(run, 10000), 0);
        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &b), 0);
        /* It waited for the reader, up to the bound (1 s from the task's end, which setup saw
         * up to 10 ms late). */
        assert_true((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 >= 500);
        snprintf(path, sizeof(path), "%s/runs/r1.result", run->dir);
        assert_int_equal(read_file(path, 65536, &result, NULL), 0);
        assert_non_null(strstr(result, "service_result=success\n"));
}

/* Nothing there blocks or fails the run: a FIFO with no writer is not waited on. */
static void test_outputs_synced_or_passed_over(void **state) {
        Run *run = *state;
        char buf[64] = {};

        assert_true(read(run->reader, buf, sizeof(buf) - 1) > 0);
        assert_int_equal(exited_within(run, 10000), 0);
        assert_true(exists(run, "runs/r1.result"));
        assert_int_equal(unsetenv("SLUICE_OUTPUTS"), 0);
        with_outputs = false;
}

/* ARGV with its output and errors on a socket pair as above; its pid, and the reader. */
static pid_t spawn_on_socket(char **argv, int *ret_reader) {
        posix_spawn_file_actions_t fa;
        int sv[2];
        pid_t pid;

        assert_non_null(argv[0]);
        assert_int_equal(setenv("SLUICE_RESULT_DRAIN_MS", "30000", 1), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
        assert_int_equal(posix_spawn_file_actions_adddup2(&fa, sv[1], STDOUT_FILENO), 0);
        assert_int_equal(posix_spawn_file_actions_adddup2(&fa, sv[1], STDERR_FILENO), 0);
        assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        close(sv[1]);
        *ret_reader = sv[0];
        return pid;
}

/* An output's directory removed since the daemon made it (rm -r of an output tree, as the
 * daemon stages runs again for the files going) is made again before the task starts. */
static void test_output_dir_made_again(void **state) {
        char dir[] = "/tmp/test-result.XXXXXX", runs[96], out[128], cmd[128];
        _cleanup_free_ char *text = NULL;
        int reader, status;
        pid_t pid;

        assert_non_null(mkdtemp(dir));
        snprintf(runs, sizeof(runs), "%s/runs", dir);
        assert_int_equal(mkdir(runs, 0755), 0);
        snprintf(out, sizeof(out), "%s/gone/deeper/.sluice-r1-x", dir);
        assert_int_equal(setenv("SLUICE_OUTPUTS", out, 1), 0);
        pid = spawn_on_socket((char *[]){ getenv("SLUICE_RESULT"), "--run", dir, "r1", "/bin/sh",
                                          "-c", "echo made > \"$0\"", out, NULL }, &reader);
        /* Read to the end, so that a failing task's message does not hold the wrapper. */
        while (read(reader, cmd, sizeof(cmd)) > 0)
                ;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(unsetenv("SLUICE_OUTPUTS"), 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_int_equal(read_file(out, 64, &text, NULL), 0);
        assert_string_equal(text, "made\n");
        close(reader);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
}

/* sluice-result --exec /bin/sh -c SCRIPT */
static pid_t spawn_exec(const char *script, int *ret_reader) {
        return spawn_on_socket((char *[]){ getenv("SLUICE_RESULT"), "--exec", "/bin/sh", "-c",
                                           (char *) script, NULL }, ret_reader);
}

/* Whether the writing end closed within ms: every holder of it is gone. */
static bool closed_within(int reader, int ms) {
        struct pollfd p = { .fd = reader, .events = POLLRDHUP };

        return poll(&p, 1, ms) == 1 && (p.revents & (POLLRDHUP | POLLHUP));
}

/* The watcher is this process's child (the task's sibling): it exits 0 once released. */
static void reap_watcher(void) {
        int status;

        assert_true(waitpid(-1, &status, 0) > 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_exec_becomes_the_task_and_holds_its_stream(void **state) {
        char buf[64] = {}, children[64];
        int reader, status;
        pid_t pid;

        (void) state;
        snprintf(children, sizeof(children), "/proc/self/task/%d/children", (int) getpid());
        if (access(children, R_OK) < 0)
                skip();         /* a kernel without CONFIG_PROC_CHILDREN */
        /* No child of the task's own: the watcher must not be one, or a task waiting for all
         * its children would wait for it. The builtin read forks nothing. */
        pid = spawn_exec("read c < /proc/$$/task/$$/children; echo \"children[$c]\"; exit 3",
                         &reader);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 3);

        /* The task is gone, its line unread: the watcher keeps the stream open. */
        assert_false(closed_within(reader, 300));
        assert_int_equal(read(reader, buf, sizeof(buf) - 1), strlen("children[]\n"));
        assert_string_equal(buf, "children[]\n");
        assert_true(closed_within(reader, 5000));
        reap_watcher();
        close(reader);
}

/* What the shell says of its blocked and ignored signals, in buf, the stream read to its end
 * (so the watcher, if any, has let go). */
static void signal_state(char **argv, char *buf, size_t size) {
        int reader, status;
        ssize_t n, got = 0;
        pid_t pid = spawn_on_socket(argv, &reader);

        while ((n = read(reader, buf + got, size - 1 - got)) > 0)
                got += n;
        buf[got] = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        close(reader);
}

/* The task gets the signal mask and dispositions it would get without sluice-result. */
static void test_exec_keeps_signal_state(void **state) {
        const char *script = "while read -r k v; do case $k in SigBlk:|SigIgn:) echo $k $v;; "
                             "esac; done < /proc/$$/status";
        char wrapped[256], direct[256];
        sigset_t usr1, old;

        (void) state;
        /* Something to keep: one signal blocked, one ignored. */
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        assert_int_equal(sigprocmask(SIG_BLOCK, &usr1, &old), 0);
        assert_true(signal(SIGUSR2, SIG_IGN) != SIG_ERR);
        signal_state((char *[]){ getenv("SLUICE_RESULT"), "--exec", "/bin/sh", "-c",
                                 (char *) script, NULL }, wrapped, sizeof(wrapped));
        reap_watcher();
        signal_state((char *[]){ "/bin/sh", "-c", (char *) script, NULL }, direct,
                     sizeof(direct));
        (void) signal(SIGUSR2, SIG_DFL);
        assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
        assert_non_null(strstr(direct, "SigBlk:"));
        assert_string_equal(wrapped, direct);
}

/* A task killed by a signal is seen killed by it, and a command that cannot be run is told
 * with systemd's status for it (203); the watcher lets go in both cases. */
static void test_exec_keeps_signal_and_exec_failure(void **state) {
        int reader, status;
        pid_t pid = spawn_exec("kill -KILL $$", &reader);

        (void) state;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);
        assert_true(closed_within(reader, 5000));
        reap_watcher();
        close(reader);

        char buf[256] = {};

        pid = spawn_on_socket((char *[]){ getenv("SLUICE_RESULT"), "--exec", "/nonexistent/task",
                                          NULL }, &reader);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 203);
        assert_true(read(reader, buf, sizeof(buf) - 1) > 0);
        assert_non_null(strstr(buf, "cannot execute /nonexistent/task"));
        assert_true(closed_within(reader, 5000));
        reap_watcher();
        close(reader);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_end_waits_for_the_reader, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unread_output_delays_but_does_not_hold,
                                                setup_short_bound, teardown),
                cmocka_unit_test_setup_teardown(test_outputs_synced_or_passed_over,
                                                setup_outputs, teardown),
                cmocka_unit_test(test_output_dir_made_again),
                cmocka_unit_test(test_exec_becomes_the_task_and_holds_its_stream),
                cmocka_unit_test(test_exec_keeps_signal_and_exec_failure),
                cmocka_unit_test(test_exec_keeps_signal_state),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
