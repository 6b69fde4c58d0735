/* SPDX-License-Identifier: MIT */
/*
 * Reloading sluiced.conf with the pipelines (SIGHUP, sluicectl reload). A file with errors
 * changes nothing. What can change in a running daemon does: max_parallel, max_starting,
 * pools (a pool's use carries over by name), default limits for units started from now on,
 * control_group, scan_interval for targets started from now on, notifiers (notify.c keeps or
 * retires each one's channel), and the HTTP server, which is started anew when its address or
 * control changes. The state directory and the scope change at the next start, and the log
 * says so.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "notify.h"
#include "scheduler.h"
#include "util/fs-util.h"
#include "web.h"

int manager_reload_config(Manager *m) {
        _cleanup_free_ char *path = NULL;
        DaemonConfig c = DAEMON_CONFIG_DEFAULT, old;
        unsigned *used;
        bool web_changed;
        int r;

        if (path_join(m->config_dir, "sluiced.conf", &path) < 0)
                return log_oom();
        r = daemon_config_load_logged(path, &c);
        if (r < 0) {
                daemon_config_done(&c);
                return log_error_errno(r, "'%s' has errors: the daemon keeps its settings", path);
        }
        if (m->max_parallel_override > 0)
                c.max_parallel = m->max_parallel_override;

        /* What waits for a restart: the running values stay. */
        if (!streq_ptr(c.state_directory, m->config.state_directory))
                log_warning("state_directory: changes at the next start");
        SWAP(c.state_directory, m->config.state_directory);
        if (c.scope != m->config.scope)
                log_warning("scope: changes at the next start");
        c.scope = m->config.scope;

        used = calloc(c.n_pools + 1, sizeof(unsigned));
        if (!used) {
                daemon_config_done(&c);
                return log_oom();
        }
        for (size_t k = 0; k < c.n_pools; k++)
                for (size_t j = 0; j < m->config.n_pools; j++)
                        if (streq(c.pools[k].name, m->config.pools[j].name))
                                used[k] = m->pool_used[j];
        free(m->pool_used);
        m->pool_used = used;

        web_changed = !streq_ptr(c.http_listen, m->config.http_listen) ||
                      c.http_control != m->config.http_control;
        if (web_changed)
                web_stop(m);
        old = m->config;
        m->config = c;
        notify_reload(m, old.notifiers, old.n_notifiers);
        daemon_config_done(&old);
        m->host.scan_interval = m->config.scan_interval;
        if (web_changed)
                (void) web_start(m);
        if (access(path, F_OK) < 0 && errno == ENOENT)
                log_info("Settings reloaded: no '%s', so the defaults", path);
        else
                log_info("Settings reloaded from '%s'", path);
        notify_check_unit_templates(m);
        scheduler_schedule(m);
        return 0;
}
