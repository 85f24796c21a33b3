#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (ctest).
# With CI=true warnings are errors and an ASan+UBSan build of the tests runs as well.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
jobs=$(nproc)
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAUDIT_WERROR=$werror >/dev/null
cmake --build build -j"$jobs"

if [ "${CI:-}" = "true" ] || [ "${AUDIT_SANITIZE:-}" = "1" ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAUDIT_SANITIZE=ON \
    -DAUDIT_BUILD_BENCH=OFF -DAUDIT_WERROR=$werror >/dev/null
  cmake --build build-asan -j"$jobs"
  echo "== tests under ASan+UBSan"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 600
fi

echo "== tests"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600
