#!/usr/bin/env python3
"""bench/soak.py - mixed load at half of peak for N minutes against one
broker (its own embedded PostgreSQL) and one worker, sampling every 10 s:
broker RSS, open descriptors, database connections, queue depth, p99
latency of the mixed operations, dead tuples of sy_messages. Prints a table,
then one JSON line with the trend of each series; exit 1 when a series
trends upward.

Load (one "operation" = one of these, round robin over the client threads):
SQS SendMessage + ReceiveMessage(10) + DeleteMessageBatch on a standard and a
FIFO queue, SNS Publish to a topic with two SQS subscriptions (drained by the
same receivers), EventBridge PutEvents into a rule with two SQS targets,
Lambda async Invoke of a C handler run by a real worker, and a STANDARD
execution with a Wait and a Map. Python stdlib only (no SDK): the JSON
protocols over raw HTTP, SNS over the query protocol.

usage: bench/soak.py --binary build/switchyard --minutes 2 [--clients 8]
       [--handler build/tests/worker/sy_test_handler.so] [--sdk: through boto3]"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

SAMPLE_S = 10


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Api:
    def __init__(self, port):
        self.port = port
        self.local = threading.local()

    def conn(self):
        c = getattr(self.local, "c", None)
        if c is None:
            c = self.local.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return c

    def call(self, method, path, body, headers):
        for attempt in range(3):
            c = self.conn()
            try:
                c.request(method, path, body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                return r.status, data
            except (http.client.HTTPException, OSError):
                c.close()
                self.local.c = None
                if attempt == 2:
                    raise
        raise RuntimeError("unreachable")

    def json(self, target, payload, version="1.0"):
        st, data = self.call("POST", "/", json.dumps(payload),
                             {"Content-Type": "application/x-amz-json-%s" % version, "X-Amz-Target": target,
                              "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/x/aws4_request"})
        if st >= 400:
            raise RuntimeError("%s: %d %s" % (target, st, data[:300]))
        return json.loads(data or b"{}")

    def sqs(self, action, **kw):
        return self.json("AmazonSQS." + action, kw)

    def events(self, action, **kw):
        return self.json("AWSEvents." + action, kw, "1.1")

    def sfn(self, action, **kw):
        return self.json("AWSStepFunctions." + action, kw)

    def sns(self, action, **kw):
        kw.update(Action=action, Version="2010-03-31")
        st, data = self.call("POST", "/", urllib.parse.urlencode(kw),
                             {"Content-Type": "application/x-www-form-urlencoded"})
        if st >= 400:
            raise RuntimeError("%s: %d %s" % (action, st, data[:300]))
        return data.decode()

    def lambda_(self, method, path, body=None, headers=None):
        st, data = self.call(method, path, json.dumps(body) if body is not None else None,
                             dict({"Content-Type": "application/json"}, **(headers or {})))
        if st >= 400:
            raise RuntimeError("lambda %s: %d %s" % (path, st, data[:300]))
        return data


class SdkApi(Api):
    """--sdk: the same calls through the boto3 of the interpreter running the
    soak (python3: SQS over JSON; /usr/bin/python3: boto3 1.26, SQS over
    query), so the soak runs under both client generations as the e2e tests
    do. Answers are shaped as the raw Api's (dicts; SNS as the XML bits
    setup() reads)."""

    def __init__(self, port):
        super().__init__(port)
        import boto3
        from botocore.config import Config
        self.session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                             region_name="us-east-1")
        self.cfg = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=10,
                          read_timeout=60, max_pool_connections=64)
        self.mu, self.clients = threading.Lock(), {}
        for service in ("sqs", "sns", "events", "stepfunctions", "lambda"):
            self.client(service)

    def client(self, service):
        """One client per service, shared by the threads (boto3 clients are
        thread-safe; making one takes ~0.5 s, which must not eat the peak)."""
        with self.mu:
            if service not in self.clients:
                self.clients[service] = self.session.client(service, endpoint_url="http://127.0.0.1:%d" % self.port,
                                                            config=self.cfg)
            return self.clients[service]

    @staticmethod
    def snake(action):
        return "".join("_" + ch.lower() if ch.isupper() and i else ch.lower() for i, ch in enumerate(action))

    def sdk(self, service, action, kw):
        r = getattr(self.client(service), self.snake(action))(**kw)
        r.pop("ResponseMetadata", None)
        return r

    def sqs(self, action, **kw):
        return self.sdk("sqs", action, kw)

    def events(self, action, **kw):
        return self.sdk("events", action, kw)

    def sfn(self, action, **kw):
        return self.sdk("stepfunctions", action, kw)

    def sns(self, action, **kw):
        attrs = {}
        for k in [k for k in kw if k.startswith("Attributes.entry.") and k.endswith(".key")]:
            attrs[kw.pop(k)] = kw.pop(k[:-4] + ".value")
        if attrs:
            kw["Attributes"] = attrs
        r = self.sdk("sns", action, kw)
        return "<TopicArn>%s</TopicArn>" % r["TopicArn"] if "TopicArn" in r else ""

    def lambda_(self, method, path, body=None, headers=None):
        lam = self.client("lambda")
        if path == "/2015-03-31/functions":
            body = dict(body, Code={"ZipFile": b""})
            try:
                return lam.create_function(**body)
            except lam.exceptions.ResourceConflictException:
                return {}  # the worker's HELLO registered it first
        name = path.split("/functions/")[1].split("/")[0]
        return lam.invoke(FunctionName=name, InvocationType=(headers or {}).get("X-Amz-Invocation-Type", "RequestResponse"),
                          Payload=json.dumps(body).encode())


def setup(api, account="000000000000"):
    q = api.sqs("CreateQueue", QueueName="soak")["QueueUrl"]
    fq = api.sqs("CreateQueue", QueueName="soak.fifo", Attributes={"FifoQueue": "true",
                                                                  "ContentBasedDeduplication": "true"})["QueueUrl"]
    sinks = [api.sqs("CreateQueue", QueueName="soak-sink-%d" % i)["QueueUrl"] for i in range(2)]
    topic_xml = api.sns("CreateTopic", Name="soak")
    topic = topic_xml.split("<TopicArn>")[1].split("</TopicArn>")[0]
    for i in range(2):
        api.sns("Subscribe", TopicArn=topic, Protocol="sqs",
                Endpoint="arn:aws:sqs:us-east-1:%s:soak-sink-%d" % (account, i),
                **{"Attributes.entry.1.key": "RawMessageDelivery", "Attributes.entry.1.value": "true"})
    api.events("PutRule", Name="soak", EventPattern=json.dumps({"source": ["soak"]}))
    api.events("PutTargets", Rule="soak", Targets=[
        {"Id": "s%d" % i, "Arn": "arn:aws:sqs:us-east-1:%s:soak-sink-%d" % (account, i)} for i in range(2)])
    definition = {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 1, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}}}
    sm = api.sfn("CreateStateMachine", name="soak", definition=json.dumps(definition),
                 roleArn="arn:aws:iam::%s:role/r" % account)["stateMachineArn"]
    try:
        api.lambda_("POST", "/2015-03-31/functions", {"FunctionName": "soak-echo", "Runtime": "provided.al2023",
                                                       "Role": "arn:aws:iam::%s:role/r" % account,
                                                       "Handler": "echo", "Code": {"ZipFile": ""}})
    except RuntimeError as e:
        # the worker started first and its HELLO announced (registered) the function
        if ": 409 " not in str(e):
            raise
    return {"q": q, "fq": fq, "sinks": sinks, "topic": topic, "sm": sm}


def drain(api, url, n=10):
    got = api.sqs("ReceiveMessage", QueueUrl=url, MaxNumberOfMessages=n).get("Messages", [])
    if got:
        api.sqs("DeleteMessageBatch", QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
    return len(got)


def operations(api, r):
    seq = iter(range(1 << 62))

    def sqs_std():
        api.sqs("SendMessage", QueueUrl=r["q"], MessageBody="x" * 200)
        drain(api, r["q"])

    def sqs_fifo():
        n = next(seq)
        api.sqs("SendMessage", QueueUrl=r["fq"], MessageBody="f%d" % n, MessageGroupId="g%d" % (n % 16))
        drain(api, r["fq"])

    def sns():
        api.sns("Publish", TopicArn=r["topic"], Message="m")
        for s in r["sinks"]:
            drain(api, s)

    def events():
        api.events("PutEvents", Entries=[{"Source": "soak", "DetailType": "t", "Detail": "{}"}])

    def invoke():
        api.lambda_("POST", "/2015-03-31/functions/soak-echo/invocations", {"n": 1},
                    {"X-Amz-Invocation-Type": "Event"})

    def execution():
        api.sfn("StartExecution", stateMachineArn=r["sm"], input=json.dumps({"items": [1, 2, 3]}))

    return [sqs_std, sqs_fifo, sns, events, invoke, execution]


class Load:
    def __init__(self, api, ops, clients):
        self.api, self.ops, self.clients = api, ops, clients
        self.rate = 0.0  # operations/s in all; 0 = as fast as possible
        self.stop = threading.Event()
        self.mu = threading.Lock()
        self.lat = []
        self.count = 0
        self.errors = 0
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(clients)]

    def run(self, i):
        k = i
        next_t = time.monotonic()
        while not self.stop.is_set():
            if self.rate > 0:
                next_t += self.clients / self.rate
                d = next_t - time.monotonic()
                if d > 0:
                    time.sleep(d)
                else:
                    next_t = time.monotonic()  # fell behind: do not burst
            op = self.ops[k % len(self.ops)]
            k += 1
            t0 = time.monotonic()
            try:
                op()
                ok = True
            except Exception as e:  # counted; printed once a window
                ok = False
                self.last_error = str(e)
            dt = time.monotonic() - t0
            with self.mu:
                if ok:
                    self.count += 1
                    self.lat.append(dt)
                else:
                    self.errors += 1

    def window(self):
        with self.mu:
            lat, n, e = self.lat, self.count, self.errors
            self.lat, self.count, self.errors = [], 0, 0
        lat.sort()
        p99 = lat[int(len(lat) * 0.99) - 1] * 1000 if lat else 0.0
        return n, e, p99


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def psql(sock_dir, sql):
    out = subprocess.run(["psql", "-h", sock_dir, "-U", "postgres", "-d", "switchyard", "-Atc", sql],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return out.stdout.decode().strip()


def trend(values):
    """The first third's highest value and the last third's lowest: a series
    trends up only when even its lowest late sample is above its highest
    early one (a spike in one window is not a trend)."""
    k = max(1, len(values) // 3)
    return max(values[:k]), min(values[-k:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--minutes", type=float, default=2)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--handler", default=None)
    ap.add_argument("--peak-seconds", type=float, default=10)
    ap.add_argument("--sdk", action="store_true", help="call through boto3 (this interpreter's generation)")
    ap.add_argument("--keep-log", default=None, help="copy the broker's log there at the end "
                    "(e.g. to read a Debug broker's LeakSanitizer report)")
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="sy-soak-")
    os.chmod(data, 0o755)
    port, wport = free_port(), free_port()
    log = open(os.path.join(data, "broker.log"), "w")
    broker = subprocess.Popen([args.binary, "serve", "--listen", "127.0.0.1:%d" % port, "--worker-listen",
                               "tcp://127.0.0.1:%d" % wport, "--data-dir", data, "--log-level", "warn"],
                              stdout=log, stderr=log)
    worker = None
    try:
        api = (SdkApi if args.sdk else Api)(port)
        for _ in range(300):
            try:
                if api.call("GET", "/health", None, {})[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            sys.exit("soak: broker did not become healthy (log %s)" % log.name)
        if args.handler:
            worker = subprocess.Popen([args.binary, "worker", "--broker", "tcp://127.0.0.1:%d" % wport,
                                       "--function", "soak-echo=so:%s:echo,concurrency=4" % args.handler],
                                      stdout=log, stderr=log)
        r = setup(api)
        ops = operations(api, r)
        if not args.handler:
            ops = [o for o in ops if o.__name__ != "invoke"]
        load = Load(api, ops, args.clients)
        for t in load.threads:
            t.start()
        time.sleep(args.peak_seconds)
        n, e, _ = load.window()
        peak = n / args.peak_seconds
        load.rate = peak / 2
        print("soak: peak %.0f ops/s with %d clients; soaking at %.0f ops/s for %.1f min"
              % (peak, args.clients, load.rate, args.minutes), flush=True)
        sock = os.path.join(data, "run")
        cols = ["t_s", "ops_s", "errors", "p99_ms", "rss_kib", "fds", "db_conns", "depth", "dead_tuples"]
        print(" ".join("%11s" % c for c in cols), flush=True)
        rows = []
        t0 = time.monotonic()
        load.window()
        while time.monotonic() - t0 < args.minutes * 60:
            time.sleep(SAMPLE_S)
            n, e, p99 = load.window()
            depth = sum(int(api.sqs("GetQueueAttributes", QueueUrl=u, AttributeNames=["ApproximateNumberOfMessages"])
                            ["Attributes"]["ApproximateNumberOfMessages"]) for u in [r["q"], r["fq"]] + r["sinks"])
            row = {"t_s": round(time.monotonic() - t0), "ops_s": round(n / SAMPLE_S, 1), "errors": e,
                   "p99_ms": round(p99, 1), "rss_kib": proc_rss_kib(broker.pid), "fds": proc_fds(broker.pid),
                   "db_conns": int(psql(sock, "SELECT count(*) FROM pg_stat_activity WHERE datname = 'switchyard'") or 0),
                   "depth": depth,
                   "dead_tuples": int(psql(sock, "SELECT COALESCE(sum(n_dead_tup), 0) FROM pg_stat_user_tables "
                                                 "WHERE relname = 'sy_messages'") or 0)}
            rows.append(row)
            print(" ".join("%11s" % row[c] for c in cols), flush=True)
            if e:
                print("soak: %d errors in the window, e.g. %s" % (e, getattr(load, "last_error", "")), flush=True)
        load.stop.set()
        for t in load.threads:
            t.join(30)
        # a series trends up when its last third is well above its first third
        limits = {"rss_kib": 0.25, "fds": 0.25, "db_conns": 0.5, "p99_ms": 1.0}
        result = {"minutes": args.minutes, "clients": args.clients, "peak_ops_s": round(peak, 1),
                  "soak_ops_s": round(load.rate, 1), "samples": len(rows), "series": {}, "ok": True}
        for key in ["ops_s", "p99_ms", "rss_kib", "fds", "db_conns", "depth", "dead_tuples"]:
            vals = [row[key] for row in rows]
            early_max, late_min = trend(vals) if len(vals) >= 3 else (0, 0)
            up = False
            if key in limits:
                up = late_min > (1 + limits[key]) * early_max + (2 if key in ("fds", "db_conns") else 0)
            elif key == "depth":  # backlog: growing by more than a window's worth of operations
                up = late_min - early_max > max(100, load.rate * SAMPLE_S)
            elif key == "dead_tuples":  # autovacuum keeps up: bounded, not ever growing
                up = late_min > 2 * max(early_max, 10000)
            result["series"][key] = {"early_max": early_max, "late_min": late_min,
                                     "first": vals[0] if vals else None, "last": vals[-1] if vals else None,
                                     "trend": "up" if up else "flat"}
            result["ok"] = result["ok"] and not up
        errors = sum(row["errors"] for row in rows)
        result["errors"] = errors
        result["ok"] = result["ok"] and errors == 0 and len(rows) >= 3
        print(json.dumps(result), flush=True)
        return 0 if result["ok"] else 1
    finally:
        for p in (worker, broker):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
        log.close()
        if args.keep_log:
            shutil.copy(log.name, args.keep_log)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
