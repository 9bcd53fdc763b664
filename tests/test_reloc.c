/* SPDX-License-Identifier: BSD-2-Clause */
/* Patch sites and relocation records: the builder's checks, the bytes
 * persisted, the records as documented in docs/FORMAT.md section 9, apply
 * at every reach boundary, all-or-nothing, hostile (re-signed) tables, and
 * a property test over random layouts, file offsets, map addresses and
 * anchor moves.  Every expected value is computed here, from the test's own
 * arithmetic and byte assembly.  What apply does with a segment struct
 * resurrect did not seal, or whose bytes changed after, is in
 * test_reloc_seal.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "format.h"
#include "pcache/reloc.h"
#include "support.h"

/* ------------------------------------------------------------------ */
/* helpers                                                             */
/* ------------------------------------------------------------------ */


/* The form the builders of this file write (pcache_builder_set_reloc_form). */
static pcache_reloc_form form_under_test = PCACHE_RELOC_FORM_RECORDS;
static uint64_t rng;
static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned width_of(pcache_reloc_kind k)
{
    return k == PCACHE_RELOC_REL8 ? 1 : k == PCACHE_RELOC_ABS64 ? 8 : 4;
}

static int relative(pcache_reloc_kind k)
{
    return k == PCACHE_RELOC_REL8 || k == PCACHE_RELOC_REL32;
}

/* The test's own range rule (docs/FORMAT.md 9.5). */
static int fits(pcache_reloc_kind k, uint64_t v)
{
    int64_t s = (int64_t)v;
    switch (k) {
    case PCACHE_RELOC_REL8:
        return s >= -128 && s <= 127;
    case PCACHE_RELOC_REL32:
        return s >= -2147483648ll && s <= 2147483647ll;
    case PCACHE_RELOC_ABS32:
        return v <= 0xffffffffull;
    default:
        return 1;
    }
}

static void put_field(uint8_t *p, uint64_t v, unsigned w, int big)
{
    for (unsigned i = 0; i < w; i++)
        p[big ? w - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_field(const uint8_t *p, unsigned w, int big)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < w; i++)
        v |= (uint64_t)p[big ? w - 1 - i : i] << (8 * i);
    return v;
}

static uint64_t low_bits(uint64_t v, unsigned w)
{
    return w == 8 ? v : v & ((1ull << (8 * w)) - 1);
}

/* Sizes and persists one class into an exactly sized buffer laid out as at
 * file offset F; returns the status, *seg the bytes (free(*block)). */
static pcache_status persist_class(pcache_builder *b, pcache_class cls, uint64_t F, uint8_t **seg, uint64_t *size,
                                   void **block)
{
    pcache_buffer_sink state;
    pcache_sink sink;
    pcache_status st;

    *block = NULL;
    *seg = NULL;
    assert_int_equal(pcache_builder_size(b, cls, F, size), PCACHE_OK);
    *seg = test_alloc_at(F, *size, block);
    sink = pcache_sink_buffer(&state, *seg, (size_t)*size);
    st = pcache_builder_persist(b, cls, &sink);
    if (st == PCACHE_OK)
        assert_int_equal(state.used, *size);
    return st;
}

static pcache_status resurrect(pcache_segment *seg, const uint8_t *bytes, uint64_t size, pcache_class cls,
                               const pcache_identity *id, pcache_validation level, pcache_report *rep)
{
    pcache_expect exp;
    const uint8_t *m = bytes;
    pcache_expect_init(&exp, id);
    exp.validation = level;
    return pcache_resurrect(seg, cls, &m, size, &exp, rep);
}

/* Index of the section named name in raw segment bytes, or -1. */
static int section_index(const uint8_t *seg, const char *name)
{
    uint32_t n = ld32(seg + SH_SECTION_COUNT);
    for (uint32_t i = 0; i < n; i++)
        if (strcmp((const char *)seg + SEG_HEADER_SIZE + SEG_ENTRY_SIZE * i + SE_NAME, name) == 0)
            return (int)i;
    return -1;
}

static uint8_t *entry(uint8_t *seg, int i)
{
    return seg + SEG_HEADER_SIZE + SEG_ENTRY_SIZE * (uint32_t)i;
}

/* After editing section i's bytes on purpose: store their checksum in the
 * trailer, so that only the relocation checks can object. */
static void resign_section(uint8_t *seg, int i)
{
    uint8_t *e = entry(seg, i);
    pcache_checksum_algorithm algo = (pcache_checksum_algorithm)seg[SH_CHECKSUM];
    uint64_t sum = pcache_checksum(algo, seg + ld64(e + SE_OFFSET), (size_t)ld64(e + SE_STORED_SIZE));
    st64be(seg + ld64(seg + SH_TRAILER_OFFSET) + SEG_TRAILER_ENTRY_SIZE * (uint32_t)i + ST_STORED_CHECKSUM, sum);
}

/* ------------------------------------------------------------------ */
/* a small image: ro "consts", rx "code", rw "vars"                    */
/* ------------------------------------------------------------------ */

#define F_RO 0x1000u
#define F_RX 0x3000u
#define F_RW 0x5000u
#define CLIENT_AT_PERSIST 0x7f0000001000ull
#define TBL_AT_PERSIST 0x10000ull

static uint8_t consts[64], code[128], vars[32];

static pcache_builder *small_builder(void)
{
    pcache_identity id;
    pcache_builder *b = NULL;
    test_fill(consts, sizeof consts, 11);
    test_fill(code, sizeof code, 12);
    test_fill(vars, sizeof vars, 13);
    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    /* the 48-byte form, whose bytes most tests here read; the property
     * and corruption tests run again on the compact form */
    assert_int_equal(pcache_builder_set_reloc_form(b, form_under_test), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "consts", consts, sizeof consts, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", code, sizeof code, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "vars", vars, sizeof vars, 8, 0), PCACHE_OK);
    return b;
}

static pcache_patch to_section(pcache_class cls, const char *sec, uint64_t off, pcache_reloc_kind kind, int32_t pc,
                               pcache_class tcls, const char *tsec, uint64_t toff, int64_t addend)
{
    pcache_patch p = {.cls = cls, .section = sec, .offset = off, .kind = kind, .pc_offset = pc,
                      .target_kind = PCACHE_TARGET_SECTION, .target_class = tcls, .target_section = tsec,
                      .target_offset = toff, .addend = addend};
    return p;
}

static pcache_patch to_anchor(pcache_class cls, const char *sec, uint64_t off, pcache_reloc_kind kind, int32_t pc,
                              const char *anchor, uint64_t toff, int64_t addend)
{
    pcache_patch p = {.cls = cls, .section = sec, .offset = off, .kind = kind, .pc_offset = pc,
                      .target_kind = PCACHE_TARGET_ANCHOR, .anchor = anchor, .target_offset = toff,
                      .addend = addend};
    return p;
}

static void add(pcache_builder *b, pcache_patch p)
{
    if (pcache_builder_add_patch(b, &p) != PCACHE_OK)
        fail_msg("add_patch: %s", pcache_builder_report(b)->message);
}

/* The four recorded references of the small image in rx, one internal
 * relative one, one rel8 inside "code", and one record in rw. */
static pcache_builder *small_builder_with_patches(void)
{
    pcache_builder *b = small_builder();
    add(b, to_section(PCACHE_RX, "code", 0x10, PCACHE_RELOC_REL32, 4, PCACHE_RW, "vars", 8, 0));
    add(b, to_section(PCACHE_RX, "code", 0x20, PCACHE_RELOC_ABS64, 0, PCACHE_RO, "consts", 16, 4));
    add(b, to_anchor(PCACHE_RX, "code", 0x30, PCACHE_RELOC_ABS64, 0, "client", 0x100, -8));
    add(b, to_anchor(PCACHE_RX, "code", 0x40, PCACHE_RELOC_REL32, 5, "module", 0x2000, 0));
    add(b, to_anchor(PCACHE_RX, "code", 0x50, PCACHE_RELOC_ABS32, 0, "tbl", 0, 0));
    add(b, to_section(PCACHE_RX, "code", 0x60, PCACHE_RELOC_REL8, 1, PCACHE_RX, "code", 0x70, 0));
    add(b, to_section(PCACHE_RW, "vars", 0, PCACHE_RELOC_ABS64, 0, PCACHE_RX, "code", 0, 0));
    assert_int_equal(pcache_builder_set_anchor(b, "tbl", TBL_AT_PERSIST), PCACHE_OK);
    assert_int_equal(pcache_builder_set_anchor(b, "client", CLIENT_AT_PERSIST), PCACHE_OK);
    return b;
}

typedef struct small_image {
    pcache_builder *b;
    uint8_t *seg[3];
    uint64_t size[3];
    void *block[3];
    uint64_t fo_consts, fo_code, fo_vars; /* section file offsets */
} small_image;

static void small_image_build(small_image *im, pcache_builder *b)
{
    const uint64_t F[3] = {F_RO, F_RX, F_RW};
    uint64_t sz;
    memset(im, 0, sizeof *im);
    im->b = b;
    /* as DynamoRIO does: every size, then every persist */
    for (int c = 0; c < 3; c++)
        assert_int_equal(pcache_builder_size(b, (pcache_class)c, F[c], &sz), PCACHE_OK);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, "consts", &im->fo_consts), PCACHE_OK);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RX, "code", &im->fo_code), PCACHE_OK);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RW, "vars", &im->fo_vars), PCACHE_OK);
    for (int c = 0; c < 3; c++) {
        pcache_status st = persist_class(b, (pcache_class)c, F[c], &im->seg[c], &im->size[c], &im->block[c]);
        if (st != PCACHE_OK)
            fail_msg("persist %d: %s", c, pcache_builder_report(b)->message);
    }
}

static void small_image_free(small_image *im)
{
    for (int c = 0; c < 3; c++)
        free(im->block[c]);
    pcache_builder_free(im->b);
}

typedef struct anchors_now {
    uint64_t client, module, tbl;
    int fail_client;
    int calls;
} anchors_now;

static int resolve_small(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    anchors_now *a = ctx;
    a->calls++;
    if (strcmp(name, "client") == 0) {
        assert_int_equal(persisted, CLIENT_AT_PERSIST);
        *address = a->client;
        return a->fail_client;
    }
    if (strcmp(name, "module") == 0) {
        assert_int_equal(persisted, TEST_MODULE_BASE);
        *address = a->module;
        return 0;
    }
    if (strcmp(name, "tbl") == 0) {
        assert_int_equal(persisted, TBL_AT_PERSIST);
        *address = a->tbl;
        return 0;
    }
    fail_msg("unexpected anchor %s", name);
    return 1;
}

/* ------------------------------------------------------------------ */
/* builder checks                                                      */
/* ------------------------------------------------------------------ */

static void test_reserved_names_and_types(void **state)
{
    pcache_builder *b = small_builder();
    static uint8_t x[8];
    (void)state;
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, ".relocs", x, sizeof x, 1, 0), PCACHE_E_SECTION_NAME);
    test_assert_report(pcache_builder_report(b), PCACHE_E_SECTION_NAME);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, ".mine", x, sizeof x, 1, 0), PCACHE_E_SECTION_NAME);
    assert_int_equal(pcache_builder_add_typed(b, PCACHE_RO, "t", PCACHE_TYPE_RELOCS, x, sizeof x, 8, 0),
                     PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_add_typed(b, PCACHE_RO, "t", PCACHE_TYPE_ANCHORS, x, sizeof x, 8, 0),
                     PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "a.b", x, sizeof x, 1, 0), PCACHE_OK);
    pcache_builder_free(b);
}

static void expect_add_fails(pcache_builder *b, pcache_patch p, pcache_status st)
{
    uint64_t before = pcache_builder_patch_count(b);
    assert_int_equal(pcache_builder_add_patch(b, &p), st);
    test_assert_report(pcache_builder_report(b), st);
    assert_int_equal(pcache_builder_patch_count(b), before);
}

