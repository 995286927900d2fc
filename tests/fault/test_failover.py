"""Database failover (issue 14): PostgreSQL as a pg_auto_failover formation
(a monitor and two nodes, synchronous replication), two brokers on the
multi-host URL with target_session_attrs=read-write, the mixed load of
fault_common.Workload. The primary node is killed whole (kill -9 of its
pg_autoctl, postgres and backends) under load; the monitor promotes the
standby; the brokers, never restarted, find the new primary by themselves.
Then the exact ledger: nothing acknowledged is missing. The failover time
(kill -> first acknowledged write) is printed for the note."""

import json
import os
import shutil
import threading
import time
import unittest

from fault_common import LEDGER_SO, Ledger, Workload, drain, harness, so
from fleet_common import FLEET_ARGS
from paf import Formation, pg_autoctl
from test_fault import FaultCase, report

LOAD_BEFORE_S = float(os.environ.get("SY_FAILOVER_LOAD_BEFORE_S", "4"))
LOAD_AFTER_S = float(os.environ.get("SY_FAILOVER_LOAD_AFTER_S", "5"))


class Probe:
    """One SQS send every 50 ms through each broker in turn, every outcome timed:
    the first acknowledged send after the kill, per broker, is the failover
    time that client sees. Its messages are a ledger of their own."""

    def __init__(self, w, brokers):
        self.w, self.brokers = w, brokers
        self.ok = {b.port: [] for b in brokers}  # port -> [(sent, answered)] monotonic times of acknowledged sends
        self.failed = 0
        self.errors = {}  # what a failed send answered -> count
        self.slowest_failure = 0.0
        self.acked = set()
        self.stop = threading.Event()

    def start(self, url):
        self.url = url
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        from botocore.exceptions import BotoCoreError, ClientError
        k = 0
        while not self.stop.is_set():
            b = self.brokers[k % len(self.brokers)]
            body = "probe-%d" % k
            k += 1
            t0 = time.monotonic()
            try:
                self.w.client("sqs", b).send_message(QueueUrl=self.url, MessageBody=body)
                self.ok[b.port].append((t0, time.monotonic()))
                self.acked.add(body)
            except (BotoCoreError, ClientError) as e:
                self.failed += 1
                self.slowest_failure = max(self.slowest_failure, time.monotonic() - t0)
                key = ("%s %d" % (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
                       if isinstance(e, ClientError) else type(e).__name__)
                self.errors[key] = self.errors.get(key, 0) + 1
            time.sleep(0.05)

    def first_ok_after(self, port, t):
        """When the first send made after t was acknowledged (a send in flight at
        t may have committed before it)."""
        return next((done for sent, done in self.ok[port] if sent > t), None)


class TestDatabaseFailover(FaultCase):
    def test_primary_killed_under_load(self):
        if not shutil.which(pg_autoctl()) and not os.path.exists(pg_autoctl()):
            self.fail("pg_autoctl is not installed (scripts/install-deps: postgresql-15-auto-failover)")
        t_setup = time.monotonic()
        f = Formation(self)
        f.create()
        first = f.primary()
        self.assertIsNotNone(first, f.states())
        other_port = [p for p in f.ports if p != first[1]][0]
        # commits wait for the standby: synchronous replication is on before the fault
        self.assertNotEqual(f.node_sql(first[1], "SHOW synchronous_standby_names")[0][0], "")
        self.assertEqual(f.node_sql(first[1], "SELECT sync_state FROM pg_stat_replication")[0][0], "quorum")
        setup_s = time.monotonic() - t_setup

        bs = [self.start_broker(database_url=f.url, extra_args=FLEET_ARGS) for _ in range(2)]
        pids = [b.pid for b in bs]
        hosts = self.hosts_file(bs)
        self.ledger = os.path.join(self.tmpdir("ledger"), "ledger")
        for _ in range(2):
            self.fleet_worker(hosts, so("led", "ledger", lib=LEDGER_SO, concurrency=4, timeout=5),
                              env={"SY_LEDGER": self.ledger})
        for b in bs:
            self.wait_sessions(b, 2, timeout=60)
        w = Workload(self, bs)
        w.setup()
        probe_url = w.client("sqs", bs[0]).create_queue(QueueName="probe")["QueueUrl"]
        probe = Probe(w, bs)
        probe.start(probe_url)
        ts = self.load(w, 3, 10**6)
        t_promoted = None
        try:
            time.sleep(LOAD_BEFORE_S)
            self.assertEqual(w.crashes, [])
            t_kill = time.monotonic()
            f.kill_group(f.procs[first[0]])  # the primary's host is gone: keeper, postgres, backends
            promoted = f.wait_for(lambda: (f.primary() or (None, 0))[1] == other_port, 120)
            t_promoted = time.monotonic()
            self.assertTrue(promoted, "the monitor did not promote the standby: %s" % (f.states(),))
            self.assertEventually(lambda: all(probe.first_ok_after(b.port, t_kill) for b in bs), 60,
                                  "a broker did not write to the new primary by itself")
            time.sleep(LOAD_AFTER_S)
        finally:
            w.stop.set()
            probe.stop.set()
            for t in ts:
                t.join(120)
            probe.t.join(30)
        for b, pid in zip(bs, pids):
            self.assertTrue(b.running() and b.pid == pid, "broker on %d died or was restarted" % b.port)
        # the new primary is the other node, on a new timeline, and the brokers use it
        self.assertEqual(f.primary(), ("node2" if first[0] == "node1" else "node1", other_port))
        self.assertFalse(f.node_sql(other_port, "SELECT pg_is_in_recovery()")[0][0] == "t")

        totals = Ledger(self, w, self.ledger, bs[0]).check()
        got = drain(w.client("sqs", bs[1]), probe_url)
        self.assertEqual(probe.acked - set(got), set(), "acknowledged probe messages lost")
        first_ok = [probe.first_ok_after(b.port, t_kill) - t_kill for b in bs]
        totals["probe"] = {"acked": len(probe.acked), "delivered": len(got), "refused": probe.failed,
                           "answers_refused": probe.errors, "slowest_refusal_s": round(probe.slowest_failure, 2)}
        totals["failover_s"] = {
            "kill_to_promoted": round(t_promoted - t_kill, 2),
            "kill_to_first_write": round(min(first_ok), 2),
            "kill_to_first_write_per_broker": [round(x, 2) for x in first_ok],
            "formation_setup": round(setup_s, 1),
        }
        totals["errors_answered"] = {"%s %s %d" % k: n for k, n in w.errors_seen.items()}
        report("database failover (pg_auto_failover, primary killed)", totals)
        self.assertGreater(totals["std"]["acked"], 0)
        for b in bs:
            self.assertIsNotNone(probe.first_ok_after(b.port, t_promoted))
        print("failover %s" % json.dumps(totals["failover_s"]), flush=True)


if __name__ == "__main__":
    unittest.main()
