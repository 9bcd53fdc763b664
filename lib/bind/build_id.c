/* SPDX-License-Identifier: BSD-2-Clause */
/* The build of a loaded ELF object (pcache/build_id.h): its GNU build-id
 * note, or a digest of its text, read from the image in memory.  Every
 * field is read with byte loads (the object is little-endian whatever the
 * host, and may sit at any address), and every span is checked against
 * the caller's readable bound before a byte of it is read. */
#include <elf.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack: no allocation */
#include <xxhash.h>

#include "bytes.h"
#include "pcache/build_id.h"
#include "report.h"

#define EHDR_SIZE ((uint64_t)sizeof(Elf64_Ehdr)) /* 64 */
#define PHDR_SIZE ((uint64_t)sizeof(Elf64_Phdr)) /* 56 */
#define NHDR_SIZE ((uint64_t)sizeof(Elf64_Nhdr)) /* 12: namesz, descsz, type */
/* Linux's loader refuses a larger program header table (load_elf_phdrs);
 * it also bounds the quadratic note-in-segment check below. */
#define PHDR_TABLE_MAX 65536u

#define EH(field) ((uint64_t)offsetof(Elf64_Ehdr, field))
#define PH(field) ((uint64_t)offsetof(Elf64_Phdr, field))

typedef struct phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, filesz, memsz, align;
    uint64_t at; /* where this header is, from base */
} phdr;

typedef struct elf_image {
    const uint8_t *base;
    uint64_t readable;
    uint64_t phoff;
    uint32_t phnum;
    /* p_vaddr - p_offset of the first PT_LOAD: the address in the object
     * that the loader put at base */
    uint64_t link_base;
} elf_image;

