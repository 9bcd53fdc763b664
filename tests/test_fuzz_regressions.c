/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Replays, without any fuzzing engine, every committed fuzz input through
 * the same entry functions the fuzzers call: each reproducer kept under
 * fuzz/regressions/<target>/ and each seed under fuzz/corpus/<target>/
 * (and, for the .dpc target, DR's real files in tests/data/).  The
 * dr_adapter target runs the DynamoRIO adapter in the model of DR
 * (tests/dr/), linked in here.  So the
 * normal, sanitizer and valgrind builds of the unit suite all check that
 * no bug a fuzzer once found comes back.
 *
 * A target checks its contracts itself and aborts on a broken one (see
 * fuzz/fuzz_common.h), which fails this test.  Besides, every target must
 * have a non-empty seed corpus, and the seeds of the segment and file
 * and .dpc targets must be valid (or refused only for the critical unknown
 * section some seeds carry on purpose), since make_corpus writes them so:
 * a stale corpus (a format change the seeds no longer follow) fails here.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fuzz_targets.h"
#include "pcache/build_id.h"
#include "pcache/dpc.h"
#include "pcache/pcache.h"
#include "pcache/reloc.h"

#ifndef PCACHE_FUZZ_DIR
#error "PCACHE_FUZZ_DIR must name the source tree's fuzz/ directory"
#endif
#ifndef PCACHE_TEST_DATA_DIR
#error "PCACHE_TEST_DATA_DIR must name tests/data"
#endif

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

/* Says whether a committed seed is a valid input (NULL: no such claim). */
typedef int (*valid_fn)(const uint8_t *data, size_t size);

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int regular_file(const struct dirent *d)
{
    return d->d_name[0] != '.' && strcmp(d->d_name, "README.md") != 0;
}

/* Replays every file of dir (missing: 0 files).  The targets print (the
 * inspect target runs the tool): their stdout goes to /dev/null. */
static int replay_dir(const char *dir, fuzz_fn fn, valid_fn valid)
{
    struct dirent **names;
    int n = scandir(dir, &names, regular_file, by_name);
    int quiet = open("/dev/null", O_WRONLY), saved = dup(STDOUT_FILENO);

    assert_true(quiet >= 0 && saved >= 0);
    for (int i = 0; i < n; i++) {
        char path[4096];
        size_t size;
        uint8_t *data;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        data = slurp(path, &size);
        if (valid && !valid(data, size))
            fail_msg("committed seed %s is not a valid input: regenerate the corpus (docs/FUZZING.md)", path);
        fflush(stdout);
        dup2(quiet, STDOUT_FILENO);
        assert_int_equal(fn(data, size), 0);
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        free(data);
        free(names[i]);
    }
    if (n > 0)
        free(names);
    close(quiet);
    close(saved);
    return n < 0 ? 0 : n;
}

static void replay(const char *target, fuzz_fn fn, valid_fn valid, const char *extra_dir)
{
    char dir[4096];
    int seeds;

    snprintf(dir, sizeof dir, "%s/regressions/%s", PCACHE_FUZZ_DIR, target);
    replay_dir(dir, fn, NULL);
    snprintf(dir, sizeof dir, "%s/corpus/%s", PCACHE_FUZZ_DIR, target);
    seeds = replay_dir(dir, fn, valid);
    if (seeds == 0)
        fail_msg("no seed corpus in %s", dir);
    if (extra_dir)
        replay_dir(extra_dir, fn, NULL);
}

static int valid_segment(const uint8_t *data, size_t size)
{
    pcache_expect exp;
    pcache_segment seg;
    uint8_t *copy = malloc(size + 1);
    const uint8_t *map = copy;
    int ok = 0;

    pcache_expect_init(&exp, NULL);
    memcpy(copy, data, size);
    for (int c = 0; c < PCACHE_CLASS_COUNT && !ok; c++) {
        map = copy;
        pcache_status st = pcache_resurrect(&seg, (pcache_class)c, &map, size, &exp, NULL);
        ok = (st == PCACHE_OK && seg.size == size) || st == PCACHE_E_UNKNOWN_CRITICAL;
    }
    free(copy);
    return ok;
}

/* A segment with relocation records, then the reloc target's control bytes. */
static int valid_reloc_seed(const uint8_t *data, size_t size)
{
    pcache_expect exp;
    pcache_segment seg;
    uint8_t *copy = malloc(size + 1);
    const uint8_t *map;
    int ok = 0;

    pcache_expect_init(&exp, NULL);
    memcpy(copy, data, size);
    for (int c = 0; c < PCACHE_CLASS_COUNT && !ok; c++) {
        map = copy;
        ok = pcache_resurrect(&seg, (pcache_class)c, &map, size, &exp, NULL) == PCACHE_OK &&
             pcache_segment_reloc_count(&seg) > 0;
    }
    free(copy);
    return ok;
}

static int valid_file(const uint8_t *data, size_t size)
{
    pcache_image img;
    void *copy = NULL;
    pcache_status st;
    int ok;

    assert_int_equal(posix_memalign(&copy, 4096, size + 1), 0);
    memcpy(copy, data, size);
    st = pcache_image_open_memory(&img, copy, size, NULL, NULL);
    ok = st == PCACHE_OK || st == PCACHE_E_UNKNOWN_CRITICAL;
    free(copy);
    return ok;
}

static int valid_dpc(const uint8_t *data, size_t size)
{
    pcache_dpc d;
    return pcache_dpc_parse(&d, data, size, NULL) == PCACHE_OK;
}

/* An image of a loaded ELF object whose build the reader finds. */
static int valid_elf_image(const uint8_t *data, size_t size)
{
    pcache_build_id id;
    return pcache_build_id_of_loaded_elf(data, size, &id, NULL) == PCACHE_OK;
}

/* The dr_adapter target's input: two control bytes, file 1's length, a
 * .dpc file DR's layout holds, with this library's segments in its slots
 * (fuzz/fuzz_dr.h). */
static int valid_dr_seed(const uint8_t *data, size_t size)
{
    pcache_dpc d;
    pcache_dpc_found found[16];
    size_t count = 0, n1, ok = 0;

    if (size < 6)
        return 0;
    n1 = (size_t)data[2] | (size_t)data[3] << 8 | (size_t)data[4] << 16 | (size_t)data[5] << 24;
    if (n1 > size - 6 || pcache_dpc_parse(&d, data + 6, n1, NULL) != PCACHE_OK ||
        pcache_dpc_find_segments(&d, found, 16, &count, NULL) != PCACHE_OK)
        return 0;
    for (size_t i = 0; i < count && i < 16; i++)
        ok += found[i].status == PCACHE_OK;
    return ok > 0;
}

static void test_segment_known(void **state)
{
    (void)state;
    replay("segment_known", fuzz_segment_known, valid_segment, NULL);
}

static void test_segment_unknown(void **state)
{
    (void)state;
    replay("segment_unknown", fuzz_segment_unknown, valid_segment, NULL);
}

static void test_file_memory(void **state)
{
    (void)state;
    replay("file_memory", fuzz_file_memory, valid_file, NULL);
}

static void test_reloc(void **state)
{
    (void)state;
    replay("reloc", fuzz_reloc, valid_reloc_seed, NULL);
}

static void test_dpc(void **state)
{
    (void)state;
    replay("dpc", fuzz_dpc, valid_dpc, PCACHE_TEST_DATA_DIR);
}

static void test_inspect(void **state)
{
    (void)state;
    replay("inspect", fuzz_inspect, NULL, NULL);
}

static void test_build_id(void **state)
{
    (void)state;
    replay("build_id", fuzz_build_id, valid_elf_image, NULL);
}

static void test_dr_adapter(void **state)
{
    (void)state;
    replay("dr_adapter", fuzz_dr_adapter, valid_dr_seed, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segment_known),
        cmocka_unit_test(test_segment_unknown),
        cmocka_unit_test(test_file_memory),
        cmocka_unit_test(test_reloc),
        cmocka_unit_test(test_dpc),
        cmocka_unit_test(test_inspect),
        cmocka_unit_test(test_build_id),
        cmocka_unit_test(test_dr_adapter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
