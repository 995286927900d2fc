"""The web console (issue 16) driven in headless Chromium against a real
broker on the fixture PostgreSQL. The data is made with boto3 (and a real
worker running the food-delivery example's C handlers); drive.mjs
(playwright-core, Debian's /usr/bin/chromium) opens every page and reports
what it shows; the assertions here compare that with what boto3 made and
check the broker's side (a refused write changed nothing, a redrive moved
the messages). Screenshots: <build>/console-artifacts/<test>/<page>.png.
"""

import json
import os
import subprocess
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = "/usr/bin/chromium"
ACCOUNT, REGION = harness.ACCOUNT, harness.REGION
EXAMPLE = os.path.join(harness.SOURCE_DIR, "examples", "food-delivery")
HANDLERS = os.path.join(harness.BUILD_DIR, "examples", "food-delivery", "libfooddelivery.so")
ROLE = "arn:aws:iam::%s:role/console" % ACCOUNT


def arn(service, resource):
    return "arn:aws:%s:%s:%s:%s" % (service, REGION, ACCOUNT, resource)


class ConsoleCase(harness.SwitchyardTestCase):
    START_BROKER = False

    def setUp(self):
        super().setUp()
        for need, what in ((CHROMIUM, "Debian's chromium"),
                           (os.path.join(HERE, "node_modules", "playwright-core"), "npm ci in tests/console")):
            if not os.path.exists(need):
                self.fail("%s is missing (%s): run scripts/install-deps" % (need, what))
        self.artifacts = os.path.join(harness.BUILD_DIR, "console-artifacts", self._testMethodName)
        os.makedirs(self.artifacts, exist_ok=True)

    def drive(self, scenario, params, timeout=300):
        p = subprocess.run(["node", os.path.join(HERE, "drive.mjs"), scenario, self.broker.url, self.artifacts,
                            json.dumps(params)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           cwd=HERE, env=dict(os.environ, HOME=self.tmpdir("home")))
        out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        if p.returncode != 0:
            self.fail("drive.mjs %s failed (screenshots in %s):\n%s\n%s" % (scenario, self.artifacts, err[-6000:],
                                                                           out[-2000:]))
        return json.loads(out.strip().splitlines()[-1])

    def count(self, sqs, url, attr="ApproximateNumberOfMessages"):
        return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[attr])["Attributes"][attr])

    def fill_dlq(self, sqs, src, dlq, n):
        d = sqs.create_queue(QueueName=dlq)["QueueUrl"]
        s = sqs.create_queue(QueueName=src, Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": arn("sqs", dlq), "maxReceiveCount": "1"})})["QueueUrl"]
        for i in range(n):
            sqs.send_message(QueueUrl=s, MessageBody="m%d" % i)

        def moved():  # the receive after the first moves a message to the DLQ
            for m in sqs.receive_message(QueueUrl=s, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", []):
                sqs.change_message_visibility(QueueUrl=s, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
            return self.count(sqs, d) == n
        self.assertEventually(moved, timeout=30)
        return s, d


class ConsolePages(ConsoleCase):
    """Every page shows the data boto3 made; the graph; the failed payment;
    read-only mode refuses the console's writes."""

    def test_pages_show_real_data(self):
        self.broker = self.start_broker()
        if not os.path.exists(HANDLERS):
            self.fail("the example's handlers are not built: %s" % HANDLERS)
        sqs, sns, events, lam, sfn = (self.client(s) for s in ("sqs", "sns", "events", "lambda", "stepfunctions"))
        # queues: orders with a DLQ; two visible messages and a delayed one
        sqs.create_queue(QueueName="orders-dlq")
        orders = sqs.create_queue(QueueName="orders", Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": arn("sqs", "orders-dlq"), "maxReceiveCount": "3"})})["QueueUrl"]
        sqs.send_message(QueueUrl=orders, MessageBody=json.dumps({"order_id": "o-1", "total": 24.5}))
        sqs.send_message(QueueUrl=orders, MessageBody=json.dumps({"order_id": "o-2", "total": 12}),
                         MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}})
        sqs.send_message(QueueUrl=orders, MessageBody="later", DelaySeconds=600)
        # a topic with three subscriptions, two of them filtered
        topic = sns.create_topic(Name="order-events")["TopicArn"]
        for q, policy in (("order-audit", None), ("order-kitchen", {"kind": ["order"]}), ("order-refunds", {"kind": ["refund"]})):
            sqs.create_queue(QueueName=q)
            attrs = {"FilterPolicy": json.dumps(policy)} if policy else {}
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn("sqs", q), Attributes=attrs)
        # a bus, a rule with a target, an archive
        bus_arn = events.create_event_bus(Name="orders-bus")["EventBusArn"]
        pattern = {"source": ["food.delivery"], "detail": {"total": [{"numeric": [">", 100]}]}}
        events.put_rule(Name="big-orders", EventBusName="orders-bus", EventPattern=json.dumps(pattern))
        events.put_targets(Rule="big-orders", EventBusName="orders-bus",
                           Targets=[{"Id": "audit", "Arn": arn("sqs", "order-audit")}])
        events.create_archive(ArchiveName="orders-archive", EventSourceArn=bus_arn)
        # functions and a worker running the example's C handlers
        fns = ("charge-payment", "notify-restaurant", "dispatch-courier", "refund-payment", "cancel-restaurant")
        for f in fns:
            lam.create_function(FunctionName=f, Runtime="provided.al2023", Role=ROLE, Handler="handler",
                                Code={"ZipFile": b"x"}, Timeout=5)
        self.start_worker("--broker", self.broker.worker_endpoint, "--concurrency", "2",
                          *sum((["--function", "%s=so:%s:%s" % (f, HANDLERS, f.replace("-", "_"))] for f in fns), []))
        # the food-delivery workflow; an order whose card is declined fails at the payment step
        with open(os.path.join(EXAMPLE, "order-workflow.asl.json")) as fh:
            definition = fh.read()
        sm = sfn.create_state_machine(name="order-workflow", definition=definition, roleArn=ROLE)["stateMachineArn"]
        failed = sfn.start_execution(stateMachineArn=sm, name="declined-1", input=json.dumps(
            {"order_id": "declined-1", "customer": {"name": "Ada", "phone": "+15550101"}, "restaurant": "Pizza Roma",
             "items": [{"sku": "margherita", "qty": 2}], "total": 31, "fulfilment": "delivery",
             "address": {"zone": "centre", "street": "1 Main St"}, "card": "tok_declined"}))["executionArn"]
        self.assertEventually(lambda: sfn.describe_execution(executionArn=failed)["status"] == "FAILED", timeout=60)
        ex = sfn.describe_execution(executionArn=failed)
        self.assertEqual(ex["error"], "PaymentDeclined")
        # a second machine: a Map iterator (nested) and a loop (a back edge), run to success
        looped = {"StartAt": "Init", "States": {
            "Init": {"Type": "Pass", "Result": {"n": 0, "items": [1, 2, 3]}, "Next": "EachItem"},
            "EachItem": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.doubled",
                         "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Double", "States": {
                             "Double": {"Type": "Pass", "End": True}}}, "Next": "Count"},
            "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)", "items.$": "$.items"},
                      "Next": "Again"},
            "Again": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 2, "Next": "EachItem"}],
                      "Default": "Done"},
            "Done": {"Type": "Succeed"}}}
        sm2 = sfn.create_state_machine(name="looped-map", definition=json.dumps(looped), roleArn=ROLE)["stateMachineArn"]
        ok = sfn.start_execution(stateMachineArn=sm2, name="ok-1")["executionArn"]
        self.assertEventually(lambda: sfn.describe_execution(executionArn=ok)["status"] == "SUCCEEDED", timeout=60)

        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        event = {"version": "0", "id": "e-1", "detail-type": "OrderPlaced", "source": "food.delivery",
                 "account": ACCOUNT, "time": now, "region": REGION, "resources": [], "detail": {"total": 150}}
        small = dict(event, detail={"total": 20})
        seen = self.drive("pages", {
            "queue": "orders", "dlq": "orders-dlq", "topicArn": topic, "bus": "orders-bus", "rule": "big-orders",
            "matchingEvent": event, "otherEvent": small, "machineArn": sm, "failedExecutionArn": failed,
            "paymentState": "ChargePayment", "loopMachineArn": sm2, "loopExecutionArn": ok})

        # overview: counts per service
        o = seen["overview"]
        self.assertEqual(o["queues"], "5")  # orders, orders-dlq, order-audit, order-kitchen, order-refunds
        self.assertEqual(o["topics"], "1")
        self.assertEqual(o["buses"], "2")  # default and orders-bus
        self.assertEqual(o["functions"], "5")
        self.assertEqual(o["machines"], "2")
        self.assertIn("failed\n1", o["stateMachinesCard"])
        self.assertIn("succeeded\n1", o["stateMachinesCard"])
        self.assertGreaterEqual(seen["sparkPoints"], 3)
        self.assertEqual([h > 1 for h in seen["sparkHeights"]], [True, True])  # requests and errors both moved
        # queues: counts and the DLQ column
        rows = {r[0]: r for r in seen["queues"]}
        self.assertEqual(sorted(rows), ["order-audit", "order-kitchen", "order-refunds", "orders", "orders-dlq"])
        self.assertEqual(rows["orders"][1:4], ["2", "0", "1"])
        self.assertIn("orders-dlq", rows["orders"][5])
        self.assertEqual(seen["queueCounts"], {"Visible": "2", "In flight": "0", "Delayed": "1",
                                               "Oldest message": seen["queueCounts"]["Oldest message"]})
        # peek: all three, oldest first, nothing received
        self.assertEqual(len(seen["peek"]), 3)
        self.assertIn("o-1", seen["peek"][0][4])
        self.assertEqual([r[1].split(" ")[0] for r in seen["peek"]], ["visible", "visible", "delayed"])
        self.assertEqual([r[2] for r in seen["peek"]], ["0", "0", "0"])
        self.assertIn("AccessDenied", seen["sendRefused"])
        self.assertEqual(self.count(sqs, orders), 2)  # the refused send changed nothing
        self.assertEqual(self.count(sqs, orders, "ApproximateNumberOfMessagesNotVisible"), 0)  # peek leased nothing
        self.assertIn("Dead-letter queue of", seen["dlqPanel"])
        self.assertIn("orders", seen["dlqPanel"])
        # topics: filter policies pretty-printed; which would match
        self.assertEqual([r[0] for r in seen["topics"]], ["order-events"])
        self.assertEqual(seen["topics"][0][2], "3")
        self.assertIn("2 of 3 subscriptions", seen["match"])
        subs = {r[1].split(":")[-1]: r for r in seen["subscriptions"]}
        self.assertEqual(set(subs), {"order-audit", "order-kitchen", "order-refunds"})
        self.assertIn('"kind": [\n    "order"\n  ]', subs["order-kitchen"][2])
        self.assertTrue(subs["order-kitchen"][3].startswith("match"))
        self.assertTrue(subs["order-audit"][3].startswith("match"))
        self.assertTrue(subs["order-refunds"][3].startswith("no match"))
        # buses, rules, TestEventPattern, archives
        self.assertEqual(sorted(seen["buses"]), ["default", "orders-bus"])
        self.assertIn("orders-archive", seen["archives"])
        self.assertEqual(seen["rules"][0][0], "big-orders")
        self.assertIn('"numeric"', seen["rules"][0][2])
        self.assertIn(arn("sqs", "order-audit"), seen["targets"])
        self.assertEqual(seen["testMatching"], "true")
        self.assertEqual(seen["testOther"], "false")
        # functions and the connected worker
        self.assertEqual(sorted(seen["functions"]), sorted(fns))
        for f in fns:
            self.assertIn(f, seen["workers"])
        self.assertIn("PaymentDeclined", seen["workers"])  # its recent errors
        # the state machine's graph: every state, nested where it belongs, edges of each kind
        with open(os.path.join(EXAMPLE, "order-workflow.asl.json")) as fh:
            d = json.load(fh)
        want = set()

        def walk(b):
            for n, s in b["States"].items():
                want.add(n)
                for br in s.get("Branches", []):
                    walk(br)
        walk(d)
        self.assertEqual(set(seen["graphStates"]), want)
        self.assertEqual(len(seen["graphStates"]), len(want))
        self.assertEqual(seen["nested"]["ChargePayment"], "PrepareOrder")
        self.assertEqual(seen["nested"]["RefundPayment"], "Compensate")
        self.assertIsNone(seen["nested"]["PickupOrDelivery"])
        edges = seen["graphEdges"]
        self.assertIn("DispatchCourier->Compensate:edge catch", edges)
        self.assertIn("PickupOrDelivery->HandOverAtCounter:edge choice", edges)
        self.assertIn("PickupOrDelivery->DispatchCourier:edge choice", edges)
        self.assertIn("__start->PrepareOrder:edge next", edges)
        self.assertIn("Cancelled->__end:edge next", edges)
        self.assertEqual(seen["overlaps"], 0)
        # the Map iterator drawn inside its state, the loop as a back edge, every state green
        self.assertEqual(sorted(seen["loopStates"]), ["Again", "Count", "Done", "Double", "EachItem", "Init"])
        self.assertEqual(seen["loopNested"]["Double"], "EachItem")
        self.assertIn("Again->EachItem", seen["loopBackEdges"])
        self.assertEqual(seen["loopStatus"], {n: "succeeded" for n in ("Init", "EachItem", "Double", "Count", "Again", "Done")})
        # executions filtered by status; the failed one
        self.assertEqual([r[0] for r in seen["failedExecutions"]], ["declined-1"])
        self.assertIn("failed (1)", seen["chips"])
        self.assertEqual(seen["execStatus"], "FAILED")
        self.assertIn("PaymentDeclined", seen["execError"])
        st = seen["stateStatus"]
        self.assertEqual(st["ChargePayment"], "failed")
        self.assertEqual(st["PrepareOrder"], "failed")
        self.assertIn(st["NotifyRestaurant"], ("succeeded", "cancelled"))  # the other branch: done, or cut short
        for n in ("WaitForKitchen", "PickupOrDelivery", "DispatchCourier", "Delivered", "Cancelled"):
            self.assertEqual(st[n], "not-run", n)
        self.assertEqual(seen["paymentFill"], "rgb(254, 215, 215)")  # red
        self.assertIn("PaymentDeclined", seen["paymentText"])
        self.assertIn("card declined", seen["stepPanel"])
        self.assertIn("tok_declined", seen["stepPanel"])  # the step's input
        self.assertEqual(seen["timeline"][0], "ExecutionStarted")
        self.assertEqual(seen["timeline"][-1], "ExecutionFailed")
        self.assertIn("AccessDenied", seen["redriveRefused"])
        self.assertEqual(sfn.describe_execution(executionArn=failed)["status"], "FAILED")  # not redriven
        # every request the page made carried the console's header (unsigned: no credentials configured)
        self.assertTrue(seen["requests"])
        self.assertTrue(all(r["console"] and not r["signed"] for r in seen["requests"]))


