/* SPDX-License-Identifier: BSD-2-Clause */
/* What the reader knows about a compressed section from its table entry
 * alone: whether it is one, and whether its two sizes can belong to a
 * zlib stream at all (docs/FORMAT.md 3.8). */
#ifndef PCACHE_COMPRESSED_SECTION_H
#define PCACHE_COMPRESSED_SECTION_H

#include <stdint.h>

#include "bytes.h"
#include "format.h"
#include "pcache/pcache.h"

/* A DATA section with the COMPRESSED flag and no flag this reader does
 * not know.  On another type the flag is unknown: the section is unknown. */
static inline int entry_compressed(const uint8_t *e)
{
    uint16_t flags = ld16(e + SE_FLAGS);
    return ld16(e + SE_TYPE) == PCACHE_TYPE_DATA && !(flags & ~DATA_FLAGS_KNOWN) &&
           (flags & PCACHE_SECTION_COMPRESSED);
}

/* 0 if no zlib stream of stored bytes inflates to size bytes: shorter than
 * the shortest stream, or above deflate's densest ratio. */
static inline int compressed_sizes_possible(uint64_t stored, uint64_t size)
{
    if (stored < ZLIB_STREAM_MIN)
        return 0;
    if (stored > (UINT64_MAX - DEFLATE_RATIO_SLACK) / DEFLATE_MAX_RATIO)
        return 1;
    return size <= stored * DEFLATE_MAX_RATIO + DEFLATE_RATIO_SLACK;
}

#endif
