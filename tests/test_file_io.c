/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pcache_file_save and pcache_file_open under faults: every failing system
 * call gives its own status and a complete report, removes the temporary
 * file and leaves the old target intact.  Faults come from the ops table,
 * and, where this machine allows, from the real thing: a small tmpfs,
 * RLIMIT_FSIZE, a directory the writer may not write, a directory that
 * vanishes.
 */
#define _GNU_SOURCE /* unshare, CLONE_NEWNS */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "file_test_support.h"

#define OLD_TAG 1u
#define NEW_TAG 2u
#define OLD_BYTES (8u * 1024u)    /* a file of a few pages: fits the 64 KiB limits below */
#define NEW_BYTES (256u * 1024u)  /* several 64 KiB writes, and over those limits */

typedef struct fixture {
    char dir[256];
    char path[512];
    ft_image old_img, new_img;
    ino_t old_ino;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    pcache_report rep;
    struct stat sb;

    ft_mkdtemp(fx->dir, "io");
    ft_join(fx->path, fx->dir, "img.pcache");
    ft_image_make(&fx->old_img, OLD_TAG, OLD_BYTES);
    ft_image_make(&fx->new_img, NEW_TAG, NEW_BYTES);
    if (pcache_file_save(fx->old_img.b, fx->path, NULL, &rep) != PCACHE_OK || stat(fx->path, &sb) != 0) {
        fprintf(stderr, "setup: %s\n", rep.message);
        return -1;
    }
    fx->old_ino = sb.st_ino;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    chmod(fx->dir, 0700);
    ft_rmtree(fx->dir);
    ft_image_free(&fx->old_img);
    ft_image_free(&fx->new_img);
    free(fx);
    return 0;
}

/* The target is still the old file: same inode, loads as the old image. */
static void assert_old_intact(const fixture *fx)
{
    struct stat sb;
    uint32_t tag = 0;
    char why[256];
    pcache_status st = ft_load_tag(fx->path, &tag, why);
    if (st != PCACHE_OK)
        fail_msg("old target does not load: %s: %s", pcache_status_name(st), why);
    assert_int_equal(tag, OLD_TAG);
    assert_int_equal(stat(fx->path, &sb), 0);
    assert_true(sb.st_ino == fx->old_ino);
}

static void assert_new_in_place(const char *path)
{
    uint32_t tag = 0;
    char why[256];
    pcache_status st = ft_load_tag(path, &tag, why);
    if (st != PCACHE_OK)
        fail_msg("new target does not load: %s: %s", pcache_status_name(st), why);
    assert_int_equal(tag, NEW_TAG);
}

/* After a save that failed: the old file in place, no temporary left. */
static void assert_old_kept(const fixture *fx)
{
    assert_old_intact(fx);
    assert_int_equal(ft_count_tmp(fx->dir), 0);
}

/* Saves the new image over the target through f's ops (default options
 * otherwise). */
static pcache_status save_new(const fixture *fx, ft_faults *f, pcache_report *rep)
{
    pcache_save_options opt = {0};
    opt.ops = &f->ops;
    return pcache_file_save(fx->new_img.b, fx->path, &opt, rep);
}

/* ---- the happy path ---- */

