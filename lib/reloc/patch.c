/* SPDX-License-Identifier: BSD-2-Clause */
/* Patch-displacement math: the value a field must hold to reach a target,
 * its range check, and its encoding.  No state, no allocation: usable from
 * a DynamoRIO patch callback as well as from the writer and the loader. */
#include "patch.h"

#include <inttypes.h>
#include <stdio.h>

#include "report.h"

unsigned pcache_reloc_width(pcache_reloc_kind kind)
{
    switch (kind) {
    case PCACHE_RELOC_REL8:
        return 1;
    case PCACHE_RELOC_REL32:
    case PCACHE_RELOC_ABS32:
        return 4;
    case PCACHE_RELOC_ABS64:
        return 8;
    }
    return 0;
}

const char *pcache_reloc_kind_name(pcache_reloc_kind kind)
{
    switch (kind) {
    case PCACHE_RELOC_REL8:
        return "rel8";
    case PCACHE_RELOC_REL32:
        return "rel32";
    case PCACHE_RELOC_ABS32:
        return "abs32";
    case PCACHE_RELOC_ABS64:
        return "abs64";
    }
    return "unknown";
}

uint64_t patch_value(pcache_reloc_kind kind, uint64_t field_address, int32_t pc_offset, uint64_t target)
{
    if (!reloc_kind_relative(kind))
        return target;
    /* (uint64_t)(int64_t) sign-extends pc_offset; the sums wrap mod 2^64 */
    return target - (field_address + (uint64_t)(int64_t)pc_offset);
}

int patch_fits(pcache_reloc_kind kind, uint64_t value)
{
    int64_t s = (int64_t)value;
    switch (kind) {
    case PCACHE_RELOC_REL8:
        return s >= INT8_MIN && s <= INT8_MAX;
    case PCACHE_RELOC_REL32:
        return s >= INT32_MIN && s <= INT32_MAX;
    case PCACHE_RELOC_ABS32:
        return value <= UINT32_MAX;
    case PCACHE_RELOC_ABS64:
        return 1;
    }
    return 0;
}

void patch_store(pcache_reloc_kind kind, pcache_byte_order order, uint8_t *field, uint64_t value)
{
    unsigned w = pcache_reloc_width(kind);
    for (unsigned i = 0; i < w; i++) {
        unsigned shift = order == PCACHE_BIG_ENDIAN ? 8 * (w - 1 - i) : 8 * i;
        field[i] = (uint8_t)(value >> shift);
    }
}

uint64_t patch_load(pcache_reloc_kind kind, pcache_byte_order order, const uint8_t *field)
{
    unsigned w = pcache_reloc_width(kind);
    uint64_t v = 0;
    for (unsigned i = 0; i < w; i++) {
        unsigned shift = order == PCACHE_BIG_ENDIAN ? 8 * (w - 1 - i) : 8 * i;
        v |= (uint64_t)field[i] << shift;
    }
    if (reloc_kind_relative(kind) && w < 8 && (v >> (8 * w - 1)))
        v |= ~0ull << (8 * w); /* sign-extend */
    return v;
}

const char *patch_range_text(pcache_reloc_kind kind)
{
    switch (kind) {
    case PCACHE_RELOC_REL8:
        return "[-128, 127]";
    case PCACHE_RELOC_REL32:
        return "[-2147483648, 2147483647]";
    case PCACHE_RELOC_ABS32:
        return "[0, 0xffffffff]";
    case PCACHE_RELOC_ABS64:
        return "[0, 0xffffffffffffffff]";
    }
    return "[]";
}

const char *patch_value_text(pcache_reloc_kind kind, uint64_t value, char *buf, unsigned size)
{
    if (reloc_kind_relative(kind))
        snprintf(buf, size, "%" PRId64, (int64_t)value);
    else
        snprintf(buf, size, "0x%" PRIx64, value);
    return buf;
}

static int order_known(pcache_byte_order order)
{
    return order == PCACHE_LITTLE_ENDIAN || order == PCACHE_BIG_ENDIAN;
}

pcache_status pcache_encode_reference(pcache_reloc_kind kind, pcache_byte_order order, uint8_t *field,
                                      uint64_t field_address, int32_t pc_offset, uint64_t target,
                                      pcache_report *rep)
{
    uint64_t v;
    char vt[32];

    report_clear(rep);
    if (!field || !reloc_kind_known(kind) || !order_known(order) ||
        (!reloc_kind_relative(kind) && pc_offset != 0))
        return report_fail(rep, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_CLASS, NULL, 0, 0, 0, 0,
                           "unknown kind or byte order, NULL field, or pc_offset on an absolute kind");
    v = patch_value(kind, field_address, pc_offset, target);
    if (!patch_fits(kind, v))
        return report_fail(rep, PCACHE_E_RELOC_RANGE, PCACHE_REPORT_NO_CLASS, NULL, field_address, 0, 0, 0,
                           "%s value %s to target 0x%" PRIx64 " does not fit %s: field address",
                           pcache_reloc_kind_name(kind), patch_value_text(kind, v, vt, sizeof vt), target,
                           patch_range_text(kind));
    patch_store(kind, order, field, v);
    return PCACHE_OK;
}

pcache_status pcache_decode_reference(pcache_reloc_kind kind, pcache_byte_order order, const uint8_t *field,
                                      uint64_t field_address, int32_t pc_offset, uint64_t *target)
{
    uint64_t v;
    if (!field || !target || !reloc_kind_known(kind) || !order_known(order) ||
        (!reloc_kind_relative(kind) && pc_offset != 0))
        return PCACHE_E_INVALID_ARGUMENT;
    v = patch_load(kind, order, field);
    *target = reloc_kind_relative(kind) ? field_address + (uint64_t)(int64_t)pc_offset + v : v;
    return PCACHE_OK;
}
