/* SPDX-License-Identifier: BSD-2-Clause */
/* The parent project's program: libpcache's public API, nothing else. */
#include <stdio.h>

#include <pcache/pcache.h>

int main(void)
{
    pcache_identity id;
    pcache_status st = pcache_identity_init(&id, "parent", 1);
    printf("pcache-parent: libpcache %s: %s\n", PCACHE_VERSION_STRING, pcache_status_name(st));
    return st == PCACHE_OK ? 0 : 1;
}
