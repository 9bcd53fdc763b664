/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Every XXH3 code path this CPU can run (lib/checksum_xxh3_*.c) against
 * the packaged libxxhash's XXH3_64bits(), the function docs/FORMAT.md
 * names: one-shot for every length 0..4096 and some large ones, from
 * unaligned starts, and streaming in random chunk sizes, with and without
 * copying the bytes on the way (update_copy).  A path that is
 * compiled but that the CPU cannot run is skipped (and named on stdout);
 * the scalar and SSE2 paths run on every x86-64 CPU, so they are always
 * checked there.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "checksum.h"
#include "checksum_xxh3.h"

#define SMALL_MAX 4096u
#define SLACK 64u /* room for unaligned starts */
#define LARGE_SIZE ((3u << 20) + 77u)

/* xorshift64*: deterministic, so that a failure reproduces. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

static uint8_t *random_bytes(size_t n, uint64_t seed)
{
    uint8_t *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rng_next(&seed) >> 56);
    return p;
}

/* The runnable paths; *count of them.  Prints the ones skipped. */
static size_t runnable_paths(const checksum_xxh3_ops *out[CHECKSUM_XXH3_PATH_COUNT])
{
    size_t n = 0;
    for (int p = 0; p < CHECKSUM_XXH3_PATH_COUNT; p++) {
        const checksum_xxh3_ops *ops = checksum_xxh3_ops_for((checksum_xxh3_path)p);
        if (ops) {
            assert_int_equal(ops->path, p);
            out[n++] = ops;
        }
    }
    return n;
}

static void paths_expected_on_this_cpu_are_present(void **state)
{
    const checksum_xxh3_ops *paths[CHECKSUM_XXH3_PATH_COUNT];
    size_t n = runnable_paths(paths);
    const checksum_xxh3_ops *best = checksum_xxh3_ops_best();
    (void)state;

    printf("runnable XXH3 paths:");
    for (size_t i = 0; i < n; i++)
        printf(" %s", checksum_xxh3_path_name(paths[i]->path));
    printf("; one-shot: %s, streaming: %s\n", checksum_xxh3_path_name(best->path),
           checksum_xxh3_path_name(checksum_xxh3_ops_streaming()->path));

    assert_true(n >= 1);
    /* The dispatched path is one the CPU can run, and no runnable x86 path
     * is wider than it. */
    assert_ptr_equal(checksum_xxh3_ops_for(best->path), best);
    assert_ptr_equal(checksum_xxh3_ops_for(checksum_xxh3_ops_streaming()->path), checksum_xxh3_ops_streaming());
#if defined(__x86_64__)
    assert_non_null(checksum_xxh3_ops_for(CHECKSUM_XXH3_SCALAR));
    assert_non_null(checksum_xxh3_ops_for(CHECKSUM_XXH3_SSE2));
    if (__builtin_cpu_supports("avx2"))
        assert_non_null(checksum_xxh3_ops_for(CHECKSUM_XXH3_AVX2));
#endif
    /* The policy of checksum_xxh3.h: for each size class, of the paths
     * timed there, the fastest (but for a 3% margin kept for wider
     * ones); every runnable path timed at the smallest size. */
    {
        const checksum_xxh3_timing *t = checksum_xxh3_timings();
        const checksum_xxh3_choice *ch = checksum_xxh3_choice_now();
        assert_non_null(t);
        for (unsigned c = 0; c < CHECKSUM_XXH3_SIZE_CLASSES; c++) {
            assert_ptr_equal(checksum_xxh3_ops_for(ch->oneshot[c]->path), ch->oneshot[c]);
            assert_ptr_equal(checksum_xxh3_ops_for(ch->copy[c]->path), ch->copy[c]);
            if (!t->measured)
                continue;
            printf("timed at %u bytes (ns per call, one-shot / copying):", t->bytes[c]);
            for (size_t i = 0; i < n; i++) {
                checksum_xxh3_path p = paths[i]->path;
                printf(" %s %.1f / %.1f", checksum_xxh3_path_name(p), t->oneshot_ns[c][p], t->copy_ns[c][p]);
                if (c == 0)
                    assert_true(t->oneshot_ns[c][p] > 0 && t->copy_ns[c][p] > 0);
                if (t->oneshot_ns[c][p] > 0)
                    assert_true(t->oneshot_ns[c][ch->oneshot[c]->path] <= 1.03 * t->oneshot_ns[c][p]);
                if (t->copy_ns[c][p] > 0)
                    assert_true(t->copy_ns[c][ch->copy[c]->path] <= 1.03 * t->copy_ns[c][p]);
            }
            printf("; chosen %s / %s\n", checksum_xxh3_path_name(ch->oneshot[c]->path),
                   checksum_xxh3_path_name(ch->copy[c]->path));
        }
        assert_ptr_equal(checksum_xxh3_ops_oneshot(100), ch->oneshot[0]);
        assert_ptr_equal(checksum_xxh3_ops_oneshot(511), ch->oneshot[0]);
        assert_ptr_equal(checksum_xxh3_ops_oneshot(512), ch->oneshot[1]);
        assert_ptr_equal(checksum_xxh3_ops_oneshot(2047), ch->oneshot[1]);
        assert_ptr_equal(checksum_xxh3_ops_oneshot(2048), ch->oneshot[2]);
        assert_ptr_equal(checksum_xxh3_ops_copy(8191), ch->copy[2]);
        assert_ptr_equal(checksum_xxh3_ops_copy(8192), ch->copy[3]);
    }
    /* and it stays made */
    assert_ptr_equal(checksum_xxh3_ops_best(), best);
}

