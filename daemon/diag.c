/* SPDX-License-Identifier: MIT */
/*
 * The parser's notebook. Parsing goes on after a problem so that one run reports all of them;
 * whoever called the parser decides what to do with an object that came with errors (reject
 * it whole). Pure: prints only when asked to.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

void diag_done(Diag *d) {
        for (size_t i = 0; i < d->n_entries; i++) {
                free(d->entries[i].file);
                free(d->entries[i].including);
                free(d->entries[i].message);
        }
        free(d->entries);
        d->entries = NULL;
        d->n_entries = d->n_errors = 0;
}

static void diag_add(Diag *d, const char *file, unsigned line, bool error, const char *format,
                     va_list ap) _printf_(5, 0);
static void diag_add(Diag *d, const char *file, unsigned line, bool error, const char *format,
                     va_list ap) {
        DiagEntry *n;
        char *m = NULL;

        if (error)
                d->n_errors++;
        if (vasprintf(&m, format, ap) < 0)
                return;
        n = reallocarray(d->entries, d->n_entries + 1, sizeof(DiagEntry));
        if (!n) {
                free(m);
                return;
        }
        d->entries = n;
        d->entries[d->n_entries] = (DiagEntry){
                .file = strdup(file ?: "-"),
                .including = d->top && file && !streq(file, d->top) ? strdup(d->top) : NULL,
                .line = line,
                .error = error,
                .message = m,
                .seq = d->n_entries,
        };
        d->n_entries++;
}

static const char *file_of(Diag *d, unsigned line) {
        const char *f = d->locate && line > 0 ? d->locate(d, line) : NULL;

        return f ?: d->file;
}

void diag_error(Diag *d, unsigned line, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        diag_add(d, file_of(d, line), line, true, format, ap);
        va_end(ap);
}

void diag_error_in(Diag *d, const char *file, unsigned line, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        diag_add(d, file ?: d->file, line, true, format, ap);
        va_end(ap);
}

void diag_warning(Diag *d, unsigned line, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        diag_add(d, file_of(d, line), line, false, format, ap);
        va_end(ap);
}

static int entry_compare(const void *a, const void *b) {
        const DiagEntry *x = a, *y = b;
        int r = strcmp(strempty(x->file), strempty(y->file));

        if (r != 0)
                return r;
        if (x->line != y->line)
                return (x->line > y->line) - (x->line < y->line);
        return (x->seq > y->seq) - (x->seq < y->seq);
}

void diag_sort(Diag *d) {
        if (d->n_entries > 1)
                qsort(d->entries, d->n_entries, sizeof(DiagEntry), entry_compare);
}

int diag_format(const DiagEntry *e, char **ret) {
        int r;

        const char *by = e->including ? " (included by " : "", *end = e->including ? ")" : "";

        if (e->line > 0)
                r = asprintf(ret, "%s:%u: %s%s%s%s%s", strempty(e->file), e->line,
                             e->error ? "" : "warning: ", strempty(e->message), by,
                             strempty(e->including), end);
        else
                r = asprintf(ret, "%s: %s%s%s%s%s", strempty(e->file),
                             e->error ? "" : "warning: ", strempty(e->message), by,
                             strempty(e->including), end);
        return r < 0 ? -ENOMEM : 0;
}

void diag_print(const Diag *d, FILE *f) {
        for (size_t i = 0; i < d->n_entries; i++) {
                _cleanup_free_ char *s = NULL;

                if (diag_format(&d->entries[i], &s) >= 0)
                        fprintf(f, "%s\n", s);
        }
}
