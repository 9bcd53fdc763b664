/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Malformed segments and files, one defect at a time, each re-signed where
 * a checksum would otherwise catch it first, so that the check under test
 * is the one that fires (docs/FORMAT.md 4.2 and 7.4): header fields,
 * section table entries, non-canonical layouts, padding, misalignment,
 * hostile lengths read with the length unknown.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "format.h"

#define F_OFFS 0x1003u

static uint8_t sec_a[10], sec_b[20], sec_c[3];

/* ro at F_OFFS, page-rounded: "a" (10, align 1), "b" (20, align 16),
 * "c" (3, align 64); gaps before "b", before "c", before the trailer, and
 * after it. */
static pcache_builder *gappy_builder(void)
{
    pcache_identity id;
    pcache_builder *b;

    test_fill(sec_a, sizeof sec_a, 1);
    test_fill(sec_b, sizeof sec_b, 2);
    test_fill(sec_c, sizeof sec_c, 3);
    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "a", sec_a, sizeof sec_a, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "b", sec_b, sizeof sec_b, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "c", sec_c, sizeof sec_c, 64, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_segment_flags(b, PCACHE_RO, PCACHE_SEGMENT_PAGE_ROUNDED), PCACHE_OK);
    return b;
}

typedef struct fixture {
    pcache_builder *b;
    uint8_t *p;
    uint64_t size;
    void *block;
    pcache_expect exp;
    pcache_segment seg;
    pcache_report r;
} fixture;

static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->b = gappy_builder();
    f->p = test_persist(f->b, PCACHE_RO, F_OFFS, &f->size, &f->block);
    pcache_expect_init(&f->exp, pcache_builder_identity(f->b));
}

static void fixture_free(fixture *f)
{
    free(f->block);
    pcache_builder_free(f->b);
}

static pcache_status read_fixture(fixture *f, uint64_t available)
{
    const uint8_t *map = f->p;
    pcache_status st = pcache_resurrect(&f->seg, PCACHE_RO, &map, available, &f->exp, &f->r);
    assert_ptr_equal(map, st == PCACHE_OK ? f->p + f->size : f->p);
    return st;
}

/* Reads with the length known and unknown; both must give st, reported at
 * offset at. */
static void expect_refused(fixture *f, pcache_status st, uint64_t at, const char *what)
{
    uint64_t avail[2] = {f->size, PCACHE_SIZE_UNKNOWN};
    for (int k = 0; k < 2; k++) {
        pcache_status got = read_fixture(f, avail[k]);
        if (got != st)
            fail_msg("%s: %s (%s), expected %s", what, pcache_status_name(got), f->r.message,
                     pcache_status_name(st));
        test_assert_report(&f->r, st);
        if (f->r.offset != at)
            fail_msg("%s: reported at offset %llu, expected %llu (%s)", what, (unsigned long long)f->r.offset,
                     (unsigned long long)at, f->r.message);
        assert_int_equal(f->r.cls, PCACHE_RO);
    }
}

/* ---- header fields ---- */

/* How an edit changes the bytes. */
enum { SET, XOR };
#define AT_FIELD UINT64_MAX /* reported at the edited offset */

typedef struct header_edit {
    const char *what;
    uint32_t offset;
    unsigned width;
    int how;
    uint64_t value;
    pcache_status want;
    int resign;  /* 1: header and table, -1: header only, 0: not */
    uint64_t at; /* where the reader reports it */
} header_edit;

