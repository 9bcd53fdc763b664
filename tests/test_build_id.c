/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The build of a loaded ELF object (pcache/build_id.h).
 *
 *  - Real loaded objects: this program, libc and libcmocka as the loader
 *    mapped them, and small libraries dlopen()ed here (built by
 *    tests/meson.build from build_id_module.c): with a build-id note,
 *    without one (the text digest), rebuilt with a function moved, linked
 *    at another address, with a note too long to keep.  Each id is checked
 *    against the object's file on disk, read independently: the note
 *    through the section headers (as readelf -n does), the digest from the
 *    file's program headers and executable segments by file offset.
 *  - Crafted images: every refusal with its own status, each field
 *    pointing outside the readable bytes, sums that wrap, misaligned and
 *    oversized notes; every readable length and every single-bit flip of
 *    a valid image.  The image is copied into a buffer of exactly the
 *    readable length, so a read past it is caught by AddressSanitizer and
 *    valgrind.
 *  - Formatting, comparison, and the mismatch report naming both builds.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <gnu/libc-version.h>
#include <inttypes.h>
#include <link.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "bytes.h"
#include "pcache/build_id.h"
#include "support.h"

#ifndef BID_NOTE_A
#error "tests/meson.build passes the test libraries' paths"
#endif

/* ------------------------------------------------------------------ */
/* Reading an object's file independently of the library               */
/* ------------------------------------------------------------------ */

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (!f)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

/* What the file says the id is: its NT_GNU_BUILD_ID note found through the
 * section headers (SHT_NOTE sections), or, without one, XXH3-128 of its
 * program header table and executable PT_LOADs' bytes at their file
 * offsets. */
static void id_of_file(const char *path, pcache_build_id *id)
{
    size_t size;
    uint8_t *f = slurp(path, &size);
    Elf64_Ehdr eh;
    XXH3_state_t st;
    XXH128_canonical_t canon;

    memset(id, 0, sizeof *id);
    assert_true(size >= sizeof eh);
    memcpy(&eh, f, sizeof eh);
    assert_int_equal(eh.e_shentsize, sizeof(Elf64_Shdr));
    assert_true(eh.e_shoff + (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr) <= size);
    for (unsigned s = 0; s < eh.e_shnum; s++) {
        Elf64_Shdr sh;
        uint64_t align, pos = 0;
        memcpy(&sh, f + eh.e_shoff + s * sizeof sh, sizeof sh);
        if (sh.sh_type != SHT_NOTE)
            continue;
        assert_true(sh.sh_offset + sh.sh_size <= size);
        align = sh.sh_addralign < 4 ? 4 : sh.sh_addralign;
        while (pos + sizeof(Elf64_Nhdr) <= sh.sh_size) {
            Elf64_Nhdr nh;
            const uint8_t *name = f + sh.sh_offset + pos + sizeof nh;
            memcpy(&nh, f + sh.sh_offset + pos, sizeof nh);
            uint64_t desc = pos + ((sizeof nh + nh.n_namesz + align - 1) & ~(align - 1));
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                assert_true(nh.n_descsz <= PCACHE_BUILD_ID_MAX);
                id->kind = PCACHE_BUILD_ID_GNU;
                id->size = (uint16_t)nh.n_descsz;
                memcpy(id->bytes, f + sh.sh_offset + desc, nh.n_descsz);
            }
            pos += (desc - pos + nh.n_descsz + align - 1) & ~(align - 1);
        }
    }
    if (id->kind == 0) {
        XXH3_128bits_reset(&st);
        XXH3_128bits_update(&st, f + eh.e_phoff, (size_t)eh.e_phnum * sizeof(Elf64_Phdr));
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            memcpy(&ph, f + eh.e_phoff + i * sizeof ph, sizeof ph);
            if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
                XXH3_128bits_update(&st, f + ph.p_offset, ph.p_filesz);
        }
        XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(&st));
        id->kind = PCACHE_BUILD_ID_TEXT_XXH3;
        id->size = PCACHE_BUILD_ID_TEXT_XXH3_SIZE;
        memcpy(id->bytes, canon.digest, sizeof canon.digest);
    }
    free(f);
}

/* ------------------------------------------------------------------ */
/* Loaded objects                                                      */
/* ------------------------------------------------------------------ */

typedef struct loaded {
    const uint8_t *base; /* dladdr()'s dli_fbase: where the ELF header is */
    uint64_t readable;   /* readable bytes from base, by /proc/self/maps */
    char path[4096];
} loaded;

/* How many bytes from base are readable without a gap, as an adapter
 * finds out from memory queries: consecutive mappings with 'r'. */
static uint64_t readable_from(const uint8_t *base)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[4096];
    uintptr_t at = (uintptr_t)base, end = at;

    assert_non_null(maps);
    while (fgets(line, sizeof line, maps)) {
        uintptr_t lo, hi;
        char perms[8];
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s", &lo, &hi, perms) != 3)
            continue;
        if (lo <= end && end < hi && perms[0] == 'r')
            end = hi;
    }
    fclose(maps);
    return end - at;
}

static void find_loaded(const void *addr, loaded *out)
{
    Dl_info info;

    assert_true(dladdr(addr, &info) != 0);
    assert_non_null(info.dli_fbase);
    out->base = info.dli_fbase;
    out->readable = readable_from(out->base);
    assert_true(out->readable >= sizeof(Elf64_Ehdr));
    snprintf(out->path, sizeof out->path, "%s", info.dli_fname);
}

static void id_of_loaded(const loaded *l, pcache_build_id *id)
{
    pcache_report rep;
    pcache_status st = pcache_build_id_of_loaded_elf(l->base, l->readable, id, &rep);
    if (st != PCACHE_OK)
        fail_msg("%s: %s [%s]", l->path, rep.message, pcache_status_name(st));
}

