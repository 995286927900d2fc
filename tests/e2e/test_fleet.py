"""Many brokers as one service (issue 11), as plain processes on one
PostgreSQL: workers find every broker through one name, a synchronous
invocation is served whichever broker it reaches, concurrency holds across
the fleet, probes and the SIGTERM drain, the backlog signal, once-only
background work with 3 brokers, and the fleet ledger (3 brokers, 4 workers,
SIGTERM and SIGKILL of one of each)."""

import json
import os
import signal
import subprocess
import threading
import time
import unittest

import harness
from fleet_common import FleetCase, HANDLER, LEDGER_SO, metric, so, wait

ROLE = "arn:aws:iam::000000000000:role/r"
FN_ARN = "arn:aws:lambda:us-east-1:000000000000:function:%s"


class FleetForward(FleetCase):
    def test_sync_invoke_reaches_a_worker_through_any_broker(self):
        b1, b2, b3 = self.brokers(3)
        hosts = self.hosts_file([b1])  # the worker knows only b1
        self.fleet_worker(hosts, so("echo", "echo", concurrency=4))
        self.wait_sessions(b1, 1)
        self.assertEqual(metric(b2, "switchyard_worker_sessions"), 0)
        lams = [self.client("lambda", broker=b) for b in (b1, b2, b3)]
        # created by a worker's announcement, seen from brokers it is not connected to
        self.assertEventually(lambda: _exists(lams[2], "echo"), 10)
        for i in range(30):
            lam = lams[i % 3]
            r, body = self.invoke(lam, "echo", {"i": i})
            self.assertEqual(r["StatusCode"], 200)
            self.assertNotIn("FunctionError", r)
            self.assertEqual(body, {"i": i})
        for b in (b2, b3):
            self.assertGreaterEqual(metric(b, "switchyard_fleet_forwarded_total"), 10)
        self.assertGreaterEqual(metric(b1, "switchyard_fleet_served_total"), 20)
        # an EXPRESS state machine's function task, started synchronously on b3
        sfn = self.client("stepfunctions", broker=b3, inject_host_prefix=False)
        d = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN_ARN % "echo", "End": True}}}
        arn = sfn.create_state_machine(name="x", definition=json.dumps(d), roleArn=ROLE,
                                       type="EXPRESS")["stateMachineArn"]
        r = sfn.start_sync_execution(stateMachineArn=arn, input='{"via": "b3"}')
        self.assertEqual(r["status"], "SUCCEEDED", r)
        self.assertEqual(json.loads(r["output"]), {"via": "b3"})
        # and through lambda:invoke with Payload, on b2
        d = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                              "Parameters": {"FunctionName": "echo", "Payload.$": "$"},
                                              "OutputPath": "$.Payload", "End": True}}}
        arn = self.client("stepfunctions", broker=b2, inject_host_prefix=False).create_state_machine(
            name="y", definition=json.dumps(d), roleArn=ROLE, type="EXPRESS")["stateMachineArn"]
        r = self.client("stepfunctions", broker=b2, inject_host_prefix=False).start_sync_execution(stateMachineArn=arn, input='{"k": 1}')
        self.assertEqual(r["status"], "SUCCEEDED", r)
        self.assertEqual(json.loads(r["output"]), {"k": 1})

    def test_busy_workers_on_one_broker_send_calls_to_another(self):
        b1, b2 = self.brokers(2)
        # one worker per broker, one slot each: two slow calls on b1 at once
        # run on both workers
        self.fleet_worker(self.hosts_file([b1]), so("slow", "slow", concurrency=1, timeout=10))
        self.fleet_worker(self.hosts_file([b2]), so("slow", "slow", concurrency=1, timeout=10))
        self.wait_sessions(b1, 1)
        self.wait_sessions(b2, 1)
        time.sleep(0.6)  # both brokers' rows show their credit
        lam = self.client("lambda", broker=b1)
        out = self.parallel([lambda: self.invoke(lam, "slow", {"sleep_ms": 1500})[1] for _ in range(2)])
        pids = {o["pid"] for o in out if isinstance(o, dict)}
        self.assertEqual(len(pids), 2, out)
        # they overlapped: both ran at once
        (s1, e1), (s2, e2) = [(o["start_us"], o["end_us"]) for o in out]
        self.assertLess(max(s1, s2), min(e1, e2), out)


def _exists(lam, name):
    try:
        lam.get_function(FunctionName=name)
        return True
    except Exception:  # noqa: BLE001
        return False


