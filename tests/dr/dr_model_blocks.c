/* SPDX-License-Identifier: BSD-2-Clause */
/* Basic blocks as a client sees them, for the model: the bb event builds a
 * block's instrumentation (clean calls with immediate arguments); a block
 * the client marks persistable goes into the unit's code cache when the
 * unit is persisted, with its callee's address and arguments embedded as
 * DR embeds them; a loaded pcache makes its blocks run from the file,
 * without bb events. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dr_model_internal.h"

#define MAX_CALLS 4
#define BLOCK_MAGIC 0x4b4c424du /* "MBLK" */
#define RECORD_SIZE 48u

typedef struct call {
    void *callee;
    unsigned nargs;
    ptr_int_t arg[2];
} call;

typedef struct block {
    uint64_t tag;
    call calls[MAX_CALLS];
    unsigned ncalls;
    int persistable;
    int from_pcache;
} block;

struct _instrlist_t {
    block *b;
};

static block *blocks;
static unsigned nblocks, cap;
static unsigned built, pcache_runs;

static block *add_block(void)
{
    if (nblocks == cap) {
        unsigned ncap = cap ? 2 * cap : 64;
        block *p = realloc(blocks, ncap * sizeof *p);
        if (!p)
            abort();
        blocks = p;
        cap = ncap;
    }
    memset(&blocks[nblocks], 0, sizeof blocks[0]);
    return &blocks[nblocks++];
}

instr_t *instrlist_first(instrlist_t *ilist)
{
    return (instr_t *)ilist; /* a non-NULL position; the model keeps no instrs */
}

opnd_t opnd_create_immed_int(ptr_int_t i, opnd_size_t data_size)
{
    opnd_t o;
    memset(&o, 0, sizeof o);
    o.kind = 1;
    o.size = data_size;
    o.value = i;
    return o;
}

void dr_insert_clean_call(void *drcontext, instrlist_t *ilist, instr_t *where, void *callee, bool save_fpstate,
                          uint num_args, ...)
{
    va_list ap;
    call *c;
    (void)drcontext;
    (void)where;
    (void)save_fpstate;
    if (!ilist || ilist->b->ncalls == MAX_CALLS || num_args > 2)
        abort();
    c = &ilist->b->calls[ilist->b->ncalls++];
    c->callee = callee;
    c->nargs = num_args;
    va_start(ap, num_args);
    for (uint i = 0; i < num_args; i++)
        c->arg[i] = va_arg(ap, opnd_t).value;
    va_end(ap);
}

static void run(const block *b)
{
    for (unsigned i = 0; i < b->ncalls; i++) {
        const call *c = &b->calls[i];
        switch (c->nargs) {
        case 0:
            ((void (*)(void))c->callee)();
            break;
        case 1:
            ((void (*)(ptr_int_t))c->callee)(c->arg[0]);
            break;
        default:
            ((void (*)(ptr_int_t, ptr_int_t))c->callee)(c->arg[0], c->arg[1]);
            break;
        }
    }
}

void dr_model_execute(uint64_t tag)
{
    struct _instrlist_t il;
    dr_emit_flags_t flags = DR_EMIT_DEFAULT;
    block *b;

    /* A block of a loaded pcache is found first: no bb event. */
    for (unsigned i = 0; i < nblocks; i++)
        if (blocks[i].tag == tag && blocks[i].from_pcache) {
            pcache_runs++;
            run(&blocks[i]);
            return;
        }
    for (unsigned i = 0; i < nblocks; i++)
        if (blocks[i].tag == tag) {
            run(&blocks[i]);
            return;
        }
    b = add_block();
    b->tag = tag;
    il.b = b;
    for (unsigned i = 0; i < drm.nbb; i++)
        flags |= drm.bb_event[i](drm_thread_dcontext, (void *)(uintptr_t)tag, &il, false, false);
    b->persistable = (flags & DR_EMIT_PERSISTABLE) != 0;
    built++;
    run(b);
}

unsigned dr_model_blocks_built(void)
{
    return built;
}

unsigned dr_model_blocks_from_pcache(void)
{
    return pcache_runs;
}

static void put64(uint8_t *p, uint64_t v)
{
    drm_st64(p, v);
}

size_t drm_blocks_serialize(const dr_model_unit *u, uint8_t *cache, size_t capacity)
{
    uint64_t lo = u->module_base + u->start_offs, hi = u->module_base + u->end_offs;
    size_t off = 8;
    uint32_t n = 0;

    if (capacity < 8)
        abort();
    for (unsigned i = 0; i < nblocks; i++) {
        const block *b = &blocks[i];
        if (!b->persistable || b->tag < lo || b->tag >= hi)
            continue;
        for (unsigned k = 0; k < b->ncalls; k++) {
            uint8_t *r = cache + off;
            if (off + RECORD_SIZE > capacity)
                abort(); /* the test's unit needs a larger cache */
            put64(r, b->tag - u->module_base);
            put64(r + 8, (uint64_t)(uintptr_t)b->calls[k].callee);
            put64(r + 16, b->calls[k].nargs | (uint64_t)k << 32);
            put64(r + 24, (uint64_t)b->calls[k].arg[0]);
            put64(r + 32, (uint64_t)b->calls[k].arg[1]);
            put64(r + 40, 0);
            off += RECORD_SIZE;
            n++;
        }
    }
    drm_st32(cache, BLOCK_MAGIC);
    drm_st32(cache + 4, n);
    return off;
}

void drm_blocks_install(const dr_model_unit *u, const uint8_t *cache, size_t size)
{
    uint32_t n;
    block *b = NULL;

    if (size < 8 || drm_ld32(cache) != BLOCK_MAGIC)
        return;
    n = drm_ld32(cache + 4);
    for (uint32_t i = 0; i < n && 8 + (size_t)(i + 1) * RECORD_SIZE <= size; i++) {
        const uint8_t *r = cache + 8 + (size_t)i * RECORD_SIZE;
        uint64_t tag = u->module_base + drm_ld64(r);
        call *c;
        if (!b || b->tag != tag || (drm_ld64(r + 16) >> 32) == 0) {
            b = add_block();
            b->tag = tag;
            b->from_pcache = 1;
        }
        if (b->ncalls == MAX_CALLS)
            return; /* a hostile cache: DR would run garbage; the model stops reading */
        c = &b->calls[b->ncalls++];
        c->callee = (void *)(uintptr_t)drm_ld64(r + 8);
        c->nargs = (unsigned)(drm_ld64(r + 16) & 0xffffffffu);
        c->arg[0] = (ptr_int_t)drm_ld64(r + 24);
        c->arg[1] = (ptr_int_t)drm_ld64(r + 32);
    }
}

void drm_loaded_clear(void)
{
    unsigned j = 0;
    for (unsigned i = 0; i < nblocks; i++)
        if (!blocks[i].from_pcache)
            blocks[j++] = blocks[i];
    nblocks = j;
}

void drm_blocks_reset(void)
{
    free(blocks);
    blocks = NULL;
    nblocks = cap = 0;
    built = pcache_runs = 0;
}
