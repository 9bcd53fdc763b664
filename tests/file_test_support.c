/* SPDX-License-Identifier: BSD-2-Clause */
#define _GNU_SOURCE /* nftw's FTW_DEPTH | FTW_PHYS */
#include "file_test_support.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- fault injection ---- */

static const char *const op_names[FT_OP_COUNT + 1] = {
    "openat", "close", "write", "fsync", "renameat", "unlinkat", "fstat", "mmap", "munmap", "any",
};

const char *ft_op_name(ft_op op)
{
    return (unsigned)op <= FT_OP_COUNT ? op_names[op] : "?";
}

/* Counts the call, kills or fails it as planned.  Returns 1 if the call
 * must fail (errno set). */
static int ft_enter(ft_faults *f, ft_op op)
{
    unsigned long n = ++f->calls, k = ++f->per_op[op], idx;
    unsigned long times;
    int fail = 0;

    if (n <= FT_LOG_MAX)
        f->log[n - 1] = op;
    if (f->kill_before && n == f->kill_before)
        raise(SIGKILL);
    if (f->hook && f->hook(f, op, n))
        fail = 1;
    idx = f->fail_op == FT_ANY ? n : (f->fail_op == (int)op ? k : 0);
    times = f->fail_times ? f->fail_times : 1;
    if (idx && idx >= f->fail_at && idx - f->fail_at < times)
        fail = 1;
    if (fail) {
        f->failed++;
        errno = f->fail_errno;
    }
    return fail;
}

static int ft_openat(void *ctx, int dirfd, const char *path, int flags, mode_t mode)
{
    ft_faults *f = ctx;
    if (ft_enter(f, FT_OPENAT))
        return -1;
    return f->real->openat(f->real->ctx, dirfd, path, flags, mode);
}

static int ft_close(void *ctx, int fd)
{
    ft_faults *f = ctx;
    if (ft_enter(f, FT_CLOSE)) {
        /* as Linux does: the descriptor is released even when close fails */
        int e = errno;
        f->real->close(f->real->ctx, fd);
        errno = e;
        return -1;
    }
    return f->real->close(f->real->ctx, fd);
}

static ssize_t ft_write(void *ctx, int fd, const void *buf, size_t len)
{
    ft_faults *f = ctx;
    ssize_t n;
    unsigned long k = f->per_op[FT_WRITE]; /* index of this write, 0-based */
    if (k < FT_LOG_MAX)
        f->write_offset[k] = f->written;
    if (ft_enter(f, FT_WRITE))
        return errno ? -1 : 0;
    if (f->write_cap && len > f->write_cap)
        len = f->write_cap;
    n = f->real->write(f->real->ctx, fd, buf, len);
    if (n > 0)
        f->written += (uint64_t)n;
    return n;
}

static int ft_fsync(void *ctx, int fd)
{
    ft_faults *f = ctx;
    if (ft_enter(f, FT_FSYNC))
        return -1;
    return f->real->fsync(f->real->ctx, fd);
}

static int ft_renameat(void *ctx, int od, const char *op, int nd, const char *np)
{
    ft_faults *f = ctx;
    if (ft_enter(f, FT_RENAMEAT))
        return -1;
    return f->real->renameat(f->real->ctx, od, op, nd, np);
}

static int ft_unlinkat(void *ctx, int dirfd, const char *path, int flags)
{
    ft_faults *f = ctx;
    if (ft_enter(f, FT_UNLINKAT))
        return -1;
    return f->real->unlinkat(f->real->ctx, dirfd, path, flags);
}

static int ft_fstat(void *ctx, int fd, struct stat *st)
{
    ft_faults *f = ctx;
    if (ft_enter(f, FT_FSTAT))
        return -1;
    return f->real->fstat(f->real->ctx, fd, st);
}

static void *ft_mmap(void *ctx, void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    ft_faults *f = ctx;
    if (ft_enter(f, FT_MMAP))
        return (void *)-1; /* MAP_FAILED */
    return f->real->mmap(f->real->ctx, addr, len, prot, flags, fd, off);
}

