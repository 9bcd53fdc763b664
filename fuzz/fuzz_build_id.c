/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Target: pcache_build_id_of_loaded_elf() on the input as the image of a
 * loaded object whose readable bytes are exactly the input (the copy ends
 * where its allocation ends, so AddressSanitizer catches a read past it),
 * at a page boundary as a loader maps it and at an odd address.  A failure
 * must be consistent and leave the id zeroed; an id must be of a known
 * kind and size, and a GNU id must be bytes of the input.  The result may
 * not depend on the address, and the readable bound may change it only
 * into PCACHE_E_TRUNCATED: one byte less gives the same result or a
 * truncation, and zeros after the input change nothing unless the input
 * alone was truncated.
 */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pcache/build_id.h"

typedef struct result {
    pcache_status st;
    pcache_build_id id;
} result;

static result run(const uint8_t *data, size_t size, uint64_t readable, uint64_t phase)
{
    static const pcache_build_id zero;
    void *block;
    uint8_t *p = fuzz_place(data, size, phase, &block);
    pcache_report rep;
    result r;

    r.st = pcache_build_id_of_loaded_elf(p, readable, &r.id, &rep);
    free(block);
    if (r.st != PCACHE_OK) {
        fuzz_check_failure(r.st, &rep, "pcache_build_id_of_loaded_elf");
        if (memcmp(&r.id, &zero, sizeof zero) != 0)
            fuzz_fail("failed with %s but the id is not zeroed", pcache_status_name(r.st));
        return r;
    }
    if (r.id.kind == PCACHE_BUILD_ID_GNU) {
        if (r.id.size == 0 || r.id.size > PCACHE_BUILD_ID_MAX || !memmem(data, size, r.id.bytes, r.id.size))
            fuzz_fail("GNU build id of %u bytes that is not in the input", r.id.size);
    } else if (r.id.kind != PCACHE_BUILD_ID_TEXT_XXH3 || r.id.size != PCACHE_BUILD_ID_TEXT_XXH3_SIZE) {
        fuzz_fail("id of kind %u and size %u", r.id.kind, r.id.size);
    }
    for (size_t k = r.id.size; k < PCACHE_BUILD_ID_MAX; k++)
        if (r.id.bytes[k] != 0)
            fuzz_fail("id byte %zu past its size %u is not zero", k, r.id.size);
    return r;
}

static int same(const result *a, const result *b)
{
    return a->st == b->st && (a->st != PCACHE_OK || pcache_build_id_equal(&a->id, &b->id));
}

int fuzz_build_id(const uint8_t *data, size_t size)
{
    result r = run(data, size, size, 0), odd, shorter, longer;
    char text[PCACHE_BUILD_ID_STRING_SIZE];
    uint8_t *padded;

    odd = run(data, size, size, 4093);
    if (!same(&r, &odd))
        fuzz_fail("the result depends on the address: %s at a page, %s at an odd address",
                  pcache_status_name(r.st), pcache_status_name(odd.st));
    if (size > 0) {
        shorter = run(data, size - 1, size - 1, 0);
        if (!same(&r, &shorter) && shorter.st != PCACHE_E_TRUNCATED)
            fuzz_fail("one readable byte less turns %s into %s", pcache_status_name(r.st),
                      pcache_status_name(shorter.st));
    }
    if (r.st != PCACHE_E_TRUNCATED) {
        padded = calloc(1, size + 64);
        if (!padded)
            fuzz_fail("out of memory");
        if (size)
            memcpy(padded, data, size);
        longer = run(padded, size + 64, size + 64, 0);
        free(padded);
        if (!same(&r, &longer))
            fuzz_fail("more readable bytes turn %s into %s", pcache_status_name(r.st),
                      pcache_status_name(longer.st));
    }
    if (r.st == PCACHE_OK && pcache_build_id_format(&r.id, text, sizeof text) >= sizeof text)
        fuzz_fail("formatted id does not fit PCACHE_BUILD_ID_STRING_SIZE");
    return 0;
}

FUZZ_ENTRY(fuzz_build_id)