static void assert_same_build(const pcache_build_id *a, const pcache_build_id *b)
{
    char sa[PCACHE_BUILD_ID_STRING_SIZE], sb[PCACHE_BUILD_ID_STRING_SIZE];
    pcache_build_id_format(a, sa, sizeof sa);
    pcache_build_id_format(b, sb, sizeof sb);
    if (!pcache_build_id_equal(a, b))
        fail_msg("builds differ: %s and %s", sa, sb);
    assert_string_equal(sa, sb);
}

/* The id of the object at l, twice, and the one its file gives. */
static void check_against_file(const loaded *l, const char *file, pcache_build_id *id)
{
    pcache_build_id again, from_file;
    id_of_loaded(l, id);
    id_of_loaded(l, &again);
    assert_same_build(id, &again);
    id_of_file(file, &from_file);
    assert_same_build(id, &from_file);
}

int build_id_anchor(void);
int build_id_anchor(void)
{
    return 42;
}

static void this_program_libc_and_cmocka(void **state)
{
    loaded self, libc, cmocka;
    pcache_build_id id_self, id_libc, id_cmocka;
    (void)state;

    find_loaded((const void *)&build_id_anchor, &self);
    check_against_file(&self, "/proc/self/exe", &id_self);
    /* gnu_get_libc_version: no sanitizer intercepts it */
    find_loaded((const void *)&gnu_get_libc_version, &libc);
    check_against_file(&libc, libc.path, &id_libc);
    find_loaded((const void *)&_cmocka_run_group_tests, &cmocka);
    check_against_file(&cmocka, cmocka.path, &id_cmocka);

    /* Debian builds its libraries with a SHA-1 build-id note. */
    assert_int_equal(id_libc.kind, PCACHE_BUILD_ID_GNU);
    assert_int_equal(id_libc.size, 20);
    assert_false(pcache_build_id_equal(&id_self, &id_libc));
    assert_false(pcache_build_id_equal(&id_libc, &id_cmocka));
    assert_false(pcache_build_id_equal(&id_self, &id_cmocka));
}

typedef struct module {
    void *handle;
    loaded at;
    uint64_t first_offset; /* bid_first - base */
} module;

static void open_module(const char *path, module *m)
{
    void *first;
    m->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!m->handle)
        fail_msg("dlopen %s: %s", path, dlerror());
    first = dlsym(m->handle, "bid_first");
    assert_non_null(first);
    find_loaded(first, &m->at);
    m->first_offset = (uint64_t)((const uint8_t *)first - m->at.base);
}

static void close_module(module *m)
{
    assert_int_equal(dlclose(m->handle), 0);
}

/* The rebuild of issue 12: the same library with a function moved gets
 * another id, with a note and without (the text digest). */
static void rebuilt_library_differs(void **state)
{
    module note_a, note_b, plain_a, plain_b, based;
    pcache_build_id a, b, pa, pb, ba;
    (void)state;

    open_module(BID_NOTE_A, &note_a);
    open_module(BID_NOTE_B, &note_b);
    open_module(BID_PLAIN_A, &plain_a);
    open_module(BID_PLAIN_B, &plain_b);
    open_module(BID_BASED, &based);
    /* the function did move */
    assert_true(note_a.first_offset != note_b.first_offset);
    assert_true(plain_a.first_offset != plain_b.first_offset);

    check_against_file(&note_a.at, BID_NOTE_A, &a);
    check_against_file(&note_b.at, BID_NOTE_B, &b);
    check_against_file(&plain_a.at, BID_PLAIN_A, &pa);
    check_against_file(&plain_b.at, BID_PLAIN_B, &pb);
    check_against_file(&based.at, BID_BASED, &ba);

    assert_int_equal(a.kind, PCACHE_BUILD_ID_GNU);
    assert_int_equal(a.size, 20);
    assert_int_equal(b.kind, PCACHE_BUILD_ID_GNU);
    assert_int_equal(ba.kind, PCACHE_BUILD_ID_GNU);
    assert_int_equal(pa.kind, PCACHE_BUILD_ID_TEXT_XXH3);
    assert_int_equal(pa.size, PCACHE_BUILD_ID_TEXT_XXH3_SIZE);
    assert_int_equal(pb.kind, PCACHE_BUILD_ID_TEXT_XXH3);
    assert_false(pcache_build_id_equal(&a, &b));
    assert_false(pcache_build_id_equal(&pa, &pb));
    assert_false(pcache_build_id_equal(&a, &pa));
    /* linked at 0x72000000 (as DR's CMake links clients): another build */
    assert_false(pcache_build_id_equal(&a, &ba));

    close_module(&note_a);
    close_module(&note_b);
    close_module(&plain_a);
    close_module(&plain_b);
    close_module(&based);
}

/* A build-id note longer than PCACHE_BUILD_ID_MAX is refused, not cut. */
static void loaded_note_too_long(void **state)
{
    module m;
    pcache_build_id id;
    pcache_report rep;
    (void)state;

    open_module(BID_LONG, &m);
    assert_int_equal(pcache_build_id_of_loaded_elf(m.at.base, m.at.readable, &id, &rep), PCACHE_E_BUILD_ID_SIZE);
    assert_int_equal(rep.status, PCACHE_E_BUILD_ID_SIZE);
    assert_true(rep.has_values);
    assert_int_equal(rep.expected, PCACHE_BUILD_ID_MAX);
    assert_int_equal(rep.found, 65);
    assert_int_equal(id.kind, 0);
    close_module(&m);
}

/* ------------------------------------------------------------------ */
/* Crafted images                                                      */
/* ------------------------------------------------------------------ */

/* ELF header, three program headers (PT_LOAD r, PT_NOTE, PT_LOAD rx), a
 * build-id note at 0x140 and 64 bytes of "code" at 0x200, in one
 * IMG_SIZE-byte image whose vaddrs equal its offsets. */
