/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pcache-bench: how fast images are persisted, resurrected, relocated and
 * verified, each figure beside its baselines measured in the same process
 * and run, and the performance targets checked against them
 * (docs/PERFORMANCE.md).
 *
 * Every figure is the median over --runs timed batches; a batch repeats the
 * operation until it has taken --batch-ms, so that short operations are
 * not lost in the clock's resolution.  Buffers are allocated and touched
 * before timing: what is measured is the operation, not page faults.
 *
 * It links the static library because it reports which XXH3 code path
 * the library dispatches to, an internal matter (lib/checksum/checksum_xxh3.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <md5.h>
#include <zlib.h>

#include "pcache/dpc.h"
#include "pcache/pcache.h"
#if __has_include("pcache/reloc.h")
#include "pcache/reloc.h"
#define BENCH_HAVE_RELOC 1
#else
#define BENCH_HAVE_RELOC 0
#endif

#include "bench_measure.h"
#include "bench_report.h"
#include "checksum_xxh3.h"
#include "hostile_dpc.h"
#include "malloc_count.h"

extern char **environ;

#define PROG "pcache-bench"
#define KIB 1024ull
#define MIB (1024ull * 1024ull)
#define SECTIONS 8u       /* per image, whatever its size: header work stays fixed */
#define PAGE 4096u

/* The throughput targets hold where throughput is what is measured: below
 * this size the fixed cost of a segment (header, table, identity) is most
 * of the time, and the table shows it rather than judges it. */
#define THROUGHPUT_TARGET_MIN (1 * MIB)
#define PERSIST_VS_MEMCPY_MAX 1.3
#define FULL_VS_XXH3_MIN_THROUGHPUT 0.9
#define HEADER_GROWTH_MAX 1.25 /* header-only time, any image vs the smallest */
/* Below 1 MiB a segment's fixed cost (header, table, one checksum per
 * section) weighs: the small images DynamoRIO clients persist per module
 * have targets of their own (issue 15). */
#define PERSIST_VS_MEMCPY_4K 4.0
#define PERSIST_VS_MEMCPY_16K 2.0
#define FULL_VS_XXH3_4K 2.5
#define FULL_VS_XXH3_16K 1.5
/* Header-only resurrect of the 8-section image against XXH3-64 of its
 * header and table bytes (the fastest path): the ratio before issue 15's
 * work, measured with this bench on the code of 2207570 (median of 10 runs
 * of 9, at load averages 2.5 to 10: 11.7x to 25.7x; docs/PERFORMANCE.md),
 * and the target, half of it.  The ratio is this CPU's (AMD Zen 5): on
 * another, measure the old code again. */
#define HEADER_VS_XXH3_BEFORE 16.8
#define HEADER_VS_XXH3_MAX (0.5 * HEADER_VS_XXH3_BEFORE)
/* Images of many sections: counts 1, 64, 1024 (the format's limit,
 * PCACHE_MAX_SECTIONS: the 16,384 of issue 15 cannot be written or read),
 * each section SCALE_SECTION_BYTES bytes. */
#define SCALE_SECTION_BYTES 64u
/* Lookup by name at each count against the same lookup in the 1-section
 * image: O(log n) is some 2x at 1024 sections, a scan of the table over
 * 100x. */
#define FIND_GROWTH_MAX 4.0
#define RELOC_VS_LOOP_MAX 2.0
/* issue 16: the compact form (.crelocs) against the same plain loop, and
 * its size in bytes per record (dense abs64 table; half rel32, half abs64) */
#define RELOC_COMPACT_VS_LOOP_MAX 1.2
#define RELOC_COMPACT_DENSE_BYTES_MAX 1.0
#define RELOC_COMPACT_MIXED_BYTES_MAX 4.0
/* Scans of hostile .dpc slots, 1 MiB to 64 MiB: linear when the ratio to
 * XXH3-64 of the same bytes does not grow with the size (quadratic: 4x per
 * size step). */
#define HOSTILE_MIN (1 * MIB)
#define HOSTILE_MAX (64 * MIB)
#define HOSTILE_GROWTH_MAX 2.0
#define HOSTILE_RUNS_LARGE 3u /* runs per figure from 16 MiB: a scan of 64 MiB of magics takes seconds */

enum { EXIT_PASS = 0, EXIT_TARGET_FAILED = 1, EXIT_ERROR = 2 };

typedef struct options {
    uint64_t min_size, max_size;
    bench_timing timing;
    uint64_t reloc_max;
    uint32_t sections_max; /* largest section count of the scaling rows; 0 none */
    const char *inspect;  /* NULL: look beside this executable; "" none */
    const char *dir;
    int json;
    int check;            /* --check: a failed ratio is measured 3 times, the median decides */
} options;

/* ------------------------------------------------------------------ */
/* Failing                                                             */
/* ------------------------------------------------------------------ */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_ERROR);
}

static void check(pcache_status st, const char *what, const pcache_report *rep)
{
    if (st != PCACHE_OK)
        die("%s: %s%s%s", what, pcache_strerror(st), rep && rep->message[0] ? ": " : "",
            rep ? rep->message : "");
}

static void *xalloc_pages(uint64_t size)
{
    uint64_t n = (size + PAGE - 1) / PAGE * PAGE;
    void *p;
    if (n == 0)
        n = PAGE;
    if (n > SIZE_MAX || !(p = aligned_alloc(PAGE, (size_t)n)))
        die("cannot allocate %llu bytes", (unsigned long long)n);
    memset(p, 0, (size_t)n); /* fault the pages in before any timing */
    return p;
}

/* ------------------------------------------------------------------ */
/* The machine                                                         */
/* ------------------------------------------------------------------ */

/* "model name" of /proc/cpuinfo, with the vendor, family and model, for
 * the record only (nothing here is chosen by them). */
static void cpu_model(char *out, size_t cap)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512], name[160] = "unknown", vendor[32] = "", family[16] = "", model[16] = "";
    snprintf(out, cap, "unknown");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':'), *v;
        int len;
        if (!colon)
            continue;
        if (line[0] == '\n')
            break; /* the first processor only */
        v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        len = (int)strcspn(v, "\n");
        if (strncmp(line, "model name", 10) == 0)
            snprintf(name, sizeof name, "%.*s", len, v);
        else if (strncmp(line, "vendor_id", 9) == 0)
            snprintf(vendor, sizeof vendor, "%.*s", len, v);
        else if (strncmp(line, "cpu family", 10) == 0)
            snprintf(family, sizeof family, "%.*s", len, v);
        else if (strncmp(line, "model\t", 6) == 0)
            snprintf(model, sizeof model, "%.*s", len, v);
    }
    fclose(f);
    /* A longer line is cut at cap, which is all the record needs (the
     * result is looked at so that -Wformat-truncation knows it is meant). */
    int n = family[0] ? snprintf(out, cap, "%s, %s family %s model %s", name, vendor, family, model)
                      : snprintf(out, cap, "%s", name);
    if (n < 0)
        snprintf(out, cap, "unknown");
}

static void load_average(double out[3])
{
    if (getloadavg(out, 3) != 3)
        out[0] = out[1] = out[2] = -1;
}

/* The packaged libxxhash may carry its own run-time dispatcher (Debian's
 * does); measured when present, as one more XXH3 baseline. */
extern XXH64_hash_t XXH3_64bits_dispatch(const void *input, size_t len) __attribute__((weak));

/* ------------------------------------------------------------------ */
/* One image                                                           */
/* ------------------------------------------------------------------ */

typedef struct image_case {
    uint64_t size;           /* section bytes */
    uint8_t *src;            /* the sections' bytes */
    pcache_builder *b;
    pcache_identity id;
    uint64_t seg_size;
    uint8_t *seg;            /* the persisted segment, page-aligned */
    uint8_t *dst;            /* where copies and persists go */
    int fd;
    pcache_expect exp[4];    /* by pcache_validation */
    const checksum_xxh3_ops *xxh3;
    uint64_t hash_len;       /* bytes of seg the XXH3 baselines hash: seg_size, or the header and table */
    unsigned sections;
    char (*names)[PCACHE_SECTION_NAME_MAX + 1];
    uint32_t *order;         /* the lookups' sequence of section indices */
    uint32_t next;           /* the next lookup in it */
    pcache_segment *lookup;  /* resurrected once, for the lookups */
    size_t sec_size;         /* bytes per section */
    uint64_t *sec_offset;    /* each section's offset in the segment */
} image_case;

static void op_memcpy(void *ctx)
{
    image_case *c = ctx;
    memcpy(c->dst, c->seg, (size_t)c->seg_size);
    clobber_memory();
}

static void op_persist_memory(void *ctx)
{
    image_case *c = ctx;
    pcache_buffer_sink bs;
    pcache_sink sink = pcache_sink_buffer(&bs, c->dst, (size_t)c->seg_size);
    uint64_t size;
    check(pcache_builder_size(c->b, PCACHE_RO, 0, &size), "size", NULL);
    check(pcache_builder_persist(c->b, PCACHE_RO, &sink), "persist", pcache_builder_report(c->b));
    clobber_memory();
}