static void test_save_load_roundtrip(void **state)
{
    fixture *fx = *state;
    pcache_report rep;
    struct stat sb;
    pcache_save_options opt = {0};

    assert_old_intact(fx);
    assert_int_equal(stat(fx->path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(sb.st_uid, geteuid());

    opt.mode = 0640;
    assert_int_equal(pcache_file_save(fx->new_img.b, fx->path, &opt, &rep), PCACHE_OK);
    assert_int_equal(rep.status, PCACHE_OK);
    assert_new_in_place(fx->path);
    assert_int_equal(stat(fx->path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0640);
    /* replaced, not rewritten: a new inode */
    assert_true(sb.st_ino != fx->old_ino);
    assert_int_equal(ft_count_tmp(fx->dir), 0);
}

static void test_save_refuses_bad_arguments(void **state)
{
    fixture *fx = *state;
    pcache_report rep;
    pcache_save_options opt = {0};
    char p[600];
    static const unsigned bad_modes[] = {0666, 0620, 0602, 04700, 01600, 010000};

    for (size_t i = 0; i < sizeof bad_modes / sizeof bad_modes[0]; i++) {
        opt.mode = bad_modes[i];
        assert_int_equal(pcache_file_save(fx->new_img.b, fx->path, &opt, &rep), PCACHE_E_INVALID_ARGUMENT);
        assert_int_equal(rep.status, PCACHE_E_INVALID_ARGUMENT);
        ft_assert_contains(rep.message, "mode");
    }
    assert_int_equal(pcache_file_save(NULL, fx->path, NULL, &rep), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_file_save(fx->new_img.b, NULL, NULL, &rep), PCACHE_E_INVALID_ARGUMENT);
    assert_int_equal(pcache_file_save(fx->new_img.b, "", NULL, &rep), PCACHE_E_INVALID_ARGUMENT);
    snprintf(p, sizeof p, "%s/", fx->dir);
    assert_int_equal(pcache_file_save(fx->new_img.b, p, NULL, &rep), PCACHE_E_INVALID_ARGUMENT);
    snprintf(p, sizeof p, "%s/..", fx->dir);
    assert_int_equal(pcache_file_save(fx->new_img.b, p, NULL, &rep), PCACHE_E_INVALID_ARGUMENT);
    assert_old_kept(fx);
}

/* A symbolic link at the target is replaced by the file, and the file it
 * pointed to is not written. */
static void test_save_replaces_symlink(void **state)
{
    fixture *fx = *state;
    char other[512], link[512];
    pcache_report rep;
    struct stat sb;
    uint32_t tag;
    char why[256];

    ft_join(other, fx->dir, "elsewhere");
    ft_join(link, fx->dir, "link.pcache");
    assert_int_equal(rename(fx->path, other), 0);
    assert_int_equal(symlink("elsewhere", link), 0);
    assert_int_equal(pcache_file_save(fx->new_img.b, link, NULL, &rep), PCACHE_OK);
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_new_in_place(link);
    assert_int_equal(ft_load_tag(other, &tag, why), PCACHE_OK);
    assert_int_equal(tag, OLD_TAG);
}

/* The simple pcache_file_write_path goes through the atomic save: a hard
 * link to the old file keeps the old bytes. */
static void test_write_path_is_atomic(void **state)
{
    fixture *fx = *state;
    char keep[512];
    pcache_report rep;
    struct stat sb;
    uint32_t tag;
    char why[256];
    mode_t old_mask = umask(022);

    ft_join(keep, fx->dir, "keep");
    assert_int_equal(link(fx->path, keep), 0);
    assert_int_equal(pcache_file_write_path(fx->new_img.b, fx->path, &rep), PCACHE_OK);
    umask(old_mask);
    assert_new_in_place(fx->path);
    assert_int_equal(ft_load_tag(keep, &tag, why), PCACHE_OK);
    assert_int_equal(tag, OLD_TAG);
    assert_int_equal(stat(fx->path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0644);
    assert_int_equal(ft_count_tmp(fx->dir), 0);
}

/* The order that atomicity and durability rest on: every write, then the
 * temporary's fsync, then the rename, then the directory's fsync. */
static void test_call_order(void **state)
{
    fixture *fx = *state;
    ft_faults f;
    pcache_report rep;
    unsigned long i = 0, n;

    ft_faults_init(&f);
    assert_int_equal(save_new(fx, &f, &rep), PCACHE_OK);
    n = f.calls;
    assert_true(n < FT_LOG_MAX);
    assert_int_equal(f.log[i++], FT_OPENAT); /* the directory */
    assert_int_equal(f.log[i++], FT_OPENAT); /* the temporary */
    while (i < n && f.log[i] == FT_WRITE)
        i++;
    assert_int_equal(i, 2 + f.per_op[FT_WRITE]);
    assert_int_equal(n - i, 5);
    assert_int_equal(f.log[i++], FT_FSYNC);    /* the temporary's bytes ... */
    assert_int_equal(f.log[i++], FT_CLOSE);
    assert_int_equal(f.log[i++], FT_RENAMEAT); /* ... before its name */
    assert_int_equal(f.log[i++], FT_FSYNC);    /* the directory */
    assert_int_equal(f.log[i++], FT_CLOSE);
    {
        /* and every byte written is the file */
        struct stat sb;
        assert_int_equal(stat(fx->path, &sb), 0);
        assert_int_equal((uint64_t)sb.st_size, f.written);
    }
}

/* ---- every failing call, one by one ---- */

typedef struct fault_case {
    ft_op op;
    unsigned long nth;   /* which call of op (1-based) */
    unsigned long times; /* consecutive failures */
    int err;             /* 0 with FT_WRITE: write returns 0 */
    pcache_status want;
    const char *what;    /* in the message */
} fault_case;

/* The calls of a save into a directory without stray temporaries:
 * openat(dir), openat(temp), write..., fsync(temp), close(temp),
 * renameat, fsync(dir), close(dir). */
static const fault_case cases[] = {
    {FT_OPENAT, 1, 1, ENOENT, PCACHE_E_IO, "opening directory"},
    {FT_OPENAT, 1, 1, EACCES, PCACHE_E_ACCESS, "opening directory"},
    {FT_OPENAT, 1, 1, ENOTDIR, PCACHE_E_IO, "opening directory"},
    {FT_OPENAT, 2, 1, EACCES, PCACHE_E_ACCESS, "creating temporary"},
    {FT_OPENAT, 2, 1, EPERM, PCACHE_E_ACCESS, "creating temporary"},
    {FT_OPENAT, 2, 1, EROFS, PCACHE_E_ACCESS, "creating temporary"},
    {FT_OPENAT, 2, 1, ENOSPC, PCACHE_E_NO_SPACE, "creating temporary"},
    {FT_OPENAT, 2, 1, EDQUOT, PCACHE_E_NO_SPACE, "creating temporary"},
    {FT_OPENAT, 2, 1, EMFILE, PCACHE_E_IO, "creating temporary"},
    {FT_OPENAT, 2, PCACHE_FILE_EINTR_RETRIES, EINTR, PCACHE_E_INTERRUPTED, "creating temporary"},
    {FT_OPENAT, 2, 64, EEXIST, PCACHE_E_IO, "creating temporary"},
    {FT_WRITE, 1, 1, ENOSPC, PCACHE_E_NO_SPACE, "writing temporary"},
    {FT_WRITE, 3, 1, EDQUOT, PCACHE_E_NO_SPACE, "writing temporary"},
    {FT_WRITE, 2, 1, EFBIG, PCACHE_E_FILE_TOO_LARGE, "writing temporary"},
    {FT_WRITE, 2, 1, EIO, PCACHE_E_IO, "writing temporary"},
    {FT_WRITE, 2, 1, EACCES, PCACHE_E_ACCESS, "writing temporary"},
    {FT_WRITE, 2, 1, 0, PCACHE_E_SHORT_WRITE, "returned 0"},
    {FT_WRITE, 2, PCACHE_FILE_EINTR_RETRIES, EINTR, PCACHE_E_INTERRUPTED, "writing temporary"},
    {FT_FSYNC, 1, 1, EIO, PCACHE_E_IO, "fsync of temporary"},
    {FT_FSYNC, 1, 1, ENOSPC, PCACHE_E_NO_SPACE, "fsync of temporary"},
    {FT_FSYNC, 1, 1, EDQUOT, PCACHE_E_NO_SPACE, "fsync of temporary"},
    {FT_FSYNC, 1, PCACHE_FILE_EINTR_RETRIES, EINTR, PCACHE_E_INTERRUPTED, "fsync of temporary"},
    {FT_CLOSE, 1, 1, EIO, PCACHE_E_IO, "closing temporary"},
    {FT_CLOSE, 1, 1, ENOSPC, PCACHE_E_NO_SPACE, "closing temporary"},
    {FT_RENAMEAT, 1, 1, EACCES, PCACHE_E_ACCESS, "renaming temporary"},
    {FT_RENAMEAT, 1, 1, EROFS, PCACHE_E_ACCESS, "renaming temporary"},
    {FT_RENAMEAT, 1, 1, ENOSPC, PCACHE_E_NO_SPACE, "renaming temporary"},
    {FT_RENAMEAT, 1, 1, EXDEV, PCACHE_E_IO, "renaming temporary"},
    {FT_RENAMEAT, 1, 1, EISDIR, PCACHE_E_IO, "renaming temporary"},
    {FT_RENAMEAT, 1, PCACHE_FILE_EINTR_RETRIES, EINTR, PCACHE_E_INTERRUPTED, "renaming temporary"},
};

static void test_every_fault_has_its_code(void **state)
{
    fixture *fx = *state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const fault_case *c = &cases[i];
        ft_faults f;
        pcache_report rep;
        pcache_status st;
        int fds = ft_count_fds();

        ft_faults_init(&f);
        ft_fail(&f, c->op, c->nth, c->times, c->err);
        st = save_new(fx, &f, &rep);
        if (st != c->want || rep.status != c->want)
            fail_msg("case %zu (%s #%lu, errno %d): got %s (report %s: %s), want %s", i, ft_op_name(c->op), c->nth,
                     c->err, pcache_status_name(st), pcache_status_name(rep.status), rep.message,
                     pcache_status_name(c->want));
        assert_int_equal(rep.sys_errno, c->err);
        ft_assert_contains(rep.message, fx->path);
        ft_assert_contains(rep.message, c->what);
        if (c->err)
            ft_assert_contains(rep.message, strerror(c->err));
        /* the failing call was tried exactly as often as it failed, and
         * after it came only the cleanup: closing, removing the temporary */
        if (c->op == FT_CLOSE)
            assert_int_equal(f.per_op[FT_CLOSE], 2);
        else
            assert_int_equal(f.per_op[c->op], c->nth + c->times - 1);
        assert_int_equal(f.per_op[FT_RENAMEAT], c->op == FT_RENAMEAT ? c->times : 0);
        assert_int_equal(f.per_op[FT_UNLINKAT], c->op == FT_OPENAT ? 0 : 1);
        assert_old_kept(fx);
        assert_int_equal(ft_count_fds(), fds);
    }
}

/* Failures short of the bound are retried, and the save succeeds. */
static void test_transient_faults_are_retried(void **state)
{
    fixture *fx = *state;
    static const fault_case ok_cases[] = {
        {FT_OPENAT, 2, PCACHE_FILE_EINTR_RETRIES - 1, EINTR, PCACHE_OK, ""},
        {FT_OPENAT, 2, 3, EEXIST, PCACHE_OK, ""},
        {FT_WRITE, 2, PCACHE_FILE_EINTR_RETRIES - 1, EINTR, PCACHE_OK, ""},
        {FT_FSYNC, 1, 5, EINTR, PCACHE_OK, ""},
        {FT_CLOSE, 1, 1, EINTR, PCACHE_OK, ""},
        {FT_RENAMEAT, 1, 7, EINTR, PCACHE_OK, ""},
        {FT_FSYNC, 2, 1, EINVAL, PCACHE_OK, ""}, /* a directory that cannot be synced */
    };

    for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
        ft_faults f;
        pcache_report rep;
        pcache_status st;

        ft_faults_init(&f);
        ft_fail(&f, ok_cases[i].op, ok_cases[i].nth, ok_cases[i].times, ok_cases[i].err);
        st = save_new(fx, &f, &rep);
        if (st != PCACHE_OK)
            fail_msg("case %zu: %s: %s", i, pcache_status_name(st), rep.message);
        assert_int_equal(f.failed, ok_cases[i].times);
        assert_new_in_place(fx->path);
        assert_int_equal(ft_count_tmp(fx->dir), 0);
        /* back to the old image, for the next case */
        assert_int_equal(pcache_file_save(fx->old_img.b, fx->path, NULL, &rep), PCACHE_OK);
    }
}

/* A failed fsync of the directory comes after the rename: the new file is
 * in place, and the report says it may not be durable. */
static void test_directory_fsync_failure(void **state)
{
    fixture *fx = *state;
    ft_faults f;
    pcache_report rep;

    ft_faults_init(&f);
    ft_fail(&f, FT_FSYNC, 2, 1, EIO);
    assert_int_equal(save_new(fx, &f, &rep), PCACHE_E_IO);
    assert_int_equal(rep.sys_errno, EIO);
    ft_assert_contains(rep.message, "fsync of directory");
    ft_assert_contains(rep.message, "may not be durable");
    assert_new_in_place(fx->path);
    assert_int_equal(ft_count_tmp(fx->dir), 0);
}

/* Disk full at each write in turn; the report names the offset of the
 * write that failed. */
static void test_enospc_at_every_write(void **state)
{
    fixture *fx = *state;
    ft_faults count;
    pcache_report rep;
    unsigned long writes;

    ft_faults_init(&count);
    assert_int_equal(save_new(fx, &count, &rep), PCACHE_OK);
    writes = count.per_op[FT_WRITE];
    assert_true(writes >= 5); /* header, padding, segments, footer */
    assert_true(writes < FT_LOG_MAX);
    assert_int_equal(pcache_file_save(fx->old_img.b, fx->path, NULL, &rep), PCACHE_OK);
    {
        struct stat sb;
        assert_int_equal(stat(fx->path, &sb), 0);
        fx->old_ino = sb.st_ino;
    }

    for (unsigned long k = 1; k <= writes; k++) {
        ft_faults f;
        ft_faults_init(&f);
        ft_fail(&f, FT_WRITE, k, 1, ENOSPC);
        assert_int_equal(save_new(fx, &f, &rep), PCACHE_E_NO_SPACE);
        assert_int_equal(rep.sys_errno, ENOSPC);
        assert_int_equal(rep.offset, count.write_offset[k - 1]);
        assert_int_equal(f.per_op[FT_WRITE], k);
        assert_int_equal(f.per_op[FT_RENAMEAT], 0);
        assert_old_kept(fx);
    }
}

/* Partial writes are continued where they stopped. */
static void test_short_writes_are_continued(void **state)
{
    fixture *fx = *state;
    ft_faults f;
    pcache_report rep;

    ft_faults_init(&f);
    f.write_cap = 777;
    assert_int_equal(save_new(fx, &f, &rep), PCACHE_OK);
    assert_true(f.written > NEW_BYTES);
    assert_true(f.per_op[FT_WRITE] >= f.written / 777);
    assert_new_in_place(fx->path);
}

/* A producer that fails is the builder's error, reported as such. */
static int failing_producer(void *ctx, pcache_writer *w)
{
    static const uint8_t bytes[100];
    (void)ctx;
    pcache_writer_write(w, bytes, sizeof bytes);
    return 1;
}

static void test_builder_failure_keeps_old(void **state)
{
    fixture *fx = *state;
    pcache_report rep;
    pcache_builder *b;

    assert_int_equal(pcache_builder_new(&b, &fx->new_img.id), PCACHE_OK);
    assert_int_equal(pcache_builder_add_produced(b, PCACHE_RO, "p", 100, 8, 0, failing_producer, NULL), PCACHE_OK);
    assert_int_equal(pcache_file_save(b, fx->path, NULL, &rep), PCACHE_E_SINK);
    /* the builder's report, not a system call's */
    assert_int_equal(rep.status, PCACHE_E_SINK);
    assert_int_equal(rep.sys_errno, 0);
    assert_string_equal(rep.section, "p");
    ft_assert_contains(rep.message, "producer");
    pcache_builder_free(b);
    assert_old_kept(fx);
}

/* ---- the real thing, where the machine allows ---- */

/* A 64 KiB tmpfs, mounted in a private mount namespace of a child. */
static void test_real_disk_full(void **state)
{
    fixture *fx = *state;
    char mnt[256];
    int pid, code;

    ft_mkdtemp(mnt, "tmpfs");
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char path[512];
        pcache_report rep;
        pcache_status st;
        uint32_t tag;
        char why[256];

        if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700") != 0)
            _exit(CHILD_SKIP);
        ft_join(path, mnt, "img.pcache");
        CHILD_CHECK(pcache_file_save(fx->old_img.b, path, NULL, &rep) == PCACHE_OK);
        st = pcache_file_save(fx->new_img.b, path, NULL, &rep);
        if (st != PCACHE_E_NO_SPACE)
            fprintf(stderr, "child: %s: %s\n", pcache_status_name(st), rep.message);
        CHILD_CHECK(st == PCACHE_E_NO_SPACE);
        CHILD_CHECK(rep.sys_errno == ENOSPC);
        CHILD_CHECK(strstr(rep.message, "writing temporary") != NULL);
        CHILD_CHECK(ft_load_tag(path, &tag, why) == PCACHE_OK && tag == OLD_TAG);
        CHILD_CHECK(ft_count_tmp(mnt) == 0);
        /* the space is free again: a small save succeeds */
        CHILD_CHECK(pcache_file_save(fx->old_img.b, path, NULL, &rep) == PCACHE_OK);
        _exit(0);
    }
    code = ft_wait(pid);
    rmdir(mnt);
    if (code == CHILD_SKIP)
        skip();
    assert_int_equal(code, 0);
}

/* RLIMIT_FSIZE: with SIGXFSZ at its default action (which would kill the
 * process) and ignored, the save fails with PCACHE_E_FILE_TOO_LARGE. */
static void test_file_size_limit(void **state)
{
    fixture *fx = *state;
    int pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {64 * 1024, 64 * 1024};
        pcache_report rep;
        uint32_t tag;
        char why[256];
        sigset_t pend;

        CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
        for (int round = 0; round < 2; round++) {
            signal(SIGXFSZ, round == 0 ? SIG_DFL : SIG_IGN);
            CHILD_CHECK(pcache_file_save(fx->new_img.b, fx->path, NULL, &rep) == PCACHE_E_FILE_TOO_LARGE);
            CHILD_CHECK(rep.sys_errno == EFBIG);
            CHILD_CHECK(rep.offset >= 60 * 1024 && rep.offset <= 64 * 1024);
            CHILD_CHECK(sigpending(&pend) == 0 && !sigismember(&pend, SIGXFSZ));
            CHILD_CHECK(ft_load_tag(fx->path, &tag, why) == PCACHE_OK && tag == OLD_TAG);
            CHILD_CHECK(ft_count_tmp(fx->dir) == 0);
        }
        {
            /* a SIGXFSZ pending before the save is not the save's to take */
            sigset_t set;
            struct timespec zero = {0, 0};
            signal(SIGXFSZ, SIG_DFL);
            sigemptyset(&set);
            sigaddset(&set, SIGXFSZ);
            CHILD_CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
            CHILD_CHECK(raise(SIGXFSZ) == 0);
            CHILD_CHECK(pcache_file_save(fx->new_img.b, fx->path, NULL, &rep) == PCACHE_E_FILE_TOO_LARGE);
            CHILD_CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGXFSZ));
            CHILD_CHECK(sigtimedwait(&set, NULL, &zero) == SIGXFSZ);
            CHILD_CHECK(sigpending(&pend) == 0 && !sigismember(&pend, SIGXFSZ));
        }
        _exit(0);
    }
    assert_int_equal(ft_wait(pid), 0);
    assert_old_intact(fx);
}

