/* SPDX-License-Identifier: MIT */
/*
 * libpq resolves a host name inside PQconnectStart(), on the caller's thread: with the DNS
 * server gone, each attempt holds the daemon's loop for the resolver's timeouts (5 s each, by
 * default), and a few targets polling the same host in a row can outlast the watchdog. So the
 * name is looked up here first, by getaddrinfo() in a thread of its own, which tells the loop
 * through an eventfd; libpq then gets the addresses (hostaddr) and only connects.
 *
 * Not getaddrinfo_a(): its SIGEV_THREAD notification runs in a thread that glibc gives an empty
 * signal mask, where the SIGTERM or SIGHUP the daemon keeps blocked for sd-event would take the
 * default action and end the process. These threads start with every signal blocked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "resolve.h"
#include "util/macro.h"

/* A lookup that hangs cannot be stopped: past this many at once, more are refused rather than
 * piling up threads while a DNS server is away. */
#define RESOLVE_MAX_RUNNING 16

struct Resolve {
        char *host;
        int efd;
        sd_event_source *io;            /* the loop's */
        resolve_done_func done;         /* NULL once cancelled */
        void *userdata;
        /* Written by the thread before it writes efd; read by the loop after. */
        int error, sys_errno;
        struct addrinfo *result;
        atomic_int refs;                /* the loop's and the thread's */
};

static atomic_uint running;

bool resolve_wanted(const char *host) {
        unsigned char buf[sizeof(struct in6_addr)];

        return host && host[0] && host[0] != '/' && host[0] != '@' && !strchr(host, ',') &&
               inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1;
}

/* Whoever lets go last frees it; nothing of sd-event's is left in it by then. */
static void unref(Resolve *r) {
        if (atomic_fetch_sub(&r->refs, 1) != 1)
                return;
        if (r->efd >= 0)
                (void) close(r->efd);
        if (r->result)
                freeaddrinfo(r->result);
        free(r->host);
        free(r);
}

static void *lookup(void *userdata) {
        Resolve *r = userdata;
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
        uint64_t one = 1;

        r->error = getaddrinfo(r->host, NULL, &hints, &r->result);
        r->sys_errno = errno;
        (void) !write(r->efd, &one, sizeof(one));
        atomic_fetch_sub(&running, 1);
        unref(r);
        return NULL;
}

/* "a1,a2,...", each address once (getaddrinfo gives one per socket type and protocol), with
 * an IPv6 scope where there is one. */
static unsigned join_addresses(const struct addrinfo *list, char *out, size_t size) {
        char seen[RESOLVE_MAX_ADDRESSES][NI_MAXHOST];
        unsigned n = 0;
        size_t len = 0;

        out[0] = 0;
        for (const struct addrinfo *a = list; a && n < RESOLVE_MAX_ADDRESSES; a = a->ai_next) {
                bool dup = false;
                int w;

                if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
                    getnameinfo(a->ai_addr, a->ai_addrlen, seen[n], sizeof(seen[n]), NULL, 0,
                                NI_NUMERICHOST) != 0)
                        continue;
                for (unsigned k = 0; k < n && !dup; k++)
                        dup = strcmp(seen[k], seen[n]) == 0;
                if (dup)
                        continue;
                w = snprintf(out + len, size - len, "%s%s", n > 0 ? "," : "", seen[n]);
                if (w < 0 || (size_t) w >= size - len)
                        break;
                len += (size_t) w;
                n++;
        }
        return n;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Resolve *r = userdata;
        char addresses[RESOLVE_MAX_ADDRESSES * (NI_MAXHOST + 1)], why[256];
        uint64_t v;
        unsigned n = 0;

        (void) !read(r->efd, &v, sizeof(v));
        if (r->error == 0)
                n = join_addresses(r->result, addresses, sizeof(addresses));
        if (r->error == 0 && n == 0)
                snprintf(why, sizeof(why), "cannot resolve '%s': no IP address", r->host);
        else if (r->error != 0)
                snprintf(why, sizeof(why), "cannot resolve '%s': %s", r->host,
                         r->error == EAI_SYSTEM ? strerror(r->sys_errno) : gai_strerror(r->error));
        r->io = sd_event_source_disable_unref(r->io);
        if (r->done)
                r->done(n > 0 ? NULL : why, n > 0 ? addresses : NULL, r->userdata);
        unref(r);
        return 0;
}

int resolve_start(sd_event *e, const char *host, resolve_done_func done, void *userdata,
                  Resolve **ret) {
        Resolve *r;
        pthread_attr_t attr;
        pthread_t thread;
        sigset_t all, old;
        int k;

        if (atomic_fetch_add(&running, 1) >= RESOLVE_MAX_RUNNING) {
                atomic_fetch_sub(&running, 1);
                return -EAGAIN;
        }
        r = calloc(1, sizeof(*r));
        if (!r) {
                atomic_fetch_sub(&running, 1);
                return -ENOMEM;
        }
        atomic_init(&r->refs, 1);
        r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        r->host = strdup(host);
        r->done = done;
        r->userdata = userdata;
        if (r->efd < 0 || !r->host || sd_event_add_io(e, &r->io, r->efd, EPOLLIN, on_done, r) < 0) {
                atomic_fetch_sub(&running, 1);
                unref(r);
                return -ENOMEM;
        }
        (void) sd_event_source_set_description(r->io, "resolve");
        atomic_fetch_add(&r->refs, 1);          /* the thread's */
        /* The thread starts with the mask in force here: every signal blocked. */
        sigfillset(&all);
        k = pthread_attr_init(&attr);
        if (k == 0)
                k = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (k == 0) {
                (void) pthread_sigmask(SIG_SETMASK, &all, &old);
                k = pthread_create(&thread, &attr, lookup, r);
                (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        (void) pthread_attr_destroy(&attr);
        if (k != 0) {
                atomic_fetch_sub(&running, 1);
                atomic_fetch_sub(&r->refs, 1);
                r->io = sd_event_source_disable_unref(r->io);
                unref(r);
                return -k;
        }
        *ret = r;
        return 0;
}

void resolve_cancel(Resolve *r) {
        if (!r)
                return;
        /* The lookup goes on to its end in its thread, which frees it then if it is last. */
        r->done = NULL;
        r->io = sd_event_source_disable_unref(r->io);
        unref(r);
}
