/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Every byte is checked (docs/FORMAT.md 3.7 and 7.4): every single-bit
 * flip of every byte of a reference image, and every truncation of it, is
 * refused; the same for single segments read with their length known and,
 * for bit flips, unknown.
 *
 * Each trial gets a buffer that ends where the data ends, so that a reader
 * looking past it is caught by AddressSanitizer or valgrind.  With
 * PCACHE_TEST_QUICK set, a deterministic subset of the bytes is tried.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

/* With PCACHE_TEST_QUICK: every byte of the first 512 (headers and
 * tables), then one byte in 7 (7 is odd, so the phase moves through every
 * residue of 8-byte words). */
static int byte_selected(uint64_t i)
{
    return !test_quick() || i < 512 || i % 7 == 0;
}

/* A refused read reports its failure completely. */
static void check_refused(pcache_status st, const pcache_report *r, uint64_t at, int bit)
{
    if (st == PCACHE_OK)
        fail_msg("bit %d of byte %llu flipped, yet accepted", bit, (unsigned long long)at);
    test_assert_report(r, st);
}

static uint8_t *reference_file(pcache_checksum_algorithm algo, pcache_expect *exp, uint64_t *size)
{
    pcache_builder *b = test_reference_builder(algo);
    uint8_t *file = test_write_file(b, size);

    test_expect_all(exp, pcache_builder_identity(b), PCACHE_VALIDATE_FULL);
    pcache_builder_free(b);
    return file;
}

static void file_bit_flips(pcache_checksum_algorithm algo)
{
    pcache_expect exp;
    pcache_image img;
    pcache_report r;
    uint64_t size, tried = 0;
    uint8_t *file = reference_file(algo, &exp, &size);

    /* small, so that trying everything takes seconds, even under valgrind */
    assert_true(size <= 4 * TEST_PAGE);
    assert_int_equal(pcache_image_open_memory(&img, file, size, &exp, &r), PCACHE_OK);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        assert_non_null(pcache_image_segment(&img, (pcache_class)c));

    for (uint64_t i = 0; i < size; i++) {
        if (!byte_selected(i))
            continue;
        for (int bit = 0; bit < 8; bit++) {
            file[i] ^= (uint8_t)(1u << bit);
            check_refused(pcache_image_open_memory(&img, file, size, &exp, &r), &r, i, bit);
            file[i] ^= (uint8_t)(1u << bit);
            tried++;
        }
    }
    assert_true(tried >= (test_quick() ? size : 8 * size));
    /* restored: accepted again */
    assert_int_equal(pcache_image_open_memory(&img, file, size, &exp, &r), PCACHE_OK);
    free(file);
}

static void file_every_bit_flip_xxh3(void **state)
{
    (void)state;
    file_bit_flips(PCACHE_CHECKSUM_XXH3_64);
}

static void file_every_bit_flip_crc32(void **state)
{
    (void)state;
    file_bit_flips(PCACHE_CHECKSUM_CRC32);
}

/* Without expectations (as tools read files) a flip is still refused:
 * integrity does not depend on the caller knowing the identity. */
static void file_every_bit_flip_no_expectation(void **state)
{
    pcache_expect exp;
    pcache_image img;
    pcache_report r;
    uint64_t size;
    uint8_t *file = reference_file(PCACHE_CHECKSUM_XXH3_64, &exp, &size);
    (void)state;

    for (uint64_t i = 0; i < size; i++) {
        if (!byte_selected(i))
            continue;
        for (int bit = 0; bit < 8; bit++) {
            file[i] ^= (uint8_t)(1u << bit);
            check_refused(pcache_image_open_memory(&img, file, size, NULL, &r), &r, i, bit);
            file[i] ^= (uint8_t)(1u << bit);
        }
    }
    free(file);
}

static void file_every_truncation(void **state)
{
    pcache_expect exp;
    pcache_image img;
    pcache_report r;
    uint64_t size;
    uint8_t *file = reference_file(PCACHE_CHECKSUM_XXH3_64, &exp, &size);
    (void)state;

    for (uint64_t len = 0; len < size; len++) {
        void *block;
        uint8_t *copy;
        pcache_status st;

        if (!byte_selected(len))
            continue;
        copy = test_copy_at(file, len, 0, &block);
        st = pcache_image_open_memory(&img, copy, len, &exp, &r);
        if (st != PCACHE_E_TRUNCATED)
            fail_msg("truncated to %llu of %llu bytes: %s, expected PCACHE_E_TRUNCATED", (unsigned long long)len,
                     (unsigned long long)size, pcache_status_name(st));
        test_assert_report(&r, PCACHE_E_TRUNCATED);
        /* the file header states the whole size; before it is read, its size */
        if (len >= FILE_HEADER_SIZE)
            test_assert_values(&r, size, len);
        free(block);
    }
    free(file);
}

