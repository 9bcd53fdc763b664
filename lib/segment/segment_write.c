/* SPDX-License-Identifier: BSD-2-Clause */
/* Building an image and persisting one class as a segment: the size and
 * persist entry points that mirror DynamoRIO's callbacks. */
#include <stdlib.h>
#include <string.h>

#include "aligned_mem.h"
#include "builder.h"
#include "bytes.h"
#include "checksum.h"
#include "format.h"
#include "reloc_build.h"
#include "report.h"
#include "sink.h"

/* Writes are staged so that the header, table and small sections reach the
 * sink (possibly a system call per write) in few large pieces. */
#define STAGE_SIZE 8192u
/* Section bytes are hashed and written in chunks small enough to stay in
 * cache between the two. */
#define CHUNK_SIZE (64u * 1024u)

struct pcache_writer {
    const pcache_sink *sink;
    /* The segment's bytes in the sink's buffer, claimed whole, when the
     * sink is the library's buffer sink: every byte is stored there
     * directly (no stage, no sink calls); else NULL. */
    uint8_t *direct;
    uint64_t capacity;     /* of direct */
    uint64_t total;        /* bytes accepted for the segment so far */
    uint64_t remaining;    /* bytes the current produced section may still write */
    uint64_t attempted;    /* bytes the current producer tried to write */
    checksum_state *hash;  /* current section's checksum, or NULL */
    int sink_errno;
    pcache_status err;
    /* patch sites of the current section not yet fully emitted, and how
     * far into the section emission is (reloc_write.c computed the bytes) */
    const reloc_site *site, *site_end;
    uint64_t sec_pos;
    size_t staged;
    uint8_t *stage; /* STAGE_SIZE bytes, without direct */
};

/* What persist needs besides the builder's own state, allocated at the
 * first persist that needs it and kept until the builder is freed, so
 * that persisting allocates nothing after that: a hash state (64-byte
 * aligned) and the stage of writes to other sinks.  Off the stack, which
 * is small in DynamoRIO's client threads. */
struct persist_scratch {
    checksum_state hash;
    uint8_t stage[STAGE_SIZE];
};

static struct persist_scratch *persist_scratch(pcache_builder *b)
{
    if (!b->scratch)
        b->scratch = aligned_mem_alloc(sizeof *b->scratch);
    return b->scratch;
}

pcache_status pcache_builder_new(pcache_builder **out, const pcache_identity *id)
{
    pcache_builder *b;
    size_t len;

    if (!out || !id)
        return PCACHE_E_INVALID_ARGUMENT;
    *out = NULL;
    len = strnlen(id->client_name, sizeof id->client_name);
    if (len == 0 || len > PCACHE_CLIENT_NAME_MAX)
        return PCACHE_E_CLIENT_NAME;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)id->client_name[i] < 0x20 || (unsigned char)id->client_name[i] > 0x7e)
            return PCACHE_E_CLIENT_NAME;
    if (!is_pow2_u64(id->page_size) || id->page_size < PAGE_SIZE_MIN || id->page_size > PAGE_SIZE_MAX ||
        (id->byte_order != PCACHE_LITTLE_ENDIAN && id->byte_order != PCACHE_BIG_ENDIAN) ||
        (id->pointer_size != 4 && id->pointer_size != 8) || !checksum_algorithm_known(id->checksum) ||
        id->module_digest_len > PCACHE_MODULE_DIGEST_MAX)
        return PCACHE_E_INVALID_ARGUMENT;
    b = calloc(1, sizeof *b);
    if (!b)
        return PCACHE_E_NO_MEMORY;
    b->id = *id;
    /* Bytes past the digest length and the name's NUL are written as zero. */
    memset(b->id.module_digest + id->module_digest_len, 0,
           PCACHE_MODULE_DIGEST_MAX - id->module_digest_len);
    memset(b->id.client_name + len, 0, sizeof b->id.client_name - len);
    report_clear(&b->report);
    *out = b;
    return PCACHE_OK;
}

void pcache_builder_free(pcache_builder *b)
{
    if (!b)
        return;
    deflate_builder_free(b);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        free(b->cls[c].sec);
    reloc_builder_free(b);
    aligned_mem_free(b->scratch);
    free(b);
}

const pcache_identity *pcache_builder_identity(const pcache_builder *b)
{
    return b ? &b->id : NULL;
}

