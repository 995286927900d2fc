"""The fault suite's mixed load and its exact ledger (issue 14).

A Workload drives, through every broker it is given (failing over to the
next when one does not answer): SQS sends to a standard and a FIFO queue,
PublishBatch into a topic with two SQS subscriptions, PutEvents into a rule
with two SQS targets, async invokes of the ledger function, and STANDARD
executions (Wait, an inline Map, a function task). It records what each
broker acknowledged. Ledger.check() then accounts for every acknowledged
item: standard deliveries at least once (duplicates counted and reported),
FIFO exactly once and in order per group, every acknowledged invocation run,
every acknowledged execution SUCCEEDED exactly once."""

import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import harness  # noqa: E402
from fleet_common import FleetCase, LEDGER_SO, so  # noqa: E402,F401

ACCOUNT = "000000000000"
ROLE = "arn:aws:iam::%s:role/r" % ACCOUNT
FN_ARN = "arn:aws:lambda:us-east-1:%s:function:%%s" % ACCOUNT
Q_ARN = "arn:aws:sqs:us-east-1:%s:%%s" % ACCOUNT


# each service's "slow down" (core/http_limits.c): SQS, SNS, Lambda, EventBridge and Step Functions
THROTTLES = ("RequestThrottled", "Throttled", "TooManyRequestsException", "ThrottlingException", "SlowDown")


class Unavailable(Exception):
    """No broker acknowledged the operation (it may or may not have happened)."""


