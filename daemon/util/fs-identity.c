/* SPDX-License-Identifier: MIT */
/*
 * The daemon runs as root and acts on files for tasks that run as other users: it makes their
 * staged outputs and renames them into place. Done with root's credentials, a path through a
 * directory another user controls (a symbolic link put there) sends the file wherever root can
 * write. Done with the task user's file system credentials, the kernel refuses what that user
 * could not do itself, wherever the path leads.
 *
 * setfsuid(2), setfsgid(2) and the raw setgroups(2) system call change the calling thread's
 * credentials only: glibc's setgroups() would change every thread's (the resolver's threads,
 * targets/resolve.c, among them), so it is not used. The loop's thread does nothing else
 * between fs_identity_enter() and fs_identity_leave(). Leaving fsuid 0 drops CAP_DAC_OVERRIDE,
 * CAP_FOWNER and the other file system capabilities from the effective set; going back to 0
 * gives them back (capabilities(7), "Effect of user ID changes on capabilities").
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/fs-identity.h"
#include "util/macro.h"

#ifdef SYS_setgroups32
#define SYS_SETGROUPS SYS_setgroups32   /* 32-bit ids where the old call takes 16-bit ones */
#else
#define SYS_SETGROUPS SYS_setgroups
#endif

static int parse_id(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        if (!s[0] || s[0] == '-' || s[0] == '+')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v >= UINT_MAX)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

int fs_identity_resolve(const char *user, const char *group, FsIdentity *ret) {
        _cleanup_free_ gid_t *groups = NULL;
        struct passwd *pw;
        unsigned id;
        int n = 16;
        uid_t uid;
        gid_t gid;

        errno = 0;
        pw = getpwnam(user);
        if (!pw && parse_id(user, &id) >= 0)
                pw = getpwuid(id);
        if (pw) {
                uid = pw->pw_uid;
                gid = pw->pw_gid;
        } else if (parse_id(user, &id) >= 0)
                uid = gid = id;         /* a number without an entry: systemd does the same */
        else
                return errno > 0 ? -errno : -ESRCH;
        if (group) {
                struct group *gr = getgrnam(group);

                if (gr)
                        gid = gr->gr_gid;
                else if (parse_id(group, &id) >= 0)
                        gid = id;
                else
                        return -ESRCH;
        }
        for (;;) {
                gid_t *l = reallocarray(groups, n, sizeof(gid_t));
                int want = n;

                if (!l)
                        return -ENOMEM;
                groups = l;
                if (!pw) {
                        groups[0] = gid;
                        n = 1;
                        break;
                }
                if (getgrouplist(pw->pw_name, gid, groups, &want) >= 0) {
                        n = want;
                        break;
                }
                if (want <= n)
                        return -EINVAL;
                n = want;
        }
        *ret = (FsIdentity){ .uid = uid, .gid = gid, .groups = TAKE_PTR(groups), .n_groups = n };
        return 0;
}

void fs_identity_done(FsIdentity *id) {
        if (id)
                id->groups = mfree(id->groups);
}

/* setfsuid() and setfsgid() say nothing of failure: asking with an invalid id changes nothing
 * and answers the id in force. */
static uid_t current_fsuid(void) {
        return (uid_t) setfsuid((uid_t) -1);
}

static gid_t current_fsgid(void) {
        return (gid_t) setfsgid((gid_t) -1);
}

int fs_identity_enter(const FsIdentity *id, FsIdentitySaved *ret) {
        _cleanup_free_ gid_t *groups = NULL;
        bool other_user = id->uid != geteuid();
        int n;

        *ret = (FsIdentitySaved){};
        if (!other_user && id->gid == getegid())
                return 0;
        n = getgroups(0, NULL);
        if (n < 0)
                return -errno;
        groups = calloc(n ?: 1, sizeof(gid_t));
        if (!groups)
                return -ENOMEM;
        n = getgroups(n, groups);
        if (n < 0)
                return -errno;
        *ret = (FsIdentitySaved){ .taken = true, .fsuid = current_fsuid(),
                                  .fsgid = current_fsgid(), .groups = TAKE_PTR(groups),
                                  .n_groups = n };
        /* The daemon's own user keeps its groups: only root may set them. */
        if (other_user && syscall(SYS_SETGROUPS, id->n_groups, id->groups) < 0) {
                int r = -errno;

                fs_identity_leave(ret);
                return r;
        }
        (void) setfsgid(id->gid);
        (void) setfsuid(id->uid);
        if (current_fsgid() != id->gid || current_fsuid() != id->uid) {
                fs_identity_leave(ret);
                return -EPERM;
        }
        return 0;
}

void fs_identity_leave(FsIdentitySaved *s) {
        if (!s->taken)
                return;
        /* The user first: back at fsuid 0, the capabilities that setgroups needs are there. */
        (void) setfsuid(s->fsuid);
        (void) setfsgid(s->fsgid);
        (void) syscall(SYS_SETGROUPS, s->n_groups, s->groups);
        s->groups = mfree(s->groups);
        s->taken = false;
}
