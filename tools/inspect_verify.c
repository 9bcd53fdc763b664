/* SPDX-License-Identifier: BSD-2-Clause */
/* Every problem of a file the library refused, not only the first.
 *
 * The library stops at the first failure, which is right for a loader but
 * not for a person repairing a file.  So a refused file is looked at again
 * part by part, each part checked on its own: the file header's fields one
 * by one, the footer, each segment located through the file header (even
 * when the header's checksum is bad, as long as its offsets are plausible),
 * and inside each segment whose header and table hold, every section's
 * checksum (lazy validation, then pcache_segment_section() for each
 * index), every trailer raw checksum and every padding gap.  The library
 * does the checking wherever it can; this file reads the few header fields
 * it needs to locate things by the offsets docs/FORMAT.md gives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "pcache/bind.h"
#include "pcache/reloc.h"

/* docs/FORMAT.md 7.2 and 7.3: the standalone file header and footer. */
enum {
    FH_MAGIC_SIZE = 8,
    FH_SIZE = 128,
    FH_MAJOR = 8,
    FH_MINOR = 10,
    FH_HEADER_SIZE = 12,
    FH_CHECKSUM = 14,
    FH_RESERVED0 = 15,
    FH_PAGE_SIZE = 16,
    FH_FLAGS = 20,
    FH_FILE_SIZE = 24,
    FH_IMAGE_ID = 32,
    FH_SEGMENTS = 48, /* ro, rx, rw: u64 offset, u64 size */
    FH_RESERVED = 96,
    FH_RESERVED_SIZE = 24,
    FH_HEADER_CHECKSUM = 120,
    FF_SIZE = 32,
    FF_FILE_SIZE = 8,
    FF_HEADER_CHECKSUM = 16,
    FF_FOOTER_CHECKSUM = 24,
};
static const uint8_t footer_magic[8] = {0x89, 'P', 'C', 'E', 'N', 'D', '\r', '\n'};

/* docs/FORMAT.md 3.1, 3.2, 3.5: a segment's header, table entry and
 * trailer entry sizes, and where its header keeps its file offset, size
 * and trailer offset. */
enum {
    SEG_HEADER = 256,
    SEG_ENTRY = 64,
    SEG_TRAILER_ENTRY = 16,
    SH_FILE_OFFSET = 32,
    SH_SEGMENT_SIZE = 40,
    SH_TRAILER_OFFSET = 48,
    ST_RAW = 8
};

#define PAGE_MIN 4096u
#define PAGE_MAX (1u << 30)