static void rewind_file(int fd)
{
    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
        die("cannot truncate the scratch file: %s", strerror(errno));
}

static void op_write(void *ctx)
{
    image_case *c = ctx;
    const uint8_t *p = c->seg;
    size_t left = (size_t)c->seg_size;
    rewind_file(c->fd);
    while (left > 0) {
        ssize_t n = write(c->fd, p, left);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            die("write: %s", n < 0 ? strerror(errno) : "no progress");
        }
        p += n;
        left -= (size_t)n;
    }
}

static void op_persist_file(void *ctx)
{
    image_case *c = ctx;
    pcache_sink sink = pcache_sink_fd(&c->fd);
    uint64_t size;
    rewind_file(c->fd);
    check(pcache_builder_size(c->b, PCACHE_RO, 0, &size), "size", NULL);
    check(pcache_builder_persist(c->b, PCACHE_RO, &sink), "persist to file", pcache_builder_report(c->b));
}

static void resurrect(image_case *c, pcache_validation level, pcache_segment *seg)
{
    const uint8_t *map = c->seg;
    pcache_report rep;
    check(pcache_resurrect(seg, PCACHE_RO, &map, c->seg_size, &c->exp[level], &rep), "resurrect", &rep);
}

static void op_resurrect_header(void *ctx)
{
    pcache_segment seg;
    resurrect(ctx, PCACHE_VALIDATE_HEADER, &seg);
    consume(seg.section_count);
}

static void op_resurrect_lazy(void *ctx)
{
    pcache_segment seg;
    pcache_view v;
    pcache_report rep;
    resurrect(ctx, PCACHE_VALIDATE_LAZY, &seg);
    for (uint32_t i = 0; i < seg.section_count; i++)
        check(pcache_segment_section(&seg, i, &v, &rep), "first access", &rep);
    consume((uintptr_t)v.data);
}

static void op_resurrect_full(void *ctx)
{
    pcache_segment seg;
    resurrect(ctx, PCACHE_VALIDATE_FULL, &seg);
    consume(seg.section_count);
}

/* One lookup by name, of the next section in a fixed pseudo-random order,
 * in the segment resurrected once into c->lookup. */
static void op_find(void *ctx)
{
    image_case *c = ctx;
    pcache_view v;
    uint32_t i = c->order[c->next];
    c->next = c->next + 1 == c->sections ? 0 : c->next + 1;
    check(pcache_segment_find(c->lookup, c->names[i], &v, NULL), "find", NULL);
    consume(v.offset);
}

static void op_section(void *ctx)
{
    image_case *c = ctx;
    pcache_view v;
    uint32_t i = c->order[c->next];
    c->next = c->next + 1 == c->sections ? 0 : c->next + 1;
    check(pcache_segment_section(c->lookup, i, &v, NULL), "section", NULL);
    consume(v.offset);
}

/* The checksums full validation must compute, and no more: header,
 * table, each section, on the paths the library takes for their sizes. */
static void op_checksums_alone(void *ctx)
{
    image_case *c = ctx;
    uint64_t h = checksum_xxh3_ops_oneshot(248)->oneshot(c->seg, 248);
    size_t table = 64u * c->sections;
    h ^= checksum_xxh3_ops_oneshot(table)->oneshot(c->seg + 256, table);
    for (unsigned i = 0; i < c->sections; i++)
        h ^= checksum_xxh3_ops_oneshot(c->sec_size)->oneshot(c->seg + c->sec_offset[i], c->sec_size);
    consume(h);
}

/* The copying and checksums persist must do, and no more: table and
 * header hashed, each section copied and hashed in one pass. */
static void op_copy_checksums_alone(void *ctx)
{
    image_case *c = ctx;
    size_t table = 64u * c->sections;
    uint64_t h;
    memcpy(c->dst + 256, c->seg + 256, table);
    h = checksum_xxh3_ops_oneshot(table)->oneshot(c->dst + 256, table);
    memcpy(c->dst, c->seg, 256);
    h ^= checksum_xxh3_ops_oneshot(248)->oneshot(c->dst, 248);
    for (unsigned i = 0; i < c->sections; i++)
        h ^= checksum_xxh3_ops_copy(c->sec_size)->oneshot_copy(c->dst + c->sec_offset[i], c->src + c->sec_size * i,
                                                               c->sec_size);
    consume(h);
    clobber_memory();
}

static void op_xxh3_path(void *ctx)
{
    image_case *c = ctx;
    consume(c->xxh3->oneshot(c->seg, (size_t)c->hash_len));
}

static void op_xxh3_libxxhash(void *ctx)
{
    image_case *c = ctx;
    consume(XXH3_64bits(c->seg, (size_t)c->hash_len));
}

static void op_xxh3_libxxhash_dispatch(void *ctx)
{
    image_case *c = ctx;
    consume(XXH3_64bits_dispatch(c->seg, (size_t)c->hash_len));
}

static void op_crc32(void *ctx)
{
    image_case *c = ctx;
    const uint8_t *p = c->seg;
    uint64_t left = c->seg_size;
    uLong crc = crc32(0, Z_NULL, 0);
    while (left > 0) {
        uInt n = left > UINT_MAX ? UINT_MAX : (uInt)left;
        crc = crc32(crc, p, n);
        p += n;
        left -= n;
    }
    consume(crc);
}

static void op_md5(void *ctx)
{
    image_case *c = ctx;
    MD5_CTX m;
    uint8_t digest[MD5_DIGEST_LENGTH];
    MD5Init(&m);
    MD5Update(&m, c->seg, (size_t)c->seg_size);
    MD5Final(digest, &m);
    consume(digest[0]);
}

/* An image of size bytes in `sections` sections of equal size, 64-byte
 * aligned.  Names: s0 .. s7 for the 8-section images; for the scaling
 * images, "s" and 8 hex digits of a bijection of the index, so that the
 * table is in no name order (as the order sections are added in). */
static void image_setup_n(image_case *c, uint64_t size, unsigned sections, int fd)
{
    uint64_t per = size / sections, x = 0x9E3779B97F4A7C15ull ^ size;
    pcache_buffer_sink bs;
    pcache_sink sink;

    memset(c, 0, sizeof *c);
    c->size = size;
    c->fd = fd;
    c->sections = sections;
    c->src = xalloc_pages(size);
    c->names = malloc(sections * sizeof *c->names);
    c->order = malloc(sections * sizeof *c->order);
    c->sec_offset = malloc(sections * sizeof *c->sec_offset);
    c->lookup = malloc(sizeof *c->lookup);
    if (!c->names || !c->order || !c->sec_offset || !c->lookup)
        die("out of memory");
    c->sec_size = (size_t)per;
    for (uint64_t i = 0; i + 8 <= size; i += 8) { /* xorshift: bytes no checksum can shortcut */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        memcpy(c->src + i, &x, 8);
    }
    for (unsigned i = 0; i < sections; i++) {
        if (sections == SECTIONS)
            snprintf(c->names[i], sizeof c->names[i], "s%u", i);
        else
            snprintf(c->names[i], sizeof c->names[i], "s%08x", (unsigned)(i * 2654435761u));
        c->order[i] = i;
    }
    for (unsigned i = sections; i > 1; i--) { /* a fixed shuffle of the lookups */
        unsigned j, t;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        j = (unsigned)(x % i);
        t = c->order[i - 1], c->order[i - 1] = c->order[j], c->order[j] = t;
    }
    check(pcache_identity_init(&c->id, "pcache-bench", 1), "identity", NULL);
    check(pcache_builder_new(&c->b, &c->id), "builder", NULL);
    for (unsigned i = 0; i < sections; i++)
        check(pcache_builder_add(c->b, PCACHE_RO, c->names[i], c->src + per * i, per, 64, 0), "add section",
              pcache_builder_report(c->b));
    check(pcache_builder_size(c->b, PCACHE_RO, 0, &c->seg_size), "size", pcache_builder_report(c->b));
    c->hash_len = c->seg_size;
    c->seg = xalloc_pages(c->seg_size);
    c->dst = xalloc_pages(c->seg_size);
    sink = pcache_sink_buffer(&bs, c->seg, (size_t)c->seg_size);
    check(pcache_builder_persist(c->b, PCACHE_RO, &sink), "persist", pcache_builder_report(c->b));
    for (int level = PCACHE_VALIDATE_HEADER; level <= PCACHE_VALIDATE_FULL; level++) {
        pcache_expect_init(&c->exp[level], &c->id);
        c->exp[level].validation = (pcache_validation)level;
    }
    {
        const uint8_t *map = c->seg;
        pcache_report rep;
        pcache_view v;
        check(pcache_resurrect(c->lookup, PCACHE_RO, &map, c->seg_size, &c->exp[PCACHE_VALIDATE_HEADER], &rep),
              "resurrect", &rep);
        for (unsigned i = 0; i < sections; i++) {
            check(pcache_segment_section(c->lookup, i, &v, &rep), "section", &rep);
            c->sec_offset[i] = v.offset;
        }
    }
}

