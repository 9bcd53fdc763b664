/* SPDX-License-Identifier: BSD-2-Clause */
/* `pcache-inspect verify` exits 0 exactly when the library's loaders
 * accept the same bytes.  Files are damaged on purpose (with their
 * checksums and DR's digests repaired, so that the damage reaches the
 * checks behind them), and each one goes through verify, as a user runs
 * it, and through the loaders, called here:
 *
 *  - a standalone file: pcache_image_open_memory() (what pcache_file_open()
 *    and pcache_image_read_path() validate), then every compressed section
 *    inflated, as a loader does on access (verify inflates them too);
 *  - a .dpc file: pcache_dpc_parse() (DR's layout and both MD5 digests),
 *    every segment candidate of pcache_dpc_find_segments(), and for each
 *    client the image the DR adapter would bind: its one ro segment in
 *    DR's ro slot, the rx and rw segments its manifest lists
 *    (pcache_bind_manifest_entry()) and no others, bound with pcache_bind()
 *    (what depends on the load address, not the bytes, aside).
 *
 * Usage: verify_agrees_test PCACHE_INSPECT [CASE] */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dpc_build.h"
#include "pcache/bind.h"
#include "pcache/dpc.h"
#include "pcache/pcache.h"
#include "pcache/reloc.h"
#include "tool_run.h"

static const char *inspect_tool;
/* Under a checker (PCACHE_TOOL_WRAPPER, e.g. valgrind), where each run of
 * the tool takes a second, the sweeps try every 5th change: the memory
 * checks need the code paths, not every byte. */
static unsigned sweep_stride = 1;

/* docs/FORMAT.md 3.2, 3.3, 3.5, 7.2, 7.3: where the checksums are. */
enum {
    SH_CHECKSUM = 17,
    SH_SECTION_COUNT = 28,
    SH_TRAILER_OFFSET = 48,
    SH_TABLE_CHECKSUM = 240,
    SH_HEADER_CHECKSUM = 248,
    SEG_HEADER = 256,
    SEG_ENTRY = 64,
    SE_OFFSET = 40,
    SE_STORED_SIZE = 48,
    FH_CHECKSUM = 14,
    FH_FILE_SIZE = 24,
    FH_SEGMENTS = 48,
    FH_HEADER_CHECKSUM = 120,
    FF_SIZE = 32,
    FF_HEADER_CHECKSUM = 16,
    FF_FOOTER_CHECKSUM = 24,
    RR_TARGET_INDEX = 16,
    RR_TARGET_CLASS = 18,
    RR_TARGET_OFFSET = 24,
    RR_TARGET_BASE = 32,
};

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* ---- the loaders ---- */

static int resolve_persisted(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    (void)ctx;
    (void)name;
    *address = persisted;
    return 0;
}

static int inflates(pcache_segment *seg)
{
    for (uint32_t i = 0; i < seg->section_count; i++) {
        pcache_view v;
        void *out = NULL;
        int ok;
        if (pcache_segment_section(seg, i, &v, NULL) != PCACHE_OK || v.type != PCACHE_TYPE_DATA ||
            v.flags != PCACHE_SECTION_COMPRESSED)
            continue;
        ok = pcache_segment_inflate_alloc(seg, i, &out, NULL, NULL) == PCACHE_OK;
        pcache_free(out);
        if (!ok)
            return 0;
    }
    return 1;
}

static int standalone_accepted(const uint8_t *bytes, size_t size)
{
    pcache_image img;
    void *mem = NULL;
    int ok;

    /* page-aligned, as a loader maps it */
    assert_int_equal(posix_memalign(&mem, 4096, size ? size : 1), 0);
    memcpy(mem, bytes, size);
    ok = pcache_image_open_memory(&img, mem, size, NULL, NULL) == PCACHE_OK;
    for (int c = 0; ok && c < PCACHE_CLASS_COUNT; c++)
        if (pcache_image_segment(&img, (pcache_class)c))
            ok = inflates(pcache_image_segment(&img, (pcache_class)c));
    free(mem);
    return ok;
}