class FleetConcurrency(FleetCase):
    def test_reserved_concurrency_holds_across_brokers(self):
        b1, b2 = self.brokers(2)
        for b in (b1, b2):  # a worker on each broker, 4 slots each
            self.fleet_worker(self.hosts_file([b]), so("slow", "slow", concurrency=4, timeout=10))
        self.wait_sessions(b1, 1)
        self.wait_sessions(b2, 1)
        lam1, lam2 = self.client("lambda", broker=b1), self.client("lambda", broker=b2)
        self.assertEventually(lambda: _exists(lam1, "slow"), 10)
        lam1.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=2)
        time.sleep(1.5)  # config cache (1 s) and two heartbeats

        def call(lam):
            try:
                return self.invoke(lam, "slow", {"sleep_ms": 2000})[1]
            except lam.exceptions.TooManyRequestsException:
                return "throttled"
        out = self.parallel([lambda l=l: call(l) for l in (lam1, lam2) * 3])
        ran = [o for o in out if isinstance(o, dict)]
        self.assertEqual(len(ran), 2, out)
        self.assertEqual(out.count("throttled"), 4, out)
        # never more than 2 at once, whichever broker ran them
        events = sorted([(o["start_us"], 1) for o in ran] + [(o["end_us"], -1) for o in ran])
        level = peak = 0
        for _, d in events:
            level += d
            peak = max(peak, level)
        self.assertLessEqual(peak, 2)
        # unreserved again: six at once run (4 + 4 slots over two brokers)
        lam1.delete_function_concurrency(FunctionName="slow")
        time.sleep(1.5)
        out = self.parallel([lambda l=l: call(l) for l in (lam1, lam2) * 3])
        self.assertEqual(len([o for o in out if isinstance(o, dict)]), 6, out)

    def test_account_concurrency_holds_across_brokers(self):
        b1, b2 = self.brokers(2, extra=("--account-concurrency", "2"))
        for b in (b1, b2):
            self.fleet_worker(self.hosts_file([b]), so("slow", "slow", concurrency=4, timeout=10))
        self.wait_sessions(b1, 1)
        self.wait_sessions(b2, 1)
        lam1, lam2 = self.client("lambda", broker=b1), self.client("lambda", broker=b2)
        self.assertEventually(lambda: _exists(lam1, "slow"), 10)
        time.sleep(1.0)

        def call(lam):
            try:
                return self.invoke(lam, "slow", {"sleep_ms": 2000})[1]
            except lam.exceptions.TooManyRequestsException:
                return "throttled"
        out = self.parallel([lambda l=l: call(l) for l in (lam1, lam2) * 3])
        self.assertEqual(len([o for o in out if isinstance(o, dict)]), 2, out)


class FleetWorkersResolve(FleetCase):
    def test_worker_joins_and_leaves_brokers_by_name(self):
        b1, b2, b3 = self.brokers(3)
        hosts = self.hosts_file([b1, b2])
        w = self.fleet_worker(hosts, so("slow", "slow", concurrency=4, timeout=10))
        self.wait_sessions(b1, 1)
        self.wait_sessions(b2, 1)
        self.assertEqual(metric(b3, "switchyard_worker_sessions"), 0)
        # a new address under the name: the worker joins it
        self.write_hosts(hosts, [b1, b2, b3])
        self.wait_sessions(b3, 1)
        # the slots are shared: 4 over 3 brokers
        self.assertEventually(lambda: sum(metric(b, "switchyard_worker_credit") for b in (b1, b2, b3)) == 4, 10)
        # an address gone from the name while it runs an invocation: the
        # worker finishes it there, then leaves
        lam2 = self.client("lambda", broker=b2)
        self.assertEventually(lambda: _exists(lam2, "slow"), 10)
        box = {}
        t = threading.Thread(target=lambda: box.update(r=self.invoke(lam2, "slow", {"sleep_ms": 1500})))
        t.start()
        self.assertEventually(lambda: metric(b2, "switchyard_worker_inflight") == 1, 10)
        self.write_hosts(hosts, [b1, b3])
        t.join(30)
        r, body = box["r"]
        self.assertNotIn("FunctionError", r, body)
        self.assertEqual(body["pid"], w.pid)
        self.wait_sessions(b2, 0)
        # its slots went to the others
        self.assertEventually(lambda: metric(b1, "switchyard_worker_credit") + metric(b3, "switchyard_worker_credit") == 4,
                              10)
        # b2 still serves the function, through b1 or b3
        r, body = self.invoke(lam2, "slow", {"sleep_ms": 1})
        self.assertEqual(body["pid"], w.pid)
        self.assertIn("joined", w.log_text())
        self.assertIn("broker left", w.log_text())


