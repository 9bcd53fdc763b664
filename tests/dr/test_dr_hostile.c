/* SPDX-License-Identifier: BSD-2-Clause */
/* Hostile .dpc files and hostile DR call sequences against the DynamoRIO
 * adapter (lib/dr/pcache_dr.c), in the model of DR 11.91 (issue 18).  Each
 * case broke the adapter as it was at commit 457aa9e (a crash, a read past
 * DR's mapping, or a load of bytes that were not the file's):
 *
 *  - a stale pending segment: DR hands the adapter a load's rw segment
 *    (through the rx callbacks, defect 1), then abandons that load before
 *    rx and ro (another client's resurrect fails first), frees the unit
 *    struct and gives the same perscxt to the next load, of a file with no
 *    rw slot data: that load must bind its own segments only, mapped
 *    elsewhere or at the very same address;
 *  - a segment magic in DR's footer right after the rw slot, in a file
 *    that ends on a page: the adapter's look at "the next segment" must
 *    not read past the file;
 *  - a segment whose verified header states a size that runs past DR's
 *    mapping: refused TRUNCATED, nothing read past the mapping.
 *
 * The model maps every pcache inside DR's reservation, which is PROT_NONE
 * where nothing is mapped: any read past a mapping faults, so "no read
 * past the mapping" is checked by the test not crashing (and ASan and
 * valgrind watch the copies). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dr_model.h"
#include "dr_raw_client.h"
#include "dr_test_files.h"
#include "format.h"
#include "pcache/dpc.h"
#include "pcache/dr.h"

/* The second library's adapter (tests/dr/second_adapter.h). */
pcache_status second_pcache_dr_register(const pcache_dr_config *cfg, pcache_dr_client **out);
void second_pcache_dr_unregister(pcache_dr_client *client);

#define MAX_RW 16384

/* ------------------------------------------------------------------ */
/* a client                                                            */

typedef struct hclient {
    const char *name;
    unsigned id; /* DR client id: 0 the first library, 1 the second */
    int second;  /* registered through the second library's adapter */
    uint8_t seed;
    pcache_validation validation; /* the client's, at load; 0: the adapter's default (full) */
    int with_rx, with_rw;
    size_t rw_size; /* bytes of "counters": a multiple of 8, at least 16 */
    uint8_t table[32], code[64], counters[MAX_RW];
    unsigned resurrected, errors;
    pcache_status last_status;
    char last_reason[512];
    pcache_bound_image *img;
    pcache_dr_unit unit;
    pcache_dr_client *handle;
} hclient;

static hclient alpha, gamma_;

static void add_patch(pcache_builder *b, pcache_patch p)
{
    assert_int_equal(pcache_builder_add_patch(b, &p), PCACHE_OK);
}

static int describe(void *ctx, const pcache_dr_unit *unit, pcache_builder *b)
{
    hclient *c = ctx;
    (void)unit;
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "table", c->table, sizeof c->table, 8, 0), PCACHE_OK);
    /* ro -> app module: relocated at load */
    add_patch(b, (pcache_patch){.cls = PCACHE_RO, .section = "table", .offset = 8, .kind = PCACHE_RELOC_ABS64,
                                .target_kind = PCACHE_TARGET_ANCHOR, .anchor = PCACHE_ANCHOR_MODULE,
                                .target_offset = 0x123});
    if (c->with_rx)
        assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", c->code, sizeof c->code, 16, 0), PCACHE_OK);
    if (c->with_rw) {
        assert_int_equal(pcache_builder_add(b, PCACHE_RW, "counters", c->counters, c->rw_size, 8, 0), PCACHE_OK);
        /* rw -> ro: a record applied to the rw copy */
        add_patch(b, (pcache_patch){.cls = PCACHE_RW, .section = "counters", .offset = 8,
                                    .kind = PCACHE_RELOC_ABS64, .target_kind = PCACHE_TARGET_SECTION,
                                    .target_class = PCACHE_RO, .target_section = "table"});
    }
    return 1;
}

static int on_resurrect(void *ctx, const pcache_dr_unit *unit, pcache_bound_image *img)
{
    hclient *c = ctx;
    c->resurrected++;
    c->img = img;
    c->unit = *unit;
    return 1;
}

static void on_error(void *ctx, const pcache_dr_unit *unit, pcache_status st, const char *reason)
{
    hclient *c = ctx;
    (void)unit;
    c->errors++;
    c->last_status = st;
    snprintf(c->last_reason, sizeof c->last_reason, "%s", reason);
}

