/* SPDX-License-Identifier: BSD-2-Clause */
/* pcache-inspect, run as the user runs it (tool_run.h), on DynamoRIO's
 * real .dpc files (tests/data), on .dpc files with this project's segments
 * in DR's client slots, on standalone files with relocations, on files
 * with several problems, and on truncated and garbage inputs.  Every
 * --json output is read by jansson (json_doc.h), a parser of its own,
 * and its fields are compared with values the test computes itself from
 * the input's bytes.
 *
 * Usage: inspect_test PCACHE_INSPECT DATA_DIR [CASE] */
#define _GNU_SOURCE
#include <md5.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dpc_build.h"
#include "hostile_dpc.h"
#include "json_doc.h"
#include "pcache/bind.h"
#include "pcache/dpc.h"
#include "pcache/pcache.h"
#include "pcache/reloc.h"
#include "tool_run.h"

static const char *inspect_tool;
static const char *data_dir;

/* ---- helpers ---- */

static char *data_path(const char *name)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", data_dir, name) > 0);
    return p;
}

static uint8_t *read_data(const char *name, size_t *size)
{
    char *p = data_path(name);
    uint8_t *d = read_bytes(p, size);
    if (!d)
        fail_msg("cannot read %s", p);
    free(p);
    return d;
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
    for (unsigned i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static void hex_of(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = '\0';
}

static void md5_hex(const uint8_t *p, size_t n, char out[33])
{
    MD5_CTX ctx;
    uint8_t d[16];
    MD5Init(&ctx);
    MD5Update(&ctx, p, n);
    MD5Final(d, &ctx);
    hex_of(d, 16, out);
}

/* Runs inspect with --json and the arguments, expects status, returns the
 * parsed output with the common fields checked. */
static json_t *inspect_json(const fixture *f, int status, const char *command, ...)
{
    const char *args[32];
    size_t n = 0;
    va_list ap;
    run_result r;
    json_t *v;

    args[n++] = command;
    args[n++] = "--json";
    va_start(ap, command);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    run_argv(f, &r, inspect_tool, args);
    expect_status(&r, status);
    v = json_of(&r);
    assert_int_equal(juint(v, "schema_version"), 1);
    assert_string_equal(jstr(v, "command"), command);
    assert_int_equal(jbool(v, "valid"), status == 0 || strcmp(command, "relocs") == 0);
    result_free(&r);
    return v;
}

/* The bytes of a text dump (the "00000000  xx xx ...  |...|" lines). */
static uint8_t *parse_dump(const char *text, size_t *size)
{
    uint8_t *out = malloc(strlen(text) / 3 + 1);
    size_t n = 0;
    const char *line = text;

    assert_non_null(out);
    for (; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : line + strlen(line)) {
        const char *p = line + 10;
        unsigned long off;
        char *end;
        if (strlen(line) < 10 || line[8] != ' ' || line[9] != ' ')
            continue;
        off = strtoul(line, &end, 16);
        if (end != line + 8)
            continue;
        (void)off;
        for (int i = 0; i < 16; i++) {
            unsigned b;
            if (i == 8)
                p++;
            if (p[0] == ' ' || sscanf(p, "%2x", &b) != 1)
                break;
            out[n++] = (uint8_t)b;
            p += 3;
        }
    }
    *size = n;
    return out;
}

/* ---- a synthetic .dpc file with this project's segments: dpc_build.h ---- */

static const char sample_client[] = "/opt/pcache-sample/libclient.so";

static char *write_dpc(const fixture *f, const char *name, const image_data *d)
{
    dpc_file dpc;
    char *path = path_in(f, name);
    make_dpc(&dpc, d, sample_client, strlen(sample_client));
    write_bytes(path, dpc.bytes, dpc.size);
    free(dpc.bytes);
    return path;
}

/* ---- a standalone file ---- */

typedef struct standalone {
    uint8_t alpha[11], data_ro[32], bravo[5000], data_rw[24];
} standalone;

static char *write_standalone(const fixture *f, const char *name, standalone *s)
{
    pcache_identity id;
    pcache_builder *b;
    pcache_report rep;
    char *path = path_in(f, name);

    memcpy(s->alpha, "hello world", 11);
    memcpy(s->data_ro, pattern(sizeof s->data_ro, 5), sizeof s->data_ro);
    memcpy(s->bravo, pattern(sizeof s->bravo, 6), sizeof s->bravo);
    memcpy(s->data_rw, pattern(sizeof s->data_rw, 7), sizeof s->data_rw);
    assert_int_equal(pcache_identity_init(&id, "inspect-test", 9), PCACHE_OK);
    id.page_size = 4096;
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "alpha", s->alpha, sizeof s->alpha, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "data", s->data_ro, sizeof s->data_ro, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "bravo", s->bravo, sizeof s->bravo, 64, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "data", s->data_rw, sizeof s->data_rw, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_segment_flags(b, PCACHE_RX, PCACHE_SEGMENT_PAGE_ROUNDED), PCACHE_OK);
    if (pcache_file_write_path(b, path, &rep) != PCACHE_OK)
        fail_msg("writing %s: %s", path, rep.message);
    pcache_builder_free(b);
    return path;
}

/* File offset of a section, from `sections --json`. */
static uint64_t section_file_offset(const fixture *f, const char *path, const char *qualified)
{
    json_t *v = inspect_json(f, 0, "sections", path, NULL);
    const json_t *list = jget(v, "sections", JSON_ARRAY);
    uint64_t off = UINT64_MAX;
    for (size_t i = 0; i < json_array_size(list); i++)
        if (strcmp(jstr(json_array_get(list, i), "qualified_name"), qualified) == 0)
            off = juint(json_array_get(list, i), "file_offset");
    if (off == UINT64_MAX)
        fail_msg("sections of %s has no %s", path, qualified);
    json_decref(v);
    return off;
}

/* ---- DynamoRIO's real files ---- */

static void dpc_info_matches_the_bytes(const fixture *f, const char *name, const char *client)
{
    size_t size;
    uint8_t *bytes = read_data(name, &size);
    char *path = data_path(name), file_md5[33], header_md5[33];
    json_t *v;
    run_result r;
    uint64_t ro_len = le(bytes + 264, 8), rx_len = le(bytes + 208, 8), rw_len = le(bytes + 128, 8);
    uint64_t list_len = client ? strlen(client) + 2 : 1;

    md5_hex(bytes, size - PCACHE_DPC_FOOTER_LEN, file_md5);
    md5_hex(bytes, PCACHE_DPC_HEADER_LEN, header_md5);

    v = inspect_json(f, 0, "info", path, NULL);
    assert_string_equal(jstr(v, "kind"), "dpc");
    assert_int_equal(juint(v, "size"), size);
    assert_int_equal(juint(v, "dr.header.version"), 10);
    assert_int_equal(juint(v, "dr.header.header_len"), PCACHE_DPC_HEADER_LEN);
    assert_int_equal(juint(v, "dr.header.data_len"), size - PCACHE_DPC_HEADER_LEN);
    assert_int_equal(juint(v, "dr.header.instrument_ro_len"), ro_len);
    assert_int_equal(juint(v, "dr.header.instrument_rx_len"), rx_len);
    assert_int_equal(juint(v, "dr.header.instrument_rw_len"), rw_len);
    assert_int_equal(juint(v, "dr.header.option_string_len"), le(bytes + 272, 8));
    assert_int_equal(jhex(v, "dr.header.module.base"), le(bytes + 32, 8));
    assert_int_equal(jcount(v, "dr.client_libraries"), client ? 1 : 0);
    if (client)
        assert_string_equal(jstr(v, "dr.client_libraries[0]"), client);
    assert_int_equal(juint(v, "dr.client_list_len"), list_len);
    /* the slots: where DR's lengths put them, DR's client list excluded */
    assert_string_equal(jstr(v, "dr.client_slots[0].name"), "dr:ro");
    assert_int_equal(juint(v, "dr.client_slots[0].file_offset"), PCACHE_DPC_HEADER_LEN + le(bytes + 272, 8) + list_len);
    assert_int_equal(juint(v, "dr.client_slots[0].size"), ro_len - list_len);
    assert_int_equal(juint(v, "dr.client_slots[1].size"), rx_len);
    assert_int_equal(juint(v, "dr.client_slots[2].size"), rw_len);
    assert_int_equal(juint(v, "dr.client_slots[1].file_offset") % 4096, 0);
    assert_string_equal(jstr(v, "dr.footer.file_md5.stored"), file_md5);
    assert_string_equal(jstr(v, "dr.footer.file_md5.computed"), file_md5);
    assert_true(jbool(v, "dr.footer.file_md5.match"));
    assert_string_equal(jstr(v, "dr.footer.header_md5.stored"), header_md5);
    assert_true(jbool(v, "dr.footer.header_md5.match"));
    assert_int_equal(juint(v, "dr.footer.file_offset"), size - PCACHE_DPC_FOOTER_LEN);
    /* the regions tile the file */
    {
        const json_t *regions = jget(v, "dr.regions", JSON_ARRAY);
        uint64_t at = 0;
        assert_int_equal(json_array_size(regions), PCACHE_DPC_REGION_COUNT);
        for (size_t i = 0; i < json_array_size(regions); i++) {
            assert_int_equal(juint(json_array_get(regions, i), "file_offset"), at);
            at += juint(json_array_get(regions, i), "size");
        }
        assert_int_equal(at, size);
    }
    assert_int_equal(juint(v, "segment_count"), 0); /* the sample client's bytes are opaque */
    json_decref(v);

    run(f, &r, inspect_tool, "info", path, NULL);
    expect_status(&r, 0);
    if (client)
        expect_contains("info", r.out, client);
    {
        char want[64];
        snprintf(want, sizeof want, "instrument_ro_len            %llu (", (unsigned long long)ro_len);
        expect_contains("info", r.out, want);
        snprintf(want, sizeof want, "instrument_rx_len            %llu (", (unsigned long long)rx_len);
        expect_contains("info", r.out, want);
    }
    expect_contains("info", r.out, file_md5);
    expect_contains("info", r.out, "match            yes");
    expect_not_contains("info", r.out, "match            no");
    assert_string_equal(r.err, "");
    result_free(&r);

    run(f, &r, inspect_tool, "verify", path, NULL);
    expect_status(&r, 0);
    expect_contains("verify", r.out, "is valid: DynamoRIO .dpc file version 10");
    expect_contains("verify", r.out, "header and file MD5 match");
    result_free(&r);
    free(path);
    free(bytes);
}

static void dpc_info_real_files(void **state)
{
    dpc_info_matches_the_bytes(*state, "hello-none.dpc", NULL);
    dpc_info_matches_the_bytes(*state, "hello-ro.dpc", "/opt/pcache-sample/libsample_ro.so");
    dpc_info_matches_the_bytes(*state, "hello-rorx.dpc", "/opt/pcache-sample/libsample_rorx.so");
}

/* The sample client's payloads (tests/data/README.md). */
static void dpc_dump_and_extract_slots(void **state)
{
    fixture *f = *state;
    char *path = data_path("hello-rorx.dpc"), *out = path_in(f, "rx.bin");
    run_result r;
    size_t n;
    uint8_t *got, want_rx[4096], want_ro[64];
    json_t *v;
    char *hex = malloc(2 * sizeof want_rx + 1);

    for (size_t i = 0; i < sizeof want_rx; i++)
        want_rx[i] = (uint8_t)(0xC3 ^ (i & 0xff));
    memcpy(want_ro, "PCACHE-SAMPLE-RO", 16);
    for (size_t i = 16; i < sizeof want_ro; i++)
        want_ro[i] = (uint8_t)i;

    run(f, &r, inspect_tool, "dump", path, "dr:rx", NULL);
    expect_status(&r, 0);
    got = parse_dump(r.out, &n);
    assert_int_equal(n, sizeof want_rx);
    assert_memory_equal(got, want_rx, sizeof want_rx);
    free(got);
    result_free(&r);

    /* a window, with its offsets from the slot's start */
    run(f, &r, inspect_tool, "dump", path, "dr:rx", "--offset", "0xf00", "--length", "40", NULL);
    expect_status(&r, 0);
    expect_contains("dump", r.out, "\n00000f00  ");
    expect_contains("dump", r.out, "\n00000f20  ");
    got = parse_dump(r.out, &n);
    assert_int_equal(n, 40);
    assert_memory_equal(got, want_rx + 0xf00, 40);
    free(got);
    result_free(&r);

    /* DR's client list comes first in the ro slot; dr:ro starts after it */
    run(f, &r, inspect_tool, "dump", path, "dr:ro", "--length", "64", NULL);
    expect_status(&r, 0);
    got = parse_dump(r.out, &n);
    assert_int_equal(n, 64);
    assert_memory_equal(got, want_ro, 64);
    free(got);
    result_free(&r);

    v = inspect_json(f, 0, "dump", path, "dr:rx", NULL);
    hex_of(want_rx, sizeof want_rx, hex);
    assert_string_equal(jstr(v, "hex"), hex);
    assert_string_equal(jstr(v, "section.qualified_name"), "dr:rx");
    assert_int_equal(juint(v, "section.size"), 4096);
    assert_int_equal(juint(v, "length"), 4096);
    json_decref(v);

    run(f, &r, inspect_tool, "extract", path, "dr:rx", "-o", out, NULL);
    expect_status(&r, 0);
    result_free(&r);
    got = read_bytes(out, &n);
    assert_non_null(got);
    assert_int_equal(n, sizeof want_rx);
    assert_memory_equal(got, want_rx, n);
    free(got);

    /* to stdout, raw */
    run(f, &r, inspect_tool, "extract", path, "dr:ro", "--length", "64", NULL);
    expect_status(&r, 0);
    assert_int_equal(r.out_size, 64);
    assert_memory_equal(r.out, want_ro, 64);
    result_free(&r);

    v = inspect_json(f, 0, "extract", path, "dr:rx", "--offset", "16", "-o", out, NULL);
    assert_int_equal(juint(v, "length"), 4096 - 16);
    assert_string_equal(jstr(v, "output"), out);
    json_decref(v);
    got = read_bytes(out, &n);
    assert_int_equal(n, 4096 - 16);
    assert_memory_equal(got, want_rx + 16, n);
    free(got);
    free(hex);
    free(out);
    free(path);
}

static char *write_modified(const fixture *f, const char *name, const uint8_t *bytes, size_t size, size_t at,
                            uint8_t xor_with)
{
    char *path = path_in(f, name);
    uint8_t *copy = malloc(size);
    assert_non_null(copy);
    memcpy(copy, bytes, size);
    copy[at] ^= xor_with;
    write_bytes(path, copy, size);
    free(copy);
    return path;
}

static void dpc_corrupt_bytes_fail_the_digests(void **state)
{
    fixture *f = *state;
    size_t size;
    uint8_t *bytes = read_data("hello-rorx.dpc", &size);
    uint64_t rx = 280 + le(bytes + 272, 8) + le(bytes + 264, 8) + le(bytes + 248, 8) + le(bytes + 240, 8) +
                  le(bytes + 232, 8) + le(bytes + 224, 8) + le(bytes + 256, 8) + le(bytes + 200, 8);
    char *path;
    run_result r;
    json_t *v;

    /* a client byte: only the whole-file digest covers it */
    assert_int_equal(rx % 4096, 0);
    path = write_modified(f, "client-byte.dpc", bytes, size, (size_t)rx + 1234, 0x40);
    run(f, &r, inspect_tool, "verify", path, NULL);
    expect_status(&r, 1);
    expect_contains("verify", r.err, "is invalid");
    expect_contains("verify", r.err, "MD5 of the whole file before the footer");
    expect_contains("verify", r.err, "[PCACHE_E_DPC_DIGEST]");
    expect_not_contains("verify", r.err, "MD5 of the header");
    assert_string_equal(r.out, "");
    result_free(&r);
    v = inspect_json(f, 1, "verify", path, NULL);
    assert_int_equal(juint(v, "problem_count"), 1);
    assert_string_equal(jstr(v, "problems[0].status"), "PCACHE_E_DPC_DIGEST");
    assert_int_equal(juint(v, "problems[0].file_offset"), size - PCACHE_DPC_FOOTER_LEN);
    json_decref(v);
    /* info still shows everything, and which digest failed */
    v = inspect_json(f, 1, "info", path, NULL);
    assert_false(jbool(v, "dr.footer.file_md5.match"));
    assert_true(jbool(v, "dr.footer.header_md5.match"));
    assert_string_equal(jstr(v, "problems[0].status"), "PCACHE_E_DPC_DIGEST");
    json_decref(v);
    /* and the bytes are not handed out as if they were good */
    run(f, &r, inspect_tool, "dump", path, "dr:rx", NULL);
    expect_status(&r, 1);
    expect_contains("dump", r.err, "PCACHE_E_DPC_DIGEST");
    result_free(&r);
    free(path);

    /* a header byte (build_number): both digests */
    path = write_modified(f, "header-byte.dpc", bytes, size, 28, 0x01);
    run(f, &r, inspect_tool, "verify", path, NULL);
    expect_status(&r, 1);
    expect_contains("verify", r.err, "2 problems");
    expect_contains("verify", r.err, "MD5 of the header");
    expect_contains("verify", r.err, "MD5 of the whole file before the footer");
    result_free(&r);
    free(path);
    free(bytes);
}

static void dpc_unknown_version_is_not_misparsed(void **state)
{
    fixture *f = *state;
    size_t size;
    uint8_t *bytes = read_data("hello-ro.dpc", &size);
    char *path;
    run_result r;
    json_t *v;

    path = write_modified(f, "v11.dpc", bytes, size, 4, 0x01); /* version 10 (0x0a) -> 11 */
    run(f, &r, inspect_tool, "info", path, NULL);
    expect_status(&r, 1);
    assert_string_equal(r.out, ""); /* no field read past the version */
    expect_contains("info", r.err, "version this parser does not know");
    expect_contains("info", r.err, "expected 10 (0xa), found 11 (0xb)");
    expect_contains("info", r.err, "[PCACHE_E_DPC_VERSION]");
    result_free(&r);
    v = inspect_json(f, 1, "info", path, NULL);
    assert_null(json_at(v, "dr"));
    assert_string_equal(jstr(v, "problems[0].status"), "PCACHE_E_DPC_VERSION");
    assert_int_equal(juint(v, "problems[0].file_offset"), 4);
    json_decref(v);
    v = inspect_json(f, 1, "verify", path, NULL);
    assert_int_equal(juint(v, "problem_count"), 1);
    assert_string_equal(jstr(v, "problems[0].status"), "PCACHE_E_DPC_VERSION");
    json_decref(v);
    free(path);

    /* a 32-bit DR's layout differs past the version: refused the same way */
    path = write_modified(f, "x86.dpc", bytes, size, 24, PCACHE_DPC_FLAG_X86_64);
    run(f, &r, inspect_tool, "verify", path, NULL);
    expect_status(&r, 1);
    expect_contains("verify", r.err, "lack X86_64");
    expect_contains("verify", r.err, "[PCACHE_E_DPC_VERSION]");
    result_free(&r);
    free(path);

    /* a length that does not add up */
    path = write_modified(f, "layout.dpc", bytes, size, 264, 0x08); /* instrument_ro_len + 8 */
    run(f, &r, inspect_tool, "verify", path, NULL);
    expect_status(&r, 1);
    expect_contains("verify", r.err, "[PCACHE_E_DPC_LAYOUT]");
    result_free(&r);
    free(path);
    free(bytes);
}

/* ---- .dpc files with segments ---- */

static void dpc_segments_are_inspectable(void **state)
{
    fixture *f = *state;
    image_data d;
    char *path, *out = path_in(f, "code.bin");
    run_result r;
    json_t *v;
    size_t n;
    uint8_t *got;
    dpc_file dpc;
    static const struct {
        const char *q;
        size_t offset_in_image; /* in image_data */
        size_t size;
    } secs[] = {{"ro:table", offsetof(image_data, table), 64},
                {"ro:data", offsetof(image_data, ro_data), 13},
                {NULL, 0, PCACHE_MANIFEST_SIZE}, /* ro:.image, the manifest */
                {"rx:code", offsetof(image_data, code), 100},
                {"rw:data", offsetof(image_data, rw_data), 16}};

    fill_image_data(&d);
    path = write_dpc(f, "segments.dpc", &d);
    make_dpc(&dpc, &d, sample_client, strlen(sample_client));

    run(f, &r, inspect_tool, "verify", path, NULL);
    expect_status(&r, 0);
    expect_contains("verify", r.out, "3 pcache segments, 5 sections");
    result_free(&r);

    v = inspect_json(f, 0, "info", path, NULL);
    assert_int_equal(juint(v, "segment_count"), 3);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        char p[64];
        snprintf(p, sizeof p, "segments[%d].slot", c);
        assert_string_equal(jstr(v, p), pcache_class_name((pcache_class)c));
        snprintf(p, sizeof p, "segments[%d].file_offset", c);
        assert_int_equal(juint(v, p), dpc.seg_at[c]);
        snprintf(p, sizeof p, "segments[%d].client_name", c);
        assert_string_equal(jstr(v, p), "inspect-test");
        snprintf(p, sizeof p, "segments[%d].at_stated_offset", c);
        assert_true(jbool(v, p));
    }
    assert_int_equal(juint(v, "segments[2].section_count"), 1);
    assert_string_equal(jstr(v, "segments[1].flag_names[0]"), "page_rounded");
    json_decref(v);

    /* every section's bytes are where sections says, and dump shows them */
    v = inspect_json(f, 0, "sections", path, NULL);
    assert_int_equal(jcount(v, "sections"), 5);
    assert_int_equal(jcount(v, "dr_slots"), 3);
    for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++) {
        char p[64];
        const uint8_t *want = (const uint8_t *)&d + secs[i].offset_in_image;
        uint64_t off;
        if (!secs[i].q) {
            snprintf(p, sizeof p, "sections[%zu].qualified_name", i);
            assert_string_equal(jstr(v, p), "ro:" PCACHE_MANIFEST_SECTION);
            continue;
        }
        snprintf(p, sizeof p, "sections[%zu].qualified_name", i);
        assert_string_equal(jstr(v, p), secs[i].q);
        snprintf(p, sizeof p, "sections[%zu].file_offset", i);
        off = juint(v, p);
        assert_memory_equal(dpc.bytes + off, want, secs[i].size);
        run(f, &r, inspect_tool, "dump", path, secs[i].q, NULL);
        expect_status(&r, 0);
        got = parse_dump(r.out, &n);
        assert_int_equal(n, secs[i].size);
        assert_memory_equal(got, want, n);
        free(got);
        result_free(&r);
    }
    json_decref(v);

    /* "data" is in ro and rw: the plain name is ambiguous */
    run(f, &r, inspect_tool, "dump", path, "data", NULL);
    expect_status(&r, 2);
    expect_contains("dump", r.err, "ambiguous");
    expect_contains("dump", r.err, "ro:data");
    expect_contains("dump", r.err, "rw:data");
    assert_string_equal(r.out, "");
    result_free(&r);
    /* "code" is not */
    run(f, &r, inspect_tool, "extract", path, "code", "-o", out, NULL);
    expect_status(&r, 0);
    result_free(&r);
    got = read_bytes(out, &n);
    assert_int_equal(n, sizeof d.code);
    assert_memory_equal(got, d.code, n);
    free(got);
    free(dpc.bytes);
    free(out);
    free(path);
}