#define IMG_SIZE 0x240u
#define PH0 64u
#define PH(i, field) (PH0 + (i) * (uint32_t)sizeof(Elf64_Phdr) + (uint32_t)offsetof(Elf64_Phdr, field))
#define EH(field) ((uint32_t)offsetof(Elf64_Ehdr, field))
#define NOTE_AT 0x140u /* after room for four program headers */
#define NOTE_SIZE (12u + 4u + 20u)
#define CODE_AT 0x200u
#define CODE_SIZE 0x40u

typedef struct image {
    uint8_t b[IMG_SIZE];
} image;

static void put_phdr(image *im, uint32_t i, uint32_t type, uint32_t flags, uint64_t at, uint64_t size,
                     uint64_t align)
{
    st32(im->b + PH(i, p_type), type);
    st32(im->b + PH(i, p_flags), flags);
    st64(im->b + PH(i, p_offset), at);
    st64(im->b + PH(i, p_vaddr), at);
    st64(im->b + PH(i, p_paddr), at);
    st64(im->b + PH(i, p_filesz), size);
    st64(im->b + PH(i, p_memsz), size);
    st64(im->b + PH(i, p_align), align);
}

/* A note at off: header, name, descriptor, each offset from the note's
 * start rounded up to align; returns the offset of the next note. */
static uint32_t put_note(image *im, uint32_t off, uint32_t align, const char *name, uint32_t type,
                         const uint8_t *desc, uint32_t descsz)
{
    uint32_t namesz = (uint32_t)strlen(name) + 1, desc_at = (12 + namesz + align - 1) & ~(align - 1);
    st32(im->b + off, namesz);
    st32(im->b + off + 4, descsz);
    st32(im->b + off + 8, type);
    memcpy(im->b + off + 12, name, namesz);
    memcpy(im->b + off + desc_at, desc, descsz);
    return (desc_at + descsz + align - 1) & ~(align - 1);
}

static const uint8_t gnu_id[20] = {0x1f, 0x0c, 0x33, 0x7a, 0x90, 0x01, 0x02, 0x03, 0x04, 0x05,
                                   0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0xff};

static void make_image(image *im)
{
    memset(im, 0, sizeof *im);
    memcpy(im->b, ELFMAG, SELFMAG);
    im->b[EI_CLASS] = ELFCLASS64;
    im->b[EI_DATA] = ELFDATA2LSB;
    im->b[EI_VERSION] = EV_CURRENT;
    st16(im->b + EH(e_type), ET_DYN);
    st16(im->b + EH(e_machine), EM_X86_64);
    st32(im->b + EH(e_version), EV_CURRENT);
    st64(im->b + EH(e_phoff), PH0);
    st16(im->b + EH(e_ehsize), sizeof(Elf64_Ehdr));
    st16(im->b + EH(e_phentsize), sizeof(Elf64_Phdr));
    st16(im->b + EH(e_phnum), 3);
    put_phdr(im, 0, PT_LOAD, PF_R, 0, CODE_AT, 0x1000);
    put_phdr(im, 1, PT_NOTE, PF_R, NOTE_AT, NOTE_SIZE, 4);
    put_phdr(im, 2, PT_LOAD, PF_R | PF_X, CODE_AT, CODE_SIZE, 0x1000);
    put_note(im, NOTE_AT, 4, "GNU", NT_GNU_BUILD_ID, gnu_id, sizeof gnu_id);
    for (uint32_t i = 0; i < CODE_SIZE; i++)
        im->b[CODE_AT + i] = (uint8_t)(0x90 + i * 7);
}

/* The image without its note: PT_NOTE becomes PT_NULL. */
static void make_image_without_note(image *im)
{
    make_image(im);
    st32(im->b + PH(1, p_type), PT_NULL);
}

/* Runs the reader on a copy of the first readable bytes of im, at base +
 * phase in a buffer of exactly phase + readable bytes. */
static pcache_status run_at(const image *im, uint64_t readable, size_t phase, pcache_build_id *id,
                            pcache_report *rep)
{
    uint8_t *buf;
    pcache_status st;

    assert_true(readable <= IMG_SIZE);
    buf = malloc(phase + (size_t)readable + (phase + readable == 0));
    assert_non_null(buf);
    memcpy(buf + phase, im->b, (size_t)readable);
    st = pcache_build_id_of_loaded_elf(buf + phase, readable, id, rep);
    free(buf);
    return st;
}

static pcache_status run(const image *im, uint64_t readable, pcache_build_id *id, pcache_report *rep)
{
    return run_at(im, readable, 0, id, rep);
}

/* A refusal: the status, the same in the report with a message that
 * contains what, and a zeroed id. */
static void refused_with(const image *im, uint64_t readable, pcache_status want, const char *what)
{
    pcache_build_id id;
    pcache_report rep;
    static const pcache_build_id zero;
    pcache_status st = run(im, readable, &id, &rep);

    if (st != want)
        fail_msg("expected %s, got %s: %s", pcache_status_name(want), pcache_status_name(st), rep.message);
    assert_int_equal(rep.status, want);
    assert_true(rep.message[0] != '\0');
    if (what && !strstr(rep.message, what))
        fail_msg("report '%s' does not say '%s'", rep.message, what);
    assert_memory_equal(&id, &zero, sizeof id);
}

static void refused(const image *im, pcache_status want, const char *what)
{
    refused_with(im, IMG_SIZE, want, what);
}

