/* SPDX-License-Identifier: MIT */
/*
 * Building the property array of a task's unit. Only properties that are set go into the
 * message, so systemd's defaults (and the slice's) apply to everything a pipeline leaves alone.
 * Signatures are systemd's D-Bus API as of v252.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit-props.h"
#include "util/strv.h"

static int open_property(sd_bus_message *m, const char *name, const char *signature) {
        int r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", name);
        if (r < 0)
                return r;
        return sd_bus_message_open_container(m, 'v', signature);
}

static int close_containers(sd_bus_message *m, int n) {
        for (int k = 0; k < n; k++) {
                int r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int append_strv(sd_bus_message *m, const char *name, char * const *l) {
        int r;

        r = open_property(m, name, "as");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(m, (char **) l);
        if (r < 0)
                return r;
        return close_containers(m, 2);
}

/*
 * systemd 252 writes an ExecStart= argument holding ';', '$' or '\\' into the transient unit
 * file escaped in a way its own parser does not undo ("a;b" comes back as "a\\;b"), so after a
 * daemon-reload a unit not yet started runs another command than the one asked for: a shell
 * one-liner breaks, and worse is possible. Such a command travels as hex, NUL-separated, which
 * survives anything; sluice-result turns it back. Commands of plain characters stay readable in
 * systemctl status. Checked by a real daemon-reload in test-control.
 */
static bool survives_unit_file(const char *a) {
        for (const unsigned char *c = (const unsigned char *) a; *c; c++)
                if (!(isalnum(*c) || strchr("/._+=:@,%{}^~ -", *c)))
                        return false;
        return true;
}

int unit_props_encode_command(char ***argv) {
        static const char digits[] = "0123456789abcdef";
        _cleanup_free_ char *hex = NULL;
        bool plain = true;
        size_t n = 0;
        char *p, **l;

        STRV_FOREACH(a, *argv)
                plain = plain && survives_unit_file(*a);
        if (plain)
                return 0;
        STRV_FOREACH(a, *argv)
                n += 2 * (strlen(*a) + 1);
        p = hex = malloc(n + 1);
        if (!hex)
                return -ENOMEM;
        STRV_FOREACH(a, *argv) {
                for (const unsigned char *c = (const unsigned char *) *a;; c++) {
                        *p++ = digits[*c >> 4];
                        *p++ = digits[*c & 15];
                        if (!*c)
                                break;
                }
        }
        *p = 0;
        l = NULL;
        if (strv_extend(&l, "--hex") < 0 || strv_consume(&l, TAKE_PTR(hex)) < 0) {
                strv_free(l);
                return -ENOMEM;
        }
        strv_free(*argv);
        *argv = l;
        return 0;
}

/*
 * ExecStart= (and ExecStopPost=) as a(sasb): path, argv, ignore-failure. Not ExecStartEx= with
 * "no-env-expand": systemd 252 writes that into the transient unit file as ExecStartEx=, a key
 * its own unit file parser does not know, so after any daemon-reload every running task's unit
 * showed "bad-setting". Without the flag systemd expands ${VAR} (and a lone $VAR) in argv when it
 * executes it, and reads "$$" as "$": every "$" is doubled, so a file named "a$HOME.log"
 * reaches the task under that name.
 */
static int append_exec(sd_bus_message *m, const char *property, char * const *argv,
                       bool ignore_failure) {
        _cleanup_strv_free_ char **escaped = NULL;
        int r;

        STRV_FOREACH(a, argv) {
                _cleanup_free_ char *e = malloc(strlen(*a) * 2 + 1);
                char *p;

                if (!e)
                        return -ENOMEM;
                p = e;
                for (const char *c = *a; *c; c++) {
                        if (*c == '$')
                                *p++ = '$';
                        *p++ = *c;
                }
                *p = 0;
                r = strv_consume(&escaped, TAKE_PTR(e));
                if (r < 0)
                        return r;
        }
        r = open_property(m, property, "a(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sasb");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[0]);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, escaped);
        if (r >= 0)
                r = sd_bus_message_append(m, "b", ignore_failure);
        if (r < 0)
                return r;
        return close_containers(m, 4);
}

/* LogExtraFields= is an array of byte arrays (aay), not of strings. */
static int append_log_fields(sd_bus_message *m, char * const *l) {
        int r;

        r = open_property(m, "LogExtraFields", "aay");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "ay");
        if (r < 0)
                return r;
        STRV_FOREACH(f, l) {
                r = sd_bus_message_append_array(m, 'y', *f, strlen(*f));
                if (r < 0)
                        return r;
        }
        return close_containers(m, 3);
}

/* The limits set; with reset, every one unset too, at systemd's default for it, so that a
 * limit removed from a pipeline's file is removed from its slice as well. */
