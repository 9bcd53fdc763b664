/* SPDX-License-Identifier: BSD-2-Clause */
/* Reading relocation tables: every byte of ".relocs" and ".anchors" is
 * hostile until checked, even under a valid checksum (the writer may be
 * buggy or the checksum re-signed), because apply writes where records
 * say.  docs/FORMAT.md, section 9. */
#include <inttypes.h>
#include <string.h>

#include "patch.h"
#include "reloc_table.h"
#include "report.h"

static pcache_status table_fail(pcache_report *rep, pcache_status st, const pcache_segment *seg,
                                const char *section, uint64_t off, const char *what)
{
    return report_fail(rep, st, seg->cls, section, off, 0, 0, 0, "%s", what);
}

pcache_status reloc_tables_find(const pcache_segment *seg, reloc_tables *t, pcache_report *rep)
{
    memset(t, 0, sizeof *t);
    t->relocs_index = t->anchors_index = RELOC_NO_SECTION;
    if (seg->section_count > PCACHE_MAX_SECTIONS ||
        seg->size < SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * seg->section_count)
        return report_fail(rep, PCACHE_E_SECTION_TABLE, seg->cls, NULL, SH_SECTION_COUNT, 1, seg->size,
                           SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * seg->section_count,
                           "section table ends past the segment (segment size, table end)");
    for (uint32_t i = 0; i < seg->section_count; i++) {
        const uint8_t *e = reloc_entry(seg, i);
        uint16_t type = ld16(e + SE_TYPE), flags = ld16(e + SE_FLAGS);
        const char *want;
        uint64_t eoff = SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i;
        uint64_t off = ld64(e + SE_OFFSET), size = ld64(e + SE_STORED_SIZE);

        if (type != PCACHE_TYPE_RELOCS && type != PCACHE_TYPE_ANCHORS && type != PCACHE_TYPE_CRELOCS)
            continue;
        /* A flag bit this reader does not know makes the section unknown:
         * skipped (resurrect refused it unless skippable), not ours. */
        if (flags & ~SECTION_FLAGS_KNOWN)
            continue;
        want = type == PCACHE_TYPE_RELOCS    ? RELOCS_SECTION_NAME
               : type == PCACHE_TYPE_CRELOCS ? CRELOCS_SECTION_NAME
                                             : ANCHORS_SECTION_NAME;
        if (strncmp((const char *)e + SE_NAME, want, SE_NAME_SIZE) != 0)
            return report_fail(rep, PCACHE_E_RELOC_TABLE, seg->cls, (const char *)e + SE_NAME, eoff + SE_NAME, 0, 0,
                               0, "a section of type %u must be named '%s'", type, want);
        /* An older reader must not skip relocations: the bytes would be wrong. */
        if (flags & PCACHE_SECTION_SKIPPABLE)
            return table_fail(rep, PCACHE_E_RELOC_TABLE, seg, want, eoff + SE_FLAGS,
                              "relocation sections must not be marked skippable");
        /* resurrect checked the layout; a struct it did not fill in is
         * held to it here, before any record is read */
        if (off > seg->size || size > seg->size - off)
            return report_fail(rep, PCACHE_E_SECTION_TABLE, seg->cls, want, eoff + SE_OFFSET, 1, seg->size, off,
                               "section starts or ends past the segment (segment size, section offset)");
        if ((type == PCACHE_TYPE_RELOCS || type == PCACHE_TYPE_CRELOCS) && t->relocs_index != RELOC_NO_SECTION)
            return table_fail(rep, PCACHE_E_RELOC_TABLE, seg, want, eoff + SE_TYPE,
                              "a segment holds one relocation table: '.relocs' or '.crelocs', not both");
        if (type == PCACHE_TYPE_CRELOCS) {
            uint64_t shapes_end;
            const uint8_t *h = seg->base + off;
            /* the header, and the shapes it counts, inside the section */
            if (size < CR_HEADER_SIZE)
                return report_fail(rep, PCACHE_E_RELOC_TABLE, seg->cls, want, eoff + SE_STORED_SIZE, 1,
                                   CR_HEADER_SIZE, size, "section shorter than its header (header size, size)");
            t->nrelocs = ld64(h + CR_RECORD_COUNT);
            t->nshapes = ld32(h + CR_SHAPE_COUNT);
            shapes_end = CR_HEADER_SIZE + (uint64_t)CR_SHAPE_SIZE * t->nshapes;
            if (shapes_end > size)
                return report_fail(rep, PCACHE_E_RELOC_TABLE, seg->cls, want, off + CR_SHAPE_COUNT, 1, size,
                                   shapes_end, "shape table ends past the section (size, shapes end)");
            t->compact = 1;
            t->relocs_index = i;
            t->relocs_offset = off;
            t->relocs = h;
            t->shapes = h + CR_HEADER_SIZE;
            t->stream = h + shapes_end;
            t->stream_end = h + size;
        } else if (type == PCACHE_TYPE_RELOCS) {
            if (size % PCACHE_RELOC_RECORD_SIZE != 0)
                return report_fail(rep, PCACHE_E_RELOC_TABLE, seg->cls, want, eoff + SE_STORED_SIZE, 1,
                                   PCACHE_RELOC_RECORD_SIZE, size % PCACHE_RELOC_RECORD_SIZE,
                                   "size is not a multiple of the record size (record size, remainder)");
            t->relocs_index = i;
            t->relocs_offset = off;
            t->relocs = seg->base + off;
            t->nrelocs = size / PCACHE_RELOC_RECORD_SIZE;
        } else {
            if (size % PCACHE_ANCHOR_ENTRY_SIZE != 0)
                return report_fail(rep, PCACHE_E_RELOC_TABLE, seg->cls, want, eoff + SE_STORED_SIZE, 1,
                                   PCACHE_ANCHOR_ENTRY_SIZE, size % PCACHE_ANCHOR_ENTRY_SIZE,
                                   "size is not a multiple of the anchor entry size (entry size, remainder)");
            if (size / PCACHE_ANCHOR_ENTRY_SIZE > PCACHE_MAX_ANCHORS)
                return report_fail(rep, PCACHE_E_RELOC_TABLE, seg->cls, want, eoff + SE_STORED_SIZE, 1,
                                   PCACHE_MAX_ANCHORS, size / PCACHE_ANCHOR_ENTRY_SIZE, "too many anchors");
            t->anchors_index = i;
            t->anchors = seg->base + off;
            t->nanchors = (uint32_t)(size / PCACHE_ANCHOR_ENTRY_SIZE);
        }
    }
    if (t->anchors_index != RELOC_NO_SECTION && t->relocs_index == RELOC_NO_SECTION)
        return table_fail(rep, PCACHE_E_RELOC_TABLE, seg, ANCHORS_SECTION_NAME,
                          reloc_section_offset(seg, t->anchors_index),
                          "an anchor table without a relocation table");
    return PCACHE_OK;
}

