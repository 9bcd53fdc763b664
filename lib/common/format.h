/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * On-disk constants and field offsets of the pcache format, as specified in
 * docs/FORMAT.md.  Every integer field is little-endian; every checksum is
 * stored as a big-endian 64-bit value ("canonical", as xxHash does).
 */
#ifndef PCACHE_FORMAT_H
#define PCACHE_FORMAT_H

/* ---- segment header (SEG_HEADER_SIZE bytes) ---- */
#define SEG_MAGIC "\x89PCSEG\r\n" /* 8 bytes: 89 50 43 53 45 47 0D 0A */
#define SEG_MAGIC_SIZE 8u
#define SEG_HEADER_SIZE 256u
#define SEG_ENTRY_SIZE 64u
#define SEG_TRAILER_ENTRY_SIZE 16u
#define SEG_TRAILER_ALIGN 8u
#define SEG_END_ALIGN 8u /* unrounded segments end on a multiple of 8 file bytes */

#define SH_MAGIC 0           /* 8  magic */
#define SH_MAJOR 8           /* u16 format major */
#define SH_MINOR 10          /* u16 format minor */
#define SH_HEADER_SIZE 12    /* u16 = 256 */
#define SH_ENTRY_SIZE 14     /* u16 = 64 */
#define SH_CLASS 16          /* u8 1 ro, 2 rx, 3 rw */
#define SH_CHECKSUM 17       /* u8 1 XXH3-64, 2 CRC-32 */
#define SH_BYTE_ORDER 18     /* u8 1 little, 2 big */
#define SH_POINTER_SIZE 19   /* u8 4 or 8 */
#define SH_ARCH 20           /* u16 ELF e_machine */
#define SH_FLAGS 22          /* u16 segment flags */
#define SH_PAGE_SIZE 24      /* u32 */
#define SH_SECTION_COUNT 28  /* u32 */
#define SH_FILE_OFFSET 32    /* u64 */
#define SH_SEGMENT_SIZE 40   /* u64 */
#define SH_TRAILER_OFFSET 48 /* u64, from segment start */
#define SH_IMAGE_ID 56       /* 16 bytes */
#define SH_CLIENT_VERSION 72 /* u32 */
#define SH_DIGEST_LEN 76     /* u32 0..32 */
#define SH_MODULE_BASE 80    /* u64 */
#define SH_MODULE_SIZE 88    /* u64 */
#define SH_MODULE_DIGEST 96  /* 32 bytes */
#define SH_CLIENT_NAME 128   /* 64 bytes, NUL-terminated, zero-padded */
#define SH_RESERVED 192      /* 48 bytes, zero */
#define SH_RESERVED_SIZE 48
#define SH_TABLE_CHECKSUM 240  /* checksum of the section table */
#define SH_HEADER_CHECKSUM 248 /* checksum of bytes [0, 248) */

#define SEG_FLAGS_KNOWN 0x0001u

/* ---- section table entry (SEG_ENTRY_SIZE bytes) ---- */
#define SE_NAME 0         /* 32 bytes, NUL-terminated, zero-padded */
#define SE_NAME_SIZE 32
#define SE_TYPE 32        /* u16 */
#define SE_FLAGS 34       /* u16 */
#define SE_ALIGN 36       /* u32 power of two <= page size */
#define SE_OFFSET 40      /* u64 from segment start */
#define SE_STORED_SIZE 48 /* u64 bytes in the segment */
#define SE_SIZE 56        /* u64 bytes when loaded (== stored size unless compressed) */

#define SECTION_FLAGS_KNOWN 0x0001u /* PCACHE_SECTION_SKIPPABLE */
/* A DATA section may also be compressed (format 1.1); on the library's
 * types that bit stays unknown, so relocation tables are never inflated. */
#define DATA_FLAGS_KNOWN 0x0003u /* SKIPPABLE | PCACHE_SECTION_COMPRESSED */

/* ---- compressed sections (a zlib stream, RFC 1950) ---- */
#define FORMAT_MINOR_COMPRESSED 1 /* first minor version with compressed sections */
/* The shortest zlib stream: 2-byte header, an empty final block (at least
 * 2 bytes: fixed-Huffman end-of-block, padded), 4-byte Adler-32. */
#define ZLIB_STREAM_MIN 8u
/* Deflate's densest code spends 2 bits on a 258-byte match: no stream
 * inflates to more than 1032 bytes per stored byte.  The slack leaves room
 * for rounding in that argument, not for a real stream. */
#define DEFLATE_MAX_RATIO 1032u
#define DEFLATE_RATIO_SLACK 64u

/* ---- checksum trailer entry (SEG_TRAILER_ENTRY_SIZE bytes) ---- */
#define ST_STORED_CHECKSUM 0 /* checksum of the stored bytes */
#define ST_RAW_CHECKSUM 8    /* checksum of the loaded bytes; 0 unless compressed */

