/* SPDX-License-Identifier: BSD-2-Clause */
/* The body of one XXH3-64 code path, included once by each
 * lib/checksum_xxh3_<path>.c.  The includer defines
 * CHECKSUM_XXH3_PATH_SUFFIX (the path's name in symbols), XXH_VECTOR for
 * all but the baseline path, and CHECKSUM_XXH3_TARGET_BEGIN, a pragma that
 * compiles the rest of the file for the path's instruction set.
 *
 * The instruction set is chosen by pragma rather than by -m flags so that
 * these files are ordinary entries of libpcache_sources: any build that
 * compiles the library's sources (the fuzzers with their sanitizers, say)
 * gets every path, compiled the way it compiles the rest.
 *
 * xxHash's implementation comes inlined from the packaged header
 * (XXH_INLINE_ALL), so each path has its own static copy of it. */
#ifndef PCACHE_CHECKSUM_XXH3_PATH_H
#define PCACHE_CHECKSUM_XXH3_PATH_H

#ifndef CHECKSUM_XXH3_PATH_SUFFIX
#error "define CHECKSUM_XXH3_PATH_SUFFIX before including checksum_xxh3_path.h"
#endif

/* Everything xxhash.h includes, included before the target pragma so that
 * the C library's declarations are not given the path's target. */
#include <assert.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "checksum_xxh3.h"

/* checksum_xxh3.h gave us the packaged XXH3_state_t, the type callers
 * hold.  Keep a name for it: the inlined copy below renames XXH3_state_t. */
typedef XXH3_state_t public_state;

#ifdef CHECKSUM_XXH3_TARGET_BEGIN
CHECKSUM_XXH3_TARGET_BEGIN
#endif

#define XXH_INLINE_ALL
#include <xxhash.h>

/* The inlined state type is the same declaration under another name; the
 * callers' states are handed to it, so the layouts must agree. */
_Static_assert(sizeof(public_state) == sizeof(XXH3_state_t), "XXH3 state size differs");
_Static_assert(_Alignof(public_state) == _Alignof(XXH3_state_t), "XXH3 state alignment differs");
_Static_assert(offsetof(public_state, extSecret) == offsetof(XXH3_state_t, extSecret),
               "XXH3 state layout differs");

/* Every entry point clears the upper halves of the vector registers on
 * the way out (vzeroupper).  GCC leaves them dirty after xxHash's long
 * loop (it calls XXH3_mergeAccs and returns without one), and then every
 * legacy-SSE instruction the process runs, in any library, pays for
 * merging them: SSE2 XXH3 ran at 3.9 GB/s after a call of this path
 * instead of 18 GB/s. */
#if XXH_VECTOR == XXH_AVX2 || XXH_VECTOR == XXH_AVX512
#define LEAVE_VECTOR_STATE() _mm256_zeroupper()
#else
#define LEAVE_VECTOR_STATE() ((void)0)
#endif

#define PASTE2(a, b) a##b
#define PASTE(a, b) PASTE2(a, b)
#define NAME(what) PASTE(PASTE(checksum_xxh3_, CHECKSUM_XXH3_PATH_SUFFIX), what)

static uint64_t NAME(_oneshot)(const void *data, size_t size)
{
    uint64_t h = XXH3_64bits(data, size);
    LEAVE_VECTOR_STATE();
    return h;
}

static void NAME(_reset)(public_state *st)
{
    XXH3_64bits_reset((XXH3_state_t *)(void *)st);
    LEAVE_VECTOR_STATE();
}

/* update() without the exit vzeroupper, for update_copy's own use */
static inline void NAME(_update_in)(public_state *st, const void *data, size_t size)
{
    /* Fails only for a NULL input with a nonzero size, which callers
     * never pass. */
    (void)XXH3_64bits_update((XXH3_state_t *)(void *)st, data, size);
}

static void NAME(_update)(public_state *st, const void *data, size_t size)
{
    NAME(_update_in)(st, data, size);
    LEAVE_VECTOR_STATE();
}

static uint64_t NAME(_digest)(const public_state *st)
{
    uint64_t h = XXH3_64bits_digest((const XXH3_state_t *)(const void *)st);
    LEAVE_VECTOR_STATE();
    return h;
}

/* Copying while hashing.  Hashing is arithmetic and copying is loads and
 * stores; in one loop the processor overlaps them, and the pair costs
 * little more than the copy (docs/PERFORMANCE.md).  The loop below drives
 * xxHash's own per-stripe kernels, XXH3_accumulate_512 and
 * XXH3_scrambleAcc, on the caller's state exactly as XXH3_update() does for
 * a long input: the state it leaves is the one XXH3_64bits_update() would
 * have left, which tests/test_checksum_paths.c checks against libxxhash.
 * Those kernels and the state's fields are xxHash's internals, so the
 * fused loop is compiled only for the release it was checked with (0.8.1);
 * any other hashes, then copies. */
