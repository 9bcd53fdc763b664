/* SPDX-License-Identifier: BSD-2-Clause */
/* pcache-bench's table, as text or JSON. */
#include "bench_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_write.h"
#include "pcache/pcache.h"

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#define KIB 1024ull
#define MIB (1024ull * 1024ull)

static const char *verdict_name(verdict v)
{
    switch (v) {
    case V_PASS:
        return "PASS";
    case V_FAIL:
        return "FAIL";
    case V_NA:
        return "n/a";
    case V_NONE:
        break;
    }
    return "";
}

row *add_row(results *r, const char *group, const char *what, double s, uint64_t bytes)
{
    row *x;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        row *p = realloc(r->rows, cap * sizeof *p);
        if (!p) {
            fputs("pcache-bench: out of memory\n", stderr);
            exit(2);
        }
        r->rows = p;
        r->cap = cap;
    }
    x = &r->rows[r->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->group, sizeof x->group, "%s", group);
    snprintf(x->what, sizeof x->what, "%s", what);
    x->seconds = s;
    x->bytes = bytes;
    return x;
}

void compare(row *x, const char *baseline, double base_seconds)
{
    snprintf(x->baseline, sizeof x->baseline, "%s", baseline);
    x->base_seconds = base_seconds;
    x->ratio = x->seconds / base_seconds;
}

row *add_pair_row(results *r, const char *group, const char *what, uint64_t bytes, const char *baseline,
                  pair p)
{
    row *x = add_row(r, group, what, p.a, bytes);
    snprintf(x->baseline, sizeof x->baseline, "%s", baseline);
    x->base_seconds = p.b;
    x->ratio = p.ratio;
    return x;
}

void judge(target *t, verdict v)
{
    if (v == V_FAIL || t->v == V_FAIL)
        t->v = V_FAIL;
    else if (v == V_PASS)
        t->v = V_PASS;
}

void size_label(uint64_t n, char *out, size_t cap)
{
    if (n >= MIB && n % MIB == 0)
        snprintf(out, cap, "%llu MiB", (unsigned long long)(n / MIB));
    else if (n >= KIB && n % KIB == 0)
        snprintf(out, cap, "%llu KiB", (unsigned long long)(n / KIB));
    else
        snprintf(out, cap, "%llu B", (unsigned long long)n);
}

static void human_time(double s, char *out, size_t cap)
{
    if (s < 1e-6)
        snprintf(out, cap, "%.1f ns", s * 1e9);
    else if (s < 1e-3)
        snprintf(out, cap, "%.2f us", s * 1e6);
    else if (s < 1)
        snprintf(out, cap, "%.2f ms", s * 1e3);
    else
        snprintf(out, cap, "%.2f s", s);
}

void print_text(const results *r, const target *t, size_t nt, const report_info *info)
{
    const char *group = "";
    printf("pcache-bench  libpcache %s, xxHash %u.%u.%u\n", PCACHE_VERSION_STRING, XXH_VERSION_MAJOR,
           XXH_VERSION_MINOR, XXH_VERSION_RELEASE);
    printf("CPU:          %s (%ld online)\n", info->cpu, info->cores);
    printf("kernel:       %s\n", info->kernel);
    printf("XXH3 path:    %s (runnable: %s)\n", info->xxh3_path, info->xxh3_runnable);
    if (info->xxh3_timed[0])
        printf("              %s\n", info->xxh3_timed);
    if (info->load_start[0] >= 0)
        printf("load average: %.2f %.2f %.2f at the start, %.2f %.2f %.2f at the end (%ld CPUs)\n",
               info->load_start[0], info->load_start[1], info->load_start[2], info->load_end[0], info->load_end[1],
               info->load_end[2], info->cores);
    printf("figures:      median of %u runs, each a batch of >= %.1f ms, in thread CPU time (wall time\n"
           "              for pcache-inspect and cat); an operation and its baseline run in\n"
           "              alternating batches and ratio is the median of their per-run ratios\n",
           info->runs, info->batch_s * 1e3);
    if (info->check)
        printf("--check:      a ratio over its limit is measured again, 3 times in all, and the median\n"
               "              of the three (marked *) decides\n");
    for (size_t i = 0; i < r->n; i++) {
        const row *x = &r->rows[i];
        char tm[24], bt[24], gbs[16] = "", ratio[16] = "";
        if (strcmp(group, x->group) != 0) {
            group = x->group;
            printf("\n%s\n  %-28s %11s %8s  %-36s %11s %7s  %-20s %s\n", group, "operation", "median",
                   "GB/s", "baseline", "median", "ratio", "target", "result");
        }
        human_time(x->seconds, tm, sizeof tm);
        if (x->bytes)
            snprintf(gbs, sizeof gbs, "%.2f", (double)x->bytes / x->seconds / 1e9);
        if (x->baseline[0]) {
            human_time(x->base_seconds, bt, sizeof bt);
            snprintf(ratio, sizeof ratio, "%.2fx%s", x->ratio, x->tries > 1 ? "*" : "");
        } else {
            bt[0] = 0;
        }
        printf("  %-28s %11s %8s  %-36s %11s %7s  %-20s %s", x->what, tm, gbs, x->baseline, bt, ratio,
               x->target, verdict_name(x->v));
        if (x->tries > 1)
            printf(" (tries %.2fx %.2fx %.2fx)", x->tried[0], x->tried[1], x->tried[2]);
        printf("\n");
    }
    printf("\nTargets\n");
    for (size_t i = 0; i < nt; i++)
        printf("  %-4s  %s%s%s\n", t[i].v == V_NONE ? "n/a" : verdict_name(t[i].v), t[i].name,
               t[i].detail[0] ? ": " : "", t[i].detail);
    for (size_t i = 0; i < info->nnotes; i++)
        printf("  note: %s\n", info->notes[i]);
}

