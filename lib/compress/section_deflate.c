/* SPDX-License-Identifier: BSD-2-Clause */
/* Writing compressed sections: which sections may be stored as a zlib
 * stream, and deflating them at size time, so that the layout knows their
 * stored sizes.  docs/FORMAT.md 3.8. */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "builder.h"
#include "format.h"
#include "report.h"

pcache_status pcache_builder_set_compression(pcache_builder *b, pcache_class cls, const char *name, int level)
{
    class_state *cs;

    if (!b)
        return PCACHE_E_INVALID_ARGUMENT;
    report_clear(&b->report);
    if ((unsigned)cls >= PCACHE_CLASS_COUNT || !name)
        return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, 0, 0, 0, 0,
                           "compression: unknown class or NULL section name");
    if (level < Z_DEFAULT_COMPRESSION || level > Z_BEST_COMPRESSION)
        return report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, cls, name, 0, 0, 0, 0,
                           "compression level %d is not 0 to 9 or PCACHE_COMPRESS_DEFAULT (-1)", level);
    if (name[0] == '.')
        return report_fail(&b->report, PCACHE_E_NOT_COMPRESSIBLE, cls, name, 0, 0, 0, 0,
                           "the library's relocation sections are never compressed: "
                           "the loader patches through them in place");
    /* Code runs and writable data is written where the segment is mapped:
     * an inflated copy elsewhere would be neither. */
    if (cls != PCACHE_RO)
        return report_fail(&b->report, PCACHE_E_NOT_COMPRESSIBLE, cls, name, 0, 0, 0, 0,
                           "only ro sections may be compressed; %s sections are used in place, "
                           "where the segment is mapped",
                           pcache_class_name(cls));
    cs = &b->cls[cls];
    for (uint32_t i = 0; i < cs->n - cs->lib; i++) {
        section_src *s = &cs->sec[i];
        if (strcmp(s->name, name) != 0)
            continue;
        if (s->produce)
            return report_fail(&b->report, PCACHE_E_NOT_COMPRESSIBLE, cls, name, 0, 0, 0, 0,
                               "a produced section's bytes exist only during persist, "
                               "and its stored size must be known at size");
        s->compress = 1;
        s->level = level;
        cs->sized = 0;
        return PCACHE_OK;
    }
    return report_fail(&b->report, PCACHE_E_NOT_FOUND, cls, name, 0, 0, 0, 0,
                       "compression: no section of this name in the class (add it first)");
}

/* The lowest minor the segment needs (docs/FORMAT.md 2.3): 2 with a
 * compact relocation table, 1 with a compressed section, else 0. */
uint16_t class_format_minor(const class_state *cs)
{
    uint16_t minor = 0;
    for (uint32_t i = 0; i < cs->n; i++) {
        if (cs->sec[i].type == PCACHE_TYPE_CRELOCS)
            return FORMAT_MINOR_CRELOCS;
        if (cs->sec[i].compress)
            minor = FORMAT_MINOR_COMPRESSED;
    }
    return minor;
}

void deflate_builder_free(pcache_builder *b)
{
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        for (uint32_t i = 0; i < b->cls[c].n; i++)
            free(b->cls[c].sec[i].zdata);
}

/* A patch that writes into the section, or that points into it, assumes
 * its bytes are at its offset in the mapped segment; a compressed
 * section's are not.  Returns the first such patch's index, or npatches. */
static size_t patch_touching(const pcache_builder *b, pcache_class cls, uint32_t index, int *as_target)
{
    for (size_t k = 0; k < b->npatches; k++) {
        const patch_src *p = &b->patches[k];
        if (p->cls == cls && p->site_index == index) {
            *as_target = 0;
            return k;
        }
        if (p->target_kind == PCACHE_TARGET_SECTION && p->target_class == cls && p->target_index == index) {
            *as_target = 1;
            return k;
        }
    }
    return b->npatches;
}

/* zlib counts in uInt; sections may be larger. */
static uInt chunk_of(uint64_t left)
{
    return left > UINT_MAX ? UINT_MAX : (uInt)left;
}

