#!/usr/bin/env bash
# One command: Release build, a broker with its embedded PostgreSQL (fsync
# on) in a temp dir, 1 then 2 workers running the C echo handler, and
# bench_invoke_api: sync Invoke p50 through HTTP and durable async (Event)
# invocations per second. Last line: one JSON object.
#   bench/run-invoke-api.sh [seconds-per-phase] [connections]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SY_BENCH_BUILD:-$root/build-release}
"$root/scripts/ensure-traversable" "$(dirname "$build")" >/dev/null 2>&1 || true
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target switchyard sy_test_handler bench_invoke_api >/dev/null
secs=${1:-3}; conns=${2:-64}
data=$(mktemp -d "$build/bench-data.XXXXXX"); chmod 755 "$data"
port=${SY_BENCH_PORT:-4620}
"$build/switchyard" serve --listen 127.0.0.1:$port --worker-listen tcp://127.0.0.1:$((port+1)) \
  --data-dir "$data" --db-pool-size 40 --log-level warn 2>"$data/broker.log" &
bpid=$!
wpids=()
cleanup() { for p in "${wpids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
            kill -TERM $bpid 2>/dev/null; wait $bpid 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT
for i in $(seq 1 150); do curl -sf http://127.0.0.1:$port/health >/dev/null && break; sleep 0.2; done
spec="echo=so:$build/tests/worker/sy_test_handler.so:echo,timeout=10,concurrency=32"
out="{\"bench\":\"invoke_api\""
for w in 1 2; do
  "$build/switchyard" worker --broker tcp://127.0.0.1:$((port+1)) --log-level warn --function "$spec" \
    2>>"$data/worker.log" &
  wpids+=($!)
  sleep 1
  r=$("$build/bench/bench_invoke_api" 127.0.0.1 $port echo "$secs" "$conns")
  echo "workers=$w $r" >&2
  out="$out,\"w$w\":$r"
done
echo "$out}"
