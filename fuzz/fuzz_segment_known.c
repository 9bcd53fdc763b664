/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Target: pcache_resurrect() given the exact number of bytes (a segment
 * read from a standalone file or a buffer).  Every class, every validation
 * level, with and without a list of known names and the alignment check;
 * on the input as it is and on a copy whose checksums were repaired, so
 * that mutations reach the structure behind the checksums.
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "format.h"
#include "fuzz_common.h"

/* Inflating what resurrect accepted stays within the stated size: each
 * compressed section into a buffer of exactly its loaded size (one byte
 * less is refused untouched), with only the outcomes its validation level
 * allows.  Loaded sizes past INFLATE_CAP (up to 1032 times the input) are
 * only tried against the short buffer. */
#define INFLATE_CAP (1u << 20)

static void inflate_compressed(pcache_segment *seg)
{
    for (uint32_t i = 0; i < seg->section_count; i++) {
        const uint8_t *e = seg->base + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i;
        uint64_t size = ld64(e + SE_SIZE);
        uint8_t *buf;
        pcache_report rep;
        pcache_view v;
        pcache_status st;
        int compressed = ld16(e + SE_TYPE) == PCACHE_TYPE_DATA && !(ld16(e + SE_FLAGS) & ~DATA_FLAGS_KNOWN) &&
                         (ld16(e + SE_FLAGS) & PCACHE_SECTION_COMPRESSED);

        if (!compressed) {
            if ((st = pcache_segment_inflate(seg, i, NULL, 0, NULL, &rep)) != PCACHE_E_INVALID_ARGUMENT)
                fuzz_fail("section %u, not compressed, inflates with %s", i, pcache_status_name(st));
            continue;
        }
        if (size > INFLATE_CAP) {
            uint8_t canary = 0xa5;
            if ((st = pcache_segment_inflate(seg, i, &canary, 0, NULL, &rep)) != PCACHE_E_INVALID_ARGUMENT ||
                canary != 0xa5)
                fuzz_fail("section %u: an empty buffer for %llu bytes gives %s", i, (unsigned long long)size,
                          pcache_status_name(st));
            continue;
        }
        if (!(buf = malloc(size ? (size_t)size : 1)))
            fuzz_fail("out of memory");
        if (size > 0) {
            memset(buf, 0xa5, (size_t)size);
            st = pcache_segment_inflate(seg, i, buf, size - 1, NULL, &rep);
            if (st != PCACHE_E_INVALID_ARGUMENT || buf[0] != 0xa5 || memcmp(buf, buf + 1, (size_t)size - 1) != 0)
                fuzz_fail("section %u: a buffer one byte short gives %s or is written", i, pcache_status_name(st));
        }
        st = pcache_segment_inflate(seg, i, buf, size, &v, &rep);
        if (st == PCACHE_OK) {
            if (v.data != buf || v.size != size || v.index != i)
                fuzz_fail("section %u: inflated view does not describe the buffer", i);
        } else {
            fuzz_check_failure(st, &rep, "pcache_segment_inflate");
            if (st != PCACHE_E_INFLATE && st != PCACHE_E_NO_MEMORY &&
                !(st == PCACHE_E_SECTION_CHECKSUM && seg->validation != PCACHE_VALIDATE_HEADER))
                fuzz_fail("section %u of an accepted segment: inflate gives %s", i, pcache_status_name(st));
        }
        free(buf);
    }
}

static void resurrect_one(const uint8_t *buf, size_t n, pcache_class cls, const pcache_expect *exp)
{
    const uint8_t *map = buf, *again = buf;
    pcache_segment seg, seg2;
    pcache_expect same = *exp;
    pcache_report rep;
    pcache_status st = pcache_resurrect(&seg, cls, &map, n, exp, &rep);

    if (st != PCACHE_OK) {
        fuzz_check_failure(st, &rep, "pcache_resurrect");
        if (map != buf)
            fuzz_fail("pcache_resurrect failed but moved the map pointer");
        return;
    }
    if (seg.base != buf || seg.cls != cls || seg.size > n || map != buf + seg.size)
        fuzz_fail("accepted segment of %llu bytes out of %zu, map advanced by %td", (unsigned long long)seg.size,
                  n, map - buf);
    /* Exactly the segment's bytes suffice; one fewer does not. */
    if ((st = pcache_resurrect(&seg2, cls, &again, seg.size, exp, NULL)) != PCACHE_OK || again != map)
        fuzz_fail("segment accepted with %zu bytes available, refused (%s) with its own size", n,
                  pcache_status_name(st));
    again = buf;
    if ((st = pcache_resurrect(&seg2, cls, &again, seg.size - 1, exp, NULL)) != PCACHE_E_TRUNCATED)
        fuzz_fail("segment one byte short gives %s, not truncated", pcache_status_name(st));
    /* The identity it reports is the one it carries. */
    same.identity = seg.identity;
    same.check |= (PCACHE_CHECK_DEFAULT & ~PCACHE_CHECK_ALIGNMENT) | PCACHE_CHECK_IMAGE_ID | PCACHE_CHECK_MODULE_BASE;
    again = buf;
    if ((st = pcache_resurrect(&seg2, cls, &again, n, &same, &rep)) != PCACHE_OK)
        fuzz_fail("segment refused when expecting its own identity: %s", rep.message);
    fuzz_walk_segment(&seg, 1);
    inflate_compressed(&seg);
    if (exp->validation == PCACHE_VALIDATE_FULL && !exp->known_sections)
        fuzz_check_rebuild(&seg);
}

static void resurrect_all(const uint8_t *buf, size_t n)
{
    for (int cls = 0; cls < PCACHE_CLASS_COUNT; cls++)
        for (int v = PCACHE_VALIDATE_HEADER; v <= PCACHE_VALIDATE_FULL; v++)
            for (int variant = 0; variant < 3; variant++) {
                pcache_expect exp;
                pcache_expect_init(&exp, NULL);
                exp.validation = (pcache_validation)v;
                exp.writable = cls == PCACHE_RW;
                if (variant == 1) {
                    exp.known_sections = fuzz_known_names;
                    exp.known_section_count = fuzz_known_name_count;
                }
                if (variant == 2)
                    exp.check = PCACHE_CHECK_ALIGNMENT;
                resurrect_one(buf, n, (pcache_class)cls, &exp);
            }
}

int fuzz_segment_known(const uint8_t *data, size_t size)
{
    /* Where DynamoRIO maps a file, a segment laid out for file offset F
     * sits at an address congruent to F modulo the page size. */
    uint64_t phase = size >= SH_FILE_OFFSET + 8 ? ld64(data + SH_FILE_OFFSET) : 0;
    void *block, *fixed_block;
    uint8_t *buf = fuzz_place(data, size, phase, &block);
    uint8_t *fixed = fuzz_place(data, size, phase, &fixed_block);

    resurrect_all(buf, size);
    fuzz_fix_segment(fixed, size);
    if (memcmp(buf, fixed, size) != 0)
        resurrect_all(fixed, size);
    free(block);
    free(fixed_block);
    return 0;
}

FUZZ_ENTRY(fuzz_segment_known)
