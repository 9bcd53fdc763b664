/* SPDX-License-Identifier: BSD-2-Clause */
/* Images stored in a host's separate slots (pcache/bind.h): the manifest's
 * bytes, rw carried in ro, binding segments resurrected one by one from
 * one buffer laid out as DynamoRIO lays out its file (ro after a client
 * list, rx on a page, rw after the stubs), the relocated values, and every
 * refusal with its own code.  Expected values are computed here from the
 * layout the builder reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "pcache/bind.h"
#include "support.h"

/* DynamoRIO-like slot offsets: ro after a 38-byte client list, rx on a
 * page, rw after the stubs. */
#define RO_AT 0x1b6u
#define RX_AT 0x2000u
#define RW_AT 0x5140u
#define FILE_SIZE 0x6000u

#define MODULE_NOW 0x7f3a00000000ull
#define CLIENT_PERSIST 0x7f1000000000ull

static uint8_t table_bytes[32], code_bytes[64], counters_bytes[24], flags_bytes[5];

typedef struct split_file {
    uint8_t *base;
    void *block;
    uint64_t off[PCACHE_CLASS_COUNT], size[PCACHE_CLASS_COUNT];
    pcache_identity id;
    pcache_segment seg[PCACHE_CLASS_COUNT];
    pcache_segment *segs[PCACHE_CLASS_COUNT];
} split_file;

static uint64_t client_now;

static int resolve(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    (void)ctx;
    if (strcmp(name, PCACHE_ANCHOR_MODULE) == 0) {
        assert_int_equal(persisted, TEST_MODULE_BASE);
        *address = MODULE_NOW;
        return 0;
    }
    if (strcmp(name, PCACHE_ANCHOR_CLIENT) == 0) {
        assert_int_equal(persisted, CLIENT_PERSIST);
        *address = client_now;
        return 0;
    }
    return 1;
}

static void add_patch(pcache_builder *b, pcache_patch p)
{
    assert_int_equal(pcache_builder_add_patch(b, &p), PCACHE_OK);
}

/* ro "table", rx "code", rw "counters" and "flags", with one reference of
 * each sort the loader must handle. */
static pcache_builder *reference_builder(const pcache_identity *id)
{
    pcache_builder *b;

    test_fill(table_bytes, sizeof table_bytes, 1);
    test_fill(code_bytes, sizeof code_bytes, 2);
    test_fill(counters_bytes, sizeof counters_bytes, 3);
    test_fill(flags_bytes, sizeof flags_bytes, 4);
    assert_int_equal(pcache_builder_new(&b, id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "table", table_bytes, sizeof table_bytes, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", code_bytes, sizeof code_bytes, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "counters", counters_bytes, sizeof counters_bytes, 8, 0),
                     PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "flags", flags_bytes, sizeof flags_bytes, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_segment_flags(b, PCACHE_RX, PCACHE_SEGMENT_PAGE_ROUNDED), PCACHE_OK);
    assert_int_equal(pcache_builder_set_anchor(b, PCACHE_ANCHOR_CLIENT, CLIENT_PERSIST), PCACHE_OK);
    /* ro -> rx (absolute: a record in ro), ro -> module */
    add_patch(b, (pcache_patch){.cls = PCACHE_RO, .section = "table", .offset = 0, .kind = PCACHE_RELOC_ABS64,
                                .target_kind = PCACHE_TARGET_SECTION, .target_class = PCACHE_RX,
                                .target_section = "code", .target_offset = 0x10});
    add_patch(b, (pcache_patch){.cls = PCACHE_RO, .section = "table", .offset = 8, .kind = PCACHE_RELOC_ABS64,
                                .target_kind = PCACHE_TARGET_ANCHOR, .anchor = PCACHE_ANCHOR_MODULE,
                                .target_offset = 0x40});
    /* rx -> ro (relative: resolved at persist), rx -> client (a record in rx) */
    add_patch(b, (pcache_patch){.cls = PCACHE_RX, .section = "code", .offset = 3, .kind = PCACHE_RELOC_REL32,
                                .pc_offset = 4, .target_kind = PCACHE_TARGET_SECTION, .target_class = PCACHE_RO,
                                .target_section = "table", .target_offset = 8});
    add_patch(b, (pcache_patch){.cls = PCACHE_RX, .section = "code", .offset = 0x20, .kind = PCACHE_RELOC_REL32,
                                .pc_offset = 4, .target_kind = PCACHE_TARGET_ANCHOR, .anchor = PCACHE_ANCHOR_CLIENT,
                                .target_offset = 0x100});
    /* rw -> ro (absolute: a record where rw lives) */
    add_patch(b, (pcache_patch){.cls = PCACHE_RW, .section = "counters", .offset = 16, .kind = PCACHE_RELOC_ABS64,
                                .target_kind = PCACHE_TARGET_SECTION, .target_class = PCACHE_RO,
                                .target_section = "table"});
    return b;
}

/* Sizes every class (ro, rx, rw, as DynamoRIO does), then persists each
 * into one page-aligned buffer at its slot. */
static void write_split(pcache_builder *b, split_file *f)
{
    const uint64_t at[PCACHE_CLASS_COUNT] = {RO_AT, RX_AT, RW_AT};

    memset(f, 0, sizeof *f);
    f->id = *pcache_builder_identity(b);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        f->off[c] = at[c];
        assert_int_equal(pcache_builder_size(b, (pcache_class)c, at[c], &f->size[c]), PCACHE_OK);
        assert_true(at[c] + f->size[c] <= FILE_SIZE);
    }
    /* 3 pages more than the file: room for copies near it (bump_over) */
    assert_int_equal(posix_memalign(&f->block, TEST_PAGE, 4 * FILE_SIZE), 0);
    memset(f->block, 0, 4 * FILE_SIZE);
    f->base = f->block;
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        pcache_buffer_sink state;
        pcache_sink sink = pcache_sink_buffer(&state, f->base + at[c], (size_t)f->size[c]);
        if (f->size[c] == 0)
            continue;
        assert_int_equal(pcache_builder_persist(b, (pcache_class)c, &sink), PCACHE_OK);
        assert_int_equal(state.used, f->size[c]);
    }
}

