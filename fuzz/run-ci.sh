#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# CI's fuzzing step (docs/FUZZING.md).  Builds the fuzz targets with clang
# (libFuzzer, AddressSanitizer, UndefinedBehaviorSanitizer) in their own
# build directory, replays every committed reproducer (fuzz/regressions/)
# and seed (fuzz/corpus/), then fuzzes each target for a bounded time with
# the dictionary and the seeds.  Exits nonzero on any finding, after
# naming the input that caused it.
#
# Environment:
#   FUZZ_SECONDS    seconds of fuzzing per target (default 60)
#   FUZZ_TARGETS    space-separated target names (default: every one built,
#                   i.e. every name in fuzz_target_names, fuzz/meson.build)
#   FUZZ_BUILD_DIR  build directory (default: build-fuzz-ci in the source tree)
#   CC              a clang (default clang)
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$src/build-fuzz-ci}
seconds=${FUZZ_SECONDS:-60}
work=$build/fuzz-work

log() { printf '%s\n' "run-ci.sh: $*"; }

if [ ! -f "$build/build.ninja" ]; then
    CC=${CC:-clang} meson setup "$build" "$src" -Dfuzzing=true -Dtests=disabled
fi
ninja -C "$build" -j2

all_targets() {
    for f in "$build"/fuzz/fuzz_*; do
        if [ -f "$f" ] && [ -x "$f" ]; then basename "$f" | sed 's/^fuzz_//'; fi
    done
}
targets=${FUZZ_TARGETS:-$(all_targets)}
[ -n "$targets" ] || { log "no fuzz targets were built"; exit 1; }

# Make every sanitizer finding fatal; keep ASan's quarantine small, since
# the machine is shared.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:quarantine_size_mb=64:malloc_context_size=20}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# The seeds are make_corpus's output; a difference only means someone
# should regenerate them (the unit test checks that they still load).
mkdir -p "$work"
if "$build/fuzz/make_corpus" "$work/fresh-corpus" >/dev/null && ! diff -rq "$src/fuzz/corpus" "$work/fresh-corpus" >/dev/null; then
    log "note: fuzz/corpus differs from make_corpus's output; regenerate it (docs/FUZZING.md)"
fi
rm -rf "$work/fresh-corpus"

# One target: replay, then fuzz.  Returns nonzero on a finding.
run_target() {
    t=$1
    exe=$build/fuzz/fuzz_$t
    [ -x "$exe" ] || { log "no target $t in $build/fuzz"; return 1; }
    corpus=$work/corpus/$t
    artifacts=$work/artifacts/$t
    rm -rf "$corpus" "$artifacts"
    mkdir -p "$corpus" "$artifacts"
    case $t in
        dpc|inspect) cp "$src"/tests/data/*.dpc "$corpus"/ 2>/dev/null || true ;;
    esac

    # 1. Replay: each committed input once.
    set --
    for f in "$src/fuzz/regressions/$t"/* "$src/fuzz/corpus/$t"/*; do
        [ -f "$f" ] && set -- "$@" "$f"
    done
    if [ $# -gt 0 ]; then
        log "$t: replaying $# committed inputs"
        if ! "$exe" -close_fd_mask=2 -timeout=25 -artifact_prefix="$artifacts/" "$@" >"$artifacts/replay.log" 2>&1; then
            cat "$artifacts/replay.log"
            log "FINDING: $t fails on a committed input (see above); artifacts in $artifacts"
            return 1
        fi
    fi

    # 2. Fuzz.  New inputs go to the work corpus; the committed one is read only.
    log "$t: fuzzing for ${seconds}s"
    if ! "$exe" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -close_fd_mask=2 \
            -dict="$src/fuzz/pcache.dict" -print_final_stats=1 -artifact_prefix="$artifacts/" \
            "$corpus" "$src/fuzz/corpus/$t" >"$artifacts/fuzz.log" 2>&1; then
        tail -n 80 "$artifacts/fuzz.log"
        for a in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
            [ -f "$a" ] && log "FINDING: $t: reproducer $a (replay: $exe $a)"
        done
        log "FINDING: $t failed; full log $artifacts/fuzz.log"
        return 1
    fi
    grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec)' "$artifacts/fuzz.log" | sed "s/^/  $t: /"
    grep -E '^#[0-9]+.*DONE' "$artifacts/fuzz.log" | tail -n 1 | sed "s/^/  $t: /"
}

# The targets in FUZZ_JOBS lanes at once (default: the number of CPUs, at
# most 2), each lane a share of the targets in turn.
lanes=${FUZZ_JOBS:-$(n=$(nproc 2>/dev/null || echo 1); [ "$n" -gt 2 ] && echo 2 || echo "$n")}
status=0
pids=
lane=0
while [ $lane -lt "$lanes" ]; do
    (
        st=0
        k=0
        for t in $targets; do
            if [ $((k % lanes)) -eq $lane ]; then
                run_target "$t" || st=1
            fi
            k=$((k + 1))
        done
        exit $st
    ) &
    pids="$pids $!"
    lane=$((lane + 1))
done
for p in $pids; do
    wait "$p" || status=1
done

[ $status -eq 0 ] && log "no findings in:" $targets
exit $status
