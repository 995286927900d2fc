"""SQS queue-level API end to end: CreateQueue, GetQueueUrl, ListQueues,
DeleteQueue, Get/SetQueueAttributes, PurgeQueue, tags, permissions, and the
main actions through the aws CLI. Runs under both client generations."""

import json
import time

import harness
from sqs_common import SqsTestCase, md5_hex

ARN_PREFIX = "arn:aws:sqs:%s:%s:" % (harness.REGION, harness.ACCOUNT)


class SqsQueueApi(SqsTestCase):

    def test_create_get_url_idempotent_and_conflict(self):
        url = self.sqs.create_queue(QueueName="orders",
                                    Attributes={"VisibilityTimeout": "45", "DelaySeconds": "2"},
                                    tags={"team": "a", "env": "test"})["QueueUrl"]
        self.assertTrue(url.endswith("/%s/orders" % harness.ACCOUNT), url)
        # the URL is reachable: built from the request's Host
        self.assertTrue(url.startswith(self.broker.url), url)
        self.assertEqual(self.sqs.get_queue_url(QueueName="orders")["QueueUrl"], url)
        a = self.attrs(url)
        self.assertEqual(a["VisibilityTimeout"], "45")
        self.assertEqual(a["DelaySeconds"], "2")
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"team": "a", "env": "test"})
        # same attributes: idempotent, same URL
        again = self.sqs.create_queue(QueueName="orders",
                                      Attributes={"VisibilityTimeout": "45", "DelaySeconds": "2"})["QueueUrl"]
        self.assertEqual(again, url)
        # no attributes at all: also fine
        self.assertEqual(self.sqs.create_queue(QueueName="orders")["QueueUrl"], url)
        # a different value: QueueNameExists (legacy code QueueAlreadyExists)
        self.assertSqsError("QueueNameExists", self.sqs.create_queue, QueueName="orders",
                            Attributes={"VisibilityTimeout": "46"}, status=400)
        self.assertEqual(self.attrs(url, "VisibilityTimeout")["VisibilityTimeout"], "45")

    def test_invalid_names(self):
        for bad in ["bad name", "bad!", "a" * 81, "dot.ted", "x" * 76 + ".fifo" + "x"]:
            self.assertSqsError("InvalidParameterValue", self.sqs.create_queue, QueueName=bad)
        # 80 characters is fine, for standard and FIFO (the suffix counts)
        self.create("a" * 80)
        self.create("b" * 75 + ".fifo", FifoQueue="true")
        self.assertSqsError("InvalidParameterValue", self.sqs.create_queue, QueueName="c" * 76 + ".fifo",
                            Attributes={"FifoQueue": "true"})
        # FifoQueue=true needs the .fifo suffix
        self.assertSqsError("InvalidParameterValue", self.sqs.create_queue, QueueName="nofifo",
                            Attributes={"FifoQueue": "true"})
        # FIFO-only attributes on a standard queue
        self.assertSqsError("InvalidAttributeName", self.sqs.create_queue, QueueName="std",
                            Attributes={"ContentBasedDeduplication": "true"})
        self.assertSqsError("InvalidAttributeName", self.sqs.create_queue, QueueName="std",
                            Attributes={"NoSuchAttribute": "1"})
        self.assertSqsError("InvalidAttributeValue", self.sqs.create_queue, QueueName="std",
                            Attributes={"VisibilityTimeout": "43201"})
        self.assertSqsError("QueueDoesNotExist", self.sqs.get_queue_url, QueueName="std")

    def test_nonexistent_queue(self):
        self.assertSqsError("QueueDoesNotExist", self.sqs.get_queue_url, QueueName="nope", status=400)
        url = self.broker.url + "/%s/nope" % harness.ACCOUNT
        for fn, kw in [(self.sqs.send_message, dict(MessageBody="x")),
                       (self.sqs.receive_message, {}),
                       (self.sqs.get_queue_attributes, dict(AttributeNames=["All"])),
                       (self.sqs.purge_queue, {}),
                       (self.sqs.delete_queue, {})]:
            self.assertSqsError("QueueDoesNotExist", fn, QueueUrl=url, **kw)

    def test_list_queues_prefix_and_pagination(self):
        self.assertNotIn("QueueUrls", self.sqs.list_queues())
        names = ["alpha-%02d" % i for i in range(7)] + ["beta-1", "beta-2"]
        for n in names:
            self.create(n)
        urls = self.sqs.list_queues()["QueueUrls"]
        self.assertEqual(sorted(u.rsplit("/", 1)[1] for u in urls), sorted(names))
        beta = self.sqs.list_queues(QueueNamePrefix="beta")["QueueUrls"]
        self.assertEqual(sorted(u.rsplit("/", 1)[1] for u in beta), ["beta-1", "beta-2"])
        self.assertNotIn("QueueUrls", self.sqs.list_queues(QueueNamePrefix="gamma"))
        # MaxResults + NextToken walk every alpha queue exactly once
        seen, token, pages = [], None, 0
        while True:
            kw = {"QueueNamePrefix": "alpha", "MaxResults": 3}
            if token:
                kw["NextToken"] = token
            r = self.sqs.list_queues(**kw)
            pages += 1
            self.assertLessEqual(len(r.get("QueueUrls", [])), 3)
            seen += [u.rsplit("/", 1)[1] for u in r.get("QueueUrls", [])]
            token = r.get("NextToken")
            if not token:
                break
            self.assertLess(pages, 10)
        self.assertEqual(sorted(seen), sorted(n for n in names if n.startswith("alpha")))
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(pages, 3)
        # the paginator drives the same protocol
        p = self.sqs.get_paginator("list_queues")
        allp = [u for page in p.paginate(PaginationConfig={"PageSize": 4}) for u in page.get("QueueUrls", [])]
        self.assertEqual(len(allp), len(names))
        self.assertSqsError("InvalidParameterValue", self.sqs.list_queues, MaxResults=1001)
        self.assertSqsError("InvalidParameterValue", self.sqs.list_queues, MaxResults=0)

    def test_delete_queue(self):
        url = self.create("doomed")
        self.sqs.send_message(QueueUrl=url, MessageBody="x")
        self.sqs.delete_queue(QueueUrl=url)
        self.assertSqsError("QueueDoesNotExist", self.sqs.get_queue_url, QueueName="doomed")
        self.assertNotIn("QueueUrls", self.sqs.list_queues(QueueNamePrefix="doomed"))
        self.assertSqsError("QueueDoesNotExist", self.sqs.send_message, QueueUrl=url, MessageBody="x")
        # the name can be used again (AWS asks for 60 s; we allow it at once), and starts empty
        url2 = self.create("doomed")
        self.assertEqual(self.receive(url2), [])

    def test_get_queue_attributes(self):
        before = int(time.time())
        url = self.create("attrs", VisibilityTimeout=40)
        after = int(time.time())
        a = self.attrs(url)
        for k in ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                  "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp",
                  "QueueArn", "VisibilityTimeout", "MaximumMessageSize", "MessageRetentionPeriod",
                  "DelaySeconds", "ReceiveMessageWaitTimeSeconds"]:
            self.assertIn(k, a)
        self.assertNotIn("FifoQueue", a)
        self.assertEqual(a["QueueArn"], ARN_PREFIX + "attrs")
        self.assertEqual(a["VisibilityTimeout"], "40")
        self.assertEqual(a["MaximumMessageSize"], "1048576")
        self.assertEqual(a["MessageRetentionPeriod"], "345600")
        self.assertEqual(a["DelaySeconds"], "0")
        self.assertEqual(a["ReceiveMessageWaitTimeSeconds"], "0")
        self.assertTrue(before - 1 <= int(a["CreatedTimestamp"]) <= after + 1, a["CreatedTimestamp"])
        self.assertGreaterEqual(int(a["LastModifiedTimestamp"]), int(a["CreatedTimestamp"]))
        # each name alone returns exactly that name
        for k in a:
            one = self.attrs(url, k)
            self.assertEqual(list(one), [k])
            if not k.startswith("Approximate"):
                self.assertEqual(one[k], a[k])
        # counts: visible, in flight, delayed
        self.sqs.send_message(QueueUrl=url, MessageBody="one")
        self.sqs.send_message(QueueUrl=url, MessageBody="two")
        self.sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
        got = self.receive(url, MaxNumberOfMessages=1)
        self.assertEqual(len(got), 1)
        c = self.attrs(url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                       "ApproximateNumberOfMessagesDelayed")
        self.assertEqual(c, {"ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesNotVisible": "1",
                             "ApproximateNumberOfMessagesDelayed": "1"})
        self.assertSqsError("InvalidAttributeName", self.sqs.get_queue_attributes, QueueUrl=url,
                            AttributeNames=["NoSuchThing"])

    def test_set_queue_attributes(self):
        url = self.create("settable")
        created = self.attrs(url)
        time.sleep(1.1)
        new = {"VisibilityTimeout": "120", "DelaySeconds": "5", "MaximumMessageSize": "2048",
               "MessageRetentionPeriod": "600", "ReceiveMessageWaitTimeSeconds": "3"}
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes=new)
        a = self.attrs(url)
        for k, v in new.items():
            self.assertEqual(a[k], v, k)
        self.assertGreater(int(a["LastModifiedTimestamp"]), int(created["LastModifiedTimestamp"]))
        self.assertEqual(a["CreatedTimestamp"], created["CreatedTimestamp"])
        bad = [("VisibilityTimeout", "43201"), ("VisibilityTimeout", "-1"), ("VisibilityTimeout", "abc"),
               ("DelaySeconds", "901"), ("MaximumMessageSize", "1023"), ("MaximumMessageSize", "1048577"),
               ("MessageRetentionPeriod", "59"), ("MessageRetentionPeriod", "1209601"),
               ("ReceiveMessageWaitTimeSeconds", "21"), ("RedrivePolicy", "not json"),
               ("RedrivePolicy", json.dumps({"deadLetterTargetArn": ARN_PREFIX + "dlq", "maxReceiveCount": 0})),
               ("Policy", "{broken")]
        for k, v in bad:
            self.assertSqsError("InvalidAttributeValue", self.sqs.set_queue_attributes, QueueUrl=url,
                                Attributes={k: v})
        self.assertSqsError("InvalidAttributeName", self.sqs.set_queue_attributes, QueueUrl=url,
                            Attributes={"Bogus": "1"})
        self.assertSqsError("InvalidAttributeName", self.sqs.set_queue_attributes, QueueUrl=url,
                            Attributes={"FifoQueue": "true"})
        # nothing changed by the failed calls
        self.assertEqual(self.attrs(url, "VisibilityTimeout")["VisibilityTimeout"], "120")
        # policies round-trip; "" removes them
        pol = json.dumps({"Version": "2012-10-17", "Statement": []})
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": pol})
        self.assertEqual(json.loads(self.attrs(url, "Policy")["Policy"]), json.loads(pol))
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
        self.assertNotIn("Policy", self.attrs(url))

    def test_purge_queue(self):
        url = self.create("purgeme")
        self.sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "m%d" % i}
                                                            for i in range(5)])
        self.assertEqual(len(self.receive(url, MaxNumberOfMessages=2, VisibilityTimeout=30)), 2)
        self.sqs.purge_queue(QueueUrl=url)
        self.assertEqual(self.receive(url), [])
        c = self.attrs(url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
        self.assertEqual(c, {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"})
        # one purge per 60 s
        self.assertSqsError("PurgeQueueInProgress", self.sqs.purge_queue, QueueUrl=url, status=403)
        # messages sent after the purge are kept
        self.sqs.send_message(QueueUrl=url, MessageBody="after")
        self.assertEqual([m["Body"] for m in self.drain(url, 1)], ["after"])

    def test_tags(self):
        url = self.create("tagged")
        self.assertNotIn("Tags", self.sqs.list_queue_tags(QueueUrl=url))
        self.sqs.tag_queue(QueueUrl=url, Tags={"a": "1", "b": "2"})
        self.sqs.tag_queue(QueueUrl=url, Tags={"b": "3", "c": ""})
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"a": "1", "b": "3", "c": ""})
        self.sqs.untag_queue(QueueUrl=url, TagKeys=["a", "zzz"])
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"b": "3", "c": ""})
        self.assertSqsError("InvalidParameterValue", self.sqs.tag_queue, QueueUrl=url, Tags={"k" * 129: "v"})
        self.assertSqsError("InvalidParameterValue", self.sqs.tag_queue, QueueUrl=url,
                            Tags={"t%d" % i: "v" for i in range(50)})
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"b": "3", "c": ""})

    def test_permissions(self):
        url = self.create("shared")
        self.sqs.add_permission(QueueUrl=url, Label="p1", AWSAccountIds=["111122223333"],
                                Actions=["SendMessage", "ReceiveMessage"])
        self.assertSqsError("InvalidParameterValue", self.sqs.add_permission, QueueUrl=url, Label="p1",
                            AWSAccountIds=["111122223333"], Actions=["SendMessage"])
        self.sqs.remove_permission(QueueUrl=url, Label="p1")
        self.assertSqsError("InvalidParameterValue", self.sqs.remove_permission, QueueUrl=url, Label="p1")
        self.sqs.add_permission(QueueUrl=url, Label="p1", AWSAccountIds=["111122223333"], Actions=["*"])


