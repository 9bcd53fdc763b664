/* SPDX-License-Identifier: BSD-2-Clause */
/* Reading a file to inspect: its kind by magic, the library's verdict, its
 * segments, and sections named on the command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "inspect.h"
#include "slurp.h"

/* docs/FORMAT.md 2.1; include/pcache/dpc.h: "RIO$" as stored */
static const uint8_t file_magic[8] = {0x89, 'P', 'C', 'F', 'I', 'L', 'E', '\n'};
static const uint8_t seg_magic[8] = {0x89, 'P', 'C', 'S', 'E', 'G', '\r', '\n'};
static const uint8_t dpc_magic[4] = {'R', 'I', 'O', '$'};

const char *file_kind_name(file_kind kind)
{
    switch (kind) {
    case KIND_PCACHE: return "pcache";
    case KIND_DPC: return "dpc";
    default: return "unknown";
    }
}

/* A file shorter than a magic is judged by the bytes it has, so that a
 * truncated pcache or .dpc file is called truncated, not unknown. */
static int starts_like(const uint8_t *data, uint64_t size, const uint8_t *magic, size_t magic_size)
{
    size_t n = size < magic_size ? (size_t)size : magic_size;
    return memcmp(data, magic, n) == 0;
}

static void set_verdict(inspect_file *f, const pcache_report *rep, uint64_t seg_file_offset)
{
    problems one = {0};
    problems_add_report(&one, rep, seg_file_offset);
    if (one.count)
        f->verdict = one.v[0];
    else
        f->verdict.status = PCACHE_E_NO_MEMORY;
    problems_free(&one);
}

static void set_qualifiers(inspect_file *f)
{
    size_t per_class[PCACHE_CLASS_COUNT] = {0};
    for (size_t i = 0; i < f->seg_count; i++)
        if (f->segs[i].status == PCACHE_OK)
            per_class[f->segs[i].seg.cls]++;
    for (size_t i = 0; i < f->seg_count; i++) {
        found_segment *fs = &f->segs[i];
        if (fs->status != PCACHE_OK)
            continue;
        if (per_class[fs->seg.cls] > 1)
            snprintf(fs->qualifier, sizeof fs->qualifier, "%s@0x%llx", pcache_class_name(fs->seg.cls),
                     (unsigned long long)fs->file_offset);
        else
            snprintf(fs->qualifier, sizeof fs->qualifier, "%s", pcache_class_name(fs->seg.cls));
    }
}

/* The library reports a problem in a standalone file's segment at its
 * file offset; the verdict gives it as verify does, relative to the
 * segment the file header places there, and in the file. */
static void set_standalone_verdict(inspect_file *f, const pcache_report *rep)
{
    pcache_report r = *rep;
    uint64_t seg = NO_OFFSET;

    if (r.cls >= 0 && r.cls < PCACHE_CLASS_COUNT && r.offset != NO_OFFSET && f->size >= 128) {
        uint64_t at = 0, size = 0;
        for (int i = 7; i >= 0; i--) {
            at = at << 8 | f->data[48 + 16 * r.cls + i];
            size = size << 8 | f->data[56 + 16 * r.cls + i];
        }
        if (size && r.offset >= at && r.offset - at < size) {
            seg = at;
            r.offset -= at;
        }
    }
    set_verdict(f, &r, seg);
}

static int load_pcache(inspect_file *f)
{
    pcache_report rep;
    pcache_status st = pcache_image_open_memory(&f->img, f->data, f->size, NULL, &rep);

    if (st != PCACHE_OK) {
        set_standalone_verdict(f, &rep);
        return EXIT_VALID;
    }
    f->segs = calloc(PCACHE_CLASS_COUNT, sizeof *f->segs);
    if (!f->segs) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        return EXIT_USAGE;
    }
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        found_segment *fs;
        if (!f->img.present[c])
            continue;
        fs = &f->segs[f->seg_count++];
        fs->slot = -1;
        fs->file_offset = f->img.offset[c];
        fs->status = PCACHE_OK;
        fs->seg = f->img.seg[c];
        fs->at_stated_offset = 1;
    }
    set_qualifiers(f);
    return EXIT_VALID;
}

