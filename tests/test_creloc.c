/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The compact relocation table, ".crelocs" (docs/FORMAT.md 9.10, format
 * 1.2): its bytes and size, what a 1.1 reader does with it, that it means
 * the same records as the 48-byte form, that hostile tables are refused
 * with the right status and report, and that apply keeps its promises
 * (all or nothing, a range error naming the record, a changed table
 * refused).  test_reloc.c runs its property and corruption tests on both
 * forms.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "format.h"
#include "pcache/reloc.h"
#include "segment_read.h"
#include "reloc_table.h"
#include "support.h"

#define F_RO 0x1000u
#define F_RX 0x9000u
#define CLIENT_AT_PERSIST 0x7f0000010000ull
#define CLIENT_NOW 0x7f3a40000000ull
#define BASE 0x7f3a00000000ull
#define NEAR_AT_PERSIST 0x1000ull
#define LOW_AT_PERSIST 0x2000ull

static uint8_t table[256], code[256];

static uint8_t *entry(uint8_t *seg, int i)
{
    return seg + SEG_HEADER_SIZE + SEG_ENTRY_SIZE * (uint32_t)i;
}

static int section_index(const uint8_t *seg, const char *name)
{
    uint32_t n = ld32(seg + SH_SECTION_COUNT);
    for (uint32_t i = 0; i < n; i++)
        if (strcmp((const char *)seg + SEG_HEADER_SIZE + SEG_ENTRY_SIZE * i + SE_NAME, name) == 0)
            return (int)i;
    return -1;
}

static void resign_section(uint8_t *seg, int i)
{
    uint8_t *e = entry(seg, i);
    pcache_checksum_algorithm algo = (pcache_checksum_algorithm)seg[SH_CHECKSUM];
    uint64_t sum = pcache_checksum(algo, seg + ld64(e + SE_OFFSET), (size_t)ld64(e + SE_STORED_SIZE));
    st64be(seg + ld64(seg + SH_TRAILER_OFFSET) + SEG_TRAILER_ENTRY_SIZE * (uint32_t)i + ST_STORED_CHECKSUM, sum);
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

static int resolve(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    const uint64_t *now = ctx;
    if (strcmp(name, "client") == 0) {
        assert_int_equal(persisted, CLIENT_AT_PERSIST);
        *address = now[0];
        return 0;
    }
    if (strcmp(name, "module") == 0) {
        assert_int_equal(persisted, TEST_MODULE_BASE);
        *address = now[1];
        return 0;
    }
    if (strcmp(name, "near") == 0) {
        assert_int_equal(persisted, NEAR_AT_PERSIST);
        *address = now[2];
        return 0;
    }
    if (strcmp(name, "low") == 0) { /* only images of the property test, whose now[] has 4 */
        assert_int_equal(persisted, LOW_AT_PERSIST);
        *address = now[3];
        return 0;
    }
    return 1;
}

static void add(pcache_builder *b, pcache_patch p)
{
    assert_int_equal(pcache_builder_add_patch(b, &p), PCACHE_OK);
}

static pcache_patch to_table(uint64_t site, pcache_reloc_kind kind, uint64_t toff, int64_t addend)
{
    pcache_patch p = {0};
    p.cls = PCACHE_RX;
    p.section = "code";
    p.offset = site;
    p.kind = kind;
    p.target_kind = PCACHE_TARGET_SECTION;
    p.target_class = PCACHE_RO;
    p.target_section = "table";
    p.target_offset = toff;
    p.addend = addend;
    return p;
}

static pcache_patch to_anchor(uint64_t site, pcache_reloc_kind kind, int32_t pc, const char *anchor,
                              uint64_t toff, int64_t addend)
{
    pcache_patch p = {0};
    p.cls = PCACHE_RX;
    p.section = "code";
    p.offset = site;
    p.kind = kind;
    p.pc_offset = pc;
    p.target_kind = PCACHE_TARGET_ANCHOR;
    p.anchor = anchor;
    p.target_offset = toff;
    p.addend = addend;
    return p;
}

/* An image: ro "table", rx "code" whose sites are four adjacent abs64
 * pointers into table (one run of an implicit shape), two rel32 calls to
 * client + 0x100 (one implicit shape, two runs), an abs64 to module + 0x40
 * - 8, a rel8 to near + 0x100 (0x100 does not fit a rel8 field: an
 * explicit shape) and, with abs32, an abs32 to client + 0x10. */
typedef struct image {
    pcache_builder *b;
    uint8_t *ro, *rx;
    uint64_t ro_size, rx_size;
    void *ro_blk, *rx_blk;
} image;

static void image_build(image *im, pcache_reloc_form form, int abs32)
{
    pcache_identity id;
    uint64_t sz;

    memset(im, 0, sizeof *im);
    test_fill(table, sizeof table, 3);
    test_fill(code, sizeof code, 4);
    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&im->b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_set_reloc_form(im->b, form), PCACHE_OK);
    assert_int_equal(pcache_builder_add(im->b, PCACHE_RO, "table", table, sizeof table, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(im->b, PCACHE_RX, "code", code, sizeof code, 16, 0), PCACHE_OK);
    for (int k = 0; k < 4; k++)
        add(im->b, to_table(0x20 + 8 * (uint64_t)k, PCACHE_RELOC_ABS64, 0x10 * (uint64_t)k, k == 3 ? -4 : 0));
    add(im->b, to_anchor(0x41, PCACHE_RELOC_REL32, 4, "client", 0x100, 0));
    add(im->b, to_anchor(0x61, PCACHE_RELOC_REL32, 4, "client", 0x100, 0));
    add(im->b, to_anchor(0x70, PCACHE_RELOC_ABS64, 0, "module", 0x40, -8));
    add(im->b, to_anchor(0x7a, PCACHE_RELOC_REL8, 1, "near", 0x100, 0));
    assert_int_equal(pcache_builder_set_anchor(im->b, "near", NEAR_AT_PERSIST), PCACHE_OK);
    if (abs32)
        add(im->b, to_anchor(0x80, PCACHE_RELOC_ABS32, 0, "client", 0x10, 0));
    assert_int_equal(pcache_builder_set_anchor(im->b, "client", CLIENT_AT_PERSIST), PCACHE_OK);
    assert_int_equal(pcache_builder_size(im->b, PCACHE_RO, F_RO, &sz), PCACHE_OK);
    im->ro = test_persist(im->b, PCACHE_RO, F_RO, &im->ro_size, &im->ro_blk);
    im->rx = test_persist(im->b, PCACHE_RX, F_RX, &im->rx_size, &im->rx_blk);
}

static void image_free(image *im)
{
    free(im->ro_blk);
    free(im->rx_blk);
    pcache_builder_free(im->b);
}

static uint64_t fo_of(const image *im, pcache_class cls, const char *name)
{
    uint64_t fo;
    assert_int_equal(pcache_builder_section_file_offset(im->b, cls, name, &fo), PCACHE_OK);
    return fo;
}

/* Where "near" must be for the rel8 at code + 0x7a to hold 5. */
static uint64_t near_now(const uint8_t *rx)
{
    return BASE + F_RX + ld64(rx + SEG_HEADER_SIZE + SE_OFFSET) + 0x7a + 1 - 0x100 + 5;
}

/* The table's bytes, as 9.10 composes them from the sites above. */
static void test_bytes_and_minor(void **state)
{
    image im;
    int ci;
    uint8_t *t;
    uint64_t size;
    (void)state;

    image_build(&im, PCACHE_RELOC_FORM_COMPACT, 1);
    assert_int_equal(ld16(im.rx + SH_MINOR), FORMAT_MINOR_CRELOCS);
    assert_int_equal(ld16(im.ro + SH_MINOR), 0); /* no table: a 1.0 segment */
    assert_int_equal(section_index(im.rx, ".relocs"), -1);
    ci = section_index(im.rx, ".crelocs");
    assert_int_equal(ci, 1);
    assert_int_equal(ld16(entry(im.rx, ci) + SE_TYPE), PCACHE_TYPE_CRELOCS);
    assert_int_equal(ld16(entry(im.rx, ci) + SE_FLAGS), 0);
    assert_int_equal(section_index(im.rx, ".anchors"), 2);
    t = im.rx + ld64(entry(im.rx, ci) + SE_OFFSET);
    size = ld64(entry(im.rx, ci) + SE_STORED_SIZE);
    /* 9 records, 5 shapes in order of first appearance: abs64 to ro
     * table, rel32 to client, abs64 to module (implicit), rel8 to near
     * (explicit), abs32 to client (implicit) */
    assert_int_equal(ld64(t + CR_RECORD_COUNT), 9);
    assert_int_equal(ld32(t + CR_SHAPE_COUNT), 5);
    assert_int_equal(ld32(t + CR_RESERVED), 0);
    {
        const uint8_t *s0 = t + CR_HEADER_SIZE, *s1 = s0 + CR_SHAPE_SIZE, *s2 = s1 + CR_SHAPE_SIZE,
                      *s3 = s2 + CR_SHAPE_SIZE, *s4 = s3 + CR_SHAPE_SIZE;
        uint64_t code_at = ld64(entry(im.rx, 0) + SE_OFFSET);
        assert_int_equal(s0[CS_KIND], PCACHE_RELOC_ABS64);
        assert_int_equal(s0[CS_TARGET_KIND], PCACHE_TARGET_SECTION);
        assert_int_equal(s0[CS_TARGET_CLASS], 1);
        assert_int_equal(s0[CS_ADDEND_RULE], CR_ADDEND_IMPLICIT);
        assert_int_equal(ld64(s0 + CS_TARGET_BASE), fo_of(&im, PCACHE_RO, "table"));
        assert_int_equal(ld64(s0 + CS_TARGET_OFFSET), 0);
        assert_int_equal(ld64(s0 + CS_ADDEND), 0);
        assert_int_equal(s1[CS_KIND], PCACHE_RELOC_REL32);
        assert_int_equal(s1[CS_TARGET_KIND], PCACHE_TARGET_ANCHOR);
        assert_int_equal(ld16(s1 + CS_TARGET_INDEX), 0); /* "client" sorts first */
        assert_int_equal(ld32(s1 + CS_PC_OFFSET), 4);
        assert_int_equal(s1[CS_ADDEND_RULE], CR_ADDEND_IMPLICIT);
        assert_int_equal(s2[CS_ADDEND_RULE], CR_ADDEND_IMPLICIT);
        assert_int_equal(ld16(s2 + CS_TARGET_INDEX), 1);
        assert_int_equal(s3[CS_KIND], PCACHE_RELOC_REL8);
        assert_int_equal(s3[CS_ADDEND_RULE], CR_ADDEND_EXPLICIT);
        assert_int_equal(ld16(s3 + CS_TARGET_INDEX), 2);
        assert_int_equal(ld64(s3 + CS_TARGET_OFFSET), 0x100);
        assert_int_equal(ld32(s3 + CS_PC_OFFSET), 1);
        assert_int_equal(s4[CS_KIND], PCACHE_RELOC_ABS32);
        assert_int_equal(s4[CS_ADDEND_RULE], CR_ADDEND_IMPLICIT);
        /* the implicit addends, in the fields: target offset + addend */
        assert_int_equal(ld64(im.rx + code_at + 0x20 + 8 * 3), 0x30 - 4);
        assert_int_equal(ld32(im.rx + code_at + 0x41), 0x100);
        assert_int_equal(ld64(im.rx + code_at + 0x70), 0x40 - 8);
        assert_int_equal(ld32(im.rx + code_at + 0x80), 0x10);
    }
    {
        /* runs (h = shape * 4 + group * 2 + multi): shape 0 x4 at 0x20,
         * period 8 (h 1, gap 0x20, count-2 = 2, pad 0); shape 1 at 0x41
         * and 0x61, period 0x20 (h 5, gap 0x41 - 0x40, count-2 = 0, pad
         * 0x20 - 4); shape 2 at 0x70 (h 8, gap 0x70 - 0x65); shape 3 at
         * 0x7a (h 12, gap 0x7a - 0x78); shape 4 at 0x80 (h 16, gap 0x80 -
         * 0x7b) */
        static const uint8_t stream[] = {0x01, 0x20, 0x02, 0x00, 0x05, 0x01, 0x00, 0x1c,
                                         0x08, 0x0b, 0x0c, 0x02, 0x10, 0x05};
        assert_int_equal(size, CR_HEADER_SIZE + 5 * CR_SHAPE_SIZE + sizeof stream);
        assert_memory_equal(t + CR_HEADER_SIZE + 5 * CR_SHAPE_SIZE, stream, sizeof stream);
    }
    image_free(&im);

    /* the 48-byte form on request: a 1.0 segment */
    image_build(&im, PCACHE_RELOC_FORM_RECORDS, 1);
    assert_int_equal(ld16(im.rx + SH_MINOR), 0);
    assert_int_equal(section_index(im.rx, ".crelocs"), -1);
    assert_int_equal(ld64(entry(im.rx, section_index(im.rx, ".relocs")) + SE_STORED_SIZE),
                     9 * PCACHE_RELOC_RECORD_SIZE);
    assert_int_equal(pcache_builder_set_reloc_form(im.b, (pcache_reloc_form)7), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_builder_set_reloc_form(im.b, (pcache_reloc_form)-1), PCACHE_E_INVALID_ARGUMENT);
    image_free(&im);
}

/* A 1.1 reader does not know type 4: the segment is refused as holding an
 * unknown critical section, not loaded with unrelocated fields. */
static void test_refused_by_1_1_reader(void **state)
{
    image im;
    pcache_segment seg;
    pcache_report rep;
    (void)state;

    image_build(&im, PCACHE_RELOC_FORM_COMPACT, 1);
    segment_reader_minor = 1;
    assert_int_equal(resurrect(&seg, im.rx, im.rx_size, PCACHE_RX, pcache_builder_identity(im.b),
                               PCACHE_VALIDATE_FULL, &rep),
                     PCACHE_E_UNKNOWN_CRITICAL);
    test_assert_report(&rep, PCACHE_E_UNKNOWN_CRITICAL);
    assert_string_equal(rep.section, ".crelocs");
    assert_int_equal(resurrect(&seg, im.rx, im.rx_size, PCACHE_RX, pcache_builder_identity(im.b),
                               PCACHE_VALIDATE_HEADER, &rep),
                     PCACHE_E_UNKNOWN_CRITICAL);
    segment_reader_minor = PCACHE_FORMAT_MINOR;
    assert_int_equal(resurrect(&seg, im.rx, im.rx_size, PCACHE_RX, pcache_builder_identity(im.b),
                               PCACHE_VALIDATE_FULL, &rep),
                     PCACHE_OK);
    image_free(&im);

    /* the 48-byte form is what a 1.1 reader loads */
    image_build(&im, PCACHE_RELOC_FORM_RECORDS, 1);
    segment_reader_minor = 1;
    assert_int_equal(resurrect(&seg, im.rx, im.rx_size, PCACHE_RX, pcache_builder_identity(im.b),
                               PCACHE_VALIDATE_FULL, &rep),
                     PCACHE_OK);
    segment_reader_minor = PCACHE_FORMAT_MINOR;
    image_free(&im);
}

/* Both forms state the same records (the compact one reports an implicit
 * addend in the target offset) and apply writes the same bytes. */
static void test_same_records_and_bytes(void **state)
{
    static const pcache_validation levels[] = {PCACHE_VALIDATE_FULL, PCACHE_VALIDATE_LAZY, PCACHE_VALIDATE_HEADER};
    image c, r;
    uint64_t now[3] = {CLIENT_NOW, TEST_MODULE_BASE + 0x1000000, 0};
    (void)state;

    image_build(&c, PCACHE_RELOC_FORM_COMPACT, 0);
    image_build(&r, PCACHE_RELOC_FORM_RECORDS, 0);
    now[2] = near_now(c.rx);
    assert_int_equal(near_now(r.rx), now[2]); /* the same layout for code */
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        pcache_segment sc, sr;
        pcache_report rep;
        uint8_t *dc = malloc(c.rx_size), *dr = malloc(r.rx_size);
        uint64_t code_c, code_r;
        assert_int_equal(resurrect(&sc, c.rx, c.rx_size, PCACHE_RX, pcache_builder_identity(c.b), levels[l], &rep),
                         PCACHE_OK);
        assert_int_equal(resurrect(&sr, r.rx, r.rx_size, PCACHE_RX, pcache_builder_identity(r.b), levels[l], &rep),
                         PCACHE_OK);
        assert_int_equal(pcache_segment_reloc_count(&sc), 8);
        assert_int_equal(pcache_segment_reloc_count(&sr), 8);
        for (uint64_t i = 0; i < 8; i++) {
            pcache_reloc a, b;
            assert_int_equal(pcache_segment_reloc(&sc, i, &a), PCACHE_OK);
            assert_int_equal(pcache_segment_reloc(&sr, i, &b), PCACHE_OK);
            assert_int_equal(a.kind, b.kind);
            assert_int_equal(a.target_kind, b.target_kind);
            assert_int_equal(a.pc_offset, b.pc_offset);
            assert_int_equal(a.site_index, b.site_index);
            assert_string_equal(a.site_section, b.site_section);
            assert_int_equal(a.site_offset, b.site_offset);
            assert_int_equal(a.target_class, b.target_class);
            assert_int_equal(a.target_index, b.target_index);
            assert_int_equal(a.target_base, b.target_base);
            assert_int_equal(a.anchor_index, b.anchor_index);
            assert_int_equal(a.target_offset + (uint64_t)a.addend, b.target_offset + (uint64_t)b.addend);
        }
        {
            pcache_reloc x;
            assert_int_equal(pcache_segment_reloc(&sc, 8, &x), PCACHE_E_NOT_FOUND);
        }
        /* in any order (the reader resumes where the last read stopped):
         * backwards, and skipping about, the same records */
        for (uint64_t k = 0; k < 16; k++) {
            uint64_t i = k < 8 ? 7 - k : (k * 5) % 8;
            pcache_reloc a, b;
            assert_int_equal(pcache_segment_reloc(&sc, i, &a), PCACHE_OK);
            assert_int_equal(pcache_segment_reloc(&sr, i, &b), PCACHE_OK);
            assert_int_equal(a.site_offset, b.site_offset);
            assert_int_equal(a.kind, b.kind);
            assert_int_equal(a.target_offset + (uint64_t)a.addend, b.target_offset + (uint64_t)b.addend);
        }
        memcpy(dc, c.rx, c.rx_size);
        memcpy(dr, r.rx, r.rx_size);
        assert_int_equal(pcache_reloc_apply(&sc, dc, BASE, resolve, now, &rep), PCACHE_OK);
        assert_int_equal(pcache_reloc_apply(&sr, dr, BASE, resolve, now, &rep), PCACHE_OK);
        code_c = ld64(entry(c.rx, 0) + SE_OFFSET);
        code_r = ld64(entry(r.rx, 0) + SE_OFFSET);
        assert_memory_equal(dc + code_c, dr + code_r, sizeof code);
        /* the values themselves */
        for (int k = 0; k < 4; k++)
            assert_int_equal(ld64(dc + code_c + 0x20 + 8 * k),
                             BASE + fo_of(&c, PCACHE_RO, "table") + 0x10 * (uint64_t)k - (k == 3 ? 4 : 0));
        assert_int_equal((int32_t)ld32(dc + code_c + 0x41),
                         (int32_t)(CLIENT_NOW + 0x100 - (BASE + F_RX + code_c + 0x41 + 4)));
        assert_int_equal(ld64(dc + code_c + 0x70), now[1] + 0x40 - 8);
        assert_int_equal(dc[code_c + 0x7a], 5);
        /* applying again to the same copy writes the same bytes */
        {
            uint8_t *again = malloc(c.rx_size);
            memcpy(again, dc, c.rx_size);
            assert_int_equal(pcache_reloc_apply(&sc, again, BASE, resolve, now, &rep), PCACHE_OK);
            assert_memory_equal(again, dc, c.rx_size);
            free(again);
        }
        free(dc);
        free(dr);
    }
    image_free(&c);
    image_free(&r);
}

