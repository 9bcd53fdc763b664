/* SPDX-License-Identifier: BSD-2-Clause */
/* info and sections: what a file is and what it holds. */
#include <string.h>

#include "inspect.h"
#include "pcache/reloc.h"

const char *arch_name(uint16_t arch)
{
    switch (arch) {
    case 3: return "i386";
    case 21: return "ppc64";
    case 40: return "arm";
    case 62: return "x86-64";
    case 183: return "aarch64";
    case 243: return "riscv";
    default: return "unknown";
    }
}

const char *byte_order_name(uint8_t order)
{
    return order == PCACHE_LITTLE_ENDIAN ? "little-endian" : order == PCACHE_BIG_ENDIAN ? "big-endian" : "unknown";
}

const char *section_type_name(uint16_t type)
{
    switch (type) {
    case PCACHE_TYPE_DATA: return "data";
    case PCACHE_TYPE_RELOCS: return "relocs";
    case PCACHE_TYPE_ANCHORS: return "anchors";
    default: return "unknown";
    }
}

static const char *checksum_name(pcache_checksum_algorithm algo)
{
    return pcache_checksum_name(algo);
}

/* CRC-32 values are 32 bits wide; show them so. */
static int checksum_digits(pcache_checksum_algorithm algo)
{
    return algo == PCACHE_CHECKSUM_CRC32 ? 8 : 16;
}

/* ---- sections ---- */

/* The compressed flag, which only a DATA section has (docs/FORMAT.md
 * 2.5): on another type the bit is reserved and shown as a number. */
static int compressed_flag(const pcache_view *v)
{
    return v->type == PCACHE_TYPE_DATA && (v->flags & PCACHE_SECTION_COMPRESSED);
}

static void section_flags_text(const pcache_view *v, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    uint16_t other = (uint16_t)(v->flags & ~(PCACHE_SECTION_SKIPPABLE | (compressed_flag(v) ? PCACHE_SECTION_COMPRESSED : 0)));
    if (v->flags & PCACHE_SECTION_SKIPPABLE)
        len += (size_t)snprintf(buf + len, size - len, "skippable");
    if (compressed_flag(v) && len < size)
        len += (size_t)snprintf(buf + len, size - len, "%scompressed", len ? "," : "");
    if (other && len < size)
        len += (size_t)snprintf(buf + len, size - len, "%s0x%x", len ? "," : "", other);
    if (!v->known && len < size)
        len += (size_t)snprintf(buf + len, size - len, "%sunknown", len ? "," : "");
    if (len == 0)
        snprintf(buf, size, "none");
}

