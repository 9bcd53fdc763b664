/* SPDX-License-Identifier: BSD-2-Clause */
/* Resurrecting a segment: every byte is hostile until checked.  Nothing is
 * allocated here; views point into the caller's mapping. */
#include <stddef.h>
#include <string.h>

#include "builder.h"
#include "bytes.h"
#include "checksum.h"
#include "compressed_section.h"
#include "format.h"
#include "layout.h"
#include "report.h"
#include "segment_read.h"
#include "section_names.h"

/* Readers compare in this order; each step trusts only what earlier steps
 * verified.  The numbered comments below are the steps of docs/FORMAT.md
 * 4.2, "Reading a segment". */

static void *(*const volatile clear_bytes)(void *, int, size_t) = memset;

static pcache_status fail(pcache_report *rep, pcache_status st, int cls, const char *sec,
                          uint64_t off, const char *what)
{
    return report_fail(rep, st, cls, sec, off, 0, 0, 0, "%s", what);
}

static pcache_status fail_v(pcache_report *rep, pcache_status st, int cls, const char *sec,
                            uint64_t off, uint64_t exp, uint64_t found, const char *what)
{
    return report_fail(rep, st, cls, sec, off, 1, exp, found, "%s", what);
}

static inline int section_name_known(const pcache_segment *seg, const char *name)
{
    if (!seg->known_sections)
        return 1;
    for (size_t i = 0; i < seg->known_section_count; i++)
        if (seg->known_sections[i] && strcmp(seg->known_sections[i], name) == 0)
            return 1;
    return 0;
}

/* The newest minor this reader knows the types of: PCACHE_FORMAT_MINOR.
 * Tests lower it to read as a 1.1 reader does, to which ".crelocs" (type
 * 4) is an unknown critical section (docs/FORMAT.md 6). */
uint16_t segment_reader_minor = PCACHE_FORMAT_MINOR;

/* The library's own types are known whatever names the client lists. */
static int library_type(uint16_t type)
{
    return type == PCACHE_TYPE_RELOCS || type == PCACHE_TYPE_ANCHORS ||
           (type == PCACHE_TYPE_CRELOCS && segment_reader_minor >= FORMAT_MINOR_CRELOCS);
}

static inline int entry_known(const pcache_segment *seg, const uint8_t *e)
{
    if ((ld16(e + SE_FLAGS) & ~SECTION_FLAGS_KNOWN) == 0 && library_type(ld16(e + SE_TYPE)))
        return 1;
    return ld16(e + SE_TYPE) == PCACHE_TYPE_DATA && (ld16(e + SE_FLAGS) & ~DATA_FLAGS_KNOWN) == 0 &&
           section_name_known(seg, (const char *)e + SE_NAME);
}

/* A section of a type and flags this reader knows, not compressed: it
 * loads as stored, and its trailer's raw checksum is unused (zero). */
static int entry_stored_as_loaded(const uint8_t *e)
{
    return (ld16(e + SE_TYPE) == PCACHE_TYPE_DATA || library_type(ld16(e + SE_TYPE))) &&
           !(ld16(e + SE_FLAGS) & ~SECTION_FLAGS_KNOWN);
}

static const uint8_t *entry_at(const pcache_segment *seg, uint32_t i)
{
    return seg->base + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i;
}

static uint64_t trailer_offset_of(const pcache_segment *seg)
{
    return ld64(seg->base + SH_TRAILER_OFFSET);
}

/* Verifies one section's bytes against its trailer checksum: all that lazy
 * validation checks on first access (docs/FORMAT.md 4.3). */
static pcache_status verify_section(const pcache_segment *seg, uint32_t i, pcache_report *rep)
{
    const uint8_t *e = entry_at(seg, i);
    const uint8_t *t = seg->base + trailer_offset_of(seg) + (uint64_t)SEG_TRAILER_ENTRY_SIZE * i;
    uint64_t off = ld64(e + SE_OFFSET), size = ld64(e + SE_STORED_SIZE);
    uint64_t want = ld64be(t + ST_STORED_CHECKSUM);
    uint64_t got = pcache_checksum(seg->identity.checksum, seg->base + off, (size_t)size);

    if (got != want)
        return fail_v(rep, PCACHE_E_SECTION_CHECKSUM, seg->cls, (const char *)e + SE_NAME, off, want, got,
                      "section checksum mismatch");
    return PCACHE_OK;
}