static void image_setup(image_case *c, uint64_t size, int fd)
{
    image_setup_n(c, size, SECTIONS, fd);
}

static void image_teardown(image_case *c)
{
    pcache_builder_free(c->b);
    free(c->src);
    free(c->seg);
    free(c->dst);
    free(c->names);
    free(c->order);
    free(c->sec_offset);
    free(c->lookup);
}

/* The zero-copy path allocates nothing: resurrect at each level, every
 * section by index and by name, and a standalone file opened in memory.
 * Returns the allocations counted. */
static unsigned long resurrect_allocations(image_case *c)
{
    unsigned long before, counted;
    pcache_view v;
    pcache_report rep;
    pcache_image img;
    pcache_buffer_sink bs;
    pcache_sink sink;
    uint64_t file_size;
    uint8_t *file;

    check(pcache_file_size(c->b, &file_size), "file size", pcache_builder_report(c->b));
    file = xalloc_pages(file_size);
    sink = pcache_sink_buffer(&bs, file, (size_t)file_size);
    check(pcache_file_write_sink(c->b, &sink, NULL), "write file", pcache_builder_report(c->b));

    before = malloc_count();
    for (int level = PCACHE_VALIDATE_HEADER; level <= PCACHE_VALIDATE_FULL; level++) {
        pcache_segment seg;
        resurrect(c, (pcache_validation)level, &seg);
        for (uint32_t i = 0; i < seg.section_count; i++) {
            check(pcache_segment_section(&seg, i, &v, &rep), "section", &rep);
            check(pcache_segment_find(&seg, c->names[i], &v, &rep), "find", &rep);
        }
    }
    check(pcache_image_open_memory(&img, file, file_size, NULL, &rep), "open file in memory", &rep);
    check(pcache_segment_find(pcache_image_segment(&img, PCACHE_RO), c->names[0], &v, &rep), "find", &rep);
    pcache_image_close(&img);
    counted = malloc_count() - before;
    free(file);
    return counted;
}

/* Whether the counting allocator sees this program's allocations at all
 * (it would not if the C library's malloc were bound first). */
static int malloc_count_works(void)
{
    void *(*volatile alloc)(size_t) = malloc;
    unsigned long before = malloc_count();
    void *p = alloc(24);
    int seen = malloc_count() > before;
    free(p);
    return seen;
}

/* The XXH3 baselines: every runnable path of ours, and the packaged
 * library's own entry points. */
typedef struct xxh3_candidate {
    char name[40];
    op_fn fn;
    const checksum_xxh3_ops *ops;
} xxh3_candidate;

static size_t xxh3_candidates(xxh3_candidate *out)
{
    size_t n = 0;
    for (int p = 0; p < CHECKSUM_XXH3_PATH_COUNT; p++) {
        const checksum_xxh3_ops *ops = checksum_xxh3_ops_for((checksum_xxh3_path)p);
        if (!ops)
            continue;
        snprintf(out[n].name, sizeof out[n].name, "XXH3-64 %s", checksum_xxh3_path_name((checksum_xxh3_path)p));
        out[n].fn = op_xxh3_path;
        out[n++].ops = ops;
    }
    snprintf(out[n].name, sizeof out[n].name, "XXH3-64 libxxhash");
    out[n].fn = op_xxh3_libxxhash;
    out[n++].ops = NULL;
    if (XXH3_64bits_dispatch) {
        snprintf(out[n].name, sizeof out[n].name, "XXH3-64 libxxhash dispatch");
        out[n].fn = op_xxh3_libxxhash_dispatch;
        out[n++].ops = NULL;
    }
    return n;
}

/* A row with a limit, measured as a pair with its baseline.  Under
 * --check a ratio over the limit is measured twice more and the median
 * of the three decides, so that one disturbed measurement does not.
 * judged = 0: shown, not judged (n/a). */
static row *judged_pair(results *res, const char *group, const char *what, uint64_t bytes, const char *baseline,
                        clock_kind k, op_fn fa, void *ca, op_fn fb, void *cb, const options *o, double limit,
                        int judged)
{
    pair q[3];
    unsigned tries = 1, m = 0;
    row *x;

    q[0] = measure_pair_on(k, fa, ca, fb, cb, &o->timing);
    if (judged && o->check && q[0].ratio > limit) {
        unsigned idx[3] = {0, 1, 2};
        q[1] = measure_pair_on(k, fa, ca, fb, cb, &o->timing);
        q[2] = measure_pair_on(k, fa, ca, fb, cb, &o->timing);
        tries = 3;
        for (unsigned i = 0; i < 3; i++) /* sort the three by ratio */
            for (unsigned j = i + 1; j < 3; j++)
                if (q[idx[j]].ratio < q[idx[i]].ratio) {
                    unsigned t = idx[i];
                    idx[i] = idx[j], idx[j] = t;
                }
        m = idx[1];
    }
    x = add_pair_row(res, group, what, bytes, baseline, q[m]);
    x->tries = tries;
    for (unsigned i = 0; i < tries; i++)
        x->tried[i] = q[i].ratio;
    x->v = !judged ? V_NA : x->ratio <= limit ? V_PASS : V_FAIL;
    return x;
}

typedef struct image_targets {
    target *full, *persist, *header, *header_ratio;
    unsigned long allocs;
} image_targets;

/* The fastest XXH3 baseline over c's first c->hash_len bytes: its index
 * in cand, and a row for each candidate when res is not NULL. */
static size_t fastest_xxh3(image_case *c, const xxh3_candidate *cand, size_t ncand, const options *o,
                           results *res, const char *group, uint64_t bytes)
{
    double t_best = 0;
    size_t best = 0;
    for (size_t i = 0; i < ncand; i++) {
        double t;
        c->xxh3 = cand[i].ops;
        t = measure(cand[i].fn, c, &o->timing);
        if (res)
            add_row(res, group, cand[i].name, t, bytes);
        if (i == 0 || t < t_best)
            t_best = t, best = i;
    }
    c->xxh3 = cand[best].ops;
    return best;
}

/* The persist and full-validation limits by image size: 4 KiB and 16 KiB
 * (fixed costs), and from 1 MiB (throughput); none between. */
static double persist_limit(uint64_t size)
{
    return size == 4 * KIB ? PERSIST_VS_MEMCPY_4K : size == 16 * KIB ? PERSIST_VS_MEMCPY_16K
           : size >= THROUGHPUT_TARGET_MIN ? PERSIST_VS_MEMCPY_MAX : 0;
}

static double full_limit(uint64_t size)
{
    return size == 4 * KIB ? FULL_VS_XXH3_4K : size == 16 * KIB ? FULL_VS_XXH3_16K
           : size >= THROUGHPUT_TARGET_MIN ? 1 / FULL_VS_XXH3_MIN_THROUGHPUT : 0;
}

/* Every figure for one image size.  first is the smallest image, kept for
 * the header-only comparison (it is c itself on the first call). */
