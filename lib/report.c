/* SPDX-License-Identifier: BSD-2-Clause */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void report_clear(pcache_report *rep)
{
    if (!rep)
        return;
    /* Field by field: the strings are emptied, not zeroed to their ends.
     * Zeroing the 408 bytes took a rep stos of some 30 cycles, on every
     * resurrect and persist (docs/PERFORMANCE.md). */
    rep->status = PCACHE_OK;
    rep->cls = PCACHE_REPORT_NO_CLASS;
    rep->section[0] = 0;
    rep->offset = 0;
    rep->has_values = 0;
    rep->expected = 0;
    rep->found = 0;
    rep->sys_errno = 0;
    rep->message[0] = 0;
}

pcache_status report_fail(pcache_report *rep, pcache_status st, int cls,
                          const char *section, uint64_t offset, int has_values,
                          uint64_t expected, uint64_t found, const char *fmt, ...)
{
    char what[sizeof rep->message];
    va_list ap;
    size_t len = 0;

    if (!rep)
        return st;
    report_clear(rep);
    rep->status = st;
    rep->cls = cls;
    if (section)
        snprintf(rep->section, sizeof rep->section, "%s", section);
    rep->offset = offset;
    rep->has_values = has_values;
    rep->expected = expected;
    rep->found = found;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);

    if (cls >= 0 && cls < PCACHE_CLASS_COUNT)
        len += (size_t)snprintf(rep->message + len, sizeof rep->message - len, "%s segment: ",
                                pcache_class_name((pcache_class)cls));
    if (section && *section && len < sizeof rep->message)
        len += (size_t)snprintf(rep->message + len, sizeof rep->message - len, "section '%s': ",
                                rep->section);
    if (len < sizeof rep->message && offset == PCACHE_REPORT_NO_OFFSET)
        len += (size_t)snprintf(rep->message + len, sizeof rep->message - len, "%s", what);
    else if (len < sizeof rep->message)
        len += (size_t)snprintf(rep->message + len, sizeof rep->message - len,
                                "%s at offset %llu (0x%llx)", what, (unsigned long long)offset,
                                (unsigned long long)offset);
    if (has_values && len < sizeof rep->message)
        snprintf(rep->message + len, sizeof rep->message - len,
                 ": expected %llu (0x%llx), found %llu (0x%llx)", (unsigned long long)expected,
                 (unsigned long long)expected, (unsigned long long)found,
                 (unsigned long long)found);
    return st;
}
