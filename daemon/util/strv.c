/* SPDX-License-Identifier: MIT */
/*
 * String vectors: a heap array of heap strings ending in NULL. The vector owns its strings;
 * every append either succeeds whole or leaves the vector as it was.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "strv.h"

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **s = l; *s; s++)
                free(*s);
        free(l);
        return NULL;
}

size_t strv_length(char * const *l) {
        size_t n = 0;

        if (l)
                while (l[n])
                        n++;
        return n;
}

bool strv_contains(char * const *l, const char *s) {
        STRV_FOREACH(i, l)
                if (streq(*i, s))
                        return true;
        return false;
}

int strv_consume(char ***l, char *value) {
        size_t n;
        char **c;

        if (!value)
                return -ENOMEM;
        n = strv_length(*l);
        c = reallocarray(*l, n + 2, sizeof(char *));
        if (!c) {
                free(value);
                return -ENOMEM;
        }
        c[n] = value;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        return strv_consume(l, strdup(value));
}

int strv_extendf(char ***l, const char *format, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return strv_consume(l, s);
}

int strv_copy(char * const *l, char ***ret) {
        _cleanup_strv_free_ char **c = NULL;
        size_t n = strv_length(l);

        c = calloc(n + 1, sizeof(char *));
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(l[i]);
                if (!c[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

char **strv_split_newlines(const char *s) {
        char **l = calloc(1, sizeof(char *));

        if (!l)
                return NULL;
        while (*s) {
                size_t n = strcspn(s, "\n");

                if (strv_consume(&l, strndup(s, n)) < 0) {
                        strv_free(l);
                        return NULL;
                }
                s += n;
                if (*s)
                        s++;
        }
        return l;
}

int strv_join(char * const *l, const char *separator, char **ret) {
        size_t k = strlen(separator), len = 0;
        char *s, *p;

        STRV_FOREACH(i, l)
                len += strlen(*i) + k;
        s = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        p = s;
        STRV_FOREACH(i, l) {
                if (i != l)
                        p = stpcpy(p, separator);
                p = stpcpy(p, *i);
        }
        *p = 0;
        *ret = s;
        return 0;
}

/* Optimal string alignment distance: insertions, deletions, substitutions, and swaps of two
 * neighbours, each one edit, since "outptus" is one slip of the fingers, not two. */
static size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        size_t d[la + 1][lb + 1];

        for (size_t i = 0; i <= la; i++)
                d[i][0] = i;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = j;
        for (size_t i = 1; i <= la; i++)
                for (size_t j = 1; j <= lb; j++) {
                        size_t v = MIN(d[i - 1][j] + 1, d[i][j - 1] + 1);
                        v = MIN(v, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]));
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                                v = MIN(v, d[i - 2][j - 2] + 1);
                        d[i][j] = v;
                }
        return d[la][lb];
}

const char *strv_find_closest(char * const *candidates, const char *s) {
        const char *best = NULL;
        size_t best_d = SIZE_MAX, len = strlen(s);

        if (len > 64)
                return NULL;
        STRV_FOREACH(c, candidates) {
                size_t d;

                if (strlen(*c) > 64)
                        continue;
                d = edit_distance(*c, s);
                if (d < best_d) {
                        best_d = d;
                        best = *c;
                }
        }
        /* Close enough to be a typo: two edits, and fewer than half the letters. */
        if (best && best_d <= 2 && best_d * 2 < MAX(len, strlen(best)))
                return best;
        return NULL;
}
