/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libpcache — persisted-cache images for dynamic binary instrumentation.
 *
 * An image is a set of named sections in three classes (read-only,
 * executable, writable).  Each class becomes one self-describing *segment*
 * (header, section table, section bytes, checksum trailer) that can be
 * placed at any file offset, e.g. inside a DynamoRIO .dpc file, or written
 * as part of a standalone pcache file.  The byte format is specified in
 * docs/FORMAT.md.
 *
 * Conventions
 *  - Every function that can fail returns a pcache_status: PCACHE_OK (0) or
 *    a distinct error code; pcache_strerror() names it.  Readers can also
 *    fill a pcache_report that says where (class, section, offset) and what
 *    was expected versus found.
 *  - No global mutable state, but for the XXH3 code path, chosen once per
 *    process by timing the candidates at the first checksum and set
 *    atomically.  Distinct builders and segments may be used
 *    from different threads at once.  One object is not to be mutated from
 *    two threads at once, except that pcache_segment_section*() on one
 *    resurrected segment is safe from several threads.
 *  - Sizes and offsets are uint64_t; all arithmetic on them is
 *    overflow-checked and fails with PCACHE_E_OVERFLOW rather than wrapping.
 *  - Checksums detect damage, not tampering: whoever can rewrite a file can
 *    re-sign it.  A re-signed file passes every check of structure (it can,
 *    for example, turn ".relocs" into a skippable unknown section, so that
 *    nothing is relocated); bounds, layout, memory safety and bounded time
 *    still hold against it, authenticity does not.  docs/FORMAT.md 3.9.
 *
 * Stability (the ABI policy)
 *  - The status numbers are frozen (docs/FORMAT.md 2.7); new ones are
 *    appended.
 *  - The structs declared in these headers that a caller allocates or fills
 *    (pcache_segment, pcache_bound_image, pcache_report, pcache_expect,
 *    pcache_view, the options structs, ...) are part of the shared
 *    library's ABI: their layout changes only together with the library's
 *    soversion (meson.build), so that a program built against other
 *    headers fails to load rather than misreading a struct.
 *    tests/test_abi.c pins their sizes.  Fields marked library-internal
 *    (the relocation seal and summaries of pcache_segment and its index by
 *    name, pcache_bound_image's blocks) are there only so that the caller
 *    can hold the struct without an allocation (the resurrect path
 *    allocates nothing); their meaning may change in any release, and a
 *    caller neither reads nor writes them.
 *  - Before 1.0 a minor release may change the API; the soversion says
 *    whether the ABI changed.
 *  - Teardown names say what they undo: *_free() frees an object the
 *    library allocated (pcache_builder_free, pcache_free); *_close() also
 *    gives back an OS resource, a mapping or a file descriptor
 *    (pcache_file_close, pcache_image_close); *_release() empties a
 *    caller-held struct whose contents the library allocated
 *    (pcache_bound_release, pcache_dr_release); pcache_dr_unregister() undoes
 *    a registration with DynamoRIO.
 *  - Two ways to write a standalone file, on purpose:
 *    pcache_file_write_path() for tools (mode 0644 & ~umask, as a program
 *    writing an output file does) and pcache_file_save() (pcache/file.h)
 *    for a cache that the same user reads back (0600 by default, options
 *    for the mode and the file system calls).  Two ways to read one:
 *    pcache_image_read_path() reads any file a tool is pointed at, trusting
 *    nothing but its bytes; pcache_file_open() maps a cache and first
 *    checks that the file is the caller's own and not writable by others
 *    (docs/FILES.md), as a loader must before it runs what it maps.
 */
#ifndef PCACHE_PCACHE_H
#define PCACHE_PCACHE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  define PCACHE_API
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define PCACHE_API __attribute__((visibility("default")))
#else
#  define PCACHE_API
#endif

/* ------------------------------------------------------------------ */
/* Versions and limits                                                 */
/* ------------------------------------------------------------------ */

#define PCACHE_VERSION_MAJOR 0
#define PCACHE_VERSION_MINOR 1
#define PCACHE_VERSION_PATCH 0
#define PCACHE_VERSION_STRING "0.1.0"
/* major * 10000 + minor * 100 + patch, as zstd's ZSTD_VERSION_NUMBER */
#define PCACHE_VERSION_NUMBER (PCACHE_VERSION_MAJOR * 10000 + PCACHE_VERSION_MINOR * 100 + PCACHE_VERSION_PATCH)

/* The on-disk format version this library writes.  A reader refuses any
 * other major version and accepts any minor version of its major.  Minor 1
 * added compressed sections, minor 2 compact relocation tables; a segment
 * states the lowest minor it needs (docs/FORMAT.md 2.3), so that one using
 * neither stays byte-identical to what a 1.0 writer produces. */
#define PCACHE_FORMAT_MAJOR 1
#define PCACHE_FORMAT_MINOR 2

#define PCACHE_SECTION_NAME_MAX   31u   /* bytes, excluding the NUL */
#define PCACHE_CLIENT_NAME_MAX    63u   /* bytes, excluding the NUL */
#define PCACHE_MODULE_DIGEST_MAX  32u
#define PCACHE_IMAGE_ID_SIZE      16u
#define PCACHE_MAX_SECTIONS       1024u /* per segment */

/* "The caller does not know how many bytes follow": DynamoRIO's resurrect
 * callbacks give a pointer and no length. */
#define PCACHE_SIZE_UNKNOWN UINT64_MAX

/* ------------------------------------------------------------------ */
/* Status codes                                                        */
/* ------------------------------------------------------------------ */

/* Every status has a fixed number, the same in every version of the
 * library: `pcache-inspect --json` prints it, and docs/FORMAT.md 2.7 lists
 * them (tests/test_spec.c checks that table against this enum).  A new
 * status is appended with the next number, before PCACHE_STATUS_COUNT,
 * and gets a row in that table; no number is ever reused or changed. */
typedef enum pcache_status {
    PCACHE_OK = 0,
    /* caller errors */
    PCACHE_E_INVALID_ARGUMENT = 1,      /* NULL pointer, bad enum value, ... */
    PCACHE_E_NO_MEMORY = 2,
    PCACHE_E_OVERFLOW = 3,              /* a size or offset sum would wrap */
    PCACHE_E_STATE = 4,                 /* call out of order (persist before size, ...) */
    PCACHE_E_SECTION_NAME = 5,          /* empty, too long, or not printable ASCII */
    PCACHE_E_DUPLICATE_SECTION = 6,     /* same name twice in one class */
    PCACHE_E_ALIGNMENT = 7,             /* not a power of two, or above the page size */
    PCACHE_E_TOO_MANY_SECTIONS = 8,     /* over PCACHE_MAX_SECTIONS in one class */
    PCACHE_E_CLIENT_NAME = 9,           /* empty or too long client name */
    /* persist */
    PCACHE_E_SINK = 10,                 /* the sink reported a write failure */
    PCACHE_E_PERSIST_SIZE = 11,         /* bytes written differ from what size promised */
    /* reading: structure */
    PCACHE_E_TRUNCATED = 12,            /* fewer bytes available than the data needs */
    PCACHE_E_MAGIC = 13,                /* not a pcache segment */
    PCACHE_E_FORMAT_VERSION = 14,       /* unsupported major format version */
    PCACHE_E_HEADER_CHECKSUM = 15,      /* fixed header checksum mismatch */
    PCACHE_E_HEADER_FIELD = 16,         /* header field out of range or reserved bits set */
    PCACHE_E_CHECKSUM_ALGORITHM = 17,   /* unknown checksum algorithm */
    PCACHE_E_TABLE_CHECKSUM = 18,       /* section table checksum mismatch */
    PCACHE_E_SECTION_TABLE = 19,        /* malformed section table entry */
    PCACHE_E_SECTION_CHECKSUM = 20,     /* section bytes checksum mismatch */
    PCACHE_E_PADDING = 21,              /* a padding or reserved byte is not zero */
    PCACHE_E_UNKNOWN_CRITICAL = 22,     /* unknown section that may not be skipped */
    PCACHE_E_MISALIGNED = 23,           /* section not aligned in memory as declared */
    /* reading: identity */
    PCACHE_E_CLASS = 24,                /* segment of another class */
    PCACHE_E_BYTE_ORDER = 25,
    PCACHE_E_POINTER_SIZE = 26,
    PCACHE_E_ARCH = 27,
    PCACHE_E_PAGE_SIZE = 28,
    PCACHE_E_CLIENT = 29,               /* another client's segment */
    PCACHE_E_CLIENT_VERSION = 30,
    PCACHE_E_IMAGE_ID = 31,             /* segment of another image */
    PCACHE_E_MODULE_BASE = 32,
    PCACHE_E_MODULE_SIZE = 33,
    PCACHE_E_MODULE_DIGEST = 34,
    /* lookups */
    PCACHE_E_NOT_FOUND = 35,            /* no section of that name or index */
    PCACHE_E_SKIPPED = 36,              /* the section is unknown and was skipped */
    /* standalone files */
    PCACHE_E_IO = 37,                   /* open/read/write failed; errno in report */
    PCACHE_E_FILE_MAGIC = 38,
    PCACHE_E_FILE_HEADER = 39,          /* file header field malformed */
    PCACHE_E_FILE_HEADER_CHECKSUM = 40,
    PCACHE_E_FILE_FOOTER = 41,          /* footer missing, malformed or not matching */
    PCACHE_E_FILE_LAYOUT = 42,          /* segments not where the header says */
    PCACHE_E_FILE_SIZE = 43,            /* file size differs from the header's */
    /* patching and relocations (pcache/reloc.h) */
    PCACHE_E_RELOC_RANGE = 44,          /* a displacement or value does not fit its width */
    PCACHE_E_RELOC_TABLE = 45,          /* malformed relocation record or table */
    PCACHE_E_RELOC_TARGET = 46,         /* site or target outside its section */
    PCACHE_E_RELOC_OVERLAP = 47,        /* two patch sites overlap */
    PCACHE_E_ANCHOR = 48,               /* an external anchor could not be resolved */
    /* file I/O hardening (pcache/file.h) */
    PCACHE_E_NO_SPACE = 49,             /* ENOSPC / EDQUOT */
    PCACHE_E_FILE_TOO_LARGE = 50,       /* EFBIG, RLIMIT_FSIZE */
    PCACHE_E_ACCESS = 51,               /* EACCES, EPERM, EROFS */
    PCACHE_E_SHORT_WRITE = 52,          /* a write made no progress */
    PCACHE_E_INTERRUPTED = 53,          /* EINTR where it could not be retried */
    PCACHE_E_FILE_OWNER = 54,           /* file not owned by the expected user */
    PCACHE_E_FILE_MODE = 55,            /* file writable by group or others */
    PCACHE_E_NOT_REGULAR = 56,          /* not a regular file */
    /* DynamoRIO .dpc files (pcache/dpc.h) */
    PCACHE_E_DPC_MAGIC = 57,
    PCACHE_E_DPC_VERSION = 58,          /* a DR persisted-cache version this parser does not know */
    PCACHE_E_DPC_LAYOUT = 59,           /* lengths or offsets inconsistent */
    PCACHE_E_DPC_DIGEST = 60,           /* one of DR's MD5 digests does not match */
    /* compression */
    PCACHE_E_INFLATE = 61,              /* compressed bytes do not inflate */
    PCACHE_E_COMPRESSION_RATIO = 62,    /* stated sizes impossible (decompression bomb) */
    PCACHE_E_NOT_COMPRESSIBLE = 63,     /* compression refused for this section */
    /* relocations, after resurrect (pcache/reloc.h) */
    PCACHE_E_SEGMENT_CHANGED = 64,      /* segment struct or bytes not what resurrect checked and sealed */
    /* builds of loaded ELF objects (pcache/build_id.h) */
    PCACHE_E_ELF_MAGIC = 65,            /* no ELF header at the load base */
    PCACHE_E_ELF_UNSUPPORTED = 66,      /* ELF class, byte order, version, type or machine not read */
    PCACHE_E_ELF_HEADER = 67,           /* ELF header field unusable (phentsize, phnum, ...) */
    PCACHE_E_ELF_SEGMENT = 68,          /* program headers do not describe a loaded object */
    PCACHE_E_ELF_NOTE = 69,             /* malformed note segment, or conflicting build-id notes */
    PCACHE_E_BUILD_ID_SIZE = 70,        /* build-id note empty or above PCACHE_BUILD_ID_MAX */
    PCACHE_E_NO_BUILD_ID = 71,          /* neither a build-id note nor code to digest */
    PCACHE_E_CLIENT_BUILD = 72,         /* client library of another build */
    PCACHE_STATUS_COUNT                 /* number of codes; not a code */
} pcache_status;

/* Name of a status, e.g. "section checksum mismatch".  Never NULL. */
PCACHE_API const char *pcache_strerror(pcache_status status);
/* Symbolic name of a status, e.g. "PCACHE_E_SECTION_CHECKSUM". */
PCACHE_API const char *pcache_status_name(pcache_status status);

/* ------------------------------------------------------------------ */
/* Classes, checksums, identity                                        */
/* ------------------------------------------------------------------ */

typedef enum pcache_class {
    PCACHE_RO = 0, /* read-only data */
    PCACHE_RX = 1, /* executable code */
    PCACHE_RW = 2, /* writable data */
    PCACHE_CLASS_COUNT = 3
} pcache_class;

PCACHE_API const char *pcache_class_name(pcache_class cls); /* "ro", "rx", "rw" */

typedef enum pcache_checksum_algorithm {
    PCACHE_CHECKSUM_XXH3_64 = 1, /* default */
    PCACHE_CHECKSUM_CRC32 = 2    /* zlib's CRC-32 */
} pcache_checksum_algorithm;

PCACHE_API const char *pcache_checksum_name(pcache_checksum_algorithm algo);

/* One-shot checksum of a buffer with the given algorithm (CRC-32 values
 * are returned zero-extended).  algo must be one of the algorithms above:
 * for another value it returns 0, which is also a possible checksum, so
 * an algorithm code that comes from a file or a user goes through
 * pcache_checksum_compute(). */
PCACHE_API uint64_t pcache_checksum(pcache_checksum_algorithm algo,
                                    const void *data, size_t size);

/* The same, checked: PCACHE_OK and *out, or PCACHE_E_CHECKSUM_ALGORITHM
 * for an algorithm this library does not know (*out untouched);
 * PCACHE_E_INVALID_ARGUMENT for out NULL, or data NULL with size > 0. */
PCACHE_API pcache_status pcache_checksum_compute(pcache_checksum_algorithm algo,
                                                 const void *data, size_t size,
                                                 uint64_t *out);

typedef enum pcache_byte_order {
    PCACHE_LITTLE_ENDIAN = 1,
    PCACHE_BIG_ENDIAN = 2
} pcache_byte_order;

/* What a loader must match before it trusts an image.  Written into every
 * segment header. */
typedef struct pcache_identity {
    char client_name[PCACHE_CLIENT_NAME_MAX + 1]; /* NUL-terminated */
    uint32_t client_version;
    uint8_t image_id[PCACHE_IMAGE_ID_SIZE];       /* shared by an image's segments */
    uint8_t byte_order;                           /* pcache_byte_order */
    uint8_t pointer_size;                         /* 4 or 8 */
    uint16_t arch;                                /* ELF e_machine, e.g. 62 = x86-64 */
    uint32_t page_size;                           /* power of two, >= 4096... see FORMAT.md */
    uint64_t module_base;                         /* app module base at persist time */
    uint64_t module_size;
    uint32_t module_digest_len;                   /* 0..PCACHE_MODULE_DIGEST_MAX */
    uint8_t module_digest[PCACHE_MODULE_DIGEST_MAX];
    pcache_checksum_algorithm checksum;
} pcache_identity;

/* Fills *id for this host (byte order, pointer size, arch, page size),
 * with XXH3-64 checksums, the given client name and version, a fresh random
 * image id, and no module key.  Fails with PCACHE_E_CLIENT_NAME if the name
 * is empty or longer than PCACHE_CLIENT_NAME_MAX. */
PCACHE_API pcache_status pcache_identity_init(pcache_identity *id,
                                              const char *client_name,
                                              uint32_t client_version);

/* Sets the module key: the app module's base and size at persist time and
 * an optional digest (digest may be NULL when digest_len is 0). */
PCACHE_API pcache_status pcache_identity_set_module(pcache_identity *id,
                                                    uint64_t base, uint64_t size,
                                                    const void *digest,
                                                    size_t digest_len);

/* ------------------------------------------------------------------ */
/* Sinks: where persist writes                                         */
/* ------------------------------------------------------------------ */

/* write() must consume all len bytes and return 0, or return nonzero
 * (an errno value is customary) on failure. */
typedef struct pcache_sink {
    int (*write)(void *ctx, const void *buf, size_t len);
    void *ctx;
} pcache_sink;

/* A sink into a caller-owned buffer.  Writing past capacity fails. */
typedef struct pcache_buffer_sink {
    uint8_t *buf;
    size_t capacity;
    size_t used;
} pcache_buffer_sink;

PCACHE_API pcache_sink pcache_sink_buffer(pcache_buffer_sink *state, void *buf,
                                          size_t capacity);

/* A sink that write(2)s to a file descriptor, retrying on EINTR and short
 * writes.  ctx_fd must outlive the sink. */
PCACHE_API pcache_sink pcache_sink_fd(int *ctx_fd);

/* ------------------------------------------------------------------ */
/* Reports                                                             */
/* ------------------------------------------------------------------ */

#define PCACHE_REPORT_NO_CLASS (-1)
/* report.offset when the problem has no byte offset (a failed open, say) */
#define PCACHE_REPORT_NO_OFFSET UINT64_MAX

/* Where and what, for a failed read. */
typedef struct pcache_report {
    pcache_status status;
    int cls;                 /* pcache_class, or PCACHE_REPORT_NO_CLASS */
    char section[PCACHE_SECTION_NAME_MAX + 1]; /* "" when not about a section */
    uint64_t offset;         /* byte offset in the segment (file, for file errors) */
    int has_values;          /* expected/found are meaningful */
    uint64_t expected;
    uint64_t found;
    int sys_errno;           /* for PCACHE_E_IO / PCACHE_E_SINK, else 0 */
    char message[320];       /* one line, complete: what, where, expected vs found */
} pcache_report;

/* ------------------------------------------------------------------ */
/* Building and persisting                                             */
/* ------------------------------------------------------------------ */

/* Section flags (stored in the section table). */
#define PCACHE_SECTION_SKIPPABLE 0x0001u /* an older reader may skip it */
/* Stored as a zlib stream (format 1.1): set by the builder for sections
 * given to pcache_builder_set_compression(), never passed in flags. */
#define PCACHE_SECTION_COMPRESSED 0x0002u

/* Section types.  Values other than these are reserved; a reader treats a
 * section of an unknown type as unknown (skipped if skippable, else
 * refused). */
#define PCACHE_TYPE_DATA 1u   /* client bytes */

/* Segment (class) flags. */
#define PCACHE_SEGMENT_PAGE_ROUNDED 0x0001u /* size rounded up to a page */

typedef struct pcache_builder pcache_builder;
typedef struct pcache_writer pcache_writer;

/* Produces a section's bytes at persist time, by calling
 * pcache_writer_write() until exactly the declared size has been written.
 * Returns 0, or nonzero to abort the persist (PCACHE_E_SINK). */
typedef int (*pcache_produce_fn)(void *ctx, pcache_writer *w);

PCACHE_API pcache_status pcache_writer_write(pcache_writer *w, const void *buf,
                                             size_t len);

/* Creates a builder for an image with this identity (copied). */
PCACHE_API pcache_status pcache_builder_new(pcache_builder **out,
                                            const pcache_identity *id);
PCACHE_API void pcache_builder_free(pcache_builder *b);
PCACHE_API const pcache_identity *pcache_builder_identity(const pcache_builder *b);

/* Adds a section whose bytes are read at persist time from data (not
 * copied: data must stay valid, and keep the same size, until the last
 * persist).  align: power of two, 1 .. page size.  flags: PCACHE_SECTION_*. */
PCACHE_API pcache_status pcache_builder_add(pcache_builder *b, pcache_class cls,
                                            const char *name, const void *data,
                                            uint64_t size, uint32_t align,
                                            uint32_t flags);

/* Adds a section of a given size whose bytes a callback produces at
 * persist time.  Writing other than exactly size bytes makes persist fail
 * with PCACHE_E_PERSIST_SIZE. */
PCACHE_API pcache_status pcache_builder_add_produced(pcache_builder *b,
                                                     pcache_class cls,
                                                     const char *name,
                                                     uint64_t size, uint32_t align,
                                                     uint32_t flags,
                                                     pcache_produce_fn produce,
                                                     void *ctx);

/* Adds a section with an explicit type (advanced; tests and extensions). */
PCACHE_API pcache_status pcache_builder_add_typed(pcache_builder *b,
                                                  pcache_class cls,
                                                  const char *name, uint16_t type,
                                                  const void *data, uint64_t size,
                                                  uint32_t align, uint32_t flags);

/* zlib's Z_DEFAULT_COMPRESSION: level 6. */
#define PCACHE_COMPRESS_DEFAULT (-1)

/* Stores section name of class cls as a zlib stream (RFC 1950) deflated
 * at level (0 to 9, or PCACHE_COMPRESS_DEFAULT); a reader gets it back
 * with pcache_segment_inflate().  Only client sections of the ro class
 * whose bytes the builder holds (pcache_builder_add, _add_typed) may be
 * compressed: rx and rw sections, produced sections and the library's
 * sections are refused with PCACHE_E_NOT_COMPRESSIBLE, as, at
 * pcache_builder_size(), is a section holding a patch site or targeted by
 * one (pcache/reloc.h): its bytes would not be where the patch says.
 * Unknown name: PCACHE_E_NOT_FOUND; level out of range:
 * PCACHE_E_INVALID_ARGUMENT.  Calling it again changes the level.
 *
 * The section is deflated by pcache_builder_size() into a buffer the
 * builder owns, so that size knows the stored size: the bytes persist
 * writes are those of data at the last size() (a later size() deflates
 * again only if they changed).  The section is stored compressed even when
 * deflating does not make it smaller (level 0 never does), so that a
 * reader's access path does not depend on the contents. */
PCACHE_API pcache_status pcache_builder_set_compression(pcache_builder *b,
                                                        pcache_class cls,
                                                        const char *name,
                                                        int level);

/* PCACHE_SEGMENT_PAGE_ROUNDED etc., for one class. */
PCACHE_API pcache_status pcache_builder_set_segment_flags(pcache_builder *b,
                                                          pcache_class cls,
                                                          uint32_t flags);

/* The report of the builder's last failed call (status PCACHE_OK when the
 * last call succeeded): says which section and what sizes disagreed. */
PCACHE_API const pcache_report *pcache_builder_report(const pcache_builder *b);

/* Number of sections in a class. */
PCACHE_API uint32_t pcache_builder_section_count(const pcache_builder *b,
                                                 pcache_class cls);

/* Mirrors DynamoRIO's size callback: lays out the class's segment as
 * starting at file offset file_offs and stores its exact byte count in
 * *size (0 when the class has no section).  Must precede persist; may be
 * called again (the last call wins). */
PCACHE_API pcache_status pcache_builder_size(pcache_builder *b, pcache_class cls,
                                             uint64_t file_offs, uint64_t *size);

/* File offset each section of a class will have, after size(): for the
 * patching and relocation layers.  Fails with PCACHE_E_NOT_FOUND. */
PCACHE_API pcache_status pcache_builder_section_file_offset(const pcache_builder *b,
                                                            pcache_class cls,
                                                            const char *name,
                                                            uint64_t *file_offs);

/* Mirrors DynamoRIO's persist callback: writes exactly the bytes size()
 * promised through the sink, in one sequential pass (header, section table,
 * section bytes, checksum trailer).  If anything other than the promised
 * number of bytes would be written, fails with PCACHE_E_PERSIST_SIZE. */
PCACHE_API pcache_status pcache_builder_persist(pcache_builder *b, pcache_class cls,
                                                const pcache_sink *sink);

/* ------------------------------------------------------------------ */
/* Resurrecting                                                        */
/* ------------------------------------------------------------------ */

typedef enum pcache_validation {
    PCACHE_VALIDATE_HEADER = 1, /* header and section table only */
    PCACHE_VALIDATE_LAZY = 2,   /* plus each section when first accessed */
    PCACHE_VALIDATE_FULL = 3    /* every byte up front: sections, padding, trailer */
} pcache_validation;

/* Identity checks (bits of pcache_expect.check). */
#define PCACHE_CHECK_BYTE_ORDER     0x0001u
#define PCACHE_CHECK_POINTER_SIZE   0x0002u
#define PCACHE_CHECK_ARCH           0x0004u
#define PCACHE_CHECK_PAGE_SIZE      0x0008u
#define PCACHE_CHECK_CLIENT         0x0010u
#define PCACHE_CHECK_CLIENT_VERSION 0x0020u
#define PCACHE_CHECK_IMAGE_ID       0x0040u
#define PCACHE_CHECK_MODULE_BASE    0x0080u
#define PCACHE_CHECK_MODULE_SIZE    0x0100u
#define PCACHE_CHECK_MODULE_DIGEST  0x0200u
#define PCACHE_CHECK_CHECKSUM_ALGO  0x0400u
#define PCACHE_CHECK_ALIGNMENT      0x0800u /* sections aligned in memory */
/* Default: everything but the module base (modules move under ASLR; the
 * stored base is what rebasing starts from) and the image id (unknown until
 * the first segment of an image has been read). */
#define PCACHE_CHECK_DEFAULT                                                     \
    (PCACHE_CHECK_BYTE_ORDER | PCACHE_CHECK_POINTER_SIZE | PCACHE_CHECK_ARCH |   \
     PCACHE_CHECK_PAGE_SIZE | PCACHE_CHECK_CLIENT | PCACHE_CHECK_CLIENT_VERSION | \
     PCACHE_CHECK_MODULE_SIZE | PCACHE_CHECK_MODULE_DIGEST |                     \
     PCACHE_CHECK_CHECKSUM_ALGO | PCACHE_CHECK_ALIGNMENT)

/* What the loader expects. */
typedef struct pcache_expect {
    pcache_identity identity;   /* compared field by field per check bits */
    uint32_t check;             /* PCACHE_CHECK_* */
    pcache_validation validation;
    /* Section names this reader knows (NULL: all names are known).  A data
     * section with another name is unknown: skipped if it is marked
     * skippable, else the segment is refused. */
    const char *const *known_sections;
    size_t known_section_count;
    /* The mapped bytes are writable (rw data): views may be mutated. */
    int writable;
} pcache_expect;

/* Expect what id says, with PCACHE_CHECK_DEFAULT and full validation. */
PCACHE_API void pcache_expect_init(pcache_expect *exp, const pcache_identity *id);

/* Also require this image id (e.g. the one of the first segment read). */
PCACHE_API void pcache_expect_image_id(pcache_expect *exp,
                                       const uint8_t image_id[PCACHE_IMAGE_ID_SIZE]);

/* Library-internal (pcache_reloc_apply): what the relocation records of
 * one origin and kind add to it lies in [low, low + width] (mod 2^64),
 * so that one comparison per span can prove every value in range. */
typedef struct pcache_reloc_span {
    uint64_t low, width;
    uint16_t origin;            /* 0: the image base; 1 + j: anchor j */
    uint8_t kind;               /* pcache_reloc_kind */
} pcache_reloc_span;

#define PCACHE_RELOC_SPANS 8u   /* per segment; more: checked record by record */

/* pcache_segment.relocs_state (library-internal) */
#define PCACHE_RELOCS_PRISTINE 0u
#define PCACHE_RELOCS_APPLIED 1u
#define PCACHE_RELOCS_BROKEN 2u

/* A resurrected segment: a caller-owned object (no allocation) whose views
 * point into the mapped bytes.  Its fields are read-only for the caller. */
typedef struct pcache_segment {
    const uint8_t *base;        /* first byte of the segment */
    uint64_t size;              /* segment size: what the map pointer advanced by */
    pcache_class cls;
    pcache_identity identity;   /* as stored in the segment */
    uint16_t format_major, format_minor;
    uint32_t flags;             /* PCACHE_SEGMENT_* */
    uint64_t file_offset;       /* file offset it was laid out for */
    uint32_t section_count;
    pcache_validation validation;
    int writable;
    const char *const *known_sections;
    size_t known_section_count;
    /* per-section state for lazy validation: bit set = checksum verified */
    uint64_t verified[PCACHE_MAX_SECTIONS / 64];
    /* library-internal: the relocation seal (docs/FORMAT.md 9.8), set
     * when the relocation tables passed every check of 9.7, 0 until then:
     * a hash of the fields here that apply uses and of the header, section
     * table and checksum trailer resurrect checked; and how many of the
     * records have a range that can fail (not abs64) */
    uint64_t relocs_checked;
    uint64_t relocs_ranged;
    /* their spans, by origin and kind; a count above PCACHE_RELOC_SPANS:
     * more origins and kinds than spans */
    uint32_t relocs_span_count;
    pcache_reloc_span relocs_spans[PCACHE_RELOC_SPANS];
    /* library-internal, sealed with the above: the record count resurrect
     * checked; what the fields of a compact table's implicit addends hold
     * (docs/FORMAT.md 9.10): PCACHE_RELOCS_PRISTINE, _APPLIED (by an apply
     * in place, with this image base and these anchor addresses, after
     * which the sections holding them hashed to relocs_applied_sum) or
     * _BROKEN (an apply in place stopped partway) */
    uint64_t relocs_count;
    uint32_t relocs_state;
    uint64_t relocs_applied_base;
    uint64_t relocs_applied_sum;
    uint64_t relocs_applied_anchor[64];
    /* library-internal: the section indices sorted by name, which
     * pcache_segment_find() searches in O(log n) (the first section_count
     * entries; resurrect fills them as it checks names are unique) */
    uint16_t by_name[PCACHE_MAX_SECTIONS];
} pcache_segment;

/* A view of one section's bytes, inside the mapped segment.  For a
 * compressed section (flags & PCACHE_SECTION_COMPRESSED) data and size
 * are the stored zlib stream; pcache_segment_inflate() gives the bytes. */
typedef struct pcache_view {
    const char *name;      /* NUL-terminated, points into the segment */
    const void *data;
    uint64_t size;
    uint64_t offset;       /* in the segment */
    uint32_t alignment;
    uint16_t type;
    uint16_t flags;
    uint32_t index;
    int known;             /* 0: unknown, skippable (the data is still there) */
    uint64_t loaded_size;  /* the table's size when loaded: size, or inflated */
} pcache_view;

/* Mirrors DynamoRIO's resurrect callback: validates the segment of class
 * cls at *map, fills *seg, and on success advances *map by exactly the
 * segment's size.  available is the number of readable bytes at *map, or
 * PCACHE_SIZE_UNKNOWN: then the fixed header and its checksum are verified
 * before any length in it is trusted, and no byte past the segment's
 * verified size is read.  On failure *map is unchanged and report (may be
 * NULL) says what and where. */
PCACHE_API pcache_status pcache_resurrect(pcache_segment *seg, pcache_class cls,
                                          const uint8_t **map, uint64_t available,
                                          const pcache_expect *exp,
                                          pcache_report *report);

/* Looks up a section by name.  Under PCACHE_VALIDATE_LAZY verifies its
 * checksum on first access.  An unknown skippable section is reported as
 * PCACHE_E_SKIPPED. */
PCACHE_API pcache_status pcache_segment_find(pcache_segment *seg, const char *name,
                                             pcache_view *view,
                                             pcache_report *report);

/* The same, by index (0 .. section_count-1); unknown sections are returned
 * with view->known == 0 rather than refused. */
PCACHE_API pcache_status pcache_segment_section(pcache_segment *seg, uint32_t index,
                                                pcache_view *view,
                                                pcache_report *report);

/* A writable pointer to a view's bytes, or NULL unless the segment was
 * resurrected with pcache_expect.writable set. */
PCACHE_API void *pcache_view_mutable(const pcache_segment *seg,
                                     const pcache_view *view);

/* The checksum the segment's trailer stores for section index (of its
 * stored bytes, with the segment's algorithm), as written, not recomputed:
 * for tools that show it.  Whether the bytes match it is what the
 * validation level decides.  Fails with PCACHE_E_NOT_FOUND past the
 * section count. */
PCACHE_API pcache_status pcache_segment_section_checksum(const pcache_segment *seg,
                                                         uint32_t index,
                                                         uint64_t *checksum);

/* Inflates compressed section index (its flags have
 * PCACHE_SECTION_COMPRESSED) into buf, which must hold its loaded size
 * (view.loaded_size; else PCACHE_E_INVALID_ARGUMENT, report: expected the
 * loaded size, found capacity).  The one access path that copies.  Under
 * PCACHE_VALIDATE_LAZY the stored bytes are checksummed first, as on any
 * first access; under LAZY and FULL the inflated bytes are then checked
 * against the trailer's raw checksum (PCACHE_E_SECTION_CHECKSUM, "inflated"
 * in the message).  Nothing beyond the loaded size is ever written or
 * allocated: a stream that inflates to more or fewer bytes, has bytes
 * after its end or does not inflate is PCACHE_E_INFLATE (report.offset is
 * where in the segment zlib stopped); stated sizes no deflate stream can
 * have are PCACHE_E_COMPRESSION_RATIO, before inflating.  An uncompressed
 * section is PCACHE_E_INVALID_ARGUMENT.  On success *out (may be NULL)
 * views buf, with the section's name, offset, type and flags.  Safe from
 * several threads on one segment, each with its own buf. */
PCACHE_API pcache_status pcache_segment_inflate(pcache_segment *seg, uint32_t index,
                                                void *buf, uint64_t capacity,
                                                pcache_view *out,
                                                pcache_report *report);

/* The same into a buffer of the loaded size that the library allocates
 * (*buf; release it with pcache_free()).  On failure *buf is NULL. */
PCACHE_API pcache_status pcache_segment_inflate_alloc(pcache_segment *seg,
                                                      uint32_t index, void **buf,
                                                      pcache_view *out,
                                                      pcache_report *report);

/* Releases memory the library allocated for the caller; NULL is a no-op. */
PCACHE_API void pcache_free(void *p);

/* ------------------------------------------------------------------ */
/* Standalone pcache files                                             */
/* ------------------------------------------------------------------ */

/* Writes the builder's image as a standalone pcache file to the sink:
 * file header, each non-empty class's segment on a page boundary, footer.
 * Calls size() for each class itself.  *file_size (may be NULL) receives
 * the byte count. */
PCACHE_API pcache_status pcache_file_write_sink(pcache_builder *b,
                                                const pcache_sink *sink,
                                                uint64_t *file_size);

/* The exact size pcache_file_write_sink() will write. */
PCACHE_API pcache_status pcache_file_size(pcache_builder *b, uint64_t *file_size);

/* Writes the file at path, mode 0644 & ~umask, replacing any file there
 * atomically: pcache_file_save() (pcache/file.h) with default options but
 * that mode, with its guarantees and error codes. */
PCACHE_API pcache_status pcache_file_write_path(pcache_builder *b, const char *path,
                                                pcache_report *report);

/* A standalone image opened from memory: one segment per present class. */
typedef struct pcache_image {
    const uint8_t *base;
    uint64_t size;
    uint16_t format_major, format_minor;
    uint32_t page_size;
    pcache_checksum_algorithm checksum;
    uint8_t image_id[PCACHE_IMAGE_ID_SIZE];
    int present[PCACHE_CLASS_COUNT];
    uint64_t offset[PCACHE_CLASS_COUNT];
    uint64_t seg_size[PCACHE_CLASS_COUNT];
    pcache_segment seg[PCACHE_CLASS_COUNT];
    void *owned;  /* buffer freed by pcache_image_close (from _read_path) */
} pcache_image;

/* Validates a standalone file held in memory (base must stay valid; it
 * should be page-aligned for aligned views), in the order of
 * docs/FORMAT.md 7.4.  exp: what the first segment must match (its page
 * size, checksum algorithm and image id are taken from the file header);
 * NULL accepts any identity.  Every later segment must state the first
 * one's identity, field by field, whatever exp checks; the relocation
 * records whose target is in another class's segment are checked
 * (pcache_reloc_check_targets()).  A report about a segment has its offset
 * counted from the start of the file. */
PCACHE_API pcache_status pcache_image_open_memory(pcache_image *img,
                                                  const void *base, uint64_t size,
                                                  const pcache_expect *exp,
                                                  pcache_report *report);

/* Reads a whole file into a page-aligned buffer and opens it. */
PCACHE_API pcache_status pcache_image_read_path(pcache_image *img, const char *path,
                                                const pcache_expect *exp,
                                                pcache_report *report);

/* The segment of a class, or NULL when the file has none. */
PCACHE_API pcache_segment *pcache_image_segment(pcache_image *img, pcache_class cls);

/* Releases what pcache_image_read_path allocated; safe on any opened image. */
PCACHE_API void pcache_image_close(pcache_image *img);

/* ------------------------------------------------------------------ */
/* The library's version at run time                                   */
/* ------------------------------------------------------------------ */

/* The version of the library linked at run time, which may differ from
 * the PCACHE_VERSION_* macros a program was compiled with:
 * PCACHE_VERSION_NUMBER and PCACHE_VERSION_STRING as the library was
 * built. */
PCACHE_API unsigned pcache_version_number(void);
PCACHE_API const char *pcache_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* PCACHE_PCACHE_H */