static int ft_munmap(void *ctx, void *addr, size_t len)
{
    ft_faults *f = ctx;
    if (ft_enter(f, FT_MUNMAP))
        return -1;
    return f->real->munmap(f->real->ctx, addr, len);
}

void ft_faults_init(ft_faults *f)
{
    memset(f, 0, sizeof *f);
    f->real = pcache_file_ops_system();
    f->fail_op = -1;
    f->ops.ctx = f;
    f->ops.openat = ft_openat;
    f->ops.close = ft_close;
    f->ops.write = ft_write;
    f->ops.fsync = ft_fsync;
    f->ops.renameat = ft_renameat;
    f->ops.unlinkat = ft_unlinkat;
    f->ops.fstat = ft_fstat;
    f->ops.mmap = ft_mmap;
    f->ops.munmap = ft_munmap;
}

void ft_fail(ft_faults *f, ft_op op, unsigned long n, unsigned long times, int err)
{
    f->fail_op = (int)op;
    f->fail_at = n;
    f->fail_times = times;
    f->fail_errno = err;
}

/* ---- tagged images ---- */

#define FT_CLIENT "file-test"
#define FT_CLIENT_VERSION 3u
#define FT_TAG_SIZE 16u

static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Byte i of section s of image tag. */
static void pattern(uint8_t *p, size_t n, uint32_t tag, unsigned s)
{
    uint64_t seed = ((uint64_t)tag << 32) ^ ((uint64_t)s << 24);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w = mix64(seed + i / 8);
        size_t k = n - i < 8 ? n - i : 8;
        memcpy(p + i, &w, k);
    }
}

static int pattern_ok(const uint8_t *p, size_t n, uint32_t tag, unsigned s)
{
    uint64_t seed = ((uint64_t)tag << 32) ^ ((uint64_t)s << 24);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w = mix64(seed + i / 8);
        size_t k = n - i < 8 ? n - i : 8;
        if (memcmp(p + i, &w, k) != 0)
            return 0;
    }
    return 1;
}

static const char *const sec_name[4] = {"tag", "data", "code", "vars"};
static const pcache_class sec_class[4] = {PCACHE_RO, PCACHE_RO, PCACHE_RX, PCACHE_RW};
static const uint32_t sec_align[4] = {8, 64, 16, 8};

static void sizes_for(uint32_t tag, uint64_t bytes, size_t size[4])
{
    size[0] = FT_TAG_SIZE;
    size[1] = (size_t)(bytes * 6 / 10 + (tag % 7) * 1000 + tag % 13);
    size[2] = (size_t)(bytes * 3 / 10 + (tag % 5) * 333);
    size[3] = (size_t)(bytes / 10 + (tag % 3) * 8 + 8);
}

void ft_image_make(ft_image *img, uint32_t tag, size_t bytes)
{
    memset(img, 0, sizeof *img);
    img->tag = tag;
    if (pcache_identity_init(&img->id, FT_CLIENT, FT_CLIENT_VERSION) != PCACHE_OK ||
        pcache_builder_new(&img->b, &img->id) != PCACHE_OK)
        abort();
    sizes_for(tag, bytes, img->size);
    for (unsigned s = 0; s < 4; s++) {
        img->buf[s] = malloc(img->size[s]);
        if (!img->buf[s])
            abort();
        if (s == 0) {
            uint64_t b64 = bytes;
            uint32_t t = tag, nt = ~tag;
            memcpy(img->buf[0], &t, 4);
            memcpy(img->buf[0] + 4, &nt, 4);
            memcpy(img->buf[0] + 8, &b64, 8);
        } else {
            pattern(img->buf[s], img->size[s], tag, s);
        }
        if (pcache_builder_add(img->b, sec_class[s], sec_name[s], img->buf[s], img->size[s], sec_align[s], 0) !=
            PCACHE_OK)
            abort();
    }
}