const pcache_report *pcache_builder_report(const pcache_builder *b)
{
    return b ? &b->report : NULL;
}

uint32_t pcache_builder_section_count(const pcache_builder *b, pcache_class cls)
{
    if (!b || (unsigned)cls >= PCACHE_CLASS_COUNT)
        return 0;
    return b->cls[cls].n - b->cls[cls].lib;
}

static pcache_status add_section(pcache_builder *b, pcache_class cls, const char *name,
                                 uint16_t type, const void *data, uint64_t size,
                                 uint32_t align, uint32_t flags, pcache_produce_fn produce,
                                 void *ctx)
{
    class_state *cs;
    section_src *s;
    size_t len;
    pcache_status st;

    if (!b)
        return PCACHE_E_INVALID_ARGUMENT;
    report_clear(&b->report);
    if ((unsigned)cls >= PCACHE_CLASS_COUNT || (flags & ~SECTION_FLAGS_KNOWN) ||
        (!data && !produce && size > 0))
        return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, (unsigned)cls < PCACHE_CLASS_COUNT ? (int)cls : -1,
                           NULL, 0, 0, 0, 0, "invalid class, flags or data pointer");
    if (!section_name_valid(name, &len))
        return report_fail(&b->report, PCACHE_E_SECTION_NAME, cls, NULL, 0, 0, 0, 0,
                           "section name must be 1 to %u printable ASCII bytes without spaces",
                           PCACHE_SECTION_NAME_MAX);
    if (name[0] == '.')
        return report_fail(&b->report, PCACHE_E_SECTION_NAME, cls, name, 0, 0, 0, 0,
                           "section names starting with '.' are reserved for the library");
    if (type == PCACHE_TYPE_RELOCS || type == PCACHE_TYPE_ANCHORS || type == PCACHE_TYPE_CRELOCS)
        return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, cls, name, 0, 0, 0, 0,
                           "section type %u is the library's (relocations)", type);
    if (!is_pow2_u64(align) || align > b->id.page_size)
        return report_fail(&b->report, PCACHE_E_ALIGNMENT, cls, name, 0, 1, b->id.page_size, align,
                           "alignment must be a power of two no larger than the page size");
    cs = &b->cls[cls];
    /* The library's sections are appended again by the next size(). */
    cs->n -= cs->lib;
    cs->lib = 0;
    for (uint32_t i = 0; i < cs->n; i++)
        if (strcmp(cs->sec[i].name, name) == 0)
            return report_fail(&b->report, PCACHE_E_DUPLICATE_SECTION, cls, name, 0, 0, 0, 0,
                               "a section of this name already exists in the class");
    if ((st = builder_push_section(b, cls, name, &s)) != PCACHE_OK)
        return st;
    memcpy(s->name, name, len);
    s->type = type;
    s->flags = (uint16_t)flags;
    s->align = align;
    s->data = data;
    s->size = size;
    s->produce = produce;
    s->ctx = ctx;
    cs->sized = 0; /* the layout must be computed again */
    return PCACHE_OK;
}

pcache_status pcache_builder_add(pcache_builder *b, pcache_class cls, const char *name,
                                 const void *data, uint64_t size, uint32_t align, uint32_t flags)
{
    return add_section(b, cls, name, PCACHE_TYPE_DATA, data, size, align, flags, NULL, NULL);
}

pcache_status pcache_builder_add_produced(pcache_builder *b, pcache_class cls, const char *name,
                                          uint64_t size, uint32_t align, uint32_t flags,
                                          pcache_produce_fn produce, void *ctx)
{
    if (!produce)
        return PCACHE_E_INVALID_ARGUMENT;
    return add_section(b, cls, name, PCACHE_TYPE_DATA, NULL, size, align, flags, produce, ctx);
}

pcache_status pcache_builder_add_typed(pcache_builder *b, pcache_class cls, const char *name,
                                       uint16_t type, const void *data, uint64_t size,
                                       uint32_t align, uint32_t flags)
{
    return add_section(b, cls, name, type, data, size, align, flags, NULL, NULL);
}

pcache_status pcache_builder_set_segment_flags(pcache_builder *b, pcache_class cls, uint32_t flags)
{
    if (!b || (unsigned)cls >= PCACHE_CLASS_COUNT || (flags & ~SEG_FLAGS_KNOWN))
        return PCACHE_E_INVALID_ARGUMENT;
    b->cls[cls].seg_flags = flags;
    b->cls[cls].sized = 0;
    return PCACHE_OK;
}

