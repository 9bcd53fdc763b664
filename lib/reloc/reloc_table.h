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

/* One run (docs/FORMAT.md 9.10): count repetitions, period bytes apart,
 * of m members; member 0 is the fields of shape (at offset 0 of each
 * repetition), members 1 .. m-1 are read from the stream at `members`. */
typedef struct creloc_run {
    const uint8_t *shape;   /* member 0's shape */
    uint32_t shape_index, site;
    unsigned kind, width;   /* member 0's */
    uint64_t first;         /* site offset of the first repetition */
    uint64_t count, period, extent, m;
    const uint8_t *members; /* (shape_j, d_j) for j = 1 .. m-1 */
    uint64_t index;         /* record index of the first field */
    uint64_t at;            /* offset of the run in the segment, for reports */
    uint64_t site_offset, site_size; /* the site section's place in the segment */
} creloc_run;

/* A member of a run: its shape and its offset in a repetition. */
typedef struct creloc_member {
    const uint8_t *shape;
    uint32_t shape_index;
    unsigned kind, width;
    uint64_t off;
} creloc_member;

/* Why a run cannot be read; CRUN_OK and CRUN_END are not errors. */
typedef enum creloc_err {
    CRUN_OK = 0,
    CRUN_END,          /* no more runs */
    CRUN_VARINT,       /* a number truncated by the section's end, over 64 bits, or not minimal */
    CRUN_SHAPE_INDEX,  /* shape index past the shape table */
    CRUN_KIND,         /* the shape's kind is unknown */
    CRUN_SITE,         /* the shape's site section is not a data section inside the segment */
    CRUN_ORDER,        /* site section before the previous run's */
    CRUN_MEMBER_SITE,  /* a member's shape has another site section than member 0's */
    CRUN_COUNT,        /* more records than the header states */
    CRUN_BOUNDS        /* a field ends past its section (or its repetition) */
} creloc_err;

void creloc_begin(const reloc_tables *t, creloc_cursor *c);
const char *creloc_err_text(creloc_err e);

/* S of docs/FORMAT.md 9.10: what an implicit field of shape `shape`, at
 * site offset pos of the section at section_offset in the segment, holds
 * beyond its addend a (v = a + S mod 2^64), given the state of seg's
 * fields: 0 as written; after an apply in place, the value that apply
 * computed for addend 0. */
uint64_t creloc_implicit_bias(const pcache_segment *seg, const uint8_t *shape, uint64_t section_offset,
                              uint64_t pos);

/* The hash of the sections holding implicit addends (docs/FORMAT.md
 * 9.10): each section's checksum c, by the segment's algorithm, folded
 * once per section, in shape order, from h = 0. */
static inline uint64_t creloc_sum_fold(uint64_t h, uint64_t c, uint32_t section)
{
    return (h ^ c) * 0x9E3779B97F4A7C15ull + section;
}

/* For readers of records: after an apply in place (seg's state applied),
 * the sections holding implicit addends must hash to what that apply left
 * (else PCACHE_E_SECTION_CHECKSUM: relocated again through another
 * struct, or changed; PCACHE_E_SEGMENT_CHANGED when a shape's site
 * section is no longer a data section inside the segment).  PCACHE_OK,
 * nothing read, for the 48-byte form, pristine fields or no implicit
 * shape. */
pcache_status creloc_state_check(const pcache_segment *seg, const reloc_tables *t);

/* The record of member mb of run r whose field is at site offset pos:
 * for an implicit shape, its addend read back at seg->base (above) as its
 * target offset, addend 0.  PCACHE_E_SEGMENT_CHANGED for an implicit
 * record of a segment whose apply in place stopped partway, or a field
 * outside the run's section. */
pcache_status creloc_record(const pcache_segment *seg, const reloc_tables *t, const creloc_run *r,
                            const creloc_member *mb, uint64_t pos, pcache_reloc *out);

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

static inline void creloc_member_first(const creloc_run *r, creloc_member *mb, const uint8_t **mp)
{
    mb->shape = r->shape;
    mb->shape_index = r->shape_index;
    mb->kind = r->kind;
    mb->width = r->width;
    mb->off = 0;
    *mp = r->members;
}

/* The member after *mb, read at *mp, bounds-safe whatever the bytes (the
 * stream may have changed since creloc_next read it): its shape is in the
 * table, of a known kind, in the run's site section, and its field ends
 * at or before `limit` bytes from the repetition's start. */
