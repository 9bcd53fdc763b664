/* SPDX-License-Identifier: BSD-2-Clause */
/* Binding an image whose segments a host handed back one at a time: the
 * manifest says which segments there must be and where; they must agree
 * with it and with each other; then private copies are made where data
 * must be written and the relocation records are applied, all or nothing. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reloc_table.h"
#include "report.h"
#include "split.h"

static void *default_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void default_free(void *ctx, void *mem, size_t size)
{
    (void)ctx;
    (void)size;
    free(mem);
}

/* 1 if the segment has a section whose name starts with the carried prefix. */
static int holds_carried(const pcache_segment *seg)
{
    const size_t plen = strlen(PCACHE_CARRIED_PREFIX);
    for (uint32_t i = 0; i < seg->section_count; i++)
        if (strncmp((const char *)reloc_entry(seg, i) + SE_NAME, PCACHE_CARRIED_PREFIX, plen) == 0)
            return 1;
    return 0;
}

static pcache_status check_against_manifest(pcache_segment *const segs[PCACHE_CLASS_COUNT], const manifest *m,
                                            pcache_report *rep)
{
    const pcache_segment *ro = segs[PCACHE_RO];

    if ((m->flags & PCACHE_MANIFEST_RW_CARRIED) && m->size[PCACHE_RW])
        return report_fail(rep, PCACHE_E_HEADER_FIELD, PCACHE_RO, PCACHE_MANIFEST_SECTION, PCACHE_REPORT_NO_OFFSET, 0,
                           0, 0, "the manifest lists an rw segment although rw is carried in ro");
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        const pcache_segment *s = segs[c];
        const char *cn = pcache_class_name((pcache_class)c);
        if (!s != !m->size[c])
            return report_fail(rep, PCACHE_E_FILE_LAYOUT, c, NULL, PCACHE_REPORT_NO_OFFSET, 1, m->size[c] != 0,
                               s != NULL,
                               "the manifest %s a %s segment, and one %s (1 = yes)", m->size[c] ? "lists" : "does not list",
                               cn, s ? "arrived" : "did not arrive");
        if (!s)
            continue;
        if (s->cls != (pcache_class)c)
            return report_fail(rep, PCACHE_E_CLASS, c, NULL, PCACHE_REPORT_NO_OFFSET, 1, (uint64_t)c + 1,
                               (uint64_t)s->cls + 1, "segment given as %s is of another class (class codes)", cn);
        if (s->file_offset != m->file_offset[c])
            return report_fail(rep, PCACHE_E_FILE_LAYOUT, c, NULL, PCACHE_REPORT_NO_OFFSET, 1, m->file_offset[c],
                               s->file_offset, "file offset differs from the manifest's");
        if (s->size != m->size[c])
            return report_fail(rep, PCACHE_E_FILE_LAYOUT, c, NULL, PCACHE_REPORT_NO_OFFSET, 1, m->size[c], s->size,
                               "segment size differs from the manifest's");
        if (memcmp(s->identity.image_id, ro->identity.image_id, PCACHE_IMAGE_ID_SIZE) != 0)
            return report_fail(rep, PCACHE_E_IMAGE_ID, c, NULL, PCACHE_REPORT_NO_OFFSET, 0, 0, 0,
                               "image id differs from the ro segment's: a segment of another image");
        if (strcmp(s->identity.client_name, ro->identity.client_name) != 0)
            return report_fail(rep, PCACHE_E_CLIENT, c, NULL, PCACHE_REPORT_NO_OFFSET, 0, 0, 0,
                               "client \"%s\" differs from the ro segment's \"%s\"", s->identity.client_name,
                               ro->identity.client_name);
        if (s->identity.client_version != ro->identity.client_version)
            return report_fail(rep, PCACHE_E_CLIENT_VERSION, c, NULL, PCACHE_REPORT_NO_OFFSET, 1,
                               ro->identity.client_version, s->identity.client_version,
                               "client version differs from the ro segment's");
    }
    return PCACHE_OK;
}

