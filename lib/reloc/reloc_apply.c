/* SPDX-License-Identifier: BSD-2-Clause */
/* Applying relocation records at load: all or nothing.  Every value that
 * can be out of range is computed and checked before the first byte of
 * dst is written, so that a reference that no longer reaches leaves the
 * copy as it was.
 *
 * The records were validated once, when the segment was resurrected
 * (docs/FORMAT.md 9.7: kinds, indices, bounds, order, overlap), and the
 * segment sealed (reloc_seal.c).  Apply refuses a struct whose seal does
 * not hold, and relies on that check instead of repeating it.  The seal
 * covers the header, section table and checksum trailer, not the record
 * bytes, so the loops below still decode each record bounds-safe, at the
 * price of a few compares: a record that is not of a shape the check
 * accepted (its bytes changed under their stored checksum) stops the pass
 * with PCACHE_E_SEGMENT_CHANGED, and nothing is ever read outside the
 * section table, ".relocs" and ".anchors", or written outside the site
 * sections of dst.  When it is the writing pass that stops, the fields of
 * the records before have been written: the one exception to all or
 * nothing, for bytes that changed against the caller's promise. */
#include <inttypes.h>
#include <string.h>

#include "checksum.h"
#include "patch.h"
#include "reloc_table.h"
#include "report.h"

/* The per-record helpers are forced inline: the loops are the point. */
#define HOT static inline __attribute__((always_inline))

typedef struct apply_ctx {
    const pcache_segment *seg;
    const uint8_t *relocs;
    uint64_t nrelocs;
    uint64_t relocs_offset; /* in the segment, for reports */
    uint32_t nanchors;
    uint64_t image_base;
    uint64_t seg_address; /* where the segment runs: image_base + F */
    uint64_t anchor[PCACHE_MAX_ANCHORS]; /* current addresses, by anchor index */
    /* the compact form's implicit addends: what seg's fields hold */
    uint32_t state;
    uint64_t applied_base;
    const uint64_t *applied_anchor;
} apply_ctx;

/* Why a pass over the records stopped.  All but STOP_RANGE mean that the
 * record is not one resurrect's check accepted. */
typedef enum stop {
    STOP_NONE = 0,
    STOP_RANGE,           /* checking pass: the value does not fit its field */
    STOP_SITE_INDEX,      /* site section index past the section count */
    STOP_SITE_ORDER,      /* site section before the previous record's */
    STOP_SITE_TYPE,       /* site section not a data section */
    STOP_SITE_BOUNDS,     /* site section outside the segment */
    STOP_SITE_UNVERIFIED, /* LAZY: a site section not verified before writing */
    STOP_KIND,            /* unknown kind */
    STOP_NOT_ABS64,       /* a kind other than abs64 where resurrect counted abs64 only */
    STOP_FIELD,           /* field ends past its section */
    STOP_TARGET_KIND,     /* target kind neither section nor anchor */
    STOP_ANCHOR,          /* anchor index past the anchor table */
    STOP_VALUE,           /* writing pass: a value out of range, though proved in range */
    STOP_RULE,            /* compact: unknown addend rule */
    STOP_STREAM           /* compact: the run stream no longer decodes (creloc_err says why) */
} stop;

static const char *const stop_text[] = {
    [STOP_SITE_INDEX] = "site section index past the section count",
    [STOP_SITE_ORDER] = "site section before the previous record's (not sorted)",
    [STOP_SITE_TYPE] = "site section is not a data section",
    [STOP_SITE_BOUNDS] = "site section lies outside the segment",
    [STOP_SITE_UNVERIFIED] = "site section not verified before writing",
    [STOP_KIND] = "unknown kind",
    [STOP_NOT_ABS64] = "kind other than abs64, the only kind resurrect counted",
    [STOP_FIELD] = "field ends past its section",
    [STOP_TARGET_KIND] = "unknown target kind",
    [STOP_ANCHOR] = "anchor index past the anchor table",
    [STOP_VALUE] = "value out of range, though resurrect's spans or the check before writing had it in range",
    [STOP_RULE] = "unknown addend rule",
    [STOP_STREAM] = "the run stream does not decode",
};

/* The site section of the records being walked (records are sorted by
 * site section, so each section is one run), or why a section cannot be
 * one. */
typedef struct site_run {
    stop why;
    uint32_t index;        /* RUN_NONE before the first record */
    uint64_t offset, size; /* of the section, in the segment */
} site_run;

#define RUN_NONE UINT32_MAX

HOT const uint8_t *record_at(const apply_ctx *a, uint64_t i)
{
    return a->relocs + i * PCACHE_RELOC_RECORD_SIZE;
}

HOT uint32_t record_site_section(const apply_ctx *a, uint64_t i)
{
    return ld16(record_at(a, i) + RR_SITE_SECTION);
}

/* Section s as a site section: a data section inside the segment, its
 * table entry checked rather than taken on trust. */
static site_run site_section(const apply_ctx *a, uint32_t s)
{
    const pcache_segment *seg = a->seg;
    site_run r = {STOP_NONE, s, 0, 0};

    if (s >= seg->section_count)
        r.why = STOP_SITE_INDEX;
    else if (!reloc_data_section(seg, s))
        r.why = STOP_SITE_TYPE;
    else {
        r.offset = reloc_section_offset(seg, s);
        r.size = reloc_section_size(seg, s);
        if (r.offset > seg->size || r.size > seg->size - r.offset)
            r.why = STOP_SITE_BOUNDS;
    }
    return r;
}

/* The run of site section s, after the run of section prev (RUN_NONE for
 * the first).  Not inlined: once per section. */
static __attribute__((noinline)) site_run run_start(const apply_ctx *a, uint32_t prev, uint32_t s)
{
    const pcache_segment *seg = a->seg;
    site_run r;

    if (prev != RUN_NONE && s <= prev) {
        r.why = STOP_SITE_ORDER;
        return r;
    }
    r = site_section(a, s);
    if (r.why == STOP_NONE && seg->validation == PCACHE_VALIDATE_LAZY &&
        !(__atomic_load_n(&seg->verified[s / 64], __ATOMIC_ACQUIRE) & (1ull << (s % 64))))
        r.why = STOP_SITE_UNVERIFIED;
    return r;
}

