#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (ctest).
# With CI=true warnings are errors, the build is the package's flavour (hardened, under /usr),
# an ASan+UBSan build of the test suite runs as well, the .deb is packed from that build and
# checked (scripts/check_package.sh, scripts/operator_quickstart.sh), and
# after the tests every libFuzzer target of fuzz/ runs for a short bounded time
# (scripts/fuzz.sh, CI_FUZZ_SECONDS per target, default 10; 0 skips it): a crash, leak,
# timeout or out-of-memory input fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
jobs=$(nproc)
werror=OFF
package_flavour=()
if [ "${CI:-}" = "true" ]; then
  werror=ON
  # The package's own flavour (scripts/package.sh: hardened, installed under /usr), so the
  # tests run on the binaries the .deb ships and the .deb is packed from this build.
  package_flavour=(-DAUDIT_HARDENING=ON -DCMAKE_INSTALL_PREFIX=/usr)
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAUDIT_WERROR=$werror \
  "${package_flavour[@]}" >/dev/null
cmake --build build -j"$jobs"

if [ "${CI:-}" = "true" ] || [ "${AUDIT_SANITIZE:-}" = "1" ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAUDIT_SANITIZE=ON \
    -DAUDIT_BUILD_BENCH=OFF -DAUDIT_WERROR=$werror >/dev/null
  cmake --build build-asan -j"$jobs"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
  echo "== tests under ASan+UBSan"
  ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 600
fi

echo "== tests"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600

if [ "${CI:-}" = "true" ]; then
  # The .deb: packed by cpack from the build above (what scripts/package.sh builds on its
  # own, without a second compile), lintian, the installed units verified with their
  # installed paths; then
  # the operator quick start of docs/systemd.md followed on this machine (as root only: it
  # installs and purges the package).
  echo "== package checks"
  rm -rf build-package
  cpack --config build/CPackConfig.cmake -G DEB -B build-package >/dev/null
  AUDIT_PACKAGE_DEB=$(echo build-package/audit-replay_*.deb) bash scripts/check_package.sh build-package
  if [ "$(id -u)" -eq 0 ]; then
    echo "== operator quick start"
    bash scripts/operator_quickstart.sh build-package/audit-replay_*.deb
  fi
fi

if [ "${CI:-}" = "true" ] && [ "${CI_FUZZ_SECONDS:-10}" != "0" ]; then
  # Builds build-fuzz/ with clang and replays the seed corpora, which hold the minimised
  # inputs of past findings, then searches a little further. Exits 1 on a finding and
  # prints the reproducer and the command that replays it.
  # CI_FUZZ_TARGETS narrows the run to some targets (default: all six).
  fuzz_targets=${CI_FUZZ_TARGETS:-}
  echo "== fuzzing (${CI_FUZZ_SECONDS:-10}s per target)"
  # shellcheck disable=SC2086  # a list of target names
  FUZZ_SECONDS=${CI_FUZZ_SECONDS:-10} FUZZ_BUILD_JOBS=$jobs bash scripts/fuzz.sh $fuzz_targets
fi

if [ "${CI_TSAN:-}" = "1" ]; then
  # Opt-in (about 25 minutes of building on 2 cores): the threaded suites and the fault
  # suite against a TSan-built daemon; a race report stops the process and fails the run.
  echo "== ThreadSanitizer build"
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS=-fsanitize=thread -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread
  cmake --build build-tsan -j"$jobs" --target webhook_test sink_test http_api_test \
    audit-replayd audit-replayctl e2e_faults_test
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp"
  build-tsan/tests/webhook/webhook_test
  build-tsan/tests/sink/sink_test
  build-tsan/tests/api/http_api_test
  build-tsan/tests/e2e/e2e_faults_test
fi
