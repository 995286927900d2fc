#!/usr/bin/env bash
# Where the cores go in bench-sfn's case (c) STANDARD (3 C-handler tasks on
# 2 real workers): CPU ms per execution of the broker, the workers and every
# process of the embedded PostgreSQL (utime+stime from /proc/<pid>/stat,
# across the whole phase with its drain). Uses an already built Release
# tree (bench/sfn.sh builds one).
# ONLY=p measures case (p) instead (100 Pass states, STANDARD, 8 clients).
# usage: [SY_BENCH_BUILD=dir] [SY_BENCH_BIN=binary] [CC=32] [SECS=5] [ONLY=c|p] bench/sfn_cpu.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SY_BENCH_BUILD:-$root/build-release}; port=${SY_BENCH_PORT:-4624}
data=$(mktemp -d "$build/bench-data.XXXXXX"); chmod 755 "$data"
"${SY_BENCH_BIN:-$build/switchyard}" serve --listen 127.0.0.1:$port --worker-listen tcp://127.0.0.1:$((port+1)) --data-dir "$data" --db-pool-size 40 --log-level warn 2>"$data/broker.log" &
pid=$!
wpids=()
cleanup() { for p in "${wpids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT
for i in $(seq 1 100); do curl -sf http://127.0.0.1:$port/health >/dev/null && break; sleep 0.2; done
spec="echo=so:$build/tests/worker/sy_test_handler.so:echo,timeout=10,concurrency=32"
for w in 1 2; do "$build/switchyard" worker --broker tcp://127.0.0.1:$((port+1)) --log-level warn --function "$spec" 2>>"$data/worker.log" & wpids+=($!); done
sleep 1
pm=$(head -1 "$data/pg/postmaster.pid")
ticks() { local s=0; for p in "$@"; do [ -r /proc/$p/stat ] && s=$((s + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $s; }
pgs() { echo $pm $(pgrep -P $pm); }
b0=$(ticks $pid); w0=$(ticks "${wpids[@]}"); p0=$(ticks $(pgs)); t0=$(date +%s.%N)
"$build/bench/bench-sfn" http://127.0.0.1:$port --fn echo --only ${ONLY:-c} --clients 8 --c-clients ${CC:-32} --seconds ${SECS:-5} 2>&1 | grep "^(c) 3 tasks standard\|^(p)" >&2
b1=$(ticks $pid); w1=$(ticks "${wpids[@]}"); p1=$(ticks $(pgs)); t1=$(date +%s.%N)
n=$(curl -s http://127.0.0.1:$port/metrics | awk '/^switchyard_sfn_executions_started_total/ {s+=$2} END {print s}')
inl=$(curl -s http://127.0.0.1:$port/metrics | awk '/^switchyard_sfn_inline_steps_total/ {print $2}')
hz=$(getconf CLK_TCK)
ms() { echo "scale=2; ($1) * 1000 / $hz / $n" | bc; }
echo "executions $n; CPU ms per execution: broker $(ms $b1-$b0), workers $(ms $w1-$w0), postgres $(ms $p1-$p0); inline steps ${inl:-0}" >&2
printf '{"executions":%s,"wall_s":%s,"cpu_ms_per_execution":{"broker":%s,"workers":%s,"postgres":%s},"inline_steps":%s}\n' \
  "$n" "$(echo "$t1 - $t0" | bc)" "$(ms $b1-$b0)" "$(ms $w1-$w0)" "$(ms $p1-$p0)" "${inl:-0}"
