/* SPDX-License-Identifier: BSD-2-Clause */
/* The DynamoRIO .dpc parser against three files DR 11.91 really wrote
 * (tests/data/README.md says what each holds), and against damaged and
 * synthetic variants of them. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <md5.h>

#include "hostile_dpc.h"
#include "pcache/dpc.h"
#include "pcache/pcache.h"

#ifndef PCACHE_TEST_DATA_DIR
#error "PCACHE_TEST_DATA_DIR must name tests/data"
#endif

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Every byte the library hashes goes through pcache_checksum(), which the
 * link wraps (tests/meson.build: -Wl,--wrap=pcache_checksum): the work a
 * scan does, counted rather than timed. */
static uint64_t bytes_hashed;

uint64_t __real_pcache_checksum(pcache_checksum_algorithm algo, const void *data, size_t size);
uint64_t __wrap_pcache_checksum(pcache_checksum_algorithm algo, const void *data, size_t size);

uint64_t __wrap_pcache_checksum(pcache_checksum_algorithm algo, const void *data, size_t size)
{
    bytes_hashed += size;
    return __real_pcache_checksum(algo, data, size);
}

typedef struct blob {
    uint8_t *data;
    size_t size;
} blob;

static blob load(const char *name)
{
    char path[512];
    blob b = {NULL, 0};
    FILE *f;
    long n;

    snprintf(path, sizeof path, "%s/%s", PCACHE_TEST_DATA_DIR, name);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    b.size = (size_t)n;
    b.data = malloc(b.size);
    assert_non_null(b.data);
    assert_int_equal(fread(b.data, 1, b.size, f), b.size);
    fclose(f);
    return b;
}

static blob copy_prefix(const blob *b, size_t n)
{
    blob c;
    c.size = n;
    c.data = malloc(n ? n : 1); /* exact size: ASan and valgrind see any overread */
    assert_non_null(c.data);
    memcpy(c.data, b->data, n);
    return c;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void md5(const uint8_t *p, size_t n, uint8_t out[16])
{
    MD5_CTX c;
    MD5Init(&c);
    MD5Update(&c, p, n);
    MD5Final(out, &c);
}

/* Rewrites both footer digests the way DR computes them, so that a test
 * that edits the header sees only the problem it made. */
static void refresh_digests(blob *b)
{
    uint64_t header_len = get64(b->data + 8);
    assert_true(b->size >= 36 && header_len <= b->size - 36);
    md5(b->data, b->size - 36, b->data + b->size - 36);
    md5(b->data, (size_t)header_len, b->data + b->size - 20);
}

/* Header field offsets, from DR's core/perscache.h (independent of the
 * parser's own table). */
enum {
    H_VERSION = 4, H_HEADER_LEN = 8, H_DATA_LEN = 16, H_FLAGS = 24,
    H_RW = 128, H_STUBS = 136, H_CACHE = 184, H_POST_PAD = 192, H_PAD = 200, H_RX = 208,
    H_VIEW_PAD = 216, H_RO = 264, H_OPT = 272,
};

static const char *const files[] = {"hello-none.dpc", "hello-ro.dpc", "hello-rorx.dpc"};
static const char *const clients[] = {NULL, "/opt/pcache-sample/libsample_ro.so",
                                      "/opt/pcache-sample/libsample_rorx.so"};

/* ------------------------------------------------------------------ */
/* The real files                                                      */
/* ------------------------------------------------------------------ */

static void check_ro_payload(const uint8_t *p)
{
    assert_memory_equal(p, "PCACHE-SAMPLE-RO", 16);
    for (int i = 16; i < 64; i++)
        assert_int_equal(p[i], i);
}

static void check_rx_payload(const uint8_t *p)
{
    for (int i = 0; i < 4096; i++)
        assert_int_equal(p[i], 0xC3 ^ (i & 0xff));
}

static void test_real_files_parse(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        blob b = load(files[k]);
        pcache_dpc d;
        pcache_report rep;
        uint8_t want[16];
        uint64_t end = 0;

        assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, &rep), PCACHE_OK);
        assert_int_equal(rep.status, PCACHE_OK);
        assert_true(d.have_header && d.have_digests && d.have_layout);

        /* README: magic, version 10, header_len 280, header + data = size */
        assert_int_equal(d.header.magic, 0x244f4952);
        assert_int_equal(d.header.version, 10);
        assert_int_equal(d.header.header_len, 280);
        assert_int_equal(d.header.header_len + d.header.data_len, b.size);
        /* x86-64 DR with the default -persist_map_rw_separate */
        assert_true(d.header.flags & PCACHE_DPC_FLAG_X86_64);
        assert_true(d.header.flags & PCACHE_DPC_FLAG_MAP_RW_SEPARATE);
        /* a non-PIE x86-64 program is linked at 0x400000 */
        assert_int_equal(d.header.module.base, 0x400000);
        assert_true(d.header.start_offs < d.header.end_offs);
        assert_true(d.header.end_offs <= d.header.module.image_size);

        /* the regions tile the file, header first and footer last */
        for (int r = 0; r < PCACHE_DPC_REGION_COUNT; r++) {
            assert_int_equal(d.region[r].offset, end);
            end += d.region[r].size;
        }
        assert_int_equal(end, b.size);
        assert_int_equal(d.region[PCACHE_DPC_R_FOOTER].size, 36);
        assert_int_equal(d.region[PCACHE_DPC_R_OPTION_STRING].offset, 280);
        assert_int_equal(d.region[PCACHE_DPC_R_CLIENT_RX].offset % 4096, 0);

        /* the option string: bounded, NUL right after it, DR's -persist in it */
        assert_true(d.option_string.len > 0);
        assert_true(d.option_string.len < d.region[PCACHE_DPC_R_OPTION_STRING].size);
        assert_int_equal(d.option_string.ptr[d.option_string.len], '\0');
        assert_ptr_equal(d.option_string.ptr, (const char *)b.data + 280);
        assert_non_null(memmem(d.option_string.ptr, d.option_string.len, "-persist ", 9));

        /* the client list and the ro slot */
        if (clients[k]) {
            size_t n = strlen(clients[k]);
            assert_int_equal(d.client_lib_count, 1);
            assert_int_equal(d.client_lib[0].len, n);
            assert_memory_equal(d.client_lib[0].ptr, clients[k], n);
            assert_int_equal(d.client_list_len, n + 2);
            /* "path\0\0" opens the slot, in the file */
            assert_memory_equal(b.data + d.region[PCACHE_DPC_R_CLIENT_RO].offset, clients[k], n + 1);
            assert_int_equal(b.data[d.region[PCACHE_DPC_R_CLIENT_RO].offset + n + 1], 0);
            /* 64 bytes of payload; DR rounds list + payload up to 8 */
            assert_int_equal(d.region[PCACHE_DPC_R_CLIENT_RO].size, (n + 2 + 64 + 7) & ~(size_t)7);
            assert_int_equal(d.client_data[PCACHE_RO].offset,
                             d.region[PCACHE_DPC_R_CLIENT_RO].offset + n + 2);
            assert_true(d.client_data[PCACHE_RO].size >= 64 && d.client_data[PCACHE_RO].size < 64 + 8);
            check_ro_payload(b.data + d.client_data[PCACHE_RO].offset);
        } else {
            /* no client: the slot is DR's lone NUL, rounded to 8 */
            assert_int_equal(d.client_lib_count, 0);
            assert_int_equal(d.client_list_len, 1);
            assert_int_equal(d.region[PCACHE_DPC_R_CLIENT_RO].size, 8);
            assert_int_equal(d.client_data[PCACHE_RO].size, 7);
        }
        if (k == 2) {
            assert_int_equal(d.client_data[PCACHE_RX].size, 4096);
            assert_int_equal(d.header.instrument_rx_len, 4096);
            check_rx_payload(b.data + d.client_data[PCACHE_RX].offset);
        } else {
            assert_int_equal(d.client_data[PCACHE_RX].size, 0);
        }
        assert_int_equal(d.client_data[PCACHE_RW].size, 0);
        assert_int_equal(d.header.instrument_rw_len, 0);

        /* both digests, recomputed here independently of the parser */
        assert_true(d.file_md5_matches && d.header_md5_matches);
        md5(b.data, b.size - 36, want);
        assert_memory_equal(want, b.data + b.size - 36, 16);
        assert_memory_equal(want, d.stored_file_md5, 16);
        assert_memory_equal(want, d.computed_file_md5, 16);
        md5(b.data, 280, want);
        assert_memory_equal(want, b.data + b.size - 20, 16);
        assert_memory_equal(want, d.stored_header_md5, 16);
        assert_memory_equal(want, d.computed_header_md5, 16);
        assert_int_equal(d.footer_magic, 0x244f4952);
        free(b.data);
    }
}