static const header_edit header_edits[] = {
    {"magic", SH_MAGIC + 1, 1, SET, 'Q', PCACHE_E_MAGIC, 1, SH_MAGIC},
    {"major 0", SH_MAJOR, 2, SET, 0, PCACHE_E_FORMAT_VERSION, 1, AT_FIELD},
    {"major 2", SH_MAJOR, 2, SET, 2, PCACHE_E_FORMAT_VERSION, 1, AT_FIELD},
    {"checksum 0", SH_CHECKSUM, 1, SET, 0, PCACHE_E_CHECKSUM_ALGORITHM, 0, AT_FIELD},
    {"checksum 3", SH_CHECKSUM, 1, SET, 3, PCACHE_E_CHECKSUM_ALGORITHM, 0, AT_FIELD},
    {"header checksum", SH_HEADER_CHECKSUM + 7, 1, XOR, 0x10, PCACHE_E_HEADER_CHECKSUM, 0, SH_HEADER_CHECKSUM},
    {"header size", SH_HEADER_SIZE, 2, SET, 255, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"entry size", SH_ENTRY_SIZE, 2, SET, 128, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"class 0", SH_CLASS, 1, SET, 0, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"class 4", SH_CLASS, 1, SET, 4, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"byte order 0", SH_BYTE_ORDER, 1, SET, 0, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"byte order 3", SH_BYTE_ORDER, 1, SET, 3, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"pointer size 0", SH_POINTER_SIZE, 1, SET, 0, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"pointer size 5", SH_POINTER_SIZE, 1, SET, 5, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"page size 0", SH_PAGE_SIZE, 4, SET, 0, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"page size 2048", SH_PAGE_SIZE, 4, SET, 2048, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"page size 4097", SH_PAGE_SIZE, 4, SET, 4097, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"page size 2^31", SH_PAGE_SIZE, 4, SET, 1u << 31, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"flags 2", SH_FLAGS, 2, SET, PCACHE_SEGMENT_PAGE_ROUNDED | 2, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"section count 1025", SH_SECTION_COUNT, 4, SET, PCACHE_MAX_SECTIONS + 1, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"section count 2^32-1", SH_SECTION_COUNT, 4, SET, UINT32_MAX, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"digest length 33", SH_DIGEST_LEN, 4, SET, PCACHE_MODULE_DIGEST_MAX + 1, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"digest length 2^32-1", SH_DIGEST_LEN, 4, SET, UINT32_MAX, PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"digest past its length", SH_MODULE_DIGEST + TEST_DIGEST_LEN, 1, SET, 9, PCACHE_E_PADDING, 1, AT_FIELD},
    {"client name empty", SH_CLIENT_NAME, 1, SET, 0, PCACHE_E_HEADER_FIELD, 1, SH_CLIENT_NAME},
    {"client name control", SH_CLIENT_NAME + 2, 1, SET, 0x1f, PCACHE_E_HEADER_FIELD, 1, SH_CLIENT_NAME},
    {"client name 0x7f", SH_CLIENT_NAME + 2, 1, SET, 0x7f, PCACHE_E_HEADER_FIELD, 1, SH_CLIENT_NAME},
    {"client name after NUL", SH_CLIENT_NAME + 40, 1, SET, 'x', PCACHE_E_HEADER_FIELD, 1, SH_CLIENT_NAME},
    {"client name without NUL", SH_CLIENT_NAME, 64, SET, 'n', PCACHE_E_HEADER_FIELD, 1, SH_CLIENT_NAME},
    {"reserved", SH_RESERVED + 20, 1, SET, 1, PCACHE_E_PADDING, 1, AT_FIELD},
    {"segment size below table", SH_SEGMENT_SIZE, 8, SET, SEG_HEADER_SIZE + 3 * SEG_ENTRY_SIZE - 1,
     PCACHE_E_HEADER_FIELD, 1, AT_FIELD},
    {"trailer offset", SH_TRAILER_OFFSET, 8, SET, 0x200, PCACHE_E_SECTION_TABLE, 1, AT_FIELD},
    {"trailer offset huge", SH_TRAILER_OFFSET, 8, SET, UINT64_MAX - 5, PCACHE_E_SECTION_TABLE, 1, AT_FIELD},
    /* "b" no longer on its alignment at this file offset */
    {"file offset", SH_FILE_OFFSET, 8, SET, F_OFFS + 1, PCACHE_E_SECTION_TABLE, 1,
     SEG_HEADER_SIZE + SEG_ENTRY_SIZE + SE_OFFSET},
    {"file offset near 2^64", SH_FILE_OFFSET, 8, SET, UINT64_MAX - 100, PCACHE_E_SECTION_TABLE, 1, AT_FIELD},
    {"table checksum", SH_TABLE_CHECKSUM + 3, 1, XOR, 0x42, PCACHE_E_TABLE_CHECKSUM, -1, SEG_HEADER_SIZE},
};

