/* SPDX-License-Identifier: BSD-2-Clause */
/* The displacement math of pcache/reloc.h: every width and reach boundary
 * exactly, both byte orders, wrap-around, and that a refused value leaves
 * the field as it was.  Expected bytes are assembled here, by hand. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pcache/reloc.h"
#include "support.h"

#define FILL 0xA5

/* Little-endian bytes of v, w of them. */
static void le(uint8_t *out, uint64_t v, unsigned w)
{
    for (unsigned i = 0; i < w; i++)
        out[i] = (uint8_t)(v >> (8 * i));
}

/* Encodes and asserts success and the exact bytes (and nothing past them). */
static void expect_encoded(pcache_reloc_kind kind, uint64_t field_address, int32_t pc, uint64_t target,
                           uint64_t expected_value)
{
    uint8_t field[16], want[16];
    pcache_report rep;
    unsigned w = pcache_reloc_width(kind);

    memset(field, FILL, sizeof field);
    memset(want, FILL, sizeof want);
    le(want, expected_value, w);
    assert_int_equal(pcache_encode_reference(kind, PCACHE_LITTLE_ENDIAN, field, field_address, pc, target, &rep),
                     PCACHE_OK);
    assert_int_equal(rep.status, PCACHE_OK);
    assert_memory_equal(field, want, sizeof field);
}

/* Encodes and asserts PCACHE_E_RELOC_RANGE, an untouched field, and a
 * report naming the kind and the value. */
static void expect_range(pcache_reloc_kind kind, uint64_t field_address, int32_t pc, uint64_t target,
                         const char *value_text)
{
    uint8_t field[16], want[16];
    pcache_report rep;

    memset(field, FILL, sizeof field);
    memset(want, FILL, sizeof want);
    assert_int_equal(pcache_encode_reference(kind, PCACHE_LITTLE_ENDIAN, field, field_address, pc, target, &rep),
                     PCACHE_E_RELOC_RANGE);
    test_assert_report(&rep, PCACHE_E_RELOC_RANGE);
    assert_memory_equal(field, want, sizeof field);
    if (!strstr(rep.message, pcache_reloc_kind_name(kind)) || !strstr(rep.message, value_text))
        fail_msg("report does not name %s and %s: %s", pcache_reloc_kind_name(kind), value_text, rep.message);
}

static void test_widths_and_names(void **state)
{
    (void)state;
    assert_int_equal(pcache_reloc_width(PCACHE_RELOC_REL8), 1);
    assert_int_equal(pcache_reloc_width(PCACHE_RELOC_REL32), 4);
    assert_int_equal(pcache_reloc_width(PCACHE_RELOC_ABS32), 4);
    assert_int_equal(pcache_reloc_width(PCACHE_RELOC_ABS64), 8);
    assert_int_equal(pcache_reloc_width((pcache_reloc_kind)0), 0);
    assert_int_equal(pcache_reloc_width((pcache_reloc_kind)5), 0);
    assert_string_equal(pcache_reloc_kind_name(PCACHE_RELOC_REL32), "rel32");
    assert_string_equal(pcache_reloc_kind_name((pcache_reloc_kind)9), "unknown");
}

static void test_rel32_boundaries(void **state)
{
    const uint64_t F = 0x7f0012345678ull; /* field address */
    const int32_t pcs[] = {4, 5, 8, 0, -3};
    (void)state;
    for (size_t k = 0; k < sizeof pcs / sizeof pcs[0]; k++) {
        uint64_t from = F + (uint64_t)(int64_t)pcs[k];
        expect_encoded(PCACHE_RELOC_REL32, F, pcs[k], from + INT32_MAX, 0x7fffffffu);
        expect_encoded(PCACHE_RELOC_REL32, F, pcs[k], from - 0x80000000ull, 0x80000000u);
        expect_encoded(PCACHE_RELOC_REL32, F, pcs[k], from, 0);
        expect_encoded(PCACHE_RELOC_REL32, F, pcs[k], from - 1, 0xffffffffu);
        expect_range(PCACHE_RELOC_REL32, F, pcs[k], from + 0x80000000ull, "2147483648");
        expect_range(PCACHE_RELOC_REL32, F, pcs[k], from - 0x80000001ull, "-2147483649");
    }
}

