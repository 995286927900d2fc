"""SNS end-to-end (query protocol in both generations): topic and
subscription lifecycle, fan-out to SQS queues with and without
RawMessageDelivery, filter policies (attributes and body), PublishBatch,
FIFO topics, a lambda subscription with a real worker, an http subscription
with confirmation, errors, an EventBridge rule with an SNS topic target,
and the aws CLI."""

import http.server
import json
import os
import threading
import time
import urllib.request

import harness
from harness import SwitchyardTestCase

ACCOUNT = "000000000000"
REGION = "us-east-1"
HANDLER = os.path.join(harness.BUILD_DIR, "tests", "worker", "sy_test_handler.so")


def qarn(name):
    return "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)


class SnsBase(SwitchyardTestCase):
    def setUp(self):
        super().setUp()
        self.sns = self.client("sns")
        self.sqs = self.client("sqs")

    def queue(self, name, **attrs):
        url = self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        return url, qarn(name)

    def receive(self, url, want, timeout=15):
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            r = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                         MessageAttributeNames=["All"])
            for m in r.get("Messages", []):
                got.append(m)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got

    def empty(self, url):
        r = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        return not r.get("Messages")


class SnsApi(SnsBase):
    def test_protocol_is_query(self):
        self.assertEqual(self.protocol("sns"), "query")

    def test_topic_and_subscription_lifecycle(self):
        sns = self.sns
        arn = sns.create_topic(Name="orders", Tags=[{"Key": "team", "Value": "a"}])["TopicArn"]
        self.assertEqual(arn, "arn:aws:sns:us-east-1:000000000000:orders")
        self.assertEqual(sns.create_topic(Name="orders")["TopicArn"], arn)  # idempotent
        for i in range(3):
            sns.create_topic(Name="t%d" % i)
        arns = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
        self.assertIn(arn, arns)
        self.assertEqual(len(arns), 4)
        a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        self.assertEqual(a["TopicArn"], arn)
        self.assertEqual(a["SubscriptionsConfirmed"], "0")
        json.loads(a["Policy"])
        sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Orders")
        self.assertEqual(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"], "Orders")
        # tags
        sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
        tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
        self.assertEqual(tags, {"team": "a", "env": "dev"})
        sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
        self.assertEqual(sns.list_tags_for_resource(ResourceArn=arn)["Tags"], [{"Key": "env", "Value": "dev"}])
        # subscriptions
        _, q = self.queue("orders-q")
        sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=q,
                            Attributes={"RawMessageDelivery": "true"})["SubscriptionArn"]
        self.assertTrue(sub.startswith(arn + ":"))
        self.assertEqual(sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=q)["SubscriptionArn"], sub)
        subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        self.assertEqual([(s["SubscriptionArn"], s["Protocol"], s["Endpoint"]) for s in subs], [(sub, "sqs", q)])
        self.assertEqual(len(sns.list_subscriptions()["Subscriptions"]), 1)
        sa = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
        self.assertEqual(sa["RawMessageDelivery"], "true")
        self.assertEqual(sa["TopicArn"], arn)
        self.assertEqual(sa["PendingConfirmation"], "false")
        sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy",
                                        AttributeValue='{"color": ["blue"]}')
        sa = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
        self.assertEqual(json.loads(sa["FilterPolicy"]), {"color": ["blue"]})
        self.assertEqual(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SubscriptionsConfirmed"], "1")
        sns.unsubscribe(SubscriptionArn=sub)
        self.assertEqual(sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"], [])
        sns.delete_topic(TopicArn=arn)
        self.assertNotIn(arn, [t["TopicArn"] for t in sns.list_topics()["Topics"]])

    def test_list_topics_pages(self):
        for i in range(105):
            self.sns.create_topic(Name="p%03d" % i)
        r = self.sns.list_topics()
        self.assertEqual(len(r["Topics"]), 100)
        r2 = self.sns.list_topics(NextToken=r["NextToken"])
        self.assertEqual(len(r2["Topics"]), 5)
        self.assertNotIn("NextToken", r2)

    def test_errors(self):
        sns = self.sns
        missing = "arn:aws:sns:us-east-1:000000000000:nope"
        with self.assertRaises(sns.exceptions.NotFoundException) as cm:
            sns.get_topic_attributes(TopicArn=missing)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)
        with self.assertRaises(sns.exceptions.NotFoundException):
            sns.publish(TopicArn=missing, Message="x")
        with self.assertRaises(sns.exceptions.NotFoundException):
            sns.subscribe(TopicArn=missing, Protocol="sqs", Endpoint=qarn("x"))
        with self.assertRaises(sns.exceptions.NotFoundException):
            sns.get_subscription_attributes(SubscriptionArn=missing + ":abc")
        arn = sns.create_topic(Name="e")["TopicArn"]
        with self.assertRaises(sns.exceptions.InvalidParameterException):
            sns.create_topic(Name="bad name!")
        with self.assertRaises(sns.exceptions.InvalidParameterException):
            sns.subscribe(TopicArn=arn, Protocol="carrier-pigeon", Endpoint="x")
        with self.assertRaises(sns.exceptions.InvalidParameterException):
            sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn("x"),
                          Attributes={"FilterPolicy": '{"a": [{"numeric": ["<"]}]}'})
        with self.assertRaises(sns.exceptions.InvalidParameterException):
            sns.subscribe(TopicArn=arn, Protocol="lambda",
                          Endpoint="arn:aws:lambda:us-east-1:000000000000:function:f",
                          Attributes={"RawMessageDelivery": "true"})
        with self.assertRaises(sns.exceptions.InvalidParameterException):
            sns.publish(TopicArn=arn, Message="x", MessageStructure="json")
        with self.assertRaises(sns.exceptions.InvalidParameterException):
            sns.create_topic(Name="f.fifo")  # FifoTopic attribute missing
        with self.assertRaises(sns.exceptions.InvalidParameterException):
            sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn("q.fifo"))  # standard topic
        with self.assertRaises(sns.exceptions.InvalidParameterException):
            sns.create_platform_application(Name="a", Platform="GCM", Attributes={})
        with self.assertRaises(sns.exceptions.EmptyBatchRequestException):
            sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[])
        with self.assertRaises(sns.exceptions.BatchEntryIdsNotDistinctException):
            sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[{"Id": "a", "Message": "x"},
                                                                        {"Id": "a", "Message": "y"}])

    def test_aws_cli(self):
        r = self.aws("sns", "create-topic", "--name", "cli", check=True)
        arn = r.json["TopicArn"]
        url, q = self.queue("cli-q")
        self.aws("sns", "subscribe", "--topic-arn", arn, "--protocol", "sqs", "--notification-endpoint", q,
                 "--attributes", "RawMessageDelivery=true", check=True)
        r = self.aws("sns", "publish", "--topic-arn", arn, "--message", "from the cli", check=True)
        self.assertIn("MessageId", r.json)
        self.assertEqual([m["Body"] for m in self.receive(url, 1)], ["from the cli"])
        r = self.aws("sns", "list-subscriptions", check=True)
        self.assertEqual(len(r.json["Subscriptions"]), 1)
        r = self.aws("sns", "get-topic-attributes", "--topic-arn", arn + "x")
        self.assertNotEqual(r.rc, 0)
        self.assertIn("NotFound", r.stderr)