static pcache_status deflate_section(pcache_builder *b, pcache_class cls, section_src *s)
{
    z_stream z;
    const uint8_t *in = s->data;
    uint64_t raw, in_left = s->size, cap, out_done = 0;
    uint8_t *out;
    int rc;

    raw = pcache_checksum(b->id.checksum, s->data, (size_t)s->size);
    if (s->zdata && s->zfrom == s->data && s->zfrom_size == s->size && s->zfrom_level == s->level &&
        s->raw_checksum == raw)
        return PCACHE_OK;
    free(s->zdata);
    s->zdata = NULL;
    s->zsize = 0;

    memset(&z, 0, sizeof z);
    if ((rc = deflateInit(&z, s->level)) != Z_OK)
        return rc == Z_MEM_ERROR ? PCACHE_E_NO_MEMORY
                                 : report_fail(&b->report, PCACHE_E_INVALID_ARGUMENT, cls, s->name, 0, 0, 0, 0,
                                               "zlib refuses compression level %d", s->level);
    /* deflateBound is enough for one pass; the buffer grows if chunked
     * input (over 4 GiB) ever needed more. */
    cap = deflateBound(&z, (uLong)s->size);
    if (cap > SIZE_MAX || !(out = malloc((size_t)cap))) {
        deflateEnd(&z);
        return PCACHE_E_NO_MEMORY;
    }
    for (;;) {
        if (z.avail_in == 0 && in_left > 0) {
            z.next_in = (Bytef *)(uintptr_t)in;
            z.avail_in = chunk_of(in_left);
            in += z.avail_in;
            in_left -= z.avail_in;
        }
        if (z.avail_out == 0) {
            if (out_done == cap) {
                uint64_t more = cap + cap / 2 + 64;
                uint8_t *p = more > SIZE_MAX ? NULL : realloc(out, (size_t)more);
                if (!p) {
                    free(out);
                    deflateEnd(&z);
                    return PCACHE_E_NO_MEMORY;
                }
                out = p;
                cap = more;
            }
            z.next_out = out + out_done;
            z.avail_out = chunk_of(cap - out_done);
        }
        {
            uInt before = z.avail_out;
            rc = deflate(&z, in_left == 0 ? Z_FINISH : Z_NO_FLUSH);
            out_done += before - z.avail_out;
        }
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            free(out);
            deflateEnd(&z);
            return report_fail(&b->report, PCACHE_E_NO_MEMORY, cls, s->name, 0, 0, 0, 0, "deflate failed (%d)", rc);
        }
    }
    deflateEnd(&z);
    if (out_done < cap) {
        uint8_t *p = realloc(out, out_done ? (size_t)out_done : 1);
        if (p)
            out = p;
    }
    s->zdata = out;
    s->zsize = out_done;
    s->raw_checksum = raw;
    s->zfrom = s->data;
    s->zfrom_size = s->size;
    s->zfrom_level = s->level;
    return PCACHE_OK;
}

pcache_status deflate_size_class(pcache_builder *b, pcache_class cls)
{
    class_state *cs = &b->cls[cls];
    pcache_status st;

    for (uint32_t i = 0; i < cs->n - cs->lib; i++) {
        section_src *s = &cs->sec[i];
        int as_target = 0;
        size_t k;
        if (!s->compress)
            continue;
        if ((k = patch_touching(b, cls, i, &as_target)) < b->npatches) {
            const patch_src *p = &b->patches[k];
            if (as_target)
                return report_fail(&b->report, PCACHE_E_NOT_COMPRESSIBLE, cls, s->name, 0, 0, 0, 0,
                                   "a compressed section cannot be a patch target (patch site %s:%s+0x%" PRIx64
                                   "): its inflated bytes are not at its offset in the segment",
                                   pcache_class_name(p->cls), b->cls[p->cls].sec[p->site_index].name,
                                   p->site_offset);
            return report_fail(&b->report, PCACHE_E_NOT_COMPRESSIBLE, cls, s->name, p->site_offset, 0, 0, 0,
                               "a compressed section cannot hold a patch site (+0x%" PRIx64
                               "): the loader patches the bytes where the segment is mapped",
                               p->site_offset);
        }
        if ((st = deflate_section(b, cls, s)) != PCACHE_OK)
            return st;
    }
    return PCACHE_OK;
}
