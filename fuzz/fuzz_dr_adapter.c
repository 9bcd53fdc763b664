/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Target: the DynamoRIO adapter's resurrect path (lib/dr/pcache_dr.c),
 * driven by the model of DR 11.91 (tests/dr/dr_model*.c) as DR loads a
 * .dpc file: rw slot first (through the rx callbacks, DR's defect 1, or the
 * rw ones as a fixed DR), rx slot, DR's client list, ro slot last.  Two
 * registrations of one library's adapter and a second library's adapter
 * (fuzz/fuzz_dr.h), maybe another client's raw rx callbacks that make DR
 * abandon load 1, then a second load in the same process: DR's freed unit
 * struct comes back as its perscxt, and it may be mapped where load 1 was.
 * The input (fuzz/fuzz_dr.h) holds both files; each is written to a file
 * in a per-process temporary directory, which DR maps.
 *
 * Files whose DR layout pcache_dpc_parse() refuses are not loaded: the
 * model, like DR, walks DR's header without bounds checks, and DR's own
 * header is not the adapter's to defend.  Each input runs twice: as it
 * is, and with the checksums of every segment found by its magic and
 * DR's MD5s repaired (fuzz_fix_dpc), so that mutations reach the
 * adapter's checks behind the checksums.
 *
 * Beyond "no crash, no sanitizer report" (the model maps each pcache in
 * DR's reservation, inaccessible where nothing is mapped: a read past a
 * mapping faults), whenever the adapter hands a client an image:
 *  - every segment of it is a private copy (img->copy), outside DR's
 *    reservation, and was copied from inside the file DR mapped;
 *  - the copy holds the file's bytes there, but for the fields of its
 *    relocation records (read from the file's bytes);
 *  - at full validation those file bytes pass pcache_resurrect() at full
 *    validation: the checksums promise them;
 *  - every section view lies in its segment and is read; the client's
 *    lookups by name land in the copies; rw is writable (and written);
 *  - after DR unmaps every pcache, each image still held is walked again
 *    and read: nothing points into DR's mappings.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "format.h"
#include "fuzz_common.h"
#include "fuzz_dr.h"
#include "dr_raw_client.h"
#include "pcache/dpc.h"
#include "pcache/dr.h"

/* The second library's adapter (tests/dr/second_adapter.h). */
pcache_status second_pcache_dr_register(const pcache_dr_config *cfg, pcache_dr_client **out);
void second_pcache_dr_unregister(pcache_dr_client *client);

#define MAX_HELD 4
#define MAX_FILE (4u << 20)

typedef struct fclient {
    const char *name;
    unsigned id;
    int second;
    pcache_validation validation;
    int refuse;
    pcache_dr_client *handle;
    pcache_bound_image *held[MAX_HELD]; /* accepted and not discarded */
    int nheld;
} fclient;

static fclient clients[3];

/* The file being loaded, zero-padded to whole pages as DR's mapping
 * reads, page-aligned. */
static struct {
    const uint8_t *bytes;
    uint64_t padded;
} cur;

static struct {
    int fail_call;
    unsigned calls;
} raw;

static char dir[256];
static char path[2][300];

/* ------------------------------------------------------------------ */
/* what a client checks                                                */

static int in_reservation(const uint8_t *p, uint64_t n)
{
    uint64_t a = (uint64_t)(uintptr_t)p, r = dr_model_reachable_base();
    return a < r + DR_MODEL_RESERVATION_SIZE && a + n > r;
}

/* The segment at file offset pos of the file being loaded, resurrected
 * again from the file's bytes at level v with seg's own identity. */
static pcache_status from_file(const pcache_segment *seg, uint64_t pos, pcache_validation v, pcache_segment *out,
                               pcache_report *rep)
{
    pcache_expect exp;
    const uint8_t *p = cur.bytes + pos;
    pcache_expect_init(&exp, &seg->identity);
    exp.validation = v;
    return pcache_resurrect(out, seg->cls, &p, cur.padded - pos, &exp, rep);
}

/* The copy equals the file's bytes but for the relocation fields. */
static void compare_copy(const pcache_segment *seg, uint64_t pos)
{
    pcache_segment file;
    pcache_report rep;
    pcache_status st = from_file(seg, pos, PCACHE_VALIDATE_HEADER, &file, &rep);
    uint8_t *want;
    uint64_t n;
    pcache_reloc_iter it;

    if (st != PCACHE_OK)
        fuzz_fail("the adapter took a %s segment at file offset %llu that does not resurrect from the file: %s",
                  pcache_class_name(seg->cls), (unsigned long long)pos, rep.message);
    if (file.size != seg->size)
        fuzz_fail("%s copy of %llu bytes, the file's segment has %llu", pcache_class_name(seg->cls),
                  (unsigned long long)seg->size, (unsigned long long)file.size);
    /* the file's bytes, with the copy's in each record's field */
    if (!(want = malloc((size_t)seg->size + 1)))
        fuzz_fail("out of memory");
    memcpy(want, file.base, (size_t)seg->size);
    n = pcache_segment_reloc_count(&file);
    if (pcache_reloc_iter_init(&it, &file) != PCACHE_OK)
        fuzz_fail("records of a resurrected segment unreadable");
    for (uint64_t i = 0; i < n; i++) {
        pcache_reloc r;
        uint64_t at, w;
        if (pcache_reloc_iter_next(&it, &r) != PCACHE_OK)
            fuzz_fail("record %llu of %llu unreadable", (unsigned long long)i, (unsigned long long)n);
        if (r.site_index >= file.section_count)
            fuzz_fail("record %llu: site section %u of %u", (unsigned long long)i, r.site_index,
                      file.section_count);
        at = ld64(file.base + SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * r.site_index + SE_OFFSET) + r.site_offset;
        w = pcache_reloc_width(r.kind);
        if (at < seg->size && w <= seg->size - at)
            memcpy(want + at, seg->base + at, (size_t)w);
    }
    if (memcmp(want, seg->base, (size_t)seg->size) != 0)
        for (uint64_t k = 0; k < seg->size; k++)
            if (want[k] != seg->base[k])
                fuzz_fail("byte %llu of the %s copy is 0x%02x, the file has 0x%02x, and no record covers it",
                          (unsigned long long)k, pcache_class_name(seg->cls), seg->base[k], want[k]);
    free(want);
}

static void touch(const void *p, uint64_t n)
{
    volatile uint8_t sink = 0;
    for (uint64_t k = 0; k < n; k++)
        sink ^= ((const uint8_t *)p)[k];
    (void)sink;
}

/* A view the client got by name lies in the copy of the class holding it. */
static void check_view(const pcache_bound_image *img, pcache_class cls, const pcache_view *v)
{
    const pcache_segment *home = img->seg[cls];
    const uint8_t *d = v->data;
    if (cls == PCACHE_RW && (img->manifest_flags & PCACHE_MANIFEST_RW_CARRIED))
        home = img->seg[PCACHE_RO];
    if (!home || d < home->base || v->size > home->size || (uint64_t)(d - home->base) > home->size - v->size)
        fuzz_fail("%s view '%s' of %llu bytes outside its segment's copy", pcache_class_name(cls), v->name,
                  (unsigned long long)v->size);
    touch(d, v->size);
}

static void client_lookups(pcache_bound_image *img)
{
    static const struct {
        pcache_class cls;
        const char *name;
    } names[] = {{PCACHE_RO, "table"}, {PCACHE_RO, "strings"}, {PCACHE_RX, "code"}, {PCACHE_RW, "counters"}};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        pcache_view v;
        pcache_report rep;
        pcache_status st = pcache_bound_find(img, names[i].cls, names[i].name, &v, &rep);
        void *buf = NULL;
        if (st != PCACHE_OK) {
            fuzz_check_failure(st, &rep, "pcache_bound_find");
            continue;
        }
        check_view(img, names[i].cls, &v);
        if (names[i].cls == PCACHE_RW) {
            uint8_t *w = pcache_bound_writable(img, PCACHE_RW, &v);
            if (!w)
                fuzz_fail("rw section '%s' not writable", v.name);
            memset(w, 0xa5, (size_t)v.size);
        }
        if (names[i].cls == PCACHE_RO) {
            st = pcache_bound_inflate_alloc(img, PCACHE_RO, names[i].name, &buf, &v, &rep);
            if (st != PCACHE_OK)
                fuzz_check_failure(st, &rep, "pcache_bound_inflate_alloc");
            else
                touch(buf, v.size);
            pcache_free(buf);
        }
    }
}

