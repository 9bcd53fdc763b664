/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of pcache-pack and pcache-inspect's basics, run as the user runs
 * them (tool_run.h): each case execs the built tools and checks their exit
 * status and output.  inspect_test.c tests the rest of pcache-inspect.
 *
 * Usage: tools_test PCACHE_PACK PCACHE_INSPECT [CASE] */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pcache/pcache.h"
#include "tool_run.h"

static const char *pack_tool;
static const char *inspect_tool;

static char *section_field(const char *info, const char *name, const char *key)
{
    char pat[64], kpat[40];
    const char *line, *end, *k;
    size_t len;

    snprintf(pat, sizeof pat, " name=%s ", name);
    line = strstr(info, pat);
    if (!line)
        fail_msg("info does not list section '%s':\n%s", name, info);
    end = strchr(line, '\n');
    assert_non_null(end);
    snprintf(kpat, sizeof kpat, " %s=", key);
    k = strstr(line, kpat);
    if (!k || k > end)
        fail_msg("info line of '%s' has no %s=", name, key);
    k += strlen(kpat);
    len = strcspn(k, " \n");
    return strndup(k, len);
}

static uint64_t section_number(const char *info, const char *name, const char *key)
{
    char *v = section_field(info, name, key), *endp;
    uint64_t n;
    errno = 0;
    n = strtoull(v, &endp, 0);
    assert_int_equal(errno, 0);
    assert_true(endp != v && *endp == '\0');
    free(v);
    return n;
}

static void expect_section_field(const char *info, const char *name, const char *key, const char *want)
{
    char *got = section_field(info, name, key);
    if (strcmp(got, want) != 0)
        fail_msg("section '%s': %s=%s, expected %s", name, key, got, want);
    free(got);
}

/* ---- sample inputs ---- */

typedef struct sample {
    char *alpha, *bravo, *charlie, *out;
    uint8_t alpha_data[11];
    uint8_t bravo_data[5000];
} sample;

static void make_sample(const fixture *f, sample *s)
{
    memcpy(s->alpha_data, "hello world", 11);
    /* varied bytes, so that a misplaced section cannot match by chance */
    for (size_t i = 0; i < sizeof s->bravo_data; i++)
        s->bravo_data[i] = (uint8_t)(i * 131u + (i >> 8));
    s->alpha = path_in(f, "alpha.bin");
    s->bravo = path_in(f, "bravo.bin");
    s->charlie = path_in(f, "charlie.bin");
    s->out = path_in(f, "sample.pcache");
    write_bytes(s->alpha, s->alpha_data, sizeof s->alpha_data);
    write_bytes(s->bravo, s->bravo_data, sizeof s->bravo_data);
    write_bytes(s->charlie, "", 0);
}

static void free_sample(sample *s)
{
    free(s->alpha);
    free(s->bravo);
    free(s->charlie);
    free(s->out);
}

static char *arg(const char *name, const char *path)
{
    char *p;
    assert_true(asprintf(&p, "%s=%s", name, path) > 0);
    return p;
}

/* Packs the sample with every option that shows in info. */
static void pack_sample(const fixture *f, sample *s, const char *checksum)
{
    run_result r;
    char *a = arg("alpha", s->alpha), *b = arg("bravo", s->bravo), *c = arg("charlie", s->charlie);

    /* page size fixed so that the structure offsets below hold on any host */
    run(f, &r, pack_tool, "-o", s->out, "--client", "tool-test", "--client-version", "4242", "--page-size",
        "4096", "--ro", a,
        "--rx", b, "--rw", c, "--align", "bravo=64", "--skippable", "alpha", "--checksum", checksum,
        "--page-round", "rx", "--module-base", "0x400000", "--module-size", "0x2000", "--module-digest",
        "00deadbeef", NULL);
    expect_status(&r, 0);
    expect_contains("pack stdout", r.out, "wrote '");
    assert_string_equal(r.err, "");
    result_free(&r);
    free(a);
    free(b);
    free(c);
}

/* ---- cases ---- */

static void pack_then_verify_is_valid(void **state)
{
    fixture *f = *state;
    sample s;
    run_result r;

    make_sample(f, &s);
    pack_sample(f, &s, "xxh3");
    run(f, &r, inspect_tool, "verify", s.out, NULL);
    expect_status(&r, 0);
    expect_contains("verify stdout", r.out, "is valid");
    expect_contains("verify stdout", r.out, "3 sections");
    assert_string_equal(r.err, "");
    result_free(&r);
    free_sample(&s);
}

