/* SPDX-License-Identifier: BSD-2-Clause */
#include "support.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "format.h"

static const uint8_t test_image_id[PCACHE_IMAGE_ID_SIZE] = {
    0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};

void test_identity(pcache_identity *id, pcache_checksum_algorithm algo)
{
    assert_int_equal(pcache_identity_init(id, TEST_CLIENT, TEST_CLIENT_VERSION), PCACHE_OK);
    id->page_size = TEST_PAGE;
    id->checksum = algo;
    memcpy(id->image_id, test_image_id, sizeof id->image_id);
}

void test_identity_with_module(pcache_identity *id, pcache_checksum_algorithm algo)
{
    uint8_t digest[TEST_DIGEST_LEN];

    test_identity(id, algo);
    test_fill(digest, sizeof digest, 0xd16e57);
    assert_int_equal(pcache_identity_set_module(id, TEST_MODULE_BASE, TEST_MODULE_SIZE, digest, sizeof digest),
                     PCACHE_OK);
}

void test_expect_all(pcache_expect *exp, const pcache_identity *id, pcache_validation level)
{
    pcache_expect_init(exp, id);
    exp->check |= PCACHE_CHECK_MODULE_BASE | PCACHE_CHECK_IMAGE_ID;
    exp->validation = level;
}

void test_fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)(x >> 7);
    }
}

uint8_t *test_alloc_at(uint64_t file_offs, uint64_t size, void **block)
{
    uint64_t lead = file_offs % TEST_PAGE;
    void *mem = NULL;

    assert_true(size <= SIZE_MAX - TEST_PAGE);
    /* posix_memalign, unlike aligned_alloc, takes any size: the block ends
     * exactly where the data does. */
    assert_int_equal(posix_memalign(&mem, TEST_PAGE, (size_t)(lead + size ? lead + size : 1)), 0);
    memset(mem, 0, (size_t)lead);
    *block = mem;
    return (uint8_t *)mem + lead;
}

uint8_t *test_copy_at(const uint8_t *src, uint64_t n, uint64_t file_offs, void **block)
{
    uint8_t *p = test_alloc_at(file_offs, n, block);
    if (n)
        memcpy(p, src, (size_t)n);
    return p;
}

uint8_t *test_persist(pcache_builder *b, pcache_class cls, uint64_t file_offs, uint64_t *size, void **block)
{
    pcache_buffer_sink state;
    pcache_sink sink;
    uint8_t *p;

    assert_int_equal(pcache_builder_size(b, cls, file_offs, size), PCACHE_OK);
    p = test_alloc_at(file_offs, *size, block);
    sink = pcache_sink_buffer(&state, p, (size_t)*size);
    assert_int_equal(pcache_builder_persist(b, cls, &sink), PCACHE_OK);
    assert_int_equal(state.used, *size);
    return p;
}

uint8_t *test_write_file(pcache_builder *b, uint64_t *size)
{
    pcache_buffer_sink state;
    pcache_sink sink;
    uint64_t predicted = 0, written = 0;
    void *mem = NULL;

    assert_int_equal(pcache_file_size(b, &predicted), PCACHE_OK);
    assert_int_equal(posix_memalign(&mem, TEST_PAGE, (size_t)predicted), 0);
    sink = pcache_sink_buffer(&state, mem, (size_t)predicted);
    assert_int_equal(pcache_file_write_sink(b, &sink, &written), PCACHE_OK);
    assert_int_equal(written, predicted);
    assert_int_equal(state.used, predicted);
    *size = written;
    return mem;
}

static uint8_t ref_strings[37], ref_table[64], ref_code[100], ref_stubs[12], ref_counters[24], ref_flags[3];

