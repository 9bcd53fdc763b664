/* SPDX-License-Identifier: BSD-2-Clause */
/* The size and persist callbacks of a client that registers with DR
 * directly (dr_register_persist_*), without the adapter, and stores
 * nothing: what the tests and the fuzz target that put such a client
 * beside the adapter register, each with a resurrect callback of its own
 * that watches the calls.  After dr_api.h. */
#ifndef PCACHE_DR_RAW_CLIENT_H
#define PCACHE_DR_RAW_CLIENT_H

static inline size_t raw_size(void *drcontext, void *perscxt, size_t file_offs, void **user_data)
{
    (void)drcontext;
    (void)perscxt;
    (void)file_offs;
    (void)user_data;
    return 0;
}

static inline bool raw_persist(void *drcontext, void *perscxt, file_t fd, void *user_data)
{
    (void)drcontext;
    (void)perscxt;
    (void)fd;
    (void)user_data;
    return true;
}

#endif
