/* SPDX-License-Identifier: BSD-2-Clause */
/* Hostile-input reproducers from the security review of issues 12 and 18
 * (branch h-review).  Each test states the property it checks; on the
 * code it was written against (main d7221da) the tests marked FAILS
 * fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "format.h"
#include "pcache/bind.h"
#include "support.h"

/* Both segments of a split image in file validate in full, each where it
 * is: ro at ro_at, rx at rx_at, of a file of file_size bytes.  segs[]
 * then holds them, as pcache_bind takes them. */
static void resurrect_ro_rx(const pcache_identity *id, const uint8_t *file, uint64_t ro_at, uint64_t rx_at,
                            uint64_t file_size, pcache_segment *ro, pcache_segment *rx,
                            pcache_segment *segs[PCACHE_CLASS_COUNT])
{
    pcache_expect exp;
    pcache_report rep;
    const uint8_t *map;

    pcache_expect_init(&exp, id);
    exp.validation = PCACHE_VALIDATE_FULL;
    map = file + ro_at;
    assert_int_equal(pcache_resurrect(ro, PCACHE_RO, &map, file_size - ro_at, &exp, &rep), PCACHE_OK);
    map = file + rx_at;
    assert_int_equal(pcache_resurrect(rx, PCACHE_RX, &map, file_size - rx_at, &exp, &rep), PCACHE_OK);
    segs[PCACHE_RO] = ro;
    segs[PCACHE_RX] = rx;
}

/* A bound image's rx "code" view has the offset field (what the test
 * persisted or validated) and lies in the bound block. */
static void assert_code_view_in_block(pcache_bound_image *img, uint64_t field, const char *field_was)
{
    pcache_view code;
    const uint8_t *lo = img->block[PCACHE_RO], *hi = lo + img->block_size[PCACHE_RO];
    assert_int_equal(pcache_bound_find(img, PCACHE_RX, "code", &code, NULL), PCACHE_OK);
    print_message("rx 'code' view: offset 0x%llx (%s 0x%llx), data %p, block [%p, %p)\n",
                  (unsigned long long)code.offset, field_was, (unsigned long long)field, code.data,
                  (const void *)lo, (const void *)hi);
    assert_int_equal(code.offset, field);
    assert_true((const uint8_t *)code.data >= lo && (const uint8_t *)code.data + code.size <= hi);
}

/* ------------------------------------------------------------------ */
/* 1. Overlapping segments: an ro segment whose last client section
 *    holds the bytes of the rx segment (the ro segment's size runs past
 *    DR's ro slot, over DR's hash tables and into the rx slot; DR does
 *    not check how far a resurrect callback moved its pointer, and the
 *    adapter bounds the ro walk only by the whole mapping).  Both
 *    segments validate in full, from the same bytes.  An ro relocation
 *    record whose site lies on the rx segment's section table then
 *    rewrites that table in the private copy (ro and rx share one block,
 *    make_code_block), and pcache_bind re-seals rx on the copy without
 *    looking: pcache_bound_find(RX) hands out a view whose offset came
 *    from the relocated value. (FAILS) */

#define OV_RO_AT 0x200u
#define OV_RX_AT 0x1000u
#define OV_BIG 0x2000u
#define OV_FILE 0x4000u
#define OV_MOVE 0x100000ull /* the module moved by 1 MB: the code view moves by as much */

static uint8_t ov_big[OV_BIG], ov_code[64];

static int ov_resolve(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    (void)ctx;
    if (strcmp(name, PCACHE_ANCHOR_MODULE) != 0)
        return 1;
    *address = persisted + OV_MOVE;
    return 0;
}

/* ro "big" (the site at site_off, an abs64 to the module anchor with
 * addend) and rx "code". */