/* Appends a place for one segment to f->segs; NULL when out of memory. */
static found_segment *add_segment(inspect_file *f, size_t *capacity)
{
    if (f->seg_count == *capacity) {
        size_t cap = *capacity ? *capacity * 2 : 4;
        found_segment *v = realloc(f->segs, cap * sizeof *v);
        if (!v)
            return NULL;
        f->segs = v;
        *capacity = cap;
    }
    return memset(&f->segs[f->seg_count++], 0, sizeof *f->segs);
}

/* One candidate at a time: every valid segment is kept, refused ones only
 * up to INSPECT_MAX_REFUSED, so that memory follows the segments the file
 * holds, not the candidates its bytes make (one per 8 bytes at most). */
static int load_dpc(inspect_file *f)
{
    pcache_dpc_scan scan;
    pcache_dpc_found cand;
    size_t capacity = 0, refused = 0;

    f->dpc_status = pcache_dpc_parse(&f->dpc, f->data, f->size, &f->dpc_report);
    if (f->dpc_status != PCACHE_OK)
        set_verdict(f, &f->dpc_report, NO_OFFSET);
    if (!f->dpc.have_layout)
        return EXIT_VALID;
    pcache_dpc_scan_init(&scan);
    while (pcache_dpc_next_segment(&f->dpc, &scan, &cand, NULL) == PCACHE_OK) {
        found_segment *fs;
        if (cand.status != PCACHE_OK && refused++ >= INSPECT_MAX_REFUSED) {
            f->refused_not_listed++;
            continue;
        }
        /* the reports of refused candidates past those kept are not read */
        scan.brief = refused >= INSPECT_MAX_REFUSED;
        if (!(fs = add_segment(f, &capacity))) {
            fprintf(stderr, "%s: out of memory\n", PROG);
            return EXIT_USAGE;
        }
        fs->slot = (int)cand.slot;
        fs->file_offset = cand.file_offset;
        fs->status = cand.status;
        fs->report = cand.report;
        fs->seg = cand.segment;
        fs->at_stated_offset = cand.at_stated_offset;
        if (fs->status != PCACHE_OK && f->verdict.status == PCACHE_OK) {
            pcache_report r = fs->report;
            set_verdict(f, &r, fs->file_offset);
        }
    }
    set_qualifiers(f);
    return EXIT_VALID;
}

int inspect_file_load(inspect_file *f, const char *path)
{
    size_t size;

    memset(f, 0, sizeof *f);
    f->path = path;
    f->verdict.status = PCACHE_OK;
    if (slurp_file(path, &f->data, &size) != 0) {
        fprintf(stderr, "%s: cannot read '%s': %s\n", PROG, path, strerror(errno));
        f->data = NULL;
        return EXIT_USAGE;
    }
    f->size = size;

    if (f->size > 0 && starts_like(f->data, f->size, dpc_magic, sizeof dpc_magic)) {
        f->kind = KIND_DPC;
        return load_dpc(f);
    }
    if (f->size > 0 && starts_like(f->data, f->size, file_magic, sizeof file_magic)) {
        f->kind = KIND_PCACHE;
        return load_pcache(f);
    }
    f->kind = KIND_UNKNOWN;
    {
        problems one = {0};
        if (f->size == 0)
            problems_add(&one, PCACHE_E_TRUNCATED, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, 0, 1, 4, 0,
                         "file: empty, too short for any magic (4 bytes of a .dpc file's, 8 of a pcache "
                         "file's)");
        else if (f->size >= sizeof seg_magic && memcmp(f->data, seg_magic, sizeof seg_magic) == 0)
            problems_add(&one, PCACHE_E_FILE_MAGIC, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, 0, 0, 0, 0,
                         "file: a bare pcache segment (magic 89 50 43 53 45 47 0D 0A), not a file: "
                         "pcache-inspect reads standalone pcache files and DynamoRIO .dpc files");
        else
            problems_add(&one, PCACHE_E_FILE_MAGIC, PCACHE_REPORT_NO_CLASS, NULL, NO_OFFSET, 0, 0, 0, 0,
                         "file: neither a pcache file (magic 89 50 43 46 49 4C 45 0A) nor a DynamoRIO .dpc "
                         "file (magic \"RIO$\")");
        if (one.count)
            f->verdict = one.v[0];
        else
            f->verdict.status = f->size ? PCACHE_E_FILE_MAGIC : PCACHE_E_TRUNCATED;
        problems_free(&one);
    }
    return EXIT_VALID;
}

