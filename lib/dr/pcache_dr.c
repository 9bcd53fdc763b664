/* SPDX-License-Identifier: BSD-2-Clause */
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

/* This file is compiled into each client: its functions are the client's
 * own, not exported from the client library (pcache/dr.h). */
#if !defined(PCACHE_DR_API) && defined(__GNUC__) && !defined(_WIN32)
#  define PCACHE_DR_API __attribute__((visibility("hidden")))
#endif

#include "dr_api.h"
#include "pcache/dpc.h"
#include "pcache/dr.h"

#define DR_PAGE 4096u
#define REASON_MAX 400

struct pcache_dr_client {
    pcache_dr_config cfg;
    char name[PCACHE_CLIENT_NAME_MAX + 1];
    struct held_image *images; /* handed to on_resurrect, not yet released */
    /* the build of the client library, read once (client_build()) */
    int build_read;
    pcache_status build_status;
    pcache_build_id build;
    char build_why[400];
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
    uint64_t ro_first, rx_first, rx_total;
    /* DR's patch event: its cache, patched by the clients at ro persist */
    byte *cache_start;
    size_t cache_size;
    int patch_pending;
} persist_unit;

/* A segment of this library that DR handed to the rx/rw dispatcher in a
 * load still waiting for its ro callback (DR resurrects ro last): where it
 * was, never the segment itself, which is validated again from the
 * mapping the ro segment is in.  Entries belong to one load of one unit:
 * a callback of the same perscxt from another mapping (DR reuses its unit
 * structs) drops them, and so does the load's ro callback. */
typedef struct seen {
    void *perscxt;
    uint64_t image_base; /* the segment's address minus its file offset */
    const uint8_t *at;
    uint64_t size;
    int who;
    pcache_class cls;
} seen;

#define MAX_SEEN 64

/* The images the last ro resurrect handed over, kept while DR calls the
 * adapter for nothing else (pcache_dr_unit.merge_source). */
typedef struct last_load {
    int valid;
    uint64_t start, size;
    held_image *img[PCACHE_DR_MAX_CLIENTS];
} last_load;

