/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * docs/FORMAT.md against the code.  An implementation written from the
 * document alone must agree with libpcache byte for byte and status for
 * status; this test fails when the two part:
 *
 *  - the document's tables of constants (magics, sizes, codes, flags,
 *    limits, validation levels, identity check bits, status codes by name
 *    and number) are read from the document and compared with the code's;
 *  - segments are composed from section 3 alone (header, table, canonical
 *    layout, trailer) and must equal what the builder writes, the worked
 *    example of 3.6 included;
 *  - the order of the identity checks is read from the table of section 5
 *    and each check must win over every later one;
 *  - a corpus of damaged files and segments, each with the status (and the
 *    offset) the document predicts, in particular where a first reading of
 *    the document and the code used to differ: 4.2 steps 2 and 4, 7.1's
 *    footer, 7.4 steps 8 to 10, 9.4.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "format.h"
#include "pcache/reloc.h"

#ifndef PCACHE_SOURCE_ROOT
#error "PCACHE_SOURCE_ROOT must name the source tree"
#endif

/* ------------------------------------------------------------------ */
/* reading the document's tables                                       */
/* ------------------------------------------------------------------ */

static char *slurp(const char *rel)
{
    char path[1024];
    FILE *fp;
    long n;
    char *s;

    snprintf(path, sizeof path, "%s/%s", PCACHE_SOURCE_ROOT, rel);
    fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n > 0);
    rewind(fp);
    s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
    s[n] = '\0';
    fclose(fp);
    return s;
}

#define MAX_CELLS 8
#define MAX_ROWS 128

/* One row of a Markdown table: its cells, trimmed, without backticks
 * around a cell's whole text. */
typedef struct md_row {
    char *line; /* owns the cells */
    char *cell[MAX_CELLS];
    int n;
} md_row;

typedef struct md_table {
    md_row row[MAX_ROWS];
    size_t n;
} md_table;

static char *trim(char *s)
{
    size_t len;
    while (*s == ' ')
        s++;
    len = strlen(s);
    while (len && s[len - 1] == ' ')
        s[--len] = '\0';
    if (len >= 2 && s[0] == '`' && s[len - 1] == '`' && !memchr(s + 1, '`', len - 2)) {
        s[len - 1] = '\0';
        s++;
    }
    return s;
}

/* The body rows of the first table after the line that starts with
 * heading (the header row and the separator are skipped). */
static void md_read_table(const char *doc, const char *heading, md_table *t)
{
    const char *p = doc, *line;
    int body = -2;

    memset(t, 0, sizeof *t);
    for (;;) {
        p = strstr(p, heading);
        if (!p)
            fail_msg("docs/FORMAT.md has no heading '%s'", heading);
        if (p == doc || p[-1] == '\n')
            break;
        p++;
    }
    for (line = strchr(p, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        const char *start = line + 1, *end = strchr(start, '\n');
        size_t len = end ? (size_t)(end - start) : strlen(start);
        md_row *r;
        char *c, *bar;

        if (start[0] != '|') {
            if (body > -2)
                break; /* the table has ended */
            continue;
        }
        if (++body < 0 || body == 0) /* header row, separator */
            continue;
        assert_true(t->n < MAX_ROWS);
        r = &t->row[t->n++];
        r->line = malloc(len + 1);
        assert_non_null(r->line);
        memcpy(r->line, start, len);
        r->line[len] = '\0';
        c = r->line + 1; /* after the leading '|' */
        while ((bar = strchr(c, '|')) && r->n < MAX_CELLS) {
            *bar = '\0';
            r->cell[r->n++] = trim(c);
            c = bar + 1;
        }
    }
    if (t->n == 0)
        fail_msg("no table after '%s' in docs/FORMAT.md", heading);
}

static void md_free(md_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->row[i].line);
}

/* "256", "0x0800", "2^30". */
static uint64_t md_number(const char *s)
{
    char *end;
    uint64_t v;
    if (s[0] == '2' && s[1] == '^')
        return 1ull << strtoul(s + 2, NULL, 10);
    v = strtoull(s, &end, 0);
    if (end == s || *end)
        fail_msg("'%s' in docs/FORMAT.md is not a number", s);
    return v;
}

typedef struct named_value {
    const char *name;
    uint64_t value;
} named_value;

/* Every row of the table under heading whose name_col cell names one of
 * known must state its value in value_col, and every one of known must
 * have a row. */
static void expect_table_values(const char *doc, const char *heading, int name_col, int value_col,
                                const named_value *known, size_t count)
{
    md_table t;
    int *seen = calloc(count, sizeof *seen);

    assert_non_null(seen);
    md_read_table(doc, heading, &t);
    for (size_t i = 0; i < t.n; i++) {
        const md_row *r = &t.row[i];
        assert_true(r->n > name_col && r->n > value_col);
        for (size_t k = 0; k < count; k++) {
            if (strcmp(r->cell[name_col], known[k].name) != 0)
                continue;
            if (md_number(r->cell[value_col]) != known[k].value)
                fail_msg("%s: docs/FORMAT.md says %s = %s, the code %llu", heading, known[k].name,
                         r->cell[value_col], (unsigned long long)known[k].value);
            seen[k] = 1;
        }
    }
    for (size_t k = 0; k < count; k++)
        if (!seen[k])
            fail_msg("%s: docs/FORMAT.md has no row for %s", heading, known[k].name);
    free(seen);
    md_free(&t);
}

