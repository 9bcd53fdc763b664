/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libpcache — the build of a loaded ELF object.
 *
 * An image that refers into a client library (the "client" anchor,
 * pcache/reloc.h) is only valid for the exact build of that library it was
 * made with: a rebuild with the same name and version can move every
 * function.  This header identifies a build from the library's image in
 * memory, as the dynamic loader mapped it, so that a host adapter can bind
 * an image to it and refuse the image under any other build.
 *
 * What it reads: the ELF header at the load base, the program header table
 * it points to, the PT_NOTE segments, and (only without a build-id note)
 * the file-backed bytes of the executable PT_LOAD segments.  An address
 * in the object (a p_vaddr) is at base + p_vaddr - (p_vaddr - p_offset of
 * the first PT_LOAD): the first PT_LOAD maps the file's first page, ELF
 * header included, at base.
 *
 * What it trusts: nothing.  Every field is checked before it is used, every
 * offset and size with overflow-checked sums against the readable bound the
 * caller gives; nothing outside [base, base + readable) is read, and
 * nothing of the object outside what a PT_LOAD maps from the file.  A
 * malformed or hostile image gives a status and a report (what, where as an
 * offset from base, expected versus found), never a fault.  Nothing is
 * allocated; there is no global state.
 *
 * Only 64-bit little-endian objects (ELFCLASS64, ELFDATA2LSB) of type
 * ET_DYN or ET_EXEC for x86-64, AArch64 and RISC-V are read; any other is
 * refused with PCACHE_E_ELF_UNSUPPORTED.
 */
#ifndef PCACHE_BUILD_ID_H
#define PCACHE_BUILD_ID_H

#include "pcache/pcache.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest build id kept, in bytes.  GNU ld and lld write 8 (fast),
 * 16 (md5, uuid) or 20 (sha1, the default) bytes, mold up to 32; a longer
 * note is refused (PCACHE_E_BUILD_ID_SIZE), not cut. */
#define PCACHE_BUILD_ID_MAX 64u

/* Bytes pcache_build_id_format() needs for any id, NUL included:
 * "text-xxh3:" and two hex digits per byte. */
#define PCACHE_BUILD_ID_STRING_SIZE (10u + 2u * PCACHE_BUILD_ID_MAX + 1u)

typedef enum pcache_build_id_kind {
    /* The descriptor of the object's NT_GNU_BUILD_ID note ("GNU"), as the
     * linker wrote it (1 .. PCACHE_BUILD_ID_MAX bytes). */
    PCACHE_BUILD_ID_GNU = 1,
    /* For an object linked without a build-id note: XXH3-128 (seed 0) of
     * the program header table (e_phnum * 56 bytes) followed by the
     * file-backed bytes (p_filesz) of every PT_LOAD with PF_X, in table
     * order, all as mapped; 16 bytes, in xxHash's canonical (big-endian)
     * form.  The program headers bind the layout of the data segments too
     * (where they are and how large).  An object whose text the loader
     * relocates (DT_TEXTREL) has a digest that depends on where it was
     * loaded: it never matches another load, and so fails closed. */
    PCACHE_BUILD_ID_TEXT_XXH3 = 2
} pcache_build_id_kind;

#define PCACHE_BUILD_ID_TEXT_XXH3_SIZE 16u

typedef struct pcache_build_id {
    uint16_t kind;                      /* pcache_build_id_kind */
    uint16_t size;                      /* bytes used in bytes[] */
    uint8_t bytes[PCACHE_BUILD_ID_MAX]; /* zero after size */
} pcache_build_id;

