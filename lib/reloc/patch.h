/* SPDX-License-Identifier: BSD-2-Clause */
/* The displacement math shared by the writer (persist-time values) and
 * the loader (pcache_reloc_apply): what value a field of a kind must hold,
 * whether it fits, and its bytes in a given byte order. */
#ifndef PCACHE_PATCH_H
#define PCACHE_PATCH_H

#include <stdint.h>

#include "pcache/reloc.h"

static inline int reloc_kind_known(unsigned kind)
{
    return kind >= PCACHE_RELOC_REL8 && kind <= PCACHE_RELOC_ABS64;
}

static inline int reloc_kind_relative(unsigned kind)
{
    return kind == PCACHE_RELOC_REL8 || kind == PCACHE_RELOC_REL32;
}

/* A value v fits a field of a known kind iff v + reloc_fit_bias(kind) <=
 * reloc_fit_max(kind), unsigned, mod 2^64: the signed ranges shifted to
 * start at 0. */
static inline uint64_t reloc_fit_bias(unsigned kind)
{
    return kind == PCACHE_RELOC_REL8 ? 0x80u : kind == PCACHE_RELOC_REL32 ? 0x80000000u : 0;
}

static inline uint64_t reloc_fit_max(unsigned kind)
{
    return kind == PCACHE_RELOC_REL8 ? 0xffu : kind == PCACHE_RELOC_ABS64 ? UINT64_MAX : 0xffffffffu;
}

/* The field value (modulo 2^64) of a reference of this kind from a field
 * at field_address to target.  Arithmetic wraps as the processor's. */
uint64_t patch_value(pcache_reloc_kind kind, uint64_t field_address, int32_t pc_offset,
                     uint64_t target);

/* 1 if value (as patch_value returned it) fits the kind's field: signed
 * range for relative kinds, unsigned for absolute ones. */
int patch_fits(pcache_reloc_kind kind, uint64_t value);

/* Stores the low width bytes of value into field in byte order. */
void patch_store(pcache_reloc_kind kind, pcache_byte_order order, uint8_t *field, uint64_t value);

/* The field's value: sign-extended for relative kinds, zero-extended for
 * absolute ones. */
uint64_t patch_load(pcache_reloc_kind kind, pcache_byte_order order, const uint8_t *field);

/* "[-2147483648, 2147483647]" etc. for messages. */
const char *patch_range_text(pcache_reloc_kind kind);

/* Formats value as the kind reads it: signed decimal for relative kinds,
 * hexadecimal for absolute ones.  buf: at least 24 bytes. */
const char *patch_value_text(pcache_reloc_kind kind, uint64_t value, char *buf, unsigned size);

#endif
