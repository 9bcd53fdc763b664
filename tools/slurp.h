/* SPDX-License-Identifier: BSD-2-Clause */
/* Reading a whole input file into memory: the pack tool hands the builder
 * pointers that must stay valid until the file is written. */
#ifndef PCACHE_TOOLS_SLURP_H
#define PCACHE_TOOLS_SLURP_H

#include <stddef.h>
#include <stdint.h>

/* Reads path to its end into a malloc'd buffer (*data, never NULL on
 * success, even for an empty file); "-" is standard input.  Returns 0, or
 * -1 with errno set. */
int slurp_file(const char *path, uint8_t **data, size_t *size);

#endif
