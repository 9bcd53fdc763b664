/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libpcache — the DynamoRIO adapter.
 *
 * A DynamoRIO client registers once; for each coarse unit (one module's
 * code region) DR persists, the adapter asks the client to describe its
 * sections and references into a builder, and writes them into DR's
 * client slots of the .dpc file; when DR loads (or merges) that file, the
 * adapter checks and rebases everything and hands the client the image.
 *
 * The adapter is built for DynamoRIO 11.91 as it behaves (see
 * docs/DYNAMORIO.md and the project's dr/NOTES.md): it never relies on
 * which DR callback delivers which bytes, rounds rx data to whole pages,
 * uses DR's rw slot only under -no_persist_map_rw_separate and otherwise
 * carries rw in the ro segment, and fails closed: any mismatch makes its
 * resurrect callback return false, so that DR drops the pcache and the
 * application runs on without it.
 *
 * This header does not include DR's: DR's pointers are void * and its
 * client id an unsigned int.  The adapter's source (lib/dr/pcache_dr.c,
 * installed as share/libpcache/dr/pcache_dr.c) is compiled into each
 * client, against the client's DR's dr_api.h (docs/DYNAMORIO.md, "Building
 * a client with CMake").
 */
#ifndef PCACHE_DR_H
#define PCACHE_DR_H

#include "pcache/bind.h"
#include "pcache/pcache.h"
#include "pcache/reloc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The adapter's functions below.  Compiled into a client, they are the
 * client's own: lib/dr/pcache_dr.c defines PCACHE_DR_API as hidden
 * visibility, so that a client library does not export them (define it
 * before, e.g. -DPCACHE_DR_API=PCACHE_API, to export them). */
#ifndef PCACHE_DR_API
#  define PCACHE_DR_API PCACHE_API
#endif

/* One registration: a client name and version, with its own segments. */
typedef struct pcache_dr_client pcache_dr_client;

/* The coarse unit being persisted or loaded. */
typedef struct pcache_dr_unit {
    void *drcontext;
    void *perscxt;      /* DR's, for dr_persist_start() and friends */
    uint64_t start;     /* dr_persist_start(): the unit's first app address */
    uint64_t size;      /* dr_persist_size() */
    /* While persisting: rw sections will be carried in the ro segment
     * (DR runs with -persist_map_rw_separate).  The client sees no
     * difference; an rw name then has at most PCACHE_CARRIED_NAME_MAX
     * bytes. */
    int rw_carried;
    /* In describe() only: the image of this unit (same start and size)
     * that this client accepted in on_resurrect() in the last DR callback
     * before this persist began, else NULL.  DR 11.91 does not say whether
     * a resurrect is a load for execution or a merge: before it persists a
     * unit over a file on disk (-coarse_disk_merge, -coarse_lone_merge) it
     * loads that file, hands it to the clients, and persists the union
     * right after, with all threads stopped, so the load it merged is the
     * one just before.  A client that describes the union takes in this
     * image's data unless it already has (it can compare the pointer with
     * the images it holds: a unit loaded for execution and then persisted
     * with nothing in between comes here too).  The image is the client's
     * to release as any other (pcache_dr_release()); DR has unmapped the
     * file by then, which the image's private copies do not mind.  At load
     * time, in on_resurrect(), a merge cannot be told from a load. */
    pcache_bound_image *merge_source;
} pcache_dr_unit;

/* DR's frozen code cache, as the patch event gives it.  DR gives it
 * before it writes anything; the adapter calls on_patch a little later,
 * at the start of its ro persist callback, once DR has written its header
 * (DR writes the cache from memory after the rx slot, so patches made
 * then are in the file). */
typedef struct pcache_dr_cache {
    uint8_t *start;
    size_t size;
    /* The file offset that start will have, read from DR's header in the
     * file being written and checked against this library's layout; never
     * a guess: UINT64_MAX when it cannot be read or does not agree (then
     * pcache_dr_patch_cache fails with PCACHE_E_STATE). */
    uint64_t file_offset;
    /* private */
    pcache_builder *builder;
    int rx_read_only; /* DR will map rx read-only (-persist_map_rw_separate) */
} pcache_dr_cache;

/* Writes into field (width of kind, inside the cache) the displacement
 * from the field to section `section` of class cls + offset, as they will
 * be in DR's mapping of the file: the core's math
 * (pcache_encode_reference) on file offsets.  Only relative kinds:
 * nothing patches DR's cache at load, so only references that move with
 * the file stay right.  The reference reaches DR's mapping of the file,
 * not the bound image's copies: there ro holds the bytes as persisted, and
 * rx is relocated only when DR maps it writable
 * (-no_persist_map_rw_separate).  So a target must not hold relocation
 * records (pcache_builder_section_relocated): ro sections with records,
 * and rx sections with records under -persist_map_rw_separate, are
 * refused (PCACHE_E_RELOC_TARGET, saying what to do instead), as are rw
 * sections (rw is handed out as a private copy).  Fails with
 * PCACHE_E_INVALID_ARGUMENT (kind, field outside the cache),
 * PCACHE_E_STATE (no cache file offset), PCACHE_E_NOT_FOUND,
 * PCACHE_E_RELOC_TARGET, PCACHE_E_RELOC_RANGE; rep may be NULL. */
PCACHE_DR_API pcache_status pcache_dr_patch_cache(const pcache_dr_cache *cache, uint8_t *field,
                                               pcache_reloc_kind kind, int32_t pc_offset,
                                               pcache_class cls, const char *section,
                                               uint64_t offset, pcache_report *rep);

typedef struct pcache_dr_config {
    const char *client_name;  /* 1..PCACHE_CLIENT_NAME_MAX printable bytes; unique per library */
    uint32_t client_version;  /* a load of another version fails closed */
    unsigned int client_id;   /* DR's client id: the "client" anchor is dr_get_client_base(client_id) */
    pcache_validation validation; /* at load; 0 means PCACHE_VALIDATE_FULL */
    void *ctx;                /* passed to every callback */

    /* Persist time, once per unit: add this unit's sections and patches to
     * b (whose identity holds the unit as module key, and whose "client"
     * anchor is already set).  Return nonzero; 0 makes DR abandon this
     * pcache file.  Adding no section persists nothing for this client. */
    int (*describe)(void *ctx, const pcache_dr_unit *unit, pcache_builder *b);

    /* Load time (and when DR merges with a file on disk before persisting,
     * which it does not announce at that point: see merge_source): the
     * image, validated in full from the bytes it is bound from, its
     * relocations applied.  Look sections up with pcache_bound_find().
     * Every view is in memory the adapter owns, never in DR's mapping of
     * the file: ro and rx are one private copy, at their distance in the
     * file and executable, relocated for where the copy is (so rx code run
     * from it reads relocated ro); rw sections are a private writable copy
     * (pcache_bound_writable()).  So a view stays valid even when DR drops
     * the pcache after all (a client of another library refuses it after
     * this one accepted: DR tells no one) or unmaps it after a merge.  The
     * image stays valid until pcache_dr_release() or
     * pcache_dr_unregister().  Return nonzero to accept; 0 makes DR drop
     * the pcache.  What DR runs from the file itself (its cache, and
     * references into this library's data patched into it with
     * pcache_dr_patch_cache()) reaches DR's mapping, not the copies. */
    int (*on_resurrect)(void *ctx, const pcache_dr_unit *unit, pcache_bound_image *img);

    /* Optional: an image this client accepted belongs to a pcache DR is
     * dropping after all, because another registrant of this library
     * refused it (the adapter knows then; it cannot know when a client of
     * another library refuses).  The image's copies stay valid until the
     * adapter releases the image right after this call. */
    void (*on_discard)(void *ctx, const pcache_dr_unit *unit, pcache_bound_image *img);

    /* Optional: DR's patch event, once per persisted unit, after every
     * size and before any write.  Return 0 to make DR abandon the file. */
    int (*on_patch)(void *ctx, const pcache_dr_unit *unit, const pcache_dr_cache *cache);

    /* Optional: why a persist or a load failed (one line).  The same text
     * goes to DR's log (dr_log, DR_LOG_CACHE, level 1). */
    void (*on_error)(void *ctx, const pcache_dr_unit *unit, pcache_status status,
                     const char *reason);

    /* Optional: current address of anchors other than "module" (the unit
     * start, dr_persist_start()) and "client"; as pcache_anchor_resolver. */
    pcache_anchor_resolver resolve_anchor;
} pcache_dr_config;

/* The callbacks run with the adapter's lock held (DR may load pcaches on
 * several threads): they must not call pcache_dr_register(),
 * pcache_dr_unregister() or pcache_dr_release(). */

/* At most this many registrations per library at once. */
#define PCACHE_DR_MAX_CLIENTS 8u

/* Registers a client (cfg is copied, the name too).  The first
 * registration registers the adapter's callbacks with DR (ro, rx, rw and
 * patch).  Fails with PCACHE_E_INVALID_ARGUMENT (a required callback
 * missing), PCACHE_E_CLIENT_NAME (invalid, or already registered),
 * PCACHE_E_STATE (PCACHE_DR_MAX_CLIENTS reached, or DR refused the
 * registration), PCACHE_E_NO_MEMORY. */
PCACHE_DR_API pcache_status pcache_dr_register(const pcache_dr_config *cfg,
                                            pcache_dr_client **out);

/* Unregisters, releasing every image still held for the client; the last
 * one unregisters the adapter's callbacks from DR. */
PCACHE_DR_API void pcache_dr_unregister(pcache_dr_client *client);

/* Releases an image given to on_resurrect (its rw copy is freed). */
PCACHE_DR_API void pcache_dr_release(pcache_dr_client *client, pcache_bound_image *img);

#ifdef __cplusplus
}
#endif

#endif /* PCACHE_DR_H */
