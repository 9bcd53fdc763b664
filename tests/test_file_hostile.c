/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pcache_file_open against files it must not trust: another owner, a mode
 * that lets others write, a symbolic link, things that are not regular
 * files, every truncation, random corruptions, failing system calls.  And
 * what it hands out when it does trust a file: zero-copy, aligned views
 * into a read-only or copy-on-write mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "file_test_support.h"

#define TAG 5u
#define BYTES 2048u

typedef struct fixture {
    char dir[256];
    char path[512];
    ft_image img;
    uint8_t *bytes; /* the file as saved */
    size_t size;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    pcache_report rep;
    struct stat sb;
    int fd;

    ft_mkdtemp(fx->dir, "hostile");
    ft_join(fx->path, fx->dir, "img.pcache");
    ft_image_make(&fx->img, TAG, BYTES);
    if (pcache_file_save(fx->img.b, fx->path, NULL, &rep) != PCACHE_OK || stat(fx->path, &sb) != 0)
        return -1;
    fx->size = (size_t)sb.st_size;
    fx->bytes = malloc(fx->size);
    fd = open(fx->path, O_RDONLY);
    if (fd < 0 || read(fd, fx->bytes, fx->size) != (ssize_t)fx->size)
        return -1;
    close(fd);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    ft_rmtree(fx->dir);
    ft_image_free(&fx->img);
    free(fx->bytes);
    free(fx);
    return 0;
}

static pcache_status open_with(const char *path, const pcache_open_options *opt, pcache_report *rep)
{
    pcache_file f;
    pcache_expect exp;
    pcache_status st;
    int fds = ft_count_fds();

    ft_expect(&exp);
    st = pcache_file_open(&f, path, opt, &exp, rep);
    if (st == PCACHE_OK) {
        uint32_t tag;
        char why[256];
        if (ft_file_tag(&f, &tag, why) != 0)
            fail_msg("opened but wrong: %s", why);
        pcache_file_close(&f);
    } else {
        /* nothing left behind, and a report that says what */
        assert_null(f.map);
        assert_int_equal(rep->status, st);
        assert_true(rep->message[0] != '\0');
    }
    assert_int_equal(ft_count_fds(), fds);
    return st;
}

static void test_trusted_file_opens(void **state)
{
    fixture *fx = *state;
    pcache_report rep;
    assert_int_equal(open_with(fx->path, NULL, &rep), PCACHE_OK);
}

static void test_mode_writable_by_others(void **state)
{
    fixture *fx = *state;
    static const struct { mode_t mode; pcache_status want; } cases[] = {
        {0666, PCACHE_E_FILE_MODE}, {0620, PCACHE_E_FILE_MODE}, {0602, PCACHE_E_FILE_MODE},
        {0622, PCACHE_E_FILE_MODE}, {0644, PCACHE_OK},          {0400, PCACHE_OK},
        {0755, PCACHE_OK},
    };
    pcache_report rep;
    pcache_open_options any = {PCACHE_OPEN_ANY_OWNER, 0, NULL};

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(chmod(fx->path, cases[i].mode), 0);
        assert_int_equal(open_with(fx->path, NULL, &rep), cases[i].want);
        /* no owner option lifts the mode rule */
        assert_int_equal(open_with(fx->path, &any, &rep), cases[i].want);
        if (cases[i].want == PCACHE_E_FILE_MODE) {
            assert_int_equal(rep.found, cases[i].mode);
            assert_int_equal(rep.expected, cases[i].mode & ~(mode_t)022);
            ft_assert_contains(rep.message, fx->path);
        }
    }
}

static void test_wrong_owner(void **state)
{
    fixture *fx = *state;
    pcache_report rep;
    pcache_open_options o = {0};

    if (geteuid() != 0) {
        /* a root-owned file is someone else's: refused before it is read */
        assert_int_equal(open_with("/etc/passwd", NULL, &rep), PCACHE_E_FILE_OWNER);
        assert_int_equal(rep.found, 0);
        skip();
    }
    assert_int_equal(chown(fx->path, 12345, 12345), 0);
    assert_int_equal(open_with(fx->path, NULL, &rep), PCACHE_E_FILE_OWNER);
    assert_int_equal(rep.expected, geteuid());
    assert_int_equal(rep.found, 12345);
    ft_assert_contains(rep.message, "12345");
    o.flags = PCACHE_OPEN_ALLOW_UID;
    o.allowed_uid = 4242;
    assert_int_equal(open_with(fx->path, &o, &rep), PCACHE_E_FILE_OWNER);
    o.allowed_uid = 12345;
    assert_int_equal(open_with(fx->path, &o, &rep), PCACHE_OK);
    o.flags = PCACHE_OPEN_ANY_OWNER;
    assert_int_equal(open_with(fx->path, &o, &rep), PCACHE_OK);
    o.flags = 0x100; /* unknown flag */
    assert_int_equal(open_with(fx->path, &o, &rep), PCACHE_E_INVALID_ARGUMENT);
}