/* The files hold no segment of this project: the finder must say none,
 * although the rx payload is 4 KiB of arbitrary bytes. */
static void test_real_files_have_no_segment(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        blob b = load(files[k]);
        pcache_dpc d;
        size_t count = 99;
        assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, NULL), PCACHE_OK);
        assert_int_equal(pcache_dpc_find_segments(&d, NULL, 0, &count, NULL), PCACHE_OK);
        assert_int_equal(count, 0);
        free(b.data);
    }
}

/* ------------------------------------------------------------------ */
/* Damage                                                              */
/* ------------------------------------------------------------------ */

static void test_every_truncation_refused(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        blob b = load(files[k]);
        for (size_t n = 0; n < b.size; n++) {
            blob t = copy_prefix(&b, n);
            pcache_dpc d;
            pcache_report rep;
            pcache_status st = pcache_dpc_parse(&d, t.data, t.size, &rep);
            if (st != PCACHE_E_TRUNCATED)
                fail_msg("%s cut to %zu bytes: %s (%s)", files[k], n, pcache_status_name(st), rep.message);
            assert_true(rep.has_values);
            assert_true(rep.expected > rep.found);
            assert_int_equal(rep.found, n);
            assert_false(d.have_layout);
            free(t.data);
        }
        free(b.data);
    }
}

/* Every byte of the header, changed: never accepted.  A change to a field
 * the layout rests on is a layout (or magic/version/truncation) error; any
 * other change is caught by the header digest. */
static void test_header_byte_corruption(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        blob b = load(files[k]);
        for (size_t i = 0; i < 280; i++) {
            pcache_dpc d;
            pcache_report rep;
            pcache_status st;
            b.data[i] ^= 0x01;
            st = pcache_dpc_parse(&d, b.data, b.size, &rep);
            switch (st) {
            case PCACHE_E_DPC_MAGIC: assert_true(i < 4); break;
            case PCACHE_E_DPC_VERSION: assert_true((i >= 4 && i < 8) || (i >= 24 && i < 28)); break;
            case PCACHE_E_TRUNCATED:
            case PCACHE_E_DPC_LAYOUT: assert_true(i >= 8); break;
            case PCACHE_E_DPC_DIGEST:
                assert_true(d.have_layout);
                assert_false(d.header_md5_matches);
                assert_false(d.file_md5_matches);
                break;
            default: fail_msg("%s byte %zu: unexpected %s (%s)", files[k], i, pcache_status_name(st), rep.message);
            }
            assert_true(rep.message[0] != '\0');
            b.data[i] ^= 0x01;
        }
        assert_int_equal(pcache_dpc_parse(&(pcache_dpc){0}, b.data, b.size, NULL), PCACHE_OK);
        free(b.data);
    }
}

/* A byte of client data changed: only the whole-file digest can see it.
 * DR's default load validation (-persist_load_validation 0x5) checks only
 * the header digest, so DR itself would load such a file and hand the
 * damaged bytes to the client; this parser reports the mismatch. */
