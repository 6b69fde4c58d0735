/* SPDX-License-Identifier: MIT */
/* sluicectl: options and verb dispatch; the verbs live in ctl/ */
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sluice-config.h"
#include "util/escape.h"
#include "util/macro.h"
#include "util/strv.h"
#include "verbs.h"

static CtlOptions arg_options = { .config_dir = SLUICE_CONFIG_DIR };

static void help(void) {
        printf("Usage: sluicectl [OPTIONS] COMMAND ...\n\n"
               "Control and inspect sluiced.\n\n"
               "Commands (through the running daemon):\n"
               "  status                    Counts of running, queued, retrying and failed\n"
               "                            instances, the pipelines, the next retries and\n"
               "                            the backfills in progress\n"
               "  list [--state STATE]      Instances the daemon is acting on\n"
               "  run TASK -p NAME=VALUE... Run that instance now, and what it needs\n"
               "                            (--force: even when its outputs exist)\n"
               "  why TASK -p NAME=VALUE... Why that instance has or has not run\n"
               "  show TASK -p NAME=VALUE...\n"
               "                            Its unit, state, inputs and runs\n"
               "  retry TASK [-p NAME=VALUE...]\n"
               "                            Run a failed instance again now (without -p: all\n"
               "                            of the task's)\n"
               "  cancel TASK -p NAME=VALUE...\n"
               "                            Stop a run, drop a queued one, end a retry series\n"
               "  reset-failed TASK [-p NAME=VALUE...]\n"
               "                            Forget a failed instance's failure (without -p:\n"
               "                            all of the task's)\n"
               "  backfill TASK --from A --to B [-p NAME=VALUE...]\n"
               "                            Every instance over a range of its time parameter,\n"
               "                            behind live runs; shows progress until finished\n"
               "  backfill [--cancel ID]    List backfills, or cancel one\n"
               "  pause PIPELINE...         Start nothing of them until resumed\n"
               "  resume PIPELINE...        Start what waits for them\n"
               "  reload                    Validate and reload the pipeline files\n\n"
               "Commands (from the journal):\n"
               "  history [TASK [-p NAME=VALUE...]] [--since WHEN]\n"
               "                            Past runs: result, duration, CPU, peak memory\n"
               "  logs TASK -p NAME=VALUE... [-f]\n"
               "                            What that instance's runs wrote; -f follows\n\n"
               "Commands (no daemon needed):\n"
               "  check [FILE...]           Validate pipeline files without a daemon (default:\n"
               "                            every file in CONFIG_DIR/pipelines.d)\n"
               "  graph TASK -p NAME=VALUE...\n"
               "                            The dependency tree of one task instance, with\n"
               "                            which inputs exist and which are missing\n"
               "  graph --dot               Every pipeline as a Graphviz graph\n\n"
               "Options:\n"
               "  -h --help                 Show this help\n"
               "     --version              Show the version\n"
               "     --user                 Talk to the daemon on the user bus\n"
               "  -C --config-dir=DIR       Configuration directory (default %s)\n"
               "  -q --quiet                Print only problems\n"
               "  -p --param=NAME=VALUE     A parameter of the task instance (repeatable)\n"
               "  -a --all                  graph: expand complete instances too\n"
               "     --dot                  graph: Graphviz output\n"
               "     --json                 Machine-readable output\n"
               "     --state=STATE          list: only waiting, queued, starting, running,\n"
               "                            retrying or failed\n"
               "     --force                run, backfill: even when the outputs exist (replaced\n"
               "                            atomically)\n"
               "     --from=VALUE --to=VALUE\n"
               "                            backfill: the range, both ends included\n"
               "     --no-wait              backfill: start it and return\n"
               "     --cancel=ID            backfill: stop that backfill's runs\n"
               "     --since=WHEN           history: from WHEN (2026-11-27[ 06:00], or 2h, 3d ago)\n"
               "  -f --follow               logs: keep printing new lines\n"
               "\nExit status: 0 done, 1 refused or failed, 2 usage error, 3 no daemon.\n"
               "\nSee sluicectl(1).\n",
               SLUICE_CONFIG_DIR);
}