/* One client's image, as the DR adapter binds it. */
static int image_binds(pcache_dpc_found *found, size_t count, const char *name)
{
    pcache_segment copy[PCACHE_CLASS_COUNT], *segs[PCACHE_CLASS_COUNT] = {NULL, NULL, NULL};
    const pcache_dpc_found *listed[PCACHE_CLASS_COUNT] = {NULL, NULL, NULL};
    pcache_bound_image img;
    pcache_bind_options opt;
    pcache_status st;
    size_t ro = count, n_ro = 0;

    for (size_t k = 0; k < count; k++) {
        if (strcmp(found[k].segment.identity.client_name, name) != 0)
            continue;
        if ((found[k].segment.cls == PCACHE_RO) != (found[k].slot == PCACHE_RO))
            return 0; /* DR's ro callbacks get only its ro slot */
        if (found[k].segment.cls == PCACHE_RO) {
            ro = k;
            n_ro++;
        }
    }
    if (n_ro != 1)
        return 0;
    copy[PCACHE_RO] = found[ro].segment;
    segs[PCACHE_RO] = &copy[PCACHE_RO];
    listed[PCACHE_RO] = &found[ro];
    for (int c = PCACHE_RX; c <= PCACHE_RW; c++) {
        uint64_t off, size;
        if (pcache_bind_manifest_entry(&copy[PCACHE_RO], (pcache_class)c, &off, &size, NULL) != PCACHE_OK)
            return 0;
        if (!size)
            continue;
        for (size_t k = 0; k < count; k++)
            if (found[k].file_offset == off)
                listed[c] = &found[k];
        if (!listed[c])
            return 0; /* DR never handed it over */
        copy[c] = listed[c]->segment;
        segs[c] = &copy[c];
    }
    for (size_t k = 0; k < count; k++)
        if (strcmp(found[k].segment.identity.client_name, name) == 0 && &found[k] != listed[found[k].segment.cls])
            return 0; /* handed over, and not where the manifest says */
    memset(&opt, 0, sizeof opt);
    opt.resolve = resolve_persisted;
    opt.flags = PCACHE_BIND_PRIVATE;
    st = pcache_bind(&img, segs, &opt, NULL);
    pcache_bound_release(&img);
    /* these depend on the address the image is bound at */
    return st == PCACHE_OK || st == PCACHE_E_RELOC_RANGE || st == PCACHE_E_ANCHOR || st == PCACHE_E_NO_MEMORY ||
           st == PCACHE_E_ACCESS;
}

static int dpc_accepted(const uint8_t *bytes, size_t size)
{
    pcache_dpc d;
    pcache_dpc_found *found;
    size_t count = 0;
    int ok = 1;

    if (pcache_dpc_parse(&d, bytes, size, NULL) != PCACHE_OK ||
        pcache_dpc_find_segments(&d, NULL, 0, &count, NULL) != PCACHE_OK)
        return 0;
    found = calloc(count + 1, sizeof *found);
    assert_non_null(found);
    assert_int_equal(pcache_dpc_find_segments(&d, found, count, &count, NULL), PCACHE_OK);
    for (size_t k = 0; k < count; k++)
        if (found[k].status != PCACHE_OK)
            ok = 0;
    for (size_t k = 0; ok && k < count; k++) {
        int first = 1;
        for (size_t j = 0; j < k; j++)
            if (strcmp(found[j].segment.identity.client_name, found[k].segment.identity.client_name) == 0)
                first = 0;
        if (first)
            ok = image_binds(found, count, found[k].segment.identity.client_name);
    }
    free(found);
    return ok;
}

static int loaders_accept(const uint8_t *bytes, size_t size)
{
    if (size >= 4 && memcmp(bytes, "RIO$", 4) == 0)
        return dpc_accepted(bytes, size);
    return standalone_accepted(bytes, size);
}

/* verify and the loaders on the same bytes; returns the verdict. */
static int same_verdict(const fixture *f, const char *label, const uint8_t *bytes, size_t size)
{
    char *path = path_in(f, "mutated");
    int accepted = loaders_accept(bytes, size);
    run_result r;

    write_bytes(path, bytes, size);
    run(f, &r, inspect_tool, "verify", path, NULL);
    if (r.status != (accepted ? 0 : 1))
        fail_msg("%s: pcache-inspect verify exits %d, the loaders %s the file\n%s", label, r.status,
                 accepted ? "accept" : "refuse", r.err);
    result_free(&r);
    free(path);
    return accepted;
}

