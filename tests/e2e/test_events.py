"""EventBridge end-to-end: buses, rules, targets (SQS incl. FIFO, Step
Functions, another bus, API destinations over HTTP, worker functions through
the test invoker), input transformers, retries into a DLQ against a failing
HTTP server, archive + replay, rate() schedules under the test clock, two
brokers firing a schedule once, and the aws CLI."""

import http.server
import json
import os
import threading
import time

import harness
from harness import SwitchyardTestCase

ACCOUNT = "000000000000"
REGION = "us-east-1"


def qarn(name):
    return "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode()
        self.server.calls.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def http_server(status):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.calls = []
    srv.status = status
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class EventsTests(SwitchyardTestCase):
    BROKER_ARGS = ("--time-scale", "60")

    def setUp(self):
        os.environ["SWITCHYARD_TEST_DOUBLES"] = "bus-invoker"
        super().setUp()
        self.ev = self.client("events")
        self.sqs = self.client("sqs")

    def queue(self, name, **attrs):
        url = self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        return url

    def receive(self, url, want=1, timeout=15):
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            r = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                         MessageAttributeNames=["All"])
            for m in r.get("Messages", []):
                got.append(m)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got

    def put(self, source="app.orders", detail=None, bus=None, dt="OrderCreated"):
        e = {"Source": source, "DetailType": dt, "Detail": json.dumps(detail or {"id": 1})}
        if bus:
            e["EventBusName"] = bus
        r = self.ev.put_events(Entries=[e])
        self.assertEqual(r["FailedEntryCount"], 0, r)
        return r["Entries"][0]["EventId"]

    # ------------------------------------------------------------ API
    def test_buses_rules_targets_api(self):
        ev = self.ev
        names = [b["Name"] for b in ev.list_event_buses()["EventBuses"]]
        self.assertIn("default", names)
        arn = ev.create_event_bus(Name="orders", Tags=[{"Key": "team", "Value": "a"}])["EventBusArn"]
        self.assertEqual(arn, "arn:aws:events:us-east-1:000000000000:event-bus/orders")
        with self.assertRaises(ev.exceptions.ResourceAlreadyExistsException):
            ev.create_event_bus(Name="orders")
        self.assertEqual(ev.describe_event_bus(Name="orders")["Arn"], arn)
        with self.assertRaises(ev.exceptions.ResourceNotFoundException):
            ev.describe_event_bus(Name="nope")
        self.assertEqual(ev.list_tags_for_resource(ResourceARN=arn)["Tags"], [{"Key": "team", "Value": "a"}])
        ev.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "dev"}])
        ev.untag_resource(ResourceARN=arn, TagKeys=["team"])
        self.assertEqual(ev.list_tags_for_resource(ResourceARN=arn)["Tags"], [{"Key": "env", "Value": "dev"}])
        ev.put_permission(EventBusName="orders", Action="events:PutEvents", Principal="111122223333",
                          StatementId="s1")
        pol = json.loads(ev.describe_event_bus(Name="orders")["Policy"])
        self.assertEqual(pol["Statement"][0]["Sid"], "s1")
        ev.remove_permission(EventBusName="orders", StatementId="s1")
        self.assertNotIn("Policy", ev.describe_event_bus(Name="orders"))

        rarn = ev.put_rule(Name="r1", EventBusName="orders", EventPattern=json.dumps({"source": ["a"]}),
                           Description="d")["RuleArn"]
        self.assertEqual(rarn, "arn:aws:events:us-east-1:000000000000:rule/orders/r1")
        for i in range(3):
            ev.put_rule(Name="p%d" % i, EventPattern=json.dumps({"source": ["x"]}))
        page = ev.list_rules(NamePrefix="p", Limit=2)
        self.assertEqual([r["Name"] for r in page["Rules"]], ["p0", "p1"])
        page2 = ev.list_rules(NamePrefix="p", Limit=2, NextToken=page["NextToken"])
        self.assertEqual([r["Name"] for r in page2["Rules"]], ["p2"])
        d = ev.describe_rule(Name="r1", EventBusName="orders")
        self.assertEqual((d["State"], d["Description"], d["EventBusName"]), ("ENABLED", "d", "orders"))
        ev.disable_rule(Name="r1", EventBusName="orders")
        self.assertEqual(ev.describe_rule(Name="r1", EventBusName="orders")["State"], "DISABLED")
        ev.enable_rule(Name="r1", EventBusName="orders")
        with self.assertRaises(ev.exceptions.ResourceNotFoundException):
            ev.describe_rule(Name="zz")
        with self.assertRaises(ev.exceptions.InvalidEventPatternException):
            ev.put_rule(Name="bad", EventPattern='{"source": "notalist"}')
        with self.assertRaises(ev.exceptions.ClientError) as cm:
            ev.put_rule(Name="s", EventBusName="orders", ScheduleExpression="rate(5 minutes)")
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationException")
        with self.assertRaises(ev.exceptions.ClientError):
            ev.put_rule(Name="s", ScheduleExpression="rate(5 minute)")
        ev.put_rule(Name="cr", ScheduleExpression="cron(0 12 ? * MON-FRI *)", State="DISABLED")

        q = qarn("t-api")
        r = ev.put_targets(Rule="r1", EventBusName="orders", Targets=[{"Id": "t%d" % i, "Arn": q} for i in range(5)])
        self.assertEqual(r["FailedEntryCount"], 0)
        with self.assertRaises(ev.exceptions.LimitExceededException):
            ev.put_targets(Rule="r1", EventBusName="orders", Targets=[{"Id": "t9", "Arn": q}])
        with self.assertRaises(ev.exceptions.ClientError) as cm:
            ev.put_targets(Rule="p0", Targets=[{"Id": "k", "Arn": "arn:aws:kinesis:us-east-1:000000000000:stream/k"}])
        self.assertIn("not supported", cm.exception.response["Error"]["Message"])
        with self.assertRaises(ev.exceptions.ClientError):
            ev.put_targets(Rule="p0", Targets=[{"Id": "f", "Arn": qarn("x.fifo")}])
        self.assertEqual(len(ev.list_targets_by_rule(Rule="r1", EventBusName="orders")["Targets"]), 5)
        self.assertEqual(ev.list_rule_names_by_target(TargetArn=q, EventBusName="orders")["RuleNames"], ["r1"])
        with self.assertRaises(ev.exceptions.ClientError) as cm:
            ev.delete_rule(Name="r1", EventBusName="orders")
        self.assertIn("targets", cm.exception.response["Error"]["Message"])
        ev.remove_targets(Rule="r1", EventBusName="orders", Ids=["t%d" % i for i in range(5)])
        ev.delete_rule(Name="r1", EventBusName="orders")
        self.assertEqual(ev.list_rules(EventBusName="orders")["Rules"], [])
        ev.tag_resource(ResourceARN=ev.describe_rule(Name="p0")["Arn"], Tags=[{"Key": "k", "Value": "v"}])
        ev.delete_event_bus(Name="orders")
        with self.assertRaises(ev.exceptions.ClientError):
            ev.delete_event_bus(Name="default")

        event = {"id": "1", "account": ACCOUNT, "source": "a", "time": "2026-01-01T00:00:00Z", "region": REGION,
                 "detail-type": "x", "resources": [], "detail": {"n": 5}}
        self.assertTrue(ev.test_event_pattern(EventPattern=json.dumps({"detail": {"n": [{"numeric": [">", 1]}]}}),
                                              Event=json.dumps(event))["Result"])
        self.assertFalse(ev.test_event_pattern(EventPattern=json.dumps({"source": ["b"]}),
                                               Event=json.dumps(event))["Result"])

        r = ev.put_events(Entries=[{"Source": "a", "DetailType": "x", "Detail": "not json"},
                                   {"Source": "a", "DetailType": "x", "Detail": "{}", "EventBusName": "nope"},
                                   {"Source": "a", "DetailType": "x", "Detail": "{}"}])
        self.assertEqual(r["FailedEntryCount"], 2)
        self.assertEqual(r["Entries"][0]["ErrorCode"], "MalformedDetail")
        self.assertIn("EventId", r["Entries"][2])
        with self.assertRaises(ev.exceptions.ClientError):
            ev.put_events(Entries=[{"Source": "a", "DetailType": "x", "Detail": "{}"}] * 11)

    # ------------------------------------------------------------ delivery
    def test_sqs_targets_and_transformers(self):
        ev = self.ev
        u_plain, u_tx, u_path, u_const, u_fifo = (self.queue("plain"), self.queue("tx"), self.queue("path"),
                                                  self.queue("const"),
                                                  self.queue("f.fifo", FifoQueue="true"))
        ev.put_rule(Name="orders", EventPattern=json.dumps({"source": ["app.orders"],
                                                            "detail": {"amount": [{"numeric": [">", 10]}]}}))
        ev.put_targets(Rule="orders", Targets=[
            {"Id": "plain", "Arn": qarn("plain")},
            {"Id": "tx", "Arn": qarn("tx"), "InputTransformer": {
                "InputPathsMap": {"id": "$.detail.id", "who": "$.detail.customer", "src": "$.source"},
                "InputTemplate": '{"order": <id>, "customer": <who>, "text": "from <src> by <who>", '
                                 '"rule": "<aws.events.rule-name>"}'}},
            {"Id": "path", "Arn": qarn("path"), "InputPath": "$.detail"},
            {"Id": "const", "Arn": qarn("const"), "Input": '{"fixed": true}'},
            {"Id": "fifo", "Arn": qarn("f.fifo"), "SqsParameters": {"MessageGroupId": "g1"}},
        ])
        eid = self.put(detail={"id": 7, "customer": "ann", "amount": 20})
        self.put(detail={"id": 8, "customer": "bob", "amount": 5})  # no match
        m = json.loads(self.receive(u_plain)[0]["Body"])
        self.assertEqual(m["id"], eid)
        self.assertEqual(set(m), {"version", "id", "detail-type", "source", "account", "time", "region",
                                  "resources", "detail"})
        self.assertEqual((m["detail"], m["account"], m["region"]), ({"id": 7, "customer": "ann", "amount": 20},
                                                                    ACCOUNT, REGION))
        self.assertRegex(m["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(json.loads(self.receive(u_tx)[0]["Body"]),
                         {"order": 7, "customer": "ann", "text": "from app.orders by ann", "rule": "orders"})
        self.assertEqual(json.loads(self.receive(u_path)[0]["Body"]), {"id": 7, "customer": "ann", "amount": 20})
        self.assertEqual(json.loads(self.receive(u_const)[0]["Body"]), {"fixed": True})
        self.assertEqual(json.loads(self.receive(u_fifo)[0]["Body"])["id"], eid)
        self.assertEqual(self.receive(u_plain, timeout=1), [])

        # string template, disabled rule
        ev.put_targets(Rule="orders", Targets=[{"Id": "tx", "Arn": qarn("tx"), "InputTransformer": {
            "InputPathsMap": {"who": "$.detail.customer"}, "InputTemplate": "customer <who> ordered"}}])
        self.put(detail={"id": 9, "customer": "cy", "amount": 50})
        self.assertEqual(self.receive(u_tx)[0]["Body"], "customer cy ordered")
        self.assertEqual(len(self.receive(u_plain)), 1)
        ev.disable_rule(Name="orders")
        self.put(detail={"id": 10, "customer": "dee", "amount": 50})
        self.assertEqual(self.receive(u_plain, timeout=2), [])

    def test_bus_sfn_and_function_targets(self):
        ev = self.ev
        sfn = self.client("stepfunctions")
        sm = sfn.create_state_machine(name="m", roleArn="arn:aws:iam::000000000000:role/r",
                                      definition=json.dumps({"StartAt": "P", "States": {
                                          "P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
        ev.create_event_bus(Name="inner")
        u_inner = self.queue("inner-q")
        u_calls = self.queue("worker-calls")
        ev.put_rule(Name="fwd", EventPattern=json.dumps({"source": ["app"]}))
        ev.put_targets(Rule="fwd", Targets=[
            {"Id": "bus", "Arn": "arn:aws:events:us-east-1:000000000000:event-bus/inner"},
            {"Id": "sm", "Arn": sm, "InputTransformer": {"InputPathsMap": {"n": "$.detail.n"},
                                                        "InputTemplate": '{"n": <n>}'}},
            {"Id": "fn", "Arn": "arn:aws:lambda:us-east-1:000000000000:function:worker"},
        ])
        ev.put_rule(Name="in", EventBusName="inner", EventPattern=json.dumps({"source": ["app"]}))
        ev.put_targets(Rule="in", EventBusName="inner", Targets=[{"Id": "q", "Arn": qarn("inner-q")}])
        eid = self.put(source="app", detail={"n": 3})
        m = json.loads(self.receive(u_inner)[0]["Body"])
        self.assertEqual((m["id"], m["detail"]), (eid, {"n": 3}))
        self.assertEqual(json.loads(self.receive(u_calls)[0]["Body"])["id"], eid)

        def done():
            ex = sfn.list_executions(stateMachineArn=sm)["executions"]
            return ex and ex[0]["status"] == "SUCCEEDED" and ex
        ex = harness.wait_until(done, 15)
        self.assertTrue(ex)
        self.assertEqual(json.loads(sfn.describe_execution(executionArn=ex[0]["executionArn"])["output"]), {"n": 3})

    def test_http_destination_and_dlq(self):
        ev = self.ev
        ok, bad = http_server(200), http_server(500)
        self.addCleanup(ok.shutdown)
        self.addCleanup(bad.shutdown)
        conn = ev.create_connection(Name="c", AuthorizationType="API_KEY", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "s3cret"}})["ConnectionArn"]
        basic = ev.create_connection(Name="b", AuthorizationType="BASIC", AuthParameters={
            "BasicAuthParameters": {"Username": "u", "Password": "p"}})["ConnectionArn"]
        self.assertEqual(ev.describe_connection(Name="c")["AuthParameters"],
                         {"ApiKeyAuthParameters": {"ApiKeyName": "x-key"}})
        d_ok = ev.create_api_destination(Name="ok", ConnectionArn=conn, HttpMethod="POST",
                                         InvocationEndpoint="http://127.0.0.1:%d/hook/*" % ok.server_port,
                                         InvocationRateLimitPerSecond=50)["ApiDestinationArn"]
        d_bad = ev.create_api_destination(Name="bad", ConnectionArn=basic, HttpMethod="POST",
                                          InvocationEndpoint="http://127.0.0.1:%d/" % bad.server_port)["ApiDestinationArn"]
        self.assertEqual(len(ev.list_api_destinations()["ApiDestinations"]), 2)
        self.assertEqual(ev.describe_api_destination(Name="ok")["InvocationRateLimitPerSecond"], 50)
        u_dlq = self.queue("dlq")
        ev.put_rule(Name="h", EventPattern=json.dumps({"source": ["web"]}))
        ev.put_targets(Rule="h", Targets=[
            {"Id": "ok", "Arn": d_ok, "HttpParameters": {"PathParameterValues": ["p1"],
                                                         "QueryStringParameters": {"a": "b"}},
             "InputTransformer": {"InputPathsMap": {"v": "$.detail.v"}, "InputTemplate": '{"v": <v>}'}},
            {"Id": "bad", "Arn": d_bad, "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
             "DeadLetterConfig": {"Arn": qarn("dlq")}},
            {"Id": "fail", "Arn": "arn:aws:lambda:us-east-1:000000000000:function:will-fail",
             "RetryPolicy": {"MaximumRetryAttempts": 0}, "DeadLetterConfig": {"Arn": qarn("dlq")}},
        ])
        self.put(source="web", detail={"v": "x"})
        self.assertTrue(harness.wait_until(lambda: ok.calls, 15))
        call = ok.calls[0]
        self.assertEqual(call["path"], "/hook/p1?a=b")
        self.assertEqual(json.loads(call["body"]), {"v": "x"})
        self.assertEqual(call["headers"].get("x-key"), "s3cret")
        got = self.receive(u_dlq, want=2, timeout=30)
        self.assertEqual(len(got), 2)
        by = {m["MessageAttributes"]["TARGET_ARN"]["StringValue"]: m for m in got}
        m = by[d_bad]
        self.assertEqual(len(bad.calls), 3)  # first try + 2 retries
        self.assertTrue(bad.calls[0]["headers"]["Authorization"].startswith("Basic "))
        self.assertIn("500", m["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"])
        self.assertEqual(m["MessageAttributes"]["RULE_ARN"]["StringValue"],
                         "arn:aws:events:us-east-1:000000000000:rule/h")
        self.assertIn("ERROR_CODE", m["MessageAttributes"])
        self.assertEqual(json.loads(m["Body"])["source"], "web")
        f = by["arn:aws:lambda:us-east-1:000000000000:function:will-fail"]
        self.assertEqual(f["MessageAttributes"]["ERROR_CODE"]["StringValue"], "Lambda.ServiceException")
        ev.delete_api_destination(Name="ok")
        ev.delete_connection(Name="c")
        with self.assertRaises(ev.exceptions.ResourceNotFoundException):
            ev.describe_connection(Name="c")

    def test_archive_and_replay(self):
        ev = self.ev
        bus_arn = "arn:aws:events:us-east-1:000000000000:event-bus/default"
        a = ev.create_archive(ArchiveName="all", EventSourceArn=bus_arn, RetentionDays=1,
                              EventPattern=json.dumps({"source": ["arch"]}))
        self.assertEqual(a["State"], "ENABLED")
        t0 = time.time() - 5
        ids = [self.put(source="arch", detail={"i": i}) for i in range(3)]
        self.put(source="other")
        d = ev.describe_archive(ArchiveName="all")
        self.assertEqual(d["EventCount"], 3)
        self.assertEqual(len(ev.list_archives(NamePrefix="a")["Archives"]), 1)
        ev.update_archive(ArchiveName="all", Description="x", RetentionDays=2)
        self.assertEqual(ev.describe_archive(ArchiveName="all")["RetentionDays"], 2)
        u = self.queue("replayed")
        ev.put_rule(Name="rp", EventPattern=json.dumps({"source": ["arch"], "replay-name": [{"exists": True}]}))
        ev.put_targets(Rule="rp", Targets=[{"Id": "q", "Arn": qarn("replayed")}])
        r = ev.start_replay(ReplayName="r1", EventSourceArn=a["ArchiveArn"], EventStartTime=t0,
                            EventEndTime=time.time() + 5, Destination={"Arn": bus_arn})
        self.assertEqual(r["State"], "STARTING")
        got = self.receive(u, want=3)
        self.assertEqual(sorted(json.loads(m["Body"])["id"] for m in got), sorted(ids))
        self.assertEqual(json.loads(got[0]["Body"])["replay-name"], "r1")
        self.assertTrue(harness.wait_until(lambda: ev.describe_replay(ReplayName="r1")["State"] == "COMPLETED", 10))
        self.assertEqual(ev.list_replays()["Replays"][0]["ReplayName"], "r1")
        with self.assertRaises(ev.exceptions.IllegalStatusException):
            ev.cancel_replay(ReplayName="r1")
        ev.delete_archive(ArchiveName="all")

    def test_schedule_rate_under_test_clock(self):
        ev = self.ev
        u = self.queue("ticks")
        arn = ev.put_rule(Name="tick", ScheduleExpression="rate(1 minute)")["RuleArn"]
        ev.put_targets(Rule="tick", Targets=[{"Id": "q", "Arn": qarn("ticks")}])
        got = self.receive(u, want=3, timeout=15)  # 1 minute = 1 s at --time-scale 60
        self.assertGreaterEqual(len(got), 3)
        m = json.loads(got[0]["Body"])
        self.assertEqual((m["source"], m["detail-type"], m["resources"], m["detail"]),
                         ("aws.events", "Scheduled Event", [arn], {}))

    def test_schedule_two_brokers_fire_once(self):
        b2 = self.start_broker(extra_args=self.BROKER_ARGS)
        u = self.queue("once")
        self.ev.put_rule(Name="once", ScheduleExpression="rate(1 minute)")
        self.ev.put_targets(Rule="once", Targets=[{"Id": "q", "Arn": qarn("once")}])
        time.sleep(5.5)
        self.ev.disable_rule(Name="once")
        time.sleep(0.5)
        got = self.receive(u, want=100, timeout=3)
        times = [json.loads(m["Body"])["time"] for m in got]
        self.assertGreaterEqual(len(times), 4)
        self.assertLessEqual(len(times), 7)
        self.assertEqual(len(times), len(set(times)), times)  # one event per tick
        b2.stop()

    def test_aws_cli(self):
        r = self.aws("events", "put-rule", "--name", "cli", "--event-pattern", '{"source":["cli"]}', check=True)
        self.assertIn("rule/cli", r.json["RuleArn"])
        self.queue("cliq")
        self.aws("events", "put-targets", "--rule", "cli", "--targets",
                 json.dumps([{"Id": "q", "Arn": qarn("cliq")}]), check=True)
        r = self.aws("events", "put-events", "--entries",
                     json.dumps([{"Source": "cli", "DetailType": "t", "Detail": '{"a":1}'}]), check=True)
        self.assertEqual(r.json["FailedEntryCount"], 0)
        r = self.aws("events", "list-rules", check=True)
        self.assertEqual([x["Name"] for x in r.json["Rules"]], ["cli"])
        r = self.aws("events", "describe-event-bus", check=True)
        self.assertEqual(r.json["Name"], "default")
        url = self.sqs.get_queue_url(QueueName="cliq")["QueueUrl"]
        self.assertEqual(json.loads(self.receive(url)[0]["Body"])["detail"], {"a": 1})


if __name__ == "__main__":
    import unittest
    unittest.main()