static void info_shows_what_was_packed(const fixture *f, const char *checksum, pcache_checksum_algorithm algo)
{
    sample s;
    run_result r;
    size_t file_size;
    uint8_t *file;
    char want[64];
    const struct {
        const char *name;
        const uint8_t *data;
        size_t size;
        const char *align, *flags;
    } secs[] = {
        {"alpha", s.alpha_data, sizeof s.alpha_data, "8", "skippable"},
        {"bravo", s.bravo_data, sizeof s.bravo_data, "64", "none"},
        {"charlie", (const uint8_t *)"", 0, "8", "none"},
    };

    make_sample(f, &s);
    pack_sample(f, &s, checksum);
    file = read_bytes(s.out, &file_size);
    assert_non_null(file);

    run(f, &r, inspect_tool, "info", s.out, NULL);
    expect_status(&r, 0);
    assert_string_equal(r.err, "");
    snprintf(want, sizeof want, "checksum         %s\n", pcache_checksum_name(algo));
    expect_contains("info", r.out, want);
    snprintf(want, sizeof want, "file size        %zu ", file_size);
    expect_contains("info", r.out, want);
    expect_contains("info", r.out, "client           tool-test\n");
    expect_contains("info", r.out, "client version   4242\n");
    expect_contains("info", r.out, "module base      0x400000\n");
    expect_contains("info", r.out, "module size      8192 (0x2000)\n");
    expect_contains("info", r.out, "module digest    00deadbeef\n");
    expect_contains("info", r.out, "segment rx\n");
    expect_contains("info", r.out, "page-rounded\n");

    for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++) {
        uint64_t off = section_number(r.out, secs[i].name, "file_offset");
        snprintf(want, sizeof want, "%zu", secs[i].size);
        expect_section_field(r.out, secs[i].name, "size", want);
        expect_section_field(r.out, secs[i].name, "align", secs[i].align);
        expect_section_field(r.out, secs[i].name, "flags", secs[i].flags);
        expect_section_field(r.out, secs[i].name, "type", "data");
        /* the offset info gives is where the input's bytes really are */
        assert_true(off % strtoul(secs[i].align, NULL, 10) == 0);
        assert_true(off + secs[i].size <= file_size);
        assert_memory_equal(file + off, secs[i].data, secs[i].size);
        /* and the checksum shown is the checksum of those bytes */
        assert_int_equal(section_number(r.out, secs[i].name, "checksum"),
                         pcache_checksum(algo, secs[i].data, secs[i].size));
    }
    result_free(&r);
    free(file);
    free_sample(&s);
}

static void info_shows_sections_xxh3(void **state)
{
    info_shows_what_was_packed(*state, "xxh3", PCACHE_CHECKSUM_XXH3_64);
}

static void info_shows_sections_crc32(void **state)
{
    info_shows_what_was_packed(*state, "crc32", PCACHE_CHECKSUM_CRC32);
}

/* Flips one byte at offset and expects both subcommands to refuse the
 * file with a message containing each of the needles. */
static void expect_corruption_found(const fixture *f, const uint8_t *file, size_t size, size_t offset,
                                    const char *needle1, const char *needle2)
{
    char *bad = path_in(f, "bad.pcache");
    uint8_t *copy = malloc(size);
    run_result r;

    assert_non_null(copy);
    memcpy(copy, file, size);
    copy[offset] ^= 0x5a;
    write_bytes(bad, copy, size);
    run(f, &r, inspect_tool, "verify", bad, NULL);
    expect_status(&r, 1);
    expect_contains("verify stderr", r.err, "is invalid");
    expect_contains("verify stderr", r.err, needle1);
    expect_contains("verify stderr", r.err, needle2);
    assert_null(strstr(r.out, "is valid"));
    result_free(&r);
    run(f, &r, inspect_tool, "info", bad, NULL);
    expect_status(&r, 1);
    expect_contains("info stderr", r.err, needle1);
    result_free(&r);
    free(copy);
    free(bad);
}

static void corrupt_section_byte_fails_verify(void **state)
{
    fixture *f = *state;
    sample s;
    run_result r;
    size_t size;
    uint8_t *file;
    uint64_t off;

    make_sample(f, &s);
    pack_sample(f, &s, "xxh3");
    file = read_bytes(s.out, &size);
    run(f, &r, inspect_tool, "info", s.out, NULL);
    expect_status(&r, 0);
    off = section_number(r.out, "bravo", "file_offset");
    result_free(&r);

    expect_corruption_found(f, file, size, off + 1234, "section 'bravo'", "PCACHE_E_SECTION_CHECKSUM");
    free(file);
    free_sample(&s);
}

