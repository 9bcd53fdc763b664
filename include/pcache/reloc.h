/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libpcache — patch sites and relocations.
 *
 * Code persisted in one class refers to data in another, and to addresses
 * outside the image (the app module, the client library).  A *patch site*
 * is a field in a section whose value is such a reference.  The builder
 * resolves at persist time what does not depend on where things are loaded
 * (relative references between sections of the image: the image is mapped
 * contiguously, file offset 0 at the image base), and stores everything
 * else as *relocation records* in the segment that holds the sites, applied
 * after resurrect by pcache_reloc_apply().  docs/FORMAT.md, section 9,
 * specifies the records byte by byte.
 *
 * Arithmetic on addresses is modulo 2^64, as the processor's; a value is
 * then checked against the range of its field, never truncated.
 */
#ifndef PCACHE_RELOC_H
#define PCACHE_RELOC_H

#include "pcache/pcache.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Library-owned section types (the section table's `type` field). */
#define PCACHE_TYPE_RELOCS  2u  /* ".relocs": relocation records */
#define PCACHE_TYPE_ANCHORS 3u  /* ".anchors": anchors the records use */
#define PCACHE_TYPE_CRELOCS 4u  /* ".crelocs": relocation records, compact (format 1.2) */

#define PCACHE_RELOC_RECORD_SIZE 48u /* bytes per record in ".relocs" */
#define PCACHE_ANCHOR_ENTRY_SIZE 40u /* bytes per entry in ".anchors" */
#define PCACHE_ANCHOR_NAME_MAX   31u /* bytes, excluding the NUL */
#define PCACHE_MAX_ANCHORS       64u /* per builder, and per segment */

/* Built-in anchors.  "module" is the app module's base: its persist-time
 * address is the identity's module_base (the identity must carry a module
 * key).  "client" is the client library's base, set like any other anchor
 * with pcache_builder_set_anchor(). */
#define PCACHE_ANCHOR_MODULE "module"
#define PCACHE_ANCHOR_CLIENT "client"

typedef enum pcache_reloc_kind {
    PCACHE_RELOC_REL8 = 1,  /* 1-byte signed displacement, [-128, 127] */
    PCACHE_RELOC_REL32 = 2, /* 4-byte signed displacement, [-2^31, 2^31 - 1] */
    PCACHE_RELOC_ABS32 = 3, /* 4-byte address, [0, 2^32 - 1] */
    PCACHE_RELOC_ABS64 = 4  /* 8-byte address */
} pcache_reloc_kind;

typedef enum pcache_target_kind {
    PCACHE_TARGET_SECTION = 1, /* a section of the same image, plus an offset */
    PCACHE_TARGET_ANCHOR = 2   /* a named external address, plus an offset */
} pcache_target_kind;

/* Bytes of a field of this kind (1, 4 or 8), or 0 for an unknown kind. */
PCACHE_API unsigned pcache_reloc_width(pcache_reloc_kind kind);
/* "rel8", "rel32", "abs32", "abs64", or "unknown". */
PCACHE_API const char *pcache_reloc_kind_name(pcache_reloc_kind kind);

/* ------------------------------------------------------------------ */
/* The displacement math                                               */
/* ------------------------------------------------------------------ */

/* Writes into field (width bytes, in byte order `order`) the value that
 * makes a reference at field_address reach target:
 *   relative kinds: target - (field_address + pc_offset), which must fit
 *     the signed width; pc_offset says where the processor counts from
 *     (x86: the end of the instruction, e.g. 4 for a rel32 that ends it,
 *     4 + 1 when an imm8 follows it);
 *   absolute kinds: target itself, which must fit the unsigned width;
 *     pc_offset must be 0.
 * Fails with PCACHE_E_RELOC_RANGE (report says value and range) and leaves
 * the field untouched when the value does not fit; PCACHE_E_INVALID_ARGUMENT
 * for an unknown kind or byte order, or a nonzero pc_offset on an absolute
 * kind.  rep may be NULL.  This is what a DynamoRIO patch callback needs. */
