/* Applying relocation records at load: all or nothing.  Every value that
 * can be out of range is computed and checked before the first byte of
 * dst is written, so that a reference that no longer reaches leaves the
 * copy as it was.
 *
 * The records were validated once, when the segment was resurrected
 * (docs/FORMAT.md 9.7: kinds, indices, bounds, order, overlap), and the
 * segment sealed; the loops below rely on that and decode each record
 * straight from its bytes.  A segment without the seal is validated here
 * first. */
#include <inttypes.h>
#include <string.h>

#include "patch.h"
#include "reloc_table.h"
#include "report.h"

/* The per-record helpers are forced inline: the loops are the point. */
#define HOT static inline __attribute__((always_inline))

typedef struct apply_ctx {
    const pcache_segment *seg;
    const uint8_t *relocs;
    uint64_t nrelocs;
    uint64_t image_base;
    uint64_t seg_address; /* where the segment runs: image_base + F */
    uint64_t anchor[PCACHE_MAX_ANCHORS]; /* current addresses, by anchor index */
} apply_ctx;

HOT const uint8_t *record_at(const apply_ctx *a, uint64_t i)
{
    return a->relocs + i * PCACHE_RELOC_RECORD_SIZE;
}

HOT uint32_t record_site_section(const apply_ctx *a, uint64_t i)
{
    return ld16(record_at(a, i) + RR_SITE_SECTION);
}

/* Records are sorted by site section: the run of records in the section
 * of record i ends at the index returned, found by bisection. */
