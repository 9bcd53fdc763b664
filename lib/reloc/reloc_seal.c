/* SPDX-License-Identifier: BSD-2-Clause */
/* The relocation seal (docs/FORMAT.md 9.8).  Resurrect checks the
 * relocation tables in full (9.7), once; pcache_reloc_apply and the record
 * readers rely on that check without repeating it.  The seal says for
 * which struct and which bytes they may: a 64-bit hash of
 *  - the fields of the struct that apply uses (base, size, class, file
 *    offset, section count, validation level, byte order, checksum
 *    algorithm, the ranged-record count and spans the check left, the
 *    record count, and the state of implicit addends: pristine, or
 *    applied in place with which image base and anchors), and
 *  - the bytes that say where every section is and what checksum it has:
 *    the header [0, 256), the section table [256, 256 + 64n) and the
 *    checksum trailer [T, T + 16n).
 * So a struct edited, copied by hand or pointed elsewhere, and a struct
 * whose base now holds another file, however well signed, no longer
 * match.  The header and table enter it as XXH3-64 of header bytes
 * [0, 248), the header checksum field [248, 256), and XXH3-64 of the
 * table: of an XXH3 segment resurrect has just computed and compared the
 * first and the last with the stored checksums, so that sealing one takes
 * them from the header instead of hashing the same bytes again (the
 * check after it always hashes the bytes).  Section bytes, records
 * included, are not hashed (apply writes the sites', and hashing the
 * records would cost as much as applying them): apply decodes records
 * bounds-safe instead (reloc_apply.c).
 *
 * Not a secret, and no defence against a deliberate collision: nothing
 * that keeps memory safe rests on it. */
#include <string.h>

#include "reloc_table.h"
#include "report.h"

/* The seal of seg as it is now, in *seal; 0, or -1 with *why when the
 * bytes the seal covers do not lie inside the segment seg describes (then
 * none is read).  verified: the header and table are those resurrect
 * checked, so that an XXH3 segment's stored checksums are their hashes.
 * The fields and hashes are gathered into words and hashed once, with the
 * trailer bytes themselves while all fit in 240 bytes (up to 8 sections
 * without spans): a chain of multiply-xor steps, one per word, and a hash
 * of its own for the trailer took most of a sealing's time. */