pcache_status builder_layout(pcache_builder *b, pcache_class cls, uint64_t file_offs)
{
    class_state *cs = &b->cls[cls];
    pcache_status st = PCACHE_OK;
    uint32_t bad = 0;

    cs->sized = 0;
    if ((st = reloc_size_class(b, cls)) != PCACHE_OK)
        return st;
    if ((st = deflate_size_class(b, cls)) != PCACHE_OK)
        return st;
    if (cs->n == 0) {
        memset(&cs->lay, 0, sizeof cs->lay);
        cs->file_offs = file_offs;
        cs->sized = 1;
        return PCACHE_OK;
    }
    /* layout_item is filled per section from section_src: on the stack
     * for the few sections of most segments. */
    {
        layout_item few[16];
        layout_item *items = cs->n <= 16 ? few : malloc(cs->n * sizeof *items);
        if (!items)
            return PCACHE_E_NO_MEMORY;
        for (uint32_t i = 0; i < cs->n; i++) {
            items[i].align = cs->sec[i].align;
            items[i].stored_size = section_stored_size(&cs->sec[i]);
        }
        st = layout_segment(file_offs, items, cs->n, cs->seg_flags & PCACHE_SEGMENT_PAGE_ROUNDED,
                            b->id.page_size, &cs->lay, &bad);
        if (st == PCACHE_OK)
            for (uint32_t i = 0; i < cs->n; i++)
                cs->sec[i].offset = items[i].offset;
        if (items != few)
            free(items);
    }
    if (st != PCACHE_OK)
        return report_fail(&b->report, st, cls, bad < cs->n ? cs->sec[bad].name : NULL, file_offs, 0, 0,
                           0, "segment laid out at this file offset would end past 2^64");
    cs->file_offs = file_offs;
    cs->sized = 1;
    return PCACHE_OK;
}

pcache_status pcache_builder_size(pcache_builder *b, pcache_class cls, uint64_t file_offs,
                                  uint64_t *size)
{
    pcache_status st;
    if (!b || (unsigned)cls >= PCACHE_CLASS_COUNT || !size)
        return PCACHE_E_INVALID_ARGUMENT;
    report_clear(&b->report);
    st = builder_layout(b, cls, file_offs);
    if (st != PCACHE_OK)
        return st;
    *size = b->cls[cls].lay.segment_size;
    return PCACHE_OK;
}

pcache_status pcache_builder_section_file_offset(const pcache_builder *b, pcache_class cls,
                                                 const char *name, uint64_t *file_offs)
{
    const class_state *cs;
    if (!b || (unsigned)cls >= PCACHE_CLASS_COUNT || !name || !file_offs)
        return PCACHE_E_INVALID_ARGUMENT;
    cs = &b->cls[cls];
    if (!cs->sized)
        return PCACHE_E_STATE;
    for (uint32_t i = 0; i < cs->n; i++)
        if (strcmp(cs->sec[i].name, name) == 0) {
            *file_offs = cs->file_offs + cs->sec[i].offset; /* cannot wrap: layout checked */
            return PCACHE_OK;
        }
    return PCACHE_E_NOT_FOUND;
}

pcache_status pcache_builder_section_relocated(const pcache_builder *b, pcache_class cls, const char *name,
                                               int *relocated)
{
    const class_state *cs;
    uint32_t i;

    if (!b || (unsigned)cls >= PCACHE_CLASS_COUNT || !name || !relocated)
        return PCACHE_E_INVALID_ARGUMENT;
    cs = &b->cls[cls];
    for (i = 0; i < cs->n && strcmp(cs->sec[i].name, name) != 0; i++)
        ;
    if (i == cs->n)
        return PCACHE_E_NOT_FOUND;
    *relocated = 0;
    for (size_t k = 0; k < b->npatches; k++) {
        const patch_src *p = &b->patches[k];
        /* a record: an anchor, or an absolute address of a section */
        if (p->cls == cls && p->site_index == i &&
            (p->target_kind == PCACHE_TARGET_ANCHOR ||
             p->kind == PCACHE_RELOC_ABS32 || p->kind == PCACHE_RELOC_ABS64))
            *relocated = 1;
    }
    return PCACHE_OK;
}

/* ---- encoding ---- */

