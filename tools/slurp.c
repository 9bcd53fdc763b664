/* SPDX-License-Identifier: BSD-2-Clause */
#include "slurp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int slurp_file(const char *path, uint8_t **data, size_t *size)
{
    struct stat sb;
    uint8_t *buf = NULL;
    size_t used = 0, cap;
    int fd, e, own = strcmp(path, "-") != 0;

    fd = own ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
    if (fd < 0)
        return -1;
    if (fstat(fd, &sb) != 0)
        goto failed;
    if (S_ISDIR(sb.st_mode)) {
        errno = EISDIR;
        goto failed;
    }
    if (sb.st_size < 0 || (uint64_t)sb.st_size >= SIZE_MAX) {
        errno = EFBIG;
        goto failed;
    }
    /* Pipes and /proc files report size 0: start small and grow.  One byte
     * more than the size, so that the read that sees the end fits. */
    cap = S_ISREG(sb.st_mode) && sb.st_size > 0 ? (size_t)sb.st_size + 1 : 4096;
    for (;;) {
        ssize_t n;
        if (used == cap || !buf) {
            uint8_t *p;
            if (buf) {
                if (cap > SIZE_MAX / 2) {
                    errno = EFBIG;
                    goto failed;
                }
                cap *= 2;
            }
            p = realloc(buf, cap);
            if (!p) {
                errno = ENOMEM;
                goto failed;
            }
            buf = p;
        }
        n = read(fd, buf + used, cap - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto failed;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    if (own)
        close(fd);
    *data = buf;
    *size = used;
    return 0;

failed:
    e = errno;
    if (own)
        close(fd);
    free(buf);
    errno = e;
    return -1;
}
