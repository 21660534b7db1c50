#!/usr/bin/env bash
# The second README command: installs what is missing, builds, and runs every test:
#   1. the release-style build with -Werror: unit and integration tests;
#   2. the same tests in an AddressSanitizer + UndefinedBehaviorSanitizer build;
#   3. each libFuzzer target for FUZZ_SECONDS (default 30) over its committed corpus.
# Ends with one line "N passed, N failed" summing every test case run.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
scripts/deps.sh
# The browser tests' npm packages, exactly as locked (no browser download: they drive Debian's).
if [ ! -d tests/e2e/node_modules ] || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules ]; then
  echo "== npm ci (tests/e2e)"
  (cd tests/e2e && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

setup() { # dir, meson args...
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}

results=$(mktemp)
trap 'rm -f "$results"' EXIT

run_suite() { # dir, label
  local dir=$1 label=$2 rc=0
  echo "== $label: meson test"
  meson test -C "$dir" --print-errorlogs --num-processes 1 || rc=$?
  python3 scripts/summarize.py "$dir/meson-logs/testlog.json" "$label" >>"$results"
  return $rc
}

status=0

echo "== build (gcc, -Werror)"
setup build --werror
ninja -C build
run_suite build "tests" || status=1

echo "== build (gcc, ASan+UBSan, -Werror)"
setup build-asan --werror -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
ninja -C build-asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build-asan "sanitizers" || status=1

echo "== build (clang, libFuzzer)"
CC=clang setup build-fuzz --werror -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-fuzz
for corpus in tests/fuzz/corpus/*/; do
  name=$(basename "$corpus")
  bin=build-fuzz/tests/fuzz/fuzz_$name
  [ -x "$bin" ] || { echo "fuzz $name: no target"; echo "fuzz_$name 0 1" >>"$results"; status=1; continue; }
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/
  echo "== fuzz $name for ${FUZZ_SECONDS}s"
  if "$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -artifact_prefix=tests/fuzz/ \
      "$work" >"build-fuzz/fuzz_$name.log" 2>&1; then
    grep -E 'stat::number_of_executed_units' "build-fuzz/fuzz_$name.log" || true
    echo "fuzz_$name 1 0" >>"$results"
  else
    tail -40 "build-fuzz/fuzz_$name.log"
    echo "fuzz_$name 0 1" >>"$results"
    status=1
  fi
  rm -rf "$work"
done

awk '{p += $2; f += $3} END {printf "%d passed, %d failed\n", p, f}' "$results"
exit $status