static uint64_t ld_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static uint64_t ld64be(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static int page_size_valid(uint64_t p)
{
    return p >= PAGE_MIN && p <= PAGE_MAX && (p & (p - 1)) == 0;
}

/* Reports [from, to) of a segment (seg_file_offset) or of the file
 * (NO_OFFSET) if any byte there is not zero: where the first is, and how
 * many there are. */
static void check_zero(problems *ps, const uint8_t *base, uint64_t from, uint64_t to, int cls, const char *section,
                       uint64_t seg_file_offset, const char *what)
{
    uint64_t first = to, nonzero = 0;
    for (uint64_t i = from; i < to; i++)
        if (base[i]) {
            if (first == to)
                first = i;
            nonzero++;
        }
    if (nonzero)
        problems_add(ps, PCACHE_E_PADDING, cls, section, seg_file_offset, first, 1, 0, base[first],
                     "%s (%llu nonzero byte%s in [0x%llx, 0x%llx))", what, (unsigned long long)nonzero,
                     nonzero == 1 ? "" : "s", (unsigned long long)from, (unsigned long long)to);
}

/* ---- one segment ---- */

/* A section whose trailer raw checksum the format leaves unused (zero):
 * one of a type this reader knows, not compressed (docs/FORMAT.md 3.5). */
static int stored_as_loaded(const pcache_view *v)
{
    return (v->type == PCACHE_TYPE_DATA || v->type == PCACHE_TYPE_RELOCS || v->type == PCACHE_TYPE_ANCHORS) &&
           !(v->flags & ~PCACHE_SECTION_SKIPPABLE);
}

/* A section the library can inflate (docs/FORMAT.md 3.8). */
static int compressed(const pcache_view *v)
{
    return v->type == PCACHE_TYPE_DATA && (v->flags & PCACHE_SECTION_COMPRESSED) &&
           !(v->flags & ~(PCACHE_SECTION_SKIPPABLE | PCACHE_SECTION_COMPRESSED));
}

/* Resurrect does not inflate; a loader does, on access.  So the stream is
 * inflated here, and (at lazy or full validation) the inflated bytes
 * compared with the raw checksum, by the library. */
static void check_inflates(problems *ps, pcache_segment *seg, uint32_t i, uint64_t file_offset)
{
    pcache_report rep;
    void *buf = NULL;
    if (pcache_segment_inflate_alloc(seg, i, &buf, NULL, &rep) != PCACHE_OK)
        problems_add_report(ps, &rep, file_offset);
    pcache_free(buf);
}

/* Checks a segment with whatever of it can be checked.  identity (may be
 * NULL): what the file expects of it, compared once its structure holds.
 * Returns 1 with *seg filled when its header and table are valid. */
static int verify_segment(problems *ps, const uint8_t *base, uint64_t available, pcache_class cls,
                          uint64_t file_offset, const pcache_expect *identity, pcache_segment *seg,
                          uint64_t *sections_checked)
{
    pcache_expect exp;
    pcache_report rep;
    pcache_segment lazy;
    const uint8_t *map = base;
    uint64_t toff, cursor;
    uint32_t n;
    int use_lazy;
    char reported[PCACHE_SECTION_NAME_MAX + 1] = "";

    /* No identity yet: the structure first.  Lazily validated, the library
     * checks each section when it is looked up; validated at header level
     * the segment gives views of sections that fail their checksums, for
     * the padding checks around them. */
    memset(&exp, 0, sizeof exp);
    exp.validation = PCACHE_VALIDATE_LAZY;
    use_lazy = pcache_resurrect(&lazy, cls, &map, available, &exp, &rep) == PCACHE_OK;
    if (!use_lazy && rep.status == PCACHE_E_SECTION_CHECKSUM) {
        /* a relocation table is checksummed during resurrect */
        problems_add_report(ps, &rep, file_offset);
        snprintf(reported, sizeof reported, "%s", rep.section);
    }
    exp.validation = PCACHE_VALIDATE_HEADER;
    map = base;
    if (pcache_resurrect(seg, cls, &map, available, &exp, &rep) != PCACHE_OK) {
        if (!problems_have(ps, rep.status, rep.cls))
            problems_add_report(ps, &rep, file_offset);
        return 0;
    }

    n = seg->section_count;
    cursor = SEG_HEADER + (uint64_t)SEG_ENTRY * n;
    toff = ld_le(base + SH_TRAILER_OFFSET, 8); /* resurrect checked it is canonical */
    for (uint32_t i = 0; i < n; i++) {
        pcache_view v;
        int stored_ok = 1;
        if (pcache_segment_section(seg, i, &v, &rep) != PCACHE_OK) {
            problems_add_report(ps, &rep, file_offset); /* not expected at header level */
            continue;
        }
        if (use_lazy) {
            pcache_view checked;
            if (pcache_segment_section(&lazy, i, &checked, &rep) != PCACHE_OK) {
                problems_add_report(ps, &rep, file_offset);
                stored_ok = 0;
            }
        } else if (strcmp(reported, v.name) != 0) {
            uint64_t stored, got = pcache_checksum(seg->identity.checksum, v.data, (size_t)v.size);
            if (pcache_segment_section_checksum(seg, i, &stored) == PCACHE_OK && stored != got) {
                problems_add(ps, PCACHE_E_SECTION_CHECKSUM, (int)cls, v.name, file_offset, v.offset, 1, stored, got,
                             "section checksum mismatch");
                stored_ok = 0;
            }
        } else {
            stored_ok = 0;
        }
        if (stored_ok && compressed(&v))
            check_inflates(ps, use_lazy ? &lazy : seg, i, file_offset);
        (*sections_checked)++;
        check_zero(ps, base, cursor, v.offset, (int)cls, v.name, file_offset, "padding before the section is not zero");
        cursor = v.offset + v.size;
    }
    check_zero(ps, base, cursor, toff, (int)cls, NULL, file_offset,
               "padding before the checksum trailer is not zero");
    for (uint32_t i = 0; i < n; i++) {
        uint64_t at = toff + (uint64_t)SEG_TRAILER_ENTRY * i + ST_RAW;
        uint64_t raw = ld64be(base + at);
        pcache_view v;
        if (raw && pcache_segment_section(seg, i, &v, NULL) == PCACHE_OK && stored_as_loaded(&v))
            problems_add(ps, PCACHE_E_PADDING, (int)cls, v.name, file_offset, at, 1, 0, raw,
                         "trailer raw checksum of an uncompressed section must be zero");
    }
    check_zero(ps, base, toff + (uint64_t)SEG_TRAILER_ENTRY * n, seg->size, (int)cls, NULL, file_offset,
               "padding after the checksum trailer is not zero");

    if (identity) {
        pcache_segment again;
        exp = *identity;
        exp.validation = PCACHE_VALIDATE_HEADER;
        map = base;
        if (pcache_resurrect(&again, cls, &map, available, &exp, &rep) != PCACHE_OK && !problems_have(ps, rep.status, rep.cls))
            problems_add_report(ps, &rep, file_offset);
    }
    return 1;
}

/* ---- a standalone file ---- */

/* docs/FORMAT.md 7.1: where the segments and the footer must be.
 * Returns 0 when the computation overflows (no placement matches). */
static int canonical_placement(const uint64_t size[PCACHE_CLASS_COUNT], uint64_t page,
                               uint64_t offset[PCACHE_CLASS_COUNT], uint64_t *file_size)
{
    uint64_t cursor = page;
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        offset[c] = 0;
        if (!size[c])
            continue;
        if (cursor > UINT64_MAX - (page - 1))
            return 0;
        offset[c] = (cursor + page - 1) & ~(page - 1);
        if (offset[c] > UINT64_MAX - size[c])
            return 0;
        cursor = offset[c] + size[c];
    }
    if (cursor > UINT64_MAX - FF_SIZE)
        return 0;
    *file_size = cursor + FF_SIZE;
    return 1;
}

