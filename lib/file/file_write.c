/* SPDX-License-Identifier: BSD-2-Clause */
/* Writing a standalone pcache file: header, page-aligned segments, footer
 * last.  (Atomic replacement and durability are the file I/O layer's.) */
#include <string.h>

#include "builder.h"
#include "bytes.h"
#include "format.h"
#include "layout.h"
#include "report.h"

/* Sizes every class as it will sit in the file.  A segment's layout
 * depends on its file offset, and its offset on the sizes before it, so
 * classes are sized in order. */
static pcache_status size_all(pcache_builder *b, file_layout *fl, uint64_t seg_size[PCACHE_CLASS_COUNT])
{
    uint64_t cursor = b->id.page_size;
    pcache_status st;

    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        uint64_t offs;
        if (align_up_u64(cursor, b->id.page_size, &offs))
            return PCACHE_E_OVERFLOW;
        if ((st = pcache_builder_size(b, (pcache_class)c, offs, &seg_size[c])) != PCACHE_OK)
            return st;
        if (seg_size[c] && add_u64(offs, seg_size[c], &cursor))
            return PCACHE_E_OVERFLOW;
    }
    return layout_file(seg_size, b->id.page_size, fl);
}

pcache_status pcache_file_size(pcache_builder *b, uint64_t *file_size)
{
    file_layout fl;
    uint64_t seg_size[PCACHE_CLASS_COUNT];
    pcache_status st;
    if (!b || !file_size)
        return PCACHE_E_INVALID_ARGUMENT;
    if ((st = size_all(b, &fl, seg_size)) != PCACHE_OK)
        return st;
    *file_size = fl.file_size;
    return PCACHE_OK;
}

static pcache_status write_zeros(const pcache_sink *sink, uint64_t n, int *err)
{
    static const uint8_t zeros[4096];
    while (n > 0) {
        size_t k = n > sizeof zeros ? sizeof zeros : (size_t)n;
        if ((*err = sink->write(sink->ctx, zeros, k)) != 0)
            return PCACHE_E_SINK;
        n -= k;
    }
    return PCACHE_OK;
}

pcache_status pcache_file_write_sink(pcache_builder *b, const pcache_sink *sink, uint64_t *file_size)
{
    file_layout fl;
    uint64_t seg_size[PCACHE_CLASS_COUNT], pos;
    uint8_t h[FILE_HEADER_SIZE] = {0}, f[FILE_FOOTER_SIZE] = {0};
    uint64_t hsum;
    pcache_status st;
    int err = 0;

    if (!b || !sink || !sink->write)
        return PCACHE_E_INVALID_ARGUMENT;
    if ((st = size_all(b, &fl, seg_size)) != PCACHE_OK)
        return st;

    memcpy(h + FH_MAGIC, FILE_MAGIC, 8);
    st16(h + FH_MAJOR, PCACHE_FORMAT_MAJOR);
    /* the highest minor of its segments: 1.1 only with compressed sections */
    {
        uint16_t minor = 0;
        for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
            if (class_format_minor(&b->cls[c]) > minor)
                minor = class_format_minor(&b->cls[c]);
        st16(h + FH_MINOR, minor);
    }
    st16(h + FH_HEADER_SIZE, FILE_HEADER_SIZE);
    h[FH_CHECKSUM] = (uint8_t)b->id.checksum;
    st32(h + FH_PAGE_SIZE, b->id.page_size);
    st64(h + FH_FILE_SIZE, fl.file_size);
    memcpy(h + FH_IMAGE_ID, b->id.image_id, PCACHE_IMAGE_ID_SIZE);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        st64(h + FH_SEGMENTS + 16 * c, fl.offset[c]);
        st64(h + FH_SEGMENTS + 16 * c + 8, seg_size[c]);
    }
    hsum = pcache_checksum(b->id.checksum, h, FH_HEADER_CHECKSUM);
    st64be(h + FH_HEADER_CHECKSUM, hsum);

    if ((err = sink->write(sink->ctx, h, sizeof h)) != 0)
        goto sink_failed;
    pos = FILE_HEADER_SIZE;
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        if (!seg_size[c])
            continue;
        if (write_zeros(sink, fl.offset[c] - pos, &err) != PCACHE_OK)
            goto sink_failed;
        if ((st = pcache_builder_persist(b, (pcache_class)c, sink)) != PCACHE_OK)
            return st;
        pos = fl.offset[c] + seg_size[c];
    }
    if (write_zeros(sink, fl.footer_offset - pos, &err) != PCACHE_OK)
        goto sink_failed;

    memcpy(f + FF_MAGIC, FILE_FOOTER_MAGIC, 8);
    st64(f + FF_FILE_SIZE, fl.file_size);
    st64be(f + FF_HEADER_CHECKSUM, hsum);
    st64be(f + FF_FOOTER_CHECKSUM, pcache_checksum(b->id.checksum, f, FF_FOOTER_CHECKSUM));
    if ((err = sink->write(sink->ctx, f, sizeof f)) != 0)
        goto sink_failed;
    if (file_size)
        *file_size = fl.file_size;
    return PCACHE_OK;

sink_failed:
    report_fail(&b->report, PCACHE_E_SINK, -1, NULL, 0, 0, 0, 0, "sink write failed (error %d)", err);
    b->report.sys_errno = err;
    return PCACHE_E_SINK;
}
