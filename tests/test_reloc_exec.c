/* SPDX-License-Identifier: BSD-2-Clause */
/* Real execution of relocated code on x86-64: a hand-assembled function is
 * persisted in rx with references to an rw section (rip-relative, with and
 * without an immediate after the displacement), to an ro section and to
 * external anchors (absolute, and a rel32 call); the standalone file is
 * read back, copied to a different address, relocated with the anchors
 * moved, made executable, and called.  Elsewhere the test is skipped. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pcache/reloc.h"
#include "support.h"

#if defined(__x86_64__)

/* Offsets of the fields in the function below. */
enum {
    SITE_LOAD = 7,       /* mov rax, [rip+disp32]: rw vars+0, pc_offset 4 */
    SITE_COUNTER = 14,   /* add qword [rip+disp32], 5: rw vars+8, pc_offset 4 + imm8 */
    SITE_TABLE = 21,     /* movabs rcx, imm64: anchor "table" + 8 */
    SITE_CONSTS = 34,    /* movabs rdx, imm64: ro consts + 16 */
    SITE_FN = 50,        /* movabs r11, imm64: anchor "fn" */
    SITE_THUNK = 65,     /* call rel32: anchor "thunk" */
};

static const uint8_t function_code[] = {
    0x48, 0x83, 0xec, 0x08,                         /*  0: sub rsp, 8 */
    0x48, 0x8b, 0x05, 0, 0, 0, 0,                   /*  4: mov rax, [rip+disp32] */
    0x48, 0x83, 0x05, 0, 0, 0, 0, 0x05,             /* 11: add qword [rip+disp32], 5 */
    0x48, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0,             /* 19: movabs rcx, imm64 */
    0x48, 0x03, 0x01,                               /* 29: add rax, [rcx] */
    0x48, 0xba, 0, 0, 0, 0, 0, 0, 0, 0,             /* 32: movabs rdx, imm64 */
    0x48, 0x03, 0x02,                               /* 42: add rax, [rdx] */
    0x48, 0x89, 0xc7,                               /* 45: mov rdi, rax */
    0x49, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0,             /* 48: movabs r11, imm64 */
    0x41, 0xff, 0xd3,                               /* 58: call r11 */
    0x48, 0x89, 0xc7,                               /* 61: mov rdi, rax */
    0xe8, 0, 0, 0, 0,                               /* 64: call rel32 */
    0x48, 0x83, 0xc4, 0x08,                         /* 69: add rsp, 8 */
    0xc3,                                           /* 73: ret */
};

static int64_t consts[4] = {1, 2, 20, 3};
static int64_t vars[2] = {7, 1000};
static int64_t table_at_persist[2] = {-1, -1};
static int64_t table_now[2] = {0, 100};

static int64_t fn_at_persist(int64_t x) { return -x; }
static int64_t fn_now(int64_t x) { return 3 * x; }
static int64_t fn_behind_thunk(int64_t x) { return x + 10000; }

static uint64_t addr_of_fn(int64_t (*f)(int64_t))
{
    return (uint64_t)(uintptr_t)f;
}

typedef struct anchors {
    uint64_t table, fn, thunk;
} anchors;

static int resolve(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    const anchors *a = ctx;
    (void)persisted;
    if (strcmp(name, "table") == 0)
        *address = a->table;
    else if (strcmp(name, "fn") == 0)
        *address = a->fn;
    else if (strcmp(name, "thunk") == 0)
        *address = a->thunk;
    else
        return 1;
    return 0;
}

static void add(pcache_builder *b, pcache_patch p)
{
    if (pcache_builder_add_patch(b, &p) != PCACHE_OK)
        fail_msg("add_patch: %s", pcache_builder_report(b)->message);
}

