/* SPDX-License-Identifier: MIT */
/*
 * The daemon's D-Bus API, on the bus it talks to systemd on (system, or user with --user):
 * what sluicectl uses, and anything else may (busctl introspect org.sluice.sluice1
 * /org/sluice/sluice1). Reading is open; changing anything (Run, Retry, RetryTask, Cancel,
 * ResetFailed, ResetFailedTask, Pause, Resume, Backfill, CancelBackfill, Reload) takes root, the daemon's own user or a member of sluiced.conf's
 * control_group. On the system bus the policy file (units/org.sluice.sluice1.conf) says the
 * same to the bus daemon. No property emits change signals: a client that wants live figures
 * asks again, and an idle daemon sends nothing.
 */
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backfill.h"
#include "bus-api.h"
#include "control.h"
#include "pause.h"
#include "demand.h"
#include "evaluate.h"
#include "log.h"
#include "sluice-config.h"
#include "util/strv.h"
#include "waiting.h"

#define ERROR_PREFIX SLUICE_BUS_INTERFACE "."

static int property_version(sd_bus *bus, const char *path, const char *interface,
                            const char *property, sd_bus_message *reply, void *userdata,
                            sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", SLUICE_VERSION);
}

static int property_config_dir(sd_bus *bus, const char *path, const char *interface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", m->config_dir);
}

/* The pipelines running the version before, their files having errors now (the last load's). */
static int property_stale(sd_bus *bus, const char *path, const char *interface,
                          const char *property, sd_bus_message *reply, void *userdata,
                          sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t k = 0; r >= 0 && k < m->n_pipelines; k++)
                if (strv_contains(m->rejected, m->pipelines[k]->file))
                        r = sd_bus_message_append(reply, "s", m->pipelines[k]->name);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_rejected(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *userdata,
                             sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append_strv(reply, m->rejected);
}

static int property_paused(sd_bus *bus, const char *path, const char *interface,
                           const char *property, sd_bus_message *reply, void *userdata,
                           sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append_strv(reply, m->paused);
}

/* The counters are unsigned in the Manager; the offset in userdata says which one. */
static int property_unsigned(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *userdata,
                             sd_bus_error *error) {
        return sd_bus_message_append(reply, "u", *(unsigned *) userdata);
}

static int property_ull(sd_bus *bus, const char *path, const char *interface,
                        const char *property, sd_bus_message *reply, void *userdata,
                        sd_bus_error *error) {
        return sd_bus_message_append(reply, "t", (uint64_t) *(unsigned long long *) userdata);
}

/*
 * The caller's groups as the bus says them (kdbus, a user bus), else as the group database
 * says them: sd-bus does not take UnixGroupIDs from dbus-daemon, and reading /proc of a PID
 * would race with its reuse.
 */
static bool in_group(sd_bus_creds *c, uid_t uid, const struct group *g) {
        const struct passwd *pw;
        const gid_t *gids;
        gid_t egid;
        int n;

        if (sd_bus_creds_get_egid(c, &egid) >= 0 && egid == g->gr_gid)
                return true;
        n = sd_bus_creds_get_supplementary_gids(c, &gids);
        for (int k = 0; k < n; k++)
                if (gids[k] == g->gr_gid)
                        return true;
        pw = getpwuid(uid);
        if (!pw)
                return false;
        if (pw->pw_gid == g->gr_gid)
                return true;
        for (char **mem = g->gr_mem; mem && *mem; mem++)
                if (streq(*mem, pw->pw_name))
                        return true;
        return false;
}

/*
 * Root, the daemon's own user, or a member of sluiced.conf's control_group; by default the
 * group "sluice", which the shipped sysusers.d file creates and the bus policy lets through.
 */