/* ---- repairing what a change broke ---- */

/* A segment at seg (n bytes from there): every section's stored checksum,
 * the table's and the header's, as far as they lie in the n bytes. */
static void resign_segment(uint8_t *seg, uint64_t n)
{
    pcache_checksum_algorithm algo;
    uint64_t count, toff;

    if (n < SEG_HEADER || (seg[SH_CHECKSUM] != 1 && seg[SH_CHECKSUM] != 2))
        return;
    algo = (pcache_checksum_algorithm)seg[SH_CHECKSUM];
    count = le(seg + SH_SECTION_COUNT, 4);
    toff = le(seg + SH_TRAILER_OFFSET, 8);
    if (count <= 1024 && SEG_HEADER + SEG_ENTRY * count <= n) {
        for (uint64_t i = 0; i < count; i++) {
            const uint8_t *e = seg + SEG_HEADER + SEG_ENTRY * i;
            uint64_t off = le(e + SE_OFFSET, 8), size = le(e + SE_STORED_SIZE, 8), t = toff + 16 * i;
            if (toff <= n && t <= n - 16 && off <= n && size <= n - off)
                put_be64(seg + t, pcache_checksum(algo, seg + off, (size_t)size));
        }
        put_be64(seg + SH_TABLE_CHECKSUM, pcache_checksum(algo, seg + SEG_HEADER, (size_t)(SEG_ENTRY * count)));
    }
    put_be64(seg + SH_HEADER_CHECKSUM, pcache_checksum(algo, seg, SH_HEADER_CHECKSUM));
}

static void resign_standalone(uint8_t *file, size_t size, const uint64_t at[PCACHE_CLASS_COUNT],
                              const uint64_t len[PCACHE_CLASS_COUNT])
{
    pcache_checksum_algorithm algo = (pcache_checksum_algorithm)file[FH_CHECKSUM];
    uint64_t hsum;
    uint8_t *foot = file + size - FF_SIZE;

    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        if (len[c])
            resign_segment(file + at[c], len[c]);
    hsum = pcache_checksum(algo, file, FH_HEADER_CHECKSUM);
    put_be64(file + FH_HEADER_CHECKSUM, hsum);
    put_be64(foot + FF_HEADER_CHECKSUM, hsum);
    put_be64(foot + FF_FOOTER_CHECKSUM, pcache_checksum(algo, foot, FF_FOOTER_CHECKSUM));
}

static void resign_dpc(uint8_t *file, size_t size, const uint64_t at[PCACHE_CLASS_COUNT],
                       const uint64_t len[PCACHE_CLASS_COUNT])
{
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        if (len[c])
            resign_segment(file + at[c], len[c]);
    fix_dpc_digests(file, size);
}

/* ---- the images ---- */

static uint8_t table[64], code[96], rw_data[24], text[300];

/* ro: table, text (compressed); rx: code, with an absolute reference to
 * ro's table, one to anchor "client", one to its own end; rw: data (when
 * with_rw). */
