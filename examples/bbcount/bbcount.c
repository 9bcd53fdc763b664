/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bbcount: a DynamoRIO client that counts basic-block executions and keeps
 * its counters in DR's persisted caches through libpcache's adapter.
 *
 *   drrun -persist -c libbbcount.so [-range LO-HI] [-persist_code] -- app
 *
 * Each block (in [LO, HI) if given) gets a clean call to at_bb(index).
 * When DR persists a module's code (at exit under -persist), the adapter
 * asks describe() for that unit's data:
 *   ro "meta"    magic, the client library's base when the instrumented
 *                blocks are persisted too (else 0), the unit's start (an
 *                absolute reference to the app module: rebased at load),
 *                the number of blocks;
 *   ro "blocks"  per block: offset from the unit start, counter index;
 *   ro "banner"  a string;
 *   rx "code"    generated x86-64: banner() returns the banner's address
 *                (a rel32 from rx to ro, fixed at persist), sum() adds up an
 *                array of counters;
 *   rw "counts"  the run's counter per block.
 * In the next run DR loads the file and the adapter hands on_resurrect()
 * the data checked and rebased, with "counts" as a private writable copy.
 * The client calls the rx code, takes the counter indices back (so that a
 * block keeps its counter) and reports at exit what it resurrected next to
 * what this run counted.
 *
 * By default the instrumented blocks themselves are not persisted (DR
 * builds them again, and the bb event instruments them): DynamoRIO 11.91
 * does not relocate the clean calls of a client's persisted blocks, and a
 * run that loads such blocks crashes (docs/DYNAMORIO.md, 3.5).  With
 * -persist_code they are persisted as well, as a DR that handles them
 * would allow (the model in tests/dr does): their clean calls hold
 * at_bb()'s address, so a pcache written with the client library elsewhere
 * is then refused (on_resurrect returns 0 and DR drops the pcache).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dr_api.h"
#include "pcache/dr.h"

#define MAX_BLOCKS (1u << 16)
#define HASH_SLOTS (2u * MAX_BLOCKS)
#define MAX_UNITS 64
#define META_MAGIC 0x31544e4342424242ull /* "BBBBCNT1" */
#define BANNER "bbcount 1"

static struct {
    client_id_t id;
    uint64_t client_base;
    uint64_t lo, hi;
    int persist_code;   /* -persist_code: instrumented blocks persisted too */
    void *lock;
    pcache_dr_client *pcache;
    uint64_t *tag;      /* by counter index; 0: free */
    uint64_t *count;    /* this run */
    uint64_t *prev;     /* resurrected from a pcache */
    uint32_t *hash;     /* tag -> index + 1 */
    uint32_t nblocks;   /* indices in use are < nblocks */
    uint64_t units_seen[MAX_UNITS];
    unsigned nunits;
    /* what was resurrected */
    unsigned res_units, res_blocks, rx_checks;
    uint64_t res_total;
    /* the unit being persisted: its arrays live until the next one */
    uint8_t *persist_buf;
    size_t persist_size;
} bb;

/* ---- counters ----------------------------------------------------------- */

static void at_bb(uint64_t index)
{
    __atomic_fetch_add(&bb.count[index], 1, __ATOMIC_RELAXED);
}

static uint32_t hash_of(uint64_t tag)
{
    return (uint32_t)((tag * 0x9e3779b97f4a7c15ull) >> 40) % HASH_SLOTS;
}

/* The index of tag, or UINT32_MAX when it has none. */
static uint32_t index_of(uint64_t tag)
{
    for (uint32_t h = hash_of(tag);; h = (h + 1) % HASH_SLOTS) {
        if (bb.hash[h] == 0)
            return UINT32_MAX;
        if (bb.tag[bb.hash[h] - 1] == tag)
            return bb.hash[h] - 1;
    }
}

static void hash_put(uint64_t tag, uint32_t index)
{
    uint32_t h = hash_of(tag);
    while (bb.hash[h] != 0)
        h = (h + 1) % HASH_SLOTS;
    bb.hash[h] = index + 1;
}

