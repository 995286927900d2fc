"""Step Functions end-to-end: the API through boto3 and the aws CLI, durable
executions (Wait with --time-scale, callbacks, timeouts, redrive, nested
executions, the test function invoker), history, and the crash test."""

import json
import os
import signal
import subprocess
import time
import unittest

import harness
from harness import SwitchyardTestCase

ROLE = "arn:aws:iam::000000000000:role/sfn"


def chain(n=10):
    states = {}
    for i in range(n):
        nm = "S%d" % i
        if i % 2 == 1:
            states[nm] = {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericGreaterThanEquals": 0,
                                                         "Next": "S%d" % (i + 1) if i + 1 < n else "Done"}],
                          "Default": "Done"}
        else:
            states[nm] = {"Type": "Pass", "Result": i, "ResultPath": "$.r%d" % i}
            if i + 1 < n:
                states[nm]["Next"] = "S%d" % (i + 1)
            else:
                states[nm]["End"] = True
    states["Done"] = {"Type": "Succeed"}
    return {"StartAt": "S0", "States": states}


class SfnBase(SwitchyardTestCase):
    BROKER_ARGS = ("--time-scale", "100")

    def setUp(self):
        os.environ["SWITCHYARD_TEST_DOUBLES"] = "sfn-invoker"
        super().setUp()
        self.sfn = self.client("stepfunctions")

    def sync_client(self):
        # StartSyncExecution / TestState carry the host prefix "sync-"
        return self.client("stepfunctions", inject_host_prefix=False)

    def machine(self, definition, name="sm", type_="STANDARD"):
        r = self.sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE, type=type_)
        return r["stateMachineArn"]

    def wait_done(self, arn, timeout=30):
        def done():
            d = self.sfn.describe_execution(executionArn=arn)
            return d if d["status"] != "RUNNING" else None
        d = harness.wait_until(done, timeout, 0.1)
        self.assertTrue(d, "execution %s still running" % arn)
        return d

    def history(self, arn, **kw):
        return self.sfn.get_execution_history(executionArn=arn, maxResults=1000, **kw)["events"]