static pcache_status check_zero(const pcache_segment *seg, uint64_t from, uint64_t to, const char *what,
                                pcache_report *rep)
{
    uint64_t k;
    if (to <= from)
        return PCACHE_OK;
    k = first_nonzero(seg->base + from, to - from);
    if (k < to - from)
        return fail_v(rep, PCACHE_E_PADDING, seg->cls, NULL, from + k, 0, seg->base[from + k], what);
    return PCACHE_OK;
}

/* Step 11 of docs/FORMAT.md 4.2, in its order: every section checksum,
 * then every raw checksum, then every gap. */
static pcache_status verify_full(pcache_segment *seg, pcache_report *rep)
{
    uint64_t cursor = SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * seg->section_count;
    uint64_t toff = trailer_offset_of(seg);
    pcache_status st;

    for (uint32_t i = 0; i < seg->section_count; i++) {
        if ((st = verify_section(seg, i, rep)) != PCACHE_OK)
            return st;
        seg->verified[i / 64] |= 1ull << (i % 64);
    }
    /* A compressed section's raw checksum is checked when it is inflated.
     * Like reserved bytes, a newer minor may give meaning to that of a
     * section this reader does not know. */
    for (uint32_t i = 0; i < seg->section_count; i++) {
        const uint8_t *e = entry_at(seg, i);
        uint64_t raw_off = toff + (uint64_t)SEG_TRAILER_ENTRY_SIZE * i + ST_RAW_CHECKSUM;
        if (entry_compressed(e) || (!entry_stored_as_loaded(e) && seg->format_minor > PCACHE_FORMAT_MINOR))
            continue;
        if (ld64be(seg->base + raw_off) != 0)
            return fail_v(rep, PCACHE_E_PADDING, seg->cls, (const char *)entry_at(seg, i) + SE_NAME, raw_off, 0,
                          ld64be(seg->base + raw_off), "trailer raw checksum of an uncompressed section must be zero");
    }
    for (uint32_t i = 0; i < seg->section_count; i++) {
        const uint8_t *e = entry_at(seg, i);
        uint64_t off = ld64(e + SE_OFFSET);
        if ((st = check_zero(seg, cursor, off, "padding before a section is not zero", rep)) != PCACHE_OK)
            return st;
        cursor = off + ld64(e + SE_STORED_SIZE);
    }
    if ((st = check_zero(seg, cursor, toff, "padding before the checksum trailer is not zero", rep)) != PCACHE_OK)
        return st;
    return check_zero(seg, toff + (uint64_t)SEG_TRAILER_ENTRY_SIZE * seg->section_count, seg->size,
                      "padding after the checksum trailer is not zero", rep);
}

/* Into an identity resurrect has cleared (with the whole struct): no
 * memset of its own, which compilers inline as a slow rep stos. */
static void parse_identity(const uint8_t *h, pcache_identity *id)
{
    memcpy(id->client_name, h + SH_CLIENT_NAME, PCACHE_CLIENT_NAME_MAX);
    id->client_version = ld32(h + SH_CLIENT_VERSION);
    memcpy(id->image_id, h + SH_IMAGE_ID, PCACHE_IMAGE_ID_SIZE);
    id->byte_order = h[SH_BYTE_ORDER];
    id->pointer_size = h[SH_POINTER_SIZE];
    id->arch = ld16(h + SH_ARCH);
    id->page_size = ld32(h + SH_PAGE_SIZE);
    id->module_base = ld64(h + SH_MODULE_BASE);
    id->module_size = ld64(h + SH_MODULE_SIZE);
    id->module_digest_len = ld32(h + SH_DIGEST_LEN);
    memcpy(id->module_digest, h + SH_MODULE_DIGEST, PCACHE_MODULE_DIGEST_MAX);
    id->checksum = (pcache_checksum_algorithm)h[SH_CHECKSUM];
}