class ConsoleServing(ConsoleCase):
    """The files compiled into the binary: content types, caching, no
    traversal; and the read-only gate in every protocol's error shape."""

    def test_files_and_gate(self):
        self.broker = self.start_broker()
        b = self.broker

        def raw(path):  # sent as is: no redirect following, no client-side normalisation
            conn = harness.http.client.HTTPConnection("127.0.0.1", b.port, timeout=10)
            conn.request("GET", path)
            r = conn.getresponse()
            out = (r.status, r.getheader("Location"), r.read())
            conn.close()
            return out
        self.assertEqual(raw("/console")[:2], (301, "/console/"))
        st, hd, body = b.http("GET", "/console/")
        self.assertEqual(st, 200)
        self.assertEqual(hd["content-type"], "text/html; charset=utf-8")
        self.assertIn(b'<script type="module" src="app.js">', body)
        self.assertEqual(hd["cache-control"], "no-cache")
        self.assertIn("default-src 'self'", hd["content-security-policy"])
        self.assertEqual(hd["x-content-type-options"], "nosniff")
        with open(os.path.join(harness.SOURCE_DIR, "console", "index.html"), "rb") as f:
            self.assertEqual(body, f.read())  # the file as committed, compiled in
        etag = hd["etag"]
        st, _, body = b.http("GET", "/console/", headers={"If-None-Match": etag})
        self.assertEqual((st, body), (304, b""))
        for path, ctype in (("/console/app.js", "text/javascript; charset=utf-8"),
                            ("/console/pages/queues.js", "text/javascript; charset=utf-8"),
                            ("/console/style.css", "text/css; charset=utf-8"),
                            ("/console/favicon.svg", "image/svg+xml")):
            st, hd, _ = b.http("GET", path)
            self.assertEqual((st, hd["content-type"]), (200, ctype), path)
        for path in ("/console/../metrics", "/console/..%2f..%2fetc%2fpasswd", "/console/pages/", "/console/nope.js",
                     "/console/%2e%2e/CMakeLists.txt", "/console//etc/passwd"):
            st, _, body = raw(path)
            self.assertEqual(st, 404, path)
            self.assertNotIn(b"root:", body)
        st, _, body = b.http("GET", "/console/config.json")
        self.assertEqual(json.loads(body), {"write": False, "signed": False, "region": REGION, "account": ACCOUNT})

        sqs, sns = self.client("sqs"), self.client("sns")
        topic = sns.create_topic(Name="t")["TopicArn"]
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        console = {"X-Switchyard-Console": "1"}
        # query protocol (SNS Publish): 403 AccessDenied in XML
        st, _, body = b.http("POST", "/", body="Action=Publish&Version=2010-03-31&TopicArn=%s&Message=x" % topic,
                             headers=dict(console, **{"Content-Type": "application/x-www-form-urlencoded"}))
        self.assertEqual(st, 403)
        self.assertIn(b"<Code>AccessDenied</Code>", body)
        self.assertIn(b"sns.amazonaws.com", body)
        # JSON protocol (SQS SendMessage): 403 AccessDeniedException; nothing sent
        st, hd, body = b.http("POST", "/", body=json.dumps({"QueueUrl": url, "MessageBody": "x"}), headers=dict(
            console, **{"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage"}))
        self.assertEqual((st, json.loads(body)["__type"]), (403, "AccessDeniedException"))
        self.assertEqual(self.count(sqs, url), 0)
        # REST (Lambda): reads pass, writes do not
        st, hd, _ = b.http("POST", "/2015-03-31/functions", body="{}", headers=dict(console, **{"Content-Type": "application/json"}))
        self.assertEqual((st, hd.get("x-amzn-errortype")), (403, "AccessDeniedException"))
        st, _, _ = b.http("GET", "/2015-03-31/functions/", headers=console)
        self.assertEqual(st, 200)
        # reads pass; without the header nothing changes for SDKs
        st, _, body = b.http("POST", "/", body="{}", headers=dict(
            console, **{"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ListQueues"}))
        self.assertEqual(st, 200)
        sqs.send_message(QueueUrl=url, MessageBody="from an SDK")
        self.assertEqual(self.count(sqs, url), 1)
        # the console's endpoints: bad input gets a REST error and changes nothing
        for name, payload, code in (("queue/peek", {}, 400), ("queue/peek", {"QueueName": "q", "MaxMessages": 500}, 400),
                                    ("queue/peek", {"QueueName": "nope"}, 400), ("queue/stats", {"QueueNames": "q"}, 400),
                                    ("topic/match", {"TopicArn": topic}, 400), ("nope", {}, 404)):
            st, hd, body = b.http("POST", "/console/api/" + name, body=json.dumps(payload),
                                  headers={"Content-Type": "application/json"})
            self.assertEqual(st, code, (name, payload, body))
            self.assertTrue(hd.get("x-amzn-errortype"), (name, body))
        st, _, body = b.http("POST", "/console/api/queue/peek", body="[1]", headers={"Content-Type": "application/json"})
        self.assertEqual(st, 400)
        st, _, body = b.http("POST", "/console/api/queue/peek", body=json.dumps({"QueueName": "q"}),
                             headers={"Content-Type": "application/json"})
        self.assertEqual([m["Body"] for m in json.loads(body)["Messages"]], ["from an SDK"])
        self.assertEqual(self.count(sqs, url), 1)  # still visible: a peek is not a receive


