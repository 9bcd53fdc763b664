/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The canonical layout (docs/FORMAT.md 3.6) at many file offsets and
 * alignments, through layout_segment() and through the builder's public
 * size and section-offset calls.  Each result is checked against
 * properties computed here, which together pin the layout down: every
 * section on its alignment with a gap shorter than it, the trailer on 8
 * bytes with a gap shorter than 8, the page-rounded end the first page
 * boundary after the trailer.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "format.h"
#include "layout.h"

typedef unsigned __int128 u128;

#define MAX_ITEMS 16

typedef struct config {
    uint32_t n;
    uint32_t align[MAX_ITEMS];
    uint64_t size[MAX_ITEMS];
} config;

static const config configs[] = {
    {2, {1, 16}, {10, 20}}, /* the worked example of FORMAT.md */
    {13, {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096},
     {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25}},
    {13, {4096, 2048, 1024, 512, 256, 128, 64, 32, 16, 8, 4, 2, 1},
     {4095, 1, 0, 2, 100, 3, 0, 5, 17, 1, 0, 9, 1}},
    {4, {4096, 1, 2048, 8}, {0, 0, 5, 0}},
    {1, {1}, {0}},
    {1, {4096}, {1}},
    {3, {8, 8, 8}, {8, 16, 24}},
    {5, {2, 64, 1, 512, 32}, {1, 63, 6000, 1, 33}},
};

static const uint32_t pages[] = {4096, 65536};

/* Checks a layout against the properties that define it.  F + offsets are
 * formed in 128 bits: the check must not share the library's arithmetic. */
static void check_properties(uint64_t F, const config *c, const uint64_t *off, uint64_t trailer, uint64_t size,
                             int rounded, uint32_t page)
{
    uint64_t end = SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * c->n;
    uint64_t unrounded;

    for (uint32_t i = 0; i < c->n; i++) {
        assert_true(off[i] >= end);                    /* in order, no overlap */
        assert_true(off[i] - end < c->align[i]);       /* no more gap than needed */
        assert_true(((u128)F + off[i]) % c->align[i] == 0); /* aligned in the file */
        end = off[i] + c->size[i];
    }
    assert_true(trailer >= end);
    assert_true(trailer - end < SEG_TRAILER_ALIGN);
    assert_true(((u128)F + trailer) % SEG_TRAILER_ALIGN == 0);
    unrounded = trailer + (uint64_t)SEG_TRAILER_ENTRY_SIZE * c->n;
    assert_true(((u128)F + unrounded) % SEG_END_ALIGN == 0);
    if (!rounded) {
        assert_int_equal(size, unrounded);
    } else {
        assert_true(size >= unrounded);
        assert_true(size - unrounded < page);          /* the smallest such size */
        assert_true(((u128)F + size) % page == 0);     /* ends on a page boundary */
    }
    /* never a wrapped, small size */
    assert_true((u128)F + size <= UINT64_MAX);
}

/* The exact end of the segment in the file, in 128 bits: the layout fits
 * if and only if this is at most 2^64 - 1. */
static u128 exact_end(uint64_t F, const config *c, int rounded, uint32_t page)
{
    u128 abs = (u128)F + SEG_HEADER_SIZE + (u128)SEG_ENTRY_SIZE * c->n;
    for (uint32_t i = 0; i < c->n; i++) {
        abs = (abs + c->align[i] - 1) / c->align[i] * c->align[i];
        abs += c->size[i];
    }
    abs = (abs + 7) / 8 * 8 + (u128)SEG_TRAILER_ENTRY_SIZE * c->n;
    if (rounded)
        abs = (abs + page - 1) / page * page;
    return abs;
}

static void check_layout_segment(uint64_t F, const config *c, int rounded, uint32_t page)
{
    layout_item items[MAX_ITEMS];
    layout_result res;
    uint64_t off[MAX_ITEMS];
    uint32_t bad = 12345;
    pcache_status st;
    int fits = exact_end(F, c, rounded, page) <= UINT64_MAX;

    for (uint32_t i = 0; i < c->n; i++) {
        items[i].align = c->align[i];
        items[i].stored_size = c->size[i];
        items[i].offset = 0;
    }
    st = layout_segment(F, items, c->n, rounded, page, &res, &bad);
    if (!fits) {
        assert_int_equal(st, PCACHE_E_OVERFLOW);
        assert_true(bad <= c->n);
        return;
    }
    assert_int_equal(st, PCACHE_OK);
    for (uint32_t i = 0; i < c->n; i++)
        off[i] = items[i].offset;
    assert_int_equal(res.table_end, SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * c->n);
    assert_int_equal(res.trailer_end, res.trailer_offset + (uint64_t)SEG_TRAILER_ENTRY_SIZE * c->n);
    check_properties(F, c, off, res.trailer_offset, res.segment_size, rounded, page);
}

