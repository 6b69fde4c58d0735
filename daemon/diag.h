/* SPDX-License-Identifier: MIT */
/* Diagnostics of configuration files: every problem as file:line, all of them */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/macro.h"

typedef struct DiagEntry {
        char *file;
        char *including;   /* the pipeline file that @includes file, or NULL */
        unsigned line;
        bool error;        /* false: a warning, which does not reject the file */
        char *message;
        size_t seq;        /* order of discovery, to keep sorting stable */
} DiagEntry;

typedef struct Diag Diag;

struct Diag {
        const char *file;  /* the file being parsed now; not owned */
        const char *top;   /* the file whose parse includes it, or NULL; not owned */
        DiagEntry *entries;
        size_t n_entries;
        size_t n_errors;
        /* The file that line is in, when the parser knows better than file (a setting from an
         * @included file inside a definition of this one); NULL: file. */
        const char *(*locate)(Diag *d, unsigned line);
        void *locate_data;
};

void diag_done(Diag *d);

/* Records a problem at d->file:line. Failing to allocate only loses the text, never the count. */
void diag_error(Diag *d, unsigned line, const char *format, ...) _printf_(3, 4);
/* The same at file:line (a file other than the one being parsed: one it includes). */
void diag_error_in(Diag *d, const char *file, unsigned line, const char *format, ...)
        _printf_(4, 5);
void diag_warning(Diag *d, unsigned line, const char *format, ...) _printf_(3, 4);

/* Orders entries by file and line, as a reader goes through a file. */
void diag_sort(Diag *d);
/* Formats one entry as "file:line: message" (or "file:line: warning: message"), with
 * " (included by FILE)" after the message of one in an included file. */
int diag_format(const DiagEntry *e, char **ret);
void diag_print(const Diag *d, FILE *f);