/* The image was made with the build expected. */
static pcache_status check_build(pcache_segment *ro, const pcache_build_id *expected, pcache_report *rep)
{
    pcache_build_id found;
    pcache_status st = build_section_read(ro, &found, rep);
    char want[PCACHE_BUILD_ID_STRING_SIZE];

    if (st == PCACHE_E_NOT_FOUND) {
        pcache_build_id_format(expected, want, sizeof want);
        return report_fail(rep, PCACHE_E_CLIENT_BUILD, PCACHE_RO, PCACHE_BUILD_SECTION, PCACHE_REPORT_NO_OFFSET, 0,
                           0, 0, "the image records no build; expected %.80s", want);
    }
    if (st != PCACHE_OK)
        return st;
    return pcache_build_id_check(expected, &found, rep);
}

/* A private block holding the file bytes [lo, hi) of the image, at the
 * same offset within a page as in the file, so that sections keep their
 * alignment; stored as class c's block.  Returns the address of file
 * offset lo in it, or NULL (reported). */
static uint8_t *copy_span(pcache_bound_image *img, pcache_class c, uint64_t lo, uint64_t hi, uint64_t page,
                          pcache_alloc_fn alloc, int exec, pcache_report *rep)
{
    uint64_t need;
    uintptr_t at;

    if (hi - lo > SIZE_MAX - 2 * page) {
        report_fail(rep, PCACHE_E_NO_MEMORY, c, NULL, PCACHE_REPORT_NO_OFFSET, 1, hi - lo, 0,
                    "too large to copy (bytes)");
        return NULL;
    }
    need = hi - lo + 2 * page; /* room to align, and to shift within a page */
    img->block[c] = alloc(img->alloc_ctx, (size_t)need);
    if (!img->block[c]) {
        report_fail(rep, PCACHE_E_NO_MEMORY, c, NULL, PCACHE_REPORT_NO_OFFSET, 1, need, 0,
                    "no memory for the private copy (bytes asked)");
        return NULL;
    }
    img->block_size[c] = (size_t)need;
    img->block_exec[c] = exec;
    at = ((uintptr_t)img->block[c] + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
    at += (uintptr_t)(lo & (page - 1));
    memcpy((void *)at, (const void *)(uintptr_t)(img->image_base + lo), (size_t)(hi - lo));
    return (uint8_t *)at;
}

/* A copy of one segment. */
static pcache_status make_copy(pcache_bound_image *img, pcache_class c, pcache_alloc_fn alloc, pcache_report *rep)
{
    const pcache_segment *s = img->seg[c];
    img->copy[c] = copy_span(img, c, s->file_offset, s->file_offset + s->size, s->identity.page_size, alloc, 0, rep);
    return img->copy[c] ? PCACHE_OK : PCACHE_E_NO_MEMORY;
}

/* PCACHE_BIND_PRIVATE: ro and rx in one block, at their distance in the
 * file. */
static pcache_status make_code_block(pcache_bound_image *img, pcache_alloc_fn alloc, pcache_alloc_fn alloc_exec,
                                     pcache_report *rep)
{
    const pcache_segment *ro = img->seg[PCACHE_RO], *rx = img->seg[PCACHE_RX];
    uint64_t lo = ro->file_offset, hi = ro->file_offset + ro->size;
    int exec = rx && alloc_exec;
    uint8_t *at;

    if (rx) {
        lo = rx->file_offset < lo ? rx->file_offset : lo;
        hi = rx->file_offset + rx->size > hi ? rx->file_offset + rx->size : hi;
    }
    at = copy_span(img, PCACHE_RO, lo, hi, ro->identity.page_size, exec ? alloc_exec : alloc, exec, rep);
    if (!at)
        return PCACHE_E_NO_MEMORY;
    img->copy_base = (uint64_t)(uintptr_t)at - lo;
    img->copy[PCACHE_RO] = at + (ro->file_offset - lo);
    if (rx)
        img->copy[PCACHE_RX] = at + (rx->file_offset - lo);
    return PCACHE_OK;
}

/* Steps 1 to 4 of pcache_bind() on segs: the manifest and the build,
 * every segment where the manifest says and no two overlapping, one image
 * base (*base; rw_apart: but for rw, which a private copy holds apart),
 * the relocation targets. */
static pcache_status check_image(pcache_segment *const segs[PCACHE_CLASS_COUNT], const pcache_bind_options *opt,
                                 int rw_apart, manifest *m, uint64_t *base, pcache_report *rep)
{
    pcache_segment *ro = segs[PCACHE_RO];
    pcache_status st;

    if (!ro || !ro->base)
        return report_fail(rep, PCACHE_E_NOT_FOUND, PCACHE_RO, NULL, PCACHE_REPORT_NO_OFFSET, 0, 0, 0,
                           "no ro segment: the image's manifest lives there");
    if ((st = manifest_read(ro, m, rep)) != PCACHE_OK)
        return st;
    if (opt && opt->build && (st = check_build(ro, opt->build, rep)) != PCACHE_OK)
        return st;
    if ((st = check_against_manifest(segs, m, rep)) != PCACHE_OK)
        return st;
    /* The segments of one file are disjoint: one that lay over another
     * could have its header or table rewritten by the other's relocations
     * in a copy that holds both. */
    for (int a = 0; a < PCACHE_CLASS_COUNT; a++)
        for (int b = a + 1; b < PCACHE_CLASS_COUNT; b++)
            if (segs[a] && segs[b] && segs[a]->file_offset < segs[b]->file_offset + segs[b]->size &&
                segs[b]->file_offset < segs[a]->file_offset + segs[a]->size)
                return report_fail(rep, PCACHE_E_FILE_LAYOUT, b, NULL, PCACHE_REPORT_NO_OFFSET, 1,
                                   segs[a]->file_offset + segs[a]->size, segs[b]->file_offset,
                                   "segment overlaps the %s segment in the file (file offset at least, found)",
                                   pcache_class_name((pcache_class)a));
    /* The host maps the file in one piece: every segment is at the same
     * distance from its file offset. */
    *base = (uint64_t)(uintptr_t)ro->base - ro->file_offset;
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        uint64_t b;
        if (!segs[c] || (rw_apart && c == PCACHE_RW))
            continue;
        b = (uint64_t)(uintptr_t)segs[c]->base - segs[c]->file_offset;
        if (b != *base)
            return report_fail(rep, PCACHE_E_FILE_LAYOUT, c, NULL, PCACHE_REPORT_NO_OFFSET, 1, *base, b,
                               "not mapped at the ro segment's image base (address minus file offset): "
                               "the segments are not one mapping of one file");
    }
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        if (segs[c] &&
            (st = pcache_reloc_check_targets(segs[c], (const pcache_segment *const *)segs, rep)) != PCACHE_OK)
            return st;
    return PCACHE_OK;
}

