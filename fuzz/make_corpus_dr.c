/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The seeds of the dr_adapter target (fuzz/fuzz_dr_adapter.c): real .dpc
 * files, written by the model of DR 11.91 (tests/dr/dr_model*.c) with the
 * adapter's segments in DR's slots, for the clients of fuzz/fuzz_dr.h:
 * alpha (ro with a compressed section, rx, rw, relocation records of
 * every target kind), beta (ro, rw) and, through the second library's
 * adapter, gamma (ro, rw, and rx in one file).  One file in DR's rw slot
 * (-no_persist_map_rw_separate), one with rw carried in ro (DR's
 * default).  The adapter draws each image id at random: the seeds get a
 * fixed one per client (and their checksums and DR's digests again), so
 * that the output does not depend on chance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "format.h"
#include "fuzz_common.h"
#include "fuzz_dr.h"
#include "pcache/dpc.h"
#include "pcache/dr.h"

pcache_status second_pcache_dr_register(const pcache_dr_config *cfg, pcache_dr_client **out);
void second_pcache_dr_unregister(pcache_dr_client *client);

typedef void (*corpus_write_fn)(const char *dir, const char *target, const char *name, const void *buf, size_t n);
void make_corpus_dr(const char *dir, corpus_write_fn write_file);

typedef struct gclient {
    const char *name;
    unsigned id;
    int second, with_rx, with_strings;
    uint8_t table[64], code[64], counters[64];
    char strings[512];
    pcache_dr_client *handle;
} gclient;

static gclient alpha, beta, gamma_;

static void die(const char *what) __attribute__((noreturn));

static void die(const char *what)
{
    fprintf(stderr, "make_corpus: dr_adapter seeds: %s\n", what);
    exit(1);
}

static void add_patch(pcache_builder *b, pcache_patch p)
{
    if (pcache_builder_add_patch(b, &p) != PCACHE_OK)
        die("a patch");
}

static int describe(void *ctx, const pcache_dr_unit *unit, pcache_builder *b)
{
    gclient *c = ctx;
    (void)unit;
    if (pcache_builder_add(b, PCACHE_RO, "table", c->table, sizeof c->table, 8, 0) != PCACHE_OK ||
        pcache_builder_add(b, PCACHE_RW, "counters", c->counters, sizeof c->counters, 8, 0) != PCACHE_OK)
        die("a section");
    add_patch(b, (pcache_patch){.cls = PCACHE_RO, .section = "table", .offset = 8, .kind = PCACHE_RELOC_ABS64,
                                .target_kind = PCACHE_TARGET_ANCHOR, .anchor = PCACHE_ANCHOR_MODULE,
                                .target_offset = 0x123});
    add_patch(b, (pcache_patch){.cls = PCACHE_RW, .section = "counters", .offset = 8, .kind = PCACHE_RELOC_ABS64,
                                .target_kind = PCACHE_TARGET_SECTION, .target_class = PCACHE_RO,
                                .target_section = "table"});
    if (c->with_strings) {
        if (pcache_builder_add(b, PCACHE_RO, "strings", c->strings, sizeof c->strings, 1, 0) != PCACHE_OK ||
            pcache_builder_set_compression(b, PCACHE_RO, "strings", 9) != PCACHE_OK)
            die("a compressed section");
        add_patch(b, (pcache_patch){.cls = PCACHE_RO, .section = "table", .offset = 16, .kind = PCACHE_RELOC_ABS64,
                                    .target_kind = PCACHE_TARGET_ANCHOR, .anchor = PCACHE_ANCHOR_CLIENT,
                                    .target_offset = 0x456});
    }
    if (c->with_rx) {
        if (pcache_builder_add(b, PCACHE_RX, "code", c->code, sizeof c->code, 16, 0) != PCACHE_OK)
            die("an rx section");
        add_patch(b, (pcache_patch){.cls = PCACHE_RO, .section = "table", .offset = 0, .kind = PCACHE_RELOC_ABS64,
                                    .target_kind = PCACHE_TARGET_SECTION, .target_class = PCACHE_RX,
                                    .target_section = "code", .target_offset = 0x10});
        add_patch(b, (pcache_patch){.cls = PCACHE_RX, .section = "code", .offset = 3, .kind = PCACHE_RELOC_REL32,
                                    .pc_offset = 4, .target_kind = PCACHE_TARGET_SECTION,
                                    .target_class = PCACHE_RO, .target_section = "table"});
        add_patch(b, (pcache_patch){.cls = PCACHE_RX, .section = "code", .offset = 0x20,
                                    .kind = PCACHE_RELOC_REL32, .pc_offset = 4, .target_kind = PCACHE_TARGET_ANCHOR,
                                    .anchor = PCACHE_ANCHOR_CLIENT, .target_offset = 0x10});
    }
    return 1;
}

static int on_resurrect(void *ctx, const pcache_dr_unit *unit, pcache_bound_image *img)
{
    (void)ctx;
    (void)unit;
    (void)img;
    return 1;
}

static void init(gclient *c, const char *name, unsigned id, int second, int with_rx, int with_strings, uint8_t seed)
{
    static const uint8_t lea_ret[] = {0x48, 0x8d, 0x05, 0, 0, 0, 0, 0xc3};
    memset(c, 0, sizeof *c);
    c->name = name;
    c->id = id;
    c->second = second;
    c->with_rx = with_rx;
    c->with_strings = with_strings;
    for (size_t i = 0; i < sizeof c->table; i++)
        c->table[i] = (uint8_t)(seed + i);
    memset(c->code, 0xcc, sizeof c->code);
    memcpy(c->code, lea_ret, sizeof lea_ret);
    for (size_t i = 0; i < sizeof c->counters; i++)
        c->counters[i] = (uint8_t)(seed * 3 + i);
    for (size_t i = 0; i + 1 < sizeof c->strings; i++)
        c->strings[i] = "block counts of the module "[i % 27];
}

static void reg(gclient *c)
{
    pcache_dr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.client_name = c->name;
    cfg.client_version = FUZZ_DR_VERSION;
    cfg.client_id = c->id;
    cfg.ctx = c;
    cfg.describe = describe;
    cfg.on_resurrect = on_resurrect;
    if ((c->second ? second_pcache_dr_register : pcache_dr_register)(&cfg, &c->handle) != PCACHE_OK)
        die("registration");
}

/* A .dpc file of the three clients (gamma with rx data or not); *n its
 * size. */
static uint8_t *persist(int separate, int gamma_rx, size_t *n)
{
    dr_model_options o;
    dr_model_unit u = fuzz_dr_unit();
    char tmp[] = "/tmp/pcache-make-corpus-dr-XXXXXX", file[64], why[512];
    uint8_t *buf;
    FILE *f;
    long len;

    if (!mkdtemp(tmp))
        die("no temporary directory");
    snprintf(file, sizeof file, "%s/seed.dpc", tmp);
    dr_model_default_options(&o);
    o.persist_map_rw_separate = separate;
    dr_model_reset(&o);
    dr_model_set_clients(fuzz_dr_libs, 2);
    dr_model_set_client_base(0, 0x72000000u); /* DR's preferred client base, then the next */
    dr_model_set_client_base(1, 0x73000000u);
    init(&alpha, "alpha", 0, 0, 1, 1, 0x10);
    init(&beta, "beta", 0, 0, 0, 0, 0x20);
    init(&gamma_, "gamma", 1, 1, gamma_rx, 0, 0x30);
    reg(&alpha);
    reg(&beta);
    reg(&gamma_);
    if (dr_model_persist(&u, file, why, sizeof why) != DRM_LOADED)
        die(why);
    pcache_dr_unregister(alpha.handle);
    pcache_dr_unregister(beta.handle);
    second_pcache_dr_unregister(gamma_.handle);
    dr_model_reset(NULL);
    if (!(f = fopen(file, "rb")) || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) <= 0)
        die("cannot read the file written");
    rewind(f);
    if (!(buf = malloc((size_t)len)) || fread(buf, 1, (size_t)len, f) != (size_t)len)
        die("cannot read the file written");
    fclose(f);
    unlink(file);
    rmdir(tmp);
    *n = (size_t)len;
    /* a fixed image id per client: "image:" and the client name */
    for (size_t k = 0; k + SEG_HEADER_SIZE <= *n; k++)
        if (memcmp(buf + k, SEG_MAGIC, SEG_MAGIC_SIZE) == 0) {
            memset(buf + k + SH_IMAGE_ID, 0, PCACHE_IMAGE_ID_SIZE);
            memcpy(buf + k + SH_IMAGE_ID, "image:", 6);
            memcpy(buf + k + SH_IMAGE_ID + 6, buf + k + SH_CLIENT_NAME, 10);
        }
    fuzz_fix_dpc(buf, *n);
    return buf;
}