/* Records are sorted by site section: the run of records in the section
 * of record i ends at the index returned, found by bisection.  Only a
 * guide: the walks check every record's section. */
static uint64_t run_end(const apply_ctx *a, uint64_t i)
{
    uint32_t s = record_site_section(a, i);
    uint64_t lo = i + 1, hi = a->nrelocs;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (record_site_section(a, mid) == s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Field bytes in the client's byte order (9.2), whatever the host's. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_BIG 0
#else
#define HOST_BIG 1
#endif

HOT void store32(uint8_t *p, uint32_t v, int big)
{
    if (big != HOST_BIG)
        v = __builtin_bswap32(v);
    memcpy(p, &v, 4);
}

HOT void store64(uint8_t *p, uint64_t v, int big)
{
    if (big != HOST_BIG)
        v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
}

HOT uint32_t load32(const uint8_t *p, int big)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return big != HOST_BIG ? __builtin_bswap32(v) : v;
}

HOT uint64_t load64(const uint8_t *p, int big)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return big != HOST_BIG ? __builtin_bswap64(v) : v;
}

/* The first 4 bytes of a record: kind, target kind, site section. */
#define HEAD(kind, target_kind, site) ((uint32_t)(kind) | (uint32_t)(target_kind) << 8 | (uint32_t)(site) << 16)

/* Writes a table of abs64 records only (resurrect counted no other kind):
 * no kind to tell apart, no range to check.  A record in the run's site
 * section, abs64, to a section or a known anchor is told from the others
 * by its first 4 bytes; any other takes the slow way, which starts a new
 * run or says why the record is not one resurrect accepted.  Returns
 * nrelocs, or the index of the record that stopped the pass, and *why. */
HOT uint64_t write_abs64(const apply_ctx *a, uint8_t *dst, int big, stop *why)
{
    const uint8_t *const first = a->relocs, *const end = first + a->nrelocs * PCACHE_RELOC_RECORD_SIZE;
    const uint64_t image_base = a->image_base;
    const uint32_t nanchors = a->nanchors;
    uint32_t cur = RUN_NONE, to_section = 0, to_anchor = 0;
    uint64_t limit = 0; /* a field at off fits the run's section iff off < limit */
    uint8_t *run = dst;
    const uint8_t *rec = first;

    while (rec < end) {
        uint32_t head = ld32(rec);
        uint64_t off = ld64(rec + RR_SITE_OFFSET), v;

        if (__builtin_expect(head == to_section, 1)) {
            v = image_base + ld64(rec + RR_TARGET_BASE);
        } else if (head == to_anchor && ld16(rec + RR_TARGET_INDEX) < nanchors) {
            v = a->anchor[ld16(rec + RR_TARGET_INDEX)];
        } else {
            uint32_t s = head >> 16;
            if (s != cur) {
                site_run r = run_start(a, cur, s);
                if ((*why = r.why) != STOP_NONE)
                    return (uint64_t)(rec - first) / PCACHE_RELOC_RECORD_SIZE;
                cur = s;
                to_section = HEAD(PCACHE_RELOC_ABS64, PCACHE_TARGET_SECTION, s);
                to_anchor = HEAD(PCACHE_RELOC_ABS64, PCACHE_TARGET_ANCHOR, s);
                limit = r.size >= 8 ? r.size - 7 : 0;
                run = dst + r.offset;
                continue; /* the same record again, in its run */
            }
            *why = (head & 0xffu) != PCACHE_RELOC_ABS64 ? STOP_NOT_ABS64
                   : ((head >> 8) & 0xffu) != PCACHE_TARGET_SECTION && ((head >> 8) & 0xffu) != PCACHE_TARGET_ANCHOR
                       ? STOP_TARGET_KIND
                       : STOP_ANCHOR;
            return (uint64_t)(rec - first) / PCACHE_RELOC_RECORD_SIZE;
        }
        if (__builtin_expect(off >= limit, 0)) {
            *why = STOP_FIELD;
            return (uint64_t)(rec - first) / PCACHE_RELOC_RECORD_SIZE;
        }
        store64(run + off, v + ld64(rec + RR_TARGET_OFFSET) + ld64(rec + RR_ADDEND), big);
        rec += PCACHE_RELOC_RECORD_SIZE;
    }
    *why = STOP_NONE;
    return a->nrelocs;
}

/* One pass over records of any kinds, in stored order, decoding each
 * bounds-safe (see the top).  check: every value against its field's
 * range, nothing written; else writes each into dst in byte order big,
 * its range checked all the same (resurrect's spans, or the checking
 * pass, proved it for the records as they were).  One dispatch on the
 * kind per record.  Returns nrelocs, or the index of the record that
 * stopped the pass, and *why.  Inlined per pass and byte order. */