/* One section, as a LINE: heading is its text heading ("section 0:"). */
static void describe_section(emitter *e, const found_segment *fs, uint32_t i, int heading_is_name)
{
    pcache_segment seg = fs->seg; /* fully validated: lookups change nothing */
    pcache_view v;
    uint64_t sum = 0;
    char q[80], flags[48];

    if (pcache_segment_section(&seg, i, &v, NULL) != PCACHE_OK ||
        pcache_segment_section_checksum(&seg, i, &sum) != PCACHE_OK)
        return; /* not after full validation: the index is below the count */
    section_qualified_name(fs, v.name, q, sizeof q);
    if (heading_is_name)
        emit_begin(e, NULL, EMIT_LINE, "%-24s", q);
    else
        emit_begin(e, NULL, EMIT_LINE, "section %u:", i);
    if (e->json) {
        emit_uint(e, "index", NULL, i);
        emit_str(e, "name", NULL, v.name);
        emit_str(e, "qualified_name", NULL, q);
        emit_str(e, "class", NULL, pcache_class_name(fs->seg.cls));
        emit_offset(e, "segment_file_offset", NULL, fs->file_offset);
        emit_uint(e, "type", NULL, v.type);
        emit_str(e, "type_name", NULL, section_type_name(v.type));
        emit_uint(e, "flags", NULL, v.flags);
        emit_begin_list(e, "flag_names");
        if (v.flags & PCACHE_SECTION_SKIPPABLE)
            emit_str(e, NULL, NULL, "skippable");
        if (compressed_flag(&v))
            emit_str(e, NULL, NULL, "compressed");
        emit_end_list(e);
        emit_bool(e, "known", NULL, v.known);
    } else {
        if (heading_is_name)
            emit_uint(e, "index", "index", i);
        else
            emit_str(e, "name", "name", v.name);
        if (v.type == PCACHE_TYPE_DATA || v.type == PCACHE_TYPE_RELOCS || v.type == PCACHE_TYPE_ANCHORS)
            emit_str(e, "type_name", "type", section_type_name(v.type));
        else
            emit_uint(e, "type", "type", v.type);
        section_flags_text(&v, flags, sizeof flags);
        emit_str(e, "flag_names", "flags", flags);
    }
    emit_uint(e, "alignment", "align", v.alignment);
    emit_offset(e, "segment_offset", "segment_offset", v.offset);
    emit_offset(e, "file_offset", "file_offset", fs->file_offset + v.offset);
    emit_size(e, "size", "size", v.size);
    /* what it loads to: its inflated size when compressed */
    if (e->json || v.loaded_size != v.size)
        emit_size(e, "loaded_size", "loaded_size", v.loaded_size);
    /* text only: JSON readers divide the two sizes themselves */
    if (!e->json && compressed_flag(&v) && v.size) {
        char ratio[32];
        snprintf(ratio, sizeof ratio, "%.2f", (double)v.loaded_size / (double)v.size);
        emit_str(e, "ratio", "ratio", ratio);
    }
    emit_hex(e, "checksum", "checksum", sum, checksum_digits(fs->seg.identity.checksum));
    emit_end(e);
}

/* ---- segments ---- */

static void describe_identity(emitter *e, const pcache_identity *id)
{
    emit_bytes_str(e, "client_name", "client", id->client_name, strnlen(id->client_name, sizeof id->client_name));
    emit_uint(e, "client_version", "client version", id->client_version);
    emit_str(e, "byte_order", "byte order", byte_order_name(id->byte_order));
    emit_uint(e, "pointer_size", "pointer size", id->pointer_size);
    if (e->json) {
        emit_uint(e, "arch", NULL, id->arch);
        emit_str(e, "arch_name", NULL, arch_name(id->arch));
    } else {
        char arch[40];
        snprintf(arch, sizeof arch, "%u (%s)", id->arch, arch_name(id->arch));
        emit_str(e, "arch", "arch", arch);
    }
    emit_uint(e, "page_size", "page size", id->page_size);
    emit_str(e, "checksum_algorithm", "checksum", checksum_name(id->checksum));
    emit_hexbytes(e, "image_id", "image id", id->image_id, sizeof id->image_id);
    emit_hex(e, "module_base", "module base", id->module_base, 0);
    emit_size(e, "module_size", "module size", id->module_size);
    if (id->module_digest_len || e->json)
        emit_hexbytes(e, "module_digest", "module digest", id->module_digest,
                      id->module_digest_len <= PCACHE_MODULE_DIGEST_MAX ? id->module_digest_len : 0);
    else
        emit_str(e, "module_digest", "module digest", "none");
}

