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


class StepFunctionsIntegrations(harness.SwitchyardTestCase):
    def test_sns_publish_and_events_put_events(self):
        sqs, sns, events, sfn = (self.client(s) for s in ("sqs", "sns", "events", "stepfunctions"))
        topic_q = sqs.create_queue(QueueName="from-topic")["QueueUrl"]
        bus_q = sqs.create_queue(QueueName="from-bus")["QueueUrl"]
        topic = sns.create_topic(Name="order-events")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:%s:from-topic" % ACCOUNT,
                      Attributes={"RawMessageDelivery": "true"})
        events.put_rule(Name="shipped", EventPattern=json.dumps({"source": ["kitchen"], "detail-type": ["Shipped"]}))
        events.put_targets(Rule="shipped", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:%s:from-bus" % ACCOUNT,
                                                     "InputPath": "$.detail"}])
        d = {"StartAt": "Publish", "States": {
            "Publish": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                        "Parameters": {"TopicArn": topic, "Message.$": "States.Format('order {} ready', $.id)"},
                        "ResultPath": "$.published", "Next": "Put"},
            "Put": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
                    "Parameters": {"Entries": [{"Source": "kitchen", "DetailType": "Shipped",
                                                "Detail": {"id.$": "$.id", "by": "sfn"}}]},
                    "ResultPath": "$.put", "End": True}}}
        for kind in ("STANDARD", "EXPRESS"):
            sm = sfn.create_state_machine(name="notify-" + kind.lower(), definition=json.dumps(d), type=kind,
                                          roleArn="arn:aws:iam::%s:role/r" % ACCOUNT)["stateMachineArn"]
            ex = sfn.start_execution(stateMachineArn=sm, input=json.dumps({"id": 7}))["executionArn"]
            if kind == "STANDARD":
                self.assertEventually(lambda: sfn.describe_execution(executionArn=ex)["status"] != "RUNNING", 30)
                desc = sfn.describe_execution(executionArn=ex)
            else:
                desc = sfn.describe_execution(executionArn=ex) if ":execution:" in ex else None
            if desc is not None:
                self.assertEqual(desc["status"], "SUCCEEDED", desc)
                out = json.loads(desc["output"])
                self.assertIn("MessageId", out["published"])
                self.assertEqual(out["put"]["FailedEntryCount"], 0)
                self.assertEqual(len(out["put"]["Entries"][0]["EventId"]), 36)
            m = sqs.receive_message(QueueUrl=topic_q, WaitTimeSeconds=5)["Messages"]
            self.assertEqual([x["Body"] for x in m], ["order 7 ready"])
            sqs.delete_message(QueueUrl=topic_q, ReceiptHandle=m[0]["ReceiptHandle"])
            m = sqs.receive_message(QueueUrl=bus_q, WaitTimeSeconds=5)["Messages"]
            self.assertEqual(json.loads(m[0]["Body"]), {"id": 7, "by": "sfn"})
            sqs.delete_message(QueueUrl=bus_q, ReceiptHandle=m[0]["ReceiptHandle"])

    def test_unsupported_integration_rejected_at_creation(self):
        sfn = self.client("stepfunctions")
        d = {"StartAt": "X", "States": {"X": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                                              "Parameters": {}, "End": True}}}
        with self.assertRaises(Exception) as cm:
            sfn.create_state_machine(name="bad", definition=json.dumps(d), roleArn="arn:aws:iam::%s:role/r" % ACCOUNT)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidDefinition")

    def test_aws_sdk_integrations(self):
        sqs, events, sfn = (self.client(s) for s in ("sqs", "events", "stepfunctions"))
        sqs.create_queue(QueueName="sdk-q", Attributes={"VisibilityTimeout": "17"})
        events.put_rule(Name="sdk-rule", EventPattern=json.dumps({"source": ["x"]}))
        d = {"StartAt": "Url", "States": {
            "Url": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:getQueueUrl",
                    "Parameters": {"QueueName": "sdk-q"}, "ResultPath": "$.url", "Next": "Attrs"},
            "Attrs": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:getQueueAttributes",
                      "Parameters": {"QueueUrl.$": "$.url.QueueUrl", "AttributeNames": ["VisibilityTimeout"]},
                      "ResultSelector": {"vt.$": "$.Attributes.VisibilityTimeout"}, "ResultPath": "$.attrs",
                      "Next": "Rule"},
            "Rule": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:eventbridge:describeRule",
                     "Parameters": {"Name": "sdk-rule"}, "ResultSelector": {"name.$": "$.Name"},
                     "ResultPath": "$.rule", "Next": "Self"},
            "Self": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sfn:describeStateMachine",
                     "Parameters": {"StateMachineArn.$": "$$.StateMachine.Id"},
                     "ResultSelector": {"name.$": "$.Name"}, "ResultPath": "$.self", "Next": "Missing"},
            "Missing": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:getQueueUrl",
                        "Parameters": {"QueueName": "no-such-queue"}, "End": True,
                        "Catch": [{"ErrorEquals": ["Sqs.QueueDoesNotExistException"], "ResultPath": "$.caught",
                                   "Next": "Done"}]},
            "Done": {"Type": "Pass", "End": True}}}
        sm = sfn.create_state_machine(name="sdk", definition=json.dumps(d),
                                      roleArn="arn:aws:iam::%s:role/r" % ACCOUNT)["stateMachineArn"]
        ex = sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
        self.assertEventually(lambda: sfn.describe_execution(executionArn=ex)["status"] != "RUNNING", 30)
        desc = sfn.describe_execution(executionArn=ex)
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        out = json.loads(desc["output"])
        self.assertTrue(out["url"]["QueueUrl"].endswith("/%s/sdk-q" % ACCOUNT))
        self.assertEqual(out["attrs"], {"vt": "17"})
        self.assertEqual(out["rule"], {"name": "sdk-rule"})
        self.assertEqual(out["self"], {"name": "sdk"})
        self.assertEqual(out["caught"]["Error"], "Sqs.QueueDoesNotExistException")
