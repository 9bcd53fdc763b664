/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Thread-safety smoke tests (include/pcache/pcache.h, "Conventions"):
 * builders and segments used from several threads at once, and lazy
 * section access on one shared segment from several threads.  cmocka's
 * assertions belong to the main thread, so workers record their first
 * failure and the main thread checks it.  Run under a sanitizer or
 * valgrind's helgrind for more than a smoke test.
 */
#include "support.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define ROUNDS 60

typedef struct worker {
    pthread_t thread;
    pthread_barrier_t *start;
    unsigned seed;
    char failure[256]; /* empty: no failure */
} worker;

#define CHECK(w, cond)                                                                           \
    do {                                                                                         \
        if (!(cond) && !(w)->failure[0]) {                                                       \
            snprintf((w)->failure, sizeof (w)->failure, "%s:%d: %s", __FILE__, __LINE__, #cond); \
            goto out;                                                                            \
        }                                                                                        \
    } while (0)

#define NSEC 5

/* One round: build an image of this thread's own bytes, persist one class
 * at an offset of its own, read it back both ways, then as a file. */
static void one_round(worker *w, unsigned round)
{
    pcache_identity id;
    pcache_builder *b = NULL;
    pcache_expect exp;
    pcache_segment seg;
    pcache_image img;
    pcache_view v;
    pcache_buffer_sink bs;
    pcache_sink sink;
    uint8_t *data[NSEC] = {0}, *mem = NULL, *file = NULL;
    uint64_t size = 0, fsize = 0, F = (uint64_t)w->seed * 4099 + round * 13;
    pcache_class cls = (pcache_class)((w->seed + round) % PCACHE_CLASS_COUNT);
    const uint8_t *map;
    char name[16];

    CHECK(w, pcache_identity_init(&id, "thread-client", w->seed) == PCACHE_OK);
    id.page_size = TEST_PAGE;
    id.checksum = round % 2 ? PCACHE_CHECKSUM_CRC32 : PCACHE_CHECKSUM_XXH3_64;
    CHECK(w, pcache_builder_new(&b, &id) == PCACHE_OK);
    for (int i = 0; i < NSEC; i++) {
        size_t n = 100 + (size_t)(w->seed * 31 + round * 7 + (unsigned)i * 1000) % 3000;
        data[i] = malloc(n);
        CHECK(w, data[i] != NULL);
        test_fill(data[i], n, w->seed * 1000 + round * 10 + (unsigned)i);
        snprintf(name, sizeof name, "t%u.s%d", w->seed, i);
        CHECK(w, pcache_builder_add(b, cls, name, data[i], n, 1u << (i * 2), 0) == PCACHE_OK);
    }
    CHECK(w, pcache_builder_size(b, cls, F, &size) == PCACHE_OK);
    CHECK(w, posix_memalign((void **)&mem, TEST_PAGE, (size_t)(F % TEST_PAGE + size)) == 0);
    sink = pcache_sink_buffer(&bs, mem + F % TEST_PAGE, (size_t)size);
    CHECK(w, pcache_builder_persist(b, cls, &sink) == PCACHE_OK);
    CHECK(w, bs.used == size);

    pcache_expect_init(&exp, &id);
    for (int unknown = 0; unknown <= 1; unknown++) {
        map = mem + F % TEST_PAGE;
        CHECK(w, pcache_resurrect(&seg, cls, &map, unknown ? PCACHE_SIZE_UNKNOWN : size, &exp, NULL) == PCACHE_OK);
        CHECK(w, map == mem + F % TEST_PAGE + size);
        for (int i = 0; i < NSEC; i++) {
            size_t n = 100 + (size_t)(w->seed * 31 + round * 7 + (unsigned)i * 1000) % 3000;
            snprintf(name, sizeof name, "t%u.s%d", w->seed, i);
            CHECK(w, pcache_segment_find(&seg, name, &v, NULL) == PCACHE_OK);
            CHECK(w, v.size == n && memcmp(v.data, data[i], n) == 0);
        }
    }

    CHECK(w, pcache_file_size(b, &fsize) == PCACHE_OK);
    CHECK(w, posix_memalign((void **)&file, TEST_PAGE, (size_t)fsize) == 0);
    sink = pcache_sink_buffer(&bs, file, (size_t)fsize);
    CHECK(w, pcache_file_write_sink(b, &sink, NULL) == PCACHE_OK);
    CHECK(w, pcache_image_open_memory(&img, file, fsize, &exp, NULL) == PCACHE_OK);
    CHECK(w, pcache_image_segment(&img, cls) != NULL);
    CHECK(w, pcache_image_segment(&img, cls)->section_count == NSEC);
out:
    free(file);
    free(mem);
    for (int i = 0; i < NSEC; i++)
        free(data[i]);
    pcache_builder_free(b);
}

static void *build_and_read(void *arg)
{
    worker *w = arg;
    pthread_barrier_wait(w->start);
    for (unsigned r = 0; r < ROUNDS && !w->failure[0]; r++)
        one_round(w, r);
    return NULL;
}

static void concurrent_builders(void **state)
{
    worker w[THREADS];
    pthread_barrier_t start;
    (void)state;

    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (unsigned t = 0; t < THREADS; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].start = &start;
        w[t].seed = t + 1;
        assert_int_equal(pthread_create(&w[t].thread, NULL, build_and_read, &w[t]), 0);
    }
    for (unsigned t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(w[t].thread, NULL), 0);
        if (w[t].failure[0])
            fail_msg("thread %u: %s", t, w[t].failure);
    }
    pthread_barrier_destroy(&start);
}

