"""Foundation end-to-end tests: the HTTP front door, errors in AWS's shapes,
SigV4, /health and /metrics, body limits, shutdown, crash recovery, the
embedded PostgreSQL and migrations — driven by the clients of the running
generation (boto3 + aws CLI)."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import unittest
import xml.etree.ElementTree as ET

import harness
from harness import SwitchyardTestCase

SQS_VERSION = "2012-11-05"


def strip_ns(tag):
    return tag.split("}", 1)[-1]


def error_code(body):
    """The AWS error code of a query (XML) or JSON error body, else None."""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("<"):
        root = ET.fromstring(text)
        for el in root.iter():
            if strip_ns(el.tag) == "Code":
                return (el.text or "").strip()
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    t = doc.get("__type") or doc.get("code") or doc.get("Code")
    return t.rsplit("#", 1)[-1] if t else None


class SqsRaw:
    """Raw SQS requests in the protocol of the running generation."""

    def __init__(self, tc, broker=None, key=harness.DEFAULT_KEY):
        self.tc, self.broker, self.key = tc, broker, key
        self.protocol = tc.protocol("sqs")

    def body_and_headers(self, action, params=None):
        params = params or {}
        if self.protocol == "query":
            from urllib.parse import urlencode
            body = urlencode(dict({"Action": action, "Version": SQS_VERSION}, **params))
            hdrs = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        else:
            body = json.dumps(params)
            hdrs = {"Content-Type": "application/x-amz-json-1.0",
                    "X-Amz-Target": "AmazonSQS." + action}
        return body.encode(), hdrs

    def call(self, action, params=None, signed=True, extra_headers=None):
        body, hdrs = self.body_and_headers(action, params)
        hdrs.update(extra_headers or {})
        if signed:
            return self.tc.signed_request("sqs", body=body, headers=hdrs, broker=self.broker,
                                          key=self.key)
        b = self.broker or self.tc.broker
        return harness.http_request(b.url + "/", method="POST", body=body, headers=hdrs)


def hook_action(client, real, fake):
    """Make `client.<real>` send action `fake` instead (any protocol)."""

    def rewrite(params, **_):
        body = params.get("body")
        if isinstance(body, dict) and body.get("Action") == real:
            body["Action"] = fake
        hdrs = params.get("headers", {})
        for k in list(hdrs):
            if k.lower() == "x-amz-target":
                hdrs[k] = hdrs[k].rsplit(".", 1)[0] + "." + fake

    client.meta.events.register("before-call.sqs.%s" % real, rewrite)


def metric_total(text, pattern):
    """Sum of the samples of metrics whose name matches pattern."""
    total, seen = 0.0, False
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eE]+|NaN|[+-]Inf)", line)
        if m and re.search(pattern, m.group(1)):
            seen = True
            total += float(m.group(3))
    return total if seen else None


class FrontDoorTests(SwitchyardTestCase):

    def test_list_queues_boto3(self):
        r = self.client("sqs").list_queues()
        md = r["ResponseMetadata"]
        self.assertEqual(md["HTTPStatusCode"], 200)
        self.assertTrue(md.get("RequestId"), md)
        self.assertIsInstance(r.get("QueueUrls", []), list)

    def test_list_queues_raw_is_well_formed(self):
        status, hdrs, body = SqsRaw(self).call("ListQueues")
        self.assertEqual(status, 200, body)
        if self.protocol("sqs") == "query":
            root = ET.fromstring(body)
            self.assertEqual(strip_ns(root.tag), "ListQueuesResponse")
            self.assertIn("http://queue.amazonaws.com/doc/%s/" % SQS_VERSION, root.tag)
            rid = [e.text for e in root.iter() if strip_ns(e.tag) == "RequestId"]
            self.assertTrue(rid and rid[0], body)
        else:
            self.assertIn("application/x-amz-json-1.0", hdrs.get("content-type", ""))
            self.assertIsInstance(json.loads(body), dict)
            self.assertTrue(hdrs.get("x-amzn-requestid"), hdrs)

    def test_list_queues_cli(self):
        r = self.aws("sqs", "list-queues")
        self.assertEqual(r.rc, 0, r)
        if r.stdout.strip():  # no queues: the CLI may print nothing
            self.assertIsInstance(r.json, dict, r)

    def test_unknown_action_raw(self):
        status, _, body = SqsRaw(self).call("NoSuchAction")
        self.assertEqual(status, 400, body)
        code = error_code(body)
        if self.protocol("sqs") == "query":
            root = ET.fromstring(body)
            self.assertEqual(strip_ns(root.tag), "ErrorResponse", body)
            self.assertEqual(code, "InvalidAction", body)
        else:
            self.assertEqual(code, "UnknownOperationException", body)

    def test_unknown_action_both_protocols_raw(self):
        from urllib.parse import urlencode
        q = urlencode({"Action": "NoSuchAction", "Version": SQS_VERSION})
        status, _, body = self.signed_request(
            "sqs", body=q, headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((status, error_code(body)), (400, "InvalidAction"), body)
        self.assertEqual(strip_ns(ET.fromstring(body).tag), "ErrorResponse")
        status, _, body = self.signed_request(
            "sqs", body="{}", headers={"Content-Type": "application/x-amz-json-1.0",
                                       "X-Amz-Target": "AmazonSQS.NoSuchAction"})
        self.assertEqual((status, error_code(body)), (400, "UnknownOperationException"), body)

    def test_unknown_action_boto3(self):
        from botocore.exceptions import ClientError
        sqs = self.client("sqs")
        hook_action(sqs, "ListQueues", "NoSuchAction")
        with self.assertRaises(ClientError) as cm:
            sqs.list_queues()
        err = cm.exception.response
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)
        want = "InvalidAction" if self.protocol("sqs") == "query" else "UnknownOperationException"
        self.assertEqual(err["Error"]["Code"], want, err)

    def test_health(self):
        status, _, _ = self.broker.http("GET", "/health")
        self.assertEqual(status, 200)

    def test_metrics_count_requests(self):
        sqs = self.client("sqs")
        sqs.list_queues()

        def scrape():
            status, hdrs, body = self.broker.http("GET", "/metrics")
            self.assertEqual(status, 200)
            self.assertIn("text/plain", hdrs.get("content-type", ""))
            return body.decode()

        text = scrape()
        before = metric_total(text, r"request")
        self.assertIsNotNone(before, "no request counter in /metrics:\n" + text[:3000])
        for _ in range(5):
            sqs.list_queues()
        after = metric_total(scrape(), r"request")
        self.assertGreaterEqual(after - before, 5, "request counters did not count 5 requests")

    def test_migrate_subcommand(self):
        db = self.new_database("migcmd")
        url = harness.pg_url(db)
        files = self.schema_files()
        p = subprocess.run([harness.BINARY, "migrate", "--database-url", url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                           env=self.broker_env())
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[-3000:])
        n = harness.psql_value("SELECT count(*) FROM sy_schema_migrations", db=db)
        self.assertEqual(int(n), len(files))
        p = subprocess.run([harness.BINARY, "migrate", "--database-url", url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                           env=self.broker_env())
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[-3000:])
        self.assertEqual(int(harness.psql_value("SELECT count(*) FROM sy_schema_migrations",
                                                db=db)), len(files))


class BodyLimitTests(SwitchyardTestCase):
    BROKER_ARGS = ("--max-body-bytes", "65536")

    def test_oversized_body_raw(self):
        raw = SqsRaw(self)
        status, _, body = raw.call("ListQueues", {"QueueNamePrefix": "q" * 200000})
        self.assertEqual(status, 413, body[:500])
        self.assertTrue(error_code(body), "413 without an AWS error body: %r" % body[:500])
        # the broker keeps serving
        status, _, body = raw.call("ListQueues")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.broker.health(), 200)

    def test_oversized_body_boto3(self):
        from botocore.exceptions import ClientError
        sqs = self.client("sqs")
        with self.assertRaises(ClientError) as cm:
            sqs.list_queues(QueueNamePrefix="q" * 200000)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 413)
        self.assertEqual(sqs.list_queues()["ResponseMetadata"]["HTTPStatusCode"], 200)

    def test_body_under_limit_accepted(self):
        status, _, body = SqsRaw(self).call("ListQueues", {"QueueNamePrefix": "q" * 30000})
        self.assertEqual(status, 200, body[:500])


class CredentialsTests(SwitchyardTestCase):
    START_BROKER = False
    AKID, SECRET = "AKIDSWITCHYARD01", "s3cr3t/Key+Value"

    def setUp(self):
        super().setUp()
        d = self.tmpdir("creds")
        path = os.path.join(d, "credentials")
        with open(path, "w") as f:
            f.write("# comment\n%s %s\nAKIDOTHER otherSecret\n" % (self.AKID, self.SECRET))
        self.broker = self.start_broker(extra_args=("--credentials", path))

    def code_of(self, fn):
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            fn()
        return (cm.exception.response["Error"]["Code"],
                cm.exception.response["ResponseMetadata"]["HTTPStatusCode"])

    def test_correct_signature_accepted(self):
        sqs = self.client_with("sqs", self.AKID, self.SECRET)
        self.assertEqual(sqs.list_queues()["ResponseMetadata"]["HTTPStatusCode"], 200)
        sqs2 = self.client_with("sqs", "AKIDOTHER", "otherSecret")
        self.assertEqual(sqs2.list_queues()["ResponseMetadata"]["HTTPStatusCode"], 200)

    def test_wrong_secret_refused(self):
        sqs = self.client_with("sqs", self.AKID, "not-the-secret")
        self.assertEqual(self.code_of(sqs.list_queues), ("SignatureDoesNotMatch", 403))

    def test_unknown_key_refused(self):
        sqs = self.client_with("sqs", "AKIDNOBODY", self.SECRET)
        self.assertEqual(self.code_of(sqs.list_queues), ("InvalidClientTokenId", 403))

    def test_malformed_authorization_refused(self):
        raw = SqsRaw(self)
        status, _, body = raw.call("ListQueues", signed=False, extra_headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=%s/garbage" % self.AKID,
            "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())})
        # AWS's common-error tables say 400 (SQS, query services) or 403 (newer
        # JSON services); SDKs key on the code
        self.assertIn(status, (400, 403), body)
        self.assertEqual(error_code(body), "IncompleteSignature", body)

    def test_unsigned_refused(self):
        status, _, body = SqsRaw(self).call("ListQueues", signed=False)
        self.assertIn(status, (400, 403), body)
        self.assertTrue(error_code(body), body)

    def test_cli_signatures(self):
        ok = self.aws("sqs", "list-queues", key=(self.AKID, self.SECRET))
        self.assertEqual(ok.rc, 0, ok)
        bad = self.aws("sqs", "list-queues", key=(self.AKID, "wrong"))
        self.assertNotEqual(bad.rc, 0, bad)
        self.assertIn("SignatureDoesNotMatch", bad.stderr)
        unknown = self.aws("sqs", "list-queues", key=("AKIDNOBODY", "x"))
        self.assertNotEqual(unknown.rc, 0, unknown)
        self.assertIn("InvalidClientTokenId", unknown.stderr)


class DatabaseLossTests(SwitchyardTestCase):

    def test_health_503_when_database_dropped(self):
        self.assertEqual(self.broker.health(), 200)
        harness.drop_database(self.db)
        self.assertEventually(lambda: self.broker.health(timeout=15) == 503, timeout=30,
                              msg="/health did not turn 503 after the database was dropped")
        self.assertTrue(self.broker.running())
        # it still answers API calls, with an error rather than a hang
        status, _, body = SqsRaw(self).call("ListQueues")
        self.assertGreaterEqual(status, 500, body)
        self.broker.stop()

    def test_reconnects_after_connections_killed(self):
        sqs = self.client("sqs")
        sqs.list_queues()
        n = harness.psql_value(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '%s'"
            % self.db)
        self.assertGreaterEqual(int(n), 1)
        self.assertEventually(lambda: self.broker.health(timeout=15) == 200, timeout=30)

        def works():
            try:
                return sqs.list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200
            except Exception:  # a request on a dead connection may fail once
                return False

        self.assertEventually(works, timeout=30, interval=0.5)


class LifecycleTests(SwitchyardTestCase):

    def test_sigterm_exits_zero(self):
        self.client("sqs").list_queues()
        t0 = time.monotonic()
        # an idle keep-alive connection (boto3 keeps one) must not hold up exit
        self.broker.stop(expect=0, timeout=15)
        self.assertLess(time.monotonic() - t0, 15)

    def test_sigterm_after_sqs_work_exits_zero(self):
        # exit status 0 also means: no leak reported by LeakSanitizer at exit
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName="work-then-exit")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        self.assertEqual([m["Body"] for m in got], ["hello"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
        sqs.delete_queue(QueueUrl=url)
        self.broker.stop(expect=0, timeout=30)

    def test_sigterm_finishes_in_flight_request(self):
        raw = SqsRaw(self)
        body, hdrs = raw.body_and_headers("ListQueues")
        # signed headers, then the request sent by hand, body in two halves
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        req = AWSRequest(method="POST", url=self.broker.url + "/", data=body, headers=hdrs)
        SigV4Auth(Credentials(*harness.DEFAULT_KEY), "sqs", harness.REGION).add_auth(req)
        head = "POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: %d\r\n" % (
            self.broker.port, len(body))
        for k, v in req.headers.items():
            head += "%s: %s\r\n" % (k, v)
        head += "Connection: close\r\n\r\n"
        s = socket.create_connection(("127.0.0.1", self.broker.port), timeout=30)
        self.addCleanup(s.close)
        half = len(body) // 2
        s.sendall(head.encode() + body[:half])
        time.sleep(0.5)
        self.broker.signal(signal.SIGTERM)
        time.sleep(1.0)
        # no new connections are served
        try:
            status = self.broker.health(timeout=3)
        except Exception:
            status = None
        self.assertNotEqual(status, 200, "a new request was served after SIGTERM")
        self.assertTrue(self.broker.running(), "broker exited with a request in flight")
        s.sendall(body[half:])
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:300])
        payload = data.split(b"\r\n\r\n", 1)[1]
        if raw.protocol == "query":
            self.assertIn(b"ListQueuesResponse", payload)
        rc = self.broker.wait(30)
        self.assertEqual(rc, 0, self.broker.tail(40))

    def test_sigterm_answers_long_poll(self):
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName="sigterm-long-poll")["QueueUrl"]
        t, box = harness.run_in_thread(sqs.receive_message, QueueUrl=url, WaitTimeSeconds=20)
        time.sleep(1.0)
        self.assertTrue(t.is_alive(), "ReceiveMessage did not wait: %r" % box)
        t0 = time.monotonic()
        self.broker.signal(signal.SIGTERM)
        t.join(15)
        self.assertFalse(t.is_alive(), "the long poll was not answered after SIGTERM")
        self.assertNotIn("error", box, "the long poll failed instead of being answered: %r" % box)
        self.assertEqual(box["result"].get("Messages", []), [])
        self.assertEqual(self.broker.wait(15), 0, self.broker.tail(40))
        self.assertLess(time.monotonic() - t0, 15)

    def test_kill9_then_restart(self):
        sqs = self.client("sqs")
        sqs.list_queues()
        self.broker.kill9()
        self.broker.restart()
        self.assertEqual(sqs.list_queues()["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.broker.stop()

    def test_second_broker_same_database(self):
        b2 = self.start_broker()
        a = self.client("sqs").list_queues()
        b = self.client("sqs", broker=b2).list_queues()
        self.assertEqual(a.get("QueueUrls", []), b.get("QueueUrls", []))
        b2.stop()
        self.broker.stop()


class MigrationRaceTests(SwitchyardTestCase):
    START_BROKER = False

    def test_two_brokers_at_once_migrate_exactly_once(self):
        files = self.schema_files()
        self.assertGreater(len(files), 0, "no schema/NNN_*.sql files")
        b1 = self.start_broker(wait=False)
        b2 = self.start_broker(wait=False)
        self.assertTrue(b1.wait_healthy(), b1.tail(40))
        self.assertTrue(b2.wait_healthy(), b2.tail(40))
        rows = harness.psql("SELECT version, name FROM sy_schema_migrations ORDER BY version",
                            db=self.db)
        want = [int(os.path.basename(f).split("_", 1)[0]) for f in files]
        self.assertEqual([int(r[0]) for r in rows], want)
        applied = [ln for b in (b1, b2) for ln in b.log_lines_json()
                   if ln.get("msg") == "applied migration"]
        self.assertEqual(len(applied), len(files),
                         "migrations applied %d times in total across both brokers, want %d"
                         % (len(applied), len(files)))
        b1.stop()
        b2.stop()


class EmbeddedPostgresTests(SwitchyardTestCase):
    START_BROKER = False

    def test_embedded_start_and_sigterm_stops_postmaster(self):
        b = self.start_broker(database_url=None)
        pid = b.postmaster_pid()
        self.assertTrue(harness.pid_alive(pid), "no live postmaster for the embedded database")
        self.assertEqual(self.client("sqs", broker=b).list_queues()
                         ["ResponseMetadata"]["HTTPStatusCode"], 200)
        # no TCP listener: only the unix socket in the data dir
        self.assertEqual(harness.psql("SHOW listen_addresses", db="switchyard",
                                      host=os.path.join(b.data_dir, "run"), port=5432), [])
        self.assertTrue(os.path.exists(os.path.join(b.data_dir, "run", ".s.PGSQL.5432")))
        b.stop(expect=0)
        self.assertTrue(harness.wait_until(lambda: not harness.pid_alive(pid), 10),
                        "postmaster %d still running after the broker exited" % pid)
        self.assertFalse(os.path.exists(os.path.join(b.data_dir, "pg", "postmaster.pid")))
        pg_lines = [ln for ln in b.log_lines_json() if ln.get("component") == "pg"]
        self.assertTrue(pg_lines, "no structured log lines from component pg")
        for ln in pg_lines:
            self.assertIn("level", ln)
            self.assertIn("msg", ln)

    def test_embedded_second_start_reuses_data(self):
        b = self.start_broker(database_url=None)
        b.stop()
        self.assertTrue(os.path.exists(os.path.join(b.data_dir, "pg", "PG_VERSION")))
        b.start()
        msgs = [ln.get("msg", "") for ln in b.log_lines_json() if ln.get("component") == "pg"]
        self.assertEqual(sum(1 for m in msgs if "initializ" in m.lower() and "new" in m.lower()), 1,
                         "initdb ran again on the second start: %s" % msgs)
        b.stop()

    @unittest.skipUnless(os.geteuid() == 0, "only root runs PostgreSQL as another user")
    def test_embedded_untraversable_parent_is_explained(self):
        parent = os.path.join(self.tmpdir("locked"), "locked")
        os.mkdir(parent, 0o700)
        b = self.start_broker(database_url=None, data_dir=os.path.join(parent, "data"), wait=False)
        rc = b.wait(60)
        self.assertIsNotNone(rc, "broker kept running without its database")
        self.assertNotEqual(rc, 0)
        errors = [ln for ln in b.log_lines_json() if ln.get("level") == "error"]
        self.assertTrue(any("not traversable" in json.dumps(ln) and parent in json.dumps(ln)
                            for ln in errors), "no clear error naming %s:\n%s" % (parent, b.tail(20)))

    def test_embedded_kill9_recovers(self):
        b = self.start_broker(database_url=None)
        pid = b.postmaster_pid()
        # the broker dies; its postmaster is orphaned and still running
        b.kill9()
        self.assertTrue(harness.pid_alive(pid))
        b.start()
        self.assertEqual(b.postmaster_pid(), pid, "orphaned postmaster was not reused")
        self.assertEqual(self.client("sqs", broker=b).list_queues()
                         ["ResponseMetadata"]["HTTPStatusCode"], 200)
        # broker and postmaster both die: stale postmaster.pid
        b.kill9()
        os.kill(pid, signal.SIGKILL)
        harness.wait_until(lambda: not harness.pid_alive(pid), 10)
        self.assertTrue(os.path.exists(os.path.join(b.data_dir, "pg", "postmaster.pid")))
        b.start()
        pid2 = b.postmaster_pid()
        self.assertNotEqual(pid2, pid)
        self.assertEqual(self.client("sqs", broker=b).list_queues()
                         ["ResponseMetadata"]["HTTPStatusCode"], 200)
        b.stop(expect=0)
        self.assertTrue(harness.wait_until(lambda: not harness.pid_alive(pid2), 10))


if __name__ == "__main__":
    unittest.main()
