/* SPDX-License-Identifier: MIT */
/*
 * Our own table rather than sigabbrev_np(): sluice-result is built with musl, which has none,
 * and systemd, which writes the names sluiced reads back in the ExecStopPost= form, spells
 * some of them differently from glibc (SIGIO: "IO" against "POLL"; real-time signals).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/signal-name.h"

static const char *const names[] = {
        [SIGHUP] = "HUP",       [SIGINT] = "INT",       [SIGQUIT] = "QUIT",
        [SIGILL] = "ILL",       [SIGTRAP] = "TRAP",     [SIGABRT] = "ABRT",
        [SIGBUS] = "BUS",       [SIGFPE] = "FPE",       [SIGKILL] = "KILL",
        [SIGUSR1] = "USR1",     [SIGSEGV] = "SEGV",     [SIGUSR2] = "USR2",
        [SIGPIPE] = "PIPE",     [SIGALRM] = "ALRM",     [SIGTERM] = "TERM",
#ifdef SIGSTKFLT
        [SIGSTKFLT] = "STKFLT",
#endif
        [SIGCHLD] = "CHLD",     [SIGCONT] = "CONT",     [SIGSTOP] = "STOP",
        [SIGTSTP] = "TSTP",     [SIGTTIN] = "TTIN",     [SIGTTOU] = "TTOU",
        [SIGURG] = "URG",       [SIGXCPU] = "XCPU",     [SIGXFSZ] = "XFSZ",
        [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF",     [SIGWINCH] = "WINCH",
        [SIGIO] = "IO",         [SIGPWR] = "PWR",       [SIGSYS] = "SYS",
};

#define N_NAMES ((int) (sizeof(names) / sizeof(names[0])))

const char *signal_to_name(int sig, char buf[static 16]) {
        if (sig > 0 && sig < N_NAMES && names[sig])
                return names[sig];
        /* A real-time signal by number: "RTMIN+n" counts from the libc's SIGRTMIN, which is
         * 34 in glibc (systemd, sluiced) and 35 in musl (sluice-result). */
        if (sig >= 32 && sig <= SIGRTMAX) {
                snprintf(buf, 16, "%d", sig);
                return buf;
        }
        return NULL;
}

/* A whole decimal number in [lo, hi], or -1. */
static int parse_small(const char *s, int lo, int hi) {
        char *end;
        long v;

        if (*s < '0' || *s > '9')
                return -1;
        v = strtol(s, &end, 10);
        return *end == '\0' && v >= lo && v <= hi ? (int) v : -1;
}

int signal_from_name(const char *name) {
        int n;

        if (!name)
                return 0;
        if (strncmp(name, "SIG", 3) == 0)
                name += 3;
        for (int sig = 1; sig < N_NAMES; sig++)
                if (names[sig] && strcmp(names[sig], name) == 0)
                        return sig;
        if (strcmp(name, "POLL") == 0)
                return SIGIO;
        if (strcmp(name, "RTMIN") == 0)
                return SIGRTMIN;
        if (strcmp(name, "RTMAX") == 0)
                return SIGRTMAX;
        if (strncmp(name, "RTMIN+", 6) == 0 &&
            (n = parse_small(name + 6, 0, SIGRTMAX - SIGRTMIN)) >= 0)
                return SIGRTMIN + n;
        if (strncmp(name, "RTMAX-", 6) == 0 &&
            (n = parse_small(name + 6, 0, SIGRTMAX - SIGRTMIN)) >= 0)
                return SIGRTMAX - n;
        n = parse_small(name, 1, SIGRTMAX);
        return n > 0 ? n : 0;
}
