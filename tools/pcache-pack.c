/* SPDX-License-Identifier: BSD-2-Clause */
/* pcache-pack: builds a standalone pcache file whose sections are the bytes
 * of files.  Only the public API is used, so this is also a worked example
 * of the builder. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "output.h"
#include "pcache/file.h"
#include "pcache/pcache.h"
#include "slurp.h"

#define PROG "pcache-pack"
#define DEFAULT_ALIGN 8u
/* The largest page size of common hosts (arm64, ppc64): above it a file
 * of a few bytes is mostly padding, so it takes --allow-large-page-size. */
#define LARGE_PAGE_SIZE 65536u

enum { EXIT_WRITTEN = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
    "Usage: " PROG " -o OUT --client NAME --client-version N [OPTION]... [SECTION]...\n"
    "Builds a standalone pcache file whose sections are the bytes of files.\n"
    "\n"
    "Sections (repeatable; sections keep their command-line order in a class):\n"
    "  --ro NAME=FILE         add FILE's bytes as section NAME of the read-only class\n"
    "  --rx NAME=FILE         ... of the executable class\n"
    "  --rw NAME=FILE         ... of the writable class\n"
    "  --align NAME=N         align section NAME (in every class that has one) to N\n"
    "                         bytes: a power of two, at most the page size (default 8)\n"
    "  --skippable NAME       mark section NAME skippable: a reader that does not know\n"
    "                         it ignores it instead of refusing the segment\n"
    "  --compress NAME[=LEVEL]\n"
    "                         store ro section NAME as a zlib stream, deflated at\n"
    "                         LEVEL 0 to 9 (default 6); readers inflate it on access.\n"
    "                         Only ro sections: rx and rw are used where they are mapped\n"
    "\n"
    "Image:\n"
    "  -o, --output OUT       file to write: a new file is created, an existing regular\n"
    "                         file (or the one a symbolic link leads to) replaced\n"
    "                         atomically, keeping its permission bits but not its\n"
    "                         owner; a character device or FIFO is written to; '-'\n"
    "                         is standard output.  Nothing else is replaced\n"
    "  --client NAME          client name: 1-63 printable ASCII bytes (required)\n"
    "  --client-version N     client version, 0 to 4294967295 (required)\n"
    "  --checksum ALGO        xxh3 (default) or crc32\n"
    "  --page-round CLASS     round the ro, rx or rw segment up to a whole page\n"
    "  --page-size N          page size to record (default: this host's): a power of\n"
    "                         two from 4096 to 2^30; above 65536 only with\n"
    "                         --allow-large-page-size, as each segment starts on a\n"
    "                         page and the file takes at least one page more\n"
    "  --image-id HEX         image id, 32 hex digits (default: random), for\n"
    "                         reproducible output\n"
    "  --module-base N        base address of the app module the data belongs to\n"
    "  --module-size N        size of that module\n"
    "  --module-digest HEX    digest of that module, up to 32 bytes in hex\n"
    "\n"
    "  -h, --help             show this help and exit\n"
    "  --version              show the library version and exit\n"
    "\n"
    "Numbers are decimal or 0x-prefixed hexadecimal.  A section NAME is 1 to 31\n"
    "printable ASCII bytes without spaces, not starting with '.' (the library's);\n"
    "in NAME=FILE it ends at the first '='.  FILE '-' is standard input (once).\n"
    "Each file is read whole into memory before OUT is touched.  The line saying\n"
    "what was written goes to standard output, or to standard error when the\n"
    "file itself does.\n"
    "\n"
    "Exit status: 0 file written; 1 other failure (e.g. out of memory);\n"
    "2 usage or I/O error.\n"
    "\n"
    "Example:\n"
    "  " PROG " -o demo.pcache --client demo --client-version 1 \\\n"
    "      --ro strings=strings.bin --rx code=code.bin --align code=64\n";

/* One --ro/--rx/--rw argument. */
typedef struct input {
    pcache_class cls;
    const char *arg;  /* NAME=FILE as given, for messages */
    char *name;
    const char *path; /* points into arg */
    uint8_t *data;
    size_t size;
    uint32_t align;
    uint32_t flags;
    int compress;
    int level;
} input;

/* One --align, --skippable or --compress argument: it must name a section. */
typedef struct name_setting {
    const char *option;
    const char *arg;
    char *name;
    uint32_t value;
    int matched;
} name_setting;

/* --compress without a level: zlib's default. */
#define DEFAULT_LEVEL PCACHE_COMPRESS_DEFAULT

typedef struct pack_options {
    const char *output;
    const char *client;
    uint64_t client_version;
    int have_client_version;
    pcache_checksum_algorithm checksum;
    uint64_t page_size;
    int have_page_size;
    int allow_large_page_size;
    uint8_t image_id[PCACHE_IMAGE_ID_SIZE];
    int have_image_id;
    uint64_t module_base, module_size;
    uint8_t module_digest[PCACHE_MODULE_DIGEST_MAX];
    size_t module_digest_len;
    int have_module;
    uint32_t seg_flags[PCACHE_CLASS_COUNT];
    /* each is bounded by argc, so they are allocated once */
    input *inputs;
    size_t n_inputs;
    name_setting *settings;
    size_t n_settings;
} pack_options;

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry '" PROG " --help' for more information.\n", stderr);
    return EXIT_USAGE;
}

