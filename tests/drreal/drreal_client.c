/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * drreal_client: the DynamoRIO client of the real-DR tests (tests/drreal/).
 *
 *   drrun -persist ... -c libdrreal_client.so -log FILE [-name NAME] [-refuse]
 *         [-track MODULE[,MODULE...]] -- app
 *
 * It instruments nothing: its bb event only notes each block's address
 * (so DR persists every block it builds) and it keeps, per coarse unit DR
 * persists, data of every class through libpcache's adapter:
 *
 *   ro "meta"    magic; the unit start (module anchor: rebased at load) and
 *                the raw persist-time start (for the ASLR check); the unit
 *                size; the block count and a hash of the block offsets; the
 *                address of drreal_marker() (client anchor); the address of
 *                ro "table" and rx "code" (section targets); generation,
 *                build variant, persisting pid;
 *   ro "blocks"  the unit's block offsets (u32, sorted): this run's blocks,
 *                plus those of every image of the unit this client holds
 *                (a load, or DR merging with the file on disk) and of
 *                pcache_dr_unit.merge_source;
 *   ro "table"   4096 bytes of a fixed pattern;
 *   ro "ztable"  8192 bytes of another pattern, stored compressed;
 *   rx "code"    one page: code0() returns the address of ro "table"
 *                (rel32 from rx to ro), code1() a constant;
 *   rw "state"   magic, the address of "table" and of the unit (relocated),
 *                a load counter, generation, block count;
 *   rw "counts"  one u64 per block derived from its offset.
 *
 * At load (on_resurrect) it checks every byte and pointer it can and logs
 * the outcome; it keeps the images it accepted and checks their views
 * again at exit, after DR may have dropped or unmapped the pcache.
 *
 * Everything it sees goes to the log file (-log), one event per line:
 *   drreal NAME EVENT key=value ...
 * with `reason=` (the rest of the line) last where present.  The driver
 * (tests/drreal/drreal.py) reads it.
 *
 * Built twice more from this file: with -DDRREAL_VARIANT=1 (8 KiB of code
 * before every function, so the functions move: the rebuilt-client case),
 * and as a second library (the two-library case, run with -name).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dr_api.h"
#include "pcache/dr.h"

#ifndef DRREAL_VARIANT
#define DRREAL_VARIANT 0
#endif

#if DRREAL_VARIANT
/* Compiled with -fno-toplevel-reorder: this comes first in .text, so every
 * function after it is 8 KiB further from the library's base than in
 * variant 0. */
__attribute__((used, noinline)) static void drreal_padding(void)
{
    __asm__ volatile(".fill 8192, 1, 0x90");
}
#endif

/* Its address is persisted with the client anchor and checked at load. */
__attribute__((noinline, used)) static int drreal_marker(int x)
{
    __asm__ volatile("" : "+r"(x));
    return x * 3 + 1;
}

#define META_MAGIC 0x31304c4145525244ull  /* "DRREAL01" */
#define STATE_MAGIC 0x3145544154535244ull /* "DRSTATE1" */
#define COUNT_SALT 0x5a17c0de5a17c0deull
#define CODE1_VALUE 0x05ec7e57u
#define TABLE_SIZE 4096u
#define ZTABLE_SIZE 8192u
#define CODE_SIZE 4096u
#define META_WORDS 12u
#define STATE_WORDS 6u
#define BLOCK_SLOTS (1u << 18) /* open addressing: block pcs seen this run */
#define MAX_HELD 256u
#define MAX_MODULES 256u
#define LINE_MAX_LEN 1400

typedef struct held_image {
    uint64_t start, size;
    pcache_bound_image *img;
    const uint32_t *blocks;
    uint64_t nblocks, gen, hash;
    const uint8_t *table;
    const uint8_t *code;
} held_image;

typedef struct module_entry {
    uint64_t start, end;
    char name[64];
} module_entry;

typedef struct persist_buf {
    struct persist_buf *next;
    size_t size;
} persist_buf;

static struct {
    client_id_t id;
    char name[PCACHE_CLIENT_NAME_MAX + 1];
    file_t log;
    int refuse;
    char track[256];
    uint64_t client_base;
    void *lock;
    pcache_dr_client *pcache;
    uint64_t *blockset; /* pcs; 0 = empty */
    uint64_t nbuilt;
    held_image held[MAX_HELD];
    unsigned nheld;
    module_entry modules[MAX_MODULES];
    unsigned nmodules;
    persist_buf *bufs;
    unsigned accepted, refused, errors, check_failed;
} g;

