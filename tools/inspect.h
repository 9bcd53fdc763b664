/* SPDX-License-Identifier: BSD-2-Clause */
/* pcache-inspect's parts, shared by its files:
 *   pcache-inspect.c   the command line: options, subcommand table, help
 *   inspect_load.c     reading a file, telling its kind, the library's
 *                      verdict, its segments, finding a section by name
 *   inspect_verify.c   every problem of a refused file, not only the first
 *   inspect_describe.c info and sections
 *   inspect_bytes.c    dump and extract
 *   inspect_relocs.c   relocs
 *   inspect_problem.c  the list of problems, from the library and its own
 *   inspect_emit.c     the text and JSON writer
 * and, shared with pcache-pack: args.c (option values), slurp.c (reading
 * a file or standard input whole), output.c (what -o OUT names).
 * Only the public API is used (and, in inspect_verify.c, the byte offsets
 * docs/FORMAT.md specifies, to look past the first failure). */
#ifndef PCACHE_TOOLS_INSPECT_H
#define PCACHE_TOOLS_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "inspect_emit.h"
#include "pcache/dpc.h"
#include "pcache/pcache.h"

#define PROG "pcache-inspect"

/* The JSON schema's version (docs/INSPECT-JSON.md): raised when a field
 * changes meaning or disappears, not when one is added. */
#define INSPECT_SCHEMA_VERSION 1

enum { EXIT_VALID = 0, EXIT_INVALID = 1, EXIT_USAGE = 2 };

#define NO_OFFSET PCACHE_REPORT_NO_OFFSET

/* ---- the command line ---- */

#define INSPECT_MAX_ANCHOR_ARGS 64u

typedef struct anchor_arg {
    char name[32];
    uint64_t address;
} anchor_arg;

typedef struct inspect_args {
    int json;
    const char *path;
    const char *section;     /* dump, extract */
    int has_offset, has_length;
    uint64_t offset, length; /* dump, extract */
    const char *output;      /* extract -o */
    int stored;              /* dump, extract: a compressed section's stored stream */
    int has_map_address;
    uint64_t map_address;    /* relocs */
    anchor_arg anchor[INSPECT_MAX_ANCHOR_ARGS];
    size_t anchor_count;
} inspect_args;

int inspect_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- problems ---- */

typedef struct problem {
    pcache_status status;
    int cls;                     /* pcache_class or PCACHE_REPORT_NO_CLASS */
    char section[PCACHE_SECTION_NAME_MAX + 1];
    uint64_t file_offset;        /* NO_OFFSET when the problem has none */
    uint64_t segment_offset;     /* from the segment's start; NO_OFFSET outside one */
    int has_values;
    uint64_t expected, found;
    char message[480];           /* one line: what, where, expected vs found */
} problem;

typedef struct problems {
    problem *v;
    size_t count, capacity;
    size_t dropped;              /* not stored: out of memory */
} problems;

/* A report from the library.  seg_file_offset: the file offset of the
 * segment the report's offset is relative to, or NO_OFFSET when that
 * offset is already a file offset. */
void problems_add_report(problems *ps, const pcache_report *rep, uint64_t seg_file_offset);
void problems_add(problems *ps, pcache_status st, int cls, const char *section, uint64_t seg_file_offset,
                  uint64_t offset, int has_values, uint64_t expected, uint64_t found, const char *fmt, ...)
    __attribute__((format(printf, 10, 11)));
void problems_prepend(problems *ps, const problem *p);
int problems_have(const problems *ps, pcache_status st, int cls);
void problems_free(problems *ps);

/* Text: "  message [PCACHE_E_...]" lines to stderr; JSON: a "problems" list. */
void emit_problem(emitter *e, const problem *p);

/* ---- a file ---- */

typedef enum file_kind { KIND_UNKNOWN, KIND_PCACHE, KIND_DPC } file_kind;

/* "pcache", "dpc", "unknown" (the JSON "kind"). */
const char *file_kind_name(file_kind kind);

/* A segment of the file: one of a standalone file's, or a place in a DR
 * client slot where a segment magic was found. */