static void verify_footer(problems *ps, const uint8_t *p, uint64_t size, int algo_known)
{
    const uint64_t at = size - FF_SIZE;
    const uint8_t *f = p + at;

    if (memcmp(f, footer_magic, sizeof footer_magic) != 0) {
        problems_add(ps, PCACHE_E_FILE_FOOTER, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, at, 0, 0, 0,
                     "file: footer magic missing in the last %u bytes", FF_SIZE);
        return;
    }
    if (algo_known) {
        uint64_t want = ld64be(f + FF_FOOTER_CHECKSUM);
        uint64_t got = pcache_checksum((pcache_checksum_algorithm)p[FH_CHECKSUM], f, FF_FOOTER_CHECKSUM);
        if (want != got)
            problems_add(ps, PCACHE_E_FILE_FOOTER, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, at + FF_FOOTER_CHECKSUM, 1,
                         want, got, "file: footer checksum (stored, computed)");
    }
    if (ld_le(f + FF_FILE_SIZE, 8) != size)
        problems_add(ps, PCACHE_E_FILE_FOOTER, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, at + FF_FILE_SIZE, 1, size,
                     ld_le(f + FF_FILE_SIZE, 8), "file: footer file size (actual, footer)");
    if (ld64be(f + FF_HEADER_CHECKSUM) != ld64be(p + FH_HEADER_CHECKSUM))
        problems_add(ps, PCACHE_E_FILE_FOOTER, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, at + FF_HEADER_CHECKSUM, 1,
                     ld64be(p + FH_HEADER_CHECKSUM), ld64be(f + FF_HEADER_CHECKSUM),
                     "file: footer's copy of the header checksum (header, footer)");
}

