#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The real-DR test suite in one command (docs/DYNAMORIO.md, "Testing
# against a real DynamoRIO"); CI (.ci/run) runs it too.
#
#   tests/drreal/run-local.sh [release|debug]...      (default: release debug)
#
# For each kind: builds DynamoRIO 11.91 from ../shared/dr (beside the
# checkout) with its build-dr.sh into $PCACHE_DR_PREFIX-KIND (default
# ${TMPDIR:-/tmp}/pcache-dr-KIND; a finished build there is reused),
# configures build-drreal-KIND in the checkout with -Ddynamorio= that
# directory, builds it and runs `meson test --suite drreal`.  Fails when the
# DR source is missing, when DR does not build, when the suite is empty or
# when any test in it fails or is skipped.
#
# Environment: PCACHE_SHARED_DR (the directory holding build-dr.sh; default
# ../shared/dr from the checkout), PCACHE_DR_PREFIX, PCACHE_DRREAL_JOBS
# (parallel jobs; default: the number of CPUs, at most 2), MESON_SETUP_ARGS
# (added to meson setup, e.g. -Dwerror=true), PCACHE_DRREAL_FRESH=1 (start
# the meson build directories from nothing).
set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)
shared=${PCACHE_SHARED_DR:-$src/../shared/dr}
prefix=${PCACHE_DR_PREFIX:-${TMPDIR:-/tmp}/pcache-dr}
ncpu=$(nproc 2>/dev/null || echo 2)
jobs=${PCACHE_DRREAL_JOBS:-$([ "$ncpu" -gt 2 ] && echo 2 || echo "$ncpu")}

if [ $# -eq 0 ]; then
    set -- release debug
fi
for kind in "$@"; do
    case $kind in
        release | debug) ;;
        *) echo "run-local.sh: kind must be release or debug, not '$kind'" >&2; exit 2 ;;
    esac
done

if [ ! -f "$shared/build-dr.sh" ] || [ ! -f "$shared/dynamorio-11.91.0-src.tar.xz" ]; then
    echo "run-local.sh: FAIL: no DynamoRIO source at $shared (build-dr.sh and dynamorio-11.91.0-src.tar.xz);" >&2
    echo "  the real-DR tests need it (set PCACHE_SHARED_DR to its directory)" >&2
    exit 1
fi

# One kind: DR built, meson configured and built, the suite run.
run_kind() {
    kind=$1
    dr=$prefix-$kind
    build=$src/build-drreal-$kind
    echo "==== real DR ($kind): DynamoRIO in $dr, meson build in $build"
    t0=$(date +%s)
    sh "$shared/build-dr.sh" "$dr" "$kind" || return 1
    t1=$(date +%s)
    echo "DynamoRIO ($kind) ready in $((t1 - t0)) s"
    if [ "${PCACHE_DRREAL_FRESH:-0}" = 1 ]; then
        rm -rf "$build"
    fi
    if [ -f "$build/build.ninja" ]; then
        meson configure "$build" -Ddynamorio="$dr" || return 1
    else
        # shellcheck disable=SC2086 # MESON_SETUP_ARGS is a list of words
        meson setup "$build" -Ddynamorio="$dr" ${MESON_SETUP_ARGS:-} || return 1
    fi
    meson compile -C "$build" -j "$jobs" || return 1
    n=$(meson test -C "$build" --list --suite drreal 2>/dev/null | grep -c drreal || true)
    if [ "$n" -lt 15 ]; then
        echo "run-local.sh: FAIL: suite drreal has $n tests in $build, expected 15" >&2
        return 1
    fi
    st=0
    meson test -C "$build" --suite drreal --print-errorlogs --num-processes "$jobs" || st=1
    # meson counts a skipped test as passed: here none may be skipped.
    python3 - "$build/meson-logs/testlog.json" <<'EOF2' || st=1
import json, sys
results = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
bad = ["%s (%s)" % (r["name"], r.get("result")) for r in results if r.get("result") != "OK"]
print("run-local.sh: %d of %d real-DR tests passed" % (len(results) - len(bad), len(results)))
if bad:
    sys.exit("run-local.sh: FAIL: " + ", ".join(bad))
EOF2
    t2=$(date +%s)
    echo "==== real DR ($kind): suite $([ $st = 0 ] && echo passed || echo FAILED) in $((t2 - t1)) s" \
        "(DynamoRIO build $((t1 - t0)) s)"
    return $st
}

failed=
for kind in "$@"; do
    run_kind "$kind" || failed="$failed $kind"
done
if [ -n "$failed" ]; then
    echo "run-local.sh: FAIL: real-DR suite failed with:$failed" >&2
    exit 1
fi
echo "run-local.sh: real-DR suite passed with: $*"
