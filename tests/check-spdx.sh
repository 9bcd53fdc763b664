#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Every source file carries the project's licence identifier (LICENSE):
# C sources and headers, Meson and CMake files, scripts, man page sources.
# Usage: check-spdx.sh SOURCE_ROOT
set -eu
root=${1:?usage: check-spdx.sh SOURCE_ROOT}
cd "$root"
missing=$(find . \( -path ./.git -o -path './build*' -o -path ./fuzz/corpus -o -path ./fuzz/regressions \
                  -o -path ./tests/data -o -path ./subprojects \) -prune -o -type f \
              \( -name '*.c' -o -name '*.h' -o -name meson.build -o -name meson_options.txt \
                 -o -name CMakeLists.txt -o -name '*.cmake.in' -o -name '*.sh' -o -name '*.py' \
                 -o -name '*.1.in' -o -name run \) -print |
          while read -r f; do
              head -n 3 "$f" | grep -q 'SPDX-License-Identifier: BSD-2-Clause' || echo "$f"
          done)
if [ -n "$missing" ]; then
    echo "no SPDX-License-Identifier: BSD-2-Clause line in:"
    echo "$missing"
    exit 1
fi
[ -f LICENSE ] || { echo "no LICENSE file"; exit 1; }
echo "every source file names its licence"