static pcache_status resurrect_all(split_file *f, pcache_validation level)
{
    pcache_expect exp;
    pcache_report rep;

    pcache_expect_init(&exp, &f->id);
    exp.validation = level;
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        const uint8_t *map = f->base + f->off[c];
        pcache_status st;
        f->segs[c] = NULL;
        if (f->size[c] == 0)
            continue;
        st = pcache_resurrect(&f->seg[c], (pcache_class)c, &map, PCACHE_SIZE_UNKNOWN, &exp, &rep);
        if (st != PCACHE_OK)
            return st;
        assert_ptr_equal(map, f->base + f->off[c] + f->size[c]);
        f->segs[c] = &f->seg[c];
    }
    return PCACHE_OK;
}

static pcache_bind_options options(int rx_writable)
{
    pcache_bind_options o;
    memset(&o, 0, sizeof o);
    o.resolve = resolve;
    o.rx_writable = rx_writable;
    return o;
}

static uint64_t section_file_offset(pcache_builder *b, pcache_class c, const char *name)
{
    uint64_t fo;
    assert_int_equal(pcache_builder_section_file_offset(b, c, name, &fo), PCACHE_OK);
    return fo;
}

/* ------------------------------------------------------------------ */

static void test_manifest_bytes(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    split_file f;
    pcache_view v;
    const uint8_t *m;

    (void)state;
    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    b = reference_builder(&id);
    assert_int_equal(pcache_builder_prepare_split(b, 0), PCACHE_OK);
    /* the manifest is the last ro section, named as documented */
    write_split(b, &f);
    assert_int_equal(resurrect_all(&f, PCACHE_VALIDATE_FULL), PCACHE_OK);
    assert_int_equal(pcache_segment_find(&f.seg[PCACHE_RO], PCACHE_MANIFEST_SECTION, &v, NULL), PCACHE_OK);
    assert_int_equal(v.size, PCACHE_MANIFEST_SIZE);
    assert_int_equal(v.index, 1);
    m = v.data;
    assert_int_equal(ld16(m + 0), 1);
    assert_int_equal(ld16(m + 2), 0);
    assert_int_equal(ld32(m + 4), 0);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        assert_int_equal(ld64(m + 8 + 16 * c), f.off[c]);
        assert_int_equal(ld64(m + 16 + 16 * c), f.size[c]);
        assert_true(f.size[c] > 0);
    }
    assert_int_equal(ld64(m + 56), 0);
    pcache_builder_free(b);
    free(f.block);
}

static void check_bound_values(pcache_builder *b, split_file *f, pcache_bound_image *img, int carried)
{
    const uint64_t B = (uint64_t)(uintptr_t)f->base;
    pcache_view v, w;
    uint8_t *rw;
    int32_t rel;

    assert_int_equal(img->image_base, B);
    /* ro table, relocated in a copy: rx code + 0x10, module + 0x40 */
    assert_int_equal(pcache_bound_find(img, PCACHE_RO, "table", &v, NULL), PCACHE_OK);
    assert_string_equal(v.name, "table");
    assert_ptr_not_equal(v.data, f->base + section_file_offset(b, PCACHE_RO, "table"));
    assert_int_equal(ld64(v.data), B + section_file_offset(b, PCACHE_RX, "code") + 0x10);
    assert_int_equal(ld64((const uint8_t *)v.data + 8), MODULE_NOW + 0x40);
    assert_memory_equal((const uint8_t *)v.data + 16, table_bytes + 16, 16);
    assert_null(pcache_bound_writable(img, PCACHE_RO, &v));
    /* rx code, in place: the persist-time rel32 to table + 8 and the
     * relocated rel32 to client + 0x100 */
    assert_int_equal(pcache_bound_find(img, PCACHE_RX, "code", &v, NULL), PCACHE_OK);
    assert_ptr_equal(v.data, f->base + section_file_offset(b, PCACHE_RX, "code"));
    memcpy(&rel, (const uint8_t *)v.data + 3, 4);
    assert_int_equal((uint64_t)((int64_t)(B + section_file_offset(b, PCACHE_RX, "code") + 3 + 4) + rel),
                     B + section_file_offset(b, PCACHE_RO, "table") + 8);
    memcpy(&rel, (const uint8_t *)v.data + 0x20, 4);
    assert_int_equal((uint64_t)((int64_t)(B + section_file_offset(b, PCACHE_RX, "code") + 0x20 + 4) + rel),
                     client_now + 0x100);
    assert_null(pcache_bound_writable(img, PCACHE_RX, &v));
    /* rw counters: a private writable copy, relocated: table's address */
    assert_int_equal(pcache_bound_find(img, PCACHE_RW, "counters", &v, NULL), PCACHE_OK);
    assert_string_equal(v.name, "counters");
    assert_int_equal(v.size, sizeof counters_bytes);
    assert_memory_equal(v.data, counters_bytes, 16);
    assert_int_equal(ld64((const uint8_t *)v.data + 16), B + section_file_offset(b, PCACHE_RO, "table"));
    rw = pcache_bound_writable(img, PCACHE_RW, &v);
    assert_non_null(rw);
    assert_true(rw < f->base || rw >= f->base + FILE_SIZE);
    assert_int_equal((uintptr_t)rw % 8, 0);
    assert_int_equal(pcache_bound_find(img, PCACHE_RW, "flags", &w, NULL), PCACHE_OK);
    assert_memory_equal(w.data, flags_bytes, sizeof flags_bytes);
    /* writing the copy leaves the mapping alone */
    {
        uint8_t before[FILE_SIZE];
        memcpy(before, f->base, FILE_SIZE);
        memset(rw, 0xab, (size_t)v.size);
        memset(pcache_bound_writable(img, PCACHE_RW, &w), 0xcd, (size_t)w.size);
        assert_memory_equal(before, f->base, FILE_SIZE);
    }
    /* names of the library are not client sections */
    assert_int_equal(pcache_bound_find(img, PCACHE_RO, PCACHE_MANIFEST_SECTION, &v, NULL), PCACHE_E_NOT_FOUND);
    assert_int_equal(pcache_bound_find(img, PCACHE_RW, "absent", &v, NULL), PCACHE_E_NOT_FOUND);
    assert_int_equal(!!(img->manifest_flags & PCACHE_MANIFEST_RW_CARRIED), carried);
}

