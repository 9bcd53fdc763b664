/* SPDX-License-Identifier: BSD-2-Clause */
/* Reading DynamoRIO's .dpc layout (version 10, 64-bit), as written by DR's
 * core/perscache.c.  DR stores lengths, never offsets, so every offset here
 * is a checked running sum; no length is used before that sum has been
 * compared with the file size. */
#include <md5.h>
#include <string.h>

#include "bytes.h"
#include "checksum.h"
#include "format.h"
#include "pcache/dpc.h"
#include "report.h"

/* Field offsets of coarse_persisted_info_t, version 10, 64-bit. */
enum {
    DH_MAGIC = 0,
    DH_VERSION = 4,
    DH_HEADER_LEN = 8,
    DH_DATA_LEN = 16,
    DH_FLAGS = 24,
    DH_BUILD_NUMBER = 28,
    DH_MOD_BASE = 32,
    DH_MOD_CHECKSUM = 40,
    DH_MOD_TIMESTAMP = 44,
    DH_MOD_IMAGE_SIZE = 48,
    DH_MOD_CODE_SIZE = 56,
    DH_MOD_FILE_VERSION = 64,
    DH_MOD_FULL_MD5 = 72,
    DH_MOD_SHORT_MD5 = 88,
    DH_START_OFFS = 104,
    DH_END_OFFS = 112,
    DH_TLS_OFFS_BASE = 120,
    DH_INSTRUMENT_RW_LEN = 128,
    DH_STUBS_LEN = 136,
    DH_IBL_JMP_PREFIX_LEN = 144,
    DH_IBL_CALL_PREFIX_LEN = 152,
    DH_IBL_RET_PREFIX_LEN = 160,
    DH_TRACE_HEAD_RETURN_PREFIX_LEN = 168,
    DH_FCACHE_RETURN_PREFIX_LEN = 176,
    DH_CACHE_LEN = 184,
    DH_POST_CACHE_PAD_LEN = 192,
    DH_PAD_LEN = 200,
    DH_INSTRUMENT_RX_LEN = 208,
    DH_VIEW_PAD_LEN = 216,
    DH_STUB_HTABLE_LEN = 224,
    DH_CACHE_HTABLE_LEN = 232,
    DH_RCT_HTABLE_LEN = 240,
    DH_RAC_HTABLE_LEN = 248,
    DH_RELOC_LEN = 256,
    DH_INSTRUMENT_RO_LEN = 264,
    DH_OPTION_STRING_LEN = 272,
};

/* Footer (persisted_footer_t) field offsets. */
enum { DF_FILE_MD5 = 0, DF_HEADER_MD5 = 16, DF_MAGIC = 32 };

/* The data sections between header and footer, in the order DR writes
 * them (coarse_unit_persist), each with the header field giving its
 * length.  DR rounds the ones marked to PCACHE_DPC_CLIENT_ALIGNMENT. */
static const struct {
    pcache_dpc_region_id id;
    unsigned field;
    const char *field_name;
    int rounded;
} data_sections[] = {
    {PCACHE_DPC_R_OPTION_STRING, DH_OPTION_STRING_LEN, "option_string_len", 1},
    {PCACHE_DPC_R_CLIENT_RO, DH_INSTRUMENT_RO_LEN, "instrument_ro_len", 1},
    {PCACHE_DPC_R_RELOC, DH_RELOC_LEN, "reloc_len", 0},
    {PCACHE_DPC_R_RAC_HTABLE, DH_RAC_HTABLE_LEN, "rac_htable_len", 0},
    {PCACHE_DPC_R_RCT_HTABLE, DH_RCT_HTABLE_LEN, "rct_htable_len", 0},
    /* DR writes the cache table before the stub table, although the header
     * lists them the other way round. */
    {PCACHE_DPC_R_CACHE_HTABLE, DH_CACHE_HTABLE_LEN, "cache_htable_len", 0},
    {PCACHE_DPC_R_STUB_HTABLE, DH_STUB_HTABLE_LEN, "stub_htable_len", 0},
    {PCACHE_DPC_R_PAD, DH_PAD_LEN, "pad_len", 0},
    {PCACHE_DPC_R_CLIENT_RX, DH_INSTRUMENT_RX_LEN, "instrument_rx_len", 1},
    {PCACHE_DPC_R_VIEW_PAD, DH_VIEW_PAD_LEN, "view_pad_len", 0},
    {PCACHE_DPC_R_CACHE, DH_CACHE_LEN, "cache_len", 0},
    {PCACHE_DPC_R_FCACHE_RETURN_PREFIX, DH_FCACHE_RETURN_PREFIX_LEN, "fcache_return_prefix_len", 0},
    {PCACHE_DPC_R_TRACE_HEAD_RETURN_PREFIX, DH_TRACE_HEAD_RETURN_PREFIX_LEN,
     "trace_head_return_prefix_len", 0},
    {PCACHE_DPC_R_IBL_RET_PREFIX, DH_IBL_RET_PREFIX_LEN, "ibl_ret_prefix_len", 0},
    {PCACHE_DPC_R_IBL_CALL_PREFIX, DH_IBL_CALL_PREFIX_LEN, "ibl_call_prefix_len", 0},
    {PCACHE_DPC_R_IBL_JMP_PREFIX, DH_IBL_JMP_PREFIX_LEN, "ibl_jmp_prefix_len", 0},
    {PCACHE_DPC_R_STUBS, DH_STUBS_LEN, "stubs_len", 0},
    {PCACHE_DPC_R_CLIENT_RW, DH_INSTRUMENT_RW_LEN, "instrument_rw_len", 1},
};