/* ------------------------------------------------------------------ */
/* the tables                                                          */
/* ------------------------------------------------------------------ */

/* 2.7: every status, by number and name, in order, nothing more; and
 * include/pcache/pcache.h gives each its number explicitly. */
static void status_codes_are_the_documented_numbers(void **state)
{
    char *doc = slurp("docs/FORMAT.md"), *h = slurp("include/pcache/pcache.h");
    char *p, *end;
    size_t explicit_count = 0;
    md_table t;
    (void)state;

    md_read_table(doc, "### 2.7 Status codes", &t);
    if (t.n != PCACHE_STATUS_COUNT)
        fail_msg("docs/FORMAT.md 2.7 lists %zu status codes, pcache.h has %d", t.n, (int)PCACHE_STATUS_COUNT);
    for (size_t i = 0; i < t.n; i++) {
        const md_row *r = &t.row[i];
        assert_true(r->n >= 3);
        if (md_number(r->cell[0]) != i)
            fail_msg("docs/FORMAT.md 2.7 row %zu has code %s", i, r->cell[0]);
        if (strcmp(r->cell[1], pcache_status_name((pcache_status)i)) != 0)
            fail_msg("status %zu: docs/FORMAT.md 2.7 says %s, the code %s", i, r->cell[1],
                     pcache_status_name((pcache_status)i));
        assert_true(r->cell[2][0] != '\0');
    }
    md_free(&t);

    /* pcache.h: a line "PCACHE_E_NAME = N," for every status */
    p = strstr(h, "typedef enum pcache_status {");
    assert_non_null(p);
    end = strstr(p, "} pcache_status;");
    assert_non_null(end);
    *end = '\0';
    for (p = strchr(p, '\n'); p; p = strchr(p + 1, '\n')) {
        char name[64];
        const char *q = p + 1 + strspn(p + 1, " ");
        size_t len = strspn(q, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
        unsigned long v;
        if (strncmp(q, "PCACHE_", 7) != 0)
            continue; /* a comment, the closing line */
        assert_true(len < sizeof name);
        memcpy(name, q, len);
        name[len] = '\0';
        if (strcmp(name, "PCACHE_STATUS_COUNT") == 0)
            continue;
        if (strncmp(q + len, " = ", 3) != 0)
            fail_msg("pcache.h: %s has no explicit number", name);
        v = strtoul(q + len + 3, NULL, 10);
        if (v >= PCACHE_STATUS_COUNT || strcmp(pcache_status_name((pcache_status)v), name) != 0)
            fail_msg("pcache.h: %s = %lu disagrees with the status table", name, v);
        explicit_count++;
    }
    assert_int_equal(explicit_count, PCACHE_STATUS_COUNT);
    /* the numbers pcache-inspect --json has printed since they existed */
    assert_int_equal(PCACHE_E_TRUNCATED, 12);
    assert_int_equal(PCACHE_E_SECTION_CHECKSUM, 20);
    assert_int_equal(PCACHE_E_NOT_COMPRESSIBLE, 63);
    free(h);
    free(doc);
}

static void magics(const char *doc)
{
    static const struct {
        const char *name;
        const char *bytes;
    } known[] = {{"SEG_MAGIC", SEG_MAGIC}, {"FILE_MAGIC", FILE_MAGIC}, {"FILE_FOOTER_MAGIC", FILE_FOOTER_MAGIC}};
    md_table t;
    size_t found = 0;

    md_read_table(doc, "### 2.1 Magics", &t);
    for (size_t i = 0; i < t.n; i++)
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
            const char *s = t.row[i].cell[2];
            if (strcmp(t.row[i].cell[0], known[k].name) != 0)
                continue;
            for (unsigned b = 0; b < 8; b++, s += 3)
                if (strtoul(s, NULL, 16) != (uint8_t)known[k].bytes[b])
                    fail_msg("%s byte %u: docs/FORMAT.md %.2s", known[k].name, b, s);
            found++;
        }
    assert_int_equal(found, 3);
    md_free(&t);
}

