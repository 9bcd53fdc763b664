/* SPDX-License-Identifier: BSD-2-Clause */
/* Writing relocations: declaring patch sites and anchors, resolving at
 * persist time what does not depend on load addresses, and building the
 * ".relocs" and ".anchors" sections of each class for the rest.
 * docs/FORMAT.md, section 9. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "bytes.h"
#include "format.h"
#include "patch.h"
#include "reloc_build.h"
#include "report.h"

/* Load-time addresses: an absolute reference, or any reference to an
 * anchor.  A relative reference between two sections of the image does
 * not change when the image moves as a whole. */
static int needs_record(const patch_src *p)
{
    return p->target_kind == PCACHE_TARGET_ANCHOR || !reloc_kind_relative(p->kind);
}

static uint32_t client_count(const class_state *cs)
{
    return cs->n - cs->lib;
}

static int find_client_section(const class_state *cs, const char *name, uint32_t *index)
{
    if (!name)
        return 0;
    for (uint32_t i = 0; i < client_count(cs); i++)
        if (strcmp(cs->sec[i].name, name) == 0) {
            *index = i;
            return 1;
        }
    return 0;
}

/* The builder's slot for an anchor name, created (undefined) if absent;
 * -1 when the table is full. */
static int anchor_slot(pcache_builder *b, const char *name, size_t len)
{
    for (uint32_t i = 0; i < b->nanchors; i++)
        if (strcmp(b->anchors[i].name, name) == 0)
            return (int)i;
    if (b->nanchors >= PCACHE_MAX_ANCHORS)
        return -1;
    memset(&b->anchors[b->nanchors], 0, sizeof b->anchors[0]);
    memcpy(b->anchors[b->nanchors].name, name, len);
    return (int)b->nanchors++;
}

static int is_module_anchor(const anchor_src *a)
{
    return strcmp(a->name, PCACHE_ANCHOR_MODULE) == 0;
}

/* An anchor's persist-time address, or -1 if it has none. */
static int anchor_address(const pcache_builder *b, const anchor_src *a, uint64_t *address)
{
    if (is_module_anchor(a)) {
        if (b->id.module_base == 0 && b->id.module_size == 0)
            return -1;
        *address = b->id.module_base;
        return 0;
    }
    if (!a->defined)
        return -1;
    *address = a->address;
    return 0;
}

pcache_status pcache_builder_set_anchor(pcache_builder *b, const char *name, uint64_t address)
{
    size_t len;
    int slot;

    if (!b)
        return PCACHE_E_INVALID_ARGUMENT;
    report_clear(&b->report);
    if (!section_name_valid(name, &len))
        return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, 0, 0, 0, 0,
                           "anchor name must be 1 to %u printable ASCII bytes without spaces",
                           PCACHE_ANCHOR_NAME_MAX);
    if (strcmp(name, PCACHE_ANCHOR_MODULE) == 0)
        return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, 0, 0, 0, 0,
                           "the \"module\" anchor is the identity's module base; "
                           "set it with pcache_identity_set_module");
    if ((slot = anchor_slot(b, name, len)) < 0)
        return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, 0, 1,
                           PCACHE_MAX_ANCHORS, PCACHE_MAX_ANCHORS + 1u, "too many anchors");
    b->anchors[slot].address = address;
    b->anchors[slot].defined = 1;
    return PCACHE_OK;
}

uint64_t pcache_builder_patch_count(const pcache_builder *b)
{
    return b ? b->npatches : 0;
}

