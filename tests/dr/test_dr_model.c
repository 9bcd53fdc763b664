/* SPDX-License-Identifier: BSD-2-Clause */
/* The model of DR's persist protocol (tests/dr/dr_model*.c) checked
 * against the real DR 11.91 files in tests/data and against each behaviour
 * and defect in dr/NOTES.md, with raw clients that write opaque bytes the
 * way the clients that produced the samples did. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dr_model.h"
#include "dr_test_files.h"
#include "pcache/dpc.h"

/* ------------------------------------------------------------------ */
/* raw clients                                                         */

enum { RO, RX, RW };

typedef struct raw_client {
    size_t size[3];
    const uint8_t *payload[3];
    int registered[3];
    int fail_resurrect;
    /* what happened */
    size_t size_offs[3];
    unsigned size_calls[3], persist_calls[3], resurrect_calls[3];
    int ud_tag[3];          /* &ud_tag[c] is what size stores as user_data */
    void *ud_at_persist[3];
    const byte *resurrect_map[3][4]; /* per class list, per call */
    uint8_t first_bytes[3][4][16];
    uint64_t start_at_resurrect;
    unsigned seq_size, seq_resurrect; /* global sequence numbers */
    uint prot_at_resurrect[3];
} raw_client;

static raw_client A, B;
static unsigned seq;

/* What client c's callbacks of class cl will persist: size bytes of payload. */
static void slot(raw_client *c, int cl, size_t size, const uint8_t *payload)
{
    c->size[cl] = size;
    c->payload[cl] = payload;
}

static size_t raw_size(raw_client *c, int cl, size_t file_offs, void **ud)
{
    c->size_offs[cl] = file_offs;
    c->size_calls[cl]++;
    c->seq_size = ++seq;
    *ud = &c->ud_tag[cl];
    return c->size[cl];
}

static bool raw_persist(raw_client *c, int cl, file_t fd, void *ud)
{
    c->persist_calls[cl]++;
    c->ud_at_persist[cl] = ud;
    return c->size[cl] == 0 || dr_write_file(fd, c->payload[cl], c->size[cl]) == (ssize_t)c->size[cl];
}

static bool raw_resurrect(raw_client *c, int cl, void *perscxt, byte **map)
{
    unsigned k = c->resurrect_calls[cl]++;
    byte *base;
    size_t sz;
    if (k < 4) {
        c->resurrect_map[cl][k] = *map;
        memcpy(c->first_bytes[cl][k], *map, c->size[cl] < 16 ? c->size[cl] : 16);
    }
    if (dr_query_memory(*map, &base, &sz, &c->prot_at_resurrect[cl]) == false)
        c->prot_at_resurrect[cl] = 0;
    c->start_at_resurrect = (uint64_t)(uintptr_t)dr_persist_start(perscxt);
    c->seq_resurrect = ++seq;
    *map += c->size[cl];
    return !c->fail_resurrect;
}

#define RAW_FNS(X, cl)                                                                                      \
    static size_t X##_size_##cl(void *dc, void *pc, size_t off, void **ud)                                  \
    {                                                                                                       \
        (void)dc;                                                                                           \
        (void)pc;                                                                                           \
        return raw_size(&X, cl, off, ud);                                                                   \
    }                                                                                                       \
    static bool X##_persist_##cl(void *dc, void *pc, file_t fd, void *ud)                                   \
    {                                                                                                       \
        (void)dc;                                                                                           \
        (void)pc;                                                                                           \
        return raw_persist(&X, cl, fd, ud);                                                                 \
    }                                                                                                       \
    static bool X##_resurrect_##cl(void *dc, void *pc, byte **map)                                          \
    {                                                                                                       \
        (void)dc;                                                                                           \
        return raw_resurrect(&X, cl, pc, map);                                                              \
    }
RAW_FNS(A, RO)
RAW_FNS(A, RX)
RAW_FNS(A, RW)
RAW_FNS(B, RO)
RAW_FNS(B, RX)
RAW_FNS(B, RW)

