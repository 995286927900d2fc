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
        # the second call starts while the first holds b1's only slot
        out = self.parallel([lambda: self.invoke(lam, "slow", {"sleep_ms": 2000})[1],
                             lambda: time.sleep(0.5) or self.invoke(lam, "slow", {"sleep_ms": 1000})[1]])
        pids = {o["pid"] for o in out if isinstance(o, dict)}
        self.assertEqual(len(pids), 2, out)
        # they overlapped: both ran at once
        (s1, e1), (s2, e2) = [(o["start_us"], o["end_us"]) for o in out]
        self.assertLess(max(s1, s2), min(e1, e2), out)


class FleetLostBroker(FleetCase):
    """A call handed to a broker that dies: never left waiting for its deadline."""

    def test_call_handed_to_a_stopped_broker_is_sent_again(self):
        # heartbeats of 500 ms: b1 still counts b2 as alive for ~1.5 s after b2 stops
        b1, b2, b3 = self.brokers(3, extra=("--fleet-heartbeat-ms", "500"))
        w2 = self.fleet_worker(self.hosts_file([b2]), so("slow", "slow", concurrency=8, timeout=10))
        self.wait_sessions(b2, 1)
        lam = self.client("lambda", broker=b1)
        self.assertEventually(lambda: _exists(lam, "slow"), 10)
        # b2's row shows room, and b1 has read it
        self.assertEventually(lambda: _rooms(self.db, "slow") == [True], 20)
        time.sleep(1.1)
        r, body = self.invoke(lam, "slow", {"sleep_ms": 10})  # the path works: through b2, the only host
        self.assertNotIn("FunctionError", r, body)
        self.assertEqual(body["pid"], w2.pid)
        self.assertEqual(metric(b1, "switchyard_fleet_resent_total") or 0, 0)
        b2.signal(signal.SIGSTOP)  # frozen: it claims nothing, its heartbeat stops
        out = {}

        def call():
            t0 = time.time()
            out["r"] = self.invoke(lam, "slow", {"sleep_ms": 10})
            out["took"] = time.time() - t0
        t = threading.Thread(target=call)
        try:
            t.start()  # handed to b2, the only broker whose worker hosts it
            time.sleep(0.3)
            # a worker on b3 starts hosting it meanwhile
            w3 = self.fleet_worker(self.hosts_file([b3], name="brokers.test"),
                                   so("slow", "slow", concurrency=1, timeout=10))
            t.join(60)
        finally:
            b2.kill9()
        r, body = out["r"]
        self.assertNotIn("FunctionError", r, body)
        self.assertEqual(body["pid"], w3.pid, "run by the worker on b3")
        # sent again once b2 was seen gone; b3 may answer "no room yet" while
        # its share settles (then once more after the next heartbeat)
        self.assertGreaterEqual(metric(b1, "switchyard_fleet_resent_total"), 1)
        self.assertEqual(metric(b1, "switchyard_fleet_lost_total") or 0, 0)
        self.assertLess(out["took"], 15, "sent again once b2 was seen gone, not at the deadline")

    def test_call_running_on_a_killed_broker_fails_at_once_as_a_service_error(self):
        b1, b2 = self.brokers(2)
        self.fleet_worker(self.hosts_file([b2]), so("slow", "slow", concurrency=2, timeout=60))
        self.wait_sessions(b2, 1)
        lam = self.client("lambda", broker=b1)  # no SDK retries: the test sees the first answer
        self.assertEventually(lambda: _exists(lam, "slow"), 10)
        time.sleep(0.6)
        out = {}

        def call():
            try:
                out["r"] = self.invoke(lam, "slow", {"sleep_ms": 8000})
            except Exception as e:  # noqa: BLE001
                out["e"] = e
            out["t"] = time.time()
        t = threading.Thread(target=call)
        t.start()
        self.assertEventually(lambda: (metric(b2, "switchyard_fleet_served_total") or 0) >= 1, 10)
        time.sleep(0.3)
        killed = time.time()
        b2.kill9()
        t.join(90)
        self.assertIn("e", out, "the call answered: %s" % out.get("r"))
        err = out["e"].response
        # the function may have run on the worker that survives: the outcome is
        # unknown, so a retryable service error (SDKs retry 5xx), not a timeout
        self.assertEqual(err["Error"]["Code"], "ServiceException", err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 500, err)
        self.assertLess(out["t"] - killed, 15, "answered once b2 was seen gone, not at the 60 s deadline")
        self.assertEqual(metric(b1, "switchyard_fleet_lost_total"), 1)


