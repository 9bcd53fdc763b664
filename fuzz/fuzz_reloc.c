/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Target: relocation records (pcache/reloc.h): reading them, and applying
 * them into a copy of the segment with pcache_reloc_apply().
 *
 * The input is a segment, resurrected with its length known (as it is and
 * with its checksums repaired), followed by control bytes the reader never
 * sees as part of the segment: the image base (u64), an anchor shift (u64)
 * and a byte whose low 3 bits make the resolver refuse some anchors.  The
 * resolver moves each anchor by the shift plus a function of its name, so
 * fuzzed inputs choose where everything is loaded.
 *
 * Oracles: a failed apply leaves the copy untouched (all or nothing); a
 * successful one changes no byte outside the records' fields, each field
 * decodes (pcache_decode_reference) to the target the record describes,
 * computed here independently, and applying again changes nothing; every
 * record and anchor read back lies inside the segment; the iterator and
 * the index read give the same records.  Without the change below, apply
 * also runs in place (dst = the segment), twice and elsewhere: the bytes
 * an apply to a copy writes, records that read as before.
 *
 * Then, when 5 more control bytes follow (a u32 position, a byte to xor
 * there), that byte of the segment changes after resurrect sealed it, as
 * if another file were mapped in its place, and apply runs on the sealed
 * struct again (docs/FORMAT.md 9.8): it reads and writes nothing outside
 * the segment and its copy (the sanitizers watch), writes nothing outside
 * the data sections, and a change to the header, section table or
 * checksum trailer is refused (PCACHE_E_SEGMENT_CHANGED) before anything
 * is written, as is any refusal but a record found changed while writing.
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "format.h"
#include "fuzz_common.h"
#include "pcache/reloc.h"

typedef struct control {
    uint64_t image_base, shift;
    uint8_t refuse; /* anchors whose name hash mod 8 is below this are refused */
} control;

static uint64_t name_hash(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull;
    while (*name)
        h = (h ^ (uint8_t)*name++) * 0x100000001b3ull;
    return h;
}

static int resolve(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    const control *c = ctx;
    if (strnlen(name, PCACHE_ANCHOR_NAME_MAX + 1) > PCACHE_ANCHOR_NAME_MAX)
        fuzz_fail("resolver given an unterminated anchor name");
    if (name_hash(name) % 8 < c->refuse)
        return 1;
    *address = persisted + c->shift + (name_hash(name) & 0xfff000);
    return 0;
}

/* The address record r must reach, from its own fields. */
static uint64_t expected_target(const pcache_reloc *r, const control *c)
{
    uint64_t base = c->image_base + r->target_base, anchor;
    if (r->target_kind == PCACHE_TARGET_ANCHOR) {
        if (resolve((void *)c, r->anchor, r->anchor_persisted, &anchor) != 0)
            fuzz_fail("apply succeeded although anchor '%s' was refused", r->anchor);
        base = anchor;
    }
    return base + r->target_offset + (uint64_t)r->addend;
}

static void check_applied(pcache_segment *seg, const uint8_t *orig, const uint8_t *dst, const control *c)
{
    uint64_t n = pcache_segment_reloc_count(seg);
    uint8_t *site = calloc(1, seg->size + 1);
    pcache_reloc_iter it;

    if (pcache_reloc_iter_init(&it, seg) != PCACHE_OK)
        fuzz_fail("iterator refused after a successful apply");
    for (uint64_t i = 0; i < n; i++) {
        pcache_reloc r;
        pcache_view v;
        uint64_t target, field;
        unsigned width;
        if (pcache_reloc_iter_next(&it, &r) != PCACHE_OK || pcache_segment_section(seg, r.site_index, &v, NULL))
            fuzz_fail("record %llu unreadable after a successful apply", (unsigned long long)i);
        width = pcache_reloc_width(r.kind);
        if (width == 0 || r.site_offset > v.size || width > v.size - r.site_offset)
            fuzz_fail("record %llu: %u-byte field at +%llu outside its %llu-byte section", (unsigned long long)i,
                      width, (unsigned long long)r.site_offset, (unsigned long long)v.size);
        field = v.offset + r.site_offset;
        for (unsigned k = 0; k < width; k++)
            site[field + k] = 1;
        if (pcache_decode_reference(r.kind, (pcache_byte_order)seg->identity.byte_order, dst + field,
                                    c->image_base + seg->file_offset + field, r.pc_offset, &target) != PCACHE_OK ||
            target != expected_target(&r, c))
            fuzz_fail("record %llu (%s): field decodes to 0x%llx, expected 0x%llx", (unsigned long long)i,
                      pcache_reloc_kind_name(r.kind), (unsigned long long)target,
                      (unsigned long long)expected_target(&r, c));
    }
    for (uint64_t k = 0; k < seg->size; k++)
        if (!site[k] && dst[k] != orig[k])
            fuzz_fail("apply changed byte %llu, outside every record's field", (unsigned long long)k);
    free(site);
}

