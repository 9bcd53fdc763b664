/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Forward compatibility (docs/FORMAT.md 6): what a newer writer may add
 * and an older reader must skip, and what it must refuse.  Unknown
 * sections skippable or critical, by type, by flag and by name; newer minor
 * versions with reserved bytes in use.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "format.h"

#define TYPE_NEWER 0x7777u
#define SEG_OFFS 0x2345u

static uint8_t known_a[40], newer[77], known_b[9];

/* ro: "known" (data), then the section under test, then "after" (data). */
static pcache_builder *builder_with(uint16_t type, const char *name, uint32_t flags)
{
    pcache_identity id;
    pcache_builder *b;

    test_fill(known_a, sizeof known_a, 11);
    test_fill(newer, sizeof newer, 12);
    test_fill(known_b, sizeof known_b, 13);
    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "known", known_a, sizeof known_a, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add_typed(b, PCACHE_RO, name, type, newer, sizeof newer, 16, flags), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "after", known_b, sizeof known_b, 1, 0), PCACHE_OK);
    return b;
}

static const char *const known_names[] = {"known", "after"};

static void expect_for(pcache_expect *exp, pcache_builder *b, pcache_validation level, int with_names)
{
    pcache_expect_init(exp, pcache_builder_identity(b));
    exp->validation = level;
    if (with_names) {
        exp->known_sections = known_names;
        exp->known_section_count = 2;
    }
}

/* The middle section is skipped: not offered by name, there by index. */
static void check_skipped(pcache_segment *seg, const char *name, uint16_t type, uint16_t flags)
{
    pcache_view v;
    pcache_report r;

    assert_int_equal(pcache_segment_find(seg, name, &v, &r), PCACHE_E_SKIPPED);
    test_assert_report(&r, PCACHE_E_SKIPPED);
    assert_string_equal(r.section, name);
    assert_int_equal(r.cls, PCACHE_RO);
    memset(&v, 0, sizeof v);
    assert_int_equal(pcache_segment_section(seg, 1, &v, &r), PCACHE_OK);
    assert_int_equal(v.known, 0);
    assert_string_equal(v.name, name);
    assert_int_equal(v.type, type);
    assert_int_equal(v.flags, flags);
    assert_int_equal(v.size, sizeof newer);
    assert_memory_equal(v.data, newer, sizeof newer);
    /* its neighbours are unaffected */
    assert_int_equal(pcache_segment_find(seg, "known", &v, &r), PCACHE_OK);
    assert_int_equal(v.known, 1);
    assert_memory_equal(v.data, known_a, sizeof known_a);
    assert_int_equal(pcache_segment_find(seg, "after", &v, &r), PCACHE_OK);
    assert_memory_equal(v.data, known_b, sizeof known_b);
}

static void resurrect_all_ways(pcache_builder *b, int with_names, pcache_status want, const char *name,
                               uint16_t type, uint16_t flags)
{
    uint64_t size;
    void *block;
    uint8_t *p = test_persist(b, PCACHE_RO, SEG_OFFS, &size, &block);

    for (int level = PCACHE_VALIDATE_HEADER; level <= PCACHE_VALIDATE_FULL; level++) {
        for (int unknown_len = 0; unknown_len <= 1; unknown_len++) {
            pcache_expect exp;
            pcache_segment seg;
            pcache_report r;
            const uint8_t *map = p;
            pcache_status st;

            expect_for(&exp, b, (pcache_validation)level, with_names);
            st = pcache_resurrect(&seg, PCACHE_RO, &map, unknown_len ? PCACHE_SIZE_UNKNOWN : size, &exp, &r);
            assert_int_equal(st, want);
            if (want == PCACHE_OK) {
                assert_ptr_equal(map, p + size);
                check_skipped(&seg, name, type, flags);
            } else {
                test_assert_report(&r, want);
                assert_string_equal(r.section, name);
                assert_int_equal(r.offset, SEG_HEADER_SIZE + SEG_ENTRY_SIZE); /* its table entry */
                assert_ptr_equal(map, p);
            }
        }
    }
    free(block);
}

static void unknown_type_skippable(void **state)
{
    pcache_builder *b = builder_with(TYPE_NEWER, "ext.v2", PCACHE_SECTION_SKIPPABLE);
    (void)state;
    resurrect_all_ways(b, 0, PCACHE_OK, "ext.v2", TYPE_NEWER, PCACHE_SECTION_SKIPPABLE);
    resurrect_all_ways(b, 1, PCACHE_OK, "ext.v2", TYPE_NEWER, PCACHE_SECTION_SKIPPABLE);
    pcache_builder_free(b);
}

