/* SPDX-License-Identifier: BSD-2-Clause */
/* Reading a segment where a container says it must be. */
#ifndef PCACHE_SEGMENT_READ_H
#define PCACHE_SEGMENT_READ_H

#include "pcache/pcache.h"

/* Where a container (a standalone file's header) places a segment. */
typedef struct segment_place {
    uint64_t file_offset; /* the segment's file offset */
    uint64_t size;        /* its size */
} segment_place;

/* Steps 1 to 11 of docs/FORMAT.md 4.2, all of pcache_resurrect() but the
 * relocation tables (step 12, which resurrect.c runs after this, so that
 * the relocation reader depends on this file and not the reverse); and
 * when place is not NULL, between steps 5 and 6: the header's
 * file_offset, then its segment_size, must equal place's
 * (PCACHE_E_FILE_LAYOUT, offsets relative to the segment).  On success
 * *map is past the segment. */
pcache_status segment_read_checked(pcache_segment *seg, pcache_class cls, const uint8_t **map,
                                   uint64_t available, const pcache_expect *exp,
                                   const segment_place *place, pcache_report *rep);

/* resurrect.c: pcache_resurrect() with place as above, steps 1 to 12. */
pcache_status segment_resurrect_placed(pcache_segment *seg, pcache_class cls, const uint8_t **map,
                                       uint64_t available, const pcache_expect *exp,
                                       const segment_place *place, pcache_report *rep);

/* The newest minor whose section types this reader knows (segment_read.c):
 * PCACHE_FORMAT_MINOR; tests set it to 1 to read as a 1.1 reader. */
extern uint16_t segment_reader_minor;

#endif
