/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Section names (lib/segment/section_names.c): the word-at-a-time name check
 * against the byte-at-a-time rule of docs/FORMAT.md 1.5, lookup by name
 * through the index resurrect builds (every name of a 1024-section image
 * in no name order, names sharing long prefixes, names that are prefixes
 * of others, absent and over-long names), and the uniqueness check, which
 * finds duplicates by sorting and must still report the first entry, in
 * table order, whose name repeats an earlier one.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "format.h"
#include "section_names.h"

/* The rule as FORMAT.md states it, a byte at a time. */
static int name_rule(const uint8_t *f, size_t field, size_t max, unsigned lo)
{
    size_t len = 0;
    while (len < field && f[len]) {
        if (f[len] < lo || f[len] > 0x7e)
            return 0;
        len++;
    }
    if (len == 0 || len > max || len == field)
        return 0;
    for (size_t i = len; i < field; i++)
        if (f[i])
            return 0;
    return 1;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

static void check_name_field(const uint8_t *f, size_t field, size_t max, unsigned lo)
{
    int want = name_rule(f, field, max, lo), got = name_field_valid(f, field, max, lo);
    if (got != want) {
        char hex[3 * 64 + 1] = "";
        for (size_t i = 0; i < field; i++)
            snprintf(hex + 3 * i, sizeof hex - 3 * i, "%02x ", f[i]);
        fail_msg("field of %zu (max %zu, lo 0x%x): got %d, rule %d: %s", field, max, lo, got, want, hex);
    }
}

/* Every length, every byte value at every place before, at and after the
 * NUL, and random fields; section (32, 31, 0x21) and client (64, 63,
 * 0x20) names. */
static void name_check_matches_the_rule(void **state)
{
    static const struct {
        size_t field, max;
        unsigned lo;
    } kinds[] = {{SE_NAME_SIZE, PCACHE_SECTION_NAME_MAX, 0x21}, {64, PCACHE_CLIENT_NAME_MAX, 0x20}};
    uint64_t rng = 42;
    (void)state;

    for (size_t k = 0; k < 2; k++) {
        size_t field = kinds[k].field;
        uint8_t f[64];
        for (size_t len = 0; len <= field; len++) {
            memset(f, 0, sizeof f);
            memset(f, 'a', len);
            check_name_field(f, field, kinds[k].max, kinds[k].lo);
            for (size_t at = 0; at < field; at++)
                for (unsigned v = 0; v < 256; v++) {
                    uint8_t keep = f[at];
                    f[at] = (uint8_t)v;
                    check_name_field(f, field, kinds[k].max, kinds[k].lo);
                    f[at] = keep;
                }
        }
        for (int i = 0; i < 200000; i++) {
            size_t len = (size_t)(rng_next(&rng) % (field + 1));
            memset(f, 0, sizeof f);
            for (size_t j = 0; j < len; j++)
                f[j] = (uint8_t)(0x20 + rng_next(&rng) % 0x5f);
            if (rng_next(&rng) % 2) /* a byte anywhere, anything */
                f[rng_next(&rng) % field] = (uint8_t)rng_next(&rng);
            check_name_field(f, field, kinds[k].max, kinds[k].lo);
        }
    }
}

/* client_name_equal() is strncmp(a, b, 64) == 0 for a valid field a. */
static void client_name_compare_matches_strncmp(void **state)
{
    uint64_t rng = 7;
    uint8_t a[64], b[64];
    (void)state;
    for (int i = 0; i < 300000; i++) {
        size_t len = 1 + (size_t)(rng_next(&rng) % 63);
        memset(a, 0, sizeof a);
        for (size_t j = 0; j < len; j++)
            a[j] = (uint8_t)(0x20 + rng_next(&rng) % 0x5f);
        memcpy(b, a, sizeof b);
        switch (rng_next(&rng) % 4) {
        case 0: /* b: garbage after the NUL */
            for (size_t j = len + 1; j < 64; j++)
                b[j] = (uint8_t)rng_next(&rng);
            break;
        case 1: /* one byte changed anywhere */
            b[rng_next(&rng) % 64] ^= (uint8_t)(1 + rng_next(&rng) % 255);
            break;
        case 2: /* b longer or shorter */
            b[rng_next(&rng) % 64] = rng_next(&rng) % 2 ? 0 : 'x';
            break;
        default:
            break;
        }
        if (client_name_equal(a, b) != (strncmp((const char *)a, (const char *)b, 64) == 0))
            fail_msg("client_name_equal disagrees with strncmp (length %zu)", len);
    }
}

#define MANY 1024u

/* Names in no name order, some sharing their first 20 bytes, some the
 * prefixes of others, some of the full 31 bytes. */
static void many_names(char names[MANY][PCACHE_SECTION_NAME_MAX + 1])
{
    for (unsigned i = 0; i < MANY; i++) {
        unsigned h = i * 2654435761u;
        switch (i % 4) {
        case 0:
            snprintf(names[i], PCACHE_SECTION_NAME_MAX + 1, "s%08x", h);
            break;
        case 1:
            snprintf(names[i], PCACHE_SECTION_NAME_MAX + 1, "a_common_prefix_of_20%08x", h);
            break;
        case 2: /* "q", "qq", ... and longer: prefixes of one another */
            memset(names[i], 'q', 1 + i / 4 % 31);
            names[i][1 + i / 4 % 31] = 0;
            if (i / 4 >= 31)
                snprintf(names[i], PCACHE_SECTION_NAME_MAX + 1, "q%u", i);
            break;
        default:
            snprintf(names[i], PCACHE_SECTION_NAME_MAX + 1, "thirty_one_byte_long_name_%05u", i);
            break;
        }
    }
}

static void lookups_in_a_segment(pcache_segment *seg, char names[MANY][PCACHE_SECTION_NAME_MAX + 1], unsigned n)
{
    pcache_view v;
    pcache_report r;
    static const char *const absent[] = {"",
                                         "s",
                                         "q_",
                                         "a_common_prefix_of_2",
                                         "a_common_prefix_of_20ffffffff",
                                         "thirty_one_bytes_long_name_0000",
                                         "thirty_one_bytes_long_name_000000",
                                         "a name of thirty-two bytes, long"};
    for (unsigned i = 0; i < n; i++) {
        if (pcache_segment_find(seg, names[i], &v, &r) != PCACHE_OK)
            fail_msg("section %u '%s' not found: %s", i, names[i], r.message);
        assert_int_equal(v.index, i);
        assert_string_equal(v.name, names[i]);
    }
    for (size_t k = 0; k < sizeof absent / sizeof absent[0]; k++) {
        int listed = 0;
        for (unsigned i = 0; i < n; i++)
            listed |= strcmp(names[i], absent[k]) == 0;
        if (listed)
            continue;
        assert_int_equal(pcache_segment_find(seg, absent[k], &v, &r), PCACHE_E_NOT_FOUND);
    }
}

static void lookup_by_name_in_many_sections(void **state)
{
    static char names[MANY][PCACHE_SECTION_NAME_MAX + 1];
    static uint8_t bytes[MANY];
    pcache_identity id;
    (void)state;

    many_names(names);
    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    /* counts around the switch from insertion sort to heapsort, and the
     * limit */
    for (unsigned n = 1; n <= MANY; n = n < 20 ? n + 1 : n * 2) {
        pcache_builder *b;
        uint64_t size;
        void *block;
        uint8_t *p;

        assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
        for (unsigned i = 0; i < n; i++)
            assert_int_equal(pcache_builder_add(b, PCACHE_RO, names[i], bytes + i, 1, 1, 0), PCACHE_OK);
        p = test_persist(b, PCACHE_RO, 0, &size, &block);
        for (int level = PCACHE_VALIDATE_HEADER; level <= PCACHE_VALIDATE_FULL; level++) {
            pcache_segment seg;
            pcache_expect exp;
            pcache_report r;
            const uint8_t *map = p;
            test_expect_all(&exp, &id, (pcache_validation)level);
            memset(&seg, 0xA5, sizeof seg); /* whatever was there before */
            assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), PCACHE_OK);
            lookups_in_a_segment(&seg, names, n);
            {
                pcache_segment copy = seg; /* copies are as good */
                lookups_in_a_segment(&copy, names, n);
            }
        }
        free(block);
        pcache_builder_free(b);
    }
}

