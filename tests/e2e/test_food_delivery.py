"""The worked example examples/food-delivery/ end to end, so it cannot rot:
orders queue -> event-source mapping -> accept-order (the tutorial's shell
bootstrap) -> one order-workflow execution per order (Parallel, Retry, Wait,
Choice, Catch + compensation) -> publish-event (shell) -> EventBridge rules
with input transformers -> notifications / analytics queues; the invalid
order -> orders-dlq. Once with boto3, once through the example's run.sh with
this generation's aws CLI."""

import json
import os
import shutil
import subprocess
import time

import harness

EXAMPLE = os.path.join(harness.SOURCE_DIR, "examples", "food-delivery")
HANDLERS = os.path.join(harness.BUILD_DIR, "examples", "food-delivery", "libfooddelivery.so")
BOOTSTRAP = os.path.join(EXAMPLE, "runtime", "bootstrap")
ACCOUNT, REGION = "000000000000", harness.REGION


def arn(service, kind, name):
    return "arn:aws:%s:%s:%s:%s%s" % (service, REGION, ACCOUNT, kind, name)


def order(oid, name, phone, fulfilment, zone, card, total):
    return {"order_id": oid, "customer": {"name": name, "phone": phone}, "restaurant": "Pizza Roma",
            "items": [{"sku": "margherita", "qty": 2}], "total": total, "fulfilment": fulfilment,
            "address": {"zone": zone, "street": "1 Main St"}, "card": card}


def notify_target(queue_arn, paths, text):
    return [{"Id": "sms", "Arn": queue_arn, "InputTransformer": {
        "InputPathsMap": dict(paths, order="$.detail.order_id", name="$.detail.customer.name",
                              phone="$.detail.customer.phone"),
        "InputTemplate": '{"channel": "sms", "to": <phone>, "order": <order>, "text": "%s"}' % text}}]


