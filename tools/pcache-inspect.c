/* SPDX-License-Identifier: BSD-2-Clause */
/* pcache-inspect: checks, describes and extracts pcache files and
 * DynamoRIO .dpc files.  One function per subcommand, found through the
 * table below, so that a subcommand is added by writing its function and
 * one table row; this file holds only the command line.  Only the public
 * API is used.  main() keeps no state between calls: the fuzz target calls
 * it again and again in one process. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "inspect.h"

/* Options a subcommand takes besides --json and --help. */
enum {
    OPT_RANGE = 1u << 0,   /* --offset, --length */
    OPT_OUTPUT = 1u << 1,  /* -o, --output */
    OPT_MAP = 1u << 2,     /* --map-address, --anchor */
};

typedef struct command {
    const char *name;
    const char *args;      /* positional arguments */
    int nargs;
    unsigned options;
    const char *summary;
    const char *details;   /* for COMMAND --help */
    int (*run)(const inspect_args *a);
} command;

static const command commands[] = {
    {"verify", "FILE", 1, 0, "check every byte of FILE; list every problem found",
     "Exit 0 exactly when the library's loaders accept FILE: a standalone file\n"
     "as pcache_file_open() validates it, every compressed section inflated and\n"
     "checked; a .dpc file's layout, both MD5 digests, every pcache segment in\n"
     "the client slots, and each client's image as the DynamoRIO adapter binds it\n"
     "(pcache_bind(): ro's manifest lists the rx and rw segments, which must be\n"
     "where it says).  Otherwise every problem is listed, not only the first: each\n"
     "segment is checked on its own (located through the file header even when\n"
     "that header's checksum is bad), and within a segment each section's\n"
     "checksum and each padding gap.\n",
     cmd_verify},
    {"info", "FILE", 1, 0, "describe FILE: headers, identity, segments, sections, relocation counts",
     "For a .dpc file also DR's header (every length field), the option string,\n"
     "DR's client list, the client slots, the regions, and the footer's MD5\n"
     "digests, stored and computed.\n",
     cmd_info},
    {"sections", "FILE", 1, 0, "list the sections (and a .dpc file's client slots) by qualified name",
     "Each section is named CLASS:NAME (e.g. ro:table), or CLASS@OFFSET:NAME when\n"
     "a .dpc file holds several segments of a class; a .dpc file's raw client\n"
     "slots are dr:ro, dr:rx and dr:rw.\n",
     cmd_sections},
    {"dump", "FILE SECTION", 2, OPT_RANGE, "show a section's bytes in hex and ASCII",
     "SECTION is NAME, CLASS:NAME (needed when NAME is in several classes),\n"
     "CLASS@OFFSET:NAME, or in a .dpc file dr:ro, dr:rx or dr:rw.  Offsets in the\n"
     "dump are from the section's start.  A compressed section shows the bytes it\n"
     "inflates to (checked against its raw checksum), or with --stored its stream.\n",
     cmd_dump},
    {"extract", "FILE SECTION", 2, OPT_RANGE | OPT_OUTPUT, "write a section's raw bytes to OUT or stdout",
     "SECTION as for dump; a compressed section is written inflated, unless\n"
     "--stored.  With -o OUT (not standard output) a line says what was written;\n"
     "with --json (which needs such an OUT) the document describes it.\n",
     cmd_extract},
    {"relocs", "FILE", 1, OPT_MAP, "list relocation records and anchors; what they resolve to",
     "With --map-address ADDR (the address file offset 0 is mapped at), each\n"
     "record's patched field and target are computed by the library\n"
     "(pcache_reloc_apply on a copy); anchors take their --anchor NAME=ADDR\n"
     "value, else their persist-time address.  Exit 1 if the records cannot be\n"
     "applied at that address.\n",
     cmd_relocs},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_usage(FILE *out)
{
    fprintf(out, "Usage: %s [--json] COMMAND [OPTION]... FILE [SECTION]\n"
                 "Checks, describes and extracts standalone pcache files and DynamoRIO .dpc\n"
                 "files (told apart by their magic).\n\nCommands:\n",
            PROG);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-8s %-13s %s\n", commands[i].name, commands[i].args, commands[i].summary);
    fprintf(out, "\nOptions:\n"
                 "  --json               machine-readable output (docs/INSPECT-JSON.md), any command\n"
                 "  -h, --help           show this help (COMMAND --help: that command's)\n"
                 "  --version            show the library version\n"
                 "\nNumbers are decimal or 0x-prefixed hexadecimal.  FILE '-' is standard input.\n"
                 "Exit status: 0 valid (or done); 1 the file is invalid, with the reasons on\n"
                 "stderr; 2 usage or I/O error.\n");
}

static void print_command_help(const command *c)
{
    printf("Usage: %s %s [--json]%s%s%s %s\n%s.\n\n%s", PROG, c->name,
           (c->options & OPT_RANGE) ? " [--offset N] [--length N] [--stored]" : "", (c->options & OPT_OUTPUT) ? " [-o OUT]" : "",
           (c->options & OPT_MAP) ? " [--map-address ADDR [--anchor NAME=ADDR]...]" : "", c->args, c->summary,
           c->details);
    printf("\nOptions:\n  --json               machine-readable output (docs/INSPECT-JSON.md)\n");
    if (c->options & OPT_RANGE)
        printf("  --offset N           start N bytes into the section (default 0)\n"
               "  --length N           N bytes (default: to the section's end)\n"
               "  --stored             a compressed section's zlib stream as stored, not the\n"
               "                       bytes it inflates to\n");
    if (c->options & OPT_OUTPUT)
        printf("  -o, --output OUT     write to OUT instead of stdout ('-': stdout); a regular\n"
               "                       file is written in place, keeping its owner and mode\n");
    if (c->options & OPT_MAP)
        printf("  --map-address ADDR   resolve as if file offset 0 were at ADDR\n"
               "  --anchor NAME=ADDR   anchor NAME is at ADDR (repeatable)\n");
    printf("  -h, --help           show this help\n"
           "\nExit status: 0 valid (or done); 1 the file is invalid; 2 usage or I/O error.\n");
}

int inspect_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry '" PROG " --help' for more information.\n", stderr);
    return EXIT_USAGE;
}

