/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the fuzz harnesses share: checksum repair (so that mutated inputs
 * get past the checksums to the structure behind them), exact-size copies
 * at a chosen address phase, and the contract checks run on every result.
 *
 * A broken contract calls fuzz_fail(), which aborts: libFuzzer and AFL++
 * record that as a crash, and the regression test (which links these
 * files without any fuzzing engine) fails.
 */
#ifndef PCACHE_FUZZ_COMMON_H
#define PCACHE_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "pcache/pcache.h"
#include "fuzz_targets.h"

/* Each target defines fuzz_<name>() and ends with FUZZ_ENTRY(fuzz_<name>):
 * only the fuzzer executables (built with -DPCACHE_FUZZ_MAIN) get the
 * libFuzzer entry point, so that the regression test can link every
 * target into one program. */
#ifdef PCACHE_FUZZ_MAIN
#define FUZZ_ENTRY(fn)                                                   \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);        \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)         \
    {                                                                    \
        return fn(data, size);                                           \
    }
#else
#define FUZZ_ENTRY(fn)
#endif

/* Reports a broken contract on stderr and aborts. */
void fuzz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Recomputes in place every checksum of the segment at buf[0, n) whose
 * covered bytes and field lie inside n: trailer entries, then the table
 * checksum, then the header checksum (which covers the table checksum). */
void fuzz_fix_segment(uint8_t *buf, size_t n);

/* The same for a standalone file: each segment the header places inside
 * n, the footer at the header's file_size, the header checksum. */
void fuzz_fix_file(uint8_t *buf, size_t n);

/* The same for a DynamoRIO .dpc file: every pcache segment found by its
 * magic, then DR's two MD5 digests in the footer at the end of buf. */
void fuzz_fix_dpc(uint8_t *buf, size_t n);

/* A heap copy of data[0, n) whose first byte sits at an address congruent
 * to phase modulo 4096 and whose allocation ends exactly after byte n-1,
 * so that AddressSanitizer catches a read past the input.  Free with
 * free(*block). */
uint8_t *fuzz_place(const uint8_t *data, size_t n, uint64_t phase, void **block);

/* A failed call must say so consistently: a known code, a report with the
 * same code and a non-empty message. */
void fuzz_check_failure(pcache_status st, const pcache_report *rep, const char *call);

/* Walks every section of a resurrected segment with
 * pcache_segment_section() and pcache_segment_find(), checks that each
 * view lies inside the segment, and, when touch is set, reads every byte
 * of every view and its trailer entry (so that a view past the mapped
 * bytes faults); without touch only the header and table are read. */
void fuzz_walk_segment(pcache_segment *seg, int touch);

/* The format is canonical: a segment accepted at full validation, if the
 * builder can express it (minor 0, no reserved section flag, loaded size
 * equal to stored size, at least one section, no relocation section nor
 * name starting with '.', which are the library's), must be byte-identical to
 * what the builder writes for the same identity, sections and offset. */
void fuzz_check_rebuild(const pcache_segment *seg);

/* The same for a standalone file opened at full validation. */
void fuzz_check_file_rebuild(const pcache_image *img);

/* The identity make_corpus writes into every seed: fixed values, so the
 * committed seeds do not depend on the host or on chance. */
void fuzz_corpus_identity(pcache_identity *id);

/* Names the seed corpus uses, some of them: a reader given this list
 * treats every other name as unknown. */
extern const char *const fuzz_known_names[];
extern const size_t fuzz_known_name_count;

#endif