static const struct {
        const char *name;
        int (*run)(const CtlOptions *o, int argc, char *argv[]);
        const char *usage;      /* for `sluicectl VERB --help` */
        bool files;             /* reads the pipeline files: the daemon's, without -C */
} verbs[] = {
        { "check", verb_check, "check [-q] [-C DIR] [FILE...]\n"
          "Validate pipeline files (default: DIR/pipelines.d/*.conf) and sluiced.conf, without a\n"
          "daemon; every problem as file:line: message.", true },
        { "graph", verb_graph, "graph [-a] [-C DIR] TASK -p NAME=VALUE...  |  graph --dot\n"
          "The dependency tree of one task instance from the files that exist now, or every\n"
          "pipeline as a Graphviz graph.", true },
        { "status", verb_status, "status [--user] [--json]\n"
          "Counts of running, queued, retrying and failed instances, the pipelines, the five\n"
          "soonest retries, and the backfills in progress." },
        { "list", verb_list, "list [--user] [--json] [--state waiting|queued|starting|running|retrying|failed]\n"
          "The instances the daemon is acting on or waiting to (complete ones are not listed)." },
        { "run", verb_run, "run [--user] [--json] [--force] TASK -p NAME=VALUE...\n"
          "Queue that instance now, and every upstream instance it needs whose inputs exist;\n"
          "--force runs it even when its outputs exist." },
        { "why", verb_why, "why [--user] [--json] TASK -p NAME=VALUE...\n"
          "Why that instance has or has not run, upstream included; changes nothing." },
        { "show", verb_show, "show [--user] [--json] [-C DIR] TASK -p NAME=VALUE...\n"
          "That instance: its unit, its state and inputs (as why says), and its runs.", true },
        { "retry", verb_retry, "retry [--user] [--json] TASK [-p NAME=VALUE...]\n"
          "Run a failed instance (or one waiting to retry) again now, as a new series;\n"
          "without -p, every failed instance of the task." },
        { "cancel", verb_cancel, "cancel [--user] [--json] TASK -p NAME=VALUE...\n"
          "Stop its unit (failed, not retried), drop it from the queue, or end its retries." },
        { "reset-failed", verb_reset_failed, "reset-failed [--user] [--json] TASK [-p NAME=VALUE...]\n"
          "Forget that a failed instance failed, as systemctl reset-failed does a unit's: it is\n"
          "no longer listed or counted, and its files decide, as for one that never ran (an\n"
          "input arriving, a start-up scan or run starts it if its inputs are there). For an\n"
          "instance that cannot run again, its input gone. Without -p, every failed instance\n"
          "of the task." },
        { "backfill", verb_backfill, "backfill [--user] [--json] [--force] [--no-wait] TASK --from A --to B [-p NAME=VALUE...]\n"
          "       sluicectl backfill [--user] [--json] [--cancel ID]\n"
          "Run every instance of TASK whose time parameter lies in A..B (both included; the other\n"
          "parameters given with -p), with what each needs, behind live runs, on at most half\n"
          "the slots, in the pipeline's backfill slice. Shows progress until it is finished;\n"
          "exit status 1 when an instance failed or waits for inputs. Without TASK: the\n"
          "backfills and their progress; --cancel stops one." },
        { "pause", verb_pause, "pause [--user] PIPELINE...\n"
          "Start nothing of these pipelines until they are resumed, across restarts: runs under\n"
          "way go on, inputs are still watched, and what becomes due is queued." },
        { "resume", verb_resume, "resume [--user] PIPELINE...\n"
          "Start what is queued for paused pipelines, and whatever becomes due." },
        { "reload", verb_reload, "reload [--user] [-C DIR]\n"
          "Validate the pipeline files, then have the daemon reload them; a file with errors\n"
          "keeps its running version (exit status 1)." },
        { "history", verb_history, "history [-C DIR] [--json] [TASK [-p NAME=VALUE...]] [--since WHEN]\n"
          "Past runs from the journal: result, duration, CPU, peak memory, memory limit.", true },
        { "logs", verb_logs, "logs [-C DIR] TASK -p NAME=VALUE... [-f]\n"
          "What that instance's runs wrote, from the journal; -f follows.", true },
};

/* `sluicectl VERB --help`: that verb's usage; 0 when VERB is none. */
static int verb_help(const char *name) {
        for (size_t k = 0; name && k < ELEMENTSOF(verbs); k++)
                if (streq(name, verbs[k].name)) {
                        printf("Usage: sluicectl %s\n\nSee sluicectl(1).\n", verbs[k].usage);
                        return 1;
                }
        return 0;
}

