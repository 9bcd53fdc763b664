/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Review 3 of the h-perf merge (56b333a..fd2e074): reproducers.
 *
 * persist into the library's buffer sink claims the whole segment in the
 * caller's buffer before any byte is stored (persist_direct,
 * lib/segment_write.c).  When persist then fails (a producer fails or
 * writes less than it promised), the sink's `used` still covers the whole
 * segment, though most of it was never written: the bytes there are
 * whatever the caller's buffer held.  Before the merge, `used` only
 * covered bytes the library had written (staged writes were not even
 * flushed on failure).  The test fills the buffer with two different
 * patterns and requires that [0, used) is the same after both failed
 * persists, i.e. that `used` covers only bytes the library wrote.
 */
#include "support.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failed_producer_leaves_no_unwritten_bytes_in_buffer_sink),
        cmocka_unit_test(short_producer_leaves_no_unwritten_bytes_in_buffer_sink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