static void register_raw(raw_client *c, int cl)
{
    bool ok;
    c->registered[cl] = 1;
    if (c == &A)
        ok = cl == RO ? dr_register_persist_ro(A_size_RO, A_persist_RO, A_resurrect_RO)
             : cl == RX ? dr_register_persist_rx(A_size_RX, A_persist_RX, A_resurrect_RX)
                        : dr_register_persist_rw(A_size_RW, A_persist_RW, A_resurrect_RW);
    else
        ok = cl == RO ? dr_register_persist_ro(B_size_RO, B_persist_RO, B_resurrect_RO)
             : cl == RX ? dr_register_persist_rx(B_size_RX, B_persist_RX, B_resurrect_RX)
                        : dr_register_persist_rw(B_size_RW, B_persist_RW, B_resurrect_RW);
    assert_true(ok);
}

/* ------------------------------------------------------------------ */
/* files                                                               */

static uint8_t ro_payload[64], rx_payload[4096], rw_payload[4096];

static void fresh(const dr_model_options *o)
{
    memset(&A, 0, sizeof A);
    memset(&B, 0, sizeof B);
    seq = 0;
    dr_model_reset(o);
}

static dr_model_options opts(int separate)
{
    dr_model_options o;
    dr_model_default_options(&o);
    o.persist_map_rw_separate = separate;
    return o;
}

/* ------------------------------------------------------------------ */
/* against the real files                                              */

typedef struct sample {
    const char *file;
    int ro, rx;
    const char *client;
} sample;

static const sample samples[] = {
    {"hello-none.dpc", 0, 0, NULL},
    {"hello-ro.dpc", 1, 0, "/opt/pcache-sample/libsample_ro.so"},
    {"hello-rorx.dpc", 1, 1, "/opt/pcache-sample/libsample_rorx.so"},
};

static char sample_options[512];

/* DR's side of a sample: its unit, options and client list, from the file. */
static void unit_from(const pcache_dpc *d, dr_model_unit *u, dr_model_options *o)
{
    const pcache_dpc_header *h = &d->header;
    memset(u, 0, sizeof *u);
    u->module_base = h->module.base;
    u->start_offs = h->start_offs;
    u->end_offs = h->end_offs;
    u->module_checksum = h->module.checksum;
    u->module_timestamp = h->module.timestamp;
    u->image_size = h->module.image_size;
    u->code_size = h->module.code_size;
    u->file_version = h->module.file_version;
    memcpy(u->module_short_md5, h->module.short_md5, 16);
    u->flags = h->flags & ~(uint32_t)(PCACHE_DPC_FLAG_X86_64 | PCACHE_DPC_FLAG_MAP_RW_SEPARATE);
    u->tls_offs_base = h->tls_offs_base;
    u->rac_htable_len = h->rac_htable_len;
    u->rct_htable_len = h->rct_htable_len;
    u->cache_htable_len = h->cache_htable_len;
    u->stub_htable_len = h->stub_htable_len;
    u->cache_len = h->cache_len;
    u->post_cache_pad_len = h->post_cache_pad_len;
    u->fcache_return_prefix_len = h->fcache_return_prefix_len;
    u->trace_head_return_prefix_len = h->trace_head_return_prefix_len;
    u->ibl_ret_prefix_len = h->ibl_ret_prefix_len;
    u->ibl_call_prefix_len = h->ibl_call_prefix_len;
    u->ibl_jmp_prefix_len = h->ibl_jmp_prefix_len;
    u->stubs_len = h->stubs_len;
    dr_model_default_options(o);
    o->persist_map_rw_separate = (h->flags & PCACHE_DPC_FLAG_MAP_RW_SEPARATE) != 0;
    snprintf(sample_options, sizeof sample_options, "%.*s", (int)d->option_string.len, d->option_string.ptr);
    o->option_string = sample_options;
}

static void fill_payloads(void)
{
    memcpy(ro_payload, "PCACHE-SAMPLE-RO", 16);
    for (int i = 16; i < 64; i++)
        ro_payload[i] = (uint8_t)i;
    for (int i = 0; i < 4096; i++)
        rx_payload[i] = (uint8_t)(0xC3 ^ (i & 0xff));
    for (int i = 0; i < 4096; i++)
        rw_payload[i] = (uint8_t)(0x5a + i);
}

