/* SPDX-License-Identifier: BSD-2-Clause */
/* The relocation seal (docs/FORMAT.md 9.8): pcache_reloc_apply and the
 * record readers act only on a segment struct that pcache_resurrect filled
 * in, and only while the struct and the header, section table and checksum
 * trailer at its base are what resurrect checked.  Everything else is
 * refused before a byte is written: a struct resurrect did not seal
 * (PCACHE_E_STATE), a sealed struct edited or pointed at other bytes, and a
 * sealed struct whose bytes were replaced by another file, however
 * well-signed (PCACHE_E_SEGMENT_CHANGED).  Record bytes changed without
 * their checksum (which the seal does not cover) are decoded bounds-safe:
 * at worst a refusal, never a read or write outside the segment and its
 * data sections. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "format.h"
#include "pcache/reloc.h"
#include "support.h"

#define F_RO 0x1000u
#define F_RX 0x3000u
#define CLIENT_AT_PERSIST 0x7f0000001000ull
#define TBL_AT_PERSIST 0x10000ull
#define IMAGE_BASE 0x7ff000000000ull
#define FAR_AWAY (64ull << 20) /* a site offset 64 MiB past the segment */

static uint8_t consts[64], code[128], tail[64];

/* ------------------------------------------------------------------ */
/* an image: ro "consts"; rx "code" and "tail" with records            */
/* ------------------------------------------------------------------ */

typedef struct image {
    pcache_builder *b;
    int abs64_only;      /* every record abs64 (apply's store-only loop) */
    uint8_t *rx;         /* the rx segment as persisted */
    uint64_t size;
    void *ro_blk, *rx_blk;
    int relocs, anchors; /* section indices in rx */
} image;

static pcache_patch to_section(uint64_t off, const char *sec, pcache_reloc_kind kind, uint64_t toff, int64_t addend)
{
    pcache_patch p = {.cls = PCACHE_RX, .section = sec, .offset = off, .kind = kind,
                      .target_kind = PCACHE_TARGET_SECTION, .target_class = PCACHE_RO, .target_section = "consts",
                      .target_offset = toff, .addend = addend};
    return p;
}

static pcache_patch to_anchor(uint64_t off, const char *sec, pcache_reloc_kind kind, int32_t pc, const char *anchor,
                              uint64_t toff, int64_t addend)
{
    pcache_patch p = {.cls = PCACHE_RX, .section = sec, .offset = off, .kind = kind, .pc_offset = pc,
                      .target_kind = PCACHE_TARGET_ANCHOR, .anchor = anchor, .target_offset = toff, .addend = addend};
    return p;
}

static void add(pcache_builder *b, pcache_patch p)
{
    if (pcache_builder_add_patch(b, &p) != PCACHE_OK)
        fail_msg("add_patch: %s", pcache_builder_report(b)->message);
}

static int section_index(const uint8_t *seg, const char *name)
{
    for (uint32_t i = 0; i < ld32(seg + SH_SECTION_COUNT); i++)
        if (strcmp((const char *)seg + SEG_HEADER_SIZE + SEG_ENTRY_SIZE * i + SE_NAME, name) == 0)
            return (int)i;
    return -1;
}

static uint8_t *entry(uint8_t *seg, int i)
{
    return seg + SEG_HEADER_SIZE + SEG_ENTRY_SIZE * (uint32_t)i;
}

static uint8_t *section_at(uint8_t *seg, int i)
{
    return seg + ld64(entry(seg, i) + SE_OFFSET);
}

static uint8_t *record(uint8_t *seg, const image *im, int k)
{
    return section_at(seg, im->relocs) + PCACHE_RELOC_RECORD_SIZE * (unsigned)k;
}

/* Stores section i's checksum in the trailer, as a writer would. */
static void resign_section(uint8_t *seg, int i)
{
    uint8_t *e = entry(seg, i);
    uint64_t sum = pcache_checksum((pcache_checksum_algorithm)seg[SH_CHECKSUM], seg + ld64(e + SE_OFFSET),
                                   (size_t)ld64(e + SE_STORED_SIZE));
    st64be(seg + ld64(seg + SH_TRAILER_OFFSET) + SEG_TRAILER_ENTRY_SIZE * (uint32_t)i + ST_STORED_CHECKSUM, sum);
}

