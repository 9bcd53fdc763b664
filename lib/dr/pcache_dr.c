/*
 * The DynamoRIO adapter: DR's persist callbacks mapped onto the core's
 * size / persist / resurrect, for DR 11.91 as it behaves (docs/DYNAMORIO.md,
 * dr/NOTES.md).  Everything that does not need DR is in the core
 * (pcache/bind.h: rw carried in ro, the manifest, binding); this file only
 * keeps DR's calling protocol.
 *
 * One set of DR callbacks serves every registration of this library: DR
 * shares user_data between classes by position, so the adapter keeps its
 * own state and never reads user_data.  In each slot the library's
 * segments follow one another in registration order; at load they are
 * recognised by their own headers (magic, client name, class), never by
 * which DR callback delivered them: one dispatcher serves DR's rx and rw
 * resurrect, because DR 11.91 hands rw bytes to the rx callbacks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dr_api.h"
#include "pcache/dr.h"

#define DR_PAGE 4096u
#define REASON_MAX 400

struct pcache_dr_client {
    pcache_dr_config cfg;
    char name[PCACHE_CLIENT_NAME_MAX + 1];
    struct held_image *images; /* handed to on_resurrect, not yet released */
};

/* An image handed to a client, with the segments it points to. */
typedef struct held_image {
    pcache_bound_image img; /* first: the client's pointer maps back */
    pcache_segment seg[PCACHE_CLASS_COUNT];
    pcache_dr_unit unit;
    struct held_image *next;
} held_image;

/* The unit being persisted: DR calls ro, rx, rw size, patch, then ro, rx,
 * rw persist, with no other thread in between. */
typedef struct persist_unit {
    void *perscxt;
    pcache_dr_unit unit;
    pcache_builder *b[PCACHE_DR_MAX_CLIENTS];
    pcache_dr_client *who[PCACHE_DR_MAX_CLIENTS];
    int n;
    int failed;
    uint64_t rx_first, rx_total;
} persist_unit;

/* rx and rw segments of a load, waiting for ro (DR resurrects ro last). */
typedef struct pending {
    void *perscxt;
    int have[PCACHE_DR_MAX_CLIENTS][PCACHE_CLASS_COUNT];
    pcache_segment seg[PCACHE_DR_MAX_CLIENTS][PCACHE_CLASS_COUNT];
} pending;

#define MAX_PENDING 16

static struct {
    void *lock;
    pcache_dr_client *client[PCACHE_DR_MAX_CLIENTS]; /* registration order */
    int nclients;
    persist_unit unit;
    pending pend[MAX_PENDING];
    int npend;
} g;

/* ------------------------------------------------------------------ */
/* helpers                                                             */
/* ------------------------------------------------------------------ */

