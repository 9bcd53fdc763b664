/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What persist writes, resurrect gives back: for each class and checksum
 * algorithm, at many file offsets, with data and produced sections, with
 * the length known and unknown; the three validation levels; standalone
 * files through a sink, memory and paths.
 */
#include "support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "format.h"

#define MAX_SECS 8

typedef struct sec_spec {
    const char *name;
    uint64_t size;
    uint32_t align;
    uint32_t flags;
    int produced;
} sec_spec;

/* A producer's context: writes data in pieces of varying length, some of
 * them empty, as a client assembling a section would. */
typedef struct producer {
    const uint8_t *data;
    uint64_t size;
} producer;

typedef struct image_spec {
    uint32_t n;
    sec_spec sec[MAX_SECS];
    uint8_t *data[MAX_SECS];
    producer prod[MAX_SECS];
} image_spec;

static const sec_spec mixed[] = {
    {"alpha", 10, 1, 0, 0},
    {"beta", 20, 16, PCACHE_SECTION_SKIPPABLE, 0},
    {"gen.table", 333, 8, 0, 1},
    {"zero", 0, 64, 0, 0},
    {"page", 100, 4096, 0, 0},
    {"gen.empty", 0, 2, 0, 1},
    {"tail~", 5000, 32, 0, 1},
};

static int produce(void *ctx, pcache_writer *w)
{
    const producer *p = ctx;
    static const size_t pieces[] = {1, 0, 7, 64, 3, 1000};
    uint64_t done = 0;

    for (size_t k = 0; done < p->size; k++) {
        size_t n = pieces[k % (sizeof pieces / sizeof pieces[0])];
        if (n > p->size - done)
            n = (size_t)(p->size - done);
        if (pcache_writer_write(w, p->data + done, n) != PCACHE_OK)
            return 1;
        done += n;
    }
    return pcache_writer_write(w, p->data, 0) == PCACHE_OK ? 0 : 1;
}

static void spec_init(image_spec *s, const sec_spec *secs, uint32_t n, uint32_t seed)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    for (uint32_t i = 0; i < n; i++) {
        s->sec[i] = secs[i];
        s->data[i] = malloc(secs[i].size ? (size_t)secs[i].size : 1);
        assert_non_null(s->data[i]);
        test_fill(s->data[i], (size_t)secs[i].size, seed * 31 + i);
        s->prod[i].data = s->data[i];
        s->prod[i].size = secs[i].size;
    }
}

static void spec_free(image_spec *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        free(s->data[i]);
}

static void spec_add(pcache_builder *b, pcache_class cls, image_spec *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        const sec_spec *e = &s->sec[i];
        if (e->produced)
            assert_int_equal(pcache_builder_add_produced(b, cls, e->name, e->size, e->align, e->flags, produce,
                                                         &s->prod[i]),
                             PCACHE_OK);
        else
            assert_int_equal(pcache_builder_add(b, cls, e->name, s->data[i], e->size, e->align, e->flags),
                             PCACHE_OK);
    }
    assert_int_equal(pcache_builder_section_count(b, cls), s->n);
}

static void check_identity(const pcache_identity *got, const pcache_identity *want)
{
    assert_string_equal(got->client_name, want->client_name);
    assert_int_equal(got->client_version, want->client_version);
    assert_memory_equal(got->image_id, want->image_id, PCACHE_IMAGE_ID_SIZE);
    assert_int_equal(got->byte_order, want->byte_order);
    assert_int_equal(got->pointer_size, want->pointer_size);
    assert_int_equal(got->arch, want->arch);
    assert_int_equal(got->page_size, want->page_size);
    assert_int_equal(got->module_base, want->module_base);
    assert_int_equal(got->module_size, want->module_size);
    assert_int_equal(got->module_digest_len, want->module_digest_len);
    assert_memory_equal(got->module_digest, want->module_digest, want->module_digest_len);
    assert_int_equal(got->checksum, want->checksum);
}

