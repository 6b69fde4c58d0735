/* SPDX-License-Identifier: MIT */
/*
 * The "command" target kind: existence decided by a program of the user's, the way to plug in
 * anything sluice does not speak (HDFS, BigQuery, an internal catalogue). A poll runs either
 * `list`, which prints the locations that exist, one per line (for a template with
 * wildcards), or `exists` with the location as its last argument (exit 0: there; 1: not;
 * anything else: it failed). The program runs as the daemon's child, without a shell, with
 * its output read through the event loop and a timeout that kills it; the last line of its
 * stderr is the reason of a failed poll.
 */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config-internal.h"
#include "log.h"
#include "remote.h"
#include "util/spawn.h"
#include "util/strv.h"

extern char **environ;

#define COMMAND_MAX_OUTPUT (16u << 20)
/* What of its stderr is kept, for the reason of a failed poll: the end, where programs say why. */
#define COMMAND_ERR_TAIL 2048

typedef struct CommandTarget {
        RemoteTarget remote;
        char **list;                    /* prints what exists, or */
        char **exists;                  /* tells whether the one location exists */
        /* The run in flight. */
        pid_t pid;
        int out_fd, err_fd, pid_fd;
        sd_event_source *out_source, *err_source, *exit_source, *timeout_source;
        char *output;
        size_t size;
        char err[COMMAND_ERR_TAIL];     /* the end of its stderr */
        size_t err_size;
        bool running, out_done, exited, too_big, timed_out;
        int status;
} CommandTarget;

static inline CommandTarget *COMMAND(Target *t) {
        return (CommandTarget *) t;
}

static void reset(CommandTarget *ct) {
        if (!ct->running)
                return;
        ct->running = false;
        ct->out_source = sd_event_source_disable_unref(ct->out_source);
        ct->err_source = sd_event_source_disable_unref(ct->err_source);
        ct->exit_source = sd_event_source_disable_unref(ct->exit_source);
        ct->timeout_source = sd_event_source_disable_unref(ct->timeout_source);
        if (ct->out_fd >= 0)
                close(ct->out_fd);
        if (ct->err_fd >= 0)
                close(ct->err_fd);
        if (ct->pid_fd >= 0)
                close(ct->pid_fd);
        ct->out_fd = ct->err_fd = ct->pid_fd = -1;
        ct->output = mfree(ct->output);
        ct->size = ct->err_size = 0;
        ct->out_done = ct->exited = ct->too_big = ct->timed_out = false;
        ct->pid = 0;
}

/* Keeps the end of what it reads: > 0 read some, 0 at the end (or an error), -EAGAIN none now. */
static int read_err(CommandTarget *ct) {
        char buf[4096];
        ssize_t n = read(ct->err_fd, buf, sizeof(buf));

        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? -EAGAIN : 0;
        if (n == 0)
                return 0;
        if ((size_t) n >= sizeof(ct->err)) {
                memcpy(ct->err, buf + n - sizeof(ct->err), sizeof(ct->err));
                ct->err_size = sizeof(ct->err);
        } else {
                size_t keep = MIN(ct->err_size, sizeof(ct->err) - (size_t) n);
                memmove(ct->err, ct->err + ct->err_size - keep, keep);
                memcpy(ct->err + keep, buf, (size_t) n);
                ct->err_size = keep + (size_t) n;
        }
        return 1;
}

static int on_err(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CommandTarget *ct = userdata;

        if (read_err(ct) == 0)
                ct->err_source = sd_event_source_disable_unref(ct->err_source);
        return 0;
}

/* ": " and the last line it wrote to stderr, or "". Not waited for to its end: what it started
 * may hold it open; what it wrote before it exited is in the pipe. */
static const char *err_line(CommandTarget *ct, char *buf, size_t size) {
        size_t end, start;

        if (ct->err_source)
                while (read_err(ct) > 0)
                        ;
        for (end = ct->err_size; end > 0 && strchr("\n\r \t", ct->err[end - 1]); end--)
                ;
        for (start = end; start > 0 && ct->err[start - 1] != '\n'; start--)
                ;
        if (end == start)
                return "";
        snprintf(buf, size, ": %.*s", (int) (end - start), ct->err + start);
        return buf;
}

