/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The XXH3 path choice (lib/checksum_xxh3_dispatch.c) is made at the
 * first checksum of the process.  Here that first checksum is taken by
 * several threads at once, released together by a barrier, so that one
 * times the paths while the others take widest().  Every thread must get
 * the same value, and the run must be free of data races under
 * ThreadSanitizer (-Db_sanitize=thread): this process must not have
 * computed any checksum before the threads start.
 */
#include "support.h"

#include <pthread.h>
#include <string.h>

#define THREADS 8
#define CALLS 64

static pthread_barrier_t start;
static uint8_t data[4096];

typedef struct {
    pthread_t t;
    uint64_t sum[CALLS];
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    pthread_barrier_wait(&start);
    for (unsigned i = 0; i < CALLS; i++)
        r->sum[i] = pcache_checksum(PCACHE_CHECKSUM_XXH3_64, data, 100 + (i * 577) % 4000);
    return NULL;
}

static void first_checksum_from_many_threads(void **state)
{
    static racer r[THREADS];
    (void)state;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&r[i].t, NULL, race, &r[i]), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(r[i].t, NULL), 0);
    pthread_barrier_destroy(&start);
    for (unsigned i = 0; i < CALLS; i++) {
        uint64_t want = pcache_checksum(PCACHE_CHECKSUM_XXH3_64, data, 100 + (i * 577) % 4000);
        for (int t = 0; t < THREADS; t++)
            assert_true(r[t].sum[i] == want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_checksum_from_many_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
