/* SPDX-License-Identifier: BSD-2-Clause */
/* Recognising a segment at a position in a host slot before validating it:
 * the magic, then the class and client name it states, so that a host
 * adapter knows whose segment it is (pcache/bind.h). */
#include <string.h>

#include "format.h"
#include "pcache/bind.h"

pcache_status pcache_slot_peek(const void *p, uint64_t available, pcache_class *cls,
                               char name[PCACHE_CLIENT_NAME_MAX + 1])
{
    const uint8_t *h = p;
    const uint8_t *nul;

    if (!p || !cls || !name)
        return PCACHE_E_INVALID_ARGUMENT;
    if (available < SEG_MAGIC_SIZE)
        return PCACHE_E_TRUNCATED;
    if (memcmp(h, SEG_MAGIC, SEG_MAGIC_SIZE) != 0)
        return PCACHE_E_MAGIC;
    if (available < SEG_HEADER_SIZE)
        return PCACHE_E_TRUNCATED;
    nul = memchr(h + SH_CLIENT_NAME, 0, PCACHE_CLIENT_NAME_MAX + 1);
    if (!nul)
        return PCACHE_E_HEADER_FIELD;
    memcpy(name, h + SH_CLIENT_NAME, (size_t)(nul - (h + SH_CLIENT_NAME)) + 1);
    *cls = h[SH_CLASS] >= 1 && h[SH_CLASS] <= PCACHE_CLASS_COUNT ? (pcache_class)(h[SH_CLASS] - 1)
                                                                 : PCACHE_CLASS_COUNT;
    return PCACHE_OK;
}