static pcache_builder *relocated_builder(int compress, int with_rw)
{
    pcache_identity id;
    pcache_builder *b;
    pcache_patch p;

    memcpy(table, pattern(sizeof table, 21), sizeof table);
    memcpy(code, pattern(sizeof code, 22), sizeof code);
    memcpy(rw_data, pattern(sizeof rw_data, 23), sizeof rw_data);
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (uint8_t)"abcabd"[i % 6];
    assert_int_equal(pcache_identity_init(&id, "agree", 5), PCACHE_OK);
    id.page_size = 4096;
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    /* the 48-byte form: the cases edit a record's fields */
    assert_int_equal(pcache_builder_set_reloc_form(b, PCACHE_RELOC_FORM_RECORDS), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "table", table, sizeof table, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "text", text, sizeof text, 1, 0), PCACHE_OK);
    if (compress)
        assert_int_equal(pcache_builder_set_compression(b, PCACHE_RO, "text", 6), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", code, sizeof code, 16, 0), PCACHE_OK);
    if (with_rw)
        assert_int_equal(pcache_builder_add(b, PCACHE_RW, "data", rw_data, sizeof rw_data, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_segment_flags(b, PCACHE_RX, PCACHE_SEGMENT_PAGE_ROUNDED), PCACHE_OK);
    assert_int_equal(pcache_builder_set_anchor(b, PCACHE_ANCHOR_CLIENT, 0x7f0000000000ull), PCACHE_OK);
    memset(&p, 0, sizeof p);
    p.cls = PCACHE_RX;
    p.section = "code";
    p.kind = PCACHE_RELOC_ABS64;
    p.target_kind = PCACHE_TARGET_SECTION;
    p.target_class = PCACHE_RO;
    p.target_section = "table";
    p.target_offset = 16;
    p.offset = 8;
    assert_int_equal(pcache_builder_add_patch(b, &p), PCACHE_OK);
    p.offset = 32;
    p.target_class = PCACHE_RX;
    p.target_section = "code";
    p.target_offset = sizeof code;
    assert_int_equal(pcache_builder_add_patch(b, &p), PCACHE_OK);
    p.offset = 48;
    p.target_kind = PCACHE_TARGET_ANCHOR;
    p.anchor = PCACHE_ANCHOR_CLIENT;
    p.target_offset = 0x40;
    assert_int_equal(pcache_builder_add_patch(b, &p), PCACHE_OK);
    return b;
}

typedef struct image_file {
    uint8_t *bytes;
    size_t size;
    uint64_t at[PCACHE_CLASS_COUNT], len[PCACHE_CLASS_COUNT];
    int dpc;
} image_file;

static void standalone_file(image_file *out, int with_rw)
{
    pcache_builder *b = relocated_builder(1, with_rw);
    pcache_buffer_sink bs;
    pcache_sink sink;
    uint64_t size;

    memset(out, 0, sizeof *out);
    assert_int_equal(pcache_file_size(b, &size), PCACHE_OK);
    out->bytes = malloc((size_t)size);
    assert_non_null(out->bytes);
    sink = pcache_sink_buffer(&bs, out->bytes, (size_t)size);
    assert_int_equal(pcache_file_write_sink(b, &sink, NULL), PCACHE_OK);
    out->size = (size_t)size;
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        out->at[c] = le(out->bytes + FH_SEGMENTS + 16 * c, 8);
        out->len[c] = le(out->bytes + FH_SEGMENTS + 16 * c + 8, 8);
    }
    pcache_builder_free(b);
}

static void dpc_image_file(image_file *out, uint32_t split)
{
    dpc_file d;
    /* a .dpc file's ro segment is never compressed by the DR adapter
     * either way; compression stays in the standalone file */
    make_dpc_from(&d, relocated_builder(0, 1), "/opt/agree/libclient.so", 23, split);
    memset(out, 0, sizeof *out);
    out->bytes = d.bytes;
    out->size = d.size;
    out->dpc = 1;
    memcpy(out->at, d.seg_at, sizeof out->at);
    memcpy(out->len, d.seg_size, sizeof out->len);
}

static void resign(image_file *im, uint8_t *bytes)
{
    if (im->dpc)
        resign_dpc(bytes, im->size, im->at, im->len);
    else
        resign_standalone(bytes, im->size, im->at, im->len);
}

/* The file offset of section name of class cls, or 0. */
static uint64_t section_at(const image_file *im, pcache_class cls, const char *name, uint64_t *size)
{
    const uint8_t *seg = im->bytes + im->at[cls];
    uint64_t n = le(seg + SH_SECTION_COUNT, 4);
    for (uint64_t i = 0; im->len[cls] && i < n; i++) {
        const uint8_t *e = seg + SEG_HEADER + SEG_ENTRY * i;
        if (strncmp((const char *)e, name, 32) == 0) {
            if (size)
                *size = le(e + SE_STORED_SIZE, 8);
            return im->at[cls] + le(e + SE_OFFSET, 8);
        }
    }
    return 0;
}

/* ---- the cases ---- */

/* The places the checks look at: each segment's header fields and table
 * entries, the records, the manifest, the file header; each byte changed
 * and every checksum (and DR's digests) repaired, so that the change
 * meets the check meant for it. */