/* A directory the writer may not write.  Root ignores permission bits, so
 * as root a child drops to nobody. */
static void test_read_only_directory(void **state)
{
    fixture *fx = *state;
    int pid, code;

    assert_int_equal(chmod(fx->dir, geteuid() == 0 ? 0755 : 0555), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pcache_report rep;
        pcache_status st;
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(CHILD_SKIP);
        st = pcache_file_save(fx->new_img.b, fx->path, NULL, &rep);
        if (st != PCACHE_E_ACCESS)
            fprintf(stderr, "child: %s: %s\n", pcache_status_name(st), rep.message);
        CHILD_CHECK(st == PCACHE_E_ACCESS);
        CHILD_CHECK(rep.sys_errno == EACCES);
        CHILD_CHECK(strstr(rep.message, "creating temporary") != NULL);
        _exit(0);
    }
    code = ft_wait(pid);
    assert_int_equal(chmod(fx->dir, 0700), 0);
    if (code == CHILD_SKIP)
        skip();
    assert_int_equal(code, 0);
    assert_old_kept(fx);
}

/* ---- a directory that vanishes ---- */

typedef struct vanish_plan {
    const char *dir;
    ft_op op;          /* before this call ... */
    unsigned long nth; /* ... the nth of its kind, the directory goes */
} vanish_plan;