/* Records, in stored order: abs64 image: code+0x10 section, code+0x30
 * anchor, code+0x48 section, tail+0x08 anchor; mixed image: code+0x10
 * abs64 section, code+0x30 abs64 anchor, code+0x40 rel32 anchor, code+0x50
 * abs32 anchor, tail+0x08 abs64 section. */
#define NRECORDS(im) ((im)->abs64_only ? 4 : 5)

static void image_build(image *im, int abs64_only)
{
    pcache_identity id;
    uint64_t sz;
    memset(im, 0, sizeof *im);
    im->abs64_only = abs64_only;
    test_fill(consts, sizeof consts, 21);
    test_fill(code, sizeof code, 22);
    test_fill(tail, sizeof tail, 23);
    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&im->b, &id), PCACHE_OK);
    /* the 48-byte form, whose bytes these tests read (test_creloc.c: the compact one) */
    assert_int_equal(pcache_builder_set_reloc_form(im->b, PCACHE_RELOC_FORM_RECORDS), PCACHE_OK);
    assert_int_equal(pcache_builder_add(im->b, PCACHE_RO, "consts", consts, sizeof consts, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(im->b, PCACHE_RX, "code", code, sizeof code, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(im->b, PCACHE_RX, "tail", tail, sizeof tail, 8, 0), PCACHE_OK);
    add(im->b, to_section(0x10, "code", PCACHE_RELOC_ABS64, 16, 4));
    add(im->b, to_anchor(0x30, "code", PCACHE_RELOC_ABS64, 0, "client", 0x100, -8));
    if (abs64_only) {
        add(im->b, to_section(0x48, "code", PCACHE_RELOC_ABS64, 8, 0));
        add(im->b, to_anchor(0x08, "tail", PCACHE_RELOC_ABS64, 0, "client", 0, 0));
    } else {
        add(im->b, to_anchor(0x40, "code", PCACHE_RELOC_REL32, 5, "module", 0x2000, 0));
        add(im->b, to_anchor(0x50, "code", PCACHE_RELOC_ABS32, 0, "tbl", 0, 0));
        add(im->b, to_section(0x08, "tail", PCACHE_RELOC_ABS64, 0, 0));
        assert_int_equal(pcache_builder_set_anchor(im->b, "tbl", TBL_AT_PERSIST), PCACHE_OK);
    }
    assert_int_equal(pcache_builder_set_anchor(im->b, "client", CLIENT_AT_PERSIST), PCACHE_OK);
    assert_int_equal(pcache_builder_size(im->b, PCACHE_RO, F_RO, &sz), PCACHE_OK);
    test_persist(im->b, PCACHE_RO, F_RO, &sz, &im->ro_blk);
    im->rx = test_persist(im->b, PCACHE_RX, F_RX, &im->size, &im->rx_blk);
    im->relocs = section_index(im->rx, ".relocs");
    im->anchors = section_index(im->rx, ".anchors");
    assert_true(im->relocs == 2 && im->anchors == 3);
    assert_int_equal(ld64(entry(im->rx, im->relocs) + SE_STORED_SIZE), NRECORDS(im) * PCACHE_RELOC_RECORD_SIZE);
}

static void image_free(image *im)
{
    free(im->ro_blk);
    free(im->rx_blk);
    pcache_builder_free(im->b);
}

/* The rx segment copied to where it is resurrected (writable), and the
 * struct resurrect sealed. */
typedef struct loaded {
    uint8_t *at;
    void *blk;
    pcache_segment seg;
} loaded;

static void load(loaded *l, const image *im, pcache_validation level)
{
    pcache_expect exp;
    pcache_report rep;
    const uint8_t *m;
    l->at = test_copy_at(im->rx, im->size, F_RX, &l->blk);
    m = l->at;
    pcache_expect_init(&exp, pcache_builder_identity(im->b));
    exp.validation = level;
    if (pcache_resurrect(&l->seg, PCACHE_RX, &m, im->size, &exp, &rep) != PCACHE_OK)
        fail_msg("resurrect: %s", rep.message);
}

static void unload(loaded *l)
{
    free(l->blk);
}

/* Where the anchors are now; any name and persisted address accepted
 * (the tests change them). */
static int resolve(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    (void)ctx, (void)persisted;
    if (strcmp(name, "client") == 0)
        *address = 0x7f1000002000ull;
    else if (strcmp(name, "module") == 0)
        *address = IMAGE_BASE - 0x100000;
    else
        *address = 0x20000;
    return 0;
}

/* Applies seg to an exactly sized copy of bytes: returns the status, and
 * in *out (free it) what the copy holds afterwards. */
static pcache_status apply_to_copy(pcache_segment *seg, const uint8_t *bytes, uint64_t size, uint8_t **out,
                                   pcache_report *rep)
{
    uint8_t *dst = malloc(size);
    pcache_status st;
    assert_non_null(dst);
    memcpy(dst, bytes, size);
    st = pcache_reloc_apply(seg, dst, IMAGE_BASE, resolve, NULL, rep);
    if (st != PCACHE_OK)
        test_assert_report(rep, st);
    *out = dst;
    return st;
}

/* Apply must refuse with st and leave the copy of bytes as it was. */
static void expect_untouched(pcache_segment *seg, const uint8_t *bytes, uint64_t size, pcache_status st,
                             const char *what)
{
    pcache_report rep;
    uint8_t *dst;
    pcache_status got = apply_to_copy(seg, bytes, size, &dst, &rep);
    if (got != st)
        fail_msg("%s: apply returned %s, expected %s (%s)", what, pcache_status_name(got), pcache_status_name(st),
                 got == PCACHE_OK ? "" : rep.message);
    if (memcmp(dst, bytes, size) != 0)
        fail_msg("%s: apply refused with %s but wrote to the copy", what, pcache_status_name(st));
    free(dst);
}

/* The bytes a correct apply of the image produces. */
static uint8_t *reference(const image *im)
{
    loaded l;
    pcache_report rep;
    uint8_t *want;
    load(&l, im, PCACHE_VALIDATE_FULL);
    if (apply_to_copy(&l.seg, l.at, im->size, &want, &rep) != PCACHE_OK)
        fail_msg("reference apply: %s", rep.message);
    assert_memory_not_equal(want, im->rx, im->size);
    unload(&l);
    return want;
}

static void expect_applies(pcache_segment *seg, const uint8_t *bytes, const image *im, const uint8_t *want,
                           const char *what)
{
    pcache_report rep;
    uint8_t *dst;
    if (apply_to_copy(seg, bytes, im->size, &dst, &rep) != PCACHE_OK)
        fail_msg("%s: %s", what, rep.message);
    assert_memory_equal(dst, want, im->size);
    free(dst);
}

/* ------------------------------------------------------------------ */
/* structs resurrect did not seal, or that changed                     */
/* ------------------------------------------------------------------ */

/* A struct that no successful resurrect filled in is refused, however
 * plausible its fields: apply does not validate it itself. */
static void test_unsealed_struct_refused(void **state)
{
    image im;
    loaded l;
    pcache_segment hand, failed;
    pcache_report rep;
    pcache_expect exp;
    const uint8_t *m;
    pcache_reloc r;
    (void)state;
    image_build(&im, 0);
    load(&l, &im, PCACHE_VALIDATE_FULL);

    hand = l.seg;
    hand.relocs_checked = 0;
    expect_untouched(&hand, l.at, im.size, PCACHE_E_STATE, "struct with every field but the seal");
    assert_int_equal(pcache_segment_reloc(&hand, 0, &r), PCACHE_E_STATE);
    assert_int_equal(pcache_segment_anchor(&hand, 0, NULL, NULL), PCACHE_E_STATE);

    /* a failed resurrect clears the struct; pointed at the bytes by hand */
    m = l.at;
    pcache_expect_init(&exp, pcache_builder_identity(im.b));
    assert_int_equal(pcache_resurrect(&failed, PCACHE_RO, &m, im.size, &exp, &rep), PCACHE_E_CLASS);
    expect_untouched(&failed, l.at, im.size, PCACHE_E_INVALID_ARGUMENT, "struct of a failed resurrect");
    failed.base = l.at;
    failed.size = im.size;
    failed.section_count = l.seg.section_count;
    expect_untouched(&failed, l.at, im.size, PCACHE_E_STATE, "failed resurrect's struct pointed at the bytes");
    unload(&l);
    image_free(&im);
}

/* Issue 18, item 5: the resurrected struct pointed at a copy whose section
 * table puts ".relocs" at 0x7fff0000 (table and header re-signed).  Apply
 * and the record readers used to trust the table and fault. */
static void test_struct_pointed_at_other_bytes(void **state)
{
    image im;
    loaded l;
    pcache_segment twin;
    pcache_report rep;
    const pcache_segment *segs[PCACHE_CLASS_COUNT] = {NULL};
    pcache_reloc r;
    uint8_t *evil, *same, *want;
    void *evil_blk, *same_blk;
    (void)state;
    image_build(&im, 0);
    want = reference(&im);
    load(&l, &im, PCACHE_VALIDATE_FULL);

    evil = test_copy_at(im.rx, im.size, F_RX, &evil_blk);
    st64(entry(evil, im.relocs) + SE_OFFSET, 0x7fff0000);
    test_resign_segment(evil);
    twin = l.seg;
    twin.base = evil;
    expect_untouched(&twin, evil, im.size, PCACHE_E_SEGMENT_CHANGED, ".relocs at 0x7fff0000");
    assert_int_equal(pcache_segment_reloc(&twin, 0, &r), PCACHE_E_SEGMENT_CHANGED);
    assert_int_equal(pcache_segment_anchor(&twin, 0, NULL, NULL), PCACHE_E_SEGMENT_CHANGED);
    segs[PCACHE_RX] = &twin;
    assert_int_equal(pcache_reloc_check_targets(&twin, segs, &rep), PCACHE_E_SEGMENT_CHANGED);
    test_assert_report(&rep, PCACHE_E_SEGMENT_CHANGED);
    /* the counts say what the table says, and a table outside the
     * segment says nothing */
    assert_int_equal(pcache_segment_reloc_count(&twin), 0);
    assert_int_equal(pcache_segment_anchor_count(&twin), 0);

    /* identical bytes at another address: resurrect them instead */
    same = test_copy_at(im.rx, im.size, F_RX, &same_blk);
    twin = l.seg;
    twin.base = same;
    expect_untouched(&twin, same, im.size, PCACHE_E_SEGMENT_CHANGED, "identical bytes elsewhere");

    /* a copy of the struct is as good as the struct */
    twin = l.seg;
    expect_applies(&twin, l.at, &im, want, "copy of the sealed struct");
    free(same_blk);
    free(evil_blk);
    free(want);
    unload(&l);
    image_free(&im);
}

/* Each field apply uses is sealed: changing one makes the struct another. */
static void test_struct_fields_sealed(void **state)
{
    image im;
    loaded l;
    pcache_segment twin;
    (void)state;
    image_build(&im, 0);
    load(&l, &im, PCACHE_VALIDATE_FULL);
    for (int k = 0; k < 9; k++) {
        char what[48];
        twin = l.seg;
        switch (k) {
        case 0: twin.size += 8; break;
        case 1: twin.file_offset += 0x1000; break;
        case 2: twin.section_count -= 1; break;
        case 3: twin.validation = PCACHE_VALIDATE_HEADER; break;
        case 4: twin.identity.byte_order = PCACHE_BIG_ENDIAN; break;
        case 5: twin.relocs_ranged = 0; break;
        case 6: twin.relocs_spans[0].width += 1; break;
        case 7: twin.relocs_checked ^= 2; break;
        default: twin.cls = PCACHE_RO; break;
        }
        snprintf(what, sizeof what, "field change %d", k);
        expect_untouched(&twin, l.at, im.size, PCACHE_E_SEGMENT_CHANGED, what);
    }
    unload(&l);
    image_free(&im);
}

/* ------------------------------------------------------------------ */
/* a sealed struct, and another file mapped where it was               */
/* ------------------------------------------------------------------ */

/* Issue 18, item 1: a struct kept from an earlier load, and at its base
 * now another file (each one well-formed and re-signed): same fields, so
 * the old seal, a hash of fields, still matched, and apply trusted tables
 * it had never checked; a record whose site is 64 MiB away was written
 * there.  Now the seal covers the header, table and checksum trailer. */
static void test_other_file_at_same_address(void **state)
{
    image im;
    loaded l;
    uint8_t *want;
    (void)state;
    for (int abs64 = 0; abs64 < 2; abs64++) {
        image_build(&im, abs64);
        want = reference(&im);
        load(&l, &im, PCACHE_VALIDATE_FULL);
        for (int k = 0; k < 7; k++) {
            static const char *const what[] = {
                "a record 64 MiB away, .relocs re-signed", "another client version, header re-signed",
                ".relocs at 0x7fff0000, table re-signed", "an anchor's persisted address, .anchors re-signed",
                "other code bytes, re-signed", "a record's target offset, .relocs re-signed",
                "an added segment flag, header re-signed"};
            memcpy(l.at, im.rx, im.size);
            switch (k) {
            case 0:
                st64(record(l.at, &im, 1) + RR_SITE_OFFSET, FAR_AWAY);
                resign_section(l.at, im.relocs);
                break;
            case 1:
                st32(l.at + SH_CLIENT_VERSION, TEST_CLIENT_VERSION + 1);
                test_resign_header(l.at);
                break;
            case 2:
                st64(entry(l.at, im.relocs) + SE_OFFSET, 0x7fff0000);
                test_resign_segment(l.at);
                break;
            case 3:
                st64(section_at(l.at, im.anchors) + 32, CLIENT_AT_PERSIST + 0x1000);
                resign_section(l.at, im.anchors);
                break;
            case 4:
                section_at(l.at, 0)[0] ^= 0x5a;
                resign_section(l.at, 0);
                break;
            case 5:
                st64(record(l.at, &im, 0) + RR_TARGET_OFFSET, 24);
                resign_section(l.at, im.relocs);
                break;
            default:
                st16(l.at + SH_FLAGS, PCACHE_SEGMENT_PAGE_ROUNDED);
                test_resign_header(l.at);
                break;
            }
            expect_untouched(&l.seg, l.at, im.size, PCACHE_E_SEGMENT_CHANGED, what[k]);
        }
        /* the same file again: the seal holds */
        memcpy(l.at, im.rx, im.size);
        expect_applies(&l.seg, l.at, &im, want, "the file resurrect checked");
        free(want);
        unload(&l);
        image_free(&im);
    }
}

/* ------------------------------------------------------------------ */
/* record bytes changed under their checksum                           */
/* ------------------------------------------------------------------ */

typedef void (*mutate_fn)(uint8_t *seg, const image *im);

static void r0_far(uint8_t *s, const image *im) { st64(record(s, im, 0) + RR_SITE_OFFSET, FAR_AWAY); }
static void r0_wrap(uint8_t *s, const image *im) { st64(record(s, im, 0) + RR_SITE_OFFSET, UINT64_MAX - 3); }
static void r1_site_index(uint8_t *s, const image *im) { st16(record(s, im, 1) + RR_SITE_SECTION, 0x3ff); }
static void r1_site_relocs(uint8_t *s, const image *im) { st16(record(s, im, 1) + RR_SITE_SECTION, 2); }
static void rl_kind(uint8_t *s, const image *im) { record(s, im, NRECORDS(im) - 1)[RR_KIND] = 9; }
static void r0_tkind(uint8_t *s, const image *im) { record(s, im, 0)[RR_TARGET_KIND] = 7; }
static void r1_anchor(uint8_t *s, const image *im) { st16(record(s, im, 1) + RR_TARGET_INDEX, 0xffff); }
static void r1_anchor_past(uint8_t *s, const image *im) { st16(record(s, im, 1) + RR_TARGET_INDEX, 3); }
static void r2_field_end(uint8_t *s, const image *im) { st64(record(s, im, 2) + RR_SITE_OFFSET, sizeof code - 4); }
static void rl_field_end(uint8_t *s, const image *im)
{
    st64(record(s, im, NRECORDS(im) - 1) + RR_SITE_OFFSET, sizeof tail - 7);
}
static void swap_first_last(uint8_t *s, const image *im)
{
    uint8_t t[PCACHE_RELOC_RECORD_SIZE];
    memcpy(t, record(s, im, 0), sizeof t);
    memcpy(record(s, im, 0), record(s, im, NRECORDS(im) - 1), sizeof t);
    memcpy(record(s, im, NRECORDS(im) - 1), t, sizeof t);
}
static void r1_narrow(uint8_t *s, const image *im) { record(s, im, 1)[RR_KIND] = PCACHE_RELOC_REL8; }
/* mixed image: the rel32 record reaches 1 TiB further (the spans that
 * proved every value in range were of the old record) */
static void r2_far_target(uint8_t *s, const image *im) { st64(record(s, im, 2) + RR_ADDEND, 1ull << 40); }
/* mixed image: the abs32 record's value past 2^32 */
static void r3_abs32_high(uint8_t *s, const image *im) { st64(record(s, im, 3) + RR_TARGET_OFFSET, 1ull << 33); }

/* True if byte k of the rx segment lies in a field some record had
 * before the change. */
static int in_original_field(const image *im, uint64_t k)
{
    for (int i = 0; i < NRECORDS(im); i++) {
        uint8_t *rec = record(im->rx, im, i);
        uint64_t at = ld64(entry(im->rx, ld16(rec + RR_SITE_SECTION)) + SE_OFFSET) + ld64(rec + RR_SITE_OFFSET);
        if (k >= at && k < at + pcache_reloc_width((pcache_reloc_kind)rec[RR_KIND]))
            return 1;
    }
    return 0;
}

/* The seal does not cover record bytes (their checksum would cost as much
 * as applying them): here they change after resurrect, the trailer not.
 * Apply must refuse the record, and write nothing outside the fields of
 * the records before it; AddressSanitizer and valgrind watch the rest. */
static void test_records_changed_under_checksum(void **state)
{
    static const struct {
        mutate_fn mutate;
        const char *what;
        int image; /* 0 both, 1 abs64 only, 2 mixed only */
        int first; /* the change is in record 0: nothing may be written */
    } cases[] = {
        {r0_far, "site 64 MiB away", 0, 1},
        {r0_wrap, "site offset wrapping", 0, 1},
        {r1_site_index, "site section index 0x3ff", 0, 0},
        {r1_site_relocs, "site in .relocs", 0, 0},
        {rl_kind, "kind 9", 0, 0},
        {r0_tkind, "target kind 7", 0, 1},
        {r1_anchor, "anchor index 0xffff", 0, 0},
        {r1_anchor_past, "anchor index past the table", 0, 0},
        {r2_field_end, "field past the end of its section", 1, 0},
        {rl_field_end, "last field past the end of its section", 0, 0},
        {swap_first_last, "records out of order", 0, 0},
        {r1_narrow, "an abs64 record made rel8", 1, 0},
        {r2_far_target, "rel32 value out of range", 2, 0},
        {r3_abs32_high, "abs32 value out of range", 2, 0},
    };
    image im;
    loaded l;
    pcache_report rep;
    uint8_t *dst;
    (void)state;
    for (int abs64 = 0; abs64 < 2; abs64++) {
        image_build(&im, abs64);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            pcache_status st;
            if (cases[c].image == (abs64 ? 2 : 1))
                continue;
            load(&l, &im, PCACHE_VALIDATE_FULL);
            cases[c].mutate(l.at, &im);
            st = apply_to_copy(&l.seg, l.at, im.size, &dst, &rep);
            if (st != PCACHE_E_SEGMENT_CHANGED)
                fail_msg("%s image, %s: apply returned %s, expected PCACHE_E_SEGMENT_CHANGED (%s)",
                         abs64 ? "abs64" : "mixed", cases[c].what, pcache_status_name(st),
                         st == PCACHE_OK ? "" : rep.message);
            assert_string_equal(rep.section, ".relocs");
            for (uint64_t k = 0; k < im.size; k++)
                if (dst[k] != l.at[k] && (cases[c].first || !in_original_field(&im, k)))
                    fail_msg("%s image, %s: byte %" PRIu64 " written", abs64 ? "abs64" : "mixed", cases[c].what,
                             k);
            free(dst);
            unload(&l);
        }
        image_free(&im);
    }
}