static void dpc_lists_every_problem(void **state)
{
    fixture *f = *state;
    image_data d;
    dpc_file dpc;
    char *path = path_in(f, "two-bad.dpc");
    run_result r;
    json_t *v;
    uint64_t table, rw_data;

    fill_image_data(&d);
    make_dpc(&dpc, &d, sample_client, strlen(sample_client));
    write_bytes(path, dpc.bytes, dpc.size);
    table = section_file_offset(f, path, "ro:table");
    rw_data = section_file_offset(f, path, "rw:data");
    dpc.bytes[table + 5] ^= 0x10;
    dpc.bytes[rw_data + 2] ^= 0x10;

    /* with DR's digests repaired: the two sections, nothing else */
    fix_dpc_digests(dpc.bytes, dpc.size);
    write_bytes(path, dpc.bytes, dpc.size);
    run(f, &r, inspect_tool, "verify", path, NULL);
    expect_status(&r, 1);
    expect_contains("verify", r.err, "2 problems");
    expect_contains("verify", r.err, "ro segment: section 'table': section checksum mismatch");
    expect_contains("verify", r.err, "rw segment: section 'data': section checksum mismatch");
    expect_not_contains("verify", r.err, "MD5");
    result_free(&r);
    v = inspect_json(f, 1, "verify", path, NULL);
    assert_int_equal(juint(v, "problem_count"), 2);
    assert_string_equal(jstr(v, "problems[0].class"), "ro");
    assert_string_equal(jstr(v, "problems[0].section"), "table");
    assert_int_equal(juint(v, "problems[0].file_offset"), table);
    assert_int_equal(juint(v, "problems[0].segment_offset"), table - dpc.seg_at[PCACHE_RO]);
    assert_string_equal(jstr(v, "problems[1].class"), "rw");
    assert_int_equal(juint(v, "problems[1].file_offset"), rw_data);
    assert_int_equal(jhex(v, "problems[1].expected"), pcache_checksum(PCACHE_CHECKSUM_XXH3_64, d.rw_data, sizeof d.rw_data));
    assert_int_equal(jhex(v, "problems[1].found"), pcache_checksum(PCACHE_CHECKSUM_XXH3_64, dpc.bytes + rw_data, sizeof d.rw_data));
    json_decref(v);

    /* as DR left it: the file digest too */
    dpc.bytes[dpc.size - PCACHE_DPC_FOOTER_LEN] ^= 0xff;
    write_bytes(path, dpc.bytes, dpc.size);
    run(f, &r, inspect_tool, "verify", path, NULL);
    expect_status(&r, 1);
    expect_contains("verify", r.err, "3 problems");
    expect_contains("verify", r.err, "MD5 of the whole file");
    result_free(&r);
    free(dpc.bytes);
    free(path);
}

