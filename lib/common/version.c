/* SPDX-License-Identifier: BSD-2-Clause */
/* The library's version at run time (pcache.h). */
#include "pcache/pcache.h"

unsigned pcache_version_number(void)
{
    return PCACHE_VERSION_NUMBER;
}

const char *pcache_version_string(void)
{
    return PCACHE_VERSION_STRING;
}
