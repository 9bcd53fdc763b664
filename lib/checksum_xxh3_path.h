/* The body of one XXH3-64 code path, included once by each
 * lib/checksum_xxh3_<path>.c.  The includer defines
 * CHECKSUM_XXH3_PATH_SUFFIX (the path's name in symbols), XXH_VECTOR for
 * all but the baseline path, and CHECKSUM_XXH3_TARGET_BEGIN, a pragma that
 * compiles the rest of the file for the path's instruction set.
 *
 * The instruction set is chosen by pragma rather than by -m flags so that
 * these files are ordinary entries of libpcache_sources: any build that
 * compiles the library's sources (the fuzzers with their sanitizers, say)
 * gets every path, compiled the way it compiles the rest.
 *
 * xxHash's implementation comes inlined from the packaged header
 * (XXH_INLINE_ALL), so each path has its own static copy of it. */
#ifndef PCACHE_CHECKSUM_XXH3_PATH_H
#define PCACHE_CHECKSUM_XXH3_PATH_H

#ifndef CHECKSUM_XXH3_PATH_SUFFIX
#error "define CHECKSUM_XXH3_PATH_SUFFIX before including checksum_xxh3_path.h"
#endif

/* Everything xxhash.h includes, included before the target pragma so that
 * the C library's declarations are not given the path's target. */
#include <assert.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "checksum_xxh3.h"

/* checksum_xxh3.h gave us the packaged XXH3_state_t, the type callers
 * hold.  Keep a name for it: the inlined copy below renames XXH3_state_t. */
typedef XXH3_state_t public_state;

#ifdef CHECKSUM_XXH3_TARGET_BEGIN
CHECKSUM_XXH3_TARGET_BEGIN
#endif

#define XXH_INLINE_ALL
#include <xxhash.h>

/* The inlined state type is the same declaration under another name; the
 * callers' states are handed to it, so the layouts must agree. */
_Static_assert(sizeof(public_state) == sizeof(XXH3_state_t), "XXH3 state size differs");
_Static_assert(_Alignof(public_state) == _Alignof(XXH3_state_t), "XXH3 state alignment differs");
_Static_assert(offsetof(public_state, extSecret) == offsetof(XXH3_state_t, extSecret),
               "XXH3 state layout differs");

#define PASTE2(a, b) a##b
#define PASTE(a, b) PASTE2(a, b)
#define NAME(what) PASTE(PASTE(checksum_xxh3_, CHECKSUM_XXH3_PATH_SUFFIX), what)

static uint64_t NAME(_oneshot)(const void *data, size_t size)
{
    return XXH3_64bits(data, size);
}

static void NAME(_reset)(public_state *st)
{
    XXH3_64bits_reset((XXH3_state_t *)(void *)st);
}

static void NAME(_update)(public_state *st, const void *data, size_t size)
{
    /* Fails only for a NULL input with a nonzero size, which callers
     * never pass. */
    (void)XXH3_64bits_update((XXH3_state_t *)(void *)st, data, size);
}

static uint64_t NAME(_digest)(const public_state *st)
{
    return XXH3_64bits_digest((const XXH3_state_t *)(const void *)st);
}

#ifdef CHECKSUM_XXH3_TARGET_END
CHECKSUM_XXH3_TARGET_END
#endif

const checksum_xxh3_ops NAME(_ops) = {
    .path = (checksum_xxh3_path)XXH_VECTOR,
    .oneshot = NAME(_oneshot),
    .reset = NAME(_reset),
    .update = NAME(_update),
    .digest = NAME(_digest),
};

#endif