typedef struct found_segment {
    int slot;                /* DR client slot (pcache_class); -1 in a standalone file */
    uint64_t file_offset;
    pcache_status status;    /* PCACHE_OK: seg is valid (checked in full) */
    pcache_report report;    /* else why not (offset relative to the segment) */
    pcache_segment seg;
    int at_stated_offset;    /* the segment's file_offset field says where it is */
    char qualifier[40];      /* what names its sections: "ro", or "ro@0x1f40" when its
                              * class has several segments */
} found_segment;

typedef struct inspect_file {
    const char *path;
    uint8_t *data;
    uint64_t size;
    file_kind kind;
    problem verdict;         /* the library's: status PCACHE_OK when valid */
    pcache_image img;        /* KIND_PCACHE, when valid */
    pcache_dpc dpc;          /* KIND_DPC: filled as far as its have_* say */
    pcache_status dpc_status; /* what pcache_dpc_parse() said */
    pcache_report dpc_report;
    found_segment *segs;     /* valid standalone file: its segments; .dpc: every valid segment
                              * and the first INSPECT_MAX_REFUSED refused candidates */
    size_t seg_count;
    size_t refused_not_listed; /* .dpc: refused candidates past those, counted only */
} inspect_file;

/* Refused .dpc segment candidates held, listed and checked: the first so
 * many in file order.  Hostile bytes make a candidate of every 8 bytes;
 * a file DynamoRIO wrote holds a few segments. */
#define INSPECT_MAX_REFUSED 16u

/* Reads path whole and judges it with the library.  Returns EXIT_VALID
 * when the file could be read (whatever the verdict), else prints why and
 * returns EXIT_USAGE.  inspect_file_free() is needed either way. */
int inspect_file_load(inspect_file *f, const char *path);
void inspect_file_free(inspect_file *f);

int inspect_file_valid(const inspect_file *f);
/* Sections in every valid segment. */
uint64_t inspect_section_count(const inspect_file *f);

/* A section named on the command line. */
typedef struct section_ref {
    const found_segment *owner; /* NULL for a DR client slot */
    int dr_slot;                /* the slot's class for "dr:ro" etc., else -1 */
    pcache_view view;           /* for a DR slot: data, size, name only */
    uint64_t file_offset;
    int compressed;             /* a compressed section */
    void *inflated;             /* its inflated bytes (pcache_free), when not --stored */
    char qualified[80];         /* "ro:name", "ro@0x1f40:name", "dr:rx" */
} section_ref;

/* SPEC: NAME, CLASS:NAME, CLASS@SEGMENT_OFFSET:NAME, or (a .dpc file)
 * dr:ro, dr:rx, dr:rw.  Returns EXIT_VALID, or prints why not (no such
 * section; several, listed) and returns EXIT_USAGE.  The file must be
 * valid. */
int inspect_find_section(inspect_file *f, const char *spec, section_ref *out);

/* The qualified name of section index of fs into buf. */
void section_qualified_name(const found_segment *fs, const char *name, char *buf, size_t size);

/* Prints the verdict of an invalid file for a command other than verify:
 * the problem to stderr, and in JSON the document with "valid": false.
 * Returns EXIT_INVALID. */
int report_invalid(const inspect_file *f, const char *command, int json);

/* Starts the document every command writes: in JSON the schema version,
 * command, file, kind, size and validity; in text heading (may be NULL). */
void emit_document_begin(emitter *e, const inspect_file *f, const char *command, const char *heading);

/* Finishes stdout: returns rc, or EXIT_USAGE (with a message) if writing
 * failed. */
int finish_output(int rc);

/* ---- the subcommands' pieces ---- */

void verify_find_problems(const inspect_file *f, problems *ps, uint64_t *sections_checked);

void describe_segment(emitter *e, const inspect_file *f, const found_segment *fs);
void describe_dpc(emitter *e, const inspect_file *f);

/* Names. */
const char *arch_name(uint16_t arch);
const char *byte_order_name(uint8_t order);
const char *section_type_name(uint16_t type);

int cmd_verify(const inspect_args *a);
int cmd_info(const inspect_args *a);
int cmd_sections(const inspect_args *a);
int cmd_dump(const inspect_args *a);
int cmd_extract(const inspect_args *a);
int cmd_relocs(const inspect_args *a);

#endif
