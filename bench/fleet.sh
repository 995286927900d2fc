#!/usr/bin/env bash
# bench/fleet.sh - many brokers as one service (issue 11). Release build,
# one PostgreSQL (the first broker's embedded cluster, fsync and
# synchronous_commit on) shared by 3 brokers, bench_invoke_api as the driver:
#   1. sync Invoke p50/p99 through the broker whose worker hosts the function
#      and through one that holds no worker (the call is handed over through
#      PostgreSQL: sy_fleet_calls + NOTIFY, lambda/fleet.c);
#      the first again with a reserved concurrency (the share check's cost);
#   2. async Invoke (Event, committed before the 202) per second with 1, 2
#      and 3 brokers taking requests at once (a worker connected to all).
# Last line: one JSON object.
#   SY_SKIP_DEPS=1 SY_BENCH_BUILD=$PWD/build-rel bench/fleet.sh [seconds-per-phase] [connections]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SY_BENCH_BUILD:-$root/build-release}
secs=${1:-3}; conns=${2:-48}
base=${SY_BENCH_PORT:-4640}
if [ -z "${SY_SKIP_DEPS:-}" ]; then "$root/scripts/install-deps"; fi
"$root/scripts/ensure-traversable" "$(dirname "$build")" >/dev/null 2>&1 || true
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target switchyard sy_test_handler bench_invoke_api >/dev/null
data=$(mktemp -d "$build/bench-fleet.XXXXXX"); chmod 755 "$data"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$data"
}
trap cleanup EXIT
healthy() { for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.2; done
            echo "bench: broker on $1 did not become healthy (logs in $data)" >&2; return 1; }
broker() { # index, extra serve flags...
  local i=$1; shift
  "$build/switchyard" serve --listen 127.0.0.1:$((base + 10 * i)) --worker-listen tcp://127.0.0.1:$((base + 10 * i + 1)) \
    --data-dir "$data/b$i" --db-pool-size 40 --log-level warn "$@" 2>"$data/broker$i.log" &
  pids+=($!)
  healthy $((base + 10 * i))
}
mkdir -p "$data/b0" "$data/b1" "$data/b2"; chmod 755 "$data"/b*
broker 0
pm="$data/b0/pg/postmaster.pid"
url="host=$(sed -n 5p "$pm") port=$(sed -n 4p "$pm") user=postgres dbname=switchyard"
broker 1 --database-url "$url"
broker 2 --database-url "$url"
spec="echo=so:$build/tests/worker/sy_test_handler.so:echo,timeout=10,concurrency=32"
drv="$build/bench/bench_invoke_api"
out="{\"bench\":\"fleet\",\"seconds\":$secs,\"connections\":$conns"

# 1. sync: a worker on broker 0 only
"$build/switchyard" worker --broker tcp://127.0.0.1:$((base + 1)) --log-level warn --function "$spec" 2>>"$data/worker.log" &
wsync=$!; pids+=($wsync)
sleep 2
own=$("$drv" 127.0.0.1 $base echo "$secs" 1)
other=$("$drv" 127.0.0.1 $((base + 10)) echo "$secs" 1)
echo "sync through the broker with the worker:  $own" >&2
echo "sync through a broker without a worker:   $other" >&2
field() { sed -E "s/.*\"$2\":([0-9.]+).*/\1/" <<<"$1"; }
out="$out,\"sync_own_p50_us\":$(field "$own" sync_http_p50_us),\"sync_own_p99_us\":$(field "$own" sync_http_p99_us)"
out="$out,\"sync_handed_over_p50_us\":$(field "$other" sync_http_p50_us),\"sync_handed_over_p99_us\":$(field "$other" sync_http_p99_us)"
# the cost of cluster-wide concurrency on the sync path: the same with a reservation
curl -sf -X PUT -H 'Content-Type: application/json' -d '{"ReservedConcurrentExecutions":64}' \
  "http://127.0.0.1:$base/2017-10-31/functions/echo/concurrency" >/dev/null
sleep 1.5
res=$("$drv" 127.0.0.1 $base echo "$secs" 1)
echo "sync, own broker, reserved concurrency 64: $res" >&2
out="$out,\"sync_own_reserved_p50_us\":$(field "$res" sync_http_p50_us),\"sync_own_reserved_p99_us\":$(field "$res" sync_http_p99_us)"
curl -sf -X DELETE "http://127.0.0.1:$base/2017-10-31/functions/echo/concurrency" >/dev/null
kill -TERM $wsync; wait $wsync 2>/dev/null || true

# 2. async with 1, 2, 3 brokers taking requests (one worker on all three)
"$build/switchyard" worker --broker tcp://127.0.0.1:$((base + 1)) --broker tcp://127.0.0.1:$((base + 11)) \
  --broker tcp://127.0.0.1:$((base + 21)) --log-level warn --function "$spec" 2>>"$data/worker.log" &
pids+=($!)
sleep 2
for n in 1 2 3; do
  per=$(( (conns + n - 1) / n )); tmp=(); total=0
  for i in $(seq 0 $((n - 1))); do
    "$drv" 127.0.0.1 $((base + 10 * i)) echo "$secs" "$per" async >"$data/async$n-$i.json" &
    tmp+=($!)
  done
  for p in "${tmp[@]}"; do wait "$p"; done
  for i in $(seq 0 $((n - 1))); do
    r=$(field "$(cat "$data/async$n-$i.json")" async_per_s); total=$(awk -v a="$total" -v b="$r" 'BEGIN{print a+b}')
  done
  echo "async with $n broker(s): $total invocations/s" >&2
  out="$out,\"async_per_s_${n}_brokers\":$total"
  sleep 1
done
echo "$out}"
