#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Runs examples/bbcount twice under drrun -persist (the options the sample
# .dpc files were made with): the first run persists the program's code and
# bbcount's data at exit; the second must resurrect that data and count
# exactly what the first counted.
#   run_twice.sh DRRUN LIBBBCOUNT APP
set -eu
drrun=$1
client=$2
app=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
range=$("$app" --range)
set -- -persist -persist_shared_dir "$dir" -no_persist_per_user -no_validate_owner_dir -coarse_freeze_min_size 0
for run in 1 2; do
    if ! "$drrun" "$@" -c "$client" -range "$range" -- "$app" >"$dir/out$run" 2>&1; then
        echo "run $run failed:"; cat "$dir/out$run"; exit 1
    fi
    echo "--- run $run"; cat "$dir/out$run"
done
ls -l "$dir" "$dir"/* 2>/dev/null || true
count() { sed -n 's/^bbcount: executed \([0-9]*\) blocks \([0-9]*\) times$/\1 \2/p' "$1"; }
c1=$(count "$dir/out1")
c2=$(count "$dir/out2")
[ -n "$c1" ] || { echo "FAIL: run 1 printed no count"; exit 1; }
[ "$c1" = "$c2" ] || { echo "FAIL: run 2 counted '$c2', run 1 '$c1'"; exit 1; }
grep -q '^bbcount: resurrected 0 units' "$dir/out1" || { echo "FAIL: run 1 resurrected something"; exit 1; }
res=$(sed -n 's/^bbcount: resurrected \([0-9]*\) units, \([0-9]*\) blocks, \([0-9]*\) executions.*/\1 \3/p' "$dir/out2")
units=${res% *}
execs=${res#* }
[ "${units:-0}" -ge 1 ] || { echo "FAIL: run 2 resurrected no unit"; exit 1; }
[ "$execs" = "${c1#* }" ] || { echo "FAIL: run 2 resurrected $execs executions, run 1 counted ${c1#* }"; exit 1; }
echo "ok: both runs counted $c1 (blocks, executions); run 2 resurrected them from the pcache"
