#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Runs the client of cmake-client/ twice under drrun -persist (the options
# of examples/bbcount/run_twice.sh): the first run must persist units and
# resurrect none; the second must resurrect at least as many units as the
# first persisted, each holding what was persisted; neither may find a
# pcache bad.  Nothing is put on LD_LIBRARY_PATH: the client must find
# what it needs by itself.
#   run-dr-client.sh DRRUN CLIENT [APP [ARG...]]     (APP: /bin/true)
set -eu
drrun=$1
client=$2
shift 2
[ $# -gt 0 ] || set -- /bin/true
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
for run in 1 2; do
    if ! env -u LD_LIBRARY_PATH "$drrun" -persist -persist_shared_dir "$dir" -no_persist_per_user \
            -no_validate_owner_dir -coarse_freeze_min_size 0 -c "$client" -- "$@" >"$dir/out$run" 2>&1; then
        echo "FAIL: run $run of $client:"; cat "$dir/out$run"; exit 1
    fi
    echo "--- run $run"; cat "$dir/out$run"
done
counts() {
    sed -n 's/^pcache_client: persisted \([0-9]*\) units, resurrected \([0-9]*\) units, bad \([0-9]*\)$/\1 \2 \3/p' "$1"
}
c1=$(counts "$dir/out1")
c2=$(counts "$dir/out2")
if [ -z "$c1" ] || [ -z "$c2" ]; then
    echo "FAIL: a run printed no counts"; exit 1
fi
# shellcheck disable=SC2086 # six numbers
set -- $c1 $c2
[ "$1" -ge 1 ] || { echo "FAIL: run 1 persisted no unit"; exit 1; }
[ "$2" -eq 0 ] || { echo "FAIL: run 1 resurrected $2 units from an empty directory"; exit 1; }
[ "$5" -ge "$1" ] || { echo "FAIL: run 2 resurrected $5 units, run 1 persisted $1"; exit 1; }
if [ "$3" -ne 0 ] || [ "$6" -ne 0 ]; then
    echo "FAIL: bad pcaches: run 1 $3, run 2 $6"; exit 1
fi
echo "ok: $client: run 1 persisted $1 units, run 2 resurrected $5, checked"