void ft_image_free(ft_image *img)
{
    pcache_builder_free(img->b);
    for (unsigned s = 0; s < 4; s++)
        free(img->buf[s]);
    memset(img, 0, sizeof *img);
}

void ft_expect(pcache_expect *exp)
{
    pcache_identity id;
    if (pcache_identity_init(&id, FT_CLIENT, FT_CLIENT_VERSION) != PCACHE_OK)
        abort();
    pcache_expect_init(exp, &id);
}

int ft_file_tag(pcache_file *f, uint32_t *tag, char why[256])
{
    pcache_view v[4];
    pcache_report rep;
    uint32_t t, nt;
    uint64_t bytes;
    size_t size[4];

    for (unsigned s = 0; s < 4; s++) {
        pcache_segment *seg = pcache_file_segment(f, sec_class[s]);
        if (!seg || pcache_segment_find(seg, sec_name[s], &v[s], &rep) != PCACHE_OK) {
            snprintf(why, 256, "section '%s' missing", sec_name[s]);
            return -1;
        }
        if ((const uint8_t *)v[s].data < (const uint8_t *)f->map ||
            (const uint8_t *)v[s].data + v[s].size > (const uint8_t *)f->map + f->map_size) {
            snprintf(why, 256, "section '%s' is not a view into the mapping", sec_name[s]);
            return -1;
        }
    }
    if (v[0].size != FT_TAG_SIZE) {
        snprintf(why, 256, "tag section of %llu bytes", (unsigned long long)v[0].size);
        return -1;
    }
    memcpy(&t, v[0].data, 4);
    memcpy(&nt, (const uint8_t *)v[0].data + 4, 4);
    memcpy(&bytes, (const uint8_t *)v[0].data + 8, 8);
    if (nt != ~t) {
        snprintf(why, 256, "tag section damaged");
        return -1;
    }
    sizes_for(t, bytes, size);
    for (unsigned s = 1; s < 4; s++) {
        if (v[s].size != size[s] || !pattern_ok(v[s].data, size[s], t, s)) {
            snprintf(why, 256, "section '%s' is not image %u's (size %llu, expected %zu)", sec_name[s], t,
                     (unsigned long long)v[s].size, size[s]);
            return -1;
        }
    }
    *tag = t;
    return 0;
}

pcache_status ft_load_tag(const char *path, uint32_t *tag, char why[256])
{
    pcache_file f;
    pcache_expect exp;
    pcache_report rep;
    pcache_status st;

    ft_expect(&exp);
    st = pcache_file_open(&f, path, NULL, &exp, &rep);
    if (st != PCACHE_OK) {
        snprintf(why, 256, "%.255s", rep.message);
        return st;
    }
    if (ft_file_tag(&f, tag, why) != 0)
        st = PCACHE_E_STATE;
    pcache_file_close(&f);
    return st;
}

/* ---- scratch directories ---- */

void ft_mkdtemp(char *path, const char *what)
{
    const char *t = getenv("TMPDIR");
    snprintf(path, 256, "%s/pcache-%s-XXXXXX", t && *t ? t : "/tmp", what);
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        abort();
    }
}

static int rm_one(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_DP)
        rmdir(p);
    else
        unlink(p);
    return 0;
}

void ft_rmtree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int ft_count_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, PCACHE_FILE_TMP_TAG))
            n++;
    closedir(d);
    return n;
}

int ft_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;
    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the one opendir holds */
}

void ft_join(char *out, const char *dir, const char *name)
{
    snprintf(out, 512, "%s/%s", dir, name);
}

int ft_under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    const char *v = getenv("RUNNING_ON_VALGRIND");
    return (v && *v && strcmp(v, "0") != 0) || (p && strstr(p, "vgpreload"));
}

/* ---- children ---- */

int ft_wait(int pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

void ft_assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("'%s' does not contain '%s'", hay, needle);
}
