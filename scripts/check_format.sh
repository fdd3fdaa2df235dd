#!/usr/bin/env bash
# Fails when a tracked C file differs from what clang-format (.clang-format) would write.
set -euo pipefail
cd "$(dirname "$0")/.."
fmt=$(command -v clang-format-14 || command -v clang-format)
bad=0
for f in $(git ls-files '*.c' '*.h'); do
  if ! diff -q <("$fmt" "$f") "$f" >/dev/null; then echo "not formatted: $f (run: make format)"; bad=1; fi
done
[ $bad -eq 0 ] && echo "format: ok"
exit $bad