/* A client whose data depends on seed: two files of one client differ in
 * every byte the checks look at. */
static void init_client(hclient *c, const char *name, unsigned id, int second, uint8_t seed, int with_rx,
                        int with_rw, size_t rw_size)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    c->id = id;
    c->second = second;
    c->seed = seed;
    c->with_rx = with_rx;
    c->with_rw = with_rw;
    c->rw_size = rw_size;
    for (size_t i = 0; i < sizeof c->table; i++)
        c->table[i] = (uint8_t)(seed + i);
    for (size_t i = 0; i < sizeof c->code; i++)
        c->code[i] = (uint8_t)(seed ^ (0x5a + i));
    for (size_t i = 0; i < rw_size; i++)
        c->counters[i] = (uint8_t)(seed * 3 + i);
}

static void reg(hclient *c)
{
    pcache_dr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.client_name = c->name;
    cfg.client_version = 1;
    cfg.client_id = c->id;
    cfg.validation = c->validation;
    cfg.ctx = c;
    cfg.describe = describe;
    cfg.on_resurrect = on_resurrect;
    cfg.on_error = on_error;
    assert_int_equal((c->second ? second_pcache_dr_register : pcache_dr_register)(&cfg, &c->handle), PCACHE_OK);
}

static void unreg(hclient *c)
{
    if (!c->handle)
        return;
    (c->second ? second_pcache_dr_unregister : pcache_dr_unregister)(c->handle);
    c->handle = NULL;
}

/* Another client's raw rx callbacks (no adapter): it consumes nothing,
 * records each call, and fails its fail_call-th resurrect (1-based; 0:
 * none), which makes DR abandon the load there. */
static struct {
    int fail_call;
    unsigned calls;
    void *perscxt[8];
    byte *mapping[8]; /* the start of the DR mapping the call's pointer is in */
} raw;

static bool raw_resurrect(void *drcontext, void *perscxt, byte **map)
{
    unsigned n = raw.calls++;
    (void)drcontext;
    if (n < 8) {
        byte *base = NULL;
        size_t size;
        uint prot;
        raw.perscxt[n] = perscxt;
        /* the first view: its pages all have one protection during the walk */
        assert_true(dr_query_memory(*map, &base, &size, &prot));
        raw.mapping[n] = base;
    }
    return (int)n + 1 != raw.fail_call;
}

static void raw_reset(int fail_call)
{
    memset(&raw, 0, sizeof raw);
    raw.fail_call = fail_call;
}

/* ------------------------------------------------------------------ */
/* processes and files                                                 */

static const char *one_lib[] = {"/opt/tools/libalpha.so"};
static const char *two_libs[] = {"/opt/tools/libalpha.so", "/opt/tools/libgamma.so"};

static dr_model_unit test_unit(void)
{
    dr_model_unit u;
    dr_model_hello_unit(&u);
    u.cache_len = 8192;
    u.post_cache_pad_len = 1000;
    return u;
}

/* A new process with DR's options; client libraries in DR's reservation. */
static void process(int separate, int fixed, unsigned nlibs, int map_where_dropped)
{
    dr_model_options o;
    dr_model_default_options(&o);
    o.persist_map_rw_separate = separate;
    o.fixed_rw_resurrect = fixed;
    o.map_where_dropped = map_where_dropped;
    dr_model_reset(&o);
    dr_model_set_clients(nlibs == 1 ? one_lib : two_libs, nlibs);
    for (unsigned i = 0; i < nlibs; i++)
        dr_model_set_client_base(i, dr_model_reachable_base() + 0x1000000ull * (i + 1));
}

/* Persists unit u into file in a process of its own, with the clients
 * given (NULL: absent) registered; every library of nlibs listed. */
static void persist_file(const char *file, const dr_model_unit *u, int separate, unsigned nlibs, hclient *a,
                         hclient *g)
{
    char why[512];
    process(separate, 0, nlibs, 0);
    if (a)
        reg(a);
    if (g)
        reg(g);
    if (dr_model_persist(u, file, why, sizeof why) != DRM_LOADED)
        fail_msg("persist %s: %s", file, why);
    assert_int_equal((a ? a->errors : 0) + (g ? g->errors : 0), 0);
    if (a)
        unreg(a);
    if (g)
        unreg(g);
}

/* File offset of client `name`'s segment of class cls, by the .dpc
 * parser; 0 when there is none. */