static pcache_status check_header_fields(const uint8_t *h, int cls, pcache_report *rep)
{
    uint32_t page = ld32(h + SH_PAGE_SIZE), dlen = ld32(h + SH_DIGEST_LEN);

    if (ld16(h + SH_HEADER_SIZE) != SEG_HEADER_SIZE)
        return fail_v(rep, PCACHE_E_HEADER_FIELD, cls, NULL, SH_HEADER_SIZE, SEG_HEADER_SIZE,
                      ld16(h + SH_HEADER_SIZE), "header size");
    if (ld16(h + SH_ENTRY_SIZE) != SEG_ENTRY_SIZE)
        return fail_v(rep, PCACHE_E_HEADER_FIELD, cls, NULL, SH_ENTRY_SIZE, SEG_ENTRY_SIZE,
                      ld16(h + SH_ENTRY_SIZE), "section table entry size");
    if (h[SH_CLASS] < 1 || h[SH_CLASS] > 3)
        return fail(rep, PCACHE_E_HEADER_FIELD, cls, NULL, SH_CLASS, "class code is not 1, 2 or 3");
    if (h[SH_BYTE_ORDER] != PCACHE_LITTLE_ENDIAN && h[SH_BYTE_ORDER] != PCACHE_BIG_ENDIAN)
        return fail(rep, PCACHE_E_HEADER_FIELD, cls, NULL, SH_BYTE_ORDER, "byte order is not 1 or 2");
    if (h[SH_POINTER_SIZE] != 4 && h[SH_POINTER_SIZE] != 8)
        return fail(rep, PCACHE_E_HEADER_FIELD, cls, NULL, SH_POINTER_SIZE, "pointer size is not 4 or 8");
    if (!is_pow2_u64(page) || page < PAGE_SIZE_MIN || page > PAGE_SIZE_MAX)
        return fail(rep, PCACHE_E_HEADER_FIELD, cls, NULL, SH_PAGE_SIZE,
                    "page size is not a power of two in [4096, 2^30]");
    if (ld16(h + SH_FLAGS) & ~SEG_FLAGS_KNOWN)
        return fail(rep, PCACHE_E_HEADER_FIELD, cls, NULL, SH_FLAGS, "unknown segment flag bits set");
    if (ld32(h + SH_SECTION_COUNT) > PCACHE_MAX_SECTIONS)
        return fail_v(rep, PCACHE_E_HEADER_FIELD, cls, NULL, SH_SECTION_COUNT, PCACHE_MAX_SECTIONS,
                      ld32(h + SH_SECTION_COUNT), "section count above the limit");
    if (dlen > PCACHE_MODULE_DIGEST_MAX)
        return fail_v(rep, PCACHE_E_HEADER_FIELD, cls, NULL, SH_DIGEST_LEN, PCACHE_MODULE_DIGEST_MAX, dlen,
                      "module digest length above the limit");
    if (!name_field_valid(h + SH_CLIENT_NAME, 64, PCACHE_CLIENT_NAME_MAX, 0x20))
        return fail(rep, PCACHE_E_HEADER_FIELD, cls, NULL, SH_CLIENT_NAME,
                    "client name is not 1-63 printable bytes, a NUL and zero padding");
    /* Step 4 checks every field before any padding (docs/FORMAT.md 4.2). */
    if (!all_zero(h + SH_MODULE_DIGEST + dlen, PCACHE_MODULE_DIGEST_MAX - dlen))
        return fail(rep, PCACHE_E_PADDING, cls, NULL,
                    SH_MODULE_DIGEST + dlen + first_nonzero(h + SH_MODULE_DIGEST + dlen, PCACHE_MODULE_DIGEST_MAX - dlen),
                    "module digest bytes past its length are not zero");
    /* A newer minor version may give meaning to reserved bytes. */
    if (ld16(h + SH_MINOR) <= PCACHE_FORMAT_MINOR && !all_zero(h + SH_RESERVED, SH_RESERVED_SIZE))
        return fail(rep, PCACHE_E_PADDING, cls, NULL, SH_RESERVED + first_nonzero(h + SH_RESERVED, SH_RESERVED_SIZE),
                    "reserved header byte is not zero");
    return PCACHE_OK;
}