static pcache_status fail(pcache_report *rep, pcache_status st, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static pcache_status fail_v(pcache_report *rep, pcache_status st, uint64_t off, uint64_t exp,
                            uint64_t found, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static pcache_status fail(pcache_report *rep, pcache_status st, uint64_t off, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return report_fail(rep, st, PCACHE_REPORT_NO_CLASS, NULL, off, 0, 0, 0, "%s", what);
}

static pcache_status fail_v(pcache_report *rep, pcache_status st, uint64_t off, uint64_t exp,
                            uint64_t found, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return report_fail(rep, st, PCACHE_REPORT_NO_CLASS, NULL, off, 1, exp, found, "%s", what);
}

/* The two types whose bytes are read. */
static const char *phdr_type_name(uint32_t type)
{
    return type == PT_LOAD ? "PT_LOAD" : "PT_NOTE";
}

/* [off, off + len) from base lies within readable.  field: where the
 * offset came from, for the report. */
static pcache_status check_span(const elf_image *im, uint64_t off, uint64_t len, uint64_t field,
                                const char *what, pcache_report *rep)
{
    uint64_t end;
    if (add_u64(off, len, &end))
        return fail(rep, PCACHE_E_OVERFLOW, field, "%s: offset %llu plus size %llu wraps", what,
                    (unsigned long long)off, (unsigned long long)len);
    if (end > im->readable)
        return fail_v(rep, PCACHE_E_TRUNCATED, field, end, im->readable,
                      "%s [%llu, %llu) from base is not all readable (expected the bound to reach its end)",
                      what, (unsigned long long)off, (unsigned long long)end);
    return PCACHE_OK;
}

/* Program header i; the table was checked to lie within readable. */
static void read_phdr(const elf_image *im, uint32_t i, phdr *ph)
{
    const uint8_t *p;
    ph->at = im->phoff + (uint64_t)i * PHDR_SIZE;
    p = im->base + ph->at;
    ph->type = ld32(p + PH(p_type));
    ph->flags = ld32(p + PH(p_flags));
    ph->offset = ld64(p + PH(p_offset));
    ph->vaddr = ld64(p + PH(p_vaddr));
    ph->filesz = ld64(p + PH(p_filesz));
    ph->memsz = ld64(p + PH(p_memsz));
    ph->align = ld64(p + PH(p_align));
}

static int machine_supported(uint16_t m)
{
    return m == EM_X86_64 || m == EM_AARCH64 || m == EM_RISCV;
}

/* The ELF header: what the object is, and where its program headers are. */
static pcache_status check_header(elf_image *im, pcache_report *rep)
{
    const uint8_t *h = im->base;
    uint64_t table;
    pcache_status st;
    uint16_t type, machine, ehsize, phentsize, phnum;

    if (im->readable < SELFMAG)
        return fail_v(rep, PCACHE_E_TRUNCATED, 0, SELFMAG, im->readable, "too few readable bytes for the ELF magic");
    if (memcmp(h, ELFMAG, SELFMAG) != 0)
        return fail_v(rep, PCACHE_E_ELF_MAGIC, 0, ld32((const uint8_t *)ELFMAG), ld32(h),
                      "no ELF magic \"\\x7f" "ELF\" at the load base");
    if (im->readable < EHDR_SIZE)
        return fail_v(rep, PCACHE_E_TRUNCATED, 0, EHDR_SIZE, im->readable,
                      "too few readable bytes for a 64-bit ELF header");
    if (h[EI_CLASS] != ELFCLASS64)
        return fail_v(rep, PCACHE_E_ELF_UNSUPPORTED, EI_CLASS, ELFCLASS64, h[EI_CLASS],
                      "e_ident[EI_CLASS] is not ELFCLASS64: only 64-bit objects are read");
    if (h[EI_DATA] != ELFDATA2LSB)
        return fail_v(rep, PCACHE_E_ELF_UNSUPPORTED, EI_DATA, ELFDATA2LSB, h[EI_DATA],
                      "e_ident[EI_DATA] is not ELFDATA2LSB: only little-endian objects are read");
    if (h[EI_VERSION] != EV_CURRENT)
        return fail_v(rep, PCACHE_E_ELF_UNSUPPORTED, EI_VERSION, EV_CURRENT, h[EI_VERSION],
                      "e_ident[EI_VERSION] is not EV_CURRENT");
    if (ld32(h + EH(e_version)) != EV_CURRENT)
        return fail_v(rep, PCACHE_E_ELF_UNSUPPORTED, EH(e_version), EV_CURRENT, ld32(h + EH(e_version)),
                      "e_version is not EV_CURRENT");
    type = ld16(h + EH(e_type));
    if (type != ET_DYN && type != ET_EXEC)
        return fail(rep, PCACHE_E_ELF_UNSUPPORTED, EH(e_type),
                    "e_type %u is neither ET_DYN (%u) nor ET_EXEC (%u): not a loaded object", type, ET_DYN,
                    ET_EXEC);
    machine = ld16(h + EH(e_machine));
    if (!machine_supported(machine))
        return fail(rep, PCACHE_E_ELF_UNSUPPORTED, EH(e_machine),
                    "e_machine %u is not x86-64 (%u), AArch64 (%u) or RISC-V (%u)", machine, EM_X86_64,
                    EM_AARCH64, EM_RISCV);
    ehsize = ld16(h + EH(e_ehsize));
    if (ehsize != EHDR_SIZE)
        return fail_v(rep, PCACHE_E_ELF_HEADER, EH(e_ehsize), EHDR_SIZE, ehsize,
                      "e_ehsize is not the size of a 64-bit ELF header");
    phentsize = ld16(h + EH(e_phentsize));
    if (phentsize != PHDR_SIZE)
        return fail_v(rep, PCACHE_E_ELF_HEADER, EH(e_phentsize), PHDR_SIZE, phentsize,
                      "e_phentsize is not the size of a 64-bit program header");
    phnum = ld16(h + EH(e_phnum));
    if (phnum == 0)
        return fail(rep, PCACHE_E_ELF_HEADER, EH(e_phnum), "e_phnum is 0: no program headers");
    if (phnum == PN_XNUM)
        return fail(rep, PCACHE_E_ELF_HEADER, EH(e_phnum),
                    "e_phnum is PN_XNUM: the count is in a section header, which is not loaded");
    table = (uint64_t)phnum * PHDR_SIZE;
    if (table > PHDR_TABLE_MAX)
        return fail_v(rep, PCACHE_E_ELF_HEADER, EH(e_phnum), PHDR_TABLE_MAX / PHDR_SIZE, phnum,
                      "e_phnum: program header table above %u bytes (expected at most)", PHDR_TABLE_MAX);
    im->phoff = ld64(h + EH(e_phoff));
    im->phnum = phnum;
    st = check_span(im, im->phoff, table, EH(e_phoff), "program header table (e_phoff)", rep);
    return st;
}

/* Alignment of a PT_LOAD: 0 and 1 mean none, else a power of two with
 * p_vaddr congruent to p_offset modulo it (the ELF specification). */
static pcache_status check_alignment(const phdr *ph, uint32_t i, pcache_report *rep)
{
    if (ph->align > 1 && !is_pow2_u64(ph->align))
        return fail(rep, PCACHE_E_ELF_SEGMENT, ph->at + PH(p_align),
                    "program header %u (PT_LOAD): p_align %llu is not a power of two", i,
                    (unsigned long long)ph->align);
    if (ph->align > 1 && ((ph->vaddr - ph->offset) & (ph->align - 1)) != 0)
        return fail_v(rep, PCACHE_E_ELF_SEGMENT, ph->at + PH(p_vaddr), ph->offset & (ph->align - 1),
                      ph->vaddr & (ph->align - 1),
                      "program header %u (PT_LOAD): p_vaddr not congruent to p_offset modulo p_align %llu", i,
                      (unsigned long long)ph->align);
    return PCACHE_OK;
}

/* The PT_LOADs: ascending, non-overlapping, each file-backed part within
 * its memory size; the first maps the file's first page at base, with the
 * program header table in its file-backed bytes.  Sets im->link_base. */
static pcache_status check_loads(elf_image *im, pcache_report *rep)
{
    uint64_t prev_end = 0, table_end = im->phoff + (uint64_t)im->phnum * PHDR_SIZE, end;
    uint32_t loads = 0;
    pcache_status st;
    phdr ph;

    for (uint32_t i = 0; i < im->phnum; i++) {
        read_phdr(im, i, &ph);
        if (ph.type != PT_LOAD)
            continue;
        if (ph.filesz > ph.memsz)
            return fail_v(rep, PCACHE_E_ELF_SEGMENT, ph.at + PH(p_filesz), ph.memsz, ph.filesz,
                          "program header %u (PT_LOAD): p_filesz above p_memsz (expected at most p_memsz)", i);
        if (add_u64(ph.vaddr, ph.memsz, &end))
            return fail(rep, PCACHE_E_OVERFLOW, ph.at + PH(p_memsz),
                        "program header %u (PT_LOAD): p_vaddr 0x%llx plus p_memsz 0x%llx wraps", i,
                        (unsigned long long)ph.vaddr, (unsigned long long)ph.memsz);
        if ((st = check_alignment(&ph, i, rep)) != PCACHE_OK)
            return st;
        if (loads == 0) {
            /* The loader maps from p_offset rounded down to a page, at
             * p_vaddr rounded down alike: file offset 0 lands at base only
             * when p_offset is within the first page, of which p_align is
             * the one bound the object states. */
            if (ph.offset > ph.vaddr || (ph.align > 1 ? ph.offset >= ph.align : ph.offset != 0))
                return fail_v(rep, PCACHE_E_ELF_SEGMENT, ph.at + PH(p_offset), 0, ph.offset,
                              "program header %u, the first PT_LOAD, does not map the file's first page "
                              "(p_vaddr 0x%llx, p_align 0x%llx)",
                              i, (unsigned long long)ph.vaddr, (unsigned long long)ph.align);
            if (im->phoff < ph.offset || table_end - ph.offset > ph.filesz)
                return fail_v(rep, PCACHE_E_ELF_SEGMENT, EH(e_phoff), table_end, ph.offset + ph.filesz,
                              "program header table [%llu, %llu) not in the file bytes of the first PT_LOAD "
                              "(program header %u; expected the table's end within them)",
                              (unsigned long long)im->phoff, (unsigned long long)table_end, i);
            im->link_base = ph.vaddr - ph.offset;
        } else if (ph.vaddr < prev_end) {
            return fail_v(rep, PCACHE_E_ELF_SEGMENT, ph.at + PH(p_vaddr), prev_end, ph.vaddr,
                          "program header %u (PT_LOAD): p_vaddr below the end of the previous PT_LOAD "
                          "(expected ascending, non-overlapping segments)",
                          i);
        }
        prev_end = end;
        loads++;
    }
    if (loads == 0)
        return fail(rep, PCACHE_E_ELF_SEGMENT, EH(e_phoff), "no PT_LOAD among the %u program headers", im->phnum);
    return PCACHE_OK;
}

/* 1 when [vaddr, vaddr + size) lies in the file-backed bytes of a PT_LOAD
 * (which check_loads() found consistent). */
static int in_loaded_file_bytes(const elf_image *im, uint64_t vaddr, uint64_t size)
{
    phdr ph;
    for (uint32_t i = 0; i < im->phnum; i++) {
        read_phdr(im, i, &ph);
        if (ph.type == PT_LOAD && vaddr >= ph.vaddr && vaddr - ph.vaddr <= ph.filesz &&
            size <= ph.filesz - (vaddr - ph.vaddr))
            return 1;
    }
    return 0;
}

/* The offset from base of an object's span [vaddr, vaddr + size), inside
 * a PT_LOAD's file bytes, checked against readable. */
static pcache_status loaded_span(const elf_image *im, const phdr *ph, uint32_t i, uint64_t *off,
                                 pcache_report *rep)
{
    char what[64];
    /* vaddr >= link_base: inside a PT_LOAD, and they ascend from the first */
    *off = ph->vaddr - im->link_base;
    snprintf(what, sizeof what, "program header %u (%s)", i, phdr_type_name(ph->type));
    return check_span(im, *off, ph->filesz, ph->at + PH(p_vaddr), what, rep);
}

/* Every note of PT_NOTE program header i; a GNU build-id note goes to
 * *out (a second one must be the same). */
static pcache_status scan_note_segment(const elf_image *im, const phdr *ph, uint32_t i, pcache_build_id *out,
                                       pcache_report *rep)
{
    uint64_t align = ph->align <= 4 ? 4 : ph->align, off, pos = 0;
    const uint8_t *seg;
    pcache_status st;

    if (ph->filesz == 0)
        return PCACHE_OK;
    if (align != 4 && align != 8)
        return fail(rep, PCACHE_E_ELF_NOTE, ph->at + PH(p_align),
                    "program header %u (PT_NOTE): p_align %llu is not 4 or 8", i, (unsigned long long)ph->align);
    if (ph->vaddr & (align - 1))
        return fail_v(rep, PCACHE_E_ELF_NOTE, ph->at + PH(p_vaddr), 0, ph->vaddr & (align - 1),
                      "program header %u (PT_NOTE): p_vaddr 0x%llx not aligned to %llu (the remainder)", i,
                      (unsigned long long)ph->vaddr, (unsigned long long)align);
    if (!in_loaded_file_bytes(im, ph->vaddr, ph->filesz))
        return fail(rep, PCACHE_E_ELF_SEGMENT, ph->at + PH(p_vaddr),
                    "program header %u (PT_NOTE): [0x%llx, +0x%llx) not inside the file bytes of a PT_LOAD, "
                    "so not loaded",
                    i, (unsigned long long)ph->vaddr, (unsigned long long)ph->filesz);
    if ((st = loaded_span(im, ph, i, &off, rep)) != PCACHE_OK)
        return st;
    seg = im->base + off;

    while (pos < ph->filesz) {
        uint64_t left = ph->filesz - pos, namesz, descsz, desc_at, next;
        const uint8_t *n = seg + pos;
        uint32_t type;

        if (left < NHDR_SIZE)
            return fail_v(rep, PCACHE_E_ELF_NOTE, off + pos, NHDR_SIZE, left,
                          "program header %u (PT_NOTE): bytes after the last note, too few for a note header",
                          i);
        namesz = ld32(n);
        descsz = ld32(n + 4);
        type = ld32(n + 8);
        /* Offsets from the note's start, each rounded up to the segment's
         * alignment (so an 8-aligned note's name is not padded on its own);
         * all below 2^34: no wrap. */
        desc_at = (NHDR_SIZE + namesz + align - 1) & ~(align - 1);
        next = (desc_at + descsz + align - 1) & ~(align - 1);
        /* the last descriptor may lack its padding, as readelf allows */
        if (desc_at + descsz > left)
            return fail_v(rep, PCACHE_E_ELF_NOTE, off + pos, desc_at + descsz, left,
                          "program header %u (PT_NOTE): note (namesz %llu, descsz %llu) runs past the segment "
                          "(bytes it needs, bytes left)",
                          i, (unsigned long long)namesz, (unsigned long long)descsz);
        if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(n + NHDR_SIZE, "GNU", 4) == 0) {
            const uint8_t *desc = n + desc_at;
            if (descsz == 0 || descsz > PCACHE_BUILD_ID_MAX)
                return fail_v(rep, PCACHE_E_BUILD_ID_SIZE, off + pos + 4, PCACHE_BUILD_ID_MAX, descsz,
                              "NT_GNU_BUILD_ID note: descriptor size not in 1 .. PCACHE_BUILD_ID_MAX");
            if (out->kind == 0) {
                out->kind = PCACHE_BUILD_ID_GNU;
                out->size = (uint16_t)descsz;
                memcpy(out->bytes, desc, (size_t)descsz);
            } else if (out->size != descsz || memcmp(out->bytes, desc, (size_t)descsz) != 0) {
                return fail(rep, PCACHE_E_ELF_NOTE, off + pos,
                            "a second NT_GNU_BUILD_ID note (%llu bytes) differs from the first (%u bytes)",
                            (unsigned long long)descsz, (unsigned)out->size);
            }
        }
        if (next >= left)
            break; /* the last note */
        pos += next;
    }
    return PCACHE_OK;
}

static void hash_bytes(XXH3_state_t *state, const uint8_t *p, uint64_t n)
{
    while (n > 0) {
        size_t chunk = n > (1u << 30) ? (size_t)1 << 30 : (size_t)n;
        XXH3_128bits_update(state, p, chunk);
        p += chunk;
        n -= chunk;
    }
}

/* The text digest: the program header table, then every executable
 * PT_LOAD's file bytes, in table order. */
static pcache_status text_digest(const elf_image *im, pcache_build_id *out, pcache_report *rep)
{
    XXH3_state_t state;
    XXH128_canonical_t canon;
    uint64_t code = 0, off;
    pcache_status st;
    phdr ph;

    XXH3_128bits_reset(&state);
    hash_bytes(&state, im->base + im->phoff, (uint64_t)im->phnum * PHDR_SIZE);
    for (uint32_t i = 0; i < im->phnum; i++) {
        read_phdr(im, i, &ph);
        if (ph.type != PT_LOAD || !(ph.flags & PF_X) || ph.filesz == 0)
            continue;
        if ((st = loaded_span(im, &ph, i, &off, rep)) != PCACHE_OK)
            return st;
        hash_bytes(&state, im->base + off, ph.filesz);
        code += ph.filesz;
    }
    if (code == 0)
        return fail(rep, PCACHE_E_NO_BUILD_ID, EH(e_phoff),
                    "no NT_GNU_BUILD_ID note and no executable PT_LOAD with file bytes to digest");
    XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(&state));
    _Static_assert(sizeof canon.digest == PCACHE_BUILD_ID_TEXT_XXH3_SIZE, "XXH128 canonical size");
    out->kind = PCACHE_BUILD_ID_TEXT_XXH3;
    out->size = PCACHE_BUILD_ID_TEXT_XXH3_SIZE;
    memcpy(out->bytes, canon.digest, sizeof canon.digest);
    return PCACHE_OK;
}

