"""Issue 12: a function's configuration reaches every invocation, as on
Lambda. The function is AWS's own Node.js runtime interface client (npm
aws-lambda-ric, tests/e2e/node-ric) run as a custom runtime by
`switchyard worker`; it reports its environment and context
(node-ric/index.js). Driven by boto3 (both generations) and the aws CLI."""

import json
import os
import re
import struct
import time
import unittest
import zipfile
import zlib

import harness

RIC_DIR = os.path.join(harness.SOURCE_DIR, "tests", "e2e", "node-ric")
BOOTSTRAP = os.path.join(RIC_DIR, "bootstrap")
HANDLER = os.path.join(harness.BUILD_DIR, "tests", "worker", "sy_test_handler.so")
ROLE = "arn:aws:iam::000000000000:role/r"
SCALE = 60
JSON = {"Content-Type": "application/json"}


def ric_installed():
    return os.path.isdir(os.path.join(RIC_DIR, "node_modules", "aws-lambda-ric", "dist"))


class RicBase(harness.SwitchyardTestCase):
    BROKER_ARGS = ("--time-scale", str(SCALE))

    def setUp(self):
        super().setUp()
        # not a skip: scripts/install-deps installs it (NPM_DIRS)
        self.assertTrue(ric_installed(), "npm project %s not installed (scripts/install-deps)" % RIC_DIR)

    def worker(self, *functions):
        args = ["--broker", self.broker.worker_endpoint, "--log-level", "info"]
        for f in functions:
            args += ["--function", f]
        return self.start_worker(*args)

    def ric(self, name, **kw):
        spec = "%s=runtime:%s" % (name, BOOTSTRAP)
        kw.setdefault("timeout", 20)
        kw.setdefault("init_timeout", 30)  # node's start under ASan-loaded CI
        for k, v in kw.items():
            spec += ",%s=%s" % (k, v)
        return spec

    def create(self, lam, name, **kw):
        kw.setdefault("Handler", "index.handler")
        return lam.create_function(FunctionName=name, Runtime="provided.al2", Role=ROLE,
                                   Code={"ZipFile": b"ignored"}, **kw)

    def invoke(self, lam, name, payload=None, **kw):
        r = lam.invoke(FunctionName=name, Payload=json.dumps(payload or {}).encode(), **kw)
        body = r["Payload"].read()
        return r, (json.loads(body) if body else None)

    def invoke_ok(self, lam, name, payload=None, **kw):
        """Invoke until a worker is there (the first calls may find none yet)."""
        deadline = time.monotonic() + 60
        while True:
            try:
                r, body = self.invoke(lam, name, payload, **kw)
                return r, body
            except Exception as e:  # ResourceNotReadyException until the worker registered
                if "ResourceNotReady" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def metric(self, name, labels):
        st, _, body = self.broker.http("GET", "/metrics")
        self.assertEqual(st, 200)
        for line in body.decode().splitlines():
            if line.startswith(name + "{") and labels in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0


