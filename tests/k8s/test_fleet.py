"""ctest k8s_fleet: the Kubernetes test overlay under `podman kube play`.

3 broker pods, 2 worker pods and one PostgreSQL, with host networking on
127.0.0.1 (deploy/overlays/test; plumbing in fleet.py). Through the fleet,
round-robin over the three brokers (a client that cannot connect retries on
the next one, as a Service would route it): SQS sends/receives/deletes, sync
and async Invokes of the `ledger` function, STANDARD executions whose two
Tasks call it, and an SQS event-source mapping feeding it. Meanwhile one
broker pod and one worker pod are stopped with SIGTERM (each must exit 0
within its grace period: a clean drain) and then one of each is killed with
SIGKILL. The ledger function writes a start and a done line per id to a file
all worker pods share; the checks:

- nothing acknowledged is lost: every sent SQS message is received, every
  sync Invoke that answered, async Invoke that was accepted, message sent to
  the mapped queue and execution started has run to its end;
- nothing runs twice where AWS promises once: each execution succeeds once
  with one success per Task state, and a sync Invoke or a Task runs twice
  only if its first run was in flight on a SIGKILLed pod (or the client
  retried after a broken connection); an SQS message comes back only if its
  delete failed; repeats of async invokes and mapping batches (at least
  once, on AWS too) are counted in the summary line, not failed;
- no client error beyond a retried connection, and every sync Invoke
  succeeds whichever broker it reaches; sync and async Invokes are served by
  all three brokers;
- `podman kube down` leaves no container, pod, volume or secret behind.

Skips (exit 77) where podman is not installed; the images are built by the
k8s_images fixture (deploy/podman/build-images).
"""

import collections
import itertools
import json
import os
import shutil
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

import botocore.exceptions

import fleet
from fleet import BROKERS, WORKERS

REGION = "us-east-1"
ACCOUNT = "000000000000"
STEADY_S = float(os.environ.get("SY_FLEET_PHASE_S", "8"))
SETTLE_TIMEOUT = 180


def conn_errors():
    import botocore.exceptions as bx
    return (bx.ConnectionError, bx.HTTPClientError)


class Clients:
    """boto3 clients per broker; call() goes round-robin and moves on to the
    next broker when a connection fails (a Service routes around a pod that
    is going away); any other error is the caller's."""

    def __init__(self, urls):
        import boto3
        from botocore.config import Config
        cfg = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=3, read_timeout=40,
                     max_pool_connections=20)
        s = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
        self.c = {svc: [s.client(svc, endpoint_url=u, config=cfg) for u in urls]
                  for svc in ("sqs", "lambda", "stepfunctions")}
        self.rr = itertools.count()
        self.lock = threading.Lock()
        self.conn_retries = 0
        self.service_retries = 0
        self.throttled = []  # (time, broker, operation) of 429 answers

    def call(self, svc, op, broker=None, **kw):
        """Returns (response, broker index that answered, retried: bool)."""
        with self.lock:
            start = next(self.rr) if broker is None else broker
        errs = conn_errors()
        retried = False
        for attempt in range(15):
            b = (start + attempt) % 3
            try:
                return getattr(self.c[svc][b], op)(**kw), b, attempt > 0 or retried
            except errs:
                with self.lock:
                    self.conn_retries += 1
                time.sleep(0.2)
            except botocore.exceptions.ClientError as e:
                code = e.response.get("Error", {}).get("Code")
                if code == "ServiceException" and e.response["ResponseMetadata"]["HTTPStatusCode"] == 500:
                    # a call handed to a broker pod that was killed while running it:
                    # outcome unknown, retried as an SDK retries a 5xx (counted as a
                    # client retry: a second run of it is excused)
                    with self.lock:
                        self.service_retries += 1
                    retried = True
                    time.sleep(0.2)
                    continue
                # throttling: retried as an SDK does; the test checks when it happened
                if code != "TooManyRequestsException":
                    raise
                with self.lock:
                    self.throttled.append((time.time(), b, op))
                time.sleep(0.2)
        raise RuntimeError("%s.%s: no broker reachable" % (svc, op))