static pcache_status check_identity(const pcache_identity *got, const pcache_expect *exp, int cls,
                                    pcache_report *rep)
{
    const pcache_identity *want = &exp->identity;
    uint32_t c = exp->check;

    if ((c & PCACHE_CHECK_BYTE_ORDER) && got->byte_order != want->byte_order)
        return fail_v(rep, PCACHE_E_BYTE_ORDER, cls, NULL, SH_BYTE_ORDER, want->byte_order, got->byte_order,
                      "byte order (1 little, 2 big)");
    if ((c & PCACHE_CHECK_POINTER_SIZE) && got->pointer_size != want->pointer_size)
        return fail_v(rep, PCACHE_E_POINTER_SIZE, cls, NULL, SH_POINTER_SIZE, want->pointer_size,
                      got->pointer_size, "pointer size");
    if ((c & PCACHE_CHECK_ARCH) && got->arch != want->arch)
        return fail_v(rep, PCACHE_E_ARCH, cls, NULL, SH_ARCH, want->arch, got->arch,
                      "architecture (ELF e_machine)");
    if ((c & PCACHE_CHECK_PAGE_SIZE) && got->page_size != want->page_size)
        return fail_v(rep, PCACHE_E_PAGE_SIZE, cls, NULL, SH_PAGE_SIZE, want->page_size, got->page_size,
                      "page size");
    if ((c & PCACHE_CHECK_CHECKSUM_ALGO) && got->checksum != want->checksum)
        return fail_v(rep, PCACHE_E_CHECKSUM_ALGORITHM, cls, NULL, SH_CHECKSUM, want->checksum,
                      got->checksum, "checksum algorithm");
    if ((c & PCACHE_CHECK_CLIENT) &&
        !client_name_equal((const uint8_t *)got->client_name, (const uint8_t *)want->client_name))
        return report_fail(rep, PCACHE_E_CLIENT, cls, NULL, SH_CLIENT_NAME, 0, 0, 0,
                           "client name: expected '%.63s', found '%.63s'", want->client_name,
                           got->client_name);
    if ((c & PCACHE_CHECK_CLIENT_VERSION) && got->client_version != want->client_version)
        return fail_v(rep, PCACHE_E_CLIENT_VERSION, cls, NULL, SH_CLIENT_VERSION, want->client_version,
                      got->client_version, "client version");
    if ((c & PCACHE_CHECK_IMAGE_ID) && memcmp(got->image_id, want->image_id, PCACHE_IMAGE_ID_SIZE) != 0)
        return fail_v(rep, PCACHE_E_IMAGE_ID, cls, NULL, SH_IMAGE_ID, ld64be(want->image_id),
                      ld64be(got->image_id), "image id (first 8 bytes shown)");
    if ((c & PCACHE_CHECK_MODULE_BASE) && got->module_base != want->module_base)
        return fail_v(rep, PCACHE_E_MODULE_BASE, cls, NULL, SH_MODULE_BASE, want->module_base,
                      got->module_base, "module base");
    if ((c & PCACHE_CHECK_MODULE_SIZE) && got->module_size != want->module_size)
        return fail_v(rep, PCACHE_E_MODULE_SIZE, cls, NULL, SH_MODULE_SIZE, want->module_size,
                      got->module_size, "module size");
    if ((c & PCACHE_CHECK_MODULE_DIGEST) &&
        (got->module_digest_len != want->module_digest_len ||
         memcmp(got->module_digest, want->module_digest, got->module_digest_len) != 0))
        return fail_v(rep, PCACHE_E_MODULE_DIGEST, cls, NULL, SH_MODULE_DIGEST, want->module_digest_len,
                      got->module_digest_len, "module digest (lengths shown)");
    return PCACHE_OK;
}