class FleetProbes(FleetCase):
    def probe(self, broker, what):
        p = subprocess.run([harness.BINARY, "probe", what, "--listen", "127.0.0.1:%d" % broker.port],
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stderr.strip()

    def test_ready_live_and_drain(self):
        (b,) = self.brokers(1, extra=("--drain-delay-s", "6", "--drain-timeout-s", "20"))
        self.assertEqual(self.probe(b, "ready"), (0, "ready: ok"))
        self.assertEqual(self.probe(b, "live"), (0, "live: ok"))
        _, _, body = b.http("GET", "/metrics")
        self.assertIn("switchyard_loop_heartbeat_age_seconds{loop=\"worker-pool\"}", body.decode())
        # a migration not applied: not ready, says why
        harness.psql("DELETE FROM sy_schema_migrations WHERE version = 6", db=self.db)
        rc, why = self.probe(b, "ready")
        self.assertEqual(rc, 1)
        self.assertIn("1 migration(s) not applied", why)
        harness.psql("INSERT INTO sy_schema_migrations (version, name) VALUES (6, '006_fleet.sql')", db=self.db)
        self.assertEqual(self.probe(b, "ready")[0], 0)
        # SIGTERM: readiness fails at once, requests are still served for the delay
        b.signal(signal.SIGTERM)
        self.assertEventually(lambda: self.probe(b, "ready")[0] == 1, 5)
        self.assertIn("draining", self.probe(b, "ready")[1])
        self.assertEqual(b.http("GET", "/health")[0], 200)
        sqs = self.client("sqs", broker=b)
        sqs.create_queue(QueueName="still-served")
        self.assertEqual(b.wait(30), 0)
        rc, why = self.probe(b, "ready")
        self.assertEqual(rc, 1)
        self.assertIn("cannot connect", why)
        rc, why = self.probe(b, "nonsense")
        self.assertEqual(rc, 2)

    def test_worker_drains_on_sigterm(self):
        (b,) = self.brokers(1)
        w = self.fleet_worker(self.hosts_file([b]), so("slow", "slow", concurrency=2, timeout=10))
        self.wait_sessions(b, 1)
        lam = self.client("lambda", broker=b)
        self.assertEventually(lambda: _exists(lam, "slow"), 10)
        box = {}
        t = threading.Thread(target=lambda: box.update(r=self.invoke(lam, "slow", {"sleep_ms": 1500})))
        t.start()
        self.assertEventually(lambda: metric(b, "switchyard_worker_inflight") == 1, 10)
        w.signal(signal.SIGTERM)
        t.join(30)
        self.assertEqual(box["r"][1]["pid"], w.pid)  # in-flight work finished
        self.assertEqual(w.wait(30), 0)
        self.assertIn("drained, goodbye", w.log_text())


class FleetBacklog(FleetCase):
    def test_queue_and_function_backlog(self):
        b1, b2 = self.brokers(2)
        sqs = self.client("sqs", broker=b1)
        url = sqs.create_queue(QueueName="depth")["QueueUrl"]
        for i in range(5):
            sqs.send_message(QueueUrl=url, MessageBody=str(i))
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)
        lam = self.client("lambda", broker=b1)
        lam.create_function(FunctionName="pending", Runtime="provided.al2", Role=ROLE, Handler="x",
                            Code={"ZipFile": b"x"}, Timeout=5)
        lam.create_function(FunctionName="other", Runtime="provided.al2", Role=ROLE, Handler="x",
                            Code={"ZipFile": b"x"}, Timeout=5)
        for i in range(7):  # nobody hosts them: they wait in the function's queue
            lam.invoke(FunctionName="pending", InvocationType="Event", Payload=b'{"n": %d}' % i)
        lam.invoke(FunctionName="other", InvocationType="Event", Payload=b"{}")

        def keda(broker, q):
            st, _, body = broker.http("GET", "/keda/backlog" + q)
            self.assertEqual(st, 200)
            return json.loads(body)
        # any broker answers, unsigned, the same
        for b in (b1, b2):
            self.assertEqual(keda(b, "?functions=pending"),
                             {"backlog": 7, "queued": 7, "inflight": 0, "functions": 1})
        self.assertEqual(keda(b2, "?functions=pending%2Cother,missing"),
                         {"backlog": 8, "queued": 8, "inflight": 0, "functions": 2})
        self.assertEqual(keda(b2, "")["backlog"], 8)
        self.assertEqual(metric(b2, "switchyard_function_backlog", {"function": "pending", "state": "queued"}), 7)
        self.assertEqual(metric(b2, "switchyard_queue_messages", {"queue": "depth", "state": "visible"}), 3)
        self.assertEqual(metric(b2, "switchyard_queue_messages", {"queue": "depth", "state": "inflight"}), 2)
        self.assertEqual(metric(b2, "switchyard_queue_messages", {"queue": "depth", "state": "delayed"}), 1)
        # internal queues are not listed as queues
        self.assertEqual(metric(b2, "switchyard_queue_messages", {"queue": "__fn_pending"}), 0)
        # a worker takes the work: the backlog drains (refreshed at most once a second)
        hosts = self.hosts_file([b1, b2])
        self.fleet_worker(hosts, so("pending", "echo", concurrency=2), so("other", "echo"))
        self.assertEventually(lambda: keda(b1, "?functions=pending,other")["backlog"] == 0, 30)
        self.assertEventually(
            lambda: metric(b1, "switchyard_function_backlog", {"function": "pending", "state": "queued"}) == 0, 10)


if __name__ == "__main__":
    unittest.main()