void inspect_file_free(inspect_file *f)
{
    free(f->segs);
    free(f->data);
    memset(f, 0, sizeof *f);
}

int inspect_file_valid(const inspect_file *f)
{
    return f->verdict.status == PCACHE_OK;
}

uint64_t inspect_section_count(const inspect_file *f)
{
    uint64_t n = 0;
    for (size_t i = 0; i < f->seg_count; i++)
        if (f->segs[i].status == PCACHE_OK)
            n += f->segs[i].seg.section_count;
    return n;
}

void section_qualified_name(const found_segment *fs, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s:%s", fs->qualifier, name);
}

/* ---- naming a section ---- */

typedef struct section_spec {
    int cls;             /* -1: any */
    int has_seg_offset;
    uint64_t seg_offset;
    const char *name;
} section_spec;

/* CLASS:NAME or CLASS@OFFSET:NAME; anything else is a plain name. */
static int parse_qualified(const char *spec, section_spec *s)
{
    char cls_name[3], off[24];
    const char *colon;
    pcache_class cls;

    if (strlen(spec) < 4 || (spec[2] != ':' && spec[2] != '@'))
        return 0;
    memcpy(cls_name, spec, 2);
    cls_name[2] = '\0';
    if (parse_class(cls_name, &cls) != 0)
        return 0;
    s->cls = (int)cls;
    if (spec[2] == ':') {
        s->name = spec + 3;
        return 1;
    }
    colon = strchr(spec + 3, ':');
    if (!colon || (size_t)(colon - (spec + 3)) >= sizeof off || colon[1] == '\0')
        return 0;
    memcpy(off, spec + 3, (size_t)(colon - (spec + 3)));
    off[colon - (spec + 3)] = '\0';
    if (parse_uint(off, UINT64_MAX, &s->seg_offset) != 0)
        return 0;
    s->has_seg_offset = 1;
    s->name = colon + 1;
    return 1;
}

/* The sections spec names: their number, the first in *first, and their
 * qualified names in list. */
static size_t find_matches(inspect_file *f, const section_spec *s, section_ref *first, char *list, size_t list_size)
{
    size_t n = 0, used = 0;

    for (size_t k = 0; k < f->seg_count; k++) {
        found_segment *fs = &f->segs[k];
        if (fs->status != PCACHE_OK)
            continue;
        if (s->cls >= 0 && (int)fs->seg.cls != s->cls)
            continue;
        if (s->has_seg_offset && fs->file_offset != s->seg_offset)
            continue;
        for (uint32_t i = 0; i < fs->seg.section_count; i++) {
            pcache_view v;
            char q[80];
            if (pcache_segment_section(&fs->seg, i, &v, NULL) != PCACHE_OK || strcmp(v.name, s->name) != 0)
                continue;
            section_qualified_name(fs, v.name, q, sizeof q);
            if (n == 0) {
                memset(first, 0, sizeof *first);
                first->owner = fs;
                first->dr_slot = -1;
                first->view = v;
                first->file_offset = fs->file_offset + v.offset;
                first->compressed = v.type == PCACHE_TYPE_DATA && (v.flags & PCACHE_SECTION_COMPRESSED) != 0;
                snprintf(first->qualified, sizeof first->qualified, "%s", q);
            }
            if (used < list_size)
                used += (size_t)snprintf(list + used, list_size - used, "%s%s", n ? ", " : "", q);
            n++;
        }
    }
    return n;
}