pcache_status pcache_builder_add_patch(pcache_builder *b, const pcache_patch *p)
{
    patch_src ps;
    const class_state *cs, *ts;
    unsigned width;

    if (!b)
        return PCACHE_E_INVALID_ARGUMENT;
    report_clear(&b->report);
    if (!p || (unsigned)p->cls >= PCACHE_CLASS_COUNT || !reloc_kind_known(p->kind))
        return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, 0, 0, 0, 0,
                           "patch: NULL, or unknown class or kind");
    if (!reloc_kind_relative(p->kind) && p->pc_offset != 0)
        return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, p->cls, p->section, p->offset, 0, 0, 0,
                           "patch: pc_offset %" PRId32 " on an absolute kind (must be 0)", p->pc_offset);
    memset(&ps, 0, sizeof ps);
    ps.kind = p->kind;
    ps.target_kind = p->target_kind;
    ps.cls = p->cls;
    ps.pc_offset = p->pc_offset;
    ps.site_offset = p->offset;
    ps.target_offset = p->target_offset;
    ps.addend = p->addend;

    cs = &b->cls[p->cls];
    if (!find_client_section(cs, p->section, &ps.site_index))
        return report_fail(&b->report, PCACHE_E_RELOC_TARGET, p->cls, NULL, p->offset, 0, 0, 0,
                           "patch site: no section named '%.31s' in this class (add sections first)",
                           p->section ? p->section : "(null)");
    width = pcache_reloc_width(p->kind);
    if (p->offset > cs->sec[ps.site_index].size || cs->sec[ps.site_index].size - p->offset < width)
        return report_fail(&b->report, PCACHE_E_RELOC_TARGET, p->cls, p->section, p->offset, 1,
                           cs->sec[ps.site_index].size, p->offset + (p->offset > UINT64_MAX - width ? 0 : width),
                           "patch site: %s field (%u bytes) ends past its section (size, field end)",
                           pcache_reloc_kind_name(p->kind), width);

    if (p->target_kind == PCACHE_TARGET_SECTION) {
        if ((unsigned)p->target_class >= PCACHE_CLASS_COUNT)
            return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, p->cls, p->section, p->offset, 0, 0, 0,
                               "patch target: unknown class");
        ps.target_class = p->target_class;
        ts = &b->cls[p->target_class];
        if (!find_client_section(ts, p->target_section, &ps.target_index))
            return report_fail(&b->report, PCACHE_E_RELOC_TARGET, p->cls, p->section, p->offset, 0, 0, 0,
                               "patch target: no section named '%.31s' in class %s",
                               p->target_section ? p->target_section : "(null)",
                               pcache_class_name(p->target_class));
        if (p->target_offset > ts->sec[ps.target_index].size)
            return report_fail(&b->report, PCACHE_E_RELOC_TARGET, p->cls, p->section, p->offset, 1,
                               ts->sec[ps.target_index].size, p->target_offset,
                               "patch target: offset past the end of %s section '%s' (size, offset)",
                               pcache_class_name(p->target_class), ts->sec[ps.target_index].name);
    } else if (p->target_kind == PCACHE_TARGET_ANCHOR) {
        size_t len;
        int slot;
        if (!section_name_valid(p->anchor, &len))
            return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, p->cls, p->section, p->offset, 0, 0, 0,
                               "patch target: anchor name must be 1 to %u printable ASCII bytes "
                               "without spaces",
                               PCACHE_ANCHOR_NAME_MAX);
        if ((slot = anchor_slot(b, p->anchor, len)) < 0)
            return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, p->cls, p->section, p->offset, 1,
                               PCACHE_MAX_ANCHORS, PCACHE_MAX_ANCHORS + 1u, "too many anchors");
        ps.target_index = (uint32_t)slot;
    } else {
        return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, p->cls, p->section, p->offset, 0, 0, 0,
                           "patch target: unknown target kind %d", (int)p->target_kind);
    }

    if (b->npatches == b->patch_cap) {
        size_t cap = b->patch_cap ? b->patch_cap * 2 : 16;
        patch_src *np = cap > SIZE_MAX / sizeof *np ? NULL : realloc(b->patches, cap * sizeof *np);
        if (!np)
            return PCACHE_E_NO_MEMORY;
        b->patches = np;
        b->patch_cap = cap;
    }
    b->patches[b->npatches++] = ps;
    b->cls[p->cls].sized = 0; /* its ".relocs" may have grown */
    return PCACHE_OK;
}

static int site_cmp(const void *a, const void *b)
{
    const reloc_site *x = a, *y = b;
    if (x->section != y->section)
        return x->section < y->section ? -1 : 1;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return 0;
}

/* Appends a library section of the given type holding size bytes of buf. */
static pcache_status append_library_section(pcache_builder *b, class_state *cs, pcache_class cls,
                                            const char *name, uint16_t type, const uint8_t *buf,
                                            uint64_t size)
{
    section_src *s;
    pcache_status st = builder_push_section(b, cls, name, &s);
    if (st != PCACHE_OK)
        return st;
    memcpy(s->name, name, strlen(name));
    s->type = type;
    s->align = RELOCS_ALIGN;
    s->data = buf;
    s->size = size;
    cs->lib++;
    return PCACHE_OK;
}

