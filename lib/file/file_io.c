/* SPDX-License-Identifier: BSD-2-Clause */
/* The operating-system layer of standalone files: the table of system
 * calls (replaceable to inject faults), bounded EINTR retries, and errno-
 * precise reports. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "file_io.h"

static int sys_openat(void *ctx, int dirfd, const char *path, int flags, mode_t mode)
{
    (void)ctx;
    return openat(dirfd, path, flags, mode);
}

static int sys_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd);
}

static ssize_t sys_write(void *ctx, int fd, const void *buf, size_t len)
{
    (void)ctx;
    return write(fd, buf, len);
}

static int sys_fsync(void *ctx, int fd)
{
    (void)ctx;
    return fsync(fd);
}

static int sys_renameat(void *ctx, int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
    (void)ctx;
    return renameat(olddirfd, oldpath, newdirfd, newpath);
}

static int sys_unlinkat(void *ctx, int dirfd, const char *path, int flags)
{
    (void)ctx;
    return unlinkat(dirfd, path, flags);
}

static int sys_fstat(void *ctx, int fd, struct stat *st)
{
    (void)ctx;
    return fstat(fd, st);
}

static void *sys_mmap(void *ctx, void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
    (void)ctx;
    return mmap(addr, len, prot, flags, fd, offset);
}

static int sys_munmap(void *ctx, void *addr, size_t len)
{
    (void)ctx;
    return munmap(addr, len);
}

static const pcache_file_ops system_ops = {
    .ctx = NULL,
    .openat = sys_openat,
    .close = sys_close,
    .write = sys_write,
    .fsync = sys_fsync,
    .renameat = sys_renameat,
    .unlinkat = sys_unlinkat,
    .fstat = sys_fstat,
    .mmap = sys_mmap,
    .munmap = sys_munmap,
};

const pcache_file_ops *pcache_file_ops_system(void)
{
    return &system_ops;
}

pcache_status pcache_file_status_from_errno(int err)
{
    switch (err) {
    case 0:
        return PCACHE_OK;
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
        return PCACHE_E_NO_SPACE;
    case EFBIG:
        return PCACHE_E_FILE_TOO_LARGE;
    case EACCES:
    case EPERM:
    case EROFS:
        return PCACHE_E_ACCESS;
    case EINTR:
        return PCACHE_E_INTERRUPTED;
    case ENOMEM:
        return PCACHE_E_NO_MEMORY;
    default:
        return PCACHE_E_IO;
    }
}

static __attribute__((format(printf, 5, 0))) pcache_status vfail(pcache_report *rep, pcache_status st, int err,
                                                                  uint64_t offset, const char *fmt, va_list ap)
{
    int n;
    if (!rep)
        return st;
    memset(rep, 0, sizeof *rep);
    rep->status = st;
    rep->cls = PCACHE_REPORT_NO_CLASS;
    rep->offset = offset;
    rep->sys_errno = err;
    n = vsnprintf(rep->message, sizeof rep->message, fmt, ap);
    if (err && n >= 0 && (size_t)n < sizeof rep->message)
        snprintf(rep->message + n, sizeof rep->message - (size_t)n, ": %s%s", strerror(err),
                 err == EINTR ? " (retries exhausted)" : "");
    return st;
}

pcache_status file_fail(pcache_report *rep, pcache_status st, int err, uint64_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(rep, st, err, offset, fmt, ap);
    va_end(ap);
    return st;
}

pcache_status file_fail_errno(pcache_report *rep, int err, const char *fmt, ...)
{
    pcache_status st = pcache_file_status_from_errno(err);
    va_list ap;
    if (st == PCACHE_OK) /* a call failed without saying why */
        st = PCACHE_E_IO;
    va_start(ap, fmt);
    vfail(rep, st, err, 0, fmt, ap);
    va_end(ap);
    return st;
}

/* Runs expr until it does not fail with EINTR, at most the bounded number
 * of times; leaves errno = EINTR when the retries ran out. */
#define RETRY_EINTR(type, expr)                                          \
    do {                                                                 \
        type r_;                                                         \
        for (int try_ = 0; try_ < PCACHE_FILE_EINTR_RETRIES; try_++) {   \
            errno = 0;                                                   \
            r_ = (expr);                                                 \
            if (r_ != -1 || errno != EINTR)                              \
                return r_;                                               \
        }                                                                \
        errno = EINTR;                                                   \
        return -1;                                                       \
    } while (0)

int io_openat(const pcache_file_ops *ops, int dirfd, const char *path, int flags, mode_t mode)
{
    RETRY_EINTR(int, ops->openat(ops->ctx, dirfd, path, flags, mode));
}

int io_fsync(const pcache_file_ops *ops, int fd)
{
    RETRY_EINTR(int, ops->fsync(ops->ctx, fd));
}

int io_renameat(const pcache_file_ops *ops, int dirfd, const char *from, const char *to)
{
    RETRY_EINTR(int, ops->renameat(ops->ctx, dirfd, from, dirfd, to));
}

int io_unlinkat(const pcache_file_ops *ops, int dirfd, const char *path)
{
    RETRY_EINTR(int, ops->unlinkat(ops->ctx, dirfd, path, 0));
}

int io_fstat(const pcache_file_ops *ops, int fd, struct stat *st)
{
    RETRY_EINTR(int, ops->fstat(ops->ctx, fd, st));
}

void io_close_quietly(const pcache_file_ops *ops, int fd)
{
    int saved = errno;
    if (fd >= 0)
        ops->close(ops->ctx, fd);
    errno = saved;
}

int file_split_path(const char *path, char *dir, size_t dir_cap, char *base, size_t base_cap)
{
    const char *slash;
    size_t dlen, blen;

    if (!path || !*path)
        return -1;
    slash = strrchr(path, '/');
    if (!slash) {
        if (dir_cap < 2)
            return -1;
        strcpy(dir, ".");
        slash = path - 1;
    } else {
        dlen = (size_t)(slash - path);
        if (dlen == 0)
            dlen = 1; /* "/name": the root directory */
        if (dlen >= dir_cap)
            return -1;
        memcpy(dir, path, dlen);
        dir[dlen] = '\0';
    }
    blen = strlen(slash + 1);
    if (blen == 0 || blen >= base_cap)
        return -1;
    memcpy(base, slash + 1, blen + 1);
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return -1;
    return 0;
}