class SfnApiTests(SfnBase):
    def test_machine_crud_and_errors(self):
        arn = self.machine(chain())
        d = self.sfn.describe_state_machine(stateMachineArn=arn)
        self.assertEqual(d["name"], "sm")
        self.assertEqual(d["type"], "STANDARD")
        self.assertIn("creationDate", d)
        lst = self.sfn.list_state_machines()["stateMachines"]
        self.assertEqual([m["name"] for m in lst], ["sm"])
        with self.assertRaises(self.sfn.exceptions.InvalidDefinition) as cm:
            self.sfn.create_state_machine(name="bad", definition='{"StartAt":"A","States":{}}', roleArn=ROLE)
        self.assertIn("Invalid State Machine Definition", str(cm.exception))
        with self.assertRaises(self.sfn.exceptions.StateMachineAlreadyExists):
            self.sfn.create_state_machine(name="sm", definition=json.dumps({"StartAt": "A", "States": {
                "A": {"Type": "Succeed"}}}), roleArn=ROLE)
        with self.assertRaises(self.sfn.exceptions.InvalidDefinition):
            self.machine({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                                                             "End": True}}}, name="ddb")
        with self.assertRaises(self.sfn.exceptions.StateMachineDoesNotExist):
            self.sfn.describe_state_machine(stateMachineArn=arn + "x")
        with self.assertRaises(self.sfn.exceptions.ExecutionDoesNotExist):
            self.sfn.describe_execution(executionArn=arn.replace("stateMachine", "execution") + ":nope")
        with self.assertRaises(self.sfn.exceptions.InvalidArn):
            self.sfn.describe_execution(executionArn="not-an-arn")
        self.sfn.tag_resource(resourceArn=arn, tags=[{"key": "team", "value": "a"}, {"key": "x", "value": "1"}])
        self.sfn.untag_resource(resourceArn=arn, tagKeys=["x"])
        self.assertEqual(self.sfn.list_tags_for_resource(resourceArn=arn)["tags"], [{"key": "team", "value": "a"}])
        self.sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}))
        self.assertIn('"Pass"', self.sfn.describe_state_machine(stateMachineArn=arn)["definition"])
        if hasattr(self.sfn, "validate_state_machine_definition"):
            v = self.sfn.validate_state_machine_definition(definition='{"StartAt":"A","States":{}}')
            self.assertEqual(v["result"], "FAIL")
        self.sfn.delete_state_machine(stateMachineArn=arn)
        self.assertEqual(self.sfn.list_state_machines()["stateMachines"], [])

    def test_standard_chain_history_and_idempotency(self):
        arn = self.machine(chain())
        r = self.sfn.start_execution(stateMachineArn=arn, name="run1", input='{"x": 1}')
        self.assertTrue(r["executionArn"].endswith(":execution:sm:run1"))
        d = self.wait_done(r["executionArn"])
        self.assertEqual(d["status"], "SUCCEEDED")
        out = json.loads(d["output"])
        self.assertEqual(out["r0"], 0)
        self.assertEqual(out["r8"], 8)
        with self.assertRaises(self.sfn.exceptions.ExecutionAlreadyExists):
            self.sfn.start_execution(stateMachineArn=arn, name="run1", input='{"x": 2}')
        ev = self.history(r["executionArn"])
        self.assertEqual(ev[0]["type"], "ExecutionStarted")
        self.assertEqual(ev[-1]["type"], "ExecutionSucceeded")
        self.assertEqual([e["id"] for e in ev], list(range(1, len(ev) + 1)))
        self.assertIn("input", ev[1]["stateEnteredEventDetails"])
        # as every recorded AWS history (478 corpus cases): ExecutionStarted and the first
        # StateEntered both have previousEventId 0, then the events chain
        self.assertEqual([e["previousEventId"] for e in ev[:4]], [0, 0, 2, 3])
        rev = self.history(r["executionArn"], reverseOrder=True, includeExecutionData=False)
        self.assertEqual(rev[0]["type"], "ExecutionSucceeded")
        self.assertNotIn("input", rev[-2]["stateEnteredEventDetails"])
        # pagination
        p1 = self.sfn.get_execution_history(executionArn=r["executionArn"], maxResults=5)
        p2 = self.sfn.get_execution_history(executionArn=r["executionArn"], maxResults=5, nextToken=p1["nextToken"])
        self.assertEqual(p2["events"][0]["id"], 6)
        for i in range(3):
            self.sfn.start_execution(stateMachineArn=arn, input='{"x": -1}')
        lst = self.sfn.list_executions(stateMachineArn=arn, maxResults=2)
        self.assertEqual(len(lst["executions"]), 2)
        rest = self.sfn.list_executions(stateMachineArn=arn, nextToken=lst["nextToken"])
        self.assertEqual(len(rest["executions"]), 2)
        self.assertEqual(len(self.sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED")["executions"]), 4)
        self.assertEqual(self.sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"], [])
        dm = self.sfn.describe_state_machine_for_execution(executionArn=r["executionArn"])
        self.assertIn("S0", dm["definition"])

    def test_fail_and_express_sync(self):
        arn = self.machine({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "why"}}})
        d = self.wait_done(self.sfn.start_execution(stateMachineArn=arn)["executionArn"])
        self.assertEqual((d["status"], d["error"], d["cause"]), ("FAILED", "Boom", "why"))
        ex = self.machine(chain(), name="fast", type_="EXPRESS")
        c = self.sync_client()
        r = c.start_sync_execution(stateMachineArn=ex, input='{"x": 3}')
        self.assertEqual(r["status"], "SUCCEEDED")
        self.assertEqual(json.loads(r["output"])["r8"], 8)
        with self.assertRaises(c.exceptions.StateMachineTypeNotSupported):
            c.start_sync_execution(stateMachineArn=arn)
        r = self.sfn.start_execution(stateMachineArn=ex, input='{"x": 3}')
        self.assertIn(":express:fast:", r["executionArn"])

    def test_wait_with_time_scale(self):
        # Wait 200 s at --time-scale 100: about 2 s of real time
        arn = self.machine({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 200, "Next": "P"},
                                                       "P": {"Type": "Pass", "End": True}}})
        t0 = time.time()
        e = self.sfn.start_execution(stateMachineArn=arn, input='{"a": 1}')["executionArn"]
        self.assertEqual(self.sfn.describe_execution(executionArn=e)["status"], "RUNNING")
        d = self.wait_done(e, 20)
        self.assertEqual(d["status"], "SUCCEEDED")
        self.assertGreaterEqual(time.time() - t0, 1.5)
        types = [x["type"] for x in self.history(e)]
        self.assertEqual(types, ["ExecutionStarted", "WaitStateEntered", "WaitStateExited", "PassStateEntered",
                                 "PassStateExited", "ExecutionSucceeded"])

    def test_callback_success_failure_heartbeat_timeout(self):
        sqs = self.client("sqs")
        q = sqs.create_queue(QueueName="cb")["QueueUrl"]
        d = {"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": q, "MessageBody": {"token.$": "$$.Task.Token", "in.$": "$"}},
            "HeartbeatSeconds": 300, "TimeoutSeconds": 1000, "End": True}}}
        arn = self.machine(d)
        e1 = self.sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]
        e2 = self.sfn.start_execution(stateMachineArn=arn, input='{"n": 2}')["executionArn"]
        e3 = self.sfn.start_execution(stateMachineArn=arn, input='{"n": 3}')["executionArn"]
        tokens = {}
        deadline = time.time() + 10
        while len(tokens) < 3 and time.time() < deadline:
            for m in sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10).get("Messages", []):
                b = json.loads(m["Body"])
                tokens[b["in"]["n"]] = b["token"]
        self.assertEqual(len(tokens), 3)
        self.sfn.send_task_heartbeat(taskToken=tokens[1])
        self.sfn.send_task_success(taskToken=tokens[1], output='{"ok": true}')
        self.sfn.send_task_failure(taskToken=tokens[2], error="MyErr", cause="bad")
        with self.assertRaises(self.sfn.exceptions.InvalidToken):
            self.sfn.send_task_success(taskToken="AQnope", output="{}")
        d1 = self.wait_done(e1)
        self.assertEqual((d1["status"], json.loads(d1["output"])), ("SUCCEEDED", {"ok": True}))
        d2 = self.wait_done(e2)
        self.assertEqual((d2["status"], d2["error"]), ("FAILED", "MyErr"))
        with self.assertRaises(self.sfn.exceptions.TaskTimedOut):
            self.sfn.send_task_success(taskToken=tokens[1], output='{}')
        # e3: no heartbeat -> States.HeartbeatTimeout after 300 s / 100
        d3 = self.wait_done(e3, 20)
        self.assertEqual((d3["status"], d3["error"]), ("FAILED", "States.HeartbeatTimeout"))
        types = [x["type"] for x in self.history(e3)]
        self.assertIn("TaskTimedOut", types)
        h1 = self.history(e1)
        self.assertEqual([x["type"] for x in h1][:6], ["ExecutionStarted", "TaskStateEntered", "TaskScheduled",
                                                       "TaskStarted", "TaskSubmitted", "TaskSucceeded"])
        self.assertIn("MessageId", json.loads(h1[4]["taskSubmittedEventDetails"]["output"]))

    def test_execution_timeout(self):
        # TimeoutSeconds 100 at --time-scale 100: TIMED_OUT after about 1 s
        d = {"StartAt": "W", "TimeoutSeconds": 100, "States": {"W": {"Type": "Wait", "Seconds": 1000, "End": True}}}
        s = {"StartAt": "T", "TimeoutSeconds": 100, "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:sleep", "End": True}}}
        arn = self.machine(s)
        t0 = time.time()
        e = self.sfn.start_execution(stateMachineArn=arn, input='{"seconds": 60}')["executionArn"]
        fast = self.sfn.start_execution(stateMachineArn=self.machine(chain(), name="quick"), input='{"x": 1}')["executionArn"]
        r = self.wait_done(e, 20)
        self.assertGreaterEqual(time.time() - t0, 0.8)
        self.assertEqual((r["status"], r.get("error")), ("TIMED_OUT", "States.Timeout"))
        h = self.history(e)
        self.assertEqual(h[-1]["type"], "ExecutionTimedOut")
        self.assertEqual(h[-1]["executionTimedOutEventDetails"]["error"], "States.Timeout")
        self.assertEqual(self.wait_done(fast)["status"], "SUCCEEDED")
        if hasattr(self.sfn, "redrive_execution"):  # boto3 >= 1.33
            # redrive re-arms the timeout; the old run's timer does not end the new run early
            self.sfn.redrive_execution(executionArn=e)
            self.assertEqual(self.sfn.describe_execution(executionArn=e)["status"], "RUNNING")
            r = self.wait_done(e, 20)
            self.assertEqual(r["status"], "TIMED_OUT")
            self.assertEqual(sum(x["type"] == "ExecutionTimedOut" for x in self.history(e)), 2)
        # a Task's TimeoutSecondsPath: the sleeping function outlives it
        t = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:sleep",
                                              "TimeoutSecondsPath": "$.to", "End": True}}}
        e = self.sfn.start_execution(stateMachineArn=self.machine(t, name="tp"), input='{"to": 100, "seconds": 30}')["executionArn"]
        r = self.wait_done(e, 20)
        self.assertEqual((r["status"], r["error"]), ("FAILED", "States.Timeout"))
        # EXPRESS: StartSyncExecution answers TIMED_OUT
        x = self.machine(d, name="xw", type_="EXPRESS")
        r = self.sync_client().start_sync_execution(stateMachineArn=x)
        self.assertEqual((r["status"], r.get("error")), ("TIMED_OUT", "States.Timeout"))

    def test_function_tasks_retry_catch_and_redrive(self):
        d = {"StartAt": "Id", "States": {
            "Id": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:identity",
                   "ResultPath": "$.id", "Next": "Inv"},
            "Inv": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "sleep", "Payload": {"seconds": 0.2, "v.$": "$.v"}},
                    "ResultSelector": {"p.$": "$.Payload"}, "ResultPath": "$.inv", "Next": "Raise"},
            "Raise": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:raise",
                      "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 100, "MaxAttempts": 1}],
                      "Catch": [{"ErrorEquals": ["Caught"], "ResultPath": "$.err", "Next": "Done"}],
                      "End": True},
            "Done": {"Type": "Pass", "End": True}}}
        arn = self.machine(d)
        e = self.sfn.start_execution(stateMachineArn=arn, input=json.dumps({"v": 7, "errorType": "Caught"}))["executionArn"]
        out = self.wait_done(e)
        self.assertEqual(out["status"], "SUCCEEDED", out)
        o = json.loads(out["output"])
        self.assertEqual(o["id"]["v"], 7)
        self.assertEqual(o["inv"]["p"]["v"], 7)
        self.assertEqual(o["err"]["Error"], "Caught")
        types = [x["type"] for x in self.history(e)]
        self.assertIn("LambdaFunctionSucceeded", types)
        self.assertIn("TaskSucceeded", types)
        # Flaky: retried once after 100 s / 100, then fails; redrive runs it again
        e2 = self.sfn.start_execution(stateMachineArn=arn, input=json.dumps({"v": 1, "errorType": "Flaky"}))["executionArn"]
        d2 = self.wait_done(e2, 20)
        self.assertEqual((d2["status"], d2["error"]), ("FAILED", "Flaky"))
        if "redriveStatus" in d2:  # not in the Debian botocore model
            self.assertEqual(d2["redriveStatus"], "REDRIVABLE")
        if hasattr(self.sfn, "redrive_execution"):
            self.sfn.redrive_execution(executionArn=e2)
            d3 = self.wait_done(e2, 20)
            self.assertEqual(d3["status"], "FAILED")
            self.assertEqual(d3["redriveCount"], 1)
            self.assertIn("ExecutionRedriven", [x["type"] for x in self.history(e2)])

    def test_stop_and_nested_sync(self):
        child = self.machine({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "Next": "P"},
                                                           "P": {"Type": "Pass", "Result": {"c": 1}, "End": True}}},
                             name="child")
        parent = self.machine({"StartAt": "N", "States": {"N": {
            "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": child, "Input": {"k": 1}}, "OutputPath": "$.Output", "End": True}}},
            name="parent")
        e = self.sfn.start_execution(stateMachineArn=parent)["executionArn"]
        d = self.wait_done(e, 20)
        self.assertEqual((d["status"], json.loads(d["output"])), ("SUCCEEDED", {"c": 1}))
        e2 = self.sfn.start_execution(stateMachineArn=child)["executionArn"]
        self.sfn.stop_execution(executionArn=e2, error="Stop", cause="by test")
        d2 = self.sfn.describe_execution(executionArn=e2)
        self.assertEqual((d2["status"], d2["error"]), ("ABORTED", "Stop"))
        self.assertEqual(self.history(e2)[-1]["type"], "ExecutionAborted")

    def test_test_state(self):
        if not hasattr(self.sfn, "test_state"):
            self.skipTest("boto3 too old for TestState")
        c = self.sync_client()
        r = c.test_state(definition=json.dumps({"Type": "Pass", "Parameters": {"a.$": "$.x"}, "Next": "B"}),
                         roleArn=ROLE, input='{"x": 5}', inspectionLevel="DEBUG")
        self.assertEqual(r["status"], "SUCCEEDED")
        self.assertEqual(json.loads(r["output"]), {"a": 5})
        self.assertEqual(r["nextState"], "B")

    def test_aws_cli(self):
        r = self.aws("stepfunctions", "create-state-machine", "--name", "cli", "--role-arn", ROLE,
                     "--definition", json.dumps(chain()))
        self.assertEqual(r.rc, 0, r.stderr)
        arn = r.json["stateMachineArn"]
        r = self.aws("stepfunctions", "start-execution", "--state-machine-arn", arn, "--input", '{"x": 1}')
        self.assertEqual(r.rc, 0, r.stderr)
        e = r.json["executionArn"]
        self.wait_done(e)
        r = self.aws("stepfunctions", "describe-execution", "--execution-arn", e)
        self.assertEqual(r.json["status"], "SUCCEEDED")
        r = self.aws("stepfunctions", "get-execution-history", "--execution-arn", e)
        self.assertEqual(r.json["events"][-1]["type"], "ExecutionSucceeded")
        if harness.CLIENT_GEN == "new":
            # aws CLI v1 (botocore 1.43) honours AWS_DISABLE_HOST_PREFIX_INJECTION for start-sync-execution;
            # the Debian CLI v2.9 always calls sync-<host> (see docs/stepfunctions.md)
            ex = self.machine(chain(), name="cli-express", type_="EXPRESS")
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update(AWS_ACCESS_KEY_ID=harness.DEFAULT_KEY[0], AWS_SECRET_ACCESS_KEY=harness.DEFAULT_KEY[1],
                       AWS_DEFAULT_REGION=harness.REGION, AWS_EC2_METADATA_DISABLED="true",
                       AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                       AWS_DISABLE_HOST_PREFIX_INJECTION="true")
            p = subprocess.run([harness.AWS_CLI, "--endpoint-url", self.broker.url, "--output", "json",
                                "stepfunctions", "start-sync-execution", "--state-machine-arn", ex,
                                "--input", '{"x": 1}'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(json.loads(p.stdout)["status"], "SUCCEEDED")


class SfnCrashTest(SfnBase):
    BROKER_ARGS = ("--time-scale", "10")

    def test_kill9_resumes_200_executions(self):
        sqs = self.client("sqs")
        q = sqs.create_queue(QueueName="done")["QueueUrl"]
        d = {"StartAt": "W1", "States": {
            # 6 s at --time-scale 10: every execution is still in flight when the broker dies,
            # however long starting 200 of them takes on a loaded machine
            "W1": {"Type": "Wait", "Seconds": 60, "Next": "Fn"},
            "Fn": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "sleep", "Payload": {"seconds": 1, "i.$": "$.i"}},
                   "ResultSelector": {"i.$": "$.Payload.i"}, "Next": "W2"},
            "W2": {"Type": "Wait", "Seconds": 10, "Next": "Send"},
            "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                     "Parameters": {"QueueUrl": q, "MessageBody.$": "States.Format('{}', $.i)"},
                     "ResultPath": None, "Next": "Out"},
            "Out": {"Type": "Pass", "Parameters": {"i.$": "$.i", "done": True}, "End": True}}}
        arn = self.machine(d)
        execs = {}
        for i in range(200):
            execs[i] = self.sfn.start_execution(stateMachineArn=arn, name="e%d" % i,
                                                input=json.dumps({"i": i}))["executionArn"]
        time.sleep(2.5)
        running = harness.psql_value("SELECT count(*) FROM sy_sfn_executions WHERE status = 'RUNNING'", db=self.db)
        self.broker.kill9()
        self.assertGreater(int(running), 100, "the crash should hit executions in flight")
        time.sleep(0.5)
        self.broker.restart()
        deadline = time.time() + 120
        pending = dict(execs)
        while pending and time.time() < deadline:
            for i, e in list(pending.items()):
                st = self.sfn.describe_execution(executionArn=e)
                if st["status"] != "RUNNING":
                    self.assertEqual(st["status"], "SUCCEEDED", st)
                    self.assertEqual(json.loads(st["output"]), {"i": i, "done": True})
                    del pending[i]
            time.sleep(0.5)
        self.assertEqual(pending, {}, "executions did not finish")
        seen = {}
        while True:
            ms = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            if not ms:
                break
            for m in ms:
                seen[m["Body"]] = seen.get(m["Body"], 0) + 1
                sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
        self.assertEqual(len(seen), 200)
        self.assertEqual(set(seen.values()), {1}, "a success path ran twice")


if __name__ == "__main__":
    unittest.main()
