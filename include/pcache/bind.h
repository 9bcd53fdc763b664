/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libpcache — images that a host stores in separate slots.
 *
 * A host such as DynamoRIO keeps each class of an image in its own slot of
 * its own file and hands the segments back one at a time, in an order of
 * its choosing, with no length and no file offset.  This header holds what
 * such a host needs beyond the segment layer, none of it specific to one
 * host:
 *
 *  - Writing: pcache_builder_prepare_split() adds a manifest to the ro
 *    segment (which classes the image has, and where each segment was laid
 *    out), and can carry the rw sections inside the ro segment for a host
 *    that cannot map writable data (DynamoRIO with its default
 *    -persist_map_rw_separate, docs/DYNAMORIO.md).
 *  - Loading: pcache_bind() takes the resurrected segments of one image,
 *    checks them against the manifest and against each other, gives rw
 *    (and ro, when it must be patched) as private writable copies, and
 *    applies the relocation records (pcache/reloc.h).
 *
 * The manifest and the carried sections are ordinary DATA sections with
 * library names (names starting with '.', docs/FORMAT.md 9.4); their bytes
 * are specified in docs/DYNAMORIO.md, section "What the adapter writes".
 */
#ifndef PCACHE_BIND_H
#define PCACHE_BIND_H

#include "pcache/build_id.h"
#include "pcache/pcache.h"
#include "pcache/reloc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The manifest: an ro section of PCACHE_MANIFEST_SIZE bytes. */
#define PCACHE_MANIFEST_SECTION ".image"
#define PCACHE_MANIFEST_SIZE 64u
#define PCACHE_MANIFEST_VERSION 1u
/* Manifest flag: the image's rw sections are carried in its ro segment. */
#define PCACHE_MANIFEST_RW_CARRIED 0x0001u

/* A carried rw section "name" is stored in ro as ".rw/name", so an rw
 * section name has at most PCACHE_CARRIED_NAME_MAX bytes when carried. */
#define PCACHE_CARRIED_PREFIX ".rw/"
#define PCACHE_CARRIED_NAME_MAX (PCACHE_SECTION_NAME_MAX - 4u)

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* The build section: an ro section that binds the image to the build of
 * the code whose addresses it holds (for DynamoRIO, the client library:
 * a rebuild with the same name and version can move every function).
 * Bytes (little-endian): u16 version 1, u16 kind (pcache_build_id_kind),
 * u16 size (1..PCACHE_BUILD_ID_MAX), u16 zero, then the id's size bytes;
 * docs/DYNAMORIO.md 5.3. */
#define PCACHE_BUILD_SECTION ".build"
#define PCACHE_BUILD_SECTION_VERSION 1u
#define PCACHE_BUILD_SECTION_MAX (8u + PCACHE_BUILD_ID_MAX)

/* Binds the image to a build (pcache/build_id.h): pcache_builder_prepare_split()
 * adds the build section to ro, and pcache_bind() with
 * pcache_bind_options.build refuses the image under any other build.
 * Call it before pcache_builder_prepare_split() (after it:
 * PCACHE_E_STATE); a second call replaces the id.  An id of an unknown
 * kind or a size of 0 or above PCACHE_BUILD_ID_MAX: PCACHE_E_INVALID_ARGUMENT. */
PCACHE_API pcache_status pcache_builder_set_build(pcache_builder *b, const pcache_build_id *id);

/* Flags of pcache_builder_prepare_split(). */
#define PCACHE_SPLIT_CARRY_RW 0x0001u

/* Readies a builder for a host that stores the classes in separate slots
 * and loads them with pcache_bind().  Call it once, after the last section
 * and patch were added and before the first pcache_builder_size().
 *
 *  1. Refuses (PCACHE_E_RELOC_TARGET, report names the site) a patch whose
 *     target is an rw section: pcache_bind() gives rw out as a private
 *     copy, whose address no persisted reference can know.
 *  2. With PCACHE_SPLIT_CARRY_RW: moves every rw section, and the patch
 *     sites in it, into the ro class as ".rw/<name>" (in the order they
 *     were added, after the ro sections); the builder then has no rw
 *     section.  An rw name longer than PCACHE_CARRIED_NAME_MAX is refused
 *     (PCACHE_E_SECTION_NAME) before anything moves.
 *  3. When the builder has any section: adds the build section (when
 *     pcache_builder_set_build() gave one) and the manifest to ro, the
 *     manifest produced at persist time from every class's layout (so
 *     every class with sections must have been sized before ro is
 *     persisted, as DynamoRIO does; otherwise the persist fails with
 *     PCACHE_E_SINK).
 * A second call fails with PCACHE_E_STATE.  Reports go to
 * pcache_builder_report(). */
PCACHE_API pcache_status pcache_builder_prepare_split(pcache_builder *b, uint32_t flags);

/* ------------------------------------------------------------------ */
/* Loading                                                             */
/* ------------------------------------------------------------------ */

/* Memory for the private copies.  alloc returns size bytes (any
 * alignment: pcache_bind aligns inside) or NULL; free gets the same size. */
