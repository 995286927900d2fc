"""SQS reliability end to end: acknowledged sends survive kill -9, leases
survive a crash only until their visibility timeout, deletes are final;
two brokers on one database with concurrent producers and consumers lose
nothing, lease nothing twice, and keep FIFO order per group.
Runs under both client generations."""

import collections
import json
import threading
import time

from harness import run_in_thread
from sqs_common import SqsTestCase, md5_hex


class SqsCrash(SqsTestCase):

    def test_acknowledged_sends_survive_kill9(self):
        url = self.create("durable")
        fifo = self.create("durable.fifo", FifoQueue="true")
        bodies = set()
        for i in range(20):
            b = "single-%d" % i
            self.sqs.send_message(QueueUrl=url, MessageBody=b, MessageAttributes={
                "i": {"DataType": "Number", "StringValue": str(i)}})
            bodies.add(b)
        for k in range(3):
            entries = [{"Id": str(i), "MessageBody": "batch-%d-%d" % (k, i)} for i in range(10)]
            r = self.sqs.send_message_batch(QueueUrl=url, Entries=entries)
            self.assertEqual(len(r["Successful"]), 10)
            bodies |= {e["MessageBody"] for e in entries}
        for i in range(10):
            self.sqs.send_message(QueueUrl=fifo, MessageBody="f%d" % i, MessageGroupId="g",
                                  MessageDeduplicationId="f%d" % i)
        self.broker.kill9()
        self.broker.restart()
        sqs = self.client("sqs")
        got = self.drain(url, len(bodies), client=sqs, MessageAttributeNames=["All"])
        self.assertEqual(sorted(m["Body"] for m in got), sorted(bodies))
        for m in got:
            self.assertMd5s(m)
        self.assertEqual([m["Body"] for m in self.drain(fifo, 10, client=sqs)], ["f%d" % i for i in range(10)])
        # the dedup window survives the crash too
        r = sqs.send_message(QueueUrl=fifo, MessageBody="again", MessageGroupId="g", MessageDeduplicationId="f3")
        self.assertEqual(self.receive(fifo, client=sqs, WaitTimeSeconds=1), [])
        self.assertTrue(r["MessageId"])

    def test_lease_and_delete_across_kill9(self):
        url = self.create("leases", VisibilityTimeout=3)
        for b in ("keep-leased", "deleted", "untouched"):
            self.sqs.send_message(QueueUrl=url, MessageBody=b)
        ms = {m["Body"]: m for m in self.receive(url, MaxNumberOfMessages=10, VisibilityTimeout=3)}
        self.assertEqual(set(ms), {"keep-leased", "deleted", "untouched"})
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=ms["deleted"]["ReceiptHandle"])
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=ms["untouched"]["ReceiptHandle"],
                                           VisibilityTimeout=0)
        leased_at = time.monotonic()
        self.broker.kill9()
        self.broker.restart()
        sqs = self.client("sqs")
        # the released one is there at once, the leased one not before its timeout
        first = self.receive(url, client=sqs, VisibilityTimeout=30)
        self.assertEqual([m["Body"] for m in first], ["untouched"])
        if time.monotonic() - leased_at < 2.5:
            self.assertEqual(self.receive(url, client=sqs), [])
        again = self.drain(url, 1, client=sqs, timeout=15, AttributeNames=["ApproximateReceiveCount"])
        self.assertEqual([m["Body"] for m in again], ["keep-leased"])
        self.assertEqual(again[0]["Attributes"]["ApproximateReceiveCount"], "2")
        self.assertGreaterEqual(time.monotonic() - leased_at, 2.5)
        # the deleted one never comes back
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
        self.assertEqual(self.receive(url, client=sqs, WaitTimeSeconds=4, VisibilityTimeout=0), [])
        self.assertEqual(self.count(url) + self.count(url, "ApproximateNumberOfMessagesNotVisible"), 0)


