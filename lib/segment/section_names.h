/* SPDX-License-Identifier: BSD-2-Clause */
/* Name fields of a segment (docs/FORMAT.md 1.5): checked a word at a time,
 * and the section table's index by name, which makes lookup by name
 * O(log n) and resurrect's uniqueness check O(n log n) (it was n(n-1)/2
 * comparisons), with nothing allocated: the index lives in the caller's
 * pcache_segment. */
#ifndef PCACHE_SECTION_NAMES_H
#define PCACHE_SECTION_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "pcache/pcache.h"

#if defined(__SSE2__)
#include <emmintrin.h>

/* Bits per byte of the 16 at p: NUL, and allowed ([lo, 0x7e]: as signed
 * bytes, above lo - 1 and below 0x7f, which leaves out 0x80-0xff). */
static inline void name_masks16(const uint8_t *p, unsigned lo, uint64_t *nul, uint64_t *allowed)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    *nul = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_setzero_si128()));
    *allowed = (uint16_t)_mm_movemask_epi8(
        _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8((char)(lo - 1))), _mm_cmplt_epi8(x, _mm_set1_epi8(0x7f))));
}
#endif

/* 1 if the field of `field` bytes (32 or 64) holds a name of 1 to max
 * bytes, each in [lo, 0x7e] (lo >= 1), then a NUL and zeros to its end.
 * Inline: with field and lo constants at the call, a section name is two
 * loads and a few compares (SSE2 is part of x86-64). */
static inline int name_field_valid(const uint8_t *f, size_t field, size_t max, unsigned lo)
{
#if defined(__SSE2__)
    uint64_t n0, a0, n1, a1, nul, allowed, all;
    unsigned len;

    name_masks16(f, lo, &n0, &a0);
    name_masks16(f + 16, lo, &n1, &a1);
    nul = n0 | n1 << 16;
    allowed = a0 | a1 << 16;
    all = 0xffffffffull;
    if (field == 64) {
        name_masks16(f + 32, lo, &n0, &a0);
        name_masks16(f + 48, lo, &n1, &a1);
        nul |= n0 << 32 | n1 << 48;
        allowed |= a0 << 32 | a1 << 48;
        all = ~0ull;
    }
    /* every byte NUL or allowed, a NUL, NULs from the first one on */
    if ((nul | allowed) != all || nul == 0)
        return 0;
    len = (unsigned)__builtin_ctzll(nul);
    return nul == (all & (~0ull << len)) && len >= 1 && len <= max;
#else
    size_t len = 0;
    while (len < field && f[len]) {
        if (f[len] < lo || f[len] > 0x7e)
            return 0;
        len++;
    }
    if (len == 0 || len > max || len == field)
        return 0;
    while (len < field)
        if (f[len++])
            return 0;
    return 1;
#endif
}

/* strncmp(a, b, 64) == 0 for a, a valid client name field (a NUL within
 * its 64 bytes), and b, any 64-byte array. */
static inline int client_name_equal(const uint8_t *a, const uint8_t *b)
{
#if defined(__SSE2__)
    uint64_t nul = 0, eq = 0, upto;
    for (unsigned w = 0; w < 64; w += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(a + w));
        __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(b + w));
        nul |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_setzero_si128())) << w;
        eq |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, y)) << w;
    }
    upto = (nul & (0 - nul)) * 2 - 1; /* the bytes up to a's NUL, and it */
    return nul != 0 && (eq & upto) == upto;
#else
    return strncmp((const char *)a, (const char *)b, 64) == 0;
#endif
}

/* Fills seg->by_name with the section indices 0 .. n-1 sorted by their
 * 32-byte name fields (ties by index).  Returns the first index i, in
 * table order, whose name field equals that of an earlier entry, or n when
 * all are distinct.  Reads only the table's name fields; any bytes. */
uint32_t section_index_build(pcache_segment *seg);

/* The index of the section named `name` (a C string) in a segment whose
 * index section_index_build() filled, or UINT32_MAX. */
uint32_t section_index_find(const pcache_segment *seg, const char *name);

#endif
