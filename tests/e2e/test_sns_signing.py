"""SNS as subscribers check it (issue 12), through boto3 of both generations
and the aws CLI:

- signed messages: SignatureVersion 1 (SHA1withRSA) and 2 (SHA256withRSA,
  the topic's SignatureVersion attribute) on SubscriptionConfirmation,
  Notification and UnsubscribeConfirmation over HTTP and in SQS envelopes,
  verified by OpenSSL over AWS's canonical string computed here and by the
  npm validator `sns-validator` (AWS's own, tests/e2e/sns_validator) behind
  an HTTPS front as on AWS; the certificate at SigningCertURL is one per
  cluster and served without SigV4;
- DeliveryPolicy: AWS's validation errors, EffectiveDeliveryPolicy, the
  retry schedule measured against the policy, the dead-letter queue after
  it, throttlePolicy, requestPolicy.headerContentType, and a pending retry
  that survives kill -9 of the broker;
- CreateTopic with an existing name: idempotent with the same attributes,
  InvalidParameter with different attributes or tags;
- Publish through the group commit: concurrent publishes share
  transactions and every one is delivered."""

import base64
import http.server
import json
import os
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

import harness
from harness import SwitchyardTestCase

ACCOUNT = "000000000000"
REGION = "us-east-1"
VALIDATOR_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sns_validator")


def qarn(name):
    return "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)


# ------------------------------------------------------------ verification
def canonical(msg):
    """AWS's string to sign, written from AWS's documentation (not from the
    broker's code): name\\nvalue\\n for each field, in this order."""
    if msg["Type"] == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join("%s\n%s\n" % (k, msg[k]) for k in keys if k in msg and msg[k] is not None)


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()


