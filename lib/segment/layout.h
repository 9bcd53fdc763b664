/* SPDX-License-Identifier: BSD-2-Clause */
/* The canonical placement of a segment's sections at a file offset.
 * Writer and reader share it: the reader recomputes and compares. */
#ifndef PCACHE_LAYOUT_H
#define PCACHE_LAYOUT_H

#include <stdint.h>

#include "pcache/pcache.h"

typedef struct layout_item {
    uint32_t align;       /* power of two */
    uint64_t stored_size;
    uint64_t offset;      /* out: from segment start */
} layout_item;

typedef struct layout_result {
    uint64_t table_end;       /* 256 + 64 n */
    uint64_t trailer_offset;
    uint64_t trailer_end;
    uint64_t segment_size;
} layout_result;

/* Lays out n items for a segment starting at file offset file_offs.
 * page_round: round the segment's end up to page_size.  Returns PCACHE_OK
 * or PCACHE_E_OVERFLOW if any offset would not fit in 64 bits.  On
 * overflow *bad (if not NULL) receives the index of the item that did not
 * fit (n for the trailer). */
pcache_status layout_segment(uint64_t file_offs, layout_item *items, uint32_t n,
                             int page_round, uint32_t page_size,
                             layout_result *res, uint32_t *bad);

/* Canonical placement of the segments of a standalone file. */
typedef struct file_layout {
    uint64_t offset[PCACHE_CLASS_COUNT]; /* 0 when absent */
    uint64_t footer_offset;
    uint64_t file_size;
} file_layout;

pcache_status layout_file(const uint64_t seg_size[PCACHE_CLASS_COUNT],
                          uint32_t page_size, file_layout *out);

#endif
