/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A writer killed with SIGKILL at every system call of a save, and at
 * random moments: afterwards the target is always exactly the old image or
 * exactly the new one, and the library's sweep leaves no temporary file.
 *
 * The child dies by raise(SIGKILL) just before its k-th call through the
 * ops table, for every k, so every point between two system calls is hit
 * deterministically; the timed kills add points inside system calls.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "file_test_support.h"

#define OLD_TAG 10u
#define NEW_TAG 11u

typedef struct fixture {
    char dir[256];
    char path[512];
    ft_image old_img, new_img;
} fixture;

static size_t image_bytes(void)
{
    /* a few MiB: a save takes dozens of writes; less under valgrind */
    return ft_under_valgrind() ? 256u * 1024u : 3u * 1024u * 1024u;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    pcache_report rep;

    ft_mkdtemp(fx->dir, "crash");
    ft_join(fx->path, fx->dir, "img.pcache");
    ft_image_make(&fx->old_img, OLD_TAG, image_bytes());
    ft_image_make(&fx->new_img, NEW_TAG, image_bytes() + 12345);
    if (pcache_file_save(fx->old_img.b, fx->path, NULL, &rep) != PCACHE_OK)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    ft_rmtree(fx->dir);
    ft_image_free(&fx->old_img);
    ft_image_free(&fx->new_img);
    free(fx);
    return 0;
}

static uint32_t target_tag(const fixture *fx)
{
    uint32_t tag = 0;
    char why[256];
    pcache_status st = ft_load_tag(fx->path, &tag, why);
    if (st != PCACHE_OK)
        fail_msg("target is neither image: %s: %s", pcache_status_name(st), why);
    return tag;
}

static void test_kill_at_every_call(void **state)
{
    fixture *fx = *state;
    ft_faults count;
    pcache_save_options opt = {0};
    pcache_report rep;
    unsigned long calls, tmp_call = 0, rename_call = 0;

    /* the calls of one whole save, to know where the temporary appears and
     * where the rename is */
    ft_faults_init(&count);
    opt.ops = &count.ops;
    opt.skip_cleanup = 1; /* the sweep under test is the parent's */
    assert_int_equal(pcache_file_save(fx->new_img.b, fx->path, &opt, &rep), PCACHE_OK);
    calls = count.calls;
    assert_true(calls < FT_LOG_MAX);
    for (unsigned long i = 0; i < calls; i++) {
        if (count.log[i] == FT_OPENAT)
            tmp_call = i + 1; /* the last openat creates the temporary */
        if (count.log[i] == FT_RENAMEAT)
            rename_call = i + 1;
    }
    assert_true(tmp_call > 0 && rename_call > tmp_call + 3);
    assert_true(count.per_op[FT_WRITE] >= image_bytes() / (64 * 1024)); /* the writer's chunks at most */
    assert_int_equal(pcache_file_save(fx->old_img.b, fx->path, NULL, &rep), PCACHE_OK);
    print_message("killing a save of %lu calls (%lu writes) before each call, temporary at call %lu, rename at "
                  "call %lu\n",
                  calls, count.per_op[FT_WRITE], tmp_call, rename_call);

    for (unsigned long k = 1; k <= calls + 1; k++) {
        unsigned removed = 99;
        int strays = k > tmp_call && k <= rename_call;
        uint32_t want = k <= rename_call ? OLD_TAG : NEW_TAG;
        int code, pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
            ft_faults f;
            ft_faults_init(&f);
            f.kill_before = k; /* k = calls + 1: never; the save completes */
            opt.ops = &f.ops;
            _exit(pcache_file_save(fx->new_img.b, fx->path, &opt, &rep) == PCACHE_OK ? 0 : 1);
        }
        code = ft_wait(pid);
        assert_int_equal(code, k <= calls ? 128 + SIGKILL : 0);
        if (target_tag(fx) != want)
            fail_msg("killed before call %lu (%s): target is image %u, want %u", k,
                     k <= calls ? ft_op_name(count.log[k - 1]) : "none", target_tag(fx), want);
        assert_int_equal(ft_count_tmp(fx->dir), strays);
        assert_int_equal(pcache_file_cleanup(fx->path, 0, NULL, &removed, &rep), PCACHE_OK);
        assert_int_equal(removed, (unsigned)strays);
        assert_int_equal(ft_count_tmp(fx->dir), 0);
        if (want == NEW_TAG)
            assert_int_equal(pcache_file_save(fx->old_img.b, fx->path, NULL, &rep), PCACHE_OK);
    }
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A child saving the two images in turn, killed after a pseudo-random
 * delay of up to about three saves (fixed seed). */
static void test_kill_at_random_moments(void **state)
{
    fixture *fx = *state;
    pcache_save_options opt = {0};
    pcache_report rep;
    uint64_t seed = 0x6b696c6cull;
    int kills = ft_under_valgrind() ? 4 : 16;
    double t0, save_time;
    unsigned seen[2] = {0, 0};

    opt.skip_cleanup = 1;
    t0 = now_seconds();
    assert_int_equal(pcache_file_save(fx->old_img.b, fx->path, &opt, &rep), PCACHE_OK);
    save_time = now_seconds() - t0;

    for (int i = 0; i < kills; i++) {
        struct timespec delay;
        double d;
        uint32_t tag;
        int pid;

        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        d = save_time * 3.0 * (double)(seed >> 11) / 9007199254740992.0;
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            for (unsigned n = 0;; n++)
                pcache_file_save((n % 2 ? fx->old_img : fx->new_img).b, fx->path, &opt, &rep);
        }
        delay.tv_sec = (time_t)d;
        delay.tv_nsec = (long)((d - (double)delay.tv_sec) * 1e9);
        while (nanosleep(&delay, &delay) != 0 && errno == EINTR)
            ;
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(ft_wait(pid), 128 + SIGKILL);
        tag = target_tag(fx);
        assert_true(tag == OLD_TAG || tag == NEW_TAG);
        seen[tag == NEW_TAG]++;
        assert_int_equal(pcache_file_cleanup(fx->path, 0, NULL, NULL, &rep), PCACHE_OK);
        assert_int_equal(ft_count_tmp(fx->dir), 0);
    }
    print_message("random kills: target was the old image %u times, the new one %u times\n", seen[0], seen[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill_at_every_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_at_random_moments, setup, teardown),
    };
    umask(022);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
