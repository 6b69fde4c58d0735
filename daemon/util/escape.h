/* SPDX-License-Identifier: MIT */
/* Unit-name escaping, UTF-8 checks and C-style quoting of hostile strings */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* systemd's unit name limit, without the trailing NUL. */
#define UNIT_NAME_MAX 255

bool utf8_is_valid(const char *s) _pure_;

/*
 * Escapes one value for a unit name's instance part, as systemd-escape does: [A-Za-z0-9:_.]
 * stay, a leading '.' and everything else become \xNN. Unlike systemd-escape, '/' is escaped
 * too, so that the instance of a task with several parameters can join values with '-' and
 * still be split back.
 */
int unit_escape_value(const char *s, char **ret);
/* Reverses unit_escape_value() for one value (no '-' separators inside). */
int unit_unescape_value(const char *s, size_t n, char **ret);

/* One line of a state file: backslash, tab, newline and other control characters escaped, so
 * fields can be split at tabs and records at newlines. Reversible. */
char *field_escape(const char *s);
int field_unescape(const char *s, char **ret);

/* For log messages: control characters and backslashes as C escapes. */
char *cescape(const char *s);
/* For a terminal: C0 controls, DEL and bytes of no valid UTF-8 as \xNN, C1 controls (UTF-8
 * U+0080..U+009F, which some terminals obey) and bidi controls (U+202E...) as \uNNNN, the
 * rest as it is; NULL when s has none (or out of memory). Not
 * reversible: it is for people, so that a file name cannot move the cursor or recolour
 * the screen, nor break a table's rows. */
char *display_escape(const char *s);

/* A 128-bit non-cryptographic digest as 32 hex digits into buf[33]. */
void hash_hex(const char *s, char buf[static 33]);
