"""Lambda API end to end: real `switchyard worker` processes running the C
test handlers (tests/worker/test_handler.c) and the tutorial shell bootstrap
(tests/worker/runtime), driven by boto3 and the aws CLI."""

import json
import os
import re
import signal
import subprocess
import threading
import time
import unittest

import harness

HANDLER = os.path.join(harness.BUILD_DIR, "tests", "worker", "sy_test_handler.so")
RUNTIME = os.path.join(harness.SOURCE_DIR, "tests", "worker", "runtime", "bootstrap")
SCALE = 60  # async retry delays 1 min / 2 min become 1 s / 2 s


def so(fn, sym, **kw):
    spec = "%s=so:%s:%s" % (fn, HANDLER, sym)
    for k, v in kw.items():
        spec += ",%s=%s" % (k, v)
    return spec


class LambdaBase(harness.SwitchyardTestCase):
    BROKER_ARGS = ("--time-scale", str(SCALE))

    def worker(self, *functions, broker=None):
        args = ["--broker", (broker or self.broker).worker_endpoint, "--log-level", "info"]
        for f in functions:
            args += ["--function", f]
        return self.start_worker(*args)

    def wait_hosted(self, lam, name, timeout=20):
        def ok():
            try:
                lam.get_function(FunctionName=name)
                return True
            except Exception:
                return False
        self.assertEventually(ok, timeout)

    def invoke(self, lam, name, payload, **kw):
        r = lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), **kw)
        body = r["Payload"].read()
        return r, (json.loads(body) if body else None)

    @staticmethod
    def make_queue(sqs, name, **attrs):
        """(url, arn) of a new queue with these attributes."""
        u = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]
        return u, sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    @staticmethod
    def queue_count(sqs, url):
        """Messages in a queue, visible or not."""
        a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])

    def receive_all(self, sqs, url, want, timeout=30):
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for m in r.get("Messages", []):
                got.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got