def fetch_unverified(url):
    """GET over HTTPS from the test's own front (its self-signed certificate)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, timeout=10, context=ctx) as r:
        return r.read()


def openssl_verify(test, msg, cert_pem, digest=None):
    """True when OpenSSL verifies msg's Signature over the canonical string
    with the certificate's public key."""
    d = test.tmpdir("sig")
    with open(os.path.join(d, "cert.pem"), "wb") as f:
        f.write(cert_pem)
    pub = subprocess.run(["openssl", "x509", "-pubkey", "-noout", "-in", os.path.join(d, "cert.pem")],
                         stdout=subprocess.PIPE, check=True).stdout
    with open(os.path.join(d, "pub.pem"), "wb") as f:
        f.write(pub)
    with open(os.path.join(d, "data"), "wb") as f:
        f.write(canonical(msg).encode())
    with open(os.path.join(d, "sig"), "wb") as f:
        f.write(base64.b64decode(msg["Signature"]))
    digest = digest or ("-sha256" if msg["SignatureVersion"] == "2" else "-sha1")
    p = subprocess.run(["openssl", "dgst", digest, "-verify", os.path.join(d, "pub.pem"), "-signature",
                        os.path.join(d, "sig"), os.path.join(d, "data")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode == 0


# ------------------------------------------------------------ subscriber
class _Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode()
        srv = self.server
        kind = self.headers.get("x-amz-sns-message-type")
        with srv.lock:
            srv.calls.append({"t": time.monotonic(), "body": body, "headers": dict(self.headers), "kind": kind})
            status = 200
            if kind == "Notification":
                srv.notifications += 1
                if srv.fail_always or srv.notifications <= srv.fail_first:
                    status = 500
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def hook(test, fail_first=0, fail_always=False):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    srv.calls, srv.lock, srv.notifications = [], threading.Lock(), 0
    srv.fail_first, srv.fail_always = fail_first, fail_always
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    test.addCleanup(srv.server_close)
    test.addCleanup(srv.shutdown)
    srv.url = "http://127.0.0.1:%d/hook" % srv.server_address[1]
    return srv


def of_kind(srv, kind):
    with srv.lock:
        return [c for c in srv.calls if c["kind"] == kind]


class SnsCase(SwitchyardTestCase):
    def setUp(self):
        super().setUp()
        if self.broker:
            self.sns = self.client("sns")
            self.sqs = self.client("sqs")

    def subscribe_http(self, srv, topic, attrs=None):
        """Subscribe srv and confirm with the token it receives."""
        n = len(of_kind(srv, "SubscriptionConfirmation"))
        self.sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=srv.url, Attributes=attrs or {})
        self.assertEventually(lambda: len(of_kind(srv, "SubscriptionConfirmation")) > n, 20)
        conf = json.loads(of_kind(srv, "SubscriptionConfirmation")[-1]["body"])
        return self.sns.confirm_subscription(TopicArn=topic, Token=conf["Token"])["SubscriptionArn"], conf


# ------------------------------------------------------------ signatures
class SnsSignatures(SnsCase):
    def test_http_messages_are_signed_v1_and_v2(self):
        srv = hook(self)
        sns = self.sns
        arn = sns.create_topic(Name="signed")["TopicArn"]
        sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=srv.url)
        self.assertEventually(lambda: of_kind(srv, "SubscriptionConfirmation"), 20)
        conf = json.loads(of_kind(srv, "SubscriptionConfirmation")[0]["body"])
        for k in ("Type", "MessageId", "Token", "TopicArn", "Message", "SubscribeURL", "Timestamp",
                  "SignatureVersion", "Signature", "SigningCertURL"):
            self.assertIn(k, conf)
        self.assertEqual(conf["SignatureVersion"], "1")
        self.assertTrue(conf["SigningCertURL"].startswith(self.broker.url + "/SimpleNotificationService-"))
        self.assertTrue(conf["SigningCertURL"].endswith(".pem"))
        cert = fetch(conf["SigningCertURL"])
        self.assertTrue(cert.startswith(b"-----BEGIN CERTIFICATE-----"))
        self.assertTrue(openssl_verify(self, conf, cert))
        # the certificate is a self-signed X.509 certificate OpenSSL reads
        d = self.tmpdir("cert")
        with open(os.path.join(d, "c.pem"), "wb") as f:
            f.write(cert)
        txt = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", os.path.join(d, "c.pem")],
                             stdout=subprocess.PIPE, check=True).stdout.decode()
        self.assertIn("rsaEncryption", txt)
        self.assertIn("Public-Key: (2048 bit)", txt)
        # confirm by visiting SubscribeURL, as an endpoint does
        fetch(conf["SubscribeURL"])
        sub = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"][0]["SubscriptionArn"]
        self.assertTrue(sub.startswith(arn + ":"))

        sns.publish(TopicArn=arn, Message="with subject", Subject="hello",
                    MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
        sns.publish(TopicArn=arn, Message="no subject\nand a newline")
        self.assertEventually(lambda: len(of_kind(srv, "Notification")) >= 2, 20)
        for c in of_kind(srv, "Notification"):
            n = json.loads(c["body"])
            self.assertEqual(n["SignatureVersion"], "1")
            self.assertEqual(n["SigningCertURL"], conf["SigningCertURL"])
            self.assertTrue(openssl_verify(self, n, cert), n)
            tampered = dict(n, Message=n["Message"] + "!")
            self.assertFalse(openssl_verify(self, tampered, cert))
        self.assertEqual({json.loads(c["body"]).get("Subject") for c in of_kind(srv, "Notification")},
                         {"hello", None})

        # SignatureVersion 2 (SHA256withRSA), set with the aws CLI
        self.aws("sns", "set-topic-attributes", "--topic-arn", arn, "--attribute-name", "SignatureVersion",
                 "--attribute-value", "2", check=True)
        r = self.aws("sns", "get-topic-attributes", "--topic-arn", arn, check=True)
        self.assertEqual(r.json["Attributes"]["SignatureVersion"], "2")
        sns.publish(TopicArn=arn, Message="v2", Subject="s2")
        self.assertEventually(lambda: len(of_kind(srv, "Notification")) >= 3, 20)
        n = json.loads(of_kind(srv, "Notification")[2]["body"])
        self.assertEqual(n["SignatureVersion"], "2")
        self.assertTrue(openssl_verify(self, n, cert))
        self.assertFalse(openssl_verify(self, n, cert, digest="-sha1"))

        # Unsubscribe: a signed UnsubscribeConfirmation whose SubscribeURL restores the subscription
        sns.unsubscribe(SubscriptionArn=sub)
        self.assertEqual(sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"], [])
        self.assertEventually(lambda: of_kind(srv, "UnsubscribeConfirmation"), 20)
        un = json.loads(of_kind(srv, "UnsubscribeConfirmation")[0]["body"])
        self.assertEqual(un["Type"], "UnsubscribeConfirmation")
        self.assertEqual(un["SignatureVersion"], "2")
        self.assertIn(sub, un["Message"])
        self.assertTrue(un["Token"])
        self.assertTrue(openssl_verify(self, un, cert))
        sns.publish(TopicArn=arn, Message="while unsubscribed")
        fetch(un["SubscribeURL"])
        subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        self.assertEqual([s["SubscriptionArn"] for s in subs], [sub])
        sns.publish(TopicArn=arn, Message="restored")
        self.assertEventually(lambda: len(of_kind(srv, "Notification")) >= 4, 20)
        self.assertEqual([json.loads(c["body"])["Message"] for c in of_kind(srv, "Notification")][3:],
                         ["restored"])
        # the token now names the restored subscription: confirming again is idempotent
        self.assertEqual(sns.confirm_subscription(TopicArn=arn, Token=un["Token"])["SubscriptionArn"], sub)
        self.assertEqual(len(sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]), 1)

    def test_sqs_envelope_is_signed_raw_delivery_is_not(self):
        sns, sqs = self.sns, self.sqs
        arn = sns.create_topic(Name="to-queues", Attributes={"SignatureVersion": "2"})["TopicArn"]
        env_url = sqs.create_queue(QueueName="env")["QueueUrl"]
        raw_url = sqs.create_queue(QueueName="raw")["QueueUrl"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn("env"))
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn("raw"), Attributes={"RawMessageDelivery": "true"})
        sns.publish(TopicArn=arn, Message='{"order": 1}', Subject="orders")
        m = self.assertEventually(lambda: sqs.receive_message(QueueUrl=env_url, WaitTimeSeconds=1).get("Messages"))
        env = json.loads(m[0]["Body"])
        self.assertEqual(env["SignatureVersion"], "2")
        cert = fetch(env["SigningCertURL"])
        self.assertTrue(openssl_verify(self, env, cert))
        self.assertTrue(env["UnsubscribeURL"].startswith(self.broker.url + "/?Action=Unsubscribe"))
        r = self.assertEventually(lambda: sqs.receive_message(QueueUrl=raw_url, WaitTimeSeconds=1).get("Messages"))
        self.assertEqual(r[0]["Body"], '{"order": 1}')  # raw: the message itself, no signature
        sqs.purge_queue(QueueUrl=raw_url)
        # PublishBatch entries and a per-protocol message (MessageStructure=json) are signed too
        sqs.delete_message(QueueUrl=env_url, ReceiptHandle=m[0]["ReceiptHandle"])
        sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[
            {"Id": "a", "Message": "first"}, {"Id": "b", "Message": "second", "Subject": "two"}])
        sns.publish(TopicArn=arn, MessageStructure="json",
                    Message=json.dumps({"default": "for everyone", "sqs": "for queues"}))
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 3 and time.monotonic() < deadline:
            for x in sqs.receive_message(QueueUrl=env_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                    "Messages", []):
                got.append(json.loads(x["Body"]))
        self.assertEqual(sorted(e["Message"] for e in got), ["first", "for queues", "second"])
        for e in got:
            self.assertTrue(openssl_verify(self, e, cert), e)

    def test_signature_version_values_and_one_key_per_cluster(self):
        sns = self.sns
        with self.assertRaises(sns.exceptions.InvalidParameterException) as e:
            sns.create_topic(Name="bad-sig", Attributes={"SignatureVersion": "3"})
        self.assertIn("SignatureVersion", str(e.exception))
        arn = sns.create_topic(Name="sig")["TopicArn"]
        with self.assertRaises(sns.exceptions.InvalidParameterException):
            sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="sha1")
        # a second broker on the same database signs with the same key and serves the same certificate
        b2 = self.start_broker()
        self.assertEqual(harness.psql_value("SELECT count(*) FROM sy_topic_signing", db=self.db), "1")
        srv = hook(self)
        sns2 = self.client("sns", broker=b2)
        sns2.subscribe(TopicArn=arn, Protocol="http", Endpoint=srv.url)
        self.assertEventually(lambda: of_kind(srv, "SubscriptionConfirmation"), 20)
        conf = json.loads(of_kind(srv, "SubscriptionConfirmation")[0]["body"])
        path = conf["SigningCertURL"][len(b2.url):]
        cert1 = self.broker.http("GET", path)[2]
        cert2 = b2.http("GET", path)[2]
        self.assertEqual(cert1, cert2)
        self.assertTrue(openssl_verify(self, conf, cert1))
        self.assertEqual(self.broker.http("GET", "/SimpleNotificationService-0000.pem")[0], 404)


