/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Compressed sections (docs/FORMAT.md 3.8): round trips at every level
 * with compressible and incompressible bytes, every bit flip of a small
 * compressed segment, streams of another length and decompression bombs
 * against a buffer of exactly the stated size, the writer's refusals, and
 * what a reader that does not know the section does with it.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bytes.h"
#include "format.h"
#include "pcache/reloc.h"

/* An odd file offset, so that alignment and layout are exercised too. */
#define SEG_OFFS 0x1003u

static uint8_t before_bytes[13], after_bytes[9];

/* Text-like bytes: repetitive, as the tables worth compressing are. */
static void fill_compressible(uint8_t *p, size_t n, uint32_t seed)
{
    size_t at = 0;
    for (uint32_t i = 0; at < n; i++) {
        char line[64];
        int len = snprintf(line, sizeof line, "entry %u: block 0x%x, count %u\n", i, (i * seed) & 0xfff, i % 7);
        for (int k = 0; k < len && at < n; k++)
            p[at++] = (uint8_t)line[k];
    }
}

static uint8_t *make_data(size_t n, int compressible, uint32_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    if (compressible)
        fill_compressible(p, n, seed);
    else
        test_fill(p, n, seed);
    return p;
}

/* ro: "before" (13 bytes), "z" (the section under test, compressed at
 * level), "after" (9 bytes). */
static pcache_builder *builder_z(pcache_checksum_algorithm algo, const uint8_t *data, uint64_t n, int level,
                                 uint32_t z_flags)
{
    pcache_identity id;
    pcache_builder *b;

    test_fill(before_bytes, sizeof before_bytes, 21);
    test_fill(after_bytes, sizeof after_bytes, 22);
    test_identity(&id, algo);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "before", before_bytes, sizeof before_bytes, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "z", data, n, 16, z_flags), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "after", after_bytes, sizeof after_bytes, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_compression(b, PCACHE_RO, "z", level), PCACHE_OK);
    return b;
}

static uint8_t *entry(uint8_t *seg, uint32_t i)
{
    return seg + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i;
}

static uint64_t trailer_entry(const uint8_t *seg, uint32_t i)
{
    return ld64(seg + SH_TRAILER_OFFSET) + (uint64_t)SEG_TRAILER_ENTRY_SIZE * i;
}

/* After replacing stored bytes on purpose: the trailer's stored checksum,
 * then the table and header checksums. */
static void resign_all(uint8_t *seg, uint32_t i)
{
    pcache_checksum_algorithm algo = (pcache_checksum_algorithm)seg[SH_CHECKSUM];
    uint8_t *e = entry(seg, i);
    st64be(seg + trailer_entry(seg, i) + ST_STORED_CHECKSUM,
           pcache_checksum(algo, seg + ld64(e + SE_OFFSET), (size_t)ld64(e + SE_STORED_SIZE)));
    test_resign_segment(seg);
}

static pcache_status resurrect(pcache_segment *seg, const uint8_t *p, uint64_t size, pcache_builder *b,
                               pcache_validation level, pcache_report *r)
{
    pcache_expect exp;
    const uint8_t *map = p;
    test_expect_all(&exp, pcache_builder_identity(b), level);
    return pcache_resurrect(seg, PCACHE_RO, &map, size, &exp, r);
}

/* Inflates section i into a heap buffer of exactly its loaded size, so
 * that any write past it is caught by ASan and valgrind. */
static pcache_status inflate_exact(pcache_segment *seg, uint32_t i, uint8_t **out, pcache_report *r)
{
    /* from the table: a lazy first access may be what fails */
    uint64_t n = ld64(seg->base + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i + SE_SIZE);
    *out = malloc(n ? (size_t)n : 1);
    assert_non_null(*out);
    return pcache_segment_inflate(seg, i, *out, n, NULL, r);
}