static void oneshot_matches_libxxhash(const checksum_xxh3_ops *ops, const uint8_t *p, size_t len)
{
    uint64_t want = XXH3_64bits(p, len), got = ops->oneshot(p, len);
    if (got != want)
        fail_msg("path %s, length %zu, start %% 64 = %u: got %016llx, libxxhash %016llx",
                 checksum_xxh3_path_name(ops->path), len, (unsigned)((uintptr_t)p % 64),
                 (unsigned long long)got, (unsigned long long)want);
}

static void oneshot_every_small_length(void **state)
{
    const checksum_xxh3_ops *paths[CHECKSUM_XXH3_PATH_COUNT];
    size_t n = runnable_paths(paths);
    uint8_t *buf = random_bytes(SMALL_MAX + SLACK, 1);
    static const size_t edge[] = {0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1023, 1024, 1025, 4096};
    (void)state;

    for (size_t i = 0; i < n; i++) {
        /* Every length, the start moving through all 64 alignments. */
        for (size_t len = 0; len <= SMALL_MAX; len++)
            oneshot_matches_libxxhash(paths[i], buf + len % SLACK, len);
        /* The lengths where XXH3 changes strategy, from every start. */
        for (size_t e = 0; e < sizeof edge / sizeof edge[0]; e++)
            for (size_t start = 0; start < SLACK; start++)
                oneshot_matches_libxxhash(paths[i], buf + start, edge[e]);
    }
    free(buf);
}

static void oneshot_large_lengths(void **state)
{
    const checksum_xxh3_ops *paths[CHECKSUM_XXH3_PATH_COUNT];
    size_t n = runnable_paths(paths);
    uint8_t *buf = random_bytes(LARGE_SIZE + SLACK, 2);
    static const size_t lens[] = {1024 * 1024, 1024 * 1024 + 1, (1u << 20) + 1025, LARGE_SIZE};
    (void)state;

    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++)
            for (size_t start = 0; start < SLACK; start += 21)
                oneshot_matches_libxxhash(paths[i], buf + start, lens[k]);
    free(buf);
}

static void oneshot_copy_matches(const checksum_xxh3_ops *ops, const uint8_t *p, size_t len, uint8_t *dst)
{
    uint64_t want = XXH3_64bits(p, len), got;
    memset(dst, 0xA5, len + 2 * SLACK);
    got = ops->oneshot_copy(dst + SLACK, p, len);
    if (got != want)
        fail_msg("path %s: oneshot_copy of %zu bytes, start %% 64 = %u: got %016llx, libxxhash %016llx",
                 checksum_xxh3_path_name(ops->path), len, (unsigned)((uintptr_t)p % 64), (unsigned long long)got,
                 (unsigned long long)want);
    if (memcmp(dst + SLACK, p, len) != 0)
        fail_msg("path %s: oneshot_copy of %zu bytes copied wrong bytes", checksum_xxh3_path_name(ops->path), len);
    for (size_t i = 0; i < SLACK; i++)
        if (dst[i] != 0xA5 || dst[SLACK + len + i] != 0xA5)
            fail_msg("path %s: oneshot_copy of %zu bytes wrote outside its destination",
                     checksum_xxh3_path_name(ops->path), len);
}

/* oneshot_copy: every length to 4 KiB (the block is 1 KiB, the stripe 64
 * bytes: every way the last partial block and the last stripe fall),
 * every start for the lengths where XXH3 changes strategy, large ones. */
