/* SPDX-License-Identifier: BSD-2-Clause */
/* The shared library of the real-DR tests' PIE program (drreal_pie.c):
 * code of its own that DR persists as a unit of its own, reached from the
 * program directly and through a table of function pointers (relocated by
 * the dynamic loader, so its values change with the load address). */
#include "testlib.h"

static unsigned long mix(unsigned long s, unsigned long v)
{
    return (s ^ v) * 1099511628211ul + (v >> 3);
}

unsigned long testlib_x(int n)
{
    unsigned long s = 1;
    for (int i = 0; i < n; i++)
        s = mix(s, (unsigned long)i * 3u);
    return s;
}

unsigned long testlib_y(int n)
{
    unsigned long s = 7;
    for (int i = 0; i < n; i++) {
        if (i % 5 == 0)
            s += (unsigned long)i;
        else
            s = mix(s, (unsigned long)i);
    }
    return s;
}

static unsigned long twice(unsigned long v) { return v * 2u; }
static unsigned long thrice(unsigned long v) { return v * 3u; }

unsigned long (*const testlib_ops[2])(unsigned long) = {twice, thrice};