/* One change of the sweep (every sweep_stride-th is run); counts it. */
static void sweep_one(const fixture *f, const char *label, const uint8_t *bytes, size_t size, size_t *runs,
                      size_t *accepted)
{
    static unsigned n;
    if (n++ % sweep_stride)
        return;
    *accepted += (size_t)same_verdict(f, label, bytes, size);
    (*runs)++;
}

static void sweep(const fixture *f, image_file *im)
{
    static const unsigned header_fields[] = {0, 8, 10, 12, 14, 16, 17, 18, 19, 20, 22, 24, 28, 32, 40, 48,
                                             56, 72, 76, 80, 88, 96, 128, 192};
    static const unsigned entry_fields[] = {0, 32, 34, 36, 40, 48, 56};
    uint8_t *copy = malloc(im->size);
    size_t runs = 0, accepted = 0;
    char label[96];

    assert_non_null(copy);
    assert_true(same_verdict(f, "as written", im->bytes, im->size));
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        uint64_t n = im->len[c] ? le(im->bytes + im->at[c] + SH_SECTION_COUNT, 4) : 0;
        uint64_t rel, rel_size = 0, man, man_size = 0;
        if (!im->len[c])
            continue;
        for (size_t k = 0; k < sizeof header_fields / sizeof header_fields[0]; k++) {
            memcpy(copy, im->bytes, im->size);
            copy[im->at[c] + header_fields[k]] ^= 0x01;
            resign(im, copy);
            snprintf(label, sizeof label, "%s header byte %u", pcache_class_name((pcache_class)c), header_fields[k]);
            sweep_one(f, label, copy, im->size, &runs, &accepted);
        }
        for (uint64_t i = 0; i < n; i++)
            for (size_t k = 0; k < sizeof entry_fields / sizeof entry_fields[0]; k++) {
                memcpy(copy, im->bytes, im->size);
                copy[im->at[c] + SEG_HEADER + SEG_ENTRY * i + entry_fields[k]] ^= 0x01;
                resign(im, copy);
                snprintf(label, sizeof label, "%s entry %llu byte %u", pcache_class_name((pcache_class)c),
                         (unsigned long long)i, entry_fields[k]);
                sweep_one(f, label, copy, im->size, &runs, &accepted);
            }
        rel = section_at(im, (pcache_class)c, ".relocs", &rel_size);
        man = section_at(im, (pcache_class)c, PCACHE_MANIFEST_SECTION, &man_size);
        for (uint64_t k = 0; rel && k < rel_size; k += 11) {
            memcpy(copy, im->bytes, im->size);
            copy[rel + k] ^= 0x01;
            resign(im, copy);
            snprintf(label, sizeof label, "%s .relocs byte %llu", pcache_class_name((pcache_class)c),
                     (unsigned long long)k);
            sweep_one(f, label, copy, im->size, &runs, &accepted);
        }
        for (uint64_t k = 0; man && k < man_size; k += 4) {
            memcpy(copy, im->bytes, im->size);
            copy[man + k] ^= 0x10;
            resign(im, copy);
            snprintf(label, sizeof label, "manifest byte %llu", (unsigned long long)k);
            sweep_one(f, label, copy, im->size, &runs, &accepted);
        }
    }
    /* both verdicts were seen */
    assert_true(runs * sweep_stride > 50);
    assert_true(accepted < runs);
    assert_true(accepted > 0 || sweep_stride > 1);
    free(copy);
}

static void standalone_sweep(void **state)
{
    image_file im;
    standalone_file(&im, 1);
    sweep(*state, &im);
    free(im.bytes);
}

static void dpc_sweep(void **state)
{
    image_file im;
    dpc_image_file(&im, 0);
    sweep(*state, &im);
    free(im.bytes);
}

static void dpc_carried_sweep(void **state)
{
    image_file im;
    dpc_image_file(&im, PCACHE_SPLIT_CARRY_RW);
    assert_int_equal(im.len[PCACHE_RW], 0);
    sweep(*state, &im);
    free(im.bytes);
}

/* Each segment's magic changed, DR's digests repaired: the candidate is
 * gone, and the adapter refuses the image (a listed segment missing, or
 * no ro with the manifest). */