static void store(uint8_t *p, unsigned width, uint64_t v)
{
    switch (width) {
    case 1: p[0] = (uint8_t)v; break;
    case 2: st16(p, (uint16_t)v); break;
    case 4: st32(p, (uint32_t)v); break;
    case 8: st64(p, v); break;
    default: memset(p, (int)v, width); break; /* a whole name field */
    }
}

static void header_fields(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof header_edits / sizeof header_edits[0]; k++) {
        const header_edit *e = &header_edits[k];
        fixture f;

        fixture_init(&f);
        assert_int_equal(read_fixture(&f, f.size), PCACHE_OK);
        if (e->how == XOR)
            f.p[e->offset] ^= (uint8_t)e->value;
        else
            store(f.p + e->offset, e->width, e->value);
        if (e->resign > 0)
            test_resign_segment(f.p);
        else if (e->resign < 0)
            test_resign_header(f.p); /* the header is intact, the table checksum is not */
        expect_refused(&f, e->want, e->at == AT_FIELD ? e->offset : e->at, e->what);
        fixture_free(&f);
    }
}

/* A few reports state their values. */
static void header_field_values(void **state)
{
    fixture f;
    (void)state;

    fixture_init(&f);
    st16(f.p + SH_HEADER_SIZE, 255);
    test_resign_segment(f.p);
    assert_int_equal(read_fixture(&f, f.size), PCACHE_E_HEADER_FIELD);
    test_assert_values(&f.r, SEG_HEADER_SIZE, 255);
    fixture_free(&f);

    fixture_init(&f);
    st32(f.p + SH_SECTION_COUNT, 2000);
    test_resign_segment(f.p);
    assert_int_equal(read_fixture(&f, f.size), PCACHE_E_HEADER_FIELD);
    test_assert_values(&f.r, PCACHE_MAX_SECTIONS, 2000);
    fixture_free(&f);

    fixture_init(&f);
    f.p[SH_MAJOR] = 9;
    assert_int_equal(read_fixture(&f, f.size), PCACHE_E_FORMAT_VERSION);
    test_assert_values(&f.r, PCACHE_FORMAT_MAJOR, 9);
    fixture_free(&f);
}

/* ---- lengths, with the length known and unknown ---- */

static void segment_size_field(void **state)
{
    static const uint64_t bigger[] = {8, 4096, 1ull << 40, UINT64_MAX / 2, UINT64_MAX - 4000, UINT64_MAX};
    (void)state;

    for (size_t k = 0; k < sizeof bigger / sizeof bigger[0]; k++) {
        fixture f;
        uint64_t stated;
        pcache_status st;

        fixture_init(&f);
        stated = f.size + bigger[k] < f.size ? UINT64_MAX : f.size + bigger[k];
        st64(f.p + SH_SEGMENT_SIZE, stated);
        test_resign_segment(f.p);
        /* known length: the bytes are not there */
        assert_int_equal(read_fixture(&f, f.size), PCACHE_E_TRUNCATED);
        test_assert_values(&f.r, stated, f.size);
        /* unknown length: refused as not canonical, or not addressable,
         * without reading past the real end (the buffer ends there) */
        st = read_fixture(&f, PCACHE_SIZE_UNKNOWN);
        if (st != PCACHE_E_SECTION_TABLE && st != PCACHE_E_HEADER_FIELD)
            fail_msg("segment size %llu: %s", (unsigned long long)stated, pcache_status_name(st));
        assert_int_equal(f.r.offset, SH_SEGMENT_SIZE);
        fixture_free(&f);
    }
}

/* More entries than there are: with the length unknown, the reader must
 * not read a table that runs past the segment. */
static void section_count_field(void **state)
{
    (void)state;
    for (uint32_t n = 4; n <= PCACHE_MAX_SECTIONS; n = n * 2 + 1) {
        fixture f;
        pcache_status st;

        fixture_init(&f);
        st32(f.p + SH_SECTION_COUNT, n);
        if (SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * n <= f.size)
            test_resign_segment(f.p); /* so that the entries themselves are judged */
        else
            test_resign_header(f.p);
        st = read_fixture(&f, PCACHE_SIZE_UNKNOWN);
        if (st != PCACHE_E_SECTION_TABLE && st != PCACHE_E_HEADER_FIELD)
            fail_msg("section count %u: %s", n, pcache_status_name(st));
        st = read_fixture(&f, f.size);
        assert_true(st == PCACHE_E_SECTION_TABLE || st == PCACHE_E_HEADER_FIELD);
        fixture_free(&f);
    }
}