/* Checks the table entries and recomputes the canonical layout. */
static pcache_status check_table(pcache_segment *seg, pcache_report *rep)
{
    const uint8_t *h = seg->base;
    uint32_t n = seg->section_count;
    uint64_t F = seg->file_offset, abs, toff = ld64(h + SH_TRAILER_OFFSET);
    int cls = seg->cls;
    /* the first entry whose name repeats an earlier one's, found by
     * sorting the names (section_names.c) rather than comparing each pair:
     * the check below fails there, in table order, as pairwise did */
    uint32_t first_dup = section_index_build(seg);

    /* Same arithmetic as layout_segment(), entry by entry, so that no
     * array is needed. */
    if (add_u64(F, SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * n, &abs))
        return fail(rep, PCACHE_E_SECTION_TABLE, cls, NULL, SH_FILE_OFFSET,
                    "file offset plus table size overflows");
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = entry_at(seg, i);
        uint64_t eoff = SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i;
        const char *name = (const char *)e + SE_NAME;
        uint32_t align = ld32(e + SE_ALIGN);
        uint64_t stored = ld64(e + SE_STORED_SIZE);

        if (!name_field_valid(e + SE_NAME, SE_NAME_SIZE, PCACHE_SECTION_NAME_MAX, 0x21))
            return fail(rep, PCACHE_E_SECTION_TABLE, cls, NULL, eoff + SE_NAME,
                        "section name is not 1-31 printable bytes, a NUL and zero padding");
        if (i == first_dup)
            return fail(rep, PCACHE_E_SECTION_TABLE, cls, name, eoff + SE_NAME, "duplicate section name");
        if (!is_pow2_u64(align) || align > seg->identity.page_size)
            return fail_v(rep, PCACHE_E_SECTION_TABLE, cls, name, eoff + SE_ALIGN, seg->identity.page_size,
                          align, "alignment is not a power of two no larger than the page size");
        /* A section this reader does not know (a newer writer's type or
         * flag) may legitimately load to another size. */
        if (entry_stored_as_loaded(e) && ld64(e + SE_SIZE) != stored)
            return fail_v(rep, PCACHE_E_SECTION_TABLE, cls, name, eoff + SE_SIZE, stored, ld64(e + SE_SIZE),
                          "loaded size differs from stored size in an uncompressed section");
        /* Sizes no zlib stream can have are refused before anyone inflates
         * (or allocates for) the section. */
        if (entry_compressed(e) && stored < ZLIB_STREAM_MIN)
            return fail_v(rep, PCACHE_E_COMPRESSION_RATIO, cls, name, eoff + SE_STORED_SIZE, ZLIB_STREAM_MIN,
                          stored, "compressed section shorter than the shortest zlib stream (minimum, stored size)");
        if (entry_compressed(e) && !compressed_sizes_possible(stored, ld64(e + SE_SIZE)))
            return fail_v(rep, PCACHE_E_COMPRESSION_RATIO, cls, name, eoff + SE_SIZE,
                          stored * DEFLATE_MAX_RATIO + DEFLATE_RATIO_SLACK, ld64(e + SE_SIZE),
                          "compressed section would inflate beyond deflate's 1032:1 (largest possible, "
                          "loaded size)");
        if (align_up_u64(abs, align, &abs) || abs - F != ld64(e + SE_OFFSET))
            return fail_v(rep, PCACHE_E_SECTION_TABLE, cls, name, eoff + SE_OFFSET, abs - F,
                          ld64(e + SE_OFFSET), "section offset is not the canonical one");
        if (add_u64(abs, stored, &abs) || abs - F > seg->size)
            return fail_v(rep, PCACHE_E_SECTION_TABLE, cls, name, eoff + SE_STORED_SIZE, seg->size, abs - F,
                          "section ends past the segment");
    }
    if (align_up_u64(abs, SEG_TRAILER_ALIGN, &abs) || abs - F != toff)
        return fail_v(rep, PCACHE_E_SECTION_TABLE, cls, NULL, SH_TRAILER_OFFSET, abs - F, toff,
                      "trailer offset is not the canonical one");
    if (add_u64(abs, (uint64_t)SEG_TRAILER_ENTRY_SIZE * n, &abs))
        return fail(rep, PCACHE_E_SECTION_TABLE, cls, NULL, SH_TRAILER_OFFSET, "trailer end overflows");
    if (seg->flags & PCACHE_SEGMENT_PAGE_ROUNDED) {
        if (align_up_u64(abs, seg->identity.page_size, &abs))
            return fail(rep, PCACHE_E_SECTION_TABLE, cls, NULL, SH_SEGMENT_SIZE, "segment end overflows");
    }
    if (abs - F != seg->size)
        return fail_v(rep, PCACHE_E_SECTION_TABLE, cls, NULL, SH_SEGMENT_SIZE, abs - F, seg->size,
                      "segment size is not the canonical one");
    return PCACHE_OK;
}