static void dpc_segment_gone(void **state)
{
    fixture *f = *state;
    image_file im;
    run_result r;
    char *path = path_in(f, "gone.dpc");

    dpc_image_file(&im, 0);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        uint8_t *copy = malloc(im.size);
        assert_non_null(copy);
        memcpy(copy, im.bytes, im.size);
        copy[im.at[c]] ^= 0x01;
        fix_dpc_digests(copy, im.size);
        assert_false(same_verdict(f, pcache_class_name((pcache_class)c), copy, im.size));
        write_bytes(path, copy, im.size);
        run(f, &r, inspect_tool, "verify", path, NULL);
        expect_contains("verify", r.err, c == PCACHE_RO ? "no ro segment, which holds the image's manifest"
                                                        : "the image's manifest lists an");
        result_free(&r);
        free(copy);
    }
    free(im.bytes);
    free(path);
}

/* Segments written without pcache_builder_prepare_split(): no manifest,
 * which pcache_bind() and the adapter require. */
static void dpc_without_manifest(void **state)
{
    fixture *f = *state;
    image_file im;
    run_result r;
    char *path = path_in(f, "plain.dpc");

    dpc_image_file(&im, DPC_NO_SPLIT);
    assert_false(same_verdict(f, "no manifest", im.bytes, im.size));
    write_bytes(path, im.bytes, im.size);
    run(f, &r, inspect_tool, "verify", path, NULL);
    expect_contains("verify", r.err, "has no manifest ('.image')");
    expect_contains("verify", r.err, "[PCACHE_E_NOT_FOUND]");
    result_free(&r);
    free(im.bytes);
    free(path);
}

/* Records that reach into another segment, in a standalone file: checked
 * by pcache_reloc_check_targets() when the file is opened. */
static void standalone_cross_class_targets(void **state)
{
    static const struct {
        unsigned field, width;
        uint64_t add;
        const char *what;
    } cases[] = {
        {RR_TARGET_BASE, 8, 8, "target_base"},
        {RR_TARGET_INDEX, 2, 4, "target index"},
        {RR_TARGET_OFFSET, 8, 64, "target offset"},
        {RR_TARGET_CLASS, 1, 2, "target class without a segment"}, /* ro (1) -> rw (3) */
    };
    fixture *f = *state;
    run_result r;
    char *path = path_in(f, "targets.pcache");

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        image_file im;
        uint8_t *copy;
        uint64_t rel, at;

        /* the last case in a file without an rw segment */
        standalone_file(&im, cases[k].field != RR_TARGET_CLASS);
        assert_true(same_verdict(f, "as written", im.bytes, im.size));
        rel = section_at(&im, PCACHE_RX, ".relocs", NULL);
        assert_true(rel != 0);
        /* record 0 is the reference to ro's table */
        assert_int_equal(im.bytes[rel + RR_TARGET_CLASS], 1);
        copy = malloc(im.size);
        assert_non_null(copy);
        memcpy(copy, im.bytes, im.size);
        at = rel + cases[k].field;
        put_le(copy + at, le(copy + at, cases[k].width) + cases[k].add, cases[k].width);
        resign(&im, copy);
        assert_false(same_verdict(f, cases[k].what, copy, im.size));
        write_bytes(path, copy, im.size);
        run(f, &r, inspect_tool, "verify", path, NULL);
        expect_contains(cases[k].what, r.err, "[PCACHE_E_RELOC_TARGET]");
        result_free(&r);
        free(copy);
        free(im.bytes);
    }
    free(path);
}

int main(int argc, char **argv)
{
#define CASE(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        CASE(standalone_sweep),
        CASE(dpc_sweep),
        CASE(dpc_carried_sweep),
        CASE(dpc_segment_gone),
        CASE(dpc_without_manifest),
        CASE(standalone_cross_class_targets),
    };
#undef CASE

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s PCACHE_INSPECT [CASE]\n", argv[0]);
        return 2;
    }
    inspect_tool = argv[1];
    if (getenv("PCACHE_TOOL_WRAPPER") && *getenv("PCACHE_TOOL_WRAPPER"))
        sweep_stride = 5;
    return run_cases(tests, sizeof tests / sizeof tests[0], argc == 3 ? argv[2] : NULL);
}