static uint64_t segment_at(const uint8_t *buf, size_t n, pcache_class cls, const char *name)
{
    pcache_dpc d;
    pcache_dpc_found found[16];
    size_t count;
    assert_int_equal(pcache_dpc_parse(&d, buf, n, NULL), PCACHE_OK);
    assert_int_equal(pcache_dpc_find_segments(&d, found, 16, &count, NULL), PCACHE_OK);
    for (size_t i = 0; i < count; i++)
        if (found[i].status == PCACHE_OK && found[i].segment.cls == cls &&
            strcmp(found[i].segment.identity.client_name, name) == 0)
            return found[i].file_offset;
    return 0;
}

static void st64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t ld64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Recomputes a segment header's checksum, so that a changed field is
 * verified as the writer's. */
static void fix_header_checksum(uint8_t *h)
{
    uint64_t sum = pcache_checksum((pcache_checksum_algorithm)h[SH_CHECKSUM], h, SH_HEADER_CHECKSUM);
    for (int i = 0; i < 8; i++)
        h[SH_HEADER_CHECKSUM + i] = (uint8_t)(sum >> (56 - 8 * i));
}

static int in_range(const void *p, size_t len, const uint8_t *map, size_t map_size)
{
    const uint8_t *b = p;
    return b + len > map && b < map + map_size;
}

/* The image client c was given holds the data c persisted (the seed's),
 * relocated for this load, in memory of the client's, not in DR's
 * mapping [map, map + map_size). */
static void check_image(hclient *c, const dr_model_unit *u, const uint8_t *map, size_t map_size)
{
    pcache_bound_image *img = c->img;
    pcache_view table, code, counters;
    uint8_t *rw;

    assert_non_null(img);
    assert_int_equal(c->unit.start, u->module_base + u->start_offs);
    assert_int_equal(pcache_bound_find(img, PCACHE_RO, "table", &table, NULL), PCACHE_OK);
    assert_int_equal(table.size, sizeof c->table);
    assert_memory_equal(table.data, c->table, 8);
    assert_int_equal(dr_test_rd64((const uint8_t *)table.data + 8), u->module_base + u->start_offs + 0x123);
    assert_memory_equal((const uint8_t *)table.data + 16, c->table + 16, sizeof c->table - 16);
    if (c->with_rx) {
        assert_int_equal(pcache_bound_find(img, PCACHE_RX, "code", &code, NULL), PCACHE_OK);
        assert_int_equal(code.size, sizeof c->code);
        assert_memory_equal(code.data, c->code, sizeof c->code);
        assert_false(in_range(code.data, code.size, map, map_size));
    } else {
        assert_int_equal(pcache_bound_find(img, PCACHE_RX, "code", &code, NULL), PCACHE_E_NOT_FOUND);
    }
    if (c->with_rw) {
        assert_int_equal(pcache_bound_find(img, PCACHE_RW, "counters", &counters, NULL), PCACHE_OK);
        assert_int_equal(counters.size, c->rw_size);
        rw = pcache_bound_writable(img, PCACHE_RW, &counters);
        assert_non_null(rw);
        assert_memory_equal(rw, c->counters, 8);
        assert_memory_equal(rw + 16, c->counters + 16, c->rw_size - 16);
        /* the record: the table, where the client reads it */
        assert_int_equal(dr_test_rd64(rw + 8), (uint64_t)(uintptr_t)table.data);
        assert_false(in_range(rw, c->rw_size, map, map_size));
        memset(rw, 0x77, c->rw_size); /* the client's own */
    } else {
        assert_int_equal(pcache_bound_find(img, PCACHE_RW, "counters", &counters, NULL), PCACHE_E_NOT_FOUND);
    }
    assert_false(in_range(table.data, table.size, map, map_size));
}

/* ------------------------------------------------------------------ */
/* (a) a stale pending segment                                         */

/* File A: alpha with ro, rx and rw, DR's rw slot used
 * (-no_persist_map_rw_separate).  File B: alpha again with other data and
 * no rw slot data: rw carried in ro (-persist_map_rw_separate) or no rw
 * at all. */
static void make_files(const char *a, const char *b, int b_carried, const char **libs_used, unsigned nlibs)
{
    dr_model_unit u = test_unit();
    (void)libs_used;
    init_client(&alpha, "alpha", 0, 0, 0x11, 1, 1, 64);
    persist_file(a, &u, 0, nlibs, &alpha, NULL);
    init_client(&alpha, "alpha", 0, 0, 0x22, 1, b_carried, 64);
    persist_file(b, &u, b_carried, nlibs, &alpha, NULL);
}

