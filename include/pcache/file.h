/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libpcache — standalone pcache files on a POSIX file system: atomic
 * saves, mapped loads, and the operating-system layer they go through.
 *
 * The guarantees, the owner and mode rules and the error codes are
 * described in docs/FILES.md; the bytes of the file in docs/FORMAT.md §7.
 *
 *  - pcache_file_save() never modifies a file in place: it writes a
 *    temporary file in the target's directory, makes it durable, and
 *    renames it over the target.  At every instant the target is the old
 *    file or the complete new one, whatever happens to the writer.
 *  - pcache_file_open() maps a file only if the current user could have
 *    written it and nobody else could, and validates every byte before it
 *    hands out views.
 *  - Every system call goes through a pcache_file_ops table, which a test
 *    (or an embedder with its own I/O) replaces, as SQLite's VFS.
 */
#ifndef PCACHE_FILE_H
#define PCACHE_FILE_H

#include <sys/stat.h>
#include <sys/types.h>

#include "pcache/pcache.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* The operating-system layer                                          */
/* ------------------------------------------------------------------ */

/* The system calls the file layer makes, with POSIX semantics: each
 * returns what the system call returns and sets errno on failure.  ctx is
 * passed through.  A replacement table must provide every member; it can
 * delegate to pcache_file_ops_system() for the calls it does not change.
 * Directory scanning in pcache_file_cleanup() (readdir, fstatat, kill) is
 * not routed through the table: it changes nothing. */
/* pcache_file_ops passes off_t and struct stat: the library is built with
 * a 64-bit off_t (-D_FILE_OFFSET_BITS=64, which pkg-config's Cflags pass
 * on), and a program must see the same types.  A 32-bit build without it
 * fails here rather than at run time. */
typedef char pcache_off_t_must_be_64_bits[sizeof(off_t) == 8 ? 1 : -1];

typedef struct pcache_file_ops {
    void *ctx;
    int (*openat)(void *ctx, int dirfd, const char *path, int flags, mode_t mode);
    int (*close)(void *ctx, int fd);
    ssize_t (*write)(void *ctx, int fd, const void *buf, size_t len);
    int (*fsync)(void *ctx, int fd);
    int (*renameat)(void *ctx, int olddirfd, const char *oldpath, int newdirfd,
                    const char *newpath);
    int (*unlinkat)(void *ctx, int dirfd, const char *path, int flags);
    int (*fstat)(void *ctx, int fd, struct stat *st);
    void *(*mmap)(void *ctx, void *addr, size_t len, int prot, int flags, int fd,
                  off_t offset);
    int (*munmap)(void *ctx, void *addr, size_t len);
} pcache_file_ops;

/* The table of the real system calls (ctx unused).  Never NULL. */
PCACHE_API const pcache_file_ops *pcache_file_ops_system(void);

/* The status an errno value from the file layer maps to:
 * ENOSPC, EDQUOT -> PCACHE_E_NO_SPACE; EFBIG -> PCACHE_E_FILE_TOO_LARGE;
 * EACCES, EPERM, EROFS -> PCACHE_E_ACCESS; EINTR -> PCACHE_E_INTERRUPTED;
 * ENOMEM -> PCACHE_E_NO_MEMORY; 0 -> PCACHE_OK; anything else ->
 * PCACHE_E_IO (the errno stays in pcache_report.sys_errno). */
PCACHE_API pcache_status pcache_file_status_from_errno(int err);

/* An operation that fails with EINTR is retried; after this many
 * consecutive EINTRs from one operation it fails with
 * PCACHE_E_INTERRUPTED. */
#define PCACHE_FILE_EINTR_RETRIES 100

/* ------------------------------------------------------------------ */
/* Saving                                                              */
/* ------------------------------------------------------------------ */

/* Temporary files are named ".<target name>.pcache-tmp.<pid>.<16 hex>"
 * in the target's directory (the target name is cut to keep the whole
 * name within NAME_MAX). */
#define PCACHE_FILE_TMP_TAG ".pcache-tmp."

/* Default age, in seconds, after which pcache_file_save()'s sweep removes
 * a stray temporary file whatever its writer's pid says. */
#define PCACHE_FILE_TMP_MAX_AGE_DEFAULT 86400u

/* A zeroed struct gives the defaults (as does passing NULL). */
typedef struct pcache_save_options {
    /* Permission bits of the new file, 0 for 0600.  The process umask
     * applies as for open(2).  Bits outside 0777, and group or other
     * write permission (which pcache_file_open() refuses), are refused
     * with PCACHE_E_INVALID_ARGUMENT. */
    unsigned mode;
    /* Nonzero: do not sweep stray temporary files of this target before
     * saving (see pcache_file_cleanup()). */
    int skip_cleanup;
    /* Age rule of that sweep, in seconds; 0 means
     * PCACHE_FILE_TMP_MAX_AGE_DEFAULT. */
    uint32_t cleanup_max_age;
    /* NULL: pcache_file_ops_system(). */
    const pcache_file_ops *ops;
} pcache_save_options;

