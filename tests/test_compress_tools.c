/* SPDX-License-Identifier: BSD-2-Clause */
/* pcache-pack --compress and what pcache-inspect shows of compressed
 * sections, run as a user runs them (tests/tools/tool_run.h).
 *
 * Usage: test_compress_tools PCACHE_PACK PCACHE_INSPECT [CASE] */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pcache/pcache.h"
#include "tool_run.h"

static const char *pack_tool;
static const char *inspect_tool;

#define TEXT_SIZE 60000u
#define NOISE_SIZE 5000u

/* A repetitive text file and an incompressible one in the case's dir. */
static void write_inputs(const fixture *f, uint8_t **text, uint8_t **noise)
{
    char *tp = path_in(f, "text.txt"), *np = path_in(f, "noise.bin");
    uint32_t x = 12345;

    *text = malloc(TEXT_SIZE);
    *noise = malloc(NOISE_SIZE);
    assert_non_null(*text);
    assert_non_null(*noise);
    for (size_t i = 0; i < TEXT_SIZE; i++)
        (*text)[i] = (uint8_t)("line of a table, entry 0123456789\n"[i % 34]);
    for (size_t i = 0; i < NOISE_SIZE; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        (*noise)[i] = (uint8_t)(x >> 9);
    }
    write_bytes(tp, *text, TEXT_SIZE);
    write_bytes(np, *noise, NOISE_SIZE);
    free(tp);
    free(np);
}

/* The ro segment's view of section name, inflated. */
static uint8_t *inflated(pcache_image *img, const char *name, pcache_view *stored)
{
    pcache_segment *seg = pcache_image_segment(img, PCACHE_RO);
    pcache_report r;
    void *buf = NULL;

    assert_non_null(seg);
    assert_int_equal(pcache_segment_find(seg, name, stored, &r), PCACHE_OK);
    if (pcache_segment_inflate_alloc(seg, stored->index, &buf, NULL, &r) != PCACHE_OK)
        fail_msg("inflating '%s': %s", name, r.message);
    return buf;
}

/* --compress NAME (default level) and NAME=0: the file verifies, the
 * sections are flagged and inflate to the input files' bytes. */
static void pack_compresses_ro_sections(void **state)
{
    const fixture *f = *state;
    char *out = path_in(f, "out.pcache"), *text_arg, *noise_arg;
    uint8_t *text, *noise, *got;
    pcache_image img;
    pcache_report r;
    pcache_view v;
    run_result res;

    write_inputs(f, &text, &noise);
    assert_true(asprintf(&text_arg, "text=%s/text.txt", f->dir) > 0);
    assert_true(asprintf(&noise_arg, "noise=%s/noise.bin", f->dir) > 0);
    run(f, &res, pack_tool, "-o", out, "--client", "c", "--client-version", "1", "--ro", text_arg, "--ro",
        noise_arg, "--rx", noise_arg, "--compress", "text", "--compress", "noise=0", NULL);
    expect_status(&res, 0);
    result_free(&res);
    run(f, &res, inspect_tool, "verify", out, NULL);
    expect_status(&res, 0);
    expect_contains("verify stdout", res.out, "format 1.1");
    result_free(&res);

    assert_int_equal(pcache_image_read_path(&img, out, NULL, &r), PCACHE_OK);
    got = inflated(&img, "text", &v);
    assert_int_equal(v.flags, PCACHE_SECTION_COMPRESSED);
    assert_int_equal(v.loaded_size, TEXT_SIZE);
    assert_true(v.size < TEXT_SIZE / 20);
    assert_memory_equal(got, text, TEXT_SIZE);
    pcache_free(got);
    got = inflated(&img, "noise", &v);
    assert_int_equal(v.flags, PCACHE_SECTION_COMPRESSED);
    assert_true(v.size > NOISE_SIZE); /* level 0: stored blocks */
    assert_memory_equal(got, noise, NOISE_SIZE);
    pcache_free(got);
    /* the rx section of the same name is untouched */
    assert_int_equal(pcache_segment_find(pcache_image_segment(&img, PCACHE_RX), "noise", &v, &r), PCACHE_OK);
    assert_int_equal(v.flags, 0);
    assert_memory_equal(v.data, noise, NOISE_SIZE);
    pcache_image_close(&img);
    free(text_arg);
    free(noise_arg);
    free(text);
    free(noise);
    free(out);
}

