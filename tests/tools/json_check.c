/* SPDX-License-Identifier: BSD-2-Clause */
#include "json_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *s;
    size_t pos;
    char *err;
    size_t err_size;
    int failed;
    int depth;
} parser;

#define MAX_DEPTH 64

static void fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(parser *p, const char *fmt, ...)
{
    va_list ap;
    size_t len;
    if (p->failed)
        return;
    p->failed = 1;
    va_start(ap, fmt);
    vsnprintf(p->err, p->err_size, fmt, ap);
    va_end(ap);
    len = strlen(p->err);
    if (len < p->err_size)
        snprintf(p->err + len, p->err_size - len, " at byte %zu", p->pos);
}

static void skip_ws(parser *p)
{
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r')
        p->pos++;
}

static json_value *new_value(parser *p, json_type t)
{
    json_value *v = calloc(1, sizeof *v);
    if (!v)
        fail(p, "out of memory");
    else
        v->type = t;
    return v;
}

static int hex4(parser *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos + (size_t)i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else {
            fail(p, "bad \\u escape");
            return -1;
        }
    }
    p->pos += 4;
    *out = v;
    return 0;
}

/* Decodes a string starting at the opening quote. */
static char *parse_string(parser *p, size_t *len_out)
{
    size_t cap = 16, len = 0;
    char *buf = malloc(cap);

    if (!buf) {
        fail(p, "out of memory");
        return NULL;
    }
    p->pos++; /* the quote */
    for (;;) {
        unsigned char c = (unsigned char)p->s[p->pos];
        unsigned cp = 0;
        if (c == '\0') {
            fail(p, "unterminated string");
            break;
        }
        if (c < 0x20) {
            fail(p, "raw control character 0x%02x in a string", c);
            break;
        }
        p->pos++;
        if (c == '"') {
            buf[len] = '\0';
            if (len_out)
                *len_out = len;
            return buf;
        }
        if (c == '\\') {
            char e = p->s[p->pos++];
            switch (e) {
            case '"': cp = '"'; break;
            case '\\': cp = '\\'; break;
            case '/': cp = '/'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u':
                if (hex4(p, &cp) != 0)
                    goto failed;
                /* pcache-inspect writes bytes, never surrogates */
                if (cp > 0xff) {
                    fail(p, "\\u%04x: pcache-inspect writes only \\u0000-\\u00ff", cp);
                    goto failed;
                }
                break;
            default:
                p->pos--;
                fail(p, "bad escape \\%c", e ? e : '0');
                goto failed;
            }
        } else {
            cp = c;
        }
        if (len + 2 > cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                fail(p, "out of memory");
                break;
            }
            buf = nb;
            cap *= 2;
        }
        buf[len++] = (char)cp;
    }
failed:
    free(buf);
    return NULL;
}

static json_value *parse_value(parser *p);

