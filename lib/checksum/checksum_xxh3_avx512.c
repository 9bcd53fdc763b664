/* SPDX-License-Identifier: BSD-2-Clause */
/* XXH3-64 with AVX-512F (Skylake-SP, Ice Lake, Zen 4 and later). */
#include "checksum_xxh3_x86.h"

#if CHECKSUM_XXH3_X86
/* How far ahead the long loop prefetches.  xxhash.h 0.8.1 prefetches 384
 * bytes ahead on every path but GCC's AVX-512 one (512; clang: 320
 * everywhere), and the packaged libxxhash builds its own AVX-512 path
 * (xxh_x86dispatch.c) at 384.  At 512 this path read from memory a third
 * slower than at 384, and than the packaged AVX-512 path (16 and 64 MiB
 * inputs, on AMD Zen 4 and Zen 5: docs/PERFORMANCE.md), which is what had
 * made AVX-512 look slow there.  All paths now prefetch alike, as the
 * packaged library's do. */
#if !defined(__clang__) && !defined(XXH_PREFETCH_DIST)
#define XXH_PREFETCH_DIST 384
#endif
#define CHECKSUM_XXH3_PATH_SUFFIX avx512
#define XXH_VECTOR XXH_AVX512
#define CHECKSUM_XXH3_TARGET_BEGIN CHECKSUM_XXH3_X86_TARGET_BEGIN("avx512f")
#define CHECKSUM_XXH3_TARGET_END CHECKSUM_XXH3_X86_TARGET_END
#include "checksum_xxh3_path.h"
#endif
