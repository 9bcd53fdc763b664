/* SPDX-License-Identifier: BSD-2-Clause */
/* 64-byte-aligned blocks (XXH3 states, the persist writer) from malloc and
 * free only.  Inside a DynamoRIO client, DR's private loader redirects
 * malloc, calloc, realloc and free to DR's heap but not aligned_alloc or
 * posix_memalign, which then take memory from the private libc's own heap:
 * freeing such a block with free() crashes the client (found running the
 * DR adapter under drrun -persist, docs/DYNAMORIO.md). */
#ifndef PCACHE_ALIGNED_MEM_H
#define PCACHE_ALIGNED_MEM_H

#include <stdint.h>
#include <stdlib.h>

#define ALIGNED_MEM_ALIGN 64u

/* size bytes at a multiple of 64, or NULL.  Release with aligned_mem_free. */
static inline void *aligned_mem_alloc(size_t size)
{
    uint8_t *raw, *p;
    if (size > SIZE_MAX - ALIGNED_MEM_ALIGN - sizeof(void *))
        return NULL;
    raw = malloc(size + ALIGNED_MEM_ALIGN + sizeof(void *));
    if (!raw)
        return NULL;
    p = (uint8_t *)(((uintptr_t)raw + sizeof(void *) + ALIGNED_MEM_ALIGN - 1) & ~(uintptr_t)(ALIGNED_MEM_ALIGN - 1));
    ((void **)p)[-1] = raw;
    return p;
}

static inline void aligned_mem_free(void *p)
{
    if (p)
        free(((void **)p)[-1]);
}

#endif
