/* SPDX-License-Identifier: BSD-2-Clause */
/* Internals of images stored in a host's separate slots (pcache/bind.h):
 * carrying rw sections in ro, and the manifest. */
#ifndef PCACHE_SPLIT_H
#define PCACHE_SPLIT_H

#include "builder.h"
#include "pcache/bind.h"

/* Manifest field offsets (docs/DYNAMORIO.md, "What the adapter writes"). */
enum {
    MF_VERSION = 0,  /* u16 PCACHE_MANIFEST_VERSION */
    MF_FLAGS = 2,    /* u16 PCACHE_MANIFEST_* */
    MF_RESERVED0 = 4, /* u32 zero */
    MF_CLASS = 8,    /* per class ro, rx, rw: u64 file_offset, u64 segment_size */
    MF_CLASS_SIZE = 16,
    MF_RESERVED1 = 56, /* u64 zero */
};
#define MANIFEST_FLAGS_KNOWN PCACHE_MANIFEST_RW_CARRIED

/* Where the manifest says each class's segment is (0, 0: absent). */
typedef struct manifest {
    uint32_t flags;
    uint64_t file_offset[PCACHE_CLASS_COUNT];
    uint64_t size[PCACHE_CLASS_COUNT];
} manifest;

/* 1 if the ro class of b already holds a manifest. */
int manifest_present(const pcache_builder *b);

/* Appends the manifest to b's ro client sections, to be produced at
 * persist time with these flags. */
pcache_status manifest_add(pcache_builder *b, uint32_t flags);

/* Finds and decodes the manifest of a resurrected ro segment. */
pcache_status manifest_read(pcache_segment *ro, manifest *m, pcache_report *rep);

/* Moves every rw client section of b into ro as ".rw/<name>", with the
 * patches whose site is in it. */
pcache_status carry_rw_into_ro(pcache_builder *b);

/* The build section (image_build.c): appended to ro from b->build, and
 * read back from a resurrected ro segment (PCACHE_E_NOT_FOUND when the
 * image has none, PCACHE_E_HEADER_FIELD when malformed). */
pcache_status build_section_add(pcache_builder *b);
pcache_status build_section_read(pcache_segment *ro, pcache_build_id *id, pcache_report *rep);

/* Appends a client section with a library name (no '.' check) to class
 * cls; used for the manifest. */
pcache_status split_append_section(pcache_builder *b, pcache_class cls, const section_src *src);

#endif