static const char *const region_names[PCACHE_DPC_REGION_COUNT] = {
    [PCACHE_DPC_R_HEADER] = "header",
    [PCACHE_DPC_R_OPTION_STRING] = "option_string",
    [PCACHE_DPC_R_CLIENT_RO] = "client_ro",
    [PCACHE_DPC_R_RELOC] = "reloc",
    [PCACHE_DPC_R_RAC_HTABLE] = "rac_htable",
    [PCACHE_DPC_R_RCT_HTABLE] = "rct_htable",
    [PCACHE_DPC_R_CACHE_HTABLE] = "cache_htable",
    [PCACHE_DPC_R_STUB_HTABLE] = "stub_htable",
    [PCACHE_DPC_R_PAD] = "pad",
    [PCACHE_DPC_R_CLIENT_RX] = "client_rx",
    [PCACHE_DPC_R_VIEW_PAD] = "view_pad",
    [PCACHE_DPC_R_CACHE] = "cache",
    [PCACHE_DPC_R_FCACHE_RETURN_PREFIX] = "fcache_return_prefix",
    [PCACHE_DPC_R_TRACE_HEAD_RETURN_PREFIX] = "trace_head_return_prefix",
    [PCACHE_DPC_R_IBL_RET_PREFIX] = "ibl_ret_prefix",
    [PCACHE_DPC_R_IBL_CALL_PREFIX] = "ibl_call_prefix",
    [PCACHE_DPC_R_IBL_JMP_PREFIX] = "ibl_jmp_prefix",
    [PCACHE_DPC_R_STUBS] = "stubs",
    [PCACHE_DPC_R_CLIENT_RW] = "client_rw",
    [PCACHE_DPC_R_FOOTER] = "footer",
};

const char *pcache_dpc_region_name(pcache_dpc_region_id id)
{
    if ((unsigned)id >= PCACHE_DPC_REGION_COUNT)
        return "?";
    return region_names[id];
}

const char *pcache_dpc_flag_name(uint32_t bit)
{
    switch (bit) {
    case PCACHE_DPC_FLAG_X86_32: return "X86_32";
    case PCACHE_DPC_FLAG_X86_64: return "X86_64";
    case PCACHE_DPC_FLAG_SEEN_BORLAND_SEH: return "SEEN_BORLAND_SEH";
    case PCACHE_DPC_FLAG_ELIDED_UBR: return "ELIDED_UBR";
    case PCACHE_DPC_FLAG_SUPPORT_RAC: return "SUPPORT_RAC";
    case PCACHE_DPC_FLAG_SUPPORT_RCT: return "SUPPORT_RCT";
    case PCACHE_DPC_FLAG_ENTIRE_MODULE_RCT: return "ENTIRE_MODULE_RCT";
    case PCACHE_DPC_FLAG_SUPPORT_TRACES: return "SUPPORT_TRACES";
    case PCACHE_DPC_FLAG_MAP_RW_SEPARATE: return "MAP_RW_SEPARATE";
    case PCACHE_DPC_FLAG_EXEMPTION_OPTIONS: return "EXEMPTION_OPTIONS";
    case PCACHE_DPC_FLAG_CODE_INVALID: return "CODE_INVALID";
    default: return NULL;
    }
}

static pcache_status fail(pcache_report *rep, pcache_status st, uint64_t off, const char *what)
{
    return report_fail(rep, st, PCACHE_REPORT_NO_CLASS, NULL, off, 0, 0, 0, "%s", what);
}

