/*
 * Target: pcache-inspect's whole path, from reading a file to printing
 * every field, on arbitrary bytes: tools/pcache-inspect.c is compiled into
 * this target with its main() renamed pcache_inspect_main, and each input
 * is written to a memory file that every subcommand is run on, --json
 * variants included (a subcommand or option the tool does not have exits
 * with 2 and costs nothing).
 *
 * The tool prints to stdout and stderr: run with -close_fd_mask=3 to keep
 * the terminal quiet (libFuzzer keeps its own and the sanitizers' reports).
 *
 * Each input is run as it is and with its checksums repaired.
 *
 * Oracle: "verify" exits 0 exactly when the library accepts the same bytes
 * (pcache_image_open_memory with no expectation; or, for bytes that start
 * with DR's magic, pcache_dpc_parse and a valid segment at every segment
 * magic pcache_dpc_find_segments finds), else 1; no subcommand exits with
 * anything but 0, 1 or 2.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "pcache/dpc.h"

int pcache_inspect_main(int argc, char **argv);

/* A memory file, reused: its path names it through /proc. */
static const char *input_path(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        if ((fd = memfd_create("pcache-fuzz-input", MFD_CLOEXEC)) < 0)
            fuzz_fail("memfd_create failed");
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
        fuzz_fail("cannot write the input to the memory file");
    return path;
}

static int run(const char *a1, const char *a2, const char *a3)
{
    char *argv[5] = {"pcache-inspect", (char *)a1, (char *)a2, (char *)a3, NULL};
    int argc = a3 ? 4 : a2 ? 3 : 2, rc;
    rc = pcache_inspect_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    if (rc < 0 || rc > 2)
        fuzz_fail("pcache-inspect %s %s exited with %d", a1, a2 ? a2 : "", rc);
    return rc;
}

/* What pcache-inspect verify accepts as a .dpc file. */
static int dpc_valid(const uint8_t *buf, size_t size)
{
    pcache_dpc d;
    pcache_dpc_found *found;
    size_t count = 0;
    int ok;

    if (size < 4 || memcmp(buf, "RIO$", 4) != 0 || pcache_dpc_parse(&d, buf, size, NULL) != PCACHE_OK ||
        pcache_dpc_find_segments(&d, NULL, 0, &count, NULL) != PCACHE_OK)
        return 0;
    if (count == 0)
        return 1;
    if (!(found = calloc(count, sizeof *found)))
        fuzz_fail("out of memory");
    ok = pcache_dpc_find_segments(&d, found, count, &count, NULL) == PCACHE_OK;
    for (size_t i = 0; i < count && ok; i++)
        ok = found[i].status == PCACHE_OK;
    free(found);
    return ok;
}

static void inspect_all(const uint8_t *buf, size_t size)
{
    static const char *const subcommands[] = {"info", "dpc", "sections", "relocs"};
    const char *path = input_path(buf, size);
    pcache_image img;
    int valid = pcache_image_open_memory(&img, buf, size, NULL, NULL) == PCACHE_OK || dpc_valid(buf, size);
    int rc = run("verify", path, NULL);

    if (rc != (valid ? 0 : 1))
        fuzz_fail("pcache-inspect verify exits %d on a file the library %s", rc, valid ? "accepts" : "refuses");
    run("verify", "--json", path);
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
        run(subcommands[i], path, NULL);
        run(subcommands[i], "--json", path);
    }
}

/* As it is, then with its checksums repaired (as a .dpc file when it
 * starts with DR's magic, else as a pcache file). */
int fuzz_inspect(const uint8_t *data, size_t size)
{
    void *block, *fixed_block;
    uint8_t *buf = fuzz_place(data, size, 0, &block);
    uint8_t *fixed = fuzz_place(data, size, 0, &fixed_block);

    inspect_all(buf, size);
    if (size >= 4 && memcmp(fixed, "RIO$", 4) == 0)
        fuzz_fix_dpc(fixed, size);
    else
        fuzz_fix_file(fixed, size);
    if (memcmp(buf, fixed, size) != 0)
        inspect_all(fixed, size);
    free(block);
    free(fixed_block);
    return 0;
}

FUZZ_ENTRY(fuzz_inspect)
