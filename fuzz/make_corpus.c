/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Writes the fuzzers' seed corpus: valid segments and standalone files of
 * many shapes (each class, zero-size sections, page rounding, CRC-32 and
 * XXH3, many small sections, skippable and critical unknown sections, odd
 * and extreme file offsets, an empty table, a module key), all with the
 * fixed identity of fuzz_corpus_identity() so that the output does not
 * depend on the host or on chance; and images of loaded ELF objects for
 * the build_id target.
 *
 *   make_corpus OUTDIR    writes OUTDIR/<target>/<shape>
 *
 * With fuzz/make_corpus_dr.c, the dr_adapter target's seeds: .dpc files
 * the model of DynamoRIO writes with the adapter's segments.
 *
 * The committed fuzz/corpus/ is this program's output; docs/FUZZING.md
 * says how to regenerate it.
 */
#include <elf.h>
#include <errno.h>
#include <md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bytes.h"
#include "format.h"
#include "fuzz_common.h"
#include "pcache/build_id.h"
#include "pcache/dpc.h"
#include "pcache/reloc.h"

typedef struct sec {
    const char *name;
    uint16_t type;
    uint32_t size, align, flags;
} sec;

#define END {NULL, 0, 0, 0, 0}
#define SKIP PCACHE_SECTION_SKIPPABLE

/* Deterministic, not all zero, different per section. */
static const uint8_t *pattern(uint32_t size, uint32_t salt)
{
    static uint8_t buf[1u << 16];
    for (uint32_t i = 0; i < size && i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 31u + salt * 7u + 1u);
    return buf;
}

/* fuzz/make_corpus_dr.c: the dr_adapter target's seeds. */
void make_corpus_dr(const char *dir,
                    void (*write)(const char *dir, const char *target, const char *name, const void *buf, size_t n));

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "make_corpus: %s: %s\n", what, detail);
    exit(1);
}

static void write_file(const char *dir, const char *target, const char *name, const void *buf, size_t n)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        die(path, strerror(errno));
    snprintf(path, sizeof path, "%s/%s/%s", dir, target, name);
    if (!(f = fopen(path, "wb")) || fwrite(buf, 1, n, f) != n || fclose(f) != 0)
        die(path, strerror(errno));
}

/* Sections are copied by the builder at persist time from pattern(), which
 * is reused: each section gets its own copy. */
static void add(pcache_builder *b, pcache_class cls, const sec *s, uint8_t **keep)
{
    for (uint32_t i = 0; s[i].name; i++) {
        uint8_t *data = malloc(s[i].size + 1u);
        pcache_status st;
        memcpy(data, pattern(s[i].size, i + 1u + (uint32_t)cls * 100u), s[i].size);
        *keep++ = data;
        st = pcache_builder_add_typed(b, cls, s[i].name, s[i].type ? s[i].type : PCACHE_TYPE_DATA, data,
                                      s[i].size, s[i].align, s[i].flags);
        if (st != PCACHE_OK)
            die(s[i].name, pcache_strerror(st));
    }
}

static void free_all(uint8_t **keep)
{
    while (*keep)
        free(*keep++);
}

/* The segment of class cls laid out at file_offs; *size receives its size. */
static uint8_t *build_segment(const pcache_identity *id, pcache_class cls, uint64_t file_offs, uint32_t seg_flags,
                              const sec *s, uint64_t *size)
{
    uint8_t *keep[1100] = {0};
    pcache_builder *b;
    pcache_buffer_sink bs;
    pcache_sink sink;
    uint8_t *out;

    if (pcache_builder_new(&b, id) != PCACHE_OK)
        die("segment", "identity");
    add(b, cls, s, keep);
    if (pcache_builder_set_segment_flags(b, cls, seg_flags) != PCACHE_OK ||
        pcache_builder_size(b, cls, file_offs, size) != PCACHE_OK)
        die("segment", "size");
    out = malloc(*size);
    sink = pcache_sink_buffer(&bs, out, *size);
    if (pcache_builder_persist(b, cls, &sink) != PCACHE_OK || bs.used != *size)
        die("segment", "persist");
    free_all(keep);
    pcache_builder_free(b);
    return out;
}