static void bind_round_trip(int carry)
{
    pcache_identity id;
    pcache_builder *b;
    split_file f;
    pcache_bound_image img;
    pcache_bind_options o = options(1);
    pcache_report rep;

    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    b = reference_builder(&id);
    assert_int_equal(pcache_builder_prepare_split(b, carry ? PCACHE_SPLIT_CARRY_RW : 0), PCACHE_OK);
    if (carry) {
        assert_int_equal(pcache_builder_section_count(b, PCACHE_RW), 0);
        /* table, .rw/counters, .rw/flags, .image */
        assert_int_equal(pcache_builder_section_count(b, PCACHE_RO), 4);
    }
    write_split(b, &f);
    assert_int_equal(f.size[PCACHE_RW] == 0, carry);
    for (pcache_validation level = PCACHE_VALIDATE_HEADER; level <= PCACHE_VALIDATE_FULL; level++) {
        client_now = (uint64_t)(uintptr_t)f.base + 0x10000000u;
        assert_int_equal(resurrect_all(&f, level), PCACHE_OK);
        assert_int_equal(pcache_bind(&img, f.segs, &o, &rep), PCACHE_OK);
        check_bound_values(b, &f, &img, carry);
        pcache_bound_release(&img);
        assert_null(img.copy[PCACHE_RO]);
        /* the in-place rx relocation made the mapping differ from the
         * stored bytes: rewrite the file for the next round */
        free(f.block);
        write_split(b, &f);
    }
    pcache_builder_free(b);
    free(f.block);
}

static void test_bind_rw_slot(void **state)
{
    (void)state;
    bind_round_trip(0);
}

static void test_bind_rw_carried(void **state)
{
    (void)state;
    bind_round_trip(1);
}

/* Copies carved from the pages after the "file" in its own block, so that
 * a rel32 from a copy reaches what one from the file reaches (whatever
 * the allocator, sanitizers included, does with addresses). */
typedef struct bump {
    uint8_t *next, *end;
    int live;
} bump;

static void *bump_alloc(void *ctx, size_t size)
{
    bump *bp = ctx;
    uint8_t *p = bp->next;
    if ((size_t)(bp->end - p) < size)
        return NULL;
    bp->next += size;
    bp->live++;
    return p;
}

static void bump_free(void *ctx, void *mem, size_t size)
{
    bump *bp = ctx;
    (void)mem;
    (void)size;
    bp->live--;
}

static void bump_over(bump *bp, split_file *f, pcache_bind_options *o)
{
    bp->next = f->base + FILE_SIZE;
    bp->end = f->base + 4 * FILE_SIZE;
    bp->live = 0;
    o->alloc = o->alloc_exec = bump_alloc;
    o->free = o->free_exec = bump_free;
    o->alloc_ctx = bp;
}

static void never_free(void *ctx, void *mem, size_t size)
{
    (void)ctx;
    (void)mem;
    (void)size;
    fail_msg("nothing was allocated");
}

/* PCACHE_BIND_PRIVATE: every view in private memory, ro and rx one block
 * at their file distance, relocated for it; the mapping untouched (rx too:
 * rx_writable 0); the segments then read the copies, so the mapping can
 * go: it is overwritten after bind, and lookups, lazy checksums and the
 * values still hold.  pcache_bind_manifest_entry() says where each
 * segment is. */