static pcache_builder *config_builder(const config *c, uint32_t page, int rounded)
{
    static uint8_t data[8192];
    pcache_identity id;
    pcache_builder *b;
    char name[16];

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    id.page_size = page;
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    for (uint32_t i = 0; i < c->n; i++) {
        snprintf(name, sizeof name, "s%u", i);
        assert_true(c->size[i] <= sizeof data);
        assert_int_equal(pcache_builder_add(b, PCACHE_RO, name, data, c->size[i], c->align[i], 0), PCACHE_OK);
    }
    if (rounded)
        assert_int_equal(pcache_builder_set_segment_flags(b, PCACHE_RO, PCACHE_SEGMENT_PAGE_ROUNDED), PCACHE_OK);
    return b;
}

/* Through the public API, which knows nothing of the trailer: its offset
 * is read back from the persisted header when the segment is small. */
static void check_builder(pcache_builder *b, uint64_t F, const config *c, int rounded, uint32_t page)
{
    uint64_t size = 0xdeadbeef, off[MAX_ITEMS], fo, trailer;
    char name[16];
    pcache_status st = pcache_builder_size(b, PCACHE_RO, F, &size);
    int fits = exact_end(F, c, rounded, page) <= UINT64_MAX;

    if (!fits) {
        assert_int_equal(st, PCACHE_E_OVERFLOW);
        assert_int_equal(size, 0xdeadbeef); /* no size, rather than a wrong one */
        test_assert_report(pcache_builder_report(b), PCACHE_E_OVERFLOW);
        assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, "s0", &fo), PCACHE_E_STATE);
        return;
    }
    assert_int_equal(st, PCACHE_OK);
    for (uint32_t i = 0; i < c->n; i++) {
        snprintf(name, sizeof name, "s%u", i);
        assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, name, &fo), PCACHE_OK);
        assert_true(fo >= F);
        off[i] = fo - F;
    }
    /* The trailer sits right after the last section, up to 8-alignment:
     * the property check below verifies that claim independently. */
    trailer = c->n ? off[c->n - 1] + c->size[c->n - 1] : SEG_HEADER_SIZE;
    trailer += (SEG_TRAILER_ALIGN - ((u128)F + trailer) % SEG_TRAILER_ALIGN) % SEG_TRAILER_ALIGN;
    check_properties(F, c, off, trailer, size, rounded, page);
}

/* Lays out every configuration at count file offsets from first, step
 * apart, with both page sizes, rounded and not. */
static void run_offsets(uint64_t first, uint64_t count, uint64_t step)
{
    for (size_t k = 0; k < sizeof configs / sizeof configs[0]; k++) {
        const config *c = &configs[k];
        for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++) {
            for (int rounded = 0; rounded <= 1; rounded++) {
                pcache_builder *b = config_builder(c, pages[p], rounded);
                for (uint64_t j = 0; j < count; j++) {
                    uint64_t F = first + j * step;
                    check_layout_segment(F, c, rounded, pages[p]);
                    check_builder(b, F, c, rounded, pages[p]);
                }
                pcache_builder_free(b);
            }
        }
    }
}

static void low_file_offsets(void **state)
{
    (void)state;
    run_offsets(0, 5001, 1);
}

static void file_offsets_near_2_64(void **state)
{
    (void)state;
    /* Every offset where small segments stop fitting below 2^64, then a
     * sparser sweep over where the larger ones and the 64 KiB-rounded ones
     * stop fitting. */
    run_offsets(UINT64_MAX - 5000, 5001, 1);
    run_offsets(UINT64_MAX - 20000, 2858, 7);
    run_offsets(UINT64_MAX - 65536 - 20000, 2858, 7);
}

static void scattered_file_offsets(void **state)
{
    static const uint64_t Fs[] = {1ull << 32, (1ull << 32) - 1, (1ull << 40) + 3, 1ull << 63, (1ull << 63) - 5,
                                  UINT64_MAX / 3, 0x7ffffffffffff001ull};
    (void)state;
    for (size_t i = 0; i < sizeof Fs / sizeof Fs[0]; i++)
        run_offsets(Fs[i], 70, 1);
}