static void segment(const char *dir, const char *name, const pcache_identity *id, pcache_class cls,
                    uint64_t file_offs, uint32_t seg_flags, const sec *s)
{
    uint64_t size = 0;
    uint8_t *out = build_segment(id, cls, file_offs, seg_flags, s, &size);
    write_file(dir, "segment_known", name, out, size);
    write_file(dir, "segment_unknown", name, out, size);
    free(out);
}

/* Appends a segment laid out for where it lands in f. */
static uint64_t put_segment(uint8_t *f, uint64_t at, const pcache_identity *id, pcache_class cls,
                            uint32_t seg_flags, const sec *s)
{
    uint64_t size = 0;
    uint8_t *seg = build_segment(id, cls, at, seg_flags, s, &size);
    memcpy(f + at, seg, size);
    free(seg);
    return at + size;
}

static uint64_t round8(uint64_t x)
{
    return (x + PCACHE_DPC_CLIENT_ALIGNMENT - 1) & ~(uint64_t)(PCACHE_DPC_CLIENT_ALIGNMENT - 1);
}

/* A DynamoRIO .dpc file (version 10, 64-bit) as DR lays it out, with
 * pcache segments in its client slots: ro_count ro segments end to end
 * after DR's client list, a page-rounded rx segment when rx, an rw one
 * when rw.  DR's own tables are short patterns. */
static void dpc(const char *dir, const char *name, const pcache_identity *id, int ro_count, int rx, int rw,
                uint32_t dr_flags)
{
    static const char options[] = "-persist_trust_textrel";
    static const char clients[] = "/opt/pcache-sample/libclient.so\0";
    static const sec ro[] = {{"table", 0, 24, 8, 0}, {"data", 0, 13, 4, 0}, END};
    static const sec code[] = {{"code", 0, 48, 16, 0}, END};
    static const sec rwdata[] = {{"data", 0, 16, 8, 0}, END};
    uint8_t *f = calloc(1, 1u << 16), *h = f;
    uint64_t off = PCACHE_DPC_HEADER_LEN, start, len;
    MD5_CTX ctx;

    st32(h + 0, PCACHE_DPC_MAGIC);
    st32(h + 4, PCACHE_DPC_VERSION);
    st64(h + 8, PCACHE_DPC_HEADER_LEN);
    st32(h + 24, PCACHE_DPC_FLAG_X86_64 | dr_flags);
    st64(h + 32, 0x400000);    /* module base */
    st64(h + 48, 0x3000);      /* module image size */
    st64(h + 56, 0x1000);      /* module code size */
    st64(h + 104, 0x1000);     /* start_offs */
    st64(h + 112, 0x2000);     /* end_offs */
    len = round8(sizeof options);
    memcpy(f + off, options, sizeof options);
    st64(h + 272, len);
    off += len;
    start = off;
    memcpy(f + off, clients, sizeof clients);
    off += sizeof clients;
    for (int k = 0; k < ro_count; k++)
        off = put_segment(f, off, id, PCACHE_RO, 0, ro);
    len = round8(off - start);
    st64(h + 264, len);
    off = start + len;
    memcpy(f + off, pattern(24, 40), 24); /* DR's cache hashtable */
    st64(h + 232, 24);
    off += 24;
    st64(h + 200, (4096 - off % 4096) % 4096); /* pad_len: the rx slot starts on a page */
    off += (4096 - off % 4096) % 4096;
    start = off;
    if (rx)
        off = put_segment(f, off, id, PCACHE_RX, PCACHE_SEGMENT_PAGE_ROUNDED, code);
    st64(h + 208, off - start);
    if (dr_flags & PCACHE_DPC_FLAG_MAP_RW_SEPARATE) {
        uint64_t view_pad = (4096 - (off + 64) % 4096) % 4096;
        st64(h + 216, view_pad);
        off += view_pad;
    }
    memset(f + off, 0xcc, 64); /* DR's code cache */
    st64(h + 184, 64);
    off += 64;
    memcpy(f + off, pattern(16, 41), 16); /* DR's stubs */
    st64(h + 136, 16);
    off += 16;
    start = off;
    if (rw)
        off = put_segment(f, off, id, PCACHE_RW, 0, rwdata);
    len = round8(off - start);
    st64(h + 128, len);
    off = start + len;
    st64(h + 16, off + PCACHE_DPC_FOOTER_LEN - PCACHE_DPC_HEADER_LEN);
    MD5Init(&ctx);
    MD5Update(&ctx, f, off);
    MD5Final(f + off, &ctx);
    MD5Init(&ctx);
    MD5Update(&ctx, f, PCACHE_DPC_HEADER_LEN);
    MD5Final(f + off + PCACHE_DPC_MD5_LEN, &ctx);
    st32(f + off + 2 * PCACHE_DPC_MD5_LEN, PCACHE_DPC_MAGIC);
    off += PCACHE_DPC_FOOTER_LEN;
    write_file(dir, "dpc", name, f, off);
    if (ro_count > 0) /* inspect's seeds: kept few, the committed corpus is small */
        write_file(dir, "inspect", name, f, off);
    free(f);
}

