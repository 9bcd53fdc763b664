/* SPDX-License-Identifier: BSD-2-Clause */
/* The program examples/bbcount's drrun test runs: deterministic work in a
 * few blocks.  Built non-PIE, so its code is at the same address in every
 * run.  The counted function has a section of its own, so that the rest of
 * the program's code stays uninstrumented and DR persists it as usual;
 * "--range" prints that section's range for bbcount's -range option. */
#include <stdio.h>
#include <string.h>

/* GNU ld defines these for a section whose name is a C identifier. */
extern char __start_bbcount_work[], __stop_bbcount_work[];

__attribute__((noinline, section("bbcount_work"))) static unsigned long work(int n)
{
    unsigned long s = 0;
    for (int i = 0; i < n; i++)
        s += (i % 3 == 0) ? (unsigned long)i : (unsigned long)i / 2;
    return s;
}

int main(int argc, char **argv)
{
    unsigned long t = 0;
    if (argc > 1 && strcmp(argv[1], "--range") == 0) {
        printf("%p-%p\n", (void *)__start_bbcount_work, (void *)__stop_bbcount_work);
        return 0;
    }
    for (int k = 0; k < 2000; k++)
        t += work(k % 40);
    printf("app: %lu\n", t);
    return 0;
}