/* Same rule as section names (1.5 of the format): 1..31 bytes 0x21-0x7E,
 * a NUL, zeros. */
int reloc_anchor_name_valid(const uint8_t *f)
{
    size_t len = 0;
    while (len < AE_NAME_SIZE && f[len]) {
        if (f[len] < 0x21 || f[len] > 0x7e)
            return 0;
        len++;
    }
    return len > 0 && len < AE_NAME_SIZE && all_zero(f + len, AE_NAME_SIZE - len);
}

/* A shape's field (9.10) for a record's field: where a report points. */
static unsigned shape_field(unsigned rr)
{
    switch (rr) {
    case RR_KIND: return CS_KIND;
    case RR_TARGET_KIND: return CS_TARGET_KIND;
    case RR_SITE_SECTION: return CS_SITE_SECTION;
    case RR_PC_OFFSET: return CS_PC_OFFSET;
    case RR_TARGET_INDEX: return CS_TARGET_INDEX;
    case RR_TARGET_CLASS: return CS_TARGET_CLASS;
    case RR_TARGET_OFFSET: return CS_TARGET_OFFSET;
    case RR_TARGET_BASE: return CS_TARGET_BASE;
    case RR_ADDEND: return CS_ADDEND;
    default: return CS_RESERVED;
    }
}

