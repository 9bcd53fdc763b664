/* SPDX-License-Identifier: BSD-2-Clause */
/* XXH3-64 without vector instructions: what the vector paths are
 * measured against. */
#include "checksum_xxh3_x86.h"

#if CHECKSUM_XXH3_X86
#define CHECKSUM_XXH3_PATH_SUFFIX scalar
#define XXH_VECTOR XXH_SCALAR
#include "checksum_xxh3_path.h"
#endif
