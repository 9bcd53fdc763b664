/* SPDX-License-Identifier: BSD-2-Clause */
/* The example client (examples/bbcount/bbcount.c, compiled against
 * tests/dr/dr_api.h) run in the model as drrun -persist runs it: a first
 * run counts and persists at exit; a second run loads the pcache, takes its
 * data back and reports the same counts and what it resurrected.  By
 * default DR builds the instrumented blocks again; with -persist_code they
 * come from the pcache, without bb events, and a run with the client
 * library moved refuses the pcache (their clean calls hold its old
 * address) and still counts right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dr_model.h"
#include "dr_test_files.h"

static char file[600];
static const char *libs[] = {"/opt/tools/libbbcount.so"};
#define NBLOCKS 20

static dr_model_unit unit(uint64_t move)
{
    dr_model_unit u;
    dr_model_hello_unit(&u);
    u.cache_len = 8192;
    u.post_cache_pad_len = 1000;
    u.module_base += move;
    return u;
}

/* One process: bbcount with -range over the unit, the app runs block k
 * (k + 1) times, plus blocks outside the range; exit persists. */
static uint64_t run(int separate, int persist_code, uint64_t move, uint64_t client_base, const char **out)
{
    dr_model_unit u = unit(move);
    dr_model_options o;
    char range[64], why[256];
    const char *argv[] = {libs[0], "-range", range, "-persist_code"};
    uint64_t start = u.module_base + u.start_offs, expected = 0;

    dr_model_default_options(&o);
    o.persist_map_rw_separate = separate;
    dr_model_reset(&o);
    dr_model_set_clients(libs, 1);
    dr_model_set_client_base(0, client_base);
    snprintf(range, sizeof range, "0x%llx-0x%llx", (unsigned long long)start,
             (unsigned long long)(u.module_base + u.end_offs));
    dr_client_main(0, persist_code ? 4 : 3, argv);
    /* the module is mapped: DR loads its pcache if there is one */
    (void)dr_model_load(&u, file, NULL, why, sizeof why);
    for (int k = 0; k < NBLOCKS; k++)
        for (int r = 0; r <= k; r++) {
            dr_model_execute(start + 0x40 * (uint64_t)k);
            expected++;
        }
    dr_model_execute(u.module_base + 0x10); /* outside the range: not counted */
    dr_model_exit(&u, (const char *const[]){file}, 1);
    *out = dr_model_output_text();
    return expected;
}

static void expect_line(const char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void expect_line(const char *out, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!strstr(out, line))
        fail_msg("expected \"%s\" in:\n%s", line, out);
}

static void test_runs(void **state)
{
    (void)state;
    for (int mode = 0; mode < 4; mode++) {
        int separate = mode & 1, persist_code = mode >> 1;
        uint64_t base = dr_model_reachable_base() + 0x2000000;
        const char *out;
        uint64_t n;

        unlink(file);
        /* run 1: counts, persists at exit */
        n = run(separate, persist_code, 0, base, &out);
        expect_line(out, "bbcount: executed %d blocks %llu times", NBLOCKS, (unsigned long long)n);
        expect_line(out, "bbcount: resurrected 0 units, 0 blocks, 0 executions");
        assert_int_equal(dr_model_blocks_built(), NBLOCKS + 1);
        assert_int_equal(access(file, F_OK), 0);

        /* run 2: the module moved; the data comes back, the blocks come
         * from the pcache when they were persisted */
        n = run(separate, persist_code, 0x20000000, base, &out);
        expect_line(out, "bbcount: executed %d blocks %llu times", NBLOCKS, (unsigned long long)n);
        expect_line(out, "bbcount: resurrected 1 units, %d blocks, %llu executions, rx checks 1", NBLOCKS,
                    (unsigned long long)n);
        assert_int_equal(dr_model_blocks_built(), persist_code ? 1 : NBLOCKS + 1);
        assert_int_equal(dr_model_blocks_from_pcache(), persist_code ? n : 0);
        assert_int_equal(dr_model_merges(), 1); /* at exit, over run 1's file */

        /* run 3: the client library moved.  Persisted clean calls would
         * miss it: that pcache is refused, the blocks are built again and
         * counted all the same.  Without persisted code, nothing is
         * stale. */
        n = run(separate, persist_code, 0, base + 0x100000, &out);
        expect_line(out, "bbcount: executed %d blocks %llu times", NBLOCKS, (unsigned long long)n);
        assert_int_equal(dr_model_blocks_built(), NBLOCKS + 1);
        assert_int_equal(dr_model_blocks_from_pcache(), 0);
        if (persist_code) {
            assert_non_null(strstr(out, "refused"));
            expect_line(out, "bbcount: resurrected 0 units");
        } else {
            expect_line(out, "bbcount: resurrected 1 units, %d blocks", NBLOCKS);
        }
        dr_model_reset(NULL);
    }
}

static int setup(void **state)
{
    (void)state;
    dr_test_dir_make("/tmp/pcache-dr-bbcount-XXXXXX");
    dr_test_path(file, sizeof file, "hello.dpc");
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs),
    };
    return cmocka_run_group_tests(tests, setup, dr_test_teardown);
}
