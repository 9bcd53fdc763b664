/* SPDX-License-Identifier: BSD-2-Clause */
/* A small, strict JSON reader for the tool tests (RFC 8259: no trailing
 * commas, no comments, no leading zeros, valid escapes and no raw control
 * characters in strings, nothing after the value), so that pcache-inspect's
 * --json output is checked by a parser that does not share its code, and
 * its fields are looked up by path rather than by substring. */
#ifndef PCACHE_TESTS_JSON_CHECK_H
#define PCACHE_TESTS_JSON_CHECK_H

#include <stddef.h>
#include <stdint.h>

typedef enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value json_value;
struct json_value {
    json_type type;
    int boolean;
    /* JSON_NUMBER: the text as written; integer set when it is a
     * non-negative integer that fits 64 bits (is_uint), or a negative one
     * that fits (is_int). */
    char *text;
    int is_uint, is_int;
    uint64_t uint;
    int64_t sint;
    /* JSON_STRING: the decoded bytes (\u00XX escapes above 0x7f give that
     * byte, as pcache-inspect writes them), NUL-terminated, len bytes */
    char *str;
    size_t len;
    /* JSON_ARRAY, JSON_OBJECT: elements (and keys, for an object) */
    json_value **items;
    char **keys;
    size_t count;
};

/* Parses text (NUL-terminated).  Returns the value, or NULL with a
 * message in err (what and at which byte). */
json_value *json_parse(const char *text, char *err, size_t err_size);
void json_free(json_value *v);

/* Looks up a path of object keys and array indices: "dr.footer.file_md5",
 * "segments[1].sections[0].name".  NULL when any step is missing. */
const json_value *json_at(const json_value *v, const char *path);

#endif
