#!/usr/bin/env bash
# One command: build Release, start a broker with its embedded PostgreSQL in a
# temp data dir, run bench-jsonata: (a) evaluations/s of typical Step
# Functions expressions, (b) the 10-state chain of bench/sfn.sh in the
# interpreter alone, JSONPath and JSONata, (c) both chains as EXPRESS state
# machines through StartSyncExecution. Last line: one JSON object.
# usage: bench/jsonata.sh [--clients 8] [--seconds 2]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_build bench-jsonata
bench_broker "${SY_BENCH_PORT:-4640}"
"$build/bench/bench-jsonata" "http://127.0.0.1:$port" "$@"
