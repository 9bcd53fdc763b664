/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared by the fuzz targets: see fuzz_common.h. */
#include "fuzz_common.h"

#include <md5.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "format.h"
#include "pcache/dpc.h"
#include "pcache/reloc.h"

const char *const fuzz_known_names[] = {"a", "b", "r", "code", "data", "table", "s0", "s1", "s2"};
const size_t fuzz_known_name_count = sizeof fuzz_known_names / sizeof fuzz_known_names[0];

/* Where the sanitizers report (libFuzzer points it at its own copy of
 * stderr when -close_fd_mask closes the target's); absent without them. */
void __sanitizer_report_error_summary(const char *error_summary) __attribute__((weak));

void fuzz_fail(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    int n = snprintf(msg, sizeof msg, "pcache fuzz: contract broken: ");
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", msg);
    if (__sanitizer_report_error_summary)
        __sanitizer_report_error_summary(msg);
    abort();
}

static int algo_known(uint8_t a)
{
    return a == PCACHE_CHECKSUM_XXH3_64 || a == PCACHE_CHECKSUM_CRC32;
}

/* 1 when [off, off + len) lies inside [0, n). */
static int inside(uint64_t off, uint64_t len, uint64_t n)
{
    return off <= n && len <= n - off;
}

void fuzz_fix_segment(uint8_t *buf, size_t n)
{
    pcache_checksum_algorithm algo;
    uint32_t count;
    uint64_t toff;

    if (n < SEG_HEADER_SIZE || !algo_known(buf[SH_CHECKSUM]))
        return;
    algo = (pcache_checksum_algorithm)buf[SH_CHECKSUM];
    count = ld32(buf + SH_SECTION_COUNT);
    toff = ld64(buf + SH_TRAILER_OFFSET);
    if (count <= PCACHE_MAX_SECTIONS) {
        uint64_t table = (uint64_t)SEG_ENTRY_SIZE * count;
        for (uint32_t i = 0; i < count && inside(SEG_HEADER_SIZE, (uint64_t)SEG_ENTRY_SIZE * (i + 1), n); i++) {
            const uint8_t *e = buf + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i;
            uint64_t off = ld64(e + SE_OFFSET), size = ld64(e + SE_STORED_SIZE);
            uint64_t t = toff + (uint64_t)SEG_TRAILER_ENTRY_SIZE * i;
            if (t >= toff && inside(t, SEG_TRAILER_ENTRY_SIZE, n) && inside(off, size, n))
                st64be(buf + t + ST_STORED_CHECKSUM, pcache_checksum(algo, buf + off, (size_t)size));
        }
        if (inside(SEG_HEADER_SIZE, table, n))
            st64be(buf + SH_TABLE_CHECKSUM, pcache_checksum(algo, buf + SEG_HEADER_SIZE, (size_t)table));
    }
    st64be(buf + SH_HEADER_CHECKSUM, pcache_checksum(algo, buf, SH_HEADER_CHECKSUM));
}

void fuzz_fix_file(uint8_t *buf, size_t n)
{
    pcache_checksum_algorithm algo;
    uint64_t fsize, hsum;

    if (n < FILE_HEADER_SIZE || !algo_known(buf[FH_CHECKSUM]))
        return;
    algo = (pcache_checksum_algorithm)buf[FH_CHECKSUM];
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        uint64_t off = ld64(buf + FH_SEGMENTS + 16 * c), size = ld64(buf + FH_SEGMENTS + 16 * c + 8);
        if (off >= FILE_HEADER_SIZE && inside(off, size, n))
            fuzz_fix_segment(buf + off, (size_t)size);
    }
    hsum = pcache_checksum(algo, buf, FH_HEADER_CHECKSUM);
    st64be(buf + FH_HEADER_CHECKSUM, hsum);
    fsize = ld64(buf + FH_FILE_SIZE);
    if (fsize >= FILE_HEADER_SIZE + FILE_FOOTER_SIZE && fsize <= n) {
        uint8_t *f = buf + fsize - FILE_FOOTER_SIZE;
        st64be(f + FF_HEADER_CHECKSUM, hsum);
        st64be(f + FF_FOOTER_CHECKSUM, pcache_checksum(algo, f, FF_FOOTER_CHECKSUM));
    }
}