static json_value *parse_number(parser *p)
{
    size_t start = p->pos;
    json_value *v;
    int neg = 0, integer = 1;

    if (p->s[p->pos] == '-') {
        neg = 1;
        p->pos++;
    }
    if (p->s[p->pos] == '0') {
        p->pos++;
        if (p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
            fail(p, "leading zero in a number");
            return NULL;
        }
    } else if (p->s[p->pos] >= '1' && p->s[p->pos] <= '9') {
        while (p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
            p->pos++;
    } else {
        fail(p, "bad number");
        return NULL;
    }
    if (p->s[p->pos] == '.') {
        integer = 0;
        p->pos++;
        if (!(p->s[p->pos] >= '0' && p->s[p->pos] <= '9')) {
            fail(p, "bad fraction");
            return NULL;
        }
        while (p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
            p->pos++;
    }
    if (p->s[p->pos] == 'e' || p->s[p->pos] == 'E') {
        integer = 0;
        p->pos++;
        if (p->s[p->pos] == '+' || p->s[p->pos] == '-')
            p->pos++;
        if (!(p->s[p->pos] >= '0' && p->s[p->pos] <= '9')) {
            fail(p, "bad exponent");
            return NULL;
        }
        while (p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
            p->pos++;
    }
    if (!(v = new_value(p, JSON_NUMBER)))
        return NULL;
    v->text = strndup(p->s + start, p->pos - start);
    if (!v->text) {
        fail(p, "out of memory");
        free(v);
        return NULL;
    }
    if (integer) {
        /* exact 64-bit value, digit by digit, no wrap */
        uint64_t mag = 0;
        int fits = 1;
        for (const char *d = v->text + neg; *d; d++) {
            uint64_t digit = (uint64_t)(*d - '0');
            if (mag > (UINT64_MAX - digit) / 10)
                fits = 0;
            else
                mag = mag * 10 + digit;
        }
        if (fits && !neg) {
            v->is_uint = 1;
            v->uint = mag;
            if (mag <= (uint64_t)INT64_MAX) {
                v->is_int = 1;
                v->sint = (int64_t)mag;
            }
        } else if (fits && neg && mag <= (uint64_t)INT64_MAX + 1) {
            v->is_int = 1;
            v->sint = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
        }
    }
    return v;
}

static int push_item(parser *p, json_value *v, json_value *item, char *key)
{
    json_value **items = realloc(v->items, (v->count + 1) * sizeof *items);
    char **keys = NULL;
    if (!items) {
        fail(p, "out of memory");
        return -1;
    }
    v->items = items;
    if (v->type == JSON_OBJECT) {
        keys = realloc(v->keys, (v->count + 1) * sizeof *keys);
        if (!keys) {
            fail(p, "out of memory");
            return -1;
        }
        v->keys = keys;
        v->keys[v->count] = key;
    }
    v->items[v->count++] = item;
    return 0;
}

static json_value *parse_container(parser *p, json_type t)
{
    json_value *v = new_value(p, t);
    char close = t == JSON_OBJECT ? '}' : ']';

    if (!v)
        return NULL;
    if (++p->depth > MAX_DEPTH) {
        fail(p, "nested too deeply");
        return v;
    }
    p->pos++;
    skip_ws(p);
    if (p->s[p->pos] == close) {
        p->pos++;
        p->depth--;
        return v;
    }
    for (;;) {
        char *key = NULL;
        json_value *item;
        skip_ws(p);
        if (t == JSON_OBJECT) {
            if (p->s[p->pos] != '"') {
                fail(p, "expected a key");
                break;
            }
            if (!(key = parse_string(p, NULL)))
                break;
            for (size_t i = 0; i < v->count; i++)
                if (strcmp(v->keys[i], key) == 0) {
                    fail(p, "duplicate key \"%s\"", key);
                    break;
                }
            skip_ws(p);
            if (p->failed || p->s[p->pos] != ':') {
                fail(p, "expected ':'");
                free(key);
                break;
            }
            p->pos++;
        }
        item = parse_value(p);
        if (!item || push_item(p, v, item, key) != 0) {
            json_free(item);
            free(key);
            break;
        }
        skip_ws(p);
        if (p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->s[p->pos] == close) {
            p->pos++;
            break;
        }
        fail(p, "expected ',' or '%c'", close);
        break;
    }
    p->depth--;
    return v;
}

static json_value *parse_value(parser *p)
{
    json_value *v;
    skip_ws(p);
    switch (p->s[p->pos]) {
    case '{': return parse_container(p, JSON_OBJECT);
    case '[': return parse_container(p, JSON_ARRAY);
    case '"':
        if (!(v = new_value(p, JSON_STRING)))
            return NULL;
        if (!(v->str = parse_string(p, &v->len))) {
            free(v);
            return NULL;
        }
        return v;
    case 't':
    case 'f':
    case 'n': {
        static const char *const words[] = {"true", "false", "null"};
        for (int i = 0; i < 3; i++) {
            size_t n = strlen(words[i]);
            if (strncmp(p->s + p->pos, words[i], n) == 0) {
                p->pos += n;
                if (!(v = new_value(p, i == 2 ? JSON_NULL : JSON_BOOL)))
                    return NULL;
                v->boolean = i == 0;
                return v;
            }
        }
        fail(p, "bad literal");
        return NULL;
    }
    default:
        if (p->s[p->pos] == '-' || (p->s[p->pos] >= '0' && p->s[p->pos] <= '9'))
            return parse_number(p);
        fail(p, "expected a value");
        return NULL;
    }
}

json_value *json_parse(const char *text, char *err, size_t err_size)
{
    parser p = {.s = text, .err = err, .err_size = err_size};
    json_value *v;

    if (err_size)
        err[0] = '\0';
    v = parse_value(&p);
    skip_ws(&p);
    if (!p.failed && p.s[p.pos] != '\0')
        fail(&p, "text after the value");
    if (p.failed) {
        json_free(v);
        return NULL;
    }
    return v;
}

void json_free(json_value *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++) {
        json_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->text);
    free(v->str);
    free(v);
}

const json_value *json_at(const json_value *v, const char *path)
{
    const char *s = path;
    while (v && *s) {
        if (*s == '.') {
            s++;
            continue;
        }
        if (*s == '[') {
            char *end;
            unsigned long i = strtoul(s + 1, &end, 10);
            if (*end != ']' || v->type != JSON_ARRAY || i >= v->count)
                return NULL;
            v = v->items[i];
            s = end + 1;
            continue;
        }
        {
            size_t n = strcspn(s, ".[");
            const json_value *next = NULL;
            if (v->type != JSON_OBJECT)
                return NULL;
            for (size_t i = 0; i < v->count; i++)
                if (strlen(v->keys[i]) == n && strncmp(v->keys[i], s, n) == 0)
                    next = v->items[i];
            v = next;
            s += n;
        }
    }
    return v;
}
