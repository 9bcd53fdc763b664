/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Identity checks (docs/FORMAT.md 5): each mismatch is refused with its own
 * status, and the report says where and what was expected versus found.
 * A field is edited in a persisted header, which is then re-signed so that
 * the reader gets past the header checksum to the identity check.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "format.h"

#define SEG_OFFS 0x1003u

typedef struct field_edit {
    const char *what;
    uint32_t offset;   /* in the header */
    unsigned width;    /* 1, 2, 4 or 8 bytes, little-endian */
    uint64_t delta;    /* added to the stored value */
    pcache_status status;
    uint32_t check;    /* the check bit, 0 if always checked */
    int has_values;
} field_edit;

/* In the order of FORMAT.md 5, class and version first. */
static const field_edit edits[] = {
    {"major", SH_MAJOR, 2, 1, PCACHE_E_FORMAT_VERSION, 0, 1},
    {"class", SH_CLASS, 1, 1, PCACHE_E_CLASS, 0, 1},
    {"byte order", SH_BYTE_ORDER, 1, 1, PCACHE_E_BYTE_ORDER, PCACHE_CHECK_BYTE_ORDER, 1},
    {"pointer size", SH_POINTER_SIZE, 1, (uint64_t)-4, PCACHE_E_POINTER_SIZE, PCACHE_CHECK_POINTER_SIZE, 1},
    {"arch", SH_ARCH, 2, 1, PCACHE_E_ARCH, PCACHE_CHECK_ARCH, 1},
    {"page size", SH_PAGE_SIZE, 4, TEST_PAGE, PCACHE_E_PAGE_SIZE, PCACHE_CHECK_PAGE_SIZE, 1},
    {"checksum", SH_CHECKSUM, 1, 1, PCACHE_E_CHECKSUM_ALGORITHM, PCACHE_CHECK_CHECKSUM_ALGO, 1},
    {"client", SH_CLIENT_NAME + 3, 1, 1, PCACHE_E_CLIENT, PCACHE_CHECK_CLIENT, 0},
    {"client version", SH_CLIENT_VERSION, 4, 1, PCACHE_E_CLIENT_VERSION, PCACHE_CHECK_CLIENT_VERSION, 1},
    {"image id", SH_IMAGE_ID + 5, 1, 1, PCACHE_E_IMAGE_ID, PCACHE_CHECK_IMAGE_ID, 1},
    {"module base", SH_MODULE_BASE, 8, 0x10000, PCACHE_E_MODULE_BASE, PCACHE_CHECK_MODULE_BASE, 1},
    {"module size", SH_MODULE_SIZE, 8, 1, PCACHE_E_MODULE_SIZE, PCACHE_CHECK_MODULE_SIZE, 1},
    {"module digest byte", SH_MODULE_DIGEST + 19, 1, 1, PCACHE_E_MODULE_DIGEST, PCACHE_CHECK_MODULE_DIGEST, 1},
    {"module digest length", SH_DIGEST_LEN, 4, 1, PCACHE_E_MODULE_DIGEST, PCACHE_CHECK_MODULE_DIGEST, 1},
};
#define N_EDITS (sizeof edits / sizeof edits[0])

static uint64_t load(const uint8_t *p, unsigned width)
{
    switch (width) {
    case 1: return p[0];
    case 2: return ld16(p);
    case 4: return ld32(p);
    default: return ld64(p);
    }
}

static void store(uint8_t *p, unsigned width, uint64_t v)
{
    switch (width) {
    case 1: p[0] = (uint8_t)v; break;
    case 2: st16(p, (uint16_t)v); break;
    case 4: st32(p, (uint32_t)v); break;
    default: st64(p, v); break;
    }
}

/* The field an edit reports on: the start of the field it touches (the
 * digest, for its length too: the two are compared as one). */
static uint32_t field_start(const field_edit *e)
{
    if (e->status == PCACHE_E_MODULE_DIGEST)
        return SH_MODULE_DIGEST;
    if (e->offset >= SH_CLIENT_NAME && e->offset < SH_CLIENT_NAME + 64)
        return SH_CLIENT_NAME;
    if (e->offset >= SH_IMAGE_ID && e->offset < SH_IMAGE_ID + PCACHE_IMAGE_ID_SIZE)
        return SH_IMAGE_ID;
    if (e->offset >= SH_MODULE_DIGEST && e->offset < SH_MODULE_DIGEST + PCACHE_MODULE_DIGEST_MAX)
        return SH_MODULE_DIGEST;
    return e->offset;
}