/* Load 1 of A: DR hands alpha its rw segment, then another client's rx
 * resurrect fails and DR abandons the file before alpha's rx and ro.
 * Load 2 of B, under the same perscxt (the model hands DR's freed unit
 * struct back): alpha must get B's image, bound from B only. */
static void stale_rw_then(int fixed, int b_carried, int same_place)
{
    dr_model_unit u = test_unit();
    char fa[1024], fb[1024], why[512];
    dr_model_view v;
    void *perscxt1;
    byte *mapping1;
    dr_model_outcome o;

    dr_test_new_path(fa, sizeof fa, "stale-a.dpc");
    dr_test_new_path(fb, sizeof fb, "stale-b.dpc");
    make_files(fa, fb, b_carried, one_lib, 1);

    process(1, fixed, 1, same_place);
    init_client(&alpha, "alpha", 0, 0, 0x22, 1, b_carried, 64);
    reg(&alpha);
    /* registered after alpha: DR calls it first.  DR 11.91 calls the rx
     * list for the rw slot too, so the raw client's first call is on rw
     * (it passes), its second on rx; a fixed DR calls it on rx only. */
    assert_true(dr_register_persist_rx(raw_size, raw_persist, raw_resurrect));
    raw_reset(fixed ? 1 : 2);
    assert_int_equal(dr_model_load(&u, fa, NULL, why, sizeof why), DRM_REFUSED);
    assert_non_null(strstr(why, "rx resurrect failed"));
    assert_int_equal(raw.calls, fixed ? 1u : 2u);
    assert_int_equal(alpha.resurrected, 0);
    assert_int_equal(alpha.errors, 0); /* alpha took its rw segment, and was not asked again */
    perscxt1 = raw.perscxt[0];
    mapping1 = raw.mapping[0];

    raw_reset(0);
    o = dr_model_load(&u, fb, &v, why, sizeof why);
    assert_int_equal(raw.perscxt[0], perscxt1); /* DR's unit struct again */
    if (same_place)
        assert_ptr_equal(raw.mapping[0], mapping1);
    else
        assert_ptr_not_equal(raw.mapping[0], mapping1);
    if (same_place && o == DRM_REFUSED) {
        /* failing closed is allowed where the stale entry has the very
         * same image base; it must be a clean refusal */
        print_message("same place: refused: %s: %s\n", pcache_status_name(alpha.last_status), alpha.last_reason);
        assert_int_equal(alpha.resurrected, 0);
        assert_int_equal(alpha.errors, 1);
        assert_non_null(strstr(dr_model_log_text(), alpha.last_reason));
    } else {
        if (o != DRM_LOADED)
            fail_msg("load 2: %s; alpha: %s: %s", why, pcache_status_name(alpha.last_status), alpha.last_reason);
        assert_int_equal(alpha.errors, 0);
        assert_int_equal(alpha.resurrected, 1);
        check_image(&alpha, &u, v.map, v.size);
    }
    unreg(&alpha);
    dr_model_reset(NULL);
}

static void test_stale_rw_other_file(void **state)
{
    (void)state;
    for (int fixed = 0; fixed <= 1; fixed++)
        for (int b_carried = 0; b_carried <= 1; b_carried++)
            stale_rw_then(fixed, b_carried, 0);
}

static void test_stale_rw_same_place(void **state)
{
    (void)state;
    for (int fixed = 0; fixed <= 1; fixed++)
        for (int b_carried = 0; b_carried <= 1; b_carried++)
            stale_rw_then(fixed, b_carried, 1);
}

/* Load 2 at the same address, of file A again with alpha's rw segment
 * damaged: its magic (so that the adapter does not take it in load 2's rw
 * walk) and its relocation table's target, 64 MiB on.  Only load 1's
 * bytes were ever checked; load 2 must be refused, and nothing written
 * through the record. */