static void test_bind_private(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    split_file f;
    pcache_bound_image img;
    pcache_bind_options o = options(0);
    pcache_report rep;
    bump after;

    (void)state;
    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    b = reference_builder(&id);
    assert_int_equal(pcache_builder_prepare_split(b, PCACHE_SPLIT_CARRY_RW), PCACHE_OK);
    write_split(b, &f);
    o.flags = PCACHE_BIND_PRIVATE;
    for (pcache_validation level = PCACHE_VALIDATE_HEADER; level <= PCACHE_VALIDATE_FULL; level++) {
        bump bp;
        uint8_t *pristine = malloc(FILE_SIZE);
        uint64_t C, fo, sz;
        pcache_view v;
        int32_t rel;

        assert_non_null(pristine);
        memcpy(pristine, f.base, FILE_SIZE);
        client_now = (uint64_t)(uintptr_t)f.base + 0x10000000u;
        assert_int_equal(resurrect_all(&f, level), PCACHE_OK);
        for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
            assert_int_equal(pcache_bind_manifest_entry(&f.seg[PCACHE_RO], (pcache_class)c, &fo, &sz, &rep),
                             PCACHE_OK);
            assert_int_equal(fo, c == PCACHE_RW ? 0 : f.off[c]);
            assert_int_equal(sz, c == PCACHE_RW ? 0 : f.size[c]);
        }
        assert_int_equal(pcache_bind_manifest_entry(&f.seg[PCACHE_RX], PCACHE_RO, &fo, &sz, &rep),
                         PCACHE_E_INVALID_ARGUMENT);
        bump_over(&bp, &f, &o);
        assert_int_equal(pcache_bind(&img, f.segs, &o, &rep), PCACHE_OK);
        assert_int_equal(bp.live, 1); /* one block: ro, rx, carried rw */
        /* nothing written where the file is mapped */
        assert_memory_equal(pristine, f.base, FILE_SIZE);
        assert_int_equal(img.mapping_rx_relocated, 0);
        C = img.copy_base;
        assert_int_not_equal(C, 0);
        for (int c = PCACHE_RO; c <= PCACHE_RX; c++) {
            assert_ptr_equal(img.copy[c], (uint8_t *)(uintptr_t)(C + f.off[c]));
            assert_ptr_equal(f.seg[c].base, img.copy[c]);
            assert_true(img.copy[c] + f.size[c] <= f.base || img.copy[c] >= f.base + FILE_SIZE);
        }
        /* the mapping goes away (here: overwritten) */
        memset(f.base, 0xee, FILE_SIZE);
        /* ro, relocated for the copies: rx code's copy + 0x10 */
        assert_int_equal(pcache_bound_find(&img, PCACHE_RO, "table", &v, NULL), PCACHE_OK);
        assert_int_equal(ld64(v.data), C + section_file_offset(b, PCACHE_RX, "code") + 0x10);
        assert_int_equal(ld64((const uint8_t *)v.data + 8), MODULE_NOW + 0x40);
        assert_memory_equal((const uint8_t *)v.data + 16, table_bytes + 16, 16);
        /* rx in the copy: rel32 to the table copy + 8, rel32 to the client */
        assert_int_equal(pcache_bound_find(&img, PCACHE_RX, "code", &v, NULL), PCACHE_OK);
        assert_ptr_equal(v.data, (const void *)(uintptr_t)(C + section_file_offset(b, PCACHE_RX, "code")));
        memcpy(&rel, (const uint8_t *)v.data + 3, 4);
        assert_int_equal((uint64_t)((int64_t)(C + section_file_offset(b, PCACHE_RX, "code") + 7) + rel),
                         C + section_file_offset(b, PCACHE_RO, "table") + 8);
        memcpy(&rel, (const uint8_t *)v.data + 0x20, 4);
        assert_int_equal((uint64_t)((int64_t)(C + section_file_offset(b, PCACHE_RX, "code") + 0x24) + rel),
                         client_now + 0x100);
        /* carried rw: writable, relocated for the copies */
        assert_int_equal(pcache_bound_find(&img, PCACHE_RW, "counters", &v, NULL), PCACHE_OK);
        assert_non_null(pcache_bound_writable(&img, PCACHE_RW, &v));
        assert_int_equal(ld64((const uint8_t *)v.data + 16), C + section_file_offset(b, PCACHE_RO, "table"));
        assert_int_equal(pcache_bound_find(&img, PCACHE_RW, "flags", &v, NULL), PCACHE_OK);
        assert_memory_equal(v.data, flags_bytes, sizeof flags_bytes);
        pcache_bound_release(&img);
        assert_int_equal(bp.live, 0);
        memcpy(f.base, pristine, FILE_SIZE);
        free(pristine);
    }
    /* with rx_writable, the mapping's rx is relocated too, for the mapping */
    o.rx_writable = 1;
    bump_over(&after, &f, &o);
    assert_int_equal(resurrect_all(&f, PCACHE_VALIDATE_FULL), PCACHE_OK);
    assert_int_equal(pcache_bind(&img, f.segs, &o, &rep), PCACHE_OK);
    assert_int_equal(img.mapping_rx_relocated, 1);
    {
        int32_t rel;
        uint64_t B = (uint64_t)(uintptr_t)f.base, at = section_file_offset(b, PCACHE_RX, "code") + 0x20;
        memcpy(&rel, f.base + at, 4);
        assert_int_equal((uint64_t)((int64_t)(B + at + 4) + rel), client_now + 0x100);
    }
    pcache_bound_release(&img);
    /* options that do not go together (the file written again: rx was
     * relocated where it is mapped) */
    free(f.block);
    write_split(b, &f);
    o = options(0);
    o.flags = PCACHE_BIND_PRIVATE;
    o.alloc_exec = NULL;
    o.free_exec = never_free;
    assert_int_equal(resurrect_all(&f, PCACHE_VALIDATE_FULL), PCACHE_OK);
    assert_int_equal(pcache_bind(&img, f.segs, &o, &rep), PCACHE_E_INVALID_ARGUMENT);
    o.free_exec = NULL;
    o.flags = 0x80;
    assert_int_equal(pcache_bind(&img, f.segs, &o, &rep), PCACHE_E_INVALID_ARGUMENT);
    pcache_builder_free(b);
    free(f.block);
}

/* Loaded bytes of a bound image's sections by name: a compressed ro
 * section inflated, a plain one (ro, carried rw) copied out; a buffer too
 * small, an unknown name. */
static void test_bound_inflate(void **state)
{
    static uint8_t big[4096];
    pcache_identity id;
    pcache_builder *b;
    split_file f;
    pcache_bound_image img;
    pcache_bind_options o = options(1);
    pcache_view v;
    void *buf;
    uint8_t small[64];

    (void)state;
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i / 64);
    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    b = reference_builder(&id);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "big", big, sizeof big, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_compression(b, PCACHE_RO, "big", 6), PCACHE_OK);
    assert_int_equal(pcache_builder_prepare_split(b, PCACHE_SPLIT_CARRY_RW), PCACHE_OK);
    write_split(b, &f);
    o.flags = PCACHE_BIND_PRIVATE;
    {
        static bump bp;
        bump_over(&bp, &f, &o);
    }
    assert_int_equal(resurrect_all(&f, PCACHE_VALIDATE_LAZY), PCACHE_OK);
    assert_int_equal(pcache_bind(&img, f.segs, &o, NULL), PCACHE_OK);
    memset(f.base, 0, FILE_SIZE); /* the mapping is gone: the copies are read */
    assert_int_equal(pcache_bound_find(&img, PCACHE_RO, "big", &v, NULL), PCACHE_OK);
    assert_true(v.flags & PCACHE_SECTION_COMPRESSED);
    assert_true(v.size < sizeof big);
    assert_int_equal(pcache_bound_inflate_alloc(&img, PCACHE_RO, "big", &buf, &v, NULL), PCACHE_OK);
    assert_int_equal(v.size, sizeof big);
    assert_memory_equal(buf, big, sizeof big);
    pcache_free(buf);
    assert_int_equal(pcache_bound_inflate(&img, PCACHE_RO, "big", small, sizeof small, &v, NULL),
                     PCACHE_E_INVALID_ARGUMENT);
    /* plain sections: copied out */
    assert_int_equal(pcache_bound_inflate(&img, PCACHE_RO, "table", small, sizeof small, &v, NULL), PCACHE_OK);
    assert_int_equal(v.size, sizeof table_bytes);
    assert_ptr_equal(v.data, small);
    assert_memory_equal(small + 16, table_bytes + 16, 16);
    assert_int_equal(pcache_bound_inflate(&img, PCACHE_RO, "table", small, 8, &v, NULL), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_bound_inflate_alloc(&img, PCACHE_RW, "flags", &buf, &v, NULL), PCACHE_OK);
    assert_memory_equal(buf, flags_bytes, sizeof flags_bytes);
    pcache_free(buf);
    assert_int_equal(pcache_bound_inflate_alloc(&img, PCACHE_RO, "absent", &buf, &v, NULL), PCACHE_E_NOT_FOUND);
    assert_null(buf);
    assert_int_equal(pcache_bound_inflate_alloc(&img, PCACHE_RO, "table", NULL, &v, NULL), PCACHE_E_INVALID_ARGUMENT);
    pcache_bound_release(&img);
    pcache_builder_free(b);
    free(f.block);
}