static pcache_status fail_v(pcache_report *rep, pcache_status st, uint64_t off, uint64_t exp,
                            uint64_t found, const char *what)
{
    return report_fail(rep, st, PCACHE_REPORT_NO_CLASS, NULL, off, 1, exp, found, "%s", what);
}

static void md5_of(const uint8_t *p, uint64_t n, uint8_t out[PCACHE_DPC_MD5_LEN])
{
    MD5_CTX ctx;
    MD5Init(&ctx);
    /* Callers bound n by PCACHE_DPC_MAX_DATA_LEN plus the header, far
     * below SIZE_MAX even on 32-bit hosts. */
    MD5Update(&ctx, p, (size_t)n);
    MD5Final(out, &ctx);
}

static void parse_header(const uint8_t *h, pcache_dpc_header *hd)
{
    pcache_dpc_module *m = &hd->module;

    hd->magic = ld32(h + DH_MAGIC);
    hd->version = ld32(h + DH_VERSION);
    hd->header_len = ld64(h + DH_HEADER_LEN);
    hd->data_len = ld64(h + DH_DATA_LEN);
    hd->flags = ld32(h + DH_FLAGS);
    hd->build_number = ld32(h + DH_BUILD_NUMBER);
    m->base = ld64(h + DH_MOD_BASE);
    m->checksum = ld32(h + DH_MOD_CHECKSUM);
    m->timestamp = ld32(h + DH_MOD_TIMESTAMP);
    m->image_size = ld64(h + DH_MOD_IMAGE_SIZE);
    m->code_size = ld64(h + DH_MOD_CODE_SIZE);
    m->file_version = ld64(h + DH_MOD_FILE_VERSION);
    memcpy(m->full_md5, h + DH_MOD_FULL_MD5, PCACHE_DPC_MD5_LEN);
    memcpy(m->short_md5, h + DH_MOD_SHORT_MD5, PCACHE_DPC_MD5_LEN);
    hd->start_offs = ld64(h + DH_START_OFFS);
    hd->end_offs = ld64(h + DH_END_OFFS);
    hd->tls_offs_base = ld32(h + DH_TLS_OFFS_BASE);
    hd->instrument_rw_len = ld64(h + DH_INSTRUMENT_RW_LEN);
    hd->stubs_len = ld64(h + DH_STUBS_LEN);
    hd->ibl_jmp_prefix_len = ld64(h + DH_IBL_JMP_PREFIX_LEN);
    hd->ibl_call_prefix_len = ld64(h + DH_IBL_CALL_PREFIX_LEN);
    hd->ibl_ret_prefix_len = ld64(h + DH_IBL_RET_PREFIX_LEN);
    hd->trace_head_return_prefix_len = ld64(h + DH_TRACE_HEAD_RETURN_PREFIX_LEN);
    hd->fcache_return_prefix_len = ld64(h + DH_FCACHE_RETURN_PREFIX_LEN);
    hd->cache_len = ld64(h + DH_CACHE_LEN);
    hd->post_cache_pad_len = ld64(h + DH_POST_CACHE_PAD_LEN);
    hd->pad_len = ld64(h + DH_PAD_LEN);
    hd->instrument_rx_len = ld64(h + DH_INSTRUMENT_RX_LEN);
    hd->view_pad_len = ld64(h + DH_VIEW_PAD_LEN);
    hd->stub_htable_len = ld64(h + DH_STUB_HTABLE_LEN);
    hd->cache_htable_len = ld64(h + DH_CACHE_HTABLE_LEN);
    hd->rct_htable_len = ld64(h + DH_RCT_HTABLE_LEN);
    hd->rac_htable_len = ld64(h + DH_RAC_HTABLE_LEN);
    hd->reloc_len = ld64(h + DH_RELOC_LEN);
    hd->instrument_ro_len = ld64(h + DH_INSTRUMENT_RO_LEN);
    hd->option_string_len = ld64(h + DH_OPTION_STRING_LEN);
}