static void test_add_patch_bounds(void **state)
{
    pcache_builder *b = small_builder();
    pcache_patch p;
    (void)state;
    /* the field must lie wholly inside its section: code is 128 bytes */
    add(b, to_section(PCACHE_RX, "code", 124, PCACHE_RELOC_REL32, 4, PCACHE_RW, "vars", 0, 0));
    expect_add_fails(b, to_section(PCACHE_RX, "code", 125, PCACHE_RELOC_REL32, 4, PCACHE_RW, "vars", 0, 0),
                     PCACHE_E_RELOC_TARGET);
    add(b, to_section(PCACHE_RX, "code", 120, PCACHE_RELOC_ABS64, 0, PCACHE_RW, "vars", 0, 0));
    expect_add_fails(b, to_section(PCACHE_RX, "code", 121, PCACHE_RELOC_ABS64, 0, PCACHE_RW, "vars", 0, 0),
                     PCACHE_E_RELOC_TARGET);
    add(b, to_section(PCACHE_RX, "code", 127, PCACHE_RELOC_REL8, 1, PCACHE_RX, "code", 0, 0));
    expect_add_fails(b, to_section(PCACHE_RX, "code", 128, PCACHE_RELOC_REL8, 1, PCACHE_RX, "code", 0, 0),
                     PCACHE_E_RELOC_TARGET);
    expect_add_fails(b, to_section(PCACHE_RX, "code", UINT64_MAX - 2, PCACHE_RELOC_ABS64, 0, PCACHE_RW, "vars", 0, 0),
                     PCACHE_E_RELOC_TARGET);
    /* no such section, in the site's class or the target's */
    expect_add_fails(b, to_section(PCACHE_RO, "code", 0, PCACHE_RELOC_ABS64, 0, PCACHE_RW, "vars", 0, 0),
                     PCACHE_E_RELOC_TARGET);
    expect_add_fails(b, to_section(PCACHE_RX, "code", 0, PCACHE_RELOC_ABS64, 0, PCACHE_RO, "vars", 0, 0),
                     PCACHE_E_RELOC_TARGET);
    /* a target may point one past the end of its section, not further */
    add(b, to_section(PCACHE_RX, "code", 0, PCACHE_RELOC_ABS64, 0, PCACHE_RW, "vars", 32, 0));
    expect_add_fails(b, to_section(PCACHE_RX, "code", 8, PCACHE_RELOC_ABS64, 0, PCACHE_RW, "vars", 33, 0),
                     PCACHE_E_RELOC_TARGET);
    /* malformed patches */
    expect_add_fails(b, to_section(PCACHE_RX, "code", 8, PCACHE_RELOC_ABS64, 4, PCACHE_RW, "vars", 0, 0),
                     PCACHE_E_INVALID_ARGUMENT);
    expect_add_fails(b, to_section(PCACHE_RX, "code", 8, (pcache_reloc_kind)0, 0, PCACHE_RW, "vars", 0, 0),
                     PCACHE_E_INVALID_ARGUMENT);
    expect_add_fails(b, to_section(PCACHE_RX, "code", 8, (pcache_reloc_kind)5, 0, PCACHE_RW, "vars", 0, 0),
                     PCACHE_E_INVALID_ARGUMENT);
    expect_add_fails(b, to_anchor(PCACHE_RX, "code", 8, PCACHE_RELOC_ABS64, 0, "has space", 0, 0),
                     PCACHE_E_INVALID_ARGUMENT);
    expect_add_fails(b, to_anchor(PCACHE_RX, "code", 8, PCACHE_RELOC_ABS64, 0, "", 0, 0), PCACHE_E_INVALID_ARGUMENT);
    expect_add_fails(b, to_anchor(PCACHE_RX, "code", 8, PCACHE_RELOC_ABS64, 0, "a23456789012345678901234567890123",
                                  0, 0),
                     PCACHE_E_INVALID_ARGUMENT);
    p = to_anchor(PCACHE_RX, "code", 8, PCACHE_RELOC_ABS64, 0, "client", 0, 0);
    p.target_kind = (pcache_target_kind)3;
    expect_add_fails(b, p, PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_add_patch(b, NULL), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_patch_count(b), 4);
    pcache_builder_free(b);
}

static void test_anchor_definitions(void **state)
{
    pcache_builder *b = small_builder();
    char name[16];
    (void)state;
    assert_int_equal(pcache_builder_set_anchor(b, "module", 1), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_set_anchor(b, "bad name", 1), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_set_anchor(b, NULL, 1), PCACHE_E_INVALID_ARGUMENT);
    for (unsigned i = 0; i < PCACHE_MAX_ANCHORS; i++) {
        snprintf(name, sizeof name, "a%u", i);
        assert_int_equal(pcache_builder_set_anchor(b, name, i), PCACHE_OK);
    }
    assert_int_equal(pcache_builder_set_anchor(b, "a3", 99), PCACHE_OK); /* redefinition */
    assert_int_equal(pcache_builder_set_anchor(b, "one-more", 1), PCACHE_E_INVALID_ARGUMENT);
    test_assert_report(pcache_builder_report(b), PCACHE_E_INVALID_ARGUMENT);
    pcache_builder_free(b);
}

static void test_overlapping_sites(void **state)
{
    pcache_builder *b = small_builder();
    uint64_t sz;
    const pcache_report *r;
    (void)state;
    add(b, to_section(PCACHE_RX, "code", 0x10, PCACHE_RELOC_REL32, 4, PCACHE_RW, "vars", 0, 0));
    add(b, to_section(PCACHE_RX, "code", 0x14, PCACHE_RELOC_ABS64, 0, PCACHE_RW, "vars", 0, 0)); /* touches: fine */
    add(b, to_anchor(PCACHE_RX, "code", 0x1b, PCACHE_RELOC_ABS32, 0, "client", 0, 0));         /* overlaps by 1 */
    assert_int_equal(pcache_builder_set_anchor(b, "client", 0x1000), PCACHE_OK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, 0x3000, &sz), PCACHE_E_RELOC_OVERLAP);
    r = pcache_builder_report(b);
    test_assert_report(r, PCACHE_E_RELOC_OVERLAP);
    if (!strstr(r->message, "code+0x14") || !strstr(r->message, "code+0x1b"))
        fail_msg("the report does not name both sites: %s", r->message);
    pcache_builder_free(b);

    /* the same position twice */
    b = small_builder();
    add(b, to_section(PCACHE_RX, "code", 0x10, PCACHE_RELOC_REL8, 1, PCACHE_RX, "code", 0, 0));
    add(b, to_section(PCACHE_RX, "code", 0x10, PCACHE_RELOC_REL8, 1, PCACHE_RX, "code", 0, 0));
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, 0x3000, &sz), PCACHE_E_RELOC_OVERLAP);
    pcache_builder_free(b);
}

static void test_undefined_anchors(void **state)
{
    pcache_builder *b = small_builder();
    pcache_identity id;
    uint64_t sz;
    (void)state;
    add(b, to_anchor(PCACHE_RX, "code", 0, PCACHE_RELOC_ABS64, 0, "client", 0, 0));
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, 0x3000, &sz), PCACHE_E_ANCHOR);
    test_assert_report(pcache_builder_report(b), PCACHE_E_ANCHOR);
    assert_non_null(strstr(pcache_builder_report(b)->message, "client"));
    assert_int_equal(pcache_builder_set_anchor(b, "client", 0x1000), PCACHE_OK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, 0x3000, &sz), PCACHE_OK);
    pcache_builder_free(b);

    /* "module" needs a module key in the identity */
    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    /* the 48-byte form, whose bytes most tests here read; the property
     * and corruption tests run again on the compact form */
    assert_int_equal(pcache_builder_set_reloc_form(b, form_under_test), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", code, sizeof code, 16, 0), PCACHE_OK);
    add(b, to_anchor(PCACHE_RX, "code", 0, PCACHE_RELOC_ABS64, 0, "module", 0, 0));
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, 0x3000, &sz), PCACHE_E_ANCHOR);
    assert_non_null(strstr(pcache_builder_report(b)->message, "module"));
    pcache_builder_free(b);
}

/* Persisting a class whose sites point into a class not yet sized, or
 * after a patch was added since size, is out of order. */
static void test_order_of_calls(void **state)
{
    pcache_builder *b = small_builder();
    uint64_t sz;
    uint8_t *seg;
    void *block;
    (void)state;
    add(b, to_section(PCACHE_RX, "code", 0, PCACHE_RELOC_REL32, 4, PCACHE_RW, "vars", 0, 0));
    assert_int_equal(persist_class(b, PCACHE_RX, 0x3000, &seg, &sz, &block), PCACHE_E_STATE);
    test_assert_report(pcache_builder_report(b), PCACHE_E_STATE);
    free(block);
    assert_int_equal(pcache_builder_size(b, PCACHE_RW, 0x5000, &sz), PCACHE_OK);
    assert_int_equal(persist_class(b, PCACHE_RX, 0x3000, &seg, &sz, &block), PCACHE_OK);
    free(block);
    /* a patch added after size: the class must be sized again */
    add(b, to_section(PCACHE_RX, "code", 8, PCACHE_RELOC_ABS64, 0, PCACHE_RW, "vars", 0, 0));
    {
        pcache_buffer_sink st;
        uint8_t buf[16];
        pcache_sink sink = pcache_sink_buffer(&st, buf, sizeof buf);
        assert_int_equal(pcache_builder_persist(b, PCACHE_RX, &sink), PCACHE_E_STATE);
        assert_int_equal(st.used, 0);
    }
    pcache_builder_free(b);
}

/* ------------------------------------------------------------------ */
/* persisted bytes and records                                         */
/* ------------------------------------------------------------------ */

static void test_persisted_bytes_and_records(void **state)
{
    small_image im;
    pcache_segment seg;
    pcache_report rep;
    pcache_reloc r;
    const char *name;
    uint64_t addr;
    uint8_t original[sizeof code];
    const uint8_t *c;
    int ri;
    (void)state;

    small_image_build(&im, small_builder_with_patches());
    /* the client's memory is never written */
    test_fill(original, sizeof original, 12);
    assert_memory_equal(code, original, sizeof code);

    assert_int_equal(resurrect(&seg, im.seg[PCACHE_RX], im.size[PCACHE_RX], PCACHE_RX, pcache_builder_identity(im.b),
                               PCACHE_VALIDATE_FULL, &rep),
                     PCACHE_OK);
    /* rx: code, .relocs, .anchors; the client sees one section */
    assert_int_equal(seg.section_count, 3);
    assert_int_equal(pcache_builder_section_count(im.b, PCACHE_RX), 1);
    assert_int_equal(section_index(im.seg[PCACHE_RX], ".relocs"), 1);
    assert_int_equal(section_index(im.seg[PCACHE_RX], ".anchors"), 2);
    assert_int_equal(ld16(entry(im.seg[PCACHE_RX], 1) + SE_TYPE), PCACHE_TYPE_RELOCS);
    assert_int_equal(ld16(entry(im.seg[PCACHE_RX], 2) + SE_TYPE), PCACHE_TYPE_ANCHORS);
    assert_int_equal(ld16(entry(im.seg[PCACHE_RX], 1) + SE_FLAGS), 0);
    assert_int_equal(ld64(entry(im.seg[PCACHE_RX], 1) + SE_STORED_SIZE), 4 * 48);
    assert_int_equal(ld64(entry(im.seg[PCACHE_RX], 2) + SE_STORED_SIZE), 3 * 40);
    assert_int_equal(pcache_segment_reloc_count(&seg), 4);

    /* anchors sorted by name, with their persist-time addresses */
    assert_int_equal(pcache_segment_anchor_count(&seg), 3);
    assert_int_equal(pcache_segment_anchor(&seg, 0, &name, &addr), PCACHE_OK);
    assert_string_equal(name, "client");
    assert_int_equal(addr, CLIENT_AT_PERSIST);
    assert_int_equal(pcache_segment_anchor(&seg, 1, &name, &addr), PCACHE_OK);
    assert_string_equal(name, "module");
    assert_int_equal(addr, TEST_MODULE_BASE);
    assert_int_equal(pcache_segment_anchor(&seg, 2, &name, &addr), PCACHE_OK);
    assert_string_equal(name, "tbl");
    assert_int_equal(pcache_segment_anchor(&seg, 3, &name, &addr), PCACHE_E_NOT_FOUND);

    /* record 0, byte by byte as docs/FORMAT.md 9.3 lays it out:
     * abs64 at code+0x20 -> ro consts+16, addend 4 */
    c = im.seg[PCACHE_RX] + ld64(entry(im.seg[PCACHE_RX], 1) + SE_OFFSET);
    {
        uint8_t want[48] = {0};
        want[0] = 4;    /* abs64 */
        want[1] = 1;    /* section target */
        want[2] = 0;    /* site section 0 */
        want[8] = 0x20; /* site offset */
        want[16] = 0;   /* target section 0 */
        want[18] = 1;   /* class code of ro */
        want[24] = 16;  /* target offset */
        put_field(want + 32, im.fo_consts, 8, 0);
        want[40] = 4;   /* addend */
        assert_memory_equal(c, want, 48);
    }
    /* record 2: rel32 at code+0x40 -> anchor 1 ("module") + 0x2000, pc_offset 5 */
    {
        uint8_t want[48] = {0};
        want[0] = 2;
        want[1] = 2;
        want[4] = 5;
        want[8] = 0x40;
        want[16] = 1;
        put_field(want + 24, 0x2000, 8, 0);
        assert_memory_equal(c + 96, want, 48);
    }
    /* record 1: addend -8 in two's complement */
    assert_int_equal(ld64(c + 48 + 40), (uint64_t)-8);

    /* the iterator agrees */
    assert_int_equal(pcache_segment_reloc(&seg, 0, &r), PCACHE_OK);
    assert_int_equal(r.kind, PCACHE_RELOC_ABS64);
    assert_int_equal(r.target_kind, PCACHE_TARGET_SECTION);
    assert_string_equal(r.site_section, "code");
    assert_int_equal(r.site_offset, 0x20);
    assert_int_equal(r.target_class, PCACHE_RO);
    assert_null(r.target_section); /* in another segment */
    assert_int_equal(r.target_base, im.fo_consts);
    assert_int_equal(r.target_offset, 16);
    assert_int_equal(r.addend, 4);
    assert_int_equal(pcache_segment_reloc(&seg, 1, &r), PCACHE_OK);
    assert_int_equal(r.target_kind, PCACHE_TARGET_ANCHOR);
    assert_string_equal(r.anchor, "client");
    assert_int_equal(r.anchor_persisted, CLIENT_AT_PERSIST);
    assert_int_equal(r.addend, -8);
    assert_int_equal(pcache_segment_reloc(&seg, 2, &r), PCACHE_OK);
    assert_int_equal(r.pc_offset, 5);
    assert_string_equal(r.anchor, "module");
    assert_int_equal(pcache_segment_reloc(&seg, 4, &r), PCACHE_E_NOT_FOUND);

    /* persisted fields: resolved ones final, recorded ones for image base 0
     * and the persist-time anchors; every other byte the client's */
    {
        const uint8_t *sec = im.seg[PCACHE_RX] + ld64(entry(im.seg[PCACHE_RX], 0) + SE_OFFSET);
        uint8_t want[sizeof code];
        memcpy(want, code, sizeof code);
        put_field(want + 0x10, im.fo_vars + 8 - (im.fo_code + 0x10 + 4), 4, 0);
        put_field(want + 0x20, im.fo_consts + 16 + 4, 8, 0);
        put_field(want + 0x30, CLIENT_AT_PERSIST + 0x100 - 8, 8, 0);
        put_field(want + 0x40, TEST_MODULE_BASE + 0x2000 - (im.fo_code + 0x40 + 5), 4, 0);
        /* that one does not fit: zero */
        assert_false(fits(PCACHE_RELOC_REL32, TEST_MODULE_BASE + 0x2000 - (im.fo_code + 0x40 + 5)));
        put_field(want + 0x40, 0, 4, 0);
        put_field(want + 0x50, TBL_AT_PERSIST, 4, 0);
        want[0x60] = 0x70 - 0x61;
        assert_memory_equal(sec, want, sizeof code);
    }
    /* rw: one record, no anchors; ro: nothing */
    assert_int_equal(resurrect(&seg, im.seg[PCACHE_RW], im.size[PCACHE_RW], PCACHE_RW, pcache_builder_identity(im.b),
                               PCACHE_VALIDATE_FULL, &rep),
                     PCACHE_OK);
    assert_int_equal(pcache_segment_reloc_count(&seg), 1);
    assert_int_equal(pcache_segment_anchor_count(&seg), 0);
    assert_int_equal(section_index(im.seg[PCACHE_RW], ".anchors"), -1);
    assert_int_equal(resurrect(&seg, im.seg[PCACHE_RO], im.size[PCACHE_RO], PCACHE_RO, pcache_builder_identity(im.b),
                               PCACHE_VALIDATE_FULL, &rep),
                     PCACHE_OK);
    assert_int_equal(pcache_segment_reloc_count(&seg), 0);
    assert_int_equal(seg.section_count, 1);
    ri = section_index(im.seg[PCACHE_RO], ".relocs");
    assert_int_equal(ri, -1);
    small_image_free(&im);
}