static void bench_image(image_case *c, image_case *first, const options *o, results *res, image_targets *tg)
{
    xxh3_candidate cand[CHECKSUM_XXH3_PATH_COUNT + 2];
    size_t ncand = xxh3_candidates(cand), best;
    double t_crc, t_md5, t_full, limit;
    char group[48], label[32], best_label[64], first_label[64];
    row *x;

    size_label(c->size, label, sizeof label);
    snprintf(group, sizeof group, "%s image", label);

    /* the checksum baselines */
    c->hash_len = c->seg_size;
    best = fastest_xxh3(c, cand, ncand, o, res, group, c->seg_size);
    snprintf(best_label, sizeof best_label, "fastest: %.39s", cand[best].name);
    t_crc = measure(op_crc32, c, &o->timing);
    add_row(res, group, "zlib crc32", t_crc, c->seg_size);
    t_md5 = measure(op_md5, c, &o->timing);
    add_row(res, group, "MD5 (libmd)", t_md5, c->seg_size);

    /* persist */
    limit = persist_limit(c->size);
    x = judged_pair(res, group, "persist to memory", c->seg_size, "memcpy", CPU_TIME, op_persist_memory, c,
                    op_memcpy, c, o, limit, limit > 0);
    snprintf(x->target, sizeof x->target, limit > 0 ? "<= %.1fx" : "-", limit);
    judge(tg->persist, x->v);
    add_pair_row(res, group, "persist, copy+hash alone", c->seg_size, "memcpy",
                 measure_pair(op_copy_checksums_alone, c, op_memcpy, c, &o->timing));
    add_pair_row(res, group, "persist to a file", c->seg_size, "write(2) to a file",
                 measure_pair(op_persist_file, c, op_write, c, &o->timing));

    /* resurrect */
    size_label(first->size, first_label, sizeof first_label);
    snprintf(first_label + strlen(first_label), sizeof first_label - strlen(first_label), " image, header only");
    x = judged_pair(res, group, "resurrect, header only", 0, first_label, CPU_TIME, op_resurrect_header, c,
                    op_resurrect_header, first, o, HEADER_GROWTH_MAX, 1);
    snprintf(x->target, sizeof x->target, "<= %.2fx", HEADER_GROWTH_MAX);
    judge(tg->header, x->v);
    if (c == first) {
        /* against hashing the bytes it checks: its header and table */
        uint64_t table_end = 256 + 64ull * c->sections;
        size_t hbest;
        char hlabel[64];
        c->hash_len = table_end;
        hbest = fastest_xxh3(c, cand, ncand, o, NULL, group, 0);
        snprintf(hlabel, sizeof hlabel, "%.30s, header+table", cand[hbest].name);
        x = judged_pair(res, group, "resurrect, header only", 0, hlabel, CPU_TIME, op_resurrect_header, c,
                        cand[hbest].fn, c, o, HEADER_VS_XXH3_MAX, HEADER_VS_XXH3_BEFORE > 0);
        snprintf(x->target, sizeof x->target, "<= 0.5 x %.2fx before", HEADER_VS_XXH3_BEFORE);
        judge(tg->header_ratio, x->v);
        c->hash_len = c->seg_size;
        c->xxh3 = cand[best].ops;
    }

    add_pair_row(res, group, "resurrect, lazy (all)", c->seg_size, best_label,
                 measure_pair(op_resurrect_lazy, c, cand[best].fn, c, &o->timing));

    limit = full_limit(c->size);
    x = judged_pair(res, group, "resurrect, full", c->seg_size, best_label, CPU_TIME, op_resurrect_full, c,
                    cand[best].fn, c, o, limit, limit > 0);
    snprintf(x->target, sizeof x->target, limit > 0 ? "<= %.2fx" : "-", limit);
    judge(tg->full, x->v);
    t_full = x->seconds;
    add_pair_row(res, group, "full, checksums alone", c->seg_size, best_label,
                 measure_pair(op_checksums_alone, c, cand[best].fn, c, &o->timing));
    compare(add_row(res, group, "resurrect, full", t_full, c->seg_size), "zlib crc32", t_crc);
    compare(add_row(res, group, "resurrect, full", t_full, c->seg_size), "MD5 (libmd)", t_md5);

    tg->allocs += resurrect_allocations(c);
}

/* Images of 1, 64 and 1024 sections of SCALE_SECTION_BYTES each:
 * resurrect (header only, and full) against XXH3-64 of the bytes each
 * checks, and lookup by name against the same lookup in the 1-section
 * image (first; c itself for that one) and against lookup by index. */
static void bench_scale(image_case *c, image_case *first, const options *o, results *res, target *tg,
                        unsigned long *allocs)
{
    xxh3_candidate cand[CHECKSUM_XXH3_PATH_COUNT + 2];
    size_t ncand = xxh3_candidates(cand), best;
    unsigned sections = c->sections;
    char group[64], label[64];
    row *x;

    snprintf(group, sizeof group, "%u section%s of %u bytes", sections, sections == 1 ? "" : "s",
             SCALE_SECTION_BYTES);
    c->hash_len = 256 + 64ull * sections;
    best = fastest_xxh3(c, cand, ncand, o, NULL, group, 0);
    snprintf(label, sizeof label, "%.30s, header+table", cand[best].name);
    add_pair_row(res, group, "resurrect, header only", 0, label,
                 measure_pair(op_resurrect_header, c, cand[best].fn, c, &o->timing));
    c->hash_len = c->seg_size;
    best = fastest_xxh3(c, cand, ncand, o, NULL, group, 0);
    snprintf(label, sizeof label, "%.30s, segment", cand[best].name);
    add_pair_row(res, group, "resurrect, full", c->seg_size, label,
                 measure_pair(op_resurrect_full, c, cand[best].fn, c, &o->timing));

    x = judged_pair(res, group, "lookup by name", 0, "lookup by name, 1 section", CPU_TIME, op_find, c, op_find,
                    first, o, FIND_GROWTH_MAX, 1);
    snprintf(x->target, sizeof x->target, "<= %.1fx", FIND_GROWTH_MAX);
    judge(tg, x->v);
    add_pair_row(res, group, "lookup by name", 0, "lookup by index",
                 measure_pair(op_find, c, op_section, c, &o->timing));
    *allocs += resurrect_allocations(c);
}

/* ------------------------------------------------------------------ */
/* Relocations                                                         */
/* ------------------------------------------------------------------ */

#if BENCH_HAVE_RELOC
#define RELOC_IMAGE_BASE 0x7f1234560000ull

typedef struct reloc_case {
    pcache_segment seg;
    uint64_t n;
    uint8_t *dst;        /* a writable copy of the code segment */
    uint8_t **site;      /* the plain loop's addresses, */
    uint64_t *value;     /* the values it writes there, */
    uint8_t *width;      /* and their widths (NULL: all 8) */
} reloc_case;

/* The anchor of the mixed tables, and where it is at load. */
#define RELOC_ANCHOR "ext"
#define RELOC_ANCHOR_PERSISTED 0x7f0000100000ull
#define RELOC_ANCHOR_NOW 0x7f12000a0000ull

static int resolve_anchor(void *ctx, const char *name, uint64_t persisted, uint64_t *address)
{
    (void)ctx, (void)persisted;
    if (strcmp(name, RELOC_ANCHOR) != 0)
        return 1;
    *address = RELOC_ANCHOR_NOW;
    return 0;
}

static void op_reloc_apply(void *ctx)
{
    reloc_case *c = ctx;
    pcache_report rep;
    check(pcache_reloc_apply(&c->seg, c->dst, RELOC_IMAGE_BASE, resolve_anchor, NULL, &rep), "relocation apply",
          &rep);
    clobber_memory();
}

static void op_plain_loop(void *ctx)
{
    reloc_case *c = ctx;
    for (uint64_t i = 0; i < c->n; i++)
        memcpy(c->site[i], &c->value[i], 8);
    clobber_memory();
}

/* The same stores, each of its record's width (4 or 8 bytes; little
 * endian, as the bench's image). */
static void op_plain_loop_widths(void *ctx)
{
    reloc_case *c = ctx;
    for (uint64_t i = 0; i < c->n; i++) {
        if (c->width[i] == 4) {
            uint32_t v = (uint32_t)c->value[i];
            memcpy(c->site[i], &v, 4);
        } else {
            memcpy(c->site[i], &c->value[i], 8);
        }
    }
    clobber_memory();
}

/* The tables: dense, every site an abs64 8 bytes after the last; mixed,
 * every other one a rel32 to the anchor instead (a call to another
 * module), the two kinds interleaved as a compiler emits them; irregular,
 * each site's kind (abs64 or rel32) and the gap before it (0, 4, 8 or 12
 * bytes) drawn at random, so that nothing repeats: the compact form's
 * worst case short of a shape per record (one run per record). */
enum { TABLE_DENSE = 0, TABLE_MIXED = 1, TABLE_IRREGULAR = 2 };
static const char *const table_name[] = {"dense", "mixed", "irregular"};

/* Site i's offset in code and whether it is a rel32, for table t; *state
 * carries the irregular table's generator and offset. */
static uint64_t table_site(int t, uint64_t i, uint64_t *state, int *rel32)
{
    if (t != TABLE_IRREGULAR) {
        *rel32 = t == TABLE_MIXED && i % 2;
        return i * 8;
    }
    {
        uint64_t r, off;
        state[0] = state[0] * 6364136223846793005ull + 1442695040888963407ull;
        r = state[0] >> 33;
        *rel32 = (int)(r & 1);
        off = state[1] + 4 * ((r >> 1) & 3);
        state[1] = off + (*rel32 ? 4 : 8);
        return off;
    }
}

/* n references from code (rx) that must be rewritten when the image loads
 * elsewhere: absolute 64-bit addresses of data (ro) and, but in the dense
 * table, 32-bit displacements to an external anchor (table_site). */