PCACHE_API pcache_status pcache_encode_reference(pcache_reloc_kind kind,
                                                 pcache_byte_order order,
                                                 uint8_t *field,
                                                 uint64_t field_address,
                                                 int32_t pc_offset,
                                                 uint64_t target,
                                                 pcache_report *rep);

/* The inverse: the address the field at field_address refers to. */
PCACHE_API pcache_status pcache_decode_reference(pcache_reloc_kind kind,
                                                 pcache_byte_order order,
                                                 const uint8_t *field,
                                                 uint64_t field_address,
                                                 int32_t pc_offset,
                                                 uint64_t *target);

/* ------------------------------------------------------------------ */
/* Declaring patch sites (builder)                                     */
/* ------------------------------------------------------------------ */

/* A reference to be made correct wherever the image is loaded. */
typedef struct pcache_patch {
    /* the site: the field at `offset` in section `section` of class `cls` */
    pcache_class cls;
    const char *section;
    uint64_t offset;
    pcache_reloc_kind kind;
    int32_t pc_offset;            /* relative kinds only; 0 for absolute ones */
    /* the target */
    pcache_target_kind target_kind;
    pcache_class target_class;    /* PCACHE_TARGET_SECTION */
    const char *target_section;   /* PCACHE_TARGET_SECTION */
    const char *anchor;           /* PCACHE_TARGET_ANCHOR */
    uint64_t target_offset;       /* into the section (<= its size), or from the anchor */
    int64_t addend;               /* added to the target address */
} pcache_patch;

/* Declares a patch site (strings are copied).  The site's section and a
 * target section must already have been added, by name in their class;
 * the field must lie wholly inside its section and a target offset must be
 * at most its section's size, else PCACHE_E_RELOC_TARGET.  An anchor name
 * is 1..31 printable bytes without spaces.  Must precede
 * pcache_builder_size() of the site's class (it changes that segment's
 * size: adding a patch invalidates the class's size).  Sites that overlap
 * are refused by pcache_builder_size() (PCACHE_E_RELOC_OVERLAP, the report
 * names both). */
PCACHE_API pcache_status pcache_builder_add_patch(pcache_builder *b,
                                                  const pcache_patch *p);

/* Defines (or redefines) an anchor and its address at persist time: the
 * values written into the image are computed with it, and it is stored
 * with the records.  "client" is the client library's base; "module" is
 * not set here (it is the identity's module_base).  An anchor a patch uses
 * must be defined before pcache_builder_size() of the patch's class
 * (PCACHE_E_ANCHOR).  At most PCACHE_MAX_ANCHORS. */
PCACHE_API pcache_status pcache_builder_set_anchor(pcache_builder *b, const char *name,
                                                   uint64_t address);

/* How the builder stores relocation records (docs/FORMAT.md 9.4, 9.10). */
typedef enum pcache_reloc_form {
    /* The default: ".crelocs" unless it would take at least as many bytes
     * as ".relocs" (48 per record), then ".relocs".  Deterministic: the
     * same records give the same choice. */
    PCACHE_RELOC_FORM_SMALLER = 0,
    /* ".relocs", 48 bytes per record (format 1.0): for 1.0 and 1.1 readers */
    PCACHE_RELOC_FORM_RECORDS = 1,
    /* ".crelocs" (format 1.2) whatever its size: records that share kind,
     * target, addend rule and site section form a shape, and runs of
     * sites repeating at a fixed period take a few bytes whatever their
     * length.  A record whose target offset + addend fits its field keeps
     * it in the field (an implicit addend, 9.10).  Such a segment needs a
     * 1.2 reader: a 1.1 reader refuses it (PCACHE_E_UNKNOWN_CRITICAL). */
    PCACHE_RELOC_FORM_COMPACT = 2
} pcache_reloc_form;