static void check_view(const pcache_segment *seg, const pcache_view *v, const image_spec *s, uint32_t i,
                       uint64_t section_file_offs)
{
    assert_string_equal(v->name, s->sec[i].name);
    assert_int_equal(v->index, i);
    assert_int_equal(v->size, s->sec[i].size);
    assert_int_equal(v->alignment, s->sec[i].align);
    assert_int_equal(v->flags, s->sec[i].flags);
    assert_int_equal(v->type, PCACHE_TYPE_DATA);
    assert_int_equal(v->known, 1);
    assert_int_equal(v->offset, section_file_offs - seg->file_offset);
    assert_ptr_equal(v->data, seg->base + v->offset);
    assert_int_equal((uintptr_t)v->data % s->sec[i].align, 0);
    assert_true(v->offset + v->size <= seg->size);
    if (v->size)
        assert_memory_equal(v->data, s->data[i], (size_t)v->size);
}

/* Everything the builder was given, read back from a resurrected segment. */
static void check_segment(pcache_segment *seg, pcache_builder *b, pcache_class cls, const image_spec *s,
                          const uint8_t *base, uint64_t file_offs, uint64_t size, uint32_t seg_flags)
{
    pcache_view v;
    pcache_report r;
    uint64_t fo;

    assert_ptr_equal(seg->base, base);
    assert_int_equal(seg->size, size);
    assert_int_equal(seg->cls, cls);
    assert_int_equal(seg->file_offset, file_offs);
    assert_int_equal(seg->section_count, s->n);
    assert_int_equal(seg->flags, seg_flags);
    assert_int_equal(seg->format_major, PCACHE_FORMAT_MAJOR);
    assert_int_equal(seg->format_minor, 0); /* no compressed section: written as 1.0 */
    check_identity(&seg->identity, pcache_builder_identity(b));
    for (uint32_t i = 0; i < s->n; i++) {
        assert_int_equal(pcache_builder_section_file_offset(b, cls, s->sec[i].name, &fo), PCACHE_OK);
        memset(&v, 0, sizeof v);
        assert_int_equal(pcache_segment_find(seg, s->sec[i].name, &v, &r), PCACHE_OK);
        check_view(seg, &v, s, i, fo);
        memset(&v, 0, sizeof v);
        assert_int_equal(pcache_segment_section(seg, i, &v, &r), PCACHE_OK);
        check_view(seg, &v, s, i, fo);
    }
    assert_int_equal(pcache_segment_find(seg, "no-such-section", &v, &r), PCACHE_E_NOT_FOUND);
    test_assert_report(&r, PCACHE_E_NOT_FOUND);
    assert_int_equal(pcache_segment_section(seg, s->n, &v, &r), PCACHE_E_NOT_FOUND);
    test_assert_report(&r, PCACHE_E_NOT_FOUND);
}

/* Persists cls at file_offs and resurrects it three ways: the length
 * known and exact, unknown (in a buffer that ends with the segment), and
 * known with more bytes following, as in a .dpc file. */
static void round_trip_at(pcache_builder *b, pcache_class cls, const image_spec *s, uint64_t file_offs,
                          uint32_t seg_flags)
{
    pcache_expect exp;
    pcache_segment seg;
    pcache_report r;
    uint64_t size;
    void *block, *block2;
    uint8_t *p = test_persist(b, cls, file_offs, &size, &block);
    uint8_t *q;
    const uint8_t *map;

    assert_true(size > 0);
    if (!(seg_flags & PCACHE_SEGMENT_PAGE_ROUNDED))
        assert_int_equal((file_offs + size) % SEG_END_ALIGN, 0);
    else
        assert_int_equal((file_offs + size) % TEST_PAGE, 0);
    test_expect_all(&exp, pcache_builder_identity(b), PCACHE_VALIDATE_FULL);

    map = p;
    assert_int_equal(pcache_resurrect(&seg, cls, &map, size, &exp, &r), PCACHE_OK);
    assert_int_equal(r.status, PCACHE_OK);
    assert_ptr_equal(map, p + size);
    check_segment(&seg, b, cls, s, p, file_offs, size, seg_flags);

    map = p;
    assert_int_equal(pcache_resurrect(&seg, cls, &map, PCACHE_SIZE_UNKNOWN, &exp, &r), PCACHE_OK);
    assert_ptr_equal(map, p + size);
    check_segment(&seg, b, cls, s, p, file_offs, size, seg_flags);

    q = test_alloc_at(file_offs, size + 100, &block2);
    memcpy(q, p, (size_t)size);
    memset(q + size, 0xa5, 100);
    map = q;
    assert_int_equal(pcache_resurrect(&seg, cls, &map, size + 100, &exp, &r), PCACHE_OK);
    assert_ptr_equal(map, q + size);
    check_segment(&seg, b, cls, s, q, file_offs, size, seg_flags);
    map = q;
    assert_int_equal(pcache_resurrect(&seg, cls, &map, PCACHE_SIZE_UNKNOWN, &exp, &r), PCACHE_OK);
    assert_ptr_equal(map, q + size);
    free(block2);
    free(block);
}

