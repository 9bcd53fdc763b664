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
 *  3. When the builder has any section: adds the manifest to ro, produced
 *     at persist time from every class's layout (so every class with
 *     sections must have been sized before ro is persisted, as DynamoRIO
 *     does; otherwise the persist fails with PCACHE_E_SINK).
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

typedef struct pcache_bind_options {
    /* Current addresses of the anchors the records use (pcache/reloc.h);
     * may be NULL when no segment has an anchor record. */
    pcache_anchor_resolver resolve;
    void *resolve_ctx;
    /* Nonzero when the rx segment's bytes may be written where they are
     * mapped.  rx code runs where it is mapped, so its relocation records
     * can only be applied there: an rx segment with records and
     * rx_writable == 0 is refused (PCACHE_E_ACCESS). */
    int rx_writable;
    /* NULL: malloc and free. */
    pcache_alloc_fn alloc;
    pcache_free_fn free;
    void *alloc_ctx;
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
    void *block[PCACHE_CLASS_COUNT];
    size_t block_size[PCACHE_CLASS_COUNT];
    pcache_free_fn free;
    void *alloc_ctx;
} pcache_bound_image;

/* Binds the segments of one image, segs[class] (NULL when the class did
 * not arrive), all resurrected from one contiguous mapping of the file.
 * In this order (the first failure decides; *img is then empty and
 * nothing has been written anywhere):
 *  1. ro is present and holds a valid manifest (PCACHE_E_NOT_FOUND when
 *     missing; PCACHE_E_HEADER_FIELD for a version, flag or reserved byte
 *     it does not know);
 *  2. each class is present exactly when the manifest lists it, with the
 *     listed file offset and segment size, and no rw segment when rw is
 *     carried (PCACHE_E_FILE_LAYOUT); every segment has ro's image id
 *     (PCACHE_E_IMAGE_ID) and client name and version (PCACHE_E_CLIENT,
 *     PCACHE_E_CLIENT_VERSION);
 *  3. every segment sits at the same image base, address minus file
 *     offset: the file was mapped as one piece (PCACHE_E_FILE_LAYOUT);
 *  4. pcache_reloc_check_targets() for each segment;
 *  5. copies: ro (if it carries rw or has records) and rw, allocated and
 *     filled (PCACHE_E_NO_MEMORY);
 *  6. relocation records applied: to the ro and rw copies, then to rx in
 *     place (PCACHE_E_ACCESS when it has records and !rx_writable), each
 *     with pcache_reloc_apply() and the same image base; a reference that
 *     no longer reaches fails with PCACHE_E_RELOC_RANGE.
 * Relative fields in a copy keep the value for the section's place in the
 * mapping (where code referring to it runs).  rep may be NULL. */
PCACHE_API pcache_status pcache_bind(pcache_bound_image *img,
                                     pcache_segment *const segs[PCACHE_CLASS_COUNT],
                                     const pcache_bind_options *opt,
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

/* Frees the copies; *img is then empty.  Safe on an empty image. */
PCACHE_API void pcache_bound_release(pcache_bound_image *img);

/* ------------------------------------------------------------------ */
/* Recognising a segment in a slot                                     */
/* ------------------------------------------------------------------ */

/* The host gives a pointer into a slot that other clients share, with no
 * length: what is there may be this client's segment, another client's
 * bytes, or the host's own.  Returns PCACHE_OK when the 8 bytes at p are
 * the segment magic and the 64-byte client name field (header offset 128)
 * holds a NUL: *cls gets the class the header states (PCACHE_CLASS_COUNT
 * for an invalid code) and name the client name, both unverified, for
 * choosing whom to resurrect it for (pcache_resurrect() then verifies
 * everything).  PCACHE_E_MAGIC when the magic differs (only those 8 bytes
 * were read); PCACHE_E_HEADER_FIELD when the name has no NUL.  Reads at
 * most the first 192 bytes, and past the magic only when it matched: a
 * segment is at least 256 bytes. */
PCACHE_API pcache_status pcache_slot_peek(const void *p, pcache_class *cls,
                                          char name[PCACHE_CLIENT_NAME_MAX + 1]);

#ifdef __cplusplus
}
#endif

#endif /* PCACHE_BIND_H */
