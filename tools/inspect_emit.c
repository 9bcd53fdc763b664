/* SPDX-License-Identifier: BSD-2-Clause */
#include "inspect_emit.h"

#include <stdarg.h>
#include <string.h>

#define LABEL_WIDTH 16

void emit_init(emitter *e, FILE *fp, int json)
{
    memset(e, 0, sizeof *e);
    e->fp = fp;
    e->json = json;
    e->label_width = LABEL_WIDTH;
    json_write_init(&e->jw, fp);
}

void text_escape(FILE *fp, const void *s, uint64_t len)
{
    const unsigned char *p = s;
    /* a file's bytes must not reach a terminal as control sequences */
    for (uint64_t i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] >= 0x7f || p[i] == '\\')
            fprintf(fp, "\\x%02x", p[i]);
        else
            fputc(p[i], fp);
    }
}

static int in_line(const emitter *e)
{
    return e->depth > 0 && !e->stack[e->depth - 1].list && e->stack[e->depth - 1].style == EMIT_LINE;
}

/* Starts a text field: "  label  " in a BLOCK, " label=" in a LINE. */
static void text_field(emitter *e, const char *key, const char *label)
{
    const char *l = label ? label : key ? key : "";
    if (in_line(e)) {
        fprintf(e->fp, " %s=", l);
        return;
    }
    fprintf(e->fp, "%*s%-*s ", e->indent, "", e->label_width, l);
}

static void text_end_field(emitter *e)
{
    if (!in_line(e))
        fputc('\n', e->fp);
}

static void push(emitter *e, int list, emit_style style)
{
    if (e->depth == EMIT_MAX_DEPTH) {
        /* a programming error, not an input error: the nesting is fixed */
        fputs("pcache-inspect: output nested too deeply\n", stderr);
        return;
    }
    e->stack[e->depth].list = list;
    e->stack[e->depth].style = style;
    e->stack[e->depth].indent = e->indent;
    e->depth++;
}

void emit_begin(emitter *e, const char *key, emit_style style, const char *heading, ...)
{
    if (e->json) {
        json_write_begin_object(&e->jw, key, 0);
        return;
    }
    if (heading) {
        va_list ap;
        fprintf(e->fp, "%*s", e->indent, "");
        va_start(ap, heading);
        vfprintf(e->fp, heading, ap);
        va_end(ap);
        if (style == EMIT_BLOCK)
            fputc('\n', e->fp);
    }
    push(e, 0, style);
    if (style == EMIT_BLOCK && heading)
        e->indent += 2;
}

void emit_end(emitter *e)
{
    if (e->json) {
        json_write_end(&e->jw);
        return;
    }
    if (e->depth == 0)
        return;
    e->depth--;
    if (e->stack[e->depth].style == EMIT_LINE)
        fputc('\n', e->fp);
    e->indent = e->stack[e->depth].indent;
}

void emit_begin_list(emitter *e, const char *key)
{
    if (e->json) {
        json_write_begin_list(&e->jw, key, 0);
        return;
    }
    push(e, 1, EMIT_BLOCK);
}

void emit_end_list(emitter *e)
{
    if (e->json) {
        json_write_end(&e->jw);
        return;
    }
    if (e->depth > 0)
        e->depth--;
}

void emit_str(emitter *e, const char *key, const char *label, const char *s)
{
    emit_bytes_str(e, key, label, s, strlen(s));
}

void emit_bytes_str(emitter *e, const char *key, const char *label, const void *s, uint64_t len)
{
    if (e->json) {
        json_write_bytes(&e->jw, key, s, len);
        return;
    }
    text_field(e, key, label);
    text_escape(e->fp, s, len);
    text_end_field(e);
}

void emit_quoted(emitter *e, const char *key, const char *label, const void *s, uint64_t len)
{
    const unsigned char *p = s;
    if (e->json) {
        json_write_bytes(&e->jw, key, s, len);
        return;
    }
    text_field(e, key, label);
    fputc('"', e->fp);
    for (uint64_t i = 0; i < len; i++) {
        if (p[i] == '"')
            fputs("\\x22", e->fp);
        else
            text_escape(e->fp, p + i, 1);
    }
    fputc('"', e->fp);
    text_end_field(e);
}

void emit_uint(emitter *e, const char *key, const char *label, uint64_t v)
{
    if (e->json) {
        json_write_uint(&e->jw, key, v);
        return;
    }
    text_field(e, key, label);
    fprintf(e->fp, "%llu", (unsigned long long)v);
    text_end_field(e);
}

void emit_size(emitter *e, const char *key, const char *label, uint64_t v)
{
    if (e->json || in_line(e)) {
        emit_uint(e, key, label, v);
        return;
    }
    text_field(e, key, label);
    fprintf(e->fp, "%llu (0x%llx)", (unsigned long long)v, (unsigned long long)v);
    text_end_field(e);
}

void emit_offset(emitter *e, const char *key, const char *label, uint64_t v)
{
    if (e->json) {
        json_write_uint(&e->jw, key, v);
        return;
    }
    text_field(e, key, label);
    fprintf(e->fp, "0x%llx", (unsigned long long)v);
    text_end_field(e);
}

void emit_hex(emitter *e, const char *key, const char *label, uint64_t v, int digits)
{
    if (e->json) {
        json_write_hex(&e->jw, key, v, digits);
        return;
    }
    text_field(e, key, label);
    fprintf(e->fp, "0x%0*llx", digits, (unsigned long long)v);
    text_end_field(e);
}

void emit_int(emitter *e, const char *key, const char *label, int64_t v)
{
    if (e->json) {
        json_write_int(&e->jw, key, v);
        return;
    }
    text_field(e, key, label);
    fprintf(e->fp, "%lld", (long long)v);
    text_end_field(e);
}

void emit_bool(emitter *e, const char *key, const char *label, int v)
{
    if (e->json) {
        json_write_bool(&e->jw, key, v);
        return;
    }
    text_field(e, key, label);
    fputs(v ? "yes" : "no", e->fp);
    text_end_field(e);
}

void emit_hexbytes(emitter *e, const char *key, const char *label, const uint8_t *p, size_t n)
{
    if (e->json) {
        json_write_hexbytes(&e->jw, key, p, n);
        return;
    }
    text_field(e, key, label);
    for (size_t i = 0; i < n; i++)
        fprintf(e->fp, "%02x", p[i]);
    text_end_field(e);
}

void emit_null(emitter *e, const char *key)
{
    if (e->json)
        json_write_null(&e->jw, key);
}

void emit_note(emitter *e, const char *fmt, ...)
{
    va_list ap;
    if (e->json)
        return;
    fprintf(e->fp, "%*s", e->indent, "");
    va_start(ap, fmt);
    vfprintf(e->fp, fmt, ap);
    va_end(ap);
    fputc('\n', e->fp);
}