/* A value out of range: refused naming the record, nothing written. */
static void test_range_error_names_record(void **state)
{
    image im;
    pcache_segment seg;
    pcache_report rep;
    uint8_t *dst;
    uint64_t now[3] = {CLIENT_NOW, TEST_MODULE_BASE, 0};
    (void)state;

    image_build(&im, PCACHE_RELOC_FORM_COMPACT, 1);
    assert_int_equal(resurrect(&seg, im.rx, im.rx_size, PCACHE_RX, pcache_builder_identity(im.b),
                               PCACHE_VALIDATE_FULL, &rep),
                     PCACHE_OK);
    now[2] = near_now(im.rx);
    dst = malloc(im.rx_size);
    memcpy(dst, im.rx, im.rx_size);
    /* client above 4 GiB: the abs32 (record 8) does not fit */
    assert_int_equal(pcache_reloc_apply(&seg, dst, BASE, resolve, now, &rep), PCACHE_E_RELOC_RANGE);
    test_assert_report(&rep, PCACHE_E_RELOC_RANGE);
    assert_non_null(strstr(rep.message, "record 8"));
    assert_non_null(strstr(rep.message, "abs32"));
    assert_memory_equal(dst, im.rx, im.rx_size);
    /* client 3 GiB away: the rel32 (record 4) does not reach */
    now[0] = 0x10000000;
    assert_int_equal(pcache_reloc_apply(&seg, dst, BASE, resolve, now, &rep), PCACHE_E_RELOC_RANGE);
    assert_non_null(strstr(rep.message, "record 4"));
    assert_memory_equal(dst, im.rx, im.rx_size);
    /* near 200 bytes off: the rel8 of the explicit shape (record 7) */
    now[0] = CLIENT_NOW;
    now[2] += 200;
    assert_int_equal(pcache_reloc_apply(&seg, dst, BASE, resolve, now, &rep), PCACHE_E_RELOC_RANGE);
    assert_non_null(strstr(rep.message, "record 7"));
    assert_non_null(strstr(rep.message, "rel8"));
    assert_memory_equal(dst, im.rx, im.rx_size);
    free(dst);
    image_free(&im);
}

/* Hostile tables, re-signed so that only the relocation checks object. */
typedef struct edit {
    const char *what;
    uint64_t at;   /* offset in ".crelocs"; from its end when from_end */
    int from_end;
    unsigned width;
    uint64_t value;
    pcache_status want;
    const char *says;
} edit;

static void test_hostile_tables(void **state)
{
    enum { S0 = CR_HEADER_SIZE, S1 = CR_HEADER_SIZE + CR_SHAPE_SIZE, STREAM = CR_HEADER_SIZE + 5 * CR_SHAPE_SIZE };
    static const edit edits[] = {
        {"record count one more", CR_RECORD_COUNT, 0, 8, 10, PCACHE_E_RELOC_TABLE, "another number of records"},
        {"record count one fewer", CR_RECORD_COUNT, 0, 8, 8, PCACHE_E_RELOC_TABLE, "more records than"},
        {"record count zero", CR_RECORD_COUNT, 0, 8, 0, PCACHE_E_RELOC_TABLE, "record count is zero"},
        {"shape count zero", CR_SHAPE_COUNT, 0, 4, 0, PCACHE_E_RELOC_TABLE, "shape count is zero"},
        {"shapes past the section", CR_SHAPE_COUNT, 0, 4, 0x10000000, PCACHE_E_RELOC_TABLE, "shape table ends"},
        {"header reserved", CR_RESERVED, 0, 4, 1, PCACHE_E_RELOC_TABLE, "reserved"},
        {"shape reserved", S1 + CS_RESERVED, 0, 4, 0x100, PCACHE_E_RELOC_TABLE, "shape 1: reserved"},
        {"addend rule 3", S1 + CS_ADDEND_RULE, 0, 1, 3, PCACHE_E_RELOC_TABLE, "addend rule"},
        {"implicit with an addend", S0 + CS_ADDEND, 0, 8, 4, PCACHE_E_RELOC_TABLE, "implicit addend rule"},
        {"unknown kind", S0 + CS_KIND, 0, 1, 9, PCACHE_E_RELOC_TABLE, "shape 0: unknown kind"},
        {"site section not data", S0 + CS_SITE_SECTION, 0, 2, 1, PCACHE_E_RELOC_TABLE, "site section"},
        {"rel32 to a section", S1 + CS_TARGET_KIND, 0, 1, 1, PCACHE_E_RELOC_TABLE, "target class"},
        {"anchor index past", S1 + CS_TARGET_INDEX, 0, 2, 5, PCACHE_E_RELOC_TARGET, "anchor index"},
        {"implicit with a target offset", S0 + CS_TARGET_OFFSET, 0, 8, 8, PCACHE_E_RELOC_TABLE,
         "implicit addend rule with a nonzero target offset"},
        {"pc_offset on abs64", S0 + CS_PC_OFFSET, 0, 4, 4, PCACHE_E_RELOC_TABLE, "nonzero pc_offset"},
        {"shape index past", STREAM + 0, 0, 1, 0x7c, PCACHE_E_RELOC_TABLE, "shape index"},
        {"gap past the section", STREAM + 1, 0, 2, 0x7fff, PCACHE_E_RELOC_TARGET, "ends past its site section"},
        {"run too long", STREAM + 2, 0, 1, 0x7f, PCACHE_E_RELOC_TABLE, "more records than"},
        {"pad past the section", STREAM + 3, 0, 1, 0x7f, PCACHE_E_RELOC_TARGET, "ends past its site section"},
        {"second run's period past", STREAM + 7, 0, 2, 0x7fff, PCACHE_E_RELOC_TARGET, "ends past its site section"},
        {"a group of more records than stated", STREAM + 0, 0, 1, 0x03, PCACHE_E_RELOC_TABLE, "more records than"},
        {"truncated number", 1, 1, 1, 0x88, PCACHE_E_RELOC_TABLE, "truncated"},
        {"not the shortest form", STREAM + 1, 0, 2, 0x0080 | 0x20, PCACHE_E_RELOC_TABLE, "shortest"},
        {"count not in shortest form", STREAM + 2, 0, 2, 0x0082, PCACHE_E_RELOC_TABLE, "shortest"},
    };
    image im;
    (void)state;

    image_build(&im, PCACHE_RELOC_FORM_COMPACT, 1);
    for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++) {
        const edit *e = &edits[k];
        void *blk;
        uint8_t *copy = test_copy_at(im.rx, im.rx_size, F_RX, &blk);
        int ci = section_index(copy, ".crelocs");
        uint64_t off = ld64(entry(copy, ci) + SE_OFFSET), size = ld64(entry(copy, ci) + SE_STORED_SIZE);
        uint64_t at = e->from_end ? size - e->at : e->at;
        pcache_segment seg;
        pcache_report rep;
        pcache_status st;

        for (unsigned b = 0; b < e->width; b++)
            copy[off + at + b] = (uint8_t)(e->value >> (8 * b));
        resign_section(copy, ci);
        st = resurrect(&seg, copy, im.rx_size, PCACHE_RX, pcache_builder_identity(im.b), PCACHE_VALIDATE_FULL,
                       &rep);
        if (st != e->want)
            fail_msg("%s: %s (%s), expected %s", e->what, pcache_status_name(st), rep.message,
                     pcache_status_name(e->want));
        if (e->want != PCACHE_OK) {
            test_assert_report(&rep, e->want);
            assert_string_equal(rep.section, ".crelocs");
            assert_true(rep.offset >= off && rep.offset < off + size);
            if (!strstr(rep.message, e->says))
                fail_msg("%s: report '%s' does not say '%s'", e->what, rep.message, e->says);
        }
        free(blk);
    }
    image_free(&im);
}

/* ".crelocs" changed after resurrect, against the caller's promise: apply
 * decodes it as untrusted and refuses what resurrect would, before any
 * write. */
static void test_changed_after_resurrect(void **state)
{
    image im;
    uint64_t now[3] = {CLIENT_NOW, TEST_MODULE_BASE, 0};
    (void)state;

    image_build(&im, PCACHE_RELOC_FORM_COMPACT, 0);
    now[2] = near_now(im.rx);
    for (int k = 0; k < 4; k++) {
        void *blk;
        uint8_t *copy = test_copy_at(im.rx, im.rx_size, F_RX, &blk);
        int ci = section_index(copy, ".crelocs");
        uint8_t *t = copy + ld64(entry(copy, ci) + SE_OFFSET);
        uint64_t size = ld64(entry(copy, ci) + SE_STORED_SIZE);
        uint8_t *dst = malloc(im.rx_size);
        pcache_segment seg;
        pcache_report rep;
        assert_int_equal(resurrect(&seg, copy, im.rx_size, PCACHE_RX, pcache_builder_identity(im.b),
                                   PCACHE_VALIDATE_FULL, &rep),
                         PCACHE_OK);
        if (k == 0)
            t[CR_HEADER_SIZE + ld32(t + CR_SHAPE_COUNT) * CR_SHAPE_SIZE] = 0x7f; /* a shape index past the table */
        else if (k == 1)
            t[size - 1] = 0xff; /* the last run's gap: truncated */
        else if (k == 2)
            t[CR_HEADER_SIZE + CS_KIND] = 9;
        else
            st16(t + CR_HEADER_SIZE + CR_SHAPE_SIZE + CS_TARGET_INDEX, 9);
        memcpy(dst, copy, im.rx_size);
        assert_int_equal(pcache_reloc_apply(&seg, dst, BASE, resolve, now, &rep), PCACHE_E_SEGMENT_CHANGED);
        test_assert_report(&rep, PCACHE_E_SEGMENT_CHANGED);
        assert_string_equal(rep.section, ".crelocs");
        assert_memory_equal(dst, copy, im.rx_size);
        free(dst);
        free(blk);
    }
    image_free(&im);
}

/* A dense table of abs64 pointers, each to another offset of one section:
 * one shape and one run, whatever its length. */
