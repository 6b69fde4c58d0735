/* SPDX-License-Identifier: MIT */
/*
 * Finds the elements of an exec argv that a shell or interpreter parses as code, for the load
 * check that keeps values from file names out of them (subst.c). What is known is data: each
 * program with its code options, the options that take an argument (whose argument must not be
 * taken for the command or the code: "bash -O extglob -c", "perl -I/usr/lib -e") and how it
 * finds its code; wrappers (env, nice, sudo, timeout, busybox ...) are walked through to the
 * command they run. Only the common shapes: a program not listed is not looked into.
 */
#include <ctype.h>
#include <string.h>
#include <sys/types.h>

#include "exec-code.h"
#include "util/macro.h"

typedef enum Shape {
        SHAPE_SHELL,    /* the code flag takes no argument: the first operand is the code */
        SHAPE_OPTION,   /* the code is the code option's argument: python -c CODE, perl -e */
        SHAPE_WRAPPER,  /* runs the command after its options and operands: nice, sudo */
        SHAPE_REMOTE,   /* every argument after its operand is code: ssh HOST CMD... */
} Shape;

typedef struct Program {
        const char *name;       /* a version may follow: bash5, python3.11, perl5.36.0 */
        Shape shape;
        const char *code;       /* short options whose argument (a shell: operand) is code */
        const char *code_long;  /* long options whose argument is code */
        const char *arg;        /* short options with an argument, joined or the next element */
        const char *arg_long;   /* long options with an argument, "--name=value" or next */
        const char *rest;       /* short options whose optional argument can only be joined */
        const char *stop;       /* short options after which nothing is code (python -m) */
        unsigned operands;      /* a wrapper's operands before its command: timeout's duration */
        bool numeric;           /* ... only when one is a number (chrt's optional priority) */
        bool separate;          /* never joined: node -pe CODE is -p -e CODE */
        bool permute;           /* options may follow operands: su USER -c CMD */
        bool code_ends;         /* the code option ends the options: python -c CODE ARGS */
        bool assignments;       /* NAME=VALUE operands before the command (env) */
        const char *shown;      /* name in messages, when not name */
        const char *hint;
        bool example;
        const char *advice;
} Program;

#define SH(n, a) { .name = n, .shape = SHAPE_SHELL, .code = "c", .arg = a, .hint = "\"$1\"", \
                   .example = true }
#define PYTHON(n) { .name = n, .shape = SHAPE_OPTION, .code = "c", .arg = "WX", .stop = "m", \
                    .arg_long = " --check-hash-based-pycs ", .code_ends = true, \
                    .shown = "python", .hint = "sys.argv[1]" }
#define NODE(n) { .name = n, .shape = SHAPE_OPTION, .code = "ep", .arg = "rC", .separate = true, \
                  .code_long = " --eval --print ", \
                  .arg_long = " --require --import --loader --experimental-loader " \
                              "--input-type --conditions --title --env-file ", \
                  .shown = "node", .hint = "process.argv[1]" }
#define SU(n) { .name = n, .shape = SHAPE_OPTION, .code = "c", .arg = "sgGwu", .permute = true, \
                .code_long = " --command --session-command ", \
                .arg_long = " --shell --group --supp-group --whitelist-environment --user ", \
                .hint = "\"$1\", after a name for $0" }
#define WRAP(n, ...) { .name = n, .shape = SHAPE_WRAPPER, __VA_ARGS__ }