static char *copy_prefix(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

static int add_input(pack_options *o, pcache_class cls, const char *arg)
{
    const char *eq = strchr(arg, '=');
    input *in;

    if (!eq || eq == arg || !eq[1])
        return usage_error("--%s '%s': expected NAME=FILE", pcache_class_name(cls), arg);
    in = &o->inputs[o->n_inputs];
    memset(in, 0, sizeof *in);
    in->cls = cls;
    in->arg = arg;
    in->path = eq + 1;
    in->align = DEFAULT_ALIGN;
    if (!(in->name = copy_prefix(arg, (size_t)(eq - arg))))
        return fail(EXIT_FAILED, "out of memory");
    o->n_inputs++;
    return EXIT_WRITTEN;
}

static int add_setting(pack_options *o, const char *option, const char *arg, int has_value)
{
    name_setting *s = &o->settings[o->n_settings];
    size_t len = strlen(arg);

    memset(s, 0, sizeof *s);
    s->option = option;
    s->arg = arg;
    if (has_value) {
        const char *eq = strchr(arg, '=');
        uint64_t v;
        int rc = eq && eq != arg ? parse_uint(eq + 1, UINT32_MAX, &v) : -1;
        if (rc == -2)
            return usage_error("--%s '%s': %s is too large: an alignment is a power of two from 1 to the "
                               "page size", option, arg, eq + 1);
        if (rc != 0)
            return usage_error("--%s '%s': expected NAME=N with N a number", option, arg);
        s->value = (uint32_t)v;
        len = (size_t)(eq - arg);
    } else if (len == 0) {
        return usage_error("--%s: empty section name", option);
    }
    if (!(s->name = copy_prefix(arg, len)))
        return fail(EXIT_FAILED, "out of memory");
    o->n_settings++;
    return EXIT_WRITTEN;
}

/* --compress NAME[=LEVEL]: the level is kept as the setting's value, 0 to
 * 9, or DEFAULT_LEVEL (-1) when absent. */
static int add_compress(pack_options *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    uint64_t level;
    int rc;

    if (eq && eq != arg && parse_uint(eq + 1, 9, &level) == -2)
        return usage_error("--compress '%s': level %s is too large: expected NAME or NAME=LEVEL with LEVEL 0 to 9",
                           arg, eq + 1);
    if (eq && (eq == arg || parse_uint(eq + 1, 9, &level) != 0))
        return usage_error("--compress '%s': expected NAME or NAME=LEVEL with LEVEL 0 to 9", arg);
    rc = add_setting(o, "compress", arg, eq != NULL);
    if (rc == EXIT_WRITTEN && !eq)
        o->settings[o->n_settings - 1].value = (uint32_t)DEFAULT_LEVEL;
    return rc;
}

enum {
    OPT_RO = 256, OPT_RX, OPT_RW, OPT_ALIGN, OPT_SKIPPABLE, OPT_CLIENT, OPT_CLIENT_VERSION,
    OPT_CHECKSUM, OPT_PAGE_ROUND, OPT_PAGE_SIZE, OPT_IMAGE_ID, OPT_MODULE_BASE, OPT_MODULE_SIZE,
    OPT_MODULE_DIGEST, OPT_VERSION, OPT_COMPRESS, OPT_LARGE_PAGE
};

static const struct option long_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {"ro", required_argument, NULL, OPT_RO},
    {"rx", required_argument, NULL, OPT_RX},
    {"rw", required_argument, NULL, OPT_RW},
    {"align", required_argument, NULL, OPT_ALIGN},
    {"skippable", required_argument, NULL, OPT_SKIPPABLE},
    {"compress", required_argument, NULL, OPT_COMPRESS},
    {"client", required_argument, NULL, OPT_CLIENT},
    {"client-version", required_argument, NULL, OPT_CLIENT_VERSION},
    {"checksum", required_argument, NULL, OPT_CHECKSUM},
    {"page-round", required_argument, NULL, OPT_PAGE_ROUND},
    {"page-size", required_argument, NULL, OPT_PAGE_SIZE},
    {"allow-large-page-size", no_argument, NULL, OPT_LARGE_PAGE},
    {"image-id", required_argument, NULL, OPT_IMAGE_ID},
    {"module-base", required_argument, NULL, OPT_MODULE_BASE},
    {"module-size", required_argument, NULL, OPT_MODULE_SIZE},
    {"module-digest", required_argument, NULL, OPT_MODULE_DIGEST},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Returns -1 to go on, else the exit code (--help, --version, errors). */
static int parse_options(pack_options *o, int argc, char **argv)
{
    int opt, rc;

    opterr = 0; /* our messages name the program, not argv[0] */
    while ((opt = getopt_long(argc, argv, "+:o:h", long_options, NULL)) != -1) {
        pcache_class cls;
        size_t len;

        rc = EXIT_WRITTEN;
        switch (opt) {
        case 'o':
            o->output = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_WRITTEN;
        case OPT_VERSION:
            printf("%s (libpcache %s, format %d.%d)\n", PROG, PCACHE_VERSION_STRING,
                   PCACHE_FORMAT_MAJOR, PCACHE_FORMAT_MINOR);
            return EXIT_WRITTEN;
        case OPT_RO:
        case OPT_RX:
        case OPT_RW:
            rc = add_input(o, (pcache_class)(opt - OPT_RO), optarg);
            break;
        case OPT_ALIGN:
            rc = add_setting(o, "align", optarg, 1);
            break;
        case OPT_SKIPPABLE:
            rc = add_setting(o, "skippable", optarg, 0);
            break;
        case OPT_COMPRESS:
            rc = add_compress(o, optarg);
            break;
        case OPT_CLIENT:
            o->client = optarg;
            break;
        case OPT_CLIENT_VERSION:
            if ((rc = parse_uint(optarg, UINT32_MAX, &o->client_version)) != 0)
                return usage_error("--client-version '%s': %s a number from 0 to 4294967295", optarg,
                                   rc == -2 ? "too large: expected" : "expected");
            rc = EXIT_WRITTEN;
            o->have_client_version = 1;
            break;
        case OPT_CHECKSUM:
            if (parse_checksum(optarg, &o->checksum) != 0)
                return usage_error("--checksum '%s': expected xxh3 or crc32", optarg);
            break;
        case OPT_PAGE_ROUND:
            if (parse_class(optarg, &cls) != 0)
                return usage_error("--page-round '%s': expected ro, rx or rw", optarg);
            o->seg_flags[cls] |= PCACHE_SEGMENT_PAGE_ROUNDED;
            break;
        case OPT_PAGE_SIZE:
            if (parse_uint(optarg, UINT32_MAX, &o->page_size) != 0 || o->page_size < 4096 ||
                (o->page_size & (o->page_size - 1)) != 0 || o->page_size > (1u << 30))
                return usage_error("--page-size '%s': expected a power of two from 4096 to 2^30",
                                   optarg);
            o->have_page_size = 1;
            break;
        case OPT_LARGE_PAGE:
            o->allow_large_page_size = 1;
            break;
        case OPT_IMAGE_ID:
            if (parse_hex_bytes(optarg, o->image_id, sizeof o->image_id, &len) != 0 ||
                len != sizeof o->image_id)
                return usage_error("--image-id '%s': expected 32 hex digits", optarg);
            o->have_image_id = 1;
            break;
        case OPT_MODULE_BASE:
            if ((rc = parse_uint(optarg, UINT64_MAX, &o->module_base)) != 0)
                return usage_error("--module-base '%s': %s", optarg,
                                   rc == -2 ? "too large: at most 2^64 - 1" : "expected a number");
            rc = EXIT_WRITTEN;
            o->have_module = 1;
            break;
        case OPT_MODULE_SIZE:
            if ((rc = parse_uint(optarg, UINT64_MAX, &o->module_size)) != 0)
                return usage_error("--module-size '%s': %s", optarg,
                                   rc == -2 ? "too large: at most 2^64 - 1" : "expected a number");
            rc = EXIT_WRITTEN;
            o->have_module = 1;
            break;
        case OPT_MODULE_DIGEST:
            if (parse_hex_bytes(optarg, o->module_digest, sizeof o->module_digest,
                                &o->module_digest_len) != 0)
                return usage_error("--module-digest '%s': expected an even number of hex digits, "
                                   "at most 64", optarg);
            o->have_module = 1;
            break;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt)
                return usage_error("unknown option '-%c'", optopt);
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
        if (rc != EXIT_WRITTEN)
            return rc;
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!o->output)
        return usage_error("no output file: give -o OUT");
    if (!o->output[0])
        return usage_error("-o needs a file name ('-' for standard output)");
    if (o->have_page_size && o->page_size > LARGE_PAGE_SIZE && !o->allow_large_page_size)
        return usage_error("--page-size %llu: each segment starts on a page, so the file would take at least "
                           "%llu bytes, most of them zeros; page sizes above %u need --allow-large-page-size",
                           (unsigned long long)o->page_size, (unsigned long long)o->page_size + 32,
                           LARGE_PAGE_SIZE);
    for (size_t i = 0, stdin_used = 0; i < o->n_inputs; i++)
        if (strcmp(o->inputs[i].path, "-") == 0 && stdin_used++)
            return usage_error("--%s '%s': standard input ('-') is already the file of another section",
                               pcache_class_name(o->inputs[i].cls), o->inputs[i].arg);
    if (!o->client)
        return usage_error("no client name: give --client NAME");
    if (!o->have_client_version)
        return usage_error("no client version: give --client-version N");
    return -1;
}

/* Applies --align, --skippable and --compress to the sections they name
 * (--compress to the ro section of that name). */
static int apply_settings(pack_options *o)
{
    for (size_t i = 0; i < o->n_settings; i++) {
        name_setting *s = &o->settings[i];
        const input *elsewhere = NULL;
        for (size_t j = 0; j < o->n_inputs; j++) {
            input *in = &o->inputs[j];
            if (strcmp(in->name, s->name) != 0)
                continue;
            if (strcmp(s->option, "compress") == 0 && in->cls != PCACHE_RO) {
                elsewhere = in;
                continue;
            }
            if (strcmp(s->option, "align") == 0) {
                in->align = s->value;
            } else if (strcmp(s->option, "compress") == 0) {
                in->compress = 1;
                in->level = (int)s->value;
            } else {
                in->flags |= PCACHE_SECTION_SKIPPABLE;
            }
            s->matched = 1;
        }
        if (!s->matched && elsewhere)
            return usage_error("--compress '%s': section '%s' is in the %s class; only ro sections can be "
                               "compressed (rx and rw sections are used where they are mapped)",
                               s->arg, s->name, pcache_class_name(elsewhere->cls));
        if (!s->matched)
            return usage_error("--%s '%s': no section is named '%s'", s->option, s->arg, s->name);
    }
    return EXIT_WRITTEN;
}

static int make_identity(const pack_options *o, pcache_identity *id)
{
    pcache_status st = pcache_identity_init(id, o->client, (uint32_t)o->client_version);

    if (st == PCACHE_E_CLIENT_NAME)
        return usage_error("--client '%s': a client name is 1 to %u printable ASCII bytes", o->client,
                           PCACHE_CLIENT_NAME_MAX);
    if (st != PCACHE_OK)
        return fail(EXIT_FAILED, "cannot make an identity: %s", pcache_strerror(st));
    id->checksum = o->checksum;
    if (o->have_page_size)
        id->page_size = (uint32_t)o->page_size;
    if (o->have_image_id)
        memcpy(id->image_id, o->image_id, sizeof id->image_id);
    if (o->have_module &&
        (st = pcache_identity_set_module(id, o->module_base, o->module_size, o->module_digest,
                                         o->module_digest_len)) != PCACHE_OK)
        return fail(EXIT_FAILED, "cannot set the module key: %s", pcache_strerror(st));
    return EXIT_WRITTEN;
}

/* Turns a refused section into a message about the argument that gave it. */
static int add_failed(const input *in, pcache_status st, uint32_t page_size)
{
    const char *cls = pcache_class_name(in->cls);

    switch (st) {
    case PCACHE_E_SECTION_NAME:
        if (in->name[0] == '.')
            return usage_error("--%s '%s': section name '%s' is reserved: names starting with '.' are the "
                               "library's own (.relocs, .anchors, .image, .rw/...)", cls, in->arg, in->name);
        return usage_error("--%s '%s': invalid section name '%s': a name is 1 to %u printable "
                           "ASCII bytes without spaces", cls, in->arg, in->name,
                           PCACHE_SECTION_NAME_MAX);
    case PCACHE_E_DUPLICATE_SECTION:
        return usage_error("--%s '%s': the %s class already has a section named '%s'", cls, in->arg,
                           cls, in->name);
    case PCACHE_E_ALIGNMENT:
        return usage_error("--align: alignment %u of section '%s' is not a power of two from 1 to "
                           "the page size %u", in->align, in->name, page_size);
    case PCACHE_E_TOO_MANY_SECTIONS:
        return usage_error("--%s '%s': the %s class already has %u sections, the most allowed", cls,
                           in->arg, cls, PCACHE_MAX_SECTIONS);
    default:
        return fail(EXIT_FAILED, "--%s '%s': %s", cls, in->arg, pcache_strerror(st));
    }
}

/* Statuses of the file layer (pcache/file.h) that an I/O error gives:
 * exit status 2, as documented. */
static int io_status(pcache_status st)
{
    switch (st) {
    case PCACHE_E_IO:
    case PCACHE_E_ACCESS:
    case PCACHE_E_NO_SPACE:
    case PCACHE_E_FILE_TOO_LARGE:
    case PCACHE_E_SHORT_WRITE:
    case PCACHE_E_INTERRUPTED:
    case PCACHE_E_NOT_REGULAR:
    case PCACHE_E_FILE_OWNER:
    case PCACHE_E_FILE_MODE:
    case PCACHE_E_SINK:
        return 1;
    default:
        return 0;
    }
}

/* Writes the file where -o says (output.h): a regular file through
 * pcache_file_save(), atomically, with the replaced file's permission
 * bits (less group and other write, which a loader refuses); standard
 * output, a character device or a FIFO as a stream. */
static int write_output(const pack_options *o, pcache_builder *b, uint64_t file_size)
{
    out_target t;
    pcache_report rep;
    pcache_status st;
    char why[512];
    FILE *said = stdout;
    int rc = EXIT_WRITTEN;

    if (out_resolve(o->output, &t, why, sizeof why) != 0)
        return fail(EXIT_USAGE, "%s", why);
    if (t.kind == OUT_STDOUT || t.kind == OUT_STREAM) {
        out_sink os = {t.fd, 0};
        pcache_sink sink = {out_sink_write, &os};
        /* the file's bytes own standard output: the summary goes aside */
        if (t.kind == OUT_STDOUT)
            said = stderr;
        st = pcache_file_write_sink(b, &sink, NULL);
        if (st != PCACHE_OK && os.err)
            rc = fail(EXIT_USAGE, "cannot write '%s': %s", o->output, strerror(os.err));
        else if (st != PCACHE_OK)
            rc = fail(io_status(st) ? EXIT_USAGE : EXIT_FAILED, "writing '%s': %s", o->output,
                      pcache_builder_report(b)->message[0] ? pcache_builder_report(b)->message : pcache_strerror(st));
    } else {
        pcache_save_options opt;
        memset(&opt, 0, sizeof opt);
        opt.mode = t.kind == OUT_REPLACE ? (unsigned)(t.mode & 0755) : 0644;
        if (opt.mode == 0)
            opt.mode = 0600; /* 0 asks pcache_file_save() for its default, which is this */
        st = pcache_file_save(b, t.path, &opt, &rep);
        if (st != PCACHE_OK && io_status(st))
            rc = fail(EXIT_USAGE, "cannot write '%s': %s", o->output, rep.message[0] ? rep.message : pcache_strerror(st));
        else if (st != PCACHE_OK)
            rc = fail(EXIT_FAILED, "%s", rep.message[0] ? rep.message : pcache_strerror(st));
    }
    if (rc == EXIT_WRITTEN)
        fprintf(said, "wrote '%s': %llu bytes, sections ro %u, rx %u, rw %u\n", o->output,
                (unsigned long long)file_size, pcache_builder_section_count(b, PCACHE_RO),
                pcache_builder_section_count(b, PCACHE_RX), pcache_builder_section_count(b, PCACHE_RW));
    out_release(&t);
    return rc;
}

static int pack(pack_options *o)
{
    pcache_identity id;
    pcache_builder *b = NULL;
    pcache_status st;
    uint64_t file_size;
    int rc;

    if ((rc = apply_settings(o)) != EXIT_WRITTEN || (rc = make_identity(o, &id)) != EXIT_WRITTEN)
        return rc;
    /* every input is read before the output is touched */
    for (size_t i = 0; i < o->n_inputs; i++) {
        input *in = &o->inputs[i];
        if (slurp_file(in->path, &in->data, &in->size) != 0)
            return fail(EXIT_USAGE, "cannot read '%s': %s", strcmp(in->path, "-") ? in->path : "standard input",
                        strerror(errno));
    }
    if ((st = pcache_builder_new(&b, &id)) != PCACHE_OK)
        return fail(EXIT_FAILED, "cannot create a builder: %s", pcache_strerror(st));
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        if (o->seg_flags[c] && (st = pcache_builder_set_segment_flags(b, (pcache_class)c, o->seg_flags[c])))
            goto failed;
    for (size_t i = 0; i < o->n_inputs; i++) {
        input *in = &o->inputs[i];
        st = pcache_builder_add(b, in->cls, in->name, in->data, in->size, in->align, in->flags);
        if (st != PCACHE_OK) {
            rc = add_failed(in, st, id.page_size);
            pcache_builder_free(b);
            return rc;
        }
        if (in->compress && (st = pcache_builder_set_compression(b, in->cls, in->name, in->level)) != PCACHE_OK) {
            rc = fail(EXIT_FAILED, "--compress %s: %s", in->name, pcache_builder_report(b)->message);
            pcache_builder_free(b);
            return rc;
        }
    }
    if ((st = pcache_file_size(b, &file_size)) != PCACHE_OK)
        goto failed;
    rc = write_output(o, b, file_size);
    pcache_builder_free(b);
    return rc;

failed:
    rc = fail(EXIT_FAILED, "%s", pcache_strerror(st));
    pcache_builder_free(b);
    return rc;
}

int main(int argc, char **argv)
{
    pack_options o;
    int rc;

    memset(&o, 0, sizeof o);
    o.checksum = PCACHE_CHECKSUM_XXH3_64;
    o.inputs = calloc((size_t)argc, sizeof *o.inputs);
    o.settings = calloc((size_t)argc, sizeof *o.settings);
    if (!o.inputs || !o.settings) {
        rc = fail(EXIT_FAILED, "out of memory");
    } else {
        rc = parse_options(&o, argc, argv);
        if (rc < 0)
            rc = pack(&o);
    }
    for (size_t i = 0; i < o.n_inputs; i++) {
        free(o.inputs[i].name);
        free(o.inputs[i].data);
    }
    for (size_t i = 0; i < o.n_settings; i++)
        free(o.settings[i].name);
    free(o.inputs);
    free(o.settings);
    return rc;
}
