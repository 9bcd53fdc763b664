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
        /* runs: shape 0 x4 at 0x20 (h 1, gap 0x20, count-2 = 2); shape 1 at
         * 0x41 (h 2, gap 0x41 - 0x40); shape 1 at 0x61 (gap 0x61 - 0x45);
         * shape 2 at 0x70 (h 4, gap 0x70 - 0x65); shape 3 at 0x7a (h 6,
         * gap 0x7a - 0x78); shape 4 at 0x80 (h 8, gap 0x80 - 0x7b) */
        static const uint8_t stream[] = {0x01, 0x20, 0x02, 0x02, 0x01, 0x02, 0x1c, 0x04, 0x0b, 0x06, 0x02, 0x08, 0x05};
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
        {"target past 2^64", S0 + CS_TARGET_OFFSET, 0, 8, 0xffffffffffffff00ull, PCACHE_E_RELOC_TARGET,
         "target file offset overflows"},
        {"pc_offset on abs64", S0 + CS_PC_OFFSET, 0, 4, 4, PCACHE_E_RELOC_TABLE, "nonzero pc_offset"},
        {"shape index past", STREAM + 0, 0, 1, 0x7f, PCACHE_E_RELOC_TABLE, "shape index"},
        {"gap past the section", STREAM + 1, 0, 2, 0x7fff, PCACHE_E_RELOC_TARGET, "ends past its site section"},
        {"run too long", STREAM + 2, 0, 1, 0x7f, PCACHE_E_RELOC_TARGET, "ends past its site section"},
        {"truncated number", 1, 1, 1, 0x88, PCACHE_E_RELOC_TABLE, "truncated"},
        {"not the shortest form", STREAM + 1, 0, 2, 0x0080 | 0x20, PCACHE_E_RELOC_TABLE, "shortest"},
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
    /* header, one shape, and one run: h = 1, gap 0, count - 2 = 4094 in two bytes */
    assert_int_equal(ld64(entry(ro, ci) + SE_STORED_SIZE), CR_HEADER_SIZE + CR_SHAPE_SIZE + 4);
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

/* In place (dst = the segment's bytes): right once; a second apply would
 * read relocated values as implicit addends, and is refused before any
 * write, at every validation level. */
static void test_in_place_once(void **state)
{
    static const pcache_validation levels[] = {PCACHE_VALIDATE_FULL, PCACHE_VALIDATE_LAZY, PCACHE_VALIDATE_HEADER};
    (void)state;
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        image im;
        pcache_segment seg;
        pcache_report rep;
        uint64_t now[3] = {CLIENT_NOW, TEST_MODULE_BASE, 0};
        uint8_t *once;
        uint64_t code_at;

        image_build(&im, PCACHE_RELOC_FORM_COMPACT, 0);
        now[2] = near_now(im.rx);
        code_at = ld64(entry(im.rx, 0) + SE_OFFSET);
        assert_int_equal(resurrect(&seg, im.rx, im.rx_size, PCACHE_RX, pcache_builder_identity(im.b), levels[l], &rep),
                         PCACHE_OK);
        assert_int_equal(pcache_reloc_apply(&seg, im.rx, BASE, resolve, now, &rep), PCACHE_OK);
        assert_int_equal(ld64(im.rx + code_at + 0x70), TEST_MODULE_BASE + 0x40 - 8);
        once = malloc(im.rx_size);
        memcpy(once, im.rx, im.rx_size);
        assert_int_equal(pcache_reloc_apply(&seg, im.rx, BASE, resolve, now, &rep), PCACHE_E_SECTION_CHECKSUM);
        test_assert_report(&rep, PCACHE_E_SECTION_CHECKSUM);
        assert_string_equal(rep.section, "code");
        assert_non_null(strstr(rep.message, "in place"));
        assert_memory_equal(im.rx, once, im.rx_size);
        free(once);
        image_free(&im);
    }
}

