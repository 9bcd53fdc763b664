/* SPDX-License-Identifier: BSD-2-Clause */
/* What the segment writer asks of the relocation writer (reloc_write.c):
 * the one way the two depend on each other.  reloc_write.c itself reaches
 * the builder only through builder.h (builder.c), never segment_write.c. */
#ifndef PCACHE_RELOC_BUILD_H
#define PCACHE_RELOC_BUILD_H

#include "builder.h"

/* reloc_write.c: at size, appends the class's ".relocs"/".anchors"
 * sections (after dropping earlier ones) and checks its sites; at persist,
 * computes every site's bytes and the tables' contents.  *sites is sorted
 * by (section, offset). */
pcache_status reloc_size_class(pcache_builder *b, pcache_class cls);
pcache_status reloc_persist_class(pcache_builder *b, pcache_class cls, const reloc_site **sites,
                                  size_t *nsites);
void reloc_builder_free(pcache_builder *b);

#endif
