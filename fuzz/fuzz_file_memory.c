/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Target: pcache_image_open_memory(), the standalone file loader, on the
 * input as it is and with its checksums repaired.  First with no
 * expectation (what tools do); an accepted file must then also be accepted
 * when its own identity is expected, must be what the builder writes, and
 * must be refused one byte short.  Then with the seed corpus's identity at
 * every validation level, with and without a list of known names.  Every
 * view of every accepted image is walked and read.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

static void check_image(pcache_image *img, const uint8_t *buf, size_t n)
{
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        pcache_segment *seg = pcache_image_segment(img, (pcache_class)c);
        if (!seg != !img->present[c])
            fuzz_fail("class %d: segment pointer and present flag disagree", c);
        if (!seg)
            continue;
        if (img->offset[c] > n || img->seg_size[c] > n - img->offset[c] || seg->base != buf + img->offset[c] ||
            seg->size != img->seg_size[c] || seg->cls != (pcache_class)c)
            fuzz_fail("class %d: segment [%llu, +%llu) does not match the %zu-byte file", c,
                      (unsigned long long)img->offset[c], (unsigned long long)img->seg_size[c], n);
        fuzz_walk_segment(seg, 1);
    }
}

static void open_all(const uint8_t *buf, size_t n)
{
    pcache_image img;
    pcache_report rep;
    pcache_expect exp;
    pcache_identity id;
    pcache_status st = pcache_image_open_memory(&img, buf, n, NULL, &rep);

    if (st != PCACHE_OK) {
        fuzz_check_failure(st, &rep, "pcache_image_open_memory");
        fuzz_corpus_identity(&id);
    } else {
        const pcache_segment *first = NULL;
        check_image(&img, buf, n);
        fuzz_check_file_rebuild(&img);
        if ((st = pcache_image_open_memory(&img, buf, n - 1, NULL, NULL)) != PCACHE_E_TRUNCATED)
            fuzz_fail("file one byte short gives %s, not truncated", pcache_status_name(st));
        for (int c = PCACHE_CLASS_COUNT - 1; c >= 0; c--)
            if (img.present[c])
                first = &img.seg[c];
        if (first) {
            id = first->identity;
            pcache_expect_init(&exp, &id);
            exp.check = (PCACHE_CHECK_DEFAULT & ~PCACHE_CHECK_ALIGNMENT) | PCACHE_CHECK_MODULE_BASE;
            if ((st = pcache_image_open_memory(&img, buf, n, &exp, &rep)) != PCACHE_OK)
                fuzz_fail("file refused when expecting its own identity: %s", rep.message);
        } else {
            fuzz_corpus_identity(&id);
        }
    }
    for (int v = PCACHE_VALIDATE_HEADER; v <= PCACHE_VALIDATE_FULL; v++)
        for (int known = 0; known < 2; known++) {
            pcache_expect_init(&exp, &id);
            exp.validation = (pcache_validation)v;
            if (known) {
                exp.known_sections = fuzz_known_names;
                exp.known_section_count = fuzz_known_name_count;
            }
            st = pcache_image_open_memory(&img, buf, n, &exp, &rep);
            if (st != PCACHE_OK)
                fuzz_check_failure(st, &rep, "pcache_image_open_memory");
            else
                check_image(&img, buf, n);
        }
}

int fuzz_file_memory(const uint8_t *data, size_t size)
{
    void *block, *fixed_block;
    uint8_t *buf = fuzz_place(data, size, 0, &block);
    uint8_t *fixed = fuzz_place(data, size, 0, &fixed_block);

    open_all(buf, size);
    fuzz_fix_file(fixed, size);
    if (memcmp(buf, fixed, size) != 0)
        open_all(fixed, size);
    free(block);
    free(fixed_block);
    return 0;
}

FUZZ_ENTRY(fuzz_file_memory)
