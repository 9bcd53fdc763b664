/* SPDX-License-Identifier: BSD-2-Clause */
/* The tools' command-line conventions, run as the user runs them
 * (tool_run.h): what -o may replace, exit status 2 for every I/O error,
 * '-' for standard input and output in both tools, sizes a user did not
 * ask for, messages that name the real reason, and the JSON documents of
 * info and verify describing the same thing the same way.
 *
 * Usage: cli_test PCACHE_PACK PCACHE_INSPECT [CASE] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "json_doc.h"
#include "pcache/pcache.h"
#include "tool_run.h"

static const char *pack_tool;
static const char *inspect_tool;

/* ---- helpers ---- */

static json_t *inspect_json(const fixture *f, int status, const char *command, const char *path)
{
    run_result r;
    json_t *v;
    run(f, &r, inspect_tool, "--json", command, path, NULL);
    expect_status(&r, status);
    v = json_of(&r);
    result_free(&r);
    return v;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* docs/FORMAT.md 3.2, 3.3, 7.2, 7.3 */
enum {
    SH_SECTION_COUNT = 28,
    SH_TABLE_CHECKSUM = 240,
    SH_HEADER_CHECKSUM = 248,
    SE_TYPE = 32,
    SE_FLAGS = 34,
    FH_FILE_SIZE = 24,
    FH_SEGMENTS = 48,
    FH_HEADER_CHECKSUM = 120,
    FF_FILE_SIZE = 8,
    FF_HEADER_CHECKSUM = 16,
    FF_FOOTER_CHECKSUM = 24,
};

/* XXH3-64, as pcache-pack writes by default */
static void resign_segment(uint8_t *seg)
{
    uint64_t n = le(seg + SH_SECTION_COUNT, 4);
    put_be64(seg + SH_TABLE_CHECKSUM, pcache_checksum(PCACHE_CHECKSUM_XXH3_64, seg + 256, (size_t)(64 * n)));
    put_be64(seg + SH_HEADER_CHECKSUM, pcache_checksum(PCACHE_CHECKSUM_XXH3_64, seg, SH_HEADER_CHECKSUM));
}

static void resign_file(uint8_t *file, size_t size)
{
    uint64_t h = pcache_checksum(PCACHE_CHECKSUM_XXH3_64, file, FH_HEADER_CHECKSUM);
    uint8_t *foot = file + size - 32;
    put_be64(file + FH_HEADER_CHECKSUM, h);
    put_be64(foot + FF_HEADER_CHECKSUM, h);
    put_be64(foot + FF_FOOTER_CHECKSUM, pcache_checksum(PCACHE_CHECKSUM_XXH3_64, foot, FF_FOOTER_CHECKSUM));
}

/* A character device to write to, for the device of /dev/name.  A tool
 * that wrongly replaced it must not take the system's node with it: as
 * root (who could replace /dev/null) a node of the fixture's own, made
 * with mknod(2); as any other user, who cannot replace anything in /dev,
 * the system's.  NULL when neither is possible (root without
 * CAP_MKNOD): the case is then skipped rather than risk /dev. */
static char *char_device(const fixture *f, const char *name)
{
    char sys[64], *own = path_in(f, name);
    struct stat st;

    snprintf(sys, sizeof sys, "/dev/%s", name);
    if (stat(sys, &st) != 0 || !S_ISCHR(st.st_mode)) {
        free(own);
        return NULL;
    }
    if (mknod(own, S_IFCHR | 0666, st.st_rdev) == 0) {
        int fd = open(own, O_WRONLY); /* not on a nodev file system */
        if (fd >= 0) {
            close(fd);
            return own;
        }
        unlink(own);
    }
    free(own);
    return geteuid() != 0 ? strdup(sys) : NULL;
}

/* Standard output, named by a path that leads to it (/dev/stdout leads
 * there through /proc/self/fd/1, whose directory nobody can write). */
#define STDOUT_PATH "/proc/self/fd/1"

/* A small input file. */
static char *input(const fixture *f, const char *name, const char *text)
{
    char *p = path_in(f, name);
    write_bytes(p, text, strlen(text));
    return p;
}

/* pcache-pack -o out --client c --client-version 1 --ro a=IN [extra...] */
static void pack(const fixture *f, run_result *r, const char *out, const char *in, ...)
{
    const char *args[32] = {"-o", out, "--client", "cli", "--client-version", "1", "--page-size", "4096"};
    size_t n = 8;
    char *ro;
    va_list ap;

    assert_true(asprintf(&ro, "a=%s", in) > 0);
    args[n++] = "--ro";
    args[n++] = ro;
    va_start(ap, in);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    run_argv(f, r, pack_tool, args);
    free(ro);
}

static void verify_file(const fixture *f, const char *path)
{
    run_result r;
    run(f, &r, inspect_tool, "verify", path, NULL);
    if (r.status != 0)
        fail_msg("'%s' does not verify: %s", path, r.err);
    result_free(&r);
}

/* ---- -o replaces nothing but a regular file ---- */

static void output_devices_and_links(void **state)
{
    fixture *f = *state;
    char *in = input(f, "in.txt", "hello\n"), *target = path_in(f, "target.pcache"), *link = path_in(f, "link");
    char *dangling = path_in(f, "dangling"), *fifo = path_in(f, "fifo"), *dir = path_in(f, "dir"), *got;
    char *null = char_device(f, "null");
    struct stat before, after;
    run_result r;
    int rd;
    size_t n;

    /* a character device is written to and stays one */
    if (null) {
        assert_int_equal(stat(null, &before), 0);
        pack(f, &r, null, in, NULL);
        expect_status(&r, 0);
        expect_contains("pack", r.out, "wrote '");
        result_free(&r);
        assert_int_equal(lstat(null, &after), 0);
        assert_true(S_ISCHR(after.st_mode));
        assert_int_equal(after.st_rdev, before.st_rdev);
        free(null);
    }

    /* a FIFO: its reader gets the file */
    assert_int_equal(mkfifo(fifo, 0600), 0);
    rd = open(fifo, O_RDONLY | O_NONBLOCK);
    assert_true(rd >= 0);
    pack(f, &r, fifo, in, NULL);
    expect_status(&r, 0);
    result_free(&r);
    {
        uint8_t buf[16384];
        ssize_t k = read(rd, buf, sizeof buf);
        char *copy = path_in(f, "from-fifo.pcache");
        assert_true(k > 4096);
        write_bytes(copy, buf, (size_t)k);
        verify_file(f, copy);
        free(copy);
    }
    close(rd);
    assert_int_equal(lstat(fifo, &after), 0);
    assert_true(S_ISFIFO(after.st_mode));

    /* a link: the file it leads to is replaced, with its permission bits,
     * and the link stays */
    write_bytes(target, "old", 3);
    assert_int_equal(chmod(target, 0600), 0);
    assert_int_equal(symlink("target.pcache", link), 0);
    pack(f, &r, link, in, NULL);
    expect_status(&r, 0);
    result_free(&r);
    assert_int_equal(lstat(link, &after), 0);
    assert_true(S_ISLNK(after.st_mode));
    assert_int_equal(stat(target, &after), 0);
    assert_true(S_ISREG(after.st_mode));
    assert_int_equal(after.st_mode & 0777, 0600);
    /* the new file is the caller's (documented): as root, whatever the
     * old owner was */
    if (geteuid() == 0) {
        assert_int_equal(chown(target, 65534, 65534), 0);
        pack(f, &r, target, in, NULL);
        expect_status(&r, 0);
        result_free(&r);
        assert_int_equal(stat(target, &after), 0);
        assert_int_equal(after.st_uid, 0);
        assert_int_equal(after.st_mode & 0777, 0600);
    }
    verify_file(f, target);

    /* a group- or other-writable file keeps its bits but those */
    assert_int_equal(chmod(target, 0666), 0);
    pack(f, &r, target, in, NULL);
    expect_status(&r, 0);
    result_free(&r);
    assert_int_equal(stat(target, &after), 0);
    assert_int_equal(after.st_mode & 0022, 0);

    /* refused, and left as they were: a dangling link, a directory */
    assert_int_equal(symlink("nowhere", dangling), 0);
    pack(f, &r, dangling, in, NULL);
    expect_status(&r, 2);
    expect_contains("pack", r.err, "symbolic link to a file that does not exist");
    result_free(&r);
    assert_int_equal(lstat(dangling, &after), 0);
    assert_true(S_ISLNK(after.st_mode));
    assert_int_equal(mkdir(dir, 0755), 0);
    pack(f, &r, dir, in, NULL);
    expect_status(&r, 2);
    expect_contains("pack", r.err, "is a directory");
    result_free(&r);
    assert_int_equal(stat(dir, &after), 0);
    assert_true(S_ISDIR(after.st_mode));

    /* --help says so, and not "created or truncated" */
    run(f, &r, pack_tool, "--help", NULL);
    expect_status(&r, 0);
    expect_not_contains("help", r.out, "truncated");
    expect_contains("help", r.out, "replaced");
    expect_contains("help", r.out, "'-'");
    result_free(&r);

    got = (char *)read_bytes(target, &n);
    assert_non_null(got);
    free(got);
    free(in);
    free(target);
    free(link);
    free(dangling);
    free(fifo);
    free(dir);
}

/* ---- every I/O error exits 2 ---- */

static void io_errors_exit_2(void **state)
{
    fixture *f = *state;
    char *in = input(f, "in.txt", "hello\n"), *big = path_in(f, "big.bin"), *dir = path_in(f, "d");
    char *dir_slash, *out = path_in(f, "out.pcache"), *out2 = path_in(f, "out2.pcache"), *ro_dir = path_in(f, "ro");
    char *ro_out, *full;
    static uint8_t big_data[65536];
    struct rlimit old, lim;
    run_result r;

    assert_true(asprintf(&dir_slash, "%s/", dir) > 0);
    assert_true(asprintf(&ro_out, "%s/out.pcache", ro_dir) > 0);
    assert_int_equal(mkdir(dir, 0755), 0);

    pack(f, &r, "", in, NULL);
    expect_status(&r, 2);
    expect_contains("-o ''", r.err, "-o needs a file name");
    result_free(&r);
    pack(f, &r, dir_slash, in, NULL);
    expect_status(&r, 2);
    expect_contains("-o dir/", r.err, "is a directory");
    result_free(&r);

    /* ENOSPC */
    if ((full = char_device(f, "full")) != NULL) {
        pack(f, &r, full, in, NULL);
        expect_status(&r, 2);
        expect_contains("ENOSPC", r.err, "No space left on device");
        result_free(&r);
        pack(f, &r, out, in, NULL);
        expect_status(&r, 0);
        result_free(&r);
        run(f, &r, inspect_tool, "extract", out, "a", "-o", full, NULL);
        expect_status(&r, 2);
        expect_contains("extract ENOSPC", r.err, "No space left on device");
        result_free(&r);
        free(full);
    }

    /* EFBIG: a file size limit the child inherits */
    memset(big_data, 0x5a, sizeof big_data);
    write_bytes(big, big_data, sizeof big_data);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 16384;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    pack(f, &r, out2, big, NULL);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    expect_status(&r, 2);
    expect_contains("EFBIG", r.err, "cannot write");
    result_free(&r);

    /* EACCES: a directory the user may not write (root may write any;
     * sysfs refuses even root) */
    if (geteuid() != 0) {
        assert_int_equal(mkdir(ro_dir, 0555), 0);
        pack(f, &r, ro_out, in, NULL);
        expect_status(&r, 2);
        expect_contains("EACCES", r.err, "Permission denied");
        result_free(&r);
        assert_int_equal(chmod(ro_dir, 0755), 0);
    } else {
        struct stat st;
        if (stat("/sys/kernel", &st) == 0 && S_ISDIR(st.st_mode)) {
            pack(f, &r, "/sys/kernel/pcache-cli-test.pcache", in, NULL);
            expect_status(&r, 2);
            expect_contains("EACCES", r.err, "cannot write");
            result_free(&r);
        }
    }
    free(in);
    free(big);
    free(dir);
    free(dir_slash);
    free(out);
    free(out2);
    free(ro_dir);
    free(ro_out);
}

/* ---- '-' in both tools ---- */

static void dash_is_stdin_and_stdout(void **state)
{
    fixture *f = *state;
    char *in = input(f, "in.txt", "from stdin\n"), *file = path_in(f, "f.pcache"), *copy = path_in(f, "copy.pcache");
    char *extracted = path_in(f, "extracted");
    const char *args[16];
    run_result r;

    /* pack: FILE '-' is standard input, once */
    args[0] = "-o", args[1] = file, args[2] = "--client", args[3] = "c", args[4] = "--client-version", args[5] = "1";
    args[6] = "--ro", args[7] = "a=-", args[8] = NULL;
    run_argv_stdin(f, &r, in, pack_tool, args);
    expect_status(&r, 0);
    result_free(&r);
    run(f, &r, inspect_tool, "extract", file, "a", NULL);
    expect_status(&r, 0);
    assert_int_equal(r.out_size, 11);
    assert_memory_equal(r.out, "from stdin\n", 11);
    result_free(&r);
    args[8] = "--rx", args[9] = "b=-", args[10] = NULL;
    run_argv_stdin(f, &r, in, pack_tool, args);
    expect_status(&r, 2);
    expect_contains("two '-'", r.err, "standard input");
    result_free(&r);

    /* pack -o - and -o /dev/stdout (its target): the file on stdout, the
     * summary aside */
    for (int i = 0; i < 2; i++) {
        pack(f, &r, i ? STDOUT_PATH : "-", in, NULL);
        expect_status(&r, 0);
        expect_contains("summary", r.err, "wrote '");
        assert_true(r.out_size > 4096);
        assert_memory_equal(r.out, "\x89PCFILE\n", 8);
        write_bytes(copy, r.out, r.out_size);
        result_free(&r);
        verify_file(f, copy);
    }

    /* inspect: FILE '-' is standard input */
    args[0] = "verify", args[1] = "-", args[2] = NULL;
    run_argv_stdin(f, &r, file, inspect_tool, args);
    expect_status(&r, 0);
    expect_contains("verify -", r.out, "is valid");
    result_free(&r);

    /* extract -o - and -o /dev/stdout: the bytes and nothing else; no
     * file named '-' */
    for (int i = 0; i < 2; i++) {
        run(f, &r, inspect_tool, "extract", file, "a", "-o", i ? STDOUT_PATH : "-", NULL);
        expect_status(&r, 0);
        assert_int_equal(r.out_size, 11);
        assert_memory_equal(r.out, "from stdin\n", 11);
        result_free(&r);
    }
    {
        char *dash = path_in(f, "-");
        struct stat st;
        assert_int_equal(stat(dash, &st), -1);
        free(dash);
    }
    run(f, &r, inspect_tool, "--json", "extract", file, "a", "-o", "-", NULL);
    expect_status(&r, 2);
    result_free(&r);
    /* to a file: the summary on stdout */
    run(f, &r, inspect_tool, "extract", file, "a", "-o", extracted, NULL);
    expect_status(&r, 0);
    expect_contains("extract", r.out, "wrote 11 bytes");
    result_free(&r);
    free(in);
    free(file);
    free(copy);
    free(extracted);
}

/* ---- sizes and messages ---- */

static void sizes_and_reasons(void **state)
{
    fixture *f = *state;
    char *in = input(f, "in.txt", "0123456789abc"), *out = path_in(f, "big-page.pcache");
    run_result r;
    struct stat st;

    /* a 1 GiB page for 13 bytes: refused without the flag, nothing written */
    pack(f, &r, out, in, "--page-size", "1073741824", NULL);
    expect_status(&r, 2);
    expect_contains("page size", r.err, "--allow-large-page-size");
    result_free(&r);
    assert_int_equal(stat(out, &st), -1);
    pack(f, &r, out, in, "--page-size", "65536", NULL);
    expect_status(&r, 0);
    result_free(&r);
    pack(f, &r, out, in, "--page-size", "131072", "--allow-large-page-size", NULL);
    expect_status(&r, 0);
    result_free(&r);
    assert_int_equal(stat(out, &st), 0);
    assert_true(st.st_size > 131072);

    pack(f, &r, out, in, "--align", "a=99999999999999999999", NULL);
    expect_status(&r, 2);
    expect_contains("align", r.err, "is too large");
    expect_not_contains("align", r.err, "expected NAME=N");
    result_free(&r);
    pack(f, &r, out, in, "--module-base", "0x10000000000000000", NULL);
    expect_status(&r, 2);
    expect_contains("module base", r.err, "too large");
    result_free(&r);
    run(f, &r, inspect_tool, "dump", out, "a", "--offset", "99999999999999999999", NULL);
    expect_status(&r, 2);
    expect_contains("offset", r.err, "too large");
    result_free(&r);

    /* a name starting with '.' is the library's */
    {
        char *ro;
        const char *args[12] = {"-o", out, "--client", "c", "--client-version", "1", "--ro", NULL, NULL};
        assert_true(asprintf(&ro, ".image=%s", in) > 0);
        args[7] = ro;
        run_argv(f, &r, pack_tool, args);
        expect_status(&r, 2);
        expect_contains(".image", r.err, "reserved");
        expect_contains(".image", r.err, "starting with '.'");
        expect_not_contains(".image", r.err, "printable ASCII bytes without spaces");
        result_free(&r);
        free(ro);
    }
    free(in);
    free(out);
}

/* ---- JSON: one shape for one thing ---- */

static void json_kinds_of_short_files(void **state)
{
    fixture *f = *state;
    char *empty = path_in(f, "empty"), *three = path_in(f, "three"), *start = path_in(f, "start");
    json_t *v;

    write_bytes(empty, "", 0);
    write_bytes(three, "abc", 3);
    write_bytes(start, "\x89PC", 3);
    v = inspect_json(f, 1, "verify", empty);
    assert_string_equal(jstr(v, "kind"), "unknown");
    assert_string_equal(jstr(v, "problems[0].status"), "PCACHE_E_TRUNCATED");
    json_decref(v);
    v = inspect_json(f, 1, "info", three);
    assert_string_equal(jstr(v, "kind"), "unknown");
    json_decref(v);
    v = inspect_json(f, 1, "info", start);
    assert_string_equal(jstr(v, "kind"), "pcache");
    json_decref(v);
    free(empty);
    free(three);
    free(start);
}

/* A problem in a segment: info and verify give the same object. */
static void json_info_and_verify_agree(void **state)
{
    fixture *f = *state;
    char *in = input(f, "in.txt", "abcdefgh"), *file = path_in(f, "f.pcache");
    const char *keys[] = {"status", "class", "section", "message"};
    json_t *vi, *vv;
    run_result r;
    uint8_t *bytes;
    size_t size;

    pack(f, &r, file, in, NULL);
    expect_status(&r, 0);
    result_free(&r);
    bytes = read_bytes(file, &size);
    bytes[4096 + 320] ^= 1; /* the section's first byte (ro at 4096, one entry) */
    write_bytes(file, bytes, size);
    vi = inspect_json(f, 1, "info", file);
    vv = inspect_json(f, 1, "verify", file);
    assert_int_equal(juint(vv, "problem_count"), 1);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        char p[64];
        snprintf(p, sizeof p, "problems[0].%s", keys[k]);
        assert_string_equal(jstr(vi, p), jstr(vv, p));
    }
    assert_int_equal(juint(vi, "problems[0].segment_offset"), 320);
    assert_int_equal(juint(vv, "problems[0].segment_offset"), 320);
    assert_int_equal(juint(vi, "problems[0].file_offset"), 4096 + 320);
    assert_int_equal(juint(vv, "problems[0].file_offset"), 4096 + 320);
    expect_contains("info message", jstr(vi, "problems[0].message"), "(file offset 0x1140)");
    json_decref(vi);
    json_decref(vv);
    free(bytes);
    free(in);
    free(file);
}

