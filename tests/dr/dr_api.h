/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The part of DynamoRIO's client API that the libpcache adapter
 * (lib/dr/pcache_dr.c) and the example client (examples/bbcount/) use,
 * declared with DynamoRIO's own signatures and types, so that both build
 * and are tested in every build against the model in tests/dr/dr_model.c.
 * A build with a real DynamoRIO (meson option 'dynamorio') compiles the
 * same sources against DR's own dr_api.h instead.
 *
 * Written for this project from DR's public headers (DynamoRIO 11.91:
 * core/lib/globals_api.h, dr_events.h, dr_tools.h, dr_ir_utils.h,
 * core/os_api.h, core/ir/opnd_api.h, instrlist_api.h,
 * instr_create_shared_api.h); nothing is copied from DR but the names,
 * types and constant values a client sees.  Where a declaration is reduced
 * (opnd_t, the OPSZ_ enum) the comment says how.
 */
#ifndef PCACHE_TEST_DR_API_H
#define PCACHE_TEST_DR_API_H

/* As DR's globals_api.h: a client states its target. */
#if !defined(LINUX)
#    error Target operating system unspecified: define LINUX (as the configuration of DR requires)
#endif
#if !defined(X86_64)
#    error Target architecture unspecified: define X86_64 (as the configuration of DR requires)
#endif
#define X64
#define UNIX

#include <stdarg.h>
#include <stdbool.h> /* DR clients get bool from <stdbool.h> */
#include <stddef.h>
#include <sys/types.h> /* ssize_t */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- globals_api.h ---------------------------------------------------- */

#define DR_API
#define DR_PARAM_OUT
#define DR_PARAM_IN
#define DR_PARAM_INOUT
/* DR defines DR_EXPORT as the default-visibility attribute when the client
 * is built with USE_VISIBILITY_ATTRIBUTES (DR's CMake does), else empty.
 * This project builds with -fvisibility=hidden, so take the attribute. */
#define DR_EXPORT __attribute__((visibility("default")))

typedef unsigned int uint;
typedef unsigned short ushort;
typedef unsigned char byte;
typedef signed char sbyte;
typedef byte *app_pc;
typedef long int int64;           /* DR_DEFINE_FOR_int64, Linux x64 */
typedef unsigned long int uint64; /* DR_DEFINE_FOR_uint64, Linux x64 */
typedef uint64 reg_t;
typedef reg_t ptr_uint_t;
typedef int64 ptr_int_t;
typedef uint client_id_t;

typedef int file_t;
#define INVALID_FILE -1
extern file_t our_stdout;
extern file_t our_stderr;
#define STDOUT our_stdout
#define STDERR our_stderr

typedef struct _opnd_t opnd_t;
typedef struct _instr_t instr_t;
typedef struct _instrlist_t instrlist_t;

/* ---- dr_api.h ----------------------------------------------------------- */

DR_EXPORT void
dr_client_main(client_id_t id, int argc, const char *argv[]);

/* ---- dr_events.h: events ------------------------------------------------ */

void
dr_register_exit_event(void (*func)(void));
bool
dr_unregister_exit_event(void (*func)(void));

typedef enum {
    DR_EMIT_DEFAULT = 0,
    DR_EMIT_STORE_TRANSLATIONS = 0x01,
    DR_EMIT_PERSISTABLE = 0x02,
    DR_EMIT_MUST_END_TRACE = 0x04,
    DR_EMIT_GO_NATIVE = 0x08,
} dr_emit_flags_t;

void
dr_register_bb_event(dr_emit_flags_t (*func)(void *drcontext, void *tag, instrlist_t *bb,
                                             bool for_trace, bool translating));
bool
dr_unregister_bb_event(dr_emit_flags_t (*func)(void *drcontext, void *tag,
                                               instrlist_t *bb, bool for_trace,
                                               bool translating));

/* ---- dr_events.h: persistent cache support ------------------------------ */

app_pc
dr_persist_start(void *perscxt);

size_t
dr_persist_size(void *perscxt);

bool
dr_register_persist_ro(
    size_t (*func_size)(void *drcontext, void *perscxt, size_t file_offs,
                        void **user_data DR_PARAM_OUT),
    bool (*func_persist)(void *drcontext, void *perscxt, file_t fd, void *user_data),
    bool (*func_resurrect)(void *drcontext, void *perscxt, byte **map DR_PARAM_OUT));
bool
dr_unregister_persist_ro(
    size_t (*func_size)(void *drcontext, void *perscxt, size_t file_offs,
                        void **user_data DR_PARAM_OUT),
    bool (*func_persist)(void *drcontext, void *perscxt, file_t fd, void *user_data),
    bool (*func_resurrect)(void *drcontext, void *perscxt, byte **map DR_PARAM_OUT));

