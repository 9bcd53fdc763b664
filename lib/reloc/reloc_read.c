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

        if (type != PCACHE_TYPE_RELOCS && type != PCACHE_TYPE_ANCHORS)
            continue;
        /* A flag bit this reader does not know makes the section unknown:
         * skipped (resurrect refused it unless skippable), not ours. */
        if (flags & ~SECTION_FLAGS_KNOWN)
            continue;
        want = type == PCACHE_TYPE_RELOCS ? RELOCS_SECTION_NAME : ANCHORS_SECTION_NAME;
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
        if (type == PCACHE_TYPE_RELOCS) {
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

void reloc_record_read(const pcache_segment *seg, const reloc_tables *t, uint64_t i, pcache_reloc *r)
{
    const uint8_t *rec = t->relocs + i * PCACHE_RELOC_RECORD_SIZE;

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

/* Checks record i; the previous record's field is [*prev_start,
 * *prev_end) in section *prev_section. */
static pcache_status check_record(const pcache_segment *seg, const reloc_tables *t, uint64_t i,
                                  uint32_t *prev_section, uint64_t *prev_start, uint64_t *prev_end,
                                  pcache_report *rep)
{
    const uint8_t *rec = t->relocs + i * PCACHE_RELOC_RECORD_SIZE;
    uint64_t roff = t->relocs_offset + i * PCACHE_RELOC_RECORD_SIZE;
    pcache_reloc r;
    unsigned width;
    uint64_t size;
    const char *rs = RELOCS_SECTION_NAME;
    pcache_report *R = rep;

    reloc_record_read(seg, t, i, &r);
    if (!reloc_kind_known(rec[RR_KIND]))
        return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, roff + RR_KIND, 0, 0, 0,
                           "record %" PRIu64 ": unknown kind %u", i, rec[RR_KIND]);
    if (rec[RR_TARGET_KIND] != PCACHE_TARGET_SECTION && rec[RR_TARGET_KIND] != PCACHE_TARGET_ANCHOR)
        return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, roff + RR_TARGET_KIND, 0, 0, 0,
                           "record %" PRIu64 ": unknown target kind %u", i, rec[RR_TARGET_KIND]);
    if (!all_zero(rec + RR_RESERVED, RR_RESERVED_SIZE))
        return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs,
                           roff + RR_RESERVED + first_nonzero(rec + RR_RESERVED, RR_RESERVED_SIZE), 0, 0, 0,
                           "record %" PRIu64 ": reserved byte is not zero", i);
    if (!reloc_kind_relative(r.kind) && r.pc_offset != 0)
        return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, roff + RR_PC_OFFSET, 0, 0, 0,
                           "record %" PRIu64 ": %s with a nonzero pc_offset %" PRId32, i,
                           pcache_reloc_kind_name(r.kind), r.pc_offset);

    /* the site: inside a client section of this segment, in order */
    if (r.site_index >= seg->section_count || !reloc_data_section(seg, r.site_index))
        return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, roff + RR_SITE_SECTION, 1, seg->section_count,
                           r.site_index, "record %" PRIu64 ": site section index is not a data section "
                           "(section count, index)", i);
    width = pcache_reloc_width(r.kind);
    size = reloc_section_size(seg, r.site_index);
    if (r.site_offset > size || size - r.site_offset < width)
        return report_fail(R, PCACHE_E_RELOC_TARGET, seg->cls, rs, roff + RR_SITE_OFFSET, 1, size, r.site_offset,
                           "record %" PRIu64 ": %s field (%u bytes) ends past site section '%s' "
                           "(section size, site offset)", i, pcache_reloc_kind_name(r.kind), width, r.site_section);
    if (i > 0 && (r.site_index < *prev_section ||
                  (r.site_index == *prev_section && r.site_offset < *prev_start)))
        return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, roff + RR_SITE_SECTION, 0, 0, 0,
                           "record %" PRIu64 ": not sorted by (site section, site offset)", i);
    if (i > 0 && r.site_index == *prev_section && r.site_offset < *prev_end)
        return report_fail(R, PCACHE_E_RELOC_OVERLAP, seg->cls, rs, roff + RR_SITE_OFFSET, 1, *prev_end,
                           r.site_offset, "record %" PRIu64 ": field in '%s' overlaps the previous record's "
                           "(previous field end, site offset)", i, r.site_section);
    *prev_section = r.site_index;
    *prev_start = r.site_offset;
    *prev_end = r.site_offset + width;

    if (r.target_kind == PCACHE_TARGET_SECTION) {
        uint64_t sum;
        if (rec[RR_TARGET_CLASS] < 1 || rec[RR_TARGET_CLASS] > PCACHE_CLASS_COUNT)
            return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, roff + RR_TARGET_CLASS, 0, 0, 0,
                               "record %" PRIu64 ": target class code %u is not 1, 2 or 3", i,
                               rec[RR_TARGET_CLASS]);
        /* Relative references inside the image are resolved at persist. */
        if (reloc_kind_relative(r.kind))
            return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, roff + RR_KIND, 0, 0, 0,
                               "record %" PRIu64 ": %s to a section of the image must not be recorded", i,
                               pcache_reloc_kind_name(r.kind));
        if (add_u64(r.target_base, r.target_offset, &sum))
            return report_fail(R, PCACHE_E_RELOC_TARGET, seg->cls, rs, roff + RR_TARGET_BASE, 0, 0, 0,
                               "record %" PRIu64 ": target file offset overflows", i);
        if (r.target_class == seg->cls) {
            uint64_t tsize, tbase;
            if (r.target_index >= seg->section_count || !reloc_data_section(seg, r.target_index))
                return report_fail(R, PCACHE_E_RELOC_TARGET, seg->cls, rs, roff + RR_TARGET_INDEX, 1,
                                   seg->section_count, r.target_index,
                                   "record %" PRIu64 ": target section index is not a data section "
                                   "(section count, index)", i);
            tsize = reloc_section_size(seg, r.target_index);
            tbase = seg->file_offset + reloc_section_offset(seg, r.target_index);
            if (r.target_offset > tsize)
                return report_fail(R, PCACHE_E_RELOC_TARGET, seg->cls, rs, roff + RR_TARGET_OFFSET, 1, tsize,
                                   r.target_offset, "record %" PRIu64 ": target offset past the end of "
                                   "section '%s' (size, offset)", i, r.target_section);
            if (r.target_base != tbase)
                return report_fail(R, PCACHE_E_RELOC_TARGET, seg->cls, rs, roff + RR_TARGET_BASE, 1, tbase,
                                   r.target_base, "record %" PRIu64 ": target section file offset", i);
        }
    } else {
        if (rec[RR_TARGET_CLASS] != 0 || ld64(rec + RR_TARGET_BASE) != 0)
            return report_fail(R, PCACHE_E_RELOC_TABLE, seg->cls, rs, roff + RR_TARGET_CLASS, 0, 0, 0,
                               "record %" PRIu64 ": anchor record with a target class or section offset", i);
        if (r.anchor_index >= t->nanchors)
            return report_fail(R, PCACHE_E_RELOC_TARGET, seg->cls, rs, roff + RR_TARGET_INDEX, 1, t->nanchors,
                               r.anchor_index, "record %" PRIu64 ": anchor index past the anchor table "
                               "(anchor count, index)", i);
    }
    return PCACHE_OK;
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
    for (uint64_t i = 0; i < t->nrelocs; i++) {
        if ((st = check_record(seg, t, i, &prev_section, &prev_start, &prev_end, rep)) != PCACHE_OK)
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
    /* the spans past the count are never read; resurrect cleared them */
    if ((st = reloc_tables_find(seg, t, rep)) != PCACHE_OK)
        return st;
    if (t->relocs_index != RELOC_NO_SECTION && (st = check_table_bytes(seg, t, &ranged, rep)) != PCACHE_OK)
        return st;
    seg->relocs_ranged = ranged;
    reloc_seal(seg);
    return PCACHE_OK;
}