static const uint64_t offsets[] = {0, 1, 7, 8, 0x1003, 4095, 4096, 4097, 12345, 123456789,
                                   (1ull << 40) + 3, (1ull << 62) + 4095};

static void each_class_algo_offset(void **state)
{
    static const pcache_checksum_algorithm algos[] = {PCACHE_CHECKSUM_XXH3_64, PCACHE_CHECKSUM_CRC32};
    (void)state;

    for (size_t a = 0; a < 2; a++) {
        for (int cls = 0; cls < PCACHE_CLASS_COUNT; cls++) {
            for (uint32_t flags = 0; flags <= PCACHE_SEGMENT_PAGE_ROUNDED; flags++) {
                pcache_identity id;
                pcache_builder *b;
                image_spec s;

                test_identity_with_module(&id, algos[a]);
                assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
                spec_init(&s, mixed, sizeof mixed / sizeof mixed[0], (uint32_t)(a * 10 + (size_t)cls));
                spec_add(b, (pcache_class)cls, &s);
                assert_int_equal(pcache_builder_set_segment_flags(b, (pcache_class)cls, flags), PCACHE_OK);
                for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++)
                    round_trip_at(b, (pcache_class)cls, &s, offsets[o], flags);
                pcache_builder_free(b);
                spec_free(&s);
            }
        }
    }
}

/* Single sections of every alignment and a few sizes, at offsets around a
 * page: the smallest segments there are. */
static void single_sections(void **state)
{
    (void)state;
    for (uint32_t align = 1; align <= TEST_PAGE; align *= 2) {
        for (uint64_t size = 0; size <= 17; size += 17) {
            sec_spec one = {"only", size, align, 0, align % 4 == 0};
            pcache_identity id;
            pcache_builder *b;
            image_spec s;

            test_identity(&id, align % 2 ? PCACHE_CHECKSUM_CRC32 : PCACHE_CHECKSUM_XXH3_64);
            assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
            spec_init(&s, &one, 1, align);
            spec_add(b, PCACHE_RX, &s);
            for (uint64_t f = 4096 - 9; f <= 4096 + 9; f++)
                round_trip_at(b, PCACHE_RX, &s, f, 0);
            pcache_builder_free(b);
            spec_free(&s);
        }
    }
}

/* The three classes back to back, as in a .dpc file: each is sized where
 * the previous ends, and read with the length unknown. */
static void classes_back_to_back(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    image_spec s[PCACHE_CLASS_COUNT];
    uint64_t start = 0x5a3, F = start, size[PCACHE_CLASS_COUNT], total;
    pcache_buffer_sink bs;
    pcache_sink sink;
    pcache_expect exp;
    pcache_segment seg;
    pcache_report r;
    const uint8_t *map;
    uint8_t *p;
    void *block;
    (void)state;

    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        spec_init(&s[c], mixed + c, 3, (uint32_t)c + 100);
        spec_add(b, (pcache_class)c, &s[c]);
    }
    assert_int_equal(pcache_builder_set_segment_flags(b, PCACHE_RX, PCACHE_SEGMENT_PAGE_ROUNDED), PCACHE_OK);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        assert_int_equal(pcache_builder_size(b, (pcache_class)c, F, &size[c]), PCACHE_OK);
        F += size[c];
    }
    total = F - start;
    p = test_alloc_at(start, total, &block);
    sink = pcache_sink_buffer(&bs, p, (size_t)total);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        assert_int_equal(pcache_builder_persist(b, (pcache_class)c, &sink), PCACHE_OK);
    assert_int_equal(bs.used, total);

    pcache_expect_init(&exp, &id);
    map = p;
    F = start;
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        const uint8_t *before = map;
        assert_int_equal(pcache_resurrect(&seg, (pcache_class)c, &map, PCACHE_SIZE_UNKNOWN, &exp, &r), PCACHE_OK);
        assert_ptr_equal(map, before + size[c]);
        check_segment(&seg, b, (pcache_class)c, &s[c], before, F, size[c],
                      c == PCACHE_RX ? PCACHE_SEGMENT_PAGE_ROUNDED : 0);
        /* the next segment's image id must be this one's */
        pcache_expect_image_id(&exp, seg.identity.image_id);
        F += size[c];
    }
    assert_ptr_equal(map, p + total);
    free(block);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        spec_free(&s[c]);
    pcache_builder_free(b);
}

