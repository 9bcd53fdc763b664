/* SPDX-License-Identifier: BSD-2-Clause */
/* Byte-order-explicit loads and stores, and overflow-checked arithmetic.
 * The format is little-endian whatever the host; checksums are big-endian. */
#ifndef PCACHE_BYTES_H
#define PCACHE_BYTES_H

#include <stdint.h>
#include <string.h>

/* On a little-endian host with GCC or clang each load and store is one
 * (GCC does not merge the byte loops of the stores into one). */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define BYTES_HOST_LE 1
#else
#define BYTES_HOST_LE 0
#endif

static inline uint16_t ld16(const uint8_t *p)
{
#if BYTES_HOST_LE
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
#else
    return (uint16_t)(p[0] | (p[1] << 8));
#endif
}
static inline uint32_t ld32(const uint8_t *p)
{
#if BYTES_HOST_LE
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
#else
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
#endif
}
static inline uint64_t ld64(const uint8_t *p)
{
#if BYTES_HOST_LE
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    return (uint64_t)ld32(p) | ((uint64_t)ld32(p + 4) << 32);
#endif
}
static inline uint64_t ld64be(const uint8_t *p)
{
#if BYTES_HOST_LE
    uint64_t v; /* one load and a bswap: the loop below is not recognised as one */
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
#else
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
#endif
}

static inline void st16(uint8_t *p, uint16_t v)
{
#if BYTES_HOST_LE
    memcpy(p, &v, 2);
#else
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
#endif
}
static inline void st32(uint8_t *p, uint32_t v)
{
#if BYTES_HOST_LE
    memcpy(p, &v, 4);
#else
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}
static inline void st64(uint8_t *p, uint64_t v)
{
#if BYTES_HOST_LE
    memcpy(p, &v, 8);
#else
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}
static inline void st64be(uint8_t *p, uint64_t v)
{
#if BYTES_HOST_LE
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
#else
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
#endif
}

static inline int is_pow2_u64(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

/* *r = a + b; returns 0 on success, -1 if the sum would wrap. */
static inline int add_u64(uint64_t a, uint64_t b, uint64_t *r)
{
    return __builtin_add_overflow(a, b, r) ? -1 : 0;
}
static inline int mul_u64(uint64_t a, uint64_t b, uint64_t *r)
{
    return __builtin_mul_overflow(a, b, r) ? -1 : 0;
}
/* *r = x rounded up to a multiple of align (a power of two); -1 on wrap. */
static inline int align_up_u64(uint64_t x, uint64_t align, uint64_t *r)
{
    uint64_t t;
    if (add_u64(x, align - 1, &t))
        return -1;
    *r = t & ~(align - 1);
    return 0;
}

/* 1 if all n bytes at p are zero.  Words are read with memcpy, at any
 * alignment: no byte-at-a-time start. */
static inline int all_zero(const uint8_t *p, uint64_t n)
{
    uint64_t acc = 0;
    while (n >= 32) {
        uint64_t w[4];
        memcpy(w, p, 32);
        if (w[0] | w[1] | w[2] | w[3])
            return 0;
        p += 32, n -= 32;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        acc |= w;
        p += 8, n -= 8;
    }
    while (n) {
        acc |= *p;
        p++, n--;
    }
    return acc == 0;
}

/* Index of the first nonzero byte in p[0..n), or n. */
static inline uint64_t first_nonzero(const uint8_t *p, uint64_t n)
{
    uint64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w)
            break;
    }
    for (; i < n; i++)
        if (p[i])
            return i;
    return n;
}

#endif