static void encode_entry(const section_src *s, uint8_t e[SEG_ENTRY_SIZE])
{
    /* the name field as it is stored: NUL-padded (builder.h) */
    memcpy(e + SE_NAME, s->name, SE_NAME_SIZE);
    st16(e + SE_TYPE, s->type);
    st16(e + SE_FLAGS, (uint16_t)(s->flags | (s->compress ? PCACHE_SECTION_COMPRESSED : 0)));
    st32(e + SE_ALIGN, s->align);
    st64(e + SE_OFFSET, s->offset);
    st64(e + SE_STORED_SIZE, section_stored_size(s));
    st64(e + SE_SIZE, s->size);
}

static void encode_segment_header(const pcache_identity *id, pcache_class cls, uint32_t seg_flags,
                                  uint32_t n, uint64_t file_offs, const layout_result *lay,
                           uint64_t table_checksum, uint16_t minor, uint8_t h[SEG_HEADER_SIZE])
{
    /* every byte is stored below but the reserved ones: no memset of the
     * whole header, which compilers inline as a slow rep stos */
    memset(h + SH_RESERVED, 0, SH_RESERVED_SIZE);
    memcpy(h + SH_MAGIC, SEG_MAGIC, SEG_MAGIC_SIZE);
    st16(h + SH_MAJOR, PCACHE_FORMAT_MAJOR);
    st16(h + SH_MINOR, minor);
    st16(h + SH_HEADER_SIZE, SEG_HEADER_SIZE);
    st16(h + SH_ENTRY_SIZE, SEG_ENTRY_SIZE);
    h[SH_CLASS] = (uint8_t)(cls + 1);
    h[SH_CHECKSUM] = (uint8_t)id->checksum;
    h[SH_BYTE_ORDER] = id->byte_order;
    h[SH_POINTER_SIZE] = id->pointer_size;
    st16(h + SH_ARCH, id->arch);
    st16(h + SH_FLAGS, (uint16_t)seg_flags);
    st32(h + SH_PAGE_SIZE, id->page_size);
    st32(h + SH_SECTION_COUNT, n);
    st64(h + SH_FILE_OFFSET, file_offs);
    st64(h + SH_SEGMENT_SIZE, lay->segment_size);
    st64(h + SH_TRAILER_OFFSET, lay->trailer_offset);
    memcpy(h + SH_IMAGE_ID, id->image_id, PCACHE_IMAGE_ID_SIZE);
    st32(h + SH_CLIENT_VERSION, id->client_version);
    st32(h + SH_DIGEST_LEN, id->module_digest_len);
    st64(h + SH_MODULE_BASE, id->module_base);
    st64(h + SH_MODULE_SIZE, id->module_size);
    /* both NUL- or zero-padded by pcache_builder_new(): stored whole */
    memcpy(h + SH_MODULE_DIGEST, id->module_digest, PCACHE_MODULE_DIGEST_MAX);
    memcpy(h + SH_CLIENT_NAME, id->client_name, PCACHE_CLIENT_NAME_MAX + 1);
    st64be(h + SH_TABLE_CHECKSUM, table_checksum);
    st64be(h + SH_HEADER_CHECKSUM, pcache_checksum(id->checksum, h, SH_HEADER_CHECKSUM));
}

/* ---- the staged writer ---- */

static int stage_flush(pcache_writer *w)
{
    if (w->staged && !w->err) {
        int e = w->sink->write(w->sink->ctx, w->stage, w->staged);
        if (e) {
            w->sink_errno = e;
            w->err = PCACHE_E_SINK;
        }
    }
    w->staged = 0;
    return w->err ? -1 : 0;
}