/* A segment of n sections named "n0" .. , whose table entries the test
 * then renames. */
static uint8_t *named_segment(unsigned n, uint64_t *size, void **block, pcache_builder **b, pcache_identity *id)
{
    static uint8_t bytes[MANY];
    test_identity(id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(b, id), PCACHE_OK);
    for (unsigned i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%u", i);
        assert_int_equal(pcache_builder_add(*b, PCACHE_RO, name, bytes + i, 1, 1, 0), PCACHE_OK);
    }
    return test_persist(*b, PCACHE_RO, 0, size, block);
}

static void rename_entry(uint8_t *seg, unsigned i, const char *name)
{
    uint8_t *f = seg + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i + SE_NAME;
    memset(f, 0, SE_NAME_SIZE);
    memcpy(f, name, strlen(name));
}

static void copy_name(uint8_t *seg, unsigned to, unsigned from)
{
    memcpy(seg + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * to + SE_NAME,
           seg + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * from + SE_NAME, SE_NAME_SIZE);
}

/* The report of resurrecting the edited (re-signed) segment: status and
 * the table entry it names. */
static void expect_refused_at(uint8_t *p, uint64_t size, const pcache_identity *id, unsigned entry,
                              const char *what)
{
    pcache_segment seg;
    pcache_expect exp;
    pcache_report r;
    const uint8_t *map = p;
    test_resign_segment(p);
    test_expect_all(&exp, id, PCACHE_VALIDATE_HEADER);
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), PCACHE_E_SECTION_TABLE);
    if (r.offset != SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * entry + SE_NAME)
        fail_msg("%s: reported at offset %llu (%s), expected entry %u's name", what, (unsigned long long)r.offset,
                 r.message, entry);
    if (strstr(what, "duplicate") && !strstr(r.message, "duplicate"))
        fail_msg("%s: %s", what, r.message);
}

