/* SPDX-License-Identifier: MIT */
/*
 * The pipeline loader, from libconfig's parser to the checks on mappings and exec. Whatever
 * loads must be complete enough for the daemon: every task with exec and outputs, every input
 * with its maps. Inputs that @include other files are skipped: they would read this machine.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(pipeline_freep) Pipeline *p = NULL;
        _cleanup_free_ char *text = NULL;
        Diag d = {};

        if (size > 65536)
                return 0;
        text = strndup((const char *) data, size);
        if (!text || strstr(text, "@include"))
                return 0;
        if (config_load_pipeline_text("fuzz.conf", text, NULL, NULL, &p, &d) >= 0) {
                if (d.n_errors > 0)
                        abort();
                for (size_t i = 0; i < p->n_tasks; i++) {
                        const Task *t = p->tasks[i];
                        if (!t->exec || t->n_outputs == 0 || t->n_inputs == 0)
                                abort();
                        for (size_t k = 0; k < t->n_inputs; k++)
                                if (t->inputs[k].n_maps != t->inputs[k].target->template->n_params)
                                        abort();
                }
        } else if (d.n_errors == 0)
                abort();        /* rejected without saying why */
        for (size_t i = 0; i < d.n_entries; i++) {
                _cleanup_free_ char *line = NULL;
                (void) diag_format(&d.entries[i], &line);
        }
        diag_done(&d);
        return 0;
}
