/* SPDX-License-Identifier: BSD-2-Clause */
/* XXH3-64 code paths: xxHash's header-only implementation compiled once per
 * instruction set (lib/checksum/checksum_xxh3_*.c), chosen at run time.
 *
 * The packaged libxxhash is built for the distribution's baseline CPU
 * (SSE2 on x86-64), which leaves AVX2 and AVX-512 unused; checking every
 * byte of a resurrected image at full speed needs them.  Every path returns
 * exactly XXH3_64bits(); tests/test_checksum_paths.c holds them to it. */
#ifndef PCACHE_CHECKSUM_XXH3_H
#define PCACHE_CHECKSUM_XXH3_H

#include <stddef.h>
#include <stdint.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

/* Values are xxHash's XXH_VECTOR codes. */
typedef enum checksum_xxh3_path {
    CHECKSUM_XXH3_SCALAR = 0,
    CHECKSUM_XXH3_SSE2 = 1,
    CHECKSUM_XXH3_AVX2 = 2,
    CHECKSUM_XXH3_AVX512 = 3,
    CHECKSUM_XXH3_NEON = 4,
    CHECKSUM_XXH3_VSX = 5,
    CHECKSUM_XXH3_PATH_COUNT = 6
} checksum_xxh3_path;

/* One compiled path.  A streaming state must stay with the path that reset
 * it: the accumulator layout is shared, but each path has its own copy of
 * the default secret that reset points the state at. */
typedef struct checksum_xxh3_ops {
    checksum_xxh3_path path;
    uint64_t (*oneshot)(const void *data, size_t size);
    void (*reset)(XXH3_state_t *st);
    void (*update)(XXH3_state_t *st, const void *data, size_t size);
    uint64_t (*digest)(const XXH3_state_t *st);
    /* update(), also copying the bytes to dst (not overlapping src) */
    void (*update_copy)(XXH3_state_t *st, void *dst, const void *src, size_t size);
    /* oneshot(src, size), also copying the bytes to dst (not overlapping src) */
    uint64_t (*oneshot_copy)(void *dst, const void *src, size_t size);
    int fused_copy; /* update_copy copies in the hashing loop (else after it) */
} checksum_xxh3_ops;

/* The path compiled for this build's baseline flags (always present), and
 * on x86-64 the scalar, SSE2, AVX2 and AVX-512 paths. */
extern const checksum_xxh3_ops checksum_xxh3_baseline_ops;
extern const checksum_xxh3_ops checksum_xxh3_scalar_ops;
extern const checksum_xxh3_ops checksum_xxh3_sse2_ops;
extern const checksum_xxh3_ops checksum_xxh3_avx2_ops;
extern const checksum_xxh3_ops checksum_xxh3_avx512_ops;

/* "scalar", "sse2", "avx2", "avx512", "neon", "vsx". */
const char *checksum_xxh3_path_name(checksum_xxh3_path path);

/* The path's code if it is compiled in and this CPU (and OS) can run it,
 * else NULL. */
const checksum_xxh3_ops *checksum_xxh3_ops_for(checksum_xxh3_path path);

/* The paths chosen for each size class of input (one-shot, and while
 * copying): checksum_xxh3_dispatch.c times every runnable path at the
 * first checksum of the process, at one size per class, and keeps the
 * fastest of each kind for each class.  Classes: < 512 bytes, < 2 KiB,
 * < 8 KiB, larger. */
#define CHECKSUM_XXH3_SIZE_CLASSES 4

typedef struct checksum_xxh3_choice {
    const checksum_xxh3_ops *oneshot[CHECKSUM_XXH3_SIZE_CLASSES];
    const checksum_xxh3_ops *copy[CHECKSUM_XXH3_SIZE_CLASSES];
} checksum_xxh3_choice;

/* The choice once made (NULL before). */
extern const checksum_xxh3_choice *checksum_xxh3_chosen;
/* Makes the choice if no thread has; the choice to use now (while another
 * thread makes it: the widest path for every class, without waiting). */
const checksum_xxh3_choice *checksum_xxh3_choose(void);

static inline unsigned checksum_xxh3_size_class(size_t len)
{
    return (unsigned)(len >= 512) + (unsigned)(len >= 2048) + (unsigned)(len >= 8192);
}

/* Safe from any thread; after the first call, one load and an index,
 * inlined: a segment's checksums are many and short. */
static inline const checksum_xxh3_choice *checksum_xxh3_choice_now(void)
{
    const checksum_xxh3_choice *p = __atomic_load_n(&checksum_xxh3_chosen, __ATOMIC_ACQUIRE);
    return __builtin_expect(p != NULL, 1) ? p : checksum_xxh3_choose();
}

/* The path for a one-shot checksum of len bytes. */
static inline const checksum_xxh3_ops *checksum_xxh3_ops_oneshot(size_t len)
{
    return checksum_xxh3_choice_now()->oneshot[checksum_xxh3_size_class(len)];
}

/* The path for hashing len bytes while copying them (oneshot_copy). */
static inline const checksum_xxh3_ops *checksum_xxh3_ops_copy(size_t len)
{
    return checksum_xxh3_choice_now()->copy[checksum_xxh3_size_class(len)];
}

/* The one-shot path for large inputs. */
static inline const checksum_xxh3_ops *checksum_xxh3_ops_best(void)
{
    return checksum_xxh3_ops_oneshot(SIZE_MAX);
}

/* The path for streaming states, which persist feeds through update_copy
 * in chunks of up to 64 KiB: the copying path for large inputs. */
static inline const checksum_xxh3_ops *checksum_xxh3_ops_streaming(void)
{
    return checksum_xxh3_ops_copy(SIZE_MAX);
}

/* What the choice was made from: for each class, the size timed and the
 * least ns per call of each runnable path timed there (0: not timed, or
 * no longer: more than twice the fastest at a smaller size), or
 * measured = 0 when no clock could be read (then the widest path was
 * taken).  NULL while another thread is still timing. */
typedef struct checksum_xxh3_timing {
    int measured;
    unsigned bytes[CHECKSUM_XXH3_SIZE_CLASSES];
    double oneshot_ns[CHECKSUM_XXH3_SIZE_CLASSES][CHECKSUM_XXH3_PATH_COUNT];
    double copy_ns[CHECKSUM_XXH3_SIZE_CLASSES][CHECKSUM_XXH3_PATH_COUNT];
} checksum_xxh3_timing;

const checksum_xxh3_timing *checksum_xxh3_timings(void);

#endif
