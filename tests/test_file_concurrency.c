/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Several processes saving to one path while others load it: every load
 * is one whole image of one writer's round (every section carries the
 * writer and round in its bytes), never a torn or mixed one, and a reader
 * never sees a writer's round older than one it has already seen.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "file_test_support.h"

#define WRITERS 3
#define READERS 2
#define FIRST_TAG 1u /* the image in place before anyone starts */

static unsigned rounds(void)
{
    return ft_under_valgrind() ? 6 : 50;
}

static uint32_t tag_of(unsigned writer, unsigned round)
{
    return (writer + 1) * 1000u + round + 1;
}

typedef struct shared {
    atomic_int writers_done;
    atomic_ulong accepted[READERS];
    atomic_ulong per_writer[WRITERS];
} shared;

static void writer(const char *path, unsigned w)
{
    for (unsigned r = 0; r < rounds(); r++) {
        ft_image img;
        pcache_report rep;
        pcache_status st;
        /* sizes differ per round, so a mix of two files cannot line up */
        ft_image_make(&img, tag_of(w, r), 48u * 1024u + (r % 5) * 4096u);
        st = pcache_file_save(img.b, path, NULL, &rep);
        if (st != PCACHE_OK)
            fprintf(stderr, "writer %u round %u: %s\n", w, r, rep.message);
        CHILD_CHECK(st == PCACHE_OK);
        ft_image_free(&img);
    }
    _exit(0);
}

static void reader(const char *path, unsigned id, shared *sh)
{
    int last_round[WRITERS];
    for (unsigned w = 0; w < WRITERS; w++)
        last_round[w] = -1;
    for (;;) {
        /* read once more after the writers are done: the final state */
        int done = atomic_load(&sh->writers_done);
        uint32_t tag = 0;
        char why[256];
        pcache_status st = ft_load_tag(path, &tag, why);
        if (st != PCACHE_OK)
            fprintf(stderr, "reader %u: %s: %s\n", id, pcache_status_name(st), why);
        CHILD_CHECK(st == PCACHE_OK);
        if (tag != FIRST_TAG) {
            unsigned w = tag / 1000u - 1, r = tag % 1000u - 1;
            CHILD_CHECK(tag >= 1000u && w < WRITERS && r < rounds() && tag == tag_of(w, r));
            if ((int)r < last_round[w])
                fprintf(stderr, "reader %u: writer %u round %u after round %d\n", id, w, r, last_round[w]);
            CHILD_CHECK((int)r >= last_round[w]);
            last_round[w] = (int)r;
            atomic_fetch_add(&sh->per_writer[w], 1);
        }
        atomic_fetch_add(&sh->accepted[id], 1);
        if (done)
            break;
    }
    _exit(0);
}

static void test_writers_and_readers(void **state)
{
    char dir[256], path[512];
    pcache_report rep;
    ft_image first;
    shared *sh;
    int wpid[WRITERS], rpid[READERS];
    uint32_t tag;
    char why[256];

    (void)state;
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(sh != MAP_FAILED);
    memset(sh, 0, sizeof *sh);
    ft_mkdtemp(dir, "concurrency");
    ft_join(path, dir, "img.pcache");
    ft_image_make(&first, FIRST_TAG, 16u * 1024u);
    assert_int_equal(pcache_file_save(first.b, path, NULL, &rep), PCACHE_OK);

    for (unsigned i = 0; i < READERS; i++) {
        rpid[i] = fork();
        assert_true(rpid[i] >= 0);
        if (rpid[i] == 0)
            reader(path, i, sh);
    }
    for (unsigned i = 0; i < WRITERS; i++) {
        wpid[i] = fork();
        assert_true(wpid[i] >= 0);
        if (wpid[i] == 0)
            writer(path, i);
    }
    for (unsigned i = 0; i < WRITERS; i++)
        assert_int_equal(ft_wait(wpid[i]), 0);
    atomic_store(&sh->writers_done, 1);
    for (unsigned i = 0; i < READERS; i++)
        assert_int_equal(ft_wait(rpid[i]), 0);

    for (unsigned i = 0; i < READERS; i++)
        assert_true(atomic_load(&sh->accepted[i]) > 1);
    print_message("loads accepted: %lu and %lu; images seen per writer: %lu %lu %lu\n",
                  atomic_load(&sh->accepted[0]), atomic_load(&sh->accepted[1]), atomic_load(&sh->per_writer[0]),
                  atomic_load(&sh->per_writer[1]), atomic_load(&sh->per_writer[2]));
    /* the last rename wins: some writer's last round */
    assert_int_equal(ft_load_tag(path, &tag, why), PCACHE_OK);
    assert_int_equal(tag % 1000u, rounds());
    assert_int_equal(ft_count_tmp(dir), 0);

    ft_image_free(&first);
    ft_rmtree(dir);
    munmap(sh, sizeof *sh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writers_and_readers),
    };
    umask(022);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