static uint8_t table_byte(uint64_t i)
{
    return (uint8_t)(i * 7u + (i >> 8) * 13u + 0x21u);
}

static uint8_t ztable_byte(uint64_t i)
{
    return (uint8_t)((i / 64u) * 5u + 1u);
}

static uint64_t count_of(uint32_t off)
{
    return ((uint64_t)off * 0x9e3779b97f4a7c15ull) ^ COUNT_SALT;
}

static uint64_t hash_blocks(const uint32_t *b, uint64_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h ^ n;
}

/* rx "code": code0 = lea rax, [rip + rel32 (ro "table")]; ret.
 * code1 (at 16) = mov eax, CODE1_VALUE; ret.  The rest int3. */
#define CODE1_OFFSET 16u
static uint8_t code_page[CODE_SIZE];

static void code_init(void)
{
    static const uint8_t head[] = {0x48, 0x8d, 0x05, 0, 0, 0, 0, 0xc3};
    memset(code_page, 0xcc, sizeof code_page);
    memcpy(code_page, head, sizeof head);
    code_page[CODE1_OFFSET] = 0xb8;
    code_page[CODE1_OFFSET + 1] = (uint8_t)CODE1_VALUE;
    code_page[CODE1_OFFSET + 2] = (uint8_t)(CODE1_VALUE >> 8);
    code_page[CODE1_OFFSET + 3] = (uint8_t)(CODE1_VALUE >> 16);
    code_page[CODE1_OFFSET + 4] = (uint8_t)(CODE1_VALUE >> 24);
    code_page[CODE1_OFFSET + 5] = 0xc3;
}

static uint8_t table_bytes[TABLE_SIZE];
static uint8_t ztable_bytes[ZTABLE_SIZE];

/* ---- log ----------------------------------------------------------------- */

static void out(const char *fmt, ...)
{
    char line[LINE_MAX_LEN];
    int n, m;
    va_list ap;
    if (g.log == INVALID_FILE)
        return;
    n = dr_snprintf(line, sizeof line, "drreal %s ", g.name);
    if (n < 0)
        return;
    va_start(ap, fmt);
    m = dr_vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) { /* truncated: still one line */
        m = (int)strlen(line + n);
    }
    n += m;
    line[n++] = '\n';
    dr_write_file(g.log, line, (size_t)n); /* one write: lines of two libraries do not mix */
}

static void module_add(const module_data_t *info)
{
    const char *name = dr_module_preferred_name(info);
    module_entry *m;
    if (g.nmodules == MAX_MODULES)
        return;
    m = &g.modules[g.nmodules++];
    m->start = (uint64_t)(uintptr_t)info->start;
    m->end = (uint64_t)(uintptr_t)info->end;
    dr_snprintf(m->name, sizeof m->name, "%s", name ? name : "?");
    m->name[sizeof m->name - 1] = '\0';
}

/* The module holding pc: from the module load events, else from DR (a
 * pcache is loaded when DR first sees the module's code, before the
 * client's module load event); NULL if none. */
static const module_entry *module_of(uint64_t pc)
{
    const module_entry *found = NULL;
    module_data_t *info;
    dr_mutex_lock(g.lock);
    for (unsigned i = 0; i < g.nmodules && !found; i++)
        if (pc >= g.modules[i].start && pc < g.modules[i].end)
            found = &g.modules[i];
    if (!found && (info = dr_lookup_module((byte *)(uintptr_t)pc)) != NULL) {
        module_add(info);
        dr_free_module_data(info);
        if (pc >= g.modules[g.nmodules - 1].start && pc < g.modules[g.nmodules - 1].end)
            found = &g.modules[g.nmodules - 1];
    }
    dr_mutex_unlock(g.lock);
    return found; /* entries are never removed or changed */
}

static const char *module_name(uint64_t pc)
{
    const module_entry *m = module_of(pc);
    return m ? m->name : "?";
}

/* How far the unit starting at pc is from its module's start: block
 * offsets are logged from the module's start, the same in every run. */
static uint32_t module_delta(uint64_t pc)
{
    const module_entry *m = module_of(pc);
    return m ? (uint32_t)(pc - m->start) : 0;
}

/* -track: a comma-separated list of module names whose block offsets are
 * logged. */
static int tracked(const char *name)
{
    const char *p = g.track;
    size_t len = strlen(name);
    while (*p) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == len && strncmp(name, p, k) == 0)
            return 1;
        p += k + (e != NULL);
    }
    return 0;
}