static void check_round_trip(pcache_checksum_algorithm algo, const uint8_t *data, uint64_t n, int level,
                             int compressible)
{
    pcache_builder *b = builder_z(algo, data, n, level, 0);
    uint64_t size, stored, off;
    void *block;
    uint8_t *p = test_persist(b, PCACHE_RO, SEG_OFFS, &size, &block);
    uint8_t *e = entry(p, 1);
    uLongf zlen = (uLongf)n;
    uint8_t *oracle = malloc(n ? n : 1);

    /* the table and trailer as 3.8 says */
    assert_int_equal(ld16(p + SH_MINOR), 1);
    assert_int_equal(ld16(e + SE_FLAGS), PCACHE_SECTION_COMPRESSED);
    assert_int_equal(ld64(e + SE_SIZE), n);
    stored = ld64(e + SE_STORED_SIZE);
    off = ld64(e + SE_OFFSET);
    assert_true(stored >= ZLIB_STREAM_MIN);
    assert_int_equal(ld64be(p + trailer_entry(p, 1) + ST_STORED_CHECKSUM), pcache_checksum(algo, p + off, stored));
    assert_int_equal(ld64be(p + trailer_entry(p, 1) + ST_RAW_CHECKSUM), pcache_checksum(algo, data, n));
    assert_int_equal(ld64be(p + trailer_entry(p, 0) + ST_RAW_CHECKSUM), 0);
    /* the stored bytes are a plain zlib stream: zlib itself inflates them */
    assert_non_null(oracle);
    assert_int_equal(uncompress(oracle, &zlen, p + off, (uLong)stored), Z_OK);
    assert_int_equal(zlen, n);
    if (n)
        assert_memory_equal(oracle, data, n);
    if (level == 0)
        assert_true(stored > n); /* stored blocks only add framing */
    if (compressible && level != 0 && n >= 4096)
        assert_true(stored < n / 4);

    for (int v = PCACHE_VALIDATE_HEADER; v <= PCACHE_VALIDATE_FULL; v++) {
        pcache_segment seg;
        pcache_view view, out;
        pcache_report r;
        uint8_t *buf;
        void *abuf;

        assert_int_equal(resurrect(&seg, p, size, b, (pcache_validation)v, &r), PCACHE_OK);
        assert_int_equal(seg.format_minor, 1);
        assert_int_equal(pcache_segment_find(&seg, "z", &view, &r), PCACHE_OK);
        assert_int_equal(view.flags, PCACHE_SECTION_COMPRESSED);
        assert_int_equal(view.known, 1);
        assert_int_equal(view.size, stored);
        assert_int_equal(view.loaded_size, n);
        assert_ptr_equal(view.data, p + off);
        /* into a caller buffer of exactly the loaded size */
        buf = malloc(n ? n : 1);
        assert_non_null(buf);
        memset(&out, 0, sizeof out);
        assert_int_equal(pcache_segment_inflate(&seg, 1, buf, n, &out, &r), PCACHE_OK);
        if (n)
            assert_memory_equal(buf, data, n);
        assert_ptr_equal(out.data, buf);
        assert_int_equal(out.size, n);
        assert_int_equal(out.loaded_size, n);
        assert_int_equal(out.index, 1);
        assert_string_equal(out.name, "z");
        assert_int_equal(out.offset, off);
        assert_int_equal(out.flags, PCACHE_SECTION_COMPRESSED);
        free(buf);
        /* into one the library allocates */
        assert_int_equal(pcache_segment_inflate_alloc(&seg, 1, &abuf, &out, &r), PCACHE_OK);
        assert_non_null(abuf);
        if (n)
            assert_memory_equal(abuf, data, n);
        assert_ptr_equal(out.data, abuf);
        pcache_free(abuf);
        /* the neighbours load as stored */
        assert_int_equal(pcache_segment_find(&seg, "before", &view, &r), PCACHE_OK);
        assert_int_equal(view.loaded_size, sizeof before_bytes);
        assert_int_equal(view.flags, 0);
        assert_memory_equal(view.data, before_bytes, sizeof before_bytes);
        assert_int_equal(pcache_segment_find(&seg, "after", &view, &r), PCACHE_OK);
        assert_memory_equal(view.data, after_bytes, sizeof after_bytes);
    }
    free(oracle);
    free(block);
    pcache_builder_free(b);
}

/* Every level, both kinds of bytes, sizes from empty to 1 MiB. */
static void round_trip_levels_and_sizes(void **state)
{
    static const int levels[] = {0, 1, 6, 9, PCACHE_COMPRESS_DEFAULT};
    static const size_t sizes[] = {0, 1, 7, 100, 4096, 65535, 65536 + 7, 300000, 1u << 20};
    (void)state;

    for (int compressible = 1; compressible >= 0; compressible--)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
                uint8_t *data;
                /* the largest sizes at two levels only under PCACHE_TEST_QUICK */
                if (test_quick() && sizes[s] > 65536 && levels[l] != 1 && levels[l] != 9)
                    continue;
                data = make_data(sizes[s], compressible, (uint32_t)(s * 10 + l + 1));
                check_round_trip(PCACHE_CHECKSUM_XXH3_64, data, sizes[s], levels[l], compressible);
                free(data);
            }
}

/* The raw checksum uses the segment's algorithm like every other. */
static void round_trip_crc32(void **state)
{
    uint8_t *data = make_data(5000, 1, 3);
    (void)state;
    check_round_trip(PCACHE_CHECKSUM_CRC32, data, 5000, 6, 1);
    free(data);
}

/* Same input, same bytes: the builder is deterministic with compression
 * too (given the same zlib). */
static void deterministic(void **state)
{
    uint8_t *data = make_data(20000, 1, 5);
    uint64_t s1, s2;
    void *b1, *b2;
    pcache_builder *x = builder_z(PCACHE_CHECKSUM_XXH3_64, data, 20000, 9, 0);
    pcache_builder *y = builder_z(PCACHE_CHECKSUM_XXH3_64, data, 20000, 9, 0);
    uint8_t *p = test_persist(x, PCACHE_RO, SEG_OFFS, &s1, &b1);
    uint8_t *q = test_persist(y, PCACHE_RO, SEG_OFFS, &s2, &b2);
    (void)state;

    assert_int_equal(s1, s2);
    assert_memory_equal(p, q, s1);
    free(b1);
    free(b2);
    pcache_builder_free(x);
    pcache_builder_free(y);
    free(data);
}

/* The bytes are taken at size(): a change after it does not reach the
 * persisted image; the next size() takes the new bytes. */
