#!/usr/bin/env bash
# One command: build Release, start a broker with its embedded PostgreSQL
# (fsync and synchronous_commit on) in a temp data dir, run bench-bus.
# usage: bench/bus.sh [--clients 32] [--events 100000] [--batch 10]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_build bench-bus
bench_broker "${SY_BENCH_PORT:-4620}"
"$build/bench/bench-bus" http://127.0.0.1:$port "$@"