/* PCACHE_BIND_PRIVATE: the copies are what the image will read from now
 * on, so they are validated themselves (the mapping may have changed
 * since it was checked: a shared mapping of a file someone writes):
 * resurrected from the copies, against the identity and at the level the
 * mapping's segments were, and checked as an image again.  fresh[] then
 * replaces segs[]. */
static pcache_status validate_copies(pcache_bound_image *img, pcache_segment *const segs[PCACHE_CLASS_COUNT],
                                     pcache_segment fresh[PCACHE_CLASS_COUNT], const pcache_bind_options *opt,
                                     pcache_report *rep)
{
    pcache_segment *fp[PCACHE_CLASS_COUNT] = {NULL, NULL, NULL};
    manifest m;
    uint64_t base;
    pcache_status st;

    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        const pcache_segment *s = segs[c];
        const uint8_t *p = img->copy[c];
        pcache_expect exp;
        if (!s)
            continue;
        pcache_expect_init(&exp, &s->identity);
        exp.validation = s->validation;
        exp.known_sections = s->known_sections;
        exp.known_section_count = s->known_section_count;
        exp.writable = s->writable;
        if ((st = pcache_resurrect(&fresh[c], (pcache_class)c, &p, s->size, &exp, rep)) != PCACHE_OK)
            return st;
        if (fresh[c].size != s->size || fresh[c].file_offset != s->file_offset)
            return report_fail(rep, PCACHE_E_SEGMENT_CHANGED, c, NULL, PCACHE_REPORT_NO_OFFSET, 1, s->size,
                               fresh[c].size, "the private copy's segment is not the one checked in the mapping "
                               "(size)");
        fp[c] = &fresh[c];
    }
    if ((st = check_image(fp, opt, 1, &m, &base, rep)) != PCACHE_OK)
        return st;
    if (m.flags != img->manifest_flags || base != img->copy_base)
        return report_fail(rep, PCACHE_E_SEGMENT_CHANGED, PCACHE_RO, PCACHE_MANIFEST_SECTION, PCACHE_REPORT_NO_OFFSET,
                           1, img->manifest_flags, m.flags,
                           "the private copy's manifest is not the one checked in the mapping (flags)");
    return PCACHE_OK;
}