/* Magic, version, the 64-bit layout, header_len. */
static pcache_status check_header(pcache_dpc *d, pcache_report *rep)
{
    const uint8_t *p = d->data;
    uint32_t flags;

    if (d->size < 4)
        return fail_v(rep, PCACHE_E_TRUNCATED, 0, 4, d->size, "too few bytes for DR's magic");
    if (ld32(p + DH_MAGIC) != PCACHE_DPC_MAGIC)
        return fail_v(rep, PCACHE_E_DPC_MAGIC, DH_MAGIC, PCACHE_DPC_MAGIC, ld32(p + DH_MAGIC),
                      "header magic is not \"RIO$\"");
    if (d->size < 8)
        return fail_v(rep, PCACHE_E_TRUNCATED, 0, 8, d->size, "too few bytes for DR's version");
    /* The version decides what every later byte means: check it before
     * reading any of them. */
    if (ld32(p + DH_VERSION) != PCACHE_DPC_VERSION)
        return fail_v(rep, PCACHE_E_DPC_VERSION, DH_VERSION, PCACHE_DPC_VERSION, ld32(p + DH_VERSION),
                      "header field version: a DR persisted-cache version this parser does not know");
    if (d->size < PCACHE_DPC_HEADER_LEN)
        return fail_v(rep, PCACHE_E_TRUNCATED, 0, PCACHE_DPC_HEADER_LEN, d->size,
                      "too few bytes for a version-10 header");
    /* A 32-bit DR writes 4-byte lengths, so its flags are not at this
     * offset: there it reads the module base, whose X86_64 bit (a page
     * offset bit) is clear. */
    flags = ld32(p + DH_FLAGS);
    if (!(flags & PCACHE_DPC_FLAG_X86_64))
        return report_fail(rep, PCACHE_E_DPC_VERSION, PCACHE_REPORT_NO_CLASS, NULL, DH_FLAGS, 0, 0, 0,
                           "header field flags (0x%x) lack X86_64: not the 64-bit version-10 "
                           "layout this parser knows",
                           flags);
    if (ld64(p + DH_HEADER_LEN) != PCACHE_DPC_HEADER_LEN)
        return fail_v(rep, PCACHE_E_DPC_LAYOUT, DH_HEADER_LEN, PCACHE_DPC_HEADER_LEN, ld64(p + DH_HEADER_LEN),
                      "header field header_len: a version-10 header is exactly this long");
    parse_header(p, &d->header);
    d->have_header = 1;
    return PCACHE_OK;
}

/* data_len within DR's bounds. */
static pcache_status check_data_len(const pcache_dpc_header *h, pcache_report *rep)
{
    if (h->data_len > PCACHE_DPC_MAX_DATA_LEN)
        return fail_v(rep, PCACHE_E_DPC_LAYOUT, DH_DATA_LEN, PCACHE_DPC_MAX_DATA_LEN, h->data_len,
                      "header field data_len above DR's 2 GB limit");
    if (h->data_len < PCACHE_DPC_FOOTER_LEN)
        return fail_v(rep, PCACHE_E_DPC_LAYOUT, DH_DATA_LEN, PCACHE_DPC_FOOTER_LEN, h->data_len,
                      "header field data_len smaller than the footer");
    return PCACHE_OK;
}

/* Total size, footer, digests. */
static pcache_status check_footer(pcache_dpc *d, pcache_report *rep)
{
    const pcache_dpc_header *h = &d->header;
    uint64_t total, foot;
    const uint8_t *f;
    pcache_status st;

    if ((st = check_data_len(h, rep)) != PCACHE_OK)
        return st;
    total = h->header_len + h->data_len; /* both bounded above: no wrap */
    if (d->size < total)
        return fail_v(rep, PCACHE_E_TRUNCATED, DH_DATA_LEN, total, d->size,
                      "file shorter than header_len + data_len");
    if (d->size > total)
        return fail_v(rep, PCACHE_E_DPC_LAYOUT, DH_DATA_LEN, total, d->size,
                      "file longer than header_len + data_len");
    foot = total - PCACHE_DPC_FOOTER_LEN;
    f = d->data + foot;
    if (ld32(f + DF_MAGIC) != PCACHE_DPC_MAGIC)
        return fail_v(rep, PCACHE_E_DPC_MAGIC, foot + DF_MAGIC, PCACHE_DPC_MAGIC, ld32(f + DF_MAGIC),
                      "footer magic is not \"RIO$\" (an incomplete write?)");
    d->region[PCACHE_DPC_R_HEADER].offset = 0;
    d->region[PCACHE_DPC_R_HEADER].size = h->header_len;
    d->region[PCACHE_DPC_R_FOOTER].offset = foot;
    d->region[PCACHE_DPC_R_FOOTER].size = PCACHE_DPC_FOOTER_LEN;
    memcpy(d->stored_file_md5, f + DF_FILE_MD5, PCACHE_DPC_MD5_LEN);
    memcpy(d->stored_header_md5, f + DF_HEADER_MD5, PCACHE_DPC_MD5_LEN);
    d->footer_magic = ld32(f + DF_MAGIC);
    /* persist_calculate_self_digest(): the whole file before the footer,
     * and the header_len header bytes. */
    md5_of(d->data, foot, d->computed_file_md5);
    md5_of(d->data, h->header_len, d->computed_header_md5);
    d->file_md5_matches = memcmp(d->computed_file_md5, d->stored_file_md5, PCACHE_DPC_MD5_LEN) == 0;
    d->header_md5_matches = memcmp(d->computed_header_md5, d->stored_header_md5, PCACHE_DPC_MD5_LEN) == 0;
    d->have_digests = 1;
    return PCACHE_OK;
}