static void check_image(const fclient *c, pcache_bound_image *img)
{
    const dr_model_view *v = dr_model_loading();

    if (!v || !v->map)
        fuzz_fail("on_resurrect outside a load");
    if (!img->seg[PCACHE_RO])
        fuzz_fail("an image without its ro segment");
    for (int cl = 0; cl < PCACHE_CLASS_COUNT; cl++) {
        pcache_segment *seg = img->seg[cl];
        uint64_t pos;
        if (!seg)
            continue;
        if ((int)seg->cls != cl)
            fuzz_fail("image slot %d holds a %s segment", cl, pcache_class_name(seg->cls));
        if (seg->base != img->copy[cl] || !seg->base)
            fuzz_fail("the %s segment is not in a private copy", pcache_class_name(seg->cls));
        if (in_reservation(seg->base, seg->size))
            fuzz_fail("the %s copy lies in DR's reservation", pcache_class_name(seg->cls));
        /* where in the file the copy came from */
        pos = img->image_base + seg->file_offset - (uint64_t)(uintptr_t)v->map;
        if (pos > cur.padded || seg->size > cur.padded - pos)
            fuzz_fail("the %s segment (%llu bytes) was taken from outside the %llu-byte mapping (offset %llu)",
                      pcache_class_name(seg->cls), (unsigned long long)seg->size, (unsigned long long)cur.padded,
                      (unsigned long long)pos);
        compare_copy(seg, pos);
        if (c->validation == PCACHE_VALIDATE_FULL) {
            pcache_segment again;
            pcache_report rep;
            if (from_file(seg, pos, PCACHE_VALIDATE_FULL, &again, &rep) != PCACHE_OK)
                fuzz_fail("accepted at full validation, the file's %s segment fails it: %s",
                          pcache_class_name(seg->cls), rep.message);
        }
        fuzz_walk_segment(seg, 1);
    }
    client_lookups(img);
}

