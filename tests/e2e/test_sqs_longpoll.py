"""SQS long polling end to end: a waiting ReceiveMessage wakes within well
under a second of a send on the same broker (in-process wake) and on a
second broker sharing the database (LISTEN/NOTIFY); an empty long poll
lasts WaitTimeSeconds. Runs under both client generations."""

import time

from harness import run_in_thread
from sqs_common import SqsTestCase


class SqsLongPoll(SqsTestCase):

    def wake_latency(self, recv_client, send_client, url, wait=10, **send_kw):
        """Start a long poll, send once it is surely waiting, return
        (seconds from send reply to receive reply, messages)."""
        def poll():
            t0 = time.monotonic()
            r = recv_client.receive_message(QueueUrl=url, WaitTimeSeconds=wait, MaxNumberOfMessages=10)
            return time.monotonic(), time.monotonic() - t0, r.get("Messages", [])
        t, box = run_in_thread(poll)
        time.sleep(1.3)
        self.assertNotIn("result", box, "the long poll returned before anything was sent")
        send_client.send_message(QueueUrl=url, MessageBody="wake up", **send_kw)
        sent = time.monotonic()
        t.join(wait + 10)
        if "error" in box:
            raise box["error"]
        done, took, msgs = box["result"]
        self.assertEqual([m["Body"] for m in msgs], ["wake up"])
        self.assertLess(took, wait - 2, "the long poll ran to its timeout")
        for m in msgs:
            recv_client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return done - sent

    def test_wakes_on_send_same_broker(self):
        url = self.create("lp")
        recv = self.client("sqs")
        lat = [self.wake_latency(recv, self.sqs, url) for _ in range(3)]
        self.assertLess(max(lat), 0.5, lat)

    def test_wakes_on_send_other_broker(self):
        url = self.create("lp2")
        b2 = self.start_broker()
        recv = self.client("sqs", broker=b2)
        # the waiting broker also re-checks once a second, so only a consistently
        # fast wake proves the notification path
        lat = [self.wake_latency(recv, self.sqs, url) for _ in range(4)]
        self.assertLess(max(lat), 0.5, lat)
        # and the other direction
        recv1 = self.client("sqs")
        send2 = self.client("sqs", broker=b2)
        lat = [self.wake_latency(recv1, send2, url) for _ in range(2)]
        self.assertLess(max(lat), 0.5, lat)

    def test_wakes_on_fifo_and_batch_send(self):
        url = self.create("lp.fifo", FifoQueue="true", ContentBasedDeduplication="true")
        self.assertLess(self.wake_latency(self.client("sqs"), self.sqs, url, MessageGroupId="g"), 0.5)

    def test_empty_long_poll_duration(self):
        url = self.create("empty")
        t0 = time.monotonic()
        r = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)
        took = time.monotonic() - t0
        self.assertNotIn("Messages", r)
        self.assertGreaterEqual(took, 1.9)
        self.assertLess(took, 3.5)
        # the queue's ReceiveMessageWaitTimeSeconds applies when the call gives none
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"ReceiveMessageWaitTimeSeconds": "2"})
        t0 = time.monotonic()
        self.sqs.receive_message(QueueUrl=url)
        took = time.monotonic() - t0
        self.assertGreaterEqual(took, 1.9)
        self.assertLess(took, 3.5)
        # an explicit 0 is a short poll
        t0 = time.monotonic()
        self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
        self.assertLess(time.monotonic() - t0, 1.0)

    def test_long_poll_sees_delayed_and_released_messages(self):
        url = self.create("later")
        self.sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=2)
        t0 = time.monotonic()
        ms = self.receive(url, WaitTimeSeconds=8)
        took = time.monotonic() - t0
        self.assertEqual([m["Body"] for m in ms], ["delayed"])
        self.assertGreaterEqual(took, 1.5)
        self.assertLess(took, 4.5)
        # a visibility released from another thread
        t, box = run_in_thread(lambda: self.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=10))
        time.sleep(1.0)
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=ms[0]["ReceiptHandle"], VisibilityTimeout=0)
        released = time.monotonic()
        t.join(15)
        self.assertEqual([m["Body"] for m in box["result"]["Messages"]], ["delayed"])
        self.assertLess(time.monotonic() - released, 1.5)


if __name__ == "__main__":
    import unittest
    unittest.main()