static pcache_builder *ov_builder(const pcache_identity *id, uint64_t site_off, int64_t addend)
{
    pcache_builder *b;
    pcache_patch p;

    assert_int_equal(pcache_builder_new(&b, id), PCACHE_OK);
    /* the 48-byte form: the field holds the value for image base 0, which
     * this test makes equal to the bytes it overlaps */
    assert_int_equal(pcache_builder_set_reloc_form(b, PCACHE_RELOC_FORM_RECORDS), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "big", ov_big, sizeof ov_big, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", ov_code, sizeof ov_code, 16, 0), PCACHE_OK);
    memset(&p, 0, sizeof p);
    p.cls = PCACHE_RO;
    p.section = "big";
    p.offset = site_off;
    p.kind = PCACHE_RELOC_ABS64;
    p.target_kind = PCACHE_TARGET_ANCHOR;
    p.anchor = PCACHE_ANCHOR_MODULE;
    p.addend = addend;
    assert_int_equal(pcache_builder_add_patch(b, &p), PCACHE_OK);
    assert_int_equal(pcache_builder_prepare_split(b, 0), PCACHE_OK);
    return b;
}

static void test_overlapping_ro_rx_rewrites_rx_table(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t big_at, ro_size, rx_size, site, field;
    uint8_t *file;
    void *block = NULL;
    pcache_buffer_sink s;
    pcache_sink sink;
    pcache_segment ro, rx;
    pcache_segment *segs[PCACHE_CLASS_COUNT] = {NULL, NULL, NULL};
    pcache_bind_options o;
    pcache_bound_image img;
    pcache_report rep;
    pcache_status st;

    (void)state;
    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    test_fill(ov_code, sizeof ov_code, 9);
    memset(ov_big, 0, sizeof ov_big);

    /* pass 1: the layout (it does not depend on the site or the addend) */
    b = ov_builder(&id, 0, 0);
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, OV_RO_AT, &ro_size), PCACHE_OK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, OV_RX_AT, &rx_size), PCACHE_OK);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, "big", &big_at), PCACHE_OK);
    assert_true(big_at < OV_RX_AT && OV_RX_AT + rx_size <= big_at + OV_BIG && OV_RO_AT + ro_size <= OV_FILE);
    pcache_builder_free(b);

    assert_int_equal(posix_memalign(&block, TEST_PAGE, OV_FILE), 0);
    memset(block, 0, OV_FILE);
    file = block;

    /* pass 2: the rx segment first, then "big" made to hold its bytes,
     * the site on rx's table entry of "code" (its offset field), the
     * persisted value of the abs64 equal to what is there */
    site = OV_RX_AT + SEG_HEADER_SIZE + SE_OFFSET - big_at;
    {
        /* rx's bytes do not depend on ro's: persist once to learn them */
        pcache_builder *b0 = ov_builder(&id, site, 0);
        assert_int_equal(pcache_builder_size(b0, PCACHE_RO, OV_RO_AT, &ro_size), PCACHE_OK);
        assert_int_equal(pcache_builder_size(b0, PCACHE_RX, OV_RX_AT, &rx_size), PCACHE_OK);
        sink = pcache_sink_buffer(&s, file + OV_RX_AT, (size_t)rx_size);
        assert_int_equal(pcache_builder_persist(b0, PCACHE_RX, &sink), PCACHE_OK);
        pcache_builder_free(b0);
    }
    field = ld64(file + OV_RX_AT + SEG_HEADER_SIZE + SE_OFFSET);
    memcpy(ov_big + (OV_RX_AT - big_at), file + OV_RX_AT, (size_t)rx_size);
    b = ov_builder(&id, site, (int64_t)(field - TEST_MODULE_BASE));
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, OV_RO_AT, &ro_size), PCACHE_OK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, OV_RX_AT, &rx_size), PCACHE_OK);
    sink = pcache_sink_buffer(&s, file + OV_RO_AT, (size_t)ro_size);
    assert_int_equal(pcache_builder_persist(b, PCACHE_RO, &sink), PCACHE_OK);
    pcache_builder_free(b);
    /* the ro segment wrote the rx segment's bytes back unchanged */
    assert_int_equal(ld64(file + OV_RX_AT + SEG_HEADER_SIZE + SE_OFFSET), field);

    /* both validate in full, each where it is */
    resurrect_ro_rx(&id, file, OV_RO_AT, OV_RX_AT, OV_FILE, &ro, &rx, segs);

    memset(&o, 0, sizeof o);
    o.resolve = ov_resolve;
    o.flags = PCACHE_BIND_PRIVATE;
    st = pcache_bind(&img, segs, &o, &rep);
    if (st == PCACHE_OK) {
        /* Bound: then every view must lie in the block, and the tables
         * the views come from must be the ones resurrect validated. */
        assert_code_view_in_block(&img, field, "persisted");
        pcache_bound_release(&img);
    } else {
        /* refused: the segments overlap in the file */
        assert_int_equal(st, PCACHE_E_FILE_LAYOUT);
    }
    free(block);
}

