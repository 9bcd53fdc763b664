/* SPDX-License-Identifier: BSD-2-Clause */
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

/* 1 if section i is a client (DATA) section this reader knows the flags
 * of: the only kind a relocation site or section target may be in. */
static inline int reloc_data_section(const pcache_segment *seg, uint32_t i)
{
    const uint8_t *e = reloc_entry(seg, i);
    return ld16(e + SE_TYPE) == PCACHE_TYPE_DATA && !(ld16(e + SE_FLAGS) & ~SECTION_FLAGS_KNOWN);
}

/* 1 if an anchor entry's name field holds a valid name (docs/FORMAT.md
 * 9.6): 1-31 bytes 0x21-0x7E, a NUL, zeros. */
int reloc_anchor_name_valid(const uint8_t *field);

/* Locates the tables and checks their section entries only (no section
 * bytes read): names, flags, sizes, and that each lies inside the segment
 * that seg describes (as resurrect checked, and as apply does not take on
 * trust). */
pcache_status reloc_tables_find(const pcache_segment *seg, reloc_tables *t, pcache_report *rep);

/* Locates the tables; under PCACHE_VALIDATE_LAZY verifies their
 * checksums; validates every anchor entry and record (kinds, reserved
 * bytes, indices, bounds, order, overlap).  On success counts in
 * seg->relocs_ranged the records whose value can be out of range, sums
 * them up in seg->relocs_spans, and seals the segment.  Resurrect calls
 * it, last. */
pcache_status reloc_tables_check(pcache_segment *seg, reloc_tables *t, pcache_report *rep);

/* The relocation seal (reloc_seal.c): what the check above vouches for.
 * reloc_seal stores it in seg->relocs_checked.  reloc_seal_check is
 * PCACHE_OK while seg and the header, section table and checksum trailer
 * at its base are those the check passed on; else PCACHE_E_STATE for a
 * struct never sealed, PCACHE_E_SEGMENT_CHANGED for one that changed.  It
 * reads no byte outside [seg->base, seg->base + seg->size).  reloc_seal
 * only seals bytes resurrect verified (their header and table checksums
 * match): it may take hashes from those checksums. */
void reloc_seal(pcache_segment *seg);
pcache_status reloc_seal_check(const pcache_segment *seg, pcache_report *rep);

/* Record i, decoded without checks (the table has been checked). */
void reloc_record_read(const pcache_segment *seg, const reloc_tables *t, uint64_t i, pcache_reloc *r);

#endif