class SnsFanout(SnsBase):
    def test_fanout_envelope_and_raw(self):
        sns = self.sns
        arn = sns.create_topic(Name="fan")["TopicArn"]
        u1, q1 = self.queue("fan-env")
        u2, q2 = self.queue("fan-raw")
        u3, q3 = self.queue("fan-env2")
        s1 = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=q1)["SubscriptionArn"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=q2, Attributes={"RawMessageDelivery": "true"})
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=q3)
        mid = sns.publish(TopicArn=arn, Message="hello", Subject="greeting",
                          MessageAttributes={"color": {"DataType": "String", "StringValue": "blue"},
                                             "n": {"DataType": "Number", "StringValue": "3"}})["MessageId"]
        m1 = self.receive(u1, 1)
        self.assertEqual(len(m1), 1)
        env = json.loads(m1[0]["Body"])
        self.assertEqual(env["Type"], "Notification")
        self.assertEqual(env["MessageId"], mid)
        self.assertEqual(env["TopicArn"], arn)
        self.assertEqual(env["Subject"], "greeting")
        self.assertEqual(env["Message"], "hello")
        self.assertEqual(env["SignatureVersion"], "1")
        for k in ("Timestamp", "Signature", "SigningCertURL", "UnsubscribeURL"):
            self.assertIn(k, env)
        self.assertIn(s1, env["UnsubscribeURL"])
        self.assertEqual(env["MessageAttributes"], {"color": {"Type": "String", "Value": "blue"},
                                                    "n": {"Type": "Number", "Value": "3"}})
        m2 = self.receive(u2, 1)
        self.assertEqual(m2[0]["Body"], "hello")
        self.assertEqual(m2[0]["MessageAttributes"]["color"], {"DataType": "String", "StringValue": "blue"})
        self.assertEqual(m2[0]["MessageAttributes"]["n"], {"DataType": "Number", "StringValue": "3"})
        self.assertEqual(len(self.receive(u3, 1)), 1)

    def test_message_structure_json_and_batch(self):
        sns = self.sns
        arn = sns.create_topic(Name="st")["TopicArn"]
        u, q = self.queue("st-q")
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=q, Attributes={"RawMessageDelivery": "true"})
        sns.publish(TopicArn=arn, MessageStructure="json",
                    Message=json.dumps({"default": "d", "sqs": "for sqs", "lambda": "l"}))
        self.assertEqual(self.receive(u, 1)[0]["Body"], "for sqs")
        r = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[
            {"Id": "a", "Message": "one", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
            {"Id": "b", "Message": "two"},
            {"Id": "c", "Message": ""}])
        self.assertEqual(sorted(s["Id"] for s in r["Successful"]), ["a", "b"])
        self.assertEqual([(f["Id"], f["Code"]) for f in r["Failed"]], [("c", "InvalidParameter")])
        got = self.receive(u, 2)
        self.assertEqual(sorted(m["Body"] for m in got), ["one", "two"])
        one = [m for m in got if m["Body"] == "one"][0]
        self.assertEqual(one["MessageAttributes"]["k"]["StringValue"], "v")

    def test_filter_policies(self):
        sns = self.sns
        arn = sns.create_topic(Name="flt")["TopicArn"]
        ub, qb = self.queue("flt-blue")
        un, qn = self.queue("flt-num")
        ubody, qbody = self.queue("flt-body")
        uall, qall = self.queue("flt-all")
        raw = {"RawMessageDelivery": "true"}
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qb,
                      Attributes=dict(raw, FilterPolicy='{"color": ["blue", {"prefix": "cy"}]}'))
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qn,
                      Attributes=dict(raw, FilterPolicy='{"price": [{"numeric": [">", 100]}]}'))
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qbody,
                      Attributes=dict(raw, FilterPolicyScope="MessageBody",
                                      FilterPolicy='{"order": {"kind": ["big"]}}'))
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qall, Attributes=raw)

        def pub(msg, **attrs):
            ma = {k: {"DataType": "Number" if isinstance(v, int) else "String", "StringValue": str(v)}
                  for k, v in attrs.items()}
            sns.publish(TopicArn=arn, Message=msg, MessageAttributes=ma)

        pub("m1", color="blue")
        pub("m2", color="cyan", price=500)
        pub("m3", color="red", price=5)
        pub(json.dumps({"order": {"kind": "big"}}))
        pub(json.dumps({"order": {"kind": "small"}}), price=101)
        self.assertEqual(sorted(m["Body"] for m in self.receive(ub, 2)), ["m1", "m2"])
        self.assertEqual(sorted(m["Body"] for m in self.receive(un, 2)),
                         sorted(["m2", json.dumps({"order": {"kind": "small"}})]))
        self.assertEqual([m["Body"] for m in self.receive(ubody, 1)], [json.dumps({"order": {"kind": "big"}})])
        self.assertEqual(len(self.receive(uall, 5)), 5)
        for u in (ub, un, ubody):
            self.assertTrue(self.empty(u))
        # a policy change is seen by the next publish
        sub = [s for s in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
               if s["Endpoint"] == qb][0]["SubscriptionArn"]
        sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy",
                                        AttributeValue='{"color": ["red"]}')
        pub("m6", color="red")
        pub("m7", color="blue")
        self.assertEqual([m["Body"] for m in self.receive(ub, 1)], ["m6"])
        self.assertTrue(self.empty(ub))

    def test_second_broker_sees_subscription_changes(self):
        b2 = self.start_broker()
        sns2 = self.client("sns", broker=b2)
        arn = self.sns.create_topic(Name="two")["TopicArn"]
        u, q = self.queue("two-q")
        sub = self.sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=q,
                                 Attributes={"RawMessageDelivery": "true",
                                             "FilterPolicy": '{"k": ["a"]}'})["SubscriptionArn"]
        attrs = lambda v: {"k": {"DataType": "String", "StringValue": v}}
        sns2.publish(TopicArn=arn, Message="a1", MessageAttributes=attrs("a"))
        sns2.publish(TopicArn=arn, Message="b1", MessageAttributes=attrs("b"))
        self.assertEqual([m["Body"] for m in self.receive(u, 1)], ["a1"])
        self.sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy",
                                             AttributeValue='{"k": ["b"]}')
        sns2.publish(TopicArn=arn, Message="a2", MessageAttributes=attrs("a"))
        sns2.publish(TopicArn=arn, Message="b2", MessageAttributes=attrs("b"))
        self.assertEqual([m["Body"] for m in self.receive(u, 1)], ["b2"])
        self.sns.unsubscribe(SubscriptionArn=sub)
        sns2.publish(TopicArn=arn, Message="b3", MessageAttributes=attrs("b"))
        self.assertTrue(self.empty(u))

    def test_fifo_topic(self):
        sns = self.sns
        arn = sns.create_topic(Name="ord.fifo", Attributes={"FifoTopic": "true",
                                                            "ContentBasedDeduplication": "true"})["TopicArn"]
        self.assertEqual(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["FifoTopic"], "true")
        u, q = self.queue("ord.fifo", FifoQueue="true")
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=q, Attributes={"RawMessageDelivery": "true"})
        with self.assertRaises(sns.exceptions.InvalidParameterException):
            sns.publish(TopicArn=arn, Message="no group")
        for i in range(3):
            r = sns.publish(TopicArn=arn, Message="m%d" % i, MessageGroupId="g")
            self.assertIn("SequenceNumber", r)
        sns.publish(TopicArn=arn, Message="m0", MessageGroupId="g")  # deduplicated by the queue
        self.assertEqual([m["Body"] for m in self.receive(u, 3)], ["m0", "m1", "m2"])
        self.assertTrue(self.empty(u))

    def test_eventbridge_rule_with_topic_target(self):
        sns = self.sns
        ev = self.client("events")
        arn = sns.create_topic(Name="from-eb")["TopicArn"]
        u, q = self.queue("from-eb-q")
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=q)
        ev.put_rule(Name="to-sns", EventPattern=json.dumps({"source": ["shop"]}))
        ev.put_targets(Rule="to-sns", Targets=[{"Id": "t", "Arn": arn}])
        r = ev.put_events(Entries=[{"Source": "shop", "DetailType": "order", "Detail": '{"n": 7}'}])
        self.assertEqual(r["FailedEntryCount"], 0)
        got = self.receive(u, 1, timeout=20)
        self.assertEqual(len(got), 1)
        env = json.loads(got[0]["Body"])
        self.assertEqual(env["TopicArn"], arn)
        event = json.loads(env["Message"])
        self.assertEqual(event["source"], "shop")
        self.assertEqual(event["detail"], {"n": 7})


