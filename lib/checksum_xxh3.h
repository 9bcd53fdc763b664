/* XXH3-64 code paths: xxHash's header-only implementation compiled once per
 * instruction set (lib/checksum_xxh3_path.c), chosen at run time.
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

/* The choice once made (NULL before): checksum_xxh3_dispatch.c. */
extern const checksum_xxh3_ops *checksum_xxh3_chosen_oneshot, *checksum_xxh3_chosen_copy;
/* Makes the choice if no thread has (or waits for none): the paths to use
 * now, of each kind. */
const checksum_xxh3_ops *checksum_xxh3_choose_oneshot(void);
const checksum_xxh3_ops *checksum_xxh3_choose_copy(void);

/* The path for one-shot checksums: of the runnable paths, the one that
 * hashed a few KiB fastest when timed on this machine (at the first call
 * of the process, in checksum_xxh3_dispatch.c).  Safe from any thread; after
 * the first call, one load, inlined: a segment's checksums are many and
 * short. */
static inline const checksum_xxh3_ops *checksum_xxh3_ops_best(void)
{
    const checksum_xxh3_ops *p = __atomic_load_n(&checksum_xxh3_chosen_oneshot, __ATOMIC_ACQUIRE);
    return __builtin_expect(p != NULL, 1) ? p : checksum_xxh3_choose_oneshot();
}

/* The path for hashing while copying (oneshot_copy, and the streaming
 * states persist feeds through update_copy): the fastest at oneshot_copy,
 * timed alongside.  With the copy in the loop the widest path is not
 * always the fastest. */
static inline const checksum_xxh3_ops *checksum_xxh3_ops_streaming(void)
{
    const checksum_xxh3_ops *p = __atomic_load_n(&checksum_xxh3_chosen_copy, __ATOMIC_ACQUIRE);
    return __builtin_expect(p != NULL, 1) ? p : checksum_xxh3_choose_copy();
}

/* What the choice was made from: the least ns per call of each runnable
 * path over `bytes` bytes (0 for paths not run), or measured = 0 when no
 * clock could be read (then the widest path was taken).  NULL while
 * another thread is still timing. */
typedef struct checksum_xxh3_timing {
    int measured;
    unsigned bytes;
    double oneshot_ns[CHECKSUM_XXH3_PATH_COUNT];
    double copy_ns[CHECKSUM_XXH3_PATH_COUNT];
} checksum_xxh3_timing;

const checksum_xxh3_timing *checksum_xxh3_timings(void);

#endif
