/* SPDX-License-Identifier: BSD-2-Clause */
/* Names of temporary files: ".<target>.pcache-tmp.<pid>.<16 hex>".  The pid
 * lets a later sweep tell a dead writer's leftover from a live writer's
 * file; the random part makes the name unguessable and unique per save. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "file_io.h"

/* Longest "<pid>.<16 hex>" tail: a pid has at most 19 digits. */
#define TMP_TAIL_MAX (19 + 1 + 16)

/* How much of the target's name a temporary name keeps, so that the whole
 * name fits NAME_MAX. */
static size_t base_kept(const char *base)
{
    size_t room = NAME_MAX - 1 - (sizeof PCACHE_FILE_TMP_TAG - 1) - TMP_TAIL_MAX;
    size_t len = strlen(base);
    return len < room ? len : room;
}

void tmpname_make(char out[TMPNAME_CAP], const char *base, long pid, uint64_t rnd)
{
    snprintf(out, TMPNAME_CAP, ".%.*s%s%ld.%016llx", (int)base_kept(base), base, PCACHE_FILE_TMP_TAG, pid,
             (unsigned long long)rnd);
}

int tmpname_match(const char *name, const char *base, long *pid)
{
    size_t kept = base_kept(base), tag = sizeof PCACHE_FILE_TMP_TAG - 1;
    const char *p;
    long v = 0;
    int digits = 0;

    if (name[0] != '.' || strncmp(name + 1, base, kept) != 0 || strncmp(name + 1 + kept, PCACHE_FILE_TMP_TAG, tag) != 0)
        return 0;
    p = name + 1 + kept + tag;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (++digits > 18) /* keeps v within a long */
            return 0;
        v = v * 10 + (*p - '0');
    }
    if (digits == 0 || v <= 0 || *p != '.')
        return 0;
    p++;
    for (int i = 0; i < 16; i++, p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    if (*p != '\0')
        return 0;
    *pid = v;
    return 1;
}

uint64_t tmpname_random(void)
{
    uint64_t r;
    struct timespec ts;

    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
        return r;
    /* No entropy yet (early boot): O_EXCL keeps names unique anyway; this
     * only has to make collisions unlikely. */
    clock_gettime(CLOCK_REALTIME, &ts);
    r = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 40);
    r ^= (uint64_t)(uintptr_t)&ts * 0x9E3779B97F4A7C15ull; /* differs per thread */
    r ^= r >> 31;
    r *= 0xBF58476D1CE4E5B9ull;
    return r ^ (r >> 29);
}
