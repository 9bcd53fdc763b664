/* SPDX-License-Identifier: BSD-2-Clause */
/* The model of DR's coarse_unit_persist(): the merge with a file on disk,
 * coarse_unit_set_persist_data()'s sizes and offsets, the patch event,
 * and the writes in DR's order with DR's padding, ending with the footer
 * and its MD5s.  Follows core/perscache.c and core/lib/instrument.c of
 * DynamoRIO 11.91 step by step; the comments name DR's functions. */
#include <fcntl.h>
#include <md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dr_model_internal.h"

char drm_thread_dcontext[64];

typedef struct persist_ctx {
    const dr_model_unit *u;
    drm_info info;
    int fd;
    uint8_t *cache;      /* info->cache_start_pc .. stubs_end_pc */
    size_t cache_total;  /* cache_len + prefixes + stubs */
    char *why;
    size_t why_len;
    dr_model_outcome crash; /* DRM_CRASHED when DR would have asserted */
} persist_ctx;

static uint64_t stubs_and_prefixes(const dr_model_unit *u)
{
    return u->stubs_len + u->ibl_jmp_prefix_len + u->ibl_call_prefix_len + u->ibl_ret_prefix_len +
           u->trace_head_return_prefix_len + u->fcache_return_prefix_len;
}

/* call_all_ret(sz, +=, ...) over a size list: reverse registration order,
 * each at file_offs + what the ones before took, user_data by position. */
static size_t call_sizes(int c, void *perscxt, size_t file_offs, size_t sz)
{
    unsigned num = drm.size[c].num;
    for (unsigned idx = 0; idx < num; idx++) {
        drm_size_fn f = (drm_size_fn)drm.size[c].fn[num - idx - 1];
        sz += f(drm_thread_dcontext, perscxt, file_offs + sz, &drm.persist_user_data[idx]);
    }
    return sz;
}

static size_t client_list_len(void)
{
    size_t sz = 0;
    for (unsigned i = 0; i < drm.nclients; i++)
        sz += strlen(drm.client_path[i]) + 1;
    return sz + 1; /* double NUL ends it */
}

/* instrument_persist_*_size(): CLIENT_ASSERT(CHECK_TRUNCATE_TYPE_uint). */
static int size_fits(persist_ctx *pc, size_t sz, const char *cls)
{
    if (sz > 0xffffffffu) {
        drm_why(pc->why, pc->why_len, "%s size %zu: DR asserts \"persisted cache size too large\"", cls, sz);
        pc->crash = DRM_CRASHED;
        return 0;
    }
    return 1;
}

static int write_all(persist_ctx *pc, const void *buf, size_t n)
{
    if (n == 0)
        return 1;
    if (dr_write_file(pc->fd, buf, n) != (ssize_t)n) {
        drm_why(pc->why, pc->why_len, "unable to write persistent cache file");
        return 0;
    }
    return 1;
}

/* pad_persist_file(): DR has no page of zeros, it writes the cache start. */
static int pad_file(persist_ctx *pc, size_t bytes)
{
    if (bytes >= 64 * 1024) {
        drm_why(pc->why, pc->why_len, "pad_persist_file(%zu): DR asserts bytes < 64K", bytes);
        pc->crash = DRM_CRASHED;
        return 0;
    }
    while (bytes > 0) {
        size_t n = bytes < pc->cache_total ? bytes : pc->cache_total;
        if (!write_all(pc, pc->cache, n))
            return 0;
        bytes -= n;
    }
    return 1;
}

/* call_all_ret(res, = res &&, ...) over a persist list. */
static bool call_persists(int c, persist_ctx *pc)
{
    bool res = true;
    unsigned num = drm.persist[c].num;
    for (unsigned idx = 0; idx < num; idx++) {
        drm_persist_fn f = (drm_persist_fn)drm.persist[c].fn[num - idx - 1];
        res = res && f(drm_thread_dcontext, &pc->info, pc->fd, drm.persist_user_data[idx]);
    }
    return res;
}

