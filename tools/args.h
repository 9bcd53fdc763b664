/* SPDX-License-Identifier: BSD-2-Clause */
/* Parsing the values given to command-line options.  Each parser accepts
 * the whole string or nothing, so that "12x" or "" is an error rather than
 * a silent 12 or 0. */
#ifndef PCACHE_TOOLS_ARGS_H
#define PCACHE_TOOLS_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "pcache/pcache.h"

/* Decimal, or hexadecimal with a 0x prefix; no sign, no spaces.
 * Returns 0 on success, -1 if s is not such a number, -2 if it is one
 * larger than max. */
int parse_uint(const char *s, uint64_t max, uint64_t *out);

/* An even number of hex digits (an optional 0x prefix is allowed), at most
 * max bytes' worth.  Returns 0 and the byte count in *len, or -1. */
int parse_hex_bytes(const char *s, uint8_t *out, size_t max, size_t *len);

/* "ro", "rx" or "rw".  Returns 0 or -1. */
int parse_class(const char *s, pcache_class *out);

/* "xxh3" (or "xxh3-64") or "crc32".  Returns 0 or -1. */
int parse_checksum(const char *s, pcache_checksum_algorithm *out);

#endif
