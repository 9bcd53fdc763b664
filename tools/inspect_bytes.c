/* SPDX-License-Identifier: BSD-2-Clause */
/* dump and extract: a section's bytes, as hex or raw. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "inspect.h"
#include "output.h"

/* A compressed section's bytes are what it inflates to, as a loader sees
 * them (--stored: the zlib stream as stored).  The library inflates and
 * checks them. */
static int inflate_section(const inspect_args *a, const char *command, inspect_file *f, section_ref *s)
{
    pcache_segment seg = s->owner->seg;
    pcache_report rep;
    pcache_view out;
    problems one = {0};

    if (pcache_segment_inflate_alloc(&seg, s->view.index, &s->inflated, &out, &rep) == PCACHE_OK) {
        s->view.data = s->inflated;
        s->view.size = s->view.loaded_size;
        return EXIT_VALID;
    }
    problems_add_report(&one, &rep, s->owner->file_offset);
    if (one.count)
        f->verdict = one.v[0];
    else
        f->verdict.status = rep.status;
    problems_free(&one);
    return finish_output(report_invalid(f, command, a->json));
}

/* Opens path and finds the section a->section names.  Returns EXIT_VALID
 * with *f loaded, or the exit status (and *f freed). */
static int open_section(const inspect_args *a, const char *command, inspect_file *f, section_ref *s)
{
    int rc = inspect_file_load(f, a->path);

    s->inflated = NULL;
    if (rc == EXIT_VALID && !inspect_file_valid(f))
        rc = finish_output(report_invalid(f, command, a->json));
    if (rc == EXIT_VALID)
        rc = inspect_find_section(f, a->section, s);
    if (rc == EXIT_VALID && s->compressed && !a->stored)
        rc = inflate_section(a, command, f, s);
    if (rc != EXIT_VALID) {
        pcache_free(s->inflated);
        inspect_file_free(f);
    }
    return rc;
}

static void close_section(inspect_file *f, section_ref *s)
{
    pcache_free(s->inflated);
    inspect_file_free(f);
}

/* The byte range --offset and --length select, checked against the
 * section.  Returns EXIT_VALID or EXIT_USAGE (with a message). */
static int select_range(const inspect_args *a, const section_ref *s, uint64_t *off, uint64_t *len)
{
    uint64_t size = s->view.size;

    *off = a->has_offset ? a->offset : 0;
    if (*off > size)
        return inspect_usage_error("--offset %llu (0x%llx) is past the end of %s, which has %llu bytes",
                                   (unsigned long long)*off, (unsigned long long)*off, s->qualified,
                                   (unsigned long long)size);
    *len = size - *off;
    if (a->has_length) {
        if (a->length > *len)
            return inspect_usage_error("--length %llu from offset %llu runs past the end of %s, which has %llu "
                                       "bytes: at most %llu bytes are left there",
                                       (unsigned long long)a->length, (unsigned long long)*off, s->qualified,
                                       (unsigned long long)size, (unsigned long long)*len);
        *len = a->length;
    }
    return EXIT_VALID;
}

static void emit_section_ref(emitter *e, const section_ref *s)
{
    emit_begin(e, "section", EMIT_BLOCK, NULL);
    emit_str(e, "qualified_name", NULL, s->qualified);
    if (s->owner) {
        emit_str(e, "name", NULL, s->view.name);
        emit_str(e, "class", NULL, pcache_class_name(s->owner->seg.cls));
        emit_offset(e, "segment_file_offset", NULL, s->owner->file_offset);
        emit_null(e, "dr_slot");
    } else {
        emit_null(e, "name");
        emit_str(e, "class", NULL, pcache_class_name((pcache_class)s->dr_slot));
        emit_null(e, "segment_file_offset");
        emit_str(e, "dr_slot", NULL, pcache_class_name((pcache_class)s->dr_slot));
    }
    emit_offset(e, "file_offset", NULL, s->file_offset);
    emit_size(e, "size", NULL, s->view.size);
    emit_bool(e, "compressed", NULL, s->compressed);
    emit_bool(e, "inflated", NULL, s->inflated != NULL);
    emit_end(e);
}

/* xxd/hexdump -C style: offset, 16 bytes in two groups, ASCII. */
static void hex_lines(FILE *fp, const uint8_t *p, uint64_t off, uint64_t len)
{
    for (uint64_t line = 0; line < len; line += 16) {
        uint64_t n = len - line < 16 ? len - line : 16;
        fprintf(fp, "%08llx  ", (unsigned long long)(off + line));
        for (uint64_t i = 0; i < 16; i++) {
            if (i < n)
                fprintf(fp, "%02x ", p[line + i]);
            else
                fputs("   ", fp);
            if (i == 7)
                fputc(' ', fp);
        }
        fputs(" |", fp);
        for (uint64_t i = 0; i < n; i++)
            fputc(p[line + i] >= 0x20 && p[line + i] < 0x7f ? p[line + i] : '.', fp);
        fputs("|\n", fp);
    }
}