HOT uint64_t walk(const apply_ctx *a, uint8_t *dst, int check, int big, uint64_t from, stop *why)
{
    const uint8_t *const first = a->relocs, *const end = first + a->nrelocs * PCACHE_RELOC_RECORD_SIZE;
    const uint64_t image_base = a->image_base, seg_address = a->seg_address;
    const uint32_t nanchors = a->nanchors;
    uint32_t cur = RUN_NONE;
    uint64_t run_offset = 0;
    /* by kind & 7: a field of that kind at off fits the run's section iff
     * off < limit[kind & 7].  0 for codes that are no kind, and for all
     * before the first run: nothing fits.  (A kind byte above 7 meets the
     * limit of kind & 7, then no case of the switch below.) */
    uint64_t limit[8] = {0};
    const uint8_t *rec;

    for (rec = first + from * PCACHE_RELOC_RECORD_SIZE; rec < end; rec += PCACHE_RELOC_RECORD_SIZE) {
        uint32_t head = ld32(rec);
        uint64_t off = ld64(rec + RR_SITE_OFFSET), v, at;
        uint16_t j;

        if (__builtin_expect(head >> 16 != cur, 0)) {
            site_run r = run_start(a, cur, head >> 16);
            if ((*why = r.why) != STOP_NONE)
                goto stopped;
            cur = head >> 16;
            run_offset = r.offset;
            limit[PCACHE_RELOC_REL8] = r.size;
            limit[PCACHE_RELOC_REL32] = limit[PCACHE_RELOC_ABS32] = r.size >= 4 ? r.size - 3 : 0;
            limit[PCACHE_RELOC_ABS64] = r.size >= 8 ? r.size - 7 : 0;
        }
        if (__builtin_expect(off >= limit[head & 7u], 0)) {
            *why = reloc_kind_known(head & 0xffu) ? STOP_FIELD : STOP_KIND;
            goto stopped;
        }
        if (((head >> 8) & 0xffu) == PCACHE_TARGET_SECTION) {
            v = image_base + ld64(rec + RR_TARGET_BASE);
        } else {
            if (((head >> 8) & 0xffu) != PCACHE_TARGET_ANCHOR) {
                *why = STOP_TARGET_KIND;
                goto stopped;
            }
            if ((j = ld16(rec + RR_TARGET_INDEX)) >= nanchors) {
                *why = STOP_ANCHOR;
                goto stopped;
            }
            v = a->anchor[j];
        }
        v += ld64(rec + RR_TARGET_OFFSET) + ld64(rec + RR_ADDEND);
        at = run_offset + off;
        /* relative: (uint64_t)(int64_t) sign-extends pc_offset; the sums
         * wrap mod 2^64 */
        switch (head & 0xffu) {
        case PCACHE_RELOC_REL8:
            v -= seg_address + at + (uint64_t)(int64_t)(int32_t)ld32(rec + RR_PC_OFFSET);
            if (v + 0x80u > 0xffu)
                goto range;
            if (!check)
                dst[at] = (uint8_t)v;
            break;
        case PCACHE_RELOC_REL32:
            v -= seg_address + at + (uint64_t)(int64_t)(int32_t)ld32(rec + RR_PC_OFFSET);
            if (v + 0x80000000u > 0xffffffffu)
                goto range;
            if (!check)
                store32(dst + at, (uint32_t)v, big);
            break;
        case PCACHE_RELOC_ABS32:
            if (v > 0xffffffffu)
                goto range;
            if (!check)
                store32(dst + at, (uint32_t)v, big);
            break;
        case PCACHE_RELOC_ABS64:
            if (!check)
                store64(dst + at, v, big);
            break;
        default:
            *why = STOP_KIND;
            goto stopped;
        }
    }
    *why = STOP_NONE;
    return a->nrelocs;
range:
    *why = check ? STOP_RANGE : STOP_VALUE;
stopped:
    return (uint64_t)(rec - first) / PCACHE_RELOC_RECORD_SIZE;
}

/* The writing pass over a table of mixed kinds: the records code most
 * often has, abs64 and rel32 to a section or an anchor, are told apart by
 * their first 4 bytes against the four the run's site section allows, as
 * write_abs64 does for abs64 alone, each then written on a straight path
 * (its range checked, as walk() does); the first record of a new site
 * section takes the slow way to start its run, and the first of any other
 * shape hands the rest of the table to walk().  Half rel32, half abs64
 * cost 1.5 ns a record through walk(), 1.0 through this loop (16 Ki
 * records, AMD Zen 5; docs/PERFORMANCE.md). */
HOT uint64_t write_common(const apply_ctx *a, uint8_t *dst, int big, stop *why)
{
    const uint8_t *const first = a->relocs, *const end = first + a->nrelocs * PCACHE_RELOC_RECORD_SIZE;
    const uint64_t image_base = a->image_base;
    const uint32_t nanchors = a->nanchors;
    uint32_t cur = RUN_NONE, abs_sec = 0, abs_anc = 0, rel_sec = 0, rel_anc = 0;
    uint64_t limit4 = 0, limit8 = 0; /* a field of 4 or 8 bytes at off fits iff off < limit */
    uint64_t pc_base = 0;            /* where the run's section runs */
    uint8_t *run = dst;
    const uint8_t *rec = first;

    while (rec < end) {
        uint32_t head = ld32(rec);
        uint64_t off = ld64(rec + RR_SITE_OFFSET), v;
        uint16_t j;

        if (head == abs_sec || head == rel_sec) {
            v = image_base + ld64(rec + RR_TARGET_BASE);
        } else if ((head == abs_anc || head == rel_anc) && (j = ld16(rec + RR_TARGET_INDEX)) < nanchors) {
            v = a->anchor[j];
        } else if (head >> 16 != cur) {
            uint32_t s = head >> 16;
            site_run r = run_start(a, cur, s);
            if ((*why = r.why) != STOP_NONE)
                return (uint64_t)(rec - first) / PCACHE_RELOC_RECORD_SIZE;
            cur = s;
            abs_sec = HEAD(PCACHE_RELOC_ABS64, PCACHE_TARGET_SECTION, s);
            abs_anc = HEAD(PCACHE_RELOC_ABS64, PCACHE_TARGET_ANCHOR, s);
            rel_sec = HEAD(PCACHE_RELOC_REL32, PCACHE_TARGET_SECTION, s);
            rel_anc = HEAD(PCACHE_RELOC_REL32, PCACHE_TARGET_ANCHOR, s);
            limit4 = r.size >= 4 ? r.size - 3 : 0;
            limit8 = r.size >= 8 ? r.size - 7 : 0;
            run = dst + r.offset;
            pc_base = a->seg_address + r.offset;
            continue; /* the same record again, in its run */
        } else {
            /* another kind, or a record resurrect would refuse: the
             * generic walk takes it (and the rest) and says which */
            return walk(a, dst, 0, big, (uint64_t)(rec - first) / PCACHE_RELOC_RECORD_SIZE, why);
        }
        v += ld64(rec + RR_TARGET_OFFSET) + ld64(rec + RR_ADDEND);
        if ((head & 0xffu) == PCACHE_RELOC_ABS64) {
            if (__builtin_expect(off >= limit8, 0)) {
                *why = STOP_FIELD;
                return (uint64_t)(rec - first) / PCACHE_RELOC_RECORD_SIZE;
            }
            store64(run + off, v, big);
        } else {
            if (__builtin_expect(off >= limit4, 0)) {
                *why = STOP_FIELD;
                return (uint64_t)(rec - first) / PCACHE_RELOC_RECORD_SIZE;
            }
            /* (uint64_t)(int64_t) sign-extends pc_offset; the sums wrap
             * mod 2^64 */
            v -= pc_base + off + (uint64_t)(int64_t)(int32_t)ld32(rec + RR_PC_OFFSET);
            if (__builtin_expect(v + 0x80000000u > 0xffffffffu, 0)) {
                *why = STOP_VALUE;
                return (uint64_t)(rec - first) / PCACHE_RELOC_RECORD_SIZE;
            }
            store32(run + off, (uint32_t)v, big);
        }
        rec += PCACHE_RELOC_RECORD_SIZE;
    }
    *why = STOP_NONE;
    return a->nrelocs;
}