static void constants_are_the_documented_values(void **state)
{
    static const named_value sizes[] = {
        {"SEG_HEADER_SIZE", SEG_HEADER_SIZE}, {"SEG_ENTRY_SIZE", SEG_ENTRY_SIZE},
        {"SEG_TRAILER_ENTRY_SIZE", SEG_TRAILER_ENTRY_SIZE}, {"SEG_TRAILER_ALIGN", SEG_TRAILER_ALIGN},
        {"SEG_END_ALIGN", SEG_END_ALIGN}, {"FILE_HEADER_SIZE", FILE_HEADER_SIZE},
        {"FILE_FOOTER_SIZE", FILE_FOOTER_SIZE},
    };
    static const named_value versions[] = {
        {"PCACHE_FORMAT_MAJOR", PCACHE_FORMAT_MAJOR}, {"PCACHE_FORMAT_MINOR", PCACHE_FORMAT_MINOR},
    };
    static const named_value flags[] = {
        {"PCACHE_TYPE_DATA", PCACHE_TYPE_DATA}, {"PCACHE_TYPE_RELOCS", PCACHE_TYPE_RELOCS},
        {"PCACHE_TYPE_ANCHORS", PCACHE_TYPE_ANCHORS}, {"PCACHE_TYPE_CRELOCS", PCACHE_TYPE_CRELOCS},
        {"PCACHE_SECTION_SKIPPABLE", PCACHE_SECTION_SKIPPABLE},
        {"PCACHE_SECTION_COMPRESSED", PCACHE_SECTION_COMPRESSED},
        {"PCACHE_SEGMENT_PAGE_ROUNDED", PCACHE_SEGMENT_PAGE_ROUNDED},
    };
    static const named_value limits[] = {
        {"PCACHE_SECTION_NAME_MAX", PCACHE_SECTION_NAME_MAX}, {"PCACHE_CLIENT_NAME_MAX", PCACHE_CLIENT_NAME_MAX},
        {"PCACHE_MODULE_DIGEST_MAX", PCACHE_MODULE_DIGEST_MAX}, {"PCACHE_IMAGE_ID_SIZE", PCACHE_IMAGE_ID_SIZE},
        {"PCACHE_MAX_SECTIONS", PCACHE_MAX_SECTIONS}, {"PAGE_SIZE_MIN", PAGE_SIZE_MIN},
        {"PAGE_SIZE_MAX", PAGE_SIZE_MAX},
    };
    static const named_value levels[] = {
        {"PCACHE_VALIDATE_HEADER", PCACHE_VALIDATE_HEADER}, {"PCACHE_VALIDATE_LAZY", PCACHE_VALIDATE_LAZY},
        {"PCACHE_VALIDATE_FULL", PCACHE_VALIDATE_FULL},
    };
    static const named_value relocs[] = {
        {"PCACHE_RELOC_REL8", PCACHE_RELOC_REL8}, {"PCACHE_RELOC_REL32", PCACHE_RELOC_REL32},
        {"PCACHE_RELOC_ABS32", PCACHE_RELOC_ABS32}, {"PCACHE_RELOC_ABS64", PCACHE_RELOC_ABS64},
    };
    char *doc = slurp("docs/FORMAT.md");
    (void)state;

    magics(doc);
    expect_table_values(doc, "### 2.2 Sizes", 0, 1, sizes, sizeof sizes / sizeof sizes[0]);
    expect_table_values(doc, "### 2.3 Versions", 0, 1, versions, sizeof versions / sizeof versions[0]);
    expect_table_values(doc, "### 2.5 Types and flags", 2, 1, flags, sizeof flags / sizeof flags[0]);
    expect_table_values(doc, "### 2.6 Limits", 0, 1, limits, sizeof limits / sizeof limits[0]);
    expect_table_values(doc, "### 4.3 Validation levels", 0, 1, levels, sizeof levels / sizeof levels[0]);
    expect_table_values(doc, "### 9.2 Kinds", 1, 0, relocs, sizeof relocs / sizeof relocs[0]);
    free(doc);
}

/* ------------------------------------------------------------------ */
/* section 5: the identity checks, their bits and their order          */
/* ------------------------------------------------------------------ */

static const named_value check_bits[] = {
    {"PCACHE_CHECK_BYTE_ORDER", PCACHE_CHECK_BYTE_ORDER},       {"PCACHE_CHECK_POINTER_SIZE", PCACHE_CHECK_POINTER_SIZE},
    {"PCACHE_CHECK_ARCH", PCACHE_CHECK_ARCH},                   {"PCACHE_CHECK_PAGE_SIZE", PCACHE_CHECK_PAGE_SIZE},
    {"PCACHE_CHECK_CHECKSUM_ALGO", PCACHE_CHECK_CHECKSUM_ALGO}, {"PCACHE_CHECK_CLIENT", PCACHE_CHECK_CLIENT},
    {"PCACHE_CHECK_CLIENT_VERSION", PCACHE_CHECK_CLIENT_VERSION}, {"PCACHE_CHECK_IMAGE_ID", PCACHE_CHECK_IMAGE_ID},
    {"PCACHE_CHECK_MODULE_BASE", PCACHE_CHECK_MODULE_BASE},     {"PCACHE_CHECK_MODULE_SIZE", PCACHE_CHECK_MODULE_SIZE},
    {"PCACHE_CHECK_MODULE_DIGEST", PCACHE_CHECK_MODULE_DIGEST},
};

static uint32_t check_bit(const char *name)
{
    for (size_t k = 0; k < sizeof check_bits / sizeof check_bits[0]; k++)
        if (strcmp(check_bits[k].name, name) == 0)
            return (uint32_t)check_bits[k].value;
    fail_msg("docs/FORMAT.md 5 names an unknown check bit %s", name);
    return 0;
}

/* An identity that differs from id in every field. */
static void every_field_other(pcache_identity *x, const pcache_identity *id)
{
    *x = *id;
    x->byte_order = id->byte_order == PCACHE_LITTLE_ENDIAN ? PCACHE_BIG_ENDIAN : PCACHE_LITTLE_ENDIAN;
    x->pointer_size = id->pointer_size == 8 ? 4 : 8;
    x->arch = (uint16_t)(id->arch + 1);
    x->page_size = id->page_size * 2;
    x->checksum = id->checksum == PCACHE_CHECKSUM_CRC32 ? PCACHE_CHECKSUM_XXH3_64 : PCACHE_CHECKSUM_CRC32;
    snprintf(x->client_name, sizeof x->client_name, "someone else");
    x->client_version = id->client_version + 1;
    x->image_id[3] ^= 0x40;
    x->module_base = id->module_base + 0x1000;
    x->module_size = id->module_size + 1;
    x->module_digest[0] ^= 1;
}

