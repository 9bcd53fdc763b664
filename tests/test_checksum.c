/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The checksums against the test vectors of docs/FORMAT.md 1.3, and the
 * streaming interface (which persist uses) against the one-shot one.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include "checksum.h"

static void format_test_vectors(void **state)
{
    (void)state;
    assert_int_equal(pcache_checksum(PCACHE_CHECKSUM_XXH3_64, "", 0), 0x2D06800538D394C2ull);
    assert_int_equal(pcache_checksum(PCACHE_CHECKSUM_XXH3_64, "123456789", 9), 0x72DCB18B67A17DFFull);
    assert_int_equal(pcache_checksum(PCACHE_CHECKSUM_CRC32, "", 0), 0);
    assert_int_equal(pcache_checksum(PCACHE_CHECKSUM_CRC32, "123456789", 9), 0xCBF43926ull);
    assert_int_equal(pcache_checksum((pcache_checksum_algorithm)0, "123456789", 9), 0);
    assert_int_equal(pcache_checksum((pcache_checksum_algorithm)3, "123456789", 9), 0);
}

/* Any split of a buffer into updates gives the one-shot value. */
static void streaming_equals_one_shot(void **state)
{
    static const pcache_checksum_algorithm algos[] = {PCACHE_CHECKSUM_XXH3_64, PCACHE_CHECKSUM_CRC32};
    static uint8_t buf[3000];
    checksum_state *st = aligned_alloc(64, (sizeof *st + 63) & ~(size_t)63);
    (void)state;

    assert_non_null(st);
    test_fill(buf, sizeof buf, 99);
    for (int a = 0; a < 2; a++) {
        for (size_t len = 0; len <= sizeof buf; len += len < 260 ? 1 : 97) {
            uint64_t want = pcache_checksum(algos[a], buf, len);
            for (size_t cut = 0; cut <= len; cut += 1 + len / 5) {
                checksum_reset(st, algos[a]);
                checksum_update(st, buf, cut);
                checksum_update(st, buf + cut, 0);
                checksum_update(st, buf + cut, len - cut);
                assert_int_equal(checksum_digest(st), want);
            }
        }
    }
    free(st);
}

/* An algorithm code from outside: the checked call says it is unknown,
 * instead of a 0 that is also a checksum. */
static void compute_refuses_unknown_algorithms(void **state)
{
    static const char abc[] = "abc";
    uint64_t out = 0x1234;
    (void)state;
    assert_int_equal(pcache_checksum_compute((pcache_checksum_algorithm)0, abc, 3, &out),
                     PCACHE_E_CHECKSUM_ALGORITHM);
    assert_int_equal(pcache_checksum_compute((pcache_checksum_algorithm)77, abc, 3, &out),
                     PCACHE_E_CHECKSUM_ALGORITHM);
    assert_int_equal(out, 0x1234);
    assert_int_equal(pcache_checksum_compute(PCACHE_CHECKSUM_XXH3_64, abc, 3, NULL), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_checksum_compute(PCACHE_CHECKSUM_XXH3_64, NULL, 3, &out), PCACHE_E_INVALID_ARGUMENT);
    for (int a = PCACHE_CHECKSUM_XXH3_64; a <= PCACHE_CHECKSUM_CRC32; a++) {
        assert_int_equal(pcache_checksum_compute((pcache_checksum_algorithm)a, abc, 3, &out), PCACHE_OK);
        assert_int_equal(out, pcache_checksum((pcache_checksum_algorithm)a, abc, 3));
    }
    assert_int_equal(pcache_checksum_compute(PCACHE_CHECKSUM_CRC32, NULL, 0, &out), PCACHE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_test_vectors),
        cmocka_unit_test(compute_refuses_unknown_algorithms),
        cmocka_unit_test(streaming_equals_one_shot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
