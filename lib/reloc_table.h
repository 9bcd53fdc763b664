/* Reading the ".relocs" and ".anchors" sections of a resurrected segment:
 * finding them, validating them as hostile input, decoding records.
 * Shared by resurrect (which refuses a malformed table), the record
 * iterator and pcache_reloc_apply. */
#ifndef PCACHE_RELOC_TABLE_H
#define PCACHE_RELOC_TABLE_H

#include <stdint.h>

#include "bytes.h"
#include "format.h"
#include "pcache/reloc.h"

#define RELOC_NO_SECTION UINT32_MAX

typedef struct reloc_tables {
    uint32_t relocs_index, anchors_index; /* RELOC_NO_SECTION when absent */
    const uint8_t *relocs;
    uint64_t nrelocs;
    uint64_t relocs_offset;               /* in the segment, for reports */
    const uint8_t *anchors;
    uint32_t nanchors;
} reloc_tables;

static inline const uint8_t *reloc_entry(const pcache_segment *seg, uint32_t i)
{
    return seg->base + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i;
}

static inline uint64_t reloc_section_offset(const pcache_segment *seg, uint32_t i)
{
    return ld64(reloc_entry(seg, i) + SE_OFFSET);
}

static inline uint64_t reloc_section_size(const pcache_segment *seg, uint32_t i)
{
    return ld64(reloc_entry(seg, i) + SE_STORED_SIZE);
}

/* Locates the tables and checks their section entries only (no section
 * bytes read).  Used where resurrect has already validated the rest. */
pcache_status reloc_tables_find(const pcache_segment *seg, reloc_tables *t, pcache_report *rep);

/* Locates the tables; under PCACHE_VALIDATE_LAZY verifies their
 * checksums; validates every anchor entry and record (kinds, reserved
 * bytes, indices, bounds, order, overlap).  On success seals the segment
 * (seg->relocs_checked), counts in seg->relocs_ranged the records whose
 * value can be out of range and sums them up in seg->relocs_spans.
 * Resurrect calls it; so does pcache_reloc_apply for a segment that is
 * not sealed. */
pcache_status reloc_tables_check(pcache_segment *seg, reloc_tables *t, pcache_report *rep);

/* 1 if reloc_tables_check has passed on seg with its present base, size
 * and layout: a segment resurrect accepted, not one made or changed by
 * hand.  The seal vouches for the table bytes as they were read. */
int reloc_tables_checked(const pcache_segment *seg);

/* Record i, decoded without checks (the table has been checked). */
void reloc_record_read(const pcache_segment *seg, const reloc_tables *t, uint64_t i, pcache_reloc *r);

#endif