static void bench_relocations(uint64_t n, int mixed, pcache_reloc_form form, const options *o, results *res,
                              target *tg, target *tg_size)
{
    int compact = form == PCACHE_RELOC_FORM_COMPACT, table = mixed;
    uint64_t gen[2] = {0x853c49e6748fea9bull, 0};
    uint64_t table_bytes = 0;
    pcache_identity id;
    pcache_builder *b;
    pcache_expect exp;
    pcache_report rep;
    reloc_case c;
    uint64_t code_size = table == TABLE_IRREGULAR ? n * 20 : n * 8;
    uint8_t *code = xalloc_pages(code_size), *data = xalloc_pages(n * 8), *seg_bytes, *check_copy, *applied;
    uint64_t *site_off = malloc(n * sizeof *site_off);
    uint64_t ro_size, rx_offs, rx_size;
    const uint8_t *map;
    char group[80];
    row *x;

    memset(&c, 0, sizeof c);
    c.n = n;
    check(pcache_identity_init(&id, "pcache-bench", 1), "identity", NULL);
    check(pcache_builder_new(&b, &id), "builder", NULL);
    check(pcache_builder_set_reloc_form(b, form), "relocation form", pcache_builder_report(b));
    check(pcache_builder_add(b, PCACHE_RO, "data", data, n * 8, 64, 0), "add", pcache_builder_report(b));
    check(pcache_builder_add(b, PCACHE_RX, "code", code, code_size, 64, 0), "add", pcache_builder_report(b));
    if (!site_off)
        die("out of memory");
    if (mixed)
        check(pcache_builder_set_anchor(b, RELOC_ANCHOR, RELOC_ANCHOR_PERSISTED), "anchor", pcache_builder_report(b));
    for (uint64_t i = 0; i < n; i++) {
        pcache_patch p;
        int rel32;
        memset(&p, 0, sizeof p);
        p.cls = PCACHE_RX;
        p.section = "code";
        p.offset = site_off[i] = table_site(table, i, gen, &rel32);
        if (rel32) {
            p.kind = PCACHE_RELOC_REL32;
            p.pc_offset = 4;
            p.target_kind = PCACHE_TARGET_ANCHOR;
            p.anchor = RELOC_ANCHOR;
            p.target_offset = (i * 7919 * 16) % (1u << 20);
        } else {
            p.kind = PCACHE_RELOC_ABS64;
            p.target_kind = PCACHE_TARGET_SECTION;
            p.target_class = PCACHE_RO;
            p.target_section = "data";
            p.target_offset = (i * 7919 * 8) % (n * 8);
        }
        check(pcache_builder_add_patch(b, &p), "add patch", pcache_builder_report(b));
    }
    check(pcache_builder_size(b, PCACHE_RO, 0, &ro_size), "size", pcache_builder_report(b));
    rx_offs = (ro_size + PAGE - 1) / PAGE * PAGE;
    check(pcache_builder_size(b, PCACHE_RX, rx_offs, &rx_size), "size", pcache_builder_report(b));
    seg_bytes = xalloc_pages(rx_size);
    {
        pcache_buffer_sink bs;
        pcache_sink sink = pcache_sink_buffer(&bs, seg_bytes, (size_t)rx_size);
        check(pcache_builder_persist(b, PCACHE_RX, &sink), "persist", pcache_builder_report(b));
    }
    pcache_expect_init(&exp, &id);
    map = seg_bytes;
    check(pcache_resurrect(&c.seg, PCACHE_RX, &map, rx_size, &exp, &rep), "resurrect", &rep);
    if (pcache_segment_reloc_count(&c.seg) != n)
        die("expected %llu relocation records, found %llu", (unsigned long long)n,
            (unsigned long long)pcache_segment_reloc_count(&c.seg));

    /* The plain loop writes the same values to the same places: those
     * apply wrote, read back from a copy it relocated, at the sites the
     * records name, so that the two can be compared byte for byte. */
    c.dst = xalloc_pages(rx_size);
    check_copy = xalloc_pages(rx_size);
    applied = xalloc_pages(rx_size);
    c.site = malloc(n * sizeof *c.site);
    c.value = malloc(n * sizeof *c.value);
    c.width = table != TABLE_DENSE ? malloc(n) : NULL;
    if (!c.site || !c.value || (table != TABLE_DENSE && !c.width))
        die("out of memory");
    memcpy(applied, seg_bytes, (size_t)rx_size);
    check(pcache_reloc_apply(&c.seg, applied, RELOC_IMAGE_BASE, resolve_anchor, NULL, &rep), "relocation apply",
          &rep);
    /* the sites as declared above (record i is site i in both forms; the
     * byte-for-byte comparison below proves the values) */
    {
        pcache_view v;
        pcache_reloc r;
        pcache_reloc_iter it;
        check(pcache_segment_find(&c.seg, "code", &v, &rep), "section", &rep);
        check(pcache_reloc_iter_init(&it, &c.seg), "records", NULL);
        for (uint64_t i = 0; i < n; i++) {
            uint64_t at = v.offset + site_off[i];
            unsigned w;
            check(pcache_reloc_iter_next(&it, &r), "record", NULL);
            if (r.site_offset != site_off[i])
                die("record %llu at +%llu, declared at +%llu", (unsigned long long)i,
                    (unsigned long long)r.site_offset, (unsigned long long)site_off[i]);
            w = r.kind == PCACHE_RELOC_REL32 ? 4 : 8;
            c.site[i] = check_copy + at;
            c.value[i] = 0;
            memcpy(&c.value[i], applied + at, w);
            if (c.width)
                c.width[i] = (uint8_t)w;
        }
        for (uint32_t k = 0; k < c.seg.section_count; k++)
            if (pcache_segment_section(&c.seg, k, &v, NULL) == PCACHE_OK &&
                (v.type == PCACHE_TYPE_RELOCS || v.type == PCACHE_TYPE_CRELOCS))
                table_bytes = v.size;
    }
    memcpy(c.dst, seg_bytes, (size_t)rx_size);
    memcpy(check_copy, seg_bytes, (size_t)rx_size);
    op_reloc_apply(&c);
    if (c.width)
        op_plain_loop_widths(&c);
    else
        op_plain_loop(&c);
    if (memcmp(c.dst, check_copy, (size_t)rx_size) != 0)
        die("relocation apply and the plain loop wrote different bytes");
    for (uint64_t i = 0; i < n; i++) /* time the loop on the same buffer as apply */
        c.site[i] = c.dst + (c.site[i] - check_copy);

    snprintf(group, sizeof group, "%llu relocations%s, %s", (unsigned long long)n,
             table == TABLE_MIXED       ? ", half rel32 (anchor), half abs64"
             : table == TABLE_IRREGULAR ? ", irregular mix"
                                        : "",
             compact ? ".crelocs" : ".relocs");
    {
        /* the irregular table is shown beside the targets, not judged:
         * the targets are for dense and mixed tables */
        double limit = compact ? RELOC_COMPACT_VS_LOOP_MAX : RELOC_VS_LOOP_MAX;
        int judged = table != TABLE_IRREGULAR;
        x = judged_pair(res, group, compact ? "pcache_reloc_apply, compact" : "pcache_reloc_apply, 48-byte", 0,
                        c.width ? "plain loop, n stores of 4 or 8" : "plain loop, n stores", CPU_TIME,
                        op_reloc_apply, &c, c.width ? op_plain_loop_widths : op_plain_loop, &c, o, limit, judged);
        if (judged) {
            snprintf(x->target, sizeof x->target, "<= %.1fx", limit);
            judge(tg, x->v);
        } else {
            snprintf(x->target, sizeof x->target, "(shown)");
        }
    }
    if (compact) {
        /* the table's size: beside the 48 bytes a record takes in .relocs */
        double per = (double)table_bytes / (double)n;
        size_t len = strlen(tg_size->detail);
        if (table != TABLE_IRREGULAR) {
            double limit = table == TABLE_MIXED ? RELOC_COMPACT_MIXED_BYTES_MAX : RELOC_COMPACT_DENSE_BYTES_MAX;
            snprintf(tg_size->detail + len, sizeof tg_size->detail - len, "%s%s %llu: %.3f B", len ? "; " : "",
                     table_name[table], (unsigned long long)n, per);
            judge(tg_size, per <= limit ? V_PASS : V_FAIL);
        } else {
            snprintf(tg_size->detail + len, sizeof tg_size->detail - len, "%s%s %llu (not judged): %.3f B",
                     len ? "; " : "", table_name[table], (unsigned long long)n, per);
        }
    }

    free(site_off);
    free(c.site);
    free(c.value);
    free(c.width);
    free(c.dst);
    free(check_copy);
    free(applied);
    free(seg_bytes);
    free(code);
    free(data);
    pcache_builder_free(b);
}
#endif

/* ------------------------------------------------------------------ */
/* Scanning hostile .dpc client slots                                  */
/* ------------------------------------------------------------------ */

typedef struct hostile_case {
    uint8_t *file;
    size_t size;
    pcache_dpc dpc;
} hostile_case;

/* What pcache-inspect does on a .dpc file after parsing it: every segment
 * candidate in the client slots, one at a time. */
static void op_hostile_scan(void *ctx)
{
    hostile_case *c = ctx;
    size_t count;
    check(pcache_dpc_find_segments(&c->dpc, NULL, 0, &count, NULL), "find segments", NULL);
    consume(count);
}

static void op_hostile_xxh3(void *ctx)
{
    hostile_case *c = ctx;
    consume(pcache_checksum(PCACHE_CHECKSUM_XXH3_64, c->file, c->size));
}

/* pcache_dpc_find_segments() on .dpc files whose ro slot is fill bytes of
 * each hostile kind (tests/tools/hostile_dpc.h), against XXH3-64 of the
 * whole file.  first_ratio: each kind's ratio at the smallest size, which
 * the larger ones are judged against. */
