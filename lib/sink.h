/* SPDX-License-Identifier: BSD-2-Clause */
/* What the segment writer may know about the library's own sinks. */
#ifndef PCACHE_SINK_H
#define PCACHE_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "pcache/pcache.h"

/* 1 if sink was made by pcache_sink_buffer(). */
int sink_is_buffer(const pcache_sink *sink);

/* For such a sink, the next len bytes of its buffer, counted as written,
 * so that the writer can produce bytes there directly instead of copying
 * them in; NULL (nothing counted) if there is no room or sink is another
 * kind. */
uint8_t *sink_buffer_claim(const pcache_sink *sink, size_t len);
/* Gives back the last claim of len bytes (a persist that failed after its
 * claim): `used` covers only what the library wrote, as with any sink. */
void sink_buffer_unclaim(const pcache_sink *sink, size_t len);

#endif