static int append_limits(sd_bus_message *m, const Limits *l, bool reset) {
        const uint64_t unset = UINT64_MAX;      /* infinity, or for a weight: none */
        int r = 0;

        if (reset || l->memory_max != UINT64_MAX)
                r = sd_bus_message_append(m, "(sv)", "MemoryMax", "t", l->memory_max);
        if (r >= 0 && (reset || l->memory_high != UINT64_MAX))
                r = sd_bus_message_append(m, "(sv)", "MemoryHigh", "t", l->memory_high);
        if (r >= 0 && (reset || l->cpu_quota_permille > 0))
                r = sd_bus_message_append(m, "(sv)", "CPUQuotaPerSecUSec", "t",
                                          l->cpu_quota_permille > 0 ?
                                          (uint64_t) l->cpu_quota_permille * 1000 : unset);
        if (r >= 0 && (reset || l->cpu_weight > 0))
                r = sd_bus_message_append(m, "(sv)", "CPUWeight", "t",
                                          l->cpu_weight > 0 ? l->cpu_weight : unset);
        if (r >= 0 && (reset || l->io_weight > 0))
                r = sd_bus_message_append(m, "(sv)", "IOWeight", "t",
                                          l->io_weight > 0 ? l->io_weight : unset);
        if (r >= 0 && (reset || l->tasks_max != UINT64_MAX))
                r = sd_bus_message_append(m, "(sv)", "TasksMax", "t", l->tasks_max);
        return r;
}

int unit_props_append(sd_bus_message *m, const UnitSpec *s) {
        const Limits *l = &s->limits;
        int r;

        /* No CPUAccounting=: under cgroup v1 it costs every start 5-20 ms (bench/RESULTS.md);
         * where it is cheap (cgroup v2) systemd turns it on by default anyway. */
        r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)",
                                  "Description", "s", s->description,
                                  "Type", "s", "exec",
                                  /* A successful unit is collected, a failed one stays for
                                   * `systemctl --failed`; its result is in the state directory
                                   * either way (sluice-result). */
                                  "CollectMode", "s", "inactive",
                                  "StandardOutput", "s", "journal",
                                  "StandardError", "s", "journal",
                                  "SyslogIdentifier", "s", s->syslog_identifier);
        if (r >= 0 && s->slice)
                r = sd_bus_message_append(m, "(sv)", "Slice", "s", s->slice);
        if (r >= 0)
                r = append_limits(m, l, false);
        if (r >= 0 && l->runtime_max != USEC_INFINITY)
                r = sd_bus_message_append(m, "(sv)", "RuntimeMaxUSec", "t", l->runtime_max);
        if (r >= 0 && l->nice_set)
                r = sd_bus_message_append(m, "(sv)", "Nice", "i", (int32_t) l->nice);
        if (r >= 0 && s->user)
                r = sd_bus_message_append(m, "(sv)", "User", "s", s->user);
        if (r >= 0 && s->group)
                r = sd_bus_message_append(m, "(sv)", "Group", "s", s->group);
        if (r >= 0 && s->dynamic_user)
                r = sd_bus_message_append(m, "(sv)", "DynamicUser", "b", 1);
        if (r >= 0 && s->supplementary_group)
                r = append_strv(m, "SupplementaryGroups",
                                STRV_MAKE(s->supplementary_group));
        if (r >= 0 && s->working_directory)
                r = sd_bus_message_append(m, "(sv)", "WorkingDirectory", "s",
                                          s->working_directory);
        if (r >= 0 && s->sandbox)
                /* Read-only everywhere but the directories the run writes its outputs in. */
                r = sd_bus_message_append(m, "(sv)(sv)(sv)", "ProtectSystem", "s", "strict",
                                          "PrivateTmp", "b", 1, "NoNewPrivileges", "b", 1);
        /* DynamicUser= implies ProtectSystem=strict: its outputs must be made writable too. */
        if (r >= 0 && (s->sandbox || s->dynamic_user))
                r = append_strv(m, "ReadWritePaths", s->writable);
        if (r < 0)
                return r;
        r = append_strv(m, "Environment", s->environment);
        if (r < 0)
                return r;
        if (s->log_fields)
                r = append_log_fields(m, s->log_fields);
        if (r >= 0 && s->on_failure)
                r = append_strv(m, "OnFailure", s->on_failure);
        if (r < 0)
                return r;
        if (s->stop_post) {
                /* Outside the task's user and sandbox, so it can write the daemon's state
                 * directory, and its failure is not the task's. Not ExecStopPostEx= with
                 * "privileged": after a daemon-reload systemd 252 dropped that key (see
                 * append_exec), and the run's result with it. PermissionsStartOnly= (said to
                 * be deprecated, and kept by systemd) gives every command but ExecStart=
                 * what "+" gives one, and ExecStopPost= is the only other command. */
                r = sd_bus_message_append(m, "(sv)", "PermissionsStartOnly", "b", 1);
                if (r >= 0)
                        r = append_exec(m, "ExecStopPost", s->stop_post, true);
                if (r < 0)
                        return r;
        }
        return append_exec(m, "ExecStart", s->argv, false);
}

int unit_props_append_slice(sd_bus_message *m, const char *description, const Limits *l) {
        int r;

        r = sd_bus_message_append(m, "(sv)", "Description", "s", description);
        if (r < 0)
                return r;
        if (l->memory_max != UINT64_MAX || l->memory_high != UINT64_MAX)
                r = sd_bus_message_append(m, "(sv)", "MemoryAccounting", "b", 1);
        if (r >= 0)
                r = append_limits(m, l, true);
        return r;
}
