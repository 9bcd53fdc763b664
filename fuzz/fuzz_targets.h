/* SPDX-License-Identifier: BSD-2-Clause */
/* The fuzz targets' entry functions, one per fuzz/fuzz_<name>.c.  Each
 * takes one input and returns 0; a finding aborts.  The regression test
 * replays committed inputs through these same functions. */
#ifndef PCACHE_FUZZ_TARGETS_H
#define PCACHE_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

int fuzz_segment_known(const uint8_t *data, size_t size);
int fuzz_segment_unknown(const uint8_t *data, size_t size);
int fuzz_file_memory(const uint8_t *data, size_t size);
int fuzz_reloc(const uint8_t *data, size_t size);
int fuzz_dpc(const uint8_t *data, size_t size);
int fuzz_inspect(const uint8_t *data, size_t size);
int fuzz_build_id(const uint8_t *data, size_t size);
int fuzz_dr_adapter(const uint8_t *data, size_t size);

#endif