int main(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_USER, ARG_DOT, ARG_JSON, ARG_STATE, ARG_FORCE,
               ARG_SINCE, ARG_FROM, ARG_TO, ARG_NO_WAIT, ARG_CANCEL };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "user", no_argument, NULL, ARG_USER },
                { "config-dir", required_argument, NULL, 'C' },
                { "quiet", no_argument, NULL, 'q' },
                { "param", required_argument, NULL, 'p' },
                { "all", no_argument, NULL, 'a' },
                { "dot", no_argument, NULL, ARG_DOT },
                { "json", no_argument, NULL, ARG_JSON },
                { "state", required_argument, NULL, ARG_STATE },
                { "force", no_argument, NULL, ARG_FORCE },
                { "since", required_argument, NULL, ARG_SINCE },
                { "follow", no_argument, NULL, 'f' },
                { "from", required_argument, NULL, ARG_FROM },
                { "to", required_argument, NULL, ARG_TO },
                { "no-wait", no_argument, NULL, ARG_NO_WAIT },
                { "cancel", required_argument, NULL, ARG_CANCEL },
                {}
        };
        bool want_help = false;
        int c, r;

        (void) setlocale(LC_ALL, "");
        log_setup(LOG_TARGET_STDERR, "sluicectl");
        /* Options may come before or after the verb: "sluicectl check -q x.conf". */
        while ((c = getopt_long(argc, argv, "hC:qp:af", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        want_help = true;
                        break;
                case ARG_VERSION:
                        printf("sluicectl %s\n", SLUICE_VERSION);
                        return EXIT_SUCCESS;
                case ARG_USER:
                        arg_options.user = true;
                        break;
                case 'C':
                        arg_options.config_dir = optarg;
                        arg_options.config_dir_given = true;
                        break;
                case 'q':
                        arg_options.quiet = true;
                        break;
                case 'p':
                        /* D-Bus carries text only: said here, not as "Invalid argument". */
                        if (!utf8_is_valid(optarg)) {
                                fprintf(stderr, "sluicectl: a --param is not valid UTF-8, "
                                                "which no task parameter can hold\n");
                                return 2;
                        }
                        /* The last would win, silently: one instance has one value each. */
                        STRV_FOREACH(prev, arg_options.params) {
                                size_t n = strcspn(optarg, "=");

                                if (optarg[n] == '=' && strneq(*prev, optarg, n + 1)) {
                                        _cleanup_free_ char *name = strndup(optarg, n);
                                        _cleanup_free_ char *shown =
                                                name ? display_escape(name) : NULL;

                                        fprintf(stderr, "sluicectl: --param %s is given twice\n",
                                                shown ?: name ?: "");
                                        return 2;
                                }
                        }
                        if (strv_extend(&arg_options.params, optarg) < 0)
                                return 2;
                        break;
                case 'a':
                        arg_options.all = true;
                        break;
                case ARG_DOT:
                        arg_options.dot = true;
                        break;
                case ARG_JSON:
                        arg_options.json = true;
                        break;
                case ARG_STATE:
                        arg_options.state = optarg;
                        break;
                case ARG_FORCE:
                        arg_options.force = true;
                        break;
                case ARG_SINCE:
                        arg_options.since = optarg;
                        break;
                case 'f':
                        arg_options.follow = true;
                        break;
                case ARG_FROM:
                        arg_options.from = optarg;
                        break;
                case ARG_TO:
                        arg_options.to = optarg;
                        break;
                case ARG_NO_WAIT:
                        arg_options.no_wait = true;
                        break;
                case ARG_CANCEL:
                        arg_options.cancel = optarg;
                        break;
                default:
                        return 2;
                }
        }
        if (want_help) {
                if (!verb_help(optind < argc ? argv[optind] : NULL))
                        help();
                return EXIT_SUCCESS;
        }
        if (optind >= argc) {
                fprintf(stderr, "sluicectl: a command is needed (see --help)\n");
                return 2;
        }
        for (size_t k = 0; k < ELEMENTSOF(verbs); k++)
                if (streq(argv[optind], verbs[k].name)) {
                        _cleanup_free_ char *dir = NULL;

                        /* The files of the daemon that answers, as reload does: a user
                         * daemon's are rarely where a system one's are. */
                        if (verbs[k].files && !arg_options.config_dir_given &&
                            ctl_daemon_config_dir(&arg_options, &dir) >= 0)
                                arg_options.config_dir = dir;
                        r = verbs[k].run(&arg_options, argc - optind - 1, argv + optind + 1);
                        strv_free(arg_options.params);
                        return r;
                }
        fprintf(stderr, "sluicectl: unknown command '%s' (see --help)\n", argv[optind]);
        return 2;
}