static uint8_t *persisted(pcache_builder **bp, pcache_checksum_algorithm algo, uint64_t *size, void **block)
{
    *bp = test_reference_builder(algo);
    return test_persist(*bp, PCACHE_RO, SEG_OFFS, size, block);
}

static void check_report(const field_edit *e, const pcache_report *r, uint64_t before, uint64_t after,
                         const pcache_identity *id)
{
    test_assert_report(r, e->status);
    assert_int_equal(r->cls, PCACHE_RO);
    assert_string_equal(r->section, "");
    assert_int_equal(r->offset, field_start(e));
    if (e->status == PCACHE_E_IMAGE_ID) {
        /* 16 bytes do not fit a number: the first 8 are stated */
        uint8_t got[PCACHE_IMAGE_ID_SIZE];
        memcpy(got, id->image_id, sizeof got);
        got[e->offset - SH_IMAGE_ID] = (uint8_t)after;
        test_assert_values(r, ld64be(id->image_id), ld64be(got));
    } else if (e->status == PCACHE_E_MODULE_DIGEST) {
        /* digests are compared whole; their lengths are stated */
        test_assert_values(r, TEST_DIGEST_LEN, e->offset == SH_DIGEST_LEN ? after : TEST_DIGEST_LEN);
    } else if (e->has_values) {
        test_assert_values(r, before, after);
    } else {
        /* the client name: both names in the message */
        assert_non_null(strstr(r->message, "'" TEST_CLIENT "'"));
        assert_non_null(strstr(r->message, "'tesu-client'"));
    }
}

static void each_field_mismatch(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_EDITS; k++) {
        const field_edit *e = &edits[k];
        pcache_builder *b;
        pcache_expect exp;
        pcache_segment seg;
        pcache_report r;
        uint64_t size, before, after;
        void *block;
        uint8_t *p = persisted(&b, PCACHE_CHECKSUM_XXH3_64, &size, &block);
        const uint8_t *map = p;

        test_expect_all(&exp, pcache_builder_identity(b), PCACHE_VALIDATE_FULL);
        assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), PCACHE_OK);

        before = load(p + e->offset, e->width);
        after = (before + e->delta) & (e->width == 8 ? UINT64_MAX : (1ull << (8 * e->width)) - 1);
        store(p + e->offset, e->width, after);
        test_resign_segment(p);

        map = p;
        memset(&r, 0, sizeof r);
        if (pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r) != e->status)
            fail_msg("%s edited: %s, expected %s", e->what, pcache_status_name(r.status),
                     pcache_status_name(e->status));
        assert_ptr_equal(map, p);
        check_report(e, &r, before, after, pcache_builder_identity(b));
        /* the same again with the length unknown */
        assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, PCACHE_SIZE_UNKNOWN, &exp, &r), e->status);

        if (e->check) {
            /* without its check bit, the field is not compared.  A changed
             * checksum algorithm leaves the trailer's checksums of the other
             * algorithm, so that one is read at header level. */
            exp.check &= ~e->check;
            exp.validation = e->status == PCACHE_E_CHECKSUM_ALGORITHM ? PCACHE_VALIDATE_HEADER
                                                                     : PCACHE_VALIDATE_FULL;
            map = p;
            assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), PCACHE_OK);
            assert_ptr_equal(map, p + size);
            /* and the segment states what it holds */
            if (e->width > 1 && e->offset == field_start(e))
                assert_int_equal(load(seg.base + e->offset, e->width), after);
        }
        free(block);
        pcache_builder_free(b);
    }
}

/* With every field wrong at once, clearing the check bits one at a time in
 * FORMAT.md order reveals the codes one at a time, in that order. */
