/* SPDX-License-Identifier: BSD-2-Clause */
/* relocs: each segment's relocation records and anchors, and with
 * --map-address what they would resolve to.  The values come from the
 * library: pcache_reloc_apply() on a copy of the segment, then
 * pcache_decode_reference() of each patched field, so that what is shown
 * is what a loader would write. */
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "pcache/reloc.h"

/* The address an anchor resolves to: the --anchor value, else the one it
 * had at persist time. */
static const anchor_arg *given_anchor(const inspect_args *a, const char *name)
{
    for (size_t i = 0; i < a->anchor_count; i++)
        if (strcmp(a->anchor[i].name, name) == 0)
            return &a->anchor[i];
    return NULL;
}

static int resolve_anchor(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    const anchor_arg *given = given_anchor(ctx, name);
    *address = given ? given->address : persisted;
    return 0;
}

/* The segment holding target section index of class cls at file offset
 * base: its name and qualified name, when the file has it. */
static int target_section(const inspect_file *f, pcache_class cls, uint32_t index, uint64_t base, const char **name,
                          char *qualified, size_t size)
{
    for (size_t k = 0; k < f->seg_count; k++) {
        const found_segment *fs = &f->segs[k];
        pcache_segment seg = fs->seg;
        pcache_view v;
        if (fs->status != PCACHE_OK || seg.cls != cls || index >= seg.section_count ||
            pcache_segment_section(&seg, index, &v, NULL) != PCACHE_OK || fs->file_offset + v.offset != base)
            continue;
        *name = v.name;
        section_qualified_name(fs, v.name, qualified, size);
        return 1;
    }
    return 0;
}

static void describe_record(emitter *e, const inspect_file *f, const found_segment *fs, pcache_segment *segp,
                            uint64_t i, const pcache_reloc *rp, const uint8_t *patched, uint64_t map_address,
                            int compact)
{
    pcache_byte_order order = (pcache_byte_order)segp->identity.byte_order;
    pcache_reloc r = *rp;
    pcache_view site;
    uint64_t field_off, stored_target = 0, width;
    char site_q[80], target_q[80], text[128];
    const char *tname = NULL;
    int have_stored;

    if (pcache_segment_section(segp, r.site_index, &site, NULL) != PCACHE_OK)
        return; /* resurrect checked every record: not expected */
    width = pcache_reloc_width(r.kind);
    field_off = site.offset + r.site_offset;
    section_qualified_name(fs, site.name, site_q, sizeof site_q);
    if (compact) {
        /* the compact form's field holds an implicit addend, or anything
         * (explicit): the record says what it refers to */
        stored_target = (r.target_kind == PCACHE_TARGET_SECTION ? r.target_base : r.anchor_persisted) +
                        r.target_offset + (uint64_t)r.addend;
        have_stored = 1;
    } else {
        have_stored = pcache_decode_reference(r.kind, order, segp->base + field_off, fs->file_offset + field_off,
                                              r.pc_offset, &stored_target) == PCACHE_OK;
    }
    if (r.target_kind == PCACHE_TARGET_SECTION &&
        !target_section(f, r.target_class, r.target_index, r.target_base, &tname, target_q, sizeof target_q))
        tname = NULL;

    emit_begin(e, NULL, EMIT_LINE, "record %llu:", (unsigned long long)i);
    if (e->json)
        emit_uint(e, "index", NULL, i);
    emit_str(e, "kind", "kind", pcache_reloc_kind_name(r.kind));
    if (e->json) {
        emit_uint(e, "width", NULL, width);
        emit_int(e, "pc_offset", NULL, r.pc_offset);
        emit_begin(e, "site", EMIT_BLOCK, NULL);
        emit_str(e, "section", NULL, site.name);
        emit_str(e, "qualified_name", NULL, site_q);
        emit_uint(e, "section_index", NULL, r.site_index);
        emit_offset(e, "offset", NULL, r.site_offset);
        emit_offset(e, "file_offset", NULL, fs->file_offset + field_off);
        emit_end(e);
        emit_begin(e, "target", EMIT_BLOCK, NULL);
        if (r.target_kind == PCACHE_TARGET_SECTION) {
            emit_str(e, "kind", NULL, "section");
            emit_str(e, "class", NULL, pcache_class_name(r.target_class));
            if (tname) {
                emit_str(e, "section", NULL, tname);
                emit_str(e, "qualified_name", NULL, target_q);
            } else {
                emit_null(e, "section");
                emit_null(e, "qualified_name");
            }
            emit_uint(e, "section_index", NULL, r.target_index);
            emit_offset(e, "section_file_offset", NULL, r.target_base);
        } else {
            emit_str(e, "kind", NULL, "anchor");
            emit_str(e, "anchor", NULL, r.anchor ? r.anchor : "");
            emit_uint(e, "anchor_index", NULL, r.anchor_index);
            emit_hex(e, "anchor_persisted", NULL, r.anchor_persisted, 0);
        }
        emit_offset(e, "offset", NULL, r.target_offset);
        emit_end(e);
    } else {
        if (r.kind == PCACHE_RELOC_REL8 || r.kind == PCACHE_RELOC_REL32)
            emit_int(e, "pc_offset", "pc_offset", r.pc_offset);
        snprintf(text, sizeof text, "%s+0x%llx", site_q, (unsigned long long)r.site_offset);
        emit_str(e, "site", "site", text);
        emit_offset(e, "site_file_offset", "site_file_offset", fs->file_offset + field_off);
        if (r.target_kind == PCACHE_TARGET_SECTION && tname)
            snprintf(text, sizeof text, "%s+0x%llx", target_q, (unsigned long long)r.target_offset);
        else if (r.target_kind == PCACHE_TARGET_SECTION)
            snprintf(text, sizeof text, "%s:#%u@0x%llx+0x%llx", pcache_class_name(r.target_class), r.target_index,
                     (unsigned long long)r.target_base, (unsigned long long)r.target_offset);
        else
            snprintf(text, sizeof text, "anchor:%s+0x%llx", r.anchor ? r.anchor : "?",
                     (unsigned long long)r.target_offset);
        emit_str(e, "target", "target", text);
    }
    emit_int(e, "addend", "addend", r.addend);
    if (have_stored)
        emit_hex(e, "stored_target", "stored_target", stored_target, 0);
    else
        emit_null(e, "stored_target");
    if (patched) {
        uint64_t address = map_address + fs->file_offset + field_off, target = 0;
        if (e->json)
            emit_begin(e, "resolved", EMIT_BLOCK, NULL);
        emit_hex(e, "field_address", "field_address", address, 0);
        emit_hexbytes(e, "field_bytes", "field_bytes", patched + field_off, (size_t)width);
        if (pcache_decode_reference(r.kind, order, patched + field_off, address, r.pc_offset, &target) == PCACHE_OK)
            emit_hex(e, "target", "resolves_to", target, 0);
        else
            emit_null(e, "target");
        if (e->json)
            emit_end(e);
    } else {
        emit_null(e, "resolved");
    }
    emit_end(e);
}