/* A client that names its known sections still gets the library's. */
static void test_known_list_does_not_hide_tables(void **state)
{
    small_image im;
    pcache_segment seg;
    pcache_expect exp;
    pcache_report rep;
    pcache_view v;
    const char *known[] = {"code"};
    const uint8_t *m;
    (void)state;
    small_image_build(&im, small_builder_with_patches());
    pcache_expect_init(&exp, pcache_builder_identity(im.b));
    exp.known_sections = known;
    exp.known_section_count = 1;
    m = im.seg[PCACHE_RX];
    assert_int_equal(pcache_resurrect(&seg, PCACHE_RX, &m, im.size[PCACHE_RX], &exp, &rep), PCACHE_OK);
    assert_int_equal(pcache_segment_reloc_count(&seg), 4);
    assert_int_equal(pcache_segment_find(&seg, ".relocs", &v, &rep), PCACHE_OK);
    assert_int_equal(v.type, PCACHE_TYPE_RELOCS);
    assert_int_equal(v.size, 4 * 48);
    small_image_free(&im);
}

/* ------------------------------------------------------------------ */
/* apply                                                               */
/* ------------------------------------------------------------------ */

static void test_apply_small_image(void **state)
{
    small_image im;
    pcache_segment seg;
    pcache_report rep;
    const uint64_t base = 0x7ff000000000ull;
    anchors_now a = {.client = 0x7f1000002000ull, .module = base - 0x100000, .tbl = 0x20000};
    uint8_t *dst, want[sizeof code];
    const uint8_t *sec;
    uint64_t code_at;
    (void)state;

    small_image_build(&im, small_builder_with_patches());
    assert_int_equal(resurrect(&seg, im.seg[PCACHE_RX], im.size[PCACHE_RX], PCACHE_RX, pcache_builder_identity(im.b),
                               PCACHE_VALIDATE_FULL, &rep),
                     PCACHE_OK);
    dst = malloc(im.size[PCACHE_RX]);
    memcpy(dst, im.seg[PCACHE_RX], im.size[PCACHE_RX]);
    if (pcache_reloc_apply(&seg, dst, base, resolve_small, &a, &rep) != PCACHE_OK)
        fail_msg("apply: %s", rep.message);
    assert_int_equal(a.calls, 3); /* once per anchor, not per record */

    sec = dst + ld64(entry(im.seg[PCACHE_RX], 0) + SE_OFFSET);
    code_at = base + im.fo_code;
    memcpy(want, im.seg[PCACHE_RX] + ld64(entry(im.seg[PCACHE_RX], 0) + SE_OFFSET), sizeof want);
    put_field(want + 0x20, base + im.fo_consts + 16 + 4, 8, 0);
    put_field(want + 0x30, a.client + 0x100 - 8, 8, 0);
    put_field(want + 0x40, a.module + 0x2000 - (code_at + 0x40 + 5), 4, 0);
    put_field(want + 0x50, a.tbl, 4, 0);
    assert_memory_equal(sec, want, sizeof want);
    /* the rest of the segment is untouched */
    assert_memory_equal(dst, im.seg[PCACHE_RX], ld64(entry(im.seg[PCACHE_RX], 0) + SE_OFFSET));
    assert_memory_equal(sec + sizeof code, im.seg[PCACHE_RX] + (sec + sizeof code - dst),
                        im.size[PCACHE_RX] - (uint64_t)(sec + sizeof code - dst));
    /* the test decodes what the library would: the targets */
    {
        uint64_t t;
        assert_int_equal(pcache_decode_reference(PCACHE_RELOC_REL32, PCACHE_LITTLE_ENDIAN, sec + 0x40, code_at + 0x40, 5,
                                                 &t),
                         PCACHE_OK);
        assert_int_equal(t, a.module + 0x2000);
        assert_int_equal(pcache_decode_reference(PCACHE_RELOC_REL32, PCACHE_LITTLE_ENDIAN, sec + 0x10, code_at + 0x10, 4,
                                                 &t),
                         PCACHE_OK);
        assert_int_equal(t, base + im.fo_vars + 8);
    }
    /* applying again to the same bytes writes the same values */
    {
        uint8_t *again = malloc(im.size[PCACHE_RX]);
        memcpy(again, dst, im.size[PCACHE_RX]);
        assert_int_equal(pcache_reloc_apply(&seg, again, base, resolve_small, &a, &rep), PCACHE_OK);
        assert_memory_equal(again, dst, im.size[PCACHE_RX]);
        free(again);
    }

    /* rw: its record points into rx */
    assert_int_equal(resurrect(&seg, im.seg[PCACHE_RW], im.size[PCACHE_RW], PCACHE_RW, pcache_builder_identity(im.b),
                               PCACHE_VALIDATE_FULL, &rep),
                     PCACHE_OK);
    free(dst);
    dst = malloc(im.size[PCACHE_RW]);
    memcpy(dst, im.seg[PCACHE_RW], im.size[PCACHE_RW]);
    assert_int_equal(pcache_reloc_apply(&seg, dst, base, NULL, NULL, &rep), PCACHE_OK);
    assert_int_equal(ld64(dst + ld64(entry(im.seg[PCACHE_RW], 0) + SE_OFFSET)), base + im.fo_code);
    free(dst);
    small_image_free(&im);
}

static void test_anchor_failures(void **state)
{
    small_image im;
    pcache_segment seg;
    pcache_report rep;
    anchors_now a = {.client = 1, .module = 0x7ff000000000ull, .tbl = 2, .fail_client = 1};
    uint8_t *dst;
    (void)state;
    small_image_build(&im, small_builder_with_patches());
    assert_int_equal(resurrect(&seg, im.seg[PCACHE_RX], im.size[PCACHE_RX], PCACHE_RX, pcache_builder_identity(im.b),
                               PCACHE_VALIDATE_FULL, &rep),
                     PCACHE_OK);
    dst = malloc(im.size[PCACHE_RX]);
    memcpy(dst, im.seg[PCACHE_RX], im.size[PCACHE_RX]);
    assert_int_equal(pcache_reloc_apply(&seg, dst, 0x7ff000000000ull, resolve_small, &a, &rep), PCACHE_E_ANCHOR);
    test_assert_report(&rep, PCACHE_E_ANCHOR);
    assert_non_null(strstr(rep.message, "\"client\""));
    assert_memory_equal(dst, im.seg[PCACHE_RX], im.size[PCACHE_RX]);
    assert_int_equal(pcache_reloc_apply(&seg, dst, 0x7ff000000000ull, NULL, NULL, &rep), PCACHE_E_ANCHOR);
    test_assert_report(&rep, PCACHE_E_ANCHOR);
    assert_memory_equal(dst, im.seg[PCACHE_RX], im.size[PCACHE_RX]);
    assert_int_equal(pcache_reloc_apply(NULL, dst, 0, NULL, NULL, &rep), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_reloc_apply(&seg, NULL, 0, NULL, NULL, &rep), PCACHE_E_INVALID_ARGUMENT);
    free(dst);
    small_image_free(&im);
}

/* One recorded site of the given kind to anchor "x", persisted in rx at
 * F_RX; apply with anchor x at the given address; returns the status and
 * checks all-or-nothing and, on success, the field. */
typedef struct one_site {
    pcache_builder *b;
    uint8_t *seg;
    uint64_t size;
    void *block;
    uint64_t site_fo;
} one_site;

static int resolve_x(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    (void)persisted;
    assert_string_equal(name, "x");
    *address = *(uint64_t *)ctx;
    return 0;
}

static void one_site_build(one_site *o, pcache_reloc_kind kind, int32_t pc)
{
    pcache_identity id;
    uint64_t sz;
    test_fill(code, sizeof code, 12);
    test_identity(&id, PCACHE_CHECKSUM_CRC32);
    assert_int_equal(pcache_builder_new(&o->b, &id), PCACHE_OK);
    /* the 48-byte form, whose bytes most tests here read; the property
     * and corruption tests run again on the compact form */
    assert_int_equal(pcache_builder_set_reloc_form(o->b, form_under_test), PCACHE_OK);
    assert_int_equal(pcache_builder_add(o->b, PCACHE_RX, "code", code, sizeof code, 16, 0), PCACHE_OK);
    add(o->b, to_anchor(PCACHE_RX, "code", 0x21, kind, pc, "x", 0, 0));
    assert_int_equal(pcache_builder_set_anchor(o->b, "x", 0x1000), PCACHE_OK);
    assert_int_equal(pcache_builder_size(o->b, PCACHE_RX, F_RX, &sz), PCACHE_OK);
    assert_int_equal(pcache_builder_section_file_offset(o->b, PCACHE_RX, "code", &o->site_fo), PCACHE_OK);
    o->site_fo += 0x21;
    assert_int_equal(persist_class(o->b, PCACHE_RX, F_RX, &o->seg, &o->size, &o->block), PCACHE_OK);
}

static void one_site_apply(one_site *o, pcache_reloc_kind kind, int32_t pc, uint64_t base, uint64_t anchor,
                           pcache_status want)
{
    pcache_segment seg;
    pcache_report rep;
    uint8_t *dst = malloc(o->size);
    uint64_t field_off;
    assert_int_equal(resurrect(&seg, o->seg, o->size, PCACHE_RX, pcache_builder_identity(o->b), PCACHE_VALIDATE_FULL,
                               &rep),
                     PCACHE_OK);
    memcpy(dst, o->seg, o->size);
    assert_int_equal(pcache_reloc_apply(&seg, dst, base, resolve_x, &anchor, &rep), want);
    field_off = o->site_fo - F_RX;
    if (want == PCACHE_OK) {
        uint64_t v = relative(kind) ? anchor - (base + o->site_fo + (uint64_t)(int64_t)pc) : anchor;
        assert_int_equal(get_field(dst + field_off, width_of(kind), 0), low_bits(v, width_of(kind)));
    } else {
        test_assert_report(&rep, want);
        assert_string_equal(rep.section, "code");
        assert_int_equal(rep.offset, field_off);
        assert_memory_equal(dst, o->seg, o->size);
    }
    free(dst);
}

/* Every reach boundary at load: the anchor moves to exactly the last
 * address a field reaches, then one past it. */
static void test_apply_reach_boundaries(void **state)
{
    const uint64_t base = 0x7f5500000000ull;
    one_site o;
    (void)state;

    one_site_build(&o, PCACHE_RELOC_REL32, 4);
    {
        uint64_t from = base + o.site_fo + 4;
        one_site_apply(&o, PCACHE_RELOC_REL32, 4, base, from + 0x7fffffffull, PCACHE_OK);
        one_site_apply(&o, PCACHE_RELOC_REL32, 4, base, from + 0x80000000ull, PCACHE_E_RELOC_RANGE);
        one_site_apply(&o, PCACHE_RELOC_REL32, 4, base, from - 0x80000000ull, PCACHE_OK);
        one_site_apply(&o, PCACHE_RELOC_REL32, 4, base, from - 0x80000001ull, PCACHE_E_RELOC_RANGE);
    }
    free(o.block);
    pcache_builder_free(o.b);

    one_site_build(&o, PCACHE_RELOC_REL8, 1);
    {
        uint64_t from = base + o.site_fo + 1;
        one_site_apply(&o, PCACHE_RELOC_REL8, 1, base, from + 127, PCACHE_OK);
        one_site_apply(&o, PCACHE_RELOC_REL8, 1, base, from + 128, PCACHE_E_RELOC_RANGE);
        one_site_apply(&o, PCACHE_RELOC_REL8, 1, base, from - 128, PCACHE_OK);
        one_site_apply(&o, PCACHE_RELOC_REL8, 1, base, from - 129, PCACHE_E_RELOC_RANGE);
    }
    free(o.block);
    pcache_builder_free(o.b);

    one_site_build(&o, PCACHE_RELOC_ABS32, 0);
    one_site_apply(&o, PCACHE_RELOC_ABS32, 0, base, 0xffffffffull, PCACHE_OK);
    one_site_apply(&o, PCACHE_RELOC_ABS32, 0, base, 0x100000000ull, PCACHE_E_RELOC_RANGE);
    one_site_apply(&o, PCACHE_RELOC_ABS32, 0, base, 0, PCACHE_OK);
    free(o.block);
    pcache_builder_free(o.b);

    one_site_build(&o, PCACHE_RELOC_ABS64, 0);
    one_site_apply(&o, PCACHE_RELOC_ABS64, 0, base, UINT64_MAX, PCACHE_OK);
    free(o.block);
    pcache_builder_free(o.b);
}