/* Checks record i (rec: its 48 bytes); the previous record's field is
 * [*prev_start, *prev_end) in section *prev_section.  With prev_section
 * NULL, rec is shape i of a compact table in the form of a record (site
 * offset 0), at roff in the segment: every check but the site offset's,
 * which its runs take, and the reports name the shape's fields. */
static pcache_status check_record(const pcache_segment *seg, const reloc_tables *t, uint64_t i,
                                  const uint8_t *rec, uint64_t roff0,
                                  uint32_t *prev_section, uint64_t *prev_start, uint64_t *prev_end,
                                  pcache_report *rep)
{
    int shape = prev_section == NULL;
    pcache_reloc r;
    unsigned width;
    uint64_t size;
    const char *rs = shape ? CRELOCS_SECTION_NAME : RELOCS_SECTION_NAME;
    const char *what = shape ? "shape" : "record";
    pcache_report *R = rep;
#define FOFF(field) (roff0 + (shape ? shape_field(field) : (field)))

    reloc_record_decode(seg, t, rec, &r);
    if (!reloc_kind_known(rec[RR_KIND]))
        return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, FOFF(RR_KIND), 0, 0, 0,
                           "%s %" PRIu64 ": unknown kind %u", what, i, rec[RR_KIND]);
    if (rec[RR_TARGET_KIND] != PCACHE_TARGET_SECTION && rec[RR_TARGET_KIND] != PCACHE_TARGET_ANCHOR)
        return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, FOFF(RR_TARGET_KIND), 0, 0, 0,
                           "%s %" PRIu64 ": unknown target kind %u", what, i, rec[RR_TARGET_KIND]);
    if (!all_zero(rec + RR_RESERVED, RR_RESERVED_SIZE))
        return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs,
                           FOFF(RR_RESERVED) + first_nonzero(rec + RR_RESERVED, RR_RESERVED_SIZE), 0, 0, 0,
                           "%s %" PRIu64 ": reserved byte is not zero", what, i);
    if (!reloc_kind_relative(r.kind) && r.pc_offset != 0)
        return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, FOFF(RR_PC_OFFSET), 0, 0, 0,
                           "%s %" PRIu64 ": %s with a nonzero pc_offset %" PRId32, what, i,
                           pcache_reloc_kind_name(r.kind), r.pc_offset);

    /* the site: inside a client section of this segment, in order */
    if (r.site_index >= seg->section_count || !reloc_data_section(seg, r.site_index))
        return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, FOFF(RR_SITE_SECTION), 1, seg->section_count,
                           r.site_index, "%s %" PRIu64 ": site section index is not a data section "
                           "(section count, index)", what, i);
    width = pcache_reloc_width(r.kind);
    size = reloc_section_size(seg, r.site_index);
    if (!shape && (r.site_offset > size || size - r.site_offset < width))
        return report_fail(R, PCACHE_E_RELOC_TARGET, seg->cls, rs, FOFF(RR_SITE_OFFSET), 1, size, r.site_offset,
                           "%s %" PRIu64 ": %s field (%u bytes) ends past site section '%s' "
                           "(section size, site offset)", what, i, pcache_reloc_kind_name(r.kind), width, r.site_section);
    if (shape)
        goto target;
    if (i > 0 && (r.site_index < *prev_section ||
                  (r.site_index == *prev_section && r.site_offset < *prev_start)))
        return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, FOFF(RR_SITE_SECTION), 0, 0, 0,
                           "%s %" PRIu64 ": not sorted by (site section, site offset)", what, i);
    if (i > 0 && r.site_index == *prev_section && r.site_offset < *prev_end)
        return report_fail(R, PCACHE_E_RELOC_OVERLAP, seg->cls, rs, FOFF(RR_SITE_OFFSET), 1, *prev_end,
                           r.site_offset, "%s %" PRIu64 ": field in '%s' overlaps the previous record's "
                           "(previous field end, site offset)", what, i, r.site_section);
    *prev_section = r.site_index;
    *prev_start = r.site_offset;
    *prev_end = r.site_offset + width;