static int check_allowed(Manager *m, sd_bus_message *msg, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *c = NULL;
        const char *group = m->config.control_group ?: "sluice";
        const struct group *g;
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID |
                                                   SD_BUS_CREDS_SUPPLEMENTARY_GIDS, &c);
        if (r >= 0)
                r = sd_bus_creds_get_euid(c, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot tell who is asking: %m");
        if (uid == 0 || uid == geteuid())
                return 0;
        if ((g = getgrnam(group)) && in_group(c, uid, g))
                return 0;
        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                 "Only root and members of group %s may do this", group);
}

/* A refusal of control.c as a D-Bus error of this interface. */
static int bus_error(sd_bus_error *error, const ControlError *e) {
        char name[128];

        if (streq(e->name, CONTROL_INVALID_ARGS))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, e->message);
        (void) snprintf(name, sizeof(name), ERROR_PREFIX "%s", e->name);
        return sd_bus_error_set(error, name, e->message);
}

/* Reads (s task, as params) and resolves them; on failure error is set. */
static int read_instance(Manager *m, sd_bus_message *msg, sd_bus_error *error, Task **ret_task,
                         Binding **ret_binding, char **ret_unit, Instance **ret) {
        _cleanup_strv_free_ char **params = NULL;
        ControlError e = {};
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r >= 0)
                r = sd_bus_message_read_strv(msg, &params);
        if (r < 0)
                return r;
        r = control_resolve(m, name, params, &e, ret_task, ret_binding, ret_unit, ret);
        return r < 0 ? bus_error(error, &e) : 0;
}

static int append_instance(sd_bus_message *reply, Instance *i) {
        _cleanup_free_ char *params = NULL, *before = NULL;
        /* Its unit is gone, so `systemctl status` cannot say what it still waits for. */
        const char *reason = i->run && i->run->confirming
                                     ? "its unit ended; confirming its outputs with their servers"
                                     : strempty(i->reason);

        _cleanup_free_ char *paused = pause_reason(i->manager, i);

        if (paused)
                reason = paused;
        else if (i->state == INSTANCE_QUEUED && i->held)
                reason = i->held;
        /* A retry under way: the reason is its attempt before's, not its own. */
        if ((i->state == INSTANCE_STARTING || i->state == INSTANCE_RUNNING) && i->reason &&
            !(i->run && i->run->confirming) &&
            asprintf(&before, "attempt %u failed: %s", i->attempts > 1 ? i->attempts - 1 : 1,
                     i->reason) >= 0)
                reason = before;
        (void) task_params_to_string(i->task, i->binding, &params);
        return sd_bus_message_append(reply, "(sssssuts)", i->task->pipeline->name, i->task->name,
                                     strempty(params), instance_state_to_string(i->state), i->unit,
                                     i->attempts, (uint64_t) i->wake_realtime, reason);
}

/* An instance some of whose inputs are there and others not, as the waiting index knows it. */
static int append_waiting(Task *task, const char *unit, const Binding *b, const char *reason,
                          void *userdata) {
        _cleanup_free_ char *params = NULL;
        sd_bus_message *reply = userdata;

        (void) task_params_to_string(task, b, &params);
        return sd_bus_message_append(reply, "(sssssuts)", task->pipeline->name, task->name,
                                     strempty(params), "waiting", unit, 0, (uint64_t) 0, reason);
}