/* Chooses the form of the relocation tables the next pcache_builder_size()
 * of each class writes (PCACHE_RELOC_FORM_SMALLER until called).
 * PCACHE_E_INVALID_ARGUMENT for another value. */
PCACHE_API pcache_status pcache_builder_set_reloc_form(pcache_builder *b, pcache_reloc_form form);

/* *relocated = 1 when section `name` of class cls holds a patch site that
 * becomes a relocation record (an anchor target, or an absolute address
 * of a section), whose value is known only at load; 0 when every site in
 * it (if any) is resolved at persist.  PCACHE_E_NOT_FOUND for no such
 * client section. */
PCACHE_API pcache_status pcache_builder_section_relocated(const pcache_builder *b, pcache_class cls,
                                                          const char *name, int *relocated);

/* Number of patches declared. */
PCACHE_API uint64_t pcache_builder_patch_count(const pcache_builder *b);

/* ------------------------------------------------------------------ */
/* Applying relocations (loader)                                       */
/* ------------------------------------------------------------------ */

/* Returns 0 and the current address of anchor `name` in *address, or
 * nonzero if it cannot be resolved.  persisted is the address it had when
 * the image was written. */
typedef int (*pcache_anchor_resolver)(void *ctx, const char *name, uint64_t persisted,
                                      uint64_t *address);

/* Applies the relocation records of seg to dst.
 *
 * dst: a writable copy of the segment's bytes (seg->size bytes, laid out
 * as at seg->base), or seg->base itself when that mapping is writable.
 * image_base: the address at which file offset 0 of the image is when the
 * code runs; the segment runs at image_base + seg->file_offset.
 * resolve(ctx, ...) gives the current address of each anchor the segment
 * lists (failure: PCACHE_E_ANCHOR, naming it; resolve may be NULL when the
 * segment uses no anchor).
 *
 * For each record, the value for the current addresses is computed and
 * checked against its field's range before any byte is written: on any
 * failure (PCACHE_E_RELOC_RANGE naming the site, PCACHE_E_ANCHOR, a
 * section checksum, a refused struct) dst is left untouched, with the one
 * exception below.
 *
 * The records are hostile input, validated in full once (docs/FORMAT.md
 * 9.7) by the pcache_resurrect() that filled in seg, which seals it.
 * Apply relies on that check only for that struct and the bytes it
 * checked (9.8): a struct resurrect did not fill in, or whose resurrect
 * failed, is refused with PCACHE_E_STATE (apply does not validate one
 * itself: resurrect the bytes); a struct whose fields changed, or whose
 * base now holds another header, section table or checksum trailer than
 * resurrect checked (another file mapped there, however well signed), with
 * PCACHE_E_SEGMENT_CHANGED; both before a record is read.
 * Copies of the struct are as good as the struct (but see implicit
 * addends below).  What the seal proves:
 * the struct is resurrect's, unchanged, and its base holds the header,
 * table and trailer resurrect checked, so every section's place and size
 * and the checksum stated for every section's bytes.  It does not prove
 * that section bytes still match those checksums: the sites' fields may
 * have been written by an earlier apply with dst = seg->base; ".relocs"
 * and ".anchors" must not change, and if they do, each record and anchor
 * name is decoded as untrusted: nothing is read outside the table,
 * ".relocs" and ".anchors" (and under LAZY the site sections verified),
 * nothing written outside the site sections of dst; a record changed into
 * one resurrect refuses for its site section, kind, target kind, field
 * bounds, anchor index or value range is refused with
 * PCACHE_E_SEGMENT_CHANGED (when found while writing, after the fields of
 * the records before it: the message says so), one changed into another
 * well-formed record is applied as it reads.
 *
 * Implicit addends (the compact form, docs/FORMAT.md 9.10): a field of an
 * implicit shape holds the record's addend, and apply reads it at the
 * segment's bytes (seg->base), whatever dst is.  seg remembers what those
 * fields hold: as written (after resurrect), or relocated by an apply in
 * place (dst = seg->base) for an image base and anchor
 * addresses it keeps; it reads each addend back accordingly.  So:
 *  - applying to a copy, any number of times, before or after an apply in
 *    place, writes the right values; seg is not changed;
 *  - the first apply in place of a segment with implicit addends first
 *    checks, at every validation level and before any write, that each
 *    section holding one still matches its stored checksum: else (these
 *    bytes were relocated in place through another struct, or changed)
 *    PCACHE_E_SECTION_CHECKSUM naming the section, nothing written;
 *  - after an apply in place, every apply (in place or to a copy) first
 *    checks that the sections holding implicit addends hash to what that
 *    apply left: else (relocated again through another struct, such as a
 *    copy of seg made before, or changed) PCACHE_E_SECTION_CHECKSUM,
 *    nothing written;
 *  - applying in place again, with the same addresses, writes the same
 *    values (idempotent), with others relocates again, correctly;
 *  - an apply in place that stops while writing (a table changed against
 *    the caller's promise) leaves seg marked broken: apply and reads of
 *    implicit records then refuse with PCACHE_E_SEGMENT_CHANGED; resurrect
 *    fresh bytes again.
 * Another struct over bytes relocated in place (or any change to segment
 * bytes after resurrect) is caught by LAZY apply's verification and by the
 * checks above; an apply to a copy by a struct whose state is pristine
 * (for example a copy of seg made before its apply in place) reads the
 * fields as they are, under FULL and HEADER, and under LAZY when the
 * section was verified before: wrong values, never a read or write
 * outside the segment.  Hashing every such section at every apply would
 * cost about as much as the apply: after an apply in place, use the
 * struct that made it, or resurrect again.  An apply in place updates that state in seg
 * (and seals it again).
 * dst is seg->base (in place) or does not overlap the segment's bytes:
 * else PCACHE_E_INVALID_ARGUMENT.
 *
 * Order: patched sections no longer match their stored checksums, so they
 * are verified first.  Under PCACHE_VALIDATE_FULL resurrect did it; under
 * PCACHE_VALIDATE_LAZY this call verifies every section holding a site
 * (at seg->base) before writing, and marks it verified; under
 * PCACHE_VALIDATE_HEADER nothing is verified, as the caller chose.
 * Applying again to the same bytes is harmless (the same values are
 * written), but a new resurrect of patched bytes fails their checksums.
 * A segment without records: PCACHE_OK, nothing done. */