class Workload:
    def __init__(self, case, brokers, tag="w"):
        self.case, self.brokers, self.tag = case, list(brokers), tag
        self.lock = threading.Lock()
        self.acked = {"std": set(), "fifo": {}, "fan": set(), "events": set(), "async": set(), "exec": set()}
        self.refused = 0  # operations no broker acknowledged (allowed during faults)
        self.fifo_tried = set()
        self.partial_batches = 0  # PublishBatch answers with server-side Failed entries (retried)
        self.restarted_exec = 0  # StartExecution retries answered ExecutionAlreadyExists (first attempt had committed)
        self.crashes = []  # client loops ended by an error that is not a fault's retryable answer
        self.errors_seen = {}  # (service, code, status) -> count of retryable errors answered
        self.stop = threading.Event()
        self.clients = {}

    # ---- clients with failover
    def client(self, service, b):
        key = (service, b.port)
        if key not in self.clients:
            self.clients[key] = self.case.client(service, broker=b, connect_timeout=2, read_timeout=20)
        return self.clients[key]

    def call(self, service, fn, deadline_s=60):
        """fn(client) through the first broker that acknowledges; retried over
        all brokers until the deadline. Raises Unavailable."""
        from botocore.exceptions import BotoCoreError, ClientError
        end = time.monotonic() + deadline_s
        k = 0
        while time.monotonic() < end and not self.stop.is_set():
            b = self.brokers[k % len(self.brokers)]
            k += 1
            try:
                return fn(self.client(service, b))
            except ClientError as e:
                st = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                key = (service, e.response["Error"]["Code"], st)
                with self.lock:
                    self.errors_seen[key] = self.errors_seen.get(key, 0) + 1
                if st < 500 and e.response["Error"]["Code"] not in THROTTLES + ("ServiceUnavailable", "InternalFailure"):
                    raise
            except BotoCoreError:
                pass
            time.sleep(0.05)
        with self.lock:
            self.refused += 1
        raise Unavailable()

    # ---- setup
    def setup(self):
        b = self.brokers[0]
        sqs = self.client("sqs", b)
        self.std = sqs.create_queue(QueueName="std")["QueueUrl"]
        self.fifo = sqs.create_queue(QueueName="ord.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        self.sinks = [sqs.create_queue(QueueName="sink%d" % i)["QueueUrl"] for i in range(2)]
        self.ev_sinks = [sqs.create_queue(QueueName="evsink%d" % i)["QueueUrl"] for i in range(2)]
        sns = self.client("sns", b)
        self.topic = sns.create_topic(Name="fan")["TopicArn"]
        for i in range(2):
            sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=Q_ARN % ("sink%d" % i),
                          Attributes={"RawMessageDelivery": "true"})
        ev = self.client("events", b)
        ev.put_rule(Name="r", EventPattern=json.dumps({"source": ["fault"]}))
        ev.put_targets(Rule="r", Targets=[{"Id": "t%d" % i, "Arn": Q_ARN % ("evsink%d" % i)} for i in range(2)])
        d = {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "M"},
            "M": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P",
                "States": {"P": {"Type": "Pass", "End": True}}}, "ResultPath": "$.mapped", "Next": "T"},
            "T": {"Type": "Task", "Resource": FN_ARN % "led", "Parameters": {"x.$": "$.x"}, "End": True}}}
        self.sm = self.client("stepfunctions", b).create_state_machine(
            name="flow", definition=json.dumps(d), roleArn=ROLE)["stateMachineArn"]

    # ---- one client's loop
    def run(self, k, n):
        """Client k does n rounds (or until stopped); each round one of each operation."""
        t = "%s%d" % (self.tag, k)
        for i in range(n):
            if self.stop.is_set():
                return
            self.one("std", lambda c, b="%s-s%d" % (t, i): c.send_message(QueueUrl=self.std, MessageBody=b),
                     "sqs", "%s-s%d" % (t, i))
            body = "%s-o%d" % (t, i)
            with self.lock:
                self.fifo_tried.add(body)
            # FIFO: retried with the same deduplication id until acknowledged, so the group stays in order
            try:
                self.call("sqs", lambda c: c.send_message(QueueUrl=self.fifo, MessageBody=body,
                                                          MessageGroupId=t, MessageDeduplicationId=body))
                with self.lock:
                    self.acked["fifo"].setdefault(t, []).append(body)
            except Unavailable:
                return  # the group's order would be unknown from here on
            self._publish(["%s-p%d-%d" % (t, i, j) for j in range(3)])
            e = "%s-e%d" % (t, i)
            self.one("events", lambda c: self._put(c, e), "events", e)
            a = "%s-a%d" % (t, i)
            self.one("async", lambda c: c.invoke(FunctionName="led", InvocationType="Event",
                                                 Payload=json.dumps({"a": a}).encode()), "lambda", a)
            if i % 3 == 0:
                x = "%s-x%d" % (t, i)
                self.one("exec", lambda c: self._start(c, x), "stepfunctions", x)

    def _publish(self, ids):
        """PublishBatch until every entry is acknowledged: entries Failed with
        SenderFault false (the database refused them, others of the batch
        were committed) are sent again, alone; a sender fault is a bug."""
        left = list(ids)
        while left:
            try:
                r = self.call("sns", lambda c: c.publish_batch(TopicArn=self.topic, PublishBatchRequestEntries=[
                    {"Id": str(j), "Message": m} for j, m in enumerate(left)]))
            except Unavailable:
                return
            bad = {int(f["Id"]): f for f in r.get("Failed", [])}
            if any(f.get("SenderFault") for f in bad.values()):
                raise AssertionError("PublishBatch refused entries as the sender's fault: %r" % r["Failed"])
            with self.lock:
                self.acked["fan"].update(m for j, m in enumerate(left) if j not in bad)
                self.partial_batches += 1 if bad else 0
            left = [left[j] for j in sorted(bad)]

    def _start(self, c, x):
        """StartExecution, retried with the same name and input: AWS answers the
        same ARN while the first one runs and ExecutionAlreadyExists once it has
        ended — then the first attempt was committed though its answer was lost
        with a killed broker (only this client ever uses the name)."""
        from botocore.exceptions import ClientError
        try:
            return c.start_execution(stateMachineArn=self.sm, name=x, input=json.dumps({"x": x, "items": [1, 2, 3]}))
        except ClientError as e:
            if e.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
            arn = self.sm.replace(":stateMachine:", ":execution:") + ":" + x
            d = c.describe_execution(executionArn=arn)
            if json.loads(d["input"]) != {"x": x, "items": [1, 2, 3]}:
                raise
            with self.lock:
                self.restarted_exec += 1
            return d

    @staticmethod
    def _put(c, e):
        r = c.put_events(Entries=[{"Source": "fault", "DetailType": "t", "Detail": json.dumps({"e": e})}])
        if r.get("FailedEntryCount"):
            raise Unavailable()
        return r

    def one(self, kind, fn, service, *items):
        try:
            self.call(service, fn)
        except Unavailable:
            return
        with self.lock:
            self.acked[kind].update(items)


def drain(sqs, url, quiet_s=3, timeout=120):
    """Every body left in the queue (deleting them), until it stays empty for quiet_s."""
    got = []
    end = time.monotonic() + timeout
    last = time.monotonic()
    while time.monotonic() < end and time.monotonic() - last < quiet_s:
        r = _retrying(lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                                  VisibilityTimeout=30))
        ms = r.get("Messages", [])
        if ms:
            last = time.monotonic()
            got += [m["Body"] for m in ms]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(ms)]
            _retrying(lambda: sqs.delete_message_batch(QueueUrl=url, Entries=entries))
    return got


def _retrying(op, tries=20):
    """op(), again after a retryable answer (5xx or a throttle), as an SDK
    with retries would: the broker may still be catching up after a fault
    (a small pool busy with the backlog answers 503 for a moment)."""
    from botocore.exceptions import ClientError
    for i in range(tries):
        try:
            return op()
        except ClientError as e:
            code = e.response["Error"]["Code"]
            status = e.response["ResponseMetadata"]["HTTPStatusCode"]
            if i + 1 == tries or not (status >= 500 or code in THROTTLES):
                raise
            time.sleep(0.2)


