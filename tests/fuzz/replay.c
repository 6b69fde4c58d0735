/* SPDX-License-Identifier: MIT */
/*
 * Replays fuzz corpora in builds without libFuzzer: each file under the given directories is
 * passed to the harness once, so every crash that joined a corpus is re-checked by the normal
 * test suite, with gcc and the sanitizers of the build.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs-util.h"
#include "util/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char *argv[]) {
        unsigned n = 0;

        for (int i = 1; i < argc; i++) {
                struct dirent **names = NULL;
                int k = scandir(argv[i], &names, NULL, alphasort);

                if (k < 0) {
                        fprintf(stderr, "%s: cannot read: %m\n", argv[i]);
                        return EXIT_FAILURE;
                }
                for (int j = 0; j < k; j++) {
                        _cleanup_free_ char *path = NULL, *data = NULL;
                        size_t size;

                        if (names[j]->d_name[0] != '.' &&
                            path_join(argv[i], names[j]->d_name, &path) >= 0 &&
                            read_file(path, 1 << 20, &data, &size) >= 0) {
                                (void) LLVMFuzzerTestOneInput((const uint8_t *) data, size);
                                n++;
                        }
                        free(names[j]);
                }
                free(names);
        }
        printf("replayed %u inputs\n", n);
        return n > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