target:
    if (r.target_kind == PCACHE_TARGET_SECTION) {
        uint64_t sum;
        if (rec[RR_TARGET_CLASS] < 1 || rec[RR_TARGET_CLASS] > PCACHE_CLASS_COUNT)
            return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, FOFF(RR_TARGET_CLASS), 0, 0, 0,
                               "%s %" PRIu64 ": target class code %u is not 1, 2 or 3", what, i,
                               rec[RR_TARGET_CLASS]);
        /* Relative references inside the image are resolved at persist. */
        if (reloc_kind_relative(r.kind))
            return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, FOFF(RR_KIND), 0, 0, 0,
                               "%s %" PRIu64 ": %s to a section of the image must not be recorded", what, i,
                               pcache_reloc_kind_name(r.kind));
        if (add_u64(r.target_base, r.target_offset, &sum))
            return report_fail(R, PCACHE_E_RELOC_TARGET, seg->cls, rs, FOFF(RR_TARGET_BASE), 0, 0, 0,
                               "%s %" PRIu64 ": target file offset overflows", what, i);
        if (r.target_class == seg->cls) {
            uint64_t tsize, tbase;
            if (r.target_index >= seg->section_count || !reloc_data_section(seg, r.target_index))
                return report_fail(R, PCACHE_E_RELOC_TARGET, seg->cls, rs, FOFF(RR_TARGET_INDEX), 1,
                                   seg->section_count, r.target_index,
                                   "%s %" PRIu64 ": target section index is not a data section "
                                   "(section count, index)", what, i);
            tsize = reloc_section_size(seg, r.target_index);
            tbase = seg->file_offset + reloc_section_offset(seg, r.target_index);
            if (r.target_offset > tsize)
                return report_fail(R, PCACHE_E_RELOC_TARGET, seg->cls, rs, FOFF(RR_TARGET_OFFSET), 1, tsize,
                                   r.target_offset, "%s %" PRIu64 ": target offset past the end of "
                                   "section '%s' (size, offset)", what, i, r.target_section);
            if (r.target_base != tbase)
                return report_fail(R, PCACHE_E_RELOC_TARGET, seg->cls, rs, FOFF(RR_TARGET_BASE), 1, tbase,
                                   r.target_base, "%s %" PRIu64 ": target section file offset", what, i);
        }
    } else {
        if (rec[RR_TARGET_CLASS] != 0 || ld64(rec + RR_TARGET_BASE) != 0)
            return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, FOFF(RR_TARGET_CLASS), 0, 0, 0,
                               "%s %" PRIu64 ": anchor record with a target class or section offset", what, i);
        if (r.anchor_index >= t->nanchors)
            return report_fail(R, PCACHE_E_RELOC_TARGET, seg->cls, rs, FOFF(RR_TARGET_INDEX), 1, t->nanchors,
                               r.anchor_index, "%s %" PRIu64 ": anchor index past the anchor table "
                               "(anchor count, index)", what, i);
    }
    return PCACHE_OK;
#undef FOFF
}

/* Adds checked record rec, of a kind with a range, to the span of its
 * origin and kind.  Its value is origin + k for a target's origin (the
 * image base or the anchor) and, for relative kinds, minus where the
 * segment runs; k depends on nothing known only at load. */
static void span_add(pcache_segment *seg, const uint8_t *rec)
{
    unsigned kind = rec[RR_KIND];
    uint16_t origin = rec[RR_TARGET_KIND] == PCACHE_TARGET_SECTION ? 0 : (uint16_t)(1 + ld16(rec + RR_TARGET_INDEX));
    uint64_t k = ld64(rec + RR_TARGET_BASE) + ld64(rec + RR_TARGET_OFFSET) + ld64(rec + RR_ADDEND) +
                 reloc_fit_bias(kind);
    pcache_reloc_span *sp = seg->relocs_spans;
    uint32_t n = seg->relocs_span_count;

    if (reloc_kind_relative(kind))
        k -= reloc_section_offset(seg, ld16(rec + RR_SITE_SECTION)) + ld64(rec + RR_SITE_OFFSET) +
             (uint64_t)(int64_t)(int32_t)ld32(rec + RR_PC_OFFSET);
    if (n > PCACHE_RELOC_SPANS)
        return;
    while (sp < seg->relocs_spans + n && (sp->origin != origin || sp->kind != kind))
        sp++;
    if (sp == seg->relocs_spans + n) {
        if (n == PCACHE_RELOC_SPANS) {
            seg->relocs_span_count = PCACHE_RELOC_SPANS + 1;
            return;
        }
        sp->origin = origin;
        sp->kind = (uint8_t)kind;
        sp->low = k;
        sp->width = 0;
        seg->relocs_span_count++;
        return;
    }
    /* k outside [low, low + width] (mod 2^64): grow the span by the
     * shorter way round; since k - low > width, neither sum wraps */
    if (k - sp->low > sp->width) {
        uint64_t up = k - sp->low, down = sp->width + (sp->low - k);
        if (up <= down) {
            sp->width = up;
        } else {
            sp->low = k;
            sp->width = down;
        }
    }
}