static pcache_status build_id_of(elf_image *im, pcache_build_id *out, pcache_report *rep)
{
    pcache_status st;
    phdr ph;

    if ((st = check_header(im, rep)) != PCACHE_OK || (st = check_loads(im, rep)) != PCACHE_OK)
        return st;
    for (uint32_t i = 0; i < im->phnum; i++) {
        read_phdr(im, i, &ph);
        if (ph.type == PT_NOTE && (st = scan_note_segment(im, &ph, i, out, rep)) != PCACHE_OK)
            return st;
    }
    if (out->kind == PCACHE_BUILD_ID_GNU)
        return PCACHE_OK;
    return text_digest(im, out, rep);
}

pcache_status pcache_build_id_of_loaded_elf(const void *base, uint64_t readable, pcache_build_id *out,
                                            pcache_report *rep)
{
    elf_image im = {base, readable, 0, 0, 0};
    pcache_status st;

    report_clear(rep);
    if (out)
        memset(out, 0, sizeof *out);
    if (!base || !out)
        return fail(rep, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_OFFSET,
                    "pcache_build_id_of_loaded_elf: base and out must not be NULL");
    st = build_id_of(&im, out, rep);
    if (st != PCACHE_OK)
        memset(out, 0, sizeof *out);
    return st;
}