static void crafted_image_note_and_digest(void **state)
{
    image im;
    pcache_build_id id, id2;
    pcache_report rep;
    XXH3_state_t xs;
    XXH128_canonical_t canon;
    (void)state;

    make_image(&im);
    assert_int_equal(run(&im, IMG_SIZE, &id, &rep), PCACHE_OK);
    assert_int_equal(id.kind, PCACHE_BUILD_ID_GNU);
    assert_int_equal(id.size, sizeof gnu_id);
    assert_memory_equal(id.bytes, gnu_id, sizeof gnu_id);
    for (size_t k = sizeof gnu_id; k < PCACHE_BUILD_ID_MAX; k++)
        assert_int_equal(id.bytes[k], 0);
    /* at an odd address, and for the other machines */
    assert_int_equal(run_at(&im, IMG_SIZE, 1, &id2, &rep), PCACHE_OK);
    assert_true(pcache_build_id_equal(&id, &id2));
    st16(im.b + EH(e_machine), EM_AARCH64);
    assert_int_equal(run(&im, IMG_SIZE, &id2, &rep), PCACHE_OK);
    st16(im.b + EH(e_machine), EM_RISCV);
    assert_int_equal(run(&im, IMG_SIZE, &id2, &rep), PCACHE_OK);
    st16(im.b + EH(e_type), ET_EXEC);
    assert_int_equal(run(&im, IMG_SIZE, &id2, &rep), PCACHE_OK);
    assert_true(pcache_build_id_equal(&id, &id2));
    /* the note needs only the bytes up to its end */
    make_image(&im);
    assert_int_equal(run(&im, NOTE_AT + NOTE_SIZE, &id2, &rep), PCACHE_OK);
    assert_true(pcache_build_id_equal(&id, &id2));

    /* Without the note: the digest of the program headers and the code. */
    make_image_without_note(&im);
    assert_int_equal(run(&im, IMG_SIZE, &id, &rep), PCACHE_OK);
    assert_int_equal(id.kind, PCACHE_BUILD_ID_TEXT_XXH3);
    assert_int_equal(id.size, 16);
    XXH3_128bits_reset(&xs);
    XXH3_128bits_update(&xs, im.b + PH0, 3 * sizeof(Elf64_Phdr));
    XXH3_128bits_update(&xs, im.b + CODE_AT, CODE_SIZE);
    XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(&xs));
    assert_memory_equal(id.bytes, canon.digest, 16);
    /* a code byte, or a program header, changes it; the rest does not */
    im.b[CODE_AT + 17] ^= 1;
    assert_int_equal(run(&im, IMG_SIZE, &id2, &rep), PCACHE_OK);
    assert_false(pcache_build_id_equal(&id, &id2));
    make_image_without_note(&im);
    st64(im.b + PH(2, p_memsz), CODE_SIZE + 0x100); /* more bss */
    assert_int_equal(run(&im, IMG_SIZE, &id2, &rep), PCACHE_OK);
    assert_false(pcache_build_id_equal(&id, &id2));
    make_image_without_note(&im);
    st64(im.b + EH(e_shoff), 0x12345); /* strip rewrites the section headers only */
    im.b[NOTE_AT + 3] ^= 0x40;
    assert_int_equal(run(&im, IMG_SIZE, &id2, &rep), PCACHE_OK);
    assert_true(pcache_build_id_equal(&id, &id2));
    /* an empty PT_NOTE is no note */
    make_image(&im);
    st64(im.b + PH(1, p_filesz), 0);
    assert_int_equal(run(&im, IMG_SIZE, &id2, &rep), PCACHE_OK);
    assert_int_equal(id2.kind, PCACHE_BUILD_ID_TEXT_XXH3);
}

static void crafted_notes_accepted(void **state)
{
    static const uint8_t abi[16] = {0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0};
    static uint8_t big[PCACHE_BUILD_ID_MAX];
    image im;
    pcache_build_id id;
    pcache_report rep;
    uint32_t at;
    (void)state;

    /* an ABI tag and another vendor's type-3 note before the build id */
    make_image(&im);
    at = NOTE_AT;
    at += put_note(&im, at, 4, "GNU", NT_GNU_ABI_TAG, abi, sizeof abi);
    at += put_note(&im, at, 4, "Go", NT_GNU_BUILD_ID, abi, 5);
    at += put_note(&im, at, 4, "GNU", NT_GNU_BUILD_ID, gnu_id, 8);
    st64(im.b + PH(1, p_filesz), at - NOTE_AT);
    assert_int_equal(run(&im, IMG_SIZE, &id, &rep), PCACHE_OK);
    assert_int_equal(id.kind, PCACHE_BUILD_ID_GNU);
    assert_int_equal(id.size, 8);
    assert_memory_equal(id.bytes, gnu_id, 8);

    /* 8-aligned notes (as .note.gnu.property's segment) */
    make_image(&im);
    st64(im.b + PH(1, p_align), 8);
    at = NOTE_AT;
    at += put_note(&im, at, 8, "GNU", NT_GNU_PROPERTY_TYPE_0, abi, 12);
    at += put_note(&im, at, 8, "GNU", NT_GNU_BUILD_ID, gnu_id, 20);
    st64(im.b + PH(1, p_filesz), at - NOTE_AT);
    assert_int_equal(run(&im, IMG_SIZE, &id, &rep), PCACHE_OK);
    assert_int_equal(id.size, 20);

    /* the largest id kept; the last descriptor without its padding */
    make_image(&im);
    for (uint32_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 13 + 1);
    at = NOTE_AT + put_note(&im, NOTE_AT, 4, "GNU", NT_GNU_BUILD_ID, big, PCACHE_BUILD_ID_MAX);
    st64(im.b + PH(1, p_filesz), at - NOTE_AT);
    assert_int_equal(run(&im, IMG_SIZE, &id, &rep), PCACHE_OK);
    assert_int_equal(id.size, PCACHE_BUILD_ID_MAX);
    assert_memory_equal(id.bytes, big, PCACHE_BUILD_ID_MAX);
    make_image(&im);
    put_note(&im, NOTE_AT, 4, "GNU", NT_GNU_BUILD_ID, gnu_id, 18);
    st64(im.b + PH(1, p_filesz), 12 + 4 + 18);
    assert_int_equal(run(&im, IMG_SIZE, &id, &rep), PCACHE_OK);
    assert_int_equal(id.size, 18);

    /* the same id twice is one id */
    make_image(&im);
    at = NOTE_AT + NOTE_SIZE;
    at += put_note(&im, at, 4, "GNU", NT_GNU_BUILD_ID, gnu_id, sizeof gnu_id);
    st64(im.b + PH(1, p_filesz), at - NOTE_AT);
    assert_int_equal(run(&im, IMG_SIZE, &id, &rep), PCACHE_OK);
    assert_memory_equal(id.bytes, gnu_id, sizeof gnu_id);

    /* p_align 0 and 1 count as 4; a first PT_LOAD without alignment */
    make_image(&im);
    st64(im.b + PH(1, p_align), 0);
    st64(im.b + PH(0, p_align), 0);
    assert_int_equal(run(&im, IMG_SIZE, &id, &rep), PCACHE_OK);
    st64(im.b + PH(1, p_align), 1);
    st64(im.b + PH(0, p_align), 1);
    assert_int_equal(run(&im, IMG_SIZE, &id, &rep), PCACHE_OK);
}