static void finish(CommandTarget *ct) {
        Target *t = &ct->remote.target;
        const char *prog = (ct->list ?: ct->exists)[0];
        _cleanup_free_ char *error = NULL;
        RemoteObject *found = NULL;
        int code = WIFEXITED(ct->status) ? WEXITSTATUS(ct->status) : -1;
        char said[COMMAND_ERR_TAIL + 3];

        if (!ct->out_done || !ct->exited)
                return;
        if (ct->too_big)
                (void) asprintf(&error, "%s printed more than %u bytes", prog, COMMAND_MAX_OUTPUT);
        else if (ct->timed_out)
                (void) asprintf(&error, "%s did not finish within the timeout%s%s", prog,
                                WIFEXITED(ct->status) ? " (it exited, but something it started "
                                                        "kept its output open)" : "",
                                err_line(ct, said, sizeof(said)));
        else if (WIFSIGNALED(ct->status))
                (void) asprintf(&error, "%s was killed by signal %s%s%s", prog,
                                sigabbrev_np(WTERMSIG(ct->status)) ?: "?",
                                WTERMSIG(ct->status) == SIGKILL ? " (timeout?)" : "",
                                err_line(ct, said, sizeof(said)));
        else if (ct->list && code != 0)
                (void) asprintf(&error, "%s exited with status %d%s", prog, code,
                                err_line(ct, said, sizeof(said)));
        else if (ct->exists && code != 0 && code != 1)
                (void) asprintf(&error, "%s exited with status %d (0: exists, 1: does not)%s",
                                prog, code, err_line(ct, said, sizeof(said)));
        else if (ct->exists && code == 0) {
                if (remote_object_add(&found, t->template->text, "") < 0)
                        error = strdup("out of memory");
        } else if (ct->list) {
                for (char *line = strtok(ct->output ?: (char[]){ 0 }, "\n"); line;
                     line = strtok(NULL, "\n")) {
                        _cleanup_(binding_freep) Binding *b = NULL;

                        /* A line may carry a version after a tab: "LOCATION\tTAG". */
                        char *tab = strchr(line, '\t');
                        if (tab)
                                *tab = 0;
                        if (template_match(t->template, line, &b) <= 0)
                                continue;
                        if (remote_object_add(&found, line, tab ? tab + 1 : "") < 0) {
                                error = strdup("out of memory");
                                break;
                        }
                }
        }
        reset(ct);
        if (error)
                remote_objects_free(&found);
        remote_poll_done(&ct->remote, error ? NULL : found, error);
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CommandTarget *ct = userdata;
        char buf[65536];
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n > 0) {
                char *p;
                if (ct->size + (size_t) n > COMMAND_MAX_OUTPUT) {
                        ct->too_big = true;
                        if (!ct->exited)
                                (void) syscall(SYS_pidfd_send_signal, ct->pid_fd, SIGKILL,
                                               NULL, 0);
                } else if ((p = realloc(ct->output, ct->size + (size_t) n + 1))) {
                        memcpy(p + ct->size, buf, (size_t) n);
                        ct->size += (size_t) n;
                        p[ct->size] = 0;
                        ct->output = p;
                }
                if (!ct->too_big)
                        return 0;
        }
        ct->out_source = sd_event_source_disable_unref(ct->out_source);
        ct->out_done = true;
        finish(ct);
        return 0;
}

static int on_child_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CommandTarget *ct = userdata;

        if (waitpid(ct->pid, &ct->status, WNOHANG) <= 0)
                return 0;
        ct->exit_source = sd_event_source_disable_unref(ct->exit_source);
        ct->exited = true;
        /* Killed at its timeout: what still holds its output open (a process that left its
         * group) is not waited for. */
        if (ct->timed_out && !ct->out_done) {
                ct->out_source = sd_event_source_disable_unref(ct->out_source);
                ct->out_done = true;
        }
        finish(ct);
        return 0;
}

/* Through the pidfd, never by number: once reaped, the number may be another process's. A
 * program that exited while something it started keeps its output open (cmd &, an ssh
 * ControlMaster) would hold the poll for ever: its output is given up on. */
static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        CommandTarget *ct = userdata;

        ct->timed_out = true;
        /* Its whole group, what it started included (a `sleep`, a client's helper): they
         * would hold its output open. The group's id is safe while its leader is unreaped. */
        if (!ct->exited && ct->pid > 0)
                (void) kill(-ct->pid, SIGKILL);
        if (!ct->exited && ct->pid_fd >= 0)
                (void) syscall(SYS_pidfd_send_signal, ct->pid_fd, SIGKILL, NULL, 0);
        if (ct->exited && !ct->out_done) {
                ct->out_source = sd_event_source_disable_unref(ct->out_source);
                ct->out_done = true;
                finish(ct);
        }
        return 0;
}