/* docs/FORMAT.md 9.10's worked example, byte for byte. */
static void test_format_example(void **state)
{
    static const uint8_t crelocs[] = {
        0x04, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0,
        0x04, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x11, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0x04, 0, 0, 0,
        0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0x00, 0x09, 0x02, 0x07, 0x01, 0x04, 0x00,
    };
    static uint8_t ex_table[32], ex_code[64];
    const struct {
        uint64_t site;
        pcache_reloc_kind kind;
        int anchor;
        uint64_t toff;
        int64_t addend;
        int32_t pc;
    } sites[] = {{0x09, PCACHE_RELOC_ABS64, 0, 16, -4, 0},
                 {0x18, PCACHE_RELOC_REL32, 1, 0x1230, 0, 4},
                 {0x20, PCACHE_RELOC_ABS64, 0, 0, 0, 0},
                 {0x28, PCACHE_RELOC_ABS64, 0, 8, 0, 0}};
    pcache_identity id;
    pcache_builder *b;
    uint64_t ro_size, rx_size;
    uint8_t *rx;
    void *blk;
    pcache_segment seg;
    pcache_report rep;
    uint64_t now[3] = {0x7F3A40000000ull, 0, 0};
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "table", ex_table, sizeof ex_table, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", ex_code, sizeof ex_code, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_anchor(b, "client", 0x7F0000010000ull), PCACHE_OK);
    for (size_t i = 0; i < sizeof sites / sizeof sites[0]; i++) {
        pcache_patch p = sites[i].anchor ? to_anchor(sites[i].site, sites[i].kind, sites[i].pc, "client",
                                                     sites[i].toff, sites[i].addend)
                                         : to_table(sites[i].site, sites[i].kind, sites[i].toff, sites[i].addend);
        add(b, p);
    }
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, 0x1000, &ro_size), PCACHE_OK);
    rx = test_persist(b, PCACHE_RX, 0x2000, &rx_size, &blk);
    assert_int_equal(rx_size, 0x2c0);
    assert_int_equal(ld16(rx + SH_MINOR), 2);
    assert_int_equal(ld64(rx + SH_TRAILER_OFFSET), 0x290);
    assert_int_equal(ld64(entry(rx, 1) + SE_OFFSET), 0x200);
    assert_int_equal(ld64(entry(rx, 1) + SE_STORED_SIZE), sizeof crelocs);
    assert_memory_equal(rx + 0x200, crelocs, sizeof crelocs);
    assert_int_equal(ld64(rx + 0x1c0 + 0x09), 0xC);
    assert_int_equal(ld32(rx + 0x1c0 + 0x18), 0x1230);
    assert_int_equal(ld64(rx + 0x1c0 + 0x28), 8);
    assert_int_equal(resurrect(&seg, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    {
        uint8_t *dst = malloc(rx_size);
        memcpy(dst, rx, rx_size);
        assert_int_equal(pcache_reloc_apply(&seg, dst, 0x7F3A00000000ull, resolve, now, &rep), PCACHE_OK);
        assert_int_equal(ld64(dst + 0x1c0 + 0x09), 0x7F3A0000114Cull);
        assert_int_equal(ld32(dst + 0x1c0 + 0x18), 0x3FFFF054u);
        assert_int_equal(ld64(dst + 0x1c0 + 0x20), 0x7F3A00001140ull);
        assert_int_equal(ld64(dst + 0x1c0 + 0x28), 0x7F3A00001148ull);
        free(dst);
    }
    free(blk);
    pcache_builder_free(b);
}

/* ---- review4 reproducers (h-review4) ---- */

/* The image of docs/FORMAT.md 9.10's worked example: its rx segment. */
static uint8_t *example_rx(pcache_builder **bp, pcache_identity *id, uint64_t *rx_size, void **blk)
{
    static uint8_t ex_table[32], ex_code[64];
    const struct {
        uint64_t site;
        pcache_reloc_kind kind;
        int anchor;
        uint64_t toff;
        int64_t addend;
        int32_t pc;
    } sites[] = {{0x09, PCACHE_RELOC_ABS64, 0, 16, -4, 0},
                 {0x18, PCACHE_RELOC_REL32, 1, 0x1230, 0, 4},
                 {0x20, PCACHE_RELOC_ABS64, 0, 0, 0, 0},
                 {0x28, PCACHE_RELOC_ABS64, 0, 8, 0, 0}};
    uint64_t ro_size;
    uint8_t *rx;

    memset(ex_table, 0, sizeof ex_table);
    memset(ex_code, 0, sizeof ex_code);
    test_identity(id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(bp, id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(*bp, PCACHE_RO, "table", ex_table, sizeof ex_table, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(*bp, PCACHE_RX, "code", ex_code, sizeof ex_code, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_anchor(*bp, "client", 0x7F0000010000ull), PCACHE_OK);
    for (size_t i = 0; i < sizeof sites / sizeof sites[0]; i++) {
        pcache_patch p = sites[i].anchor ? to_anchor(sites[i].site, sites[i].kind, sites[i].pc, "client",
                                                     sites[i].toff, sites[i].addend)
                                         : to_table(sites[i].site, sites[i].kind, sites[i].toff, sites[i].addend);
        add(*bp, p);
    }
    assert_int_equal(pcache_builder_size(*bp, PCACHE_RO, 0x1000, &ro_size), PCACHE_OK);
    rx = test_persist(*bp, PCACHE_RX, 0x2000, rx_size, blk);
    assert_int_equal(*rx_size, 0x2c0);
    return rx;
}

/* Finding 1: apply in place once (as pcache_image_bind does), then apply
 * the same struct to a fresh copy (dst != seg->base): reloc.h says the
 * sites "may have been written by an earlier apply with dst = seg->base"
 * and that applying again is harmless; FORMAT.md 9.10 says applying to a
 * copy any number of times writes the same values.  But implicit addends
 * are read at seg->base, which now holds relocated pointers: the copy gets
 * B + 0x1140 + (B + 0x1148) etc., with PCACHE_OK.  Expected: the right
 * values, or a refusal (check_in_place's checksum test also when dst is a
 * copy), never wrong pointers. */
static void test_review4_copy_after_in_place(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t rx_size;
    void *blk;
    uint8_t *rx, *dst;
    pcache_segment seg;
    pcache_report rep;
    pcache_status st;
    uint64_t now[3] = {0x7F3A40000000ull, 0, 0};
    (void)state;

    rx = example_rx(&b, &id, &rx_size, &blk);
    assert_int_equal(resurrect(&seg, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(pcache_reloc_apply(&seg, rx, 0x7F3A00000000ull, resolve, now, &rep), PCACHE_OK);
    assert_int_equal(ld64(rx + 0x1c0 + 0x28), 0x7F3A00001148ull);
    dst = malloc(rx_size);
    memcpy(dst, rx, rx_size);
    st = pcache_reloc_apply(&seg, dst, 0x7F3A00000000ull, resolve, now, &rep);
    if (st == PCACHE_OK && ld64(dst + 0x1c0 + 0x28) != 0x7F3A00001148ull)
        fail_msg("apply to a copy after an apply in place: PCACHE_OK but +0x28 holds 0x%" PRIx64
                 " (want 0x7F3A00001148): the implicit addend was read from the relocated field at seg->base",
                 ld64(dst + 0x1c0 + 0x28));
    free(dst);
    free(blk);
    pcache_builder_free(b);
}

/* Finding 2: the per-thread resume cursor of creloc_record_read is keyed
 * on (base, size, table pointer, stream end) only.  A second, valid
 * segment resurrected at the same address (a buffer reused, a file mapped
 * again where the last one was) with its .crelocs at the same place and
 * of the same size resumes from the first segment's cached run: its
 * offset, count and site section are used without being decoded again,
 * and pcache_segment_reloc returns a record of the old table. */
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
    assert_int_equal(r.site_offset, 0x28);
    /* another segment in the same bytes: the last run's gap 4 -> 0x0c, so
     * records 2 and 3 are at 0x28 and 0x30 (one byte changed, re-signed) */
    assert_int_equal(rx[0x200 + 96 + 5], 0x04);
    rx[0x200 + 96 + 5] = 0x0c;
    resign_section(rx, 1);
    assert_int_equal(resurrect(&c, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(pcache_segment_reloc(&c, 3, &r), PCACHE_OK);
    if (r.site_offset != 0x30)
        fail_msg("record 3 of the second segment: site offset 0x%" PRIx64 " (want 0x30): the resume cursor "
                 "returned the first segment's record", r.site_offset);
    assert_int_equal(pcache_segment_reloc(&c, 0, &r), PCACHE_OK);
    assert_int_equal(pcache_segment_reloc(&c, 3, &r), PCACHE_OK);
    assert_int_equal(r.site_offset, 0x30);
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
    /* .anchors (section 2) retyped as .relocs-typed: named wrongly -> refused; the code section as type 2 named .relocs */
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

/* Held (pinned): hostile run streams against the inline decoder, on the
 * worked example's segment (one site section "code", 64 bytes; shapes:
 * 0 abs64, 1 rel32; 4 records). */
static void test_review4_hostile_streams(void **state)
{
    static const struct {
        const char *what;
        uint8_t bytes[32];
        size_t n;
        creloc_err want_last; /* of the last run decoded */
        unsigned ok_runs;     /* runs decoded before it */
    } cases[] = {
        {"gap 2^64-1 in 10 bytes", {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 11, CRUN_BOUNDS, 0},
        {"gap, tenth byte 2 (65 bits)", {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 11, CRUN_VARINT, 0},
        {"gap, eleven bytes", {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00}, 12, CRUN_VARINT, 0},
        {"gap, 10 bytes overlong zero", {0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 11, CRUN_VARINT, 0},
        {"gap never ends", {0x00, 0x80, 0x80, 0x80}, 4, CRUN_VARINT, 0},
        {"h never ends", {0x80}, 1, CRUN_VARINT, 0},
        {"h 2^64-1", {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00}, 12, CRUN_SHAPE_INDEX, 0},
        {"count-2 = 2^64-1", {0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 12, CRUN_COUNT, 0},
        {"count-2 = 2^64-3 (count 2^64-1)", {0x01, 0x00, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 12, CRUN_BOUNDS, 0},
        {"count 2^61+2: count*8 wraps", {0x01, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20}, 11, CRUN_BOUNDS, 0},
        {"prev end + gap wraps", {0x00, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 13, CRUN_BOUNDS, 1},
        {"prev end + gap = 2^64 - 0x11 + 0x11", {0x00, 0x09, 0x00, 0xef, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 13, CRUN_BOUNDS, 1},
        {"more runs than records", {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, 10, CRUN_COUNT, 4},
        {"a field ends exactly at the section end", {0x00, 0x38}, 2, CRUN_END, 1},
        {"a field one past", {0x00, 0x39}, 2, CRUN_BOUNDS, 0},
        {"gap 0 after gap 0 (adjacent, other shape)", {0x00, 0x00, 0x02, 0x00}, 4, CRUN_END, 2},
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
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint8_t *buf = malloc(cases[k].n); /* exactly n bytes: ASan catches a read past */
        reloc_tables h = t;
        creloc_cursor c;
        creloc_run r;
        creloc_err e;
        unsigned runs = 0;
        memcpy(buf, cases[k].bytes, cases[k].n);
        h.stream = buf;
        h.stream_end = buf + cases[k].n;
        creloc_begin(&h, &c);
        while ((e = creloc_next(&seg, &h, &c, &r)) == CRUN_OK) {
            assert_true(r.offset + r.count * r.width <= r.site_size);
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

/* Finding 3: pcache_segment_reloc_count() of a compact table is the
 * .crelocs header's record_count, read from section bytes the seal does
 * not cover: after resurrect, a changed header makes it anything (2^60),
 * where the 48-byte form's count is bounded by the sealed section table
 * (size / 48).  A tool iterating 0 .. count-1 (as inspect does) then
 * loops 2^60 times, each pcache_segment_reloc() walking the whole stream
 * (the resume cursor is dropped on failure).  reloc.h: "as its section
 * table states it".  Expected: a count bounded by what the sealed table
 * allows (e.g. the count resurrect checked, kept in the struct), or 0. */
static void test_review4_count_after_change(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t rx_size, n;
    void *blk;
    uint8_t *rx;
    pcache_segment seg;
    pcache_report rep;
    pcache_reloc r;
    (void)state;

    rx = example_rx(&b, &id, &rx_size, &blk);
    assert_int_equal(resurrect(&seg, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(pcache_segment_reloc_count(&seg), 4);
    st64(rx + 0x200 + CR_RECORD_COUNT, 1ull << 60);
    n = pcache_segment_reloc_count(&seg);
    /* the records past the stream: not found, each after a full walk */
    assert_int_not_equal(pcache_segment_reloc(&seg, 1ull << 59, &r), PCACHE_OK);
    if (n > rx_size)
        fail_msg("pcache_segment_reloc_count after .crelocs' header changed: %" PRIu64
                 " records in a %" PRIu64 "-byte segment (resurrect checked 4)", n, rx_size);
    free(blk);
    pcache_builder_free(b);
}

/* Finding 1, read side: after an apply in place (pcache_bind does one on a
 * writable rx mapping), pcache_segment_reloc() on the same sealed struct
 * reports implicit records with target offset = the relocated pointer
 * (PCACHE_OK), not the target offset resurrect checked. */
static void test_review4_read_after_in_place(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t rx_size;
    void *blk;
    uint8_t *rx;
    pcache_segment seg;
    pcache_report rep;
    pcache_reloc r;
    pcache_status st;
    uint64_t now[3] = {0x7F3A40000000ull, 0, 0};
    (void)state;

    rx = example_rx(&b, &id, &rx_size, &blk);
    assert_int_equal(resurrect(&seg, rx, rx_size, PCACHE_RX, &id, PCACHE_VALIDATE_FULL, &rep), PCACHE_OK);
    assert_int_equal(pcache_segment_reloc(&seg, 3, &r), PCACHE_OK);
    assert_int_equal(r.target_offset, 8);
    assert_int_equal(pcache_reloc_apply(&seg, rx, 0x7F3A00000000ull, resolve, now, &rep), PCACHE_OK);
    assert_int_equal(pcache_segment_reloc(&seg, 0, &r), PCACHE_OK); /* from the start: no resume */
    st = pcache_segment_reloc(&seg, 3, &r);
    if (st == PCACHE_OK && r.target_offset != 8)
        fail_msg("record 3 after an apply in place: PCACHE_OK, target offset 0x%" PRIx64 " (resurrect read 8)",
                 r.target_offset);
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
        cmocka_unit_test(test_in_place_once),
        cmocka_unit_test(test_review4_copy_after_in_place),
        cmocka_unit_test(test_review4_stale_cursor),
        cmocka_unit_test(test_review4_minor1_and_both),
        cmocka_unit_test(test_review4_hostile_streams),
        cmocka_unit_test(test_review4_count_after_change),
        cmocka_unit_test(test_review4_read_after_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