#if XXH_VERSION_NUMBER == 801
#define CHECKSUM_XXH3_FUSED_COPY 1
#else
#define CHECKSUM_XXH3_FUSED_COPY 0
#endif

#if CHECKSUM_XXH3_FUSED_COPY
/* One 64-byte stripe, copied in 32- or 16-byte registers (a plain memcpy
 * may be split into 16-byte moves by the generic tuning).  Not in one
 * 64-byte store on the AVX-512 path: those copied a 16 MiB section 40%
 * slower than 32-byte ones, from memory, though 17% faster from L1
 * (AMD Zen 5, docs/PERFORMANCE.md), and the choice of path is timed in
 * cache, where it cannot see that. */
static inline void NAME(_copy_stripe)(uint8_t *XXH_RESTRICT dst, const uint8_t *XXH_RESTRICT src)
{
#if XXH_VECTOR == XXH_AVX512 || XXH_VECTOR == XXH_AVX2
    _mm256_storeu_si256((__m256i *)(void *)dst, _mm256_loadu_si256((const __m256i *)(const void *)src));
    _mm256_storeu_si256((__m256i *)(void *)(dst + 32), _mm256_loadu_si256((const __m256i *)(const void *)(src + 32)));
#elif XXH_VECTOR == XXH_SSE2
    for (int i = 0; i < 64; i += 16)
        _mm_storeu_si128((__m128i *)(void *)(dst + i), _mm_loadu_si128((const __m128i *)(const void *)(src + i)));
#else
    memcpy(dst, src, XXH_STRIPE_LEN);
#endif
}

/* Accumulates one stripe at stripe number *done of the current block,
 * scrambling when the block is complete (as XXH3_consumeStripes does). */
static inline void NAME(_stripe)(XXH3_state_t *st, xxh_u64 *acc, size_t *done, const xxh_u8 *secret,
                                 const xxh_u8 *in)
{
    XXH3_accumulate_512(acc, in, secret + *done * XXH_SECRET_CONSUME_RATE);
    if (++*done == st->nbStripesPerBlock) {
        XXH3_scrambleAcc(acc, secret + st->secretLimit);
        *done = 0;
    }
}
#endif

static void NAME(_update_copy)(public_state *pub, void *dst_, const void *src_, size_t len)
{
    uint8_t *XXH_RESTRICT dst = dst_;
    const uint8_t *XXH_RESTRICT src = src_;
#if CHECKSUM_XXH3_FUSED_COPY
    XXH3_state_t *st = (XXH3_state_t *)(void *)pub;
    const xxh_u8 *secret = st->extSecret == NULL ? st->customSecret : st->extSecret;
    XXH_ALIGN(64) xxh_u64 acc[XXH_ACC_NB];
    size_t done, stripes, tail;

    /* Short inputs only fill the state's buffer: nothing to fuse. */
    if (st->bufferedSize + len <= XXH3_INTERNALBUFFER_SIZE + XXH_STRIPE_LEN) {
        NAME(_update_in)(pub, src, len);
        memcpy(dst, src, len);
        LEAVE_VECTOR_STATE();
        return;
    }
    /* Top the buffer up to full through xxHash itself (this only buffers),
     * then consume it: what XXH3_update() does first with a long input. */
    {
        size_t fill = XXH3_INTERNALBUFFER_SIZE - st->bufferedSize;
        NAME(_update_in)(pub, src, fill);
        memcpy(dst, src, fill);
        src += fill, dst += fill, len -= fill;
    }
    memcpy(acc, st->acc, sizeof acc); /* in registers, not in the state */
    done = st->nbStripesSoFar;
    for (size_t i = 0; i < XXH3_INTERNALBUFFER_SIZE / XXH_STRIPE_LEN; i++)
        NAME(_stripe)(st, acc, &done, secret, st->buffer + i * XXH_STRIPE_LEN);
    st->totalLen += len;

    /* The fused loop, a block (or what is left of one) at a time.  It
     * leaves 1 to 64 bytes for the buffer, as XXH3_update() does: the
     * digest treats the last stripe apart. */
    stripes = (len - 1) / XXH_STRIPE_LEN;
    for (size_t i = 0; i < stripes;) {
        size_t run = st->nbStripesPerBlock - done;
        if (run > stripes - i)
            run = stripes - i;
        for (size_t j = 0; j < run; j++, i++) {
            XXH3_accumulate_512(acc, src + i * XXH_STRIPE_LEN, secret + (done + j) * XXH_SECRET_CONSUME_RATE);
            NAME(_copy_stripe)(dst + i * XXH_STRIPE_LEN, src + i * XXH_STRIPE_LEN);
        }
        done += run;
        if (done == st->nbStripesPerBlock) {
            XXH3_scrambleAcc(acc, secret + st->secretLimit);
            done = 0;
        }
    }
    memcpy(st->acc, acc, sizeof acc);
    st->nbStripesSoFar = done;

    /* The buffer: the stripe before the tail (the digest's last stripe
     * may reach back into it), then the tail itself. */
    src += stripes * XXH_STRIPE_LEN, dst += stripes * XXH_STRIPE_LEN;
    tail = len - stripes * XXH_STRIPE_LEN;
    memcpy(st->buffer + XXH3_INTERNALBUFFER_SIZE - XXH_STRIPE_LEN, src - XXH_STRIPE_LEN, XXH_STRIPE_LEN);
    memcpy(st->buffer, src, tail);
    st->bufferedSize = (XXH32_hash_t)tail;
    memcpy(dst, src, tail);
#else
    NAME(_update_in)(pub, src, len);
    memcpy(dst, src, len);
#endif
    LEAVE_VECTOR_STATE();
}

