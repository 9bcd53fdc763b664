/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A persist that cannot write what size() promised fails, and says why:
 * producers writing too little or too much, producers and sinks failing,
 * sinks too small, calls out of order.  A later persist through a good
 * sink still succeeds.
 */
#include "support.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

#define PROMISED 100u

static uint8_t pattern[4 * PROMISED];

/* Writes `total` bytes in two pieces, then returns `rc`. */
typedef struct misbehaving {
    uint64_t total;
    int rc;
} misbehaving;

static int produce_misbehaving(void *ctx, pcache_writer *w)
{
    const misbehaving *m = ctx;
    uint64_t half = m->total / 2;

    pcache_writer_write(w, pattern, (size_t)half);
    pcache_writer_write(w, pattern + half, (size_t)(m->total - half));
    return m->rc;
}

static pcache_builder *builder_with_producer(misbehaving *m)
{
    pcache_identity id;
    pcache_builder *b;

    test_fill(pattern, sizeof pattern, 3);
    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "before", pattern, 30, 4, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add_produced(b, PCACHE_RX, "made", PROMISED, 8, 0, produce_misbehaving, m),
                     PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "after", pattern, 7, 1, 0), PCACHE_OK);
    return b;
}

/* Persists into a buffer of the promised size; returns the status. */
static pcache_status persist_once(pcache_builder *b, uint64_t file_offs, uint64_t *size)
{
    pcache_buffer_sink bs;
    pcache_sink sink;
    void *block;
    uint8_t *p;
    pcache_status st;

    assert_int_equal(pcache_builder_size(b, PCACHE_RX, file_offs, size), PCACHE_OK);
    p = test_alloc_at(file_offs, *size, &block);
    sink = pcache_sink_buffer(&bs, p, (size_t)*size);
    st = pcache_builder_persist(b, PCACHE_RX, &sink);
    assert_true(bs.used <= *size);
    if (st == PCACHE_OK) {
        pcache_expect exp;
        pcache_segment seg;
        const uint8_t *map = p;
        assert_int_equal(bs.used, *size);
        pcache_expect_init(&exp, pcache_builder_identity(b));
        assert_int_equal(pcache_resurrect(&seg, PCACHE_RX, &map, *size, &exp, NULL), PCACHE_OK);
    }
    free(block);
    return st;
}

static void producer_writes_wrong_amount(void **state)
{
    static const uint64_t amounts[] = {0, 1, PROMISED / 2, PROMISED - 1, PROMISED + 1, 2 * PROMISED,
                                       4 * PROMISED};
    (void)state;

    for (size_t k = 0; k < sizeof amounts / sizeof amounts[0]; k++) {
        misbehaving m = {amounts[k], 0};
        pcache_builder *b = builder_with_producer(&m);
        const pcache_report *r = pcache_builder_report(b);
        uint64_t size, fo;

        assert_int_equal(persist_once(b, 0x3001, &size), PCACHE_E_PERSIST_SIZE);
        test_assert_report(r, PCACHE_E_PERSIST_SIZE);
        assert_int_equal(r->cls, PCACHE_RX);
        assert_string_equal(r->section, "made");
        test_assert_values(r, PROMISED, amounts[k]);
        assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RX, "made", &fo), PCACHE_OK);
        assert_int_equal(r->offset, fo - 0x3001);

        /* the same builder persists once the producer behaves */
        m.total = PROMISED;
        assert_int_equal(persist_once(b, 0x3001, &size), PCACHE_OK);
        assert_int_equal(pcache_builder_report(b)->status, PCACHE_OK);
        pcache_builder_free(b);
    }
}

static void producer_fails(void **state)
{
    static const uint64_t amounts[] = {0, PROMISED / 2, PROMISED};
    (void)state;

    /* A failing producer is reported as such, however much it wrote. */
    for (size_t k = 0; k < sizeof amounts / sizeof amounts[0]; k++) {
        misbehaving m = {amounts[k], 5};
        pcache_builder *b = builder_with_producer(&m);
        uint64_t size;

        assert_int_equal(persist_once(b, 0, &size), PCACHE_E_SINK);
        test_assert_report(pcache_builder_report(b), PCACHE_E_SINK);
        assert_string_equal(pcache_builder_report(b)->section, "made");
        pcache_builder_free(b);
    }
}