static int vanish_before(ft_faults *f, ft_op op, unsigned long n)
{
    vanish_plan *v = f->hook_ctx;
    (void)n;
    if (op == v->op && f->per_op[op] == v->nth)
        ft_rmtree(v->dir); /* the temporary, the old file, the directory */
    return 0;
}

static void vanish_case(fixture *fx, ft_op op, unsigned long nth, const char *what)
{
    ft_faults f;
    vanish_plan v = {fx->dir, op, nth};
    pcache_report rep;
    struct stat sb;
    int fds = ft_count_fds();

    ft_faults_init(&f);
    f.hook = vanish_before;
    f.hook_ctx = &v;
    assert_int_equal(save_new(fx, &f, &rep), PCACHE_E_IO);
    assert_int_equal(rep.sys_errno, ENOENT);
    ft_assert_contains(rep.message, what);
    assert_int_equal(stat(fx->dir, &sb), -1);
    assert_int_equal(ft_count_fds(), fds);
}

static void test_directory_vanishes_before_rename(void **state)
{
    vanish_case(*state, FT_RENAMEAT, 1, "renaming temporary");
}

static void test_directory_vanishes_before_create(void **state)
{
    vanish_case(*state, FT_OPENAT, 2, "creating temporary");
}

/* A directory moved away mid-save: the save completes in the directory it
 * opened, which now lives elsewhere, and leaves no temporary there. */