class _Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode()
        self.server.calls.append({"body": json.loads(body), "headers": dict(self.headers)})
        kind = self.headers.get("x-amz-sns-message-type")
        self.send_response(getattr(self.server, "notification_status", 200) if kind == "Notification" else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


class SnsHttp(SnsBase):
    def test_http_subscription_with_confirmation(self):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
        srv.calls = []
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        endpoint = "http://127.0.0.1:%d/hook" % srv.server_address[1]
        sns = self.sns
        arn = sns.create_topic(Name="web")["TopicArn"]
        r = sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=endpoint)
        self.assertEqual(r["SubscriptionArn"], "pending confirmation")
        self.assertEventually(lambda: srv.calls, 15)
        conf = srv.calls[0]
        self.assertEqual(conf["headers"]["x-amz-sns-message-type"], "SubscriptionConfirmation")
        self.assertEqual(conf["body"]["Type"], "SubscriptionConfirmation")
        self.assertEqual(conf["body"]["TopicArn"], arn)
        subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        self.assertEqual(subs[0]["SubscriptionArn"], "PendingConfirmation")
        sns.publish(TopicArn=arn, Message="before confirmation")  # not delivered
        # confirm by visiting SubscribeURL, as an endpoint does
        with urllib.request.urlopen(conf["body"]["SubscribeURL"], timeout=10) as resp:
            self.assertIn(b"ConfirmSubscriptionResult", resp.read())
        subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        self.assertTrue(subs[0]["SubscriptionArn"].startswith(arn + ":"))
        with self.assertRaises(sns.exceptions.InvalidParameterException):
            sns.confirm_subscription(TopicArn=arn, Token="bogus")
        mid = sns.publish(TopicArn=arn, Message="after", Subject="s")["MessageId"]
        self.assertEventually(lambda: len(srv.calls) >= 2, 15)
        time.sleep(0.5)
        self.assertEqual(len(srv.calls), 2)
        n = srv.calls[1]
        self.assertEqual(n["headers"]["x-amz-sns-message-type"], "Notification")
        self.assertEqual(n["headers"]["x-amz-sns-message-id"], mid)
        self.assertEqual(n["headers"]["x-amz-sns-subscription-arn"], subs[0]["SubscriptionArn"])
        self.assertEqual(n["body"]["Message"], "after")
        # ReturnSubscriptionArn and ConfirmSubscription through the API
        r = sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=endpoint + "2", ReturnSubscriptionArn=True)
        self.assertTrue(r["SubscriptionArn"].startswith(arn + ":"))
        self.assertEventually(lambda: len(srv.calls) >= 3, 15)
        token = srv.calls[2]["body"]["Token"]
        c = sns.confirm_subscription(TopicArn=arn, Token=token)
        self.assertEqual(c["SubscriptionArn"], r["SubscriptionArn"])
        self.assertEqual(sns.get_subscription_attributes(SubscriptionArn=r["SubscriptionArn"])
                         ["Attributes"]["PendingConfirmation"], "false")


