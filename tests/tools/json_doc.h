/* SPDX-License-Identifier: BSD-2-Clause */
/* The tools' --json output, read for the tool tests by jansson (Debian:
 * libjansson-dev), a parser that shares no code with the tools' writer.
 * It is strict RFC 8259: no trailing commas, comments, leading zeros, NaN,
 * raw control characters in strings or text after the document; duplicate
 * keys are refused as well.  Fields are looked up by a path of keys and
 * indices ("dr.footer.file_md5", "segments[1].sections[0].name"); every
 * typed lookup fails the cmocka case, naming the path, when the field is
 * missing or of another type. */
#ifndef PCACHE_TESTS_JSON_DOC_H
#define PCACHE_TESTS_JSON_DOC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tool_run.h"

/* Parses text (len bytes), or fails the case with jansson's message.
 * Also checks what docs/INSPECT-JSON.md promises of the whole text: only
 * printable ASCII and newlines (every other byte is escaped).  Every
 * string of the document is then made its bytes: each code point is one
 * byte (a file's byte 0xff is written \u00ff), and a code point above 0xff
 * fails the case.  json_decref() the result. */
json_t *json_doc(const char *text, size_t len);
/* json_doc() of a tool run's standard output. */
json_t *json_of(const run_result *r);

/* The value at path, or NULL when a step is missing. */
const json_t *json_at(const json_t *v, const char *path);
/* The value at path, of type t (JSON_TRUE and JSON_FALSE: either). */
const json_t *jget(const json_t *v, const char *path, json_type t);
/* A string's bytes, NUL-terminated (jstrlen: their count, NULs included). */
const char *jstr(const json_t *v, const char *path);
size_t jstrlen(const json_t *v, const char *path);
/* An integer from 0 to 2^53: the tools write larger ones as "0x..."
 * strings (docs/INSPECT-JSON.md, "Conventions"). */
uint64_t juint(const json_t *v, const char *path);
/* An integer whose magnitude is at most 2^53. */
int64_t jint(const json_t *v, const char *path);
/* A number, integer or not. */
double jnum(const json_t *v, const char *path);
int jbool(const json_t *v, const char *path);
/* The length of a list. */
size_t jcount(const json_t *v, const char *path);
/* A "0x..." string (lowercase hex digits) as a number. */
uint64_t jhex(const json_t *v, const char *path);

#endif