static pcache_builder *build(void)
{
    pcache_identity id;
    pcache_builder *b = NULL;
    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    id.page_size = (uint32_t)sysconf(_SC_PAGESIZE);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "consts", consts, sizeof consts, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", function_code, sizeof function_code, 16, 0),
                     PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "vars", vars, sizeof vars, 8, 0), PCACHE_OK);
    add(b, (pcache_patch){.cls = PCACHE_RX, .section = "code", .offset = SITE_LOAD, .kind = PCACHE_RELOC_REL32,
                          .pc_offset = 4, .target_kind = PCACHE_TARGET_SECTION, .target_class = PCACHE_RW,
                          .target_section = "vars", .target_offset = 0});
    add(b, (pcache_patch){.cls = PCACHE_RX, .section = "code", .offset = SITE_COUNTER, .kind = PCACHE_RELOC_REL32,
                          .pc_offset = 5, .target_kind = PCACHE_TARGET_SECTION, .target_class = PCACHE_RW,
                          .target_section = "vars", .target_offset = 8});
    add(b, (pcache_patch){.cls = PCACHE_RX, .section = "code", .offset = SITE_TABLE, .kind = PCACHE_RELOC_ABS64,
                          .target_kind = PCACHE_TARGET_ANCHOR, .anchor = "table", .target_offset = 8});
    add(b, (pcache_patch){.cls = PCACHE_RX, .section = "code", .offset = SITE_CONSTS, .kind = PCACHE_RELOC_ABS64,
                          .target_kind = PCACHE_TARGET_SECTION, .target_class = PCACHE_RO,
                          .target_section = "consts", .target_offset = 8, .addend = 8});
    add(b, (pcache_patch){.cls = PCACHE_RX, .section = "code", .offset = SITE_FN, .kind = PCACHE_RELOC_ABS64,
                          .target_kind = PCACHE_TARGET_ANCHOR, .anchor = "fn"});
    add(b, (pcache_patch){.cls = PCACHE_RX, .section = "code", .offset = SITE_THUNK, .kind = PCACHE_RELOC_REL32,
                          .pc_offset = 4, .target_kind = PCACHE_TARGET_ANCHOR, .anchor = "thunk"});
    assert_int_equal(pcache_builder_set_anchor(b, "table", (uint64_t)(uintptr_t)table_at_persist), PCACHE_OK);
    assert_int_equal(pcache_builder_set_anchor(b, "fn", addr_of_fn(fn_at_persist)), PCACHE_OK);
    assert_int_equal(pcache_builder_set_anchor(b, "thunk", 0x1000), PCACHE_OK);
    return b;
}

/* A file written to disk and read back. */
static uint8_t *write_and_read(pcache_builder *b, uint64_t *size)
{
    char path[] = "/tmp/pcache-reloc-exec-XXXXXX";
    pcache_image img;
    pcache_report rep;
    uint8_t *copy;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    if (pcache_file_write_path(b, path, &rep) != PCACHE_OK)
        fail_msg("write: %s", rep.message);
    if (pcache_image_read_path(&img, path, NULL, &rep) != PCACHE_OK)
        fail_msg("read: %s", rep.message);
    unlink(path);
    *size = img.size;
    copy = malloc(img.size);
    memcpy(copy, img.base, img.size);
    pcache_image_close(&img);
    return copy;
}

typedef struct mapping {
    uint8_t *base;   /* file offset 0 of the image */
    size_t len;
    uint8_t *thunk;  /* a page after the image, within rel32 reach */
} mapping;

/* A fresh anonymous mapping holding the file, and a page after it. */
static void map_image(mapping *m, const uint8_t *file, uint64_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t image = ((size_t)size + page - 1) & ~(page - 1);
    m->len = image + page;
    m->base = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m->base != MAP_FAILED);
    memcpy(m->base, file, (size_t)size);
    m->thunk = m->base + image;
    /* jmp [rip+0]; .quad fn_behind_thunk */
    m->thunk[0] = 0xff;
    m->thunk[1] = 0x25;
    memset(m->thunk + 2, 0, 4);
    {
        uint64_t target = addr_of_fn(fn_behind_thunk);
        memcpy(m->thunk + 6, &target, 8);
    }
}

/* Opens, relocates and makes executable the image in m; returns the
 * status of the first failure (the code is then not made executable). */
static pcache_status load(mapping *m, uint64_t size, const anchors *a, pcache_image *img, pcache_report *rep)
{
    pcache_status st = pcache_image_open_memory(img, m->base, size, NULL, rep);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const pcache_segment *all[PCACHE_CLASS_COUNT];
    if (st != PCACHE_OK)
        return st;
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        all[c] = pcache_image_segment(img, (pcache_class)c);
    /* DynamoRIO resurrects rw, then rx, then ro */
    for (int c = PCACHE_CLASS_COUNT - 1; c >= 0; c--) {
        pcache_segment *seg = pcache_image_segment(img, (pcache_class)c);
        if ((st = pcache_reloc_check_targets(seg, all, rep)) != PCACHE_OK)
            return st;
        if ((st = pcache_reloc_apply(seg, (void *)(uintptr_t)seg->base, (uint64_t)(uintptr_t)m->base, resolve,
                                     (void *)(uintptr_t)a, rep)) != PCACHE_OK)
            return st;
    }
    {
        size_t off = (size_t)img->offset[PCACHE_RX], len = (size_t)img->seg_size[PCACHE_RX];
        len = (len + page - 1) & ~(page - 1);
        assert_int_equal(off % page, 0);
        if (mprotect(m->base + off, len, PROT_READ | PROT_EXEC) != 0 ||
            mprotect(m->thunk, page, PROT_READ | PROT_EXEC) != 0)
            return PCACHE_E_IO;
    }
    return PCACHE_OK;
}