/* size() may be called again at another offset; the last call wins. */
static void resize_then_persist(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    image_spec s;
    uint64_t size;
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    spec_init(&s, mixed, 4, 9);
    spec_add(b, PCACHE_RO, &s);
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, 3, &size), PCACHE_OK);
    round_trip_at(b, PCACHE_RO, &s, 0x777, 0);
    spec_free(&s);
    pcache_builder_free(b);
}

/* A segment (class rw, at file offset 0x2001) of three sections, one byte
 * of section "beta" corrupted, and what made it. */
typedef struct corrupted {
    pcache_builder *b;
    image_spec s;
    uint64_t size;
    void *block;
    uint8_t *p; /* the segment */
} corrupted;

static void corrupted_make(corrupted *c)
{
    pcache_identity id;
    pcache_view v;
    pcache_segment seg;
    pcache_expect exp;
    const uint8_t *map;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&c->b, &id), PCACHE_OK);
    spec_init(&c->s, mixed, 3, 77);
    spec_add(c->b, PCACHE_RW, &c->s);
    c->p = test_persist(c->b, PCACHE_RW, 0x2001, &c->size, &c->block);
    pcache_expect_init(&exp, &id);
    map = c->p;
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RW, &map, c->size, &exp, NULL), PCACHE_OK);
    assert_int_equal(pcache_segment_find(&seg, "beta", &v, NULL), PCACHE_OK);
    c->p[v.offset + 5] ^= 0x40;
}

static void corrupted_free(corrupted *c)
{
    free(c->block);
    spec_free(&c->s);
    pcache_builder_free(c->b);
}

static void lazy_reports_on_access(void **state)
{
    corrupted c;
    pcache_expect exp;
    pcache_segment seg;
    pcache_report r;
    pcache_view v;
    const uint8_t *map;
    uint64_t fo;
    (void)state;

    corrupted_make(&c);
    map = c.p;
    pcache_expect_init(&exp, pcache_builder_identity(c.b));
    exp.validation = PCACHE_VALIDATE_LAZY;
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RW, &map, c.size, &exp, &r), PCACHE_OK);
    assert_ptr_equal(map, c.p + c.size);
    /* the intact sections are served and verified */
    assert_int_equal(pcache_segment_find(&seg, "alpha", &v, &r), PCACHE_OK);
    assert_memory_equal(v.data, c.s.data[0], (size_t)c.s.sec[0].size);
    assert_int_equal(pcache_segment_section(&seg, 2, &v, &r), PCACHE_OK);
    assert_int_equal(seg.verified[0], (1u << 0) | (1u << 2));
    /* the corrupted one is reported every time it is asked for */
    assert_int_equal(pcache_builder_section_file_offset(c.b, PCACHE_RW, "beta", &fo), PCACHE_OK);
    for (int k = 0; k < 2; k++) {
        memset(&r, 0, sizeof r);
        assert_int_equal(pcache_segment_find(&seg, "beta", &v, &r), PCACHE_E_SECTION_CHECKSUM);
        test_assert_report(&r, PCACHE_E_SECTION_CHECKSUM);
        assert_string_equal(r.section, "beta");
        assert_int_equal(r.cls, PCACHE_RW);
        assert_int_equal(r.offset, fo - 0x2001);
        assert_int_equal(pcache_segment_section(&seg, 1, &v, &r), PCACHE_E_SECTION_CHECKSUM);
        test_assert_report(&r, PCACHE_E_SECTION_CHECKSUM);
    }
    assert_int_equal(seg.verified[0] & (1u << 1), 0);

    /* full validation refuses the segment up front */
    exp.validation = PCACHE_VALIDATE_FULL;
    map = c.p;
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RW, &map, c.size, &exp, &r), PCACHE_E_SECTION_CHECKSUM);
    test_assert_report(&r, PCACHE_E_SECTION_CHECKSUM);
    assert_string_equal(r.section, "beta");
    assert_ptr_equal(map, c.p); /* not advanced on failure */
    assert_int_equal(r.offset, fo - 0x2001);
    corrupted_free(&c);
}