class SnsSignaturesValidator(SnsCase):
    """AWS's npm validator, as a Node.js subscriber runs it: it fetches the
    certificate over HTTPS from a host it trusts, so the broker sits behind
    an HTTPS front (--public-url), as AWS's endpoints are HTTPS; the broker
    checks SigV4 (--credentials) and still serves the certificate to anyone."""

    START_BROKER = False

    def https_front(self):
        """An HTTPS server that forwards GETs to srv.backend (a port)."""
        d = self.tmpdir("tls")
        key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                        "-days", "1", "-subj", "/CN=127.0.0.1"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)

        class Front(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.server.backend, self.path),
                                                timeout=10) as r:
                        status, body = r.status, r.read()
                except urllib.error.HTTPError as e:
                    status, body = e.code, e.read()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Front)
        srv.backend = 0
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        return srv

    def test_sns_validator_accepts_switchyard_messages(self):
        node = shutil.which("node")
        self.assertTrue(node and os.path.isdir(os.path.join(VALIDATOR_DIR, "node_modules", "sns-validator")),
                        "run scripts/install-deps (nodejs and npm ci in tests/e2e/sns_validator)")
        creds = os.path.join(self.tmpdir("creds"), "credentials")
        with open(creds, "w") as f:
            f.write("test test\n")
        front = self.https_front()
        self.broker = self.start_broker(extra_args=("--public-url", "https://127.0.0.1:%d" % front.server_address[1],
                                                    "--credentials", creds))
        front.backend = self.broker.port
        self.sns = self.client("sns")
        sns = self.client("sns")
        # SigV4 is on: an unsigned API request is refused, the certificate is not (checked by the validator)
        self.assertEqual(self.broker.http("GET", "/?Action=ListTopics&Version=2010-03-31")[0], 403)
        srv = hook(self)
        arn = sns.create_topic(Name="validated")["TopicArn"]
        sub, conf = self.subscribe_http(srv, arn)
        self.assertTrue(conf["SigningCertURL"].startswith("https://127.0.0.1:%d/" % front.server_address[1]))
        cert_path = conf["SigningCertURL"].split("/", 3)[3]
        self.assertEqual(self.broker.http("GET", "/" + cert_path)[0], 200)
        sns.publish(TopicArn=arn, Message="v1 message", Subject="subject")
        sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2")
        sns.publish(TopicArn=arn, Message="v2 message")
        self.assertEventually(lambda: len(of_kind(srv, "Notification")) >= 2, 20)
        sns.unsubscribe(SubscriptionArn=sub)
        self.assertEventually(lambda: of_kind(srv, "UnsubscribeConfirmation"), 20)
        # sns-validator 0.3.5 signs an UnsubscribeConfirmation with the Notification field list (no
        # Token), against AWS's documentation (which the broker follows): it is checked with OpenSSL
        unsub = json.loads(of_kind(srv, "UnsubscribeConfirmation")[0]["body"])
        self.assertTrue(openssl_verify(self, unsub, fetch_unverified(unsub["SigningCertURL"])))
        msgs = [of_kind(srv, "SubscriptionConfirmation")[0]["body"]] + \
               [c["body"] for c in of_kind(srv, "Notification")[:2]]
        bad = json.loads(msgs[1])
        bad["Message"] = "forged"
        bad2 = json.loads(msgs[2])
        bad2["SignatureVersion"] = "1"  # a v2 signature checked as v1
        lines = [json.dumps(json.loads(m)) for m in msgs] + [json.dumps(bad), json.dumps(bad2)]
        p = subprocess.run([node, os.path.join(VALIDATOR_DIR, "validate.js"), r"^127\.0\.0\.1:[0-9]+$"],
                           input="\n".join(lines) + "\n", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=60,
                           env=dict(os.environ, NODE_TLS_REJECT_UNAUTHORIZED="0"))
        self.assertEqual(p.returncode, 0, p.stderr)
        verdicts = p.stdout.splitlines()
        self.assertEqual(verdicts[:3], ["ok", "ok", "ok"], (verdicts, p.stderr))
        self.assertEqual(len(verdicts), 5)
        self.assertTrue(verdicts[3].startswith("error"), verdicts)
        self.assertTrue(verdicts[4].startswith("error"), verdicts)
        self.assertEqual([json.loads(m)["SignatureVersion"] for m in msgs], ["1", "1", "2"])


