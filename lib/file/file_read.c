/* SPDX-License-Identifier: BSD-2-Clause */
/* Opening a standalone pcache file held in memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "checksum.h"
#include "format.h"
#include "layout.h"
#include "report.h"
#include "segment_read.h"
#include "pcache/reloc.h"

/* Every identity field of docs/FORMAT.md 5, which an image's segments
 * share (the alignment bit is not one). */
#define IDENTITY_CHECKS                                                                          \
    (PCACHE_CHECK_BYTE_ORDER | PCACHE_CHECK_POINTER_SIZE | PCACHE_CHECK_ARCH | PCACHE_CHECK_PAGE_SIZE | \
     PCACHE_CHECK_CHECKSUM_ALGO | PCACHE_CHECK_CLIENT | PCACHE_CHECK_CLIENT_VERSION |             \
     PCACHE_CHECK_IMAGE_ID | PCACHE_CHECK_MODULE_BASE | PCACHE_CHECK_MODULE_SIZE |                 \
     PCACHE_CHECK_MODULE_DIGEST)

static pcache_status ffail(pcache_report *rep, pcache_status st, uint64_t off, int has, uint64_t exp,
                           uint64_t found, const char *what)
{
    return report_fail(rep, st, -1, NULL, off, has, exp, found, "file: %s", what);
}