static int method_list_instances(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        Instance *i, *tmp;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sssssuts)");
        HASH_ITER(hh, m->instances, i, tmp) {
                if (r < 0)
                        break;
                r = append_instance(reply, i);
        }
        if (r >= 0)
                r = waiting_foreach_shown(m, NULL, append_waiting, reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_pipelines(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssu)");
        for (size_t k = 0; r >= 0 && k < m->n_pipelines; k++)
                r = sd_bus_message_append(reply, "(ssu)", m->pipelines[k]->name,
                                          m->pipelines[k]->file, (uint32_t) m->pipelines[k]->n_tasks);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int reply_steps(sd_bus_message *msg, const Demand *d) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(usss)");
        for (size_t k = 0; r >= 0 && k < d->n_steps; k++)
                r = sd_bus_message_append(reply, "(usss)", d->steps[k].depth, d->steps[k].kind,
                                          d->steps[k].subject, d->steps[k].detail);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Run(s task, as params, b force) and Why(s task, as params): the same walk, acting or not. */
static int demand(sd_bus_message *msg, Manager *m, bool act, sd_bus_error *error) {
        _cleanup_(binding_freep) Binding *b = NULL;
        _cleanup_free_ char *unit = NULL;
        _cleanup_(demand_done) Demand d = {};
        Instance *i;
        Task *task;
        int force = false, r;

        if (act) {
                r = check_allowed(m, msg, error);
                if (r < 0)
                        return r;
        }
        r = read_instance(m, msg, error, &task, &b, &unit, &i);
        if (r < 0)
                return r;
        if (act) {
                r = sd_bus_message_read(msg, "b", &force);
                if (r < 0)
                        return r;
        }
        r = demand_instance(m, task, b, act, force, &d);
        if (r < 0)
                return r;
        return reply_steps(msg, &d);
}

static int method_run(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return demand(msg, userdata, true, error);
}

static int method_why(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return demand(msg, userdata, false, error);
}

typedef enum Change {
        CHANGE_RETRY,
        CHANGE_CANCEL,
        CHANGE_RESET_FAILED,
} Change;

/* Retry, Cancel and ResetFailed(s task, as params) -> (s unit) */
static int change_instance(sd_bus_message *msg, Manager *m, Change c, sd_bus_error *error) {
        _cleanup_(binding_freep) Binding *b = NULL;
        _cleanup_free_ char *unit = NULL;
        ControlError e = {};
        Task *task;
        Instance *i;
        int r;

        r = check_allowed(m, msg, error);
        if (r < 0)
                return r;
        r = read_instance(m, msg, error, &task, &b, &unit, &i);
        if (r < 0)
                return r;
        r = c == CHANGE_RETRY  ? control_retry(m, task, b, unit, i, &e)
            : c == CHANGE_CANCEL ? control_cancel(m, unit, i, &e)
                                 : control_reset_failed(m, unit, i, &e);
        if (r < 0)
                return bus_error(error, &e);
        return sd_bus_reply_method_return(msg, "s", unit);
}

static int method_retry(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return change_instance(msg, userdata, CHANGE_RETRY, error);
}

static int method_cancel(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return change_instance(msg, userdata, CHANGE_CANCEL, error);
}

static int method_reset_failed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return change_instance(msg, userdata, CHANGE_RESET_FAILED, error);
}

/* RetryTask and ResetFailedTask(s task) -> (as done, a(ss) refused: unit, why): every failed
 * instance of the task (for a retry, every one waiting to retry too). */