static void json_absent_and_reserved(void **state)
{
    fixture *f = *state;
    char *in = input(f, "in.txt", "abcdefgh"), *file = path_in(f, "f.pcache");
    json_t *v;
    run_result r;
    uint8_t *bytes, *seg, *e;
    size_t size;

    pack(f, &r, file, in, NULL);
    expect_status(&r, 0);
    result_free(&r);
    /* at_stated_offset: null in a standalone file, not left out */
    v = inspect_json(f, 0, "info", file);
    jget(v, "segments[0].at_stated_offset", JSON_NULL);
    json_decref(v);

    /* a section of type 2 with flags 0x0003: skippable and a reserved bit,
     * not "compressed" */
    bytes = read_bytes(file, &size);
    seg = bytes + 4096;
    e = seg + 256;
    put_le(e + SE_TYPE, 2, 2);
    put_le(e + SE_FLAGS, 3, 2);
    resign_segment(seg);
    write_bytes(file, bytes, size);
    v = inspect_json(f, 0, "info", file);
    assert_int_equal(juint(v, "segments[0].sections[0].flags"), 3);
    assert_int_equal(jcount(v, "segments[0].sections[0].flag_names"), 1);
    assert_string_equal(jstr(v, "segments[0].sections[0].flag_names[0]"), "skippable");
    json_decref(v);
    run(f, &r, inspect_tool, "info", file, NULL);
    expect_status(&r, 0);
    expect_contains("info", r.out, "flags=skippable,0x2,unknown");
    result_free(&r);
    free(bytes);
    free(in);
    free(file);
}