/* Returns 1 when the records resolve (or were not asked to), 0 when the
 * library refused to apply them at that address. */
static int describe_segment_relocs(emitter *e, const inspect_file *f, const found_segment *fs, const inspect_args *a,
                                   problems *ps)
{
    pcache_segment seg = fs->seg;
    uint64_t n = pcache_segment_reloc_count(&seg);
    uint32_t na = pcache_segment_anchor_count(&seg);
    uint8_t *patched = NULL;
    int ok = 1, compact = 0;
    const char *table = NULL;
    uint64_t table_bytes = 0;

    if (a->has_map_address && n) {
        pcache_report rep;
        patched = malloc(seg.size ? (size_t)seg.size : 1);
        if (!patched) {
            problems_add(ps, PCACHE_E_NO_MEMORY, (int)seg.cls, NULL, NO_OFFSET, NO_OFFSET, 0, 0, 0,
                         "out of memory for a copy of the segment");
            ok = 0;
        } else {
            memcpy(patched, seg.base, (size_t)seg.size);
            if (pcache_reloc_apply(&seg, patched, a->map_address, resolve_anchor, (void *)a, &rep) != PCACHE_OK) {
                problems_add_report(ps, &rep, fs->file_offset);
                free(patched);
                patched = NULL;
                ok = 0;
            }
        }
    }

    /* the table's form and size (docs/FORMAT.md 9.5, 9.10), against the
     * 48-byte records the same relocations take */
    for (uint32_t k = 0; k < seg.section_count; k++) {
        pcache_view v;
        if (pcache_segment_section(&seg, k, &v, NULL) != PCACHE_OK)
            continue;
        if (v.type == PCACHE_TYPE_RELOCS || v.type == PCACHE_TYPE_CRELOCS) {
            table = v.name;
            table_bytes = v.size;
            compact = v.type == PCACHE_TYPE_CRELOCS;
        }
    }
    emit_begin(e, NULL, EMIT_BLOCK, "segment %s: %llu relocation record%s, %u anchor%s", fs->qualifier,
               (unsigned long long)n, n == 1 ? "" : "s", na, na == 1 ? "" : "s");
    if (e->json) {
        emit_str(e, "class", NULL, pcache_class_name(seg.cls));
        emit_str(e, "qualifier", NULL, fs->qualifier);
        emit_offset(e, "file_offset", NULL, fs->file_offset);
        emit_uint(e, "relocation_count", NULL, n);
        emit_uint(e, "anchor_count", NULL, na);
        emit_bool(e, "resolved", NULL, patched != NULL);
    }
    if (table) {
        char per[32];
        uint64_t as_records = n * PCACHE_RELOC_RECORD_SIZE;
        snprintf(per, sizeof per, "%.3f", n ? (double)table_bytes / (double)n : 0.0);
        emit_begin(e, "table", EMIT_LINE, "table:");
        emit_str(e, "section", "section", table);
        emit_str(e, "form", "form", compact ? "compact" : "records");
        emit_uint(e, "bytes", "bytes", table_bytes);
        emit_str(e, "bytes_per_record", "per record", per);
        emit_uint(e, "as_48_byte_records", "as 48-byte records", as_records);
        emit_int(e, "saved", "saved", (int64_t)as_records - (int64_t)table_bytes);
        emit_end(e);
    }
    emit_begin_list(e, "anchors");
    for (uint32_t j = 0; j < na; j++) {
        const char *name;
        uint64_t persisted;
        if (pcache_segment_anchor(&seg, j, &name, &persisted) != PCACHE_OK)
            continue;
        emit_begin(e, NULL, EMIT_LINE, "anchor %u:", j);
        if (e->json)
            emit_uint(e, "index", NULL, j);
        emit_str(e, "name", "name", name);
        emit_hex(e, "persisted", "persisted", persisted, 0);
        if (a->has_map_address) {
            const anchor_arg *given = given_anchor(a, name);
            emit_hex(e, "address", "address", given ? given->address : persisted, 0);
            emit_str(e, "address_source", "from", given ? "given" : "persisted");
        }
        emit_end(e);
    }
    emit_end_list(e);
    emit_begin_list(e, "records");
    {
        /* in one pass (an index read of a compact record walks the runs
         * before it) */
        pcache_reloc_iter it;
        pcache_reloc r;
        if (pcache_reloc_iter_init(&it, &seg) == PCACHE_OK)
            for (uint64_t i = 0; i < n && pcache_reloc_iter_next(&it, &r) == PCACHE_OK; i++)
                describe_record(e, f, fs, &seg, i, &r, patched, a->map_address, compact);
    }
    emit_end_list(e);
    emit_end(e);
    free(patched);
    return ok;
}