static void header_refusals(void **state)
{
    image im;
    (void)state;

    make_image(&im);
    refused_with(&im, 0, PCACHE_E_TRUNCATED, "ELF magic");
    refused_with(&im, 3, PCACHE_E_TRUNCATED, "ELF magic");
    refused_with(&im, 63, PCACHE_E_TRUNCATED, "64-bit ELF header");
    im.b[1] = 'e';
    refused(&im, PCACHE_E_ELF_MAGIC, "magic");
    refused_with(&im, 4, PCACHE_E_ELF_MAGIC, "magic");

    make_image(&im);
    im.b[EI_CLASS] = ELFCLASS32;
    refused(&im, PCACHE_E_ELF_UNSUPPORTED, "ELFCLASS64");
    make_image(&im);
    im.b[EI_DATA] = ELFDATA2MSB;
    refused(&im, PCACHE_E_ELF_UNSUPPORTED, "little-endian");
    make_image(&im);
    im.b[EI_VERSION] = 0;
    refused(&im, PCACHE_E_ELF_UNSUPPORTED, "EI_VERSION");
    make_image(&im);
    st32(im.b + EH(e_version), 2);
    refused(&im, PCACHE_E_ELF_UNSUPPORTED, "e_version");
    make_image(&im);
    st16(im.b + EH(e_type), ET_REL);
    refused(&im, PCACHE_E_ELF_UNSUPPORTED, "e_type");
    st16(im.b + EH(e_type), ET_CORE);
    refused(&im, PCACHE_E_ELF_UNSUPPORTED, "e_type");
    make_image(&im);
    st16(im.b + EH(e_machine), EM_386);
    refused(&im, PCACHE_E_ELF_UNSUPPORTED, "e_machine 3");
    st16(im.b + EH(e_machine), EM_PPC64);
    refused(&im, PCACHE_E_ELF_UNSUPPORTED, "e_machine 21");

    make_image(&im);
    st16(im.b + EH(e_ehsize), 52);
    refused(&im, PCACHE_E_ELF_HEADER, "e_ehsize");
    make_image(&im);
    st16(im.b + EH(e_phentsize), 32);
    refused(&im, PCACHE_E_ELF_HEADER, "e_phentsize");
    make_image(&im);
    st16(im.b + EH(e_phnum), 0);
    refused(&im, PCACHE_E_ELF_HEADER, "e_phnum is 0");
    st16(im.b + EH(e_phnum), PN_XNUM);
    refused(&im, PCACHE_E_ELF_HEADER, "PN_XNUM");
    st16(im.b + EH(e_phnum), 65536 / sizeof(Elf64_Phdr) + 1);
    refused(&im, PCACHE_E_ELF_HEADER, "65536");
    /* 1170 headers fit the limit but not the image */
    st16(im.b + EH(e_phnum), 65536 / sizeof(Elf64_Phdr));
    refused(&im, PCACHE_E_TRUNCATED, "program header table");

    /* the table outside the readable bytes, or wrapping */
    make_image(&im);
    refused_with(&im, PH0 + 3 * sizeof(Elf64_Phdr) - 1, PCACHE_E_TRUNCATED, "program header table");
    st64(im.b + EH(e_phoff), IMG_SIZE - 10);
    refused(&im, PCACHE_E_TRUNCATED, "program header table");
    st64(im.b + EH(e_phoff), UINT64_MAX - 50);
    refused(&im, PCACHE_E_OVERFLOW, "wraps");
    st64(im.b + EH(e_phoff), (uint64_t)1 << 63);
    refused(&im, PCACHE_E_TRUNCATED, "program header table");
}