static void persist_before_size(void **state)
{
    misbehaving m = {PROMISED, 0};
    pcache_builder *b = builder_with_producer(&m);
    uint8_t out[64];
    pcache_buffer_sink bs;
    pcache_sink sink = pcache_sink_buffer(&bs, out, sizeof out);
    uint64_t size;
    (void)state;

    assert_int_equal(pcache_builder_persist(b, PCACHE_RX, &sink), PCACHE_E_STATE);
    test_assert_report(pcache_builder_report(b), PCACHE_E_STATE);
    assert_int_equal(bs.used, 0);

    /* a section added after size() needs a new size() */
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, 0, &size), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "late", pattern, 1, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_persist(b, PCACHE_RX, &sink), PCACHE_E_STATE);
    assert_int_equal(bs.used, 0);

    /* and so do new segment flags */
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, 0, &size), PCACHE_OK);
    assert_int_equal(pcache_builder_set_segment_flags(b, PCACHE_RX, PCACHE_SEGMENT_PAGE_ROUNDED), PCACHE_OK);
    assert_int_equal(pcache_builder_persist(b, PCACHE_RX, &sink), PCACHE_E_STATE);
    assert_int_equal(bs.used, 0);

    /* size() of one class does not size another */
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "w", pattern, 1, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, 0, &size), PCACHE_OK);
    assert_int_equal(pcache_builder_persist(b, PCACHE_RW, &sink), PCACHE_E_STATE);
    pcache_builder_free(b);
}

/* A sink that fails on its nth call, and counts what it accepted. */
typedef struct failing_sink {
    int calls, fail_at;
    uint64_t accepted;
} failing_sink;

static int failing_write(void *ctx, const void *buf, size_t len)
{
    failing_sink *f = ctx;
    (void)buf;
    if (++f->calls == f->fail_at)
        return EIO;
    f->accepted += len;
    return 0;
}

static void sink_fails_at_each_call(void **state)
{
    misbehaving m = {PROMISED, 0};
    pcache_builder *b = builder_with_producer(&m);
    uint64_t size;
    int calls;
    (void)state;

    /* a big section makes persist call the sink several times */
    uint8_t *big = calloc(1, 300000);
    assert_non_null(big);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "big", big, 300000, 64, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_segment_flags(b, PCACHE_RX, PCACHE_SEGMENT_PAGE_ROUNDED), PCACHE_OK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, 0x10, &size), PCACHE_OK);
    {
        failing_sink f = {0, 0, 0};
        pcache_sink sink = {failing_write, &f};
        assert_int_equal(pcache_builder_persist(b, PCACHE_RX, &sink), PCACHE_OK);
        assert_int_equal(f.accepted, size);
        calls = f.calls;
        assert_true(calls >= 3);
    }
    for (int at = 1; at <= calls; at++) {
        failing_sink f = {0, at, 0};
        pcache_sink sink = {failing_write, &f};
        const pcache_report *r = pcache_builder_report(b);

        assert_int_equal(pcache_builder_persist(b, PCACHE_RX, &sink), PCACHE_E_SINK);
        test_assert_report(r, PCACHE_E_SINK);
        assert_int_equal(r->sys_errno, EIO);
        assert_int_equal(f.calls, at); /* nothing written after a failure */
        assert_true(f.accepted < size);
    }
    free(big);
    pcache_builder_free(b);
}