void fuzz_fix_dpc(uint8_t *buf, size_t n)
{
    MD5_CTX ctx;
    for (size_t k = 0; k + SEG_MAGIC_SIZE <= n; k++)
        if (buf[k] == (uint8_t)SEG_MAGIC[0] && memcmp(buf + k, SEG_MAGIC, SEG_MAGIC_SIZE) == 0)
            fuzz_fix_segment(buf + k, n - k);
    if (n < PCACHE_DPC_HEADER_LEN + PCACHE_DPC_FOOTER_LEN)
        return;
    MD5Init(&ctx);
    MD5Update(&ctx, buf, n - PCACHE_DPC_FOOTER_LEN);
    MD5Final(buf + n - PCACHE_DPC_FOOTER_LEN, &ctx);
    MD5Init(&ctx);
    MD5Update(&ctx, buf, PCACHE_DPC_HEADER_LEN);
    MD5Final(buf + n - PCACHE_DPC_FOOTER_LEN + PCACHE_DPC_MD5_LEN, &ctx);
}

uint8_t *fuzz_place(const uint8_t *data, size_t n, uint64_t phase, void **block)
{
    size_t lead = (size_t)(phase % 4096);
    uint8_t *p;

    if (posix_memalign(block, 4096, lead + n + (n == 0)) != 0)
        fuzz_fail("out of memory placing %zu bytes", n);
    p = (uint8_t *)*block + lead;
    if (n)
        memcpy(p, data, n);
    return p;
}

void fuzz_check_failure(pcache_status st, const pcache_report *rep, const char *call)
{
    if (st == PCACHE_OK || (unsigned)st >= PCACHE_STATUS_COUNT)
        fuzz_fail("%s returned %d, not an error code", call, (int)st);
    if (rep->status != st)
        fuzz_fail("%s returned %s but its report says %s", call, pcache_status_name(st),
                  pcache_status_name(rep->status));
    if (!memchr(rep->message, 0, sizeof rep->message) || rep->message[0] == 0)
        fuzz_fail("%s failed with %s and an empty or unterminated message", call, pcache_status_name(st));
    if (rep->cls < PCACHE_REPORT_NO_CLASS || rep->cls >= PCACHE_CLASS_COUNT ||
        !memchr(rep->section, 0, sizeof rep->section))
        fuzz_fail("%s: report class %d or section name malformed", call, rep->cls);
}

