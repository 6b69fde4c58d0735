/* SPDX-License-Identifier: MIT */
/* File system helpers that know nothing of pipelines */
#pragma once

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

/* Creates dir and its missing parents; existing directories are fine. */
int mkdir_p(const char *path, mode_t mode);
/* New strings: the part before the last '/' ("/" for "/x"), and the part after it. */
int path_split(const char *path, char **ret_dir, char **ret_base);
int path_join(const char *a, const char *b, char **ret);
/* fsync(2) of a directory, so that a rename in it is durable. */
int fsync_directory_of(const char *path);
/* Writes data to path atomically (temporary file, fsync, rename). */
int write_file_atomic(const char *path, const char *data, size_t n);
/* readlink(2) into a new string. */
int readlink_malloc(const char *path, char **ret);
/* Reads a whole small file into a NUL-terminated string. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_size);
