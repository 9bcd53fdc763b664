/* SPDX-License-Identifier: BSD-2-Clause */
/* Hostile DynamoRIO .dpc files, built in memory for the tests and for
 * pcache-bench: a client slot filled with segment candidates crafted to
 * make a scanner do as much work, or hold as much memory, per input byte
 * as it can (issue 18, items 3 and 4).  No such file is committed: the
 * largest are 64 MiB.
 *
 * Only the public API (pcache_checksum) and libmd are used, and the
 * segment fields are written at the offsets docs/FORMAT.md gives, so that
 * the files do not depend on the reader they test. */
#ifndef PCACHE_TESTS_HOSTILE_DPC_H
#define PCACHE_TESTS_HOSTILE_DPC_H

#include <stddef.h>
#include <stdint.h>

typedef enum hostile_kind {
    /* A candidate every 320 bytes, each with an intact header and table
     * and one section that runs to the end of the filled bytes; all of
     * them share one checksum trailer there, whose section checksum is
     * wrong for every one.  A scanner that verifies each in full and
     * moves on by one byte hashes the rest of the slot once per
     * candidate: quadratic. */
    HOSTILE_OVERLAP,
    /* The 8-byte segment magic over and over: a candidate every 8 bytes,
     * each refused at once (its major version is magic bytes).  A tool
     * that holds every candidate holds a record per 8 input bytes. */
    HOSTILE_MAGIC,
    /* A magic every 24 bytes, each followed by major version 1 and a
     * known checksum algorithm: every candidate's 248 header bytes are
     * hashed, and no header checksum matches. */
    HOSTILE_HEADERS,
    HOSTILE_KIND_COUNT
} hostile_kind;

/* "overlapping candidates", "magic every 8 bytes", "header every 24 bytes". */
const char *hostile_kind_name(hostile_kind kind);

/* Fills buf[0, size) as kind says, for bytes that will lie at file offset
 * file_offset (the candidates' headers state their own file offset and
 * lay themselves out for it, as a writer would).  size and file_offset
 * must be multiples of 8. */
void hostile_fill(hostile_kind kind, uint8_t *buf, uint64_t size, uint64_t file_offset);

/* File offset of the clients' bytes in DR's ro slot of every file
 * hostile_dpc() builds (after the header, the option string and DR's
 * client list); a multiple of 8. */
#define HOSTILE_SLOT_OFFSET 328u

/* A .dpc file laid out as DynamoRIO 11.91 writes one (version 10, 64-bit,
 * both MD5 digests right) whose ro slot holds, after DR's client list,
 * fill_size bytes filled as kind says (fill_size a multiple of 8), then
 * tail_size bytes copied from tail (may be NULL when tail_size is 0; lay a
 * segment there out for file offset HOSTILE_SLOT_OFFSET + fill_size).
 * malloc'd, exactly *size bytes; NULL when out of memory. */
uint8_t *hostile_dpc(hostile_kind kind, uint64_t fill_size, const void *tail, uint64_t tail_size, size_t *size);

#endif