static const Program programs[] = {
        SH("sh", "o"), SH("dash", "o"), SH("ash", "o"), SH("hush", "o"), SH("ksh", "o"),
        SH("mksh", "o"), SH("zsh", "o"), SH("yash", "o"), SH("posh", "o"),
        { .name = "bash", .shape = SHAPE_SHELL, .code = "c", .arg = "oO",
          .arg_long = " --rcfile --init-file ", .hint = "\"$1\"", .example = true },
        { .name = "csh", .shape = SHAPE_SHELL, .code = "c", .hint = "$argv[1]" },
        { .name = "tcsh", .shape = SHAPE_SHELL, .code = "c", .hint = "$argv[1]" },
        { .name = "fish", .shape = SHAPE_OPTION, .code = "cC", .arg = "dofp",
          .code_long = " --command --init-command ",
          .arg_long = " --debug --debug-output --features --profile --profile-startup ",
          .hint = "$argv[1]" },
        PYTHON("python"), PYTHON("pypy"),
        { .name = "perl", .shape = SHAPE_OPTION, .code = "eE", .arg = "I", .rest = "CDFMVdimx",
          .hint = "$ARGV[0]" },
        { .name = "ruby", .shape = SHAPE_OPTION, .code = "e", .arg = "CEIr", .rest = "FKTWix",
          .arg_long = " --encoding --external-encoding --internal-encoding ",
          .hint = "ARGV[0]" },
        NODE("node"), NODE("nodejs"),
        { .name = "Rscript", .shape = SHAPE_OPTION, .code = "e", .separate = true,
          .hint = "commandArgs(trailingOnly = TRUE)[1]" },
        { .name = "php", .shape = SHAPE_OPTION, .code = "rBRE", .arg = "cdzfFtS",
          .hint = "$argv[1]" },
        SU("su"), SU("runuser"),
        { .name = "ssh", .shape = SHAPE_REMOTE, .arg = "BbcDEeFIiJLlmOopQRSWw", .operands = 1,
          .advice = "No argument after the host is data: ssh joins them into one command line "
                    "for the remote shell. Send the file on standard input, or copy it first" },

        WRAP("env", .code = "S", .arg = "uC", .code_long = " --split-string ",
             .arg_long = " --unset --chdir ", .assignments = true, .shown = "env -S",
             .advice = "Pass it as an argument after the text, which env -S splits into "
                       "arguments"),
        WRAP("busybox"), WRAP("nohup"), WRAP("setsid"),
        WRAP("nice", .arg = "n", .arg_long = " --adjustment "),
        WRAP("timeout", .arg = "sk", .arg_long = " --signal --kill-after ", .operands = 1),
        WRAP("stdbuf", .arg = "ioe", .arg_long = " --input --output --error "),
        WRAP("sudo", .arg = "CDgpRrTtUu",
             .arg_long = " --chdir --chroot --close-from --command-timeout --group --host "
                         "--other-user --prompt --role --type --user "),
        WRAP("doas", .arg = "Cu"),
        WRAP("chrt", .arg = "TPD", .operands = 1, .numeric = true,
             .arg_long = " --sched-runtime --sched-period --sched-deadline "),
        WRAP("ionice", .arg = "cnpPu", .arg_long = " --class --classdata --pid --pgid --uid "),
        WRAP("taskset", .operands = 1),
        WRAP("xargs", .arg = "adEILnPs", .rest = "eil",
             .arg_long = " --arg-file --delimiter --max-lines --max-args --max-procs "
                         "--max-chars --process-slot-var "),
        WRAP("flock", .code = "c", .arg = "wE", .code_long = " --command ", .operands = 1,
             .arg_long = " --timeout --conflict-exit-code ",
             .advice = "Give flock the command itself instead (its -c runs the text with sh -c and no "
                       "arguments), as in [ \"flock\", \"F\", \"/bin/sh\", \"-c\", "
                       "\"sort \\\"$1\\\"\", \"sh\", \"${input}\" ]"),
        WRAP("time", .arg = "of", .arg_long = " --output --format "),
        WRAP("chroot", .operands = 1, .arg_long = " --userspec --groups "),
        WRAP("systemd-run", .arg = "EHMpu",
             .arg_long = " --unit --property --description --slice --setenv --uid --gid "
                         "--nice --working-directory --service-type --host --machine "
                         "--on-active --on-boot --on-startup --on-unit-active "
                         "--on-unit-inactive --on-calendar --timer-property "
                         "--path-property --socket-property "),
};

/* The program exec names, its version ("bash5", "perl5.36.0", "python3.11") aside. */
static const Program *program_of(const char *path) {
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

        for (size_t i = 0; i < ELEMENTSOF(programs); i++) {
                size_t n = strlen(programs[i].name);

                if (strneq(base, programs[i].name, n) &&
                    strspn(base + n, "0123456789.") == strlen(base + n))
                        return &programs[i];
        }
        return NULL;
}

static bool has(const char *set, char c) {
        return set && c && strchr(set, c);
}

/* Whether "--name" (its first n characters) is in a list " --a --b ". */
static bool has_long(const char *list, const char *name, size_t n) {
        for (const char *p = list; p && *p; p += strcspn(p, " ")) {
                p += strspn(p, " ");
                if (strcspn(p, " ") == n && strneq(p, name, n))
                        return true;
        }
        return false;
}

typedef struct Scan {
        char * const *exec;
        const Program *p;
        size_t i;               /* the next element */
        bool code_flag;         /* a shell's -c was seen */
        bool done;              /* nothing after is code: python -m MOD, python -c CODE ARGS */
        exec_code_func f;
        void *userdata;
} Scan;

