/* SPDX-License-Identifier: BSD-2-Clause */
/* What a tool's -o OUT names, decided before anything is written, so that
 * both tools treat "-", standard output, devices and links alike:
 *
 *   "-", or the file standard output already is (/dev/stdout, a shell
 *       redirection's file)                           OUT_STDOUT
 *   an existing character device or FIFO               OUT_STREAM, opened
 *   an existing regular file, or a symbolic link to one OUT_REPLACE, the
 *       link resolved: the file itself is what is replaced, not the link
 *   a name that does not exist yet                     OUT_CREATE
 *
 * Anything else (a directory, a dangling link, a block device, a socket)
 * is refused: a tool never puts a regular file in its place. */
#ifndef PCACHE_TOOLS_OUTPUT_H
#define PCACHE_TOOLS_OUTPUT_H

#include <stddef.h>
#include <sys/types.h>

typedef enum out_kind { OUT_STDOUT, OUT_STREAM, OUT_REPLACE, OUT_CREATE } out_kind;

typedef struct out_target {
    out_kind kind;
    char *path;  /* OUT_REPLACE: the regular file (links resolved); OUT_CREATE: as given (malloc'd) */
    mode_t mode; /* OUT_REPLACE: the replaced file's permission bits */
    int fd;      /* OUT_STDOUT: 1; OUT_STREAM: opened for writing; else -1 */
} out_target;

/* Decides what arg means.  Returns 0, or -1 with why in why (one line,
 * naming arg): a name the tool refuses or an I/O error, either way exit
 * status 2. */
int out_resolve(const char *arg, out_target *t, char *why, size_t why_size);

/* Closes what out_resolve() opened and frees the path; safe twice. */
void out_release(out_target *t);

/* A sink for pcache_file_write_sink() that write(2)s to fd and keeps the
 * errno of a failed write. */
typedef struct out_sink {
    int fd;
    int err;
} out_sink;

int out_sink_write(void *ctx, const void *buf, size_t len);

#endif
