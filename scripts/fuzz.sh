#!/usr/bin/env bash
# Builds the fuzz targets with clang + libFuzzer (+ ASan/UBSan) and fuzzes each for a bounded time,
# starting from the checked-in corpus. A crash, leak, timeout or sanitizer report fails the run and
# leaves the reproducer in build-fuzz/artifacts/.
# A small ASan quarantine keeps legitimate large constant-folding buffers from adding up past
# libFuzzer's RSS limit over a long run.
# usage: scripts/fuzz.sh [TOTAL_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang-14 -DCMAKE_BUILD_TYPE=Debug -DEI_FUZZ=ON -DEI_BUILD_TESTS=OFF >/dev/null
targets=$(grep -E '^[a-z]' fuzz/targets.txt | awk '{print $1}')
n=$(echo "$targets" | wc -l)
# shellcheck disable=SC2086
cmake --build build-fuzz -j "$(nproc)" --target $targets >/dev/null
mkdir -p build-fuzz/artifacts
for t in $targets; do
  work=$(mktemp -d)
  corpus=$(awk -v t="$t" '$1 == t {print $2}' fuzz/targets.txt)
  cp fuzz/corpus/$corpus/* "$work"/ 2>/dev/null || true
  echo "fuzz: $t for $((secs / n)) s"
  ASAN_OPTIONS=quarantine_size_mb=32:${ASAN_OPTIONS:-} build-fuzz/fuzz/$t -max_total_time=$((secs / n)) -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
    -artifact_prefix=build-fuzz/artifacts/$t- -print_final_stats=1 "$work" 2>build-fuzz/$t.log \
    || { tail -40 build-fuzz/$t.log; echo "fuzz: $t FAILED"; rm -rf "$work"; exit 1; }
  grep -E "stat::number_of_executed_units|stat::new_units_added" build-fuzz/$t.log | tr '\n' ' '; echo
  rm -rf "$work"
done
echo "fuzz: ok"