class LambdaSync(LambdaBase):
    def test_crud_and_sync_invoke(self):
        lam = self.client("lambda")
        lam.create_function(FunctionName="echo", Runtime="provided.al2", Role="arn:aws:iam::000000000000:role/r",
                            Handler="x", Code={"ZipFile": b"ignored"}, Timeout=5,
                            Environment={"Variables": {"A": "1"}})
        with self.assertRaises(lam.exceptions.ResourceConflictException):
            lam.create_function(FunctionName="echo", Role="arn:aws:iam::000000000000:role/r",
                                Code={"ZipFile": b"x"})
        g = lam.get_function(FunctionName="echo")["Configuration"]
        self.assertEqual(g["Timeout"], 5)
        self.assertEqual(g["Environment"]["Variables"], {"A": "1"})
        lam.update_function_configuration(FunctionName="echo", Timeout=7)
        self.assertEqual(lam.get_function_configuration(FunctionName="echo")["Timeout"], 7)
        self.assertIn("echo", [f["FunctionName"] for f in lam.list_functions()["Functions"]])
        lam.put_function_concurrency(FunctionName="echo", ReservedConcurrentExecutions=5)
        self.assertEqual(lam.get_function_concurrency(FunctionName="echo")["ReservedConcurrentExecutions"], 5)
        lam.delete_function_concurrency(FunctionName="echo")
        self.assertNotIn("ReservedConcurrentExecutions", lam.get_function_concurrency(FunctionName="echo"))
        with self.assertRaises(lam.exceptions.ResourceNotFoundException):
            lam.get_function(FunctionName="nope")

        self.worker(so("echo", "echo", concurrency=2), so("fail", "fail"), so("slow", "slow", timeout=1))
        self.wait_hosted(lam, "fail")  # announced, never created: created with defaults
        r, out = self.invoke(lam, "echo", {"k": 1})
        self.assertEqual(r["StatusCode"], 200)
        self.assertEqual(out, {"k": 1})
        self.assertNotIn("FunctionError", r)
        arn = lam.get_function(FunctionName="echo")["Configuration"]["FunctionArn"]
        r, out = self.invoke(lam, arn, {"by": "arn"})
        self.assertEqual(out, {"by": "arn"})
        r, out = self.invoke(lam, "fail", {})
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(out["errorType"], "ValidationError")
        self.assertEqual(out["errorMessage"], "the order has no items")
        r, out = self.invoke(lam, "slow", {"sleep_ms": 3000})
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(out["errorType"], "Sandbox.Timedout")
        r = lam.invoke(FunctionName="echo", InvocationType="DryRun")
        self.assertEqual(r["StatusCode"], 204)
        with self.assertRaises(lam.exceptions.ResourceNotFoundException):
            lam.invoke(FunctionName="missing", Payload=b"{}")
        # reserved concurrency 0: throttled
        lam.put_function_concurrency(FunctionName="echo", ReservedConcurrentExecutions=0)
        time.sleep(1.2)  # the config cache
        with self.assertRaises(lam.exceptions.TooManyRequestsException):
            lam.invoke(FunctionName="echo", Payload=b"{}")
        lam.create_function(FunctionName="gone", Role="arn:aws:iam::000000000000:role/r", Code={"ZipFile": b"x"})
        lam.delete_function(FunctionName="gone")
        with self.assertRaises(lam.exceptions.ResourceNotFoundException):
            lam.get_function(FunctionName="gone")

    def cli_payload(self):
        r = self.aws("--version")
        v2 = "aws-cli/2" in (r.stdout + r.stderr)
        return ["--cli-binary-format", "raw-in-base64-out"] if v2 else []

    def test_cli_and_runtime(self):
        self.worker("shell=runtime:%s,timeout=3" % RUNTIME)
        lam = self.client("lambda")
        self.wait_hosted(lam, "shell")
        out = os.path.join(self.tmpdir("out"), "out.json")
        fmt = self.cli_payload()
        r = self.aws("lambda", "invoke", "--function-name", "shell", "--payload", '{"hello": "world"}',
                     *fmt, out)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json["StatusCode"], 200)
        with open(out) as f:
            body = json.load(f)
        self.assertEqual(body["echo"], {"hello": "world"})
        self.assertEqual(body["function"], "shell")
        r = self.aws("lambda", "invoke", "--function-name", "shell", "--invocation-type", "Event",
                     "--payload", '{"a": 1}', *fmt, out)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json["StatusCode"], 202)
        r = self.aws("lambda", "get-function", "--function-name", "shell")
        self.assertEqual(r.rc, 0, r)

    def test_concurrency_credit(self):
        """2 workers with concurrency 1 each never run more than 2 at once."""
        self.worker(so("slow", "slow", concurrency=1, timeout=10))
        self.worker(so("slow", "slow", concurrency=1, timeout=10))
        lam = self.client("lambda", read_timeout=120)
        self.wait_hosted(lam, "slow")
        self.assertEventually(lambda: self.hosted_workers("slow") == 2, 20)
        results = []

        def call():
            c = self.client("lambda", read_timeout=120)
            r, out = self.invoke(c, "slow", {"sleep_ms": 300})
            results.append(out)
        ts = [threading.Thread(target=call) for _ in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        # async ones too
        for _ in range(6):
            lam.invoke(FunctionName="slow", InvocationType="Event", Payload=b'{"sleep_ms": 300}')
        self.assertEqual(len(results), 6, results)
        spans = [(r["start_us"], r["end_us"]) for r in results if r and "start_us" in r]
        self.assertEqual(len(spans), 6, results)
        events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
        cur = peak = 0
        for _, d in events:
            cur += d
            peak = max(peak, cur)
        self.assertLessEqual(peak, 2)
        self.assertEqual(len({r["pid"] for r in results}), 2)

    def hosted_workers(self, name):
        st, _, body = self.broker.http("GET", "/metrics")
        for line in body.decode().splitlines():
            if line.startswith("switchyard_worker_sessions"):
                return int(float(line.split()[-1]))
        return 0


class LambdaAsync(LambdaBase):
    def queue(self, sqs, name, **attrs):
        url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def send_partial(self, sqs, url, n, groups=0):
        """n messages in batches of 10 for the sqs_partial handler, every 50th
        one it fails ("fail-<i>"), spread over `groups` message groups (a FIFO
        queue) or none; returns how many will fail."""
        for b in range(0, n, 10):
            entries = [{"Id": str(i - b), "MessageBody": ("fail-%d" if i % 50 == 0 else "ok-%d") % i}
                       for i in range(b, b + 10)]
            for i, e in enumerate(entries):
                if groups:
                    e["MessageGroupId"] = "g%d" % ((b + i) % groups)
            self.assertEqual(sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed", []), [])
        return (n + 49) // 50

    def test_async_retries_and_destinations(self):
        sqs, lam = self.client("sqs"), self.client("lambda")
        ok_url, ok_arn = self.queue(sqs, "ok-dest")
        bad_url, bad_arn = self.queue(sqs, "fail-dest")
        self.worker(so("echo", "echo"), so("fail", "fail"))
        self.wait_hosted(lam, "fail")
        self.wait_hosted(lam, "echo")
        for fn in ("echo", "fail"):
            lam.put_function_event_invoke_config(
                FunctionName=fn, MaximumRetryAttempts=2,
                DestinationConfig={"OnSuccess": {"Destination": ok_arn}, "OnFailure": {"Destination": bad_arn}})
        with self.assertRaises(Exception) as cm:
            lam.put_function_event_invoke_config(
                FunctionName="echo", DestinationConfig={
                    "OnFailure": {"Destination": "arn:aws:kinesis:us-east-1:000000000000:stream/k"}})
        self.assertIn("InvalidParameterValueException", str(cm.exception))
        cfg = lam.get_function_event_invoke_config(FunctionName="fail")
        self.assertEqual(cfg["MaximumRetryAttempts"], 2)
        time.sleep(1.1)  # config cache
        r = lam.invoke(FunctionName="echo", InvocationType="Event", Payload=b'{"n": 1}')
        self.assertEqual(r["StatusCode"], 202)
        t0 = time.monotonic()
        lam.invoke(FunctionName="fail", InvocationType="Event", Payload=b'{"n": 2}')
        okr = self.receive_all(sqs, ok_url, 1)
        self.assertEqual(len(okr), 1)
        self.assertEqual(okr[0]["requestContext"]["condition"], "Success")
        self.assertEqual(okr[0]["requestPayload"], {"n": 1})
        self.assertEqual(okr[0]["responsePayload"], {"n": 1})
        bad = self.receive_all(sqs, bad_url, 1, timeout=40)
        self.assertEqual(len(bad), 1)
        elapsed = time.monotonic() - t0
        rec = bad[0]
        self.assertEqual(rec["requestContext"]["condition"], "RetriesExhausted")
        self.assertEqual(rec["requestContext"]["approximateInvokeCount"], 3)
        self.assertEqual(rec["responseContext"]["functionError"], "Unhandled")
        self.assertEqual(rec["responsePayload"]["errorType"], "ValidationError")
        self.assertGreaterEqual(elapsed, 2.5)  # 1 min + 2 min, scaled by 60
        # 3 attempts in the worker's log
        self.assertEqual(self._procs[-1].log_text().count("failing on purpose"), 3)

    def test_worker_kill9_mid_invocation(self):
        sqs, lam = self.client("sqs"), self.client("lambda")
        ok_url, ok_arn = self.queue(sqs, "ok-dest")
        w = self.worker(so("slow", "slow", timeout=10))
        self.wait_hosted(lam, "slow")
        lam.update_function_configuration(FunctionName="slow", Timeout=10)
        lam.put_function_event_invoke_config(FunctionName="slow",
                                             DestinationConfig={"OnSuccess": {"Destination": ok_arn}})
        time.sleep(1.1)
        lam.invoke(FunctionName="slow", InvocationType="Event", Payload=b'{"sleep_ms": 2000}')
        self.assertEventually(lambda: self.metric("switchyard_worker_inflight") >= 1, 10)
        w.kill9()
        self.worker(so("slow", "slow", timeout=10))
        got = self.receive_all(sqs, ok_url, 1, timeout=40)
        self.assertEqual(len(got), 1)
        self.assertGreaterEqual(got[0]["responsePayload"]["attempt"], 2)

    def test_broker_kill9_loses_nothing(self):
        sqs, lam = self.client("sqs"), self.client("lambda")
        ok_url, ok_arn = self.queue(sqs, "ok-dest")
        self.worker(so("echo", "echo", concurrency=4))
        self.wait_hosted(lam, "echo")
        lam.put_function_event_invoke_config(FunctionName="echo",
                                             DestinationConfig={"OnSuccess": {"Destination": ok_arn}})
        time.sleep(1.1)
        n = 200
        for i in range(n):
            lam.invoke(FunctionName="echo", InvocationType="Event", Payload=json.dumps({"i": i}).encode())
        self.broker.kill9()
        self.broker.start()
        sqs, lam = self.client("sqs"), self.client("lambda")
        got = self.receive_all(sqs, ok_url, n, timeout=90)
        self.assertEqual({g["requestPayload"]["i"] for g in got}, set(range(n)))

    def metric(self, name):
        body = self.broker.http("GET", "/metrics")[2].decode()
        for line in body.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.split()[-1])
        return 0

    def test_sqs_event_source_partial_failures(self):
        sqs, lam = self.client("sqs"), self.client("lambda")
        dlq_url, dlq_arn = self.queue(sqs, "src-dlq")
        url, arn = self.queue(sqs, "src", VisibilityTimeout=1,
                              RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}))
        self.worker(so("consume", "sqs_partial", concurrency=4))
        self.worker(so("consume", "sqs_partial", concurrency=4))
        self.wait_hosted(lam, "consume")
        failing = self.send_partial(sqs, url, 10000)
        m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="consume", BatchSize=100,
                                            MaximumBatchingWindowInSeconds=1,
                                            FunctionResponseTypes=["ReportBatchItemFailures"])
        self.assertEqual(lam.get_event_source_mapping(UUID=m["UUID"])["BatchSize"], 100)
        self.assertEqual(len(lam.list_event_source_mappings(FunctionName="consume")["EventSourceMappings"]), 1)

        def counts(u):
            return self.queue_count(sqs, u)
        self.assertEventually(lambda: counts(url) == 0 and counts(dlq_url) == failing, 90, interval=1)
        lam.delete_event_source_mapping(UUID=m["UUID"])

    def test_sqs_event_source_fifo_queue(self):
        """A mapping on a FIFO queue leases its batches with a shared receipt
        token, on the groups it locks: every message is handled, the ones the
        handler keeps failing reach the FIFO dead-letter queue."""
        sqs, lam = self.client("sqs"), self.client("lambda")
        dlq_url, dlq_arn = self.queue(sqs, "src-dlq.fifo", FifoQueue="true")
        url, arn = self.queue(sqs, "src.fifo", FifoQueue="true", ContentBasedDeduplication="true",
                              VisibilityTimeout=1,
                              RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}))
        self.worker(so("consume", "sqs_partial", concurrency=4))
        self.wait_hosted(lam, "consume")
        failing = self.send_partial(sqs, url, 300, groups=6)
        m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="consume", BatchSize=10,
                                            FunctionResponseTypes=["ReportBatchItemFailures"])

        def counts(u):
            return self.queue_count(sqs, u)
        self.assertEventually(lambda: counts(url) == 0 and counts(dlq_url) == failing, 90, interval=1)
        lam.delete_event_source_mapping(UUID=m["UUID"])

    def test_step_functions_task(self):
        lam, sfn = self.client("lambda"), self.client("stepfunctions")
        self.worker(so("echo", "echo"), so("fail", "fail"))
        self.wait_hosted(lam, "echo")
        self.wait_hosted(lam, "fail")
        arn = "arn:aws:lambda:us-east-1:000000000000:function:"
        d = {"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": arn + "echo", "Next": "B"},
            "B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": "fail", "Payload.$": "$"},
                  "Catch": [{"ErrorEquals": ["ValidationError"], "Next": "C", "ResultPath": "$.err"}],
                  "End": True},
            "C": {"Type": "Pass", "End": True}}}
        sm = sfn.create_state_machine(name="m", definition=json.dumps(d),
                                      roleArn="arn:aws:iam::000000000000:role/r")["stateMachineArn"]
        ex = sfn.start_execution(stateMachineArn=sm, input='{"x": 1}')["executionArn"]
        desc = self.assertEventually(
            lambda: (lambda r: r if r["status"] != "RUNNING" else None)(sfn.describe_execution(executionArn=ex)), 30)
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        out = json.loads(desc["output"])
        self.assertEqual(out["x"], 1)
        self.assertEqual(out["err"]["Error"], "ValidationError")