/* Applying where the segment is mapped (dst = base) writes fields of
 * data sections only: the seal holds, a second apply and the record
 * readers still work. */
static void test_apply_in_place_keeps_seal(void **state)
{
    image im;
    loaded l;
    pcache_report rep;
    pcache_reloc r;
    uint8_t *want;
    (void)state;
    image_build(&im, 0);
    want = reference(&im);
    load(&l, &im, PCACHE_VALIDATE_FULL);
    for (int k = 0; k < 2; k++) {
        if (pcache_reloc_apply(&l.seg, l.at, IMAGE_BASE, resolve, NULL, &rep) != PCACHE_OK)
            fail_msg("apply in place %d: %s", k, rep.message);
        assert_memory_equal(l.at, want, im.size);
    }
    assert_int_equal(pcache_segment_reloc(&l.seg, 4, &r), PCACHE_OK);
    assert_int_equal(r.site_offset, 0x08);
    free(want);
    unload(&l);
    image_free(&im);
}

/* Random changes anywhere after resurrect, re-signed or not, at every
 * validation level: apply refuses or applies; it never writes outside a
 * data section; a refusal other than a record's changed shape writes
 * nothing; a change to the header, table or trailer is always refused
 * before anything is written. */
static void test_random_changes_after_seal(void **state)
{
    const int rounds = test_quick() ? 300 : 3000;
    uint64_t rng = 0x5eed;
    image ims[2];
    int seen[PCACHE_STATUS_COUNT] = {0};
    (void)state;
    image_build(&ims[0], 0);
    image_build(&ims[1], 1);
    for (int n = 0; n < rounds; n++) {
        image *im;
        loaded l;
        pcache_report rep;
        pcache_status st;
        uint8_t *dst;
        uint64_t lo, hi, r;
        int region, resign, covered, k = 0;
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        r = rng >> 11;
        im = &ims[r & 1];
        load(&l, im, (pcache_validation)(PCACHE_VALIDATE_HEADER + (r >> 1) % 3));
        region = (int)((r >> 3) % 8);
        resign = (int)((r >> 6) & 1);
        switch (region) {
        case 0: /* header */
            lo = 0, hi = SEG_HEADER_SIZE;
            break;
        case 1: /* section table */
            lo = SEG_HEADER_SIZE, hi = SEG_HEADER_SIZE + SEG_ENTRY_SIZE * (uint64_t)l.seg.section_count;
            break;
        case 2: /* checksum trailer */
            lo = ld64(im->rx + SH_TRAILER_OFFSET), hi = im->size;
            break;
        default: /* .anchors, "code", or (more often) .relocs */
            k = region == 3 ? im->anchors : region == 4 ? 0 : im->relocs;
            lo = ld64(entry(im->rx, k) + SE_OFFSET), hi = lo + ld64(entry(im->rx, k) + SE_STORED_SIZE);
            break;
        }
        covered = region <= 2;
        for (int f = 0; f < 1 + (int)((r >> 7) % 3); f++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            l.at[lo + (rng >> 20) % (hi - lo)] ^= (uint8_t)(1 + (rng >> 40) % 255);
        }
        if (resign && region == 0) {
            test_resign_header(l.at);
        } else if (resign && region == 1) {
            test_resign_segment(l.at);
        } else if (resign && region >= 3) {
            resign_section(l.at, k); /* the trailer changes with it */
            covered = memcmp(l.at, im->rx, im->size) != 0;
        }
        st = apply_to_copy(&l.seg, l.at, im->size, &dst, &rep);
        seen[st]++;
        if (st != PCACHE_OK && st != PCACHE_E_SEGMENT_CHANGED && st != PCACHE_E_RELOC_RANGE &&
            st != PCACHE_E_ANCHOR && st != PCACHE_E_SECTION_CHECKSUM)
            fail_msg("round %d: apply returned %s: %s", n, pcache_status_name(st), rep.message);
        if (covered && memcmp(l.at, im->rx, im->size) != 0 && st != PCACHE_E_SEGMENT_CHANGED)
            fail_msg("round %d: a change the seal covers (region %d, re-signed %d) not refused: %s", n, region,
                     resign, pcache_status_name(st));
        for (uint64_t b = 0; b < im->size; b++) {
            int data = 0;
            for (int i = 0; i < 2; i++)
                data |= b >= ld64(entry(im->rx, i) + SE_OFFSET) &&
                        b < ld64(entry(im->rx, i) + SE_OFFSET) + ld64(entry(im->rx, i) + SE_STORED_SIZE);
            if (dst[b] != l.at[b] && (!data || (st != PCACHE_OK && (covered || st != PCACHE_E_SEGMENT_CHANGED))))
                fail_msg("round %d (region %d, re-signed %d): byte %" PRIu64 " written, apply returned %s", n,
                         region, resign, b, pcache_status_name(st));
        }
        free(dst);
        unload(&l);
    }
    printf("%d rounds: %d applied, %d refused as changed, %d out of range, %d unresolved anchors, "
           "%d section checksums (lazy)\n",
           rounds, seen[PCACHE_OK], seen[PCACHE_E_SEGMENT_CHANGED], seen[PCACHE_E_RELOC_RANGE],
           seen[PCACHE_E_ANCHOR], seen[PCACHE_E_SECTION_CHECKSUM]);
    image_free(&ims[0]);
    image_free(&ims[1]);
}

