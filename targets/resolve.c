/* SPDX-License-Identifier: MIT */
/*
 * libpq resolves a host name inside PQconnectStart(), on the caller's thread: with the DNS
 * server gone, each attempt holds the daemon's loop for the resolver's timeouts (5 s each, by
 * default), and a few targets polling the same host in a row can outlast the watchdog. So the
 * name is looked up here first, by glibc's getaddrinfo_a() in threads of its own, which tells
 * the loop through an eventfd; libpq then gets the addresses (hostaddr) and only connects.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "resolve.h"
#include "util/macro.h"

struct Resolve {
        struct gaicb cb;                /* getaddrinfo_a's request */
        struct addrinfo hints;
        char *host;
        int efd;
        sd_event_source *io;
        resolve_done_func done;         /* NULL once cancelled */
        void *userdata;
};

bool resolve_wanted(const char *host) {
        unsigned char buf[sizeof(struct in6_addr)];

        return host && host[0] && host[0] != '/' && host[0] != '@' && !strchr(host, ',') &&
               inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1;
}

static void resolve_free(Resolve *r) {
        sd_event_source_disable_unref(r->io);
        if (r->efd >= 0)
                (void) close(r->efd);
        if (r->cb.ar_result)
                freeaddrinfo(r->cb.ar_result);
        free(r->host);
        free(r);
}

/* In a thread of glibc's: nothing but the write, which the loop reads. */
static void notify(union sigval v) {
        Resolve *r = v.sival_ptr;
        uint64_t one = 1;

        (void) !write(r->efd, &one, sizeof(one));
}

/* "a1,a2,...", each address once (getaddrinfo gives one per socket type and protocol). */
static unsigned join_addresses(const struct addrinfo *list, char *out, size_t size) {
        char seen[RESOLVE_MAX_ADDRESSES][INET6_ADDRSTRLEN];
        unsigned n = 0;
        size_t len = 0;

        out[0] = 0;
        for (const struct addrinfo *a = list; a && n < RESOLVE_MAX_ADDRESSES; a = a->ai_next) {
                const void *addr;
                bool dup = false;
                int w;

                if (a->ai_family == AF_INET)
                        addr = &((const struct sockaddr_in *) a->ai_addr)->sin_addr;
                else if (a->ai_family == AF_INET6)
                        addr = &((const struct sockaddr_in6 *) a->ai_addr)->sin6_addr;
                else
                        continue;
                if (!inet_ntop(a->ai_family, addr, seen[n], sizeof(seen[n])))
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
        char addresses[RESOLVE_MAX_ADDRESSES * (INET6_ADDRSTRLEN + 1)];
        int e = gai_error(&r->cb);
        unsigned n = 0;

        if (e == EAI_INPROGRESS)
                return 0;
        if (r->done) {
                char why[256];

                if (e == 0)
                        n = join_addresses(r->cb.ar_result, addresses, sizeof(addresses));
                if (e == 0 && n == 0)
                        snprintf(why, sizeof(why), "cannot resolve '%s': no IP address", r->host);
                else if (e != 0)
                        snprintf(why, sizeof(why), "cannot resolve '%s': %s", r->host,
                                 e == EAI_SYSTEM ? strerror(errno) : gai_strerror(e));
                r->done(n > 0 ? NULL : why, n > 0 ? addresses : NULL, n, r->userdata);
        }
        resolve_free(r);
        return 0;
}

int resolve_start(sd_event *e, const char *host, resolve_done_func done, void *userdata,
                  Resolve **ret) {
        Resolve *r = calloc(1, sizeof(*r));
        struct gaicb *list[1];
        struct sigevent sev = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = notify };
        int k;

        if (!r)
                return -ENOMEM;
        r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        r->host = strdup(host);
        if (r->efd < 0 || !r->host ||
            sd_event_add_io(e, &r->io, r->efd, EPOLLIN, on_done, r) < 0) {
                resolve_free(r);
                return -ENOMEM;
        }
        (void) sd_event_source_set_description(r->io, "resolve");
        r->hints.ai_family = AF_UNSPEC;
        r->hints.ai_socktype = SOCK_STREAM;
        r->cb.ar_name = r->host;
        r->cb.ar_request = &r->hints;
        r->done = done;
        r->userdata = userdata;
        sev.sigev_value.sival_ptr = r;
        list[0] = &r->cb;
        k = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev);
        if (k != 0) {
                resolve_free(r);
                return k == EAI_MEMORY || k == EAI_AGAIN ? -ENOMEM : -EIO;
        }
        *ret = r;
        return 0;
}

void resolve_cancel(Resolve *r) {
        if (!r)
                return;
        r->done = NULL;
        /* Taken out of the queue before it began: no notice will come. Under way or done, the
         * notice is on its way, and on_done() frees it. */
        if (gai_cancel(&r->cb) == EAI_CANCELED)
                resolve_free(r);
}