/* ---- one segment, lazily validated, read by all threads at once ---- */

#define SHARED_SECTIONS 150
#define BAD_INDEX 77

typedef struct shared {
    pcache_segment seg;
    uint8_t *data[SHARED_SECTIONS];
    uint64_t size[SHARED_SECTIONS];
} shared;

typedef struct reader {
    worker w;
    shared *sh;
} reader;

static void *read_sections(void *arg)
{
    reader *rd = arg;
    worker *w = &rd->w;
    pcache_view v;
    pcache_report r;
    char name[16];

    pthread_barrier_wait(w->start);
    for (unsigned pass = 0; pass < 4; pass++) {
        for (unsigned k = 0; k < SHARED_SECTIONS; k++) {
            /* each thread walks from its own starting point */
            unsigned i = (k + w->seed * 37) % SHARED_SECTIONS;
            pcache_status st;
            if (pass % 2) {
                snprintf(name, sizeof name, "s%u", i);
                st = pcache_segment_find(&rd->sh->seg, name, &v, &r);
            } else {
                st = pcache_segment_section(&rd->sh->seg, i, &v, &r);
            }
            if (i == BAD_INDEX) {
                CHECK(w, st == PCACHE_E_SECTION_CHECKSUM);
                CHECK(w, r.status == PCACHE_E_SECTION_CHECKSUM && strcmp(r.section, "s77") == 0);
            } else {
                CHECK(w, st == PCACHE_OK);
                CHECK(w, v.index == i && v.size == rd->sh->size[i]);
                CHECK(w, memcmp(v.data, rd->sh->data[i], (size_t)v.size) == 0);
            }
        }
    }
out:
    return NULL;
}

static void concurrent_lazy_sections(void **state)
{
    shared *sh = calloc(1, sizeof *sh);
    reader rd[THREADS];
    pthread_barrier_t start;
    pcache_identity id;
    pcache_builder *b;
    pcache_expect exp;
    uint64_t size, fo;
    void *block;
    uint8_t *p;
    const uint8_t *map;
    char name[16];
    (void)state;

    assert_non_null(sh);
    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    for (unsigned i = 0; i < SHARED_SECTIONS; i++) {
        sh->size[i] = 1 + (i * 97) % 700;
        sh->data[i] = malloc((size_t)sh->size[i]);
        assert_non_null(sh->data[i]);
        test_fill(sh->data[i], (size_t)sh->size[i], i);
        snprintf(name, sizeof name, "s%u", i);
        assert_int_equal(pcache_builder_add(b, PCACHE_RO, name, sh->data[i], sh->size[i], 1u << (i % 7), 0),
                         PCACHE_OK);
    }
    p = test_persist(b, PCACHE_RO, 0x10, &size, &block);
    assert_int_equal(pcache_builder_section_file_offset(b, PCACHE_RO, "s77", &fo), PCACHE_OK);
    p[fo - 0x10] ^= 0xff;
    pcache_expect_init(&exp, &id);
    exp.validation = PCACHE_VALIDATE_LAZY;
    map = p;
    assert_int_equal(pcache_resurrect(&sh->seg, PCACHE_RO, &map, size, &exp, NULL), PCACHE_OK);
    for (unsigned i = 0; i < SHARED_SECTIONS; i++)
        assert_int_equal(sh->seg.verified[i / 64] & (1ull << (i % 64)), 0);

    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (unsigned t = 0; t < THREADS; t++) {
        memset(&rd[t], 0, sizeof rd[t]);
        rd[t].w.start = &start;
        rd[t].w.seed = t;
        rd[t].sh = sh;
        assert_int_equal(pthread_create(&rd[t].w.thread, NULL, read_sections, &rd[t]), 0);
    }
    for (unsigned t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(rd[t].w.thread, NULL), 0);
        if (rd[t].w.failure[0])
            fail_msg("thread %u: %s", t, rd[t].w.failure);
    }
    pthread_barrier_destroy(&start);

    /* every good section is now marked verified, the bad one never */
    for (unsigned i = 0; i < SHARED_SECTIONS; i++)
        assert_int_equal(!!(sh->seg.verified[i / 64] & (1ull << (i % 64))), i != BAD_INDEX);

    free(block);
    for (unsigned i = 0; i < SHARED_SECTIONS; i++)
        free(sh->data[i]);
    free(sh);
    pcache_builder_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concurrent_builders),
        cmocka_unit_test(concurrent_lazy_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
