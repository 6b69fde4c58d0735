/* SPDX-License-Identifier: MIT */
/*
 * sluiced.conf, in the same libconfig syntax as pipeline files and with the same diagnostics:
 * concurrency, resource pools, default limits, the state directory and the bus scope. A
 * missing file means the defaults; a file with errors stops the daemon from starting, because
 * running with half of its settings would surprise more than not running.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <libconfig.h>
#include <string.h>

#include "config-internal.h"
#include "daemon-config.h"
#include "log.h"
#include "util/fs-util.h"

void daemon_config_done(DaemonConfig *c) {
        for (size_t i = 0; i < c->n_pools; i++)
                free(c->pools[i].name);
        free(c->pools);
        for (size_t i = 0; i < c->n_notifiers; i++)
                notifier_done(&c->notifiers[i]);
        free(c->notifiers);
        c->notifiers = NULL;
        c->n_notifiers = 0;
        free(c->state_directory);
        free(c->http_listen);
        c->http_listen = NULL;
        free(c->control_group);
        c->pools = NULL;
        c->n_pools = 0;
        c->state_directory = NULL;
        c->control_group = NULL;
}

int daemon_config_parse_listen(const char *s, struct sockaddr_in *ret) {
        struct sockaddr_in sa = { .sin_family = AF_INET };
        const char *colon = strrchr(s, ':');
        _cleanup_free_ char *host = NULL;
        unsigned long port;
        char *end;

        if (!colon || colon[1] < '0' || colon[1] > '9')
                return -EINVAL;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (errno != 0 || *end || port == 0 || port > 65535)
                return -EINVAL;
        host = strndup(s, (size_t) (colon - s));
        if (!host)
                return -ENOMEM;
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
                return -EINVAL;
        sa.sin_port = htons((uint16_t) port);
        if (ret)
                *ret = sa;
        return 0;
}

const Pool *daemon_config_find_pool(const DaemonConfig *c, const char *name) {
        for (size_t i = 0; i < c->n_pools; i++)
                if (streq(c->pools[i].name, name))
                        return &c->pools[i];
        return NULL;
}

const Notifier *daemon_config_find_notifier(const DaemonConfig *c, const char *name) {
        for (size_t i = 0; i < c->n_notifiers; i++)
                if (streq(c->notifiers[i].name, name))
                        return &c->notifiers[i];
        return NULL;
}

static void parse_pools(Loader *l, DaemonConfig *c, const config_setting_t *s) {
        if (!config_setting_is_group(s)) {
                diag_error(l->diag, line_of(s), "'resources' must be a group of pool sizes like "
                                                "{ db = 2; gpu = 1; }, not %s",
                           type_name(s));
                return;
        }
        c->pools = calloc((size_t) config_setting_length(s) + 1, sizeof(Pool));
        if (!c->pools)
                return;
        for (int i = 0; i < config_setting_length(s); i++) {
                const config_setting_t *m = config_setting_get_elem(s, (unsigned) i);
                unsigned long v;

                if (config_get_uint(l, m, "resources: ", 1, 1000000, &v) < 0)
                        continue;
                c->pools[c->n_pools].name = strdup(config_setting_name(m));
                if (!c->pools[c->n_pools].name)
                        return;
                c->pools[c->n_pools++].size = (unsigned) v;
        }
}

int daemon_config_load(const char *path, DaemonConfig *c, Diag *d) {
        static char * const known[] = { "max_parallel", "max_starting", "resources", "limits",
                                        "state_directory", "scope", "scan_interval",
                                        "control_group", "notifiers", "http", NULL };
        _cleanup_free_ char *text = NULL;
        const config_setting_t *root, *s;
        const char *saved = d->file;
        size_t errors = d->n_errors;
        Loader l = { .diag = d };
        config_t cfg;
        unsigned long v;
        int r;

        r = read_file(path, 1 << 20, &text, NULL);
        if (r == -ENOENT)
                return 0;
        d->file = path;
        if (r < 0) {
                errno = -r;
                diag_error(d, 0, "cannot read: %m");
                d->file = saved;
                return -EINVAL;
        }
        config_init(&cfg);
        if (!config_read_string(&cfg, text)) {
                config_report_read_error(d, &cfg);
                config_destroy(&cfg);
                d->file = saved;
                return -EINVAL;
        }
        root = config_root_setting(&cfg);
        check_keys(&l, root, known, "");
        if ((s = config_setting_get_member(root, "max_parallel")) &&
            config_get_uint(&l, s, "", 1, 100000, &v) >= 0)
                c->max_parallel = (unsigned) v;
        if ((s = config_setting_get_member(root, "max_starting")) &&
            config_get_uint(&l, s, "", 1, 100, &v) >= 0)
                c->max_starting = (unsigned) v;
        if ((s = config_setting_get_member(root, "scan_interval")) &&
            config_get_span(&l, s, "", &c->scan_interval) >= 0 && c->scan_interval == 0)
                diag_error(d, line_of(s), "'scan_interval' must be longer than 0");
        if ((s = config_setting_get_member(root, "resources")))
                parse_pools(&l, c, s);
        if ((s = config_setting_get_member(root, "limits")))
                config_parse_limits(&l, &c->default_limits, s, "limits: ", true);
        if ((s = config_setting_get_member(root, "state_directory"))) {
                const char *v2 = config_setting_get_string(s);
                if (!v2 || v2[0] != '/')
                        diag_error(d, line_of(s), "'state_directory' must be an absolute path");
                else if (!(c->state_directory = strdup(v2)))
                        r = -ENOMEM;
        }
        if ((s = config_setting_get_member(root, "control_group"))) {
                const char *v2 = config_setting_get_string(s);
                if (!v2 || !v2[0])
                        diag_error(d, line_of(s), "'control_group' must be a group name");
                else if (!getgrnam(v2))
                        diag_error(d, line_of(s), "'control_group': no group '%s' on this system",
                                   v2);
                else if (!(c->control_group = strdup(v2)))
                        r = -ENOMEM;
        }
        if ((s = config_setting_get_member(root, "http"))) {
                const config_setting_t *k = config_setting_get_member(s, "listen");
                const config_setting_t *ctl = config_setting_get_member(s, "control");
                const char *v2 = k ? config_setting_get_string(k) : NULL;

                if (!config_setting_is_group(s) || !v2)
                        diag_error(d, line_of(k ?: s), "'http' must be a group like { listen = "
                                   "\"127.0.0.1:8642\"; } (an IPv4 address and a port)");
                /* What web_start() can listen on, no more: a value check passed and the
                 * server then refused would drop the dashboard on reload. */
                else if (daemon_config_parse_listen(v2, NULL) < 0)
                        diag_error(d, line_of(k), "'http.listen': '%s' is not an IPv4 address "
                                   "and a port, such as \"127.0.0.1:8642\" or \"0.0.0.0:8642\" "
                                   "(no host names, no IPv6)", v2);
                else if (!(c->http_listen = strdup(v2)))
                        r = -ENOMEM;
                if (ctl && config_setting_type(ctl) != CONFIG_TYPE_BOOL)
                        diag_error(d, line_of(ctl), "'http.control' must be true or false");
                else if (ctl)
                        c->http_control = config_setting_get_bool(ctl);
                for (int n = 0; config_setting_is_group(s) && n < config_setting_length(s); n++) {
                        const char *key = config_setting_name(config_setting_get_elem(s, n));
                        if (!streq(key, "listen") && !streq(key, "control"))
                                diag_error(d, line_of(config_setting_get_elem(s, n)),
                                           "'http': unknown key '%s' (listen and control are "
                                           "known)", key);
                }
        }
        if ((s = config_setting_get_member(root, "notifiers")) && r >= 0)
                r = notifiers_parse(s, d, &c->notifiers, &c->n_notifiers);
        if ((s = config_setting_get_member(root, "scope"))) {
                const char *v2 = config_setting_get_string(s);
                if (v2 && streq(v2, "system"))
                        c->scope = BUS_SCOPE_SYSTEM;
                else if (v2 && streq(v2, "user"))
                        c->scope = BUS_SCOPE_USER;
                else
                        diag_error(d, line_of(s), "'scope' must be \"system\" or \"user\"");
        }
        config_destroy(&cfg);
        d->file = saved;
        return d->n_errors > errors ? -EINVAL : 0;
}

int daemon_config_load_logged(const char *path, DaemonConfig *c) {
        Diag d = {};
        int r = daemon_config_load(path, c, &d);

        diag_sort(&d);
        for (size_t k = 0; k < d.n_entries; k++) {
                _cleanup_free_ char *line = NULL;
                if (diag_format(&d.entries[k], &line) >= 0)
                        log_error("%s", line);
        }
        diag_done(&d);
        return r;
}