static void bytes_taken_at_size(void **state)
{
    uint8_t *data = make_data(3000, 1, 8), *first = malloc(3000), *got;
    pcache_builder *b = builder_z(PCACHE_CHECKSUM_XXH3_64, data, 3000, 6, 0);
    pcache_segment seg;
    pcache_report r;
    pcache_buffer_sink bs;
    pcache_sink sink;
    uint64_t size, size2;
    void *block;
    uint8_t *p;
    (void)state;

    assert_non_null(first);
    memcpy(first, data, 3000);
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, SEG_OFFS, &size), PCACHE_OK);
    data[100] ^= 0xff;
    p = test_alloc_at(SEG_OFFS, size, &block);
    sink = pcache_sink_buffer(&bs, p, (size_t)size);
    assert_int_equal(pcache_builder_persist(b, PCACHE_RO, &sink), PCACHE_OK);
    assert_int_equal(resurrect(&seg, p, size, b, PCACHE_VALIDATE_FULL, &r), PCACHE_OK);
    assert_int_equal(inflate_exact(&seg, 1, &got, &r), PCACHE_OK);
    assert_memory_equal(got, first, 3000);
    free(got);
    free(block);

    /* a new size() deflates the changed bytes (same length: the layout may
     * not even move) */
    p = test_persist(b, PCACHE_RO, SEG_OFFS, &size2, &block);
    assert_int_equal(resurrect(&seg, p, size2, b, PCACHE_VALIDATE_FULL, &r), PCACHE_OK);
    assert_int_equal(inflate_exact(&seg, 1, &got, &r), PCACHE_OK);
    assert_memory_equal(got, data, 3000);
    free(got);
    free(block);
    free(first);
    free(data);
    pcache_builder_free(b);
}

/* A standalone file: the file header says 1.1 when a segment does; other
 * segments of the image stay 1.0. */
static void file_round_trip(void **state)
{
    uint8_t *data = make_data(10000, 1, 9), code[64];
    pcache_builder *b = builder_z(PCACHE_CHECKSUM_XXH3_64, data, 10000, 9, 0);
    pcache_image img;
    pcache_report r;
    pcache_view v;
    uint64_t size;
    uint8_t *file, *got;
    (void)state;

    test_fill(code, sizeof code, 4);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", code, sizeof code, 16, 0), PCACHE_OK);
    file = test_write_file(b, &size);
    assert_int_equal(pcache_image_open_memory(&img, file, size, NULL, &r), PCACHE_OK);
    assert_int_equal(img.format_minor, 1);
    assert_int_equal(pcache_image_segment(&img, PCACHE_RO)->format_minor, 1);
    assert_int_equal(pcache_image_segment(&img, PCACHE_RX)->format_minor, 0);
    assert_int_equal(pcache_segment_find(pcache_image_segment(&img, PCACHE_RO), "z", &v, &r), PCACHE_OK);
    assert_int_equal(inflate_exact(pcache_image_segment(&img, PCACHE_RO), v.index, &got, &r), PCACHE_OK);
    assert_memory_equal(got, data, 10000);
    free(got);
    pcache_image_close(&img);
    free(file);
    pcache_builder_free(b);
    free(data);
}

/* A small image: "before", "z" (compressed), "after". */
typedef struct small {
    pcache_builder *b;
    uint8_t *data, *orig, *p;
    void *block;
    uint64_t size, n;
} small;

static void small_init(small *s, int level)
{
    s->n = 300;
    s->data = make_data((size_t)s->n, 1, 12);
    s->b = builder_z(PCACHE_CHECKSUM_XXH3_64, s->data, s->n, level, 0);
    s->orig = test_persist(s->b, PCACHE_RO, SEG_OFFS, &s->size, &s->block);
    s->p = NULL;
}

/* A fresh copy of the image to edit. */
static uint8_t *small_copy(small *s, void **block)
{
    return test_copy_at(s->orig, s->size, SEG_OFFS, block);
}

static void small_free(small *s)
{
    free(s->block);
    free(s->data);
    pcache_builder_free(s->b);
}

/* Every bit of the segment: refused at full validation, or (only in the
 * raw checksum of the compressed section, which full validation does not
 * inflate to check) caught when inflating. */
static void every_bit_flip(void **state)
{
    small s;
    uint64_t raw_at, accepted = 0;
    (void)state;

    small_init(&s, 9);
    raw_at = trailer_entry(s.orig, 1) + ST_RAW_CHECKSUM;
    for (uint64_t at = 0; at < s.size; at++)
        for (int bit = 0; bit < 8; bit++) {
            void *block;
            uint8_t *p = small_copy(&s, &block), *got;
            pcache_segment seg;
            pcache_report r;
            pcache_status st;

            p[at] ^= (uint8_t)(1u << bit);
            st = resurrect(&seg, p, s.size, s.b, PCACHE_VALIDATE_FULL, &r);
            if (st != PCACHE_OK) {
                test_assert_report(&r, st);
                free(block);
                continue;
            }
            if (at < raw_at || at >= raw_at + 8)
                fail_msg("bit %d of byte %llu flipped, accepted at full validation", bit, (unsigned long long)at);
            accepted++;
            assert_int_equal(inflate_exact(&seg, 1, &got, &r), PCACHE_E_SECTION_CHECKSUM);
            test_assert_report(&r, PCACHE_E_SECTION_CHECKSUM);
            assert_non_null(strstr(r.message, "inflated"));
            assert_int_equal(r.offset, raw_at);
            free(got);
            free(block);
        }
    assert_int_equal(accepted, 64);
    small_free(&s);
}

/* Lazily: the first access, inflating included, checks the stored bytes
 * first; under header validation nothing is checked, but inflating is
 * still bounded and exact, and returns no wrong bytes as right. */