static void seed(const char *dir, corpus_write_fn write_file, const char *name, uint8_t c0, uint8_t c1,
                 const uint8_t *f1, size_t n1, const uint8_t *tail, size_t ntail)
{
    uint8_t *in = malloc(FUZZ_DR_PREFIX + n1 + ntail);
    if (!in)
        die("out of memory");
    in[0] = c0;
    in[1] = c1;
    st32(in + 2, (uint32_t)n1);
    memcpy(in + FUZZ_DR_PREFIX, f1, n1);
    if (ntail)
        memcpy(in + FUZZ_DR_PREFIX + n1, tail, ntail);
    write_file(dir, "dr_adapter", name, in, FUZZ_DR_PREFIX + n1 + ntail);
    free(in);
}

void make_corpus_dr(const char *dir, corpus_write_fn write_file)
{
    const uint8_t all = 1u << FUZZ_DR_C1_BETA_SHIFT | 1u << FUZZ_DR_C1_GAMMA_SHIFT;
    size_t n_slot, n_carried;
    uint8_t *slot = persist(0, 1, &n_slot), *carried = persist(1, 0, &n_carried);

    /* DR's rw slot: load 1 abandoned by another client's rx callback after
     * the adapters took their rw segments (DR 11.91 gives them through the
     * rx callbacks), then the same file again under the same perscxt */
    seed(dir, write_file, "rw_slot_abandoned_then_loaded", 3u << FUZZ_DR_C0_RAW_SHIFT, all, slot, n_slot, NULL, 0);
    /* rw carried in ro, DR's default: loaded twice */
    seed(dir, write_file, "rw_carried_loaded_twice", FUZZ_DR_C0_MAP_SEPARATE, all, carried, n_carried, NULL, 0);
    free(slot);
    free(carried);
}
