/* SPDX-License-Identifier: BSD-2-Clause */
/* Problems: what is wrong with a file, where, expected versus found.  One
 * list holds the library's reports and the problems pcache-inspect finds
 * itself, in the same shape, so that verify prints them alike. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"

static problem *next_slot(problems *ps)
{
    if (ps->count == ps->capacity) {
        size_t cap = ps->capacity ? ps->capacity * 2 : 16;
        problem *v = realloc(ps->v, cap * sizeof *v);
        if (!v) {
            ps->dropped++;
            return NULL;
        }
        ps->v = v;
        ps->capacity = cap;
    }
    return &ps->v[ps->count++];
}

/* Appends " (file offset 0x...)" when the message's offset is relative to
 * a segment, so that a reader can find the byte with a hex editor. */
static void add_file_offset(problem *p)
{
    size_t len = strlen(p->message);
    if (p->segment_offset != NO_OFFSET && p->file_offset != NO_OFFSET && len < sizeof p->message)
        snprintf(p->message + len, sizeof p->message - len, " (file offset 0x%llx)",
                 (unsigned long long)p->file_offset);
}

static uint64_t file_offset_of(uint64_t seg_file_offset, uint64_t offset)
{
    if (offset == NO_OFFSET)
        return NO_OFFSET;
    if (seg_file_offset == NO_OFFSET)
        return offset;
    /* a hostile header can state any segment offset: do not wrap */
    return offset > UINT64_MAX - seg_file_offset ? NO_OFFSET : seg_file_offset + offset;
}

void problems_add_report(problems *ps, const pcache_report *rep, uint64_t seg_file_offset)
{
    problem *p = next_slot(ps);
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->status = rep->status;
    p->cls = rep->cls;
    snprintf(p->section, sizeof p->section, "%s", rep->section);
    p->segment_offset = seg_file_offset == NO_OFFSET ? NO_OFFSET : rep->offset;
    p->file_offset = file_offset_of(seg_file_offset, rep->offset);
    p->has_values = rep->has_values;
    p->expected = rep->expected;
    p->found = rep->found;
    snprintf(p->message, sizeof p->message, "%s",
             rep->message[0] ? rep->message : pcache_strerror(rep->status));
    add_file_offset(p);
}

void problems_add(problems *ps, pcache_status st, int cls, const char *section, uint64_t seg_file_offset,
                  uint64_t offset, int has_values, uint64_t expected, uint64_t found, const char *fmt, ...)
{
    problem *p = next_slot(ps);
    char what[320];
    size_t len = 0;
    va_list ap;

    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->status = st;
    p->cls = cls;
    if (section)
        snprintf(p->section, sizeof p->section, "%s", section);
    p->segment_offset = seg_file_offset == NO_OFFSET ? NO_OFFSET : offset;
    p->file_offset = file_offset_of(seg_file_offset, offset);
    p->has_values = has_values;
    p->expected = expected;
    p->found = found;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* the library's message shape (lib/common/report.c), so that both read alike */
    if (cls >= 0 && cls < PCACHE_CLASS_COUNT)
        len += (size_t)snprintf(p->message + len, sizeof p->message - len, "%s segment: ",
                                pcache_class_name((pcache_class)cls));
    if (p->section[0] && len < sizeof p->message)
        len += (size_t)snprintf(p->message + len, sizeof p->message - len, "section '%s': ", p->section);
    if (len < sizeof p->message && offset == NO_OFFSET)
        len += (size_t)snprintf(p->message + len, sizeof p->message - len, "%s", what);
    else if (len < sizeof p->message)
        len += (size_t)snprintf(p->message + len, sizeof p->message - len, "%s at offset %llu (0x%llx)", what,
                                (unsigned long long)offset, (unsigned long long)offset);
    if (has_values && len < sizeof p->message)
        snprintf(p->message + len, sizeof p->message - len, ": expected %llu (0x%llx), found %llu (0x%llx)",
                 (unsigned long long)expected, (unsigned long long)expected, (unsigned long long)found,
                 (unsigned long long)found);
    add_file_offset(p);
}

void problems_prepend(problems *ps, const problem *p)
{
    if (!next_slot(ps))
        return;
    memmove(ps->v + 1, ps->v, (ps->count - 1) * sizeof *ps->v);
    ps->v[0] = *p;
}

int problems_have(const problems *ps, pcache_status st, int cls)
{
    for (size_t i = 0; i < ps->count; i++)
        if (ps->v[i].status == st && ps->v[i].cls == cls)
            return 1;
    return 0;
}

void problems_free(problems *ps)
{
    free(ps->v);
    memset(ps, 0, sizeof *ps);
}

void emit_problem(emitter *e, const problem *p)
{
    if (!e->json) {
        fprintf(e->fp, "  %s [%s]\n", p->message, pcache_status_name(p->status));
        return;
    }
    emit_begin(e, NULL, EMIT_BLOCK, NULL);
    emit_str(e, "status", NULL, pcache_status_name(p->status));
    emit_uint(e, "code", NULL, (uint64_t)p->status);
    if (p->cls >= 0 && p->cls < PCACHE_CLASS_COUNT)
        emit_str(e, "class", NULL, pcache_class_name((pcache_class)p->cls));
    else
        emit_null(e, "class");
    if (p->section[0])
        emit_str(e, "section", NULL, p->section);
    else
        emit_null(e, "section");
    if (p->file_offset != NO_OFFSET)
        emit_offset(e, "file_offset", NULL, p->file_offset);
    else
        emit_null(e, "file_offset");
    if (p->segment_offset != NO_OFFSET)
        emit_offset(e, "segment_offset", NULL, p->segment_offset);
    else
        emit_null(e, "segment_offset");
    if (p->has_values) {
        emit_hex(e, "expected", NULL, p->expected, 0);
        emit_hex(e, "found", NULL, p->found, 0);
    } else {
        emit_null(e, "expected");
        emit_null(e, "found");
    }
    emit_str(e, "message", NULL, p->message);
    emit_end(e);
}