static void apply_one(pcache_segment *seg, const control *c)
{
    uint8_t *dst = malloc(seg->size + 1), *again = malloc(seg->size + 1);
    const pcache_segment *segs[PCACHE_CLASS_COUNT] = {NULL};
    pcache_report rep;
    pcache_status st;

    memcpy(dst, seg->base, seg->size);
    st = pcache_reloc_apply(seg, dst, c->image_base, resolve, (void *)c, &rep);
    if (st != PCACHE_OK) {
        fuzz_check_failure(st, &rep, "pcache_reloc_apply");
        if (memcmp(dst, seg->base, seg->size) != 0)
            fuzz_fail("pcache_reloc_apply failed (%s) but wrote to the copy", pcache_status_name(st));
    } else {
        if (seg->validation == PCACHE_VALIDATE_FULL)
            check_applied(seg, seg->base, dst, c);
        memcpy(again, dst, seg->size);
        if (pcache_reloc_apply(seg, again, c->image_base, resolve, (void *)c, NULL) != PCACHE_OK ||
            memcmp(again, dst, seg->size) != 0)
            fuzz_fail("applying the records a second time changed the result");
    }
    segs[seg->cls] = seg;
    st = pcache_reloc_check_targets(seg, segs, &rep);
    if (st != PCACHE_OK)
        fuzz_check_failure(st, &rep, "pcache_reloc_check_targets");
    free(dst);
    free(again);
}

/* 1 if relative byte k of seg lies in one of its data sections (as the
 * table read before the change says). */
static int in_data_section(const pcache_segment *seg, const uint8_t *table, uint64_t k)
{
    for (uint32_t i = 0; i < seg->section_count; i++) {
        const uint8_t *e = table + (uint64_t)SEG_ENTRY_SIZE * i;
        if (ld16(e + SE_TYPE) == PCACHE_TYPE_DATA && k >= ld64(e + SE_OFFSET) &&
            k - ld64(e + SE_OFFSET) < ld64(e + SE_STORED_SIZE))
            return 1;
    }
    return 0;
}

/* Byte at of the segment xored with x after resurrect sealed seg; apply
 * on the sealed struct; the byte restored. */
static void apply_changed(pcache_segment *seg, uint64_t at, uint8_t x, const control *c)
{
    uint8_t *bytes = (uint8_t *)(uintptr_t)seg->base;
    uint64_t table_end = SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * seg->section_count;
    uint64_t toff = ld64(bytes + SH_TRAILER_OFFSET);
    uint8_t *table = malloc(table_end - SEG_HEADER_SIZE + 1), *dst = malloc(seg->size);
    int covered = at < table_end || (at >= toff && at - toff < (uint64_t)SEG_TRAILER_ENTRY_SIZE * seg->section_count);
    pcache_report rep;
    pcache_status st;

    memcpy(table, bytes + SEG_HEADER_SIZE, table_end - SEG_HEADER_SIZE);
    bytes[at] ^= x;
    memcpy(dst, bytes, seg->size);
    st = pcache_reloc_apply(seg, dst, c->image_base, resolve, (void *)c, &rep);
    if (st != PCACHE_OK)
        fuzz_check_failure(st, &rep, "pcache_reloc_apply after a change");
    if (covered && st != PCACHE_E_SEGMENT_CHANGED)
        fuzz_fail("byte %llu of the header, table or trailer changed after resurrect, and apply returned %s",
                  (unsigned long long)at, pcache_status_name(st));
    for (uint64_t k = 0; k < seg->size; k++)
        if (dst[k] != bytes[k] &&
            (!in_data_section(seg, table, k) || covered || (st != PCACHE_OK && st != PCACHE_E_SEGMENT_CHANGED)))
            fuzz_fail("apply after a change at byte %llu returned %s and changed byte %llu",
                      (unsigned long long)at, pcache_status_name(st), (unsigned long long)k);
    bytes[at] ^= x;
    free(table);
    free(dst);
}

