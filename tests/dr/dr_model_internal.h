/* SPDX-License-Identifier: BSD-2-Clause */
/* State shared by the model's files: callback lists as DR keeps them,
 * the coarse_info_t a callback's perscxt points to, mappings, blocks. */
#ifndef PCACHE_TEST_DR_MODEL_INTERNAL_H
#define PCACHE_TEST_DR_MODEL_INTERNAL_H

#include <stdbool.h>

#include "dr_model.h"

#define DRM_PAGE 4096u
#define DRM_MAX_CLIENT_LIBS 16u /* DR's MAX_CLIENT_LIBS: size of persist_user_data */
#define DRM_MAX_CALLBACKS 32u
#define DRM_CLIENT_ALIGNMENT 8u /* CLIENT_ALIGNMENT, OPTION_STRING_ALIGNMENT */

typedef size_t (*drm_size_fn)(void *, void *, size_t, void **);
typedef bool (*drm_persist_fn)(void *, void *, file_t, void *);
typedef bool (*drm_resurrect_fn)(void *, void *, byte **);
typedef bool (*drm_patch_fn)(void *, void *, byte *, size_t, void *);

/* DR's callback_list_t: registration order; called in reverse. */
typedef struct drm_list {
    void *fn[DRM_MAX_CALLBACKS];
    unsigned num;
} drm_list;

enum { DRM_RO, DRM_RX, DRM_RW };

/* The subset of coarse_info_t the callbacks reach through perscxt. */
typedef struct drm_info {
    app_pc base_pc, end_pc;
} drm_info;

typedef struct drm_state {
    dr_model_options opt;
    drm_list size[3], persist[3], resurrect[3], patch;
    void *persist_user_data[DRM_MAX_CLIENT_LIBS];
    const char *client_path[DRM_MAX_CLIENT_LIBS];
    uint64_t client_base[DRM_MAX_CLIENT_LIBS];
    uint32_t client_build[DRM_MAX_CLIENT_LIBS]; /* which build of each client library is loaded */
    unsigned nclients;
    void (*exit_event[DRM_MAX_CALLBACKS])(void);
    unsigned nexit;
    dr_emit_flags_t (*bb_event[DRM_MAX_CALLBACKS])(void *, void *, instrlist_t *, bool, bool);
    unsigned nbb;
    unsigned merges;
    int file_io_fails;     /* dr_file_seek / dr_file_tell fail (a DR without read access) */
    long nonheap_live;     /* dr_nonheap_alloc blocks not yet freed */
} drm_state;

extern drm_state drm;

/* coarse_persisted_info_t, version 10, x86-64: field offsets. */
enum {
    DRH_MAGIC = 0, DRH_VERSION = 4, DRH_HEADER_LEN = 8, DRH_DATA_LEN = 16, DRH_FLAGS = 24,
    DRH_BUILD_NUMBER = 28, DRH_MOD_BASE = 32, DRH_MOD_CHECKSUM = 40, DRH_MOD_TIMESTAMP = 44,
    DRH_MOD_IMAGE_SIZE = 48, DRH_MOD_CODE_SIZE = 56, DRH_MOD_FILE_VERSION = 64, DRH_MOD_FULL_MD5 = 72,
    DRH_MOD_SHORT_MD5 = 88, DRH_START_OFFS = 104, DRH_END_OFFS = 112, DRH_TLS_OFFS_BASE = 120,
    DRH_INSTRUMENT_RW_LEN = 128, DRH_STUBS_LEN = 136, DRH_IBL_JMP_PREFIX_LEN = 144,
    DRH_IBL_CALL_PREFIX_LEN = 152, DRH_IBL_RET_PREFIX_LEN = 160, DRH_TRACE_HEAD_RETURN_PREFIX_LEN = 168,
    DRH_FCACHE_RETURN_PREFIX_LEN = 176, DRH_CACHE_LEN = 184, DRH_POST_CACHE_PAD_LEN = 192, DRH_PAD_LEN = 200,
    DRH_INSTRUMENT_RX_LEN = 208, DRH_VIEW_PAD_LEN = 216, DRH_STUB_HTABLE_LEN = 224, DRH_CACHE_HTABLE_LEN = 232,
    DRH_RCT_HTABLE_LEN = 240, DRH_RAC_HTABLE_LEN = 248, DRH_RELOC_LEN = 256, DRH_INSTRUMENT_RO_LEN = 264,
    DRH_OPTION_STRING_LEN = 272, DRH_SIZE = 280,
};
enum { DRF_FULL_MD5 = 0, DRF_SHORT_MD5 = 16, DRF_MAGIC = 32, DRF_SIZE = 36 };
#define DRM_MAGIC 0x244f4952u
#define DRM_VERSION 10u
#define DRM_FLAG_X86_64 0x0002u
#define DRM_FLAG_SUPPORT_TRACES 0x0080u
#define DRM_FLAG_MAP_RW_SEPARATE 0x0100u
#define DRM_FLAG_CODE_INVALID 0x0400u
/* -persist_*_validation bits (perscache.h) */
#define DRM_GENFILE_MD5_SHORT 0x4u
#define DRM_GENFILE_MD5_COMPLETE 0x8u

static inline uint64_t drm_ld64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static inline uint32_t drm_ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void drm_st64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void drm_st32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t drm_align(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

/* DR's GLOBAL_DCONTEXT, given to resurrect callbacks; and a thread's
 * drcontext for the persist ones. */
#define DRM_GLOBAL_DCONTEXT ((void *)(uintptr_t)-1)
extern char drm_thread_dcontext[64];

/* Text logs (dr_log, dr_fprintf). */
void drm_log_append(int output, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Mappings the model made, with their current protections, for
 * dr_query_memory. */
void drm_mapping_add(uint8_t *base, size_t size, uint prot);
void drm_mapping_protect(uint8_t *base, size_t size, uint prot);
void drm_mapping_remove(uint8_t *base, size_t size);
void drm_mappings_clear(void);
/* 1 if pc is inside DR's reservation (dr_model_reachable_base). */
int drm_in_reservation(const void *pc);

/* coarse_unit_load(); for_execution 0 for a merge.  On DRM_LOADED, *map
 * and *map_size hold the mapping (the caller unmaps). */
dr_model_outcome drm_load(const dr_model_unit *u, const char *path, int for_execution, dr_model_view *view,
                          char *why, size_t why_len);
void drm_unmap(dr_model_view *view);
/* A new process: no freed unit info to hand back, no dropped place. */
void drm_load_reset(void);

/* Blocks: the persisted ones of the unit [start, end), serialized into
 * (and read back from) DR's fake code cache. */
size_t drm_blocks_serialize(const dr_model_unit *u, uint8_t *cache, size_t cap);
void drm_blocks_install(const dr_model_unit *u, const uint8_t *cache, size_t size);
void drm_blocks_reset(void);
void drm_loaded_clear(void);

/* Formats into why (if not NULL). */
void drm_why(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