/* ------------------------------------------------------------------ */
/* the clients' callbacks                                              */

static int describe(void *ctx, const pcache_dr_unit *unit, pcache_builder *b)
{
    (void)ctx;
    (void)unit;
    (void)b;
    fuzz_fail("the target persists nothing");
}

static int on_resurrect(void *ctx, const pcache_dr_unit *unit, pcache_bound_image *img)
{
    fclient *c = ctx;
    dr_model_unit u = fuzz_dr_unit();
    if (unit->size != u.end_offs - u.start_offs)
        fuzz_fail("unit of %llu bytes", (unsigned long long)unit->size);
    check_image(c, img);
    if (c->refuse)
        return 0;
    if (c->nheld == MAX_HELD)
        fuzz_fail("more images than loads");
    c->held[c->nheld++] = img;
    return 1;
}

static void on_discard(void *ctx, const pcache_dr_unit *unit, pcache_bound_image *img)
{
    fclient *c = ctx;
    (void)unit;
    for (int i = 0; i < c->nheld; i++)
        if (c->held[i] == img) {
            c->held[i] = c->held[--c->nheld];
            return;
        }
    fuzz_fail("on_discard of an image the client does not hold");
}

static void on_error(void *ctx, const pcache_dr_unit *unit, pcache_status st, const char *reason)
{
    (void)ctx;
    (void)unit;
    if (st == PCACHE_OK || (unsigned)st >= PCACHE_STATUS_COUNT || !reason || !reason[0])
        fuzz_fail("on_error with status %d and reason '%s'", (int)st, reason ? reason : "(null)");
}

static bool raw_resurrect(void *drcontext, void *perscxt, byte **map)
{
    (void)drcontext;
    (void)perscxt;
    (void)map;
    return (int)++raw.calls != raw.fail_call;
}

/* ------------------------------------------------------------------ */
/* a process, two loads                                                */

static const pcache_validation levels[4] = {0, PCACHE_VALIDATE_HEADER, PCACHE_VALIDATE_LAZY, PCACHE_VALIDATE_FULL};