class LambdaBrokerRestart(LambdaBase):
    """Gap 1: a durable lease survives a broker restart. The handler runs
    while the broker is kill -9'd and restarted; the worker reconnects, ACKs
    with its lease token, and the new broker settles from the database:
    the Step Functions task completes and the OnSuccess record is written,
    with the handler having run exactly once."""

    def fn_queue_rows(self, fn):
        return int(harness.psql_value(
            "SELECT count(*) FROM sy_messages m JOIN sy_queues q ON q.id = m.queue_id "
            "WHERE q.name = '__fn_%s'" % fn, db=self.db))

    def test_ack_after_broker_restart_settles_once(self):
        sqs, lam, sfn = self.client("sqs"), self.client("lambda"), self.client("stepfunctions")
        url = sqs.create_queue(QueueName="ok-dest")["QueueUrl"]
        ok_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        w = self.worker(so("slow", "slow", timeout=30, concurrency=2), so("echo", "echo"))
        self.wait_hosted(lam, "slow")
        self.wait_hosted(lam, "echo")
        lam.update_function_configuration(FunctionName="slow", Timeout=30)
        lam.put_function_event_invoke_config(FunctionName="echo", MaximumRetryAttempts=0,
                                             DestinationConfig={"OnSuccess": {"Destination": ok_arn}})
        lam.put_function_event_invoke_config(FunctionName="slow", MaximumRetryAttempts=0,
                                             DestinationConfig={"OnSuccess": {"Destination": ok_arn}})
        time.sleep(1.1)  # config cache
        d = {"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:slow",
                  "ResultPath": "$.r", "End": True}}}
        sm = sfn.create_state_machine(name="m", definition=json.dumps(d),
                                      roleArn="arn:aws:iam::000000000000:role/r")["stateMachineArn"]
        ex = sfn.start_execution(stateMachineArn=sm, input='{"sleep_ms": 5000, "via": "sfn"}')["executionArn"]
        lam.invoke(FunctionName="slow", InvocationType="Event", Payload=b'{"sleep_ms": 5000, "via": "event"}')
        self.assertEventually(lambda: w.log_text().count("slow handler started") == 2, 20)

        self.broker.kill9()
        self.broker.start()
        sqs, lam, sfn = self.client("sqs"), self.client("lambda"), self.client("stepfunctions")

        desc = self.assertEventually(
            lambda: (lambda r: r if r["status"] != "RUNNING" else None)(sfn.describe_execution(executionArn=ex)), 60)
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        out = json.loads(desc["output"])
        self.assertEqual(out["via"], "sfn")
        self.assertEqual(out["r"]["attempt"], 1)
        got = self.receive_all(sqs, url, 1, timeout=30)
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0]["requestContext"]["condition"], "Success")
        self.assertEqual(got[0]["requestPayload"]["via"], "event")
        self.assertEqual(got[0]["responsePayload"]["attempt"], 1)
        self.assertEqual(self.fn_queue_rows("slow"), 0)  # settled: nothing left to run again
        self.assertEqual(w.log_text().count("slow handler started"), 2)  # each ran exactly once
        self.assertIn("lease recovered from the database", self.broker.log_text())
        # the engine still works after the restart
        lam.invoke(FunctionName="echo", InvocationType="Event", Payload=b'{"after": 1}')
        got = self.receive_all(sqs, url, 1, timeout=30)
        self.assertEqual(got[0]["responsePayload"], {"after": 1})

    def test_failed_ack_after_restart_retries(self):
        """A function error ACKed to a restarted broker, with a retry left:
        the recovered lease is re-scheduled (its visibility changed inside
        the settle transaction that holds the row) and the retry runs, then
        the OnFailure record arrives."""
        sqs, lam = self.client("sqs"), self.client("lambda")
        url = sqs.create_queue(QueueName="fail-dest")["QueueUrl"]
        fail_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        w = self.worker(so("sf", "slow_fail", timeout=30, concurrency=1))
        self.wait_hosted(lam, "sf")
        lam.update_function_configuration(FunctionName="sf", Timeout=30)
        lam.put_function_event_invoke_config(FunctionName="sf", MaximumRetryAttempts=1,
                                             DestinationConfig={"OnFailure": {"Destination": fail_arn}})
        time.sleep(1.1)  # config cache
        lam.invoke(FunctionName="sf", InvocationType="Event", Payload=b'{"sleep_ms": 4000}')
        self.assertEventually(lambda: w.log_text().count("slow_fail handler started") == 1, 20)
        self.broker.kill9()
        self.broker.start()
        sqs = self.client("sqs")
        got = self.receive_all(sqs, url, 1, timeout=60)
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0]["requestContext"]["condition"], "RetriesExhausted")
        self.assertEqual(got[0]["requestContext"]["approximateInvokeCount"], 2)
        self.assertEqual(w.log_text().count("slow_fail handler started"), 2)  # the first run and one retry
        self.assertIn("lease recovered from the database", self.broker.log_text())

    def test_stale_token_refused(self):
        """An ACK whose lease was taken over (the message leased again) is
        refused: the second lease's outcome is the one applied."""
        sqs, lam = self.client("sqs"), self.client("lambda")
        url = sqs.create_queue(QueueName="ok-dest")["QueueUrl"]
        ok_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        w = self.worker(so("slow", "slow", timeout=10, concurrency=2))
        self.wait_hosted(lam, "slow")
        lam.update_function_configuration(FunctionName="slow", Timeout=10)
        lam.put_function_event_invoke_config(FunctionName="slow", MaximumRetryAttempts=2,
                                             DestinationConfig={"OnSuccess": {"Destination": ok_arn}})
        time.sleep(1.1)
        lam.invoke(FunctionName="slow", InvocationType="Event", Payload=b'{"sleep_ms": 3000}')
        self.assertEventually(lambda: w.log_text().count("slow handler started") == 1, 20)
        self.broker.kill9()
        # the lease is taken over behind the worker's back: a new receipt
        harness.psql("UPDATE sy_messages SET receipt = gen_random_uuid()::text, visible_at = now() + "
                     "interval '1 hour' WHERE queue_id = (SELECT id FROM sy_queues WHERE name = '__fn_slow')",
                     db=self.db)
        self.broker.start()
        self.assertEventually(lambda: "stale lease token refused" in self.broker.log_text(), 30)
        self.assertEqual(self.fn_queue_rows("slow"), 1)  # not deleted by the stale ACK
        r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
        self.assertEqual(r.get("Messages", []), [])  # and no OnSuccess record


    def test_mapping_batch_ack_after_broker_restart(self):
        """An event-source-mapping batch is leased under one shared receipt
        token named by its lease token: the new broker finds the batch in
        the database and settles it as the first would have. The successful
        records are deleted and never run again; the reported failure comes
        back by visibility and reaches the DLQ by redrive."""
        sqs, lam = self.client("sqs"), self.client("lambda")
        dlq_url, dlq_arn = self.make_queue(sqs, "esm-dlq")
        url, arn = self.make_queue(sqs, "esm-src", VisibilityTimeout=12,
                                   RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}))
        w = self.worker(so("consume", "sqs_partial_slow", timeout=30, concurrency=2))
        self.wait_hosted(lam, "consume")
        lam.update_function_configuration(FunctionName="consume", Timeout=30)
        bodies = ["ok-alpha", "ok-bravo", "ok-charlie", "fail-xray"]
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)])
        time.sleep(1.1)  # config cache
        m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="consume", BatchSize=10,
                                            FunctionResponseTypes=["ReportBatchItemFailures"])

        def runs(body):
            return w.log_text().count("sqs record started %s\"" % body)
        self.assertEventually(lambda: all(runs(b) == 1 for b in bodies), 20)

        self.broker.kill9()
        self.broker.start()
        sqs = self.client("sqs")

        def count(u):
            return self.queue_count(sqs, u)
        self.assertEventually(lambda: "batch lease recovered from the database" in self.broker.log_text(), 30)
        self.assertEqual(count(url), 1)  # the three successes deleted by the recovered ACK
        self.assertEventually(lambda: count(url) == 0 and count(dlq_url) == 1, 90, interval=1)
        got = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual([g["Body"] for g in got], ["fail-xray"])
        self.assertEqual(runs("fail-xray"), 2)  # maxReceiveCount
        for b in bodies[:3]:
            self.assertEqual(runs(b), 1, b)  # settled once: never run again
        self.assertNotIn("stale lease token refused", self.broker.log_text())
        lam.delete_event_source_mapping(UUID=m["UUID"])

    def test_mapping_batch_release_after_broker_restart(self):
        """A worker drained while its batch still runs RELEASEs it; to a
        broker that restarted since, the release is applied from the
        database too: the record is visible again at once, not after the
        queue's 120 s visibility timeout."""
        sqs, lam = self.client("sqs"), self.client("lambda")
        url, arn = self.make_queue(sqs, "esm-rel", VisibilityTimeout=120)
        w = self.start_worker("--broker", self.broker.worker_endpoint, "--log-level", "info",
                              "--reconnect-ms", "100", "--drain-timeout", "1",
                              "--function", so("consume", "sqs_partial_slow", timeout=60, concurrency=1),
                              env={"SY_TEST_SLOW_MS": "60000"})
        self.wait_hosted(lam, "consume")
        lam.update_function_configuration(FunctionName="consume", Timeout=60)
        sqs.send_message(QueueUrl=url, MessageBody="ok-echo")
        time.sleep(1.1)  # config cache
        m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="consume", BatchSize=10)
        self.assertEventually(lambda: "sqs record started ok-echo" in w.log_text(), 20)
        lam.update_event_source_mapping(UUID=m["UUID"], Enabled=False)  # nobody leases it again
        time.sleep(1.5)  # the mapping list is reloaded every second

        self.broker.kill9()
        self.broker.start()
        sqs = self.client("sqs")
        self.assertEventually(lambda: w.log_text().count("registered with broker") >= 2, 30)

        def visible():
            a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])
        self.assertEqual(visible(), (0, 1))  # still leased by the running batch
        w.signal(signal.SIGTERM)  # drain: the batch cannot finish in 1 s -> RELEASE
        self.assertEqual(w.wait(30), 0)
        self.assertEventually(lambda: visible() == (1, 0), 15)
        self.assertIn("batch lease recovered from the database", self.broker.log_text())

    def test_stale_mapping_batch_token_refused(self):
        """A batch whose messages were leased again since (new receipts) is
        refused: nothing is deleted."""
        sqs, lam = self.client("sqs"), self.client("lambda")
        url = sqs.create_queue(QueueName="esm-stale", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        w = self.worker(so("consume", "sqs_partial_slow", timeout=30, concurrency=2))
        self.wait_hosted(lam, "consume")
        lam.update_function_configuration(FunctionName="consume", Timeout=30)
        sqs.send_message(QueueUrl=url, MessageBody="ok-delta")
        time.sleep(1.1)
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="consume", BatchSize=10)
        self.assertEventually(lambda: "sqs record started ok-delta" in w.log_text(), 20)
        self.broker.kill9()
        harness.psql("UPDATE sy_messages SET receipt = gen_random_uuid()::text, visible_at = now() + "
                     "interval '1 hour' WHERE queue_id = (SELECT id FROM sy_queues WHERE name = 'esm-stale')",
                     db=self.db)
        self.broker.start()
        self.assertEventually(lambda: "stale lease token refused" in self.broker.log_text(), 30)
        n = int(harness.psql_value("SELECT count(*) FROM sy_messages m JOIN sy_queues q ON q.id = m.queue_id "
                                   "WHERE q.name = 'esm-stale'", db=self.db))
        self.assertEqual(n, 1)  # not deleted by the stale ACK


