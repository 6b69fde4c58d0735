/* SPDX-License-Identifier: MIT */
/* Spawning helper programs (command targets, notifiers) from the daemon */
#pragma once

#include <spawn.h>

/*
 * posix_spawn(), with what any program expects to start with rather than what the daemon runs
 * with: no signal blocked (the daemon blocks SIGTERM, SIGINT and SIGHUP for its signalfd, and a
 * child would otherwise ignore a plain kill) and default actions for those it ignores (SIGIO,
 * SIGPIPE). 0 or an errno, as posix_spawn().
 */
int spawn_program(pid_t *ret_pid, const char *path, const posix_spawn_file_actions_t *fa,
                  char *const argv[], char *const envp[]);
/* The same, as the leader of a process group of its own (its id *ret_pid), so that whatever
 * it starts can be killed with it: kill(-pid, ...) while it is not reaped yet. */
int spawn_program_group(pid_t *ret_pid, const char *path, const posix_spawn_file_actions_t *fa,
                        char *const argv[], char *const envp[]);