static void reg(fclient *c, const char *name, unsigned id, int second, pcache_validation v, int refuse)
{
    pcache_dr_config cfg;
    pcache_status st;

    memset(c, 0, sizeof *c);
    c->name = name;
    c->id = id;
    c->second = second;
    c->validation = v ? v : PCACHE_VALIDATE_FULL;
    c->refuse = refuse;
    memset(&cfg, 0, sizeof cfg);
    cfg.client_name = name;
    cfg.client_version = FUZZ_DR_VERSION;
    cfg.client_id = id;
    cfg.validation = v;
    cfg.ctx = c;
    cfg.describe = describe;
    cfg.on_resurrect = on_resurrect;
    cfg.on_discard = on_discard;
    cfg.on_error = on_error;
    st = (second ? second_pcache_dr_register : pcache_dr_register)(&cfg, &c->handle);
    if (st != PCACHE_OK)
        fuzz_fail("registering %s: %s", name, pcache_status_name(st));
}

static void process(uint8_t c0, uint8_t c1)
{
    dr_model_options o;
    unsigned nlibs = (c1 & FUZZ_DR_C1_ONE_LIBRARY) ? 1 : 2, beta = (c1 >> FUZZ_DR_C1_BETA_SHIFT) & 3,
             gamma = (c1 >> FUZZ_DR_C1_GAMMA_SHIFT) & 3, rawmode = (c0 & FUZZ_DR_C0_RAW_MASK) >> FUZZ_DR_C0_RAW_SHIFT;

    dr_model_default_options(&o);
    o.fixed_rw_resurrect = (c0 & FUZZ_DR_C0_FIXED_DR) != 0;
    o.persist_map_rw_separate = (c0 & FUZZ_DR_C0_MAP_SEPARATE) != 0;
    o.map_where_dropped = (c0 & FUZZ_DR_C0_SAME_PLACE) != 0;
    dr_model_reset(&o);
    dr_model_set_clients(fuzz_dr_libs, nlibs);
    for (unsigned i = 0; i < 2; i++)
        dr_model_set_client_base(i, dr_model_reachable_base() + 0x1000000ull * (i + 1) +
                                        ((c0 & FUZZ_DR_C0_CLIENTS_MOVED) ? 0x4000000ull : 0));
    memset(clients, 0, sizeof clients);
    reg(&clients[0], "alpha", 0, 0, levels[c1 & FUZZ_DR_C1_ALPHA_MASK], (c1 & FUZZ_DR_C1_ALPHA_REFUSES) != 0);
    if (beta)
        reg(&clients[1], "beta", 0, 0, beta == 3 ? PCACHE_VALIDATE_LAZY : 0, beta == 2);
    if (gamma)
        reg(&clients[2], "gamma", 1, 1, gamma == 3 ? PCACHE_VALIDATE_HEADER : 0, gamma == 2);
    memset(&raw, 0, sizeof raw);
    if (rawmode) {
        /* registered last: DR calls it first */
        if (!dr_register_persist_rx(raw_size, raw_persist, raw_resurrect))
            fuzz_fail("registering the raw client");
        raw.fail_call = rawmode == 1 ? 0 : (int)rawmode - 1;
    }
}

static void end_process(void)
{
    /* DR unmaps every pcache: the images still held are private */
    dr_model_unload_all();
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < clients[i].nheld; k++)
            for (int cl = 0; cl < PCACHE_CLASS_COUNT; cl++)
                if (clients[i].held[k]->seg[cl])
                    fuzz_walk_segment(clients[i].held[k]->seg[cl], 1);
    for (int i = 2; i >= 0; i--)
        if (clients[i].handle)
            (clients[i].second ? second_pcache_dr_unregister : pcache_dr_unregister)(clients[i].handle);
    memset(clients, 0, sizeof clients);
    dr_model_reset(NULL);
}

static void put_file(const char *p, const uint8_t *data, size_t n)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t done = 0;
    if (fd < 0)
        fuzz_fail("cannot write %s", p);
    while (done < n) {
        ssize_t w = write(fd, data + done, n - done);
        if (w <= 0)
            fuzz_fail("cannot write %s", p);
        done += (size_t)w;
    }
    close(fd);
}