int cmd_dump(const inspect_args *a)
{
    inspect_file f;
    section_ref s;
    emitter e;
    uint64_t off = 0, len = 0; /* set by select_range; GCC -O3 cannot see it */
    int rc = open_section(a, "dump", &f, &s);

    if (rc != EXIT_VALID)
        return rc;
    if ((rc = select_range(a, &s, &off, &len)) != EXIT_VALID) {
        close_section(&f, &s);
        return rc;
    }
    emit_init(&e, stdout, a->json);
    if (a->json) {
        emit_document_begin(&e, &f, "dump", NULL);
        emit_section_ref(&e, &s);
        emit_offset(&e, "offset", NULL, off);
        emit_size(&e, "length", NULL, len);
        emit_hexbytes(&e, "hex", NULL, (const uint8_t *)s.view.data + off, (size_t)len);
        emit_end(&e);
    } else {
        printf("%s: %llu %sbytes at file offset 0x%llx; bytes [0x%llx, 0x%llx)\n", s.qualified,
               (unsigned long long)s.view.size, s.inflated ? "inflated " : s.compressed ? "stored (compressed) " : "",
               (unsigned long long)s.file_offset, (unsigned long long)off, (unsigned long long)(off + len));
        hex_lines(stdout, (const uint8_t *)s.view.data + off, off, len);
    }
    close_section(&f, &s);
    return finish_output(EXIT_VALID);
}

static int write_all(FILE *fp, const uint8_t *p, uint64_t len)
{
    while (len) {
        size_t chunk = len > (1u << 20) ? (1u << 20) : (size_t)len;
        if (fwrite(p, 1, chunk, fp) != chunk)
            return -1;
        p += chunk;
        len -= chunk;
    }
    return 0;
}

/* Writes len bytes to OUT as output.h says: a regular file in place
 * (truncated, so it keeps its owner and mode; a link is followed), a
 * character device or FIFO as a stream.  Returns 0, or an errno. */
static int write_out(const out_target *t, const uint8_t *p, uint64_t len)
{
    FILE *out;
    int err = 0;

    if (t->kind == OUT_STREAM) {
        out_sink os = {t->fd, 0};
        while (len && !os.err) {
            size_t chunk = len > (1u << 20) ? (1u << 20) : (size_t)len;
            out_sink_write(&os, p, chunk);
            p += chunk;
            len -= chunk;
        }
        return os.err;
    }
    out = fopen(t->path, "wb");
    if (!out)
        return errno;
    if (write_all(out, p, len) != 0)
        err = errno ? errno : EIO;
    if (fclose(out) != 0 && !err)
        err = errno ? errno : EIO;
    return err;
}

int cmd_extract(const inspect_args *a)
{
    inspect_file f;
    section_ref s;
    emitter e;
    out_target t = {OUT_STDOUT, NULL, 0, -1};
    uint64_t off = 0, len = 0;
    char why[512];
    int rc;

    if (a->output && out_resolve(a->output, &t, why, sizeof why) != 0) {
        fprintf(stderr, "%s: %s\n", PROG, why);
        return EXIT_USAGE;
    }
    /* JSON and raw bytes cannot share stdout */
    if (a->json && t.kind == OUT_STDOUT) {
        out_release(&t);
        return inspect_usage_error("extract: --json describes what was written, and needs -o OUT other than "
                                   "standard output");
    }
    if ((rc = open_section(a, "extract", &f, &s)) != EXIT_VALID) {
        out_release(&t);
        return rc;
    }
    if ((rc = select_range(a, &s, &off, &len)) != EXIT_VALID) {
        out_release(&t);
        close_section(&f, &s);
        return rc;
    }
    if (t.kind != OUT_STDOUT) {
        int err = write_out(&t, (const uint8_t *)s.view.data + off, len);
        if (err) {
            fprintf(stderr, "%s: cannot write '%s': %s\n", PROG, a->output, strerror(err));
            out_release(&t);
            close_section(&f, &s);
            return EXIT_USAGE;
        }
        emit_init(&e, stdout, a->json);
        if (a->json) {
            emit_document_begin(&e, &f, "extract", NULL);
            emit_section_ref(&e, &s);
            emit_offset(&e, "offset", NULL, off);
            emit_size(&e, "length", NULL, len);
            emit_str(&e, "output", NULL, a->output);
            emit_end(&e);
        } else {
            printf("wrote %llu bytes of %s to '%s'\n", (unsigned long long)len, s.qualified, a->output);
        }
    } else if (write_all(stdout, (const uint8_t *)s.view.data + off, len) != 0) {
        /* the bytes are the output: nothing else is written there */
        fprintf(stderr, "%s: cannot write the output: %s\n", PROG, strerror(errno));
        out_release(&t);
        close_section(&f, &s);
        return EXIT_USAGE;
    }
    out_release(&t);
    close_section(&f, &s);
    return finish_output(EXIT_VALID);
}