static void bench_hostile(uint64_t fill, int first, const options *o, results *res, target *tg,
                          double first_ratio[HOSTILE_KIND_COUNT])
{
    char group[64], label[32], what[48];
    bench_timing t = o->timing;

    if (fill >= 16 * MIB && t.runs > HOSTILE_RUNS_LARGE)
        t.runs = HOSTILE_RUNS_LARGE;
    size_label(fill, label, sizeof label);
    snprintf(group, sizeof group, "%s hostile .dpc slot, segment scan", label);
    for (int k = 0; k < HOSTILE_KIND_COUNT; k++) {
        hostile_case c;
        pcache_report rep;
        row *x;

        if (!(c.file = hostile_dpc((hostile_kind)k, fill, NULL, 0, &c.size)))
            die("cannot allocate a %llu-byte .dpc file", (unsigned long long)fill);
        check(pcache_dpc_parse(&c.dpc, c.file, c.size, &rep), "parse a hostile .dpc", &rep);
        snprintf(what, sizeof what, "scan, %s", hostile_kind_name((hostile_kind)k));
        x = add_pair_row(res, group, what, c.size, "XXH3-64 of the same bytes",
                         measure_pair(op_hostile_scan, &c, op_hostile_xxh3, &c, &t));
        if (first) {
            first_ratio[k] = x->ratio;
            snprintf(x->target, sizeof x->target, "reference");
        } else {
            snprintf(x->target, sizeof x->target, "<= %.0f x 1 MiB's %.2fx", HOSTILE_GROWTH_MAX, first_ratio[k]);
            x->v = x->ratio <= HOSTILE_GROWTH_MAX * first_ratio[k] ? V_PASS : V_FAIL;
            judge(tg, x->v);
        }
        free(c.file);
    }
}

/* ------------------------------------------------------------------ */
/* pcache-inspect verify, as a user runs it                            */
/* ------------------------------------------------------------------ */

typedef struct file_case {
    const char *path;
    const char *inspect;
    uint64_t size;
    uint8_t *buf;
} file_case;

static void run_quietly(const char *prog, char *const argv[], int want_status)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status, e;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    e = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e)
        die("cannot run %s: %s", prog, strerror(e));
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != want_status)
        die("%s %s exited with status %d, expected %d", prog, argv[1],
            WIFEXITED(status) ? WEXITSTATUS(status) : -1, want_status);
}

static void op_inspect_verify(void *ctx)
{
    file_case *c = ctx;
    char *argv[] = {(char *)c->inspect, (char *)"verify", (char *)c->path, NULL};
    run_quietly(c->inspect, argv, 0);
}

static void op_cat(void *ctx)
{
    file_case *c = ctx;
    char *argv[] = {(char *)"cat", (char *)c->path, NULL};
    run_quietly("cat", argv, 0);
}

/* What any reader of the file must do at least: read it into fresh memory. */
static void op_read_file(void *ctx)
{
    file_case *c = ctx;
    int fd = open(c->path, O_RDONLY | O_CLOEXEC);
    uint64_t got = 0;
    uint8_t *buf = aligned_alloc(PAGE, (size_t)((c->size + PAGE - 1) / PAGE * PAGE));
    if (fd < 0 || !buf)
        die("cannot read %s", c->path);
    while (got < c->size) {
        ssize_t n = read(fd, buf + got, (size_t)(c->size - got));
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            die("read %s: %s", c->path, n < 0 ? strerror(errno) : "short file");
        }
        got += (uint64_t)n;
    }
    close(fd);
    consume(buf[c->size - 1]);
    free(buf);
}

static void bench_inspect(const char *inspect, const char *dir, uint64_t size, const options *o,
                          results *res)
{
    image_case img;
    file_case c;
    char path[PATH_MAX], group[64], label[32];
    pcache_report rep;
    struct stat sb;
    double t_read;
    row *x;

    snprintf(path, sizeof path, "%s/pcache-bench-%ld.pcache", dir, (long)getpid());
    image_setup(&img, size, -1);
    check(pcache_file_write_path(img.b, path, &rep), "write file", &rep);
    image_teardown(&img);
    if (stat(path, &sb) != 0)
        die("stat %s: %s", path, strerror(errno));
    c.path = path;
    c.inspect = inspect;
    c.size = (uint64_t)sb.st_size;
    c.buf = NULL;

    size_label(size, label, sizeof label);
    snprintf(group, sizeof group, "%s file, pcache-inspect", label);
    t_read = measure_on(WALL_TIME, op_read_file, &c, &o->timing);
    add_row(res, group, "read(2) into fresh memory", t_read, c.size);
    x = add_pair_row(res, group, "pcache-inspect verify", c.size, "cat FILE (a process)",
                     measure_pair_on(WALL_TIME, op_inspect_verify, &c, op_cat, &c, &o->timing));
    compare(add_row(res, group, "pcache-inspect verify", x->seconds, c.size), "read(2) into fresh memory", t_read);
    unlink(path);
}

/* ------------------------------------------------------------------ */
/* Loading a compressed image                                          */
/* ------------------------------------------------------------------ */

#define LOAD_SIZE_MAX (16 * MIB)

typedef struct load_case {
    char path[PATH_MAX];
    uint64_t size; /* of the file */
    int cold;      /* the file's pages dropped before each load */
} load_case;

/* What a loader of an image file pays: read it into fresh memory, open it
 * at full validation, and have the table's bytes (its view, or for the
 * compressed image an inflated copy). */
static void op_load(void *ctx)
{
    load_case *c = ctx;
    pcache_image img;
    pcache_report rep;
    pcache_view v;
    void *raw = NULL;
    uint64_t got = 0;
    uint8_t *buf = aligned_alloc(PAGE, (size_t)((c->size + PAGE - 1) / PAGE * PAGE));
    int fd = open(c->path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || !buf)
        die("cannot load %s", c->path);
    if (c->cold && posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0)
        die("posix_fadvise %s failed", c->path);
    while (got < c->size) {
        ssize_t n = read(fd, buf + got, (size_t)(c->size - got));
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            die("read %s: %s", c->path, n < 0 ? strerror(errno) : "short file");
        }
        got += (uint64_t)n;
    }
    close(fd);
    check(pcache_image_open_memory(&img, buf, c->size, NULL, &rep), "open image", &rep);
    check(pcache_segment_find(pcache_image_segment(&img, PCACHE_RO), "table", &v, &rep), "find", &rep);
    if (v.flags & PCACHE_SECTION_COMPRESSED) {
        check(pcache_segment_inflate_alloc(pcache_image_segment(&img, PCACHE_RO), v.index, &raw, &v, &rep), "inflate",
              &rep);
        consume(((const uint8_t *)raw)[v.size - 1]);
        pcache_free(raw);
    } else {
        consume(((const uint8_t *)v.data)[v.size - 1]);
    }
    free(buf);
}

/* Fraction of the file's pages in the page cache after asking the kernel
 * to drop them: near 0 where posix_fadvise can make the cache cold. */
static double resident_after_drop(const load_case *c)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t pages = (size_t)((c->size + (uint64_t)page - 1) / (uint64_t)page), in = 0;
    unsigned char *vec = malloc(pages);
    int fd = open(c->path, O_RDONLY | O_CLOEXEC);
    void *m;

    if (fd < 0 || !vec)
        die("cannot open %s", c->path);
    if (fsync(fd) != 0 || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0)
        die("cannot drop the cached pages of %s", c->path);
    if ((m = mmap(NULL, (size_t)c->size, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED)
        die("mmap %s: %s", c->path, strerror(errno));
    if (mincore(m, (size_t)c->size, vec) != 0)
        die("mincore %s: %s", c->path, strerror(errno));
    for (size_t i = 0; i < pages; i++)
        in += vec[i] & 1;
    munmap(m, (size_t)c->size);
    close(fd);
    free(vec);
    return (double)in / (double)pages;
}

/* A table of text-like records (what compresses in practice) as the one
 * ro section of a file, stored plain or deflated at level. */
static void write_load_image(load_case *c, const char *dir, const char *tag, const uint8_t *data, uint64_t size,
                             int compress, int level)
{
    pcache_identity id;
    pcache_builder *b;
    pcache_report rep;
    struct stat sb;

    snprintf(c->path, sizeof c->path, "%s/pcache-bench-%ld-%s.pcache", dir, (long)getpid(), tag);
    check(pcache_identity_init(&id, "pcache-bench", 1), "identity", NULL);
    check(pcache_builder_new(&b, &id), "builder", NULL);
    check(pcache_builder_add(b, PCACHE_RO, "table", data, size, 64, 0), "add section", pcache_builder_report(b));
    if (compress)
        check(pcache_builder_set_compression(b, PCACHE_RO, "table", level), "compression", pcache_builder_report(b));
    check(pcache_file_write_path(b, c->path, &rep), "write file", &rep);
    pcache_builder_free(b);
    if (stat(c->path, &sb) != 0)
        die("stat %s: %s", c->path, strerror(errno));
    c->size = (uint64_t)sb.st_size;
    c->cold = 0;
}

/* Loading the same table from a compressed and an uncompressed image
 * file, in alternating batches, with the page cache warm and then cold
 * (posix_fadvise(POSIX_FADV_DONTNEED) before each load, after fsync; its
 * cost is in the figure).  Wall time: a cold load waits for the disk. */
static void bench_compressed_load(const char *dir, uint64_t size, const options *o, results *res,
                                  report_info *info)
{
    load_case plain, z;
    char group[64], label[32], zlabel[32];
    uint8_t *data = xalloc_pages(size);
    uint64_t at = 0;

    for (uint32_t i = 0; at < size; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "%08x %6u handler_%u block %u\n", i * 2654435761u, i % 977, i % 61,
                         i / 8);
        for (int k = 0; k < n && at < size; k++)
            data[at++] = (uint8_t)line[k];
    }
    write_load_image(&plain, dir, "plain", data, size, 0, 0);
    write_load_image(&z, dir, "deflated", data, size, 1, PCACHE_COMPRESS_DEFAULT);
    free(data);
    size_label(size, label, sizeof label);
    size_label(z.size, zlabel, sizeof zlabel);
    snprintf(group, sizeof group, "%.20s table, file %.20s deflated", label, zlabel);
    add_pair_row(res, group, "load deflated, warm cache", size, "load plain, warm cache",
                 measure_pair_on(WALL_TIME, op_load, &z, op_load, &plain, &o->timing));
    if (resident_after_drop(&plain) > 0.1 || resident_after_drop(&z) > 0.1) {
        info->notes[info->nnotes++] = "cold-cache load rows left out: posix_fadvise(DONTNEED) does not empty "
                                      "the page cache for files in --dir";
    } else {
        plain.cold = z.cold = 1;
        add_pair_row(res, group, "load deflated, cold cache", size, "load plain, cold cache",
                     measure_pair_on(WALL_TIME, op_load, &z, op_load, &plain, &o->timing));
    }
    unlink(plain.path);
    unlink(z.path);
}

