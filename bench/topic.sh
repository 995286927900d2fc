#!/usr/bin/env bash
# One command: build Release, start a broker with its embedded PostgreSQL
# (fsync and synchronous_commit on) in a temp data dir, run bench-topic
# (SNS Publish and PublishBatch to a topic with SQS subscribers).
# usage: bench/topic.sh [--clients 32] [--messages 10000] [--body 256] [--subscribers 2]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_build bench-topic
bench_broker "${SY_BENCH_PORT:-4620}"
"$build/bench/bench-topic" http://127.0.0.1:$port "$@"