static void oneshot_copy_every_length(void **state)
{
    const checksum_xxh3_ops *paths[CHECKSUM_XXH3_PATH_COUNT];
    size_t n = runnable_paths(paths);
    uint8_t *buf = random_bytes(LARGE_SIZE + SLACK, 7), *dst = malloc(LARGE_SIZE + 3 * SLACK);
    static const size_t edge[] = {0, 1, 240, 241, 255, 256, 1023, 1024, 1025, 1088, 2048, 4096};
    static const size_t large[] = {65536 + 1, 1024 * 1024, LARGE_SIZE};
    (void)state;

    assert_non_null(dst);
    for (size_t i = 0; i < n; i++) {
        for (size_t len = 0; len <= SMALL_MAX; len++)
            oneshot_copy_matches(paths[i], buf + len % SLACK, len, dst + len % 7);
        for (size_t e = 0; e < sizeof edge / sizeof edge[0]; e++)
            for (size_t start = 0; start < SLACK; start++)
                oneshot_copy_matches(paths[i], buf + start, edge[e], dst + start % 3);
        for (size_t k = 0; k < sizeof large / sizeof large[0]; k++)
            oneshot_copy_matches(paths[i], buf + k, large[k], dst);
    }
    free(dst);
    free(buf);
}

/* Feeds len bytes in random chunks (empty ones included) and compares the
 * digest with libxxhash's one-shot value; when check_prefixes, also the
 * digest after every chunk, which must not disturb the state. */
static void stream_in_chunks(const checksum_xxh3_ops *ops, const uint8_t *p, size_t len, uint64_t *rng,
                             size_t max_chunk, int check_prefixes)
{
    XXH3_state_t *st = aligned_alloc(64, (sizeof *st + 63) & ~(size_t)63);
    size_t done = 0;
    assert_non_null(st);
    ops->reset(st);
    while (done < len) {
        size_t k = (size_t)(rng_next(rng) % (max_chunk + 1));
        if (k > len - done)
            k = len - done;
        ops->update(st, p + done, k);
        done += k;
        if (check_prefixes && ops->digest(st) != XXH3_64bits(p, done))
            fail_msg("path %s: digest after %zu streamed bytes differs from libxxhash",
                     checksum_xxh3_path_name(ops->path), done);
    }
    if (ops->digest(st) != XXH3_64bits(p, len))
        fail_msg("path %s: digest of %zu bytes streamed in chunks of up to %zu differs from libxxhash",
                 checksum_xxh3_path_name(ops->path), len, max_chunk);
    free(st);
}

/* The same through update_copy (mixed with plain updates, as persist mixes
 * buffered and direct writes): the digest must not change, and every byte
 * must arrive at its place in dst, nothing written past it. */
static void stream_copy_in_chunks(const checksum_xxh3_ops *ops, const uint8_t *p, size_t len, uint64_t *rng,
                                  size_t max_chunk)
{
    XXH3_state_t *st = aligned_alloc(64, (sizeof *st + 63) & ~(size_t)63);
    uint8_t *dst = malloc(len + 2 * SLACK);
    size_t done = 0;
    assert_non_null(st);
    assert_non_null(dst);
    memset(dst, 0xA5, len + 2 * SLACK);
    ops->reset(st);
    while (done < len) {
        size_t k = (size_t)(rng_next(rng) % (max_chunk + 1));
        if (k > len - done)
            k = len - done;
        if (rng_next(rng) % 4 == 0) {
            ops->update(st, p + done, k);
            memcpy(dst + SLACK + done, p + done, k);
        } else {
            ops->update_copy(st, dst + SLACK + done, p + done, k);
        }
        done += k;
    }
    if (ops->digest(st) != XXH3_64bits(p, len))
        fail_msg("path %s: digest of %zu bytes streamed with copies in chunks of up to %zu differs from libxxhash",
                 checksum_xxh3_path_name(ops->path), len, max_chunk);
    if (memcmp(dst + SLACK, p, len) != 0)
        fail_msg("path %s: update_copy of %zu bytes in chunks of up to %zu copied wrong bytes",
                 checksum_xxh3_path_name(ops->path), len, max_chunk);
    for (size_t i = 0; i < SLACK; i++)
        if (dst[i] != 0xA5 || dst[SLACK + len + i] != 0xA5)
            fail_msg("path %s: update_copy wrote outside its destination", checksum_xxh3_path_name(ops->path));
    free(dst);
    free(st);
}

static void streaming_random_chunks(void **state)
{
    const checksum_xxh3_ops *paths[CHECKSUM_XXH3_PATH_COUNT];
    size_t n = runnable_paths(paths);
    uint8_t *buf = random_bytes(LARGE_SIZE + SLACK, 3);
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    static const size_t small[] = {0, 1, 16, 129, 240, 241, 1024, 1025, 2048, 4096};
    (void)state;

    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof small / sizeof small[0]; k++)
            for (size_t rep = 0; rep < 8; rep++)
                stream_in_chunks(paths[i], buf + rep * 7 % SLACK, small[k], &rng, 300, 1);
        /* Chunks smaller and larger than the 256-byte internal buffer and
         * the 1 KiB stripe block. */
        for (size_t rep = 0; rep < 4; rep++) {
            stream_in_chunks(paths[i], buf + rep, 100000 + rep * 13, &rng, 700, 0);
            stream_in_chunks(paths[i], buf + rep * 5, LARGE_SIZE - rep, &rng, 70000, 0);
        }
    }
    free(buf);
}

