/* SPDX-License-Identifier: BSD-2-Clause */
/* The builder's section list and the rule for a section's name: what the
 * builder (segment_write.c) and the layers that add sections of their own
 * to it (reloc_write.c, rw_carry.c) share.  It calls no other layer, so
 * the relocation writer depends on it and not on the segment writer. */
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "report.h"

int section_name_valid(const char *name, size_t *len_out)
{
    size_t len = 0;
    if (!name)
        return 0;
    while (name[len]) {
        unsigned char c = (unsigned char)name[len];
        if (c < 0x21 || c > 0x7e || len >= PCACHE_SECTION_NAME_MAX)
            return 0;
        len++;
    }
    if (len_out)
        *len_out = len;
    return len > 0;
}

pcache_status builder_push_section(pcache_builder *b, pcache_class cls, const char *name,
                                   section_src **out)
{
    class_state *cs = &b->cls[cls];
    if (cs->n >= PCACHE_MAX_SECTIONS)
        return report_fail(&b->report, PCACHE_E_TOO_MANY_SECTIONS, cls, name, 0, 1, PCACHE_MAX_SECTIONS,
                           cs->n + 1u, "too many sections");
    if (cs->n == cs->cap) {
        uint32_t cap = cs->cap ? cs->cap * 2 : 8;
        section_src *p = realloc(cs->sec, cap * sizeof *p);
        if (!p)
            return PCACHE_E_NO_MEMORY;
        cs->sec = p;
        cs->cap = cap;
    }
    *out = &cs->sec[cs->n++];
    memset(*out, 0, sizeof **out);
    return PCACHE_OK;
}