static void verify_standalone(const inspect_file *f, problems *ps, uint64_t *checked)
{
    static const char *const field_of[PCACHE_CLASS_COUNT] = {"ro", "rx", "rw"};
    const uint8_t *p = f->data;
    const uint64_t size = f->size;
    uint64_t seg_off[PCACHE_CLASS_COUNT], seg_size[PCACHE_CLASS_COUNT], canon[PCACHE_CLASS_COUNT];
    uint64_t page, fsize, canon_size = 0;
    int header_ok = 1, algo_known, layout_ok;
    pcache_expect identity;
    pcache_segment seg[PCACHE_CLASS_COUNT];
    int have_first = 0, all_valid = 1;
    /* a segment is read no further than the next part: the next segment,
     * or the footer */
    uint64_t parts_end = size >= FH_SIZE + FF_SIZE ? size - FF_SIZE : size;

    if (size < FH_MAGIC_SIZE) {
        problems_add(ps, PCACHE_E_TRUNCATED, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, 0, 1, FH_SIZE, size,
                     "file: too short for a header");
        return;
    }
    if (size < FH_SIZE) {
        problems_add(ps, PCACHE_E_TRUNCATED, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, 0, 1, FH_SIZE, size,
                     "file: too short for a header");
        return;
    }
    /* a later major version may mean anything by every later byte */
    if (ld_le(p + FH_MAJOR, 2) != PCACHE_FORMAT_MAJOR) {
        problems_add(ps, PCACHE_E_FORMAT_VERSION, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, FH_MAJOR, 1,
                     PCACHE_FORMAT_MAJOR, ld_le(p + FH_MAJOR, 2), "file: format major version");
        return;
    }
    algo_known = p[FH_CHECKSUM] == PCACHE_CHECKSUM_XXH3_64 || p[FH_CHECKSUM] == PCACHE_CHECKSUM_CRC32;
    if (!algo_known) {
        problems_add(ps, PCACHE_E_CHECKSUM_ALGORITHM, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, FH_CHECKSUM, 1,
                     PCACHE_CHECKSUM_XXH3_64, p[FH_CHECKSUM], "file: unknown checksum algorithm code");
        header_ok = 0;
    } else {
        uint64_t want = ld64be(p + FH_HEADER_CHECKSUM);
        uint64_t got = pcache_checksum((pcache_checksum_algorithm)p[FH_CHECKSUM], p, FH_HEADER_CHECKSUM);
        if (want != got) {
            problems_add(ps, PCACHE_E_FILE_HEADER_CHECKSUM, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET,
                         FH_HEADER_CHECKSUM, 1, want, got,
                         "file: header checksum (stored, computed)");
            header_ok = 0;
        }
    }

    /* every header field on its own */
    if (ld_le(p + FH_HEADER_SIZE, 2) != FH_SIZE)
        problems_add(ps, PCACHE_E_FILE_HEADER, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, FH_HEADER_SIZE, 1, FH_SIZE,
                     ld_le(p + FH_HEADER_SIZE, 2), "file: header size");
    page = ld_le(p + FH_PAGE_SIZE, 4);
    if (!page_size_valid(page))
        problems_add(ps, PCACHE_E_FILE_HEADER, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, FH_PAGE_SIZE, 0, 0, 0,
                     "file: page size %llu is not a power of two in [4096, 2^30]", (unsigned long long)page);
    if (ld_le(p + FH_FLAGS, 4) != 0)
        problems_add(ps, PCACHE_E_FILE_HEADER, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, FH_FLAGS, 1, 0,
                     ld_le(p + FH_FLAGS, 4), "file: unknown file flags set");
    if (ld_le(p + FH_MINOR, 2) <= PCACHE_FORMAT_MINOR) {
        if (p[FH_RESERVED0])
            problems_add(ps, PCACHE_E_FILE_HEADER, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, FH_RESERVED0, 1, 0,
                         p[FH_RESERVED0], "file: reserved header byte is not zero");
        for (unsigned i = 0; i < FH_RESERVED_SIZE; i++)
            if (p[FH_RESERVED + i]) {
                problems_add(ps, PCACHE_E_FILE_HEADER, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, FH_RESERVED + i, 1,
                             0, p[FH_RESERVED + i], "file: reserved header byte is not zero");
                break;
            }
    }
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        seg_off[c] = ld_le(p + FH_SEGMENTS + 16 * c, 8);
        seg_size[c] = ld_le(p + FH_SEGMENTS + 16 * c + 8, 8);
        if (!seg_size[c] && seg_off[c])
            problems_add(ps, PCACHE_E_FILE_HEADER, c, NULL, NO_OFFSET, FH_SEGMENTS + 16 * c, 1, 0, seg_off[c],
                         "file header: %s_offset of an absent segment is not zero", field_of[c]);
    }
    fsize = ld_le(p + FH_FILE_SIZE, 8);
    if (fsize != size)
        problems_add(ps, size < fsize ? PCACHE_E_TRUNCATED : PCACHE_E_FILE_SIZE, PCACHE_REPORT_NO_CLASS, NULL,
                     NO_OFFSET, FH_FILE_SIZE, 1, fsize, size, "file: file size (header, actual)");
    layout_ok = page_size_valid(page) && canonical_placement(seg_size, page, canon, &canon_size);
    if (!layout_ok || canon_size != fsize) {
        problems_add(ps, PCACHE_E_FILE_LAYOUT, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, FH_SEGMENTS, 1, fsize,
                     canon_size, "file: segment sizes do not add up to the header's file size");
        layout_ok = 0;
    } else {
        for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
            if (seg_off[c] != canon[c]) {
                problems_add(ps, PCACHE_E_FILE_LAYOUT, c, NULL, NO_OFFSET, FH_SEGMENTS + 16 * c, 1, canon[c],
                             seg_off[c], "file header: %s_offset is not the canonical one", field_of[c]);
                layout_ok = 0;
            }
    }
    if (size >= FH_SIZE + FF_SIZE)
        verify_footer(ps, p, size, algo_known);

    /* the segments, each on its own */
    memset(&identity, 0, sizeof identity);
    if (header_ok) {
        memcpy(identity.identity.image_id, p + FH_IMAGE_ID, PCACHE_IMAGE_ID_SIZE);
        identity.identity.checksum = (pcache_checksum_algorithm)p[FH_CHECKSUM];
        identity.identity.page_size = (uint32_t)page;
        identity.check = PCACHE_CHECK_IMAGE_ID | PCACHE_CHECK_CHECKSUM_ALGO | PCACHE_CHECK_PAGE_SIZE;
    }
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        uint64_t end = parts_end;
        if (!seg_size[c])
            continue;
        if (seg_off[c] < FH_SIZE || seg_off[c] >= parts_end) {
            problems_add(ps, PCACHE_E_FILE_LAYOUT, c, NULL, NO_OFFSET, FH_SEGMENTS + 16 * c, 0, 0, 0,
                         "cannot be checked: file header's %s_offset 0x%llx is not inside the file between the "
                         "header and the footer",
                         field_of[c], (unsigned long long)seg_off[c]);
            all_valid = 0;
            continue;
        }
        for (int k = 0; k < PCACHE_CLASS_COUNT; k++)
            if (seg_size[k] && seg_off[k] > seg_off[c] && seg_off[k] < end)
                end = seg_off[k];
        if (!verify_segment(ps, p + seg_off[c], end - seg_off[c], (pcache_class)c, seg_off[c],
                            identity.check ? &identity : NULL, &seg[c], checked)) {
            all_valid = 0;
            continue;
        }
        if (seg[c].file_offset != seg_off[c])
            problems_add(ps, PCACHE_E_FILE_LAYOUT, c, NULL, seg_off[c], SH_FILE_OFFSET, 1, seg_off[c],
                         seg[c].file_offset, "the segment was laid out for another file offset (its place, its header's)");
        if (seg[c].size != seg_size[c])
            problems_add(ps, PCACHE_E_FILE_LAYOUT, c, NULL, seg_off[c], SH_SEGMENT_SIZE, 1, seg_size[c], seg[c].size,
                         "segment size (the file header's %s_size, the segment's own)", field_of[c]);
        /* one image, one identity: later segments state the first one's */
        if (!have_first) {
            uint8_t id[PCACHE_IMAGE_ID_SIZE];
            memcpy(id, identity.identity.image_id, sizeof id);
            identity.identity = seg[c].identity;
            if (header_ok)
                memcpy(identity.identity.image_id, id, sizeof id);
            identity.check |= (PCACHE_CHECK_DEFAULT & ~PCACHE_CHECK_ALIGNMENT) | PCACHE_CHECK_MODULE_BASE;
            have_first = 1;
        }
    }
    /* references between the segments, when every segment can be read
     * (docs/FORMAT.md 7.4 step 9) */
    if (all_valid) {
        const pcache_segment *segs[PCACHE_CLASS_COUNT];
        for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
            segs[c] = seg_size[c] ? &seg[c] : NULL;
        for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
            pcache_report rep;
            if (segs[c] && pcache_reloc_check_targets(segs[c], segs, &rep) != PCACHE_OK)
                problems_add_report(ps, &rep, seg_off[c]);
        }
    }

    /* padding, where the layout says what is padding */
    if (layout_ok && fsize == size) {
        uint64_t cursor = FH_SIZE;
        check_zero(ps, p, cursor, page, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET,
                   "file: padding after the file header is not zero");
        cursor = page;
        for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
            if (!seg_size[c])
                continue;
            check_zero(ps, p, cursor, seg_off[c], PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET,
                       "file: padding between segments is not zero");
            cursor = seg_off[c] + seg_size[c];
        }
        check_zero(ps, p, cursor, size - FF_SIZE, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET,
                   "file: padding before the footer is not zero");
    }
}

