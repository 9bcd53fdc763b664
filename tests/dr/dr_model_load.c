/* SPDX-License-Identifier: BSD-2-Clause */
/* The model of DR's coarse_unit_load(): map the file, check DR's header
 * (only the header MD5 by default), map it again as two views under
 * -persist_map_rw_separate, and walk the sections from the end, calling
 * the clients' resurrect callbacks: rw (through the rx callbacks, as DR
 * 11.91 does), rx, ro.  Follows core/perscache.c step by step. */
#include <errno.h>
#include <fcntl.h>
#include <md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dr_model_internal.h"

/* Units loaded for execution, kept mapped until dr_model_unload_all(). */
typedef struct loaded {
    dr_model_view view;
    drm_info *info;
} loaded;

static loaded units[32];
static unsigned nunits;

/* DR allocates a unit's coarse_info_t (what a callback's perscxt points
 * to) from its heap for each load, and frees it with a load it abandons,
 * after a merge, and when it unloads the unit.  DR's heap hands a freed
 * block of that size straight back to the next request (its free lists
 * are last in, first out), so the next load's callbacks get the same
 * perscxt as the abandoned one's.  The model keeps the last freed info
 * and hands it back, always: a client must not take an equal perscxt for
 * the same load. */
static drm_info *spare_info;

static drm_info *info_alloc(void)
{
    drm_info *i = spare_info;
    if (i) {
        spare_info = NULL;
        memset(i, 0, sizeof *i);
        return i;
    }
    if (!(i = calloc(1, sizeof *i)))
        abort();
    return i;
}

static void info_free(drm_info *i)
{
    if (!i)
        return;
    free(spare_info);
    spare_info = i;
}

/* The load in progress (dr_model_loading). */
static const dr_model_view *loading;

const dr_model_view *dr_model_loading(void)
{
    return loading;
}

/* Where the last pcache DR dropped was mapped (map_where_dropped). */
static uint8_t *dropped_at;
static size_t dropped_size;

static int prot_of(uint dr)
{
    return ((dr & DR_MEMPROT_READ) ? PROT_READ : 0) | ((dr & DR_MEMPROT_WRITE) ? PROT_WRITE : 0) |
           ((dr & DR_MEMPROT_EXEC) ? PROT_EXEC : 0);
}

/* DR maps a pcache MAP_FILE_REACHABLE: inside its reservation, within
 * rel32 reach of DR and the client libraries.  The model reserves such a
 * region once per test process and places each load at a new address in
 * it; tests put their client library bases there too. */
#define REGION_SIZE DR_MODEL_RESERVATION_SIZE
#define FIRST_MAP (256u * 1024u * 1024u)
static uint8_t *region;
static size_t cursor = FIRST_MAP;
/* dr_model_reuse_after_refusal(): the next load after a refused one maps
 * at the refused one's address and gets its unit struct (perscxt) back, as
 * DR's mmap and heap may well do. */
static int reuse_after_refusal;
static uint8_t *refused_place;

void dr_model_reuse_after_refusal(int on)
{
    reuse_after_refusal = on;
    refused_place = NULL;
}