static int find_dr_slot(inspect_file *f, const char *spec, pcache_class cls, section_ref *out)
{
    const pcache_dpc_span *span;

    if (f->kind != KIND_DPC)
        return inspect_usage_error("'%s' names a DynamoRIO client slot, and '%s' is not a .dpc file", spec,
                                   f->path);
    span = &f->dpc.client_data[cls];
    memset(out, 0, sizeof *out);
    out->dr_slot = (int)cls;
    out->view.name = spec;
    out->view.data = f->data + span->offset;
    out->view.size = span->size;
    out->view.offset = span->offset;
    out->file_offset = span->offset;
    snprintf(out->qualified, sizeof out->qualified, "dr:%s", pcache_class_name(cls));
    return EXIT_VALID;
}

int inspect_find_section(inspect_file *f, const char *spec, section_ref *out)
{
    section_spec s = {.cls = -1, .name = spec};
    char list[1024] = "";
    size_t n;
    pcache_class cls;

    if (strncmp(spec, "dr:", 3) == 0 && parse_class(spec + 3, &cls) == 0)
        return find_dr_slot(f, spec, cls, out);
    if (spec[0] == '\0')
        return inspect_usage_error("the section name is empty");
    if (parse_qualified(spec, &s)) {
        n = find_matches(f, &s, out, list, sizeof list);
        if (n == 0) {
            /* a section may be named "ro:x" itself */
            section_spec plain = {.cls = -1, .name = spec};
            n = find_matches(f, &plain, out, list, sizeof list);
        }
    } else {
        n = find_matches(f, &s, out, list, sizeof list);
    }
    if (n == 1)
        return EXIT_VALID;
    if (n == 0)
        return inspect_usage_error("'%s' has no section '%s' ('%s sections %s' lists them)", f->path, spec, PROG,
                                   f->path);
    return inspect_usage_error("section name '%s' is ambiguous in '%s': %zu sections match (%s); name one of "
                               "them as shown",
                               spec, f->path, n, list);
}

/* ---- the document every command writes ---- */

void emit_document_begin(emitter *e, const inspect_file *f, const char *command, const char *heading)
{
    if (heading)
        emit_begin(e, NULL, EMIT_BLOCK, "%s", heading);
    else
        emit_begin(e, NULL, EMIT_BLOCK, NULL);
    if (e->json) {
        emit_uint(e, "schema_version", NULL, INSPECT_SCHEMA_VERSION);
        emit_str(e, "command", NULL, command);
        emit_bytes_str(e, "file", NULL, f->path, strlen(f->path));
        emit_str(e, "kind", NULL, file_kind_name(f->kind));
        emit_size(e, "size", NULL, f->size);
        emit_bool(e, "valid", NULL, inspect_file_valid(f));
    }
}

int report_invalid(const inspect_file *f, const char *command, int json)
{
    fprintf(stderr, "%s: '%s' is invalid: %s [%s]\n", PROG, f->path, f->verdict.message,
            pcache_status_name(f->verdict.status));
    if (f->kind == KIND_DPC && !f->dpc.have_header && f->verdict.status == PCACHE_E_DPC_VERSION)
        fprintf(stderr, "%s: a DynamoRIO .dpc file of a version (or word size) this tool does not know: "
                        "nothing past the version was interpreted\n",
                PROG);
    if (json) {
        emitter e;
        emit_init(&e, stdout, 1);
        emit_document_begin(&e, f, command, NULL);
        emit_begin_list(&e, "problems");
        emit_problem(&e, &f->verdict);
        emit_end_list(&e);
        emit_end(&e);
    }
    return EXIT_INVALID;
}

int finish_output(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: cannot write the output: %s\n", PROG, strerror(errno));
        return EXIT_USAGE;
    }
    return rc;
}
