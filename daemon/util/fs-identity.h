/* SPDX-License-Identifier: MIT */
/* Another user's file system credentials, taken on by this thread for a few calls */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct FsIdentity {
        uid_t uid;
        gid_t gid;
        gid_t *groups;          /* supplementary, as initgroups(3) would give them */
        size_t n_groups;
} FsIdentity;

/* What fs_identity_leave() gives back. */
typedef struct FsIdentitySaved {
        bool taken;
        uid_t fsuid;
        gid_t fsgid;
        gid_t *groups;
        int n_groups;
} FsIdentitySaved;

/* user (a name or a number) and group (one or NULL: the user's primary group) as systemd's
 * User= and Group= resolve them when the unit starts: -ESRCH for a name nobody has. */
int fs_identity_resolve(const char *user, const char *group, FsIdentity *ret);
void fs_identity_done(FsIdentity *id);

/* Until fs_identity_leave(), the file system calls of this thread check permissions as id
 * would, and what they create is id's. A no-op for the daemon's own user and group. */
int fs_identity_enter(const FsIdentity *id, FsIdentitySaved *ret);
void fs_identity_leave(FsIdentitySaved *s);
static inline void fs_identity_leavep(FsIdentitySaved *s) {
        fs_identity_leave(s);
}