/* ---- section table entries ---- */

typedef struct entry_edit {
    const char *what;
    uint32_t entry, offset;
    unsigned width;
    uint64_t value;
    uint32_t reported; /* offset in the entry the reader points at */
} entry_edit;

static const entry_edit entry_edits[] = {
    {"name empty", 1, SE_NAME, 1, 0, SE_NAME},
    {"name with space", 1, SE_NAME + 1, 1, ' ', SE_NAME},
    {"name with 0x80", 0, SE_NAME, 1, 0x80, SE_NAME},
    {"name after NUL", 2, SE_NAME + 20, 1, 'z', SE_NAME},
    {"name without NUL", 2, SE_NAME, SE_NAME_SIZE, 'A', SE_NAME},
    {"duplicate name", 2, SE_NAME, 1, 'b', SE_NAME},
    {"alignment 0", 1, SE_ALIGN, 4, 0, SE_ALIGN},
    {"alignment 24", 1, SE_ALIGN, 4, 24, SE_ALIGN},
    {"alignment above page", 2, SE_ALIGN, 4, 8192, SE_ALIGN},
    {"offset +1", 1, SE_OFFSET, 8, 0x1CD + 1, SE_OFFSET},
    {"offset -1", 2, SE_OFFSET, 8, 0x1FD - 1, SE_OFFSET},
    {"offset huge", 0, SE_OFFSET, 8, UINT64_MAX, SE_OFFSET},
    {"overlapping", 1, SE_OFFSET, 8, 0x1C0, SE_OFFSET},
    {"stored size past the segment", 2, SE_STORED_SIZE, 8, 0x10000, SE_STORED_SIZE},
    {"stored size 2^64-1", 0, SE_STORED_SIZE, 8, UINT64_MAX, SE_STORED_SIZE},
    {"loaded size", 0, SE_SIZE, 8, 11, SE_SIZE},
};

static void table_entries(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof entry_edits / sizeof entry_edits[0]; k++) {
        const entry_edit *e = &entry_edits[k];
        uint64_t entry = SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * e->entry;
        fixture f;

        fixture_init(&f);
        /* the offsets these edits assume */
        assert_int_equal(ld64(f.p + SEG_HEADER_SIZE + SE_OFFSET), 0x1C0);
        assert_int_equal(ld64(f.p + SEG_HEADER_SIZE + SEG_ENTRY_SIZE + SE_OFFSET), 0x1CD);
        assert_int_equal(ld64(f.p + SEG_HEADER_SIZE + 2 * SEG_ENTRY_SIZE + SE_OFFSET), 0x1FD);
        store(f.p + entry + e->offset, e->width, e->value);
        if (e->offset == SE_STORED_SIZE)
            st64(f.p + entry + SE_SIZE, e->value); /* keep loaded = stored */
        test_resign_segment(f.p);
        expect_refused(&f, PCACHE_E_SECTION_TABLE, entry + e->reported, e->what);
        fixture_free(&f);
    }
}

/* The sizes of earlier sections decide where later ones go. */
static void non_canonical_after_resize(void **state)
{
    fixture f;
    (void)state;

    fixture_init(&f);
    /* "a" (at 0x1C0) grows from 10 to 14 bytes: it ends at file offset
     * 0x1003 + 0x1CE = 0x11D1, so "b" belongs at 0x11E0, relative 0x1DD. */
    st64(f.p + SEG_HEADER_SIZE + SE_STORED_SIZE, 14);
    st64(f.p + SEG_HEADER_SIZE + SE_SIZE, 14);
    test_resign_segment(f.p);
    expect_refused(&f, PCACHE_E_SECTION_TABLE, SEG_HEADER_SIZE + SEG_ENTRY_SIZE + SE_OFFSET, "a grown");
    test_assert_values(&f.r, 0x1DD, 0x1CD);
    fixture_free(&f);
}