static dr_emit_flags_t event_bb(void *drcontext, void *tag, instrlist_t *ilist, bool for_trace, bool translating)
{
    uint64_t pc = (uint64_t)(uintptr_t)dr_fragment_app_pc(tag);
    uint32_t index;
    (void)for_trace;
    (void)translating;
    if (pc < bb.lo || pc >= bb.hi)
        return DR_EMIT_PERSISTABLE; /* uninstrumented: nothing in it goes stale */
    dr_mutex_lock(bb.lock);
    index = index_of(pc);
    if (index == UINT32_MAX && bb.nblocks < MAX_BLOCKS) {
        index = bb.nblocks++;
        bb.tag[index] = pc;
        hash_put(pc, index);
    }
    dr_mutex_unlock(bb.lock);
    if (index == UINT32_MAX)
        return DR_EMIT_DEFAULT; /* out of counters: not counted, not persisted */
    dr_insert_clean_call(drcontext, ilist, instrlist_first(ilist), (void *)at_bb, false, 1,
                         OPND_CREATE_INTPTR(index));
    return bb.persist_code ? DR_EMIT_PERSISTABLE : DR_EMIT_DEFAULT;
}

/* ---- generated code -------------------------------------------------------- */

/* banner: lea rax, [rip + banner]; ret.  sum(counts, n) at +16. */
static const uint8_t code_bytes[64] = {
    0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00, /* lea rax, [rip + rel32] */
    0xc3,                                     /* ret */
    0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
    0x31, 0xc0,             /* +16 xor eax, eax */
    0x48, 0x85, 0xf6,       /* test rsi, rsi */
    0x74, 0x0c,             /* jz done */
    0x48, 0x03, 0x07,       /* loop: add rax, [rdi] */
    0x48, 0x83, 0xc7, 0x08, /* add rdi, 8 */
    0x48, 0xff, 0xce,       /* dec rsi */
    0x75, 0xf4,             /* jnz loop */
    0xc3,                   /* done: ret */
};
#define CODE_SUM 16

static const char banner[16] = BANNER;

/* ---- persisting ------------------------------------------------------------ */

static int describe(void *ctx, const pcache_dr_unit *unit, pcache_builder *b)
{
    uint32_t n = 0, k = 0;
    uint64_t *meta, *blocks, *counts;
    pcache_patch p;
    (void)ctx;

    dr_mutex_lock(bb.lock);
    for (uint32_t i = 0; i < bb.nblocks; i++)
        if (bb.tag[i] >= unit->start && bb.tag[i] - unit->start < unit->size)
            n++;
    if (n == 0) {
        dr_mutex_unlock(bb.lock);
        return 1; /* nothing of ours in this unit */
    }
    /* The builder reads the bytes at persist time: keep them until then. */
    if (bb.persist_buf)
        dr_global_free(bb.persist_buf, bb.persist_size);
    bb.persist_size = 32 + (size_t)n * 24;
    bb.persist_buf = dr_global_alloc(bb.persist_size);
    if (!bb.persist_buf) {
        dr_mutex_unlock(bb.lock);
        return 0;
    }
    meta = (uint64_t *)bb.persist_buf;
    blocks = meta + 4;
    counts = blocks + 2 * (size_t)n;
    meta[0] = META_MAGIC;
    meta[1] = bb.persist_code ? bb.client_base : 0; /* persisted calls into the library */
    meta[2] = unit->start;
    meta[3] = n;
    for (uint32_t i = 0; i < bb.nblocks; i++)
        if (bb.tag[i] >= unit->start && bb.tag[i] - unit->start < unit->size) {
            blocks[2 * k] = bb.tag[i] - unit->start;
            blocks[2 * k + 1] = i;
            counts[k] = __atomic_load_n(&bb.count[i], __ATOMIC_RELAXED);
            k++;
        }
    dr_mutex_unlock(bb.lock);

    if (pcache_builder_add(b, PCACHE_RO, "meta", meta, 32, 8, 0) != PCACHE_OK ||
        pcache_builder_add(b, PCACHE_RO, "blocks", blocks, (uint64_t)n * 16, 8, 0) != PCACHE_OK ||
        pcache_builder_add(b, PCACHE_RO, "banner", banner, sizeof banner, 8, 0) != PCACHE_OK ||
        pcache_builder_add(b, PCACHE_RX, "code", code_bytes, sizeof code_bytes, 16, 0) != PCACHE_OK ||
        pcache_builder_add(b, PCACHE_RW, "counts", counts, (uint64_t)n * 8, 8, 0) != PCACHE_OK)
        return 0;
    /* the unit start: rebased to wherever the module is next time */
    memset(&p, 0, sizeof p);
    p.cls = PCACHE_RO;
    p.section = "meta";
    p.offset = 16;
    p.kind = PCACHE_RELOC_ABS64;
    p.target_kind = PCACHE_TARGET_ANCHOR;
    p.anchor = PCACHE_ANCHOR_MODULE;
    if (pcache_builder_add_patch(b, &p) != PCACHE_OK)
        return 0;
    /* banner(): rx -> ro, fixed at persist */
    memset(&p, 0, sizeof p);
    p.cls = PCACHE_RX;
    p.section = "code";
    p.offset = 3;
    p.kind = PCACHE_RELOC_REL32;
    p.pc_offset = 4;
    p.target_kind = PCACHE_TARGET_SECTION;
    p.target_class = PCACHE_RO;
    p.target_section = "banner";
    return pcache_builder_add_patch(b, &p) == PCACHE_OK;
}

