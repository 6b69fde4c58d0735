/* SPDX-License-Identifier: MIT */
/* Signal names as systemd writes them in $EXIT_STATUS ("KILL", "RTMIN+3"), both ways */
#pragma once

/* The name without "SIG" (a real-time signal's number), or NULL for a number that is no signal. */
const char *signal_to_name(int sig, char buf[static 16]);

/* The number, or 0 for a name that is none. Takes systemd's spellings and glibc's ("IO" and
 * "POLL" alike), and a bare number. */
int signal_from_name(const char *name);
