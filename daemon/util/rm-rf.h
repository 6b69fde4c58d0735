/* SPDX-License-Identifier: MIT */
/* Removing a name and, if it is a directory, all below it, without following links */
#pragma once

/*
 * Removes name in the directory open as dfd: a file or a link (the link, never what it points to), or
 * a directory with everything in it. Never follows a symbolic link, never leaves dfd's file
 * system (a mount below is left, with the directories that lead to it), and goes at most 64
 * directories deep. 0, or the first -errno met (it goes on past it): -ENOENT when name is not
 * there. With the caller's file system credentials, which decide what may go.
 */
int rm_rf_at(int dfd, const char *name);
