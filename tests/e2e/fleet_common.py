"""Helpers of the fleet tests (issue 11): several brokers on one database,
workers that find them through a name, metrics and the ledger handler."""

import json
import os
import re
import threading
import time

import harness

HANDLER = os.path.join(harness.BUILD_DIR, "tests", "worker", "sy_test_handler.so")
LEDGER_SO = os.path.join(harness.BUILD_DIR, "tests", "worker", "sy_ledger_handler.so")
HB_MS = 200  # registry heartbeat in tests: shares settle within 2 x 200 ms
FLEET_ARGS = ("--fleet-heartbeat-ms", str(HB_MS))


def so(fn, sym, lib=HANDLER, **kw):
    spec = "%s=so:%s:%s" % (fn, lib, sym)
    for k, v in kw.items():
        spec += ",%s=%s" % (k, v)
    return spec


def metric(broker, name, labels=None):
    """A sample of /metrics (sum over series whose labels include `labels`), or 0."""
    _, _, body = broker.http("GET", "/metrics")
    total, found = 0.0, False
    for line in body.decode().splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$", line)
        if not m or m.group(1) != name:
            continue
        if labels and not all('%s="%s"' % kv in (m.group(2) or "") for kv in labels.items()):
            continue
        total += float(m.group(3))
        found = True
    return total if found else 0.0


class FleetCase(harness.SwitchyardTestCase):
    START_BROKER = False

    def brokers(self, n, extra=()):
        return [self.start_broker(extra_args=FLEET_ARGS + tuple(extra)) for _ in range(n)]

    def hosts_file(self, brokers, name="brokers.test"):
        """A hosts(5)-style file naming every broker's worker endpoint."""
        path = os.path.join(self.tmpdir("hosts"), "hosts")
        self.write_hosts(path, brokers, name)
        return path

    @staticmethod
    def write_hosts(path, brokers, name="brokers.test"):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            for b in brokers:
                f.write("127.0.0.1:%d %s\n" % (b.worker_port, name))
        os.replace(tmp, path)

    def fleet_worker(self, hosts, *functions, env=None, extra=()):
        args = ["--broker", "tcp://brokers.test:4567", "--broker-hosts-file", hosts,
                "--broker-resolve-s", "0.3", "--reconnect-ms", "100", "--log-level", "info"] + list(extra)
        for f in functions:
            args += ["--function", f]
        return self.start_worker(*args, env=env)

    def wait_sessions(self, broker, n, timeout=20):
        self.assertEventually(lambda: metric(broker, "switchyard_worker_sessions") == n, timeout,
                              "broker %s: expected %d worker sessions, have %s"
                              % (broker.url, n, metric(broker, "switchyard_worker_sessions")))

    @staticmethod
    def invoke(lam, name, payload):
        r = lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
        body = r["Payload"].read()
        return r, (json.loads(body) if body else None)

    @staticmethod
    def parallel(fns):
        """Run the callables at once; their results (or exceptions) in order."""
        out = [None] * len(fns)

        def run(i, f):
            try:
                out[i] = f()
            except Exception as e:  # noqa: BLE001 - the caller looks at it
                out[i] = e
        ts = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(fns)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        return out

    @staticmethod
    def read_ledger(path):
        """(request id, event) per line the ledger handler wrote."""
        rows = []
        if not os.path.exists(path):
            return rows
        with open(path) as f:
            for line in f:
                rid, _, ev = line.rstrip("\n").partition(" ")
                try:
                    rows.append((rid, json.loads(ev)))
                except ValueError:
                    rows.append((rid, ev))
        return rows


def wait(pred, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()