class SqsCli(SqsTestCase):

    def test_cli_main_actions(self):
        r = self.aws("sqs", "create-queue", "--queue-name", "cliq", "--attributes",
                     "VisibilityTimeout=20", check=True)
        url = r.json["QueueUrl"]
        self.assertTrue(url.endswith("/cliq"))
        r = self.aws("sqs", "list-queues", check=True)
        self.assertEqual(r.json["QueueUrls"], [url])
        r = self.aws("sqs", "send-message", "--queue-url", url, "--message-body", "hello cli",
                     "--message-attributes", json.dumps({"k": {"DataType": "String", "StringValue": "v"}}),
                     check=True)
        self.assertEqual(r.json["MD5OfMessageBody"], md5_hex("hello cli"))
        self.assertEqual(r.json["MD5OfMessageAttributes"], "0a77b0642718c3d9dd47090567d11e0d")
        r = self.aws("sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All", check=True)
        self.assertEqual(r.json["Attributes"]["VisibilityTimeout"], "20")
        self.assertEqual(r.json["Attributes"]["ApproximateNumberOfMessages"], "1")
        r = self.aws("sqs", "receive-message", "--queue-url", url, "--message-attribute-names", "All",
                     "--attribute-names", "All", "--wait-time-seconds", "2", check=True)
        (m,) = r.json["Messages"]
        self.assertEqual(m["Body"], "hello cli")
        self.assertEqual(m["MD5OfBody"], md5_hex("hello cli"))
        self.assertEqual(m["MessageAttributes"], {"k": {"DataType": "String", "StringValue": "v"}})
        self.assertEqual(m["Attributes"]["ApproximateReceiveCount"], "1")
        self.aws("sqs", "delete-message", "--queue-url", url, "--receipt-handle", m["ReceiptHandle"], check=True)
        r = self.aws("sqs", "receive-message", "--queue-url", url, check=True)
        self.assertFalse((r.json or {}).get("Messages"))
        r = self.aws("sqs", "get-queue-url", "--queue-name", "missing")
        self.assertNotEqual(r.rc, 0)
        self.assertIn("AWS.SimpleQueueService.NonExistentQueue", r.stderr)
        r = self.aws("sqs", "delete-queue", "--queue-url", url, check=True)
        r = self.aws("sqs", "list-queues", check=True)
        self.assertFalse((r.json or {}).get("QueueUrls"))


if __name__ == "__main__":
    import unittest
    unittest.main()