static int command_poll(RemoteTarget *rt) {
        CommandTarget *ct = (CommandTarget *) rt;
        sd_event *e = rt->target.host->event;
        _cleanup_strv_free_ char **argv = NULL;
        posix_spawn_file_actions_t fa;
        int pipefd[2], errfd[2], r;

        if (ct->list)
                r = strv_copy(ct->list, &argv);
        else
                r = strv_copy(ct->exists, &argv) >= 0 ? strv_extend(&argv, rt->target.template->text)
                                                      : -ENOMEM;
        if (r < 0)
                return r;
        if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        if (pipe2(errfd, O_CLOEXEC | O_NONBLOCK) < 0) {
                r = -errno;
                close(pipefd[0]);
                close(pipefd[1]);
                return r;
        }
        r = posix_spawn_file_actions_init(&fa);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, errfd[1], STDERR_FILENO);
        if (r == 0)
                r = spawn_program_group(&ct->pid, argv[0], &fa, argv, environ);
        (void) posix_spawn_file_actions_destroy(&fa);
        close(pipefd[1]);
        close(errfd[1]);
        if (r != 0) {
                close(pipefd[0]);
                close(errfd[0]);
                ct->pid = 0;
                return -r;
        }
        ct->running = true;
        ct->out_fd = pipefd[0];
        ct->err_fd = errfd[0];
        /* A pidfd wakes the loop when the child ends, with no SIGCHLD handler to share. */
        ct->pid_fd = (int) syscall(SYS_pidfd_open, ct->pid, 0);
        r = ct->pid_fd < 0 ? -errno : 0;
        if (r >= 0)
                r = sd_event_add_io(e, &ct->out_source, ct->out_fd, EPOLLIN, on_output, ct);
        if (r >= 0)
                r = sd_event_add_io(e, &ct->err_source, ct->err_fd, EPOLLIN, on_err, ct);
        if (r >= 0)
                r = sd_event_add_io(e, &ct->exit_source, ct->pid_fd, EPOLLIN, on_child_exit, ct);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &ct->timeout_source, CLOCK_MONOTONIC,
                                               rt->timeout, 0, on_timeout, ct);
        if (r < 0) {
                (void) kill(ct->pid, SIGKILL);
                (void) waitpid(ct->pid, NULL, 0);
                reset(ct);
        }
        return r;
}

static void command_cancel(RemoteTarget *rt) {
        CommandTarget *ct = (CommandTarget *) rt;

        if (ct->running && ct->pid > 0 && !ct->exited) {
                (void) kill(-ct->pid, SIGKILL);
                (void) kill(ct->pid, SIGKILL);
                (void) waitpid(ct->pid, NULL, 0);
        }
        reset(ct);
}

static const RemoteOps command_ops = {
        .poll = command_poll,
        .cancel = command_cancel,
};

static int argv_key(const config_setting_t *s, const char *key, const char *target, Diag *d,
                    char ***ret) {
        const config_setting_t *k = config_setting_get_member(s, key);
        int n;

        if (!k)
                return 0;
        n = config_setting_length(k);
        if (config_setting_type(k) != CONFIG_TYPE_ARRAY || n < 1) {
                diag_error(d, line_of(k), "target '%s': '%s' must be a list of strings, the "
                           "program first", target, key);
                return 0;
        }
        for (int i = 0; i < n; i++) {
                const char *v = config_setting_get_string_elem(k, i);
                if (!v || (i == 0 && v[0] != '/')) {
                        diag_error(d, line_of(k), "target '%s': '%s' must be strings, the first "
                                   "an absolute path", target, key);
                        return 0;
                }
                if (strv_extend(ret, v) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int command_parse(Target *t, const config_setting_t *s, Diag *d) {
        CommandTarget *ct = COMMAND(t);
        unsigned line = line_of(config_setting_get_member(s, "command"));
        unsigned before = d->n_errors;
        int r;

        ct->remote.ops = &command_ops;
        ct->out_fd = ct->err_fd = ct->pid_fd = -1;
        (void) remote_parse(&ct->remote, s, d);
        if ((r = argv_key(s, "list", t->name, d, &ct->list)) < 0 ||
            (r = argv_key(s, "exists", t->name, d, &ct->exists)) < 0)
                return r;
        if (d->n_errors > before)
                return 0;       /* one message per mistake */
        if (!!ct->list == !!ct->exists)
                diag_error(d, line, "target '%s': give one of 'list' (prints what exists) and "
                           "'exists' (tells whether the location does)", t->name);
        else if (ct->exists && t->template->n_params > 0)
                diag_error(d, line, "target '%s': 'exists' answers for one location; a template "
                           "with wildcards needs 'list'", t->name);
        return 0;
}

static void command_done(Target *t) {
        CommandTarget *ct = COMMAND(t);

        command_cancel(&ct->remote);
        remote_done(t);
        strv_free(ct->list);
        strv_free(ct->exists);
}

static const char * const command_keys[] = { REMOTE_KEYS, "list", "exists", NULL };

const TargetKind target_kind_command = {
        .name = "command",
        .id = TARGET_KIND_COMMAND,
        .object_size = sizeof(CommandTarget),
        .keys = command_keys,
        .parse = command_parse,
        .start = remote_start,
        .stop = remote_stop,
        .check = remote_check,
        .mtime = remote_mtime,
        .scan = remote_scan,
        .status = remote_status,
        .known_since = remote_known_since,
        .done = command_done,
};
