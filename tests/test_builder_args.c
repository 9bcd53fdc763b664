/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Caller errors are refused with their own codes before anything is
 * built: section and client names, duplicates, alignments, section counts,
 * identities, classes and flags.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pcache_builder *new_builder(void)
{
    pcache_identity id;
    pcache_builder *b;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    return b;
}

static const uint8_t data[64];

static int produce_nothing(void *ctx, pcache_writer *w)
{
    (void)ctx;
    (void)w;
    return 0;
}

static void section_names(void **state)
{
    static const char *const bad[] = {
        "",
        "has space",
        "tab\there",
        "new\nline",
        "del\x7f",
        "high\x80",
        "\xff",
        "abcdefghijklmnopqrstuvwxyz012345", /* 32 bytes: one too many */
    };
    static const char *const good[] = {
        "a",
        "abcdefghijklmnopqrstuvwxyz01234", /* 31 bytes */
        "!~#$%&()*+,-./:;<=>?@[\\]^_`{|}",
        "UPPER.lower_9",
    };
    pcache_builder *b = new_builder();
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(pcache_builder_add(b, PCACHE_RO, bad[i], data, 1, 1, 0), PCACHE_E_SECTION_NAME);
        test_assert_report(pcache_builder_report(b), PCACHE_E_SECTION_NAME);
        assert_int_equal(pcache_builder_add_produced(b, PCACHE_RO, bad[i], 1, 1, 0,
                                                     produce_nothing, NULL),
                         PCACHE_E_SECTION_NAME);
        assert_int_equal(pcache_builder_add_typed(b, PCACHE_RO, bad[i], PCACHE_TYPE_DATA, data, 1, 1, 0),
                         PCACHE_E_SECTION_NAME);
    }
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, NULL, data, 1, 1, 0), PCACHE_E_SECTION_NAME);
    assert_int_equal(pcache_builder_section_count(b, PCACHE_RO), 0);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(pcache_builder_add(b, PCACHE_RO, good[i], data, 1, 1, 0), PCACHE_OK);
        assert_int_equal(pcache_builder_report(b)->status, PCACHE_OK);
    }
    assert_int_equal(pcache_builder_section_count(b, PCACHE_RO), sizeof good / sizeof good[0]);
    pcache_builder_free(b);
}

static void duplicates(void **state)
{
    pcache_builder *b = new_builder();
    (void)state;

    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "dup", data, 1, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "dup", data, 2, 2, 0), PCACHE_E_DUPLICATE_SECTION);
    test_assert_report(pcache_builder_report(b), PCACHE_E_DUPLICATE_SECTION);
    assert_string_equal(pcache_builder_report(b)->section, "dup");
    assert_int_equal(pcache_builder_add_typed(b, PCACHE_RO, "dup", 9, data, 1, 1, PCACHE_SECTION_SKIPPABLE),
                     PCACHE_E_DUPLICATE_SECTION);
    /* names are case-sensitive, and per class */
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "DUP", data, 1, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "dup", data, 1, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "dup", data, 1, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_section_count(b, PCACHE_RO), 2);
    pcache_builder_free(b);
}

static void alignments(void **state)
{
    static const uint32_t bad[] = {0, 3, 5, 6, 12, 4095, 8192, 1u << 31, UINT32_MAX};
    pcache_builder *b = new_builder();
    char name[8];
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(pcache_builder_add(b, PCACHE_RW, "x", data, 1, bad[i], 0), PCACHE_E_ALIGNMENT);
        test_assert_report(pcache_builder_report(b), PCACHE_E_ALIGNMENT);
        test_assert_values(pcache_builder_report(b), TEST_PAGE, bad[i]);
    }
    for (uint32_t a = 1, i = 0; a <= TEST_PAGE; a *= 2, i++) {
        name[0] = (char)('a' + i);
        name[1] = '\0';
        assert_int_equal(pcache_builder_add(b, PCACHE_RW, name, data, 1, a, 0), PCACHE_OK);
    }
    pcache_builder_free(b);

    /* the limit is the identity's page size */
    {
        pcache_identity id;
        test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
        id.page_size = 65536;
        assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
        assert_int_equal(pcache_builder_add(b, PCACHE_RW, "big", data, 1, 65536, 0), PCACHE_OK);
        assert_int_equal(pcache_builder_add(b, PCACHE_RW, "bigger", data, 1, 131072, 0), PCACHE_E_ALIGNMENT);
        pcache_builder_free(b);
    }
}

