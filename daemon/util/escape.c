/* SPDX-License-Identifier: MIT */
/*
 * Escaping between file names (anything but NUL and '/') and the strings systemd and D-Bus
 * accept. D-Bus strings must be UTF-8, so a non-UTF-8 value cannot reach the manager at all:
 * callers check utf8_is_valid() and refuse such values with a clear message instead.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"
#include "macro.h"

bool utf8_is_valid(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                unsigned n;
                uint32_t c;

                if (*p < 0x80) {
                        p++;
                        continue;
                } else if ((*p & 0xe0) == 0xc0) {
                        n = 1;
                        c = *p & 0x1f;
                } else if ((*p & 0xf0) == 0xe0) {
                        n = 2;
                        c = *p & 0x0f;
                } else if ((*p & 0xf8) == 0xf0) {
                        n = 3;
                        c = *p & 0x07;
                } else
                        return false;
                p++;
                for (unsigned i = 0; i < n; i++, p++) {
                        if ((*p & 0xc0) != 0x80)
                                return false;
                        c = (c << 6) | (*p & 0x3f);
                }
                /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
                if ((n == 1 && c < 0x80) || (n == 2 && c < 0x800) || (n == 3 && c < 0x10000) ||
                    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
                        return false;
        }
        return true;
}

static bool unit_char_ok(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == ':' || c == '_' || c == '.';
}

int unit_escape_value(const char *s, char **ret) {
        char *e, *p;

        e = malloc(strlen(s) * 4 + 1);
        if (!e)
                return -ENOMEM;
        p = e;
        for (const char *c = s; *c; c++) {
                if (unit_char_ok(*c) && !(c == s && *c == '.'))
                        *p++ = *c;
                else
                        p += sprintf(p, "\\x%02x", (unsigned char) *c);
        }
        *p = 0;
        *ret = e;
        return 0;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int unit_unescape_value(const char *s, size_t n, char **ret) {
        _cleanup_free_ char *u = NULL;
        char *p;

        u = malloc(n + 1);
        if (!u)
                return -ENOMEM;
        p = u;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\\') {
                        int a, b;

                        if (i + 3 >= n || s[i + 1] != 'x')
                                return -EINVAL;
                        a = unhex(s[i + 2]);
                        b = unhex(s[i + 3]);
                        if (a < 0 || b < 0 || (a == 0 && b == 0))
                                return -EINVAL;
                        *p++ = (char) (a << 4 | b);
                        i += 3;
                } else if (unit_char_ok(s[i]))
                        *p++ = s[i];
                else
                        return -EINVAL;
        }
        *p = 0;
        *ret = TAKE_PTR(u);
        return 0;
}

char *field_escape(const char *s) {
        char *e, *p;

        e = malloc(strlen(s) * 4 + 1);
        if (!e)
                return NULL;
        p = e;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                if (*c == '\\')
                        p = stpcpy(p, "\\\\");
                else if (*c == '\n')
                        p = stpcpy(p, "\\n");
                else if (*c == '\t')
                        p = stpcpy(p, "\\t");
                else if (*c < 0x20 || *c == 0x7f)
                        p += sprintf(p, "\\x%02x", *c);
                else
                        *p++ = (char) *c;
        }
        *p = 0;
        return e;
}

int field_unescape(const char *s, char **ret) {
        _cleanup_free_ char *u = malloc(strlen(s) + 1);
        char *p = u;

        if (!u)
                return -ENOMEM;
        for (; *s; s++) {
                if (*s != '\\') {
                        *p++ = *s;
                        continue;
                }
                s++;
                if (*s == '\\')
                        *p++ = '\\';
                else if (*s == 'n')
                        *p++ = '\n';
                else if (*s == 't')
                        *p++ = '\t';
                else if (*s == 'x' && unhex(s[1]) >= 0 && unhex(s[2]) >= 0 &&
                         (unhex(s[1]) | unhex(s[2])) != 0) {
                        *p++ = (char) (unhex(s[1]) << 4 | unhex(s[2]));
                        s += 2;
                } else
                        return -EINVAL;
        }
        *p = 0;
        *ret = TAKE_PTR(u);
        return 0;
}

char *cescape(const char *s) {
        char *e, *p;

        e = malloc(strlen(s) * 4 + 1);
        if (!e)
                return NULL;
        p = e;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                if (*c == '\\' || *c == '\'')
                        p += sprintf(p, "\\%c", *c);
                else if (*c < 0x20 || *c == 0x7f)
                        p += sprintf(p, "\\x%02x", *c);
                else
                        *p++ = (char) *c;
        }
        *p = 0;
        return e;
}

static bool is_c1(const unsigned char *c) {
        return c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f;
}

/* The length of the valid UTF-8 sequence at c, or 0. */
static size_t utf8_length(const unsigned char *c) {
        size_t n = c[0] < 0x80 ? 1 : (c[0] & 0xe0) == 0xc0 ? 2 : (c[0] & 0xf0) == 0xe0 ? 3
                 : (c[0] & 0xf8) == 0xf0 ? 4 : 0;
        char buf[5] = {};

        for (size_t k = 1; k < n; k++)
                if ((c[k] & 0xc0) != 0x80)
                        return 0;
        if (n > 1) {
                memcpy(buf, c, n);
                if (!utf8_is_valid(buf))        /* overlong forms, surrogates */
                        return 0;
        }
        return n;
}