typedef void *(*pcache_alloc_fn)(void *ctx, size_t size);
typedef void (*pcache_free_fn)(void *ctx, void *mem, size_t size);

/* Flags of pcache_bind_options.flags. */
/* Every view of the bound image is in private memory, never in the
 * mapping: ro and rx are copied as one block that keeps their distance in
 * the file (so that references between them made at persist time hold in
 * the copy; the bytes of the file between them are copied too), rw as
 * its own copy.  The image then outlives the mapping: a host that may
 * drop the mapping after handing out the image (DynamoRIO, when another
 * client refuses the pcache) binds with this flag. */
#define PCACHE_BIND_PRIVATE 0x0001u

typedef struct pcache_bind_options {
    /* Current addresses of the anchors the records use (pcache/reloc.h);
     * may be NULL when no segment has an anchor record. */
    pcache_anchor_resolver resolve;
    void *resolve_ctx;
    /* Nonzero when the rx segment's bytes may be written where they are
     * mapped.  Without PCACHE_BIND_PRIVATE rx code runs where it is
     * mapped, so its relocation records can only be applied there: an rx
     * segment with records and rx_writable == 0 is refused
     * (PCACHE_E_ACCESS).  With PCACHE_BIND_PRIVATE the records are
     * applied to the copy, and also to the mapping when rx_writable
     * (img->mapping_rx_relocated says which). */
    int rx_writable;
    uint32_t flags; /* PCACHE_BIND_* */
    /* NULL: malloc and free. */
    pcache_alloc_fn alloc;
    pcache_free_fn free;
    void *alloc_ctx;
    /* With PCACHE_BIND_PRIVATE, memory that may be executed, for the
     * block that holds the rx copy (same ctx); NULL: alloc, and the rx copy
     * is data only.  Both or neither. */
    pcache_alloc_fn alloc_exec;
    pcache_free_fn free_exec;
    /* Non-NULL: the image must hold a build section with this build
     * (pcache_builder_set_build()); NULL: not checked. */
    const pcache_build_id *build;
} pcache_bind_options;

/* An image bound at its load address.  Fields are read-only for callers. */
typedef struct pcache_bound_image {
    pcache_segment *seg[PCACHE_CLASS_COUNT]; /* the caller's segments; NULL when absent */
    uint64_t image_base;    /* address of file offset 0 (docs/FORMAT.md 9.1) */
    uint32_t manifest_flags;
    /* Private copies (NULL when none): ro when it holds carried rw sections
     * or relocation records, rw always.  copy[c] is where the segment's
     * first byte is, at the same offset within a page as in the file. */
    uint8_t *copy[PCACHE_CLASS_COUNT];
    /* With PCACHE_BIND_PRIVATE: the address of file offset 0 for the ro
     * and rx copies (their records were applied for this base); 0
     * otherwise. */
    uint64_t copy_base;
    /* Nonzero when rx's relocation records were applied where rx is
     * mapped (always, without PCACHE_BIND_PRIVATE, when it has records). */
    int mapping_rx_relocated;
    void *block[PCACHE_CLASS_COUNT];
    size_t block_size[PCACHE_CLASS_COUNT];
    int block_exec[PCACHE_CLASS_COUNT];
    pcache_free_fn free;
    pcache_free_fn free_exec;
    void *alloc_ctx;
} pcache_bound_image;

/* Binds the segments of one image, segs[class] (NULL when the class did
 * not arrive), all resurrected from one contiguous mapping of the file.
 * In this order (the first failure decides; *img is then empty and
 * nothing has been written anywhere):
 *  1. ro is present and holds a valid manifest (PCACHE_E_NOT_FOUND when
 *     missing; PCACHE_E_HEADER_FIELD for a version, flag or reserved byte
 *     it does not know); with opt->build, ro holds a build section
 *     (PCACHE_E_HEADER_FIELD when malformed) with that build
 *     (PCACHE_E_CLIENT_BUILD, the report naming both builds, also when the
 *     image has no build section);
 *  2. each class is present exactly when the manifest lists it, with the
 *     listed file offset and segment size, and no rw segment when rw is
 *     carried (PCACHE_E_FILE_LAYOUT); every segment has ro's image id
 *     (PCACHE_E_IMAGE_ID) and client name and version (PCACHE_E_CLIENT,
 *     PCACHE_E_CLIENT_VERSION);
 *  3. every segment sits at the same image base, address minus file
 *     offset: the file was mapped as one piece (PCACHE_E_FILE_LAYOUT);
 *  4. pcache_reloc_check_targets() for each segment;
 *  5. copies (PCACHE_E_NO_MEMORY): without PCACHE_BIND_PRIVATE, ro (if it
 *     carries rw or has records) and rw; with it, ro and rx in one block
 *     at their distance in the file, and rw;
 *  6. relocation records applied, each with pcache_reloc_apply(): to the
 *     copies, then to rx where it is mapped (without PCACHE_BIND_PRIVATE:
 *     PCACHE_E_ACCESS when rx has records and !rx_writable; with it: only
 *     when rx_writable); a reference that no longer reaches fails with
 *     PCACHE_E_RELOC_RANGE.
 *
 * Which bytes hold what:
 *  - Without PCACHE_BIND_PRIVATE every class is relocated for the mapping
 *    (image_base): the ro and rw copies hold the values for code that runs
 *    in the mapping, and a relative field in a copy holds the displacement
 *    from its place in the mapping.  Code in the mapping that reaches ro
 *    through a relative reference reads the mapping's ro, which is as
 *    persisted: only the copy (pcache_bound_find) holds relocated ro
 *    values.
 *  - With PCACHE_BIND_PRIVATE the ro and rx copies are relocated for
 *    copy_base: an absolute reference to a section of the image points
 *    into the copies, and a relative reference between ro and rx holds in
 *    them, so code run from the rx copy reads relocated ro.  The rw copy
 *    is relocated for copy_base too (its absolute references point into
 *    the copies), but it lies elsewhere: a relative field in rw is wrong
 *    there.  The mapping's ro is as persisted; the mapping's rx is
 *    relocated (for image_base) only when mapping_rx_relocated.
 * rep may be NULL. */
