/* SPDX-License-Identifier: MIT */
/*
 * sluice-result STATE_DIR RUN_ID: the ExecStopPost= of every task unit. Records how the run
 * ended ($SERVICE_RESULT, $EXIT_CODE, $EXIT_STATUS from systemd) in STATE_DIR/runs, where the
 * daemon watches for it, and where a daemon that was away finds it later. Tiny on purpose: it
 * runs once per task run, and systemd spawns it in the unit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int main(int argc, char *argv[]) {
        int r;

        if (argc != 3) {
                fprintf(stderr, "usage: sluice-result STATE_DIR RUN_ID (run by systemd)\n");
                return EXIT_FAILURE;
        }
        r = state_record_result(argv[1], argv[2]);
        if (r < 0) {
                fprintf(stderr, "sluice-result: cannot record the result of run %s in %s: %s\n",
                        argv[2], argv[1], strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