/* DR (the model) loads file k, which holds data[0, n). */
static void load(int k, const uint8_t *data, size_t n)
{
    pcache_dpc d;
    pcache_status st = pcache_dpc_parse(&d, data, n, NULL);
    dr_model_unit u = fuzz_dr_unit();
    dr_model_view v;
    void *block;
    uint64_t padded = (n + 4095) & ~(uint64_t)4095;

    if ((st != PCACHE_OK && st != PCACHE_E_DPC_DIGEST) || !d.have_layout)
        return;
    if (posix_memalign(&block, 4096, (size_t)padded) != 0)
        fuzz_fail("out of memory");
    memset(block, 0, (size_t)padded);
    memcpy(block, data, n);
    cur.bytes = block;
    cur.padded = padded;
    put_file(path[k], data, n);
    dr_model_load(&u, path[k], &v, NULL, 0);
    cur.bytes = NULL;
    free(block);
}

static void run(uint8_t c0, uint8_t c1, const uint8_t *f1, size_t n1, const uint8_t *f2, size_t n2)
{
    process(c0, c1);
    load(0, f1, n1);
    raw.fail_call = 0;
    if (!(c0 & FUZZ_DR_C0_ONE_LOAD) && f2)
        load(1, f2, n2);
    end_process();
}

static void cleanup(void)
{
    unlink(path[0]);
    unlink(path[1]);
    rmdir(dir);
}

static void setup(void)
{
    const char *t = getenv("TMPDIR");
    if (dir[0])
        return;
    snprintf(dir, sizeof dir, "%s/pcache-fuzz-dr-XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(dir))
        fuzz_fail("cannot make a temporary directory");
    snprintf(path[0], sizeof path[0], "%s/1.dpc", dir);
    snprintf(path[1], sizeof path[1], "%s/2.dpc", dir);
    atexit(cleanup);
}

int fuzz_dr_adapter(const uint8_t *data, size_t size)
{
    const uint8_t *rest;
    uint8_t *f1, *f2 = NULL, *x1, *x2 = NULL;
    size_t n1, nrest, n2 = 0;

    if (size < FUZZ_DR_PREFIX)
        return 0;
    setup();
    n1 = ld32(data + 2);
    if (n1 > size - FUZZ_DR_PREFIX)
        n1 = size - FUZZ_DR_PREFIX;
    if (n1 > MAX_FILE)
        return 0;
    rest = data + FUZZ_DR_PREFIX + n1;
    nrest = size - FUZZ_DR_PREFIX - n1;
    if (!(f1 = malloc(n1 + 1)))
        fuzz_fail("out of memory");
    memcpy(f1, data + FUZZ_DR_PREFIX, n1);
    if (nrest >= 4 && ld32(rest) == PCACHE_DPC_MAGIC) {
        n2 = nrest;
        if (n2 > MAX_FILE)
            n2 = MAX_FILE;
        f2 = malloc(n2 + 1);
        if (f2)
            memcpy(f2, rest, n2);
    } else if (n1) {
        n2 = n1;
        f2 = malloc(n2 + 1);
        if (f2) {
            memcpy(f2, f1, n1);
            for (size_t i = 0; i + 5 <= nrest; i += 5)
                f2[ld32(rest + i) % n1] ^= rest[i + 4];
        }
    }
    if (n2 && !f2)
        fuzz_fail("out of memory");

    run(data[0], data[1], f1, n1, f2, n2);

    /* again with every checksum and digest repaired */
    x1 = malloc(n1 + 1);
    if (!x1)
        fuzz_fail("out of memory");
    memcpy(x1, f1, n1);
    fuzz_fix_dpc(x1, n1);
    if (f2) {
        if (!(x2 = malloc(n2 + 1)))
            fuzz_fail("out of memory");
        memcpy(x2, f2, n2);
        fuzz_fix_dpc(x2, n2);
    }
    if (memcmp(x1, f1, n1) != 0 || (f2 && memcmp(x2, f2, n2) != 0))
        run(data[0], data[1], x1, n1, x2, n2);
    free(f1);
    free(f2);
    free(x1);
    free(x2);
    return 0;
}

FUZZ_ENTRY(fuzz_dr_adapter)
