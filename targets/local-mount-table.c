/* SPDX-License-Identifier: MIT */
/*
 * The mount table (/proc/self/mountinfo) as local-mount.c asks it: what is mounted at a point,
 * and which mount a directory lies on. Read when first asked, and once for all that a change
 * of the table concerns (the caller's MountTable lasts that long): a watched directory whose
 * device did not change, or a start whose output's mount is still on the device it was on,
 * asks nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "local.h"
#include "log.h"
#include "util/fs-util.h"

struct MountEntry {
        char *point;    /* where it is mounted, unescaped */
        dev_t dev;
        char *source;   /* "TYPE SOURCE ROOT", as the table spells them */
};

DEFINE_POINTER_CLEANUP(FILE, fclose);

void mount_table_unescape(char *s) {
        char *o = s;

        for (; *s; s++, o++)
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
                    s[3] >= '0' && s[3] <= '7') {
                        *o = (char) ((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
                        s += 3;
                } else
                        *o = *s;
        *o = '\0';
}

void mount_table_done(MountTable *t) {
        for (size_t i = 0; i < t->n; i++) {
                free(t->entries[i].point);
                free(t->entries[i].source);
        }
        t->entries = mfree(t->entries);
        t->n = 0;
        t->read = false;
}

static int table_add(MountTable *t, char *point, dev_t dev, char *source) {
        MountEntry *n = reallocarray(t->entries, t->n + 1, sizeof(MountEntry));

        if (!n) {
                free(point);
                free(source);
                return -ENOMEM;
        }
        t->entries = n;
        t->entries[t->n++] = (MountEntry){ .point = point, .dev = dev, .source = source };
        return 0;
}

/* Unreadable (no /proc), it is empty: every mount looks away, as where a note says one is. */
static void table_read(MountTable *t) {
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        if (t->read)
                return;
        t->read = true;
        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return;
        /* 36 35 98:0 /export /mnt/data rw,noatime shared:1 - nfs4 server:/export rw,... */
        while (getline(&line, &size, f) > 0) {
                _cleanup_free_ char *root = NULL, *point = NULL, *type = NULL, *source = NULL;
                unsigned maj, min;
                char *rest, *s;

                if (sscanf(line, "%*u %*u %u:%u %ms %ms", &maj, &min, &root, &point) != 4 ||
                    !(rest = strstr(line, " - ")) ||
                    sscanf(rest, " - %ms %ms", &type, &source) != 2)
                        continue;
                if (asprintf(&s, "%s %s %s", type, source, root) < 0)
                        return (void) log_oom();
                mount_table_unescape(point);
                if (table_add(t, TAKE_PTR(point), makedev(maj, min), s) < 0)
                        return (void) log_oom();
        }
}

const char *mount_table_at(MountTable *t, const char *point, dev_t dev) {
        const char *found = NULL;

        table_read(t);
        /* The last one listed is on top. */
        for (size_t i = 0; i < t->n; i++)
                if (t->entries[i].dev == dev && streq(t->entries[i].point, point))
                        found = t->entries[i].source;
        return found;
}

const char *mount_table_find(MountTable *t, const char *path, dev_t dev, const char **ret_point) {
        const MountEntry *found = NULL;

        table_read(t);
        for (size_t i = 0; i < t->n; i++)
                if (path_below(path, t->entries[i].point) &&
                    (!found || strlen(t->entries[i].point) >= strlen(found->point)))
                        found = &t->entries[i];
        /* Not the device stat() says: the table does not tell (a mount of another namespace's). */
        if (!found || found->dev != dev)
                return NULL;
        *ret_point = found->point;
        return found->source;
}