static void checks_run_in_documented_order(void **state)
{
    pcache_builder *b;
    pcache_expect exp;
    pcache_segment seg;
    pcache_report r;
    uint64_t size;
    void *block;
    uint8_t *p = persisted(&b, PCACHE_CHECKSUM_XXH3_64, &size, &block);
    (void)state;

    for (size_t k = 2; k < N_EDITS; k++) {
        const field_edit *e = &edits[k];
        if (e->offset == SH_DIGEST_LEN)
            continue; /* the digest byte edit already makes the digest differ */
        store(p + e->offset, e->width, load(p + e->offset, e->width) + e->delta);
    }
    test_resign_segment(p);
    test_expect_all(&exp, pcache_builder_identity(b), PCACHE_VALIDATE_HEADER);
    for (size_t k = 2; k < N_EDITS; k++) {
        const uint8_t *map = p;
        if (edits[k].offset == SH_DIGEST_LEN)
            continue;
        assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), edits[k].status);
        exp.check &= ~edits[k].check;
    }
    {
        const uint8_t *map = p;
        assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), PCACHE_OK);
    }
    free(block);
    pcache_builder_free(b);
}

/* The common case: the bytes are intact, the loader expects another
 * identity (another client version, another module...). */
static void expectation_mismatch(void **state)
{
    pcache_builder *b;
    pcache_segment seg;
    pcache_report r;
    uint64_t size;
    void *block;
    uint8_t *p = persisted(&b, PCACHE_CHECKSUM_CRC32, &size, &block);
    const pcache_identity *id = pcache_builder_identity(b);
    (void)state;

    for (int k = 0; k < 12; k++) {
        pcache_expect exp;
        pcache_status want;
        const uint8_t *map = p;

        test_expect_all(&exp, id, PCACHE_VALIDATE_FULL);
        switch (k) {
        case 0: exp.identity.byte_order = PCACHE_BIG_ENDIAN + PCACHE_LITTLE_ENDIAN - id->byte_order;
                want = PCACHE_E_BYTE_ORDER; break;
        case 1: exp.identity.pointer_size = id->pointer_size == 8 ? 4 : 8; want = PCACHE_E_POINTER_SIZE; break;
        case 2: exp.identity.arch = (uint16_t)(id->arch + 1); want = PCACHE_E_ARCH; break;
        case 3: exp.identity.page_size = 65536; want = PCACHE_E_PAGE_SIZE; break;
        case 4: exp.identity.checksum = PCACHE_CHECKSUM_XXH3_64; want = PCACHE_E_CHECKSUM_ALGORITHM; break;
        case 5: strcpy(exp.identity.client_name, "other-client"); want = PCACHE_E_CLIENT; break;
        case 6: exp.identity.client_version = 8; want = PCACHE_E_CLIENT_VERSION; break;
        case 7: exp.identity.image_id[15] ^= 1; want = PCACHE_E_IMAGE_ID; break;
        case 8: exp.identity.module_base += 4096; want = PCACHE_E_MODULE_BASE; break;
        case 9: exp.identity.module_size -= 1; want = PCACHE_E_MODULE_SIZE; break;
        case 10: exp.identity.module_digest[0] ^= 0x80; want = PCACHE_E_MODULE_DIGEST; break;
        default: exp.identity.module_digest_len = 0; want = PCACHE_E_MODULE_DIGEST; break;
        }
        assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), want);
        test_assert_report(&r, want);
        assert_int_equal(r.cls, PCACHE_RO);
        assert_ptr_equal(map, p);
        if (k == 2)
            test_assert_values(&r, (uint16_t)(id->arch + 1), id->arch);
        if (k == 6)
            test_assert_values(&r, 8, TEST_CLIENT_VERSION);
        if (k == 5) {
            assert_non_null(strstr(r.message, "'other-client'"));
            assert_non_null(strstr(r.message, "'" TEST_CLIENT "'"));
        }
    }
    free(block);
    pcache_builder_free(b);
}

/* The module base is not compared by default: modules move under ASLR. */
static void module_base_checked_only_when_asked(void **state)
{
    pcache_builder *b;
    pcache_expect exp;
    pcache_segment seg;
    pcache_report r;
    uint64_t size;
    void *block;
    uint8_t *p = persisted(&b, PCACHE_CHECKSUM_XXH3_64, &size, &block);
    const uint8_t *map = p;
    (void)state;

    pcache_expect_init(&exp, pcache_builder_identity(b));
    exp.identity.module_base = 0x7f0000000000ull;
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), PCACHE_OK);
    assert_int_equal(seg.identity.module_base, TEST_MODULE_BASE);
    exp.check |= PCACHE_CHECK_MODULE_BASE;
    map = p;
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), PCACHE_E_MODULE_BASE);
    test_assert_values(&r, 0x7f0000000000ull, TEST_MODULE_BASE);
    assert_int_equal(r.offset, SH_MODULE_BASE);
    free(block);
    pcache_builder_free(b);
}

