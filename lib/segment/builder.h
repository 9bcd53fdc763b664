/* SPDX-License-Identifier: BSD-2-Clause */
/* The builder's state, shared by the segment writer and the file writer. */
#ifndef PCACHE_BUILDER_H
#define PCACHE_BUILDER_H

#include "layout.h"
#include "pcache/bind.h"
#include "pcache/pcache.h"
#include "pcache/reloc.h"

typedef struct section_src {
    char name[PCACHE_SECTION_NAME_MAX + 1]; /* NUL-padded to its end: stored as is */
    uint16_t type;
    uint16_t flags;
    uint32_t align;
    const void *data;
    uint64_t size;
    pcache_produce_fn produce;
    void *ctx;
    uint64_t offset;   /* from segment start, after size() */
    uint64_t checksum; /* of the bytes written by the last persist */
    /* compression (section_deflate.c): requested level, and the zlib
     * stream size() made of data, with what it was made from */
    int compress;            /* pcache_builder_set_compression() was called */
    int level;
    uint8_t *zdata;          /* the stored bytes, or NULL */
    uint64_t zsize;
    uint64_t raw_checksum;   /* of the size bytes zdata inflates to */
    const void *zfrom;       /* data, size and level zdata was made from */
    uint64_t zfrom_size;
    int zfrom_level;
} section_src;

/* A declared patch site (pcache/reloc.h), names resolved to indices. */
typedef struct patch_src {
    pcache_reloc_kind kind;
    pcache_target_kind target_kind;
    pcache_class cls, target_class;
    uint32_t site_index;   /* client section index in cls */
    uint32_t target_index; /* client section index in target_class, or builder anchor slot */
    int32_t pc_offset;
    uint64_t site_offset, target_offset;
    int64_t addend;
} patch_src;

/* An anchor a patch uses or the caller defined. */
typedef struct anchor_src {
    char name[PCACHE_ANCHOR_NAME_MAX + 1];
    uint64_t address; /* at persist time */
    int defined;
} anchor_src;

/* A site of one class as the writer emits it, sorted by (section, offset). */
typedef struct reloc_site {
    uint32_t section;
    uint8_t width;
    uint8_t bytes[8]; /* the field's bytes, filled at persist */
    uint64_t offset;
    size_t patch;     /* index in the builder's patches */
} reloc_site;

typedef struct class_state {
    section_src *sec;
    uint32_t n, cap;
    uint32_t seg_flags;
    int sized;          /* layout valid for file_offs */
    uint64_t file_offs;
    layout_result lay;
    /* relocations (reloc_write.c): library sections appended after the
     * client's at size time, and the class's sites */
    uint32_t lib;          /* how many of sec[] are library sections (at the end) */
    reloc_site *sites;
    size_t nsites;
    uint8_t *relocs;       /* ".relocs" bytes, filled at persist */
    uint64_t nrelocs;
    uint8_t *anchor_table; /* ".anchors" bytes, filled at persist */
    uint32_t nanchor_entries;
    /* the compact form (".crelocs", docs/FORMAT.md 9.10), planned at size:
     * record r is site rec_site[r], of shape rec_shape[r]; shape k's first
     * record is shape_first[k] */
    int compact;
    uint32_t *rec_site, *rec_shape, *shape_first;
    uint32_t nshapes;
    uint64_t crelocs_size;
} class_state;

struct pcache_builder {
    pcache_identity id;
    class_state cls[PCACHE_CLASS_COUNT];
    pcache_report report;
    patch_src *patches;
    size_t npatches, patch_cap;
    anchor_src anchors[PCACHE_MAX_ANCHORS];
    uint32_t nanchors;
    pcache_reloc_form reloc_form; /* pcache_builder_set_reloc_form() */
    /* pcache_builder_set_build(): the ".build" section's bytes */
    uint8_t build[PCACHE_BUILD_SECTION_MAX];
    uint32_t build_size;
    /* persist's hash state and stage (segment_write.c), from the first
     * persist that needs them */
    struct persist_scratch *scratch;
};

/* builder.c: the section name rule of docs/FORMAT.md 1.5 (1 if valid; its length
 * in *len_out); */
int section_name_valid(const char *name, size_t *len_out);
/* makes room for one more section at the end of a class and returns it,
 * zeroed, in *out; fails with PCACHE_E_TOO_MANY_SECTIONS (reported as
 * about section name) or PCACHE_E_NO_MEMORY. */
pcache_status builder_push_section(pcache_builder *b, pcache_class cls, const char *name,
                                   section_src **out);
/* segment_write.c: sizes a class (its relocation and compressed sections
 * first) for a segment at file_offs. */
pcache_status builder_layout(pcache_builder *b, pcache_class cls, uint64_t file_offs);

/* section_deflate.c: at size, after reloc_size_class() (reloc_build.h), refuses compressed
 * sections that patches touch and deflates the others (again only if
 * their bytes changed); stored size and format minor of what persist will
 * write; release of the streams. */
pcache_status deflate_size_class(pcache_builder *b, pcache_class cls);
static inline uint64_t section_stored_size(const section_src *s)
{
    return s->compress ? s->zsize : s->size;
}
uint16_t class_format_minor(const class_state *cs);
void deflate_builder_free(pcache_builder *b);

#endif