/* XXH3_64bits() of src, also copying the len bytes to dst (not
 * overlapping src): the one-shot form of update_copy, without a streaming
 * state to reset, fill and digest, which is most of the cost for the
 * few-KiB sections DynamoRIO clients persist.  It mirrors xxHash's
 * XXH3_hashLong_64b_internal() for the default secret, stripe for stripe;
 * tests/test_checksum_paths.c holds it to libxxhash for every length up to
 * 4 KiB and some large ones. */
static uint64_t NAME(_oneshot_copy)(void *dst_, const void *src_, size_t len)
{
    uint8_t *XXH_RESTRICT dst = dst_;
    const uint8_t *XXH_RESTRICT src = src_;
#if CHECKSUM_XXH3_FUSED_COPY
    const xxh_u8 *const secret = XXH3_kSecret;
    size_t const secret_size = sizeof(XXH3_kSecret);
    size_t const per_block = (secret_size - XXH_STRIPE_LEN) / XXH_SECRET_CONSUME_RATE;
    size_t const block_len = XXH_STRIPE_LEN * per_block;
    size_t blocks, stripes, done;
    XXH_ALIGN(XXH_ACC_ALIGN) xxh_u64 acc[XXH_ACC_NB] = XXH3_INIT_ACC;

    /* Up to 240 bytes XXH3 reads the input without stripes: nothing to
     * fuse, and the copy is a few stores. */
    if (len <= XXH3_MIDSIZE_MAX) {
        uint64_t h = XXH3_64bits(src, len);
        if (len) /* src may be NULL for an empty section */
            memcpy(dst, src, len);
        LEAVE_VECTOR_STATE();
        return h;
    }
    blocks = (len - 1) / block_len;
    for (size_t n = 0; n < blocks; n++) {
        const xxh_u8 *in = src + n * block_len;
        uint8_t *out = dst + n * block_len;
        for (size_t s = 0; s < per_block; s++) {
            XXH3_accumulate_512(acc, in + s * XXH_STRIPE_LEN, secret + s * XXH_SECRET_CONSUME_RATE);
            NAME(_copy_stripe)(out + s * XXH_STRIPE_LEN, in + s * XXH_STRIPE_LEN);
        }
        XXH3_scrambleAcc(acc, secret + secret_size - XXH_STRIPE_LEN);
    }
    /* the last partial block, then the last stripe (which may overlap the
     * stripes before it; only its bytes not copied yet are copied) */
    stripes = ((len - 1) - block_len * blocks) / XXH_STRIPE_LEN;
    for (size_t s = 0; s < stripes; s++) {
        size_t at = blocks * block_len + s * XXH_STRIPE_LEN;
        XXH3_accumulate_512(acc, src + at, secret + s * XXH_SECRET_CONSUME_RATE);
        NAME(_copy_stripe)(dst + at, src + at);
    }
    XXH3_accumulate_512(acc, src + len - XXH_STRIPE_LEN,
                        secret + secret_size - XXH_STRIPE_LEN - XXH_SECRET_LASTACC_START);
    done = blocks * block_len + stripes * XXH_STRIPE_LEN;
    memcpy(dst + done, src + done, len - done);
    {
        uint64_t h = XXH3_mergeAccs(acc, secret + XXH_SECRET_MERGEACCS_START, (xxh_u64)len * XXH_PRIME64_1);
        LEAVE_VECTOR_STATE();
        return h;
    }
#else
    uint64_t h = XXH3_64bits(src, len);
    if (len)
        memcpy(dst, src, len);
    LEAVE_VECTOR_STATE();
    return h;
#endif
}

#ifdef CHECKSUM_XXH3_TARGET_END
CHECKSUM_XXH3_TARGET_END
#endif

const checksum_xxh3_ops NAME(_ops) = {
    .path = (checksum_xxh3_path)XXH_VECTOR,
    .oneshot = NAME(_oneshot),
    .reset = NAME(_reset),
    .update = NAME(_update),
    .digest = NAME(_digest),
    .update_copy = NAME(_update_copy),
    .oneshot_copy = NAME(_oneshot_copy),
    .fused_copy = CHECKSUM_XXH3_FUSED_COPY,
};

#endif