/* An abs32 to a section of the image: the image base decides. */
static void test_apply_abs32_internal_boundary(void **state)
{
    pcache_builder *b = small_builder();
    pcache_segment seg;
    pcache_report rep;
    uint8_t *s, *dst;
    uint64_t size, off;
    void *block;
    (void)state;
    add(b, to_section(PCACHE_RX, "code", 0, PCACHE_RELOC_ABS32, 0, PCACHE_RX, "code", 0x7f, 0));
    assert_int_equal(persist_class(b, PCACHE_RX, F_RX, &s, &size, &block), PCACHE_OK);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RX, "code", &off), PCACHE_OK);
    assert_int_equal(resurrect(&seg, s, size, PCACHE_RX, pcache_builder_identity(b), PCACHE_VALIDATE_FULL, &rep),
                     PCACHE_OK);
    dst = malloc(size);
    memcpy(dst, s, size);
    /* the target address is base + off + 0x7f */
    assert_int_equal(pcache_reloc_apply(&seg, dst, 0xffffffffull - off - 0x7f, NULL, NULL, &rep), PCACHE_OK);
    assert_int_equal(ld32(dst + off - F_RX), 0xffffffffu);
    memcpy(dst, s, size);
    assert_int_equal(pcache_reloc_apply(&seg, dst, 0x100000000ull - off - 0x7f, NULL, NULL, &rep),
                     PCACHE_E_RELOC_RANGE);
    assert_memory_equal(dst, s, size);
    free(dst);
    free(block);
    pcache_builder_free(b);
}

/* The failing record is the last of the table: nothing may have been
 * written for the ones before it. */
static void test_all_or_nothing(void **state)
{
    pcache_builder *b = small_builder();
    pcache_segment seg;
    pcache_report rep;
    uint8_t *s, *dst;
    uint64_t size, x;
    void *block;
    (void)state;
    for (int i = 0; i < 12; i++)
        add(b, to_anchor(PCACHE_RX, "code", 8 * (uint64_t)i, PCACHE_RELOC_ABS64, 0, "x", (uint64_t)i, 0));
    add(b, to_anchor(PCACHE_RX, "code", 100, PCACHE_RELOC_REL32, 4, "x", 0, 0));
    assert_int_equal(pcache_builder_set_anchor(b, "x", 0x4000), PCACHE_OK);
    assert_int_equal(persist_class(b, PCACHE_RX, F_RX, &s, &size, &block), PCACHE_OK);
    assert_int_equal(resurrect(&seg, s, size, PCACHE_RX, pcache_builder_identity(b), PCACHE_VALIDATE_FULL, &rep),
                     PCACHE_OK);
    assert_int_equal(pcache_segment_reloc_count(&seg), 13);
    dst = malloc(size);
    memcpy(dst, s, size);
    x = 0x7fff00000000ull; /* far from the image at base 0x10000 */
    assert_int_equal(pcache_reloc_apply(&seg, dst, 0x10000, resolve_x, &x, &rep), PCACHE_E_RELOC_RANGE);
    test_assert_report(&rep, PCACHE_E_RELOC_RANGE);
    assert_non_null(strstr(rep.message, "record 12"));
    assert_memory_equal(dst, s, size);
    /* the same segment applies at a base near the anchor */
    assert_int_equal(pcache_reloc_apply(&seg, dst, x - 0x100000, resolve_x, &x, &rep), PCACHE_OK);
    assert_int_equal(ld64(dst + ld64(entry(s, 0) + SE_OFFSET) + 8 * 11), x + 11);
    free(dst);
    free(block);
    pcache_builder_free(b);
}

/* A segment of rx "code" holding the references refs (all to anchors),
 * resurrected under FULL; *fo: the file offset of "code". */
typedef struct span_image {
    pcache_builder *b;
    pcache_identity id;
    uint8_t *s;
    uint64_t size, fo;
    void *block;
    pcache_segment seg;
} span_image;

static void span_image_build(span_image *im, const pcache_patch *refs, int n, const char *const *anchors, int nanchors)
{
    pcache_report rep;
    uint64_t sz;
    test_fill(code, sizeof code, 12);
    test_identity(&im->id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&im->b, &im->id), PCACHE_OK);
    /* the 48-byte form, whose bytes most tests here read; the property
     * and corruption tests run again on the compact form */
    assert_int_equal(pcache_builder_set_reloc_form(im->b, form_under_test), PCACHE_OK);
    assert_int_equal(pcache_builder_add(im->b, PCACHE_RX, "code", code, sizeof code, 16, 0), PCACHE_OK);
    for (int i = 0; i < n; i++)
        add(im->b, refs[i]);
    for (int j = 0; j < nanchors; j++)
        assert_int_equal(pcache_builder_set_anchor(im->b, anchors[j], 0x1000 * (uint64_t)(j + 1)), PCACHE_OK);
    assert_int_equal(pcache_builder_size(im->b, PCACHE_RX, F_RX, &sz), PCACHE_OK);
    assert_int_equal(pcache_builder_section_file_offset(im->b, PCACHE_RX, "code", &im->fo), PCACHE_OK);
    assert_int_equal(persist_class(im->b, PCACHE_RX, F_RX, &im->s, &im->size, &im->block), PCACHE_OK);
    assert_int_equal(resurrect(&im->seg, im->s, im->size, PCACHE_RX, &im->id, PCACHE_VALIDATE_FULL, &rep),
                     PCACHE_OK);
}

static void span_image_free(span_image *im)
{
    free(im->block);
    pcache_builder_free(im->b);
}

/* Applies at base, anchors resolved by resolve(ctx): want PCACHE_OK (the
 * copy is returned, to be freed) or PCACHE_E_RELOC_RANGE naming record
 * bad and leaving the copy as it was (NULL returned). */
static uint8_t *span_apply(span_image *im, uint64_t base, pcache_anchor_resolver resolve, void *ctx, int bad)
{
    pcache_report rep;
    char want[32];
    uint8_t *dst = malloc(im->size);
    memcpy(dst, im->s, im->size);
    if (bad < 0) {
        if (pcache_reloc_apply(&im->seg, dst, base, resolve, ctx, &rep) != PCACHE_OK)
            fail_msg("apply: %s", rep.message);
        return dst;
    }
    assert_int_equal(pcache_reloc_apply(&im->seg, dst, base, resolve, ctx, &rep), PCACHE_E_RELOC_RANGE);
    test_assert_report(&rep, PCACHE_E_RELOC_RANGE);
    snprintf(want, sizeof want, "record %d:", bad);
    if (!strstr(rep.message, want))
        fail_msg("expected %s in: %s", want, rep.message);
    assert_memory_equal(dst, im->s, im->size);
    free(dst);
    return NULL;
}

/* Many records of one anchor and kind, whose values apply proves in range
 * at once (pcache_reloc_span): exactly up to the reach of the farthest up
 * and down, and the farthest is named when it no longer reaches. */
static void test_apply_span_boundaries(void **state)
{
    static const uint64_t toff[8] = {0x40, 0, 0x7000, 0x10, 0x123, 0x6fff, 0x20, 0x3000};
    const uint64_t base = 0x7f5500000000ull;
    pcache_patch refs[8];
    span_image im;
    int64_t d[8], dmax = INT64_MIN, dmin = INT64_MAX;
    int imax = 0, imin = 0;
    uint64_t x, from;
    (void)state;
    for (int i = 0; i < 8; i++) {
        refs[i] = to_anchor(PCACHE_RX, "code", 8 * (uint64_t)i, PCACHE_RELOC_REL32, 4, "x", toff[i], 0);
        /* the value is x + d[i] - (base + fo + 4) */
        d[i] = (int64_t)toff[i] - 8 * i;
        if (d[i] > dmax)
            dmax = d[i], imax = i;
        if (d[i] < dmin)
            dmin = d[i], imin = i;
    }
    span_image_build(&im, refs, 8, (const char *const[]){"x"}, 1);
    from = base + im.fo + 4;
    for (int k = 0; k < 2; k++) {
        uint8_t *dst;
        x = k == 0 ? from + 0x7fffffffull - (uint64_t)dmax : from - 0x80000000ull - (uint64_t)dmin;
        dst = span_apply(&im, base, resolve_x, &x, -1);
        for (int i = 0; i < 8; i++)
            assert_int_equal(get_field(dst + (im.fo - F_RX) + 8 * (uint64_t)i, 4, 0),
                             low_bits(x + (uint64_t)d[i] - from, 4));
        free(dst);
        x = k == 0 ? x + 1 : x - 1;
        span_apply(&im, base, resolve_x, &x, k == 0 ? imax : imin);
    }
    span_image_free(&im);
}

/* abs32 values on both sides of an anchor (addends -8 and +8): the span
 * wraps around 2^64 when the values are summed up, not when applied. */
static void test_apply_span_around_zero(void **state)
{
    pcache_patch refs[2] = {to_anchor(PCACHE_RX, "code", 0x40, PCACHE_RELOC_ABS32, 0, "x", 0, -8),
                            to_anchor(PCACHE_RX, "code", 0x48, PCACHE_RELOC_ABS32, 0, "x", 0, 8)};
    span_image im;
    uint8_t *dst;
    uint64_t x = 0x10;
    (void)state;
    span_image_build(&im, refs, 2, (const char *const[]){"x"}, 1);
    dst = span_apply(&im, 0x10000, resolve_x, &x, -1);
    assert_int_equal(ld32(dst + (im.fo - F_RX) + 0x40), 0x8);
    assert_int_equal(ld32(dst + (im.fo - F_RX) + 0x48), 0x18);
    free(dst);
    x = 4;
    span_apply(&im, 0x10000, resolve_x, &x, 0);
    x = 0xffffffffull - 8;
    dst = span_apply(&im, 0x10000, resolve_x, &x, -1);
    assert_int_equal(ld32(dst + (im.fo - F_RX) + 0x48), 0xffffffffu);
    free(dst);
    x++;
    span_apply(&im, 0x10000, resolve_x, &x, 1);
    span_image_free(&im);
}

static int resolve_numbered(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    (void)persisted;
    assert_true(name[0] == 'a' && name[1] >= '0' && name[1] <= '9' && name[2] == 0);
    *address = ((const uint64_t *)ctx)[name[1] - '0'];
    return 0;
}

/* More anchors with ranged records than a segment keeps spans for
 * (PCACHE_RELOC_SPANS): apply checks record by record, as exactly. */
static void test_apply_more_origins_than_spans(void **state)
{
    enum { N = PCACHE_RELOC_SPANS + 2 };
    static const char *const names[10] = {"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"};
    const uint64_t base = 0x7f5500000000ull;
    pcache_patch refs[N];
    uint64_t at[N];
    span_image im;
    uint8_t *dst;
    (void)state;
    assert_true(N <= 10);
    for (int i = 0; i < N; i++)
        refs[i] = to_anchor(PCACHE_RX, "code", 8 * (uint64_t)i, PCACHE_RELOC_REL32, 4, names[i], 0, 0);
    span_image_build(&im, refs, N, names, N);
    for (int i = 0; i < N; i++)
        at[i] = base + im.fo + 8 * (uint64_t)i + 4 + 0x7fffffffull - (uint64_t)i;
    dst = span_apply(&im, base, resolve_numbered, at, -1);
    for (int i = 0; i < N; i++)
        assert_int_equal(ld32(dst + (im.fo - F_RX) + 8 * (uint64_t)i), 0x7fffffffu - (uint32_t)i);
    free(dst);
    at[N - 1] += N - 1 + 1; /* one past the reach, for an anchor past the spans */
    span_apply(&im, base, resolve_numbered, at, N - 1);
    span_image_free(&im);
}

/* Relative references between sections are resolved at persist: reach
 * boundaries set exactly through the addend. */
static pcache_status persist_internal(pcache_reloc_kind kind, int32_t pc, int64_t addend, uint64_t *value,
                                      pcache_report *rep)
{
    pcache_builder *b = small_builder();
    uint8_t *s;
    uint64_t size, sz, fo;
    void *block;
    pcache_status st;
    if (kind == PCACHE_RELOC_REL8)
        add(b, to_section(PCACHE_RX, "code", 0x40, kind, pc, PCACHE_RX, "code", 0x40, addend));
    else
        add(b, to_section(PCACHE_RX, "code", 0x40, kind, pc, PCACHE_RW, "vars", 0, addend));
    /* rw far away: an 0x7fff0000-byte gap, as between DynamoRIO slots */
    assert_int_equal(pcache_builder_size(b, PCACHE_RW, 0x7fff0000ull, &sz), PCACHE_OK);
    st = persist_class(b, PCACHE_RX, F_RX, &s, &size, &block);
    *rep = *pcache_builder_report(b);
    if (st == PCACHE_OK) {
        pcache_segment seg;
        pcache_report r2;
        assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RX, "code", &fo), PCACHE_OK);
        *value = get_field(s + (fo - F_RX) + 0x40, width_of(kind), 0);
        /* resolved at persist: no record, no table */
        assert_int_equal(resurrect(&seg, s, size, PCACHE_RX, pcache_builder_identity(b), PCACHE_VALIDATE_FULL, &r2),
                         PCACHE_OK);
        assert_int_equal(seg.section_count, 1);
        assert_int_equal(pcache_segment_reloc_count(&seg), 0);
    }
    free(block);
    pcache_builder_free(b);
    return st;
}

