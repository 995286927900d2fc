"""Clock jumps (issue 14): two brokers on one database, one of them with a
test clock (--test-clock-file: milliseconds added to its wall clock, re-read
while it runs) that jumps an hour forward, back, an hour backward and back
while both serve an EventBridge schedule, SQS delayed messages and Step
Functions executions with a Wait (all started through the jumping broker).

Nothing may fire twice or be lost: every scheduled tick has its own time and
no gap is longer than a few periods, every delayed message arrives once and
not before its delay, every execution SUCCEEDED once, its Wait lasted as
long as it says (measured by the test's monotonic clock) and its history's
timestamps never go backwards. --time-scale 30 makes rate(1 minute) a 2 s
tick and a 60 s Wait a 2 s one."""

import json
import os
import threading
import time
import unittest

from fault_common import Q_ARN, ROLE, drain
from fleet_common import FleetCase
from test_fault import report

SCALE = 30
PERIOD_S = 60.0 / SCALE  # rate(1 minute)
WAIT_S = 60.0 / SCALE  # "Seconds": 60
DELAY_S = 2  # SQS DelaySeconds (not scaled)
HOUR_MS = 3600 * 1000
# (seconds into the run, offset of the jumping broker's wall clock)
JUMPS = [(4, HOUR_MS), (12, 0), (20, -HOUR_MS), (28, 0), (32, 7 * 24 * HOUR_MS), (36, 0)]
RUN_S = 42


class TestClockJumps(FleetCase):
    def test_schedules_delays_and_waits_survive_a_jumping_clock(self):
        clock = os.path.join(self.tmpdir("clock"), "offset_ms")
        with open(clock, "w") as f:
            f.write("0\n")
        a = self.start_broker(extra_args=("--time-scale", str(SCALE)))
        b = self.start_broker(extra_args=("--time-scale", str(SCALE), "--test-clock-file", clock))
        sqs = self.client("sqs", broker=b)
        ticks = sqs.create_queue(QueueName="ticks")["QueueUrl"]
        delayed = sqs.create_queue(QueueName="delayed")["QueueUrl"]
        sfn = self.client("stepfunctions", broker=b)
        sm = sfn.create_state_machine(name="waiter", roleArn=ROLE, definition=json.dumps({
            "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "Next": "P"},
                                       "P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
        ev = self.client("events", broker=b)
        ev.put_rule(Name="tick", ScheduleExpression="rate(1 minute)")
        ev.put_targets(Rule="tick", Targets=[{"Id": "q", "Arn": Q_ARN % "ticks"}])

        sent, started = {}, {}  # id -> monotonic time it was acknowledged
        stop = threading.Event()

        def jump(offset_ms):
            tmp = clock + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % offset_ms)
            os.replace(tmp, clock)

        def load():
            k = 0
            while not stop.is_set():
                k += 1
                t_send = time.monotonic()  # the delay runs from the send, not from its answer
                sqs.send_message(QueueUrl=delayed, MessageBody="d%d" % k, DelaySeconds=DELAY_S)
                sent["d%d" % k] = t_send
                if k % 3 == 0:
                    sfn.start_execution(stateMachineArn=sm, name="x%d" % k, input="{}")
                    started["x%d" % k] = time.monotonic()
                time.sleep(0.5)

        received = {}  # body -> [monotonic receive times]

        def consume():
            c = self.client("sqs", broker=a)
            while not stop.is_set() or time.monotonic() < stop_at[0] + DELAY_S + 5:
                r = c.receive_message(QueueUrl=delayed, MaxNumberOfMessages=10, WaitTimeSeconds=1)
                now = time.monotonic()
                for m in r.get("Messages", []):
                    received.setdefault(m["Body"], []).append(now)
                    c.delete_message(QueueUrl=delayed, ReceiptHandle=m["ReceiptHandle"])

        stop_at = [float("inf")]
        threads = [threading.Thread(target=load, daemon=True), threading.Thread(target=consume, daemon=True)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for at, offset in JUMPS:
            time.sleep(max(0, t0 + at - time.monotonic()))
            jump(offset)
        time.sleep(max(0, t0 + RUN_S - time.monotonic()))
        stop_at[0] = time.monotonic()
        stop.set()
        ev.disable_rule(Name="tick")
        for t in threads:
            t.join(60)

        # schedules: each tick once, none lost
        times = sorted(json.loads(x)["time"] for x in drain(sqs, ticks))
        secs = [time.mktime(time.strptime(t, "%Y-%m-%dT%H:%M:%SZ")) for t in times]
        gaps = [y - x for x, y in zip(secs, secs[1:])]
        # delayed messages: once each, never early
        early = {m: round(r[0] - sent[m], 2) for m, r in received.items() if r[0] - sent[m] < DELAY_S - 0.3}
        # executions: SUCCEEDED once, the Wait as long as it says, history in order
        disorder = []
        for name in sorted(started):
            arn = sm.replace(":stateMachine:", ":execution:") + ":" + name
            self.assertEventually(lambda a=arn: sfn.describe_execution(executionArn=a)["status"] != "RUNNING", 120,
                                  "execution %s lost its timer" % name)
            d = sfn.describe_execution(executionArn=arn)
            self.assertEqual(d["status"], "SUCCEEDED", d)
            hist = sfn.get_execution_history(executionArn=arn)["events"]
            self.assertEqual([e["type"] for e in hist].count("ExecutionSucceeded"), 1)
            stamps = [e["timestamp"] for e in hist]
            if stamps != sorted(stamps):
                disorder.append(name)
            entered = [e["timestamp"] for e in hist if e["type"] == "WaitStateEntered"][0]
            exited = [e["timestamp"] for e in hist if e["type"] == "WaitStateExited"][0]
            if (exited - entered).total_seconds() < WAIT_S - 0.5:
                disorder.append("%s waited %.2fs" % (name, (exited - entered).total_seconds()))
        totals = {"jumps_ms": [o for _, o in JUMPS], "ticks": {"fired": len(times), "distinct": len(set(times)),
                                                               "max_gap_s": max(gaps) if gaps else None,
                                                               "expected_about": int(RUN_S / PERIOD_S)},
                  "delayed": {"acked": len(sent), "received": sum(len(r) for r in received.values()),
                              "early": len(early)},
                  "executions": {"acked": len(started), "succeeded": len(started), "out_of_order": disorder}}
        report("clock jumps on one of two brokers", totals)
        self.assertEqual(len(times), len(set(times)), "a scheduled tick fired twice: %s" % times)
        self.assertGreaterEqual(len(times), int(RUN_S / PERIOD_S / 2), "ticks lost: %s" % times)
        self.assertLessEqual(max(gaps), 3 * PERIOD_S, "ticks lost: gaps %s" % gaps)
        self.assertEqual(set(received), set(sent), "delayed messages lost")
        self.assertEqual([m for m, r in received.items() if len(r) > 1], [], "delayed messages delivered twice")
        self.assertEqual(early, {}, "delayed messages delivered before their delay")
        self.assertEqual(disorder, [], "history timestamps out of order or a Wait cut short")


if __name__ == "__main__":
    unittest.main()