static void test_dense_table_size(void **state)
{
    enum { N = 4096 };
    static uint8_t ptrs[N * 8], tgt[N * 16];
    pcache_identity id;
    pcache_builder *b;
    uint8_t *ro;
    void *blk;
    uint64_t size, fo_t, fo_p;
    pcache_segment seg;
    pcache_report rep;
    int ci;
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "tgt", tgt, sizeof tgt, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "ptrs", ptrs, sizeof ptrs, 8, 0), PCACHE_OK);
    for (uint64_t i = 0; i < N; i++) {
        pcache_patch p = {0};
        p.cls = PCACHE_RO;
        p.section = "ptrs";
        p.offset = 8 * i;
        p.kind = PCACHE_RELOC_ABS64;
        p.target_kind = PCACHE_TARGET_SECTION;
        p.target_class = PCACHE_RO;
        p.target_section = "tgt";
        p.target_offset = (i * 7919 % N) * 16;
        add(b, p);
    }
    ro = test_persist(b, PCACHE_RO, F_RO, &size, &blk);
    ci = section_index(ro, ".crelocs");
    /* header, one shape, and one run: h = 1, gap 0, count - 2 = 4094 in
     * two bytes, pad 0 */
    assert_int_equal(ld64(entry(ro, ci) + SE_STORED_SIZE), CR_HEADER_SIZE + CR_SHAPE_SIZE + 5);
    assert_int_equal(resurrect(&seg, ro, size, PCACHE_RO, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, "tgt", &fo_t), PCACHE_OK);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, "ptrs", &fo_p), PCACHE_OK);
    {
        uint8_t *dst = malloc(size);
        memcpy(dst, ro, size);
        assert_int_equal(pcache_reloc_apply(&seg, dst, BASE, NULL, NULL, &rep), PCACHE_OK);
        for (uint64_t i = 0; i < N; i++)
            assert_int_equal(ld64(dst + (fo_p - F_RO) + 8 * i), BASE + fo_t + (i * 7919 % N) * 16);
        free(dst);
    }
    free(blk);
    pcache_builder_free(b);
}

/* docs/FORMAT.md 9.10's worked example: the image of 9.9 (ro "table" at
 * F = 0x1000, rx "code" at F = 0x2000, anchor "client") with six sites in
 * code: abs64 at +0x09, +0x20, +0x30 to table + 0xC, + 0, + 8; rel32 (pc
 * offset 4) at +0x18, +0x2C, +0x3C to client + 0x1230, + 0x100, + 0x110.
 * Its rx segment. */
#define EX_B 0x7F3A00000000ull
#define EX_CLIENT 0x7F3A40000000ull
static const struct {
    uint64_t site;
    pcache_reloc_kind kind;
    int anchor;
    uint64_t toff;
    int64_t addend;
    int32_t pc;
} ex_sites[] = {{0x09, PCACHE_RELOC_ABS64, 0, 16, -4, 0},    {0x18, PCACHE_RELOC_REL32, 1, 0x1230, 0, 4},
                {0x20, PCACHE_RELOC_ABS64, 0, 0, 0, 0},      {0x2C, PCACHE_RELOC_REL32, 1, 0x100, 0, 4},
                {0x30, PCACHE_RELOC_ABS64, 0, 8, 0, 0},      {0x3C, PCACHE_RELOC_REL32, 1, 0x110, 0, 4}};
#define EX_N (sizeof ex_sites / sizeof ex_sites[0])