pcache_status pcache_bind(pcache_bound_image *img, pcache_segment *const segs[PCACHE_CLASS_COUNT],
                          const pcache_bind_options *opt, pcache_report *rep)
{
    pcache_alloc_fn alloc = opt && opt->alloc ? opt->alloc : default_alloc;
    pcache_alloc_fn alloc_exec = opt ? opt->alloc_exec : NULL;
    pcache_anchor_resolver resolve = opt ? opt->resolve : NULL;
    void *rctx = opt ? opt->resolve_ctx : NULL;
    int private_copies = opt && (opt->flags & PCACHE_BIND_PRIVATE);
    int rx_writable = opt && opt->rx_writable;
    uint64_t rx_records;
    manifest m;
    pcache_status st;
    pcache_segment *ro, *rx, fresh[PCACHE_CLASS_COUNT];
    pcache_segment *use[PCACHE_CLASS_COUNT];

    report_clear(rep);
    if (!img || !segs)
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, PCACHE_REPORT_NO_OFFSET, 0,
                           0, 0, "invalid argument to pcache_bind");
    memset(img, 0, sizeof *img);
    img->free = opt && opt->alloc ? opt->free : default_free;
    img->free_exec = opt ? opt->free_exec : NULL;
    img->alloc_ctx = opt ? opt->alloc_ctx : NULL;
    if (opt && (!!opt->alloc != !!opt->free || !!opt->alloc_exec != !!opt->free_exec ||
                (opt->flags & ~(uint32_t)PCACHE_BIND_PRIVATE)))
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, PCACHE_REPORT_NO_OFFSET, 0,
                           0, 0, "pcache_bind: alloc and free go together, so do alloc_exec and free_exec; "
                           "flags other than PCACHE_BIND_PRIVATE are unknown");
    if ((st = check_image(segs, opt, 0, &m, &img->image_base, rep)) != PCACHE_OK)
        return st;
    ro = segs[PCACHE_RO];
    rx = segs[PCACHE_RX];
    rx_records = rx ? pcache_segment_reloc_count(rx) : 0;
    if (rx_records && !rx_writable && !private_copies)
        return report_fail(rep, PCACHE_E_ACCESS, PCACHE_RX, NULL, PCACHE_REPORT_NO_OFFSET, 0, 0, 0,
                           "%" PRIu64 " relocation records must be applied where the rx segment is mapped, "
                           "and that mapping is not writable",
                           rx_records);

    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        img->seg[c] = segs[c];
    img->manifest_flags = m.flags;
    st = PCACHE_OK;
    if (private_copies)
        st = make_code_block(img, alloc, alloc_exec, rep);
    else if (holds_carried(ro) || pcache_segment_reloc_count(ro))
        st = make_copy(img, PCACHE_RO, alloc, rep);
    if (st == PCACHE_OK && segs[PCACHE_RW])
        st = make_copy(img, PCACHE_RW, alloc, rep);
    /* With private copies, the copies are checked and relocated in place
     * (apply with dst = the segment's own bytes); else the mapping's
     * segments, checked at resurrect, say where to write in the copies. */
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        use[c] = segs[c];
    if (st == PCACHE_OK && private_copies && (st = validate_copies(img, segs, fresh, opt, rep)) == PCACHE_OK)
        for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
            use[c] = segs[c] ? &fresh[c] : NULL;
    /* Copies first, the mapping last: a failure before it leaves the
     * mapping as it was. */
    {
        uint64_t base = private_copies ? img->copy_base : img->image_base;
        if (st == PCACHE_OK && img->copy[PCACHE_RO])
            st = pcache_reloc_apply(use[PCACHE_RO], img->copy[PCACHE_RO], base, resolve, rctx, rep);
        if (st == PCACHE_OK && img->copy[PCACHE_RW])
            st = pcache_reloc_apply(use[PCACHE_RW], img->copy[PCACHE_RW], base, resolve, rctx, rep);
        if (st == PCACHE_OK && img->copy[PCACHE_RX] && rx_records)
            st = pcache_reloc_apply(use[PCACHE_RX], img->copy[PCACHE_RX], base, resolve, rctx, rep);
    }
    if (st == PCACHE_OK && rx_records && rx_writable) {
        st = pcache_reloc_apply(rx, (void *)(uintptr_t)rx->base, img->image_base, resolve, rctx, rep);
        img->mapping_rx_relocated = st == PCACHE_OK;
    }
    if (st != PCACHE_OK) {
        pcache_bound_release(img);
        return st;
    }
    /* The mapping may go away: from now on every read (lookups, lazy
     * checksums, inflation) is of the copies, through the segments
     * resurrected from them. */
    if (private_copies)
        for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
            if (segs[c])
                *segs[c] = fresh[c];
    return PCACHE_OK;
}

