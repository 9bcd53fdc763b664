/* SPDX-License-Identifier: BSD-2-Clause */
/* Running the built tools as a user does, for the tool tests: a scratch
 * directory per case, each tool run as a child process with its exit
 * status, stdout and stderr captured.
 *
 * PCACHE_TOOL_WRAPPER (e.g. "valgrind -q --error-exitcode=99") is put in
 * front of every tool command, so that the tools themselves, not only the
 * test driver, can be run under a checker; a sanitizer or valgrind report
 * on stderr fails the case whatever the exit status. */
#ifndef PCACHE_TESTS_TOOL_RUN_H
#define PCACHE_TESTS_TOOL_RUN_H

#include <stddef.h>
#include <stdint.h>

typedef struct run_result {
    int status; /* exit status, or 128 + signal */
    char *out;  /* NUL-terminated (a NUL in the output ends the string) */
    size_t out_size;
    char *err;
    /* The child's peak resident set in KiB (wait4), from fork on: at least
     * the test's own at that moment, which run() keeps small. */
    long max_rss_kib;
} run_result;

typedef struct fixture {
    char dir[64];
} fixture;

/* "<dir>/<name>", malloc'd. */
char *path_in(const fixture *f, const char *name);
void write_bytes(const char *path, const void *data, size_t size);
/* The whole file, malloc'd with a NUL after it; NULL if it cannot be read.
 * size may be NULL. */
uint8_t *read_bytes(const char *path, size_t *size);

/* Runs tool with the NULL-terminated arguments. */
void run(const fixture *f, run_result *r, const char *tool, ...);
/* The same with an argument vector (NULL-terminated). */
void run_argv(const fixture *f, run_result *r, const char *tool, const char *const *args);
/* The same with standard input read from stdin_path (else /dev/null). */
void run_argv_stdin(const fixture *f, run_result *r, const char *stdin_path, const char *tool,
                    const char *const *args);
void result_free(run_result *r);

void expect_status(const run_result *r, int status);
void expect_contains(const char *what, const char *text, const char *needle);
void expect_not_contains(const char *what, const char *text, const char *needle);

/* cmocka setup and teardown: a fresh scratch directory in *state. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

/* Runs the cases, or only the one named on the command line (a misspelt
 * name fails rather than running nothing). */
struct CMUnitTest;
int run_cases(const struct CMUnitTest *tests, size_t count, const char *only);

#endif