static void setup_sample_client(const sample *s)
{
    if (s->client)
        dr_model_set_clients(&s->client, 1);
    if (s->ro) {
        slot(&A, RO, sizeof ro_payload, ro_payload);
        register_raw(&A, RO);
    }
    if (s->rx) {
        slot(&A, RX, sizeof rx_payload, rx_payload);
        register_raw(&A, RX);
    }
}

static void test_model_writes_the_samples(void **state)
{
    (void)state;
    fill_payloads();
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        const sample *s = &samples[i];
        char in[1024], out[1024], why[256];
        uint8_t *real, *mine;
        size_t real_n, mine_n;
        pcache_dpc dr, model;
        pcache_report rep;
        dr_model_unit u;
        dr_model_options o;

        snprintf(in, sizeof in, "%s/%s", PCACHE_TEST_DATA_DIR, s->file);
        dr_test_path(out, sizeof out, s->file);
        real = dr_test_read(in, &real_n);
        assert_int_equal(pcache_dpc_parse(&dr, real, real_n, &rep), PCACHE_OK);
        unit_from(&dr, &u, &o);
        fresh(&o);
        setup_sample_client(s);
        assert_int_equal(dr_model_persist(&u, out, why, sizeof why), DRM_LOADED);
        mine = dr_test_read(out, &mine_n);
        /* the parser accepts it, both digests included */
        assert_int_equal(pcache_dpc_parse(&model, mine, mine_n, &rep), PCACHE_OK);
        /* every header field, lengths and order equal (the digests are in
         * the footer: the pads hold code-cache bytes, which differ) */
        assert_memory_equal(&model.header, &dr.header, sizeof dr.header);
        assert_int_equal(mine_n, real_n);
        for (int r = 0; r < PCACHE_DPC_REGION_COUNT; r++) {
            assert_int_equal(model.region[r].offset, dr.region[r].offset);
            assert_int_equal(model.region[r].size, dr.region[r].size);
        }
        assert_int_equal(model.option_string.len, dr.option_string.len);
        assert_memory_equal(model.option_string.ptr, dr.option_string.ptr, dr.option_string.len);
        assert_int_equal(model.client_lib_count, dr.client_lib_count);
        for (uint32_t k = 0; k < dr.client_lib_count; k++) {
            assert_int_equal(model.client_lib[k].len, dr.client_lib[k].len);
            assert_memory_equal(model.client_lib[k].ptr, dr.client_lib[k].ptr, dr.client_lib[k].len);
        }
        for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
            assert_int_equal(model.client_data[c].offset, dr.client_data[c].offset);
            assert_int_equal(model.client_data[c].size, dr.client_data[c].size);
        }
        /* the client's bytes where DR put them, and the offsets DR gave */
        if (s->ro) {
            assert_memory_equal(mine + dr.client_data[PCACHE_RO].offset, ro_payload, sizeof ro_payload);
            assert_memory_equal(real + dr.client_data[PCACHE_RO].offset, ro_payload, sizeof ro_payload);
            assert_int_equal(A.size_offs[RO], dr.client_data[PCACHE_RO].offset);
        }
        if (s->rx) {
            assert_memory_equal(mine + dr.client_data[PCACHE_RX].offset, rx_payload, sizeof rx_payload);
            assert_memory_equal(real + dr.client_data[PCACHE_RX].offset, rx_payload, sizeof rx_payload);
            assert_int_equal(A.size_offs[RX], dr.client_data[PCACHE_RX].offset);
        }
        free(real);
        free(mine);
        dr_model_reset(NULL);
    }
}

/* The model's load walk reaches the client bytes of the real files where
 * DR put them. */