/* The table of section 5, read in its order: with every identity field
 * wrong and the checks of rows k.. on, row k's status wins. */
static void identity_checks_in_the_documented_order(void **state)
{
    char *doc = slurp("docs/FORMAT.md");
    pcache_identity id;
    pcache_builder *b;
    pcache_expect exp;
    pcache_segment seg;
    pcache_report rep;
    uint64_t size;
    void *block;
    uint8_t *bytes;
    uint32_t defaults = 0;
    md_table t;
    (void)state;

    md_read_table(doc, "## 5. Identity", &t);
    assert_int_equal(t.n, sizeof check_bits / sizeof check_bits[0]);
    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "x", "abc", 3, 1, 0), PCACHE_OK);
    bytes = test_persist(b, PCACHE_RO, 0, &size, &block);
    for (size_t k = 0; k < t.n; k++) {
        const md_row *r = &t.row[k];
        const uint8_t *map = bytes;
        pcache_status st;
        assert_true(r->n >= 7);
        assert_int_equal(md_number(r->cell[0]), k + 1);
        assert_int_equal(md_number(r->cell[2]), check_bit(r->cell[1]));
        if (strcmp(r->cell[6], "yes") == 0)
            defaults |= check_bit(r->cell[1]);
        pcache_expect_init(&exp, NULL);
        every_field_other(&exp.identity, &id);
        for (size_t j = k; j < t.n; j++)
            exp.check |= check_bit(t.row[j].cell[1]);
        st = pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &rep);
        if (strcmp(pcache_status_name(st), r->cell[5]) != 0)
            fail_msg("identity check %zu (%s): %s first, docs/FORMAT.md 5 says %s", k + 1, r->cell[1],
                     pcache_status_name(st), r->cell[5]);
    }
    assert_int_equal(defaults | PCACHE_CHECK_ALIGNMENT, PCACHE_CHECK_DEFAULT);
    free(block);
    pcache_builder_free(b);
    md_free(&t);
    free(doc);
}

/* ------------------------------------------------------------------ */
/* section 3: a segment composed from the document alone               */
/* ------------------------------------------------------------------ */

typedef struct spec_section {
    const char *name;
    uint16_t type, flags;
    uint32_t align;
    const uint8_t *data;
    uint64_t size;
} spec_section;

static uint64_t align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

static void put(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* A segment of class code cls_code laid out for F, as 3.1 to 3.6 say.
 * Returns it in a block from test_alloc_at (free(*block)). */
static uint8_t *spec_compose(const pcache_identity *id, int cls_code, uint64_t F, int rounded,
                             const spec_section *s, uint32_t n, uint64_t *T_out, uint64_t *S_out, void **block)
{
    uint64_t c = 256 + 64ull * n, off[16], T, E, S;
    uint8_t *g;

    assert_true(n <= 16);
    for (uint32_t i = 0; i < n; i++) {
        off[i] = align_up(F + c, s[i].align) - F;
        c = off[i] + s[i].size;
    }
    T = align_up(F + c, 8) - F;
    E = T + 16ull * n;
    S = rounded ? align_up(F + E, id->page_size) - F : E;
    g = test_alloc_at(F, S, block);
    memset(g, 0, (size_t)S);
    memcpy(g, "\x89PCSEG\r\n", 8);
    put(g + 8, 1, 2);
    put(g + 10, 0, 2);
    put(g + 12, 256, 2);
    put(g + 14, 64, 2);
    g[16] = (uint8_t)cls_code;
    g[17] = (uint8_t)id->checksum;
    g[18] = id->byte_order;
    g[19] = id->pointer_size;
    put(g + 20, id->arch, 2);
    put(g + 22, rounded ? 1 : 0, 2);
    put(g + 24, id->page_size, 4);
    put(g + 28, n, 4);
    put(g + 32, F, 8);
    put(g + 40, S, 8);
    put(g + 48, T, 8);
    memcpy(g + 56, id->image_id, 16);
    put(g + 72, id->client_version, 4);
    put(g + 76, id->module_digest_len, 4);
    put(g + 80, id->module_base, 8);
    put(g + 88, id->module_size, 8);
    memcpy(g + 96, id->module_digest, id->module_digest_len);
    memcpy(g + 128, id->client_name, strlen(id->client_name));
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = g + 256 + 64 * i;
        memcpy(e, s[i].name, strlen(s[i].name));
        put(e + 32, s[i].type, 2);
        put(e + 34, s[i].flags, 2);
        put(e + 36, s[i].align, 4);
        put(e + 40, off[i], 8);
        put(e + 48, s[i].size, 8);
        put(e + 56, s[i].size, 8);
        if (s[i].size)
            memcpy(g + off[i], s[i].data, (size_t)s[i].size);
        put_be64(g + T + 16 * i, pcache_checksum(id->checksum, s[i].data, (size_t)s[i].size));
    }
    put_be64(g + 240, pcache_checksum(id->checksum, g + 256, 64 * n));
    put_be64(g + 248, pcache_checksum(id->checksum, g, 248));
    *T_out = T;
    *S_out = S;
    return g;
}

/* The builder writes exactly what the document composes: 3.6's worked
 * example (F = 0x1003, `a` 10 bytes alignment 1, `b` 20 bytes alignment
 * 16), with its stated trailer offset and sizes, and page-rounded. */
