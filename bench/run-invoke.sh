#!/usr/bin/env bash
# One command: Release build + bench_invoke. Last line of output is JSON.
#   bench/run-invoke.sh [seconds-per-phase]
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
out="$src/build-release"
cmake -S "$src" -B "$out" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out" -j2 --target switchyard sy_test_handler bench_invoke >/dev/null
cd "$out"
SY_BINARY="$out/switchyard" SY_TEST_HANDLER="$out/tests/worker/sy_test_handler.so" \
  exec "$out/bench/bench_invoke" "${1:-3}"