void print_json(const results *r, const target *t, size_t nt, const report_info *info)
{
    json_writer w;
    char xxhash[32];

    json_write_init(&w, stdout);
    json_write_begin_object(&w, NULL, 0);
    json_write_string(&w, "libpcache", PCACHE_VERSION_STRING);
    snprintf(xxhash, sizeof xxhash, "%u.%u.%u", XXH_VERSION_MAJOR, XXH_VERSION_MINOR, XXH_VERSION_RELEASE);
    json_write_string(&w, "xxhash", xxhash);
    json_write_string(&w, "cpu", info->cpu);
    json_write_int(&w, "cores", info->cores);
    json_write_string(&w, "kernel", info->kernel);
    json_write_string(&w, "xxh3_path", info->xxh3_path);
    json_write_string(&w, "xxh3_runnable", info->xxh3_runnable);
    json_write_string(&w, "xxh3_timed", info->xxh3_timed);
    if (info->load_start[0] >= 0) {
        json_write_begin_object(&w, "load_average", 1);
        json_write_begin_list(&w, "start", 1);
        for (int i = 0; i < 3; i++)
            json_write_fixed(&w, NULL, info->load_start[i], 2);
        json_write_end(&w);
        json_write_begin_list(&w, "end", 1);
        for (int i = 0; i < 3; i++)
            json_write_fixed(&w, NULL, info->load_end[i], 2);
        json_write_end(&w);
        json_write_end(&w);
    }
    json_write_bool(&w, "check", info->check);
    json_write_uint(&w, "runs", info->runs);
    json_write_double(&w, "batch_seconds", info->batch_s, 6);
    json_write_begin_list(&w, "rows", 0);
    for (size_t i = 0; i < r->n; i++) {
        const row *x = &r->rows[i];
        json_write_begin_object(&w, NULL, 1);
        json_write_string(&w, "group", x->group);
        json_write_string(&w, "operation", x->what);
        json_write_double(&w, "median_seconds", x->seconds, 9);
        json_write_uint(&w, "bytes", x->bytes);
        if (x->bytes)
            json_write_double(&w, "gb_per_s", (double)x->bytes / x->seconds / 1e9, 4);
        if (x->baseline[0]) {
            json_write_string(&w, "baseline", x->baseline);
            json_write_double(&w, "baseline_median_seconds", x->base_seconds, 9);
            json_write_double(&w, "ratio", x->ratio, 4);
        }
        if (x->target[0]) {
            json_write_string(&w, "target", x->target);
            json_write_string(&w, "result", verdict_name(x->v));
        }
        if (x->tries > 1) {
            json_write_begin_list(&w, "tries", 1);
            for (int k = 0; k < 3; k++)
                json_write_double(&w, NULL, x->tried[k], 4);
            json_write_end(&w);
        }
        json_write_end(&w);
    }
    json_write_end(&w);
    json_write_begin_list(&w, "targets", 0);
    for (size_t i = 0; i < nt; i++) {
        json_write_begin_object(&w, NULL, 1);
        json_write_string(&w, "target", t[i].name);
        json_write_string(&w, "result", t[i].v == V_NONE ? "n/a" : verdict_name(t[i].v));
        json_write_string(&w, "detail", t[i].detail);
        json_write_end(&w);
    }
    json_write_end(&w);
    json_write_begin_list(&w, "notes", 1);
    for (size_t i = 0; i < info->nnotes; i++)
        json_write_string(&w, NULL, info->notes[i]);
    json_write_end(&w);
    json_write_end(&w);
}
