#!/usr/bin/env bash
# Before/after in one script run: bench/sfn.sh and bench/sfn_cpu.sh for each
# switchyard binary given (e.g. a Release build of main, then this tree's),
# back to back on the same machine, with the load average beside each.
# usage: SY_BENCH_BUILD=dir bench/sfn_ab.sh BIN... [-- sfn.sh args]
# (default args: --clients 8 --c-clients 16 --seconds 5 --only abcpx)
# Last line: one JSON object {"runs":[{"bin","loadavg","sfn":{...},"cpu":{...}}...]}.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bins=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do bins+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--clients 8 --c-clients 16 --seconds 5 --only abcpx)
out="["
for b in "${bins[@]}"; do
  l0=$(cut -d' ' -f1-3 /proc/loadavg)
  s=$(SY_SKIP_DEPS=1 SY_BENCH_BIN="$b" "$root/bench/sfn.sh" "${args[@]}" | tail -1)
  c=$(SY_BENCH_BIN="$b" CC=16 "$root/bench/sfn_cpu.sh" | tail -1)
  l1=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "$b: load $l0 -> $l1" >&2
  out+="{\"bin\":\"$b\",\"loadavg\":\"$l0 / $l1\",\"sfn\":$s,\"cpu\":$c},"
done
echo "${out%,}]" | sed 's/^/{"runs":/; s/$/}/'