class Ledger:
    """The accounting at the end; `totals` is printed by the tests for the note."""

    def __init__(self, case, w, ledger_path, broker):
        self.case, self.w, self.path, self.b = case, w, ledger_path, broker
        self.totals = {}

    def ran(self):
        a, x = [], []
        for _, ev in FleetCase.read_ledger(self.path):
            if isinstance(ev, dict) and "a" in ev:
                a.append(ev["a"])
            if isinstance(ev, dict) and "x" in ev:
                x.append(ev["x"])
        return a, x

    def check(self):
        c, w = self.case, self.w
        sqs = w.client("sqs", self.b)
        sfn = w.client("stepfunctions", self.b)
        tot = self.totals
        c.assertEqual(w.crashes, [], "clients got answers no fault explains")
        # standard queue: at least once
        got = drain(sqs, w.std)
        c.assertEqual(w.acked["std"] - set(got), set(), "acknowledged standard messages lost")
        tot["std"] = {"acked": len(w.acked["std"]), "delivered": len(got), "duplicates": len(got) - len(set(got))}
        # FIFO: exactly once, in order per group
        got = drain(sqs, w.fifo)
        acked = [b for g in w.acked["fifo"].values() for b in g]
        c.assertEqual(set(got) - w.fifo_tried, set(), "FIFO delivered something never sent")
        c.assertEqual(set(acked) - set(got), set(), "acknowledged FIFO messages lost")
        c.assertEqual(len(got), len(set(got)), "a FIFO message delivered twice")
        for g, bodies in w.acked["fifo"].items():
            mine = [b for b in got if b.rsplit("-", 1)[0] == g]
            c.assertEqual([b for b in mine if b in bodies], bodies, "FIFO group %s out of order" % g)
        tot["fifo"] = {"acked": len(acked), "delivered": len(got), "groups": len(w.acked["fifo"])}
        # fan-out: every acknowledged publish on both subscriptions
        for i, u in enumerate(w.sinks):
            got = drain(sqs, u)
            c.assertEqual(w.acked["fan"] - set(got), set(), "subscription %d lost published messages" % i)
            tot["fan%d" % i] = {"acked": len(w.acked["fan"]), "delivered": len(got),
                                "duplicates": len(got) - len(set(got))}
        # events: every acknowledged event on both targets
        for i, u in enumerate(w.ev_sinks):
            got = [json.loads(b)["detail"]["e"] for b in drain(sqs, u, quiet_s=5)]
            c.assertEqual(w.acked["events"] - set(got), set(), "target %d lost events" % i)
            tot["events%d" % i] = {"acked": len(w.acked["events"]), "delivered": len(got),
                                   "duplicates": len(got) - len(set(got))}
        # async invocations: each acknowledged one ran (at least once)
        c.assertEventually(lambda: w.acked["async"] <= set(self.ran()[0]), 180,
                           "acknowledged async invocations never ran")
        a = self.ran()[0]
        tot["async"] = {"acked": len(w.acked["async"]), "runs": len(a), "duplicates": len(a) - len(set(a))}
        # executions: each acknowledged one SUCCEEDED, once, its task's output in place
        for name in sorted(w.acked["exec"]):
            arn = w.sm.replace(":stateMachine:", ":execution:") + ":" + name
            try:
                c.assertEventually(lambda a=arn: sfn.describe_execution(executionArn=a)["status"] != "RUNNING", 180,
                                   "execution %s stuck" % name)
            except AssertionError:  # where it waits: the last events of its history
                ev = sfn.get_execution_history(executionArn=arn, maxResults=500)["events"]
                raise AssertionError("execution %s stuck; last events: %s" % (name, json.dumps(
                    [{k: v for k, v in e.items() if k != "timestamp"} for e in ev[-6:]], default=str)))
            d = sfn.describe_execution(executionArn=arn)
            c.assertEqual(d["status"], "SUCCEEDED", d)
            c.assertEqual(json.loads(d["output"]), {"x": name})
            types = [e["type"] for e in sfn.get_execution_history(executionArn=arn, maxResults=500)["events"]]
            c.assertEqual(types.count("ExecutionSucceeded"), 1, types)
        x = self.ran()[1]
        tot["exec"] = {"acked": len(w.acked["exec"]), "task_runs": len(x), "task_duplicates": len(x) - len(set(x))}
        tot["refused"] = w.refused
        tot["partial_batches"] = w.partial_batches
        tot["exec"]["already_existed_on_retry"] = w.restarted_exec
        return tot
