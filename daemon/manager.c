/* SPDX-License-Identifier: MIT */
/*
 * The manager owns the event loop, the bus connection, the loaded pipelines and the table of
 * instances in flight. Start-up order matters: systemd's signals are subscribed before
 * anything starts, runs left by an earlier daemon are taken back before anything is evaluated
 * (so none is started twice), and every target is watched before it is scanned, so an arrival
 * between the two is seen twice (harmless) rather than never.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "backfill.h"
#include "bus-api.h"
#include "deadline.h"
#include "config.h"
#include "evaluate.h"
#include "outputs-gone.h"
#include "executor.h"
#include "log.h"
#include "notify.h"
#include "web.h"
#include "manager.h"
#include "util/strv.h"
#include "recover.h"
#include "pause.h"
#include "scheduler.h"
#include "sluice-config.h"
#include "state.h"
#include "util/escape.h"
#include "util/fs-util.h"
#include "waiting.h"

static int default_state_dir(bool user, char **ret) {
        const char *e;

        if (!user)
                return (*ret = strdup(SLUICE_STATE_DIR)) ? 0 : -ENOMEM;
        e = getenv("XDG_STATE_HOME");
        if (e && e[0] == '/')
                return path_join(e, "sluice", ret);
        e = getenv("HOME");
        if (!e || e[0] != '/')
                return -ENXIO;
        return asprintf(ret, "%s/.local/state/sluice", e) < 0 ? -ENOMEM : 0;
}

/*
 * Whether tasks under another user and with a private /tmp (user=, dynamic_user=, sandbox=)
 * can run sluice-result too: every directory on the way searchable, and the file executable,
 * by owner, group and others alike, no ACL that could say otherwise, and not under /tmp or
 * /var/tmp. Installed it is; a build tree need not be, and then those tasks run without it
 * (executor-unit.c). Wrong the other way, every such task would fail to start.
 */
static bool runnable_by_any_task(const char *path) {
        _cleanup_free_ char *real = realpath(path, NULL);
        struct stat st;

        if (!real || strncmp(real, "/tmp/", 5) == 0 || strncmp(real, "/var/tmp/", 9) == 0)
                return false;
        for (char *slash = strchr(real + 1, '/');; slash = strchr(slash + 1, '/')) {
                if (slash)
                        *slash = 0;
                if (stat(real, &st) < 0 || (st.st_mode & 0111) != 0111 ||
                    getxattr(real, "system.posix_acl_access", NULL, 0) >= 0 || errno == ERANGE)
                        return false;
                if (!slash)
                        return true;
                *slash = '/';
        }
}