static inline creloc_err creloc_member_next(const reloc_tables *t, const creloc_run *r, const uint8_t **mp,
                                            creloc_member *mb, uint64_t limit)
{
    uint64_t k, d, off;
    const uint8_t *sh;
    unsigned kind;

    if (creloc_uleb(mp, t->stream_end, &k) != 0 || creloc_uleb(mp, t->stream_end, &d) != 0)
        return CRUN_VARINT;
    if (k >= t->nshapes)
        return CRUN_SHAPE_INDEX;
    sh = t->shapes + (uint64_t)CR_SHAPE_SIZE * k;
    kind = sh[CS_KIND];
    if (!reloc_kind_known(kind))
        return CRUN_KIND;
    if (ld16(sh + CS_SITE_SECTION) != r->site)
        return CRUN_MEMBER_SITE;
    /* off_j = off_{j-1} + w_{j-1} + d_j: members never overlap */
    off = mb->off + mb->width; /* <= limit, checked for the member before */
    if (add_u64(off, d, &off) || off > limit || limit - off < (1u << CRELOC_WIDTH_SHIFT(kind)))
        return CRUN_BOUNDS;
    mb->shape = sh;
    mb->shape_index = (uint32_t)k;
    mb->kind = kind;
    mb->width = 1u << CRELOC_WIDTH_SHIFT(kind);
    mb->off = off;
    return CRUN_OK;
}

/* Decodes the next run, bounds-safe, whatever the bytes: every number is
 * read inside the stream, every member checked, and every field to lie
 * inside its site section, which lies inside the segment; a count, period
 * or gap that would reach past the section is refused, never looped over
 * (the member loop reads two numbers, at least two bytes, a member).  On
 * an error *run says where (run->at, run->index).  Inline: apply's loops
 * call it once per run. */
static inline creloc_err creloc_next(const pcache_segment *seg, const reloc_tables *t, creloc_cursor *c, creloc_run *run)
{
    const uint8_t *p = c->p, *sh;
    uint64_t h, gap, count = 1, pad = 0, m = 1, base, room, span, left;
    creloc_member mb;
    const uint8_t *mp;

    run->at = t->relocs_offset + (uint64_t)(c->p - t->relocs);
    run->index = c->index;
    if (p >= t->stream_end)
        return CRUN_END;
    if (creloc_uleb(&p, t->stream_end, &h) != 0 || creloc_uleb(&p, t->stream_end, &gap) != 0)
        return CRUN_VARINT;
    if (h & 1) {
        if (creloc_uleb(&p, t->stream_end, &count) != 0 || creloc_uleb(&p, t->stream_end, &pad) != 0)
            return CRUN_VARINT;
        if (count > UINT64_MAX - 2)
            return CRUN_COUNT;
        count += 2;
    }
    if (h & 2) {
        if (creloc_uleb(&p, t->stream_end, &m) != 0)
            return CRUN_VARINT;
        if (m > UINT64_MAX - 2)
            return CRUN_COUNT;
        m += 2;
    }
    /* records so far <= record_count, before any member is read */
    left = t->nrelocs - c->index;
    if (m > left || (m == 1 ? count > left : count > left / m)) /* (no division for the common m = 1) */
        return CRUN_COUNT;
    if ((h >> 2) >= t->nshapes)
        return CRUN_SHAPE_INDEX;
    run->shape_index = (uint32_t)(h >> 2);
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
    if (add_u64(base, gap, &run->first) || run->first > run->site_size ||
        run->site_size - run->first < run->width)
        return CRUN_BOUNDS;
    room = run->site_size - run->first; /* every field of the first repetition ends within it */
    run->members = p;
    creloc_member_first(run, &mb, &mp);
    for (uint64_t j = 1; j < m; j++) {
        creloc_err e = creloc_member_next(t, run, &mp, &mb, room);
        if (e != CRUN_OK)
            return e;
    }
    p = mp;
    run->extent = mb.off + mb.width;
    /* period = extent + pad; first + (count-1) * period + extent <= size */
    if (add_u64(run->extent, pad, &run->period))
        return CRUN_BOUNDS;
    span = room - run->extent;
    if (count > 1 && count - 1 > span / run->period)
        return CRUN_BOUNDS;
    run->count = count;
    run->m = m;
    c->p = p;
    c->section = run->site;
    c->site_offset = run->site_offset;
    c->site_size = run->site_size;
    c->prev_end = run->first + (count - 1) * run->period + run->extent;
    c->index += count * m;
    return CRUN_OK;
}

#endif