/* 1 if the spans resurrect summed the ranged records up in (pcache.h)
 * prove every value in range at these addresses: then no record needs a
 * look before writing.  0 when they do not, or are not all there (too
 * many origins and kinds): then each record is checked first. */
static int spans_prove_fit(const pcache_segment *seg, const apply_ctx *a)
{
    if (seg->relocs_span_count > PCACHE_RELOC_SPANS)
        return 0;
    for (uint32_t k = 0; k < seg->relocs_span_count; k++) {
        const pcache_reloc_span *sp = &seg->relocs_spans[k];
        uint64_t origin, max = reloc_fit_max(sp->kind), start;
        /* sealed, so below the anchor count; checked all the same */
        if (sp->origin > a->nanchors)
            return 0;
        origin = sp->origin == 0 ? a->image_base : a->anchor[sp->origin - 1];
        if (reloc_kind_relative(sp->kind))
            origin -= a->seg_address;
        /* every value + bias lies in [start, start + width]: no wrap when
         * start + width <= max */
        start = origin + sp->low;
        if (start > max || sp->width > max - start)
            return 0;
    }
    return 1;
}

static pcache_status report_out_of_range(const apply_ctx *a, const reloc_tables *t, uint64_t i, pcache_report *rep)
{
    pcache_reloc r;
    uint64_t off, v, target;
    char vt[32];

    /* the walk has checked the record's site section and anchor index */
    if (reloc_record_read(a->seg, t, i, &r) != PCACHE_OK)
        return report_fail(rep, PCACHE_E_SEGMENT_CHANGED, a->seg->cls, CRELOCS_SECTION_NAME, 0, 0, 0, 0,
                           "record %" PRIu64 ": out of range, and the table no longer decodes", i);
    off = reloc_section_offset(a->seg, r.site_index) + r.site_offset;
    target = (r.target_kind == PCACHE_TARGET_SECTION ? a->image_base + r.target_base : a->anchor[r.anchor_index]) +
             r.target_offset + (uint64_t)r.addend;
    v = target;
    if (reloc_kind_relative(r.kind))
        v -= a->seg_address + off + (uint64_t)(int64_t)r.pc_offset;
    return report_fail(rep, PCACHE_E_RELOC_RANGE, a->seg->cls, r.site_section, off, 0, 0, 0,
                       "record %" PRIu64 ": %s value %s (site +0x%" PRIx64 ", target 0x%" PRIx64
                       ") does not fit %s; field",
                       i, pcache_reloc_kind_name(r.kind), patch_value_text(r.kind, v, vt, sizeof vt), r.site_offset,
                       target, patch_range_text(r.kind));
}

static pcache_status report_changed(const apply_ctx *a, uint64_t i, stop why, int wrote, pcache_report *rep)
{
    const uint8_t *rec = record_at(a, i);
    return report_fail(rep, PCACHE_E_SEGMENT_CHANGED, a->seg->cls, RELOCS_SECTION_NAME,
                       a->relocs_offset + i * PCACHE_RELOC_RECORD_SIZE, 0, 0, 0,
                       "%srecord %" PRIu64 " (kind %u, target kind %u, site section %u +0x%" PRIx64
                       "): %s; .relocs changed since resurrect checked it",
                       wrote ? "the records before it already written into dst: " : "", i, rec[RR_KIND], rec[RR_TARGET_KIND],
                       ld16(rec + RR_SITE_SECTION), ld64(rec + RR_SITE_OFFSET), stop_text[why]);
}

/* Patched bytes no longer match their checksums: under LAZY, each
 * section holding a site is verified (once; then it is marked) before
 * any is written.  A section the records name is checked as a site
 * section first, so that verifying it reads inside the segment. */
static pcache_status verify_site_sections(pcache_segment *seg, const apply_ctx *a, pcache_report *rep)
{
    for (uint64_t i = 0; i < a->nrelocs; i = run_end(a, i)) {
        pcache_view view;
        pcache_status st;
        site_run run = site_section(a, record_site_section(a, i));
        if (run.why != STOP_NONE)
            return report_changed(a, i, run.why, 0, rep);
        if ((st = pcache_segment_section(seg, run.index, &view, rep)) != PCACHE_OK)
            return st;
    }
    return PCACHE_OK;
}

/* ---- the compact form (docs/FORMAT.md 9.10) ---- */

/* Where a pass over a compact table stopped. */
typedef struct cstop {
    stop why;
    creloc_err err;  /* STOP_STREAM */
    uint64_t index;  /* the record */
    uint64_t at;     /* its run, in the segment */
} cstop;

/* What a shape's fields get (docs/FORMAT.md 9.10).  At segment offset
 * at, a field gets
 *     x = (implicit ? its stored value v at seg->base : 0) + c - (pos ? at : 0)
 * where c gathers what is constant over the shape: the target's origin T
 * (image base + target base, or the anchor) and
 *   explicit: + target offset + addend;
 *   implicit, fields as written: (v is the addend a);
 *   implicit, fields applied in place with B1 and T1 (v = a + S): - T1,
 *     and for relative kinds + B1 - B, the rest of S cancelling;
 * and, where pos, for relative kinds - (B + F + pc_offset), the field's
 * own segment offset subtracted per field. */