static void segment_refusals(void **state)
{
    image im;
    (void)state;

    make_image(&im);
    st32(im.b + PH(0, p_type), PT_NULL);
    st32(im.b + PH(2, p_type), PT_NULL);
    refused(&im, PCACHE_E_ELF_SEGMENT, "no PT_LOAD");

    make_image(&im);
    st64(im.b + PH(0, p_filesz), 0x300);
    refused(&im, PCACHE_E_ELF_SEGMENT, "p_filesz above p_memsz");
    make_image(&im);
    st64(im.b + PH(2, p_memsz), UINT64_MAX);
    refused(&im, PCACHE_E_OVERFLOW, "wraps");
    make_image(&im);
    st64(im.b + PH(2, p_align), 0x1800);
    refused(&im, PCACHE_E_ELF_SEGMENT, "power of two");
    make_image(&im);
    st64(im.b + PH(2, p_vaddr), CODE_AT + 0x1000 + 8);
    refused(&im, PCACHE_E_ELF_SEGMENT, "congruent");

    /* the first PT_LOAD must map the file's first page and the table */
    make_image(&im);
    st64(im.b + PH(0, p_offset), 0x1000);
    st64(im.b + PH(0, p_vaddr), 0x1000);
    refused(&im, PCACHE_E_ELF_SEGMENT, "first page");
    make_image(&im);
    st64(im.b + PH(0, p_align), 0);
    st64(im.b + PH(0, p_offset), 8);
    st64(im.b + PH(0, p_vaddr), 8);
    refused(&im, PCACHE_E_ELF_SEGMENT, "first page");
    make_image(&im);
    st64(im.b + PH(0, p_align), 0);
    st64(im.b + PH(0, p_offset), 8);
    st64(im.b + PH(0, p_vaddr), 0);
    refused(&im, PCACHE_E_ELF_SEGMENT, "first page");
    make_image(&im);
    st64(im.b + PH(0, p_filesz), 0x80);
    refused(&im, PCACHE_E_ELF_SEGMENT, "program header table");
    make_image(&im);
    st64(im.b + PH(0, p_offset), 0x80);
    st64(im.b + PH(0, p_vaddr), 0x80);
    refused(&im, PCACHE_E_ELF_SEGMENT, "program header table [64, 232) not in the file bytes");

    /* ascending, non-overlapping */
    make_image(&im);
    st64(im.b + PH(2, p_offset), 0x1100);
    st64(im.b + PH(2, p_vaddr), 0x100);
    refused(&im, PCACHE_E_ELF_SEGMENT, "ascending");

    /* the code outside the readable bytes (no note: it is digested) */
    make_image_without_note(&im);
    refused_with(&im, IMG_SIZE - 1, PCACHE_E_TRUNCATED, "program header 2 (PT_LOAD)");
    st64(im.b + PH(2, p_vaddr), 0x7fff0000);
    st64(im.b + PH(2, p_offset), 0x7fff0000);
    refused(&im, PCACHE_E_TRUNCATED, "program header 2 (PT_LOAD)");
    /* with a note, the code is not read */
    make_image(&im);
    st64(im.b + PH(2, p_vaddr), 0x7fff0000);
    st64(im.b + PH(2, p_offset), 0x7fff0000);
    {
        pcache_build_id id;
        pcache_report rep;
        assert_int_equal(run(&im, IMG_SIZE, &id, &rep), PCACHE_OK);
    }
    /* nothing to digest */
    make_image_without_note(&im);
    st32(im.b + PH(2, p_flags), PF_R);
    refused(&im, PCACHE_E_NO_BUILD_ID, "no NT_GNU_BUILD_ID note and no executable");
    make_image_without_note(&im);
    st64(im.b + PH(2, p_filesz), 0);
    refused(&im, PCACHE_E_NO_BUILD_ID, NULL);
}

static void note_refusals(void **state)
{
    image im;
    uint32_t at;
    (void)state;

    /* a PT_NOTE that no PT_LOAD maps from the file */
    make_image(&im);
    st64(im.b + PH(1, p_vaddr), 0x1000);
    refused(&im, PCACHE_E_ELF_SEGMENT, "not inside the file bytes of a PT_LOAD");
    make_image(&im);
    st64(im.b + PH(1, p_vaddr), CODE_AT - 8); /* runs past the first PT_LOAD's file bytes */
    refused(&im, PCACHE_E_ELF_SEGMENT, "not inside");
    make_image(&im);
    st64(im.b + PH(1, p_vaddr), UINT64_MAX - 15);
    refused(&im, PCACHE_E_ELF_SEGMENT, "not inside");
    make_image(&im);
    st64(im.b + PH(1, p_filesz), UINT64_MAX);
    refused(&im, PCACHE_E_ELF_SEGMENT, "not inside");
    /* inside a PT_LOAD, outside the readable bytes */
    make_image(&im);
    refused_with(&im, NOTE_AT + NOTE_SIZE - 1, PCACHE_E_TRUNCATED, "program header 1 (PT_NOTE)");

    /* alignment */
    make_image(&im);
    st64(im.b + PH(1, p_align), 16);
    refused(&im, PCACHE_E_ELF_NOTE, "not 4 or 8");
    make_image(&im);
    memmove(im.b + NOTE_AT + 2, im.b + NOTE_AT, NOTE_SIZE);
    st64(im.b + PH(1, p_vaddr), NOTE_AT + 2);
    refused(&im, PCACHE_E_ELF_NOTE, "not aligned");
    make_image(&im);
    st64(im.b + PH(1, p_align), 8);
    memmove(im.b + NOTE_AT + 4, im.b + NOTE_AT, NOTE_SIZE);
    st64(im.b + PH(1, p_vaddr), NOTE_AT + 4);
    refused(&im, PCACHE_E_ELF_NOTE, "not aligned");

    /* sizes */
    make_image(&im);
    st32(im.b + NOTE_AT, 0xffffffffu); /* namesz */
    refused(&im, PCACHE_E_ELF_NOTE, "runs past");
    make_image(&im);
    st32(im.b + NOTE_AT + 4, 0xffffffffu); /* descsz */
    refused(&im, PCACHE_E_ELF_NOTE, "runs past");
    make_image(&im);
    st32(im.b + NOTE_AT + 4, 21);
    refused(&im, PCACHE_E_ELF_NOTE, "runs past");
    make_image(&im);
    st64(im.b + PH(1, p_filesz), NOTE_SIZE + 5);
    refused(&im, PCACHE_E_ELF_NOTE, "too few for a note header");
    make_image(&im);
    st64(im.b + PH(1, p_filesz), 11);
    refused(&im, PCACHE_E_ELF_NOTE, "too few for a note header");

    /* the build id itself */
    make_image(&im);
    st32(im.b + NOTE_AT + 4, 0);
    st64(im.b + PH(1, p_filesz), 16);
    refused(&im, PCACHE_E_BUILD_ID_SIZE, "descriptor size");
    make_image(&im);
    {
        static uint8_t big[PCACHE_BUILD_ID_MAX + 1];
        at = NOTE_AT + put_note(&im, NOTE_AT, 4, "GNU", NT_GNU_BUILD_ID, big, sizeof big);
        st64(im.b + PH(1, p_filesz), at - NOTE_AT);
        refused(&im, PCACHE_E_BUILD_ID_SIZE, "descriptor size");
    }
    /* two ids that differ, in one segment or in two */
    make_image(&im);
    at = NOTE_AT + NOTE_SIZE;
    at += put_note(&im, at, 4, "GNU", NT_GNU_BUILD_ID, gnu_id + 1, sizeof gnu_id - 1);
    st64(im.b + PH(1, p_filesz), at - NOTE_AT);
    refused(&im, PCACHE_E_ELF_NOTE, "differs from the first");
    make_image(&im);
    st16(im.b + EH(e_phnum), 4);
    memmove(im.b + PH(3, p_type), im.b + PH(1, p_type), sizeof(Elf64_Phdr));
    put_note(&im, NOTE_AT + 0x40, 4, "GNU", NT_GNU_BUILD_ID, gnu_id, sizeof gnu_id);
    im.b[NOTE_AT + 0x40 + 16 + 19] ^= 1;
    st64(im.b + PH(3, p_vaddr), NOTE_AT + 0x40);
    refused(&im, PCACHE_E_ELF_NOTE, "differs from the first");
}