/* The rw segment of the reference image laid out at an odd file offset,
 * and its page-rounded rx segment laid out so that it stays small. */
typedef struct segment_case {
    pcache_class cls;
    uint64_t file_offs;
} segment_case;

static const segment_case segment_cases[] = {
    {PCACHE_RO, 0x1003},
    {PCACHE_RX, 2 * TEST_PAGE - 640 + 5},
    {PCACHE_RW, 13},
};

static uint8_t *reference_segment(const segment_case *sc, pcache_checksum_algorithm algo, pcache_expect *exp,
                                  uint64_t *size, void **block)
{
    pcache_builder *b = test_reference_builder(algo);
    uint8_t *p = test_persist(b, sc->cls, sc->file_offs, size, block);

    assert_true(*size <= 1024);
    test_expect_all(exp, pcache_builder_identity(b), PCACHE_VALIDATE_FULL);
    pcache_builder_free(b);
    return p;
}

static void segment_flips(pcache_checksum_algorithm algo, uint64_t available_mode)
{
    for (size_t k = 0; k < sizeof segment_cases / sizeof segment_cases[0]; k++) {
        const segment_case *sc = &segment_cases[k];
        pcache_expect exp;
        pcache_segment seg;
        pcache_report r;
        uint64_t size;
        void *block;
        uint8_t *p = reference_segment(sc, algo, &exp, &size, &block);
        uint64_t available = available_mode == PCACHE_SIZE_UNKNOWN ? PCACHE_SIZE_UNKNOWN : size;
        const uint8_t *map = p;

        if (sc->cls == PCACHE_RX)
            assert_int_equal((sc->file_offs + size) % TEST_PAGE, 0);
        assert_int_equal(pcache_resurrect(&seg, sc->cls, &map, available, &exp, &r), PCACHE_OK);
        for (uint64_t i = 0; i < size; i++) {
            if (!byte_selected(i))
                continue;
            for (int bit = 0; bit < 8; bit++) {
                pcache_status st;
                p[i] ^= (uint8_t)(1u << bit);
                map = p;
                st = pcache_resurrect(&seg, sc->cls, &map, available, &exp, &r);
                check_refused(st, &r, i, bit);
                assert_ptr_equal(map, p);
                p[i] ^= (uint8_t)(1u << bit);
            }
        }
        map = p;
        assert_int_equal(pcache_resurrect(&seg, sc->cls, &map, available, &exp, &r), PCACHE_OK);
        free(block);
    }
}

static void segment_every_bit_flip_known_length(void **state)
{
    (void)state;
    segment_flips(PCACHE_CHECKSUM_XXH3_64, 0);
    segment_flips(PCACHE_CHECKSUM_CRC32, 0);
}

static void segment_every_bit_flip_unknown_length(void **state)
{
    (void)state;
    segment_flips(PCACHE_CHECKSUM_XXH3_64, PCACHE_SIZE_UNKNOWN);
    segment_flips(PCACHE_CHECKSUM_CRC32, PCACHE_SIZE_UNKNOWN);
}

static void segment_every_truncation(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof segment_cases / sizeof segment_cases[0]; k++) {
        const segment_case *sc = &segment_cases[k];
        pcache_expect exp;
        pcache_segment seg;
        pcache_report r;
        uint64_t size;
        void *block;
        uint8_t *p = reference_segment(sc, PCACHE_CHECKSUM_XXH3_64, &exp, &size, &block);

        for (uint64_t len = 0; len < size; len++) {
            void *block2;
            const uint8_t *copy = test_copy_at(p, len, sc->file_offs, &block2);
            const uint8_t *map = copy;
            pcache_status st = pcache_resurrect(&seg, sc->cls, &map, len, &exp, &r);

            if (st != PCACHE_E_TRUNCATED)
                fail_msg("segment truncated to %llu of %llu bytes: %s", (unsigned long long)len,
                         (unsigned long long)size, pcache_status_name(st));
            test_assert_report(&r, PCACHE_E_TRUNCATED);
            assert_true(r.has_values);
            assert_int_equal(r.found, len);
            assert_true(r.expected > len);
            assert_ptr_equal(map, copy);
            free(block2);
        }
        free(block);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(file_every_bit_flip_xxh3),
        cmocka_unit_test(file_every_bit_flip_crc32),
        cmocka_unit_test(file_every_bit_flip_no_expectation),
        cmocka_unit_test(file_every_truncation),
        cmocka_unit_test(segment_every_bit_flip_known_length),
        cmocka_unit_test(segment_every_bit_flip_unknown_length),
        cmocka_unit_test(segment_every_truncation),
    };
    if (test_quick())
        printf("PCACHE_TEST_QUICK set: trying a subset of the bytes\n");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