static void test_carried_name_limit(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    static const uint8_t d[8];
    const char *long_name = "a234567890123456789012345678"; /* 28 bytes */

    (void)state;
    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "x", d, sizeof d, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "ok", d, sizeof d, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, long_name, d, sizeof d, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_prepare_split(b, PCACHE_SPLIT_CARRY_RW), PCACHE_E_SECTION_NAME);
    test_assert_report(pcache_builder_report(b), PCACHE_E_SECTION_NAME);
    test_assert_values(pcache_builder_report(b), PCACHE_CARRIED_NAME_MAX, 28);
    /* nothing moved, no manifest: the builder can still be used unsplit */
    assert_int_equal(pcache_builder_section_count(b, PCACHE_RO), 1);
    assert_int_equal(pcache_builder_section_count(b, PCACHE_RW), 2);
    /* 27 bytes is the limit */
    assert_int_equal(pcache_builder_prepare_split(b, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_section_count(b, PCACHE_RO), 2);
    assert_int_equal(pcache_builder_prepare_split(b, 0), PCACHE_E_STATE);
    test_assert_report(pcache_builder_report(b), PCACHE_E_STATE);
    pcache_builder_free(b);

    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "a23456789012345678901234567", d, sizeof d, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_prepare_split(b, PCACHE_SPLIT_CARRY_RW), PCACHE_OK);
    assert_int_equal(pcache_builder_section_count(b, PCACHE_RW), 0);
    assert_int_equal(pcache_builder_section_count(b, PCACHE_RO), 2);
    pcache_builder_free(b);

    /* an empty builder gets no manifest and no segment */
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_prepare_split(b, PCACHE_SPLIT_CARRY_RW), PCACHE_OK);
    assert_int_equal(pcache_builder_section_count(b, PCACHE_RO), 0);
    assert_int_equal(pcache_builder_prepare_split(b, 8), PCACHE_E_INVALID_ARGUMENT);
    pcache_builder_free(b);
}

static void test_reference_into_rw_refused(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    static const uint8_t d[16];

    (void)state;
    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", d, sizeof d, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "data", d, sizeof d, 1, 0), PCACHE_OK);
    add_patch(b, (pcache_patch){.cls = PCACHE_RX, .section = "code", .offset = 4, .kind = PCACHE_RELOC_REL32,
                                .pc_offset = 4, .target_kind = PCACHE_TARGET_SECTION, .target_class = PCACHE_RW,
                                .target_section = "data"});
    for (uint32_t flags = 0; flags <= PCACHE_SPLIT_CARRY_RW; flags++) {
        assert_int_equal(pcache_builder_prepare_split(b, flags), PCACHE_E_RELOC_TARGET);
        test_assert_report(pcache_builder_report(b), PCACHE_E_RELOC_TARGET);
        assert_non_null(strstr(pcache_builder_report(b)->message, "'data'"));
        assert_int_equal(pcache_builder_section_count(b, PCACHE_RW), 1);
    }
    pcache_builder_free(b);
}

/* The host must size every class before persisting ro: the manifest
 * records them all. */
static void test_manifest_needs_every_layout(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint8_t buf[4096];
    pcache_buffer_sink bs;
    pcache_sink sink;
    uint64_t size;

    (void)state;
    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "table", table_bytes, sizeof table_bytes, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", code_bytes, sizeof code_bytes, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_prepare_split(b, PCACHE_SPLIT_CARRY_RW), PCACHE_OK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, RO_AT, &size), PCACHE_OK);
    assert_true(size <= sizeof buf);
    sink = pcache_sink_buffer(&bs, buf, (size_t)size);
    /* rx has sections but no layout yet */
    assert_int_equal(pcache_builder_persist(b, PCACHE_RO, &sink), PCACHE_E_SINK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, RX_AT, &size), PCACHE_OK);
    sink = pcache_sink_buffer(&bs, buf, sizeof buf);
    assert_int_equal(pcache_builder_persist(b, PCACHE_RO, &sink), PCACHE_OK);
    pcache_builder_free(b);
}

/* ------------------------------------------------------------------ */
/* refusals                                                            */

typedef struct fixture {
    pcache_builder *b;
    split_file f;
} fixture;

static void fixture_make(fixture *x, uint32_t flags)
{
    pcache_identity id;
    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    id.image_id[15] = (uint8_t)(0x40 + flags); /* fixtures of different flags: different images */
    x->b = reference_builder(&id);
    assert_int_equal(pcache_builder_prepare_split(x->b, flags), PCACHE_OK);
    write_split(x->b, &x->f);
    client_now = (uint64_t)(uintptr_t)x->f.base + 0x10000000u;
    assert_int_equal(resurrect_all(&x->f, PCACHE_VALIDATE_FULL), PCACHE_OK);
}

