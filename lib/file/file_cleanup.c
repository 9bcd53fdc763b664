/* SPDX-License-Identifier: BSD-2-Clause */
/* Sweeping stray temporary files that writers killed before their rename
 * left behind.  The rule (dead pid, or older than a threshold) is stated
 * in pcache/file.h and docs/FILES.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file_io.h"
#include "report.h"

static int writer_is_dead(long pid)
{
    /* EPERM: the process exists but belongs to someone else. */
    return kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

pcache_status file_cleanup_dir(int dirfd, const char *base, uint32_t max_age, const pcache_file_ops *ops,
                               unsigned *removed, pcache_report *rep)
{
    DIR *d;
    struct dirent *de;
    int fd;
    time_t now = time(NULL);
    unsigned count = 0;

    if (removed)
        *removed = 0;
    /* fdopendir takes the descriptor, and the caller keeps dirfd */
    fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return file_fail_errno(rep, errno, "cleanup of '%s': duplicating the directory descriptor", base);
    d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return file_fail_errno(rep, e, "cleanup of '%s': reading its directory", base);
    }
    while ((errno = 0, de = readdir(d)) != NULL) {
        struct stat st;
        long pid;
        if (!tmpname_match(de->d_name, base, &pid))
            continue;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* already gone: another sweeper was faster */
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
            continue;
        if (writer_is_dead(pid) || (max_age && now > st.st_mtime && (uint64_t)(now - st.st_mtime) > max_age))
            if (io_unlinkat(ops, dirfd, de->d_name) == 0)
                count++;
    }
    closedir(d);
    if (removed)
        *removed = count;
    return PCACHE_OK;
}

pcache_status pcache_file_cleanup(const char *path, uint32_t max_age_seconds, const pcache_file_ops *ops,
                                  unsigned *removed, pcache_report *rep)
{
    char dir[PATH_MAX], base[NAME_MAX + 1];
    pcache_status st;
    int dirfd;

    report_clear(rep);
    if (removed)
        *removed = 0;
    if (!ops)
        ops = pcache_file_ops_system();
    if (file_split_path(path, dir, sizeof dir, base, sizeof base) != 0)
        return file_fail(rep, PCACHE_E_INVALID_ARGUMENT, 0, 0, "cleanup: '%s' is not a path to a file",
                         path ? path : "(null)");
    dirfd = io_openat(ops, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (dirfd < 0)
        return file_fail_errno(rep, errno, "cleanup of '%s': opening directory '%s'", path, dir);
    st = file_cleanup_dir(dirfd, base, max_age_seconds, ops, removed, rep);
    io_close_quietly(ops, dirfd);
    return st;
}
