# bench/lib.sh - shared by the bench/*.sh scripts: build Release targets and
# start a broker with its own embedded PostgreSQL (fsync and
# synchronous_commit on) in a temporary data dir, stopped on exit.
# usage (sourced): bench_build TARGET...; bench_broker PORT [serve flags...]
# SY_BENCH_BIN runs another switchyard binary (a before/after pair with the
# same load generator: e.g. a Release build of the previous commit)
# sets: root, build, data, port, pid
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SY_BENCH_BUILD:-$root/build-release}

bench_build() {
  if [ "${SY_SKIP_DEPS:-0}" != 1 ]; then "$root/scripts/install-deps"; fi  # as scripts/test and scripts/run
  "$root/scripts/ensure-traversable" "$(dirname "$build")" >/dev/null 2>&1 || true
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j2 --target switchyard "$@" >/dev/null
}

bench_broker() {
  port=$1; shift
  data=$(mktemp -d "$build/bench-data.XXXXXX"); chmod 755 "$data"
  "${SY_BENCH_BIN:-$build/switchyard}" serve --listen 127.0.0.1:$port --worker-listen tcp://127.0.0.1:$((port+1)) \
    --data-dir "$data" --db-pool-size 40 --log-level warn "$@" 2>"$data/broker.log" &
  pid=$!
  trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
  for _ in $(seq 1 150); do curl -sf http://127.0.0.1:$port/health >/dev/null && return 0; sleep 0.2; done
  echo "bench: broker did not become healthy; log: $data/broker.log" >&2
  return 1
}
