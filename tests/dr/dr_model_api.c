/* SPDX-License-Identifier: BSD-2-Clause */
/* The model's implementation of the DR API functions in tests/dr/dr_api.h
 * (persistence registration as core/lib/instrument.c keeps it, options,
 * files, logs, memory queries, mutexes, allocation), and the model's
 * control functions that are not about persisting or loading. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dr_model_internal.h"

drm_state drm;
file_t our_stdout = 1;
file_t our_stderr = 2;

/* ---- logs ----------------------------------------------------------- */

static char *log_text[2];
static size_t log_len[2];

void drm_log_append(int output, const char *fmt, va_list ap)
{
    char buf[2048];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    char *p;
    if (n < 0)
        return;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    p = realloc(log_text[output], log_len[output] + (size_t)n + 1);
    if (!p)
        abort();
    memcpy(p + log_len[output], buf, (size_t)n + 1);
    log_text[output] = p;
    log_len[output] += (size_t)n;
}

const char *dr_model_log_text(void)
{
    return log_text[0] ? log_text[0] : "";
}

const char *dr_model_output_text(void)
{
    return log_text[1] ? log_text[1] : "";
}

void drm_why(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    if (!why || !len)
        return;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

/* DR's headers declare no format attribute; the model's definitions do,
 * so that the compiler checks the clients' calls here. */
void dr_log(void *drcontext, uint mask, uint level, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
ssize_t dr_fprintf(file_t f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void dr_log(void *drcontext, uint mask, uint level, const char *fmt, ...)
{
    va_list ap;
    /* Debug DR writes to drcontext->logfile unless drcontext is NULL: the
     * GLOBAL_DCONTEXT that resurrect callbacks get would be dereferenced. */
    if (drcontext == DRM_GLOBAL_DCONTEXT) {
        fprintf(stderr, "model: dr_log(GLOBAL_DCONTEXT, ...): debug DR dereferences (dcontext_t *)-1\n");
        abort();
    }
    (void)mask;
    (void)level;
    va_start(ap, fmt);
    drm_log_append(0, fmt, ap);
    va_end(ap);
}

ssize_t dr_fprintf(file_t f, const char *fmt, ...)
{
    va_list ap;
    size_t before = log_len[1];
    (void)f;
    va_start(ap, fmt);
    drm_log_append(1, fmt, ap);
    va_end(ap);
    return (ssize_t)(log_len[1] - before);
}

/* ---- reset, options, clients ---------------------------------------- */

void dr_model_default_options(dr_model_options *o)
{
    memset(o, 0, sizeof *o);
    o->persist_map_rw_separate = 1;
    o->persist_protect_stubs = 1;
    o->persist_gen_validation = 0xd;
    o->persist_load_validation = 0x5;
    o->coarse_disk_merge = 1;
    o->coarse_lone_merge = 1;
    o->persist_check_options = 1;
    o->option_string = "-indirect_stubs -early_inject -coarse_units -coarse_split_calls -coarse_split_riprel "
                       "-persist -no_indcall2direct ";
}

void dr_model_reset(const dr_model_options *o)
{
    dr_model_unload_all();
    drm_load_reset();
    drm_blocks_reset();
    free(log_text[0]);
    free(log_text[1]);
    log_text[0] = log_text[1] = NULL;
    log_len[0] = log_len[1] = 0;
    memset(&drm, 0, sizeof drm);
    if (o)
        drm.opt = *o;
    else
        dr_model_default_options(&drm.opt);
}

dr_model_options *dr_model_options_now(void)
{
    return &drm.opt;
}

void dr_model_set_clients(const char *const *paths, unsigned n)
{
    if (n > DRM_MAX_CLIENT_LIBS)
        abort();
    for (unsigned i = 0; i < n; i++)
        drm.client_path[i] = paths[i];
    drm.nclients = n;
}

/* A client library's first page as a loader maps it: an ELF header, a
 * PT_LOAD of that page and a PT_NOTE with the GNU build-id note, whose 20
 * bytes say which client and which build (dr_model_set_client_build). */
static void client_elf(uint8_t page[DRM_PAGE], client_id_t id, uint32_t build)
{
    static const uint8_t ident[16] = {0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* LSB */, 1 /* current */};
    uint8_t *ph = page + 64, *note = page + 0x100;
#if defined(__aarch64__)
    const uint16_t machine = 183; /* EM_AARCH64 */
#else
    const uint16_t machine = 62; /* EM_X86_64 */
#endif
#define PUT(p, v, n) do { uint64_t v_ = (v); for (int k_ = 0; k_ < (n); k_++) (p)[k_] = (uint8_t)(v_ >> (8 * k_)); } while (0)
    memset(page, 0, DRM_PAGE);
    memcpy(page, ident, 16);
    PUT(page + 16, 3, 2);       /* ET_DYN */
    PUT(page + 18, machine, 2);
    PUT(page + 20, 1, 4);       /* EV_CURRENT */
    PUT(page + 32, 64, 8);      /* e_phoff */
    PUT(page + 52, 64, 2);      /* e_ehsize */
    PUT(page + 54, 56, 2);      /* e_phentsize */
    PUT(page + 56, 2, 2);       /* e_phnum */
    PUT(page + 58, 64, 2);      /* e_shentsize */
    /* PT_LOAD R: the page */
    PUT(ph + 0, 1, 4);
    PUT(ph + 4, 4, 4);
    PUT(ph + 32, DRM_PAGE, 8);
    PUT(ph + 40, DRM_PAGE, 8);
    PUT(ph + 48, DRM_PAGE, 8);
    /* PT_NOTE R at 0x100: namesz 4, descsz 20, NT_GNU_BUILD_ID, "GNU" */
    ph += 56;
    PUT(ph + 0, 4, 4);
    PUT(ph + 4, 4, 4);
    PUT(ph + 8, 0x100, 8);
    PUT(ph + 16, 0x100, 8);
    PUT(ph + 32, 36, 8);
    PUT(ph + 40, 36, 8);
    PUT(ph + 48, 4, 8);
    PUT(note + 0, 4, 4);
    PUT(note + 4, 20, 4);
    PUT(note + 8, 3, 4);
    memcpy(note + 12, "GNU", 4);
    memcpy(note + 16, "pcache-model-", 13);
    PUT(note + 29, id, 1);
    PUT(note + 30, build, 4);
    PUT(note + 34, 0x5a, 2);
#undef PUT
}

static void map_client(client_id_t id)
{
    uint8_t page[DRM_PAGE];
    if (!drm.client_base[id] || (drm.client_base[id] & (DRM_PAGE - 1)))
        return;
    client_elf(page, id, drm.client_build[id]);
    if (dr_model_map_client_image(id, page, sizeof page) != 0)
        abort(); /* a test would read a library that is not there */
}

void dr_model_set_client_base(client_id_t id, uint64_t base)
{
    if (id >= DRM_MAX_CLIENT_LIBS)
        abort();
    drm.client_base[id] = base;
    map_client(id);
}

void dr_model_set_client_build(client_id_t id, uint32_t build)
{
    if (id >= DRM_MAX_CLIENT_LIBS)
        abort();
    drm.client_build[id] = build;
    map_client(id);
}

unsigned dr_model_merges(void)
{
    return drm.merges;
}

/* ---- callback lists (instrument.c add_callback, remove_callback) ----- */

static void add_callback(drm_list *l, void *fn)
{
    if (!fn || l->num == DRM_MAX_CALLBACKS)
        abort();
    l->fn[l->num++] = fn;
}

static bool remove_callback(drm_list *l, void *fn)
{
    for (unsigned i = 0; i < l->num; i++)
        if (l->fn[i] == fn) {
            memmove(&l->fn[i], &l->fn[i + 1], (l->num - i - 1) * sizeof l->fn[0]);
            l->num--;
            return true;
        }
    return false;
}

static bool register_class(int c, drm_size_fn size, drm_persist_fn persist, drm_resurrect_fn resurrect)
{
    if (!size || !persist || !resurrect)
        return false;
    add_callback(&drm.size[c], (void *)size);
    add_callback(&drm.persist[c], (void *)persist);
    add_callback(&drm.resurrect[c], (void *)resurrect);
    return true;
}

static bool unregister_class(int c, drm_size_fn size, drm_persist_fn persist, drm_resurrect_fn resurrect)
{
    bool res = true;
    res = (size && remove_callback(&drm.size[c], (void *)size)) && res;
    res = (persist && remove_callback(&drm.persist[c], (void *)persist)) && res;
    res = (resurrect && remove_callback(&drm.resurrect[c], (void *)resurrect)) && res;
    return res;
}

bool dr_register_persist_ro(drm_size_fn s, drm_persist_fn p, drm_resurrect_fn r)
{
    return register_class(DRM_RO, s, p, r);
}
bool dr_unregister_persist_ro(drm_size_fn s, drm_persist_fn p, drm_resurrect_fn r)
{
    return unregister_class(DRM_RO, s, p, r);
}
bool dr_register_persist_rx(drm_size_fn s, drm_persist_fn p, drm_resurrect_fn r)
{
    return register_class(DRM_RX, s, p, r);
}
bool dr_unregister_persist_rx(drm_size_fn s, drm_persist_fn p, drm_resurrect_fn r)
{
    return unregister_class(DRM_RX, s, p, r);
}
bool dr_register_persist_rw(drm_size_fn s, drm_persist_fn p, drm_resurrect_fn r)
{
    return register_class(DRM_RW, s, p, r);
}
bool dr_unregister_persist_rw(drm_size_fn s, drm_persist_fn p, drm_resurrect_fn r)
{
    return unregister_class(DRM_RW, s, p, r);
}

bool dr_register_persist_patch(drm_patch_fn f)
{
    if (!f)
        return false;
    add_callback(&drm.patch, (void *)f);
    return true;
}

bool dr_unregister_persist_patch(drm_patch_fn f)
{
    return f && remove_callback(&drm.patch, (void *)f);
}

void dr_register_exit_event(void (*func)(void))
{
    if (drm.nexit == DRM_MAX_CALLBACKS)
        abort();
    drm.exit_event[drm.nexit++] = func;
}

bool dr_unregister_exit_event(void (*func)(void))
{
    for (unsigned i = 0; i < drm.nexit; i++)
        if (drm.exit_event[i] == func) {
            memmove(&drm.exit_event[i], &drm.exit_event[i + 1], (drm.nexit - i - 1) * sizeof drm.exit_event[0]);
            drm.nexit--;
            return true;
        }
    return false;
}

void dr_register_bb_event(dr_emit_flags_t (*func)(void *, void *, instrlist_t *, bool, bool))
{
    if (drm.nbb == DRM_MAX_CALLBACKS)
        abort();
    drm.bb_event[drm.nbb++] = func;
}

bool dr_unregister_bb_event(dr_emit_flags_t (*func)(void *, void *, instrlist_t *, bool, bool))
{
    for (unsigned i = 0; i < drm.nbb; i++)
        if (drm.bb_event[i] == func) {
            memmove(&drm.bb_event[i], &drm.bb_event[i + 1], (drm.nbb - i - 1) * sizeof drm.bb_event[0]);
            drm.nbb--;
            return true;
        }
    return false;
}

void dr_model_exit(const dr_model_unit *units, const char *const *paths, unsigned n)
{
    /* dynamo_process_exit: coarse units are frozen and persisted before
     * the clients' exit events (i#703). */
    for (unsigned i = 0; i < n; i++)
        dr_model_persist(&units[i], paths[i], NULL, 0);
    for (unsigned i = drm.nexit; i-- > 0;)
        drm.exit_event[i]();
}

/* ---- dr_persist_* ----------------------------------------------------- */

app_pc dr_persist_start(void *perscxt)
{
    return ((drm_info *)perscxt)->base_pc;
}

size_t dr_persist_size(void *perscxt)
{
    const drm_info *i = perscxt;
    return (size_t)(i->end_pc - i->base_pc);
}

/* ---- options, client, files ------------------------------------------ */

bool dr_get_integer_option(const char *name, uint64 *val)
{
    const dr_model_options *o = &drm.opt;
    if (strcmp(name, "persist_map_rw_separate") == 0)
        *val = (uint64)o->persist_map_rw_separate;
    else if (strcmp(name, "persist_protect_stubs") == 0)
        *val = (uint64)o->persist_protect_stubs;
    else if (strcmp(name, "persist_gen_validation") == 0)
        *val = o->persist_gen_validation;
    else if (strcmp(name, "persist_load_validation") == 0)
        *val = o->persist_load_validation;
    else if (strcmp(name, "coarse_disk_merge") == 0)
        *val = (uint64)o->coarse_disk_merge;
    else if (strcmp(name, "coarse_lone_merge") == 0)
        *val = (uint64)o->coarse_lone_merge;
    else
        return false;
    return true;
}

byte *dr_get_client_base(client_id_t id)
{
    return id < DRM_MAX_CLIENT_LIBS ? (byte *)(uintptr_t)drm.client_base[id] : NULL;
}

ssize_t dr_write_file(file_t f, const void *buf, size_t count)
{
    const uint8_t *p = buf;
    size_t done = 0;
    while (done < count) {
        ssize_t n = write(f, p + done, count - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return done ? (ssize_t)done : -1;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

ssize_t dr_read_file(file_t f, void *buf, size_t count)
{
    uint8_t *p = buf;
    size_t done = 0;
    while (done < count) {
        ssize_t n = read(f, p + done, count - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return done ? (ssize_t)done : -1;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

bool dr_file_seek(file_t f, int64 offset, int origin)
{
    int whence = origin == DR_SEEK_SET ? SEEK_SET : origin == DR_SEEK_CUR ? SEEK_CUR : SEEK_END;
    if (drm.file_io_fails)
        return false;
    return lseek(f, (off_t)offset, whence) != (off_t)-1;
}

int64 dr_file_tell(file_t f)
{
    return drm.file_io_fails ? -1 : (int64)lseek(f, 0, SEEK_CUR);
}

/* DR's non-heap memory: pages of their own, with the protection asked. */
void *dr_nonheap_alloc(size_t size, uint prot)
{
    int p = ((prot & DR_MEMPROT_READ) ? PROT_READ : 0) | ((prot & DR_MEMPROT_WRITE) ? PROT_WRITE : 0) |
            ((prot & DR_MEMPROT_EXEC) ? PROT_EXEC : 0);
    void *m = mmap(NULL, size, p, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED && (prot & DR_MEMPROT_EXEC)) /* a system that refuses exec mappings */
        m = mmap(NULL, size, p & ~PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    drm.nonheap_live++;
    drm_mapping_add(m, size, prot);
    return m;
}

void dr_nonheap_free(void *mem, size_t size)
{
    if (!mem)
        return;
    drm_mapping_remove(mem, size);
    if (munmap(mem, size) == 0)
        drm.nonheap_live--;
}

app_pc dr_fragment_app_pc(void *tag)
{
    return (app_pc)tag;
}

/* ---- memory ------------------------------------------------------------ */

void *dr_global_alloc(size_t size)
{
    return malloc(size ? size : 1);
}

void dr_global_free(void *mem, size_t size)
{
    (void)size;
    free(mem);
}

void *dr_mutex_create(void)
{
    pthread_mutex_t *m = malloc(sizeof *m);
    if (m)
        pthread_mutex_init(m, NULL);
    return m;
}

void dr_mutex_destroy(void *mutex)
{
    pthread_mutex_destroy(mutex);
    free(mutex);
}

void dr_mutex_lock(void *mutex)
{
    pthread_mutex_lock(mutex);
}

void dr_mutex_unlock(void *mutex)
{
    pthread_mutex_unlock(mutex);
}

/* The model's mappings, page by page, with their current protections. */
typedef struct drm_mapping {
    uint8_t *base;
    size_t pages;
    uint *prot; /* per page */
} drm_mapping;

static drm_mapping mappings[64];
static unsigned nmappings;

void drm_mapping_add(uint8_t *base, size_t size, uint prot)
{
    drm_mapping *m;
    if (nmappings == sizeof mappings / sizeof mappings[0])
        abort();
    m = &mappings[nmappings++];
    m->base = base;
    m->pages = (size + DRM_PAGE - 1) / DRM_PAGE;
    if (!(m->prot = malloc(m->pages * sizeof *m->prot)))
        abort();
    for (size_t i = 0; i < m->pages; i++)
        m->prot[i] = prot;
}

void drm_mapping_protect(uint8_t *base, size_t size, uint prot)
{
    for (unsigned i = 0; i < nmappings; i++) {
        drm_mapping *m = &mappings[i];
        for (size_t pg = 0; pg < m->pages; pg++) {
            uint8_t *a = m->base + pg * DRM_PAGE;
            if (a + DRM_PAGE > base && a < base + size)
                m->prot[pg] = prot;
        }
    }
}

void drm_mapping_remove(uint8_t *base, size_t size)
{
    for (unsigned i = 0; i < nmappings;) {
        if (mappings[i].base >= base && mappings[i].base < base + size) {
            free(mappings[i].prot);
            mappings[i] = mappings[--nmappings];
        } else {
            i++;
        }
    }
}

void drm_mappings_clear(void)
{
    while (nmappings)
        free(mappings[--nmappings].prot);
}

bool dr_query_memory(const byte *pc, byte **base_pc, size_t *size, uint *prot)
{
    for (unsigned i = 0; i < nmappings; i++) {
        const drm_mapping *m = &mappings[i];
        size_t pg, lo, hi;
        if (pc < m->base || pc >= m->base + m->pages * DRM_PAGE)
            continue;
        /* the run of pages with pc's protection, as the kernel reports a region */
        pg = (size_t)(pc - m->base) / DRM_PAGE;
        for (lo = pg; lo > 0 && m->prot[lo - 1] == m->prot[pg]; lo--)
            ;
        for (hi = pg + 1; hi < m->pages && m->prot[hi] == m->prot[pg]; hi++)
            ;
        if (base_pc)
            *base_pc = m->base + lo * DRM_PAGE;
        if (size)
            *size = (hi - lo) * DRM_PAGE;
        if (prot)
            *prot = m->prot[pg];
        return true;
    }
    /* DR's reservation where nothing is mapped (the space after a
     * pcache's last page, an unmapped pcache): no access. */
    if (drm_in_reservation(pc)) {
        if (base_pc)
            *base_pc = (byte *)((uintptr_t)pc & ~(uintptr_t)(DRM_PAGE - 1));
        if (size)
            *size = DRM_PAGE;
        if (prot)
            *prot = DR_MEMPROT_NONE;
        return true;
    }
    /* Not a pcache mapping: heap or stack of the test process. */
    if (base_pc)
        *base_pc = (byte *)((uintptr_t)pc & ~(uintptr_t)(DRM_PAGE - 1));
    if (size)
        *size = DRM_PAGE;
    if (prot)
        *prot = DR_MEMPROT_READ | DR_MEMPROT_WRITE;
    return true;
}

/* ---- the sample files' unit ----------------------------------------------- */

void dr_model_hello_unit(dr_model_unit *u)
{
    static const uint8_t short_md5[16] = {0x3f, 0x70, 0xaf, 0x49, 0xfe, 0xa4, 0x49, 0x63,
                                          0x9a, 0xbb, 0x42, 0x07, 0x67, 0x57, 0x0e, 0x08};
    memset(u, 0, sizeof *u);
    u->module_base = 0x400000;
    u->start_offs = 0x1000;
    u->end_offs = 0x2000;
    u->module_checksum = 0xc1bee997u;
    u->image_size = 0x5000;
    u->code_size = 0x1000;
    memcpy(u->module_short_md5, short_md5, 16);
    u->flags = 0x0088; /* ELIDED_UBR, SUPPORT_TRACES */
    u->cache_htable_len = 640;
    u->stub_htable_len = 384;
    u->cache_len = 4096;
    u->post_cache_pad_len = 3683;
    u->fcache_return_prefix_len = 24;
    u->trace_head_return_prefix_len = 5;
    u->ibl_ret_prefix_len = 5;
    u->ibl_call_prefix_len = 5;
    u->ibl_jmp_prefix_len = 25;
    u->stubs_len = 256;
}

/* The client library's image where dr_get_client_base() says it is: the
 * bytes given, read-only, as the loader maps a library's first segment
 * (what the adapter reads the library's build id from). */
/* Client images the model mapped outside DR's reservation, kept across
 * dr_model_reset(): a process that models DR twice (make_corpus writes
 * two files) maps the same client base again, over its own image. */
static struct {
    uint8_t *at;
    size_t len;
} own_images[DRM_MAX_CLIENT_LIBS];

static int own_image(const uint8_t *at, size_t len)
{
    for (unsigned k = 0; k < DRM_MAX_CLIENT_LIBS; k++)
        if (own_images[k].at && at >= own_images[k].at && len <= own_images[k].len &&
            (size_t)(at - own_images[k].at) <= own_images[k].len - len)
            return 1;
    return 0;
}

int dr_model_map_client_image(client_id_t id, const void *image, size_t size)
{
    uint8_t *at;
    size_t len = (size + DRM_PAGE - 1) & ~(size_t)(DRM_PAGE - 1);
    void *p;
    int own;

    if (id >= DRM_MAX_CLIENT_LIBS || !drm.client_base[id] || (drm.client_base[id] & (DRM_PAGE - 1)) || !len)
        return -1;
    at = (uint8_t *)(uintptr_t)drm.client_base[id];
    /* inside DR's reservation the model owns the space, and over an image
     * it mapped before; elsewhere never map over what is there */
    own = drm_in_reservation(at) || own_image(at, len);
    p = mmap(at, len, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | (own ? MAP_FIXED : MAP_FIXED_NOREPLACE), -1, 0);
    if (p != at)
        return -1;
    if (!drm_in_reservation(at) && !own_image(at, len)) {
        for (unsigned k = 0; k < DRM_MAX_CLIENT_LIBS; k++)
            if (!own_images[k].at) {
                own_images[k].at = at;
                own_images[k].len = len;
                break;
            }
    }
    memcpy(at, image, size);
    if (mprotect(at, len, PROT_READ) != 0)
        return -1;
    drm_mapping_remove(at, len);
    drm_mapping_add(at, len, DR_MEMPROT_READ);
    return 0;
}
