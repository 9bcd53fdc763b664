/* SPDX-License-Identifier: BSD-2-Clause */
/* Timing pcache-bench's operations: medians over batches, and operations
 * paired with their baselines. */
#ifndef PCACHE_TOOLS_BENCH_MEASURE_H
#define PCACHE_TOOLS_BENCH_MEASURE_H

#include <stdint.h>

#define BENCH_MAX_RUNS 101u

typedef void (*op_fn)(void *ctx);

/* In-process operations are timed in this thread's CPU time, which leaves
 * out the time the scheduler gives to other processes: on a shared machine
 * that is most of the noise.  Operations that run another process are
 * timed on the wall clock (their CPU time is the child's). */
typedef enum clock_kind { CPU_TIME, WALL_TIME } clock_kind;

typedef struct bench_timing {
    unsigned runs;  /* timed batches, 1 .. BENCH_MAX_RUNS */
    double batch_s; /* a batch repeats the operation for at least this long */
} bench_timing;

/* Median seconds per call of fn(ctx), after two calls to warm up. */
double measure_on(clock_kind k, op_fn fn, void *ctx, const bench_timing *t);
double measure(op_fn fn, void *ctx, const bench_timing *t); /* CPU_TIME */

/* An operation against its baseline, in alternating batches (a, b, then
 * b, a, ...), so that both see the same machine: other jobs on a shared
 * machine slow both alike, and the ratio, the median of the per-run
 * ratios, stays put. */
typedef struct pair {
    double a, b, ratio;
} pair;

pair measure_pair_on(clock_kind k, op_fn fa, void *ca, op_fn fb, void *cb, const bench_timing *t);
pair measure_pair(op_fn fa, void *ca, op_fn fb, void *cb, const bench_timing *t); /* CPU_TIME */

/* Keeps a computed value alive without costing a memory round trip. */
static inline void consume(uint64_t v)
{
    __asm__ volatile("" : : "r"(v));
}

/* Makes the compiler assume that memory was read and written. */
static inline void clobber_memory(void)
{
    __asm__ volatile("" : : : "memory");
}

#endif