pcache_status segment_read_checked(pcache_segment *seg, pcache_class cls, const uint8_t **map,
                                   uint64_t available, const pcache_expect *exp,
                                   const segment_place *place, pcache_report *rep)
{
    const uint8_t *h;
    uint64_t sum, size;
    uint32_t n;
    pcache_status st;
    int c = (int)cls;

    report_clear(rep);
    if (!seg || !map || !*map || !exp || (unsigned)cls >= PCACHE_CLASS_COUNT ||
        exp->validation < PCACHE_VALIDATE_HEADER || exp->validation > PCACHE_VALIDATE_FULL)
        return fail(rep, PCACHE_E_INVALID_ARGUMENT, -1, NULL, 0, "invalid argument to pcache_resurrect");
    h = *map;
    /* all but the name index, whose first n entries check_table() fills;
     * through the C library's memset (vector stores), not the rep stos
     * compilers inline for a constant size, whose start-up cost was a
     * tenth of a header-only resurrect */
    clear_bytes(seg, 0, offsetof(pcache_segment, by_name));

    /* 1. magic: 8 bytes */
    if (available < SEG_MAGIC_SIZE)
        return fail_v(rep, PCACHE_E_TRUNCATED, c, NULL, 0, SEG_MAGIC_SIZE, available,
                      "too few bytes for a segment magic");
    if (memcmp(h, SEG_MAGIC, SEG_MAGIC_SIZE) != 0)
        return fail(rep, PCACHE_E_MAGIC, c, NULL, 0, "segment magic is not 89 50 43 53 45 47 0D 0A");
    /* 2. version: only a known major promises a 256-byte header */
    if (available < SH_MAJOR + 2)
        return fail_v(rep, PCACHE_E_TRUNCATED, c, NULL, 0, SH_MAJOR + 2, available,
                      "too few bytes for the format version");
    if (ld16(h + SH_MAJOR) != PCACHE_FORMAT_MAJOR)
        return fail_v(rep, PCACHE_E_FORMAT_VERSION, c, NULL, SH_MAJOR, PCACHE_FORMAT_MAJOR, ld16(h + SH_MAJOR),
                      "format major version");
    /* 3. the whole fixed header and its checksum */
    if (available < SEG_HEADER_SIZE)
        return fail_v(rep, PCACHE_E_TRUNCATED, c, NULL, 0, SEG_HEADER_SIZE, available,
                      "too few bytes for a segment header");
    if (!checksum_algorithm_known(h[SH_CHECKSUM]))
        return fail_v(rep, PCACHE_E_CHECKSUM_ALGORITHM, c, NULL, SH_CHECKSUM, PCACHE_CHECKSUM_XXH3_64,
                      h[SH_CHECKSUM], "unknown checksum algorithm code");
    sum = pcache_checksum((pcache_checksum_algorithm)h[SH_CHECKSUM], h, SH_HEADER_CHECKSUM);
    if (sum != ld64be(h + SH_HEADER_CHECKSUM))
        return fail_v(rep, PCACHE_E_HEADER_CHECKSUM, c, NULL, SH_HEADER_CHECKSUM, ld64be(h + SH_HEADER_CHECKSUM),
                      sum, "header checksum (stored, computed)");
    /* 4. the header is intact: its fields; 5. the class and the identity */
    if ((st = check_header_fields(h, c, rep)) != PCACHE_OK)
        return st;
    if (h[SH_CLASS] != cls + 1)
        return fail_v(rep, PCACHE_E_CLASS, c, NULL, SH_CLASS, (uint64_t)cls + 1, h[SH_CLASS],
                      "class code (1 ro, 2 rx, 3 rw)");
    parse_identity(h, &seg->identity);
    if ((st = check_identity(&seg->identity, exp, c, rep)) != PCACHE_OK)
        return st;
    /* A container that says where the segment is (a standalone file,
     * docs/FORMAT.md 7.4 step 8): before any length is used, so that a
     * segment laid out for another place is called that, not a bad table. */
    if (place && ld64(h + SH_FILE_OFFSET) != place->file_offset)
        return fail_v(rep, PCACHE_E_FILE_LAYOUT, c, NULL, SH_FILE_OFFSET, place->file_offset,
                      ld64(h + SH_FILE_OFFSET), "the segment was laid out for another file offset (its place, its header's)");
    if (place && ld64(h + SH_SEGMENT_SIZE) != place->size)
        return fail_v(rep, PCACHE_E_FILE_LAYOUT, c, NULL, SH_SEGMENT_SIZE, place->size, ld64(h + SH_SEGMENT_SIZE),
                      "segment size (the file header's, the segment's own)");

    /* 6. lengths, now that the header that states them is verified */
    n = ld32(h + SH_SECTION_COUNT);
    size = ld64(h + SH_SEGMENT_SIZE);
    if (size < SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * n)
        return fail_v(rep, PCACHE_E_HEADER_FIELD, c, NULL, SH_SEGMENT_SIZE,
                      SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * n, size,
                      "segment size smaller than its header and table");
    if (available != PCACHE_SIZE_UNKNOWN && size > available)
        return fail_v(rep, PCACHE_E_TRUNCATED, c, NULL, 0, size, available,
                      "segment size larger than the bytes available");
    if (size > (uint64_t)SIZE_MAX || (uintptr_t)h + size < (uintptr_t)h)
        return fail(rep, PCACHE_E_HEADER_FIELD, c, NULL, SH_SEGMENT_SIZE,
                    "segment size does not fit in this address space");
    seg->base = h;
    seg->size = size;
    seg->cls = cls;
    seg->format_major = ld16(h + SH_MAJOR);
    seg->format_minor = ld16(h + SH_MINOR);
    seg->flags = ld16(h + SH_FLAGS);
    seg->file_offset = ld64(h + SH_FILE_OFFSET);
    seg->section_count = n;
    seg->validation = exp->validation;
    seg->writable = exp->writable;
    seg->known_sections = exp->known_sections;
    seg->known_section_count = exp->known_section_count;

    /* 7. the section table's checksum; 8. its entries and the layout */
    sum = pcache_checksum(seg->identity.checksum, h + SEG_HEADER_SIZE, (size_t)SEG_ENTRY_SIZE * n);
    if (sum != ld64be(h + SH_TABLE_CHECKSUM)) {
        st = fail_v(rep, PCACHE_E_TABLE_CHECKSUM, c, NULL, SEG_HEADER_SIZE, ld64be(h + SH_TABLE_CHECKSUM), sum,
                    "section table checksum (stored, computed)");
        goto failed;
    }
    if ((st = check_table(seg, rep)) != PCACHE_OK)
        goto failed;

    /* 9. what this reader does not know; 10. alignment in memory */
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = entry_at(seg, i);
        const char *name = (const char *)e + SE_NAME;
        uint32_t align = ld32(e + SE_ALIGN);
        if (!entry_known(seg, e) && !(ld16(e + SE_FLAGS) & PCACHE_SECTION_SKIPPABLE)) {
            st = report_fail(rep, PCACHE_E_UNKNOWN_CRITICAL, c, name,
                             SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i, 0, 0, 0,
                             "unknown section (type %u, flags 0x%x) is not marked skippable",
                             ld16(e + SE_TYPE), ld16(e + SE_FLAGS));
            goto failed;
        }
        if ((exp->check & PCACHE_CHECK_ALIGNMENT) && ((uintptr_t)(h + ld64(e + SE_OFFSET)) & (align - 1))) {
            st = fail_v(rep, PCACHE_E_MISALIGNED, c, name, ld64(e + SE_OFFSET), align,
                        (uintptr_t)(h + ld64(e + SE_OFFSET)) & (align - 1),
                        "section address modulo its alignment (map the segment at its file offset "
                        "modulo the page size)");
            goto failed;
        }
    }

    /* 11. the bytes */
    if (exp->validation == PCACHE_VALIDATE_FULL && (st = verify_full(seg, rep)) != PCACHE_OK)
        goto failed;
    /* 12. relocation tables: resurrect.c, after this returns */

    *map = h + size;
    return PCACHE_OK;
