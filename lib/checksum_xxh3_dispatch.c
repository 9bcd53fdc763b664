/* SPDX-License-Identifier: BSD-2-Clause */
/* Choosing an XXH3 code path at run time, from what the CPU reports.
 *
 * The choice is recomputed on every call rather than cached: it costs a
 * few loads from the compiler runtime's CPU model (filled once from CPUID
 * before main, or by __builtin_cpu_init() here for code that runs earlier,
 * e.g. under DynamoRIO's private loader), and leaves the library without
 * mutable state of its own. */
#include "checksum_xxh3.h"
#include "checksum_xxh3_x86.h"

const char *checksum_xxh3_path_name(checksum_xxh3_path path)
{
    switch (path) {
    case CHECKSUM_XXH3_SCALAR:
        return "scalar";
    case CHECKSUM_XXH3_SSE2:
        return "sse2";
    case CHECKSUM_XXH3_AVX2:
        return "avx2";
    case CHECKSUM_XXH3_AVX512:
        return "avx512";
    case CHECKSUM_XXH3_NEON:
        return "neon";
    case CHECKSUM_XXH3_VSX:
        return "vsx";
    case CHECKSUM_XXH3_PATH_COUNT:
        break;
    }
    return "unknown";
}

const checksum_xxh3_ops *checksum_xxh3_ops_for(checksum_xxh3_path path)
{
#if CHECKSUM_XXH3_X86
    /* __builtin_cpu_supports() also checks, through XGETBV, that the OS
     * saves the vector registers these paths use. */
    __builtin_cpu_init();
    switch (path) {
    case CHECKSUM_XXH3_SCALAR:
        return &checksum_xxh3_scalar_ops;
    case CHECKSUM_XXH3_SSE2:
        return __builtin_cpu_supports("sse2") ? &checksum_xxh3_sse2_ops : NULL;
    case CHECKSUM_XXH3_AVX2:
        return __builtin_cpu_supports("avx2") ? &checksum_xxh3_avx2_ops : NULL;
    case CHECKSUM_XXH3_AVX512:
        return __builtin_cpu_supports("avx512f") ? &checksum_xxh3_avx512_ops : NULL;
    default:
        break;
    }
#endif
    return path == checksum_xxh3_baseline_ops.path ? &checksum_xxh3_baseline_ops : NULL;
}

const checksum_xxh3_ops *checksum_xxh3_ops_best(void)
{
#if CHECKSUM_XXH3_X86
    __builtin_cpu_init();
    /* AMD's AVX-512 (Zen 4) runs 512-bit operations as two halves: XXH3
     * on it is no faster than AVX2 from cache and a third slower from
     * memory (docs/PERFORMANCE.md).  Elsewhere, xxHash's own preference. */
    if (__builtin_cpu_supports("avx512f") && !__builtin_cpu_is("amd"))
        return &checksum_xxh3_avx512_ops;
    if (__builtin_cpu_supports("avx2"))
        return &checksum_xxh3_avx2_ops;
#endif
    return &checksum_xxh3_baseline_ops;
}

const checksum_xxh3_ops *checksum_xxh3_ops_streaming(void)
{
#if CHECKSUM_XXH3_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        return &checksum_xxh3_avx2_ops;
#endif
    return checksum_xxh3_ops_best();
}