/* ---- a DynamoRIO file ---- */

static void md5_hex(const uint8_t *md5, char out[2 * PCACHE_DPC_MD5_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < PCACHE_DPC_MD5_LEN; i++) {
        out[2 * i] = digits[md5[i] >> 4];
        out[2 * i + 1] = digits[md5[i] & 15];
    }
    out[2 * PCACHE_DPC_MD5_LEN] = '\0';
}

static void verify_dpc_images(const inspect_file *f, problems *ps);

/* DR's layout, the digests, and each refused segment candidate held (the
 * first INSPECT_MAX_REFUSED: see inspect_load.c), then each client's image. */
static void verify_dpc(const inspect_file *f, problems *ps, uint64_t *checked)
{
    const pcache_dpc *d = &f->dpc;

    if (f->dpc_status != PCACHE_OK && f->dpc_status != PCACHE_E_DPC_DIGEST)
        problems_add_report(ps, &f->dpc_report, NO_OFFSET);
    if (d->have_digests) {
        uint64_t foot = d->region[PCACHE_DPC_R_FOOTER].offset;
        char stored[33], computed[33];
        if (!d->header_md5_matches) {
            md5_hex(d->stored_header_md5, stored);
            md5_hex(d->computed_header_md5, computed);
            problems_add(ps, PCACHE_E_DPC_DIGEST, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, foot + PCACHE_DPC_MD5_LEN, 0,
                         0, 0, "footer: MD5 of the header (bytes [0, %llu)) does not match: stored %s, computed %s",
                         (unsigned long long)d->header.header_len, stored, computed);
        }
        if (!d->file_md5_matches) {
            md5_hex(d->stored_file_md5, stored);
            md5_hex(d->computed_file_md5, computed);
            problems_add(ps, PCACHE_E_DPC_DIGEST, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, foot, 0, 0, 0,
                         "footer: MD5 of the whole file before the footer (bytes [0, %llu)) does not match: "
                         "stored %s, computed %s",
                         (unsigned long long)foot, stored, computed);
        }
    }
    for (size_t i = 0; i < f->seg_count; i++) {
        const found_segment *fs = &f->segs[i];
        const pcache_dpc_span *slot = &d->client_data[fs->slot];
        const uint8_t *base = f->data + fs->file_offset;
        uint64_t available = slot->offset + slot->size - fs->file_offset;
        size_t before = ps->count;
        pcache_class cls = (pcache_class)fs->slot;
        pcache_segment seg;

        if (fs->status == PCACHE_OK) {
            *checked += fs->seg.section_count;
            continue;
        }
        /* the class the segment states, as pcache_dpc_find_segments() does */
        if (available > 16 && base[16] >= 1 && base[16] <= PCACHE_CLASS_COUNT)
            cls = (pcache_class)(base[16] - 1);
        verify_segment(ps, base, available, cls, fs->file_offset, NULL, &seg, checked);
        if (ps->count == before)
            problems_add_report(ps, &fs->report, fs->file_offset);
    }
    if (d->have_layout)
        verify_dpc_images(f, ps);
}

/* ---- a .dpc file's images, as pcache_bind() and the DR adapter see them ---- */

/* Every anchor is where it was at persist time: verify judges the bytes,
 * not an address space. */
static int resolve_persisted(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    (void)ctx;
    (void)name;
    *address = persisted;
    return 0;
}

/* The segments of a .dpc file indexed twice, so that checking every
 * client's image is O(n log n) in the number of segments, whatever the
 * file holds: by client name (valid ones, ties in file order), and by
 * file offset. */
