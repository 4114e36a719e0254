#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test with ctest.
# Exits non-zero on any failure. With CI=true it also builds and runs the
# whole suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (VIGIL_SKIP_ASAN=1 skips that).
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS="$(nproc)"
banner() { printf '\n=== %s ===\n' "$*"; }

banner "dependencies"
./deploy/install-deps.sh

total_pass=0
total_fail=0
status=0

run_tree() {  # run_tree DIR [cmake args...]
  local dir="$1"; shift
  banner "configure $dir"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  banner "build $dir"
  cmake --build "$dir" -j"$JOBS"
  banner "test $dir"
  local log
  log="$(mktemp)"
  set +e
  ctest --test-dir "$dir" -j2 --output-on-failure --timeout 600 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  local line total failed
  line="$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1 || true)"
  if [ -n "$line" ]; then
    failed="$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")"
    total="$(sed -E 's/.* tests failed out of ([0-9]+).*/\1/' <<<"$line")"
    total_pass=$((total_pass + total - failed))
    total_fail=$((total_fail + failed))
  elif [ "$rc" -ne 0 ]; then
    total_fail=$((total_fail + 1))
  fi
  rm -f "$log"
  if [ "$rc" -ne 0 ]; then status=1; fi
}

run_tree build
if [ "${CI:-}" = "true" ] && [ "${VIGIL_SKIP_ASAN:-}" != "1" ]; then
  # intercept_tls_get_addr=0: GCC 12's sanitizer runtime misreads glibc
  # 2.36's dynamic TLS blocks (of dlopen'd plugins) and LeakSanitizer's
  # tracer then crashes at exit (google/sanitizers#1322); leaks are still
  # checked.
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:intercept_tls_get_addr=0" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    run_tree build-asan -DVIGIL_SANITIZE=ON
fi

# Fuzzing (CI): each libFuzzer target for 60 s (VIGIL_FUZZ_SECONDS), from
# the committed corpus, VIGIL_FUZZ_JOBS (2, one per core) at a time. The
# targets are the list in tests/fuzz/CMakeLists.txt (written at configure
# time to build-fuzz/fuzz-targets.txt). A crash fails the run and leaves its
# input in build-fuzz/crashes/ (commit it under tests/fuzz/corpus/<target>/).
fuzz_one() {  # fuzz_one TARGET: runs it, output in build-fuzz/fuzz-TARGET.log
  local t="$1" work="build-fuzz/corpus-$1"
  mkdir -p "$work"
  cp tests/fuzz/corpus/"$t"/* "$work"/
  "build-fuzz/bin/vigil_fuzz_$t" -max_total_time="${VIGIL_FUZZ_SECONDS:-60}" -max_len=65536 \
    -artifact_prefix="build-fuzz/crashes/$t-" "$work" > "build-fuzz/fuzz-$t.log" 2>&1
}
fuzz_result() {  # fuzz_result TARGET STATUS: prints the result line, counts it
  local t="$1" rc="$2"
  if [ "$rc" -eq 0 ]; then
    echo "fuzz $t: $(grep -E '^Done' "build-fuzz/fuzz-$t.log" | tail -1)"
    total_pass=$((total_pass + 1))
  else
    echo "fuzz $t: FAILED (exit $rc)"; tail -40 "build-fuzz/fuzz-$t.log"
    total_fail=$((total_fail + 1)); status=1
  fi
}
if [ "${CI:-}" = "true" ] && [ "${VIGIL_SKIP_FUZZ:-}" != "1" ]; then
  banner "fuzz"
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_FUZZ=ON >/dev/null
  mapfile -t targets < build-fuzz/fuzz-targets.txt
  cmake --build build-fuzz -j"$JOBS" --target "${targets[@]/#/vigil_fuzz_}"
  mkdir -p build-fuzz/crashes
  fuzz_jobs="${VIGIL_FUZZ_JOBS:-2}"
  for ((i = 0; i < ${#targets[@]}; i += fuzz_jobs)); do
    batch=("${targets[@]:i:fuzz_jobs}")
    pids=()
    for t in "${batch[@]}"; do
      fuzz_one "$t" &
      pids+=($!)
    done
    for j in "${!batch[@]}"; do
      rc=0
      wait "${pids[$j]}" || rc=$?
      fuzz_result "${batch[$j]}" "$rc"
    done
  done
fi

echo
echo "${total_pass} passed, ${total_fail} failed"
exit "$status"
