#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# CI: the build matrix (issue 13, item 2).  Every meson buildtype (plain,
# debug, debugoptimized, release, minsize) with gcc and with clang, each
# with -Dwerror=true and both libraries (so that libpcache.a is built and
# checked too); the whole test suite on gcc's release build, the others
# compiled only.  Prints how long each build took.
#
#   .ci/buildtypes.sh
#
# Environment: COMPILERS (default "gcc clang"), BUILDTYPES (default all
# five), TEST_BUILDTYPES (default "release") and TEST_COMPILERS (default
# "gcc": .ci/run tests clang's build under the sanitizers), CI_JOBS
# (default nproc).
# Build directories: ${TMPDIR:-/tmp}/pcache-ci-<compiler>-<buildtype>,
# made afresh and removed when they pass (KEEP=1 keeps them).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs="${CI_JOBS:-$(nproc)}"
compilers=${COMPILERS:-gcc clang}
buildtypes=${BUILDTYPES:-plain debug debugoptimized release minsize}
test_buildtypes=" ${TEST_BUILDTYPES:-release} "
test_compilers=" ${TEST_COMPILERS:-gcc} "
summary=()
start=$SECONDS

for compiler in $compilers; do
    for bt in $buildtypes; do
        dir=${TMPDIR:-/tmp}/pcache-ci-$compiler-$bt
        printf '\n==== %s %s (%s)\n' "$compiler" "$bt" "$(date +%T)"
        t0=$SECONDS
        rm -rf "$dir"
        CC=$compiler meson setup "$dir" "$src" -Dbuildtype="$bt" -Dwerror=true -Ddefault_library=both \
            >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
        rm -f "$dir.setup.log"
        meson compile -C "$dir" -j "$jobs"
        what="compiled"
        if [[ $test_buildtypes == *" $bt "* && $test_compilers == *" $compiler "* ]]; then
            meson test -C "$dir" --print-errorlogs --num-processes "$jobs"
            what="compiled and tested"
        fi
        summary+=("$(printf '%-6s %-15s %-20s %4d s' "$compiler" "$bt" "$what" $((SECONDS - t0)))")
        [ "${KEEP:-0}" = 1 ] || rm -rf "$dir"
    done
done

printf '\n==== build matrix: all passed in %d s\n' $((SECONDS - start))
printf '%s\n' "${summary[@]}"