static void header_level_does_not_read_sections(void **state)
{
    corrupted c;
    pcache_expect exp;
    pcache_segment seg;
    pcache_report r;
    pcache_view v;
    const uint8_t *map;
    (void)state;

    corrupted_make(&c);
    map = c.p;
    pcache_expect_init(&exp, pcache_builder_identity(c.b));
    exp.validation = PCACHE_VALIDATE_HEADER;
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RW, &map, c.size, &exp, &r), PCACHE_OK);
    assert_int_equal(pcache_segment_find(&seg, "beta", &v, &r), PCACHE_OK);
    assert_int_equal(v.size, c.s.sec[1].size);
    assert_memory_not_equal(v.data, c.s.data[1], (size_t)v.size); /* served as is */
    assert_int_equal(pcache_segment_section(&seg, 1, &v, &r), PCACHE_OK);
    corrupted_free(&c);
}

/* LAZY and HEADER do not read padding; FULL does. */
static void padding_checked_only_at_full(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    image_spec s;
    uint64_t size;
    void *block;
    uint8_t *p;
    pcache_expect exp;
    pcache_segment seg;
    pcache_report r;
    const uint8_t *map;
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_CRC32);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    spec_init(&s, mixed, 2, 5);
    spec_add(b, PCACHE_RO, &s);
    assert_int_equal(pcache_builder_set_segment_flags(b, PCACHE_RO, PCACHE_SEGMENT_PAGE_ROUNDED), PCACHE_OK);
    p = test_persist(b, PCACHE_RO, 0x1003, &size, &block);
    assert_int_equal(size, 0xFFD); /* the worked example */
    p[0xF00] = 1;                  /* page-rounding padding */
    pcache_expect_init(&exp, &id);
    for (int level = PCACHE_VALIDATE_HEADER; level <= PCACHE_VALIDATE_LAZY; level++) {
        exp.validation = (pcache_validation)level;
        map = p;
        assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), PCACHE_OK);
    }
    exp.validation = PCACHE_VALIDATE_FULL;
    map = p;
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &r), PCACHE_E_PADDING);
    test_assert_report(&r, PCACHE_E_PADDING);
    assert_int_equal(r.offset, 0xF00);
    test_assert_values(&r, 0, 1);
    free(block);
    spec_free(&s);
    pcache_builder_free(b);
}

static void writable_views(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    image_spec s;
    uint64_t size;
    void *block;
    uint8_t *p, *m;
    pcache_expect exp;
    pcache_segment seg;
    pcache_view v;
    const uint8_t *map;
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    spec_init(&s, mixed, 1, 5);
    spec_add(b, PCACHE_RW, &s);
    p = test_persist(b, PCACHE_RW, 64, &size, &block);
    pcache_expect_init(&exp, &id);
    map = p;
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RW, &map, size, &exp, NULL), PCACHE_OK);
    assert_int_equal(pcache_segment_find(&seg, "alpha", &v, NULL), PCACHE_OK);
    assert_null(pcache_view_mutable(&seg, &v));
    exp.writable = 1;
    map = p;
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RW, &map, size, &exp, NULL), PCACHE_OK);
    assert_int_equal(pcache_segment_find(&seg, "alpha", &v, NULL), PCACHE_OK);
    m = pcache_view_mutable(&seg, &v);
    assert_ptr_equal(m, v.data);
    m[0] ^= 1;
    assert_int_equal(((const uint8_t *)v.data)[0], s.data[0][0] ^ 1);
    free(block);
    spec_free(&s);
    pcache_builder_free(b);
}

