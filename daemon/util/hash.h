/* SPDX-License-Identifier: MIT */
/* uthash, configured once for the whole project */
#pragma once

/*
 * uthash's default (Jenkins) hash falls through switch cases, which clang's
 * -Wimplicit-fallthrough rejects inside our code; Bob Jenkins' one-at-a-time hash has no switch
 * and mixes unit names well enough.
 */
#define HASH_FUNCTION(keyptr, keylen, hashv) HASH_OAT(keyptr, keylen, hashv)
#include <uthash.h>