static void test_client_slot_corruption(void **state)
{
    (void)state;
    for (int k = 1; k < 3; k++) {
        blob b = load(files[k]);
        pcache_dpc d;
        assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, NULL), PCACHE_OK);
        for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
            pcache_dpc_span s = d.client_data[c];
            for (uint64_t j = 0; j < s.size; j += (c == PCACHE_RX ? 61 : 1)) {
                pcache_dpc e;
                pcache_report rep;
                b.data[s.offset + j] ^= 0x80;
                assert_int_equal(pcache_dpc_parse(&e, b.data, b.size, &rep), PCACHE_E_DPC_DIGEST);
                assert_true(e.have_layout);
                assert_true(e.header_md5_matches);
                assert_false(e.file_md5_matches);
                assert_memory_not_equal(e.stored_file_md5, e.computed_file_md5, 16);
                assert_memory_equal(e.stored_header_md5, e.computed_header_md5, 16);
                assert_int_equal(rep.offset, b.size - 36); /* the file digest's place */
                b.data[s.offset + j] ^= 0x80;
            }
        }
        free(b.data);
    }
}

static void test_footer_corruption(void **state)
{
    (void)state;
    blob b = load("hello-ro.dpc");
    pcache_dpc d;
    pcache_report rep;

    b.data[b.size - 36] ^= 1; /* stored file digest */
    assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, &rep), PCACHE_E_DPC_DIGEST);
    assert_false(d.file_md5_matches);
    assert_true(d.header_md5_matches);
    b.data[b.size - 36] ^= 1;

    b.data[b.size - 20] ^= 1; /* stored header digest */
    assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, &rep), PCACHE_E_DPC_DIGEST);
    assert_false(d.header_md5_matches);
    assert_true(d.file_md5_matches);
    b.data[b.size - 20] ^= 1;

    b.data[b.size - 1] ^= 1; /* footer magic: an incomplete write */
    assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, &rep), PCACHE_E_DPC_MAGIC);
    assert_int_equal(rep.offset, b.size - 4);
    assert_false(d.have_digests);
    free(b.data);
}

static void test_version_refused(void **state)
{
    static const uint32_t versions[] = {0, 1, 9, 11, 0xffffffffu};
    (void)state;
    blob b = load("hello-rorx.dpc");
    pcache_dpc d;
    pcache_report rep;

    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        put32(b.data + H_VERSION, versions[i]);
        refresh_digests(&b); /* a self-consistent file of another version */
        assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, &rep), PCACHE_E_DPC_VERSION);
        assert_int_equal(rep.offset, H_VERSION);
        assert_int_equal(rep.expected, 10);
        assert_int_equal(rep.found, versions[i]);
        assert_false(d.have_header);
        /* the version is judged before anything that depends on it */
        assert_int_equal(pcache_dpc_parse(&d, b.data, 8, &rep), PCACHE_E_DPC_VERSION);
    }
    put32(b.data + H_VERSION, 10);
    refresh_digests(&b);
    assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, NULL), PCACHE_OK);

    /* a 32-bit DR's layout: X86_64 clear */
    put32(b.data + H_FLAGS, get32(b.data + H_FLAGS) & ~PCACHE_DPC_FLAG_X86_64);
    refresh_digests(&b);
    assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, &rep), PCACHE_E_DPC_VERSION);
    assert_int_equal(rep.offset, H_FLAGS);
    free(b.data);
}

static void test_magic_refused(void **state)
{
    (void)state;
    blob b = load("hello-none.dpc");
    pcache_report rep;
    memcpy(b.data, "RIO#", 4);
    assert_int_equal(pcache_dpc_parse(&(pcache_dpc){0}, b.data, b.size, &rep), PCACHE_E_DPC_MAGIC);
    assert_int_equal(rep.offset, 0);
    assert_int_equal(rep.expected, 0x244f4952);
    /* a standalone pcache file is not a .dpc */
    assert_int_equal(pcache_dpc_parse(&(pcache_dpc){0}, "\x89PCFILE\n", 8, &rep), PCACHE_E_DPC_MAGIC);
    free(b.data);
}

/* One header edit that leaves the digests right and the layout wrong. */
typedef struct layout_case {
    const char *what;
    int field;               /* header offset to change */
    uint64_t value;          /* its new value */
    int field2;              /* a second field to change, or -1 */
    int64_t delta2;          /* added to it */
    pcache_status want;
    uint64_t want_offset;    /* report offset (the field named) */
} layout_case;