static void unknown_type_critical(void **state)
{
    pcache_builder *b = builder_with(TYPE_NEWER, "ext.v2", 0);
    (void)state;
    resurrect_all_ways(b, 0, PCACHE_E_UNKNOWN_CRITICAL, "ext.v2", TYPE_NEWER, 0);
    pcache_builder_free(b);
    /* type 0 is reserved too */
    b = builder_with(0, "ext.v0", 0);
    resurrect_all_ways(b, 0, PCACHE_E_UNKNOWN_CRITICAL, "ext.v0", 0, 0);
    pcache_builder_free(b);
}

static void unknown_name_skippable(void **state)
{
    pcache_builder *b = builder_with(PCACHE_TYPE_DATA, "newer", PCACHE_SECTION_SKIPPABLE);
    (void)state;
    resurrect_all_ways(b, 1, PCACHE_OK, "newer", PCACHE_TYPE_DATA, PCACHE_SECTION_SKIPPABLE);
    pcache_builder_free(b);
}

static void unknown_name_critical(void **state)
{
    pcache_builder *b = builder_with(PCACHE_TYPE_DATA, "newer", 0);
    uint64_t size;
    void *block;
    uint8_t *p;
    pcache_expect exp;
    pcache_segment seg;
    pcache_view v;
    const uint8_t *map;
    (void)state;

    resurrect_all_ways(b, 1, PCACHE_E_UNKNOWN_CRITICAL, "newer", PCACHE_TYPE_DATA, 0);
    /* a reader with no list of names knows every name */
    p = test_persist(b, PCACHE_RO, SEG_OFFS, &size, &block);
    expect_for(&exp, b, PCACHE_VALIDATE_FULL, 0);
    map = p;
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, NULL), PCACHE_OK);
    assert_int_equal(pcache_segment_find(&seg, "newer", &v, NULL), PCACHE_OK);
    assert_int_equal(v.known, 1);
    free(block);
    pcache_builder_free(b);
}

/* Flag bits this reader does not know make a section unknown.  The builder
 * refuses to write them, so they are edited in.  (0x0002 is known since
 * format 1.1: PCACHE_SECTION_COMPRESSED.) */
static void unknown_flag_bits(void **state)
{
    static const struct {
        uint16_t flags;
        pcache_status want;
    } cases[] = {
        {PCACHE_SECTION_SKIPPABLE | 0x0004, PCACHE_OK},
        {PCACHE_SECTION_SKIPPABLE | 0x8000, PCACHE_OK},
        {0x0004, PCACHE_E_UNKNOWN_CRITICAL},
        {0x8000, PCACHE_E_UNKNOWN_CRITICAL},
    };
    (void)state;

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        pcache_builder *b = builder_with(PCACHE_TYPE_DATA, "flagged", 0);
        uint64_t size;
        void *block;
        uint8_t *p = test_persist(b, PCACHE_RO, SEG_OFFS, &size, &block);
        pcache_expect exp;
        pcache_segment seg;
        pcache_report r;
        const uint8_t *map = p;

        assert_int_equal(pcache_builder_add(b, PCACHE_RO, "x", known_a, 1, 1, 0x0004), PCACHE_E_INVALID_ARGUMENT);
        st16(p + SEG_HEADER_SIZE + SEG_ENTRY_SIZE + SE_FLAGS, cases[k].flags);
        test_resign_segment(p);
        expect_for(&exp, b, PCACHE_VALIDATE_FULL, 0);
        assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), cases[k].want);
        if (cases[k].want == PCACHE_OK)
            check_skipped(&seg, "flagged", PCACHE_TYPE_DATA, cases[k].flags);
        else
            assert_string_equal(r.section, "flagged");
        free(block);
        pcache_builder_free(b);
    }
}

/* A skipped section is still checksummed at full validation, and lazily on
 * access by index. */