static void too_many_sections(void **state)
{
    pcache_builder *b = new_builder();
    char name[16];
    uint64_t size;
    (void)state;

    for (uint32_t i = 0; i < PCACHE_MAX_SECTIONS; i++) {
        snprintf(name, sizeof name, "s%u", i);
        assert_int_equal(pcache_builder_add(b, PCACHE_RX, name, data, i % 3, 1u << (i % 5), 0), PCACHE_OK);
    }
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "one-more", data, 1, 1, 0), PCACHE_E_TOO_MANY_SECTIONS);
    test_assert_report(pcache_builder_report(b), PCACHE_E_TOO_MANY_SECTIONS);
    test_assert_values(pcache_builder_report(b), PCACHE_MAX_SECTIONS, PCACHE_MAX_SECTIONS + 1);
    assert_int_equal(pcache_builder_section_count(b, PCACHE_RX), PCACHE_MAX_SECTIONS);
    /* another class has its own limit */
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "one-more", data, 1, 1, 0), PCACHE_OK);

    /* the full class still round-trips */
    {
        void *block;
        uint8_t *p = test_persist(b, PCACHE_RX, 5, &size, &block);
        pcache_expect exp;
        pcache_segment seg;
        pcache_view v;
        const uint8_t *map = p;
        pcache_expect_init(&exp, pcache_builder_identity(b));
        assert_int_equal(pcache_resurrect(&seg, PCACHE_RX, &map, PCACHE_SIZE_UNKNOWN, &exp, NULL), PCACHE_OK);
        assert_int_equal(seg.section_count, PCACHE_MAX_SECTIONS);
        assert_int_equal(pcache_segment_find(&seg, "s1023", &v, NULL), PCACHE_OK);
        assert_int_equal(v.index, 1023);
        assert_int_equal(v.size, 1023 % 3);
        free(block);
    }
    pcache_builder_free(b);
}

static void client_names(void **state)
{
    static const char *const bad[] = {
        "",
        "tab\tname",
        "nl\n",
        "\x7f",
        "\x80high",
        "0123456789012345678901234567890123456789012345678901234567890123", /* 64 */
    };
    static const char *const good[] = {
        "x",
        "with space",
        "012345678901234567890123456789012345678901234567890123456789012", /* 63 */
    };
    pcache_identity id;
    pcache_builder *b;
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(pcache_identity_init(&id, bad[i], 1), PCACHE_E_CLIENT_NAME);
    assert_int_equal(pcache_identity_init(&id, NULL, 1), PCACHE_E_INVALID_ARGUMENT);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(pcache_identity_init(&id, good[i], 1), PCACHE_OK);
        assert_string_equal(id.client_name, good[i]);
        assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
        pcache_builder_free(b);
    }

    /* the builder checks an identity filled in by hand */
    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    memset(id.client_name, 0, sizeof id.client_name);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_E_CLIENT_NAME);
    assert_null(b);
    memset(id.client_name, 'a', sizeof id.client_name); /* no NUL at all */
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_E_CLIENT_NAME);
    strcpy(id.client_name, "ctl\x01");
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_E_CLIENT_NAME);
}

static void identities(void **state)
{
    pcache_identity id, bad;
    pcache_builder *b;
    uint8_t digest[PCACHE_MODULE_DIGEST_MAX + 1] = {0};
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    for (int k = 0; k < 9; k++) {
        bad = id;
        switch (k) {
        case 0: bad.page_size = 2048; break;
        case 1: bad.page_size = 4097; break;
        case 2: bad.page_size = 1u << 31; break;
        case 3: bad.byte_order = 0; break;
        case 4: bad.byte_order = 3; break;
        case 5: bad.pointer_size = 2; break;
        case 6: bad.checksum = (pcache_checksum_algorithm)0; break;
        case 7: bad.checksum = (pcache_checksum_algorithm)3; break;
        default: bad.module_digest_len = PCACHE_MODULE_DIGEST_MAX + 1; break;
        }
        b = (pcache_builder *)&bad;
        assert_int_equal(pcache_builder_new(&b, &bad), PCACHE_E_INVALID_ARGUMENT);
        assert_null(b);
    }
    assert_int_equal(pcache_builder_new(NULL, &id), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_new(&b, NULL), PCACHE_E_INVALID_ARGUMENT);

    assert_int_equal(pcache_identity_set_module(&id, 1, 2, digest, sizeof digest), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_identity_set_module(&id, 1, 2, NULL, 4), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_identity_set_module(&id, 1, 2, NULL, 0), PCACHE_OK);
    assert_int_equal(pcache_identity_set_module(&id, 1, 2, digest, PCACHE_MODULE_DIGEST_MAX), PCACHE_OK);
    assert_int_equal(id.module_digest_len, PCACHE_MODULE_DIGEST_MAX);

    /* two fresh identities get different image ids */
    {
        pcache_identity x, y;
        assert_int_equal(pcache_identity_init(&x, "c", 1), PCACHE_OK);
        assert_int_equal(pcache_identity_init(&y, "c", 1), PCACHE_OK);
        assert_memory_not_equal(x.image_id, y.image_id, PCACHE_IMAGE_ID_SIZE);
        assert_int_equal(x.checksum, PCACHE_CHECKSUM_XXH3_64);
        assert_int_equal(x.pointer_size, sizeof(void *));
    }
}

