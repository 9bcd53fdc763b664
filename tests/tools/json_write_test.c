/* SPDX-License-Identifier: BSD-2-Clause */
/* tools/json_write.c, the tools' one JSON writer, read back by jansson
 * (json_doc.h): every byte value through a string, integers on both sides
 * of 2^53, hex, measurements (a value JSON cannot spell is null), and the
 * two layouts describing the same document.
 *
 * Usage: json_write_test [CASE] */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_doc.h"
#include "json_write.h"

/* What the writer wrote, as text; caller frees. */
typedef struct capture {
    char *text;
    size_t size;
    FILE *fp;
} capture;

static void capture_start(capture *c, json_writer *w)
{
    c->fp = open_memstream(&c->text, &c->size);
    assert_non_null(c->fp);
    json_write_init(w, c->fp);
}

static json_t *capture_doc(capture *c)
{
    assert_int_equal(fclose(c->fp), 0);
    return json_doc(c->text, c->size);
}

static void every_byte_round_trips(void **state)
{
    uint8_t all[256];
    char key[] = "k\"e\\y/ 1";
    json_writer w;
    capture c;
    json_t *v;
    (void)state;

    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    capture_start(&c, &w);
    json_write_begin_object(&w, NULL, 0);
    json_write_bytes(&w, "all", all, sizeof all);
    json_write_bytes(&w, "empty", all, 0);
    json_write_string(&w, key, "plain");
    json_write_end(&w);
    v = capture_doc(&c);
    assert_int_equal(jstrlen(v, "all"), sizeof all);
    assert_memory_equal(jstr(v, "all"), all, sizeof all);
    assert_int_equal(jstrlen(v, "empty"), 0);
    assert_string_equal(json_string_value(json_object_get(v, key)), "plain");
    /* the root, then one newline */
    assert_true(c.size > 0 && c.text[c.size - 1] == '\n' && c.text[c.size - 2] == '}');
    json_decref(v);
    free(c.text);
}

static void integers_on_both_sides_of_2_53(void **state)
{
    const uint64_t exact = UINT64_C(1) << 53;
    const uint64_t u[] = {0, 1, exact - 1, exact, exact + 1, UINT64_MAX};
    const int64_t s[] = {INT64_MIN, -(int64_t)exact - 1, -(int64_t)exact, -8, 0, (int64_t)exact, (int64_t)exact + 1,
                         INT64_MAX};
    json_writer w;
    capture c;
    json_t *v;
    (void)state;

    capture_start(&c, &w);
    json_write_begin_object(&w, NULL, 0);
    json_write_begin_list(&w, "u", 0);
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        json_write_uint(&w, NULL, u[i]);
    json_write_end(&w);
    json_write_begin_list(&w, "s", 1);
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        json_write_int(&w, NULL, s[i]);
    json_write_end(&w);
    json_write_end(&w);
    v = capture_doc(&c);

    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        char p[16];
        snprintf(p, sizeof p, "u[%zu]", i);
        if (u[i] <= exact)
            assert_int_equal(juint(v, p), u[i]);
        else
            assert_int_equal(jhex(v, p), u[i]);
    }
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        char p[16];
        uint64_t mag = s[i] < 0 ? 0 - (uint64_t)s[i] : (uint64_t)s[i];
        snprintf(p, sizeof p, "s[%zu]", i);
        if (mag <= exact) {
            assert_int_equal(jint(v, p), s[i]);
        } else {
            const char *x = jstr(v, p);
            char plain[24];
            /* "-0x..." for a negative one, else "0x..." */
            assert_int_equal(x[0] == '-', s[i] < 0);
            snprintf(plain, sizeof plain, "%s", x + (s[i] < 0));
            assert_int_equal(strtoull(plain + 2, NULL, 16), mag);
            assert_int_equal(strncmp(plain, "0x", 2), 0);
        }
    }
    json_decref(v);
    free(c.text);
}

