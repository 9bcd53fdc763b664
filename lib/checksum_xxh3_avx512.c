/* SPDX-License-Identifier: BSD-2-Clause */
/* XXH3-64 with AVX-512F (Skylake-SP, Ice Lake, Zen 4 and later). */
#include "checksum_xxh3_x86.h"

#if CHECKSUM_XXH3_X86
#define CHECKSUM_XXH3_PATH_SUFFIX avx512
#define XXH_VECTOR XXH_AVX512
#define CHECKSUM_XXH3_TARGET_BEGIN CHECKSUM_XXH3_X86_TARGET_BEGIN("avx512f")
#define CHECKSUM_XXH3_TARGET_END CHECKSUM_XXH3_X86_TARGET_END
#include "checksum_xxh3_path.h"
#endif