/* Bytes outside any section are covered too: headers, table, trailer,
 * padding, footer. */
static void corrupt_structure_byte_fails_verify(void **state)
{
    fixture *f = *state;
    sample s;
    size_t size;
    uint8_t *file;
    uint64_t ro;

    make_sample(f, &s);
    pack_sample(f, &s, "xxh3");
    file = read_bytes(s.out, &size);
    ro = 4096; /* the first segment starts on the first page boundary */

    expect_corruption_found(f, file, size, 20, "file: header checksum", "PCACHE_E_FILE_HEADER_CHECKSUM");
    expect_corruption_found(f, file, size, 200, "padding after the file header", "PCACHE_E_PADDING");
    expect_corruption_found(f, file, size, ro + 30, "ro segment", "PCACHE_E_HEADER_CHECKSUM");
    expect_corruption_found(f, file, size, ro + 256 + 40, "ro segment", "PCACHE_E_TABLE_CHECKSUM");
    expect_corruption_found(f, file, size, size - 4, "footer", "PCACHE_E_FILE_FOOTER");
    free(file);
    free_sample(&s);
}

static void truncated_file_fails_verify(void **state)
{
    fixture *f = *state;
    sample s;
    run_result r;
    size_t size;
    uint8_t *file;
    char *cut = path_in(f, "cut.pcache");

    make_sample(f, &s);
    pack_sample(f, &s, "xxh3");
    file = read_bytes(s.out, &size);
    write_bytes(cut, file, size - 100);
    run(f, &r, inspect_tool, "verify", cut, NULL);
    expect_status(&r, 1);
    expect_contains("verify stderr", r.err, "file size (header, actual)");
    expect_contains("verify stderr", r.err, "PCACHE_E_TRUNCATED");
    result_free(&r);

    write_bytes(cut, file, 50);
    run(f, &r, inspect_tool, "verify", cut, NULL);
    expect_status(&r, 1);
    expect_contains("verify stderr", r.err, "too short for a header");
    result_free(&r);
    free(cut);
    free(file);
    free_sample(&s);
}

static void missing_input_exits_2(void **state)
{
    fixture *f = *state;
    char *out = path_in(f, "never.pcache"), *missing = path_in(f, "missing.bin");
    char *a = arg("alpha", missing), *want;
    struct stat sb;
    run_result r;

    run(f, &r, pack_tool, "-o", out, "--client", "c", "--client-version", "1", "--ro", a, NULL);
    expect_status(&r, 2);
    assert_true(asprintf(&want, "pcache-pack: cannot read '%s': No such file or directory", missing) > 0);
    expect_contains("pack stderr", r.err, want);
    /* inputs are read before the output is created */
    assert_int_equal(stat(out, &sb), -1);
    result_free(&r);

    run(f, &r, inspect_tool, "verify", missing, NULL);
    expect_status(&r, 2);
    expect_contains("verify stderr", r.err, "No such file or directory");
    expect_contains("verify stderr", r.err, missing);
    result_free(&r);
    free(want);
    free(a);
    free(out);
    free(missing);
}

static void output_error_exits_2(void **state)
{
    fixture *f = *state;
    char *out = path_in(f, "no-such-dir/out.pcache");
    run_result r;

    run(f, &r, pack_tool, "-o", out, "--client", "c", "--client-version", "1", NULL);
    expect_status(&r, 2);
    expect_contains("pack stderr", r.err, "cannot write");
    expect_contains("pack stderr", r.err, out);
    result_free(&r);
    free(out);
}

