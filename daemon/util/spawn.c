/* SPDX-License-Identifier: MIT */
#include <signal.h>

#include "spawn.h"

int spawn_attr_init(posix_spawnattr_t *ret) {
        sigset_t none, reset;
        int r;

        sigemptyset(&none);
        sigemptyset(&reset);
        sigaddset(&reset, SIGIO);
        sigaddset(&reset, SIGPIPE);
        r = posix_spawnattr_init(ret);
        if (r != 0)
                return r;
        r = posix_spawnattr_setflags(ret, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (r == 0)
                r = posix_spawnattr_setsigmask(ret, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(ret, &reset);
        if (r != 0)
                (void) posix_spawnattr_destroy(ret);
        return r;
}
