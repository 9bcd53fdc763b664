/* pcache-inspect: checks and describes pcache files.  One function per
 * subcommand, found through a table, so that a subcommand is added by
 * writing its function and one table row.  Only the public API is used. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pcache/pcache.h"

#define PROG "pcache-inspect"

enum { EXIT_VALID = 0, EXIT_INVALID = 1, EXIT_USAGE = 2 };

typedef struct command {
    const char *name;
    const char *args;
    const char *summary;
    /* argv[0] is the subcommand's name; returns the exit status */
    int (*run)(const struct command *cmd, int argc, char **argv);
} command;

static int cmd_verify(const command *cmd, int argc, char **argv);
static int cmd_info(const command *cmd, int argc, char **argv);

static const command commands[] = {
    {"verify", "FILE", "check every byte of FILE; exit 0 if valid, 1 if not", cmd_verify},
    {"info", "FILE", "describe FILE: header, each segment's identity, each section", cmd_info},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_usage(FILE *out)
{
    fprintf(out, "Usage: %s COMMAND [ARG]...\n"
                 "Checks and describes standalone pcache files.\n\nCommands:\n", PROG);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-7s %-6s %s\n", commands[i].name, commands[i].args, commands[i].summary);
    fprintf(out, "\nOptions:\n"
                 "  -h, --help     show this help (COMMAND --help: that command's)\n"
                 "  --version      show the library version\n"
                 "\nExit status: 0 valid (or done); 1 the file is invalid, with the reason\n"
                 "on stderr; 2 usage or I/O error.\n");
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

/* The common argument shape "COMMAND FILE".  Returns -1 to go on, else the
 * exit status. */
static int one_file_argument(const command *cmd, int argc, char **argv, const char **path)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("Usage: %s %s %s\n%s\n", PROG, cmd->name, cmd->args, cmd->summary);
        return EXIT_VALID;
    }
    if (argc != 2)
        return usage_error("%s: expected %s, got %d arguments", cmd->name, cmd->args, argc - 1);
    if (argv[1][0] == '-' && argv[1][1])
        return usage_error("%s: unknown option '%s'", cmd->name, argv[1]);
    *path = argv[1];
    return -1;
}

/* Opens and fully validates path.  Returns EXIT_VALID with *img open, or
 * prints why not and returns EXIT_INVALID (the bytes are not a valid file)
 * or EXIT_USAGE (the file could not be read). */
static int open_image(const char *path, pcache_image *img)
{
    pcache_report rep;
    pcache_status st = pcache_image_read_path(img, path, NULL, &rep);
    const char *why = rep.message[0] ? rep.message : pcache_strerror(st);

    if (st == PCACHE_OK)
        return EXIT_VALID;
    if (st == PCACHE_E_IO && rep.sys_errno) {
        fprintf(stderr, "%s: cannot read '%s': %s\n", PROG, path, strerror(rep.sys_errno));
        return EXIT_USAGE;
    }
    if (st == PCACHE_E_IO || st == PCACHE_E_NO_MEMORY || st == PCACHE_E_INVALID_ARGUMENT) {
        fprintf(stderr, "%s: %s\n", PROG, why);
        return EXIT_USAGE;
    }
    fprintf(stderr, "%s: '%s' is invalid: %s [%s]\n", PROG, path, why, pcache_status_name(st));
    return EXIT_INVALID;
}

static uint32_t total_sections(const pcache_image *img)
{
    uint32_t n = 0;
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        if (img->present[c])
            n += img->seg[c].section_count;
    return n;
}

static int cmd_verify(const command *cmd, int argc, char **argv)
{
    const char *path;
    pcache_image img;
    uint32_t n;
    int rc = one_file_argument(cmd, argc, argv, &path);

    if (rc >= 0)
        return rc;
    if ((rc = open_image(path, &img)) != EXIT_VALID)
        return rc;
    n = total_sections(&img);
    printf("'%s' is valid: format %u.%u, %llu bytes, %u section%s\n", path, img.format_major,
           img.format_minor, (unsigned long long)img.size, n, n == 1 ? "" : "s");
    pcache_image_close(&img);
    return EXIT_VALID;
}

/* ---- info ---- */

static const char *arch_name(uint16_t arch)
{
    switch (arch) {
    case 3: return "i386";
    case 21: return "ppc64";
    case 40: return "arm";
    case 62: return "x86-64";
    case 183: return "aarch64";
    case 243: return "riscv";
    default: return "unknown";
    }
}

static const char *byte_order_name(uint8_t order)
{
    return order == PCACHE_LITTLE_ENDIAN ? "little-endian"
           : order == PCACHE_BIG_ENDIAN  ? "big-endian"
                                         : "unknown";
}

static void print_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

/* CRC-32 values are 32 bits wide; show them so. */
static void print_checksum(pcache_checksum_algorithm algo, uint64_t v)
{
    printf(algo == PCACHE_CHECKSUM_CRC32 ? "0x%08llx" : "0x%016llx", (unsigned long long)v);
}

static void print_field_u64(const char *key, uint64_t v)
{
    printf("  %-16s %llu (0x%llx)\n", key, (unsigned long long)v, (unsigned long long)v);
}

