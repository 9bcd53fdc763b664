/* SPDX-License-Identifier: BSD-2-Clause */
/* The ABI policy (pcache.h, "Stability"): the public structs a caller
 * allocates or fills are part of the shared library's ABI.  Their sizes on
 * x86-64 Linux are pinned here: a change fails this test, and whoever
 * makes it bumps the soversion in meson.build (a layout change breaks
 * every program built against the old headers) and updates this table. */
#include <stddef.h>
#include <string.h>

#include "support.h"

#include "pcache/bind.h"
#include "pcache/build_id.h"
#include "pcache/dpc.h"
#include "pcache/dr.h"
#include "pcache/file.h"
#include "pcache/reloc.h"

static const struct {
    const char *name;
    size_t size, pinned;
} structs[] = {
    {"pcache_identity", sizeof(pcache_identity), 152},
    {"pcache_sink", sizeof(pcache_sink), 16},
    {"pcache_buffer_sink", sizeof(pcache_buffer_sink), 24},
    {"pcache_report", sizeof(pcache_report), 400},
    {"pcache_expect", sizeof(pcache_expect), 184},
    {"pcache_reloc_span", sizeof(pcache_reloc_span), 24},
    {"pcache_segment", sizeof(pcache_segment), 3160},
    {"pcache_view", sizeof(pcache_view), 56},
    {"pcache_image", sizeof(pcache_image), 9592},
    {"pcache_patch", sizeof(pcache_patch), 72},
    {"pcache_reloc", sizeof(pcache_reloc), 96},
    {"pcache_reloc_iter", sizeof(pcache_reloc_iter), 304},
    {"pcache_bind_options", sizeof(pcache_bind_options), 72},
    {"pcache_bound_image", sizeof(pcache_bound_image), 168},
    {"pcache_build_id", sizeof(pcache_build_id), 68},
    {"pcache_dpc_module", sizeof(pcache_dpc_module), 72},
    {"pcache_dpc_header", sizeof(pcache_dpc_header), 280},
    {"pcache_dpc_span", sizeof(pcache_dpc_span), 16},
    {"pcache_dpc_string", sizeof(pcache_dpc_string), 16},
    {"pcache_dpc", sizeof(pcache_dpc), 1048},
    {"pcache_dpc_found", sizeof(pcache_dpc_found), 3592},
    {"pcache_dpc_scan", sizeof(pcache_dpc_scan), 24},
    {"pcache_file_ops", sizeof(pcache_file_ops), 80},
    {"pcache_save_options", sizeof(pcache_save_options), 24},
    {"pcache_open_options", sizeof(pcache_open_options), 16},
    {"pcache_file", sizeof(pcache_file), 9664},
    {"pcache_dr_unit", sizeof(pcache_dr_unit), 48},
    {"pcache_dr_cache", sizeof(pcache_dr_cache), 40},
    {"pcache_dr_config", sizeof(pcache_dr_config), 80},
};

static void public_struct_sizes_pinned(void **state)
{
    (void)state;
#if defined(__x86_64__) && defined(__LP64__) && defined(__linux__)
    int changed = 0;
    for (size_t i = 0; i < sizeof structs / sizeof structs[0]; i++)
        if (structs[i].size != structs[i].pinned) {
            print_message("%s is %zu bytes, pinned at %zu: an ABI change; bump soversion in meson.build and "
                          "update tests/test_abi.c\n",
                          structs[i].name, structs[i].size, structs[i].pinned);
            changed = 1;
        }
    assert_false(changed);
#else
    skip(); /* sizes are pinned for x86-64 Linux, where the project is built and tested */
#endif
}

/* Status numbers are frozen too (FORMAT.md 2.7; tests/test_spec.c checks
 * each); the enum is an int. */
static void status_is_an_int(void **state)
{
    (void)state;
    assert_int_equal(sizeof(pcache_status), sizeof(int));
    assert_int_equal(sizeof(pcache_class), sizeof(int));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(public_struct_sizes_pinned),
        cmocka_unit_test(status_is_an_int),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