/* ------------------------------------------------------------------ */
/* Options and main                                                    */
/* ------------------------------------------------------------------ */

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROG " [OPTION]...\n"
            "Measures persist, resurrect, lookups, relocation, the scan of hostile .dpc slots (1M to\n"
            "64M) and pcache-inspect against memcpy, write(2), XXH3-64 (every code path),\n"
            "zlib crc32, MD5 and plain loops, and checks the performance targets\n"
            "(docs/PERFORMANCE.md).\n\n"
            "  --max-size SIZE    largest image (default 256M; suffixes K, M, G)\n"
            "  --min-size SIZE    smallest image (default 4K); sizes go up by 4x\n"
            "  --runs N           timed batches per figure, median taken (default 9)\n"
            "  --batch-ms MS      minimum length of a batch (default 2)\n"
            "  --reloc-max N      largest relocation count (default 262144; 0: none)\n"
            "  --sections N       largest section count of the scaling rows, 1, 64, 1024\n"
            "                     (default 16384, which the format's limit makes 1024; 0: none)\n"
            "  --check            a ratio over its limit is measured 3 times in all and the\n"
            "                     median decides (one disturbed measurement does not)\n"
            "  --inspect PATH     pcache-inspect to run (default: beside this program;\n"
            "                     '' to skip)\n"
            "  --dir DIR          where scratch files go (default $TMPDIR or /tmp)\n"
            "  --quick            --max-size 16M --reloc-max 65536\n"
            "  --json             JSON instead of the text table\n"
            "  -h, --help         this help\n\n"
            "Exit status: 0 every target met; 1 a target failed; 2 usage or error.\n");
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    uint64_t mul = 1;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    if (*end == 'K' || *end == 'k')
        mul = KIB, end++;
    else if (*end == 'M' || *end == 'm')
        mul = MIB, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1024 * MIB, end++;
    if (*end || (v && mul > UINT64_MAX / v))
        return -1;
    *out = v * mul;
    return 0;
}

static void parse_options(int argc, char **argv, options *o)
{
    enum { O_MAX = 256, O_MIN, O_RUNS, O_BATCH, O_RELOC, O_SECTIONS, O_INSPECT, O_DIR, O_QUICK, O_JSON, O_CHECK };
    static const struct option longs[] = {
        {"max-size", required_argument, NULL, O_MAX}, {"min-size", required_argument, NULL, O_MIN},
        {"runs", required_argument, NULL, O_RUNS},    {"batch-ms", required_argument, NULL, O_BATCH},
        {"reloc-max", required_argument, NULL, O_RELOC}, {"inspect", required_argument, NULL, O_INSPECT},
        {"dir", required_argument, NULL, O_DIR},      {"quick", no_argument, NULL, O_QUICK},
        {"json", no_argument, NULL, O_JSON},          {"help", no_argument, NULL, 'h'},
        {"sections", required_argument, NULL, O_SECTIONS}, {"check", no_argument, NULL, O_CHECK},
        {NULL, 0, NULL, 0}};
    int ch;
    uint64_t v;

    o->min_size = 4 * KIB;
    o->max_size = 256 * MIB;
    o->timing.runs = 9;
    o->timing.batch_s = 2e-3;
    o->reloc_max = 262144;
    o->sections_max = 16384;
    o->check = 0;
    o->inspect = NULL;
    o->dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    o->json = 0;
    while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (ch) {
        case O_MAX:
        case O_MIN:
            if (parse_size(optarg, &v) || v < 4 * KIB || v > 64 * 1024 * MIB)
                die("--%s: '%s' is not a size from 4K to 64G", ch == O_MAX ? "max-size" : "min-size", optarg);
            *(ch == O_MAX ? &o->max_size : &o->min_size) = v;
            break;
        case O_RUNS:
            if (parse_size(optarg, &v) || v < 1 || v > BENCH_MAX_RUNS)
                die("--runs: '%s' is not a number from 1 to %u", optarg, BENCH_MAX_RUNS);
            o->timing.runs = (unsigned)v;
            break;
        case O_BATCH:
            if (parse_size(optarg, &v) || v < 1 || v > 10000)
                die("--batch-ms: '%s' is not a number from 1 to 10000", optarg);
            o->timing.batch_s = (double)v * 1e-3;
            break;
        case O_RELOC:
            if (parse_size(optarg, &v) || v > (1u << 24))
                die("--reloc-max: '%s' is not a count up to 16M", optarg);
            o->reloc_max = v;
            break;
        case O_SECTIONS:
            if (parse_size(optarg, &v) || v > 16384)
                die("--sections: '%s' is not a count up to 16384", optarg);
            o->sections_max = (uint32_t)v;
            break;
        case O_CHECK:
            o->check = 1;
            break;
        case O_INSPECT:
            o->inspect = optarg;
            break;
        case O_DIR:
            o->dir = optarg;
            break;
        case O_QUICK:
            o->max_size = 16 * MIB;
            o->reloc_max = 65536;
            break;
        case O_JSON:
            o->json = 1;
            break;
        case 'h':
            usage(stdout);
            exit(EXIT_PASS);
        default:
            usage(stderr);
            exit(EXIT_ERROR);
        }
    }
    if (optind < argc)
        die("unexpected argument '%s'", argv[optind]);
    if (o->min_size > o->max_size)
        die("--min-size is larger than --max-size");
}

/* pcache-inspect beside this executable, when --inspect did not say. */
static const char *find_inspect(const options *o, char *buf, size_t cap)
{
    ssize_t n;
    char *slash;
    if (o->inspect)
        return o->inspect[0] ? o->inspect : NULL;
    n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0)
        return NULL;
    buf[n] = 0;
    if (!(slash = strrchr(buf, '/')) || (size_t)(slash - buf) + sizeof "/pcache-inspect" > cap)
        return NULL;
    strcpy(slash, "/pcache-inspect");
    return access(buf, X_OK) == 0 ? buf : NULL;
}

#define NTARGETS 10