PCACHE_API pcache_status pcache_reloc_apply(pcache_segment *seg, void *dst,
                                            uint64_t image_base,
                                            pcache_anchor_resolver resolve, void *ctx,
                                            pcache_report *rep);

/* Checks every record of seg whose target is a section of another class
 * against that class's segment (segs[class], NULL when the image has none):
 * the section exists, holds the target offset, and sits at the file offset
 * the record states.  Targets in seg's own class are checked by resurrect.
 * A loader that holds all of an image's segments calls this once per
 * segment; PCACHE_E_RELOC_TARGET on a mismatch.  seg, and each segment a
 * record targets, must be sealed and unchanged, as for apply
 * (PCACHE_E_STATE, PCACHE_E_SEGMENT_CHANGED). */
PCACHE_API pcache_status pcache_reloc_check_targets(const pcache_segment *seg,
                                                    const pcache_segment *const segs[PCACHE_CLASS_COUNT],
                                                    pcache_report *rep);

/* ------------------------------------------------------------------ */
/* Reading records (tools)                                             */
/* ------------------------------------------------------------------ */

/* One relocation record, decoded.  Strings point into the segment. */
typedef struct pcache_reloc {
    pcache_reloc_kind kind;
    pcache_target_kind target_kind;
    int32_t pc_offset;
    uint32_t site_index;          /* section index in this segment */
    const char *site_section;
    uint64_t site_offset;         /* in that section */
    /* PCACHE_TARGET_SECTION */
    pcache_class target_class;
    uint32_t target_index;        /* section index in the target class's segment */
    const char *target_section;   /* NULL when in another class's segment */
    uint64_t target_base;         /* file offset of the target section */
    /* PCACHE_TARGET_ANCHOR */
    uint32_t anchor_index;        /* in this segment's ".anchors" */
    const char *anchor;
    uint64_t anchor_persisted;    /* its address at persist time */
    uint64_t target_offset;
    int64_t addend;
} pcache_reloc;

