/* SPDX-License-Identifier: MIT */
/* A set of parameter values: name -> canonical value */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/macro.h"

typedef struct BindingEntry {
        char *name;
        char *value;
} BindingEntry;

/* Entries are kept sorted by name, so two equal bindings compare and print alike. */
typedef struct Binding {
        size_t n;
        BindingEntry *entries;
} Binding;

int binding_new(Binding **ret);
Binding *binding_free(Binding *b);
DEFINE_POINTER_CLEANUP(Binding, binding_free);
int binding_copy(const Binding *b, Binding **ret);

/* Sets or replaces; copies both strings. */
int binding_set(Binding *b, const char *name, const char *value);
int binding_setn(Binding *b, const char *name, const char *value, size_t n);
const char *binding_get(const Binding *b, const char *name) _pure_;
bool binding_equal(const Binding *a, const Binding *b) _pure_;
/* "day=2026-11-27 name=a" for messages; values are not escaped. */
int binding_to_string(const Binding *b, char **ret);