static void flips_in_stored_bytes_by_level(void **state)
{
    small s;
    uint64_t off, stored;
    (void)state;

    small_init(&s, 6);
    off = ld64(entry(s.orig, 1) + SE_OFFSET);
    stored = ld64(entry(s.orig, 1) + SE_STORED_SIZE);
    for (uint64_t at = off; at < off + stored; at++)
        for (int bit = 0; bit < 8; bit++) {
            void *block;
            uint8_t *p = small_copy(&s, &block), *got;
            pcache_segment seg;
            pcache_report r;
            pcache_status st;

            p[at] ^= (uint8_t)(1u << bit);
            assert_int_equal(resurrect(&seg, p, s.size, s.b, PCACHE_VALIDATE_LAZY, &r), PCACHE_OK);
            assert_int_equal(inflate_exact(&seg, 1, &got, &r), PCACHE_E_SECTION_CHECKSUM);
            assert_null(strstr(r.message, "inflated"));
            assert_int_equal(r.offset, off);
            free(got);

            assert_int_equal(resurrect(&seg, p, s.size, s.b, PCACHE_VALIDATE_HEADER, &r), PCACHE_OK);
            st = inflate_exact(&seg, 1, &got, &r);
            if (st == PCACHE_OK)
                assert_memory_equal(got, s.data, s.n);
            else
                assert_int_equal(st, PCACHE_E_INFLATE);
            free(got);
            free(block);
        }
    small_free(&s);
}

/* Under header validation the raw checksum is not checked either. */
static void header_level_checks_no_checksum(void **state)
{
    small s;
    void *block;
    uint8_t *p, *got;
    pcache_segment seg;
    pcache_report r;
    (void)state;

    small_init(&s, 6);
    p = small_copy(&s, &block);
    p[trailer_entry(p, 1) + ST_RAW_CHECKSUM] ^= 1;
    assert_int_equal(resurrect(&seg, p, s.size, s.b, PCACHE_VALIDATE_HEADER, &r), PCACHE_OK);
    assert_int_equal(inflate_exact(&seg, 1, &got, &r), PCACHE_OK);
    assert_memory_equal(got, s.data, s.n);
    free(got);
    assert_int_equal(resurrect(&seg, p, s.size, s.b, PCACHE_VALIDATE_LAZY, &r), PCACHE_OK);
    assert_int_equal(inflate_exact(&seg, 1, &got, &r), PCACHE_E_SECTION_CHECKSUM);
    assert_non_null(strstr(r.message, "inflated"));
    free(got);
    free(block);
    small_free(&s);
}

/* Re-signed images whose stream is valid zlib of another length than the
 * table states: accepted at full validation, refused when inflated. */
static void stream_of_another_length(void **state)
{
    small s;
    uint64_t n;
    (void)state;

    small_init(&s, 6);
    n = s.n;
    for (int delta = -1; delta <= 1; delta += 2) {
        void *block;
        uint8_t *p = small_copy(&s, &block), *got;
        pcache_segment seg;
        pcache_report r;

        st64(entry(p, 1) + SE_SIZE, n + (uint64_t)(int64_t)delta);
        test_resign_segment(p);
        assert_int_equal(resurrect(&seg, p, s.size, s.b, PCACHE_VALIDATE_FULL, &r), PCACHE_OK);
        assert_int_equal(inflate_exact(&seg, 1, &got, &r), PCACHE_E_INFLATE);
        test_assert_report(&r, PCACHE_E_INFLATE);
        assert_string_equal(r.section, "z");
        if (delta > 0) {
            test_assert_values(&r, n + 1, n);
            /* zlib stopped at the stream's end: the whole stored section */
            assert_int_equal(r.offset, ld64(entry(p, 1) + SE_OFFSET) + ld64(entry(p, 1) + SE_STORED_SIZE));
        } else {
            assert_non_null(strstr(r.message, "more than"));
        }
        free(got);
        free(block);
    }
    small_free(&s);
}

/* The stored bytes replaced by another stream of the same length: a
 * shorter stream and padding (bytes after the end), a stream of one byte
 * less and a garbage byte, a stream that needs a preset dictionary. */
static void replaced_streams(void **state)
{
    small s;
    uint64_t off, stored;
    uint8_t zbuf[1024];
    (void)state;

    small_init(&s, 0); /* stored blocks: the longest stream, room for others */
    off = ld64(entry(s.orig, 1) + SE_OFFSET);
    stored = ld64(entry(s.orig, 1) + SE_STORED_SIZE);
    assert_int_equal(stored, s.n + 11);

    for (int kind = 0; kind < 3; kind++) {
        void *block;
        uint8_t *p = small_copy(&s, &block), *got;
        pcache_segment seg;
        pcache_report r;
        uLongf zlen = sizeof zbuf;

        if (kind == 0) {
            assert_int_equal(compress2(zbuf, &zlen, s.data, (uLong)s.n, 9), Z_OK);
        } else if (kind == 1) {
            assert_int_equal(compress2(zbuf, &zlen, s.data, (uLong)s.n - 1, 0), Z_OK);
            assert_int_equal(zlen, stored - 1);
        } else {
            z_stream z;
            memset(&z, 0, sizeof z);
            assert_int_equal(deflateInit(&z, 6), Z_OK);
            assert_int_equal(deflateSetDictionary(&z, (const Bytef *)"dict", 4), Z_OK);
            z.next_in = s.data;
            z.avail_in = (uInt)s.n;
            z.next_out = zbuf;
            z.avail_out = sizeof zbuf;
            assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
            zlen = z.total_out;
            deflateEnd(&z);
        }
        assert_true(zlen <= stored);
        memset(p + off, kind == 1 ? 0x5a : 0, (size_t)stored);
        memcpy(p + off, zbuf, zlen);
        resign_all(p, 1);
        assert_int_equal(resurrect(&seg, p, s.size, s.b, PCACHE_VALIDATE_FULL, &r), PCACHE_OK);
        assert_int_equal(inflate_exact(&seg, 1, &got, &r), PCACHE_E_INFLATE);
        test_assert_report(&r, PCACHE_E_INFLATE);
        if (kind == 0) {
            assert_non_null(strstr(r.message, "after the end"));
            test_assert_values(&r, stored, zlen);
            assert_int_equal(r.offset, off + zlen);
        } else if (kind == 1) {
            test_assert_values(&r, s.n, s.n - 1);
        } else {
            assert_non_null(strstr(r.message, "dictionary"));
            assert_int_equal(r.offset, off + 6); /* header and dictionary id read */
        }
        free(got);
        free(block);
    }
    small_free(&s);
}

