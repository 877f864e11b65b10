#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of fuzz/targets (see fuzz/README.md).
#   fuzz/run.sh build [TARGET..]       build the targets (MCP_FUZZ=1, -sanitize=fuzzer,address)
#   fuzz/run.sh run SECONDS [TARGET..] fuzz each target for SECONDS; print runs and coverage
#   fuzz/run.sh check TARGET           replay TARGET's corpus, then a fixed, seeded 2000 runs
# Environment: FUZZ_BUILD (default build-fuzz), FUZZ_JOBS (swift build -j).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
scratch=$build/swiftpm
# libFuzzer's own handler must see a crash (it writes the input out): the Swift
# runtime's backtracer would take the signal first, and take its time.
export SWIFT_BACKTRACE=enable=no
# Leak reports that are not leaks (Swift's weak-reference side tables), each with its reason.
export LSAN_OPTIONS=suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0
# Every directory of fuzz/targets (Package.swift declares each with its modules).
mapfile -t targets < <(ls "$root/fuzz/targets")
# Which dictionary of fuzz/dict each target mutates with; jsonrpc when not named.
declare -A dict=([json]=json [cursor]=json [uri-template]=uri [sse]=sse [http-server]=http)
# Per-target libFuzzer options.
# http-server: leak reports after a WebSocket upgrade or a refused request
# (seeds websocket, limits) had two causes, both fixed (fuzz/README.md,
# Findings); leak checks stay off for this target until a fuzz build with the
# fixes has replayed the corpus with them on. Such a build replayed the corpus
# clean on 2026-12-06, but fuzzing with leak checks on then found a third
# cycle (reproducer corpus/http-server/open-leak-upgrade-bad-connection, not
# yet fixed): they stay off here until it is.
declare -A leaks=([http-server]=0)

swift_build() {
  # release: the fuzzer's speed; -enable-testing: targets reach internal types
  # (CursorCodec, Base64URL); -parse-as-library: libFuzzer supplies main().
  local t
  for t in "${targets[@]}"; do
    MCP_FUZZ=1 swift build --package-path "$root" --scratch-path "$scratch" -c release \
      ${FUZZ_JOBS:+-j "$FUZZ_JOBS"} -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing \
      -Xswiftc -parse-as-library --product "fuzz-$t"
  done
}

binary() { echo "$scratch/release/fuzz-$1"; }

# libFuzzer options every run shares: the repository corpus is read, never
# written (new units go to the build directory); crashes land in build-fuzz/crashes.
common_options() {
  local t=$1
  mkdir -p "$build/corpus/$t" "$build/crashes/$t"
  echo "$build/corpus/$t $root/fuzz/corpus/$t -dict=$root/fuzz/dict/${dict[$t]:-jsonrpc}.dict" \
       "-artifact_prefix=$build/crashes/$t/ -rss_limit_mb=2048 -timeout=10 -max_len=65536" \
       "-print_final_stats=1 -detect_leaks=${leaks[$t]:-1}"
}

case "${1:-}" in
  build)
    shift
    [ $# -gt 0 ] && targets=("$@")
    swift_build
    ;;
  run)
    seconds=${2:?seconds}
    shift 2
    [ $# -gt 0 ] && targets=("$@")
    total=0
    for t in "${targets[@]}"; do
      log=$build/logs/$t.log
      mkdir -p "$build/logs"
      status=ok
      # shellcheck disable=SC2046
      ASAN_OPTIONS=detect_leaks=${leaks[$t]:-1} "$(binary "$t")" $(common_options "$t") -max_total_time="$seconds" >"$log" 2>&1 || status="CRASH (see $log)"
      runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
      [ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
      cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
      ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
      corpus=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
      printf '%-16s %12s runs  cov %6s  ft %6s  corpus %6s  %s\n' "fuzz-$t" "${runs:-?}" "${cov:-?}" "${ft:-?}" "${corpus:-?}" "$status"
      total=$((total + ${runs:-0}))
      [ "$status" = ok ] || failed=1
    done
    printf '%-16s %12s runs\n' total "$total"
    [ -z "${failed:-}" ]
    ;;
  check)
    t=${2:?target}
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    # The corpus first (each file once), then 2000 mutations from a fixed seed:
    # the same inputs on every run, so a failure here reproduces.
    ASAN_OPTIONS=detect_leaks=${leaks[$t]:-1} "$(binary "$t")" "$work" "$root/fuzz/corpus/$t" -dict="$root/fuzz/dict/${dict[$t]:-jsonrpc}.dict" \
      -seed=1 -runs=2000 -rss_limit_mb=2048 -timeout=10 -max_len=65536 -artifact_prefix="$work/" -detect_leaks="${leaks[$t]:-1}" 2>&1 | tail -40
    ;;
  *)
    sed -n '2,6p' "$0" >&2
    exit 2
    ;;
esac