int manager_new(const ManagerOptions *o, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ char *conf = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return log_oom();
        m->config = DAEMON_CONFIG_DEFAULT;
        m->results_fd = -EBADF;
        /* Absolute, as sluicectl reload reads it (ConfigDirectory) from anywhere; links left
         * as they are, so that a reload follows a configuration switched by a symlink. */
        m->config_dir = path_absolute(o->config_dir);
        if (!m->config_dir || path_join(m->config_dir, "pipelines.d", &m->pipelines_dir) < 0 ||
            path_join(m->config_dir, "sluiced.conf", &conf) < 0)
                return log_oom();

        r = daemon_config_load_logged(conf, &m->config);
        if (r < 0)
                return log_error_errno(r, "Refusing to start with errors in '%s'", conf);

        m->user = o->scope == BUS_SCOPE_USER ||
                  (o->scope == BUS_SCOPE_UNSET && m->config.scope == BUS_SCOPE_USER);
        if (o->max_parallel > 0)
                m->config.max_parallel = m->max_parallel_override = o->max_parallel;
        m->bus_name = strdup(o->bus_name ?: SLUICE_BUS_NAME);
        if (!m->bus_name)
                return log_oom();
        if (o->state_dir)
                m->state_dir = strdup(o->state_dir);
        else if (m->config.state_directory)
                m->state_dir = strdup(m->config.state_directory);
        else if ((r = default_state_dir(m->user, &m->state_dir)) < 0)
                return log_error_errno(r, "Cannot tell where the state directory is "
                                          "(set HOME, or --state-dir): %m");
        if (!m->state_dir)
                return log_oom();
        r = state_open(m->state_dir, &m->state);
        if (r == -EBUSY)
                return log_error_errno(r, "Another sluiced uses the state directory '%s'; give "
                                          "this one its own with --state-dir",
                                       m->state_dir);
        if (r < 0)
                return log_error_errno(r, "Cannot create the state directory '%s': %m",
                                       m->state_dir);
        pause_load(m);
        r = state_reserve(m->state);
        if (r < 0)
                log_warning_errno(r, "Cannot hold 1M in reserve in '%s' (%m): should its file "
                                     "system fill up, a run that ends then is lost and fails",
                                  m->state_dir);
        /* sluice-result, which records how each run ended, is installed next to sluiced. */
        {
                _cleanup_free_ char *self = NULL, *dir = NULL;

                r = readlink_malloc("/proc/self/exe", &self);
                if (r < 0)
                        return log_error_errno(r, "Cannot find out where sluiced is: %m");
                if (path_split(self, &dir, NULL) < 0 ||
                    path_join(dir, "sluice-result", &m->result_helper) < 0)
                        return log_oom();
                if (access(m->result_helper, X_OK) < 0)
                        return log_error_errno(errno, "Cannot run '%s', which must be next to "
                                                      "sluiced: %m",
                                               m->result_helper);
                m->helper_everywhere = runnable_by_any_task(m->result_helper);
        }
        m->pool_used = calloc(m->config.n_pools + 1, sizeof(unsigned));
        if (!m->pool_used)
                return log_oom();
        m->reconnect_delay = USEC_PER_SEC;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the event loop: %m");
        m->host = (TargetHost){
                .event = m->event,
                .hint = evaluate_hint,
                .gone = evaluate_gone,
                .rescan = evaluate_rescan,
                .gone_below = evaluate_gone_below,
                .back = scheduler_target_back,
                .polled = deadline_polled,
                .scan_interval = m->config.scan_interval,
                .state_dir = m->state_dir,
        };
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        Instance *i, *tmp;

        if (!m)
                return NULL;
        /* What the notifiers held goes now, while its instances can still be noted as told,
         * and their marks saved so: the next start does not tell them again. */
        notify_free(m);
        deadline_free(m);
        manager_save_marks_pending(m);
        strv_free(m->ends_after_save);
        strv_free(m->rejected);
        strv_free(m->paused);
        HASH_ITER(hh, m->instances, i, tmp) {
                HASH_DEL(m->instances, i);
                instance_free(i);
        }
        for (size_t k = 0; k < m->n_pipelines; k++)
                for (size_t t = 0; t < m->pipelines[k]->n_targets; t++)
                        target_stop(m->pipelines[k]->targets[t]);
        web_stop(m);
        waiting_clear(m);
        target_host_done(&m->host);
        backfills_free(m);
        pipelines_free(m->pipelines, m->n_pipelines);
        pipelines_free(m->retired, m->n_retired);
        sd_bus_slot_unref(m->match_disconnected);
        sd_bus_slot_unref(m->match_job_removed);
        sd_event_source_disable_unref(m->results_source);
        sd_event_source_disable_unref(m->sweep_source);
        sd_event_source_disable_unref(m->results_poll);
        safe_close(m->results_fd);
        sd_event_source_disable_unref(m->dispatch_source);
        sd_event_source_disable_unref(m->save_source);
        sd_event_source_disable_unref(m->reconnect_source);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        daemon_config_done(&m->config);
        free(m->pool_used);
        instance_marks_free(m->kept_marks, m->n_kept_marks);
        for (size_t k = 0; k < m->n_kept_runs; k++) {
                run_record_done(m->kept_runs[k]);
                free(m->kept_runs[k]);
        }
        free(m->kept_runs);
        free(m->config_dir);
        free(m->pipelines_dir);
        free(m->state_dir);
        free(m->result_helper);
        free(m->bus_name);
        state_close(m->state);
        free(m);
        return NULL;
}

void manager_notify_status(Manager *m) {
        (void) sd_notifyf(false, "STATUS=%u running, %u queued, %u retrying, %u failed",
                          m->n_active, m->n_queued, m->n_retrying, m->n_failed);
}