PCACHE_API pcache_status pcache_bind(pcache_bound_image *img,
                                     pcache_segment *const segs[PCACHE_CLASS_COUNT],
                                     const pcache_bind_options *opt,
                                     pcache_report *report);

/* Where the manifest of a resurrected ro segment says the image's segment
 * of class cls was laid out: its file offset and size (both 0 when the
 * image has no such segment).  A host that hands segments back one at a
 * time finds each at (ro's address - ro's file offset) + file_offset and
 * resurrects it from there, so that what it binds is validated where it
 * is.  Statuses of pcache_bind() step 1. */
PCACHE_API pcache_status pcache_bind_manifest_entry(pcache_segment *ro, pcache_class cls,
                                                    uint64_t *file_offset, uint64_t *size,
                                                    pcache_report *report);

/* Looks up a client section of class cls by the name it was added under:
 * a carried rw section is found in ro.  view->data points into the copy
 * where the class has one, else into the mapping; view->name is the
 * client's name.  PCACHE_E_NOT_FOUND for no such section; the lazy
 * checksum rules of pcache_segment_find() apply (checked on the mapped
 * bytes, which the copy was taken from). */
PCACHE_API pcache_status pcache_bound_find(pcache_bound_image *img, pcache_class cls,
                                           const char *name, pcache_view *view,
                                           pcache_report *report);

/* A writable pointer to the bytes of view, found in class cls: non-NULL
 * for rw sections (they are always in a private copy), NULL otherwise. */
PCACHE_API void *pcache_bound_writable(const pcache_bound_image *img, pcache_class cls,
                                       const pcache_view *view);

/* A compressed client section of a bound image (docs/FORMAT.md 10),
 * found by name as pcache_bound_find() does, inflated as
 * pcache_segment_inflate() and pcache_segment_inflate_alloc() do (same
 * statuses; *out describes the loaded bytes; release *buf with
 * pcache_free()).  A section stored plain is copied out the same way, so a
 * client need not know which sections the writer compressed.  Only ro
 * sections are ever compressed. */
PCACHE_API pcache_status pcache_bound_inflate(pcache_bound_image *img, pcache_class cls,
                                              const char *name, void *buf, uint64_t capacity,
                                              pcache_view *out, pcache_report *report);
PCACHE_API pcache_status pcache_bound_inflate_alloc(pcache_bound_image *img, pcache_class cls,
                                                    const char *name, void **buf,
                                                    pcache_view *out, pcache_report *report);

/* Frees the copies; *img is then empty.  Safe on an empty image. */
PCACHE_API void pcache_bound_release(pcache_bound_image *img);

/* ------------------------------------------------------------------ */
/* Recognising a segment in a slot                                     */
/* ------------------------------------------------------------------ */

/* The host gives a pointer into a slot that other clients share, with no
 * length: what is there may be this client's segment, another client's
 * bytes, or the host's own.  available is how many bytes at p may be read
 * (the host's mapping, as far as the caller can tell; PCACHE_SIZE_UNKNOWN
 * only when the caller knows a whole segment header is there).  Returns
 * PCACHE_OK when the 8 bytes at p are the segment magic, at least a
 * segment header's 256 bytes are available, and the 64-byte client name
 * field (header offset 128) holds a NUL: *cls gets the class the header
 * states (PCACHE_CLASS_COUNT for an invalid code) and name the client
 * name, both unverified, for choosing whom to resurrect it for
 * (pcache_resurrect() then verifies everything).  PCACHE_E_TRUNCATED when
 * fewer than 8 bytes, or after the magic fewer than 256, are available;
 * PCACHE_E_MAGIC when the magic differs (only those 8 bytes were read);
 * PCACHE_E_HEADER_FIELD when the name has no NUL.  Reads at most the first
 * 192 bytes, never past available. */
PCACHE_API pcache_status pcache_slot_peek(const void *p, uint64_t available, pcache_class *cls,
                                          char name[PCACHE_CLIENT_NAME_MAX + 1]);

#ifdef __cplusplus
}
#endif

#endif /* PCACHE_BIND_H */
