#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# CI: libpcache as other projects get it (issue 13, items 3 to 5), from an
# installed libpcache and a real DynamoRIO:
#
#   .ci/packaging.sh DR_DIR
#
# DR_DIR: a DynamoRIO build or install (bin64/drrun, cmake/), e.g. the one
# .ci/run builds.  Needs meson, ninja, cmake, pkg-config and a C compiler
# ($CC, default cc); runs in a temporary directory (KEEP=1 keeps it).
#
#  1. libpcache built (release, -Dwerror=true, both libraries) and
#     installed into a prefix;
#  2. the installed libpcache.a and libpcache.so define as global only
#     public pcache_* names, the same ones;
#  3. with pkg-config: the README example on the shared library; a shared
#     object on libpcache.a exporting none of its names; the DynamoRIO
#     client of tests/packaging/cmake-client with libpcache-dr.pc, run
#     twice under drrun -persist (tests/packaging/run-dr-client.sh: the
#     second run must resurrect what the first persisted);
#  4. the prefix moved (the CMake package must not depend on where it was
#     installed), with CMake: tests/packaging/cmake-consumer (a program on
#     libpcache::pcache run without LD_LIBRARY_PATH, a program defining
#     libpcache's internal names and a shared object, both on
#     libpcache::pcache_static); the DynamoRIO client built against DR_DIR
#     with libpcache STATIC and SHARED, each run twice under drrun;
#  5. a parent project with libpcache as a subproject, with
#     default_library static and shared: only the library and its headers
#     are built and installed, of the kind asked for.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1/bin64/drrun" ] || [ ! -d "$1/cmake" ]; then
    echo "usage: $0 DR_DIR   (a DynamoRIO build or install: bin64/drrun, cmake/)" >&2
    exit 2