static void fail_reason(pcache_dr_client *c, const pcache_dr_unit *unit, pcache_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail_reason(pcache_dr_client *c, const pcache_dr_unit *unit, pcache_status st, const char *fmt, ...)
{
    char reason[REASON_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    /* NULL: DR's main log.  Resurrect callbacks get DR's GLOBAL_DCONTEXT,
     * which debug DR's dr_log would dereference as a thread's context. */
    dr_log(NULL, DR_LOG_CACHE, 1, "pcache[%s]: %s (%s)\n", c ? c->name : "-", reason, pcache_status_name(st));
    if (c && c->cfg.on_error)
        c->cfg.on_error(c->cfg.ctx, unit, st, reason);
}

static pcache_dr_unit unit_of(void *drcontext, void *perscxt)
{
    pcache_dr_unit u;
    memset(&u, 0, sizeof u);
    u.drcontext = drcontext;
    u.perscxt = perscxt;
    u.start = (uint64_t)(uintptr_t)dr_persist_start(perscxt);
    u.size = (uint64_t)dr_persist_size(perscxt);
    return u;
}

static int client_index(const char *name)
{
    for (int i = 0; i < g.nclients; i++)
        if (strcmp(g.client[i]->name, name) == 0)
            return i;
    return -1;
}

/* DR's dr_write_file as a sink. */
static int write_fd(void *ctx, const void *buf, size_t len)
{
    file_t fd = *(file_t *)ctx;
    return dr_write_file(fd, buf, len) == (ssize_t)len ? 0 : 5 /* EIO */;
}

/* ------------------------------------------------------------------ */
/* persisting                                                          */
/* ------------------------------------------------------------------ */

static void unit_free(void)
{
    for (int i = 0; i < g.unit.n; i++)
        pcache_builder_free(g.unit.b[i]);
    memset(&g.unit, 0, sizeof g.unit);
}

static void unit_fail_builder(int i, pcache_status st, const char *what)
{
    const pcache_report *r = pcache_builder_report(g.unit.b[i]);
    g.unit.failed = 1;
    fail_reason(g.unit.who[i], &g.unit.unit, st, "%s: %s", what,
                r && r->status != PCACHE_OK ? r->message : pcache_strerror(st));
}

/* The first DR callback for a unit: build every registrant's image. */
static void unit_begin(void *drcontext, void *perscxt)
{
    uint64 separate = 1;

    unit_free();
    g.unit.perscxt = perscxt;
    g.unit.unit = unit_of(drcontext, perscxt);
    /* DR 11.91 fails to load any client rw data while it maps rw apart
     * (dr/NOTES.md, defect 2): carry rw in ro unless DR says it does not. */
    if (!dr_get_integer_option("persist_map_rw_separate", &separate))
        separate = 1;
    g.unit.unit.rw_carried = separate != 0;
    for (int i = 0; i < g.nclients; i++) {
        pcache_dr_client *c = g.client[i];
        pcache_identity id;
        pcache_builder *b = NULL;
        pcache_status st;

        g.unit.who[i] = c;
        g.unit.n = i + 1;
        if ((st = pcache_identity_init(&id, c->name, c->cfg.client_version)) != PCACHE_OK ||
            (st = pcache_identity_set_module(&id, g.unit.unit.start, g.unit.unit.size, NULL, 0)) != PCACHE_OK ||
            (st = pcache_builder_new(&b, &id)) != PCACHE_OK) {
            g.unit.failed = 1;
            fail_reason(c, &g.unit.unit, st, "cannot start an image for this unit");
            return;
        }
        g.unit.b[i] = b;
        /* rx data must be whole pages (NOTES.md, defect 3). */
        if ((st = pcache_builder_set_segment_flags(b, PCACHE_RX, PCACHE_SEGMENT_PAGE_ROUNDED)) != PCACHE_OK ||
            (st = pcache_builder_set_anchor(b, PCACHE_ANCHOR_CLIENT,
                                            (uint64_t)(uintptr_t)dr_get_client_base(c->cfg.client_id))) !=
                PCACHE_OK) {
            unit_fail_builder(i, st, "cannot set up the builder");
            return;
        }
        if (!c->cfg.describe(c->cfg.ctx, &g.unit.unit, b)) {
            g.unit.failed = 1;
            fail_reason(c, &g.unit.unit, PCACHE_E_STATE, "describe refused this unit: DR will abandon the file");
            return;
        }
        if ((st = pcache_builder_prepare_split(b, g.unit.unit.rw_carried ? PCACHE_SPLIT_CARRY_RW : 0)) != PCACHE_OK) {
            unit_fail_builder(i, st, "the description cannot be persisted");
            return;
        }
    }
}

/* Lays out class cls of every registrant from file_offs on; the total. */
static size_t size_class(pcache_class cls, size_t file_offs)
{
    uint64_t total = 0;

    if (g.unit.failed)
        return 0;
    for (int i = 0; i < g.unit.n; i++) {
        uint64_t sz;
        pcache_status st = pcache_builder_size(g.unit.b[i], cls, (uint64_t)file_offs + total, &sz);
        if (st != PCACHE_OK) {
            unit_fail_builder(i, st, "cannot lay out a segment");
            return 0;
        }
        total += sz;
    }
    /* DR truncates a size to 32 bits and keeps the file within 2 GB. */
    if (total > 0x7fffffffu) {
        g.unit.failed = 1;
        fail_reason(g.unit.who[0], &g.unit.unit, PCACHE_E_OVERFLOW,
                    "%s data of %llu bytes: DR keeps a pcache file within 2 GB", pcache_class_name(cls),
                    (unsigned long long)total);
        return 0;
    }
    return (size_t)total;
}

static bool persist_class(pcache_class cls, file_t fd)
{
    pcache_sink sink = {write_fd, &fd};

    if (g.unit.failed)
        return false;
    for (int i = 0; i < g.unit.n; i++) {
        pcache_status st = pcache_builder_persist(g.unit.b[i], cls, &sink);
        if (st != PCACHE_OK) {
            unit_fail_builder(i, st, "cannot write a segment");
            return false;
        }
    }
    return true;
}

static size_t ro_size(void *drcontext, void *perscxt, size_t file_offs, void **user_data)
{
    size_t n;
    (void)user_data; /* shared between classes by position in DR 11.91 */
    dr_mutex_lock(g.lock);
    unit_begin(drcontext, perscxt);
    n = size_class(PCACHE_RO, file_offs);
    dr_mutex_unlock(g.lock);
    return n;
}

static size_t rx_size(void *drcontext, void *perscxt, size_t file_offs, void **user_data)
{
    size_t n;
    (void)drcontext;
    (void)user_data;
    dr_mutex_lock(g.lock);
    if (perscxt != g.unit.perscxt) {
        dr_mutex_unlock(g.lock);
        return 0; /* not the unit whose ro was sized: DR's order broken */
    }
    n = size_class(PCACHE_RX, file_offs);
    g.unit.rx_first = file_offs;
    g.unit.rx_total = n;
    dr_mutex_unlock(g.lock);
    return n;
}

static size_t rw_size(void *drcontext, void *perscxt, size_t file_offs, void **user_data)
{
    size_t n = 0;
    (void)drcontext;
    (void)user_data;
    dr_mutex_lock(g.lock);
    if (perscxt == g.unit.perscxt && !g.unit.unit.rw_carried)
        n = size_class(PCACHE_RW, file_offs);
    dr_mutex_unlock(g.lock);
    return n;
}

static bool patch_cache(void *drcontext, void *perscxt, byte *bb_start, size_t bb_size, void *user_data)
{
    bool ok = true;
    (void)drcontext;
    (void)user_data;
    dr_mutex_lock(g.lock);
    if (perscxt != g.unit.perscxt || g.unit.failed) {
        dr_mutex_unlock(g.lock);
        return perscxt != g.unit.perscxt; /* another unit: not ours to refuse */
    }
    for (int i = 0; i < g.unit.n && ok; i++) {
        pcache_dr_client *c = g.unit.who[i];
        pcache_dr_cache cache;
        if (!c->cfg.on_patch)
            continue;
        cache.start = bb_start;
        cache.size = bb_size;
        cache.file_offset = g.unit.rx_total ? g.unit.rx_first + g.unit.rx_total : UINT64_MAX;
        cache.builder = g.unit.b[i];
        if (!c->cfg.on_patch(c->cfg.ctx, &g.unit.unit, &cache)) {
            g.unit.failed = 1;
            fail_reason(c, &g.unit.unit, PCACHE_E_STATE, "on_patch refused DR's cache: DR will abandon the file");
            ok = false;
        }
    }
    dr_mutex_unlock(g.lock);
    return ok;
}

static bool persist_in(pcache_class cls, void *perscxt, file_t fd)
{
    bool ok;
    dr_mutex_lock(g.lock);
    ok = perscxt == g.unit.perscxt && persist_class(cls, fd);
    dr_mutex_unlock(g.lock);
    return ok;
}

static bool ro_persist(void *drcontext, void *perscxt, file_t fd, void *user_data)
{
    (void)drcontext;
    (void)user_data;
    return persist_in(PCACHE_RO, perscxt, fd);
}

static bool rx_persist(void *drcontext, void *perscxt, file_t fd, void *user_data)
{
    (void)drcontext;
    (void)user_data;
    return persist_in(PCACHE_RX, perscxt, fd);
}

static bool rw_persist(void *drcontext, void *perscxt, file_t fd, void *user_data)
{
    (void)drcontext;
    (void)user_data;
    return persist_in(PCACHE_RW, perscxt, fd);
}

pcache_status pcache_dr_patch_cache(const pcache_dr_cache *cache, uint8_t *field, pcache_reloc_kind kind,
                                    int32_t pc_offset, pcache_class cls, const char *section, uint64_t offset,
                                    pcache_report *rep)
{
    uint64_t target, width = kind == PCACHE_RELOC_REL8 ? 1 : 4;
    pcache_status st;

    if (rep)
        memset(rep, 0, sizeof *rep);
    if (!cache || !field || (kind != PCACHE_RELOC_REL8 && kind != PCACHE_RELOC_REL32) ||
        field < cache->start || (size_t)(field - cache->start) > cache->size ||
        cache->size - (size_t)(field - cache->start) < width) {
        if (rep) {
            rep->status = PCACHE_E_INVALID_ARGUMENT;
            snprintf(rep->message, sizeof rep->message,
                     "pcache_dr_patch_cache: a relative kind (rel8, rel32) and a field inside DR's cache");
        }
        return PCACHE_E_INVALID_ARGUMENT;
    }
    if (cache->file_offset == UINT64_MAX) {
        if (rep) {
            rep->status = PCACHE_E_STATE;
            snprintf(rep->message, sizeof rep->message,
                     "DR does not say where its cache lies in the file; the adapter infers it from the end of "
                     "this library's rx data, and this unit has none");
        }
        return PCACHE_E_STATE;
    }
    if (cls == PCACHE_RW) {
        if (rep) {
            rep->status = PCACHE_E_RELOC_TARGET;
            snprintf(rep->message, sizeof rep->message,
                     "rw section '%.31s' cannot be a target: rw is loaded as a private copy", section ? section : "");
        }
        return PCACHE_E_RELOC_TARGET;
    }
    if ((st = pcache_builder_section_file_offset(cache->builder, cls, section, &target)) != PCACHE_OK) {
        if (rep) {
            rep->status = st;
            snprintf(rep->message, sizeof rep->message, "%s section '%.31s': %s", pcache_class_name(cls),
                     section ? section : "", pcache_strerror(st));
        }
        return st;
    }
    return pcache_encode_reference(kind, PCACHE_LITTLE_ENDIAN, field,
                                   cache->file_offset + (uint64_t)(field - cache->start), pc_offset,
                                   target + offset, rep);
}

/* ------------------------------------------------------------------ */
/* loading                                                             */
/* ------------------------------------------------------------------ */

static pending *pending_for(void *perscxt, int create)
{
    for (int i = 0; i < g.npend; i++)
        if (g.pend[i].perscxt == perscxt)
            return &g.pend[i];
    if (!create)
        return NULL;
    if (g.npend == MAX_PENDING) {
        /* Loads DR abandoned between rx and ro leave entries: drop the oldest. */
        memmove(&g.pend[0], &g.pend[1], sizeof g.pend[0] * (MAX_PENDING - 1));
        g.npend--;
    }
    memset(&g.pend[g.npend], 0, sizeof g.pend[0]);
    g.pend[g.npend].perscxt = perscxt;
    return &g.pend[g.npend++];
}

static void pending_drop(pending *p)
{
    int i = (int)(p - g.pend);
    memmove(&g.pend[i], &g.pend[i + 1], sizeof g.pend[0] * (size_t)(g.npend - i - 1));
    g.npend--;
}

static void expectation(const pcache_dr_client *c, const pcache_dr_unit *u, pcache_expect *exp)
{
    pcache_identity id;
    pcache_identity_init(&id, c->name, c->cfg.client_version);
    pcache_identity_set_module(&id, u->start, u->size, NULL, 0);
    pcache_expect_init(exp, &id);
    exp->validation = c->cfg.validation ? c->cfg.validation : PCACHE_VALIDATE_FULL;
}

/* One of this library's segments starts at *map when it carries the magic
 * and a registrant's name; anything else belongs to another client or to
 * DR, and the walk stops there without consuming it.  Resurrects each of
 * ours and reports them through got (registrant index, segment).  Returns
 * 0 to fail closed. */
typedef void (*got_fn)(int who, const pcache_segment *seg, void *arg);

static int walk_slot(const pcache_dr_unit *u, byte **map, int ro_slot, got_fn got, void *arg)
{
    const uint8_t *p = *map;

    for (;;) {
        char name[PCACHE_CLIENT_NAME_MAX + 1];
        pcache_class cls;
        pcache_segment seg;
        pcache_expect exp;
        pcache_report rep;
        pcache_status st;
        int who;

        if (pcache_slot_peek(p, &cls, name) != PCACHE_OK || (who = client_index(name)) < 0)
            break;
        if (cls == PCACHE_CLASS_COUNT || (cls == PCACHE_RO) != ro_slot) {
            fail_reason(g.client[who], u, PCACHE_E_CLASS,
                        "a segment stating class %s arrived through DR's %s callback: the file is not as written",
                        cls == PCACHE_CLASS_COUNT ? "?" : pcache_class_name(cls), ro_slot ? "ro" : "rx/rw");
            return 0;
        }
        expectation(g.client[who], u, &exp);
        if ((st = pcache_resurrect(&seg, cls, &p, PCACHE_SIZE_UNKNOWN, &exp, &rep)) != PCACHE_OK) {
            fail_reason(g.client[who], u, st, "%s", rep.message);
            return 0;
        }
        got(who, &seg, arg);
    }
    *map = (byte *)p;
    return 1;
}

static void got_rxrw(int who, const pcache_segment *seg, void *arg)
{
    pending *p = arg;
    /* DR walks the rw slot before the rx slot: anything held when rw
     * arrives, or an rx when rx arrives, is from a load DR abandoned. */
    if (seg->cls == PCACHE_RW || p->have[who][PCACHE_RX])
        memset(p->have[who], 0, sizeof p->have[who]);
    p->have[who][seg->cls] = 1;
    p->seg[who][seg->cls] = *seg;
}

static bool rxrw_resurrect(void *drcontext, void *perscxt, byte **map)
{
    pcache_dr_unit u = unit_of(drcontext, perscxt);
    pending *p;
    bool ok;

    dr_mutex_lock(g.lock);
    p = pending_for(perscxt, 1);
    ok = walk_slot(&u, map, 0, got_rxrw, p) != 0;
    if (!ok)
        pending_drop(p);
    dr_mutex_unlock(g.lock);
    return ok;
}

typedef struct ro_batch {
    held_image *img[PCACHE_DR_MAX_CLIENTS];
    int twice, no_memory;
} ro_batch;

static void got_ro(int who, const pcache_segment *seg, void *arg)
{
    ro_batch *b = arg;
    if (b->img[who]) {
        b->twice = 1;
        return;
    }
    if (!(b->img[who] = dr_global_alloc(sizeof *b->img[who]))) {
        b->no_memory = 1;
        return;
    }
    memset(b->img[who], 0, sizeof *b->img[who]);
    b->img[who]->seg[PCACHE_RO] = *seg;
}

static void *copy_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return dr_global_alloc(size);
}

static void copy_free(void *ctx, void *mem, size_t size)
{
    (void)ctx;
    dr_global_free(mem, size);
}

typedef struct resolve_ctx {
    const pcache_dr_client *c;
    const pcache_dr_unit *u;
} resolve_ctx;

static int resolve(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    const resolve_ctx *r = ctx;
    if (strcmp(name, PCACHE_ANCHOR_MODULE) == 0) {
        *address = r->u->start;
        return 0;
    }
    if (strcmp(name, PCACHE_ANCHOR_CLIENT) == 0) {
        *address = (uint64_t)(uintptr_t)dr_get_client_base(r->c->cfg.client_id);
        return 0;
    }
    return r->c->cfg.resolve_anchor ? r->c->cfg.resolve_anchor(r->c->cfg.ctx, name, persisted, address) : 1;
}

static int rx_writable(const pcache_segment *rx)
{
    byte *base;
    size_t size;
    uint prot;
    /* DR maps rx read-only under -persist_map_rw_separate (a shared view of
     * a read-only file) and copy-on-write otherwise: ask. */
    return rx && dr_query_memory(rx->base, &base, &size, &prot) && (prot & DR_MEMPROT_WRITE) &&
           rx->base + rx->size <= base + size;
}

static void held_free(held_image *h)
{
    pcache_bound_release(&h->img);
    dr_global_free(h, sizeof *h);
}

static bool ro_resurrect(void *drcontext, void *perscxt, byte **map)
{
    pcache_dr_unit u = unit_of(drcontext, perscxt);
    ro_batch batch;
    pending *p;
    int ok = 1, accepted = 0;

    memset(&batch, 0, sizeof batch);
    dr_mutex_lock(g.lock);
    p = pending_for(perscxt, 0);
    ok = walk_slot(&u, map, 1, got_ro, &batch);
    if (ok && (batch.twice || batch.no_memory)) {
        fail_reason(g.client[0], &u, batch.no_memory ? PCACHE_E_NO_MEMORY : PCACHE_E_FILE_LAYOUT,
                    batch.no_memory ? "no memory to hold a resurrected image"
                                    : "two ro segments of one client in DR's ro slot");
        ok = 0;
    }
    for (int i = 0; ok && i < g.nclients; i++) {
        pcache_dr_client *c = g.client[i];
        held_image *h = batch.img[i];
        pcache_segment *segs[PCACHE_CLASS_COUNT] = {NULL, NULL, NULL};
        pcache_bind_options o;
        resolve_ctx rc = {c, &u};
        pcache_report rep;
        pcache_status st;

        if (!h) {
            if (p && (p->have[i][PCACHE_RX] || p->have[i][PCACHE_RW])) {
                fail_reason(c, &u, PCACHE_E_NOT_FOUND,
                            "rx or rw segments arrived but no ro segment, which holds the manifest");
                ok = 0;
            }
            continue;
        }
        h->unit = u;
        segs[PCACHE_RO] = &h->seg[PCACHE_RO];
        for (int cl = PCACHE_RX; cl <= PCACHE_RW; cl++)
            if (p && p->have[i][cl]) {
                h->seg[cl] = p->seg[i][cl];
                segs[cl] = &h->seg[cl];
            }
        memset(&o, 0, sizeof o);
        o.resolve = resolve;
        o.resolve_ctx = &rc;
        o.rx_writable = rx_writable(segs[PCACHE_RX]);
        o.alloc = copy_alloc;
        o.free = copy_free;
        if ((st = pcache_bind(&h->img, segs, &o, &rep)) != PCACHE_OK) {
            fail_reason(c, &u, st, "%s", rep.message);
            ok = 0;
        }
    }
    /* Every registrant's image checked: now hand them over, in order. */
    for (int i = 0; ok && i < g.nclients; i++) {
        pcache_dr_client *c = g.client[i];
        if (!batch.img[i])
            continue;
        if (!c->cfg.on_resurrect(c->cfg.ctx, &u, &batch.img[i]->img)) {
            fail_reason(c, &u, PCACHE_E_STATE, "the client refused the resurrected image: DR drops this pcache");
            ok = 0;
            break;
        }
        accepted = i + 1;
    }
    for (int i = 0; i < g.nclients; i++) {
        pcache_dr_client *c = g.client[i];
        held_image *h = batch.img[i];
        if (!h)
            continue;
        if (ok) {
            h->next = c->images;
            c->images = h;
            continue;
        }
        if (i < accepted && c->cfg.on_discard)
            c->cfg.on_discard(c->cfg.ctx, &u, &h->img);
        held_free(h);
    }
    if (p)
        pending_drop(p);
    dr_mutex_unlock(g.lock);
    return ok != 0;
}

/* ------------------------------------------------------------------ */
/* registration                                                        */
/* ------------------------------------------------------------------ */

static int name_valid(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > PCACHE_CLIENT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e)
            return 0;
    return 1;
}