/* ---- padding: every gap byte, one at a time ---- */

static void every_padding_byte(void **state)
{
    fixture f;
    uint64_t trailer, n = 3, prev, tested = 0;
    (void)state;

    fixture_init(&f);
    assert_int_equal(f.size, 0xFFD);
    trailer = ld64(f.p + SH_TRAILER_OFFSET);
    prev = SEG_HEADER_SIZE + n * SEG_ENTRY_SIZE;
    for (uint64_t i = 0; i <= n; i++) {
        uint64_t off = i < n ? ld64(f.p + SEG_HEADER_SIZE + i * SEG_ENTRY_SIZE + SE_OFFSET) : trailer;
        for (uint64_t at = prev; at < off; at++) {
            f.p[at] = 0x80;
            expect_refused(&f, PCACHE_E_PADDING, at, "gap byte");
            test_assert_values(&f.r, 0, 0x80);
            f.p[at] = 0;
            tested++;
        }
        if (i < n)
            prev = off + ld64(f.p + SEG_HEADER_SIZE + i * SEG_ENTRY_SIZE + SE_STORED_SIZE);
    }
    for (uint64_t i = 0; i < n; i++) {
        for (uint64_t at = trailer + 16 * i + ST_RAW_CHECKSUM; at < trailer + 16 * (i + 1); at++) {
            f.p[at] = 1;
            expect_refused(&f, PCACHE_E_PADDING, trailer + 16 * i + ST_RAW_CHECKSUM, "raw checksum");
            f.p[at] = 0;
            tested++;
        }
    }
    for (uint64_t at = trailer + 16 * n; at < f.size; at++) {
        f.p[at] = 0xff;
        expect_refused(&f, PCACHE_E_PADDING, at, "page-rounding padding");
        f.p[at] = 0;
        tested++;
    }
    /* the gaps of the layout: 3 + 36 + 4 + 8n raw checksum bytes + the tail */
    assert_true(tested > 3 + 8 * n + 3000);
    assert_int_equal(read_fixture(&f, f.size), PCACHE_OK);
    fixture_free(&f);
}

/* ---- alignment in memory ---- */

static void misaligned_mapping(void **state)
{
    fixture f;
    void *block;
    uint8_t *moved;
    const uint8_t *map;
    (void)state;

    fixture_init(&f);
    for (uint64_t shift = 1; shift < 64; shift++) {
        /* the segment copied to an address other than its file offset
         * modulo the page size */
        moved = test_copy_at(f.p, f.size, F_OFFS + shift, &block);
        map = moved;
        assert_int_equal(pcache_resurrect(&f.seg, PCACHE_RO, &map, f.size, &f.exp, &f.r), PCACHE_E_MISALIGNED);
        test_assert_report(&f.r, PCACHE_E_MISALIGNED);
        /* "b" (16) or "c" (64), whichever is first off its alignment */
        assert_string_equal(f.r.section, shift % 16 ? "b" : "c");
        assert_true(f.r.has_values);
        assert_int_equal(f.r.expected, shift % 16 ? 16 : 64);
        assert_ptr_equal(map, moved);
        /* not asked to check it, the reader accepts it */
        f.exp.check &= ~PCACHE_CHECK_ALIGNMENT;
        assert_int_equal(pcache_resurrect(&f.seg, PCACHE_RO, &map, f.size, &f.exp, &f.r), PCACHE_OK);
        f.exp.check |= PCACHE_CHECK_ALIGNMENT;
        free(block);
    }
    fixture_free(&f);
}

