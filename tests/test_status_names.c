/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Every status code has a distinct, non-empty description and symbolic
 * name; out-of-range codes still get a string.  Class and checksum names.
 */
#include "support.h"

#include <stdio.h>
#include <string.h>

static void every_code_named_distinctly(void **state)
{
    (void)state;
    for (int s = 0; s < PCACHE_STATUS_COUNT; s++) {
        const char *text = pcache_strerror((pcache_status)s);
        const char *name = pcache_status_name((pcache_status)s);

        assert_non_null(text);
        assert_non_null(name);
        assert_true(text[0] != '\0');
        assert_string_not_equal(text, pcache_strerror((pcache_status)PCACHE_STATUS_COUNT));
        assert_string_not_equal(name, pcache_status_name((pcache_status)PCACHE_STATUS_COUNT));
        assert_int_equal(strncmp(name, "PCACHE_", 7), 0);
        assert_true(strlen(name) > 7);
        for (int t = 0; t < s; t++) {
            if (strcmp(text, pcache_strerror((pcache_status)t)) == 0)
                fail_msg("%s and %s share the description '%s'", name, pcache_status_name((pcache_status)t),
                         text);
            assert_string_not_equal(name, pcache_status_name((pcache_status)t));
        }
    }
    assert_string_equal(pcache_status_name(PCACHE_OK), "PCACHE_OK");
    assert_string_equal(pcache_status_name(PCACHE_E_SECTION_CHECKSUM), "PCACHE_E_SECTION_CHECKSUM");
    assert_string_equal(pcache_status_name(PCACHE_E_UNKNOWN_CRITICAL), "PCACHE_E_UNKNOWN_CRITICAL");
}

static void out_of_range_codes(void **state)
{
    (void)state;
    assert_non_null(pcache_strerror((pcache_status)-1));
    assert_non_null(pcache_status_name((pcache_status)-1));
    assert_non_null(pcache_strerror((pcache_status)PCACHE_STATUS_COUNT));
    assert_non_null(pcache_status_name((pcache_status)1000000));
    assert_true(pcache_strerror((pcache_status)1000000)[0] != '\0');
}

static void class_and_checksum_names(void **state)
{
    (void)state;
    assert_string_equal(pcache_class_name(PCACHE_RO), "ro");
    assert_string_equal(pcache_class_name(PCACHE_RX), "rx");
    assert_string_equal(pcache_class_name(PCACHE_RW), "rw");
    assert_non_null(pcache_class_name((pcache_class)7));
    assert_string_not_equal(pcache_checksum_name(PCACHE_CHECKSUM_XXH3_64), pcache_checksum_name(PCACHE_CHECKSUM_CRC32));
    assert_non_null(pcache_checksum_name((pcache_checksum_algorithm)9));
    assert_string_not_equal(pcache_checksum_name((pcache_checksum_algorithm)9),
                            pcache_checksum_name(PCACHE_CHECKSUM_CRC32));
}

/* The version the library reports at run time is the one its header
 * says (the build checks the header against meson.build). */
static void version_at_run_time(void **state)
{
    char expect[32];
    (void)state;
    assert_int_equal(pcache_version_number(), PCACHE_VERSION_NUMBER);
    assert_int_equal(pcache_version_number(),
                     PCACHE_VERSION_MAJOR * 10000 + PCACHE_VERSION_MINOR * 100 + PCACHE_VERSION_PATCH);
    snprintf(expect, sizeof expect, "%d.%d.%d", PCACHE_VERSION_MAJOR, PCACHE_VERSION_MINOR, PCACHE_VERSION_PATCH);
    assert_string_equal(pcache_version_string(), expect);
    assert_string_equal(pcache_version_string(), PCACHE_VERSION_STRING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_named_distinctly),
        cmocka_unit_test(out_of_range_codes),
        cmocka_unit_test(class_and_checksum_names),
        cmocka_unit_test(version_at_run_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
