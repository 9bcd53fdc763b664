/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A shared object that links libpcache statically, as a DynamoRIO client
 * does: it must export its own function, and none of libpcache's names
 * (-Wl,--exclude-libs,libpcache.a, which the CMake target and
 * pkg-config --static give).
 */
#include <pcache/pcache.h>

__attribute__((visibility("default"))) const char *exports_so_status_name(int status);

const char *exports_so_status_name(int status)
{
    return pcache_status_name((pcache_status)status);
}
