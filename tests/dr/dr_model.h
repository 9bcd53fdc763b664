/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A model of DynamoRIO 11.91's persisted-cache protocol, for testing the
 * adapter (lib/dr/pcache_dr.c) and the example client in every build.
 *
 * It implements the functions of tests/dr/dr_api.h and drives the client
 * callbacks exactly as DR's core/perscache.c and core/lib/instrument.c do,
 * behaviours and defects included (dr/NOTES.md):
 *  - persist: ro, rx, rw size with DR's file offsets (ro after the header,
 *    option string and DR's client list; rx on a page; rw after the
 *    stubs), each class's callbacks in reverse registration order with
 *    cumulative offsets and user_data kept per position (shared between
 *    classes), the patch event over a fake code cache, the writes through
 *    dr_write_file with DR's padding (copies of cache bytes) to 8, and a
 *    .dpc file with both MD5s in its footer (libmd);
 *  - load: the file mapped at a new address (two views under
 *    -persist_map_rw_separate: the first shared and read-only), only the
 *    header MD5 checked, the module allowed to have moved, then the walk
 *    from the end: rw first, handed to the rx callbacks (defect 1, unless
 *    fixed_rw_resurrect models a fixed DR), rx, ro last; client rw data
 *    with separate views crashes (defect 2); rx data that leaves the rx
 *    slot off a page asserts (defect 3); the unit struct (perscxt) of a
 *    load DR abandons, merges with or unloads is freed and handed back to
 *    the next load, as DR's heap does;
 *  - merge: persisting over an existing file loads it first, callbacks
 *    included (-coarse_disk_merge, -coarse_lone_merge).
 * Where DR would assert or crash, the model returns DRM_CRASHED with the
 * reason: a test path, never a real crash.
 *
 * Basic blocks are modelled at the level a client sees them: the bb event
 * builds a block's clean calls; blocks the client marks persistable are
 * written into the fake code cache, and a load makes a unit's blocks run
 * from the file, without bb events, as DR runs persisted code.
 */
#ifndef PCACHE_TEST_DR_MODEL_H
#define PCACHE_TEST_DR_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "dr_api.h"

typedef enum dr_model_outcome {
    DRM_LOADED = 0,  /* persisted / loaded */
    DRM_REFUSED,     /* DR gave up on the file (a check or a callback failed): the app runs on */
    DRM_CRASHED,     /* DR asserts (debug) or crashes (release) here */
} dr_model_outcome;

typedef struct dr_model_options {
    int persist_map_rw_separate;      /* DR default 1 */
    int persist_protect_stubs;        /* DR default 1 */
    uint32_t persist_gen_validation;  /* DR default 0xd */
    uint32_t persist_load_validation; /* DR default 0x5 */
    int coarse_disk_merge;            /* DR default 1 */
    int coarse_lone_merge;            /* DR default 1 */
    int persist_check_options;        /* DR default 1 */
    /* 0: DR 11.91, whose instrument_resurrect_rw() calls the rx
     * callbacks; 1: a fixed DR that calls the rw ones. */
    int fixed_rw_resurrect;
    /* Not a DR option: 1 maps the next pcache where the last one DR
     * dropped (an abandoned load, a merge) was, when it fits, as DR's
     * reservation allocator may hand that space back; 0 (default): every
     * load at a new address. */
    int map_where_dropped;
    /* The option string DR records and compares (its pcache-affecting
     * options); DR's value in the sample files by default. */
    const char *option_string;
} dr_model_options;

/* What DR knows about one coarse unit: the module and DR's own sizes. */
typedef struct dr_model_unit {
    uint64_t module_base; /* where the module is in this "process" */
    uint64_t start_offs, end_offs;
    uint32_t module_checksum, module_timestamp;
    uint64_t image_size, code_size, file_version;
    uint8_t module_short_md5[16];
    uint32_t flags;       /* DR's info->flags (ELIDED_UBR, SUPPORT_TRACES) */
    uint32_t tls_offs_base;
    uint64_t rac_htable_len, rct_htable_len, cache_htable_len, stub_htable_len;
    uint64_t cache_len;   /* a page multiple, as DR's frozen caches are */
    uint64_t post_cache_pad_len;
    uint64_t fcache_return_prefix_len, trace_head_return_prefix_len;
    uint64_t ibl_ret_prefix_len, ibl_call_prefix_len, ibl_jmp_prefix_len;
    uint64_t stubs_len;
    int has_text_relocs;  /* DR refuses a moved module with text relocations */
} dr_model_unit;

