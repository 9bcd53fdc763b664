/* SPDX-License-Identifier: BSD-2-Clause */
/* Names and descriptions of status codes. */
#include "pcache/pcache.h"

static const struct {
    const char *name;
    const char *text;
} status_table[PCACHE_STATUS_COUNT] = {
#define S(code, text) [code] = {#code, text}
    S(PCACHE_OK, "success"),
    S(PCACHE_E_INVALID_ARGUMENT, "invalid argument"),
    S(PCACHE_E_NO_MEMORY, "out of memory"),
    S(PCACHE_E_OVERFLOW, "size or offset overflows 64 bits"),
    S(PCACHE_E_STATE, "call out of order"),
    S(PCACHE_E_SECTION_NAME, "invalid section name"),
    S(PCACHE_E_DUPLICATE_SECTION, "duplicate section name"),
    S(PCACHE_E_ALIGNMENT, "invalid alignment"),
    S(PCACHE_E_TOO_MANY_SECTIONS, "too many sections in one class"),
    S(PCACHE_E_CLIENT_NAME, "invalid client name"),
    S(PCACHE_E_SINK, "write to sink failed"),
    S(PCACHE_E_PERSIST_SIZE, "persisted size differs from the promised size"),
    S(PCACHE_E_TRUNCATED, "data truncated"),
    S(PCACHE_E_MAGIC, "not a pcache segment (bad magic)"),
    S(PCACHE_E_FORMAT_VERSION, "unsupported format version"),
    S(PCACHE_E_HEADER_CHECKSUM, "segment header checksum mismatch"),
    S(PCACHE_E_HEADER_FIELD, "invalid segment header field"),
    S(PCACHE_E_CHECKSUM_ALGORITHM, "unknown checksum algorithm"),
    S(PCACHE_E_TABLE_CHECKSUM, "section table checksum mismatch"),
    S(PCACHE_E_SECTION_TABLE, "invalid section table entry"),
    S(PCACHE_E_SECTION_CHECKSUM, "section checksum mismatch"),
    S(PCACHE_E_PADDING, "nonzero padding or reserved bytes"),
    S(PCACHE_E_UNKNOWN_CRITICAL, "unknown critical section"),
    S(PCACHE_E_MISALIGNED, "section misaligned in memory"),
    S(PCACHE_E_CLASS, "segment class mismatch"),
    S(PCACHE_E_BYTE_ORDER, "byte order mismatch"),
    S(PCACHE_E_POINTER_SIZE, "pointer size mismatch"),
    S(PCACHE_E_ARCH, "architecture mismatch"),
    S(PCACHE_E_PAGE_SIZE, "page size mismatch"),
    S(PCACHE_E_CLIENT, "client name mismatch"),
    S(PCACHE_E_CLIENT_VERSION, "client version mismatch"),
    S(PCACHE_E_IMAGE_ID, "image id mismatch"),
    S(PCACHE_E_MODULE_BASE, "module base mismatch"),
    S(PCACHE_E_MODULE_SIZE, "module size mismatch"),
    S(PCACHE_E_MODULE_DIGEST, "module digest mismatch"),
    S(PCACHE_E_NOT_FOUND, "no such section"),
    S(PCACHE_E_SKIPPED, "section unknown to this reader and skipped"),
    S(PCACHE_E_IO, "I/O error"),
    S(PCACHE_E_FILE_MAGIC, "not a pcache file (bad magic)"),
    S(PCACHE_E_FILE_HEADER, "invalid file header field"),
    S(PCACHE_E_FILE_HEADER_CHECKSUM, "file header checksum mismatch"),
    S(PCACHE_E_FILE_FOOTER, "file footer missing or invalid"),
    S(PCACHE_E_FILE_LAYOUT, "segments not where the file header says"),
    S(PCACHE_E_FILE_SIZE, "file size differs from the file header"),
    S(PCACHE_E_RELOC_RANGE, "relocated value does not fit its field"),
    S(PCACHE_E_RELOC_TABLE, "invalid relocation record"),
    S(PCACHE_E_RELOC_TARGET, "patch site or target out of bounds"),
    S(PCACHE_E_RELOC_OVERLAP, "overlapping patch sites"),
    S(PCACHE_E_ANCHOR, "external anchor not resolved"),
    S(PCACHE_E_NO_SPACE, "no space left on device"),
    S(PCACHE_E_FILE_TOO_LARGE, "file too large"),
    S(PCACHE_E_ACCESS, "permission denied"),
    S(PCACHE_E_SHORT_WRITE, "short write"),
    S(PCACHE_E_INTERRUPTED, "interrupted system call"),
    S(PCACHE_E_FILE_OWNER, "file not owned by the expected user"),
    S(PCACHE_E_FILE_MODE, "file writable by group or others"),
    S(PCACHE_E_NOT_REGULAR, "not a regular file"),
    S(PCACHE_E_DPC_MAGIC, "not a DynamoRIO persisted cache (bad magic)"),
    S(PCACHE_E_DPC_VERSION, "unknown DynamoRIO persisted-cache version"),
    S(PCACHE_E_DPC_LAYOUT, "inconsistent DynamoRIO persisted-cache layout"),
    S(PCACHE_E_DPC_DIGEST, "DynamoRIO persisted-cache MD5 mismatch"),
    S(PCACHE_E_INFLATE, "compressed section does not inflate"),
    S(PCACHE_E_COMPRESSION_RATIO, "impossible compressed size or ratio"),
    S(PCACHE_E_NOT_COMPRESSIBLE, "section may not be compressed"),
    S(PCACHE_E_SEGMENT_CHANGED, "segment changed since it was resurrected"),
    S(PCACHE_E_ELF_MAGIC, "not an ELF object (bad magic)"),
    S(PCACHE_E_ELF_UNSUPPORTED, "ELF class, byte order, type or machine not supported"),
    S(PCACHE_E_ELF_HEADER, "invalid ELF header field"),
    S(PCACHE_E_ELF_SEGMENT, "invalid or inconsistent ELF program headers"),
    S(PCACHE_E_ELF_NOTE, "malformed ELF note"),
    S(PCACHE_E_BUILD_ID_SIZE, "build id empty or too long"),
    S(PCACHE_E_NO_BUILD_ID, "no build-id note and no code to digest"),
    S(PCACHE_E_CLIENT_BUILD, "client library build mismatch"),
#undef S
};

const char *pcache_strerror(pcache_status status)
{
    if ((unsigned)status >= PCACHE_STATUS_COUNT || !status_table[status].text)
        return "unknown status";
    return status_table[status].text;
}

const char *pcache_status_name(pcache_status status)
{
    if ((unsigned)status >= PCACHE_STATUS_COUNT || !status_table[status].name)
        return "PCACHE_E_UNKNOWN";
    return status_table[status].name;
}

const char *pcache_class_name(pcache_class cls)
{
    switch (cls) {
    case PCACHE_RO:
        return "ro";
    case PCACHE_RX:
        return "rx";
    case PCACHE_RW:
        return "rw";
    default:
        return "?";
    }
}
