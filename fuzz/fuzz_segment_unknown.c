/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Target: pcache_resurrect() with available = PCACHE_SIZE_UNKNOWN, as
 * DynamoRIO's resurrect callback calls it: a pointer and no length.
 *
 * What is tested is the contract of docs/FORMAT.md 4.4, not "no read past
 * the input": with no length the reader cannot know where the input ends,
 * so it may read what each verified step entitles it to, and no more:
 *
 *   bytes [0, 8)           always (the magic);
 *   bytes [8, 10)          only if the magic matched;
 *   bytes [0, 256)         only if the major version is 1;
 *   bytes [0, max(256, S)) only once the header checksum has passed, S
 *                          being the segment_size that header states.
 *
 * The harness computes that entitlement A for the input, zero-padded
 * where it is shorter (zeros are what the reader then sees), and places
 * exactly A bytes so that they end at an inaccessible guard page: a read
 * of byte A faults, whatever the input's length.  Bytes of a longer input
 * past A are dropped, since the reader must not look at them.
 *
 * A verified header may state an S larger than the input: that is a
 * truncated segment the reader cannot detect, and reading up to S is then
 * within the contract.  Up to ARENA bytes the harness backs those bytes
 * with zeros (a realistic truncation: a short write followed by zeros).
 * Beyond ARENA it cannot back them, so only what the reader may read
 * without section bytes is tested: the header and the table (step 6 has
 * shown the table lies within S), at PCACHE_VALIDATE_HEADER and LAZY
 * (which reads a section only when it is accessed, which the harness then
 * does not do).
 *
 * The result must be the one the same bytes give with available = A.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bytes.h"
#include "format.h"
#include "fuzz_common.h"
#include "pcache/bind.h"

#define ARENA (1u << 20) /* a multiple of every page size */

/* The first byte of the guard page; the ARENA bytes before it are ours. */
static uint8_t *guard_page(void)
{
    static uint8_t *guard;
    if (!guard) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        uint8_t *p = mmap(NULL, ARENA + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED || mprotect(p + ARENA, page, PROT_NONE) != 0)
            fuzz_fail("cannot map the arena and its guard page");
        guard = p + ARENA;
    }
    return guard;
}

/* The bytes the reader may read (see above); *header_only when S could
 * not be backed.  h holds at least 256 bytes. */
static uint64_t entitlement(const uint8_t *h, int *header_only)
{
    uint64_t s;
    uint32_t n;

    *header_only = 0;
    if (memcmp(h, SEG_MAGIC, SEG_MAGIC_SIZE) != 0)
        return SEG_MAGIC_SIZE;
    if (ld16(h + SH_MAJOR) != PCACHE_FORMAT_MAJOR)
        return SH_MAJOR + 2;
    if ((h[SH_CHECKSUM] != PCACHE_CHECKSUM_XXH3_64 && h[SH_CHECKSUM] != PCACHE_CHECKSUM_CRC32) ||
        pcache_checksum((pcache_checksum_algorithm)h[SH_CHECKSUM], h, SH_HEADER_CHECKSUM) !=
            ld64be(h + SH_HEADER_CHECKSUM))
        return SEG_HEADER_SIZE;
    s = ld64(h + SH_SEGMENT_SIZE);
    if (s <= SEG_HEADER_SIZE)
        return SEG_HEADER_SIZE;
    if (s <= ARENA)
        return s;
    *header_only = 1;
    n = ld32(h + SH_SECTION_COUNT);
    return n <= PCACHE_MAX_SECTIONS ? SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * n : SEG_HEADER_SIZE;
}