/* docs/FORMAT.md 3.6, computed by hand. */
static void worked_example(void **state)
{
    const config *c = &configs[0];
    layout_item items[2] = {{1, 10, 0}, {16, 20, 0}};
    layout_result res;
    pcache_builder *b;
    uint64_t size, fo;
    (void)state;

    assert_int_equal(layout_segment(0x1003, items, 2, 0, 4096, &res, NULL), PCACHE_OK);
    assert_int_equal(items[0].offset, 0x180);
    assert_int_equal(items[1].offset, 0x18D);
    assert_int_equal(res.table_end, 0x180);
    assert_int_equal(res.trailer_offset, 0x1A5);
    assert_int_equal(res.trailer_end, 0x1C5);
    assert_int_equal(res.segment_size, 0x1C5);
    assert_int_equal(layout_segment(0x1003, items, 2, 1, 4096, &res, NULL), PCACHE_OK);
    assert_int_equal(res.trailer_offset, 0x1A5);
    assert_int_equal(res.segment_size, 0xFFD);

    b = config_builder(c, 4096, 0);
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, 0x1003, &size), PCACHE_OK);
    assert_int_equal(size, 0x1C5);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, "s0", &fo), PCACHE_OK);
    assert_int_equal(fo, 0x1003 + 0x180);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, "s1", &fo), PCACHE_OK);
    assert_int_equal(fo, 0x1003 + 0x18D);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, "s2", &fo), PCACHE_E_NOT_FOUND);
    pcache_builder_free(b);

    b = config_builder(c, 4096, 1);
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, 0x1003, &size), PCACHE_OK);
    assert_int_equal(size, 0xFFD);
    pcache_builder_free(b);
}

/* The same example persisted: the header states what the layout says, and
 * the gaps of the example are where it says. */
static void worked_example_bytes(void **state)
{
    static const uint8_t a[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    uint8_t bb[20];
    pcache_identity id;
    pcache_builder *b;
    uint64_t size;
    void *block;
    uint8_t *seg;
    (void)state;

    memset(bb, 0xee, sizeof bb);
    test_identity(&id, PCACHE_CHECKSUM_CRC32);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "a", a, sizeof a, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "b", bb, sizeof bb, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_segment_flags(b, PCACHE_RO, PCACHE_SEGMENT_PAGE_ROUNDED), PCACHE_OK);
    seg = test_persist(b, PCACHE_RO, 0x1003, &size, &block);
    assert_int_equal(size, 0xFFD);
    assert_memory_equal(seg, SEG_MAGIC, SEG_MAGIC_SIZE);
    assert_int_equal(ld64(seg + SH_FILE_OFFSET), 0x1003);
    assert_int_equal(ld32(seg + SH_SECTION_COUNT), 2);
    assert_int_equal(ld64(seg + SH_TRAILER_OFFSET), 0x1A5);
    assert_int_equal(ld64(seg + SH_SEGMENT_SIZE), 0xFFD);
    assert_int_equal(ld64(seg + SEG_HEADER_SIZE + SE_OFFSET), 0x180);
    assert_int_equal(ld64(seg + SEG_HEADER_SIZE + SEG_ENTRY_SIZE + SE_OFFSET), 0x18D);
    assert_memory_equal(seg + 0x180, a, sizeof a);
    assert_memory_equal(seg + 0x18D, bb, sizeof bb);
    for (uint64_t i = 0x18A; i < 0x18D; i++)
        assert_int_equal(seg[i], 0);
    for (uint64_t i = 0x1A1; i < 0x1A5; i++)
        assert_int_equal(seg[i], 0);
    for (uint64_t i = 0x1C5; i < 0xFFD; i++)
        assert_int_equal(seg[i], 0);
    /* CRC-32 is zero-extended: the first four bytes of each checksum are 0 */
    assert_int_equal(ld64be(seg + 0x1A5), pcache_checksum(PCACHE_CHECKSUM_CRC32, a, sizeof a));
    assert_int_equal(ld64be(seg + 0x1A5 + 16), pcache_checksum(PCACHE_CHECKSUM_CRC32, bb, sizeof bb));
    assert_int_equal(ld64be(seg + 0x1A5 + 8), 0);
    free(block);
    pcache_builder_free(b);
}