/* Writers never write a segment without sections; readers accept one. */
static void empty_segment(const char *dir, const pcache_identity *id, uint64_t file_offs)
{
    uint8_t h[SEG_HEADER_SIZE + 8] = {0};
    uint64_t end;
    align_up_u64(file_offs + SEG_HEADER_SIZE, SEG_TRAILER_ALIGN, &end);
    memcpy(h + SH_MAGIC, SEG_MAGIC, SEG_MAGIC_SIZE);
    st16(h + SH_MAJOR, PCACHE_FORMAT_MAJOR);
    st16(h + SH_HEADER_SIZE, SEG_HEADER_SIZE);
    st16(h + SH_ENTRY_SIZE, SEG_ENTRY_SIZE);
    h[SH_CLASS] = 1;
    h[SH_CHECKSUM] = (uint8_t)id->checksum;
    h[SH_BYTE_ORDER] = id->byte_order;
    h[SH_POINTER_SIZE] = id->pointer_size;
    st16(h + SH_ARCH, id->arch);
    st32(h + SH_PAGE_SIZE, id->page_size);
    st64(h + SH_FILE_OFFSET, file_offs);
    st64(h + SH_SEGMENT_SIZE, end - file_offs);
    st64(h + SH_TRAILER_OFFSET, end - file_offs);
    memcpy(h + SH_IMAGE_ID, id->image_id, PCACHE_IMAGE_ID_SIZE);
    st32(h + SH_CLIENT_VERSION, id->client_version);
    memcpy(h + SH_CLIENT_NAME, id->client_name, strlen(id->client_name));
    fuzz_fix_segment(h, SEG_HEADER_SIZE);
    write_file(dir, "segment_known", "ro_no_sections", h, end - file_offs);
    write_file(dir, "segment_unknown", "ro_no_sections", h, end - file_offs);
}

static void file(const char *dir, const char *name, const pcache_identity *id, const sec *s[PCACHE_CLASS_COUNT],
                 uint32_t rx_flags)
{
    uint8_t *keep[3][1100] = {{0}};
    pcache_builder *b;
    pcache_buffer_sink bs;
    pcache_sink sink;
    uint64_t size = 0;
    uint8_t *out;

    if (pcache_builder_new(&b, id) != PCACHE_OK)
        die(name, "identity");
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        if (s[c])
            add(b, (pcache_class)c, s[c], keep[c]);
    pcache_builder_set_segment_flags(b, PCACHE_RX, rx_flags);
    if (pcache_file_size(b, &size) != PCACHE_OK)
        die(name, "file size");
    out = malloc(size);
    sink = pcache_sink_buffer(&bs, out, size);
    if (pcache_file_write_sink(b, &sink, NULL) != PCACHE_OK || bs.used != size)
        die(name, "file write");
    write_file(dir, "file_memory", name, out, size);
    free(out);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        free_all(keep[c]);
    pcache_builder_free(b);
}

/* A standalone file whose rx and rw segments carry relocation records of
 * every kind, to sections of their own and other classes and to the
 * "module" and "client" anchors; written to file_memory, and each of those
 * segments, followed by the reloc target's control bytes (image base,
 * anchor shift, refusal byte), to reloc.  In the 48-byte form (.relocs)
 * and in the compact one (.crelocs, "_compact"; rw's four abs64 fields
 * make a run of two). */
