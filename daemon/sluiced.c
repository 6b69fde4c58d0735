/* SPDX-License-Identifier: MIT */
/* sluiced: options, then the manager's loop; nothing else. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "log.h"
#include "manager.h"
#include "sluice-config.h"

static BusScope arg_scope = BUS_SCOPE_UNSET;
static const char *arg_config_dir = SLUICE_CONFIG_DIR;
static const char *arg_state_dir = NULL;
static unsigned arg_max_parallel = 0;
static const char *arg_bus_name = NULL;

static void help(void) {
        printf("Usage: sluiced [OPTIONS]\n\n"
               "Watch pipeline inputs and run ready tasks as transient systemd units.\n\n"
               "  -h --help                 Show this help\n"
               "     --version              Show the version\n"
               "     --user                 Use the user manager on the user bus\n"
               "     --system               Use the system manager (the default, unless\n"
               "                            sluiced.conf says scope = \"user\")\n"
               "  -C --config-dir=DIR       Read DIR/sluiced.conf and DIR/pipelines.d/*.conf\n"
               "                            (default %s)\n"
               "  -S --state-dir=DIR        Keep run records and instance marks in DIR\n"
               "  -j --max-parallel=N       Run at most N task units at once (default 16)\n"
               "     --bus-name=NAME        Take NAME for the D-Bus API instead of\n"
               "                            org.sluice.sluice1 (several daemons on one bus)\n"
               "\nSee sluiced(8).\n",
               SLUICE_CONFIG_DIR);
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_USER, ARG_SYSTEM, ARG_BUS_NAME };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "user", no_argument, NULL, ARG_USER },
                { "system", no_argument, NULL, ARG_SYSTEM },
                { "config-dir", required_argument, NULL, 'C' },
                { "state-dir", required_argument, NULL, 'S' },
                { "max-parallel", required_argument, NULL, 'j' },
                { "bus-name", required_argument, NULL, ARG_BUS_NAME },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "hC:S:j:", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("sluiced %s\n", SLUICE_VERSION);
                        return 0;
                case ARG_USER:
                        arg_scope = BUS_SCOPE_USER;
                        break;
                case ARG_SYSTEM:
                        arg_scope = BUS_SCOPE_SYSTEM;
                        break;
                case 'C':
                        arg_config_dir = optarg;
                        break;
                case ARG_BUS_NAME:
                        if (!sd_bus_service_name_is_valid(optarg) || optarg[0] == ':') {
                                fprintf(stderr, "--bus-name: '%s' is not a valid bus name\n",
                                        optarg);
                                return -EINVAL;
                        }
                        arg_bus_name = optarg;
                        break;
                case 'S':
                        if (optarg[0] != '/') {
                                fprintf(stderr, "--state-dir: '%s' is not an absolute path\n",
                                        optarg);
                                return -EINVAL;
                        }
                        arg_state_dir = optarg;
                        break;
                case 'j': {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (*end || v == 0 || v > 100000) {
                                fprintf(stderr, "--max-parallel: '%s' is not a number from 1 to "
                                                "100000\n", optarg);
                                return -EINVAL;
                        }
                        arg_max_parallel = (unsigned) v;
                        break;
                }
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "sluiced takes no arguments, only options (see --help)\n");
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        log_setup(LOG_TARGET_AUTO, "sluiced");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        r = manager_new(&(ManagerOptions){ .scope = arg_scope, .config_dir = arg_config_dir,
                                           .state_dir = arg_state_dir,
                                           .bus_name = arg_bus_name,
                                           .max_parallel = arg_max_parallel },
                        &m);
        if (r < 0)
                return EXIT_FAILURE;
        r = manager_startup(m);
        if (r < 0)
                return EXIT_FAILURE;
        r = manager_run(m);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
