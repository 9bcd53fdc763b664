/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers for the file-layer tests: a fault-injecting pcache_file_ops
 * table, tagged images whose every byte says which image it belongs to,
 * scratch directories, and checks for forked children (which report
 * through their exit status, not through cmocka).
 */
#ifndef PCACHE_FILE_TEST_SUPPORT_H
#define PCACHE_FILE_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pcache/file.h"
#include "pcache/pcache.h"

/* ---- fault injection ---- */

typedef enum ft_op {
    FT_OPENAT, FT_CLOSE, FT_WRITE, FT_FSYNC, FT_RENAMEAT, FT_UNLINKAT, FT_FSTAT, FT_MMAP, FT_MUNMAP,
    FT_OP_COUNT,
    FT_ANY = FT_OP_COUNT
} ft_op;

#define FT_LOG_MAX 8192

typedef struct ft_faults ft_faults;
/* Runs before the call it is told about (n: its 1-based index among all
 * calls).  Returning nonzero makes the call fail with f->fail_errno. */
typedef int (*ft_hook)(ft_faults *f, ft_op op, unsigned long n);

struct ft_faults {
    pcache_file_ops ops;         /* hand &ops to the library; ctx = this */
    const pcache_file_ops *real; /* what calls go to */
    unsigned long calls;         /* every call so far */
    unsigned long per_op[FT_OP_COUNT];
    unsigned long failed;        /* calls made to fail */
    ft_op log[FT_LOG_MAX];       /* op of call 1, 2, ... */
    uint64_t written;            /* bytes that write() accepted */
    uint64_t write_offset[FT_LOG_MAX]; /* bytes written before write call i (per_op index) */

    /* Fail calls fail_at .. fail_at + fail_times - 1 of fail_op (per-op
     * 1-based numbering; FT_ANY counts all calls) with fail_errno.  A
     * failing write with fail_errno 0 returns 0 (no progress). */
    int fail_op;                 /* -1: none */
    unsigned long fail_at;
    unsigned long fail_times;    /* 0 means 1 */
    int fail_errno;
    /* raise(SIGKILL) just before call number kill_before (all calls
     * counted, 1-based); 0: never */
    unsigned long kill_before;
    /* cap on the bytes one write() takes, to force short writes; 0: none */
    size_t write_cap;
    ft_hook hook;
    void *hook_ctx;
};

void ft_faults_init(ft_faults *f);
/* Makes the failure plan: op's n-th call (and times-1 more) fail with err. */
void ft_fail(ft_faults *f, ft_op op, unsigned long n, unsigned long times, int err);
const char *ft_op_name(ft_op op);

/* ---- tagged images ---- */

/* An image whose sections (ro "tag" + "data", rx "code", rw "vars")
 * hold bytes derived from tag alone; sizes depend on bytes and tag.  The
 * builder reads the buffers at save time: keep the image until then. */
typedef struct ft_image {
    pcache_builder *b;
    pcache_identity id;
    uint32_t tag;
    uint8_t *buf[4];
    size_t size[4];
} ft_image;

void ft_image_make(ft_image *img, uint32_t tag, size_t bytes);
void ft_image_free(ft_image *img);
/* The expectation every test loads with (this client, any image id). */
void ft_expect(pcache_expect *exp);

/* Checks that an opened file is one whole tagged image: every section
 * present and every byte of it what its tag dictates.  Returns 0 and
 * *tag, or -1 with a description in why[256]. */
int ft_file_tag(pcache_file *f, uint32_t *tag, char why[256]);
/* Opens path (default options, ft_expect) and checks it as above.  Returns
 * PCACHE_OK and *tag; an open failure's status; or PCACHE_E_STATE for a
 * file that opened but is not one whole image. */
pcache_status ft_load_tag(const char *path, uint32_t *tag, char why[256]);

/* ---- scratch directories ---- */

/* A fresh private directory under $TMPDIR or /tmp (path[256]). */
void ft_mkdtemp(char *path, const char *what);
/* Removes a tree (best effort). */
void ft_rmtree(const char *path);
/* Number of entries of dir whose name contains PCACHE_FILE_TMP_TAG
 * (-1 if dir cannot be read). */
int ft_count_tmp(const char *dir);
/* Open file descriptors of this process. */
int ft_count_fds(void);
/* Builds "<dir>/<name>" into out[512]. */
void ft_join(char *out, const char *dir, const char *name);

/* 1 when running under valgrind: the slow tests do less. */
int ft_under_valgrind(void);

/* ---- children ---- */

/* In a forked child: on failure prints the message and _exit(1). */
#define CHILD_CHECK(cond)                                                          \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "child %s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                        \
            _exit(1);                                                              \
        }                                                                          \
    } while (0)
#define CHILD_SKIP 77

/* Waits for pid; returns its exit code, or 128 + signal. */
int ft_wait(int pid);

/* Fails the test unless hay contains needle (a report's message, say). */
void ft_assert_contains(const char *hay, const char *needle);

#endif