static int move_before_rename(ft_faults *f, ft_op op, unsigned long n)
{
    char to[300];
    (void)n;
    if (op == FT_RENAMEAT) {
        snprintf(to, sizeof to, "%s.moved", (const char *)f->hook_ctx);
        if (rename(f->hook_ctx, to) != 0)
            abort();
        f->hook = NULL;
    }
    return 0;
}

static void test_directory_moved_before_rename(void **state)
{
    fixture *fx = *state;
    ft_faults f;
    pcache_report rep;
    char moved[300], path[512];
    struct stat sb;

    ft_faults_init(&f);
    f.hook = move_before_rename;
    f.hook_ctx = fx->dir;
    assert_int_equal(save_new(fx, &f, &rep), PCACHE_OK);
    snprintf(moved, sizeof moved, "%s.moved", fx->dir);
    ft_join(path, moved, "img.pcache");
    assert_int_equal(stat(fx->dir, &sb), -1);
    assert_new_in_place(path);
    assert_int_equal(ft_count_tmp(moved), 0);
    assert_int_equal(rename(moved, fx->dir), 0); /* for teardown */
}

/* ---- cleanup of stray temporaries ---- */

static long dead_pid(void)
{
    int pid = fork();
    if (pid == 0)
        _exit(0);
    assert_true(pid > 0);
    assert_int_equal(ft_wait(pid), 0); /* reaped: no such process any more */
    return pid;
}