static void skipped_section_still_checked(void **state)
{
    pcache_builder *b = builder_with(TYPE_NEWER, "ext.v2", PCACHE_SECTION_SKIPPABLE);
    uint64_t size, fo;
    void *block;
    uint8_t *p = test_persist(b, PCACHE_RO, SEG_OFFS, &size, &block);
    pcache_expect exp;
    pcache_segment seg;
    pcache_report r;
    pcache_view v;
    const uint8_t *map = p;
    (void)state;

    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, "ext.v2", &fo), PCACHE_OK);
    p[fo - SEG_OFFS + 3] ^= 1;
    expect_for(&exp, b, PCACHE_VALIDATE_FULL, 0);
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), PCACHE_E_SECTION_CHECKSUM);
    assert_string_equal(r.section, "ext.v2");
    exp.validation = PCACHE_VALIDATE_LAZY;
    map = p;
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), PCACHE_OK);
    assert_int_equal(pcache_segment_section(&seg, 1, &v, &r), PCACHE_E_SECTION_CHECKSUM);
    assert_int_equal(pcache_segment_section(&seg, 0, &v, &r), PCACHE_OK);
    free(block);
    pcache_builder_free(b);
}

/* A newer writer's section may load to another size (compression, say);
 * a known one may not. */
static void loaded_size_of_unknown_sections(void **state)
{
    (void)state;
    for (int known = 0; known <= 1; known++) {
        pcache_builder *b = builder_with(known ? PCACHE_TYPE_DATA : TYPE_NEWER, "sized", PCACHE_SECTION_SKIPPABLE);
        uint64_t size;
        void *block;
        uint8_t *p = test_persist(b, PCACHE_RO, SEG_OFFS, &size, &block);
        uint8_t *e = p + SEG_HEADER_SIZE + SEG_ENTRY_SIZE;
        pcache_expect exp;
        pcache_segment seg;
        pcache_report r;
        pcache_view v;
        const uint8_t *map = p;

        st64(e + SE_SIZE, sizeof newer * 4);
        test_resign_segment(p);
        expect_for(&exp, b, PCACHE_VALIDATE_FULL, 0);
        if (known) {
            assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), PCACHE_E_SECTION_TABLE);
            test_assert_report(&r, PCACHE_E_SECTION_TABLE);
            assert_int_equal(r.offset, SEG_HEADER_SIZE + SEG_ENTRY_SIZE + SE_SIZE);
            test_assert_values(&r, sizeof newer, sizeof newer * 4);
        } else {
            assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), PCACHE_OK);
            assert_int_equal(pcache_segment_section(&seg, 1, &v, &r), PCACHE_OK);
            /* the view covers the stored bytes, which are all there are */
            assert_int_equal(v.size, sizeof newer);
            assert_true(v.offset + v.size <= seg.size);
        }
        free(block);
        pcache_builder_free(b);
    }
}

static uint8_t *plain_segment(pcache_builder **bp, uint64_t *size, void **block)
{
    *bp = test_reference_builder(PCACHE_CHECKSUM_CRC32);
    return test_persist(*bp, PCACHE_RO, SEG_OFFS, size, block);
}

static pcache_status read_plain(pcache_builder *b, const uint8_t *p, uint64_t size, pcache_segment *seg,
                                pcache_report *r)
{
    pcache_expect exp;
    const uint8_t *map = p;
    pcache_expect_init(&exp, pcache_builder_identity(b));
    return pcache_resurrect(seg, PCACHE_RO, &map, size, &exp, r);
}

/* Reserved header bytes are checked only up to this reader's minor version:
 * a later minor may give them a meaning. */
static void reserved_bytes_and_minor_version(void **state)
{
    (void)state;
    for (int at = 0; at < SH_RESERVED_SIZE; at += 47) {
        pcache_builder *b;
        pcache_segment seg;
        pcache_report r;
        uint64_t size;
        void *block;
        uint8_t *p = plain_segment(&b, &size, &block);

        p[SH_RESERVED + at] = 0x5a;
        test_resign_header(p);
        assert_int_equal(read_plain(b, p, size, &seg, &r), PCACHE_E_PADDING);
        test_assert_report(&r, PCACHE_E_PADDING);
        assert_int_equal(r.offset, SH_RESERVED + at);

        st16(p + SH_MINOR, PCACHE_FORMAT_MINOR + 1);
        test_resign_header(p);
        assert_int_equal(read_plain(b, p, size, &seg, &r), PCACHE_OK);
        assert_int_equal(seg.format_minor, PCACHE_FORMAT_MINOR + 1);
        st16(p + SH_MINOR, 0xffff);
        test_resign_header(p);
        assert_int_equal(read_plain(b, p, size, &seg, &r), PCACHE_OK);
        free(block);
        pcache_builder_free(b);
    }
}

