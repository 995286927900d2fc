"""Back-pressure (issue 14): many producers against one broker whose worker
fleet is saturated (one worker, 2 slots, a handler sleeping 300 ms) and
whose queue's consumer is slow. The broker must shed load rather than
buffer it: requests over --http-max-inflight (or whose bodies would pass
--http-max-buffered-mb) are refused at once with the service's throttling
error (SQS RequestThrottled 403, SNS Throttled 429, Lambda
TooManyRequestsException 429), the broker's RSS (sampled every 0.2 s) stays
within a bound, and the ledger still holds: every acknowledged message
delivered exactly once, every acknowledged invocation run exactly once, and
nothing written behind a throttle."""

import json
import os
import threading
import time
import unittest

from botocore.exceptions import ClientError

from fault_common import LEDGER_SO, Q_ARN, THROTTLES, drain, so
from fleet_common import FleetCase, metric
from test_fault import report

PRODUCERS = int(os.environ.get("SY_PRESSURE_PRODUCERS", "48"))
SECONDS = float(os.environ.get("SY_PRESSURE_SECONDS", "12"))
MAX_INFLIGHT = 16
BODY = 60 * 1024
RSS_BOUND_MB = 96  # growth over the idle broker allowed under load (ASan build, 4 MB quarantine)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class TestBackPressure(FleetCase):
    def test_producers_are_throttled_and_memory_stays_bounded(self):
        b = self.start_broker(extra_args=("--http-max-inflight", str(MAX_INFLIGHT), "--http-max-buffered-mb", "4"),
                              env={"ASAN_OPTIONS": "quarantine_size_mb=4:detect_leaks=0:abort_on_error=1"})
        hosts = self.hosts_file([b])
        ledger = os.path.join(self.tmpdir("ledger"), "ledger")
        self.fleet_worker(hosts, so("led", "ledger", lib=LEDGER_SO, concurrency=2, timeout=30),
                          env={"SY_LEDGER": ledger})
        self.wait_sessions(b, 1, timeout=60)
        sqs = self.client("sqs", broker=b)
        q = sqs.create_queue(QueueName="pressed")["QueueUrl"]
        sink = sqs.create_queue(QueueName="pressed-sink")["QueueUrl"]
        sns = self.client("sns", broker=b)
        topic = sns.create_topic(Name="pressed")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=Q_ARN % "pressed-sink",
                      Attributes={"RawMessageDelivery": "true"})

        lock = threading.Lock()
        acked = {"sqs": set(), "sns": set(), "lambda": set()}
        throttles, others = {}, []
        stop = threading.Event()
        clients = {}

        def client(service):
            k = (service, threading.get_ident())
            if k not in clients:
                clients[k] = self.client(service, broker=b, read_timeout=120, connect_timeout=10)
            return clients[k]

        def attempt(service, fn, item):
            """fn until acknowledged; a throttle waits and tries again (the
            caller's back-off); anything else is a failure of the test."""
            while not stop.is_set():
                try:
                    fn()
                    with lock:
                        acked[service].add(item)
                    return
                except ClientError as e:
                    code, st = e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
                    with lock:
                        if code in THROTTLES:
                            throttles[(service, code, st)] = throttles.get((service, code, st), 0) + 1
                        else:
                            others.append((service, code, st))
                            return
                    time.sleep(0.05)

        def producer(k):
            pad = "p" * BODY
            n = 0
            while not stop.is_set():
                n += 1
                m = "m%d-%d" % (k, n)
                if k % 3 == 0:
                    attempt("sqs", lambda: client("sqs").send_message(QueueUrl=q, MessageBody=m + " " + pad), m)
                elif k % 3 == 1:
                    attempt("sns", lambda: client("sns").publish(TopicArn=topic, Message=m + " " + pad[:BODY // 2]), m)
                else:
                    attempt("lambda", lambda: client("lambda").invoke(
                        FunctionName="led", Payload=json.dumps({"a": m, "sleep_ms": 300}).encode()), m)

        def slow_consumer():
            c = client("sqs")
            while not stop.is_set():
                try:
                    r = c.receive_message(QueueUrl=sink, MaxNumberOfMessages=1, WaitTimeSeconds=1)
                    for msg in r.get("Messages", []):
                        with lock:
                            consumed.append(msg["Body"].split(" ", 1)[0])
                        c.delete_message(QueueUrl=sink, ReceiptHandle=msg["ReceiptHandle"])
                except ClientError as e:  # the consumer is throttled too; a deleted one not counted would
                    if e.response["Error"]["Code"] not in THROTTLES:  # come back: visibility 30 s, drained
                        raise
                time.sleep(0.3)

        consumed = []
        time.sleep(1)
        base = rss_kib(b.pid)
        samples = []
        ts = [threading.Thread(target=producer, args=(k,), daemon=True) for k in range(PRODUCERS)]
        ts.append(threading.Thread(target=slow_consumer, daemon=True))
        for t in ts:
            t.start()
        t0 = time.monotonic()
        while time.monotonic() - t0 < SECONDS:
            samples.append(rss_kib(b.pid))
            time.sleep(0.2)
        stop.set()
        for t in ts:
            t.join(180)
        self.assertFalse(any(t.is_alive() for t in ts), "a producer hung")

        # the ledger: delivered / run exactly once, nothing behind a throttle
        got = [x.split(" ", 1)[0] for x in drain(sqs, q)]
        sunk = consumed + [x.split(" ", 1)[0] for x in drain(sqs, sink)]
        runs = []
        for _, ev in self.read_ledger(ledger):
            if isinstance(ev, dict) and "a" in ev:
                runs.append(ev["a"])
        totals = {
            "producers": PRODUCERS, "seconds": SECONDS, "max_inflight": MAX_INFLIGHT,
            "sqs": {"acked": len(acked["sqs"]), "delivered": len(got), "duplicates": len(got) - len(set(got))},
            "sns": {"acked": len(acked["sns"]), "delivered": len(sunk), "duplicates": len(sunk) - len(set(sunk)),
                    "consumed_slowly": len(consumed)},
            "lambda": {"acked": len(acked["lambda"]), "runs": len(runs), "duplicates": len(runs) - len(set(runs))},
            "throttled": {"%s %s %d" % k: n for k, n in sorted(throttles.items())},
            "throttled_metric": metric(b, "switchyard_http_throttled_total"),
            "rss_mb": {"idle": round(base / 1024, 1), "peak": round(max(samples) / 1024, 1),
                       "last": round(samples[-1] / 1024, 1), "samples": len(samples)},
        }
        report("back-pressure", totals)
        self.assertEqual(others, [], "answers that are neither success nor a throttle")
        self.assertEqual(set(got), acked["sqs"], "SQS: lost, or written behind a throttle")
        self.assertEqual(totals["sqs"]["duplicates"], 0)
        self.assertEqual(set(sunk), acked["sns"], "SNS: lost, or written behind a throttle")
        self.assertEqual(totals["sns"]["duplicates"], 0)
        self.assertEqual(set(runs), acked["lambda"], "Lambda: an acknowledged invocation never ran, or one ran "
                                                     "behind a throttle")
        self.assertEqual(totals["lambda"]["duplicates"], 0)
        for service in ("sqs", "sns", "lambda"):
            self.assertGreater(len(acked[service]), 0, "%s made no progress under pressure" % service)
        spelled = {(s, c, st) for (s, c, st) in throttles}
        self.assertIn(("sqs", "RequestThrottled", 403), spelled)
        self.assertIn(("sns", "Throttled", 429), spelled)
        self.assertIn(("lambda", "TooManyRequestsException", 429), spelled)
        self.assertGreaterEqual(totals["throttled_metric"], sum(n for (s, c, st), n in throttles.items()
                                                               if s != "lambda" or c != "TooManyRequestsException"))
        self.assertLess((max(samples) - base) / 1024, RSS_BOUND_MB, totals["rss_mb"])
        self.assertEqual(b.http("GET", "/health")[0], 200)


if __name__ == "__main__":
    unittest.main()
