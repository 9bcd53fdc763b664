/* SPDX-License-Identifier: BSD-2-Clause */
/* Loading a standalone file: open without following a final symbolic
 * link, refuse what the current user did not write or others could have
 * written, map exactly the size fstat() reported, validate every byte. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "file_io.h"
#include "report.h"

static const char *file_type_name(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISLNK(m))
        return "a symbolic link";
    return "not a regular file";
}

/* Puts "open '<path>': " before a validation report's message. */
static void name_path(pcache_report *rep, const char *path)
{
    char msg[sizeof rep->message];
    size_t n, len;
    int k;
    if (!rep)
        return;
    memcpy(msg, rep->message, sizeof msg);
    k = snprintf(rep->message, sizeof rep->message, "open '%s': ", path);
    if (k < 0 || (size_t)k >= sizeof rep->message)
        return;
    n = (size_t)k;
    len = strnlen(msg, sizeof msg);
    if (len > sizeof rep->message - 1 - n)
        len = sizeof rep->message - 1 - n; /* a long path cuts the message, not the other way */
    memcpy(rep->message + n, msg, len);
    rep->message[n + len] = '\0';
}

static int owner_allowed(const struct stat *sb, const pcache_open_options *o)
{
    if (o->flags & PCACHE_OPEN_ANY_OWNER)
        return 1;
    if (sb->st_uid == geteuid())
        return 1;
    return (o->flags & PCACHE_OPEN_ALLOW_UID) && sb->st_uid == (uid_t)o->allowed_uid;
}

pcache_status pcache_file_open(pcache_file *f, const char *path, const pcache_open_options *opt,
                               const pcache_expect *exp, pcache_report *rep)
{
    pcache_open_options o;
    const pcache_file_ops *ops;
    struct stat sb;
    pcache_status st;
    void *map = NULL;
    size_t size;
    int fd, prot;

    report_clear(rep);
    if (!f)
        return file_fail(rep, PCACHE_E_INVALID_ARGUMENT, 0, 0, "open: no pcache_file");
    memset(f, 0, sizeof *f);
    if (!path || !*path)
        return file_fail(rep, PCACHE_E_INVALID_ARGUMENT, 0, 0, "open: empty path");
    if (opt)
        o = *opt;
    else
        memset(&o, 0, sizeof o);
    if (o.flags & ~(uint32_t)(PCACHE_OPEN_COPY_ON_WRITE | PCACHE_OPEN_ALLOW_UID | PCACHE_OPEN_ANY_OWNER))
        return file_fail(rep, PCACHE_E_INVALID_ARGUMENT, 0, 0, "open '%s': unknown option flags 0x%x", path,
                         (unsigned)o.flags);
    ops = o.ops ? o.ops : pcache_file_ops_system();

    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
     * writer; it changes nothing for a regular file. */
    fd = io_openat(ops, AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0);
    if (fd < 0) {
        if (errno == ELOOP)
            return file_fail(rep, PCACHE_E_NOT_REGULAR, ELOOP, 0,
                             "open '%s': refusing a symbolic link (or a loop of them) as the file", path);
        return file_fail_errno(rep, errno, "open '%s'", path);
    }
    if (io_fstat(ops, fd, &sb) != 0) {
        st = file_fail_errno(rep, errno, "open '%s': fstat", path);
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = file_fail(rep, PCACHE_E_NOT_REGULAR, 0, 0, "open '%s': %s, not a regular file", path,
                       file_type_name(sb.st_mode));
        goto fail;
    }
    if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
        st = file_fail(rep, PCACHE_E_FILE_MODE, 0, 0, "open '%s': mode 0%03o lets %s write it", path,
                       (unsigned)(sb.st_mode & 07777),
                       (sb.st_mode & S_IWOTH) ? (sb.st_mode & S_IWGRP) ? "group and others" : "others" : "its group");
        if (rep) {
            rep->has_values = 1;
            rep->expected = sb.st_mode & 07777 & ~(mode_t)(S_IWGRP | S_IWOTH);
            rep->found = sb.st_mode & 07777;
        }
        goto fail;
    }
    if (!owner_allowed(&sb, &o)) {
        st = file_fail(rep, PCACHE_E_FILE_OWNER, 0, 0, "open '%s': owned by uid %lu, expected uid %lu%s", path,
                       (unsigned long)sb.st_uid, (unsigned long)geteuid(),
                       (o.flags & PCACHE_OPEN_ALLOW_UID) ? " or the allowed uid" : "");
        if (rep) {
            rep->has_values = 1;
            rep->expected = geteuid();
            rep->found = sb.st_uid;
        }
        goto fail;
    }
    if (sb.st_size < 0 || (uint64_t)sb.st_size > SIZE_MAX) {
        st = file_fail(rep, PCACHE_E_FILE_SIZE, 0, 0, "open '%s': size %lld cannot be mapped", path,
                       (long long)sb.st_size);
        goto fail;
    }
    size = (size_t)sb.st_size;

    /* Map exactly what fstat() said, never a size taken from the file's
     * own header: the validation below then reads only mapped bytes.  The
     * file cannot shrink under the mapping (SIGBUS) unless someone writes
     * it in place, which pcache writers never do (docs/FILES.md). */
    if (size > 0) {
        prot = (o.flags & PCACHE_OPEN_COPY_ON_WRITE) ? PROT_READ | PROT_WRITE : PROT_READ;
        errno = 0;
        map = ops->mmap(ops->ctx, NULL, size, prot, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            map = NULL;
            st = file_fail_errno(rep, errno ? errno : EIO, "open '%s': mmap of %zu bytes", path, size);
            goto fail;
        }
    }
    io_close_quietly(ops, fd);
    fd = -1;

    /* An empty file is validated as a 0-byte image: it is refused as
     * truncated, with the same report as any other short file. */
    st = pcache_image_open_memory(&f->image, map ? map : (const void *)"", size, exp, rep);
    if (st != PCACHE_OK) {
        name_path(rep, path);
        goto fail;
    }
    /* Mutable views follow the mapping's protection, not exp->writable: a
     * pointer into a PROT_READ mapping must never be handed out as
     * writable. */
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        f->image.seg[c].writable = (o.flags & PCACHE_OPEN_COPY_ON_WRITE) && f->image.present[c];
    f->map = map;
    f->map_size = size;
    f->copy_on_write = (o.flags & PCACHE_OPEN_COPY_ON_WRITE) != 0;
    f->dev = (uint64_t)sb.st_dev;
    f->ino = (uint64_t)sb.st_ino;
    f->mtime_sec = (int64_t)sb.st_mtim.tv_sec;
    f->mtime_nsec = sb.st_mtim.tv_nsec;
    f->uid = (uint32_t)sb.st_uid;
    f->mode = (uint32_t)(sb.st_mode & 07777);
    f->ops = ops;
    return PCACHE_OK;

fail:
    if (map)
        ops->munmap(ops->ctx, map, size);
    io_close_quietly(ops, fd);
    memset(f, 0, sizeof *f);
    return st;
}

pcache_segment *pcache_file_segment(pcache_file *f, pcache_class cls)
{
    if (!f || !f->map)
        return NULL;
    return pcache_image_segment(&f->image, cls);
}

void pcache_file_close(pcache_file *f)
{
    if (!f)
        return;
    if (f->map && f->ops)
        f->ops->munmap(f->ops->ctx, f->map, (size_t)f->map_size);
    memset(f, 0, sizeof *f);
}