/* ---- resurrecting ---------------------------------------------------------- */

static int find(pcache_bound_image *img, pcache_class cls, const char *name, pcache_view *v, uint64_t size)
{
    return pcache_bound_find(img, cls, name, v, NULL) == PCACHE_OK && (size == 0 || v->size == size);
}

static int on_resurrect(void *ctx, const pcache_dr_unit *unit, pcache_bound_image *img)
{
    pcache_view meta, blocks, code, counts, ban;
    const uint64_t *m, *bl;
    const uint64_t *cnt;
    uint64_t n, total = 0;
    byte *base;
    size_t size;
    uint prot = 0;
    int ok = 1;
    (void)ctx;

    if (!find(img, PCACHE_RO, "meta", &meta, 32) || !find(img, PCACHE_RX, "code", &code, sizeof code_bytes) ||
        !find(img, PCACHE_RO, "banner", &ban, sizeof banner))
        return 0;
    m = meta.data;
    n = m[3];
    if (m[0] != META_MAGIC || n == 0 || n > MAX_BLOCKS || !find(img, PCACHE_RO, "blocks", &blocks, n * 16) ||
        !find(img, PCACHE_RW, "counts", &counts, n * 8))
        return 0;
    /* persisted clean calls target at_bb() where the library was */
    if (m[1] != 0 && m[1] != bb.client_base) {
        dr_fprintf(STDERR, "bbcount: pcache of a client library at 0x%llx, now at 0x%llx: refused\n",
                   (unsigned long long)m[1], (unsigned long long)bb.client_base);
        return 0;
    }
    if (m[2] != unit->start) /* the adapter rebased it */
        return 0;
    /* DR merges with the file on disk before persisting over it: a unit
     * already taken in is not taken twice. */
    dr_mutex_lock(bb.lock);
    for (unsigned u = 0; u < bb.nunits; u++)
        if (bb.units_seen[u] == unit->start) {
            dr_mutex_unlock(bb.lock);
            return 1;
        }
    dr_mutex_unlock(bb.lock);
    bl = blocks.data;
    cnt = pcache_bound_writable(img, PCACHE_RW, &counts);
    if (!cnt)
        return 0;
    for (uint64_t i = 0; i < n; i++)
        total += cnt[i];
    /* run the persisted code: where DR mapped it, on the copy's counters */
    if (dr_query_memory(code.data, &base, &size, &prot) && (prot & DR_MEMPROT_EXEC)) {
        const char *(*banner_fn)(void) = (const char *(*)(void))(uintptr_t)code.data;
        uint64_t (*sum_fn)(const uint64_t *, uint64_t) =
            (uint64_t(*)(const uint64_t *, uint64_t))(uintptr_t)((const uint8_t *)code.data + CODE_SUM);
        if (strcmp(banner_fn(), BANNER) != 0 || sum_fn(cnt, n) != total)
            return 0;
        bb.rx_checks++;
    }

    dr_mutex_lock(bb.lock);
    /* the persisted code increments these indices: claim them, all or none */
    for (uint64_t i = 0; i < n && ok; i++) {
        uint64_t tag = unit->start + bl[2 * i], index = bl[2 * i + 1];
        ok = bl[2 * i] < unit->size && index < MAX_BLOCKS && (bb.tag[index] == 0 || bb.tag[index] == tag);
    }
    if (!ok || bb.nunits == MAX_UNITS) {
        dr_mutex_unlock(bb.lock);
        dr_fprintf(STDERR, "bbcount: pcache counter indices collide with this run's: refused\n");
        return 0;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t tag = unit->start + bl[2 * i];
        uint32_t index = (uint32_t)bl[2 * i + 1];
        if (bb.tag[index] == 0) {
            bb.tag[index] = tag;
            hash_put(tag, index);
        }
        bb.prev[index] += cnt[i];
        if (index >= bb.nblocks)
            bb.nblocks = index + 1;
    }
    bb.units_seen[bb.nunits++] = unit->start;
    bb.res_units++;
    bb.res_blocks += (unsigned)n;
    bb.res_total += total;
    dr_mutex_unlock(bb.lock);
    return 1;
}