/* Every readable length of the valid images: success from the length
 * needed on, a truncation before, never a read past. */
static void every_readable_length(void **state)
{
    image im;
    pcache_build_id id;
    pcache_report rep;
    (void)state;

    for (int note = 0; note <= 1; note++) {
        uint64_t needed = note ? NOTE_AT + NOTE_SIZE : CODE_AT + CODE_SIZE;
        if (note)
            make_image(&im);
        else
            make_image_without_note(&im);
        for (uint64_t n = 0; n <= IMG_SIZE; n++) {
            pcache_status st = run(&im, n, &id, &rep);
            if (n >= needed)
                assert_int_equal(st, PCACHE_OK);
            else if (st != PCACHE_E_TRUNCATED)
                fail_msg("readable %llu: %s", (unsigned long long)n, rep.message);
        }
    }
}

/* Every single-bit flip of both valid images: a status and a consistent
 * report, or an id; never a fault (the sanitizers and valgrind watch). */
static void every_bit_flip(void **state)
{
    image im;
    pcache_build_id id;
    pcache_report rep;
    (void)state;

    for (int note = 0; note <= 1; note++) {
        for (uint32_t byte = 0; byte < IMG_SIZE; byte++) {
            for (int bit = 0; bit < 8; bit++) {
                pcache_status st;
                if (note)
                    make_image(&im);
                else
                    make_image_without_note(&im);
                im.b[byte] ^= (uint8_t)(1u << bit);
                st = run(&im, IMG_SIZE, &id, &rep);
                if (st == PCACHE_OK) {
                    assert_true(id.kind == PCACHE_BUILD_ID_GNU || id.kind == PCACHE_BUILD_ID_TEXT_XXH3);
                    assert_true(id.size >= 1 && id.size <= PCACHE_BUILD_ID_MAX);
                } else {
                    assert_int_equal(rep.status, st);
                    assert_true(rep.message[0] != '\0');
                    assert_int_equal(id.kind, 0);
                }
            }
        }
    }
}