/* Strings from a file reach JSON escaped and text without control bytes. */
static void dpc_strings_are_escaped(void **state)
{
    fixture *f = *state;
    static const char client[] = "/opt/we\"ird\\path\x01\x7f\xff.so";
    image_data d;
    dpc_file dpc;
    char *path = path_in(f, "odd\"name\n.dpc");
    run_result r;
    json_t *v;

    fill_image_data(&d);
    make_dpc(&dpc, &d, client, sizeof client - 1);
    write_bytes(path, dpc.bytes, dpc.size);
    v = inspect_json(f, 0, "info", path, NULL);
    assert_int_equal(jstrlen(v, "dr.client_libraries[0]"), sizeof client - 1);
    assert_memory_equal(jstr(v, "dr.client_libraries[0]"), client, sizeof client - 1);
    assert_string_equal(jstr(v, "file"), path);
    json_decref(v);
    run(f, &r, inspect_tool, "info", path, NULL);
    expect_status(&r, 0);
    expect_contains("info", r.out, "/opt/we\"ird\\x5cpath\\x01\\x7f\\xff.so");
    assert_null(memchr(r.out, 0x01, r.out_size));
    result_free(&r);
    free(dpc.bytes);
    free(path);
}

/* ---- standalone files ---- */

static void standalone_lists_every_problem(void **state)
{
    fixture *f = *state;
    standalone s;
    char *path = write_standalone(f, "good.pcache", &s), *bad;
    uint64_t alpha = section_file_offset(f, path, "ro:alpha"), bravo = section_file_offset(f, path, "rx:bravo");
    uint64_t rw = section_file_offset(f, path, "rw:data");
    size_t size;
    uint8_t *bytes = read_bytes(path, &size);
    run_result r;
    json_t *v;

    assert_non_null(bytes);
    bad = path_in(f, "bad.pcache");
    bytes[alpha + 3] ^= 1;
    bytes[bravo + 4000] ^= 1;
    write_bytes(bad, bytes, size);
    run(f, &r, inspect_tool, "verify", bad, NULL);
    expect_status(&r, 1);
    expect_contains("verify", r.err, "is invalid: 2 problems:");
    expect_contains("verify", r.err, "ro segment: section 'alpha': section checksum mismatch");
    expect_contains("verify", r.err, "rx segment: section 'bravo': section checksum mismatch");
    result_free(&r);
    v = inspect_json(f, 1, "verify", bad, NULL);
    assert_int_equal(juint(v, "problem_count"), 2);
    assert_int_equal(juint(v, "sections_checked"), 4);
    assert_string_equal(jstr(v, "problems[0].class"), "ro");
    assert_int_equal(juint(v, "problems[0].file_offset"), alpha);
    assert_string_equal(jstr(v, "problems[1].class"), "rx");
    assert_string_equal(jstr(v, "problems[1].section"), "bravo");
    assert_int_equal(juint(v, "problems[1].file_offset"), bravo);
    json_decref(v);

    /* a broken file header checksum does not hide the segments: they are
     * located through its (still plausible) offsets */
    bytes[alpha + 3] ^= 1;
    bytes[bravo + 4000] ^= 1;
    bytes[40] ^= 0x80; /* the image id: fails the header checksum */
    bytes[rw + 1] ^= 0x02;
    write_bytes(bad, bytes, size);
    v = inspect_json(f, 1, "verify", bad, NULL);
    assert_int_equal(juint(v, "problem_count"), 2);
    assert_string_equal(jstr(v, "problems[0].status"), "PCACHE_E_FILE_HEADER_CHECKSUM");
    assert_string_equal(jstr(v, "problems[1].status"), "PCACHE_E_SECTION_CHECKSUM");
    assert_string_equal(jstr(v, "problems[1].class"), "rw");
    json_decref(v);

    /* padding and the footer, each on its own */
    bytes[40] ^= 0x80;
    bytes[rw + 1] ^= 0x02;
    bytes[200] = 0x11;           /* after the file header */
    bytes[size - 1] ^= 0x01;     /* footer checksum */
    bytes[bravo + 5000 + 16 + 2] = 7; /* rx: page-rounding after its one trailer entry */
    write_bytes(bad, bytes, size);
    run(f, &r, inspect_tool, "verify", bad, NULL);
    expect_status(&r, 1);
    expect_contains("verify", r.err, "3 problems");
    expect_contains("verify", r.err, "file: padding after the file header is not zero");
    expect_contains("verify", r.err, "file: footer checksum");
    expect_contains("verify", r.err, "rx segment: padding after the checksum trailer is not zero");
    result_free(&r);
    free(bytes);
    free(bad);
    free(path);
}