/* A stream that inflates to far more than it says: 8 MiB of zeros stated
 * as 4096 bytes.  Refused with nothing written past the 4096-byte buffer
 * (ASan and valgrind watch its end) and nothing allocated for more. */
static void bomb_larger_than_stated(void **state)
{
    const size_t big = 8u << 20;
    uint8_t *zeros = calloc(1, big), *buf;
    pcache_builder *b = builder_z(PCACHE_CHECKSUM_XXH3_64, zeros, big, 9, 0);
    pcache_segment seg;
    pcache_report r;
    uint64_t size;
    void *block, *abuf = (void *)&r;
    uint8_t *p = test_persist(b, PCACHE_RO, SEG_OFFS, &size, &block);
    (void)state;

    assert_true(ld64(entry(p, 1) + SE_STORED_SIZE) < big / 500);
    st64(entry(p, 1) + SE_SIZE, 4096);
    test_resign_segment(p);
    assert_int_equal(resurrect(&seg, p, size, b, PCACHE_VALIDATE_FULL, &r), PCACHE_OK);
    buf = malloc(4096);
    assert_non_null(buf);
    assert_int_equal(pcache_segment_inflate(&seg, 1, buf, 4096, NULL, &r), PCACHE_E_INFLATE);
    test_assert_report(&r, PCACHE_E_INFLATE);
    assert_non_null(strstr(r.message, "more than"));
    assert_int_equal(pcache_segment_inflate_alloc(&seg, 1, &abuf, NULL, &r), PCACHE_E_INFLATE);
    assert_null(abuf);
    free(buf);
    free(block);
    free(zeros);
    pcache_builder_free(b);
}

/* Stated sizes no stream can have are refused by resurrect at every level
 * (PCACHE_E_COMPRESSION_RATIO), and by inflate before it inflates or
 * allocates anything, should a table change after resurrect. */
static void impossible_ratio(void **state)
{
    small s;
    uint64_t stored;
    (void)state;

    small_init(&s, 6);
    stored = ld64(entry(s.orig, 1) + SE_STORED_SIZE);
    for (int v = PCACHE_VALIDATE_HEADER; v <= PCACHE_VALIDATE_FULL; v++)
        for (int edge = 0; edge <= 1; edge++) {
            void *block;
            uint8_t *p = small_copy(&s, &block);
            pcache_segment seg;
            pcache_report r;
            uint64_t max = stored * DEFLATE_MAX_RATIO + DEFLATE_RATIO_SLACK;

            st64(entry(p, 1) + SE_SIZE, max + (edge ? 0 : 1));
            test_resign_segment(p);
            if (edge) {
                /* the largest stated size is allowed; the stream then
                 * ends early, which inflating finds */
                uint8_t *got;
                assert_int_equal(resurrect(&seg, p, s.size, s.b, (pcache_validation)v, &r), PCACHE_OK);
                assert_int_equal(inflate_exact(&seg, 1, &got, &r), PCACHE_E_INFLATE);
                free(got);
            } else {
                assert_int_equal(resurrect(&seg, p, s.size, s.b, (pcache_validation)v, &r),
                                 PCACHE_E_COMPRESSION_RATIO);
                test_assert_report(&r, PCACHE_E_COMPRESSION_RATIO);
                test_assert_values(&r, max, max + 1);
                assert_int_equal(r.offset, SEG_HEADER_SIZE + SEG_ENTRY_SIZE + SE_SIZE);
                assert_string_equal(r.section, "z");
            }
            free(block);
        }

    /* after resurrect: a stated 2^62 bytes would fail to allocate
     * (PCACHE_E_NO_MEMORY) if anything tried */
    {
        void *block, *abuf = NULL;
        uint8_t *p = small_copy(&s, &block), buf[16];
        pcache_segment seg;
        pcache_report r;
        assert_int_equal(resurrect(&seg, p, s.size, s.b, PCACHE_VALIDATE_FULL, &r), PCACHE_OK);
        st64(entry(p, 1) + SE_SIZE, 1ull << 62);
        assert_int_equal(pcache_segment_inflate_alloc(&seg, 1, &abuf, NULL, &r), PCACHE_E_COMPRESSION_RATIO);
        assert_null(abuf);
        memset(buf, 0xee, sizeof buf);
        assert_int_equal(pcache_segment_inflate(&seg, 1, buf, sizeof buf, NULL, &r), PCACHE_E_COMPRESSION_RATIO);
        for (size_t k = 0; k < sizeof buf; k++)
            assert_int_equal(buf[k], 0xee);
        free(block);
    }
    small_free(&s);
}

/* A stream shorter than the shortest zlib stream (8 bytes): an
 * uncompressed 7-byte section edited to say it is compressed. */