static void invalid_arguments(void **state)
{
    image im;
    pcache_build_id id;
    pcache_report rep;
    (void)state;

    make_image(&im);
    assert_int_equal(pcache_build_id_of_loaded_elf(NULL, IMG_SIZE, &id, &rep), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(rep.status, PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_build_id_of_loaded_elf(im.b, IMG_SIZE, NULL, &rep), PCACHE_E_INVALID_ARGUMENT);
    /* no report wanted */
    assert_int_equal(pcache_build_id_of_loaded_elf(im.b, IMG_SIZE, &id, NULL), PCACHE_OK);
    assert_int_equal(pcache_build_id_of_loaded_elf(im.b, 10, &id, NULL), PCACHE_E_TRUNCATED);
}

/* ------------------------------------------------------------------ */
/* Formatting, comparing, the mismatch report                          */
/* ------------------------------------------------------------------ */

static pcache_build_id an_id(uint16_t kind, uint16_t size, uint8_t first)
{
    pcache_build_id id;
    memset(&id, 0, sizeof id);
    id.kind = kind;
    id.size = size;
    for (uint16_t i = 0; i < size && i < PCACHE_BUILD_ID_MAX; i++)
        id.bytes[i] = (uint8_t)(first + i);
    return id;
}

static void format_ids(void **state)
{
    pcache_build_id gnu = an_id(PCACHE_BUILD_ID_GNU, 4, 0xfe), text = an_id(PCACHE_BUILD_ID_TEXT_XXH3, 2, 0x0a);
    pcache_build_id odd = an_id(7, 1, 0x42), bad = an_id(PCACHE_BUILD_ID_GNU, PCACHE_BUILD_ID_MAX + 1, 0);
    pcache_build_id max = an_id(PCACHE_BUILD_ID_TEXT_XXH3, PCACHE_BUILD_ID_MAX, 0);
    char buf[PCACHE_BUILD_ID_STRING_SIZE];
    (void)state;

    assert_int_equal(pcache_build_id_format(&gnu, buf, sizeof buf), 12);
    assert_string_equal(buf, "gnu:feff0001");
    assert_int_equal(pcache_build_id_format(&text, buf, sizeof buf), 14);
    assert_string_equal(buf, "text-xxh3:0a0b");
    assert_int_equal(pcache_build_id_format(&odd, buf, sizeof buf), 8);
    assert_string_equal(buf, "kind7:42");
    assert_int_equal(pcache_build_id_format(&bad, buf, sizeof buf), 7);
    assert_string_equal(buf, "invalid");
    assert_int_equal(pcache_build_id_format(NULL, buf, sizeof buf), 7);
    assert_string_equal(buf, "invalid");
    /* the longest fits exactly */
    assert_int_equal(pcache_build_id_format(&max, buf, sizeof buf), PCACHE_BUILD_ID_STRING_SIZE - 1);
    assert_int_equal(strlen(buf), PCACHE_BUILD_ID_STRING_SIZE - 1);
    assert_int_equal(strncmp(buf, "text-xxh3:000102", 16), 0);
    assert_string_equal(buf + strlen(buf) - 4, "3e3f");
    /* cut safely */
    memset(buf, 'x', sizeof buf);
    assert_int_equal(pcache_build_id_format(&gnu, buf, 6), 12);
    assert_string_equal(buf, "gnu:f");
    assert_int_equal(buf[6], 'x');
    assert_int_equal(pcache_build_id_format(&gnu, buf, 1), 12);
    assert_string_equal(buf, "");
    buf[0] = 'x';
    assert_int_equal(pcache_build_id_format(&gnu, buf, 0), 12);
    assert_int_equal(buf[0], 'x');
    assert_int_equal(pcache_build_id_format(&gnu, NULL, 0), 12);
}

static void compare_ids(void **state)
{
    pcache_build_id a = an_id(PCACHE_BUILD_ID_GNU, 20, 1), b = a;
    pcache_build_id bad = an_id(PCACHE_BUILD_ID_GNU, 20, 1);
    (void)state;

    assert_true(pcache_build_id_equal(&a, &b));
    b.bytes[30] = 9; /* past size: not part of the id */
    assert_true(pcache_build_id_equal(&a, &b));
    b.bytes[19] ^= 1;
    assert_false(pcache_build_id_equal(&a, &b));
    b = a;
    b.size = 19;
    assert_false(pcache_build_id_equal(&a, &b));
    b = a;
    b.kind = PCACHE_BUILD_ID_TEXT_XXH3;
    assert_false(pcache_build_id_equal(&a, &b));
    assert_false(pcache_build_id_equal(&a, NULL));
    assert_false(pcache_build_id_equal(NULL, NULL));
    bad.size = PCACHE_BUILD_ID_MAX + 1;
    assert_false(pcache_build_id_equal(&bad, &bad));
}

static void mismatch_names_both_builds(void **state)
{
    pcache_build_id a = an_id(PCACHE_BUILD_ID_GNU, 20, 0x10), b = an_id(PCACHE_BUILD_ID_GNU, 20, 0x20);
    pcache_build_id t = an_id(PCACHE_BUILD_ID_TEXT_XXH3, 16, 0x30);
    pcache_build_id l1 = an_id(PCACHE_BUILD_ID_GNU, PCACHE_BUILD_ID_MAX, 0x40);
    pcache_build_id l2 = an_id(PCACHE_BUILD_ID_TEXT_XXH3, PCACHE_BUILD_ID_MAX, 0x80);
    char sa[PCACHE_BUILD_ID_STRING_SIZE], sb[PCACHE_BUILD_ID_STRING_SIZE], want[400];
    pcache_report rep;
    (void)state;

    assert_int_equal(pcache_build_id_check(&a, &a, &rep), PCACHE_OK);
    assert_int_equal(pcache_build_id_check(&a, &b, &rep), PCACHE_E_CLIENT_BUILD);
    assert_int_equal(rep.status, PCACHE_E_CLIENT_BUILD);
    pcache_build_id_format(&a, sa, sizeof sa);
    pcache_build_id_format(&b, sb, sizeof sb);
    snprintf(want, sizeof want, "client library build differs: expected %s, found %s", sa, sb);
    assert_string_equal(rep.message, want);
    assert_int_equal(pcache_build_id_check(&a, &t, &rep), PCACHE_E_CLIENT_BUILD);
    pcache_build_id_format(&t, sb, sizeof sb);
    assert_non_null(strstr(rep.message, sa));
    assert_non_null(strstr(rep.message, sb));
    /* the longest ids, abbreviated, both whole in the message */
    assert_int_equal(pcache_build_id_check(&l1, &l2, &rep), PCACHE_E_CLIENT_BUILD);
    assert_string_equal(rep.message, "client library build differs: expected "
                                     "gnu:404142434445464748494a4b4c4d4e..717273747576777879"
                                     "7a7b7c7d7e7f, found text-xxh3:808182838485868788898a8b"
                                     "8c8d8e..b1b2b3b4b5b6b7b8b9babbbcbdbebf");
    assert_int_equal(pcache_build_id_check(NULL, &a, &rep), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_build_id_check(&a, NULL, NULL), PCACHE_E_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(this_program_libc_and_cmocka),
        cmocka_unit_test(rebuilt_library_differs),
        cmocka_unit_test(loaded_note_too_long),
        cmocka_unit_test(crafted_image_note_and_digest),
        cmocka_unit_test(crafted_notes_accepted),
        cmocka_unit_test(header_refusals),
        cmocka_unit_test(segment_refusals),
        cmocka_unit_test(note_refusals),
        cmocka_unit_test(every_readable_length),
        cmocka_unit_test(every_bit_flip),
        cmocka_unit_test(invalid_arguments),
        cmocka_unit_test(format_ids),
        cmocka_unit_test(compare_ids),
        cmocka_unit_test(mismatch_names_both_builds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