static void resurrect_one(const uint8_t *at, uint64_t avail, int header_only, pcache_class cls,
                          const pcache_expect *exp)
{
    const uint8_t *map = at, *known_map = at;
    pcache_segment seg, known;
    pcache_report rep;
    pcache_status st = pcache_resurrect(&seg, cls, &map, PCACHE_SIZE_UNKNOWN, exp, &rep);
    pcache_status st_known = header_only ? st : pcache_resurrect(&known, cls, &known_map, avail, exp, NULL);

    if (st != st_known)
        fuzz_fail("unknown length gives %s, the same %llu bytes with their length %s", pcache_status_name(st),
                  (unsigned long long)avail, pcache_status_name(st_known));
    if (st != PCACHE_OK) {
        fuzz_check_failure(st, &rep, "pcache_resurrect");
        if (map != at)
            fuzz_fail("pcache_resurrect failed but moved the map pointer");
        return;
    }
    if (seg.size != ld64(at + SH_SEGMENT_SIZE) || map != at + seg.size)
        fuzz_fail("map advanced by %td, the verified header says %llu", map - at,
                  (unsigned long long)ld64(at + SH_SEGMENT_SIZE));
    if (header_only) {
        if (exp->validation == PCACHE_VALIDATE_HEADER)
            fuzz_walk_segment(&seg, 0);
        return;
    }
    fuzz_walk_segment(&seg, 1);
    if (exp->validation == PCACHE_VALIDATE_FULL && !exp->known_sections)
        fuzz_check_rebuild(&seg);
}

static void run(const uint8_t *data, size_t size, int fix)
{
    size_t len = size > SEG_HEADER_SIZE ? size : SEG_HEADER_SIZE;
    uint8_t *padded = calloc(1, len), *at;
    uint64_t avail;
    int header_only;

    if (!padded)
        fuzz_fail("out of memory");
    memcpy(padded, data, size);
    if (fix)
        fuzz_fix_segment(padded, len);
    avail = entitlement(padded, &header_only);
    at = guard_page() - avail;
    memcpy(at, padded, avail < len ? avail : len);
    if (avail > len)
        memset(at + len, 0, avail - len);
    free(padded);

    for (int cls = 0; cls < PCACHE_CLASS_COUNT; cls++)
        for (int v = PCACHE_VALIDATE_HEADER; v <= (header_only ? PCACHE_VALIDATE_LAZY : PCACHE_VALIDATE_FULL); v++)
            for (int known = 0; known < 2; known++) {
                pcache_expect exp;
                pcache_expect_init(&exp, NULL);
                exp.validation = (pcache_validation)v;
                if (known) {
                    exp.known_sections = fuzz_known_names;
                    exp.known_section_count = fuzz_known_name_count;
                }
                resurrect_one(at, avail, header_only, (pcache_class)cls, &exp);
            }
}

/* pcache_slot_peek(), which DynamoRIO's adapter calls first on the same
 * pointer to choose whom to resurrect for, has its own, smaller contract:
 * it never reads past the bytes it is told are there, reads only the
 * 8-byte magic unless that matched and a whole header is there, and then
 * at most the first 192 bytes.  The input's first min(size, 256) bytes
 * are placed against the guard page, and that many said available. */
static void peek(const uint8_t *data, size_t size)
{
    char name[PCACHE_CLIENT_NAME_MAX + 1];
    size_t n = size < SEG_HEADER_SIZE ? size : SEG_HEADER_SIZE;
    const uint8_t *at = guard_page() - n;
    pcache_class cls;
    pcache_status st, want;

    memcpy((uint8_t *)at, data, n);
    if (n < SEG_MAGIC_SIZE)
        want = PCACHE_E_TRUNCATED;
    else if (memcmp(at, SEG_MAGIC, SEG_MAGIC_SIZE) != 0)
        want = PCACHE_E_MAGIC;
    else if (n < SEG_HEADER_SIZE)
        want = PCACHE_E_TRUNCATED;
    else if (!memchr(at + SH_CLIENT_NAME, 0, 64))
        want = PCACHE_E_HEADER_FIELD;
    else
        want = PCACHE_OK;
    st = pcache_slot_peek(at, n, &cls, name);
    if (st != want)
        fuzz_fail("pcache_slot_peek of %zu bytes gives %s, expected %s", n, pcache_status_name(st),
                  pcache_status_name(want));
    if (st == PCACHE_OK &&
        (strcmp(name, (const char *)at + SH_CLIENT_NAME) != 0 ||
         cls != (at[SH_CLASS] >= 1 && at[SH_CLASS] <= 3 ? (pcache_class)(at[SH_CLASS] - 1) : PCACHE_CLASS_COUNT)))
        fuzz_fail("pcache_slot_peek gives class %d, name '%.63s' for class code %u", (int)cls, name, at[SH_CLASS]);
}

int fuzz_segment_unknown(const uint8_t *data, size_t size)
{
    peek(data, size);
    run(data, size, 0);
    run(data, size, 1);
    return 0;
}

FUZZ_ENTRY(fuzz_segment_unknown)