/* The build of the 64-bit little-endian ELF object loaded at base: its ELF
 * header is at base (DynamoRIO's dr_get_client_base(), dladdr()'s
 * dli_fbase), and readable bytes from base may be read (the headers at
 * least; the PT_NOTE segments, and without a note the executable
 * segments, must lie in them).
 *
 * Prefers the NT_GNU_BUILD_ID note of a PT_NOTE segment (kind
 * PCACHE_BUILD_ID_GNU); without one, the text digest (kind
 * PCACHE_BUILD_ID_TEXT_XXH3, above).  Every note of every PT_NOTE segment
 * is checked, so the result does not depend on their order.
 *
 * Fails with (report, may be NULL, says what, where and expected versus
 * found; its offset is from base):
 *  - PCACHE_E_INVALID_ARGUMENT: base or out NULL;
 *  - PCACHE_E_TRUNCATED: a header, note or segment the id needs is not
 *    within readable;
 *  - PCACHE_E_OVERFLOW: an offset or size sum from the image wraps;
 *  - PCACHE_E_ELF_MAGIC: no "\x7fELF" at base;
 *  - PCACHE_E_ELF_UNSUPPORTED: another class, byte order, ELF version,
 *    object type (ET_REL, ET_CORE, ...) or machine;
 *  - PCACHE_E_ELF_HEADER: e_ehsize, e_phentsize or e_phnum unusable (no
 *    program headers, PN_XNUM, a table above 64 KiB, which Linux refuses
 *    to load too);
 *  - PCACHE_E_ELF_SEGMENT: the program headers do not describe a loaded
 *    object: no PT_LOAD; PT_LOADs not in ascending, non-overlapping
 *    order; p_filesz above p_memsz; an alignment that is not a power of
 *    two, or p_vaddr and p_offset not congruent modulo it; a first PT_LOAD
 *    that does not map the file's first page with the program header table
 *    in it; a PT_NOTE not inside the file-backed bytes of a PT_LOAD;
 *  - PCACHE_E_ELF_NOTE: a PT_NOTE whose alignment is not 4 or 8 (0 to 2
 *    count as 4), whose address is not aligned to it, or whose notes do not
 *    tile it (a header or a name or descriptor running past its end); two
 *    build-id notes that differ;
 *  - PCACHE_E_BUILD_ID_SIZE: a build-id note with an empty descriptor or
 *    one longer than PCACHE_BUILD_ID_MAX;
 *  - PCACHE_E_NO_BUILD_ID: neither a build-id note nor an executable
 *    segment with file-backed bytes.
 * On failure *out is zeroed. */
PCACHE_API pcache_status pcache_build_id_of_loaded_elf(const void *base, uint64_t readable,
                                                       pcache_build_id *out,
                                                       pcache_report *report);

/* Writes "gnu:<hex>" or "text-xxh3:<hex>" (lower-case, two digits per byte)
 * into buf, NUL-terminated and cut to size - 1 characters when longer
 * (nothing is written when size is 0).  An id of another kind is written
 * "kind<N>:<hex>", a NULL id or one whose size is above
 * PCACHE_BUILD_ID_MAX "invalid".  Returns the length of the whole string,
 * as snprintf() does: it was cut when that is >= size.
 * PCACHE_BUILD_ID_STRING_SIZE bytes always suffice. */
PCACHE_API size_t pcache_build_id_format(const pcache_build_id *id, char *buf, size_t size);

/* 1 when a and b are the same build: same kind, same size, same bytes[0,
 * size); else 0, and always 0 when either is NULL or has a size above
 * PCACHE_BUILD_ID_MAX. */
PCACHE_API int pcache_build_id_equal(const pcache_build_id *a, const pcache_build_id *b);

/* PCACHE_OK when found is the build expected; else PCACHE_E_CLIENT_BUILD
 * and a report naming both, e.g. "client library build differs: expected
 * gnu:1f0c..., found gnu:93ab...", so that an adapter refusing an image can
 * say why.  An id longer than 32 bytes is shown as its first and last 15
 * bytes around "..". */
PCACHE_API pcache_status pcache_build_id_check(const pcache_build_id *expected,
                                               const pcache_build_id *found,
                                               pcache_report *report);

#ifdef __cplusplus
}
#endif

#endif /* PCACHE_BUILD_ID_H */
