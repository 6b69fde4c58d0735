/* SPDX-License-Identifier: MIT */
/* NULL-terminated string vectors */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

char **strv_free(char **l);
DEFINE_POINTER_CLEANUP(char *, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char * const *l) _pure_;
bool strv_contains(char * const *l, const char *s) _pure_;

/* Append; takes ownership of value, also when it fails. */
int strv_consume(char ***l, char *value);
int strv_extend(char ***l, const char *value);
int strv_extendf(char ***l, const char *format, ...) _printf_(2, 3);
int strv_copy(char * const *l, char ***ret);
/* Splits at newlines; NULL on allocation failure. */
char **strv_split_newlines(const char *s);
/* Joins with separator; ret is a new string. */
int strv_join(char * const *l, const char *separator, char **ret);

/* The candidate closest to s by edit distance, if it is close enough to be a likely typo. */
const char *strv_find_closest(char * const *candidates, const char *s) _pure_;

#define STRV_FOREACH(s, l) for (char * const *s = (l); s && *s; s++)
/* A vector on the stack, of strings it does not own: for strv_copy() and the like. */
#define STRV_MAKE(...) ((char * const *) ((const char *[]) { __VA_ARGS__, NULL }))