failed:
    memset(seg, 0, sizeof *seg);
    return st;
}

static void fill_view(const pcache_segment *seg, uint32_t i, pcache_view *v)
{
    const uint8_t *e = entry_at(seg, i);
    v->name = (const char *)e + SE_NAME;
    v->offset = ld64(e + SE_OFFSET);
    v->data = seg->base + v->offset;
    /* the bytes in the segment: an unknown section may load to another size */
    v->size = ld64(e + SE_STORED_SIZE);
    v->alignment = ld32(e + SE_ALIGN);
    v->type = ld16(e + SE_TYPE);
    v->flags = ld16(e + SE_FLAGS);
    v->index = i;
    v->known = entry_known(seg, e);
    v->loaded_size = ld64(e + SE_SIZE);
}

pcache_status pcache_segment_section(pcache_segment *seg, uint32_t index, pcache_view *view,
                                     pcache_report *rep)
{
    report_clear(rep);
    if (!seg || !seg->base || !view)
        return fail(rep, PCACHE_E_INVALID_ARGUMENT, -1, NULL, 0, "invalid argument");
    if (index >= seg->section_count)
        return fail_v(rep, PCACHE_E_NOT_FOUND, seg->cls, NULL, 0, seg->section_count, index,
                      "section index past the section count");
    if (seg->validation == PCACHE_VALIDATE_LAZY) {
        uint64_t bit = 1ull << (index % 64);
        if (!(__atomic_load_n(&seg->verified[index / 64], __ATOMIC_ACQUIRE) & bit)) {
            pcache_status st = verify_section(seg, index, rep);
            if (st != PCACHE_OK)
                return st;
            __atomic_fetch_or(&seg->verified[index / 64], bit, __ATOMIC_RELEASE);
        }
    }
    fill_view(seg, index, view);
    return PCACHE_OK;
}

