/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <stdbool.h>

#include "spawn.h"

static int spawn(pid_t *ret_pid, const char *path, const posix_spawn_file_actions_t *fa,
                 char *const argv[], char *const envp[], bool group) {
        posix_spawnattr_t attr;
        sigset_t none, reset;
        int r;

        sigemptyset(&none);
        sigemptyset(&reset);
        sigaddset(&reset, SIGIO);
        sigaddset(&reset, SIGPIPE);
        r = posix_spawnattr_init(&attr);
        if (r != 0)
                return r;
        r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                    (group ? POSIX_SPAWN_SETPGROUP : 0));
        if (r == 0 && group)
                r = posix_spawnattr_setpgroup(&attr, 0);
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &reset);
        if (r == 0)
                r = posix_spawn(ret_pid, path, fa, &attr, argv, envp);
        (void) posix_spawnattr_destroy(&attr);
        return r;
}

int spawn_program(pid_t *ret_pid, const char *path, const posix_spawn_file_actions_t *fa,
                  char *const argv[], char *const envp[]) {
        return spawn(ret_pid, path, fa, argv, envp, false);
}

int spawn_program_group(pid_t *ret_pid, const char *path, const posix_spawn_file_actions_t *fa,
                        char *const argv[], char *const envp[]) {
        return spawn(ret_pid, path, fa, argv, envp, true);
}
