/* SPDX-License-Identifier: MIT */
/* Spawning helper programs (command targets, notifiers) from the daemon */
#pragma once

#include <spawn.h>

/*
 * Attributes that give the child what any program expects to start with, not what the
 * daemon runs with: no signal blocked (the daemon blocks SIGTERM, SIGINT and SIGHUP for its
 * signalfd, and a child would otherwise ignore a plain kill) and default actions for those it
 * ignores (SIGIO, SIGPIPE). Destroy with posix_spawnattr_destroy(); 0 or an errno.
 */
int spawn_attr_init(posix_spawnattr_t *ret);