pcache_status pcache_segment_find(pcache_segment *seg, const char *name, pcache_view *view,
                                  pcache_report *rep)
{
    report_clear(rep);
    if (!seg || !seg->base || !name || !view)
        return fail(rep, PCACHE_E_INVALID_ARGUMENT, -1, NULL, 0, "invalid argument");
    {
        /* O(log n): the index resurrect built (section_names.c) */
        uint32_t i = section_index_find(seg, name);
        if (i != UINT32_MAX) {
            const uint8_t *e = entry_at(seg, i);
            if (!entry_known(seg, e))
                return report_fail(rep, PCACHE_E_SKIPPED, seg->cls, name,
                                   SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i, 0, 0, 0,
                                   "section is of a type or flags this reader does not know");
            return pcache_segment_section(seg, i, view, rep);
        }
    }
    return report_fail(rep, PCACHE_E_NOT_FOUND, seg->cls, name, 0, 0, 0, 0, "no section of this name");
}

void *pcache_view_mutable(const pcache_segment *seg, const pcache_view *view)
{
    if (!seg || !view || !seg->writable)
        return NULL;
    return (void *)(uintptr_t)view->data;
}

pcache_status pcache_segment_section_checksum(const pcache_segment *seg, uint32_t index, uint64_t *checksum)
{
    if (!seg || !seg->base || !checksum)
        return PCACHE_E_INVALID_ARGUMENT;
    if (index >= seg->section_count)
        return PCACHE_E_NOT_FOUND;
    /* resurrect verified that the trailer lies inside the segment */
    *checksum = ld64be(seg->base + trailer_offset_of(seg) + (uint64_t)SEG_TRAILER_ENTRY_SIZE * index +
                       ST_STORED_CHECKSUM);
    return PCACHE_OK;
}
