/* SPDX-License-Identifier: BSD-2-Clause */
/* Ready-made sinks: a caller's buffer and a file descriptor. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "pcache/pcache.h"
#include "sink.h"

static int buffer_write(void *ctx, const void *buf, size_t len)
{
    pcache_buffer_sink *s = ctx;
    if (len > s->capacity - s->used)
        return ENOSPC;
    if (len)
        memcpy(s->buf + s->used, buf, len);
    s->used += len;
    return 0;
}

int sink_is_buffer(const pcache_sink *sink)
{
    return sink->write == buffer_write;
}

uint8_t *sink_buffer_claim(const pcache_sink *sink, size_t len)
{
    pcache_buffer_sink *s = sink->ctx;
    uint8_t *p;
    if (!sink_is_buffer(sink) || len > s->capacity - s->used)
        return NULL;
    p = s->buf + s->used;
    s->used += len;
    return p;
}

void sink_buffer_unclaim(const pcache_sink *sink, size_t len)
{
    pcache_buffer_sink *s = sink->ctx;
    s->used -= len;
}

pcache_sink pcache_sink_buffer(pcache_buffer_sink *state, void *buf, size_t capacity)
{
    pcache_sink sink;
    state->buf = buf;
    state->capacity = capacity;
    state->used = 0;
    sink.write = buffer_write;
    sink.ctx = state;
    return sink;
}

static int fd_write(void *ctx, const void *buf, size_t len)
{
    int fd = *(int *)ctx;
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno ? errno : EIO;
        }
        if (n == 0)
            return EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

pcache_sink pcache_sink_fd(int *ctx_fd)
{
    pcache_sink sink;
    sink.write = fd_write;
    sink.ctx = ctx_fd;
    return sink;
}