static void test_persist_reach_boundaries(void **state)
{
    pcache_report rep;
    uint64_t v = 0, fo_code, fo_vars, sz;
    int64_t d0;
    (void)state;
    {
        pcache_builder *b = small_builder();
        assert_int_equal(pcache_builder_size(b, PCACHE_RX, F_RX, &sz), PCACHE_OK);
        assert_int_equal(pcache_builder_size(b, PCACHE_RW, 0x7fff0000ull, &sz), PCACHE_OK);
        assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RX, "code", &fo_code), PCACHE_OK);
        assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RW, "vars", &fo_vars), PCACHE_OK);
        pcache_builder_free(b);
    }
    d0 = (int64_t)(fo_vars - (fo_code + 0x40 + 4)); /* the displacement for addend 0 */
    assert_true(d0 > 0x7ff00000);

    assert_int_equal(persist_internal(PCACHE_RELOC_REL32, 4, INT32_MAX - d0, &v, &rep), PCACHE_OK);
    assert_int_equal(v, 0x7fffffffu);
    assert_int_equal(persist_internal(PCACHE_RELOC_REL32, 4, INT32_MAX - d0 + 1, &v, &rep), PCACHE_E_RELOC_RANGE);
    test_assert_report(&rep, PCACHE_E_RELOC_RANGE);
    assert_string_equal(rep.section, "code");
    assert_non_null(strstr(rep.message, "code+0x40"));
    assert_non_null(strstr(rep.message, "2147483648"));
    assert_int_equal(persist_internal(PCACHE_RELOC_REL32, 4, INT32_MIN - d0, &v, &rep), PCACHE_OK);
    assert_int_equal(v, 0x80000000u);
    assert_int_equal(persist_internal(PCACHE_RELOC_REL32, 4, INT32_MIN - d0 - 1, &v, &rep), PCACHE_E_RELOC_RANGE);
    assert_non_null(strstr(rep.message, "-2147483649"));
    /* 1 MiB further does not reach */
    assert_int_equal(persist_internal(PCACHE_RELOC_REL32, 4, 0x100000, &v, &rep), PCACHE_E_RELOC_RANGE);

    /* rel8 to its own section: 0x40 + addend - (0x40 + 1) */
    assert_int_equal(persist_internal(PCACHE_RELOC_REL8, 1, 128, &v, &rep), PCACHE_OK);
    assert_int_equal(v, 0x7f);
    assert_int_equal(persist_internal(PCACHE_RELOC_REL8, 1, 129, &v, &rep), PCACHE_E_RELOC_RANGE);
    assert_int_equal(persist_internal(PCACHE_RELOC_REL8, 1, -127, &v, &rep), PCACHE_OK);
    assert_int_equal(v, 0x80);
    assert_int_equal(persist_internal(PCACHE_RELOC_REL8, 1, -128, &v, &rep), PCACHE_E_RELOC_RANGE);
    assert_non_null(strstr(rep.message, "-129"));
}

/* Fields straddling the writes of a producer, and a data section longer
 * than the writer's chunk with a field across the chunk boundary. */
static uint8_t big[200000];

static int produce_in_threes(void *ctx, pcache_writer *w)
{
    const uint8_t *p = ctx;
    for (size_t i = 0; i < sizeof code; i += 3) {
        size_t n = sizeof code - i < 3 ? sizeof code - i : 3;
        if (pcache_writer_write(w, p + i, n) != PCACHE_OK)
            return 1;
    }
    return 0;
}

static void test_straddling_fields(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    pcache_segment seg;
    pcache_report rep;
    uint8_t *s, *dst;
    uint64_t size, fo_p, fo_big;
    void *block;
    uint64_t x = 0x123456789abcdef0ull;
    (void)state;
    test_fill(code, sizeof code, 12);
    test_fill(big, sizeof big, 14);
    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    /* the 48-byte form, whose bytes most tests here read; the property
     * and corruption tests run again on the compact form */
    assert_int_equal(pcache_builder_set_reloc_form(b, form_under_test), PCACHE_OK);
    assert_int_equal(pcache_builder_add_produced(b, PCACHE_RX, "prod", sizeof code, 8, 0, produce_in_threes, code),
                     PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "big", big, sizeof big, 8, 0), PCACHE_OK);
    for (uint64_t off = 1; off + 8 <= sizeof code; off += 9)
        add(b, to_anchor(PCACHE_RX, "prod", off, PCACHE_RELOC_ABS64, 0, "x", off, 0));
    add(b, to_anchor(PCACHE_RX, "big", 65536 - 3, PCACHE_RELOC_ABS64, 0, "x", 0, 0));
    add(b, to_anchor(PCACHE_RX, "big", 131072 - 1, PCACHE_RELOC_ABS64, 0, "x", 1, 0));
    add(b, to_section(PCACHE_RX, "big", 131072 + 7, PCACHE_RELOC_REL32, 4, PCACHE_RX, "prod", 0, 0));
    assert_int_equal(pcache_builder_set_anchor(b, "x", 0x5000), PCACHE_OK);
    assert_int_equal(persist_class(b, PCACHE_RX, 0x1234, &s, &size, &block), PCACHE_OK);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RX, "prod", &fo_p), PCACHE_OK);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RX, "big", &fo_big), PCACHE_OK);
    assert_int_equal(resurrect(&seg, s, size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    dst = malloc(size);
    memcpy(dst, s, size);
    assert_int_equal(pcache_reloc_apply(&seg, dst, 0x10000000, resolve_x, &x, &rep), PCACHE_OK);
    {
        uint8_t *want = malloc(size);
        memcpy(want, s, size);
        for (uint64_t off = 1; off + 8 <= sizeof code; off += 9) {
            assert_int_equal(ld64(s + fo_p - 0x1234 + off), 0x5000 + off); /* persisted */
            st64(want + fo_p - 0x1234 + off, x + off);
        }
        assert_int_equal(ld64(s + fo_big - 0x1234 + 65533), 0x5000);
        st64(want + fo_big - 0x1234 + 65533, x);
        st64(want + fo_big - 0x1234 + 131071, x + 1);
        assert_int_equal(ld32(s + fo_big - 0x1234 + 131079), (uint32_t)(fo_p - (fo_big + 131079 + 4)));
        assert_memory_equal(dst, want, size);
        free(want);
    }
    {
        /* and every other persisted byte is the client's */
        uint8_t prod[sizeof code];
        uint8_t *bigw = malloc(sizeof big);
        memcpy(prod, code, sizeof code);
        for (uint64_t off = 1; off + 8 <= sizeof code; off += 9)
            st64(prod + off, 0x5000 + off);
        assert_memory_equal(s + fo_p - 0x1234, prod, sizeof prod);
        memcpy(bigw, big, sizeof big);
        st64(bigw + 65533, 0x5000);
        st64(bigw + 131071, 0x5001);
        st32(bigw + 131079, (uint32_t)(fo_p - (fo_big + 131079 + 4)));
        assert_memory_equal(s + fo_big - 0x1234, bigw, sizeof big);
        free(bigw);
    }
    free(dst);
    free(block);
    pcache_builder_free(b);
}

/* A big-endian image encodes its fields big-endian. */
static void test_big_endian_image(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    pcache_segment seg;
    pcache_report rep;
    uint8_t *s, *dst;
    uint64_t size, fo;
    void *block;
    uint64_t x = 0x0102030405060708ull;
    (void)state;
    test_fill(code, sizeof code, 12);
    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    id.byte_order = PCACHE_BIG_ENDIAN;
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    /* the 48-byte form, whose bytes most tests here read; the property
     * and corruption tests run again on the compact form */
    assert_int_equal(pcache_builder_set_reloc_form(b, form_under_test), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", code, sizeof code, 16, 0), PCACHE_OK);
    add(b, to_anchor(PCACHE_RX, "code", 0, PCACHE_RELOC_ABS64, 0, "x", 0, 0));
    add(b, to_section(PCACHE_RX, "code", 8, PCACHE_RELOC_REL32, 4, PCACHE_RX, "code", 0, 0));
    assert_int_equal(pcache_builder_set_anchor(b, "x", 0x1122334455667788ull), PCACHE_OK);
    assert_int_equal(persist_class(b, PCACHE_RX, F_RX, &s, &size, &block), PCACHE_OK);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RX, "code", &fo), PCACHE_OK);
    {
        static const uint8_t persisted[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
        static const uint8_t rel[4] = {0xff, 0xff, 0xff, 0xf4}; /* 0 - (8 + 4) */
        assert_memory_equal(s + fo - F_RX, persisted, 8);
        assert_memory_equal(s + fo - F_RX + 8, rel, 4);
    }
    assert_int_equal(resurrect(&seg, s, size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    dst = malloc(size);
    memcpy(dst, s, size);
    assert_int_equal(pcache_reloc_apply(&seg, dst, 0x40000000, resolve_x, &x, &rep), PCACHE_OK);
    {
        static const uint8_t now[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        assert_memory_equal(dst + fo - F_RX, now, 8);
    }
    free(dst);
    free(block);
    pcache_builder_free(b);
}

/* ------------------------------------------------------------------ */
/* validation levels                                                   */
/* ------------------------------------------------------------------ */

static void test_lazy_verifies_touched_sections(void **state)
{
    small_image im;
    pcache_segment seg;
    pcache_report rep;
    pcache_view v;
    anchors_now a = {.client = 1, .module = 0x7ff000000000ull - 0x1000, .tbl = 2};
    uint8_t *copy;
    uint64_t code_off;
    void *blk;
    (void)state;
    small_image_build(&im, small_builder_with_patches());
    code_off = ld64(entry(im.seg[PCACHE_RX], 0) + SE_OFFSET);

    /* patch in place (dst = the mapping), then read the section: it was
     * verified before being patched and is not verified again */
    copy = test_copy_at(im.seg[PCACHE_RX], im.size[PCACHE_RX], F_RX, &blk);
    {
        assert_int_equal(resurrect(&seg, copy, im.size[PCACHE_RX], PCACHE_RX, pcache_builder_identity(im.b),
                                   PCACHE_VALIDATE_LAZY, &rep),
                         PCACHE_OK);
        assert_int_equal(pcache_reloc_apply(&seg, copy, 0x7ff000000000ull, resolve_small, &a, &rep), PCACHE_OK);
        assert_int_equal(pcache_segment_find(&seg, "code", &v, &rep), PCACHE_OK);
        assert_int_equal(ld64((const uint8_t *)v.data + 0x30), a.client + 0x100 - 8);

        /* a site section changed without re-signing: apply refuses before
         * writing anything */
        memcpy(copy, im.seg[PCACHE_RX], im.size[PCACHE_RX]);
        copy[code_off + 5] ^= 1;
        assert_int_equal(resurrect(&seg, copy, im.size[PCACHE_RX], PCACHE_RX, pcache_builder_identity(im.b),
                                   PCACHE_VALIDATE_LAZY, &rep),
                         PCACHE_OK);
        {
            uint8_t *before = malloc(im.size[PCACHE_RX]);
            memcpy(before, copy, im.size[PCACHE_RX]);
            assert_int_equal(pcache_reloc_apply(&seg, copy, 0x7ff000000000ull, resolve_small, &a, &rep),
                             PCACHE_E_SECTION_CHECKSUM);
            assert_string_equal(rep.section, "code");
            assert_memory_equal(copy, before, im.size[PCACHE_RX]);
            free(before);
        }
        /* a changed table is caught at resurrect, under LAZY too */
        memcpy(copy, im.seg[PCACHE_RX], im.size[PCACHE_RX]);
        copy[ld64(entry(copy, 1) + SE_OFFSET) + 3] ^= 1;
        assert_int_equal(resurrect(&seg, copy, im.size[PCACHE_RX], PCACHE_RX, pcache_builder_identity(im.b),
                                   PCACHE_VALIDATE_LAZY, &rep),
                         PCACHE_E_SECTION_CHECKSUM);
        assert_string_equal(rep.section, ".relocs");
        assert_int_equal(resurrect(&seg, copy, im.size[PCACHE_RX], PCACHE_RX, pcache_builder_identity(im.b),
                                   PCACHE_VALIDATE_FULL, &rep),
                         PCACHE_E_SECTION_CHECKSUM);
        free(blk);
    }
    small_image_free(&im);
}

/* Sites in two sections under LAZY: apply verifies both, the second
 * found past the first's records, before it writes into either. */
static void test_lazy_verifies_every_site_section(void **state)
{
    static uint8_t more[64];
    pcache_builder *b = small_builder();
    pcache_segment seg;
    pcache_report rep;
    uint8_t *s, *copy, *before;
    uint64_t size, sz, x = 0x7f0000400000ull;
    void *block, *blk;
    const char *changed[2] = {"code", "more"};
    (void)state;
    test_fill(more, sizeof more, 14);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "more", more, sizeof more, 8, 0), PCACHE_OK);
    for (int i = 0; i < 5; i++) {
        add(b, to_section(PCACHE_RX, "code", 8 * (uint64_t)i, PCACHE_RELOC_ABS64, 0, PCACHE_RO, "consts",
                          (uint64_t)i, 0));
        add(b, to_anchor(PCACHE_RX, "more", 16 + 8 * (uint64_t)i, PCACHE_RELOC_ABS64, 0, "x", (uint64_t)i, 0));
    }
    assert_int_equal(pcache_builder_set_anchor(b, "x", 0x1000), PCACHE_OK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, F_RO, &sz), PCACHE_OK);
    assert_int_equal(persist_class(b, PCACHE_RX, F_RX, &s, &size, &block), PCACHE_OK);
    before = malloc(size);
    for (int k = 0; k < 2; k++) {
        /* one byte of one site section changed, not at a site: apply
         * refuses before writing to either section */
        int si = section_index(s, changed[k]);
        copy = test_copy_at(s, size, F_RX, &blk);
        copy[ld64(entry(copy, si) + SE_OFFSET) + 4 + 8 * 5 * (uint64_t)(1 - k)] ^= 0x40;
        memcpy(before, copy, size);
        assert_int_equal(resurrect(&seg, copy, size, PCACHE_RX, pcache_builder_identity(b), PCACHE_VALIDATE_LAZY, &rep),
                         PCACHE_OK);
        assert_int_equal(pcache_reloc_apply(&seg, copy, 0x10000000, resolve_x, &x, &rep), PCACHE_E_SECTION_CHECKSUM);
        assert_string_equal(rep.section, changed[k]);
        assert_memory_equal(copy, before, size);
        free(blk);
    }
    /* unchanged: both sections are verified, then patched */
    copy = test_copy_at(s, size, F_RX, &blk);
    assert_int_equal(resurrect(&seg, copy, size, PCACHE_RX, pcache_builder_identity(b), PCACHE_VALIDATE_LAZY, &rep),
                     PCACHE_OK);
    assert_int_equal(pcache_reloc_apply(&seg, copy, 0x10000000, resolve_x, &x, &rep), PCACHE_OK);
    for (int k = 0; k < 2; k++) {
        int si = section_index(s, changed[k]);
        assert_true(seg.verified[si / 64] & (1ull << (si % 64)));
    }
    assert_int_equal(ld64(copy + ld64(entry(copy, section_index(s, "more")) + SE_OFFSET) + 16 + 8 * 4), x + 4);
    free(blk);
    free(before);
    free(block);
    pcache_builder_free(b);
}

/* ------------------------------------------------------------------ */
/* hostile tables                                                      */
/* ------------------------------------------------------------------ */

typedef void (*mutate_fn)(uint8_t *seg, uint8_t *relocs, uint8_t *anchors);

/* Applies a mutation to a copy of the small image's rx segment, re-signs
 * what it touched (sections, table, header) and expects resurrect to fail
 * with st at every validation level. */
static void expect_refused(const small_image *im, mutate_fn mutate, pcache_status st, const char *what)
{
    const pcache_validation levels[] = {PCACHE_VALIDATE_FULL, PCACHE_VALIDATE_LAZY, PCACHE_VALIDATE_HEADER};
    void *blk;
    uint8_t *copy = test_copy_at(im->seg[PCACHE_RX], im->size[PCACHE_RX], F_RX, &blk);
    int ri = section_index(copy, ".relocs"), ai = section_index(copy, ".anchors");
    pcache_segment seg;
    pcache_report rep;

    mutate(copy, copy + ld64(entry(copy, ri) + SE_OFFSET), copy + ld64(entry(copy, ai) + SE_OFFSET));
    for (uint32_t i = 0; i < ld32(copy + SH_SECTION_COUNT); i++)
        resign_section(copy, (int)i);
    test_resign_segment(copy);
    for (size_t k = 0; k < sizeof levels / sizeof levels[0]; k++) {
        pcache_status got = resurrect(&seg, copy, im->size[PCACHE_RX], PCACHE_RX, pcache_builder_identity(im->b),
                                      levels[k], &rep);
        if (got != st)
            fail_msg("%s (level %d): got %s, expected %s: %s", what, (int)levels[k], pcache_status_name(got),
                     pcache_status_name(st), rep.message);
        test_assert_report(&rep, st);
    }
    free(blk);
}

static void m_kind0(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; r[RR_KIND] = 0; }
static void m_kind5(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; r[48 + RR_KIND] = 5; }
static void m_tkind(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; r[RR_TARGET_KIND] = 3; }
static void m_reserved(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; r[96 + RR_RESERVED + 4] = 1; }
static void m_abs_pc(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; r[RR_PC_OFFSET] = 1; }
static void m_site_index(uint8_t *s, uint8_t *r, uint8_t *a) { (void)a; st16(r + RR_SITE_SECTION, 3); (void)s; }
static void m_site_in_table(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; st16(r + 144 + RR_SITE_SECTION, 1); }
/* abs64 at 121 of the 128-byte section: one byte past */
static void m_site_past(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; st64(r + 48 + RR_SITE_OFFSET, 121); }
static void m_site_wrap(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; st64(r + 144 + RR_SITE_OFFSET, UINT64_MAX - 1); }
static void m_unsorted(uint8_t *s, uint8_t *r, uint8_t *a)
{
    uint8_t t[48];
    (void)s, (void)a;
    memcpy(t, r, 48);
    memcpy(r, r + 48, 48);
    memcpy(r + 48, t, 48);
}
/* record 1 (abs64 at 0x30) moved to 0x27: shares a byte with record 0 (0x20..0x27) */
static void m_overlap(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; st64(r + 48 + RR_SITE_OFFSET, 0x27); }
static void m_same_site(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; st64(r + 48 + RR_SITE_OFFSET, 0x20); }
static void m_tclass(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; r[RR_TARGET_CLASS] = 4; }
static void m_tclass0(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; r[RR_TARGET_CLASS] = 0; }
static void m_rel_internal(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; r[RR_KIND] = PCACHE_RELOC_REL32; }
static void m_anchor_index(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; st16(r + 48 + RR_TARGET_INDEX, 3); }
static void m_anchor_class(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; r[48 + RR_TARGET_CLASS] = 2; }
static void m_anchor_base(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; r[48 + RR_TARGET_BASE] = 8; }
/* an internal target in its own class: make record 0 point into rx code */
static void own_class(uint8_t *r)
{
    r[RR_TARGET_CLASS] = 2;
    st16(r + RR_TARGET_INDEX, 0);
}
static void m_own_index(uint8_t *s, uint8_t *r, uint8_t *a)
{
    (void)a;
    own_class(r);
    st64(r + RR_TARGET_BASE, F_RX + ld64(entry(s, 0) + SE_OFFSET));
    st16(r + RR_TARGET_INDEX, 3);
}
static void m_own_offset(uint8_t *s, uint8_t *r, uint8_t *a)
{
    (void)a;
    own_class(r);
    st64(r + RR_TARGET_BASE, F_RX + ld64(entry(s, 0) + SE_OFFSET));
    st64(r + RR_TARGET_OFFSET, 129);
}
static void m_own_base(uint8_t *s, uint8_t *r, uint8_t *a)
{
    (void)a;
    own_class(r);
    st64(r + RR_TARGET_BASE, F_RX + ld64(entry(s, 0) + SE_OFFSET) + 1);
    st64(r + RR_TARGET_OFFSET, 0);
}
static void m_own_table(uint8_t *s, uint8_t *r, uint8_t *a)
{
    (void)a;
    own_class(r);
    st16(r + RR_TARGET_INDEX, 1); /* .relocs is not a data section */
    st64(r + RR_TARGET_BASE, F_RX + ld64(entry(s, 1) + SE_OFFSET));
    st64(r + RR_TARGET_OFFSET, 0);
}
static void m_target_wrap(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)a; st64(r + RR_TARGET_BASE, UINT64_MAX); }
static void m_anchor_name(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)r; a[40 + 2] = ' '; }
static void m_anchor_pad(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)r; a[40 + 30] = 'x'; }
static void m_anchor_empty(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)r; memset(a + 80, 0, 32); }
static void m_anchor_order(uint8_t *s, uint8_t *r, uint8_t *a)
{
    uint8_t t[40];
    (void)s, (void)r;
    memcpy(t, a, 40);
    memcpy(a, a + 40, 40);
    memcpy(a + 40, t, 40);
}
static void m_anchor_dup(uint8_t *s, uint8_t *r, uint8_t *a) { (void)s, (void)r; memcpy(a + 40, a, 40); }
static void m_skippable(uint8_t *s, uint8_t *r, uint8_t *a) { (void)r, (void)a; st16(entry(s, 1) + SE_FLAGS, 1); }
static void m_renamed(uint8_t *s, uint8_t *r, uint8_t *a) { (void)r, (void)a; entry(s, 1)[SE_NAME + 6] = 'z'; }
static void m_anchors_renamed(uint8_t *s, uint8_t *r, uint8_t *a) { (void)r, (void)a; entry(s, 2)[SE_NAME + 1] = 'b'; }
static void m_relocs_as_data(uint8_t *s, uint8_t *r, uint8_t *a)
{
    (void)r, (void)a;
    st16(entry(s, 1) + SE_TYPE, PCACHE_TYPE_DATA); /* then .anchors has no table */
}
/* .anchors is the last section and 8-aligned: 4 bytes less keeps the
 * canonical layout (the trailer offset rounds up the same) */