void fuzz_walk_segment(pcache_segment *seg, int touch)
{
    const uint64_t table_end = SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * seg->section_count;
    volatile uint8_t sink = 0;
    uint64_t prev_end = table_end;
    pcache_view v, w;
    pcache_report rep;
    pcache_status st;

    if (seg->size < table_end)
        fuzz_fail("segment of %llu bytes is smaller than its table", (unsigned long long)seg->size);
    for (uint32_t i = 0; i < seg->section_count; i++) {
        uint64_t sum;
        st = pcache_segment_section(seg, i, &v, &rep);
        if (st != PCACHE_OK) {
            fuzz_check_failure(st, &rep, "pcache_segment_section");
            if (seg->validation != PCACHE_VALIDATE_LAZY || st != PCACHE_E_SECTION_CHECKSUM)
                fuzz_fail("section %u of an accepted segment refused with %s", i, pcache_status_name(st));
            continue;
        }
        if (v.index != i || (const uint8_t *)v.name < seg->base + SEG_HEADER_SIZE ||
            (const uint8_t *)v.name >= seg->base + table_end || strnlen(v.name, SE_NAME_SIZE) == SE_NAME_SIZE)
            fuzz_fail("section %u: view index or name outside the table", i);
        if (v.offset < prev_end || v.offset > seg->size || v.size > seg->size - v.offset ||
            (const uint8_t *)v.data != seg->base + v.offset)
            fuzz_fail("section %u '%s': view [%llu, +%llu) outside segment [%llu, %llu)", i, v.name,
                      (unsigned long long)v.offset, (unsigned long long)v.size, (unsigned long long)prev_end,
                      (unsigned long long)seg->size);
        prev_end = v.offset + v.size;
        if (touch)
            for (uint64_t k = 0; k < v.size; k++)
                sink ^= ((const uint8_t *)v.data)[k];
        /* the trailer is past the table: only when bytes may be read */
        if (touch && pcache_segment_section_checksum(seg, i, &sum) != PCACHE_OK)
            fuzz_fail("section %u: no stored checksum", i);
        if ((pcache_view_mutable(seg, &v) != NULL) != (seg->writable != 0))
            fuzz_fail("section %u: mutable view disagrees with the writable flag", i);
        st = pcache_segment_find(seg, v.name, &w, &rep);
        if (v.known ? (st != PCACHE_OK || w.index != i) : st != PCACHE_E_SKIPPED)
            fuzz_fail("section %u '%s' (known %d): find by name gives %s", i, v.name, v.known,
                      pcache_status_name(st));
        if (st != PCACHE_OK)
            fuzz_check_failure(st, &rep, "pcache_segment_find");
    }
    st = pcache_segment_section(seg, seg->section_count, &v, &rep);
    if (st != PCACHE_E_NOT_FOUND)
        fuzz_fail("section index past the count gives %s", pcache_status_name(st));
    (void)sink;
}

/* 0 when the builder cannot express this segment (see the header). */
static int rebuildable(const pcache_segment *seg)
{
    if (seg->validation != PCACHE_VALIDATE_FULL || seg->format_minor != 0 || seg->section_count == 0)
        return 0;
    for (uint32_t i = 0; i < seg->section_count; i++) {
        const uint8_t *e = seg->base + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i;
        if ((ld16(e + SE_FLAGS) & ~SECTION_FLAGS_KNOWN) || ld64(e + SE_SIZE) != ld64(e + SE_STORED_SIZE))
            return 0;
        /* The library writes its relocation sections itself, from patch
         * sites, and reserves names starting with '.' for them. */
        if (ld16(e + SE_TYPE) == PCACHE_TYPE_RELOCS || ld16(e + SE_TYPE) == PCACHE_TYPE_ANCHORS ||
            ld16(e + SE_TYPE) == PCACHE_TYPE_CRELOCS || e[SE_NAME] == '.')
            return 0;
    }
    return 1;
}

static void add_sections(pcache_builder *b, const pcache_segment *seg)
{
    for (uint32_t i = 0; i < seg->section_count; i++) {
        const uint8_t *e = seg->base + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i;
        char name[SE_NAME_SIZE + 1] = {0};
        pcache_status st;
        memcpy(name, e + SE_NAME, SE_NAME_SIZE);
        st = pcache_builder_add_typed(b, seg->cls, name, ld16(e + SE_TYPE), seg->base + ld64(e + SE_OFFSET),
                                      ld64(e + SE_STORED_SIZE), ld32(e + SE_ALIGN), ld16(e + SE_FLAGS));
        if (st != PCACHE_OK)
            fuzz_fail("builder refuses section %u '%s' that the reader accepted: %s", i, name,
                      pcache_status_name(st));
    }
    if (pcache_builder_set_segment_flags(b, seg->cls, seg->flags) != PCACHE_OK)
        fuzz_fail("builder refuses segment flags 0x%x that the reader accepted", seg->flags);
}

static void compare(const uint8_t *want, const uint8_t *got, uint64_t n, const char *what)
{
    for (uint64_t k = 0; k < n; k++)
        if (want[k] != got[k])
            fuzz_fail("%s accepted at full validation differs from the builder's at byte %llu: 0x%02x, "
                      "rebuilt 0x%02x",
                      what, (unsigned long long)k, want[k], got[k]);
}