static int64_t call(const mapping *m, pcache_image *img)
{
    pcache_view v;
    pcache_report rep;
    int64_t (*f)(void);
    void *p;
    assert_int_equal(pcache_segment_find(pcache_image_segment(img, PCACHE_RX), "code", &v, &rep), PCACHE_OK);
    assert_ptr_equal(v.data, m->base + pcache_image_segment(img, PCACHE_RX)->file_offset + v.offset);
    p = (void *)(uintptr_t)v.data;
    memcpy(&f, &p, sizeof f);
    return f();
}

static int64_t rw_counter(pcache_image *img)
{
    pcache_view v;
    pcache_report rep;
    int64_t c;
    assert_int_equal(pcache_segment_find(pcache_image_segment(img, PCACHE_RW), "vars", &v, &rep), PCACHE_OK);
    memcpy(&c, (const uint8_t *)v.data + 8, sizeof c);
    return c;
}

static void test_call_relocated_function(void **state)
{
    pcache_builder *b = build();
    uint64_t size;
    uint8_t *file = write_and_read(b, &size);
    (void)state;

    for (int round = 0; round < 2; round++) {
        mapping m;
        pcache_image img;
        pcache_report rep;
        anchors a;
        pcache_status st;
        int64_t got;

        map_image(&m, file, size);
        a.table = (uint64_t)(uintptr_t)table_now;
        a.fn = addr_of_fn(fn_now);
        a.thunk = (uint64_t)(uintptr_t)m.thunk;
        st = load(&m, size, &a, &img, &rep);
        if (st == PCACHE_E_IO) {
            munmap(m.base, m.len);
            skip(); /* no executable mappings here (W^X policy) */
        }
        if (st != PCACHE_OK)
            fail_msg("load: %s", rep.message);
        /* vars[0] + table_now[1] + consts[2] = 7 + 100 + 20, through fn_now
         * (x 3) and the thunk to fn_behind_thunk (+ 10000) */
        got = call(&m, &img);
        assert_int_equal(got, (7 + 100 + 20) * 3 + 10000);
        assert_int_equal(rw_counter(&img), 1005);
        got = call(&m, &img);
        assert_int_equal(got, (7 + 100 + 20) * 3 + 10000);
        assert_int_equal(rw_counter(&img), 1010);
        /* the process's own copies are untouched */
        assert_int_equal(vars[1], 1000);
        munmap(m.base, m.len);
    }
    free(file);
    pcache_builder_free(b);
}

/* The rel32 call cannot reach an anchor 8 GiB away: nothing is patched,
 * and nothing runs. */
static void test_anchor_out_of_reach(void **state)
{
    pcache_builder *b = build();
    uint64_t size;
    uint8_t *file = write_and_read(b, &size);
    mapping m;
    pcache_image img;
    pcache_report rep;
    anchors a;
    uint8_t *before;
    (void)state;

    map_image(&m, file, size);
    before = malloc(size);
    memcpy(before, m.base, size);
    a.table = (uint64_t)(uintptr_t)table_now;
    a.fn = addr_of_fn(fn_now);
    a.thunk = (uint64_t)(uintptr_t)m.thunk + (8ull << 30);
    assert_int_equal(load(&m, size, &a, &img, &rep), PCACHE_E_RELOC_RANGE);
    test_assert_report(&rep, PCACHE_E_RELOC_RANGE);
    assert_string_equal(rep.section, "code");
    /* rw (resurrected first) has no records; rx failed as a whole */
    assert_memory_equal(m.base, before, size);
    munmap(m.base, m.len);
    free(before);
    free(file);
    pcache_builder_free(b);
}

#else

static void test_call_relocated_function(void **state)
{
    (void)state;
    skip();
}

static void test_anchor_out_of_reach(void **state)
{
    (void)state;
    skip();
}

#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_relocated_function),
        cmocka_unit_test(test_anchor_out_of_reach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
