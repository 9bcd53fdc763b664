/* SPDX-License-Identifier: BSD-2-Clause */
/* XXH3-64 with AVX2 (x86-64 CPUs since Haswell and Excavator). */
#include "checksum_xxh3_x86.h"

#if CHECKSUM_XXH3_X86
#define CHECKSUM_XXH3_PATH_SUFFIX avx2
#define XXH_VECTOR XXH_AVX2
#define CHECKSUM_XXH3_TARGET_BEGIN CHECKSUM_XXH3_X86_TARGET_BEGIN("avx2")
#define CHECKSUM_XXH3_TARGET_END CHECKSUM_XXH3_X86_TARGET_END
#include "checksum_xxh3_path.h"
#endif