/* U+202A..U+202E and U+2066..U+2069: they reorder what follows, a column of a table
 * or the rest of a line. */
static bool is_bidi(const unsigned char *c) {
        return c[0] == 0xe2 && ((c[1] == 0x80 && c[2] >= 0xaa && c[2] <= 0xae) ||
                                (c[1] == 0x81 && c[2] >= 0xa6 && c[2] <= 0xa9));
}

static bool shown_raw(const unsigned char *c, size_t *ret_n) {
        *ret_n = utf8_length(c);
        return *ret_n > 0 && !(c[0] < 0x20 || c[0] == 0x7f || is_c1(c) ||
                               (*ret_n == 3 && is_bidi(c)));
}

char *display_escape(const char *s) {
        const unsigned char *c;
        size_t n;
        char *e, *p;

        for (c = (const unsigned char *) s; *c; c += n)
                if (!shown_raw(c, &n))
                        break;
        if (!*c)
                return NULL;
        e = malloc(strlen(s) * 4 + 1);
        if (!e)
                return NULL;
        p = e;
        for (c = (const unsigned char *) s; *c;) {
                if (shown_raw(c, &n)) {
                        memcpy(p, c, n);
                        p += n;
                        c += n;
                } else if (n == 2) {            /* C1, which some terminals obey */
                        p += sprintf(p, "\\u%04x", c[1]);     /* C2 xx is U+00xx */
                        c += 2;
                } else if (n == 3) {            /* a bidi control */
                        p += sprintf(p, "\\u%04x",
                                     (unsigned) (c[0] & 0x0f) << 12 | (unsigned) (c[1] & 0x3f) << 6 |
                                             (c[2] & 0x3fu));
                        c += 3;
                } else {        /* a control, or a byte of no valid UTF-8 (raw 0x9b is CSI) */
                        p += sprintf(p, "\\x%02x", *c);
                        c++;
                }
        }
        *p = 0;
        return e;
}

void hash_hex(const char *s, char buf[static 33]) {
        /* Two FNV-1a lanes with different offset bases: collisions across the instances of one
         * task are what matters here, not an adversary, and the daemon keeps the full instance in
         * the unit's environment anyway. */
        uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;

        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                a = (a ^ *c) * 0x100000001b3ULL;
                b = (b ^ *c) * 0x100000001b3ULL;
                b ^= b >> 29;
        }
        snprintf(buf, 33, "%016llx%016llx", (unsigned long long) a, (unsigned long long) b);
}
