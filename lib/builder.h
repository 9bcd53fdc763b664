/* The builder's state, shared by the segment writer and the file writer. */
#ifndef PCACHE_BUILDER_H
#define PCACHE_BUILDER_H

#include "layout.h"
#include "pcache/pcache.h"

typedef struct section_src {
    char name[PCACHE_SECTION_NAME_MAX + 1];
    uint16_t type;
    uint16_t flags;
    uint32_t align;
    const void *data;
    uint64_t size;
    pcache_produce_fn produce;
    void *ctx;
    uint64_t offset;   /* from segment start, after size() */
    uint64_t checksum; /* of the bytes written by the last persist */
} section_src;

typedef struct class_state {
    section_src *sec;
    uint32_t n, cap;
    uint32_t seg_flags;
    int sized;          /* layout valid for file_offs */
    uint64_t file_offs;
    layout_result lay;
} class_state;

struct pcache_builder {
    pcache_identity id;
    class_state cls[PCACHE_CLASS_COUNT];
    pcache_report report;
};

int section_name_valid(const char *name, size_t *len_out);
pcache_status builder_layout(pcache_builder *b, pcache_class cls, uint64_t file_offs);

#endif
