/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Target: pcache_dpc_parse() on a DynamoRIO .dpc file, then
 * pcache_dpc_find_segments() in its client slots, on the input as it is
 * and with its digests repaired (every pcache segment found by its magic
 * first, then DR's two MD5s), so that mutations get past the digests to
 * the layout and to the segments.  Every span it reports must lie in the
 * file, the regions must tile it, and every segment found valid is walked
 * and read.
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "format.h"
#include "fuzz_common.h"
#include "pcache/dpc.h"

#define FOUND_CAP 4

static void check_span(const pcache_dpc *d, const uint8_t *p, uint64_t len, const char *what)
{
    volatile uint8_t sink = 0;
    if (p < d->data || (uint64_t)(p - d->data) > d->size || len > d->size - (uint64_t)(p - d->data))
        fuzz_fail("%s [%td, +%llu) outside the %llu-byte file", what, p - d->data, (unsigned long long)len,
                  (unsigned long long)d->size);
    for (uint64_t k = 0; k < len; k++)
        sink ^= p[k];
    (void)sink;
}

static void check_layout(const pcache_dpc *d)
{
    uint64_t at = 0;
    for (int r = 0; r < PCACHE_DPC_REGION_COUNT; r++) {
        if (d->region[r].offset != at)
            fuzz_fail("region %s at %llu, the previous one ends at %llu", pcache_dpc_region_name(r),
                      (unsigned long long)d->region[r].offset, (unsigned long long)at);
        check_span(d, d->data + at, d->region[r].size, pcache_dpc_region_name(r));
        at += d->region[r].size;
    }
    if (at != d->size)
        fuzz_fail("regions end at %llu in a %llu-byte file", (unsigned long long)at, (unsigned long long)d->size);
    check_span(d, (const uint8_t *)d->option_string.ptr, d->option_string.len + (d->option_string.len > 0),
               "option string");
    if (d->client_lib_count > PCACHE_DPC_MAX_CLIENT_LIBS)
        fuzz_fail("%u client libraries", d->client_lib_count);
    for (uint32_t i = 0; i < d->client_lib_count; i++) {
        check_span(d, (const uint8_t *)d->client_lib[i].ptr, d->client_lib[i].len + 1, "client library path");
        if (d->client_lib[i].ptr[d->client_lib[i].len] != 0)
            fuzz_fail("client library path %u not followed by a NUL", i);
    }
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        check_span(d, d->data + d->client_data[c].offset, d->client_data[c].size, "client data");
}

static void find_segments(const pcache_dpc *d)
{
    pcache_dpc_found *found = malloc(FOUND_CAP * sizeof *found), *all;
    pcache_report rep;
    size_t count = 0, again = 0;
    pcache_status st = pcache_dpc_find_segments(d, found, FOUND_CAP, &count, &rep);

    if (st != PCACHE_OK)
        fuzz_fail("pcache_dpc_find_segments failed on a parsed layout: %s", rep.message);
    for (size_t i = 0; i < count && i < FOUND_CAP; i++) {
        pcache_dpc_found *f = &found[i];
        if (f->status != PCACHE_OK) {
            fuzz_check_failure(f->status, &f->report, "segment candidate");
            continue;
        }
        check_span(d, f->segment.base, f->segment.size, "segment found");
        if (f->segment.base != d->data + f->file_offset)
            fuzz_fail("segment found at %llu has its base elsewhere", (unsigned long long)f->file_offset);
        fuzz_walk_segment(&f->segment, 1);
    }
    /* A larger array gives the same candidates, all of them. */
    if (count > FOUND_CAP && count < 100000) {
        all = malloc(count * sizeof *all);
        if (pcache_dpc_find_segments(d, all, count, &again, NULL) != PCACHE_OK || again != count)
            fuzz_fail("second scan found %zu candidates, the first %zu", again, count);
        for (size_t i = 0; i < FOUND_CAP; i++)
            if (all[i].file_offset != found[i].file_offset || all[i].status != found[i].status)
                fuzz_fail("candidate %zu differs between scans", i);
        free(all);
    }
    free(found);
}

static void parse(const uint8_t *buf, size_t n)
{
    pcache_dpc d;
    pcache_report rep;
    pcache_status st = pcache_dpc_parse(&d, buf, n, &rep);

    if (st != PCACHE_OK)
        fuzz_check_failure(st, &rep, "pcache_dpc_parse");
    if (st == PCACHE_E_DPC_DIGEST && !(d.have_layout && d.have_digests))
        fuzz_fail("digest mismatch reported without a complete parse");
    if (d.have_digests)
        check_span(&d, d.data + d.region[PCACHE_DPC_R_FOOTER].offset, PCACHE_DPC_FOOTER_LEN, "footer");
    if (!d.have_layout)
        return;
    check_layout(&d);
    find_segments(&d);
}

int fuzz_dpc(const uint8_t *data, size_t size)
{
    void *block, *fixed_block;
    uint8_t *buf = fuzz_place(data, size, 0, &block);
    uint8_t *fixed = fuzz_place(data, size, 0, &fixed_block);

    parse(buf, size);
    fuzz_fix_dpc(fixed, size);
    if (memcmp(buf, fixed, size) != 0)
        parse(fixed, size);
    free(block);
    free(fixed_block);
    return 0;
}

FUZZ_ENTRY(fuzz_dpc)
