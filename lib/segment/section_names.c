/* SPDX-License-Identifier: BSD-2-Clause */
/* Name fields of a segment, and the section table's index by name.  See
 * section_names.h. */
#include "section_names.h"

#include <string.h>

#include "bytes.h"
#include "format.h"

static const uint8_t *name_of(const pcache_segment *seg, uint32_t i)
{
    return seg->base + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i + SE_NAME;
}

/* Byte order of the 32-byte fields (memcmp's), a word at a time. */
static int name_cmp(const uint8_t *a, const uint8_t *b)
{
    for (unsigned k = 0; k < SE_NAME_SIZE; k += 8) {
        uint64_t x = ld64be(a + k), y = ld64be(b + k);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

/* Entry a before entry b: by name, then by index. */
static int entry_before(const pcache_segment *seg, uint16_t a, uint16_t b)
{
    int c = name_cmp(name_of(seg, a), name_of(seg, b));
    return c < 0 || (c == 0 && a < b);
}

static void sift_down(const pcache_segment *seg, uint16_t *v, uint32_t root, uint32_t n)
{
    for (;;) {
        uint32_t child = 2 * root + 1;
        uint16_t t;
        if (child >= n)
            return;
        if (child + 1 < n && entry_before(seg, v[child], v[child + 1]))
            child++;
        if (!entry_before(seg, v[root], v[child]))
            return;
        t = v[root], v[root] = v[child], v[child] = t;
        root = child;
    }
}

uint32_t section_index_build(pcache_segment *seg)
{
    uint16_t *v = seg->by_name;
    uint32_t n = seg->section_count, first_dup = n;

    /* Insertion sort for the few sections of most segments (none when the
     * table is in name order already); heapsort, in place and n log n
     * whatever the names, for many. */
    if (n <= 16) {
        /* each name's first 8 bytes as a number, read once: most
         * comparisons end there; the sort on local copies */
        uint64_t key[16];
        uint16_t x[16];
        uint32_t ordered = 1;
        for (uint32_t i = 0; i < n; i++) {
            key[i] = ld64be(name_of(seg, i));
            x[i] = (uint16_t)i;
        }
        for (uint32_t i = 1; i < n; i++)
            ordered &= key[i - 1] < key[i];
        if (!ordered) { /* (in order by first bytes: distinct, sorted) */
            for (uint32_t i = 1; i < n; i++) {
                uint16_t e = x[i];
                uint32_t j = i;
                int c = 1;
                /* e has the largest index yet: it goes after equal names */
                for (; j > 0; j--) {
                    uint16_t y = x[j - 1];
                    c = key[e] != key[y] ? (key[e] < key[y] ? -1 : 1) : name_cmp(name_of(seg, e), name_of(seg, y));
                    if (c >= 0)
                        break;
                    x[j] = y;
                }
                x[j] = e;
                /* an equal name before it: the first such i is the least */
                if (j > 0 && c == 0 && first_dup == n)
                    first_dup = i;
            }
        }
        memcpy(v, x, n * sizeof x[0]);
        return first_dup;
    } else {
        for (uint32_t i = 0; i < n; i++)
            v[i] = (uint16_t)i;
        for (uint32_t i = n / 2; i-- > 0;)
            sift_down(seg, v, i, n);
        for (uint32_t end = n - 1; end > 0; end--) {
            uint16_t t = v[0];
            v[0] = v[end], v[end] = t;
            sift_down(seg, v, 0, end);
        }
    }
    /* Equal names are neighbours, in index order: the later of each
     * equal pair repeats an earlier name. */
    for (uint32_t k = 1; k < n; k++)
        if (v[k] < first_dup && name_cmp(name_of(seg, v[k - 1]), name_of(seg, v[k])) == 0)
            first_dup = v[k];
    return first_dup;
}

uint32_t section_index_find(const pcache_segment *seg, const char *name)
{
    uint8_t key[SE_NAME_SIZE];
    size_t len = strnlen(name, SE_NAME_SIZE);
    uint32_t lo = 0, hi = seg->section_count;

    /* A table name is at most 31 bytes, NUL-padded to 32: the key is
     * padded alike, and a longer name is no section's. */
    if (len == SE_NAME_SIZE)
        return UINT32_MAX;
    memset(key, 0, sizeof key);
    memcpy(key, name, len);
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2, i = seg->by_name[mid];
        int c;
        if (i >= seg->section_count)
            return UINT32_MAX; /* not an index resurrect built */
        c = name_cmp(key, name_of(seg, i));
        if (c == 0)
            return i;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return UINT32_MAX;
}
