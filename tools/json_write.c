/* SPDX-License-Identifier: BSD-2-Clause */
#include "json_write.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void json_write_init(json_writer *w, FILE *fp)
{
    memset(w, 0, sizeof *w);
    w->fp = fp;
}

static void escaped(FILE *fp, const void *s, uint64_t len)
{
    const unsigned char *p = s;
    for (uint64_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        switch (c) {
        case '"': fputs("\\\"", fp); break;
        case '\\': fputs("\\\\", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\t': fputs("\\t", fp); break;
        default:
            /* Bytes >= 0x80 are not assumed to be UTF-8: \u00XX keeps the
             * output valid JSON and the byte value recoverable. */
            if (c < 0x20 || c >= 0x7f)
                fprintf(fp, "\\u%04x", c);
            else
                fputc(c, fp);
        }
    }
}

static void newline(json_writer *w, int depth)
{
    fputc('\n', w->fp);
    for (int i = 0; i < depth; i++)
        fputs("  ", w->fp);
}

static int one_line(const json_writer *w)
{
    return w->depth > 0 && w->stack[w->depth - 1].one_line;
}

/* Starts an element of the innermost container: separator, line break
 * and indentation, key. */
static void element(json_writer *w, const char *key)
{
    if (w->depth > 0) {
        int first = w->stack[w->depth - 1].count++ == 0;
        if (one_line(w)) {
            if (!first)
                fputs(", ", w->fp);
        } else {
            if (!first)
                fputc(',', w->fp);
            newline(w, w->depth);
        }
    }
    if (key && w->depth > 0 && w->stack[w->depth - 1].close == '}') {
        fputc('"', w->fp);
        escaped(w->fp, key, strlen(key));
        fputs("\": ", w->fp);
    }
}

static void begin(json_writer *w, const char *key, int line, char open, char close)
{
    if (w->depth == JSON_WRITE_MAX_DEPTH) {
        fputs("json_write: nested deeper than JSON_WRITE_MAX_DEPTH\n", stderr);
        abort();
    }
    element(w, key);
    fputc(open, w->fp);
    w->stack[w->depth].count = 0;
    w->stack[w->depth].one_line = line || one_line(w);
    w->stack[w->depth].close = close;
    w->depth++;
}

void json_write_begin_object(json_writer *w, const char *key, int line)
{
    begin(w, key, line, '{', '}');
}

void json_write_begin_list(json_writer *w, const char *key, int line)
{
    begin(w, key, line, '[', ']');
}

void json_write_end(json_writer *w)
{
    if (w->depth == 0)
        return;
    w->depth--;
    if (w->stack[w->depth].count > 0 && !w->stack[w->depth].one_line)
        newline(w, w->depth);
    fputc(w->stack[w->depth].close, w->fp);
    if (w->depth == 0)
        fputc('\n', w->fp);
}

void json_write_string(json_writer *w, const char *key, const char *s)
{
    json_write_bytes(w, key, s, strlen(s));
}

void json_write_bytes(json_writer *w, const char *key, const void *s, uint64_t len)
{
    element(w, key);
    fputc('"', w->fp);
    escaped(w->fp, s, len);
    fputc('"', w->fp);
}

void json_write_uint(json_writer *w, const char *key, uint64_t v)
{
    element(w, key);
    if (v <= JSON_WRITE_EXACT_MAX)
        fprintf(w->fp, "%llu", (unsigned long long)v);
    else
        fprintf(w->fp, "\"0x%llx\"", (unsigned long long)v);
}

void json_write_int(json_writer *w, const char *key, int64_t v)
{
    /* the magnitude without overflow, INT64_MIN included */
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    element(w, key);
    if (mag <= JSON_WRITE_EXACT_MAX)
        fprintf(w->fp, "%lld", (long long)v);
    else
        fprintf(w->fp, "\"%s0x%llx\"", v < 0 ? "-" : "", (unsigned long long)mag);
}

void json_write_hex(json_writer *w, const char *key, uint64_t v, int digits)
{
    element(w, key);
    fprintf(w->fp, "\"0x%0*llx\"", digits, (unsigned long long)v);
}

void json_write_hexbytes(json_writer *w, const char *key, const uint8_t *p, size_t n)
{
    element(w, key);
    fputc('"', w->fp);
    for (size_t i = 0; i < n; i++)
        fprintf(w->fp, "%02x", p[i]);
    fputc('"', w->fp);
}

void json_write_bool(json_writer *w, const char *key, int v)
{
    element(w, key);
    fputs(v ? "true" : "false", w->fp);
}

void json_write_null(json_writer *w, const char *key)
{
    element(w, key);
    fputs("null", w->fp);
}

/* fixed: "%.*f", else "%.*g". */
static void real(json_writer *w, const char *key, double v, int precision, int fixed)
{
    element(w, key);
    if (!isfinite(v))
        fputs("null", w->fp);
    else if (fixed)
        fprintf(w->fp, "%.*f", precision, v);
    else
        fprintf(w->fp, "%.*g", precision, v);
}

void json_write_double(json_writer *w, const char *key, double v, int significant)
{
    real(w, key, v, significant, 0);
}

void json_write_fixed(json_writer *w, const char *key, double v, int decimals)
{
    real(w, key, v, decimals, 1);
}