typedef struct cplan {
    uint64_t c;
    uint32_t shape;         /* the shape index planned; UINT32_MAX: none */
    uint8_t kind, implicit, pos;
} cplan;

/* The plan of shape sh (index k), or 0 and s->why. */
HOT int cplan_of(const apply_ctx *a, const uint8_t *sh, uint32_t k, unsigned kind, cplan *p, cstop *s)
{
    const unsigned tk = sh[CS_TARGET_KIND], rule = sh[CS_ADDEND_RULE];
    uint64_t t, c;
    int pos;

    if (tk == PCACHE_TARGET_SECTION) {
        t = a->image_base + ld64(sh + CS_TARGET_BASE);
    } else if (tk == PCACHE_TARGET_ANCHOR) {
        uint16_t x = ld16(sh + CS_TARGET_INDEX);
        if (x >= a->nanchors) {
            s->why = STOP_ANCHOR;
            return 0;
        }
        t = a->anchor[x];
    } else {
        s->why = STOP_TARGET_KIND;
        return 0;
    }
    pos = reloc_kind_relative(kind);
    if (rule == CR_ADDEND_EXPLICIT) {
        c = t + ld64(sh + CS_TARGET_OFFSET) + ld64(sh + CS_ADDEND);
    } else if (rule == CR_ADDEND_IMPLICIT) {
        c = t;
        if (a->state == PCACHE_RELOCS_APPLIED) {
            c -= tk == PCACHE_TARGET_SECTION ? a->applied_base + ld64(sh + CS_TARGET_BASE)
                                             : a->applied_anchor[ld16(sh + CS_TARGET_INDEX)];
            if (pos)
                c += a->applied_base - a->image_base;
            pos = 0;
        }
    } else {
        s->why = STOP_RULE;
        return 0;
    }
    if (pos)
        c -= a->seg_address + (uint64_t)(int64_t)(int32_t)ld32(sh + CS_PC_OFFSET);
    if (!reloc_kind_known(kind)) {
        s->why = STOP_KIND;
        return 0;
    }
    p->c = c;
    p->shape = k;
    p->kind = (uint8_t)kind;
    p->implicit = rule == CR_ADDEND_IMPLICIT;
    p->pos = (uint8_t)pos;
    return 1;
}

/* The n fields of plan p at segment offsets at, at + period, ..., written
 * or (check) only checked against the kind's range.  One tight loop per
 * kind and rule (the member loops of a run are independent: members never
 * overlap, so their order is free); abs64 never fails its range: no
 * check.  Returns n, or the number of fields before the one out of range. */
HOT uint64_t cfields(const cplan *p, const uint8_t *src, uint8_t *dst, uint64_t at, uint64_t period, uint64_t n,
                     int check, int big)
{
    const uint64_t c = p->c;
    uint64_t k = 0;

    /* (uint64_t)(int64_t) sign-extends; sums wrap mod 2^64 */
    if (p->implicit) {
        switch (p->kind) {
        case PCACHE_RELOC_ABS64:
            if (!check)
                for (; k < n; k++, at += period)
                    store64(dst + at, load64(src + at, big) + c, big);
            return n;
        case PCACHE_RELOC_ABS32:
            for (; k < n; k++, at += period) {
                uint64_t x = load32(src + at, big) + c;
                if (x > 0xffffffffu)
                    return k;
                if (!check)
                    store32(dst + at, (uint32_t)x, big);
            }
            return n;
        case PCACHE_RELOC_REL32:
            if (p->pos) {
                for (; k < n; k++, at += period) {
                    uint64_t x = (uint64_t)(int64_t)(int32_t)load32(src + at, big) + c - at;
                    if (x + 0x80000000u > 0xffffffffu)
                        return k;
                    if (!check)
                        store32(dst + at, (uint32_t)x, big);
                }
            } else {
                for (; k < n; k++, at += period) {
                    uint64_t x = (uint64_t)(int64_t)(int32_t)load32(src + at, big) + c;
                    if (x + 0x80000000u > 0xffffffffu)
                        return k;
                    if (!check)
                        store32(dst + at, (uint32_t)x, big);
                }
            }
            return n;
        default: /* rel8 */
            for (; k < n; k++, at += period) {
                uint64_t x = (uint64_t)(int64_t)(int8_t)src[at] + c - (p->pos ? at : 0);
                if (x + 0x80u > 0xffu)
                    return k;
                if (!check)
                    dst[at] = (uint8_t)x;
            }
            return n;
        }
    }
    switch (p->kind) {
    case PCACHE_RELOC_ABS64:
        if (!check)
            for (; k < n; k++, at += period)
                store64(dst + at, c, big);
        return n;
    case PCACHE_RELOC_ABS32:
        if (c > 0xffffffffu)
            return 0;
        if (!check)
            for (; k < n; k++, at += period)
                store32(dst + at, (uint32_t)c, big);
        return n;
    case PCACHE_RELOC_REL32:
        for (; k < n; k++, at += period) {
            uint64_t x = c - at;
            if (x + 0x80000000u > 0xffffffffu)
                return k;
            if (!check)
                store32(dst + at, (uint32_t)x, big);
        }
        return n;
    default: /* rel8 */
        for (; k < n; k++, at += period) {
            uint64_t x = c - at;
            if (x + 0x80u > 0xffu)
                return k;
            if (!check)
                dst[at] = (uint8_t)x;
        }
        return n;
    }
}

/* The fields of member j of run r.  Returns 1, or 0 and *s (s->index: the
 * record). */
