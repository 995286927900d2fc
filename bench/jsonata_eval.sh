#!/bin/sh
# Build Release and run the JSONata evaluator micro-benchmark.
# usage: bench/jsonata_eval.sh [milliseconds-per-expression [prepared]]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out="$src/build-rel"
cmake -S "$src" -B "$out" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out" -j2 --target bench_jsonata_eval >/dev/null
exec "$out/bench/bench_jsonata_eval" "${1:-300}" "${2:-json}"