/* instrument_persist_section(), with instrument_persist_ro/rx/rw. */
static int persist_section(persist_ctx *pc, int c, size_t len)
{
    off_t pre, post;
    bool res = true;

    if (len == 0)
        return 1;
    pre = lseek(pc->fd, 0, SEEK_CUR);
    if (c == DRM_RO) {
        for (unsigned i = 0; i < drm.nclients && res; i++)
            res = write_all(pc, drm.client_path[i], strlen(drm.client_path[i]) + 1);
        res = res && write_all(pc, "", 1);
        if (res && drm.size[DRM_RO].num > 0)
            res = call_persists(DRM_RO, pc);
    } else if (drm.persist[c].num > 0) {
        res = call_persists(c, pc);
    }
    if (!res) {
        drm_why(pc->why, pc->why_len, "unable to write client data to pcache file (%s)",
                c == DRM_RO ? "ro" : c == DRM_RX ? "rx" : "rw");
        return 0;
    }
    post = lseek(pc->fd, 0, SEEK_CUR);
    if ((size_t)(post - pre) > len) {
        drm_why(pc->why, pc->why_len, "%s clients wrote %lld bytes into a %zu-byte slot: DR asserts",
                c == DRM_RO ? "ro" : c == DRM_RX ? "rx" : "rw", (long long)(post - pre), len);
        pc->crash = DRM_CRASHED;
        return 0;
    }
    return pad_file(pc, len - (size_t)(post - pre));
}

static void md5(const uint8_t *p, size_t n, uint8_t out[16])
{
    MD5_CTX c;
    MD5Init(&c);
    MD5Update(&c, p, n);
    MD5Final(out, &c);
}

/* coarse_unit_merge_with_disk(): the unit is fresh (not itself loaded
 * from a pcache), so any non-empty file on disk is loaded to merge with,
 * resurrect callbacks included. */
static dr_model_outcome merge_with_disk(const dr_model_unit *u, const char *path, char *why, size_t why_len)
{
    struct stat st;
    dr_model_view v;
    dr_model_outcome o;

    if (!drm.opt.coarse_lone_merge && !drm.opt.coarse_disk_merge)
        return DRM_LOADED;
    if (stat(path, &st) != 0 || st.st_size == 0)
        return DRM_LOADED;
    o = drm_load(u, path, 0, &v, why, why_len);
    if (o == DRM_CRASHED)
        return o;
    if (o == DRM_LOADED) {
        drm.merges++;
        drm_unmap(&v); /* the merged-with unit is freed after coarse_unit_merge */
    }
    return DRM_LOADED;
}

