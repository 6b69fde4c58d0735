/* SPDX-License-Identifier: MIT */
/*
 * Finds the elements of an exec argv that a shell or interpreter parses as code, for the load
 * check that keeps values from file names out of them (subst.c). What is known is data: each
 * program with its code options, the options that take an argument (whose argument must not be
 * taken for the command or the code: "bash -O extglob -c", "perl -I/usr/lib -e") and how it
 * finds its code; wrappers (env, nice, sudo, timeout, busybox ...) are walked through to the
 * command they run, as are the words of env -S and the commands of find -exec. Only the common
 * shapes: a program not listed is not looked into.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "exec-code.h"
#include "util/macro.h"

typedef enum Shape {
        SHAPE_SHELL,    /* the code flag takes no argument: the first operand is the code */
        SHAPE_OPTION,   /* the code is the code option's argument: python -c CODE, perl -e;
                           with .program, else the first operand: awk PROG, sed SCRIPT */
        SHAPE_WRAPPER,  /* runs the command after its options and operands: nice, sudo */
        SHAPE_REMOTE,   /* every argument after its operand is code: ssh HOST CMD... */
        SHAPE_FIND,     /* runs, as a command, what follows each of its code_long actions up to
                           ";" or "{} +": find -exec */
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
        const char *script;     /* short options whose argument is a file of code: awk -f */
        const char *script_long;
        const char *command;    /* short options that make the operands a command: runuser -u */
        const char *command_long;
        unsigned operands;      /* a wrapper's operands before its command: timeout's duration */
        bool numeric;           /* ... only when one is a number (chrt's optional priority) */
        bool separate;          /* never joined: node -pe CODE is -p -e CODE */
        bool permute;           /* options may follow operands: su USER -c CMD */
        bool code_ends;         /* the code option ends the options: python -c CODE ARGS */
        bool assignments;       /* NAME=VALUE operands before the command (env) */
        bool program;           /* the first operand is the code, unless a code or script option
                                   gives it: awk PROG, sed SCRIPT */
        bool split;             /* the code option's text is split into the words that start the
                                   command, options of the program's own first (env -S) */
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
                .code_long = " --command --session-command ", .command = "u", \
                .arg_long = " --shell --group --supp-group --whitelist-environment --user ", \
                .command_long = " --user ", .hint = "\"$1\", after a name for $0" }