def _rooms(db, fn):
    """Per live broker row hosting fn: does it show room for it?"""
    rows = harness.psql("SELECT (functions -> '%s' ->> 'r')::int FROM sy_brokers "
                        "WHERE functions ? '%s' AND NOT draining ORDER BY id" % (fn, fn), db=db)
    return [int(r[0]) != 0 for r in rows]


class FleetJoin(FleetCase):
    def test_calls_while_brokers_start_hosting_are_not_refused(self):
        # 1 s heartbeats: shares settle two heartbeats after a broker starts hosting
        b1, b2, b3 = self.brokers(3, extra=("--fleet-heartbeat-ms", "1000"))
        w0 = self.fleet_worker(self.hosts_file([b2]), so("slow", "slow", concurrency=4, timeout=10))
        self.wait_sessions(b2, 1)
        lam = self.client("lambda", broker=b1)
        self.assertEventually(lambda: _exists(lam, "slow"), 10)
        self.assertEqual(w0.terminate(), 0)  # the function exists; nobody hosts it now
        self.wait_sessions(b2, 0)
        time.sleep(2.5)  # every registry row says so
        # one worker starts hosting it on b2 and b3 at once: each sees the
        # other hosting, neither holds a settled share yet
        self.fleet_worker(self.hosts_file([b2, b3], name="brokers.test"),
                          so("slow", "slow", concurrency=4, timeout=10))
        self.wait_sessions(b2, 1)
        self.wait_sessions(b3, 1)
        out = self.parallel([lambda i=i: self.invoke(lam, "slow", {"sleep_ms": 10})[1] for i in range(6)])
        bad = [o for o in out if not isinstance(o, dict) or "pid" not in o]
        self.assertEqual(bad, [], "sync Invokes through b1 while b2 and b3 settle their shares")


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
        lam2.update_function_configuration(FunctionName="slow", Timeout=10)
        time.sleep(1.2)  # the configuration cache
        box = {}
        t = threading.Thread(target=lambda: box.update(r=self.invoke(lam2, "slow", {"sleep_ms": 6000})))
        t.start()
        self.assertEventually(lambda: metric(b2, "switchyard_worker_inflight") == 1, 10,
                              "the call did not run through b2's session")
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


    def test_broker_drain_waits_for_async_work_in_flight(self):
        b1, b2 = self.brokers(2, extra=("--drain-timeout-s", "20"))
        ledger = os.path.join(self.tmpdir("ledger"), "ledger")
        hosts = self.hosts_file([b1])  # the worker knows only b1 for now
        self.fleet_worker(hosts, so("led", "ledger", lib=LEDGER_SO, concurrency=2, timeout=3),
                          env={"SY_LEDGER": ledger})
        self.wait_sessions(b1, 1)
        lam = self.client("lambda", broker=b1)
        self.assertEventually(lambda: _exists(lam, "led"), 10)
        r = lam.invoke(FunctionName="led", InvocationType="Event", Payload=b'{"sleep_ms": 2000, "n": "once"}')
        self.assertEqual(r["StatusCode"], 202)
        self.assertEventually(lambda: metric(b1, "switchyard_worker_inflight") == 1, 10)
        b1.signal(signal.SIGTERM)  # while the worker runs it for b1
        self.assertEqual(b1.wait(30), 0)
        self.assertIn("waiting for in-flight invocations to finish", b1.log_text())
        self.assertNotIn("stopping with invocations still in flight", b1.log_text())
        # the worker moves to b2; had b1 lost the ACK, b2 would run the
        # invocation again once its visibility timeout (3 + 10 s) is over
        self.write_hosts(hosts, [b2])
        self.wait_sessions(b2, 1)
        time.sleep(16)
        runs = [ev for _, ev in self.read_ledger(ledger) if isinstance(ev, dict) and ev.get("n") == "once"]
        self.assertEqual(len(runs), 1, runs)


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
        self.assertEqual(b2.http("GET", "/keda/backlog?functions=%zz")[0], 400)
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


ARN_Q = "arn:aws:sqs:us-east-1:000000000000:%s"


def drain_queue(sqs, url, want, timeout=60):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in r.get("Messages", []):
            got.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