/* A reader accepts a segment with no sections (FORMAT.md 4.2, end). */
static void segment_without_sections(void **state)
{
    fixture f;
    uint64_t T;
    (void)state;

    fixture_init(&f);
    T = ((F_OFFS + SEG_HEADER_SIZE + 7) & ~7ull) - F_OFFS;
    st32(f.p + SH_SECTION_COUNT, 0);
    st16(f.p + SH_FLAGS, 0);
    st64(f.p + SH_TRAILER_OFFSET, T);
    st64(f.p + SH_SEGMENT_SIZE, T);
    memset(f.p + SEG_HEADER_SIZE, 0, T - SEG_HEADER_SIZE); /* what was the table is now padding */
    test_resign_segment(f.p);
    assert_int_equal(ld64be(f.p + SH_TABLE_CHECKSUM), pcache_checksum(PCACHE_CHECKSUM_XXH3_64, "", 0));
    f.size = T;
    assert_int_equal(read_fixture(&f, T), PCACHE_OK);
    assert_int_equal(f.seg.section_count, 0);
    assert_int_equal(f.seg.size, T);
    assert_int_equal(read_fixture(&f, PCACHE_SIZE_UNKNOWN), PCACHE_OK);
    fixture_free(&f);
}

/* ---- standalone files ---- */

typedef struct file_fixture {
    pcache_builder *b;
    uint8_t *file;
    uint64_t size;
    pcache_image img;
    pcache_report r;
} file_fixture;

static void file_init(file_fixture *f)
{
    memset(f, 0, sizeof *f);
    f->b = test_reference_builder(PCACHE_CHECKSUM_CRC32);
    f->file = test_write_file(f->b, &f->size);
}

static void file_free(file_fixture *f)
{
    free(f->file);
    pcache_builder_free(f->b);
}

static void file_expect(file_fixture *f, pcache_status st, uint64_t at, const char *what)
{
    pcache_status got = pcache_image_open_memory(&f->img, f->file, f->size, NULL, &f->r);
    if (got != st)
        fail_msg("%s: %s (%s), expected %s", what, pcache_status_name(got), f->r.message, pcache_status_name(st));
    test_assert_report(&f->r, st);
    if (f->r.offset != at)
        fail_msg("%s: reported at %llu, expected %llu (%s)", what, (unsigned long long)f->r.offset,
                 (unsigned long long)at, f->r.message);
}

static void file_header_fields(void **state)
{
    static const struct {
        const char *what;
        uint32_t offset;
        unsigned width;
        uint64_t value;
        pcache_status want;
        uint64_t at;
        int resign;
    } cases[] = {
        {"magic", FH_MAGIC + 3, 1, 'X', PCACHE_E_FILE_MAGIC, 0, 0},
        {"major", FH_MAJOR, 2, 2, PCACHE_E_FORMAT_VERSION, FH_MAJOR, 1},
        {"checksum algorithm", FH_CHECKSUM, 1, 7, PCACHE_E_CHECKSUM_ALGORITHM, FH_CHECKSUM, 0},
        {"header checksum", FH_HEADER_CHECKSUM + 7, 1, 0x100, PCACHE_E_FILE_HEADER_CHECKSUM, FH_HEADER_CHECKSUM, 0},
        {"header size", FH_HEADER_SIZE, 2, 64, PCACHE_E_FILE_HEADER, FH_HEADER_SIZE, 1},
        {"page size", FH_PAGE_SIZE, 4, 12288, PCACHE_E_FILE_HEADER, FH_PAGE_SIZE, 1},
        {"absent segment with an offset", FH_SEGMENTS + 24, 8, 0, PCACHE_E_FILE_HEADER, FH_SEGMENTS + 16, 1},
        {"file size smaller", FH_FILE_SIZE, 8, 4096, PCACHE_E_FILE_SIZE, FH_FILE_SIZE, 1},
        {"file size larger", FH_FILE_SIZE, 8, 1ull << 40, PCACHE_E_TRUNCATED, FH_FILE_SIZE, 1},
        {"ro offset", FH_SEGMENTS, 8, 8192, PCACHE_E_FILE_LAYOUT, FH_SEGMENTS, 1},
        /* the file adds up, the ro segment's own size disagrees */
        {"ro size", FH_SEGMENTS + 8, 8, 4096, PCACHE_E_FILE_LAYOUT, TEST_PAGE + SH_SEGMENT_SIZE, 1},
        {"ro size huge", FH_SEGMENTS + 8, 8, UINT64_MAX - 4095, PCACHE_E_FILE_LAYOUT, FH_SEGMENTS, 1},
        {"rw size huge", FH_SEGMENTS + 40, 8, UINT64_MAX, PCACHE_E_FILE_LAYOUT, FH_SEGMENTS, 1},
        {"page size 64K", FH_PAGE_SIZE, 4, 65536, PCACHE_E_FILE_LAYOUT, FH_SEGMENTS, 1},
    };
    (void)state;

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        file_fixture f;
        file_init(&f);
        if (cases[k].value == 0x100) /* flip rather than set */
            f.file[cases[k].offset] ^= 0x10;
        else
            store(f.file + cases[k].offset, cases[k].width, cases[k].value);
        if (cases[k].resign)
            test_resign_file(f.file, f.size);
        file_expect(&f, cases[k].want, cases[k].at, cases[k].what);
        file_free(&f);
    }
}