int main(int argc, char **argv)
{
    options o;
    results res = {0};
    report_info info;
    target targets[NTARGETS];
    target *tg_full = &targets[0], *tg_header = &targets[1], *tg_header_ratio = &targets[2],
           *tg_persist = &targets[3], *tg_find = &targets[4], *tg_alloc = &targets[5], *tg_reloc = &targets[6],
           *tg_hostile = &targets[7], *tg_creloc = &targets[8], *tg_creloc_size = &targets[9];
    char scratch[PATH_MAX], inspect_buf[PATH_MAX];
    const char *inspect;
    struct utsname un;
    int fd;
    const checksum_xxh3_timing *tm;

    parse_options(argc, argv, &o);
    memset(&info, 0, sizeof info);
    load_average(info.load_start);
    memset(targets, 0, sizeof targets);
    tg_full->name = "full validation against the fastest XXH3-64 of the same bytes: <= 2.5x at 4 KiB, <= 1.5x at "
                    "16 KiB, <= 1.11x (0.9x the throughput) from 1 MiB";
    tg_header->name = "header-only resurrect time independent of image size (<= 1.25x the smallest image's)";
    tg_header_ratio->name = "header-only resurrect of the 8-section image against XXH3-64 of its header and table: "
                            "<= 0.5x the ratio before issue 15";
    tg_persist->name = "persist to memory against memcpy: <= 4x at 4 KiB, <= 2x at 16 KiB, <= 1.3x from 1 MiB";
    tg_find->name = "lookup by name at 64 and 1024 sections <= 4x the same lookup at 1 section (O(log n), not linear)";
    tg_alloc->name = "no allocation on the zero-copy resurrect path";
    tg_reloc->name = "relocation apply <= 2x a plain loop writing the same values (abs64; half rel32, half abs64)";
    tg_creloc->name = "compact relocation apply (.crelocs) <= 1.2x a plain loop writing the same values, at 1 Ki, "
                      "16 Ki, 256 Ki and 4 Mi records (--reloc-max 4M)";
    tg_creloc_size->name = "compact relocation table: <= 1 byte per record for a dense abs64 table, <= 4 for half "
                           "rel32, half abs64 (48 in .relocs)";
    tg_hostile->name = "scanning hostile .dpc slots is linear: ratio to XXH3-64 of the same bytes <= 2x the 1 MiB "
                       "slot's, up to 64 MiB";
    if (HEADER_VS_XXH3_BEFORE <= 0)
        snprintf(tg_header_ratio->detail, sizeof tg_header_ratio->detail, "not judged: no figure from before");

    info.runs = o.timing.runs;
    info.batch_s = o.timing.batch_s;
    info.check = o.check;
    cpu_model(info.cpu, sizeof info.cpu);
    info.cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (uname(&un) == 0)
        snprintf(info.kernel, sizeof info.kernel, "%s %s %s", un.sysname, un.release, un.machine);
    snprintf(info.xxh3_path, sizeof info.xxh3_path, "%s one-shot, %s copying and streaming (large inputs)",
             checksum_xxh3_path_name(checksum_xxh3_ops_best()->path),
             checksum_xxh3_path_name(checksum_xxh3_ops_streaming()->path));
    for (int p = 0; p < CHECKSUM_XXH3_PATH_COUNT; p++)
        if (checksum_xxh3_ops_for((checksum_xxh3_path)p)) {
            size_t len = strlen(info.xxh3_runnable);
            snprintf(info.xxh3_runnable + len, sizeof info.xxh3_runnable - len, "%s%s", len ? " " : "",
                     checksum_xxh3_path_name((checksum_xxh3_path)p));
        }
    if ((tm = checksum_xxh3_timings()) && tm->measured) {
        const checksum_xxh3_choice *ch = checksum_xxh3_choice_now();
        size_t len = (size_t)snprintf(info.xxh3_timed, sizeof info.xxh3_timed,
                                      "chosen by timing at first use, by size (one-shot/copying):");
        for (int c = 0; c < CHECKSUM_XXH3_SIZE_CLASSES && len < sizeof info.xxh3_timed; c++)
            len += (size_t)snprintf(info.xxh3_timed + len, sizeof info.xxh3_timed - len, " %u B %s/%s%s",
                                    tm->bytes[c], checksum_xxh3_path_name(ch->oneshot[c]->path),
                                    checksum_xxh3_path_name(ch->copy[c]->path),
                                    c + 1 < CHECKSUM_XXH3_SIZE_CLASSES ? "," : "");
    }

    snprintf(scratch, sizeof scratch, "%s/pcache-bench-XXXXXX", o.dir);
    if ((fd = mkstemp(scratch)) < 0)
        die("cannot create a scratch file in %s: %s", o.dir, strerror(errno));
    unlink(scratch);

    {
        image_case first, cur;
        image_targets it = {tg_full, tg_persist, tg_header, tg_header_ratio, 0};
        image_setup(&first, o.min_size, fd);
        bench_image(&first, &first, &o, &res, &it);
        /* sizes are at most 64 GiB (parse_options): no wrap */
        for (uint64_t size = o.min_size * 4; size <= o.max_size; size *= 4) {
            image_setup(&cur, size, fd);
            bench_image(&cur, &first, &o, &res, &it);
            image_teardown(&cur);
        }
        image_teardown(&first);
        info.allocs = it.allocs;
    }
    close(fd);
    if (o.sections_max >= 1) {
        image_case one, cur;
        image_setup_n(&one, SCALE_SECTION_BYTES, 1, -1);
        bench_scale(&one, &one, &o, &res, tg_find, &info.allocs);
        for (uint32_t n = 64; n <= o.sections_max; n *= 16) {
            uint32_t k = n > PCACHE_MAX_SECTIONS ? PCACHE_MAX_SECTIONS : n;
            image_setup_n(&cur, (uint64_t)k * SCALE_SECTION_BYTES, k, -1);
            bench_scale(&cur, &one, &o, &res, tg_find, &info.allocs);
            image_teardown(&cur);
            if (k == PCACHE_MAX_SECTIONS)
                break;
        }
        image_teardown(&one);
    }
    if (o.sections_max >= PCACHE_MAX_SECTIONS)
        info.notes[info.nnotes++] = "16384 sections: above the format's limit of 1024 per segment "
                                    "(PCACHE_MAX_SECTIONS, docs/FORMAT.md 4.2 step 4): the largest image has 1024";
    else
        snprintf(tg_find->detail, sizeof tg_find->detail, "not all measured (--sections below 1024)");
    if (!malloc_count_active()) {
        snprintf(tg_alloc->detail, sizeof tg_alloc->detail, "not checked: a sanitizer owns the allocator");
    } else if (!malloc_count_works()) {
        tg_alloc->v = V_FAIL;
        snprintf(tg_alloc->detail, sizeof tg_alloc->detail, "not checked: the counting malloc is not called");
    } else {
        tg_alloc->v = info.allocs == 0 ? V_PASS : V_FAIL;
        snprintf(tg_alloc->detail, sizeof tg_alloc->detail,
                 "%lu allocations seen by a counting malloc family (tools/malloc_count.c) over resurrect at "
                 "every level, lookups by index and name, image_open_memory; every size and section count",
                 info.allocs);
    }

#if BENCH_HAVE_RELOC
    for (uint64_t n = 1024; n <= o.reloc_max; n *= 16)
        for (int mixed = TABLE_DENSE; mixed <= TABLE_IRREGULAR; mixed++) {
            bench_relocations(n, mixed, PCACHE_RELOC_FORM_RECORDS, &o, &res, tg_reloc, tg_creloc_size);
            bench_relocations(n, mixed, PCACHE_RELOC_FORM_COMPACT, &o, &res, tg_creloc, tg_creloc_size);
        }
    if (o.reloc_max < 1024) {
        snprintf(tg_reloc->detail, sizeof tg_reloc->detail, "not measured (--reloc-max below 1024)");
        snprintf(tg_creloc->detail, sizeof tg_creloc->detail, "not measured (--reloc-max below 1024)");
        snprintf(tg_creloc_size->detail, sizeof tg_creloc_size->detail, "not measured (--reloc-max below 1024)");
    } else if (o.reloc_max < 4194304) {
        snprintf(tg_creloc->detail, sizeof tg_creloc->detail, "4 Mi records not measured (--reloc-max %llu)",
                 (unsigned long long)o.reloc_max);
    }
#else
    snprintf(tg_reloc->detail, sizeof tg_reloc->detail, "not measured: built without pcache/reloc.h");
    snprintf(tg_creloc->detail, sizeof tg_creloc->detail, "not measured: built without pcache/reloc.h");
    snprintf(tg_creloc_size->detail, sizeof tg_creloc_size->detail, "not measured: built without pcache/reloc.h");
#endif

    {
        double first_ratio[HOSTILE_KIND_COUNT];
        for (uint64_t fill = HOSTILE_MIN; fill <= o.max_size && fill <= HOSTILE_MAX; fill *= 4)
            bench_hostile(fill, fill == HOSTILE_MIN, &o, &res, tg_hostile, first_ratio);
        if (o.max_size < 4 * HOSTILE_MIN)
            snprintf(tg_hostile->detail, sizeof tg_hostile->detail, "not judged: --max-size below 4M");
    }

    inspect = find_inspect(&o, inspect_buf, sizeof inspect_buf);
    if (inspect)
        bench_inspect(inspect, o.dir, o.max_size, &o, &res);
    else
        info.notes[info.nnotes++] = "pcache-inspect not found (give --inspect PATH): its row is left out";
    bench_compressed_load(o.dir, o.max_size < LOAD_SIZE_MAX ? o.max_size : LOAD_SIZE_MAX, &o, &res, &info);
    if (!tg_full->v)
        snprintf(tg_full->detail, sizeof tg_full->detail, "not judged: no image of 1 MiB or more");
    if (!tg_persist->v)
        snprintf(tg_persist->detail, sizeof tg_persist->detail, "not judged: no image of 1 MiB or more");

    load_average(info.load_end);
    if (o.json)
        print_json(&res, targets, NTARGETS, &info);
    else
        print_text(&res, targets, NTARGETS, &info);
    free(res.rows);
    for (size_t i = 0; i < NTARGETS; i++)
        if (targets[i].v == V_FAIL)
            return EXIT_TARGET_FAILED;
    return EXIT_PASS;
}
