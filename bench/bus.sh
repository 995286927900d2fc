#!/usr/bin/env bash
# One command: build Release, start a broker with its embedded PostgreSQL
# (fsync and synchronous_commit on) in a temp data dir, run bench-bus.
# usage: bench/bus.sh [--clients 32] [--events 100000] [--batch 10]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SY_BENCH_BUILD:-$root/build-release}
"$root/scripts/install-deps"
"$root/scripts/ensure-traversable" "$(dirname "$build")" >/dev/null 2>&1 || true
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target switchyard bench-bus >/dev/null
data=$(mktemp -d "$build/bench-data.XXXXXX"); chmod 755 "$data"
port=${SY_BENCH_PORT:-4620}
"$build/switchyard" serve --listen 127.0.0.1:$port --worker-listen tcp://127.0.0.1:$((port+1)) \
  --data-dir "$data" --db-pool-size 40 --log-level warn 2>"$data/broker.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for i in $(seq 1 100); do curl -sf http://127.0.0.1:$port/health >/dev/null && break; sleep 0.2; done
"$build/bench/bench-bus" http://127.0.0.1:$port "$@"
