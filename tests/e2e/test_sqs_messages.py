"""SQS message API end to end: SendMessage(Batch), ReceiveMessage,
DeleteMessage(Batch), ChangeMessageVisibility(Batch); MD5s computed here;
attributes and their filters; delays; visibility; batch and limit errors.
Runs under both client generations."""

import base64
import time

import harness
from sqs_common import SqsTestCase, md5_hex, md5_of_attributes, s

VECTORS = [
    ({"k": s("v")}, "0a77b0642718c3d9dd47090567d11e0d"),
    ({"color": s("blue"), "count": {"DataType": "Number", "StringValue": "42"},
      "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02"}}, "ffd533108fa696ac9b4e228c10e60107"),
    ({"MyAttribute": s("foobar")}, "adb59cd4678ea5a855436b949cd07ab6"),
    ({"Foo": s("Bar")}, "ae7155c6026991b6d54b11589678bf9c"),
    ({"Hello": s("There")}, "a311262e065454b75da111d535b8dacd"),
    ({"General": s("Kenobi"), "Hello": s("There"), "Help.Me": s("Me")}, "4c360f3fdafd970e05fae2f149d997f5"),
]


class SqsMessages(SqsTestCase):

    def test_md5_vectors_send_and_receive(self):
        self.assertEqual(md5_hex("hi"), "49f68a5c8493ec2c0bf489821c21fc3b")
        url = self.create("md5s")
        for attrs, want in VECTORS:
            self.assertEqual(md5_of_attributes(attrs), want)  # the test's own algorithm
            r = self.sqs.send_message(QueueUrl=url, MessageBody="hi", MessageAttributes=attrs)
            self.assertEqual(r["MD5OfMessageBody"], "49f68a5c8493ec2c0bf489821c21fc3b")
            self.assertEqual(r["MD5OfMessageAttributes"], want)
            (m,) = self.drain(url, 1, MessageAttributeNames=["All"])
            self.assertEqual(m["MD5OfBody"], "49f68a5c8493ec2c0bf489821c21fc3b")
            self.assertEqual(m["MD5OfMessageAttributes"], want)
            self.assertEqual(m["MessageAttributes"], attrs)
        # no attributes: no attribute MD5 anywhere
        r = self.sqs.send_message(QueueUrl=url, MessageBody="plain")
        self.assertNotIn("MD5OfMessageAttributes", r)
        (m,) = self.drain(url, 1, MessageAttributeNames=["All"])
        self.assertNotIn("MD5OfMessageAttributes", m)
        self.assertNotIn("MessageAttributes", m)

    def test_body_round_trip_escaping_and_unicode(self):
        url = self.create("bodies")
        bodies = ['hello <world> & "you" \'me\'', "line1\nline2\r\nline3\ttab", "emoji \U0001F680 and é ü 中文",
                  "]]> <![CDATA[ x ]]>", "{\"json\": [1, 2, 3]}", " leading and trailing spaces  ", "x" * 100000]
        for b in bodies:
            r = self.sqs.send_message(QueueUrl=url, MessageBody=b)
            self.assertEqual(r["MD5OfMessageBody"], md5_hex(b))
        got = self.drain(url, len(bodies))
        self.assertEqual(sorted(m["Body"] for m in got), sorted(bodies))
        for m in got:
            self.assertMd5s(m)

    def test_attribute_types_and_filters(self):
        url = self.create("typed")
        attrs = {
            "foo.a": s("1"), "foo.b": {"DataType": "Number", "StringValue": "-3.25e2"},
            "bar": {"DataType": "Binary", "BinaryValue": bytes(range(256))},
            "img": {"DataType": "Binary.png", "BinaryValue": b"\x89PNG"},
            "n": {"DataType": "Number.int", "StringValue": "7"},
            "c": {"DataType": "String.custom-Type_1", "StringValue": "custom <&>"},
        }
        r = self.sqs.send_message(QueueUrl=url, MessageBody="typed", MessageAttributes=attrs)
        self.assertEqual(r["MD5OfMessageAttributes"], md5_of_attributes(attrs))
        cases = [(["All"], attrs), ([".*"], attrs), (["foo.*"], {k: v for k, v in attrs.items() if k.startswith("foo.")}),
                 (["bar", "n"], {"bar": attrs["bar"], "n": attrs["n"]}), (["img", "missing"], {"img": attrs["img"]}),
                 (["nothing"], {}), (None, {})]
        for names, want in cases:
            kw = {"VisibilityTimeout": 0}
            if names is not None:
                kw["MessageAttributeNames"] = names
            (m,) = self.receive(url, **kw)
            self.assertEqual(m.get("MessageAttributes", {}), want, names)
            self.assertMd5s(m)  # MD5 over the returned subset
            if want:
                self.assertEqual(m["MD5OfMessageAttributes"], md5_of_attributes(want))

    def test_system_attributes(self):
        url = self.create("sysattrs")
        t0 = int(time.time() * 1000)
        self.sqs.send_message(QueueUrl=url, MessageBody="x")
        (m,) = self.receive(url, AttributeNames=["All"], VisibilityTimeout=1)
        a = m["Attributes"]
        # AWS: the caller's IAM user/role id, the account id for the root user.
        # Without SigV4 parsing the broker reports the account id.
        sender = a["SenderId"]
        self.assertIn(sender, ("test", harness.ACCOUNT))
        self.assertTrue(t0 - 2000 <= int(a["SentTimestamp"]) <= t0 + 5000, a)
        self.assertEqual(a["ApproximateReceiveCount"], "1")
        first = int(a["ApproximateFirstReceiveTimestamp"])
        self.assertGreaterEqual(first, int(a["SentTimestamp"]))
        self.assertNotIn("MessageGroupId", a)
        self.assertNotIn("SequenceNumber", a)
        time.sleep(1.2)
        (m2,) = self.receive(url, AttributeNames=["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"],
                             VisibilityTimeout=1)
        self.assertEqual(m2["MessageId"], m["MessageId"])
        self.assertEqual(m2["Attributes"], {"ApproximateReceiveCount": "2",
                                            "ApproximateFirstReceiveTimestamp": str(first)})
        self.assertNotEqual(m2["ReceiptHandle"], m["ReceiptHandle"])
        time.sleep(1.2)
        (m3,) = self.receive(url, AttributeNames=["SenderId"])
        self.assertEqual(m3["Attributes"], {"SenderId": sender})
        self.assertEqual(self.receive(url, VisibilityTimeout=0), [])  # in flight for 30 s now
        if self.sqs.meta.service_model.operation_model("ReceiveMessage").input_shape.members.get(
                "MessageSystemAttributeNames"):
            self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m3["ReceiptHandle"], VisibilityTimeout=0)
            (m4,) = self.receive(url, MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"])
            self.assertEqual(set(m4["Attributes"]), {"SentTimestamp", "ApproximateReceiveCount"})
            self.assertEqual(m4["Attributes"]["ApproximateReceiveCount"], "4")
        # attribute names and system attributes are independent
        url2 = self.create("sysattrs2")
        self.sqs.send_message(QueueUrl=url2, MessageBody="y", MessageAttributes={"k": s("v")})
        (m,) = self.receive(url2)
        self.assertNotIn("Attributes", m)
        self.assertNotIn("MessageAttributes", m)
        self.assertNotIn("MD5OfMessageAttributes", m)

    def test_aws_trace_header(self):
        url = self.create("traced")
        hdr = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
        sysattrs = {"AWSTraceHeader": s(hdr)}
        r = self.sqs.send_message(QueueUrl=url, MessageBody="t", MessageSystemAttributes=sysattrs)
        self.assertEqual(r["MD5OfMessageSystemAttributes"], md5_of_attributes(sysattrs))
        (m,) = self.receive(url, AttributeNames=["AWSTraceHeader"])
        self.assertEqual(m["Attributes"], {"AWSTraceHeader": hdr})

    def test_delay_seconds(self):
        url = self.create("delayed", DelaySeconds=2)
        self.sqs.send_message(QueueUrl=url, MessageBody="queue-delay")
        self.sqs.send_message(QueueUrl=url, MessageBody="no-delay", DelaySeconds=0)
        self.sqs.send_message(QueueUrl=url, MessageBody="msg-delay", DelaySeconds=4)
        got = [m["Body"] for m in self.receive(url)]
        self.assertEqual(got, ["no-delay"])
        self.assertEqual(self.count(url, "ApproximateNumberOfMessagesDelayed"), 2)
        time.sleep(2.3)
        self.assertEqual([m["Body"] for m in self.receive(url)], ["queue-delay"])
        time.sleep(2.0)
        self.assertEqual([m["Body"] for m in self.receive(url)], ["msg-delay"])
        self.assertSqsError("InvalidParameterValue", self.sqs.send_message, QueueUrl=url, MessageBody="x",
                            DelaySeconds=901)

    def test_visibility_timeout_and_change(self):
        url = self.create("vis", VisibilityTimeout=2)
        self.sqs.send_message(QueueUrl=url, MessageBody="v")
        (m,) = self.receive(url, AttributeNames=["ApproximateReceiveCount"])
        self.assertEqual(self.receive(url), [])
        time.sleep(2.3)
        (m2,) = self.receive(url, AttributeNames=["ApproximateReceiveCount"])
        self.assertEqual(m2["MessageId"], m["MessageId"])
        self.assertEqual(m2["Attributes"]["ApproximateReceiveCount"], "2")
        # extend, then release at once with 0
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m2["ReceiptHandle"], VisibilityTimeout=60)
        time.sleep(2.3)
        self.assertEqual(self.receive(url), [])
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m2["ReceiptHandle"], VisibilityTimeout=0)
        (m3,) = self.receive(url, AttributeNames=["ApproximateReceiveCount"], VisibilityTimeout=30)
        self.assertEqual(m3["Attributes"]["ApproximateReceiveCount"], "3")
        # the per-receive VisibilityTimeout overrides the queue's
        self.assertEqual(self.receive(url), [])
        self.assertSqsError("InvalidParameterValue", self.sqs.change_message_visibility, QueueUrl=url,
                            ReceiptHandle=m3["ReceiptHandle"], VisibilityTimeout=43201)
        # deleted: not in flight any more
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m3["ReceiptHandle"])
        self.assertSqsError("MessageNotInflight", self.sqs.change_message_visibility, QueueUrl=url,
                            ReceiptHandle=m3["ReceiptHandle"], VisibilityTimeout=10)

    def test_invalid_receipt_handles(self):
        url = self.create("receipts")
        other = self.create("other")
        for h in ["garbage", "bm90LWEtaGFuZGxl", "sy1:1:2:zz"]:
            self.assertSqsError("ReceiptHandleIsInvalid", self.sqs.delete_message, QueueUrl=url, ReceiptHandle=h)
            self.assertSqsError("ReceiptHandleIsInvalid", self.sqs.change_message_visibility, QueueUrl=url,
                                ReceiptHandle=h, VisibilityTimeout=5)
        # a handle of another queue is not valid here
        self.sqs.send_message(QueueUrl=other, MessageBody="o")
        (m,) = self.receive(other)
        self.assertSqsError("ReceiptHandleIsInvalid", self.sqs.delete_message, QueueUrl=url,
                            ReceiptHandle=m["ReceiptHandle"])
        # deleting twice with a valid handle succeeds (AWS: idempotent)
        self.sqs.delete_message(QueueUrl=other, ReceiptHandle=m["ReceiptHandle"])
        self.sqs.delete_message(QueueUrl=other, ReceiptHandle=m["ReceiptHandle"])
        self.assertEqual(self.count(other), 0)

    def test_stale_receipt_handle(self):
        url = self.create("stale", VisibilityTimeout=1)
        self.sqs.send_message(QueueUrl=url, MessageBody="s")
        (old,) = self.receive(url)
        time.sleep(1.3)
        (new,) = self.receive(url, VisibilityTimeout=30)
        self.assertEqual(new["MessageId"], old["MessageId"])
        # AWS: a delete with an outdated handle succeeds but need not delete; here it never
        # deletes a message someone else has leased since
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=old["ReceiptHandle"])
        self.assertEqual(self.count(url, "ApproximateNumberOfMessagesNotVisible"), 1)
        from botocore.exceptions import ClientError
        try:
            self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=old["ReceiptHandle"],
                                               VisibilityTimeout=0)
        except ClientError as e:
            self.assertIn(e.response["Error"]["Code"], ("AWS.SimpleQueueService.MessageNotInflight",
                                                        "ReceiptHandleIsInvalid"))
        self.assertEqual(self.receive(url), [])  # the new lease still holds
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=new["ReceiptHandle"])
        self.assertEqual(self.count(url, "ApproximateNumberOfMessagesNotVisible"), 0)

    def test_queue_url_routes_by_parameter(self):
        url = self.create("routed")
        # SQS routes by the QueueUrl parameter: another host or a path-only URL name the same queue
        for alias in ["http://sqs.us-east-1.amazonaws.com/%s/routed" % harness.ACCOUNT,
                      "http://localhost:4566/%s/routed" % harness.ACCOUNT]:
            self.sqs.send_message(QueueUrl=alias, MessageBody=alias)
        got = self.drain(url, 2)
        self.assertEqual(len(got), 2)

    def test_send_batch(self):
        url = self.create("batch")
        entries = [{"Id": "e%d" % i, "MessageBody": "body %d" % i,
                    "MessageAttributes": {"i": {"DataType": "Number", "StringValue": str(i)}}} for i in range(10)]
        entries[3]["DelaySeconds"] = 30
        r = self.sqs.send_message_batch(QueueUrl=url, Entries=entries)
        self.assertEqual(r.get("Failed", []), [])
        self.assertEqual(sorted(x["Id"] for x in r["Successful"]), sorted(e["Id"] for e in entries))
        byid = {e["Id"]: e for e in entries}
        for x in r["Successful"]:
            e = byid[x["Id"]]
            self.assertEqual(x["MD5OfMessageBody"], md5_hex(e["MessageBody"]))
            self.assertEqual(x["MD5OfMessageAttributes"], md5_of_attributes(e["MessageAttributes"]))
        self.assertEqual(len(set(x["MessageId"] for x in r["Successful"])), 10)
        got = self.drain(url, 9, MessageAttributeNames=["All"])
        self.assertEqual(sorted(m["Body"] for m in got), sorted("body %d" % i for i in range(10) if i != 3))
        for m in got:
            self.assertMd5s(m)
        self.assertEqual(self.count(url, "ApproximateNumberOfMessagesDelayed"), 1)

    def test_batch_partial_failures(self):
        url = self.create("partial", MaximumMessageSize=1024)
        r = self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "ok1", "MessageBody": "fine"},
            {"Id": "bad-chars", "MessageBody": "nul \x00 here"},
            {"Id": "too-big", "MessageBody": "x" * 1025},
            {"Id": "bad-attr", "MessageBody": "b", "MessageAttributes": {"n": {"DataType": "Number",
                                                                              "StringValue": "abc"}}},
            {"Id": "ok2", "MessageBody": "fine too"}])
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(sorted(x["Id"] for x in r["Successful"]), ["ok1", "ok2"])
        failed = {f["Id"]: f for f in r["Failed"]}
        self.assertEqual(set(failed), {"bad-chars", "too-big", "bad-attr"})
        self.assertEqual(failed["bad-chars"]["Code"], "InvalidMessageContents")
        self.assertEqual(failed["too-big"]["Code"], "InvalidParameterValue")
        self.assertEqual(failed["bad-attr"]["Code"], "InvalidParameterValue")
        for f in failed.values():
            self.assertTrue(f["SenderFault"])
            self.assertTrue(f["Message"])
        got = self.receive(url, MaxNumberOfMessages=10, VisibilityTimeout=60)
        self.assertEqual(sorted(m["Body"] for m in got), ["fine", "fine too"])
        # delete batch: one good, one foreign handle
        r = self.sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "ReceiptHandle": got[0]["ReceiptHandle"]}, {"Id": "b", "ReceiptHandle": "garbage"}])
        self.assertEqual([x["Id"] for x in r["Successful"]], ["a"])
        self.assertEqual([(f["Id"], f["Code"]) for f in r["Failed"]], [("b", "ReceiptHandleIsInvalid")])
        # change visibility batch: release one, the deleted one is not in flight
        r = self.sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": "x", "ReceiptHandle": got[1]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "y", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "z", "ReceiptHandle": "garbage", "VisibilityTimeout": 0}])
        self.assertEqual([x["Id"] for x in r["Successful"]], ["x"])
        codes = {f["Id"]: f["Code"] for f in r["Failed"]}
        self.assertEqual(codes, {"y": "AWS.SimpleQueueService.MessageNotInflight", "z": "ReceiptHandleIsInvalid"})
        (m,) = self.receive(url)
        self.assertEqual(m["Body"], got[1]["Body"])

    def test_batch_request_errors(self):
        url = self.create("batcherr")
        raw = self.client("sqs", parameter_validation=False)
        for op, mk in [(raw.send_message_batch, lambda i: {"Id": i, "MessageBody": "b"}),
                       (raw.delete_message_batch, lambda i: {"Id": i, "ReceiptHandle": "h"}),
                       (raw.change_message_visibility_batch,
                        lambda i: {"Id": i, "ReceiptHandle": "h", "VisibilityTimeout": 1})]:
            self.assertSqsError("EmptyBatchRequest", op, QueueUrl=url, Entries=[], client=raw)
            self.assertSqsError("TooManyEntriesInBatchRequest", op, QueueUrl=url,
                                Entries=[mk("i%d" % i) for i in range(11)], client=raw)
            self.assertSqsError("BatchEntryIdsNotDistinct", op, QueueUrl=url, Entries=[mk("same"), mk("same")],
                                client=raw)
            self.assertSqsError("InvalidBatchEntryId", op, QueueUrl=url, Entries=[mk("bad id!")], client=raw)
            self.assertSqsError("InvalidBatchEntryId", op, QueueUrl=url, Entries=[mk("i" * 81)], client=raw)
        self.assertSqsError("BatchRequestTooLong", self.sqs.send_message_batch, QueueUrl=url,
                            Entries=[{"Id": "i%d" % i, "MessageBody": "x" * 200000} for i in range(6)])
        self.assertEqual(self.count(url), 0)

    def test_limits(self):
        url = self.create("limits", MaximumMessageSize=1024)
        self.sqs.send_message(QueueUrl=url, MessageBody="x" * 1024)
        self.assertSqsError("InvalidParameterValue", self.sqs.send_message, QueueUrl=url, MessageBody="x" * 1025)
        # attributes count toward the size
        self.assertSqsError("InvalidParameterValue", self.sqs.send_message, QueueUrl=url, MessageBody="x" * 1000,
                            MessageAttributes={"name": s("y" * 30)})
        big = self.create("big")
        self.sqs.send_message(QueueUrl=big, MessageBody="x" * 1048576)
        self.assertSqsError("InvalidParameterValue", self.sqs.send_message, QueueUrl=big,
                            MessageBody="x" * 1048577)
        (m,) = self.drain(big, 1)
        self.assertEqual(len(m["Body"]), 1048576)
        self.assertMd5s(m)
        many = {"a%d" % i: s("v") for i in range(11)}
        self.assertSqsError("InvalidParameterValue", self.sqs.send_message, QueueUrl=url, MessageBody="b",
                            MessageAttributes=many)
        self.sqs.send_message(QueueUrl=url, MessageBody="b", MessageAttributes=dict(list(many.items())[:10]))
        for bad_body in ["\x00", "a\x08b", "\ufffe", "\x1f"]:
            self.assertSqsError("InvalidMessageContents", self.sqs.send_message, QueueUrl=url, MessageBody=bad_body)
        self.sqs.send_message(QueueUrl=url, MessageBody="\t\n\r ok \ud7ff \ue000 \U00010000")
        # NUL in an attribute value or type: rejected (JSON carries it as \\u0000), nothing stored
        from botocore.exceptions import ClientError
        for bad in [s("a\x00b"), {"DataType": "String\x00x", "StringValue": "v"}]:
            with self.assertRaises(ClientError) as cm:
                self.sqs.send_message(QueueUrl=url, MessageBody="b", MessageAttributes={"t": bad})
            self.assertIn(cm.exception.response["Error"]["Code"], ("InvalidMessageContents", "InvalidParameterValue"))
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        raw = self.client("sqs", parameter_validation=False)
        self.assertSqsError("MissingParameter", raw.send_message, QueueUrl=url, MessageBody="", client=raw)
        for bad_attr in [{"": s("v")}, {".lead": s("v")}, {"trail.": s("v")}, {"a..b": s("v")},
                         {"AWS.x": s("v")}, {"amazon.x": s("v")}, {"sp ace": s("v")},
                         {"t": {"DataType": "Integer", "StringValue": "1"}},
                         {"t": {"DataType": "Number", "StringValue": "one"}},
                         {"t": {"DataType": "String", "StringValue": ""}},
                         {"t": {"DataType": "Binary", "StringValue": "x"}}]:
            self.assertSqsError("InvalidParameterValue", raw.send_message, QueueUrl=url, MessageBody="b",
                                MessageAttributes=bad_attr, client=raw)
        for n in [0, 11]:
            self.assertSqsError("InvalidParameterValue", raw.receive_message, QueueUrl=url, MaxNumberOfMessages=n,
                                client=raw)
        self.assertSqsError("InvalidParameterValue", raw.receive_message, QueueUrl=url, WaitTimeSeconds=21,
                            client=raw)
        self.assertSqsError("InvalidParameterValue", raw.receive_message, QueueUrl=url, VisibilityTimeout=43201,
                            client=raw)

    def test_receive_max_and_nothing_after_delete(self):
        url = self.create("maxn")
        self.sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(10)])
        self.sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(10 + i)}
                                                            for i in range(5)])
        one = self.receive(url, MaxNumberOfMessages=1)
        self.assertEqual(len(one), 1)
        got = one + self.drain(url, 14, delete=False)
        self.assertEqual(sorted(int(m["Body"]) for m in got), list(range(15)))
        for m in got:
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})
        self.assertEqual(self.receive(url, WaitTimeSeconds=1), [])
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"),
                         {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"})


if __name__ == "__main__":
    import unittest
    unittest.main()
