/* SPDX-License-Identifier: BSD-2-Clause */
/* Hostile .dpc files in memory: see hostile_dpc.h. */
#include "hostile_dpc.h"

#include <md5.h>
#include <stdlib.h>
#include <string.h>

#include "pcache/pcache.h"

/* docs/FORMAT.md 2.1, 3.2, 3.3, 3.5: the segment fields written here. */
static const uint8_t seg_magic[8] = {0x89, 'P', 'C', 'S', 'E', 'G', '\r', '\n'};
enum {
    SH_MAJOR = 8, SH_HEADER_SIZE = 12, SH_ENTRY_SIZE = 14, SH_CLASS = 16, SH_CHECKSUM = 17, SH_BYTE_ORDER = 18,
    SH_POINTER_SIZE = 19, SH_ARCH = 20, SH_PAGE_SIZE = 24, SH_SECTION_COUNT = 28, SH_FILE_OFFSET = 32,
    SH_SEGMENT_SIZE = 40, SH_TRAILER_OFFSET = 48, SH_IMAGE_ID = 56, SH_CLIENT_VERSION = 72, SH_CLIENT_NAME = 128,
    SH_TABLE_CHECKSUM = 240, SH_HEADER_CHECKSUM = 248, SEG_HEADER = 256,
    SE_NAME = 0, SE_TYPE = 32, SE_ALIGN = 36, SE_OFFSET = 40, SE_STORED_SIZE = 48, SE_SIZE = 56, SEG_ENTRY = 64,
    SEG_TRAILER_ENTRY = 16,
};
#define OVERLAP_STRIDE (SEG_HEADER + SEG_ENTRY) /* header and one entry: the next candidate follows */
/* Not the checksum of any candidate's section (each section's bytes
 * differ, and a 64-bit match by chance is not a concern). */
#define WRONG_CHECKSUM 0x686f7374696c6521ull /* "hostile!" */

/* DR's version-10 header (core/perscache.h), the fields written here. */
enum {
    DH_VERSION = 4, DH_HEADER_LEN = 8, DH_DATA_LEN = 16, DH_FLAGS = 24, DH_PAD_LEN = 200,
    DH_INSTRUMENT_RO_LEN = 264, DH_OPTION_STRING_LEN = 272, DH_SIZE = 280,
    DR_MAGIC = 0x244f4952, DR_VERSION = 10, DR_FLAG_X86_64 = 2, DR_FOOTER = 36, DR_PAGE = 4096,
};
static const char dr_options[16] = "-persist";            /* NUL and padding: 16 bytes */
static const char dr_client[] = "/opt/pcache-hostile/libhost.so"; /* 30 bytes: the list is 32 */
_Static_assert(DH_SIZE + sizeof dr_options + sizeof dr_client + 1 == HOSTILE_SLOT_OFFSET,
               "HOSTILE_SLOT_OFFSET is where the clients' ro bytes start");

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

const char *hostile_kind_name(hostile_kind kind)
{
    switch (kind) {
    case HOSTILE_OVERLAP: return "overlapping candidates";
    case HOSTILE_MAGIC: return "magic every 8 bytes";
    case HOSTILE_HEADERS: return "header every 24 bytes";
    default: return "?";
    }
}

/* A ro segment header and its one entry at h, laid out for file offset
 * file_offset, size bytes long, its section running up to its trailer. */
static void overlap_candidate(uint8_t *h, uint64_t file_offset, uint64_t size)
{
    uint8_t *e = h + SEG_HEADER;
    uint64_t trailer = size - SEG_TRAILER_ENTRY, section = trailer - OVERLAP_STRIDE;

    memcpy(h, seg_magic, sizeof seg_magic);
    put_le(h + SH_MAJOR, 1, 2);
    put_le(h + SH_HEADER_SIZE, SEG_HEADER, 2);
    put_le(h + SH_ENTRY_SIZE, SEG_ENTRY, 2);
    h[SH_CLASS] = 1;        /* ro */
    h[SH_CHECKSUM] = 1;     /* XXH3-64 */
    h[SH_BYTE_ORDER] = 1;   /* little-endian */
    h[SH_POINTER_SIZE] = 8;
    put_le(h + SH_ARCH, 62, 2); /* x86-64 */
    put_le(h + SH_PAGE_SIZE, 4096, 4);
    put_le(h + SH_SECTION_COUNT, 1, 4);
    put_le(h + SH_FILE_OFFSET, file_offset, 8);
    put_le(h + SH_SEGMENT_SIZE, size, 8);
    put_le(h + SH_TRAILER_OFFSET, trailer, 8);
    memcpy(h + SH_IMAGE_ID, "hostile image id", 16);
    put_le(h + SH_CLIENT_VERSION, 1, 4);
    memcpy(h + SH_CLIENT_NAME, "hostile", 7);
    memcpy(e + SE_NAME, "payload", 7);
    put_le(e + SE_TYPE, 1, 2); /* DATA */
    put_le(e + SE_ALIGN, 1, 4);
    put_le(e + SE_OFFSET, OVERLAP_STRIDE, 8);
    put_le(e + SE_STORED_SIZE, section, 8);
    put_le(e + SE_SIZE, section, 8);
    put_be64(h + SH_TABLE_CHECKSUM, pcache_checksum(PCACHE_CHECKSUM_XXH3_64, e, SEG_ENTRY));
    put_be64(h + SH_HEADER_CHECKSUM, pcache_checksum(PCACHE_CHECKSUM_XXH3_64, h, SH_HEADER_CHECKSUM));
}

