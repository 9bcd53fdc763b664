/* Applying relocation records at load: all or nothing.  Every value is
 * computed and range-checked before the first byte of dst is written, so
 * that a reference that no longer reaches leaves the copy as it was. */
#include <inttypes.h>
#include <string.h>

#include "patch.h"
#include "reloc_table.h"
#include "report.h"

typedef struct apply_ctx {
    const pcache_segment *seg;
    const reloc_tables *t;
    uint64_t image_base;
    const uint64_t *anchor; /* current addresses, by anchor index */
} apply_ctx;

/* The value record r's field must hold now, and its segment offset. */
static uint64_t record_value(const apply_ctx *a, const pcache_reloc *r, uint64_t *field_off, uint64_t *target)
{
    uint64_t site_off = reloc_section_offset(a->seg, r->site_index) + r->site_offset; /* checked inside */
    uint64_t site_addr = a->image_base + a->seg->file_offset + site_off;
    uint64_t base = r->target_kind == PCACHE_TARGET_SECTION ? a->image_base + r->target_base
                                                             : a->anchor[r->anchor_index];

    *field_off = site_off;
    *target = base + r->target_offset + (uint64_t)r->addend;
    return patch_value(r->kind, site_addr, r->pc_offset, *target);
}

pcache_status pcache_reloc_apply(pcache_segment *seg, void *dst, uint64_t image_base,
                                 pcache_anchor_resolver resolve, void *ctx, pcache_report *rep)
{
    uint64_t anchor[PCACHE_MAX_ANCHORS];
    reloc_tables t;
    apply_ctx a;
    pcache_status st;
    uint32_t checked = RELOC_NO_SECTION;

    report_clear(rep);
    if (!seg || !seg->base || !dst)
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, 0, 0, 0, 0,
                           "invalid argument to pcache_reloc_apply");
    /* Resurrect checked the tables; the segment object is the caller's,
     * so check again (cheap) rather than write where it says. */
    if ((st = reloc_tables_check(seg, &t, rep)) != PCACHE_OK)
        return st;
    if (t.nrelocs == 0)
        return PCACHE_OK;

    for (uint32_t j = 0; j < t.nanchors; j++) {
        const uint8_t *e = t.anchors + (uint64_t)j * PCACHE_ANCHOR_ENTRY_SIZE;
        const char *name = (const char *)e + AE_NAME;
        if (!resolve)
            return report_fail(rep, PCACHE_E_ANCHOR, seg->cls, ANCHORS_SECTION_NAME, 0, 0, 0, 0,
                               "anchor \"%s\" is needed but no resolver was given", name);
        if (resolve(ctx, name, ld64(e + AE_ADDRESS), &anchor[j]) != 0)
            return report_fail(rep, PCACHE_E_ANCHOR, seg->cls, ANCHORS_SECTION_NAME,
                               reloc_section_offset(seg, t.anchors_index) + (uint64_t)j * PCACHE_ANCHOR_ENTRY_SIZE,
                               0, 0, 0, "anchor \"%s\" could not be resolved", name);
    }
    a.seg = seg;
    a.t = &t;
    a.image_base = image_base;
    a.anchor = anchor;

    /* Patched bytes no longer match their checksums: verify first.
     * Records are sorted by site section, so each is verified once. */
    if (seg->validation == PCACHE_VALIDATE_LAZY)
        for (uint64_t i = 0; i < t.nrelocs; i++) {
            pcache_reloc r;
            pcache_view view;
            reloc_record_read(seg, &t, i, &r);
            if (r.site_index == checked)
                continue;
            if ((st = pcache_segment_section(seg, r.site_index, &view, rep)) != PCACHE_OK)
                return st;
            checked = r.site_index;
        }
    /* Pass 1: compute and check every value. */
    for (uint64_t i = 0; i < t.nrelocs; i++) {
        pcache_reloc r;
        uint64_t off, target, v;
        reloc_record_read(seg, &t, i, &r);
        v = record_value(&a, &r, &off, &target);
        if (!patch_fits(r.kind, v)) {
            char vt[32];
            return report_fail(rep, PCACHE_E_RELOC_RANGE, seg->cls, r.site_section, off, 0, 0, 0,
                               "record %" PRIu64 ": %s value %s (site +0x%" PRIx64 ", target 0x%" PRIx64
                               ") does not fit %s; field",
                               i, pcache_reloc_kind_name(r.kind), patch_value_text(r.kind, v, vt, sizeof vt),
                               r.site_offset, target, patch_range_text(r.kind));
        }
    }
    /* Pass 2: write. */
    for (uint64_t i = 0; i < t.nrelocs; i++) {
        pcache_reloc r;
        uint64_t off, target, v;
        reloc_record_read(seg, &t, i, &r);
        v = record_value(&a, &r, &off, &target);
        patch_store(r.kind, (pcache_byte_order)seg->identity.byte_order, (uint8_t *)dst + off, v);
    }
    return PCACHE_OK;
}