bool
dr_register_persist_rx(
    size_t (*func_size)(void *drcontext, void *perscxt, size_t file_offs,
                        void **user_data DR_PARAM_OUT),
    bool (*func_persist)(void *drcontext, void *perscxt, file_t fd, void *user_data),
    bool (*func_resurrect)(void *drcontext, void *perscxt, byte **map DR_PARAM_OUT));
bool
dr_unregister_persist_rx(
    size_t (*func_size)(void *drcontext, void *perscxt, size_t file_offs,
                        void **user_data DR_PARAM_OUT),
    bool (*func_persist)(void *drcontext, void *perscxt, file_t fd, void *user_data),
    bool (*func_resurrect)(void *drcontext, void *perscxt, byte **map DR_PARAM_OUT));

bool
dr_register_persist_rw(
    size_t (*func_size)(void *drcontext, void *perscxt, size_t file_offs,
                        void **user_data DR_PARAM_OUT),
    bool (*func_persist)(void *drcontext, void *perscxt, file_t fd, void *user_data),
    bool (*func_resurrect)(void *drcontext, void *perscxt, byte **map DR_PARAM_OUT));
bool
dr_unregister_persist_rw(
    size_t (*func_size)(void *drcontext, void *perscxt, size_t file_offs,
                        void **user_data DR_PARAM_OUT),
    bool (*func_persist)(void *drcontext, void *perscxt, file_t fd, void *user_data),
    bool (*func_resurrect)(void *drcontext, void *perscxt, byte **map DR_PARAM_OUT));

bool
dr_register_persist_patch(bool (*func_patch)(void *drcontext, void *perscxt,
                                             byte *bb_start, size_t bb_size,
                                             void *user_data));
bool
dr_unregister_persist_patch(bool (*func_patch)(void *drcontext, void *perscxt,
                                               byte *bb_start, size_t bb_size,
                                               void *user_data));

/* ---- dr_tools.h --------------------------------------------------------- */

bool
dr_get_integer_option(const char *option_name, uint64 *val DR_PARAM_OUT);

byte *
dr_get_client_base(client_id_t client_id);

void *
dr_global_alloc(size_t size);
void
dr_global_free(void *mem, size_t size);

void *
dr_mutex_create(void);
void
dr_mutex_destroy(void *mutex);
void
dr_mutex_lock(void *mutex);
void
dr_mutex_unlock(void *mutex);

ssize_t
dr_write_file(file_t f, const void *buf, size_t count);
ssize_t
dr_read_file(file_t f, void *buf, size_t count);

#define DR_SEEK_SET 0
#define DR_SEEK_CUR 1
#define DR_SEEK_END 2

bool
dr_file_seek(file_t f, int64 offset, int origin);
int64
dr_file_tell(file_t f);

void *
dr_nonheap_alloc(size_t size, uint prot);
void
dr_nonheap_free(void *mem, size_t size);

void
dr_log(void *drcontext, uint mask, uint level, const char *fmt, ...);

#define DR_LOG_NONE 0x00000000
#define DR_LOG_CACHE 0x00000100
#define DR_LOG_ALL 0x00ffffff

ssize_t
dr_fprintf(file_t f, const char *fmt, ...);

app_pc
dr_fragment_app_pc(void *tag);

/* ---- os_api.h ----------------------------------------------------------- */

#define DR_MEMPROT_NONE 0x00
#define DR_MEMPROT_READ 0x01
#define DR_MEMPROT_WRITE 0x02
#define DR_MEMPROT_EXEC 0x04

bool
dr_query_memory(const byte *pc, byte **base_pc, size_t *size, uint *prot);

/* ---- opnd_api.h, instrlist_api.h, dr_ir_utils.h ------------------------- */

typedef ushort reg_id_t;
typedef byte opnd_size_t;

/* The first members of DR's OPSZ_ enum, with DR's values. */
enum {
    OPSZ_NA = 0,
    OPSZ_0,
    OPSZ_1,
    OPSZ_2,
    OPSZ_4,
    OPSZ_6,
    OPSZ_8,
};

/* DR's opnd_t is passed by value: this has its size (16 bytes on x86-64),
 * alignment and the first fields; DR's value union (immediates, pcs,
 * registers, base+disp) is reduced to its 8-byte integer member, which
 * gives it the same argument-passing class.  Clients never touch it. */
struct _opnd_t {
    byte kind;
    opnd_size_t size;
    ushort aux;
    ptr_int_t value;
};

opnd_t
opnd_create_immed_int(ptr_int_t i, opnd_size_t data_size);

#define OPND_CREATE_INT64(val) opnd_create_immed_int((ptr_int_t)(val), OPSZ_8)
#define OPND_CREATE_INTPTR OPND_CREATE_INT64

instr_t *
instrlist_first(instrlist_t *ilist);

void
dr_insert_clean_call(void *drcontext, instrlist_t *ilist, instr_t *where, void *callee,
                     bool save_fpstate, uint num_args, ...);

#ifdef __cplusplus
}
#endif

#endif /* PCACHE_TEST_DR_API_H */