static int same_reloc(const pcache_reloc *a, const pcache_reloc *b)
{
    return a->kind == b->kind && a->target_kind == b->target_kind && a->pc_offset == b->pc_offset &&
           a->site_index == b->site_index && a->site_offset == b->site_offset && a->target_class == b->target_class &&
           a->target_index == b->target_index && a->target_base == b->target_base &&
           a->anchor_index == b->anchor_index && a->target_offset == b->target_offset && a->addend == b->addend;
}

/* Every record by the iterator; the first 64 and the last also by index
 * (O(runs) each for .crelocs): the same. */
static void read_records(const pcache_segment *seg)
{
    uint64_t n = pcache_segment_reloc_count(seg);
    const uint8_t *end = seg->base + seg->size;
    pcache_reloc r, q;
    pcache_reloc_iter it;
    const char *name;
    uint64_t persisted;

    if (pcache_reloc_iter_init(&it, seg) != PCACHE_OK)
        fuzz_fail("iterator refused on a resurrected segment");
    for (uint64_t i = 0; i < n; i++) {
        if (pcache_reloc_iter_next(&it, &r) != PCACHE_OK)
            fuzz_fail("record %llu of %llu unreadable", (unsigned long long)i, (unsigned long long)n);
        if ((i < 64 || i == n - 1) && (pcache_segment_reloc(seg, i, &q) != PCACHE_OK || !same_reloc(&r, &q)))
            fuzz_fail("record %llu: the iterator and the index read differ", (unsigned long long)i);
        if ((const uint8_t *)r.site_section < seg->base || (const uint8_t *)r.site_section >= end ||
            r.site_index >= seg->section_count ||
            (r.target_section && ((const uint8_t *)r.target_section < seg->base ||
                                  (const uint8_t *)r.target_section >= end)) ||
            (r.anchor && ((const uint8_t *)r.anchor < seg->base || (const uint8_t *)r.anchor >= end)))
            fuzz_fail("record %llu points outside the segment", (unsigned long long)i);
    }
    if (pcache_reloc_iter_next(&it, &r) != PCACHE_E_NOT_FOUND)
        fuzz_fail("the iterator gives a record past the count");
    if (pcache_segment_reloc(seg, n, &r) != PCACHE_E_NOT_FOUND)
        fuzz_fail("a record past the count");
    for (uint32_t j = 0; j < pcache_segment_anchor_count(seg); j++)
        if (pcache_segment_anchor(seg, j, &name, &persisted) != PCACHE_OK || (const uint8_t *)name < seg->base ||
            (const uint8_t *)name >= end)
            fuzz_fail("anchor %u unreadable or outside the segment", j);
}

/* Apply in place (dst = seg->base), as pcache_image_bind does, twice and
 * elsewhere (docs/FORMAT.md 9.10): the bytes a copy gets, each time; the
 * records read as before; a failure writes nothing.  The bytes are
 * restored after (seg is not used again). */
