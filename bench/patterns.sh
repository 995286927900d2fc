#!/bin/sh
# Build Release and run the event-pattern matcher benchmark.
# usage: bench/patterns.sh [max-lines]    (data generated once into build-rel/)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
shared="$src/../shared/bench"
out="$src/build-rel"
cmake -S "$src" -B "$out" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out" -j2 --target bench_patterns >/dev/null
data="$out/citylots.jlines.gz"
if [ ! -s "$data" ]; then
    echo "generating $data (synthetic citylots, once)..." >&2
    python3 "$shared/make-citylots.py" "$data.tmp"
    mv "$data.tmp" "$data"
fi
exec "$out/bench/bench_patterns" "$data" "$shared/ruler-cl2-benchmark-rules.json" "${1:-}"