class LambdaMappingExtend(LambdaBase):
    def test_handler_extends_its_mapping_batch(self):
        """A mapping handler that asks for more time (ctx->extend) keeps its
        batch leased past the queue's 4 s visibility timeout: the record is
        not leased a second time (with maxReceiveCount 1 that would move it
        to the DLQ) and is deleted when the handler succeeds."""
        sqs, lam = self.client("sqs"), self.client("lambda")
        dlq_url, dlq_arn = self.make_queue(sqs, "ext-dlq")
        url, arn = self.make_queue(sqs, "ext-src", VisibilityTimeout=4,
                                   RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
        self.start_worker("--broker", self.broker.worker_endpoint, "--log-level", "info",
                          "--function", so("ext", "extender", timeout=30, concurrency=2),
                          env={"SY_TEST_SLOW_MS": "8000"})
        self.wait_hosted(lam, "ext")
        lam.update_function_configuration(FunctionName="ext", Timeout=30)
        sqs.send_message(QueueUrl=url, MessageBody="long-job")
        time.sleep(1.1)  # config cache
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="ext", BatchSize=10)

        def counts(u):
            return self.queue_count(sqs, u)
        self.assertEventually(lambda: counts(url) == 0, 40, interval=0.5)
        self.assertEqual(counts(dlq_url), 0)