static void segments_are_what_the_document_composes(void **state)
{
    uint8_t a[10], bb[20];
    spec_section s[2] = {{"a", 1, 0, 1, a, sizeof a}, {"b", 1, 0, 16, bb, sizeof bb}};
    (void)state;

    test_fill(a, sizeof a, 11);
    test_fill(bb, sizeof bb, 12);
    for (int rounded = 0; rounded <= 1; rounded++)
        for (int algo = PCACHE_CHECKSUM_XXH3_64; algo <= PCACHE_CHECKSUM_CRC32; algo++) {
            pcache_identity id;
            pcache_builder *b;
            uint64_t T, S, size;
            void *mine, *theirs;
            uint8_t *want, *got;

            test_identity_with_module(&id, (pcache_checksum_algorithm)algo);
            want = spec_compose(&id, 1, 0x1003, rounded, s, 2, &T, &S, &mine);
            assert_int_equal(T, 0x1A5);
            assert_int_equal(S, rounded ? 0xFFD : 0x1C5);
            assert_int_equal(ld64(want + 256 + 40), 0x180);
            assert_int_equal(ld64(want + 256 + 64 + 40), 0x18D);
            assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
            assert_int_equal(pcache_builder_add(b, PCACHE_RO, "a", a, sizeof a, 1, 0), PCACHE_OK);
            assert_int_equal(pcache_builder_add(b, PCACHE_RO, "b", bb, sizeof bb, 16, 0), PCACHE_OK);
            if (rounded)
                assert_int_equal(pcache_builder_set_segment_flags(b, PCACHE_RO, PCACHE_SEGMENT_PAGE_ROUNDED),
                                 PCACHE_OK);
            got = test_persist(b, PCACHE_RO, 0x1003, &size, &theirs);
            assert_int_equal(size, S);
            assert_memory_equal(got, want, (size_t)S);
            free(mine);
            free(theirs);
            pcache_builder_free(b);
        }
}

/* ------------------------------------------------------------------ */
/* 4.2: what a segment reader says, step by step                       */
/* ------------------------------------------------------------------ */

static pcache_status read_segment(const uint8_t *bytes, uint64_t available, pcache_report *rep)
{
    pcache_expect exp;
    pcache_segment seg;
    const uint8_t *map = bytes;
    pcache_expect_init(&exp, NULL);
    return pcache_resurrect(&seg, PCACHE_RO, &map, available, &exp, rep);
}

/* Step 1 proves 8 bytes, step 2 needs 10: a segment of 8 or 9 bytes is
 * truncated, of 10 with another major a later version. */
static void step_2_reads_only_what_it_proved(void **state)
{
    uint8_t b[10];
    pcache_report rep;
    (void)state;

    memcpy(b, "\x89PCSEG\r\n", 8);
    put(b + 8, 2, 2);
    assert_int_equal(read_segment(b, 8, &rep), PCACHE_E_TRUNCATED);
    assert_int_equal(read_segment(b, 9, &rep), PCACHE_E_TRUNCATED);
    test_assert_values(&rep, 10, 9);
    assert_int_equal(read_segment(b, 10, &rep), PCACHE_E_FORMAT_VERSION);
    put(b + 8, 1, 2);
    assert_int_equal(read_segment(b, 10, &rep), PCACHE_E_TRUNCATED);
    test_assert_values(&rep, 256, 10);
}

/* Step 4: every HEADER_FIELD check before any PADDING check, whatever
 * the fields' order in the header. */
static void step_4_fields_before_padding(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    pcache_report rep;
    uint64_t size;
    void *block;
    uint8_t *g;
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "x", "abc", 3, 1, 0), PCACHE_OK);
    g = test_persist(b, PCACHE_RO, 0, &size, &block);
    g[SH_MODULE_DIGEST + 31] = 1;   /* past a digest of length 0: padding */
    g[SH_CLIENT_NAME + 3] = 0x07;   /* not printable: a bad field */
    test_resign_header(g);
    assert_int_equal(read_segment(g, size, &rep), PCACHE_E_HEADER_FIELD);
    assert_int_equal(rep.offset, SH_CLIENT_NAME);
    g[SH_CLIENT_NAME + 3] = 'x';
    g[SH_RESERVED + 5] = 1;
    test_resign_header(g);
    assert_int_equal(read_segment(g, size, &rep), PCACHE_E_PADDING);
    assert_int_equal(rep.offset, SH_MODULE_DIGEST + 31);
    free(block);
    pcache_builder_free(b);
}

/* 9.4: the alignment and the place of `.relocs` and `.anchors` in the
 * table are a writer's choice, not conditions of validity: a segment
 * composed with `.anchors` first (alignment 32), `.relocs` between two
 * client sections (alignment 16) is read, and its records are the
 * library's. */
