/* SPDX-License-Identifier: BSD-2-Clause */
/* A synthetic DynamoRIO .dpc file with this project's segments in DR's
 * client slots, as the DR adapter writes them, for the tool tests. */
#ifndef PCACHE_TESTS_DPC_BUILD_H
#define PCACHE_TESTS_DPC_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "pcache/pcache.h"

/* Deterministic bytes (a static buffer of at most 8192). */
const uint8_t *pattern(size_t n, unsigned seed);

typedef struct image_data {
    uint8_t table[64], ro_data[13], code[100], rw_data[16];
} image_data;

void fill_image_data(image_data *d);

/* ro: table, data; rx: code (page-rounded, as DR needs); rw: data.
 * Client "inspect-test", version 3, page size 4096. */
pcache_builder *image_builder(const image_data *d);

/* Recomputes both of DR's MD5 digests of a .dpc file of size bytes. */
void fix_dpc_digests(uint8_t *f, size_t size);

typedef struct dpc_file {
    uint8_t *bytes;
    size_t size;
    uint64_t seg_at[PCACHE_CLASS_COUNT]; /* file offset of each class's segment (0: none) */
    uint64_t seg_size[PCACHE_CLASS_COUNT];
} dpc_file;

/* No pcache_builder_prepare_split(): segments without a manifest. */
#define DPC_NO_SPLIT UINT32_MAX

/* A .dpc file as DR 11.91 lays it out (version 10, 64-bit) with the
 * builder's segments in DR's ro, rx and rw client slots (b is freed).
 * Unless split is DPC_NO_SPLIT the builder is readied with
 * pcache_builder_prepare_split(b, split) first, as the DR adapter does;
 * every class is sized before any is persisted, as DR does.  client is
 * DR's client-library path. */
void make_dpc_from(dpc_file *out, pcache_builder *b, const char *client, size_t client_len, uint32_t split);
/* The same with image_builder(d). */
void make_dpc_split(dpc_file *out, const image_data *d, const char *client, size_t client_len, uint32_t split);
/* The same with split 0. */
void make_dpc(dpc_file *out, const image_data *d, const char *client, size_t client_len);

#endif