static const char *kind_prefix(uint16_t kind)
{
    switch (kind) {
    case PCACHE_BUILD_ID_GNU:
        return "gnu";
    case PCACHE_BUILD_ID_TEXT_XXH3:
        return "text-xxh3";
    default:
        return NULL;
    }
}

/* The id as text, its bytes [0, size) in hex; with abbreviate, an id above
 * 32 bytes as its first and last 15 bytes around "..". */
static size_t format_id(const pcache_build_id *id, char *buf, size_t size, int abbreviate)
{
    static const char hex[] = "0123456789abcdef";
    char text[PCACHE_BUILD_ID_STRING_SIZE];
    const char *prefix;
    size_t len;

    if (!id || id->size > PCACHE_BUILD_ID_MAX) {
        len = (size_t)snprintf(text, sizeof text, "invalid");
    } else {
        prefix = kind_prefix(id->kind);
        if (prefix)
            len = (size_t)snprintf(text, sizeof text, "%s:", prefix);
        else
            len = (size_t)snprintf(text, sizeof text, "kind%u:", (unsigned)id->kind);
        for (uint16_t i = 0; i < id->size; i++) {
            if (abbreviate && id->size > 32 && i == 15) {
                text[len++] = '.';
                text[len++] = '.';
                i = (uint16_t)(id->size - 16);
                continue;
            }
            text[len++] = hex[id->bytes[i] >> 4];
            text[len++] = hex[id->bytes[i] & 15];
        }
        text[len] = '\0';
    }
    if (size > 0) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(buf, text, n);
        buf[n] = '\0';
    }
    return len;
}