class FoodDelivery(harness.SwitchyardTestCase):
    def setUp(self):
        super().setUp()
        if not shutil.which("jq") or not os.path.exists(HANDLERS):
            self.skipTest("needs jq and the example's handlers (%s)" % HANDLERS)

    def start_example_worker(self):
        so = HANDLERS
        self.start_worker(
            "--broker", self.broker.worker_endpoint, "--concurrency", "2",
            "--function", "accept-order=runtime:%s,handler=orders.accept,timeout=15" % BOOTSTRAP,
            "--function", "publish-event=runtime:%s,handler=orders.publish,timeout=5" % BOOTSTRAP,
            "--function", "charge-payment=so:%s:charge_payment" % so,
            "--function", "notify-restaurant=so:%s:notify_restaurant" % so,
            "--function", "dispatch-courier=so:%s:dispatch_courier" % so,
            "--function", "refund-payment=so:%s:refund_payment" % so,
            "--function", "cancel-restaurant=so:%s:cancel_restaurant" % so,
            env={"SY_ENDPOINT": self.broker.url, "AWS_ACCESS_KEY_ID": harness.DEFAULT_KEY[0],
                 "AWS_SECRET_ACCESS_KEY": harness.DEFAULT_KEY[1], "AWS_REGION": REGION})

    def drain(self, sqs, name, want, timeout=30):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        got, deadline = [], time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                got.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got

    def test_orders_through_the_pipeline(self):
        self.pipeline("order-workflow.asl.json")

    def test_orders_through_the_pipeline_jsonata(self):
        """The JSONata variant of the state machine: the same outcome, events and notifications."""
        h = self.pipeline("order-workflow.jsonata.asl.json")
        # its variables: assigned once by PrepareOrder, read by the later states
        if "assignedVariables" not in self.client("stepfunctions").meta.service_model.shape_for(
                "StateExitedEventDetails").members:
            return  # boto3 1.26's model predates variables
        exited = [e["stateExitedEventDetails"] for e in h if e["type"] == "ParallelStateExited"]
        self.assertEqual(sorted(exited[0]["assignedVariables"]), ["kitchen", "orderId", "payment"])
        self.assertEqual(json.loads(exited[0]["assignedVariables"]["orderId"]), "nocourier")

    def pipeline(self, definition_file):
        sqs, sfn, lam, events = (self.client(s) for s in ("sqs", "stepfunctions", "lambda", "events"))
        sqs.create_queue(QueueName="orders-dlq")
        orders_url = sqs.create_queue(QueueName="orders", Attributes={
            "VisibilityTimeout": "15",  # >= accept-order's Timeout, as AWS requires of a mapped queue
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn("sqs", "", "orders-dlq"), "maxReceiveCount": "1"})})["QueueUrl"]
        for q in ("notifications", "analytics"):
            sqs.create_queue(QueueName=q)
        # the Handler reaches the runtime as _HANDLER (the shell handlers: file.function; the C handlers: the symbol)
        for f, handler in (("accept-order", "orders.accept"), ("publish-event", "orders.publish"),
                           ("charge-payment", "charge_payment"), ("notify-restaurant", "notify_restaurant"),
                           ("dispatch-courier", "dispatch_courier"), ("refund-payment", "refund_payment"),
                           ("cancel-restaurant", "cancel_restaurant")):
            lam.create_function(FunctionName=f, Runtime="provided.al2023", Role="arn:aws:iam::%s:role/fd" % ACCOUNT,
                                Handler=handler, Code={"ZipFile": b"x"},
                                Timeout=15 if f == "accept-order" else 5)
        # after the functions exist: a worker announcing a function first has it created with defaults
        self.start_example_worker()
        with open(os.path.join(EXAMPLE, definition_file)) as fh:
            sm = sfn.create_state_machine(name="order-workflow", definition=fh.read(), type="STANDARD",
                                          roleArn="arn:aws:iam::%s:role/fd" % ACCOUNT)["stateMachineArn"]
        lam.create_event_source_mapping(FunctionName="accept-order", EventSourceArn=arn("sqs", "", "orders"),
                                        BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
        notes = arn("sqs", "", "notifications")
        events.put_rule(Name="notify-delivered",
                        EventPattern=json.dumps({"source": ["food.delivery"], "detail-type": ["OrderDelivered"]}))
        events.put_targets(Rule="notify-delivered", Targets=notify_target(
            notes, {"how": "$.detail.fulfilment"}, "Hi <name>, order <order> is yours (<how>). Enjoy!"))
        events.put_rule(Name="notify-cancelled",
                        EventPattern=json.dumps({"source": ["food.delivery"], "detail-type": ["OrderCancelled"]}))
        events.put_targets(Rule="notify-cancelled", Targets=notify_target(
            notes, {"reason": "$.detail.reason", "refund": "$.detail.refund_id"},
            "Sorry <name>, order <order> was cancelled (<reason>). Refund <refund> is on its way."))
        events.put_rule(Name="order-analytics",
                        EventPattern=json.dumps({"source": ["food.delivery"], "detail-type": [{"prefix": "Order"}]}))
        events.put_targets(Rule="order-analytics", Targets=[{
            "Id": "warehouse", "Arn": arn("sqs", "", "analytics"), "InputTransformer": {
                "InputPathsMap": {"order": "$.detail.order_id", "outcome": "$.detail-type",
                                  "total": "$.detail.total", "at": "$.time"},
                "InputTemplate": '{"order": <order>, "outcome": <outcome>, "total": <total>, "at": <at>}'}}])

        for o in (order("ok", "Ada", "+15550101", "delivery", "centre", "tok_visa", 24.5),
                  order("flaky", "Grace", "+15550102", "pickup", "centre", "tok_flaky", 12),
                  order("nocourier", "Linus", "+15550103", "delivery", "suburbs", "tok_visa", 31.25),
                  {"order_id": "bad", "items": []}):
            sqs.send_message(QueueUrl=orders_url, MessageBody=json.dumps(o))
        # the same order delivered twice starts one execution (named after the order)
        sqs.send_message(QueueUrl=orders_url, MessageBody=json.dumps(
            order("ok", "Ada", "+15550101", "delivery", "centre", "tok_visa", 24.5)))

        ex = {}

        def finished():
            for oid in ("ok", "flaky", "nocourier"):
                try:
                    d = sfn.describe_execution(executionArn=sm.replace(":stateMachine:", ":execution:") + ":" + oid)
                except sfn.exceptions.ExecutionDoesNotExist:
                    return False
                if d["status"] == "RUNNING":
                    return False
                ex[oid] = d
            return True
        self.assertEventually(finished, timeout=45, msg="executions did not finish")
        self.assertEqual(len(sfn.list_executions(stateMachineArn=sm)["executions"]), 3)
        self.assertEqual(ex["ok"]["status"], "SUCCEEDED")
        self.assertEqual(ex["flaky"]["status"], "SUCCEEDED")
        self.assertEqual((ex["nocourier"]["status"], ex["nocourier"]["error"]), ("FAILED", "OrderCancelled"))

        def history(oid):
            return sfn.get_execution_history(executionArn=ex[oid]["executionArn"], maxResults=1000)["events"]

        def entered(h):
            return [e["stateEnteredEventDetails"]["name"] for e in h if e["type"].endswith("StateEntered")]

        def failed(h):
            return [e["lambdaFunctionFailedEventDetails"]["error"] for e in h if e["type"] == "LambdaFunctionFailed"]

        h = history("ok")
        names = entered(h)
        self.assertEqual(sorted(names[1:3]), ["ChargePayment", "NotifyRestaurant"])  # the Parallel's branches
        self.assertEqual([names[0]] + names[3:], ["PrepareOrder", "WaitForKitchen", "PickupOrDelivery",
                                                  "DispatchCourier", "PublishDelivered", "Delivered"])
        self.assertEqual(failed(h), [])
        out = json.loads(ex["ok"]["output"])
        self.assertEqual(out["prep"]["payment"], {"payment_id": "pay-ok", "amount": 24.5, "attempts": 1})
        self.assertEqual(out["prep"]["kitchen"]["ticket"], "kt-ok")
        self.assertEqual(out["dispatch"], {"courier": "courier-7", "eta_minutes": 20})

        # retried: two gateway timeouts, the third attempt charged; pickup skips the courier
        h = history("flaky")
        self.assertEqual(failed(h), ["PaymentGatewayTimeout", "PaymentGatewayTimeout"])
        self.assertEqual(sum(1 for e in h if e["type"] == "LambdaFunctionScheduled"
                             and e["lambdaFunctionScheduledEventDetails"]["resource"].endswith(":charge-payment")), 3)
        self.assertIn("HandOverAtCounter", entered(h))
        self.assertNotIn("DispatchCourier", entered(h))
        self.assertEqual(json.loads(ex["flaky"]["output"])["prep"]["payment"]["attempts"], 3)

        # compensated: the courier failure was caught, refund and kitchen cancellation ran
        h = history("nocourier")
        self.assertEqual(failed(h), ["NoCourierAvailable"])
        names = entered(h)
        for s in ("DispatchCourier", "Compensate", "RefundPayment", "CancelRestaurant", "PublishCancelled", "Cancelled"):
            self.assertIn(s, names)
        self.assertNotIn("PublishDelivered", names)
        results = [json.loads(e["lambdaFunctionSucceededEventDetails"]["output"]) for e in h
                   if e["type"] == "LambdaFunctionSucceeded"]
        self.assertIn({"refund_id": "rf-pay-nocourier", "amount": 31.25}, results)
        self.assertIn({"cancelled_ticket": "kt-nocourier"}, results)

        notes = sorted(self.drain(sqs, "notifications", 3), key=lambda n: n["order"])
        self.assertEqual(notes, [
            {"channel": "sms", "to": "+15550102", "order": "flaky",
             "text": "Hi Grace, order flaky is yours (pickup). Enjoy!"},
            {"channel": "sms", "to": "+15550103", "order": "nocourier",
             "text": "Sorry Linus, order nocourier was cancelled (NoCourierAvailable). Refund rf-pay-nocourier is on its way."},
            {"channel": "sms", "to": "+15550101", "order": "ok",
             "text": "Hi Ada, order ok is yours (delivery). Enjoy!"}])
        stats = sorted(self.drain(sqs, "analytics", 3), key=lambda n: n["order"])
        self.assertEqual([(s["order"], s["outcome"], s["total"]) for s in stats],
                         [("flaky", "OrderDelivered", 12), ("nocourier", "OrderCancelled", 31.25),
                          ("ok", "OrderDelivered", 24.5)])
        for s in stats:
            self.assertRegex(s["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # the invalid order was reported as a failed item and redriven
        self.assertEqual(self.drain(sqs, "orders-dlq", 1, timeout=45), [{"order_id": "bad", "items": []}])
        # nothing more: one notification per order, no duplicate execution
        self.assertEqual(self.drain(sqs, "notifications", 1, timeout=2), [])
        return history("nocourier")

    def test_run_sh(self):
        """The README's run.sh, with this generation's aws CLI."""
        home = self.tmpdir("awshome")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(PATH=os.path.dirname(os.path.abspath(harness.AWS_CLI)) + os.pathsep + env.get("PATH", ""),
                   HOME=home, AWS_CONFIG_FILE=os.path.join(home, "config"),
                   AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, "credentials"),
                   SY_ENDPOINT=self.broker.url, SY_WORKER_ENDPOINT=self.broker.worker_endpoint,
                   SWITCHYARD=harness.BINARY, FOOD_HANDLERS_SO=HANDLERS, RUN_ID="t1",
                   ASAN_OPTIONS="detect_leaks=1:abort_on_error=1")
        p = subprocess.run(["bash", os.path.join(EXAMPLE, "run.sh")], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env, timeout=150)
        out = p.stdout.decode(errors="replace")
        self.assertEqual(p.returncode, 0, out)
        self.assertEqual(out.count("SUCCEEDED"), 2, out)
        self.assertIn("ExecutionFailed OrderCancelled", out)
        self.assertEqual(out.count("LambdaFunctionFailed PaymentGatewayTimeout"), 2, out)
        self.assertIn('"text":"Sorry Linus, order ord-t1-nocourier was cancelled (NoCourierAvailable). '
                      'Refund rf-pay-ord-t1-nocourier is on its way."', out)
        self.assertIn('"text":"Hi Ada, order ord-t1-ok is yours (delivery). Enjoy!"', out)
        self.assertIn('{"order_id":"ord-t1-bad","items":[]}', out)
        self.assertIn("worker stopped", out)
