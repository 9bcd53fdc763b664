/* SPDX-License-Identifier: BSD-2-Clause */
/* Timing: batches long enough for the clock, medians over them. */
#define _GNU_SOURCE
#include "bench_measure.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

static double now_s(clock_kind k)
{
    struct timespec ts;
    clock_gettime(k == CPU_TIME ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Calls per timed batch: enough for the batch to last o->batch_s. */
static unsigned calibrate(clock_kind k, op_fn fn, void *ctx, const bench_timing *o)
{
    double t, once;
    fn(ctx); /* warm up: caches, branch predictors, lazy binding */
    t = now_s(k);
    fn(ctx);
    once = now_s(k) - t;
    return once >= o->batch_s ? 1u : (unsigned)fmin(1e7, ceil(o->batch_s / fmax(once, 1e-9)));
}

static double batch(clock_kind k, op_fn fn, void *ctx, unsigned iters)
{
    double t = now_s(k);
    for (unsigned i = 0; i < iters; i++)
        fn(ctx);
    return (now_s(k) - t) / iters;
}

double measure_on(clock_kind k, op_fn fn, void *ctx, const bench_timing *o)
{
    double samples[BENCH_MAX_RUNS];
    unsigned iters = calibrate(k, fn, ctx, o);
    for (unsigned r = 0; r < o->runs; r++)
        samples[r] = batch(k, fn, ctx, iters);
    return median(samples, o->runs);
}

double measure(op_fn fn, void *ctx, const bench_timing *o)
{
    return measure_on(CPU_TIME, fn, ctx, o);
}

pair measure_pair_on(clock_kind k, op_fn fa, void *ca, op_fn fb, void *cb, const bench_timing *o)
{
    double sa[BENCH_MAX_RUNS], sb[BENCH_MAX_RUNS], sr[BENCH_MAX_RUNS];
    unsigned ia = calibrate(k, fa, ca, o), ib = calibrate(k, fb, cb, o);
    pair p;
    for (unsigned r = 0; r < o->runs; r++) {
        if (r % 2 == 0) {
            sa[r] = batch(k, fa, ca, ia);
            sb[r] = batch(k, fb, cb, ib);
        } else {
            sb[r] = batch(k, fb, cb, ib);
            sa[r] = batch(k, fa, ca, ia);
        }
        sr[r] = sa[r] / sb[r];
    }
    p.a = median(sa, o->runs);
    p.b = median(sb, o->runs);
    p.ratio = median(sr, o->runs);
    return p;
}

pair measure_pair(op_fn fa, void *ca, op_fn fb, void *cb, const bench_timing *o)
{
    return measure_pair_on(CPU_TIME, fa, ca, fb, cb, o);
}