/* Bit i set: builder anchor slot i is used by a record of the class. */
static uint64_t anchors_used(const pcache_builder *b, const class_state *cs)
{
    uint64_t used = 0;
    for (size_t i = 0; i < cs->nsites; i++) {
        const patch_src *p = &b->patches[cs->sites[i].patch];
        if (p->target_kind == PCACHE_TARGET_ANCHOR)
            used |= 1ull << p->target_index;
    }
    return used;
}

static void site_text(const pcache_builder *b, const class_state *cs, pcache_class cls, const reloc_site *s,
                      char *buf, size_t size)
{
    const patch_src *p = &b->patches[s->patch];
    snprintf(buf, size, "%s:%s+0x%" PRIx64 " (%s, %u bytes)", pcache_class_name(cls), cs->sec[s->section].name,
             s->offset, pcache_reloc_kind_name(p->kind), s->width);
}

pcache_status pcache_builder_set_reloc_form(pcache_builder *b, pcache_reloc_form form)
{
    if (!b)
        return PCACHE_E_INVALID_ARGUMENT;
    report_clear(&b->report);
    if (form != PCACHE_RELOC_FORM_SMALLER && form != PCACHE_RELOC_FORM_COMPACT && form != PCACHE_RELOC_FORM_RECORDS)
        return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, 0, 0, 0, 0,
                           "unknown relocation form %d", (int)form);
    b->reloc_form = form;
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        b->cls[c].sized = 0; /* its relocation table changes */
    return PCACHE_OK;
}

/* ---- the compact form (docs/FORMAT.md 9.10) ---- */

static void compact_free(class_state *cs)
{
    free(cs->rec_site);
    free(cs->rec_shape);
    free(cs->shape_first);
    cs->rec_site = cs->rec_shape = cs->shape_first = NULL;
    cs->nshapes = 0;
    cs->crelocs_size = 0;
    cs->compact = 0;
}

/* A record's addend is implicit (9.10) when the sum of its target offset
 * and addend fits its field as a value of its kind fits (signed for
 * relative kinds): the field holds that sum, as ELF's REL relocations
 * hold theirs, and the shape states neither.  Else the shape states both,
 * and records with another sum are another shape. */
static uint64_t implicit_value(const patch_src *p)
{
    return p->target_offset + (uint64_t)p->addend;
}

static int implicit_addend(const patch_src *p)
{
    return patch_fits(p->kind, implicit_value(p));
}

/* What makes records one shape. */
typedef struct shape_key {
    uint32_t site_section, target_index;
    uint8_t kind, target_kind, target_class, rule;
    int32_t pc_offset;
    uint64_t target_offset;
    int64_t addend;
    uint32_t rec; /* the record, for first appearance */
} shape_key;

static void key_of(const patch_src *p, const reloc_site *s, uint32_t rec, shape_key *k)
{
    memset(k, 0, sizeof *k);
    k->site_section = s->section;
    k->kind = (uint8_t)p->kind;
    k->target_kind = (uint8_t)p->target_kind;
    k->target_class = p->target_kind == PCACHE_TARGET_SECTION ? (uint8_t)(p->target_class + 1) : 0;
    k->target_index = p->target_index;
    k->pc_offset = p->pc_offset;
    k->rule = implicit_addend(p) ? CR_ADDEND_IMPLICIT : CR_ADDEND_EXPLICIT;
    if (k->rule == CR_ADDEND_EXPLICIT) {
        k->target_offset = p->target_offset;
        k->addend = p->addend;
    }
    k->rec = rec;
}

#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b) ? 1 : 0)
static int key_cmp(const void *x, const void *y)
{
    const shape_key *a = x, *b = y;
    int c;
    if ((c = CMP(a->site_section, b->site_section)) || (c = CMP(a->kind, b->kind)) ||
        (c = CMP(a->target_kind, b->target_kind)) || (c = CMP(a->target_class, b->target_class)) ||
        (c = CMP(a->target_index, b->target_index)) || (c = CMP(a->pc_offset, b->pc_offset)) ||
        (c = CMP(a->rule, b->rule)) || (c = CMP(a->target_offset, b->target_offset)) ||
        (c = CMP(a->addend, b->addend)))
        return c;
    return CMP(a->rec, b->rec);
}