int cmd_relocs(const inspect_args *a)
{
    inspect_file f;
    emitter e;
    problems ps = {0};
    int rc = inspect_file_load(&f, a->path);

    if (rc != EXIT_VALID) {
        inspect_file_free(&f);
        return rc;
    }
    if (!inspect_file_valid(&f)) {
        rc = report_invalid(&f, "relocs", a->json);
        inspect_file_free(&f);
        return finish_output(rc);
    }
    /* a misspelt --anchor would otherwise change nothing, silently */
    for (size_t i = 0; i < a->anchor_count; i++) {
        int used = 0;
        for (size_t k = 0; k < f.seg_count && !used; k++) {
            const pcache_segment *seg = &f.segs[k].seg;
            uint32_t na = pcache_segment_anchor_count(seg);
            for (uint32_t j = 0; j < na && !used; j++) {
                const char *name;
                used = pcache_segment_anchor(seg, j, &name, NULL) == PCACHE_OK && strcmp(name, a->anchor[i].name) == 0;
            }
        }
        if (!used) {
            inspect_file_free(&f);
            return inspect_usage_error("--anchor %s: no segment of '%s' uses an anchor of that name", a->anchor[i].name,
                                       a->path);
        }
    }

    emit_init(&e, stdout, a->json);
    emit_document_begin(&e, &f, "relocs", NULL);
    if (a->has_map_address)
        emit_hex(&e, "map_address", "map address", a->map_address, 0);
    else
        emit_null(&e, "map_address");
    emit_begin_list(&e, "segments");
    for (size_t k = 0; k < f.seg_count; k++)
        describe_segment_relocs(&e, &f, &f.segs[k], a, &ps);
    emit_end_list(&e);
    if (e.json) {
        emit_begin_list(&e, "problems");
        for (size_t i = 0; i < ps.count; i++)
            emit_problem(&e, &ps.v[i]);
        emit_end_list(&e);
    }
    emit_end(&e);
    for (size_t i = 0; i < ps.count; i++)
        fprintf(stderr, "%s: cannot resolve the records of '%s' at 0x%llx: %s [%s]\n", PROG, f.path,
                (unsigned long long)a->map_address, ps.v[i].message, pcache_status_name(ps.v[i].status));
    rc = ps.count || ps.dropped ? EXIT_INVALID : EXIT_VALID;
    problems_free(&ps);
    inspect_file_free(&f);
    return finish_output(rc);
}
