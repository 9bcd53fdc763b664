/* SPDX-License-Identifier: BSD-2-Clause */
/* Saving a standalone file atomically: temporary file in the target's
 * directory, every byte written, fsync, rename over the target, fsync of
 * the directory.  A reader opening the target sees the old file or the
 * complete new one, never a mixture, because the target's directory entry
 * changes in one rename and the file it named is never written again. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "file_io.h"
#include "report.h"

/* Attempts at a fresh temporary name when one already exists. */
#define TMP_NAME_ATTEMPTS 64
/* Largest single write(2) asked for; Linux caps a write below 2 GiB. */
#define WRITE_MAX (1u << 30)

/* A sink that write(2)s to the temporary file through the ops table and
 * keeps what a failure was, so that the save can report it precisely
 * (pcache_sink_fd only returns an errno). */
typedef struct save_sink {
    const pcache_file_ops *ops;
    int fd;
    uint64_t offset;  /* bytes written so far = offset of the next write */
    pcache_status st; /* PCACHE_OK until a write fails */
    int err;          /* errno of the failure; 0 for a write that made no progress */
} save_sink;

static int save_sink_write(void *ctx, const void *buf, size_t len)
{
    save_sink *s = ctx;
    const uint8_t *p = buf;
    int eintr = 0;

    while (len > 0) {
        size_t want = len > WRITE_MAX ? WRITE_MAX : len;
        ssize_t n;
        errno = 0;
        n = s->ops->write(s->ops->ctx, s->fd, p, want);
        if (n < 0) {
            int e = errno ? errno : EIO;
            if (e == EINTR && ++eintr < PCACHE_FILE_EINTR_RETRIES)
                continue;
            s->err = e;
            s->st = pcache_file_status_from_errno(e);
            return e;
        }
        if (n == 0 || (size_t)n > want) {
            /* 0: the file system took nothing and said nothing; more than
             * asked: a broken ops table.  Either way the bytes are lost. */
            s->err = 0;
            s->st = n == 0 ? PCACHE_E_SHORT_WRITE : PCACHE_E_IO;
            return EIO;
        }
        eintr = 0;
        p += n;
        len -= (size_t)n;
        s->offset += (uint64_t)n;
    }
    return 0;
}

/* Exceeding RLIMIT_FSIZE raises SIGXFSZ, whose default action kills the
 * process.  Blocking it in this thread lets write(2) fail with EFBIG
 * instead; the signal the write raised is then discarded, while one that
 * was already pending is left alone. */
typedef struct xfsz_guard {
    sigset_t old;
    int active;
    int was_pending;
} xfsz_guard;

static void xfsz_block(xfsz_guard *g)
{
    sigset_t set, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGXFSZ);
    g->active = pthread_sigmask(SIG_BLOCK, &set, &g->old) == 0;
    g->was_pending = g->active && sigpending(&pend) == 0 && sigismember(&pend, SIGXFSZ) == 1;
}