HOT int cmember(const apply_ctx *a, const creloc_run *r, const creloc_member *mb, uint64_t j, uint8_t *dst,
                int check, int big, cstop *s)
{
    cplan p;
    uint64_t done;

    if (!cplan_of(a, mb->shape, mb->shape_index, mb->kind, &p, s))
        return 0;
    done = cfields(&p, a->seg->base, dst, r->site_offset + r->first + mb->off, r->period, r->count, check, big);
    if (__builtin_expect(done == r->count, 1))
        return 1;
    s->why = check ? STOP_RANGE : STOP_VALUE;
    s->index = r->index + done * r->m + j;
    return 0;
}

/* Plans of recently seen shapes, by shape index mod CPLANS: the runs of
 * an irregular table are single records of a few shapes. */
#define CPLANS 16u

/* One pass over the runs of a compact table, decoded bounds-safe
 * (creloc_next, creloc_member_next), as walk() does for records: check,
 * every ranged value against its field's range and nothing written; else
 * each written into dst in byte order big, its range checked all the
 * same.  A run of one record (h with neither multi nor group, numbers of
 * one byte, in the previous run's section) takes a fast path: the
 * checks of creloc_next that such a run needs, inline, and the plan of
 * its shape from a small cache.  Returns 1 when every run was taken, else
 * 0 and *s. */
HOT int cwalk(const apply_ctx *a, const reloc_tables *t, uint8_t *dst, int check, int big, cstop *s)
{
    const uint8_t *const src = a->seg->base, *const end = t->stream_end;
    uint32_t cur = RUN_NONE;
    cplan plans[CPLANS];
    creloc_cursor c;
    creloc_run r;
    creloc_err e;

    for (unsigned i = 0; i < CPLANS; i++)
        plans[i].shape = UINT32_MAX;
    creloc_begin(t, &c);
    for (;;) {
        const uint8_t *p = c.p;
        /* the fast path: one member (h = shape * 4 + multi), its numbers
         * each one byte: h, gap and, when multi, count - 2 and pad */
        if (p + 3 < end && (p[0] & 0x82u) == 0 && ((p[1] | p[2] | p[3]) & 0x80u) == 0) {
            uint32_t k = p[0] >> 2;
            const uint8_t *sh = t->shapes + (uint64_t)CR_SHAPE_SIZE * k;
            unsigned kind, multi = p[0] & 1u;
            uint64_t first, w, n = multi ? p[2] + 2u : 1, period;
            if (k < t->nshapes && ld16(sh + CS_SITE_SECTION) == c.section && c.section != RELOC_NO_SECTION &&
                reloc_kind_known(kind = sh[CS_KIND]) && n <= t->nrelocs - c.index) {
                cplan *pl = &plans[k % CPLANS];
                w = 1u << CRELOC_WIDTH_SHIFT(kind);
                period = w + (multi ? p[3] : 0u);
                /* prev_end <= the section's size, and the rest are below
                 * 2^16: no wrap */
                first = c.prev_end + p[1];
                s->index = c.index;
                s->at = t->relocs_offset + (uint64_t)(p - t->relocs);
                if (first > c.site_size || c.site_size - first < (n - 1) * period + w) {
                    s->why = STOP_STREAM;
                    s->err = CRUN_BOUNDS;
                    return 0;
                }
                if (!check || kind != PCACHE_RELOC_ABS64) {
                    uint64_t done;
                    /* (the plan's kind is the one bounds were checked
                     * for, even if the shape changed since it was made) */
                    if ((pl->shape != k || pl->kind != kind) && !cplan_of(a, sh, k, kind, pl, s))
                        return 0;
                    done = cfields(pl, src, dst, c.site_offset + first, period, n, check, big);
                    if (__builtin_expect(done != n, 0)) {
                        s->index = c.index + done;
                        s->why = check ? STOP_RANGE : STOP_VALUE;
                        return 0;
                    }
                }
                c.p = p + (multi ? 4 : 2);
                c.prev_end = first + (n - 1) * period + w;
                c.index += n;
                continue;
            }
        }
        if ((e = creloc_next(a->seg, t, &c, &r)) != CRUN_OK)
            break;
        s->index = r.index;
        s->at = r.at;
        if (__builtin_expect(r.site != cur, 0)) {
            site_run sr = run_start(a, cur, r.site);
            if ((s->why = sr.why) != STOP_NONE)
                return 0;
            cur = r.site;
        }
        if (r.m == 1) { /* one member: no member list to read */
            creloc_member mb = {r.shape, r.shape_index, r.kind, r.width, 0};
            if ((!check || mb.kind != PCACHE_RELOC_ABS64) && !cmember(a, &r, &mb, 0, dst, check, big, s))
                return 0;
        } else {
            creloc_member mb;
            const uint8_t *mp;
            creloc_member_first(&r, &mb, &mp);
            for (uint64_t j = 0; j < r.m; j++) {
                if (j > 0 && (e = creloc_member_next(t, &r, &mp, &mb, r.extent)) != CRUN_OK) {
                    s->why = STOP_STREAM;
                    s->err = e;
                    return 0;
                }
                if ((!check || mb.kind != PCACHE_RELOC_ABS64) && !cmember(a, &r, &mb, j, dst, check, big, s))
                    return 0;
            }
        }
    }
    if (e != CRUN_END) {
        s->why = STOP_STREAM;
        s->err = e;
        s->index = r.index;
        s->at = r.at;
        return 0;
    }
    s->why = STOP_NONE;
    return 1;
}

static pcache_status creport_changed(const apply_ctx *a, const cstop *s, int wrote, pcache_report *rep)
{
    return report_fail(rep, PCACHE_E_SEGMENT_CHANGED, a->seg->cls, CRELOCS_SECTION_NAME, s->at, 0, 0, 0,
                       "%srun of record %" PRIu64 ": %s%s%s; .crelocs changed since resurrect checked it",
                       wrote ? "fields of the runs before it (and maybe of its own) already written into dst: " : "",
                       s->index, stop_text[s->why], s->why == STOP_STREAM ? ": " : "",
                       s->why == STOP_STREAM ? creloc_err_text(s->err) : "");
}

