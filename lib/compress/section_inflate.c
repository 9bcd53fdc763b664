/* SPDX-License-Identifier: BSD-2-Clause */
/* Reading compressed sections: inflating a section's stored zlib stream
 * into a buffer of exactly its stated size.  The stream is hostile: its
 * sizes are bounded before inflating, and output never goes past the
 * stated size, whatever the stream says (docs/FORMAT.md 3.8). */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "aligned_mem.h"
#include "bytes.h"
#include "checksum.h"
#include "compressed_section.h"
#include "format.h"
#include "report.h"

static const uint8_t *entry_of(const pcache_segment *seg, uint32_t i)
{
    return seg->base + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i;
}

/* The checks that need only the table: a compressed section, with sizes
 * a stream can have (resurrect checked them; a caller may not have used
 * resurrect's result, and the check is cheap). */
static pcache_status compressed_entry(const pcache_segment *seg, uint32_t index, const uint8_t **entry,
                                      pcache_report *rep)
{
    const uint8_t *e;
    uint64_t eoff = SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * index;
    const char *name;

    if (index >= seg->section_count)
        return report_fail(rep, PCACHE_E_NOT_FOUND, seg->cls, NULL, 0, 1, seg->section_count, index,
                           "section index past the section count");
    e = entry_of(seg, index);
    name = (const char *)e + SE_NAME;
    if (!entry_compressed(e))
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, seg->cls, name, eoff + SE_FLAGS, 0, 0, 0,
                           "section is not compressed (type %u, flags 0x%x): use its view", ld16(e + SE_TYPE),
                           ld16(e + SE_FLAGS));
    if (!compressed_sizes_possible(ld64(e + SE_STORED_SIZE), ld64(e + SE_SIZE)))
        return report_fail(rep, PCACHE_E_COMPRESSION_RATIO, seg->cls, name, eoff + SE_SIZE, 0, 0, 0,
                           "no zlib stream of %" PRIu64 " bytes inflates to %" PRIu64 " bytes",
                           ld64(e + SE_STORED_SIZE), ld64(e + SE_SIZE));
    *entry = e;
    return PCACHE_OK;
}

/* zlib counts in uInt; sections may be larger. */
static uInt chunk_of(uint64_t left)
{
    return left > UINT_MAX ? UINT_MAX : (uInt)left;
}

/* Inflates the stored stream [in, in + stored) into exactly size bytes at
 * dst, hashing them into hash (may be NULL).  When dst is full, zlib is
 * given one scratch byte: a stream that still produces output is longer
 * than stated, and nothing more is written or allocated. */
static pcache_status inflate_exact(const pcache_segment *seg, const char *name, uint64_t sec_off,
                                   const uint8_t *in, uint64_t stored, uint8_t *dst, uint64_t size,
                                   checksum_state *hash, pcache_report *rep)
{
    z_stream z;
    uint64_t in_left = stored, out_done = 0, used;
    uint8_t scratch;
    const char *why = NULL;
    int rc, probing = 0;

    memset(&z, 0, sizeof z);
    if ((rc = inflateInit(&z)) != Z_OK)
        return report_fail(rep, rc == Z_MEM_ERROR ? PCACHE_E_NO_MEMORY : PCACHE_E_INFLATE, seg->cls, name, sec_off,
                           0, 0, 0, "zlib cannot start inflating (%d)", rc);
    for (;;) {
        uInt before;
        if (z.avail_in == 0 && in_left > 0) {
            z.next_in = (Bytef *)(uintptr_t)in;
            z.avail_in = chunk_of(in_left);
            in += z.avail_in;
            in_left -= z.avail_in;
        }
        if (z.avail_out == 0) {
            if (out_done < size) {
                z.next_out = dst + out_done;
                z.avail_out = chunk_of(size - out_done);
            } else {
                z.next_out = &scratch;
                z.avail_out = 1;
                probing = 1;
            }
        }
        before = z.avail_out;
        rc = inflate(&z, Z_NO_FLUSH);
        if (probing && z.avail_out != before) {
            why = "stream inflates to more than the section's loaded size";
            break;
        }
        if (!probing && z.avail_out != before) {
            if (hash)
                checksum_update(hash, dst + out_done, before - z.avail_out);
            out_done += before - z.avail_out;
        }
        if (rc == Z_STREAM_END || rc == Z_OK)
            ;
        else if (rc == Z_BUF_ERROR && z.avail_in == 0 && in_left == 0)
            why = "stream ends before its final block and check value";
        else if (rc == Z_NEED_DICT)
            why = "stream needs a preset dictionary, which the format does not provide";
        else if (rc == Z_MEM_ERROR) {
            inflateEnd(&z);
            return report_fail(rep, PCACHE_E_NO_MEMORY, seg->cls, name, sec_off, 0, 0, 0,
                               "zlib ran out of memory inflating");
        } else
            why = z.msg ? z.msg : "stream is not valid zlib data";
        if (why || rc == Z_STREAM_END)
            break;
    }
    used = stored - in_left - z.avail_in;
    inflateEnd(&z);
    if (why)
        return report_fail(rep, PCACHE_E_INFLATE, seg->cls, name, sec_off + used, 0, 0, 0,
                           "%s (zlib stopped at stored byte %" PRIu64 " of %" PRIu64 ", %" PRIu64
                           " of %" PRIu64 " bytes inflated)",
                           why, used, stored, out_done, size);
    if (out_done != size)
        return report_fail(rep, PCACHE_E_INFLATE, seg->cls, name, sec_off + used, 1, size, out_done,
                           "stream ends (at stored byte %" PRIu64 " of %" PRIu64
                           ") before the section's loaded size (loaded size, inflated)",
                           used, stored);
    if (used != stored)
        return report_fail(rep, PCACHE_E_INFLATE, seg->cls, name, sec_off + used, 1, stored, used,
                           "bytes after the end of the zlib stream (stored size, stream end)");
    return PCACHE_OK;
}