static void test_stale_rw_same_place_damaged_rw(void **state)
{
    (void)state;
    for (int fixed = 0; fixed <= 1; fixed++) {
        dr_model_unit u = test_unit();
        char fa[1024], fb[1024], why[512];
        uint8_t *buf;
        size_t n;
        uint64_t at, relocs = 0, crelocs = 0;
        uint32_t count;
        void *perscxt1;
        byte *mapping1;

        dr_test_new_path(fa, sizeof fa, "damaged-a.dpc");
        dr_test_new_path(fb, sizeof fb, "damaged-b.dpc");
        init_client(&alpha, "alpha", 0, 0, 0x15, 1, 1, 64);
        persist_file(fa, &u, 0, 1, &alpha, NULL);
        buf = dr_test_read(fa, &n);
        at = segment_at(buf, n, PCACHE_RW, "alpha");
        assert_true(at != 0);
        count = (uint32_t)(ld64le(buf + at + SH_SECTION_COUNT) & 0xffffffffu); /* a u32 */
        for (uint32_t i = 0; i < count; i++) {
            const uint8_t *e = buf + at + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i;
            if (strcmp((const char *)e + SE_NAME, RELOCS_SECTION_NAME) == 0)
                relocs = at + ld64le(e + SE_OFFSET);
            if (strcmp((const char *)e + SE_NAME, CRELOCS_SECTION_NAME) == 0)
                crelocs = at + ld64le(e + SE_OFFSET);
        }
        /* the adapter writes the smaller form (docs/FORMAT.md 9.4): for
         * this one record, 48 bytes of .relocs against 16 + 40 + 2 of
         * .crelocs */
        assert_true(relocs != 0 && crelocs == 0);
        /* the record's target, 64 MiB on */
        st64le(buf + relocs + RR_TARGET_BASE, ld64le(buf + relocs + RR_TARGET_BASE) + (64u << 20));
        buf[at] ^= 0x01;
        dr_test_write(fb, buf, n);
        free(buf);

        process(1, fixed, 1, 1);
        init_client(&alpha, "alpha", 0, 0, 0x15, 1, 1, 64);
        reg(&alpha);
        assert_true(dr_register_persist_rx(raw_size, raw_persist, raw_resurrect));
        raw_reset(fixed ? 1 : 2);
        assert_int_equal(dr_model_load(&u, fa, NULL, why, sizeof why), DRM_REFUSED);
        assert_int_equal(alpha.errors + alpha.resurrected, 0);
        perscxt1 = raw.perscxt[0];
        mapping1 = raw.mapping[0];
        raw_reset(0);
        assert_int_equal(dr_model_load(&u, fb, NULL, why, sizeof why), DRM_REFUSED);
        assert_ptr_equal(raw.perscxt[0], perscxt1);
        assert_ptr_equal(raw.mapping[0], mapping1);
        assert_int_equal(alpha.resurrected, 0);
        assert_int_equal(alpha.errors, 1);
        if (alpha.last_status != PCACHE_E_MAGIC && alpha.last_status != PCACHE_E_FILE_LAYOUT)
            fail_msg("%s: %s", pcache_status_name(alpha.last_status), alpha.last_reason);
        unreg(&alpha);
        dr_model_reset(NULL);
    }
}

/* The same with two client libraries, each with its adapter: the second
 * library's rx segment is damaged (its header checksum), so its adapter
 * fails the rx walk, after both had taken their rw segments. */
static void test_stale_rw_second_library_refuses(void **state)
{
    dr_model_unit u = test_unit();
    char fa[1024], fb[1024], why[512];
    dr_model_view v;
    uint8_t *buf;
    size_t n;
    uint64_t at;

    (void)state;
    dr_test_new_path(fa, sizeof fa, "two-a.dpc");
    dr_test_new_path(fb, sizeof fb, "two-b.dpc");
    init_client(&alpha, "alpha", 0, 0, 0x31, 1, 1, 64);
    init_client(&gamma_, "gamma", 1, 1, 0x41, 1, 1, 64);
    persist_file(fa, &u, 0, 2, &alpha, &gamma_);
    buf = dr_test_read(fa, &n);
    at = segment_at(buf, n, PCACHE_RX, "gamma");
    assert_true(at != 0);
    buf[at + SH_RESERVED] ^= 1;
    dr_test_write(fa, buf, n);
    free(buf);
    init_client(&alpha, "alpha", 0, 0, 0x32, 1, 1, 64);
    init_client(&gamma_, "gamma", 1, 1, 0x42, 1, 1, 64);
    persist_file(fb, &u, 1, 2, &alpha, &gamma_);

    for (int fixed = 0; fixed <= 1; fixed++) {
        process(1, fixed, 2, 0);
        init_client(&alpha, "alpha", 0, 0, 0x32, 1, 1, 64);
        init_client(&gamma_, "gamma", 1, 1, 0x42, 1, 1, 64);
        reg(&alpha);
        reg(&gamma_);
        assert_int_equal(dr_model_load(&u, fa, NULL, why, sizeof why), DRM_REFUSED);
        assert_int_equal(gamma_.errors, 1);
        assert_int_equal(gamma_.last_status, PCACHE_E_HEADER_CHECKSUM);
        assert_int_equal(alpha.errors + alpha.resurrected + gamma_.resurrected, 0);
        gamma_.errors = 0;
        if (dr_model_load(&u, fb, &v, why, sizeof why) != DRM_LOADED)
            fail_msg("load 2: %s; alpha: %s", why, alpha.last_reason);
        assert_int_equal(alpha.errors + gamma_.errors, 0);
        check_image(&alpha, &u, v.map, v.size);
        check_image(&gamma_, &u, v.map, v.size);
        unreg(&alpha);
        unreg(&gamma_);
        dr_model_reset(NULL);
    }
}