static void hex_and_hexbytes(void **state)
{
    static const uint8_t id[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    json_writer w;
    capture c;
    json_t *v;
    const char *hex;
    (void)state;

    capture_start(&c, &w);
    json_write_begin_object(&w, NULL, 0);
    json_write_hex(&w, "padded", 0xabc, 16);
    json_write_hex(&w, "crc", 0x1234, 8);
    json_write_hex(&w, "unpadded", 0, 0);
    json_write_hex(&w, "max", UINT64_MAX, 16);
    json_write_hexbytes(&w, "id", id, sizeof id);
    json_write_hexbytes(&w, "none", id, 0);
    json_write_end(&w);
    v = capture_doc(&c);
    assert_int_equal(jhex(v, "padded"), 0xabc);
    assert_int_equal(jstrlen(v, "padded"), 2 + 16);
    assert_int_equal(jhex(v, "crc"), 0x1234);
    assert_int_equal(jstrlen(v, "crc"), 2 + 8);
    assert_int_equal(jhex(v, "unpadded"), 0);
    assert_int_equal(jstrlen(v, "unpadded"), 3);
    assert_int_equal(jhex(v, "max"), UINT64_MAX);
    hex = jstr(v, "id");
    assert_int_equal(strlen(hex), 2 * sizeof id);
    for (size_t i = 0; i < sizeof id; i++) {
        char two[3] = {hex[2 * i], hex[2 * i + 1], 0};
        assert_int_equal(strspn(two, "0123456789abcdef"), 2);
        assert_int_equal(strtoul(two, NULL, 16), id[i]);
    }
    assert_int_equal(jstrlen(v, "none"), 0);
    json_decref(v);
    free(c.text);
}

static void measurements(void **state)
{
    const double finite[] = {0.0, 1e-9, 1.23456789012e-7, 2.5, 123456.789, 1e300, -4.25};
    json_writer w;
    capture c;
    json_t *v;
    (void)state;

    capture_start(&c, &w);
    json_write_begin_object(&w, NULL, 0);
    json_write_begin_list(&w, "g", 1);
    for (size_t i = 0; i < sizeof finite / sizeof finite[0]; i++)
        json_write_double(&w, NULL, finite[i], 9);
    json_write_end(&w);
    json_write_begin_list(&w, "f", 1);
    for (size_t i = 0; i < sizeof finite / sizeof finite[0]; i++)
        json_write_fixed(&w, NULL, finite[i], 2);
    json_write_end(&w);
    json_write_double(&w, "inf", INFINITY, 6);
    json_write_double(&w, "nan", NAN, 6);
    json_write_fixed(&w, "minus_inf", -INFINITY, 2);
    json_write_end(&w);
    v = capture_doc(&c);
    for (size_t i = 0; i < sizeof finite / sizeof finite[0]; i++) {
        char p[16];
        snprintf(p, sizeof p, "g[%zu]", i);
        /* 9 significant digits */
        assert_true(fabs(jnum(v, p) - finite[i]) <= fabs(finite[i]) * 1e-8);
        snprintf(p, sizeof p, "f[%zu]", i);
        /* 2 decimals */
        assert_true(fabs(jnum(v, p) - finite[i]) <= 0.005 + fabs(finite[i]) * 1e-15);
    }
    jget(v, "inf", JSON_NULL);
    jget(v, "nan", JSON_NULL);
    jget(v, "minus_inf", JSON_NULL);
    json_decref(v);
    free(c.text);
}

/* One document in the given layout: containers one-line or not. */
static void write_sample(json_writer *w, int one_line)
{
    json_write_begin_object(w, NULL, 0);
    json_write_string(w, "name", "sample");
    json_write_begin_object(w, "inner", one_line);
    json_write_bool(w, "yes", 1);
    json_write_bool(w, "no", 0);
    json_write_null(w, "nothing");
    json_write_begin_list(w, "list", 0); /* inside a one-line object: one line too */
    json_write_uint(w, NULL, 1);
    json_write_begin_object(w, NULL, 0);
    json_write_int(w, "x", -1);
    json_write_end(w);
    json_write_end(w);
    json_write_begin_list(w, "empty_list", one_line);
    json_write_end(w);
    json_write_begin_object(w, "empty_object", one_line);
    json_write_end(w);
    json_write_end(w);
    json_write_end(w);
}

static void layouts_describe_the_same_document(void **state)
{
    json_writer w;
    capture block, line;
    json_t *a, *b;
    const char *inner;
    (void)state;

    capture_start(&block, &w);
    write_sample(&w, 0);
    a = capture_doc(&block);
    capture_start(&line, &w);
    write_sample(&w, 1);
    b = capture_doc(&line);
    assert_true(json_equal(a, b));
    assert_true(jbool(a, "inner.yes"));
    assert_false(jbool(a, "inner.no"));
    jget(a, "inner.nothing", JSON_NULL);
    assert_int_equal(jint(a, "inner.list[1].x"), -1);
    assert_int_equal(jcount(a, "inner.empty_list"), 0);
    assert_int_equal(json_object_size(jget(a, "inner.empty_object", JSON_OBJECT)), 0);

    /* one element a line, indented two spaces a level ... */
    assert_non_null(strstr(block.text, "\n  \"inner\": {\n    \"yes\": true,\n"));
    assert_non_null(strstr(block.text, "\"empty_list\": [],\n"));
    /* ... or the whole one-line object on its line */
    inner = strstr(line.text, "\"inner\": {");
    assert_non_null(inner);
    assert_null(memchr(inner, '\n', strlen(inner) - strlen("\n}\n")));
    assert_non_null(strstr(inner, "\"list\": [1, {\"x\": -1}], \"empty_list\": []"));
    json_decref(a);
    json_decref(b);
    free(block.text);
    free(line.text);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_byte_round_trips),
        cmocka_unit_test(integers_on_both_sides_of_2_53),
        cmocka_unit_test(hex_and_hexbytes),
        cmocka_unit_test(measurements),
        cmocka_unit_test(layouts_describe_the_same_document),
    };

    if (argc > 2) {
        fprintf(stderr, "usage: %s [CASE]\n", argv[0]);
        return 2;
    }
    return run_cases(tests, sizeof tests / sizeof tests[0], argc == 2 ? argv[1] : NULL);
}