static uint8_t *example_rx(pcache_builder **bp, pcache_identity *id, uint64_t *rx_size, void **blk)
{
    static uint8_t ex_table[32], ex_code[64];
    uint64_t ro_size;

    memset(ex_table, 0, sizeof ex_table);
    memset(ex_code, 0, sizeof ex_code);
    test_identity(id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(bp, id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(*bp, PCACHE_RO, "table", ex_table, sizeof ex_table, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(*bp, PCACHE_RX, "code", ex_code, sizeof ex_code, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_anchor(*bp, "client", 0x7F0000010000ull), PCACHE_OK);
    for (size_t i = 0; i < EX_N; i++) {
        pcache_patch p = ex_sites[i].anchor ? to_anchor(ex_sites[i].site, ex_sites[i].kind, ex_sites[i].pc, "client",
                                                        ex_sites[i].toff, ex_sites[i].addend)
                                            : to_table(ex_sites[i].site, ex_sites[i].kind, ex_sites[i].toff,
                                                       ex_sites[i].addend);
        add(*bp, p);
    }
    assert_int_equal(pcache_builder_size(*bp, PCACHE_RO, 0x1000, &ro_size), PCACHE_OK);
    return test_persist(*bp, PCACHE_RX, 0x2000, rx_size, blk);
}

/* The worked example's values for image base b and client at cl, by
 * record (the code section is at 0x1C0 of the rx segment, F = 0x2000). */
static uint64_t ex_value(size_t i, uint64_t b, uint64_t cl)
{
    if (ex_sites[i].kind == PCACHE_RELOC_ABS64)
        return b + 0x1140 + ex_sites[i].toff + (uint64_t)ex_sites[i].addend;
    return (uint32_t)(cl + ex_sites[i].toff - (b + 0x2000 + 0x1c0 + ex_sites[i].site + 4));
}

static void ex_assert_values(const uint8_t *rx, uint64_t b, uint64_t cl)
{
    for (size_t i = 0; i < EX_N; i++) {
        uint64_t got = ex_sites[i].kind == PCACHE_RELOC_ABS64 ? ld64(rx + 0x1c0 + ex_sites[i].site)
                                                              : ld32(rx + 0x1c0 + ex_sites[i].site);
        if (got != ex_value(i, b, cl))
            fail_msg("record %zu (+0x%" PRIx64 "): 0x%" PRIx64 ", want 0x%" PRIx64, i, ex_sites[i].site, got,
                     ex_value(i, b, cl));
    }
}

/* docs/FORMAT.md 9.10's worked example, byte for byte. */
static void test_format_example(void **state)
{
    static const uint8_t crelocs[] = {
        0x06, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0,
        0x04, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x11, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0x04, 0, 0, 0,
        0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0x00, 0x09, 0x04, 0x07, 0x03, 0x04, 0x00, 0x00, 0x00, 0x01, 0x04,
    };
    static const uint8_t fields[][8] = {{0x0c}, {0x30, 0x12}, {0}, {0x00, 0x01}, {0x08}, {0x10, 0x01}};
    pcache_identity id;
    pcache_builder *b;
    uint64_t rx_size;
    uint8_t *rx;
    void *blk;
    pcache_segment seg;
    pcache_report rep;
    uint64_t now[3] = {EX_CLIENT, 0, 0};
    (void)state;

    rx = example_rx(&b, &id, &rx_size, &blk);
    assert_int_equal(rx_size, 0x2c8);
    assert_int_equal(ld16(rx + SH_MINOR), 2);
    assert_int_equal(ld64(rx + SH_TRAILER_OFFSET), 0x298);
    assert_int_equal(ld64(entry(rx, 0) + SE_OFFSET), 0x1c0);
    assert_int_equal(ld64(entry(rx, 1) + SE_OFFSET), 0x200);
    assert_int_equal(ld64(entry(rx, 1) + SE_STORED_SIZE), sizeof crelocs);
    assert_int_equal(ld64(entry(rx, 2) + SE_OFFSET), 0x270);
    assert_memory_equal(rx + 0x200, crelocs, sizeof crelocs);
    for (size_t i = 0; i < EX_N; i++)
        assert_memory_equal(rx + 0x1c0 + ex_sites[i].site, fields[i], pcache_reloc_width(ex_sites[i].kind));
    assert_int_equal(resurrect(&seg, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    {
        uint8_t *dst = malloc(rx_size);
        memcpy(dst, rx, rx_size);
        assert_int_equal(pcache_reloc_apply(&seg, dst, EX_B, resolve, now, &rep), PCACHE_OK);
        /* the document's figures */
        assert_int_equal(ld64(dst + 0x1c0 + 0x09), 0x7F3A0000114Cull);
        assert_int_equal(ld32(dst + 0x1c0 + 0x18), 0x3FFFF054u);
        assert_int_equal(ld64(dst + 0x1c0 + 0x20), 0x7F3A00001140ull);
        assert_int_equal(ld32(dst + 0x1c0 + 0x2c), 0x3FFFDF10u);
        assert_int_equal(ld64(dst + 0x1c0 + 0x30), 0x7F3A00001148ull);
        assert_int_equal(ld32(dst + 0x1c0 + 0x3c), 0x3FFFDF10u);
        ex_assert_values(dst, EX_B, EX_CLIENT);
        free(dst);
    }
    /* in place, then in place again at B + 0x10000: the document's figures */
    assert_int_equal(pcache_reloc_apply(&seg, rx, EX_B, resolve, now, &rep), PCACHE_OK);
    assert_int_equal(ld64(rx + 0x1c0 + 0x30), 0x7F3A00001148ull);
    assert_int_equal(ld32(rx + 0x1c0 + 0x2c), 0x3FFFDF10u);
    assert_int_equal(pcache_reloc_apply(&seg, rx, EX_B + 0x10000, resolve, now, &rep), PCACHE_OK);
    assert_int_equal(ld64(rx + 0x1c0 + 0x30), 0x7F3A00011148ull);
    assert_int_equal(ld32(rx + 0x1c0 + 0x2c), 0x3FFEDF10u);
    ex_assert_values(rx, EX_B + 0x10000, EX_CLIENT);
    free(blk);
    pcache_builder_free(b);
}

/* Reads every record three ways (index, iterator, and for the 48-byte
 * form's image the same records) and compares. */
static void assert_same_reloc(const pcache_reloc *a, const pcache_reloc *b, uint64_t i)
{
    if (a->kind != b->kind || a->target_kind != b->target_kind || a->pc_offset != b->pc_offset ||
        a->site_index != b->site_index || a->site_offset != b->site_offset || a->target_class != b->target_class ||
        a->target_index != b->target_index || a->target_base != b->target_base ||
        a->anchor_index != b->anchor_index || a->anchor_persisted != b->anchor_persisted ||
        a->target_offset + (uint64_t)a->addend != b->target_offset + (uint64_t)b->addend)
        fail_msg("record %" PRIu64 " differs: site %u+0x%" PRIx64 " kind %d target %" PRIx64 "+%" PRId64
                 " vs site %u+0x%" PRIx64 " kind %d target %" PRIx64 "+%" PRId64,
                 i, a->site_index, a->site_offset, a->kind, a->target_offset, a->addend, b->site_index,
                 b->site_offset, b->kind, b->target_offset, b->addend);
    if ((a->site_section == NULL) != (b->site_section == NULL) ||
        (a->site_section && strcmp(a->site_section, b->site_section) != 0))
        fail_msg("record %" PRIu64 ": site section names differ", i);
}

/* Every record of seg by index and by iterator: the same; n records. */
static void assert_reads_agree(const pcache_segment *seg, uint64_t n)
{
    pcache_reloc_iter it;
    pcache_reloc a, b;
    assert_int_equal(pcache_segment_reloc_count(seg), n);
    assert_int_equal(pcache_reloc_iter_init(&it, seg), PCACHE_OK);
    for (uint64_t i = 0; i < n; i++) {
        assert_int_equal(it.index, i);
        assert_int_equal(pcache_reloc_iter_next(&it, &a), PCACHE_OK);
        assert_int_equal(pcache_segment_reloc(seg, i, &b), PCACHE_OK);
        assert_same_reloc(&a, &b, i);
    }
    assert_int_equal(pcache_reloc_iter_next(&it, &a), PCACHE_E_NOT_FOUND);
    assert_int_equal(pcache_reloc_iter_next(&it, &a), PCACHE_E_NOT_FOUND);
    assert_int_equal(pcache_segment_reloc(seg, n, &b), PCACHE_E_NOT_FOUND);
}

/* Applying in place (as pcache_image_bind does) then again: the object
 * knows its fields hold relocated values (9.10), and reads the addends
 * back; at every validation level. */
static void test_in_place_idempotent(void **state)
{
    static const pcache_validation levels[] = {PCACHE_VALIDATE_FULL, PCACHE_VALIDATE_LAZY, PCACHE_VALIDATE_HEADER};
    (void)state;
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        pcache_identity id;
        pcache_builder *b;
        uint64_t rx_size;
        void *blk;
        uint8_t *rx, *once, *copy;
        pcache_segment seg;
        pcache_report rep;
        pcache_reloc r;
        uint64_t now[3] = {EX_CLIENT, 0, 0}, later[3] = {EX_CLIENT - 0x5000000, 0, 0};
        const uint64_t b2 = EX_B + 0x3456000ull;

        rx = example_rx(&b, &id, &rx_size, &blk);
        assert_int_equal(resurrect(&seg, rx, rx_size, PCACHE_RX, &id, levels[l], &rep), PCACHE_OK);
        assert_int_equal(seg.relocs_state, PCACHE_RELOCS_PRISTINE);
        assert_int_equal(pcache_reloc_apply(&seg, rx, EX_B, resolve, now, &rep), PCACHE_OK);
        assert_int_equal(seg.relocs_state, PCACHE_RELOCS_APPLIED);
        ex_assert_values(rx, EX_B, EX_CLIENT);
        /* twice with the same addresses: the same bytes */
        once = malloc(rx_size);
        memcpy(once, rx, rx_size);
        assert_int_equal(pcache_reloc_apply(&seg, rx, EX_B, resolve, now, &rep), PCACHE_OK);
        assert_memory_equal(rx, once, rx_size);
        /* the records read as resurrect read them */
        assert_int_equal(pcache_segment_reloc(&seg, 0, &r), PCACHE_OK);
        assert_int_equal(r.target_offset, 0xc);
        assert_int_equal(pcache_segment_reloc(&seg, 3, &r), PCACHE_OK);
        assert_int_equal(r.target_offset, 0x100);
        assert_reads_agree(&seg, EX_N);
        /* to a copy, after the apply in place: right, and seg unchanged */
        copy = malloc(rx_size);
        memcpy(copy, rx, rx_size);
        assert_int_equal(pcache_reloc_apply(&seg, copy, b2, resolve, later, &rep), PCACHE_OK);
        ex_assert_values(copy, b2, later[0]);
        assert_int_equal(seg.relocs_applied_base, EX_B);
        /* in place again, elsewhere: relocated again, the same bytes as
         * the copy */
        assert_int_equal(pcache_reloc_apply(&seg, rx, b2, resolve, later, &rep), PCACHE_OK);
        ex_assert_values(rx, b2, later[0]);
        assert_memory_equal(rx, copy, rx_size);
        assert_int_equal(seg.relocs_applied_base, b2);
        assert_int_equal(pcache_segment_reloc(&seg, 5, &r), PCACHE_OK);
        assert_int_equal(r.target_offset, 0x110);
        /* and back */
        assert_int_equal(pcache_reloc_apply(&seg, rx, EX_B, resolve, now, &rep), PCACHE_OK);
        assert_memory_equal(rx, once, rx_size);
        /* a struct whose state was edited is no longer sealed */
        {
            pcache_segment edited = seg;
            edited.relocs_applied_base ^= 0x1000;
            assert_int_equal(pcache_reloc_apply(&edited, copy, EX_B, resolve, now, &rep), PCACHE_E_SEGMENT_CHANGED);
            edited = seg;
            edited.relocs_state = PCACHE_RELOCS_PRISTINE;
            assert_int_equal(pcache_segment_reloc(&edited, 0, &r), PCACHE_E_SEGMENT_CHANGED);
            edited = seg;
            edited.relocs_applied_anchor[0]++;
            assert_int_equal(pcache_segment_reloc_count(&edited), 0);
        }
        free(copy);
        free(once);
        free(blk);
        pcache_builder_free(b);
    }
}

/* Another struct over bytes an apply in place relocated (a second
 * resurrect of the same mapping): refused before any write. */
static void test_second_object_over_relocated_bytes(void **state)
{
    static const pcache_validation levels[] = {PCACHE_VALIDATE_LAZY, PCACHE_VALIDATE_HEADER};
    (void)state;
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        pcache_identity id;
        pcache_builder *b;
        uint64_t rx_size;
        void *blk;
        uint8_t *rx, *once;
        pcache_segment first, second;
        pcache_report rep;
        uint64_t now[3] = {EX_CLIENT, 0, 0};

        rx = example_rx(&b, &id, &rx_size, &blk);
        assert_int_equal(resurrect(&first, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
        assert_int_equal(pcache_reloc_apply(&first, rx, EX_B, resolve, now, &rep), PCACHE_OK);
        /* FULL: the relocated section fails its checksum at resurrect */
        assert_int_equal(resurrect(&second, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep),
                         PCACHE_E_SECTION_CHECKSUM);
        assert_int_equal(resurrect(&second, rx, rx_size, PCACHE_RX, &id, levels[l], &rep), PCACHE_OK);
        once = malloc(rx_size);
        memcpy(once, rx, rx_size);
        assert_int_equal(pcache_reloc_apply(&second, rx, EX_B + 0x10000, resolve, now, &rep),
                         PCACHE_E_SECTION_CHECKSUM);
        test_assert_report(&rep, PCACHE_E_SECTION_CHECKSUM);
        assert_string_equal(rep.section, "code");
        assert_memory_equal(rx, once, rx_size);
        assert_int_equal(second.relocs_state, PCACHE_RELOCS_PRISTINE);
        /* the first struct still knows the bytes */
        assert_int_equal(pcache_reloc_apply(&first, rx, EX_B, resolve, now, &rep), PCACHE_OK);
        assert_memory_equal(rx, once, rx_size);
        free(once);
        free(blk);
        pcache_builder_free(b);
    }
}

/* An apply in place that stops while writing (the table changed after
 * resurrect, against the caller's promise) leaves fields partly relocated:
 * the object says so, and refuses what would read them. */
static void test_broken_state(void **state)
{
    static uint8_t ptrs[64], tgt[64];
    pcache_identity id;
    pcache_builder *b;
    uint8_t *ro;
    void *blk;
    uint64_t size;
    pcache_segment seg;
    pcache_report rep;
    pcache_reloc r;
    int ci;
    uint64_t end;
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "tgt", tgt, sizeof tgt, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "ptrs", ptrs, sizeof ptrs, 8, 0), PCACHE_OK);
    /* abs64 only (no checking pass): two runs, at 0, 8, 16 and at 40 */
    for (uint64_t i = 0; i < 4; i++) {
        pcache_patch p = {0};
        p.cls = PCACHE_RO;
        p.section = "ptrs";
        p.offset = i < 3 ? 8 * i : 40;
        p.kind = PCACHE_RELOC_ABS64;
        p.target_kind = PCACHE_TARGET_SECTION;
        p.target_class = PCACHE_RO;
        p.target_section = "tgt";
        p.target_offset = 4 * i;
        add(b, p);
    }
    ro = test_persist(b, PCACHE_RO, F_RO, &size, &blk);
    ci = section_index(ro, ".crelocs");
    assert_true(ci >= 0);
    assert_int_equal(resurrect(&seg, ro, size, PCACHE_RO, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    /* the last run's gap: truncated */
    end = ld64(entry(ro, ci) + SE_OFFSET) + ld64(entry(ro, ci) + SE_STORED_SIZE);
    assert_int_equal(ro[end - 1], 40 - 24);
    ro[end - 1] = 0x80;
    assert_int_equal(pcache_reloc_apply(&seg, ro, BASE, NULL, NULL, &rep), PCACHE_E_SEGMENT_CHANGED);
    assert_non_null(strstr(rep.message, "already written"));
    assert_int_equal(seg.relocs_state, PCACHE_RELOCS_BROKEN);
    /* the first run was written */
    assert_int_equal(ld64(ro + ld64(entry(ro, 1) + SE_OFFSET) + 8), BASE + F_RO + ld64(entry(ro, 0) + SE_OFFSET) + 4);
    /* whatever is asked next: refused, the same table restored or not */
    ro[end - 1] = 40 - 24;
    assert_int_equal(pcache_reloc_apply(&seg, ro, BASE, NULL, NULL, &rep), PCACHE_E_SEGMENT_CHANGED);
    test_assert_report(&rep, PCACHE_E_SEGMENT_CHANGED);
    assert_non_null(strstr(rep.message, "stopped partway"));
    {
        uint8_t *copy = malloc(size);
        memcpy(copy, ro, size);
        assert_int_equal(pcache_reloc_apply(&seg, copy, BASE, NULL, NULL, &rep), PCACHE_E_SEGMENT_CHANGED);
        assert_memory_equal(copy, ro, size);
        free(copy);
    }
    assert_int_equal(pcache_segment_reloc(&seg, 0, &r), PCACHE_E_SEGMENT_CHANGED);
    {
        pcache_reloc_iter it;
        assert_int_equal(pcache_reloc_iter_init(&it, &seg), PCACHE_OK);
        assert_int_equal(pcache_reloc_iter_next(&it, &r), PCACHE_E_SEGMENT_CHANGED);
    }
    assert_int_equal(pcache_segment_reloc_count(&seg), 4);
    free(blk);
    pcache_builder_free(b);
}

/* Periodic groups (9.10): members and a period, written and read. */
typedef struct gsite {
    uint64_t off;
    pcache_reloc_kind kind;
    uint64_t toff;
} gsite;

static uint8_t *group_image(const gsite *sites, size_t n, pcache_reloc_form form, pcache_builder **bp,
                            pcache_identity *id, uint64_t *size, void **blk)
{
    static uint8_t code_buf[512], tgt_buf[64];
    uint64_t ro_size;

    test_identity(id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(bp, id), PCACHE_OK);
    assert_int_equal(pcache_builder_set_reloc_form(*bp, form), PCACHE_OK);
    assert_int_equal(pcache_builder_add(*bp, PCACHE_RO, "table", tgt_buf, sizeof tgt_buf, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(*bp, PCACHE_RX, "code", code_buf, sizeof code_buf, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_anchor(*bp, "client", CLIENT_AT_PERSIST), PCACHE_OK);
    for (size_t i = 0; i < n; i++)
        add(*bp, sites[i].kind == PCACHE_RELOC_ABS64 ? to_table(sites[i].off, PCACHE_RELOC_ABS64, sites[i].toff, 0)
                                                     : to_anchor(sites[i].off, sites[i].kind, 4, "client",
                                                                 sites[i].toff, 0));
    assert_int_equal(pcache_builder_size(*bp, PCACHE_RO, F_RO, &ro_size), PCACHE_OK);
    return test_persist(*bp, PCACHE_RX, F_RX, size, blk);
}

static void check_stream(const gsite *sites, size_t n, const uint8_t *want, size_t want_n, uint32_t shapes)
{
    pcache_identity id;
    pcache_builder *b, *b48;
    uint64_t size, size48;
    void *blk, *blk48;
    uint8_t *rx = group_image(sites, n, PCACHE_RELOC_FORM_COMPACT, &b, &id, &size, &blk);
    uint8_t *rx48 = group_image(sites, n, PCACHE_RELOC_FORM_RECORDS, &b48, &id, &size48, &blk48);
    int ci = section_index(rx, ".crelocs");
    const uint8_t *t = rx + ld64(entry(rx, ci) + SE_OFFSET);
    pcache_segment seg, seg48;
    pcache_report rep;
    uint64_t now[3] = {CLIENT_NOW, 0, 0};

    assert_true(ci >= 0);
    assert_int_equal(ld32(t + CR_SHAPE_COUNT), shapes);
    if (ld64(entry(rx, ci) + SE_STORED_SIZE) != CR_HEADER_SIZE + CR_SHAPE_SIZE * shapes + want_n) {
        const uint8_t *st = t + CR_HEADER_SIZE + CR_SHAPE_SIZE * shapes;
        uint64_t got = ld64(entry(rx, ci) + SE_STORED_SIZE) - CR_HEADER_SIZE - CR_SHAPE_SIZE * shapes;
        char text[256] = "";
        for (uint64_t i = 0; i < got && i < 64; i++)
            snprintf(text + strlen(text), sizeof text - strlen(text), " %02x", st[i]);
        fail_msg("stream of %" PRIu64 " bytes (want %zu):%s", got, want_n, text);
    }
    assert_memory_equal(t + CR_HEADER_SIZE + CR_SHAPE_SIZE * shapes, want, want_n);
    assert_int_equal(resurrect(&seg, rx, size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(resurrect(&seg48, rx48, size48, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_reads_agree(&seg, n);
    for (uint64_t i = 0; i < n; i++) {
        pcache_reloc a, c;
        assert_int_equal(pcache_segment_reloc(&seg, i, &a), PCACHE_OK);
        assert_int_equal(pcache_segment_reloc(&seg48, i, &c), PCACHE_OK);
        assert_same_reloc(&a, &c, i);
        assert_int_equal(a.site_offset, sites[i].off);
    }
    {
        uint8_t *d = malloc(size), *d48 = malloc(size48);
        uint64_t at = ld64(entry(rx, 0) + SE_OFFSET), at48 = ld64(entry(rx48, 0) + SE_OFFSET);
        memcpy(d, rx, size);
        memcpy(d48, rx48, size48);
        assert_int_equal(pcache_reloc_apply(&seg, d, BASE, resolve, now, &rep), PCACHE_OK);
        assert_int_equal(pcache_reloc_apply(&seg48, d48, BASE, resolve, now, &rep), PCACHE_OK);
        assert_int_equal(at, at48);
        assert_memory_equal(d + at, d48 + at48, 512);
        free(d);
        free(d48);
    }
    free(blk);
    free(blk48);
    pcache_builder_free(b);
    pcache_builder_free(b48);
}

static void test_periodic_groups(void **state)
{
    gsite s[64];
    size_t n = 0;
    (void)state;

    /* abs64 and rel32 alternating every 8 bytes (the bench's mixed
     * table): one run of 2 members, period 16, 20 repetitions: h = 0 * 4
     * + 2 + 1, gap 0x10, count - 2 = 18, pad 16 - 12 = 4, m - 2 = 0,
     * member 1: shape 1, d = 0 */
    for (uint64_t i = 0; i < 40; i++, n++)
        s[n] = (gsite){0x10 + 8 * i, i % 2 ? PCACHE_RELOC_REL32 : PCACHE_RELOC_ABS64, i % 2 ? 0x40 : 8 * (i % 4)};
    {
        static const uint8_t want[] = {0x03, 0x10, 0x12, 0x04, 0x00, 0x01, 0x00};
        check_stream(s, n, want, sizeof want, 2);
    }
    /* three members with gaps (abs64 at +0, rel32 at +10 and +17),
     * period 32, 3 times; then one abs64 at 0x100: h = 3, gap 0x20,
     * count-2 = 1, pad 32 - 21 = 11, m-2 = 1, (1, 2), (1, 3); then h = 0,
     * gap 0x100 - (0x20 + 64 + 21) = 0x8b in two bytes */
    n = 0;
    for (uint64_t r = 0; r < 3; r++) {
        s[n++] = (gsite){0x20 + 32 * r, PCACHE_RELOC_ABS64, 0};
        s[n++] = (gsite){0x20 + 32 * r + 10, PCACHE_RELOC_REL32, 0x10};
        s[n++] = (gsite){0x20 + 32 * r + 17, PCACHE_RELOC_REL32, 0x20};
    }
    s[n++] = (gsite){0x100, PCACHE_RELOC_ABS64, 0};
    {
        static const uint8_t want[] = {0x03, 0x20, 0x01, 0x0b, 0x01, 0x01, 0x02, 0x01, 0x03, 0x00, 0x8b, 0x01};
        check_stream(s, n, want, sizeof want, 2);
    }
    /* a dense run beats a group covering the same records (a tie goes to
     * the smaller m): 6 abs64 at 0..40, then an irregular tail */
    n = 0;
    for (uint64_t i = 0; i < 6; i++)
        s[n++] = (gsite){8 * i, PCACHE_RELOC_ABS64, 0};
    s[n++] = (gsite){0x50, PCACHE_RELOC_REL32, 0};
    s[n++] = (gsite){0x57, PCACHE_RELOC_ABS64, 0};
    s[n++] = (gsite){0x70, PCACHE_RELOC_REL32, 0};
    {
        static const uint8_t want[] = {0x01, 0x00, 0x04, 0x00, 0x04, 0x50 - 0x30, 0x00, 0x03, 0x04, 0x70 - 0x5f};
        check_stream(s, n, want, sizeof want, 2);
    }
}

/* The default form is the smaller one (9.4); the others are forced. */
static size_t form_size(size_t nrec, pcache_reloc_form form, int *compact, uint8_t **bytes, uint64_t *total)
{
    static uint8_t ex_table[64], ex_code[256];
    pcache_identity id;
    pcache_builder *b;
    uint64_t ro_size, rx_size;
    uint8_t *rx;
    void *blk;
    int ci, ri;
    size_t out;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    if (form != PCACHE_RELOC_FORM_SMALLER)
        assert_int_equal(pcache_builder_set_reloc_form(b, form), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "table", ex_table, sizeof ex_table, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", ex_code, sizeof ex_code, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_anchor(b, "near", NEAR_AT_PERSIST), PCACHE_OK);
    /* rel8 to near + 0x100 + 8i: never fits the field, so every record
     * is an explicit shape of its own: 40 + 2 bytes a record, + 16 */
    for (size_t i = 0; i < nrec; i++)
        add(b, to_anchor(0x10 * i, PCACHE_RELOC_REL8, 1, "near", 0x100 + 8 * i, 0));
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, F_RO, &ro_size), PCACHE_OK);
    rx = test_persist(b, PCACHE_RX, F_RX, &rx_size, &blk);
    ci = section_index(rx, ".crelocs");
    ri = section_index(rx, ".relocs");
    assert_true((ci >= 0) != (ri >= 0));
    *compact = ci >= 0;
    out = (size_t)ld64(entry(rx, ci >= 0 ? ci : ri) + SE_STORED_SIZE);
    assert_int_equal(ld16(rx + SH_MINOR), ci >= 0 ? FORMAT_MINOR_CRELOCS : 0);
    *bytes = malloc(rx_size);
    memcpy(*bytes, rx, rx_size);
    *total = rx_size;
    free(blk);
    pcache_builder_free(b);
    return out;
}

static void test_fallback_choice(void **state)
{
    int compact;
    uint8_t *x, *y;
    uint64_t nx, ny;
    (void)state;
    /* 1 record: 58 bytes compact >= 48: .relocs */
    assert_int_equal(form_size(1, PCACHE_RELOC_FORM_SMALLER, &compact, &x, &nx), 48);
    assert_false(compact);
    free(x);
    assert_int_equal(form_size(1, PCACHE_RELOC_FORM_COMPACT, &compact, &x, &nx), 16 + 40 + 2);
    assert_true(compact);
    free(x);
    /* 2: 16 + 80 + 4 = 100 >= 96: .relocs */
    assert_int_equal(form_size(2, PCACHE_RELOC_FORM_SMALLER, &compact, &x, &nx), 96);
    assert_false(compact);
    free(x);
    /* 3: 16 + 120 + 6 = 142 < 144: .crelocs */
    assert_int_equal(form_size(3, PCACHE_RELOC_FORM_SMALLER, &compact, &x, &nx), 142);
    assert_true(compact);
    free(x);
    assert_int_equal(form_size(3, PCACHE_RELOC_FORM_RECORDS, &compact, &x, &nx), 144);
    assert_false(compact);
    free(x);
    /* deterministic: the same bytes twice */
    for (size_t k = 1; k <= 4; k++) {
        form_size(k, PCACHE_RELOC_FORM_SMALLER, &compact, &x, &nx);
        form_size(k, PCACHE_RELOC_FORM_SMALLER, &compact, &y, &ny);
        assert_int_equal(nx, ny);
        /* (the image id is random: compare from the section table on) */
        assert_memory_equal(x + SEG_HEADER_SIZE, y + SEG_HEADER_SIZE, nx - SEG_HEADER_SIZE);
        free(x);
        free(y);
    }
}

/* Random record sets, written in both forms: the same records read back
 * (by index and by iterator), and apply writes the same bytes. */
static uint64_t rnd_state;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static void test_property_both_forms(void **state)
{
    enum { CODE = 2048, DATA = 1024 };
    static uint8_t code_buf[CODE], data_buf[DATA], tbl[256];
    (void)state;

    rnd_state = 0x9e3779b97f4a7c15ull;
    for (int iter = 0; iter < 150; iter++) {
        pcache_builder *bf[2];
        uint8_t *rx[2];
        void *blk[2];
        uint64_t size[2], nrec = 0;
        pcache_segment seg[2];
        pcache_report rep;
        pcache_identity id;
        uint64_t now[4] = {CLIENT_NOW + (rnd() % 0x10000), TEST_MODULE_BASE + (rnd() % 0x1000) * 0x1000, 0,
                           0x10000 + rnd() % 0x1000};
        uint64_t base = BASE + (rnd() % 0x1000) * 0x1000;
        uint64_t seed = rnd();

        for (int f = 0; f < 2; f++) {
            uint64_t ro_size;
            rnd_state = seed;
            test_fill(code_buf, CODE, (uint32_t)iter);
            test_fill(data_buf, DATA, (uint32_t)iter + 1);
            test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
            assert_int_equal(pcache_builder_new(&bf[f], &id), PCACHE_OK);
            assert_int_equal(
                pcache_builder_set_reloc_form(bf[f], f ? PCACHE_RELOC_FORM_RECORDS : PCACHE_RELOC_FORM_COMPACT),
                PCACHE_OK);
            assert_int_equal(pcache_builder_add(bf[f], PCACHE_RO, "table", tbl, sizeof tbl, 8, 0), PCACHE_OK);
            assert_int_equal(pcache_builder_add(bf[f], PCACHE_RX, "code", code_buf, CODE, 16, 0), PCACHE_OK);
            assert_int_equal(pcache_builder_add(bf[f], PCACHE_RX, "data", data_buf, DATA, 8, 0), PCACHE_OK);
            assert_int_equal(pcache_builder_set_anchor(bf[f], "client", CLIENT_AT_PERSIST), PCACHE_OK);
            assert_int_equal(pcache_builder_set_anchor(bf[f], "near", NEAR_AT_PERSIST), PCACHE_OK);
            assert_int_equal(pcache_builder_set_anchor(bf[f], "low", LOW_AT_PERSIST), PCACHE_OK);
            nrec = 0;
            for (int sec = 0; sec < 2; sec++) {
                const char *name = sec ? "data" : "code";
                uint64_t limit = sec ? DATA : CODE, off = rnd() % 16;
                while (off + 8 <= limit) {
                    /* a pattern: 1-3 members, repeated 1-6 times at a period,
                     * or one irregular record */
                    unsigned m = 1 + (unsigned)(rnd() % 3), reps = 1 + (unsigned)(rnd() % 6), k;
                    pcache_reloc_kind kinds[3];
                    uint64_t offs[3], ext = 0, period;
                    uint64_t toffs[3];
                    int anch[3];
                    for (k = 0; k < m; k++) {
                        /* rel8 (to "near", which most sites cannot reach:
                         * a range error) in one image of 5 */
                        kinds[k] = (pcache_reloc_kind)(iter % 5 == 0 ? 1 + rnd() % 4 : 2 + rnd() % 3);
                        offs[k] = ext + rnd() % 5;
                        ext = offs[k] + pcache_reloc_width(kinds[k]);
                        anch[k] = (int)(rnd() % 3);
                        toffs[k] = rnd() % 4 == 0 ? 0x200 + rnd() % 64 : rnd() % 64;
                    }
                    period = ext + rnd() % 9;
                    for (unsigned r = 0; r < reps && off + r * period + ext <= limit; r++)
                        for (k = 0; k < m; k++) {
                            pcache_patch p;
                            uint64_t site = off + r * period + offs[k];
                            int64_t addend = rnd() % 8 == 0 ? -(int64_t)(rnd() % 300) : (int64_t)(rnd() % 4);
                            if (kinds[k] != PCACHE_RELOC_ABS64 || anch[k] != 0) {
                                const char *an = kinds[k] == PCACHE_RELOC_REL8    ? "near"
                                                 : kinds[k] == PCACHE_RELOC_ABS32 ? "low"
                                                 : anch[k] == 2                   ? "module"
                                                                                  : "client";
                                p = to_anchor(site, kinds[k],
                                              reloc_kind_relative(kinds[k]) ? (int32_t)(rnd() % 3) : 0, an,
                                              toffs[k], addend);
                            } else {
                                p = to_table(site, kinds[k], toffs[k] % 256, addend);
                            }
                            p.section = name;
                            add(bf[f], p);
                            nrec++;
                        }
                    off += reps * period + rnd() % 40;
                }
            }
            assert_int_equal(pcache_builder_size(bf[f], PCACHE_RO, F_RO, &ro_size), PCACHE_OK);
            rx[f] = test_persist(bf[f], PCACHE_RX, F_RX, &size[f], &blk[f]);
            assert_int_equal(resurrect(&seg[f], rx[f], size[f], PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep),
                             PCACHE_OK);
        }
        assert_true(section_index(rx[0], ".crelocs") >= 0);
        assert_true(section_index(rx[1], ".relocs") >= 0);
        assert_reads_agree(&seg[0], nrec);
        assert_reads_agree(&seg[1], nrec);
        {
            pcache_reloc_iter ia, ib;
            pcache_reloc a, b;
            assert_int_equal(pcache_reloc_iter_init(&ia, &seg[0]), PCACHE_OK);
            assert_int_equal(pcache_reloc_iter_init(&ib, &seg[1]), PCACHE_OK);
            for (uint64_t i = 0; i < nrec; i++) {
                assert_int_equal(pcache_reloc_iter_next(&ia, &a), PCACHE_OK);
                assert_int_equal(pcache_reloc_iter_next(&ib, &b), PCACHE_OK);
                assert_same_reloc(&a, &b, i);
            }
        }
        {
            uint8_t *d0 = malloc(size[0]), *d1 = malloc(size[1]);
            pcache_status s0, s1;
            uint64_t c0 = ld64(entry(rx[0], 0) + SE_OFFSET), c1 = ld64(entry(rx[1], 0) + SE_OFFSET);
            now[2] = BASE + F_RX + c0 + (rnd() % 64);
            memcpy(d0, rx[0], size[0]);
            memcpy(d1, rx[1], size[1]);
            s0 = pcache_reloc_apply(&seg[0], d0, base, resolve, now, &rep);
            s1 = pcache_reloc_apply(&seg[1], d1, base, resolve, now, &rep);
            assert_int_equal(s0, s1);
            assert_int_equal(c0, c1);
            if (s0 == PCACHE_OK)
                assert_memory_equal(d0 + c0, d1 + c1, CODE + DATA);
            else
                assert_memory_equal(d0, rx[0], size[0]);
            free(d0);
            free(d1);
        }
        for (int f = 0; f < 2; f++) {
            free(blk[f]);
            pcache_builder_free(bf[f]);
        }
    }
}

/* ---- review4 reproducers (h-review4), with the fixed behaviour ---- */

/* Finding 1: apply in place once (as pcache_image_bind does), then apply
 * the same struct to a fresh copy (dst != seg->base): the implicit
 * addends are read back at seg->base as the object knows them to be
 * (relocated with B and client): the right values. */
static void test_review4_copy_after_in_place(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t rx_size;
    void *blk;
    uint8_t *rx, *dst;
    pcache_segment seg;
    pcache_report rep;
    uint64_t now[3] = {EX_CLIENT, 0, 0};
    (void)state;

    rx = example_rx(&b, &id, &rx_size, &blk);
    assert_int_equal(resurrect(&seg, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(pcache_reloc_apply(&seg, rx, EX_B, resolve, now, &rep), PCACHE_OK);
    assert_int_equal(ld64(rx + 0x1c0 + 0x30), 0x7F3A00001148ull);
    dst = malloc(rx_size);
    memcpy(dst, rx, rx_size);
    assert_int_equal(pcache_reloc_apply(&seg, dst, EX_B, resolve, now, &rep), PCACHE_OK);
    assert_int_equal(ld64(dst + 0x1c0 + 0x30), 0x7F3A00001148ull);
    ex_assert_values(dst, EX_B, EX_CLIENT);
    free(dst);
    free(blk);
    pcache_builder_free(b);
}

/* Finding 2: no resume cursor any more.  A second, valid segment
 * resurrected at the same address with its .crelocs at the same place and
 * of the same size gives its own records. */
static void test_review4_stale_cursor(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t rx_size;
    void *blk;
    uint8_t *rx;
    pcache_segment a, c;
    pcache_report rep;
    pcache_reloc r;
    (void)state;

    rx = example_rx(&b, &id, &rx_size, &blk);
    assert_int_equal(resurrect(&a, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(pcache_segment_reloc(&a, 3, &r), PCACHE_OK);
    assert_int_equal(r.site_offset, 0x2c);
    /* another segment in the same bytes: the first run's gap 9 -> 1, so
     * every record is 8 bytes earlier (one byte changed, re-signed) */
    assert_int_equal(rx[0x200 + 96 + 1], 0x09);
    rx[0x200 + 96 + 1] = 0x01;
    resign_section(rx, 1);
    assert_int_equal(resurrect(&c, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(pcache_segment_reloc(&c, 3, &r), PCACHE_OK);
    assert_int_equal(r.site_offset, 0x24);
    assert_int_equal(pcache_segment_reloc(&c, 0, &r), PCACHE_OK);
    assert_int_equal(r.site_offset, 0x01);
    assert_int_equal(pcache_segment_reloc(&c, 3, &r), PCACHE_OK);
    assert_int_equal(r.site_offset, 0x24);
    /* the first struct no longer matches its bytes (the trailer changed) */
    assert_int_equal(pcache_segment_reloc(&a, 3, &r), PCACHE_E_SEGMENT_CHANGED);
    free(blk);
    pcache_builder_free(b);
}

/* Held (pinned): a segment stating minor 1 with .crelocs: a 1.1 reader
 * refuses it (type 4 unknown critical); this reader accepts it, as it
 * accepts any minor (2.3 is a writer's rule).  Both .relocs and .crelocs:
 * refused. */
static void test_review4_minor1_and_both(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t rx_size;
    void *blk;
    uint8_t *rx;
    pcache_segment seg;
    pcache_report rep;
    (void)state;

    rx = example_rx(&b, &id, &rx_size, &blk);
    st16(rx + SH_MINOR, 1);
    test_resign_header(rx);
    assert_int_equal(resurrect(&seg, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    segment_reader_minor = 1;
    assert_int_equal(resurrect(&seg, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep),
                     PCACHE_E_UNKNOWN_CRITICAL);
    segment_reader_minor = PCACHE_FORMAT_MINOR;
    /* .anchors (section 2) renamed and retyped .relocs: both tables */
    st16(rx + SH_MINOR, 2);
    memset(entry(rx, 2) + SE_NAME, 0, SE_NAME_SIZE);
    memcpy(entry(rx, 2) + SE_NAME, ".relocs", 7);
    st16(entry(rx, 2) + SE_TYPE, PCACHE_TYPE_RELOCS);
    test_resign_segment(rx);
    assert_int_equal(resurrect(&seg, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_E_RELOC_TABLE);
    assert_non_null(strstr(rep.message, "not both"));
    free(blk);
    pcache_builder_free(b);
}

/* Hostile run streams against the inline decoder, on the worked
 * example's segment (one site section "code", 64 bytes; shapes: 0 abs64,
 * 1 rel32; 6 records), each in a buffer of exactly its size (ASan).
 * records: the record count the decoder is held to (0: the example's 6);
 * shape1_site: shape 1's site section, changed in a copy of the shapes. */
static void test_review4_hostile_streams(void **state)
{
    static const struct {
        const char *what;
        uint8_t bytes[32];
        size_t n;
        creloc_err want_last; /* of the last run decoded */
        unsigned ok_runs;     /* runs decoded before it */
        uint64_t records;
        int shape1_site;
    } cases[] = {
        {"gap 2^64-1 in 10 bytes", {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 11, CRUN_BOUNDS, 0, 0, 0},
        {"gap, tenth byte 2 (65 bits)", {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 11, CRUN_VARINT, 0, 0, 0},
        {"gap, eleven bytes", {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00}, 12, CRUN_VARINT, 0, 0, 0},
        {"gap, 10 bytes overlong zero", {0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 11, CRUN_VARINT, 0, 0, 0},
        {"gap never ends", {0x00, 0x80, 0x80, 0x80}, 4, CRUN_VARINT, 0, 0, 0},
        {"h never ends", {0x80}, 1, CRUN_VARINT, 0, 0, 0},
        {"h alone", {0x00}, 1, CRUN_VARINT, 0, 0, 0},
        {"h 2^64-1 (shape index 2^62-1, a group of 2)", {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x00}, 14, CRUN_SHAPE_INDEX, 0, 0, 0},
        {"count-2 = 2^64-1", {0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00}, 13, CRUN_COUNT, 0, 0, 0},
        {"count-2 = 2^64-3 (count 2^64-1)", {0x01, 0x00, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00}, 13, CRUN_COUNT, 0, 0, 0},
        {"count 2^64-1 within a huge record count", {0x01, 0x00, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00}, 13, CRUN_BOUNDS, 0, UINT64_MAX, 0},
        {"count 2^61+2: count*8 wraps", {0x01, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x00}, 12, CRUN_BOUNDS, 0, UINT64_MAX, 0},
        {"count truncated", {0x01, 0x00, 0x82}, 3, CRUN_VARINT, 0, 0, 0},
        {"pad missing", {0x01, 0x00, 0x00}, 3, CRUN_VARINT, 0, 0, 0},
        {"count not in shortest form", {0x01, 0x00, 0x80, 0x00, 0x00}, 5, CRUN_VARINT, 0, 0, 0},
        {"pad 2^64-1: period wraps", {0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 13, CRUN_BOUNDS, 0, 0, 0},
        {"pad 2^64-9: period 2^64-1", {0x01, 0x00, 0x00, 0xf7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 13, CRUN_BOUNDS, 0, 0, 0},
        {"pad: the second field ends at the section end", {0x01, 0x00, 0x00, 0x30}, 4, CRUN_END, 1, 0, 0},
        {"pad: one past", {0x01, 0x00, 0x00, 0x31}, 4, CRUN_BOUNDS, 0, 0, 0},
        {"count 3 of period 0x1c: ends at 0x40", {0x01, 0x00, 0x01, 0x14}, 4, CRUN_END, 1, 0, 0},
        {"count 3 of period 0x1d: past", {0x01, 0x00, 0x01, 0x15}, 4, CRUN_BOUNDS, 0, 0, 0},
        {"prev end + gap wraps", {0x00, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 13, CRUN_BOUNDS, 1, 0, 0},
        {"prev end + gap = 2^64 - 0x11 + 0x11", {0x00, 0x09, 0x00, 0xef, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 13, CRUN_BOUNDS, 1, 0, 0},
        {"more runs than records", {0}, 14, CRUN_COUNT, 6, 0, 0},
        {"a field ends exactly at the section end", {0x00, 0x38}, 2, CRUN_END, 1, 0, 0},
        {"a field one past", {0x00, 0x39}, 2, CRUN_BOUNDS, 0, 0, 0},
        {"gap 0 after gap 0 (adjacent, other shape)", {0x00, 0x00, 0x04, 0x00}, 4, CRUN_END, 2, 0, 0},
        {"group: m-2 = 2^64-1", {0x02, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 12, CRUN_COUNT, 0, 0, 0},
        {"group: m 2^63, more than the records", {0x02, 0x00, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 11, CRUN_COUNT, 0, 0, 0},
        {"group: m 1000 within a huge record count, 1 member there", {0x02, 0x00, 0xe6, 0x07, 0x01, 0x00}, 6, CRUN_VARINT, 0, UINT64_MAX, 0},
        {"group: m 3 x count 3 > 6 records", {0x03, 0x00, 0x01, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00}, 9, CRUN_COUNT, 0, 0, 0},
        {"group: member shape index past", {0x02, 0x00, 0x00, 0x7f, 0x00}, 5, CRUN_SHAPE_INDEX, 0, 0, 0},
        {"group: member shape index 2^64-1", {0x02, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00}, 14, CRUN_SHAPE_INDEX, 0, 0, 0},
        {"group: member distance truncated", {0x02, 0x00, 0x00, 0x01}, 4, CRUN_VARINT, 0, 0, 0},
        {"group: member distance not shortest", {0x02, 0x00, 0x00, 0x01, 0x84, 0x00}, 6, CRUN_VARINT, 0, 0, 0},
        {"group: member ends at the section end", {0x02, 0x00, 0x00, 0x01, 0x34}, 5, CRUN_END, 1, 0, 0},
        {"group: member one past", {0x02, 0x00, 0x00, 0x01, 0x35}, 5, CRUN_BOUNDS, 0, 0, 0},
        {"group: member distance 2^64-1", {0x02, 0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 14, CRUN_BOUNDS, 0, 0, 0},
        {"group: members of different site sections", {0x02, 0x00, 0x00, 0x01, 0x00}, 5, CRUN_MEMBER_SITE, 0, 0, 2},
        {"group of 2 x 2, period 0x20: the last ends at 0x2C", {0x03, 0x00, 0x00, 0x14, 0x00, 0x01, 0x00}, 7, CRUN_END, 1, 0, 0},
        {"group of 2 x 3, period 0x20: past", {0x03, 0x00, 0x01, 0x14, 0x00, 0x01, 0x00}, 7, CRUN_BOUNDS, 0, 0, 0},
    };
    pcache_identity id;
    pcache_builder *b;
    uint64_t rx_size;
    void *blk;
    uint8_t *rx;
    pcache_segment seg;
    pcache_report rep;
    reloc_tables t;
    (void)state;

    rx = example_rx(&b, &id, &rx_size, &blk);
    assert_int_equal(resurrect(&seg, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(reloc_tables_find(&seg, &t, NULL), PCACHE_OK);
    assert_true(t.compact);
    assert_int_equal(t.nrelocs, EX_N);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint8_t *buf = malloc(cases[k].n); /* exactly n bytes: ASan catches a read past */
        uint8_t shapes[2 * CR_SHAPE_SIZE];
        reloc_tables h = t;
        creloc_cursor c;
        creloc_run r;
        creloc_err e;
        unsigned runs = 0;
        memcpy(buf, cases[k].bytes, cases[k].n);
        memcpy(shapes, t.shapes, sizeof shapes);
        if (cases[k].shape1_site)
            st16(shapes + CR_SHAPE_SIZE + CS_SITE_SECTION, (uint16_t)cases[k].shape1_site);
        h.shapes = shapes;
        h.stream = buf;
        h.stream_end = buf + cases[k].n;
        if (cases[k].records)
            h.nrelocs = cases[k].records;
        creloc_begin(&h, &c);
        while ((e = creloc_next(&seg, &h, &c, &r)) == CRUN_OK) {
            assert_true(r.first + (r.count - 1) * r.period + r.extent <= r.site_size);
            assert_true(r.period >= r.extent);
            runs++;
        }
        if (e != cases[k].want_last || runs != cases[k].ok_runs)
            fail_msg("%s: %u runs then %s (want %u then %s)", cases[k].what, runs, creloc_err_text(e),
                     cases[k].ok_runs, creloc_err_text(cases[k].want_last));
        free(buf);
    }
    free(blk);
    pcache_builder_free(b);
}

/* Finding 3: pcache_segment_reloc_count() is the count resurrect checked,
 * kept in the sealed struct: a .crelocs header changed after resurrect
 * (2^60 records) changes nothing. */
static void test_review4_count_after_change(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t rx_size;
    void *blk;
    uint8_t *rx;
    pcache_segment seg;
    pcache_report rep;
    pcache_reloc r;
    pcache_reloc_iter it;
    uint64_t n = 0;
    (void)state;

    rx = example_rx(&b, &id, &rx_size, &blk);
    assert_int_equal(resurrect(&seg, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(pcache_segment_reloc_count(&seg), EX_N);
    st64(rx + 0x200 + CR_RECORD_COUNT, 1ull << 60);
    assert_int_equal(pcache_segment_reloc_count(&seg), EX_N);
    assert_int_equal(pcache_segment_reloc(&seg, 1ull << 59, &r), PCACHE_E_NOT_FOUND);
    assert_int_equal(pcache_segment_reloc(&seg, EX_N, &r), PCACHE_E_NOT_FOUND);
    /* the iterator stops at the sealed count */
    assert_int_equal(pcache_reloc_iter_init(&it, &seg), PCACHE_OK);
    while (pcache_reloc_iter_next(&it, &r) == PCACHE_OK)
        n++;
    assert_int_equal(n, EX_N);
    free(blk);
    pcache_builder_free(b);
}

/* A caller's iterator whose library-internal words were overwritten: next
 * reads nothing outside the segment (ASan, valgrind) and gives a record
 * of the segment or an error, never a crash. */
static void test_iterator_overwritten(void **state)
{
    static const uint64_t values[] = {0, 1, 8, 0x40, 0xffffffffffffffffull, 0x8000000000000000ull, 0x100000};
    pcache_identity id;
    pcache_builder *b;
    uint64_t rx_size;
    void *blk;
    uint8_t *rx;
    pcache_segment seg;
    pcache_report rep;
    pcache_reloc r;
    (void)state;

    rx = example_rx(&b, &id, &rx_size, &blk);
    assert_int_equal(resurrect(&seg, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    for (size_t w = 0; w < sizeof ((pcache_reloc_iter *)0)->internal / sizeof(uint64_t); w++)
        for (size_t v = 0; v < sizeof values / sizeof values[0]; v++)
            for (unsigned skip = 0; skip < 4; skip++) {
                pcache_reloc_iter it;
                unsigned got = 0;
                assert_int_equal(pcache_reloc_iter_init(&it, &seg), PCACHE_OK);
                for (unsigned k = 0; k < skip; k++)
                    assert_int_equal(pcache_reloc_iter_next(&it, &r), PCACHE_OK);
                it.internal[w] = values[v];
                while (got < 2 * EX_N && pcache_reloc_iter_next(&it, &r) == PCACHE_OK) {
                    assert_true(r.site_offset < 64);
                    got++;
                }
            }
    free(blk);
    pcache_builder_free(b);
}

/* Finding 1, read side: after an apply in place, records read as
 * resurrect read them (the addend recovered from the relocated field). */
static void test_review4_read_after_in_place(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t rx_size;
    void *blk;
    uint8_t *rx;
    pcache_segment seg;
    pcache_report rep;
    pcache_reloc before[EX_N], r;
    uint64_t now[3] = {EX_CLIENT, 0, 0};
    (void)state;

    rx = example_rx(&b, &id, &rx_size, &blk);
    assert_int_equal(resurrect(&seg, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    for (uint64_t i = 0; i < EX_N; i++)
        assert_int_equal(pcache_segment_reloc(&seg, i, &before[i]), PCACHE_OK);
    assert_int_equal(before[4].target_offset, 8);
    assert_int_equal(pcache_reloc_apply(&seg, rx, EX_B, resolve, now, &rep), PCACHE_OK);
    for (uint64_t i = 0; i < EX_N; i++) {
        assert_int_equal(pcache_segment_reloc(&seg, i, &r), PCACHE_OK);
        assert_same_reloc(&r, &before[i], i);
        assert_int_equal(r.target_offset, before[i].target_offset);
    }
    assert_reads_agree(&seg, EX_N);
    free(blk);
    pcache_builder_free(b);
}

/* Finding 4: reading every record by index is O(runs) each (quadratic
 * over a table of single-record runs, documented); the iterator is linear:
 * 40000 single-record runs read in one pass, each record the one the index
 * read gives (spot-checked). */
static void test_review4_iterator_linear(void **state)
{
    enum { N = 40000 };
    static uint8_t big[N * 16], tgt[64];
    pcache_identity id;
    pcache_builder *bld;
    uint8_t *ro;
    void *blk;
    uint64_t size, n = 0;
    pcache_segment seg;
    pcache_report rep;
    pcache_reloc_iter it;
    pcache_reloc r, q;
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&bld, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_set_reloc_form(bld, PCACHE_RELOC_FORM_COMPACT), PCACHE_OK);
    assert_int_equal(pcache_builder_add(bld, PCACHE_RO, "tgt", tgt, sizeof tgt, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(bld, PCACHE_RO, "big", big, sizeof big, 8, 0), PCACHE_OK);
    /* gaps of 8 or 0 bytes, by a bit of i * 7919: no period */
    for (uint64_t i = 0, off = 0; i < N; i++) {
        pcache_patch p = {0};
        p.cls = PCACHE_RO;
        p.section = "big";
        p.offset = off;
        p.kind = PCACHE_RELOC_ABS64;
        p.target_kind = PCACHE_TARGET_SECTION;
        p.target_class = PCACHE_RO;
        p.target_section = "tgt";
        add(bld, p);
        off += 8 + ((i * 7919 >> 3) & 1) * 8;
    }
    ro = test_persist(bld, PCACHE_RO, F_RO, &size, &blk);
    assert_int_equal(resurrect(&seg, ro, size, PCACHE_RO, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(pcache_reloc_iter_init(&it, &seg), PCACHE_OK);
    while (pcache_reloc_iter_next(&it, &r) == PCACHE_OK) {
        if (n % 4999 == 0 || n == N - 1) {
            assert_int_equal(pcache_segment_reloc(&seg, n, &q), PCACHE_OK);
            assert_same_reloc(&r, &q, n);
        }
        n++;
    }
    assert_int_equal(n, N);
    free(blk);
    pcache_builder_free(bld);
}


/* Review 5, finding 1 (medium): the state of implicit addends lives in a
 * plain struct that callers may copy (pcache_segment is a value type; the
 * seal does not bind it to its address).  A copy taken while the fields
 * were "applied at B1" stays sealed and keeps saying so after the
 * original relocates the same bytes in place elsewhere (B2).  An apply in
 * place through the stale copy then trusts its state (check_in_place runs
 * only for pristine fields, lib/reloc_apply.c apply_compact) and computes
 * every addend as v - S(B1) from fields that hold S(B2) + a: it returns
 * PCACHE_OK and writes wrong pointers.  9.10 says "in place, the check
 * above does" refuse bytes relocated through another struct.  Expected:
 * refused with nothing written, or the right values. */
static void test_review5_stale_struct_copy_in_place(void **state)
{
    static const pcache_validation levels[] = {PCACHE_VALIDATE_FULL, PCACHE_VALIDATE_LAZY, PCACHE_VALIDATE_HEADER};
    (void)state;
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        pcache_identity id;
        pcache_builder *b;
        uint64_t rx_size;
        void *blk;
        uint8_t *rx, *before;
        pcache_segment seg, stale;
        pcache_report rep;
        pcache_status st;
        uint64_t now[3] = {EX_CLIENT, 0, 0};
        const uint64_t b2 = EX_B + 0x10000000ull;

        rx = example_rx(&b, &id, &rx_size, &blk);
        assert_int_equal(resurrect(&seg, rx, rx_size, PCACHE_RX, &id, levels[l], &rep), PCACHE_OK);
        assert_int_equal(pcache_reloc_apply(&seg, rx, EX_B, resolve, now, &rep), PCACHE_OK);
        ex_assert_values(rx, EX_B, EX_CLIENT);
        stale = seg; /* applied at EX_B */
        assert_int_equal(pcache_reloc_apply(&seg, rx, b2, resolve, now, &rep), PCACHE_OK);
        ex_assert_values(rx, b2, EX_CLIENT);
        before = malloc(rx_size);
        memcpy(before, rx, rx_size);
        st = pcache_reloc_apply(&stale, rx, EX_B, resolve, now, &rep);
        /* the fix: refused, the bytes as they were */
        assert_int_equal(st, PCACHE_E_SECTION_CHECKSUM);
        assert_memory_equal(rx, before, rx_size);
        /* a copy too: the stale struct would read b2's values as EX_B's */
        {
            uint8_t *copy = malloc(rx_size);
            memcpy(copy, rx, rx_size);
            assert_int_equal(pcache_reloc_apply(&stale, copy, EX_B, resolve, now, &rep), PCACHE_E_SECTION_CHECKSUM);
            assert_memory_equal(copy, before, rx_size);
            /* the struct that did the last apply still applies to a copy, right */
            assert_int_equal(pcache_reloc_apply(&seg, copy, EX_B, resolve, now, &rep), PCACHE_OK);
            ex_assert_values(copy, EX_B, EX_CLIENT);
            free(copy);
        }
        free(before);
        free(blk);
        pcache_builder_free(b);
    }
}

/* Review 5, finding 2 (low): pcache_reloc_iter_next promises
 * PCACHE_E_SEGMENT_CHANGED when *it "is not one init made for seg", and
 * checks the pointers it keeps, but not that the cached member's kind and
 * width are its shape's (lib/creloc.c pcache_reloc_iter_next checks
 * mb.shape and mb.shape_index only; creloc_record bounds the read by
 * mb->width and loads by mb->kind).  An iterator whose internal words were
 * changed (kind abs64, width 1, the run placed at the segment's last
 * byte) makes an implicit record's patch_load read 8 bytes where 1 was
 * checked: 7 bytes past the segment (ASan: heap-buffer-overflow).  The
 * copy of the library's private state below mirrors lib/creloc.c. */
typedef struct r5_iter_state {
    const uint8_t *base, *stream, *stream_end;
    creloc_cursor c;
    creloc_run run;
    creloc_member mb;
    const uint8_t *mp;
    uint64_t rep, j;
    int need_run;
} r5_iter_state;

static void test_review5_forged_iterator_reads_past_segment(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t rx_size;
    void *blk;
    uint8_t *rx, *exact;
    pcache_segment seg;
    pcache_report rep;
    pcache_reloc r;
    pcache_reloc_iter it;
    r5_iter_state st;
    pcache_status s;
    (void)state;

    rx = example_rx(&b, &id, &rx_size, &blk);
    exact = malloc(rx_size); /* exactly the segment: a read past it is caught */
    memcpy(exact, rx, rx_size);
    assert_int_equal(resurrect(&seg, exact, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(pcache_reloc_iter_init(&it, &seg), PCACHE_OK);
    for (int k = 0; k < 3; k++) /* records 0, 1, 2: now inside the group run, at member 1 (rel32, implicit) */
        assert_int_equal(pcache_reloc_iter_next(&it, &r), PCACHE_OK);
    memcpy(&st, it.internal, sizeof st);
    assert_int_equal(st.need_run, 0);
    assert_int_equal(st.j, 1);
    assert_int_equal(st.mb.shape_index, 1);
    st.run.site_offset = seg.size - 1;
    st.run.site_size = 1;
    st.run.first = 0;
    st.rep = 0;
    st.mb.off = 0;
    st.mb.width = 1;
    st.mb.kind = PCACHE_RELOC_ABS64;
    memcpy(it.internal, &st, sizeof st);
    s = pcache_reloc_iter_next(&it, &r); /* reads exact[size - 1 .. size + 7) */
    assert_int_equal(s, PCACHE_E_SEGMENT_CHANGED);
    free(exact);
    free(blk);
    pcache_builder_free(b);
}

/* Review 5, finding 3 (low): apply treats any dst that overlaps seg->base
 * as "in place" (lib/reloc_apply.c apply_compact, in_place), reads each
 * implicit addend at seg->base + at and writes dst + at.  With dst a few
 * bytes before seg->base (an overlapping buffer, which reloc.h's
 * "dst overlapping seg->base" calls in place), a write to dst + at lands on
 * seg->base + at - 16, over an implicit field read later, and seg is then
 * marked applied at B although its fields hold neither the written values
 * nor the addends.  In this image the write for the abs64 at code + 0x09
 * lands on the last bytes of seg's own section table (base + 0x1b9):
 * apply returns PCACHE_OK, then re-seals (reloc_seal with "verified",
 * taking the stored table checksum for bytes it just changed), and every
 * later call on seg fails PCACHE_E_SEGMENT_CHANGED (count 0).  Expected:
 * an overlapping dst other than seg->base
 * refused (PCACHE_E_INVALID_ARGUMENT), or dst receiving the right values
 * and later applies to a copy still right. */
static void test_review5_overlapping_dst(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t rx_size;
    void *blk;
    uint8_t *rx, *buf, *base, *dst, *copy;
    pcache_segment seg;
    pcache_report rep;
    pcache_status s;
    uint64_t now[3] = {EX_CLIENT, 0, 0};
    (void)state;

    rx = example_rx(&b, &id, &rx_size, &blk);
    buf = aligned_alloc(4096, (rx_size + 16 + 4095) / 4096 * 4096);
    base = buf + 16;
    dst = buf;
    memcpy(base, rx, rx_size);
    assert_int_equal(resurrect(&seg, base, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    s = pcache_reloc_apply(&seg, dst, EX_B, resolve, now, &rep);
    assert_int_equal(s, PCACHE_E_INVALID_ARGUMENT); /* the fix */
    if (s == PCACHE_OK) {
        /* the copy at dst got the right values ... */
        ex_assert_values(dst, EX_B, EX_CLIENT);
        /* ... and seg still gives the right values to a fresh copy */
        copy = malloc(rx_size);
        memcpy(copy, rx, rx_size);
        s = pcache_reloc_apply(&seg, copy, EX_B, resolve, now, &rep);
        if (s != PCACHE_OK)
            fail_msg("apply to a copy after the overlapping apply: %d (%s)", (int)s, rep.message);
        ex_assert_values(copy, EX_B, EX_CLIENT);
        free(copy);
    } else {
        assert_int_equal(s, PCACHE_E_INVALID_ARGUMENT);
    }
    free(buf);
    free(blk);
    pcache_builder_free(b);
}

/* Review 5: differential test of the writer's periodic groups (m up to 8,
 * pads, holes, kinds mixed, addends that do and do not fit their field):
 * the same patches written in both forms decode to the same records (the
 * sum target_offset + addend, 9.10) and apply to the same bytes, to a
 * copy and in place. */
static void test_review5_differential_groups(void **state)
{
    enum { CODE = 4096 };
    static uint8_t code_buf[CODE], tgt_buf[256];
    static const pcache_reloc_kind kinds[] = {PCACHE_RELOC_ABS64, PCACHE_RELOC_REL32, PCACHE_RELOC_ABS32,
                                              PCACHE_RELOC_REL8};
    (void)state;
    rnd_state = 0x5eed5eed12345ull;
    unsigned applied = 0;
    for (int iter = 0; iter < 300; iter++) {
        pcache_builder *bf[2];
        uint8_t *rx[2], *cp[2];
        void *blk[2];
        uint64_t size[2], n = 0;
        pcache_segment seg[2];
        pcache_report rep;
        pcache_identity id;
        uint64_t seed = rnd(), base = BASE + (rnd() % 0x100) * 0x1000;
        uint64_t now[4] = {CLIENT_NOW + (rnd() % 0x1000), 0, 0, 0x10000};

        for (int f = 0; f < 2; f++) {
            uint64_t ro_size, at = rnd_state = seed, pos;
            (void)at;
            memset(code_buf, 0, sizeof code_buf);
            test_fill(tgt_buf, sizeof tgt_buf, 7);
            test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
            assert_int_equal(pcache_builder_new(&bf[f], &id), PCACHE_OK);
            assert_int_equal(pcache_builder_set_reloc_form(bf[f], f ? PCACHE_RELOC_FORM_RECORDS : PCACHE_RELOC_FORM_COMPACT), PCACHE_OK);
            assert_int_equal(pcache_builder_add(bf[f], PCACHE_RO, "table", tgt_buf, sizeof tgt_buf, 8, 0), PCACHE_OK);
            assert_int_equal(pcache_builder_add(bf[f], PCACHE_RX, "code", code_buf, sizeof code_buf, 16, 0), PCACHE_OK);
            assert_int_equal(pcache_builder_set_anchor(bf[f], "client", CLIENT_AT_PERSIST), PCACHE_OK);
            n = 0;
            pos = rnd() % 16;
            while (pos < CODE - 256) {
                /* a pattern of m members, repeated reps times with pad */
                unsigned m = 1 + (unsigned)(rnd() % 8), reps = 1 + (unsigned)(rnd() % 12);
                uint64_t off[8], pad = rnd() % 3 == 0 ? rnd() % 9 : 0, ext = 0;
                pcache_reloc_kind k[8];
                for (unsigned j = 0; j < m; j++) {
                    k[j] = kinds[rnd() % 3]; /* rel8: test_property_both_forms */
                    off[j] = ext + (rnd() % 3 == 0 ? rnd() % 5 : 0);
                    ext = off[j] + (k[j] == PCACHE_RELOC_ABS64 ? 8 : k[j] == PCACHE_RELOC_REL8 ? 1 : 4);
                }
                for (unsigned r = 0; r < reps && pos + ext < CODE; r++, pos += ext + pad) {
                    for (unsigned j = 0; j < m; j++) {
                        pcache_patch p;
                        uint64_t toff = rnd() % 4 == 0 ? rnd() % 256 : 0x20;
                        int64_t add_ = rnd() % 5 == 0 ? -(int64_t)(rnd() % 0x200) : (int64_t)(rnd() % 16);
                        if (rnd() % 20 == 0) /* a hole: this repetition lacks a member */
                            continue;
                        if (k[j] == PCACHE_RELOC_ABS64 || k[j] == PCACHE_RELOC_ABS32) {
                            if (k[j] == PCACHE_RELOC_ABS64)
                                p = to_table(pos + off[j], k[j], toff, add_);
                            else
                                p = to_anchor(pos + off[j], k[j], 0, "low", toff, add_ < 0 ? 0 : add_);
                        } else {
                            p = to_anchor(pos + off[j], k[j], k[j] == PCACHE_RELOC_REL8 ? 1 : 4, "near",
                                          k[j] == PCACHE_RELOC_REL8 ? (uint64_t)(pos + off[j]) % 64 : toff,
                                          k[j] == PCACHE_RELOC_REL8 ? 0 : add_);
                        }
                        add(bf[f], p);
                        n++;
                    }
                }
                pos += rnd() % 40;
            }
            assert_int_equal(pcache_builder_set_anchor(bf[f], "near", NEAR_AT_PERSIST), PCACHE_OK);
            assert_int_equal(pcache_builder_set_anchor(bf[f], "low", LOW_AT_PERSIST), PCACHE_OK);
            assert_int_equal(pcache_builder_size(bf[f], PCACHE_RO, F_RO, &ro_size), PCACHE_OK);
            rx[f] = test_persist(bf[f], PCACHE_RX, F_RX, &size[f], &blk[f]);
            assert_int_equal(resurrect(&seg[f], rx[f], size[f], PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
        }
        assert_int_equal(pcache_segment_reloc_count(&seg[0]), n);
        assert_int_equal(pcache_segment_reloc_count(&seg[1]), n);
        {
            pcache_reloc_iter it[2];
            pcache_reloc r[2];
            assert_int_equal(pcache_reloc_iter_init(&it[0], &seg[0]), PCACHE_OK);
            assert_int_equal(pcache_reloc_iter_init(&it[1], &seg[1]), PCACHE_OK);
            for (uint64_t i = 0; i < n; i++) {
                assert_int_equal(pcache_reloc_iter_next(&it[0], &r[0]), PCACHE_OK);
                assert_int_equal(pcache_reloc_iter_next(&it[1], &r[1]), PCACHE_OK);
                if (r[0].kind != r[1].kind || r[0].site_offset != r[1].site_offset ||
                    r[0].target_kind != r[1].target_kind || r[0].pc_offset != r[1].pc_offset ||
                    r[0].target_offset + (uint64_t)r[0].addend != r[1].target_offset + (uint64_t)r[1].addend)
                    fail_msg("iter %d record %" PRIu64 ": compact kind %d site 0x%" PRIx64 " sum 0x%" PRIx64
                             ", records kind %d site 0x%" PRIx64 " sum 0x%" PRIx64, iter, i, r[0].kind,
                             r[0].site_offset, r[0].target_offset + (uint64_t)r[0].addend, r[1].kind, r[1].site_offset,
                             r[1].target_offset + (uint64_t)r[1].addend);
            }
            assert_int_equal(pcache_reloc_iter_next(&it[0], &r[0]), PCACHE_E_NOT_FOUND);
        }
        now[2] = near_now(rx[1]) - 5 + (rnd() % 3);
        now[2] = BASE + F_RX + 0x800; /* rel8 fields reach near: within 127 of every site? not always */
        for (int f = 0; f < 2; f++) {
            int ci = section_index(rx[f], "code");
            cp[f] = malloc(size[f]);
            memcpy(cp[f], rx[f], size[f]);
            rep.status = pcache_reloc_apply(&seg[f], cp[f], base, resolve, now, &rep);
            if (f == 1 && rep.status != PCACHE_OK)
                break;
            (void)ci;
        }
        {
            pcache_status s0 = pcache_reloc_apply(&seg[0], cp[0], base, resolve, now, &rep);
            pcache_status s1 = pcache_reloc_apply(&seg[1], cp[1], base, resolve, now, &rep);
            assert_int_equal(s0, s1);
            if (s0 != PCACHE_OK && iter < 3)
                print_message("iter %d: %s\n", iter, rep.message);
            if (s0 == PCACHE_OK) {
                const uint8_t *c0 = cp[0] + ld64(entry(rx[0], section_index(rx[0], "code")) + SE_OFFSET);
                const uint8_t *c1 = cp[1] + ld64(entry(rx[1], section_index(rx[1], "code")) + SE_OFFSET);
                assert_int_equal(ld64(entry(rx[0], section_index(rx[0], "code")) + SE_OFFSET),
                                 ld64(entry(rx[1], section_index(rx[1], "code")) + SE_OFFSET));
                assert_memory_equal(c0, c1, CODE);
                applied++;
                /* in place: the same bytes */
                assert_int_equal(pcache_reloc_apply(&seg[0], rx[0], base, resolve, now, &rep), PCACHE_OK);
                assert_memory_equal(rx[0] + (c0 - cp[0]), c1, CODE);
                assert_int_equal(pcache_reloc_apply(&seg[0], rx[0], base, resolve, now, &rep), PCACHE_OK);
                assert_memory_equal(rx[0] + (c0 - cp[0]), c1, CODE);
            }
        }
        for (int f = 0; f < 2; f++) {
            free(cp[f]);
            free(blk[f]);
            pcache_builder_free(bf[f]);
        }
    }
    print_message("differential: %u of 300 images applied and compared\n", applied);
    assert_true(applied > 200);
}

/* ---- review6 (h-review6): the review5 fix (efc5c88) examined ---- */

/* An rx image with implicit shapes in two site sections ("code" and
 * "data": abs64 to ro table, rel32 to client) and explicit ones in both
 * (abs32 to "low" with addend -16: the sum does not fit an abs32 field),
 * in byte order bo. */
static uint8_t *r6_image(pcache_byte_order bo, pcache_builder **bp, pcache_identity *id, uint64_t *size, void **blk)
{
    static uint8_t tbl[64], code_b[128], data_b[96];
    uint64_t ro_size;

    memset(tbl, 0, sizeof tbl);
    test_fill(code_b, sizeof code_b, 61);
    test_fill(data_b, sizeof data_b, 62);
    test_identity(id, PCACHE_CHECKSUM_XXH3_64);
    id->byte_order = bo;
    assert_int_equal(pcache_builder_new(bp, id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(*bp, PCACHE_RO, "table", tbl, sizeof tbl, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(*bp, PCACHE_RX, "code", code_b, sizeof code_b, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(*bp, PCACHE_RX, "data", data_b, sizeof data_b, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_anchor(*bp, "client", CLIENT_AT_PERSIST), PCACHE_OK);
    assert_int_equal(pcache_builder_set_anchor(*bp, "low", LOW_AT_PERSIST), PCACHE_OK);
    for (int sec = 0; sec < 2; sec++) {
        const char *name = sec ? "data" : "code";
        for (uint64_t i = 0; i < 4; i++) {
            pcache_patch p = to_table(24 * i, PCACHE_RELOC_ABS64, 8 * i + (uint64_t)sec, 0);
            p.section = name;
            add(*bp, p);
            p = to_anchor(24 * i + 8, PCACHE_RELOC_REL32, 4, "client", 0x100 + 16 * i, (int64_t)sec);
            p.section = name;
            add(*bp, p);
            p = to_anchor(24 * i + 16, PCACHE_RELOC_ABS32, 0, "low", 0, -16 - (int64_t)i);
            p.section = name;
            add(*bp, p);
        }
    }
    assert_int_equal(pcache_builder_size(*bp, PCACHE_RO, F_RO, &ro_size), PCACHE_OK);
    return test_persist(*bp, PCACHE_RX, F_RX, size, blk);
}

/* What a fresh struct over the pristine bytes writes for base b: the
 * right bytes, the whole segment. */
static uint8_t *r6_oracle(const uint8_t *pristine, uint64_t size, const pcache_identity *id, uint64_t b,
                          uint64_t *now)
{
    pcache_segment fresh;
    pcache_report rep;
    uint8_t *src = malloc(size), *dst = malloc(size);
    memcpy(src, pristine, size);
    memcpy(dst, pristine, size);
    assert_int_equal(resurrect(&fresh, src, size, PCACHE_RX, id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(pcache_reloc_apply(&fresh, dst, b, resolve, now, &rep), PCACHE_OK);
    free(src);
    return dst;
}

static int r6_has_implicit_in(const uint8_t *rx, const char *a, const char *b2)
{
    int ci = section_index(rx, ".crelocs"), ia = section_index(rx, a), ib = section_index(rx, b2), fa = 0, fb = 0;
    const uint8_t *t;
    uint64_t n;
    if (ci < 0)
        return 0;
    t = rx + ld64(entry((uint8_t *)rx, ci) + SE_OFFSET);
    n = ld64(t + 8);
    for (uint64_t k = 0; k < n; k++) {
        const uint8_t *sh = t + CR_HEADER_SIZE + CR_SHAPE_SIZE * k;
        if (sh[CS_ADDEND_RULE] == CR_ADDEND_IMPLICIT) {
            fa |= ld16(sh + CS_SITE_SECTION) == ia;
            fb |= ld16(sh + CS_SITE_SECTION) == ib;
        }
    }
    return fa && fb;
}

/* Held (regression): a stale copy of an applied struct is refused in
 * place and to a copy, at every level, both byte orders, implicit shapes
 * in two sections beside explicit ones; the struct that did the last
 * apply stays right, in place and to a copy. */
static void test_review6_stale_applied_matrix(void **state)
{
    static const pcache_validation levels[] = {PCACHE_VALIDATE_FULL, PCACHE_VALIDATE_LAZY, PCACHE_VALIDATE_HEADER};
    (void)state;
    for (int bo = 0; bo < 2; bo++)
        for (size_t l = 0; l < 3; l++) {
            pcache_identity id;
            pcache_builder *b;
            uint64_t size, now[4] = {CLIENT_NOW, 0, 0, 0x10000};
            void *blk;
            uint8_t *rx, *pristine, *before, *copy, *want;
            pcache_segment seg, stale;
            pcache_report rep;
            const uint64_t b1 = BASE, b2 = BASE + 0x100000, b3 = BASE + 0x300000;

            rx = r6_image(bo ? PCACHE_BIG_ENDIAN : PCACHE_LITTLE_ENDIAN, &b, &id, &size, &blk);
            assert_true(r6_has_implicit_in(rx, "code", "data"));
            pristine = malloc(size);
            memcpy(pristine, rx, size);
            assert_int_equal(resurrect(&seg, rx, size, PCACHE_RX, &id, levels[l], &rep), PCACHE_OK);
            assert_int_equal(pcache_reloc_apply(&seg, rx, b1, resolve, now, &rep), PCACHE_OK);
            stale = seg;
            assert_int_equal(pcache_reloc_apply(&seg, rx, b2, resolve, now, &rep), PCACHE_OK);
            want = r6_oracle(pristine, size, &id, b2, now);
            assert_memory_equal(rx, want, size);
            free(want);
            before = malloc(size);
            memcpy(before, rx, size);
            assert_int_equal(pcache_reloc_apply(&stale, rx, b3, resolve, now, &rep), PCACHE_E_SECTION_CHECKSUM);
            assert_memory_equal(rx, before, size);
            copy = malloc(size);
            memcpy(copy, pristine, size);
            assert_int_equal(pcache_reloc_apply(&stale, copy, b3, resolve, now, &rep), PCACHE_E_SECTION_CHECKSUM);
            assert_memory_equal(copy, pristine, size);
            want = r6_oracle(pristine, size, &id, b3, now);
            assert_int_equal(pcache_reloc_apply(&seg, copy, b3, resolve, now, &rep), PCACHE_OK);
            assert_memory_equal(copy, want, size);
            assert_int_equal(pcache_reloc_apply(&seg, rx, b3, resolve, now, &rep), PCACHE_OK);
            assert_memory_equal(rx, want, size);
            /* back to b2's bytes through seg: the stale struct's b1 sum no
             * longer matches either */
            assert_int_equal(pcache_reloc_apply(&stale, copy, b1, resolve, now, &rep), PCACHE_E_SECTION_CHECKSUM);
            /* and back to b1: the stale struct's state describes the bytes again */
            assert_int_equal(pcache_reloc_apply(&seg, rx, b1, resolve, now, &rep), PCACHE_OK);
            free(want);
            want = r6_oracle(pristine, size, &id, b2, now);
            memcpy(copy, pristine, size);
            assert_int_equal(pcache_reloc_apply(&stale, copy, b2, resolve, now, &rep), PCACHE_OK);
            assert_memory_equal(copy, want, size);
            free(want);
            free(copy);
            free(before);
            free(pristine);
            free(blk);
            pcache_builder_free(b);
        }
}

/* Review 6, finding 1 (medium; decided, documented): a copy of the
 * struct made before the first apply in place, applied to a separate
 * copy afterwards, reads the relocated fields as addends under FULL and
 * HEADER, and under LAZY once the site section was verified before. */
static void test_review6_pristine_stale_copy_to_copy(void **state)
{
    /* Decided: a struct whose state is pristine trusts the fields as
     * resurrect verified them (hashing every site section at every apply
     * would cost about as much as the apply, 9.8); another struct's apply
     * in place is a change to the bytes after resurrect, documented in
     * FORMAT.md 9.10 and reloc.h.  What is checked: under LAZY, a section
     * not verified yet is verified by apply's step 2, so the stale copy
     * is refused there, nothing written. */
    pcache_identity id;
    pcache_builder *b;
    uint64_t size, now[3] = {EX_CLIENT, 0, 0};
    void *blk;
    uint8_t *rx, *copy, *before;
    pcache_segment seg, stale;
    pcache_report rep;
    const uint64_t b2 = EX_B + 0x10000000ull;
    (void)state;

    rx = example_rx(&b, &id, &size, &blk);
    assert_int_equal(resurrect(&seg, rx, size, PCACHE_RX, &id, PCACHE_VALIDATE_LAZY, &rep), PCACHE_OK);
    stale = seg; /* pristine, "code" not verified */
    copy = malloc(size);
    memcpy(copy, rx, size);
    before = malloc(size);
    memcpy(before, copy, size);
    assert_int_equal(pcache_reloc_apply(&seg, rx, EX_B, resolve, now, &rep), PCACHE_OK);
    assert_int_equal(pcache_reloc_apply(&stale, copy, b2, resolve, now, &rep), PCACHE_E_SECTION_CHECKSUM);
    assert_memory_equal(copy, before, size);
    /* the struct that applied in place gives the right values to a copy */
    assert_int_equal(pcache_reloc_apply(&seg, copy, b2, resolve, now, &rep), PCACHE_OK);
    ex_assert_values(copy, b2, EX_CLIENT);
    free(before);
    free(copy);
    free(blk);
    pcache_builder_free(b);
}

/* Review 6, finding 2 (medium, fixed): record reads through a stale
 * struct (a copy taken after an apply in place, whose bytes were then
 * relocated again through the original) returned PCACHE_OK with wrong
 * target offsets.  Now pcache_segment_reloc and pcache_reloc_iter_init
 * check the sections' hash as apply does: refused with
 * PCACHE_E_SECTION_CHECKSUM; the struct that applied last reads the
 * records right, by index and by the iterator.  (A copy taken while
 * pristine is another struct over changed bytes: not checked, above.) */
static void test_review6_stale_struct_reads(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t size, now[3] = {EX_CLIENT, 0, 0};
    void *blk;
    uint8_t *rx, *pristine;
    pcache_segment seg, stale, fresh;
    pcache_report rep;
    pcache_reloc_iter it;
    pcache_reloc want, got;
    const uint64_t b2 = EX_B + 0x10000000ull;
    (void)state;

    rx = example_rx(&b, &id, &size, &blk);
    pristine = malloc(size);
    memcpy(pristine, rx, size);
    assert_int_equal(resurrect(&fresh, pristine, size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(resurrect(&seg, rx, size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(pcache_reloc_apply(&seg, rx, EX_B, resolve, now, &rep), PCACHE_OK);
    stale = seg; /* applied at EX_B */
    assert_int_equal(pcache_reloc_apply(&seg, rx, b2, resolve, now, &rep), PCACHE_OK);
    assert_int_equal(pcache_reloc_iter_init(&it, &stale), PCACHE_E_SECTION_CHECKSUM);
    for (uint64_t i = 0; i < EX_N; i++) {
        assert_int_equal(pcache_segment_reloc(&fresh, i, &want), PCACHE_OK);
        assert_int_equal(pcache_segment_reloc(&stale, i, &got), PCACHE_E_SECTION_CHECKSUM);
        assert_int_equal(pcache_segment_reloc(&seg, i, &got), PCACHE_OK);
        assert_same_reloc(&got, &want, i);
    }
    assert_int_equal(pcache_reloc_iter_init(&it, &seg), PCACHE_OK);
    for (uint64_t i = 0; i < EX_N; i++) {
        assert_int_equal(pcache_segment_reloc(&fresh, i, &want), PCACHE_OK);
        assert_int_equal(pcache_reloc_iter_next(&it, &got), PCACHE_OK);
        assert_same_reloc(&got, &want, i);
    }
    free(pristine);
    free(blk);
    pcache_builder_free(b);
}

/* Held (regression): dst == base, and dst just before or just after the
 * segment, are accepted; every partial overlap is refused. */
static void test_review6_overlap_bounds(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t size, now[3] = {EX_CLIENT, 0, 0};
    void *blk;
    uint8_t *rx, *buf, *base;
    uint64_t stride;
    pcache_segment seg;
    pcache_report rep;
    (void)state;

    rx = example_rx(&b, &id, &size, &blk);
    stride = (size + 4095) / 4096 * 4096;
    buf = aligned_alloc(4096, 3 * stride);
    base = buf + stride; /* (resurrect wants it page-aligned) */
    memcpy(base, rx, size);
    assert_int_equal(resurrect(&seg, base, size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    {
        const int64_t bad[] = {1, -1, (int64_t)size - 1, -(int64_t)size + 1, 8, -8};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            assert_int_equal(pcache_reloc_apply(&seg, base + bad[i], EX_B, resolve, now, &rep),
                             PCACHE_E_INVALID_ARGUMENT);
    }
    memcpy(base - size, rx, size); /* ends where the segment begins */
    assert_int_equal(pcache_reloc_apply(&seg, base - size, EX_B, resolve, now, &rep), PCACHE_OK);
    ex_assert_values(base - size, EX_B, EX_CLIENT);
    memcpy(base + size, rx, size);
    assert_int_equal(pcache_reloc_apply(&seg, base + size, EX_B, resolve, now, &rep), PCACHE_OK);
    ex_assert_values(base + size, EX_B, EX_CLIENT);
    assert_int_equal(pcache_reloc_apply(&seg, base, EX_B, resolve, now, &rep), PCACHE_OK);
    ex_assert_values(base, EX_B, EX_CLIENT);
    free(buf);
    free(blk);
    pcache_builder_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_and_minor),
        cmocka_unit_test(test_refused_by_1_1_reader),
        cmocka_unit_test(test_same_records_and_bytes),
        cmocka_unit_test(test_range_error_names_record),
        cmocka_unit_test(test_hostile_tables),
        cmocka_unit_test(test_changed_after_resurrect),
        cmocka_unit_test(test_dense_table_size),
        cmocka_unit_test(test_format_example),
        cmocka_unit_test(test_in_place_idempotent),
        cmocka_unit_test(test_second_object_over_relocated_bytes),
        cmocka_unit_test(test_broken_state),
        cmocka_unit_test(test_periodic_groups),
        cmocka_unit_test(test_fallback_choice),
        cmocka_unit_test(test_property_both_forms),
        cmocka_unit_test(test_review4_copy_after_in_place),
        cmocka_unit_test(test_review4_stale_cursor),
        cmocka_unit_test(test_review4_minor1_and_both),
        cmocka_unit_test(test_review4_hostile_streams),
        cmocka_unit_test(test_review4_count_after_change),
        cmocka_unit_test(test_review4_read_after_in_place),
        cmocka_unit_test(test_review4_iterator_linear),
        cmocka_unit_test(test_review5_stale_struct_copy_in_place),
        cmocka_unit_test(test_review5_differential_groups),
        cmocka_unit_test(test_review5_overlapping_dst),
        cmocka_unit_test(test_review5_forged_iterator_reads_past_segment),
        cmocka_unit_test(test_iterator_overwritten),
        cmocka_unit_test(test_review6_stale_applied_matrix),
        cmocka_unit_test(test_review6_overlap_bounds),
        cmocka_unit_test(test_review6_pristine_stale_copy_to_copy),
        cmocka_unit_test(test_review6_stale_struct_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