/* LAZY: every shape's site section verified before any is written. */
static pcache_status verify_shape_sections(pcache_segment *seg, const apply_ctx *a, const reloc_tables *t,
                                           pcache_report *rep)
{
    for (uint32_t k = 0; k < t->nshapes; k++) {
        pcache_view view;
        pcache_status st;
        site_run run = site_section(a, ld16(t->shapes + (uint64_t)CR_SHAPE_SIZE * k + CS_SITE_SECTION));
        if (run.why != STOP_NONE) {
            cstop s = {run.why, CRUN_OK, 0, t->relocs_offset + CR_HEADER_SIZE + (uint64_t)CR_SHAPE_SIZE * k};
            return creport_changed(a, &s, 0, rep);
        }
        if ((st = pcache_segment_section(seg, run.index, &view, rep)) != PCACHE_OK)
            return st;
    }
    return PCACHE_OK;
}

/* 1 if some shape of the table has an implicit addend. */
static int has_implicit(const reloc_tables *t)
{
    for (uint32_t k = 0; k < t->nshapes; k++)
        if (t->shapes[(uint64_t)CR_SHAPE_SIZE * k + CS_ADDEND_RULE] == CR_ADDEND_IMPLICIT)
            return 1;
    return 0;
}

/* The fields of implicit shapes are read as holding what seg's state says
 * they hold, so their sections must hold the bytes that state describes.
 * Each site section of an implicit shape, once: pristine (as written), it
 * must hash to its stored checksum (the trailer is sealed), whatever the
 * validation level and the verified bits; applied, the sections together
 * must hash to what seg's last apply in place left (*sum, compared by the
 * caller; with want_sum the sums are only computed).  Else these bytes
 * were relocated in place through another struct (or a copy of seg made
 * before its last apply in place), or changed: refused before any write,
 * naming the section (docs/FORMAT.md 9.10). */
static pcache_status implicit_sections(const pcache_segment *seg, const apply_ctx *a, const reloc_tables *t,
                                       int pristine, uint64_t *sum, pcache_report *rep)
{
    uint64_t done[PCACHE_MAX_SECTIONS / 64] = {0};
    uint64_t trailer = ld64(seg->base + SH_TRAILER_OFFSET);

    *sum = 0;
    for (uint32_t k = 0; k < t->nshapes; k++) {
        const uint8_t *sh = t->shapes + (uint64_t)CR_SHAPE_SIZE * k;
        site_run run;
        uint64_t want, got;
        if (sh[CS_ADDEND_RULE] != CR_ADDEND_IMPLICIT)
            continue;
        run = site_section(a, ld16(sh + CS_SITE_SECTION));
        if (run.why != STOP_NONE) {
            cstop s = {run.why, CRUN_OK, 0, t->relocs_offset + CR_HEADER_SIZE + (uint64_t)CR_SHAPE_SIZE * k};
            return creport_changed(a, &s, 0, rep);
        }
        if (done[run.index / 64] & (1ull << (run.index % 64)))
            continue;
        done[run.index / 64] |= 1ull << (run.index % 64);
        got = pcache_checksum(seg->identity.checksum, seg->base + run.offset, (size_t)run.size);
        *sum = creloc_sum_fold(*sum, got, run.index);
        if (!pristine)
            continue;
        want = ld64be(seg->base + trailer + (uint64_t)SEG_TRAILER_ENTRY_SIZE * run.index + ST_STORED_CHECKSUM);
        if (got != want)
            return report_fail(rep, PCACHE_E_SECTION_CHECKSUM, seg->cls, (const char *)reloc_entry(seg, run.index) + SE_NAME,
                               run.offset, 1, want, got,
                               "first apply in place, and a section holding implicit addends no longer matches its "
                               "checksum: relocated in place through another pcache_segment, or changed; "
                               "resurrect fresh bytes");
    }
    return PCACHE_OK;
}

static pcache_status apply_compact(pcache_segment *seg, apply_ctx *a, const reloc_tables *t, uint8_t *dst,
                                   pcache_report *rep)
{
    pcache_status st;
    cstop s = {STOP_NONE, CRUN_OK, 0, 0};
    int big = seg->identity.byte_order == PCACHE_BIG_ENDIAN;
    int in_place = dst == seg->base, implicit = has_implicit(t);
    uint64_t sum;

    a->state = seg->relocs_state;
    a->applied_base = seg->relocs_applied_base;
    a->applied_anchor = seg->relocs_applied_anchor;
    if (a->state == PCACHE_RELOCS_BROKEN)
        return report_fail(rep, PCACHE_E_SEGMENT_CHANGED, seg->cls, CRELOCS_SECTION_NAME, t->relocs_offset, 0, 0, 0,
                           "an apply in place stopped partway: the fields holding implicit addends are partly "
                           "relocated; resurrect fresh bytes again");
    if (seg->validation == PCACHE_VALIDATE_LAZY && (st = verify_shape_sections(seg, a, t, rep)) != PCACHE_OK)
        return st;
    /* the implicit fields hold what the state says: checked for a first
     * apply in place, and for every apply after one (a stale copy of seg
     * would read them for the wrong addresses) */
    if (implicit && a->state == PCACHE_RELOCS_PRISTINE && in_place &&
        (st = implicit_sections(seg, a, t, 1, &sum, rep)) != PCACHE_OK)
        return st;
    if (implicit && a->state == PCACHE_RELOCS_APPLIED) {
        if ((st = implicit_sections(seg, a, t, 0, &sum, rep)) != PCACHE_OK)
            return st;
        if (sum != seg->relocs_applied_sum)
            return report_fail(rep, PCACHE_E_SECTION_CHECKSUM, seg->cls, CRELOCS_SECTION_NAME, t->relocs_offset, 1,
                               seg->relocs_applied_sum, sum,
                               "the sections holding implicit addends are not what this pcache_segment's last apply "
                               "in place left: relocated again through another pcache_segment (or a copy of this one "
                               "made before), or changed; resurrect fresh bytes");
    }
    /* pass 1, when some field has a range: check every ranged record
     * (byte order matters to the check too: implicit addends are read) */
    if (seg->relocs_ranged != 0 && !(big ? cwalk(a, t, NULL, 1, 1, &s) : cwalk(a, t, NULL, 1, 0, &s)))
        return s.why == STOP_RANGE ? report_out_of_range(a, t, s.index, rep) : creport_changed(a, &s, 0, rep);
    /* pass 2: write */
    if (!(big ? cwalk(a, t, dst, 0, 1, &s) : cwalk(a, t, dst, 0, 0, &s))) {
        if (in_place && implicit) {
            /* fields partly relocated: no state describes them */
            seg->relocs_state = PCACHE_RELOCS_BROKEN;
            reloc_seal(seg);
        }
        return creport_changed(a, &s, 1, rep);
    }
    if (in_place) {
        /* what the fields hold now, for the next read or apply */
        seg->relocs_state = PCACHE_RELOCS_APPLIED;
        seg->relocs_applied_base = a->image_base;
        memset(seg->relocs_applied_anchor, 0, sizeof seg->relocs_applied_anchor);
        memcpy(seg->relocs_applied_anchor, a->anchor, sizeof a->anchor[0] * a->nanchors);
        seg->relocs_applied_sum = 0;
        if (implicit && (st = implicit_sections(seg, a, t, 0, &seg->relocs_applied_sum, rep)) != PCACHE_OK) {
            seg->relocs_state = PCACHE_RELOCS_BROKEN; /* (not reached: the sections were found before) */
            reloc_seal(seg);
            return st;
        }
        reloc_seal(seg);
    }
    return PCACHE_OK;
}

