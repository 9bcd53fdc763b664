/* Name fields of a segment (docs/FORMAT.md 1.5): checked a word at a time,
 * and the section table's index by name, which makes lookup by name
 * O(log n) and resurrect's uniqueness check O(n log n) (it was n(n-1)/2
 * comparisons), with nothing allocated: the index lives in the caller's
 * pcache_segment. */
#ifndef PCACHE_SECTION_NAMES_H
#define PCACHE_SECTION_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "pcache/pcache.h"

/* 1 if the field of `field` bytes (16, 32, 48 or 64) holds a name of 1 to
 * max bytes, each in [lo, 0x7e] (lo >= 1), then a NUL and zeros to its
 * end. */
int name_field_valid(const uint8_t *f, size_t field, size_t max, unsigned lo);

/* Fills seg->by_name with the section indices 0 .. n-1 sorted by their
 * 32-byte name fields (ties by index).  Returns the first index i, in
 * table order, whose name field equals that of an earlier entry, or n when
 * all are distinct.  Reads only the table's name fields; any bytes. */
uint32_t section_index_build(pcache_segment *seg);

/* The index of the section named `name` (a C string) in a segment whose
 * index section_index_build() filled, or UINT32_MAX. */
uint32_t section_index_find(const pcache_segment *seg, const char *name);

#endif
