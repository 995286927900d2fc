"""SQS dead-letter queues end to end: RedrivePolicy, ListDeadLetterSourceQueues,
message move tasks (redrive back), and retention expiry with the test
override. Runs under both client generations (move tasks: new only)."""

import json
import time

import harness
from sqs_common import SqsTestCase, md5_of_attributes, s

ARN = "arn:aws:sqs:%s:%s:%%s" % (harness.REGION, harness.ACCOUNT)


def redrive(dlq, n):
    return json.dumps({"deadLetterTargetArn": ARN % dlq, "maxReceiveCount": n})


class SqsDlq(SqsTestCase):

    def receive_and_release(self, url, **kw):
        ms = self.receive(url, AttributeNames=["ApproximateReceiveCount"], **kw)
        for m in ms:
            self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        return ms

    def test_redrive_after_max_receive_count(self):
        dlq = self.create("dead")
        src = self.create("work", RedrivePolicy=redrive("dead", 2))
        self.assertEqual(json.loads(self.attrs(src, "RedrivePolicy")["RedrivePolicy"]),
                         {"deadLetterTargetArn": ARN % "dead", "maxReceiveCount": 2})
        attrs = {"k": s("v")}
        sent = self.sqs.send_message(QueueUrl=src, MessageBody="poison", MessageAttributes=attrs)
        self.sqs.send_message(QueueUrl=src, MessageBody="fine")
        # receives 1 and 2 deliver it; the third would exceed 2: it moves to the DLQ instead
        counts = {}
        for _ in range(2):
            for m in self.receive_and_release(src):
                counts.setdefault(m["Body"], []).append(m["Attributes"]["ApproximateReceiveCount"])
        self.assertEqual(counts["poison"], ["1", "2"])
        got = self.receive(src, VisibilityTimeout=30)
        self.assertEqual([m["Body"] for m in got], [])  # both had 2 receives: both moved
        self.assertEqual(self.count(src), 0)
        moved = self.drain(dlq, 2, MessageAttributeNames=["All"], AttributeNames=["All"])
        self.assertEqual(sorted(m["Body"] for m in moved), ["fine", "poison"])
        p = [m for m in moved if m["Body"] == "poison"][0]
        self.assertEqual(p["MessageId"], sent["MessageId"])
        self.assertEqual(p["MessageAttributes"], attrs)
        self.assertEqual(p["MD5OfMessageAttributes"], md5_of_attributes(attrs))
        self.assertMd5s(p)
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"], [src])

    def test_redrive_exact_receive_count(self):
        self.create("dlq1")
        src = self.create("src1", RedrivePolicy=redrive("dlq1", 1), VisibilityTimeout=30)
        self.sqs.send_message(QueueUrl=src, MessageBody="once")
        (m,) = self.receive(src)
        # deleting within the allowed receives keeps it out of the DLQ
        self.sqs.delete_message(QueueUrl=src, ReceiptHandle=m["ReceiptHandle"])
        self.sqs.send_message(QueueUrl=src, MessageBody="twice")
        (m,) = self.receive(src)
        self.sqs.change_message_visibility(QueueUrl=src, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        self.assertEqual(self.receive(src), [])
        dl = self.sqs.get_queue_url(QueueName="dlq1")["QueueUrl"]
        self.assertEqual([x["Body"] for x in self.drain(dl, 1)], ["twice"])

    def test_list_dead_letter_source_queues(self):
        dlq = self.create("dlq")
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=dlq).get("queueUrls", []), [])
        a = self.create("src-a", RedrivePolicy=redrive("dlq", 3))
        b = self.create("src-b")
        self.sqs.set_queue_attributes(QueueUrl=b, Attributes={"RedrivePolicy": redrive("dlq", 5)})
        self.create("unrelated")
        self.assertEqual(sorted(self.sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"]), sorted([a, b]))
        # removing the policy removes the source
        self.sqs.set_queue_attributes(QueueUrl=b, Attributes={"RedrivePolicy": ""})
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"], [a])
        self.assertSqsError("QueueDoesNotExist", self.sqs.list_dead_letter_source_queues,
                            QueueUrl=self.broker.url + "/%s/nope" % harness.ACCOUNT)

    def test_redrive_to_missing_queue_refused(self):
        self.assertSqsError("InvalidParameterValue", self.sqs.create_queue, QueueName="src-missing",
                            Attributes={"RedrivePolicy": redrive("no-such-dlq", 3)})
        url = self.create("src-later")
        self.assertSqsError("InvalidParameterValue", self.sqs.set_queue_attributes, QueueUrl=url,
                            Attributes={"RedrivePolicy": redrive("no-such-dlq", 3)})
        self.create("now-there")
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": redrive("now-there", 3)})

    def test_fifo_dlq(self):
        dlq = self.create("dead.fifo", FifoQueue="true")
        # a dead-letter queue of the other type: InvalidParameterValue, as AWS answers (issue 12)
        e = self.assertSqsError("InvalidParameterValue", self.sqs.create_queue, QueueName="std-src",
                                Attributes={"RedrivePolicy": redrive("dead.fifo", 1)}, status=400)
        self.assertIn("Dead-letter queue must be same type of queue as the source", str(e))
        self.assertSqsError("InvalidParameterValue", self.sqs.create_queue, QueueName="fifo-src.fifo",
                            Attributes={"FifoQueue": "true", "RedrivePolicy": redrive("plain", 1)})
        std = self.create("std-ok")
        self.assertSqsError("InvalidParameterValue", self.sqs.set_queue_attributes, QueueUrl=std,
                            Attributes={"RedrivePolicy": redrive("dead.fifo", 1)})
        self.assertNotIn("RedrivePolicy", self.sqs.get_queue_attributes(QueueUrl=std, AttributeNames=["All"])
                         .get("Attributes", {}))
        self.assertEqual([u for u in self.sqs.list_queues().get("QueueUrls", []) if "src" in u], [])
        src = self.create("src.fifo", FifoQueue="true", ContentBasedDeduplication="true",
                          RedrivePolicy=redrive("dead.fifo", 1))
        for i in range(3):
            self.sqs.send_message(QueueUrl=src, MessageBody="m%d" % i, MessageGroupId="g")
        (m,) = self.receive(src, MaxNumberOfMessages=1)
        self.assertEqual(m["Body"], "m0")
        self.sqs.change_message_visibility(QueueUrl=src, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        # m0 now goes to the DLQ and the group continues with m1
        got = self.drain(src, 2)
        self.assertEqual([x["Body"] for x in got], ["m1", "m2"])
        d = self.drain(dlq, 1, AttributeNames=["MessageGroupId"])
        self.assertEqual([x["Body"] for x in d], ["m0"])
        self.assertEqual(d[0]["Attributes"]["MessageGroupId"], "g")

    def test_redrive_policy_validation(self):
        url = self.create("v")
        for bad in [json.dumps({"maxReceiveCount": 3}),
                    json.dumps({"deadLetterTargetArn": "nonsense", "maxReceiveCount": 3}),
                    json.dumps({"deadLetterTargetArn": ARN % "x", "maxReceiveCount": 1001}),
                    "[]"]:
            self.assertSqsError("InvalidAttributeValue", self.sqs.set_queue_attributes, QueueUrl=url,
                                Attributes={"RedrivePolicy": bad})
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedriveAllowPolicy": json.dumps(
            {"redrivePermission": "byQueue", "sourceQueueArns": [ARN % "a"]})})
        self.assertSqsError("InvalidAttributeValue", self.sqs.set_queue_attributes, QueueUrl=url,
                            Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "sometimes"})})

    # ---- message move tasks (botocore >= 1.31)
    def need_move_tasks(self):
        if not hasattr(self.sqs, "start_message_move_task"):
            self.skipTest("this generation's botocore (%s) has no StartMessageMoveTask/ListMessageMoveTasks/"
                          "CancelMessageMoveTask" % harness.CLIENT_GEN)

    def fill_dlq(self, n, src="src", dlq="dlq"):
        d = self.create(dlq)
        s_ = self.create(src, RedrivePolicy=redrive(dlq, 1))
        self.sqs.send_message_batch(QueueUrl=s_, Entries=[{"Id": str(i), "MessageBody": "m%d" % i}
                                                           for i in range(min(n, 10))])
        for k in range(10, n, 10):
            self.sqs.send_message_batch(QueueUrl=s_, Entries=[{"Id": str(i), "MessageBody": "m%d" % i}
                                                               for i in range(k, min(n, k + 10))])
        self.assertEventually(lambda: self.receive_and_release(s_) == [] and self.count(s_) == 0, timeout=30)
        self.assertEqual(self.count(d), n)
        return s_, d

    def test_move_task_back_to_source(self):
        self.need_move_tasks()
        src, dlq = self.fill_dlq(5)
        r = self.sqs.start_message_move_task(SourceArn=ARN % "dlq")
        self.assertTrue(r["TaskHandle"])
        self.assertEventually(lambda: self.sqs.list_message_move_tasks(SourceArn=ARN % "dlq")["Results"][0]["Status"]
                              == "COMPLETED", timeout=20)
        (t,) = self.sqs.list_message_move_tasks(SourceArn=ARN % "dlq", MaxResults=10)["Results"]
        self.assertEqual(t["ApproximateNumberOfMessagesMoved"], 5)
        self.assertEqual(t["SourceArn"], ARN % "dlq")
        self.assertNotIn("TaskHandle", t)
        self.assertEqual(self.count(dlq), 0)
        got = self.drain(src, 5)
        self.assertEqual(sorted(m["Body"] for m in got), sorted("m%d" % i for i in range(5)))
        # only a DLQ can be a source
        self.assertSqsError("InvalidParameterValue", self.sqs.start_message_move_task, SourceArn=ARN % "src")
        self.assertSqsError("ResourceNotFoundException", self.sqs.start_message_move_task, SourceArn=ARN % "gone")

    def test_move_task_to_destination_and_cancel(self):
        self.need_move_tasks()
        src, dlq = self.fill_dlq(30)
        other = self.create("elsewhere")
        t0 = time.monotonic()
        h = self.sqs.start_message_move_task(SourceArn=ARN % "dlq", DestinationArn=ARN % "elsewhere",
                                             MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
        # one running task per source
        self.assertSqsError("UnsupportedOperation", self.sqs.start_message_move_task, SourceArn=ARN % "dlq")
        (t,) = self.sqs.list_message_move_tasks(SourceArn=ARN % "dlq")["Results"]
        self.assertEqual(t["Status"], "RUNNING")
        self.assertEqual(t["TaskHandle"], h)
        self.assertEqual(t["DestinationArn"], ARN % "elsewhere")
        self.assertEqual(t["MaxNumberOfMessagesPerSecond"], 1)
        self.assertEqual(t["ApproximateNumberOfMessagesToMove"], 30)
        self.assertEventually(lambda: self.count(other) >= 2, timeout=10)
        r = self.sqs.cancel_message_move_task(TaskHandle=h)
        elapsed = time.monotonic() - t0
        moved = r["ApproximateNumberOfMessagesMoved"]
        self.assertGreaterEqual(moved, 2)
        self.assertLess(moved, 30)
        # 1 per second: the first at once, then one more per second since the start
        self.assertLessEqual(moved, int(elapsed) + 1, "moved %d in %.2f s at 1 per second" % (moved, elapsed))
        time.sleep(1.5)
        (t,) = self.sqs.list_message_move_tasks(SourceArn=ARN % "dlq")["Results"]
        self.assertEqual(t["Status"], "CANCELLED")
        n_other, n_dlq = self.count(other), self.count(dlq)
        self.assertEqual(n_other + n_dlq, 30)
        self.assertLessEqual(n_other, moved + 1)
        self.assertEqual(self.count(src), 0)
        self.assertSqsError("ResourceNotFoundException", self.sqs.cancel_message_move_task, TaskHandle=h)


class SqsRetention(SqsTestCase):
    START_BROKER = False

    def test_retention_expiry(self):
        self.broker = self.start_broker(env={"SWITCHYARD_QUEUE_MIN_RETENTION_S": "1", "SWITCHYARD_QUEUE_SWEEP_MS": "200"})
        self.sqs = self.client("sqs")
        url = self.create("shortlived", MessageRetentionPeriod=2)
        keep = self.create("longlived")
        self.sqs.send_message(QueueUrl=url, MessageBody="expires")
        self.sqs.send_message(QueueUrl=keep, MessageBody="stays")
        inflight = self.sqs.send_message(QueueUrl=url, MessageBody="in flight too")
        ms = self.receive(url, MaxNumberOfMessages=10, VisibilityTimeout=60)
        self.assertEqual(len(ms), 2)
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=ms[0]["ReceiptHandle"], VisibilityTimeout=0)
        self.assertEventually(lambda: self.attrs(url, "ApproximateNumberOfMessages",
                                                 "ApproximateNumberOfMessagesNotVisible")
                              == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"},
                              timeout=10)
        self.assertEqual(self.receive(url, VisibilityTimeout=0), [])
        # an expired in-flight message cannot be changed any more
        for m in ms:
            self.assertSqsError("MessageNotInflight", self.sqs.change_message_visibility, QueueUrl=url,
                                ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=5)
        self.assertEqual([m["Body"] for m in self.drain(keep, 1)], ["stays"])
        self.assertTrue(inflight["MessageId"])


    def test_expired_not_delivered_before_sweep(self):
        # the default sweep runs every 10 s; a message past its retention must not be handed out meanwhile
        self.broker = self.start_broker(env={"SWITCHYARD_QUEUE_MIN_RETENTION_S": "1"})
        self.sqs = self.client("sqs")
        url = self.create("expiring", MessageRetentionPeriod=1)
        fifo = self.create("expiring.fifo", FifoQueue="true", ContentBasedDeduplication="true",
                           MessageRetentionPeriod=1)
        self.sqs.send_message(QueueUrl=url, MessageBody="old")
        self.sqs.send_message(QueueUrl=fifo, MessageBody="old", MessageGroupId="g")
        time.sleep(1.5)
        self.assertEqual(self.receive(url), [])
        self.assertEqual(self.receive(fifo), [])
        self.sqs.send_message(QueueUrl=url, MessageBody="new")
        self.assertEqual([m["Body"] for m in self.receive(url)], ["new"])


if __name__ == "__main__":
    import unittest
    unittest.main()