/* ---- standalone file ---- */
#define FILE_MAGIC "\x89PCFILE\n" /* 89 50 43 46 49 4C 45 0A */
#define FILE_HEADER_SIZE 128u
#define FILE_FOOTER_MAGIC "\x89PCEND\r\n" /* 89 50 43 45 4E 44 0D 0A */
#define FILE_FOOTER_SIZE 32u

#define FH_MAGIC 0         /* 8 */
#define FH_MAJOR 8         /* u16 */
#define FH_MINOR 10        /* u16 */
#define FH_HEADER_SIZE 12  /* u16 = 128 */
#define FH_CHECKSUM 14     /* u8 algorithm */
#define FH_RESERVED0 15    /* u8 zero */
#define FH_PAGE_SIZE 16    /* u32 */
#define FH_FLAGS 20        /* u32 zero */
#define FH_FILE_SIZE 24    /* u64 */
#define FH_IMAGE_ID 32     /* 16 */
#define FH_SEGMENTS 48     /* 3 x (u64 offset, u64 size): ro, rx, rw */
#define FH_RESERVED 96     /* 24 bytes zero */
#define FH_RESERVED_SIZE 24
#define FH_HEADER_CHECKSUM 120 /* checksum of [0, 120) */

#define FF_MAGIC 0           /* 8 */
#define FF_FILE_SIZE 8       /* u64 */
#define FF_HEADER_CHECKSUM 16 /* copy of the file header checksum */
#define FF_FOOTER_CHECKSUM 24 /* checksum of footer bytes [0, 24) */

/* Page sizes a header may state. */
#define PAGE_SIZE_MIN 4096u
#define PAGE_SIZE_MAX (1u << 30)

/* ---- relocation record (PCACHE_RELOC_RECORD_SIZE = 48 bytes, in ".relocs") ---- */
#define RELOCS_SECTION_NAME ".relocs"
#define ANCHORS_SECTION_NAME ".anchors"
#define RELOCS_ALIGN 8u
#define RR_KIND 0           /* u8 1 rel8, 2 rel32, 3 abs32, 4 abs64 */
#define RR_TARGET_KIND 1    /* u8 1 section, 2 anchor */
#define RR_SITE_SECTION 2   /* u16 section index in this segment */
#define RR_PC_OFFSET 4      /* u32, two's complement i32; 0 for absolute kinds */
#define RR_SITE_OFFSET 8    /* u64 offset of the field in its section */
#define RR_TARGET_INDEX 16  /* u16 section index in the target class, or anchor index */
#define RR_TARGET_CLASS 18  /* u8 class code 1..3 (section), 0 (anchor) */
#define RR_RESERVED 19      /* 5 bytes zero */
#define RR_RESERVED_SIZE 5
#define RR_TARGET_OFFSET 24 /* u64 offset in the target section, or from the anchor */
#define RR_TARGET_BASE 32   /* u64 file offset of the target section; 0 for anchors */
#define RR_ADDEND 40        /* u64, two's complement i64 */

/* ---- compact relocation table (format 1.2, ".crelocs", docs/FORMAT.md 9.10) ---- */
#define FORMAT_MINOR_CRELOCS 2 /* first minor version with ".crelocs" */
#define CRELOCS_SECTION_NAME ".crelocs"
#define CR_HEADER_SIZE 16u  /* header, then shapes, then the run stream */
#define CR_RECORD_COUNT 0   /* u64 records the table describes, >= 1 */
#define CR_SHAPE_COUNT 8    /* u32 shapes, >= 1 */
#define CR_RESERVED 12      /* u32 zero */
#define CR_SHAPE_SIZE 40u   /* one shape */
#define CS_KIND 0           /* u8 as RR_KIND */
#define CS_TARGET_KIND 1    /* u8 as RR_TARGET_KIND */
#define CS_SITE_SECTION 2   /* u16 as RR_SITE_SECTION */
#define CS_PC_OFFSET 4      /* u32 as RR_PC_OFFSET */
#define CS_TARGET_INDEX 8   /* u16 as RR_TARGET_INDEX */
#define CS_TARGET_CLASS 10  /* u8 as RR_TARGET_CLASS */
#define CS_ADDEND_RULE 11   /* u8 CR_ADDEND_EXPLICIT or CR_ADDEND_IMPLICIT */
#define CS_RESERVED 12      /* u32 zero */
#define CS_TARGET_OFFSET 16 /* u64 as RR_TARGET_OFFSET */
#define CS_TARGET_BASE 24   /* u64 as RR_TARGET_BASE */
#define CS_ADDEND 32        /* u64 explicit: the addend of every record; implicit: 0 */
#define CR_ADDEND_EXPLICIT 1u
#define CR_ADDEND_IMPLICIT 2u
#define CR_VARINT_MAX 10u   /* bytes of a ULEB128 of 64 bits */

/* ---- anchor entry (PCACHE_ANCHOR_ENTRY_SIZE = 40 bytes, in ".anchors") ---- */
#define AE_NAME 0           /* 32 bytes, NUL-terminated, zero-padded */
#define AE_NAME_SIZE 32
#define AE_ADDRESS 32       /* u64 address at persist time */

#endif
