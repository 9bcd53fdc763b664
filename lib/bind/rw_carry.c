/* SPDX-License-Identifier: BSD-2-Clause */
/* Carrying rw sections inside the ro segment, for a host that cannot map
 * writable data from its file (DynamoRIO with -persist_map_rw_separate,
 * docs/DYNAMORIO.md).  The sections keep their bytes and patches; only
 * their class and name change, to ".rw/<name>" in ro. */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "split.h"

pcache_status split_append_section(pcache_builder *b, pcache_class cls, const section_src *src)
{
    class_state *cs = &b->cls[cls];
    section_src *s;
    pcache_status st;

    /* The library's relocation sections are appended again by size(). */
    cs->n -= cs->lib;
    cs->lib = 0;
    if ((st = builder_push_section(b, cls, src->name, &s)) != PCACHE_OK)
        return st;
    *s = *src;
    cs->sized = 0;
    return PCACHE_OK;
}

pcache_status carry_rw_into_ro(pcache_builder *b)
{
    class_state *ro = &b->cls[PCACHE_RO], *rw = &b->cls[PCACHE_RW];
    const size_t plen = strlen(PCACHE_CARRIED_PREFIX);
    uint32_t ro_n, rw_n;

    ro->n -= ro->lib;
    ro->lib = 0;
    rw->n -= rw->lib;
    rw->lib = 0;
    ro_n = ro->n;
    rw_n = rw->n;

    /* Every check before the first move, so that a refusal changes nothing. */
    for (uint32_t i = 0; i < rw_n; i++)
        if (strlen(rw->sec[i].name) > PCACHE_CARRIED_NAME_MAX)
            return report_fail(&b->report, PCACHE_E_SECTION_NAME, PCACHE_RW, rw->sec[i].name, 0, 1,
                               PCACHE_CARRIED_NAME_MAX, strlen(rw->sec[i].name),
                               "rw section name too long to be carried in ro as \"" PCACHE_CARRIED_PREFIX
                               "<name>\" (bytes)");
    if ((uint64_t)ro_n + rw_n > PCACHE_MAX_SECTIONS)
        return report_fail(&b->report, PCACHE_E_TOO_MANY_SECTIONS, PCACHE_RO, NULL, 0, 1, PCACHE_MAX_SECTIONS,
                           (uint64_t)ro_n + rw_n, "ro and carried rw sections together");
    if (ro->cap < ro_n + rw_n) {
        section_src *p = realloc(ro->sec, (size_t)(ro_n + rw_n) * sizeof *p);
        if (!p)
            return PCACHE_E_NO_MEMORY;
        ro->sec = p;
        ro->cap = ro_n + rw_n;
    }

    for (uint32_t i = 0; i < rw_n; i++) {
        section_src s = rw->sec[i];
        size_t len = strlen(rw->sec[i].name);
        memset(s.name, 0, sizeof s.name);
        memcpy(s.name, PCACHE_CARRIED_PREFIX, plen);
        memcpy(s.name + plen, rw->sec[i].name, len);
        ro->sec[ro_n + i] = s;
    }
    ro->n = ro_n + rw_n;
    rw->n = 0;
    ro->sized = rw->sized = 0;

    for (size_t i = 0; i < b->npatches; i++) {
        patch_src *p = &b->patches[i];
        if (p->cls == PCACHE_RW) {
            p->cls = PCACHE_RO;
            p->site_index += ro_n;
        }
        if (p->target_kind == PCACHE_TARGET_SECTION && p->target_class == PCACHE_RW) {
            p->target_class = PCACHE_RO;
            p->target_index += ro_n;
        }
    }
    return PCACHE_OK;
}
