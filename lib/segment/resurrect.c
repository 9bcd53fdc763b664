/* SPDX-License-Identifier: BSD-2-Clause */
/* Resurrecting a segment as a whole (docs/FORMAT.md 4.2): the segment's
 * own checks, steps 1 to 11 (segment_read.c), then its relocation tables,
 * step 12 (reloc_read.c), so that a malformed table never reaches
 * pcache_reloc_apply.  Kept apart from segment_read.c because the
 * relocation reader reads its tables through segment_read.c's section
 * views: this file depends on both, and they on each other in one
 * direction only. */
#include <string.h>

#include "reloc_table.h"
#include "segment_read.h"

pcache_status pcache_resurrect(pcache_segment *seg, pcache_class cls, const uint8_t **map,
                               uint64_t available, const pcache_expect *exp, pcache_report *rep)
{
    return segment_resurrect_placed(seg, cls, map, available, exp, NULL, rep);
}

pcache_status segment_resurrect_placed(pcache_segment *seg, pcache_class cls, const uint8_t **map,
                                       uint64_t available, const pcache_expect *exp,
                                       const segment_place *place, pcache_report *rep)
{
    const uint8_t *start = map ? *map : NULL;
    reloc_tables t;
    pcache_status st;

    if ((st = segment_read_checked(seg, cls, map, available, exp, place, rep)) != PCACHE_OK)
        return st;
    /* 12. relocation tables: a malformed one never reaches pcache_reloc_apply */
    if ((st = reloc_tables_check(seg, &t, rep)) != PCACHE_OK) {
        /* as if steps 1 to 11 had failed: *map unmoved, seg cleared */
        *map = start;
        memset(seg, 0, sizeof *seg);
        return st;
    }
    return PCACHE_OK;
}