class FleetOnceOnly(FleetCase):
    """Background work runs once however many brokers share the database:
    schedules, Step Functions timers, retention sweeps, message move tasks
    and event-source-mapping pollers, with 3 brokers."""

    def test_background_work_runs_once_with_three_brokers(self):
        bs = self.brokers(3, extra=("--time-scale", "60", "--queue-min-retention-s", "1",
                                    "--queue-sweep-ms", "200"))
        sqs = [self.client("sqs", broker=b) for b in bs]
        ev = self.client("events", broker=bs[0])
        sfn = self.client("stepfunctions", broker=bs[1])
        lam = self.client("lambda", broker=bs[2])
        ledger = os.path.join(self.tmpdir("ledger"), "ledger")
        self.fleet_worker(self.hosts_file(bs), so("led", "ledger", lib=LEDGER_SO, concurrency=4),
                          env={"SY_LEDGER": ledger})
        for b in bs:
            self.wait_sessions(b, 1)
        # a schedule: rate(1 minute) is once a second under --time-scale 60
        ticks = sqs[0].create_queue(QueueName="ticks")["QueueUrl"]
        ev.put_rule(Name="tick", ScheduleExpression="rate(1 minute)")
        ev.put_targets(Rule="tick", Targets=[{"Id": "q", "Arn": ARN_Q % "ticks"}])
        t0 = time.monotonic()
        # timers: STANDARD executions that wait (60 s scaled to 1 s)
        d = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "Next": "P"},
                                        "P": {"Type": "Pass", "End": True}}}
        sm = sfn.create_state_machine(name="waits", definition=json.dumps(d), roleArn=ROLE)["stateMachineArn"]
        execs = [self.client("stepfunctions", broker=bs[i % 3]).start_execution(
            stateMachineArn=sm, name="e%d" % i, input='{"i": %d}' % i)["executionArn"] for i in range(9)]
        # an event-source mapping polled by three brokers
        src = sqs[1].create_queue(QueueName="feed")["QueueUrl"]
        self.assertEventually(lambda: _exists(lam, "led"), 10)
        lam.create_event_source_mapping(EventSourceArn=ARN_Q % "feed", FunctionName="led", BatchSize=5)
        for k in range(0, 40, 10):
            sqs[k // 10 % 3].send_message_batch(QueueUrl=src, Entries=[
                {"Id": str(i), "MessageBody": "f%d" % i} for i in range(k, k + 10)])
        # retention sweeps: messages of a 1 s queue expire, once
        exp = sqs[2].create_queue(QueueName="expiring", Attributes={"MessageRetentionPeriod": "1"})["QueueUrl"]
        for i in range(10):
            sqs[2].send_message(QueueUrl=exp, MessageBody="x%d" % i)
        # a message move task
        moved_n = 0
        if hasattr(sqs[0], "start_message_move_task"):
            dlq = sqs[0].create_queue(QueueName="dlq")["QueueUrl"]
            srcq = sqs[0].create_queue(QueueName="src", Attributes={"RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": ARN_Q % "dlq", "maxReceiveCount": 1})})["QueueUrl"]
            for k in range(0, 30, 10):
                sqs[0].send_message_batch(QueueUrl=srcq, Entries=[
                    {"Id": str(i), "MessageBody": "m%d" % i} for i in range(k, k + 10)])
            self.assertEventually(lambda: not sqs[0].receive_message(
                QueueUrl=srcq, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages")
                and _count(sqs[0], dlq) == 30, 30)
            sqs[1].start_message_move_task(SourceArn=ARN_Q % "dlq", MaxNumberOfMessagesPerSecond=10)
            self.assertEventually(lambda: sqs[2].list_message_move_tasks(
                SourceArn=ARN_Q % "dlq")["Results"][0]["Status"] == "COMPLETED", 30)
            (t,) = sqs[2].list_message_move_tasks(SourceArn=ARN_Q % "dlq")["Results"]
            self.assertEqual(t["ApproximateNumberOfMessagesMoved"], 30)
            got = drain_queue(sqs[1], srcq, 30)
            self.assertEqual(sorted(got), sorted("m%d" % i for i in range(30)))
            self.assertEqual(_count(sqs[0], srcq), 0)
            moved_n = 30
        # executions: each waited once and succeeded once
        for arn in execs:
            self.assertEventually(lambda a=arn: sfn.describe_execution(executionArn=a)["status"] == "SUCCEEDED", 30)
            h = sfn.get_execution_history(executionArn=arn, maxResults=100)["events"]
            types = [e["type"] for e in h]
            self.assertEqual(types.count("WaitStateExited"), 1, types)
            self.assertEqual(types.count("ExecutionSucceeded"), 1, types)
        # the mapping: every record once
        self.assertEventually(lambda: len(self.read_ledger(ledger)) >= 8 and _esm_bodies(self.read_ledger(ledger))
                              and len(_esm_bodies(self.read_ledger(ledger))) >= 40, 60)
        time.sleep(1)
        bodies = _esm_bodies(self.read_ledger(ledger))
        self.assertEqual(sorted(bodies), sorted("f%d" % i for i in range(40)))
        # the schedule: about one tick a second, not three
        time.sleep(max(0, 8 - (time.monotonic() - t0)))
        ev.disable_rule(Name="tick")
        elapsed = time.monotonic() - t0
        time.sleep(1.5)
        n = len(drain_queue(sqs[0], ticks, 10 ** 6, timeout=5))
        self.assertGreaterEqual(n, int(elapsed) - 3, (n, elapsed))
        self.assertLessEqual(n, int(elapsed) + 2, (n, elapsed))
        # expired messages are gone (the sweeps ran, and did not trip over each other)
        self.assertEventually(lambda: int(harness.psql_value(
            "SELECT count(*) FROM sy_messages m JOIN sy_queues q ON q.id = m.queue_id WHERE q.name = 'expiring'",
            db=self.db)) == 0, 30)
        for b in bs:
            self.assertNotIn("deadlock", b.log_text())
        self.assertGreaterEqual(moved_n, 0)


def _count(sqs, url):
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])


