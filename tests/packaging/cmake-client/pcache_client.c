/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pcache_client: a DynamoRIO client that keeps, for every code unit DR
 * persists, a small table (ro) and a page of bytes (rx) in DR's persisted
 * caches through libpcache's adapter, and checks them when DR loads them
 * back in a later run:
 *
 *   drrun -persist ... -c libpcache_client.so -- app
 *
 * The table holds the unit's start address, an absolute reference into the
 * application's module: the adapter rebases it to wherever the module is in
 * the run that loads it.  At exit the client prints how many units it
 * persisted and resurrected, and how many pcaches it found bad (refused,
 * or not holding what it wrote).  Built out of libpcache's tree by the
 * CMakeLists.txt beside it (docs/DYNAMORIO.md, "Building a client with
 * CMake"); tests/packaging/run-dr-client.sh runs it twice.
 */
#include <stdint.h>
#include <string.h>

#include "dr_api.h"
#include "pcache/dr.h"

#define TABLE_MAGIC 0x31544e45494c4350ull /* "PCLIENT1" */
#define TABLE_WORDS 8
#define PAGE_BYTES 4096

static struct {
    void *lock;
    pcache_dr_client *pcache;
    unsigned persisted, resurrected, bad;
    /* The unit being persisted: the builder reads it when DR persists the
     * unit, before it describes the next one. */
    uint64_t table[TABLE_WORDS];
    uint8_t page[PAGE_BYTES];
} cl;

/* The table of a unit: magic, start, size, then words derived from both. */
static void fill_table(uint64_t *t, uint64_t start, uint64_t size)
{
    t[0] = TABLE_MAGIC;
    t[1] = start;
    t[2] = size;
    for (int i = 3; i < TABLE_WORDS; i++)
        t[i] = (size + (uint64_t)i) * 0x9e3779b97f4a7c15ull;
}

static int describe(void *ctx, const pcache_dr_unit *unit, pcache_builder *b)
{
    pcache_patch p;
    (void)ctx;

    fill_table(cl.table, unit->start, unit->size);
    if (pcache_builder_add(b, PCACHE_RO, "table", cl.table, sizeof cl.table, 8, 0) != PCACHE_OK ||
        pcache_builder_add(b, PCACHE_RX, "page", cl.page, sizeof cl.page, 16, 0) != PCACHE_OK)
        return 0;
    /* table[1], the unit start: rebased at load to where the module is */
    memset(&p, 0, sizeof p);
    p.cls = PCACHE_RO;
    p.section = "table";
    p.offset = 8;
    p.kind = PCACHE_RELOC_ABS64;
    p.target_kind = PCACHE_TARGET_ANCHOR;
    p.anchor = PCACHE_ANCHOR_MODULE;
    if (pcache_builder_add_patch(b, &p) != PCACHE_OK)
        return 0;
    dr_mutex_lock(cl.lock);
    cl.persisted++;
    dr_mutex_unlock(cl.lock);
    return 1;
}

static int on_resurrect(void *ctx, const pcache_dr_unit *unit, pcache_bound_image *img)
{
    pcache_view table, page;
    uint64_t expect[TABLE_WORDS];
    int ok;
    (void)ctx;

    fill_table(expect, unit->start, unit->size);
    ok = pcache_bound_find(img, PCACHE_RO, "table", &table, NULL) == PCACHE_OK && table.size == sizeof expect &&
         memcmp(table.data, expect, sizeof expect) == 0 &&
         pcache_bound_find(img, PCACHE_RX, "page", &page, NULL) == PCACHE_OK && page.size == sizeof cl.page &&
         memcmp(page.data, cl.page, sizeof cl.page) == 0;
    dr_mutex_lock(cl.lock);
    if (ok)
        cl.resurrected++;
    else
        cl.bad++;
    dr_mutex_unlock(cl.lock);
    if (!ok)
        dr_fprintf(STDERR, "pcache_client: unit at 0x%llx: the pcache does not hold what was persisted\n",
                   (unsigned long long)unit->start);
    return ok;
}

static void on_error(void *ctx, const pcache_dr_unit *unit, pcache_status st, const char *reason)
{
    (void)ctx;
    (void)unit;
    dr_mutex_lock(cl.lock);
    cl.bad++;
    dr_mutex_unlock(cl.lock);
    dr_fprintf(STDERR, "pcache_client: pcache: %s (%s)\n", reason, pcache_status_name(st));
}

static void event_exit(void)
{
    dr_fprintf(STDERR, "pcache_client: persisted %u units, resurrected %u units, bad %u\n", cl.persisted,
               cl.resurrected, cl.bad);
    pcache_dr_unregister(cl.pcache);
    dr_mutex_destroy(cl.lock);
}

DR_EXPORT void dr_client_main(client_id_t id, int argc, const char *argv[])
{
    pcache_dr_config cfg;
    pcache_status st;
    (void)argc;
    (void)argv;

    cl.lock = dr_mutex_create();
    for (int i = 0; i < PAGE_BYTES; i++)
        cl.page[i] = (uint8_t)(i * 7 + 1);
    memset(&cfg, 0, sizeof cfg);
    cfg.client_name = "pcache_client";
    cfg.client_version = 1;
    cfg.client_id = id;
    cfg.describe = describe;
    cfg.on_resurrect = on_resurrect;
    cfg.on_error = on_error;
    if ((st = pcache_dr_register(&cfg, &cl.pcache)) != PCACHE_OK) {
        dr_fprintf(STDERR, "pcache_client: pcache_dr_register: %s\n", pcache_strerror(st));
        return;
    }
    dr_register_exit_event(event_exit);
}