static void fixture_free(fixture *x)
{
    pcache_builder_free(x->b);
    free(x->f.block);
}

static void expect_bind_fails(pcache_segment *const segs[PCACHE_CLASS_COUNT], const pcache_bind_options *o,
                              pcache_status st)
{
    pcache_bound_image img;
    pcache_report rep;

    pcache_status got = pcache_bind(&img, segs, o, &rep);
    if (got != st)
        print_message("pcache_bind: %s: %s\n", pcache_status_name(got), rep.message);
    assert_int_equal(got, st);
    test_assert_report(&rep, st);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        assert_null(img.copy[c]);
        assert_null(img.block[c]);
    }
}

static void test_bind_missing_and_extra(void **state)
{
    fixture x, y;
    pcache_segment *segs[PCACHE_CLASS_COUNT];
    pcache_bind_options o = options(1);
    pcache_segment plain;

    (void)state;
    fixture_make(&x, 0);
    /* no ro at all */
    memcpy(segs, x.f.segs, sizeof segs);
    segs[PCACHE_RO] = NULL;
    expect_bind_fails(segs, &o, PCACHE_E_NOT_FOUND);
    /* rx listed but not delivered; rw listed but not delivered */
    for (int c = PCACHE_RX; c <= PCACHE_RW; c++) {
        memcpy(segs, x.f.segs, sizeof segs);
        segs[c] = NULL;
        expect_bind_fails(segs, &o, PCACHE_E_FILE_LAYOUT);
    }
    /* the rw segment handed in as rx */
    memcpy(segs, x.f.segs, sizeof segs);
    segs[PCACHE_RX] = x.f.segs[PCACHE_RW];
    expect_bind_fails(segs, &o, PCACHE_E_CLASS);

    /* an rw segment where the manifest says rw is carried */
    fixture_make(&y, PCACHE_SPLIT_CARRY_RW);
    memcpy(segs, y.f.segs, sizeof segs);
    segs[PCACHE_RW] = x.f.segs[PCACHE_RW];
    expect_bind_fails(segs, &o, PCACHE_E_FILE_LAYOUT);
    /* the rx segment of another image (same layout, another image id) */
    memcpy(segs, y.f.segs, sizeof segs);
    segs[PCACHE_RX] = x.f.segs[PCACHE_RX];
    expect_bind_fails(segs, &o, PCACHE_E_IMAGE_ID);
    fixture_free(&y);

    /* an ro segment written without prepare_split: no manifest */
    {
        pcache_identity id;
        pcache_builder *b;
        void *block;
        uint64_t size;
        const uint8_t *map, *p;
        pcache_expect exp;
        test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
        assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
        assert_int_equal(pcache_builder_add(b, PCACHE_RO, "t", table_bytes, 8, 1, 0), PCACHE_OK);
        p = test_persist(b, PCACHE_RO, RO_AT, &size, &block);
        pcache_expect_init(&exp, &id);
        map = p;
        assert_int_equal(pcache_resurrect(&plain, PCACHE_RO, &map, size, &exp, NULL), PCACHE_OK);
        memset(segs, 0, sizeof segs);
        segs[PCACHE_RO] = &plain;
        expect_bind_fails(segs, &o, PCACHE_E_NOT_FOUND);
        pcache_builder_free(b);
        free(block);
    }
    fixture_free(&x);
}

/* rx copied to another place: the segments are not one mapping. */
static void test_bind_not_one_mapping(void **state)
{
    fixture x;
    void *block;
    const uint8_t *map;
    pcache_segment moved;
    pcache_segment *segs[PCACHE_CLASS_COUNT];
    pcache_bind_options o = options(1);
    pcache_expect exp;

    (void)state;
    fixture_make(&x, 0);
    map = test_copy_at(x.f.base + RX_AT, x.f.size[PCACHE_RX], RX_AT, &block);
    pcache_expect_init(&exp, &x.f.id);
    assert_int_equal(pcache_resurrect(&moved, PCACHE_RX, &map, PCACHE_SIZE_UNKNOWN, &exp, NULL), PCACHE_OK);
    memcpy(segs, x.f.segs, sizeof segs);
    segs[PCACHE_RX] = &moved;
    expect_bind_fails(segs, &o, PCACHE_E_FILE_LAYOUT);
    free(block);
    fixture_free(&x);
}

static void test_bind_rx_not_writable(void **state)
{
    fixture x;
    pcache_bind_options o = options(0);
    uint8_t before[FILE_SIZE];

    (void)state;
    fixture_make(&x, PCACHE_SPLIT_CARRY_RW);
    memcpy(before, x.f.base, FILE_SIZE);
    expect_bind_fails(x.f.segs, &o, PCACHE_E_ACCESS);
    assert_memory_equal(before, x.f.base, FILE_SIZE);
    fixture_free(&x);
}

/* A client library now too far from the rx code for its rel32: nothing is
 * written, no copy is left. */
static void test_bind_anchor_out_of_reach(void **state)
{
    fixture x;
    pcache_bind_options o = options(1);
    uint8_t before[FILE_SIZE];

    (void)state;
    fixture_make(&x, 0);
    memcpy(before, x.f.base, FILE_SIZE);
    client_now = (uint64_t)(uintptr_t)x.f.base + 0x90000000ull;
    expect_bind_fails(x.f.segs, &o, PCACHE_E_RELOC_RANGE);
    assert_memory_equal(before, x.f.base, FILE_SIZE);
    /* an anchor the resolver does not know */
    o.resolve = NULL;
    expect_bind_fails(x.f.segs, &o, PCACHE_E_ANCHOR);
    fixture_free(&x);
}

static int alloc_attempts, alloc_live, alloc_fail_at;
static void *counting_alloc(void *ctx, size_t size)
{
    (void)ctx;
    if (++alloc_attempts == alloc_fail_at)
        return NULL;
    alloc_live++;
    return malloc(size);
}
static void counting_free(void *ctx, void *mem, size_t size)
{
    (void)ctx;
    (void)size;
    alloc_live--;
    free(mem);
}