# ------------------------------------------------------------ DeliveryPolicy
def retry_policy(**kw):
    p = {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 2}
    p.update(kw)
    return p


class SnsDeliveryPolicy(SnsCase):
    def test_policy_validation_and_effective_policy(self):
        sns = self.sns
        bad_sub = [
            ({"healthyRetryPolicy": {"minDelayTarget": 0, "maxDelayTarget": 5, "numRetries": 3}},
             "healthyRetryPolicy.minDelayTarget must be greater than or equal to 1"),
            ({"healthyRetryPolicy": {"minDelayTarget": 5, "maxDelayTarget": 2, "numRetries": 3}},
             "healthyRetryPolicy.maxDelayTarget must be greater than or equal to minDelayTarget"),
            ({"healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 4000, "numRetries": 3}},
             "healthyRetryPolicy.maxDelayTarget must be less than or equal to 3600"),
            ({"healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 101}},
             "healthyRetryPolicy.numRetries must be less than or equal to 100"),
            ({"healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 2}},
             "healthyRetryPolicy.numRetries must be specified"),
            ({"healthyRetryPolicy": retry_policy(numNoDelayRetries=2, numMinDelayRetries=1)},
             "numRetries must be greater than or equal to total of"),
            ({"healthyRetryPolicy": retry_policy(backoffFunction="cubic")}, "backoffFunction must be one of"),
            ({"healthyRetryPolicy": retry_policy(numRetries=100, minDelayTarget=60, maxDelayTarget=60)},
             "total retry time"),
            ({"throttlePolicy": {"maxReceivesPerSecond": 0}},
             "throttlePolicy.maxReceivesPerSecond must be greater than or equal to 1"),
            ({"requestPolicy": {"headerContentType": "image/png"}}, "requestPolicy.headerContentType"),
            ({"healthyRetryPolicy": retry_policy(numRetries="3")}, "numRetries must be an integer"),
        ]
        arn = sns.create_topic(Name="policies")["TopicArn"]
        srv = hook(self)
        for policy, message in bad_sub:
            with self.assertRaises(sns.exceptions.InvalidParameterException) as e:
                sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=srv.url,
                              Attributes={"DeliveryPolicy": json.dumps(policy)})
            self.assertIn("Invalid parameter: Attributes Reason: DeliveryPolicy: ", str(e.exception))
            self.assertIn(message, str(e.exception))
        with self.assertRaises(sns.exceptions.InvalidParameterException):
            sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=srv.url, Attributes={"DeliveryPolicy": "{nope"})
        self.assertEqual(sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"], [])  # nothing changed
        with self.assertRaises(sns.exceptions.InvalidParameterException) as e:
            sns.create_topic(Name="bad-policy", Attributes={"DeliveryPolicy": json.dumps(
                {"http": {"defaultHealthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1}}})})
        self.assertIn("http.defaultHealthyRetryPolicy.numRetries must be specified", str(e.exception))
        with self.assertRaises(sns.exceptions.InvalidParameterException) as e:
            sns.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(
                {"http": {"disableSubscriptionOverrides": "yes"}}))
        self.assertIn("DeliveryPolicy: http.disableSubscriptionOverrides", str(e.exception))
        self.assertNotIn("DeliveryPolicy", sns.get_topic_attributes(TopicArn=arn)["Attributes"])

        # defaults, then the topic's, then the subscription's own
        eff = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["EffectiveDeliveryPolicy"])
        self.assertEqual(eff["http"]["defaultHealthyRetryPolicy"]["numRetries"], 3)
        self.assertEqual(eff["http"]["defaultHealthyRetryPolicy"]["minDelayTarget"], 20)
        topic_policy = {"http": {"defaultHealthyRetryPolicy": retry_policy(numRetries=7, maxDelayTarget=9,
                                                                           backoffFunction="geometric"),
                                 "defaultThrottlePolicy": {"maxReceivesPerSecond": 5}}}
        sns.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(topic_policy))
        a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        self.assertEqual(json.loads(a["DeliveryPolicy"]), topic_policy)
        eff = json.loads(a["EffectiveDeliveryPolicy"])["http"]
        self.assertEqual(eff["defaultHealthyRetryPolicy"]["numRetries"], 7)
        self.assertEqual(eff["defaultHealthyRetryPolicy"]["backoffFunction"], "geometric")
        self.assertEqual(eff["defaultThrottlePolicy"], {"maxReceivesPerSecond": 5})
        sub, _ = self.subscribe_http(srv, arn)
        sa = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
        se = json.loads(sa["EffectiveDeliveryPolicy"])
        self.assertEqual(se["healthyRetryPolicy"]["numRetries"], 7)
        self.assertEqual(se["throttlePolicy"], {"maxReceivesPerSecond": 5})
        own = {"healthyRetryPolicy": retry_policy(numRetries=4, backoffFunction="exponential", maxDelayTarget=30),
               "requestPolicy": {"headerContentType": "application/json; charset=UTF-8"}}
        sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="DeliveryPolicy",
                                        AttributeValue=json.dumps(own))
        with self.assertRaises(sns.exceptions.InvalidParameterException) as e:
            sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="DeliveryPolicy",
                                            AttributeValue=json.dumps({"healthyRetryPolicy": {"numRetries": 1}}))
        self.assertIn("Invalid parameter: DeliveryPolicy: healthyRetryPolicy.minDelayTarget must be specified",
                      str(e.exception))
        sa = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
        self.assertEqual(json.loads(sa["DeliveryPolicy"]), own)
        se = json.loads(sa["EffectiveDeliveryPolicy"])
        self.assertEqual(se["healthyRetryPolicy"]["numRetries"], 4)
        self.assertEqual(se["healthyRetryPolicy"]["backoffFunction"], "exponential")
        self.assertEqual(se["requestPolicy"]["headerContentType"], "application/json; charset=UTF-8")
        self.assertEqual(se["throttlePolicy"], {"maxReceivesPerSecond": 5})  # from the topic
        # disableSubscriptionOverrides: the topic's policy wins
        topic_policy["http"]["disableSubscriptionOverrides"] = True
        sns.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(topic_policy))
        se = json.loads(sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["EffectiveDeliveryPolicy"])
        self.assertEqual(se["healthyRetryPolicy"]["numRetries"], 7)
        # the aws CLI shows the same
        r = self.aws("sns", "get-subscription-attributes", "--subscription-arn", sub, check=True)
        self.assertEqual(json.loads(r.json["Attributes"]["EffectiveDeliveryPolicy"])["healthyRetryPolicy"]
                         ["numRetries"], 7)

    def test_retry_schedule_follows_the_policy_then_dead_letter_queue(self):
        sns, sqs = self.sns, self.sqs
        srv = hook(self, fail_always=True)
        dlq_url = sqs.create_queue(QueueName="http-dlq")["QueueUrl"]
        arn = sns.create_topic(Name="retries")["TopicArn"]
        # 5 retries: 1 without delay, 1 at minDelayTarget, 2 on the linear curve (2 s, 3 s), 1 at maxDelayTarget
        policy = {"healthyRetryPolicy": {"numRetries": 5, "numNoDelayRetries": 1, "numMinDelayRetries": 1,
                                         "numMaxDelayRetries": 1, "minDelayTarget": 1, "maxDelayTarget": 3,
                                         "backoffFunction": "linear"},
                  "requestPolicy": {"headerContentType": "application/json"}}
        self.subscribe_http(srv, arn, {"DeliveryPolicy": json.dumps(policy),
                                       "RedrivePolicy": json.dumps({"deadLetterTargetArn": qarn("http-dlq")})})
        mid = sns.publish(TopicArn=arn, Message="keeps failing")["MessageId"]
        got = self.assertEventually(lambda: sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1)
                                    .get("Messages"), 60)
        self.assertEqual(json.loads(got[0]["Body"])["MessageId"], mid)
        tries = of_kind(srv, "Notification")
        self.assertEqual(len(tries), 6)  # the first attempt and numRetries
        gaps = [b["t"] - a["t"] for a, b in zip(tries, tries[1:])]
        for gap, want in zip(gaps, [0, 1, 2, 3, 3]):
            self.assertGreaterEqual(gap, want - 0.25, gaps)
            self.assertLess(gap, want + 1.0, gaps)
        self.assertTrue(all(c["headers"]["Content-Type"] == "application/json" for c in tries))
        time.sleep(1.5)
        self.assertEqual(len(of_kind(srv, "Notification")), 6)  # nothing after the dead-letter queue

    def test_throttle_policy(self):
        sns = self.sns
        srv = hook(self)
        arn = sns.create_topic(Name="throttled", Attributes={"DeliveryPolicy": json.dumps(
            {"http": {"defaultThrottlePolicy": {"maxReceivesPerSecond": 2}}})})["TopicArn"]
        self.subscribe_http(srv, arn)
        sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[
            {"Id": "m%d" % i, "Message": "m%d" % i} for i in range(6)])
        self.assertEventually(lambda: len(of_kind(srv, "Notification")) >= 6, 20)
        ts = [c["t"] for c in of_kind(srv, "Notification")]
        self.assertGreaterEqual(ts[-1] - ts[0], 2.3)  # 6 deliveries at 2 a second: at least 2.5 s apart
        self.assertEqual(sorted(json.loads(c["body"])["Message"] for c in of_kind(srv, "Notification")),
                         ["m%d" % i for i in range(6)])
        self.assertTrue(of_kind(srv, "Notification")[0]["headers"]["Content-Type"].startswith("text/plain"))

    def test_pending_retry_survives_kill9(self):
        sns = self.sns
        srv = hook(self, fail_first=1)
        arn = sns.create_topic(Name="durable-retry")["TopicArn"]
        self.subscribe_http(srv, arn, {"DeliveryPolicy": json.dumps(
            {"healthyRetryPolicy": retry_policy(numRetries=3, minDelayTarget=6, maxDelayTarget=6)})})
        mid = sns.publish(TopicArn=arn, Message="survive")["MessageId"]
        self.assertEventually(lambda: of_kind(srv, "Notification"), 20)
        first = of_kind(srv, "Notification")[0]["t"]
        time.sleep(0.5)  # the retry is scheduled (the row's visibility) right after the failed POST
        self.broker.kill9()
        self.broker.restart()
        self.assertEventually(lambda: len(of_kind(srv, "Notification")) >= 2, 40)
        second = of_kind(srv, "Notification")[1]
        self.assertGreaterEqual(second["t"] - first, 5.5)
        self.assertEqual(json.loads(second["body"])["MessageId"], mid)
        time.sleep(2)
        self.assertEqual(len(of_kind(srv, "Notification")), 2)  # delivered: no more retries