static void step_12_library_sections_anywhere(void **state)
{
    const uint64_t F = 0x2000;
    uint8_t a[16] = {0}, bb[8] = {0}, relocs[2 * PCACHE_RELOC_RECORD_SIZE], anchors[PCACHE_ANCHOR_ENTRY_SIZE];
    spec_section s[4] = {
        {".anchors", PCACHE_TYPE_ANCHORS, 0, 32, anchors, sizeof anchors},
        {"a", PCACHE_TYPE_DATA, 0, 8, a, sizeof a},
        {".relocs", PCACHE_TYPE_RELOCS, 0, 16, relocs, sizeof relocs},
        {"b", PCACHE_TYPE_DATA, 0, 8, bb, sizeof bb},
    };
    pcache_identity id;
    pcache_expect exp;
    pcache_segment seg;
    pcache_report rep;
    pcache_reloc r;
    uint64_t T, S, b_offset;
    const uint8_t *map;
    void *block;
    uint8_t *g;
    (void)state;

    test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
    /* where `b` will be: the layout of 3.6, with the table of 4 entries */
    b_offset = align_up(align_up(align_up(align_up(F + 256 + 4 * 64, 32) + sizeof anchors, 8) + sizeof a, 16) +
                            sizeof relocs,
                        8) -
               F;
    memset(relocs, 0, sizeof relocs);
    memset(anchors, 0, sizeof anchors);
    memcpy(anchors, "module", 6);
    put(anchors + 32, id.module_base, 8);
    /* record 0: abs64 at a+0 to section b (index 3) of this class */
    relocs[0] = PCACHE_RELOC_ABS64;
    relocs[1] = PCACHE_TARGET_SECTION;
    put(relocs + 2, 1, 2);
    put(relocs + 16, 3, 2);
    relocs[18] = 1;
    put(relocs + 32, F + b_offset, 8);
    /* record 1: abs64 at a+8 to anchor 0 */
    relocs[48 + 0] = PCACHE_RELOC_ABS64;
    relocs[48 + 1] = PCACHE_TARGET_ANCHOR;
    put(relocs + 48 + 2, 1, 2);
    put(relocs + 48 + 8, 8, 8);
    g = spec_compose(&id, 1, F, 0, s, 4, &T, &S, &block);
    assert_int_equal(ld64(g + 256 + 3 * 64 + 40), b_offset);

    pcache_expect_init(&exp, NULL);
    map = g;
    if (pcache_resurrect(&seg, PCACHE_RO, &map, S, &exp, &rep) != PCACHE_OK)
        fail_msg("refused: %s", rep.message);
    assert_int_equal(pcache_segment_reloc_count(&seg), 2);
    assert_int_equal(pcache_segment_anchor_count(&seg), 1);
    assert_int_equal(pcache_segment_reloc(&seg, 0, &r), PCACHE_OK);
    assert_string_equal(r.site_section, "a");
    assert_string_equal(r.target_section, "b");
    assert_int_equal(pcache_segment_reloc(&seg, 1, &r), PCACHE_OK);
    assert_string_equal(r.anchor, "module");
    free(block);
}

/* ------------------------------------------------------------------ */
/* 7: standalone files                                                 */
/* ------------------------------------------------------------------ */

typedef struct file_case {
    uint8_t *file;
    uint64_t size;
    uint64_t seg[PCACHE_CLASS_COUNT]; /* file offset of each class's segment */
    pcache_builder *b;
} file_case;

static void file_case_init(file_case *f)
{
    f->b = test_reference_builder(PCACHE_CHECKSUM_XXH3_64);
    f->file = test_write_file(f->b, &f->size);
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        f->seg[c] = ld64(f->file + FH_SEGMENTS + 16 * c);
}

static void file_case_free(file_case *f)
{
    free(f->file);
    pcache_builder_free(f->b);
}

static void expect_open(const file_case *f, const pcache_expect *exp, pcache_status st, uint64_t at,
                        const char *what)
{
    pcache_image img;
    pcache_report rep;
    pcache_status got = pcache_image_open_memory(&img, f->file, f->size, exp, &rep);
    if (got != st)
        fail_msg("%s: %s (%s), docs/FORMAT.md says %s", what, pcache_status_name(got), rep.message,
                 pcache_status_name(st));
    if (got != PCACHE_OK && rep.offset != at)
        fail_msg("%s: at offset %llu (%s), docs/FORMAT.md says %llu", what, (unsigned long long)rep.offset,
                 rep.message, (unsigned long long)at);
}

/* 7.4 step 8: a segment's file_offset and segment_size are compared with
 * the file header between steps 5 and 6 of 4.2, before its table is read. */
static void step_8_placement_before_the_table(void **state)
{
    file_case f;
    uint8_t *ro;
    (void)state;

    file_case_init(&f);
    ro = f.file + f.seg[PCACHE_RO];
    put(ro + SH_FILE_OFFSET, f.seg[PCACHE_RO] + 4, 8);
    test_resign_header(ro);
    expect_open(&f, NULL, PCACHE_E_FILE_LAYOUT, f.seg[PCACHE_RO] + SH_FILE_OFFSET, "ro file_offset + 4");
    /* both wrong: file_offset first */
    put(ro + SH_SEGMENT_SIZE, ld64(ro + SH_SEGMENT_SIZE) + 8, 8);
    test_resign_header(ro);
    expect_open(&f, NULL, PCACHE_E_FILE_LAYOUT, f.seg[PCACHE_RO] + SH_FILE_OFFSET, "ro file_offset and size");
    put(ro + SH_FILE_OFFSET, f.seg[PCACHE_RO], 8);
    test_resign_header(ro);
    expect_open(&f, NULL, PCACHE_E_FILE_LAYOUT, f.seg[PCACHE_RO] + SH_SEGMENT_SIZE, "ro segment_size + 8");
    /* an identity check (step 5) still comes first */
    ro[SH_POINTER_SIZE] = ro[SH_POINTER_SIZE] == 8 ? 4 : 8;
    test_resign_header(ro);
    {
        pcache_expect exp;
        pcache_identity id;
        test_identity_with_module(&id, PCACHE_CHECKSUM_XXH3_64);
        pcache_expect_init(&exp, &id);
        expect_open(&f, &exp, PCACHE_E_POINTER_SIZE, f.seg[PCACHE_RO] + SH_POINTER_SIZE, "pointer size and placement");
    }
    file_case_free(&f);
}

