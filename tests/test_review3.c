/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Review 3 of the h-perf merge (56b333a..fd2e074): reproducers.
 *
 * persist into the library's buffer sink claims the whole segment in the
 * caller's buffer before any byte is stored (persist_direct,
 * lib/segment/segment_write.c).  When persist then fails (a producer fails or
 * writes less than it promised), the sink's `used` still covers the whole
 * segment, though most of it was never written: the bytes there are
 * whatever the caller's buffer held.  Before the merge, `used` only
 * covered bytes the library had written (staged writes were not even
 * flushed on failure).  The test fills the buffer with two different
 * patterns and requires that [0, used) is the same after both failed
 * persists, i.e. that `used` covers only bytes the library wrote.
 */
#include "support.h"

#include "pcache/reloc.h"

#include <string.h>

static int produce_fails(void *ctx, pcache_writer *w)
{
    static const uint8_t some[16] = {1, 2, 3};
    (void)ctx;
    (void)pcache_writer_write(w, some, sizeof some);
    return -5;
}

static int produce_short(void *ctx, pcache_writer *w)
{
    static const uint8_t some[16] = {4, 5, 6};
    (void)ctx;
    (void)pcache_writer_write(w, some, sizeof some);
    return 0; /* promised 4096 */
}

static size_t failed_persist_used(pcache_produce_fn produce, uint8_t fill, uint8_t *buf, size_t cap,
                                  pcache_status *st)
{
    pcache_identity id;
    pcache_builder *b;
    pcache_buffer_sink bs;
    pcache_sink sink;
    uint64_t size;
    static const uint8_t a[100] = {9};

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "a", a, sizeof a, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add_produced(b, PCACHE_RO, "p", 4096, 8, 0, produce, NULL), PCACHE_OK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, 0, &size), PCACHE_OK);
    assert_true(size <= cap);
    memset(buf, fill, cap);
    sink = pcache_sink_buffer(&bs, buf, cap);
    *st = pcache_builder_persist(b, PCACHE_RO, &sink);
    pcache_builder_free(b);
    return bs.used;
}

static void check_failed_persist(pcache_produce_fn produce)
{
    static uint8_t x[3 * 8192], y[3 * 8192];
    size_t cap = sizeof x;
    pcache_status sx, sy;
    size_t ux, uy;

    ux = failed_persist_used(produce, 0xaa, x, cap, &sx);
    uy = failed_persist_used(produce, 0x55, y, cap, &sy);
    assert_int_not_equal(sx, PCACHE_OK);
    assert_int_equal(sx, sy);
    assert_int_equal(ux, uy);
    /* every byte the sink says was written, was written by the library */
    assert_memory_equal(x, y, ux);
}

static void failed_producer_leaves_no_unwritten_bytes_in_buffer_sink(void **state)
{
    (void)state;
    check_failed_persist(produce_fails);
}

static void short_producer_leaves_no_unwritten_bytes_in_buffer_sink(void **state)
{
    (void)state;
    check_failed_persist(produce_short);
}


/* Pre-existing (the same in 56b333a), found while checking the new mixed
 * rel32/abs64 writing pass: when a .relocs record changed after resurrect
 * makes the writing pass stop on a value out of range (STOP_VALUE), the
 * fields of the records before it have been written, the one documented
 * exception to all or nothing (lib/reloc/reloc_apply.c, docs/FORMAT.md 9.8).
 * The only way the caller learns that dst was modified is the message,
 * which said so in a suffix that report_fail() cut off (it formatted the
 * text into a 200-byte buffer first).  The note now leads the message
 * ("the records before it already written into dst: ") and the buffer is
 * the message's size.  The test requires the report to say so whenever
 * dst changed. */
static int resolve_shift(void *ctx, const char *name, uint64_t stored, uint64_t *out)
{
    (void)ctx;
    (void)name;
    *out = stored + 0x1000;
    return 0;
}

static void add_patch(pcache_builder *b, pcache_patch p)
{
    if (pcache_builder_add_patch(b, &p) != PCACHE_OK)
        fail_msg("add_patch: %s", pcache_builder_report(b)->message);
}

static void partial_write_is_reported(void **state)
{
    static uint8_t code[256], consts[64], vars[64], seg_bytes[8192] __attribute__((aligned(4096))), orig[8192],
        dst[8192];
    pcache_identity id;
    pcache_builder *b;
    pcache_buffer_sink bs;
    pcache_sink sink;
    pcache_expect exp;
    pcache_segment seg;
    pcache_report rep;
    pcache_view rv;
    const uint8_t *mp = seg_bytes;
    uint64_t s0, s1, s2;
    pcache_status st;
    (void)state;

    memset(&id, 0, sizeof id);
    strcpy(id.client_name, "review3");
    id.byte_order = PCACHE_LITTLE_ENDIAN;
    id.pointer_size = 8;
    id.page_size = 4096;
    id.checksum = PCACHE_CHECKSUM_XXH3_64;
    id.module_base = 0x400000;
    id.module_size = 0x100000;
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "consts", consts, sizeof consts, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", code, sizeof code, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "vars", vars, sizeof vars, 8, 0), PCACHE_OK);
    /* the test changes a byte of a 48-byte record: force that form */
    assert_int_equal(pcache_builder_set_reloc_form(b, PCACHE_RELOC_FORM_RECORDS), PCACHE_OK);
    {
        pcache_patch a = {.cls = PCACHE_RX, .section = "code", .offset = 0x00, .kind = PCACHE_RELOC_ABS64,
                          .target_kind = PCACHE_TARGET_SECTION, .target_class = PCACHE_RO,
                          .target_section = "consts", .target_offset = 8};
        pcache_patch r = {.cls = PCACHE_RX, .section = "code", .offset = 0x30, .kind = PCACHE_RELOC_REL32,
                          .pc_offset = 4, .target_kind = PCACHE_TARGET_ANCHOR, .anchor = "module",
                          .target_offset = 0x20};
        add_patch(b, a);
        add_patch(b, r);
    }
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, 0x1000, &s0), PCACHE_OK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, 0x2000, &s1), PCACHE_OK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RW, 0x4000, &s2), PCACHE_OK);
    assert_true(s1 <= sizeof seg_bytes);
    sink = pcache_sink_buffer(&bs, seg_bytes, sizeof seg_bytes);
    assert_int_equal(pcache_builder_persist(b, PCACHE_RX, &sink), PCACHE_OK);
    pcache_builder_free(b);
    memcpy(orig, seg_bytes, s1);
    pcache_expect_init(&exp, &id);
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RX, &mp, s1, &exp, &rep), PCACHE_OK);
    assert_int_equal(pcache_segment_find(&seg, ".relocs", &rv, &rep), PCACHE_OK);
    assert_true(rv.size >= 2 * PCACHE_RELOC_RECORD_SIZE);
    /* the rel32 record (the second) now has a target offset that cannot
     * reach: changed under its checksum after resurrect */
    seg_bytes[rv.offset + PCACHE_RELOC_RECORD_SIZE + 28] ^= 0x01;
    memcpy(dst, orig, s1);
    st = pcache_reloc_apply(&seg, dst, 0x400000, resolve_shift, NULL, &rep);
    assert_int_equal(st, PCACHE_E_SEGMENT_CHANGED);
    if (memcmp(dst, orig, s1) != 0 && !strstr(rep.message, "written"))
        fail_msg("dst was written, but the report does not say so: %s", rep.message);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failed_producer_leaves_no_unwritten_bytes_in_buffer_sink),
        cmocka_unit_test(short_producer_leaves_no_unwritten_bytes_in_buffer_sink),
        cmocka_unit_test(partial_write_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
