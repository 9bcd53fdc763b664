/* SPDX-License-Identifier: BSD-2-Clause */
/* Choosing an XXH3 code path at run time, by timing the candidates.
 *
 * Which path is fastest is not a function of the instruction sets a CPU
 * reports: AVX-512 is the fastest path on some CPUs that have it and no
 * faster than AVX2 on others, and a rule by vendor or model is only ever
 * right for the CPUs it was tuned on (docs/PERFORMANCE.md: "AVX-512 unless
 * AMD", tuned on Zen 4, was wrong on Zen 5).  So the first checksum of the
 * process times every path this CPU can run, on the same bytes, at one
 * size per size class, and keeps the fastest for each class: for one-shot
 * hashing, and for hashing while copying (persist).  The paths return the
 * same values (tests/test_checksum_paths.c), so the choice changes speed
 * only.
 *
 * The choice is the library's one piece of process-wide mutable state: a
 * pointer to it, set once, read with an acquire load.  The first thread
 * to need it times the paths; a thread that needs it meanwhile uses the
 * widest path rather than wait. */
#include <string.h>
#include <time.h>

#include "checksum_xxh3.h"
#include "checksum_xxh3_x86.h"

const char *checksum_xxh3_path_name(checksum_xxh3_path path)
{
    switch (path) {
    case CHECKSUM_XXH3_SCALAR:
        return "scalar";
    case CHECKSUM_XXH3_SSE2:
        return "sse2";
    case CHECKSUM_XXH3_AVX2:
        return "avx2";
    case CHECKSUM_XXH3_AVX512:
        return "avx512";
    case CHECKSUM_XXH3_NEON:
        return "neon";
    case CHECKSUM_XXH3_VSX:
        return "vsx";
    case CHECKSUM_XXH3_PATH_COUNT:
        break;
    }
    return "unknown";
}

const checksum_xxh3_ops *checksum_xxh3_ops_for(checksum_xxh3_path path)
{
#if CHECKSUM_XXH3_X86
    /* __builtin_cpu_supports() also checks, through XGETBV, that the OS
     * saves the vector registers these paths use.  __builtin_cpu_init()
     * for code that runs before the runtime's constructors (DynamoRIO's
     * private loader). */
    __builtin_cpu_init();
    switch (path) {
    case CHECKSUM_XXH3_SCALAR:
        return &checksum_xxh3_scalar_ops;
    case CHECKSUM_XXH3_SSE2:
        return __builtin_cpu_supports("sse2") ? &checksum_xxh3_sse2_ops : NULL;
    case CHECKSUM_XXH3_AVX2:
        return __builtin_cpu_supports("avx2") ? &checksum_xxh3_avx2_ops : NULL;
    case CHECKSUM_XXH3_AVX512:
        return __builtin_cpu_supports("avx512f") ? &checksum_xxh3_avx512_ops : NULL;
    default:
        break;
    }
#endif
    return path == checksum_xxh3_baseline_ops.path ? &checksum_xxh3_baseline_ops : NULL;
}

/* ---- the measurement ---- */

/* Each size class is timed at one size, the geometric middle of its
 * range (checksum_xxh3_size_class(): < 512, < 2 KiB, < 8 KiB, more):
 * which path is fastest can change with the size, as the fixed cost of a
 * call weighs less (on AMD Zen 5, AVX-512 and AVX2 within a few percent
 * below 2 KiB, AVX-512 20-30% faster above).  All in L1 on any CPU; the
 * largest long enough for XXH3's blocks and scrambles.  Each sample hashes
 * PROBE_BYTES, in calls of the class's size, so that every class costs
 * alike. */
static const size_t probe_size[CHECKSUM_XXH3_SIZE_CLASSES] = {256, 1024, 4096, 16384};
#define PROBE_BYTES 16384u
#define PROBE_ROUNDS 7u /* samples per path and class, interleaved; the least is kept */
/* A path more than this many times slower than the fastest at one size
 * is not timed at the larger ones (scalar and SSE2 where AVX2 runs). */
#define PROBE_PRUNE 2.0
/* A narrower path is taken only when it is faster by more than this
 * (3%): between paths that time alike, measurement noise would otherwise
 * decide, run by run; the wider one is xxHash's own preference. */
#define PROBE_MARGIN 1.03

/* 64-byte aligned, as sections usually are (and as the segments the
 * bench hashes): at the linker's 32, every 64-byte load of the AVX-512
 * path crossed a cache line, and AVX-512 timed slower than AVX2 in some
 * processes only. */
static _Alignas(64) uint8_t probe_src[PROBE_BYTES];
static _Alignas(64) uint8_t probe_dst[PROBE_BYTES];

const checksum_xxh3_choice *checksum_xxh3_chosen;
static checksum_xxh3_choice choice;
static int measuring; /* 1 while a thread times the paths */
static checksum_xxh3_timing timing;

static double now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return -1;
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The runnable paths, widest first (xxHash's own order of preference). */
static size_t runnable(const checksum_xxh3_ops *out[CHECKSUM_XXH3_PATH_COUNT])
{
    static const checksum_xxh3_path order[] = {CHECKSUM_XXH3_AVX512, CHECKSUM_XXH3_AVX2, CHECKSUM_XXH3_SSE2,
                                               CHECKSUM_XXH3_NEON,   CHECKSUM_XXH3_VSX,  CHECKSUM_XXH3_SCALAR};
    size_t n = 0;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const checksum_xxh3_ops *ops = checksum_xxh3_ops_for(order[i]);
        if (ops)
            out[n++] = ops;
    }
    return n;
}

static volatile uint64_t probe_sink;