/* Emits bytes to the sink (hashing them if a section is open). */
static int emit(pcache_writer *w, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    if (w->err)
        return -1;
    if (w->direct) {
        if (len > w->capacity - w->total) { /* not for a segment of the size laid out */
            w->err = PCACHE_E_PERSIST_SIZE;
            return -1;
        }
        if (w->hash)
            checksum_update_copy(w->hash, w->direct + w->total, p, len);
        else
            memcpy(w->direct + w->total, p, len);
        w->total += len;
        return 0;
    }
    while (len > 0) {
        size_t n = len > CHUNK_SIZE ? CHUNK_SIZE : len;
        /* Section bytes bound for memory: hash and copy them in one pass
         * (checksum_update_copy), straight into the sink's buffer. */
        if (w->hash && n > STAGE_SIZE / 2 && sink_is_buffer(w->sink)) {
            uint8_t *direct;
            if (stage_flush(w))
                return -1;
            if ((direct = sink_buffer_claim(w->sink, n)) != NULL) {
                checksum_update_copy(w->hash, direct, p, n);
                w->total += n;
                p += n;
                len -= n;
                continue;
            }
        }
        if (w->hash)
            checksum_update(w->hash, p, n);
        if (w->staged + n <= STAGE_SIZE) {
            memcpy(w->stage + w->staged, p, n);
            w->staged += n;
        } else {
            if (stage_flush(w))
                return -1;
            if (n <= STAGE_SIZE / 2) {
                memcpy(w->stage, p, n);
                w->staged = n;
            } else {
                int e = w->sink->write(w->sink->ctx, p, n);
                if (e) {
                    w->sink_errno = e;
                    w->err = PCACHE_E_SINK;
                    return -1;
                }
            }
        }
        w->total += n;
        p += n;
        len -= n;
    }
    return 0;
}

static int emit_zeros(pcache_writer *w, uint64_t n)
{
    static const uint8_t zeros[4096];
    while (n > 0) {
        size_t k = n > sizeof zeros ? sizeof zeros : (size_t)n;
        if (emit(w, zeros, k))
            return -1;
        n -= k;
    }
    return 0;
}

/* Emits section bytes, replacing each patch site's field by the bytes
 * computed for it, so that the client's memory is never modified.  A
 * field may straddle two calls: emission resumes inside it. */
static int emit_section(pcache_writer *w, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0 && w->site != w->site_end) {
        const reloc_site *s = w->site;
        size_t k;
        if (w->sec_pos < s->offset) {
            k = s->offset - w->sec_pos < len ? (size_t)(s->offset - w->sec_pos) : len;
            if (emit(w, p, k))
                return -1;
        } else {
            uint64_t in = w->sec_pos - s->offset;
            k = s->width - in < len ? (size_t)(s->width - in) : len;
            if (emit(w, s->bytes + in, k))
                return -1;
            if (in + k == s->width)
                w->site++;
        }
        p += k;
        len -= k;
        w->sec_pos += k;
    }
    if (len > 0) {
        w->sec_pos += len;
        return emit(w, p, len);
    }
    return 0;
}

pcache_status pcache_writer_write(pcache_writer *w, const void *buf, size_t len)
{
    if (!w || (!buf && len))
        return PCACHE_E_INVALID_ARGUMENT;
    w->attempted += len;
    if (w->err)
        return w->err;
    if (len > w->remaining) {
        w->err = PCACHE_E_PERSIST_SIZE;
        return w->err;
    }
    w->remaining -= len;
    return emit_section(w, buf, len) ? w->err : PCACHE_OK;
}

/* One section's bytes through the writer, hashed on the way (emit),
 * replacing the fields of its patch sites; a producer writes through
 * pcache_writer_write().  sites, nsites: the class's sites from this
 * section on. */
static pcache_status emit_section_bytes(pcache_builder *b, pcache_class cls, pcache_writer *w, checksum_state *hash,
                                        uint32_t i, const reloc_site **sites, size_t *nsites)
{
    section_src *s = &b->cls[cls].sec[i];

    checksum_reset(hash, b->id.checksum);
    w->hash = hash;
    while (*nsites > 0 && (*sites)->section < i)
        (*sites)++, (*nsites)--;
    w->site = w->site_end = *sites;
    /* counted, not compared with sites + nsites: sites is NULL when the
     * class has no patch, and NULL + 0 is undefined */
    for (size_t k = 0; k < *nsites && (*sites)[k].section == i; k++)
        w->site_end++;
    w->sec_pos = 0;
    if (s->produce) {
        int rc;
        w->remaining = s->size;
        w->attempted = 0;
        rc = s->produce(s->ctx, w);
        /* A producer that gives up has written less than promised: its
         * failure is the cause to report, unless it gave up because it had
         * written too much. */
        if (w->err == PCACHE_E_PERSIST_SIZE || (!w->err && rc == 0 && w->attempted != s->size))
            return report_fail(&b->report, PCACHE_E_PERSIST_SIZE, cls, s->name, s->offset, 1, s->size, w->attempted,
                               "producer wrote other than the promised section size");
        if (!w->err && rc != 0)
            return report_fail(&b->report, PCACHE_E_SINK, cls, s->name, s->offset, 0, 0, 0,
                               "section producer failed with %d", rc);
        w->remaining = 0;
    } else if (s->compress) {
        emit(w, s->zdata, (size_t)s->zsize); /* never a patch site */
    } else {
        emit_section(w, s->data, s->size);
    }
    w->hash = NULL;
    w->site = w->site_end = NULL;
    s->checksum = checksum_digest(hash);
    return PCACHE_OK;
}