static void apply_in_place(pcache_segment *seg, const control *c)
{
    uint8_t *bytes = (uint8_t *)(uintptr_t)seg->base;
    uint8_t *save = malloc(seg->size + 1), *want = malloc(seg->size + 1), *want2 = malloc(seg->size + 1);
    control c2 = *c;
    uint64_t n = pcache_segment_reloc_count(seg), k = n < 16 ? n : 16;
    pcache_reloc before[16], r;
    pcache_report rep;
    pcache_status st, st2;

    memcpy(save, bytes, seg->size);
    for (uint64_t i = 0; i < k; i++)
        if (pcache_segment_reloc(seg, i, &before[i]) != PCACHE_OK)
            fuzz_fail("record %llu unreadable", (unsigned long long)i);
    c2.image_base += 0x10000;
    c2.shift += 0x3000;
    memcpy(want, bytes, seg->size);
    st = pcache_reloc_apply(seg, want, c->image_base, resolve, (void *)c, NULL);
    memcpy(want2, bytes, seg->size);
    st2 = pcache_reloc_apply(seg, want2, c2.image_base, resolve, (void *)&c2, NULL);
    if (pcache_reloc_apply(seg, bytes, c->image_base, resolve, (void *)c, &rep) != PCACHE_OK) {
        if (memcmp(bytes, save, seg->size) != 0)
            fuzz_fail("a failed apply in place (%s) wrote", rep.message);
    } else {
        if (st != PCACHE_OK || memcmp(bytes, want, seg->size) != 0)
            fuzz_fail("apply in place: not the bytes an apply to a copy writes");
        if (pcache_reloc_apply(seg, bytes, c->image_base, resolve, (void *)c, NULL) != PCACHE_OK ||
            memcmp(bytes, want, seg->size) != 0)
            fuzz_fail("a second apply in place with the same addresses changed the bytes");
        for (uint64_t i = 0; i < k; i++)
            if (pcache_segment_reloc(seg, i, &r) != PCACHE_OK || !same_reloc(&r, &before[i]))
                fuzz_fail("record %llu reads otherwise after an apply in place", (unsigned long long)i);
        if (pcache_reloc_apply(seg, bytes, c2.image_base, resolve, (void *)&c2, NULL) == PCACHE_OK) {
            if (st2 != PCACHE_OK || memcmp(bytes, want2, seg->size) != 0)
                fuzz_fail("apply in place elsewhere: not the bytes an apply to a copy writes");
        } else if (memcmp(bytes, want, seg->size) != 0) {
            fuzz_fail("a failed second apply in place wrote");
        }
    }
    memcpy(bytes, save, seg->size);
    free(save);
    free(want);
    free(want2);
}

static void run(const uint8_t *buf, size_t n)
{
    for (int cls = 0; cls < PCACHE_CLASS_COUNT; cls++)
        for (int v = PCACHE_VALIDATE_HEADER; v <= PCACHE_VALIDATE_FULL; v++) {
            const uint8_t *map = buf;
            uint8_t tail[22] = {0};
            pcache_segment seg;
            pcache_expect exp;
            pcache_report rep;
            control c;
            pcache_status st;

            pcache_expect_init(&exp, NULL);
            exp.validation = (pcache_validation)v;
            if ((st = pcache_resurrect(&seg, (pcache_class)cls, &map, n, &exp, &rep)) != PCACHE_OK) {
                fuzz_check_failure(st, &rep, "pcache_resurrect");
                continue;
            }
            memcpy(tail, buf + seg.size, n - seg.size < sizeof tail ? n - seg.size : sizeof tail);
            c.image_base = ld64(tail);
            c.shift = ld64(tail + 8);
            c.refuse = tail[16] & 7;
            read_records(&seg);
            apply_one(&seg, &c);
            if (tail[21] != 0)
                apply_changed(&seg, ld32(tail + 17) % seg.size, tail[21], &c);
            else
                apply_in_place(&seg, &c);
        }
}

int fuzz_reloc(const uint8_t *data, size_t size)
{
    uint64_t phase = size >= SH_FILE_OFFSET + 8 ? ld64(data + SH_FILE_OFFSET) : 0;
    void *block, *fixed_block;
    uint8_t *buf = fuzz_place(data, size, phase, &block);
    uint8_t *fixed = fuzz_place(data, size, phase, &fixed_block);

    run(buf, size);
    fuzz_fix_segment(fixed, size);
    if (memcmp(buf, fixed, size) != 0)
        run(fixed, size);
    free(block);
    free(fixed_block);
    return 0;
}

FUZZ_ENTRY(fuzz_reloc)