static void bad_usage_exits_2(void **state)
{
    fixture *f = *state;
    sample s;
    char *out, *a, *a2;
    struct {
        const char *tool;
        const char *args[12];
        const char *message;
    } cases[12];
    size_t n = 0;

    make_sample(f, &s);
    out = s.out;
    a = arg("alpha", s.alpha);
    a2 = arg("alpha", s.bravo);
#define CASE(t, msg, ...) \
    cases[n].tool = t, cases[n].message = msg, memcpy(cases[n].args, (const char *[12]){__VA_ARGS__, NULL}, sizeof cases[n].args), n++
    CASE(pack_tool, "no output file", "--client", "c", "--client-version", "1");
    CASE(pack_tool, "no client version", "-o", out, "--client", "c");
    CASE(pack_tool, "--client-version '1x'", "-o", out, "--client", "c", "--client-version", "1x");
    CASE(pack_tool, "unknown option '--bogus'", "--bogus");
    CASE(pack_tool, "expected NAME=FILE", "-o", out, "--client", "c", "--client-version", "1", "--ro", "alpha");
    CASE(pack_tool, "already has a section named 'alpha'", "-o", out, "--client", "c", "--client-version", "1",
         "--ro", a, "--ro", a2);
    CASE(pack_tool, "alignment 3 of section 'alpha'", "-o", out, "--client", "c", "--client-version", "1",
         "--ro", a, "--align", "alpha=3");
    CASE(pack_tool, "no section is named 'zulu'", "-o", out, "--client", "c", "--client-version", "1", "--ro",
         a, "--skippable", "zulu");
    CASE(pack_tool, "--checksum 'md5'", "-o", out, "--client", "c", "--client-version", "1", "--checksum",
         "md5");
    CASE(inspect_tool, "no command given", NULL);
    CASE(inspect_tool, "unknown command 'frobnicate'", "frobnicate", out);
    CASE(inspect_tool, "verify: expected FILE, got 2 arguments", "verify", out, out);
#undef CASE

    for (size_t i = 0; i < n; i++) {
        const char **v = cases[i].args;
        run_result r;
        run(f, &r, cases[i].tool, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], NULL);
        if (r.status != 2 || !strstr(r.err, cases[i].message))
            fail_msg("case %zu: status %d (expected 2), stderr:\n%s(expected \"%s\")", i, r.status, r.err,
                     cases[i].message);
        expect_contains("stderr", r.err, "--help");
        result_free(&r);
    }
    /* none of these got as far as writing */
    assert_int_equal(access(out, F_OK), -1);
    free(a);
    free(a2);
    free_sample(&s);
}

static void help_exits_0(void **state)
{
    fixture *f = *state;
    run_result r;

    run(f, &r, pack_tool, "--help", NULL);
    expect_status(&r, 0);
    expect_contains("pack --help", r.out, "Usage: pcache-pack -o OUT");
    expect_contains("pack --help", r.out, "--ro NAME=FILE");
    expect_contains("pack --help", r.out, "--align NAME=N");
    result_free(&r);
    run(f, &r, inspect_tool, "--help", NULL);
    expect_status(&r, 0);
    expect_contains("inspect --help", r.out, "verify");
    expect_contains("inspect --help", r.out, "info");
    result_free(&r);
}

/* With the image id fixed, the output depends on the inputs only. */
static void fixed_image_id_is_reproducible(void **state)
{
    fixture *f = *state;
    sample s;
    char *out2 = path_in(f, "again.pcache"), *a, *b;
    const char *outs[2];
    uint8_t *bytes[2];
    size_t sizes[2];
    run_result r;

    make_sample(f, &s);
    a = arg("alpha", s.alpha);
    b = arg("bravo", s.bravo);
    outs[0] = s.out;
    outs[1] = out2;
    for (int i = 0; i < 2; i++) {
        run(f, &r, pack_tool, "-o", outs[i], "--client", "c", "--client-version", "9", "--page-size", "4096",
            "--image-id", "000102030405060708090a0b0c0d0e0f", "--ro", a, "--rw", b, NULL);
        expect_status(&r, 0);
        result_free(&r);
        bytes[i] = read_bytes(outs[i], &sizes[i]);
        assert_non_null(bytes[i]);
    }
    assert_int_equal(sizes[0], sizes[1]);
    assert_memory_equal(bytes[0], bytes[1], sizes[0]);
    run(f, &r, inspect_tool, "info", out2, NULL);
    expect_status(&r, 0);
    expect_contains("info", r.out, "image id         000102030405060708090a0b0c0d0e0f\n");
    result_free(&r);
    free(bytes[0]);
    free(bytes[1]);
    free(a);
    free(b);
    free(out2);
    free_sample(&s);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pack_then_verify_is_valid, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(info_shows_sections_xxh3, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(info_shows_sections_crc32, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(corrupt_section_byte_fails_verify, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(corrupt_structure_byte_fails_verify, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(truncated_file_fails_verify, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(missing_input_exits_2, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(output_error_exits_2, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(bad_usage_exits_2, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(help_exits_0, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(fixed_image_id_is_reproducible, fixture_setup, fixture_teardown),
    };

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s PCACHE_PACK PCACHE_INSPECT [CASE]\n", argv[0]);
        return 2;
    }
    pack_tool = argv[1];
    inspect_tool = argv[2];
    return run_cases(tests, sizeof tests / sizeof tests[0], argc == 4 ? argv[3] : NULL);
}