static int emit(Scan *s, size_t index, size_t offset) {
        const Program *p = s->p;
        ExecCode c = { .index = index, .offset = offset, .runner = p->shown ?: p->name,
                       .hint = p->hint, .example = p->example, .advice = p->advice };

        s->done = p->code_ends;
        return s->f(&c, s->userdata);
}

/* "--name=value" or "--name value". */
static int long_option(Scan *s, const char *o, size_t at) {
        const char *eq = strchr(o, '=');
        size_t n = eq ? (size_t) (eq - o) : strlen(o);

        if (has_long(s->p->code_long, o, n)) {
                if (eq)
                        return emit(s, at, (size_t) (eq + 1 - o));
                return s->exec[s->i] ? emit(s, s->i++, 0) : 0;
        }
        if (!eq && has_long(s->p->arg_long, o, n) && s->exec[s->i])
                s->i++;
        return 0;
}

/* One option element: a cluster of letters ("-euo", "-Wignore", "-I/usr/lib") or a long one. */
static int option(Scan *s) {
        const Program *p = s->p;
        size_t at = s->i++;
        const char *o = s->exec[at];
        bool want_code = false, want_arg = false;

        if (o[0] == '-' && o[1] == '-')
                return long_option(s, o, at);
        for (const char *c = o + 1; *c; c++) {
                bool code = has(p->code, *c);

                if (has(p->stop, *c)) {
                        s->done = true;
                        return 0;
                }
                if (p->shape == SHAPE_SHELL) {
                        /* Each argument letter takes the next element: -euo pipefail. */
                        if (code)
                                s->code_flag = true;
                        else if (has(p->arg, *c) && s->exec[s->i])
                                s->i++;
                        continue;
                }
                if (has(p->rest, *c))
                        break;
                if (!code && !has(p->arg, *c))
                        continue;
                if (!p->separate && c[1])
                        return code ? emit(s, at, (size_t) (c + 1 - o)) : 0;
                want_code = want_code || code;
                want_arg = want_arg || !code;
                if (!p->separate)
                        break;
        }
        if ((want_code || want_arg) && s->exec[s->i]) {
                size_t a = s->i++;

                if (want_code)
                        return emit(s, a, 0);
        }
        return 0;
}

static bool is_option(const Scan *s, const char *o) {
        if (o[0] == '-' && !o[1])       /* env -, su -: a flag; elsewhere standard input */
                return s->p->shape == SHAPE_WRAPPER || s->p->permute;
        return (o[0] == '-' || (o[0] == '+' && s->p->shape == SHAPE_SHELL)) && o[1];
}

/* Walks one program's arguments; *ret_next is where the command it runs starts, or 0. */
static int scan_program(Scan *s, size_t *ret_next) {
        const Program *p = s->p;
        unsigned operands = 0;
        bool ended = false;     /* after "--" */
        int r;

        *ret_next = 0;
        while (s->exec[s->i] && !s->done) {
                const char *o = s->exec[s->i];

                if (!ended && streq(o, "--")) {
                        ended = true;
                        s->i++;
                        continue;
                }
                if (!ended && is_option(s, o)) {
                        if (o[1]) {
                                r = option(s);
                                if (r != 0)
                                        return r;
                        } else
                                s->i++;
                        continue;
                }
                switch (p->shape) {
                case SHAPE_SHELL:
                        return s->code_flag ? emit(s, s->i, 0) : 0;
                case SHAPE_OPTION:
                        if (!p->permute)
                                return 0;
                        break;
                case SHAPE_WRAPPER:
                        if (p->assignments && strchr(o, '='))
                                break;
                        if (operands < p->operands &&
                            (!p->numeric || isdigit((unsigned char) o[0]))) {
                                operands++;
                                break;
                        }
                        *ret_next = s->i;
                        return 0;
                case SHAPE_REMOTE:
                        if (operands++ < p->operands)
                                break;
                        for (; s->exec[s->i]; s->i++) {
                                r = emit(s, s->i, 0);
                                if (r != 0)
                                        return r;
                        }
                        return 0;
                }
                s->i++;
        }
        return 0;
}

int exec_code_foreach(char * const *exec, exec_code_func f, void *userdata) {
        size_t k = 0;
        int r;

        /* Each wrapper moves k forward: the walk ends. */
        while (exec && exec[k]) {
                Scan s = { .exec = exec, .i = k + 1, .f = f, .userdata = userdata };

                s.p = program_of(exec[k]);
                if (!s.p)
                        return 0;
                r = scan_program(&s, &k);
                if (r != 0 || k == 0)
                        return r;
        }
        return 0;
}