static void dr_callbacks_unregister(void)
{
    dr_unregister_persist_ro(ro_size, ro_persist, ro_resurrect);
    dr_unregister_persist_rx(rx_size, rx_persist, rxrw_resurrect);
    dr_unregister_persist_rw(rw_size, rw_persist, rxrw_resurrect);
    dr_unregister_persist_patch(patch_cache);
}

pcache_status pcache_dr_register(const pcache_dr_config *cfg, pcache_dr_client **out)
{
    pcache_dr_client *c;

    if (!out)
        return PCACHE_E_INVALID_ARGUMENT;
    *out = NULL;
    if (!cfg || !cfg->describe || !cfg->on_resurrect ||
        (cfg->validation && (cfg->validation < PCACHE_VALIDATE_HEADER || cfg->validation > PCACHE_VALIDATE_FULL)))
        return PCACHE_E_INVALID_ARGUMENT;
    if (!name_valid(cfg->client_name))
        return PCACHE_E_CLIENT_NAME;
    if (!g.lock && !(g.lock = dr_mutex_create()))
        return PCACHE_E_NO_MEMORY;
    dr_mutex_lock(g.lock);
    if (client_index(cfg->client_name) >= 0) {
        dr_mutex_unlock(g.lock);
        return PCACHE_E_CLIENT_NAME;
    }
    if (g.nclients == (int)PCACHE_DR_MAX_CLIENTS) {
        dr_mutex_unlock(g.lock);
        return PCACHE_E_STATE;
    }
    if (g.nclients == 0) {
        /* One dispatcher for rx and rw: DR 11.91 hands rw bytes to the rx
         * callbacks (NOTES.md, defect 1), a fixed DR to the rw ones. */
        if (!dr_register_persist_ro(ro_size, ro_persist, ro_resurrect) ||
            !dr_register_persist_rx(rx_size, rx_persist, rxrw_resurrect) ||
            !dr_register_persist_rw(rw_size, rw_persist, rxrw_resurrect) ||
            !dr_register_persist_patch(patch_cache)) {
            dr_callbacks_unregister();
            dr_mutex_unlock(g.lock);
            return PCACHE_E_STATE;
        }
    }
    c = dr_global_alloc(sizeof *c);
    if (!c) {
        if (g.nclients == 0)
            dr_callbacks_unregister();
        dr_mutex_unlock(g.lock);
        return PCACHE_E_NO_MEMORY;
    }
    memset(c, 0, sizeof *c);
    c->cfg = *cfg;
    snprintf(c->name, sizeof c->name, "%s", cfg->client_name);
    c->cfg.client_name = c->name;
    g.client[g.nclients++] = c;
    dr_mutex_unlock(g.lock);
    *out = c;
    return PCACHE_OK;
}