pcache_status pcache_reloc_apply(pcache_segment *seg, void *dst, uint64_t image_base,
                                 pcache_anchor_resolver resolve, void *ctx, pcache_report *rep)
{
    reloc_tables t;
    apply_ctx a;
    pcache_status st;
    uint64_t stopped;
    stop why;
    int big;

    report_clear(rep);
    if (!seg || !seg->base || !dst)
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, 0, 0, 0, 0,
                           "invalid argument to pcache_reloc_apply");
    /* dst is the segment's own bytes (in place) or apart from them: an
     * overlapping buffer would write over what is still to be read */
    if ((uint8_t *)dst != seg->base && (uintptr_t)dst < (uintptr_t)seg->base + seg->size &&
        (uintptr_t)seg->base < (uintptr_t)dst + seg->size)
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, seg->cls, NULL, 0, 0, 0, 0,
                           "pcache_reloc_apply: dst overlaps the segment's bytes without being them (apply in "
                           "place with dst = the segment's base, or to a separate copy)");
    /* Only a struct resurrect sealed, on the bytes it checked. */
    if ((st = reloc_seal_check(seg, rep)) != PCACHE_OK || (st = reloc_tables_find(seg, &t, rep)) != PCACHE_OK)
        return st;
    if (t.nrelocs == 0)
        return PCACHE_OK;

    a.seg = seg;
    a.relocs = t.relocs;
    a.nrelocs = t.nrelocs;
    a.relocs_offset = t.relocs_offset;
    a.nanchors = t.nanchors;
    a.image_base = image_base;
    a.seg_address = image_base + seg->file_offset;
    /* once per anchor, not per record */
    for (uint32_t j = 0; j < t.nanchors; j++) {
        const uint8_t *e = t.anchors + (uint64_t)j * PCACHE_ANCHOR_ENTRY_SIZE;
        const char *name = (const char *)e + AE_NAME;
        uint64_t eoff = reloc_section_offset(seg, t.anchors_index) + (uint64_t)j * PCACHE_ANCHOR_ENTRY_SIZE;
        /* the resolver gets a C string: checked again, as the records are */
        if (!reloc_anchor_name_valid(e + AE_NAME))
            return report_fail(rep, PCACHE_E_SEGMENT_CHANGED, seg->cls, ANCHORS_SECTION_NAME, eoff + AE_NAME, 0, 0,
                               0, "anchor %" PRIu32 ": name is not 1-31 printable bytes, a NUL and zero padding; "
                               ".anchors changed since resurrect checked it", j);
        if (!resolve)
            return report_fail(rep, PCACHE_E_ANCHOR, seg->cls, ANCHORS_SECTION_NAME, 0, 0, 0, 0,
                               "anchor \"%s\" is needed but no resolver was given", name);
        if (resolve(ctx, name, ld64(e + AE_ADDRESS), &a.anchor[j]) != 0)
            return report_fail(rep, PCACHE_E_ANCHOR, seg->cls, ANCHORS_SECTION_NAME, eoff, 0, 0, 0,
                               "anchor \"%s\" could not be resolved", name);
    }

    if (t.compact)
        return apply_compact(seg, &a, &t, dst, rep);
    a.state = PCACHE_RELOCS_PRISTINE; /* (the 48-byte form: no implicit addend) */
    a.applied_base = 0;
    a.applied_anchor = NULL;
    if (seg->validation == PCACHE_VALIDATE_LAZY && (st = verify_site_sections(seg, &a, rep)) != PCACHE_OK)
        return st;
    /* Pass 1, only when some field has a range (not abs64) and the spans
     * do not prove them all in range: check every record. */
    if (seg->relocs_ranged != 0 && !spans_prove_fit(seg, &a) &&
        (stopped = walk(&a, NULL, 1, 0, 0, &why)) < a.nrelocs)
        return why == STOP_RANGE ? report_out_of_range(&a, &t, stopped, rep) : report_changed(&a, stopped, why, 0, rep);
    /* Pass 2: write. */
    big = seg->identity.byte_order == PCACHE_BIG_ENDIAN;
    if (big && seg->relocs_ranged == 0)
        stopped = write_abs64(&a, dst, 1, &why);
    else if (big)
        stopped = write_common(&a, dst, 1, &why);
    else if (seg->relocs_ranged == 0)
        stopped = write_abs64(&a, dst, 0, &why);
    else
        stopped = write_common(&a, dst, 0, &why);
    if (stopped < a.nrelocs)
        return report_changed(&a, stopped, why, stopped > 0, rep);
    return PCACHE_OK;
}
