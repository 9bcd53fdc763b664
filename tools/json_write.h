/* SPDX-License-Identifier: BSD-2-Clause */
/* The tools' one JSON writer: pcache-inspect's --json (through
 * inspect_emit.c) and pcache-bench's --json (bench_report.c) both write
 * through it, so that escaping, numbers and layout are decided once.
 * docs/INSPECT-JSON.md ("Conventions") describes what it writes.
 *
 * Layout: a container is either one element per line, indented two spaces
 * a level, or all its elements on one line separated by ", " (one_line; a
 * container inside a one-line container is one-line too).  An empty
 * container is "{}" or "[]".  The root ends with a newline.
 *
 * Every key and string is escaped byte by byte: '"' and '\' as \" and \\,
 * newline, carriage return and tab as \n \r \t, and every other byte
 * outside 0x20-0x7E as \u00XX.  Bytes >= 0x80 are not read as UTF-8: the
 * string's code points are its bytes (Latin-1), so a reader recovers the
 * exact bytes, and the output is always printable ASCII and newlines. */
#ifndef PCACHE_TOOLS_JSON_WRITE_H
#define PCACHE_TOOLS_JSON_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_WRITE_MAX_DEPTH 16

/* Integers above this are written as "0x..." strings: a double, which
 * most JSON readers use, holds every integer up to 2^53 exactly. */
#define JSON_WRITE_EXACT_MAX (UINT64_C(1) << 53)

typedef struct json_writer {
    FILE *fp;
    int depth; /* open containers */
    struct {
        int count;    /* elements written so far */
        int one_line;
        char close;   /* '}' or ']' */
    } stack[JSON_WRITE_MAX_DEPTH];
} json_writer;

void json_write_init(json_writer *w, FILE *fp);

/* Containers.  key names the value inside an object; NULL in a list or at
 * the root.  Nesting deeper than JSON_WRITE_MAX_DEPTH is a programming
 * error (the tools' nesting is fixed by their code): it aborts. */
void json_write_begin_object(json_writer *w, const char *key, int one_line);
void json_write_begin_list(json_writer *w, const char *key, int one_line);
/* Closes the innermost container (nothing when none is open). */
void json_write_end(json_writer *w);

/* A NUL-terminated string. */
void json_write_string(json_writer *w, const char *key, const char *s);
/* len bytes of any values (a string read from a file). */
void json_write_bytes(json_writer *w, const char *key, const void *s, uint64_t len);
/* A number up to JSON_WRITE_EXACT_MAX, else the string "0x..." (lowercase). */
void json_write_uint(json_writer *w, const char *key, uint64_t v);
/* A number when |v| <= JSON_WRITE_EXACT_MAX, else "0x..." or "-0x...". */
void json_write_int(json_writer *w, const char *key, int64_t v);
/* Always the string "0x%0*llx" (digits 0: no padding): addresses,
 * checksums, raw field values. */
void json_write_hex(json_writer *w, const char *key, uint64_t v, int digits);
/* n bytes as a string of lowercase hex digits, two a byte, no prefix. */
void json_write_hexbytes(json_writer *w, const char *key, const uint8_t *p, size_t n);
void json_write_bool(json_writer *w, const char *key, int v);
void json_write_null(json_writer *w, const char *key);
/* A measurement: printf "%.*g" with significant digits (json_write_double)
 * or "%.*f" with decimals after the point (json_write_fixed).  A value
 * that is not finite, which JSON cannot spell, is written as null. */
void json_write_double(json_writer *w, const char *key, double v, int significant);
void json_write_fixed(json_writer *w, const char *key, double v, int decimals);

#endif