/* What a newer minor may not change: segment flags (they change the
 * layout), and the zero bytes after names and the module digest, which are
 * not reserved. */
static void newer_minor_limits(void **state)
{
    static const struct {
        uint32_t offset;
        uint8_t value;
        pcache_status want;
    } cases[] = {
        {SH_FLAGS, 0x02, PCACHE_E_HEADER_FIELD},
        {SH_FLAGS + 1, 0x80, PCACHE_E_HEADER_FIELD},
        {SH_MODULE_DIGEST + TEST_DIGEST_LEN, 1, PCACHE_E_PADDING},
        {SH_MODULE_DIGEST + PCACHE_MODULE_DIGEST_MAX - 1, 1, PCACHE_E_PADDING},
        {SH_CLIENT_NAME + 63, 'x', PCACHE_E_HEADER_FIELD},
        {SH_CLIENT_NAME + sizeof TEST_CLIENT, 'x', PCACHE_E_HEADER_FIELD},
    };
    (void)state;

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (uint16_t minor = PCACHE_FORMAT_MINOR; minor <= PCACHE_FORMAT_MINOR + 1; minor++) {
            pcache_builder *b;
            pcache_segment seg;
            pcache_report r;
            uint64_t size;
            void *block;
            uint8_t *p = plain_segment(&b, &size, &block);

            st16(p + SH_MINOR, minor);
            p[cases[k].offset] = cases[k].value;
            test_resign_header(p);
            assert_int_equal(read_plain(b, p, size, &seg, &r), cases[k].want);
            test_assert_report(&r, cases[k].want);
            free(block);
            pcache_builder_free(b);
        }
    }
}

/* The same rule for the standalone file header (FORMAT.md 7.4 step 4). */
static void file_reserved_bytes_and_minor_version(void **state)
{
    static const uint32_t at[] = {FH_RESERVED0, FH_RESERVED, FH_RESERVED + FH_RESERVED_SIZE - 1};
    (void)state;

    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        pcache_builder *b = test_reference_builder(PCACHE_CHECKSUM_XXH3_64);
        pcache_image img;
        pcache_report r;
        uint64_t size;
        uint8_t *file = test_write_file(b, &size);

        file[at[k]] = 0x01;
        test_resign_file(file, size);
        assert_int_equal(pcache_image_open_memory(&img, file, size, NULL, &r), PCACHE_E_FILE_HEADER);
        test_assert_report(&r, PCACHE_E_FILE_HEADER);
        assert_int_equal(r.offset, at[k]);

        st16(file + FH_MINOR, PCACHE_FORMAT_MINOR + 1);
        test_resign_file(file, size);
        assert_int_equal(pcache_image_open_memory(&img, file, size, NULL, &r), PCACHE_OK);
        assert_int_equal(img.format_minor, PCACHE_FORMAT_MINOR + 1);
        free(file);
        pcache_builder_free(b);
    }
}

/* File flags are not reserved bytes: refused at every minor version. */
static void file_flags_refused_at_any_minor(void **state)
{
    (void)state;
    for (uint16_t minor = PCACHE_FORMAT_MINOR; minor <= PCACHE_FORMAT_MINOR + 1; minor++) {
        pcache_builder *b = test_reference_builder(PCACHE_CHECKSUM_XXH3_64);
        pcache_image img;
        pcache_report r;
        uint64_t size;
        uint8_t *file = test_write_file(b, &size);

        st16(file + FH_MINOR, minor);
        st32(file + FH_FLAGS, 0x10);
        test_resign_file(file, size);
        assert_int_equal(pcache_image_open_memory(&img, file, size, NULL, &r), PCACHE_E_FILE_HEADER);
        test_assert_report(&r, PCACHE_E_FILE_HEADER);
        assert_int_equal(r.offset, FH_FLAGS);
        free(file);
        pcache_builder_free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unknown_type_skippable),
        cmocka_unit_test(unknown_type_critical),
        cmocka_unit_test(unknown_name_skippable),
        cmocka_unit_test(unknown_name_critical),
        cmocka_unit_test(unknown_flag_bits),
        cmocka_unit_test(skipped_section_still_checked),
        cmocka_unit_test(loaded_size_of_unknown_sections),
        cmocka_unit_test(reserved_bytes_and_minor_version),
        cmocka_unit_test(newer_minor_limits),
        cmocka_unit_test(file_reserved_bytes_and_minor_version),
        cmocka_unit_test(file_flags_refused_at_any_minor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