void describe_segment(emitter *e, const inspect_file *f, const found_segment *fs)
{
    const pcache_segment *seg = &fs->seg;
    int rounded = (seg->flags & PCACHE_SEGMENT_PAGE_ROUNDED) != 0;

    (void)f;
    if (fs->status != PCACHE_OK) {
        problem p;
        problems one = {0};
        emit_begin(e, NULL, EMIT_BLOCK, "refused segment candidate in DR slot %s",
                   pcache_class_name((pcache_class)fs->slot));
        if (e->json)
            emit_bool(e, "valid", NULL, 0);
        emit_str(e, "slot", "DR slot", pcache_class_name((pcache_class)fs->slot));
        emit_offset(e, "file_offset", "file offset", fs->file_offset);
        problems_add_report(&one, &fs->report, fs->file_offset);
        if (one.count) {
            p = one.v[0];
            if (e->json) {
                emit_begin_list(e, "problems");
                emit_problem(e, &p);
                emit_end_list(e);
            } else {
                emit_str(e, "problem", "refused", p.message);
            }
        }
        problems_free(&one);
        emit_end(e);
        return;
    }

    if (fs->slot >= 0)
        emit_begin(e, NULL, EMIT_BLOCK, "segment %s (in DR slot %s)", fs->qualifier,
                   pcache_class_name((pcache_class)fs->slot));
    else
        emit_begin(e, NULL, EMIT_BLOCK, "segment %s", fs->qualifier);
    if (e->json) {
        emit_bool(e, "valid", NULL, 1);
        emit_str(e, "class", NULL, pcache_class_name(seg->cls));
        emit_str(e, "qualifier", NULL, fs->qualifier);
        if (fs->slot >= 0)
            emit_str(e, "slot", NULL, pcache_class_name((pcache_class)fs->slot));
        else
            emit_null(e, "slot");
    }
    emit_offset(e, "file_offset", "file offset", fs->file_offset);
    emit_size(e, "size", "size", seg->size);
    if (fs->slot >= 0)
        emit_bool(e, "at_stated_offset", "at its offset", fs->at_stated_offset);
    else if (e->json)
        emit_null(e, "at_stated_offset"); /* a standalone file's reader requires it */
    if (e->json) {
        emit_offset(e, "stated_file_offset", NULL, seg->file_offset);
        emit_uint(e, "flags", NULL, seg->flags);
        emit_begin_list(e, "flag_names");
        if (rounded)
            emit_str(e, NULL, NULL, "page_rounded");
        emit_end_list(e);
        emit_uint(e, "format_major", NULL, seg->format_major);
        emit_uint(e, "format_minor", NULL, seg->format_minor);
    } else {
        char format[16];
        if (!fs->at_stated_offset)
            emit_offset(e, "stated_file_offset", "laid out for", seg->file_offset);
        emit_str(e, "flags", "flags", rounded ? "page-rounded" : "none");
        snprintf(format, sizeof format, "%u.%u", seg->format_major, seg->format_minor);
        emit_str(e, "format", "format", format);
    }
    describe_identity(e, &seg->identity);
    emit_uint(e, "section_count", "sections", seg->section_count);
    emit_uint(e, "relocation_count", "relocations", pcache_segment_reloc_count(seg));
    emit_uint(e, "anchor_count", "anchors", pcache_segment_anchor_count(seg));
    emit_begin_list(e, "sections");
    for (uint32_t i = 0; i < seg->section_count; i++)
        describe_section(e, fs, i, 0);
    emit_end_list(e);
    emit_end(e);
}

/* ---- DynamoRIO's own parts ---- */

static void describe_md5(emitter *e, const char *key, const char *label, const uint8_t *stored,
                         const uint8_t *computed, int match)
{
    emit_begin(e, key, EMIT_BLOCK, "%s", label);
    emit_hexbytes(e, "stored", "stored", stored, PCACHE_DPC_MD5_LEN);
    emit_hexbytes(e, "computed", "computed", computed, PCACHE_DPC_MD5_LEN);
    emit_bool(e, "match", "match", match);
    emit_end(e);
}