static void test_layout_inconsistencies(void **state)
{
    (void)state;
    blob orig = load("hello-ro.dpc");
    const uint64_t stubs = get64(orig.data + H_STUBS), ro = get64(orig.data + H_RO);
    const uint64_t cache = get64(orig.data + H_CACHE), pad = get64(orig.data + H_PAD);
    const layout_case cases[] = {
        {"header_len below the struct", H_HEADER_LEN, 279, -1, 0, PCACHE_E_DPC_LAYOUT, H_HEADER_LEN},
        {"header_len above the struct", H_HEADER_LEN, 288, -1, 0, PCACHE_E_DPC_LAYOUT, H_HEADER_LEN},
        {"data_len past the end", H_DATA_LEN, orig.size, -1, 0, PCACHE_E_TRUNCATED, H_DATA_LEN},
        {"data_len short of the end", H_DATA_LEN, orig.size - 280 - 8, -1, 0, PCACHE_E_DPC_LAYOUT, H_DATA_LEN},
        {"data_len above 2 GB", H_DATA_LEN, 1ull << 63, -1, 0, PCACHE_E_DPC_LAYOUT, H_DATA_LEN},
        {"data_len below the footer", H_DATA_LEN, 35, -1, 0, PCACHE_E_DPC_LAYOUT, H_DATA_LEN},
        {"stubs_len that would wrap", H_STUBS, UINT64_MAX - 64, -1, 0, PCACHE_E_DPC_LAYOUT, H_STUBS},
        {"stubs_len one byte longer", H_STUBS, stubs + 1, -1, 0, PCACHE_E_DPC_LAYOUT, H_STUBS},
        {"stubs_len one byte shorter (a gap)", H_STUBS, stubs - 1, -1, 0, PCACHE_E_DPC_LAYOUT, H_DATA_LEN},
        {"ro slot not rounded", H_RO, ro + 1, H_PAD, -1, PCACHE_E_DPC_LAYOUT, H_RO},
        {"ro slot overlapping the tables", H_RO, ro + 8, -1, 0, PCACHE_E_DPC_LAYOUT, H_STUBS},
        {"empty ro slot", H_RO, 0, H_PAD, (int64_t)ro, PCACHE_E_DPC_LAYOUT, H_RO},
        {"rx slot off its page", H_PAD, pad - 8, H_VIEW_PAD, 8, PCACHE_E_DPC_LAYOUT, H_PAD},
        {"pad of a page or more", H_PAD, pad + 4096, H_CACHE, -4096, PCACHE_E_DPC_LAYOUT, H_PAD},
        {"stubs off their view", H_CACHE, cache - 8, H_STUBS, 8, PCACHE_E_DPC_LAYOUT, H_VIEW_PAD},
        {"post-cache pad above the cache", H_POST_PAD, cache + 1, -1, 0, PCACHE_E_DPC_LAYOUT, H_POST_PAD},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const layout_case *c = &cases[i];
        blob b = copy_prefix(&orig, orig.size);
        pcache_dpc d;
        pcache_report rep;
        pcache_status st;

        put64(b.data + c->field, c->value);
        if (c->field2 >= 0)
            put64(b.data + c->field2, get64(b.data + c->field2) + (uint64_t)c->delta2);
        if (c->field != H_HEADER_LEN)
            refresh_digests(&b);
        st = pcache_dpc_parse(&d, b.data, b.size, &rep);
        if (st != c->want || rep.offset != c->want_offset)
            fail_msg("%s: got %s at %llu (%s)", c->what, pcache_status_name(st),
                     (unsigned long long)rep.offset, rep.message);
        assert_true(rep.message[0] != '\0');
        assert_false(d.have_layout);
        free(b.data);
    }

    /* a byte past header_len + data_len */
    {
        blob b = {malloc(orig.size + 1), orig.size + 1};
        pcache_report rep;
        assert_non_null(b.data);
        memcpy(b.data, orig.data, orig.size);
        b.data[orig.size] = 0;
        assert_int_equal(pcache_dpc_parse(&(pcache_dpc){0}, b.data, b.size, &rep), PCACHE_E_DPC_LAYOUT);
        assert_int_equal(rep.expected, orig.size);
        assert_int_equal(rep.found, orig.size + 1);
        free(b.data);
    }
    free(orig.data);
}

static void test_strings_bounded(void **state)
{
    (void)state;
    blob orig = load("hello-ro.dpc");
    pcache_dpc d;
    pcache_report rep;
    uint64_t opt = get64(orig.data + H_OPT), ro = get64(orig.data + H_RO);
    uint64_t ro_off = 280 + opt;

    /* option string with no NUL inside option_string_len */
    {
        blob b = copy_prefix(&orig, orig.size);
        memset(b.data + 280, 'x', (size_t)opt);
        refresh_digests(&b);
        assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, &rep), PCACHE_E_DPC_LAYOUT);
        assert_int_equal(rep.offset, 280);
        free(b.data);
    }
    /* client list with no end inside the ro slot */
    {
        blob b = copy_prefix(&orig, orig.size);
        memset(b.data + ro_off, 'A', (size_t)ro);
        refresh_digests(&b);
        assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, &rep), PCACHE_E_DPC_LAYOUT);
        assert_int_equal(rep.offset, ro_off);
        free(b.data);
    }
    /* paths fill the slot exactly: the final NUL is missing */
    {
        blob b = copy_prefix(&orig, orig.size);
        memset(b.data + ro_off, 'A', (size_t)ro);
        b.data[ro_off + ro - 1] = 0;
        refresh_digests(&b);
        assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, &rep), PCACHE_E_DPC_LAYOUT);
        assert_int_equal(rep.offset, ro_off + ro);
        free(b.data);
    }
    /* 16 libraries are accepted, 17 are not */
    for (int n = 16; n <= 17; n++) {
        blob b = copy_prefix(&orig, orig.size);
        for (int i = 0; i < n; i++) {
            b.data[ro_off + 2 * i] = (uint8_t)('a' + i);
            b.data[ro_off + 2 * i + 1] = 0;
        }
        b.data[ro_off + 2 * n] = 0;
        refresh_digests(&b);
        if (n == 16) {
            assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, &rep), PCACHE_OK);
            assert_int_equal(d.client_lib_count, 16);
            assert_int_equal(d.client_lib[15].len, 1);
            assert_int_equal(d.client_lib[15].ptr[0], 'a' + 15);
            assert_int_equal(d.client_data[PCACHE_RO].offset, ro_off + 33);
        } else {
            assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, &rep), PCACHE_E_DPC_LAYOUT);
            assert_int_equal(rep.offset, ro_off + 32);
        }
        free(b.data);
    }
    free(orig.data);
}

/* Many random multi-byte corruptions: never a crash or an overread (the
 * sanitizers and valgrind watch), and OK only with matching digests. */