static void shorter_than_any_stream(void **state)
{
    uint8_t seven[7] = {1, 2, 3, 4, 5, 6, 7};
    pcache_identity id;
    pcache_builder *b;
    pcache_segment seg;
    pcache_report r;
    uint64_t size;
    void *block;
    uint8_t *p;
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "z", seven, sizeof seven, 1, 0), PCACHE_OK);
    p = test_persist(b, PCACHE_RO, SEG_OFFS, &size, &block);
    st16(entry(p, 0) + SE_FLAGS, PCACHE_SECTION_COMPRESSED);
    test_resign_segment(p);
    assert_int_equal(resurrect(&seg, p, size, b, PCACHE_VALIDATE_HEADER, &r), PCACHE_E_COMPRESSION_RATIO);
    test_assert_values(&r, ZLIB_STREAM_MIN, 7);
    assert_int_equal(r.offset, SEG_HEADER_SIZE + SE_STORED_SIZE);
    free(block);
    pcache_builder_free(b);
}

/* Arguments: buffer too small, an uncompressed section, an index past the
 * count, the empty section with no buffer at all. */
static void inflate_arguments(void **state)
{
    small s;
    pcache_segment seg;
    pcache_report r;
    uint8_t buf[299];
    void *abuf = (void *)&r;
    (void)state;

    small_init(&s, 6);
    assert_int_equal(resurrect(&seg, s.orig, s.size, s.b, PCACHE_VALIDATE_FULL, &r), PCACHE_OK);
    memset(buf, 0xee, sizeof buf);
    assert_int_equal(pcache_segment_inflate(&seg, 1, buf, sizeof buf, NULL, &r), PCACHE_E_INVALID_ARGUMENT);
    test_assert_values(&r, s.n, sizeof buf);
    for (size_t k = 0; k < sizeof buf; k++)
        assert_int_equal(buf[k], 0xee);
    assert_int_equal(pcache_segment_inflate(&seg, 1, NULL, 300, NULL, &r), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_segment_inflate(&seg, 0, buf, sizeof buf, NULL, &r), PCACHE_E_INVALID_ARGUMENT);
    test_assert_report(&r, PCACHE_E_INVALID_ARGUMENT);
    assert_string_equal(r.section, "before");
    assert_int_equal(pcache_segment_inflate_alloc(&seg, 2, &abuf, NULL, &r), PCACHE_E_INVALID_ARGUMENT);
    assert_null(abuf);
    assert_int_equal(pcache_segment_inflate(&seg, 3, buf, sizeof buf, NULL, &r), PCACHE_E_NOT_FOUND);
    assert_int_equal(pcache_segment_inflate(NULL, 1, buf, sizeof buf, NULL, &r), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_segment_inflate_alloc(&seg, 1, NULL, NULL, &r), PCACHE_E_INVALID_ARGUMENT);
    pcache_free(NULL);
    small_free(&s);

    {
        pcache_builder *b = builder_z(PCACHE_CHECKSUM_CRC32, NULL, 0, 9, 0);
        uint64_t size;
        void *block;
        uint8_t *p = test_persist(b, PCACHE_RO, SEG_OFFS, &size, &block);
        pcache_view v;
        assert_int_equal(ld64(entry(p, 1) + SE_STORED_SIZE), ZLIB_STREAM_MIN);
        assert_int_equal(resurrect(&seg, p, size, b, PCACHE_VALIDATE_FULL, &r), PCACHE_OK);
        assert_int_equal(pcache_segment_inflate(&seg, 1, NULL, 0, &v, &r), PCACHE_OK);
        assert_int_equal(v.size, 0);
        free(block);
        pcache_builder_free(b);
    }
}

static void assert_refused(pcache_builder *b, pcache_status got, pcache_status want, const char *section,
                           const char *words)
{
    const pcache_report *r = pcache_builder_report(b);
    assert_int_equal(got, want);
    test_assert_report(r, want);
    if (section)
        assert_string_equal(r->section, section);
    if (words && !strstr(r->message, words))
        fail_msg("report '%s' does not say '%s'", r->message, words);
}

static int produce_nothing(void *ctx, pcache_writer *w)
{
    (void)ctx;
    (void)w;
    return 0;
}

