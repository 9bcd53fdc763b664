/* SPDX-License-Identifier: BSD-2-Clause */
/* pcache-inspect: checks, describes and extracts pcache files and
 * DynamoRIO .dpc files.  One function per subcommand, found through the
 * table below, so that a subcommand is added by writing its function and
 * one table row; this file holds only the command line.  Only the public
 * API is used.  main() keeps no state between calls: the fuzz target calls
 * it again and again in one process. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "inspect.h"

/* Options a subcommand takes besides --json and --help (getopt_long, the
 * table in parse_command_line()). */
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
                 "A long option may be shortened to a prefix that names no other; '--' ends the\n"
                 "options.\n"
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

/* Option codes: the short options' characters, the others above them. */
enum { O_HELP = 'h', O_OUTPUT = 'o', O_JSON = 256, O_VERSION, O_STORED, O_OFFSET, O_LENGTH, O_MAP, O_ANCHOR };

/* Every option a command can take, and the OPT_* a command needs for it
 * (0: every command). */
static const struct {
    struct option opt;
    unsigned only;
} command_options[] = {
    {{"json", no_argument, NULL, O_JSON}, 0},
    {{"help", no_argument, NULL, O_HELP}, 0},
    {{"stored", no_argument, NULL, O_STORED}, OPT_RANGE},
    {{"offset", required_argument, NULL, O_OFFSET}, OPT_RANGE},
    {{"length", required_argument, NULL, O_LENGTH}, OPT_RANGE},
    {{"output", required_argument, NULL, O_OUTPUT}, OPT_OUTPUT},
    {{"map-address", required_argument, NULL, O_MAP}, OPT_MAP},
    {{"anchor", required_argument, NULL, O_ANCHOR}, OPT_MAP},
};
#define COMMAND_OPTION_COUNT (sizeof command_options / sizeof command_options[0])

/* The options before the command. */
static const struct option global_options[] = {
    {"help", no_argument, NULL, O_HELP},
    {"version", no_argument, NULL, O_VERSION},
    {"json", no_argument, NULL, O_JSON},
    {NULL, 0, NULL, 0},
};

/* The usage error for what getopt_long() refused (opterr is 0: the
 * messages are these).  where: "verify: " or "". */
static int bad_option(const char *where, int ch, char **argv, const struct option *longs)
{
    const char *arg = argv[optind - 1];
    const char *name = NULL;

    for (const struct option *o = longs; o->name; o++)
        if (optopt && o->val == optopt)
            name = o->name;
    if (ch == ':') {
        /* getopt_long has moved past the option whose value is missing */
        if (strncmp(arg, "--", 2) == 0 && name)
            return inspect_usage_error("%soption '--%s' needs a value", where, name);
        return inspect_usage_error("%soption '-%c' needs a value", where, optopt);
    }
    if (optopt == 0) {
        /* a long option: unknown, or an abbreviation of several */
        size_t n = strcspn(arg + 2, "="), matches = 0, len = 0;
        char names[128] = "";
        for (const struct option *o = longs; o->name; o++)
            if (strncmp(o->name, arg + 2, n) == 0 && len < sizeof names) {
                len += (size_t)snprintf(names + len, sizeof names - len, "%s--%s", matches ? ", " : "", o->name);
                matches++;
            }
        if (matches > 1)
            return inspect_usage_error("%soption '%.*s' is ambiguous: %s", where, (int)(n + 2), arg, names);
        return inspect_usage_error("%sunknown option '%s'", where, arg);
    }
    if (name && (optopt >= 256 || strncmp(arg, "--", 2) == 0))
        return inspect_usage_error("%soption '--%s' takes no value", where, name);
    return inspect_usage_error("%sunknown option '-%c'", where, optopt);
}

/* Fills *a from argv (argv[0] is the command's name).  Returns -1 to run
 * the command, else the exit status. */
static int parse_command_line(const command *c, int argc, char **argv, inspect_args *a)
{
    struct option longs[COMMAND_OPTION_COUNT + 1];
    const char *pos[2];
    char where[32];
    size_t n = 0;
    int npos = 0, ch;

    for (size_t i = 0; i < COMMAND_OPTION_COUNT; i++)
        if (!command_options[i].only || (c->options & command_options[i].only))
            longs[n++] = command_options[i].opt;
    memset(&longs[n], 0, sizeof longs[n]);
    snprintf(where, sizeof where, "%s: ", c->name);
    /* '-': arguments in order, positional ones as code 1 (no reordering
     * of argv, whatever POSIXLY_CORRECT says); ':': a missing value is
     * told apart.  optind 0 starts getopt afresh: main() may be called
     * again (the fuzz target). */
    opterr = 0;
    optind = 0;
    while ((ch = getopt_long(argc, argv, (c->options & OPT_OUTPUT) ? "-:ho:" : "-:h", longs, NULL)) != -1) {
        int rc = -1;
        switch (ch) {
        case 1:
            if (npos < 2)
                pos[npos] = optarg;
            npos++;
            break;
        case O_HELP:
            print_command_help(c);
            return EXIT_VALID;
        case O_JSON:
            a->json = 1;
            break;
        case O_STORED:
            a->stored = 1;
            break;
        case O_OFFSET:
            rc = parse_number_option(c, "--offset", optarg, &a->offset);
            a->has_offset = 1;
            break;
        case O_LENGTH:
            rc = parse_number_option(c, "--length", optarg, &a->length);
            a->has_length = 1;
            break;
        case O_OUTPUT:
            a->output = optarg;
            break;
        case O_MAP:
            rc = parse_number_option(c, "--map-address", optarg, &a->map_address);
            a->has_map_address = 1;
            break;
        case O_ANCHOR:
            rc = parse_anchor(c, a, optarg);
            break;
        default:
            return bad_option(where, ch, argv, longs);
        }
        if (rc >= 0)
            return rc;
    }
    /* after "--": every argument is positional */
    for (; optind < argc; optind++, npos++)
        if (npos < 2)
            pos[npos] = argv[optind];
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
    int first, ch, rc;

    memset(&a, 0, sizeof a);
    clearerr(stdout);
    /* options before the command: --json, --help, --version ('+': the
     * first non-option is the command, and the rest is its own) */
    opterr = 0;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "+:h", global_options, NULL)) != -1) {
        switch (ch) {
        case O_HELP:
            print_usage(stdout);
            return finish_output(EXIT_VALID);
        case O_VERSION:
            printf("%s (libpcache %s, format %d.%d, DynamoRIO .dpc version %u)\n", PROG, PCACHE_VERSION_STRING,
                   PCACHE_FORMAT_MAJOR, PCACHE_FORMAT_MINOR, PCACHE_DPC_VERSION);
            return finish_output(EXIT_VALID);
        case O_JSON:
            a.json = 1;
            break;
        default:
            return bad_option("", ch, argv, global_options);
        }
    }
    first = optind;
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