static int same_shape(const shape_key *a, const shape_key *b)
{
    shape_key x = *a, y = *b;
    x.rec = y.rec = 0;
    return key_cmp(&x, &y) == 0;
}

static int u32_cmp(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return CMP(a, b);
}

static unsigned uleb_size(uint64_t v)
{
    unsigned n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *uleb_put(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* The writer's longest pattern: a run of up to this many members.  Not
 * a limit of the format (9.10), which takes any m. */
#define WRITER_MAX_MEMBERS 8u

#define REC_SITE(cs, r) (&(cs)->sites[(cs)->rec_site[r]])

/* The run the writer takes at record i (9.10): for m = 1 .. 8, the
 * longest repetition (count >= 2) of the pattern of records i .. i+m-1
 * (the same shapes at the same offsets from the first, repeating at a
 * constant period, in one section); the choice covering most records,
 * the smaller m on a tie; a single record when nothing repeats. */
static void writer_run(const class_state *cs, uint64_t i, uint64_t *m_out, uint64_t *count_out)
{
    const uint64_t n = cs->nrelocs;
    const uint32_t sec = REC_SITE(cs, i)->section;
    uint64_t best = 1;

    *m_out = *count_out = 1;
    for (uint64_t m = 1; m <= WRITER_MAX_MEMBERS && i + 2 * m <= n; m++) {
        uint64_t period, count = 1;
        if (REC_SITE(cs, i + 2 * m - 1)->section != sec)
            break; /* sorted: a longer pattern reaches past the section too */
        period = REC_SITE(cs, i + m)->offset - REC_SITE(cs, i)->offset;
        for (;;) {
            uint64_t b = i + count * m, k;
            if (b + m > n || REC_SITE(cs, b + m - 1)->section != sec ||
                REC_SITE(cs, b)->offset - REC_SITE(cs, b - m)->offset != period)
                break;
            for (k = 0; k < m; k++)
                if (cs->rec_shape[b + k] != cs->rec_shape[i + k] ||
                    REC_SITE(cs, b + k)->offset - REC_SITE(cs, b)->offset !=
                        REC_SITE(cs, i + k)->offset - REC_SITE(cs, i)->offset)
                    break;
            if (k < m)
                break;
            count++;
        }
        if (count >= 2 && count * m > best) {
            best = count * m;
            *m_out = m;
            *count_out = count;
        }
    }
}

/* The run stream (9.10) of the plan: its size, and its bytes when out is
 * not NULL.  Records are sorted by (site section, offset) and do not
 * overlap (pcache_builder_size checked it), so gaps, pads and member
 * distances are never negative. */
static uint64_t compact_stream(const class_state *cs, uint8_t *out)
{
    uint64_t size = 0, prev_end = 0;
    uint32_t prev_section = UINT32_MAX;
    uint8_t *o = out;
#define PUT(v)                                                                                                         \
    do {                                                                                                               \
        uint64_t v_ = (v);                                                                                             \
        size += uleb_size(v_);                                                                                         \
        if (o)                                                                                                         \
            o = uleb_put(o, v_);                                                                                       \
    } while (0)

    for (uint64_t r = 0; r < cs->nrelocs;) {
        const reloc_site *s = REC_SITE(cs, r);
        const reloc_site *last;
        uint64_t m, count, extent, period;
        writer_run(cs, r, &m, &count);
        last = REC_SITE(cs, r + m - 1);
        extent = last->offset + last->width - s->offset;
        period = count > 1 ? REC_SITE(cs, r + m)->offset - s->offset : extent;
        if (s->section != prev_section)
            prev_end = 0;
        PUT((uint64_t)cs->rec_shape[r] * 4 + (m > 1) * 2 + (count > 1));
        PUT(s->offset - prev_end);
        if (count > 1) {
            PUT(count - 2);
            PUT(period - extent);
        }
        if (m > 1) {
            PUT(m - 2);
            for (uint64_t j = 1; j < m; j++) {
                const reloc_site *p = REC_SITE(cs, r + j - 1), *q = REC_SITE(cs, r + j);
                PUT(cs->rec_shape[r + j]);
                PUT(q->offset - (p->offset + p->width));
            }
        }
        prev_section = s->section;
        prev_end = s->offset + (count - 1) * period + extent;
        r += count * m;
    }
#undef PUT
    return size;
}

/* At size: the records (sites that need one, in site order), their
 * shapes numbered by first appearance, and the table's size. */
static pcache_status compact_plan(pcache_builder *b, class_state *cs)
{
    shape_key *keys;
    uint32_t n = 0, k = 0;

    if (cs->nrelocs > UINT32_MAX / 2)
        return PCACHE_E_NO_MEMORY;
    cs->compact = 1;
    cs->rec_site = calloc((size_t)cs->nrelocs, sizeof *cs->rec_site);
    cs->rec_shape = calloc((size_t)cs->nrelocs, sizeof *cs->rec_shape);
    cs->shape_first = calloc((size_t)cs->nrelocs, sizeof *cs->shape_first);
    keys = calloc((size_t)cs->nrelocs, sizeof *keys);
    if (!cs->rec_site || !cs->rec_shape || !cs->shape_first || !keys) {
        free(keys);
        return PCACHE_E_NO_MEMORY;
    }
    for (size_t i = 0; i < cs->nsites; i++) {
        const patch_src *p = &b->patches[cs->sites[i].patch];
        if (!needs_record(p))
            continue;
        cs->rec_site[n] = (uint32_t)i;
        key_of(p, &cs->sites[i], n, &keys[n]);
        n++;
    }
    /* group equal keys (each group's first element is its first record),
     * then number the groups in order of their first record */
    qsort(keys, n, sizeof *keys, key_cmp);
    for (uint32_t i = 0; i < n; i++)
        if (i == 0 || !same_shape(&keys[i - 1], &keys[i]))
            cs->shape_first[k++] = keys[i].rec;
    qsort(cs->shape_first, k, sizeof *cs->shape_first, u32_cmp);
    for (uint32_t i = 0, shape = 0; i < n; i++) {
        if (i == 0 || !same_shape(&keys[i - 1], &keys[i])) {
            /* a new group: its number is the rank of its first record */
            uint32_t lo = 0, hi = k;
            while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (cs->shape_first[mid] < keys[i].rec)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            shape = lo;
        }
        cs->rec_shape[keys[i].rec] = shape;
    }
    free(keys);
    cs->nshapes = k;
    cs->crelocs_size = CR_HEADER_SIZE + (uint64_t)CR_SHAPE_SIZE * k + compact_stream(cs, NULL);
    return PCACHE_OK;
}

/* At persist: the header, the shapes (with the target layout and the
 * segment's anchor indices, known now) and the run stream. */
static pcache_status compact_fill(pcache_builder *b, pcache_class cls, const uint8_t index_of_slot[PCACHE_MAX_ANCHORS])
{
    class_state *cs = &b->cls[cls];
    uint8_t *t = cs->relocs;

    memset(t, 0, (size_t)cs->crelocs_size);
    st64(t + CR_RECORD_COUNT, cs->nrelocs);
    st32(t + CR_SHAPE_COUNT, cs->nshapes);
    for (uint32_t k = 0; k < cs->nshapes; k++) {
        const reloc_site *s = &cs->sites[cs->rec_site[cs->shape_first[k]]];
        const patch_src *p = &b->patches[s->patch];
        uint8_t *e = t + CR_HEADER_SIZE + (uint64_t)CR_SHAPE_SIZE * k;
        e[CS_KIND] = (uint8_t)p->kind;
        e[CS_TARGET_KIND] = (uint8_t)p->target_kind;
        st16(e + CS_SITE_SECTION, (uint16_t)s->section);
        st32(e + CS_PC_OFFSET, (uint32_t)p->pc_offset);
        e[CS_ADDEND_RULE] = implicit_addend(p) ? CR_ADDEND_IMPLICIT : CR_ADDEND_EXPLICIT;
        if (p->target_kind == PCACHE_TARGET_SECTION) {
            const class_state *ts = &b->cls[p->target_class];
            st16(e + CS_TARGET_INDEX, (uint16_t)p->target_index);
            e[CS_TARGET_CLASS] = (uint8_t)(p->target_class + 1);
            st64(e + CS_TARGET_BASE, ts->file_offs + ts->sec[p->target_index].offset);
        } else {
            st16(e + CS_TARGET_INDEX, index_of_slot[p->target_index]);
        }
        if (e[CS_ADDEND_RULE] == CR_ADDEND_EXPLICIT) {
            st64(e + CS_TARGET_OFFSET, p->target_offset);
            st64(e + CS_ADDEND, (uint64_t)p->addend);
        }
    }
    if (compact_stream(cs, t + CR_HEADER_SIZE + (uint64_t)CR_SHAPE_SIZE * cs->nshapes) !=
        cs->crelocs_size - CR_HEADER_SIZE - (uint64_t)CR_SHAPE_SIZE * cs->nshapes)
        return report_fail(&b->report, PCACHE_E_STATE, cls, CRELOCS_SECTION_NAME, 0, 0, 0, 0,
                           "compact relocation table changed size since size");
    return PCACHE_OK;
}

pcache_status reloc_size_class(pcache_builder *b, pcache_class cls)
{
    class_state *cs = &b->cls[cls];
    uint64_t used;
    uint32_t nanch = 0;
    size_t k = 0;
    pcache_status st;

    cs->n -= cs->lib;
    cs->lib = 0;
    free(cs->sites);
    free(cs->relocs);
    free(cs->anchor_table);
    compact_free(cs);
    cs->sites = NULL;
    cs->relocs = cs->anchor_table = NULL;
    cs->nsites = 0;
    cs->nrelocs = 0;
    cs->nanchor_entries = 0;

    for (size_t i = 0; i < b->npatches; i++)
        if (b->patches[i].cls == cls)
            k++;
    if (k == 0)
        return PCACHE_OK;
    if (!(cs->sites = calloc(k, sizeof *cs->sites)))
        return PCACHE_E_NO_MEMORY;
    for (size_t i = 0; i < b->npatches; i++) {
        const patch_src *p = &b->patches[i];
        reloc_site *s;
        if (p->cls != cls)
            continue;
        s = &cs->sites[cs->nsites++];
        s->section = p->site_index;
        s->offset = p->site_offset;
        s->width = (uint8_t)pcache_reloc_width(p->kind);
        s->patch = i;
        if (needs_record(p))
            cs->nrelocs++;
    }
    qsort(cs->sites, cs->nsites, sizeof *cs->sites, site_cmp);
    for (size_t i = 1; i < cs->nsites; i++) {
        const reloc_site *a = &cs->sites[i - 1], *c = &cs->sites[i];
        if (a->section == c->section && c->offset - a->offset < a->width) {
            char ta[96], tc[96];
            site_text(b, cs, cls, a, ta, sizeof ta);
            site_text(b, cs, cls, c, tc, sizeof tc);
            return report_fail(&b->report, PCACHE_E_RELOC_OVERLAP, cls, cs->sec[c->section].name,
                               cs->sec[c->section].offset + c->offset, 0, 0, 0, "patch site %s overlaps site %s",
                               tc, ta);
        }
    }

    used = anchors_used(b, cs);
    for (uint32_t i = 0; i < b->nanchors; i++) {
        uint64_t addr;
        if (!(used & (1ull << i)))
            continue;
        if (anchor_address(b, &b->anchors[i], &addr) != 0)
            return report_fail(&b->report, PCACHE_E_ANCHOR, cls, NULL, 0, 0, 0, 0,
                               is_module_anchor(&b->anchors[i])
                                   ? "anchor \"module\" is used but the identity has no module key"
                                   : "anchor \"%s\" is used but was not set (pcache_builder_set_anchor)",
                               b->anchors[i].name);
        nanch++;
    }

    if (cs->nrelocs == 0)
        return PCACHE_OK;
    /* Sizes are known now; the contents need every target class's layout,
     * which DynamoRIO computes later: they are filled at persist. */
    if (b->reloc_form != PCACHE_RELOC_FORM_RECORDS) {
        if ((st = compact_plan(b, cs)) != PCACHE_OK)
            return st;
        /* the default takes the smaller form (9.4): .relocs when the
         * compact table is no smaller */
        if (b->reloc_form == PCACHE_RELOC_FORM_SMALLER && cs->crelocs_size / PCACHE_RELOC_RECORD_SIZE >= cs->nrelocs)
            compact_free(cs);
    }
    if (cs->compact) {
        if (cs->crelocs_size > SIZE_MAX || !(cs->relocs = calloc(1, (size_t)cs->crelocs_size)))
            return PCACHE_E_NO_MEMORY;
        if ((st = append_library_section(b, cs, cls, CRELOCS_SECTION_NAME, PCACHE_TYPE_CRELOCS, cs->relocs,
                                         cs->crelocs_size)) != PCACHE_OK)
            return st;
    } else {
        if (cs->nrelocs > SIZE_MAX / PCACHE_RELOC_RECORD_SIZE ||
            !(cs->relocs = calloc((size_t)cs->nrelocs, PCACHE_RELOC_RECORD_SIZE)))
            return PCACHE_E_NO_MEMORY;
        if ((st = append_library_section(b, cs, cls, RELOCS_SECTION_NAME, PCACHE_TYPE_RELOCS, cs->relocs,
                                         cs->nrelocs * PCACHE_RELOC_RECORD_SIZE)) != PCACHE_OK)
            return st;
    }
    if (nanch) {
        if (!(cs->anchor_table = calloc(nanch, PCACHE_ANCHOR_ENTRY_SIZE)))
            return PCACHE_E_NO_MEMORY;
        cs->nanchor_entries = nanch;
        if ((st = append_library_section(b, cs, cls, ANCHORS_SECTION_NAME, PCACHE_TYPE_ANCHORS,
                                         cs->anchor_table, (uint64_t)nanch * PCACHE_ANCHOR_ENTRY_SIZE)) != PCACHE_OK)
            return st;
    }
    return PCACHE_OK;
}

/* Segment anchor indices: the used anchors sorted by name (the order of
 * ".anchors"), so that the table does not depend on call order. */
static uint32_t order_anchors(const pcache_builder *b, uint64_t used, uint8_t slot_of_index[PCACHE_MAX_ANCHORS],
                              uint8_t index_of_slot[PCACHE_MAX_ANCHORS])
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < b->nanchors; i++)
        if (used & (1ull << i)) {
            uint32_t j = n++;
            while (j > 0 && strcmp(b->anchors[slot_of_index[j - 1]].name, b->anchors[i].name) > 0) {
                slot_of_index[j] = slot_of_index[j - 1];
                j--;
            }
            slot_of_index[j] = (uint8_t)i;
        }
    for (uint32_t j = 0; j < n; j++)
        index_of_slot[slot_of_index[j]] = (uint8_t)j;
    return n;
}

