/* SPDX-License-Identifier: BSD-2-Clause */
/* pcache-bench --json, on the smallest configuration (one 4 KiB image, one
 * run a figure), read by jansson (json_doc.h): every field of the document
 * present with its type, the values the test knows (the options it gave,
 * the versions it was built with, this machine's CPU count and kernel)
 * equal, the derived ones consistent (throughput from bytes and time, the
 * exit status from the targets' results), and the same rows (groups and
 * operations) as the text table of a second run.
 *
 * Usage: bench_test PCACHE_BENCH PCACHE_INSPECT [CASE] */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cmocka.h>
#include <xxhash.h>

#include "json_doc.h"
#include "pcache/pcache.h"
#include "tool_run.h"

static const char *bench_tool;
static const char *inspect_tool;

#define RUNS "1"
#define BATCH_MS "1"

static void run_bench(const fixture *f, run_result *r, int json)
{
    const char *args[] = {"--min-size", "4K", "--max-size", "4K", "--runs", RUNS, "--batch-ms", BATCH_MS,
                          "--reloc-max", "1024", "--sections", "64", "--check", "--inspect", inspect_tool,
                          "--dir", f->dir, json ? "--json" : NULL, NULL};
    run_argv(f, r, bench_tool, args);
    /* 0: every target met; 1: one failed (a 4 KiB image may miss its
     * ratio on a busy machine); 2 would be an error */
    if (r->status != 0 && r->status != 1)
        fail_msg("pcache-bench exited with %d\nstderr:\n%s", r->status, r->err);
}

static int is_result(const char *s)
{
    return strcmp(s, "PASS") == 0 || strcmp(s, "FAIL") == 0 || strcmp(s, "n/a") == 0;
}

/* A measurement: a positive finite number. */
static double positive(const json_t *v, const char *path)
{
    double x = jnum(v, path);
    if (!(x > 0) || !isfinite(x))
        fail_msg("JSON %s is %g, expected a positive time or ratio", path, x);
    return x;
}

static void json_fields_and_types(void **state)
{
    fixture *f = *state;
    run_result r, text;
    json_t *v;
    char want[256];
    struct utsname un;
    size_t rows, failed = 0;

    run_bench(f, &r, 1);
    v = json_of(&r);

    assert_string_equal(jstr(v, "libpcache"), PCACHE_VERSION_STRING);
    snprintf(want, sizeof want, "%u.%u.%u", XXH_VERSION_MAJOR, XXH_VERSION_MINOR, XXH_VERSION_RELEASE);
    assert_string_equal(jstr(v, "xxhash"), want);
    assert_true(jstrlen(v, "cpu") > 0);
    assert_int_equal(jint(v, "cores"), sysconf(_SC_NPROCESSORS_ONLN));
    assert_int_equal(uname(&un), 0);
    snprintf(want, sizeof want, "%s %s %s", un.sysname, un.release, un.machine);
    assert_string_equal(jstr(v, "kernel"), want);
    assert_true(jstrlen(v, "xxh3_path") > 0);
    assert_non_null(strstr(jstr(v, "xxh3_runnable"), "scalar"));
    (void)jstr(v, "xxh3_timed");
    if (json_at(v, "load_average")) {
        assert_int_equal(jcount(v, "load_average.start"), 3);
        assert_int_equal(jcount(v, "load_average.end"), 3);
        for (int i = 0; i < 3; i++) {
            char p[40];
            snprintf(p, sizeof p, "load_average.start[%d]", i);
            assert_true(jnum(v, p) >= 0);
            snprintf(p, sizeof p, "load_average.end[%d]", i);
            assert_true(jnum(v, p) >= 0);
        }
    }
    assert_true(jbool(v, "check"));
    assert_int_equal(juint(v, "runs"), atoi(RUNS));
    assert_true(fabs(jnum(v, "batch_seconds") - atoi(BATCH_MS) * 1e-3) < 1e-9);

    rows = jcount(v, "rows");
    assert_true(rows > 0);
    for (size_t i = 0; i < rows; i++) {
        const json_t *row = json_array_get(jget(v, "rows", JSON_ARRAY), i);
        double s = positive(row, "median_seconds");
        uint64_t bytes = juint(row, "bytes");
        assert_true(jstrlen(row, "group") > 0);
        assert_true(jstrlen(row, "operation") > 0);
        /* throughput exactly when there are bytes, to its 4 digits */
        if (bytes) {
            double gbs = positive(row, "gb_per_s"), expect = (double)bytes / s / 1e9;
            assert_true(fabs(gbs - expect) <= expect * 1e-3);
        } else {
            assert_null(json_at(row, "gb_per_s"));
        }
        /* a baseline's three fields together or none */
        if (json_at(row, "baseline")) {
            assert_true(jstrlen(row, "baseline") > 0);
            positive(row, "baseline_median_seconds");
            positive(row, "ratio");
        } else {
            assert_null(json_at(row, "baseline_median_seconds"));
            assert_null(json_at(row, "ratio"));
        }
        if (json_at(row, "target")) {
            assert_true(jstrlen(row, "target") > 0);
            assert_true(is_result(jstr(row, "result")));
        } else {
            assert_null(json_at(row, "result"));
        }
        if (json_at(row, "tries")) {
            assert_int_equal(jcount(row, "tries"), 3);
            for (int k = 0; k < 3; k++) {
                char p[16];
                snprintf(p, sizeof p, "tries[%d]", k);
                positive(row, p);
            }
        }
    }

    assert_true(jcount(v, "targets") > 0);
    for (size_t i = 0; i < jcount(v, "targets"); i++) {
        const json_t *t = json_array_get(jget(v, "targets", JSON_ARRAY), i);
        assert_true(jstrlen(t, "target") > 0);
        assert_true(is_result(jstr(t, "result")));
        (void)jstr(t, "detail");
        failed += strcmp(jstr(t, "result"), "FAIL") == 0;
    }
    /* "Exit status: 0 every target met; 1 a target failed" */
    assert_int_equal(r.status, failed ? 1 : 0);
    for (size_t i = 0; i < jcount(v, "notes"); i++) {
        char p[40];
        snprintf(p, sizeof p, "notes[%zu]", i);
        assert_true(jstrlen(v, p) > 0);
    }

    /* the text table of another run has the same rows (their baselines
     * may differ: "fastest" is chosen by timing) */
    run_bench(f, &text, 0);
    for (size_t i = 0; i < rows; i++) {
        const json_t *row = json_array_get(jget(v, "rows", JSON_ARRAY), i);
        expect_contains("text table", text.out, jstr(row, "group"));
        expect_contains("text table", text.out, jstr(row, "operation"));
    }
    json_decref(v);
    result_free(&r);
    result_free(&text);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(json_fields_and_types, fixture_setup, fixture_teardown),
    };

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s PCACHE_BENCH PCACHE_INSPECT [CASE]\n", argv[0]);
        return 2;
    }
    bench_tool = argv[1];
    inspect_tool = argv[2];
    return run_cases(tests, sizeof tests / sizeof tests[0], argc == 4 ? argv[3] : NULL);
}