static void test_not_regular(void **state)
{
    fixture *fx = *state;
    char p[512];
    pcache_report rep;

    /* a symbolic link to a good file: refused, not followed */
    ft_join(p, fx->dir, "link");
    assert_int_equal(symlink("img.pcache", p), 0);
    assert_int_equal(open_with(p, NULL, &rep), PCACHE_E_NOT_REGULAR);
    assert_int_equal(rep.sys_errno, ELOOP);
    ft_assert_contains(rep.message, "symbolic link");
    /* a directory */
    assert_int_equal(open_with(fx->dir, NULL, &rep), PCACHE_E_NOT_REGULAR);
    ft_assert_contains(rep.message, "a directory");
    /* a FIFO with no writer: refused at once, not waited on */
    ft_join(p, fx->dir, "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    assert_int_equal(open_with(p, NULL, &rep), PCACHE_E_NOT_REGULAR);
    ft_assert_contains(rep.message, "a FIFO");
    /* a device */
    assert_int_equal(open_with("/dev/null", NULL, &rep), PCACHE_E_NOT_REGULAR);
    ft_assert_contains(rep.message, "character device");
    /* nothing at all */
    ft_join(p, fx->dir, "absent");
    assert_int_equal(open_with(p, NULL, &rep), PCACHE_E_IO);
    assert_int_equal(rep.sys_errno, ENOENT);
    ft_assert_contains(rep.message, p);
}

/* Every length short of the whole file, down to empty. */
static void test_every_truncation(void **state)
{
    fixture *fx = *state;
    pcache_report rep;
    size_t step = ft_under_valgrind() ? 7 : 1;
    int fd = open(fx->path, O_WRONLY);

    assert_true(fd >= 0);
    for (size_t len = fx->size; len-- > 0;) {
        if (len % step != 0 && len > 300 && len < fx->size - 300)
            continue;
        assert_int_equal(ftruncate(fd, (off_t)len), 0);
        if (open_with(fx->path, NULL, &rep) != PCACHE_E_TRUNCATED)
            fail_msg("truncated to %zu: %s", len, rep.message);
        ft_assert_contains(rep.message, fx->path);
    }
    /* and longer than written */
    assert_int_equal(pwrite(fd, fx->bytes, fx->size, 0), (ssize_t)fx->size);
    assert_int_equal(pwrite(fd, "\0", 1, (off_t)fx->size), 1);
    assert_int_equal(open_with(fx->path, NULL, &rep), PCACHE_E_FILE_SIZE);
    assert_int_equal(ftruncate(fd, (off_t)fx->size), 0);
    assert_int_equal(open_with(fx->path, NULL, &rep), PCACHE_OK);
    close(fd);
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Every byte of a file is covered by a checksum or must be zero, so any
 * change is refused. */
static void test_random_corruptions(void **state)
{
    fixture *fx = *state;
    pcache_report rep;
    uint64_t seed = 0x5eed0f11e5ull;
    int rounds = ft_under_valgrind() ? 60 : 600;
    int fd = open(fx->path, O_WRONLY);
    uint8_t *buf = malloc(fx->size);

    assert_true(fd >= 0);
    for (int r = 0; r < rounds; r++) {
        size_t at = (size_t)(rng_next(&seed) % fx->size);
        size_t n = r % 4 == 3 ? 1 + (size_t)(rng_next(&seed) % 64) : 1;
        pcache_status st;
        if (n > fx->size - at)
            n = fx->size - at;
        memcpy(buf, fx->bytes + at, n);
        for (size_t i = 0; i < n; i++) {
            uint8_t x = (uint8_t)rng_next(&seed);
            buf[i] ^= x ? x : 0x80;
        }
        assert_int_equal(pwrite(fd, buf, n, (off_t)at), (ssize_t)n);
        st = open_with(fx->path, NULL, &rep);
        if (st == PCACHE_OK)
            fail_msg("corruption of %zu bytes at %zu accepted", n, at);
        assert_int_equal(pwrite(fd, fx->bytes + at, n, (off_t)at), (ssize_t)n);
    }
    close(fd);
    free(buf);
    assert_int_equal(open_with(fx->path, NULL, &rep), PCACHE_OK);
}

/* A well-formed file of another client is refused by the expectation. */
static void test_other_identity(void **state)
{
    fixture *fx = *state;
    pcache_identity id;
    pcache_builder *b;
    pcache_report rep;
    static const uint8_t data[16] = {1, 2, 3};

    assert_int_equal(pcache_identity_init(&id, "someone-else", 3), PCACHE_OK);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "tag", data, sizeof data, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_file_save(b, fx->path, NULL, &rep), PCACHE_OK);
    pcache_builder_free(b);
    assert_int_equal(open_with(fx->path, NULL, &rep), PCACHE_E_CLIENT);
}

/* Failing calls of the load: their status, nothing left open or mapped. */
static void test_load_faults(void **state)
{
    fixture *fx = *state;
    static const struct { ft_op op; unsigned long times; int err; pcache_status want; } cases[] = {
        {FT_OPENAT, 1, EACCES, PCACHE_E_ACCESS},
        {FT_OPENAT, 1, EIO, PCACHE_E_IO},
        {FT_OPENAT, PCACHE_FILE_EINTR_RETRIES, EINTR, PCACHE_E_INTERRUPTED},
        {FT_OPENAT, 3, EINTR, PCACHE_OK},
        {FT_FSTAT, 1, EIO, PCACHE_E_IO},
        {FT_MMAP, 1, ENOMEM, PCACHE_E_NO_MEMORY},
        {FT_MMAP, 1, ENODEV, PCACHE_E_IO},
        {FT_MMAP, 1, EACCES, PCACHE_E_ACCESS},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ft_faults f;
        pcache_open_options o = {0};
        pcache_report rep;
        pcache_status st;

        ft_faults_init(&f);
        ft_fail(&f, cases[i].op, 1, cases[i].times, cases[i].err);
        o.ops = &f.ops;
        st = open_with(fx->path, &o, &rep);
        if (st != cases[i].want)
            fail_msg("case %zu: %s (%s), want %s", i, pcache_status_name(st), rep.message,
                     pcache_status_name(cases[i].want));
        if (st != PCACHE_OK) {
            assert_int_equal(rep.sys_errno, cases[i].err);
            ft_assert_contains(rep.message, fx->path);
            ft_assert_contains(rep.message, strerror(cases[i].err));
        }
        /* every mapping made was unmapped exactly once */
        assert_int_equal(f.per_op[FT_MUNMAP], f.per_op[FT_MMAP] - (cases[i].op == FT_MMAP ? 1 : 0));
    }
}

/* Views are zero-copy and aligned; a read-only mapping gives no mutable
 * pointer, a copy-on-write one does, and writing through it leaves the
 * file as it was. */
static void test_views_and_copy_on_write(void **state)
{
    fixture *fx = *state;
    pcache_file f;
    pcache_expect exp;
    pcache_report rep;
    pcache_open_options o = {0};
    pcache_view v;
    struct stat sb;
    ft_faults calls;
    uint8_t *w;
    uint32_t tag;
    char why[256];

    ft_expect(&exp);
    exp.writable = 1; /* ignored: the mapping decides */
    ft_faults_init(&calls);
    o.ops = &calls.ops;
    assert_int_equal(pcache_file_open(&f, fx->path, &o, &exp, &rep), PCACHE_OK);
    assert_int_equal(stat(fx->path, &sb), 0);
    assert_true(f.ino == (uint64_t)sb.st_ino && f.dev == (uint64_t)sb.st_dev);
    assert_int_equal(f.map_size, fx->size);
    assert_int_equal(f.uid, geteuid());
    assert_int_equal(f.mode, 0600);
    assert_int_equal((uintptr_t)f.map % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
    assert_memory_equal(f.map, fx->bytes, fx->size);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        pcache_segment *seg = pcache_file_segment(&f, (pcache_class)c);
        assert_non_null(seg);
        for (uint32_t i = 0; i < seg->section_count; i++) {
            assert_int_equal(pcache_segment_section(seg, i, &v, &rep), PCACHE_OK);
            assert_int_equal((uintptr_t)v.data % v.alignment, 0);
            assert_null(pcache_view_mutable(seg, &v));
        }
    }
    assert_int_equal(calls.per_op[FT_MMAP], 1);
    assert_int_equal(calls.per_op[FT_CLOSE], 1); /* the descriptor is not kept */
    pcache_file_close(&f);
    assert_int_equal(calls.per_op[FT_MUNMAP], 1);
    pcache_file_close(&f); /* twice is harmless */
    assert_int_equal(calls.per_op[FT_MUNMAP], 1);
    assert_null(pcache_file_segment(&f, PCACHE_RO));

    o.flags = PCACHE_OPEN_COPY_ON_WRITE;
    assert_int_equal(pcache_file_open(&f, fx->path, &o, &exp, &rep), PCACHE_OK);
    assert_true(f.copy_on_write);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        pcache_segment *seg = pcache_file_segment(&f, (pcache_class)c);
        assert_int_equal(pcache_segment_section(seg, 0, &v, &rep), PCACHE_OK);
        w = pcache_view_mutable(seg, &v);
        assert_non_null(w);
        assert_ptr_equal(w, v.data);
        memset(w, 0xA5, (size_t)v.size); /* as a relocation would */
        assert_int_equal(((const uint8_t *)v.data)[0], 0xA5);
    }
    pcache_file_close(&f);
    assert_int_equal(ft_load_tag(fx->path, &tag, why), PCACHE_OK);
    assert_int_equal(tag, TAG);

    /* arguments */
    assert_int_equal(pcache_file_open(NULL, fx->path, NULL, &exp, &rep), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_file_open(&f, NULL, NULL, &exp, &rep), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_file_open(&f, "", NULL, &exp, &rep), PCACHE_E_INVALID_ARGUMENT);
    /* exp NULL: any identity the file states consistently */
    assert_int_equal(pcache_file_open(&f, fx->path, NULL, NULL, &rep), PCACHE_OK);
    pcache_file_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_trusted_file_opens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode_writable_by_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_corruptions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_views_and_copy_on_write, setup, teardown),
    };
    umask(022);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