pcache_status pcache_bound_find(pcache_bound_image *img, pcache_class cls, const char *name, pcache_view *view,
                                pcache_report *rep)
{
    char full[PCACHE_SECTION_NAME_MAX + 1];
    int carried;
    pcache_segment *seg;
    const uint8_t *copy;
    pcache_status st;

    report_clear(rep);
    if (!img || (unsigned)cls >= PCACHE_CLASS_COUNT || !name || !view)
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, PCACHE_REPORT_NO_OFFSET, 0,
                           0, 0, "invalid argument to pcache_bound_find");
    if (name[0] == '.')
        return report_fail(rep, PCACHE_E_NOT_FOUND, cls, name, PCACHE_REPORT_NO_OFFSET, 0, 0, 0,
                           "names starting with '.' are the library's, not client sections");
    carried = cls == PCACHE_RW && (img->manifest_flags & PCACHE_MANIFEST_RW_CARRIED);
    if (carried) {
        if (strlen(name) > PCACHE_CARRIED_NAME_MAX)
            return report_fail(rep, PCACHE_E_NOT_FOUND, cls, NULL, PCACHE_REPORT_NO_OFFSET, 0, 0, 0,
                               "no carried rw section of a name this long");
        snprintf(full, sizeof full, "%s%s", PCACHE_CARRIED_PREFIX, name);
        seg = img->seg[PCACHE_RO];
        copy = img->copy[PCACHE_RO];
    } else {
        snprintf(full, sizeof full, "%s", name);
        seg = img->seg[cls];
        copy = img->copy[cls];
    }
    if (!seg)
        return report_fail(rep, PCACHE_E_NOT_FOUND, cls, name, PCACHE_REPORT_NO_OFFSET, 0, 0, 0,
                           "the image has no %s segment", pcache_class_name(cls));
    if ((st = pcache_segment_find(seg, full, view, rep)) != PCACHE_OK)
        return st;
    if (copy)
        view->data = copy + view->offset;
    if (carried)
        view->name += strlen(PCACHE_CARRIED_PREFIX);
    return PCACHE_OK;
}