/* DR abandons load 1 at its client list, after the adapter took rw and
 * rx (the process runs two client libraries, the file lists one). */
static void test_stale_rw_rx_client_list(void **state)
{
    dr_model_unit u = test_unit();
    char fa[1024], fb[1024], why[512];
    dr_model_view v;

    (void)state;
    dr_test_new_path(fa, sizeof fa, "list-a.dpc");
    dr_test_new_path(fb, sizeof fb, "list-b.dpc");
    init_client(&alpha, "alpha", 0, 0, 0x51, 1, 1, 64);
    persist_file(fa, &u, 0, 1, &alpha, NULL);
    init_client(&alpha, "alpha", 0, 0, 0x52, 1, 1, 64);
    persist_file(fb, &u, 1, 2, &alpha, NULL);
    for (int fixed = 0; fixed <= 1; fixed++) {
        process(1, fixed, 2, 0);
        init_client(&alpha, "alpha", 0, 0, 0x52, 1, 1, 64);
        reg(&alpha);
        assert_int_equal(dr_model_load(&u, fa, NULL, why, sizeof why), DRM_REFUSED);
        assert_non_null(strstr(why, "client list"));
        assert_int_equal(alpha.errors + alpha.resurrected, 0);
        if (dr_model_load(&u, fb, &v, why, sizeof why) != DRM_LOADED)
            fail_msg("load 2: %s; alpha: %s", why, alpha.last_reason);
        assert_int_equal(alpha.errors, 0);
        check_image(&alpha, &u, v.map, v.size);
        unreg(&alpha);
        dr_model_reset(NULL);
    }
}

/* ------------------------------------------------------------------ */
/* (b) a segment magic in DR's footer, the file ending on a page      */

/* With -no_persist_map_rw_separate alpha's rw segment is the last thing
 * in DR's rw slot; then come DR's padding of the slot to 8 bytes (copies
 * of its cache bytes) and DR's footer: 36 bytes, its first 16 the MD5 of
 * the whole file, which DR does not check by default
 * (-persist_load_validation 0x5).  A segment ends on a file offset that
 * is a multiple of 8, and a file that ends on a page has its footer at
 * 4 mod 8: DR pads the slot with 4 bytes.  Those 4 bytes and the footer's
 * first 4, written as the segment magic, are what the adapter sees where
 * a next segment could start, 40 bytes before the end of the file and of
 * DR's mapping; a segment header is 256 bytes, its client name at 128. */
