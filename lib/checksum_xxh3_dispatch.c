/* Choosing an XXH3 code path at run time, by timing the candidates.
 *
 * Which path is fastest is not a function of the instruction sets a CPU
 * reports: AVX-512 is the fastest path on some CPUs that have it and no
 * faster than AVX2 on others (docs/PERFORMANCE.md), and a rule by vendor
 * or model is only ever right for the CPUs it was tuned on.  So the first
 * checksum of the process times every path this CPU can run, on the same
 * bytes, and keeps the fastest: once for one-shot hashing and once for
 * hashing while copying (persist).  The paths return the same values
 * (tests/test_checksum_paths.c), so the choice changes speed only.
 *
 * The choice is the library's one piece of process-wide mutable state: two
 * pointers, set once, read with acquire loads.  The first thread to need
 * them times the paths; a thread that needs them meanwhile uses the widest
 * path rather than wait. */
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

/* Bytes per timed call: a few-KiB section, what DynamoRIO clients persist
 * most, in L1 on any CPU, long enough for XXH3's vector loop (stripes and
 * a scramble) to be most of the call. */
#define PROBE_SIZE 4096u
#define PROBE_CALLS 8u  /* calls per timed sample */
#define PROBE_ROUNDS 9u /* samples per path, interleaved; the least is kept */
/* A narrower path is taken only when it is faster by more than this
 * (3%): between paths that time alike, measurement noise would otherwise
 * decide, run by run; the wider one is xxHash's own preference. */
#define PROBE_MARGIN 1.03

/* 64-byte aligned, as sections usually are (and as the segments the
 * bench hashes): at the linker's 32, every 64-byte load of the AVX-512
 * path crossed a cache line, and AVX-512 timed slower than AVX2 in some
 * processes only. */
static _Alignas(64) uint8_t probe_src[PROBE_SIZE];
static _Alignas(64) uint8_t probe_dst[PROBE_SIZE];

const checksum_xxh3_ops *checksum_xxh3_chosen_oneshot, *checksum_xxh3_chosen_copy;
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

/* One sample: ns for PROBE_CALLS calls of the path's one-shot (copy = 0)
 * or one-shot copy (copy = 1); < 0 when the clock failed. */
static double sample(const checksum_xxh3_ops *ops, int copy)
{
    uint64_t h = 0;
    double t0 = now_ns(), t1;
    for (unsigned i = 0; i < PROBE_CALLS; i++)
        h ^= copy ? ops->oneshot_copy(probe_dst, probe_src, PROBE_SIZE) : ops->oneshot(probe_src, PROBE_SIZE);
    t1 = now_ns();
    probe_sink = h;
    return t0 < 0 || t1 < 0 ? -1 : t1 - t0;
}

/* Times every runnable path and publishes the fastest of each kind. */
static void measure(void)
{
    const checksum_xxh3_ops *cand[CHECKSUM_XXH3_PATH_COUNT];
    size_t n = runnable(cand);
    double best[2][CHECKSUM_XXH3_PATH_COUNT] = {{0}};
    int clock_ok = 1;
    size_t pick[2] = {0, 0};

    for (size_t i = 0; i < PROBE_SIZE; i++) /* any bytes: XXH3 takes as long on all */
        probe_src[i] = (uint8_t)(i * 131u + 7u);
    /* Rounds interleave the paths, so that a slower stretch of the machine
     * (another process, a frequency change) falls on all of them; the
     * least of a path's samples is the one least disturbed.  Round 0
     * warms caches, branch predictors and wide vector units up. */
    for (unsigned r = 0; r <= PROBE_ROUNDS && clock_ok; r++)
        for (size_t i = 0; i < n && clock_ok; i++)
            for (int copy = 0; copy < 2; copy++) {
                double t = sample(cand[i], copy);
                if (t < 0)
                    clock_ok = 0;
                else if (r == 1 || (r > 1 && t < best[copy][i]))
                    best[copy][i] = t;
            }
    memset(&timing, 0, sizeof timing);
    if (clock_ok) {
        for (int copy = 0; copy < 2; copy++)
            for (size_t i = 1; i < n; i++) /* cand[] is widest first */
                if (best[copy][i] * PROBE_MARGIN < best[copy][pick[copy]])
                    pick[copy] = i;
        timing.measured = 1;
        timing.bytes = PROBE_SIZE;
        for (size_t i = 0; i < n; i++) {
            timing.oneshot_ns[cand[i]->path] = best[0][i] / PROBE_CALLS;
            timing.copy_ns[cand[i]->path] = best[1][i] / PROBE_CALLS;
        }
    }
    /* Without a clock: the widest path, xxHash's own preference. */
    __atomic_store_n(&checksum_xxh3_chosen_copy, cand[pick[1]], __ATOMIC_RELEASE);
    __atomic_store_n(&checksum_xxh3_chosen_oneshot, cand[pick[0]], __ATOMIC_RELEASE);
}

/* Makes the choice if no thread has; returns 0 when it is still being
 * made by another thread. */
static int ensure_chosen(void)
{
    int expected = 0;
    if (__atomic_load_n(&checksum_xxh3_chosen_oneshot, __ATOMIC_ACQUIRE))
        return 1;
    if (!__atomic_compare_exchange_n(&measuring, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return 0;
    measure();
    return 1;
}

static const checksum_xxh3_ops *widest(void)
{
    const checksum_xxh3_ops *cand[CHECKSUM_XXH3_PATH_COUNT];
    runnable(cand);
    return cand[0];
}

const checksum_xxh3_ops *checksum_xxh3_choose_oneshot(void)
{
    return ensure_chosen() ? __atomic_load_n(&checksum_xxh3_chosen_oneshot, __ATOMIC_ACQUIRE) : widest();
}

const checksum_xxh3_ops *checksum_xxh3_choose_copy(void)
{
    /* checksum_xxh3_chosen_copy is published before checksum_xxh3_chosen_oneshot */
    return ensure_chosen() ? __atomic_load_n(&checksum_xxh3_chosen_copy, __ATOMIC_ACQUIRE) : widest();
}

const checksum_xxh3_timing *checksum_xxh3_timings(void)
{
    checksum_xxh3_ops_best();
    return __atomic_load_n(&checksum_xxh3_chosen_oneshot, __ATOMIC_ACQUIRE) ? &timing : NULL;
}
