/* SPDX-License-Identifier: BSD-2-Clause */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file, character device or FIFO";
}

int out_resolve(const char *arg, out_target *t, char *why, size_t why_size)
{
    struct stat st, out, link;
    size_t len = strlen(arg);

    memset(t, 0, sizeof *t);
    t->fd = -1;
    if (len == 0) {
        snprintf(why, why_size, "-o needs a file name ('-' for standard output)");
        return -1;
    }
    if (strcmp(arg, "-") == 0) {
        t->kind = OUT_STDOUT;
        t->fd = STDOUT_FILENO;
        return 0;
    }
    if (stat(arg, &st) != 0) {
        int e = errno;
        if (e == ENOENT && lstat(arg, &link) == 0 && S_ISLNK(link.st_mode)) {
            snprintf(why, why_size, "'%s' is a symbolic link to a file that does not exist: give the path "
                     "the file should have", arg);
            return -1;
        }
        if (e == ENOENT && arg[len - 1] == '/') {
            snprintf(why, why_size, "'%s' names a directory that does not exist, not a file", arg);
            return -1;
        }
        if (e != ENOENT) {
            snprintf(why, why_size, "cannot write '%s': %s", arg, strerror(e));
            return -1;
        }
        t->kind = OUT_CREATE;
        t->path = strdup(arg);
        if (!t->path) {
            snprintf(why, why_size, "out of memory");
            return -1;
        }
        return 0;
    }
    /* the file standard output is already open on */
    if (fstat(STDOUT_FILENO, &out) == 0 && out.st_dev == st.st_dev && out.st_ino == st.st_ino) {
        t->kind = OUT_STDOUT;
        t->fd = STDOUT_FILENO;
        return 0;
    }
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
        t->kind = OUT_STREAM;
        t->fd = open(arg, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (t->fd < 0) {
            snprintf(why, why_size, "cannot write '%s': %s", arg, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_size, "'%s' is %s: only a regular file is replaced, and a character device, a "
                 "FIFO or '-' written to", arg, kind_of(st.st_mode));
        return -1;
    }
    t->kind = OUT_REPLACE;
    t->mode = st.st_mode & 07777;
    /* a link stays a link: the file it leads to is the one replaced */
    t->path = lstat(arg, &link) == 0 && S_ISLNK(link.st_mode) ? realpath(arg, NULL) : strdup(arg);
    if (!t->path) {
        snprintf(why, why_size, "cannot write '%s': %s", arg, strerror(errno));
        return -1;
    }
    return 0;
}

void out_release(out_target *t)
{
    if (t->kind == OUT_STREAM && t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    free(t->path);
    t->path = NULL;
}

int out_sink_write(void *ctx, const void *buf, size_t len)
{
    out_sink *s = ctx;
    const char *p = buf;

    while (len) {
        ssize_t n = write(s->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->err = n < 0 ? errno : EIO;
            return s->err;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