void hostile_fill(hostile_kind kind, uint8_t *buf, uint64_t size, uint64_t file_offset)
{
    memset(buf, 0, (size_t)size);
    switch (kind) {
    case HOSTILE_OVERLAP:
        /* candidate at p: [p, size), its trailer the last 16 bytes, which
         * is where the canonical layout puts it (file_offset + size is a
         * multiple of 8, and the section is aligned to 1) */
        for (uint64_t p = 0; size >= OVERLAP_STRIDE + SEG_TRAILER_ENTRY &&
                             p <= size - OVERLAP_STRIDE - SEG_TRAILER_ENTRY;
             p += OVERLAP_STRIDE)
            overlap_candidate(buf + p, file_offset + p, size - p);
        if (size >= SEG_TRAILER_ENTRY)
            put_be64(buf + size - SEG_TRAILER_ENTRY, WRONG_CHECKSUM); /* raw checksum: 0 */
        break;
    case HOSTILE_MAGIC:
        for (uint64_t p = 0; p + sizeof seg_magic <= size; p += sizeof seg_magic)
            memcpy(buf + p, seg_magic, sizeof seg_magic);
        break;
    case HOSTILE_HEADERS: {
        /* magic, major 1, minor 0, header size 256, entry size 64, class
         * ro, XXH3-64, little-endian, 8-byte pointers, x86-64, flags 0 */
        static const uint8_t unit[24] = {0x89, 'P', 'C', 'S', 'E', 'G', '\r', '\n', 1, 0, 0, 0,
                                         0, 1, 64, 0, 1, 1, 1, 8, 62, 0, 0, 0};
        for (uint64_t p = 0; p < size; p += sizeof unit)
            memcpy(buf + p, unit, size - p < sizeof unit ? (size_t)(size - p) : sizeof unit);
        break;
    }
    default:
        break;
    }
}

static void md5(const uint8_t *p, size_t n, uint8_t *out)
{
    MD5_CTX c;
    MD5Init(&c);
    MD5Update(&c, p, n);
    MD5Final(out, &c);
}

uint8_t *hostile_dpc(hostile_kind kind, uint64_t fill_size, const void *tail, uint64_t tail_size, size_t *size)
{
    const uint64_t list = sizeof dr_client + 1; /* the path, its NUL, the list's NUL */
    const uint64_t ro_start = DH_SIZE + sizeof dr_options;
    uint64_t ro_len = (list + fill_size + tail_size + 7) & ~(uint64_t)7, off, pad, total;
    uint8_t *f;

    off = ro_start + ro_len;
    pad = (DR_PAGE - off % DR_PAGE) % DR_PAGE; /* the (empty) rx slot starts on a page */
    total = off + pad + DR_FOOTER;
    if (!(f = calloc(1, (size_t)total)))
        return NULL;
    put_le(f, DR_MAGIC, 4);
    put_le(f + DH_VERSION, DR_VERSION, 4);
    put_le(f + DH_HEADER_LEN, DH_SIZE, 8);
    put_le(f + DH_DATA_LEN, total - DH_SIZE, 8);
    put_le(f + DH_FLAGS, DR_FLAG_X86_64, 4);
    put_le(f + DH_OPTION_STRING_LEN, sizeof dr_options, 8);
    put_le(f + DH_INSTRUMENT_RO_LEN, ro_len, 8);
    put_le(f + DH_PAD_LEN, pad, 8);
    memcpy(f + DH_SIZE, dr_options, sizeof dr_options);
    memcpy(f + ro_start, dr_client, sizeof dr_client); /* and the list's NUL, from calloc */
    hostile_fill(kind, f + HOSTILE_SLOT_OFFSET, fill_size, HOSTILE_SLOT_OFFSET);
    if (tail_size)
        memcpy(f + HOSTILE_SLOT_OFFSET + fill_size, tail, (size_t)tail_size);
    put_le(f + total - 4, DR_MAGIC, 4);
    md5(f, (size_t)(total - DR_FOOTER), f + total - DR_FOOTER);
    md5(f, DH_SIZE, f + total - DR_FOOTER + 16);
    *size = (size_t)total;
    return f;
}