/* A compact table (9.10, after 12a): header, every shape as a record
 * would be checked, then the run stream.  The runs cannot overlap (each
 * starts at or after the previous one's end) or leave their section
 * (creloc_next checks it), and their counts add up to the header's. */
static pcache_status check_compact(pcache_segment *seg, const reloc_tables *t, uint64_t *ranged,
                                   pcache_report *rep)
{
    const char *cs = CRELOCS_SECTION_NAME;
    const uint8_t *h = t->relocs;
    creloc_cursor c;
    creloc_run run;
    creloc_err e;
    pcache_status st;

    if (ld32(h + CR_RESERVED) != 0)
        return report_fail(rep, PCACHE_E_RELOC_TABLE, seg->cls, cs, t->relocs_offset + CR_RESERVED, 0, 0, 0,
                           "header: reserved bytes are not zero");
    if (t->nrelocs == 0 || t->nshapes == 0)
        return report_fail(rep, PCACHE_E_RELOC_TABLE, seg->cls, cs,
                           t->relocs_offset + (t->nrelocs == 0 ? CR_RECORD_COUNT : CR_SHAPE_COUNT), 1, 1, 0,
                           "header: %s count is zero (at least, count)", t->nrelocs == 0 ? "record" : "shape");
    for (uint32_t k = 0; k < t->nshapes; k++) {
        const uint8_t *sh = t->shapes + (uint64_t)CR_SHAPE_SIZE * k;
        uint64_t soff = t->relocs_offset + CR_HEADER_SIZE + (uint64_t)CR_SHAPE_SIZE * k;
        uint8_t rec[PCACHE_RELOC_RECORD_SIZE] = {0};

        if (ld32(sh + CS_RESERVED) != 0)
            return report_fail(rep, PCACHE_E_RELOC_TABLE, seg->cls, cs, soff + CS_RESERVED, 0, 0, 0,
                               "shape %" PRIu32 ": reserved bytes are not zero", k);
        if (sh[CS_ADDEND_RULE] != CR_ADDEND_EXPLICIT && sh[CS_ADDEND_RULE] != CR_ADDEND_IMPLICIT)
            return report_fail(rep, PCACHE_E_RELOC_TABLE, seg->cls, cs, soff + CS_ADDEND_RULE, 0, 0, 0,
                               "shape %" PRIu32 ": addend rule %u is not 1 (explicit) or 2 (implicit)", k,
                               sh[CS_ADDEND_RULE]);
        if (sh[CS_ADDEND_RULE] == CR_ADDEND_IMPLICIT && ld64(sh + CS_ADDEND) != 0)
            return report_fail(rep, PCACHE_E_RELOC_TABLE, seg->cls, cs, soff + CS_ADDEND, 0, 0, 0,
                               "shape %" PRIu32 ": implicit addend rule with a nonzero addend field", k);
        if (sh[CS_ADDEND_RULE] == CR_ADDEND_IMPLICIT && ld64(sh + CS_TARGET_OFFSET) != 0)
            return report_fail(rep, PCACHE_E_RELOC_TABLE, seg->cls, cs, soff + CS_TARGET_OFFSET, 0, 0, 0,
                               "shape %" PRIu32 ": implicit addend rule with a nonzero target offset field", k);
        rec[RR_KIND] = sh[CS_KIND];
        rec[RR_TARGET_KIND] = sh[CS_TARGET_KIND];
        memcpy(rec + RR_SITE_SECTION, sh + CS_SITE_SECTION, 2);
        memcpy(rec + RR_PC_OFFSET, sh + CS_PC_OFFSET, 4);
        memcpy(rec + RR_TARGET_INDEX, sh + CS_TARGET_INDEX, 2);
        rec[RR_TARGET_CLASS] = sh[CS_TARGET_CLASS];
        memcpy(rec + RR_TARGET_OFFSET, sh + CS_TARGET_OFFSET, 8);
        memcpy(rec + RR_TARGET_BASE, sh + CS_TARGET_BASE, 8);
        memcpy(rec + RR_ADDEND, sh + CS_ADDEND, 8);
        if ((st = check_record(seg, t, k, rec, soff, NULL, NULL, NULL, rep)) != PCACHE_OK)
            return st;
    }
    creloc_begin(t, &c);
    while ((e = creloc_next(seg, t, &c, &run)) == CRUN_OK) {
        /* members (creloc_next read them all): those with a range */
        creloc_member mb;
        const uint8_t *mp;
        creloc_member_first(&run, &mb, &mp);
        for (uint64_t j = 0; j < run.m; j++) {
            if (j > 0 && (e = creloc_member_next(t, &run, &mp, &mb, run.extent)) != CRUN_OK)
                break;
            if (mb.kind != PCACHE_RELOC_ABS64)
                *ranged += run.count;
        }
        if (e != CRUN_OK)
            break;
    }
    if (e != CRUN_END)
        return report_fail(rep, e == CRUN_BOUNDS ? PCACHE_E_RELOC_TARGET : PCACHE_E_RELOC_TABLE, seg->cls, cs,
                           run.at, 0, 0, 0, "run at record %" PRIu64 ": %s", run.index, creloc_err_text(e));
    if (c.index != t->nrelocs)
        return report_fail(rep, PCACHE_E_RELOC_TABLE, seg->cls, cs, t->relocs_offset + CR_RECORD_COUNT, 1,
                           t->nrelocs, c.index, "the runs hold another number of records than the header "
                           "states (header, runs)");
    /* spans (pcache.h) are summed up from 48-byte records only: apply
     * checks each ranged compact record before writing */
    if (*ranged)
        seg->relocs_span_count = PCACHE_RELOC_SPANS + 1;
    return PCACHE_OK;
}