/* What the writer refuses to compress, and why. */
static void writer_refusals(void **state)
{
    uint8_t bytes[64] = {0};
    pcache_identity id;
    pcache_builder *b;
    uint64_t size;
    (void)state;

    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "tbl", bytes, sizeof bytes, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "ptrs", bytes, 16, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "plain", bytes, 16, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", bytes, sizeof bytes, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "vars", bytes, sizeof bytes, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add_produced(b, PCACHE_RO, "made", 8, 8, 0, produce_nothing, NULL), PCACHE_OK);

    assert_refused(b, pcache_builder_set_compression(b, PCACHE_RX, "code", 6), PCACHE_E_NOT_COMPRESSIBLE, "code",
                   "rx");
    assert_refused(b, pcache_builder_set_compression(b, PCACHE_RW, "vars", 6), PCACHE_E_NOT_COMPRESSIBLE, "vars",
                   "rw");
    assert_refused(b, pcache_builder_set_compression(b, PCACHE_RO, "made", 6), PCACHE_E_NOT_COMPRESSIBLE, "made",
                   "produced");
    assert_refused(b, pcache_builder_set_compression(b, PCACHE_RO, ".relocs", 6), PCACHE_E_NOT_COMPRESSIBLE,
                   ".relocs", "relocation");
    assert_refused(b, pcache_builder_set_compression(b, PCACHE_RO, "nope", 6), PCACHE_E_NOT_FOUND, "nope", NULL);
    assert_refused(b, pcache_builder_set_compression(b, PCACHE_RO, "tbl", 10), PCACHE_E_INVALID_ARGUMENT, "tbl",
                   "level");
    assert_refused(b, pcache_builder_set_compression(b, PCACHE_RO, "tbl", -2), PCACHE_E_INVALID_ARGUMENT, "tbl",
                   "level");
    assert_int_equal(pcache_builder_set_compression(b, PCACHE_CLASS_COUNT, "tbl", 6), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_set_compression(NULL, PCACHE_RO, "tbl", 6), PCACHE_E_INVALID_ARGUMENT);
    /* the flag is the builder's to set, not the caller's */
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "x", bytes, 8, 8, PCACHE_SECTION_COMPRESSED),
                     PCACHE_E_INVALID_ARGUMENT);

    /* ptrs holds an abs64 site pointing into tbl: neither may be compressed */
    {
        pcache_patch pt = {.cls = PCACHE_RO, .section = "ptrs", .offset = 8, .kind = PCACHE_RELOC_ABS64,
                           .target_kind = PCACHE_TARGET_SECTION, .target_class = PCACHE_RO,
                           .target_section = "tbl", .target_offset = 8};
        assert_int_equal(pcache_builder_add_patch(b, &pt), PCACHE_OK);
    }
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, SEG_OFFS, &size), PCACHE_OK);
    assert_int_equal(pcache_builder_set_compression(b, PCACHE_RO, "ptrs", 6), PCACHE_OK);
    assert_refused(b, pcache_builder_size(b, PCACHE_RO, SEG_OFFS, &size), PCACHE_E_NOT_COMPRESSIBLE, "ptrs",
                   "patch site");
    pcache_builder_free(b);

    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "tbl", bytes, sizeof bytes, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", bytes, sizeof bytes, 16, 0), PCACHE_OK);
    {
        pcache_patch pt = {.cls = PCACHE_RX, .section = "code", .offset = 3, .kind = PCACHE_RELOC_REL32,
                           .pc_offset = 4, .target_kind = PCACHE_TARGET_SECTION, .target_class = PCACHE_RO,
                           .target_section = "tbl", .target_offset = 0};
        assert_int_equal(pcache_builder_add_patch(b, &pt), PCACHE_OK);
    }
    assert_int_equal(pcache_builder_set_compression(b, PCACHE_RO, "tbl", 6), PCACHE_OK);
    assert_refused(b, pcache_builder_size(b, PCACHE_RO, SEG_OFFS, &size), PCACHE_E_NOT_COMPRESSIBLE, "tbl",
                   "patch target");
    assert_true(strstr(pcache_builder_report(b)->message, "rx:code") != NULL);
    pcache_builder_free(b);
}

/* A reader never relocates through a compressed section (a writer cannot
 * make one, so the flag is edited in): as a site it is not a data
 * section, as a target not one either; on a relocation section the flag
 * is unknown, and relocations are never skippable. */
static void reader_keeps_relocations_off_compressed(void **state)
{
    uint8_t tbl[64], ptrs[16];
    pcache_identity id;
    pcache_builder *b;
    uint64_t size;
    void *orig_block;
    uint8_t *orig;
    pcache_patch pt = {.cls = PCACHE_RO, .section = "ptrs", .offset = 8, .kind = PCACHE_RELOC_ABS64,
                       .target_kind = PCACHE_TARGET_SECTION, .target_class = PCACHE_RO,
                       .target_section = "tbl", .target_offset = 8};
    static const struct {
        uint32_t index;
        uint16_t flags;
        pcache_status want;
    } cases[] = {
        {0, PCACHE_SECTION_COMPRESSED, PCACHE_E_RELOC_TARGET},
        {1, PCACHE_SECTION_COMPRESSED, PCACHE_E_RELOC_TABLE},
        {2, PCACHE_SECTION_COMPRESSED, PCACHE_E_UNKNOWN_CRITICAL},
    };
    (void)state;

    test_fill(tbl, sizeof tbl, 1);
    test_fill(ptrs, sizeof ptrs, 2);
    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "tbl", tbl, sizeof tbl, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "ptrs", ptrs, sizeof ptrs, 8, 0), PCACHE_OK);
    /* the 48-byte form: the cases below edit a record */
    assert_int_equal(pcache_builder_set_reloc_form(b, PCACHE_RELOC_FORM_RECORDS), PCACHE_OK);
    assert_int_equal(pcache_builder_add_patch(b, &pt), PCACHE_OK);
    orig = test_persist(b, PCACHE_RO, SEG_OFFS, &size, &orig_block);
    assert_int_equal(ld16(entry(orig, 2) + SE_TYPE), PCACHE_TYPE_RELOCS);

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        void *block;
        uint8_t *p = test_copy_at(orig, size, SEG_OFFS, &block);
        pcache_segment seg;
        pcache_report r;
        st16(entry(p, cases[k].index) + SE_FLAGS, cases[k].flags);
        test_resign_segment(p);
        for (int v = PCACHE_VALIDATE_HEADER; v <= PCACHE_VALIDATE_FULL; v++) {
            assert_int_equal(resurrect(&seg, p, size, b, (pcache_validation)v, &r), cases[k].want);
            test_assert_report(&r, cases[k].want);
        }
        free(block);
    }
    free(orig_block);
    pcache_builder_free(b);
}

/* What a reader that does not know the section does: by name here (a 1.0
 * reader does the same for the flag it does not know).  Skippable: skipped
 * at full validation, its raw checksum not held against it; critical:
 * refused. */
