/* SPDX-License-Identifier: BSD-2-Clause */
/* pcache-bench's results: rows beside their baselines, targets with their
 * verdicts, printed as a text table or as JSON (written by the tools'
 * shared writer, json_write.h: its strings are escaped as pcache-inspect's
 * are, and a measurement that is not finite is null). */
#ifndef PCACHE_TOOLS_BENCH_REPORT_H
#define PCACHE_TOOLS_BENCH_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "bench_measure.h"

typedef enum verdict { V_NONE, V_PASS, V_FAIL, V_NA } verdict;

typedef struct row {
    char group[64];     /* "4 KiB image", "65536 relocations", ... */
    char what[48];
    double seconds;
    uint64_t bytes;     /* for throughput; 0 when meaningless */
    char baseline[64];  /* "" when the row is a baseline itself */
    double base_seconds;
    double ratio;       /* seconds / base_seconds, or the median ratio of a pair */
    char target[40];    /* "" when no target applies */
    verdict v;
    /* --check: a judged ratio over its limit is measured again, up to 3
     * times in all, and the median decides; the ratios of the tries */
    unsigned tries;
    double tried[3];
} row;

typedef struct results {
    row *rows;
    size_t n, cap;
} results;

/* A measured operation without a baseline.  Exits when out of memory. */
row *add_row(results *r, const char *group, const char *what, double s, uint64_t bytes);
/* Gives x a baseline measured on its own: ratio of the two medians. */
void compare(row *x, const char *baseline, double base_seconds);
/* A row measured as a pair with its baseline. */
row *add_pair_row(results *r, const char *group, const char *what, uint64_t bytes, const char *baseline,
                  pair p);

/* A target over several rows: PASS when every judged row passes. */
typedef struct target {
    const char *name;
    verdict v;
    char detail[600];
} target;

void judge(target *t, verdict v);

/* "4 KiB", "256 MiB", "100 B". */
void size_label(uint64_t n, char *out, size_t cap);

typedef struct report_info {
    char cpu[160];
    char kernel[3 * 65 + 3];
    long cores;
    char xxh3_path[64];
    char xxh3_runnable[64];
    char xxh3_timed[200];   /* what the library's choice was made from */
    double load_start[3], load_end[3]; /* load averages; < 0 unknown */
    int check;
    unsigned long allocs;
    const char *notes[12];
    size_t nnotes;
    unsigned runs;
    double batch_s;
} report_info;

void print_text(const results *r, const target *t, size_t nt, const report_info *info);
void print_json(const results *r, const target *t, size_t nt, const report_info *info);

#endif