/* Saves the builder's image as a standalone file at path, atomically:
 * opens path's directory, sweeps stray temporaries of path (unless
 * opt->skip_cleanup), creates a temporary file there (O_EXCL, O_NOFOLLOW,
 * O_CLOEXEC), writes the file through pcache_file_write_sink(), fsyncs
 * it, renames it over path and fsyncs the directory.  A symbolic link at
 * path is replaced, not followed; the new file has the caller's owner and
 * opt->mode, not the old file's.
 *
 * While writing, SIGXFSZ is blocked in the calling thread, and a SIGXFSZ
 * that this save's own write raised is discarded, so exceeding
 * RLIMIT_FSIZE fails with PCACHE_E_FILE_TOO_LARGE instead of killing the
 * process.
 *
 * On failure: the status of the failed operation (see
 * pcache_file_status_from_errno(); a write that makes no progress is
 * PCACHE_E_SHORT_WRITE), a report naming the path, the operation and the
 * system's message, with sys_errno set and, for a write, offset = the file
 * offset it was writing at; the temporary file removed; path untouched.
 * The one exception is a failed fsync of the directory after the rename:
 * then path already names the complete new file, but its durability is not
 * guaranteed; the save reports the fsync's status and says so in the
 * message.  Builder errors (layout, a producer failing) are returned with
 * the builder's report. */
PCACHE_API pcache_status pcache_file_save(pcache_builder *b, const char *path,
                                          const pcache_save_options *opt,
                                          pcache_report *rep);

/* Removes stray temporary files of path left by writers that died
 * (SIGKILL, power loss) before renaming them.  A directory entry is
 * removed when its name has exactly the pattern above for path, it is a
 * regular file owned by the effective uid, and either no process with its
 * pid exists (kill(pid, 0) fails with ESRCH), or max_age_seconds is
 * nonzero and it was last modified more than max_age_seconds ago.  A live
 * writer's temporary is therefore kept, unless it is older than
 * max_age_seconds: then its writer's rename fails and that save reports an
 * error, but no file is ever torn.  Pids are those of the caller's pid
 * namespace.  ops may be NULL; *removed (may be NULL) receives the count.
 * Fails only if the directory cannot be read; a file that cannot be
 * removed is skipped. */
PCACHE_API pcache_status pcache_file_cleanup(const char *path,
                                             uint32_t max_age_seconds,
                                             const pcache_file_ops *ops,
                                             unsigned *removed,
                                             pcache_report *rep);

/* ------------------------------------------------------------------ */
/* Loading                                                             */
/* ------------------------------------------------------------------ */

/* Map the file PROT_READ|PROT_WRITE, MAP_PRIVATE: copy-on-write, so that
 * relocations can be applied in memory (pcache_view_mutable() works on
 * every segment) while the file stays unchanged. */
#define PCACHE_OPEN_COPY_ON_WRITE 0x0001u
/* Also accept a file owned by pcache_open_options.allowed_uid. */
#define PCACHE_OPEN_ALLOW_UID     0x0002u
/* Accept a file of any owner (the mode check still applies). */
#define PCACHE_OPEN_ANY_OWNER     0x0004u

/* A zeroed struct gives the defaults (as does passing NULL): read-only
 * mapping, owner must be the effective uid. */
typedef struct pcache_open_options {
    uint32_t flags;        /* PCACHE_OPEN_* */
    uint32_t allowed_uid;  /* with PCACHE_OPEN_ALLOW_UID */
    /* NULL: pcache_file_ops_system(); else must outlive the opened file
     * (pcache_file_close() unmaps through it) */
    const pcache_file_ops *ops;
} pcache_open_options;

/* A mapped, validated standalone file.  Caller-owned; its fields are
 * read-only for the caller. */
typedef struct pcache_file {
    pcache_image image;    /* views point into the mapping */
    void *map;             /* the mapping, page-aligned; NULL when closed */
    uint64_t map_size;     /* = the file size fstat() reported */
    int copy_on_write;
    /* what fstat() said of the file that was mapped, so that a caller can
     * tell whether path has since been replaced */
    uint64_t dev, ino;
    int64_t mtime_sec;
    long mtime_nsec;
    uint32_t uid;
    uint32_t mode;
    const pcache_file_ops *ops;
} pcache_file;

/* Opens path: open(2) with O_RDONLY|O_CLOEXEC|O_NOFOLLOW|O_NONBLOCK
 * (a symbolic link as the last component is refused with
 * PCACHE_E_NOT_REGULAR; links among the directories are followed), then
 * refuses anything but a regular file (PCACHE_E_NOT_REGULAR), a file
 * writable by group or others (PCACHE_E_FILE_MODE), and, unless
 * opt->flags allow it, a file not owned by the effective uid
 * (PCACHE_E_FILE_OWNER).  Maps exactly the size fstat() reported, closes
 * the descriptor, and validates the mapping with pcache_image_open_memory()
 * and exp (NULL: any identity the file states consistently).  On failure
 * nothing stays mapped or open and *f is zeroed. */
PCACHE_API pcache_status pcache_file_open(pcache_file *f, const char *path,
                                          const pcache_open_options *opt,
                                          const pcache_expect *exp,
                                          pcache_report *rep);

/* The segment of a class, or NULL when the file has none. */
PCACHE_API pcache_segment *pcache_file_segment(pcache_file *f, pcache_class cls);

/* Unmaps; safe on a zeroed or already closed file. */
PCACHE_API void pcache_file_close(pcache_file *f);

#ifdef __cplusplus
}
#endif

#endif /* PCACHE_FILE_H */
