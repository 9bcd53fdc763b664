/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libpcache — DynamoRIO persisted-cache (.dpc) files.
 *
 * DynamoRIO (DR) writes one .dpc file per persisted coarse unit (one
 * module's code region).  This header reads DR's own layout, as written by
 * core/perscache.c: a fixed header (coarse_persisted_info_t), the option
 * string, DR's list of client libraries followed by the clients' read-only
 * data, DR's tables, the clients' executable data on a page boundary, DR's
 * frozen code cache and stubs, the clients' writable data, and a 36-byte
 * footer with two MD5 digests.  It also finds this library's own segments
 * inside the clients' slots.
 *
 * Only what DR 11.91 writes on a 64-bit host is known: persisted-cache
 * version 10 with its 280-byte header (PCACHE_DPC_FLAG_X86_64 set; DR sets
 * that flag on every 64-bit build).  Anything else is refused with
 * PCACHE_E_DPC_VERSION rather than misread: DR stores no offsets, only
 * lengths whose meaning and order change between versions.
 *
 * Every byte of the file is treated as hostile: no length is trusted until
 * it has been checked against the file size with overflow-checked sums.
 * Nothing is allocated; every pointer in the results points into the
 * caller's buffer, which must stay valid while they are used.
 */
#ifndef PCACHE_DPC_H
#define PCACHE_DPC_H

#include "pcache/pcache.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* DR's constants (core/perscache.h, core/perscache.c)                 */
/* ------------------------------------------------------------------ */

#define PCACHE_DPC_MAGIC 0x244f4952u /* "RIO$" as a little-endian u32, header and footer */
#define PCACHE_DPC_VERSION 10u       /* PERSISTENT_CACHE_VERSION this parser knows */
#define PCACHE_DPC_HEADER_LEN 280u   /* sizeof(coarse_persisted_info_t), version 10, 64-bit */
#define PCACHE_DPC_FOOTER_LEN 36u    /* persisted_footer_t: two MD5s and the magic */
#define PCACHE_DPC_MD5_LEN 16u
#define PCACHE_DPC_CLIENT_ALIGNMENT 8u /* DR rounds option string and client slots to this */
#define PCACHE_DPC_MAX_CLIENT_LIBS 16u /* DR's MAX_CLIENT_LIBS */
/* DR's pages on x86-64: the rx slot starts on one, and so do the stubs when
 * DR maps the writable part separately. */
#define PCACHE_DPC_PAGE_SIZE 4096u
/* DR keeps a whole file within 2 GB so that its rel32 jumps reach. */
#define PCACHE_DPC_MAX_DATA_LEN 0x7fffffffu

/* Header flags (coarse_persisted_info_t.flags, DR's PERSCACHE_*). */
#define PCACHE_DPC_FLAG_X86_32              0x0001u
#define PCACHE_DPC_FLAG_X86_64              0x0002u /* any 64-bit DR build */
#define PCACHE_DPC_FLAG_SEEN_BORLAND_SEH    0x0004u
#define PCACHE_DPC_FLAG_ELIDED_UBR          0x0008u
#define PCACHE_DPC_FLAG_SUPPORT_RAC         0x0010u
#define PCACHE_DPC_FLAG_SUPPORT_RCT         0x0020u
#define PCACHE_DPC_FLAG_ENTIRE_MODULE_RCT   0x0040u
#define PCACHE_DPC_FLAG_SUPPORT_TRACES      0x0080u
#define PCACHE_DPC_FLAG_MAP_RW_SEPARATE     0x0100u /* stubs+rw+footer mapped as a second view */
#define PCACHE_DPC_FLAG_EXEMPTION_OPTIONS   0x0200u
#define PCACHE_DPC_FLAG_CODE_INVALID        0x0400u /* never on disk: DR refuses such a file */

/* "SUPPORT_TRACES" for PCACHE_DPC_FLAG_SUPPORT_TRACES; NULL for a bit DR
 * does not define.  bit must be a single flag. */
PCACHE_API const char *pcache_dpc_flag_name(uint32_t bit);

/* ------------------------------------------------------------------ */
/* The header                                                          */
/* ------------------------------------------------------------------ */

/* persisted_module_info_t: what DR compares with the loaded module. */
typedef struct pcache_dpc_module {
    uint64_t base;         /* module base at persist time */
    uint32_t checksum;     /* module checksum DR read from the image */
    uint32_t timestamp;    /* module timestamp (0 on Linux) */
    uint64_t image_size;   /* module size in memory */
    uint64_t code_size;    /* sum of the module's executable sections */
    uint64_t file_version; /* 0 on Linux */
    uint8_t full_md5[PCACHE_DPC_MD5_LEN];  /* MD5 of the code region; zero unless
                                            * -persist_gen_validation asked for it */
    uint8_t short_md5[PCACHE_DPC_MD5_LEN]; /* MD5 of the module's header and footer */
} pcache_dpc_module;

/* coarse_persisted_info_t, version 10, 64-bit: every field, in file order.
 * The *_len fields are all DR stores about where things are: the data
 * sections follow one another in a fixed order (see pcache_dpc_region). */
typedef struct pcache_dpc_header {
    uint32_t magic;        /* @0   PCACHE_DPC_MAGIC */
    uint32_t version;      /* @4   PCACHE_DPC_VERSION */
    uint64_t header_len;   /* @8   PCACHE_DPC_HEADER_LEN; data starts here */
    uint64_t data_len;     /* @16  bytes after the header, footer included */
    uint32_t flags;        /* @24  PCACHE_DPC_FLAG_* */
    uint32_t build_number; /* @28  DR's build number, 0 for a source build */
    pcache_dpc_module module; /* @32, 72 bytes */
    uint64_t start_offs;   /* @104 covered code range, from the module base */
    uint64_t end_offs;     /* @112 */
    uint32_t tls_offs_base; /* @120 DR's TLS offset; must match at load */
    /* @124: 4 bytes of struct padding, contents unspecified */
    uint64_t instrument_rw_len;  /* @128 client rw slot */
    uint64_t stubs_len;          /* @136 */
    uint64_t ibl_jmp_prefix_len; /* @144 */
    uint64_t ibl_call_prefix_len; /* @152 */
    uint64_t ibl_ret_prefix_len; /* @160 */
    uint64_t trace_head_return_prefix_len; /* @168 */
    uint64_t fcache_return_prefix_len;     /* @176 */
    uint64_t cache_len;          /* @184 frozen code cache, post_cache_pad_len included */
    uint64_t post_cache_pad_len; /* @192 bytes at the cache's end that are not code */
    uint64_t pad_len;            /* @200 padding that puts the rx slot on a page */
    uint64_t instrument_rx_len;  /* @208 client rx slot */
    uint64_t view_pad_len;       /* @216 padding that puts the stubs on a view boundary */
    uint64_t stub_htable_len;    /* @224 */
    uint64_t cache_htable_len;   /* @232 */
    uint64_t rct_htable_len;     /* @240 */
    uint64_t rac_htable_len;     /* @248 */
    uint64_t reloc_len;          /* @256 always 0 (relocations NYI in DR) */
    uint64_t instrument_ro_len;  /* @264 client ro slot: DR's client list + client ro data */
    uint64_t option_string_len;  /* @272 option string with its NUL, rounded up to 8 */
} pcache_dpc_header;

/* ------------------------------------------------------------------ */
/* The layout                                                          */
/* ------------------------------------------------------------------ */

/* The file's regions in file order.  They tile the file: region i+1 starts
 * where region i ends, the header at 0 and the footer last.  (DR writes
 * them in this order and walks them backwards from the footer when it
 * loads; both agree exactly when the lengths sum to data_len.) */
typedef enum pcache_dpc_region_id {
    PCACHE_DPC_R_HEADER = 0,
    PCACHE_DPC_R_OPTION_STRING,
    PCACHE_DPC_R_CLIENT_RO,      /* DR's client list, then the clients' ro data */
    PCACHE_DPC_R_RELOC,
    PCACHE_DPC_R_RAC_HTABLE,
    PCACHE_DPC_R_RCT_HTABLE,
    PCACHE_DPC_R_CACHE_HTABLE,
    PCACHE_DPC_R_STUB_HTABLE,
    PCACHE_DPC_R_PAD,
    PCACHE_DPC_R_CLIENT_RX,      /* starts on a page */
    PCACHE_DPC_R_VIEW_PAD,
    PCACHE_DPC_R_CACHE,
    PCACHE_DPC_R_FCACHE_RETURN_PREFIX,
    PCACHE_DPC_R_TRACE_HEAD_RETURN_PREFIX,
    PCACHE_DPC_R_IBL_RET_PREFIX,
    PCACHE_DPC_R_IBL_CALL_PREFIX,
    PCACHE_DPC_R_IBL_JMP_PREFIX,
    PCACHE_DPC_R_STUBS,
    PCACHE_DPC_R_CLIENT_RW,
    PCACHE_DPC_R_FOOTER,
    PCACHE_DPC_REGION_COUNT      /* not a region */
} pcache_dpc_region_id;

/* "client_ro", "stub_htable", ...; "?" for an id out of range. */
PCACHE_API const char *pcache_dpc_region_name(pcache_dpc_region_id id);

/* A byte range of the file. */
typedef struct pcache_dpc_span {
    uint64_t offset;
    uint64_t size;
} pcache_dpc_span;

/* A string inside the file: not NUL-terminated in this struct's sense
 * (a NUL follows it in the file, but use len). */
typedef struct pcache_dpc_string {
    const char *ptr;
    uint64_t len;  /* bytes, without the NUL */
} pcache_dpc_string;

/* What pcache_dpc_parse() found.  The have_* fields say how far it got:
 * each part is filled only when everything it rests on was checked. */
typedef struct pcache_dpc {
    const uint8_t *data; /* the caller's buffer */
    uint64_t size;

    int have_header;  /* header: magic, version, 64-bit layout, header_len */
    int have_digests; /* footer, and both digests computed */
    int have_layout;  /* regions, option string, client list, client data */

    pcache_dpc_header header;

    pcache_dpc_span region[PCACHE_DPC_REGION_COUNT]; /* by pcache_dpc_region_id */

    /* The option string DR recorded (its non-default pcache-affecting
     * options), without NUL or padding; len 0 when DR recorded none. */
    pcache_dpc_string option_string;

    /* DR's client list at the start of the ro slot: each library's full
     * path, in DR's priority order.  DR refuses to load the file unless
     * the same libraries are loaded in the same order. */
    uint32_t client_lib_count;
    pcache_dpc_string client_lib[PCACHE_DPC_MAX_CLIENT_LIBS];
    uint64_t client_list_len; /* bytes: each path and its NUL, then one more NUL */

    /* The clients' own bytes per class (PCACHE_RO/RX/RW): offset is the
     * file_offs DR passed to the first client called for that class (for
     * ro, after DR's client list).  DR records only the total it rounded up
     * to PCACHE_DPC_CLIENT_ALIGNMENT, so size includes up to 7 bytes of
     * DR's padding, which are copies of code-cache bytes, not zeros. */
    pcache_dpc_span client_data[PCACHE_CLASS_COUNT];

    /* The footer (persisted_footer_t) and the digests. */
    uint8_t stored_file_md5[PCACHE_DPC_MD5_LEN];     /* MD5 of bytes [0, size - 36) */
    uint8_t stored_header_md5[PCACHE_DPC_MD5_LEN];   /* MD5 of bytes [0, header_len) */
    uint32_t footer_magic;                           /* PCACHE_DPC_MAGIC */
    uint8_t computed_file_md5[PCACHE_DPC_MD5_LEN];
    uint8_t computed_header_md5[PCACHE_DPC_MD5_LEN];
    int file_md5_matches;
    int header_md5_matches;
} pcache_dpc;

/* Parses a whole .dpc file held in memory.
 *
 * Returns PCACHE_OK when the layout is consistent and both digests match.
 * Otherwise rep (may be NULL) says which field, at which file offset, and
 * expected versus found:
 *  - PCACHE_E_INVALID_ARGUMENT: out or data NULL.
 *  - PCACHE_E_DPC_MAGIC: the header or footer magic is not "RIO$".
 *  - PCACHE_E_DPC_VERSION: a version other than 10, or not the 64-bit
 *    layout (PCACHE_DPC_FLAG_X86_64 clear): nothing past the version (or
 *    the flags) is interpreted.
 *  - PCACHE_E_TRUNCATED: fewer bytes than the header, or than
 *    header_len + data_len.
 *  - PCACHE_E_DPC_LAYOUT: header_len is not 280; bytes after
 *    header_len + data_len; data_len too small for the footer or above
 *    2 GB; the section lengths overflow or do not sum to data_len (which
 *    is how overlapping or gapped sections show, as DR stores no offsets);
 *    a length DR rounds is not rounded; the rx slot (or, with
 *    MAP_RW_SEPARATE, the stubs) not on a page; post_cache_pad_len above
 *    cache_len; the option string or the client list not terminated inside
 *    its region; an empty ro slot; more than 16 client libraries.
 *  - PCACHE_E_DPC_DIGEST: the layout is consistent but a stored digest
 *    differs from the computed one.  *out is then completely filled, so a
 *    tool can show both digests and see which one (file_md5_matches,
 *    header_md5_matches) failed.
 * On other failures *out is filled as far as the have_* fields say; in
 * particular a layout error found after the footer was located still
 * leaves the digests filled (have_digests).
 *
 * DR itself, by default (-persist_load_validation 0x5), checks only the
 * header digest at load: a client's bytes that fail the file digest still
 * reach the client.  This parser checks both. */
PCACHE_API pcache_status pcache_dpc_parse(pcache_dpc *out, const void *data, uint64_t size,
                                          pcache_report *rep);

/* Parses only DR's header (at least its 280 bytes at data, size of them
 * readable), as a DR client can read it from the file DR is writing
 * (DR writes its header first): magic, version, header_len, data_len and
 * the section lengths, checked as pcache_dpc_parse() does, with the same
 * statuses.  On success have_header is set and region[] and client_data[]
 * hold the layout (client_data[PCACHE_RO] is the whole ro slot, DR's
 * client list included, which is not read); nothing past the header is
 * read or checked: no footer, digests, option string or client list. */
PCACHE_API pcache_status pcache_dpc_parse_header(pcache_dpc *out, const void *data, uint64_t size,
                                                 pcache_report *rep);

/* ------------------------------------------------------------------ */
/* This library's segments inside the client slots                     */
/* ------------------------------------------------------------------ */

/* One place in a client slot where a segment magic was found. */
typedef struct pcache_dpc_found {
    pcache_class slot;       /* the DR client slot it lies in */
    uint64_t file_offset;    /* of the segment's first byte, in the .dpc file */
    pcache_status status;    /* PCACHE_OK: a valid segment; else why it was refused */
    pcache_report report;    /* when refused: what and where (offset in the segment) */
    /* When status is PCACHE_OK: the segment, validated in full (every
     * section checksum) but with no identity check, with views into the
     * .dpc buffer.  segment.cls is the class its header states, which need
     * not be the slot's (see dr/NOTES.md on DR's rw/rx mix-up). */
    pcache_segment segment;
    /* The segment states the file offset it was laid out for: 1 when that
     * is where it was found (0 tells of a segment moved after writing). */
    int at_stated_offset;
} pcache_dpc_found;

/* Where a scan of the client slots stands: set by pcache_dpc_scan_init(),
 * moved on by pcache_dpc_next_segment(); slot and pos are not to be
 * changed otherwise. */
typedef struct pcache_dpc_scan {
    unsigned slot; /* pcache_class of the slot scanned; PCACHE_CLASS_COUNT when done */
    uint64_t pos;  /* offset in that slot's client bytes where the scan goes on */
    /* The caller's to set between calls (0 from pcache_dpc_scan_init):
     * nonzero leaves a refused candidate's report empty but for its status.
     * Formatting the message is most of what a candidate refused at its
     * magic or version costs; a caller that only counts refused candidates,
     * or keeps some of them, spares it for the others. */
    int brief;
} pcache_dpc_scan;

/* Starts a scan at the first byte of the ro slot's client bytes. */
PCACHE_API void pcache_dpc_scan_init(pcache_dpc_scan *scan);

/* The next segment candidate, in file order, into *found.  The clients'
 * bytes of each slot (ro after DR's client list, rx, rw) are scanned for
 * the segment magic at every offset, and each candidate is validated in
 * full with pcache_resurrect() (no identity check), given only the bytes
 * left in its slot.
 *
 * Where the scan goes on after a candidate:
 *  - a valid segment is skipped as a whole (a slot may hold several, end
 *    to end);
 *  - a refused candidate whose header is intact (major version 1, a known
 *    checksum algorithm, the header checksum matching) and states a
 *    segment size that holds its header and section table and fits in the
 *    slot is skipped as a whole too: those bytes are that segment's,
 *    damaged as it may be, and are not searched for further candidates;
 *  - after any other refused candidate, the scan goes on at the next byte.
 * So no byte is verified for two candidates, and a whole scan takes time
 * linear in the size of the slots, whatever their bytes (docs/FORMAT.md 8.1).
 *
 * Returns PCACHE_OK with *found filled; PCACHE_E_NOT_FOUND when no
 * candidate is left (*found untouched); PCACHE_E_INVALID_ARGUMENT unless
 * dpc->have_layout, or with a scan not from pcache_dpc_scan_init().
 * Nothing is allocated: a caller that keeps only what it needs holds
 * memory in proportion to that, not to the number of candidates, which
 * hostile bytes make one per 8 bytes. */
PCACHE_API pcache_status pcache_dpc_next_segment(const pcache_dpc *dpc, pcache_dpc_scan *scan,
                                                 pcache_dpc_found *found, pcache_report *rep);

/* Every candidate pcache_dpc_next_segment() gives, from the start:
 * found[0 .. min(*count, capacity)) receives them in file order, valid or
 * not; *count is their total, which may exceed capacity (call again with a
 * larger array).  found may be NULL when capacity is 0.  Fails with
 * PCACHE_E_INVALID_ARGUMENT unless dpc->have_layout. */
PCACHE_API pcache_status pcache_dpc_find_segments(const pcache_dpc *dpc,
                                                  pcache_dpc_found *found,
                                                  size_t capacity, size_t *count,
                                                  pcache_report *rep);

#ifdef __cplusplus
}
#endif

#endif /* PCACHE_DPC_H */