static void relocated(const char *dir, const pcache_identity *id, pcache_reloc_form form)
{
    const char *tail = form == PCACHE_RELOC_FORM_COMPACT ? "_compact" : "";
    char name[64];
    static const sec ro[] = {{"table", 0, 64, 8, 0}, END};
    static const sec rx[] = {{"code", 0, 64, 16, 0}, {"code2", 0, 32, 16, 0}, END};
    static const sec rw[] = {{"data", 0, 32, 8, 0}, END};
    const pcache_patch patches[] = {
        {PCACHE_RX, "code", 0, PCACHE_RELOC_REL32, 4, PCACHE_TARGET_SECTION, PCACHE_RO, "table", NULL, 8, 0},
        {PCACHE_RX, "code", 8, PCACHE_RELOC_ABS64, 0, PCACHE_TARGET_ANCHOR, 0, NULL, "module", 0x1234, 0},
        {PCACHE_RX, "code", 16, PCACHE_RELOC_ABS32, 0, PCACHE_TARGET_ANCHOR, 0, NULL, "client", 0x10, -4},
        {PCACHE_RX, "code", 24, PCACHE_RELOC_REL8, 1, PCACHE_TARGET_SECTION, PCACHE_RX, "code", NULL, 40, 0},
        {PCACHE_RX, "code", 32, PCACHE_RELOC_REL32, 5, PCACHE_TARGET_SECTION, PCACHE_RW, "data", NULL, 0, 0},
        {PCACHE_RX, "code2", 4, PCACHE_RELOC_REL32, 4, PCACHE_TARGET_SECTION, PCACHE_RX, "code", NULL, 0, 16},
        {PCACHE_RW, "data", 0, PCACHE_RELOC_ABS64, 0, PCACHE_TARGET_SECTION, PCACHE_RO, "table", NULL, 32, 0},
        {PCACHE_RW, "data", 8, PCACHE_RELOC_ABS64, 0, PCACHE_TARGET_ANCHOR, 0, NULL, "client", 0, 8},
        {PCACHE_RW, "data", 16, PCACHE_RELOC_ABS64, 0, PCACHE_TARGET_SECTION, PCACHE_RO, "table", NULL, 0, 0},
        {PCACHE_RW, "data", 24, PCACHE_RELOC_ABS64, 0, PCACHE_TARGET_SECTION, PCACHE_RO, "table", NULL, 8, 0},
    };
    uint8_t control[17] = {0};
    uint8_t *keep[3][1100] = {{0}};
    pcache_builder *b;
    pcache_buffer_sink bs;
    pcache_sink sink;
    uint64_t size = 0;
    uint8_t *out, *seed;
    pcache_image img;

    if (pcache_builder_new(&b, id) != PCACHE_OK || pcache_builder_set_reloc_form(b, form) != PCACHE_OK)
        die("relocated", "identity");
    add(b, PCACHE_RO, ro, keep[0]);
    add(b, PCACHE_RX, rx, keep[1]);
    add(b, PCACHE_RW, rw, keep[2]);
    if (pcache_builder_set_anchor(b, "client", 0x10000000) != PCACHE_OK)
        die("relocated", "anchor");
    for (size_t i = 0; i < sizeof patches / sizeof patches[0]; i++) {
        pcache_status st = pcache_builder_add_patch(b, &patches[i]);
        if (st != PCACHE_OK)
            die("relocated patch", pcache_builder_report(b)->message);
    }
    if (pcache_file_size(b, &size) != PCACHE_OK)
        die("relocated", pcache_builder_report(b)->message);
    out = malloc(size);
    sink = pcache_sink_buffer(&bs, out, size);
    if (pcache_file_write_sink(b, &sink, NULL) != PCACHE_OK || bs.used != size)
        die("relocated", "file write");
    snprintf(name, sizeof name, "relocations%s", tail);
    write_file(dir, "file_memory", name, out, size);
    write_file(dir, "inspect", name, out, size);
    if (pcache_image_open_memory(&img, out, size, NULL, NULL) != PCACHE_OK)
        die("relocated", "reopen");
    st64(control, 0x7f1200000000ull);
    st64(control + 8, 0x1000);
    for (int c = PCACHE_RX; c <= PCACHE_RW; c++) {
        uint64_t n = img.seg_size[c];
        seed = malloc(n + sizeof control);
        memcpy(seed, out + img.offset[c], n);
        memcpy(seed + n, control, sizeof control);
        snprintf(name, sizeof name, "%s%s", c == PCACHE_RX ? "rx_every_kind" : "rw_abs64", tail);
        write_file(dir, "reloc", name, seed, n + sizeof control);
        free(seed);
    }
    free(out);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        free_all(keep[c]);
    pcache_builder_free(b);
}

