/* SPDX-License-Identifier: BSD-2-Clause */
/* Fails unless README.md contains the example program verbatim, so that
 * the README's API example is the one that is compiled and run.
 * Usage: readme_in_sync README.md readme_example.c */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    if (!fp || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        perror(path);
        exit(2);
    }
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        perror(path);
        exit(2);
    }
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

int main(int argc, char **argv)
{
    char *readme, *example;
    int found;

    if (argc != 3) {
        fprintf(stderr, "usage: %s README.md EXAMPLE.c\n", argv[0]);
        return 2;
    }
    readme = slurp(argv[1]);
    example = slurp(argv[2]);
    /* the file's licence line is not part of the example */
    if (strncmp(example, "/* SPDX-License-Identifier:", 27) == 0 && strchr(example, '\n'))
        memmove(example, strchr(example, '\n') + 1, strlen(strchr(example, '\n') + 1) + 1);
    found = strlen(example) > 0 && strstr(readme, example) != NULL;
    if (!found)
        fprintf(stderr, "%s does not contain %s verbatim: copy the file into the README's "
                        "API example\n", argv[1], argv[2]);
    free(readme);
    free(example);
    return found ? 0 : 1;
}