/* The bytes of the tables t found: anchors, then records in order.
 * *ranged: how many records have a range that can fail; their spans go
 * to seg. */
static pcache_status check_table_bytes(pcache_segment *seg, const reloc_tables *t, uint64_t *ranged,
                                       pcache_report *rep)
{
    pcache_status st;
    uint32_t prev_section = 0;
    uint64_t prev_start = 0, prev_end = 0;

    if (seg->validation == PCACHE_VALIDATE_LAZY) {
        pcache_view v;
        if ((st = pcache_segment_section(seg, t->relocs_index, &v, rep)) != PCACHE_OK)
            return st;
        if (t->anchors_index != RELOC_NO_SECTION &&
            (st = pcache_segment_section(seg, t->anchors_index, &v, rep)) != PCACHE_OK)
            return st;
    }
    for (uint32_t j = 0; j < t->nanchors; j++) {
        const uint8_t *a = t->anchors + (uint64_t)j * PCACHE_ANCHOR_ENTRY_SIZE;
        uint64_t aoff = reloc_section_offset(seg, t->anchors_index) + (uint64_t)j * PCACHE_ANCHOR_ENTRY_SIZE;
        if (!reloc_anchor_name_valid(a + AE_NAME))
            return report_fail(rep, PCACHE_E_RELOC_TABLE, seg->cls, ANCHORS_SECTION_NAME, aoff + AE_NAME, 0, 0, 0,
                               "anchor %" PRIu32 ": name is not 1-31 printable bytes, a NUL and zero padding", j);
        /* sorted and unique, so that the table is canonical */
        if (j > 0 && memcmp(a - PCACHE_ANCHOR_ENTRY_SIZE + AE_NAME, a + AE_NAME, AE_NAME_SIZE) >= 0)
            return report_fail(rep, PCACHE_E_RELOC_TABLE, seg->cls, ANCHORS_SECTION_NAME, aoff + AE_NAME, 0, 0, 0,
                               "anchor %" PRIu32 ": names are not in strictly increasing byte order", j);
    }
    *ranged = 0;
    if (t->compact)
        return check_compact(seg, t, ranged, rep);
    for (uint64_t i = 0; i < t->nrelocs; i++) {
        if ((st = check_record(seg, t, i, t->relocs + i * PCACHE_RELOC_RECORD_SIZE,
                               t->relocs_offset + i * PCACHE_RELOC_RECORD_SIZE, &prev_section, &prev_start,
                               &prev_end, rep)) != PCACHE_OK)
            return st;
        if (t->relocs[i * PCACHE_RELOC_RECORD_SIZE + RR_KIND] != PCACHE_RELOC_ABS64) {
            *ranged += 1;
            span_add(seg, t->relocs + i * PCACHE_RELOC_RECORD_SIZE);
        }
    }
    return PCACHE_OK;
}

