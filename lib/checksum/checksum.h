/* SPDX-License-Identifier: BSD-2-Clause */
/* Checksums of the format (XXH3-64, CRC-32), one-shot and streaming. */
#ifndef PCACHE_CHECKSUM_H
#define PCACHE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "pcache/pcache.h"

#include "checksum_xxh3.h"

typedef struct checksum_state {
    pcache_checksum_algorithm algo;
    uint32_t crc;
    const checksum_xxh3_ops *xxh3; /* the path chosen at reset, kept to the digest */
    XXH3_state_t xxh;              /* 64-byte aligned by its declaration */
} checksum_state;

int checksum_algorithm_known(unsigned algo);
void checksum_reset(checksum_state *st, pcache_checksum_algorithm algo);
void checksum_update(checksum_state *st, const void *data, size_t size);
/* checksum_update(), also copying the bytes to dst (which must not overlap
 * data), in the same pass where the algorithm allows (XXH3). */
void checksum_update_copy(checksum_state *st, void *dst, const void *data, size_t size);
uint64_t checksum_digest(const checksum_state *st);

#endif
