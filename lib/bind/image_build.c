/* SPDX-License-Identifier: BSD-2-Clause */
/* The build section of a split image (pcache/bind.h): which build of the
 * code it refers into the image was made with, written from the builder
 * and checked at bind. */
#include <string.h>

#include "bytes.h"
#include "report.h"
#include "split.h"

enum { BS_VERSION = 0, BS_KIND = 2, BS_SIZE = 4, BS_RESERVED = 6, BS_ID = 8 };

static int kind_known(uint16_t kind)
{
    return kind == PCACHE_BUILD_ID_GNU || kind == PCACHE_BUILD_ID_TEXT_XXH3;
}

pcache_status pcache_builder_set_build(pcache_builder *b, const pcache_build_id *id)
{
    if (!b)
        return PCACHE_E_INVALID_ARGUMENT;
    report_clear(&b->report);
    if (!id || !kind_known(id->kind) || id->size == 0 || id->size > PCACHE_BUILD_ID_MAX)
        return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, PCACHE_RO, PCACHE_BUILD_SECTION,
                           PCACHE_REPORT_NO_OFFSET, 0, 0, 0,
                           "pcache_builder_set_build: a build id of a known kind, 1 to %u bytes",
                           PCACHE_BUILD_ID_MAX);
    if (manifest_present(b))
        return report_fail(&b->report, PCACHE_E_STATE, PCACHE_RO, PCACHE_BUILD_SECTION, PCACHE_REPORT_NO_OFFSET, 0,
                           0, 0, "pcache_builder_set_build after pcache_builder_prepare_split");
    memset(b->build, 0, sizeof b->build);
    st16(b->build + BS_VERSION, PCACHE_BUILD_SECTION_VERSION);
    st16(b->build + BS_KIND, id->kind);
    st16(b->build + BS_SIZE, id->size);
    memcpy(b->build + BS_ID, id->bytes, id->size);
    b->build_size = BS_ID + id->size;
    return PCACHE_OK;
}

pcache_status build_section_add(pcache_builder *b)
{
    section_src s;

    memset(&s, 0, sizeof s);
    memcpy(s.name, PCACHE_BUILD_SECTION, strlen(PCACHE_BUILD_SECTION));
    s.type = PCACHE_TYPE_DATA;
    s.align = 8;
    s.data = b->build;
    s.size = b->build_size;
    return split_append_section(b, PCACHE_RO, &s);
}

pcache_status build_section_read(pcache_segment *ro, pcache_build_id *id, pcache_report *rep)
{
    pcache_view v;
    const uint8_t *p;
    uint64_t base;
    pcache_status st;

    memset(id, 0, sizeof *id);
    st = pcache_segment_find(ro, PCACHE_BUILD_SECTION, &v, rep);
    if (st != PCACHE_OK)
        return st;
    base = v.offset;
    p = v.data;
    if (v.size < BS_ID)
        return report_fail(rep, PCACHE_E_HEADER_FIELD, PCACHE_RO, PCACHE_BUILD_SECTION, base, 1, BS_ID, v.size,
                           "build section shorter than its header (bytes at least, found)");
    if (ld16(p + BS_VERSION) != PCACHE_BUILD_SECTION_VERSION)
        return report_fail(rep, PCACHE_E_HEADER_FIELD, PCACHE_RO, PCACHE_BUILD_SECTION, base + BS_VERSION, 1,
                           PCACHE_BUILD_SECTION_VERSION, ld16(p + BS_VERSION), "build section version");
    if (!kind_known(ld16(p + BS_KIND)))
        return report_fail(rep, PCACHE_E_HEADER_FIELD, PCACHE_RO, PCACHE_BUILD_SECTION, base + BS_KIND, 0, 0, 0,
                           "build section: unknown build id kind %u", ld16(p + BS_KIND));
    if (ld16(p + BS_SIZE) == 0 || ld16(p + BS_SIZE) > PCACHE_BUILD_ID_MAX || v.size != BS_ID + (uint64_t)ld16(p + BS_SIZE))
        return report_fail(rep, PCACHE_E_HEADER_FIELD, PCACHE_RO, PCACHE_BUILD_SECTION, base + BS_SIZE, 1,
                           v.size - BS_ID, ld16(p + BS_SIZE),
                           "build section: id size (the section's bytes after its header, stated)");
    if (ld16(p + BS_RESERVED) != 0)
        return report_fail(rep, PCACHE_E_HEADER_FIELD, PCACHE_RO, PCACHE_BUILD_SECTION, base + BS_RESERVED, 1, 0,
                           ld16(p + BS_RESERVED), "build section reserved bytes are not zero");
    id->kind = ld16(p + BS_KIND);
    id->size = ld16(p + BS_SIZE);
    memcpy(id->bytes, p + BS_ID, id->size);
    return PCACHE_OK;
}