class LambdaConfigReachesRuntime(RicBase):
    def test_environment_memory_handler_names(self):
        lam = self.client("lambda")
        self.create(lam, "cfg", MemorySize=256, Timeout=7,
                    Environment={"Variables": {"GREETING": "hello", "COLOUR": "blue"}})
        self.worker(self.ric("cfg", concurrency=2))
        r, body = self.invoke_ok(lam, "cfg", {"n": 1})
        self.assertNotIn("FunctionError", r, body)
        env, ctx = body["env"], body["context"]
        self.assertEqual(env["GREETING"], "hello")
        self.assertEqual(env["COLOUR"], "blue")
        self.assertEqual(env["_HANDLER"], "index.handler")
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_NAME"], "cfg")
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST")
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256")
        self.assertEqual(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/cfg")
        self.assertRegex(env["AWS_LAMBDA_LOG_STREAM_NAME"], r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")
        self.assertEqual(ctx["functionName"], "cfg")
        self.assertEqual(ctx["functionVersion"], "$LATEST")
        self.assertEqual(str(ctx["memoryLimitInMB"]), "256")
        self.assertEqual(ctx["logGroupName"], "/aws/lambda/cfg")
        self.assertEqual(ctx["logStreamName"], env["AWS_LAMBDA_LOG_STREAM_NAME"])
        self.assertEqual(ctx["invokedFunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:cfg")
        # one request id: the response header is the runtime's awsRequestId
        self.assertEqual(r["ResponseMetadata"]["RequestId"], ctx["awsRequestId"])
        # Timeout 7 (API) < worker's 20: the runtime is told 7 s
        self.assertLessEqual(body["remaining"], 7000)
        self.assertGreater(body["remaining"], 5000)

        # warm reuse: sequential invocations run on the one process, while
        # concurrency 2 would allow a second
        pid = body["pid"]
        for _ in range(3):
            _, b = self.invoke(lam, "cfg", {})
            self.assertEqual(b["pid"], pid)
        self.assertEqual(self.metric("switchyard_lambda_cold_starts_total", 'function="cfg"'), 1.0)

        # a configuration change retires the process; new invocations see it
        lam.update_function_configuration(FunctionName="cfg", MemorySize=512,
                                           Environment={"Variables": {"GREETING": "changed"}})
        _, b = self.invoke(lam, "cfg", {})
        self.assertEqual(b["env"]["GREETING"], "changed")
        self.assertNotIn("COLOUR", b["env"])
        self.assertEqual(b["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "512")
        self.assertNotEqual(b["pid"], pid)
        self.assertEqual(self.metric("switchyard_lambda_cold_starts_total", 'function="cfg"'), 2.0)
        self.assertIn("runtime process retired: configuration changed", self._procs[-1].log_text())
        # the Handler of the API is the runtime's _HANDLER
        lam.update_function_configuration(FunctionName="cfg", Handler="index.nope")
        r, b = self.invoke(lam, "cfg", {})
        self.assertEqual(r.get("FunctionError"), "Unhandled")
        self.assertEqual(b["errorType"], "Runtime.HandlerNotFound")
        self.assertIn("index.nope", b["errorMessage"])

    def test_reserved_variables_refused(self):
        lam = self.client("lambda")
        with self.assertRaises(lam.exceptions.InvalidParameterValueException) as cm:
            self.create(lam, "res", Environment={"Variables": {"AWS_REGION": "eu-west-1", "OK": "1"}})
        self.assertIn("Reserved keys used in this request: AWS_REGION", str(cm.exception))
        with self.assertRaises(lam.exceptions.ResourceNotFoundException):
            lam.get_function(FunctionName="res")
        self.create(lam, "res")
        with self.assertRaises(lam.exceptions.InvalidParameterValueException):
            lam.update_function_configuration(FunctionName="res",
                                              Environment={"Variables": {"AWS_EXECUTION_ENV": "x"}})
        zpath = os.path.join(self.tmpdir("zip"), "fn.zip")
        with zipfile.ZipFile(zpath, "w") as z:
            z.write(BOOTSTRAP, "bootstrap")
        r = self.aws("lambda", "create-function", "--function-name", "res2", "--runtime", "provided.al2",
                     "--role", ROLE, "--handler", "index.handler", "--zip-file", "fileb://" + zpath,
                     "--environment", "Variables={AWS_LAMBDA_FUNCTION_NAME=x}")
        self.assertNotEqual(r.rc, 0)
        self.assertIn("InvalidParameterValueException", r.stderr)

    def test_deadline_told_is_enforced(self):
        lam = self.client("lambda")
        self.create(lam, "tmo", Timeout=2)
        self.worker(self.ric("tmo", timeout=10))
        r, b = self.invoke_ok(lam, "tmo", {})
        # the API's 2 s, not the worker's 10 s, and no grace on top
        self.assertLessEqual(b["remaining"], 2000)
        self.assertGreater(b["remaining"], 1000)
        r, b = self.invoke(lam, "tmo", {"sleep_ms": 3000})
        self.assertEqual(r.get("FunctionError"), "Unhandled")
        self.assertEqual(b["errorType"], "Sandbox.Timedout")
        self.assertRegex(b["errorMessage"], r"Task timed out after [12]\.\d\d seconds")

    def test_init_errors_reach_the_caller(self):
        lam = self.client("lambda")
        self.create(lam, "broken", Handler="broken.handler")
        self.worker(self.ric("broken"))
        r, b = self.invoke_ok(lam, "broken", {})
        self.assertEqual(r.get("FunctionError"), "Unhandled")
        self.assertEqual(b["errorType"], "Runtime.ImportModuleError")
        self.assertIn("no-such-module-here", b["errorMessage"])
        # the aws CLI shows the same
        out = os.path.join(self.tmpdir("o"), "out.json")
        cli = self.aws("lambda", "invoke", "--function-name", "broken", out)
        self.assertEqual(cli.rc, 0, cli)
        self.assertEqual(cli.json["FunctionError"], "Unhandled")
        with open(out) as f:
            self.assertEqual(json.load(f)["errorType"], "Runtime.ImportModuleError")

    def test_async_request_id_everywhere(self):
        sqs, lam = self.client("sqs"), self.client("lambda")
        url = sqs.create_queue(QueueName="ok")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.create(lam, "asy")
        self.worker(self.ric("asy"))
        self.invoke_ok(lam, "asy", {})
        lam.put_function_event_invoke_config(FunctionName="asy",
                                             DestinationConfig={"OnSuccess": {"Destination": arn}})
        time.sleep(1.1)  # event-config cache of other brokers' writes (same broker: invalidated)
        r = lam.invoke(FunctionName="asy", InvocationType="Event", Payload=b'{"a": 1}')
        self.assertEqual(r["StatusCode"], 202)
        rid = r["ResponseMetadata"]["RequestId"]
        rec = None
        deadline = time.monotonic() + 30
        while rec is None and time.monotonic() < deadline:
            for m in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []):
                rec = json.loads(m["Body"])
        self.assertIsNotNone(rec)
        self.assertEqual(rec["requestContext"]["requestId"], rid)
        self.assertEqual(rec["responsePayload"]["context"]["awsRequestId"], rid)
        logs = self._procs[-1].log_text()
        self.assertIn(rid, logs)  # the worker's log lines carry it too


class LambdaVersionsAliases(RicBase):
    def test_versions_aliases_weighted_routing(self):
        lam = self.client("lambda")
        self.create(lam, "ver", Environment={"Variables": {"GREETING": "one"}}, MemorySize=128)
        self.worker(self.ric("ver", concurrency=2))
        v1 = lam.publish_version(FunctionName="ver", Description="first")
        self.assertEqual(v1["Version"], "1")
        self.assertTrue(v1["FunctionArn"].endswith(":ver:1"))
        lam.update_function_configuration(FunctionName="ver", Environment={"Variables": {"GREETING": "two"}},
                                          MemorySize=384)
        v2 = lam.publish_version(FunctionName="ver")
        self.assertEqual(v2["Version"], "2")
        self.assertEqual(lam.publish_version(FunctionName="ver")["Version"], "2")  # nothing changed
        vs = lam.list_versions_by_function(FunctionName="ver")["Versions"]
        self.assertEqual([v["Version"] for v in vs], ["$LATEST", "1", "2"])
        c1 = lam.get_function_configuration(FunctionName="ver", Qualifier="1")
        self.assertEqual(c1["Environment"]["Variables"], {"GREETING": "one"})
        self.assertEqual(c1["Version"], "1")
        self.assertEqual(lam.get_function(FunctionName="ver:2")["Configuration"]["MemorySize"], 384)
        # $LATEST moves on; version 1 stays frozen
        lam.update_function_configuration(FunctionName="ver", Environment={"Variables": {"GREETING": "latest"}})
        r, b = self.invoke_ok(lam, "ver", {}, Qualifier="1")
        self.assertEqual(r["ExecutedVersion"], "1")
        self.assertEqual(b["env"]["GREETING"], "one")
        self.assertEqual(b["env"]["AWS_LAMBDA_FUNCTION_VERSION"], "1")
        self.assertEqual(b["context"]["functionVersion"], "1")
        self.assertEqual(b["context"]["invokedFunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:ver:1")
        r, b = self.invoke(lam, "ver", {})
        self.assertEqual(r["ExecutedVersion"], "$LATEST")
        self.assertEqual(b["env"]["GREETING"], "latest")
        r, b = self.invoke(lam, "arn:aws:lambda:us-east-1:000000000000:function:ver:2", {})
        self.assertEqual(b["env"]["GREETING"], "two")
        self.assertEqual(b["context"]["memoryLimitInMB"], "384")

        # aliases
        a = lam.create_alias(FunctionName="ver", Name="live", FunctionVersion="1", Description="prod")
        self.assertEqual(a["AliasArn"], "arn:aws:lambda:us-east-1:000000000000:function:ver:live")
        r, b = self.invoke(lam, "ver:live", {})
        self.assertEqual(r["ExecutedVersion"], "1")
        self.assertEqual(b["context"]["invokedFunctionArn"], a["AliasArn"])
        with self.assertRaises(lam.exceptions.ResourceConflictException):
            lam.create_alias(FunctionName="ver", Name="live", FunctionVersion="2")
        with self.assertRaises(lam.exceptions.ResourceNotFoundException):
            lam.create_alias(FunctionName="ver", Name="nine", FunctionVersion="9")
        with self.assertRaises(lam.exceptions.InvalidParameterValueException):
            lam.create_alias(FunctionName="ver", Name="two", FunctionVersion="1",
                             RoutingConfig={"AdditionalVersionWeights": {"2": 0.5, "3": 0.1}})
        with self.assertRaises(lam.exceptions.InvalidParameterValueException):
            lam.create_alias(FunctionName="ver", Name="latest2", FunctionVersion="$LATEST",
                             RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
        with self.assertRaises(lam.exceptions.ResourceNotFoundException):
            self.invoke(lam, "ver", {}, Qualifier="9")
        with self.assertRaises(lam.exceptions.ResourceNotFoundException):
            self.invoke(lam, "ver:nosuchalias", {})
        # weighted routing: about half of the invocations run version 2
        u = lam.update_alias(FunctionName="ver", Name="live", FunctionVersion="1",
                             RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
        self.assertEqual(u["RoutingConfig"]["AdditionalVersionWeights"], {"2": 0.5})
        seen = {}
        for _ in range(40):
            r, b = self.invoke(lam, "ver", {}, Qualifier="live")
            seen[r["ExecutedVersion"]] = seen.get(r["ExecutedVersion"], 0) + 1
            self.assertEqual(b["env"]["GREETING"], {"1": "one", "2": "two"}[r["ExecutedVersion"]])
        self.assertEqual(set(seen), {"1", "2"}, seen)
        self.assertGreater(seen["2"], 5)
        self.assertGreater(seen["1"], 5)
        got = lam.get_alias(FunctionName="ver", Name="live")
        self.assertEqual(got["RevisionId"], u["RevisionId"])
        names = [x["Name"] for x in lam.list_aliases(FunctionName="ver")["Aliases"]]
        self.assertEqual(names, ["live"])
        # a version an alias names cannot be deleted
        with self.assertRaises(lam.exceptions.ResourceConflictException):
            lam.delete_function(FunctionName="ver", Qualifier="2")
        lam.update_alias(FunctionName="ver", Name="live", FunctionVersion="2", RoutingConfig={})
        lam.delete_function(FunctionName="ver", Qualifier="1")
        with self.assertRaises(lam.exceptions.ResourceNotFoundException):
            lam.get_function(FunctionName="ver", Qualifier="1")
        time.sleep(1.1)  # version cache of this broker (1 s)
        r, _ = self.invoke(lam, "ver:live", {})
        self.assertEqual(r["ExecutedVersion"], "2")
        lam.delete_alias(FunctionName="ver", Name="live")
        self.assertEqual(lam.list_aliases(FunctionName="ver")["Aliases"], [])
        # version numbers are never reused
        lam.update_function_configuration(FunctionName="ver", MemorySize=640)
        self.assertEqual(lam.publish_version(FunctionName="ver")["Version"], "3")

    def test_cli_versions_and_qualified_targets(self):
        """aws CLI for versions/aliases; async invocations, event-source
        mappings and Step Functions tasks that name an alias."""
        sqs, lam = self.client("sqs"), self.client("lambda")
        outdir = self.tmpdir("fnout")
        os.chmod(outdir, 0o777)
        self.create(lam, "q", Environment={"Variables": {"GREETING": "v1", "OUT_DIR": outdir}})
        self.worker(self.ric("q", concurrency=2))
        r = self.aws("lambda", "publish-version", "--function-name", "q")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json["Version"], "1")
        r = self.aws("lambda", "create-alias", "--function-name", "q", "--name", "prod", "--function-version", "1")
        self.assertEqual(r.rc, 0, r)
        r = self.aws("lambda", "list-aliases", "--function-name", "q")
        self.assertEqual([a["Name"] for a in r.json["Aliases"]], ["prod"])
        r = self.aws("lambda", "get-alias", "--function-name", "q", "--name", "nope")
        self.assertNotEqual(r.rc, 0)
        self.assertIn("ResourceNotFoundException", r.stderr)
        lam.update_function_configuration(FunctionName="q",
                                          Environment={"Variables": {"GREETING": "latest", "OUT_DIR": outdir}})
        out = os.path.join(self.tmpdir("o"), "out.json")
        r = self.aws("lambda", "invoke", "--function-name", "q", "--qualifier", "prod", out)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json["ExecutedVersion"], "1")
        with open(out) as f:
            self.assertEqual(json.load(f)["env"]["GREETING"], "v1")

        # async with a destination: the record names the alias and the version
        url = sqs.create_queue(QueueName="dest")["QueueUrl"]
        qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        lam.put_function_event_invoke_config(FunctionName="q", DestinationConfig={"OnSuccess": {"Destination": qarn}})
        r = lam.invoke(FunctionName="q:prod", InvocationType="Event", Payload=b'{"via": "event"}')
        rid = r["ResponseMetadata"]["RequestId"]
        # an event-source mapping on the alias
        src = sqs.create_queue(QueueName="src")["QueueUrl"]
        sarn = sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        m = lam.create_event_source_mapping(FunctionName="q:prod", EventSourceArn=sarn, BatchSize=1)
        self.assertTrue(m["FunctionArn"].endswith(":function:q:prod"), m)
        with self.assertRaises(lam.exceptions.ResourceNotFoundException):
            lam.create_event_source_mapping(FunctionName="q:missing", EventSourceArn=sarn)
        sqs.send_message(QueueUrl=src, MessageBody="from-sqs")
        recs = []
        deadline = time.monotonic() + 40
        while len(recs) < 1 and time.monotonic() < deadline:
            for msg in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", []):
                recs.append(json.loads(msg["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
        ev = [x for x in recs if x["requestPayload"] == {"via": "event"}]
        self.assertEqual(len(ev), 1, recs)
        self.assertEqual(ev[0]["requestContext"]["requestId"], rid)
        self.assertEqual(ev[0]["requestContext"]["functionArn"], "arn:aws:lambda:us-east-1:000000000000:function:q:prod")
        self.assertEqual(ev[0]["responseContext"]["executedVersion"], "1")
        self.assertEqual(ev[0]["responsePayload"]["env"]["GREETING"], "v1")
        def esm_run():  # what the mapping's invocation wrote (OUT_DIR)
            for fn in os.listdir(outdir):
                with open(os.path.join(outdir, fn)) as f:
                    rep = json.load(f)
                if "Records" in (rep.get("event") or {}):
                    return rep
            return None
        rep = self.assertEventually(esm_run, 40)
        self.assertEqual(rep["event"]["Records"][0]["body"], "from-sqs")
        self.assertEqual(rep["env"]["GREETING"], "v1")
        self.assertEqual(rep["context"]["invokedFunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:q:prod")

        # a Step Functions task naming the alias
        sfn = self.client("stepfunctions")
        sm = sfn.create_state_machine(name="sm", roleArn=ROLE, definition=json.dumps({
            "StartAt": "T", "States": {"T": {"Type": "Task",
                                             "Resource": "arn:aws:lambda:us-east-1:000000000000:function:q:prod",
                                             "End": True}}}))
        ex = sfn.start_execution(stateMachineArn=sm["stateMachineArn"], input='{"via": "sfn"}')
        def done():
            d = sfn.describe_execution(executionArn=ex["executionArn"])
            return d if d["status"] != "RUNNING" else None
        d = self.assertEventually(done, 40)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        out = json.loads(d["output"])
        self.assertEqual(out["env"]["GREETING"], "v1")
        self.assertEqual(out["context"]["functionVersion"], "1")


class LambdaStreaming(RicBase):
    @staticmethod
    def events(raw):
        """Decode an AWS event stream (prelude, headers, payload, CRCs checked)."""
        out, i = [], 0
        while i < len(raw):
            total, hlen, pcrc = struct.unpack(">III", raw[i:i + 12])
            assert zlib.crc32(raw[i:i + 8]) == pcrc
            assert zlib.crc32(raw[i:i + total - 4]) == struct.unpack(">I", raw[i + total - 4:i + total])[0]
            h, j, headers = raw[i + 12:i + 12 + hlen], 0, {}
            while j < len(h):
                n = h[j]
                name = h[j + 1:j + 1 + n].decode()
                vlen = struct.unpack(">H", h[j + 2 + n:j + 4 + n])[0]
                headers[name] = h[j + 4 + n:j + 4 + n + vlen].decode()
                j += 4 + n + vlen
            out.append((headers, raw[i + 12 + hlen:i + total - 4]))
            i += total
        return out

    def test_invoke_with_response_stream(self):
        lam = self.client("lambda")
        self.create(lam, "stream", Handler="index.streaming")
        self.worker(self.ric("stream"))
        deadline = time.monotonic() + 60
        while True:  # a plain Invoke of a streaming function gets the whole response
            try:
                r = lam.invoke(FunctionName="stream", Payload=b"{}")
                break
            except Exception as e:
                if "ResourceNotReady" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        self.assertNotIn("FunctionError", r)
        self.assertEqual(r["Payload"].read(), b"hello from stream")
        if hasattr(lam, "invoke_with_response_stream"):  # boto3 1.26 has no such operation
            r = lam.invoke_with_response_stream(FunctionName="stream", Payload=b"{}")
            chunks, complete = b"", None
            for ev in r["EventStream"]:
                if "PayloadChunk" in ev:
                    chunks += ev["PayloadChunk"]["Payload"]
                if "InvokeComplete" in ev:
                    complete = ev["InvokeComplete"]
            self.assertEqual(chunks, b"hello from stream")
            self.assertIsNotNone(complete)
            self.assertNotIn("ErrorCode", complete)
        # the wire, as any client sees it
        st, h, raw = self.broker.http("POST", "/2021-11-15/functions/stream/response-streaming-invocations",
                                      body=b"{}", headers=JSON)
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "application/vnd.amazon.eventstream")
        evs = self.events(raw)
        self.assertEqual([e[0][":event-type"] for e in evs], ["PayloadChunk", "InvokeComplete"])
        self.assertEqual(evs[0][1], b"hello from stream")
        # a function error ends the stream with InvokeComplete's ErrorCode
        lam.update_function_configuration(FunctionName="stream", Handler="index.handler")
        st, h, raw = self.broker.http("POST", "/2021-11-15/functions/stream/response-streaming-invocations",
                                      body=b'{"fail": true}', headers=JSON)
        evs = self.events(raw)
        self.assertEqual(evs[-1][0][":event-type"], "InvokeComplete")
        done = json.loads(evs[-1][1])
        self.assertEqual(done["ErrorCode"], "Custom.Failure")
        self.assertIn("failed on purpose", done["ErrorDetails"])
        st, _, _ = self.broker.http("POST", "/2021-11-15/functions/nosuch/response-streaming-invocations", body=b"{}",
                                   headers=JSON)
        self.assertEqual(st, 404)


class LambdaCHandlerContext(RicBase):
    def setUp(self):
        harness.SwitchyardTestCase.setUp(self)

    def test_c_handler_sees_configuration(self):
        lam = self.client("lambda")
        lam.create_function(FunctionName="cctx", Runtime="provided.al2", Role=ROLE, Handler="x",
                            Code={"ZipFile": b"x"}, MemorySize=1024, Timeout=4,
                            Environment={"Variables": {"GREETING": "from-api"}})
        lam.publish_version(FunctionName="cctx")
        self.start_worker("--broker", self.broker.worker_endpoint, "--function",
                          "cctx=so:%s:config_info,timeout=30" % HANDLER)
        r, b = self.invoke_ok(lam, "cctx", {}, Qualifier="1")
        self.assertEqual(b["abi"], 2)
        self.assertEqual(b["version"], "1")
        self.assertEqual(b["memory"], 1024)
        self.assertEqual(b["greeting"], "from-api")
        self.assertEqual(b["log_group"], "/aws/lambda/cctx")
        self.assertEqual(b["arn"], "arn:aws:lambda:us-east-1:000000000000:function:cctx:1")
        self.assertLessEqual(b["remaining_ms"], 4000)
        self.assertGreater(b["remaining_ms"], 2000)

    def test_worker_hosting_one_version(self):
        """A worker announcing NAME:N runs version N's invocations; the
        others go to the workers announcing NAME."""
        lam = self.client("lambda")
        lam.create_function(FunctionName="hv", Runtime="provided.al2", Role=ROLE, Handler="x",
                            Code={"ZipFile": b"x"}, Environment={"Variables": {"GREETING": "v1"}})
        lam.publish_version(FunctionName="hv")
        lam.create_alias(FunctionName="hv", Name="stable", FunctionVersion="1")
        lam.update_function_configuration(FunctionName="hv", Environment={"Variables": {"GREETING": "v2"}})
        self.start_worker("--broker", self.broker.worker_endpoint, "--function", "hv=so:%s:ctxinfo" % HANDLER)
        self.start_worker("--broker", self.broker.worker_endpoint, "--function", "hv:1=so:%s:config_info" % HANDLER)
        r, b = self.invoke_ok(lam, "hv", {})
        self.assertIn("request_id", b)  # ctxinfo: the plain worker
        self.assertEqual(r["ExecutedVersion"], "$LATEST")
        def pinned():
            r, b = self.invoke(lam, "hv:stable", {})
            return b if "version" in b else None
        b = self.assertEventually(pinned, 20)  # once the second worker registered
        self.assertEqual(b["version"], "1")
        self.assertEqual(b["greeting"], "v1")
        self.assertEqual(b["arn"], "arn:aws:lambda:us-east-1:000000000000:function:hv:stable")
        for _ in range(5):  # always there now
            _, b = self.invoke(lam, "hv", {}, Qualifier="1")
            self.assertEqual(b["version"], "1")


if __name__ == "__main__":
    unittest.main()
