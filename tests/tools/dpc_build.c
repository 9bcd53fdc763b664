/* SPDX-License-Identifier: BSD-2-Clause */
/* A synthetic .dpc file with this project's segments (dpc_build.h). */
#include <md5.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dpc_build.h"
#include "pcache/bind.h"
#include "pcache/dpc.h"

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

const uint8_t *pattern(size_t n, unsigned seed)
{
    static uint8_t buf[8192];
    assert_true(n <= sizeof buf);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i * 31u + seed * 7u + (i >> 5));
    return buf;
}

void fill_image_data(image_data *d)
{
    memcpy(d->table, pattern(sizeof d->table, 1), sizeof d->table);
    memcpy(d->ro_data, pattern(sizeof d->ro_data, 2), sizeof d->ro_data);
    memcpy(d->code, pattern(sizeof d->code, 3), sizeof d->code);
    memcpy(d->rw_data, pattern(sizeof d->rw_data, 4), sizeof d->rw_data);
}

/* ro: table, data; rx: code (page-rounded, as DR needs); rw: data. */
pcache_builder *image_builder(const image_data *d)
{
    pcache_identity id;
    pcache_builder *b;

    assert_int_equal(pcache_identity_init(&id, "inspect-test", 3), PCACHE_OK);
    id.page_size = 4096;
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "table", d->table, sizeof d->table, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "data", d->ro_data, sizeof d->ro_data, 4, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", d->code, sizeof d->code, 16, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RW, "data", d->rw_data, sizeof d->rw_data, 8, 0), PCACHE_OK);
    assert_int_equal(pcache_builder_set_segment_flags(b, PCACHE_RX, PCACHE_SEGMENT_PAGE_ROUNDED), PCACHE_OK);
    return b;
}

/* Writes class cls's segment at f + at, laid out (sized) for that offset
 * before. */
static uint64_t put_segment(pcache_builder *b, pcache_class cls, uint8_t *f, uint64_t at, uint64_t size, uint64_t cap)
{
    pcache_buffer_sink bs;
    pcache_sink sink;

    assert_true(at + size <= cap);
    sink = pcache_sink_buffer(&bs, f + at, (size_t)(cap - at));
    assert_int_equal(pcache_builder_persist(b, cls, &sink), PCACHE_OK);
    assert_int_equal(bs.used, size);
    return at + size;
}

static uint64_t size_at(pcache_builder *b, pcache_class cls, uint64_t at)
{
    uint64_t size;
    assert_int_equal(pcache_builder_size(b, cls, at, &size), PCACHE_OK);
    return size;
}

static uint64_t round8(uint64_t x)
{
    return (x + 7) & ~(uint64_t)7;
}

void fix_dpc_digests(uint8_t *f, size_t size)
{
    MD5_CTX ctx;
    size_t foot = size - PCACHE_DPC_FOOTER_LEN;
    MD5Init(&ctx);
    MD5Update(&ctx, f, foot);
    MD5Final(f + foot, &ctx);
    MD5Init(&ctx);
    MD5Update(&ctx, f, PCACHE_DPC_HEADER_LEN);
    MD5Final(f + foot + PCACHE_DPC_MD5_LEN, &ctx);
}

void make_dpc_from(dpc_file *out, pcache_builder *b, const char *client, size_t client_len, uint32_t split)
{
    static const char options[] = "-persist -coarse_units";
    const uint64_t cap = 1u << 16;
    uint8_t *f = calloc(1, cap), *h = f;
    uint64_t off = PCACHE_DPC_HEADER_LEN, start[PCACHE_CLASS_COUNT], len;

    assert_non_null(f);
    if (split != DPC_NO_SPLIT)
        assert_int_equal(pcache_builder_prepare_split(b, split), PCACHE_OK);
    memset(out, 0, sizeof *out);
    put_le(h + 0, PCACHE_DPC_MAGIC, 4);
    put_le(h + 4, PCACHE_DPC_VERSION, 4);
    put_le(h + 8, PCACHE_DPC_HEADER_LEN, 8);
    put_le(h + 24, PCACHE_DPC_FLAG_X86_64 | PCACHE_DPC_FLAG_SUPPORT_TRACES, 4);
    put_le(h + 32, 0x400000, 8);  /* module base */
    put_le(h + 48, 0x5000, 8);    /* module image size */
    put_le(h + 104, 0x1000, 8);   /* start_offs */
    put_le(h + 112, 0x2000, 8);   /* end_offs */
    memcpy(f + off, options, sizeof options);
    len = round8(sizeof options);
    put_le(h + 272, len, 8); /* option_string_len */
    off += len;
    /* sizes first, as DR calls them: ro, rx, rw */
    start[PCACHE_RO] = off;
    memcpy(f + off, client, client_len); /* DR's client list: the path, NUL, NUL */
    off += client_len + 2;
    out->seg_at[PCACHE_RO] = off;
    out->seg_size[PCACHE_RO] = size_at(b, PCACHE_RO, off);
    off += out->seg_size[PCACHE_RO];
    len = round8(off - start[PCACHE_RO]);
    put_le(h + 264, len, 8); /* instrument_ro_len */
    off = start[PCACHE_RO] + len;
    memset(f + off, 0x5a, 40); /* DR's cache hashtable */
    put_le(h + 232, 40, 8);
    off += 40;
    put_le(h + 200, (4096 - off % 4096) % 4096, 8); /* pad_len: the rx slot starts on a page */
    off += (4096 - off % 4096) % 4096;
    start[PCACHE_RX] = off;
    out->seg_at[PCACHE_RX] = off;
    out->seg_size[PCACHE_RX] = size_at(b, PCACHE_RX, off);
    off += out->seg_size[PCACHE_RX];
    put_le(h + 208, off - start[PCACHE_RX], 8); /* instrument_rx_len */
    memset(f + off, 0xcc, 64);       /* DR's code cache */
    put_le(h + 184, 64, 8);
    off += 64;
    memset(f + off, 0x90, 16); /* stubs */
    put_le(h + 136, 16, 8);
    off += 16;
    start[PCACHE_RW] = off;
    out->seg_at[PCACHE_RW] = off;
    out->seg_size[PCACHE_RW] = size_at(b, PCACHE_RW, off);
    if (!out->seg_size[PCACHE_RW])
        out->seg_at[PCACHE_RW] = 0; /* carried in ro */
    off += out->seg_size[PCACHE_RW];
    len = round8(off - start[PCACHE_RW]);
    put_le(h + 128, len, 8); /* instrument_rw_len */
    off = start[PCACHE_RW] + len;
    /* then the bytes */
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        if (out->seg_size[c])
            put_segment(b, (pcache_class)c, f, out->seg_at[c], out->seg_size[c], cap);
    put_le(h + 16, off + PCACHE_DPC_FOOTER_LEN - PCACHE_DPC_HEADER_LEN, 8); /* data_len */
    put_le(f + off + 2 * PCACHE_DPC_MD5_LEN, PCACHE_DPC_MAGIC, 4);
    off += PCACHE_DPC_FOOTER_LEN;
    fix_dpc_digests(f, off);
    pcache_builder_free(b);
    out->bytes = f;
    out->size = off;
}

void make_dpc_split(dpc_file *out, const image_data *d, const char *client, size_t client_len, uint32_t split)
{
    make_dpc_from(out, image_builder(d), client, client_len, split);
}

void make_dpc(dpc_file *out, const image_data *d, const char *client, size_t client_len)
{
    make_dpc_split(out, d, client, client_len, 0);
}