static void dump_checks_its_range(void **state)
{
    fixture *f = *state;
    standalone s;
    char *path = write_standalone(f, "s.pcache", &s);
    run_result r;
    size_t n;
    uint8_t *got;

    run(f, &r, inspect_tool, "dump", path, "alpha", "--offset", "2", "--length", "5", NULL);
    expect_status(&r, 0);
    expect_contains("dump", r.out, "ro:alpha: 11 bytes at file offset ");
    expect_contains("dump", r.out, "|llo w|");
    got = parse_dump(r.out, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(got, s.alpha + 2, 5);
    free(got);
    result_free(&r);

    run(f, &r, inspect_tool, "dump", path, "rx:bravo", "--offset=4990", NULL);
    expect_status(&r, 0);
    got = parse_dump(r.out, &n);
    assert_int_equal(n, 10);
    assert_memory_equal(got, s.bravo + 4990, 10);
    free(got);
    result_free(&r);

    /* the end itself is a valid, empty range */
    run(f, &r, inspect_tool, "dump", path, "ro:alpha", "--offset", "11", NULL);
    expect_status(&r, 0);
    got = parse_dump(r.out, &n);
    assert_int_equal(n, 0);
    free(got);
    result_free(&r);

    run(f, &r, inspect_tool, "dump", path, "ro:alpha", "--offset", "12", NULL);
    expect_status(&r, 2);
    expect_contains("dump", r.err, "--offset 12 (0xc) is past the end of ro:alpha, which has 11 bytes");
    assert_string_equal(r.out, "");
    result_free(&r);
    run(f, &r, inspect_tool, "extract", path, "ro:alpha", "--offset", "4", "--length", "8", NULL);
    expect_status(&r, 2);
    expect_contains("extract", r.err, "--length 8 from offset 4 runs past the end of ro:alpha");
    expect_contains("extract", r.err, "at most 7 bytes");
    assert_int_equal(r.out_size, 0);
    result_free(&r);
    run(f, &r, inspect_tool, "dump", path, "ro:alpha", "--length", "-1", NULL);
    expect_status(&r, 2);
    expect_contains("dump", r.err, "--length '-1' is not a number");
    result_free(&r);

    /* names */
    run(f, &r, inspect_tool, "dump", path, "data", NULL);
    expect_status(&r, 2);
    expect_contains("dump", r.err, "section name 'data' is ambiguous");
    expect_contains("dump", r.err, "(ro:data, rw:data)");
    result_free(&r);
    run(f, &r, inspect_tool, "dump", path, "rw:data", NULL);
    expect_status(&r, 0);
    got = parse_dump(r.out, &n);
    assert_int_equal(n, sizeof s.data_rw);
    assert_memory_equal(got, s.data_rw, n);
    free(got);
    result_free(&r);
    run(f, &r, inspect_tool, "dump", path, "zulu", NULL);
    expect_status(&r, 2);
    expect_contains("dump", r.err, "has no section 'zulu'");
    result_free(&r);
    run(f, &r, inspect_tool, "dump", path, "dr:rx", NULL);
    expect_status(&r, 2);
    expect_contains("dump", r.err, "is not a .dpc file");
    result_free(&r);
    free(path);
}

/* ---- compressed sections ---- */

#define TEXT_SIZE 20000u

static char *write_compressed(const fixture *f, const char *name, uint8_t *text)
{
    pcache_identity id;
    pcache_builder *b;
    pcache_report rep;
    char *path = path_in(f, name);

    for (size_t i = 0; i < TEXT_SIZE; i++)
        text[i] = (uint8_t)("entry 0123456789 of a table\n"[i % 28] ^ (i % 997 == 0));
    assert_int_equal(pcache_identity_init(&id, "inspect-test", 2), PCACHE_OK);
    id.page_size = 4096;
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "text", text, TEXT_SIZE, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "plain", "plain bytes", 11, 1, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_compression(b, PCACHE_RO, "text", PCACHE_COMPRESS_DEFAULT), PCACHE_OK);
    if (pcache_file_write_path(b, path, &rep) != PCACHE_OK)
        fail_msg("writing %s: %s", path, rep.message);
    pcache_builder_free(b);
    return path;
}