class SnsDeadLetters(SnsBase):
    def test_http_retries_then_dead_letter_queue(self):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
        srv.calls = []
        srv.notification_status = 500
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        sns = self.sns
        arn = sns.create_topic(Name="flaky")["TopicArn"]
        du, dq = self.queue("flaky-dlq")
        with self.assertRaises(sns.exceptions.InvalidParameterException):
            sns.subscribe(TopicArn=arn, Protocol="http", Endpoint="http://127.0.0.1:1/x",
                          Attributes={"RedrivePolicy": '{"deadLetterTargetArn": "nope"}'})
        sns.subscribe(TopicArn=arn, Protocol="http", Endpoint="http://127.0.0.1:%d/" % srv.server_address[1],
                      Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dq}),
                                  "DeliveryPolicy": json.dumps({"healthyRetryPolicy": {
                                      "numRetries": 2, "minDelayTarget": 1, "maxDelayTarget": 1}})})
        self.assertEventually(lambda: srv.calls, 15)
        sns.confirm_subscription(TopicArn=arn, Token=srv.calls[0]["body"]["Token"])
        mid = sns.publish(TopicArn=arn, Message="undeliverable")["MessageId"]
        got = self.receive(du, 1, timeout=30)
        self.assertEqual(len(got), 1)
        self.assertEqual(json.loads(got[0]["Body"])["MessageId"], mid)
        self.assertEqual(len([c for c in srv.calls if c["body"]["Type"] == "Notification"]), 3)

    def test_deleted_queue_goes_to_dead_letter_queue(self):
        sns = self.sns
        arn = sns.create_topic(Name="gone")["TopicArn"]
        gu, gq = self.queue("gone-q")
        du, dq = self.queue("gone-dlq")
        ok_u, ok_q = self.queue("gone-ok")
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=gq,
                      Attributes={"RawMessageDelivery": "true",
                                  "RedrivePolicy": json.dumps({"deadLetterTargetArn": dq})})
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=ok_q, Attributes={"RawMessageDelivery": "true"})
        self.sqs.delete_queue(QueueUrl=gu)
        sns.publish(TopicArn=arn, Message="m")  # the publish itself succeeds
        self.assertEqual([m["Body"] for m in self.receive(du, 1)], ["m"])
        self.assertEqual([m["Body"] for m in self.receive(ok_u, 1)], ["m"])


