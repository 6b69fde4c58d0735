/* SPDX-License-Identifier: MIT */
/*
 * Bindings map parameter names to values that have already been checked against their type.
 * Small by nature (a task has a handful of parameters), so a sorted array beats a hash table.
 */
#include <stdio.h>
#include <string.h>

#include "binding.h"

int binding_new(Binding **ret) {
        Binding *b = calloc(1, sizeof(Binding));

        if (!b)
                return -ENOMEM;
        *ret = b;
        return 0;
}

Binding *binding_free(Binding *b) {
        if (!b)
                return NULL;
        for (size_t i = 0; i < b->n; i++) {
                free(b->entries[i].name);
                free(b->entries[i].value);
        }
        free(b->entries);
        free(b);
        return NULL;
}

int binding_copy(const Binding *b, Binding **ret) {
        _cleanup_(binding_freep) Binding *c = NULL;
        int r;

        r = binding_new(&c);
        if (r < 0)
                return r;
        for (size_t i = 0; b && i < b->n; i++) {
                r = binding_set(c, b->entries[i].name, b->entries[i].value);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

int binding_setn(Binding *b, const char *name, const char *value, size_t n) {
        BindingEntry *e;
        char *v;
        size_t i;

        v = strndup(value, n);
        if (!v)
                return -ENOMEM;
        for (i = 0; i < b->n; i++) {
                int c = strcmp(b->entries[i].name, name);
                if (c == 0) {
                        free(b->entries[i].value);
                        b->entries[i].value = v;
                        return 0;
                }
                if (c > 0)
                        break;
        }
        e = reallocarray(b->entries, b->n + 1, sizeof(BindingEntry));
        if (!e) {
                free(v);
                return -ENOMEM;
        }
        b->entries = e;
        memmove(e + i + 1, e + i, (b->n - i) * sizeof(BindingEntry));
        e[i] = (BindingEntry){ .name = strdup(name), .value = v };
        b->n++;
        if (!e[i].name) {
                /* Undo, so the binding never holds a half entry. */
                free(v);
                memmove(e + i, e + i + 1, (b->n - i - 1) * sizeof(BindingEntry));
                b->n--;
                return -ENOMEM;
        }
        return 0;
}

int binding_set(Binding *b, const char *name, const char *value) {
        return binding_setn(b, name, value, strlen(value));
}

const char *binding_get(const Binding *b, const char *name) {
        for (size_t i = 0; b && i < b->n; i++)
                if (streq(b->entries[i].name, name))
                        return b->entries[i].value;
        return NULL;
}

bool binding_equal(const Binding *a, const Binding *b) {
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (!streq(a->entries[i].name, b->entries[i].name) ||
                    !streq(a->entries[i].value, b->entries[i].value))
                        return false;
        return true;
}

int binding_to_string(const Binding *b, char **ret) {
        char *s = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&s, &len);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < b->n; i++)
                fprintf(f, "%s%s=%s", i > 0 ? " " : "", b->entries[i].name, b->entries[i].value);
        if (fclose(f) != 0) {
                free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}