/* Puts v, big-endian (a trailer checksum), at p. */
static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void compressed_sections_inflate(void **state)
{
    fixture *f = *state;
    uint8_t *text = malloc(TEXT_SIZE), *got, *bytes;
    char *path = write_compressed(f, "c.pcache", text), *bad = path_in(f, "bad.pcache"), *out = path_in(f, "t.bin");
    json_t *v;
    run_result r;
    size_t n, size;
    uint64_t at, stored, seg = 4096, trailer;

    v = inspect_json(f, 0, "sections", path, NULL);
    assert_string_equal(jstr(v, "sections[0].qualified_name"), "ro:text");
    assert_string_equal(jstr(v, "sections[0].flag_names[0]"), "compressed");
    assert_int_equal(juint(v, "sections[0].loaded_size"), TEXT_SIZE);
    stored = juint(v, "sections[0].size");
    at = juint(v, "sections[0].file_offset");
    assert_true(stored < TEXT_SIZE / 4);
    assert_int_equal(juint(v, "sections[1].loaded_size"), 11);
    json_decref(v);

    /* dump and extract give what the section inflates to, or the stream */
    run(f, &r, inspect_tool, "dump", path, "text", "--offset", "19990", NULL);
    expect_status(&r, 0);
    expect_contains("dump", r.out, "20000 inflated bytes");
    got = parse_dump(r.out, &n);
    assert_int_equal(n, 10);
    assert_memory_equal(got, text + 19990, 10);
    free(got);
    result_free(&r);
    run(f, &r, inspect_tool, "extract", path, "ro:text", "-o", out, NULL);
    expect_status(&r, 0);
    result_free(&r);
    got = read_bytes(out, &n);
    assert_int_equal(n, TEXT_SIZE);
    assert_memory_equal(got, text, n);
    free(got);
    bytes = read_bytes(path, &size);
    run(f, &r, inspect_tool, "extract", path, "ro:text", "--stored", NULL);
    expect_status(&r, 0);
    assert_int_equal(r.out_size, stored);
    assert_memory_equal(r.out, bytes + at, stored);
    result_free(&r);

    /* a stream byte changed and its stored checksum re-signed: the library
     * opens the file (resurrect does not inflate), verify does not pass it */
    trailer = seg + le(bytes + seg + 48, 8);
    bytes[at + stored / 2] ^= 0x55;
    put_be64(bytes + trailer, pcache_checksum(PCACHE_CHECKSUM_XXH3_64, bytes + at, stored));
    write_bytes(bad, bytes, size);
    run(f, &r, inspect_tool, "info", bad, NULL);
    expect_status(&r, 0);
    result_free(&r);
    v = inspect_json(f, 1, "verify", bad, NULL);
    assert_int_equal(juint(v, "problem_count"), 1);
    assert_string_equal(jstr(v, "problems[0].section"), "text");
    assert_true(strcmp(jstr(v, "problems[0].status"), "PCACHE_E_INFLATE") == 0 ||
                strcmp(jstr(v, "problems[0].status"), "PCACHE_E_SECTION_CHECKSUM") == 0);
    json_decref(v);
    run(f, &r, inspect_tool, "dump", bad, "text", NULL);
    expect_status(&r, 1);
    expect_contains("dump", r.err, "section 'text'");
    result_free(&r);
    run(f, &r, inspect_tool, "dump", bad, "text", "--stored", NULL);
    expect_status(&r, 0);
    result_free(&r);

    /* the stream intact, its raw checksum (of the inflated bytes) wrong */
    bytes[at + stored / 2] ^= 0x55;
    put_be64(bytes + trailer, pcache_checksum(PCACHE_CHECKSUM_XXH3_64, bytes + at, stored));
    put_be64(bytes + trailer + 8, 0x1234);
    write_bytes(bad, bytes, size);
    run(f, &r, inspect_tool, "verify", bad, NULL);
    expect_status(&r, 1);
    expect_contains("verify", r.err, "section 'text'");
    expect_contains("verify", r.err, "inflated");
    expect_contains("verify", r.err, "[PCACHE_E_SECTION_CHECKSUM]");
    result_free(&r);

    /* with another problem in the file, the deep check inflates too */
    bytes[20] ^= 1; /* file header flags, and so the header checksum */
    write_bytes(bad, bytes, size);
    run(f, &r, inspect_tool, "verify", bad, NULL);
    expect_status(&r, 1);
    expect_contains("verify", r.err, "3 problems");
    expect_contains("verify", r.err, "[PCACHE_E_FILE_HEADER]");
    expect_contains("verify", r.err, "inflated");
    result_free(&r);
    free(bytes);
    free(text);
    free(out);
    free(bad);
    free(path);
}

/* ---- relocations ---- */

#define CLIENT_AT_PERSIST 0x200000u
#define MODULE_BASE 0x400000u

