"""Services wired together with real worker processes: an EventBridge rule
whose target is a function (bus -> worker/), and that function's OnSuccess
destination naming an event bus (worker/ -> bus), whose rule feeds a queue."""

import json
import os
import time

import harness

HANDLER = os.path.join(harness.BUILD_DIR, "tests", "worker", "sy_test_handler.so")
ACCOUNT = "000000000000"


class Wiring(harness.SwitchyardTestCase):
    def test_rule_to_function_to_bus_to_queue(self):
        sqs, events, lam = self.client("sqs"), self.client("events"), self.client("lambda")
        self.start_worker("--broker", self.broker.worker_endpoint, "--function",
                          "order-fn=so:%s:echo" % HANDLER)
        lam.create_function(FunctionName="order-fn", Runtime="provided.al2023", Role="arn:aws:iam::%s:role/r" % ACCOUNT,
                            Handler="echo", Code={"ZipFile": b"x"})
        out_url = sqs.create_queue(QueueName="results")["QueueUrl"]
        events.create_event_bus(Name="results-bus")
        lam.put_function_event_invoke_config(
            FunctionName="order-fn",
            DestinationConfig={"OnSuccess": {"Destination": "arn:aws:events:us-east-1:%s:event-bus/results-bus" % ACCOUNT}})
        # results-bus: success records of order-fn go to the queue
        events.put_rule(Name="done", EventBusName="results-bus",
                        EventPattern=json.dumps({"source": ["lambda"],
                                                 "detail-type": ["Lambda Function Invocation Result - Success"]}))
        events.put_targets(Rule="done", EventBusName="results-bus",
                           Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:%s:results" % ACCOUNT}])
        # default bus: order events invoke the function with a transformed input
        events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"], "detail-type": ["OrderPlaced"]}))
        events.put_targets(Rule="orders", Targets=[{
            "Id": "fn", "Arn": "arn:aws:lambda:us-east-1:%s:function:order-fn" % ACCOUNT,
            "InputTransformer": {"InputPathsMap": {"id": "$.detail.id"},
                                 "InputTemplate": "{\"order\": <id>, \"via\": \"rule\"}"}}])
        r = events.put_events(Entries=[{"Source": "shop", "DetailType": "OrderPlaced", "Detail": json.dumps({"id": 42})},
                                       {"Source": "shop", "DetailType": "Other", "Detail": "{}"}])
        self.assertEqual(r["FailedEntryCount"], 0)

        got = []
        deadline = time.monotonic() + 30
        while not got and time.monotonic() < deadline:
            m = sqs.receive_message(QueueUrl=out_url, WaitTimeSeconds=2).get("Messages", [])
            got += [json.loads(x["Body"]) for x in m]
        self.assertEqual(len(got), 1, got)
        ev = got[0]
        self.assertEqual(ev["source"], "lambda")
        self.assertEqual(ev["detail-type"], "Lambda Function Invocation Result - Success")
        # the function echoed the transformed input; the record carries it
        self.assertEqual(ev["detail"]["responsePayload"], {"order": 42, "via": "rule"})
        self.assertEqual(ev["detail"]["requestPayload"], {"order": 42, "via": "rule"})
        # the event that matched no rule invoked nothing
        time.sleep(1)
        self.assertEqual(sqs.receive_message(QueueUrl=out_url, WaitTimeSeconds=1).get("Messages", []), [])
