#!/usr/bin/env bash
# One command: build Release, start a broker with its embedded PostgreSQL
# (fsync and synchronous_commit on) in a temp data dir, run bench-sfn.
# Case (c) runs 3 function tasks on real `switchyard worker` processes (the
# C echo handler, tests/worker/test_handler.c); SY_BENCH_WORKERS (default 2)
# of them are started here.
# With --pg (given here) it reads PostgreSQL's commit and WAL-sync counters
# per execution and runs the plain-SQL peers (see bench/sfn.c).
# usage: bench/sfn.sh [--clients 8] [--seconds 5] [--c-clients N] [--only abcdpx]
# SY_SKIP_DEPS=1 skips scripts/install-deps; SY_BENCH_BIN runs another
# switchyard binary (e.g. a build of the previous commit, for before/after).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SY_BENCH_BUILD:-$root/build-release}
[ -n "${SY_SKIP_DEPS:-}" ] || "$root/scripts/install-deps"
"$root/scripts/ensure-traversable" "$(dirname "$build")" >/dev/null 2>&1 || true
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target switchyard bench-sfn sy_test_handler >/dev/null
data=$(mktemp -d "$build/bench-data.XXXXXX"); chmod 755 "$data"
port=${SY_BENCH_PORT:-4620}
"${SY_BENCH_BIN:-$build/switchyard}" serve --listen 127.0.0.1:$port --worker-listen tcp://127.0.0.1:$((port+1)) \
  --data-dir "$data" --db-pool-size 40 --log-level warn 2>"$data/broker.log" &
pid=$!
wpids=()
cleanup() { for p in "${wpids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
            kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT
for i in $(seq 1 100); do curl -sf http://127.0.0.1:$port/health >/dev/null && break; sleep 0.2; done
spec="echo=so:$build/tests/worker/sy_test_handler.so:echo,timeout=10,concurrency=32"
for w in $(seq 1 "${SY_BENCH_WORKERS:-2}"); do
  "$build/switchyard" worker --broker tcp://127.0.0.1:$((port+1)) --log-level warn --function "$spec" \
    2>>"$data/worker.log" &
  wpids+=($!)
done
sleep 1
echo "broker pid $pid" >&2
"$build/bench/bench-sfn" http://127.0.0.1:$port --fn echo --pg "host=$data/run port=5432 user=postgres dbname=switchyard" "$@"