static void test_model_loads_the_samples(void **state)
{
    (void)state;
    fill_payloads();
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        const sample *s = &samples[i];
        char in[1024], why[256];
        uint8_t *real;
        size_t real_n;
        pcache_dpc dr;
        dr_model_unit u;
        dr_model_options o;
        dr_model_view v;
        byte *base;
        size_t size;
        uint prot;

        snprintf(in, sizeof in, "%s/%s", PCACHE_TEST_DATA_DIR, s->file);
        real = dr_test_read(in, &real_n);
        assert_int_equal(pcache_dpc_parse(&dr, real, real_n, NULL), PCACHE_OK);
        unit_from(&dr, &u, &o);
        fresh(&o);
        setup_sample_client(s);
        assert_int_equal(dr_model_load(&u, in, &v, why, sizeof why), DRM_LOADED);
        assert_true(v.separate);
        assert_int_equal(v.rx_offset, dr.region[PCACHE_DPC_R_CLIENT_RX].offset);
        assert_int_equal(v.cache_offset, dr.region[PCACHE_DPC_R_CACHE].offset);
        if (s->ro) {
            assert_int_equal(A.resurrect_calls[RO], 1);
            assert_ptr_equal(A.resurrect_map[RO][0], v.map + dr.client_data[PCACHE_RO].offset);
            assert_memory_equal(A.first_bytes[RO][0], "PCACHE-SAMPLE-RO", 16);
            /* the first view is read-only while DR resurrects */
            assert_int_equal(A.prot_at_resurrect[RO] & DR_MEMPROT_WRITE, 0);
        }
        if (s->rx) {
            assert_int_equal(A.resurrect_calls[RX], 1);
            assert_ptr_equal(A.resurrect_map[RX][0], v.map + dr.client_data[PCACHE_RX].offset);
            assert_memory_equal(A.first_bytes[RX][0], rx_payload, 16);
        }
        /* after the load: DR's protections */
        assert_true(dr_query_memory(v.map, &base, &size, &prot));
        assert_int_equal(prot, DR_MEMPROT_READ);
        assert_true(dr_query_memory(v.map + v.cache_offset, &base, &size, &prot));
        assert_int_equal(prot, DR_MEMPROT_READ | (v.exec ? DR_MEMPROT_EXEC : 0));
        free(real);
        dr_model_reset(NULL);
    }
}

/* ------------------------------------------------------------------ */
/* behaviours and defects                                              */

static dr_model_unit hello(void)
{
    dr_model_unit u;
    dr_model_hello_unit(&u);
    return u;
}

static const char *two_clients[] = {"/lib/a.so", "/lib/b.so"};

static void test_reverse_order_offsets_user_data(void **state)
{
    dr_model_unit u = hello();
    char out[1024], why[256];
    dr_model_view v;
    size_t list = strlen(two_clients[0]) + strlen(two_clients[1]) + 3;
    uint64_t ro_start;

    (void)state;
    fill_payloads();
    fresh(NULL);
    ro_start = 280 + ((strlen(dr_model_options_now()->option_string) + 1 + 7) & ~7u);
    dr_model_set_clients(two_clients, 2);
    dr_test_new_path(out, sizeof out, "order.dpc");
    slot(&A, RO, 24, ro_payload);
    slot(&A, RX, 4096, rx_payload);
    B.size[RO] = 40;
    B.payload[RO] = ro_payload + 24;
    register_raw(&A, RO);
    register_raw(&A, RX);
    register_raw(&B, RO);
    assert_int_equal(dr_model_persist(&u, out, why, sizeof why), DRM_LOADED);
    /* B registered last, called first, right after DR's client list */
    assert_int_equal(B.size_offs[RO], ro_start + list);
    assert_int_equal(A.size_offs[RO], ro_start + list + 40);
    assert_int_equal(A.size_offs[RX] % 4096, 0);
    /* user_data is kept per position, shared between classes: A is
     * position 0 of the rx list, so its rx size overwrote what B (position
     * 0 of the ro list) stored, and B's ro persist gets A's rx value. */
    assert_ptr_equal(A.ud_at_persist[RO], &A.ud_tag[RO]);
    assert_ptr_equal(A.ud_at_persist[RX], &A.ud_tag[RX]);
    assert_ptr_equal(B.ud_at_persist[RO], &A.ud_tag[RX]);
    /* load: the ro callbacks walk the slot in the same order, chained */
    assert_int_equal(dr_model_load(&u, out, &v, why, sizeof why), DRM_LOADED);
    assert_ptr_equal(B.resurrect_map[RO][0], v.map + B.size_offs[RO]);
    assert_ptr_equal(A.resurrect_map[RO][0], v.map + A.size_offs[RO]);
    assert_true(B.seq_resurrect < A.seq_resurrect);
    dr_model_reset(NULL);
}

