/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers shared by the unit tests: a fixed identity, exactly sized
 * page-aligned buffers, persisting a segment or a file into memory, and
 * re-signing headers that a test has edited on purpose.
 *
 * Buffers are allocated with exactly the bytes a test hands to the library,
 * so that a read past the end is caught by AddressSanitizer and valgrind.
 */
#ifndef PCACHE_TEST_SUPPORT_H
#define PCACHE_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pcache/pcache.h"

/* The tests fix the page size rather than take the host's, so that images
 * (and the time the exhaustive tests take) are the same everywhere. */
#define TEST_PAGE 4096u
#define TEST_CLIENT "test-client"
#define TEST_CLIENT_VERSION 7u
#define TEST_MODULE_BASE 0x555500000000ull
#define TEST_MODULE_SIZE 0x123000ull
#define TEST_DIGEST_LEN 20u

/* This host's identity for TEST_CLIENT, page size TEST_PAGE, the given
 * checksum algorithm and a fixed image id; no module key. */
void test_identity(pcache_identity *id, pcache_checksum_algorithm algo);
/* The same with a module key (base, size and a 20-byte digest). */
void test_identity_with_module(pcache_identity *id, pcache_checksum_algorithm algo);

/* Expect id, every identity check on (module base and image id too). */
void test_expect_all(pcache_expect *exp, const pcache_identity *id, pcache_validation level);

/* Deterministic bytes that differ with seed. */
void test_fill(uint8_t *p, size_t n, uint32_t seed);

/* A page-aligned block of (file_offs mod TEST_PAGE) + size bytes; returns
 * the address at which a segment laid out at file_offs belongs, so that
 * its sections are aligned in memory as in a mapped file.  free(*block). */
uint8_t *test_alloc_at(uint64_t file_offs, uint64_t size, void **block);
/* The same, holding a copy of n bytes of src. */
uint8_t *test_copy_at(const uint8_t *src, uint64_t n, uint64_t file_offs, void **block);

/* Sizes class cls at file_offs and persists it into a fresh exactly sized
 * buffer (test_alloc_at); asserts success and that exactly *size bytes
 * were written.  Returns the segment's first byte. */
uint8_t *test_persist(pcache_builder *b, pcache_class cls, uint64_t file_offs, uint64_t *size,
                      void **block);

/* Writes b as a standalone file into a page-aligned buffer of exactly the
 * file's size (free() it); asserts that pcache_file_size agreed. */
uint8_t *test_write_file(pcache_builder *b, uint64_t *size);

/* The reference image of the exhaustive tests: ro, rx (page-rounded) and
 * rw segments, a few sections of mixed alignments including an empty one,
 * a module key.  Its section bytes are static. */
pcache_builder *test_reference_builder(pcache_checksum_algorithm algo);

/* After a deliberate edit: recompute a segment's table checksum (when its
 * section count is within the limit) and its header checksum, with the
 * algorithm its header names (XXH3-64 if that code is unknown). */
void test_resign_segment(uint8_t *seg);
/* Only the header checksum. */
void test_resign_header(uint8_t *seg);
/* A standalone file's header checksum, the footer's copy of it and the
 * footer checksum (the footer taken to be the last 32 of size bytes). */
void test_resign_file(uint8_t *file, uint64_t size);

/* Asserts that a failed read's report is complete: it carries status st,
 * and a message. */
void test_assert_report(const pcache_report *r, pcache_status st);
/* ... and that it states these expected and found values, in its fields
 * and in its message ("expected <dec>", "found <dec>"). */
void test_assert_values(const pcache_report *r, uint64_t expected, uint64_t found);

/* Set (to anything) in the environment: exhaustive tests try a
 * deterministic subset.  They try everything by default. */
int test_quick(void);

#endif
