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
#include "patch.h"
#include "pcache/reloc.h"

#define RELOC_NO_SECTION UINT32_MAX

typedef struct reloc_tables {
    uint32_t relocs_index, anchors_index; /* RELOC_NO_SECTION when absent */
    const uint8_t *relocs;                /* the section's first byte */
    uint64_t nrelocs;                     /* compact: as its header states */
    uint64_t relocs_offset;               /* in the segment, for reports */
    const uint8_t *anchors;
    uint32_t nanchors;
    /* ".crelocs" (docs/FORMAT.md 9.10) in place of ".relocs": relocs_index
     * is its index, relocs its first byte */
    int compact;
    const uint8_t *shapes;                /* nshapes entries of CR_SHAPE_SIZE */
    uint32_t nshapes;
    const uint8_t *stream, *stream_end;   /* the run stream */
} reloc_tables;

/* ---- the compact form: runs of records (creloc.c) ---- */

/* Where a walk over the run stream is. */
typedef struct creloc_cursor {
    const uint8_t *p;   /* next run */
    uint32_t section;   /* site section of the previous run; RELOC_NO_SECTION before the first */
    uint64_t prev_end;  /* where the previous run's last field ends, in that section */
    uint64_t index;     /* records before the next run */
    uint64_t site_offset, site_size; /* that section's place in the segment, checked */
} creloc_cursor;

/* One run: count adjacent fields of one shape. */
typedef struct creloc_run {
    const uint8_t *shape;
    uint32_t shape_index, site;
    unsigned kind, width;
    uint64_t offset, count; /* site offset of the first field; fields */
    uint64_t index;         /* record index of the first field */
    uint64_t at;            /* offset of the run in the segment, for reports */
    uint64_t site_offset, site_size; /* the site section's place in the segment */
} creloc_run;

/* Why a run cannot be read; CRUN_OK and CRUN_END are not errors. */
typedef enum creloc_err {
    CRUN_OK = 0,
    CRUN_END,          /* no more runs */
    CRUN_VARINT,       /* a number truncated by the section's end, over 64 bits, or not minimal */
    CRUN_SHAPE_INDEX,  /* shape index past the shape table */
    CRUN_KIND,         /* the shape's kind is unknown */
    CRUN_SITE,         /* the shape's site section is not a data section inside the segment */
    CRUN_ORDER,        /* site section before the previous run's */
    CRUN_COUNT,        /* more records than the header states */
    CRUN_BOUNDS        /* a field ends past its section */
} creloc_err;

void creloc_begin(const reloc_tables *t, creloc_cursor *c);
const char *creloc_err_text(creloc_err e);

/* The value of the field at `offset` of run r's site section as stored in
 * the segment's bytes at seg->base: sign-extended for relative kinds,
 * zero-extended for absolute ones (an implicit addend). */
uint64_t creloc_stored_value(const pcache_segment *seg, const creloc_run *r, uint64_t offset);

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

/* Record i, decoded without checks (the table has been checked).  For a
 * compact table: found by walking the runs; PCACHE_E_NOT_FOUND when the
 * stream holds no record i, PCACHE_E_SEGMENT_CHANGED when it no longer
 * decodes. */
pcache_status reloc_record_read(const pcache_segment *seg, const reloc_tables *t, uint64_t i, pcache_reloc *r);

/* A 48-byte record's bytes, decoded without checks. */
void reloc_record_decode(const pcache_segment *seg, const reloc_tables *t, const uint8_t *rec, pcache_reloc *r);

/* Shape k of a compact table as a record (site offset 0, and for an
 * implicit addend, addend 0). */
void creloc_shape_read(const pcache_segment *seg, const reloc_tables *t, uint32_t k, pcache_reloc *r);

/* Decodes the next run, bounds-safe, whatever the bytes: every number is
 * read inside the stream and every field checked to lie inside its site
 * section, which lies inside the segment.  On an error *run says where
 * (run->at, run->index).  Inline: apply's loops call it once per run. */
/* A ULEB128 of at most 64 bits, in its shortest form: 0 on success. */
static inline int creloc_uleb(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    uint64_t x = 0;

    if (__builtin_expect(p < end && *p < 0x80, 1)) { /* one byte: most numbers */
        *v = *p;
        *pp = p + 1;
        return 0;
    }

    for (unsigned i = 0; i < CR_VARINT_MAX; i++) {
        uint8_t b;
        if (p == end)
            return -1;
        b = *p++;
        if (i == CR_VARINT_MAX - 1 && b > 1)
            return -1; /* bits past 64 */
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (i > 0 && b == 0)
                return -1; /* not the shortest form */
            *v = x;
            *pp = p;
            return 0;
        }
    }
    return -1;
}

/* log2 of a known kind's width, by kind code */
#define CRELOC_WIDTH_SHIFT(kind) ((0x3a0u >> (2 * (kind))) & 3u) /* 1: 0, 2: 2, 3: 2, 4: 3 */

static inline creloc_err creloc_next(const pcache_segment *seg, const reloc_tables *t, creloc_cursor *c, creloc_run *run)
{
    const uint8_t *p = c->p, *sh;
    uint64_t h, gap, extra = 0, count, base, off;

    run->at = t->relocs_offset + (uint64_t)(c->p - t->relocs);
    run->index = c->index;
    if (p >= t->stream_end)
        return CRUN_END;
    if (creloc_uleb(&p, t->stream_end, &h) != 0 || creloc_uleb(&p, t->stream_end, &gap) != 0 ||
        ((h & 1) && creloc_uleb(&p, t->stream_end, &extra) != 0))
        return CRUN_VARINT;
    if (extra > UINT64_MAX - 2)
        return CRUN_COUNT;
    count = (h & 1) ? extra + 2 : 1;
    if ((h >> 1) >= t->nshapes)
        return CRUN_SHAPE_INDEX;
    run->shape_index = (uint32_t)(h >> 1);
    run->shape = sh = t->shapes + (uint64_t)CR_SHAPE_SIZE * run->shape_index;
    run->kind = sh[CS_KIND];
    if (!reloc_kind_known(run->kind))
        return CRUN_KIND;
    run->width = 1u << CRELOC_WIDTH_SHIFT(run->kind);
    run->site = ld16(sh + CS_SITE_SECTION);
    if (run->site == c->section) { /* the previous run's section, checked then */
        run->site_offset = c->site_offset;
        run->site_size = c->site_size;
        base = c->prev_end;
    } else {
        if (run->site >= seg->section_count || !reloc_data_section(seg, run->site))
            return CRUN_SITE;
        run->site_offset = reloc_section_offset(seg, run->site);
        run->site_size = reloc_section_size(seg, run->site);
        if (run->site_offset > seg->size || run->site_size > seg->size - run->site_offset)
            return CRUN_SITE;
        if (c->section != RELOC_NO_SECTION && run->site < c->section)
            return CRUN_ORDER;
        base = 0;
    }
    if (add_u64(base, gap, &off) || off > run->site_size ||
        count > (run->site_size - off) >> CRELOC_WIDTH_SHIFT(run->kind))
        return CRUN_BOUNDS;
    if (count > t->nrelocs - c->index)
        return CRUN_COUNT;
    run->offset = off;
    run->count = count;
    c->p = p;
    c->section = run->site;
    c->site_offset = run->site_offset;
    c->site_size = run->site_size;
    c->prev_end = off + count * run->width;
    c->index += count;
    return CRUN_OK;
}

#endif