/* Compressed ro sections (format 1.1): a segment at an odd offset and a
 * standalone file holding one.  "table" at level 9, the empty "s0" at
 * level 1, "z" (unknown by name, skippable) in stored blocks (level 0). */
static void compressed(const char *dir, const pcache_identity *id)
{
    static const sec ro[] = {{"data", 0, 24, 8, 0}, {"table", 0, 3000, 16, 0}, {"s0", 0, 0, 1, 0},
                             {"z", 0, 40, 4, SKIP}, END};
    static const sec rx[] = {{"code", 0, 64, 16, 0}, END};
    static const struct {
        const char *name;
        int level;
    } levels[] = {{"table", 9}, {"s0", 1}, {"z", 0}};
    uint8_t *keep[2][1100] = {{0}};
    pcache_builder *b;
    pcache_buffer_sink bs;
    pcache_sink sink;
    uint64_t size = 0;
    uint8_t *out;

    for (int as_file = 0; as_file <= 1; as_file++) {
        if (pcache_builder_new(&b, id) != PCACHE_OK)
            die("compressed", "identity");
        add(b, PCACHE_RO, ro, keep[0]);
        if (as_file)
            add(b, PCACHE_RX, rx, keep[1]);
        for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
            if (pcache_builder_set_compression(b, PCACHE_RO, levels[i].name, levels[i].level) != PCACHE_OK)
                die("compressed", pcache_builder_report(b)->message);
        if ((as_file ? pcache_file_size(b, &size) : pcache_builder_size(b, PCACHE_RO, 0x1003, &size)) != PCACHE_OK)
            die("compressed", pcache_builder_report(b)->message);
        out = malloc(size);
        sink = pcache_sink_buffer(&bs, out, size);
        if ((as_file ? pcache_file_write_sink(b, &sink, NULL) : pcache_builder_persist(b, PCACHE_RO, &sink)) !=
                PCACHE_OK ||
            bs.used != size)
            die("compressed", "write");
        if (as_file) {
            write_file(dir, "file_memory", "compressed", out, size);
            write_file(dir, "inspect", "compressed", out, size);
        } else {
            write_file(dir, "segment_known", "ro_compressed", out, size);
            write_file(dir, "segment_unknown", "ro_compressed", out, size);
        }
        free(out);
        free_all(keep[0]);
        free_all(keep[1]);
        memset(keep, 0, sizeof keep);
        pcache_builder_free(b);
    }
}

/* Images of loaded ELF objects, for the build_id target: headers, notes
 * at 0x200, code at 0x300, data at 0x380, vaddrs equal to file offsets. */
#define ELF_SEED_SIZE 0x400u

static void elf_phdr(uint8_t *f, unsigned i, uint32_t type, uint32_t flags, uint64_t at, uint64_t filesz,
                     uint64_t memsz, uint64_t align)
{
    uint8_t *p = f + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr);
    st32(p + offsetof(Elf64_Phdr, p_type), type);
    st32(p + offsetof(Elf64_Phdr, p_flags), flags);
    st64(p + offsetof(Elf64_Phdr, p_offset), at);
    st64(p + offsetof(Elf64_Phdr, p_vaddr), at);
    st64(p + offsetof(Elf64_Phdr, p_paddr), at);
    st64(p + offsetof(Elf64_Phdr, p_filesz), filesz);
    st64(p + offsetof(Elf64_Phdr, p_memsz), memsz);
    st64(p + offsetof(Elf64_Phdr, p_align), align);
}

/* A "GNU" note at f + at; returns where the next one goes. */
static uint32_t elf_note(uint8_t *f, uint32_t at, uint32_t align, uint32_t type, const uint8_t *desc,
                         uint32_t descsz)
{
    uint32_t desc_at = (12u + 4u + align - 1) & ~(align - 1);
    st32(f + at, 4);
    st32(f + at + 4, descsz);
    st32(f + at + 8, type);
    memcpy(f + at + 12, "GNU", 4);
    memcpy(f + at + desc_at, desc, descsz);
    return at + ((desc_at + descsz + align - 1) & ~(align - 1));
}

/* variant 0: x86-64, one 4-aligned PT_NOTE holding a 20-byte build id;
 * 1: AArch64, an 8-aligned PT_NOTE (a property note) and a 4-aligned one
 * (ABI tag, then the build id); 2: x86-64 without notes (text digest). */