class ConsoleRedrive(ConsoleCase):
    """A DLQ redrive started from the console moves the messages, with
    signed requests (the broker verifies SigV4) and writes enabled."""

    AKID, SECRET = "AKIDCONSOLE0001", "console/Secret+Key"

    def test_dlq_redrive_from_console(self):
        d = self.tmpdir("creds")
        path = os.path.join(d, "credentials")
        with open(path, "w") as f:
            f.write("%s %s\n%s %s\n" % (self.AKID, self.SECRET, harness.DEFAULT_KEY[0], harness.DEFAULT_KEY[1]))
        self.broker = self.start_broker(extra_args=("--credentials", path, "--console-write", "1"))
        sqs, sfn = self.client("sqs"), self.client("stepfunctions")
        src, dlq = self.fill_dlq(sqs, "work", "work-dlq", 4)
        sm = sfn.create_state_machine(name="slow", roleArn=ROLE, definition=json.dumps(
            {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 600, "End": True}}}))["stateMachineArn"]
        ex = sfn.start_execution(stateMachineArn=sm, name="napping")["executionArn"]
        self.assertEqual(self.count(sqs, src), 0)
        # unsigned, the console's endpoints are refused like every API call
        st, _, _ = self.broker.http("POST", "/console/api/queue/summary", body="{}",
                                    headers={"Content-Type": "application/json"})
        self.assertEqual(st, 403)
        seen = self.drive("redrive", {"dlq": "work-dlq", "akid": self.AKID, "secret": self.SECRET, "executionArn": ex})
        self.assertEqual(seen["before"], "4")
        self.assertIn("COMPLETED", seen["task"])
        self.assertEqual(seen["after"], "0")
        self.assertEqual(self.count(sqs, dlq), 0)
        self.assertEqual(self.count(sqs, src), 4)
        bodies = set()
        for _ in range(5):
            for m in sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10).get("Messages", []):
                bodies.add(m["Body"])
        self.assertEqual(bodies, {"m0", "m1", "m2", "m3"})
        # the execution stopped, then redriven, from the console
        self.assertEqual(seen["waitingState"], "running")
        self.assertEqual(seen["afterStop"], "ABORTED")
        # (the redriven Wait state ends at once here: see the note in docs/console.md)
        self.assertIn(seen["afterRedrive"], ("RUNNING", "SUCCEEDED"))
        d = sfn.describe_execution(executionArn=ex)
        self.assertIn(d["status"], ("RUNNING", "SUCCEEDED"))
        self.assertEqual(d.get("redriveCount", 1), 1)
        events = sfn.get_execution_history(executionArn=ex, maxResults=1000)["events"]
        self.assertIn("ExecutionAborted", [e["type"] for e in events])
        self.assertIn("ExecutionRedriven", [e["type"] for e in events])
        self.assertTrue(seen["requests"])
        self.assertTrue(all(r["signed"] and r["console"] for r in seen["requests"]), seen["requests"])