static pcache_status check_sections(pcache_dpc *d, pcache_report *rep)
{
    const pcache_dpc_header *h = &d->header;
    const uint64_t foot = d->region[PCACHE_DPC_R_FOOTER].offset;
    uint64_t off = h->header_len, end;

    for (size_t i = 0; i < sizeof data_sections / sizeof data_sections[0]; i++) {
        uint64_t len = ld64(d->data + data_sections[i].field);
        if (data_sections[i].rounded && len % PCACHE_DPC_CLIENT_ALIGNMENT)
            return report_fail(rep, PCACHE_E_DPC_LAYOUT, PCACHE_REPORT_NO_CLASS, NULL, data_sections[i].field, 1,
                               len + (PCACHE_DPC_CLIENT_ALIGNMENT - len % PCACHE_DPC_CLIENT_ALIGNMENT), len,
                               "header field %s: DR rounds it up to a multiple of %u",
                               data_sections[i].field_name, PCACHE_DPC_CLIENT_ALIGNMENT);
        if (add_u64(off, len, &end) || end > foot)
            return report_fail(rep, PCACHE_E_DPC_LAYOUT, PCACHE_REPORT_NO_CLASS, NULL, data_sections[i].field, 1,
                               foot - off, len,
                               "header field %s: the section would run past the footer "
                               "(expected at most the bytes left before it)",
                               data_sections[i].field_name);
        d->region[data_sections[i].id].offset = off;
        d->region[data_sections[i].id].size = len;
        off = end;
    }
    if (off != foot)
        return fail_v(rep, PCACHE_E_DPC_LAYOUT, DH_DATA_LEN, foot, off,
                      "header field data_len: the section lengths leave a gap before the footer "
                      "(expected footer offset, found end of the last section)");

    /* What DR's writer guarantees and its loader asserts. */
    if (h->pad_len >= PCACHE_DPC_PAGE_SIZE)
        return fail_v(rep, PCACHE_E_DPC_LAYOUT, DH_PAD_LEN, PCACHE_DPC_PAGE_SIZE - 1, h->pad_len,
                      "header field pad_len: padding to a page is less than a page");
    if (d->region[PCACHE_DPC_R_CLIENT_RX].offset % PCACHE_DPC_PAGE_SIZE)
        return fail_v(rep, PCACHE_E_DPC_LAYOUT, DH_PAD_LEN, 0,
                      d->region[PCACHE_DPC_R_CLIENT_RX].offset % PCACHE_DPC_PAGE_SIZE,
                      "header field pad_len: the rx slot does not start on a page (offset modulo 4096)");
    if (h->view_pad_len >= PCACHE_DPC_PAGE_SIZE)
        return fail_v(rep, PCACHE_E_DPC_LAYOUT, DH_VIEW_PAD_LEN, PCACHE_DPC_PAGE_SIZE - 1, h->view_pad_len,
                      "header field view_pad_len: padding to a view boundary is less than a page");
    if ((h->flags & PCACHE_DPC_FLAG_MAP_RW_SEPARATE) &&
        d->region[PCACHE_DPC_R_FCACHE_RETURN_PREFIX].offset % PCACHE_DPC_PAGE_SIZE)
        return fail_v(rep, PCACHE_E_DPC_LAYOUT, DH_VIEW_PAD_LEN, 0,
                      d->region[PCACHE_DPC_R_FCACHE_RETURN_PREFIX].offset % PCACHE_DPC_PAGE_SIZE,
                      "header field view_pad_len: with MAP_RW_SEPARATE the stubs start on a view "
                      "boundary (offset modulo 4096)");
    if (h->post_cache_pad_len > h->cache_len)
        return fail_v(rep, PCACHE_E_DPC_LAYOUT, DH_POST_CACHE_PAD_LEN, h->cache_len, h->post_cache_pad_len,
                      "header field post_cache_pad_len: it is part of cache_len, so at most cache_len");
    return PCACHE_OK;
}

