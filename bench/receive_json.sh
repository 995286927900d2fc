#!/bin/sh
# Build Release and time ReceiveMessage's JSON body both ways (issue 15).
# usage: bench/receive_json.sh [rounds]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out="${SY_BENCH_BUILD:-$src/build-release}"
cmake -S "$src" -B "$out" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out" -j2 --target bench_receive_json >/dev/null
exec "$out/bench/bench_receive_json" "${1:-200000}"
