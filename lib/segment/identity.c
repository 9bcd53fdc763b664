/* SPDX-License-Identifier: BSD-2-Clause */
/* The identity a segment carries: host defaults, module key, expectations. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "pcache/pcache.h"

static uint16_t host_arch(void)
{
#if defined(__x86_64__)
    return 62; /* EM_X86_64 */
#elif defined(__i386__)
    return 3; /* EM_386 */
#elif defined(__aarch64__)
    return 183; /* EM_AARCH64 */
#elif defined(__arm__)
    return 40; /* EM_ARM */
#elif defined(__riscv)
    return 243; /* EM_RISCV */
#elif defined(__powerpc64__)
    return 21; /* EM_PPC64 */
#else
    return 0; /* EM_NONE */
#endif
}

static uint8_t host_byte_order(void)
{
    const uint16_t probe = 1;
    uint8_t first;
    memcpy(&first, &probe, 1);
    return first ? PCACHE_LITTLE_ENDIAN : PCACHE_BIG_ENDIAN;
}

static int fill_random(uint8_t *buf, size_t n)
{
    while (n > 0) {
        ssize_t got = getrandom(buf, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += got;
        n -= (size_t)got;
    }
    return 0;
}

pcache_status pcache_identity_init(pcache_identity *id, const char *client_name,
                                   uint32_t client_version)
{
    size_t len;
    long page;

    if (!id || !client_name)
        return PCACHE_E_INVALID_ARGUMENT;
    memset(id, 0, sizeof *id);
    len = strlen(client_name);
    if (len == 0 || len > PCACHE_CLIENT_NAME_MAX)
        return PCACHE_E_CLIENT_NAME;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)client_name[i] < 0x20 || (unsigned char)client_name[i] > 0x7e)
            return PCACHE_E_CLIENT_NAME;
    memcpy(id->client_name, client_name, len);
    id->client_version = client_version;
    id->byte_order = host_byte_order();
    id->pointer_size = (uint8_t)sizeof(void *);
    id->arch = host_arch();
    page = sysconf(_SC_PAGESIZE);
    id->page_size = page > 0 ? (uint32_t)page : 4096u;
    id->checksum = PCACHE_CHECKSUM_XXH3_64;
    if (fill_random(id->image_id, sizeof id->image_id) != 0)
        return PCACHE_E_IO;
    return PCACHE_OK;
}

pcache_status pcache_identity_set_module(pcache_identity *id, uint64_t base, uint64_t size,
                                         const void *digest, size_t digest_len)
{
    if (!id || digest_len > PCACHE_MODULE_DIGEST_MAX || (digest_len && !digest))
        return PCACHE_E_INVALID_ARGUMENT;
    id->module_base = base;
    id->module_size = size;
    id->module_digest_len = (uint32_t)digest_len;
    memset(id->module_digest, 0, sizeof id->module_digest);
    if (digest_len)
        memcpy(id->module_digest, digest, digest_len);
    return PCACHE_OK;
}

void pcache_expect_init(pcache_expect *exp, const pcache_identity *id)
{
    memset(exp, 0, sizeof *exp);
    if (id)
        exp->identity = *id;
    exp->check = id ? PCACHE_CHECK_DEFAULT : 0;
    exp->validation = PCACHE_VALIDATE_FULL;
}

void pcache_expect_image_id(pcache_expect *exp, const uint8_t image_id[PCACHE_IMAGE_ID_SIZE])
{
    memcpy(exp->identity.image_id, image_id, PCACHE_IMAGE_ID_SIZE);
    exp->check |= PCACHE_CHECK_IMAGE_ID;
}
