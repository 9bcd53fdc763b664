/* SPDX-License-Identifier: BSD-2-Clause */
/* XXH3-64 and zlib CRC-32 behind one interface.  Streaming, and streaming
 * while copying, is what lets persist hash section bytes in the same pass
 * that writes them.  XXH3 runs on the code path checksum_xxh3_dispatch.c
 * picks for the CPU. */
#include "checksum.h"

#include <limits.h>
#include <string.h>
#include <zlib.h>

int checksum_algorithm_known(unsigned algo)
{
    return algo == PCACHE_CHECKSUM_XXH3_64 || algo == PCACHE_CHECKSUM_CRC32;
}

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t size)
{
    /* zlib takes uInt lengths: feed large buffers in pieces. */
    while (size > 0) {
        uInt n = size > (size_t)UINT_MAX ? UINT_MAX : (uInt)size;
        crc = (uint32_t)crc32(crc, p, n);
        p += n;
        size -= n;
    }
    return crc;
}

uint64_t pcache_checksum(pcache_checksum_algorithm algo, const void *data, size_t size)
{
    switch (algo) {
    case PCACHE_CHECKSUM_XXH3_64:
        return checksum_xxh3_ops_oneshot(size)->oneshot(data, size);
    case PCACHE_CHECKSUM_CRC32:
        return crc32_update((uint32_t)crc32(0, Z_NULL, 0), data, size);
    }
    return 0;
}

const char *pcache_checksum_name(pcache_checksum_algorithm algo)
{
    switch (algo) {
    case PCACHE_CHECKSUM_XXH3_64:
        return "xxh3-64";
    case PCACHE_CHECKSUM_CRC32:
        return "crc32";
    }
    return "unknown";
}

void checksum_reset(checksum_state *st, pcache_checksum_algorithm algo)
{
    st->algo = algo;
    if (algo == PCACHE_CHECKSUM_CRC32)
        st->crc = (uint32_t)crc32(0, Z_NULL, 0);
    else {
        st->xxh3 = checksum_xxh3_ops_streaming();
        st->xxh3->reset(&st->xxh);
    }
}

void checksum_update(checksum_state *st, const void *data, size_t size)
{
    if (size == 0)
        return;
    if (st->algo == PCACHE_CHECKSUM_CRC32)
        st->crc = crc32_update(st->crc, data, size);
    else
        st->xxh3->update(&st->xxh, data, size);
}

void checksum_update_copy(checksum_state *st, void *dst, const void *data, size_t size)
{
    if (size == 0)
        return;
    if (st->algo == PCACHE_CHECKSUM_CRC32) {
        st->crc = crc32_update(st->crc, data, size);
        memcpy(dst, data, size);
    } else {
        st->xxh3->update_copy(&st->xxh, dst, data, size);
    }
}

uint64_t checksum_digest(const checksum_state *st)
{
    if (st->algo == PCACHE_CHECKSUM_CRC32)
        return st->crc;
    return st->xxh3->digest(&st->xxh);
}

pcache_status pcache_checksum_compute(pcache_checksum_algorithm algo, const void *data, size_t size, uint64_t *out)
{
    if (!out || (!data && size))
        return PCACHE_E_INVALID_ARGUMENT;
    if (!checksum_algorithm_known((unsigned)algo))
        return PCACHE_E_CHECKSUM_ALGORITHM;
    *out = pcache_checksum(algo, data, size);
    return PCACHE_OK;
}