/* Defect 1: rw bytes go to the rx callbacks; a fixed DR to the rw ones. */
static void test_defect1_rw_to_rx(void **state)
{
    dr_model_unit u = hello();
    char out[1024], why[256];
    dr_model_view v;

    (void)state;
    fill_payloads();
    for (int fixed = 0; fixed <= 1; fixed++) {
        dr_model_options o = opts(0);
        o.fixed_rw_resurrect = fixed;
        fresh(&o);
        dr_test_new_path(out, sizeof out, "defect1.dpc");
        slot(&A, RX, 4096, rx_payload);
        slot(&A, RW, 8, rw_payload);
        register_raw(&A, RX);
        register_raw(&A, RW);
        assert_int_equal(dr_model_persist(&u, out, why, sizeof why), DRM_LOADED);
        assert_int_equal(dr_model_load(&u, out, &v, why, sizeof why), DRM_LOADED);
        if (!fixed) {
            assert_int_equal(A.resurrect_calls[RW], 0);
            assert_int_equal(A.resurrect_calls[RX], 2);
            /* first the rw bytes, then the rx bytes */
            assert_ptr_equal(A.resurrect_map[RX][0], v.map + v.rw_offset);
            assert_memory_equal(A.first_bytes[RX][0], rw_payload, 8);
            assert_ptr_equal(A.resurrect_map[RX][1], v.map + v.rx_offset);
            assert_memory_equal(A.first_bytes[RX][1], rx_payload, 16);
        } else {
            assert_int_equal(A.resurrect_calls[RW], 1);
            assert_int_equal(A.resurrect_calls[RX], 1);
            assert_memory_equal(A.first_bytes[RW][0], rw_payload, 8);
        }
        dr_model_reset(NULL);
    }
}

/* Defect 2: any client rw data with separate views: assert / crash. */
static void test_defect2_rw_separate(void **state)
{
    dr_model_unit u = hello();
    char out[1024], why[256];
    static const size_t sizes[] = {8, 4096, 0};

    (void)state;
    fill_payloads();
    for (size_t i = 0; i < 3; i++) {
        dr_model_options o = opts(1);
        fresh(&o);
        dr_test_new_path(out, sizeof out, "defect2.dpc");
        slot(&A, RW, sizes[i], rw_payload);
        register_raw(&A, RW);
        assert_int_equal(dr_model_persist(&u, out, why, sizeof why), DRM_LOADED);
        if (sizes[i]) {
            assert_int_equal(dr_model_load(&u, out, NULL, why, sizeof why), DRM_CRASHED);
            assert_non_null(strstr(why, "defect 2"));
            /* loaded without separate views, the same file works */
            dr_model_options_now()->persist_map_rw_separate = 0;
            assert_int_equal(dr_model_load(&u, out, NULL, why, sizeof why), DRM_LOADED);
        } else {
            assert_int_equal(dr_model_load(&u, out, NULL, why, sizeof why), DRM_LOADED);
        }
        dr_model_reset(NULL);
    }
}

/* Defect 3: rx data that is not whole pages leaves rx_pc off a page. */
static void test_defect3_rx_pages(void **state)
{
    dr_model_unit u = hello();
    char out[1024], why[256];

    (void)state;
    fill_payloads();
    for (size_t sz = 8; sz <= 8192; sz *= 2) {
        dr_model_options o = opts(1);
        dr_model_outcome want = sz % 4096 ? DRM_CRASHED : DRM_LOADED;
        fresh(&o);
        dr_test_new_path(out, sizeof out, "defect3.dpc");
        slot(&A, RX, sz, sz <= sizeof rx_payload ? rx_payload : (const uint8_t *)calloc(1, sz));
        register_raw(&A, RX);
        assert_int_equal(dr_model_persist(&u, out, why, sizeof why), DRM_LOADED);
        assert_int_equal(dr_model_load(&u, out, NULL, why, sizeof why), want);
        if (want == DRM_CRASHED)
            assert_non_null(strstr(why, "defect 3"));
        if (sz > sizeof rx_payload)
            free((void *)A.payload[RX]);
        dr_model_reset(NULL);
    }
}