static int seal_of(const pcache_segment *seg, int verified, uint64_t *seal, const char **why)
{
    uint64_t n = seg->section_count, table_end = SEG_HEADER_SIZE + SEG_ENTRY_SIZE * n, toff;
    /* the words, then (when they fit in XXH3's short input of 240 bytes
     * with them) the trailer bytes themselves; else the trailer's hash */
    uint64_t w[14 + 3 * PCACHE_RELOC_SPANS]; /* 304 bytes: the most words, or 240 bytes */
    size_t k = 0, bytes;

    if (n > PCACHE_MAX_SECTIONS || seg->size < table_end) {
        *why = "section count past the segment size";
        return -1;
    }
    toff = ld64(seg->base + SH_TRAILER_OFFSET);
    if (toff < table_end || toff > seg->size || seg->size - toff < SEG_TRAILER_ENTRY_SIZE * n) {
        *why = "checksum trailer outside the segment";
        return -1;
    }
    w[k++] = (uint64_t)(uintptr_t)seg->base;
    w[k++] = seg->size;
    w[k++] = seg->file_offset;
    w[k++] = n | (uint64_t)seg->cls << 32 | (uint64_t)seg->validation << 40 |
             (uint64_t)seg->identity.byte_order << 48 | (uint64_t)seg->identity.checksum << 56;
    w[k++] = seg->relocs_ranged;
    w[k++] = seg->relocs_span_count;
    w[k++] = seg->relocs_count;
    w[k++] = seg->relocs_state;
    /* the addresses of the last apply in place count only after one */
    w[k++] = seg->relocs_state != PCACHE_RELOCS_PRISTINE ? seg->relocs_applied_base : 0;
    /* (and the hash of the sections they wrote, in the same word: the
     * words must stay few for the trailer to fit beside them) */
    w[k++] = seg->relocs_state != PCACHE_RELOCS_PRISTINE
                 ? pcache_checksum(PCACHE_CHECKSUM_XXH3_64, seg->relocs_applied_anchor,
                                   sizeof seg->relocs_applied_anchor) +
                       seg->relocs_applied_sum * 0x9E3779B97F4A7C15ull
                 : 0;
    if (verified && seg->identity.checksum == PCACHE_CHECKSUM_XXH3_64) {
        w[k++] = ld64be(seg->base + SH_HEADER_CHECKSUM);
        w[k++] = ld64be(seg->base + SH_TABLE_CHECKSUM);
    } else {
        w[k++] = pcache_checksum(PCACHE_CHECKSUM_XXH3_64, seg->base, SH_HEADER_CHECKSUM);
        w[k++] = pcache_checksum(PCACHE_CHECKSUM_XXH3_64, seg->base + SEG_HEADER_SIZE,
                                 (size_t)(table_end - SEG_HEADER_SIZE));
    }
    w[k++] = ld64be(seg->base + SH_HEADER_CHECKSUM); /* the field itself: [248, 256) */
    for (uint32_t j = 0; j < seg->relocs_span_count && j < PCACHE_RELOC_SPANS; j++) {
        const pcache_reloc_span *sp = &seg->relocs_spans[j];
        w[k++] = sp->low;
        w[k++] = sp->width;
        w[k++] = (uint64_t)sp->origin << 8 | sp->kind;
    }
    bytes = k * sizeof w[0];
    if (bytes + SEG_TRAILER_ENTRY_SIZE * n <= 240) {
        memcpy((uint8_t *)w + bytes, seg->base + toff, (size_t)(SEG_TRAILER_ENTRY_SIZE * n));
        bytes += (size_t)(SEG_TRAILER_ENTRY_SIZE * n);
    } else {
        w[k++] = pcache_checksum(PCACHE_CHECKSUM_XXH3_64, seg->base + toff, (size_t)(SEG_TRAILER_ENTRY_SIZE * n));
        bytes = k * sizeof w[0];
    }
    *seal = pcache_checksum(PCACHE_CHECKSUM_XXH3_64, w, bytes) | 1; /* never 0: "not sealed" */
    return 0;
}

void reloc_seal(pcache_segment *seg)
{
    const char *why;
    /* resurrect has checked the layout, and the header and table
     * checksums: seal_of cannot fail here */
    if (seal_of(seg, 1, &seg->relocs_checked, &why) != 0)
        seg->relocs_checked = 0;
}

pcache_status reloc_seal_check(const pcache_segment *seg, pcache_report *rep)
{
    int cls = (unsigned)seg->cls < PCACHE_CLASS_COUNT ? (int)seg->cls : PCACHE_REPORT_NO_CLASS;
    const char *why;
    uint64_t now;

    if (seg->relocs_checked == 0)
        return report_fail(rep, PCACHE_E_STATE, cls, NULL, PCACHE_REPORT_NO_OFFSET, 0, 0, 0,
                           "segment struct not filled in by a successful pcache_resurrect (it has no relocation "
                           "seal): resurrect the bytes first");
    if (seal_of(seg, 0, &now, &why) != 0)
        return report_fail(rep, PCACHE_E_SEGMENT_CHANGED, cls, NULL, SH_TRAILER_OFFSET, 0, 0, 0,
                           "segment struct or the bytes at its base changed since pcache_resurrect sealed it (%s)",
                           why);
    if (now != seg->relocs_checked)
        return report_fail(rep, PCACHE_E_SEGMENT_CHANGED, cls, NULL, PCACHE_REPORT_NO_OFFSET, 1, seg->relocs_checked,
                           now, "segment struct, or the header, section table or checksum trailer at its base, "
                           "changed since pcache_resurrect sealed it (relocation seal)");
    return PCACHE_OK;
}
