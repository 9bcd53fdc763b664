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

uint64_t creloc_implicit_bias(const pcache_segment *seg, const uint8_t *shape, uint64_t section_offset,
                              uint64_t pos)
{
    uint64_t b1 = seg->relocs_applied_base, t1;
    unsigned kind = shape[CS_KIND];

    if (seg->relocs_state != PCACHE_RELOCS_APPLIED)
        return 0;
    if (shape[CS_TARGET_KIND] == PCACHE_TARGET_SECTION)
        t1 = b1 + ld64(shape + CS_TARGET_BASE);
    else
        t1 = seg->relocs_applied_anchor[ld16(shape + CS_TARGET_INDEX) % PCACHE_MAX_ANCHORS];
    if (!reloc_kind_relative(kind))
        return t1;
    /* T1 - (A1 + pc_offset), A1 = B1 + F + section offset + site offset */
    return t1 - (b1 + seg->file_offset + section_offset + pos + (uint64_t)(int64_t)(int32_t)ld32(shape + CS_PC_OFFSET));
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

pcache_status creloc_record(const pcache_segment *seg, const reloc_tables *t, const creloc_run *r,
                            const creloc_member *mb, uint64_t pos, pcache_reloc *out)
{
    /* (the run and member were checked against the section; a field
     * outside it is neither read nor reported, whoever made the run) */
    if (r->site_offset > seg->size || r->site_size > seg->size - r->site_offset || pos > r->site_size ||
        r->site_size - pos < mb->width)
        return PCACHE_E_SEGMENT_CHANGED;
    creloc_shape_read(seg, t, mb->shape_index, out);
    out->site_offset = pos;
    if (mb->shape[CS_ADDEND_RULE] == CR_ADDEND_IMPLICIT) {
        uint64_t v;
        if (seg->relocs_state == PCACHE_RELOCS_BROKEN)
            return PCACHE_E_SEGMENT_CHANGED;
        v = patch_load((pcache_reloc_kind)mb->kind, (pcache_byte_order)seg->identity.byte_order,
                       seg->base + r->site_offset + pos);
        /* a = v - S (9.10); reported as the target offset, addend 0 */
        out->target_offset += v - creloc_implicit_bias(seg, mb->shape, r->site_offset, pos);
        out->addend = 0;
    }
    return PCACHE_OK;
}

pcache_status creloc_state_check(const pcache_segment *seg, const reloc_tables *t)
{
    uint64_t done[PCACHE_MAX_SECTIONS / 64] = {0}, sum = 0;
    int implicit = 0;

    if (!t->compact || seg->relocs_state != PCACHE_RELOCS_APPLIED)
        return PCACHE_OK;
    for (uint32_t k = 0; k < t->nshapes; k++) {
        const uint8_t *sh = t->shapes + (uint64_t)CR_SHAPE_SIZE * k;
        uint32_t s;
        uint64_t off, size;
        if (sh[CS_ADDEND_RULE] != CR_ADDEND_IMPLICIT)
            continue;
        implicit = 1;
        s = ld16(sh + CS_SITE_SECTION);
        if (s >= seg->section_count || !reloc_data_section(seg, s))
            return PCACHE_E_SEGMENT_CHANGED;
        off = reloc_section_offset(seg, s);
        size = reloc_section_size(seg, s);
        if (off > seg->size || size > seg->size - off)
            return PCACHE_E_SEGMENT_CHANGED;
        if (done[s / 64] & (1ull << (s % 64)))
            continue;
        done[s / 64] |= 1ull << (s % 64);
        sum = creloc_sum_fold(sum, pcache_checksum(seg->identity.checksum, seg->base + off, (size_t)size), s);
    }
    return !implicit || sum == seg->relocs_applied_sum ? PCACHE_OK : PCACHE_E_SECTION_CHECKSUM;
}

/* Record i of a compact table: a walk over the runs before it, then over
 * the members of its run before it: O(runs + members), no state kept. */
static pcache_status creloc_record_read(const pcache_segment *seg, const reloc_tables *t, uint64_t i,
                                        pcache_reloc *out)
{
    creloc_cursor c;
    creloc_run run;
    creloc_err e;

    creloc_begin(t, &c);
    while ((e = creloc_next(seg, t, &c, &run)) == CRUN_OK) {
        uint64_t local, rep, j;
        creloc_member mb;
        const uint8_t *mp;
        if (i - run.index >= run.count * run.m)
            continue;
        local = i - run.index;
        rep = local / run.m;
        j = local % run.m;
        creloc_member_first(&run, &mb, &mp);
        for (uint64_t k = 1; k <= j; k++)
            if (creloc_member_next(t, &run, &mp, &mb, run.extent) != CRUN_OK)
                return PCACHE_E_SEGMENT_CHANGED;
        return creloc_record(seg, t, &run, &mb, run.first + rep * run.period + mb.off, out);
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

/* ---- the caller-owned iterator (reloc.h) ---- */

typedef struct iter_state {
    const uint8_t *base, *stream, *stream_end;
    creloc_cursor c;     /* after run */
    creloc_run run;      /* the run of the next record, unless need_run */
    creloc_member mb;    /* its member */
    const uint8_t *mp;   /* where the member after mb is read */
    uint64_t rep, j;     /* its repetition and member number */
    int need_run;        /* the next record starts the run at c */
} iter_state;

_Static_assert(sizeof(iter_state) <= sizeof(((pcache_reloc_iter *)0)->internal),
               "pcache_reloc_iter.internal holds the iterator's state");
_Static_assert(PCACHE_MAX_ANCHORS == sizeof(((pcache_segment *)0)->relocs_applied_anchor) / sizeof(uint64_t),
               "pcache_segment holds an address per anchor");

pcache_status pcache_reloc_iter_init(pcache_reloc_iter *it, const pcache_segment *seg)
{
    reloc_tables t;
    iter_state st;
    pcache_status s;

    if (!it || !seg || !seg->base)
        return PCACHE_E_INVALID_ARGUMENT;
    memset(it, 0, sizeof *it);
    if ((s = reloc_seal_check(seg, NULL)) != PCACHE_OK || (s = reloc_tables_find(seg, &t, NULL)) != PCACHE_OK ||
        (s = creloc_state_check(seg, &t)) != PCACHE_OK)
        return s;
    memset(&st, 0, sizeof st);
    st.base = seg->base;
    st.stream = t.stream;
    st.stream_end = t.stream_end;
    creloc_begin(&t, &st.c);
    st.need_run = 1;
    it->seg = seg;
    memcpy(it->internal, &st, sizeof st);
    return PCACHE_OK;
}

pcache_status pcache_reloc_iter_next(pcache_reloc_iter *it, pcache_reloc *out)
{
    const pcache_segment *seg;
    reloc_tables t;
    iter_state st;
    pcache_status s;

    if (!it || !out || !it->seg || !it->seg->base)
        return PCACHE_E_INVALID_ARGUMENT;
    seg = it->seg;
    if ((s = reloc_seal_check(seg, NULL)) != PCACHE_OK || (s = reloc_tables_find(seg, &t, NULL)) != PCACHE_OK)
        return s;
    if (it->index >= seg->relocs_count)
        return PCACHE_E_NOT_FOUND;
    if (!t.compact) {
        if (it->index >= t.nrelocs)
            return PCACHE_E_NOT_FOUND;
        reloc_record_decode(seg, &t, t.relocs + it->index * PCACHE_RELOC_RECORD_SIZE, out);
        it->index++;
        return PCACHE_OK;
    }
    memcpy(&st, it->internal, sizeof st);
    /* the state is the one a call made for these bytes (pointers are only
     * compared and kept inside the stream) */
    if (st.base != seg->base || st.stream != t.stream || st.stream_end != t.stream_end || st.c.p < t.stream ||
        st.c.p > t.stream_end)
        return PCACHE_E_SEGMENT_CHANGED;
    if (st.need_run) {
        creloc_err e = creloc_next(seg, &t, &st.c, &st.run);
        if (e != CRUN_OK) /* CRUN_END too: the count says there is a record */
            return PCACHE_E_SEGMENT_CHANGED;
        st.rep = st.j = 0;
        creloc_member_first(&st.run, &st.mb, &st.mp);
        st.need_run = 0;
    } else if (st.mp < t.stream || st.mp > t.stream_end || st.run.m == 0 ||
               st.run.index + st.rep * st.run.m + st.j != it->index || st.mb.shape_index >= t.nshapes ||
               st.mb.shape != t.shapes + (uint64_t)CR_SHAPE_SIZE * st.mb.shape_index ||
               !reloc_kind_known(st.mb.kind) || st.mb.width != 1u << CRELOC_WIDTH_SHIFT(st.mb.kind)) {
        return PCACHE_E_SEGMENT_CHANGED;
    }
    if ((s = creloc_record(seg, &t, &st.run, &st.mb, st.run.first + st.rep * st.run.period + st.mb.off, out)) !=
        PCACHE_OK)
        return s;
    /* the position of the record after it */
    if (st.j + 1 < st.run.m) {
        if (creloc_member_next(&t, &st.run, &st.mp, &st.mb, st.run.extent) != CRUN_OK)
            return PCACHE_E_SEGMENT_CHANGED;
        st.j++;
    } else if (st.rep + 1 < st.run.count) {
        st.rep++;
        st.j = 0;
        creloc_member_first(&st.run, &st.mb, &st.mp);
    } else {
        st.need_run = 1;
    }
    memcpy(it->internal, &st, sizeof st);
    it->index++;
    return PCACHE_OK;
}