static void test_rel8_boundaries(void **state)
{
    const uint64_t F = 0x401000;
    (void)state;
    /* jmp rel8: EB xx, counted from the end of the 2-byte instruction */
    expect_encoded(PCACHE_RELOC_REL8, F, 1, F + 1 + 127, 0x7f);
    expect_encoded(PCACHE_RELOC_REL8, F, 1, F + 1 - 128, 0x80);
    expect_encoded(PCACHE_RELOC_REL8, F, 1, F + 1 - 2, 0xfe); /* jmp to itself */
    expect_range(PCACHE_RELOC_REL8, F, 1, F + 1 + 128, "128");
    expect_range(PCACHE_RELOC_REL8, F, 1, F + 1 - 129, "-129");
}

static void test_abs_boundaries(void **state)
{
    (void)state;
    expect_encoded(PCACHE_RELOC_ABS32, 0x1000, 0, 0xffffffffu, 0xffffffffu);
    expect_encoded(PCACHE_RELOC_ABS32, 0x1000, 0, 0, 0);
    expect_range(PCACHE_RELOC_ABS32, 0x1000, 0, 0x100000000ull, "0x100000000");
    expect_range(PCACHE_RELOC_ABS32, 0x1000, 0, UINT64_MAX, "0xffffffffffffffff");
    expect_encoded(PCACHE_RELOC_ABS64, 0x1000, 0, UINT64_MAX, UINT64_MAX);
    expect_encoded(PCACHE_RELOC_ABS64, 0x1000, 0, 0x0123456789abcdefull, 0x0123456789abcdefull);
}

/* Addresses wrap modulo 2^64, as the processor's do: a field near 0 reaches
 * a target near 2^64 with a small negative displacement. */
static void test_wraparound(void **state)
{
    (void)state;
    expect_encoded(PCACHE_RELOC_REL32, 0x10, 4, UINT64_MAX - 0xf, (uint32_t)-0x24);
    expect_encoded(PCACHE_RELOC_REL8, UINT64_MAX - 1, 1, 0x20, 0x21);
    expect_range(PCACHE_RELOC_REL32, 0x10, 4, 0x8000000000000000ull, "9223372036854775788");
}

