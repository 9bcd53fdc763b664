/* SPDX-License-Identifier: BSD-2-Clause */
/* Filling a pcache_report: what went wrong, where, expected versus found. */
#ifndef PCACHE_REPORT_H
#define PCACHE_REPORT_H

#include "pcache/pcache.h"

/* Fills *rep (if not NULL) and returns st.  cls may be
 * PCACHE_REPORT_NO_CLASS, section NULL.  fmt describes the problem; the
 * message is prefixed with the class and section and, when has_values,
 * followed by "expected X, found Y". */
pcache_status report_fail(pcache_report *rep, pcache_status st, int cls,
                          const char *section, uint64_t offset, int has_values,
                          uint64_t expected, uint64_t found, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));

/* No problem: status PCACHE_OK, no class, no offset or values, empty
 * section and message strings (the bytes after their NULs are left). */
void report_clear(pcache_report *rep);

#endif