static void test_bind_no_memory(void **state)
{
    fixture x;
    pcache_bind_options o = options(1);
    pcache_bound_image img;

    (void)state;
    fixture_make(&x, 0);
    o.alloc = counting_alloc;
    o.free = counting_free;
    /* ro copy, then rw copy */
    for (alloc_fail_at = 1; alloc_fail_at <= 2; alloc_fail_at++) {
        alloc_attempts = alloc_live = 0;
        expect_bind_fails(x.f.segs, &o, PCACHE_E_NO_MEMORY);
        assert_int_equal(alloc_attempts, alloc_fail_at);
        assert_int_equal(alloc_live, 0); /* what succeeded was freed */
    }
    alloc_fail_at = 0;
    alloc_attempts = alloc_live = 0;
    assert_int_equal(pcache_bind(&img, x.f.segs, &o, NULL), PCACHE_OK);
    assert_int_equal(alloc_live, 2);
    pcache_bound_release(&img);
    assert_int_equal(alloc_live, 0);
    pcache_bound_release(&img);
    /* alloc without free */
    o.free = NULL;
    expect_bind_fails(x.f.segs, &o, PCACHE_E_INVALID_ARGUMENT);
    fixture_free(&x);
}

/* The build section: an image bound to one build of the code it refers
 * into binds under that build only; the reason names both; an image
 * without one is refused when a build is expected; its bytes are checked. */
static void test_bind_build(void **state)
{
    pcache_build_id mine, other;
    pcache_identity id;
    pcache_builder *b;
    split_file f;
    pcache_bound_image img;
    pcache_bind_options o = options(1);
    pcache_report rep;
    pcache_view v;
    uint8_t *p;

    (void)state;
    memset(&mine, 0, sizeof mine);
    mine.kind = PCACHE_BUILD_ID_GNU;
    mine.size = 20;
    for (int i = 0; i < 20; i++)
        mine.bytes[i] = (uint8_t)(0xa0 + i);
    other = mine;
    other.bytes[19] ^= 1;
    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    b = reference_builder(&id);
    /* arguments */
    assert_int_equal(pcache_builder_set_build(b, NULL), PCACHE_E_INVALID_ARGUMENT);
    other.size = 0;
    assert_int_equal(pcache_builder_set_build(b, &other), PCACHE_E_INVALID_ARGUMENT);
    other.size = PCACHE_BUILD_ID_MAX + 1;
    assert_int_equal(pcache_builder_set_build(b, &other), PCACHE_E_INVALID_ARGUMENT);
    other.size = 20;
    other.kind = 9;
    assert_int_equal(pcache_builder_set_build(b, &other), PCACHE_E_INVALID_ARGUMENT);
    other.kind = PCACHE_BUILD_ID_GNU;
    assert_int_equal(pcache_builder_set_build(b, &other), PCACHE_OK);
    assert_int_equal(pcache_builder_set_build(b, &mine), PCACHE_OK); /* replaces */
    assert_int_equal(pcache_builder_prepare_split(b, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_build(b, &mine), PCACHE_E_STATE);
    write_split(b, &f);
    client_now = (uint64_t)(uintptr_t)f.base + 0x10000000u;
    /* the section's bytes, as documented */
    assert_int_equal(resurrect_all(&f, PCACHE_VALIDATE_FULL), PCACHE_OK);
    assert_int_equal(pcache_segment_find(&f.seg[PCACHE_RO], PCACHE_BUILD_SECTION, &v, NULL), PCACHE_OK);
    assert_int_equal(v.size, 8 + 20);
    p = (uint8_t *)(uintptr_t)v.data;
    assert_int_equal(ld16(p), 1);
    assert_int_equal(ld16(p + 2), PCACHE_BUILD_ID_GNU);
    assert_int_equal(ld16(p + 4), 20);
    assert_int_equal(ld16(p + 6), 0);
    assert_memory_equal(p + 8, mine.bytes, 20);
    /* the same build binds; no build expected binds too */
    o.build = &mine;
    assert_int_equal(pcache_bind(&img, f.segs, &o, &rep), PCACHE_OK);
    pcache_bound_release(&img);
    free(f.block);
    write_split(b, &f);
    /* another build: refused, naming both */
    assert_int_equal(resurrect_all(&f, PCACHE_VALIDATE_FULL), PCACHE_OK);
    assert_int_equal(pcache_segment_find(&f.seg[PCACHE_RO], PCACHE_BUILD_SECTION, &v, NULL), PCACHE_OK);
    p = (uint8_t *)(uintptr_t)v.data;
    o.build = &other;
    assert_int_equal(pcache_bind(&img, f.segs, &o, &rep), PCACHE_E_CLIENT_BUILD);
    assert_non_null(strstr(rep.message, "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3"));
    assert_non_null(strstr(rep.message, "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b2"));
    /* malformed section bytes (checked at the header level, so that the
     * edit reaches the reader) */
    {
        static const struct {
            unsigned at, width;
            uint16_t value;
        } edits[] = {{0, 2, 2}, {2, 2, 7}, {4, 2, 0}, {4, 2, 21}, {4, 2, 65}, {6, 2, 1}};
        for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++) {
            uint8_t keep[2];
            memcpy(keep, p + edits[k].at, 2);
            st16(p + edits[k].at, edits[k].value);
            assert_int_equal(resurrect_all(&f, PCACHE_VALIDATE_HEADER), PCACHE_OK);
            o.build = &mine;
            expect_bind_fails(f.segs, &o, PCACHE_E_HEADER_FIELD);
            memcpy(p + edits[k].at, keep, 2);
        }
    }
    pcache_builder_free(b);
    free(f.block);
    /* an image without a build section, a build expected */
    {
        fixture x;
        fixture_make(&x, 0);
        o.build = &mine;
        assert_int_equal(pcache_bind(&img, x.f.segs, &o, &rep), PCACHE_E_CLIENT_BUILD);
        assert_non_null(strstr(rep.message, "records no build"));
        fixture_free(&x);
    }
}

