#!/usr/bin/env bash
# Broker start against a running PostgreSQL: time from exec to the first
# 200 from /health, the broker's CPU time (all threads) by then, and the
# idle RSS a second later. A private cluster
# (scripts/testpg, fsync on) is started once and migrated by a first
# broker; then the broker is started and stopped --runs times. The peer in
# the same run: `psql -c 'SELECT 1'` (exec, connect, one query, exit), the
# floor of any process that starts and reaches the database.
# usage: bench/startup.sh [--runs 20] [--bin label=path ...]
# SY_SKIP_DEPS=1 skips scripts/install-deps; SY_BENCH_BIN runs another binary;
# SY_BENCH_BUILD names the build directory (default build-release).
# --bin (repeatable) compares binaries (e.g. before/after a change) in the
# same run: their starts are interleaved round-robin with the psql peer, so
# load that comes and goes weighs on all of them alike; the first --bin
# migrates the database. The load average is printed before and after.
# Last line: one JSON object.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SY_BENCH_BUILD:-$root/build-release}
runs=20
bins=()
while [ $# -gt 0 ]; do case "$1" in --runs) runs=$2; shift 2;; --bin) bins+=("$2"); shift 2;;
  *) echo "unknown $1" >&2; exit 2;; esac; done
[ -n "${SY_SKIP_DEPS:-}" ] || "$root/scripts/install-deps"
"$root/scripts/ensure-traversable" "$(dirname "$build")" >/dev/null 2>&1 || true
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target switchyard >/dev/null
bin=${SY_BENCH_BIN:-$build/switchyard}
[ ${#bins[@]} -gt 0 ] || bins=("switchyard=$bin")
dir=$(mktemp -d "$build/bench-start.XXXXXX"); chmod 755 "$dir"
port=${SY_BENCH_PORT:-4630}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$dir/sock"; [ "$(id -u)" -ne 0 ] || chown -R postgres:postgres "$dir"; chmod 755 "$dir/sock"
as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 60 \
  -o "-k $dir/sock -c listen_addresses='' -c max_connections=100" start >/dev/null
cleanup() { as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
as_pg "$PGBIN/psql" -h "$dir/sock" -U postgres -qc "CREATE DATABASE switchyard" >/dev/null
url="postgresql://postgres@/switchyard?host=$dir/sock"
python3 - "$url" "$port" "$runs" "$PGBIN/psql" "$dir/sock" "${bins[@]}" <<'EOF'
import json, os, signal, socket, subprocess, sys, time
url, port, runs, psql, sock = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
bins = [a.split("=", 1) for a in sys.argv[6:]]

def healthy():
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=0.05)
    except OSError:
        return False
    try:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
    finally:
        s.close()

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def cpu_ms(pid):
    # CPU time of all the broker's threads so far (schedstat, ns): less
    # sensitive to the machine's load than the wall time
    t = 0
    for d in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{d}/schedstat") as f:
                t += int(f.read().split()[0])
        except OSError:
            pass
    return t / 1e6

def start_once(binary):
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--worker-listen",
                          f"tcp://127.0.0.1:{port + 1}", "--database-url", url, "--log-level", "warn"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not healthy():
        if p.poll() is not None or time.monotonic() - t0 > 30:
            raise SystemExit("broker did not become healthy")
        time.sleep(0.0005)
    ms = (time.monotonic() - t0) * 1000
    cpu = cpu_ms(p.pid)
    time.sleep(1.0)
    rss = rss_kib(p.pid)
    p.send_signal(signal.SIGTERM)
    p.wait()
    return ms, rss, cpu

def psql_once():
    t0 = time.monotonic()
    subprocess.run([psql, "-h", sock, "-U", "postgres", "-d", "switchyard", "-qAtc", "SELECT 1"],
                   stdout=subprocess.DEVNULL, check=True)
    return (time.monotonic() - t0) * 1000

def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])

load_before = loadavg()
start_once(bins[0][1])  # migrates the fresh database; not counted
ms = {label: [] for label, _ in bins}
rss = {label: [] for label, _ in bins}
cpu = {label: [] for label, _ in bins}
peer = []
for _ in range(runs):
    for label, binary in bins:
        a, b, c = start_once(binary)
        ms[label].append(a)
        rss[label].append(b)
        cpu[label].append(c)
    peer.append(psql_once())
med = lambda v: sorted(v)[len(v) // 2]
out = {"runs": runs, "loadavg_before": load_before, "loadavg_after": loadavg(),
       "peer_psql_select1_ms_p50": round(med(peer), 2), "peer_psql_select1_ms_min": round(min(peer), 2)}
for label, _ in bins:
    m = ms[label]
    out[label] = {"start_to_healthy_ms_p50": round(med(m), 2), "start_to_healthy_ms_min": round(min(m), 2),
                  "start_to_healthy_ms_max": round(max(m), 2), "idle_rss_mib_p50": round(med(rss[label]) / 1024, 2),
                  "cpu_to_healthy_ms_p50": round(med(cpu[label]), 1),
                  "start_to_peer": round(med(m) / med(peer), 2)}
    print(f"{label}: start to healthy p50 {out[label]['start_to_healthy_ms_p50']} ms (min {out[label]['start_to_healthy_ms_min']}, "
          f"max {out[label]['start_to_healthy_ms_max']}); CPU to healthy {out[label]['cpu_to_healthy_ms_p50']} ms; "
          f"idle RSS {out[label]['idle_rss_mib_p50']} MiB; "
          f"{out[label]['start_to_peer']}x psql", file=sys.stderr)
print(f"peer psql SELECT 1: p50 {out['peer_psql_select1_ms_p50']} ms; load {out['loadavg_before']} -> {out['loadavg_after']}",
      file=sys.stderr)
print(json.dumps(out))
EOF