fi
dr=$(cd "$1" && pwd)
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs="${CI_JOBS:-$(nproc)}"
cc=${CC:-cc}
work=$(mktemp -d "${TMPDIR:-/tmp}/pcache-packaging.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    echo "working in $work (kept)"
else
    trap 'rm -rf "$work"' EXIT
fi
start=$SECONDS
step() {
    printf '\n==== packaging: %s (%s, %d s)\n' "$*" "$(date +%T)" $((SECONDS - start))
}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
pkg=$src/tests/packaging

step "1. build and install libpcache"
CC=$cc meson setup "$work/build" "$src" --prefix="$work/prefix" -Dbuildtype=release -Dwerror=true \
    -Ddefault_library=both -Dtests=disabled >"$work/setup.log" || { cat "$work/setup.log"; exit 1; }
meson compile -C "$work/build" -j "$jobs"
meson install -C "$work/build" --quiet
prefix=$work/prefix
libdir=$(dirname "$(find "$prefix" -name libpcache.a)")
[ -f "$libdir/libpcache.a" ] || fail "no libpcache.a installed"
export PKG_CONFIG_PATH=$libdir/pkgconfig
echo "installed: $(cd "$prefix" && find . \( -type f -o -type l \) | sort | tr '\n' ' ')"

step "2. global names of the installed libraries"
sh "$pkg/check-symbols.sh" public "$libdir/libpcache.a" "$libdir/libpcache.so"

step "3. pkg-config users of the installed libpcache"
# The shared library; then libpcache.a named, as the README says, in a
# shared object that must not export its names.
# shellcheck disable=SC2046
"$cc" -o "$work/readme_pc" "$src/tests/tools/readme_example.c" $(pkg-config --cflags --libs libpcache)
LD_LIBRARY_PATH=$libdir "$work/readme_pc"
# shellcheck disable=SC2046
"$cc" -shared -fPIC -o "$work/libexports_pc.so" "$pkg/exports_so.c" $(pkg-config --cflags libpcache) \
    "$(pkg-config --variable=libdir libpcache)/libpcache.a" -Wl,--exclude-libs,libpcache.a \
    $(pkg-config --libs zlib libxxhash libmd)
sh "$pkg/check-symbols.sh" hidden "$work/libexports_pc.so"
# The DynamoRIO client without CMake: libpcache-dr.pc gives the adapter's
# source, DR's defines, the headers and libpcache.a.
mkdir -p "$work/client-pc"
# shellcheck disable=SC2046
"$cc" -shared -fPIC -fno-stack-protector -o "$work/client-pc/libpcache_client.so" \
    $(pkg-config --variable=dr_defines libpcache-dr) -I"$dr/include" \
    "$pkg/cmake-client/pcache_client.c" "$(pkg-config --variable=adapter_source libpcache-dr)" \
    $(pkg-config --cflags --libs libpcache-dr)
sh "$pkg/check-symbols.sh" hidden "$work/client-pc/libpcache_client.so"
sh "$pkg/run-dr-client.sh" "$dr/bin64/drrun" "$work/client-pc/libpcache_client.so"

step "4. CMake users of the installed libpcache, the prefix moved"
# The CMake package finds the install relative to itself.
mv "$prefix" "$work/moved"
prefix=$work/moved
CC=$cc cmake -S "$pkg/cmake-consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" >"$work/consumer.log" \
    || { cat "$work/consumer.log"; exit 1; }
cmake --build "$work/consumer" -j "$jobs"
env -u LD_LIBRARY_PATH "$work/consumer/readme_example"
readelf -d "$work/consumer/readme_example" | grep -q 'NEEDED.*libpcache\.so' \
    || fail "readme_example (libpcache::pcache) does not use libpcache.so"
"$work/consumer/name_clash"
readelf -d "$work/consumer/name_clash" | grep -q 'NEEDED.*libpcache' && fail "name_clash needs a shared libpcache"
sh "$pkg/check-symbols.sh" hidden "$work/consumer/libexports_so.so"
# The DynamoRIO client of tests/packaging/cmake-client, out of tree.  DR's
# package picks its link flags by CMAKE_LINKER, which CMake sets to ld.lld
# for clang when there is one, while clang links with ld: name the linker
# the compiler uses (docs/DYNAMORIO.md, 8).
linker=$("$cc" -print-prog-name=ld)
for link in STATIC SHARED; do
    CC=$cc cmake -S "$pkg/cmake-client" -B "$work/client-$link" -DDynamoRIO_DIR="$dr/cmake" \
        -DCMAKE_LINKER="$linker" -DCMAKE_PREFIX_PATH="$prefix" -DPCACHE_LINK=$link >"$work/client-$link.log" \
        || { cat "$work/client-$link.log"; exit 1; }
    cmake --build "$work/client-$link" -j "$jobs"
    so=$work/client-$link/libpcache_client.so
    if [ $link = STATIC ]; then
        readelf -d "$so" | grep -q 'NEEDED.*libpcache' && fail "$link client needs a shared libpcache"
        sh "$pkg/check-symbols.sh" hidden "$so"
    else
        readelf -d "$so" | grep -q 'NEEDED.*libpcache\.so' || fail "$link client does not use libpcache.so"
    fi
    sh "$pkg/run-dr-client.sh" "$dr/bin64/drrun" "$so"
done

step "5. libpcache as a subproject"
parent=$work/parent
mkdir -p "$parent/subprojects"
cp "$pkg/subproject/meson.build" "$pkg/subproject/main.c" "$parent/"
ln -s "$src" "$parent/subprojects/libpcache"
for kind in static shared; do
    CC=$cc meson setup "$parent/build-$kind" "$parent" --prefix=/usr/local -Ddefault_library=$kind -Dwerror=true \
        --force-fallback-for=libpcache >"$work/parent-$kind.log" || { cat "$work/parent-$kind.log"; exit 1; }
    # Only the library among libpcache's targets, and no test of it.
    targets=$(meson introspect --targets "$parent/build-$kind" \
        | python3 -c 'import json, sys; print(" ".join(sorted(t["name"] for t in json.load(sys.stdin))))')
    echo "targets ($kind): $targets"
    case " $targets " in
        *" pcache-pack "*|*" pcache-inspect "*|*" pcache-bench "*|*" test_"*|*" fuzz_"*)
            fail "subproject ($kind) builds more than the library: $targets" ;;
    esac
    tests=$(meson introspect --tests "$parent/build-$kind" \
        | python3 -c 'import json, sys; print(" ".join(t["name"] for t in json.load(sys.stdin)))')
    [ -z "$tests" ] || fail "subproject ($kind) registers tests: $tests"
    meson compile -C "$parent/build-$kind" -j "$jobs"
    "$parent/build-$kind/pcache-parent"
    DESTDIR=$parent/dest-$kind meson install -C "$parent/build-$kind" --quiet
    files=$(cd "$parent/dest-$kind/usr/local" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort)
    echo "installed ($kind): $(echo "$files" | tr '\n' ' ')"
    extra=$(echo "$files" | grep -Ev '^(bin/pcache-parent|include/pcache/[a-z_]+\.h|lib[^/]*(/[^/]+)?/(libpcache\.(a|so(\.[0-9.]+)?)|pkgconfig/libpcache(-dr)?\.pc|cmake/libpcache/libpcacheConfig(Version)?\.cmake)|share/libpcache/dr/pcache_dr\.c)$' || true)
    [ -z "$extra" ] || fail "subproject ($kind) installs more than the library and its headers: $extra"
    echo "$files" | grep -q '^include/pcache/pcache\.h$' || fail "subproject ($kind): no pcache/pcache.h installed"
    if [ $kind = static ]; then
        echo "$files" | grep -q 'libpcache\.a$' || fail "subproject (static): no libpcache.a"
        echo "$files" | grep -q 'libpcache\.so' && fail "subproject (static) installs libpcache.so"
        readelf -d "$parent/build-$kind/pcache-parent" | grep -q 'NEEDED.*libpcache' \
            && fail "subproject (static): the parent's program needs a shared libpcache"
    else
        echo "$files" | grep -q 'libpcache\.so' || fail "subproject (shared): no libpcache.so"
        echo "$files" | grep -q 'libpcache\.a$' && fail "subproject (shared) installs libpcache.a"
    fi
done
# Asked for, the tools are there.
CC=$cc meson setup "$parent/build-tools" "$parent" -Dlibpcache:tools=enabled --force-fallback-for=libpcache >/dev/null
meson introspect --targets "$parent/build-tools" | grep -q '"pcache-inspect"' \
    || fail "subproject with -Dlibpcache:tools=enabled: no pcache-inspect"

step "all passed in $((SECONDS - start)) s"