static void test_random_corruption(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int k = 0; k < 3; k++) {
        blob orig = load(files[k]);
        for (int it = 0; it < 300; it++) {
            blob b = copy_prefix(&orig, orig.size);
            pcache_dpc d;
            int n = 1 + (int)(x % 4);
            for (int j = 0; j < n; j++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                /* header bytes most of the time: that is where the lengths are */
                size_t at = (x >> 32) % 4 ? (size_t)((x >> 8) % 280) : (size_t)((x >> 8) % b.size);
                b.data[at] = (uint8_t)x;
            }
            if ((x & 1) && get64(b.data + H_HEADER_LEN) <= b.size - 36)
                refresh_digests(&b);
            if (pcache_dpc_parse(&d, b.data, b.size, NULL) == PCACHE_OK) {
                size_t count;
                assert_true(d.file_md5_matches && d.header_md5_matches);
                assert_int_equal(pcache_dpc_find_segments(&d, NULL, 0, &count, NULL), PCACHE_OK);
            }
            free(b.data);
        }
        free(orig.data);
    }
}

/* ------------------------------------------------------------------ */
/* This project's segments inside a .dpc                               */
/* ------------------------------------------------------------------ */

static const uint8_t seg_payload[40] = "segment payload in a DR client ro slot!";

/* Persists one class of a one-section image laid out at file_offs. */
static uint8_t *make_segment(pcache_class cls, const char *name, uint64_t file_offs, uint64_t *size)
{
    pcache_identity id;
    pcache_builder *bld;
    pcache_buffer_sink bs;
    pcache_sink sink;
    uint8_t *buf;

    assert_int_equal(pcache_identity_init(&id, "dpc-test", 3), PCACHE_OK);
    assert_int_equal(pcache_builder_new(&bld, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(bld, cls, name, seg_payload, sizeof seg_payload, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_size(bld, cls, file_offs, size), PCACHE_OK);
    buf = malloc((size_t)*size);
    assert_non_null(buf);
    sink = pcache_sink_buffer(&bs, buf, (size_t)*size);
    assert_int_equal(pcache_builder_persist(bld, cls, &sink), PCACHE_OK);
    assert_int_equal(bs.used, *size);
    pcache_builder_free(bld);
    return buf;
}

/* Builds from hello-ro.dpc a file whose ro slot holds, after DR's client
 * list and the sample's 64 bytes, the given segments end to end: the slot
 * grows, pad_len shrinks so that the rx slot stays on its page, and both
 * digests are recomputed, as DR would have written it. */
static blob insert_into_ro_slot(const blob *orig, int nseg, const pcache_class *cls, uint64_t *seg_offs,
                                int corrupt)
{
    pcache_dpc d;
    blob b;
    uint64_t at, old_ro, new_ro, grow, pad, used = 0;
    uint8_t *segs[4];
    uint64_t sizes[4];

    assert_int_equal(pcache_dpc_parse(&d, orig->data, orig->size, NULL), PCACHE_OK);
    at = d.client_data[PCACHE_RO].offset + 64; /* after the sample payload */
    for (int i = 0; i < nseg; i++) {
        seg_offs[i] = at + used;
        segs[i] = make_segment(cls[i], i ? "second" : "first", seg_offs[i], &sizes[i]);
        used += sizes[i];
    }
    old_ro = d.header.instrument_ro_len;
    new_ro = (d.client_list_len + 64 + used + 7) & ~(uint64_t)7;
    grow = new_ro - old_ro;
    pad = d.header.pad_len;
    assert_true(grow <= pad); /* small segments: the rx page need not move */

    b.size = orig->size; /* slot grows by what the pad loses */
    b.data = malloc(b.size);
    assert_non_null(b.data);
    /* header .. end of payload */
    memcpy(b.data, orig->data, (size_t)at);
    for (int i = 0; i < nseg; i++) {
        memcpy(b.data + seg_offs[i], segs[i], (size_t)sizes[i]);
        free(segs[i]);
    }
    /* DR pads the slot to 8 with bytes of its own: zeros here */
    memset(b.data + at + used, 0, (size_t)(new_ro - (d.client_list_len + 64 + used)));
    /* tables after the slot, shifted by grow; the pad shrinks by grow */
    {
        uint64_t old_tables = d.region[PCACHE_DPC_R_RELOC].offset;
        uint64_t tables_len = d.region[PCACHE_DPC_R_PAD].offset - old_tables;
        memcpy(b.data + old_tables + grow, orig->data + old_tables, (size_t)tables_len);
        memset(b.data + old_tables + grow + tables_len, 0, (size_t)(pad - grow));
        /* rx onwards unchanged */
        memcpy(b.data + d.region[PCACHE_DPC_R_CLIENT_RX].offset, orig->data + d.region[PCACHE_DPC_R_CLIENT_RX].offset,
               (size_t)(orig->size - d.region[PCACHE_DPC_R_CLIENT_RX].offset));
    }
    put64(b.data + H_RO, new_ro);
    put64(b.data + H_PAD, pad - grow);
    if (corrupt)
        b.data[seg_offs[0] + sizes[0] - 30] ^= 0x40; /* inside the first segment's trailer area */
    refresh_digests(&b);
    return b;
}

static void test_segment_found_in_ro_slot(void **state)
{
    (void)state;
    blob orig = load("hello-ro.dpc");
    const pcache_class cls[1] = {PCACHE_RO};
    uint64_t offs[1];
    blob b = insert_into_ro_slot(&orig, 1, cls, offs, 0);
    pcache_dpc d;
    pcache_report rep;
    pcache_dpc_found found[4];
    size_t count = 0;
    pcache_view v;

    assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, &rep), PCACHE_OK);
    /* DR's own view is unchanged: same client list, same payload */
    assert_int_equal(d.client_lib_count, 1);
    check_ro_payload(b.data + d.client_data[PCACHE_RO].offset);
    assert_int_equal(d.region[PCACHE_DPC_R_CLIENT_RX].offset % 4096, 0);

    assert_int_equal(pcache_dpc_find_segments(&d, found, 4, &count, &rep), PCACHE_OK);
    assert_int_equal(count, 1);
    assert_int_equal(found[0].status, PCACHE_OK);
    assert_int_equal(found[0].slot, PCACHE_RO);
    assert_int_equal(found[0].file_offset, offs[0]);
    assert_true(found[0].at_stated_offset);
    assert_int_equal(found[0].segment.cls, PCACHE_RO);
    assert_ptr_equal(found[0].segment.base, b.data + offs[0]);
    assert_string_equal(found[0].segment.identity.client_name, "dpc-test");
    assert_int_equal(found[0].segment.identity.client_version, 3);
    assert_int_equal(pcache_segment_find(&found[0].segment, "first", &v, &rep), PCACHE_OK);
    assert_int_equal(v.size, sizeof seg_payload);
    assert_memory_equal(v.data, seg_payload, sizeof seg_payload);

    /* capacity 0 still counts */
    count = 0;
    assert_int_equal(pcache_dpc_find_segments(&d, NULL, 0, &count, NULL), PCACHE_OK);
    assert_int_equal(count, 1);
    free(b.data);
    free(orig.data);
}