static void test_footer_magic_after_rw(void **state)
{
    (void)state;
    for (int fixed = 0; fixed <= 1; fixed++) {
        dr_model_unit u = test_unit();
        char file[1024], why[512];
        dr_model_view v;
        uint8_t *buf;
        size_t n, rw_size = 64;
        uint64_t rw_at;
        pcache_dpc d;
        byte *base;
        size_t size;
        uint prot;

        dr_test_new_path(file, sizeof file, "footer.dpc");
        /* DR's stubs and prefixes take 324 bytes here (DR's sample unit:
         * 320, which with the 36-byte footer leaves every file at 4 mod 8,
         * never on a page): the rw slot starts at 4 mod 8 and the file
         * ends on a page when the slot is 4096 * k - 360 bytes; alpha's
         * rw section is grown until it is. */
        u.stubs_len = 260;
        for (int tries = 0;; tries++) {
            assert_true(tries < 4);
            init_client(&alpha, "alpha", 0, 0, 0x61, 1, 1, rw_size);
            persist_file(file, &u, 0, 1, &alpha, NULL);
            buf = dr_test_read(file, &n);
            if (n % 4096 == 0)
                break;
            free(buf);
            rw_size += 4096 - n % 4096;
            assert_true(rw_size <= MAX_RW);
        }
        assert_int_equal(pcache_dpc_parse(&d, buf, n, NULL), PCACHE_OK);
        assert_int_equal(d.region[PCACHE_DPC_R_CLIENT_RW].offset + d.region[PCACHE_DPC_R_CLIENT_RW].size,
                         n - PCACHE_DPC_FOOTER_LEN);
        rw_at = segment_at(buf, n, PCACHE_RW, "alpha");
        assert_true(rw_at != 0);
        assert_int_equal(rw_at + ld64le(buf + rw_at + SH_SEGMENT_SIZE), n - PCACHE_DPC_FOOTER_LEN - 4);
        memcpy(buf + n - PCACHE_DPC_FOOTER_LEN - 4, SEG_MAGIC, SEG_MAGIC_SIZE);
        dr_test_write(file, buf, n);
        free(buf);

        process(0, fixed, 1, 0);
        init_client(&alpha, "alpha", 0, 0, 0x61, 1, 1, rw_size);
        reg(&alpha);
        if (dr_model_load(&u, file, &v, why, sizeof why) != DRM_LOADED)
            fail_msg("load: %s; alpha: %s", why, alpha.last_reason);
        assert_int_equal(v.size, n);
        /* the model: nothing to read after the file, in DR's reservation */
        assert_true(dr_query_memory(v.map + v.size, &base, &size, &prot));
        assert_int_equal(prot, DR_MEMPROT_NONE);
        assert_int_equal(alpha.errors, 0);
        check_image(&alpha, &u, v.map, v.size);
        unreg(&alpha);
        dr_model_reset(NULL);
    }
}

/* ------------------------------------------------------------------ */
/* (c) a segment size past DR's mapping                                */

/* Grows the segment at h's last section by delta bytes and lays the rest
 * out again as a writer would (trailer, segment size, page rounding), with
 * the table and header checksums recomputed: a segment whose verified
 * header and table state more bytes than there are.  Only the header and
 * table are read and written. */
static void grow_last_section(uint8_t *h, uint64_t delta)
{
    uint32_t n = (uint32_t)(ld64le(h + SH_SECTION_COUNT) & 0xffffffffu);
    uint64_t f = ld64le(h + SH_FILE_OFFSET), abs = f + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * n, sum;
    uint32_t page = (uint32_t)(ld64le(h + SH_PAGE_SIZE) & 0xffffffffu);
    uint8_t *last = h + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * (n - 1);

    assert_true(n > 0);
    assert_int_equal(ld64le(last + SE_SIZE), ld64le(last + SE_STORED_SIZE));
    st64le(last + SE_STORED_SIZE, ld64le(last + SE_STORED_SIZE) + delta);
    st64le(last + SE_SIZE, ld64le(last + SE_SIZE) + delta);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = h + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * i;
        uint64_t align = ld64le(e + SE_ALIGN) & 0xffffffffu;
        abs = (abs + align - 1) & ~(align - 1);
        assert_int_equal(abs - f, ld64le(e + SE_OFFSET));
        abs += ld64le(e + SE_STORED_SIZE);
    }
    abs = (abs + 7) & ~(uint64_t)7;
    st64le(h + SH_TRAILER_OFFSET, abs - f);
    abs += (uint64_t)SEG_TRAILER_ENTRY_SIZE * n;
    if ((h[SH_FLAGS] | h[SH_FLAGS + 1] << 8) & PCACHE_SEGMENT_PAGE_ROUNDED)
        abs = (abs + page - 1) & ~(uint64_t)(page - 1);
    st64le(h + SH_SEGMENT_SIZE, abs - f);
    sum = pcache_checksum((pcache_checksum_algorithm)h[SH_CHECKSUM], h + SEG_HEADER_SIZE,
                          (size_t)SEG_ENTRY_SIZE * n);
    for (int i = 0; i < 8; i++)
        h[SH_TABLE_CHECKSUM + i] = (uint8_t)(sum >> (56 - 8 * i));
    fix_header_checksum(h);
}

/* A segment of each class whose header, its checksum verified, states a
 * size running past DR's mapping: only the size changed (one byte past
 * the mapping, or 1 TiB; the layout it then breaks is checked after the
 * size), or the last section grown with the table laid out again (table
 * checksum verified too; a page past the mapping, or 1 TiB).  Refused TRUNCATED, at every validation
 * level of the client's, before any byte past the mapping is read. */