/* --name=value or --name value.  Returns the value, or NULL (usage error
 * printed) when it is missing. */
static const char *option_value(const command *c, const char *opt, int argc, char **argv, int *i)
{
    const char *eq = strchr(opt, '=');
    if (eq && opt[1] == '-')
        return eq + 1;
    if (*i + 1 >= argc) {
        inspect_usage_error("%s: option '%s' needs a value", c->name, opt);
        return NULL;
    }
    return argv[++*i];
}

static int option_is(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || (arg[n] == '=' && name[1] == '-'));
}

static int parse_number_option(const command *c, const char *opt, const char *v, uint64_t *out)
{
    int rc = parse_uint(v, UINT64_MAX, out);
    if (rc == -2)
        return inspect_usage_error("%s: %s '%s' is too large: at most 2^64 - 1", c->name, opt, v);
    if (rc != 0)
        return inspect_usage_error("%s: %s '%s' is not a number (decimal, or hexadecimal with 0x)", c->name, opt, v);
    return -1;
}

static int parse_anchor(const command *c, inspect_args *a, const char *v)
{
    const char *eq = strchr(v, '=');
    size_t len = eq ? (size_t)(eq - v) : 0;
    anchor_arg *an;

    if (!eq || len == 0 || len >= sizeof an->name)
        return inspect_usage_error("%s: --anchor '%s': expected NAME=ADDR, NAME 1 to 31 bytes", c->name, v);
    for (size_t i = 0; i < len; i++)
        if (v[i] < 0x21 || v[i] > 0x7e)
            return inspect_usage_error("%s: --anchor '%s': an anchor name is printable ASCII without spaces", c->name,
                                       v);
    if (a->anchor_count == INSPECT_MAX_ANCHOR_ARGS)
        return inspect_usage_error("%s: more than %u --anchor options", c->name, INSPECT_MAX_ANCHOR_ARGS);
    an = &a->anchor[a->anchor_count];
    memcpy(an->name, v, len);
    an->name[len] = '\0';
    for (size_t i = 0; i < a->anchor_count; i++)
        if (strcmp(a->anchor[i].name, an->name) == 0)
            return inspect_usage_error("%s: --anchor %s given twice", c->name, an->name);
    if (parse_uint(eq + 1, UINT64_MAX, &an->address) != 0)
        return inspect_usage_error("%s: --anchor '%s': '%s' is not an address (at most 2^64 - 1)", c->name, v,
                                   eq + 1);
    a->anchor_count++;
    return -1;
}

