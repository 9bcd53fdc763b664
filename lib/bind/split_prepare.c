/* SPDX-License-Identifier: BSD-2-Clause */
/* Readying a builder for a host that stores each class in its own slot:
 * no persisted reference into rw data, rw optionally carried in ro, and a
 * manifest in ro (pcache/bind.h). */

#include "report.h"
#include "split.h"

static int has_sections(const pcache_builder *b)
{
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        if (b->cls[c].n - b->cls[c].lib)
            return 1;
    return 0;
}

pcache_status pcache_builder_prepare_split(pcache_builder *b, uint32_t flags)
{
    pcache_status st;

    if (!b)
        return PCACHE_E_INVALID_ARGUMENT;
    report_clear(&b->report);
    if (flags & ~PCACHE_SPLIT_CARRY_RW)
        return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL,
                           PCACHE_REPORT_NO_OFFSET, 0, 0, 0, "unknown flags 0x%x", (unsigned)flags);
    if (manifest_present(b))
        return report_fail(&b->report, PCACHE_E_STATE, PCACHE_RO, PCACHE_MANIFEST_SECTION, PCACHE_REPORT_NO_OFFSET,
                           0, 0, 0, "the builder was already prepared for a split image");

    /* The loader hands rw out as a private copy: its address is not known
     * when the file is written, so nothing persisted can point at it. */
    for (size_t i = 0; i < b->npatches; i++) {
        const patch_src *p = &b->patches[i];
        if (p->target_kind == PCACHE_TARGET_SECTION && p->target_class == PCACHE_RW)
            return report_fail(&b->report, PCACHE_E_RELOC_TARGET, p->cls, b->cls[p->cls].sec[p->site_index].name,
                               p->site_offset, 0, 0, 0,
                               "patch %zu refers to rw section '%s': rw data is loaded as a private copy, "
                               "whose address a persisted reference cannot know (site offset)",
                               i, b->cls[PCACHE_RW].sec[p->target_index].name);
    }
    if ((flags & PCACHE_SPLIT_CARRY_RW) && (st = carry_rw_into_ro(b)) != PCACHE_OK)
        return st;
    if (!has_sections(b))
        return PCACHE_OK;
    if (b->build_size && (st = build_section_add(b)) != PCACHE_OK)
        return st;
    return manifest_add(b, (flags & PCACHE_SPLIT_CARRY_RW) ? PCACHE_MANIFEST_RW_CARRIED : 0);
}
