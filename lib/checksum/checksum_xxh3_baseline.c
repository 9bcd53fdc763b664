/* SPDX-License-Identifier: BSD-2-Clause */
/* XXH3-64 for the instruction set this build targets anyway (xxHash's own
 * choice of XXH_VECTOR: SSE2 on x86-64, NEON on AArch64, else scalar).
 * The path of last resort, present on every architecture. */
#define CHECKSUM_XXH3_PATH_SUFFIX baseline
#include "checksum_xxh3_path.h"