static void print_file_header(const char *path, const pcache_image *img)
{
    printf("file '%s'\n", path);
    printf("  %-16s %u.%u\n", "format", img->format_major, img->format_minor);
    printf("  %-16s %u\n", "page size", img->page_size);
    printf("  %-16s %s\n", "checksum", pcache_checksum_name(img->checksum));
    printf("  %-16s ", "image id");
    print_hex(img->image_id, sizeof img->image_id);
    printf("\n");
    print_field_u64("file size", img->size);
    printf("  %-16s %u\n", "sections", total_sections(img));
}

static void print_identity(const pcache_identity *id)
{
    printf("  %-16s %s\n", "client", id->client_name);
    printf("  %-16s %u\n", "client version", id->client_version);
    printf("  %-16s %s\n", "byte order", byte_order_name(id->byte_order));
    printf("  %-16s %u\n", "pointer size", id->pointer_size);
    printf("  %-16s %u (%s)\n", "arch", id->arch, arch_name(id->arch));
    printf("  %-16s %u\n", "page size", id->page_size);
    printf("  %-16s 0x%llx\n", "module base", (unsigned long long)id->module_base);
    print_field_u64("module size", id->module_size);
    printf("  %-16s ", "module digest");
    if (id->module_digest_len)
        print_hex(id->module_digest, id->module_digest_len);
    else
        printf("none");
    printf("\n");
}

static void print_section_flags(const pcache_view *v)
{
    const char *sep = "";
    if (v->flags == 0 && v->known) {
        printf("none");
        return;
    }
    if (v->flags & PCACHE_SECTION_SKIPPABLE) {
        printf("skippable");
        sep = ",";
    }
    if (v->flags & ~PCACHE_SECTION_SKIPPABLE) {
        printf("%s0x%x", sep, v->flags & ~PCACHE_SECTION_SKIPPABLE);
        sep = ",";
    }
    if (!v->known)
        printf("%sunknown", sep);
}

/* Returns EXIT_VALID, or EXIT_INVALID if a section cannot be listed (not
 * expected after full validation, but not assumed). */
static int print_section(pcache_segment *seg, uint64_t seg_file_offset, uint32_t i)
{
    pcache_report rep;
    pcache_view v;
    uint64_t sum;
    pcache_status st = pcache_segment_section(seg, i, &v, &rep);

    if (st == PCACHE_OK)
        st = pcache_segment_section_checksum(seg, i, &sum);
    if (st != PCACHE_OK) {
        fprintf(stderr, "%s: section %u: %s\n", PROG, i, rep.message[0] ? rep.message : pcache_strerror(st));
        return EXIT_INVALID;
    }
    printf("  section %u: name=%s type=", i, v.name);
    if (v.type == PCACHE_TYPE_DATA)
        printf("data");
    else
        printf("%u", v.type);
    printf(" flags=");
    print_section_flags(&v);
    printf(" align=%u segment_offset=0x%llx file_offset=0x%llx size=%llu checksum=", v.alignment,
           (unsigned long long)v.offset, (unsigned long long)(seg_file_offset + v.offset),
           (unsigned long long)v.size);
    print_checksum(seg->identity.checksum, sum);
    printf("\n");
    return EXIT_VALID;
}

static int print_segment(pcache_image *img, pcache_class cls)
{
    pcache_segment *seg = pcache_image_segment(img, cls);
    int rc = EXIT_VALID;

    printf("segment %s\n", pcache_class_name(cls));
    print_field_u64("offset", img->offset[cls]);
    print_field_u64("size", img->seg_size[cls]);
    printf("  %-16s %s\n", "flags", (seg->flags & PCACHE_SEGMENT_PAGE_ROUNDED) ? "page-rounded" : "none");
    printf("  %-16s %u.%u\n", "format", seg->format_major, seg->format_minor);
    print_identity(&seg->identity);
    printf("  %-16s %u\n", "sections", seg->section_count);
    for (uint32_t i = 0; i < seg->section_count && rc == EXIT_VALID; i++)
        rc = print_section(seg, img->offset[cls], i);
    return rc;
}

static int cmd_info(const command *cmd, int argc, char **argv)
{
    const char *path;
    pcache_image img;
    int rc = one_file_argument(cmd, argc, argv, &path);

    if (rc >= 0)
        return rc;
    if ((rc = open_image(path, &img)) != EXIT_VALID)
        return rc;
    print_file_header(path, &img);
    for (int c = 0; c < PCACHE_CLASS_COUNT && rc == EXIT_VALID; c++)
        if (img.present[c])
            rc = print_segment(&img, (pcache_class)c);
    pcache_image_close(&img);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("no command given");
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        print_usage(stdout);
        return EXIT_VALID;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("%s (libpcache %s, format %d.%d)\n", PROG, PCACHE_VERSION_STRING, PCACHE_FORMAT_MAJOR,
               PCACHE_FORMAT_MINOR);
        return EXIT_VALID;
    }
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(&commands[i], argc - 1, argv + 1);
    return usage_error("unknown command '%s'", argv[1]);
}
