#!/usr/bin/env bash
# One command for every function-invocation figure of issue 4: the pool
# round trip without HTTP (bench/run-invoke.sh: 1 and 2 workers, sequential
# and 128 in flight) and the Lambda API through HTTP (bench/run-invoke-api.sh:
# sync RequestResponse and durable Event, 1 and 2 workers). Their output is
# passed through; the last line is one JSON object with both results and the
# targets checked.
#   bench/invoke.sh [seconds-per-phase] [connections]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
secs=${1:-3}; conns=${2:-64}
echo "== pool round trip (bench/run-invoke.sh $secs)" >&2
pool=$("$here/run-invoke.sh" "$secs" | tail -n 1)
echo "$pool" >&2
echo "== Lambda API through HTTP (bench/run-invoke-api.sh $secs $conns)" >&2
api=$("$here/run-invoke-api.sh" "$secs" "$conns" | tail -n 1)
echo "$api" >&2
jq -cn --argjson pool "$pool" --argjson api "$api" '
  def min2(a; b): if a < b then a else b end;
  def max2(a; b): if a > b then a else b end;
  {bench: "invoke",
   pool_throughput_per_s: min2($pool.w1_throughput_per_s; $pool.w2_throughput_per_s),
   pool_seq_p50_us: max2($pool.w1_seq_p50_us; $pool.w2_seq_p50_us),
   api_sync_p50_us: max2($api.w1.sync_http_p50_us; $api.w2.sync_http_p50_us),
   async_per_s: min2($api.w1.async_per_s; $api.w2.async_per_s),
   targets_met: {
     pool_throughput_ge_50000: (min2($pool.w1_throughput_per_s; $pool.w2_throughput_per_s) >= 50000),
     pool_seq_p50_lt_100us: (max2($pool.w1_seq_p50_us; $pool.w2_seq_p50_us) < 100),
     api_sync_p50_lt_1ms: (max2($api.w1.sync_http_p50_us; $api.w2.sync_http_p50_us) < 1000),
     async_ge_5000: (min2($api.w1.async_per_s; $api.w2.async_per_s) >= 5000)},
   pool: $pool, api: $api}'