/* Refusals name the argument and say why; nothing is written. */
static void pack_refuses_what_cannot_be_compressed(void **state)
{
    static const struct {
        const char *arg, *says;
    } cases[] = {
        {"code", "only ro sections"},
        {"text=10", "LEVEL 0 to 9"},
        {"text=", "LEVEL 0 to 9"},
        {"=3", "LEVEL 0 to 9"},
        {"absent", "no section is named 'absent'"},
    };
    const fixture *f = *state;
    char *out = path_in(f, "out.pcache"), *text_arg, *code_arg;
    uint8_t *text, *noise;

    write_inputs(f, &text, &noise);
    assert_true(asprintf(&text_arg, "text=%s/text.txt", f->dir) > 0);
    assert_true(asprintf(&code_arg, "code=%s/noise.bin", f->dir) > 0);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        run_result res;
        run(f, &res, pack_tool, "-o", out, "--client", "c", "--client-version", "1", "--ro", text_arg, "--rx",
            code_arg, "--compress", cases[k].arg, NULL);
        expect_status(&res, 2);
        expect_contains("pack stderr", res.err, cases[k].says);
        expect_contains("pack stderr", res.err, "--compress");
        assert_null(read_bytes(out, NULL));
        result_free(&res);
    }
    free(text_arg);
    free(code_arg);
    free(text);
    free(noise);
    free(out);
}

/* pcache-inspect's section line: the stored size, the loaded size and
 * their ratio for a compressed section; neither extra for a plain one. */
static void inspect_shows_sizes_and_ratio(void **state)
{
    const fixture *f = *state;
    char *out = path_in(f, "out.pcache"), *text_arg, *noise_arg, want[96];
    uint8_t *text, *noise;
    pcache_image img;
    pcache_report r;
    pcache_view v;
    run_result res;
    const char *line;

    write_inputs(f, &text, &noise);
    assert_true(asprintf(&text_arg, "text=%s/text.txt", f->dir) > 0);
    assert_true(asprintf(&noise_arg, "noise=%s/noise.bin", f->dir) > 0);
    run(f, &res, pack_tool, "-o", out, "--client", "c", "--client-version", "1", "--ro", text_arg, "--rx",
        noise_arg, "--compress", "text=9", NULL);
    expect_status(&res, 0);
    result_free(&res);
    assert_int_equal(pcache_image_read_path(&img, out, NULL, &r), PCACHE_OK);
    assert_int_equal(pcache_segment_find(pcache_image_segment(&img, PCACHE_RO), "text", &v, &r), PCACHE_OK);
    snprintf(want, sizeof want, " size=%llu loaded_size=%u ratio=%.2f ", (unsigned long long)v.size, TEXT_SIZE,
             (double)TEXT_SIZE / (double)v.size);
    pcache_image_close(&img);

    run(f, &res, inspect_tool, "sections", out, NULL);
    expect_status(&res, 0);
    expect_contains("sections", res.out, want);
    line = strstr(res.out, "rx:noise");
    assert_non_null(line);
    assert_null(strstr(line, "ratio="));
    assert_null(strstr(line, "loaded_size="));
    result_free(&res);
    free(text_arg);
    free(noise_arg);
    free(text);
    free(noise);
    free(out);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pack_compresses_ro_sections, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(pack_refuses_what_cannot_be_compressed, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(inspect_shows_sizes_and_ratio, fixture_setup, fixture_teardown),
    };

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s PCACHE_PACK PCACHE_INSPECT [CASE]\n", argv[0]);
        return 2;
    }
    pack_tool = argv[1];
    inspect_tool = argv[2];
    return run_cases(tests, sizeof tests / sizeof tests[0], argc == 4 ? argv[3] : NULL);
}