/* Two segments end to end in one slot, the second of another class (the
 * adapter may carry rw data in DR's ro slot). */
static void test_two_segments_in_one_slot(void **state)
{
    (void)state;
    blob orig = load("hello-ro.dpc");
    const pcache_class cls[2] = {PCACHE_RO, PCACHE_RW};
    uint64_t offs[2];
    blob b = insert_into_ro_slot(&orig, 2, cls, offs, 0);
    pcache_dpc d;
    pcache_dpc_found found[1];
    size_t count = 0;

    assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, NULL), PCACHE_OK);
    /* capacity 1: the first is filled in, both are counted */
    assert_int_equal(pcache_dpc_find_segments(&d, found, 1, &count, NULL), PCACHE_OK);
    assert_int_equal(count, 2);
    assert_int_equal(found[0].file_offset, offs[0]);
    {
        pcache_dpc_found all[2];
        assert_int_equal(pcache_dpc_find_segments(&d, all, 2, &count, NULL), PCACHE_OK);
        assert_int_equal(count, 2);
        assert_int_equal(all[0].status, PCACHE_OK);
        assert_int_equal(all[1].status, PCACHE_OK);
        assert_int_equal(all[1].file_offset, offs[1]);
        assert_int_equal(all[1].slot, PCACHE_RO);
        assert_int_equal(all[1].segment.cls, PCACHE_RW);
        assert_int_equal(all[1].file_offset, all[0].file_offset + all[0].segment.size);
    }
    free(b.data);
    free(orig.data);
}

/* A damaged segment in a slot whose DR digests are right: DR would load the
 * file; the finder reports the candidate and why it was refused. */
static void test_damaged_segment_reported(void **state)
{
    (void)state;
    blob orig = load("hello-ro.dpc");
    const pcache_class cls[1] = {PCACHE_RO};
    uint64_t offs[1];
    blob b = insert_into_ro_slot(&orig, 1, cls, offs, 1);
    pcache_dpc d;
    pcache_dpc_found found[4];
    size_t count = 0;

    assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, NULL), PCACHE_OK);
    assert_int_equal(pcache_dpc_find_segments(&d, found, 4, &count, NULL), PCACHE_OK);
    assert_int_equal(count, 1);
    assert_int_equal(found[0].file_offset, offs[0]);
    assert_int_not_equal(found[0].status, PCACHE_OK);
    assert_int_equal(found[0].report.status, found[0].status);
    assert_true(found[0].report.message[0] != '\0');
    assert_null(found[0].segment.base);
    free(b.data);
    free(orig.data);
}

/* ------------------------------------------------------------------ */
/* Hostile client slots (issue 18, item 3)                             */
/* ------------------------------------------------------------------ */

#define MIB (1024u * 1024u)

/* Scans a hostile slot of fill bytes followed by tail; returns the
 * candidates (malloc'd, *count of them) and the bytes hashed by the scan. */
static pcache_dpc_found *scan_hostile(hostile_kind kind, uint64_t fill, const uint8_t *tail, uint64_t tail_size,
                                      size_t *count, uint64_t *hashed)
{
    size_t size, again = 0;
    uint8_t *f = hostile_dpc(kind, fill, tail, tail_size, &size);
    pcache_dpc d;
    pcache_report rep;
    pcache_dpc_found *found;

    assert_non_null(f);
    if (pcache_dpc_parse(&d, f, size, &rep) != PCACHE_OK)
        fail_msg("%s: %s", hostile_kind_name(kind), rep.message);
    assert_int_equal(d.client_data[PCACHE_RO].offset, HOSTILE_SLOT_OFFSET);
    bytes_hashed = 0;
    assert_int_equal(pcache_dpc_find_segments(&d, NULL, 0, count, &rep), PCACHE_OK);
    *hashed = bytes_hashed;
    found = calloc(*count ? *count : 1, sizeof *found);
    assert_non_null(found);
    assert_int_equal(pcache_dpc_find_segments(&d, found, *count, &again, &rep), PCACHE_OK);
    assert_int_equal(again, *count);
    /* the pointers into f are not used after this */
    for (size_t i = 0; i < *count; i++)
        memset(&found[i].segment, 0, sizeof found[i].segment);
    free(f);
    return found;
}

/* The work of a scan is linear in the slot's size for the crafted slots
 * of tests/tools/hostile_dpc.h, counted in bytes hashed: at most 31 per
 * slot byte for candidates' headers (one every 8 bytes at most) and each
 * other byte about once (include/pcache/dpc.h).  Before the scan skipped
 * the extent of a refused candidate with an intact header, overlapping
 * candidates cost (slot size)^2 / 640 bytes: 1.7 GB for 1 MiB. */