pcache_status reloc_persist_class(pcache_builder *b, pcache_class cls, const reloc_site **sites, size_t *nsites)
{
    class_state *cs = &b->cls[cls];
    uint8_t slot_of_index[PCACHE_MAX_ANCHORS], index_of_slot[PCACHE_MAX_ANCHORS];
    uint64_t used = anchors_used(b, cs), r = 0;
    uint32_t nanch;
    pcache_byte_order order = (pcache_byte_order)b->id.byte_order;
    pcache_status st;

    *sites = cs->sites;
    *nsites = cs->nsites;
    if (cs->nsites == 0)
        return PCACHE_OK;
    nanch = order_anchors(b, used, slot_of_index, index_of_slot);
    if (nanch != cs->nanchor_entries)
        return report_fail(&b->report, PCACHE_E_STATE, cls, NULL, 0, 1, cs->nanchor_entries, nanch,
                           "anchors changed since size (entries sized, used)");

    for (size_t i = 0; i < cs->nsites; i++) {
        reloc_site *s = &cs->sites[i];
        const patch_src *p = &b->patches[s->patch];
        uint64_t site_fo = cs->file_offs + cs->sec[s->section].offset + s->offset; /* inside the layout */
        uint64_t base = 0, target, v;

        if (p->target_kind == PCACHE_TARGET_SECTION) {
            const class_state *ts = &b->cls[p->target_class];
            if (!ts->sized)
                return report_fail(&b->report, PCACHE_E_STATE, cls, cs->sec[s->section].name, s->offset, 0, 0, 0,
                                   "patch site targets class %s, which has not been sized: size every "
                                   "class before persisting",
                                   pcache_class_name(p->target_class));
            base = ts->file_offs + ts->sec[p->target_index].offset;
            target = base + p->target_offset + (uint64_t)p->addend;
        } else {
            uint64_t addr = 0;
            if (anchor_address(b, &b->anchors[p->target_index], &addr) != 0)
                return report_fail(&b->report, PCACHE_E_ANCHOR, cls, cs->sec[s->section].name, s->offset, 0, 0, 0,
                                   "anchor \"%s\" has no address", b->anchors[p->target_index].name);
            target = addr + p->target_offset + (uint64_t)p->addend;
        }
        v = patch_value(p->kind, site_fo, p->pc_offset, target);

        if (!needs_record(p)) {
            char vt[32];
            if (!patch_fits(p->kind, v))
                return report_fail(&b->report, PCACHE_E_RELOC_RANGE, cls, cs->sec[s->section].name,
                                   cs->sec[s->section].offset + s->offset, 0, 0, 0,
                                   "%s displacement %s from site %s+0x%" PRIx64 " to %s:%s+0x%" PRIx64
                                   " does not fit %s; field",
                                   pcache_reloc_kind_name(p->kind), patch_value_text(p->kind, v, vt, sizeof vt),
                                   cs->sec[s->section].name, s->offset, pcache_class_name(p->target_class),
                                   b->cls[p->target_class].sec[p->target_index].name, p->target_offset,
                                   patch_range_text(p->kind));
            patch_store(p->kind, order, s->bytes, v);
            continue;
        }

        /* The value for image base 0 and the anchors' persist-time
         * addresses; zero when that placeholder itself does not fit (the
         * loader rewrites every recorded field). */
        memset(s->bytes, 0, sizeof s->bytes);
        if (cs->compact && implicit_addend(p)) /* the compact form's implicit addend (9.10) */
            patch_store(p->kind, order, s->bytes, implicit_value(p));
        else if (patch_fits(p->kind, v))
            patch_store(p->kind, order, s->bytes, v);

        if (cs->compact) {
            r++; /* the compact table is filled below, from the plan */
        } else {
            uint8_t *rec = cs->relocs + r * PCACHE_RELOC_RECORD_SIZE;
            memset(rec, 0, PCACHE_RELOC_RECORD_SIZE);
            rec[RR_KIND] = (uint8_t)p->kind;
            rec[RR_TARGET_KIND] = (uint8_t)p->target_kind;
            st16(rec + RR_SITE_SECTION, (uint16_t)s->section);
            st32(rec + RR_PC_OFFSET, (uint32_t)p->pc_offset);
            st64(rec + RR_SITE_OFFSET, s->offset);
            if (p->target_kind == PCACHE_TARGET_SECTION) {
                st16(rec + RR_TARGET_INDEX, (uint16_t)p->target_index);
                rec[RR_TARGET_CLASS] = (uint8_t)(p->target_class + 1);
                st64(rec + RR_TARGET_BASE, base);
            } else {
                st16(rec + RR_TARGET_INDEX, index_of_slot[p->target_index]);
            }
            st64(rec + RR_TARGET_OFFSET, p->target_offset);
            st64(rec + RR_ADDEND, (uint64_t)p->addend);
            r++;
        }
    }

    if (cs->compact && (st = compact_fill(b, cls, index_of_slot)) != PCACHE_OK)
        return st;
    for (uint32_t j = 0; j < nanch; j++) {
        const anchor_src *a = &b->anchors[slot_of_index[j]];
        uint8_t *e = cs->anchor_table + (size_t)j * PCACHE_ANCHOR_ENTRY_SIZE;
        uint64_t addr = 0;
        anchor_address(b, a, &addr);
        memset(e, 0, PCACHE_ANCHOR_ENTRY_SIZE);
        memcpy(e + AE_NAME, a->name, strlen(a->name));
        st64(e + AE_ADDRESS, addr);
    }
    return PCACHE_OK;
}

void reloc_builder_free(pcache_builder *b)
{
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        free(b->cls[c].sites);
        free(b->cls[c].relocs);
        free(b->cls[c].anchor_table);
        compact_free(&b->cls[c]);
    }
    free(b->patches);
}
