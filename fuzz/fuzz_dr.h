/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the DynamoRIO adapter's fuzz target (fuzz/fuzz_dr_adapter.c) and
 * its seed writer (fuzz/make_corpus_dr.c) agree on: the clients, their
 * libraries, DR's unit, and the layout of an input.
 *
 * Clients: "alpha" and "beta" registered through the first library's
 * adapter (lib/dr/pcache_dr.c, DR client id 0), "gamma" through a second
 * library's copy of the adapter (tests/dr/second_adapter.h, client id 1);
 * version FUZZ_DR_VERSION.
 *
 * An input:
 *   byte 0        control (FUZZ_DR_C0_*): DR's options and what happens
 *   byte 1        control (FUZZ_DR_C1_*): the clients
 *   bytes 2..5    n, little-endian: the length of file 1 (clamped)
 *   n bytes       file 1, a .dpc file, loaded first
 *   the rest      file 2, loaded second: a .dpc file when it starts with
 *                 DR's magic "RIO$"; otherwise file 1 again with these
 *                 changes, 5 bytes each: offset (u32, little-endian,
 *                 modulo n) and a byte XORed in there
 */
#ifndef PCACHE_FUZZ_DR_H
#define PCACHE_FUZZ_DR_H

#include "dr_model.h"

#define FUZZ_DR_VERSION 1u
#define FUZZ_DR_PREFIX 6u

/* control byte 0 */
#define FUZZ_DR_C0_FIXED_DR 0x01u       /* DR calls the rw callbacks for rw (no defect 1) */
#define FUZZ_DR_C0_MAP_SEPARATE 0x02u   /* -persist_map_rw_separate at load */
#define FUZZ_DR_C0_SAME_PLACE 0x04u     /* load 2 where a dropped load 1 was (map_where_dropped) */
#define FUZZ_DR_C0_RAW_SHIFT 3          /* 2 bits: another client's raw rx callbacks: 0 none, */
#define FUZZ_DR_C0_RAW_MASK 0x18u       /* 1 passing, 2 failing its first, 3 its second call in load 1 */
#define FUZZ_DR_C0_MODULE_MOVED 0x20u   /* the module elsewhere at load */
#define FUZZ_DR_C0_CLIENTS_MOVED 0x40u  /* the client libraries elsewhere at load */
#define FUZZ_DR_C0_ONE_LOAD 0x80u       /* no load 2 */

/* control byte 1 */
#define FUZZ_DR_C1_ALPHA_MASK 0x03u     /* alpha's validation: 0 default (full), 1 header, 2 lazy, 3 full */
#define FUZZ_DR_C1_BETA_SHIFT 2         /* 2 bits: beta 0 absent, 1 present, 2 refusing, 3 lazy */
#define FUZZ_DR_C1_GAMMA_SHIFT 4        /* 2 bits: gamma 0 absent, 1 present, 2 refusing, 3 header */
#define FUZZ_DR_C1_ALPHA_REFUSES 0x40u
#define FUZZ_DR_C1_ONE_LIBRARY 0x80u    /* DR's client list at load: the first library only */

static const char *const fuzz_dr_libs[2] = {"/opt/fuzz/libalpha.so", "/opt/fuzz/libgamma.so"};

/* DR's unit: the sample files' module, a one-page code cache and small
 * hash tables (so that DR's header, the client list and the clients' ro
 * data share the first page: small seeds). */
static inline dr_model_unit fuzz_dr_unit(void)
{
    dr_model_unit u;
    dr_model_hello_unit(&u);
    u.cache_len = 4096;
    u.post_cache_pad_len = 1000;
    u.cache_htable_len = 64;
    u.stub_htable_len = 64;
    return u;
}

#endif