class LambdaCurve(LambdaBase):
    """Gap 2: `serve --worker-secret-key-file F --worker-keys DIR` with real
    workers: an allowed key runs invocations; an unknown key, and a worker
    without Curve, are refused, and both sides log why."""
    START_BROKER = False

    def keygen(self):
        r = subprocess.run([harness.BINARY, "worker", "--keygen"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r)
        keys = dict(re.findall(r'^(public-key|secret-key) = "(.{40})"$', r.stdout, re.M))
        self.assertEqual(len(keys), 2, r.stdout)
        return keys["public-key"], keys["secret-key"], r.stdout

    def test_curve_allow_list(self):
        d = self.tmpdir("keys")
        broker_pub, _, broker_cert = self.keygen()
        ok_pub, ok_sec, ok_cert = self.keygen()
        bad_pub, bad_sec, _ = self.keygen()
        bare_pub, bare_sec, _ = self.keygen()
        secret_file = os.path.join(d, "broker.key_secret")
        with open(secret_file, "w") as f:
            f.write(broker_cert)  # czmq certificate lines: public-key and secret-key
        allow = os.path.join(d, "allowed")
        os.mkdir(allow)
        with open(os.path.join(allow, "ok.key"), "w") as f:
            f.write('# worker ok\npublic-key = "%s"\n' % ok_pub)
        with open(os.path.join(allow, "bare.key"), "w") as f:
            f.write(bare_pub + "\n")
        with open(os.path.join(allow, "bad.key_secret"), "w") as f:
            f.write('public-key = "%s"\nsecret-key = "%s"\n' % (bad_pub, bad_sec))  # ignored: a secret file
        self.broker = self.start_broker(extra_args=("--worker-secret-key-file", secret_file, "--worker-keys", allow))
        self.assertIn("allow-list", self.broker.log_text())

        def curve(pub, sec):
            return ["--broker-key", broker_pub, "--public-key", pub, "--secret-key", sec]
        ok = self.start_worker("--broker", self.broker.worker_endpoint, *curve(ok_pub, ok_sec),
                               "--function", so("echo", "echo"))
        bare = self.start_worker("--broker", self.broker.worker_endpoint, "--function", so("bareecho", "echo"),
                                 env={"SWITCHYARD_BROKER_KEY": broker_pub, "SWITCHYARD_WORKER_PUBLIC_KEY": bare_pub,
                                      "SWITCHYARD_WORKER_SECRET_KEY": bare_sec})
        bad = self.start_worker("--broker", self.broker.worker_endpoint, *curve(bad_pub, bad_sec),
                                "--function", so("intruder", "echo"))
        plain = self.start_worker("--broker", self.broker.worker_endpoint, "--function", so("plain", "echo"))
        lam, sqs = self.client("lambda"), self.client("sqs")
        self.wait_hosted(lam, "echo")
        self.wait_hosted(lam, "bareecho")
        r, out = self.invoke(lam, "echo", {"curve": True})
        self.assertEqual(out, {"curve": True})
        r, out = self.invoke(lam, "bareecho", {"bare": 1})
        self.assertEqual(out, {"bare": 1})
        # durable path over Curve too
        url = sqs.create_queue(QueueName="ok-dest")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        lam.put_function_event_invoke_config(FunctionName="echo", DestinationConfig={"OnSuccess": {"Destination": arn}})
        time.sleep(1.1)
        lam.invoke(FunctionName="echo", InvocationType="Event", Payload=b'{"async": 1}')
        got = self.receive_all(sqs, url, 1)
        self.assertEqual(got[0]["responsePayload"], {"async": 1})

        # the refused ones: logged on both sides, their functions never hosted
        self.assertEventually(lambda: ("refused worker key" in self.broker.log_text()
                                       and bad_pub in self.broker.log_text()), 20)
        self.assertEventually(lambda: "broker refused this worker's key" in bad.log_text(), 20)
        self.assertEventually(lambda: "handshake with broker failed" in plain.log_text(), 20)
        with self.assertRaises(Exception) as cm:
            lam.invoke(FunctionName="intruder", Payload=b"{}")
        self.assertRegex(str(cm.exception), "ResourceNotFound|ResourceNotReady")
        with self.assertRaises(Exception):
            lam.invoke(FunctionName="plain", Payload=b"{}")
        self.assertTrue(ok.running() and bad.running() and plain.running() and bare.running())
        self.assertEqual(self.hosted_sessions(), 2)

    def hosted_sessions(self):
        body = self.broker.http("GET", "/metrics")[2].decode()
        for line in body.splitlines():
            if line.startswith("switchyard_worker_sessions"):
                return int(float(line.split()[-1]))
        return 0


if __name__ == "__main__":
    unittest.main()