/* Persisting over a file on disk resurrects it first (a merge). */
static void test_merge_resurrects(void **state)
{
    dr_model_unit u = hello();
    char out[1024], why[256];

    (void)state;
    fill_payloads();
    for (int merge = 0; merge <= 1; merge++) {
        dr_model_options o = opts(1);
        o.coarse_disk_merge = o.coarse_lone_merge = merge;
        fresh(&o);
        dr_test_new_path(out, sizeof out, "merge.dpc");
        slot(&A, RO, 16, ro_payload);
        register_raw(&A, RO);
        assert_int_equal(dr_model_persist(&u, out, why, sizeof why), DRM_LOADED);
        assert_int_equal(A.resurrect_calls[RO], 0);
        assert_int_equal(dr_model_persist(&u, out, why, sizeof why), DRM_LOADED);
        assert_int_equal(A.resurrect_calls[RO], (unsigned)merge);
        assert_int_equal(dr_model_merges(), (unsigned)merge);
        if (merge)
            assert_true(A.seq_resurrect < A.seq_size); /* before the sizes */
        dr_model_reset(NULL);
    }
}

/* A process with the default options, where client A persists ro_size
 * bytes of ro_payload in its ro slot of unit u into file name (its path
 * in out): the file's n bytes, malloc'd, and d, their parse. */
static uint8_t *persist_ro(const dr_model_unit *u, char *out, size_t out_size, const char *name, size_t ro_size,
                           size_t *n, pcache_dpc *d)
{
    char why[256];
    uint8_t *f;

    fill_payloads();
    fresh(NULL);
    dr_test_new_path(out, out_size, name);
    slot(&A, RO, ro_size, ro_payload);
    register_raw(&A, RO);
    assert_int_equal(dr_model_persist(u, out, why, sizeof why), DRM_LOADED);
    f = dr_test_read(out, n);
    assert_int_equal(pcache_dpc_parse(d, f, *n, NULL), PCACHE_OK);
    return f;
}

/* DR pads a slot to 8 with code-cache bytes, not zeros. */
static void test_padding(void **state)
{
    dr_model_unit u = hello();
    char out[1024];
    uint8_t *f;
    size_t n;
    pcache_dpc d;

    (void)state;
    f = persist_ro(&u, out, sizeof out, "pad.dpc", 5, &n, &d);
    assert_int_equal(d.header.instrument_ro_len, 8); /* 1 (empty list) + 5, to 8 */
    assert_memory_equal(f + d.client_data[PCACHE_RO].offset, ro_payload, 5);
    assert_int_equal(f[d.client_data[PCACHE_RO].offset + 5], 0x4d); /* the cache's first byte: 'M' */
    free(f);
    dr_model_reset(NULL);
}

/* Only the header MD5 is checked by default: client bytes are not. */
static void test_header_md5_only(void **state)
{
    dr_model_unit u = hello();
    char out[1024], why[256];
    uint8_t *f;
    size_t n;
    pcache_dpc d;

    (void)state;
    f = persist_ro(&u, out, sizeof out, "md5.dpc", 16, &n, &d);
    f[d.client_data[PCACHE_RO].offset] ^= 0xff;
    dr_test_write(out, f, n);
    assert_int_equal(dr_model_load(&u, out, NULL, why, sizeof why), DRM_LOADED);
    assert_int_equal(A.first_bytes[RO][0][0], (uint8_t)(ro_payload[0] ^ 0xff)); /* corruption reaches the client */
    dr_model_options_now()->persist_load_validation = 0xd;
    assert_int_equal(dr_model_load(&u, out, NULL, why, sizeof why), DRM_REFUSED);
    assert_non_null(strstr(why, "md5"));
    dr_model_options_now()->persist_load_validation = 0x5;
    f[d.client_data[PCACHE_RO].offset] ^= 0xff;
    f[124] ^= 1; /* struct padding in the header: covered by the header MD5 */
    dr_test_write(out, f, n);
    assert_int_equal(dr_model_load(&u, out, NULL, why, sizeof why), DRM_REFUSED);
    assert_non_null(strstr(why, "header md5"));
    free(f);
    dr_model_reset(NULL);
}

