/* SPDX-License-Identifier: BSD-2-Clause */
/* What every test of tests/dr/ does around its cases: a scratch folder for
 * the .dpc files it makes (made by the group setup, removed with the
 * model's state by the group teardown), paths in it, and whole files read
 * and written. */
#ifndef PCACHE_DR_TEST_FILES_H
#define PCACHE_DR_TEST_FILES_H

#include <stddef.h>
#include <stdint.h>

/* The scratch folder, once dr_test_dir_make() has made it. */
extern char dr_test_dir[512];

/* Makes the scratch folder from a mkdtemp(3) template ("/tmp/x-XXXXXX");
 * fails the test if it cannot.  Returns 0, as a cmocka group setup. */
int dr_test_dir_make(const char *tmpl);
/* A cmocka group teardown: resets the model of DR (dr_model_reset(NULL))
 * and removes the scratch folder with all in it. */
int dr_test_teardown(void **state);

/* buf = the scratch folder's file name. */
void dr_test_path(char *buf, size_t n, const char *name);
/* The same, and no file there (unlink(2)ed): where a test will write one. */
void dr_test_new_path(char *buf, size_t n, const char *name);
/* The whole of a non-empty file, malloc'd (the caller frees it); fails the
 * test if it cannot. */
uint8_t *dr_test_read(const char *path, size_t *size);
/* Writes p[0..n) as the whole of path; fails the test if it cannot. */
void dr_test_write(const char *path, const uint8_t *p, size_t n);
/* 8 bytes in host order, from anywhere. */
uint64_t dr_test_rd64(const void *p);

#endif
