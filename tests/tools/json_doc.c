/* SPDX-License-Identifier: BSD-2-Clause */
#include "json_doc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define EXACT_MAX (UINT64_C(1) << 53)

static const char *type_name(json_type t)
{
    switch (t) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "of an unknown type";
}

/* Replaces a string's UTF-8 (as jansson decoded it) by its code points,
 * one byte each. */
static void string_to_bytes(json_t *s)
{
    const unsigned char *u = (const unsigned char *)json_string_value(s);
    size_t n = json_string_length(s), len = 0;
    char *bytes = malloc(n + 1);

    assert_non_null(bytes);
    for (size_t i = 0; i < n; len++) {
        unsigned cp;
        if (u[i] < 0x80) {
            cp = u[i++];
        } else if ((u[i] & 0xe0) == 0xc0 && i + 1 < n) {
            cp = (unsigned)(u[i] & 0x1f) << 6 | (u[i + 1] & 0x3f);
            i += 2;
        } else {
            fail_msg("JSON string \"%s\" has a code point above 0xff: the tools write a file's bytes as "
                     "\\u0000-\\u00ff",
                     (const char *)u);
            return;
        }
        if (cp > 0xff)
            fail_msg("JSON string \"%s\" has code point 0x%x: the tools write a file's bytes as \\u0000-\\u00ff",
                     (const char *)u, cp);
        bytes[len] = (char)cp;
    }
    assert_int_equal(json_string_setn_nocheck(s, bytes, len), 0);
    free(bytes);
}

static void strings_to_bytes(json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;

    switch (json_typeof(v)) {
    case JSON_STRING:
        string_to_bytes(v);
        break;
    case JSON_OBJECT:
        json_object_foreach(v, key, item)
            strings_to_bytes(item);
        break;
    case JSON_ARRAY:
        json_array_foreach(v, i, item)
            strings_to_bytes(item);
        break;
    default:
        break;
    }
}

json_t *json_doc(const char *text, size_t len)
{
    json_error_t err;
    json_t *v;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c < 0x20 || c > 0x7e) && c != '\n')
            fail_msg("--json output has byte 0x%02x at offset %zu: only printable ASCII and newlines expected:\n%s",
                     c, i, text);
    }
    v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (!v)
        fail_msg("--json output is not valid JSON (%s, line %d, column %d, byte %d):\n%s", err.text, err.line,
                 err.column, err.position, text);
    strings_to_bytes(v);
    return v;
}

json_t *json_of(const run_result *r)
{
    return json_doc(r->out, r->out_size);
}

const json_t *json_at(const json_t *v, const char *path)
{
    const char *s = path;
    while (v && *s) {
        if (*s == '.') {
            s++;
            continue;
        }
        if (*s == '[') {
            char *end;
            unsigned long i = strtoul(s + 1, &end, 10);
            if (*end != ']' || !json_is_array(v))
                return NULL;
            v = json_array_get(v, i);
            s = end + 1;
            continue;
        }
        {
            size_t n = strcspn(s, ".[");
            char key[128];
            if (!json_is_object(v) || n >= sizeof key)
                return NULL;
            memcpy(key, s, n);
            key[n] = '\0';
            v = json_object_get(v, key);
            s += n;
        }
    }
    return v;
}

const json_t *jget(const json_t *v, const char *path, json_type t)
{
    const json_t *x = json_at(v, path);
    if (!x)
        fail_msg("JSON output has no %s", path);
    if (json_typeof(x) != t && !(json_is_boolean(x) && (t == JSON_TRUE || t == JSON_FALSE)))
        fail_msg("JSON %s is %s, expected %s", path, type_name(json_typeof(x)), type_name(t));
    return x;
}

const char *jstr(const json_t *v, const char *path)
{
    return json_string_value(jget(v, path, JSON_STRING));
}

size_t jstrlen(const json_t *v, const char *path)
{
    return json_string_length(jget(v, path, JSON_STRING));
}

uint64_t juint(const json_t *v, const char *path)
{
    json_int_t x = json_integer_value(jget(v, path, JSON_INTEGER));
    if (x < 0 || (uint64_t)x > EXACT_MAX)
        fail_msg("JSON %s is %lld, not an integer from 0 to 2^53", path, (long long)x);
    return (uint64_t)x;
}

int64_t jint(const json_t *v, const char *path)
{
    json_int_t x = json_integer_value(jget(v, path, JSON_INTEGER));
    if (x < -(json_int_t)EXACT_MAX || x > (json_int_t)EXACT_MAX)
        fail_msg("JSON %s is %lld: the tools write an integer beyond 2^53 as a string", path, (long long)x);
    return (int64_t)x;
}

double jnum(const json_t *v, const char *path)
{
    const json_t *x = json_at(v, path);
    if (!x)
        fail_msg("JSON output has no %s", path);
    if (!json_is_number(x))
        fail_msg("JSON %s is %s, expected a number", path, type_name(json_typeof(x)));
    return json_number_value(x);
}

int jbool(const json_t *v, const char *path)
{
    return json_is_true(jget(v, path, JSON_TRUE));
}

size_t jcount(const json_t *v, const char *path)
{
    return json_array_size(jget(v, path, JSON_ARRAY));
}

uint64_t jhex(const json_t *v, const char *path)
{
    const char *s = jstr(v, path);
    size_t n = strlen(s);
    if (strncmp(s, "0x", 2) != 0 || n < 3 || n > 18 || strspn(s + 2, "0123456789abcdef") != n - 2)
        fail_msg("JSON %s is \"%s\", not a 0x string of lowercase hex digits", path, s);
    return strtoull(s + 2, NULL, 16);
}