static void unknown_compressed_section(void **state)
{
    static const char *const known[] = {"before", "after"};
    uint8_t *data = make_data(2000, 1, 4);
    (void)state;

    for (int skippable = 0; skippable <= 1; skippable++) {
        pcache_builder *b =
            builder_z(PCACHE_CHECKSUM_XXH3_64, data, 2000, 6, skippable ? PCACHE_SECTION_SKIPPABLE : 0);
        uint64_t size;
        void *block;
        uint8_t *p = test_persist(b, PCACHE_RO, SEG_OFFS, &size, &block), *got;
        pcache_expect exp;
        pcache_segment seg;
        pcache_report r;
        pcache_view v;
        const uint8_t *map = p;

        assert_int_equal(ld16(entry(p, 1) + SE_FLAGS),
                         PCACHE_SECTION_COMPRESSED | (skippable ? PCACHE_SECTION_SKIPPABLE : 0));
        assert_true(ld64be(p + trailer_entry(p, 1) + ST_RAW_CHECKSUM) != 0);
        test_expect_all(&exp, pcache_builder_identity(b), PCACHE_VALIDATE_FULL);
        exp.known_sections = known;
        exp.known_section_count = 2;
        if (!skippable) {
            assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), PCACHE_E_UNKNOWN_CRITICAL);
            assert_string_equal(r.section, "z");
        } else {
            assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), PCACHE_OK);
            assert_int_equal(pcache_segment_find(&seg, "z", &v, &r), PCACHE_E_SKIPPED);
            assert_int_equal(pcache_segment_section(&seg, 1, &v, &r), PCACHE_OK);
            assert_int_equal(v.known, 0);
            assert_int_equal(v.loaded_size, 2000);
            /* still a compressed section: it inflates if asked by index */
            assert_int_equal(inflate_exact(&seg, 1, &got, &r), PCACHE_OK);
            assert_memory_equal(got, data, 2000);
            free(got);
        }
        free(block);
        pcache_builder_free(b);
    }
    free(data);
}

/* The raw checksum of a section this reader does not know (a type of a
 * later writer): zero in a segment of this reader's minor, like reserved
 * bytes, free in a later minor's. */
static void raw_checksum_of_unknown_sections(void **state)
{
    uint8_t plain[20], ext[12], *data = make_data(500, 1, 6);
    (void)state;

    test_fill(plain, sizeof plain, 7);
    test_fill(ext, sizeof ext, 8);
    for (int with_compressed = 0; with_compressed <= 1; with_compressed++)
        for (uint16_t minor = 0; minor <= PCACHE_FORMAT_MINOR + 1; minor++) {
            pcache_identity id;
            pcache_builder *b;
            pcache_segment seg;
            pcache_report r;
            uint64_t size;
            void *block;
            uint8_t *p;
            pcache_status want;

            test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
            assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
            assert_int_equal(pcache_builder_add(b, PCACHE_RO, "plain", plain, sizeof plain, 8, 0), PCACHE_OK);
            assert_int_equal(pcache_builder_add_typed(b, PCACHE_RO, "ext", 0x7777, ext, sizeof ext, 4,
                                                      PCACHE_SECTION_SKIPPABLE),
                             PCACHE_OK);
            if (with_compressed) {
                assert_int_equal(pcache_builder_add(b, PCACHE_RO, "z", data, 500, 8, 0), PCACHE_OK);
                assert_int_equal(pcache_builder_set_compression(b, PCACHE_RO, "z", 6), PCACHE_OK);
            }
            p = test_persist(b, PCACHE_RO, SEG_OFFS, &size, &block);
            assert_int_equal(ld16(p + SH_MINOR), with_compressed);
            st16(p + SH_MINOR, minor);
            st64be(p + trailer_entry(p, 1) + ST_RAW_CHECKSUM, 0x1234);
            test_resign_segment(p);
            want = minor <= PCACHE_FORMAT_MINOR ? PCACHE_E_PADDING : PCACHE_OK;
            assert_int_equal(resurrect(&seg, p, size, b, PCACHE_VALIDATE_FULL, &r), want);
            if (want != PCACHE_OK)
                assert_int_equal(r.offset, trailer_entry(p, 1) + ST_RAW_CHECKSUM);
            /* the known, uncompressed neighbour's stays zero at any minor */
            st64be(p + trailer_entry(p, 1) + ST_RAW_CHECKSUM, 0);
            st64be(p + trailer_entry(p, 0) + ST_RAW_CHECKSUM, 0x1234);
            assert_int_equal(resurrect(&seg, p, size, b, PCACHE_VALIDATE_FULL, &r), PCACHE_E_PADDING);
            assert_int_equal(r.offset, trailer_entry(p, 0) + ST_RAW_CHECKSUM);
            free(block);
            pcache_builder_free(b);
        }
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_levels_and_sizes),
        cmocka_unit_test(round_trip_crc32),
        cmocka_unit_test(deterministic),
        cmocka_unit_test(bytes_taken_at_size),
        cmocka_unit_test(file_round_trip),
        cmocka_unit_test(every_bit_flip),
        cmocka_unit_test(flips_in_stored_bytes_by_level),
        cmocka_unit_test(header_level_checks_no_checksum),
        cmocka_unit_test(stream_of_another_length),
        cmocka_unit_test(replaced_streams),
        cmocka_unit_test(bomb_larger_than_stated),
        cmocka_unit_test(impossible_ratio),
        cmocka_unit_test(shorter_than_any_stream),
        cmocka_unit_test(inflate_arguments),
        cmocka_unit_test(writer_refusals),
        cmocka_unit_test(reader_keeps_relocations_off_compressed),
        cmocka_unit_test(unknown_compressed_section),
        cmocka_unit_test(raw_checksum_of_unknown_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