/* DR's defaults (and fixed_rw_resurrect 0). */
void dr_model_default_options(dr_model_options *o);
/* The unit of the sample files in tests/data (hello, non-PIE, at 0x400000). */
void dr_model_hello_unit(dr_model_unit *u);

/* A new process: callback lists, events, client list, blocks, loaded
 * units, logs and user_data slots all cleared; options as given. */
void dr_model_reset(const dr_model_options *o);
dr_model_options *dr_model_options_now(void);

/* DR's reservation, within rel32 reach of DR and the client libraries
 * (DR_MODEL_RESERVATION_SIZE bytes): the model maps every pcache inside
 * it, as DR does (MAP_FILE_REACHABLE); client library bases belong there
 * too.  Where nothing is mapped it is inaccessible. */
#define DR_MODEL_RESERVATION_SIZE (1024u * 1024u * 1024u)
uint64_t dr_model_reachable_base(void);

/* DR's client list (paths in priority order) and client library bases
 * (dr_get_client_base); client ids are the indices. */
void dr_model_set_clients(const char *const *paths, unsigned n);
void dr_model_set_client_base(client_id_t id, uint64_t base);

/* Which build of client library id is loaded (0 after a reset): its
 * image at dr_get_client_base() carries a GNU build-id note saying so,
 * mapped by dr_model_set_client_base() and again here; a test changes it
 * between "processes" to model a rebuilt client. */
void dr_model_set_client_build(client_id_t id, uint32_t build);

/* Maps a copy of image (size bytes, read-only) at the client library's
 * base, which must be set and page-aligned: the library's first segment,
 * with its ELF header and notes.  -1 on failure. */
int dr_model_map_client_image(client_id_t id, const void *image, size_t size);

/* coarse_unit_persist(): writes path (via path.tmp, renamed).  why gets
 * DR's reason for a refusal or crash. */
dr_model_outcome dr_model_persist(const dr_model_unit *u, const char *path, char *why, size_t why_len);

/* What a load produced, for tests to look at. */
typedef struct dr_model_view {
    uint8_t *map;          /* file offset 0 */
    size_t size;           /* file size */
    int separate;          /* two views, the first shared and read-only */
    int exec;              /* mapped executable (some systems refuse it) */
    uint64_t cache_offset; /* file offset of DR's code cache */
    uint64_t rx_offset, ro_offset, rw_offset; /* file offsets of the client slots */
} dr_model_view;

/* coarse_unit_load(for_execution): the loaded unit stays mapped (and its
 * persisted blocks installed) until dr_model_unload_all(). */
dr_model_outcome dr_model_load(const dr_model_unit *u, const char *path, dr_model_view *view, char *why,
                               size_t why_len);
/* The file DR is loading (for execution or to merge with) while its
 * resurrect callbacks run, for a test's callbacks to look at: map and size
 * are set; NULL outside a load. */
const dr_model_view *dr_model_loading(void);
void dr_model_unload_all(void);

/* On: a load after a refused one maps the file at the refused load's
 * address and reuses its unit struct (the perscxt the callbacks get), as
 * real DR may (its unit structs are reused, mmap reuses a freed range).
 * Tests that turn it on turn it off again. */
void dr_model_reuse_after_refusal(int on);

/* Process exit as DR runs it with -persist: every given unit persisted
 * (coarse_freeze_at_exit), then the clients' exit events. */
void dr_model_exit(const dr_model_unit *units, const char *const *paths, unsigned n);

/* Runs the block at app address tag: from a loaded pcache if a loaded
 * unit has it, else built (bb event) once and then run from the cache. */
void dr_model_execute(uint64_t tag);
/* Blocks built by the bb event, and blocks run from a pcache, so far. */
unsigned dr_model_blocks_built(void);
unsigned dr_model_blocks_from_pcache(void);

/* Everything clients wrote with dr_log and dr_fprintf, since the reset. */
const char *dr_model_log_text(void);
const char *dr_model_output_text(void);
/* Merges (resurrects during a persist) so far. */
unsigned dr_model_merges(void);

#endif