static pcache_status parse_option_string(pcache_dpc *d, pcache_report *rep)
{
    const pcache_dpc_span *r = &d->region[PCACHE_DPC_R_OPTION_STRING];
    const uint8_t *s = d->data + r->offset, *nul;

    d->option_string.ptr = (const char *)s;
    d->option_string.len = 0;
    if (r->size == 0)
        return PCACHE_OK;
    nul = memchr(s, 0, (size_t)r->size);
    if (!nul)
        return fail_v(rep, PCACHE_E_DPC_LAYOUT, r->offset, r->size, r->size,
                      "option string has no NUL within option_string_len bytes");
    d->option_string.len = (uint64_t)(nul - s);
    return PCACHE_OK;
}

/* instrument_persist_ro(): each client library path with its NUL, then
 * one more NUL, before the clients' own ro data. */
static pcache_status parse_client_list(pcache_dpc *d, pcache_report *rep)
{
    const pcache_dpc_span *r = &d->region[PCACHE_DPC_R_CLIENT_RO];
    const uint8_t *slot = d->data + r->offset;
    uint64_t pos = 0;

    if (r->size == 0)
        return fail_v(rep, PCACHE_E_DPC_LAYOUT, DH_INSTRUMENT_RO_LEN, PCACHE_DPC_CLIENT_ALIGNMENT, 0,
                      "header field instrument_ro_len: DR always writes its client list there");
    for (;;) {
        const uint8_t *nul = memchr(slot + pos, 0, (size_t)(r->size - pos));
        uint64_t len;
        if (!nul)
            return fail_v(rep, PCACHE_E_DPC_LAYOUT, r->offset + pos, r->size, r->size,
                          "client list: a path has no NUL within the ro slot (instrument_ro_len)");
        len = (uint64_t)(nul - (slot + pos));
        if (len == 0)
            break;
        if (d->client_lib_count == PCACHE_DPC_MAX_CLIENT_LIBS)
            return fail_v(rep, PCACHE_E_DPC_LAYOUT, r->offset + pos, PCACHE_DPC_MAX_CLIENT_LIBS,
                          (uint64_t)PCACHE_DPC_MAX_CLIENT_LIBS + 1, "client list: more libraries than DR allows");
        d->client_lib[d->client_lib_count].ptr = (const char *)slot + pos;
        d->client_lib[d->client_lib_count].len = len;
        d->client_lib_count++;
        pos += len + 1; /* the NUL was found inside the slot: no wrap */
        if (pos == r->size)
            return fail_v(rep, PCACHE_E_DPC_LAYOUT, r->offset + pos, pos + 1, r->size,
                          "client list: the ro slot ends before the list's final NUL");
    }
    d->client_list_len = pos + 1;
    d->client_data[PCACHE_RO].offset = r->offset + d->client_list_len;
    d->client_data[PCACHE_RO].size = r->size - d->client_list_len;
    return PCACHE_OK;
}

pcache_status pcache_dpc_parse_header(pcache_dpc *out, const void *data, uint64_t size, pcache_report *rep)
{
    pcache_status st;
    uint64_t foot;

    report_clear(rep);
    if (!out || !data)
        return fail(rep, PCACHE_E_INVALID_ARGUMENT, 0, "invalid argument to pcache_dpc_parse_header");
    memset(out, 0, sizeof *out);
    out->data = data;
    out->size = size;
    if ((st = check_header(out, rep)) != PCACHE_OK)
        return st;
    if ((st = check_data_len(&out->header, rep)) != PCACHE_OK)
        return st;
    foot = out->header.header_len + out->header.data_len - PCACHE_DPC_FOOTER_LEN;
    out->region[PCACHE_DPC_R_HEADER].size = out->header.header_len;
    out->region[PCACHE_DPC_R_FOOTER].offset = foot;
    out->region[PCACHE_DPC_R_FOOTER].size = PCACHE_DPC_FOOTER_LEN;
    if ((st = check_sections(out, rep)) != PCACHE_OK)
        return st;
    out->client_data[PCACHE_RO] = out->region[PCACHE_DPC_R_CLIENT_RO];
    out->client_data[PCACHE_RX] = out->region[PCACHE_DPC_R_CLIENT_RX];
    out->client_data[PCACHE_RW] = out->region[PCACHE_DPC_R_CLIENT_RW];
    return PCACHE_OK;
}