static void describe_dr_header(emitter *e, const pcache_dpc_header *h)
{
    const pcache_dpc_module *m = &h->module;
    char names[256] = "";
    size_t len = 0;

    emit_begin(e, "header", EMIT_BLOCK, "DynamoRIO header");
    /* DR's own field names, the longest 28 bytes */
    e->label_width = 28;
    if (e->json)
        emit_hex(e, "magic", NULL, h->magic, 8);
    else
        emit_note(e, "%-28s 0x%08x (\"RIO$\")", "magic", h->magic);
    emit_uint(e, "version", "version", h->version);
    emit_size(e, "header_len", "header_len", h->header_len);
    emit_size(e, "data_len", "data_len", h->data_len);
    for (uint32_t bit = 1; bit; bit <<= 1)
        if (h->flags & bit) {
            const char *n = pcache_dpc_flag_name(bit);
            char unknown[16];
            if (!n) {
                snprintf(unknown, sizeof unknown, "0x%x", bit);
                n = unknown;
            }
            if (len < sizeof names)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", len ? "," : "", n);
        }
    if (e->json) {
        emit_uint(e, "flags", NULL, h->flags);
        emit_begin_list(e, "flag_names");
        for (uint32_t bit = 1; bit; bit <<= 1)
            if ((h->flags & bit) && pcache_dpc_flag_name(bit))
                emit_str(e, NULL, NULL, pcache_dpc_flag_name(bit));
        emit_end_list(e);
    } else {
        emit_note(e, "%-28s 0x%x (%s)", "flags", h->flags, len ? names : "none");
    }
    emit_uint(e, "build_number", "build_number", h->build_number);
    emit_begin(e, "module", EMIT_BLOCK, "module");
    emit_hex(e, "base", "base", m->base, 0);
    emit_hex(e, "checksum", "checksum", m->checksum, 8);
    emit_uint(e, "timestamp", "timestamp", m->timestamp);
    emit_size(e, "image_size", "image_size", m->image_size);
    emit_size(e, "code_size", "code_size", m->code_size);
    emit_hex(e, "file_version", "file_version", m->file_version, 0);
    emit_hexbytes(e, "full_md5", "full_md5", m->full_md5, sizeof m->full_md5);
    emit_hexbytes(e, "short_md5", "short_md5", m->short_md5, sizeof m->short_md5);
    emit_end(e);
    emit_offset(e, "start_offs", "start_offs", h->start_offs);
    emit_offset(e, "end_offs", "end_offs", h->end_offs);
    emit_offset(e, "tls_offs_base", "tls_offs_base", h->tls_offs_base);
    /* every length DR stores, in its header's order */
    emit_size(e, "instrument_rw_len", "instrument_rw_len", h->instrument_rw_len);
    emit_size(e, "stubs_len", "stubs_len", h->stubs_len);
    emit_size(e, "ibl_jmp_prefix_len", "ibl_jmp_prefix_len", h->ibl_jmp_prefix_len);
    emit_size(e, "ibl_call_prefix_len", "ibl_call_prefix_len", h->ibl_call_prefix_len);
    emit_size(e, "ibl_ret_prefix_len", "ibl_ret_prefix_len", h->ibl_ret_prefix_len);
    emit_size(e, "trace_head_return_prefix_len", "trace_head_return_prefix_len", h->trace_head_return_prefix_len);
    emit_size(e, "fcache_return_prefix_len", "fcache_return_prefix_len", h->fcache_return_prefix_len);
    emit_size(e, "cache_len", "cache_len", h->cache_len);
    emit_size(e, "post_cache_pad_len", "post_cache_pad_len", h->post_cache_pad_len);
    emit_size(e, "pad_len", "pad_len", h->pad_len);
    emit_size(e, "instrument_rx_len", "instrument_rx_len", h->instrument_rx_len);
    emit_size(e, "view_pad_len", "view_pad_len", h->view_pad_len);
    emit_size(e, "stub_htable_len", "stub_htable_len", h->stub_htable_len);
    emit_size(e, "cache_htable_len", "cache_htable_len", h->cache_htable_len);
    emit_size(e, "rct_htable_len", "rct_htable_len", h->rct_htable_len);
    emit_size(e, "rac_htable_len", "rac_htable_len", h->rac_htable_len);
    emit_size(e, "reloc_len", "reloc_len", h->reloc_len);
    emit_size(e, "instrument_ro_len", "instrument_ro_len", h->instrument_ro_len);
    emit_size(e, "option_string_len", "option_string_len", h->option_string_len);
    e->label_width = 16;
    emit_end(e);
}