size_t pcache_build_id_format(const pcache_build_id *id, char *buf, size_t size)
{
    if (!buf)
        size = 0;
    return format_id(id, buf, size, 0);
}

int pcache_build_id_equal(const pcache_build_id *a, const pcache_build_id *b)
{
    if (!a || !b || a->size > PCACHE_BUILD_ID_MAX || b->size > PCACHE_BUILD_ID_MAX)
        return 0;
    return a->kind == b->kind && a->size == b->size && memcmp(a->bytes, b->bytes, a->size) == 0;
}

pcache_status pcache_build_id_check(const pcache_build_id *expected, const pcache_build_id *found,
                                    pcache_report *rep)
{
    char want[PCACHE_BUILD_ID_STRING_SIZE], got[PCACHE_BUILD_ID_STRING_SIZE];

    report_clear(rep);
    if (!expected || !found)
        return fail(rep, PCACHE_E_INVALID_ARGUMENT, PCACHE_REPORT_NO_OFFSET,
                    "pcache_build_id_check: expected and found must not be NULL");
    if (pcache_build_id_equal(expected, found))
        return PCACHE_OK;
    format_id(expected, want, sizeof want, 1);
    format_id(found, got, sizeof got, 1);
    return fail(rep, PCACHE_E_CLIENT_BUILD, PCACHE_REPORT_NO_OFFSET,
                "client library build differs: expected %s, found %s", want, got);
}