static void test_module_moved_and_refusals(void **state)
{
    dr_model_unit u = hello(), moved;
    char out[1024], why[256];
    const char *other[] = {"/lib/other.so"};

    (void)state;
    fill_payloads();
    fresh(NULL);
    dr_model_set_clients(two_clients, 1);
    dr_test_new_path(out, sizeof out, "moved.dpc");
    slot(&A, RO, 16, ro_payload);
    register_raw(&A, RO);
    assert_int_equal(dr_model_persist(&u, out, why, sizeof why), DRM_LOADED);
    moved = u;
    moved.module_base += 0x7f0000000000ull;
    assert_int_equal(dr_model_load(&moved, out, NULL, why, sizeof why), DRM_LOADED);
    assert_int_equal(A.start_at_resurrect, moved.module_base + moved.start_offs);
    moved.has_text_relocs = 1;
    assert_int_equal(dr_model_load(&moved, out, NULL, why, sizeof why), DRM_REFUSED);
    /* another module, other options, other clients, a refusing client */
    moved = u;
    moved.code_size += 0x1000;
    assert_int_equal(dr_model_load(&moved, out, NULL, why, sizeof why), DRM_REFUSED);
    dr_model_options_now()->option_string = "-persist";
    assert_int_equal(dr_model_load(&u, out, NULL, why, sizeof why), DRM_REFUSED);
    assert_non_null(strstr(why, "options mismatch"));
    dr_model_default_options(dr_model_options_now());
    dr_model_set_clients(other, 1);
    assert_int_equal(dr_model_load(&u, out, NULL, why, sizeof why), DRM_REFUSED);
    dr_model_set_clients(two_clients, 1);
    A.fail_resurrect = 1;
    assert_int_equal(dr_model_load(&u, out, NULL, why, sizeof why), DRM_REFUSED);
    A.fail_resurrect = 0;
    assert_int_equal(dr_model_load(&u, out, NULL, why, sizeof why), DRM_LOADED);
    dr_model_reset(NULL);
}

/* What DR's mappings let a resurrect callback write. */
static void test_protections(void **state)
{
    dr_model_unit u = hello();
    char out[1024], why[256];

    (void)state;
    fill_payloads();
    for (int separate = 0; separate <= 1; separate++) {
        dr_model_options o = opts(separate);
        fresh(&o);
        dr_test_new_path(out, sizeof out, "prot.dpc");
        slot(&A, RO, 16, ro_payload);
        slot(&A, RX, 4096, rx_payload);
        register_raw(&A, RO);
        register_raw(&A, RX);
        assert_int_equal(dr_model_persist(&u, out, why, sizeof why), DRM_LOADED);
        assert_int_equal(dr_model_load(&u, out, NULL, why, sizeof why), DRM_LOADED);
        assert_int_equal(!!(A.prot_at_resurrect[RO] & DR_MEMPROT_WRITE), !separate);
        assert_int_equal(!!(A.prot_at_resurrect[RX] & DR_MEMPROT_WRITE), !separate);
        dr_model_reset(NULL);
    }
}

static int setup(void **state)
{
    (void)state;
    return dr_test_dir_make("/tmp/pcache-dr-model-XXXXXX");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_writes_the_samples),
        cmocka_unit_test(test_model_loads_the_samples),
        cmocka_unit_test(test_reverse_order_offsets_user_data),
        cmocka_unit_test(test_defect1_rw_to_rx),
        cmocka_unit_test(test_defect2_rw_separate),
        cmocka_unit_test(test_defect3_rx_pages),
        cmocka_unit_test(test_merge_resurrects),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_header_md5_only),
        cmocka_unit_test(test_module_moved_and_refusals),
        cmocka_unit_test(test_protections),
    };
    return cmocka_run_group_tests(tests, setup, dr_test_teardown);
}
