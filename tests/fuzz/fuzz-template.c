/* SPDX-License-Identifier: MIT */
/*
 * The template matcher. Input: a template on the first line, names to match on the following
 * lines. Beyond not crashing, a match must format back to the very name it came from: that is
 * what lets the daemon trust a path it built from a binding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "util/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(template_freep) Template *t = NULL;
        _cleanup_free_ char *text = NULL, *err = NULL;
        char *line, *save = NULL;

        if (size > 8192)
                return 0;
        text = strndup((const char *) data, size);
        if (!text)
                return 0;
        line = strtok_r(text, "\n", &save);
        if (!line || template_parse(line, &t, &err) < 0)
                return 0;
        while ((line = strtok_r(NULL, "\n", &save))) {
                _cleanup_(binding_freep) Binding *b = NULL, *c = NULL;
                _cleanup_free_ char *back = NULL;

                if (template_match(t, line, &b) <= 0)
                        continue;
                if (template_format(t, b, &back) < 0 || strcmp(back, line) != 0)
                        abort();
                /* The last component alone, given the others' values, matches too. */
                if (template_match_component(t, t->n_components - 1,
                                             t->n_components > 1 ? strrchr(line, '/') + 1 : line,
                                             b, &c) < 0)
                        abort();
        }
        return 0;
}
