/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Persist writes the same bytes whatever the sink.  Into the library's own
 * buffer sink, section bytes are hashed and copied in one pass straight
 * into the buffer (lib/segment/segment_write.c, emit()); into any other sink they
 * are hashed, then handed to its write().  The two must agree byte for
 * byte, for both checksum algorithms, for sections around the sizes where
 * the writer changes strategy (the 8 KiB stage, its 4 KiB half, the
 * 256 KiB chunk), with patch sites inside large sections, and for several
 * segments persisted one after another into the same sink.  A buffer sink
 * one byte too small fails with ENOSPC and writes nothing past its end.
 */
#include "support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcache/reloc.h"

/* A sink that is not the library's: it appends to a growing buffer. */
typedef struct other_sink {
    uint8_t *buf;
    size_t used, cap;
} other_sink;

static int other_write(void *ctx, const void *buf, size_t len)
{
    other_sink *s = ctx;
    if (s->used + len > s->cap) {
        size_t cap = (s->used + len) * 2;
        uint8_t *p = realloc(s->buf, cap);
        if (!p)
            return ENOMEM;
        s->buf = p;
        s->cap = cap;
    }
    memcpy(s->buf + s->used, buf, len);
    s->used += len;
    return 0;
}

static const uint64_t section_sizes[] = {1, 4095, 4096, 4097, 8191, 8193, 262143, 262145, 600001, 1048576 + 13};
#define NSEC (sizeof section_sizes / sizeof section_sizes[0])

typedef struct image {
    pcache_builder *b;
    uint8_t *data[NSEC];
} image;

static void build(image *im, pcache_checksum_algorithm algo)
{
    pcache_identity id;
    static const uint32_t aligns[] = {1, 8, 64, 4096};
    char name[16];

    test_identity_with_module(&id, algo);
    assert_int_equal(pcache_builder_new(&im->b, &id), PCACHE_OK);
    for (size_t i = 0; i < NSEC; i++) {
        pcache_class cls = i % 2 ? PCACHE_RX : PCACHE_RO;
        im->data[i] = malloc((size_t)section_sizes[i]);
        assert_non_null(im->data[i]);
        test_fill(im->data[i], (size_t)section_sizes[i], (uint32_t)(i + 1) * (uint32_t)algo);
        snprintf(name, sizeof name, "s%zu", i);
        assert_int_equal(pcache_builder_add(im->b, cls, name, im->data[i], section_sizes[i],
                                            aligns[i % 4], 0),
                         PCACHE_OK);
    }
    /* Patch sites inside the largest sections, one straddling the 256 KiB
     * chunk boundary: their bytes are substituted as the section streams. */
    {
        pcache_patch p;
        memset(&p, 0, sizeof p);
        p.cls = PCACHE_RX;
        p.section = "s9";
        p.offset = 262144 - 3;
        p.kind = PCACHE_RELOC_ABS64;
        p.target_kind = PCACHE_TARGET_SECTION;
        p.target_class = PCACHE_RO;
        p.target_section = "s8";
        p.target_offset = 12345;
        assert_int_equal(pcache_builder_add_patch(im->b, &p), PCACHE_OK);
        p.offset = 700000;
        p.kind = PCACHE_RELOC_REL32;
        p.pc_offset = 4;
        p.target_class = PCACHE_RX;
        p.target_section = "s7";
        p.target_offset = 5;
        assert_int_equal(pcache_builder_add_patch(im->b, &p), PCACHE_OK);
    }
}

static void destroy(image *im)
{
    pcache_builder_free(im->b);
    for (size_t i = 0; i < NSEC; i++)
        free(im->data[i]);
}

