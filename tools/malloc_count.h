/* SPDX-License-Identifier: BSD-2-Clause */
/* Counting the heap allocations this process makes, for pcache-bench's
 * check that resurrecting allocates nothing.  See malloc_count.c. */
#ifndef PCACHE_TOOLS_MALLOC_COUNT_H
#define PCACHE_TOOLS_MALLOC_COUNT_H

/* 1 when the counting allocator is linked in (not under a sanitizer, which
 * brings its own allocator). */
int malloc_count_active(void);

/* Allocations (malloc, calloc, realloc, aligned_alloc, posix_memalign,
 * memalign, valloc, pvalloc) made so far by this process. */
unsigned long malloc_count(void);

#endif