/* 7.4 step 8: every segment after the first states the first one's
 * identity, every field of section 5 in its order, whatever the caller
 * checks. */
static void step_8_one_identity(void **state)
{
    static const struct {
        unsigned offset, width;
        pcache_status st;
    } fields[] = {
        {SH_BYTE_ORDER, 1, PCACHE_E_BYTE_ORDER},     {SH_POINTER_SIZE, 1, PCACHE_E_POINTER_SIZE},
        {SH_ARCH, 2, PCACHE_E_ARCH},                 {SH_CLIENT_NAME, 1, PCACHE_E_CLIENT},
        {SH_CLIENT_VERSION, 4, PCACHE_E_CLIENT_VERSION}, {SH_MODULE_BASE, 8, PCACHE_E_MODULE_BASE},
        {SH_MODULE_SIZE, 8, PCACHE_E_MODULE_SIZE},   {SH_MODULE_DIGEST, 1, PCACHE_E_MODULE_DIGEST},
    };
    (void)state;

    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
        for (int with_exp = 0; with_exp <= 1; with_exp++) {
            file_case f;
            pcache_expect exp;
            uint8_t *rx;

            file_case_init(&f);
            rx = f.file + f.seg[PCACHE_RX];
            /* this field and every later one differ from ro's */
            for (size_t j = k; j < sizeof fields / sizeof fields[0]; j++) {
                uint8_t *p = rx + fields[j].offset;
                if (fields[j].offset == SH_BYTE_ORDER)
                    *p = *p == PCACHE_LITTLE_ENDIAN ? PCACHE_BIG_ENDIAN : PCACHE_LITTLE_ENDIAN;
                else if (fields[j].offset == SH_POINTER_SIZE)
                    *p = *p == 8 ? 4 : 8;
                else if (fields[j].offset == SH_CLIENT_NAME)
                    *p = (uint8_t)(*p == 'x' ? 'y' : 'x');
                else
                    *p ^= 1;
            }
            test_resign_header(rx);
            /* a caller that checks nothing of the identity */
            pcache_expect_init(&exp, NULL);
            expect_open(&f, with_exp ? &exp : NULL, fields[k].st, f.seg[PCACHE_RX] + fields[k].offset,
                        pcache_status_name(fields[k].st));
            file_case_free(&f);
        }
}

/* 7.4 steps 8 and 10: file padding is checked after every segment, so a
 * segment's own status wins over a nonzero byte before it. */
static void step_10_padding_after_the_segments(void **state)
{
    file_case f;
    (void)state;

    file_case_init(&f);
    f.file[200] = 1;
    f.file[f.seg[PCACHE_RO] + SH_CLIENT_VERSION] ^= 1; /* the ro header's checksum fails */
    expect_open(&f, NULL, PCACHE_E_HEADER_CHECKSUM, f.seg[PCACHE_RO] + SH_HEADER_CHECKSUM, "byte 200, ro header");
    f.file[f.seg[PCACHE_RO] + SH_CLIENT_VERSION] ^= 1;
    expect_open(&f, NULL, PCACHE_E_PADDING, 200, "byte 200");
    f.file[200] = 0;
    f.file[f.seg[PCACHE_RW] - 1] = 7; /* the gap before rw */
    expect_open(&f, NULL, PCACHE_E_PADDING, f.seg[PCACHE_RW] - 1, "gap before rw");
    file_case_free(&f);
}

/* 7.1: the footer follows the last segment directly, at whatever offset
 * the header's sizes put it: sizes that leave it off a multiple of 8 pass
 * the placement (step 6) and the footer (step 7), and the segment itself
 * (step 8) is refused. */
static void footer_at_the_cursor(void **state)
{
    pcache_identity id;
    pcache_builder *b;
    pcache_image img;
    pcache_report rep;
    uint64_t size, ro_size;
    uint8_t *file, *longer;
    (void)state;

    test_identity(&id, PCACHE_CHECKSUM_CRC32);
    assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
    assert_int_equal(pcache_builder_add(b, PCACHE_RO, "x", "abc", 3, 1, 0), PCACHE_OK);
    file = test_write_file(b, &size);
    ro_size = ld64(file + FH_SEGMENTS + 8);
    assert_int_equal(size, TEST_PAGE + ro_size + FILE_FOOTER_SIZE);
    /* 4 more bytes in ro's slot, the footer after them */
    longer = calloc(1, (size_t)size + 4);
    assert_non_null(longer);
    memcpy(longer, file, (size_t)(size - FILE_FOOTER_SIZE));
    memcpy(longer + size + 4 - FILE_FOOTER_SIZE, file + size - FILE_FOOTER_SIZE, FILE_FOOTER_SIZE);
    put(longer + FH_SEGMENTS + 8, ro_size + 4, 8);
    put(longer + FH_FILE_SIZE, size + 4, 8);
    put(longer + size + 4 - FILE_FOOTER_SIZE + FF_FILE_SIZE, size + 4, 8);
    test_resign_file(longer, size + 4);
    assert_int_equal(pcache_image_open_memory(&img, longer, size + 4, NULL, &rep), PCACHE_E_FILE_LAYOUT);
    assert_int_equal(rep.offset, TEST_PAGE + SH_SEGMENT_SIZE);
    test_assert_values(&rep, ro_size + 4, ro_size);
    free(longer);
    free(file);
    pcache_builder_free(b);
}

