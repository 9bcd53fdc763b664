/* SPDX-License-Identifier: BSD-2-Clause */
/* The real-DR tests' PIE program, with a shared library of its own
 * (testlib.c).  Each argument selects a path through both: "x" and "y"
 * run different code, so that runs with different inputs build different
 * blocks (the merge scenario).  The output depends only on the arguments. */
#include <stdio.h>
#include <string.h>

#include "testlib.h"

__attribute__((noinline)) static unsigned long path_x(int k)
{
    unsigned long t = 0;
    for (int i = 0; i < 200; i++)
        t += testlib_x((i + k) % 17);
    return testlib_ops[0](t);
}

__attribute__((noinline)) static unsigned long path_y(int k)
{
    unsigned long t = 0;
    for (int i = 0; i < 150; i++) {
        if ((i ^ k) & 1)
            t += testlib_y(i % 23);
        else
            t ^= (unsigned long)i << (i % 13);
    }
    return testlib_ops[1](t);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: drreal_pie x|y...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "x") == 0)
            printf("x%d: %lu\n", i, path_x(i));
        else if (strcmp(argv[i], "y") == 0)
            printf("y%d: %lu\n", i, path_y(i));
        else {
            fprintf(stderr, "drreal_pie: unknown path '%s'\n", argv[i]);
            return 2;
        }
    }
    return 0;
}