static void touch(const char *dir, const char *name, int age_seconds)
{
    char p[600];
    int fd;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
    if (age_seconds) {
        struct timespec ts[2];
        clock_gettime(CLOCK_REALTIME, &ts[0]);
        ts[0].tv_sec -= age_seconds;
        ts[1] = ts[0];
        assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
    }
}

static int exists(const char *dir, const char *name)
{
    char p[600];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return lstat(p, &sb) == 0;
}

static void test_cleanup_rule(void **state)
{
    fixture *fx = *state;
    long dead = dead_pid(), live = (long)getpid();
    char dead_tmp[300], live_tmp[300], old_tmp[300], dead_dir[300], other_target[300], bad_hex[300], dead_link[300];
    char p[600];
    unsigned removed = 99;
    pcache_report rep;

    snprintf(dead_tmp, sizeof dead_tmp, ".img.pcache.pcache-tmp.%ld.0123456789abcdef", dead);
    snprintf(live_tmp, sizeof live_tmp, ".img.pcache.pcache-tmp.%ld.00000000000000aa", live);
    snprintf(old_tmp, sizeof old_tmp, ".img.pcache.pcache-tmp.%ld.00000000000000bb", live);
    snprintf(dead_dir, sizeof dead_dir, ".img.pcache.pcache-tmp.%ld.00000000000000cc", dead);
    snprintf(other_target, sizeof other_target, ".other.pcache-tmp.%ld.0123456789abcdef", dead);
    snprintf(bad_hex, sizeof bad_hex, ".img.pcache.pcache-tmp.%ld.0123456789ABCDEF", dead);
    snprintf(dead_link, sizeof dead_link, ".img.pcache.pcache-tmp.%ld.00000000000000dd", dead);
    touch(fx->dir, dead_tmp, 0);
    touch(fx->dir, live_tmp, 0);
    touch(fx->dir, old_tmp, 7200);
    touch(fx->dir, other_target, 0);
    touch(fx->dir, bad_hex, 0);
    snprintf(p, sizeof p, "%s/%s", fx->dir, dead_dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/%s", fx->dir, dead_link);
    assert_int_equal(symlink("img.pcache", p), 0);

    /* pid rule only */
    assert_int_equal(pcache_file_cleanup(fx->path, 0, NULL, &removed, &rep), PCACHE_OK);
    assert_int_equal(removed, 1);
    assert_false(exists(fx->dir, dead_tmp));
    assert_true(exists(fx->dir, live_tmp));
    assert_true(exists(fx->dir, old_tmp));
    /* and the age rule */
    assert_int_equal(pcache_file_cleanup(fx->path, 3600, NULL, &removed, &rep), PCACHE_OK);
    assert_int_equal(removed, 1);
    assert_false(exists(fx->dir, old_tmp));
    assert_true(exists(fx->dir, live_tmp));
    /* never: another target's, a malformed name, a directory, a link */
    assert_true(exists(fx->dir, other_target));
    assert_true(exists(fx->dir, bad_hex));
    assert_true(exists(fx->dir, dead_dir));
    assert_true(exists(fx->dir, dead_link));
    assert_old_intact(fx);

    assert_int_equal(pcache_file_cleanup("/nonexistent-dir/x", 0, NULL, &removed, &rep), PCACHE_E_IO);
    assert_int_equal(rep.sys_errno, ENOENT);
    assert_int_equal(removed, 0);
}

/* pcache_file_save sweeps before it writes, unless told not to. */
static void test_save_sweeps_strays(void **state)
{
    fixture *fx = *state;
    long dead = dead_pid();
    char name[300];
    pcache_save_options opt = {0};
    pcache_report rep;

    snprintf(name, sizeof name, ".img.pcache.pcache-tmp.%ld.0123456789abcdef", dead);
    touch(fx->dir, name, 0);
    opt.skip_cleanup = 1;
    assert_int_equal(pcache_file_save(fx->new_img.b, fx->path, &opt, &rep), PCACHE_OK);
    assert_true(exists(fx->dir, name));
    opt.skip_cleanup = 0;
    assert_int_equal(pcache_file_save(fx->new_img.b, fx->path, &opt, &rep), PCACHE_OK);
    assert_false(exists(fx->dir, name));
    assert_int_equal(ft_count_tmp(fx->dir), 0);
}

/* A target name near NAME_MAX still gets a temporary name that fits, and
 * the sweep recognises it as that target's. */
static void test_long_target_name(void **state)
{
    fixture *fx = *state;
    char name[256], path[600];
    pcache_report rep;
    ft_faults f;
    pcache_save_options opt = {0};
    unsigned long rename_call = 0;
    unsigned removed = 0;
    int pid;

    memset(name, 'n', 250);
    name[250] = '\0';
    snprintf(path, sizeof path, "%s/%s", fx->dir, name);
    ft_faults_init(&f);
    opt.ops = &f.ops;
    opt.skip_cleanup = 1;
    assert_int_equal(pcache_file_save(fx->new_img.b, path, &opt, &rep), PCACHE_OK);
    for (unsigned long i = 0; i < f.calls && i < FT_LOG_MAX; i++)
        if (f.log[i] == FT_RENAMEAT)
            rename_call = i + 1;
    assert_true(rename_call > 0);

    /* a writer killed just before its rename leaves its temporary */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ft_faults_init(&f);
        f.kill_before = rename_call;
        opt.ops = &f.ops;
        pcache_status st = pcache_file_save(fx->new_img.b, path, &opt, &rep);
        fprintf(stderr, "child: not killed: %s: %s\n", pcache_status_name(st), rep.message);
        _exit(1);
    }
    assert_int_equal(ft_wait(pid), 128 + SIGKILL);
    assert_int_equal(ft_count_tmp(fx->dir), 1);
    assert_new_in_place(path); /* the killed save of the old image did not reach it */
    assert_int_equal(pcache_file_cleanup(path, 0, NULL, &removed, &rep), PCACHE_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(ft_count_tmp(fx->dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_save_load_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_refuses_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_replaces_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_path_is_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_fault_has_its_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transient_faults_are_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_fsync_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enospc_at_every_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_writes_are_continued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_builder_failure_keeps_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_disk_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_vanishes_before_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_vanishes_before_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_moved_before_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cleanup_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_sweeps_strays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_target_name, setup, teardown),
    };
    umask(022);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
