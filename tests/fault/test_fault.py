"""The fault suite (issue 14): real brokers, workers and PostgreSQL under the
mixed load of fault_common.Workload, with faults caused for real, each test
ending with the exact ledger. SY_FAULT_KILLS sets how many broker kills the
kill -9 test makes (20 in `scripts/test`; the label fault-long runs 200)."""

import json
import os
import random
import signal
import subprocess
import threading
import time
import unittest

from fault_common import FleetCase, LEDGER_SO, Ledger, Workload, harness, so

KILLS = int(os.environ.get("SY_FAULT_KILLS", "20"))


def report(name, totals):
    print("\nledger %s: %s" % (name, json.dumps(totals, sort_keys=True)), flush=True)


class FaultCase(FleetCase):
    def fleet(self, nbrokers, nworkers, extra=()):
        bs = self.brokers(nbrokers, extra=extra)
        hosts = self.hosts_file(bs)
        self.ledger = os.path.join(self.tmpdir("ledger"), "ledger")
        ws = [self.fleet_worker(hosts, so("led", "ledger", lib=LEDGER_SO, concurrency=4, timeout=5),
                                env={"SY_LEDGER": self.ledger}) for _ in range(nworkers)]
        for b in bs:
            self.wait_sessions(b, nworkers, timeout=60)
        return bs, ws

    def load(self, w, clients, rounds):
        def run(k):
            try:
                w.run(k, rounds)
            except Exception as e:  # noqa: BLE001 - an answer no fault explains: the ledger fails on it
                with w.lock:
                    w.crashes.append(repr(e))
        ts = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(clients)]
        for t in ts:
            t.start()
        return ts


class TestBrokerKills(FaultCase):
    """kill -9 of a broker at moments drawn from seeds, two brokers up so that
    clients fail over; the killed broker restarts on the same ports."""

    def test_kill9_brokers_under_load(self):
        bs, ws = self.fleet(2, 2)
        w = Workload(self, bs)
        w.setup()
        ts = self.load(w, 3, 10**6)
        kills = []
        try:
            for seed in range(KILLS):
                rnd = random.Random(seed)
                time.sleep(rnd.uniform(0.3, 2.0))
                b = bs[rnd.randrange(len(bs))]
                b.kill9()
                kills.append(b.port)
                time.sleep(rnd.uniform(0.1, 1.0))
                b.start()  # same ports, same database
        finally:
            time.sleep(2)
            w.stop.set()
            for t in ts:
                t.join(120)
        for b in bs:
            self.wait_sessions(b, 2, timeout=60)
        totals = Ledger(self, w, self.ledger, bs[0]).check()
        totals["kills"] = len(kills)
        report("broker kill -9 x%d" % len(kills), totals)
        self.assertGreater(totals["std"]["acked"], 0)


class TestWorkerFaults(FaultCase):
    """A worker killed with -9 mid-invocation, and one stopped with SIGSTOP
    (heartbeats stop, the socket stays open): their work goes to the others."""

    def test_kill9_and_sigstop_workers(self):
        bs, ws = self.fleet(1, 3)
        w = Workload(self, bs)
        w.setup()
        ts = self.load(w, 2, 12)
        time.sleep(2)
        ws[0].kill9()
        time.sleep(1)
        os.kill(ws[1].pid, signal.SIGSTOP)
        try:
            for t in ts:
                t.join(180)
            totals = Ledger(self, w, self.ledger, bs[0]).check()
        finally:
            os.kill(ws[1].pid, signal.SIGCONT)
        report("worker kill -9 + SIGSTOP", totals)
        self.assertEqual(totals["refused"], 0)  # the broker stayed up: every operation acknowledged


class TestDatabaseRestart(FaultCase):
    """PostgreSQL restarted under load, fast and immediate: the broker
    reconnects by itself; requests meanwhile get a retryable error, nothing
    acknowledged is lost; /health says so while it is down."""

    def test_pg_restart_fast_and_immediate(self):
        b = self.start_broker(database_url=None)  # its own embedded cluster, so the fixture is not disturbed
        hosts = self.hosts_file([b])
        self.ledger = os.path.join(self.tmpdir("ledger"), "ledger")
        self.fleet_worker(hosts, so("led", "ledger", lib=LEDGER_SO, concurrency=4, timeout=5),
                          env={"SY_LEDGER": self.ledger})
        self.wait_sessions(b, 1, timeout=60)
        w = Workload(self, [b])
        w.setup()
        ts = self.load(w, 3, 10**6)
        pgdata = os.path.join(b.data_dir, "pg")
        pg_ctl = self.pg_ctl()
        saw_503 = False
        try:
            for mode in ("fast", "immediate"):
                time.sleep(2)
                stop = subprocess.run(self.as_postgres([pg_ctl, "-D", pgdata, "stop", "-m", mode, "-w"]),
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
                self.assertEqual(stop.returncode, 0, stop.stdout)
                st, _, body = b.http("GET", "/health")
                saw_503 = saw_503 or st == 503
                time.sleep(1.5)
                start = subprocess.run(self.as_postgres([pg_ctl, "-D", pgdata, "start", "-w", "-l",
                                                         os.path.join(pgdata, "restart.log")]),
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
                self.assertEqual(start.returncode, 0, start.stdout)
                self.assertEventually(lambda: b.http("GET", "/health")[0] == 200, 60,
                                      "the broker did not reconnect by itself")
        finally:
            time.sleep(2)
            w.stop.set()
            for t in ts:
                t.join(120)
        self.assertTrue(saw_503, "/health did not report the outage")
        self.assertTrue(b.running(), "the broker died with its database")
        totals = Ledger(self, w, self.ledger, b).check()
        totals["errors_answered"] = {"%s %s %d" % k: n for k, n in w.errors_seen.items()}
        report("PostgreSQL restart fast + immediate", totals)
        # what clients were told during the outage: retryable errors in each service's spelling
        allowed = {"ServiceUnavailable", "InternalFailure", "InternalError", "ServiceUnavailableException",
                   "ServiceException", "InternalServerError", "InternalException", "ThrottlingException"}
        for (service, code, status) in w.errors_seen:
            self.assertIn(code, allowed, "%s answered %s (%d) during the outage" % (service, code, status))
            self.assertGreaterEqual(status, 500)

    def pg_ctl(self):
        import glob
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        return bins[-1] if bins else "pg_ctl"

    @staticmethod
    def as_postgres(argv):
        return (["runuser", "-u", "postgres", "--"] + argv) if os.geteuid() == 0 else argv


if __name__ == "__main__":
    unittest.main()