/* ---- standalone files ---- */

static void build_file_image(pcache_builder **bp, image_spec s[PCACHE_CLASS_COUNT], pcache_checksum_algorithm algo,
                             int with_rx)
{
    pcache_identity id;

    test_identity_with_module(&id, algo);
    assert_int_equal(pcache_builder_new(bp, &id), PCACHE_OK);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        spec_init(&s[c], mixed + 2 * c, c == PCACHE_RX && !with_rx ? 0 : 3, 40u + (uint32_t)c);
        spec_add(*bp, (pcache_class)c, &s[c]);
    }
}

static void check_image(pcache_image *img, pcache_builder *b, image_spec s[PCACHE_CLASS_COUNT], const void *base,
                        uint64_t size)
{
    const pcache_identity *id = pcache_builder_identity(b);
    uint64_t seg_size;

    assert_ptr_equal(img->base, base);
    assert_int_equal(img->size, size);
    assert_int_equal(img->format_major, PCACHE_FORMAT_MAJOR);
    assert_int_equal(img->format_minor, 0); /* no compressed section: written as 1.0 */
    assert_int_equal(img->page_size, id->page_size);
    assert_int_equal(img->checksum, id->checksum);
    assert_memory_equal(img->image_id, id->image_id, PCACHE_IMAGE_ID_SIZE);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        pcache_segment *seg = pcache_image_segment(img, (pcache_class)c);
        if (s[c].n == 0) {
            assert_null(seg);
            assert_int_equal(img->present[c], 0);
            continue;
        }
        assert_non_null(seg);
        assert_int_equal(img->offset[c] % id->page_size, 0);
        assert_int_equal(pcache_builder_size(b, (pcache_class)c, img->offset[c], &seg_size), PCACHE_OK);
        assert_int_equal(img->seg_size[c], seg_size);
        check_segment(seg, b, (pcache_class)c, &s[c], (const uint8_t *)base + img->offset[c], img->offset[c],
                      seg_size, 0);
    }
}

static void file_through_sink_and_memory(void **state)
{
    static const pcache_checksum_algorithm algos[] = {PCACHE_CHECKSUM_XXH3_64, PCACHE_CHECKSUM_CRC32};
    (void)state;

    for (int a = 0; a < 2; a++) {
        for (int with_rx = 0; with_rx <= 1; with_rx++) {
            pcache_builder *b;
            image_spec s[PCACHE_CLASS_COUNT];
            pcache_image img;
            pcache_expect exp;
            pcache_report r;
            uint64_t size;
            uint8_t *file;

            build_file_image(&b, s, algos[a], with_rx);
            file = test_write_file(b, &size);
            assert_memory_equal(file, FILE_MAGIC, 8);
            assert_int_equal(size % 8, 0);
            pcache_expect_init(&exp, pcache_builder_identity(b));
            assert_int_equal(pcache_image_open_memory(&img, file, size, &exp, &r), PCACHE_OK);
            check_image(&img, b, s, file, size);
            pcache_image_close(&img); /* nothing owned: a no-op */
            /* without expectations, as tools open files */
            assert_int_equal(pcache_image_open_memory(&img, file, size, NULL, &r), PCACHE_OK);
            check_image(&img, b, s, file, size);
            free(file);
            for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
                spec_free(&s[c]);
            pcache_builder_free(b);
        }
    }
}

/* docs/FORMAT.md 7.6. */
static void file_example(void **state)
{
    static const uint8_t a[10], bb[20], rr[8];
    pcache_identity id;
    pcache_builder *b;
    pcache_image img;
    uint64_t size;
    uint8_t *file;
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "a", a, sizeof a, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "b", bb, sizeof bb, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "r", rr, sizeof rr, 8, 0), PCACHE_OK);
    file = test_write_file(b, &size);
    assert_int_equal(size, 0x2178);
    assert_int_equal(ld64(file + FH_FILE_SIZE), 0x2178);
    assert_int_equal(ld64(file + FH_SEGMENTS + 0), 0x1000);
    assert_int_equal(ld64(file + FH_SEGMENTS + 8), 0x1C8);
    assert_int_equal(ld64(file + FH_SEGMENTS + 16), 0);
    assert_int_equal(ld64(file + FH_SEGMENTS + 24), 0);
    assert_int_equal(ld64(file + FH_SEGMENTS + 32), 0x2000);
    assert_int_equal(ld64(file + FH_SEGMENTS + 40), 0x158);
    assert_memory_equal(file + 0x2158, FILE_FOOTER_MAGIC, 8);
    assert_int_equal(pcache_image_open_memory(&img, file, size, NULL, NULL), PCACHE_OK);
    assert_int_equal(img.seg[PCACHE_RO].file_offset, 0x1000);
    free(file);
    pcache_builder_free(b);
}