/* Block offsets (+ delta: from the module's start) of a tracked module,
 * in lines of at most 64. */
static void log_offsets(const char *event, const char *mod, uint64_t start, uint32_t delta, const uint32_t *offs,
                        uint64_t n)
{
    char buf[64 * 9 + 1];
    for (uint64_t i = 0; i < n; i += 64) {
        size_t len = 0;
        for (uint64_t j = i; j < n && j < i + 64; j++) {
            int w = dr_snprintf(buf + len, sizeof buf - len, "%s%x", j == i ? "" : ",", offs[j] + delta);
            if (w < 0)
                break;
            len += (size_t)w;
        }
        buf[len] = '\0';
        out("%s module=%s start=0x%llx offs=%s", event, mod, (unsigned long long)start, buf);
    }
    if (n == 0)
        out("%s module=%s start=0x%llx offs=", event, mod, (unsigned long long)start);
}

/* ---- blocks seen this run ---------------------------------------------------- */

static uint32_t slot_of(uint64_t pc)
{
    return (uint32_t)((pc * 0x9e3779b97f4a7c15ull) >> 40) & (BLOCK_SLOTS - 1);
}

static void block_add(uint64_t pc)
{
    dr_mutex_lock(g.lock);
    for (uint32_t h = slot_of(pc), k = 0; k < BLOCK_SLOTS; h = (h + 1) & (BLOCK_SLOTS - 1), k++) {
        if (g.blockset[h] == pc)
            break;
        if (g.blockset[h] == 0) {
            if (g.nbuilt < BLOCK_SLOTS / 2) {
                g.blockset[h] = pc;
                g.nbuilt++;
            }
            break;
        }
    }
    dr_mutex_unlock(g.lock);
}

static dr_emit_flags_t event_bb(void *drcontext, void *tag, instrlist_t *ilist, bool for_trace, bool translating)
{
    (void)drcontext;
    (void)ilist;
    if (!for_trace && !translating)
        block_add((uint64_t)(uintptr_t)dr_fragment_app_pc(tag));
    return DR_EMIT_PERSISTABLE; /* nothing inserted: nothing in the block goes stale */
}