static int change_task(sd_bus_message *msg, Manager *m, bool retry, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **done = NULL, **refused = NULL;
        ControlError e = {};
        const char *name;
        Task *task;
        int r;

        r = check_allowed(m, msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        task = control_find_task(m, name, &e);
        if (!task)
                return bus_error(error, &e);
        r = control_each_failed(m, task, retry, &done, &refused);
        if (r >= 0)
                r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, done);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ss)");
        for (char **u = refused; r >= 0 && u && u[0] && u[1]; u += 2)
                r = sd_bus_message_append(reply, "(ss)", u[0], u[1]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_retry_task(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return change_task(msg, userdata, true, error);
}

static int method_reset_failed_task(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return change_task(msg, userdata, false, error);
}

/* Pause and Resume(as pipelines) -> () */
static int pause_or_resume(sd_bus_message *msg, Manager *m, bool pause, sd_bus_error *error) {
        _cleanup_strv_free_ char **names = NULL;
        ControlError e = {};
        int r;

        r = check_allowed(m, msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(msg, &names);
        if (r < 0)
                return r;
        if (pause_set(m, names, pause, &e) < 0)
                return bus_error(error, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_pause(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return pause_or_resume(msg, userdata, true, error);
}

static int method_resume(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return pause_or_resume(msg, userdata, false, error);
}

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **kept = NULL;
        Manager *m = userdata;
        int r;

        r = check_allowed(m, msg, error);
        if (r < 0)
                return r;
        manager_reload(m, &kept);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "u", (uint32_t) m->n_pipelines);
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, kept);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* ListTargets() -> a(ssssuttuss): how every polled or scanned target is doing. */
static int method_list_targets(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssssuttuss)");
        for (size_t k = 0; r >= 0 && k < m->n_pipelines; k++)
                for (size_t j = 0; r >= 0 && j < m->pipelines[k]->n_targets; j++) {
                        Target *t = m->pipelines[k]->targets[j];
                        TargetStatus st;

                        if (!t->kind->status || !t->host || t->kind->status(t, &st) <= 0)
                                continue;
                        r = sd_bus_message_append(reply, "(ssssuttuss)", m->pipelines[k]->name,
                                                  t->name, t->kind->name, t->template->text,
                                                  st.objects, (uint64_t) st.last_ok_realtime,
                                                  (uint64_t) st.next_poll_realtime,
                                                  st.failures, strempty(st.error),
                                                  strempty(st.scanned));
                }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

typedef struct HeldReply {
        sd_bus_message *reply;
        const Target *target;
} HeldReply;

static int append_held(const char *location, const char *why, void *userdata) {
        HeldReply *h = userdata;

        return sd_bus_message_append(h->reply, "(ssss)", h->target->pipeline->name,
                                     h->target->name, location, why);
}

/* ListHeld() -> a(ssss): objects there that do not count yet, as only the daemon knows. */
static int method_list_held(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssss)");
        for (size_t k = 0; r >= 0 && k < m->n_pipelines; k++)
                for (size_t j = 0; r >= 0 && j < m->pipelines[k]->n_targets; j++) {
                        Target *t = m->pipelines[k]->targets[j];

                        if (t->kind->foreach_held && t->host)
                                r = t->kind->foreach_held(t, append_held,
                                                          &(HeldReply){ reply, t });
                }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int append_object(Target *t, const Binding *b, void *userdata) {
        _cleanup_free_ char *location = NULL;
        int r = template_format(t->template, b, &location);

        return r < 0 ? r : sd_bus_message_append(userdata, "s", location);
}

/* ListObjects(s pipeline, s target) -> as: what a polled target knows to exist, which only the
 * daemon can say (a look at the server would be a poll of its own). */
static int method_list_objects(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *pipeline, *name;
        Manager *m = userdata;
        TargetStatus st;
        Pipeline *p;
        Target *t;
        int r;

        r = sd_bus_message_read(msg, "ss", &pipeline, &name);
        if (r < 0)
                return r;
        p = manager_find_pipeline(m, pipeline);
        t = p ? pipeline_find_target(p, name) : NULL;
        if (!t || !t->kind->status || !t->host || !t->kind->scan ||
            t->kind->status(t, &st) <= 0 || st.scanned)
                return sd_bus_error_setf(error, ERROR_PREFIX "NoSuchTarget",
                                         "No polled target '%s' in pipeline '%s'", name, pipeline);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "s");
        if (r >= 0)
                r = t->kind->scan(t, append_object, reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Backfill(s task, as params, s from, s to, b force) -> (u id, u total) */
static int method_backfill(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **params = NULL;
        _cleanup_free_ char *problems = NULL;
        const char *name, *from, *to;
        Manager *m = userdata;
        ControlError e = {};
        Backfill *bf;
        Task *task;
        int force, r;

        r = check_allowed(m, msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "s", &name);
        if (r >= 0)
                r = sd_bus_message_read_strv(msg, &params);
        if (r >= 0)
                r = sd_bus_message_read(msg, "ssb", &from, &to, &force);
        if (r < 0)
                return r;
        task = control_find_task(m, name, &e);
        if (!task)
                return bus_error(error, &e);
        r = backfill_start(m, task, params, from, to, force, &bf, &problems);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s", problems);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "uu", bf->id, (uint32_t) bf->n_units);
}

static int method_list_backfills(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(usssssttuuuuuuuuu)");
        for (Backfill *bf = m->backfills; r >= 0 && bf; bf = bf->next) {
                BackfillProgress p;

                backfill_progress(m, bf, &p);
                r = sd_bus_message_append(reply, "(usssssttuuuuuuuuu)", bf->id, bf->pipeline,
                                          bf->task, bf->param, bf->from, bf->to,
                                          (uint64_t) bf->started_realtime,
                                          (uint64_t) bf->finished_realtime, p.total, p.complete,
                                          p.queued, p.running, p.retrying, p.failed, p.waiting,
                                          p.upstream, p.cancelled);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_cancel_backfill(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Backfill *bf;
        uint32_t id;
        int r;

        r = check_allowed(m, msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "u", &id);
        if (r < 0)
                return r;
        bf = backfill_find(m, id);
        if (!bf)
                return sd_bus_error_setf(error, ERROR_PREFIX "NoSuchBackfill", "No backfill %u",
                                         id);
        /* Ended: nothing of it runs or waits in the queue, and what it came to stays as it is. */
        BackfillProgress p;
        backfill_progress(m, bf, &p);
        if (p.finished)
                return sd_bus_error_setf(error, ERROR_PREFIX "BackfillFinished",
                                         "Backfill %u is %s: nothing to cancel", id,
                                         bf->cancelled ? "cancelled already" : "finished");
        return sd_bus_reply_method_return(msg, "u", backfill_cancel(m, bf));
}

/*
 * On the system bus sd-bus lets only privileged callers reach a method unless it is marked
 * unprivileged; every method is, since reading is open to all and check_allowed() decides who
 * may change anything (the control group included, which sd-bus knows nothing of).
 */
#define ACCESS SD_BUS_VTABLE_UNPRIVILEGED

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ConfigDirectory", "s", property_config_dir, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("StalePipelines", "as", property_stale, 0, 0),
        SD_BUS_PROPERTY("RejectedFiles", "as", property_rejected, 0, 0),
        SD_BUS_PROPERTY("PausedPipelines", "as", property_paused, 0, 0),
        SD_BUS_PROPERTY("Running", "u", property_unsigned, offsetof(Manager, n_active), 0),
        SD_BUS_PROPERTY("Starting", "u", property_unsigned, offsetof(Manager, n_starting), 0),
        SD_BUS_PROPERTY("Queued", "u", property_unsigned, offsetof(Manager, n_queued), 0),
        SD_BUS_PROPERTY("Retrying", "u", property_unsigned, offsetof(Manager, n_retrying), 0),
        SD_BUS_PROPERTY("Failed", "u", property_unsigned, offsetof(Manager, n_failed), 0),
        SD_BUS_PROPERTY("RunsSucceeded", "t", property_ull, offsetof(Manager, n_runs_ok), 0),
        SD_BUS_PROPERTY("RunsFailed", "t", property_ull, offsetof(Manager, n_runs_failed), 0),
        SD_BUS_METHOD_WITH_ARGS("ListPipelines", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssu)", pipelines), method_list_pipelines, ACCESS),
        SD_BUS_METHOD_WITH_ARGS("ListInstances", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(sssssuts)", instances), method_list_instances,
                                ACCESS),
        SD_BUS_METHOD_WITH_ARGS("Run", SD_BUS_ARGS("s", task, "as", params, "b", force),
                                SD_BUS_RESULT("a(usss)", steps), method_run, ACCESS),
        SD_BUS_METHOD_WITH_ARGS("Why", SD_BUS_ARGS("s", task, "as", params),
                                SD_BUS_RESULT("a(usss)", steps), method_why, ACCESS),
        SD_BUS_METHOD_WITH_ARGS("Retry", SD_BUS_ARGS("s", task, "as", params),
                                SD_BUS_RESULT("s", unit), method_retry, ACCESS),
        SD_BUS_METHOD_WITH_ARGS("Cancel", SD_BUS_ARGS("s", task, "as", params),
                                SD_BUS_RESULT("s", unit), method_cancel, ACCESS),
        SD_BUS_METHOD_WITH_ARGS("ResetFailed", SD_BUS_ARGS("s", task, "as", params),
                                SD_BUS_RESULT("s", unit), method_reset_failed, ACCESS),
        SD_BUS_METHOD_WITH_ARGS("Pause", SD_BUS_ARGS("as", pipelines), SD_BUS_NO_RESULT,
                                method_pause, ACCESS),
        SD_BUS_METHOD_WITH_ARGS("Resume", SD_BUS_ARGS("as", pipelines), SD_BUS_NO_RESULT,
                                method_resume, ACCESS),
        SD_BUS_METHOD_WITH_ARGS("RetryTask", SD_BUS_ARGS("s", task),
                                SD_BUS_RESULT("as", units, "a(ss)", refused), method_retry_task,
                                ACCESS),
        SD_BUS_METHOD_WITH_ARGS("ResetFailedTask", SD_BUS_ARGS("s", task),
                                SD_BUS_RESULT("as", units, "a(ss)", refused),
                                method_reset_failed_task, ACCESS),
        SD_BUS_METHOD_WITH_ARGS("Backfill", SD_BUS_ARGS("s", task, "as", params, "s", from,
                                                        "s", to, "b", force),
                                SD_BUS_RESULT("u", id, "u", instances), method_backfill,
                                ACCESS),
        SD_BUS_METHOD_WITH_ARGS("ListBackfills", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(usssssttuuuuuuuuu)", backfills),
                                method_list_backfills, ACCESS),
        SD_BUS_METHOD_WITH_ARGS("CancelBackfill", SD_BUS_ARGS("u", id),
                                SD_BUS_RESULT("u", stopped), method_cancel_backfill,
                                ACCESS),
        SD_BUS_METHOD_WITH_ARGS("ListTargets", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssssuttuss)", targets), method_list_targets,
                                ACCESS),
        SD_BUS_METHOD_WITH_ARGS("ListHeld", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssss)", objects), method_list_held, ACCESS),
        SD_BUS_METHOD_WITH_ARGS("ListObjects", SD_BUS_ARGS("s", pipeline, "s", target),
                                SD_BUS_RESULT("as", locations), method_list_objects, ACCESS),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("u", pipelines, "as", kept), method_reload,
                                ACCESS),
        SD_BUS_VTABLE_END,
};

int bus_api_attach(Manager *m, bool at_start) {
        int r;

        /* The offsets in the vtable are relative to this. */
        r = sd_bus_add_object_vtable(m->bus, NULL, SLUICE_BUS_PATH, SLUICE_BUS_INTERFACE,
                                     manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Cannot publish the D-Bus API: %m");
        /* Another sluiced has the name: it runs these pipelines already, most likely (one
         * started by hand beside the service), and two daemons would run every task twice. */
        r = sd_bus_request_name(m->bus, m->bus_name, 0);
        if (r == -EEXIST && at_start)
                return log_error_errno(r, "Another sluiced runs with the bus name %s on the %s bus; "
                                          "not starting a second one, which would run the same "
                                          "tasks again (stop it, or give this one --bus-name)",
                                       m->bus_name, m->user ? "user" : "system");
        /* Without the name otherwise (the system bus policy is not installed, or another
         * daemon took it while the bus was away) the daemon still runs; only sluicectl cannot
         * reach it. */
        if (r < 0)
                log_warning_errno(r, "Cannot take the bus name %s%s: %m; sluicectl cannot reach "
                                     "this daemon", m->bus_name,
                                  r == -EEXIST ? " (another sluiced has it)"
                                  : m->user    ? ""
                                               : " (is units/org.sluice.sluice1.conf installed?)");
        return 0;
}