pcache_status pcache_image_open_memory(pcache_image *img, const void *base, uint64_t size,
                                       const pcache_expect *exp, pcache_report *rep)
{
    const uint8_t *p = base;
    pcache_expect e;
    uint64_t seg_size[PCACHE_CLASS_COUNT];
    file_layout fl;
    uint32_t page;
    uint8_t algo;
    uint64_t hsum, fsize;
    const uint8_t *f;
    pcache_status st;

    report_clear(rep);
    if (!img || (!base && size))
        return PCACHE_E_INVALID_ARGUMENT;
    memset(img, 0, sizeof *img);

    if (size < 8 || memcmp(p, FILE_MAGIC, 8) != 0)
        return size < 8 ? ffail(rep, PCACHE_E_TRUNCATED, 0, 1, FILE_HEADER_SIZE, size, "too short for a header")
                        : ffail(rep, PCACHE_E_FILE_MAGIC, 0, 0, 0, 0, "magic is not 89 50 43 46 49 4C 45 0A");
    if (size < FILE_HEADER_SIZE)
        return ffail(rep, PCACHE_E_TRUNCATED, 0, 1, FILE_HEADER_SIZE, size, "too short for a header");
    if (ld16(p + FH_MAJOR) != PCACHE_FORMAT_MAJOR)
        return ffail(rep, PCACHE_E_FORMAT_VERSION, FH_MAJOR, 1, PCACHE_FORMAT_MAJOR, ld16(p + FH_MAJOR),
                     "format major version");
    algo = p[FH_CHECKSUM];
    if (!checksum_algorithm_known(algo))
        return ffail(rep, PCACHE_E_CHECKSUM_ALGORITHM, FH_CHECKSUM, 1, PCACHE_CHECKSUM_XXH3_64, algo,
                     "unknown checksum algorithm code");
    hsum = pcache_checksum((pcache_checksum_algorithm)algo, p, FH_HEADER_CHECKSUM);
    if (hsum != ld64be(p + FH_HEADER_CHECKSUM))
        return ffail(rep, PCACHE_E_FILE_HEADER_CHECKSUM, FH_HEADER_CHECKSUM, 1, ld64be(p + FH_HEADER_CHECKSUM),
                     hsum, "header checksum (stored, computed)");
    page = ld32(p + FH_PAGE_SIZE);
    if (ld16(p + FH_HEADER_SIZE) != FILE_HEADER_SIZE)
        return ffail(rep, PCACHE_E_FILE_HEADER, FH_HEADER_SIZE, 1, FILE_HEADER_SIZE, ld16(p + FH_HEADER_SIZE),
                     "header size");
    if (!is_pow2_u64(page) || page < PAGE_SIZE_MIN || page > PAGE_SIZE_MAX)
        return ffail(rep, PCACHE_E_FILE_HEADER, FH_PAGE_SIZE, 0, 0, 0,
                     "page size is not a power of two in [4096, 2^30]");
    if (ld32(p + FH_FLAGS) != 0)
        return ffail(rep, PCACHE_E_FILE_HEADER, FH_FLAGS, 1, 0, ld32(p + FH_FLAGS), "unknown file flags set");
    /* A newer minor version may give meaning to reserved bytes. */
    if (ld16(p + FH_MINOR) <= PCACHE_FORMAT_MINOR) {
        if (p[FH_RESERVED0] != 0)
            return ffail(rep, PCACHE_E_FILE_HEADER, FH_RESERVED0, 1, 0, p[FH_RESERVED0],
                         "reserved header byte is not zero");
        if (!all_zero(p + FH_RESERVED, FH_RESERVED_SIZE)) {
            uint64_t k = FH_RESERVED + first_nonzero(p + FH_RESERVED, FH_RESERVED_SIZE);
            return ffail(rep, PCACHE_E_FILE_HEADER, k, 1, 0, p[k], "reserved header byte is not zero");
        }
    }
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        if (ld64(p + FH_SEGMENTS + 16 * c + 8) == 0 && ld64(p + FH_SEGMENTS + 16 * c) != 0)
            return report_fail(rep, PCACHE_E_FILE_HEADER, c, NULL, FH_SEGMENTS + 16 * c, 1, 0,
                               ld64(p + FH_SEGMENTS + 16 * c), "file: offset of an absent segment is not zero");
    fsize = ld64(p + FH_FILE_SIZE);
    if (fsize != size)
        return ffail(rep, size < fsize ? PCACHE_E_TRUNCATED : PCACHE_E_FILE_SIZE, FH_FILE_SIZE, 1, fsize, size,
                     "file size (header, actual)");
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        seg_size[c] = ld64(p + FH_SEGMENTS + 16 * c + 8);
    if (layout_file(seg_size, page, &fl) != PCACHE_OK)
        return ffail(rep, PCACHE_E_FILE_LAYOUT, FH_SEGMENTS, 0, 0, 0,
                     "segment sizes laid out end past 2^64");
    if (fl.file_size != size)
        return ffail(rep, PCACHE_E_FILE_LAYOUT, FH_SEGMENTS, 1, size, fl.file_size,
                     "segment sizes do not add up to the file size");
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++)
        if (ld64(p + FH_SEGMENTS + 16 * c) != fl.offset[c])
            return report_fail(rep, PCACHE_E_FILE_LAYOUT, c, NULL, FH_SEGMENTS + 16 * c, 1, fl.offset[c],
                               ld64(p + FH_SEGMENTS + 16 * c), "file: segment offset is not the canonical one");

    /* the footer, written last: its presence proves a complete write */
    f = p + fl.footer_offset;
    if (memcmp(f + FF_MAGIC, FILE_FOOTER_MAGIC, 8) != 0)
        return ffail(rep, PCACHE_E_FILE_FOOTER, fl.footer_offset, 0, 0, 0, "footer magic missing");
    if (ld64be(f + FF_FOOTER_CHECKSUM) != pcache_checksum((pcache_checksum_algorithm)algo, f, FF_FOOTER_CHECKSUM))
        return ffail(rep, PCACHE_E_FILE_FOOTER, fl.footer_offset + FF_FOOTER_CHECKSUM, 1,
                     ld64be(f + FF_FOOTER_CHECKSUM), pcache_checksum((pcache_checksum_algorithm)algo, f, FF_FOOTER_CHECKSUM),
                     "footer checksum (stored, computed)");
    if (ld64(f + FF_FILE_SIZE) != size)
        return ffail(rep, PCACHE_E_FILE_FOOTER, fl.footer_offset + FF_FILE_SIZE, 1, size, ld64(f + FF_FILE_SIZE),
                     "footer file size");
    if (ld64be(f + FF_HEADER_CHECKSUM) != hsum)
        return ffail(rep, PCACHE_E_FILE_FOOTER, fl.footer_offset + FF_HEADER_CHECKSUM, 1, hsum,
                     ld64be(f + FF_HEADER_CHECKSUM), "footer's copy of the header checksum");

    img->base = p;
    img->size = size;
    img->format_major = ld16(p + FH_MAJOR);
    img->format_minor = ld16(p + FH_MINOR);
    img->page_size = page;
    img->checksum = (pcache_checksum_algorithm)algo;
    memcpy(img->image_id, p + FH_IMAGE_ID, PCACHE_IMAGE_ID_SIZE);

    if (exp)
        e = *exp;
    else
        pcache_expect_init(&e, NULL);
    /* Whatever the caller expects, every segment must belong to this file. */
    memcpy(e.identity.image_id, img->image_id, PCACHE_IMAGE_ID_SIZE);
    e.identity.checksum = img->checksum;
    e.identity.page_size = page;
    e.check |= PCACHE_CHECK_IMAGE_ID | PCACHE_CHECK_CHECKSUM_ALGO | PCACHE_CHECK_PAGE_SIZE;

    /* 8. the segments, in class order, each where the header says */
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        const uint8_t *m;
        segment_place place;
        if (!seg_size[c])
            continue;
        m = p + fl.offset[c];
        place.file_offset = fl.offset[c];
        place.size = seg_size[c];
        if ((st = segment_resurrect_placed(&img->seg[c], (pcache_class)c, &m, seg_size[c], &e, &place, rep)) !=
            PCACHE_OK) {
            if (rep)
                rep->offset += fl.offset[c];
            memset(img, 0, sizeof *img);
            return st;
        }
        img->present[c] = 1;
        img->offset[c] = fl.offset[c];
        img->seg_size[c] = seg_size[c];
        /* One image, one identity: every later segment must state the
         * first one's, field by field in the order of docs/FORMAT.md 5,
         * whatever the caller chose to check. */
        e.identity = img->seg[c].identity;
        e.check |= IDENTITY_CHECKS;
    }
    /* 9. references between the segments: only now are they all known */
    for (int c = 0; c < PCACHE_CLASS_COUNT; c++) {
        const pcache_segment *segs[PCACHE_CLASS_COUNT];
        for (int k = 0; k < PCACHE_CLASS_COUNT; k++)
            segs[k] = img->present[k] ? &img->seg[k] : NULL;
        if (img->present[c] && (st = pcache_reloc_check_targets(&img->seg[c], segs, rep)) != PCACHE_OK) {
            if (rep)
                rep->offset += fl.offset[c];
            memset(img, 0, sizeof *img);
            return st;
        }
    }
    /* 10. at full validation, every byte outside the header, the segments
     * and the footer is zero */
    if (e.validation == PCACHE_VALIDATE_FULL) {
        uint64_t cursor = FILE_HEADER_SIZE, end;
        for (int c = 0; c <= PCACHE_CLASS_COUNT; c++) {
            if (c < PCACHE_CLASS_COUNT && !seg_size[c])
                continue;
            end = c < PCACHE_CLASS_COUNT ? fl.offset[c] : fl.footer_offset;
            if (!all_zero(p + cursor, end - cursor)) {
                memset(img, 0, sizeof *img);
                return ffail(rep, PCACHE_E_PADDING, cursor + first_nonzero(p + cursor, end - cursor), 1, 0,
                             p[cursor + first_nonzero(p + cursor, end - cursor)],
                             cursor == FILE_HEADER_SIZE ? "padding after the file header is not zero"
                                                        : "padding between segments is not zero");
            }
            if (c < PCACHE_CLASS_COUNT)
                cursor = fl.offset[c] + seg_size[c];
        }
    }
    return PCACHE_OK;
}