static void first_duplicate_in_table_order(void **state)
{
    static const unsigned counts[] = {3, 16, 17, 40, MANY};
    (void)state;

    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        unsigned n = counts[c];
        pcache_identity id;
        pcache_builder *b;
        uint64_t size;
        void *block;
        uint8_t *p = named_segment(n, &size, &block, &b, &id);
        uint8_t *orig = malloc(size);

        assert_non_null(orig);
        memcpy(orig, p, size);

        /* two pairs: the later second member is not the first duplicate */
        copy_name(p, n - 1, 0);
        copy_name(p, n / 2 + 1 < n - 1 ? n / 2 + 1 : n - 1, 1);
        expect_refused_at(p, size, &id, n / 2 + 1 < n - 1 ? n / 2 + 1 : n - 1, "duplicate: two pairs");

        /* three of a name: the second is the first duplicate */
        memcpy(p, orig, size);
        copy_name(p, n - 1, 1);
        copy_name(p, n / 3 + 1 < n - 1 ? n / 3 + 1 : 2, 1);
        copy_name(p, 2, 1);
        expect_refused_at(p, size, &id, 2, "duplicate: three of a name");

        /* a duplicate named earlier in the table than its original */
        memcpy(p, orig, size);
        rename_entry(p, n - 1, "zz_last");
        rename_entry(p, 1, "zz_last");
        expect_refused_at(p, size, &id, n - 1, "duplicate: later entry");

        /* an invalid name before the first duplicate is reported first */
        memcpy(p, orig, size);
        copy_name(p, n - 1, 0);
        rename_entry(p, n - 2 > 0 ? n - 2 : 0, "bad name");
        expect_refused_at(p, size, &id, n - 2 > 0 ? n - 2 : 0, "bad name first");

        /* a duplicate that is also invalid: the name check comes first,
         * with its own message */
        memcpy(p, orig, size);
        rename_entry(p, 0, "x y");
        rename_entry(p, n - 1, "x y");
        expect_refused_at(p, size, &id, 0, "invalid name, twice");

        free(orig);
        free(block);
        pcache_builder_free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(name_check_matches_the_rule),
        cmocka_unit_test(client_name_compare_matches_strncmp),
        cmocka_unit_test(lookup_by_name_in_many_sections),
        cmocka_unit_test(first_duplicate_in_table_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