uint64_t dr_model_reachable_base(void)
{
    if (!region) {
        void *p = mmap(NULL, REGION_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            abort();
        region = p;
    }
    return (uint64_t)(uintptr_t)region;
}

int drm_in_reservation(const void *pc)
{
    return region && (const uint8_t *)pc >= region && (const uint8_t *)pc < region + REGION_SIZE;
}

static void *next_place(size_t size)
{
    size_t need = (size_t)drm_align(size, DRM_PAGE);
    dr_model_reachable_base();
    if (drm.opt.map_where_dropped && dropped_at && need <= dropped_size) {
        uint8_t *at = dropped_at;
        dropped_at = NULL;
        return at;
    }
    if (cursor + need > REGION_SIZE)
        cursor = FIRST_MAP;
    cursor += need + 16 * DRM_PAGE; /* every load at a new address */
    return region + cursor - need - 16 * DRM_PAGE;
}

/* mmap, asking for exec as DR does; some systems refuse exec mappings of
 * files (noexec mounts), then the model maps without and says so. */
static uint8_t *map_file(void *at, size_t size, uint dr_prot, int shared, int fd, off_t offs, int *exec)
{
    int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED;
    if (!at && reuse_after_refusal && refused_place) {
        at = refused_place;
        refused_place = NULL;
    }
    if (!at)
        at = next_place(size);
    void *p = mmap(at, size, prot_of(dr_prot), flags, fd, offs);
    if (p == MAP_FAILED && (dr_prot & DR_MEMPROT_EXEC) && (errno == EPERM || errno == EACCES)) {
        p = mmap(at, size, prot_of(dr_prot & ~(uint)DR_MEMPROT_EXEC), flags, fd, offs);
        *exec = 0;
    }
    return p == MAP_FAILED ? NULL : p;
}

/* set_protection() */
static void set_protection(dr_model_view *v, uint8_t *pc, size_t size, uint dr_prot)
{
    uintptr_t start = (uintptr_t)pc & ~(uintptr_t)(DRM_PAGE - 1);
    size_t len = (size_t)drm_align((uintptr_t)pc + size - start, DRM_PAGE);
    if (!v->exec)
        dr_prot &= ~(uint)DR_MEMPROT_EXEC;
    if (mprotect((void *)start, len, prot_of(dr_prot)) != 0)
        abort();
    drm_mapping_protect((uint8_t *)start, len, dr_prot);
}

void drm_unmap(dr_model_view *v)
{
    if (!v->map)
        return;
    /* back to the reservation */
    if (mmap(v->map, (size_t)drm_align(v->size, DRM_PAGE), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
             MAP_NORESERVE, -1, 0) == MAP_FAILED)
        abort();
    drm_mapping_remove(v->map, (size_t)drm_align(v->size, DRM_PAGE));
    dropped_at = v->map;
    dropped_size = (size_t)drm_align(v->size, DRM_PAGE);
    v->map = NULL;
}

/* call_all_ret(res, = res &&, ...) over a resurrect list, all callbacks
 * advancing the same map pointer. */
static bool call_resurrects(const drm_list *l, drm_info *info, byte *map)
{
    bool res = true;
    unsigned num = l->num;
    for (unsigned idx = 0; idx < num; idx++) {
        drm_resurrect_fn f = (drm_resurrect_fn)l->fn[num - idx - 1];
        res = res && f(DRM_GLOBAL_DCONTEXT, info, &map);
    }
    return res;
}

/* instrument_resurrect_rw(): DR 11.91 guards on the rw list and calls the
 * rx callbacks (dr/NOTES.md, defect 1). */
static bool resurrect_rw(drm_info *info, byte *map)
{
    if (drm.resurrect[DRM_RW].num == 0)
        return true;
    return call_resurrects(drm.opt.fixed_rw_resurrect ? &drm.resurrect[DRM_RW] : &drm.resurrect[DRM_RX], info,
                           map);
}

/* instrument_resurrect_ro(): the same client libraries in the same order. */
static bool resurrect_ro(drm_info *info, byte *map)
{
    const char *c = (const char *)map;
    unsigned i = 0;
    while (*c != '\0') {
        if (i >= drm.nclients || strcmp(drm.client_path[i], c) != 0)
            return false;
        c += strlen(c) + 1;
        i++;
    }
    if (i < drm.nclients)
        return false;
    c++;
    return drm.resurrect[DRM_RO].num == 0 || call_resurrects(&drm.resurrect[DRM_RO], info, (byte *)c);
}

static void md5(const uint8_t *p, size_t n, uint8_t out[16])
{
    MD5_CTX c;
    MD5Init(&c);
    MD5Update(&c, p, n);
    MD5Final(out, &c);
}

dr_model_outcome drm_load(const dr_model_unit *u, const char *path, int for_execution, dr_model_view *view,
                          char *why, size_t why_len)
{
    const dr_model_options *o = &drm.opt;
    dr_model_outcome res = DRM_REFUSED;
    struct stat st;
    uint8_t *map, *pc, *rx_pc, *rwx_pc, *footer;
    uint64_t header_len, data_len, rw_len, rx_len, ro_len, stubs_len;
    uint32_t flags;
    drm_info *info = NULL;
    int fd;

    memset(view, 0, sizeof *view);
    view->exec = 1;
    drm_why(why, why_len, "ok");
    fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < DRH_SIZE) {
        drm_why(why, why_len, "no usable file %s", path);
        if (fd >= 0)
            close(fd);
        return DRM_REFUSED;
    }
    view->size = (size_t)st.st_size;
    /* Ask for max, then restrict pieces; copy-on-write. */
    map = map_file(NULL, view->size, DR_MEMPROT_READ | DR_MEMPROT_WRITE | DR_MEMPROT_EXEC, 0, fd, 0, &view->exec);
    if (!map) {
        close(fd);
        drm_why(why, why_len, "error mapping file");
        return DRM_REFUSED;
    }
    view->map = map;
    loading = view;
    drm_mapping_add(map, (size_t)drm_align(view->size, DRM_PAGE),
                    DR_MEMPROT_READ | DR_MEMPROT_WRITE | (view->exec ? DR_MEMPROT_EXEC : 0));

    header_len = drm_ld64(map + DRH_HEADER_LEN);
    data_len = drm_ld64(map + DRH_DATA_LEN);
    flags = drm_ld32(map + DRH_FLAGS);
    if (drm_ld32(map + DRH_MAGIC) != DRM_MAGIC || header_len > view->size || data_len > view->size - header_len ||
        header_len + data_len < DRF_SIZE ||
        drm_align(header_len + data_len, DRM_PAGE) != drm_align(view->size, DRM_PAGE)) {
        drm_why(why, why_len, "invalid persisted file");
        goto out;
    }
    footer = map + header_len + data_len - DRF_SIZE;
    if (drm_ld32(footer + DRF_MAGIC) != DRM_MAGIC || (flags & DRM_FLAG_CODE_INVALID)) {
        drm_why(why, why_len, "invalid persisted file (footer)");
        goto out;
    }
    if (drm_ld32(map + DRH_VERSION) != DRM_VERSION || header_len != DRH_SIZE) {
        drm_why(why, why_len, "invalid persisted file version");
        goto out;
    }
    if (!(flags & DRM_FLAG_X86_64)) {
        drm_why(why, why_len, "invalid architecture: not AMD64");
        goto out;
    }
    /* Check the file's md5: by default (0x5) only the header's. */
    if (o->persist_load_validation & (DRM_GENFILE_MD5_SHORT | DRM_GENFILE_MD5_COMPLETE)) {
        uint8_t d[16];
        if (o->persist_load_validation & DRM_GENFILE_MD5_SHORT) {
            md5(map, (size_t)header_len, d);
            if (memcmp(d, footer + DRF_SHORT_MD5, 16) != 0) {
                drm_why(why, why_len, "file header md5 mismatch");
                goto out;
            }
        }
        if (o->persist_load_validation & DRM_GENFILE_MD5_COMPLETE) {
            md5(map, (size_t)(header_len + data_len - DRF_SIZE), d);
            if (memcmp(d, footer + DRF_FULL_MD5, 16) != 0) {
                drm_why(why, why_len, "file md5 mismatch");
                goto out;
            }
        }
    }
    /* Consistency with the module, all but its base. */
    if (drm_ld32(map + DRH_MOD_CHECKSUM) != u->module_checksum ||
        drm_ld32(map + DRH_MOD_TIMESTAMP) != u->module_timestamp ||
        drm_ld64(map + DRH_MOD_IMAGE_SIZE) != u->image_size || drm_ld64(map + DRH_MOD_CODE_SIZE) != u->code_size ||
        drm_ld64(map + DRH_MOD_FILE_VERSION) != u->file_version ||
        memcmp(map + DRH_MOD_SHORT_MD5, u->module_short_md5, 16) != 0) {
        drm_why(why, why_len, "module info mismatch");
        goto out;
    }
    /* A moved module is fine on Linux when it has no text relocations. */
    if (drm_ld64(map + DRH_MOD_BASE) != u->module_base && u->has_text_relocs) {
        drm_why(why, why_len, "module base mismatch and text relocations");
        goto out;
    }
    if (drm_ld64(map + DRH_START_OFFS) != u->start_offs || drm_ld64(map + DRH_END_OFFS) != u->end_offs) {
        drm_why(why, why_len, "region mismatch");
        goto out;
    }
    /* persist_check_option_compat() */
    if (drm_ld32(map + DRH_TLS_OFFS_BASE) != u->tls_offs_base) {
        drm_why(why, why_len, "tls offset mismatch");
        goto out;
    }
    if (!(flags & DRM_FLAG_SUPPORT_TRACES)) {
        drm_why(why, why_len, "persisted cache has no trace support");
        goto out;
    }
    if (o->persist_check_options) {
        uint64_t olen = drm_ld64(map + DRH_OPTION_STRING_LEN);
        const char *pers = olen ? (const char *)map + header_len : "";
        const char *now = o->option_string ? o->option_string : "";
        if (olen && memchr(pers, 0, (size_t)olen) == NULL) {
            drm_why(why, why_len, "option string not terminated");
            goto out;
        }
        if (strcmp(now, pers) != 0) {
            drm_why(why, why_len, "options mismatch \"%s\" vs \"%s\"", pers, now);
            goto out;
        }
    }

    stubs_len = drm_ld64(map + DRH_STUBS_LEN) + drm_ld64(map + DRH_IBL_JMP_PREFIX_LEN) +
                drm_ld64(map + DRH_IBL_CALL_PREFIX_LEN) + drm_ld64(map + DRH_IBL_RET_PREFIX_LEN) +
                drm_ld64(map + DRH_TRACE_HEAD_RETURN_PREFIX_LEN) + drm_ld64(map + DRH_FCACHE_RETURN_PREFIX_LEN);
    rw_len = drm_ld64(map + DRH_INSTRUMENT_RW_LEN);
    rx_len = drm_ld64(map + DRH_INSTRUMENT_RX_LEN);
    ro_len = drm_ld64(map + DRH_INSTRUMENT_RO_LEN);
    if ((flags & DRM_FLAG_MAP_RW_SEPARATE) && o->persist_map_rw_separate) {
        size_t map2_size = (size_t)stubs_len + DRF_SIZE;
        size_t ro_size = view->size - map2_size;
        int ro_fd;
        /* The read-only view's size leaves out the client rw data: any
         * makes DR assert (debug) or crash (release): defect 2. */
        if (ro_size != drm_align(header_len + data_len - stubs_len - drm_ld64(map + DRH_VIEW_PAD_LEN) - DRF_SIZE,
                                 DRM_PAGE)) {
            drm_why(why, why_len,
                    "client rw data (instrument_rw_len %llu) with -persist_map_rw_separate: DR's read-only "
                    "view is sized without it; debug DR asserts, release DR crashes (dr/NOTES.md, defect 2)",
                    (unsigned long long)rw_len);
            res = DRM_CRASHED;
            goto out;
        }
        /* Two adjacent views: read-only and shared (no copy-on-write),
         * then the stubs and footer copy-on-write. */
        ro_fd = open(path, O_RDONLY);
        if (ro_fd < 0 ||
            !map_file(map, ro_size, DR_MEMPROT_READ | DR_MEMPROT_EXEC, 1, ro_fd, 0, &view->exec) ||
            !map_file(map + ro_size, map2_size, DR_MEMPROT_READ | DR_MEMPROT_WRITE | DR_MEMPROT_EXEC, 0, fd,
                      (off_t)ro_size, &view->exec)) {
            if (ro_fd >= 0)
                close(ro_fd);
            drm_why(why, why_len, "double perscache mapping failed");
            goto out;
        }
        close(ro_fd);
        view->separate = 1;
        drm_mapping_protect(map, ro_size, DR_MEMPROT_READ | (view->exec ? DR_MEMPROT_EXEC : 0));
        drm_mapping_protect(map + ro_size, map2_size,
                            DR_MEMPROT_READ | DR_MEMPROT_WRITE | (view->exec ? DR_MEMPROT_EXEC : 0));
    }

    info = info_alloc();
    info->base_pc = (app_pc)(uintptr_t)(u->module_base + u->start_offs);
    info->end_pc = (app_pc)(uintptr_t)(u->module_base + u->end_offs);

    /* Process data sections in reverse order. */
    pc = map + header_len + data_len - DRF_SIZE;
    pc -= rw_len;
    view->rw_offset = (uint64_t)(pc - map);
    if (rw_len > 0 && !resurrect_rw(info, pc)) {
        drm_why(why, why_len, "a client's rw resurrect failed");
        goto out;
    }
    pc -= stubs_len;
    rwx_pc = pc;
    if ((uintptr_t)rwx_pc % DRM_PAGE) {
        drm_why(why, why_len, "stubs not on a page: DR asserts ALIGNED(rwx_pc, PAGE_SIZE)");
        res = DRM_CRASHED;
        goto out;
    }
    /* coarse_stubs_create() re-emits the prefixes at rwx_pc.  With client
     * rw data in separate views that place is in the read-only view
     * (defect 2 again, when the sizes happened to pass DR's assert). */
    {
        byte *base;
        size_t size;
        uint prot = 0;
        if (!dr_query_memory(rwx_pc, &base, &size, &prot) || !(prot & DR_MEMPROT_WRITE)) {
            drm_why(why, why_len,
                    "DR re-emits its stub prefixes at file offset %llu, which lies in the read-only view: "
                    "SIGSEGV (client rw data %llu bytes, dr/NOTES.md, defect 2)",
                    (unsigned long long)(rwx_pc - map), (unsigned long long)rw_len);
            res = DRM_CRASHED;
            goto out;
        }
        memset(rwx_pc, 0xe9, (size_t)(stubs_len < 8 ? stubs_len : 8));
    }
    if (o->persist_protect_stubs)
        set_protection(view, rwx_pc, (size_t)(map + header_len + data_len - rwx_pc), DR_MEMPROT_READ | DR_MEMPROT_EXEC);
    pc -= drm_ld64(map + DRH_CACHE_LEN);
    view->cache_offset = (uint64_t)(pc - map);
    pc -= rx_len;
    rx_pc = pc;
    if ((uintptr_t)rx_pc % DRM_PAGE) {
        drm_why(why, why_len,
                "client rx data (instrument_rx_len %llu) leaves rx_pc off a page: DR asserts "
                "ALIGNED(rx_pc, PAGE_SIZE) (dr/NOTES.md, defect 3)",
                (unsigned long long)rx_len);
        res = DRM_CRASHED;
        goto out;
    }
    pc -= drm_ld64(map + DRH_VIEW_PAD_LEN);
    view->rx_offset = (uint64_t)(pc - map);
    if (rx_len > 0 && !call_resurrects(&drm.resurrect[DRM_RX], info, pc)) {
        drm_why(why, why_len, "a client's rx resurrect failed");
        goto out;
    }
    pc -= drm_ld64(map + DRH_PAD_LEN);
    pc -= drm_ld64(map + DRH_STUB_HTABLE_LEN) + drm_ld64(map + DRH_CACHE_HTABLE_LEN);
    pc -= drm_ld64(map + DRH_RCT_HTABLE_LEN) + drm_ld64(map + DRH_RAC_HTABLE_LEN) + drm_ld64(map + DRH_RELOC_LEN);
    pc -= ro_len;
    view->ro_offset = (uint64_t)(pc - map);
    if (ro_len > 0 && !resurrect_ro(info, pc)) {
        drm_why(why, why_len, "client list mismatch or a client's ro resurrect failed");
        goto out;
    }
    if (pc - map < (ptrdiff_t)header_len) {
        drm_why(why, why_len, "sections run into the header: DR asserts");
        res = DRM_CRASHED;
        goto out;
    }
    set_protection(view, map, (size_t)(rx_pc - map), DR_MEMPROT_READ);
    set_protection(view, rx_pc, (size_t)(rwx_pc - rx_pc), DR_MEMPROT_READ | DR_MEMPROT_EXEC);
    res = DRM_LOADED;
out:
    close(fd);
    loading = NULL;
    if (res != DRM_LOADED) {
        if (reuse_after_refusal)
            refused_place = view->map; /* the unit struct is reused anyway (info_free) */
        drm_unmap(view);
        info_free(info);
        return res;
    }
    if (!for_execution) {
        info_free(info);
        return res;
    }
    if (nunits == sizeof units / sizeof units[0])
        abort();
    units[nunits].view = *view;
    units[nunits].info = info;
    nunits++;
    drm_blocks_install(u, map + view->cache_offset,
                       (size_t)(drm_ld64(map + DRH_CACHE_LEN) - drm_ld64(map + DRH_POST_CACHE_PAD_LEN)));
    return res;
}

dr_model_outcome dr_model_load(const dr_model_unit *u, const char *path, dr_model_view *view, char *why,
                               size_t why_len)
{
    dr_model_view v;
    if (!view)
        view = &v;
    return drm_load(u, path, 1, view, why, why_len);
}

void dr_model_unload_all(void)
{
    while (nunits) {
        nunits--;
        drm_unmap(&units[nunits].view);
        info_free(units[nunits].info);
    }
    drm_loaded_clear();
    drm_mappings_clear();
}

void drm_load_reset(void)
{
    free(spare_info);
    spare_info = NULL;
    dropped_at = NULL;
    dropped_size = 0;
}
