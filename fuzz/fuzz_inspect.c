/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Target: pcache-inspect's whole path, from reading a file to printing
 * every field, text and --json: tools/pcache-inspect.c and its parts are
 * compiled into this target with main() renamed pcache_inspect_main, and
 * each input, as it is and with its checksums repaired, is written to a
 * memory file that every subcommand runs on (verify, info, sections, dump
 * and extract of sections the seeds have, relocs with and without a map
 * address).  The tool's stdout goes to /dev/null; its stderr stays (run
 * with -close_fd_mask=2 to silence it: libFuzzer and the sanitizers keep
 * their own reports).
 *
 * Oracle: for a pcache file, "verify" exits 0 exactly when the library
 * accepts it (pcache_image_open_memory, no expectation) and every
 * compressed section inflates (pcache_segment_inflate_alloc: the stream,
 * and its raw checksum), else 1; for a .dpc file the library refuses, 1;
 * no run exits other than 0, 1 or 2.
 */
#define _GNU_SOURCE
#include <fcntl.h>
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

/* Runs the tool with its stdout on /dev/null (a closed stdout would make
 * it exit 2 for an output error), its stderr as it is. */
static int run(const char *const *args)
{
    static int quiet = -1;
    char *argv[12] = {"pcache-inspect"};
    int argc = 1, saved, rc;

    for (; args[argc - 1] && argc < 11; argc++)
        argv[argc] = (char *)args[argc - 1];
    argv[argc] = NULL;
    if (quiet < 0 && (quiet = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
        fuzz_fail("cannot open /dev/null");
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    dup2(quiet, STDOUT_FILENO);
    rc = pcache_inspect_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    if (rc < 0 || rc > 2)
        fuzz_fail("pcache-inspect %s exited with %d", args[0], rc);
    return rc;
}

/* Every compressed section of an opened file inflates: verify inflates
 * them, as a loader would on access (resurrect does not). */
static int inflates(pcache_image *img)
{
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        pcache_segment *seg = pcache_image_segment(img, (pcache_class)c);
        for (uint32_t i = 0; seg && i < seg->section_count; i++) {
            pcache_view v;
            void *out = NULL;
            int ok;
            if (pcache_segment_section(seg, i, &v, NULL) != PCACHE_OK || v.type != PCACHE_TYPE_DATA ||
                !(v.flags & PCACHE_SECTION_COMPRESSED) ||
                (v.flags & ~(PCACHE_SECTION_SKIPPABLE | PCACHE_SECTION_COMPRESSED)))
                continue;
            ok = pcache_segment_inflate_alloc(seg, i, &out, NULL, NULL) == PCACHE_OK;
            pcache_free(out);
            if (!ok)
                return 0;
        }
    }
    return 1;
}

static void inspect_all(const uint8_t *buf, size_t size)
{
    const char *path = input_path(buf, size);
    const char *const verify[] = {"verify", path, NULL};
    const char *const others[][9] = {
        {"--json", "verify", path, NULL},
        {"info", path, NULL},
        {"--json", "info", path, NULL},
        {"sections", path, NULL},
        {"sections", "--json", path, NULL},
        {"dump", path, "ro:a", NULL},
        {"dump", "--json", path, "dr:ro", "--offset", "3", "--length", "40", NULL},
        {"extract", path, "code", NULL},
        {"relocs", path, NULL},
        {"relocs", "--json", "--map-address", "0x7f1200000000", "--anchor", "client=0x20000000", path, NULL},
    };
    int dpc = size >= 4 && memcmp(buf, "RIO$", 4) == 0;
    pcache_image img;
    pcache_dpc d;
    int valid = pcache_image_open_memory(&img, buf, size, NULL, NULL) == PCACHE_OK && inflates(&img);
    int rc = run(verify);

    if (!dpc && rc != (valid ? 0 : 1))
        fuzz_fail("pcache-inspect verify exits %d on a file the library %s", rc, valid ? "accepts" : "refuses");
    if (dpc && pcache_dpc_parse(&d, buf, size, NULL) != PCACHE_OK && rc != 1)
        fuzz_fail("pcache-inspect verify exits %d on a .dpc file the library refuses", rc);
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        run(others[i]);
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