/* Hostile manifests (edited, segments resurrected at the header level so
 * that the edit reaches the manifest reader). */
static void edit_manifest_and_expect(unsigned field, uint64_t value, unsigned width, uint32_t flags,
                                     pcache_status st)
{
    fixture x;
    pcache_view v;
    pcache_bind_options o = options(1);
    uint8_t *m;

    fixture_make(&x, flags);
    assert_int_equal(pcache_segment_find(&x.f.seg[PCACHE_RO], PCACHE_MANIFEST_SECTION, &v, NULL), PCACHE_OK);
    m = (uint8_t *)(uintptr_t)v.data;
    if (width == 2)
        st16(m + field, (uint16_t)value);
    else if (width == 4)
        st32(m + field, (uint32_t)value);
    else
        st64(m + field, value);
    assert_int_equal(resurrect_all(&x.f, PCACHE_VALIDATE_HEADER), PCACHE_OK);
    expect_bind_fails(x.f.segs, &o, st);
    /* at FULL the edit is a section checksum mismatch first */
    assert_int_equal(resurrect_all(&x.f, PCACHE_VALIDATE_FULL), PCACHE_E_SECTION_CHECKSUM);
    fixture_free(&x);
}

static void test_bind_hostile_manifest(void **state)
{
    (void)state;
    edit_manifest_and_expect(0, 2, 2, 0, PCACHE_E_HEADER_FIELD);          /* version */
    edit_manifest_and_expect(2, 0x8000, 2, 0, PCACHE_E_HEADER_FIELD);     /* unknown flag */
    edit_manifest_and_expect(4, 1, 4, 0, PCACHE_E_HEADER_FIELD);          /* reserved */
    edit_manifest_and_expect(56, 1, 8, 0, PCACHE_E_HEADER_FIELD);         /* reserved */
    edit_manifest_and_expect(2, 1, 2, 0, PCACHE_E_HEADER_FIELD);          /* carried, yet rw listed */
    edit_manifest_and_expect(8 + 16, RX_AT + 8, 8, 0, PCACHE_E_FILE_LAYOUT); /* rx offset */
    edit_manifest_and_expect(16 + 16, 2 * TEST_PAGE, 8, 0, PCACHE_E_FILE_LAYOUT); /* rx size */
    edit_manifest_and_expect(8, RO_AT + 1, 8, 0, PCACHE_E_FILE_LAYOUT);   /* ro offset */
    edit_manifest_and_expect(8 + 32, RW_AT, 8, PCACHE_SPLIT_CARRY_RW, PCACHE_E_HEADER_FIELD); /* absent rw at an offset */
}

/* Recognising a segment in a slot before validating it. */
static void test_slot_peek(void **state)
{
    fixture x;
    uint8_t junk[256];
    char name[PCACHE_CLIENT_NAME_MAX + 1];
    pcache_class cls;
    uint8_t *seg;

    (void)state;
    fixture_make(&x, 0);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        memset(name, 'x', sizeof name);
        assert_int_equal(pcache_slot_peek(x.f.base + x.f.off[c], PCACHE_SIZE_UNKNOWN, &cls, name), PCACHE_OK);
        assert_int_equal(cls, c);
        assert_string_equal(name, TEST_CLIENT);
    }
    /* DR's bytes, another client's bytes: no magic, and no byte past the
     * 8 of the magic read (the buffer is exactly 8 bytes: ASan, valgrind) */
    memset(junk, 0, sizeof junk);
    {
        void *block;
        uint8_t *p = test_copy_at(junk, 8, 0, &block);
        assert_int_equal(pcache_slot_peek(p, 8, &cls, name), PCACHE_E_MAGIC);
        assert_int_equal(pcache_slot_peek(p, 7, &cls, name), PCACHE_E_TRUNCATED);
        free(block);
    }
    /* the magic, then fewer bytes than a header: nothing past them read
     * (the copy ends where the bytes said available end: ASan, valgrind) */
    for (uint64_t avail = 8; avail < 256; avail += 31) {
        void *block;
        uint8_t *p = test_copy_at(x.f.base + x.f.off[PCACHE_RO], (size_t)avail, 0, &block);
        assert_int_equal(pcache_slot_peek(p, avail, &cls, name), PCACHE_E_TRUNCATED);
        free(block);
    }
    /* a name field without a NUL; an invalid class code */
    seg = x.f.base + x.f.off[PCACHE_RO];
    memset(seg + 128, 'n', 64);
    assert_int_equal(pcache_slot_peek(seg, 256, &cls, name), PCACHE_E_HEADER_FIELD);
    seg[128 + 63] = 0;
    seg[16] = 9;
    assert_int_equal(pcache_slot_peek(seg, 256, &cls, name), PCACHE_OK);
    assert_int_equal(cls, PCACHE_CLASS_COUNT);
    assert_int_equal(strlen(name), 63);
    assert_int_equal(pcache_slot_peek(NULL, 256, &cls, name), PCACHE_E_INVALID_ARGUMENT);
    fixture_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_bytes),
        cmocka_unit_test(test_bind_rw_slot),
        cmocka_unit_test(test_bind_rw_carried),
        cmocka_unit_test(test_bind_private),
        cmocka_unit_test(test_bound_inflate),
        cmocka_unit_test(test_carried_name_limit),
        cmocka_unit_test(test_reference_into_rw_refused),
        cmocka_unit_test(test_manifest_needs_every_layout),
        cmocka_unit_test(test_bind_missing_and_extra),
        cmocka_unit_test(test_bind_not_one_mapping),
        cmocka_unit_test(test_bind_rx_not_writable),
        cmocka_unit_test(test_bind_anchor_out_of_reach),
        cmocka_unit_test(test_bind_no_memory),
        cmocka_unit_test(test_bind_hostile_manifest),
        cmocka_unit_test(test_bind_build),
        cmocka_unit_test(test_slot_peek),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
