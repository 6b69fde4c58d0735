/* SPDX-License-Identifier: MIT */
/*
 * systemd's exit statuses for a unit's process that never got to run its command (EXIT_CHDIR and
 * the rest, systemd.exec(5) "Process Exit Codes", as of systemd 252), spelt out for a failure's
 * reason: "status 200" alone sends a reader to systemd's documentation, and the setting at
 * fault is most often one of the task's own (working_directory, user, group, sandbox). Words a
 * person reading `sluicectl list` acts on; the journal has the unit's own line with the detail.
 */
#include <stddef.h>

#include "exit-status.h"

static const char * const meanings[] = {
        [200 - 200] = "could not change to the working directory",
        [201 - 200] = "could not set its nice level",
        [202 - 200] = "could not set up its file descriptors",
        [203 - 200] = "the command could not be executed",
        [204 - 200] = "out of memory while setting it up",
        [205 - 200] = "could not set its resource limits",
        [206 - 200] = "could not set its OOM score adjustment",
        [207 - 200] = "could not set its signal mask",
        [208 - 200] = "could not set up its standard input",
        [209 - 200] = "could not set up its standard output",
        [210 - 200] = "could not change its root directory",
        [211 - 200] = "could not set its I/O priority",
        [212 - 200] = "could not set its timer slack",
        [213 - 200] = "could not set its secure bits",
        [214 - 200] = "could not set its CPU scheduling",
        [215 - 200] = "could not set its CPU affinity",
        [216 - 200] = "could not find or take on its group (group =, or the user's groups)",
        [217 - 200] = "could not find or take on its user (user =)",
        [218 - 200] = "could not drop or set its capabilities",
        [219 - 200] = "could not set up its control group",
        [220 - 200] = "could not start a session for it",
        [221 - 200] = "its start was refused at the console (systemd.confirm_spawn)",
        [222 - 200] = "could not set up its standard error",
        [224 - 200] = "could not set up its PAM session",
        [225 - 200] = "could not set up its network namespace",
        [226 - 200] = "could not set up its mount namespace (the sandbox, or the directories "
                      "it may write)",
        [227 - 200] = "could not turn off new privileges (NoNewPrivileges=)",
        [228 - 200] = "could not apply its system call filter",
        [229 - 200] = "could not set its SELinux context",
        [230 - 200] = "could not set its execution domain (personality)",
        [231 - 200] = "could not prepare its AppArmor profile",
        [232 - 200] = "could not restrict its address families",
        [233 - 200] = "could not set up its runtime directory",
        [235 - 200] = "could not change a socket's owner",
        [236 - 200] = "could not set its SMACK label",
        [237 - 200] = "could not set up its kernel keyring",
        [238 - 200] = "could not set up its state directory",
        [239 - 200] = "could not set up its cache directory",
        [240 - 200] = "could not set up its logs directory",
        [241 - 200] = "could not set up its configuration directory",
        [242 - 200] = "could not set its NUMA policy",
        [243 - 200] = "could not set up its credentials",
        [245 - 200] = "could not apply its BPF restrictions",
};

const char *exit_status_meaning(int status) {
        if (status < 200 || (size_t) (status - 200) >= sizeof(meanings) / sizeof(meanings[0]))
                return NULL;
        return meanings[status - 200];
}
