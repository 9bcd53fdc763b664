/* SPDX-License-Identifier: BSD-2-Clause */
/* Whether this build has the x86-64 XXH3 paths, and how a file asks the
 * compiler for an instruction set (GCC's target pragma, or clang's
 * equivalent attribute applied to every function that follows). */
#ifndef PCACHE_CHECKSUM_XXH3_X86_H
#define PCACHE_CHECKSUM_XXH3_X86_H

#if defined(__x86_64__) && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 5))
#define CHECKSUM_XXH3_X86 1
#else
#define CHECKSUM_XXH3_X86 0
#endif

#define CHECKSUM_XXH3_X86_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define CHECKSUM_XXH3_X86_TARGET_BEGIN(isa) \
    CHECKSUM_XXH3_X86_PRAGMA(clang attribute push(__attribute__((target(isa))), apply_to = function))
#define CHECKSUM_XXH3_X86_TARGET_END _Pragma("clang attribute pop")
#else
#define CHECKSUM_XXH3_X86_TARGET_BEGIN(isa) _Pragma("GCC push_options") CHECKSUM_XXH3_X86_PRAGMA(GCC target(isa))
#define CHECKSUM_XXH3_X86_TARGET_END _Pragma("GCC pop_options")
#endif

#endif