static void elf_seed(const char *dir, const char *name, int variant)
{
    static const uint8_t abi_tag[16] = {0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t property[16] = {2, 0, 0, 0xc0, 4, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0};
    uint8_t f[ELF_SEED_SIZE] = {0};
    unsigned n = 0;
    uint32_t at;
    pcache_build_id id;

    memcpy(f, ELFMAG, SELFMAG);
    f[EI_CLASS] = ELFCLASS64;
    f[EI_DATA] = ELFDATA2LSB;
    f[EI_VERSION] = EV_CURRENT;
    st16(f + offsetof(Elf64_Ehdr, e_type), ET_DYN);
    st16(f + offsetof(Elf64_Ehdr, e_machine), variant == 1 ? EM_AARCH64 : EM_X86_64);
    st32(f + offsetof(Elf64_Ehdr, e_version), EV_CURRENT);
    st64(f + offsetof(Elf64_Ehdr, e_phoff), sizeof(Elf64_Ehdr));
    st16(f + offsetof(Elf64_Ehdr, e_ehsize), sizeof(Elf64_Ehdr));
    st16(f + offsetof(Elf64_Ehdr, e_phentsize), sizeof(Elf64_Phdr));
    elf_phdr(f, n++, PT_LOAD, PF_R, 0, 0x300, 0x300, 0x1000);
    if (variant == 0) {
        at = elf_note(f, 0x200, 4, NT_GNU_BUILD_ID, pattern(20, 50), 20);
        elf_phdr(f, n++, PT_NOTE, PF_R, 0x200, at - 0x200, at - 0x200, 4);
    } else if (variant == 1) {
        at = elf_note(f, 0x200, 8, NT_GNU_PROPERTY_TYPE_0, property, sizeof property);
        elf_phdr(f, n++, PT_NOTE, PF_R, 0x200, at - 0x200, at - 0x200, 8);
        at = elf_note(f, 0x220, 4, NT_GNU_ABI_TAG, abi_tag, sizeof abi_tag);
        at = elf_note(f, at, 4, NT_GNU_BUILD_ID, pattern(20, 51), 20);
        elf_phdr(f, n++, PT_NOTE, PF_R, 0x220, at - 0x220, at - 0x220, 4);
    }
    memcpy(f + 0x300, pattern(0x80, 52), 0x80);
    elf_phdr(f, n++, PT_LOAD, PF_R | PF_X, 0x300, 0x80, 0x80, 0x1000);
    memcpy(f + 0x380, pattern(0x20, 53), 0x20);
    elf_phdr(f, n++, PT_LOAD, PF_R | PF_W, 0x380, 0x20, 0x100, 0x1000);
    elf_phdr(f, n++, PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 16);
    st16(f + offsetof(Elf64_Ehdr, e_phnum), (uint16_t)n);
    if (pcache_build_id_of_loaded_elf(f, sizeof f, &id, NULL) != PCACHE_OK ||
        id.kind != (variant == 2 ? PCACHE_BUILD_ID_TEXT_XXH3 : PCACHE_BUILD_ID_GNU))
        die(name, "build id seed not read as meant");
    write_file(dir, "build_id", name, f, sizeof f);
}

int main(int argc, char **argv)
{
    static const sec example_ro[] = {{"a", 0, 10, 1, 0}, {"b", 0, 20, 16, 0}, END};
    static const sec example_rw[] = {{"r", 0, 8, 8, 0}, END};
    static const sec code[] = {{"code", 0, 64, 16, 0}, END};
    static const sec code_table[] = {{"code", 0, 100, 64, 0}, {"table", 0, 24, 8, 0}, END};
    static const sec zero_sizes[] = {{"s0", 0, 0, 8, 0}, {"s1", 0, 0, 1, 0}, {"data", 0, 8, 8, 0}, END};
    static const sec unknown[] = {{"a", 0, 16, 8, 0}, {"ext", 0x7777, 12, 4, SKIP}, {"future", 0, 5, 1, SKIP}, END};
    static const sec critical[] = {{"a", 0, 16, 8, 0}, {"needed", 0x7778, 4, 4, 0}, END};
    static const sec data[] = {{"data", 0, 32, 8, 0}, END};
    static const sec big_align[] = {{"code", 0, 256, 4096, 0}, END};
    static const sec page64k[] = {{"a", 0, 40, 4096, 0}, {"b", 0, 3, 2, 0}, END};
    static sec many[41], few[11];
    static char names[41][8];
    const char *dir;
    pcache_identity id, crc, module, module_le, p64k;

    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus OUTDIR\n");
        return 2;
    }
    dir = argv[1];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        die(dir, strerror(errno));
    for (uint32_t i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "s%u", i);
        many[i] = (sec){names[i], 0, i % 9, 1u << (i % 5), i % 7 == 3 ? SKIP : 0};
        if (i < 10)
            few[i] = (sec){names[i], 0, 3 + i, 8, 0};
    }
    fuzz_corpus_identity(&id);
    crc = id;
    crc.checksum = PCACHE_CHECKSUM_CRC32;
    module = id;
    module.byte_order = PCACHE_BIG_ENDIAN;
    module.pointer_size = 4;
    module.arch = 183;
    module.client_version = 0xfffffffe;
    pcache_identity_set_module(&module, 0x7f0000400000ull, 0x21000, pattern(20, 9), 20);
    module_le = id;
    pcache_identity_set_module(&module_le, 0x555555554000ull, 0x30000, pattern(16, 10), 16);
    p64k = id;
    p64k.page_size = 65536;

    segment(dir, "ro_example_f1003", &id, PCACHE_RO, 0x1003, 0, example_ro);
    segment(dir, "ro_example_crc32", &crc, PCACHE_RO, 0x1003, 0, example_ro);
    segment(dir, "rx_page_rounded", &id, PCACHE_RX, 0x2000, PCACHE_SEGMENT_PAGE_ROUNDED, code);
    segment(dir, "rx_rounded_odd_offset", &crc, PCACHE_RX, 0x1234, PCACHE_SEGMENT_PAGE_ROUNDED, code_table);
    segment(dir, "rw_zero_size_sections", &id, PCACHE_RW, 0x3000, 0, zero_sizes);
    segment(dir, "ro_many_sections", &id, PCACHE_RO, 0x10, 0, many);
    segment(dir, "ro_unknown_skippable", &id, PCACHE_RO, 0x1000, 0, unknown);
    segment(dir, "ro_unknown_critical", &crc, PCACHE_RO, 0x1000, 0, critical);
    segment(dir, "rw_module_key", &module, PCACHE_RW, 0, 0, data);
    segment(dir, "ro_offset_near_2_64", &id, PCACHE_RO, UINT64_MAX - 8190, 0, example_ro);
    segment(dir, "rx_align_4096_offset_7", &id, PCACHE_RX, 7, PCACHE_SEGMENT_PAGE_ROUNDED, big_align);
    segment(dir, "ro_page_64k", &p64k, PCACHE_RO, 0x10000, 0, page64k);
    empty_segment(dir, &id, 0x1001);

    file(dir, "empty", &id, (const sec *[]){NULL, NULL, NULL}, 0);
    file(dir, "example_7_6", &id, (const sec *[]){example_ro, NULL, example_rw}, 0);
    file(dir, "all_classes_crc32_rx_rounded", &crc, (const sec *[]){code_table, code, zero_sizes},
         PCACHE_SEGMENT_PAGE_ROUNDED);
    file(dir, "many_sections", &id, (const sec *[]){many, NULL, few}, 0);
    file(dir, "unknown_skippable", &id, (const sec *[]){unknown, code, NULL}, 0);
    file(dir, "module_key_rx_only", &module, (const sec *[]){NULL, data, NULL}, 0);

    relocated(dir, &module_le, PCACHE_RELOC_FORM_RECORDS);
    relocated(dir, &module_le, PCACHE_RELOC_FORM_COMPACT);
    compressed(dir, &id);

    dpc(dir, "ro_rx_rw_segments.dpc", &id, 1, 1, 1, 0);
    dpc(dir, "two_ro_segments_rw_separate.dpc", &crc, 2, 0, 0, PCACHE_DPC_FLAG_MAP_RW_SEPARATE);
    dpc(dir, "no_segments.dpc", &id, 0, 0, 0, PCACHE_DPC_FLAG_SUPPORT_TRACES);

    elf_seed(dir, "x86_64_note", 0);
    elf_seed(dir, "aarch64_property_and_note", 1);
    elf_seed(dir, "x86_64_text_digest", 2);
    /* the DynamoRIO adapter's: .dpc files written by the model of DR */
    make_corpus_dr(dir, write_file);
    return 0;
}