static void empty_image_file(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    pcache_image img;
    uint64_t size;
    uint8_t *file;
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_CRC32);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    file = test_write_file(b, &size);
    assert_int_equal(size, TEST_PAGE + FILE_FOOTER_SIZE);
    assert_int_equal(pcache_image_open_memory(&img, file, size, NULL, NULL), PCACHE_OK);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        assert_null(pcache_image_segment(&img, (pcache_class)c));
    free(file);
    pcache_builder_free(b);
}

static char *temp_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = malloc(4096);

    assert_non_null(dir);
    snprintf(dir, 4096, "%s/pcache-round-trip-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void file_through_path(void **state)
{
    pcache_builder *b;
    image_spec s[PCACHE_CLASS_COUNT];
    pcache_image img;
    pcache_expect exp;
    pcache_report r;
    uint64_t size;
    uint8_t *file, *disk;
    char *dir = temp_dir(), path[4200];
    FILE *fp;
    (void)state;

    build_file_image(&b, s, PCACHE_CHECKSUM_XXH3_64, 1);
    file = test_write_file(b, &size);
    snprintf(path, sizeof path, "%s/image.pcache", dir);
    assert_int_equal(pcache_file_write_path(b, path, &r), PCACHE_OK);
    /* the same bytes as through a sink */
    disk = malloc((size_t)size + 1);
    assert_non_null(disk);
    fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(disk, 1, (size_t)size + 1, fp), size);
    fclose(fp);
    assert_memory_equal(disk, file, (size_t)size);

    pcache_expect_init(&exp, pcache_builder_identity(b));
    assert_int_equal(pcache_image_read_path(&img, path, &exp, &r), PCACHE_OK);
    assert_non_null(img.owned);
    assert_int_equal((uintptr_t)img.base % TEST_PAGE, 0);
    check_image(&img, b, s, img.base, size);
    pcache_image_close(&img);
    assert_null(img.owned);

    /* a file that is not there, and a path that cannot be created */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(pcache_image_read_path(&img, path, &exp, &r), PCACHE_E_IO);
    test_assert_report(&r, PCACHE_E_IO);
    assert_int_equal(r.sys_errno, ENOENT);
    assert_non_null(strstr(r.message, path));
    snprintf(path, sizeof path, "%s/no-such-dir/image.pcache", dir);
    assert_int_equal(pcache_file_write_path(b, path, &r), PCACHE_E_IO);
    test_assert_report(&r, PCACHE_E_IO);
    assert_int_equal(r.sys_errno, ENOENT);
    /* a directory is not a file */
    assert_int_equal(pcache_image_read_path(&img, dir, &exp, &r), PCACHE_E_IO);
    test_assert_report(&r, PCACHE_E_IO);

    assert_int_equal(rmdir(dir), 0);
    free(dir);
    free(disk);
    free(file);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        spec_free(&s[c]);
    pcache_builder_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_class_algo_offset),
        cmocka_unit_test(single_sections),
        cmocka_unit_test(classes_back_to_back),
        cmocka_unit_test(resize_then_persist),
        cmocka_unit_test(lazy_reports_on_access),
        cmocka_unit_test(header_level_does_not_read_sections),
        cmocka_unit_test(padding_checked_only_at_full),
        cmocka_unit_test(writable_views),
        cmocka_unit_test(file_through_sink_and_memory),
        cmocka_unit_test(file_example),
        cmocka_unit_test(empty_image_file),
        cmocka_unit_test(file_through_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