static void same_bytes_through_both_sinks(pcache_checksum_algorithm algo)
{
    image im;
    uint64_t ro, rx, offs;
    uint8_t *mem;
    pcache_buffer_sink bs;
    pcache_sink buffer_sink, other;
    other_sink os = {NULL, 0, 0};

    build(&im, algo);
    other.write = other_write;
    other.ctx = &os;
    assert_int_equal(pcache_builder_size(im.b, PCACHE_RO, 0, &ro), PCACHE_OK);
    offs = (ro + TEST_PAGE - 1) / TEST_PAGE * TEST_PAGE;
    assert_int_equal(pcache_builder_size(im.b, PCACHE_RX, offs, &rx), PCACHE_OK);

    /* Both segments into one sink of each kind, one after the other. */
    mem = malloc((size_t)(ro + rx));
    assert_non_null(mem);
    buffer_sink = pcache_sink_buffer(&bs, mem, (size_t)(ro + rx));
    assert_int_equal(pcache_builder_persist(im.b, PCACHE_RO, &buffer_sink), PCACHE_OK);
    assert_int_equal(bs.used, ro);
    assert_int_equal(pcache_builder_persist(im.b, PCACHE_RX, &buffer_sink), PCACHE_OK);
    assert_int_equal(bs.used, ro + rx);
    assert_int_equal(pcache_builder_persist(im.b, PCACHE_RO, &other), PCACHE_OK);
    assert_int_equal(pcache_builder_persist(im.b, PCACHE_RX, &other), PCACHE_OK);
    assert_int_equal(os.used, ro + rx);
    assert_memory_equal(mem, os.buf, (size_t)(ro + rx));

    /* And the bytes are a valid image: every checksum verified. */
    {
        pcache_expect exp;
        pcache_segment seg;
        pcache_report rep;
        void *block;
        uint8_t *at = test_copy_at(mem + ro, rx, offs, &block);
        const uint8_t *map = at;
        test_expect_all(&exp, pcache_builder_identity(im.b), PCACHE_VALIDATE_FULL);
        if (pcache_resurrect(&seg, PCACHE_RX, &map, rx, &exp, &rep) != PCACHE_OK)
            fail_msg("resurrect: %s", rep.message);
        free(block);
        at = test_copy_at(mem, ro, 0, &block);
        map = at;
        if (pcache_resurrect(&seg, PCACHE_RO, &map, ro, &exp, &rep) != PCACHE_OK)
            fail_msg("resurrect: %s", rep.message);
        free(block);
    }
    free(os.buf);
    free(mem);
    destroy(&im);
}

static void same_bytes_xxh3(void **state)
{
    (void)state;
    same_bytes_through_both_sinks(PCACHE_CHECKSUM_XXH3_64);
}

static void same_bytes_crc32(void **state)
{
    (void)state;
    same_bytes_through_both_sinks(PCACHE_CHECKSUM_CRC32);
}

/* A buffer one byte short, wherever the shortfall lands: the persist fails
 * with ENOSPC and the guard bytes after the buffer stay untouched. */
static void buffer_too_small(void **state)
{
    image im;
    uint64_t ro, shortfalls[3];
    (void)state;

    build(&im, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_size(im.b, PCACHE_RO, 0, &ro), PCACHE_OK);
    shortfalls[0] = 1;
    shortfalls[1] = section_sizes[8] / 2; /* inside the largest ro section */
    shortfalls[2] = ro - 300;             /* inside the header and table */
    for (size_t k = 0; k < 3; k++) {
        size_t cap = (size_t)(ro - shortfalls[k]);
        uint8_t *mem = malloc(cap + 64);
        pcache_buffer_sink bs;
        pcache_sink sink;
        assert_non_null(mem);
        memset(mem + cap, 0x5A, 64);
        sink = pcache_sink_buffer(&bs, mem, cap);
        assert_int_equal(pcache_builder_persist(im.b, PCACHE_RO, &sink), PCACHE_E_SINK);
        assert_int_equal(pcache_builder_report(im.b)->sys_errno, ENOSPC);
        assert_true(bs.used <= cap);
        for (size_t i = 0; i < 64; i++)
            assert_int_equal(mem[cap + i], 0x5A);
        free(mem);
    }
    destroy(&im);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_bytes_xxh3),
        cmocka_unit_test(same_bytes_crc32),
        cmocka_unit_test(buffer_too_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