class SqsTwoBrokers(SqsTestCase):

    def run_workers(self, url, producers, consumers, deadline_s):
        """producers: list of (client, fn(client) -> None); consumers: clients.
        Consumers record (body, message id, receive count) then delete."""
        lock = threading.Lock()
        received = []
        stop = threading.Event()
        errors = []

        def consume(c):
            try:
                while not stop.is_set():
                    r = c.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                          AttributeNames=["ApproximateReceiveCount", "MessageGroupId"])
                    ms = r.get("Messages", [])
                    with lock:
                        for m in ms:
                            self.assertEqual(m["MD5OfBody"], md5_hex(m["Body"]))
                            received.append((m["Body"], m["MessageId"], m["Attributes"]))
                    self.delete_received(c, url, ms, errors)
            except Exception as e:  # reported below
                errors.append(e)

        cthreads = [threading.Thread(target=consume, args=(c,), daemon=True) for c in consumers]
        for t in cthreads:
            t.start()
        pthreads = [run_in_thread(fn, c) for c, fn in producers]
        for t, box in pthreads:
            t.join(deadline_s)
            if "error" in box:
                errors.append(box["error"])
        return received, stop, cthreads, errors, lock

    def test_concurrent_producers_consumers_standard(self):
        url = self.create("shared", VisibilityTimeout=60)
        b2 = self.start_broker()
        per_producer = 60

        def producer(tag):
            def fn(c):
                for i in range(0, per_producer, 10):
                    if i % 20 == 0:
                        r = c.send_message_batch(QueueUrl=url, Entries=[
                            {"Id": str(k), "MessageBody": "%s-%d" % (tag, i + k)} for k in range(10)])
                        assert not r.get("Failed"), r["Failed"]
                    else:
                        for k in range(10):
                            c.send_message(QueueUrl=url, MessageBody="%s-%d" % (tag, i + k))
            return fn

        brokers = [self.broker, b2]
        producers = [(self.client("sqs", broker=brokers[p % 2]), producer("p%d" % p)) for p in range(4)]
        consumers = [self.client("sqs", broker=brokers[c % 2]) for c in range(4)]
        expected = {"p%d-%d" % (p, i) for p in range(4) for i in range(per_producer)}
        received, stop, threads, errors, lock = self.run_workers(url, producers, consumers, 120)
        self.assertEventually(lambda: len(received) >= len(expected), timeout=60,
                              msg="received only %d of %d" % (len(received), len(expected)))
        time.sleep(1.5)  # anything received twice would show up now
        stop.set()
        for t in threads:
            t.join(10)
        self.assertEqual(errors, [])
        bodies = [b for b, _, _ in received]
        dups = [b for b, n in collections.Counter(bodies).items() if n > 1]
        self.assertEqual(dups, [], "leased more than once with a 60 s visibility timeout")
        self.assertEqual(set(bodies), expected)
        self.assertTrue(all(a["ApproximateReceiveCount"] == "1" for _, _, a in received))
        self.assertEqual(len({mid for _, mid, _ in received}), len(expected))
        self.assertEqual(self.count(url) + self.count(url, "ApproximateNumberOfMessagesNotVisible"), 0)

    def test_settings_change_reaches_other_brokers(self):
        """A broker trusts its cached copy of a queue's settings for 30 s; a
        change made through another broker reaches it at once (NOTIFY):
        attributes, the delay a send through it gets, a deletion."""
        url = self.create("settings")
        b2 = self.start_broker()
        c2 = self.client("sqs", broker=b2)
        c2.send_message(QueueUrl=url, MessageBody="warm")  # b2 caches the queue
        self.drain(url, 1, client=c2)
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "30", "VisibilityTimeout": "77"})

        def seen():
            a = c2.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            return a["DelaySeconds"] == "30" and a["VisibilityTimeout"] == "77"
        self.assertEventually(seen, timeout=5, msg="b2 still serves the old attributes")
        c2.send_message(QueueUrl=url, MessageBody="delayed by the new setting")
        self.assertEqual(self.receive(url, client=c2, WaitTimeSeconds=1), [])
        self.assertEqual(self.count(url, "ApproximateNumberOfMessagesDelayed"), 1)

        self.sqs.delete_queue(QueueUrl=url)

        def gone():
            try:
                c2.send_message(QueueUrl=url, MessageBody="after the delete")
                return False
            except Exception as e:
                return "NonExistentQueue" in str(e) or "QueueDoesNotExist" in str(e)
        self.assertEventually(gone, timeout=5, msg="b2 still accepts sends to the deleted queue")

    def test_concurrent_create_queue(self):
        b2 = self.start_broker()
        clients = [self.client("sqs", broker=(self.broker, b2)[i % 2]) for i in range(6)]
        results = [run_in_thread(lambda c: c.create_queue(QueueName="race", Attributes={"DelaySeconds": "1"}),
                                 c) for c in clients]
        for t, box in results:
            t.join(60)
        errors = [box.get("error") for _, box in results if "error" in box]
        self.assertEqual(errors, [])
        urls = {box["result"]["QueueUrl"].rsplit("/", 2)[-2:][1] for _, box in results}
        self.assertEqual(urls, {"race"})
        self.assertEqual(len(self.sqs.list_queues(QueueNamePrefix="race")["QueueUrls"]), 1)

    def test_fifo_order_across_brokers(self):
        url = self.create("shared.fifo", FifoQueue="true", VisibilityTimeout=60)
        b2 = self.start_broker()
        groups, per_group = 6, 25

        def producer(g):
            def fn(c):
                for i in range(per_group):
                    c.send_message(QueueUrl=url, MessageBody="%d:%d" % (g, i), MessageGroupId="g%d" % g,
                                   MessageDeduplicationId="%d-%d" % (g, i))
            return fn

        brokers = [self.broker, b2]
        producers = [(self.client("sqs", broker=brokers[g % 2]), producer(g)) for g in range(groups)]
        consumers = [self.client("sqs", broker=brokers[c % 2]) for c in range(4)]
        received, stop, threads, errors, lock = self.run_workers(url, producers, consumers, 120)
        total = groups * per_group
        self.assertEventually(lambda: len(received) >= total, timeout=60,
                              msg="received only %d of %d" % (len(received), total))
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join(10)
        self.assertEqual(errors, [])
        per = collections.defaultdict(list)
        for body, _, attrs in received:
            g, i = body.split(":")
            self.assertEqual(attrs["MessageGroupId"], "g" + g)
            per[int(g)].append(int(i))
        for g in range(groups):
            self.assertEqual(per[g], list(range(per_group)), "group %d out of order or duplicated" % g)