static void event_module_load(void *drcontext, const module_data_t *info, bool loaded)
{
    (void)drcontext;
    (void)loaded;
    dr_mutex_lock(g.lock);
    for (unsigned i = 0; i < g.nmodules; i++)
        if (g.modules[i].start == (uint64_t)(uintptr_t)info->start) {
            dr_mutex_unlock(g.lock);
            return; /* looked up already */
        }
    module_add(info);
    dr_mutex_unlock(g.lock);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* In-place heap sort (no qsort in a DR client without libc's). */
static void sort_u32(uint32_t *a, uint64_t n)
{
    for (uint64_t i = n / 2; i-- > 0;) {
        for (uint64_t r = i;;) {
            uint64_t c = 2 * r + 1;
            if (c >= n)
                break;
            if (c + 1 < n && cmp_u32(&a[c], &a[c + 1]) < 0)
                c++;
            if (cmp_u32(&a[r], &a[c]) >= 0)
                break;
            uint32_t t = a[r];
            a[r] = a[c];
            a[c] = t;
            r = c;
        }
    }
    for (uint64_t end = n; end-- > 1;) {
        uint32_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        for (uint64_t r = 0;;) {
            uint64_t c = 2 * r + 1;
            if (c >= end)
                break;
            if (c + 1 < end && cmp_u32(&a[c], &a[c + 1]) < 0)
                c++;
            if (cmp_u32(&a[r], &a[c]) >= 0)
                break;
            t = a[r];
            a[r] = a[c];
            a[c] = t;
            r = c;
        }
    }
}

/* ---- held images ----------------------------------------------------------------- */

static held_image *held_find(const pcache_bound_image *img)
{
    for (unsigned i = 0; i < g.nheld; i++)
        if (g.held[i].img == img)
            return &g.held[i];
    return NULL;
}

/* The views of an image as this client checks them; 0 and what is wrong. */
static int check_views(const held_image *h, const char **what)
{
    for (uint64_t i = 0; i < TABLE_SIZE; i++)
        if (h->table[i] != table_byte(i)) {
            *what = "table-bytes";
            return 0;
        }
    if (hash_blocks(h->blocks, h->nblocks) != h->hash) {
        *what = "blocks-hash";
        return 0;
    }
    {
        byte *base;
        size_t size;
        uint prot = 0;
        if (!dr_query_memory(h->code, &base, &size, &prot) || !(prot & DR_MEMPROT_EXEC)) {
            *what = "rx-not-executable";
            return 0;
        }
    }
    {
        const uint8_t *(*code0)(void) = (const uint8_t *(*)(void))(uintptr_t)h->code;
        uint32_t (*code1)(void) = (uint32_t(*)(void))(uintptr_t)(h->code + CODE1_OFFSET);
        if (code0() != h->table) {
            *what = "rx-code0-table-address";
            return 0;
        }
        if (code1() != CODE1_VALUE) {
            *what = "rx-code1-value";
            return 0;
        }
    }
    return 1;
}

static int find(pcache_bound_image *img, pcache_class cls, const char *name, pcache_view *v, uint64_t size);

/* ---- persisting ----------------------------------------------------------------------- */

static void *buf_alloc(size_t size)
{
    persist_buf *b = dr_global_alloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->size = size;
    b->next = g.bufs;
    g.bufs = b;
    return b + 1;
}

static int add_patch(pcache_builder *b, pcache_class cls, const char *sec, uint64_t off, pcache_reloc_kind kind,
                     int32_t pc_offset, pcache_class tcls, const char *tsec, const char *anchor, uint64_t toff)
{
    pcache_patch p;
    memset(&p, 0, sizeof p);
    p.cls = cls;
    p.section = sec;
    p.offset = off;
    p.kind = kind;
    p.pc_offset = pc_offset;
    if (anchor) {
        p.target_kind = PCACHE_TARGET_ANCHOR;
        p.anchor = anchor;
    } else {
        p.target_kind = PCACHE_TARGET_SECTION;
        p.target_class = tcls;
        p.target_section = tsec;
    }
    p.target_offset = toff;
    return pcache_builder_add_patch(b, &p) == PCACHE_OK;
}

static int describe(void *ctx, const pcache_dr_unit *unit, pcache_builder *b)
{
    uint64_t n = 0, cap, gen = 0;
    uint32_t *offs;
    uint64_t *meta, *state, *counts;
    const char *mod = module_name(unit->start);
    const char *msrc = "none";
    unsigned from_held = 0;
    held_image *ms = NULL;
    (void)ctx;

    dr_mutex_lock(g.lock);
    if (unit->merge_source != NULL) {
        ms = held_find(unit->merge_source);
        msrc = ms != NULL ? "held" : "unknown";
    }
    cap = g.nbuilt;
    for (unsigned i = 0; i < g.nheld; i++)
        if (g.held[i].start == unit->start && g.held[i].size == unit->size)
            cap += g.held[i].nblocks;
    offs = dr_global_alloc((size_t)(cap + 1) * sizeof *offs);
    if (!offs) {
        dr_mutex_unlock(g.lock);
        return 0;
    }
    for (uint32_t h = 0; h < BLOCK_SLOTS; h++) {
        uint64_t pc = g.blockset[h];
        if (pc != 0 && pc >= unit->start && pc - unit->start < unit->size)
            offs[n++] = (uint32_t)(pc - unit->start);
    }
    /* the union with what this client holds of the unit: a load for
     * execution, or DR's merge load (merge_source is one of them) */
    for (unsigned i = 0; i < g.nheld; i++)
        if (g.held[i].start == unit->start && g.held[i].size == unit->size) {
            for (uint64_t k = 0; k < g.held[i].nblocks; k++)
                offs[n++] = g.held[i].blocks[k];
            if (g.held[i].gen > gen)
                gen = g.held[i].gen;
            from_held++;
        }
    dr_mutex_unlock(g.lock);
    if (unit->merge_source != NULL && ms == NULL) {
        /* an image this client accepted but does not hold: take its blocks */
        pcache_view mv, bv;
        if (find(unit->merge_source, PCACHE_RO, "meta", &mv, META_WORDS * 8) &&
            find(unit->merge_source, PCACHE_RO, "blocks", &bv, ((const uint64_t *)mv.data)[4] * 4)) {
            uint32_t *more = dr_global_alloc((size_t)(cap + 1 + bv.size / 4) * sizeof *more);
            if (!more) {
                dr_global_free(offs, (size_t)(cap + 1) * sizeof *offs);
                return 0;
            }
            memcpy(more, offs, (size_t)n * sizeof *offs);
            memcpy(more + n, bv.data, (size_t)bv.size);
            dr_global_free(offs, (size_t)(cap + 1) * sizeof *offs);
            offs = more;
            n += bv.size / 4;
            cap += bv.size / 4;
            if (((const uint64_t *)mv.data)[8] > gen)
                gen = ((const uint64_t *)mv.data)[8];
        }
    }
    sort_u32(offs, n);
    {
        uint64_t k = 0;
        for (uint64_t i = 0; i < n; i++)
            if (k == 0 || offs[k - 1] != offs[i])
                offs[k++] = offs[i];
        n = k;
    }
    gen++;
    out("persist module=%s start=0x%llx size=0x%llx blocks=%llu held=%u merge_source=%s gen=%llu carried=%d", mod,
         (unsigned long long)unit->start, (unsigned long long)unit->size, (unsigned long long)n, from_held, msrc,
         (unsigned long long)gen, unit->rw_carried);
    if (tracked(mod))
        log_offsets("pblocks", mod, unit->start, module_delta(unit->start), offs, n);
    if (n == 0) {
        dr_global_free(offs, (size_t)(cap + 1) * sizeof *offs);
        return 1; /* nothing of ours in this unit */
    }

    {
        size_t blocks_size = (size_t)n * 4;
        size_t total = META_WORDS * 8 + ((blocks_size + 7) & ~(size_t)7) + STATE_WORDS * 8 + (size_t)n * 8;
        uint8_t *p = buf_alloc(total);
        if (!p) {
            dr_global_free(offs, (size_t)(cap + 1) * sizeof *offs);
            return 0;
        }
        meta = (uint64_t *)p;
        state = meta + META_WORDS;
        counts = state + STATE_WORDS;
        memcpy(counts + n, offs, blocks_size);
        dr_global_free(offs, (size_t)(cap + 1) * sizeof *offs);
        offs = (uint32_t *)(counts + n);
    }
    meta[0] = META_MAGIC;
    meta[1] = unit->start;
    meta[2] = unit->start;
    meta[3] = unit->size;
    meta[4] = n;
    meta[5] = hash_blocks(offs, n);
    meta[6] = (uint64_t)(uintptr_t)drreal_marker;
    meta[7] = 0; /* ro "table": written by the patch */
    meta[8] = gen;
    meta[9] = DRREAL_VARIANT;
    meta[10] = (uint64_t)dr_get_process_id();
    meta[11] = 0; /* rx "code" */
    state[0] = STATE_MAGIC;
    state[1] = 0;
    state[2] = unit->start;
    state[3] = 0;
    state[4] = gen;
    state[5] = n;
    for (uint64_t i = 0; i < n; i++)
        counts[i] = count_of(offs[i]);

    if (pcache_builder_add(b, PCACHE_RO, "meta", meta, META_WORDS * 8, 8, 0) != PCACHE_OK ||
        pcache_builder_add(b, PCACHE_RO, "blocks", offs, n * 4, 4, 0) != PCACHE_OK ||
        pcache_builder_add(b, PCACHE_RO, "table", table_bytes, TABLE_SIZE, 64, 0) != PCACHE_OK ||
        pcache_builder_add(b, PCACHE_RO, "ztable", ztable_bytes, ZTABLE_SIZE, 8, 0) != PCACHE_OK ||
        pcache_builder_set_compression(b, PCACHE_RO, "ztable", PCACHE_COMPRESS_DEFAULT) != PCACHE_OK ||
        pcache_builder_add(b, PCACHE_RX, "code", code_page, CODE_SIZE, 16, 0) != PCACHE_OK ||
        pcache_builder_add(b, PCACHE_RW, "state", state, STATE_WORDS * 8, 8, 0) != PCACHE_OK ||
        pcache_builder_add(b, PCACHE_RW, "counts", counts, n * 8, 8, 0) != PCACHE_OK)
        return 0;
    /* meta: the unit (module anchor), the marker (client anchor), table and code (sections) */
    if (!add_patch(b, PCACHE_RO, "meta", 8, PCACHE_RELOC_ABS64, 0, 0, NULL, PCACHE_ANCHOR_MODULE, 0) ||
        !add_patch(b, PCACHE_RO, "meta", 48, PCACHE_RELOC_ABS64, 0, 0, NULL, PCACHE_ANCHOR_CLIENT,
                   (uint64_t)(uintptr_t)drreal_marker - g.client_base) ||
        !add_patch(b, PCACHE_RO, "meta", 56, PCACHE_RELOC_ABS64, 0, PCACHE_RO, "table", NULL, 0) ||
        !add_patch(b, PCACHE_RO, "meta", 88, PCACHE_RELOC_ABS64, 0, PCACHE_RX, "code", NULL, 0) ||
        /* code0: rel32 from rx to ro, fixed at persist */
        !add_patch(b, PCACHE_RX, "code", 3, PCACHE_RELOC_REL32, 4, PCACHE_RO, "table", NULL, 0) ||
        /* rw: references out of rw (into ro, to the module) */
        !add_patch(b, PCACHE_RW, "state", 8, PCACHE_RELOC_ABS64, 0, PCACHE_RO, "table", NULL, 0) ||
        !add_patch(b, PCACHE_RW, "state", 16, PCACHE_RELOC_ABS64, 0, 0, NULL, PCACHE_ANCHOR_MODULE, 0))
        return 0;
    return 1;
}

static int on_patch(void *ctx, const pcache_dr_unit *unit, const pcache_dr_cache *cache)
{
    (void)ctx;
    if (cache->file_offset == UINT64_MAX)
        out("patch module=%s start=0x%llx cache_offset=none cache_size=0x%llx", module_name(unit->start),
             (unsigned long long)unit->start, (unsigned long long)cache->size);
    else
        out("patch module=%s start=0x%llx cache_offset=0x%llx cache_size=0x%llx", module_name(unit->start),
             (unsigned long long)unit->start, (unsigned long long)cache->file_offset,
             (unsigned long long)cache->size);
    return 1;
}

/* ---- resurrecting ----------------------------------------------------------------------- */

static int find(pcache_bound_image *img, pcache_class cls, const char *name, pcache_view *v, uint64_t size)
{
    return pcache_bound_find(img, cls, name, v, NULL) == PCACHE_OK && (size == UINT64_MAX || v->size == size);
}

static int on_resurrect(void *ctx, const pcache_dr_unit *unit, pcache_bound_image *img)
{
    pcache_view meta, blocks, table, code, state, counts, zt;
    const uint64_t *m;
    uint64_t *st;
    const uint32_t *bl;
    uint64_t n = 0;
    const char *mod = module_name(unit->start);
    const char *what = NULL;
    void *zbuf = NULL;
    pcache_status zs;
    held_image h;
    (void)ctx;

#define FAIL(w)        \
    do {               \
        what = (w);    \
        goto failed;   \
    } while (0)

    if (!find(img, PCACHE_RO, "meta", &meta, META_WORDS * 8))
        FAIL("find-meta");
    m = meta.data;
    n = m[4];
    if (m[0] != META_MAGIC)
        FAIL("meta-magic");
    if (!find(img, PCACHE_RO, "blocks", &blocks, n * 4) || !find(img, PCACHE_RO, "table", &table, TABLE_SIZE) ||
        !find(img, PCACHE_RX, "code", &code, CODE_SIZE) || !find(img, PCACHE_RW, "state", &state, STATE_WORDS * 8) ||
        !find(img, PCACHE_RW, "counts", &counts, n * 8))
        FAIL("find-sections");
    if (m[1] != unit->start)
        FAIL("meta-unit-start-not-rebased");
    if (m[3] != unit->size)
        FAIL("meta-unit-size");
    if (m[6] != (uint64_t)(uintptr_t)drreal_marker)
        FAIL("meta-marker-address"); /* the client library's functions moved */
    if (m[7] != (uint64_t)(uintptr_t)table.data)
        FAIL("meta-table-address");
    if (m[11] != (uint64_t)(uintptr_t)code.data)
        FAIL("meta-code-address");
    bl = blocks.data;
    if (hash_blocks(bl, n) != m[5])
        FAIL("blocks-hash");
    for (uint64_t i = 0; i < n; i++)
        if (bl[i] >= unit->size || (i > 0 && bl[i] <= bl[i - 1]))
            FAIL("blocks-order");
    st = pcache_bound_writable(img, PCACHE_RW, &state);
    if (!st || pcache_bound_writable(img, PCACHE_RO, &table) != NULL)
        FAIL("writable");
    if (st[0] != STATE_MAGIC || st[1] != (uint64_t)(uintptr_t)table.data || st[2] != unit->start || st[3] != 0 ||
        st[4] != m[8] || st[5] != n)
        FAIL("rw-state");
    st[3]++; /* the copy is ours to write */
    if (((volatile uint64_t *)st)[3] != 1)
        FAIL("rw-write");
    {
        const uint64_t *c = counts.data;
        for (uint64_t i = 0; i < n; i++)
            if (c[i] != count_of(bl[i]))
                FAIL("rw-counts");
    }
    zs = pcache_bound_inflate_alloc(img, PCACHE_RO, "ztable", &zbuf, &zt, NULL);
    if (zs != PCACHE_OK)
        FAIL("ztable-inflate");
    if (zt.size != ZTABLE_SIZE)
        FAIL("ztable-size");
    for (uint64_t i = 0; i < ZTABLE_SIZE; i++)
        if (((const uint8_t *)zbuf)[i] != ztable_byte(i))
            FAIL("ztable-bytes");
    pcache_free(zbuf);
    zbuf = NULL;

    memset(&h, 0, sizeof h);
    h.start = unit->start;
    h.size = unit->size;
    h.img = img;
    h.blocks = bl;
    h.nblocks = n;
    h.gen = m[8];
    h.hash = m[5];
    h.table = table.data;
    h.code = code.data;
    if (!check_views(&h, &what))
        goto failed;
    if (g.refuse) {
        g.refused++;
        out("resurrect module=%s start=0x%llx persisted_start=0x%llx size=0x%llx blocks=%llu gen=%llu "
             "variant=%llu result=refused-by-option",
             mod, (unsigned long long)unit->start, (unsigned long long)m[2], (unsigned long long)unit->size,
             (unsigned long long)n, (unsigned long long)m[8], (unsigned long long)m[9]);
        return 0;
    }
    dr_mutex_lock(g.lock);
    if (g.nheld == MAX_HELD) {
        dr_mutex_unlock(g.lock);
        FAIL("too-many-images");
    }
    g.held[g.nheld++] = h;
    g.accepted++;
    dr_mutex_unlock(g.lock);
    out("resurrect module=%s start=0x%llx persisted_start=0x%llx size=0x%llx blocks=%llu gen=%llu variant=%llu "
         "result=accepted",
         mod, (unsigned long long)unit->start, (unsigned long long)m[2], (unsigned long long)unit->size,
         (unsigned long long)n, (unsigned long long)m[8], (unsigned long long)m[9]);
    if (tracked(mod))
        log_offsets("rblocks", mod, unit->start, module_delta(unit->start), bl, n);
    return 1;

failed:
    if (zbuf)
        pcache_free(zbuf);
    g.check_failed++;
    out("resurrect module=%s start=0x%llx size=0x%llx result=check-failed what=%s", mod,
         (unsigned long long)unit->start, (unsigned long long)unit->size, what);
    return 0;
#undef FAIL
}

static void on_discard(void *ctx, const pcache_dr_unit *unit, pcache_bound_image *img)
{
    (void)ctx;
    dr_mutex_lock(g.lock);
    for (unsigned i = 0; i < g.nheld; i++)
        if (g.held[i].img == img) {
            g.held[i] = g.held[--g.nheld];
            break;
        }
    dr_mutex_unlock(g.lock);
    out("discard module=%s start=0x%llx", module_name(unit->start), (unsigned long long)unit->start);
}

static void on_error(void *ctx, const pcache_dr_unit *unit, pcache_status st, const char *reason)
{
    (void)ctx;
    g.errors++;
    out("error module=%s start=0x%llx status=%s reason=%s", unit ? module_name(unit->start) : "?",
         unit ? (unsigned long long)unit->start : 0ull, pcache_status_name(st), reason ? reason : "");
}

/* ---- process ------------------------------------------------------------------------------- */

static void event_exit(void)
{
    unsigned ok = 0, bad = 0;
    const char *what = "";
    /* what this run built, per tracked module */
    for (unsigned i = 0; i < g.nmodules; i++) {
        module_entry *md = &g.modules[i];
        uint64_t n = 0;
        uint32_t *offs;
        if (!tracked(md->name))
            continue;
        offs = dr_global_alloc((size_t)(g.nbuilt + 1) * sizeof *offs);
        if (!offs)
            continue;
        for (uint32_t h = 0; h < BLOCK_SLOTS; h++) {
            uint64_t pc = g.blockset[h];
            if (pc != 0 && pc >= md->start && pc < md->end)
                offs[n++] = (uint32_t)(pc - md->start);
        }
        sort_u32(offs, n);
        log_offsets("bblocks", md->name, md->start, 0, offs, n);
        dr_global_free(offs, (size_t)(g.nbuilt + 1) * sizeof *offs);
    }
    /* every image still held: its views must hold the same bytes, whatever
     * DR did with its pcache since */
    for (unsigned i = 0; i < g.nheld; i++) {
        const char *w = NULL;
        if (check_views(&g.held[i], &w))
            ok++;
        else {
            bad++;
            what = w;
            out("recheck-failed module=%s start=0x%llx what=%s", module_name(g.held[i].start),
                 (unsigned long long)g.held[i].start, w);
        }
    }
    out("exit built=%llu accepted=%u refused=%u check_failed=%u errors=%u held=%u recheck_ok=%u recheck_bad=%u%s%s",
         (unsigned long long)g.nbuilt, g.accepted, g.refused, g.check_failed, g.errors, g.nheld, ok, bad,
         bad ? " what=" : "", what);
    pcache_dr_unregister(g.pcache);
    dr_unregister_bb_event(event_bb);
    dr_unregister_module_load_event(event_module_load);
    dr_unregister_exit_event(event_exit);
    while (g.bufs) {
        persist_buf *b = g.bufs;
        g.bufs = b->next;
        dr_global_free(b, sizeof *b + b->size);
    }
    dr_global_free(g.blockset, BLOCK_SLOTS * sizeof *g.blockset);
    dr_mutex_destroy(g.lock);
    if (g.log != INVALID_FILE)
        dr_close_file(g.log);
}

DR_EXPORT void dr_client_main(client_id_t id, int argc, const char *argv[])
{
    pcache_dr_config cfg;
    pcache_status st;
    const char *log_path = NULL;
    uint64 rw_sep = 1;

    memset(&g, 0, sizeof g);
    g.id = id;
    g.log = INVALID_FILE;
    dr_snprintf(g.name, sizeof g.name, "drreal");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-refuse") == 0)
            g.refuse = 1;
        else if (i + 1 < argc && strcmp(argv[i], "-log") == 0)
            log_path = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "-name") == 0)
            dr_snprintf(g.name, sizeof g.name, "%s", argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "-track") == 0)
            dr_snprintf(g.track, sizeof g.track, "%s", argv[++i]);
        else {
            dr_fprintf(STDERR, "drreal: unknown option '%s'\n", argv[i]);
            dr_abort();
        }
    }
    g.name[sizeof g.name - 1] = '\0';
    g.track[sizeof g.track - 1] = '\0';
    if (log_path) {
        g.log = dr_open_file(log_path, DR_FILE_WRITE_APPEND);
        if (g.log == INVALID_FILE) {
            dr_fprintf(STDERR, "drreal: cannot open log '%s'\n", log_path);
            dr_abort();
        }
    }
    g.client_base = (uint64_t)(uintptr_t)dr_get_client_base(id);
    g.lock = dr_mutex_create();
    g.blockset = dr_global_alloc(BLOCK_SLOTS * sizeof *g.blockset);
    if (!g.lock || !g.blockset) {
        dr_fprintf(STDERR, "drreal: out of memory\n");
        dr_abort();
    }
    memset(g.blockset, 0, BLOCK_SLOTS * sizeof *g.blockset);
    code_init();
    for (uint64_t i = 0; i < TABLE_SIZE; i++)
        table_bytes[i] = table_byte(i);
    for (uint64_t i = 0; i < ZTABLE_SIZE; i++)
        ztable_bytes[i] = ztable_byte(i);
    if (!dr_get_integer_option("persist_map_rw_separate", &rw_sep))
        rw_sep = 1;
    out("init pid=%d variant=%d client_base=0x%llx marker_offset=0x%llx rw_separate=%llu refuse=%d",
         (int)dr_get_process_id(), DRREAL_VARIANT, (unsigned long long)g.client_base,
         (unsigned long long)((uint64_t)(uintptr_t)drreal_marker - g.client_base), (unsigned long long)rw_sep,
         g.refuse);

    memset(&cfg, 0, sizeof cfg);
    cfg.client_name = g.name;
    cfg.client_version = 1;
    cfg.client_id = id;
    cfg.describe = describe;
    cfg.on_resurrect = on_resurrect;
    cfg.on_discard = on_discard;
    cfg.on_patch = on_patch;
    cfg.on_error = on_error;
    if ((st = pcache_dr_register(&cfg, &g.pcache)) != PCACHE_OK) {
        out("register-failed status=%s", pcache_status_name(st));
        dr_fprintf(STDERR, "drreal: pcache_dr_register: %s\n", pcache_strerror(st));
        dr_abort();
    }
    dr_register_bb_event(event_bb);
    dr_register_module_load_event(event_module_load);
    dr_register_exit_event(event_exit);
}
