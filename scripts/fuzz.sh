#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (in build-fuzz/) and runs each for a
# bounded time on a copy of its seed corpus. Exits 1 when any target finds a crash, a leak,
# a timeout or an out-of-memory input, and prints the reproducer's path and the command
# that replays it. The repository's corpus is never written to.
#
#   scripts/fuzz.sh                       # every target, FUZZ_SECONDS (default 20) each
#   FUZZ_SECONDS=60 scripts/fuzz.sh cef_fuzz config_fuzz
#
# Environment:
#   FUZZ_SECONDS     run time per target (default 20)
#   FUZZ_BUILD_DIR   build folder (default build-fuzz)
#   FUZZ_BUILD_JOBS  parallel compile jobs (default 2)
#   FUZZ_OUT_DIR     keep logs, grown corpora and reproducers here (default: a temp folder,
#                    removed when nothing was found)
#   FUZZ_EXTRA_ARGS  more libFuzzer flags, e.g. "-jobs=2 -workers=2" or "-runs=100000"
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-20}
build_jobs=${FUZZ_BUILD_JOBS:-2}
all_targets=(rfc3339_fuzz control_line_fuzz event_time_fuzz ndjson_fuzz config_fuzz cef_fuzz
  cef_parse_fuzz ingest_body_fuzz)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

# The dictionary that helps each target past its syntax (fuzz/dict/).
dict_for() {
  case $1 in
    rfc3339_fuzz) echo rfc3339.dict ;;
    control_line_fuzz) echo control.dict ;;
    config_fuzz) echo yaml.dict ;;
    *) echo json.dict ;;
  esac
}

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi

echo "== configuring $build (clang, AUDIT_BUILD_FUZZERS=ON)"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DAUDIT_BUILD_FUZZERS=ON \
  -DAUDIT_BUILD_TESTS=OFF -DAUDIT_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# One target at a time: a library that does not compile with clang blocks only the targets
# that link it, and is reported as a failure of those.
built=()
failed=()
summary=()
for t in "${targets[@]}"; do
  echo "== building $t"
  if cmake --build "$build" -j"$build_jobs" --target "$t"; then
    built+=("$t")
  else
    echo "!! $t does not build" >&2
    failed+=("$t")
    summary+=("$(printf '%-18s does not build' "$t")")
  fi
done

keep=0
if [ -n "${FUZZ_OUT_DIR:-}" ]; then
  out=$FUZZ_OUT_DIR
  mkdir -p "$out"
  keep=1
else
  out=$(mktemp -d "${TMPDIR:-/tmp}/audit-fuzz.XXXXXX")
fi

# Sanitizer findings must end the run with a report libFuzzer can save.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

for t in "${built[@]}"; do
  corpus=$out/$t/corpus
  artifacts=$out/$t/artifacts
  rm -rf "${corpus:?}" "${artifacts:?}"
  mkdir -p "$corpus" "$artifacts"
  cp "$root/fuzz/corpus/$t/"* "$corpus/"
  log=$out/$t/fuzz.log
  echo "== $t for ${seconds}s"
  status=0
  # stdin from /dev/null: nothing a target does may wait on the terminal.
  # shellcheck disable=SC2086 # FUZZ_EXTRA_ARGS is a list of flags
  "$build/fuzz/$t" "$corpus" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
    -dict="$root/fuzz/dict/$(dict_for "$t")" -artifact_prefix="$artifacts/" \
    -print_final_stats=1 ${FUZZ_EXTRA_ARGS:-} </dev/null >"$log" 2>&1 || status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n1 | grep -o '[0-9]*$' || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | grep -o '[0-9]*$' || true)
  summary+=("$(printf '%-18s executions %-10s coverage %-6s exit %s' "$t" "${execs:-?}" "${cov:-?}" "$status")")
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    echo "!! $t failed (exit $status); log: $log"
    grep -E 'ERROR: |runtime error:|invariant broken|round trip failed|SUMMARY' "$log" | head -n 10 || true
    for f in "$artifacts"/*; do
      [ -e "$f" ] || continue
      echo "!! reproducer: $f"
      echo "!!   replay:   $build/fuzz/$t $f"
    done
    keep=1
  fi
done

echo "== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}; logs, corpora and reproducers in $out" >&2
  exit 1
fi
if [ "$keep" -eq 1 ]; then
  echo "fuzz: no findings; logs and grown corpora in $out"
else
  rm -rf "$out"
  echo "fuzz: no findings"
fi
