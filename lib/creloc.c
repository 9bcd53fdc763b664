/* SPDX-License-Identifier: BSD-2-Clause */
/* The compact relocation table, ".crelocs" (docs/FORMAT.md 9.10): the
 * run stream decoded one run at a time, bounds-safe and without
 * allocation.  Every number is read inside the stream; every run is
 * checked against its shape, its site section and the record count before
 * anyone uses it, so that a hostile stream ends in an error, never in a
 * read or a loop past what its bytes can describe: each run takes at
 * least two bytes, and its fields lie inside a section of the segment. */
#include <string.h>

#include "patch.h"
#include "reloc_table.h"

void creloc_begin(const reloc_tables *t, creloc_cursor *c)
{
    c->p = t->stream;
    c->section = RELOC_NO_SECTION;
    c->site_offset = c->site_size = 0;
    c->prev_end = 0;
    c->index = 0;
}

const char *creloc_err_text(creloc_err e)
{
    switch (e) {
    case CRUN_VARINT: return "a number is truncated, longer than 64 bits or not in its shortest form";
    case CRUN_SHAPE_INDEX: return "shape index past the shape table";
    case CRUN_KIND: return "its shape's kind is unknown";
    case CRUN_SITE: return "its shape's site section is not a data section inside the segment";
    case CRUN_ORDER: return "its site section comes before the previous run's (not sorted)";
    case CRUN_COUNT: return "more records than the header states";
    case CRUN_BOUNDS: return "a field ends past its site section";
    default: return "no error";
    }
}

uint64_t creloc_stored_value(const pcache_segment *seg, const creloc_run *r, uint64_t offset)
{
    return patch_load((pcache_reloc_kind)r->kind, (pcache_byte_order)seg->identity.byte_order,
                      seg->base + r->site_offset + offset);
}

void creloc_shape_read(const pcache_segment *seg, const reloc_tables *t, uint32_t k, pcache_reloc *r)
{
    const uint8_t *sh = t->shapes + (uint64_t)CR_SHAPE_SIZE * k;

    memset(r, 0, sizeof *r);
    r->kind = (pcache_reloc_kind)sh[CS_KIND];
    r->target_kind = (pcache_target_kind)sh[CS_TARGET_KIND];
    r->pc_offset = (int32_t)ld32(sh + CS_PC_OFFSET);
    r->site_index = ld16(sh + CS_SITE_SECTION);
    r->target_offset = ld64(sh + CS_TARGET_OFFSET);
    r->addend = (int64_t)ld64(sh + CS_ADDEND);
    if (r->site_index < seg->section_count)
        r->site_section = (const char *)reloc_entry(seg, r->site_index) + SE_NAME;
    if (r->target_kind == PCACHE_TARGET_SECTION) {
        r->target_class = sh[CS_TARGET_CLASS] >= 1 && sh[CS_TARGET_CLASS] <= PCACHE_CLASS_COUNT
                              ? (pcache_class)(sh[CS_TARGET_CLASS] - 1)
                              : PCACHE_CLASS_COUNT;
        r->target_index = ld16(sh + CS_TARGET_INDEX);
        r->target_base = ld64(sh + CS_TARGET_BASE);
        if (r->target_class == seg->cls && r->target_index < seg->section_count)
            r->target_section = (const char *)reloc_entry(seg, r->target_index) + SE_NAME;
    } else {
        r->anchor_index = ld16(sh + CS_TARGET_INDEX);
        if (r->anchor_index < t->nanchors) {
            const uint8_t *a = t->anchors + (uint64_t)r->anchor_index * PCACHE_ANCHOR_ENTRY_SIZE;
            r->anchor = (const char *)a + AE_NAME;
            r->anchor_persisted = ld64(a + AE_ADDRESS);
        }
    }
}

/* Record i of a compact table: its run's shape, its site offset, and for
 * an implicit addend the field's stored value a (9.10): the target is
 * origin + the shape's target offset + a, reported as that target offset
 * + a with addend 0 (an implicit shape's addend field is 0). */
/* Where the last read of this thread stopped: reading records 0, 1, 2,
 * ... in turn (as tools do) walks the runs once, not once a record.  Only
 * a position: a table that changed meanwhile is decoded bounds-safe from
 * it as from the start. */
