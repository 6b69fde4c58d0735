/* SPDX-License-Identifier: MIT */
/* Which parts of an exec argv a shell or interpreter parses as code */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct ExecCode {
        size_t index;           /* exec[index] + offset is code */
        size_t offset;          /* past the option it is joined to: -c'CODE', --eval=CODE */
        const char *runner;     /* "sh", "python", "env -S", "ssh" */
        const char *hint;       /* how the code reads an argument after it ("$1"), or NULL */
        bool example;           /* the sh -c example fits */
        const char *advice;     /* instead of the hint: what to do */
} ExecCode;

/* Returns 0 to go on; anything else stops the walk and is returned. */
typedef int (*exec_code_func)(const ExecCode *code, void *userdata);

/*
 * Calls f for each code element of exec: the script of "sh -c", the argument of every
 * "python3 -c", "perl -e", an awk program, a sed script, the text of "env -S", what ssh sends to
 * the remote shell; through wrappers in front (env, env -S, nice, sudo, timeout, busybox ...) and
 * into the commands of find -exec. Pure: no I/O; -ENOMEM when out of memory.
 */
int exec_code_foreach(char * const *exec, exec_code_func f, void *userdata);