pcache_status reloc_tables_check(pcache_segment *seg, reloc_tables *t, pcache_report *rep)
{
    pcache_status st;
    uint64_t ranged = 0;

    seg->relocs_checked = 0;
    seg->relocs_ranged = 0;
    seg->relocs_span_count = 0;
    seg->relocs_count = 0;
    seg->relocs_state = PCACHE_RELOCS_PRISTINE;
    seg->relocs_applied_base = 0;
    seg->relocs_applied_sum = 0;
    memset(seg->relocs_applied_anchor, 0, sizeof seg->relocs_applied_anchor);
    /* the spans past the count are never read; resurrect cleared them */
    if ((st = reloc_tables_find(seg, t, rep)) != PCACHE_OK)
        return st;
    if (t->relocs_index != RELOC_NO_SECTION && (st = check_table_bytes(seg, t, &ranged, rep)) != PCACHE_OK)
        return st;
    seg->relocs_ranged = ranged;
    seg->relocs_count = t->relocs_index != RELOC_NO_SECTION ? t->nrelocs : 0;
    reloc_seal(seg);
    return PCACHE_OK;
}

uint64_t pcache_segment_reloc_count(const pcache_segment *seg)
{
    if (!seg || !seg->base || reloc_seal_check(seg, NULL) != PCACHE_OK)
        return 0;
    return seg->relocs_count;
}

pcache_status pcache_segment_reloc(const pcache_segment *seg, uint64_t index, pcache_reloc *out)
{
    reloc_tables t;
    pcache_status st;
    if (!seg || !seg->base || !out)
        return PCACHE_E_INVALID_ARGUMENT;
    if ((st = reloc_seal_check(seg, NULL)) != PCACHE_OK || (st = reloc_tables_find(seg, &t, NULL)) != PCACHE_OK)
        return st;
    if (index >= seg->relocs_count || index >= t.nrelocs)
        return PCACHE_E_NOT_FOUND;
    if ((st = creloc_state_check(seg, &t)) != PCACHE_OK)
        return st;
    return reloc_record_read(seg, &t, index, out);
}

uint32_t pcache_segment_anchor_count(const pcache_segment *seg)
{
    reloc_tables t;
    if (!seg || !seg->base || reloc_tables_find(seg, &t, NULL) != PCACHE_OK)
        return 0;
    return t.nanchors;
}

pcache_status pcache_segment_anchor(const pcache_segment *seg, uint32_t index, const char **name,
                                    uint64_t *persisted)
{
    reloc_tables t;
    pcache_status st;
    const uint8_t *a;
    if (!seg || !seg->base)
        return PCACHE_E_INVALID_ARGUMENT;
    if ((st = reloc_seal_check(seg, NULL)) != PCACHE_OK || (st = reloc_tables_find(seg, &t, NULL)) != PCACHE_OK)
        return st;
    if (index >= t.nanchors)
        return PCACHE_E_NOT_FOUND;
    a = t.anchors + (uint64_t)index * PCACHE_ANCHOR_ENTRY_SIZE;
    if (name)
        *name = (const char *)a + AE_NAME;
    if (persisted)
        *persisted = ld64(a + AE_ADDRESS);
    return PCACHE_OK;
}