static void test_hostile_scan_is_linear(void **state)
{
    static const struct {
        hostile_kind kind;
        uint64_t fill;
    } cases[] = {
        {HOSTILE_OVERLAP, 1 * MIB}, {HOSTILE_OVERLAP, 4 * MIB}, {HOSTILE_OVERLAP, 16 * MIB},
        {HOSTILE_OVERLAP, 64 * MIB}, {HOSTILE_MAGIC, 1 * MIB}, {HOSTILE_HEADERS, 1 * MIB},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t count;
        uint64_t hashed, slot = cases[i].fill; /* DR's client list is 32 bytes: no padding after */
        pcache_dpc_found *found = scan_hostile(cases[i].kind, cases[i].fill, NULL, 0, &count, &hashed);

        print_message("%-28s %3llu MiB: %8zu candidates, %6.2f bytes hashed per slot byte\n",
                      hostile_kind_name(cases[i].kind), (unsigned long long)(cases[i].fill / MIB), count,
                      (double)hashed / (double)slot);
        if (hashed > 32 * slot)
            fail_msg("%s, %llu bytes: the scan hashed %llu bytes, more than 32 per slot byte",
                     hostile_kind_name(cases[i].kind), (unsigned long long)slot, (unsigned long long)hashed);
        switch (cases[i].kind) {
        case HOSTILE_OVERLAP:
            /* the first candidate's intact header claims the whole slot */
            assert_int_equal(count, 1);
            assert_int_equal(found[0].status, PCACHE_E_SECTION_CHECKSUM);
            assert_int_equal(found[0].file_offset, HOSTILE_SLOT_OFFSET);
            assert_true(hashed >= slot - 320 && hashed <= slot + 1024);
            break;
        case HOSTILE_MAGIC:
            assert_int_equal(count, cases[i].fill / 8);
            assert_int_equal(found[0].status, PCACHE_E_FORMAT_VERSION);
            break;
        default:
            assert_int_equal(count, (cases[i].fill + 23) / 24);
            assert_int_equal(found[0].status, PCACHE_E_HEADER_CHECKSUM);
            break;
        }
        free(found);
    }
}

/* A valid segment after hostile bytes is found, valid, where it is. */
static void test_segment_after_hostile_bytes(void **state)
{
    (void)state;
    for (int k = 0; k < HOSTILE_KIND_COUNT; k++) {
        const uint64_t fill = 64 * 1024;
        uint64_t seg_size, hashed;
        uint8_t *seg = make_segment(PCACHE_RO, "first", HOSTILE_SLOT_OFFSET + fill, &seg_size);
        size_t count;
        pcache_dpc_found *found = scan_hostile((hostile_kind)k, fill, seg, seg_size, &count, &hashed);

        assert_true(count >= 2);
        for (size_t i = 0; i + 1 < count; i++)
            assert_int_not_equal(found[i].status, PCACHE_OK);
        assert_int_equal(found[count - 1].status, PCACHE_OK);
        assert_int_equal(found[count - 1].file_offset, HOSTILE_SLOT_OFFSET + fill);
        assert_true(found[count - 1].at_stated_offset);
        free(found);
        free(seg);
    }
}

/* The extent an intact header states is that segment's, valid or not: a
 * segment whose section holds another segment's bytes hides them once a
 * section byte is damaged, as it does when it is valid; with its header
 * damaged, the scan looks inside it. */