uint64_t pcache_segment_reloc_count(const pcache_segment *seg)
{
    reloc_tables t;
    if (!seg || !seg->base || reloc_tables_find(seg, &t, NULL) != PCACHE_OK)
        return 0;
    return t.nrelocs;
}

pcache_status pcache_segment_reloc(const pcache_segment *seg, uint64_t index, pcache_reloc *out)
{
    reloc_tables t;
    pcache_status st;
    if (!seg || !seg->base || !out)
        return PCACHE_E_INVALID_ARGUMENT;
    if ((st = reloc_seal_check(seg, NULL)) != PCACHE_OK || (st = reloc_tables_find(seg, &t, NULL)) != PCACHE_OK)
        return st;
    if (index >= t.nrelocs)
        return PCACHE_E_NOT_FOUND;
    reloc_record_read(seg, &t, index, out);
    return PCACHE_OK;
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
    for (uint64_t i = 0; i < t.nrelocs; i++) {
        uint64_t roff = t.relocs_offset + i * PCACHE_RELOC_RECORD_SIZE;
        const pcache_segment *o;
        pcache_reloc r;
        uint64_t tsize, tbase;

        reloc_record_read(seg, &t, i, &r);
        if (r.target_kind != PCACHE_TARGET_SECTION || r.target_class == seg->cls)
            continue;
        o = (unsigned)r.target_class < PCACHE_CLASS_COUNT ? segs[r.target_class] : NULL;
        if (!o || !o->base)
            return report_fail(rep, PCACHE_E_RELOC_TARGET, seg->cls, RELOCS_SECTION_NAME, roff + RR_TARGET_CLASS, 0,
                               0, 0, "record %" PRIu64 ": targets class %s, of which the image has no segment", i,
                               (unsigned)r.target_class < PCACHE_CLASS_COUNT ? pcache_class_name(r.target_class)
                                                                               : "?");
        /* its section table is read next: only as resurrect checked it */
        if (!sealed[r.target_class] && (st = reloc_seal_check(o, rep)) != PCACHE_OK)
            return st;
        sealed[r.target_class] = 1;
        if (r.target_index >= o->section_count || !reloc_data_section(o, r.target_index))
            return report_fail(rep, PCACHE_E_RELOC_TARGET, seg->cls, RELOCS_SECTION_NAME, roff + RR_TARGET_INDEX, 1,
                               o->section_count, r.target_index,
                               "record %" PRIu64 ": target is not a data section of the %s segment "
                               "(section count, index)", i, pcache_class_name(r.target_class));
        tsize = reloc_section_size(o, r.target_index);
        tbase = o->file_offset + reloc_section_offset(o, r.target_index);
        if (r.target_offset > tsize)
            return report_fail(rep, PCACHE_E_RELOC_TARGET, seg->cls, RELOCS_SECTION_NAME, roff + RR_TARGET_OFFSET, 1,
                               tsize, r.target_offset,
                               "record %" PRIu64 ": target offset past the end of %s section '%s' (size, offset)",
                               i, pcache_class_name(r.target_class),
                               (const char *)reloc_entry(o, r.target_index) + SE_NAME);
        if (r.target_base != tbase)
            return report_fail(rep, PCACHE_E_RELOC_TARGET, seg->cls, RELOCS_SECTION_NAME, roff + RR_TARGET_BASE, 1,
                               tbase, r.target_base, "record %" PRIu64 ": target section file offset", i);
    }
    return PCACHE_OK;
}