/* Persist into the library's buffer sink, which has room for the whole
 * segment at dst: every byte stored in place, the table encoded once
 * there and hashed there, each section copied and hashed in one pass
 * (oneshot_copy; streamed only when a producer writes it or patch sites
 * change it), gaps zeroed only where there are any.  What the fixed cost
 * of a small segment was made of is in docs/PERFORMANCE.md. */
static pcache_status persist_direct(pcache_builder *b, pcache_class cls, uint8_t *dst, const reloc_site *sites,
                                    size_t nsites)
{
    class_state *cs = &b->cls[cls];
    pcache_checksum_algorithm algo = b->id.checksum;
    const checksum_xxh3_choice *paths = algo == PCACHE_CHECKSUM_XXH3_64 ? checksum_xxh3_choice_now() : NULL;
    pcache_writer w;
    uint64_t table_bytes = (uint64_t)SEG_ENTRY_SIZE * cs->n, cursor = SEG_HEADER_SIZE + table_bytes;
    uint8_t *trailer = dst + cs->lay.trailer_offset;
    uint16_t minor = 0;
    pcache_status st;

    for (uint32_t i = 0; i < cs->n; i++) {
        encode_entry(&cs->sec[i], dst + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i);
        /* class_format_minor(), in the same pass */
        if (cs->sec[i].type == PCACHE_TYPE_CRELOCS)
            minor = FORMAT_MINOR_CRELOCS;
        else if (cs->sec[i].compress && minor < FORMAT_MINOR_COMPRESSED)
            minor = FORMAT_MINOR_COMPRESSED;
    }
    encode_segment_header(&b->id, cls, cs->seg_flags, cs->n, cs->file_offs, &cs->lay,
                          paths ? paths->oneshot[checksum_xxh3_size_class((size_t)table_bytes)]->oneshot(
                                      dst + SEG_HEADER_SIZE, (size_t)table_bytes)
                                : pcache_checksum(algo, dst + SEG_HEADER_SIZE, (size_t)table_bytes),
                          minor, dst);

    for (uint32_t i = 0; i < cs->n; i++) {
        section_src *s = &cs->sec[i];
        const void *src = s->compress ? (const void *)s->zdata : s->data;
        size_t len = (size_t)(s->compress ? s->zsize : s->size);
        uint8_t *to = dst + s->offset;

        if (s->offset != cursor) /* layout: offset >= cursor */
            memset(dst + cursor, 0, (size_t)(s->offset - cursor));
        cursor = s->offset + len;
        while (nsites > 0 && sites->section < i)
            sites++, nsites--;
        if (s->produce || (nsites > 0 && sites->section == i)) {
            struct persist_scratch *scratch = persist_scratch(b);
            if (!scratch)
                return PCACHE_E_NO_MEMORY;
            memset(&w, 0, sizeof w);
            w.direct = dst;
            w.capacity = cs->lay.segment_size;
            w.total = s->offset;
            if ((st = emit_section_bytes(b, cls, &w, &scratch->hash, i, &sites, &nsites)) != PCACHE_OK)
                return st;
            if (w.err)
                return w.err;
        } else if (paths) {
            s->checksum = paths->copy[checksum_xxh3_size_class(len)]->oneshot_copy(to, src, len);
        } else {
            if (len) /* src may be NULL for an empty section */
                memcpy(to, src, len);
            s->checksum = pcache_checksum(algo, to, len);
        }
        st64be(trailer + (uint64_t)SEG_TRAILER_ENTRY_SIZE * i + ST_STORED_CHECKSUM, s->checksum);
        st64be(trailer + (uint64_t)SEG_TRAILER_ENTRY_SIZE * i + ST_RAW_CHECKSUM, s->compress ? s->raw_checksum : 0);
    }
    if (cs->lay.trailer_offset != cursor)
        memset(dst + cursor, 0, (size_t)(cs->lay.trailer_offset - cursor));
    if (cs->lay.segment_size != cs->lay.trailer_end)
        memset(dst + cs->lay.trailer_end, 0, (size_t)(cs->lay.segment_size - cs->lay.trailer_end));
    return PCACHE_OK;
}

