/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A program that defines, for itself, names the library uses inside
 * (report_fail, layout_file, checksum_update, ...), linked against the
 * static libpcache.a: it must link (only pcache_* names are global in the
 * archive), and the library must keep calling its own functions, not
 * these.  Exits 0 when a segment round trip works and none of these ran.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcache/pcache.h>

static int called;

/* Names libpcache has inside; here the program's own, other signatures. */
int report_fail(void);
int layout_file(int);
int checksum_update(const char *);
int io_openat(void);
int tmpname_make(void);
int manifest_read(void);
int report_clear(void);
int layout_segment(void);
int checksum_digest(void);

int report_fail(void) { return ++called; }
int layout_file(int x) { return called += x + 1; }
int checksum_update(const char *s) { return called += (int)strlen(s) + 1; }
int io_openat(void) { return ++called; }
int tmpname_make(void) { return ++called; }
int manifest_read(void) { return ++called; }
int report_clear(void) { return ++called; }
int layout_segment(void) { return ++called; }
int checksum_digest(void) { return ++called; }

int main(void)
{
    static const char data[] = "names of the program's own";
    static uint8_t buf[1 << 16] __attribute__((aligned(4096)));
    pcache_identity id;
    pcache_builder *b;
    pcache_buffer_sink state;
    pcache_sink sink;
    pcache_expect exp;
    pcache_segment seg;
    pcache_report rep;
    pcache_view view;
    const uint8_t *map = buf;
    uint64_t size;

    if (pcache_identity_init(&id, "name-clash", 1) != PCACHE_OK || pcache_builder_new(&b, &id) != PCACHE_OK ||
        pcache_builder_add(b, PCACHE_RO, "data", data, sizeof data, 8, 0) != PCACHE_OK ||
        pcache_builder_size(b, PCACHE_RO, 0, &size) != PCACHE_OK || size > sizeof buf)
        return 1;
    sink = pcache_sink_buffer(&state, buf, size);
    if (pcache_builder_persist(b, PCACHE_RO, &sink) != PCACHE_OK)
        return 1;
    pcache_builder_free(b);
    pcache_expect_init(&exp, &id);
    if (pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &rep) != PCACHE_OK ||
        pcache_segment_find(&seg, "data", &view, &rep) != PCACHE_OK || view.size != sizeof data ||
        memcmp(view.data, data, sizeof data) != 0)
        return 1;
    /* A refused segment: the library reports through its own report_fail. */
    buf[size / 2] ^= 1;
    map = buf;
    if (pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &rep) == PCACHE_OK || rep.message[0] == '\0')
        return 1;
    if (called) {
        fprintf(stderr, "name_clash: libpcache called the program's own functions (%d)\n", called);
        return 1;
    }
    printf("name_clash: ok (refusal: %s)\n", rep.message);
    return 0;
}