static void test_segment_size_past_mapping(void **state)
{
    static const struct {
        int separate;
        pcache_class cls;
    } cases[] = {
        {0, PCACHE_RO}, {0, PCACHE_RX}, {0, PCACHE_RW}, {1, PCACHE_RO}, {1, PCACHE_RX},
    };
    static const pcache_validation levels[] = {PCACHE_VALIDATE_FULL, PCACHE_VALIDATE_LAZY, PCACHE_VALIDATE_HEADER};
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int how = 0; how < 4; how++)
            for (size_t lv = 0; lv < sizeof levels / sizeof levels[0]; lv++) {
                dr_model_unit u = test_unit();
                char file[1024], why[512];
                uint8_t *buf;
                size_t n;
                uint64_t at, mapped, size;

                dr_test_new_path(file, sizeof file, "size.dpc");
                init_client(&alpha, "alpha", 0, 0, 0x71, 1, 1, 64);
                persist_file(file, &u, cases[i].separate, 1, &alpha, NULL);
                buf = dr_test_read(file, &n);
                at = segment_at(buf, n, cases[i].cls, "alpha");
                assert_true(at != 0);
                /* DR maps whole pages */
                mapped = ((n + 4095) & ~(uint64_t)4095) - at;
                size = ld64le(buf + at + SH_SEGMENT_SIZE);
                switch (how) {
                case 0:
                    st64le(buf + at + SH_SEGMENT_SIZE, mapped + 1);
                    fix_header_checksum(buf + at);
                    break;
                case 1:
                    st64le(buf + at + SH_SEGMENT_SIZE, 1ull << 40);
                    fix_header_checksum(buf + at);
                    break;
                case 2:
                    grow_last_section(buf + at, mapped - size + 4096 + 8);
                    break;
                default:
                    grow_last_section(buf + at, 1ull << 40);
                    break;
                }
                if (ld64le(buf + at + SH_SEGMENT_SIZE) <= mapped)
                    fail_msg("case %zu/%d: size %llu, mapped %llu", i, how,
                             (unsigned long long)ld64le(buf + at + SH_SEGMENT_SIZE), (unsigned long long)mapped);
                dr_test_write(file, buf, n);
                free(buf);

                process(cases[i].separate, 0, 1, 0);
                init_client(&alpha, "alpha", 0, 0, 0x71, 1, 1, 64);
                alpha.validation = levels[lv];
                reg(&alpha);
                assert_int_equal(dr_model_load(&u, file, NULL, why, sizeof why), DRM_REFUSED);
                assert_int_equal(alpha.resurrected, 0);
                assert_int_equal(alpha.errors, 1);
                if (alpha.last_status != PCACHE_E_TRUNCATED)
                    fail_msg("%s segment, case %d, level %d: %s: %s", pcache_class_name(cases[i].cls), how,
                             (int)levels[lv], pcache_status_name(alpha.last_status), alpha.last_reason);
                /* DR runs on without the pcache */
                dr_model_execute(u.module_base + u.start_offs + 0x40);
                assert_int_equal(dr_model_blocks_built(), 1);
                unreg(&alpha);
                dr_model_reset(NULL);
            }
}

static int setup(void **state)
{
    (void)state;
    return dr_test_dir_make("/tmp/pcache-dr-hostile-XXXXXX");
}

static int test_teardown(void **state)
{
    (void)state;
    unreg(&alpha);
    unreg(&gamma_);
    dr_model_reset(NULL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_stale_rw_other_file, test_teardown),
        cmocka_unit_test_teardown(test_stale_rw_same_place, test_teardown),
        cmocka_unit_test_teardown(test_stale_rw_same_place_damaged_rw, test_teardown),
        cmocka_unit_test_teardown(test_stale_rw_second_library_refuses, test_teardown),
        cmocka_unit_test_teardown(test_stale_rw_rx_client_list, test_teardown),
        cmocka_unit_test_teardown(test_footer_magic_after_rw, test_teardown),
        cmocka_unit_test_teardown(test_segment_size_past_mapping, test_teardown),
    };
    /* One test alone (a pattern of cmocka's): a test that crashes the
     * adapter while it holds its lock hangs in the teardown after it. */
    if (getenv("DR_HOSTILE_ONLY"))
        cmocka_set_test_filter(getenv("DR_HOSTILE_ONLY"));
    return cmocka_run_group_tests(tests, setup, dr_test_teardown);
}