static void m_anchors_size(uint8_t *s, uint8_t *r, uint8_t *a)
{
    uint64_t size = ld64(entry(s, 2) + SE_STORED_SIZE) - 4;
    (void)r;
    st64(entry(s, 2) + SE_STORED_SIZE, size);
    st64(entry(s, 2) + SE_SIZE, size);
    memset(a + size, 0, 4);
}

static void test_hostile_tables(void **state)
{
    small_image im;
    (void)state;
    small_image_build(&im, small_builder_with_patches());
    expect_refused(&im, m_kind0, PCACHE_E_RELOC_TABLE, "kind 0");
    expect_refused(&im, m_kind5, PCACHE_E_RELOC_TABLE, "kind 5");
    expect_refused(&im, m_tkind, PCACHE_E_RELOC_TABLE, "target kind 3");
    expect_refused(&im, m_reserved, PCACHE_E_RELOC_TABLE, "reserved byte");
    expect_refused(&im, m_abs_pc, PCACHE_E_RELOC_TABLE, "pc_offset on abs64");
    expect_refused(&im, m_site_index, PCACHE_E_RELOC_TABLE, "site section index past the count");
    expect_refused(&im, m_site_in_table, PCACHE_E_RELOC_TABLE, "site in .relocs");
    expect_refused(&im, m_site_past, PCACHE_E_RELOC_TARGET, "field one byte past its section");
    expect_refused(&im, m_site_wrap, PCACHE_E_RELOC_TARGET, "site offset near 2^64");
    expect_refused(&im, m_unsorted, PCACHE_E_RELOC_TABLE, "records out of order");
    expect_refused(&im, m_overlap, PCACHE_E_RELOC_OVERLAP, "overlapping fields");
    expect_refused(&im, m_same_site, PCACHE_E_RELOC_OVERLAP, "two records at one site");
    expect_refused(&im, m_tclass, PCACHE_E_RELOC_TABLE, "target class code 4");
    expect_refused(&im, m_tclass0, PCACHE_E_RELOC_TABLE, "target class code 0");
    expect_refused(&im, m_rel_internal, PCACHE_E_RELOC_TABLE, "recorded relative internal reference");
    expect_refused(&im, m_anchor_index, PCACHE_E_RELOC_TARGET, "anchor index past the table");
    expect_refused(&im, m_anchor_class, PCACHE_E_RELOC_TABLE, "anchor record with a class");
    expect_refused(&im, m_anchor_base, PCACHE_E_RELOC_TABLE, "anchor record with a base");
    expect_refused(&im, m_own_index, PCACHE_E_RELOC_TARGET, "target section index past the count");
    expect_refused(&im, m_own_offset, PCACHE_E_RELOC_TARGET, "target offset past its section");
    expect_refused(&im, m_own_base, PCACHE_E_RELOC_TARGET, "target base not the section's file offset");
    expect_refused(&im, m_own_table, PCACHE_E_RELOC_TARGET, "target in .relocs");
    expect_refused(&im, m_target_wrap, PCACHE_E_RELOC_TARGET, "target base + offset wraps");
    expect_refused(&im, m_anchor_name, PCACHE_E_RELOC_TABLE, "anchor name with a space");
    expect_refused(&im, m_anchor_pad, PCACHE_E_RELOC_TABLE, "anchor name padding");
    expect_refused(&im, m_anchor_empty, PCACHE_E_RELOC_TABLE, "empty anchor name");
    expect_refused(&im, m_anchor_order, PCACHE_E_RELOC_TABLE, "anchors out of order");
    expect_refused(&im, m_anchor_dup, PCACHE_E_RELOC_TABLE, "duplicate anchors");
    expect_refused(&im, m_skippable, PCACHE_E_RELOC_TABLE, "skippable .relocs");
    expect_refused(&im, m_renamed, PCACHE_E_RELOC_TABLE, "type 2 not named .relocs");
    expect_refused(&im, m_anchors_renamed, PCACHE_E_RELOC_TABLE, "type 3 not named .anchors");
    expect_refused(&im, m_relocs_as_data, PCACHE_E_RELOC_TABLE, ".anchors without .relocs");
    expect_refused(&im, m_anchors_size, PCACHE_E_RELOC_TABLE, ".anchors size not a multiple of 40");
    small_image_free(&im);
}

/* .relocs 4 bytes short of whole records (a segment with no .anchors, so
 * that .relocs is last and the layout stays canonical). */
