/* SPDX-License-Identifier: MIT */
/*
 * The manager owns the event loop, the bus connection, the loaded pipelines and the table of
 * instances in flight. Start-up order matters: signals are subscribed before anything starts,
 * and every target is watched before it is scanned, so an arrival between the two is seen
 * twice (harmless) rather than never.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <utlist.h>

#include "config.h"
#include "evaluate.h"
#include "executor.h"
#include "log.h"
#include "manager.h"
#include "scheduler.h"
#include "util/fs-util.h"

int manager_new(const ManagerOptions *o, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->user = o->user;
        m->max_parallel = o->max_parallel > 0 ? o->max_parallel : 16;
        r = path_join(o->config_dir, "pipelines.d", &m->pipelines_dir);
        if (r < 0)
                return r;
        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        m->host = (TargetHost){
                .event = m->event,
                .hint = evaluate_hint,
                .rescan = evaluate_rescan,
        };
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        Instance *i, *tmp;

        if (!m)
                return NULL;
        HASH_ITER(hh, m->instances, i, tmp) {
                HASH_DEL(m->instances, i);
                instance_free(i);
        }
        for (size_t k = 0; k < m->n_pipelines; k++)
                for (size_t t = 0; t < m->pipelines[k]->n_targets; t++)
                        target_stop(m->pipelines[k]->targets[t]);
        target_host_done(&m->host);
        pipelines_free(m->pipelines, m->n_pipelines);
        pipelines_free(m->retired, m->n_retired);
        sd_bus_slot_unref(m->match_properties);
        sd_bus_slot_unref(m->match_job_removed);
        sd_event_source_disable_unref(m->dispatch_source);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        free(m->pipelines_dir);
        free(m);
        return NULL;
}

Instance *manager_find_instance(Manager *m, const char *unit) {
        Instance *i;

        HASH_FIND_STR(m->instances, unit, i);
        return i;
}

void manager_remove_instance(Manager *m, Instance *i) {
        if (i->state == INSTANCE_QUEUED)
                scheduler_dequeue(m, i);
        else if (i->state == INSTANCE_FAILED)
                m->n_failed--;
        HASH_DEL(m->instances, i);
        instance_free(i);
}

void manager_notify_status(Manager *m) {
        (void) sd_notifyf(false, "STATUS=%u running, %u queued, %u failed", m->n_active,
                          m->n_queued, m->n_failed);
}

int manager_load_pipelines(Manager *m, Pipeline ***ret, size_t *ret_n, char ***ret_rejected) {
        Diag d = {};
        int r;

        r = config_load_directory(m->pipelines_dir, ret, ret_n, ret_rejected, &d);
        diag_sort(&d);
        for (size_t k = 0; k < d.n_entries; k++) {
                _cleanup_free_ char *line = NULL;
                char file_field[4096], line_field[32];
                char *fields[] = { file_field, line_field,
                                   "MESSAGE_ID=" SLUICE_MESSAGE_CONFIG_ERROR_STR, NULL };

                snprintf(file_field, sizeof(file_field), "CONFIG_FILE=%s", d.entries[k].file);
                snprintf(line_field, sizeof(line_field), "CONFIG_LINE=%u", d.entries[k].line);
                if (diag_format(&d.entries[k], &line) >= 0)
                        log_struct(d.entries[k].error ? LOG_ERR : LOG_WARNING, fields, "%s", line);
        }
        diag_done(&d);
        if (r > 0)
                log_error("Rejected %d pipeline file(s) with errors", r);
        if (r < 0 && r != -ENOENT)
                return r;
        for (size_t k = 0; k < *ret_n; k++)
                log_info("Loaded pipeline '%s' (%zu targets, %zu tasks)", (*ret)[k]->name,
                         (*ret)[k]->n_targets, (*ret)[k]->n_tasks);
        return 0;
}

void manager_start_targets(Manager *m, Pipeline *p) {
        for (size_t t = 0; t < p->n_targets; t++) {
                int r;

                /* Only inputs need watching: nothing waits for a target no task reads. */
                if (p->targets[t]->n_consumers == 0)
                        continue;
                r = target_start(p->targets[t], &m->host);
                if (r < 0)
                        log_error_errno(r, "Cannot watch target '%s' of pipeline '%s': %m",
                                        p->targets[t]->name, p->name);
        }
}

void manager_reconcile(Manager *m, Pipeline *p) {
        for (size_t t = 0; t < p->n_targets; t++)
                evaluate_rescan(&m->host, p->targets[t]);
}

static int connect_bus(Manager *m) {
        int r;

        r = m->user ? sd_bus_open_user(&m->bus) : sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the %s bus: %m%s",
                                       m->user ? "user" : "system",
                                       m->user ? " (is a user manager running? see "
                                                 "contrib/systemd-up)"
                                               : "");
        (void) sd_bus_set_description(m->bus, "sluiced");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        return executor_setup(m);
}

/* At start-up, whatever exists and is due runs without waiting for an event. */
static void reconcile(Manager *m) {
        usec_t begin = now_usec(CLOCK_MONOTONIC);

        for (size_t k = 0; k < m->n_pipelines; k++)
                manager_reconcile(m, m->pipelines[k]);
        log_info("Start-up scan done in %llu ms: %u instance(s) queued",
                 (unsigned long long) ((now_usec(CLOCK_MONOTONIC) - begin) / USEC_PER_MSEC),
                 m->n_queued);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        manager_reload(userdata);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_notice("Received SIG%s, exiting; running task units keep running",
                   sigabbrev_np((int) si->ssi_signo) ?: "?");
        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

int manager_startup(Manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");

        r = manager_load_pipelines(m, &m->pipelines, &m->n_pipelines, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to load pipelines from '%s': %m",
                                       m->pipelines_dir);
        if (m->n_pipelines == 0)
                log_warning("No pipelines to run in '%s'", m->pipelines_dir);
        r = scheduler_setup(m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the scheduler: %m");
        r = connect_bus(m);
        if (r < 0)
                return r;
        for (size_t k = 0; k < m->n_pipelines; k++)
                manager_start_targets(m, m->pipelines[k]);
        reconcile(m);
        return 0;
}

int manager_run(Manager *m) {
        (void) sd_notify(false, "READY=1");
        manager_notify_status(m);
        return sd_event_loop(m->event);
}
