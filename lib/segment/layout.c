/* SPDX-License-Identifier: BSD-2-Clause */
/* Offset arithmetic of segments and files.  Every sum is checked: an
 * offset that would wrap is an error, never a small number. */
#include "layout.h"

#include "bytes.h"
#include "format.h"

pcache_status layout_segment(uint64_t file_offs, layout_item *items, uint32_t n,
                             int page_round, uint32_t page_size,
                             layout_result *res, uint32_t *bad)
{
    uint64_t c, abs, t;

    if (bad)
        *bad = 0;
    /* c = 256 + 64 n; cannot wrap for n < 2^32, but file_offs + c can. */
    c = SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * n;
    res->table_end = c;
    if (add_u64(file_offs, c, &abs))
        return PCACHE_E_OVERFLOW;
    for (uint32_t i = 0; i < n; i++) {
        if (bad)
            *bad = i;
        if (align_up_u64(abs, items[i].align, &abs))
            return PCACHE_E_OVERFLOW;
        items[i].offset = abs - file_offs;
        if (add_u64(abs, items[i].stored_size, &abs))
            return PCACHE_E_OVERFLOW;
    }
    if (bad)
        *bad = n;
    if (align_up_u64(abs, SEG_TRAILER_ALIGN, &abs))
        return PCACHE_E_OVERFLOW;
    res->trailer_offset = abs - file_offs;
    if (add_u64(abs, (uint64_t)SEG_TRAILER_ENTRY_SIZE * n, &abs))
        return PCACHE_E_OVERFLOW;
    res->trailer_end = abs - file_offs;
    if (page_round) {
        if (align_up_u64(abs, page_size, &t))
            return PCACHE_E_OVERFLOW;
        abs = t;
    }
    res->segment_size = abs - file_offs;
    return PCACHE_OK;
}

pcache_status layout_file(const uint64_t seg_size[PCACHE_CLASS_COUNT],
                          uint32_t page_size, file_layout *out)
{
    uint64_t cursor = page_size; /* the first page holds the file header */

    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        out->offset[c] = 0;
        if (seg_size[c] == 0)
            continue;
        if (align_up_u64(cursor, page_size, &cursor))
            return PCACHE_E_OVERFLOW;
        out->offset[c] = cursor;
        if (add_u64(cursor, seg_size[c], &cursor))
            return PCACHE_E_OVERFLOW;
    }
    /* The footer follows the last segment directly (docs/FORMAT.md 7.1);
     * a segment's canonical size makes that a multiple of 8, and a reader
     * that finds sizes which do not refuses the segment itself. */
    out->footer_offset = cursor;
    if (add_u64(cursor, FILE_FOOTER_SIZE, &out->file_size))
        return PCACHE_E_OVERFLOW;
    return PCACHE_OK;
}