static void test_relocs_size_not_multiple(void **state)
{
    pcache_builder *b = small_builder();
    pcache_segment seg;
    pcache_report rep;
    uint8_t *s;
    uint64_t size, rsize;
    void *block;
    int ri;
    (void)state;
    add(b, to_section(PCACHE_RX, "code", 0, PCACHE_RELOC_ABS64, 0, PCACHE_RW, "vars", 0, 0));
    assert_int_equal(pcache_builder_size(b, PCACHE_RW, F_RW, &size), PCACHE_OK);
    assert_int_equal(persist_class(b, PCACHE_RX, F_RX, &s, &size, &block), PCACHE_OK);
    ri = section_index(s, ".relocs");
    assert_int_equal(ri, 1);
    rsize = ld64(entry(s, ri) + SE_STORED_SIZE) - 4;
    st64(entry(s, ri) + SE_STORED_SIZE, rsize);
    st64(entry(s, ri) + SE_SIZE, rsize);
    memset(s + ld64(entry(s, ri) + SE_OFFSET) + rsize, 0, 4);
    resign_section(s, ri);
    test_resign_segment(s);
    assert_int_equal(resurrect(&seg, s, size, PCACHE_RX, pcache_builder_identity(b), PCACHE_VALIDATE_FULL, &rep),
                     PCACHE_E_RELOC_TABLE);
    test_assert_report(&rep, PCACHE_E_RELOC_TABLE);
    assert_true(rep.has_values);
    assert_int_equal(rep.expected, 48);
    assert_int_equal(rep.found, 44);
    free(block);
    pcache_builder_free(b);
}

/* Any name resolves, to an address derived from it. */
static int resolve_any(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    uint64_t h = *(const uint64_t *)ctx ^ persisted;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    *address = h;
    return 0;
}

/* Random bytes of the tables changed and re-signed: resurrect refuses with
 * a relocation status, or accepts; what it accepts, apply handles without
 * writing outside the segment (the copy is exactly sized: ASan and
 * valgrind watch) and, when it succeeds, changes only bytes of data
 * sections. */
static void test_random_table_corruption(void **state)
{
    small_image im;
    const int cases = test_quick() ? 500 : 4000;
    int refused = 0;
    (void)state;
    small_image_build(&im, small_builder_with_patches());
    rng = 77;
    for (int n = 0; n < cases; n++) {
        void *blk;
        uint8_t *copy = test_copy_at(im.seg[PCACHE_RX], im.size[PCACHE_RX], F_RX, &blk);
        int ri = section_index(copy, form_under_test == PCACHE_RELOC_FORM_COMPACT ? ".crelocs" : ".relocs");
        int ai = section_index(copy, ".anchors");
        uint64_t roff = ld64(entry(copy, ri) + SE_OFFSET), aoff = ld64(entry(copy, ai) + SE_OFFSET);
        uint64_t rsz = ld64(entry(copy, ri) + SE_STORED_SIZE), asz = ld64(entry(copy, ai) + SE_STORED_SIZE);
        pcache_segment seg;
        pcache_report rep;
        pcache_status st;
        int flips = 1 + (int)(rnd() % 3);

        for (int f = 0; f < flips; f++) {
            uint64_t at = rnd() % (rsz + asz);
            uint8_t v = (uint8_t)(rnd() % 4 == 0 ? rnd() : 1u << (rnd() % 8));
            if (at < rsz)
                copy[roff + at] ^= v;
            else
                copy[aoff + at - rsz] ^= v;
        }
        resign_section(copy, ri);
        resign_section(copy, ai);
        st = resurrect(&seg, copy, im.size[PCACHE_RX], PCACHE_RX, pcache_builder_identity(im.b), PCACHE_VALIDATE_FULL,
                       &rep);
        if (st != PCACHE_OK) {
            if (st != PCACHE_E_RELOC_TABLE && st != PCACHE_E_RELOC_TARGET && st != PCACHE_E_RELOC_OVERLAP)
                fail_msg("case %d: unexpected %s: %s", n, pcache_status_name(st), rep.message);
            test_assert_report(&rep, st);
            refused++;
        } else {
            uint8_t *dst = malloc(im.size[PCACHE_RX]);
            uint64_t code_off = ld64(entry(copy, 0) + SE_OFFSET);
            uint64_t seed = rnd();
            memcpy(dst, copy, im.size[PCACHE_RX]);
            st = pcache_reloc_apply(&seg, dst, rnd() & ~0xfffull, resolve_any, &seed, &rep);
            if (st == PCACHE_OK) {
                /* only the code section may differ */
                assert_memory_equal(dst, copy, code_off);
                assert_memory_equal(dst + code_off + sizeof code, copy + code_off + sizeof code,
                                    im.size[PCACHE_RX] - code_off - sizeof code);
            } else {
                assert_memory_equal(dst, copy, im.size[PCACHE_RX]);
            }
            free(dst);
        }
        free(blk);
    }
    /* a large share of changes to these tables is caught (the rest change
     * addends, offsets, persist-time addresses or a name into another) */
    print_message("%d of %d corrupted tables refused\n", refused, cases);
    assert_true(refused > cases / 4);
    small_image_free(&im);
}

/* ------------------------------------------------------------------ */
/* cross-segment targets and standalone files                          */
/* ------------------------------------------------------------------ */

static void test_check_targets(void **state)
{
    small_image im;
    pcache_segment segs[3];
    const pcache_segment *all[3];
    pcache_report rep;
    (void)state;
    small_image_build(&im, small_builder_with_patches());
    for (int c = 0; c < 3; c++) {
        assert_int_equal(resurrect(&segs[c], im.seg[c], im.size[c], (pcache_class)c, pcache_builder_identity(im.b),
                                   PCACHE_VALIDATE_FULL, &rep),
                         PCACHE_OK);
        all[c] = &segs[c];
    }
    for (int c = 0; c < 3; c++)
        assert_int_equal(pcache_reloc_check_targets(&segs[c], all, &rep), PCACHE_OK);
    /* without the ro segment, rx's record into ro has no target */
    all[PCACHE_RO] = NULL;
    assert_int_equal(pcache_reloc_check_targets(&segs[PCACHE_RX], all, &rep), PCACHE_E_RELOC_TARGET);
    test_assert_report(&rep, PCACHE_E_RELOC_TARGET);
    /* a target base that is not where the ro segment put the section:
     * resurrect cannot know, the image check does */
    {
        void *blk;
        uint8_t *copy = test_copy_at(im.seg[PCACHE_RX], im.size[PCACHE_RX], F_RX, &blk);
        uint8_t *r = copy + ld64(entry(copy, 1) + SE_OFFSET);
        pcache_segment rx;
        st64(r + RR_TARGET_BASE, ld64(r + RR_TARGET_BASE) + 8);
        resign_section(copy, 1);
        assert_int_equal(resurrect(&rx, copy, im.size[PCACHE_RX], PCACHE_RX, pcache_builder_identity(im.b),
                                   PCACHE_VALIDATE_FULL, &rep),
                         PCACHE_OK);
        all[PCACHE_RO] = &segs[PCACHE_RO];
        assert_int_equal(pcache_reloc_check_targets(&rx, all, &rep), PCACHE_E_RELOC_TARGET);
        assert_true(rep.has_values);
        assert_int_equal(rep.expected, im.fo_consts);
        assert_int_equal(rep.found, im.fo_consts + 8);
        /* and a target offset past the end of the foreign section */
        st64(r + RR_TARGET_BASE, im.fo_consts);
        st64(r + RR_TARGET_OFFSET, sizeof consts + 1);
        resign_section(copy, 1);
        assert_int_equal(resurrect(&rx, copy, im.size[PCACHE_RX], PCACHE_RX, pcache_builder_identity(im.b),
                                   PCACHE_VALIDATE_FULL, &rep),
                         PCACHE_OK);
        assert_int_equal(pcache_reloc_check_targets(&rx, all, &rep), PCACHE_E_RELOC_TARGET);
        free(blk);
    }
    small_image_free(&im);
}

/* A standalone file: written, opened, every segment applied in place at
 * the buffer's own address. */
static void test_standalone_file(void **state)
{
    pcache_builder *b = small_builder_with_patches();
    pcache_image img;
    pcache_report rep;
    uint8_t *file;
    uint64_t size, base, fo;
    anchors_now a;
    (void)state;
    file = test_write_file(b, &size);
    assert_int_equal(pcache_image_open_memory(&img, file, size, NULL, &rep), PCACHE_OK);
    base = (uint64_t)(uintptr_t)file;
    a.client = 0x7f2000000000ull;
    a.module = base + 0x40000000; /* within rel32 reach of the image */
    a.tbl = 0xfff0;
    a.fail_client = 0;
    a.calls = 0;
    {
        const pcache_segment *all[3];
        for (int c = 0; c < 3; c++)
            all[c] = pcache_image_segment(&img, (pcache_class)c);
        for (int c = 2; c >= 0; c--) { /* DynamoRIO's order: rw, rx, ro */
            pcache_segment *seg = pcache_image_segment(&img, (pcache_class)c);
            assert_int_equal(pcache_reloc_check_targets(seg, all, &rep), PCACHE_OK);
            if (pcache_reloc_apply(seg, (void *)(uintptr_t)seg->base, base, resolve_small, &a, &rep) != PCACHE_OK)
                fail_msg("apply %d: %s", c, rep.message);
        }
    }
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RX, "code", &fo), PCACHE_OK);
    {
        uint64_t fo_consts, fo_vars, t;
        assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, "consts", &fo_consts), PCACHE_OK);
        assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RW, "vars", &fo_vars), PCACHE_OK);
        /* pointers are real pointers into the buffer now */
        assert_ptr_equal((void *)(uintptr_t)ld64(file + fo + 0x20), file + fo_consts + 20);
        assert_ptr_equal((void *)(uintptr_t)ld64(file + fo_vars), file + fo);
        assert_int_equal(pcache_decode_reference(PCACHE_RELOC_REL32, PCACHE_LITTLE_ENDIAN, file + fo + 0x10,
                                                 base + fo + 0x10, 4, &t),
                         PCACHE_OK);
        assert_ptr_equal((void *)(uintptr_t)t, file + fo_vars + 8);
        assert_int_equal(pcache_decode_reference(PCACHE_RELOC_REL32, PCACHE_LITTLE_ENDIAN, file + fo + 0x40,
                                                 base + fo + 0x40, 5, &t),
                         PCACHE_OK);
        assert_int_equal(t, a.module + 0x2000);
    }
    pcache_image_close(&img);
    free(file);
    pcache_builder_free(b);
}

/* ------------------------------------------------------------------ */
/* the property test                                                   */
/* ------------------------------------------------------------------ */

#define P_MAX_SECTIONS 9
#define P_MAX_PATCHES 14
#define P_ANCHORS 4

typedef struct p_section {
    pcache_class cls;
    char name[24];
    uint8_t data[320];
    uint64_t size;
    uint32_t align;
    uint64_t fo;  /* file offset, after size */
    int used[320];
} p_section;

typedef struct p_patch {
    pcache_patch p;
    int sec, tsec, anchor; /* indices into the case's arrays; -1 when not */
} p_patch;

static const char *const p_anchor_names[P_ANCHORS] = {"client", "module", "tbl", "zeta"};

typedef struct p_case {
    p_section sec[P_MAX_SECTIONS];
    int nsec;
    p_patch patch[P_MAX_PATCHES];
    int npatch;
    uint64_t anchor_persist[P_ANCHORS], anchor_now[P_ANCHORS];
    int big;
} p_case;

static int resolve_case(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    const p_case *pc = ctx;
    for (int i = 0; i < P_ANCHORS; i++)
        if (strcmp(name, p_anchor_names[i]) == 0) {
            assert_int_equal(persisted, pc->anchor_persist[i]);
            *address = pc->anchor_now[i];
            return 0;
        }
    fail_msg("unexpected anchor %s", name);
    return 1;
}

static int needs_record(const p_patch *pp)
{
    return pp->anchor >= 0 || !relative(pp->p.kind);
}

/* The value the test expects in the field, for an image at base and the
 * anchors at the given addresses. */
static uint64_t expected_value(const p_case *pc, const p_patch *pp, uint64_t base, const uint64_t *anchors)
{
    uint64_t site = pp->p.offset + pc->sec[pp->sec].fo, target;
    if (pp->anchor >= 0)
        target = anchors[pp->anchor] + pp->p.target_offset + (uint64_t)pp->p.addend;
    else
        target = base + pc->sec[pp->tsec].fo + pp->p.target_offset + (uint64_t)pp->p.addend;
    if (!relative(pp->p.kind))
        return target;
    if (pp->anchor < 0) /* resolved at persist: the image base cancels */
        return target - base - (site + (uint64_t)(int64_t)pp->p.pc_offset);
    return target - (base + site + (uint64_t)(int64_t)pp->p.pc_offset);
}