def _esm_bodies(rows):
    out = []
    for _, ev in rows:
        if isinstance(ev, dict) and "Records" in ev:
            out += [r["body"] for r in ev["Records"]]
    return out


class FleetLedger(FleetCase):
    """The fleet as plain processes: 3 brokers, 4 workers, one PostgreSQL.
    Traffic over every broker, then one broker and one worker stopped with
    SIGTERM and one of each killed with SIGKILL; an exact ledger of what was
    acknowledged and what ran."""

    def test_fleet_ledger_through_sigterm_and_sigkill(self):
        bs = self.brokers(3, extra=("--time-scale", "60", "--drain-timeout-s", "20"))
        hosts = self.hosts_file(bs)
        ledger = os.path.join(self.tmpdir("ledger"), "ledger")
        ws = [self.fleet_worker(hosts, so("led", "ledger", lib=LEDGER_SO, concurrency=3, timeout=3),
                                env={"SY_LEDGER": ledger}, extra=("--drain-timeout", "10")) for _ in range(4)]
        for b in bs:
            self.wait_sessions(b, 4)
        sqs = [self.client("sqs", broker=b) for b in bs]
        lam = [self.client("lambda", broker=b) for b in bs]
        sfn = [self.client("stepfunctions", broker=b) for b in bs]
        self.assertEventually(lambda: all(_exists(l, "led") for l in lam), 10)
        std = sqs[0].create_queue(QueueName="traffic")["QueueUrl"]
        fifo = sqs[0].create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        feed = sqs[0].create_queue(QueueName="feed")["QueueUrl"]
        lam[1].create_event_source_mapping(EventSourceArn=ARN_Q % "feed", FunctionName="led", BatchSize=5)
        d = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN_ARN % "led", "End": True}}}
        sm = sfn[2].create_state_machine(name="flow", definition=json.dumps(d), roleArn=ROLE)["stateMachineArn"]

        acked = {"std": set(), "fifo": [], "async": set(), "feed": set(), "exec": []}
        lock = threading.Lock()

        def traffic(k, lo, hi):
            """What one client does through broker k; records what was acknowledged."""
            for i in range(lo, hi):
                sqs[k].send_message(QueueUrl=std, MessageBody="s%d-%d" % (k, i))
                with lock:
                    acked["std"].add("s%d-%d" % (k, i))
                body = "o%d-%d" % (k, i)
                for _ in range(2):  # the second is a duplicate: dropped by deduplication
                    sqs[k].send_message(QueueUrl=fifo, MessageBody=body, MessageGroupId="g%d" % k,
                                        MessageDeduplicationId=body)
                with lock:
                    acked["fifo"].append(body)
                r = lam[k].invoke(FunctionName="led", InvocationType="Event",
                                  Payload=json.dumps({"a": "a%d-%d" % (k, i)}).encode())
                self.assertEqual(r["StatusCode"], 202)
                with lock:
                    acked["async"].add("a%d-%d" % (k, i))
                sqs[k].send_message(QueueUrl=feed, MessageBody="f%d-%d" % (k, i))
                with lock:
                    acked["feed"].add("f%d-%d" % (k, i))
                if i % 5 == 0:
                    arn = sfn[k].start_execution(stateMachineArn=sm, name="x%d-%d" % (k, i),
                                                 input=json.dumps({"x": "x%d-%d" % (k, i)}))["executionArn"]
                    with lock:
                        acked["exec"].append(arn)
                # every synchronous invocation succeeds, whichever broker it reaches
                r, body = self.invoke(lam[k], "led", {"s": "s%d-%d" % (k, i)})
                self.assertNotIn("FunctionError", r, body)
                self.assertEqual(body, {"s": "s%d-%d" % (k, i)})

        out = self.parallel([lambda k=k: traffic(k, 0, 20) for k in range(3)])
        self.assertEqual(out, [None, None, None])
        # a second wave, and while it settles: SIGTERM b3 and w4, SIGKILL b2 and w3
        out = self.parallel([lambda k=k: traffic(k, 20, 30) for k in range(3)])
        self.assertEqual(out, [None, None, None])
        bs[2].signal(signal.SIGTERM)
        ws[3].signal(signal.SIGTERM)
        bs[1].kill9()
        ws[2].kill9()
        self.assertEqual(bs[2].wait(60), 0)
        self.assertEqual(ws[3].wait(60), 0)
        # the survivors carry on: b1 with w1 and w2
        traffic(0, 30, 40)
        self.wait_sessions(bs[0], 2)

        # --- the ledger
        def ran():
            rows = self.read_ledger(ledger)
            a = [ev["a"] for _, ev in rows if isinstance(ev, dict) and "a" in ev]
            f = [r["body"] for _, ev in rows if isinstance(ev, dict) for r in ev.get("Records", [])]
            return a, f
        self.assertEventually(lambda: acked["async"] <= set(ran()[0]) and acked["feed"] <= set(ran()[1]), 120,
                              "acknowledged invocations or mapping records never ran")
        # standard queue: everything acknowledged is received (at least once)
        got = drain_queue(sqs[0], std, len(acked["std"]), timeout=90)
        self.assertEqual(acked["std"] - set(got), set())
        # FIFO: each message exactly once, in order within its group
        got = []
        deadline = time.monotonic() + 90
        while len(got) < len(acked["fifo"]) and time.monotonic() < deadline:
            r = sqs[0].receive_message(QueueUrl=fifo, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for m in r.get("Messages", []):
                got.append(m["Body"])
                sqs[0].delete_message(QueueUrl=fifo, ReceiptHandle=m["ReceiptHandle"])
        self.assertEqual(sorted(got), sorted(acked["fifo"]))
        self.assertEqual(len(got), len(set(got)))
        for k in range(3):
            mine = [b for b in got if b.startswith("o%d-" % k)]
            self.assertEqual(mine, sorted(mine, key=lambda b: int(b.split("-")[1])))
        self.assertFalse(sqs[0].receive_message(QueueUrl=fifo, WaitTimeSeconds=1).get("Messages"))
        # executions: each succeeded exactly once, with its task's output
        for arn in acked["exec"]:
            self.assertEventually(lambda a=arn: sfn[0].describe_execution(executionArn=a)["status"] != "RUNNING", 120)
            dsc = sfn[0].describe_execution(executionArn=arn)
            self.assertEqual(dsc["status"], "SUCCEEDED", dsc)
            self.assertEqual(json.loads(dsc["output"]), json.loads(dsc["input"]))
            types = [e["type"] for e in sfn[0].get_execution_history(executionArn=arn, maxResults=200)["events"]]
            self.assertEqual(types.count("ExecutionSucceeded"), 1, types)
            self.assertEqual(types.count("LambdaFunctionSucceeded"), 1, types)
        self.assertIn("drained, goodbye", ws[3].log_text())


if __name__ == "__main__":
    unittest.main()