class SnsLambda(SnsBase):
    BROKER_ARGS = ("--time-scale", "60")

    def test_lambda_subscription(self):
        lam = self.client("lambda")
        sns = self.sns
        u, q = self.queue("lambda-results")
        self.start_worker("--broker", self.broker.worker_endpoint, "--log-level", "info",
                          "--function", "echo=so:%s:echo" % HANDLER, "--function", "echo2=so:%s:echo" % HANDLER)

        def hosted():
            try:
                lam.get_function(FunctionName="echo")
                return True
            except Exception:
                return False
        self.assertEventually(hosted, 20)
        lam.put_function_event_invoke_config(FunctionName="echo",
                                             DestinationConfig={"OnSuccess": {"Destination": q}})
        time.sleep(1.1)  # the function's config cache
        arn = sns.create_topic(Name="fn")["TopicArn"]
        fn = "arn:aws:lambda:us-east-1:000000000000:function:echo"
        sub = sns.subscribe(TopicArn=arn, Protocol="lambda", Endpoint=fn)["SubscriptionArn"]
        mid = sns.publish(TopicArn=arn, Message="to the function", Subject="s",
                          MessageAttributes={"a": {"DataType": "String", "StringValue": "b"}})["MessageId"]
        got = self.receive(u, 1, timeout=30)
        self.assertEqual(len(got), 1)
        rec = json.loads(got[0]["Body"])
        ev = rec["requestPayload"]["Records"][0]
        self.assertEqual(ev["EventSource"], "aws:sns")
        self.assertEqual(ev["EventVersion"], "1.0")
        self.assertEqual(ev["EventSubscriptionArn"], sub)
        self.assertEqual(ev["Sns"]["MessageId"], mid)
        self.assertEqual(ev["Sns"]["Message"], "to the function")
        self.assertEqual(ev["Sns"]["MessageAttributes"], {"a": {"Type": "String", "Value": "b"}})
        self.assertIn("SigningCertUrl", ev["Sns"])
        self.assertIn("UnsubscribeUrl", ev["Sns"])
        self.assertEqual(rec["responsePayload"], rec["requestPayload"])  # echo

        # a Lambda destination naming a topic publishes the record to it
        ut, qt = self.queue("dest-topic-q")
        dest = sns.create_topic(Name="fn-results")["TopicArn"]
        sns.subscribe(TopicArn=dest, Protocol="sqs", Endpoint=qt, Attributes={"RawMessageDelivery": "true"})
        lam.put_function_event_invoke_config(FunctionName="echo2",
                                             DestinationConfig={"OnSuccess": {"Destination": dest}})
        time.sleep(1.1)
        lam.invoke(FunctionName="echo2", InvocationType="Event", Payload=b'{"k": 1}')
        got = self.receive(ut, 1, timeout=30)
        self.assertEqual(len(got), 1)
        rec = json.loads(got[0]["Body"])
        self.assertEqual(rec["requestPayload"], {"k": 1})
        self.assertEqual(rec["requestContext"]["condition"], "Success")


if __name__ == "__main__":
    import unittest
    unittest.main()