static void p_generate(p_case *pc)
{
    memset(pc, 0, sizeof *pc);
    pc->big = rnd() % 4 == 0;
    for (int c = 0; c < 3; c++) {
        int n = (int)(rnd() % 4);
        if (c == PCACHE_RX && n == 0)
            n = 1;
        for (int i = 0; i < n; i++) {
            p_section *s = &pc->sec[pc->nsec++];
            s->cls = (pcache_class)c;
            snprintf(s->name, sizeof s->name, "s%d%d", c, i);
            s->size = rnd() % 8 == 0 ? 0 : 1 + rnd() % 300;
            s->align = 1u << (rnd() % 7);
            test_fill(s->data, sizeof s->data, (uint32_t)rnd());
        }
    }
    for (int a = 0; a < P_ANCHORS; a++)
        pc->anchor_persist[a] = rnd() % 2 ? rnd() & 0x7fffffffffffull : rnd() & 0xffffffffull;
    pc->anchor_persist[1] = TEST_MODULE_BASE;

    int want = (int)(rnd() % (P_MAX_PATCHES + 1));
    for (int tries = 0; tries < 40 && pc->npatch < want; tries++) {
        p_patch *pp = &pc->patch[pc->npatch];
        uint64_t pick = rnd() % 20;
        pcache_reloc_kind kind = pick < 3   ? PCACHE_RELOC_REL8
                                 : pick < 6 ? PCACHE_RELOC_ABS32
                                 : pick < 13 ? PCACHE_RELOC_REL32
                                             : PCACHE_RELOC_ABS64;
        unsigned w = width_of(kind);
        int si = (int)(rnd() % (uint64_t)pc->nsec);
        p_section *s = &pc->sec[si];
        uint64_t off;
        int clash = 0;
        if (s->size < w)
            continue;
        off = rnd() % (s->size - w + 1);
        for (unsigned k = 0; k < w; k++)
            clash |= s->used[off + k];
        if (clash)
            continue;
        for (unsigned k = 0; k < w; k++)
            s->used[off + k] = 1;
        memset(pp, 0, sizeof *pp);
        pp->sec = si;
        pp->p.cls = s->cls;
        pp->p.section = s->name;
        pp->p.offset = off;
        pp->p.kind = kind;
        pp->p.pc_offset = relative(kind) ? (int32_t)(rnd() % 17) - 4 : 0;
        pp->anchor = pp->tsec = -1;
        if (rnd() % 2) {
            pp->tsec = kind == PCACHE_RELOC_REL8 ? si : (int)(rnd() % (uint64_t)pc->nsec);
            pp->p.target_kind = PCACHE_TARGET_SECTION;
            pp->p.target_class = pc->sec[pp->tsec].cls;
            pp->p.target_section = pc->sec[pp->tsec].name;
            pp->p.target_offset = rnd() % (pc->sec[pp->tsec].size + 1);
            if (kind == PCACHE_RELOC_REL8) { /* near the site, mostly within reach */
                int64_t t = (int64_t)off + (int64_t)(rnd() % 280) - 140;
                pp->p.target_offset = t < 0 ? 0 : (uint64_t)t > s->size ? s->size : (uint64_t)t;
            }
        } else {
            pp->anchor = (int)(rnd() % P_ANCHORS);
            pp->p.target_kind = PCACHE_TARGET_ANCHOR;
            pp->p.anchor = p_anchor_names[pp->anchor];
            pp->p.target_offset = rnd() % 0x10000;
        }
        switch (rnd() % 32) {
        case 0:
            pp->p.addend = (int64_t)rnd();
            break;
        case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 10:
            pp->p.addend = (int64_t)(rnd() % 129) - 64;
            break;
        default:
            pp->p.addend = 0;
        }
        pc->npatch++;
    }
}

static void p_run(p_case *pc, int n, int *applied, int *refused_persist, int *refused_apply)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t F[3] = {0}, size[3] = {0};
    uint8_t *segb[3] = {0};
    void *block[3] = {0};
    int persist_ok[3] = {0};
    const pcache_validation levels[3] = {PCACHE_VALIDATE_FULL, PCACHE_VALIDATE_LAZY, PCACHE_VALIDATE_HEADER};
    uint64_t base, cursor;

    test_identity_with_module(&id, rnd() % 2 ? PCACHE_CHECKSUM_XXH3_64 : PCACHE_CHECKSUM_CRC32);
    if (pc->big)
        id.byte_order = PCACHE_BIG_ENDIAN;
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    /* the 48-byte form, whose bytes most tests here read; the property
     * and corruption tests run again on the compact form */
    assert_int_equal(pcache_builder_set_reloc_form(b, form_under_test), PCACHE_OK);
    for (int i = 0; i < pc->nsec; i++)
        assert_int_equal(pcache_builder_add(b, pc->sec[i].cls, pc->sec[i].name, pc->sec[i].data, pc->sec[i].size,
                                            pc->sec[i].align, 0),
                         PCACHE_OK);
    for (int i = 0; i < pc->npatch; i++)
        add(b, pc->patch[i].p);
    for (int a = 0; a < P_ANCHORS; a++)
        if (a != 1)
            assert_int_equal(pcache_builder_set_anchor(b, p_anchor_names[a], pc->anchor_persist[a]), PCACHE_OK);

    /* file offsets: arbitrary, as DynamoRIO's; now and then a gap that a
     * rel32 cannot cross */
    cursor = rnd() % 0x20000;
    for (int c = 0; c < 3; c++) {
        F[c] = cursor;
        assert_int_equal(pcache_builder_size(b, (pcache_class)c, F[c], &size[c]), PCACHE_OK);
        cursor = F[c] + size[c] + (rnd() % 8 == 0 ? 0x7fff0000ull + rnd() % 0x20000 : rnd() % 9000);
    }
    for (int i = 0; i < pc->nsec; i++)
        assert_int_equal(pcache_builder_section_file_offset(b, pc->sec[i].cls, pc->sec[i].name, &pc->sec[i].fo),
                         PCACHE_OK);

    for (int c = 0; c < 3; c++) {
        int expect_ok = 1, nrec = 0;
        pcache_status st;
        if (size[c] == 0)
            continue;
        for (int i = 0; i < pc->npatch; i++) {
            const p_patch *pp = &pc->patch[i];
            if (pp->p.cls != (pcache_class)c)
                continue;
            if (needs_record(pp))
                nrec++;
            else if (!fits(pp->p.kind, expected_value(pc, pp, 0, pc->anchor_persist)))
                expect_ok = 0;
        }
        st = persist_class(b, (pcache_class)c, F[c], &segb[c], &size[c], &block[c]);
        if (!expect_ok) {
            if (st != PCACHE_E_RELOC_RANGE)
                fail_msg("case %d class %d: persist gave %s, expected a range error", n, c, pcache_status_name(st));
            (*refused_persist)++;
            continue;
        }
        if (st != PCACHE_OK)
            fail_msg("case %d class %d: persist: %s", n, c, pcache_builder_report(b)->message);
        persist_ok[c] = 1;
        {
            pcache_segment seg;
            pcache_report rep;
            st = resurrect(&seg, segb[c], size[c], (pcache_class)c, &id, levels[rnd() % 3], &rep);
            if (st != PCACHE_OK)
                fail_msg("case %d class %d: resurrect: %s", n, c, rep.message);
            assert_int_equal(pcache_segment_reloc_count(&seg), nrec);
        }
    }

    /* a map address below 4 GiB now and then, for abs32 to the image */
    base = rnd() % 4 == 0 ? rnd() & 0x7ffff000ull : rnd() & 0x7ffffffff000ull;
    for (int a = 0; a < P_ANCHORS; a++) {
        uint64_t r = rnd() % 20;
        if (r < 3)
            pc->anchor_now[a] = pc->anchor_persist[a];
        else if (r < 15) /* near the image, mostly within rel32 reach */
            pc->anchor_now[a] = base + (rnd() % 0x80000000ull) - 0x40000000ull;
        else if (r < 18)
            pc->anchor_now[a] = rnd() & 0xffffffffull;
        else
            pc->anchor_now[a] = rnd();
    }

    for (int c = 0; c < 3; c++) {
        pcache_segment seg;
        pcache_report rep;
        uint8_t *dst, *want;
        uint64_t placeholder_base = 0;
        int expect_ok = 1;
        pcache_status st;
        if (!persist_ok[c])
            continue;
        assert_int_equal(resurrect(&seg, segb[c], size[c], (pcache_class)c, &id, levels[rnd() % 3], &rep), PCACHE_OK);
        want = malloc(size[c]);
        memcpy(want, segb[c], size[c]);
        /* what persist wrote: every section byte is the client's but the
         * fields, which hold the values for image base 0 and the
         * persist-time anchors (zero when those do not fit) */
        for (int i = 0; i < pc->nsec; i++)
            if (pc->sec[i].cls == (pcache_class)c)
                memcpy(want + (pc->sec[i].fo - F[c]), pc->sec[i].data, pc->sec[i].size);
        for (int i = 0; i < pc->npatch; i++) {
            const p_patch *pp = &pc->patch[i];
            uint64_t v;
            unsigned w = width_of(pp->p.kind);
            if (pp->p.cls != (pcache_class)c)
                continue;
            v = expected_value(pc, pp, placeholder_base, pc->anchor_persist);
            /* the compact form keeps an addend that fits in the field: target
             * offset + addend (docs/FORMAT.md 9.10) */
            if (form_under_test == PCACHE_RELOC_FORM_COMPACT && needs_record(pp) &&
                fits(pp->p.kind, pp->p.target_offset + (uint64_t)pp->p.addend))
                v = pp->p.target_offset + (uint64_t)pp->p.addend;
            put_field(want + (pc->sec[pp->sec].fo - F[c]) + pp->p.offset, fits(pp->p.kind, v) ? v : 0, w, pc->big);
        }
        if (memcmp(want, segb[c], size[c]) != 0)
            fail_msg("case %d class %d: persisted bytes differ from the expected ones", n, c);

        /* what apply writes */
        for (int i = 0; i < pc->npatch; i++) {
            const p_patch *pp = &pc->patch[i];
            uint64_t v;
            if (pp->p.cls != (pcache_class)c || !needs_record(pp))
                continue;
            v = expected_value(pc, pp, base, pc->anchor_now);
            if (!fits(pp->p.kind, v))
                expect_ok = 0;
            put_field(want + (pc->sec[pp->sec].fo - F[c]) + pp->p.offset, v, width_of(pp->p.kind), pc->big);
        }
        dst = malloc(size[c]);
        memcpy(dst, segb[c], size[c]);
        st = pcache_reloc_apply(&seg, dst, base, resolve_case, pc, &rep);
        if (expect_ok) {
            if (st != PCACHE_OK)
                fail_msg("case %d class %d: apply: %s", n, c, rep.message);
            if (memcmp(dst, want, size[c]) != 0)
                fail_msg("case %d class %d: applied bytes differ from the expected ones", n, c);
            (*applied)++;
        } else {
            if (st != PCACHE_E_RELOC_RANGE)
                fail_msg("case %d class %d: apply gave %s, expected a range error", n, c, pcache_status_name(st));
            test_assert_report(&rep, PCACHE_E_RELOC_RANGE);
            assert_memory_equal(dst, segb[c], size[c]);
            (*refused_apply)++;
        }
        free(dst);
        free(want);
    }
    for (int c = 0; c < 3; c++)
        free(block[c]);
    pcache_builder_free(b);
}

static void test_property_random_images(void **state)
{
    const int cases = test_quick() ? 400 : 3000;
    int applied = 0, refused_persist = 0, refused_apply = 0;
    p_case *pc = malloc(sizeof *pc);
    (void)state;
    for (int n = 0; n < cases; n++) {
        rng = 0x5eed0000ull + (uint64_t)n; /* case n replays alone */
        p_generate(pc);
        p_run(pc, n, &applied, &refused_persist, &refused_apply);
    }
    /* the generator reaches every outcome */
    print_message("%d applied, %d refused at persist, %d refused at apply\n", applied, refused_persist,
                  refused_apply);
    assert_true(applied > cases / 2);
    assert_true(refused_persist > cases / 50);
    assert_true(refused_apply > cases / 50);
    free(pc);
}

/* The same two on the compact form (docs/FORMAT.md 9.10): every value
 * the same as the 48-byte form's, every hostile table refused or applied
 * inside the segment. */
static void test_property_random_images_compact(void **state)
{
    form_under_test = PCACHE_RELOC_FORM_COMPACT;
    test_property_random_images(state);
    form_under_test = PCACHE_RELOC_FORM_RECORDS;
}

static void test_random_table_corruption_compact(void **state)
{
    form_under_test = PCACHE_RELOC_FORM_COMPACT;
    test_random_table_corruption(state);
    form_under_test = PCACHE_RELOC_FORM_RECORDS;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserved_names_and_types),
        cmocka_unit_test(test_add_patch_bounds),
        cmocka_unit_test(test_anchor_definitions),
        cmocka_unit_test(test_overlapping_sites),
        cmocka_unit_test(test_undefined_anchors),
        cmocka_unit_test(test_order_of_calls),
        cmocka_unit_test(test_persisted_bytes_and_records),
        cmocka_unit_test(test_known_list_does_not_hide_tables),
        cmocka_unit_test(test_apply_small_image),
        cmocka_unit_test(test_anchor_failures),
        cmocka_unit_test(test_apply_reach_boundaries),
        cmocka_unit_test(test_apply_abs32_internal_boundary),
        cmocka_unit_test(test_all_or_nothing),
        cmocka_unit_test(test_apply_span_boundaries),
        cmocka_unit_test(test_apply_span_around_zero),
        cmocka_unit_test(test_apply_more_origins_than_spans),
        cmocka_unit_test(test_persist_reach_boundaries),
        cmocka_unit_test(test_straddling_fields),
        cmocka_unit_test(test_big_endian_image),
        cmocka_unit_test(test_lazy_verifies_touched_sections),
        cmocka_unit_test(test_lazy_verifies_every_site_section),
        cmocka_unit_test(test_hostile_tables),
        cmocka_unit_test(test_relocs_size_not_multiple),
        cmocka_unit_test(test_random_table_corruption),
        cmocka_unit_test(test_check_targets),
        cmocka_unit_test(test_standalone_file),
        cmocka_unit_test(test_property_random_images),
        cmocka_unit_test(test_property_random_images_compact),
        cmocka_unit_test(test_random_table_corruption_compact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
