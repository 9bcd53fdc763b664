/* SPDX-License-Identifier: BSD-2-Clause */
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

/* The path for one-shot checksums: the widest runnable one, except AVX2
 * rather than AVX-512 on AMD processors.  A pure function of CPUID (read through the compiler's CPU model, initialised
 * once by the runtime): no state of ours, so it is safe from any thread and
 * cheap enough to call per checksum. */
const checksum_xxh3_ops *checksum_xxh3_ops_best(void);

/* The path for streaming states, which persist feeds through update_copy:
 * AVX2 where the CPU has it, else the one-shot choice.  With the copy in
 * the loop, AVX-512 gains nothing over AVX2, and it loses where the CPU
 * splits 512-bit operations in two (Zen 4: docs/PERFORMANCE.md).  Equally a
 * pure function of CPUID. */
const checksum_xxh3_ops *checksum_xxh3_ops_streaming(void);

#endif