static __thread struct {
    const uint8_t *base, *table, *stream_end;
    uint64_t size;
    creloc_cursor c;
    creloc_run run;
    int valid;
} last;

static pcache_status creloc_record_read(const pcache_segment *seg, const reloc_tables *t, uint64_t i,
                                        pcache_reloc *r)
{
    creloc_cursor c;
    creloc_run run;
    creloc_err e = CRUN_OK;
    int resume = last.valid && last.base == seg->base && last.size == seg->size && last.table == t->relocs &&
                 last.stream_end == t->stream_end && i >= last.run.index;

    if (resume) {
        c = last.c;
        run = last.run;
    } else {
        creloc_begin(t, &c);
        e = creloc_next(seg, t, &c, &run);
    }
    last.valid = 0;
    for (; e == CRUN_OK; e = creloc_next(seg, t, &c, &run)) {
        uint64_t off;
        if (i >= run.index + run.count)
            continue;
        last.base = seg->base;
        last.size = seg->size;
        last.table = t->relocs;
        last.stream_end = t->stream_end;
        last.c = c;
        last.run = run;
        last.valid = 1;
        off = run.offset + (i - run.index) * run.width;
        creloc_shape_read(seg, t, run.shape_index, r);
        r->site_offset = off;
        if (run.shape[CS_ADDEND_RULE] == CR_ADDEND_IMPLICIT) {
            r->target_offset += creloc_stored_value(seg, &run, off);
            r->addend = 0;
        }
        return PCACHE_OK;
    }
    return e == CRUN_END ? PCACHE_E_NOT_FOUND : PCACHE_E_SEGMENT_CHANGED;
}

pcache_status reloc_record_read(const pcache_segment *seg, const reloc_tables *t, uint64_t i, pcache_reloc *r)
{
    if (t->compact)
        return creloc_record_read(seg, t, i, r);
    reloc_record_decode(seg, t, t->relocs + i * PCACHE_RELOC_RECORD_SIZE, r);
    return PCACHE_OK;
}

void reloc_record_decode(const pcache_segment *seg, const reloc_tables *t, const uint8_t *rec, pcache_reloc *r)
{
    memset(r, 0, sizeof *r);
    r->kind = (pcache_reloc_kind)rec[RR_KIND];
    r->target_kind = (pcache_target_kind)rec[RR_TARGET_KIND];
    r->pc_offset = (int32_t)ld32(rec + RR_PC_OFFSET);
    r->site_index = ld16(rec + RR_SITE_SECTION);
    r->site_offset = ld64(rec + RR_SITE_OFFSET);
    r->target_offset = ld64(rec + RR_TARGET_OFFSET);
    r->addend = (int64_t)ld64(rec + RR_ADDEND);
    if (r->site_index < seg->section_count)
        r->site_section = (const char *)reloc_entry(seg, r->site_index) + SE_NAME;
    if (r->target_kind == PCACHE_TARGET_SECTION) {
        /* an invalid code becomes PCACHE_CLASS_COUNT, which no check accepts */
        r->target_class = rec[RR_TARGET_CLASS] >= 1 && rec[RR_TARGET_CLASS] <= PCACHE_CLASS_COUNT
                              ? (pcache_class)(rec[RR_TARGET_CLASS] - 1)
                              : PCACHE_CLASS_COUNT;
        r->target_index = ld16(rec + RR_TARGET_INDEX);
        r->target_base = ld64(rec + RR_TARGET_BASE);
        if (r->target_class == seg->cls && r->target_index < seg->section_count)
            r->target_section = (const char *)reloc_entry(seg, r->target_index) + SE_NAME;
    } else {
        r->anchor_index = ld16(rec + RR_TARGET_INDEX);
        if (r->anchor_index < t->nanchors) {
            const uint8_t *a = t->anchors + (uint64_t)r->anchor_index * PCACHE_ANCHOR_ENTRY_SIZE;
            r->anchor = (const char *)a + AE_NAME;
            r->anchor_persisted = ld64(a + AE_ADDRESS);
        }
    }
}