/* ------------------------------------------------------------------ */
/* what checksums do not prove (docs/FORMAT.md 3.9)                    */
/* ------------------------------------------------------------------ */

/* Whoever can rewrite a file can re-sign it: here ".relocs" and
 * ".anchors" get a flag bit no reader knows and SKIPPABLE, so they are
 * unknown sections, skipped; the image loads and nothing is relocated.
 * Checksums prove no authenticity; see the format's 3.9. */
static void test_resigned_file_can_drop_relocations(void **state)
{
    image im;
    pcache_segment seg;
    pcache_expect exp;
    pcache_report rep;
    const uint8_t *m;
    uint8_t *copy;
    void *blk;
    (void)state;
    image_build(&im, 0);
    copy = test_copy_at(im.rx, im.size, F_RX, &blk);
    st16(entry(copy, im.relocs) + SE_FLAGS, PCACHE_SECTION_SKIPPABLE | 0x8000);
    st16(entry(copy, im.anchors) + SE_FLAGS, PCACHE_SECTION_SKIPPABLE | 0x8000);
    test_resign_segment(copy);
    m = copy;
    pcache_expect_init(&exp, pcache_builder_identity(im.b));
    if (pcache_resurrect(&seg, PCACHE_RX, &m, im.size, &exp, &rep) != PCACHE_OK)
        fail_msg("resurrect: %s", rep.message);
    assert_int_equal(pcache_segment_reloc_count(&seg), 0);
    expect_untouched(&seg, copy, im.size, PCACHE_OK, "relocation sections made unknown");
    free(blk);
    image_free(&im);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsealed_struct_refused),
        cmocka_unit_test(test_struct_pointed_at_other_bytes),
        cmocka_unit_test(test_struct_fields_sealed),
        cmocka_unit_test(test_other_file_at_same_address),
        cmocka_unit_test(test_records_changed_under_checksum),
        cmocka_unit_test(test_apply_in_place_keeps_seal),
        cmocka_unit_test(test_random_changes_after_seal),
        cmocka_unit_test(test_resigned_file_can_drop_relocations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
