"""Lambda API end to end: real `switchyard worker` processes running the C
test handlers (tests/worker/test_handler.c) and the tutorial shell bootstrap
(tests/worker/runtime), driven by boto3 and the aws CLI."""

import json
import os
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


if __name__ == "__main__":
    unittest.main()


class LambdaAsync(LambdaBase):
    def queue(self, sqs, name, **attrs):
        url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

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
        n, failing = 10000, 0
        for b in range(n // 10):
            entries = []
            for k in range(10):
                i = b * 10 + k
                body = "fail-%d" % i if i % 50 == 0 else "ok-%d" % i
                failing += i % 50 == 0
                entries.append({"Id": str(k), "MessageBody": body})
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="consume", BatchSize=100,
                                            MaximumBatchingWindowInSeconds=1,
                                            FunctionResponseTypes=["ReportBatchItemFailures"])
        self.assertEqual(lam.get_event_source_mapping(UUID=m["UUID"])["BatchSize"], 100)
        self.assertEqual(len(lam.list_event_source_mappings(FunctionName="consume")["EventSourceMappings"]), 1)

        def counts(u):
            a = sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["All"])["Attributes"]
            return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])
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