typedef struct dpc_index {
    const inspect_file *f;
    size_t *by_name, nnamed; /* indices of valid segments */
    size_t *by_offset;       /* indices of every segment */
} dpc_index;

static const inspect_file *sort_file; /* qsort has no context argument */

static int by_name_cmp(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, k = *(const size_t *)b;
    int c = strcmp(sort_file->segs[i].seg.identity.client_name, sort_file->segs[k].seg.identity.client_name);
    return c ? c : (i > k) - (i < k);
}

static int by_offset_cmp(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, k = *(const size_t *)b;
    uint64_t x = sort_file->segs[i].file_offset, y = sort_file->segs[k].file_offset;
    return x != y ? (x > y) - (x < y) : (i > k) - (i < k);
}

static const size_t *sort_groups_of; /* qsort has no context argument */

static int group_cmp(const void *a, const void *b)
{
    size_t i = sort_groups_of[*(const size_t *)a], k = sort_groups_of[*(const size_t *)b];
    return (i > k) - (i < k);
}

/* The candidate that starts at file offset at (the first in file order),
 * or NULL (or one of the refused candidates past INSPECT_MAX_REFUSED,
 * which are not held). */
static const found_segment *candidate_at(const dpc_index *x, uint64_t at)
{
    size_t lo = 0, hi = x->f->seg_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->f->segs[x->by_offset[mid]].file_offset < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < x->f->seg_count && x->f->segs[x->by_offset[lo]].file_offset == at ? &x->f->segs[x->by_offset[lo]]
                                                                                    : NULL;
}

/* A refused candidate in DR's ro slot whose header names client name
 * (unverified): it may be that client's ro segment. */
static int refused_ro_of(const inspect_file *f, const char *name)
{
    if (f->refused_not_listed)
        return 1; /* one not held may be */
    for (size_t i = 0; i < f->seg_count; i++) {
        const found_segment *fs = &f->segs[i];
        const pcache_dpc_span *slot = &f->dpc.client_data[PCACHE_RO];
        char who[PCACHE_CLIENT_NAME_MAX + 1];
        pcache_class cls;
        if (fs->status == PCACHE_OK || fs->slot != PCACHE_RO)
            continue;
        if (pcache_slot_peek(f->data + fs->file_offset, slot->offset + slot->size - fs->file_offset, &cls, who) !=
                PCACHE_OK ||
            strcmp(who, name) == 0)
            return 1;
    }
    return 0;
}

static int same_client(const found_segment *fs, const char *name)
{
    return fs->status == PCACHE_OK && strcmp(fs->seg.identity.client_name, name) == 0;
}

/* The image of one client, whose valid segments are x->by_name[first,
 * first + n): its ro segment's manifest, the segments it lists, and
 * pcache_bind() on them. */
