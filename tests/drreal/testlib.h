/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef DRREAL_TESTLIB_H
#define DRREAL_TESTLIB_H
/* The project builds with -fvisibility=hidden: what the library exports
 * says so. */
#define TESTLIB_API __attribute__((visibility("default")))
TESTLIB_API unsigned long testlib_x(int n);
TESTLIB_API unsigned long testlib_y(int n);
TESTLIB_API extern unsigned long (*const testlib_ops[2])(unsigned long);
#endif
