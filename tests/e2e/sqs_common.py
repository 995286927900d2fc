"""Shared helpers for the SQS end-to-end suites (test_sqs_*.py): MD5s
computed independently of the server (aws-wire.md section 4), error
assertions that know what each client generation should see (section 2),
and small queue/receive helpers."""

import base64
import hashlib
import struct
import threading
import time

import harness
from harness import SwitchyardTestCase


def md5_hex(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.md5(data).hexdigest()


def md5_of_attributes(attrs):
    """MD5OfMessageAttributes over {name: {DataType, StringValue|BinaryValue}}.
    BinaryValue may be bytes (boto3 shape) or base64 text."""
    if not attrs:
        return None
    h = hashlib.md5()

    def lv(b):
        h.update(struct.pack(">I", len(b)))
        h.update(b)

    for name in sorted(attrs, key=lambda n: n.encode("utf-8")):
        a = attrs[name]
        lv(name.encode("utf-8"))
        lv(a["DataType"].encode("utf-8"))
        if "BinaryValue" in a and a["BinaryValue"] is not None:
            v = a["BinaryValue"]
            if isinstance(v, str):
                v = base64.b64decode(v)
            h.update(b"\x02")
            lv(bytes(v))
        else:
            h.update(b"\x01")
            lv(a["StringValue"].encode("utf-8"))
    return h.hexdigest()


def s(v):
    return {"DataType": "String", "StringValue": v}


# legacy (query) code -> exception class name per aws-wire.md section 2.1/2.3
LEGACY = {
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "QueueNameExists": "QueueAlreadyExists",
    "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "BatchRequestTooLong": "AWS.SimpleQueueService.BatchRequestTooLong",
    "InvalidBatchEntryId": "AWS.SimpleQueueService.InvalidBatchEntryId",
    "MessageNotInflight": "AWS.SimpleQueueService.MessageNotInflight",
    "PurgeQueueInProgress": "AWS.SimpleQueueService.PurgeQueueInProgress",
    "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
}


class SqsTestCase(SwitchyardTestCase):
    """A SwitchyardTestCase with `self.sqs` and SQS assertions."""

    def setUp(self):
        super().setUp()
        if self.broker is not None:
            self.sqs = self.client("sqs")

    # ---- concurrent consumers
    def run_consumers(self, consume, n, done, timeout=120):
        """consume(i) in n threads until one sets done (or timeout)."""
        threads = [threading.Thread(target=consume, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        done.wait(timeout)
        done.set()
        for t in threads:
            t.join(30)

    @staticmethod
    def delete_received(c, url, ms, errors):
        """DeleteMessageBatch of received messages ms; failures go to errors."""
        if not ms:
            return
        d = c.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(ms)])
        if d.get("Failed"):
            errors.append(("delete failed", d["Failed"]))

    # ---- errors
    def assertSqsError(self, name, fn, *args, client=None, code=None, status=None, **kw):
        """fn(*args, **kw) must raise the SQS error `name` (the modeled
        exception shape, or an unmodeled code such as InvalidParameterValue).
        Both generations must see the legacy query code in Error.Code (new
        boto3 through x-amzn-query-error), and the modeled exception class
        when this generation's model has it."""
        from botocore.exceptions import ClientError
        c = client or self.sqs
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kw)
        e = cm.exception
        want = code or LEGACY.get(name, name)
        self.assertEqual(e.response["Error"]["Code"], want,
                         "expected %s, got %r" % (want, e.response.get("Error")))
        cls = getattr(c.exceptions, name, None)
        if cls is not None:
            self.assertIsInstance(e, cls, "exception class for %s" % name)
        if status is not None:
            self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], status)
        return e

    # ---- queues
    def create(self, name, client=None, **attrs):
        c = client or self.sqs
        kw = {"QueueName": name}
        if attrs:
            kw["Attributes"] = {k: str(v) for k, v in attrs.items()}
        return c.create_queue(**kw)["QueueUrl"]

    def attrs(self, url, *names, client=None):
        c = client or self.sqs
        return c.get_queue_attributes(QueueUrl=url, AttributeNames=list(names) or ["All"]).get("Attributes", {})

    def receive(self, url, client=None, **kw):
        c = client or self.sqs
        kw.setdefault("MaxNumberOfMessages", 10)
        kw.setdefault("WaitTimeSeconds", 0)
        return c.receive_message(QueueUrl=url, **kw).get("Messages", [])

    def drain(self, url, expect, timeout=20, client=None, delete=True, **kw):
        """Receive until `expect` messages arrived (deleting them); returns them."""
        c = client or self.sqs
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < expect and time.monotonic() < deadline:
            ms = self.receive(url, client=c, WaitTimeSeconds=1, **kw)
            for m in ms:
                got.append(m)
                if delete:
                    c.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got

    def assertMd5s(self, msg, sent_attrs=None):
        """A received message's MD5OfBody / MD5OfMessageAttributes, computed here."""
        self.assertEqual(msg["MD5OfBody"], md5_hex(msg["Body"]))
        ma = msg.get("MessageAttributes")
        if ma:
            self.assertEqual(msg.get("MD5OfMessageAttributes"), md5_of_attributes(ma))
        else:
            self.assertNotIn("MD5OfMessageAttributes", msg)
        if sent_attrs is not None:
            self.assertEqual(ma or {}, sent_attrs)

    def count(self, url, name="ApproximateNumberOfMessages"):
        return int(self.attrs(url, name)[name])