static void test_refused_segment_claims_its_extent(void **state)
{
    (void)state;
    const uint64_t at = HOSTILE_SLOT_OFFSET;
    uint64_t inner_size, outer_size;
    /* the inner segment is laid out for where it will lie: after the
     * outer one's header and one entry, its section aligned to 1 */
    uint8_t *inner = make_segment(PCACHE_RO, "inner", at + 256 + 64, &inner_size);
    pcache_identity id;
    pcache_builder *bld;
    pcache_buffer_sink bs;
    pcache_sink sink;
    uint8_t *outer;

    assert_int_equal(pcache_identity_init(&id, "dpc-test", 3), PCACHE_OK);
    assert_int_equal(pcache_builder_new(&bld, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(bld, PCACHE_RO, "outer", inner, inner_size, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_size(bld, PCACHE_RO, at, &outer_size), PCACHE_OK);
    outer = malloc((size_t)outer_size);
    assert_non_null(outer);
    sink = pcache_sink_buffer(&bs, outer, (size_t)outer_size);
    assert_int_equal(pcache_builder_persist(bld, PCACHE_RO, &sink), PCACHE_OK);
    pcache_builder_free(bld);
    assert_memory_equal(outer + 256 + 64, inner, inner_size);

    for (int damage = 0; damage < 3; damage++) {
        size_t count;
        uint64_t hashed;
        pcache_dpc_found *found;
        uint8_t *copy = malloc((size_t)outer_size);

        assert_non_null(copy);
        memcpy(copy, outer, (size_t)outer_size);
        if (damage == 1)
            copy[outer_size - 16] ^= 0x01; /* the outer section's stored checksum, in the trailer */
        if (damage == 2)
            copy[72] ^= 0x01; /* the outer header's client_version: its checksum fails */
        found = scan_hostile(HOSTILE_MAGIC, 0, copy, outer_size, &count, &hashed);
        switch (damage) {
        case 0: /* valid: skipped as a whole */
            assert_int_equal(count, 1);
            assert_int_equal(found[0].status, PCACHE_OK);
            break;
        case 1: /* intact header: its extent is its own */
            assert_int_equal(count, 1);
            assert_int_equal(found[0].status, PCACHE_E_SECTION_CHECKSUM);
            break;
        default: /* header damaged: nothing is claimed, the inner one is found */
            assert_int_equal(count, 2);
            assert_int_equal(found[0].status, PCACHE_E_HEADER_CHECKSUM);
            assert_int_equal(found[1].status, PCACHE_OK);
            assert_int_equal(found[1].file_offset, at + 256 + 64);
            assert_true(found[1].at_stated_offset);
            break;
        }
        assert_int_equal(found[0].file_offset, at);
        free(found);
        free(copy);
    }
    free(outer);
    free(inner);
}

/* pcache_dpc_next_segment() gives what pcache_dpc_find_segments() does,
 * one at a time, then PCACHE_E_NOT_FOUND; a scan it did not start is
 * refused. */
static void test_next_segment(void **state)
{
    (void)state;
    blob orig = load("hello-ro.dpc");
    const pcache_class cls[2] = {PCACHE_RO, PCACHE_RW};
    uint64_t offs[2];
    blob b = insert_into_ro_slot(&orig, 2, cls, offs, 1);
    pcache_dpc d;
    pcache_dpc_found all[4], one;
    pcache_dpc_scan scan;
    pcache_report rep;
    size_t count = 0, n = 0;

    assert_int_equal(pcache_dpc_parse(&d, b.data, b.size, NULL), PCACHE_OK);
    assert_int_equal(pcache_dpc_find_segments(&d, all, 4, &count, NULL), PCACHE_OK);
    assert_int_equal(count, 2);
    assert_int_not_equal(all[0].status, PCACHE_OK); /* damaged: its extent skipped */
    assert_int_equal(all[1].status, PCACHE_OK);
    pcache_dpc_scan_init(&scan);
    while (pcache_dpc_next_segment(&d, &scan, &one, &rep) == PCACHE_OK) {
        assert_true(n < count);
        assert_int_equal(one.file_offset, all[n].file_offset);
        assert_int_equal(one.status, all[n].status);
        assert_int_equal(one.slot, all[n].slot);
        n++;
    }
    assert_int_equal(n, count);
    assert_int_equal(rep.status, PCACHE_E_NOT_FOUND);
    assert_string_not_equal(all[0].report.message, "");
    assert_int_equal(scan.slot, PCACHE_CLASS_COUNT);
    memset(&one, 0xa5, sizeof one);
    assert_int_equal(pcache_dpc_next_segment(&d, &scan, &one, &rep), PCACHE_E_NOT_FOUND); /* stays done */
    assert_int_equal(one.file_offset, 0xa5a5a5a5a5a5a5a5ull); /* untouched */

    /* brief: a refused candidate's status, no message */
    pcache_dpc_scan_init(&scan);
    scan.brief = 1;
    assert_int_equal(pcache_dpc_next_segment(&d, &scan, &one, &rep), PCACHE_OK);
    assert_int_equal(one.file_offset, all[0].file_offset);
    assert_int_equal(one.status, all[0].status);
    assert_int_equal(one.report.status, all[0].status);
    assert_string_equal(one.report.message, "");
    assert_int_equal(one.report.cls, PCACHE_REPORT_NO_CLASS);
    assert_int_equal(pcache_dpc_next_segment(&d, &scan, &one, &rep), PCACHE_OK);
    assert_int_equal(one.status, PCACHE_OK);
    assert_non_null(one.segment.base);

    scan.slot = PCACHE_CLASS_COUNT + 1;
    assert_int_equal(pcache_dpc_next_segment(&d, &scan, &one, &rep), PCACHE_E_INVALID_ARGUMENT);
    scan.slot = PCACHE_RO;
    scan.pos = d.client_data[PCACHE_RO].size + 1;
    assert_int_equal(pcache_dpc_next_segment(&d, &scan, &one, &rep), PCACHE_E_INVALID_ARGUMENT);
    pcache_dpc_scan_init(&scan);
    assert_int_equal(pcache_dpc_next_segment(NULL, &scan, &one, &rep), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_dpc_next_segment(&d, NULL, &one, &rep), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_dpc_next_segment(&d, &scan, NULL, &rep), PCACHE_E_INVALID_ARGUMENT);
    free(b.data);
    free(orig.data);
}

static void test_arguments_and_names(void **state)
{
    (void)state;
    pcache_dpc d;
    pcache_report rep;
    size_t count;

    assert_int_equal(pcache_dpc_parse(NULL, "RIO$", 4, &rep), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_dpc_parse(&d, NULL, 4, &rep), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_dpc_parse(&d, "", 0, &rep), PCACHE_E_TRUNCATED);
    /* a parse that stopped early leaves nothing to scan */
    assert_int_equal(pcache_dpc_find_segments(&d, NULL, 0, &count, &rep), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_dpc_find_segments(NULL, NULL, 0, &count, &rep), PCACHE_E_INVALID_ARGUMENT);

    for (int i = 0; i < PCACHE_DPC_REGION_COUNT; i++) {
        assert_string_not_equal(pcache_dpc_region_name((pcache_dpc_region_id)i), "?");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(pcache_dpc_region_name((pcache_dpc_region_id)i),
                                    pcache_dpc_region_name((pcache_dpc_region_id)j));
    }
    assert_string_equal(pcache_dpc_region_name(PCACHE_DPC_REGION_COUNT), "?");
    assert_string_equal(pcache_dpc_flag_name(PCACHE_DPC_FLAG_MAP_RW_SEPARATE), "MAP_RW_SEPARATE");
    assert_null(pcache_dpc_flag_name(0x800));
    assert_null(pcache_dpc_flag_name(PCACHE_DPC_FLAG_X86_64 | PCACHE_DPC_FLAG_X86_32));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_files_parse),
        cmocka_unit_test(test_real_files_have_no_segment),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_header_byte_corruption),
        cmocka_unit_test(test_client_slot_corruption),
        cmocka_unit_test(test_footer_corruption),
        cmocka_unit_test(test_version_refused),
        cmocka_unit_test(test_magic_refused),
        cmocka_unit_test(test_layout_inconsistencies),
        cmocka_unit_test(test_strings_bounded),
        cmocka_unit_test(test_random_corruption),
        cmocka_unit_test(test_segment_found_in_ro_slot),
        cmocka_unit_test(test_two_segments_in_one_slot),
        cmocka_unit_test(test_damaged_segment_reported),
        cmocka_unit_test(test_hostile_scan_is_linear),
        cmocka_unit_test(test_segment_after_hostile_bytes),
        cmocka_unit_test(test_refused_segment_claims_its_extent),
        cmocka_unit_test(test_next_segment),
        cmocka_unit_test(test_arguments_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
