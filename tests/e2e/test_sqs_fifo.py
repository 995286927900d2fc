"""SQS FIFO queues end to end: per-group order, group blocking while in
flight, deduplication (explicit, content-based, per message group),
sequence numbers, FIFO-specific errors. Runs under both client generations."""

import collections
import hashlib
import re
import threading
import time

from sqs_common import SqsTestCase, md5_hex


class SqsFifo(SqsTestCase):

    def fifo(self, name="q.fifo", **attrs):
        return self.create(name, FifoQueue="true", **attrs)

    def test_attributes_and_naming(self):
        url = self.fifo("orders.fifo", ContentBasedDeduplication="true")
        a = self.attrs(url)
        self.assertEqual(a["FifoQueue"], "true")
        self.assertEqual(a["ContentBasedDeduplication"], "true")
        self.assertEqual(a["DeduplicationScope"], "queue")
        self.assertEqual(a["FifoThroughputLimit"], "perQueue")
        self.assertTrue(a["QueueArn"].endswith(":orders.fifo"))
        self.assertSqsError("InvalidParameterValue", self.sqs.create_queue, QueueName="orders",
                            Attributes={"FifoQueue": "true"})
        self.assertSqsError("InvalidParameterValue", self.sqs.create_queue, QueueName="bad.name.fifo",
                            Attributes={"FifoQueue": "true"})
        # without FifoQueue=true the name is a standard queue's, where '.' is not allowed
        self.assertSqsError("InvalidParameterValue", self.sqs.create_queue, QueueName="nofifoattr.fifo")
        self.assertSqsError("InvalidAttributeValue", self.sqs.set_queue_attributes, QueueUrl=url,
                            Attributes={"DeduplicationScope": "global"})
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"DeduplicationScope": "messageGroup",
                                                                "FifoThroughputLimit": "perMessageGroupId"})
        a = self.attrs(url, "DeduplicationScope", "FifoThroughputLimit")
        self.assertEqual(a, {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"})

    def test_fifo_errors(self):
        url = self.fifo()
        self.assertSqsError("MissingParameter", self.sqs.send_message, QueueUrl=url, MessageBody="x",
                            MessageDeduplicationId="d")
        self.assertSqsError("InvalidParameterValue", self.sqs.send_message, QueueUrl=url, MessageBody="x",
                            MessageGroupId="g", MessageDeduplicationId="d", DelaySeconds=5)
        # neither a deduplication id nor content-based deduplication
        self.assertSqsError("InvalidParameterValue", self.sqs.send_message, QueueUrl=url, MessageBody="x",
                            MessageGroupId="g")
        self.assertSqsError("InvalidParameterValue", self.sqs.send_message, QueueUrl=url, MessageBody="x",
                            MessageGroupId="g" * 129, MessageDeduplicationId="d")
        # batch: per-entry failures
        r = self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "ok", "MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "1"},
            {"Id": "nogroup", "MessageBody": "b", "MessageDeduplicationId": "2"},
            {"Id": "delay", "MessageBody": "c", "MessageGroupId": "g", "MessageDeduplicationId": "3",
             "DelaySeconds": 3}])
        self.assertEqual([x["Id"] for x in r["Successful"]], ["ok"])
        self.assertEqual({f["Id"]: f["Code"] for f in r["Failed"]},
                         {"nogroup": "MissingParameter", "delay": "InvalidParameterValue"})
        # a standard queue refuses a deduplication id
        std = self.create("std")
        self.assertSqsError("InvalidParameterValue", self.sqs.send_message, QueueUrl=std, MessageBody="x",
                            MessageDeduplicationId="d")

    def test_order_within_group_and_sequence_numbers(self):
        url = self.fifo()
        seqs = []
        for i in range(12):
            r = self.sqs.send_message(QueueUrl=url, MessageBody="m%02d" % i, MessageGroupId="g",
                                      MessageDeduplicationId="d%d" % i)
            self.assertEqual(r["MD5OfMessageBody"], md5_hex("m%02d" % i))
            seqs.append(int(r["SequenceNumber"]))
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(set(seqs)), 12)
        got = []
        while len(got) < 12:
            ms = self.receive(url, AttributeNames=["All"])
            self.assertTrue(ms)
            for m in ms:
                got.append(m)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        self.assertEqual([m["Body"] for m in got], ["m%02d" % i for i in range(12)])
        self.assertEqual([int(m["Attributes"]["SequenceNumber"]) for m in got], seqs)
        a = got[0]["Attributes"]
        self.assertEqual(a["MessageGroupId"], "g")
        self.assertEqual(a["MessageDeduplicationId"], "d0")
        self.assertEqual(a["ApproximateReceiveCount"], "1")
        self.assertIn("SentTimestamp", a)
        # a batch keeps its order too
        r = self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "e%d" % i, "MessageBody": "b%d" % i, "MessageGroupId": "g", "MessageDeduplicationId": "b%d" % i}
            for i in range(10)])
        bseq = [int(x["SequenceNumber"]) for x in sorted(r["Successful"], key=lambda x: int(x["Id"][1:]))]
        self.assertEqual(bseq, sorted(bseq))
        self.assertGreater(bseq[0], seqs[-1])
        self.assertEqual([m["Body"] for m in self.drain(url, 10)], ["b%d" % i for i in range(10)])

    def test_group_blocked_while_in_flight(self):
        url = self.fifo(VisibilityTimeout=30)
        for g in ("A", "B"):
            for i in range(3):
                self.sqs.send_message(QueueUrl=url, MessageBody="%s%d" % (g, i), MessageGroupId=g,
                                      MessageDeduplicationId="%s%d" % (g, i))
        (a0,) = self.receive(url, MaxNumberOfMessages=1)
        self.assertEqual(a0["Body"], "A0")
        # A is blocked while A0 is in flight; B still flows, in order
        ms = self.receive(url, MaxNumberOfMessages=10)
        self.assertEqual([m["Body"] for m in ms], ["B0", "B1", "B2"])
        self.assertEqual(self.receive(url), [])
        # releasing A0 hands out A0 again first (receive count 2), then nothing while it is in flight
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=a0["ReceiptHandle"], VisibilityTimeout=0)
        ms = self.receive(url, MaxNumberOfMessages=1, AttributeNames=["ApproximateReceiveCount"])
        self.assertEqual([m["Body"] for m in ms], ["A0"])
        self.assertEqual(ms[0]["Attributes"]["ApproximateReceiveCount"], "2")
        self.assertEqual(self.receive(url), [])
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=ms[0]["ReceiptHandle"])
        ms = self.receive(url)
        self.assertEqual([m["Body"] for m in ms], ["A1", "A2"])
        # B's messages are still in flight: deleting them one by one does not reorder anything
        self.assertEqual(self.receive(url), [])

    def test_group_visibility_expiry_keeps_order(self):
        url = self.fifo(VisibilityTimeout=1)
        for i in range(3):
            self.sqs.send_message(QueueUrl=url, MessageBody=str(i), MessageGroupId="g",
                                  MessageDeduplicationId=str(i))
        ms = self.receive(url, MaxNumberOfMessages=2)
        self.assertEqual([m["Body"] for m in ms], ["0", "1"])
        self.assertEqual(self.receive(url), [])
        time.sleep(1.3)
        self.assertEqual([m["Body"] for m in self.drain(url, 3)], ["0", "1", "2"])

    def test_batch_order_after_redelivery(self):
        # rows updated in a different order than they were sent must still come back in send order
        url = self.fifo(VisibilityTimeout=30)
        n = 8
        for i in range(n):
            self.sqs.send_message(QueueUrl=url, MessageBody=str(i), MessageGroupId="g",
                                  MessageDeduplicationId=str(i))
        for _ in range(3):
            ms = self.receive(url, MaxNumberOfMessages=10)
            self.assertEqual([m["Body"] for m in ms], [str(i) for i in range(n)])
            # release newest first, one at a time (each a new row version)
            self.sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
                {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for k, m in enumerate(reversed(ms[:5]))])
            for m in reversed(ms[5:]):
                self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"],
                                                   VisibilityTimeout=0)

    def test_explicit_deduplication(self):
        url = self.fifo()
        r1 = self.sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="g", MessageDeduplicationId="x")
        r2 = self.sqs.send_message(QueueUrl=url, MessageBody="second", MessageGroupId="g", MessageDeduplicationId="x")
        self.assertEqual(r1["MessageId"], r2["MessageId"])
        self.assertEqual(r1["SequenceNumber"], r2["SequenceNumber"])
        # also across groups (scope queue)
        r3 = self.sqs.send_message(QueueUrl=url, MessageBody="third", MessageGroupId="h", MessageDeduplicationId="x")
        self.assertEqual(r3["MessageId"], r1["MessageId"])
        # and in a batch
        r = self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "MessageBody": "b1", "MessageGroupId": "g", "MessageDeduplicationId": "y"},
            {"Id": "b", "MessageBody": "b2", "MessageGroupId": "g", "MessageDeduplicationId": "y"}])
        ids = {x["Id"]: x["MessageId"] for x in r["Successful"]}
        self.assertEqual(ids["a"], ids["b"])
        got = self.drain(url, 2)
        self.assertEqual([m["Body"] for m in got], ["first", "b1"])
        # still deduplicated after the message was deleted (5-minute window)
        r4 = self.sqs.send_message(QueueUrl=url, MessageBody="again", MessageGroupId="g", MessageDeduplicationId="x")
        self.assertEqual(r4["MessageId"], r1["MessageId"])
        self.assertEqual(self.receive(url, WaitTimeSeconds=1), [])

    def test_content_based_deduplication(self):
        url = self.fifo(ContentBasedDeduplication="true")
        r1 = self.sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
        r2 = self.sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
        r3 = self.sqs.send_message(QueueUrl=url, MessageBody="other body", MessageGroupId="g")
        self.assertEqual(r1["MessageId"], r2["MessageId"])
        self.assertNotEqual(r1["MessageId"], r3["MessageId"])
        # an explicit id wins over the content hash
        r4 = self.sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g",
                                   MessageDeduplicationId="explicit")
        self.assertNotEqual(r4["MessageId"], r1["MessageId"])
        got = self.drain(url, 3, AttributeNames=["MessageDeduplicationId"])
        self.assertEqual([m["Body"] for m in got], ["same body", "other body", "same body"])
        # AWS reports the SHA-256 of the body as the deduplication id
        self.assertEqual(got[0]["Attributes"]["MessageDeduplicationId"],
                         hashlib.sha256(b"same body").hexdigest())
        self.assertEqual(got[2]["Attributes"]["MessageDeduplicationId"], "explicit")

    def test_deduplication_scope_message_group(self):
        url = self.fifo(DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
        r1 = self.sqs.send_message(QueueUrl=url, MessageBody="g1", MessageGroupId="g1", MessageDeduplicationId="d")
        r2 = self.sqs.send_message(QueueUrl=url, MessageBody="g2", MessageGroupId="g2", MessageDeduplicationId="d")
        r3 = self.sqs.send_message(QueueUrl=url, MessageBody="g1 dup", MessageGroupId="g1", MessageDeduplicationId="d")
        self.assertNotEqual(r1["MessageId"], r2["MessageId"])
        self.assertEqual(r1["MessageId"], r3["MessageId"])
        got = self.drain(url, 2, AttributeNames=["MessageDeduplicationId", "MessageGroupId"])
        self.assertEqual(sorted(m["Body"] for m in got), ["g1", "g2"])
        for m in got:
            self.assertEqual(m["Attributes"]["MessageDeduplicationId"], "d")
        self.assertEqual(self.receive(url, WaitTimeSeconds=1), [])

    def test_queue_delay_on_fifo(self):
        url = self.fifo(DelaySeconds=2)
        self.sqs.send_message(QueueUrl=url, MessageBody="late", MessageGroupId="g", MessageDeduplicationId="1")
        self.assertEqual(self.receive(url), [])
        time.sleep(2.3)
        self.assertEqual([m["Body"] for m in self.drain(url, 1)], ["late"])


    def lease_metric(self, name):
        body = self.broker.http("GET", "/metrics")[2].decode()
        m = re.search(r'^%s\{kind="fifo"\} (\S+)$' % name, body, re.M)
        return float(m.group(1)) if m else 0.0

    def test_concurrent_receivers_share_groups_whole(self):
        """Concurrent receives of one FIFO queue are served by shared leases
        (one walk over the groups, one lease statement); each receive must
        still get whole groups in order: every group's messages come back
        once each, in send order, a response never holds more than its
        MaxNumberOfMessages, and no group is held by two receivers at once."""
        url = self.fifo(VisibilityTimeout=60)
        sizes = [3 + 7 * g for g in range(8)]  # 3 .. 52 messages a group
        for g, size in enumerate(sizes):
            for i in range(0, size, 10):
                r = self.sqs.send_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(k), "MessageBody": "%d:%d" % (g, k), "MessageGroupId": "g%d" % g,
                     "MessageDeduplicationId": "%d-%d" % (g, k)} for k in range(i, min(i + 10, size))])
                self.assertEqual(r.get("Failed", []), [])
        total = sum(sizes)
        leases0 = self.lease_metric("switchyard_sqs_leases_total")
        receives0 = self.lease_metric("switchyard_sqs_lease_receives_total")
        lock = threading.Lock()
        got = collections.defaultdict(list)
        holder, errors = {}, []
        done = threading.Event()

        def consume(idx):
            c = self.client("sqs")
            most = (1, 3, 10)[idx % 3]
            try:
                while not done.is_set():
                    ms = c.receive_message(QueueUrl=url, MaxNumberOfMessages=most,
                                           AttributeNames=["MessageGroupId"]).get("Messages", [])
                    if len(ms) > most:
                        errors.append("%d messages for MaxNumberOfMessages %d" % (len(ms), most))
                    with lock:
                        for m in ms:
                            g, k = (int(x) for x in m["Body"].split(":"))
                            self.assertEqual(m["Attributes"]["MessageGroupId"], "g%d" % g)
                            if holder.get(g, idx) != idx:
                                errors.append("group %d held by receivers %d and %d" % (g, holder[g], idx))
                            holder[g] = idx
                            got[g].append(k)
                        for m in ms:
                            holder.pop(int(m["Body"].split(":")[0]), None)  # released before the delete
                        if sum(len(v) for v in got.values()) >= total:
                            done.set()
                    self.delete_received(c, url, ms, errors)
            except Exception as e:  # reported below
                errors.append(e)
                done.set()

        self.run_consumers(consume, 12, done)
        self.assertEqual(errors, [])
        for g, size in enumerate(sizes):
            self.assertEqual(got[g], list(range(size)), "group %d out of order, duplicated or short" % g)
        self.assertEqual(self.receive(url), [])
        leases = self.lease_metric("switchyard_sqs_leases_total") - leases0
        receives = self.lease_metric("switchyard_sqs_lease_receives_total") - receives0
        # twelve receivers at once: some of their receives shared a lease
        self.assertGreater(receives, leases, "no FIFO lease served more than one receive")


if __name__ == "__main__":
    import unittest
    unittest.main()
