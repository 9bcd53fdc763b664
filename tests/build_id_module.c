/* SPDX-License-Identifier: BSD-2-Clause */
/* A tiny library for test_build_id, loaded with dlopen(): built several
 * times (tests/meson.build) with and without a build-id note, and with
 * BUILD_ID_PAD, which puts a function before bid_first: the rebuild of
 * issue 12, same name and version, whose functions moved. */
#define BID_EXPORT __attribute__((visibility("default"))) /* the project builds with -fvisibility=hidden */

BID_EXPORT int bid_first(int x);
BID_EXPORT int bid_second(int x);

#ifdef BUILD_ID_PAD
__attribute__((noinline, used)) static int bid_pad(int x)
{
    return x * 5 - 3;
}
#endif

int bid_first(int x)
{
    return x * 3 + 1;
}

int bid_second(int x)
{
    return bid_first(x) ^ 0x5a;
}