pcache_segment *pcache_image_segment(pcache_image *img, pcache_class cls)
{
    if (!img || (unsigned)cls >= PCACHE_CLASS_COUNT || !img->present[cls])
        return NULL;
    return &img->seg[cls];
}

pcache_status pcache_image_read_path(pcache_image *img, const char *path, const pcache_expect *exp,
                                     pcache_report *rep)
{
    struct stat sb;
    void *buf = NULL;
    size_t got = 0, cap;
    pcache_status st;
    int fd, e;

    report_clear(rep);
    if (!img || !path)
        return PCACHE_E_INVALID_ARGUMENT;
    memset(img, 0, sizeof *img);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        goto io_error;
    if (fstat(fd, &sb) != 0)
        goto io_error;
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return report_fail(rep, PCACHE_E_IO, -1, NULL, PCACHE_REPORT_NO_OFFSET, 0, 0, 0, "'%s' is not a regular file", path);
    }
    if ((uint64_t)sb.st_size > SIZE_MAX - 4096) {
        close(fd);
        return report_fail(rep, PCACHE_E_IO, -1, NULL, PCACHE_REPORT_NO_OFFSET, 0, 0, 0, "'%s' is too large to read", path);
    }
    cap = (size_t)sb.st_size;
    /* page-aligned so that section views are aligned as declared */
    if (posix_memalign(&buf, 4096, cap ? cap : 1) != 0) {
        close(fd);
        return PCACHE_E_NO_MEMORY;
    }
    while (got < cap) {
        ssize_t n = read(fd, (uint8_t *)buf + got, cap - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto io_error;
        }
        if (n == 0)
            break; /* shrank under us: validated as truncated below */
        got += (size_t)n;
    }
    close(fd);
    fd = -1;
    st = pcache_image_open_memory(img, buf, got, exp, rep);
    if (st != PCACHE_OK) {
        free(buf);
        memset(img, 0, sizeof *img);
        return st;
    }
    img->owned = buf;
    return PCACHE_OK;

io_error:
    e = errno;
    if (fd >= 0)
        close(fd);
    free(buf);
    report_fail(rep, PCACHE_E_IO, -1, NULL, PCACHE_REPORT_NO_OFFSET, 0, 0, 0, "reading '%s': %s", path, strerror(e));
    if (rep)
        rep->sys_errno = e;
    return PCACHE_E_IO;
}

void pcache_image_close(pcache_image *img)
{
    if (!img)
        return;
    free(img->owned);
    memset(img, 0, sizeof *img);
}