class ConsoleScale(ConsoleCase):
    """10,000 queues and 10,000 executions: the pages ask for one page at a
    time (the requests the browser made show it) and stay usable."""

    N = 10000

    def test_ten_thousand(self):
        self.broker = self.start_broker()
        sqs, sfn = self.client("sqs"), self.client("stepfunctions")
        names = ["q%05d" % i for i in range(self.N)]

        def make(chunk):
            c = self.client("sqs")
            for n in chunk:
                c.create_queue(QueueName=n)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(make, [names[i::8] for i in range(8)]))
        self.assertEqual(len(sqs.list_queues(QueueNamePrefix="q0999", MaxResults=1000)["QueueUrls"]), 10)
        sm = sfn.create_state_machine(name="tiny", roleArn=ROLE, definition=json.dumps(
            {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
        first = sfn.start_execution(stateMachineArn=sm, name="e-real")["executionArn"]
        self.assertEventually(lambda: sfn.describe_execution(executionArn=first)["status"] == "SUCCEEDED", timeout=30)
        # 9,999 more rows like the real one (StartExecution 10,000 times would time the executor, not the page)
        harness.psql(
            "INSERT INTO sy_sfn_executions (arn, machine_arn, name, type, status, input, output, definition, role_arn, "
            "start_ms, stop_ms) SELECT replace(arn, 'e-real', 'e-' || lpad(g::text, 5, '0')), machine_arn, "
            "'e-' || lpad(g::text, 5, '0'), type, CASE WHEN g %% 10 = 0 THEN 'FAILED' ELSE 'SUCCEEDED' END, input, "
            "output, definition, role_arn, start_ms + g, stop_ms + g FROM sy_sfn_executions, generate_series(1, %d) g "
            "WHERE name = 'e-real'" % (self.N - 1), db=self.db)
        seen = self.drive("scale", {"queuePrefix": "q0999", "machineArn": sm})
        self.assertEqual(seen["firstPage"], names[:25])
        self.assertEqual(seen["secondPage"], names[25:50])
        self.assertEqual(sorted(seen["searched"]), ["q0999%d" % i for i in range(10)])
        self.assertEqual(seen["executionRows"], 50)
        self.assertIn("all (10000)", seen["chips"])
        self.assertIn("failed (999)", seen["chips"])
        # one page per request: no ListQueues asked for more than a page, no stats call for more than a page
        for r in seen["requests"]:
            body = json.loads(r["body"] or "{}")
            if r["target"] == "AmazonSQS.ListQueues":
                self.assertLessEqual(body.get("MaxResults", 1000), 25)
            if r["url"].endswith("/console/api/queue/stats"):
                self.assertLessEqual(len(body["QueueNames"]), 25)
            if r["target"] == "AWSStepFunctions.ListExecutions":
                self.assertLessEqual(body.get("maxResults", 1000), 50)
        self.assertLess(seen["domNodes"], 5000)
        sys.stderr.write("console scale: next queue page %d ms, executions page %d ms, %d DOM nodes\n"
                         % (seen["nextPageMs"], seen["executionsMs"], seen["domNodes"]))


if __name__ == "__main__":
    unittest.main()