pcache_status pcache_dpc_parse(pcache_dpc *out, const void *data, uint64_t size, pcache_report *rep)
{
    pcache_status st;

    report_clear(rep);
    if (!out || !data)
        return fail(rep, PCACHE_E_INVALID_ARGUMENT, 0, "invalid argument to pcache_dpc_parse");
    memset(out, 0, sizeof *out);
    out->data = data;
    out->size = size;

    if ((st = check_header(out, rep)) != PCACHE_OK)
        return st;
    if ((st = check_footer(out, rep)) != PCACHE_OK)
        return st;
    if ((st = check_sections(out, rep)) != PCACHE_OK)
        return st;
    if ((st = parse_option_string(out, rep)) != PCACHE_OK)
        return st;
    if ((st = parse_client_list(out, rep)) != PCACHE_OK)
        return st;
    out->client_data[PCACHE_RX] = out->region[PCACHE_DPC_R_CLIENT_RX];
    out->client_data[PCACHE_RW] = out->region[PCACHE_DPC_R_CLIENT_RW];
    out->have_layout = 1;

    /* The header digest first: it is the one DR checks by default. */
    if (!out->header_md5_matches)
        return fail_v(rep, PCACHE_E_DPC_DIGEST, out->region[PCACHE_DPC_R_FOOTER].offset + DF_HEADER_MD5,
                      ld64be(out->stored_header_md5), ld64be(out->computed_header_md5),
                      "footer: MD5 of the header (first 8 bytes, stored vs computed)");
    if (!out->file_md5_matches)
        return fail_v(rep, PCACHE_E_DPC_DIGEST, out->region[PCACHE_DPC_R_FOOTER].offset + DF_FILE_MD5,
                      ld64be(out->stored_file_md5), ld64be(out->computed_file_md5),
                      "footer: MD5 of the file before the footer (first 8 bytes, stored vs computed)");
    return PCACHE_OK;
}

/* ------------------------------------------------------------------ */
/* Finding this library's segments in the client slots                 */
/* ------------------------------------------------------------------ */

/* The scan's cost is linear in the slot's size, whatever the bytes.  A
 * candidate costs a fixed amount of work (the magic, the version, one
 * checksum of its 248 header bytes) unless its header is intact and states
 * an extent that holds its header and table and lies in the slot.  Only
 * then does resurrect read further (the table, the layout, at full
 * validation every section, gap and relocation table), and only inside
 * that extent.  Such a candidate claims its extent whether it is then
 * accepted or refused: the scan goes on after it, so that claimed extents
 * never overlap and no byte is verified twice (claimed_extent() hashes a
 * claiming header a second time).  Magics cannot overlap one another (no
 * proper prefix of the magic is also its suffix), so candidates are at
 * least 8 bytes apart: in all, at most 248 / 8 = 31 bytes are hashed per
 * slot byte for the headers of candidates, and each other byte is read a
 * bounded number of times (docs/FORMAT.md 8.1).
 *
 * The rule before, one byte on after a refused candidate, let a slot of
 * overlapping candidates, each with an intact header and table and a
 * section reaching to the slot's end, be verified in full once per
 * candidate: quadratic. */

/* The extent [0, size) a candidate's header claims, or 0 when its header
 * is not intact (major version 1, a known checksum algorithm, the header
 * checksum matching) or the size it states does not hold its header and
 * table or exceeds left. */
static uint64_t claimed_extent(const uint8_t *h, uint64_t left)
{
    uint64_t size, table;

    if (left < SEG_HEADER_SIZE || ld16(h + SH_MAJOR) != PCACHE_FORMAT_MAJOR ||
        !checksum_algorithm_known(h[SH_CHECKSUM]))
        return 0;
    size = ld64(h + SH_SEGMENT_SIZE);
    table = SEG_HEADER_SIZE + (uint64_t)SEG_ENTRY_SIZE * ld32(h + SH_SECTION_COUNT); /* no wrap: < 2^39 */
    if (size < table || size > left)
        return 0;
    if (pcache_checksum((pcache_checksum_algorithm)h[SH_CHECKSUM], h, SH_HEADER_CHECKSUM) !=
        ld64be(h + SH_HEADER_CHECKSUM))
        return 0;
    return size;
}

/* Statuses resurrect returns only before it has verified the header
 * checksum: no extent is claimed, and none need be computed. */
static int refused_before_header(pcache_status st)
{
    return st == PCACHE_E_MAGIC || st == PCACHE_E_FORMAT_VERSION || st == PCACHE_E_CHECKSUM_ALGORITHM ||
           st == PCACHE_E_HEADER_CHECKSUM;
}