static char *write_relocated(const fixture *f, uint8_t *code, uint8_t *table)
{
    pcache_identity id;
    pcache_builder *b;
    pcache_report rep;
    char *path = path_in(f, "relocs.pcache");
    pcache_patch p;

    memset(code, 0x90, 64);
    memcpy(table, pattern(32, 9), 32);
    assert_int_equal(pcache_identity_init(&id, "inspect-test", 1), PCACHE_OK);
    id.page_size = 4096;
    assert_int_equal(pcache_identity_set_module(&id, MODULE_BASE, 0x10000, NULL, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "table", table, 32, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", code, 64, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_anchor(b, PCACHE_ANCHOR_CLIENT, CLIENT_AT_PERSIST), PCACHE_OK);
    memset(&p, 0, sizeof p);
    p = (pcache_patch){.cls = PCACHE_RX, .section = "code", .offset = 8, .kind = PCACHE_RELOC_ABS64,
                       .target_kind = PCACHE_TARGET_SECTION, .target_class = PCACHE_RO, .target_section = "table",
                       .target_offset = 16};
    assert_int_equal(pcache_builder_add_patch(b, &p), PCACHE_OK);
    p = (pcache_patch){.cls = PCACHE_RX, .section = "code", .offset = 20, .kind = PCACHE_RELOC_REL32, .pc_offset = 4,
                       .target_kind = PCACHE_TARGET_ANCHOR, .anchor = PCACHE_ANCHOR_CLIENT, .target_offset = 0x100};
    assert_int_equal(pcache_builder_add_patch(b, &p), PCACHE_OK);
    p = (pcache_patch){.cls = PCACHE_RX, .section = "code", .offset = 32, .kind = PCACHE_RELOC_ABS64,
                       .target_kind = PCACHE_TARGET_ANCHOR, .anchor = PCACHE_ANCHOR_MODULE, .target_offset = 0x40,
                       .addend = -8};
    assert_int_equal(pcache_builder_add_patch(b, &p), PCACHE_OK);
    if (pcache_file_write_path(b, path, &rep) != PCACHE_OK)
        fail_msg("writing %s: %s", path, rep.message);
    pcache_builder_free(b);
    return path;
}

static void relocs_resolve_as_the_library_does(void **state)
{
    fixture *f = *state;
    uint8_t code[64], table[32];
    char *path = write_relocated(f, code, table);
    uint64_t table_at = section_file_offset(f, path, "ro:table"), code_at = section_file_offset(f, path, "rx:code");
    const uint64_t map = 0x10000000, client = 0x10400000, module = 0x20000000;
    char map_arg[32], client_arg[64], module_arg[64];
    json_t *v;
    run_result r;

    v = inspect_json(f, 0, "info", path, NULL);
    assert_int_equal(juint(v, "segments[0].relocation_count"), 0);
    assert_int_equal(juint(v, "segments[1].relocation_count"), 3);
    assert_int_equal(juint(v, "segments[1].anchor_count"), 2);
    json_decref(v);

    /* as stored: the values for image base 0 and the persist-time anchors */
    v = inspect_json(f, 0, "relocs", path, NULL);
    jget(v, "map_address", JSON_NULL);
    assert_string_equal(jstr(v, "segments[1].class"), "rx");
    assert_int_equal(jcount(v, "segments[1].records"), 3);
    assert_string_equal(jstr(v, "segments[1].anchors[0].name"), "client");
    assert_int_equal(jhex(v, "segments[1].anchors[0].persisted"), CLIENT_AT_PERSIST);
    assert_string_equal(jstr(v, "segments[1].anchors[1].name"), "module");
    assert_int_equal(jhex(v, "segments[1].anchors[1].persisted"), MODULE_BASE);
    assert_string_equal(jstr(v, "segments[1].records[0].kind"), "abs64");
    assert_string_equal(jstr(v, "segments[1].records[0].site.qualified_name"), "rx:code");
    assert_int_equal(juint(v, "segments[1].records[0].site.offset"), 8);
    assert_int_equal(juint(v, "segments[1].records[0].site.file_offset"), code_at + 8);
    assert_string_equal(jstr(v, "segments[1].records[0].target.kind"), "section");
    assert_string_equal(jstr(v, "segments[1].records[0].target.qualified_name"), "ro:table");
    assert_int_equal(juint(v, "segments[1].records[0].target.section_file_offset"), table_at);
    assert_int_equal(jhex(v, "segments[1].records[0].stored_target"), table_at + 16);
    assert_string_equal(jstr(v, "segments[1].records[1].kind"), "rel32");
    assert_int_equal(juint(v, "segments[1].records[1].pc_offset"), 4);
    assert_string_equal(jstr(v, "segments[1].records[1].target.anchor"), "client");
    assert_int_equal(jhex(v, "segments[1].records[1].stored_target"), CLIENT_AT_PERSIST + 0x100);
    /* an abs64 record of the compact form keeps target offset and addend
     * in its field (an implicit addend, docs/FORMAT.md 9.10): their sum,
     * 0x40 - 8, is reported as the target offset, with addend 0 */
    assert_int_equal(jint(v, "segments[1].records[2].addend"), 0);
    assert_int_equal(juint(v, "segments[1].records[2].target.offset"), 0x40 - 8);
    assert_int_equal(jhex(v, "segments[1].records[2].stored_target"), MODULE_BASE + 0x40 - 8);
    jget(v, "segments[1].records[0].resolved", JSON_NULL);
    json_decref(v);

    /* mapped elsewhere: targets and field bytes computed here by hand */
    snprintf(map_arg, sizeof map_arg, "0x%llx", (unsigned long long)map);
    snprintf(client_arg, sizeof client_arg, "client=0x%llx", (unsigned long long)client);
    snprintf(module_arg, sizeof module_arg, "module=%llu", (unsigned long long)module);
    v = inspect_json(f, 0, "relocs", path, "--map-address", map_arg, "--anchor", client_arg, "--anchor", module_arg,
                     NULL);
    assert_int_equal(jhex(v, "map_address"), map);
    assert_true(jbool(v, "segments[1].resolved"));
    assert_string_equal(jstr(v, "segments[1].anchors[0].address_source"), "given");
    {
        const uint64_t targets[3] = {map + table_at + 16, client + 0x100, module + 0x40 - 8};
        const uint64_t sites[3] = {8, 20, 32};
        for (int i = 0; i < 3; i++) {
            char p[96], want[17];
            uint8_t field[8];
            uint64_t field_address = map + code_at + sites[i];
            snprintf(p, sizeof p, "segments[1].records[%d].resolved.field_address", i);
            assert_int_equal(jhex(v, p), field_address);
            snprintf(p, sizeof p, "segments[1].records[%d].resolved.target", i);
            assert_int_equal(jhex(v, p), targets[i]);
            if (i == 1) { /* rel32 counts from the end of the field */
                put_le(field, targets[i] - (field_address + 4), 4);
                hex_of(field, 4, want);
            } else {
                put_le(field, targets[i], 8);
                hex_of(field, 8, want);
            }
            snprintf(p, sizeof p, "segments[1].records[%d].resolved.field_bytes", i);
            assert_string_equal(jstr(v, p), want);
        }
    }
    json_decref(v);

    run(f, &r, inspect_tool, "relocs", path, "--map-address", map_arg, NULL);
    expect_status(&r, 0);
    expect_contains("relocs", r.out, "segment rx: 3 relocation records, 2 anchors");
    expect_contains("relocs", r.out, "from=persisted");
    expect_contains("relocs", r.out, "site=rx:code+0x8");
    expect_contains("relocs", r.out, "target=ro:table+0x10");
    expect_contains("relocs", r.out, "target=anchor:client+0x100");
    result_free(&r);

    /* a rel32 that cannot reach: the library refuses, and so does the tool */
    run(f, &r, inspect_tool, "relocs", path, "--map-address", "0x7f0000000000", NULL);
    expect_status(&r, 1);
    expect_contains("relocs", r.err, "[PCACHE_E_RELOC_RANGE]");
    result_free(&r);
    v = inspect_json(f, 1, "relocs", path, "--map-address", "0x7f0000000000", NULL);
    assert_false(jbool(v, "segments[1].resolved"));
    assert_string_equal(jstr(v, "problems[0].status"), "PCACHE_E_RELOC_RANGE");
    json_decref(v);

    run(f, &r, inspect_tool, "relocs", path, "--map-address", map_arg, "--anchor", "klient=1", NULL);
    expect_status(&r, 2);
    expect_contains("relocs", r.err, "--anchor klient: no segment");
    result_free(&r);
    run(f, &r, inspect_tool, "relocs", path, "--anchor", "client=1", NULL);
    expect_status(&r, 2);
    expect_contains("relocs", r.err, "--anchor needs --map-address");
    result_free(&r);
    free(path);
}

/* ---- JSON everywhere ---- */

static void json_on_every_subcommand(void **state)
{
    fixture *f = *state;
    standalone s;
    image_data d;
    char *paths[3], *out = path_in(f, "out.bin");
    const char *sections[3] = {"ro:alpha", "rx:code", "dr:rx"};

    paths[0] = write_standalone(f, "s.pcache", &s);
    fill_image_data(&d);
    paths[1] = write_dpc(f, "d.dpc", &d);
    paths[2] = data_path("hello-rorx.dpc");
    for (int i = 0; i < 3; i++) {
        json_t *v;
        v = inspect_json(f, 0, "verify", paths[i], NULL);
        assert_int_equal(juint(v, "problem_count"), 0);
        assert_string_equal(jstr(v, "kind"), i == 0 ? "pcache" : "dpc");
        json_decref(v);
        v = inspect_json(f, 0, "info", paths[i], NULL);
        assert_int_equal(jcount(v, "segments"), juint(v, "segment_count"));
        for (size_t k = 0; k < jcount(v, "segments"); k++) {
            const json_t *seg = json_array_get(jget(v, "segments", JSON_ARRAY), k);
            const json_t *secs = jget(seg, "sections", JSON_ARRAY);
            for (size_t j = 0; j < json_array_size(secs); j++) {
                /* checksums are strings: a 64-bit value does not fit a double */
                (void)jhex(json_array_get(secs, j), "checksum");
                assert_int_equal(juint(json_array_get(secs, j), "index"), j);
            }
        }
        json_decref(v);
        v = inspect_json(f, 0, "sections", paths[i], NULL);
        json_decref(v);
        v = inspect_json(f, 0, "dump", paths[i], sections[i], NULL);
        assert_int_equal(strlen(jstr(v, "hex")), 2 * juint(v, "length"));
        json_decref(v);
        v = inspect_json(f, 0, "extract", paths[i], sections[i], "-o", out, NULL);
        json_decref(v);
        v = inspect_json(f, 0, "relocs", paths[i], NULL);
        json_decref(v);
        free(paths[i]);
    }
    free(out);
}

/* ---- usage ---- */

static void help_and_usage(void **state)
{
    fixture *f = *state;
    static const char *const cmds[] = {"verify", "info", "sections", "dump", "extract", "relocs"};
    standalone s;
    char *path = write_standalone(f, "s.pcache", &s);
    run_result r;
    struct {
        const char *args[8];
        const char *message;
    } bad[] = {
        {{"dump", path, NULL}, "dump: expected FILE SECTION, got 1 argument"},
        {{"verify", "--offset", "1", path, NULL}, "verify: unknown option '--offset'"},
        {{"extract", "--json", path, "ro:alpha", NULL}, "--json describes what was written, and needs -o OUT"},
        {{"relocs", "--map-address", path, NULL}, "is not a number"},
        {{"relocs", NULL}, "relocs: expected FILE, got 0 arguments"},
        {{"relocs", path, "--map-address", "0x", NULL}, "--map-address '0x' is not a number"},
        {{"relocs", path, "--map-address", "1", "--anchor", "noequals", NULL}, "expected NAME=ADDR"},
        {{"dump", path, "ro:alpha", "--offset", NULL}, "option '--offset' needs a value"},
        {{"--bogus", "info", path, NULL}, "unknown option '--bogus'"},
        {{"-x", "info", path, NULL}, "unknown option '-x'"},
        {{"--json=yes", "info", path, NULL}, "option '--json' takes no value"},
        {{"info", "--output", "out", path, NULL}, "info: unknown option '--output'"},
        {{"info", "-o", "out", path, NULL}, "info: unknown option '-o'"},
        {{"dump", path, "ro:alpha", "-x", NULL}, "dump: unknown option '-x'"},
        {{"dump", path, "ro:alpha", "--stored=yes", NULL}, "dump: option '--stored' takes no value"},
        {{"extract", path, "ro:alpha", "-o", NULL}, "extract: option '-o' needs a value"},
        {{"extract", path, "ro:alpha", "--output", NULL}, "extract: option '--output' needs a value"},
        {{"extract", path, "ro:alpha", "--o", "x", NULL}, "extract: option '--o' is ambiguous: --offset, --output"},
        {{"relocs", path, "--map", NULL}, "relocs: option '--map-address' needs a value"},
        {{"verify", "--", "--json", path, NULL}, "verify: expected FILE, got 2 arguments"},
    };
    /* the same command written the ways getopt_long allows: the same
     * output */
    struct {
        const char *args[10];
    } same[] = {
        {{"dump", "--offset", "3", "--length", "5", path, "ro:alpha", NULL}},
        {{"dump", path, "--offset=3", "ro:alpha", "--length=5", NULL}},
        {{"dump", "--off", "3", "--len=5", "--", path, "ro:alpha", NULL}},
    };
    char *out = path_in(f, "out.bin"), *o_out;
    run_result first;
    uint8_t *bytes;
    size_t size;

    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char want[64];
        run(f, &r, inspect_tool, cmds[i], "--help", NULL);
        expect_status(&r, 0);
        snprintf(want, sizeof want, "Usage: pcache-inspect %s [--json]", cmds[i]);
        expect_contains("--help", r.out, want);
        expect_contains("--help", r.out, "Exit status");
        result_free(&r);
    }
    run(f, &r, inspect_tool, "dump", "--help", NULL);
    expect_contains("dump --help", r.out, "--offset N");
    expect_contains("dump --help", r.out, "CLASS:NAME");
    result_free(&r);
    run(f, &r, inspect_tool, "--help", NULL);
    expect_status(&r, 0);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        expect_contains("--help", r.out, cmds[i]);
    expect_contains("--help", r.out, "--json");
    result_free(&r);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run_argv(f, &r, inspect_tool, bad[i].args);
        if (r.status != 2 || !strstr(r.err, bad[i].message))
            fail_msg("case %zu: status %d (expected 2), stderr:\n%s(expected \"%s\")", i, r.status, r.err,
                     bad[i].message);
        assert_int_equal(r.out_size, 0);
        result_free(&r);
    }

    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        run_argv(f, i ? &r : &first, inspect_tool, same[i].args);
        expect_status(i ? &r : &first, 0);
        if (i) {
            assert_int_equal(r.out_size, first.out_size);
            assert_memory_equal(r.out, first.out, first.out_size);
            result_free(&r);
        }
    }
    expect_contains("dump --offset 3 --length 5", first.out, "bytes [0x3, 0x8)");
    result_free(&first);
    /* -oOUT, -o OUT and --output=OUT write the same file */
    assert_true(asprintf(&o_out, "-o%s", out) > 0);
    run(f, &r, inspect_tool, "extract", path, "ro:alpha", o_out, NULL);
    expect_status(&r, 0);
    result_free(&r);
    bytes = read_bytes(out, &size);
    assert_non_null(bytes);
    assert_int_equal(remove(out), 0);
    run(f, &r, inspect_tool, "extract", "--outp", out, path, "ro:alpha", NULL);
    expect_status(&r, 0);
    result_free(&r);
    {
        size_t size2;
        uint8_t *bytes2 = read_bytes(out, &size2);
        assert_non_null(bytes2);
        assert_int_equal(size2, size);
        assert_memory_equal(bytes2, bytes, size);
        free(bytes2);
    }
    free(bytes);
    free(o_out);
    free(out);
    free(path);
}