void describe_dpc(emitter *e, const inspect_file *f)
{
    const pcache_dpc *d = &f->dpc;

    if (!d->have_header)
        return;
    emit_begin(e, "dr", EMIT_BLOCK, NULL);
    describe_dr_header(e, &d->header);
    if (d->have_layout) {
        const pcache_dpc_string *o = &d->option_string;
        emit_quoted(e, "option_string", "option string", o->ptr, o->len);
        if (e->json) {
            emit_begin_list(e, "client_libraries");
            for (uint32_t i = 0; i < d->client_lib_count; i++)
                emit_bytes_str(e, NULL, NULL, d->client_lib[i].ptr, d->client_lib[i].len);
            emit_end_list(e);
        } else {
            emit_uint(e, "client_library_count", "client libraries", d->client_lib_count);
            for (uint32_t i = 0; i < d->client_lib_count; i++) {
                char label[24];
                snprintf(label, sizeof label, "  client %u", i);
                emit_bytes_str(e, NULL, label, d->client_lib[i].ptr, d->client_lib[i].len);
            }
        }
        emit_size(e, "client_list_len", "client list len", d->client_list_len);

        emit_begin_list(e, "client_slots");
        emit_note(e, "client slots (DR's client list excluded; the bytes are the dr:ro, dr:rx, dr:rw sections)");
        for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
            static const pcache_dpc_region_id region[PCACHE_CLASS_COUNT] = {
                PCACHE_DPC_R_CLIENT_RO, PCACHE_DPC_R_CLIENT_RX, PCACHE_DPC_R_CLIENT_RW};
            const pcache_dpc_span *r = &d->region[region[c]];
            emit_begin(e, NULL, EMIT_LINE, "  dr:%s", pcache_class_name((pcache_class)c));
            if (e->json) {
                emit_str(e, "class", NULL, pcache_class_name((pcache_class)c));
                emit_str(e, "name", NULL, c == 0 ? "dr:ro" : c == 1 ? "dr:rx" : "dr:rw");
            }
            emit_offset(e, "file_offset", "file_offset", d->client_data[c].offset);
            emit_size(e, "size", "size", d->client_data[c].size);
            emit_offset(e, "region_offset", "region_offset", r->offset);
            emit_size(e, "region_size", "region_size", r->size);
            emit_end(e);
        }
        emit_end_list(e);

        emit_begin_list(e, "regions");
        emit_note(e, "regions (file order)");
        for (int i = 0; i < PCACHE_DPC_REGION_COUNT; i++) {
            emit_begin(e, NULL, EMIT_LINE, "  %-24s", pcache_dpc_region_name((pcache_dpc_region_id)i));
            if (e->json)
                emit_str(e, "name", NULL, pcache_dpc_region_name((pcache_dpc_region_id)i));
            emit_offset(e, "file_offset", "offset", d->region[i].offset);
            emit_size(e, "size", "size", d->region[i].size);
            emit_end(e);
        }
        emit_end_list(e);
    }
    if (d->have_digests) {
        emit_begin(e, "footer", EMIT_BLOCK, "footer");
        emit_offset(e, "file_offset", "file offset", d->region[PCACHE_DPC_R_FOOTER].offset);
        emit_hex(e, "magic", "magic", d->footer_magic, 8);
        describe_md5(e, "file_md5", "file MD5", d->stored_file_md5, d->computed_file_md5, d->file_md5_matches);
        describe_md5(e, "header_md5", "header MD5", d->stored_header_md5, d->computed_header_md5,
                     d->header_md5_matches);
        emit_end(e);
    }
    emit_end(e);
}

/* ---- the subcommands ---- */

static void describe_standalone_header(emitter *e, const inspect_file *f)
{
    const pcache_image *img = &f->img;
    if (e->json) {
        emit_begin(e, "header", EMIT_BLOCK, NULL);
        emit_uint(e, "format_major", NULL, img->format_major);
        emit_uint(e, "format_minor", NULL, img->format_minor);
    } else {
        char format[16];
        snprintf(format, sizeof format, "%u.%u", img->format_major, img->format_minor);
        emit_str(e, "format", "format", format);
    }
    emit_uint(e, "page_size", "page size", img->page_size);
    emit_str(e, "checksum_algorithm", "checksum", checksum_name(img->checksum));
    emit_hexbytes(e, "image_id", "image id", img->image_id, sizeof img->image_id);
    emit_size(e, "file_size", "file size", img->size);
    if (e->json)
        emit_end(e);
}