/* One sample: ns per call of the path's one-shot (copy = 0) or one-shot
 * copy (copy = 1) of size bytes, over PROBE_BYTES; < 0 when the clock
 * failed. */
static double sample(const checksum_xxh3_ops *ops, int copy, size_t size)
{
    uint64_t h = 0;
    size_t calls = PROBE_BYTES / size;
    double t0 = now_ns(), t1;
    for (size_t i = 0; i < calls; i++)
        h ^= copy ? ops->oneshot_copy(probe_dst + i * size, probe_src + i * size, size)
                  : ops->oneshot(probe_src + i * size, size);
    t1 = now_ns();
    probe_sink = h;
    return t0 < 0 || t1 < 0 ? -1 : (t1 - t0) / (double)calls;
}

/* Times the runnable paths at each class's size, publishes the fastest of
 * each kind for each class. */
static void measure(void)
{
    const checksum_xxh3_ops *cand[CHECKSUM_XXH3_PATH_COUNT];
    size_t n = runnable(cand);
    double best[2][CHECKSUM_XXH3_PATH_COUNT];
    int timed[2][CHECKSUM_XXH3_PATH_COUNT];
    int clock_ok = 1;

    for (size_t i = 0; i < PROBE_BYTES; i++) /* any bytes: XXH3 takes as long on all */
        probe_src[i] = (uint8_t)(i * 131u + 7u);
    memset(&timing, 0, sizeof timing);
    for (int copy = 0; copy < 2; copy++)
        for (size_t i = 0; i < n; i++)
            timed[copy][i] = 1;
    for (unsigned c = 0; c < CHECKSUM_XXH3_SIZE_CLASSES && clock_ok; c++) {
        /* Rounds interleave the paths, so that a slower stretch of the
         * machine (another process, a frequency change) falls on all of
         * them; the least of a path's samples is the one least disturbed.
         * Round 0 warms caches, branch predictors and wide vector units
         * up. */
        for (unsigned r = 0; r <= PROBE_ROUNDS && clock_ok; r++)
            for (size_t i = 0; i < n && clock_ok; i++)
                for (int copy = 0; copy < 2; copy++) {
                    double t;
                    if (!timed[copy][i])
                        continue;
                    t = sample(cand[i], copy, probe_size[c]);
                    if (t < 0)
                        clock_ok = 0;
                    else if (r == 1 || (r > 1 && t < best[copy][i]))
                        best[copy][i] = t;
                }
        for (int copy = 0; copy < 2 && clock_ok; copy++) {
            size_t pick = SIZE_MAX;
            for (size_t i = 0; i < n; i++) /* cand[] is widest first */
                if (timed[copy][i] && (pick == SIZE_MAX || best[copy][i] * PROBE_MARGIN < best[copy][pick]))
                    pick = i;
            (copy ? choice.copy : choice.oneshot)[c] = cand[pick];
            for (size_t i = 0; i < n; i++) {
                if (!timed[copy][i])
                    continue;
                (copy ? timing.copy_ns : timing.oneshot_ns)[c][cand[i]->path] = best[copy][i];
                if (best[copy][i] > PROBE_PRUNE * best[copy][pick])
                    timed[copy][i] = 0;
            }
        }
    }
    if (clock_ok) {
        timing.measured = 1;
        for (unsigned c = 0; c < CHECKSUM_XXH3_SIZE_CLASSES; c++)
            timing.bytes[c] = (unsigned)probe_size[c];
    } else {
        /* Without a clock: the widest path, xxHash's own preference. */
        for (unsigned c = 0; c < CHECKSUM_XXH3_SIZE_CLASSES; c++)
            choice.oneshot[c] = choice.copy[c] = cand[0];
    }
    __atomic_store_n(&checksum_xxh3_chosen, &choice, __ATOMIC_RELEASE);
}

/* The widest runnable path for every class, for threads that need a path
 * while another thread times them.  Filled once (a few CPUID reads), then
 * published with a release store: 0 unset, 1 being filled, 2 ready.  A
 * thread that finds it being filled waits for those few instructions (not
 * for the timing, which takes milliseconds). */
static checksum_xxh3_choice widest_choice;
static int widest_state;

static const checksum_xxh3_choice *widest(void)
{
    int expected = 0;
    if (__atomic_load_n(&widest_state, __ATOMIC_ACQUIRE) == 2)
        return &widest_choice;
    if (__atomic_compare_exchange_n(&widest_state, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        const checksum_xxh3_ops *cand[CHECKSUM_XXH3_PATH_COUNT];
        runnable(cand);
        for (unsigned c = 0; c < CHECKSUM_XXH3_SIZE_CLASSES; c++)
            widest_choice.oneshot[c] = widest_choice.copy[c] = cand[0];
        __atomic_store_n(&widest_state, 2, __ATOMIC_RELEASE);
        return &widest_choice;
    }
    while (__atomic_load_n(&widest_state, __ATOMIC_ACQUIRE) != 2)
        ;
    return &widest_choice;
}

const checksum_xxh3_choice *checksum_xxh3_choose(void)
{
    int expected = 0;
    const checksum_xxh3_choice *p = __atomic_load_n(&checksum_xxh3_chosen, __ATOMIC_ACQUIRE);
    if (p)
        return p;
    /* Another thread is timing: do not wait, take the widest path. */
    if (!__atomic_compare_exchange_n(&measuring, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return widest();
    measure();
    return &choice;
}

const checksum_xxh3_timing *checksum_xxh3_timings(void)
{
    checksum_xxh3_choose();
    return __atomic_load_n(&checksum_xxh3_chosen, __ATOMIC_ACQUIRE) ? &timing : NULL;
}
