#!/usr/bin/env bash
# One command: build Release, start a broker with its embedded PostgreSQL
# (fsync and synchronous_commit on) in a temp data dir, run bench-queue.
# usage: bench/queue.sh [--clients 32] [--messages 20000] [--body 256]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_build bench-queue
bench_broker "${SY_BENCH_PORT:-4610}"
"$build/bench/bench-queue" http://127.0.0.1:$port "$@"