void *pcache_bound_writable(const pcache_bound_image *img, pcache_class cls, const pcache_view *view)
{
    const uint8_t *copy, *d;
    const pcache_segment *seg;

    if (!img || !view || cls != PCACHE_RW)
        return NULL;
    if (img->manifest_flags & PCACHE_MANIFEST_RW_CARRIED) {
        copy = img->copy[PCACHE_RO];
        seg = img->seg[PCACHE_RO];
    } else {
        copy = img->copy[PCACHE_RW];
        seg = img->seg[PCACHE_RW];
    }
    d = view->data;
    if (!copy || !seg || d < copy || view->size > seg->size || (uint64_t)(d - copy) > seg->size - view->size)
        return NULL;
    return (void *)(uintptr_t)d;
}

void pcache_bound_release(pcache_bound_image *img)
{
    if (!img)
        return;
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        pcache_free_fn f = img->block_exec[c] ? img->free_exec : img->free;
        if (img->block[c] && f)
            f(img->alloc_ctx, img->block[c], img->block_size[c]);
    }
    memset(img, 0, sizeof *img);
}

/* The segment a client section of class cls is found in: ro for a
 * carried rw section. */
static pcache_segment *home_of(const pcache_bound_image *img, pcache_class cls)
{
    return cls == PCACHE_RW && (img->manifest_flags & PCACHE_MANIFEST_RW_CARRIED) ? img->seg[PCACHE_RO] : img->seg[cls];
}

/* Loaded bytes of a bound image's client section: inflated when stored
 * compressed (only ro sections ever are), else copied. */
pcache_status pcache_bound_inflate(pcache_bound_image *img, pcache_class cls, const char *name, void *buf,
                                   uint64_t capacity, pcache_view *out, pcache_report *rep)
{
    pcache_view v;
    pcache_status st = pcache_bound_find(img, cls, name, &v, rep);

    if (st != PCACHE_OK)
        return st;
    if (!buf && v.loaded_size)
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, cls, name, PCACHE_REPORT_NO_OFFSET, 0, 0, 0,
                           "pcache_bound_inflate: no buffer");
    if (v.flags & PCACHE_SECTION_COMPRESSED)
        return pcache_segment_inflate(home_of(img, cls), v.index, buf, capacity, out, rep);
    if (capacity < v.size)
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, cls, name, PCACHE_REPORT_NO_OFFSET, 1, v.size, capacity,
                           "buffer smaller than the section (bytes needed, given)");
    if (v.size)
        memcpy(buf, v.data, (size_t)v.size);
    if (out) {
        *out = v;
        out->data = buf;
    }
    return PCACHE_OK;
}

pcache_status pcache_bound_inflate_alloc(pcache_bound_image *img, pcache_class cls, const char *name, void **buf,
                                         pcache_view *out, pcache_report *rep)
{
    pcache_view v;
    pcache_status st;

    if (!buf)
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, cls, name, PCACHE_REPORT_NO_OFFSET, 0, 0, 0,
                           "pcache_bound_inflate_alloc: no buffer pointer");
    *buf = NULL;
    if ((st = pcache_bound_find(img, cls, name, &v, rep)) != PCACHE_OK)
        return st;
    if (v.flags & PCACHE_SECTION_COMPRESSED)
        return pcache_segment_inflate_alloc(home_of(img, cls), v.index, buf, out, rep);
    if (v.size > SIZE_MAX || !(*buf = malloc(v.size ? (size_t)v.size : 1)))
        return report_fail(rep, PCACHE_E_NO_MEMORY, cls, name, PCACHE_REPORT_NO_OFFSET, 1, v.size, 0,
                           "no memory for the section's bytes (bytes asked)");
    if (v.size)
        memcpy(*buf, v.data, (size_t)v.size);
    if (out) {
        *out = v;
        out->data = *buf;
    }
    return PCACHE_OK;
}