static void verify_dpc_image(const dpc_index *x, size_t first, size_t n, problems *ps)
{
    const inspect_file *f = x->f;
    const char *name = f->segs[x->by_name[first]].seg.identity.client_name;
    const found_segment *ro = NULL, *listed[PCACHE_CLASS_COUNT] = {NULL, NULL, NULL};
    pcache_segment copy[PCACHE_CLASS_COUNT], *segs[PCACHE_CLASS_COUNT] = {NULL, NULL, NULL};
    uint64_t off[PCACHE_CLASS_COUNT] = {0}, size[PCACHE_CLASS_COUNT] = {0};
    size_t before = ps->count;
    pcache_bound_image img;
    pcache_bind_options opt;
    pcache_report rep;
    pcache_status st;
    int bindable = 1;

    /* DR hands its ro slot to the ro callbacks and the others to the rx
     * and rw ones; the adapter takes a segment that states another kind
     * of class for a file that is not as written */
    for (size_t j = first; j < first + n; j++) {
        const found_segment *fs = &f->segs[x->by_name[j]];
        if ((fs->seg.cls == PCACHE_RO) != (fs->slot == PCACHE_RO))
            problems_add(ps, PCACHE_E_CLASS, (int)fs->seg.cls, NULL, fs->file_offset, 16, 0, 0, 0,
                         "client '%s': a segment of class %s in DR's %s slot, which the DR adapter refuses", name,
                         pcache_class_name(fs->seg.cls), pcache_class_name((pcache_class)fs->slot));
        else if (fs->seg.cls == PCACHE_RO && ro)
            problems_add(ps, PCACHE_E_FILE_LAYOUT, PCACHE_RO, NULL, fs->file_offset, 0, 0, 0, 0,
                         "client '%s': a second ro segment (the first is at file offset 0x%llx): an image has one",
                         name, (unsigned long long)ro->file_offset);
        else if (fs->seg.cls == PCACHE_RO)
            ro = fs;
    }
    if (ps->count != before)
        return;
    if (!ro) {
        if (!refused_ro_of(f, name))
            problems_add(ps, PCACHE_E_NOT_FOUND, PCACHE_RO, NULL, NO_OFFSET, NO_OFFSET, 0, 0, 0,
                         "client '%s' has rx or rw segments but no ro segment, which holds the image's manifest: "
                         "pcache_bind() and the DR adapter refuse them",
                         name);
        return;
    }

    /* where the manifest says the other segments are */
    copy[PCACHE_RO] = ro->seg;
    for (int c = PCACHE_RX; c <= PCACHE_RW; c++)
        if ((st = pcache_bind_manifest_entry(&copy[PCACHE_RO], (pcache_class)c, &off[c], &size[c], &rep)) !=
            PCACHE_OK) {
            if (st == PCACHE_E_NOT_FOUND)
                problems_add(ps, st, PCACHE_RO, NULL, ro->file_offset, NO_OFFSET, 0, 0, 0,
                             "client '%s': the ro segment at file offset 0x%llx has no manifest ('%s'): "
                             "pcache_bind() and the DR adapter refuse the image (it was not written with "
                             "pcache_builder_prepare_split())",
                             name, (unsigned long long)ro->file_offset, PCACHE_MANIFEST_SECTION);
            else
                problems_add_report(ps, &rep, ro->file_offset);
            return;
        }
    for (int c = PCACHE_RX; c <= PCACHE_RW; c++) {
        const found_segment *at = size[c] ? candidate_at(x, off[c]) : NULL;
        if (size[c] && !at && f->refused_not_listed)
            bindable = 0; /* a refused candidate not held may be there */
        else if (size[c] && !at)
            problems_add(ps, PCACHE_E_FILE_LAYOUT, c, NULL, NO_OFFSET, off[c], 1, size[c], 0,
                         "client '%s': the image's manifest lists an %s segment here, and there is none "
                         "(its size, bytes found)",
                         name, pcache_class_name((pcache_class)c));
        else if (at && at->status != PCACHE_OK)
            bindable = 0; /* refused: its own problem is listed */
        else if (at)
            listed[c] = at;
    }
    /* a segment of this client the manifest does not list */
    for (size_t j = first; j < first + n; j++) {
        const found_segment *fs = &f->segs[x->by_name[j]];
        if (fs == ro || fs == listed[PCACHE_RX] || fs == listed[PCACHE_RW])
            continue; /* a listed one of another class: pcache_bind() says so */
        problems_add(ps, PCACHE_E_FILE_LAYOUT, (int)fs->seg.cls, NULL, fs->file_offset, 0, 1, size[fs->seg.cls],
                     fs->seg.size,
                     "client '%s': an %s segment the image's manifest does not list there (it lists %llu bytes at "
                     "file offset 0x%llx; sizes shown)",
                     name, pcache_class_name(fs->seg.cls), (unsigned long long)size[fs->seg.cls],
                     (unsigned long long)off[fs->seg.cls]);
    }
    if (ps->count != before || !bindable)
        return;

    segs[PCACHE_RO] = &copy[PCACHE_RO];
    for (int c = PCACHE_RX; c <= PCACHE_RW; c++)
        if (listed[c]) {
            copy[c] = listed[c]->seg;
            segs[c] = &copy[c];
        }
    memset(&opt, 0, sizeof opt);
    opt.resolve = resolve_persisted;
    opt.flags = PCACHE_BIND_PRIVATE;
    st = pcache_bind(&img, segs, &opt, &rep);
    /* what depends on where and when the image is loaded, not on its
     * bytes: memory, the addresses the records are applied for */
    if (st == PCACHE_OK)
        pcache_bound_release(&img);
    else if (st != PCACHE_E_NO_MEMORY && st != PCACHE_E_ACCESS && st != PCACHE_E_RELOC_RANGE && st != PCACHE_E_ANCHOR) {
        uint64_t at = rep.cls >= 0 && rep.cls < PCACHE_CLASS_COUNT && segs[rep.cls] ? segs[rep.cls]->file_offset
                                                                                    : NO_OFFSET;
        if (rep.offset == NO_OFFSET)
            at = NO_OFFSET;
        problems_add_report(ps, &rep, at);
    }
}

/* Every client's image in the file, each once, in the order of its
 * first valid segment in the file. */
