#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Symbol checks on built or installed libraries.
#
#   check-symbols.sh public LIB...   every global name a library defines (an
#       archive's, nm -g; a shared library's exports, nm -D) is a public
#       pcache_* one, and the libraries given all define the same names
#   check-symbols.sh hidden SO...    a shared object exports no pcache_*
#       name (it linked libpcache.a without re-exporting it), and exports
#       something (so that an empty symbol table does not pass)
set -eu
mode=$1
shift
nm=${NM:-nm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
status=0
n=0
for lib; do
    n=$((n + 1))
    case $lib in
        *.a) "$nm" -g --defined-only "$lib" ;;
        *) "$nm" -D --defined-only "$lib" ;;
    esac | awk 'NF == 3 && $3 != "" { print $3 }' | sort -u >"$tmp/$n"
    total=$(wc -l <"$tmp/$n")
    case $mode in
        public)
            if grep -v '^pcache_' "$tmp/$n" >"$tmp/bad"; then
                echo "FAIL: $lib: $(wc -l <"$tmp/bad") global names outside pcache_*:"
                sed 's/^/    /' "$tmp/bad"
                status=1
            elif [ "$total" -eq 0 ]; then
                echo "FAIL: $lib defines no global name"
                status=1
            else
                echo "ok: $lib: $total global names, all pcache_*"
            fi
            if [ "$n" -gt 1 ] && ! cmp -s "$tmp/1" "$tmp/$n"; then
                echo "FAIL: $lib and $1 define other names:"
                diff "$tmp/1" "$tmp/$n" | sed 's/^/    /' || true
                status=1
            fi
            ;;
        hidden)
            if grep '^pcache_' "$tmp/$n" >"$tmp/bad"; then
                echo "FAIL: $lib exports $(wc -l <"$tmp/bad") pcache_* names:"
                sed 's/^/    /' "$tmp/bad"
                status=1
            elif [ "$total" -eq 0 ]; then
                echo "FAIL: $lib exports nothing"
                status=1
            else
                echo "ok: $lib: exports $total names, no pcache_*"
            fi
            ;;
        *)
            echo "usage: check-symbols.sh public|hidden LIB..." >&2
            exit 2
            ;;
    esac
done
exit $status