pcache_status pcache_segment_inflate(pcache_segment *seg, uint32_t index, void *buf, uint64_t capacity,
                                     pcache_view *out, pcache_report *rep)
{
    const uint8_t *e;
    pcache_view v;
    checksum_state *hash = NULL;
    uint64_t size;
    pcache_status st;

    report_clear(rep);
    if (!seg || !seg->base || (!buf && capacity))
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, PCACHE_REPORT_NO_OFFSET, 0,
                           0, 0, "invalid argument to pcache_segment_inflate");
    if ((st = compressed_entry(seg, index, &e, rep)) != PCACHE_OK)
        return st;
    size = ld64(e + SE_SIZE);
    if (capacity < size)
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, seg->cls, (const char *)e + SE_NAME,
                           ld64(e + SE_OFFSET), 1, size, capacity,
                           "buffer smaller than the section's loaded size (loaded size, capacity)");
    /* the first access: under lazy validation, the stored bytes' checksum */
    if ((st = pcache_segment_section(seg, index, &v, rep)) != PCACHE_OK)
        return st;
    if (seg->validation != PCACHE_VALIDATE_HEADER) {
        if (!(hash = aligned_mem_alloc(sizeof *hash)))
            return report_fail(rep, PCACHE_E_NO_MEMORY, seg->cls, v.name, v.offset, 0, 0, 0,
                               "cannot allocate a checksum state");
        checksum_reset(hash, seg->identity.checksum);
    }
    st = inflate_exact(seg, v.name, v.offset, v.data, v.size, buf, size, hash, rep);
    if (st == PCACHE_OK && hash) {
        /* resurrect verified that the trailer lies inside the segment */
        uint64_t at = ld64(seg->base + SH_TRAILER_OFFSET) + (uint64_t)SEG_TRAILER_ENTRY_SIZE * index +
                      ST_RAW_CHECKSUM;
        uint64_t want = ld64be(seg->base + at), got = checksum_digest(hash);
        if (got != want)
            st = report_fail(rep, PCACHE_E_SECTION_CHECKSUM, seg->cls, v.name, at, 1, want, got,
                             "inflated bytes do not match the trailer's raw checksum (stored, computed)");
    }
    aligned_mem_free(hash);
    if (st == PCACHE_OK && out) {
        *out = v;
        out->data = buf;
        out->size = size;
    }
    return st;
}

pcache_status pcache_segment_inflate_alloc(pcache_segment *seg, uint32_t index, void **buf, pcache_view *out,
                                           pcache_report *rep)
{
    const uint8_t *e;
    uint64_t size;
    void *p;
    pcache_status st;

    report_clear(rep);
    if (!buf || !seg || !seg->base) {
        if (buf)
            *buf = NULL;
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, PCACHE_REPORT_NO_OFFSET, 0,
                           0, 0, "invalid argument to pcache_segment_inflate_alloc");
    }
    *buf = NULL;
    /* the sizes are bounded before anything is allocated */
    if ((st = compressed_entry(seg, index, &e, rep)) != PCACHE_OK)
        return st;
    size = ld64(e + SE_SIZE);
    if (size > SIZE_MAX || !(p = malloc(size ? (size_t)size : 1)))
        return report_fail(rep, PCACHE_E_NO_MEMORY, seg->cls, (const char *)e + SE_NAME, ld64(e + SE_OFFSET), 0, 0,
                           0, "cannot allocate %" PRIu64 " bytes for the inflated section", size);
    if ((st = pcache_segment_inflate(seg, index, p, size, out, rep)) != PCACHE_OK) {
        free(p);
        return st;
    }
    *buf = p;
    return PCACHE_OK;
}

void pcache_free(void *p)
{
    free(p);
}