/* ---- hostile inputs ---- */

/* Every subcommand, with and without --json: exit 1 (the file was read
 * and is invalid), a message naming the file, and for --json a valid
 * document that says so.  Crashes, sanitizer and valgrind reports fail in
 * run(). */
static void every_subcommand_refuses(const fixture *f, const char *label, const uint8_t *bytes, size_t size)
{
    char *path = path_in(f, "input.bin"), *out = path_in(f, "out.bin");
    static const char *const args[][5] = {
        {"verify", NULL}, {"info", NULL}, {"sections", NULL}, {"relocs", NULL}, {"dump", "dr:rx", NULL},
        {"extract", "rx:code", "-o", NULL},
    };

    write_bytes(path, bytes, size);
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
        for (int json = 0; json < 2; json++) {
            const char *argv[10];
            size_t n = 0;
            run_result r;
            argv[n++] = args[i][0];
            if (json)
                argv[n++] = "--json";
            argv[n++] = path;
            for (size_t k = 1; args[i][k]; k++)
                argv[n++] = args[i][k];
            if (strcmp(args[i][0], "extract") == 0)
                argv[n++] = out;
            argv[n] = NULL;
            run_argv(f, &r, inspect_tool, argv);
            if (r.status != 1)
                fail_msg("%s: %s%s exited with %d (expected 1)\nstdout:\n%s\nstderr:\n%s", label, args[i][0],
                         json ? " --json" : "", r.status, r.out, r.err);
            expect_contains(label, r.err, "is invalid");
            expect_contains(label, r.err, "[PCACHE_E_");
            if (json) {
                json_t *v = json_of(&r);
                assert_false(jbool(v, "valid"));
                assert_true(jcount(v, "problems") >= 1);
                (void)jstr(v, "problems[0].message");
                json_decref(v);
            } else if (strcmp(args[i][0], "info") != 0 || strncmp((const char *)bytes, "RIO$", 4) != 0) {
                assert_int_equal(r.out_size, 0);
            }
            result_free(&r);
        }
    free(path);
    free(out);
}

static void garbage_standalone_truncated(void **state)
{
    fixture *f = *state;
    standalone s;
    char *path = write_standalone(f, "s.pcache", &s);
    size_t size;
    uint8_t *bytes = read_bytes(path, &size);
    static const size_t cuts[] = {0, 5, 127, 128, 4200};

    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        every_subcommand_refuses(f, "truncated pcache", bytes, cuts[i]);
    every_subcommand_refuses(f, "pcache missing its last byte", bytes, size - 1);
    free(bytes);
    free(path);
}

static void garbage_standalone_fields(void **state)
{
    fixture *f = *state;
    standalone s;
    char *path = write_standalone(f, "s.pcache", &s);
    size_t size;
    uint8_t *bytes = read_bytes(path, &size), *copy = malloc(size);

    assert_non_null(copy);
    /* every segment offset off the end of the file (and so the header
     * checksum) */
    memcpy(copy, bytes, size);
    for (int c = 0; c < 3; c++)
        put_le(copy + 48 + 16 * c, UINT64_MAX - 4095, 8);
    every_subcommand_refuses(f, "implausible offsets", copy, size);
    /* sizes that overflow the layout */
    memcpy(copy, bytes, size);
    for (int c = 0; c < 3; c++)
        put_le(copy + 56 + 16 * c, UINT64_MAX, 8);
    every_subcommand_refuses(f, "huge sizes", copy, size);
    /* a segment header's section count: its header checksum catches it */
    memcpy(copy, bytes, size);
    put_le(copy + 4096 + 28, 0xffffffff, 4);
    every_subcommand_refuses(f, "section count", copy, size);
    free(copy);
    free(bytes);
    free(path);
}