/* Number of relocation records in a resurrected segment: the count
 * resurrect checked, kept in the sealed struct (never re-read from the
 * table's bytes); 0 when none, or when seg is not a sealed, unchanged
 * struct. */
PCACHE_API uint64_t pcache_segment_reloc_count(const pcache_segment *seg);

/* Record index (0 .. count-1), in stored order: by site section, then
 * site offset.  PCACHE_E_NOT_FOUND past the count.  This, the iterator
 * below and pcache_segment_anchor() read only a segment resurrect sealed,
 * unchanged since (PCACHE_E_STATE, PCACHE_E_SEGMENT_CHANGED, as apply);
 * a table whose bytes changed since resurrect is decoded bounds-safe and
 * refused with PCACHE_E_SEGMENT_CHANGED where it no longer decodes.
 * A record of an implicit shape (9.10) is reported with its addend in
 * target_offset and addend 0, read back as apply reads it (see
 * pcache_reloc_apply); PCACHE_E_SEGMENT_CHANGED after an apply in place
 * that stopped partway.  After an apply in place through seg, this call
 * and pcache_reloc_iter_init() first check, as apply does, that the
 * sections holding implicit addends hash to what that apply left
 * (PCACHE_E_SECTION_CHECKSUM else, e.g. a copy of seg made before the
 * bytes were relocated again); a struct whose state is pristine reads the
 * fields as they are (see pcache_reloc_apply on other structs).
 * Cost: O(1) for ".relocs"; for ".crelocs", O(runs before the record):
 * reading every record through this is quadratic in the number of runs.
 * Iterate with pcache_reloc_iter instead. */
PCACHE_API pcache_status pcache_segment_reloc(const pcache_segment *seg, uint64_t index,
                                              pcache_reloc *out);

/* A caller-owned iterator over a segment's records in stored order, for
 * both forms: each next is O(1) amortized (the whole table: linear).  The
 * fields are the library's; it holds no allocation and needs no cleanup.
 * It reads seg as pcache_segment_reloc does, at each call. */
typedef struct pcache_reloc_iter {
    const pcache_segment *seg;
    uint64_t index;             /* the record the next call returns */
    uint64_t internal[36];      /* library-internal */
} pcache_reloc_iter;

/* Starts *it at record 0 of seg (PCACHE_E_INVALID_ARGUMENT for NULL
 * arguments; PCACHE_E_STATE, PCACHE_E_SEGMENT_CHANGED as above). */
PCACHE_API pcache_status pcache_reloc_iter_init(pcache_reloc_iter *it, const pcache_segment *seg);
/* The record at it->index into *out, and advances: PCACHE_OK; or
 * PCACHE_E_NOT_FOUND past the last record; PCACHE_E_SEGMENT_CHANGED when
 * the table no longer decodes (or *it is not one init made for seg). */
PCACHE_API pcache_status pcache_reloc_iter_next(pcache_reloc_iter *it, pcache_reloc *out);

/* Number of anchors the segment's records use, and anchor index's name
 * (points into the segment) and persist-time address. */
PCACHE_API uint32_t pcache_segment_anchor_count(const pcache_segment *seg);
PCACHE_API pcache_status pcache_segment_anchor(const pcache_segment *seg, uint32_t index,
                                               const char **name, uint64_t *persisted);

#ifdef __cplusplus
}
#endif

#endif /* PCACHE_RELOC_H */