static void huge_section_sizes_overflow(void **state)
{
    static const uint64_t huge[] = {UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - 400, 1ull << 63,
                                    UINT64_MAX - 256 - 64 - 20};
    static const uint64_t Fs[] = {0, 1, 4096, 0x1003};
    pcache_identity id;
    uint8_t byte = 0;
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    for (size_t h = 0; h < sizeof huge / sizeof huge[0]; h++) {
        for (size_t f = 0; f < sizeof Fs / sizeof Fs[0]; f++) {
            /* a small section first, then the huge one, then a large one */
            config c = {3, {8, 16, 1}, {10, huge[h], UINT64_MAX / 2}};
            layout_item items[3];
            layout_result res;
            uint32_t bad = 99;
            pcache_builder *b;
            uint64_t size = 0xdeadbeef;

            for (int i = 0; i < 3; i++)
                items[i] = (layout_item){c.align[i], c.size[i], 0};
            assert_true(exact_end(Fs[f], &c, 0, TEST_PAGE) > UINT64_MAX);
            assert_int_equal(layout_segment(Fs[f], items, 3, 0, TEST_PAGE, &res, &bad), PCACHE_E_OVERFLOW);
            assert_in_range(bad, 1, 3);

            assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
            assert_int_equal(pcache_builder_add(b, PCACHE_RW, "small", &byte, 10, 8, 0), PCACHE_OK);
            assert_int_equal(pcache_builder_add(b, PCACHE_RW, "huge", &byte, huge[h], 16, 0), PCACHE_OK);
            assert_int_equal(pcache_builder_add(b, PCACHE_RW, "large", &byte, UINT64_MAX / 2, 1, 0), PCACHE_OK);
            assert_int_equal(pcache_builder_size(b, PCACHE_RW, Fs[f], &size), PCACHE_E_OVERFLOW);
            assert_int_equal(size, 0xdeadbeef);
            test_assert_report(pcache_builder_report(b), PCACHE_E_OVERFLOW);
            /* a failed size leaves nothing to persist */
            {
                pcache_buffer_sink bs;
                uint8_t out[16];
                pcache_sink sink = pcache_sink_buffer(&bs, out, sizeof out);
                assert_int_equal(pcache_builder_persist(b, PCACHE_RW, &sink), PCACHE_E_STATE);
                assert_int_equal(bs.used, 0);
            }
            pcache_builder_free(b);
        }
    }
}

/* The overflow report names the section that did not fit. */
static void overflow_report_names_section(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t size;
    uint8_t byte = 0;
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "first", &byte, 1ull << 63, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "second", &byte, 1ull << 63, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, 0, &size), PCACHE_E_OVERFLOW);
    assert_string_equal(pcache_builder_report(b)->section, "second");
    assert_int_equal(pcache_builder_report(b)->cls, PCACHE_RO);
    pcache_builder_free(b);
}

static void empty_class_has_no_segment(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t size = 77, fo;
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, 0x1003, &size), PCACHE_OK);
    assert_int_equal(size, 0);
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, UINT64_MAX, &size), PCACHE_OK);
    assert_int_equal(size, 0);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RX, "x", &fo), PCACHE_E_NOT_FOUND);
    pcache_builder_free(b);
}

/* docs/FORMAT.md 7.6 and the placement rule of 7.1. */
static void file_placement(void **state)
{
    file_layout fl;
    uint64_t sizes[PCACHE_CLASS_COUNT] = {0x1C8, 0, 0x158};
    uint64_t none[PCACHE_CLASS_COUNT] = {0, 0, 0};
    uint64_t big[PCACHE_CLASS_COUNT] = {UINT64_MAX - 4096, 0, 16};    /* rw offset wraps */
    uint64_t top[PCACHE_CLASS_COUNT] = {UINT64_MAX - 4096 - 31, 0, 0}; /* file size = 2^64 */
    uint64_t fits[PCACHE_CLASS_COUNT] = {UINT64_MAX - 4096 - 39, 0, 0};
    uint64_t three[PCACHE_CLASS_COUNT] = {4096, 1, 8};
    (void)state;

    assert_int_equal(layout_file(sizes, 4096, &fl), PCACHE_OK);
    assert_int_equal(fl.offset[PCACHE_RO], 0x1000);
    assert_int_equal(fl.offset[PCACHE_RX], 0);
    assert_int_equal(fl.offset[PCACHE_RW], 0x2000);
    assert_int_equal(fl.footer_offset, 0x2158);
    assert_int_equal(fl.file_size, 0x2178);

    assert_int_equal(layout_file(none, 4096, &fl), PCACHE_OK);
    assert_int_equal(fl.footer_offset, 4096);
    assert_int_equal(fl.file_size, 4096 + FILE_FOOTER_SIZE);

    assert_int_equal(layout_file(three, 4096, &fl), PCACHE_OK);
    assert_int_equal(fl.offset[PCACHE_RO], 4096);
    assert_int_equal(fl.offset[PCACHE_RX], 8192);
    assert_int_equal(fl.offset[PCACHE_RW], 12288);
    assert_int_equal(fl.footer_offset, 12296);

    assert_int_equal(layout_file(big, 4096, &fl), PCACHE_E_OVERFLOW);
    assert_int_equal(layout_file(top, 4096, &fl), PCACHE_E_OVERFLOW);
    assert_int_equal(layout_file(fits, 4096, &fl), PCACHE_OK);
    assert_int_equal(fl.file_size, UINT64_MAX - 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(worked_example),
        cmocka_unit_test(worked_example_bytes),
        cmocka_unit_test(low_file_offsets),
        cmocka_unit_test(file_offsets_near_2_64),
        cmocka_unit_test(scattered_file_offsets),
        cmocka_unit_test(huge_section_sizes_overflow),
        cmocka_unit_test(overflow_report_names_section),
        cmocka_unit_test(empty_class_has_no_segment),
        cmocka_unit_test(file_placement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