static void buffer_sink_too_small(void **state)
{
    misbehaving m = {PROMISED, 0};
    pcache_builder *b = builder_with_producer(&m);
    uint64_t size;
    uint8_t *buf;
    (void)state;

    assert_int_equal(pcache_builder_size(b, PCACHE_RX, 8, &size), PCACHE_OK);
    buf = malloc((size_t)size);
    assert_non_null(buf);
    for (uint64_t cap = 0; cap < size; cap += (cap < 300 ? 1 : 37)) {
        pcache_buffer_sink bs;
        pcache_sink sink = pcache_sink_buffer(&bs, buf, (size_t)cap);
        assert_int_equal(pcache_builder_persist(b, PCACHE_RX, &sink), PCACHE_E_SINK);
        assert_int_equal(pcache_builder_report(b)->sys_errno, ENOSPC);
        assert_true(bs.used <= cap);
    }
    {
        pcache_buffer_sink bs;
        pcache_sink sink = pcache_sink_buffer(&bs, buf, (size_t)size);
        assert_int_equal(pcache_builder_persist(b, PCACHE_RX, &sink), PCACHE_OK);
        assert_int_equal(bs.used, size);
    }
    free(buf);
    pcache_builder_free(b);
}

static void file_write_sink_fails(void **state)
{
    pcache_builder *b = test_reference_builder(PCACHE_CHECKSUM_XXH3_64);
    uint64_t size, written = 77;
    int calls;
    (void)state;

    assert_int_equal(pcache_file_size(b, &size), PCACHE_OK);
    {
        failing_sink f = {0, 0, 0};
        pcache_sink sink = {failing_write, &f};
        assert_int_equal(pcache_file_write_sink(b, &sink, &written), PCACHE_OK);
        assert_int_equal(written, size);
        assert_int_equal(f.accepted, size);
        calls = f.calls;
    }
    for (int at = 1; at <= calls; at++) {
        failing_sink f = {0, at, 0};
        pcache_sink sink = {failing_write, &f};
        written = 77;
        assert_int_equal(pcache_file_write_sink(b, &sink, &written), PCACHE_E_SINK);
        assert_int_equal(written, 77);
        test_assert_report(pcache_builder_report(b), PCACHE_E_SINK);
        assert_int_equal(pcache_builder_report(b)->sys_errno, EIO);
        assert_int_equal(f.calls, at);
    }
    pcache_builder_free(b);
}

/* Whatever the offset, the sink receives exactly what size() said. */
static void sink_receives_exactly_size(void **state)
{
    misbehaving m = {PROMISED, 0};
    pcache_builder *b = builder_with_producer(&m);
    (void)state;

    for (uint32_t flags = 0; flags <= 1; flags++) {
        assert_int_equal(pcache_builder_set_segment_flags(b, PCACHE_RX, flags), PCACHE_OK);
        for (uint64_t f = 0; f < 300; f += 7) {
            failing_sink fs = {0, 0, 0};
            pcache_sink sink = {failing_write, &fs};
            uint64_t size;
            assert_int_equal(pcache_builder_size(b, PCACHE_RX, f * 13, &size), PCACHE_OK);
            assert_int_equal(pcache_builder_persist(b, PCACHE_RX, &sink), PCACHE_OK);
            assert_int_equal(fs.accepted, size);
        }
    }
    pcache_builder_free(b);
}

static void persist_bad_arguments(void **state)
{
    misbehaving m = {PROMISED, 0};
    pcache_builder *b = builder_with_producer(&m);
    pcache_sink null_write = {NULL, NULL};
    uint8_t out[8];
    pcache_buffer_sink bs;
    pcache_sink sink = pcache_sink_buffer(&bs, out, sizeof out);
    uint64_t size;
    (void)state;

    assert_int_equal(pcache_builder_size(b, PCACHE_RX, 0, &size), PCACHE_OK);
    assert_int_equal(pcache_builder_persist(NULL, PCACHE_RX, &sink), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_persist(b, PCACHE_RX, NULL), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_persist(b, PCACHE_RX, &null_write), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_persist(b, (pcache_class)3, &sink), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_size(b, (pcache_class)-1, 0, &size), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, 0, NULL), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_writer_write(NULL, out, 1), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(bs.used, 0);
    pcache_builder_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(producer_writes_wrong_amount),
        cmocka_unit_test(producer_fails),
        cmocka_unit_test(persist_before_size),
        cmocka_unit_test(sink_fails_at_each_call),
        cmocka_unit_test(buffer_sink_too_small),
        cmocka_unit_test(file_write_sink_fails),
        cmocka_unit_test(sink_receives_exactly_size),
        cmocka_unit_test(persist_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
