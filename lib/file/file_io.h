/* SPDX-License-Identifier: BSD-2-Clause */
/* The file layer's internals: calls through a pcache_file_ops table with
 * bounded EINTR retries, errno-precise reports, path splitting, and the
 * names of temporary files. */
#ifndef PCACHE_FILE_IO_H
#define PCACHE_FILE_IO_H

#include <limits.h>
#include <stdint.h>

#include "pcache/file.h"

/* Fills *rep (if not NULL) with st, sys_errno = err and the message
 * "<formatted>: <strerror(err)>" (without the suffix when err is 0);
 * returns st. */
pcache_status file_fail(pcache_report *rep, pcache_status st, int err, uint64_t offset,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The same, with st derived from err (pcache_file_status_from_errno). */
pcache_status file_fail_errno(pcache_report *rep, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Calls that are retried on EINTR up to PCACHE_FILE_EINTR_RETRIES times.
 * On failure they return -1 with errno set (EINTR when the retries ran
 * out). */
int io_openat(const pcache_file_ops *ops, int dirfd, const char *path, int flags, mode_t mode);
int io_fsync(const pcache_file_ops *ops, int fd);
int io_renameat(const pcache_file_ops *ops, int dirfd, const char *from, const char *to);
int io_unlinkat(const pcache_file_ops *ops, int dirfd, const char *path);
int io_fstat(const pcache_file_ops *ops, int fd, struct stat *st);
/* close(2) is never retried: on Linux the descriptor is gone even when it
 * reports EINTR.  Keeps errno as it was. */
void io_close_quietly(const pcache_file_ops *ops, int fd);

/* Splits path into its directory (".", "/" or the text before the last
 * '/') and its last component.  Fails (returns -1) when path is empty,
 * ends in '/', names "." or "..", or does not fit the buffers. */
int file_split_path(const char *path, char *dir, size_t dir_cap, char *base, size_t base_cap);

/* ---- temporary file names (file_tmpname.c) ---- */

#ifndef NAME_MAX
#  define NAME_MAX 255
/* ---- sweeping stray temporaries (file_cleanup.c) ---- */

/* pcache_file_cleanup() on an open directory: base is the target's name. */
pcache_status file_cleanup_dir(int dirfd, const char *base, uint32_t max_age, const pcache_file_ops *ops,
                               unsigned *removed, pcache_report *rep);

#endif
#define TMPNAME_CAP (NAME_MAX + 1)

/* Writes ".<base>.pcache-tmp.<pid>.<16 hex of rnd>" (base cut so that the
 * name fits NAME_MAX) into out[TMPNAME_CAP]. */
void tmpname_make(char out[TMPNAME_CAP], const char *base, long pid, uint64_t rnd);

/* 1 if name is a temporary name of base, with *pid its writer's pid. */
int tmpname_match(const char *name, const char *base, long *pid);

/* A fresh random 64-bit value for a temporary name (getrandom(2), or a
 * mix of time, pid and a counter when that is not available). */
uint64_t tmpname_random(void);

/* ---- sweeping stray temporaries (file_cleanup.c) ---- */

/* pcache_file_cleanup() on an open directory: base is the target's name. */
pcache_status file_cleanup_dir(int dirfd, const char *base, uint32_t max_age, const pcache_file_ops *ops,
                               unsigned *removed, pcache_report *rep);

#endif