void fuzz_check_rebuild(const pcache_segment *seg)
{
    pcache_builder *b;
    pcache_buffer_sink bs;
    pcache_sink sink;
    uint64_t size;
    uint8_t *out;
    pcache_status st;

    if (!rebuildable(seg))
        return;
    if ((st = pcache_builder_new(&b, &seg->identity)) != PCACHE_OK)
        fuzz_fail("builder refuses the identity the reader accepted: %s", pcache_status_name(st));
    add_sections(b, seg);
    if ((st = pcache_builder_size(b, seg->cls, seg->file_offset, &size)) != PCACHE_OK || size != seg->size)
        fuzz_fail("builder sizes the segment at %llu bytes (%s), the reader accepted %llu",
                  (unsigned long long)size, pcache_status_name(st), (unsigned long long)seg->size);
    if (!(out = malloc((size_t)size)))
        fuzz_fail("out of memory");
    sink = pcache_sink_buffer(&bs, out, (size_t)size);
    if ((st = pcache_builder_persist(b, seg->cls, &sink)) != PCACHE_OK || bs.used != size)
        fuzz_fail("builder cannot persist the accepted segment: %s", pcache_status_name(st));
    compare(seg->base, out, size, "segment");
    free(out);
    pcache_builder_free(b);
}

void fuzz_check_file_rebuild(const pcache_image *img)
{
    const pcache_segment *first = NULL;
    pcache_identity id;
    pcache_builder *b;
    pcache_buffer_sink bs;
    pcache_sink sink;
    uint64_t size = 0;
    uint8_t *out;
    pcache_status st;

    if (img->format_minor != 0)
        return;
    for (int c = PCACHE_CLASS_COUNT - 1; c >= 0; c--)
        if (img->present[c]) {
            if (!rebuildable(&img->seg[c]))
                return;
            first = &img->seg[c];
        }
    if (first) {
        id = first->identity;
    } else {
        /* No segment states an identity; only these fields reach the file. */
        fuzz_corpus_identity(&id);
        id.page_size = img->page_size;
        id.checksum = img->checksum;
        memcpy(id.image_id, img->image_id, PCACHE_IMAGE_ID_SIZE);
    }
    if ((st = pcache_builder_new(&b, &id)) != PCACHE_OK)
        fuzz_fail("builder refuses the identity the file reader accepted: %s", pcache_status_name(st));
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        if (img->present[c])
            add_sections(b, &img->seg[c]);
    if ((st = pcache_file_size(b, &size)) != PCACHE_OK || size != img->size)
        fuzz_fail("builder sizes the file at %llu bytes (%s), the reader accepted %llu",
                  (unsigned long long)size, pcache_status_name(st), (unsigned long long)img->size);
    if (!(out = malloc((size_t)size)))
        fuzz_fail("out of memory");
    sink = pcache_sink_buffer(&bs, out, (size_t)size);
    if ((st = pcache_file_write_sink(b, &sink, NULL)) != PCACHE_OK || bs.used != size)
        fuzz_fail("builder cannot write the accepted file: %s", pcache_status_name(st));
    compare(img->base, out, size, "file");
    free(out);
    pcache_builder_free(b);
}

void fuzz_corpus_identity(pcache_identity *id)
{
    static const uint8_t image_id[PCACHE_IMAGE_ID_SIZE] = {0x70, 0x63, 0x61, 0x63, 0x68, 0x65, 0x2d, 0x66,
                                                           0x75, 0x7a, 0x7a, 0x2d, 0x73, 0x65, 0x65, 0x64};
    memset(id, 0, sizeof *id);
    strcpy(id->client_name, "pcache-fuzz");
    id->client_version = 1;
    memcpy(id->image_id, image_id, sizeof image_id);
    id->byte_order = PCACHE_LITTLE_ENDIAN;
    id->pointer_size = 8;
    id->arch = 62;
    id->page_size = 4096;
    id->checksum = PCACHE_CHECKSUM_XXH3_64;
}