static void test_big_endian(void **state)
{
    uint8_t f[8];
    uint64_t t;
    static const uint8_t rel[4] = {0xff, 0xff, 0xff, 0xfe};
    static const uint8_t abs64[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    static const uint8_t abs32[4] = {0xde, 0xad, 0xbe, 0xef};
    (void)state;

    assert_int_equal(pcache_encode_reference(PCACHE_RELOC_REL32, PCACHE_BIG_ENDIAN, f, 0x1000, 4, 0x1002, NULL),
                     PCACHE_OK);
    assert_memory_equal(f, rel, 4);
    assert_int_equal(pcache_decode_reference(PCACHE_RELOC_REL32, PCACHE_BIG_ENDIAN, f, 0x1000, 4, &t), PCACHE_OK);
    assert_int_equal(t, 0x1002);
    assert_int_equal(pcache_encode_reference(PCACHE_RELOC_ABS64, PCACHE_BIG_ENDIAN, f, 0, 0, 0x0123456789abcdefull,
                                             NULL),
                     PCACHE_OK);
    assert_memory_equal(f, abs64, 8);
    assert_int_equal(pcache_encode_reference(PCACHE_RELOC_ABS32, PCACHE_BIG_ENDIAN, f, 0, 0, 0xdeadbeef, NULL),
                     PCACHE_OK);
    assert_memory_equal(f, abs32, 4);
    assert_int_equal(pcache_decode_reference(PCACHE_RELOC_ABS32, PCACHE_BIG_ENDIAN, f, 0, 0, &t), PCACHE_OK);
    assert_int_equal(t, 0xdeadbeef);
}

static void test_invalid_arguments(void **state)
{
    uint8_t f[8] = {0};
    uint64_t t;
    pcache_report rep;
    (void)state;

    assert_int_equal(pcache_encode_reference((pcache_reloc_kind)0, PCACHE_LITTLE_ENDIAN, f, 0, 0, 0, &rep),
                     PCACHE_E_INVALID_ARGUMENT);
    test_assert_report(&rep, PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_encode_reference((pcache_reloc_kind)5, PCACHE_LITTLE_ENDIAN, f, 0, 0, 0, NULL),
                     PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_encode_reference(PCACHE_RELOC_ABS64, (pcache_byte_order)3, f, 0, 0, 0, NULL),
                     PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_encode_reference(PCACHE_RELOC_ABS64, PCACHE_LITTLE_ENDIAN, f, 0, 4, 0, NULL),
                     PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_encode_reference(PCACHE_RELOC_REL32, PCACHE_LITTLE_ENDIAN, NULL, 0, 4, 0, NULL),
                     PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_decode_reference((pcache_reloc_kind)0, PCACHE_LITTLE_ENDIAN, f, 0, 0, &t),
                     PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_decode_reference(PCACHE_RELOC_ABS32, PCACHE_LITTLE_ENDIAN, f, 0, 1, &t),
                     PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_decode_reference(PCACHE_RELOC_ABS32, PCACHE_LITTLE_ENDIAN, f, 0, 0, NULL),
                     PCACHE_E_INVALID_ARGUMENT);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    /* splitmix64: seeded, so a failure replays */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Random references: encode succeeds exactly when the displacement
 * computed here in 128-bit arithmetic fits; then decode gives the target
 * back and the bytes are the two's complement the test assembles. */
static void test_random_round_trip(void **state)
{
    (void)state;
    for (int n = 0; n < 20000; n++) {
        pcache_reloc_kind kind = (pcache_reloc_kind)(1 + rnd() % 4);
        int rel = kind == PCACHE_RELOC_REL8 || kind == PCACHE_RELOC_REL32;
        unsigned w = pcache_reloc_width(kind);
        uint64_t F = rnd(), target;
        int32_t pc = rel ? (int32_t)(rnd() % 32) - 8 : 0;
        __int128 disp, lo, hi;
        uint8_t field[8], want[8];
        uint64_t back;
        pcache_status st;
        int fits;

        /* mostly near the edges of the range */
        switch (rnd() % 3) {
        case 0:
            target = rnd();
            break;
        case 1:
            target = F + (uint64_t)(int64_t)pc + (uint64_t)((int64_t)(rnd() % 512) - 256) +
                     (kind == PCACHE_RELOC_REL32 ? (rnd() & 1 ? 0x7fffff00ull : (uint64_t)-0x7fffff00ll) : 0);
            break;
        default:
            target = (rnd() & 1 ? 0xffffff00ull : 0) + rnd() % 512;
            break;
        }
        if (rel) {
            /* the shortest signed distance modulo 2^64 */
            disp = (__int128)(int64_t)(target - (F + (uint64_t)(int64_t)pc));
            lo = kind == PCACHE_RELOC_REL8 ? -128 : -(__int128)0x80000000;
            hi = kind == PCACHE_RELOC_REL8 ? 127 : 0x7fffffff;
            fits = disp >= lo && disp <= hi;
        } else {
            disp = target;
            fits = kind == PCACHE_RELOC_ABS64 || target <= 0xffffffffu;
        }
        memset(field, FILL, sizeof field);
        st = pcache_encode_reference(kind, PCACHE_LITTLE_ENDIAN, field, F, pc, target, NULL);
        if (!fits) {
            assert_int_equal(st, PCACHE_E_RELOC_RANGE);
            memset(want, FILL, sizeof want);
            assert_memory_equal(field, want, sizeof field);
            continue;
        }
        assert_int_equal(st, PCACHE_OK);
        memset(want, FILL, sizeof want);
        le(want, (uint64_t)disp, w);
        assert_memory_equal(field, want, sizeof field);
        assert_int_equal(pcache_decode_reference(kind, PCACHE_LITTLE_ENDIAN, field, F, pc, &back), PCACHE_OK);
        assert_int_equal(back, target);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_widths_and_names),
        cmocka_unit_test(test_rel32_boundaries),
        cmocka_unit_test(test_rel8_boundaries),
        cmocka_unit_test(test_abs_boundaries),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_big_endian),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_random_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
