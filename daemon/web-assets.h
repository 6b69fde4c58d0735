/* SPDX-License-Identifier: MIT */
/* The dashboard's files (daemon/web/), compiled in by daemon/web/embed.py */
#pragma once

#include <stddef.h>

typedef struct WebAsset {
        const char *path;       /* "/" for index.html */
        const char *type;
        const unsigned char *data;
        size_t size;
} WebAsset;

/* Ends with an entry whose path is NULL. */
extern const WebAsset web_assets[];