/* A segment 8 bytes shorter than its slot: its trailer would end in the
 * footer, which verify must not read as a raw checksum. */
static void json_segment_short_of_its_slot(void **state)
{
    fixture *f = *state;
    char *in = input(f, "in.txt", "abcdefgh"), *file = path_in(f, "f.pcache");
    json_t *v;
    run_result r;
    uint8_t *bytes;
    size_t size, n;
    uint64_t ro_size;

    pack(f, &r, file, in, NULL);
    expect_status(&r, 0);
    result_free(&r);
    bytes = read_bytes(file, &size);
    ro_size = le(bytes + FH_SEGMENTS + 8, 8);
    /* 8 bytes cut from the end of the segment, the footer after it */
    memmove(bytes + size - 40, bytes + size - 32, 32);
    n = size - 8;
    put_le(bytes + FH_SEGMENTS + 8, ro_size - 8, 8);
    put_le(bytes + FH_FILE_SIZE, n, 8);
    put_le(bytes + n - 32 + FF_FILE_SIZE, n, 8);
    resign_file(bytes, n);
    write_bytes(file, bytes, n);
    v = inspect_json(f, 1, "verify", file);
    assert_string_equal(jstr(v, "problems[0].status"), "PCACHE_E_FILE_LAYOUT");
    for (size_t i = 0; i < juint(v, "problem_count"); i++) {
        char p[64];
        snprintf(p, sizeof p, "problems[%zu].status", i);
        assert_string_not_equal(jstr(v, p), "PCACHE_E_PADDING");
    }
    json_decref(v);
    free(bytes);
    free(in);
    free(file);
}

int main(int argc, char **argv)
{
#define CASE(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        CASE(output_devices_and_links),
        CASE(io_errors_exit_2),
        CASE(dash_is_stdin_and_stdout),
        CASE(sizes_and_reasons),
        CASE(json_kinds_of_short_files),
        CASE(json_info_and_verify_agree),
        CASE(json_absent_and_reserved),
        CASE(json_segment_short_of_its_slot),
    };
#undef CASE

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s PCACHE_PACK PCACHE_INSPECT [CASE]\n", argv[0]);
        return 2;
    }
    pack_tool = argv[1];
    inspect_tool = argv[2];
    return run_cases(tests, sizeof tests / sizeof tests[0], argc == 4 ? argv[3] : NULL);
}