# ------------------------------------------------------------ CreateTopic
class SnsCreateTopic(SnsCase):
    def test_existing_name_same_or_different_attributes(self):
        sns = self.sns
        attrs = {"DisplayName": "Orders", "SignatureVersion": "2"}
        arn = sns.create_topic(Name="orders", Attributes=attrs, Tags=[{"Key": "team", "Value": "a"}])["TopicArn"]
        self.assertEqual(sns.create_topic(Name="orders", Attributes=attrs)["TopicArn"], arn)
        self.assertEqual(sns.create_topic(Name="orders")["TopicArn"], arn)
        self.assertEqual(sns.create_topic(Name="orders", Attributes={"DisplayName": "Orders"},
                                          Tags=[{"Key": "team", "Value": "a"}])["TopicArn"], arn)
        with self.assertRaises(sns.exceptions.InvalidParameterException) as e:
            sns.create_topic(Name="orders", Attributes={"DisplayName": "Other"})
        self.assertEqual(e.exception.response["Error"]["Message"],
                         "Invalid parameter: Attributes Reason: Topic already exists with different attributes")
        with self.assertRaises(sns.exceptions.InvalidParameterException):
            sns.create_topic(Name="orders", Attributes={"SignatureVersion": "1"})
        with self.assertRaises(sns.exceptions.InvalidParameterException) as e:
            sns.create_topic(Name="orders", Tags=[{"Key": "team", "Value": "b"}])
        self.assertEqual(e.exception.response["Error"]["Message"],
                         "Invalid parameter: Tags Reason: Topic already exists with different tags")
        # nothing changed
        a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        self.assertEqual((a["DisplayName"], a["SignatureVersion"]), ("Orders", "2"))
        self.assertEqual(sns.list_tags_for_resource(ResourceArn=arn)["Tags"], [{"Key": "team", "Value": "a"}])
        # a FIFO topic: its own attributes compare case-insensitively as booleans
        f = sns.create_topic(Name="o.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
        self.assertEqual(sns.create_topic(Name="o.fifo", Attributes={"FifoTopic": "true",
                                                                      "ContentBasedDeduplication": "false"})
                         ["TopicArn"], f)
        with self.assertRaises(sns.exceptions.InvalidParameterException):
            sns.create_topic(Name="o.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})
        r = self.aws("sns", "create-topic", "--name", "orders", "--attributes", "DisplayName=Else")
        self.assertNotEqual(r.rc, 0)
        self.assertIn("Topic already exists with different attributes", r.stderr)
        r = self.aws("sns", "create-topic", "--name", "orders", "--attributes", "DisplayName=Orders", check=True)
        self.assertEqual(r.json["TopicArn"], arn)


# ------------------------------------------------------------ group commit
class SnsGroupCommit(SnsCase):
    def metric(self, name):
        body = self.broker.http("GET", "/metrics")[2].decode()
        total = 0.0
        for line in body.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def test_concurrent_publishes_share_transactions(self):
        sns, sqs = self.sns, self.sqs
        arn = sns.create_topic(Name="busy")["TopicArn"]
        url = sqs.create_queue(QueueName="busy-q")["QueueUrl"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn("busy-q"), Attributes={"RawMessageDelivery": "true"})
        jobs0, batches0 = self.metric("switchyard_group_commit_jobs_total"), \
            self.metric("switchyard_group_commit_batches_total")
        errors = []

        def publisher(k):
            c = self.client("sns")
            try:
                for i in range(10):
                    c.publish(TopicArn=arn, Message="p%d-%d" % (k, i))
                c.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[
                    {"Id": "e%d" % i, "Message": "b%d-%d" % (k, i)} for i in range(5)])
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=publisher, args=(k,)) for k in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        jobs = self.metric("switchyard_group_commit_jobs_total") - jobs0
        batches = self.metric("switchyard_group_commit_batches_total") - batches0
        self.assertGreaterEqual(jobs, 12 * 15)  # every publish and batch entry went through the group commit
        self.assertLess(batches, jobs)  # and some shared a transaction
        bodies = set()
        deadline = time.monotonic() + 30
        while len(bodies) < 12 * 15 and time.monotonic() < deadline:
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                bodies.add(m["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        self.assertEqual(bodies, {"p%d-%d" % (k, i) for k in range(12) for i in range(10)} |
                         {"b%d-%d" % (k, i) for k in range(12) for i in range(5)})