static void xfsz_restore(xfsz_guard *g, int write_raised)
{
    if (!g->active)
        return;
    if (write_raised && !g->was_pending) {
        sigset_t set, pend;
        struct timespec zero = {0, 0};
        sigemptyset(&set);
        sigaddset(&set, SIGXFSZ);
        if (sigpending(&pend) == 0 && sigismember(&pend, SIGXFSZ) == 1)
            for (int i = 0; i < PCACHE_FILE_EINTR_RETRIES; i++)
                if (sigtimedwait(&set, NULL, &zero) != -1 || errno != EINTR)
                    break;
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* Creates the temporary file; on failure returns -1 with errno set. */
static int create_tmp(const pcache_file_ops *ops, int dirfd, const char *base, mode_t mode,
                      char tmp[TMPNAME_CAP])
{
    for (int attempt = 0;; attempt++) {
        int fd;
        tmpname_make(tmp, base, (long)getpid(), tmpname_random());
        fd = io_openat(ops, dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd >= 0 || errno != EEXIST || attempt + 1 == TMP_NAME_ATTEMPTS)
            return fd;
    }
}

pcache_status pcache_file_save(pcache_builder *b, const char *path, const pcache_save_options *opt,
                               pcache_report *rep)
{
    pcache_save_options o;
    const pcache_file_ops *ops;
    char dir[PATH_MAX], base[NAME_MAX + 1], tmp[TMPNAME_CAP];
    save_sink ss;
    pcache_sink sink;
    xfsz_guard guard;
    pcache_status st;
    mode_t mode;
    int dirfd, fd;

    report_clear(rep);
    if (opt)
        o = *opt;
    else
        memset(&o, 0, sizeof o);
    ops = o.ops ? o.ops : pcache_file_ops_system();
    mode = o.mode ? (mode_t)o.mode : 0600;
    if (!b)
        return file_fail(rep, PCACHE_E_INVALID_ARGUMENT, 0, 0, "save: no builder");
    if (file_split_path(path, dir, sizeof dir, base, sizeof base) != 0)
        return file_fail(rep, PCACHE_E_INVALID_ARGUMENT, 0, 0, "save: '%s' is not a path to a file",
                         path ? path : "(null)");
    if ((mode & ~(mode_t)0777) || (mode & (S_IWGRP | S_IWOTH)))
        return file_fail(rep, PCACHE_E_INVALID_ARGUMENT, 0, 0,
                         "save '%s': mode 0%o is not within 0755 (a loader refuses files others can write)", path,
                         (unsigned)mode);

    dirfd = io_openat(ops, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (dirfd < 0)
        return file_fail_errno(rep, errno, "save '%s': opening directory '%s'", path, dir);
    /* Everything below is relative to dirfd, so that the temporary file is
     * created, renamed and, on failure, removed in one and the same
     * directory even if the directory is moved meanwhile. */
    if (!o.skip_cleanup)
        file_cleanup_dir(dirfd, base, o.cleanup_max_age ? o.cleanup_max_age : PCACHE_FILE_TMP_MAX_AGE_DEFAULT, ops,
                         NULL, NULL);

    fd = create_tmp(ops, dirfd, base, mode, tmp);
    if (fd < 0) {
        st = file_fail_errno(rep, errno, "save '%s': creating temporary '%s' in '%s'", path, tmp, dir);
        io_close_quietly(ops, dirfd);
        return st;
    }

    memset(&ss, 0, sizeof ss);
    ss.ops = ops;
    ss.fd = fd;
    sink.write = save_sink_write;
    sink.ctx = &ss;
    xfsz_block(&guard);
    st = pcache_file_write_sink(b, &sink, NULL);
    xfsz_restore(&guard, ss.err == EFBIG);
    if (st != PCACHE_OK) {
        if (ss.st != PCACHE_OK && ss.err)
            file_fail(rep, ss.st, ss.err, ss.offset, "save '%s': writing temporary '%s' at offset %llu", path, tmp,
                      (unsigned long long)ss.offset);
        else if (ss.st != PCACHE_OK)
            file_fail(rep, ss.st, 0, ss.offset,
                      "save '%s': writing temporary '%s' at offset %llu: write(2) %s", path, tmp,
                      (unsigned long long)ss.offset,
                      ss.st == PCACHE_E_SHORT_WRITE ? "returned 0 (no progress)" : "returned more than asked");
        else if (rep)
            *rep = *pcache_builder_report(b); /* the builder's own failure */
        st = ss.st != PCACHE_OK ? ss.st : st;
        goto fail;
    }
    if (io_fsync(ops, fd) != 0) {
        st = file_fail_errno(rep, errno, "save '%s': fsync of temporary '%s'", path, tmp);
        goto fail;
    }
    errno = 0;
    if (ops->close(ops->ctx, fd) != 0 && errno != EINTR) {
        /* EINTR: the descriptor is closed and fsync already succeeded */
        fd = -1;
        st = file_fail_errno(rep, errno, "save '%s': closing temporary '%s'", path, tmp);
        goto fail;
    }
    fd = -1;
    if (io_renameat(ops, dirfd, tmp, base) != 0) {
        st = file_fail_errno(rep, errno, "save '%s': renaming temporary '%s' over '%s'", path, tmp, base);
        goto fail;
    }
    /* Without this the rename itself may not survive a crash.  EINVAL: the
     * file system cannot sync a directory, and there is nothing more to do. */
    if (io_fsync(ops, dirfd) != 0 && errno != EINVAL) {
        st = file_fail_errno(rep, errno,
                             "save '%s': fsync of directory '%s' after the rename (the new file is in place "
                             "but may not be durable)",
                             path, dir);
        io_close_quietly(ops, dirfd);
        return st;
    }
    io_close_quietly(ops, dirfd);
    return PCACHE_OK;

fail:
    io_close_quietly(ops, fd);
    io_unlinkat(ops, dirfd, tmp); /* ENOENT: the directory vanished with it */
    io_close_quietly(ops, dirfd);
    return st;
}

/* The simple entry point keeps its contract (mode 0644 & ~umask) and
 * gains the file layer's: the target is replaced atomically, never
 * truncated and rewritten in place. */
pcache_status pcache_file_write_path(pcache_builder *b, const char *path, pcache_report *rep)
{
    pcache_save_options opt = {0};
    opt.mode = 0644;
    return pcache_file_save(b, path, &opt, rep);
}
