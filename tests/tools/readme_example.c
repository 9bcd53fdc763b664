/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcache/pcache.h>

#define TRY(call)                                                           \
    do {                                                                    \
        pcache_status st_ = (call);                                         \
        if (st_ != PCACHE_OK) {                                             \
            fprintf(stderr, "%s: %s\n", #call, pcache_strerror(st_));       \
            return 1;                                                       \
        }                                                                   \
    } while (0)

int main(void)
{
    static const char greeting[] = "hello from the last run";
    pcache_identity id;
    pcache_builder *b;
    uint64_t size;

    /* 1. Build: who writes the image (client name and version), and what
     *    is in it.  The builder keeps pointers; the bytes are read later. */
    TRY(pcache_identity_init(&id, "my-client", 3));
    TRY(pcache_builder_new(&b, &id));
    TRY(pcache_builder_add(b, PCACHE_RO, "greeting", greeting, sizeof greeting, 8, 0));

    /* 2. Size, then persist: DynamoRIO's two callbacks.  file_offs is where
     *    the segment will start in the file; 0 here, a buffer of our own. */
    TRY(pcache_builder_size(b, PCACHE_RO, 0, &size));
    uint8_t *buf = aligned_alloc(4096, (size + 4095) / 4096 * 4096);
    pcache_buffer_sink state;
    pcache_sink sink = pcache_sink_buffer(&state, buf, size);
    TRY(pcache_builder_persist(b, PCACHE_RO, &sink));
    pcache_builder_free(b);

    /* 3. Resurrect: check the identity and every byte, then look up. */
    pcache_expect exp;
    pcache_segment seg;
    pcache_report rep;
    pcache_view view;
    const uint8_t *map = buf;
    pcache_expect_init(&exp, &id);
    if (pcache_resurrect(&seg, PCACHE_RO, &map, size, &exp, &rep) != PCACHE_OK) {
        fprintf(stderr, "refused: %s\n", rep.message);
        return 1;
    }
    TRY(pcache_segment_find(&seg, "greeting", &view, &rep));
    printf("%s (%llu bytes; segment %llu bytes)\n", (const char *)view.data,
           (unsigned long long)view.size, (unsigned long long)(map - buf));
    int same = view.size == sizeof greeting && memcmp(view.data, greeting, sizeof greeting) == 0;
    free(buf);
    return same ? 0 : 1;
}