void pcache_dr_release(pcache_dr_client *c, pcache_bound_image *img)
{
    held_image **pp;
    if (!c || !img)
        return;
    dr_mutex_lock(g.lock);
    for (pp = &c->images; *pp; pp = &(*pp)->next)
        if (&(*pp)->img == img) {
            held_image *h = *pp;
            *pp = h->next;
            held_free(h);
            break;
        }
    dr_mutex_unlock(g.lock);
}

void pcache_dr_unregister(pcache_dr_client *c)
{
    int i;
    void *lock;

    if (!c || !g.lock)
        return;
    dr_mutex_lock(g.lock);
    for (i = 0; i < g.nclients && g.client[i] != c; i++)
        ;
    if (i == g.nclients) {
        dr_mutex_unlock(g.lock);
        return;
    }
    while (c->images) {
        held_image *h = c->images;
        c->images = h->next;
        held_free(h);
    }
    /* Registrant indices shift: unit and pending state refer to them. */
    unit_free();
    g.npend = 0;
    memmove(&g.client[i], &g.client[i + 1], sizeof g.client[0] * (size_t)(g.nclients - i - 1));
    g.nclients--;
    dr_global_free(c, sizeof *c);
    if (g.nclients > 0) {
        dr_mutex_unlock(g.lock);
        return;
    }
    dr_callbacks_unregister();
    lock = g.lock;
    memset(&g, 0, sizeof g);
    dr_mutex_unlock(lock);
    dr_mutex_destroy(lock);
}