static void verify_dpc_images(const inspect_file *f, problems *ps)
{
    dpc_index x;
    size_t n = f->seg_count, *groups = NULL, ngroups = 0;

    memset(&x, 0, sizeof x);
    x.f = f;
    if (n == 0)
        return;
    x.by_name = malloc(n * sizeof *x.by_name);
    x.by_offset = malloc(n * sizeof *x.by_offset);
    groups = malloc(n * sizeof *groups);
    if (!x.by_name || !x.by_offset || !groups) {
        problems_add(ps, PCACHE_E_NO_MEMORY, -1, NULL, NO_OFFSET, NO_OFFSET, 0, 0, 0,
                     "no memory to index %zu segments for the image check", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        x.by_offset[i] = i;
        if (f->segs[i].status == PCACHE_OK)
            x.by_name[x.nnamed++] = i;
    }
    sort_file = f;
    qsort(x.by_name, x.nnamed, sizeof *x.by_name, by_name_cmp);
    qsort(x.by_offset, n, sizeof *x.by_offset, by_offset_cmp);
    /* groups of one name, then in the order of their first segment */
    for (size_t j = 0; j < x.nnamed; j++)
        if (j == 0 || !same_client(&f->segs[x.by_name[j]], f->segs[x.by_name[j - 1]].seg.identity.client_name))
            groups[ngroups++] = j;
    sort_file = NULL;
    /* a group's first entry is its segment first in the file (ties were
     * broken by index): order the groups by it */
    sort_groups_of = x.by_name;
    qsort(groups, ngroups, sizeof *groups, group_cmp);
    sort_groups_of = NULL;
    for (size_t g = 0; g < ngroups; g++) {
        size_t first = groups[g], end = first + 1;
        while (end < x.nnamed &&
               same_client(&f->segs[x.by_name[end]], f->segs[x.by_name[first]].seg.identity.client_name))
            end++;
        verify_dpc_image(&x, first, end - first, ps);
    }
out:
    free(x.by_name);
    free(x.by_offset);
    free(groups);
}

void verify_find_problems(const inspect_file *f, problems *ps, uint64_t *sections_checked)
{
    *sections_checked = 0;
    if (inspect_file_valid(f)) {
        *sections_checked = inspect_section_count(f);
        for (size_t k = 0; k < f->seg_count; k++) {
            pcache_segment seg = f->segs[k].seg; /* validated in full */
            for (uint32_t i = 0; i < seg.section_count; i++) {
                pcache_view v;
                if (pcache_segment_section(&seg, i, &v, NULL) == PCACHE_OK && compressed(&v))
                    check_inflates(ps, &seg, i, f->segs[k].file_offset);
            }
        }
        if (f->kind == KIND_DPC)
            verify_dpc_images(f, ps);
        return;
    }
    if (f->kind == KIND_PCACHE)
        verify_standalone(f, ps, sections_checked);
    else if (f->kind == KIND_DPC)
        verify_dpc(f, ps, sections_checked);
    /* whatever the parts say, the library's own finding is listed */
    if (ps->count == 0 || !problems_have(ps, f->verdict.status, f->verdict.cls))
        problems_prepend(ps, &f->verdict);
}

/* ---- the subcommand ---- */

static void print_valid(const inspect_file *f)
{
    uint64_t n = inspect_section_count(f);
    if (f->kind == KIND_PCACHE) {
        printf("'%s' is valid: format %u.%u, %llu bytes, %llu section%s\n", f->path, f->img.format_major,
               f->img.format_minor, (unsigned long long)f->size, (unsigned long long)n, n == 1 ? "" : "s");
        return;
    }
    printf("'%s' is valid: DynamoRIO .dpc file version %u, %llu bytes, header and file MD5 match, %zu pcache "
           "segment%s, %llu section%s\n",
           f->path, f->dpc.header.version, (unsigned long long)f->size, f->seg_count, f->seg_count == 1 ? "" : "s",
           (unsigned long long)n, n == 1 ? "" : "s");
}

static void print_problems(const inspect_file *f, const problems *ps)
{
    if (ps->count == 1 && !ps->dropped) {
        fprintf(stderr, "%s: '%s' is invalid: %s [%s]\n", PROG, f->path, ps->v[0].message,
                pcache_status_name(ps->v[0].status));
        return;
    }
    fprintf(stderr, "%s: '%s' is invalid: %zu problems:\n", PROG, f->path, ps->count + ps->dropped);
    for (size_t i = 0; i < ps->count; i++)
        fprintf(stderr, "  %s [%s]\n", ps->v[i].message, pcache_status_name(ps->v[i].status));
    if (ps->dropped)
        fprintf(stderr, "  ... and %zu more, not listed: out of memory\n", ps->dropped);
    if (f->refused_not_listed)
        fprintf(stderr, "%s: ... and %zu more refused segment candidates in the client slots, not checked "
                        "or listed (only the first %u are)\n",
                PROG, f->refused_not_listed, INSPECT_MAX_REFUSED);
}

int cmd_verify(const inspect_args *a)
{
    inspect_file f;
    problems ps = {0};
    uint64_t checked;
    int rc = inspect_file_load(&f, a->path), valid;

    if (rc != EXIT_VALID) {
        inspect_file_free(&f);
        return rc;
    }
    verify_find_problems(&f, &ps, &checked);
    valid = ps.count == 0 && ps.dropped == 0;
    /* a stream that does not inflate, in a file the library opens */
    if (!valid && inspect_file_valid(&f) && ps.count)
        f.verdict = ps.v[0];
    if (a->json) {
        emitter e;
        emit_init(&e, stdout, 1);
        emit_document_begin(&e, &f, "verify", NULL);
        emit_uint(&e, "sections_checked", NULL, checked);
        emit_uint(&e, "problem_count", NULL, ps.count + ps.dropped);
        if (f.kind == KIND_DPC)
            emit_uint(&e, "refused_not_listed", NULL, f.refused_not_listed);
        emit_begin_list(&e, "problems");
        for (size_t i = 0; i < ps.count; i++)
            emit_problem(&e, &ps.v[i]);
        emit_end_list(&e);
        emit_end(&e);
    } else if (valid) {
        print_valid(&f);
    }
    if (!valid)
        print_problems(&f, &ps);
    problems_free(&ps);
    inspect_file_free(&f);
    return finish_output(valid ? EXIT_VALID : EXIT_INVALID);
}