int cmd_info(const inspect_args *a)
{
    inspect_file f;
    emitter e;
    char heading[4200];
    int rc = inspect_file_load(&f, a->path), valid;

    if (rc != EXIT_VALID) {
        inspect_file_free(&f);
        return rc;
    }
    valid = inspect_file_valid(&f);
    /* a .dpc file is shown as far as it could be read: which digest
     * failed, which candidate was refused, is what a reader wants */
    if (!valid && !(f.kind == KIND_DPC && f.dpc.have_header)) {
        rc = report_invalid(&f, "info", a->json);
        inspect_file_free(&f);
        return finish_output(rc);
    }
    emit_init(&e, stdout, a->json);
    snprintf(heading, sizeof heading, "file '%s': %s, %llu bytes", f.path,
             f.kind == KIND_PCACHE ? "standalone pcache file" : "DynamoRIO persisted cache (.dpc)",
             (unsigned long long)f.size);
    emit_document_begin(&e, &f, "info", heading);
    if (f.kind == KIND_PCACHE)
        describe_standalone_header(&e, &f);
    else
        describe_dpc(&e, &f);
    emit_uint(&e, "section_count", "sections", inspect_section_count(&f));
    emit_uint(&e, "segment_count", "pcache segments", f.seg_count);
    emit_begin_list(&e, "segments");
    for (size_t i = 0; i < f.seg_count; i++)
        describe_segment(&e, &f, &f.segs[i]);
    emit_end_list(&e);
    if (f.kind == KIND_DPC && e.json)
        emit_uint(&e, "refused_not_listed", NULL, f.refused_not_listed);
    else if (f.refused_not_listed)
        emit_note(&e, "... and %zu more refused segment candidates, not listed (only the first %u are)",
                  f.refused_not_listed, INSPECT_MAX_REFUSED);
    if (e.json && !valid) {
        emit_begin_list(&e, "problems");
        emit_problem(&e, &f.verdict);
        emit_end_list(&e);
    }
    emit_end(&e);
    if (!valid)
        fprintf(stderr, "%s: '%s' is invalid: %s [%s]\n", PROG, f.path, f.verdict.message,
                pcache_status_name(f.verdict.status));
    inspect_file_free(&f);
    return finish_output(valid ? EXIT_VALID : EXIT_INVALID);
}

int cmd_sections(const inspect_args *a)
{
    inspect_file f;
    emitter e;
    int rc = inspect_file_load(&f, a->path);

    if (rc != EXIT_VALID) {
        inspect_file_free(&f);
        return rc;
    }
    if (!inspect_file_valid(&f)) {
        rc = report_invalid(&f, "sections", a->json);
        inspect_file_free(&f);
        return finish_output(rc);
    }
    emit_init(&e, stdout, a->json);
    emit_document_begin(&e, &f, "sections", NULL);
    emit_begin_list(&e, "sections");
    for (size_t k = 0; k < f.seg_count; k++)
        for (uint32_t i = 0; i < f.segs[k].seg.section_count; i++)
            describe_section(&e, &f.segs[k], i, 1);
    emit_end_list(&e);
    if (f.kind == KIND_DPC) {
        emit_begin_list(&e, "dr_slots");
        for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
            char name[8];
            snprintf(name, sizeof name, "dr:%s", pcache_class_name((pcache_class)c));
            emit_begin(&e, NULL, EMIT_LINE, "%-24s", name);
            if (e.json) {
                emit_str(&e, "qualified_name", NULL, name);
                emit_str(&e, "class", NULL, pcache_class_name((pcache_class)c));
            }
            emit_offset(&e, "file_offset", "file_offset", f.dpc.client_data[c].offset);
            emit_size(&e, "size", "size", f.dpc.client_data[c].size);
            emit_end(&e);
        }
        emit_end_list(&e);
    }
    emit_end(&e);
    inspect_file_free(&f);
    return finish_output(EXIT_VALID);
}
