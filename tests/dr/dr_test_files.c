/* SPDX-License-Identifier: BSD-2-Clause */
/* The scratch folder and whole-file I/O of the tests of tests/dr/
 * (dr_test_files.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dr_model.h"
#include "dr_test_files.h"

char dr_test_dir[512];

int dr_test_dir_make(const char *tmpl)
{
    snprintf(dr_test_dir, sizeof dr_test_dir, "%s", tmpl);
    assert_non_null(mkdtemp(dr_test_dir));
    return 0;
}

int dr_test_teardown(void **state)
{
    char cmd[600];
    (void)state;
    dr_model_reset(NULL);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dr_test_dir);
    return system(cmd) == 0 ? 0 : -1;
}

void dr_test_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", dr_test_dir, name);
}

void dr_test_new_path(char *buf, size_t n, const char *name)
{
    dr_test_path(buf, n, name);
    unlink(buf);
}

uint8_t *dr_test_read(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    p = malloc((size_t)n);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return p;
}

void dr_test_write(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

uint64_t dr_test_rd64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