static void wrong_class_requested(void **state)
{
    pcache_builder *b;
    pcache_expect exp;
    pcache_segment seg;
    pcache_report r;
    uint64_t size;
    void *block;
    uint8_t *p = persisted(&b, PCACHE_CHECKSUM_XXH3_64, &size, &block);
    (void)state;

    pcache_expect_init(&exp, pcache_builder_identity(b));
    for (int c = PCACHE_RX; c <= PCACHE_RW; c++) {
        const uint8_t *map = p;
        assert_int_equal(pcache_resurrect(&seg, (pcache_class)c, &map, size, &exp, &r), PCACHE_E_CLASS);
        test_assert_report(&r, PCACHE_E_CLASS);
        assert_int_equal(r.cls, c);
        assert_int_equal(r.offset, SH_CLASS);
        test_assert_values(&r, (uint64_t)c + 1, PCACHE_RO + 1);
        assert_ptr_equal(map, p);
    }
    free(block);
    pcache_builder_free(b);
}

/* In a file, a mismatch is reported at its file offset. */
static void file_reports_file_offset(void **state)
{
    pcache_builder *b = test_reference_builder(PCACHE_CHECKSUM_XXH3_64);
    pcache_expect exp;
    pcache_image img;
    pcache_report r;
    uint64_t size;
    uint8_t *file = test_write_file(b, &size);
    (void)state;

    pcache_expect_init(&exp, pcache_builder_identity(b));
    exp.identity.client_version = 99;
    assert_int_equal(pcache_image_open_memory(&img, file, size, &exp, &r), PCACHE_E_CLIENT_VERSION);
    test_assert_report(&r, PCACHE_E_CLIENT_VERSION);
    assert_int_equal(r.cls, PCACHE_RO);
    assert_int_equal(r.offset, TEST_PAGE + SH_CLIENT_VERSION);
    test_assert_values(&r, 99, TEST_CLIENT_VERSION);

    /* a file's segments carry the file's image id, whatever is expected */
    pcache_expect_init(&exp, pcache_builder_identity(b));
    exp.identity.image_id[0] ^= 0xff;
    exp.check |= PCACHE_CHECK_IMAGE_ID;
    assert_int_equal(pcache_image_open_memory(&img, file, size, &exp, &r), PCACHE_OK);
    free(file);
    pcache_builder_free(b);
}

/* A segment of another image in a file: its image id differs from the
 * file header's. */
static void file_segment_of_another_image(void **state)
{
    pcache_builder *b = test_reference_builder(PCACHE_CHECKSUM_XXH3_64);
    pcache_image img;
    pcache_report r;
    uint64_t size;
    uint8_t *file = test_write_file(b, &size);
    uint8_t *rx = file + 2 * TEST_PAGE;
    (void)state;

    assert_memory_equal(rx, SEG_MAGIC, SEG_MAGIC_SIZE);
    rx[SH_IMAGE_ID] ^= 1;
    test_resign_segment(rx);
    assert_int_equal(pcache_image_open_memory(&img, file, size, NULL, &r), PCACHE_E_IMAGE_ID);
    test_assert_report(&r, PCACHE_E_IMAGE_ID);
    assert_int_equal(r.cls, PCACHE_RX);
    assert_int_equal(r.offset, 2 * TEST_PAGE + SH_IMAGE_ID);
    free(file);
    pcache_builder_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_field_mismatch),
        cmocka_unit_test(checks_run_in_documented_order),
        cmocka_unit_test(expectation_mismatch),
        cmocka_unit_test(module_base_checked_only_when_asked),
        cmocka_unit_test(wrong_class_requested),
        cmocka_unit_test(file_reports_file_offset),
        cmocka_unit_test(file_segment_of_another_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
