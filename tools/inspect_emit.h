/* SPDX-License-Identifier: BSD-2-Clause */
/* pcache-inspect's one writer for both of its output forms: the same calls
 * print aligned text for a person or JSON for a program, so that the two
 * cannot drift apart.  docs/INSPECT-JSON.md is the JSON schema; this file
 * decides how every value is spelled in it.
 *
 * Text: a BLOCK object prints its heading, then one "label  value" line
 * per field, indented under it; a LINE object prints its heading and its
 * fields as " label=value" on one line.
 * JSON: objects and lists nest as called; keys are the snake_case `key`
 * arguments; integers up to 2^53 are numbers, larger ones "0x..." strings;
 * addresses and checksums are always "0x..." strings; bytes (ids,
 * digests) are hex strings without prefix; strings read from a file are
 * escaped byte by byte (see emit_bytes_str).  The JSON itself is written
 * by the tools' shared JSON writer (json_write.h). */
#ifndef PCACHE_TOOLS_INSPECT_EMIT_H
#define PCACHE_TOOLS_INSPECT_EMIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json_write.h"

typedef enum emit_style { EMIT_BLOCK, EMIT_LINE } emit_style;

#define EMIT_MAX_DEPTH 16

typedef struct emitter {
    FILE *fp;
    int json;
    json_writer jw;  /* JSON: the writer everything goes through */
    /* text only: */
    int depth;       /* open containers */
    int indent;      /* current indentation of field lines */
    int label_width; /* labels are padded to this width */
    struct {
        int list;      /* a list: only its elements show */
        emit_style style;
        int indent;    /* indentation to restore */
    } stack[EMIT_MAX_DEPTH];
} emitter;

void emit_init(emitter *e, FILE *fp, int json);

/* An object: key names it inside an object (NULL inside a list or at the
 * root).  heading (printf format, may be NULL) is its text heading. */
void emit_begin(emitter *e, const char *key, emit_style style, const char *heading, ...)
    __attribute__((format(printf, 4, 5)));
void emit_end(emitter *e);

/* A JSON list; in text only its elements show. */
void emit_begin_list(emitter *e, const char *key);
void emit_end_list(emitter *e);

/* Fields.  key: the JSON key (NULL for a list element); label: the text
 * label (NULL: key is used). */
void emit_str(emitter *e, const char *key, const char *label, const char *s);
/* A string read from a file, len bytes, any byte values: JSON escapes
 * every byte outside printable ASCII as \u00XX (the bytes read as
 * Latin-1, so that the string gives back the exact bytes); text shows it
 * as \xNN. */
void emit_bytes_str(emitter *e, const char *key, const char *label, const void *s, uint64_t len);
/* The same, in double quotes in text, where spaces at its ends matter. */
void emit_quoted(emitter *e, const char *key, const char *label, const void *s, uint64_t len);
/* Text: decimal. */
void emit_uint(emitter *e, const char *key, const char *label, uint64_t v);
/* Text: "N (0xN)" in a BLOCK, N in a LINE. */
void emit_size(emitter *e, const char *key, const char *label, uint64_t v);
/* Text: 0xN. */
void emit_offset(emitter *e, const char *key, const char *label, uint64_t v);
/* Always hex: text 0x%0*llx, JSON the string "0x%0*llx" (digits 0: no
 * padding).  For addresses, checksums and raw field values. */
void emit_hex(emitter *e, const char *key, const char *label, uint64_t v, int digits);
/* Signed; JSON: a number when |v| <= 2^53, else "-0x..." / "0x...". */
void emit_int(emitter *e, const char *key, const char *label, int64_t v);
/* JSON true/false; text yes/no. */
void emit_bool(emitter *e, const char *key, const char *label, int v);
/* Bytes as lowercase hex without prefix, in stored order. */
void emit_hexbytes(emitter *e, const char *key, const char *label, const uint8_t *p, size_t n);
/* JSON null; nothing in text. */
void emit_null(emitter *e, const char *key);
/* Text only: a line at the current indentation (nothing in JSON). */
void emit_note(emitter *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes s with every byte outside printable ASCII, and '\', as \xNN. */
void text_escape(FILE *fp, const void *s, uint64_t len);

#endif