static struct {
    void *lock;
    pcache_dr_client *client[PCACHE_DR_MAX_CLIENTS]; /* registration order */
    int nclients;
    persist_unit unit;
    seen seen[MAX_SEEN];
    int nseen;
    last_load last; /* see merge_source_for() */
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

static uint64_t readable_at(const void *p);

/* The build of c's client library (its GNU build-id note, else a digest
 * of its text), read from where DR loaded it, once: every image is bound
 * to it, so that a rebuilt library (same name and version, its functions
 * moved) never gets an image whose "client" references are stale. */
static pcache_status client_build(pcache_dr_client *c, const char **why)
{
    if (!c->build_read) {
        const byte *base = dr_get_client_base(c->cfg.client_id);
        pcache_report rep;
        memset(&rep, 0, sizeof rep);
        c->build_status = base ? pcache_build_id_of_loaded_elf(base, readable_at(base), &c->build, &rep)
                               : PCACHE_E_NOT_FOUND;
        snprintf(c->build_why, sizeof c->build_why, "cannot tell the client library's build (at %p): %s",
                 (const void *)base, base ? rep.message : "DR gives no base for this client id");
        c->build_read = 1;
    }
    *why = c->build_why;
    return c->build_status;
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

/* DR's merge with a file on disk is a load right before the persist of
 * the same unit, with no other DR callback in between. */
static pcache_bound_image *merge_source_for(const last_load *l, int who, const pcache_dr_unit *u)
{
    if (!l->valid || l->start != u->start || l->size != u->size || !l->img[who])
        return NULL;
    return &l->img[who]->img;
}

static void last_load_forget(void)
{
    memset(&g.last, 0, sizeof g.last);
}

/* The first DR callback for a unit: build every registrant's image. */
static void unit_begin(void *drcontext, void *perscxt)
{
    uint64 separate = 1;
    last_load last = g.last;

    last_load_forget();
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
        pcache_dr_unit unit;
        const char *why;

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
        if ((st = client_build(c, &why)) != PCACHE_OK) {
            g.unit.failed = 1;
            fail_reason(c, &g.unit.unit, st, "%s: DR will abandon the file", why);
            return;
        }
        if ((st = pcache_builder_set_build(b, &c->build)) != PCACHE_OK) {
            unit_fail_builder(i, st, "cannot bind the image to the client library's build");
            return;
        }
        /* rx data must be whole pages (NOTES.md, defect 3). */
        if ((st = pcache_builder_set_segment_flags(b, PCACHE_RX, PCACHE_SEGMENT_PAGE_ROUNDED)) != PCACHE_OK ||
            (st = pcache_builder_set_anchor(b, PCACHE_ANCHOR_CLIENT,
                                            (uint64_t)(uintptr_t)dr_get_client_base(c->cfg.client_id))) !=
                PCACHE_OK) {
            unit_fail_builder(i, st, "cannot set up the builder");
            return;
        }
        unit = g.unit.unit;
        unit.merge_source = merge_source_for(&last, i, &unit);
        if (!c->cfg.describe(c->cfg.ctx, &unit, b)) {
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
    g.unit.ro_first = file_offs;
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

/* DR's patch event comes before DR writes anything, so the file offset
 * its cache will have is not known yet (DR tells no one, and other
 * clients' rx data may follow this library's).  The adapter keeps the
 * cache and lets the clients patch it at the start of its ro persist
 * callback: DR has written its header by then, and DR writes the cache
 * from memory only after the rx slot. */
static bool patch_cache(void *drcontext, void *perscxt, byte *bb_start, size_t bb_size, void *user_data)
{
    (void)drcontext;
    (void)user_data;
    dr_mutex_lock(g.lock);
    if (perscxt == g.unit.perscxt && !g.unit.failed) {
        g.unit.cache_start = bb_start;
        g.unit.cache_size = bb_size;
        g.unit.patch_pending = 1;
    }
    dr_mutex_unlock(g.lock);
    return true;
}

/* The file offset of DR's cache, from DR's header in the file being
 * written (fd is open for reading too: DR maps it afterwards for its MD5),
 * checked against what the adapter laid out; UINT64_MAX when it cannot
 * be known for sure.  The file position is restored; 0 when it cannot be
 * (the persist must then fail). */
static int cache_offset_from_file(file_t fd, uint64_t *offset)
{
    uint8_t hdr[PCACHE_DPC_HEADER_LEN];
    int64 pos = dr_file_tell(fd);
    ssize_t n;
    int back;
    pcache_dpc d;
    const pcache_dpc_span *rx, *ro;

    *offset = UINT64_MAX;
    if (pos < (int64)sizeof hdr || !dr_file_seek(fd, 0, DR_SEEK_SET))
        return 1;
    n = dr_read_file(fd, hdr, sizeof hdr);
    back = dr_file_seek(fd, pos, DR_SEEK_SET) && dr_file_tell(fd) == pos;
    if (!back)
        return 0;
    if (n != (ssize_t)sizeof hdr || pcache_dpc_parse_header(&d, hdr, sizeof hdr, NULL) != PCACHE_OK)
        return 1;
    ro = &d.region[PCACHE_DPC_R_CLIENT_RO];
    rx = &d.region[PCACHE_DPC_R_CLIENT_RX];
    /* DR is at this library's ro data, inside the ro slot; its rx data, if
     * any, inside the rx slot */
    if ((uint64_t)pos != g.unit.ro_first || g.unit.ro_first < ro->offset || g.unit.ro_first > ro->offset + ro->size ||
        (g.unit.rx_total && (g.unit.rx_first < rx->offset || g.unit.rx_first - rx->offset > rx->size ||
                             g.unit.rx_total > rx->size - (g.unit.rx_first - rx->offset))))
        return 1;
    *offset = d.region[PCACHE_DPC_R_CACHE].offset;
    return 1;
}

static bool run_patches(file_t fd)
{
    uint64_t offset;

    g.unit.patch_pending = 0;
    if (!cache_offset_from_file(fd, &offset)) {
        g.unit.failed = 1;
        fail_reason(g.unit.who[0], &g.unit.unit, PCACHE_E_IO,
                    "cannot restore DR's file position after reading its header: DR will abandon the file");
        return false;
    }
    for (int i = 0; i < g.unit.n; i++) {
        pcache_dr_client *c = g.unit.who[i];
        pcache_dr_cache cache;
        if (!c->cfg.on_patch)
            continue;
        memset(&cache, 0, sizeof cache);
        cache.start = g.unit.cache_start;
        cache.size = g.unit.cache_size;
        cache.file_offset = offset;
        cache.builder = g.unit.b[i];
        cache.rx_read_only = g.unit.unit.rw_carried;
        if (!c->cfg.on_patch(c->cfg.ctx, &g.unit.unit, &cache)) {
            g.unit.failed = 1;
            fail_reason(c, &g.unit.unit, PCACHE_E_STATE, "on_patch refused DR's cache: DR will abandon the file");
            return false;
        }
    }
    return true;
}

static bool persist_in(pcache_class cls, void *perscxt, file_t fd)
{
    bool ok;
    dr_mutex_lock(g.lock);
    ok = perscxt == g.unit.perscxt && (cls != PCACHE_RO || !g.unit.patch_pending || run_patches(fd)) &&
         persist_class(cls, fd);
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
    int relocated = 0;

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
                     "where DR's cache lies in the file could not be read from DR's header, or did not agree "
                     "with the adapter's layout: no reference from the cache can be encoded");
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
    /* DR's cache runs its references into DR's mapping of the file, where
     * ro is never relocated and rx only when DR maps it writable: a
     * reference to a section whose values are known only at load would
     * read the persisted ones there. */
    if ((st = pcache_builder_section_relocated(cache->builder, cls, section, &relocated)) == PCACHE_OK &&
        relocated && (cls == PCACHE_RO || cache->rx_read_only)) {
        if (rep) {
            rep->status = PCACHE_E_RELOC_TARGET;
            snprintf(rep->message, sizeof rep->message,
                     "%s section '%.31s' has relocation records; DR's cache reaches it in DR's mapping, %s",
                     pcache_class_name(cls), section,
                     cls == PCACHE_RO ? "where ro is never relocated: read such values from the bound image"
                                      : "where rx is not relocated under -persist_map_rw_separate");
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

/* How many bytes from p on may be read: the run of readable regions DR
 * reports from p (its mapping of the file, both views under
 * -persist_map_rw_separate), capped at DR's 2 GB file limit.  Every read
 * of a slot stays within it: a slot's end is not given, and after the rw
 * slot come DR's footer and the end of the file. */
static uint64_t readable_at(const void *p)
{
    uintptr_t at = (uintptr_t)p, end = at;

    for (int i = 0; i < 64 && end - at < 0x80000000u; i++) {
        byte *base;
        size_t size;
        uint prot;
        if (!dr_query_memory((const byte *)end, &base, &size, &prot) || !(prot & DR_MEMPROT_READ) ||
            (uintptr_t)base > end || (uintptr_t)base + size <= end || (uintptr_t)base + size < (uintptr_t)base)
            break;
        end = (uintptr_t)base + size;
    }
    return (uint64_t)(end - at);
}

static void seen_drop(void *perscxt)
{
    int k = 0;
    for (int i = 0; i < g.nseen; i++)
        if (g.seen[i].perscxt != perscxt)
            g.seen[k++] = g.seen[i];
    g.nseen = k;
}

static void expectation(const pcache_dr_client *c, const pcache_dr_unit *u, pcache_validation v,
                        pcache_expect *exp)
{
    pcache_identity id;
    pcache_identity_init(&id, c->name, c->cfg.client_version);
    pcache_identity_set_module(&id, u->start, u->size, NULL, 0);
    pcache_expect_init(exp, &id);
    exp->validation = v;
}

static pcache_validation validation_of(const pcache_dr_client *c)
{
    return c->cfg.validation ? c->cfg.validation : PCACHE_VALIDATE_FULL;
}

/* One of this library's segments starts at *map when it carries the magic
 * and a registrant's name; anything else belongs to another client or to
 * DR, and the walk stops there without consuming it.  Resurrects each of
 * ours (at validation v, or the registrant's own when v is 0) with every
 * read bounded by what DR mapped, and reports them through got
 * (registrant index, segment).  Returns 0 to fail closed. */
typedef int (*got_fn)(int who, const pcache_segment *seg, void *arg);

static int walk_slot(const pcache_dr_unit *u, byte **map, int ro_slot, pcache_validation v, got_fn got, void *arg)
{
    const uint8_t *p = *map;
    const uint8_t *end = p + readable_at(p);

    for (;;) {
        char name[PCACHE_CLIENT_NAME_MAX + 1];
        pcache_class cls;
        pcache_segment seg;
        pcache_expect exp;
        pcache_report rep;
        pcache_status st;
        int who;

        if (pcache_slot_peek(p, (uint64_t)(end - p), &cls, name) != PCACHE_OK || (who = client_index(name)) < 0)
            break;
        if (cls == PCACHE_CLASS_COUNT || (cls == PCACHE_RO) != ro_slot) {
            fail_reason(g.client[who], u, PCACHE_E_CLASS,
                        "a segment stating class %s arrived through DR's %s callback: the file is not as written",
                        cls == PCACHE_CLASS_COUNT ? "?" : pcache_class_name(cls), ro_slot ? "ro" : "rx/rw");
            return 0;
        }
        expectation(g.client[who], u, v ? v : validation_of(g.client[who]), &exp);
        if ((st = pcache_resurrect(&seg, cls, &p, (uint64_t)(end - p), &exp, &rep)) != PCACHE_OK) {
            fail_reason(g.client[who], u, st, "%s", rep.message);
            return 0;
        }
        if (!got(who, &seg, arg))
            return 0;
    }
    *map = (byte *)p;
    return 1;
}

/* rx and rw: only the header and table are checked here, to know each
 * segment's size and consume it; the segment is validated in full, from
 * where the ro segment's manifest says it is, when ro arrives. */
static int got_rxrw(int who, const pcache_segment *seg, void *arg)
{
    void *perscxt = arg;
    uint64_t base = (uint64_t)(uintptr_t)seg->base - seg->file_offset;

    /* Segments of a load DR abandoned before ro, under a reused perscxt,
     * lie in another mapping: they are forgotten, never bound. */
    for (int i = 0; i < g.nseen; i++)
        if (g.seen[i].perscxt == perscxt && g.seen[i].image_base != base) {
            seen_drop(perscxt);
            break;
        }
    if (g.nseen == MAX_SEEN) {
        memmove(&g.seen[0], &g.seen[1], sizeof g.seen[0] * (MAX_SEEN - 1));
        g.nseen--;
    }
    g.seen[g.nseen++] = (seen){perscxt, base, seg->base, seg->size, who, seg->cls};
    return 1;
}

static bool rxrw_resurrect(void *drcontext, void *perscxt, byte **map)
{
    pcache_dr_unit u = unit_of(drcontext, perscxt);
    bool ok;

    dr_mutex_lock(g.lock);
    last_load_forget();
    ok = walk_slot(&u, map, 0, PCACHE_VALIDATE_HEADER, got_rxrw, perscxt) != 0;
    if (!ok)
        seen_drop(perscxt);
    dr_mutex_unlock(g.lock);
    return ok;
}

typedef struct ro_batch {
    held_image *img[PCACHE_DR_MAX_CLIENTS];
    int twice, no_memory;
} ro_batch;

static int got_ro(int who, const pcache_segment *seg, void *arg)
{
    ro_batch *b = arg;
    if (b->img[who]) {
        b->twice = 1;
        return 0;
    }
    if (!(b->img[who] = dr_global_alloc(sizeof *b->img[who]))) {
        b->no_memory = 1;
        return 0;
    }
    memset(b->img[who], 0, sizeof *b->img[who]);
    b->img[who]->seg[PCACHE_RO] = *seg;
    return 1;
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

/* The copy of ro and rx, which the client may run code from. */
static void *code_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return dr_nonheap_alloc(size, DR_MEMPROT_READ | DR_MEMPROT_WRITE | DR_MEMPROT_EXEC);
}

static void code_free(void *ctx, void *mem, size_t size)
{
    (void)ctx;
    dr_nonheap_free(mem, size);
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

/* Finds registrant who's segment of class cls where ro's manifest says it
 * is, checks that DR handed it over in this load, and validates it there
 * in full.  0: the manifest lists none; 1: found; -1: fail closed. */
static int locate(const pcache_dr_unit *u, int who, held_image *h, pcache_class cls)
{
    pcache_dr_client *c = g.client[who];
    const pcache_segment *ro = &h->seg[PCACHE_RO];
    uint64_t image_base = (uint64_t)(uintptr_t)ro->base - ro->file_offset, off, size, addr;
    const uint8_t *p;
    pcache_expect exp;
    pcache_report rep;
    pcache_status st;
    int handed = 0;

    if ((st = pcache_bind_manifest_entry(&h->seg[PCACHE_RO], cls, &off, &size, &rep)) != PCACHE_OK) {
        fail_reason(c, u, st, "%s", rep.message);
        return -1;
    }
    /* DR must have handed over, in this mapping, the very segment the
     * manifest lists.  Other notes of the same unit and mapping are not
     * used: DR reuses perscxt and can map the next load at the same
     * address after abandoning one before ro, so a note cannot be told
     * apart from a stale one by address; what is bound is validated in
     * full from the bytes where the manifest puts it either way. */
    for (int i = 0; i < g.nseen && size; i++) {
        const seen *s = &g.seen[i];
        if (s->perscxt == u->perscxt && s->who == who && s->cls == cls && s->image_base == image_base &&
            s->size == size && (uint64_t)(uintptr_t)s->at == image_base + off)
            handed = 1;
    }
    if (!size)
        return 0;
    if (!handed) {
        fail_reason(c, u, PCACHE_E_FILE_LAYOUT,
                    "the manifest lists a %s segment of %llu bytes at file offset %llu that DR did not hand "
                    "over in this load",
                    pcache_class_name(cls), (unsigned long long)size, (unsigned long long)off);
        return -1;
    }
    addr = image_base + off; /* handed: DR's pointer, so no wrap */
    p = (const uint8_t *)(uintptr_t)addr;
    expectation(c, u, validation_of(c), &exp);
    if ((st = pcache_resurrect(&h->seg[cls], cls, &p, readable_at(p), &exp, &rep)) != PCACHE_OK) {
        fail_reason(c, u, st, "%s", rep.message);
        return -1;
    }
    return 1;
}

static bool ro_resurrect(void *drcontext, void *perscxt, byte **map)
{
    pcache_dr_unit u = unit_of(drcontext, perscxt);
    ro_batch batch;
    int ok = 1, accepted = 0;

    const uint8_t *ro_slot = *map;
    uint64_t mapped = readable_at(ro_slot);

    memset(&batch, 0, sizeof batch);
    dr_mutex_lock(g.lock);
    last_load_forget();
    ok = walk_slot(&u, map, 1, 0, got_ro, &batch);
    if (batch.twice || batch.no_memory) {
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
        const char *why;

        if (!h) {
            /* rx and rw lie after the ro slot in DR's mapping */
            for (int k = 0; ok && k < g.nseen; k++)
                if (g.seen[k].perscxt == perscxt && g.seen[k].who == i && g.seen[k].at >= ro_slot &&
                    (uint64_t)(g.seen[k].at - ro_slot) < mapped) {
                    fail_reason(c, &u, PCACHE_E_NOT_FOUND,
                                "rx or rw segments arrived but no ro segment, which holds the manifest");
                    ok = 0;
                }
            continue;
        }
        h->unit = u;
        segs[PCACHE_RO] = &h->seg[PCACHE_RO];
        for (int cl = PCACHE_RX; ok && cl <= PCACHE_RW; cl++) {
            int r = locate(&u, i, h, (pcache_class)cl);
            if (r < 0)
                ok = 0;
            else if (r > 0)
                segs[cl] = &h->seg[cl];
        }
        if (!ok)
            break;
        if ((st = client_build(c, &why)) != PCACHE_OK) {
            fail_reason(c, &u, st, "%s", why);
            ok = 0;
            break;
        }
        memset(&o, 0, sizeof o);
        o.build = &c->build;
        o.resolve = resolve;
        o.resolve_ctx = &rc;
        o.rx_writable = rx_writable(segs[PCACHE_RX]);
        o.flags = PCACHE_BIND_PRIVATE;
        o.alloc = copy_alloc;
        o.free = copy_free;
        o.alloc_exec = code_alloc;
        o.free_exec = code_free;
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
    if (ok) {
        g.last.valid = 1;
        g.last.start = u.start;
        g.last.size = u.size;
        memcpy(g.last.img, batch.img, sizeof g.last.img);
    }
    /* This load is over, whatever DR does next. */
    seen_drop(perscxt);
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
            for (unsigned k = 0; k < PCACHE_DR_MAX_CLIENTS; k++)
                if (g.last.img[k] == h)
                    g.last.img[k] = NULL;
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
    last_load_forget();
    g.nseen = 0;
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