dr_model_outcome dr_model_persist(const dr_model_unit *u, const char *path, char *why, size_t why_len)
{
    const dr_model_options *o = &drm.opt;
    persist_ctx pc;
    uint8_t h[DRH_SIZE], footer[DRF_SIZE];
    uint64_t x_offs, data_len, pad_len, view_pad_len = 0, ro_len, rx_len, rw_len, opt_len;
    uint32_t flags;
    char tmp[4096];
    dr_model_outcome res = DRM_REFUSED;
    size_t sz;

    memset(&pc, 0, sizeof pc);
    pc.u = u;
    pc.why = why;
    pc.why_len = why_len;
    pc.fd = -1;
    pc.info.base_pc = (app_pc)(uintptr_t)(u->module_base + u->start_offs);
    pc.info.end_pc = (app_pc)(uintptr_t)(u->module_base + u->end_offs);
    drm_why(why, why_len, "ok");

    if (merge_with_disk(u, path, why, why_len) == DRM_CRASHED)
        return DRM_CRASHED;

    /* The frozen cache, its prefixes and stubs (the fake code cache). */
    pc.cache_total = (size_t)(u->cache_len + stubs_and_prefixes(u));
    pc.cache = calloc(1, pc.cache_total);
    if (!pc.cache)
        abort();
    memset(pc.cache, 0xcc, (size_t)u->cache_len);
    memset(pc.cache + u->cache_len, 0xf4, pc.cache_total - (size_t)u->cache_len);
    drm_blocks_serialize(u, pc.cache, (size_t)(u->cache_len - u->post_cache_pad_len));

    /* coarse_unit_set_persist_data() */
    memset(h, 0, sizeof h);
    flags = u->flags | DRM_FLAG_X86_64;
    x_offs = DRH_SIZE;
    opt_len = o->option_string && o->option_string[0] ? drm_align(strlen(o->option_string) + 1, DRM_CLIENT_ALIGNMENT)
                                                       : 0;
    x_offs += opt_len;
    sz = call_sizes(DRM_RO, &pc.info, (size_t)x_offs, client_list_len());
    if (!size_fits(&pc, sz, "ro"))
        goto out;
    ro_len = drm_align((uint32_t)sz, DRM_CLIENT_ALIGNMENT);
    x_offs += ro_len;
    x_offs += 0; /* reloc_len: NYI in DR */
    x_offs += u->rac_htable_len + u->rct_htable_len + u->stub_htable_len + u->cache_htable_len;
    data_len = x_offs - DRH_SIZE;
    pad_len = drm_align(x_offs, DRM_PAGE) - x_offs;
    data_len += pad_len;
    sz = drm.size[DRM_RX].num ? call_sizes(DRM_RX, &pc.info, (size_t)(x_offs + pad_len), 0) : 0;
    if (!size_fits(&pc, sz, "rx"))
        goto out;
    rx_len = drm_align((uint32_t)sz, DRM_CLIENT_ALIGNMENT);
    data_len += rx_len;
    if (o->persist_map_rw_separate) {
        uint64_t rwx_offs = x_offs + pad_len + u->cache_len + rx_len;
        view_pad_len = drm_align(rwx_offs, DRM_PAGE) - rwx_offs;
        flags |= DRM_FLAG_MAP_RW_SEPARATE;
    }
    data_len += view_pad_len;
    data_len += u->cache_len + stubs_and_prefixes(u);
    sz = drm.size[DRM_RW].num ? call_sizes(DRM_RW, &pc.info, (size_t)(DRH_SIZE + data_len), 0) : 0;
    if (!size_fits(&pc, sz, "rw"))
        goto out;
    rw_len = drm_align((uint32_t)sz, DRM_CLIENT_ALIGNMENT);
    data_len += rw_len;
    data_len += DRF_SIZE;
    if (data_len > 0x7fffffffu) {
        drm_why(why, why_len, "data_len %llu: DR asserts the file stays within 2 GB", (unsigned long long)data_len);
        res = DRM_CRASHED;
        goto out;
    }

    drm_st32(h + DRH_MAGIC, DRM_MAGIC);
    drm_st32(h + DRH_VERSION, DRM_VERSION);
    drm_st64(h + DRH_HEADER_LEN, DRH_SIZE);
    drm_st64(h + DRH_DATA_LEN, data_len);
    drm_st32(h + DRH_FLAGS, flags);
    drm_st64(h + DRH_MOD_BASE, u->module_base);
    drm_st32(h + DRH_MOD_CHECKSUM, u->module_checksum);
    drm_st32(h + DRH_MOD_TIMESTAMP, u->module_timestamp);
    drm_st64(h + DRH_MOD_IMAGE_SIZE, u->image_size);
    drm_st64(h + DRH_MOD_CODE_SIZE, u->code_size);
    drm_st64(h + DRH_MOD_FILE_VERSION, u->file_version);
    memcpy(h + DRH_MOD_SHORT_MD5, u->module_short_md5, 16);
    drm_st64(h + DRH_START_OFFS, u->start_offs);
    drm_st64(h + DRH_END_OFFS, u->end_offs);
    drm_st32(h + DRH_TLS_OFFS_BASE, u->tls_offs_base);
    drm_st64(h + DRH_INSTRUMENT_RW_LEN, rw_len);
    drm_st64(h + DRH_STUBS_LEN, u->stubs_len);
    drm_st64(h + DRH_IBL_JMP_PREFIX_LEN, u->ibl_jmp_prefix_len);
    drm_st64(h + DRH_IBL_CALL_PREFIX_LEN, u->ibl_call_prefix_len);
    drm_st64(h + DRH_IBL_RET_PREFIX_LEN, u->ibl_ret_prefix_len);
    drm_st64(h + DRH_TRACE_HEAD_RETURN_PREFIX_LEN, u->trace_head_return_prefix_len);
    drm_st64(h + DRH_FCACHE_RETURN_PREFIX_LEN, u->fcache_return_prefix_len);
    drm_st64(h + DRH_CACHE_LEN, u->cache_len);
    drm_st64(h + DRH_POST_CACHE_PAD_LEN, u->post_cache_pad_len);
    drm_st64(h + DRH_PAD_LEN, pad_len);
    drm_st64(h + DRH_INSTRUMENT_RX_LEN, rx_len);
    drm_st64(h + DRH_VIEW_PAD_LEN, view_pad_len);
    drm_st64(h + DRH_STUB_HTABLE_LEN, u->stub_htable_len);
    drm_st64(h + DRH_CACHE_HTABLE_LEN, u->cache_htable_len);
    drm_st64(h + DRH_RCT_HTABLE_LEN, u->rct_htable_len);
    drm_st64(h + DRH_RAC_HTABLE_LEN, u->rac_htable_len);
    drm_st64(h + DRH_RELOC_LEN, 0);
    drm_st64(h + DRH_INSTRUMENT_RO_LEN, ro_len);
    drm_st64(h + DRH_OPTION_STRING_LEN, opt_len);

    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    pc.fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (pc.fd < 0) {
        drm_why(why, why_len, "unable to open temp file %s", tmp);
        goto out;
    }

    /* instrument_persist_patch(): once, over the whole cache, before any
     * write. */
    {
        bool ok = true;
        unsigned num = drm.patch.num;
        for (unsigned idx = 0; idx < num; idx++) {
            drm_patch_fn f = (drm_patch_fn)drm.patch.fn[num - idx - 1];
            ok = ok && f(drm_thread_dcontext, &pc.info, pc.cache, (size_t)(u->cache_len - u->post_cache_pad_len),
                         drm.persist_user_data[idx]);
        }
        if (!ok) {
            drm_why(why, why_len, "client unable to patch module: not persisting");
            goto out;
        }
    }

    if (!write_all(&pc, h, sizeof h))
        goto out;
    if (opt_len) {
        size_t len = strlen(o->option_string) + 1;
        if (!write_all(&pc, o->option_string, len) || !pad_file(&pc, (size_t)opt_len - len))
            goto out;
    }
    if (!persist_section(&pc, DRM_RO, (size_t)ro_len))
        goto out;
    /* rac, rct, cache and stub hash tables: DR's own bytes */
    if (!pad_file(&pc, (size_t)u->rac_htable_len) || !pad_file(&pc, (size_t)u->rct_htable_len) ||
        !pad_file(&pc, (size_t)u->cache_htable_len) || !pad_file(&pc, (size_t)u->stub_htable_len) ||
        !pad_file(&pc, (size_t)pad_len))
        goto out;
    if (!persist_section(&pc, DRM_RX, (size_t)rx_len))
        goto out;
    if (!pad_file(&pc, (size_t)view_pad_len))
        goto out;
    if (!write_all(&pc, pc.cache, pc.cache_total))
        goto out;
    if (!persist_section(&pc, DRM_RW, (size_t)rw_len))
        goto out;

    memset(footer, 0, sizeof footer);
    if (o->persist_gen_validation & DRM_GENFILE_MD5_COMPLETE) {
        size_t n = (size_t)(DRH_SIZE + data_len - DRF_SIZE);
        uint8_t *all = malloc(n);
        if (!all || pread(pc.fd, all, n, 0) != (ssize_t)n)
            abort();
        md5(all, n, footer + DRF_FULL_MD5);
        free(all);
    }
    if (o->persist_gen_validation & DRM_GENFILE_MD5_SHORT)
        md5(h, DRH_SIZE, footer + DRF_SHORT_MD5);
    drm_st32(footer + DRF_MAGIC, DRM_MAGIC);
    if (!write_all(&pc, footer, sizeof footer))
        goto out;
    close(pc.fd);
    pc.fd = -1;
    if (rename(tmp, path) != 0) {
        drm_why(why, why_len, "unable to rename to %s", path);
        goto out;
    }
    res = DRM_LOADED;
out:
    if (pc.fd >= 0) {
        close(pc.fd);
        unlink(tmp);
    }
    free(pc.cache);
    return pc.crash == DRM_CRASHED ? DRM_CRASHED : res;
}