/* 7.4 step 9: relocation records whose target is in another class's
 * segment are checked when the file is opened (every level), before file
 * padding. */
static void step_9_targets_in_other_segments(void **state)
{
    static uint8_t table[64], code[32];
    static const struct {
        unsigned field, width;
        uint64_t value; /* added (0: replaced by the class code below) */
        const char *what;
    } cases[] = {
        {RR_TARGET_BASE, 8, 8, "target_base + 8"},
        {RR_TARGET_INDEX, 2, 5, "target index + 5"},
        {RR_TARGET_OFFSET, 8, 65, "target offset past the section"},
        {RR_TARGET_CLASS, 1, 0, "target class without a segment"},
    };
    (void)state;

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int level = PCACHE_VALIDATE_HEADER; level <= PCACHE_VALIDATE_FULL; level++) {
            pcache_identity id;
            pcache_builder *b;
            pcache_patch p;
            pcache_expect exp;
            file_case f;
            pcache_view v;
            pcache_segment seg;
            pcache_report rep;
            uint64_t rx, rec, old, T;
            const uint8_t *map;
            int i_relocs = -1;

            test_identity(&id, PCACHE_CHECKSUM_XXH3_64);
            assert_int_equal(pcache_builder_new(&b, &id), PCACHE_OK);
            /* this test edits a 48-byte record */
            assert_int_equal(pcache_builder_set_reloc_form(b, PCACHE_RELOC_FORM_RECORDS), PCACHE_OK);
            assert_int_equal(pcache_builder_add(b, PCACHE_RO, "table", table, sizeof table, 8, 0), PCACHE_OK);
            assert_int_equal(pcache_builder_add(b, PCACHE_RX, "code", code, sizeof code, 16, 0), PCACHE_OK);
            memset(&p, 0, sizeof p);
            p.cls = PCACHE_RX;
            p.section = "code";
            p.offset = 8;
            p.kind = PCACHE_RELOC_ABS64;
            p.target_kind = PCACHE_TARGET_SECTION;
            p.target_class = PCACHE_RO;
            p.target_section = "table";
            p.target_offset = 16;
            assert_int_equal(pcache_builder_add_patch(b, &p), PCACHE_OK);
            memset(&f, 0, sizeof f);
            f.b = b;
            f.file = test_write_file(b, &f.size);
            rx = ld64(f.file + FH_SEGMENTS + 16);
            expect_open(&f, NULL, PCACHE_OK, 0, "as written");

            /* the record, and its section's trailer checksum after the edit */
            pcache_expect_init(&exp, NULL);
            map = f.file + rx;
            assert_int_equal(pcache_resurrect(&seg, PCACHE_RX, &map, ld64(f.file + FH_SEGMENTS + 24), &exp, &rep),
                             PCACHE_OK);
            for (uint32_t i = 0; i < seg.section_count; i++)
                if (pcache_segment_section(&seg, i, &v, NULL) == PCACHE_OK && strcmp(v.name, ".relocs") == 0)
                    i_relocs = (int)i;
            assert_true(i_relocs >= 0);
            assert_int_equal(pcache_segment_section(&seg, (uint32_t)i_relocs, &v, NULL), PCACHE_OK);
            rec = rx + v.offset;
            if (cases[k].field == RR_TARGET_CLASS) {
                f.file[rec + RR_TARGET_CLASS] = PCACHE_RW + 1;
            } else {
                old = 0;
                for (unsigned i = 0; i < cases[k].width; i++)
                    old |= (uint64_t)f.file[rec + cases[k].field + i] << (8 * i);
                put(f.file + rec + cases[k].field, old + cases[k].value, cases[k].width);
            }
            T = ld64(f.file + rx + SH_TRAILER_OFFSET);
            put_be64(f.file + rx + T + 16ull * (uint32_t)i_relocs, pcache_checksum(id.checksum, f.file + rec, (size_t)v.size));
            f.file[200] = 1; /* padding: step 10, after step 9 */
            exp.validation = (pcache_validation)level;
            expect_open(&f, &exp, PCACHE_E_RELOC_TARGET, rec + cases[k].field, cases[k].what);
            file_case_free(&f);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_codes_are_the_documented_numbers),
        cmocka_unit_test(constants_are_the_documented_values),
        cmocka_unit_test(identity_checks_in_the_documented_order),
        cmocka_unit_test(segments_are_what_the_document_composes),
        cmocka_unit_test(step_2_reads_only_what_it_proved),
        cmocka_unit_test(step_4_fields_before_padding),
        cmocka_unit_test(step_12_library_sections_anywhere),
        cmocka_unit_test(step_8_placement_before_the_table),
        cmocka_unit_test(step_8_one_identity),
        cmocka_unit_test(step_10_padding_after_the_segments),
        cmocka_unit_test(footer_at_the_cursor),
        cmocka_unit_test(step_9_targets_in_other_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