/* gawk, mawk, busybox and BWK awk; -E (gawk) ends the options and names the program's file. */
#define AWK(n) { .name = n, .shape = SHAPE_OPTION, .code = "e", .arg = "FvilW", .rest = "dDLop", \
                 .stop = "E", .script = "f", .program = true, .code_long = " --source ", \
                 .script_long = " --file --exec ", \
                 .arg_long = " --field-separator --assign --include --load ", \
                 .hint = "ARGV[1], or FILENAME while awk reads it" }
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
        AWK("awk"), AWK("gawk"), AWK("mawk"), AWK("nawk"),
        /* GNU sed runs a shell from its script (e, s///e) and writes any file (w): a value in it
         * is code. Options may follow the script, an -e among them making it a file. */
        { .name = "sed", .shape = SHAPE_OPTION, .code = "e", .script = "f", .arg = "l", .rest = "i",
          .program = true, .permute = true, .code_long = " --expression ",
          .script_long = " --file ", .arg_long = " --line-length ",
          .advice = "A sed script cannot read an argument: use a program that reads the value "
                    "as one, as awk does (ARGV[1], or FILENAME while it reads that file)" },
        { .name = "ssh", .shape = SHAPE_REMOTE, .arg = "BbcDEeFIiJLlmOopQRSWw", .operands = 1,
          .advice = "No argument after the host is data: ssh joins them into one command line "
                    "for the remote shell. Send the file on standard input, or copy it first" },

        WRAP("env", .code = "S", .arg = "uC", .code_long = " --split-string ",
             .arg_long = " --unset --chdir ", .assignments = true, .split = true,
             .shown = "env -S",
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
        WRAP("systemd-run", .arg = "CEHMpu",
             .arg_long = " --unit --property --description --slice --setenv --uid --gid "
                         "--nice --working-directory --service-type --host --machine "
                         "--on-active --on-boot --on-startup --on-unit-active "
                         "--on-unit-inactive --on-calendar --timer-property "
                         "--path-property --socket-property --capsule --expand-environment "
                         "--job-mode --background --json "),
        /* util-linux: their optional arguments (--mount=FILE, nsenter -m/FILE) only joined. */
        WRAP("unshare", .arg = "RwSGl",
             .arg_long = " --map-user --map-users --map-group --map-groups --owner --propagation "
                         "--setgroups --setuid --setgid --root --wd --monotonic --boottime "
                         "--load-interp --whitelist-env "),
        WRAP("nsenter", .arg = "tNSG", .rest = "muinpCUTrwW",
             .arg_long = " --target --net-socket --setuid --setgid "),
        WRAP("setpriv",
             .arg_long = " --inh-caps --ambient-caps --ruid --euid --rgid --egid --reuid --regid "
                         "--groups --bounding-set --securebits --pdeathsig --ptracer "
                         "--selinux-label --apparmor-profile --landlock-access --landlock-rule "
                         "--seccomp-filter "),
        { .name = "find", .shape = SHAPE_FIND, .code_long = " -exec -execdir -ok -okdir " },
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

/*
 * One element the walk reads: one of exec's, or a word of an env -S text. A word is a copy (its
 * quotes gone), so what is found in it is checked as that whole text, where exec holds it.
 */
typedef struct Arg {
        const char *text;       /* NULL ends a list */
        size_t index;           /* exec[index] + offset holds it, or the text it is a word of */
        size_t offset;
        bool word;
} Arg;

typedef struct Scan {
        const Arg *args;
        const Program *p;
        size_t i;               /* the next element */
        bool code_flag;         /* a shell's -c was seen */
        bool given;             /* an option gave the code (awk -e, -f): no operand is code */
        bool command;           /* the operands are a command (runuser -u) */
        size_t program;         /* 1 + the first operand, code unless an option after it gives the
                                   code (sed permutes); 0: none yet */
        size_t split;           /* 1 + the element whose text from split_offset env -S splits */
        size_t split_offset;
        bool done;              /* nothing after is code: python -m MOD, python -c CODE ARGS */
        exec_code_func f;
        void *userdata;
} Scan;

static int walk(const Arg *args, exec_code_func f, void *userdata);

/* Where the text of a from offset is in exec: a word's offsets mean nothing there. */
static Arg arg_from(const Arg *a, size_t offset) {
        return (Arg) { .text = a->text + offset, .index = a->index,
                       .offset = a->word ? a->offset : a->offset + offset, .word = a->word };
}

static int emit(Scan *s, size_t i, size_t offset) {
        const Program *p = s->p;
        Arg a = arg_from(&s->args[i], offset);
        ExecCode c = { .index = a.index, .offset = a.offset, .runner = p->shown ?: p->name,
                       .hint = p->hint, .example = p->example, .advice = p->advice };

        s->done = p->code_ends || p->split;
        if (p->split) {
                s->split = i + 1;
                s->split_offset = offset;
        }
        return s->f(&c, s->userdata);
}

/* "--name=value" or "--name value". */
static int long_option(Scan *s, const char *o, size_t at) {
        const Program *p = s->p;
        const char *eq = strchr(o, '=');
        size_t n = eq ? (size_t) (eq - o) : strlen(o);
        bool script = has_long(p->script_long, o, n);

        if (has_long(p->code_long, o, n)) {
                s->given = true;
                if (eq)
                        return emit(s, at, (size_t) (eq + 1 - o));
                return s->args[s->i].text ? emit(s, s->i++, 0) : 0;
        }
        s->given = s->given || script;
        s->command = s->command || has_long(p->command_long, o, n);
        if (!eq && (script || has_long(p->arg_long, o, n)) && s->args[s->i].text)
                s->i++;
        return 0;
}

/* One option element: a cluster of letters ("-euo", "-Wignore", "-I/usr/lib") or a long one. */
static int option(Scan *s) {
        const Program *p = s->p;
        size_t at = s->i++;
        const char *o = s->args[at].text;
        bool want_code = false, want_arg = false;

        if (o[0] == '-' && o[1] == '-')
                return long_option(s, o, at);
        for (const char *c = o + 1; *c; c++) {
                bool code = has(p->code, *c), arg = has(p->script, *c) || has(p->arg, *c);

                if (has(p->stop, *c)) {
                        s->done = true;
                        return 0;
                }
                s->given = s->given || code || has(p->script, *c);
                s->command = s->command || has(p->command, *c);
                if (p->shape == SHAPE_SHELL) {
                        /* Each argument letter takes the next element: -euo pipefail. */
                        if (code)
                                s->code_flag = true;
                        else if (arg && s->args[s->i].text)
                                s->i++;
                        continue;
                }
                if (has(p->rest, *c))
                        break;
                if (!code && !arg)
                        continue;
                if (!p->separate && c[1])
                        return code ? emit(s, at, (size_t) (c + 1 - o)) : 0;
                want_code = want_code || code;
                want_arg = want_arg || !code;
                if (!p->separate)
                        break;
        }
        if ((want_code || want_arg) && s->args[s->i].text) {
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

/* Walks the list from args, n elements, as a command of its own. */
static int walk_copy(const Arg *args, size_t n, exec_code_func f, void *userdata) {
        _cleanup_free_ Arg *v = calloc(n + 1, sizeof(Arg));

        if (!v)
                return -ENOMEM;
        memcpy(v, args, n * sizeof(Arg));
        return walk(v, f, userdata);
}

/* find: what follows each -exec up to ";" (or "{} +") is a command, with code of its own. */
static int scan_find(Scan *s) {
        const Arg *a = s->args;
        int r;

        for (size_t i = s->i; a[i].text; i++) {
                size_t end = i + 1;

                if (!has_long(s->p->code_long, a[i].text, strlen(a[i].text)))
                        continue;
                while (a[end].text && !streq(a[end].text, ";") &&
                       !(streq(a[end].text, "+") && streq(a[end - 1].text, "{}")))
                        end++;
                r = walk_copy(a + i + 1, end - i - 1, s->f, s->userdata);
                if (r != 0 || !a[end].text)
                        return r;
                i = end;
        }
        return 0;
}

/* Walks one program's arguments; *ret_next is where the command it runs starts, or 0. */
static int scan_program(Scan *s, size_t *ret_next) {
        const Program *p = s->p;
        unsigned operands = 0;
        bool ended = false;     /* after "--" */
        int r;

        *ret_next = 0;
        if (p->shape == SHAPE_FIND)
                return scan_find(s);
        while (s->args[s->i].text && !s->done) {
                const char *o = s->args[s->i].text;

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
                        if (s->command) {
                                *ret_next = s->i;
                                return 0;
                        }
                        if (p->program && !s->given && !s->program) {
                                if (!p->permute)
                                        return emit(s, s->i, 0);
                                s->program = s->i + 1;
                        }
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
                        for (; s->args[s->i].text; s->i++) {
                                r = emit(s, s->i, 0);
                                if (r != 0)
                                        return r;
                        }
                        return 0;
                case SHAPE_FIND:        /* scan_find() */
                        return 0;
                }
                s->i++;
        }
        if (s->program && !s->given)
                return emit(s, s->program - 1, 0);
        return 0;
}

/*
 * Splits an env -S text in place as env does in the common cases: blanks part words, quotes
 * group them, a backslash outside single quotes escapes the next character. Returns the number
 * of words, each ending in a NUL, one after the other.
 */
static size_t split_words(char *t) {
        char *w = t, quote = 0;
        bool in_word = false;
        size_t n = 0;

        for (const char *c = t; *c; c++) {
                if (!quote && strchr(" \t\n\v\f\r", *c)) {
                        if (in_word) {
                                *w++ = '\0';
                                n++;
                        }
                        in_word = false;
                        continue;
                }
                in_word = true;
                if (!quote && (*c == '\'' || *c == '"'))
                        quote = *c;
                else if (*c == quote)
                        quote = 0;
                else {
                        if (*c == '\\' && quote != '\'' && c[1])
                                c++;
                        *w++ = *c;
                }
        }
        if (in_word) {
                *w = '\0';
                n++;
        }
        return n;
}

/* env -S TEXT: env reads the words of TEXT and then the elements after it as its arguments. */
static int walk_split(const Scan *s, size_t env) {
        const Arg *a = &s->args[s->split - 1];
        _cleanup_free_ char *text = strdup(a->text + s->split_offset);
        _cleanup_free_ Arg *v = NULL;
        size_t n = 0, words, rest = 0;
        const char *w;

        if (!text)
                return -ENOMEM;
        words = split_words(text);
        while (s->args[s->i + rest].text)
                rest++;
        v = calloc(1 + words + rest + 1, sizeof(Arg));
        if (!v)
                return -ENOMEM;
        v[n++] = s->args[env];
        w = text;
        for (size_t k = 0; k < words; k++, w += strlen(w) + 1) {
                v[n] = arg_from(a, s->split_offset);
                v[n].text = w;
                v[n++].word = true;
        }
        memcpy(v + n, s->args + s->i, rest * sizeof(Arg));
        return walk(v, s->f, s->userdata);
}

static int walk(const Arg *args, exec_code_func f, void *userdata) {
        size_t k = 0;
        int r;

        /* Each wrapper moves k forward: the walk ends. */
        while (args[k].text) {
                Scan s = { .args = args, .i = k + 1, .f = f, .userdata = userdata };
                size_t at = k;

                s.p = program_of(args[k].text);
                if (!s.p)
                        return 0;
                r = scan_program(&s, &k);
                if (r != 0)
                        return r;
                if (s.split)
                        return walk_split(&s, at);
                if (k == 0)
                        return 0;
        }
        return 0;
}

int exec_code_foreach(char * const *exec, exec_code_func f, void *userdata) {
        _cleanup_free_ Arg *args = NULL;
        size_t n = 0;

        while (exec && exec[n])
                n++;
        args = calloc(n + 1, sizeof(Arg));
        if (!args)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                args[i] = (Arg) { .text = exec[i], .index = i };
        return walk(args, f, userdata);
}
