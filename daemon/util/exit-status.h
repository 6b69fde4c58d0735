/* SPDX-License-Identifier: MIT */
/* systemd's own exit statuses (200-245): what went wrong before the command ran, in words */
#pragma once

#define EXIT_STATUS_CHDIR 200        /* systemd's EXIT_CHDIR: WorkingDirectory= is not there */

/*
 * What systemd means by status, one of those it gives a unit's process that failed to set up
 * what the command was to run with (systemd.exec(5), "Process Exit Codes"): "could not change
 * to the working directory" for 200. NULL for any other status, a command's own.
 */
const char *exit_status_meaning(int status);
