#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Makes the installed libpcache.a from the internal static library: all its
# objects partially linked into one (cc -r), whose hidden symbols (the
# library's internal cross-file functions; everything is compiled with
# -fvisibility=hidden and only the public pcache_* functions are
# PCACHE_API) objcopy then makes local.  So the archive defines as global
# only what libpcache.so exports, and nothing of it can clash with a name
# of the program that links it.
#   static-archive.sh OBJCOPY AR OUT.a IN.a CC [CC_ARGS...]
set -eu
objcopy=$1
ar=$2
out=$3
in=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$@" -r -nostdlib -o "$tmp/pcache.o" -Wl,--whole-archive "$in" -Wl,--no-whole-archive
"$objcopy" --localize-hidden "$tmp/pcache.o"
rm -f "$out"
"$ar" rcs "$out" "$tmp/pcache.o"
