/* SPDX-License-Identifier: BSD-2-Clause */
#include "args.h"

#include <string.h>

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0, base = 10;
    int too_large = 0;

    if (!s || !*s)
        return -1;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        if (!*s)
            return -1;
    }
    /* strtoull would accept a sign, spaces and wrap-around; this does not */
    for (; *s; s++) {
        int d = hex_digit(*s);
        if (d < 0 || (uint64_t)d >= base)
            return -1;
        if (too_large || v > (max - (uint64_t)d) / base)
            too_large = 1;
        else
            v = v * base + (uint64_t)d;
    }
    if (too_large)
        return -2;
    *out = v;
    return 0;
}

int parse_hex_bytes(const char *s, uint8_t *out, size_t max, size_t *len)
{
    size_t n;

    if (!s)
        return -1;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    n = strlen(s);
    if (n % 2 != 0 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return 0;
}

int parse_class(const char *s, pcache_class *out)
{
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        if (strcmp(s, pcache_class_name((pcache_class)c)) == 0) {
            *out = (pcache_class)c;
            return 0;
        }
    }
    return -1;
}

int parse_checksum(const char *s, pcache_checksum_algorithm *out)
{
    if (strcmp(s, "xxh3") == 0 || strcmp(s, "xxh3-64") == 0) {
        *out = PCACHE_CHECKSUM_XXH3_64;
        return 0;
    }
    if (strcmp(s, "crc32") == 0) {
        *out = PCACHE_CHECKSUM_CRC32;
        return 0;
    }
    return -1;
}