int manager_load_pipelines(Manager *m, Pipeline ***ret, size_t *ret_n, char ***ret_rejected) {
        Diag d = {};
        int r;

        r = config_load_directory(m->pipelines_dir, &m->config, ret, ret_n, ret_rejected, &d);
        /* A fresh install before its first pipeline, or a --user daemon nobody set up yet:
         * nothing to run, which is no error. */
        if (r == -ENOENT) {
                diag_done(&d);
                log_notice("No directory '%s': no pipelines to run (add files there and reload)",
                           m->pipelines_dir);
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        diag_sort(&d);
        for (size_t k = 0; k < d.n_entries; k++) {
                _cleanup_free_ char *line = NULL;
                char file_field[4096], line_field[32], included_field[4096];
                const DiagEntry *e = &d.entries[k];
                /* CONFIG_FILE is what `sluicectl check` takes: the pipeline, not a part of it. */
                char *fields[] = { file_field, line_field,
                                   "MESSAGE_ID=" SLUICE_MESSAGE_CONFIG_ERROR_STR,
                                   e->including ? included_field : NULL, NULL };

                snprintf(file_field, sizeof(file_field), "CONFIG_FILE=%s",
                         e->including ?: e->file);
                snprintf(included_field, sizeof(included_field), "CONFIG_INCLUDED_FILE=%s",
                         e->file);
                snprintf(line_field, sizeof(line_field), "CONFIG_LINE=%u", d.entries[k].line);
                if (diag_format(e, &line) >= 0)
                        log_struct(e->error ? LOG_ERR : LOG_WARNING, fields, "%s", line);
        }
        diag_done(&d);
        if (r > 0)
                log_error("Rejected %d pipeline file(s) with errors", r);
        if (r < 0)
                return r;
        for (size_t k = 0; k < *ret_n; k++)
                log_info("Loaded pipeline '%s' (%zu target(s), %zu task(s))", (*ret)[k]->name,
                         (*ret)[k]->n_targets, (*ret)[k]->n_tasks);
        return 0;
}

void manager_start_targets(Manager *m, Pipeline *p) {
        for (size_t t = 0; t < p->n_targets; t++) {
                int r;

                /* Inputs for their arrivals, outputs for their disappearance; a target no task
                 * reads or writes is not watched. */
                if (p->targets[t]->n_consumers == 0 && !p->targets[t]->producer)
                        continue;
                r = target_start(p->targets[t], &m->host);
                if (r < 0)
                        log_error_errno(r, "Cannot watch target '%s' of pipeline '%s': %m",
                                        p->targets[t]->name, p->name);
        }
        deadline_start(m, p);
}

void manager_reconcile(Manager *m, Pipeline *p) {
        for (size_t t = 0; t < p->n_targets; t++)
                evaluate_rescan(&m->host, p->targets[t], 0);
}

int pipeline_slice_name(const Pipeline *p, char **ret) {
        _cleanup_free_ char *e = NULL;

        /* '-' means nesting in slice names: escape it, so "my-logs" is one slice. */
        if (unit_escape_value(p->name, &e) < 0)
                return -ENOMEM;
        return asprintf(ret, "sluice-%s.slice", e) < 0 ? -ENOMEM : 0;
}

/* At start-up, whatever exists and is due runs without waiting for an event. */
static void reconcile(Manager *m) {
        usec_t begin = now_usec(CLOCK_MONOTONIC);

        /* One scan for all: a directory read for one target serves the others. */
        target_host_scan_begin(&m->host);
        for (size_t k = 0; k < m->n_pipelines; k++)
                manager_reconcile(m, m->pipelines[k]);
        target_host_scan_end(&m->host);
        log_info("Start-up scan done in %llu ms: %u instance(s) queued",
                 (unsigned long long) ((now_usec(CLOCK_MONOTONIC) - begin) / USEC_PER_MSEC),
                 m->n_queued);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        manager_reload(userdata, NULL);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_notice("Received SIG%s, exiting; running task units keep running",
                   sigabbrev_np((int) si->ssi_signo) ?: "?");
        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

static int setup_signals(Manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        /* The break of a read lease taken for a moment to tell whether a file is being
         * written (targets/local-complete.c) sends SIGIO, which must not end the daemon. */
        (void) signal(SIGIO, SIG_IGN);
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");
        return 0;
}

int manager_startup(Manager *m) {
        int r;

        r = setup_signals(m);
        if (r < 0)
                return r;
        /* Under WatchdogSec=, the loop itself sends WATCHDOG=1: a loop that hangs is restarted.
         * Without it, nothing wakes an idle daemon. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Cannot set up the watchdog: %m");
        r = manager_load_pipelines(m, &m->pipelines, &m->n_pipelines, &m->rejected);
        if (r < 0)
                return log_error_errno(r, "Failed to load pipelines from '%s': %m",
                                       m->pipelines_dir);
        if (m->n_pipelines == 0)
                log_warning("No pipelines to run in '%s'", m->pipelines_dir);
        pause_check_names(m);
        r = scheduler_setup(m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the scheduler: %m");
        r = executor_watch_results(m);
        if (r < 0)
                return r;
        r = executor_connect(m);
        if (r < 0)
                return r;
        notify_check_unit_templates(m);
        for (size_t k = 0; k < m->n_pipelines; k++)
                manager_setup_slice(m, m->pipelines[k]);
        /* Before anything is evaluated: what an earlier daemon left running or failed. */
        recover_marks(m);
        recover_runs(m);
        for (size_t k = 0; k < m->n_pipelines; k++)
                manager_start_targets(m, m->pipelines[k]);
        reconcile(m);
        /* A server that cannot listen is logged there and the daemon runs without it. */
        return web_start(m);
}

int manager_run(Manager *m) {
        (void) sd_notify(false, "READY=1");
        manager_notify_status(m);
        return sd_event_loop(m->event);
}