static void on_error(void *ctx, const pcache_dr_unit *unit, pcache_status st, const char *reason)
{
    (void)ctx;
    (void)unit;
    dr_fprintf(STDERR, "bbcount: pcache: %s (%s)\n", reason, pcache_status_name(st));
}

/* ---- process ---------------------------------------------------------------- */

static void event_exit(void)
{
    uint64_t total = 0;
    unsigned blocks = 0;
    for (uint32_t i = 0; i < bb.nblocks; i++)
        if (bb.count[i]) {
            total += bb.count[i];
            blocks++;
        }
    dr_fprintf(STDERR, "bbcount: executed %u blocks %llu times\n", blocks, (unsigned long long)total);
    dr_fprintf(STDERR, "bbcount: resurrected %u units, %u blocks, %llu executions, rx checks %u\n", bb.res_units,
               bb.res_blocks, (unsigned long long)bb.res_total, bb.rx_checks);
    pcache_dr_unregister(bb.pcache);
    dr_unregister_bb_event(event_bb);
    dr_unregister_exit_event(event_exit);
    if (bb.persist_buf)
        dr_global_free(bb.persist_buf, bb.persist_size);
    dr_global_free(bb.tag, MAX_BLOCKS * sizeof *bb.tag);
    dr_global_free(bb.count, MAX_BLOCKS * sizeof *bb.count);
    dr_global_free(bb.prev, MAX_BLOCKS * sizeof *bb.prev);
    dr_global_free(bb.hash, HASH_SLOTS * sizeof *bb.hash);
    dr_mutex_destroy(bb.lock);
    memset(&bb, 0, sizeof bb);
}

DR_EXPORT void dr_client_main(client_id_t id, int argc, const char *argv[])
{
    pcache_dr_config cfg;
    pcache_status st;

    memset(&bb, 0, sizeof bb);
    bb.id = id;
    bb.client_base = (uint64_t)(uintptr_t)dr_get_client_base(id);
    bb.hi = UINT64_MAX;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-persist_code") == 0)
            bb.persist_code = 1;
        else if (i + 1 < argc && strcmp(argv[i], "-range") == 0) {
            char *end;
            bb.lo = strtoull(argv[i + 1], &end, 0);
            bb.hi = *end == '-' ? strtoull(end + 1, NULL, 0) : UINT64_MAX;
        }
    bb.lock = dr_mutex_create();
    bb.tag = dr_global_alloc(MAX_BLOCKS * sizeof *bb.tag);
    bb.count = dr_global_alloc(MAX_BLOCKS * sizeof *bb.count);
    bb.prev = dr_global_alloc(MAX_BLOCKS * sizeof *bb.prev);
    bb.hash = dr_global_alloc(HASH_SLOTS * sizeof *bb.hash);
    if (!bb.lock || !bb.tag || !bb.count || !bb.prev || !bb.hash) {
        dr_fprintf(STDERR, "bbcount: out of memory\n");
        return;
    }
    memset(bb.tag, 0, MAX_BLOCKS * sizeof *bb.tag);
    memset(bb.count, 0, MAX_BLOCKS * sizeof *bb.count);
    memset(bb.prev, 0, MAX_BLOCKS * sizeof *bb.prev);
    memset(bb.hash, 0, HASH_SLOTS * sizeof *bb.hash);

    memset(&cfg, 0, sizeof cfg);
    cfg.client_name = "bbcount";
    cfg.client_version = 1;
    cfg.client_id = id;
    cfg.describe = describe;
    cfg.on_resurrect = on_resurrect;
    cfg.on_error = on_error;
    if ((st = pcache_dr_register(&cfg, &bb.pcache)) != PCACHE_OK) {
        dr_fprintf(STDERR, "bbcount: pcache_dr_register: %s\n", pcache_strerror(st));
        return;
    }
    dr_register_bb_event(event_bb);
    dr_register_exit_event(event_exit);
}