/* The next candidate in scan's slot, from scan->pos on, into *f; 0 when
 * the slot has no more.  scan->pos moves past it. */
static int next_in_slot(const pcache_dpc *d, pcache_dpc_scan *scan, pcache_dpc_found *f)
{
    const pcache_dpc_span *span = &d->client_data[scan->slot];
    const uint8_t *base = d->data + span->offset;
    pcache_expect exp;
    uint64_t pos = scan->pos;

    /* Only the bytes are validated: the identity belongs to whichever
     * client wrote the segment, which a tool does not know. */
    memset(&exp, 0, sizeof exp);
    exp.check = 0;
    exp.validation = PCACHE_VALIDATE_FULL;

    while (span->size - pos >= SEG_MAGIC_SIZE) {
        const uint8_t *hit = memchr(base + pos, SEG_MAGIC[0], (size_t)(span->size - pos - SEG_MAGIC_SIZE + 1));
        const uint8_t *map;
        uint64_t left, extent;
        pcache_class cls = (pcache_class)scan->slot;

        if (!hit)
            break;
        pos = (uint64_t)(hit - base);
        if (memcmp(hit, SEG_MAGIC, SEG_MAGIC_SIZE) != 0) {
            pos++;
            continue;
        }
        left = span->size - pos;
        /* The segment states its class; DR does not always deliver a
         * class's bytes to that class's slot. */
        if (left > SH_CLASS && hit[SH_CLASS] >= 1 && hit[SH_CLASS] <= PCACHE_CLASS_COUNT)
            cls = (pcache_class)(hit[SH_CLASS] - 1);
        memset(f, 0, sizeof *f);
        f->slot = (pcache_class)scan->slot;
        f->file_offset = span->offset + pos;
        map = hit;
        f->status = pcache_resurrect(&f->segment, cls, &map, left, &exp, scan->brief ? NULL : &f->report);
        if (scan->brief) {
            report_clear(&f->report);
            f->report.status = f->status;
        }
        if (f->status == PCACHE_OK) {
            f->at_stated_offset = f->segment.file_offset == f->file_offset;
            extent = f->segment.size; /* resurrect checked size <= left */
        } else {
            extent = refused_before_header(f->status) ? 0 : claimed_extent(hit, left);
        }
        scan->pos = pos + (extent ? extent : 1);
        return 1;
    }
    scan->pos = span->size;
    return 0;
}

void pcache_dpc_scan_init(pcache_dpc_scan *scan)
{
    if (scan)
        memset(scan, 0, sizeof *scan);
}

pcache_status pcache_dpc_next_segment(const pcache_dpc *dpc, pcache_dpc_scan *scan, pcache_dpc_found *found,
                                      pcache_report *rep)
{
    report_clear(rep);
    if (!dpc || !scan || !found || !dpc->have_layout || scan->slot > PCACHE_CLASS_COUNT ||
        (scan->slot < PCACHE_CLASS_COUNT && scan->pos > dpc->client_data[scan->slot].size))
        return fail(rep, PCACHE_E_INVALID_ARGUMENT, 0,
                    "invalid argument to pcache_dpc_next_segment (a fully parsed .dpc and a scan from "
                    "pcache_dpc_scan_init are needed)");
    for (; scan->slot < PCACHE_CLASS_COUNT; scan->slot++, scan->pos = 0)
        if (next_in_slot(dpc, scan, found))
            return PCACHE_OK;
    return fail(rep, PCACHE_E_NOT_FOUND, 0, "no segment candidate left in the client slots");
}

pcache_status pcache_dpc_find_segments(const pcache_dpc *dpc, pcache_dpc_found *found, size_t capacity,
                                       size_t *count, pcache_report *rep)
{
    pcache_dpc_scan scan;
    pcache_dpc_found tmp;

    report_clear(rep);
    if (!dpc || !count || (capacity && !found) || !dpc->have_layout)
        return fail(rep, PCACHE_E_INVALID_ARGUMENT, 0,
                    "invalid argument to pcache_dpc_find_segments (a fully parsed .dpc is needed)");
    *count = 0;
    pcache_dpc_scan_init(&scan);
    for (;;) {
        scan.brief = *count >= capacity; /* past capacity the candidates are only counted */
        if (pcache_dpc_next_segment(dpc, &scan, scan.brief ? &tmp : &found[*count], NULL) != PCACHE_OK)
            break;
        (*count)++;
    }
    return PCACHE_OK;
}