static void classes_flags_and_data(void **state)
{
    pcache_builder *b = new_builder();
    (void)state;

    assert_int_equal(pcache_builder_add(b, (pcache_class)3, "x", data, 1, 1, 0), PCACHE_E_INVALID_ARGUMENT);
    test_assert_report(pcache_builder_report(b), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_add(b, (pcache_class)-1, "x", data, 1, 1, 0), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "x", data, 1, 1, 0x0002), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "x", NULL, 1, 1, 0), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "x", NULL, 0, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add_produced(b, PCACHE_RO, "y", 1, 1, 0, NULL, NULL),
                     PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_add(NULL, PCACHE_RO, "x", data, 1, 1, 0), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_set_segment_flags(b, PCACHE_RO, 0x0002), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_set_segment_flags(b, (pcache_class)3, 0), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_section_count(b, (pcache_class)3), 0);
    assert_int_equal(pcache_builder_section_count(NULL, PCACHE_RO), 0);
    assert_null(pcache_builder_identity(NULL));
    assert_null(pcache_builder_report(NULL));
    pcache_builder_free(NULL);
    pcache_builder_free(b);
}

static void section_file_offset_lookups(void **state)
{
    pcache_builder *b = new_builder();
    uint64_t fo, size;
    (void)state;

    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "x", data, 3, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, "x", &fo), PCACHE_E_STATE);
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, 100, &size), PCACHE_OK);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, "x", &fo), PCACHE_OK);
    assert_int_equal(fo, 100 + 256 + 64);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, "y", &fo), PCACHE_E_NOT_FOUND);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RX, "x", &fo), PCACHE_E_STATE);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, NULL, &fo), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, "x", NULL), PCACHE_E_INVALID_ARGUMENT);
    pcache_builder_free(b);
}

static void reader_bad_arguments(void **state)
{
    pcache_identity id;
    pcache_expect exp;
    pcache_segment seg;
    pcache_report r;
    pcache_view v;
    pcache_image img;
    const uint8_t bytes[8] = {0};
    const uint8_t *map = bytes, *null_map = NULL;
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    pcache_expect_init(&exp, &id);
    assert_int_equal(pcache_resurrect(NULL, PCACHE_RO, &map, 8, &exp, &r), PCACHE_E_INVALID_ARGUMENT);
    test_assert_report(&r, PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, NULL, 8, &exp, &r), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &null_map, 8, &exp, &r), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, 8, NULL, &r), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_resurrect(&seg, (pcache_class)3, &map, 8, &exp, &r), PCACHE_E_INVALID_ARGUMENT);
    exp.validation = (pcache_validation)0;
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, 8, &exp, &r), PCACHE_E_INVALID_ARGUMENT);
    exp.validation = (pcache_validation)4;
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, 8, &exp, &r), PCACHE_E_INVALID_ARGUMENT);
    assert_ptr_equal(map, bytes);
    memset(&seg, 0, sizeof seg);
    assert_int_equal(pcache_segment_find(&seg, "x", &v, &r), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_segment_section(&seg, 0, &v, &r), PCACHE_E_INVALID_ARGUMENT);
    assert_null(pcache_view_mutable(NULL, &v));
    assert_int_equal(pcache_image_open_memory(NULL, bytes, 8, NULL, &r), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_image_open_memory(&img, NULL, 8, NULL, &r), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_image_open_memory(&img, NULL, 0, NULL, &r), PCACHE_E_TRUNCATED);
    assert_null(pcache_image_segment(NULL, PCACHE_RO));
    pcache_image_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(section_names),
        cmocka_unit_test(duplicates),
        cmocka_unit_test(alignments),
        cmocka_unit_test(too_many_sections),
        cmocka_unit_test(client_names),
        cmocka_unit_test(identities),
        cmocka_unit_test(classes_flags_and_data),
        cmocka_unit_test(section_file_offset_lookups),
        cmocka_unit_test(reader_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
