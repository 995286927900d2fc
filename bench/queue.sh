#!/usr/bin/env bash
# One command: build Release, start a broker with its embedded PostgreSQL
# (fsync and synchronous_commit on) in a temp data dir, run bench-queue, whose
# plain-SQL peer phases then run on the same PostgreSQL (its unix socket).
# SY_BENCH_BIN=<binary> measures another broker with this load generator.
# usage: bench/queue.sh [--clients 32] [--seconds 10] [--body 256] [--quick]
#                       [--peer-conns 4,16,32] [--fifo-groups 100]
#                       [--queues 10000] [--phases send,batch,receive,fifo,floor,peer] [--depth 1000000 [--churn-s 600] [--depth-only]]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_build bench-queue
bench_broker "${SY_BENCH_PORT:-4610}"
sockdir=$(sed -n 5p "$data/pg/postmaster.pid")
"$build/bench/bench-queue" http://127.0.0.1:$port "$@" \
  --pg "host=$sockdir port=5432 user=postgres dbname=switchyard"