class SqsManyQueues(SqsTestCase):

    def test_concurrent_receives_of_many_queues(self):
        """Concurrent receives of different standard queues meet in the lease
        combiner (one transaction, a lease statement a queue, the rows shared
        out by queue): every message must reach a receive of its own queue,
        once, and a message past its queue's maxReceiveCount must move to
        that queue's dead-letter queue, not another's."""
        nq, per_queue = 8, 30
        dlqs = [self.create("dlq-%d" % k) for k in range(2)]
        dlq_arns = [self.attrs(u, "QueueArn")["QueueArn"] for u in dlqs]
        urls, poison = [], collections.Counter()
        for q in range(nq):
            attrs = {}
            if q < 4:  # queues 0-3 send their poison to dlq-0 or dlq-1
                attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arns[q % 2], "maxReceiveCount": 1})
            urls.append(self.create("many-%d" % q, **attrs))
        for q, url in enumerate(urls):
            for i in range(0, per_queue, 10):
                entries = []
                for k in range(i, i + 10):
                    bad = q < 4 and k % 10 == 0
                    poison[q % 2] += bad
                    entries.append({"Id": str(k), "MessageBody": "%s%d:%d" % ("poison-" if bad else "", q, k)})
                self.assertEqual(self.sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed", []), [])
        lock = threading.Lock()
        got, errors = collections.Counter(), []
        want = nq * per_queue - sum(poison.values())
        done = threading.Event()

        def consume(idx):
            c = self.client("sqs")
            try:
                for rnd in range(100000):
                    if done.is_set():
                        return
                    q = (idx + rnd) % nq
                    ms = c.receive_message(QueueUrl=urls[q], MaxNumberOfMessages=(1, 4, 10)[idx % 3],
                                           VisibilityTimeout=60).get("Messages", [])
                    keep = []
                    with lock:
                        for m in ms:
                            body = m["Body"]
                            if body.replace("poison-", "").split(":")[0] != str(q):
                                errors.append("a receive of queue %d got %r" % (q, body))
                            if body.startswith("poison-"):
                                continue
                            got[body] += 1
                            keep.append(m)
                        if len(got) >= want and sum(self.count(d) for d in dlqs) == sum(poison.values()):
                            done.set()
                    for m in ms:  # poison: released at once, moved to its DLQ by its next receive
                        if m["Body"].startswith("poison-"):
                            c.change_message_visibility(QueueUrl=urls[q], ReceiptHandle=m["ReceiptHandle"],
                                                        VisibilityTimeout=0)
                    self.delete_received(c, urls[q], keep, errors)
            except Exception as e:  # reported below
                errors.append(e)
                done.set()

        self.run_consumers(consume, 12, done)
        self.assertEqual(errors, [])
        self.assertEqual([b for b, n in got.items() if n != 1], [])
        self.assertEqual(len(got), want)
        self.assertEqual([self.count(d) for d in dlqs], [poison[0], poison[1]])
        moved = [m["Body"] for m in self.drain(dlqs[0], poison[0]) + self.drain(dlqs[1], poison[1])]
        self.assertEqual(sorted(b.split(":")[0] for b in moved[:poison[0]]), ["poison-0"] * 3 + ["poison-2"] * 3)
        self.assertEqual(sorted(b.split(":")[0] for b in moved[poison[0]:]), ["poison-1"] * 3 + ["poison-3"] * 3)
        for u in urls:
            self.assertEqual(self.count(u) + self.count(u, "ApproximateNumberOfMessagesNotVisible"), 0)


if __name__ == "__main__":
    import unittest
    unittest.main()
