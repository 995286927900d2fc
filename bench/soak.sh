#!/usr/bin/env bash
# Soak: build Release, then bench/soak.py against a broker with its own
# embedded PostgreSQL and one worker running the test C handler: mixed load
# at half of peak for --minutes N, sampled every 10 s (table, then one JSON
# line with each series' trend; exit 1 when one trends up).
# usage: bench/soak.sh [--minutes 30] [--clients 8]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_build sy_test_handler
exec python3 "$root/bench/soak.py" --binary "$build/switchyard" \
  --handler "$build/tests/worker/sy_test_handler.so" "$@"
