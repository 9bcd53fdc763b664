/* SPDX-License-Identifier: BSD-2-Clause */
/* Renames the adapter's public functions, so that a second copy of
 * lib/dr/pcache_dr.c can be linked into one test next to the first: the
 * adapters of two client libraries, each registering its own callbacks
 * with DR. */
#define pcache_dr_register second_pcache_dr_register
#define pcache_dr_unregister second_pcache_dr_unregister
#define pcache_dr_release second_pcache_dr_release
#define pcache_dr_patch_cache second_pcache_dr_patch_cache