static void streaming_copy_random_chunks(void **state)
{
    const checksum_xxh3_ops *paths[CHECKSUM_XXH3_PATH_COUNT];
    size_t n = runnable_paths(paths);
    uint8_t *buf = random_bytes(LARGE_SIZE + SLACK, 5);
    uint64_t rng = 0xD1B54A32D192ED03ull;
    static const size_t small[] = {0, 1, 64, 255, 256, 257, 320, 321, 1024, 1025, 4096};
    (void)state;

    for (size_t i = 0; i < n; i++) {
        /* Around the buffer (256 bytes), the stripe (64) and the block
         * (1024): chunks up to 400 bytes cross each boundary many ways. */
        for (size_t k = 0; k < sizeof small / sizeof small[0]; k++)
            for (size_t rep = 0; rep < 16; rep++)
                stream_copy_in_chunks(paths[i], buf + rep * 3 % SLACK, small[k], &rng, 400);
        for (size_t rep = 0; rep < 4; rep++) {
            stream_copy_in_chunks(paths[i], buf + rep, 100000 + rep * 13, &rng, 3000);
            stream_copy_in_chunks(paths[i], buf + rep * 5, LARGE_SIZE - rep, &rng, 140000);
        }
    }
    free(buf);
}

/* The library's own entry points (checksum.c) take the dispatched path. */
static void library_checksums_match_libxxhash(void **state)
{
    uint8_t *buf = random_bytes(LARGE_SIZE, 4);
    checksum_state *st = aligned_alloc(64, (sizeof *st + 63) & ~(size_t)63);
    static const size_t lens[] = {0, 1, 248, 4096, 65536 + 3, LARGE_SIZE};
    (void)state;

    assert_non_null(st);
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        uint64_t want = XXH3_64bits(buf, lens[k]);
        size_t half = lens[k] / 3;
        assert_int_equal(pcache_checksum(PCACHE_CHECKSUM_XXH3_64, buf, lens[k]), want);
        checksum_reset(st, PCACHE_CHECKSUM_XXH3_64);
        checksum_update(st, buf, half);
        checksum_update(st, buf + half, lens[k] - half);
        assert_int_equal(checksum_digest(st), want);
    }
    free(st);
    free(buf);
}

/* checksum_update_copy, both algorithms, against zlib and libxxhash. */
static void library_update_copy_matches(void **state)
{
    uint8_t *buf = random_bytes(LARGE_SIZE, 6), *dst = malloc(LARGE_SIZE);
    checksum_state *st = aligned_alloc(64, (sizeof *st + 63) & ~(size_t)63);
    static const size_t lens[] = {0, 1, 300, 65536 + 3, LARGE_SIZE};
    (void)state;

    assert_non_null(st);
    assert_non_null(dst);
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t half = lens[k] / 3;
        memset(dst, 0, LARGE_SIZE);
        checksum_reset(st, PCACHE_CHECKSUM_XXH3_64);
        checksum_update_copy(st, dst, buf, half);
        checksum_update_copy(st, dst + half, buf + half, lens[k] - half);
        assert_int_equal(checksum_digest(st), XXH3_64bits(buf, lens[k]));
        assert_memory_equal(dst, buf, lens[k]);
        memset(dst, 0, LARGE_SIZE);
        checksum_reset(st, PCACHE_CHECKSUM_CRC32);
        checksum_update_copy(st, dst, buf, half);
        checksum_update_copy(st, dst + half, buf + half, lens[k] - half);
        assert_int_equal(checksum_digest(st), crc32(crc32(0, Z_NULL, 0), buf, (uInt)lens[k]));
        assert_memory_equal(dst, buf, lens[k]);
    }
    free(st);
    free(dst);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paths_expected_on_this_cpu_are_present),
        cmocka_unit_test(oneshot_every_small_length),
        cmocka_unit_test(oneshot_large_lengths),
        cmocka_unit_test(oneshot_copy_every_length),
        cmocka_unit_test(streaming_random_chunks),
        cmocka_unit_test(streaming_copy_random_chunks),
        cmocka_unit_test(library_checksums_match_libxxhash),
        cmocka_unit_test(library_update_copy_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