static uint64_t run_end(const apply_ctx *a, uint64_t i)
{
    uint32_t s = record_site_section(a, i);
    uint64_t lo = i + 1, hi = a->nrelocs;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (record_site_section(a, mid) == s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The address record rec refers to now.  Validated: an anchor index is
 * below the anchor count, so anchor[] holds it. */
HOT uint64_t record_target(const apply_ctx *a, const uint8_t *rec)
{
    uint64_t origin = rec[RR_TARGET_KIND] == PCACHE_TARGET_SECTION ? a->image_base + ld64(rec + RR_TARGET_BASE)
                                                                   : a->anchor[ld16(rec + RR_TARGET_INDEX)];
    return origin + ld64(rec + RR_TARGET_OFFSET) + ld64(rec + RR_ADDEND);
}

/* The value record rec's field must hold now; field_address is where the
 * field runs. */
HOT uint64_t record_value(const apply_ctx *a, const uint8_t *rec, uint64_t field_address)
{
    uint64_t target = record_target(a, rec);

    if (!reloc_kind_relative(rec[RR_KIND]))
        return target;
    /* (uint64_t)(int64_t) sign-extends pc_offset; the sums wrap mod 2^64 */
    return target - (field_address + (uint64_t)(int64_t)(int32_t)ld32(rec + RR_PC_OFFSET));
}

HOT int value_fits(unsigned kind, uint64_t v)
{
    switch (kind) {
    case PCACHE_RELOC_REL8:
        return v + 0x80u <= 0xffu;
    case PCACHE_RELOC_REL32:
        return v + 0x80000000u <= 0xffffffffu;
    case PCACHE_RELOC_ABS32:
        return v <= 0xffffffffu;
    default:
        return 1;
    }
}

/* 1 if the spans resurrect summed the ranged records up in (pcache.h)
 * prove every value in range at these addresses: then no record needs a
 * look.  0 when they do not, or are not all there (too many origins and
 * kinds): then each record is checked. */
static int spans_prove_fit(const pcache_segment *seg, const apply_ctx *a)
{
    if (seg->relocs_span_count > PCACHE_RELOC_SPANS)
        return 0;
    for (uint32_t k = 0; k < seg->relocs_span_count; k++) {
        const pcache_reloc_span *sp = &seg->relocs_spans[k];
        /* an anchor origin is below the anchor count: the span came from
         * a checked record */
        uint64_t origin = sp->origin == 0 ? a->image_base : a->anchor[sp->origin - 1];
        uint64_t max = reloc_fit_max(sp->kind), start;
        if (reloc_kind_relative(sp->kind))
            origin -= a->seg_address;
        /* every value + bias lies in [start, start + width]: no wrap when
         * start + width <= max */
        start = origin + sp->low;
        if (start > max || sp->width > max - start)
            return 0;
    }
    return 1;
}

/* Index of the first record whose value does not fit its field, or
 * nrelocs.  abs64 fields take any value: skipped. */
static uint64_t first_out_of_range(const apply_ctx *a)
{
    for (uint64_t i = 0, end; i < a->nrelocs; i = end) {
        uint64_t run = a->seg_address + reloc_section_offset(a->seg, record_site_section(a, i));
        end = run_end(a, i);
        for (; i < end; i++) {
            const uint8_t *rec = record_at(a, i);
            if (rec[RR_KIND] != PCACHE_RELOC_ABS64 &&
                !value_fits(rec[RR_KIND], record_value(a, rec, run + ld64(rec + RR_SITE_OFFSET))))
                return i;
        }
    }
    return a->nrelocs;
}

static pcache_status report_out_of_range(const apply_ctx *a, const reloc_tables *t, uint64_t i, pcache_report *rep)
{
    pcache_reloc r;
    const uint8_t *rec = record_at(a, i);
    uint64_t off, v;
    char vt[32];

    reloc_record_read(a->seg, t, i, &r);
    off = reloc_section_offset(a->seg, r.site_index) + r.site_offset;
    v = record_value(a, rec, a->seg_address + off);
    return report_fail(rep, PCACHE_E_RELOC_RANGE, a->seg->cls, r.site_section, off, 0, 0, 0,
                       "record %" PRIu64 ": %s value %s (site +0x%" PRIx64 ", target 0x%" PRIx64
                       ") does not fit %s; field",
                       i, pcache_reloc_kind_name(r.kind), patch_value_text(r.kind, v, vt, sizeof vt), r.site_offset,
                       record_target(a, rec), patch_range_text(r.kind));
}

/* Field bytes in the client's byte order (9.2), whatever the host's. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_BIG 0
#else
#define HOST_BIG 1
#endif

HOT void store32(uint8_t *p, uint32_t v, int big)
{
    if (big != HOST_BIG)
        v = __builtin_bswap32(v);
    memcpy(p, &v, 4);
}

HOT void store64(uint8_t *p, uint64_t v, int big)
{
    if (big != HOST_BIG)
        v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
}

/* Every value has been checked: writes them all.  Inlined per byte order
 * and for tables of abs64 records only (no kind to tell apart), so that
 * neither is tested per record. */
HOT void write_fields(const apply_ctx *a, uint8_t *dst, int big, int abs64_only)
{
    for (uint64_t i = 0, end; i < a->nrelocs; i = end) {
        uint64_t sec = reloc_section_offset(a->seg, record_site_section(a, i));
        uint8_t *run = dst + sec;
        uint64_t run_address = a->seg_address + sec;
        end = run_end(a, i);
        for (; i < end; i++) {
            const uint8_t *rec = record_at(a, i);
            uint64_t off = ld64(rec + RR_SITE_OFFSET);
            if (abs64_only) {
                store64(run + off, record_target(a, rec), big);
                continue;
            }
            {
                uint64_t v = record_value(a, rec, run_address + off);
                switch (rec[RR_KIND]) {
                case PCACHE_RELOC_REL8:
                    run[off] = (uint8_t)v;
                    break;
                case PCACHE_RELOC_REL32:
                case PCACHE_RELOC_ABS32:
                    store32(run + off, (uint32_t)v, big);
                    break;
                default: /* PCACHE_RELOC_ABS64: validated, no other kind */
                    store64(run + off, v, big);
                    break;
                }
            }
        }
    }
}

/* Patched bytes no longer match their checksums: under LAZY, each
 * section holding a site is verified (once; then it is marked) before
 * any is written. */
static pcache_status verify_site_sections(pcache_segment *seg, const apply_ctx *a, pcache_report *rep)
{
    for (uint64_t i = 0; i < a->nrelocs; i = run_end(a, i)) {
        pcache_view view;
        pcache_status st = pcache_segment_section(seg, record_site_section(a, i), &view, rep);
        if (st != PCACHE_OK)
            return st;
    }
    return PCACHE_OK;
}

pcache_status pcache_reloc_apply(pcache_segment *seg, void *dst, uint64_t image_base,
                                 pcache_anchor_resolver resolve, void *ctx, pcache_report *rep)
{
    reloc_tables t;
    apply_ctx a;
    pcache_status st;
    uint64_t bad;
    int big;

    report_clear(rep);
    if (!seg || !seg->base || !dst)
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, 0, 0, 0, 0,
                           "invalid argument to pcache_reloc_apply");
    /* A segment resurrect accepted is sealed; any other is checked now,
     * in full, before a byte is written where its records say. */
    st = reloc_tables_checked(seg) ? reloc_tables_find(seg, &t, rep) : reloc_tables_check(seg, &t, rep);
    if (st != PCACHE_OK)
        return st;
    if (t.nrelocs == 0)
        return PCACHE_OK;

    a.seg = seg;
    a.relocs = t.relocs;
    a.nrelocs = t.nrelocs;
    a.image_base = image_base;
    a.seg_address = image_base + seg->file_offset;
    /* once per anchor, not per record */
    for (uint32_t j = 0; j < t.nanchors; j++) {
        const uint8_t *e = t.anchors + (uint64_t)j * PCACHE_ANCHOR_ENTRY_SIZE;
        const char *name = (const char *)e + AE_NAME;
        if (!resolve)
            return report_fail(rep, PCACHE_E_ANCHOR, seg->cls, ANCHORS_SECTION_NAME, 0, 0, 0, 0,
                               "anchor \"%s\" is needed but no resolver was given", name);
        if (resolve(ctx, name, ld64(e + AE_ADDRESS), &a.anchor[j]) != 0)
            return report_fail(rep, PCACHE_E_ANCHOR, seg->cls, ANCHORS_SECTION_NAME,
                               reloc_section_offset(seg, t.anchors_index) + (uint64_t)j * PCACHE_ANCHOR_ENTRY_SIZE,
                               0, 0, 0, "anchor \"%s\" could not be resolved", name);
    }

    if (seg->validation == PCACHE_VALIDATE_LAZY && (st = verify_site_sections(seg, &a, rep)) != PCACHE_OK)
        return st;
    /* Pass 1, only when some field has a range (not abs64) and the spans
     * do not prove them all in range: check every value that has one. */
    if (seg->relocs_ranged != 0 && !spans_prove_fit(seg, &a) && (bad = first_out_of_range(&a)) < a.nrelocs)
        return report_out_of_range(&a, &t, bad, rep);
    /* Pass 2: write. */
    big = seg->identity.byte_order == PCACHE_BIG_ENDIAN;
    if (big && seg->relocs_ranged == 0)
        write_fields(&a, dst, 1, 1);
    else if (big)
        write_fields(&a, dst, 1, 0);
    else if (seg->relocs_ranged == 0)
        write_fields(&a, dst, 0, 1);
    else
        write_fields(&a, dst, 0, 0);
    return PCACHE_OK;
}