pcache_builder *test_reference_builder(pcache_checksum_algorithm algo)
{
    pcache_identity id;
    pcache_builder *b = NULL;

    test_fill(ref_strings, sizeof ref_strings, 1);
    test_fill(ref_table, sizeof ref_table, 2);
    test_fill(ref_code, sizeof ref_code, 3);
    test_fill(ref_stubs, sizeof ref_stubs, 4);
    test_fill(ref_counters, sizeof ref_counters, 5);
    test_fill(ref_flags, sizeof ref_flags, 6);
    test_identity_with_module(&id, algo);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "strings", ref_strings, sizeof ref_strings, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "table", ref_table, sizeof ref_table, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "empty", NULL, 0, 4, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", ref_code, sizeof ref_code, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "stubs", ref_stubs, sizeof ref_stubs, 64, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_segment_flags(b, PCACHE_RX, PCACHE_SEGMENT_PAGE_ROUNDED), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "counters", ref_counters, sizeof ref_counters, 8, 0),
                     PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "flags", ref_flags, sizeof ref_flags, 1,
                                        PCACHE_SECTION_SKIPPABLE),
                     PCACHE_OK);
    return b;
}

static pcache_checksum_algorithm algo_of(const uint8_t *header_byte)
{
    return *header_byte == PCACHE_CHECKSUM_CRC32 ? PCACHE_CHECKSUM_CRC32 : PCACHE_CHECKSUM_XXH3_64;
}

void test_resign_header(uint8_t *seg)
{
    st64be(seg + SH_HEADER_CHECKSUM, pcache_checksum(algo_of(seg + SH_CHECKSUM), seg, SH_HEADER_CHECKSUM));
}

void test_resign_segment(uint8_t *seg)
{
    uint32_t n = ld32(seg + SH_SECTION_COUNT);
    if (n <= PCACHE_MAX_SECTIONS)
        st64be(seg + SH_TABLE_CHECKSUM, pcache_checksum(algo_of(seg + SH_CHECKSUM), seg + SEG_HEADER_SIZE,
                                                        (size_t)n * SEG_ENTRY_SIZE));
    test_resign_header(seg);
}

void test_resign_file(uint8_t *file, uint64_t size)
{
    pcache_checksum_algorithm algo = algo_of(file + FH_CHECKSUM);
    uint64_t hsum = pcache_checksum(algo, file, FH_HEADER_CHECKSUM);
    uint8_t *f;

    st64be(file + FH_HEADER_CHECKSUM, hsum);
    assert_true(size >= FILE_HEADER_SIZE + FILE_FOOTER_SIZE);
    f = file + size - FILE_FOOTER_SIZE;
    st64be(f + FF_HEADER_CHECKSUM, hsum);
    st64be(f + FF_FOOTER_CHECKSUM, pcache_checksum(algo, f, FF_FOOTER_CHECKSUM));
}

void test_assert_report(const pcache_report *r, pcache_status st)
{
    if (r->status != st)
        fail_msg("report status %s, expected %s (message: %s)", pcache_status_name(r->status),
                 pcache_status_name(st), r->message);
    assert_true(r->message[0] != '\0');
    assert_non_null(memchr(r->message, '\0', sizeof r->message));
}

/* 1 if msg has key immediately followed by the decimal value. */
static int mentions(const char *msg, const char *key, uint64_t value)
{
    char want[64];
    size_t len;
    const char *p;

    snprintf(want, sizeof want, "%s%" PRIu64, key, value);
    len = strlen(want);
    for (p = strstr(msg, want); p; p = strstr(p + 1, want))
        if (p[len] < '0' || p[len] > '9')
            return 1;
    return 0;
}

void test_assert_values(const pcache_report *r, uint64_t expected, uint64_t found)
{
    assert_true(r->has_values);
    assert_int_equal(r->expected, expected);
    assert_int_equal(r->found, found);
    if (!mentions(r->message, "expected ", expected) || !mentions(r->message, "found ", found))
        fail_msg("message does not state expected %" PRIu64 " and found %" PRIu64 ": %s", expected, found,
                 r->message);
}

int test_quick(void)
{
    return getenv("PCACHE_TEST_QUICK") != NULL;
}