/* ------------------------------------------------------------------ */
/* 2. The mapping changes between validation and copy.  Under
 *    -persist_map_rw_separate DR maps the file MAP_SHARED (its first
 *    view), so a writer of the file changes the bytes the adapter
 *    validated in locate()/walk_slot() before pcache_bind copies them
 *    (make_code_block).  The copy's section table is then used
 *    unvalidated: pcache_bind re-seals only when the *mapping* still
 *    matches, but moves seg->base to the copy either way, and
 *    pcache_bound_find() reads the table from the copy without any
 *    check.  The writer is modelled deterministically by the alloc
 *    callback, which runs right before the memcpy. (FAILS) */

#define TC_RO_AT 0x1b8u
#define TC_RX_AT 0x1000u
#define TC_FILE 0x3000u

static uint8_t tc_table[32], tc_code[64];
static uint8_t *tc_mapping_field; /* rx's "code" offset field, in the mapping */

static void *tc_alloc(void *ctx, size_t size)
{
    (void)ctx;
    if (tc_mapping_field) {
        st64(tc_mapping_field, ld64(tc_mapping_field) + 0x100000); /* the concurrent writer */
        tc_mapping_field = NULL;
    }
    return malloc(size);
}

static void tc_free(void *ctx, void *mem, size_t size)
{
    (void)ctx;
    (void)size;
    free(mem);
}

static void test_mapping_changes_before_copy(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    uint64_t ro_size, rx_size, field;
    uint8_t *file;
    void *block = NULL;
    pcache_buffer_sink s;
    pcache_sink sink;
    pcache_segment ro, rx;
    pcache_segment *segs[PCACHE_CLASS_COUNT] = {NULL, NULL, NULL};
    pcache_bind_options o;
    pcache_bound_image img;
    pcache_report rep;
    pcache_status st;

    (void)state;
    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    test_fill(tc_table, sizeof tc_table, 3);
    test_fill(tc_code, sizeof tc_code, 4);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "table", tc_table, sizeof tc_table, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", tc_code, sizeof tc_code, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_prepare_split(b, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RO, TC_RO_AT, &ro_size), PCACHE_OK);
    assert_int_equal(pcache_builder_size(b, PCACHE_RX, TC_RX_AT, &rx_size), PCACHE_OK);
    assert_int_equal(posix_memalign(&block, TEST_PAGE, TC_FILE), 0);
    memset(block, 0, TC_FILE);
    file = block;
    sink = pcache_sink_buffer(&s, file + TC_RO_AT, (size_t)ro_size);
    assert_int_equal(pcache_builder_persist(b, PCACHE_RO, &sink), PCACHE_OK);
    sink = pcache_sink_buffer(&s, file + TC_RX_AT, (size_t)rx_size);
    assert_int_equal(pcache_builder_persist(b, PCACHE_RX, &sink), PCACHE_OK);
    pcache_builder_free(b);

    resurrect_ro_rx(&id, file, TC_RO_AT, TC_RX_AT, TC_FILE, &ro, &rx, segs);
    field = ld64(file + TC_RX_AT + SEG_HEADER_SIZE + SE_OFFSET);
    tc_mapping_field = file + TC_RX_AT + SEG_HEADER_SIZE + SE_OFFSET;

    memset(&o, 0, sizeof o);
    o.flags = PCACHE_BIND_PRIVATE;
    o.alloc = tc_alloc;
    o.free = tc_free;
    st = pcache_bind(&img, segs, &o, &rep);
    if (st == PCACHE_OK) {
        assert_code_view_in_block(&img, field, "validated");
        pcache_bound_release(&img);
    } else {
        /* the copy, validated itself, no longer passes its checks */
        if (st != PCACHE_E_SEGMENT_CHANGED && st != PCACHE_E_TABLE_CHECKSUM)
            fail_msg("bind of a changed copy gave %s: %s", pcache_status_name(st), rep.message);
    }
    free(block);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlapping_ro_rx_rewrites_rx_table),
        cmocka_unit_test(test_mapping_changes_before_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