/* Fills *a from argv (argv[0] is the command's name).  Returns -1 to run
 * the command, else the exit status. */
static int parse_command_line(const command *c, int argc, char **argv, inspect_args *a)
{
    const char *pos[2];
    int npos = 0, only_positional = 0;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        int rc = -1;

        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            if (npos < 2)
                pos[npos] = arg;
            npos++;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = 1;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            print_command_help(c);
            return EXIT_VALID;
        } else if (strcmp(arg, "--json") == 0) {
            a->json = 1;
        } else if ((c->options & OPT_RANGE) && strcmp(arg, "--stored") == 0) {
            a->stored = 1;
        } else if ((c->options & OPT_RANGE) && option_is(arg, "--offset")) {
            if (!(v = option_value(c, arg, argc, argv, &i)))
                return EXIT_USAGE;
            rc = parse_number_option(c, "--offset", v, &a->offset);
            a->has_offset = 1;
        } else if ((c->options & OPT_RANGE) && option_is(arg, "--length")) {
            if (!(v = option_value(c, arg, argc, argv, &i)))
                return EXIT_USAGE;
            rc = parse_number_option(c, "--length", v, &a->length);
            a->has_length = 1;
        } else if ((c->options & OPT_OUTPUT) && (strcmp(arg, "-o") == 0 || option_is(arg, "--output"))) {
            if (!(v = option_value(c, arg, argc, argv, &i)))
                return EXIT_USAGE;
            a->output = v;
        } else if ((c->options & OPT_MAP) && option_is(arg, "--map-address")) {
            if (!(v = option_value(c, arg, argc, argv, &i)))
                return EXIT_USAGE;
            rc = parse_number_option(c, "--map-address", v, &a->map_address);
            a->has_map_address = 1;
        } else if ((c->options & OPT_MAP) && option_is(arg, "--anchor")) {
            if (!(v = option_value(c, arg, argc, argv, &i)))
                return EXIT_USAGE;
            rc = parse_anchor(c, a, v);
        } else {
            return inspect_usage_error("%s: unknown option '%s'", c->name, arg);
        }
        if (rc >= 0)
            return rc;
    }
    if (npos != c->nargs)
        return inspect_usage_error("%s: expected %s, got %d argument%s", c->name, c->args, npos, npos == 1 ? "" : "s");
    if (a->anchor_count && !a->has_map_address)
        return inspect_usage_error("%s: --anchor needs --map-address", c->name);
    if (a->output && a->output[0] == '\0')
        return inspect_usage_error("%s: -o needs a file name ('-' for standard output)", c->name);
    a->path = pos[0];
    a->section = c->nargs > 1 ? pos[1] : NULL;
    return -1;
}

int main(int argc, char **argv)
{
    inspect_args a;
    int first = 1, rc;

    memset(&a, 0, sizeof a);
    clearerr(stdout);
    /* options before the command: --json, --help, --version */
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "-h") == 0 || strcmp(argv[first], "--help") == 0) {
            print_usage(stdout);
            return finish_output(EXIT_VALID);
        }
        if (strcmp(argv[first], "--version") == 0) {
            printf("%s (libpcache %s, format %d.%d, DynamoRIO .dpc version %u)\n", PROG, PCACHE_VERSION_STRING,
                   PCACHE_FORMAT_MAJOR, PCACHE_FORMAT_MINOR, PCACHE_DPC_VERSION);
            return finish_output(EXIT_VALID);
        }
        if (strcmp(argv[first], "--json") == 0) {
            a.json = 1;
            continue;
        }
        return inspect_usage_error("unknown option '%s'", argv[first]);
    }
    if (first >= argc)
        return inspect_usage_error("no command given");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(argv[first], commands[i].name) == 0) {
            rc = parse_command_line(&commands[i], argc - first, argv + first, &a);
            if (rc >= 0)
                return rc == EXIT_VALID ? finish_output(rc) : rc;
            return commands[i].run(&a);
        }
    return inspect_usage_error("unknown command '%s'", argv[first]);
}