pcache_status pcache_reloc_check_targets(const pcache_segment *seg,
                                         const pcache_segment *const segs[PCACHE_CLASS_COUNT], pcache_report *rep)
{
    reloc_tables t;
    pcache_status st;
    int sealed[PCACHE_CLASS_COUNT] = {0};

    report_clear(rep);
    if (!seg || !seg->base || !segs)
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, 0, 0, 0, 0,
                           "invalid argument to pcache_reloc_check_targets");
    if ((st = reloc_seal_check(seg, rep)) != PCACHE_OK || (st = reloc_tables_find(seg, &t, rep)) != PCACHE_OK)
        return st;
    /* a compact table: its shapes hold the targets */
    for (uint64_t i = 0; i < (t.compact ? t.nshapes : t.nrelocs); i++) {
        uint64_t roff = t.compact ? t.relocs_offset + CR_HEADER_SIZE + CR_SHAPE_SIZE * i
                                  : t.relocs_offset + i * PCACHE_RELOC_RECORD_SIZE;
        const pcache_segment *o;
        pcache_reloc r;
        uint64_t tsize, tbase;
        const char *rs = t.compact ? CRELOCS_SECTION_NAME : RELOCS_SECTION_NAME;

        if (t.compact)
            creloc_shape_read(seg, &t, (uint32_t)i, &r);
        else
            reloc_record_decode(seg, &t, t.relocs + i * PCACHE_RELOC_RECORD_SIZE, &r);
        if (r.target_kind != PCACHE_TARGET_SECTION || r.target_class == seg->cls)
            continue;
        o = (unsigned)r.target_class < PCACHE_CLASS_COUNT ? segs[r.target_class] : NULL;
        if (!o || !o->base)
            return report_fail(rep, PCACHE_E_RELOC_TARGET, seg->cls, rs, roff + (t.compact ? CS_TARGET_CLASS : RR_TARGET_CLASS), 0,
                               0, 0, "%s %" PRIu64 ": targets class %s, of which the image has no segment", t.compact ? "shape" : "record", i,
                               (unsigned)r.target_class < PCACHE_CLASS_COUNT ? pcache_class_name(r.target_class)
                                                                               : "?");
        /* its section table is read next: only as resurrect checked it */
        if (!sealed[r.target_class] && (st = reloc_seal_check(o, rep)) != PCACHE_OK)
            return st;
        sealed[r.target_class] = 1;
        if (r.target_index >= o->section_count || !reloc_data_section(o, r.target_index))
            return report_fail(rep, PCACHE_E_RELOC_TARGET, seg->cls, rs, roff + (t.compact ? CS_TARGET_INDEX : RR_TARGET_INDEX), 1,
                               o->section_count, r.target_index,
                               "%s %" PRIu64 ": target is not a data section of the %s segment "
                               "(section count, index)", t.compact ? "shape" : "record", i, pcache_class_name(r.target_class));
        tsize = reloc_section_size(o, r.target_index);
        tbase = o->file_offset + reloc_section_offset(o, r.target_index);
        if (r.target_offset > tsize)
            return report_fail(rep, PCACHE_E_RELOC_TARGET, seg->cls, rs, roff + (t.compact ? CS_TARGET_OFFSET : RR_TARGET_OFFSET), 1,
                               tsize, r.target_offset,
                               "%s %" PRIu64 ": target offset past the end of %s section '%s' (size, offset)",
                               t.compact ? "shape" : "record", i, pcache_class_name(r.target_class),
                               (const char *)reloc_entry(o, r.target_index) + SE_NAME);
        if (r.target_base != tbase)
            return report_fail(rep, PCACHE_E_RELOC_TARGET, seg->cls, rs, roff + (t.compact ? CS_TARGET_BASE : RR_TARGET_BASE), 1,
                               tbase, r.target_base, "%s %" PRIu64 ": target section file offset", t.compact ? "shape" : "record", i);
    }
    return PCACHE_OK;
}
