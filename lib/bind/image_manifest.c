/* SPDX-License-Identifier: BSD-2-Clause */
/* The manifest: an ro section listing where each class's segment of the
 * image was laid out, so that a loader that receives the segments one by
 * one (DynamoRIO: rw, rx, then ro) knows which ones it must have and where
 * they must be.  Written at persist time, when every class has been sized. */
#include <string.h>

#include "bytes.h"
#include "format.h"
#include "report.h"
#include "split.h"

int manifest_present(const pcache_builder *b)
{
    const class_state *cs = &b->cls[PCACHE_RO];
    for (uint32_t i = 0; i < cs->n - cs->lib; i++)
        if (strcmp(cs->sec[i].name, PCACHE_MANIFEST_SECTION) == 0)
            return 1;
    return 0;
}

static int produce(const pcache_builder *b, uint32_t flags, pcache_writer *w)
{
    uint8_t m[PCACHE_MANIFEST_SIZE];

    memset(m, 0, sizeof m);
    st16(m + MF_VERSION, PCACHE_MANIFEST_VERSION);
    st16(m + MF_FLAGS, (uint16_t)flags);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        const class_state *cs = &b->cls[c];
        uint8_t *e = m + MF_CLASS + c * MF_CLASS_SIZE;
        if (cs->n - cs->lib == 0)
            continue;
        /* A class with sections but no layout: the host broke the
         * size-every-class-first order, and no manifest can be right. */
        if (!cs->sized)
            return 1;
        st64(e, cs->file_offs);
        st64(e + 8, cs->lay.segment_size);
    }
    return pcache_writer_write(w, m, sizeof m) == PCACHE_OK ? 0 : 1;
}

/* The builder keeps only (function, ctx) for a produced section and owns
 * no memory of ours, so the flags select the function: ctx is the builder. */
static int produce_plain(void *ctx, pcache_writer *w)
{
    return produce(ctx, 0, w);
}

static int produce_carried(void *ctx, pcache_writer *w)
{
    return produce(ctx, PCACHE_MANIFEST_RW_CARRIED, w);
}

pcache_status manifest_add(pcache_builder *b, uint32_t flags)
{
    section_src s;

    memset(&s, 0, sizeof s);
    memcpy(s.name, PCACHE_MANIFEST_SECTION, strlen(PCACHE_MANIFEST_SECTION));
    s.type = PCACHE_TYPE_DATA;
    s.align = 8;
    s.size = PCACHE_MANIFEST_SIZE;
    s.produce = (flags & PCACHE_MANIFEST_RW_CARRIED) ? produce_carried : produce_plain;
    s.ctx = b;
    return split_append_section(b, PCACHE_RO, &s);
}

pcache_status manifest_read(pcache_segment *ro, manifest *m, pcache_report *rep)
{
    pcache_view v;
    const uint8_t *p;
    pcache_status st;
    uint64_t base;

    st = pcache_segment_find(ro, PCACHE_MANIFEST_SECTION, &v, rep);
    if (st == PCACHE_E_NOT_FOUND)
        return report_fail(rep, PCACHE_E_NOT_FOUND, PCACHE_RO, PCACHE_MANIFEST_SECTION, PCACHE_REPORT_NO_OFFSET, 0, 0,
                           0, "the image has no manifest: not written for a host that stores classes apart");
    if (st != PCACHE_OK)
        return st;
    base = v.offset;
    if (v.size != PCACHE_MANIFEST_SIZE)
        return report_fail(rep, PCACHE_E_HEADER_FIELD, PCACHE_RO, PCACHE_MANIFEST_SECTION, base, 1,
                           PCACHE_MANIFEST_SIZE, v.size, "manifest size");
    p = v.data;
    if (ld16(p + MF_VERSION) != PCACHE_MANIFEST_VERSION)
        return report_fail(rep, PCACHE_E_HEADER_FIELD, PCACHE_RO, PCACHE_MANIFEST_SECTION, base + MF_VERSION, 1,
                           PCACHE_MANIFEST_VERSION, ld16(p + MF_VERSION), "manifest version");
    if (ld16(p + MF_FLAGS) & ~MANIFEST_FLAGS_KNOWN)
        return report_fail(rep, PCACHE_E_HEADER_FIELD, PCACHE_RO, PCACHE_MANIFEST_SECTION, base + MF_FLAGS, 1,
                           MANIFEST_FLAGS_KNOWN, ld16(p + MF_FLAGS), "manifest flags: unknown bits (known mask)");
    if (ld32(p + MF_RESERVED0) != 0 || ld64(p + MF_RESERVED1) != 0)
        return report_fail(rep, PCACHE_E_HEADER_FIELD, PCACHE_RO, PCACHE_MANIFEST_SECTION,
                           base + (ld32(p + MF_RESERVED0) ? MF_RESERVED0 : MF_RESERVED1), 0, 0, 0,
                           "manifest reserved bytes are not zero");
    m->flags = ld16(p + MF_FLAGS);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        m->file_offset[c] = ld64(p + MF_CLASS + c * MF_CLASS_SIZE);
        m->size[c] = ld64(p + MF_CLASS + c * MF_CLASS_SIZE + 8);
        if (m->size[c] == 0 && m->file_offset[c] != 0)
            return report_fail(rep, PCACHE_E_HEADER_FIELD, PCACHE_RO, PCACHE_MANIFEST_SECTION,
                               base + MF_CLASS + (uint64_t)c * MF_CLASS_SIZE, 1, 0, m->file_offset[c],
                               "manifest: an absent %s segment has a file offset",
                               pcache_class_name((pcache_class)c));
    }
    return PCACHE_OK;
}

pcache_status pcache_bind_manifest_entry(pcache_segment *ro, pcache_class cls, uint64_t *file_offset, uint64_t *size,
                                         pcache_report *rep)
{
    manifest m;
    pcache_status st;

    report_clear(rep);
    if (!ro || !ro->base || ro->cls != PCACHE_RO || (unsigned)cls >= PCACHE_CLASS_COUNT || !file_offset || !size)
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, PCACHE_REPORT_NO_OFFSET, 0,
                           0, 0, "invalid argument to pcache_bind_manifest_entry");
    if ((st = manifest_read(ro, &m, rep)) != PCACHE_OK)
        return st;
    *file_offset = m.file_offset[cls];
    *size = m.size[cls];
    return PCACHE_OK;
}