static void file_footer(void **state)
{
    static const uint32_t at[] = {FF_MAGIC, FF_MAGIC + 7, FF_FILE_SIZE, FF_FILE_SIZE + 7, FF_HEADER_CHECKSUM,
                                  FF_HEADER_CHECKSUM + 7, FF_FOOTER_CHECKSUM, FF_FOOTER_CHECKSUM + 7};
    (void)state;

    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        for (int resign = 0; resign <= 1; resign++) {
            file_fixture f;
            uint8_t *footer;
            file_init(&f);
            footer = f.file + f.size - FILE_FOOTER_SIZE;
            footer[at[k]] ^= 0x10;
            if (resign && at[k] < FF_FOOTER_CHECKSUM)
                st64be(footer + FF_FOOTER_CHECKSUM,
                       pcache_checksum(PCACHE_CHECKSUM_CRC32, footer, FF_FOOTER_CHECKSUM));
            assert_int_equal(pcache_image_open_memory(&f.img, f.file, f.size, NULL, &f.r), PCACHE_E_FILE_FOOTER);
            test_assert_report(&f.r, PCACHE_E_FILE_FOOTER);
            assert_true(f.r.offset >= f.size - FILE_FOOTER_SIZE && f.r.offset < f.size);
            file_free(&f);
        }
    }
}

/* A segment moved within the file, or stating another file offset. */
static void file_segment_placement(void **state)
{
    file_fixture f;
    uint8_t *rw;
    (void)state;

    file_init(&f);
    rw = f.file + 3 * TEST_PAGE;
    assert_memory_equal(rw, SEG_MAGIC, SEG_MAGIC_SIZE);
    st64(rw + SH_FILE_OFFSET, 3 * TEST_PAGE + 4096 * 16); /* same layout modulo 4096 */
    test_resign_segment(rw);
    file_expect(&f, PCACHE_E_FILE_LAYOUT, 3 * TEST_PAGE + SH_FILE_OFFSET, "segment's file offset");
    assert_int_equal(f.r.cls, PCACHE_RW);
    file_free(&f);
}

static void file_padding(void **state)
{
    file_fixture f;
    uint64_t at[3];
    (void)state;

    file_init(&f);
    at[0] = FILE_HEADER_SIZE;
    at[1] = TEST_PAGE - 1;
    at[2] = 2 * TEST_PAGE - 1; /* after the ro segment */
    assert_true(ld64(f.file + TEST_PAGE + SH_SEGMENT_SIZE) < TEST_PAGE - 1); /* ro ends before at[2] */
    for (int k = 0; k < 3; k++) {
        f.file[at[k]] = 0x20;
        file_expect(&f, PCACHE_E_PADDING, at[k], "file padding");
        f.file[at[k]] = 0;
    }
    assert_int_equal(pcache_image_open_memory(&f.img, f.file, f.size, NULL, &f.r), PCACHE_OK);
    file_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_fields),
        cmocka_unit_test(header_field_values),
        cmocka_unit_test(segment_size_field),
        cmocka_unit_test(section_count_field),
        cmocka_unit_test(table_entries),
        cmocka_unit_test(non_canonical_after_resize),
        cmocka_unit_test(every_padding_byte),
        cmocka_unit_test(misaligned_mapping),
        cmocka_unit_test(segment_without_sections),
        cmocka_unit_test(file_header_fields),
        cmocka_unit_test(file_footer),
        cmocka_unit_test(file_segment_placement),
        cmocka_unit_test(file_padding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