static void garbage_dpc_truncated(void **state)
{
    fixture *f = *state;
    size_t size;
    uint8_t *bytes = read_data("hello-rorx.dpc", &size);
    static const size_t cuts[] = {1, 4, 279, 281, 4096};

    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        every_subcommand_refuses(f, "truncated dpc", bytes, cuts[i]);
    every_subcommand_refuses(f, "dpc missing its last byte", bytes, size - 1);
    free(bytes);
}

static void garbage_dpc_lengths(void **state)
{
    fixture *f = *state;
    size_t size;
    uint8_t *bytes = read_data("hello-rorx.dpc", &size), *copy = malloc(size);
    /* instrument_rw_len, cache_len, instrument_rx_len, instrument_ro_len,
     * option_string_len: each of the client slots and what precedes them */
    static const unsigned fields[] = {128, 184, 208, 264, 272};

    assert_non_null(copy);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        memcpy(copy, bytes, size);
        put_le(copy + fields[i], UINT64_MAX - 7, 8);
        every_subcommand_refuses(f, "huge length", copy, size);
    }
    free(copy);
    free(bytes);
}

static void garbage_other_inputs(void **state)
{
    fixture *f = *state;
    uint8_t buf[3000];
    image_data d;
    dpc_file dpc;

    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = pattern(1, (unsigned)i)[0] ^ (uint8_t)(i >> 3);
    every_subcommand_refuses(f, "random bytes", buf, sizeof buf);
    memcpy(buf, "\x89PCSEG\r\n", 8);
    every_subcommand_refuses(f, "bare segment magic", buf, sizeof buf);
    /* a .dpc whose segment candidates are all refused: a table byte of each
     * segment header changed, digests repaired */
    fill_image_data(&d);
    make_dpc(&dpc, &d, sample_client, strlen(sample_client));
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        dpc.bytes[dpc.seg_at[c] + 28] ^= 0x40; /* section count */
    fix_dpc_digests(dpc.bytes, dpc.size);
    every_subcommand_refuses(f, "refused candidates", dpc.bytes, dpc.size);
    free(dpc.bytes);
}

/* ---- hostile client slots (issue 18, item 4) ---- */

#define REFUSED_LISTED 16 /* refused candidates listed (docs/INSPECT-JSON.md) */

/* Runs info and verify --json on path; returns the larger peak RSS. */
static long inspect_peak_rss(const fixture *f, const char *path, json_t **info, json_t **verify)
{
    run_result r;
    long peak;

    run(f, &r, inspect_tool, "info", "--json", path, NULL);
    *info = json_of(&r);
    peak = r.max_rss_kib;
    result_free(&r);
    run(f, &r, inspect_tool, "verify", "--json", path, NULL);
    *verify = json_of(&r);
    if (r.max_rss_kib > peak)
        peak = r.max_rss_kib;
    result_free(&r);
    return peak;
}

/* pcache-inspect's memory follows the segments a .dpc file holds, not the
 * candidates its bytes make: a 4 MiB slot of hostile candidates costs
 * about what a 4 MiB slot of zeros does.  Before it held two records of
 * about 1 KiB per candidate, 1 GB for the slot of magics.  Peak RSS of the
 * tool run as a child, against the same tool on the zero slot; not judged
 * under PCACHE_TOOL_WRAPPER (valgrind's own memory).  A child's peak
 * starts at this process's resident memory when it forks (tool_run.h), so
 * every file is written before the first run: what a sanitizer's allocator
 * keeps of the freed buffers then weighs on every run alike. */
static void dpc_hostile_slots_bounded_memory(void **state)
{
    fixture *f = *state;
    const uint64_t fill = 4u << 20;
    const long slack_kib = 8 * 1024;
    char *paths[HOSTILE_KIND_COUNT + 1];
    uint8_t *bytes;
    size_t size;
    long base;
    json_t *info, *verify;

    /* paths[k] the hostile kind k; paths[HOSTILE_KIND_COUNT] the zeros */
    for (int k = 0; k <= HOSTILE_KIND_COUNT; k++) {
        char name[32];
        snprintf(name, sizeof name, "hostile-%d.dpc", k);
        paths[k] = path_in(f, name);
        if (k < HOSTILE_KIND_COUNT) {
            bytes = hostile_dpc((hostile_kind)k, fill, NULL, 0, &size);
        } else {
            uint8_t *zeros = calloc(1, (size_t)fill);
            assert_non_null(zeros);
            bytes = hostile_dpc(HOSTILE_MAGIC, 0, zeros, fill, &size);
            free(zeros);
        }
        assert_non_null(bytes);
        write_bytes(paths[k], bytes, size);
        free(bytes);
    }

    base = inspect_peak_rss(f, paths[HOSTILE_KIND_COUNT], &info, &verify);
    assert_int_equal(juint(info, "segment_count"), 0);
    assert_int_equal(juint(info, "refused_not_listed"), 0);
    json_decref(info);
    json_decref(verify);
    for (int k = 0; k < HOSTILE_KIND_COUNT; k++) {
        /* candidates in a slot of fill bytes, each refused */
        static const uint64_t per[HOSTILE_KIND_COUNT] = {[HOSTILE_MAGIC] = 8, [HOSTILE_HEADERS] = 24};
        uint64_t candidates = per[k] ? (fill + per[k] - 1) / per[k] : 1;
        uint64_t listed = candidates < REFUSED_LISTED ? candidates : REFUSED_LISTED;
        long peak = inspect_peak_rss(f, paths[k], &info, &verify);

        print_message("%-28s 4 MiB slot: peak RSS %ld KiB (zero slot: %ld KiB)\n", hostile_kind_name((hostile_kind)k),
                      peak, base);
        if (!getenv("PCACHE_TOOL_WRAPPER") && peak > base + slack_kib)
            fail_msg("%s: pcache-inspect's peak RSS is %ld KiB, more than %ld KiB over the %ld KiB it takes on "
                     "a slot of zeros", hostile_kind_name((hostile_kind)k), peak, slack_kib, base);
        assert_false(jbool(info, "valid"));
        assert_int_equal(juint(info, "segment_count"), listed);
        assert_int_equal(juint(info, "refused_not_listed"), candidates - listed);
        assert_false(jbool(info, "segments[0].valid"));
        assert_int_equal(juint(info, "segments[0].file_offset"), HOSTILE_SLOT_OFFSET);
        assert_int_equal(juint(verify, "refused_not_listed"), candidates - listed);
        assert_int_equal(juint(verify, "problem_count"), listed);
        json_decref(info);
        json_decref(verify);
    }
    for (int k = 0; k <= HOSTILE_KIND_COUNT; k++)
        free(paths[k]);
}

int main(int argc, char **argv)
{
#define CASE(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        CASE(dpc_info_real_files),
        CASE(dpc_dump_and_extract_slots),
        CASE(dpc_corrupt_bytes_fail_the_digests),
        CASE(dpc_unknown_version_is_not_misparsed),
        CASE(dpc_segments_are_inspectable),
        CASE(dpc_lists_every_problem),
        CASE(dpc_strings_are_escaped),
        CASE(standalone_lists_every_problem),
        CASE(dump_checks_its_range),
        CASE(compressed_sections_inflate),
        CASE(relocs_resolve_as_the_library_does),
        CASE(json_on_every_subcommand),
        CASE(help_and_usage),
        CASE(garbage_standalone_truncated),
        CASE(garbage_standalone_fields),
        CASE(garbage_dpc_truncated),
        CASE(garbage_dpc_lengths),
        CASE(garbage_other_inputs),
        CASE(dpc_hostile_slots_bounded_memory),
    };
#undef CASE

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s PCACHE_INSPECT DATA_DIR [CASE]\n", argv[0]);
        return 2;
    }
    inspect_tool = argv[1];
    data_dir = argv[2];
    return run_cases(tests, sizeof tests / sizeof tests[0], argc == 4 ? argv[3] : NULL);
}
