/* SPDX-License-Identifier: MIT */
/* File system helpers that know nothing of pipelines */
#pragma once

#include <dirent.h>
#include <stdbool.h>
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
/* Whether path is dir or lies below it (as spelled: no link followed). */
bool path_below(const char *path, const char *dir);
/* path, or the working directory joined with it; NULL when out of memory (or no cwd). */
char *path_absolute(const char *path);
/* fsync(2) of a directory, so that a rename in it is durable. */
int fsync_directory_of(const char *path);
/* Writes data to path through a temporary file renamed over it: readers see the old file or
 * the new one, never a part. durable: fsync the file and its directory too, for what must
 * survive a power cut, not only a crash of the writer. */
int write_file_replace(const char *path, const char *data, size_t n, mode_t mode, bool durable);
/* readlink(2) into a new string. */
int readlink_malloc(const char *path, char **ret);
/* path with its symbolic links followed as far as it exists, as realpath(3) makes it, and the
 * rest as spelled: a link that leads nowhere (yet) is followed all the same. What a path
 * ending in a link to a directory on a mount that is away would reach once it is back.
 * -ELOOP past 40 links or 4096 components walked, -ENAMETOOLONG past PATH_MAX. */
int path_resolve(const char *path, char **ret);
/* Reads a whole small file into a NUL-terminated string. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_size);
/* Overwrites with '#' every line of text[0..size) that holds a NUL byte (a crash's zeroed
 * block), so that the text reads on past it as a string, one damaged line instead of an end;
 * how many lines. */
unsigned text_blank_nul_lines(char *text, size_t size);