class FleetTest(unittest.TestCase):
    fleet = None

    @classmethod
    def setUpClass(cls):
        if not shutil.which("podman"):
            raise unittest.SkipTest("podman is not installed (scripts/install-deps installs it)")
        build = os.environ.get("SY_BUILD_DIR", os.path.join(fleet.SOURCE_DIR, "build"))
        cls.fleet = f = fleet.Fleet(os.path.join(build, "k8s-logs", "fleet"))
        f.clean_stale()
        cls.before = fleet.podman_state()
        try:
            f.render()
            f.create_secrets()
            f.up()
        except Exception:
            f.save_logs()
            f.down()
            raise
        cls.clients = Clients(f.urls)

    @classmethod
    def tearDownClass(cls):
        if cls.fleet:
            if cls.fleet.played:
                cls.fleet.save_logs()
                cls.fleet.down()
            cls.fleet.remove_dir()

    def configure_functions(self):
        """ledger and charge-payment with a 20 s timeout (a worker's
        announcement may have created them already, with defaults)."""
        cl = self.clients
        for name in ("ledger", "charge-payment"):
            try:
                cl.call("lambda", "create_function", FunctionName=name, Runtime="provided.al2023",
                        Role="arn:aws:iam::%s:role/fleet" % ACCOUNT, Handler="h",
                        Code={"ZipFile": b"code is the worker's"}, Timeout=20)
            except cl.c["lambda"][0].exceptions.ResourceConflictException:
                cl.call("lambda", "update_function_configuration", FunctionName=name, Timeout=20)

    # ------------------------------------------------------------ 1: probes
    def test_1_probes(self):
        """`switchyard probe ready|live` (the manifests' exec probes) in every
        broker pod; podman runs the liveness probe as its healthcheck."""
        for b in BROKERS:
            for what in ("ready", "live"):
                rc, out, err = fleet.podman("exec", b, "/usr/local/bin/switchyard", "probe", what, check=False)
                self.assertEqual(rc, 0, "%s: probe %s: %s %s" % (b, what, out, err))
            rc, out, err = fleet.podman("healthcheck", "run", b, check=False)
            self.assertEqual(rc, 0, "%s: liveness (podman healthcheck run): %s %s" % (b, out, err))

    def metrics(self, i):
        with urllib.request.urlopen(self.fleet.urls[i] + "/metrics", timeout=5) as r:
            return r.read().decode()

    # ------------------------------------------------------- 2: KEDA / gauges
    def test_2_backlog_signal(self):
        """GET /keda/backlog?functions=... (KEDA's metrics-api scaler,
        valueLocation backlog, no signature) and the depth gauges on
        /metrics, on every broker: a burst of slow async invokes shows up as
        backlog everywhere, then drains to 0."""
        self.configure_functions()

        def get(i):
            url = self.fleet.urls[i] + "/keda/backlog?functions=ledger,charge-payment"
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.loads(r.read())

        def backlog(i):
            body = get(i)
            self.assertEqual(set(body), {"backlog", "queued", "inflight", "functions"}, body)
            self.assertEqual(body["backlog"], body["queued"] + body["inflight"], body)
            self.assertEqual(body["functions"], 2, body)
            return body["backlog"]
        # the workers' announcements create both functions (the numbers are
        # refreshed once a second)
        self.assertTrue(fleet.harness.wait_until(lambda: all(get(i)["functions"] == 2 for i in range(3)), 30, 0.5),
                        [get(i) for i in range(3)])
        for i in range(3):
            self.assertEqual(backlog(i), 0)
        # queue depth: 3 visible messages, on every broker's /metrics
        url = self.clients.call("sqs", "create_queue", QueueName="fleet-depth")[0]["QueueUrl"]
        for n in range(3):
            self.clients.call("sqs", "send_message", QueueUrl=url, MessageBody="m%d" % n)
        line = 'switchyard_queue_messages{queue="fleet-depth",state="visible"} 3'
        for i in range(3):
            self.assertTrue(fleet.harness.wait_until(lambda: line in self.metrics(i), 20, 0.5),
                            "broker %d: no %s" % (i + 1, line))
        self.assertIn("# TYPE switchyard_queue_messages gauge", self.metrics(0))

        for n in range(24):
            self.clients.call("lambda", "invoke", FunctionName="ledger", InvocationType="Event",
                              Payload=json.dumps({"id": "keda-%d" % n, "sleep": 1.0}))
        saw = set()

        def all_saw():
            saw.update(i for i in range(3) if i not in saw and backlog(i) > 0)
            return len(saw) == 3
        self.assertTrue(fleet.harness.wait_until(all_saw, 20, 0.2),
                        "brokers that showed the backlog: %s" % sorted(saw))
        for i in range(3):
            metrics = self.metrics(i)
            self.assertIn("# TYPE switchyard_function_backlog gauge", metrics, "broker %d" % (i + 1))
            self.assertIn('switchyard_function_backlog{function="ledger"', metrics)
        self.assertTrue(fleet.harness.wait_until(lambda: all(backlog(i) == 0 for i in range(3)), 120, 1.0),
                        "the backlog did not drain")

    # ------------------------------------------------- 3: traffic and faults
    def test_3_traffic_through_faults(self):
        f, cl = self.fleet, self.clients
        role = "arn:aws:iam::%s:role/fleet" % ACCOUNT
        fn_arn = "arn:aws:lambda:%s:%s:function:ledger" % (REGION, ACCOUNT)
        self.configure_functions()
        sqs_url = cl.call("sqs", "create_queue", QueueName="fleet-sqs",
                          Attributes={"VisibilityTimeout": "5"})[0]["QueueUrl"]
        esm_url = cl.call("sqs", "create_queue", QueueName="fleet-esm",
                          Attributes={"VisibilityTimeout": "25"})[0]["QueueUrl"]
        cl.call("lambda", "create_event_source_mapping", FunctionName="ledger", BatchSize=5,
                EventSourceArn="arn:aws:sqs:%s:%s:fleet-esm" % (REGION, ACCOUNT))
        # the Retry AWS recommends for Lambda tasks (service errors, throttling),
        # plus a function environment that died (its worker pod was killed)
        retry = [{"ErrorEquals": ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                                  "Lambda.TooManyRequestsException", "Runtime.ExitError"],
                  "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2}]
        sm = {"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": fn_arn, "ResultPath": "$.a", "Next": "B", "Retry": retry,
                  "Parameters": {"id.$": "States.Format('{}-a', $.id)", "sleep.$": "$.sleep"}},
            "B": {"Type": "Task", "Resource": fn_arn, "ResultPath": "$.b", "End": True, "Retry": retry,
                  "Parameters": {"id.$": "States.Format('{}-b', $.id)", "sleep.$": "$.sleep"}}}}
        sm_arn = cl.call("stepfunctions", "create_state_machine", name="fleet-sm", type="STANDARD",
                         roleArn=role, definition=json.dumps(sm))[0]["stateMachineArn"]

        # every broker serves a sync Invoke, and the example image's C handler runs
        for b in range(3):
            r, _, _ = cl.call("lambda", "invoke", broker=b, FunctionName="charge-payment", Payload=json.dumps(
                {"order": {"order_id": "o-%d" % b, "card": "tok_visa", "total": 12.5}, "attempt": 0}))
            out = json.loads(r["Payload"].read())
            self.assertNotIn("FunctionError", r, out)
            self.assertEqual(out["payment_id"], "pay-o-%d" % b, out)

        lock = threading.Lock()
        stop = threading.Event()
        errors = []                          # client errors other than a broken connection
        sqs_sent, sqs_got, sqs_del_failed = {}, collections.Counter(), set()
        sync_ok, sync_retried, sync_failed = {}, set(), {}
        async_ok, esm_sent, execs = {}, {}, {}
        served = {"sync": collections.Counter(), "async": collections.Counter()}
        consumers_done = threading.Event()

        def guarded(fn):
            def run():
                n = 0
                while not stop.is_set():
                    n += 1
                    try:
                        fn(n)
                    except Exception as e:  # noqa: BLE001 - every failure is a finding
                        with lock:
                            errors.append("%s #%d: %r" % (fn.__name__, n, e))
                        time.sleep(0.2)
            return run

        def sqs_send(n):
            ident = "sqs-%d" % n
            cl.call("sqs", "send_message", QueueUrl=sqs_url, MessageBody=ident)
            sqs_sent[ident] = time.time()
            time.sleep(0.08)

        def sqs_receive():
            while not consumers_done.is_set():
                try:
                    r, b, _ = cl.call("sqs", "receive_message", QueueUrl=sqs_url, MaxNumberOfMessages=10,
                                      WaitTimeSeconds=1)
                except Exception as e:  # noqa: BLE001
                    with lock:
                        errors.append("sqs receive: %r" % e)
                    time.sleep(0.2)
                    continue
                for m in r.get("Messages", []):
                    with lock:
                        sqs_got[m["Body"]] += 1
                    try:
                        cl.call("sqs", "delete_message", QueueUrl=sqs_url, ReceiptHandle=m["ReceiptHandle"])
                    except Exception as e:  # noqa: BLE001
                        with lock:
                            sqs_del_failed.add(m["Body"])
                            errors.append("sqs delete %s: %r" % (m["Body"], e))

        def sync_invoke(n, tag):
            ident = "sync-%s-%d" % (tag, n)
            r, b, retried = cl.call("lambda", "invoke", FunctionName="ledger",
                                    Payload=json.dumps({"id": ident, "sleep": 0.05}))
            out = r["Payload"].read()
            with lock:
                if retried:
                    sync_retried.add(ident)
                if r.get("FunctionError") or json.loads(out).get("id") != ident:
                    sync_failed[ident] = (b, r.get("FunctionError"), out[:300])
                else:
                    sync_ok[ident] = b
                    served["sync"][b] += 1

        def sync_a(n):
            sync_invoke(n, "a")

        def sync_b(n):
            sync_invoke(n, "b")

        def async_invoke(n):
            ident = "async-%d" % n
            r, b, _ = cl.call("lambda", "invoke", FunctionName="ledger", InvocationType="Event",
                              Payload=json.dumps({"id": ident, "sleep": 0.2}))
            self.assertEqual(r["StatusCode"], 202)
            with lock:
                async_ok[ident] = b
                served["async"][b] += 1
            time.sleep(0.1)

        def esm_send(n):
            ident = "esm-%d" % n
            cl.call("sqs", "send_message", QueueUrl=esm_url, MessageBody=json.dumps({"id": ident, "sleep": 0.05}))
            esm_sent[ident] = time.time()
            time.sleep(0.15)

        def start_execution(n):
            name = "ex-%d" % n
            r, _, _ = cl.call("stepfunctions", "start_execution", stateMachineArn=sm_arn, name=name,
                              input=json.dumps({"id": name, "sleep": 0.2}))
            execs[name] = r["executionArn"]
            time.sleep(0.3)

        producers = [threading.Thread(target=guarded(fn), daemon=True)
                     for fn in (sqs_send, sync_a, sync_b, async_invoke, esm_send, start_execution)]
        consumers = [threading.Thread(target=sqs_receive, daemon=True) for _ in range(2)]
        for t in producers + consumers:
            t.start()

        events = []  # (time, what, container)

        # phase 1: steady
        time.sleep(STEADY_S)
        with lock:
            steady = {k: dict(v) for k, v in served.items()}

        # phase 2: SIGTERM one worker pod, then one broker pod (one at a time,
        # as a node drain under the PodDisruptionBudgets does): each drains
        # cleanly (exit 0 within the grace period) and the Deployment
        # replaces it
        stopped = {}
        for name, idx in ((WORKERS[0], None), (BROKERS[1], 1)):
            lines = f.log_lines(name)
            events.append((time.time(), "SIGTERM", name))
            t0 = time.time()
            rc, so, se = fleet.podman("stop", "-t", "30", name, check=False)
            stopped[name] = (fleet.container_state(name), round(time.time() - t0, 1), (so + se).strip()[-300:])
            fleet.podman("start", name)
            if idx is None:
                back = fleet.harness.wait_until(lambda: f.registered(name, since=lines), 180, 0.5)
            else:
                back = fleet.harness.wait_until(lambda: f.healthy(idx), 180, 0.5)
            self.assertTrue(back, "%s did not come back\n%s" % (name, f.logs(name)))
            events.append((time.time(), "back", name))
            time.sleep(STEADY_S / 4)

        # phase 3: SIGKILL one broker pod and one worker pod
        w1_lines = f.log_lines(WORKERS[1])
        kill_time = time.time()
        for name in (BROKERS[2], WORKERS[1]):
            events.append((time.time(), "SIGKILL", name))
            fleet.podman("kill", "-s", "KILL", name)
        for name in (BROKERS[2], WORKERS[1]):
            # podman's restart policy (the Deployment's Always) brings it back;
            # if it has not within a few seconds, start it as a Deployment would
            def running():
                if fleet.container_state(name)[0] == "running":
                    return True
                fleet.podman("pod", "start", name.rsplit("-", 1)[0], check=False)
                return False
            self.assertTrue(fleet.harness.wait_until(running, 120, 2.0), "%s did not restart" % name)
        self.assertTrue(fleet.harness.wait_until(lambda: f.healthy(2), 180, 0.5), f.logs(BROKERS[2]))
        events.append((time.time(), "back", BROKERS[2]))
        self.assertTrue(fleet.harness.wait_until(lambda: f.registered(WORKERS[1], since=w1_lines), 180, 0.5),
                        f.logs(WORKERS[1]))
        time.sleep(STEADY_S / 2)
        stop.set()
        for t in producers:
            t.join(60)

        # settle: everything acknowledged reaches its end
        def settled():
            led = f.ledger()
            done = {i for i, runs in led.items() if any(w == "done" for _, w, _, _ in runs)}
            with lock:
                missing_sqs = [i for i in sqs_sent if sqs_got[i] == 0]
            missing = [i for i in list(async_ok) + list(esm_sent) + list(sync_ok) if i not in done]
            open_execs = 0
            for name, arn in list(execs.items()):
                if name in finished:
                    continue
                st = cl.call("stepfunctions", "describe_execution", executionArn=arn)[0]["status"]
                if st == "RUNNING":
                    open_execs += 1
                else:
                    finished[name] = st
            progress.update(sqs=len(missing_sqs), fn=len(missing), execs=open_execs)
            return not missing_sqs and not missing and open_execs == 0
        finished, progress = {}, {}
        ok = fleet.harness.wait_until(settled, SETTLE_TIMEOUT, 1.0)
        consumers_done.set()
        for t in consumers:
            t.join(30)
        self.assertTrue(ok, "not settled after %d s; still missing: %s" % (SETTLE_TIMEOUT, progress))

        # ------------------------------------------------------------ ledger
        led = f.ledger()
        kills = [t for t, what, _ in events if what == "SIGKILL"]
        killed_workers = {n.rsplit("-worker", 1)[0] for t, what, n in events if what == "SIGKILL"}

        def excusable(ident, runs):
            """A second run is excusable when the first was in flight on a
            killed pod, or when the client itself retried."""
            if ident in sync_retried:
                return True
            starts = sorted(r for r in runs if r[1] == "start")
            first = starts[0]
            first_done = [r for r in runs if r[1] == "done" and r[3] == first[3]]
            if first[2] in killed_workers and not first_done:
                return True
            end = first_done[0][0] if first_done else first[0]
            return any(first[0] - 1 <= k + 0.5 and end >= k - 5 for k in kills)

        # AWS promises one run per sync Invoke and per Task of a STANDARD
        # execution (no Retry here); async invokes and event-source mappings
        # are at-least-once: their repeats are counted, not failed
        once = ("sync-", "ex-")
        dups, bad_dups, repeats = {}, {}, {}
        for ident, runs in led.items():
            n = sum(1 for r in runs if r[1] == "start")
            if n > 1:
                dups[ident] = n
                if not ident.startswith(once):
                    repeats[ident] = n
                elif not excusable(ident, runs):
                    bad_dups[ident] = sorted(runs)
        for name, st in finished.items():
            if st != "SUCCEEDED":
                d = cl.call("stepfunctions", "describe_execution", executionArn=execs[name])[0]
                h = cl.call("stepfunctions", "get_execution_history", executionArn=execs[name], maxResults=1000)[0]
                self.fail("execution %s %s: %s %s\n%s" % (name, st, d.get("error"), d.get("cause"),
                          [(e["type"], {k: v for k, v in e.items() if k.endswith("Details")}) for e in h["events"]]))

        # STANDARD executions: exactly once, one success per Task state
        listed = []
        kw = {"stateMachineArn": sm_arn, "maxResults": 1000}
        while True:
            r = cl.call("stepfunctions", "list_executions", **kw)[0]
            listed += r["executions"]
            if not r.get("nextToken"):
                break
            kw["nextToken"] = r["nextToken"]
        self.assertEqual(sorted(e["name"] for e in listed), sorted(execs), "one execution per StartExecution")
        for name, arn in execs.items():
            hist = cl.call("stepfunctions", "get_execution_history", executionArn=arn, maxResults=1000)[0]["events"]
            kinds = collections.Counter(e["type"] for e in hist)
            self.assertEqual(kinds["ExecutionSucceeded"], 1, (name, kinds))
            succeeded = kinds["TaskSucceeded"] + kinds["LambdaFunctionSucceeded"]
            self.assertEqual(succeeded, 2, (name, kinds))
            for suffix in ("a", "b"):
                self.assertIn("%s-%s" % (name, suffix), led, "task %s-%s never ran" % (name, suffix))

        sqs_dups = {i: c for i, c in sqs_got.items() if c > 1}
        sqs_bad_dups = {i: c for i, c in sqs_dups.items() if i not in sqs_del_failed}
        # a sync Invoke whose run was cut by the SIGKILL of its worker pod fails
        # as on AWS (Runtime.ExitError; Lambda does not retry sync invokes);
        # the ledger must show no run of it but on a killed pod, none finished
        def cut_by_kill(ident, fn_error, out):
            try:
                etype = json.loads(out).get("errorType")
            except ValueError:
                return False
            runs = led.get(ident, [])  # none: delivered to the pod, killed before the handler started
            return (fn_error == "Unhandled" and etype == "Runtime.ExitError" and bool(killed_workers) and
                    all(r[2] in killed_workers for r in runs) and not any(r[1] == "done" for r in runs))
        summary = {
            "sqs_sent": len(sqs_sent), "sqs_received": len(sqs_got), "sqs_duplicates": len(sqs_dups),
            "sync_ok": len(sync_ok), "sync_retried_after_broken_connection": len(sync_retried),
            "sync_failed_on_killed_worker": sorted(i for i, v in sync_failed.items() if cut_by_kill(i, *v[1:])),
            "async": len(async_ok), "esm": len(esm_sent), "executions": len(execs),
            "function_reruns_excused": len(dups) - len(bad_dups) - len(repeats),
            "at_least_once_repeats": sorted(repeats), "connection_retries": cl.conn_retries,
            "service_error_retries": cl.service_retries,
            "throttled_retries": len(cl.throttled),
            "served_in_steady_phase": steady, "sigterm": {n: [v[0][1], v[1]] for n, v in stopped.items()},
        }
        print("fleet ledger: %s" % json.dumps(summary), file=sys.stderr)

        for name, ((status, code), took, text) in stopped.items():
            self.assertEqual((status, code), ("exited", 0), "%s after SIGTERM: took %.1f s; %s; its log: %s"
                             % (name, took, text, os.path.join(f.log_dir, name + ".log")))
        self.assertEqual(errors, [], "client errors other than a broken connection")
        # a 429 is only acceptable while a broker leaves or joins (its share of
        # the cluster-wide concurrency is being rebalanced): between a broker's
        # SIGTERM/SIGKILL and 15 s after it is back
        windows = []
        for t, what, name in events:
            if name in BROKERS and what in ("SIGTERM", "SIGKILL"):
                back = [bt for bt, bw, bn in events if bn == name and bw == "back" and bt >= t]
                windows.append((t, (back[0] if back else t) + 15))
        stray = [x for x in cl.throttled if not any(a <= x[0] <= b for a, b in windows)]
        self.assertEqual(stray, [], "429 answers while no broker was leaving or joining")
        sync_cut = {i for i, (_, fe, out) in sync_failed.items() if cut_by_kill(i, fe, out)}
        self.assertEqual({i: v for i, v in sync_failed.items() if i not in sync_cut}, {},
                         "sync Invokes that did not succeed")
        self.assertEqual(sqs_bad_dups, {}, "SQS messages received again after a successful delete")
        self.assertEqual(bad_dups, {}, "function runs repeated without a killed pod or client retry to excuse them")
        for kind in ("sync", "async"):
            self.assertEqual(sorted(steady[kind]), [0, 1, 2], "%s Invokes served by every broker: %s" % (kind, steady))
        for floor, what in ((20, sqs_sent), (20, sync_ok), (10, async_ok), (10, esm_sent), (5, execs)):
            self.assertGreaterEqual(len(what), floor, summary)

    # ------------------------------------------------------ 9: kube down
    def test_9_kube_down_leaves_nothing(self):
        f = self.fleet
        f.save_logs()
        errors = f.down()
        self.assertEqual(errors, [])
        after = fleet.podman_state()
        for kind in ("containers", "pods", "volumes", "secrets"):
            self.assertEqual(sorted(after[kind] - self.before[kind]), [], "%s left behind" % kind)
        for port in f.http_ports + f.worker_ports + [f.pg_port]:
            self.assertFalse(port_open(port), "something still listens on 127.0.0.1:%d" % port)


def port_open(port):
    import socket
    s = socket.socket()
    s.settimeout(1)
    try:
        return s.connect_ex(("127.0.0.1", port)) == 0
    finally:
        s.close()


if __name__ == "__main__":
    if not shutil.which("podman"):
        print("podman is not installed (scripts/install-deps installs it): skipping", file=sys.stderr)
        sys.exit(77)
    unittest.main(verbosity=2)
