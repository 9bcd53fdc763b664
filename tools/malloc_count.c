/* SPDX-License-Identifier: BSD-2-Clause */
/* A counting allocator: the program's own malloc family, each entry
 * counting the call and handing it to glibc's allocator through its
 * __libc_* entry points.  Defining these in the executable interposes them
 * for the whole process, libpcache included, as glibc documents for
 * replacing malloc; what one function allocates another may free.
 *
 * Under AddressSanitizer (which replaces the allocator itself) nothing is
 * interposed and malloc_count_active() says so. */
#define _GNU_SOURCE
#include "malloc_count.h"

#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define MALLOC_COUNT_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(thread_sanitizer)
#define MALLOC_COUNT_OFF 1
#endif
#endif

#ifdef MALLOC_COUNT_OFF

int malloc_count_active(void)
{
    return 0;
}

unsigned long malloc_count(void)
{
    return 0;
}

#else

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void *__libc_valloc(size_t size);
void *__libc_pvalloc(size_t size);
void __libc_free(void *p);

static unsigned long allocations;

static void counted(void)
{
    __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED);
}

int malloc_count_active(void)
{
    return 1;
}

unsigned long malloc_count(void)
{
    return __atomic_load_n(&allocations, __ATOMIC_RELAXED);
}

/* The replacements take the C library's names, exported (the project
 * builds with -fvisibility=hidden) so that shared libraries' calls reach
 * them too. */
#define EXPORTED __attribute__((visibility("default")))

EXPORTED void *malloc(size_t size)
{
    counted();
    return __libc_malloc(size);
}

EXPORTED void *calloc(size_t n, size_t size)
{
    counted();
    return __libc_calloc(n, size);
}

EXPORTED void *realloc(void *p, size_t size)
{
    counted();
    return __libc_realloc(p, size);
}

EXPORTED void free(void *p)
{
    __libc_free(p);
}

EXPORTED void *memalign(size_t align, size_t size)
{
    counted();
    return __libc_memalign(align, size);
}

EXPORTED void *aligned_alloc(size_t align, size_t size)
{
    counted();
    return __libc_memalign(align, size);
}

EXPORTED int posix_memalign(void **out, size_t align, size_t size)
{
    void *p;
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    counted();
    p = __libc_memalign(align, size);
    if (!p && size)
        return ENOMEM;
    *out = p;
    return 0;
}

EXPORTED void *valloc(size_t size)
{
    counted();
    return __libc_valloc(size);
}

EXPORTED void *pvalloc(size_t size)
{
    counted();
    return __libc_pvalloc(size);
}

#endif
