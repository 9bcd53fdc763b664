/* SPDX-License-Identifier: BSD-2-Clause */
#define _GNU_SOURCE
#include "tool_run.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

char *path_in(const fixture *f, const char *name)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", f->dir, name) > 0);
    return p;
}

void write_bytes(const char *path, const void *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, size, fp), size);
    assert_int_equal(fclose(fp), 0);
}

uint8_t *read_bytes(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, used = 0, n;

    if (!fp)
        return NULL;
    do {
        if (used == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        n = fread(buf + used, 1, cap - used, fp);
        used += n;
    } while (n > 0);
    fclose(fp);
    buf[used] = '\0'; /* outputs are read as strings */
    if (size)
        *size = used;
    return buf;
}

void run_argv(const fixture *f, run_result *r, const char *tool, const char *const *args)
{
    run_argv_stdin(f, r, "/dev/null", tool, args);
}

void run_argv_stdin(const fixture *f, run_result *r, const char *stdin_path, const char *tool,
                    const char *const *args)
{
    const char *argv[96];
    char *wrapper = getenv("PCACHE_TOOL_WRAPPER") ? strdup(getenv("PCACHE_TOOL_WRAPPER")) : NULL;
    char *out_path = path_in(f, "stdout.txt"), *err_path = path_in(f, "stderr.txt");
    size_t n = 0, err_size;
    struct rusage ru;
    pid_t pid;
    int ws;

    if (wrapper)
        for (char *tok = strtok(wrapper, " "); tok && n < 32; tok = strtok(NULL, " "))
            argv[n++] = tok;
    argv[n++] = tool;
    for (size_t i = 0; args[i]; i++) {
        assert_true(n < 95);
        argv[n++] = args[i];
    }
    argv[n] = NULL;

    fflush(NULL);
    /* The child starts with this process's resident pages, and Linux
     * keeps that peak across exec: hand freed heap back first, so that
     * max_rss_kib is the tool's. */
    malloc_trim(0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open(stdin_path, O_RDONLY);
        if (o < 0 || e < 0 || nul < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || dup2(nul, 0) < 0)
            _exit(127);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    assert_int_equal(wait4(pid, &ws, 0, &ru), pid);
    r->max_rss_kib = ru.ru_maxrss;
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    r->out = (char *)read_bytes(out_path, &r->out_size);
    r->err = (char *)read_bytes(err_path, &err_size);
    assert_non_null(r->out);
    assert_non_null(r->err);
    free(out_path);
    free(err_path);
    free(wrapper);
    /* A sanitizer or valgrind complaint fails the case whatever the status. */
    if (strstr(r->err, "Sanitizer") || strstr(r->err, "runtime error:") || strstr(r->err, "==ERROR") ||
        strstr(r->err, "Invalid read") || strstr(r->err, "Invalid write") || strstr(r->err, "definitely lost") ||
        strstr(r->err, "uninitialised"))
        fail_msg("%s reported a memory error:\n%s", tool, r->err);
}

void run(const fixture *f, run_result *r, const char *tool, ...)
{
    const char *args[64];
    size_t n = 0;
    va_list ap;

    va_start(ap, tool);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
        assert_true(n < 63);
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    run_argv(f, r, tool, args);
}

void result_free(run_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

void expect_status(const run_result *r, int status)
{
    if (r->status != status)
        fail_msg("exit status %d, expected %d\nstdout:\n%s\nstderr:\n%s", r->status, status, r->out, r->err);
}

void expect_contains(const char *what, const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("%s does not contain \"%s\":\n%s", what, needle, text);
}

void expect_not_contains(const char *what, const char *text, const char *needle)
{
    if (strstr(text, needle))
        fail_msg("%s contains \"%s\":\n%s", what, needle, text);
}

int fixture_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");

    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/pcache-tools-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int fixture_teardown(void **state)
{
    fixture *f = *state;
    int rc = nftw(f->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return rc;
}

int run_cases(const struct CMUnitTest *tests, size_t count, const char *only)
{
    if (only) {
        size_t i;
        for (i = 0; i < count; i++)
            if (strcmp(tests[i].name, only) == 0)
                break;
        if (i == count) {
            fprintf(stderr, "no case named '%s'\n", only);
            return 2;
        }
        cmocka_set_test_filter(only);
    }
    return _cmocka_run_group_tests("tools", tests, count, NULL, NULL);
}
