/* SPDX-License-Identifier: MIT */
/* The properties of a task's transient unit, as StartTransientUnit takes them */
#pragma once

#include <systemd/sd-bus.h>

#include "graph.h"

/* The systemd manager on the bus. */
#define SYSTEMD_DEST "org.freedesktop.systemd1"
#define UNIT_PATH_PREFIX "/org/freedesktop/systemd1/unit"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"

typedef struct UnitSpec {
        const char *description;
        const char *slice;
        const char *syslog_identifier;
        char * const *argv;
        char * const *environment;
        char * const *log_fields;       /* LogExtraFields=, "KEY=value" */
        Limits limits;
        const char *user, *group;
        bool dynamic_user;
        const char *supplementary_group;        /* SupplementaryGroups= */
        const char *working_directory;
        bool sandbox;
        char * const *writable;         /* ReadWritePaths= under the sandbox */
        char * const *stop_post;        /* ExecStopPost= argv, run privileged, failure ignored */
        char * const *on_failure;       /* OnFailure= units */
} UnitSpec;

/* A command sluice-result runs: when an argument would not survive systemd 252's transient unit
 * file (daemon-reload), replaced by "--hex BLOB", which sluice-result decodes. */
int unit_props_encode_command(char ***argv);

/* Appends the (sv) entries of the property array; the caller opened the a(sv) container. */
int unit_props_append(sd_bus_message *m, const UnitSpec *s);

/* Properties of a slice with aggregate limits, for a pipeline. */
int unit_props_append_slice(sd_bus_message *m, const char *description, const Limits *l);