pcache_status pcache_builder_persist(pcache_builder *b, pcache_class cls, const pcache_sink *sink)
{
    class_state *cs;
    pcache_writer w;
    checksum_state *hash;
    struct persist_scratch *scratch;
    uint8_t buf[SEG_HEADER_SIZE];
    uint8_t *dst;
    pcache_status st = PCACHE_OK;
    uint64_t table_sum;
    const reloc_site *sites = NULL;
    size_t nsites = 0;

    if (!b || (unsigned)cls >= PCACHE_CLASS_COUNT || !sink || !sink->write)
        return PCACHE_E_INVALID_ARGUMENT;
    report_clear(&b->report);
    cs = &b->cls[cls];
    if (!cs->sized)
        return report_fail(&b->report, PCACHE_E_STATE, cls, NULL, 0, 0, 0, 0,
                           "persist called before size for this class");
    if (cs->n == 0)
        return PCACHE_OK;
    /* Every site's bytes are computed before the first byte is written, so
     * that a reference that does not reach fails the persist cleanly. */
    if ((st = reloc_persist_class(b, cls, &sites, &nsites)) != PCACHE_OK)
        return st;

    if (sink_is_buffer(sink) && cs->lay.segment_size <= SIZE_MAX &&
        (dst = sink_buffer_claim(sink, (size_t)cs->lay.segment_size)) != NULL) {
        if ((st = persist_direct(b, cls, dst, sites, nsites)) != PCACHE_OK)
            sink_buffer_unclaim(sink, (size_t)cs->lay.segment_size);
        return st;
    }

    if (!(scratch = persist_scratch(b)))
        return PCACHE_E_NO_MEMORY;
    hash = &scratch->hash;
    memset(&w, 0, sizeof w);
    w.sink = sink;
    w.stage = scratch->stage;

    /* The table checksum goes into the header, so the table is encoded
     * twice: once to hash it, once to write it.  It is small. */
    checksum_reset(hash, b->id.checksum);
    for (uint32_t i = 0; i < cs->n; i++) {
        encode_entry(&cs->sec[i], buf);
        checksum_update(hash, buf, SEG_ENTRY_SIZE);
    }
    table_sum = checksum_digest(hash);
    encode_segment_header(&b->id, cls, cs->seg_flags, cs->n, cs->file_offs, &cs->lay, table_sum,
                          class_format_minor(cs), buf);
    emit(&w, buf, SEG_HEADER_SIZE);
    for (uint32_t i = 0; i < cs->n; i++) {
        encode_entry(&cs->sec[i], buf);
        emit(&w, buf, SEG_ENTRY_SIZE);
    }

    for (uint32_t i = 0; i < cs->n && !w.err; i++) {
        emit_zeros(&w, cs->sec[i].offset - w.total);
        if ((st = emit_section_bytes(b, cls, &w, hash, i, &sites, &nsites)) != PCACHE_OK)
            break;
    }
    if (st == PCACHE_OK && !w.err) {
        emit_zeros(&w, cs->lay.trailer_offset - w.total);
        for (uint32_t i = 0; i < cs->n; i++) {
            uint8_t t[SEG_TRAILER_ENTRY_SIZE] = {0};
            st64be(t + ST_STORED_CHECKSUM, cs->sec[i].checksum);
            if (cs->sec[i].compress)
                st64be(t + ST_RAW_CHECKSUM, cs->sec[i].raw_checksum);
            emit(&w, t, sizeof t);
        }
        emit_zeros(&w, cs->lay.segment_size - w.total);
        stage_flush(&w);
    }
    if (st == PCACHE_OK && w.err == PCACHE_E_SINK)
        st = report_fail(&b->report, PCACHE_E_SINK, cls, NULL, w.total, 0, 0, 0,
                         "sink write failed (error %d)", w.sink_errno);
    if (st == PCACHE_OK && w.err)
        st = w.err;
    if (st == PCACHE_OK && w.total != cs->lay.segment_size)
        st = report_fail(&b->report, PCACHE_E_PERSIST_SIZE, cls, NULL, 0, 1, cs->lay.segment_size,
                         w.total, "segment written differs from the size promised");
    if (st == PCACHE_E_SINK)
        b->report.sys_errno = w.sink_errno;
    return st;
}
